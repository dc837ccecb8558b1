/* SPDX-License-Identifier: MIT */
/*
 * Spawning and stopping a back-end, and reading a process's CPU time
 * (bp_backend.h).
 *
 * /proc/PID/stat: the command name (field 2) is in parentheses and may
 * itself contain spaces and parentheses, so fields are counted from the
 * last ')'; utime and stime are fields 14 and 15, in clock ticks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bp_backend.h"

#define STOP_GRACE_MS 3000
#define STOP_POLL_MS 20

int bp_spawn_start(bp_spawn *sp, char *const argv[])
{
    pid_t pid = fork();

    if (pid < 0)
        return -errno;
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "guestmem-blkperf: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);    /* also here: no race with the child's own call */
    sp->pid = pid;
    sp->exited = false;
    sp->status = 0;
    return 0;
}

bool bp_spawn_alive(bp_spawn *sp)
{
    if (!sp->pid || sp->exited)
        return false;
    if (waitpid(sp->pid, &sp->status, WNOHANG) == sp->pid)
        sp->exited = true;
    return !sp->exited;
}

const char *bp_spawn_describe(const bp_spawn *sp, char *buf, unsigned int len)
{
    if (WIFSIGNALED(sp->status))
        snprintf(buf, len, "was killed by signal %d", WTERMSIG(sp->status));
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(sp->status));
    return buf;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

void bp_spawn_stop(bp_spawn *sp)
{
    if (!sp->pid)
        return;
    kill(-sp->pid, SIGTERM);
    kill(-sp->pid, SIGCONT);
    for (int waited = 0; waited < STOP_GRACE_MS && bp_spawn_alive(sp); waited += STOP_POLL_MS)
        sleep_ms(STOP_POLL_MS);
    if (bp_spawn_alive(sp)) {
        kill(-sp->pid, SIGKILL);
        while (!sp->exited && waitpid(sp->pid, &sp->status, 0) < 0 && errno == EINTR)
            ;
        sp->exited = true;
    }
    kill(-sp->pid, SIGKILL);    /* anything else left in the group */
}

static int read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -errno;
    buf[n] = 0;
    return 0;
}

int64_t bp_proc_cpu_ns(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long utime, stime;
    long hz = sysconf(_SC_CLK_TCK);

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (pid <= 0 || hz <= 0 || read_file(path, buf, sizeof(buf)) || !(p = strrchr(buf, ')')))
        return -1;
    /* after ")": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
     * utime stime */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
               &stime) != 2)
        return -1;
    return (int64_t)((utime + stime) * (1000000000ull / (unsigned long long)hz));
}

const char *bp_proc_name(pid_t pid, char *buf, unsigned int len)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    if (pid <= 0 || read_file(path, buf, len)) {
        snprintf(buf, len, "?");
        return buf;
    }
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}
