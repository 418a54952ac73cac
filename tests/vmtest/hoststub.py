# SPDX-License-Identifier: GPL-2.0
"""Nested scenarios against host-stub: one L1 (vmtest.nested.L1) shared
by consecutive tests, each running /vmdense/l1/*.sh scripts there
(tests/guest/l1). Every run's L1 and L2 consoles are kept and checked for
kernel reports; a run that ends any other way than its script decides is
retried only for a documented accident (nested.may_retry), from the run's
retry budget, after its consoles were saved whole.

Public names: NestedL1, run_l2(), nested_metrics(), stub_built(),
L2_FULL, THP.
"""
import os
import subprocess

import vmdense_vm as vmmod

from . import nested
from .console import check_clean
from .harness import OUT, ROOT, Shared, Skip, check

# The initramfs with stress-ng for L2s that need it (L2_INITRD=L2_FULL):
# every page of L2's page cache costs a nested host fault, so the others
# boot the slim one.
L2_FULL = "/vmdense/l2-full.cpio.gz"

# host-stub backs L2's memory with transparent huge pages, as a production
# host does, where a scenario counts no 4 KiB host faults: a first touch
# then costs one nested fault per 2 MiB, not per 4 KiB (256 MiB filled in
# L2 in 5-9 s instead of 34-42 s).
THP = "--thp"

_built = []


def stub_built():
    """Build host-stub (once per run of the suite)."""
    if _built:
        return
    res = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "host-stub"),
                          "O=" + os.path.join(OUT, "host-stub"),
                          os.path.join(OUT, "host-stub", "host-stub")],
                         capture_output=True, text=True, timeout=600)
    check(res.returncode == 0, "building host-stub failed:\n%s" % (
        res.stdout + res.stderr)[-2000:])
    _built.append(True)


class NestedL1(Shared):
    """The L1 of the nested scenarios, shared by consecutive ones."""

    key = "nested-L1"

    def label(self):
        return "the nested L1"

    boots = 0   # of the run, for the log names

    def __init__(self):
        self.l1 = None

    def open(self):
        stub_built()
        for f in (vmmod.KERNEL, vmmod.INITRD_SLIM, vmmod.INITRD):
            if not os.path.exists(f):
                raise Skip("%s missing: run make build" % f)
        NestedL1.boots += 1
        d = os.path.join(OUT, "logs", "guests")
        os.makedirs(d, exist_ok=True)
        self.l1 = nested.L1(os.path.join(d, "L1-%d.log" % NestedL1.boots),
                            extra={L2_FULL.lstrip("/"): vmmod.INITRD},
                            timeout=24 * 3600).start()
        if not self.l1.has_kvm:
            raise Skip("L1 has no /dev/kvm (no SVM/VMX in the L1 CPU)")

    def close(self):
        if self.l1:
            self.l1.stop()
            self.l1 = None

    def healthy(self):
        return self.l1 is not None and self.l1.alive()

    def begin(self, ctx):
        self.l1.progress = ctx.log


def _save(ctx, name, attempt, run):
    tag = "%s-%d" % (name, attempt) if attempt > 1 else name
    for what, text in (("output", run.output), ("l1-console", run.l1_console),
                       ("l2-console", run.l2_console)):
        with open(ctx.path("%s-%s.log" % (tag, what)), "w") as f:
            f.write(text)
    return ctx.path("%s-l2-console.log" % tag)


def run_l2(ctx, script, env=None, timeout=600, name=None,
           expect_status=0):
    """Run /vmdense/l1/@script with @env in the shared L1 and return its
    nested.L2Run once it ended as its script decided (L1's checks passed,
    no kernel report in L1 or L2); raise with what went wrong otherwise.
    A documented accident is retried, as long as the run's budget lasts.
    @expect_status: the script's exit status for a pass. Options in the
    environment variable VMDENSE_STUB_OPTS go to every host-stub."""
    name = name or script.rsplit(".", 1)[0]
    # VMDENSE_STUB_OPTS: options every host-stub of the run gets, e.g.
    # --poison (memory given back reads 0x6b, not zero)
    if os.environ.get("VMDENSE_STUB_OPTS"):
        env = dict(env or {}, STUB_EXTRA=os.environ["VMDENSE_STUB_OPTS"])
    attempt = 0
    while True:
        attempt += 1
        shared = ctx.shared(NestedL1())
        run = shared.l1.run(script, env, timeout=min(timeout,
                                                     ctx.remaining()))
        where = _save(ctx, name, attempt, run)
        ending = nested.classify(run)
        ctx.log("%s: %s (%.0f s)" % (name, ending.signature(), run.seconds))
        if ending.kind in ("clean", "failed"):
            break
        accident = nested.may_retry(ending)
        if accident and ctx.retry("%s: %s" % (name, ending.signature())):
            if not run.l1_alive:
                shared.close()
            continue
        check(False, "%s ended %s%s (consoles: %s)\n%s" % (
            name, ending.signature(),
            "; our code in the trace: %s" % ", ".join(ending.ours)
            if ending.ours else "", where, _excerpt(run)))
    check_clean(run.l1_console, "L1's console (%s)" % where)
    check_clean(run.l2_console, "L2's console (%s)" % where)
    check(run.status == expect_status and ending.kind == "clean",
          "%s: the L1 script ended %s (%s):\n%s" % (
              name, run.status, ending.signature(), _excerpt(run)))
    return run


def _excerpt(run, lines=40):
    out = [ln for ln in run.output.splitlines() if ln.strip()][-lines:]
    l2 = [ln for ln in run.l2_console.splitlines() if ln.strip()][-lines:]
    return "--- L1 script output (tail)\n%s\n--- L2 console (tail)\n%s" % (
        "\n".join(out), "\n".join(l2))


def nested_metrics(run, m=None):
    """@run's metrics (or @m) with what every nested scenario records."""
    m = dict(m if m is not None else run.metrics())
    m["l1_total_seconds"] = round(run.seconds, 2)
    return m
