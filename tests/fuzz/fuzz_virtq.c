/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a hostile driver against split and packed virtqueues, with the
 * rings and buffers in every kind of memory a backend meets.
 *
 * Guest memory, built for each input:
 *   [0, 64 KiB)            RAM (a memfd): the fuzzer's bytes (rings, tables, data)
 *   [64 KiB, 68 KiB)       I/O: gm_as_map() has to bounce it
 *   [128 KiB, 192 KiB)     map-on-demand: one page per mapping, page 3 never
 *                          mapped (copy only); starts as a copy of RAM
 *   IOMMU_BASE + 1 MiB     IOMMU: 16 IOVA pages, each translated by the input
 *                          to a page of RAM, I/O, map-on-demand, grants, the
 *                          IOMMU itself (nesting) or a hole, with permissions
 *   1 << 63 + 64 KiB       grant region: 16 grant references of an emulated
 *                          grant table over the RAM memfd, through the mapping
 *                          cache; the input grants frames (read-only, to
 *                          another domain, or not at all)
 *
 * Input: a header (queue size, features and limits, where each ring lives,
 * the starting index, mapping-cache parameters), 16 IOMMU entries, 16 grant
 * entries, up to 15 six-byte actions replayed between pops as a concurrently
 * running driver and granter would (ring stores, SET_VRING_BASE, refresh,
 * notification toggles, IOMMU remaps with invalidation, revocations, raw
 * grant-entry rewrites, mapping-cache invalidations), then the RAM image.
 *
 * The device loop pops until the queue is empty or broken (bounded), maps
 * and unmaps every element, copies through it, pushes it and asks about
 * notifications. Checked: no sanitizer report; every element pop returned
 * satisfies the documented invariants (segments ordered, lengths summed,
 * nothing wraps 2^64); after the queue is freed no map-on-demand mapping,
 * bounce buffer or grant mapping is left (mapping-cache counters balance
 * and no grant is still marked GTF_reading/GTF_writing). GM_FUZZ_VERBOSE=1
 * prints how many elements were popped and the queue's error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <guestmem/guestmem.h>
#include <guestmem/virtq.h>

#define RAM_SIZE 0x10000u
#define IO_BASE 0x10000u
#define IO_SIZE 0x1000u
#define MOD_BASE 0x20000u
#define MOD_SIZE 0x10000u
#define IOMMU_BASE 0x100000000ull
#define IOMMU_SIZE 0x100000u
#define GRANT_BASE GM_GRANT_DMA_BASE
#define PAGE 0x1000u
#define NPAGES 16u
#define NREFS 16u
#define BACKEND_DOMID 1
#define GUEST_DOMID 2
#define HDR 14u
#define TABLES (2 * NPAGES + 2 * NREFS)
#define ACTION 6u
#define MAX_ACTIONS 15u
#define GNTTAB_ENTRIES 64u   /* bytes of the table memfd's header */

#define FUZZ_ASSERT(c) ((c) ? (void)0 : abort())

typedef struct world {
    gm_system *sys;
    gm_region *root, *ram, *io, *mod, *iommu, *grants;
    gm_as *as;
    int ram_fd;
    uint8_t *mem;
    uint8_t io_mem[IO_SIZE];
    uint8_t mod_mem[MOD_SIZE];
    int mod_live;
    uint8_t iommu_map[NPAGES][2];  /* per IOVA page: flags, target page */
    gm_gnttab_emu *gt;
    gm_grant_provider provider;
    gm_grant_entry_v1 *gnt;        /* the table's entries, as the granter sees them */
    size_t gnt_len;
    gm_mapcache *mc;
} world;

static void quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

/* ---- I/O and map-on-demand regions ----------------------------------- */

static uint64_t io_read(void *opaque, gm_addr addr, unsigned int size)
{
    uint64_t v = 0;

    memcpy(&v, (uint8_t *)opaque + addr, size);
    return v;
}

static void io_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    memcpy((uint8_t *)opaque + addr, &data, size);
}

static const gm_region_ops io_ops = {
    .read = io_read,
    .write = io_write,
    .endianness = GM_ENDIAN_LITTLE,
    .impl = { .min_access_size = 1, .max_access_size = 8, .unaligned = true },
};

