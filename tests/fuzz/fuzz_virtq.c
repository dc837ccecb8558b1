/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a hostile driver against the split virtqueue.
 *
 * Build (from the source root, after an ASan/UBSan build of the library):
 *
 *   CC=clang meson setup build-virtio-asan -Dtests=false \
 *       -Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-virtio-asan
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *       -Iinclude -Isrc tests/fuzz/fuzz_virtq.c src/virtio/virtq*.c \
 *       build-virtio-asan/src/libguestmem.a $(pkg-config --libs liburcu-bp) -lpthread \
 *       -o build-virtio-asan/fuzz_virtq
 *   build-virtio-asan/fuzz_virtq -max_total_time=60 -max_len=70000
 *
 * Guest memory, built once:
 *   [0, 64 KiB)                 RAM: the fuzzer's bytes (rings, tables, data)
 *   [64 KiB, 68 KiB)            I/O: gm_as_map() has to bounce it
 *   [128 KiB, 192 KiB)          map-on-demand: one page per mapping, page 3
 *                               never mapped (copy only); same bytes as RAM
 *   everything else             unassigned
 *
 * Input: a 12-byte header (queue size, features and limits, where each
 * ring lives, the starting index), up to 15 six-byte actions replayed
 * between pops as a concurrently running driver would (stores into the
 * ring, SET_VRING_BASE, refresh, notification toggles), then the RAM image.
 *
 * The device loop pops until the queue is empty or broken (bounded), maps
 * and unmaps every element, copies through it, pushes it and asks about
 * notifications. Checked: no sanitizer report, no leaked mapping or bounce
 * buffer, and every element pop returned satisfies the documented
 * invariants (segments ordered, lengths summed, nothing wraps 2^64).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <guestmem/guestmem.h>
#include <guestmem/virtq.h>

#define RAM_SIZE 0x10000u
#define IO_BASE 0x10000u
#define IO_SIZE 0x1000u
#define MOD_BASE 0x20000u
#define MOD_SIZE 0x10000u
#define PAGE 0x1000u
#define HDR 12u
#define ACTION 6u
#define MAX_ACTIONS 15u

#define FUZZ_ASSERT(c) ((c) ? (void)0 : abort())

typedef struct world {
    gm_system *sys;
    gm_region *root, *ram, *io, *mod;
    gm_as *as;
    uint8_t *mem;
    uint8_t io_mem[IO_SIZE];
    uint8_t mod_mem[MOD_SIZE];
    int mod_live;
} world;

static world w;

static void quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

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
    (void)opaque;
    (void)is_write;
    (void)attrs;
    if (offset >= MOD_SIZE || offset / PAGE == 3)
        return NULL;
    if (*len > PAGE - offset % PAGE)
        *len = PAGE - offset % PAGE;
    *handle = &w;
    w.mod_live++;
    return w.mod_mem + offset;
}

static void mod_unmap(void *opaque, void *handle, void *host, uint64_t len, bool is_write,
                      uint64_t access_len)
{
    (void)opaque;
    (void)is_write;
    FUZZ_ASSERT(handle == &w && host && len && access_len <= len);
    w.mod_live--;
}

static gm_result mod_copy(void *opaque, gm_addr offset, void *buf, uint64_t len, bool is_write,
                          gm_attrs attrs)
{
    (void)opaque;
    (void)attrs;
    if (offset >= MOD_SIZE || len > MOD_SIZE - offset)
        return GM_ACCESS_ERROR;
    if (is_write)
        memcpy(w.mod_mem + offset, buf, len);
    else
        memcpy(buf, w.mod_mem + offset, len);
    return GM_OK;
}

static const gm_mod_ops mod_ops = { .map = mod_map, .unmap = mod_unmap, .copy = mod_copy };

static void world_init(void)
{
    w.sys = gm_system_new(0);
    gm_system_set_log(w.sys, quiet, NULL, false);
    w.root = gm_region_new_container(w.sys, "root", GM_SIZE_2_64);
    w.ram = gm_region_new_ram(w.sys, "ram", RAM_SIZE);
    w.io = gm_region_new_io(w.sys, "io", IO_SIZE, &io_ops, w.io_mem);
    w.mod = gm_region_new_mapped(w.sys, "grants", MOD_SIZE, &mod_ops, NULL);
    FUZZ_ASSERT(w.root && w.ram && w.io && w.mod);
    FUZZ_ASSERT(gm_region_add_subregion(w.root, 0, w.ram) == 0);
    FUZZ_ASSERT(gm_region_add_subregion(w.root, IO_BASE, w.io) == 0);
    FUZZ_ASSERT(gm_region_add_subregion(w.root, MOD_BASE, w.mod) == 0);
    w.as = gm_as_new(w.sys, w.root, "memory");
    w.mem = gm_region_get_ram_ptr(w.ram);
    FUZZ_ASSERT(w.as && w.mem);
}

