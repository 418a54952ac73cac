# SPDX-License-Identifier: GPL-2.0
"""Hyper-V benchmark, nested on host-stub (QEMU cannot offer the extended
hypercalls): the same fill-and-free workload in L2 (1536 MiB: fill 1 GiB,
verify, free it) with three ways of giving free memory back: vmdense_hyperv
cold hints, vmdense_balloon reporting and the kernel's virtio_balloon with
page_reporting (both on the stub's virtio-balloon device); figures: MiB
returned and seconds until the host memory stopped dropping. Then what
skipping the zeroing of host-zeroed memory saves (L2 with
init_on_alloc=1): pages skipped at load and on first allocation, the
time of 128 MiB of __GFP_ZERO allocations and of filling 192 MiB of user
memory, each with skip_zeroing off and on in the same boot (in halves:
off, on, on, off); and what init_on_alloc=1 costs a boot at all: L2
booted alternately with init_on_alloc=0 and 1 in one L1, seconds to user
space (the most that skipping the zeroing at boot could save); and the
first touch of fresh user memory (tools/touch_pages, one word per page)
with skip_zeroing off and on alternately, on memory the host has not
backed and, after a hot hint, on memory it backed and mapped for the
guest ahead. Several runs each, median and min-max; out/bench/hyperv.json
and hyperv.png.
"""
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(ROOT, "scripts"), os.path.join(ROOT, "tests")]

from vmtest import harness  # noqa: E402
from vmtest.hyperv_workloads import (EARLY_ZEROED, boot_times,  # noqa: E402
                                     fill_free, first_touch, skip_zeroing)

# the three ways of giving free memory back, on one workload
RETURN_PATHS = ("vmdense_hyperv", "vmdense_balloon", "virtio_balloon")
OUTDIR = os.path.join(ROOT, "out", "bench")
# sizes of the skip-zeroing batches (MiB), larger than the test's; the
# time keys are named after them (skip_zeroing_run())
ZEROING_ALLOC_MB = 128
ZEROING_FILL_MB = 192
ALLOC_MS = "alloc_%dmb_ms_" % ZEROING_ALLOC_MB
FILL_MS = "fill_%dmb_ms_" % ZEROING_FILL_MB
ZEROING_KEYS = (ALLOC_MS + "noskip", ALLOC_MS + "skip",
                "alloc_skipped_pages_skip", "alloc_known_zero_cleared_noskip",
                FILL_MS + "noskip", FILL_MS + "skip",
                "fill_skipped_pages_skip", "fill_known_zero_cleared_noskip",
                "zeroing_skipped_pages_at_load", "zeroing_skipped_pages",
                "zeroing_done_pages", "known_zero_pages")
TOUCH_MB = 16
# runs of each mode and phase per repetition: 4 left the hot-hint medians
# within each other's noise (2026-12-01: 1798 vs 1870 ms, ranges
# 1251-2801 and 535-2879)
TOUCH_ROUNDS = 8
TOUCH_KEYS = tuple("first_touch_%dmb_ms_%s_%s" % (TOUCH_MB, h, z)
                   for h in ("unhinted", "hinted")
                   for z in ("clearing", "skipping"))


def _spread(vals):
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals),
            "max": max(vals), "runs": vals}


def _paired(clearing, skipping):
    """Each skipping run over the clearing run just before it: the pair
    shares the machine's period, so slow stretches of this 2-core host
    cancel out of the ratio, which a comparison of medians keeps."""
    return _spread([round(sk / cl, 3) for cl, sk in zip(clearing, skipping)
                    if cl > 0])


def _attempt(what, fn):
    """One nested run; a failed run is reported and left out, not fatal:
    the other figures are still worth having."""
    try:
        return fn()
    except Exception as e:
        print("[hyperv] %s failed: %s" % (what, str(e).splitlines()[0]
                                          if str(e) else type(e).__name__),
              flush=True)
        return None


# L2 boots of the boot-time figure: what init_on_alloc=1 costs, and how
# much of it skipping the clearing from the boot-zeroed query made during
# boot (CONFIG_VMDENSE_HYPERV_MEM_EARLY) wins back
BOOTS = (("ioa0", "init_on_alloc=0"), ("ioa1", "init_on_alloc=1"),
         ("ioa1_skip", "init_on_alloc=1 " + EARLY_ZEROED))


def _step(runner, r, runs, what, tag, fn, failures):
    """One nested run of repetition r: progress line, its own log
    directory, a failure noted rather than raised."""
    print("[hyperv] run %d/%d: %s" % (r + 1, runs, what), flush=True)
    ctx = harness.Context("bench-hyperv-%s-%d" % (tag, r), runner)
    res = _attempt(what, lambda: fn(ctx))
    if not res:
        failures.append("%s run %d" % (what, r + 1))
    return res