static void *mod_map(void *opaque, gm_addr offset, uint64_t *len, bool is_write,
                     gm_attrs attrs, void **handle)
{
    world *w = opaque;

    (void)is_write;
    (void)attrs;
    if (offset >= MOD_SIZE || offset / PAGE == 3)
        return NULL;
    if (*len > PAGE - offset % PAGE)
        *len = PAGE - offset % PAGE;
    *handle = w;
    w->mod_live++;
    return w->mod_mem + offset;
}

static void mod_unmap(void *opaque, void *handle, void *host, uint64_t len, bool is_write,
                      uint64_t access_len)
{
    world *w = opaque;

    (void)is_write;
    FUZZ_ASSERT(handle == w && host && len && access_len <= len);
    w->mod_live--;
}

static gm_result mod_copy(void *opaque, gm_addr offset, void *buf, uint64_t len, bool is_write,
                          gm_attrs attrs)
{
    world *w = opaque;

    (void)attrs;
    if (offset >= MOD_SIZE || len > MOD_SIZE - offset)
        return GM_ACCESS_ERROR;
    if (is_write)
        memcpy(w->mod_mem + offset, buf, len);
    else
        memcpy(buf, w->mod_mem + offset, len);
    return GM_OK;
}

static const gm_mod_ops mod_ops = { .map = mod_map, .unmap = mod_unmap, .copy = mod_copy };

/* ---- the IOMMU: a 16-entry page table the input writes ----------------- */

static gm_addr iommu_target_base(uint8_t kind)
{
    static const gm_addr base[8] = { 0, IO_BASE, MOD_BASE, GRANT_BASE, IOMMU_BASE,
                                     0x80000000ull, 0, MOD_BASE };

    return base[kind & 7];
}

static gm_iotlb_entry iommu_translate(void *opaque, gm_addr addr, enum gm_iommu_perm flag,
                                      int iommu_idx)
{
    world *w = opaque;
    unsigned int page = (unsigned int)(addr / PAGE);
    gm_iotlb_entry e = { 0 };

    (void)flag;
    (void)iommu_idx;
    if (page >= NPAGES)
        return e;
    e.target_as = w->as;
    e.iova = addr & ~(gm_addr)(PAGE - 1);
    e.addr_mask = PAGE - 1;
    e.translated_addr = iommu_target_base(w->iommu_map[page][0] >> 2) +
                        (gm_addr)(w->iommu_map[page][1] % NPAGES) * PAGE;
    e.perm = (enum gm_iommu_perm)(w->iommu_map[page][0] & 3);
    return e;
}

static const gm_iommu_ops iommu_ops = { .translate = iommu_translate };

/* Remap one IOVA page, telling the core as the IOMMU's owner must. */
static void iommu_remap(world *w, unsigned int page, uint8_t flags, uint8_t target)
{
    gm_iotlb_entry e = { .iova = (gm_addr)page * PAGE, .addr_mask = PAGE - 1 };

    w->iommu_map[page][0] = flags;
    w->iommu_map[page][1] = target;
    FUZZ_ASSERT(gm_iommu_notify(w->iommu, 0, GM_IOMMU_UNMAP, &e) == 0);
}

/* ---- grants ------------------------------------------------------------ */

static void grant_init(world *w, const uint8_t *g)
{
    for (gm_grant_ref ref = 0; ref < NREFS; ref++) {
        uint8_t a = g[2 * ref], frame = g[2 * ref + 1];

        if (a & 1)
            gm_gnttab_emu_grant(w->gt, ref, (a & 2) ? GUEST_DOMID + 1 : BACKEND_DOMID,
                                frame % NPAGES, a & 4);
    }
}

/* A hostile granter's raw store into an entry; the in-use flags, which only
 * the backend sets, are kept so the end-of-run check stays meaningful. */
static void grant_poke(world *w, gm_grant_ref ref, uint16_t val, unsigned int field)
{
    gm_grant_entry_v1 *e = &w->gnt[ref % NREFS];
    uint16_t busy;

    switch (field % 3) {
    case 0:
        busy = __atomic_load_n(&e->flags, __ATOMIC_RELAXED) &
               (GM_GTF_READING | GM_GTF_WRITING);
        __atomic_store_n(&e->flags,
                         (uint16_t)((val & ~(GM_GTF_READING | GM_GTF_WRITING)) | busy),
                         __ATOMIC_RELEASE);
        break;
    case 1:
        __atomic_store_n(&e->domid, val, __ATOMIC_RELAXED);
        break;
    default:
        __atomic_store_n(&e->frame, val, __ATOMIC_RELAXED);
        break;
    }
}

