/* SPDX-License-Identifier: MIT */
/*
 * Formatting the results (bp_report.h). The JSON writer escapes the only
 * free-form strings (the back-end's name and an error message) and prints
 * numbers with fixed formats, so the output is parseable by any JSON
 * reader; keys are stable (docs/blkperf.md lists them).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <string.h>

#include "bp_report.h"

static double per_sec(uint64_t v, double s)
{
    return s > 0 ? (double)v / s : 0;
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static double cpu_per_io_us(const bp_result *r)
{
    uint64_t ios = r->total.reads + r->total.writes;

    return r->cpu_ns >= 0 && ios ? (double)r->cpu_ns / 1000.0 / (double)ios : -1;
}

static const char *iommu_name(enum bp_iommu_mode m)
{
    return m == BP_IOMMU_STRICT ? "strict" : m == BP_IOMMU_LAZY ? "lazy" : "off";
}

static void workload_line(FILE *out, const bp_options *o)
{
    if (o->bs_min == o->bs_max)
        fprintf(out, "workload      %s, bs %u", bp_rw_name(o->rw), o->bs_min);
    else
        fprintf(out, "workload      %s, bs %u-%u", bp_rw_name(o->rw), o->bs_min, o->bs_max);
    if (o->rw == BP_RW_RANDRW)
        fprintf(out, " (%u%% reads)", o->rwmixread);
    fprintf(out, ", iodepth %u x %u queue%s", o->iodepth, o->queues, o->queues > 1 ? "s" : "");
    if (o->segments > 1 || o->unaligned)
        fprintf(out, ", %u+ segments%s", o->segments, o->unaligned ? " unaligned" : "");
    fputc('\n', out);
}

static void latency_line(FILE *out, const bp_hist *h)
{
    fprintf(out, "latency (us)  min %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
            us(h->count ? h->min : 0), us(bp_hist_percentile(h, 50)), us(bp_hist_percentile(h, 99)),
            us(bp_hist_percentile(h, 99.9)), us(h->max));
}

static double stop_ms_max(const bp_log_result *l)
{
    uint64_t max = 0;

    for (unsigned int i = 0; i < l->queues; i++)
        max = l->stop_ns[i] > max ? l->stop_ns[i] : max;
    return (double)max / 1e6;
}

static void log_lines(FILE *out, const bp_log_result *l)
{
    if (!l->checked) {
        fprintf(out, "dirty log     not checked\n");
        return;
    }
    fprintf(out, "dirty log     on at %.3f s", l->on_s);
    if (l->off_s >= 0)
        fprintf(out, ", off at %.3f s", l->off_s);
    fprintf(out, ", stop at %.3f s: %" PRIu64 " requests checked (%" PRIu64 " across the switch), "
            "%" PRIu64 " pages, %" PRIu64 " missing; %" PRIu64 " extra bits (%" PRIu64
            " outside guest RAM)\n", l->stop_s, l->reqs.checked, l->reqs.across, l->pages.required,
            l->pages.missing, l->pages.extra, l->pages.outside);
    fprintf(out, "stop (ms)     GET_VRING_BASE max %.3f:", stop_ms_max(l));
    for (unsigned int i = 0; i < l->queues; i++)
        fprintf(out, " q%u %.3f (%u in flight, %u unused, %u drained)", i,
                (double)l->stop_ns[i] / 1e6, l->stop_inflight[i], l->stop_unused[i],
                l->stop_drained[i]);
    fputc('\n', out);
}

void bp_report_table(FILE *out, const bp_options *o, const bp_result *r)
{
    const bp_stats *t = &r->total;
    double cpu = cpu_per_io_us(r);

    workload_line(out, o);
    fprintf(out, "ring          %s, %u entries%s%s\n", o->packed ? "packed" : "split",
            r->queue_size, r->event_idx ? ", event idx" : "", r->indirect ? ", indirect" : "");
    fprintf(out, "back-end      pid %d (%s)\n", (int)r->peer_pid, r->peer_name);
    fprintf(out, "runtime       %.3f s\n", r->seconds);
    fprintf(out, "requests      %" PRIu64 " (reads %" PRIu64 ", writes %" PRIu64 ", errors %" PRIu64
            ")\n", t->reads + t->writes, t->reads, t->writes, t->errors);
    fprintf(out, "IOPS          %.0f\n", per_sec(t->reads + t->writes, r->seconds));
    fprintf(out, "MB/s          %.2f\n", per_sec(t->bytes, r->seconds) / 1e6);
    latency_line(out, &t->lat);
    if (cpu >= 0)
        fprintf(out, "back-end CPU  %.2f us per request (%.3f s)\n", cpu, (double)r->cpu_ns / 1e9);
    else
        fprintf(out, "back-end CPU  unknown\n");
    if (o->iommu != BP_IOMMU_OFF)
        fprintf(out, "iommu         %s: misses %" PRIu64 ", updates %" PRIu64 ", invalidations %"
                PRIu64 ", faults %" PRIu64 "\n", iommu_name(o->iommu), r->iommu.misses,
                r->iommu.updates, r->iommu.invalidations, r->iommu.faults);
    if (o->reconnect)
        fprintf(out, "reconnects    %" PRIu64 "\n", r->reconnects);
    if (o->log)
        log_lines(out, &r->log);
    if (o->verify)
        fprintf(out, "verify        %" PRIu64 " bytes checked, %s\n", r->verified_bytes,
                r->error ? "FAILED" : "OK");
    if (r->error)
        fprintf(out, "error         %s\n", r->error);
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

static void json_config(FILE *out, const bp_options *o, const bp_result *r)
{
    fprintf(out, "\"rw\":\"%s\",\"bs_min\":%u,\"bs_max\":%u,\"iodepth\":%u,\"queues\":%u,",
            bp_rw_name(o->rw), o->bs_min, o->bs_max, o->iodepth, o->queues);
    fprintf(out, "\"ring\":\"%s\",\"queue_size\":%u,\"event_idx\":%s,\"indirect\":%s,"
            "\"iommu\":\"%s\",", o->packed ? "packed" : "split", r->queue_size,
            r->event_idx ? "true" : "false", r->indirect ? "true" : "false", iommu_name(o->iommu));
    fprintf(out, "\"backend_pid\":%d,\"backend_name\":", (int)r->peer_pid);
    json_string(out, r->peer_name);
}

static void json_results(FILE *out, const bp_result *r)
{
    const bp_stats *t = &r->total;
    const bp_hist *h = &t->lat;
    double cpu = cpu_per_io_us(r);

    fprintf(out, ",\"seconds\":%.6f,\"ios\":%" PRIu64 ",\"reads\":%" PRIu64 ",\"writes\":%" PRIu64
            ",\"errors\":%" PRIu64 ",\"ok_after_error\":%" PRIu64 ",\"bytes\":%" PRIu64,
            r->seconds, t->reads + t->writes, t->reads, t->writes, t->errors, t->ok_after_error,
            t->bytes);
    fprintf(out, ",\"iops\":%.1f,\"mbps\":%.3f", per_sec(t->reads + t->writes, r->seconds),
            per_sec(t->bytes, r->seconds) / 1e6);
    fprintf(out, ",\"lat_us\":{\"min\":%.3f,\"p50\":%.3f,\"p99\":%.3f,\"p99.9\":%.3f,\"max\":%.3f}",
            us(h->count ? h->min : 0), us(bp_hist_percentile(h, 50)), us(bp_hist_percentile(h, 99)),
            us(bp_hist_percentile(h, 99.9)), us(h->max));
    if (cpu >= 0)
        fprintf(out, ",\"backend_cpu_us_per_io\":%.3f", cpu);
    else
        fprintf(out, ",\"backend_cpu_us_per_io\":null");
}

static void json_u16s(FILE *out, const char *key, const uint16_t *v, unsigned int n)
{
    fprintf(out, ",\"%s\":[", key);
    for (unsigned int i = 0; i < n; i++)
        fprintf(out, "%s%u", i ? "," : "", v[i]);
    fputc(']', out);
}

static void json_stop(FILE *out, const bp_log_result *l)
{
    fputs(",\"stop_ms\":[", out);
    for (unsigned int i = 0; i < l->queues; i++)
        fprintf(out, "%s%.3f", i ? "," : "", (double)l->stop_ns[i] / 1e6);
    fprintf(out, "],\"stop_ms_max\":%.3f", stop_ms_max(l));
    json_u16s(out, "stop_inflight", l->stop_inflight, l->queues);
    json_u16s(out, "stop_unused", l->stop_unused, l->queues);
    json_u16s(out, "stop_drained", l->stop_drained, l->queues);
}

/* "log": null without --log; the stop's keys only when it happened. */
static void json_log(FILE *out, const bp_options *o, const bp_log_result *l)
{
    if (!o->log) {
        fputs(",\"log\":null", out);
        return;
    }
    fprintf(out, ",\"log\":{\"checked\":%s,\"on_s\":%.6f,\"off_s\":%.6f,\"stop_s\":%.6f",
            l->checked ? "true" : "false", l->on_s, l->off_s, l->stop_s);
    fprintf(out, ",\"requests_checked\":%" PRIu64 ",\"requests_across\":%" PRIu64
            ",\"requests_exempt\":%" PRIu64, l->reqs.checked, l->reqs.across, l->reqs.exempt);
    fprintf(out, ",\"pages_required\":%" PRIu64 ",\"pages_missing\":%" PRIu64 ",\"bits_set\":%"
            PRIu64 ",\"extra_bits\":%" PRIu64 ",\"outside_bits\":%" PRIu64 "}",
            l->pages.required, l->pages.missing, l->pages.set, l->pages.extra, l->pages.outside);
    if (l->queues)
        json_stop(out, l);
}

