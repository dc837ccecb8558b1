/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: region trees and accesses, differential against the
 * reference model (tests/model/refmodel.c).
 *
 * The input is a program. Each operation (an opcode byte and its arguments)
 * is applied to a guestmem system and to the naive per-byte model that
 * test_model uses; every observable result is compared: data and gm_result
 * bits of every access flavour, lookups, flat-view sections, maps, caches,
 * what the device callbacks receive, region contents and getters. Any
 * difference prints the operation and the model's tree, then aborts.
 * test_model explores at random with a hand-tuned distribution; this target
 * lets coverage steer, and every failure replays from one file.
 *
 * World: NSLOTS region slots. Slot 0 is the root of address space "sys" (a
 * 2^64 container, or a 2^64 I/O region), slot 1 the root of "dev" (a
 * container of at most 64 KiB). Operations create regions of every kind in
 * the other slots, wire them together, change them (alone or in nested
 * transactions) and access memory. Addresses are mostly below 1 MiB, next
 * to a region boundary of the model, or just below 2^64.
 *
 * test_model's rules keep the comparison meaningful: an alias is never added
 * where it could show itself (the model would recurse forever), roots are
 * never subregions, read-only is set only on aliases and containers, romd
 * mode changes only outside transactions, regions are dropped only outside
 * transactions, and I/O callbacks treat every byte alone (valid.unaligned
 * and impl.unaligned), so results do not depend on how the core splits an
 * access. Callbacks check the sizes the core is allowed to use.
 *
 * Input layout: byte 0 picks the roots, then operations until the input
 * ends (a truncated argument reads as zeros).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <guestmem/guestmem.h>

#include "ldst_helpers.h"
#include "refmodel.h"

#define NSLOTS 16
#define SLOT_SYS 0
#define SLOT_DEV 1
#define MAX_LEN 256u
#define MAX_FILL 1024u
#define IO_CAP 0x1000u
#define MAX_POINTS 4096
#define MAX_SECTIONS 4096

/* Device state behind the callbacks of an I/O or ROM-device region. */
typedef struct dev {
    gm_region_ops ops;
    enum rm_kind kind;
    enum rm_io_flavor flavor;
    uint32_t id;
    uint8_t *mem;       /* RM_IO: device memory; RM_ROMD: the region's RAM */
    uint64_t cap;
    uint64_t reg_writes;
    bool big_endian;
    unsigned int impl_max;
    struct fz *f;
} dev;

typedef struct slot {
    gm_region *mr;
    dev *d;
    void *host;         /* caller-owned memory (RAM over a pointer, RAM device) */
    int memfd;
    char name[24];
} slot;

typedef struct fz {
    const uint8_t *in;
    size_t left;
    uint64_t rng;
    gm_system *sys;
    gm_as *as[2];
    struct rm_model *m;
    slot s[NSLOTS];
    const char *names[RM_MAX_REGIONS];
    int depth;
    uint32_t next_id;
    unsigned int opno;
    char op[200];
    void **graves;      /* freed after gm_system_free(): regions may use them until then */
    size_t ngraves, capgraves;
    uint64_t points[MAX_POINTS];
    gm_section secs[MAX_SECTIONS];
    rm_u128 ends[MAX_SECTIONS];
    size_t nsecs;
} fz;

/* ---- failures ---------------------------------------------------------- */

static void fail(fz *f, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void fail(fz *f, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\nfuzz_model: operation %u: %s\n", f->opno, f->op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    rm_dump(f->m, stderr, f->names);
    abort();
}

static void opdesc(fz *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void opdesc(fz *f, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(f->op, sizeof(f->op), fmt, ap);
    va_end(ap);
}

static void must(fz *f, bool ok, const char *what)
{
    if (!ok)
        fail(f, "%s failed (errno %d)", what, errno);
}

static void bury(fz *f, void *p)
{
    if (!p)
        return;
    if (f->ngraves == f->capgraves) {
        f->capgraves = f->capgraves ? 2 * f->capgraves : 64;
        f->graves = realloc(f->graves, f->capgraves * sizeof(*f->graves));
        must(f, f->graves != NULL, "realloc");
    }
    f->graves[f->ngraves++] = p;
}

/* ---- input decoding ---------------------------------------------------- */

static uint8_t get8(fz *f)
{
    if (!f->left)
        return 0;
    f->left--;
    return *f->in++;
}

static uint16_t get16(fz *f)
{
    return (uint16_t)(get8(f) | get8(f) << 8);
}

static uint32_t get32(fz *f)
{
    return (uint32_t)get16(f) | (uint32_t)get16(f) << 16;
}

static uint64_t get64(fz *f)
{
    return (uint64_t)get32(f) | (uint64_t)get32(f) << 32;
}

/* Deterministic filler for data the input does not spell out. */
static uint64_t rnd(fz *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return f->rng;
}

static uint64_t rn(fz *f, uint64_t n)
{
    return n ? rnd(f) % n : 0;
}

static void rnd_fill(fz *f, uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)rnd(f);
}

static uint64_t api_size(rm_u128 size)
{
    return size == RM_2_64 ? GM_SIZE_2_64 : (uint64_t)size;
}

static rm_u128 model_size(uint64_t size)
{
    return size == GM_SIZE_2_64 ? RM_2_64 : size;
}

static int slot_arg(fz *f)
{
    return get8(f) % NSLOTS;
}

static bool exists(fz *f, int i)
{
    return f->m->cur[i].exists;
}

static enum rm_kind kind_of(fz *f, int i)
{
    return f->m->r[i].kind;
}

static bool is_root(int i)
{
    return i == SLOT_SYS || i == SLOT_DEV;
}

static int as_arg(fz *f)
{
    return get8(f) & 1;
}

/* A model boundary of @a (where the visible region may change), or 0. */
static uint64_t boundary(fz *f, int a, unsigned int k)
{
    int n = rm_boundaries(f->m, a == 0 ? SLOT_SYS : SLOT_DEV, f->points, MAX_POINTS);

    return n > 0 ? f->points[k % (unsigned int)n] : 0;
}

static uint64_t addr_arg(fz *f, int a)
{
    uint8_t mode = get8(f);
    uint16_t v = get16(f);

    switch (mode % 8) {
    case 0: case 1: return v;
    case 2: return (uint64_t)v << 4;
    case 3: case 4: return boundary(f, a, v) + (uint64_t)(int64_t)(int8_t)(mode & 0xf8) / 8;
    case 5: return UINT64_MAX - v;
    case 6: return v & ~0xfffull;
    default: return get64(f);
    }
}

static uint64_t len_arg(fz *f, unsigned int max)
{
    uint8_t b = get8(f);

    if (b < 0xc0)
        return 1 + b % 16;
    return 1 + get16(f) % max;
}

static rm_u128 size_arg(fz *f)
{
    uint8_t mode = get8(f);
    uint16_t v = get16(f);

    switch (mode % 8) {
    case 0: return 1 + v % 0x100;
    case 1: return 1 + (uint64_t)v;
    case 2: return (1 + (uint64_t)(v % 16)) << 12;
    case 3: return RM_2_64;
    case 4: return 0;
    case 5: return 1 + v % 16;
    default: return 1 + v % 0x2000;
    }
}

static int prio_arg(fz *f)
{
    static const int extreme[] = { INT_MIN, INT_MAX, INT_MIN + 1, INT_MAX - 1, -1, 1 };
    uint8_t b = get8(f);

    if (b < 0x40)
        return 0;
    if (b < 0xc0)
        return (int)(b % 5) - 2;
    if (b < 0xf0)
        return (int)(b % 41) - 20;
    return extreme[b % 6];
}

/* ---- device callbacks (same behaviour as test_model's) --------------------- */

static uint8_t dev_get(dev *d, uint64_t off)
{
    if (d->kind == RM_ROMD) {
        if (off >= d->cap)
            fail(d->f, "rom device %u read callback past its RAM: off 0x%" PRIx64, d->id, off);
        return (uint8_t)~d->mem[off];
    }
    if (d->flavor == RM_IO_REG || off >= d->cap)
        return rm_pattern(d->id, off);
    return d->mem[off];
}

static void dev_put(dev *d, uint64_t off, uint8_t b)
{
    if (d->kind == RM_ROMD) {
        if (off >= d->cap)
            fail(d->f, "rom device %u write callback past its RAM: off 0x%" PRIx64, d->id, off);
        d->mem[off] = b ^ 0x5a;
        return;
    }
    if (d->flavor == RM_IO_REG) {
        d->reg_writes++;
        return;
    }
    if (d->flavor == RM_IO_ERR && rm_err_off(d->id, off))
        return;
    if (off < d->cap)
        d->mem[off] = b;
}

static void dev_check(dev *d, gm_addr addr, unsigned int size, const char *what)
{
    unsigned int max = d->impl_max ? d->impl_max : 4;

    if (size != 1 && size != 2 && size != 4 && size != 8)
        fail(d->f, "%s callback of device %u: size %u", what, d->id, size);
    if (size > max)
        fail(d->f, "%s callback of device %u: size %u > impl.max_access_size %u", what, d->id,
             size, max);
    if (addr + (size - 1) < addr)
        fail(d->f, "%s callback of device %u: addr 0x%" PRIx64 " size %u wraps", what, d->id,
             addr, size);
}

static uint64_t dev_load(dev *d, gm_addr addr, unsigned int size)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < size; i++) {
        uint64_t b = dev_get(d, addr + i);

        v = d->big_endian ? v << 8 | b : v | b << (8 * i);
    }
    return v;
}

