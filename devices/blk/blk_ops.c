/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk device as seen by the vhost-user transport.
 */
#include "blk_device.h"

static const gm_vhost_device_ops blk_ops = {
    .get_config = blk_device_get_config,
    .handle = blk_device_handle,
};

const gm_vhost_device_ops *blk_device_ops(void)
{
    return &blk_ops;
}
