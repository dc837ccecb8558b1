/* SPDX-License-Identifier: MIT */
/*
 * guestmem-bench: measures the library's hot paths and prints one line per
 * metric (or, with --json, one JSON object of metric name -> number, for
 * scripts that track performance over time).
 *
 * The metrics live in a constant registry: key, unit, the function that
 * measures it, that function's parameter, and the goal if the project has one.
 * A goal is a bound, either absolute or a multiple of another metric measured
 * earlier in the same run (lookup_ns_65536 <= 3 x lookup_ns_16); a goal whose
 * reference metric was not run is reported as n/a. A ratio metric measures
 * nothing itself: it divides two metrics listed before it, which are run
 * whenever it is selected. Metrics may attach detail lines (bench_note()),
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
    MEASURED("lookup_ns_65536", "ns", bench_lookup_ns, 65536, AT_MOST_TIMES(3, "lookup_ns_16")),
    MEASURED("lookup_ref_ns_16", "ns", bench_lookup_ref_ns, 16, NO_GOAL),
    MEASURED("lookup_ref_ns_65536", "ns", bench_lookup_ref_ns, 65536, NO_GOAL),
    MEASURED("read8_ns_16", "ns", bench_read8_ns, 16, NO_GOAL),
    MEASURED("read8_ns_1024", "ns", bench_read8_ns, 1024, NO_GOAL),
    MEASURED("read8_ns_65536", "ns", bench_read8_ns, 65536, NO_GOAL),
    MEASURED("read_4k_vs_memcpy", "x", bench_read_vs_memcpy, 4096, AT_LEAST(0.85)),
    MEASURED("read_64k_vs_memcpy", "x", bench_read_vs_memcpy, 65536, AT_LEAST(0.95)),
    MEASURED("write_4k_vs_memcpy", "x", bench_write_vs_memcpy, 4096, AT_LEAST(0.85)),
    MEASURED("read_hot_4k_vs_memcpy", "x", bench_read_hot_vs_memcpy, 4096, NO_GOAL),
    MEASURED("read_hot_64k_vs_memcpy", "x", bench_read_hot_vs_memcpy, 65536, NO_GOAL),
    MEASURED("write_hot_4k_vs_memcpy", "x", bench_write_hot_vs_memcpy, 4096, NO_GOAL),
    MEASURED("cached_ld4_vs_raw", "x", bench_cached_ld4_vs_raw, 4096, AT_MOST(3)),
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
            "  --json          print one JSON object {\"metric\": number, ...}\n"
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

static void print_table_header(void)
{
    printf("%-22s %12s %-4s %-34s %s\n", "metric", "value", "unit", "goal", "");
}

static void print_table_line(size_t i, const double *values)
{
    static const char *const marks[] = { "", "MISS", "PASS" };
    char goal[64];
    int verdict = goal_eval(i, values, goal, sizeof(goal));

    if (isnan(values[i])) {
        printf("%-22s %12s %-4s %-34s %s\n", metrics[i].key, "failed", metrics[i].unit, goal,
               "");
    } else {
        printf("%-22s %12.3f %-4s %-34s %s\n", metrics[i].key, values[i], metrics[i].unit, goal,
               marks[verdict + 1]);
    }
    fflush(stdout);
}

static void print_json(const bool *selected, const double *values)
{
    const char *sep = "";

    printf("{");
    for (size_t i = 0; i < NR_METRICS; i++) {
        if (selected[i] && isfinite(values[i])) {
            printf("%s\"%s\": %.6g", sep, metrics[i].key, values[i]);
            sep = ", ";
        }
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

static double run_metric(const struct bench_cfg *cfg, size_t i, const double *values)
{
    const struct metric *m = &metrics[i];
    size_t num, den;

    if (m->run) {
        return m->run(cfg, m->arg);
    }
    num = metric_index(m->num);
    den = metric_index(m->den);
    if (num >= i || den >= i) {
        return bench_fail(m->key, "a ratio must follow the metrics it divides");
    }
    return values[num] / values[den];
}

int main(int argc, char **argv)
{
    bool selected[NR_METRICS];
    double values[NR_METRICS];
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
        values[i] = selected[i] ? run_metric(&opts.cfg, i, values) : NAN;
        failed |= selected[i] && !isfinite(values[i]);
        if (selected[i] && !opts.json) {
            print_table_line(i, values);
        }
        flush_notes(!opts.json);
    }
    if (opts.json) {
        print_json(selected, values);
    }
    return failed ? 1 : 0;
}