static uint16_t le16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Ring address from the header: an offset in RAM or in the grant region. */
static gm_addr ring_addr(const uint8_t *p, bool in_mod, uint16_t align)
{
    gm_addr off = le16_at(p) & ~(gm_addr)(align - 1);

    return in_mod ? MOD_BASE + off : off;
}

static gm_virtq_config parse_config(const uint8_t *h)
{
    return (gm_virtq_config){
        .size = 1u << (h[0] % 16),
        .desc_addr = ring_addr(h + 2, h[8] & 1, 16),
        .avail_addr = ring_addr(h + 4, h[8] & 2, 2),
        .used_addr = ring_addr(h + 6, h[8] & 4, 4),
        .features = GM_VIRTIO_F_VERSION_1 | ((h[1] & 1) ? GM_VIRTIO_F_INDIRECT_DESC : 0) |
                    ((h[1] & 2) ? GM_VIRTIO_F_EVENT_IDX : 0),
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

        FUZZ_ASSERT(p || !v->iov[k].iov_len);
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

static void apply_action(gm_virtq *vq, const uint8_t *a)
{
    uint16_t off = le16_at(a + 2), val = le16_at(a + 4);

    switch (a[1] % 7) {
    case 0:
    case 1:
        if (off < RAM_SIZE - 1)
            memcpy(w.mem + off, a + 4, 2);
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
    default:
        gm_virtq_has_work(vq);
        break;
    }
}

static void run_device(gm_virtq *vq, const gm_virtq_config *cfg, const uint8_t *h,
                       const uint8_t *actions, unsigned int n_actions)
{
    static gm_virtq_seg seg[64];
    static struct iovec iov[64];
    gm_virtq_elem e = { .seg = seg, .seg_max = (h[1] & 8) ? 8 : 64 };
    gm_virtq_iov v = { .iov = iov, .max = (h[1] & 16) ? 4 : 64 };
    unsigned int next_action = 0, bound = 4 * (cfg->size < 256 ? cfg->size : 256) + 16;

    for (unsigned int i = 0; i < bound; i++) {
        while (next_action < n_actions && actions[next_action * ACTION] % 32 <= i)
            apply_action(vq, actions + ACTION * next_action++);
        if (gm_virtq_pop(vq, &e) != 1)
            break;
        check_elem(&e, cfg);
        exercise_elem(vq, &e, &v);
    }
    FUZZ_ASSERT(!gm_virtq_is_broken(vq) || gm_virtq_pop(vq, &e) == -EIO);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned int n_actions;
    gm_virtq_config cfg;
    gm_virtq *vq;
    size_t image;

    if (!w.sys)
        world_init();
    if (size < HDR)
        return 0;
    n_actions = data[11] % (MAX_ACTIONS + 1);
    if (size < HDR + ACTION * n_actions)
        n_actions = (unsigned int)((size - HDR) / ACTION);
    image = size - HDR - ACTION * n_actions;
    image = image < RAM_SIZE ? image : RAM_SIZE;
    memset(w.mem, 0, RAM_SIZE);
    memcpy(w.mem, data + HDR + ACTION * n_actions, image);
    memcpy(w.mod_mem, w.mem, MOD_SIZE);
    memset(w.io_mem, 0xa5, IO_SIZE);
    cfg = parse_config(data);
    if (gm_virtq_new(w.as, &cfg, &vq) == 0) {
        gm_virtq_set_log(vq, quiet, NULL);
        gm_virtq_set_last_avail_idx(vq, le16_at(data + 9));
        run_device(vq, &cfg, data, data + HDR, n_actions);
        gm_virtq_free(vq);
    }
    FUZZ_ASSERT(w.mod_live == 0);
    FUZZ_ASSERT(gm_as_bounce_in_use(w.as) == 0);
    return 0;
}
