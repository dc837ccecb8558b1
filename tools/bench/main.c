/* SPDX-License-Identifier: MIT */
/*
 * guestmem-bench: measures the library's hot paths and prints one line per
 * metric: the median of its samples and their spread, smallest to largest
 * (or, with --json, one JSON object of metric name -> {"median", "min",
 * "max"}, for scripts that track performance over time).
 *
 * The metrics live in a constant registry: key, unit, the function that
 * measures it, that function's parameter, and the goal if the project has one.
 * A goal is a bound, either absolute or a multiple of another metric measured
 * earlier in the same run (lookup_ns_65536 <= 2 x lookup_ns_16); a goal whose
 * reference metric was not run is reported as n/a. Goals judge medians. A
 * ratio metric measures nothing itself: it divides the medians of two
 * metrics listed before it, which are run whenever it is selected; its
 * spread is the widest their spreads allow (smallest numerator over largest
 * denominator, and the other way round). Metrics may attach detail lines (bench_note()),
 * printed under their line in the table and dropped by --json. Missing a
 * goal is not an error: this is a benchmark, not a test. The exit status is non-zero only
 * when a metric could not be measured or the command line is wrong.
 */
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum goal_kind {
    GOAL_NONE,
    GOAL_AT_LEAST,
    GOAL_AT_MOST,
};

/**
 * struct goal - what a metric should achieve.
 * @kind: direction, or GOAL_NONE
 * @bound: the bound, or the factor applied to @times
 * @times: key of the metric @bound multiplies, or NULL for an absolute bound
 */
struct goal {
    enum goal_kind kind;
    double bound;
    const char *times;
};

/*
 * struct metric - one registry line. A ratio metric has no @run: it is
 * @num / @den, two keys listed before it.
 */
struct metric {
    const char *key;
    const char *unit;
    double (*run)(const struct bench_cfg *cfg, uint64_t arg);
    uint64_t arg;
    struct goal goal;
    const char *num;
    const char *den;
};

#define AT_LEAST(b) { GOAL_AT_LEAST, (b), NULL }
#define AT_MOST(b) { GOAL_AT_MOST, (b), NULL }
#define AT_MOST_TIMES(b, key) { GOAL_AT_MOST, (b), (key) }
#define NO_GOAL { GOAL_NONE, 0, NULL }
#define MEASURED(key, unit, run, arg, goal) { (key), (unit), (run), (arg), goal, NULL, NULL }
#define RATIO(key, num, den, goal) { (key), "x", NULL, 0, goal, (num), (den) }

