# SPDX-License-Identifier: GPL-2.0
"""Density benchmark: K guests run the same seeded stress-ng schedule under
each memory-return configuration; we record the host memory all of them
cost over time and the work they got done.

Figures per configuration (median and spread over repetitions): mean and
peak host memory, GiB-seconds, bogo-ops per guest, and how many such guests
fit in a fixed host budget (peak-based and mean-based).
"""
import json
import os
import random
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
import vmdense_vm as vmmod  # noqa: E402

MiB = 1 << 20
BENCH_OUT = os.path.join(vmmod.OUT, "bench")
# seconds sampled after the schedule ends
TAIL_S = 10

# name -> (device: None | "balloon" | "vmem", guest setup script, module
# it needs). The virtio-mem configurations boot with VMEM_BOOT of RAM and
# the rest of the guest's size on a virtio-mem device that the host-side
# controller (VmemController) resizes to what the guest needs.
CONFIGS = {
    "none": (None, "", None),
    "upstream_reporting": ("balloon", "modprobe virtio_balloon", None),
    "vmdense_hinting": ("balloon", "modprobe vmdense_balloon",
                        "vmdense_balloon"),
    "vmdense_hinting_order": (
        "balloon", "modprobe vmdense_balloon && "
        "echo 3 >/sys/kernel/mm/hinting/min_order", "vmdense_balloon"),
    "upstream_virtio_mem": ("vmem", "modprobe virtio_mem", None),
    "vmdense_virtio_mem": ("vmem", "modprobe vmdense_virtio_mem",
                           "vmdense_virtio_mem"),
}
VMEM_BOOT = 512 * MiB
VMEM_BLOCK = 2 * MiB


class VmemController:
    """Host-side policy shrinking a virtio-mem guest to its need: keep
    `headroom` MiB available in the guest, plug at once when it runs low,
    unplug slowly (a quarter of the excess per step) when it has more."""

    def __init__(self, vm, device_mb, headroom_mb=384):
        self.vm = vm
        self.device_mb = device_mb
        self.headroom = headroom_mb
        self.requested = 0
        self.changes = 0

    def step(self):
        info = {}
        for line in self.vm.sh("head -3 /proc/meminfo").splitlines():
            k, _, v = line.partition(":")
            info[k] = int(v.split()[0]) // 1024
        excess = info["MemAvailable"] - self.headroom
        if excess < 0:
            want = self.requested - excess
        else:
            want = self.requested - excess // 4
        blk = VMEM_BLOCK // MiB
        want = max(0, min(self.device_mb, want)) // blk * blk
        if abs(want - self.requested) >= 16:
            self.vm.vmem_set_requested(want * MiB)
            self.requested = want
            self.changes += 1


def progress(msg):
    print("[density] " + msg, flush=True)


