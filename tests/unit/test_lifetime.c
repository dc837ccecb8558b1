/* SPDX-License-Identifier: MIT */
/*
 * Lifetime and constructor/setter errors.
 *
 * White-box: gm_system_drain_frees() (core/internal.h) waits for the RCU
 * callbacks that free regions and views, so a test can tell "freed" from
 * "not yet freed". Use-after-free and leaks are caught by the ASan/LSan
 * build of this program.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/internal.h"

/* A region dropped by everyone but the current flat view stays usable until
 * the view is replaced; then it is freed. */
static void test_kept_alive_by_view(void)
{
    fixture f;
    gm_region *ram;
    uint8_t *host, buf[4];
    gm_addr off;
    gm_section s;

    fixture_init(&f, 0x100000);
    ram = gm_region_new_ram(f.sys, "ram", 0x1000);
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x1000, ram), 0, "add");
    host = gm_region_get_ram_ptr(ram);
    memcpy(host, "\x01\x02\x03\x04", 4);

    gm_transaction_begin(f.sys);
    CHECK_EQ_U64(gm_region_del_subregion(f.root, ram), 0, "del inside a transaction");
    gm_region_unref(ram);   /* the creator's reference; the view holds the last */
    CHECK_EQ_U64(gm_as_read(f.as, 0x1000, GM_ATTRS_UNSPECIFIED, buf, 4), GM_OK,
                 "old view still serves the region");
    CHECK(memcmp(buf, "\x01\x02\x03\x04", 4) == 0, "its memory is intact");
    CHECK(gm_region_from_host(f.sys, host, &off) == ram, "still registered");
    gm_region_unref(ram);   /* from_host's reference */
    gm_transaction_commit(f.sys);

    CHECK_EQ_U64(gm_as_read(f.as, 0x1000, GM_ATTRS_UNSPECIFIED, buf, 4), GM_DECODE_ERROR,
                 "new view has a hole");
    gm_system_drain_frees(f.sys);
    CHECK(gm_region_from_host(f.sys, host, &off) == NULL, "freed once the view went");

    /* A looked-up section holds its region the same way. */
    ram = gm_region_new_ram(f.sys, "ram2", 0x1000);
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x2000, ram), 0, "add ram2");
    memset(gm_region_get_ram_ptr(ram), 0x77, 0x1000);
    CHECK(gm_as_lookup(f.as, 0x2000, &s) && s.mr == ram, "lookup");
    CHECK_EQ_U64(gm_region_del_subregion(f.root, ram), 0, "del ram2");
    gm_region_unref(ram);
    gm_system_drain_frees(f.sys);
    CHECK_EQ_U64(((uint8_t *)gm_region_get_ram_ptr(s.mr))[0xfff], 0x77,
                 "section's region still alive");
    gm_region_unref(s.mr);
    fixture_fini(&f);
}

/* gm_system_free releases everything the caller left to the tree
 * (LeakSanitizer checks there is nothing left). */
