/* SPDX-License-Identifier: MIT */
/*
 * Reads, writes, loads and stores through an address space.
 *
 * RAM, holes, the end of the 64-bit space, loads and stores that are
 * unaligned, straddle two ranges or hit a hole (steps that pin differences
 * from QEMU, docs/memory-model.md section 8), ROM, reservations, ROM devices
 * and RAM devices first; then the access-synthesis matrix for I/O regions:
 * for every combination of valid/impl access sizes, alignment flags,
 * endianness, access size and address, the callbacks the core makes and the
 * result it returns are compared with an expectation built here from the
 * documented rules:
 *
 *  - gm_as_read/write cut the access into the pieces of QEMU's
 *    memory_access_size (at most valid.max_access_size, default 4, and no
 *    larger than the address's alignment unless impl.unaligned);
 *    gm_as_ld/st make ONE piece of the full size;
 *  - a piece outside `valid` (size, alignment) is not performed: reads give
 *    zeros, the result is GM_DECODE_ERROR;
 *  - a valid piece is performed with callbacks of the size clamped to
 *    impl.{min,max} (defaults 1 and 4), at the piece's address when
 *    impl.unaligned, else at the aligned addresses covering it; the byte for
 *    address x of a call of size A at c sits at bit 8*(x-c) (little endian)
 *    or 8*(A-1-(x-c)) (big endian); writes put zeros in the other lanes.
 *
 * The recording device behaves like a byte array whose byte at address a is
 * (a*7+3)&0xff, assembled in its own byte order, and logs every callback.
 */
#include "unit.h"

#include <errno.h>

#define IO_BASE 0x10000ull
#define IO_SIZE 0x100ull

static uint8_t pattern(gm_addr a)
{
    return (uint8_t)(a * 7 + 3);
}

/* ---- the recording device ------------------------------------------------ */

#define MAX_CALLS 64

typedef struct dev_call {
    bool write;
    gm_addr addr;
    unsigned int size;
    uint64_t value;
} dev_call;

typedef struct rec_dev {
    bool big;                 /* byte order of the values it returns */
    dev_call calls[MAX_CALLS];
    int n;
    gm_result read_result;    /* what read_with_attrs returns */
    gm_result write_result;   /* what write_with_attrs returns */
    gm_addr error_addr;       /* ...for this address only */
    gm_attrs last_attrs;
    gm_addr reject_addr;      /* valid.accepts refuses this address */
    int accepts_calls;
} rec_dev;

static uint64_t dev_value(const rec_dev *d, gm_addr addr, unsigned int size)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < size; i++) {
        unsigned int byte_pos = d->big ? size - 1 - i : i;

        v |= (uint64_t)pattern(addr + i) << (8 * byte_pos);
    }
    return v;
}

static void dev_log(rec_dev *d, bool write, gm_addr addr, unsigned int size, uint64_t value)
{
    CHECK(d->n < MAX_CALLS, "too many callbacks");
    d->calls[d->n++] = (dev_call){ write, addr, size, value };
}

static uint64_t rec_read(void *opaque, gm_addr addr, unsigned int size)
{
    rec_dev *d = opaque;
    uint64_t v = dev_value(d, addr, size);

    dev_log(d, false, addr, size, v);
    return v;
}

static void rec_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    dev_log(opaque, true, addr, size, data);
}

static gm_result rec_read_attrs(void *opaque, gm_addr addr, uint64_t *data, unsigned int size,
                                gm_attrs attrs)
{
    rec_dev *d = opaque;

    *data = rec_read(opaque, addr, size);
    d->last_attrs = attrs;
    return addr == d->error_addr ? d->read_result : GM_OK;
}

static gm_result rec_write_attrs(void *opaque, gm_addr addr, uint64_t data, unsigned int size,
                                 gm_attrs attrs)
{
    rec_dev *d = opaque;

    rec_write(opaque, addr, data, size);
    d->last_attrs = attrs;
    return addr == d->error_addr ? d->write_result : GM_OK;
}

static bool rec_accepts(void *opaque, gm_addr addr, unsigned int size, bool is_write,
                        gm_attrs attrs)
{
    rec_dev *d = opaque;

    (void)size;
    (void)is_write;
    (void)attrs;
    d->accepts_calls++;
    return addr != d->reject_addr;
}

static gm_region_ops rec_ops(enum gm_endian endian)
{
    return (gm_region_ops){ .read = rec_read, .write = rec_write, .endianness = endian };
}

/* ---- RAM and friends ------------------------------------------------------- */

/* st/ld of every size and byte order land in RAM in the right byte order. */
static void test_ram_all_sizes(void)
{
    static const uint64_t value = 0x0102030405060708ull;
    fixture f;
    gm_region *ram;
    uint8_t *host, buf[16], back[16];

    fixture_init(&f, 0x10000);
    ram = add_owned(f.root, 0x1000, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    host = gm_region_get_ram_ptr(ram);

    for (unsigned int size = 1; size <= 8; size *= 2) {
        for (int big = 0; big <= 1; big++) {
            gm_addr addr = 0x1010 + size * 0x10 + (gm_addr)big * 0x100;
            uint64_t mask = size == 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
            uint64_t want = value & mask, got = 0;
            gm_result r = GM_ERROR, r2 = GM_ERROR;
            uint8_t v8;
            uint16_t v16;
            uint32_t v32;

            switch (size) {
            case 1:
                r = gm_as_st8(f.as, addr, GM_ATTRS_UNSPECIFIED, (uint8_t)want);
                r2 = gm_as_ld8(f.as, addr, GM_ATTRS_UNSPECIFIED, &v8);
                got = v8;
                break;
            case 2:
                r = big ? gm_as_st16_be(f.as, addr, GM_ATTRS_UNSPECIFIED, (uint16_t)want)
                        : gm_as_st16_le(f.as, addr, GM_ATTRS_UNSPECIFIED, (uint16_t)want);
                r2 = big ? gm_as_ld16_be(f.as, addr, GM_ATTRS_UNSPECIFIED, &v16)
                         : gm_as_ld16_le(f.as, addr, GM_ATTRS_UNSPECIFIED, &v16);
                got = v16;
                break;
            case 4:
                r = big ? gm_as_st32_be(f.as, addr, GM_ATTRS_UNSPECIFIED, (uint32_t)want)
                        : gm_as_st32_le(f.as, addr, GM_ATTRS_UNSPECIFIED, (uint32_t)want);
                r2 = big ? gm_as_ld32_be(f.as, addr, GM_ATTRS_UNSPECIFIED, &v32)
                         : gm_as_ld32_le(f.as, addr, GM_ATTRS_UNSPECIFIED, &v32);
                got = v32;
                break;
            default:
                r = big ? gm_as_st64_be(f.as, addr, GM_ATTRS_UNSPECIFIED, want)
                        : gm_as_st64_le(f.as, addr, GM_ATTRS_UNSPECIFIED, want);
                r2 = big ? gm_as_ld64_be(f.as, addr, GM_ATTRS_UNSPECIFIED, &got)
                         : gm_as_ld64_le(f.as, addr, GM_ATTRS_UNSPECIFIED, &got);
                break;
            }
            CHECK_EQ_U64(r, GM_OK, "store result");
            CHECK_EQ_U64(r2, GM_OK, "load result");
            CHECK_EQ_U64(got, want, "loaded value");
            for (unsigned int i = 0; i < size; i++) {
                unsigned int shift = 8 * (big ? size - 1 - i : i);

                CHECK_EQ_U64(host[addr - 0x1000 + i], (uint8_t)(want >> shift), "byte in RAM");
            }
        }
    }

    /* Bulk read/write, also unaligned. */
    for (int i = 0; i < 16; i++)
        buf[i] = (uint8_t)(0xc0 + i);
    CHECK_EQ_U64(gm_as_write(f.as, 0x1803, GM_ATTRS_UNSPECIFIED, buf, 16), GM_OK, "write");
    CHECK(memcmp(host + 0x803, buf, 16) == 0, "bytes in RAM");
    memset(back, 0, sizeof(back));
    CHECK_EQ_U64(gm_as_read(f.as, 0x1803, GM_ATTRS_UNSPECIFIED, back, 16), GM_OK, "read");
    CHECK(memcmp(back, buf, 16) == 0, "bytes read back");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 0, "no guest error");
    fixture_fini(&f);
}