def make_schedule(seed, phases, phase_s, guest_mb):
    """The same list of (kind, seconds, MiB) for every configuration:
    growth, churn and idle phases with sizes drawn from the seed."""
    rng = random.Random(seed)
    kinds = ["grow", "churn", "idle"]
    sched = []
    for i in range(phases):
        kind = kinds[i % 3] if i < 3 else rng.choice(kinds)
        size = rng.randrange(guest_mb // 4, guest_mb // 2, 16)
        sched.append((kind, phase_s, size))
    return sched


def schedule_script(sched):
    """Shell script running the schedule in the guest; stress-ng writes
    one YAML file per phase for the bogo-ops."""
    lines = ["cd /tmp"]
    for i, (kind, secs, mb) in enumerate(sched):
        y = "--metrics-brief --yaml /tmp/phase%d.yaml" % i
        if kind == "grow":
            cmd = ("stress-ng --vm 1 --vm-bytes %dM --vm-keep --timeout %ds "
                   "%s" % (mb, secs, y))
        elif kind == "churn":
            cmd = ("stress-ng --malloc 1 --malloc-bytes %dM --mmap 1 "
                   "--mmap-bytes %dM --timeout %ds %s"
                   % (mb // 2, mb // 2, secs, y))
        else:
            cmd = "sleep %d" % secs
        lines.append("echo phase %d %s >>/tmp/sched.log; %s >/dev/null 2>&1"
                     % (i, kind, cmd))
    lines.append("touch /tmp/sched.done")
    return "\n".join(lines) + "\n"


def bogo_ops(vm):
    """Sum of bogo-ops over the phases' YAML files."""
    text = vm.sh("cat /tmp/phase*.yaml 2>/dev/null; true")
    return sum(int(n) for n in re.findall(r"bogo-ops:\s*(\d+)", text))


def hinting_stats(vm):
    rc, text = vm.run("cd /sys/kernel/mm/hinting/stats 2>/dev/null && "
                      "grep . *", check=False)
    stats = {}
    if rc == 0:
        for line in text.splitlines():
            k, _, v = line.partition(":")
            if v.strip().isdigit():
                stats[k] = int(v)
    return stats


def module_available(name):
    root = os.path.join(vmmod.OUT, "modroot", "lib", "modules")
    for dirpath, _, files in os.walk(root):
        if name + ".ko" in files:
            return True
    return False


def run_config(name, guests, guest_mem, sched, interval, logdir):
    """One repetition of one configuration; returns its figures."""
    device, setup, needs = CONFIGS[name]
    size = vmmod.parse_size(guest_mem)
    vms, ctrls = [], []
    try:
        for g in range(guests):
            args = {"mem": size, "balloon": device == "balloon"}
            if device == "vmem":
                args = {"mem": VMEM_BOOT, "vmem": size - VMEM_BOOT,
                        "vmem_block": VMEM_BLOCK}
            vm = vmmod.VM(smp=1, timeout=sum(s for _, s, _ in sched) + 600,
                          log=os.path.join(logdir, "%s-g%d.log" % (name, g)),
                          **args)
            vm.start()
            vms.append(vm)
            if setup:
                vm.sh(setup)
            if device == "vmem":
                ctrls.append(VmemController(vm, (size - VMEM_BOOT) // MiB))
        script = schedule_script(sched)
        for vm in vms:
            vm.sh("cat >/tmp/sched.sh <<'EOF'\n%sEOF\n"
                  "sh /tmp/sched.sh >/dev/null 2>&1 &" % script)
        # the same sampling window for every configuration: the schedule
        # plus a tail in which memory may still come back
        total = sum(s for _, s, _ in sched)
        window = total + TAIL_S
        t0 = time.monotonic()
        samples = []
        last_note = last_ctrl = 0.0
        while True:
            now = time.monotonic() - t0
            if now >= window:
                break
            samples.append((round(now, 2),
                            round(sum(vm.host_mb() for vm in vms), 1)))
            if ctrls and now - last_ctrl >= 1:
                last_ctrl = now
                for c in ctrls:
                    c.step()
            if now - last_note >= 10:
                last_note = now
                progress("  %s: %.0f/%d s, host memory %.0f MiB" % (
                    name, now, window, samples[-1][1]))
            time.sleep(interval)
        for vm in vms:
            vm.wait_for(lambda: vm.run("test -e /tmp/sched.done",
                                       check=False)[0] == 0,
                        "the schedule to finish", 120, interval=1)
        ops = [bogo_ops(vm) for vm in vms]
        stats = [hinting_stats(vm) for vm in vms]
    finally:
        for vm in vms:
            vm.stop()
    values = [v for _, v in samples]
    duration = samples[-1][0] if samples else 0
    gib_s = sum((samples[i + 1][0] - samples[i][0]) * samples[i][1]
                for i in range(len(samples) - 1)) / 1024
    return {"samples": samples, "mean_mb": statistics.fmean(values),
            "peak_mb": max(values), "gib_seconds": gib_s,
            "seconds": duration, "bogo_ops": ops, "hinting_stats": stats,
            "vmem_resizes": [c.changes for c in ctrls]}


def summarize(reps, guests, budget_mb):
    def med(key):
        vals = [r[key] for r in reps]
        return {"median": statistics.median(vals), "min": min(vals),
                "max": max(vals)}
    per_guest_ops = [statistics.fmean(r["bogo_ops"]) for r in reps]
    peak = med("peak_mb")
    mean = med("mean_mb")
    return {
        "mean_mb": mean, "peak_mb": peak, "gib_seconds": med("gib_seconds"),
        "bogo_ops_per_guest": {"median": statistics.median(per_guest_ops),
                               "min": min(per_guest_ops),
                               "max": max(per_guest_ops)},
        "guests_fit_peak": int(budget_mb // (peak["median"] / guests)),
        "guests_fit_mean": int(budget_mb // (mean["median"] / guests)),
    }


def plot(results, path_prefix):
    """host memory over time per configuration; bogo-ops per
    configuration."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 5))
    for name, res in results.items():
        first = res["reps"][0]["samples"]
        ax.plot([t for t, _ in first], [v for _, v in first], label=name)
    ax.set_xlabel("seconds")
    ax.set_ylabel("host memory of all guests (MiB)")
    ax.set_title("Host memory over time (first repetition)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path_prefix + "-memory.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    names = list(results)
    med = [results[n]["summary"]["bogo_ops_per_guest"]["median"]
           for n in names]
    lo = [m - results[n]["summary"]["bogo_ops_per_guest"]["min"]
          for m, n in zip(med, names)]
    hi = [results[n]["summary"]["bogo_ops_per_guest"]["max"] - m
          for m, n in zip(med, names)]
    ax.bar(names, med, yerr=[lo, hi], capsize=4)
    ax.set_ylabel("stress-ng bogo-ops per guest (median, min-max)")
    ax.set_title("Work done per configuration")
    fig.tight_layout()
    fig.savefig(path_prefix + "-bogo.png", dpi=100)
    plt.close(fig)


def table(results, budget_mb):
    """Markdown summary table generated from the results."""
    base = results.get("none")
    up = results.get("upstream_reporting")
    rows = ["| configuration | mean MiB | peak MiB | GiB-s | bogo-ops/guest "
            "| fit (peak) | fit (mean) | vs none (mean) | vs upstream "
            "(mean) |", "|---|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        s = res["summary"]
        rel = []
        for ref in (base, up):
            if ref:
                rel.append("%.2fx" % (s["guests_fit_mean"] /
                                      max(1, ref["summary"]
                                          ["guests_fit_mean"])))
            else:
                rel.append("-")
        rows.append("| %s | %.0f | %.0f | %.1f | %.0f | %d | %d | %s | %s |"
                    % (name, s["mean_mb"]["median"], s["peak_mb"]["median"],
                       s["gib_seconds"]["median"],
                       s["bogo_ops_per_guest"]["median"],
                       s["guests_fit_peak"], s["guests_fit_mean"], *rel))
    return ("Host budget %d MiB; medians over repetitions.\n\n" % budget_mb
            + "\n".join(rows) + "\n")


def run(guests=3, guest_mem="1536M", reps=3, phases=9, phase_s=30,
        configs=None, seed=1, budget_mb=16384, interval=0.5, out=BENCH_OUT,
        name="density"):
    """Run the benchmark; returns the results dict (also written as
    JSON, plots and a markdown table under out/)."""
    os.makedirs(out, exist_ok=True)
    logdir = os.path.join(out, name + "-logs")
    os.makedirs(logdir, exist_ok=True)
    sched = make_schedule(seed, phases, phase_s,
                          vmmod.parse_size(guest_mem) // MiB)
    results, skipped = {}, {}
    for cname in configs or list(CONFIGS):
        needs = CONFIGS[cname][2]
        if needs and not module_available(needs):
            skipped[cname] = "module %s not built yet" % needs
            progress("skip %s: %s" % (cname, skipped[cname]))
            continue
        reps_res = []
        for r in range(reps):
            progress("%s: repetition %d/%d, %d guests x %s, %d s" % (
                cname, r + 1, reps, guests, guest_mem,
                sum(s for _, s, _ in sched)))
            reps_res.append(run_config(cname, guests, guest_mem, sched,
                                       interval, logdir))
        results[cname] = {"reps": reps_res,
                          "summary": summarize(reps_res, guests, budget_mb)}
        s = results[cname]["summary"]
        progress("%s: mean %.0f MiB, peak %.0f MiB, %.0f bogo-ops/guest" % (
            cname, s["mean_mb"]["median"], s["peak_mb"]["median"],
            s["bogo_ops_per_guest"]["median"]))
    doc = {"guests": guests, "guest_mem": guest_mem, "repetitions": reps,
           "schedule": sched, "seed": seed, "budget_mb": budget_mb,
           "configs": results, "skipped": skipped}
    prefix = os.path.join(out, name)
    with open(prefix + ".json", "w") as f:
        json.dump(doc, f, indent=1)
    if results:
        plot(results, prefix)
        with open(prefix + "-summary.md", "w") as f:
            f.write(table(results, budget_mb))
    return doc