static void test_system_free_cleans_up(void)
{
    gm_system *sys = gm_system_new(0);
    log_capture log = { 0 };
    gm_region *root, *ram, *sub, *alias, *romd, *fdram, *io;
    gm_as *as, *as2;
    gm_listener l = { .name = "l" };
    gm_cache c = GM_CACHE_INIT;
    uint64_t len = 16;
    int fd;

    gm_system_set_log(sys, log_capture_fn, &log, false);
    root = gm_region_new_container(sys, "root", GM_SIZE_2_64);
    ram = gm_region_new_ram(sys, "ram", 0x10000);
    sub = gm_region_new_container(sys, "sub", 0x1000);
    alias = gm_region_new_alias(sys, "alias", ram, 0x1000, 0x1000);
    romd = gm_region_new_rom_device(sys, "romd", 0x1000, &null_ops, NULL);
    io = gm_region_new_io(sys, "io", 0x1000, &null_ops, NULL);
    fd = memfd_create("guestmem-test", 0);
    CHECK(fd >= 0 && ftruncate(fd, 0x2000) == 0, "memfd");
    fdram = gm_region_new_ram_from_fd(sys, "fdram", 0x2000, fd, 0, true);
    CHECK(fdram != NULL, "ram from fd");
    close(fd);

    CHECK_EQ_U64(gm_region_add_subregion(root, 0x0, ram), 0, "ram");
    CHECK_EQ_U64(gm_region_add_subregion(root, 0x100000, sub), 0, "sub");
    CHECK_EQ_U64(gm_region_add_subregion(sub, 0x0, alias), 0, "alias");
    CHECK_EQ_U64(gm_region_add_subregion(root, 0x200000, romd), 0, "romd");
    CHECK_EQ_U64(gm_region_add_subregion(root, 0x300000, io), 0, "io");
    CHECK_EQ_U64(gm_region_add_subregion(root, 0x400000, fdram), 0, "fdram");
    {
        uint64_t fd_off = 1;

        CHECK(gm_region_get_fd(fdram, &fd_off) >= 0 && fd_off == 0, "fd RAM shares its fd");
        CHECK(gm_region_get_fd(ram, NULL) == -1, "anonymous RAM has no fd");
    }
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_VGA, true), 0, "bitmap");
    CHECK_EQ_U64(gm_system_log_global_start(sys), 0, "global dirty");
    as = gm_as_new(sys, root, "memory");
    as2 = gm_as_new(sys, sub, "sub");
    CHECK(as && as2, "address spaces");
    CHECK_EQ_U64(gm_listener_register(&l, as), 0, "listener");
    gm_listener_unregister(&l);
    CHECK_EQ_U64(gm_cache_init(&c, as, 0x10, 0x10, true), 0x10, "cache");
    gm_cache_destroy(&c);
    /* A bounce buffer left mapped is reclaimed (and reported). */
    CHECK(gm_as_map(as, 0x300000, &len, true, GM_ATTRS_UNSPECIFIED) != NULL, "bounce");

    gm_as_free(as2);
    gm_as_free(as);
    gm_region_unref(root);
    gm_region_unref(ram);
    gm_region_unref(sub);
    gm_region_unref(alias);
    gm_region_unref(romd);
    gm_region_unref(io);
    gm_region_unref(fdram);
    gm_system_free(sys);
    CHECK(log.count[GM_LOG_ERROR] == 1, "the leftover bounce buffer was reported: %u",
          log.count[GM_LOG_ERROR]);
}

/* Constructors report bad arguments through errno. */
static void test_constructor_errno(void)
{
    gm_system *sys = gm_system_new(0), *sys2 = gm_system_new(0);
    gm_region *other = gm_region_new_ram(sys2, "other", 0x1000);
    gm_region_ops bad = null_ops;

    errno = 0;
    CHECK(gm_system_new(0x80) == NULL && errno == EINVAL, "unknown system flag");
    errno = 0;
    CHECK(gm_region_new_ram(sys, "r", 0) == NULL && errno == EINVAL, "RAM size 0");
    errno = 0;
    CHECK(gm_region_new_ram(sys, "r", GM_SIZE_2_64) == NULL && errno == EINVAL, "RAM 2^64");
    errno = 0;
    CHECK(gm_region_new_rom(sys, "r", 0) == NULL && errno == EINVAL, "ROM size 0");
    errno = 0;
    CHECK(gm_region_new_ram_ptr(sys, "r", 0x1000, NULL) == NULL && errno == EINVAL,
          "RAM over NULL");
    errno = 0;
    CHECK(gm_region_new_alias(sys, "a", NULL, 0, 0x10) == NULL && errno == EINVAL,
          "alias of NULL");
    errno = 0;
    CHECK(gm_region_new_alias(sys, "a", other, 0, 0x10) == NULL && errno == EINVAL,
          "alias of another system's region");
    errno = 0;
    CHECK(gm_region_new_rom_device(sys, "d", 0x1000, NULL, NULL) == NULL && errno == EINVAL,
          "ROM device without ops");
    bad.valid.max_access_size = 3;
    errno = 0;
    CHECK(gm_region_new_io(sys, "io", 0x10, &bad, NULL) == NULL && errno == EINVAL,
          "access size 3");
    bad = null_ops;
    bad.impl.min_access_size = 8;
    bad.impl.max_access_size = 4;
    errno = 0;
    CHECK(gm_region_new_io(sys, "io", 0x10, &bad, NULL) == NULL && errno == EINVAL,
          "impl min > max");
    errno = 0;
    CHECK(gm_region_new_ram_from_fd(sys, "fd", 0x1000, -1, 0, true) == NULL && errno == EBADF,
          "bad fd");
    errno = 0;
    CHECK(gm_region_new_ram_from_fd(sys, "fd", 0x1000, 0, 1, true) == NULL && errno == EINVAL,
          "unaligned fd offset");
    errno = 0;
    CHECK(gm_as_new(sys, NULL, "as") == NULL && errno == EINVAL, "address space without root");
    errno = 0;
    CHECK(gm_as_new(sys, other, "as") == NULL && errno == EINVAL, "root of another system");

    /* NULL is accepted where the headers say so. */
    gm_region_unref(NULL);
    gm_as_free(NULL);
    gm_system_free(NULL);

    gm_region_unref(other);
    gm_system_free(sys2);
    gm_system_free(sys);
}

