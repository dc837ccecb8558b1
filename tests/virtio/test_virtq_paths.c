/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues on the memory that is not plain RAM: behind an IOMMU
 * region (ring and buffer addresses are IOVAs) and on a map-on-demand region
 * (a fake grant provider). Rings, indirect tables and buffers are placed
 * across 4 KiB page boundaries, so:
 *
 * - the ring caches cover only up to the first boundary (one IOMMU page,
 *   one grant mapping) and the rest goes through the uncached fallback;
 * - every buffer maps as several iovecs;
 * - pages the provider will not map, or the IOMMU maps read-only, take the
 *   copy fallback or fail cleanly.
 *
 * The same driver/device workload runs on both: direct and indirect chains,
 * out data checked through the iovecs, in data written through them with a
 * partial length and checked in guest memory, event-index notifications,
 * several laps of the ring.
 */
#include <errno.h>
#include <string.h>

#include <guestmem/guestmem.h>
#include <guestmem/virtq.h>

#include "check.h"
#include "vdriver.h"

#define PAGE 0x1000u
#define PAGES 64u
#define QSIZE 256u
#define DESC 0x1800u  /* 4 KiB table over IOVA/grant pages 1 and 2 */
#define AVAIL 0x3ff0u /* crosses into page 4 */
#define USED 0x5ffcu  /* used->idx on page 5, the entries on page 6 */
#define TABLE 0x8fd0u /* indirect tables cross into page 9 */
#define OUT_A 0x10f9bu
#define OUT_B 0x12ff0u
#define IN_A 0x14f00u
#define IN_B 0x16fffu

typedef struct layout {
    vbuf out[2];
    vbuf in[2];
} layout;

static const layout std_layout = {
    .out = { { OUT_A, 100 }, { OUT_B, 0x1020 } },
    .in = { { IN_A, 300 }, { IN_B, 2 } },
};

static uint8_t pattern(int round, uint64_t i)
{
    return (uint8_t)(round * 31 + i * 7 + 1);
}

typedef struct device {
    gm_virtq *vq;
    gm_virtq_seg seg[16];
    gm_virtq_elem elem;
    struct iovec iov[64];
    gm_virtq_iov v;
    unsigned int iovecs; /* mapped so far, all requests */
    int logged;
} device;

static void count_log(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)level;
    (void)msg;
    (*(int *)opaque)++;
}

static void device_init(device *dev, gm_as *as, const vdrv *d)
{
    gm_virtq_config cfg = vdrv_config(d, GM_VIRTIO_F_INDIRECT_DESC);

    memset(dev, 0, sizeof(*dev));
    dev->elem = (gm_virtq_elem){ .seg = dev->seg, .seg_max = 16 };
    dev->v = (gm_virtq_iov){ .iov = dev->iov, .max = 64 };
    CHECK(gm_virtq_new(as, &cfg, &dev->vq) == 0, "queue");
    gm_virtq_set_log(dev->vq, count_log, &dev->logged);
}

static void driver_fill(vdrv *d, const layout *l, int round)
{
    uint64_t n = 0;

    for (int i = 0; i < 2; i++) {
        for (uint32_t k = 0; k < l->out[i].len; k++, n++) {
            uint8_t b = pattern(round, n);

            CHECK(gm_as_write(d->as, l->out[i].addr + k, GM_ATTRS_UNSPECIFIED, &b, 1) == GM_OK,
                  "driver fills out buffer");
        }
        CHECK(gm_as_fill(d->as, l->in[i].addr, GM_ATTRS_UNSPECIFIED, 0, l->in[i].len) == GM_OK,
              "driver clears in buffer");
    }
}

