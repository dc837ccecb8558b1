#!/usr/bin/env python3
"""Print 'N passed, N failed' for meson testlog.json files and result files.

A result file (name ending in .results, written by scripts/fuzz.sh and
scripts/tsan.sh when GM_RESULTS is set) has one line per check: "ok NAME"
or "FAILED NAME ...".
"""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                if path.endswith(".results"):
                    if line.split()[0] == "ok":
                        passed += 1
                    else:
                        failed += 1
                    continue
                result = json.loads(line).get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except OSError as e:
        print(f"cannot read {path}: {e}", file=sys.stderr)
        failed += 1
tail = f", {skipped} skipped" if skipped else ""
print(f"{passed} passed, {failed} failed{tail}")