def _repetitions(runner, runs, ret, zero, boot, boot_pairs, touch,
                 failures):
    """The nested runs of every repetition, their figures appended to the
    lists in @ret, @zero, @boot, @boot_pairs and @touch."""
    for r in range(runs):
        for path in RETURN_PATHS:
            res = _step(runner, r, runs, "fill and free 1 GiB, " + path,
                        path, lambda ctx: fill_free(ctx, path, "bench"),
                        failures)
            for k in ret[path] if res else ():
                ret[path][k].append(res[1].get(k, 0))
        m = _step(runner, r, runs, "skip-zeroing (init_on_alloc=1)",
                  "zeroing", lambda ctx: skip_zeroing(ctx, ZEROING_ALLOC_MB,
                                                      ZEROING_FILL_MB),
                  failures)
        for k in ZEROING_KEYS if m else ():
            zero[k].append(m.get(k, 0))
        b = _step(runner, r, runs,
                  "L2 boot time, init_on_alloc=0, 1, 1 skipping", "boot",
                  lambda ctx: boot_times(ctx, BOOTS), failures)
        for k in boot if b else ():
            boot[k] += b.get(k, [])
        boot["ioa1_skip_pages"] += b.get("ioa1_skip_skipped", []) if b else []
        # the two init_on_alloc=1 boots of one round, one right after the
        # other (skipping second in even rounds, first in odd ones)
        boot_pairs += [[rd["ioa1"], rd["ioa1_skip"]]
                       for rd in b["rounds"].values()
                       if "ioa1" in rd and "ioa1_skip" in rd] if b else []
        t = _step(runner, r, runs, "first touch, skip_zeroing off and on",
                  "touch", lambda ctx: first_touch(ctx, rounds=TOUCH_ROUNDS,
                                                   mb=TOUCH_MB), failures)
        # every run of every repetition: the rounds alternate in one boot
        for k in touch if t else ():
            touch[k] += t[k]


def run(runs=3):
    os.makedirs(OUTDIR, exist_ok=True)
    ret = {p: {"returned_mb": [], "return_seconds": []}
           for p in RETURN_PATHS}
    zero = {k: [] for k in ZEROING_KEYS}
    boot = {k: [] for n, _ in BOOTS for k in (n, n + "_unpack")}
    boot["ioa1_skip_pages"] = []
    boot_pairs = []
    touch = {k: [] for k in TOUCH_KEYS}
    failures = []
    # the nested L1 is shared by the runs, as in the scenarios
    runner = harness.Runner([], full=True)
    try:
        _repetitions(runner, runs, ret, zero, boot, boot_pairs, touch,
                     failures)
    finally:
        runner.release()
    doc = {"runs": runs, "failures": failures,
           "return": {p: {k: _spread(v) for k, v in vals.items()}
                      for p, vals in ret.items()},
           "zeroing": {k: _spread(v) for k, v in zero.items()},
           "boot_userspace_seconds": {k: _spread(v)
                                      for k, v in boot.items()},
           # init_on_alloc=1 boots skipping / clearing, round by round
           "boot_paired_ratio": _paired([c for c, _ in boot_pairs],
                                        [k for _, k in boot_pairs]),
           "first_touch": {k: _spread(v) for k, v in touch.items()},
           # skipping / clearing, run by run (pairs are adjacent in time)
           "first_touch_paired_ratio": {
               phase: _paired(touch[c], touch[k]) for phase, c, k in (
                   ("unhinted",) + TOUCH_KEYS[:2],
                   ("hinted",) + TOUCH_KEYS[2:])}}
    with open(os.path.join(OUTDIR, "hyperv.json"), "w") as f:
        json.dump(doc, f, indent=1)
    _plot(doc)
    for p, vals in doc["return"].items():
        if vals["returned_mb"]:
            print("[hyperv] %-16s returned %4.0f MiB in %5.2f s (median)" % (
                p, vals["returned_mb"]["median"],
                vals["return_seconds"]["median"]))
    z = doc["zeroing"]
    if z[FILL_MS + "skip"]:
        print("[hyperv] %d MiB of __GFP_ZERO allocations: %.1f ms clearing, "
              "%.1f ms skipping (%d pages skipped)" % (
                  ZEROING_ALLOC_MB, z[ALLOC_MS + "noskip"]["median"],
                  z[ALLOC_MS + "skip"]["median"],
                  z["alloc_skipped_pages_skip"]["median"]))
        print("[hyperv] fill %d MiB, init_on_alloc=1: %d ms clearing, %d ms "
              "skipping (%d pages skipped); %d pages skipped at load" % (
                  ZEROING_FILL_MB, z[FILL_MS + "noskip"]["median"],
                  z[FILL_MS + "skip"]["median"],
                  z["fill_skipped_pages_skip"]["median"],
                  z["zeroing_skipped_pages_at_load"]["median"]))
    b = doc["boot_userspace_seconds"]
    if all(b[n] for n, _ in BOOTS):
        print("[hyperv] L2 boot to user space: %.2f s init_on_alloc=0, "
              "%.2f s init_on_alloc=1, %.2f s init_on_alloc=1 skipping the "
              "clearing of boot-zeroed memory from boot on (%d pages; "
              "medians of %s boots)" % (
                  b["ioa0"]["median"], b["ioa1"]["median"],
                  b["ioa1_skip"]["median"],
                  (b["ioa1_skip_pages"] or {}).get("median", 0),
                  "/".join(str(len(b[n]["runs"])) for n, _ in BOOTS)))
    if all(b[n + "_unpack"] for n, _ in BOOTS):
        print("[hyperv] of that, the initramfs unpack: %.2f s, %.2f s, %.2f s "
              "(medians)" % tuple(b[n + "_unpack"]["median"]
                                  for n, _ in BOOTS))
    r = doc["boot_paired_ratio"]
    if r:
        print("[hyperv] L2 boot, init_on_alloc=1: skipping takes %.3fx the "
              "time of the clearing boot before it (median of %d pairs, "
              "%.3f-%.3f)" % (r["median"], len(r["runs"]), r["min"],
                              r["max"]))
    ft = doc["first_touch"]
    for what, (c, k) in (("host had not backed it", TOUCH_KEYS[:2]),
                         ("host backed and mapped it (hot hint)",
                          TOUCH_KEYS[2:])):
        if ft[c] and ft[k]:
            print("[hyperv] first touch of %d MiB, %s: %.0f ms clearing, "
                  "%.0f ms skipping (medians of %d runs each)" % (
                      TOUCH_MB, what, ft[c]["median"], ft[k]["median"],
                      len(ft[c]["runs"])))
    for phase, r in doc["first_touch_paired_ratio"].items():
        if r:
            print("[hyperv] first touch, %s: skipping takes %.2fx the time "
                  "of the clearing run before it (median of %d pairs, "
                  "%.2f-%.2f)" % (phase, r["median"], len(r["runs"]),
                                  r["min"], r["max"]))
    print("[hyperv] results: out/bench/hyperv.json, hyperv.png")
    return doc


