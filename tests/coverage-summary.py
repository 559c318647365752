#!/usr/bin/env python3
"""Per-module line and branch coverage from an lcov tracefile.

    coverage-summary.py [--functions N] SRCDIR TRACEFILE

SRCDIR is the source tree the tracefile's paths start with; each file under
it is assigned to a module by its directory (libztp/core -> core, ...,
tools -> tools, plugins -> plugin); files elsewhere are not counted.
Prints a table of lines and branches hit per module and in total. With
--functions N, also lists the N functions with the lowest line coverage
(ties: more lines missed first), each with its file, lines and branches.

lcov 1.x records where a function starts, not where it ends: a function's
lines and branches are taken to be those from its first line to the first
closing brace in column 0 after it (the house style ends every function
there), and never past the next function of the same file.
"""

import argparse
import os
import sys

MODULES = [
    ("libztp/core/", "core"),
    ("libztp/store/", "store"),
    ("libztp/ca/", "ca"),
    ("libztp/verifier/", "verifier"),
    ("libztp/device/", "device"),
    ("libztp/policy/", "policy"),
    ("tools/", "tools"),
    ("plugins/", "plugin"),
]


def module_of(relpath):
    for prefix, name in MODULES:
        if relpath.startswith(prefix):
            return name
    return None


def read_tracefile(path):
    """{source path: {"lines": {n: count}, "branches": {(n, block, br): taken},
    "functions": {name: (first line, calls)}}}; records of one file merged."""
    files = {}
    cur = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("SF:"):
                cur = files.setdefault(
                    os.path.normpath(line[3:]),
                    {"lines": {}, "branches": {}, "functions": {}})
            elif cur is None:
                continue
            elif line.startswith("DA:"):
                n, count = line[3:].split(",")[:2]
                n = int(n)
                cur["lines"][n] = cur["lines"].get(n, 0) + int(count)
            elif line.startswith("BRDA:"):
                n, block, br, taken = line[5:].split(",")
                key = (int(n), block, br)
                taken = 0 if taken == "-" else int(taken)
                cur["branches"][key] = cur["branches"].get(key, 0) + taken
            elif line.startswith("FN:"):
                n, name = line[3:].split(",", 1)
                first, calls = cur["functions"].get(name, (int(n), 0))
                cur["functions"][name] = (first, calls)
            elif line.startswith("FNDA:"):
                calls, name = line[5:].split(",", 1)
                first, old = cur["functions"].get(name, (0, 0))
                cur["functions"][name] = (first, old + int(calls))
            elif line == "end_of_record":
                cur = None
    return files


def closing_braces(path):
    """Line numbers (from 1) of the lines of PATH that are just "}"."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [n for n, text in enumerate(f, 1) if text.rstrip() == "}"]
    except OSError:
        return []


def pct(hit, total):
    return "%5.1f%%" % (100.0 * hit / total) if total else "    -"


def counts(rec, lo=0, hi=None):
    def inside(n):
        return n >= lo and (hi is None or n < hi)
    lines = [c for n, c in rec["lines"].items() if inside(n)]
    branches = [t for (n, _, _), t in rec["branches"].items() if inside(n)]
    return (sum(1 for c in lines if c > 0), len(lines),
            sum(1 for t in branches if t > 0), len(branches))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", type=int, default=0, metavar="N")
    ap.add_argument("srcdir")
    ap.add_argument("tracefile")
    args = ap.parse_args()

    srcdir = os.path.normpath(os.path.abspath(args.srcdir)) + os.sep
    files = read_tracefile(args.tracefile)
    totals = {name: [0, 0, 0, 0] for _, name in MODULES}
    funcs = []
    for path, rec in files.items():
        if not path.startswith(srcdir):
            continue
        rel = path[len(srcdir):]
        mod = module_of(rel)
        if mod is None:
            continue
        for i, v in enumerate(counts(rec)):
            totals[mod][i] += v
        starts = sorted((first, name)
                        for name, (first, _) in rec["functions"].items())
        closing = closing_braces(path)
        for i, (first, name) in enumerate(starts):
            hi = starts[i + 1][0] if i + 1 < len(starts) else None
            end = next((n for n in closing if n >= first), None)
            if end is not None and (hi is None or end < hi):
                hi = end + 1
            lh, lt, bh, bt = counts(rec, first, hi)
            if lt:
                funcs.append((lh / lt, lh - lt, name, rel, first,
                              lh, lt, bh, bt))

    if not any(t[1] for t in totals.values()):
        sys.exit("coverage-summary: no source under %s in %s"
                 % (srcdir, args.tracefile))
    print("%-10s %17s %7s %17s %7s" % ("module", "lines", "", "branches", ""))
    grand = [0, 0, 0, 0]
    for _, name in MODULES:
        lh, lt, bh, bt = totals[name]
        grand = [a + b for a, b in zip(grand, totals[name])]
        print("%-10s %8d / %6d %7s %8d / %6d %7s"
              % (name, lh, lt, pct(lh, lt), bh, bt, pct(bh, bt)))
    lh, lt, bh, bt = grand
    print("%-10s %8d / %6d %7s %8d / %6d %7s"
          % ("total", lh, lt, pct(lh, lt), bh, bt, pct(bh, bt)))

    if args.functions > 0:
        print("\nleast-covered functions (lines; branches):")
        funcs.sort()
        for (_, _, name, rel, first, lh, lt, bh, bt) in funcs[:args.functions]:
            print("  %-40s %s:%d  %d/%d %s; %d/%d %s"
                  % (name, rel, first, lh, lt, pct(lh, lt).strip(),
                     bh, bt, pct(bh, bt).strip()))


if __name__ == "__main__":
    main()