/* RAM -> hole -> RAM: the RAM parts happen, the hole reads as zeros. */
static void test_cross_hole(void)
{
    fixture f;
    gm_region *r1, *r2;
    uint8_t *h1, *h2, buf[0x30], back[0x30];

    fixture_init(&f, 0x10000);
    r1 = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "r1", 0x1000), 0);
    r2 = add_owned(f.root, 0x1010, gm_region_new_ram(f.sys, "r2", 0x1000), 0);
    h1 = gm_region_get_ram_ptr(r1);
    h2 = gm_region_get_ram_ptr(r2);
    for (int i = 0; i < 0x30; i++)
        buf[i] = (uint8_t)(i + 1);

    /* [0xff0, 0x1000) r1, [0x1000, 0x1010) hole, [0x1010, 0x1020) r2 */
    CHECK_EQ_U64(gm_as_write(f.as, 0xff0, GM_ATTRS_UNSPECIFIED, buf, 0x30), GM_DECODE_ERROR,
                 "write across a hole");
    CHECK(memcmp(h1 + 0xff0, buf, 0x10) == 0, "r1 part written");
    CHECK(memcmp(h2, buf + 0x20, 0x10) == 0, "r2 part written");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 1, "hole write logged: %u",
          f.log.count[GM_LOG_GUEST_ERROR]);

    memset(back, 0xaa, sizeof(back));
    CHECK_EQ_U64(gm_as_read(f.as, 0xff0, GM_ATTRS_UNSPECIFIED, back, 0x30), GM_DECODE_ERROR,
                 "read across a hole");
    CHECK(memcmp(back, buf, 0x10) == 0, "r1 part read");
    for (int i = 0x10; i < 0x20; i++)
        CHECK_EQ_U64(back[i], 0, "hole reads zero");
    CHECK(memcmp(back + 0x20, buf + 0x20, 0x10) == 0, "r2 part read");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 2, "hole read logged");
    fixture_fini(&f);
}

/* An access running past 2^64 fails the part beyond, and never wraps. */
static void test_past_2_64(void)
{
    fixture f;
    gm_region *top, *low;
    uint8_t *ht, *hl, buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, back[8];
    uint64_t v = 0;

    fixture_init(&f, GM_SIZE_2_64);
    top = add_owned(f.root, 0xfffffffffffff000ull, gm_region_new_ram(f.sys, "top", 0x1000), 0);
    low = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "low", 0x1000), 0);
    ht = gm_region_get_ram_ptr(top);
    hl = gm_region_get_ram_ptr(low);

    CHECK_EQ_U64(gm_as_write(f.as, 0xfffffffffffffffcull, GM_ATTRS_UNSPECIFIED, buf, 8),
                 GM_DECODE_ERROR, "write past 2^64");
    CHECK(memcmp(ht + 0xffc, buf, 4) == 0, "part below 2^64 written");
    for (int i = 0; i < 8; i++)
        CHECK_EQ_U64(hl[i], 0, "no wrap to address 0");

    memset(back, 0xaa, sizeof(back));
    CHECK_EQ_U64(gm_as_read(f.as, 0xfffffffffffffffcull, GM_ATTRS_UNSPECIFIED, back, 8),
                 GM_DECODE_ERROR, "read past 2^64");
    CHECK(memcmp(back, buf, 4) == 0, "part below 2^64 read");
    for (int i = 4; i < 8; i++)
        CHECK_EQ_U64(back[i], 0, "part beyond 2^64 reads zero");

    CHECK_EQ_U64(gm_as_ld64_le(f.as, 0xfffffffffffffffcull, GM_ATTRS_UNSPECIFIED, &v),
                 GM_DECODE_ERROR, "ld64 past 2^64");
    CHECK_EQ_U64(v, 0x04030201ull, "ld64 keeps the bytes below 2^64");

    /* Stores too: the part below 2^64 is stored, nothing wraps to 0
     * (QEMU's address arithmetic would wrap: memory-model.md, 8). */
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0xfffffffffffffffeull, GM_ATTRS_UNSPECIFIED, 0x44332211),
                 GM_DECODE_ERROR, "st32 past 2^64");
    CHECK(ht[0xffe] == 0x11 && ht[0xfff] == 0x22, "st32 stores the bytes below 2^64");
    for (int i = 0; i < 8; i++)
        CHECK_EQ_U64(hl[i], 0, "st32 does not wrap to address 0");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] >= 1, "logged");
    fixture_fini(&f);
}

/* Unaligned loads and stores on RAM are defined (they may be split, so they
 * are not atomic: memory-model.md, 8): every byte lands where it belongs. */
