/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk features and config space (virtio 1.x, 5.2.4).
 *
 * The config space is built little-endian field by field at the offsets of
 * struct virtio_blk_config, then the requested window is copied out; the
 * front-end (QEMU) reads it with GET_CONFIG.
 */
#include <errno.h>
#include <string.h>

#include "blk_device.h"

#define OFF_CAPACITY 0
#define OFF_SIZE_MAX 8
#define OFF_SEG_MAX 12
#define OFF_BLK_SIZE 20
#define OFF_NUM_QUEUES 34
#define OFF_MAX_DISCARD_SECTORS 36
#define OFF_MAX_DISCARD_SEG 40
#define OFF_DISCARD_ALIGN 44
#define OFF_MAX_WZ_SECTORS 48
#define OFF_MAX_WZ_SEG 52
#define OFF_WZ_MAY_UNMAP 56

#define BLK_SIZE_MAX (1u << 20)

uint64_t blk_device_features(const blk_device *b)
{
    uint64_t f = 1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_BLK_F_SEG_MAX |
                 1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH |
                 1ull << VIRTIO_BLK_F_MQ;

    if (b->disk.readonly)
        f |= 1ull << VIRTIO_BLK_F_RO;
    else
        f |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
    return f;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
    for (unsigned int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int blk_device_get_config(void *opaque, uint8_t *config, uint32_t offset, uint32_t len)
{
    const blk_device *b = opaque;
    uint8_t c[BLK_CONFIG_SIZE];

    if (offset > sizeof(c) || len > sizeof(c) - offset)
        return -EINVAL;
    memset(c, 0, sizeof(c));
    put_le(c + OFF_CAPACITY, b->disk.size / BLK_SECTOR, 8);
    put_le(c + OFF_SIZE_MAX, BLK_SIZE_MAX, 4);
    put_le(c + OFF_SEG_MAX, BLK_SEG_MAX, 4);
    put_le(c + OFF_BLK_SIZE, BLK_SECTOR, 4);
    put_le(c + OFF_NUM_QUEUES, b->num_queues, 2);
    put_le(c + OFF_MAX_DISCARD_SECTORS, BLK_MAX_RANGE_SECTORS, 4);
    put_le(c + OFF_MAX_DISCARD_SEG, 1, 4);
    put_le(c + OFF_DISCARD_ALIGN, 1, 4);
    put_le(c + OFF_MAX_WZ_SECTORS, BLK_MAX_RANGE_SECTORS, 4);
    put_le(c + OFF_MAX_WZ_SEG, 1, 4);
    c[OFF_WZ_MAY_UNMAP] = 1;
    memcpy(config, c + offset, len);
    return 0;
}
