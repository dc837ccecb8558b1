#!/usr/bin/env python3
"""Check a disk image against the manifest a test guest printed.

    scripts/e2e/verify-image.py --console console.log --image disk.img
                                [--seed N] [--expect-zero-elsewhere]

tests/e2e/workload-verify.sh writes deterministic pseudo-random chunks to the
guest's disk and prints, on the serial console,

    E2E-MANIFEST-BEGIN seed=S chunks=N disk=BYTES [span=BYTES] pool=SHA256
    E2E-CHUNK i offset size pooloff sha256
    ...
    E2E-MANIFEST-END

This script does not trust the guest: it regenerates the layout and the data
from the seed with its own implementation of the generator (documented at the
top of the workload; the two must stay in step), checks that the manifest
agrees with it, and checks that the image holds exactly that data at each
offset. The chunks are laid out over the first span bytes of the disk
(all of it when the manifest gives no span). With --expect-zero-elsewhere
(a fresh image) every byte outside the
chunks must still be zero, which catches writes that landed in the wrong place.

Exit status: 0 if everything matches, 1 on any mismatch, 2 on unusable input.
"""

import argparse
import hashlib
import re
import sys

M = 2147483647  # 2^31 - 1
POOL_BYTES = 1048576 + 65536


class Rng:
    """Park-Miller minimal standard generator, as in the workload's awk."""

    def __init__(self, state):
        self.s = state

    def next(self):
        self.s = (self.s * 16807) % M
        return self.s


def make_layout(seed, chunks, disk):
    rng = Rng(seed % (M - 1) + 1)
    slot = disk // chunks // 4096 * 4096
    cap = min(slot, 1048576)
    layout = []
    for i in range(chunks):
        e = rng.next() % 12
        size = 512 * 2**e + (rng.next() % 2**e) * 512
        size = min(size, cap)
        off = i * slot + (rng.next() % ((slot - size) // 512 + 1)) * 512
        layout.append((i, off, size, rng.next() % 65536))
    return layout


def make_pool(seed):
    rng = Rng((seed + 1000003) % (M - 1) + 1)
    out = bytearray()
    while len(out) < POOL_BYTES:
        out += (rng.next() % 16777216).to_bytes(3, "big")
    return bytes(out[:POOL_BYTES])


MARK = re.compile(r"E2E-(MANIFEST-BEGIN|CHUNK|MANIFEST-END)\b(.*)")


def parse_manifest(path):
    """Return (header dict, [(i, off, size, pooloff, sha256)])."""
    header, rows, state = None, [], "before"
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    for raw in text.splitlines():
        m = MARK.search(raw.replace("\r", ""))
        if not m:
            continue
        kind, rest = m.group(1), m.group(2).split()
        if kind == "MANIFEST-BEGIN":
            header = dict(kv.split("=", 1) for kv in rest if "=" in kv)
            rows, state = [], "in"
        elif kind == "CHUNK" and state == "in":
            if len(rest) != 5:
                raise ValueError(f"malformed manifest line: {raw!r}")
            rows.append(tuple(int(x) for x in rest[:4]) + (rest[4],))
        elif kind == "MANIFEST-END" and state == "in":
            state = "done"
    if state != "done":
        raise ValueError("no complete manifest in the console log")
    return header, rows


def verify(args):
    try:
        header, rows = parse_manifest(args.console)
        seed, chunks, disk = (int(header[k]) for k in ("seed", "chunks", "disk"))
    except (OSError, ValueError, KeyError) as e:
        print(f"verify-image: {e}", file=sys.stderr)
        return 2
    errors = []
    if args.seed is not None and args.seed != seed:
        errors.append(f"guest used seed {seed}, host passed {args.seed}")

    pool = make_pool(seed)
    pool_sum = hashlib.sha256(pool).hexdigest()
    if header.get("pool") != pool_sum:
        errors.append(f"guest pool sha256 {header.get('pool')} != host {pool_sum}")

    span = int(header.get("span", disk))
    if not 0 < span <= disk:
        print(f"verify-image: span {span} outside the disk", file=sys.stderr)
        return 2
    layout = make_layout(seed, chunks, span)
    if len(rows) != len(layout):
        errors.append(f"manifest has {len(rows)} chunks, expected {len(layout)}")

    with open(args.image, "rb") as f:
        image = f.read()
    if len(image) != disk:
        errors.append(f"image is {len(image)} bytes, guest saw {disk}")

    covered = 0
    for row, want in zip(rows, layout):
        i, off, size, pooloff, sha = row
        if (i, off, size, pooloff) != want:
            errors.append(f"chunk {i}: manifest {row[:4]} != regenerated {want}")
            continue
        data = pool[pooloff:pooloff + size]
        if hashlib.sha256(data).hexdigest() != sha:
            errors.append(f"chunk {i}: guest checksum differs from regenerated data")
        got = image[off:off + size]
        if got != data:
            bad = next((k for k in range(len(got)) if got[k] != data[k]), len(got))
            errors.append(f"chunk {i}: image differs at offset {off + bad} "
                          f"(chunk off={off} size={size}, first bad byte +{bad})")
        covered += size

    if args.expect_zero_elsewhere and not errors:
        errors += check_zero_elsewhere(image, layout)

    for e in errors[:20]:
        print(f"verify-image: {e}", file=sys.stderr)
    if errors:
        print(f"verify-image: FAIL {len(errors)} problem(s)")
        return 1
    rest = ", rest of image zero" if args.expect_zero_elsewhere else ""
    print(f"verify-image: OK {len(rows)} chunks, {covered} bytes match seed {seed}{rest}")
    return 0


def check_zero_elsewhere(image, layout):
    errors, pos = [], 0
    gaps = [(o, s) for _, o, s, _ in sorted(layout, key=lambda r: r[1])]
    gaps.append((len(image), 0))
    for off, size in gaps:
        hole = image[pos:off]
        if hole.count(0) != len(hole):
            first = pos + next(k for k, b in enumerate(hole) if b)
            errors.append(f"non-zero byte at {first}, outside every chunk")
        pos = off + size
    return errors


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--console", required=True, help="serial console log of the guest")
    p.add_argument("--image", required=True, help="the disk image the backend served")
    p.add_argument("--seed", type=int, help="seed the host passed (checked against the guest's)")
    p.add_argument("--expect-zero-elsewhere", action="store_true",
                   help="the image started all zero: nothing outside the chunks may be set")
    sys.exit(verify(p.parse_args()))


if __name__ == "__main__":
    main()