static void dev_store(dev *d, gm_addr addr, uint64_t data, unsigned int size)
{
    for (unsigned int i = 0; i < size; i++)
        dev_put(d, addr + i, (uint8_t)(data >> (d->big_endian ? 8 * (size - 1 - i) : 8 * i)));
}

static bool dev_piece_err(dev *d, gm_addr addr, unsigned int size)
{
    if (d->kind != RM_IO || d->flavor != RM_IO_ERR)
        return false;
    for (unsigned int i = 0; i < size; i++) {
        if (rm_err_off(d->id, addr + i))
            return true;
    }
    return false;
}

static uint64_t cb_read(void *opaque, gm_addr addr, unsigned int size)
{
    dev_check(opaque, addr, size, "read");
    return dev_load(opaque, addr, size);
}

static void cb_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    dev_check(opaque, addr, size, "write");
    dev_store(opaque, addr, data, size);
}

static gm_result cb_read_attrs(void *opaque, gm_addr addr, uint64_t *data, unsigned int size,
                               gm_attrs attrs)
{
    (void)attrs;
    dev_check(opaque, addr, size, "read_with_attrs");
    *data = dev_load(opaque, addr, size);
    return dev_piece_err(opaque, addr, size) ? GM_ERROR : GM_OK;
}

static gm_result cb_write_attrs(void *opaque, gm_addr addr, uint64_t data, unsigned int size,
                                gm_attrs attrs)
{
    (void)attrs;
    dev_check(opaque, addr, size, "write_with_attrs");
    dev_store(opaque, addr, data, size);
    return dev_piece_err(opaque, addr, size) ? GM_ERROR : GM_OK;
}

/* Callback configuration from one byte: endianness, valid and impl sizes. */
static dev *dev_new(fz *f, enum rm_kind kind, enum rm_io_flavor flavor, uint32_t id,
                    uint64_t cap, uint8_t cfg)
{
    static const unsigned int impl_max[] = { 0, 1, 2, 4, 8, 8, 4, 8 };
    dev *d = calloc(1, sizeof(*d));

    must(f, d != NULL, "calloc");
    *d = (dev){ .kind = kind, .flavor = flavor, .id = id, .cap = cap, .f = f };
    if (kind == RM_IO && flavor != RM_IO_REG) {
        d->mem = calloc(1, cap);
        must(f, d->mem != NULL, "calloc");
    }
    d->ops.endianness = (enum gm_endian)(cfg % 3);
    d->big_endian = d->ops.endianness == GM_ENDIAN_BIG;
    d->ops.valid.min_access_size = (cfg >> 2) & 1;
    d->ops.valid.max_access_size = (cfg & 8) ? 0 : 8;
    d->ops.valid.unaligned = true;
    d->ops.impl.min_access_size = (cfg >> 4) & 1;
    d->ops.impl.max_access_size = impl_max[cfg >> 5];
    d->ops.impl.unaligned = true;
    d->impl_max = d->ops.impl.max_access_size;
    if (flavor == RM_IO_ERR || (cfg & 2)) {
        d->ops.read_with_attrs = cb_read_attrs;
        d->ops.write_with_attrs = cb_write_attrs;
    } else {
        d->ops.read = cb_read;
        d->ops.write = cb_write;
    }
    return d;
}

/* ---- region creation --------------------------------------------------- */

/* RAM content: a pattern, so that a wrong offset reads a wrong byte. */
static void fill_ram(fz *f, int i, uint8_t *host)
{
    struct rm_region *r = &f->m->r[i];

    for (uint64_t k = 0; k < r->alloc; k++)
        r->bytes[k] = rm_pattern(r->id ^ 0x5a5a5a5au, k);
    memcpy(host, r->bytes, r->alloc);
}

