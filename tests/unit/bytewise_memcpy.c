/* SPDX-License-Identifier: MIT */
/*
 * A memcpy that copies one byte at a time, linked into test_atomic_bytewise
 * in place of the C library's.
 *
 * The C standard says nothing about the size of the accesses memcpy makes,
 * and C libraries differ: glibc's x86-64 memcpy happens to copy 4 and 8
 * bytes with two overlapping whole-word moves, musl's copies anything
 * shorter than 8 bytes one byte at a time. With this memcpy linked in, a
 * library path that relies on memcpy for a 1/2/4/8-byte guest access tears
 * at every width, whatever the host's C library does.
 *
 * The bytes are moved through volatile pointers so that the compiler cannot
 * turn the loop back into a call to memcpy.
 */
#include <stddef.h>
#include <string.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    volatile unsigned char *d = dst;
    const volatile unsigned char *s = src;

    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
    return dst;
}