/* Setters refuse what the kind of region cannot do. */
static void test_setter_errors(void)
{
    fixture f;
    gm_region *ram, *alias, *romd, *io;
    sec_list l;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x2000), 0);
    alias = add_owned(f.root, 0x10000, gm_region_new_alias(f.sys, "alias", ram, 0, 0x1000), 0);
    romd = add_owned(f.root, 0x20000,
                     gm_region_new_rom_device(f.sys, "romd", 0x1000, &null_ops, NULL), 0);
    io = add_owned(f.root, 0x30000, gm_region_new_io(f.sys, "io", 0x1000, &null_ops, NULL), 0);

    CHECK_EQ_U64(gm_region_set_size(ram, 0x2001), -EINVAL, "RAM beyond its allocation");
    CHECK_EQ_U64(gm_region_size(ram), 0x2000, "size unchanged");
    CHECK_EQ_U64(gm_region_set_size(ram, 0x1000), 0, "shrink");
    CHECK_EQ_U64(gm_region_set_size(ram, 0x2000), 0, "grow back within the allocation");
    CHECK_EQ_U64(gm_region_set_size(io, 0x4000), 0, "I/O may grow");
    sec_list_get(f.as, &l);
    check_section(&l, 0, ram, 0x0, 0x2000, 0x0);
    check_section(&l, 3, io, 0x30000, 0x4000, 0x0);

    CHECK_EQ_U64(gm_region_set_alias_offset(ram, 0x10), -EINVAL, "alias offset on RAM");
    CHECK_EQ_U64(gm_region_set_alias_offset(io, 0x10), -EINVAL, "alias offset on I/O");
    CHECK_EQ_U64(gm_region_set_alias_offset(alias, 0x10), 0, "alias offset on an alias");
    CHECK_EQ_U64(gm_region_set_romd(ram, false), -EINVAL, "romd on RAM");
    CHECK_EQ_U64(gm_region_set_romd(io, false), -EINVAL, "romd on I/O");
    CHECK_EQ_U64(gm_region_set_romd(romd, false), 0, "romd on a ROM device");
    fixture_fini(&f);
}

/* The same host memory cannot back two RAM regions. */
static void test_ram_ptr_twice(void)
{
    gm_system *sys = gm_system_new(0);
    size_t size = 0x4000;
    uint8_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    gm_region *a, *b;

    CHECK(mem != MAP_FAILED, "mmap");
    a = gm_region_new_ram_ptr(sys, "a", 0x2000, mem);
    CHECK(a != NULL, "first");
    errno = 0;
    CHECK(gm_region_new_ram_ptr(sys, "b", 0x2000, mem) == NULL && errno == EEXIST, "same memory");
    errno = 0;
    CHECK(gm_region_new_ram_ptr(sys, "b", 0x2000, mem + 0x1000) == NULL && errno == EEXIST,
          "overlapping memory");
    errno = 0;
    CHECK(gm_region_new_ram_device_ptr(sys, "b", 0x10, mem + 0x1ff0) == NULL && errno == EEXIST,
          "RAM device over the same memory");
    b = gm_region_new_ram_ptr(sys, "b", 0x2000, mem + 0x2000);
    CHECK(b != NULL, "adjacent memory is fine");

    gm_region_unref(a);
    gm_system_drain_frees(sys);
    a = gm_region_new_ram_ptr(sys, "a again", 0x2000, mem);
    CHECK(a != NULL, "memory reusable once the first region is freed");
    gm_region_unref(a);
    gm_region_unref(b);
    gm_system_free(sys);
    munmap(mem, size);
}

/* Freeing a region that is in no tree is not a topology change: the next
 * transaction that changes nothing publishes nothing. */
static void test_free_is_not_a_topology_change(void)
{
    fixture f;
    gm_region *ram, *lonely;
    uint64_t gen;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    lonely = gm_region_new_container(f.sys, "lonely", 0x1000);
    gm_region_unref(lonely);
    gm_system_drain_frees(f.sys);

    gen = gm_system_generation(f.sys);
    gm_region_set_enabled(ram, true);   /* already enabled: no change */
    CHECK_EQ_U64(gm_system_generation(f.sys), gen, "no new flat view published");
    fixture_fini(&f);
}

int main(void)
{
    RUN(test_kept_alive_by_view);
    RUN(test_system_free_cleans_up);
    RUN(test_constructor_errno);
    RUN(test_setter_errors);
    RUN(test_ram_ptr_twice);
    RUN(test_free_is_not_a_topology_change);
    return 0;
}