static gm_region *create_ram(fz *f, int i, uint64_t size, uint32_t id, uint8_t how)
{
    slot *sl = &f->s[i];
    gm_region *mr;

    rm_new_region(f->m, i, RM_RAM, size, size, id);
    switch (how % 3) {
    case 0:
        sl->host = malloc(size);
        must(f, sl->host != NULL, "malloc");
        fill_ram(f, i, sl->host);
        return gm_region_new_ram_ptr(f->sys, sl->name, size, sl->host);
    case 1:
        sl->memfd = memfd_create("fuzz-model", MFD_CLOEXEC);
        must(f, sl->memfd >= 0 && ftruncate(sl->memfd, (off_t)size) == 0, "memfd");
        mr = gm_region_new_ram_from_fd(f->sys, sl->name, size, sl->memfd, 0, true);
        break;
    default:
        mr = gm_region_new_ram(f->sys, sl->name, size);
        break;
    }
    if (mr)
        fill_ram(f, i, gm_region_get_ram_ptr(mr));
    return mr;
}

static gm_region *create_alias(fz *f, int i, uint32_t id)
{
    int target = slot_arg(f);
    uint64_t off = get16(f);
    rm_u128 size = (get8(f) & 0x1f) ? 1 + (rm_u128)get16(f) : RM_2_64;

    if (!exists(f, target) || target == i)
        return NULL;
    rm_new_region(f->m, i, RM_ALIAS, size, 0, id);
    f->m->r[i].target = target;
    f->m->cur[i].alias_offset = off;
    return gm_region_new_alias(f->sys, f->s[i].name, f->s[target].mr, off, api_size(size));
}

static gm_region *create_device(fz *f, int i, enum rm_kind kind, rm_u128 size, uint32_t id,
                                uint8_t cfg)
{
    slot *sl = &f->s[i];
    enum rm_io_flavor flavor = kind == RM_IO ? (enum rm_io_flavor)(cfg % 3) : RM_IO_MEM;
    uint64_t cap = kind == RM_ROMD ? (uint64_t)size : (size < IO_CAP ? (uint64_t)size : IO_CAP);
    gm_region *mr;

    rm_new_region(f->m, i, kind, size, cap, id);
    f->m->r[i].flavor = flavor;
    sl->d = dev_new(f, kind, flavor, id, cap, cfg);
    if (kind == RM_ROMD) {
        mr = gm_region_new_rom_device(f->sys, sl->name, (uint64_t)size, &sl->d->ops, sl->d);
        if (mr) {
            sl->d->mem = gm_region_get_ram_ptr(mr);
            must(f, sl->d->mem != NULL, "rom device RAM");
            fill_ram(f, i, sl->d->mem);
        }
        return mr;
    }
    if (flavor != RM_IO_REG)
        fill_ram(f, i, sl->d->mem);
    return gm_region_new_io(f->sys, sl->name, api_size(size), &sl->d->ops, sl->d);
}

static rm_u128 ram_size(rm_u128 size)
{
    return size == 0 || size > 0x4000 ? 1 + (uint64_t)size % 0x4000 : size;
}

static gm_region *create_region(fz *f, int i, enum rm_kind kind, rm_u128 size, uint8_t how)
{
    static const char *const kname[] = {
        [RM_CONTAINER] = "cont", [RM_RAM] = "ram", [RM_ROM] = "rom", [RM_RAMD] = "ramd",
        [RM_ROMD] = "romd", [RM_IO] = "io", [RM_RESV] = "resv", [RM_ALIAS] = "alias",
    };
    uint32_t id = ++f->next_id;
    slot *sl = &f->s[i];
    gm_region *mr = NULL;

    *sl = (slot){ .memfd = -1 };
    snprintf(sl->name, sizeof(sl->name), "%s%d.%u", kname[kind], i, id);
    f->names[i] = sl->name;
    switch (kind) {
    case RM_CONTAINER:
        size = size ? size : 0x1000;
        rm_new_region(f->m, i, kind, size, 0, id);
        return gm_region_new_container(f->sys, sl->name, api_size(size));
    case RM_RAM:
        return create_ram(f, i, (uint64_t)ram_size(size), id, how);
    case RM_ROM:
        size = ram_size(size);
        rm_new_region(f->m, i, kind, size, (uint64_t)size, id);
        mr = gm_region_new_rom(f->sys, sl->name, (uint64_t)size);
        if (mr)
            fill_ram(f, i, gm_region_get_ram_ptr(mr));
        return mr;
    case RM_RAMD:
        size = ram_size(size);
        rm_new_region(f->m, i, kind, size, (uint64_t)size, id);
        sl->host = malloc((size_t)size);
        must(f, sl->host != NULL, "malloc");
        fill_ram(f, i, sl->host);
        return gm_region_new_ram_device_ptr(f->sys, sl->name, (uint64_t)size, sl->host);
    case RM_ROMD:
        return create_device(f, i, kind, ram_size(size), id, how);
    case RM_IO:
        return create_device(f, i, kind, size ? size : 0x100, id, how);
    case RM_RESV:
        size = size ? size : 0x100;
        rm_new_region(f->m, i, kind, size, 0, id);
        if (how & 1)
            return gm_region_new_reservation(f->sys, sl->name, api_size(size));
        return gm_region_new_io(f->sys, sl->name, api_size(size), NULL, NULL);
    default:
        return create_alias(f, i, id);
    }
}

/* Forget a slot; what the region may still use is freed with the system. */
static void slot_release(fz *f, int i)
{
    slot *sl = &f->s[i];

    if (sl->d) {
        if (sl->d->kind == RM_IO)
            bury(f, sl->d->mem);
        bury(f, sl->d);
    }
    bury(f, sl->host);
    if (sl->memfd >= 0)
        close(sl->memfd);
    *sl = (slot){ .memfd = -1 };
    f->names[i] = NULL;
}

static void model_commit(fz *f)
{
    if (f->depth == 0)
        rm_commit(f->m);
}

/* ---- comparisons ------------------------------------------------------- */

static const char *hit_str(fz *f, const struct rm_hit *h, char *buf, size_t len)
{
    if (h->leaf == RM_NONE)
        snprintf(buf, len, "unassigned");
    else
        snprintf(buf, len, "%s+0x%" PRIx64 "%s", f->names[h->leaf], h->off,
                 h->readonly ? " ro" : "");
    return buf;
}