/* Order matters only for relative goals: a reference comes before its users. */
static const struct metric metrics[] = {
    MEASURED("lookup_ns_16", "ns", bench_lookup_ns, 16, NO_GOAL),
    MEASURED("lookup_ns_1024", "ns", bench_lookup_ns, 1024, NO_GOAL),
    MEASURED("lookup_ns_65536", "ns", bench_lookup_ns, 65536, AT_MOST_TIMES(2, "lookup_ns_16")),
    MEASURED("lookup_stream_ns_16", "ns", bench_lookup_stream_ns, 16, NO_GOAL),
    MEASURED("lookup_stream_ns_65536", "ns", bench_lookup_stream_ns, 65536, NO_GOAL),
    MEASURED("lookup_ref_ns_16", "ns", bench_lookup_ref_ns, 16, NO_GOAL),
    MEASURED("lookup_ref_ns_65536", "ns", bench_lookup_ref_ns, 65536, NO_GOAL),
    MEASURED("read8_ns_16", "ns", bench_read8_ns, 16, NO_GOAL),
    MEASURED("read8_ns_1024", "ns", bench_read8_ns, 1024, NO_GOAL),
    MEASURED("read8_ns_65536", "ns", bench_read8_ns, 65536, NO_GOAL),
    MEASURED("read_4k_vs_memcpy", "x", bench_read_vs_memcpy, 4096, AT_LEAST(0.95)),
    MEASURED("read_64k_vs_memcpy", "x", bench_read_vs_memcpy, 65536, AT_LEAST(0.95)),
    MEASURED("write_4k_vs_memcpy", "x", bench_write_vs_memcpy, 4096, AT_LEAST(0.95)),
    MEASURED("read_hot_4k_vs_memcpy", "x", bench_read_hot_vs_memcpy, 4096, AT_LEAST(0.9)),
    MEASURED("read_hot_64k_vs_memcpy", "x", bench_read_hot_vs_memcpy, 65536, NO_GOAL),
    MEASURED("write_hot_4k_vs_memcpy", "x", bench_write_hot_vs_memcpy, 4096, NO_GOAL),
    MEASURED("cached_ld4_vs_raw", "x", bench_cached_ld4_vs_raw, 4096, AT_MOST(1.5)),
    MEASURED("map_unmap_ram_ns", "ns", bench_map_unmap_ram_ns, 4096, NO_GOAL),
    MEASURED("bounce_map_unmap_ns", "ns", bench_bounce_map_unmap_ns, 256, NO_GOAL),
    MEASURED("mmio_ld4_ns", "ns", bench_mmio_ld4_ns, 0, NO_GOAL),
    MEASURED("commit_us_1024", "us", bench_commit_us, 1024, NO_GOAL),
    /* Dynamic mappings: random 4 KiB reads over 64 MiB of guest RAM. */
    MEASURED("ram_direct_ns", "ns", bench_ram_direct_ns, 0, NO_GOAL),
    MEASURED("grant_cached_ns", "ns", bench_grant_cached_ns, 0, NO_GOAL),
    MEASURED("grant_naive_ns", "ns", bench_grant_naive_ns, 0, NO_GOAL),
    MEASURED("grant_batch_ns", "ns", bench_grant_batch_ns, 16, NO_GOAL),
    MEASURED("iommu_iotlb_hit_ns", "ns", bench_iommu_iotlb_hit_ns, 0,
             AT_MOST_TIMES(1.5, "ram_direct_ns")),
    RATIO("grant_cached_vs_ram", "grant_cached_ns", "ram_direct_ns", AT_MOST(1.25)),
    RATIO("grant_naive_vs_cached", "grant_naive_ns", "grant_cached_ns", AT_LEAST(10)),
    /* vhost-user requests (4 KiB written each) without and with the dirty
     * log, 1 GiB and 1 TiB guests: the log costs per request, not per guest. */
    MEASURED("vhost_req_us_1g", "us", bench_vhost_log_req_us, 1ull << 30, NO_GOAL),
    MEASURED("vhost_log_req_us_1g", "us", bench_vhost_log_req_us,
             (1ull << 30) | BENCH_VHOST_LOG, NO_GOAL),
    MEASURED("vhost_log_req_us_1t", "us", bench_vhost_log_req_us,
             (1ull << 40) | BENCH_VHOST_LOG, AT_MOST_TIMES(1.5, "vhost_log_req_us_1g")),
};

#define NR_METRICS (sizeof(metrics) / sizeof(metrics[0]))

struct options {
    bool json;
    const char *only;
    struct bench_cfg cfg;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: guestmem-bench [--quick] [--json] [--only PATTERN[,PATTERN...]]\n"
            "\n"
            "  --quick         short runs, for smoke testing (numbers are rough)\n"
            "  --json          print one JSON object {\"metric\": {\"median\": number,\n"
            "                  \"min\": number, \"max\": number}, ...}\n"
            "  --only PATTERN  run only the metrics whose name contains PATTERN (or one\n"
            "                  of several, comma-separated), and the metrics a selected\n"
            "                  ratio divides\n"
            "  --help          this text\n"
            "\n"
            "metrics:");
    for (size_t i = 0; i < NR_METRICS; i++) {
        fprintf(f, "%s%s", i % 4 ? " " : "\n  ", metrics[i].key);
    }
    fprintf(f, "\n");
}

