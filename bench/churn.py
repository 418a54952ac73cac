# SPDX-License-Identifier: GPL-2.0
"""Churn benchmark: what reporting costs the guests where memory is freed
and allocated again within moments, against what it returns.

Guests run a seeded schedule of churn bursts (stress-ng --malloc and
--mmap, which free and allocate again all the time) and idle phases,
under: no reporting, the kernel's page_reporting, vmdense hinting as it
was (adaptive 0) and vmdense hinting with the churn-aware hold (adaptive
1). Then the first guest allocates 1200 MiB (three quarters of a smaller
guest's RAM), frees it and leaves it free: how fast it comes back to the
host.

Figures per configuration (median and min-max over repetitions, which run
outermost): bogo-ops per guest CPU second (per second of the guest's QEMU
process, all its threads: the share of a shared CPU drops out, what the
configuration costs stays), host memory mean and peak, pages reported,
reported pages allocated again within 1 s, the guests' host page faults
(minor faults of their QEMU processes), the 1200 MiB return (seconds to
95 %, share back within 1 s), and mm/hinting's own cost (worker CPU, zone
lock hold). Files: churn.json, churn.png (host memory over time with the
reporting events), churn-summary.md.
"""
import concurrent.futures
import json
import os
import random
import statistics
import time

import capture
import density
from density import MiB, progress, vmmod

CONFIGS = {
    "none": (False, ""),
    "upstream_reporting": (True, "modprobe virtio_balloon"),
    "vmdense_hinting": (True, "modprobe vmdense_balloon && "
                        "echo 0 >/sys/kernel/mm/hinting/adaptive"),
    "vmdense_adaptive": (True, "modprobe vmdense_balloon && "
                         "echo 1 >/sys/kernel/mm/hinting/adaptive"),
}
STATS = "/sys/kernel/mm/hinting/stats"
RETURN_MB = 1200


