#!/usr/bin/env python3
"""Turn the logs of a scripts/bench-blk.sh run into results.json and tables.

  report.py --work DIR --clk-tck N --json OUT.json --md OUT.md [--quick 0|1]
            [--size-mib N] [--backend PATH]

DIR/runs/BACKEND-IOMMU-REP/ holds, per guest boot: samples (one line per
guest sync: "K TAG HOST_TIME BACKEND_TICKS QEMU_TICKS"), dumps (guestmem
only: "TAG key=value..." counters printed on SIGUSR1 at each sync), console.log (the
guest's BENCH-PHASE lines), backend.log, qemu.log and status.
DIR/workload-plain.sh and DIR/workload-viommu.sh start with the BENCH_PHASES
line the plain and the vIOMMU guests ran.

Per phase: MB/s = bytes / guest elapsed; IOPS = the workload's operations
(dd blocks or blkload requests) / guest elapsed; back-end CPU per request =
(utime + stime over the phase) / requests the guest's /sys/block/vda/stat
counted, and per operation = the same over the operations. With several
repetitions each figure is the median over them (every run is in the JSON).

A 1 MiB operation becomes a different number of requests depending on the
back-end's limits (size_max, seg_max) and on the vIOMMU, which maps the
buffer contiguously: ratios of CPU per request compare the same work only
when both sides issued the same requests. Goals are therefore checked per
request when the request counts per operation agree within 5 %, and per
operation otherwise (the table says which).
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

PHASE_LABELS = {
    "seqread4k": "seq read 4 KiB",
    "seqwrite4k": "seq write 4 KiB",
    "randread4k": "rand read 4 KiB",
    "randwrite4k": "rand write 4 KiB",
    "seqread1m": "seq read 1 MiB",
    "seqwrite1m": "seq write 1 MiB",
}
LAZY_GOAL = 1.3
STRICT_GOAL = 2.0


def parse_kv(text):
    return dict(m.groups() for m in re.finditer(r"(\w+)=(\S+)", text))


def read(path, default=""):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return default


def phase_specs(work, kind):
    first = (read(os.path.join(work, f"workload-{kind}.sh")).splitlines() or [""])[0]
    m = re.search(r'BENCH_PHASES="([^"]*)"', first)
    specs = []
    for spec in (m.group(1).split() if m else []):
        name, tool, op, pat, bs, count = spec.split(":")
        specs.append(dict(name=name, tool=tool, op=op, pattern=pat, bs=int(bs), count=int(count)))
    return specs


def parse_run(d, specs, clk):
    status = parse_kv(read(os.path.join(d, "status"))).get("status", "unknown")
    samples = {}
    for line in read(os.path.join(d, "samples")).splitlines():
        f = line.split()
        if len(f) == 5:
            samples[f[1]] = dict(t=float(f[2]), backend=int(f[3]), qemu=int(f[4]))
    console = read(os.path.join(d, "console.log")).replace("\r", "")
    guest = {}
    for line in console.splitlines():
        i = line.find("BENCH-PHASE ")
        if i >= 0:
            kv = parse_kv(line[i:])
            guest[kv["name"]] = kv
    dumps = {}
    for line in read(os.path.join(d, "dumps")).splitlines():
        tag, _, rest = line.partition(" ")
        dumps[tag] = {k: int(v) for k, v in parse_kv(rest).items()}
    phases = {}
    for s in specs:
        g, pre, post = guest.get(s["name"]), samples.get("pre-" + s["name"]), samples.get("post-" + s["name"])
        if not g or not pre or not post or pre["backend"] < 0 or post["backend"] < 0:
            continue
        reqs = int(g["reqs"])
        el = float(g["elapsed"])
        nbytes = s["bs"] * s["count"]
        cpu = (post["backend"] - pre["backend"]) / clk
        qcpu = (post["qemu"] - pre["qemu"]) / clk if pre["qemu"] >= 0 and post["qemu"] >= 0 else None
        phases[s["name"]] = dict(
            requests=reqs, reads=int(g["rd"]), writes=int(g["wr"]), flushes=int(g["fl"]),
            bytes=nbytes, guest_elapsed_s=el, host_elapsed_s=round(post["t"] - pre["t"], 3),
            mb_per_s=round(nbytes / el / 1e6, 3) if el > 0 else None,
            iops=round(s["count"] / el, 1) if el > 0 else None,
            backend_cpu_s=round(cpu, 3),
            backend_cpu_us_per_req=round(cpu / reqs * 1e6, 2) if reqs else None,
            backend_cpu_us_per_op=round(cpu / s["count"] * 1e6, 2),
            ops=s["count"],
            qemu_cpu_s=round(qcpu, 3) if qcpu is not None else None,
            blkload=g.get("op") and {k: g[k] for k in ("op", "bs", "count", "elapsed", "iops", "mbps")},
        )
        dpre, dpost = dumps.get("pre-" + s["name"]), dumps.get("post-" + s["name"])
        if dpre and dpost and reqs:
            for k in COUNTER_KEYS:
                if k in dpre and k in dpost:
                    phases[s["name"]][k + "_per_req"] = round((dpost[k] - dpre[k]) / reqs, 3)
    blog = read(os.path.join(d, "backend.log"))
    counters = {}
    m = None
    for m in re.finditer(r"stats: (.*)", blog):
        pass
    if m:
        counters = {k: int(v) for k, v in parse_kv(m.group(1)).items()}
    m = re.search(r"(\d+) requests, (\d+) errors", blog)
    if m:
        counters["device_requests"], counters["device_errors"] = int(m.group(1)), int(m.group(2))
    qlog = read(os.path.join(d, "qemu.log")).strip()
    refused = None
    if status == "refused":
        refused = next((l for l in qlog.splitlines() if "not supported" in l), qlog[:300])
    wall = None
    try:
        wall = round(float(read(os.path.join(d, "t_end"))) - float(read(os.path.join(d, "t_start"))), 1)
    except ValueError:
        pass
    return dict(status=status, phases=phases, counters=counters, refused=refused, wall_s=wall)


# guestmem-vhost-blk counters reported per request and phase (SIGUSR1 dumps).
COUNTER_KEYS = ("iotlb_misses", "iotlb_prefetched", "iotlb_updates", "iotlb_invalidations",
                "iotlb_invalidation_msgs", "iotlb_timeouts", "iotlb_lookups", "iotlb_lookup_hits",
                "iotlb_cache_hits", "messages")
MEDIAN_KEYS = ("requests", "ops", "guest_elapsed_s", "mb_per_s", "iops", "backend_cpu_s",
               "backend_cpu_us_per_req", "backend_cpu_us_per_op", "qemu_cpu_s") + tuple(
                   k + "_per_req" for k in COUNTER_KEYS)


def median_phase(reps, name):
    have = [r["phases"][name] for r in reps if name in r["phases"]]
    if not have:
        return None
    out = {}
    for k in MEDIAN_KEYS:
        vals = [h[k] for h in have if h.get(k) is not None]
        if vals:
            m = statistics.median(vals)
            if isinstance(m, float) and m.is_integer() and k in ("requests", "ops"):
                m = int(m)
            out[k] = round(m, 3) if isinstance(m, float) else m
    out["repetitions"] = len(have)
    return out


def fmt(v, nd=1):
    if v is None:
        return "–"
    if isinstance(v, (int, float)) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def git_commit():
    try:
        r = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                           text=True, timeout=10)
        return r.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--clk-tck", type=int, default=100)
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--quick", type=int, default=0)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--backend", default="")
    a = ap.parse_args()

    kinds = {k: phase_specs(a.work, k) for k in ("plain", "viommu")}
    specs = kinds["plain"]
    runs = []
    rundir = os.path.join(a.work, "runs")
    for name in sorted(os.listdir(rundir)) if os.path.isdir(rundir) else []:
        m = re.fullmatch(r"(qsd|guestmem)-(off|strict|lazy)-(\d+)", name)
        if m:
            kind = "plain" if m.group(2) == "off" else "viommu"
            r = parse_run(os.path.join(rundir, name), kinds[kind], a.clk_tck)
            r.update(backend=m.group(1), iommu=m.group(2), rep=int(m.group(3)))
            runs.append(r)

    configs = {}
    for r in runs:
        configs.setdefault((r["backend"], r["iommu"]), []).append(r)
    table = {}
    for (b, io), reps in configs.items():
        table[f"{b}:{io}"] = {s["name"]: median_phase(reps, s["name"]) for s in specs}

    def cell(cfg, ph, key):
        row = table.get(cfg, {}).get(ph)
        return row.get(key) if row else None

    def cpu_ratio(cfg_a, cfg_b, ph):
        """CPU of cfg_a over cfg_b: (per request, per operation, basis)."""
        ra, rb = table.get(cfg_a, {}).get(ph), table.get(cfg_b, {}).get(ph)
        if not ra or not rb or not ra.get("backend_cpu_us_per_req") or not rb.get("backend_cpu_us_per_req"):
            return None, None, None
        per_req = ratio(ra["backend_cpu_us_per_req"], rb["backend_cpu_us_per_req"])
        per_op = ratio(ra["backend_cpu_us_per_op"], rb["backend_cpu_us_per_op"])
        rpo_a, rpo_b = ra["requests"] / ra["ops"], rb["requests"] / rb["ops"]
        same = abs(rpo_a - rpo_b) <= 0.05 * max(rpo_a, rpo_b)
        return per_req, per_op, "request" if same else "operation"

    goals = []
    for s in specs:
        ph = s["name"]
        per_req, per_op, basis = cpu_ratio("guestmem:off", "qsd:off", ph)
        if basis:
            v = per_req if basis == "request" else per_op
            goals.append(dict(goal="CPU <= qsd", phase=ph, basis=basis, value=v, met=v <= 1.0))
        q, g = cell("qsd:off", ph, "mb_per_s"), cell("guestmem:off", ph, "mb_per_s")
        if q is not None and g is not None:
            goals.append(dict(goal="MB/s >= qsd", phase=ph, basis="throughput", value=ratio(g, q), met=g >= q))
        for mode, limit in (("lazy", LAZY_GOAL), ("strict", STRICT_GOAL)):
            per_req, per_op, basis = cpu_ratio(f"guestmem:{mode}", "guestmem:off", ph)
            if basis:
                v = per_req if basis == "request" else per_op
                goals.append(dict(goal=f"{mode} CPU <= {limit}x plain", phase=ph, basis=basis,
                                  value=v, met=v <= limit))

    meta = dict(
        date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        host=platform.node(), cores=os.cpu_count(),
        load_before=read(os.path.join(a.work, "load-before")).strip(),
        load_after=read(os.path.join(a.work, "load-after")).strip(),
        qemu=version(["qemu-system-x86_64", "--version"]),
        kernel=read("build-kit/kernel-version").strip() or "unknown",
        commit=git_commit(),
        accel="tcg", guest_cpus=1, queues=1, image_mib=a.size_mib, quick=bool(a.quick),
        phases=kinds, clk_tck=a.clk_tck, guestmem_binary=a.backend,
        method=("guest-side MB/s and IOPS at queue depth 1 with O_DIRECT; back-end CPU = "
                "utime+stime of the back-end process from /proc/PID/stat, sampled while the "
                "guest waits at each phase boundary, divided by the requests counted in the "
                "guest's /sys/block/vda/stat"),
    )
    reps_max = max((len(v) for v in configs.values()), default=0)
    meta["repetitions"] = reps_max
    result = dict(meta=meta, runs=runs, table=table, goals=goals)
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    md = []
    md.append(f"Commit {meta['commit']}. Guest: TCG, 1 vCPU, 1 queue, kernel {meta['kernel']}; {meta['qemu']}; "
              f"{a.size_mib} MiB raw image; host {meta['cores']} cores, load "
              f"{meta['load_before']} before, {meta['load_after']} after (1/5/15 min)"
              f"{'; --quick' if a.quick else ''}; median of {reps_max} boot(s) per configuration.")
    md.append("Requests are synchronous (queue depth 1) and O_DIRECT. CPU = back-end process "
              "utime+stime per guest request.")
    md.append("")
    def ratio_cell(cfg_a, cfg_b, ph):
        per_req, per_op, basis = cpu_ratio(cfg_a, cfg_b, ph)
        if basis is None:
            return "–"
        return fmt(per_req, 2) if basis == "request" else f"{fmt(per_req, 2)} / **{fmt(per_op, 2)}** op"

    def rq(cfg, ph):
        return fmt(cell(cfg, ph, "requests"))

    md.append("| workload | requests qsd / guestmem | qsd MB/s | guestmem MB/s | qsd IOPS | guestmem IOPS "
              "| qsd CPU µs/req | guestmem CPU µs/req | guestmem/qsd CPU |")
    md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for s in specs:
        ph = s["name"]
        md.append(f"| {PHASE_LABELS.get(ph, ph)} | {rq('qsd:off', ph)} / {rq('guestmem:off', ph)} "
                  f"| {fmt(cell('qsd:off', ph, 'mb_per_s'), 2)} | {fmt(cell('guestmem:off', ph, 'mb_per_s'), 2)} "
                  f"| {fmt(cell('qsd:off', ph, 'iops'), 0)} | {fmt(cell('guestmem:off', ph, 'iops'), 0)} "
                  f"| {fmt(cell('qsd:off', ph, 'backend_cpu_us_per_req'))} "
                  f"| {fmt(cell('guestmem:off', ph, 'backend_cpu_us_per_req'))} "
                  f"| {ratio_cell('guestmem:off', 'qsd:off', ph)} |")
    md.append("")
    def peer_cell(mode):
        reps = configs.get(("qsd", mode))
        if not reps:
            return "not run"
        if reps[0]["refused"]:
            return "refused by QEMU"
        return "ran"  # QEMU refusing it is what is expected

    md.append("| workload (guestmem) | plain µs/req | lazy requests | lazy MB/s | lazy IOPS | lazy µs/req "
              "| lazy/plain CPU | strict requests | strict MB/s | strict IOPS | strict µs/req | strict/plain CPU "
              "| qsd lazy / strict |")
    md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for s in specs:
        ph = s["name"]
        row = [PHASE_LABELS.get(ph, ph), fmt(cell("guestmem:off", ph, "backend_cpu_us_per_req"))]
        for mode in ("lazy", "strict"):
            c = f"guestmem:{mode}"
            row += [rq(c, ph), fmt(cell(c, ph, "mb_per_s"), 2), fmt(cell(c, ph, "iops"), 0),
                    fmt(cell(c, ph, "backend_cpu_us_per_req")), ratio_cell(c, "guestmem:off", ph)]
        pl, ps = peer_cell("lazy"), peer_cell("strict")
        row.append(pl if pl == ps else f"{pl} / {ps}")
        md.append("| " + " | ".join(row) + " |")
    md.append("")
    md.append("IOTLB traffic per guest request (guestmem, from the counters it prints at each "
              "phase boundary on SIGUSR1; misses = BACKEND_IOTLB_MSG misses sent, of which "
              "prefetched = asked for a whole descriptor chain at once; updates and invalidation "
              "messages = IOTLB_MSG received; entries = table entries those invalidations dropped; "
              "messages = every front-end message):")
    md.append("")
    md.append("| workload | mode | misses | prefetched | updates | inval. msgs | inval. entries "
              "| table lookups | core IOTLB hits | front-end messages |")
    md.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for s in specs:
        ph = s["name"]
        for mode in ("off", "lazy", "strict"):
            c = f"guestmem:{mode}"
            if cell(c, ph, "iotlb_misses_per_req") is None:
                continue
            md.append("| " + " | ".join([PHASE_LABELS.get(ph, ph), mode] + [
                fmt(cell(c, ph, k + "_per_req"), 2) for k in (
                    "iotlb_misses", "iotlb_prefetched", "iotlb_updates", "iotlb_invalidation_msgs",
                    "iotlb_invalidations", "iotlb_lookups", "iotlb_cache_hits", "messages")]) + " |")
    md.append("")
    md.append("Ratios are of CPU per request; where the two sides split a 1 MiB operation into "
              "different numbers of requests, the ratio per operation (same work) follows in bold "
              "and is the one checked against the goals.")
    md.append("")
    for (b, io), reps in sorted(configs.items()):
        r = reps[0]
        if r["refused"]:
            md.append(f"- {b} with vIOMMU ({io}): refused by QEMU before boot: `{r['refused']}`")
    for (b, io), reps in sorted(configs.items()):
        bad = [f"{r['rep']}: {r['status']}" for r in reps if r["status"] not in ("ok", "refused")]
        if bad:
            md.append(f"- {b} iommu={io}: failed runs ({', '.join(bad)})")
    for io in ("off", "lazy", "strict"):
        for r in configs.get(("guestmem", io), [])[:1]:
            c = r["counters"]
            req = c.get("requests")
            if req:
                md.append(f"- guestmem iommu={io}, whole run (boot included, rep 1): {req} requests, "
                          f"IOTLB misses {c.get('iotlb_misses', 0)} ({c.get('iotlb_misses', 0) / req:.2f}/req), "
                          f"updates {c.get('iotlb_updates', 0)}, invalidations {c.get('iotlb_invalidations', 0)} "
                          f"({c.get('iotlb_invalidations', 0) / req:.2f}/req), timeouts {c.get('iotlb_timeouts', 0)}, "
                          f"notifications {c.get('notifications', 0)}, device errors {c.get('device_errors', '?')}")
    md.append("")
    if goals:
        met = sum(g["met"] for g in goals)
        md.append(f"Goals: {met}/{len(goals)} met.")
        for g in goals:
            if not g["met"]:
                md.append(f"- missed: {g['goal']} on {PHASE_LABELS.get(g['phase'], g['phase'])}: "
                          f"{g['value']} (per {g['basis']})" if g["basis"] != "throughput" else
                          f"- missed: {g['goal']} on {PHASE_LABELS.get(g['phase'], g['phase'])}: {g['value']}")
    text = "\n".join(md) + "\n"
    with open(a.md, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