static void test_ldst_unaligned(void)
{
    fixture f;
    uint8_t *host;
    uint64_t v64 = 0;
    uint32_t v32 = 0;
    uint16_t v16 = 0;

    fixture_init(&f, 0x10000);
    host = gm_region_get_ram_ptr(add_owned(f.root, 0, gm_region_new_ram(f.sys, "ram", 0x1000), 0));
    for (gm_addr a = 0x101; a < 0x108; a++) {
        memset(host + 0x100, 0, 0x20);
        CHECK_EQ_U64(gm_as_st64_le(f.as, a, GM_ATTRS_UNSPECIFIED, 0x0807060504030201ull), GM_OK,
                     "unaligned st64");
        for (unsigned int i = 0; i < 8; i++)
            CHECK_EQ_U64(host[a + i], i + 1, "st64 byte");
        CHECK(host[a - 1] == 0 && host[a + 8] == 0, "st64 touches only its bytes");
        CHECK_EQ_U64(gm_as_ld64_le(f.as, a, GM_ATTRS_UNSPECIFIED, &v64), GM_OK, "ld64");
        CHECK_EQ_U64(v64, 0x0807060504030201ull, "unaligned ld64");
        CHECK_EQ_U64(gm_as_ld32_be(f.as, a + 1, GM_ATTRS_UNSPECIFIED, &v32), GM_OK, "ld32");
        CHECK_EQ_U64(v32, 0x02030405, "unaligned ld32_be");
        CHECK_EQ_U64(gm_as_ld16_le(f.as, a + 5, GM_ATTRS_UNSPECIFIED, &v16), GM_OK, "ld16");
        CHECK_EQ_U64(v16, 0x0706, "unaligned ld16_le");
    }
    fixture_fini(&f);
}

/* A load or store that straddles the end of a RAM range is split like a
 * read or write: each range gets its part (QEMU 7.2 would send the whole
 * access to the first region, a decode error on RAM with nothing done:
 * memory-model.md, 8). Into a hole, the part in RAM is still performed. */
static void test_ldst_straddle(void)
{
    fixture f;
    gm_region *r0, *r1;
    uint8_t *h0, *h1;
    uint32_t v32 = 0;
    uint64_t v64 = 0;

    fixture_init(&f, 0x10000);
    r0 = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "r0", 0x1000), 0);
    r1 = add_owned(f.root, 0x1000, gm_region_new_ram(f.sys, "r1", 0x1000), 0);
    h0 = gm_region_get_ram_ptr(r0);
    h1 = gm_region_get_ram_ptr(r1);

    /* [0xffe, 0x1002): two bytes in r0, two in r1. */
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0xffe, GM_ATTRS_UNSPECIFIED, 0x44332211), GM_OK,
                 "st32 across two RAM regions");
    CHECK(h0[0xffe] == 0x11 && h0[0xfff] == 0x22, "low half in r0");
    CHECK(h1[0] == 0x33 && h1[1] == 0x44, "high half in r1");
    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0xffe, GM_ATTRS_UNSPECIFIED, &v32), GM_OK,
                 "ld32 across two RAM regions");
    CHECK_EQ_U64(v32, 0x44332211, "ld32 gathers both halves");

    /* [0x1ffc, 0x2004): four bytes in r1, four in the hole behind it. */
    CHECK_EQ_U64(gm_as_st64_be(f.as, 0x1ffc, GM_ATTRS_UNSPECIFIED, 0x0102030405060708ull),
                 GM_DECODE_ERROR, "st64 from RAM into a hole");
    CHECK(h1[0xffc] == 1 && h1[0xffd] == 2 && h1[0xffe] == 3 && h1[0xfff] == 4,
          "the RAM part is stored");
    CHECK_EQ_U64(gm_as_ld64_be(f.as, 0x1ffc, GM_ATTRS_UNSPECIFIED, &v64), GM_DECODE_ERROR,
                 "ld64 from RAM into a hole");
    CHECK_EQ_U64(v64, 0x0102030400000000ull, "RAM bytes, zeros for the hole");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 2, "both hole parts logged: %u",
          f.log.count[GM_LOG_GUEST_ERROR]);
    fixture_fini(&f);
}

/* Loads from a hole return 0 with GM_DECODE_ERROR, whatever the variable
 * held (QEMU 7.2 also returns 0); stores there are dropped. */
static void test_hole_ldst(void)
{
    fixture f;
    uint8_t v8 = 0xff;
    uint16_t v16 = 0xffff;
    uint32_t v32 = 0xffffffff;
    uint64_t v64 = ~0ull;

    fixture_init(&f, 0x10000);
    add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    CHECK_EQ_U64(gm_as_ld8(f.as, 0x5000, GM_ATTRS_UNSPECIFIED, &v8), GM_DECODE_ERROR, "ld8");
    CHECK_EQ_U64(gm_as_ld16_le(f.as, 0x5000, GM_ATTRS_UNSPECIFIED, &v16), GM_DECODE_ERROR,
                 "ld16");
    CHECK_EQ_U64(gm_as_ld32_be(f.as, 0x5000, GM_ATTRS_UNSPECIFIED, &v32), GM_DECODE_ERROR,
                 "ld32");
    CHECK_EQ_U64(gm_as_ld64_le(f.as, 0x5000, GM_ATTRS_UNSPECIFIED, &v64), GM_DECODE_ERROR,
                 "ld64");
    CHECK(v8 == 0 && v16 == 0 && v32 == 0 && v64 == 0, "hole loads return 0");
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0x5000, GM_ATTRS_UNSPECIFIED, 1), GM_DECODE_ERROR,
                 "st32 into a hole");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 5, "every hole access logged: %u",
          f.log.count[GM_LOG_GUEST_ERROR]);
    fixture_fini(&f);
}

/* ROM: reads work, writes fail with GM_DECODE_ERROR and change nothing. */
static void test_rom(void)
{
    fixture f;
    gm_region *rom;
    uint8_t *host, buf[4] = { 9, 9, 9, 9 }, back[4];
    uint32_t v = 0;

    fixture_init(&f, 0x10000);
    rom = add_owned(f.root, 0x2000, gm_region_new_rom(f.sys, "rom", 0x1000), 0);
    host = gm_region_get_ram_ptr(rom);
    CHECK(host != NULL, "ROM has host memory");
    memcpy(host, "\x11\x22\x33\x44", 4);

    CHECK_EQ_U64(gm_as_write(f.as, 0x2000, GM_ATTRS_UNSPECIFIED, buf, 4), GM_DECODE_ERROR,
                 "ROM write");
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0x2000, GM_ATTRS_UNSPECIFIED, 0xdeadbeef), GM_DECODE_ERROR,
                 "ROM st32");
    CHECK(memcmp(host, "\x11\x22\x33\x44", 4) == 0, "ROM unchanged");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 2, "two guest errors");
    CHECK_EQ_U64(gm_as_read(f.as, 0x2000, GM_ATTRS_UNSPECIFIED, back, 4), GM_OK, "ROM read");
    CHECK(memcmp(back, "\x11\x22\x33\x44", 4) == 0, "ROM bytes");
    CHECK_EQ_U64(gm_as_ld32_be(f.as, 0x2000, GM_ATTRS_UNSPECIFIED, &v), GM_OK, "ROM ld32");
    CHECK_EQ_U64(v, 0x11223344, "ROM ld32 value");
    fixture_fini(&f);
}

