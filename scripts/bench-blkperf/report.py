#!/usr/bin/env python3
"""Turn the outputs of a scripts/bench-blkperf.sh run into tables, JSON and a plot.

  report.py --work DIR --json OUT.json --md OUT.md [--plot OUT.png]

DIR/index has one line per run: "STORAGE WORKLOAD QUEUES DEPTH CONTENDER
REP STATUS KEY"; DIR/KEY.json is guestmem-blkperf's JSON object (back-ends)
or fio's JSON output (contender fio); DIR/meta holds key=value lines about
the machine and the run; DIR/load the load average at each repetition.

A cell is one storage x workload x queues x depth; in it each contender has
a median, a minimum and a maximum over its repetitions of IOPS, p50 and p99
latency (µs) and back-end CPU per I/O (µs; none for fio). Ratios between
contenders are ratios of medians; the per-repetition ratios (the
contenders of one repetition ran one after the other) give their spread.
Goals are checked on those ratios and reported as MET or MISSED.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

WORKLOADS = {"randread4k": "4 KiB random read", "randwrite4k": "4 KiB random write",
             "seqread64k": "64 KiB sequential read"}
STORAGES = {"page": "(a) page cache: guestmem --cache writeback, qsd cache.direct=off, fio --direct=0",
            "direct": "(b) O_DIRECT on the disk: guestmem --cache none, qsd cache.direct=on, fio --direct=1"}
SHORT_STORAGE = {"page": "(a) page cache", "direct": "(b) O_DIRECT"}
MAIN = ("guestmem", "qsd", "fio")
PLOTTED = MAIN + ("guestmem-threads", "guestmem-sync", "fio-batch")   # vIOMMU runs are about CPU
EXTRAS = {"guestmem-threads": "threads", "guestmem-sync": "sync",
          "guestmem-strict": "--iommu strict", "guestmem-lazy": "--iommu lazy",
          "fio-batch": "fio-batch"}
METRICS = ("iops", "p50_us", "p99_us", "cpu_us")
COLOURS = {"guestmem": "#1f77b4", "qsd": "#d62728", "fio": "#2ca02c", "guestmem-threads": "#9467bd",
           "guestmem-sync": "#8c564b", "guestmem-strict": "#e377c2", "guestmem-lazy": "#7f7f7f",
           "fio-batch": "#17becf"}


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def parse_blkperf(j):
    lat = j.get("lat_us") or {}
    return dict(iops=j.get("iops"), p50_us=lat.get("p50"), p99_us=lat.get("p99"),
                cpu_us=j.get("backend_cpu_us_per_io"))


def parse_fio(j):
    job = j["jobs"][0]
    side = job["read"] if job["read"]["io_bytes"] else job["write"]
    pct = side["lat_ns"].get("percentile", {})
    p50, p99 = pct.get("50.000000"), pct.get("99.000000")
    return dict(iops=side["iops"], p50_us=p50 / 1000 if p50 else None,
                p99_us=p99 / 1000 if p99 else None, cpu_us=None)


def parse_run(work, fields):
    storage, workload, queues, depth, contender, rep, status, key = fields
    run = dict(storage=storage, workload=workload, queues=int(queues), depth=int(depth),
               contender=contender, rep=int(rep), ok=status == "0", error=None)
    j = load_json(os.path.join(work, key + ".json"))
    if j is None:
        run.update(ok=False, error=f"no JSON output (status {status})")
    elif contender.startswith("fio"):
        run.update(parse_fio(j))
    else:
        run.update(parse_blkperf(j))
        run["ok"] = run["ok"] and j.get("ok", False)
        run["error"] = j.get("error")
    return run


def read_runs(work):
    runs = []
    with open(os.path.join(work, "index")) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 8:
                runs.append(parse_run(work, fields))
    return runs


def read_meta(work):
    meta = {}
    with open(os.path.join(work, "meta")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    for k in ("runtime", "repeat", "size_mib", "cores"):
        meta[k] = int(meta[k])
    meta["quick"] = meta["quick"] == "1"
    loads = {}
    with open(os.path.join(work, "load")) as f:  # "rep N L1 L5 L15", "after L1 L5 L15"
        for line in f:
            words = line.split()
            n = 2 if words[0] == "rep" else 1
            loads[" ".join(words[:n])] = " ".join(words[n:])
    meta["load"] = loads
    return meta


def spread(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return dict(median=statistics.median(vals), min=min(vals), max=max(vals), n=len(vals))


def cell_key(r):
    return (r["storage"], r["workload"], r["queues"], r["depth"])


def summarise(runs):
    """{cell: {contender: {metric: spread}}} over the runs that completed."""
    cells = {}
    for r in runs:
        if r["ok"]:
            cells.setdefault(cell_key(r), {}).setdefault(r["contender"], []).append(r)
    return {cell: {c: {m: spread(x[m] for x in rs) for m in METRICS} for c, rs in by.items()}
            for cell, by in cells.items()}


def rep_ratios(runs, cell, a, b, metric):
    """metric of a over b, per repetition where both completed."""
    by_rep = {}
    for r in runs:
        if r["ok"] and cell_key(r) == cell and r["contender"] in (a, b) and r[metric]:
            by_rep.setdefault(r["rep"], {})[r["contender"]] = r[metric]
    return [v[a] / v[b] for v in by_rep.values() if a in v and b in v]


def med(summary, cell, contender, metric):
    s = summary.get(cell, {}).get(contender, {}).get(metric)
    return s["median"] if s else None


# Goals: (name, storage, workload, depths, a, b, metric, kind, limit). kind
# "ge": a/b >= limit; "le": a/b <= limit; "plus": a - b <= limit; "info":
# a/b reported, no verdict.
GOALS = [
    ("(b) 4 KiB randread, depth 32: guestmem IOPS >= 0.9 x fio", "direct", "randread4k", (32,),
     "guestmem", "fio", "iops", "ge", 0.9),
    ("(b) 4 KiB randread, depth 32: guestmem IOPS >= 1.1 x qsd", "direct", "randread4k", (32,),
     "guestmem", "qsd", "iops", "ge", 1.1),
    ("(b) 4 KiB randread, depth 1: guestmem p50 <= fio p50 + 15 µs", "direct", "randread4k", (1,),
     "guestmem", "fio", "p50_us", "plus", 15.0),
    ("(b) 4 KiB randread, depth 32: guestmem IOPS / fio-batch (not a goal)", "direct", "randread4k",
     (32,), "guestmem", "fio-batch", "iops", "info", None),
] + [
    (f"(a) {WORKLOADS[w]}, depth 32: guestmem IOPS >= 1.5 x qsd", "page", w, (32,),
     "guestmem", "qsd", "iops", "ge", 1.5) for w in WORKLOADS
] + [
    (f"(a) {WORKLOADS[w]}, every depth: guestmem CPU/IO <= 0.5 x qsd", "page", w, None,
     "guestmem", "qsd", "cpu_us", "le", 0.5) for w in WORKLOADS
]


def goal_point(summary, runs, cell, a, b, metric, kind):
    va, vb = med(summary, cell, a, metric), med(summary, cell, b, metric)
    if va is None or vb is None:
        return None
    if kind == "plus":
        return dict(depth=cell[3], a=va, b=vb, value=va - vb)
    reps = rep_ratios(runs, cell, a, b, metric)
    return dict(depth=cell[3], a=va, b=vb, value=va / vb,
                rep_min=min(reps) if reps else None, rep_max=max(reps) if reps else None)


def check_goals(summary, runs):
    goals = []
    for name, storage, w, depths, a, b, metric, kind, limit in GOALS:
        cells = sorted(c for c in summary if c[0] == storage and c[1] == w and c[2] == 1
                       and (depths is None or c[3] in depths))
        points = [p for p in (goal_point(summary, runs, c, a, b, metric, kind) for c in cells) if p]
        if not points:
            continue
        met = None if kind == "info" else all(
            p["value"] >= limit if kind == "ge" else p["value"] <= limit for p in points)
        goals.append(dict(goal=name, kind=kind, limit=limit, points=points, met=met))
    return goals


def fmt_num(v, scale=1.0):
    """Three significant digits at most, thousands separators above that."""
    if v is None:
        return "—"
    v /= scale
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def fmt_iops(s):
    if not s:
        return "—"
    scale, unit = (1000.0, "k") if s["median"] >= 1000 else (1.0, "")
    text = fmt_num(s["median"], scale) + unit
    if s["n"] > 1:
        text += f" ({fmt_num(s['min'], scale)}–{fmt_num(s['max'], scale)})"
    return text


def fmt_spread(s):
    if not s:
        return "—"
    text = fmt_num(s["median"])
    return text + (f" ({fmt_num(s['min'])}–{fmt_num(s['max'])})" if s["n"] > 1 else "")


def fmt_ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "—"


def fmt_goal(g):
    parts = []
    for p in g["points"]:
        if g["kind"] == "plus":
            parts.append(f"{fmt_num(p['a'])} − {fmt_num(p['b'])} = {p['value']:+.1f} µs")
            continue
        text = f"{p['value']:.2f}"
        if p.get("rep_min") is not None and p["rep_min"] != p["rep_max"]:
            text += f" ({p['rep_min']:.2f}–{p['rep_max']:.2f})"
        parts.append((f"d{p['depth']} " if len(g["points"]) > 1 else "") + text)
    return "; ".join(parts)


def md_header(meta):
    loads = "; ".join(f"{k}: {v}" for k, v in meta["load"].items())
    return [
        f"Machine: {meta['cpu']}, {meta['cores']} cores, {meta['kernel']}; image "
        f"{meta['size_mib']} MiB on {meta['fs']} (under {meta['dir']}). "
        f"Shared with other work: load average (1/5/15 min) before: {meta['load_before']}; {loads}.",
        "",
        f"guestmem {meta['commit']}; {meta['qsd']}; {meta['fio']}. Each run {meta['runtime']} s; "
        f"median of {meta['repeat']} repetition(s), (min–max) beside it; in each repetition the "
        "contenders of a cell ran one after the other (guestmem, qsd, fio, then the extras). "
        f"`{meta['command']}`" + (" (--quick: a smoke pass, not a measurement)" if meta["quick"] else ""),
        "",
    ]


def md_goals(goals):
    lines = ["| goal | measured (ratio of medians, per-repetition range) | verdict |", "|---|---|---|"]
    for g in goals:
        verdict = "—" if g["met"] is None else "MET" if g["met"] else "MISSED"
        lines.append(f"| {g['goal']} | {fmt_goal(g)} | {verdict} |")
    return lines + [""]


def md_row(summary, cell):
    s = summary[cell]
    g = {m: med(summary, cell, "guestmem", m) for m in METRICS}
    lat = " / ".join(fmt_num(med(summary, cell, c, "p50_us")) for c in MAIN)
    tail = " / ".join(fmt_num(med(summary, cell, c, "p99_us")) for c in MAIN)
    cpu = " / ".join(fmt_spread(s.get(c, {}).get("cpu_us")) for c in ("guestmem", "qsd"))
    return (f"| {cell[2]} × {cell[3]} | " + " | ".join(fmt_iops(s.get(c, {}).get("iops")) for c in MAIN)
            + f" | {fmt_ratio(g['iops'], med(summary, cell, 'qsd', 'iops'))}"
            + f" | {fmt_ratio(g['iops'], med(summary, cell, 'fio', 'iops'))} | {lat} | {tail} | {cpu}"
            + f" | {fmt_ratio(g['cpu_us'], med(summary, cell, 'qsd', 'cpu_us'))} |")


def md_main(summary):
    lines = []
    for storage in STORAGES:
        for w in WORKLOADS:
            cells = sorted(c for c in summary if c[0] == storage and c[1] == w)
            if not cells:
                continue
            lines += [f"{SHORT_STORAGE[storage]}, {WORKLOADS[w]}:", "",
                      "| queues × depth | guestmem IOPS | qsd IOPS | fio IOPS | guestmem / qsd "
                      "| guestmem / fio | p50 µs g / q / f | p99 µs g / q / f "
                      "| CPU µs/IO guestmem / qsd | CPU g / q |",
                      "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
            lines += [md_row(summary, c) for c in cells] + [""]
    return lines


def extra_cells(summary, c, x, plain):
    """IOPS and CPU of extra contender x in cell c (fio: IOPS only)."""
    s = summary[c].get(x, {})
    if x.startswith("fio"):
        return [fmt_iops(s.get("iops"))]
    cpu = fmt_spread(s.get("cpu_us"))
    if "iommu" in EXTRAS[x] and s.get("cpu_us") and plain:
        cpu += f" ({s['cpu_us']['median'] / plain:.1f} ×)"
    return [fmt_iops(s.get("iops")), cpu]


def md_extras(summary):
    lines = []
    for storage in STORAGES:
        cells = sorted(c for c in summary if c[0] == storage and c[1] == "randread4k" and c[2] == 1
                       and any(x in summary[c] for x in EXTRAS))
        if not cells:
            continue
        present = [x for x in EXTRAS if any(x in summary[c] for c in cells)]
        head = ["depth", "io_uring IOPS", "CPU µs/IO"]
        for x in present:
            head.append(f"{EXTRAS[x]} IOPS")
            if not x.startswith("fio"):
                head.append("CPU µs/IO" + (" (× plain)" if "iommu" in EXTRAS[x] else ""))
        lines += [f"{SHORT_STORAGE[storage]}, 4 KiB random read, one queue: guestmem's other engines "
                  "and vIOMMU modes, fio with batched submission:", "", "| " + " | ".join(head) + " |",
                  "|---|" + "--:|" * (len(head) - 1)]
        for c in cells:
            plain = med(summary, c, "guestmem", "cpu_us")
            row = [str(c[3]), fmt_iops(summary[c].get("guestmem", {}).get("iops")), fmt_num(plain)]
            for x in present:
                row += extra_cells(summary, c, x, plain)
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return lines


def md_failures(runs):
    bad = [r for r in runs if not r["ok"]]
    return [f"- FAILED: {r['storage']} {r['workload']} q{r['queues']} d{r['depth']} {r['contender']} "
            f"rep {r['rep']}: {r['error']}" for r in bad] + ([""] if bad else [])


def markdown(meta, summary, goals, runs):
    lines = md_header(meta) + ["Goals:", ""] + md_goals(goals)
    lines += ["IOPS: median (min–max). Latency: from making a request available to taking it back "
              "(blkperf), fio's submission-to-completion latency. CPU: back-end process utime + "
              "stime per I/O, all its threads (fio: none). Ratios: of medians.", ""]
    return "\n".join(lines + md_main(summary) + md_extras(summary) + md_failures(runs)) + "\n"


def write_series(pdir, summary, storage, w, contender, queues):
    cells = sorted(c for c in summary if c[:3] == (storage, w, queues) and contender in summary[c])
    if not cells:
        return None
    path = os.path.join(pdir, f"{storage}-{w}-{contender}-q{queues}.dat")
    with open(path, "w") as f:
        for c in cells:
            s = summary[c][contender]["iops"]
            f.write(f"{c[3]} {s['median']} {s['min']} {s['max']}\n")
    return path


def panel(pdir, summary, storage, w):
    series = []
    for contender in PLOTTED:
        for q in sorted({c[2] for c in summary}):
            path = write_series(pdir, summary, storage, w, contender, q)
            if path:
                dash = "" if q == 1 else " dashtype 2"
                series.append(f"'{path}' using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6{dash} "
                              f"lc rgb '{COLOURS[contender]}' title '{contender}, {q} queue{'s' * (q > 1)}'")
    return (f"set title '{SHORT_STORAGE[storage]}, {WORKLOADS[w]}'\n"
            + "plot " + ", \\\n     ".join(series) + "\n")


def plot(meta, summary, path, work):
    pdir = os.path.join(work, "plot")
    os.makedirs(pdir, exist_ok=True)
    panels = [(s, w) for s in STORAGES for w in WORKLOADS
              if any(c[0] == s and c[1] == w for c in summary)]
    if not panels:
        return "nothing to plot"
    rows = len({s for s, _ in panels})
    cols = (len(panels) + rows - 1) // rows
    script = [f"set terminal pngcairo noenhanced size {560 * cols},{430 * rows + 40} font 'sans,9'",
              f"set output '{os.path.abspath(path)}'",
              f"set multiplot layout {rows},{cols} title \"IOPS against queue depth per queue "
              f"(median, bars min–max of {meta['repeat']}): {meta['cpu']}, {meta['cores']} cores, "
              f"{meta['fs']}\"",
              "set logscale x 2", "set xrange [0.7:180]", "set xtics (1, 8, 32, 128)",
              "set yrange [0:*]", "set format y '%.0s%c'", "set xlabel 'depth'", "set ylabel 'IOPS'",
              "set key top left font 'sans,7'", "set grid"]
    script += [panel(pdir, summary, s, w) for s, w in panels]
    script.append("unset multiplot")
    gp = os.path.join(pdir, "plot.gp")
    with open(gp, "w") as f:
        f.write("\n".join(script) + "\n")
    try:
        r = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        return f"gnuplot: {e}"
    return None if r.returncode == 0 else "gnuplot: " + r.stderr.strip()[-300:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--plot")
    a = ap.parse_args()
    meta, runs = read_meta(a.work), read_runs(a.work)
    summary = summarise(runs)
    goals = check_goals(summary, runs)
    if a.plot:
        err = plot(meta, summary, a.plot, a.work)
        if err:
            print(f"report: no plot: {err}", file=sys.stderr)
        else:
            meta["plot"] = a.plot
    cells = [dict(storage=c[0], workload=c[1], queues=c[2], depth=c[3], contender=k, **v)
             for c in sorted(summary) for k, v in summary[c].items()]
    with open(a.json, "w") as f:
        json.dump(dict(machine=meta, goals=goals, cells=cells, runs=runs), f, indent=1)
        f.write("\n")
    with open(a.md, "w") as f:
        f.write(markdown(meta, summary, goals, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
