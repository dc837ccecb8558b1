#!/usr/bin/env python3
"""Count the requests a vhost-user back-end had in flight, from its shared
inflight area (GET_INFLIGHT_FD/SET_INFLIGHT_FD).

    scripts/e2e/inflight.py FILE

FILE is the area, e.g. /proc/QEMU_PID/fd/N: QEMU keeps the back-end's memfd
across back-end restarts. The back-end chooses the layout; this reads the
two src/vhost writes. Each queue has a region of
max(16 + 16 * desc_num, 32 + 40 * desc_num) bytes padded to 64, which
starts with features u64, version u16, desc_num u16:
- version 1, split rings (the vhost-user specification's layout,
  vhost_inflight.c): a 16-byte header, then desc_num 16-byte descriptor
  states (inflight u8, padding, next u16, counter u64);
- version 2, packed rings (vhost_inflight_packed.c): a 32-byte header,
  then desc_num 16-byte buffer id records (inflight u8, padding, first u16,
  ndesc u16, padding, counter u64), then the descriptor pool.
Prints "N q0=A,q1=B,..." where N is the total of the entries whose inflight
flag is set. The back-end's recovery may clear one of them per queue (the
last push, if it completed) before resubmitting the rest.
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
        _, version, desc_num = struct.unpack_from("<QHH", data, off)
        if version not in (1, 2) or desc_num == 0:
            break
        states = off + (16 if version == 1 else 32)
        counts.append(sum(1 for i in range(desc_num) if data[states + 16 * i] == 1))
        off += (max(16 + 16 * desc_num, 32 + 40 * desc_num) + 63) // 64 * 64
    if not counts:
        print("inflight: no queue in the area", file=sys.stderr)
        return 1
    print(sum(counts), ",".join(f"q{i}={n}" for i, n in enumerate(counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
