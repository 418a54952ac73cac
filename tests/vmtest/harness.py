# SPDX-License-Identifier: GPL-2.0
"""The test harness: a registry of named tests in tiers, shared guests
kept across the tests that use them, time limits, the retry budget, the
results file and the summary.

A test is a function taking a Context and returning a dict of metrics; it
fails by raising (an AssertionError or VMError says what went wrong) and
skips by raising Skip. Names are a contract: other tools read
out/test-results.json by them.

Public names: test(), Context, Skip, check(), Shared, RetryBudget,
RETRY_BUDGET, main(), markdown(), ROOT, OUT.
"""

import fnmatch
import json
import os
import signal
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "out")
RESULTS = os.path.join(OUT, "test-results.json")
# Retries of nested runs after a documented accident, in a whole run of
# the suite; past that the test fails (tests/NESTED-ENDINGS.md).
RETRY_BUDGET = 3
# lines of each failure's message repeated under the summary
FAIL_LINES = 12

# make test, make test-full (adds "full"), make deploy (the packages in a
# Debian guest, which need a kernel package hours in the making)
TIERS = ("test", "full", "deploy")
_TESTS = []


class Skip(Exception):
    """Raised by a test that cannot run here; the message says why."""


class TimeLimit(Exception):
    """A test ran past its time limit."""


def test(name, suite, tier="test", limit=600):
    """Register a test under its contract name. @tier: "test" (make test),
    "full" (make test-full too) or "deploy" (only make deploy, or when
    named); @limit: seconds it may take."""
    assert tier in TIERS

    def register(fn):
        _TESTS.append(_Test(name, suite, tier, limit, fn))
        return fn
    return register


class _Test:
    def __init__(self, name, suite, tier, limit, fn):
        self.name, self.suite, self.tier = name, suite, tier
        self.limit, self.fn = limit, fn


def all_tests():
    return list(_TESTS)


def check(cond, msg):
    """assert that survives python -O and says what it measured."""
    if not cond:
        raise AssertionError(msg)


class RetryBudget:
    """Retries left in this run, and what each was for."""

    def __init__(self, n):
        self.left = n
        self.used = []

    def take(self, test, why):
        if self.left <= 0:
            return False
        self.left -= 1
        self.used.append((test, why))
        return True


class Shared:
    """A resource (a booted guest) that consecutive tests share. Subclasses
    give key (tests that want an equal key share it), open(), close(),
    healthy(), and begin(ctx)/end(ctx), called around each test that uses
    it (end() checks what the test left in the guest's console)."""

    key = None

    def label(self):
        """What to call it in progress lines."""
        return str(self.key)

    def open(self):
        raise NotImplementedError

    def close(self):
        raise NotImplementedError

    def healthy(self):
        return True

    def begin(self, ctx):
        pass

    def end(self, ctx):
        pass


class Context:
    """What a test gets: where to write, progress output, its time limit,
    the retry budget, and the shared guests."""

    def __init__(self, name, runner, limit=24 * 3600, logdir=None):
        self.name = name
        self.runner = runner
        # make test-full: the tests add their side-by-side halves with the
        # kernel's drivers and their full sizes
        self.full = runner.full
        self.limit = limit
        self.start = time.monotonic()
        self.logdir = logdir or os.path.join(OUT, "logs", name)
        self.retries = []
        # the scenario provokes the OOM killer on purpose (and counts it)
        self.oom_ok = False
        os.makedirs(self.logdir, exist_ok=True)

    def log(self, msg):
        print("  [%s %5.0fs] %s" % (self.name, time.monotonic() - self.start,
                                    msg), flush=True)

    def path(self, fname):
        return os.path.join(self.logdir, fname)

    def remaining(self):
        return max(10, self.limit - (time.monotonic() - self.start))

    def retry(self, why):
        """Take one retry from the run's budget for @why; False when none
        is left (the caller fails the test then)."""
        ok = self.runner.budget.take(self.name, why)
        if ok:
            self.retries.append(why)
            self.log("RETRY (%d left in this run): %s" % (
                self.runner.budget.left, why))
        return ok

    def shared(self, resource):
        """The shared resource equal to @resource (opened if needed)."""
        return self.runner.acquire(self, resource)


