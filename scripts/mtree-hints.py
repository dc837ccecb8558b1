#!/usr/bin/env python3
"""Derive terminating-region hints from a QEMU `info mtree` dump pair.

Usage: mtree-hints.py TREEFILE FLATFILE > HINTS

TREEFILE is the output of `info mtree -D`, FLATFILE the output of
`info mtree -f` for the same machine.

A non-alias tree line of type i/o is a terminating region (it renders
itself into the gaps between its subregions, like an MMIO region) when its
name is the final region name of some range line of the flat output: pure
containers never appear in a flat view.  For every such tree line one hint
line `NAME SIZE` is printed, SIZE being (end - start) mod 2^64 + 1 in
lowercase hex without 0x.  Output lines are deduplicated and sorted.

Names are the only link between the two dumps.  When a name is shared by
i/o regions of different sizes, or by an i/o region and a region of another
type, a NAME SIZE pair may be listed only because of its namesake.  Pairs
whose region is not seen in place in a flat view (a flat range of that name
in the same address space whose start minus its @offset is the region's
start, and which fits in the region) are reported on stderr as ambiguous.
"""

import re
import sys

MASK64 = (1 << 64) - 1

# [DETECTED OVERFLOW!] <indent>START-END (prio P, TYPE): REST
TREE_RE = re.compile(
    r"^(?:\[DETECTED OVERFLOW!\] )?(?P<indent> *)"
    r"(?P<start>[0-9a-f]{16})-(?P<end>[0-9a-f]{16}) "
    r"\(prio (?P<prio>-?\d+), (?P<type>[^)]*)\): (?P<rest>.*)$")
ALIAS_RE = re.compile(r"^alias .* @.* [0-9a-f]{16}-[0-9a-f]{16}(?: \[disabled\])?$")
FLAT_RE = re.compile(
    r"^  (?P<start>[0-9a-f]{16})-(?P<end>[0-9a-f]{16}) "
    r"\(prio (?P<prio>-?\d+), (?P<type>[^)]*)\): (?P<name>.*?)"
    r"(?: @(?P<offset>[0-9a-f]{16}))?$")


def base_type(t):
    return t[3:] if t.startswith("nv-") else t


def read_lines(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            yield line.rstrip("\r\n").rstrip()


class TreeLine:
    __slots__ = ("name", "type", "start", "size", "keys")

    def __init__(self, name, typ, start, size, keys):
        self.name, self.type, self.start, self.size, self.keys = \
            name, typ, start, size, keys


def parse_tree(path):
    """Return the non-alias region lines of an `info mtree` dump.

    keys is the set of (address space, root region) pairs of the
    address-space block the line belongs to; empty for lines of
    `memory-region:` blocks.
    """
    out = []
    as_names = []       # address-space headers of the current block
    keys = frozenset()
    in_as = False
    for line in read_lines(path):
        if not line:
            as_names, keys, in_as = [], frozenset(), False
            continue
        if line.startswith("address-space: "):
            if not in_as or keys:
                as_names, keys = [], frozenset()
            as_names.append(line[len("address-space: "):])
            in_as = True
            continue
        if line.startswith("memory-region: "):
            as_names, keys, in_as = [], frozenset(), False
            continue
        m = TREE_RE.match(line)
        if not m:
            continue
        rest = m.group("rest")
        is_alias = bool(ALIAS_RE.match(rest))
        if rest.endswith(" [disabled]"):
            rest = rest[: -len(" [disabled]")]
        if in_as and not keys:
            # first line of the block: the root region
            root = rest
            if is_alias:
                root = rest[len("alias "):].rsplit(" @", 1)[0]
            keys = frozenset((a, root) for a in as_names)
        if is_alias:
            continue
        start = int(m.group("start"), 16)
        end = int(m.group("end"), 16)
        size = ((end - start) & MASK64) + 1
        out.append(TreeLine(rest, base_type(m.group("type")), start, size, keys))
    return out


def parse_flat(path):
    """Return ({name: [(key, start, length, offset)]}) over all range lines."""
    names = {}
    keys = []
    as_re = re.compile(r'^ AS "(?P<name>.*)", root: (?P<root>.*)$')
    new_block = True
    for line in read_lines(path):
        if line.startswith("FlatView #"):
            keys, new_block = [], True
            continue
        m = as_re.match(line)
        if m:
            keys.append((m.group("name"), m.group("root")))
            continue
        m = FLAT_RE.match(line)
        if m:
            start = int(m.group("start"), 16)
            length = ((int(m.group("end"), 16) - start) & MASK64) + 1
            offset = int(m.group("offset") or "0", 16)
            for k in keys:
                names.setdefault(m.group("name"), []).append(
                    (k, start, length, offset))
    return names


def confirmed(tl, ranges):
    """True if some flat range is exactly tl's region seen in place."""
    for key, start, length, offset in ranges:
        if key in tl.keys and ((start - offset) & MASK64) == tl.start \
                and offset + length <= tl.size:
            return True
    return False


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: mtree-hints.py TREEFILE FLATFILE > HINTS\n")
        return 2
    tree = parse_tree(argv[1])
    flat = parse_flat(argv[2])

    io_lines = {}       # name -> {size: [TreeLine]}
    other_types = {}    # name -> set of non-i/o types of tree lines
    for tl in tree:
        if tl.type == "i/o":
            io_lines.setdefault(tl.name, {}).setdefault(tl.size, []).append(tl)
        else:
            other_types.setdefault(tl.name, set()).add(tl.type)

    hints = set()
    for name in sorted(io_lines):
        if name not in flat:
            continue
        by_size = io_lines[name]
        for size in by_size:
            hints.add("%s %x" % (name, size))
        shared = []
        if len(by_size) > 1:
            shared.append("i/o regions of sizes %s share the name"
                          % ",".join("%x" % s for s in sorted(by_size)))
        if name in other_types:
            shared.append("name also used by a %s region"
                          % "/".join(sorted(other_types[name])))
        if not shared:
            continue
        # Sizes whose region is seen in place in a flat view are certain;
        # report the others.
        for size in sorted(by_size):
            if any(confirmed(tl, flat[name]) for tl in by_size[size]):
                continue
            sys.stderr.write("ambiguous hint: %s %x (%s; not seen in place "
                             "in any flat view)\n"
                             % (name, size, "; ".join(shared)))

    out = sys.stdout
    for h in sorted(hints, key=lambda s: s.encode("utf-8", "surrogateescape")):
        out.write(h + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
