/* SPDX-License-Identifier: MIT */
/*
 * The back-end channel (SET_BACKEND_REQ_FD): a thread that answers the
 * back-end's IOTLB misses while the queues run, as QEMU's main loop does.
 *
 * For each BACKEND_IOTLB_MSG miss: look the page up and, if it is mapped
 * with the access asked for (a miss whose permission is not "read only"
 * asks for write access, as QEMU reads it), send one IOTLB update for that
 * 4 KiB page on the front-end socket with NEED_REPLY and wait for its
 * acknowledgement; then, if the back-end asked for a reply, acknowledge the
 * miss on the channel (0 when answered, 1 when not, as QEMU does). A miss
 * for an unmapped page is a fault: nothing is sent, the fault is counted.
 *
 * Anything else on the channel is a protocol error and fails the run. A
 * channel that closes fails the run too, unless reconnecting is allowed:
 * then the thread waits for the next connection's channel.
 *
 * Glossary: io = the IOMMU; chan = our end of the back-end channel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bp_iommu.h"
#include "bp_util.h"

#define PAGE 4096ull
#define TICK_MS 100

/* The page-table entry for @iova if it allows @write (caller holds io->lock), or 0. */
static uint64_t lookup_locked(bp_iommu *io, uint64_t iova, bool write)
{
    uint64_t pte;
    uint8_t need = write ? VU_ACCESS_WO : VU_ACCESS_RO;

    if (iova < io->win_base || iova >= io->win_top)
        return 0;
    pte = io->pte[(iova - io->win_base) / PAGE];
    return (pte & need) ? pte : 0;
}

static void fault_locked(bp_iommu *io, uint64_t iova, bool write)
{
    if (!io->stats.faults++) {
        io->stats.first_fault_iova = iova;
        bp_warn("iommu: the back-end asked for IOVA 0x%llx (%s), which the guest has not mapped "
                "for that access: DMA fault, not answered", (unsigned long long)iova,
                write ? "write" : "read");
    }
}

/* Send the translation of @iova's page. Return: 0, -EFAULT, or a connection error. */
static int send_translation(bp_iommu *io, uint64_t iova, bool write)
{
    vu_iotlb up = { .iova = iova & ~(PAGE - 1), .size = PAGE, .type = VU_IOTLB_UPDATE };
    uint64_t pte;
    int err = -EFAULT;

    bp_conn_lock(io->conn);
    pthread_mutex_lock(&io->lock);
    pte = lookup_locked(io, iova, write);
    if (!pte)
        fault_locked(io, iova, write);
    pthread_mutex_unlock(&io->lock);
    if (pte) {
        up.uaddr = pte & ~(PAGE - 1);
        up.perm = (uint8_t)(pte & VU_ACCESS_RW);
        err = bp_conn_iotlb_locked(io->conn, &up);
    }
    bp_conn_unlock(io->conn);
    pthread_mutex_lock(&io->lock);
    io->stats.updates += !err;
    pthread_mutex_unlock(&io->lock);
    return err;
}

int bp_iommu_prefill(bp_iommu *io, uint64_t iova)
{
    return send_translation(io, iova, true);
}

static int answer(bp_iommu *io, const vu_header *hdr, const vu_iotlb *miss)
{
    uint64_t status;
    int err;

    pthread_mutex_lock(&io->lock);
    io->stats.misses++;
    pthread_mutex_unlock(&io->lock);
    err = send_translation(io, miss->iova, miss->perm != VU_ACCESS_RO);
    if (err && err != -EFAULT && !io->reconnect)
        return err;
    if (!(hdr->flags & VU_FLAG_NEED_REPLY))
        return 0;
    status = err ? 1 : 0;
    return bp_msg_send(io->chan, VU_BACKEND_IOTLB_MSG, VU_FLAG_REPLY, &status, sizeof(status),
                       NULL, 0);
}

/* One message from the channel. Return: 0, -EBADMSG (reported), or a transport error. */
static int serve_one(bp_iommu *io)
{
    uint8_t buf[VU_MAX_PAYLOAD];
    vu_header hdr;
    vu_iotlb msg;
    int err = bp_msg_recv(io->chan, io->conn->timeout_ms, &hdr, buf, sizeof(buf), NULL);

    if (err)
        return err;
    if (hdr.request != VU_BACKEND_IOTLB_MSG || hdr.size != sizeof(msg) ||
        (hdr.flags & VU_FLAG_REPLY)) {
        bp_fail("back-end channel: unexpected message (request %u, flags 0x%x, size %u)",
                hdr.request, hdr.flags, hdr.size);
        return -EBADMSG;
    }
    memcpy(&msg, buf, sizeof(msg));
    if (msg.type != VU_IOTLB_MISS) {
        bp_fail("back-end channel: IOTLB message of type %u (only misses are expected)",
                msg.type);
        return -EBADMSG;
    }
    return answer(io, &hdr, &msg);
}

static void channel_failed(bp_iommu *io, int err)
{
    char why[128];

    close(io->chan);
    io->chan = -1;
    if (err == -EBADMSG || !io->reconnect)
        bp_fail("back-end channel: %s", bp_conn_strerror(err, why, sizeof(why),
                                                          io->conn->timeout_ms));
}

static void adopt_pending(bp_iommu *io)
{
    int p = __atomic_exchange_n(&io->pending_chan, -1, __ATOMIC_ACQ_REL);
    uint64_t v;

    if (read(io->wake_fd, &v, sizeof(v)) < 0)
        v = 0;   /* nothing was pending */
    if (p < 0)
        return;
    if (io->chan >= 0)
        close(io->chan);
    io->chan = p;
}

static void *chan_thread(void *arg)
{
    bp_iommu *io = arg;

    while (!__atomic_load_n(&io->stop, __ATOMIC_ACQUIRE) && !bp_failed()) {
        struct pollfd pfd[2] = { { io->wake_fd, POLLIN, 0 }, { io->chan, POLLIN, 0 } };
        int err;

        if (poll(pfd, 2, TICK_MS) <= 0)
            continue;
        if (pfd[0].revents)
            adopt_pending(io);
        else if (pfd[1].revents && (err = serve_one(io)))
            channel_failed(io, err);
    }
    return NULL;
}

int bp_iommu_start(bp_iommu *io, int chan)
{
    int err;

    io->chan = chan;
    io->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (io->wake_fd < 0)
        return -errno;
    err = pthread_create(&io->thread, NULL, chan_thread, io);
    io->running = !err;
    return -err;
}

void bp_iommu_set_channel(bp_iommu *io, int chan)
{
    int old = __atomic_exchange_n(&io->pending_chan, chan, __ATOMIC_ACQ_REL);
    uint64_t one = 1;

    if (old >= 0)
        close(old);
    if (write(io->wake_fd, &one, sizeof(one)) < 0)
        bp_warn("iommu: cannot wake the channel thread");
}

void bp_iommu_stop(bp_iommu *io)
{
    uint64_t one = 1;

    if (io->running) {
        __atomic_store_n(&io->stop, 1, __ATOMIC_RELEASE);
        if (write(io->wake_fd, &one, sizeof(one)) < 0)
            bp_warn("iommu: cannot wake the channel thread");
        pthread_join(io->thread, NULL);
        io->running = false;
    }
    if (io->chan >= 0)
        close(io->chan);
    if (io->pending_chan >= 0)
        close(io->pending_chan);
    if (io->wake_fd >= 0)
        close(io->wake_fd);
    io->chan = io->pending_chan = io->wake_fd = -1;
}
