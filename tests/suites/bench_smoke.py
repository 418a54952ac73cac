# SPDX-License-Identifier: GPL-2.0
"""Smoke tests of the benchmark harnesses: they run and produce figures;
the figures themselves are judged in make bench, not here."""
import os
import sys

from vmtest.harness import ROOT, check, test

sys.path.insert(0, os.path.join(ROOT, "bench"))
import density  # noqa: E402


@test("bench.density.quick", suite="bench-smoke", tier="full", limit=900)
def density_quick(ctx):
    """One guest, short schedule, no reporting vs the kernel's page
    reporting vs vmdense hinting: JSON, plots and table are written and
    hold sane figures, and hinting's guest-side cost is recorded."""
    doc = density.run(guests=1, guest_mem="1G", reps=1, phases=3,
                      phase_s=6, configs=["none", "upstream_reporting",
                                          "vmdense_hinting"],
                      out=ctx.logdir, name="density-quick")
    for ext in (".json", "-memory.png", "-bogo.png", "-summary.md"):
        path = os.path.join(ctx.logdir, "density-quick" + ext)
        check(os.path.getsize(path) > 0, "%s missing or empty" % path)
    metrics = {}
    for name, res in doc["configs"].items():
        s = res["summary"]
        check(len(res["reps"][0]["samples"]) > 10,
              "%s: too few host memory samples" % name)
        check(0 < s["mean_mb"]["median"] <= s["peak_mb"]["median"],
              "%s: mean %s / peak %s" % (name, s["mean_mb"], s["peak_mb"]))
        check(s["bogo_ops_per_guest"]["median"] > 0,
              "%s: no stress-ng bogo-ops recorded" % name)
        check(s["bogo_ops_per_cpu_s"]["median"] > 0,
              "%s: no host CPU time recorded for the guests" % name)
        metrics[name + "_bogo_ops_per_cpu_s"] = round(
            s["bogo_ops_per_cpu_s"]["median"], 1)
        metrics[name + "_mean_mb"] = round(s["mean_mb"]["median"], 1)
        metrics[name + "_peak_mb"] = round(s["peak_mb"]["median"], 1)
    hinting = doc["configs"]["vmdense_hinting"]["summary"]
    for key in ("reported_mib_per_guest", "worker_cpu_ms_per_guest",
                "zone_locks_per_guest"):
        check(hinting[key]["median"] > 0, "vmdense_hinting: %s is %s "
              "after a schedule that freed memory" % (key, hinting[key]))
        metrics["vmdense_hinting_" + key] = round(hinting[key]["median"], 1)
    return metrics