/* A reservation: every access is a decode error, reads give zeros. */
static void test_reservation(void)
{
    fixture f;
    uint8_t buf[8];
    uint32_t v = 0xffffffff;

    fixture_init(&f, 0x10000);
    add_owned(f.root, 0x3000, gm_region_new_reservation(f.sys, "resv", 0x1000), 0);
    memset(buf, 0xaa, sizeof(buf));
    CHECK_EQ_U64(gm_as_read(f.as, 0x3004, GM_ATTRS_UNSPECIFIED, buf, 8), GM_DECODE_ERROR,
                 "reservation read");
    for (int i = 0; i < 8; i++)
        CHECK_EQ_U64(buf[i], 0, "zeros");
    CHECK_EQ_U64(gm_as_write(f.as, 0x3004, GM_ATTRS_UNSPECIFIED, buf, 8), GM_DECODE_ERROR,
                 "reservation write");
    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x3000, GM_ATTRS_UNSPECIFIED, &v), GM_DECODE_ERROR,
                 "reservation ld32");
    CHECK_EQ_U64(v, 0, "ld32 zero");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 3, "three guest errors");
    fixture_fini(&f);
}

/* ROM device: romd mode reads RAM, I/O mode reads the ops; writes always
 * go to the ops and never touch the RAM. */
static void test_rom_device(void)
{
    fixture f;
    rec_dev dev = { 0 };
    gm_region_ops ops = rec_ops(GM_ENDIAN_LITTLE);
    gm_region *romd;
    uint8_t *host, buf[4];
    uint32_t v = 0;
    sec_list l;

    fixture_init(&f, 0x10000);
    romd = add_owned(f.root, 0x4000, gm_region_new_rom_device(f.sys, "flash", 0x1000, &ops, &dev),
                     0);
    host = gm_region_get_ram_ptr(romd);
    CHECK(host != NULL, "ROM device has RAM");
    memcpy(host + 0x10, "\xa1\xa2\xa3\xa4", 4);
    sec_list_get(f.as, &l);
    CHECK(l.n == 1 && l.s[0].romd_mode, "starts in romd mode");

    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x4010, GM_ATTRS_UNSPECIFIED, &v), GM_OK, "romd read");
    CHECK_EQ_U64(v, 0xa4a3a2a1, "read from RAM");
    CHECK(dev.n == 0, "no callback for a romd read");
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0x4010, GM_ATTRS_UNSPECIFIED, 0x01020304), GM_OK,
                 "romd write");
    CHECK(dev.n == 1 && dev.calls[0].write && dev.calls[0].addr == 0x10 &&
              dev.calls[0].size == 4 && dev.calls[0].value == 0x01020304,
          "write went to the ops");
    CHECK(memcmp(host + 0x10, "\xa1\xa2\xa3\xa4", 4) == 0, "RAM not written");

    CHECK_EQ_U64(gm_region_set_romd(romd, false), 0, "set_romd");
    sec_list_get(f.as, &l);
    CHECK(l.n == 1 && !l.s[0].romd_mode, "I/O mode");
    dev.n = 0;
    CHECK_EQ_U64(gm_as_read(f.as, 0x4010, GM_ATTRS_UNSPECIFIED, buf, 4), GM_OK, "I/O read");
    CHECK(dev.n == 1 && !dev.calls[0].write && dev.calls[0].addr == 0x10, "read went to ops");
    for (int i = 0; i < 4; i++)
        CHECK_EQ_U64(buf[i], pattern(0x10 + i), "device bytes");
    CHECK_EQ_U64(gm_as_st8(f.as, 0x4011, GM_ATTRS_UNSPECIFIED, 0x77), GM_OK, "I/O write");
    CHECK(dev.n == 2 && dev.calls[1].write && dev.calls[1].addr == 0x11 &&
              dev.calls[1].value == 0x77, "write went to ops");

    CHECK_EQ_U64(gm_region_set_romd(romd, true), 0, "back to romd");
    dev.n = 0;
    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x4010, GM_ATTRS_UNSPECIFIED, &v), GM_OK, "romd again");
    CHECK(v == 0xa4a3a2a1 && dev.n == 0, "RAM read again");
    fixture_fini(&f);
}

/* RAM device: loads and stores of every size reach the host memory. */
static void test_ram_device(void)
{
    fixture f;
    uint64_t backing[64] = { 0 };
    uint8_t *host = (uint8_t *)backing, buf[16], back[16];
    uint64_t v64 = 0;
    uint32_t v32 = 0;
    uint16_t v16 = 0;
    uint8_t v8 = 0;
    sec_list l;

    fixture_init(&f, 0x10000);
    add_owned(f.root, 0x5000,
              gm_region_new_ram_device_ptr(f.sys, "bar", sizeof(backing), backing), 0);
    sec_list_get(f.as, &l);
    CHECK(l.n == 1 && gm_region_is_ram(l.s[0].mr), "RAM device is RAM");

    CHECK_EQ_U64(gm_as_st8(f.as, 0x5001, GM_ATTRS_UNSPECIFIED, 0x11), GM_OK, "st8");
    CHECK_EQ_U64(gm_as_st16_le(f.as, 0x5002, GM_ATTRS_UNSPECIFIED, 0x2233), GM_OK, "st16");
    CHECK_EQ_U64(gm_as_st32_be(f.as, 0x5004, GM_ATTRS_UNSPECIFIED, 0x44556677), GM_OK, "st32");
    CHECK_EQ_U64(gm_as_st64_le(f.as, 0x5008, GM_ATTRS_UNSPECIFIED, 0x8899aabbccddeeffull), GM_OK,
                 "st64");
    CHECK(memcmp(host, "\x00\x11\x33\x22\x44\x55\x66\x77\xff\xee\xdd\xcc\xbb\xaa\x99\x88",
                 16) == 0, "bytes in device memory");
    CHECK_EQ_U64(gm_as_ld8(f.as, 0x5001, GM_ATTRS_UNSPECIFIED, &v8), GM_OK, "ld8");
    CHECK_EQ_U64(v8, 0x11, "ld8 value");
    CHECK_EQ_U64(gm_as_ld16_le(f.as, 0x5002, GM_ATTRS_UNSPECIFIED, &v16), GM_OK, "ld16");
    CHECK_EQ_U64(v16, 0x2233, "ld16 value");
    CHECK_EQ_U64(gm_as_ld32_be(f.as, 0x5004, GM_ATTRS_UNSPECIFIED, &v32), GM_OK, "ld32");
    CHECK_EQ_U64(v32, 0x44556677, "ld32 value");
    CHECK_EQ_U64(gm_as_ld64_le(f.as, 0x5008, GM_ATTRS_UNSPECIFIED, &v64), GM_OK, "ld64");
    CHECK_EQ_U64(v64, 0x8899aabbccddeeffull, "ld64 value");

    for (int i = 0; i < 16; i++)
        buf[i] = (uint8_t)(0x30 + i);
    CHECK_EQ_U64(gm_as_write(f.as, 0x5043, GM_ATTRS_UNSPECIFIED, buf, 16), GM_OK, "bulk write");
    CHECK(memcmp(host + 0x43, buf, 16) == 0, "bulk bytes");
    CHECK_EQ_U64(gm_as_read(f.as, 0x5043, GM_ATTRS_UNSPECIFIED, back, 16), GM_OK, "bulk read");
    CHECK(memcmp(back, buf, 16) == 0, "bulk read back");
    fixture_fini(&f);
}

