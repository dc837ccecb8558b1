/* SPDX-License-Identifier: MIT */
/*
 * Option parsing of guestmem-blkperf. Names follow fio where fio has the
 * concept (--rw, --bs, --iodepth, --runtime, --size, --offset, --rwmixread,
 * --verify), with '-' instead of '_'. Everything after `--spawn --` is the
 * back-end's command line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "bp_options.h"
#include "bp_util.h"

void bp_options_usage(FILE *out)
{
    fprintf(out,
"usage: guestmem-blkperf --socket PATH [options] [--spawn -- COMMAND...]\n"
"\n"
"A vhost-user-blk front-end and virtio-blk driver in one process: drives a\n"
"back-end as QEMU and a guest would, and measures it.\n"
"\n"
"Back-end:\n"
"  --socket PATH          the back-end's vhost-user socket\n"
"  --spawn -- CMD...      start CMD first (it must listen on PATH), stop it at the end\n"
"  --connect-wait-ms N    keep trying to connect this long (default 5000)\n"
"  --timeout-ms N         limit for every reply and every request (default 5000)\n"
"  --reconnect            if the back-end goes away, reconnect to PATH and go on\n"
"                         (in-flight requests resubmitted through the in-flight region)\n"
"Workload:\n"
"  --rw MODE              read, write, randread (default), randwrite or randrw\n"
"  --rwmixread PCT        percentage of reads for randrw (default 50)\n"
"  --bs SIZE              request size (default 4K; K, M, G suffixes)\n"
"  --bs-range MIN-MAX     random request sizes between MIN and MAX\n"
"  --segments N           split each request's data over at least N descriptors\n"
"  --unaligned            segments of any byte length at odd guest addresses\n"
"  --iodepth N            requests in flight per queue (default 1)\n"
"  --queues N             virtqueues, one thread each (default 1)\n"
"  --runtime SECONDS      run this long\n"
"  --ios N                issue N requests in all (default: one pass over --size)\n"
"  --size SIZE            bytes of the disk to use (default: all after --offset)\n"
"  --offset SIZE          where that region starts (default 0)\n"
"  --seed N               random seed, also of the verify pattern (default 1)\n"
"Verification:\n"
"  --verify               write a pattern of seed and offset, check every byte read\n"
"                         (read workloads first fill the region; writes are read back)\n"
"  --verify-zeroed        --verify, and the region was zeros before: sectors never\n"
"                         written must still read as zeros\n"
"  --verify-only          check reads against a pattern an earlier run wrote\n"
"  --continue-on-error    an I/O error fails only that request (counted)\n"
"Device:\n"
"  --packed               packed virtqueues (the back-end must offer them)\n"
"  --no-event-idx         do not negotiate VIRTIO_F_EVENT_IDX\n"
"  --no-indirect          direct descriptor chains only\n"
"  --queue-size N         ring size (default: 128, or what the depth needs)\n"
"  --iommu strict|lazy    play a vIOMMU: IOVAs per request, misses answered one page\n"
"                         at a time, invalidation per request or every --lazy-batch\n"
"  --lazy-batch N         requests between lazy invalidations (default 256)\n"
"Migration:\n"
"  --log                  dirty logging on at 25%% of the run (SET_LOG_BASE, LOG_ALL), the\n"
"                         rings stopped at 75%% with requests in flight (GET_VRING_BASE\n"
"                         timed): every page the back-end wrote meanwhile must be logged\n"
"  --log-off              --log, and logging off again at 50%%\n"
"Output:\n"
"  --json                 one JSON object instead of the table\n"
"  --quiet                no live status line\n"
"  -h, --help             this text\n");
}

enum {
    OPT_SOCKET = 256, OPT_SPAWN, OPT_CONNECT_WAIT, OPT_TIMEOUT, OPT_RECONNECT, OPT_RW,
    OPT_RWMIX, OPT_BS, OPT_BS_RANGE, OPT_SEGMENTS, OPT_UNALIGNED, OPT_IODEPTH, OPT_QUEUES,
    OPT_RUNTIME, OPT_IOS, OPT_SIZE, OPT_OFFSET, OPT_SEED, OPT_VERIFY, OPT_VERIFY_ZEROED,
    OPT_VERIFY_ONLY, OPT_CONTINUE, OPT_PACKED, OPT_NO_EVENT_IDX, OPT_NO_INDIRECT,
    OPT_QUEUE_SIZE, OPT_IOMMU, OPT_LAZY_BATCH, OPT_LOG, OPT_LOG_OFF, OPT_JSON, OPT_QUIET,
};

static const struct option long_opts[] = {
    { "socket", required_argument, NULL, OPT_SOCKET },
    { "spawn", no_argument, NULL, OPT_SPAWN },
    { "connect-wait-ms", required_argument, NULL, OPT_CONNECT_WAIT },
    { "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
    { "reconnect", no_argument, NULL, OPT_RECONNECT },
    { "rw", required_argument, NULL, OPT_RW },
    { "rwmixread", required_argument, NULL, OPT_RWMIX },
    { "bs", required_argument, NULL, OPT_BS },
    { "bs-range", required_argument, NULL, OPT_BS_RANGE },
    { "segments", required_argument, NULL, OPT_SEGMENTS },
    { "unaligned", no_argument, NULL, OPT_UNALIGNED },
    { "iodepth", required_argument, NULL, OPT_IODEPTH },
    { "queues", required_argument, NULL, OPT_QUEUES },
    { "runtime", required_argument, NULL, OPT_RUNTIME },
    { "ios", required_argument, NULL, OPT_IOS },
    { "size", required_argument, NULL, OPT_SIZE },
    { "offset", required_argument, NULL, OPT_OFFSET },
    { "seed", required_argument, NULL, OPT_SEED },
    { "verify", no_argument, NULL, OPT_VERIFY },
    { "verify-zeroed", no_argument, NULL, OPT_VERIFY_ZEROED },
    { "verify-only", no_argument, NULL, OPT_VERIFY_ONLY },
    { "continue-on-error", no_argument, NULL, OPT_CONTINUE },
    { "packed", no_argument, NULL, OPT_PACKED },
    { "no-event-idx", no_argument, NULL, OPT_NO_EVENT_IDX },
    { "no-indirect", no_argument, NULL, OPT_NO_INDIRECT },
    { "queue-size", required_argument, NULL, OPT_QUEUE_SIZE },
    { "iommu", required_argument, NULL, OPT_IOMMU },
    { "lazy-batch", required_argument, NULL, OPT_LAZY_BATCH },
    { "log", no_argument, NULL, OPT_LOG },
    { "log-off", no_argument, NULL, OPT_LOG_OFF },
    { "json", no_argument, NULL, OPT_JSON },
    { "quiet", no_argument, NULL, OPT_QUIET },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int parse_rw(const char *s, enum bp_rw *rw)
{
    for (int i = BP_RW_READ; i <= BP_RW_RANDRW; i++) {
        if (!strcmp(s, bp_rw_name((enum bp_rw)i))) {
            *rw = (enum bp_rw)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_bs(const char *s, uint32_t *out)
{
    uint64_t v;

    if (bp_parse_size(s, &v) || !v || v % 512 || v > BP_MAX_BS)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static int parse_range(const char *s, bp_options *o)
{
    char buf[64], *dash;

    if (strlen(s) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, s);
    dash = strchr(buf, '-');
    if (!dash)
        return -EINVAL;
    *dash = 0;
    if (parse_bs(buf, &o->bs_min) || parse_bs(dash + 1, &o->bs_max) || o->bs_min > o->bs_max)
        return -EINVAL;
    return 0;
}

static int parse_uint(const char *s, uint64_t min, uint64_t max, unsigned int *out)
{
    uint64_t v;
    int err = bp_parse_uint(s, min, max, &v);

    if (!err)
        *out = (unsigned int)v;
    return err;
}

static int parse_runtime(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end || !(v > 0) || v > 1e7)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_iommu(const char *s, enum bp_iommu_mode *mode)
{
    if (!strcmp(s, "strict"))
        *mode = BP_IOMMU_STRICT;
    else if (!strcmp(s, "lazy"))
        *mode = BP_IOMMU_LAZY;
    else
        return -EINVAL;
    return 0;
}

/* Options that take a value. */
static int parse_value(bp_options *o, int c, const char *arg)
{
    switch (c) {
    case OPT_SOCKET: o->socket = arg; return 0;
    case OPT_CONNECT_WAIT: return parse_uint(arg, 0, 3600000, &o->connect_wait_ms);
    case OPT_TIMEOUT: return parse_uint(arg, 100, 3600000, &o->timeout_ms);
    case OPT_RW: return parse_rw(arg, &o->rw);
    case OPT_RWMIX: return parse_uint(arg, 0, 100, &o->rwmixread);
    case OPT_BS:
        if (parse_bs(arg, &o->bs_min))
            return -EINVAL;
        o->bs_max = o->bs_min;
        return 0;
    case OPT_BS_RANGE: return parse_range(arg, o);
    case OPT_SEGMENTS: return parse_uint(arg, 1, 128, &o->segments);
    case OPT_IODEPTH: return parse_uint(arg, 1, BP_MAX_DEPTH, &o->iodepth);
    case OPT_QUEUES: return parse_uint(arg, 1, BP_MAX_QUEUES, &o->queues);
    case OPT_RUNTIME: return parse_runtime(arg, &o->runtime);
    case OPT_IOS: return bp_parse_uint(arg, 1, UINT64_MAX >> 1, &o->ios);
    case OPT_SIZE: return bp_parse_size(arg, &o->size) || !o->size || o->size % 512 ? -EINVAL : 0;
    case OPT_OFFSET: return bp_parse_size(arg, &o->offset) || o->offset % 512 ? -EINVAL : 0;
    case OPT_SEED: return bp_parse_uint(arg, 0, UINT64_MAX, &o->seed);
    case OPT_QUEUE_SIZE: return parse_uint(arg, 1, 32768, &o->queue_size);
    case OPT_IOMMU: return parse_iommu(arg, &o->iommu);
    case OPT_LAZY_BATCH: return parse_uint(arg, 1, 65536, &o->lazy_batch);
    default: return -EINVAL;
    }
}

