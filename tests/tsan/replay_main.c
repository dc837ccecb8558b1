/* SPDX-License-Identifier: MIT */
/*
 * A main() for running a fuzz target's LLVMFuzzerTestOneInput() over files
 * without libFuzzer (scripts/tsan.sh): libFuzzer's coverage counters are
 * plain stores that every thread makes, which ThreadSanitizer would report.
 *
 * Usage: PROGRAM FILE_OR_DIRECTORY...   (each file is one input, in order;
 * directories are read in name order). Prints each file before running it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        perror(path);
        return 1;
    }
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        perror(path);
        return 1;
    }
    fclose(f);
    fprintf(stderr, "Running: %s\n", path);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_path(const char *path)
{
    struct dirent **names;
    struct stat st;
    int n, err = 0;

    if (stat(path, &st) < 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    n = scandir(path, &names, NULL, by_name);
    for (int i = 0; i < n; i++) {
        char child[4096];

        if (names[i]->d_name[0] != '.') {
            snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
            err |= run_file(child);
        }
        free(names[i]);
    }
    free(names);
    return err || n < 0;
}

int main(int argc, char **argv)
{
    int err = 0;

    for (int i = 1; i < argc; i++)
        err |= run_path(argv[i]);
    return err;
}