/* ---- the access-synthesis matrix -------------------------------------------- */

typedef struct size_pair {
    unsigned int min, max;
} size_pair;

static const size_pair valid_sizes[] = {
    { 0, 0 }, { 1, 1 }, { 1, 2 }, { 1, 4 }, { 1, 8 }, { 2, 4 }, { 4, 4 }, { 4, 8 }, { 8, 8 },
};
static const size_pair impl_sizes[] = {
    { 0, 0 }, { 1, 1 }, { 1, 2 }, { 2, 2 }, { 4, 4 }, { 1, 8 }, { 8, 8 },
};

typedef struct expectation {
    dev_call calls[MAX_CALLS];
    int n;
    gm_result result;
    uint8_t bytes[8];   /* what a read returns */
} expectation;

enum api { API_READ, API_WRITE, API_LD_LE, API_LD_BE, API_ST_LE, API_ST_BE, API_NUM };

static const char *const api_names[] = { "read", "write", "ld_le", "ld_be", "st_le", "st_be" };

static bool api_is_write(enum api api)
{
    return api == API_WRITE || api == API_ST_LE || api == API_ST_BE;
}

/* Largest power of two <= @v (v >= 1). */
static unsigned int floor_pow2(unsigned int v)
{
    unsigned int p = 1;

    while (p * 2 <= v)
        p *= 2;
    return p;
}

/* memory_access_size(): the next piece of a gm_as_read/write. */
static unsigned int expected_piece(const gm_region_ops *ops, gm_addr xlat, unsigned int left)
{
    unsigned int limit = ops->valid.max_access_size ? ops->valid.max_access_size : 4;

    if (!ops->impl.unaligned) {
        while (limit > 1 && xlat % limit)
            limit /= 2;
    }
    return floor_pow2(left < limit ? left : limit);
}

static bool expected_valid(const gm_region_ops *ops, gm_addr xlat, unsigned int size)
{
    if (!ops->valid.unaligned && xlat % size)
        return false;
    if (!ops->valid.max_access_size)
        return true;
    return size >= ops->valid.min_access_size && size <= ops->valid.max_access_size;
}

/* Bit position of the byte for address @x in a callback of @a bytes at @c. */
static unsigned int lane(gm_addr x, gm_addr c, unsigned int a, bool big)
{
    unsigned int i = (unsigned int)(x - c);

    return 8 * (big ? a - 1 - i : i);
}

/* One piece [xlat, xlat + size); @data are the bytes of the whole access,
 * starting at @base. */
static void expect_piece(expectation *e, const gm_region_ops *ops, bool big, gm_addr base,
                         gm_addr xlat, unsigned int size, bool is_write, const uint8_t *data)
{
    unsigned int imin = ops->impl.min_access_size ? ops->impl.min_access_size : 1;
    unsigned int imax = ops->impl.max_access_size ? ops->impl.max_access_size : 4;
    unsigned int a = size;
    gm_addr c;

    if (!expected_valid(ops, xlat, size)) {
        e->result |= GM_DECODE_ERROR;
        for (unsigned int i = 0; i < size; i++)
            e->bytes[xlat - base + i] = 0;
        return;
    }
    if (a > imax)
        a = imax;
    if (a < imin)
        a = imin;
    c = ops->impl.unaligned ? xlat : xlat / a * a;
    for (; c < xlat + size; c += a) {
        dev_call call = { is_write, c, a, 0 };

        if (is_write) {
            for (gm_addr x = c; x < c + a; x++) {
                if (x >= xlat && x < xlat + size)
                    call.value |= (uint64_t)data[x - base] << lane(x, c, a, big);
            }
        } else {
            for (unsigned int i = 0; i < a; i++)
                call.value |= (uint64_t)pattern(c + i) << lane(c + i, c, a, big);
        }
        CHECK(e->n < MAX_CALLS, "expectation overflow");
        e->calls[e->n++] = call;
    }
    for (unsigned int i = 0; !is_write && i < size; i++)
        e->bytes[xlat - base + i] = pattern(xlat + i);
}

static void expect_access(expectation *e, const gm_region_ops *ops, bool big, gm_addr xlat,
                          unsigned int size, enum api api, const uint8_t *data)
{
    bool is_write = api_is_write(api);

    memset(e, 0, sizeof(*e));
    if (api == API_READ || api == API_WRITE) {
        gm_addr x = xlat;
        unsigned int left = size;

        while (left) {
            unsigned int piece = expected_piece(ops, x, left);

            expect_piece(e, ops, big, xlat, x, piece, is_write, data);
            x += piece;
            left -= piece;
        }
    } else {
        expect_piece(e, ops, big, xlat, xlat, size, is_write, data);
    }
}

static uint64_t bytes_to_u64(const uint8_t *b, unsigned int size, bool big)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < size; i++)
        v |= (uint64_t)b[i] << (8 * (big ? size - 1 - i : i));
    return v;
}