/* The device's side of one request: map, check, write, unmap, push. */
static void device_serve(device *dev, int round, uint32_t *written)
{
    gm_virtq_elem *e = &dev->elem;
    uint64_t n = 0;

    CHECK(gm_virtq_pop(dev->vq, e) == 1, "round %d: pop", round);
    CHECK(e->out_num == 2 && e->in_num == 2, "2 + 2 buffers");
    CHECK(gm_virtq_iov_map(dev->vq, e, &dev->v) == 0, "round %d: map", round);
    CHECK(dev->v.out_cnt >= 2 && dev->v.in_cnt >= 2, "at least one iovec per buffer");
    dev->iovecs += dev->v.out_cnt + dev->v.in_cnt;
    for (unsigned int k = 0; k < dev->v.out_cnt; k++)
        for (size_t i = 0; i < dev->iov[k].iov_len; i++, n++)
            CHECK(((uint8_t *)dev->iov[k].iov_base)[i] == pattern(round, n),
                  "round %d: out byte %lu", round, (unsigned long)n);
    CHECK(n == e->out_len, "iovecs cover the out buffers");
    /* A short "preadv": all but the last byte of the in buffers. */
    *written = e->in_len - 1;
    n = 0;
    for (unsigned int k = dev->v.out_cnt; k < dev->v.out_cnt + dev->v.in_cnt; k++)
        for (size_t i = 0; i < dev->iov[k].iov_len; i++, n++)
            if (n < *written)
                ((uint8_t *)dev->iov[k].iov_base)[i] = pattern(round + 100, n);
    CHECK(n == e->in_len, "iovecs cover the in buffers");
    CHECK(gm_virtq_iov_unmap(dev->vq, e, &dev->v, *written) == 0, "unmap");
    CHECK(gm_virtq_push_elem(dev->vq, e, *written) == 0, "push");
}

static void driver_check(vdrv *d, const layout *l, int round, int head, uint32_t written)
{
    uint32_t id, len;
    uint64_t n = 0;

    CHECK(vdrv_get_used(d, &id, &len), "round %d: used entry", round);
    CHECK(id == (uint32_t)head && len == written, "used {%u, %u}", id, len);
    for (int i = 0; i < 2; i++) {
        for (uint32_t k = 0; k < l->in[i].len; k++, n++) {
            uint8_t b = 0xff;

            CHECK(gm_as_read(d->as, l->in[i].addr + k, GM_ATTRS_UNSPECIFIED, &b, 1) == GM_OK,
                  "read back");
            CHECK(b == (n < written ? pattern(round + 100, n) : 0),
                  "round %d: in byte %lu", round, (unsigned long)n);
        }
    }
}

static void run_workload(vdrv *d, device *dev, const layout *l, int rounds)
{
    int notified = 0;

    for (int r = 0; r < rounds; r++) {
        uint32_t written;
        int head;

        driver_fill(d, l, r);
        vdrv_set_used_event(d, (uint16_t)(d->last_used + (r % 4 == 0 ? 0 : 3)));
        if (r % 2)
            head = vdrv_add_indirect(d, TABLE + 0x1000u * (unsigned int)(r % 3), l->out, 2,
                                     l->in, 2);
        else
            head = vdrv_add(d, l->out, 2, l->in, 2);
        device_serve(dev, r, &written);
        notified += gm_virtq_should_notify(dev->vq);
        driver_check(d, l, r, head, written);
    }
    CHECK(notified > 0 && notified < rounds, "event index suppressed some interrupts (%d)",
          notified);
    CHECK(!gm_virtq_is_broken(dev->vq) && dev->logged == 0, "no guest error");
}

/* ---- behind an IOMMU ---------------------------------------------------------- */

/* IOVA page p -> physical page p ^ key: neighbours are never contiguous.
 * RAM has 2 * PAGES pages, so a key with bit PAGES set moves everything up. */
typedef struct fake_iommu {
    gm_as *target;
    unsigned int key;
    bool unmapped[PAGES];
    bool readonly[PAGES];
} fake_iommu;

static gm_iotlb_entry fake_translate(void *opaque, gm_addr addr, enum gm_iommu_perm flag,
                                     int iommu_idx)
{
    fake_iommu *f = opaque;
    gm_addr page = addr / PAGE;

    (void)flag;
    (void)iommu_idx;
    if (page >= PAGES || f->unmapped[page])
        return (gm_iotlb_entry){ 0 };
    return (gm_iotlb_entry){
        .target_as = f->target,
        .iova = page * PAGE,
        .translated_addr = (page ^ f->key) * PAGE,
        .addr_mask = PAGE - 1,
        .perm = f->readonly[page] ? GM_IOMMU_RO : GM_IOMMU_RW,
    };
}

