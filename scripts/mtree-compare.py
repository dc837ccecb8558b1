#!/usr/bin/env python3
"""Compare two QEMU `info mtree -f` outputs per address space.

Usage: mtree-compare.py [--stats] FLAT_EXPECTED FLAT_ACTUAL

Each address space (an ` AS "name", root: X` line) is mapped to the range
lines of the FlatView block it is listed in; a block saying
"No rendered FlatView" gives an empty list.  FlatView numbering and the
order of the blocks are ignored, and so is trailing whitespace.

Address spaces are keyed by name and root region, because QEMU can have
several address spaces of one name (e.g. one "vtd-root" per device behind
an IOMMU).  Should a key still occur several times, its views are compared
as a multiset.

Exit status: 0 if every address space matches, 1 otherwise (a unified diff
of the first differing lines of each mismatching address space is printed),
2 on usage or parse errors.

--stats also prints a summary:
  address spaces matched: N/M
  range lines matched: N/M
where range lines are counted over all address spaces of FLAT_EXPECTED
(multiset intersection with the lines of the same address space in
FLAT_ACTUAL).
"""

import collections
import difflib
import re
import sys

AS_RE = re.compile(r'^ AS "(?P<name>.*)", root: (?P<root>.*)$')
RANGE_RE = re.compile(r"^  [0-9a-f]{16}-[0-9a-f]{16} \(prio ")
MAX_DIFF_LINES = 20


class ParseError(Exception):
    pass


def parse(path):
    """Return {(as name, root): [list of range lines, ...]}."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            lines = [l.rstrip("\r\n").rstrip() for l in f]
    except OSError as e:
        raise ParseError("%s: %s" % (path, e.strerror))

    spaces = collections.defaultdict(list)
    blocks = []             # (keys, ranges)
    cur = None
    for n, line in enumerate(lines, 1):
        if line.startswith("FlatView #"):
            cur = ([], [])
            blocks.append(cur)
            continue
        if cur is None:
            if line:
                raise ParseError("%s:%d: text before the first FlatView" % (path, n))
            continue
        m = AS_RE.match(line)
        if m:
            cur[0].append((m.group("name"), m.group("root")))
        elif RANGE_RE.match(line):
            cur[1].append(line)
        elif (line == "" or line.startswith(" Root memory region: ")
              or line == "  No rendered FlatView"):
            pass
        else:
            # Unknown line (e.g. output of -d/-o): keep it in the view so
            # that it is compared rather than silently dropped.
            cur[1].append(line)
    for keys, ranges in blocks:
        for key in keys:
            spaces[key].append(ranges)
    return spaces


def label(key, i, count):
    name, root = key
    s = 'AS "%s", root: %s' % (name, root)
    if count > 1:
        s += " [#%d]" % (i + 1)
    return s


def pair_views(exp_views, act_views):
    """Pair views of one key: identical ones first, then in order."""
    exp = sorted(exp_views)
    act = sorted(act_views)
    pairs = []
    rest_e, rest_a = [], list(act)
    for v in exp:
        if v in rest_a:
            rest_a.remove(v)
            pairs.append((v, v))
        else:
            rest_e.append(v)
    for i in range(max(len(rest_e), len(rest_a))):
        e = rest_e[i] if i < len(rest_e) else None
        a = rest_a[i] if i < len(rest_a) else None
        pairs.append((e, a))
    return pairs


def main(argv):
    stats = "--stats" in argv[1:]
    args = [a for a in argv[1:] if a != "--stats"]
    if len(args) != 2 or any(a.startswith("--") for a in args):
        sys.stderr.write("usage: mtree-compare.py [--stats] FLAT_EXPECTED FLAT_ACTUAL\n")
        return 2
    try:
        expected = parse(args[0])
        actual = parse(args[1])
    except ParseError as e:
        sys.stderr.write("mtree-compare: %s\n" % e)
        return 2

    as_total = as_ok = 0
    lines_total = lines_ok = 0
    failed = False
    keys = sorted(set(expected) | set(actual))
    for key in keys:
        exp_views = expected.get(key, [])
        act_views = actual.get(key, [])
        count = max(len(exp_views), len(act_views))
        for i, (e, a) in enumerate(pair_views(exp_views, act_views)):
            as_total += 1
            if e is not None:
                lines_total += len(e)
                if a is not None:
                    common = collections.Counter(e) & collections.Counter(a)
                    lines_ok += sum(common.values())
            if e == a:
                as_ok += 1
                continue
            failed = True
            name = label(key, i, count)
            if e is None:
                print("--- %s: missing from %s" % (name, args[0]))
                continue
            if a is None:
                print("--- %s: missing from %s" % (name, args[1]))
                continue
            diff = list(difflib.unified_diff(
                e, a, fromfile="%s: %s" % (args[0], name),
                tofile="%s: %s" % (args[1], name), n=1, lineterm=""))
            for line in diff[:MAX_DIFF_LINES]:
                print(line)
            if len(diff) > MAX_DIFF_LINES:
                print("... (%d more diff lines)" % (len(diff) - MAX_DIFF_LINES))

    if stats:
        print("address spaces matched: %d/%d" % (as_ok, as_total))
        print("range lines matched: %d/%d" % (lines_ok, lines_total))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