static void compare_access(fz *f, const char *what, uint64_t addr, gm_result got,
                           unsigned int want, const uint8_t *lib, const uint8_t *exp,
                           uint64_t len)
{
    for (uint64_t i = 0; lib && exp && i < len; i++) {
        if (lib[i] != exp[i])
            fail(f, "%s: byte %" PRIu64 " (addr 0x%" PRIx64 ") is 0x%02x, model 0x%02x "
                 "(results 0x%x, model 0x%x)", what, i, addr + i, lib[i], exp[i], got, want);
    }
    if (got != want)
        fail(f, "%s: result 0x%x, model 0x%x", what, got, want);
}

static void readback(fz *f, int a, uint64_t addr, uint64_t len)
{
    uint8_t lib[MAX_LEN], exp[MAX_LEN];
    gm_result r;
    unsigned int e;

    len = len < MAX_LEN ? len : MAX_LEN;
    memset(lib, 0xcc, len);
    r = gm_as_read(f->as[a], addr, GM_ATTRS_UNSPECIFIED, lib, len);
    e = rm_access(f->m, a, addr, exp, len, false, NULL);
    compare_access(f, "read-back", addr, r, e, lib, exp, len);
}

static void check_reg_writes(fz *f)
{
    for (int i = 0; i < NSLOTS; i++) {
        const struct rm_region *r = &f->m->r[i];

        if (exists(f, i) && r->kind == RM_IO && r->flavor == RM_IO_REG &&
            f->s[i].d->reg_writes != r->reg_writes)
            fail(f, "%s: device saw %" PRIu64 " bytes written, model %" PRIu64, f->names[i],
                 f->s[i].d->reg_writes, r->reg_writes);
    }
}

/* ---- accesses ---------------------------------------------------------- */

static gm_attrs attrs_arg(fz *f)
{
    uint8_t b = get8(f);
    gm_attrs at = GM_ATTRS_UNSPECIFIED;

    if (b & 1)
        at = (gm_attrs){ .secure = (b >> 1) & 1, .user = (b >> 2) & 1, .requester_id = b };
    return at;
}

static void op_read(fz *f)
{
    int a = as_arg(f);
    uint64_t addr = addr_arg(f, a), len = len_arg(f, MAX_LEN);
    gm_attrs at = attrs_arg(f);
    uint8_t lib[MAX_LEN], exp[MAX_LEN];
    unsigned int e;
    gm_result r;

    opdesc(f, "read as%d addr=0x%" PRIx64 " len=%" PRIu64, a, addr, len);
    memset(lib, 0xcc, len);
    r = gm_as_read(f->as[a], addr, at, lib, len);
    e = rm_access(f->m, a, addr, exp, len, false, NULL);
    compare_access(f, "gm_as_read", addr, r, e, lib, exp, len);
}

static void op_write(fz *f)
{
    int a = as_arg(f);
    uint64_t addr = addr_arg(f, a), len = len_arg(f, MAX_LEN);
    bool rw = get8(f) & 1;
    uint8_t lib[MAX_LEN], exp[MAX_LEN];
    unsigned int e;
    gm_result r;

    f->rng = get32(f) | 1;
    rnd_fill(f, lib, len);
    memcpy(exp, lib, len);
    opdesc(f, "write as%d addr=0x%" PRIx64 " len=%" PRIu64, a, addr, len);
    r = rw ? gm_as_rw(f->as[a], addr, GM_ATTRS_UNSPECIFIED, lib, len, true)
           : gm_as_write(f->as[a], addr, GM_ATTRS_UNSPECIFIED, lib, len);
    e = rm_access(f->m, a, addr, exp, len, true, NULL);
    compare_access(f, "gm_as_write", addr, r, e, NULL, NULL, len);
    readback(f, a, addr, len);
}

static void op_fill(fz *f)
{
    int a = as_arg(f);
    uint64_t addr = addr_arg(f, a), len = len_arg(f, MAX_FILL);
    uint8_t c = get8(f), exp[MAX_FILL];
    unsigned int e;
    gm_result r;

    opdesc(f, "fill as%d addr=0x%" PRIx64 " len=%" PRIu64 " c=%02x", a, addr, len, c);
    memset(exp, c, len);
    r = gm_as_fill(f->as[a], addr, GM_ATTRS_UNSPECIFIED, c, len);
    e = rm_access(f->m, a, addr, exp, len, true, NULL);
    compare_access(f, "gm_as_fill", addr, r, e, NULL, NULL, len);
    for (uint64_t off = 0; off < len; off += MAX_LEN)
        readback(f, a, addr + off, len - off);
}

static void op_ldst(fz *f)
{
    int a = as_arg(f);
    uint64_t addr = addr_arg(f, a), val = get64(f), got, want;
    uint8_t how = get8(f), exp[8], lib[8];
    unsigned int size = 1u << (how & 3), e;
    bool be = size > 1 && (how & 4), st = how & 8;
    gm_result r;

    if (st) {
        if (size < 8)
            val &= (1ull << (size * 8)) - 1;
        opdesc(f, "st%u%s as%d addr=0x%" PRIx64 " val=0x%" PRIx64, size * 8, be ? "be" : "",
               a, addr, val);
        r = lib_st(f->as[a], addr, GM_ATTRS_UNSPECIFIED, size, be, val);
        decompose(exp, val, size, be);
        e = rm_access(f->m, a, addr, exp, size, true, NULL);
        compare_access(f, "gm_as_st", addr, r, e, NULL, NULL, size);
        readback(f, a, addr, size);
        return;
    }
    opdesc(f, "ld%u%s as%d addr=0x%" PRIx64, size * 8, be ? "be" : "", a, addr);
    r = lib_ld(f->as[a], addr, GM_ATTRS_UNSPECIFIED, size, be, &got);
    e = rm_access(f->m, a, addr, exp, size, false, NULL);
    want = compose(exp, size, be);
    decompose(lib, got, size, be);
    compare_access(f, "gm_as_ld", addr, r, e, lib, exp, size);
    if (got != want)
        fail(f, "gm_as_ld: value 0x%" PRIx64 ", model 0x%" PRIx64, got, want);
}

static void op_valid(fz *f)
{
    int a = as_arg(f);
    uint64_t addr = addr_arg(f, a), len = len_arg(f, MAX_LEN);
    bool is_write = get8(f) & 1, want = true, got;
    struct rm_hit h;

    opdesc(f, "access_valid as%d addr=0x%" PRIx64 " len=%" PRIu64 " %s", a, addr, len,
           is_write ? "write" : "read");
    got = gm_as_access_valid(f->as[a], addr, len, is_write, GM_ATTRS_UNSPECIFIED);
    for (uint64_t i = 0; i < len && want; i++) {
        rm_resolve(f->m, a, (rm_u128)addr + i, &h);
        want = rm_byte_valid(f->m, &h, is_write);
    }
    if (got != want)
        fail(f, "gm_as_access_valid: %d, model %d", got, want);
}

