# SPDX-License-Identifier: GPL-2.0
"""Free-path benchmark: what reporting adds to each free, measured where
it arises instead of in the noise of a whole workload under TCG.

In one guest (2 GiB, QEMU's virtio-balloon with free page reporting), a
test module times the frees of 32 blocks of the largest order (4 MiB: each
reaches the buddy allocator at once, as two pageblocks, and is captured
twice), of 8192 single pages (through the per-CPU lists, as most of a
workload's frees are), and of 256 blocks of order 4 with the capture
order at 4 (each free qualifies: the cost per capture; mm/hinting's
worker kept away meanwhile, its cost is measured apart), with reporting
on and
off in turns, many pairs (tests/guest/bench/capture_cost.sh): vmdense's
mm/hinting (switched by /sys/kernel/mm/hinting/enabled) and, side by
side, the kernel's page_reporting (switched by loading and unloading
virtio_balloon). Figures per driver and kind: nanoseconds per free on and
off (median, min-max), the added nanoseconds and the on/off ratio of each
pair (median, min-max), and the added nanoseconds per qualifying free. Writes out/bench/capture.json and
capture.png; bench/churn.py turns the added time per capture into a share
of the churn workload's CPU time.
"""
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(ROOT, "scripts"), os.path.join(ROOT, "tests")]

import vmdense_vm as vmmod  # noqa: E402
from vmtest import harness  # noqa: E402
from vmtest.workloads import KINDS, free_path_cost  # noqa: E402

OUTDIR = os.path.join(ROOT, "out", "bench")
JSON = os.path.join(OUTDIR, "capture.json")
DRIVERS = ("vmdense_balloon", "virtio_balloon")


def _spread(vals):
    return {"median": statistics.median(vals), "min": min(vals),
            "max": max(vals), "n": len(vals)}


def run(pairs=100):
    os.makedirs(OUTDIR, exist_ok=True)
    runner = harness.Runner([], full=True)
    ctx = harness.Context("bench-capture", runner,
                          logdir=os.path.join(OUTDIR, "capture-logs"))
    doc = {"pairs": pairs, "drivers": {}}
    with vmmod.VM(mem="2G", balloon=True, timeout=7200,
                  log=ctx.path("serial.log")) as vm:
        for driver in DRIVERS:
            print("[capture] %s: %d pairs" % (driver, pairs), flush=True)
            res = free_path_cost(ctx, vm, driver, pairs)
            doc["drivers"][driver] = {
                kind: {"n": res[kind]["n"],
                       "on_ns": _spread(res[kind]["on_ns"]),
                       "off_ns": _spread(res[kind]["off_ns"]),
                       "added_ns": _spread(res[kind]["added_ns"]),
                       "ratio": _spread(res[kind]["ratio"]),
                       "added_ns_per_capture": _spread(
                           res[kind]["added_ns_per_capture"])
                       if res[kind].get("added_ns_per_capture") else None,
                       "runs": {k: res[kind][k] for k in
                                ("on_ns", "off_ns", "added_ns", "ratio")}}
                for kind in KINDS}
    with open(JSON, "w") as f:
        json.dump(doc, f, indent=1)
    _plot(doc)
    for driver, kinds in doc["drivers"].items():
        for kind, r in kinds.items():
            print("[capture] %-15s %-6s free %6.0f ns on, %6.0f ns off; "
                  "added %+6.0f ns (%+.0f..%+.0f), ratio %.3f "
                  "(%.3f-%.3f), %d pairs" % (
                      driver, kind, r["on_ns"]["median"],
                      r["off_ns"]["median"], r["added_ns"]["median"],
                      r["added_ns"]["min"], r["added_ns"]["max"],
                      r["ratio"]["median"], r["ratio"]["min"],
                      r["ratio"]["max"], pairs))
    print("[capture] results: out/bench/capture.json, capture.png")
    return doc


def added_ns_per_capture():
    """The median nanoseconds mm/hinting's capture added to a qualifying
    free in the last run of this benchmark; None if it has not run."""
    try:
        with open(JSON) as f:
            doc = json.load(f)
    except OSError:
        return None
    per = doc["drivers"]["vmdense_balloon"]["small_blocks"][
        "added_ns_per_capture"]
    return per["median"] if per else None


def _plot(doc):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(KINDS), figsize=(16, 4))
    for ax, kind in zip(axes, KINDS):
        data = [doc["drivers"][d][kind]["runs"]["ratio"] for d in DRIVERS]
        ax.boxplot(data, labels=["vmdense\n(mm/hinting)",
                                 "kernel\n(page_reporting)"])
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_title("%s: free time on / off, per pair" % {
            "blocks": "4 MiB blocks", "pages": "single pages",
            "small_blocks": "single pages, every free qualifying"}[kind])
    fig.suptitle("Free path with reporting on vs off, %d pairs each" %
                 doc["pairs"])
    fig.tight_layout()
    fig.savefig(os.path.join(OUTDIR, "capture.png"), dpi=100)
    plt.close(fig)
