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
    "vmdense_hinting": ("balloon", "modprobe vmdense_balloon && "
                        "echo 0 >/sys/kernel/mm/hinting/adaptive",
                        "vmdense_balloon"),
    "vmdense_adaptive": ("balloon", "modprobe vmdense_balloon && "
                         "echo 1 >/sys/kernel/mm/hinting/adaptive",
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


def host_cpu_s(vm):
    """CPU seconds the guest's QEMU process (all its threads: vCPU, I/O,
    the madvise of reported pages) has used on the host so far."""
    with open("/proc/%d/stat" % vm.proc.pid) as f:
        # fields after the command name, which may hold spaces
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        cpu0 = [host_cpu_s(vm) for vm in vms]
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
        cpu = [host_cpu_s(vm) - c for vm, c in zip(vms, cpu0)]
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
            "seconds": duration, "bogo_ops": ops, "host_cpu_s": cpu,
            "hinting_stats": stats,
            "vmem_resizes": [c.changes for c in ctrls]}


def _guest_cost(rep, key):
    """Mean over the guests of one repetition of a hinting statistic
    (0 where the guest has no mm/hinting consumer)."""
    vals = [st.get(key, 0) for st in rep["hinting_stats"]]
    return statistics.fmean(vals) if vals else 0


def _ops_per_cpu_s(rep):
    """Bogo-ops per host CPU second over the guests of one repetition
    (0 for results saved before host CPU time was recorded)."""
    cpu = sum(rep.get("host_cpu_s", []))
    return sum(rep["bogo_ops"]) / cpu if cpu else 0