static gm_result do_load(gm_as *as, gm_addr addr, unsigned int size, bool big, uint64_t *v)
{
    gm_result r;
    uint8_t v8 = 0;
    uint16_t v16 = 0;
    uint32_t v32 = 0;

    switch (size) {
    case 1:
        r = gm_as_ld8(as, addr, GM_ATTRS_UNSPECIFIED, &v8);
        *v = v8;
        return r;
    case 2:
        r = big ? gm_as_ld16_be(as, addr, GM_ATTRS_UNSPECIFIED, &v16)
                : gm_as_ld16_le(as, addr, GM_ATTRS_UNSPECIFIED, &v16);
        *v = v16;
        return r;
    case 4:
        r = big ? gm_as_ld32_be(as, addr, GM_ATTRS_UNSPECIFIED, &v32)
                : gm_as_ld32_le(as, addr, GM_ATTRS_UNSPECIFIED, &v32);
        *v = v32;
        return r;
    default:
        return big ? gm_as_ld64_be(as, addr, GM_ATTRS_UNSPECIFIED, v)
                   : gm_as_ld64_le(as, addr, GM_ATTRS_UNSPECIFIED, v);
    }
}

static gm_result do_store(gm_as *as, gm_addr addr, unsigned int size, bool big, uint64_t v)
{
    switch (size) {
    case 1:
        return gm_as_st8(as, addr, GM_ATTRS_UNSPECIFIED, (uint8_t)v);
    case 2:
        return big ? gm_as_st16_be(as, addr, GM_ATTRS_UNSPECIFIED, (uint16_t)v)
                   : gm_as_st16_le(as, addr, GM_ATTRS_UNSPECIFIED, (uint16_t)v);
    case 4:
        return big ? gm_as_st32_be(as, addr, GM_ATTRS_UNSPECIFIED, (uint32_t)v)
                   : gm_as_st32_le(as, addr, GM_ATTRS_UNSPECIFIED, (uint32_t)v);
    default:
        return big ? gm_as_st64_be(as, addr, GM_ATTRS_UNSPECIFIED, v)
                   : gm_as_st64_le(as, addr, GM_ATTRS_UNSPECIFIED, v);
    }
}

static void describe_case(const gm_region_ops *ops, gm_addr xlat, unsigned int size,
                          enum api api)
{
    fprintf(stderr,
            "case: valid %u/%u%s impl %u/%u%s %s-endian, %s of %u bytes at 0x%llx\n",
            ops->valid.min_access_size, ops->valid.max_access_size,
            ops->valid.unaligned ? " unaligned" : "", ops->impl.min_access_size,
            ops->impl.max_access_size, ops->impl.unaligned ? " unaligned" : "",
            ops->endianness == GM_ENDIAN_BIG ? "big" : "little", api_names[api], size,
            (unsigned long long)xlat);
}

/* Run one access and compare calls, result and data with the expectation. */
static void check_one_access(gm_as *as, rec_dev *dev, const gm_region_ops *ops, gm_addr xlat,
                             unsigned int size, enum api api)
{
    bool big = ops->endianness == GM_ENDIAN_BIG;
    uint8_t data[8], got[8];
    expectation e;
    gm_result r;
    uint64_t v = 0;
    bool ok;

    for (unsigned int i = 0; i < 8; i++)
        data[i] = (uint8_t)(0xa1 + 0x11 * i);
    expect_access(&e, ops, big, xlat, size, api, data);
    dev->n = 0;
    memset(got, 0xee, sizeof(got));

    switch (api) {
    case API_READ:
        r = gm_as_read(as, IO_BASE + xlat, GM_ATTRS_UNSPECIFIED, got, size);
        break;
    case API_WRITE:
        r = gm_as_write(as, IO_BASE + xlat, GM_ATTRS_UNSPECIFIED, data, size);
        break;
    case API_LD_LE:
    case API_LD_BE:
        r = do_load(as, IO_BASE + xlat, size, api == API_LD_BE, &v);
        break;
    default:
        r = do_store(as, IO_BASE + xlat, size, api == API_ST_BE,
                     bytes_to_u64(data, size, api == API_ST_BE));
        break;
    }

    ok = r == e.result && dev->n == e.n;
    for (int i = 0; ok && i < e.n; i++) {
        ok = dev->calls[i].write == e.calls[i].write && dev->calls[i].addr == e.calls[i].addr &&
             dev->calls[i].size == e.calls[i].size && dev->calls[i].value == e.calls[i].value;
    }
    if (api == API_READ)
        ok = ok && memcmp(got, e.bytes, size) == 0;
    if (api == API_LD_LE || api == API_LD_BE)
        ok = ok && v == bytes_to_u64(e.bytes, size, api == API_LD_BE);
    if (ok)
        return;

    describe_case(ops, xlat, size, api);
    fprintf(stderr, "  result: got 0x%x, want 0x%x\n", r, e.result);
    for (int i = 0; i < dev->n || i < e.n; i++) {
        fprintf(stderr, "  call %d:", i);
        if (i < dev->n)
            fprintf(stderr, " got %c 0x%llx/%u 0x%llx", dev->calls[i].write ? 'W' : 'R',
                    (unsigned long long)dev->calls[i].addr, dev->calls[i].size,
                    (unsigned long long)dev->calls[i].value);
        if (i < e.n)
            fprintf(stderr, " want %c 0x%llx/%u 0x%llx", e.calls[i].write ? 'W' : 'R',
                    (unsigned long long)e.calls[i].addr, e.calls[i].size,
                    (unsigned long long)e.calls[i].value);
        fputc('\n', stderr);
    }
    if (api == API_LD_LE || api == API_LD_BE)
        fprintf(stderr, "  value: got 0x%llx want 0x%llx\n", (unsigned long long)v,
                (unsigned long long)bytes_to_u64(e.bytes, size, api == API_LD_BE));
    CHECK(false, "access differs from the documented rules");
}

static void run_matrix_region(fixture *f, const gm_region_ops *ops, unsigned int *cases)
{
    rec_dev dev = { .big = ops->endianness == GM_ENDIAN_BIG, .error_addr = UINT64_MAX };
    gm_region *mr = gm_region_new_io(f->sys, "dev", IO_SIZE, ops, &dev);

    CHECK(mr != NULL, "gm_region_new_io");
    CHECK_EQ_U64(gm_region_add_subregion(f->root, IO_BASE, mr), 0, "add");
    for (unsigned int size = 1; size <= 8; size *= 2) {
        for (gm_addr xlat = 0x40; xlat < 0x48; xlat++) {
            for (int api = 0; api < API_NUM; api++) {
                check_one_access(f->as, &dev, ops, xlat, size, (enum api)api);
                (*cases)++;
            }
        }
    }
    CHECK_EQ_U64(gm_region_del_subregion(f->root, mr), 0, "del");
    gm_region_unref(mr);
}