/* ---- lookups and flat views --------------------------------------------- */

static int slot_of(fz *f, const gm_region *mr)
{
    for (int i = 0; i < NSLOTS; i++) {
        if (exists(f, i) && f->s[i].mr == mr)
            return i;
    }
    return RM_NONE;
}

/* End of a section; 2^64 - 1 bytes at 0 reads as 2^64 unless @next says otherwise. */
static rm_u128 sec_end(const gm_section *s, rm_u128 next)
{
    if (s->size == GM_SIZE_2_64 && s->offset_within_address_space == 0)
        return next < RM_2_64 ? next : RM_2_64;
    return (rm_u128)s->offset_within_address_space + s->size;
}

static void check_section_at(fz *f, const char *what, const gm_section *s, rm_u128 end,
                             uint64_t addr, int a)
{
    struct rm_hit h;
    char hb[64];
    int leaf;

    rm_resolve(f->m, a, addr, &h);
    if (!s) {
        if (h.leaf != RM_NONE)
            fail(f, "%s: 0x%" PRIx64 " has no section, model has %s", what, addr,
                 hit_str(f, &h, hb, sizeof(hb)));
        return;
    }
    leaf = slot_of(f, s->mr);
    if (addr < s->offset_within_address_space || addr >= end)
        fail(f, "%s: 0x%" PRIx64 " outside its section [0x%" PRIx64 " +0x%" PRIx64 ")", what,
             addr, s->offset_within_address_space, s->size);
    if (h.leaf == RM_NONE || leaf != h.leaf ||
        s->offset_within_region + (addr - s->offset_within_address_space) != h.off ||
        s->readonly != h.readonly ||
        (kind_of(f, leaf) == RM_ROMD && s->romd_mode != f->m->snap.t[leaf].romd))
        fail(f, "%s: 0x%" PRIx64 " -> %s+0x%" PRIx64 " ro %d romd %d, model has %s", what,
             addr, leaf == RM_NONE ? "?" : f->names[leaf],
             s->offset_within_region + (addr - s->offset_within_address_space), s->readonly,
             s->romd_mode, hit_str(f, &h, hb, sizeof(hb)));
}

static void op_lookup(fz *f)
{
    int a = as_arg(f);
    uint64_t addr = addr_arg(f, a);
    gm_section s;
    bool found;

    opdesc(f, "lookup as%d addr=0x%" PRIx64, a, addr);
    memset(&s, 0xa5, sizeof(s));
    found = gm_as_lookup(f->as[a], addr, &s);
    check_section_at(f, "gm_as_lookup", found ? &s : NULL, found ? sec_end(&s, RM_2_64) : 0,
                     addr, a);
    if (found)
        gm_region_unref(s.mr);
}

static int collect_section(void *opaque, const gm_section *s)
{
    fz *f = opaque;

    if (f->nsecs == MAX_SECTIONS)
        return 1;
    f->secs[f->nsecs++] = *s;
    return 0;
}

static int find_section(fz *f, uint64_t addr)
{
    size_t lo = 0, hi = f->nsecs;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (addr < f->secs[mid].offset_within_address_space)
            hi = mid;
        else if (addr >= f->ends[mid])
            lo = mid + 1;
        else
            return (int)mid;
    }
    return -1;
}

static void check_point(fz *f, uint64_t p, int a)
{
    int i = find_section(f, p);

    check_section_at(f, "gm_as_for_each_section", i < 0 ? NULL : &f->secs[i],
                     i < 0 ? 0 : f->ends[i], p, a);
}

/* Sections in order, disjoint, leaves only; each model boundary and each
 * section edge (and one byte after it) resolves as in the model. */
static void op_sections(fz *f)
{
    int a = as_arg(f), n;

    opdesc(f, "for_each_section as%d", a);
    f->rng = (uint64_t)f->opno << 1 | 1;
    f->nsecs = 0;
    if (gm_as_for_each_section(f->as[a], collect_section, f) != 0)
        return;   /* more sections than we keep: not a finding */
    for (size_t i = 0; i < f->nsecs; i++) {
        const gm_section *s = &f->secs[i];
        rm_u128 next = i + 1 < f->nsecs ? f->secs[i + 1].offset_within_address_space : RM_2_64;
        int leaf = slot_of(f, s->mr);

        f->ends[i] = sec_end(s, next);
        if (leaf == RM_NONE || !s->size || kind_of(f, leaf) == RM_ALIAS ||
            kind_of(f, leaf) == RM_CONTAINER)
            fail(f, "section %zu: region %s, size 0x%" PRIx64, i,
                 leaf == RM_NONE ? "?" : f->names[leaf], s->size);
        if (f->ends[i] > RM_2_64 || (i > 0 && s->offset_within_address_space < f->ends[i - 1]))
            fail(f, "section %zu [0x%" PRIx64 " +0x%" PRIx64 "] overlaps or is out of order", i,
                 s->offset_within_address_space, s->size);
    }
    n = rm_boundaries(f->m, a == 0 ? SLOT_SYS : SLOT_DEV, f->points, MAX_POINTS);
    for (int k = 0; k < n; k++) {
        check_point(f, f->points[k], a);
        if (f->points[k])
            check_point(f, f->points[k] - 1, a);
    }
    for (size_t i = 0; i < f->nsecs; i++) {
        check_point(f, f->secs[i].offset_within_address_space, a);
        if (f->ends[i] < RM_2_64)
            check_point(f, (uint64_t)f->ends[i], a);
        check_point(f, (uint64_t)(f->ends[i] - 1), a);
        check_point(f, f->secs[i].offset_within_address_space +
                           rn(f, (uint64_t)(f->ends[i] - f->secs[i].offset_within_address_space)),
                    a);
    }
}

/* ---- maps and caches --------------------------------------------------- */

static bool leaf_is_ram(fz *f, int leaf)
{
    return kind_of(f, leaf) == RM_RAM || kind_of(f, leaf) == RM_ROM;
}

static void check_direct(fz *f, int a, uint64_t addr, uint64_t plen, const struct rm_hit *h0,
                         bool is_write)
{
    struct rm_hit h;
    char hb[64];

    for (uint64_t i = 0; i < plen; i++) {
        rm_resolve(f->m, a, (rm_u128)addr + i, &h);
        if (h.leaf != h0->leaf || h.off != h0->off + i ||
            (is_write && !rm_byte_valid(f->m, &h, true)))
            fail(f, "gm_as_map: direct mapping of %" PRIu64 " bytes runs into %s at +%" PRIu64,
                 plen, hit_str(f, &h, hb, sizeof(hb)), i);
    }
}