static const gm_iommu_ops fake_iommu_ops = { .translate = fake_translate };

typedef struct iommu_fixture {
    gm_system *sys;
    gm_region *mem_root, *ram, *dma_root, *iommu;
    gm_as *mem, *dma;
    fake_iommu f;
    int sys_logged;
} iommu_fixture;

static void iommu_fixture_init(iommu_fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->sys = gm_system_new(0);
    gm_system_set_log(fx->sys, count_log, &fx->sys_logged, false);
    fx->mem_root = gm_region_new_container(fx->sys, "system", GM_SIZE_2_64);
    fx->ram = gm_region_new_ram(fx->sys, "ram", 2 * PAGES * PAGE);
    CHECK(gm_region_add_subregion(fx->mem_root, 0, fx->ram) == 0, "ram");
    fx->mem = gm_as_new(fx->sys, fx->mem_root, "memory");
    fx->f = (fake_iommu){ .target = fx->mem, .key = 1 };
    fx->iommu = gm_region_new_iommu(fx->sys, "iommu", GM_SIZE_2_64, &fake_iommu_ops, &fx->f);
    fx->dma_root = gm_region_new_container(fx->sys, "dma", GM_SIZE_2_64);
    CHECK(gm_region_add_subregion(fx->dma_root, 0, fx->iommu) == 0, "iommu");
    fx->dma = gm_as_new(fx->sys, fx->dma_root, "dma");
}

static void iommu_fixture_fini(iommu_fixture *fx)
{
    CHECK(gm_as_bounce_in_use(fx->dma) == 0 && gm_as_bounce_in_use(fx->mem) == 0,
          "no bounce buffers left");
    gm_as_free(fx->dma);
    gm_as_free(fx->mem);
    gm_region_unref(fx->iommu);
    gm_region_unref(fx->dma_root);
    gm_region_unref(fx->ram);
    gm_region_unref(fx->mem_root);
    gm_system_free(fx->sys);
}

static void test_iommu_workload(void)
{
    iommu_fixture fx;
    device dev;
    vdrv d;

    iommu_fixture_init(&fx);
    vdrv_init(&d, fx.dma, QSIZE, DESC, AVAIL, USED, true, 0);
    device_init(&dev, fx.dma, &d);
    run_workload(&d, &dev, &std_layout, 600);
    CHECK(dev.iovecs == 600 * 8, "each of the 4 page-crossing buffers took 2 iovecs");
    gm_virtq_free(dev.vq);
    iommu_fixture_fini(&fx);
}

/*
 * The IOMMU's tables change (every page moves): after the invalidation the
 * ring caches are stale until gm_virtq_refresh().
 */
static void test_iommu_remap_needs_refresh(void)
{
    iommu_fixture fx;
    uint8_t *ram;
    device dev;
    uint32_t written;
    vdrv d;
    int head;

    iommu_fixture_init(&fx);
    ram = gm_region_get_ram_ptr(fx.ram);
    vdrv_init(&d, fx.dma, QSIZE, DESC, AVAIL, USED, true, 0);
    device_init(&dev, fx.dma, &d);
    run_workload(&d, &dev, &std_layout, 3);

    /* Migrate the pages to the upper half: IOVA page p -> (p ^ 1) + PAGES. */
    memcpy(ram + PAGES * PAGE, ram, PAGES * PAGE);
    fx.f.key = 1 ^ PAGES;
    gm_iommu_invalidate_all(fx.iommu);

    driver_fill(&d, &std_layout, 7);
    head = vdrv_add(&d, std_layout.out, 2, std_layout.in, 2);
    CHECK(gm_virtq_has_work(dev.vq) == 0, "stale avail cache: still the old page");
    CHECK(gm_virtq_refresh(dev.vq) == 0, "refresh");
    CHECK(gm_virtq_has_work(dev.vq) == 1, "after refresh the chain is seen");
    device_serve(&dev, 7, &written);
    driver_check(&d, &std_layout, 7, head, written);
    gm_virtq_free(dev.vq);
    iommu_fixture_fini(&fx);
}