/* ---- the world --------------------------------------------------------- */

static void add(world *w, gm_addr addr, gm_region *mr)
{
    FUZZ_ASSERT(mr && gm_region_add_subregion(w->root, addr, mr) == 0);
}

static void world_grants(world *w, uint8_t cfg)
{
    gm_mapcache_config mc_cfg = {
        .budget_bytes = (cfg & 0x80) ? 2 * PAGE : 0,
        .batch_pages = 1u << (cfg % 7),
        .deferred_unmap = cfg & 0x40,
    };

    w->gt = gm_gnttab_emu_create(NREFS, w->ram_fd, RAM_SIZE, BACKEND_DOMID);
    FUZZ_ASSERT(w->gt);
    w->gnt_len = GNTTAB_ENTRIES + NREFS * (sizeof(gm_grant_entry_v1) + sizeof(uint32_t));
    w->gnt = mmap(NULL, w->gnt_len, PROT_READ | PROT_WRITE, MAP_SHARED,
                  gm_gnttab_emu_fd(w->gt), 0);
    FUZZ_ASSERT(w->gnt != MAP_FAILED);
    w->gnt = (gm_grant_entry_v1 *)((uint8_t *)w->gnt + GNTTAB_ENTRIES);
    w->provider = gm_gnttab_emu_provider(w->gt);
    w->mc = gm_mapcache_new(&mc_cfg);
    FUZZ_ASSERT(w->mc);
    w->grants = gm_grant_region_new(w->mc, w->sys, "grants", &w->provider, GUEST_DOMID, NREFS);
}

static void world_init(world *w, uint8_t mc_cfg)
{
    w->ram_fd = memfd_create("fuzz-virtq-ram", MFD_CLOEXEC);
    FUZZ_ASSERT(w->ram_fd >= 0 && ftruncate(w->ram_fd, RAM_SIZE) == 0);
    w->sys = gm_system_new(0);
    FUZZ_ASSERT(w->sys);
    gm_system_set_log(w->sys, quiet, NULL, false);
    w->root = gm_region_new_container(w->sys, "root", GM_SIZE_2_64);
    FUZZ_ASSERT(w->root);
    w->ram = gm_region_new_ram_from_fd(w->sys, "ram", RAM_SIZE, w->ram_fd, 0, true);
    w->io = gm_region_new_io(w->sys, "io", IO_SIZE, &io_ops, w->io_mem);
    w->mod = gm_region_new_mapped(w->sys, "mod", MOD_SIZE, &mod_ops, w);
    w->iommu = gm_region_new_iommu(w->sys, "iommu", IOMMU_SIZE, &iommu_ops, w);
    world_grants(w, mc_cfg);
    add(w, 0, w->ram);
    add(w, IO_BASE, w->io);
    add(w, MOD_BASE, w->mod);
    add(w, IOMMU_BASE, w->iommu);
    add(w, GRANT_BASE, w->grants);
    w->as = gm_as_new(w->sys, w->root, "memory");
    w->mem = gm_region_get_ram_ptr(w->ram);
    FUZZ_ASSERT(w->as && w->mem);
}

/* Nothing the backend mapped may outlive the queue. */
static void world_check_released(world *w)
{
    gm_mapcache_stats st;

    FUZZ_ASSERT(w->mod_live == 0);
    FUZZ_ASSERT(gm_as_bounce_in_use(w->as) == 0);
    gm_mapcache_flush(w->mc);
    gm_mapcache_get_stats(w->mc, &st);
    FUZZ_ASSERT(st.entries == 0 && st.bytes_mapped == 0 && st.maps == st.unmaps);
    for (gm_grant_ref ref = 0; ref < NREFS; ref++) {
        gm_grant_entry_v1 e;

        FUZZ_ASSERT(gm_gnttab_emu_entry(w->gt, ref, &e) == 0);
        FUZZ_ASSERT(!(e.flags & (GM_GTF_READING | GM_GTF_WRITING)));
    }
}

static void world_fini(world *w)
{
    gm_as_free(w->as);
    gm_region_unref(w->ram);
    gm_region_unref(w->io);
    gm_region_unref(w->mod);
    gm_region_unref(w->iommu);
    gm_region_unref(w->grants);
    gm_region_unref(w->root);
    gm_system_free(w->sys);
    gm_mapcache_free(w->mc);
    munmap((uint8_t *)w->gnt - GNTTAB_ENTRIES, w->gnt_len);
    gm_gnttab_emu_free(w->gt);
    close(w->ram_fd);
}

