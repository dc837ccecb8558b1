/* SPDX-License-Identifier: MIT */
/*
 * The back-end process as guestmem-blkperf sees it: one it started itself
 * (--spawn), and the CPU time of whichever process is at the other end of
 * the socket (SO_PEERCRED), read from /proc/PID/stat.
 *
 * A spawned command runs in a process group of its own, so a wrapper (a
 * shell, a sanitizer runner) and the back-end it starts are stopped
 * together: SIGTERM, then SIGKILL after a grace period. A stopped
 * (SIGSTOP) back-end is sent SIGCONT after SIGTERM so it can act on it.
 */
#ifndef GUESTMEM_BLKPERF_BACKEND_H
#define GUESTMEM_BLKPERF_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct bp_spawn {
    pid_t pid;         /* 0 when nothing was spawned */
    int status;        /* wait status once reaped */
    bool exited;
} bp_spawn;

/**
 * bp_spawn_start() - run @argv (argv[0] looked up in PATH) in a new process group.
 * Return: 0 or the negative errno of fork().
 */
int bp_spawn_start(bp_spawn *sp, char *const argv[]);

/** bp_spawn_alive() - false once the spawned process has exited (reaps it). */
bool bp_spawn_alive(bp_spawn *sp);

/** bp_spawn_describe() - "exited with status N" / "killed by signal N" into @buf. */
const char *bp_spawn_describe(const bp_spawn *sp, char *buf, unsigned int len);

/** bp_spawn_stop() - terminate the process group and reap the process. */
void bp_spawn_stop(bp_spawn *sp);

/**
 * bp_proc_cpu_ns() - user + system CPU time of process @pid (all threads).
 * Return: nanoseconds, or -1 when /proc/PID/stat cannot be read.
 */
int64_t bp_proc_cpu_ns(pid_t pid);

/** bp_proc_name() - the process's comm into @buf ("?" when unknown). */
const char *bp_proc_name(pid_t pid, char *buf, unsigned int len);

#endif
