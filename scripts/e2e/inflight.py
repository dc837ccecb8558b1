#!/usr/bin/env python3
"""Count the requests a vhost-user back-end had in flight, from its shared
inflight area (GET_INFLIGHT_FD/SET_INFLIGHT_FD, split rings).

    scripts/e2e/inflight.py FILE

FILE is the area, e.g. /proc/QEMU_PID/fd/N: QEMU keeps the back-end's memfd
across back-end restarts. The back-end chooses the layout; this reads the
one of the vhost-user specification ("Inflight I/O tracking", split rings),
as src/vhost/vhost_inflight.c writes it: per queue a 16-byte header
(features u64, version u16, desc_num u16, last_batch_head u16, used_idx u16)
and desc_num 16-byte descriptor states (inflight u8, padding, next u16,
counter u64), the whole padded to 64 bytes. Prints "N q0=A,q1=B,..." where N is the total of the
heads whose inflight flag is set. The back-end's recovery may clear one of
them per queue (the last batch, if the used index moved after it) before
resubmitting the rest.
"""
import struct
import sys


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    counts = []
    off = 0
    while off + 16 <= len(data):
        _, version, desc_num, _, _ = struct.unpack_from("<QHHHH", data, off)
        if version != 1 or desc_num == 0:
            break
        states = off + 16
        counts.append(sum(1 for i in range(desc_num) if data[states + 16 * i] == 1))
        off += (16 + 16 * desc_num + 63) // 64 * 64
    if not counts:
        print("inflight: no queue in the area", file=sys.stderr)
        return 1
    print(sum(counts), ",".join(f"q{i}={n}" for i, n in enumerate(counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