def _bars(ax, names, stats, title):
    names = [n for n, s in zip(names, stats) if s]
    stats = [s for s in stats if s]
    med = [s["median"] for s in stats]
    err = [[m - s["min"] for m, s in zip(med, stats)],
           [s["max"] - m for m, s in zip(med, stats)]]
    ax.bar(names, med, yerr=err, capsize=4)
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8)


def _plot(doc):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 6, figsize=(25, 4))
    paths = list(doc["return"])
    _bars(axes[0], paths, [doc["return"][p]["returned_mb"] for p in paths],
          "MiB returned of 1 GiB freed")
    _bars(axes[1], paths, [doc["return"][p]["return_seconds"]
                           for p in paths], "seconds to return")
    z = doc["zeroing"]
    _bars(axes[2], ["clearing", "skipping"],
          [z[ALLOC_MS + "noskip"], z[ALLOC_MS + "skip"]],
          "%d MiB __GFP_ZERO allocations (ms)" % ZEROING_ALLOC_MB)
    _bars(axes[3], ["clearing", "skipping"],
          [z[FILL_MS + "noskip"], z[FILL_MS + "skip"]],
          "fill %d MiB, init_on_alloc=1 (ms)" % ZEROING_FILL_MB)
    b = doc["boot_userspace_seconds"]
    _bars(axes[4], ["init_on_alloc=0", "init_on_alloc=1",
                    "init_on_alloc=1\nskipping"],
          [b[n] for n, _ in BOOTS], "L2 boot to user space (s)")
    ft = doc["first_touch"]
    _bars(axes[5], ["not backed\nclearing", "not backed\nskipping",
                    "hot hint\nclearing", "hot hint\nskipping"],
          [ft[k] for k in TOUCH_KEYS],
          "first touch of %d MiB, init_on_alloc=1 (ms)" % TOUCH_MB)
    fig.suptitle("Hyper-V on host-stub (nested): median, min-max, %d runs"
                 % doc["runs"])
    fig.tight_layout()
    fig.savefig(os.path.join(OUTDIR, "hyperv.png"), dpi=100)
    plt.close(fig)