static void op_map(fz *f)
{
    int a = as_arg(f);
    uint64_t addr = addr_arg(f, a), req = len_arg(f, 4 * MAX_LEN), plen = req;
    bool is_write = get8(f) & 1, direct;
    uint8_t *p, *ram, exp[4 * MAX_LEN];
    struct rm_hit h0;
    char hb[64];

    opdesc(f, "map as%d addr=0x%" PRIx64 " len=%" PRIu64 " %s", a, addr, req,
           is_write ? "write" : "read");
    rm_resolve(f->m, a, addr, &h0);
    p = gm_as_map(f->as[a], addr, &plen, is_write, GM_ATTRS_UNSPECIFIED);
    if (!p) {
        if (plen != 0)
            fail(f, "gm_as_map: NULL with plen %" PRIu64, plen);
        if (h0.leaf != RM_NONE && rm_byte_valid(f->m, &h0, is_write))
            fail(f, "gm_as_map: NULL, model has %s", hit_str(f, &h0, hb, sizeof(hb)));
        return;
    }
    if (h0.leaf == RM_NONE || plen < 1 || plen > req)
        fail(f, "gm_as_map: %" PRIu64 " bytes (of %" PRIu64 ") at %s", plen, req,
             hit_str(f, &h0, hb, sizeof(hb)));
    ram = gm_region_get_ram_ptr(f->s[h0.leaf].mr);
    direct = ram && p == ram + h0.off;
    if (leaf_is_ram(f, h0.leaf) && !(is_write && h0.readonly) && !direct)
        fail(f, "gm_as_map: RAM %s not mapped directly", hit_str(f, &h0, hb, sizeof(hb)));
    if (direct)
        check_direct(f, a, addr, plen, &h0, is_write);
    if (!is_write) {
        rm_access(f->m, a, addr, exp, plen, false, NULL);
        compare_access(f, "gm_as_map (read)", addr, 0, 0, p, exp, plen);
        gm_as_unmap(f->as[a], p, plen, false, 0);
    } else {
        uint8_t cut = get8(f);
        uint64_t alen = (cut & 1) ? plen - (uint64_t)(cut >> 1) % (plen + 1) : plen;

        f->rng = addr | 1;
        rnd_fill(f, exp, alen);
        memcpy(p, exp, alen);
        gm_as_unmap(f->as[a], p, plen, true, alen);
        rm_access(f->m, a, addr, exp, alen, true, NULL);
        readback(f, a, addr, plen);
    }
    if (gm_as_bounce_in_use(f->as[a]) != 0)
        fail(f, "bounce buffers in use after unmap: %" PRIu64, gm_as_bounce_in_use(f->as[a]));
}

static void cache_step(fz *f, gm_cache *c, int a, uint64_t addr, int64_t n, bool is_write)
{
    uint64_t off = get16(f) % (uint64_t)n, l = 1 + get16(f) % ((uint64_t)n - off);
    uint8_t lib[MAX_LEN], exp[MAX_LEN];
    unsigned int e;
    gm_result r;

    l = l < MAX_LEN ? l : MAX_LEN;
    if (is_write && (get8(f) & 1)) {
        f->rng = off | 1;
        rnd_fill(f, lib, l);
        memcpy(exp, lib, l);
        r = gm_cache_write(c, off, lib, l);
        e = rm_access(f->m, a, addr + off, exp, l, true, NULL);
        compare_access(f, "gm_cache_write", addr + off, r, e, NULL, NULL, l);
        readback(f, a, addr + off, l);
        return;
    }
    memset(lib, 0xcc, l);
    r = gm_cache_read(c, off, lib, l);
    e = rm_access(f->m, a, addr + off, exp, l, false, NULL);
    compare_access(f, "gm_cache_read", addr + off, r, e, lib, exp, l);
}

static void op_cache(fz *f)
{
    int a = as_arg(f);
    uint64_t addr = addr_arg(f, a), len = len_arg(f, MAX_LEN);
    bool is_write = get8(f) & 1;
    gm_cache c = GM_CACHE_INIT;
    struct rm_hit h0;
    uint8_t b = 0;
    char hb[64];
    int64_t n;

    opdesc(f, "cache as%d addr=0x%" PRIx64 " len=%" PRIu64 " %s", a, addr, len,
           is_write ? "write" : "read");
    rm_resolve(f->m, a, addr, &h0);
    n = gm_cache_init(&c, f->as[a], addr, len, is_write);
    if (n < 0) {
        gm_cache_destroy(&c);
        if (n != -EFAULT || (h0.leaf != RM_NONE && kind_of(f, h0.leaf) != RM_RESV))
            fail(f, "gm_cache_init: %" PRId64 ", model has %s", n,
                 hit_str(f, &h0, hb, sizeof(hb)));
        return;
    }
    if (h0.leaf == RM_NONE || n < 1 || (uint64_t)n > len)
        fail(f, "gm_cache_init: %" PRId64 " of %" PRIu64 " at %s", n, len,
             hit_str(f, &h0, hb, sizeof(hb)));
    for (int k = get8(f) % 4; k >= 0; k--)
        cache_step(f, &c, a, addr, n, is_write);
    if (!is_write && !(gm_cache_write(&c, 0, &b, 1) & GM_ACCESS_ERROR))
        fail(f, "gm_cache_write on a read cache did not fail");
    if ((uint64_t)n < len && !(gm_cache_read(&c, (uint64_t)n, &b, 1) & GM_DECODE_ERROR))
        fail(f, "gm_cache_read past the %" PRId64 " cached bytes did not fail", n);
    gm_cache_destroy(&c);
}

/* ---- topology ---------------------------------------------------------- */

static void op_create(fz *f)
{
    int i = 2 + get8(f) % (NSLOTS - 2);
    static const enum rm_kind kinds[] = { RM_CONTAINER, RM_RAM, RM_ROM, RM_RAMD,
                                          RM_ROMD, RM_IO, RM_RESV, RM_ALIAS };
    enum rm_kind kind = kinds[get8(f) % 8];
    rm_u128 size = size_arg(f);
    uint8_t how = get8(f);
    gm_region *mr;

    if (exists(f, i))
        return;
    opdesc(f, "create slot %d kind %d size 0x%" PRIx64, i, kind, (uint64_t)size);
    mr = create_region(f, i, kind, size, how);
    if (!mr && kind == RM_ALIAS && !exists(f, i)) {
        f->names[i] = NULL;   /* no usable target: nothing created */
        return;
    }
    if (!mr)
        fail(f, "creating %s failed: errno %d", f->s[i].name, errno);
    f->s[i].mr = mr;
}