def make_schedule(seed, phases, phase_s, guest_mb):
    """Bursts of churn and idle phases, sizes drawn from the seed."""
    rng = random.Random(seed)
    sched = []
    for i in range(phases):
        kind = "churn" if i % 2 == 0 else rng.choice(["idle", "churn"])
        size = rng.randrange(guest_mb // 4, guest_mb // 2, 16)
        sched.append((kind, phase_s, size))
    return sched


def host_faults(vm):
    """Minor page faults of the guest's QEMU process so far: first touches
    of memory the host gave back, among others."""
    with open("/proc/%d/stat" % vm.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[7])


def reported(vm):
    """Base pages the guest's mm/hinting reported (0 without it)."""
    rc, out = vm.run("cat %s/reported_pages 2>/dev/null" % STATS,
                     check=False)
    return int(out) if rc == 0 and out.strip().isdigit() else 0


def return_run(vm, mb):
    """Allocate @mb MiB, free it and leave it free: seconds until 95 %
    of what came back had, and the share back within 1 s."""
    vm.sh("/vmdense/integrity --mb %d --churn 0 --seconds 100000 "
          "--interval-ms 3600000 --verbose >/tmp/ret.out 2>&1 & "
          "echo $! >/tmp/ret.pid" % mb)

    def filled():
        out = vm.sh("cat /tmp/ret.out")
        if "status=" in out and "round=" not in out:
            raise vmmod.VMError("the checker could not fill %d MiB: %s"
                                % (mb, out.strip()[-300:]))
        return "round=" in out
    vm.wait_for(filled, "the fill of %d MiB" % mb, 300, 0.5)
    held = vm.host_mb()
    vm.sh("kill -KILL $(cat /tmp/ret.pid)")
    t0 = time.monotonic()
    samples = []
    while time.monotonic() - t0 < 20:
        samples.append((time.monotonic() - t0, vm.host_mb()))
        time.sleep(0.05)
    final = samples[-1][1]
    back = held - final
    at95 = next((t for t, mb in samples if held - mb >= 0.95 * back),
                samples[-1][0])
    in1s = max((held - mb for t, mb in samples if t <= 1.0), default=0)
    return {"return_mb": mb, "held_mb": held, "returned_mb": back,
            "return_95_seconds": at95,
            "returned_1s_share": in1s / mb}


def run_config(name, guests, guest_mem, sched, interval, logdir):
    """One repetition of one configuration; returns its figures."""
    balloon, setup = CONFIGS[name]
    size = vmmod.parse_size(guest_mem)
    vms = []
    try:
        for g in range(guests):
            vm = vmmod.VM(smp=1, mem=size, balloon=balloon,
                          timeout=sum(s for _, s, _ in sched) + 900,
                          log=os.path.join(logdir, "%s-g%d.log" % (name, g)))
            vm.start()
            vms.append(vm)
            if setup:
                vm.sh(setup)
        script = density.schedule_script(sched)
        for vm in vms:
            vm.sh("cat >/tmp/sched.sh <<'EOF'\n%sEOF\n"
                  "sh /tmp/sched.sh >/dev/null 2>&1 &" % script)
        window = sum(s for _, s, _ in sched) + density.TAIL_S
        t0 = time.monotonic()
        cpu0 = [density.host_cpu_s(vm) for vm in vms]
        flt0 = [host_faults(vm) for vm in vms]
        st0 = [density.hinting_stats(vm) for vm in vms]
        samples, events = [], []
        last_rep, last_note = [reported(vm) for vm in vms], 0.0
        while True:
            now = time.monotonic() - t0
            if now >= window:
                break
            samples.append((round(now, 2),
                            round(sum(vm.host_mb() for vm in vms), 1)))
            # reporting events: pages reported since the last look
            rep = [reported(vm) for vm in vms]
            n = sum(rep) - sum(last_rep)
            if n:
                events.append((round(now, 2), n))
            last_rep = rep
            if now - last_note >= 10:
                last_note = now
                progress("  %s: %.0f/%d s, host memory %.0f MiB" % (
                    name, now, window, samples[-1][1]))
            time.sleep(interval)
        for vm in vms:
            vm.wait_for(lambda: vm.run("test -e /tmp/sched.done",
                                       check=False)[0] == 0,
                        "the schedule to finish", 120, interval=1)
        cpu = [density.host_cpu_s(vm) - c for vm, c in zip(vms, cpu0)]
        faults = [host_faults(vm) - f for vm, f in zip(vms, flt0)]
        ops = [density.bogo_ops(vm) for vm in vms]
        st1 = [density.hinting_stats(vm) for vm in vms]
        stats = [{k: b.get(k, 0) - a.get(k, 0) for k in b}
                 for a, b in zip(st0, st1)]
        # RETURN_MB, or what a smaller guest can hold
        ret = return_run(vms[0], min(RETURN_MB, size // MiB * 3 // 4)) \
            if balloon else None
    finally:
        for vm in vms:
            vm.stop()
    values = [v for _, v in samples]
    return {"samples": samples, "events": events,
            "mean_mb": statistics.fmean(values), "peak_mb": max(values),
            "bogo_ops": ops, "host_cpu_s": cpu, "host_faults": faults,
            "hinting_stats": stats, "return": ret}


def _spread(vals):
    vals = list(vals)
    return {"median": statistics.median(vals), "min": min(vals),
            "max": max(vals)} if vals else {"median": 0, "min": 0, "max": 0}


def summarize(reps):
    def per_guest(r, key):
        return statistics.fmean(st.get(key, 0) for st in r["hinting_stats"])
    return {
        "bogo_ops_per_cpu_s": _spread(sum(r["bogo_ops"]) /
                                      max(1e-9, sum(r["host_cpu_s"]))
                                      for r in reps),
        "mean_mb": _spread(r["mean_mb"] for r in reps),
        "peak_mb": _spread(r["peak_mb"] for r in reps),
        "reported_pages_per_guest": _spread(
            per_guest(r, "reported_pages") for r in reps),
        "realloc_1s_pages_per_guest": _spread(
            per_guest(r, "reallocated_100ms_pages") +
            per_guest(r, "reallocated_1s_pages") for r in reps),
        "host_faults_per_guest": _spread(statistics.fmean(r["host_faults"])
                                         for r in reps),
        "worker_cpu_share": _spread(
            sum(st.get("worker_cpu_ns", 0) for st in r["hinting_stats"]) /
            1e9 / max(1e-9, sum(r["host_cpu_s"])) for r in reps),
        # capture's share: qualifying frees (stats/captured) times what
        # each one costs (bench/capture.py); 0 without that figure
        "capture_cpu_share": _spread(
            sum(st.get("captured", 0) for st in r["hinting_stats"]) *
            (capture.added_ns_per_capture() or 0) / 1e9 /
            max(1e-9, sum(r["host_cpu_s"])) for r in reps),
        "lock_hold_ms_per_guest": _spread(
            per_guest(r, "lock_hold_ns") / 1e6 for r in reps),
        "return_95_seconds": _spread(r["return"]["return_95_seconds"]
                                     for r in reps if r["return"]),
        "returned_1s_share": _spread(r["return"]["returned_1s_share"]
                                     for r in reps if r["return"]),
    }


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(results), 1, figsize=(10, 2.6 *
                                                        len(results)),
                             sharex=True, squeeze=False)
    for ax, (name, res) in zip(axes[:, 0], results.items()):
        rep = res["reps"][0]
        ax.plot([t for t, _ in rep["samples"]],
                [v for _, v in rep["samples"]], label="host memory")
        ax.set_ylabel("MiB")
        ax.set_title(name)
        if rep["events"]:
            ev = ax.twinx()
            ev.bar([t for t, _ in rep["events"]],
                   [n * 4096 / MiB for _, n in rep["events"]], width=0.4,
                   color="tab:orange", alpha=0.6)
            ev.set_ylabel("MiB reported", color="tab:orange")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("seconds (first repetition)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(results, reps):
    none = results.get("none")
    up = results.get("upstream_reporting")
    rows = ["| configuration | bogo-ops / CPU s (min-max) | vs none "
            "| host MiB mean (min-max) | peak | vs upstream mean "
            "| reported MiB/guest | realloc < 1 s MiB/guest | host faults/guest "
            "| freed MiB: 95 % back after s | back within 1 s | worker CPU share "
            "| capture CPU share | zone lock ms/guest |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        s = res["summary"]

        def vs(ref, key):
            if not ref:
                return "-"
            a, b = s[key]["median"], ref["summary"][key]["median"]
            return "%+.1f %%" % (100 * (a / b - 1)) if a and b else "-"
        rows.append(
            "| %s | %.0f (%.0f-%.0f) | %s | %.0f (%.0f-%.0f) | %.0f | %s "
            "| %.0f | %.1f | %.0f | %s | %s | %s | %s | %.1f |" % (
                name, s["bogo_ops_per_cpu_s"]["median"],
                s["bogo_ops_per_cpu_s"]["min"],
                s["bogo_ops_per_cpu_s"]["max"],
                vs(none, "bogo_ops_per_cpu_s"), s["mean_mb"]["median"],
                s["mean_mb"]["min"], s["mean_mb"]["max"],
                s["peak_mb"]["median"], vs(up, "mean_mb"),
                s["reported_pages_per_guest"]["median"] * 4096 / MiB,
                s["realloc_1s_pages_per_guest"]["median"] * 4096 / MiB,
                s["host_faults_per_guest"]["median"],
                "%.2f" % s["return_95_seconds"]["median"]
                if s["return_95_seconds"]["median"] else "-",
                "%.0f %%" % (100 * s["returned_1s_share"]["median"])
                if s["returned_1s_share"]["median"] else "-",
                "%.3f %%" % (100 * s["worker_cpu_share"]["median"])
                if s["worker_cpu_share"]["median"] else "-",
                "%.3f %%" % (100 * s["capture_cpu_share"]["median"])
                if s["capture_cpu_share"]["median"] else "-",
                s["lock_hold_ms_per_guest"]["median"]))
    return ("Medians over %d repetition(s), min-max in brackets.\n\n" % reps
            + "\n".join(rows) + "\n")


def write_outputs(doc, prefix):
    results = doc["configs"]
    for res in results.values():
        res["summary"] = summarize(res["reps"])
    with open(prefix + ".json", "w") as f:
        json.dump(doc, f, indent=1)
    if results:
        plot(results, prefix + ".png")
        with open(prefix + "-summary.md", "w") as f:
            f.write(table(results, doc["repetitions"]))


def run(guests=3, guest_mem="1536M", reps=3, phases=6, phase_s=20,
        configs=None, seed=2, interval=0.5, out=density.BENCH_OUT,
        name="churn", parallel=False):
    """Run the benchmark; returns the results document (also written as
    JSON, a plot and a markdown table under @out). @parallel: the
    configurations of a repetition run at the same time (needs a core per
    guest of all of them)."""
    os.makedirs(out, exist_ok=True)
    logdir = os.path.join(out, name + "-logs")
    os.makedirs(logdir, exist_ok=True)
    sched = make_schedule(seed, phases, phase_s,
                          vmmod.parse_size(guest_mem) // MiB)
    names = configs or list(CONFIGS)
    raw = {n: [] for n in names}
    doc = {"guests": guests, "guest_mem": guest_mem, "repetitions": 0,
           "parallel": parallel, "schedule": sched, "seed": seed,
           "configs": {n: {"reps": raw[n]} for n in names}}
    for r in range(reps):
        if parallel:
            # every configuration at once, each with its own guests: one
            # period of the machine for all (a host with a core per guest)
            progress("churn: repetition %d/%d, %s at once, %d guests x %s "
                     "each" % (r + 1, reps, ", ".join(names), guests,
                               guest_mem))
            with concurrent.futures.ThreadPoolExecutor(len(names)) as ex:
                futs = {n: ex.submit(run_config, n, guests, guest_mem, sched,
                                     interval, logdir) for n in names}
                for n, fut in futs.items():
                    raw[n].append(fut.result())
        else:
            for cname in names:
                progress("churn %s: repetition %d/%d, %d guests x %s" % (
                    cname, r + 1, reps, guests, guest_mem))
                raw[cname].append(run_config(cname, guests, guest_mem,
                                             sched, interval, logdir))
        # after each repetition: a run cut short keeps what it measured
        doc["repetitions"] = r + 1
        write_outputs(doc, os.path.join(out, name))
    return doc
