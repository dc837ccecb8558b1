/* SPDX-License-Identifier: MIT */
/*
 * blkload: a tiny synchronous block load generator for the bench guest.
 *
 *   blkload DEV read|write seq|rand BS COUNT [SEED [SPAN]]
 *
 * Opens DEV with O_DIRECT and issues COUNT requests of BS bytes, one at a
 * time (queue depth 1), with pread/pwrite from a page-aligned buffer.
 * `seq` starts at offset 0; `rand` picks BS-aligned offsets in [0, SPAN)
 * (default: the whole device) from a xorshift64* generator seeded with SEED
 * (default 1), so a run is reproducible. Writes send a fixed byte pattern.
 *
 * Prints one line (times from CLOCK_MONOTONIC):
 *
 *   BLKLOAD op=randread bs=4096 count=N bytes=B elapsed=S iops=X mbps=Y
 *
 * and exits 0, or prints a reason on stderr and exits 1 at the first failed
 * or short transfer (2 on bad usage). Built static on the host by
 * scripts/bench-blk.sh (gcc -static -O2) and put in the guest's initramfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: blkload DEV read|write seq|rand BS COUNT [SEED [SPAN]]\n");
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 0);
    return errno || end == s || *end ? -1 : 0;
}

/* The size of a block device, or of a regular file (for trying it on the host). */
static int disk_size(int fd, uint64_t *size)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -1;
    if (S_ISREG(st.st_mode)) {
        *size = (uint64_t)st.st_size;
        return 0;
    }
    return ioctl(fd, BLKGETSIZE64, size);
}

int main(int argc, char **argv)
{
    uint64_t bs, count, seed = 1, span = 0, size = 0, slots;
    bool write, rand;
    double t0, t1, el;
    void *buf;
    int fd;

    if (argc < 6 || argc > 8)
        return usage();
    if (strcmp(argv[2], "read") && strcmp(argv[2], "write"))
        return usage();
    if (strcmp(argv[3], "seq") && strcmp(argv[3], "rand"))
        return usage();
    write = !strcmp(argv[2], "write");
    rand = !strcmp(argv[3], "rand");
    if (parse_u64(argv[4], &bs) || parse_u64(argv[5], &count) || !bs || bs % 512 ||
        bs > (64u << 20) || (argc > 6 && parse_u64(argv[6], &seed)) ||
        (argc > 7 && parse_u64(argv[7], &span)))
        return usage();

    fd = open(argv[1], (write ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
    if (fd < 0 || disk_size(fd, &size) < 0) {
        fprintf(stderr, "blkload: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    if (!span || span > size)
        span = size;
    slots = span / bs;
    if (!slots || (!rand && count > size / bs)) {
        fprintf(stderr, "blkload: %s is too small for %" PRIu64 " x %" PRIu64 " bytes\n",
                argv[1], count, bs);
        return 1;
    }
    if (posix_memalign(&buf, 4096, bs)) {
        fprintf(stderr, "blkload: out of memory\n");
        return 1;
    }
    memset(buf, 0xa5, bs);
    rng_state = seed ? seed : 1;

    t0 = now();
    for (uint64_t i = 0; i < count; i++) {
        off_t off = (off_t)((rand ? rng_next() % slots : i) * bs);
        ssize_t n = write ? pwrite(fd, buf, bs, off) : pread(fd, buf, bs, off);

        if (n != (ssize_t)bs) {
            fprintf(stderr, "blkload: %s at %lld: %s\n", write ? "pwrite" : "pread",
                    (long long)off, n < 0 ? strerror(errno) : "short transfer");
            return 1;
        }
    }
    t1 = now();
    el = t1 > t0 ? t1 - t0 : 1e-9;
    printf("BLKLOAD op=%s%s bs=%" PRIu64 " count=%" PRIu64 " bytes=%" PRIu64
           " elapsed=%.6f iops=%.1f mbps=%.3f\n",
           rand ? "rand" : "seq", write ? "write" : "read", bs, count, bs * count, el,
           (double)count / el, (double)(bs * count) / el / 1e6);
    close(fd);
    free(buf);
    return 0;
}