/* Unref an unused region (unmapped, childless, no alias shows it). */
static void op_drop(fz *f)
{
    int i = slot_arg(f);

    if (f->depth || is_root(i) || !exists(f, i) || f->m->cur[i].parent != RM_NONE ||
        rm_has_children(f->m, i) || rm_is_alias_target(f->m, i))
        return;
    opdesc(f, "drop %s", f->names[i]);
    gm_region_unref(f->s[i].mr);
    slot_release(f, i);
    rm_drop_region(f->m, i);
    model_commit(f);
}

static void op_add(fz *f)
{
    int s = slot_arg(f), c = slot_arg(f), prio = prio_arg(f), rc, want;
    uint64_t off = addr_arg(f, 0);
    bool plain = prio == 0 && (get8(f) & 1);

    if (is_root(s) || !exists(f, s) || !exists(f, c))
        return;
    if (f->m->cur[s].parent != RM_NONE)
        want = -EBUSY;
    else if (c == s || rm_is_ancestor(f->m, s, c))
        want = -EINVAL;
    else if (rm_reaches(f->m, s, c))
        return;   /* an alias that would show itself: the model cannot evaluate it */
    else
        want = 0;
    opdesc(f, "add %s into %s at 0x%" PRIx64 " prio %d (want %d)", f->names[s], f->names[c],
           off, prio, want);
    rc = plain ? gm_region_add_subregion(f->s[c].mr, off, f->s[s].mr)
               : gm_region_add_subregion_overlap(f->s[c].mr, off, f->s[s].mr, prio);
    if (rc != want)
        fail(f, "add_subregion returned %d, want %d", rc, want);
    if (rc == 0) {
        rm_add_sub(f->m, c, s, off, prio);
        model_commit(f);
    }
}

static void op_del(fz *f)
{
    int s = slot_arg(f), c = slot_arg(f), rc, want;

    if (!exists(f, s) || !exists(f, c))
        return;
    if (get8(f) & 1 && f->m->cur[s].parent != RM_NONE)
        c = f->m->cur[s].parent;
    want = f->m->cur[s].parent == c ? 0 : -ENOENT;
    opdesc(f, "del %s from %s (want %d)", f->names[s], f->names[c], want);
    rc = gm_region_del_subregion(f->s[c].mr, f->s[s].mr);
    if (rc != want)
        fail(f, "del_subregion returned %d, want %d", rc, want);
    if (rc == 0) {
        rm_del_sub(f->m, s);
        model_commit(f);
    }
}

static void op_enable(fz *f)
{
    int s = slot_arg(f);
    bool en = get8(f) & 3;

    if (s == SLOT_SYS || !exists(f, s))
        return;
    opdesc(f, "set_enabled %s %d", f->names[s], en);
    gm_region_set_enabled(f->s[s].mr, en);
    rm_set_enabled(f->m, s, en);
    model_commit(f);
}

static void op_move(fz *f)
{
    int s = slot_arg(f);
    uint64_t addr = addr_arg(f, 0);

    if (is_root(s) || !exists(f, s))
        return;
    opdesc(f, "set_address %s 0x%" PRIx64, f->names[s], addr);
    gm_region_set_address(f->s[s].mr, addr);
    rm_set_address(f->m, s, addr);
    model_commit(f);
}

static bool has_ram(enum rm_kind k)
{
    return k == RM_RAM || k == RM_ROM || k == RM_RAMD || k == RM_ROMD;
}

static void op_resize(fz *f)
{
    int s = slot_arg(f), rc, want = 0;
    rm_u128 size = size_arg(f);

    if (is_root(s) || !exists(f, s))
        return;
    if (has_ram(kind_of(f, s)) && (size == 0 || size > f->m->r[s].alloc))
        want = -EINVAL;
    opdesc(f, "set_size %s 0x%" PRIx64 "%s (want %d)", f->names[s], (uint64_t)size,
           size == RM_2_64 ? " (2^64)" : "", want);
    rc = gm_region_set_size(f->s[s].mr, api_size(size));
    if (rc != want)
        fail(f, "gm_region_set_size returned %d, want %d", rc, want);
    if (rc == 0) {
        rm_set_size(f->m, s, size);
        model_commit(f);
    }
}

static void op_alias_offset(fz *f)
{
    int s = slot_arg(f), rc, want;
    uint64_t off = get8(f) & 0x80 ? get64(f) : get16(f);

    if (is_root(s) || !exists(f, s))
        return;
    want = kind_of(f, s) == RM_ALIAS ? 0 : -EINVAL;
    opdesc(f, "set_alias_offset %s 0x%" PRIx64 " (want %d)", f->names[s], off, want);
    rc = gm_region_set_alias_offset(f->s[s].mr, off);
    if (rc != want)
        fail(f, "gm_region_set_alias_offset returned %d, want %d", rc, want);
    if (rc == 0) {
        rm_set_alias_offset(f->m, s, off);
        model_commit(f);
    }
}

static void op_readonly(fz *f)
{
    int s = slot_arg(f);
    bool ro = get8(f) & 1;

    if (is_root(s) || !exists(f, s) ||
        (kind_of(f, s) != RM_ALIAS && kind_of(f, s) != RM_CONTAINER))
        return;
    opdesc(f, "set_readonly %s %d", f->names[s], ro);
    gm_region_set_readonly(f->s[s].mr, ro);
    rm_set_readonly(f->m, s, ro);
    model_commit(f);
}

/* romd mode is read at access time in QEMU: only outside transactions. */
static void op_romd(fz *f)
{
    int s = slot_arg(f), rc, want;
    bool romd = get8(f) & 1;

    if (f->depth || is_root(s) || !exists(f, s))
        return;
    want = kind_of(f, s) == RM_ROMD ? 0 : -EINVAL;
    opdesc(f, "set_romd %s %d (want %d)", f->names[s], romd, want);
    rc = gm_region_set_romd(f->s[s].mr, romd);
    if (rc != want)
        fail(f, "gm_region_set_romd returned %d, want %d", rc, want);
    if (rc == 0) {
        rm_set_romd(f->m, s, romd);
        model_commit(f);
    }
}

static void op_begin(fz *f)
{
    if (f->depth >= 4)
        return;
    opdesc(f, "transaction_begin (depth %d)", f->depth + 1);
    gm_transaction_begin(f->sys);
    f->depth++;
}

