/* SPDX-License-Identifier: MIT */
/*
 * Notification suppression in both directions (virtio 1.x, 2.7.7 and 2.7.10).
 *
 * Device -> driver (interrupts): without VIRTIO_F_EVENT_IDX the driver sets
 * VIRTQ_AVAIL_F_NO_INTERRUPT in avail->flags; with it, the driver writes
 * used_event (after the available ring) and wants an interrupt when used->idx
 * moves past it. The device remembers the used index at the previous check
 * (signalled_used) and asks vring_need_event() whether used_event lies in
 * the window [signalled_used, used_idx) modulo 2^16. That window is only
 * meaningful while it is shorter than 2^15, so push invalidates it after
 * that many pushes without a check, and a reconnect invalidates it too: an
 * invalid window means "notify" (a spurious interrupt is harmless, a lost
 * one hangs the driver).
 *
 * Driver -> device (kicks): without EVENT_IDX the device sets
 * VIRTQ_USED_F_NO_NOTIFY in used->flags; with it, flags must stay 0 and the
 * device writes avail_event (after the used ring): the driver kicks when
 * avail->idx moves past it. Disabling is then simply not moving it.
 *
 * Barriers: both directions are "store my index/flag, then read the other
 * side's"; store-load ordering needs a full fence (release/acquire do not
 * order a store before a later load). Enable re-checks the ring after its
 * fence, so a chain the driver added before it could see the new
 * avail_event is not lost.
 *
 * Locking: none; the queue's thread only.
 */
#include <errno.h>

#include "virtio/virtq_int.h"

/* Has @new_idx moved past @event_idx since @old (all modulo 2^16)? */
static inline bool vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

static bool notify_event_idx(gm_virtq *vq)
{
    bool valid = vq->signalled_used_valid;
    uint16_t old = vq->signalled_used;
    uint16_t event;

    vq->signalled_used_valid = true;
    vq->signalled_used = vq->used_idx;
    if (virtq_area_read16(&vq->avail, virtq_used_event_off(vq), &event) != GM_OK)
        return true;
    return !valid || vring_need_event(event, vq->used_idx, old);
}

bool gm_virtq_should_notify(gm_virtq *vq)
{
    uint16_t flags;

    if (vq->error)
        return false;
    /* Our used->idx store before the driver's flags / used_event load. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vq->packed)
        return virtq_packed_should_notify(vq);
    if (virtq_has(vq, GM_VIRTIO_F_EVENT_IDX))
        return notify_event_idx(vq);
    if (virtq_area_read16(&vq->avail, VIRTQ_AVAIL_OFF_FLAGS, &flags) != GM_OK)
        return true;
    return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

static int notify_write_used_flags(gm_virtq *vq, uint16_t flags)
{
    if (virtq_area_write16(&vq->used, VIRTQ_USED_OFF_FLAGS, flags) != GM_OK)
        return virtq_break(vq, -EFAULT, "used->flags not writable");
    vq->used_flags = flags;
    return 0;
}

int gm_virtq_enable_notification(gm_virtq *vq)
{
    int ret;

    if (vq->error)
        return -EIO;
    if (vq->packed) {
        ret = virtq_packed_set_notification(vq, true);
        if (ret)
            return ret;
    } else if (virtq_has(vq, GM_VIRTIO_F_EVENT_IDX)) {
        if (virtq_area_write16(&vq->used, virtq_avail_event_off(vq), vq->shadow_avail_idx) !=
            GM_OK)
            return virtq_break(vq, -EFAULT, "avail_event not writable");
    } else {
        ret = notify_write_used_flags(vq, vq->used_flags & ~VIRTQ_USED_F_NO_NOTIFY);
        if (ret)
            return ret;
    }
    /* The flag/event store before the re-read of avail->idx. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return gm_virtq_has_work(vq);
}

int gm_virtq_disable_notification(gm_virtq *vq)
{
    if (vq->error)
        return -EIO;
    if (vq->packed)
        return virtq_packed_set_notification(vq, false);
    if (virtq_has(vq, GM_VIRTIO_F_EVENT_IDX))
        return 0;
    return notify_write_used_flags(vq, vq->used_flags | VIRTQ_USED_F_NO_NOTIFY);
}
