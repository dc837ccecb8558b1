/* SPDX-License-Identifier: MIT */
#ifndef GUESTMEM_BLK_DEVICE_H
#define GUESTMEM_BLK_DEVICE_H

#include <guestmem/vhost.h>

#include "blk_disk.h"
#include "blk_engine.h"

#define BLK_SECTOR 512u
#define BLK_SEG_MAX 126u
#define BLK_CONFIG_SIZE 60u
/* Segments per request we accept: beyond what a driver honouring seg_max
 * sends (seg_max + header + status), a longer chain is refused. */
#define BLK_MAX_SEGS 1026u
/* Sectors one DISCARD or WRITE_ZEROES may cover (advertised in the config
 * space; 16 MiB, as qemu-storage-daemon's export): bigger ones are refused,
 * so no request holds a queue thread for long (write-zeroes falls back to
 * writing zeros where the file system cannot zero a range). */
#define BLK_MAX_RANGE_SECTORS 32768u

/* virtio-blk feature bits */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* request types and status */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define BLK_MAX_QUEUES 64u

typedef struct blk_queue blk_queue;

typedef struct blk_device {
    blk_disk disk;
    unsigned int num_queues;
    const blk_engine_ops *engine; /* NULL: sync */
    unsigned int poll_us;         /* busy-poll the ring and the engine before sleeping */
    blk_queue *queues[BLK_MAX_QUEUES];   /* each queue thread's own */
    char serial[20];
    uint64_t requests;            /* atomic */
    uint64_t errors;              /* atomic */
    uint64_t queue_requests[BLK_MAX_QUEUES];   /* atomic, per queue */
} blk_device;

/* The gm_vhost_device_ops of a virtio-blk device over @b->disk. */
const gm_vhost_device_ops *blk_device_ops(void);
uint64_t blk_device_features(const blk_device *b);
int blk_device_get_config(void *opaque, uint8_t *config, uint32_t offset, uint32_t len);
/*
 * Run one popped request of @vq against @b->disk synchronously and write
 * its status byte (the last byte of the writable buffers). Every field is
 * the guest's: a malformed request gets VIRTIO_BLK_S_IOERR (UNSUPP for
 * unknown types), never a crash. Counts the request (and the error) in @b.
 * Return: the used length to push (data written + status), 0 when not even
 * the status byte could be written.
 */
uint32_t blk_request_process(blk_device *b, gm_virtq *vq, gm_virtq_elem *elem);

#endif