static void op_commit(fz *f)
{
    if (!f->depth)
        return;
    opdesc(f, "transaction_commit (depth %d)", f->depth);
    gm_transaction_commit(f->sys);
    f->depth--;
    model_commit(f);
}

/* ---- whole-state checks ------------------------------------------------- */

static void memcheck_ram(fz *f, int i, const uint8_t *p)
{
    const slot *sl = &f->s[i];
    uint64_t off = ~0ull, k = f->m->r[i].alloc / 2;
    gm_region *found;

    if (!p || (sl->host && p != sl->host))
        fail(f, "gm_region_get_ram_ptr(%s) = %p", sl->name, (const void *)p);
    found = gm_region_from_host(f->sys, p + k, &off);
    if (found != sl->mr || off != k)
        fail(f, "gm_region_from_host(%s + 0x%" PRIx64 ") = %p + 0x%" PRIx64, sl->name, k,
             (void *)found, off);
    gm_region_unref(found);
}

static void memcheck_slot(fz *f, int i)
{
    const struct rm_region *r = &f->m->r[i];
    const slot *sl = &f->s[i];
    const uint8_t *p = NULL;

    if (has_ram(r->kind)) {
        p = gm_region_get_ram_ptr(sl->mr);
        memcheck_ram(f, i, p);
    } else if (r->kind == RM_IO && r->flavor != RM_IO_REG) {
        p = sl->d->mem;
    } else if (gm_region_get_ram_ptr(sl->mr) != NULL) {
        fail(f, "gm_region_get_ram_ptr(%s) is not NULL", sl->name);
    }
    for (uint64_t k = 0; p && k < r->alloc; k++) {
        if (p[k] != r->bytes[k])
            fail(f, "content of %s differs at 0x%" PRIx64 ": 0x%02x, model 0x%02x", sl->name,
                 k, p[k], r->bytes[k]);
    }
}

static void check_getters(fz *f, int i)
{
    const struct rm_topo *t = &f->m->cur[i];
    gm_region *mr = f->s[i].mr;
    gm_region *parent = t->parent == RM_NONE ? NULL : f->s[t->parent].mr;
    gm_region *target = f->m->r[i].target == RM_NONE ? NULL : f->s[f->m->r[i].target].mr;
    enum rm_kind k = kind_of(f, i);

    if (model_size(gm_region_size(mr)) != t->size || gm_region_container(mr) != parent ||
        gm_region_is_enabled(mr) != t->enabled || gm_region_alias_target(mr) != target ||
        (parent && (gm_region_address(mr) != t->addr || gm_region_priority(mr) != t->prio)))
        fail(f, "getters of %s: size 0x%" PRIx64 " enabled %d addr 0x%" PRIx64 " prio %d",
             f->names[i], gm_region_size(mr), gm_region_is_enabled(mr), gm_region_address(mr),
             gm_region_priority(mr));
    if (gm_region_is_ram(mr) != (k == RM_RAM || k == RM_ROM || k == RM_RAMD))
        fail(f, "gm_region_is_ram(%s) = %d", f->names[i], gm_region_is_ram(mr));
    if (strcmp(gm_region_name(mr), f->names[i]) != 0)
        fail(f, "gm_region_name(%s) = %s", f->names[i], gm_region_name(mr));
}

static void op_memcheck(fz *f)
{
    opdesc(f, "memcheck and getters");
    for (int i = 0; i < NSLOTS; i++) {
        if (exists(f, i)) {
            memcheck_slot(f, i);
            check_getters(f, i);
        }
    }
}

static void op_print(fz *f)
{
    unsigned int flags = get8(f) & (GM_MTREE_FLAT | GM_MTREE_DISABLED);
    size_t len = 0;
    char *buf = NULL;
    FILE *out = open_memstream(&buf, &len);

    opdesc(f, "mtree print flags %u", flags);
    must(f, out != NULL, "open_memstream");
    if (gm_mtree_print(f->sys, out, flags) != 0)
        fail(f, "gm_mtree_print failed");
    fclose(out);
    free(buf);
}

/* ---- the program ------------------------------------------------------- */

typedef void (*op_fn)(fz *f);

static const op_fn ops[] = {
    op_create, op_add, op_del, op_enable, op_move, op_resize, op_alias_offset, op_readonly,
    op_romd, op_begin, op_commit, op_read, op_write, op_fill, op_ldst, op_valid, op_lookup,
    op_sections, op_map, op_cache, op_drop, op_memcheck, op_print, op_read, op_ldst, op_add,
};

static void quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

static void world_init(fz *f, uint8_t cfg)
{
    f->sys = gm_system_new(0);
    must(f, f->sys != NULL, "gm_system_new");
    gm_system_set_log(f->sys, quiet, NULL, false);
    rm_init(f->m);
    f->s[SLOT_SYS].mr = create_region(f, SLOT_SYS, (cfg & 7) == 7 ? RM_IO : RM_CONTAINER,
                                      RM_2_64, cfg);
    f->s[SLOT_DEV].mr = create_region(f, SLOT_DEV, RM_CONTAINER,
                                      0x1000 + ((uint64_t)(cfg >> 3) << 11), 0);
    must(f, f->s[SLOT_SYS].mr && f->s[SLOT_DEV].mr, "roots");
    f->as[0] = gm_as_new(f->sys, f->s[SLOT_SYS].mr, "sys");
    f->as[1] = gm_as_new(f->sys, f->s[SLOT_DEV].mr, "dev");
    must(f, f->as[0] && f->as[1], "gm_as_new");
    rm_commit(f->m);
}

static void world_fini(fz *f)
{
    while (f->depth)
        op_commit(f);
    op_memcheck(f);
    op_sections(f);
    gm_as_free(f->as[0]);
    gm_as_free(f->as[1]);
    for (int i = 0; i < NSLOTS; i++) {
        if (exists(f, i))
            gm_region_unref(f->s[i].mr);
    }
    gm_system_free(f->sys);
    for (int i = 0; i < NSLOTS; i++)
        slot_release(f, i);
    while (f->ngraves)
        free(f->graves[--f->ngraves]);
    free(f->graves);
    rm_free(f->m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz *f = calloc(1, sizeof(*f));
    struct rm_model *m = calloc(1, sizeof(*m));

    if (!f || !m || !size)
        goto out;
    f->m = m;
    f->in = data + 1;
    f->left = size - 1;
    world_init(f, data[0]);
    while (f->left) {
        f->opno++;
        ops[get8(f) % (sizeof(ops) / sizeof(ops[0]))](f);
        check_reg_writes(f);
    }
    f->opno++;
    world_fini(f);
out:
    free(m);
    free(f);
    return 0;
}