/* Return: 0 to run, 1 to exit successfully (--help), -1 on a bad command line. */
static int parse_options(int argc, char **argv, struct options *opts)
{
    static const struct option longopts[] = {
        { "quick", no_argument, NULL, 'q' },
        { "json", no_argument, NULL, 'j' },
        { "only", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *opts = (struct options){ .cfg = { .quick = false, .reps = 5, .notes = true } };
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'q':
            opts->cfg.quick = true;
            opts->cfg.reps = 3;
            break;
        case 'j':
            opts->json = true;
            opts->cfg.notes = false;
            break;
        case 'o':
            opts->only = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "guestmem-bench: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

static const char *goal_op(enum goal_kind kind)
{
    return kind == GOAL_AT_LEAST ? ">=" : "<=";
}

/*
 * goal_eval() - judge @values[@i] against its goal and describe the goal.
 * Return: 1 met, 0 missed, -1 no goal or not judgeable (@text says why).
 */
static int goal_eval(size_t i, const double *values, char *text, size_t size)
{
    const struct goal *g = &metrics[i].goal;
    double bound = g->bound;

    text[0] = '\0';
    if (g->kind == GOAL_NONE) {
        return -1;
    }
    if (g->times) {
        double ref = NAN;

        for (size_t j = 0; j < i; j++) {
            if (strcmp(metrics[j].key, g->times) == 0) {
                ref = values[j];
            }
        }
        if (isnan(ref)) {
            snprintf(text, size, "%s %g x %s (n/a)", goal_op(g->kind), g->bound, g->times);
            return -1;
        }
        bound *= ref;
        snprintf(text, size, "%s %g x %s = %.3g", goal_op(g->kind), g->bound, g->times, bound);
    } else {
        snprintf(text, size, "%s %g", goal_op(g->kind), bound);
    }
    if (isnan(values[i])) {
        return -1;
    }
    return g->kind == GOAL_AT_LEAST ? values[i] >= bound : values[i] <= bound;
}

/* struct spread - the smallest and largest sample of a metric (NAN: none). */
struct spread {
    double min;
    double max;
};

static void print_table_header(void)
{
    printf("%-22s %10s %-19s %-4s %-30s %s\n", "metric", "median", "spread (min-max)", "unit",
           "goal", "");
}

static void print_table_line(size_t i, const double *values, const struct spread *spreads)
{
    static const char *const marks[] = { "", "MISS", "PASS" };
    char goal[64];
    char range[32] = "";
    int verdict = goal_eval(i, values, goal, sizeof(goal));

    if (isnan(values[i])) {
        printf("%-22s %10s %-19s %-4s %-30s %s\n", metrics[i].key, "failed", "", metrics[i].unit,
               goal, "");
    } else {
        if (isfinite(spreads[i].min) && isfinite(spreads[i].max)) {
            snprintf(range, sizeof(range), "%.4g-%.4g", spreads[i].min, spreads[i].max);
        }
        printf("%-22s %10.4g %-19s %-4s %-30s %s\n", metrics[i].key, values[i], range,
               metrics[i].unit, goal, marks[verdict + 1]);
    }
    fflush(stdout);
}

static void print_json(const bool *selected, const double *values, const struct spread *spreads)
{
    const char *sep = "";

    printf("{");
    for (size_t i = 0; i < NR_METRICS; i++) {
        if (!selected[i] || !isfinite(values[i])) {
            continue;
        }
        printf("%s\"%s\": {\"median\": %.6g", sep, metrics[i].key, values[i]);
        if (isfinite(spreads[i].min) && isfinite(spreads[i].max)) {
            printf(", \"min\": %.6g, \"max\": %.6g", spreads[i].min, spreads[i].max);
        }
        printf("}");
        sep = ", ";
    }
    printf("}\n");
}

/* Return: the index of the metric called @key (an earlier one), or NR_METRICS. */
static size_t metric_index(const char *key)
{
    size_t i = 0;

    while (i < NR_METRICS && strcmp(metrics[i].key, key) != 0) {
        i++;
    }
    return i;
}

/* Does @key contain one of the comma-separated patterns of @only? */
static bool key_matches(const char *key, const char *only)
{
    if (!*only) {
        return true; /* --only '' selects everything, as strstr() did */
    }
    while (*only) {
        size_t n = strcspn(only, ",");
        const char *k;

        for (k = key; n && *k; k++) {
            if (strncmp(k, only, n) == 0) {
                return true;
            }
        }
        only += n + (only[n] == ',');
    }
    return false;
}

/* Return: the number of metrics selected by --only (with a ratio's operands). */
static size_t select_metrics(const struct options *opts, bool *selected)
{
    size_t n = 0;

    for (size_t i = 0; i < NR_METRICS; i++) {
        selected[i] = !opts->only || key_matches(metrics[i].key, opts->only);
    }
    for (size_t i = NR_METRICS; i-- > 0;) {
        size_t num = metrics[i].run ? NR_METRICS : metric_index(metrics[i].num);
        size_t den = metrics[i].run ? NR_METRICS : metric_index(metrics[i].den);

        if (selected[i] && num < i && den < i) {
            selected[num] = true;
            selected[den] = true;
        }
    }
    for (size_t i = 0; i < NR_METRICS; i++) {
        n += selected[i];
    }
    return n;
}

/* Detail lines of the metric being measured (bench_note()). */
static char notes[4096];
static size_t notes_len;

void bench_note(const char *fmt, ...)
{
    char line[161];
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    n = snprintf(notes + notes_len, sizeof(notes) - notes_len, "    %s\n", line);
    if (n > 0 && (size_t)n < sizeof(notes) - notes_len) {
        notes_len += (size_t)n;
    }
}

/* Print (or, for --json, drop) the pending notes. */
static void flush_notes(bool print)
{
    if (print && notes_len) {
        fputs(notes, stdout);
        fflush(stdout);
    }
    notes_len = 0;
    notes[0] = '\0';
}

/* The spread of the metric being measured (bench_spread()). */
static struct spread current_spread = { NAN, NAN };

void bench_spread(double min, double max)
{
    /* The first: a metric measures its own value before any comparison
     * it adds in a note (grant_cached_ns). */
    if (isnan(current_spread.min)) {
        current_spread = (struct spread){ min, max };
    }
}

/* Measure metric @i: its median, and its spread into @spreads[@i]. */
static double run_metric(const struct bench_cfg *cfg, size_t i, const double *values,
                         struct spread *spreads)
{
    const struct metric *m = &metrics[i];
    size_t num, den;
    double v;

    current_spread = (struct spread){ NAN, NAN };
    if (m->run) {
        v = m->run(cfg, m->arg);
        spreads[i] = current_spread;
        return v;
    }
    num = metric_index(m->num);
    den = metric_index(m->den);
    if (num >= i || den >= i) {
        return bench_fail(m->key, "a ratio must follow the metrics it divides");
    }
    spreads[i] = (struct spread){ spreads[num].min / spreads[den].max,
                                  spreads[num].max / spreads[den].min };
    return values[num] / values[den];
}

int main(int argc, char **argv)
{
    bool selected[NR_METRICS];
    double values[NR_METRICS];
    struct spread spreads[NR_METRICS];
    struct options opts;
    int failed = 0;
    int ret = parse_options(argc, argv, &opts);

    if (ret != 0) {
        return ret < 0 ? 2 : 0;
    }
    if (select_metrics(&opts, selected) == 0) {
        fprintf(stderr, "guestmem-bench: no metric matches '%s'\n", opts.only);
        return 2;
    }
    if (!opts.json) {
        print_table_header();
    }
    for (size_t i = 0; i < NR_METRICS; i++) {
        spreads[i] = (struct spread){ NAN, NAN };
        values[i] = selected[i] ? run_metric(&opts.cfg, i, values, spreads) : NAN;
        failed |= selected[i] && !isfinite(values[i]);
        if (selected[i] && !opts.json) {
            print_table_line(i, values, spreads);
        }
        flush_notes(!opts.json);
    }
    if (opts.json) {
        print_json(selected, values, spreads);
    }
    return failed ? 1 : 0;
}