/* Options without a value. */
static bool parse_flag(bp_options *o, int c)
{
    switch (c) {
    case OPT_SPAWN: o->spawn = true; break;
    case OPT_RECONNECT: o->reconnect = true; break;
    case OPT_UNALIGNED: o->unaligned = true; break;
    case OPT_VERIFY: o->verify = true; break;
    case OPT_VERIFY_ZEROED: o->verify = o->verify_zeroed = true; break;
    case OPT_VERIFY_ONLY: o->verify = o->verify_only = true; break;
    case OPT_CONTINUE: o->continue_on_error = true; break;
    case OPT_PACKED: o->packed = true; break;
    case OPT_NO_EVENT_IDX: o->event_idx = false; break;
    case OPT_NO_INDIRECT: o->indirect = false; break;
    case OPT_LOG: o->log = true; break;
    case OPT_LOG_OFF: o->log = o->log_off = true; break;
    case OPT_JSON: o->json = true; break;
    case OPT_QUIET: o->quiet = true; break;
    default: return false;
    }
    return true;
}

static const char *check_combinations(const bp_options *o)
{
    if (!o->socket)
        return "--socket is required";
    if (o->verify_only && bp_rw_writes(o->rw))
        return "--verify-only checks reads: use --rw read or randread";
    if (o->reconnect && o->spawn)
        return "--reconnect cannot restart a --spawn'ed back-end";
    if (o->runtime && o->ios)
        return "give --runtime or --ios, not both";
    if (o->log && o->reconnect)
        return "--log and --reconnect do not go together (a migration and a back-end crash)";
    return NULL;
}