static void test_iommu_faults(void)
{
    iommu_fixture fx;
    vbuf out = { 40 * PAGE, 16 }, in = { 41 * PAGE + 8, 8 };
    device dev;
    uint8_t b[16];
    vdrv d;

    iommu_fixture_init(&fx);
    vdrv_init(&d, fx.dma, QSIZE, DESC, AVAIL, USED, true, 0);
    device_init(&dev, fx.dma, &d);
    fx.f.unmapped[40] = true;
    fx.f.readonly[41] = true;
    vdrv_add(&d, &out, 1, &in, 1);
    CHECK(gm_virtq_pop(dev.vq, &dev.elem) == 1, "pop (buffers are not touched yet)");
    CHECK(gm_virtq_iov_map(dev.vq, &dev.elem, &dev.v) == -EFAULT, "unmapped IOVA");
    CHECK(gm_virtq_elem_read(dev.vq, &dev.elem, 0, b, 16) == -EFAULT, "copy too");
    fx.f.unmapped[40] = false;
    gm_iommu_invalidate_all(fx.iommu);
    CHECK(gm_virtq_iov_map(dev.vq, &dev.elem, &dev.v) == -EFAULT, "read-only IOVA for a write");
    CHECK(gm_virtq_elem_write(dev.vq, &dev.elem, 0, b, 8) == -EFAULT, "copy too");
    CHECK(!gm_virtq_is_broken(dev.vq) && dev.logged == 4, "buffer faults do not break it");
    CHECK(gm_virtq_push(dev.vq, dev.elem.head, 0) == 0, "complete with an error status");

    /* The descriptor table's second page disappears under a published chain. */
    vdrv_write_desc(&d, 200, 0x20000, 8, 0, 0);
    vdrv_publish(&d, 200);
    fx.f.unmapped[2] = true;
    gm_iommu_invalidate_all(fx.iommu);
    CHECK(gm_virtq_refresh(dev.vq) == 0, "refresh: the table's first page is still there");
    CHECK(gm_virtq_pop(dev.vq, &dev.elem) == -EFAULT, "descriptor on an unmapped IOVA page");
    CHECK(gm_virtq_error(dev.vq) == -EFAULT && dev.logged == 5, "broken and reported");
    gm_virtq_free(dev.vq);
    iommu_fixture_fini(&fx);
}

/* ---- on a map-on-demand region -------------------------------------------------- */

/*
 * Maps at most one page per call, like a grant; page 30 is never mapped
 * (only copied: exercises the iovec copy fallback), page 31 only read-only.
 * Counts live mappings so leaks show.
 */
typedef struct fake_grants {
    uint8_t mem[PAGES * PAGE];
    int live;
    int maps;
    int copies;
} fake_grants;

static void *grant_map(void *opaque, gm_addr offset, uint64_t *len, bool is_write,
                       gm_attrs attrs, void **handle)
{
    fake_grants *g = opaque;
    gm_addr page = offset / PAGE;

    (void)attrs;
    if (page >= PAGES || page == 30 || (is_write && page == 31))
        return NULL;
    if (*len > PAGE - offset % PAGE)
        *len = PAGE - offset % PAGE;
    *handle = g;
    g->live++;
    g->maps++;
    return g->mem + offset;
}

static void grant_unmap(void *opaque, void *handle, void *host, uint64_t len, bool is_write,
                        uint64_t access_len)
{
    fake_grants *g = opaque;

    CHECK(handle == g && host && len && len <= PAGE, "unmap what was mapped");
    CHECK(!is_write ? access_len == 0 : access_len <= len, "access_len %lu of %lu",
          (unsigned long)access_len, (unsigned long)len);
    g->live--;
}

static gm_result grant_copy(void *opaque, gm_addr offset, void *buf, uint64_t len,
                            bool is_write, gm_attrs attrs)
{
    fake_grants *g = opaque;

    (void)attrs;
    if (offset >= sizeof(g->mem) || len > sizeof(g->mem) - offset)
        return GM_ACCESS_ERROR;
    g->copies++;
    if (is_write)
        memcpy(g->mem + offset, buf, len);
    else
        memcpy(buf, g->mem + offset, len);
    return GM_OK;
}

