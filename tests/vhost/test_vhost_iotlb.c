/* SPDX-License-Identifier: MIT */
/*
 * White-box tests of the vhost-user device IOTLB (src/vhost/vhost_iotlb.c)
 * with the back-end channel as a socketpair whose other end this program
 * reads, standing in for the front-end.
 *
 * - A descriptor chain's uncached pages are all asked for before the queue
 *   thread waits (one round trip for the chain), and the accesses after
 *   the answers need no further miss.
 * - Table maintenance: updates replace what they overlap, invalidations
 *   drop exactly the overlapping entries.
 * - A front-end that never reads the channel cannot block a queue thread
 *   or the message thread: misses that do not fit fail by the timeout.
 * - Stopping one queue ends the waits of that queue's thread only.
 * - A page is asked for once however many threads need it, and asked
 *   again only when an invalidation of that very page came meanwhile.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "vhost/vhost_iotlb.h"
#include "vhost/vhost_msg.h"

#define PAGE 4096ull
#define RAM_SIZE (64 * PAGE)
#define RAM_BASE 0x10000000ull    /* the front-end's user address of the RAM */
#define IOVA_BASE 0x80000000ull

typedef struct fixture {
    gm_system *sys;
    gm_region *uroot, *ram, *dmaroot;
    gm_as *uaddr, *dma;
    vu_iotlb_table t;
    int peer;                     /* the front-end's end of the channel */
} fixture;

static void fixture_init(fixture *fx, unsigned int timeout_ms)
{
    int sv[2];

    fx->sys = gm_system_new(0);
    fx->uroot = gm_region_new_container(fx->sys, "uaddr", GM_SIZE_2_64);
    fx->ram = gm_region_new_ram(fx->sys, "ram", RAM_SIZE);
    CHECK(gm_region_add_subregion(fx->uroot, RAM_BASE, fx->ram) == 0, "map ram");
    fx->uaddr = gm_as_new(fx->sys, fx->uroot, "uaddr");
    CHECK(vu_iotlb_init(&fx->t, fx->sys, fx->uaddr) == 0, "iotlb init");
    fx->t.miss_timeout_ms = timeout_ms;
    fx->dmaroot = gm_region_new_container(fx->sys, "iova", GM_SIZE_2_64);
    CHECK(gm_region_add_subregion(fx->dmaroot, 0, fx->t.iommu) == 0, "map iommu");
    fx->dma = gm_as_new(fx->sys, fx->dmaroot, "iova");
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    vu_iotlb_set_backend_fd(&fx->t, sv[0]);
    fx->peer = sv[1];
    for (unsigned int i = 0; i < RAM_SIZE; i++)
        ((uint8_t *)gm_region_get_ram_ptr(fx->ram))[i] = (uint8_t)(i / PAGE);
}

static void fixture_fini(fixture *fx)
{
    int fd = fx->t.backend_fd;

    vu_iotlb_close(&fx->t);
    vu_iotlb_set_backend_fd(&fx->t, -1);
    close(fd);
    close(fx->peer);
    gm_as_free(fx->dma);
    gm_as_free(fx->uaddr);
    gm_region_unref(fx->dmaroot);
    vu_iotlb_destroy(&fx->t);
    gm_region_unref(fx->ram);
    gm_region_unref(fx->uroot);
    gm_system_free(fx->sys);
}

/* IOVA page @n maps RAM page @n. */
static void update(fixture *fx, uint64_t iova, uint64_t size, uint8_t perm)
{
    vu_iotlb u = { .iova = iova, .size = size, .uaddr = RAM_BASE + (iova - IOVA_BASE),
                   .perm = perm, .type = VU_IOTLB_UPDATE };

    CHECK(vu_iotlb_message(&fx->t, &u) == 0, "update 0x%llx", (unsigned long long)iova);
}

static void invalidate(fixture *fx, uint64_t iova, uint64_t size)
{
    vu_iotlb u = { .iova = iova, .size = size, .type = VU_IOTLB_INVALIDATE };

    CHECK(vu_iotlb_message(&fx->t, &u) == 0, "invalidate");
}

/* Read one miss from the channel within @ms; false if none came. */
static bool read_miss(fixture *fx, vu_iotlb *miss, int ms)
{
    struct pollfd p = { fx->peer, POLLIN, 0 };
    vu_header hdr;

    if (poll(&p, 1, ms) != 1)
        return false;
    CHECK(read(fx->peer, &hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr), "miss header");
    CHECK(hdr.request == VU_BACKEND_IOTLB_MSG && hdr.size == sizeof(*miss), "miss %u/%u",
          hdr.request, hdr.size);
    CHECK(read(fx->peer, miss, sizeof(*miss)) == (ssize_t)sizeof(*miss), "miss payload");
    CHECK(miss->type == VU_IOTLB_MISS, "type %u", miss->type);
    return true;
}