void bp_report_json(FILE *out, const bp_options *o, const bp_result *r)
{
    fputc('{', out);
    json_config(out, o, r);
    json_results(out, r);
    fprintf(out, ",\"iotlb\":{\"misses\":%" PRIu64 ",\"updates\":%" PRIu64 ",\"invalidations\":%"
            PRIu64 ",\"flushes\":%" PRIu64 ",\"faults\":%" PRIu64 "}", r->iommu.misses,
            r->iommu.updates, r->iommu.invalidations, r->iommu.flushes, r->iommu.faults);
    fprintf(out, ",\"reconnects\":%" PRIu64 ",\"verify\":%s,\"verified_bytes\":%" PRIu64,
            r->reconnects, o->verify ? "true" : "false", r->verified_bytes);
    json_log(out, o, &r->log);
    fprintf(out, ",\"ok\":%s,\"error\":", r->error ? "false" : "true");
    if (r->error)
        json_string(out, r->error);
    else
        fputs("null", out);
    fputs("}\n", out);
}

void bp_status_line(FILE *out, double elapsed, double iops, double mbps)
{
    fprintf(out, "\r[%6.1fs] %10.0f IOPS %10.2f MB/s ", elapsed, iops, mbps);
    fflush(out);
}

void bp_status_clear(FILE *out)
{
    fputs("\r\033[K", out);
    fflush(out);
}