/* ---- the queue ------------------------------------------------------------ */

static uint16_t le16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Ring address from the header: an offset in RAM, the map-on-demand
 * region, the IOMMU's IOVA space or the grant region. */
static gm_addr ring_addr(const uint8_t *p, unsigned int where, uint16_t align)
{
    static const gm_addr base[4] = { 0, MOD_BASE, IOMMU_BASE, GRANT_BASE };

    return base[where & 3] + (le16_at(p) & ~(gm_addr)(align - 1));
}

/* Header byte 1, bit 5: the packed layout (avail/used are then the 4-byte
 * event areas, and any queue size is allowed: bits 6-7 add 0-3). */
static gm_virtq_config parse_config(const uint8_t *h)
{
    bool packed = h[1] & 32;

    return (gm_virtq_config){
        .size = (1u << (h[0] % 16)) + (packed ? (h[1] >> 6) : 0),
        .desc_addr = ring_addr(h + 2, h[8], 16),
        .avail_addr = ring_addr(h + 4, h[8] >> 2, packed ? 4 : 2),
        .used_addr = ring_addr(h + 6, h[8] >> 4, 4),
        .features = GM_VIRTIO_F_VERSION_1 | ((h[1] & 1) ? GM_VIRTIO_F_INDIRECT_DESC : 0) |
                    ((h[1] & 2) ? GM_VIRTIO_F_EVENT_IDX : 0) |
                    (packed ? GM_VIRTIO_F_RING_PACKED : 0),
        .max_chain_bytes = (h[1] & 4) ? 4096 : 0,
    };
}

/* What pop promises about an element it returns. */
static void check_elem(const gm_virtq_elem *e, const gm_virtq_config *cfg)
{
    uint64_t out = 0, in = 0, max = cfg->max_chain_bytes ? cfg->max_chain_bytes
                                                         : GM_VIRTQ_DEFAULT_MAX_CHAIN_BYTES;

    FUZZ_ASSERT(e->head < cfg->size && e->out_num + e->in_num <= e->seg_max);
    for (unsigned int i = 0; i < e->out_num + e->in_num; i++) {
        const gm_virtq_seg *s = &e->seg[i];

        FUZZ_ASSERT(!s->len || s->addr <= UINT64_MAX - (s->len - 1));
        if (i < e->out_num)
            out += s->len;
        else
            in += s->len;
    }
    FUZZ_ASSERT(out == e->out_len && in == e->in_len && out + in <= max);
}

/* Touch every iovec like a backend would, then unmap. */
static void exercise_iov(gm_virtq *vq, gm_virtq_elem *e, gm_virtq_iov *v)
{
    volatile uint8_t sink = 0;
    uint64_t in_bytes = 0;

    if (gm_virtq_iov_map(vq, e, v) != 0) {
        FUZZ_ASSERT(v->out_cnt == 0 && v->in_cnt == 0);
        return;
    }
    for (unsigned int k = 0; k < v->out_cnt + v->in_cnt; k++) {
        uint8_t *p = v->iov[k].iov_base;

        FUZZ_ASSERT(p && v->iov[k].iov_len);
        if (k < v->out_cnt) {
            sink ^= p[0] ^ p[v->iov[k].iov_len - 1];
        } else {
            memset(p, 0x5a, v->iov[k].iov_len);
            in_bytes += v->iov[k].iov_len;
        }
    }
    (void)sink;
    FUZZ_ASSERT(in_bytes == e->in_len);
    gm_virtq_iov_unmap(vq, e, v, in_bytes / 2 + 1);
}

static void exercise_elem(gm_virtq *vq, gm_virtq_elem *e, gm_virtq_iov *v)
{
    uint8_t buf[16];
    int64_t n;

    exercise_iov(vq, e, v);
    n = gm_virtq_elem_read(vq, e, 1, buf, sizeof(buf));
    FUZZ_ASSERT(n == -EFAULT || (n >= 0 && n <= (int64_t)sizeof(buf)));
    n = gm_virtq_elem_write(vq, e, e->in_len ? e->in_len - 1 : 0, buf, 1);
    FUZZ_ASSERT(n == -EFAULT || n == (e->in_len ? 1 : 0));
    gm_virtq_push_elem(vq, e, e->in_len / 3);
    gm_virtq_should_notify(vq);
}