typedef struct prefetch_job {
    fixture *fx;
    const vu_iotlb_range *ranges;
    unsigned int n;
    unsigned int sent;
    int done;                     /* atomic */
    int stopping;                 /* atomic: the job's queue is being stopped */
} prefetch_job;

static void *prefetch_thread(void *arg)
{
    prefetch_job *j = arg;

    vu_iotlb_bind_thread(&j->stopping);
    vu_iotlb_request_start(&j->fx->t);
    j->sent = vu_iotlb_prefetch(&j->fx->t, j->ranges, j->n);
    __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* A chain of three buffers over six pages, one of them already cached: the
 * five misses all arrive before any is answered, the prefetch returns once
 * all five are, and reading the buffers afterwards sends nothing more. */
static void test_chain_misses_batched(void)
{
    const vu_iotlb_range ranges[] = {
        { IOVA_BASE + 0x100, 2 * PAGE - 0x200, GM_IOMMU_RO },   /* pages 0, 1 */
        { IOVA_BASE + 8 * PAGE, 16, GM_IOMMU_WO },               /* page 8 */
        { IOVA_BASE + 4 * PAGE, 3 * PAGE, GM_IOMMU_RO },        /* pages 4, (5), 6 */
    };
    const uint64_t want[] = { 0, 1, 8, 4, 6 };
    fixture fx;
    prefetch_job j = { &fx, ranges, 3, 0, 0, 0 };
    pthread_t th;
    vu_iotlb miss[5];
    uint8_t buf[16];

    fixture_init(&fx, 5000);
    update(&fx, IOVA_BASE + 5 * PAGE, PAGE, 1);
    CHECK(pthread_create(&th, NULL, prefetch_thread, &j) == 0, "thread");
    for (unsigned int i = 0; i < 5; i++) {
        CHECK(read_miss(&fx, &miss[i], 2000), "miss %u of 5 sent before any answer", i);
        CHECK_EQ_U64(miss[i].iova & ~(PAGE - 1), IOVA_BASE + want[i] * PAGE, "miss page");
        CHECK(miss[i].perm == (i == 2 ? GM_IOMMU_WO : GM_IOMMU_RO), "miss %u perm %u", i,
              miss[i].perm);
    }
    CHECK(!read_miss(&fx, &miss[0], 50), "no sixth miss: page 5 is cached");
    CHECK(!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE), "prefetch waits for the answers");
    for (unsigned int i = 0; i < 5; i++)
        update(&fx, IOVA_BASE + want[i] * PAGE, PAGE, i == 2 ? 3 : 1);
    pthread_join(th, NULL);
    CHECK(j.sent == 5, "prefetch sent %u misses", j.sent);
    CHECK(gm_as_read(fx.dma, IOVA_BASE + 6 * PAGE + 8, GM_ATTRS_UNSPECIFIED, buf, 1) == GM_OK &&
              buf[0] == 6,
          "page 6 reads RAM page 6 (%u)", buf[0]);
    CHECK(gm_as_read(fx.dma, IOVA_BASE + PAGE, GM_ATTRS_UNSPECIFIED, buf, 16) == GM_OK &&
              buf[0] == 1,
          "page 1 reads RAM page 1");
    CHECK(!read_miss(&fx, &miss[0], 50), "the accesses after the prefetch send no miss");
    CHECK(fx.t.stats.misses_sent == 5 && fx.t.stats.misses_prefetched == 5,
          "misses %llu, prefetched %llu", (unsigned long long)fx.t.stats.misses_sent,
          (unsigned long long)fx.t.stats.misses_prefetched);
    fixture_fini(&fx);
}

/* A chain of more pages than one send carries (VU_MSG_NOWAIT_MAX): every
 * page is still asked for, in order. */
static void test_long_chain(void)
{
    const unsigned int pages = 3 * VU_MSG_NOWAIT_MAX + 5;
    const vu_iotlb_range r = { IOVA_BASE, pages * PAGE, GM_IOMMU_WO };
    fixture fx;
    prefetch_job j = { &fx, &r, 1, 0, 0, 0 };
    pthread_t th;
    vu_iotlb miss;

    fixture_init(&fx, 5000);
    CHECK(pthread_create(&th, NULL, prefetch_thread, &j) == 0, "thread");
    for (unsigned int i = 0; i < pages; i++) {
        CHECK(read_miss(&fx, &miss, 2000), "miss %u of %u", i, pages);
        CHECK_EQ_U64(miss.iova, IOVA_BASE + i * PAGE, "miss order");
        update(&fx, miss.iova, PAGE, 3);
    }
    pthread_join(th, NULL);
    CHECK(j.sent == pages, "sent %u", j.sent);
    fixture_fini(&fx);
}

