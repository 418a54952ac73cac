# SPDX-License-Identifier: GPL-2.0
"""The vmdense test harness: a registry of named tests, the results file.

A test is a function taking a Context and returning a dict of metrics; it
fails by raising (an AssertionError or VMError says what went wrong) and
skips by raising Skip. Names are a contract: other tools read
out/test-results.json by them.
"""

import fnmatch
import json
import os
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "out")
RESULTS = os.path.join(OUT, "test-results.json")

_TESTS = []


class Skip(Exception):
    """Raised by a test that cannot run here; the message says why."""


def test(name, suite):
    """Decorator registering a test under its contract name."""
    def register(fn):
        _TESTS.append((name, suite, fn))
        return fn
    return register


def all_tests():
    return list(_TESTS)


class Context:
    """What a test gets: where to write, and a way to print progress."""

    def __init__(self, name, logdir=None):
        self.name = name
        self.logdir = logdir or os.path.join(OUT, "logs", name)
        os.makedirs(self.logdir, exist_ok=True)

    def log(self, msg):
        print("  [%s] %s" % (self.name, msg), flush=True)

    def path(self, fname):
        return os.path.join(self.logdir, fname)


def check(cond, msg):
    """assert that survives python -O and says what it measured."""
    if not cond:
        raise AssertionError(msg)


def select(patterns):
    """Tests whose name matches any glob (or equals it, or starts a
    dotted prefix: 'baseline' selects 'baseline.*')."""
    if not patterns:
        return all_tests()
    chosen = []
    for name, suite, fn in all_tests():
        for p in patterns:
            if fnmatch.fnmatch(name, p) or name.startswith(p + "."):
                chosen.append((name, suite, fn))
                break
    return chosen


def run(tests):
    """Run the tests, write the results file, print the closing line.
    Returns the process exit status."""
    results = []
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for i, (name, suite, fn) in enumerate(tests, 1):
        print("[%d/%d] %s" % (i, len(tests), name), flush=True)
        ctx = Context(name)
        start = time.monotonic()
        metrics = {}
        detail = ""
        try:
            metrics = fn(ctx) or {}
            status = "pass"
        except Skip as e:
            status, detail = "skip", str(e)
        except Exception as e:  # a test's failure, whatever raised it
            status = "fail"
            detail = "%s: %s" % (type(e).__name__, e)
            with open(ctx.path("traceback.txt"), "w") as f:
                traceback.print_exc(file=f)
        secs = round(time.monotonic() - start, 2)
        counts[status] += 1
        shown = " ".join("%s=%s" % kv for kv in sorted(metrics.items()))
        print("  %s %s (%.1f s) %s" % (status.upper(), name, secs, shown),
              flush=True)
        if detail:
            print("    " + detail.replace("\n", "\n    "), flush=True)
        entry = {"name": name, "suite": suite, "status": status,
                 "seconds": secs, "metrics": metrics}
        if detail:
            entry["detail"] = detail[:4000]
        results.append(entry)
        _write(results)
    _write(results)
    line = "%d passed, %d failed" % (counts["pass"], counts["fail"])
    if counts["skip"]:
        line += ", %d skipped" % counts["skip"]
    print("results: %s" % os.path.relpath(RESULTS, ROOT))
    print(line)
    return 1 if counts["fail"] else 0


def _write(results):
    os.makedirs(OUT, exist_ok=True)
    tmp = RESULTS + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"tests": results}, f, indent=1)
        f.write("\n")
    os.replace(tmp, RESULTS)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(
        prog="tests/run", description="Run vmdense tests. Without names, "
        "all of them. A name may be a glob or a dotted prefix.")
    ap.add_argument("--list", action="store_true", help="list test names")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args(argv)
    tests = select(a.names)
    if a.list:
        for name, suite, _ in tests:
            print("%-50s %s" % (name, suite))
        return 0
    if not tests:
        print("no test matches %s (see --list)" % " ".join(a.names))
        return 2
    return run(tests)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
