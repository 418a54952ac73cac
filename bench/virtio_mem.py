# SPDX-License-Identifier: GPL-2.0
"""virtio-mem benchmark: vmdense_virtio_mem vs the kernel's virtio_mem on
QEMU's virtio-mem-pci, several runs each, drivers alternating.

Figures (median and min-max): plug and unplug throughput of 1 GiB (GiB/s;
1 GiB boot RAM, 2 GiB device, 2 MiB blocks, the plugged memory touched
before unplugging) and unplug success under a fragmenting load (stress-ng
keeps 1200 MiB mapped while 1 GiB is asked back: the fraction that comes
out within 60 s, and OOM kills). Writes out/bench/virtio_mem.json and
virtio_mem.png.
"""
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(ROOT, "scripts"), os.path.join(ROOT, "tests")]

import vmdense_vm as vmmod  # noqa: E402
from vmtest import harness, workloads  # noqa: E402

OUTDIR = os.path.join(ROOT, "out", "bench")
DRIVERS = {
    "vmdense": ("vmdense_virtio_mem",
                "/sys/bus/virtio/drivers/vmdense_virtio_mem"),
    "kernel": ("virtio_mem", "/sys/bus/virtio/drivers/virtio_mem"),
}


def _spread(vals):
    return {"median": statistics.median(vals), "min": min(vals),
            "max": max(vals), "runs": vals}


def run(runs=3, pressure=True):
    os.makedirs(OUTDIR, exist_ok=True)
    raw = {d: {"plug_gib_s": [], "unplug_gib_s": [], "pressure_frac": [],
               "pressure_oom_kills": []} for d in DRIVERS}
    runner = harness.Runner([], full=True)
    for r in range(runs):
        for name, (module, drv) in DRIVERS.items():
            print("[virtio_mem] run %d/%d: %s plug/unplug 1 GiB" % (
                r + 1, runs, name), flush=True)
            ctx = harness.Context("bench-virtio_mem-%s-%d" % (name, r),
                                  runner)
            # a guest of its own each time, as a user's would be
            with vmmod.VM(mem="1G", vmem="2G", vmem_block="2M", timeout=900,
                          log=ctx.path("serial.log")) as vm:
                m = workloads.plug_unplug(ctx, vm, module, drv)
                raw[name]["plug_gib_s"].append(
                    1 / max(m["plug_seconds"], 1e-3))
                raw[name]["unplug_gib_s"].append(
                    1 / max(m["unplug_seconds"], 1e-3))
                if pressure:
                    print("[virtio_mem] run %d/%d: %s unplug under load" % (
                        r + 1, runs, name), flush=True)
                    u = workloads.unplug_under_load(ctx, vm, module, drv)
                    raw[name]["pressure_frac"].append(
                        u["unplugged_mb"] / 1024)
                    raw[name]["pressure_oom_kills"].append(u["oom_kills"])
    doc = {"runs": runs, "drivers": {
        d: {k: _spread(v) for k, v in vals.items() if v}
        for d, vals in raw.items()}}
    with open(os.path.join(OUTDIR, "virtio_mem.json"), "w") as f:
        json.dump(doc, f, indent=1)
    _plot(doc)
    for d, vals in doc["drivers"].items():
        print("[virtio_mem] %-8s %s" % (d, "  ".join(
            "%s %.2f" % (k, v["median"]) for k, v in vals.items())))
    print("[virtio_mem] results: out/bench/virtio_mem.json, virtio_mem.png")
    return doc


def _plot(doc):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = [k for k in ("plug_gib_s", "unplug_gib_s", "pressure_frac")
            if k in doc["drivers"]["vmdense"]]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 4))
    if len(keys) == 1:
        axes = [axes]
    titles = {"plug_gib_s": "plug 1 GiB (GiB/s)",
              "unplug_gib_s": "unplug 1 GiB (GiB/s)",
              "pressure_frac": "unplugged under load (fraction)"}
    for ax, k in zip(axes, keys):
        names = list(doc["drivers"])
        med = [doc["drivers"][n][k]["median"] for n in names]
        err = [[m - doc["drivers"][n][k]["min"] for m, n in zip(med, names)],
               [doc["drivers"][n][k]["max"] - m for m, n in zip(med, names)]]
        ax.bar(names, med, yerr=err, capsize=4)
        ax.set_title(titles[k])
    fig.suptitle("virtio-mem: vmdense vs kernel (median, min-max, %d runs)"
                 % doc["runs"])
    fig.tight_layout()
    fig.savefig(os.path.join(OUTDIR, "virtio_mem.png"), dpi=100)
    plt.close(fig)