/* Updates replace what they overlap; invalidations drop exactly the
 * entries they overlap, wherever they sit in the sorted table. */
static void test_table_maintenance(void)
{
    fixture fx;

    fixture_init(&fx, 10);
    for (unsigned int i = 0; i < 32; i += 2)
        update(&fx, IOVA_BASE + i * PAGE, PAGE, 3);
    CHECK(fx.t.nr == 16, "16 entries (%u)", fx.t.nr);
    update(&fx, IOVA_BASE + 2 * PAGE, 3 * PAGE, 1);   /* replaces pages 2 and 4 */
    CHECK(fx.t.nr == 15, "an update replaced two entries (%u)", fx.t.nr);
    invalidate(&fx, IOVA_BASE + 7 * PAGE, 4 * PAGE);  /* pages 8 and 10 */
    CHECK(fx.t.nr == 13, "an invalidation dropped two entries (%u)", fx.t.nr);
    CHECK(fx.t.stats.invalidations == 2, "two entries counted");
    invalidate(&fx, IOVA_BASE + 9 * PAGE, PAGE);      /* a hole: nothing */
    CHECK(fx.t.nr == 13 && fx.t.stats.invalidation_msgs == 2, "a miss-free invalidation");
    for (unsigned int i = 1; i < fx.t.nr; i++)
        CHECK(fx.t.entries[i - 1].iova + fx.t.entries[i - 1].size <= fx.t.entries[i].iova,
              "entries sorted and disjoint at %u", i);
    invalidate(&fx, 0, UINT64_MAX);
    CHECK(fx.t.nr == 0, "a whole-space invalidation empties the table");
    fixture_fini(&fx);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The front-end never reads its channel and the buffer is full: misses are
 * not sent, the queue thread gives up after the timeout instead of blocking
 * in sendmsg(), and the message thread's calls never wait for it. */
static void test_deaf_channel(void)
{
    const vu_iotlb_range r = { IOVA_BASE, 8 * PAGE, GM_IOMMU_RO };
    char junk[512] = { 0 };
    fixture fx;
    prefetch_job j = { &fx, &r, 1, 0, 0, 0 };
    pthread_t th;
    int64_t t0;
    uint8_t b;
    int small = 1;

    fixture_init(&fx, 100);
    setsockopt(fx.t.backend_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    while (send(fx.t.backend_fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
        ;
    t0 = now_ms();
    CHECK(pthread_create(&th, NULL, prefetch_thread, &j) == 0, "thread");
    vu_iotlb_wake_all(&fx.t);   /* the message thread, stopping another queue */
    update(&fx, IOVA_BASE + 32 * PAGE, PAGE, 3);
    pthread_join(th, NULL);
    vu_iotlb_request_start(&fx.t);
    CHECK(gm_as_read(fx.dma, IOVA_BASE, GM_ATTRS_UNSPECIFIED, &b, 1) != GM_OK,
          "an unanswerable access fails");
    CHECK(now_ms() - t0 < 2000, "gave up in %lld ms", (long long)(now_ms() - t0));
    CHECK(fx.t.stats.misses_sent == 0 && fx.t.stats.misses_unsent >= 9,
          "sent %llu, unsent %llu", (unsigned long long)fx.t.stats.misses_sent,
          (unsigned long long)fx.t.stats.misses_unsent);
    fixture_fini(&fx);
}

/* Two queue threads wait for misses; the message thread stops the first
 * one's queue. Only that wait ends (at once, well before the timeout);
 * the second queue's wait goes on and its answer still arrives. */
static void test_stop_one_queue(void)
{
    const vu_iotlb_range r0 = { IOVA_BASE, PAGE, GM_IOMMU_RO };
    const vu_iotlb_range r1 = { IOVA_BASE + 16 * PAGE, PAGE, GM_IOMMU_RO };
    fixture fx;
    prefetch_job j0 = { &fx, &r0, 1, 0, 0, 0 }, j1 = { &fx, &r1, 1, 0, 0, 0 };
    pthread_t t0, t1;
    vu_iotlb miss;
    int64_t start;

    fixture_init(&fx, 10000);
    CHECK(pthread_create(&t0, NULL, prefetch_thread, &j0) == 0, "thread 0");
    CHECK(pthread_create(&t1, NULL, prefetch_thread, &j1) == 0, "thread 1");
    CHECK(read_miss(&fx, &miss, 2000) && read_miss(&fx, &miss, 2000), "both queues asked");
    start = now_ms();
    __atomic_store_n(&j0.stopping, 1, __ATOMIC_RELEASE);
    vu_iotlb_wake_all(&fx.t);
    pthread_join(t0, NULL);
    CHECK(now_ms() - start < 5000, "the stopped queue's wait ended at once (%lld ms)",
          (long long)(now_ms() - start));
    usleep(100 * 1000);
    CHECK(!__atomic_load_n(&j1.done, __ATOMIC_ACQUIRE), "the other queue still waits");
    update(&fx, IOVA_BASE + 16 * PAGE, PAGE, 1);
    pthread_join(t1, NULL);
    CHECK(fx.t.stats.timeouts == 0, "no wait timed out");
    fixture_fini(&fx);
}

/* A queue being stopped prefetches: nothing is asked, and nothing is kept
 * as asked, so the same pages are asked for at once when it runs again. */
static void test_prefetch_while_stopping(void)
{
    const vu_iotlb_range r = { IOVA_BASE + 2 * PAGE, PAGE, GM_IOMMU_RO };
    fixture fx;
    prefetch_job j = { &fx, &r, 1, 0, 0, 1 };
    pthread_t th;
    vu_iotlb miss;

    fixture_init(&fx, 10000);
    CHECK(pthread_create(&th, NULL, prefetch_thread, &j) == 0, "stopping thread");
    pthread_join(th, NULL);
    CHECK(j.sent == 0 && !read_miss(&fx, &miss, 100), "a stopping queue asks nothing");
    j = (prefetch_job){ &fx, &r, 1, 0, 0, 0 };
    CHECK(pthread_create(&th, NULL, prefetch_thread, &j) == 0, "running again");
    CHECK(read_miss(&fx, &miss, 2000), "the page is asked for at once");
    update(&fx, IOVA_BASE + 2 * PAGE, PAGE, 1);
    pthread_join(th, NULL);
    CHECK(j.sent == 1 && fx.t.stats.timeouts == 0, "answered, no wait timed out");
    fixture_fini(&fx);
}

typedef struct read_job {
    fixture *fx;
    uint64_t iova;
    int stopping;                 /* never set: bound to the thread */
    gm_result r;
} read_job;

static void *read_thread(void *arg)
{
    read_job *j = arg;
    uint8_t b;

    vu_iotlb_bind_thread(&j->stopping);
    vu_iotlb_request_start(&j->fx->t);
    j->r = gm_as_read(j->fx->dma, j->iova, GM_ATTRS_UNSPECIFIED, &b, 1);
    return NULL;
}

/* Two threads read the same page: one miss. Invalidating another page
 * changes nothing; invalidating that page makes it asked once more. */
static void test_miss_once(void)
{
    fixture fx;
    read_job a, b;
    pthread_t ta, tb;
    vu_iotlb miss;

    fixture_init(&fx, 10000);
    a = (read_job){ &fx, IOVA_BASE + 3 * PAGE + 8, 0, GM_OK };
    b = (read_job){ &fx, IOVA_BASE + 3 * PAGE + 100, 0, GM_OK };
    CHECK(pthread_create(&ta, NULL, read_thread, &a) == 0, "thread a");
    CHECK(read_miss(&fx, &miss, 2000), "the first reader asks");
    CHECK(pthread_create(&tb, NULL, read_thread, &b) == 0, "thread b");
    CHECK(!read_miss(&fx, &miss, 200), "the second reader of the page does not ask again");
    update(&fx, IOVA_BASE + 9 * PAGE, PAGE, 3);
    invalidate(&fx, IOVA_BASE + 9 * PAGE, PAGE);
    CHECK(!read_miss(&fx, &miss, 200), "another page's invalidation asks nothing again");
    invalidate(&fx, IOVA_BASE + 3 * PAGE, PAGE);
    CHECK(read_miss(&fx, &miss, 2000), "the page's own invalidation: asked again");
    CHECK_EQ_U64(miss.iova & ~(PAGE - 1), IOVA_BASE + 3 * PAGE, "the same page");
    CHECK(!read_miss(&fx, &miss, 200), "once, for both readers");
    update(&fx, IOVA_BASE + 3 * PAGE, PAGE, 3);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.r == GM_OK && b.r == GM_OK, "both reads succeed");
    CHECK(fx.t.stats.timeouts == 0, "no wait timed out");
    fixture_fini(&fx);
}

int main(void)
{
    RUN(test_chain_misses_batched);
    RUN(test_long_chain);
    RUN(test_table_maintenance);
    RUN(test_deaf_channel);
    RUN(test_stop_one_queue);
    RUN(test_prefetch_while_stopping);
    RUN(test_miss_once);
    return 0;
}