static void test_synthesis_matrix(void)
{
    fixture f;
    unsigned int cases = 0;

    fixture_init(&f, 0x100000);
    for (size_t v = 0; v < sizeof(valid_sizes) / sizeof(valid_sizes[0]); v++) {
        for (size_t i = 0; i < sizeof(impl_sizes) / sizeof(impl_sizes[0]); i++) {
            for (int flags = 0; flags < 4; flags++) {
                for (int big = 0; big <= 1; big++) {
                    gm_region_ops ops = rec_ops(big ? GM_ENDIAN_BIG : GM_ENDIAN_LITTLE);

                    ops.valid.min_access_size = valid_sizes[v].min;
                    ops.valid.max_access_size = valid_sizes[v].max;
                    ops.valid.unaligned = flags & 1;
                    ops.impl.min_access_size = impl_sizes[i].min;
                    ops.impl.max_access_size = impl_sizes[i].max;
                    ops.impl.unaligned = flags & 2;
                    run_matrix_region(&f, &ops, &cases);
                }
            }
        }
    }
    CHECK(cases == 9 * 7 * 4 * 2 * 4 * 8 * API_NUM, "ran %u cases", cases);
    fixture_fini(&f);
}

/* ---- results, veto, endianness, validity, fill --------------------------------- */

/* GM_ERROR from the callbacks is OR-ed with the other pieces' results. */
static void test_attrs_results(void)
{
    fixture f;
    rec_dev dev = { .error_addr = 0x4, .read_result = GM_ERROR, .write_result = GM_ERROR };
    gm_region_ops ops = {
        .read_with_attrs = rec_read_attrs,
        .write_with_attrs = rec_write_attrs,
        .endianness = GM_ENDIAN_LITTLE,
    };
    gm_attrs attrs = { .secure = 1, .requester_id = 0x1234 };
    uint8_t buf[16];
    uint32_t v = 0;

    fixture_init(&f, 0x10000);
    add_owned(f.root, 0x1000, gm_region_new_io(f.sys, "err", 0x10, &ops, &dev), 0);

    memset(buf, 0xaa, sizeof(buf));
    CHECK_EQ_U64(gm_as_read(f.as, 0x1000, attrs, buf, 8), GM_ERROR, "read with a failing piece");
    CHECK(dev.n == 2, "two pieces: %d", dev.n);
    for (int i = 0; i < 8; i++)
        CHECK_EQ_U64(buf[i], pattern(i), "data of both pieces");
    CHECK(dev.last_attrs.secure && dev.last_attrs.requester_id == 0x1234, "attrs passed");

    dev.n = 0;
    CHECK_EQ_U64(gm_as_write(f.as, 0x1000, attrs, buf, 8), GM_ERROR, "write with failing piece");
    CHECK(dev.n == 2 && dev.calls[1].write && dev.calls[1].addr == 4, "both pieces written");

    /* Running off the end of the region into a hole adds GM_DECODE_ERROR. */
    dev.n = 0;
    CHECK_EQ_U64(gm_as_read(f.as, 0x1004, attrs, buf, 16), GM_ERROR | GM_DECODE_ERROR,
                 "OR of device error and hole");
    CHECK(dev.n == 3, "three pieces: %d", dev.n);
    for (int i = 12; i < 16; i++)
        CHECK_EQ_U64(buf[i], 0, "hole part zero");

    dev.n = 0;
    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x1008, attrs, &v), GM_OK, "good register");
    CHECK_EQ_U64(v, dev_value(&dev, 8, 4), "value");
    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x1004, attrs, &v), GM_ERROR, "failing register");
    CHECK_EQ_U64(v, dev_value(&dev, 4, 4), "value still delivered");
    fixture_fini(&f);
}

/* valid.accepts vetoes single pieces: they fail, the others still happen. */
static void test_accepts_veto(void)
{
    fixture f;
    rec_dev dev = { .reject_addr = 0x4 };
    gm_region_ops ops = rec_ops(GM_ENDIAN_LITTLE);
    uint8_t buf[8];
    uint32_t v = 0xffffffff;

    ops.valid.accepts = rec_accepts;
    fixture_init(&f, 0x10000);
    add_owned(f.root, 0x1000, gm_region_new_io(f.sys, "picky", 0x10, &ops, &dev), 0);

    memset(buf, 0xaa, sizeof(buf));
    CHECK_EQ_U64(gm_as_read(f.as, 0x1000, GM_ATTRS_UNSPECIFIED, buf, 8), GM_DECODE_ERROR,
                 "vetoed piece");
    CHECK(dev.n == 1 && dev.calls[0].addr == 0, "only the accepted piece reached the device");
    for (int i = 0; i < 4; i++)
        CHECK_EQ_U64(buf[i], pattern(i), "accepted piece data");
    for (int i = 4; i < 8; i++)
        CHECK_EQ_U64(buf[i], 0, "vetoed piece reads zero");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 1, "veto logged");

    dev.n = 0;
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0x1004, GM_ATTRS_UNSPECIFIED, 1), GM_DECODE_ERROR,
                 "vetoed store");
    CHECK(dev.n == 0, "vetoed store not performed");
    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x1004, GM_ATTRS_UNSPECIFIED, &v), GM_DECODE_ERROR,
                 "vetoed load");
    CHECK_EQ_U64(v, 0, "vetoed load is zero");
    fixture_fini(&f);
}

/* GM_ENDIAN_NATIVE means the system's byte order. */
static void test_native_endian(void)
{
    for (int big = 0; big <= 1; big++) {
        fixture f;
        rec_dev dev = { .big = big };
        gm_region_ops ops = rec_ops(GM_ENDIAN_NATIVE);
        uint32_t le = 0, be = 0;
        uint8_t buf[4];

        fixture_init_flags(&f, 0x10000, big ? GM_SYSTEM_BIG_ENDIAN : 0);
        add_owned(f.root, 0x1000, gm_region_new_io(f.sys, "native", 0x10, &ops, &dev), 0);
        CHECK_EQ_U64(gm_as_read(f.as, 0x1000, GM_ATTRS_UNSPECIFIED, buf, 4), GM_OK, "read");
        for (int i = 0; i < 4; i++)
            CHECK_EQ_U64(buf[i], pattern(i), "bytes in the system's byte order");
        CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x1000, GM_ATTRS_UNSPECIFIED, &le), GM_OK, "ld32_le");
        CHECK_EQ_U64(gm_as_ld32_be(f.as, 0x1000, GM_ATTRS_UNSPECIFIED, &be), GM_OK, "ld32_be");
        CHECK_EQ_U64(big ? be : le, dev_value(&dev, 0, 4), "native-order load = register");
        dev.n = 0;
        CHECK_EQ_U64(gm_as_st16_le(f.as, 0x1002, GM_ATTRS_UNSPECIFIED, 0x1122), GM_OK, "st16");
        CHECK_EQ_U64(dev.calls[0].value, big ? 0x2211 : 0x1122, "register value");
        fixture_fini(&f);
    }
}