static void defaults(bp_options *o)
{
    memset(o, 0, sizeof(*o));
    o->rw = BP_RW_RANDREAD;
    o->rwmixread = 50;
    o->bs_min = o->bs_max = 4096;
    o->segments = 1;
    o->iodepth = 1;
    o->queues = 1;
    o->seed = 1;
    o->event_idx = true;
    o->indirect = true;
    o->lazy_batch = 256;
    o->timeout_ms = 5000;
    o->connect_wait_ms = 5000;
}

static int bad(const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s\n", BP_NAME, what, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "try '%s --help'\n", BP_NAME);
    return -1;
}

int bp_options_parse(int argc, char **argv, bp_options *o)
{
    const char *why;
    int c;

    defaults(o);
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        if (c == 'h') {
            bp_options_usage(stdout);
            return 1;
        }
        if (!parse_flag(o, c) && parse_value(o, c, optarg))
            return bad("invalid option or value", c == '?' ? NULL : optarg);
    }
    if (o->spawn) {
        if (optind >= argc)
            return bad("--spawn needs a command after --", NULL);
        o->spawn_argv = argv + optind;
    } else if (optind < argc) {
        return bad("unexpected argument", argv[optind]);
    }
    why = check_combinations(o);
    return why ? bad(why, NULL) : 0;
}