static const gm_mod_ops grant_ops = { .map = grant_map, .unmap = grant_unmap,
                                      .copy = grant_copy };

typedef struct mod_fixture {
    gm_system *sys;
    gm_region *root, *mod;
    gm_as *as;
    fake_grants g;
    int sys_logged;
} mod_fixture;

static void mod_fixture_init(mod_fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->sys = gm_system_new(0);
    gm_system_set_log(fx->sys, count_log, &fx->sys_logged, false);
    fx->root = gm_region_new_container(fx->sys, "root", GM_SIZE_2_64);
    fx->mod = gm_region_new_mapped(fx->sys, "grants", PAGES * PAGE, &grant_ops, &fx->g);
    CHECK(fx->mod && gm_region_add_subregion(fx->root, 0, fx->mod) == 0, "grant region");
    fx->as = gm_as_new(fx->sys, fx->root, "grants");
}

static void mod_fixture_fini(mod_fixture *fx)
{
    CHECK(fx->g.live == 0, "every mapping released (%d live)", fx->g.live);
    gm_as_free(fx->as);
    gm_region_unref(fx->mod);
    gm_region_unref(fx->root);
    gm_system_free(fx->sys);
}

static void test_mapped_workload(void)
{
    mod_fixture fx;
    device dev;
    vdrv d;

    mod_fixture_init(&fx);
    vdrv_init(&d, fx.as, QSIZE, DESC, AVAIL, USED, true, 0);
    device_init(&dev, fx.as, &d);
    CHECK(fx.g.live == 3, "the three ring caches pin one grant each (%d)", fx.g.live);
    run_workload(&d, &dev, &std_layout, 600);
    CHECK(dev.iovecs == 600 * 8, "each of the 4 page-crossing buffers took 2 iovecs");
    CHECK(fx.g.live == 3, "nothing else stays mapped");
    gm_virtq_free(dev.vq);
    mod_fixture_fini(&fx);
}

/* Buffers on a copy-only page: the iovecs are copies, written back at unmap. */
static void test_mapped_copy_only_page(void)
{
    const layout l = {
        .out = { { 30 * PAGE + 0xff0, 0x20 }, { 30 * PAGE, 0x10 } },
        .in = { { 30 * PAGE + 0x100, 0x40 }, { 32 * PAGE - 0x10, 0x20 } },
    };
    mod_fixture fx;
    device dev;
    vdrv d;

    mod_fixture_init(&fx);
    vdrv_init(&d, fx.as, QSIZE, DESC, AVAIL, USED, true, 0);
    device_init(&dev, fx.as, &d);
    run_workload(&d, &dev, &l, 8);
    gm_virtq_free(dev.vq);
    mod_fixture_fini(&fx);
}

static void test_mapped_readonly_grant(void)
{
    vbuf out = { 31 * PAGE, 16 }, in = { 31 * PAGE + 16, 16 };
    mod_fixture fx;
    device dev;
    vdrv d;

    mod_fixture_init(&fx);
    vdrv_init(&d, fx.as, QSIZE, DESC, AVAIL, USED, true, 0);
    device_init(&dev, fx.as, &d);
    vdrv_add(&d, &out, 1, &in, 1);
    CHECK(gm_virtq_pop(dev.vq, &dev.elem) == 1, "pop");
    CHECK(gm_virtq_iov_map(dev.vq, &dev.elem, &dev.v) == 0,
          "a read-only grant is copied (the copy op writes it)");
    CHECK(dev.v.in_cnt == 1 && dev.v.out_cnt == 1, "one each");
    memset(dev.iov[1].iov_base, 0x42, 16);
    CHECK(gm_virtq_iov_unmap(dev.vq, &dev.elem, &dev.v, 16) == 0, "unmap writes back");
    CHECK(fx.g.mem[31 * PAGE + 16] == 0x42, "through the copy op");
    gm_virtq_free(dev.vq);
    mod_fixture_fini(&fx);
}

int main(void)
{
    RUN(test_iommu_workload);
    RUN(test_iommu_remap_needs_refresh);
    RUN(test_iommu_faults);
    RUN(test_mapped_workload);
    RUN(test_mapped_copy_only_page);
    RUN(test_mapped_readonly_grant);
    return 0;
}