/* gm_as_access_valid: backed and accepted, nothing performed. */
static void test_access_valid(void)
{
    fixture f;
    rec_dev dev = { .reject_addr = 0x8 };
    gm_region_ops ops = rec_ops(GM_ENDIAN_LITTLE);
    gm_attrs a = GM_ATTRS_UNSPECIFIED;

    ops.valid.min_access_size = 4;
    ops.valid.max_access_size = 4;
    ops.valid.accepts = rec_accepts;
    fixture_init(&f, GM_SIZE_2_64);
    add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    add_owned(f.root, 0x1000, gm_region_new_io(f.sys, "dev", 0x10, &ops, &dev), 0);
    add_owned(f.root, 0x2000, gm_region_new_rom(f.sys, "rom", 0x1000), 0);
    add_owned(f.root, 0x3000, gm_region_new_reservation(f.sys, "resv", 0x1000), 0);
    add_owned(f.root, 0xfffffffffffff000ull, gm_region_new_ram(f.sys, "top", 0x1000), 0);

    CHECK(gm_as_access_valid(f.as, 0x10, 0x100, true, a), "RAM");
    CHECK(gm_as_access_valid(f.as, 0xff0, 0x18, false, a), "RAM then two valid I/O pieces");
    CHECK(!gm_as_access_valid(f.as, 0xff0, 0x1c, false, a), "RAM, I/O, then a vetoed piece");
    CHECK(gm_as_access_valid(f.as, 0x1000, 8, false, a), "two valid 4-byte pieces");
    CHECK(!gm_as_access_valid(f.as, 0x1000, 2, false, a), "2 bytes < valid.min");
    CHECK(!gm_as_access_valid(f.as, 0x1008, 4, true, a), "vetoed by accepts");
    CHECK(!gm_as_access_valid(f.as, 0x1010, 4, false, a), "hole");
    CHECK(gm_as_access_valid(f.as, 0x2000, 4, false, a), "ROM read");
    CHECK(!gm_as_access_valid(f.as, 0x2000, 4, true, a), "ROM write");
    CHECK(!gm_as_access_valid(f.as, 0x3000, 4, false, a), "reservation");
    CHECK(gm_as_access_valid(f.as, 0xfffffffffffffff0ull, 0x10, true, a), "up to 2^64");
    CHECK(!gm_as_access_valid(f.as, 0xfffffffffffffff0ull, 0x11, true, a), "past 2^64");
    CHECK(dev.n == 0, "no read/write callback made");
    CHECK(dev.accepts_calls > 0, "accepts consulted");
    fixture_fini(&f);
}

/* gm_as_fill writes the byte everywhere, through RAM and devices. */
static void test_fill(void)
{
    fixture f;
    rec_dev dev = { 0 };
    gm_region_ops ops = rec_ops(GM_ENDIAN_LITTLE);
    gm_region *ram;
    uint8_t *host;

    fixture_init(&f, 0x10000);
    ram = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    add_owned(f.root, 0x1000, gm_region_new_io(f.sys, "dev", 0x8, &ops, &dev), 0);
    host = gm_region_get_ram_ptr(ram);

    CHECK_EQ_U64(gm_as_fill(f.as, 0x10, GM_ATTRS_UNSPECIFIED, 0x5a, 0xff8), GM_OK, "fill");
    CHECK_EQ_U64(host[0xf], 0, "byte before untouched");
    for (int i = 0x10; i < 0x1000; i++)
        CHECK_EQ_U64(host[i], 0x5a, "filled RAM");
    CHECK(dev.n == 2, "two 4-byte device writes: %d", dev.n);
    CHECK(dev.calls[0].addr == 0 && dev.calls[0].value == 0x5a5a5a5a &&
              dev.calls[1].addr == 4 && dev.calls[1].value == 0x5a5a5a5a,
          "device filled");

    CHECK_EQ_U64(gm_as_fill(f.as, 0x1008, GM_ATTRS_UNSPECIFIED, 0x5a, 0x10), GM_DECODE_ERROR,
                 "fill into a hole");
    CHECK_EQ_U64(gm_as_fill(f.as, 0x20, GM_ATTRS_UNSPECIFIED, 0x00, 0), GM_OK, "empty fill");
    CHECK_EQ_U64(host[0x20], 0x5a, "empty fill writes nothing");
    fixture_fini(&f);
}

/* A fill running past 2^64 fails the part beyond, like gm_as_write: it
 * never wraps around to address 0 (here: longer than one internal chunk). */
static void test_fill_past_2_64(void)
{
    fixture f;
    gm_region *top, *low;
    uint8_t *ht, *hl;

    fixture_init(&f, GM_SIZE_2_64);
    top = add_owned(f.root, 0xfffffffffffff000ull, gm_region_new_ram(f.sys, "top", 0x1000), 0);
    low = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "low", 0x1000), 0);
    ht = gm_region_get_ram_ptr(top);
    hl = gm_region_get_ram_ptr(low);

    CHECK_EQ_U64(gm_as_fill(f.as, 0xfffffffffffffff0ull, GM_ATTRS_UNSPECIFIED, 0x5a, 0x800),
                 GM_DECODE_ERROR, "fill past 2^64");
    for (int i = 0xff0; i < 0x1000; i++)
        CHECK_EQ_U64(ht[i], 0x5a, "part below 2^64 filled");
    for (int i = 0; i < 0x1000; i++)
        CHECK(hl[i] == 0, "fill wrapped to address 0x%x", i);
    fixture_fini(&f);
}

int main(void)
{
    RUN(test_ram_all_sizes);
    RUN(test_cross_hole);
    RUN(test_past_2_64);
    RUN(test_ldst_unaligned);
    RUN(test_ldst_straddle);
    RUN(test_hole_ldst);
    RUN(test_rom);
    RUN(test_reservation);
    RUN(test_rom_device);
    RUN(test_ram_device);
    RUN(test_synthesis_matrix);
    RUN(test_attrs_results);
    RUN(test_accepts_veto);
    RUN(test_native_endian);
    RUN(test_access_valid);
    RUN(test_fill);
    RUN(test_fill_past_2_64);
    return 0;
}