/* What a driver, a granter or an IOMMU owner does meanwhile. */
static void apply_action(world *w, gm_virtq *vq, const uint8_t *a)
{
    uint16_t off = le16_at(a + 2), val = le16_at(a + 4);

    switch (a[1] % 12) {
    case 0:
    case 1:
        if (off < RAM_SIZE - 1)
            memcpy(w->mem + off, a + 4, 2);
        break;
    case 2:
        gm_virtq_set_last_avail_idx(vq, val);
        break;
    case 3:
        gm_virtq_refresh(vq);
        break;
    case 4:
        gm_virtq_enable_notification(vq);
        break;
    case 5:
        gm_virtq_disable_notification(vq);
        break;
    case 6:
        iommu_remap(w, off % NPAGES, a[4], a[5]);
        break;
    case 7:
        gm_gnttab_emu_end_access(w->gt, off % NREFS);
        break;
    case 8:
        gm_gnttab_emu_grant(w->gt, off % NREFS, (a[4] & 1) ? GUEST_DOMID + 1 : BACKEND_DOMID,
                            a[5] % NPAGES, a[4] & 2);
        break;
    case 9:
        grant_poke(w, off % NREFS, val, off / NREFS);
        break;
    case 10:
        gm_mapcache_invalidate(w->mc, w->grants, (gm_addr)(off % NREFS) * PAGE,
                               (gm_addr)(1 + val % NREFS) * PAGE);
        break;
    default:
        gm_virtq_has_work(vq);
        break;
    }
}

static void run_device(world *w, gm_virtq *vq, const gm_virtq_config *cfg, const uint8_t *h,
                       const uint8_t *actions, unsigned int n_actions)
{
    gm_virtq_seg seg[64];
    struct iovec iov[64];
    gm_virtq_elem e = { .seg = seg, .seg_max = (h[1] & 8) ? 8 : 64 };
    gm_virtq_iov v = { .iov = iov, .max = (h[1] & 16) ? 4 : 64 };
    unsigned int next_action = 0, bound = 4 * (cfg->size < 256 ? cfg->size : 256) + 16;
    unsigned int popped = 0;

    for (unsigned int i = 0; i < bound; i++) {
        while (next_action < n_actions && actions[next_action * ACTION] % 32 <= i)
            apply_action(w, vq, actions + ACTION * next_action++);
        if (gm_virtq_pop(vq, &e) != 1)
            break;
        check_elem(&e, cfg);
        exercise_elem(vq, &e, &v);
        popped++;
    }
    FUZZ_ASSERT(!gm_virtq_is_broken(vq) || gm_virtq_pop(vq, &e) == -EIO);
    if (getenv("GM_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_virtq: %u elements, queue error %d\n", popped, gm_virtq_error(vq));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *actions = data + HDR + TABLES;
    unsigned int n_actions;
    gm_virtq_config cfg;
    gm_virtq *vq;
    size_t image;
    world *w;

    if (size < HDR + TABLES)
        return 0;
    n_actions = data[11] % (MAX_ACTIONS + 1);
    if (size < HDR + TABLES + ACTION * n_actions)
        n_actions = (unsigned int)((size - HDR - TABLES) / ACTION);
    w = calloc(1, sizeof(*w));
    FUZZ_ASSERT(w);
    world_init(w, data[12]);
    memcpy(w->iommu_map, data + HDR, sizeof(w->iommu_map));
    grant_init(w, data + HDR + 2 * NPAGES);
    image = size - HDR - TABLES - ACTION * n_actions;
    memcpy(w->mem, actions + ACTION * n_actions, image < RAM_SIZE ? image : RAM_SIZE);
    memcpy(w->mod_mem, w->mem, MOD_SIZE);
    memset(w->io_mem, 0xa5, IO_SIZE);
    cfg = parse_config(data);
    if (gm_virtq_new(w->as, &cfg, &vq) == 0) {
        gm_virtq_set_log(vq, quiet, NULL);
        gm_virtq_set_last_avail_idx(vq, le16_at(data + 9));
        run_device(w, vq, &cfg, data, actions, n_actions);
        gm_virtq_free(vq);
    }
    world_check_released(w);
    world_fini(w);
    free(w);
    return 0;
}