class Runner:
    """Runs tests (run()), and keeps the shared guests they use. A
    benchmark makes one with no tests to hand its workloads Contexts:
    Runner([], full=True), and release() when done."""

    def __init__(self, tests, full=False):
        self.tests = tests
        self.full = full
        self.budget = RetryBudget(RETRY_BUDGET)
        self.live = None          # the Shared resource kept open
        self.in_use = []

    def acquire(self, ctx, resource):
        if self.live is not None and self.live.key == resource.key and \
                self.live.healthy():
            res = self.live
        else:
            self.release()
            ctx.log("booting %s" % resource.label())
            resource.open()
            res = self.live = resource
        res.begin(ctx)
        self.in_use.append(res)
        return res

    def release(self):
        if self.live is not None:
            try:
                self.live.close()
            finally:
                self.live = None

    def _end_shared(self, ctx):
        errors = []
        for res in self.in_use:
            try:
                res.end(ctx)
            except Exception as e:  # the console check's verdict
                errors.append(e)
        self.in_use = []
        if errors:
            raise errors[0]

    def _alarm(self, signum, frame):
        raise TimeLimit("time limit reached")

    def run(self):
        results = []
        counts = {"pass": 0, "fail": 0, "skip": 0}
        ci = os.environ.get("CI") == "true"
        t_all = time.monotonic()
        signal.signal(signal.SIGALRM, self._alarm)
        for i, t in enumerate(self.tests, 1):
            print("[%d/%d] %s (limit %d s)" % (i, len(self.tests), t.name,
                                              t.limit), flush=True)
            ctx = Context(t.name, self, t.limit)
            metrics, detail = {}, ""
            signal.alarm(t.limit)
            try:
                try:
                    metrics = t.fn(ctx) or {}
                finally:
                    signal.alarm(0)
                    self._end_shared(ctx)
                status = "pass"
            except Skip as e:
                status, detail = "skip", str(e)
                if ci:
                    status = "fail"
                    detail = "skipped under CI=true, where it must " \
                        "run: " + detail
            except Exception as e:  # a test's failure, whatever raised it
                status = "fail"
                if isinstance(e, TimeLimit):
                    detail = "TimeLimit: past its limit of %d s" % t.limit
                else:
                    detail = "%s: %s" % (type(e).__name__, e)
                with open(ctx.path("traceback.txt"), "w") as f:
                    traceback.print_exc(file=f)
                # a guest a failed test leaves behind is not reused
                self.release()
            secs = round(time.monotonic() - ctx.start, 2)
            counts[status] += 1
            shown = " ".join("%s=%s" % kv for kv in sorted(metrics.items())
                             if not isinstance(kv[1], (list, dict)))
            print("  %s %s (%.1f s of %d) %s" % (
                status.upper(), t.name, secs, t.limit, shown), flush=True)
            if detail:
                print("    " + detail.replace("\n", "\n    "), flush=True)
            entry = {"name": t.name, "suite": t.suite, "tier": t.tier,
                     "status": status, "seconds": secs, "limit": t.limit,
                     "retries": ctx.retries, "metrics": metrics}
            if detail:
                entry["detail"] = detail[:4000]
            results.append(entry)
            _write(results)
            with open(ctx.path("result.json"), "w") as f:
                json.dump(entry, f, indent=1)
        self.release()
        _write(results)
        total = time.monotonic() - t_all
        print("\nsummary (%.1f min):" % (total / 60))
        for e in results:
            print("  %-4s %-45s %7.1f s" % (e["status"], e["name"],
                                           e["seconds"]))
        for e in results:
            for why in e["retries"]:
                print("retried: %s: %s" % (e["name"], why))
            if e["status"] == "skip":
                print("skipped: %s: %s" % (e["name"], e.get("detail", "")))
        # why each failed, again at the end: a CI log is often read only
        # from its tail
        for e in results:
            if e["status"] == "fail":
                lines = e.get("detail", "").splitlines()[:FAIL_LINES]
                print("failed: %s: %s" % (e["name"], "\n    ".join(
                    ln[:200] for ln in lines)))
        line = "%d passed, %d failed" % (counts["pass"], counts["fail"])
        if counts["skip"]:
            line += ", %d skipped" % counts["skip"]
        print("results: %s" % os.path.relpath(RESULTS, ROOT))
        print("%s (%.1f min)" % (line, total / 60))
        return 1 if counts["fail"] else 0


def select(tests, patterns):
    """Tests whose name matches any glob (or equals it, or starts a
    dotted prefix: 'baseline' selects 'baseline.*')."""
    if not patterns:
        return tests
    return [t for t in tests if any(
        fnmatch.fnmatch(t.name, p) or t.name.startswith(p + ".")
        for p in patterns)]


def markdown(tests):
    """A markdown table of @tests: name, tier, time limit, what the test
    proves (its docstring) and its metric keys as its last run recorded
    them (out/logs/<name>/result.json)."""
    keys = {}
    for t in tests:
        try:
            with open(os.path.join(OUT, "logs", t.name,
                                   "result.json")) as f:
                keys[t.name] = sorted(json.load(f).get("metrics") or {})
        except (OSError, ValueError):
            pass
    rows = ["| test | tier | limit | what it proves | metrics |",
            "|---|---|---|---|---|"]
    for t in tests:
        doc = " ".join((t.fn.__doc__ or "").split()).replace("|", "\\|")
        rows.append("| `%s` | %s | %d s | %s | %s |" % (
            t.name, t.tier, t.limit, doc,
            ", ".join("`%s`" % k for k in keys.get(t.name, [])) or "-"))
    return "\n".join(rows)


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
        prog="tests/run", description="Run vmdense tests: the tier of make "
        "test by default, --full adds make test-full's. A name may be a "
        "glob or a dotted prefix; named tests run whatever their tier.")
    ap.add_argument("--list", action="store_true", help="list test names")
    ap.add_argument("--full", action="store_true",
                    help="every test (make test-full)")
    ap.add_argument("--markdown", action="store_true",
                    help="the README's table of the tests selected: what "
                    "each proves (its docstring) and its metric keys (from "
                    "its last run)")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args(argv)
    tests = all_tests()
    if not a.names:
        tiers = ("test", "full") if a.full else ("test",)
        tests = [t for t in tests if t.tier in tiers]
    tests = select(tests, a.names)
    if a.markdown:
        print(markdown(tests))
        return 0
    if a.list:
        for t in tests:
            print("%-45s %-12s %-5s %5d s" % (t.name, t.suite, t.tier,
                                              t.limit))
        return 0
    if not tests:
        print("no test matches %s (see --list)" % " ".join(a.names))
        return 2
    return Runner(tests, full=a.full).run()