def summarize(reps, guests, budget_mb):
    def spread(vals):
        return {"median": statistics.median(vals), "min": min(vals),
                "max": max(vals)}

    def med(key):
        return spread([r[key] for r in reps])
    peak = med("peak_mb")
    mean = med("mean_mb")
    return {
        "mean_mb": mean, "peak_mb": peak, "gib_seconds": med("gib_seconds"),
        "bogo_ops_per_guest": spread([statistics.fmean(r["bogo_ops"])
                                      for r in reps]),
        # Work per host CPU second: 3 one-vCPU guests share 2 cores, so
        # raw bogo-ops follow each guest's share of the CPU; per CPU
        # second of its QEMU process the share drops out and what the
        # configuration costs (re-faulting reported pages) stays. Under
        # TCG both still spread by ~10 % from run to run (2026-12-01).
        "bogo_ops_per_cpu_s": spread([_ops_per_cpu_s(r) for r in reps]),
        "guests_fit_peak": int(budget_mb // (peak["median"] / guests)),
        "guests_fit_mean": int(budget_mb // (mean["median"] / guests)),
        # guest-side cost of hinting: CPU time of the reporting worker and
        # its zone lock round trips, per guest over the whole schedule
        "worker_cpu_ms_per_guest": spread(
            [_guest_cost(r, "worker_cpu_ns") / 1e6 for r in reps]),
        "zone_locks_per_guest": spread(
            [_guest_cost(r, "zone_lock_acquisitions") for r in reps]),
        "reported_mib_per_guest": spread(
            [_guest_cost(r, "reported_bytes") / MiB for r in reps]),
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

    names = list(results)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, key, label in (
            (axes[0], "bogo_ops_per_guest", "bogo-ops per guest"),
            (axes[1], "bogo_ops_per_cpu_s", "bogo-ops per host CPU second")):
        st = [results[n]["summary"][key] for n in names]
        med = [x["median"] for x in st]
        ax.bar(names, med, capsize=4, yerr=[
            [x["median"] - x["min"] for x in st],
            [x["max"] - x["median"] for x in st]])
        ax.set_title(label)
        ax.set_ylabel("median, min-max over repetitions")
        ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    fig.savefig(path_prefix + "-bogo.png", dpi=100)
    plt.close(fig)


def _ratio(s, ref, key):
    if not ref:
        return "-"
    return "%.2fx" % (s[key] / max(1, ref["summary"][key]))


def _change(s, ref, key):
    """Median of @key against the reference configuration's, in % ("-"
    where either is 0: no reference, or results saved before the key)."""
    new, old = s[key]["median"], ref["summary"][key]["median"] if ref else 0
    return "%+.1f %%" % (100 * (new / old - 1)) if new and old else "-"


def _cell(sp):
    """A spread as "median (min-max)", "-" where it was not recorded."""
    return "%.0f (%.0f-%.0f)" % (sp["median"], sp["min"], sp["max"]) \
        if sp["median"] else "-"


def table(results, budget_mb):
    """Markdown summary tables generated from the results: memory and
    fit, then work done and guest-side cost."""
    base = results.get("none")
    up = results.get("upstream_reporting")
    reps = max(len(r["reps"]) for r in results.values())
    rows = ["| configuration | mean MiB (min-max) | peak MiB (min-max) "
            "| GiB-s | fit (peak) | fit (mean) | vs none (peak / mean) "
            "| vs upstream_reporting (peak / mean) |",
            "|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        s = res["summary"]
        rows.append(
            "| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.1f | %d | %d "
            "| %s / %s | %s / %s |"
            % (name, s["mean_mb"]["median"], s["mean_mb"]["min"],
               s["mean_mb"]["max"], s["peak_mb"]["median"],
               s["peak_mb"]["min"], s["peak_mb"]["max"],
               s["gib_seconds"]["median"], s["guests_fit_peak"],
               s["guests_fit_mean"],
               _ratio(s, base, "guests_fit_peak"),
               _ratio(s, base, "guests_fit_mean"),
               _ratio(s, up, "guests_fit_peak"),
               _ratio(s, up, "guests_fit_mean")))
    rows += ["", "| configuration | bogo-ops/guest (min-max) | vs none "
             "| bogo-ops per host CPU s (min-max) | vs none "
             "| hinting worker CPU ms/guest | zone locks/guest "
             "| reported MiB/guest |", "|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        s = res["summary"]
        rows.append("| %s | %s | %s | %s | %s | %.0f | %.0f | %.0f |"
                    % (name, _cell(s["bogo_ops_per_guest"]),
                       _change(s, base, "bogo_ops_per_guest"),
                       _cell(s["bogo_ops_per_cpu_s"]),
                       _change(s, base, "bogo_ops_per_cpu_s"),
                       s["worker_cpu_ms_per_guest"]["median"],
                       s["zone_locks_per_guest"]["median"],
                       s["reported_mib_per_guest"]["median"]))
    return ("Host budget %d MiB; medians over %d repetition(s), min-max "
            "in brackets. Worker CPU and zone locks are mm/hinting's own "
            "statistics (the kernel's page_reporting has none).\n\n"
            % (budget_mb, reps) + "\n".join(rows) + "\n")


def write_outputs(doc, prefix):
    """JSON, plots and the summary table for a results document."""
    results, budget_mb = doc["configs"], doc["budget_mb"]
    for res in results.values():
        res["summary"] = summarize(res["reps"], doc["guests"], budget_mb)
    with open(prefix + ".json", "w") as f:
        json.dump(doc, f, indent=1)
    if results:
        plot(results, prefix)
        with open(prefix + "-summary.md", "w") as f:
            f.write(table(results, budget_mb))


def regenerate(path):
    """Summaries, plots and the table again from a saved density.json
    (after a change to how they are computed)."""
    with open(path) as f:
        doc = json.load(f)
    write_outputs(doc, path[:-len(".json")])
    return doc


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
    names, skipped = [], {}
    for cname in configs or list(CONFIGS):
        needs = CONFIGS[cname][2]
        if needs and not module_available(needs):
            skipped[cname] = "module %s not built yet" % needs
            progress("skip %s: %s" % (cname, skipped[cname]))
            continue
        names.append(cname)
    # repetitions outermost, so that a slow drift of the machine spreads
    # over every configuration instead of favouring the first
    raw = {n: [] for n in names}
    for r in range(reps):
        for cname in names:
            progress("%s: repetition %d/%d, %d guests x %s, %d s" % (
                cname, r + 1, reps, guests, guest_mem,
                sum(s for _, s, _ in sched)))
            raw[cname].append(run_config(cname, guests, guest_mem, sched,
                                         interval, logdir))
            s = summarize(raw[cname], guests, budget_mb)
            progress("%s: mean %.0f MiB, peak %.0f MiB, %.0f bogo-ops/guest"
                     " (median of %d)" % (
                         cname, s["mean_mb"]["median"],
                         s["peak_mb"]["median"],
                         s["bogo_ops_per_guest"]["median"], r + 1))
    results = {n: {"reps": raw[n]} for n in names}
    doc = {"guests": guests, "guest_mem": guest_mem, "repetitions": reps,
           "schedule": sched, "seed": seed, "budget_mb": budget_mb,
           "configs": results, "skipped": skipped}
    write_outputs(doc, os.path.join(out, name))
    return doc
