# SPDX-License-Identifier: GPL-2.0
"""mm/hinting and vmdense_balloon against QEMU's real virtio-balloon. The
scenarios share one guest (2 GiB, a balloon, a 1 GiB virtio-mem device),
reset between them; make test-full adds the kernel's virtio_balloon with
page_reporting where a figure is compared. Names and metric keys are a
contract. The tests check behaviour, never timings; the timings are
metrics."""
import re
import statistics
import time

from vmtest.guests import (GiB, HostSampler, PlainGuest, load_module,
                           measure_return, meminfo, start_holder,
                           stop_holder)
from vmtest.harness import check, test
from vmtest.workloads import balloon_return, free_path_cost

OURS = ("vmdense_balloon", "/sys/bus/virtio/drivers/vmdense_balloon")
UPSTREAM = ("virtio_balloon", "/sys/bus/virtio/drivers/virtio_balloon")
SYSFS = "/sys/kernel/mm/hinting"
KNOBS = ("enabled", "min_order", "wake_threshold", "report_threshold",
         "report_batch", "delay_ms", "skip_zeroing", "adaptive",
         "hold_max_ms", "churn_pct")
STATS = ("captured", "dropped", "stale", "isolated", "reported_pages",
         "reported_bytes", "failed", "batches", "zone_lock_acquisitions",
         "worker_cpu_ns", "guarded", "held", "saved_pages", "hold_ms",
         "lock_hold_ns", "reported_reallocated_pages",
         "reallocated_100ms_pages", "reallocated_1s_pages",
         "reallocated_10s_pages", "reallocated_later_pages",
         "known_zero_refused")
REALLOC_BUCKETS = ("reallocated_100ms_pages", "reallocated_1s_pages",
                   "reallocated_10s_pages", "reallocated_later_pages")

# Before each scenario: no load left, no balloon or virtio-mem driver
# loaded, both CPUs up, the knobs as the kernel booted with them.
_RESET = r"""
pkill stress-ng; pkill integrity; pkill fragment
while pidof stress-ng integrity fragment >/dev/null; do sleep 0.2; done
/vmdense/lib/unload_drivers.sh vmdense_balloon virtio_balloon virtio_mem || exit 1
echo 1 >/sys/devices/system/cpu/cpu1/online
K=%s
if [ ! -f /tmp/knobs ]; then
	for f in %s; do echo "$f $(cat $K/$f)"; done >/tmp/knobs
fi
while read -r f v; do echo "$v" >$K/$f; done </tmp/knobs
""" % (SYSFS, " ".join(KNOBS))


class BalloonGuest(PlainGuest):
    def begin(self, ctx):
        super().begin(ctx)
        if self.vm.vmem:
            self.vm.vmem_set_requested(0)
        self.vm.balloon_set_target(self.vm.mem)


def balloon_guest(ctx):
    """The shared guest: 2 GiB, virtio-balloon with free page reporting,
    a 1 GiB virtio-mem device of 2 MiB blocks."""
    return ctx.shared(BalloonGuest("balloon", reset=_RESET, mem="2G",
                                   balloon=True, vmem="1G", vmem_block="2M"))


def stats(vm):
    out = vm.sh("cd %s/stats && for f in *; do echo $f $(cat $f); done"
                % SYSFS)
    return {k: int(v) for k, v in (ln.split() for ln in out.splitlines())}


def wait_quiet(vm, outfile=None):
    """Background jobs of an earlier vm.sh() are not the agent shell's
    children: poll until stress-ng is gone and outfile has the checker's
    final line."""
    vm.wait_for(lambda: vm.run("pidof stress-ng", check=False)[0] != 0,
                "stress-ng to finish", 180, 0.5)
    if outfile:
        vm.wait_for(lambda: "corrupt_bytes=" in vm.sh("cat %s" % outfile),
                    "the checker to finish", 180, 0.5)


def settled_stats(vm, what):
    """Stats once no batch is in flight: every isolated page was either
    reported or returned after a failure, none is missing."""
    res = {}

    def balanced():
        res.update(stats(vm))
        return res["isolated"] == res["reported_pages"] + res["failed"]
    vm.wait_for(balanced, "isolated pages to come back (%s)" % what, 120,
                0.5)
    return dict(res)


def _upstream_side(ctx, m, body):
    """make test-full: @body() again with the kernel's virtio_balloon in
    the same guest, its figures as upstream_*."""
    if ctx.full:
        balloon_guest(ctx).vm.sh(_RESET)
        up = body(*UPSTREAM)
        m["upstream_returned_mb"] = up["returned_mb"]
        m["upstream_return_seconds"] = up["return_seconds"]
    return m


@test("hinting.return_large", suite="hinting", limit=300)
def return_large(ctx):
    """512 MiB (1200 in test-full) allocated, touched and freed: at least
    half of it comes back to the host. test-full adds the kernel's
    page_reporting (upstream_*; baseline.balloon.free_page_reporting)."""
    vm = balloon_guest(ctx).vm
    mb = 1200 if ctx.full else 512

    def body(mod, drv):
        return balloon_return(ctx, vm, mod, drv, mb)
    return _upstream_side(ctx, body(*OURS), body)


def fragmented_return(ctx, vm, mod, drv, alloc_mb):
    """Hold alloc_mb in 64 KiB..1 MiB mappings, free a random half of
    them: the free memory is in pieces below 2 MiB."""
    load_module(vm, mod, drv)
    if mod == OURS[0]:
        vm.sh("echo 4 >%s/min_order; echo 16 >%s/report_threshold"
              % (SYSFS, SYSFS))
    vm.sh("/vmdense/fragment --mb %d --min-kb 64 --max-kb 1024 "
          "--free-pct 50 >/tmp/frag.out 2>&1 &\necho $! >/tmp/frag.pid"
          % alloc_mb)
    vm.wait_for(lambda: "held" in vm.sh("cat /tmp/frag.out"),
                "fragment to touch %d MiB" % alloc_mb, 300, 0.5)
    held = HostSampler(vm).until_stable(1, 10)
    free0 = meminfo(vm)["MemFree"]
    vm.sh("kill -USR1 $(cat /tmp/frag.pid)")
    vm.wait_for(lambda: "freed" in vm.sh("cat /tmp/frag.out"),
                "fragment to free", 120, 0.2)
    freed_mb, returned, secs, final = measure_return(ctx, vm, held, free0)
    ctx.log("%s: freed %.0f MiB in pieces; host %.0f -> %.0f MiB: %.0f MiB "
            "returned, 95 %% after %.1f s" % (mod, freed_mb, held, final,
                                              returned, secs))
    vm.sh("kill $(cat /tmp/frag.pid)")
    check(freed_mb >= 0.3 * alloc_mb, "the guest freed only %.0f MiB"
          % freed_mb)
    return {"freed_mb": round(freed_mb, 1), "returned_mb": round(returned, 1),
            "return_seconds": round(secs, 2)}


@test("hinting.return_fragmented", suite="hinting", limit=300)
def return_fragmented(ctx):
    """Half of 600 MiB (1200 in test-full) freed in pieces below 2 MiB,
    min_order 4: ours hands at least half of it back. test-full adds the
    kernel's page_reporting (order >= 9 only), which cannot."""
    vm = balloon_guest(ctx).vm
    mb = 1200 if ctx.full else 600

    def body(mod, drv):
        return fragmented_return(ctx, vm, mod, drv, mb)
    m = body(*OURS)
    check(m["returned_mb"] >= 0.5 * m["freed_mb"], "ours returned %.0f of "
          "%.0f MiB freed in pieces" % (m["returned_mb"], m["freed_mb"]))
    return _upstream_side(ctx, m, body)


@test("hinting.integrity", suite="hinting", limit=300)
def integrity(ctx):
    """The data-integrity checker churns its memory while stress-ng
    churns more and hinting reports all the time (small min_order and
    thresholds): no byte may change behind the program's back."""
    guest = balloon_guest(ctx)
    vm = guest.vm
    load_module(vm, *OURS)
    vm.sh("cd %s && echo 2 >min_order && echo 4 >wake_threshold && "
          "echo 8 >report_threshold && echo 10 >delay_ms" % SYSFS)
    before = stats(vm)
    # --vm without --vm-keep unmaps and maps again: a stream of frees
    vm.sh("stress-ng --vm 2 --vm-bytes 128M --timeout 40s "
          ">/tmp/stress.out 2>&1 &")
    out = vm.sh("/vmdense/integrity --mb 256 --chunk-kb 64 --churn 50 "
                "--seconds 40 --interval-ms 100 2>&1; echo rc=$?",
                timeout=300)
    wait_quiet(vm)
    after = settled_stats(vm, "after the run")
    m = re.search(r"corrupt_bytes=(\d+)", out)
    check(m, "no corrupt_bytes in the checker's output:\n%s" % out[-800:])
    corrupt = int(m.group(1))
    delta = {k: after[k] - before[k] for k in STATS}
    ctx.log("stats during the run: %s" % delta)
    check(corrupt == 0, "%d bytes corrupted" % corrupt)
    check("rc=0" in out, "the checker failed:\n%s" % out[-800:])
    check(delta["reported_pages"] > 0 and delta["batches"] > 0,
          "nothing was reported during the run: %s" % delta)
    check(delta["worker_cpu_ns"] > 0, "the worker reported %d batches in "
          "no CPU time" % delta["batches"])
    check("invoked oom-killer" not in guest.console(),
          "the workload ran out of memory (see serial.log)")
    return {"corrupt_bytes": corrupt,
            "reported_mb": round(delta["reported_bytes"] / 2**20, 1),
            "batches": delta["batches"], "stale": delta["stale"],
            "dropped": delta["dropped"],
            "worker_cpu_ms": round(delta["worker_cpu_ns"] / 1e6, 1)}


# knob: (valid values, invalid values)
KNOB_CASES = {
    "enabled": (["0", "1"], ["2", "-1", "yes", "", "1.0"]),
    "min_order": (["0", "3", "10", "9"], ["11", "-1", "x", "", "4k"]),
    "wake_threshold": (["1", "512", "64"], ["0", "513", "-5", "abc", ""]),
    "report_threshold": (["1", "16777216", "512"],
                         ["0", "16777217", "99999999999", "1e3", ""]),
    "report_batch": (["1", "256", "32"], ["0", "257", "-1", "0x10", " "]),
    "delay_ms": (["0", "60000", "100"], ["60001", "-1", "1.5", "ms", ""]),
    "adaptive": (["0", "1"], ["2", "-1", "on", ""]),
    "hold_max_ms": (["0", "60000", "4000"], ["60001", "-1", "1s", ""]),
    "churn_pct": (["1", "100", "10"], ["0", "101", "-3", "10%", ""]),
}


@test("hinting.sysfs", suite="hinting", limit=120)
def sysfs(ctx):
    """Every knob takes its valid values and refuses invalid ones with
    EINVAL, unchanged; stats/ is read-only; the tracepoints exist."""
    vm = balloon_guest(ctx).vm
    load_module(vm, *OURS)
    checked = 0
    for knob, (good, bad) in KNOB_CASES.items():
        path = "%s/%s" % (SYSFS, knob)
        for v in good:
            vm.sh("printf '%%s\\n' '%s' >%s" % (v, path))
            got = vm.sh("cat %s" % path).strip()
            check(got == v, "%s: wrote %r, reads %r" % (knob, v, got))
            checked += 1
        for v in bad:
            before = vm.sh("cat %s" % path).strip()
            # with a newline (an empty printf would write nothing),
            # through dd, which names the error the write returned
            rc, out = vm.run("printf '%%s\\n' '%s' | dd of=%s 2>&1" % (
                v, path), check=False)
            after = vm.sh("cat %s" % path).strip()
            check(rc != 0 and "Invalid argument" in out,
                  "%s accepted %r (%d: %s)" % (knob, v, rc, out.strip()))
            check(after == before, "%s: refused %r but changed %s -> %s"
                  % (knob, v, before, after))
            checked += 1
    events = vm.sh("ls /sys/kernel/debug/tracing/events/hinting")
    for ev in ("hinting_flush", "hinting_batch", "hinting_report"):
        check(ev in events, "no tracepoint %s: %s" % (ev, events))
    for name in STATS:
        out = vm.sh("cat %s/stats/%s" % (SYSFS, name)).strip()
        check(out.isdigit(), "stats/%s reads %r" % (name, out))
        rc, _ = vm.run("echo 0 >%s/stats/%s" % (SYSFS, name), check=False)
        check(rc != 0, "stats/%s is writable" % name)
    return {"writes_checked": checked, "stats_files": len(STATS)}


@test("hinting.balloon_inflate", suite="hinting", limit=300)
def balloon_inflate(ctx):
    """QMP balloon target to 1 GiB and back to 2 GiB: vmdense_balloon
    inflates, the guest loses the memory, then gets it back."""
    vm = balloon_guest(ctx).vm
    load_module(vm, *OURS)
    total0 = meminfo(vm)["MemTotal"]
    vm.wait_for(lambda: vm.balloon_query()["actual"] == 2 * GiB,
                "the balloon to start empty", 60, 0.2)
    t0 = time.monotonic()
    vm.balloon_set_target(GiB)
    vm.wait_for(lambda: vm.balloon_query()["actual"] <= GiB,
                "the guest to inflate to the 1 GiB target", 240, 0.2)
    inflate_s = time.monotonic() - t0
    total1 = meminfo(vm)["MemTotal"]
    check(total0 - total1 >= 1000 * 1024, "MemTotal only fell from %d to %d "
          "kB" % (total0, total1))
    t0 = time.monotonic()
    vm.balloon_set_target(2 * GiB)
    vm.wait_for(lambda: vm.balloon_query()["actual"] == 2 * GiB,
                "the guest to deflate to 2 GiB", 240, 0.2)
    deflate_s = time.monotonic() - t0
    total2 = meminfo(vm)["MemTotal"]
    check(total2 == total0, "MemTotal %d kB after deflating, %d before"
          % (total2, total0))
    ctx.log("inflated 1 GiB in %.1f s, deflated in %.1f s" % (
        inflate_s, deflate_s))
    return {"inflate_seconds": round(inflate_s, 2),
            "deflate_seconds": round(deflate_s, 2),
            "memtotal_kb_inflated": total1, "memtotal_kb": total0}


@test("hinting.host_no_ack", suite="hinting", limit=300)
def host_no_ack(ctx):
    """A host that never acknowledges a report (the driver's fault
    injection keeps the report from reaching it): the driver times out,
    resets the device, the pages go back unreported and counted, the
    guest keeps its data and the module unloads."""
    vm = balloon_guest(ctx).vm
    vm.sh("modprobe vmdense_balloon fault_no_kick=1 report_timeout_ms=2000")
    total0 = meminfo(vm)["MemFree"]
    out = vm.sh("/vmdense/integrity --mb 300 --churn 50 --seconds 8 "
                "--interval-ms 200 2>&1; echo rc=$?", timeout=300)
    vm.wait_for(lambda: "stopped acknowledging" in vm.sh("dmesg"),
                "the driver to give up on the host", 60, 0.5)
    st = settled_stats(vm, "after the reset")
    # the driver unregistered: more frees are no longer isolated
    vm.sh("/vmdense/integrity --mb 100 --seconds 0 >/dev/null; sleep 1")
    st2 = stats(vm)
    check(st2["batches"] == st["batches"], "reports went on after the "
          "reset: %d -> %d batches" % (st["batches"], st2["batches"]))
    vm.sh("rmmod vmdense_balloon")
    free1 = meminfo(vm)["MemFree"]
    check("corrupt_bytes=0 " in out and "rc=0" in out,
          "the checker failed:\n%s" % out[-800:])
    check(st["failed"] > 0, "no report failed: %s" % st)
    return {"failed_pages": st["failed"], "memfree_kb_before": total0,
            "memfree_kb_after": free1}


@test("hinting.unload_during_reports", suite="hinting", limit=300)
def unload_during_reports(ctx):
    """vmdense_balloon unloaded and loaded again while memory churns and
    hinting reports all the time: no page is lost or handed out twice."""
    vm = balloon_guest(ctx).vm
    vm.sh("cd %s && echo 2 >min_order && echo 4 >wake_threshold && "
          "echo 8 >report_threshold && echo 0 >delay_ms" % SYSFS)
    free0 = meminfo(vm)["MemFree"]
    vm.sh("stress-ng --vm 2 --vm-bytes 96M --timeout 30s "
          ">/tmp/stress.out 2>&1 &\n"
          "/vmdense/integrity --mb 128 --chunk-kb 64 --churn 50 "
          "--seconds 30 --interval-ms 100 >/tmp/integ.out 2>&1 &")
    cycles = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 25:
        vm.sh("modprobe vmdense_balloon; sleep 0.$((RANDOM % 9 + 1)); "
              "rmmod vmdense_balloon")
        cycles += 1
    wait_quiet(vm, "/tmp/integ.out")
    out = vm.sh("cat /tmp/integ.out")
    st = settled_stats(vm, "after the last unload")
    free1 = meminfo(vm)["MemFree"]
    ctx.log("%d load/unload cycles; stats %s; MemFree %d -> %d kB" % (
        cycles, st, free0, free1))
    check("corrupt_bytes=0 " in out, "data corrupted:\n%s" % out[-800:])
    check(st["batches"] > 0, "nothing was reported: %s" % st)
    # MemFree is a metric only: per-CPU page lists hold tens of MiB after
    # such a workload even without hinting; lost pages show in the stats
    return {"cycles": cycles, "batches": st["batches"],
            "memfree_kb_before": free0, "memfree_kb_after": free1,
            "reported_mb": round(st["reported_bytes"] / 2**20, 1)}


@test("hinting.memory_unplug", suite="hinting", limit=300)
def memory_unplug(ctx):
    """virtio-mem (the kernel's driver) unplugs memory that hinting keeps
    reporting from: offlining waits for batches in flight, no isolated
    page is lost and the memory goes away whole."""
    vm = balloon_guest(ctx).vm
    load_module(vm, *OURS)
    load_module(vm, "virtio_mem", "/sys/bus/virtio/drivers/virtio_mem")
    vm.sh("cd %s && echo 3 >min_order && echo 4 >wake_threshold && "
          "echo 8 >report_threshold && echo 0 >delay_ms" % SYSFS)
    total0 = meminfo(vm)["MemTotal"]
    vm.vmem_set_requested(GiB // 2)
    vm.wait_for(lambda: vm.vmem_props()["size"] == GiB // 2,
                "512 MiB plugged", 120, 0.1)
    vm.sh("stress-ng --vm 2 --vm-bytes 200M --timeout 20s "
          ">/tmp/stress.out 2>&1 &\n"
          "/vmdense/integrity --mb 200 --chunk-kb 64 --churn 50 "
          "--seconds 20 --interval-ms 100 >/tmp/integ.out 2>&1 &")
    time.sleep(5)
    before = stats(vm)
    vm.vmem_set_requested(0)
    secs = vm.wait_for(lambda: vm.vmem_props()["size"] == 0,
                       "the device to unplug everything", 240, 0.2)
    wait_quiet(vm, "/tmp/integ.out")
    st = settled_stats(vm, "after the unplug")
    total1 = meminfo(vm)["MemTotal"]
    out = vm.sh("cat /tmp/integ.out")
    ctx.log("unplugged 512 MiB in %.1f s while reporting; stats %s" % (
        secs, st))
    check("corrupt_bytes=0 " in out, "data corrupted:\n%s" % out[-800:])
    check(total1 == total0, "MemTotal %d kB after unplug, %d before plug"
          % (total1, total0))
    check(st["batches"] > before["batches"],
          "nothing was reported while unplugging: %s" % st)
    return {"unplug_seconds": round(secs, 2), "batches": st["batches"],
            "stale": st["stale"]}


@test("hinting.cpu_hotplug", suite="hinting", limit=180)
def cpu_hotplug(ctx):
    """Entries captured on a CPU that goes offline are drained: with
    wake_threshold and delay_ms too high to wake the worker, memory freed
    on CPU 1 is reported once CPU 1 goes down."""
    vm = balloon_guest(ctx).vm
    load_module(vm, *OURS)
    # let the registration pass (it reports what was free) finish
    settled_stats(vm, "after loading")
    vm.sh("cd %s && echo 512 >wake_threshold && echo 60000 >delay_ms"
          % SYSFS)
    time.sleep(1)
    before = settled_stats(vm, "before the frees")
    vm.sh("taskset 2 /vmdense/integrity --mb 200 --seconds 0 "
          ">/tmp/integ.out 2>&1")
    mid = stats(vm)
    check(mid["captured"] > before["captured"], "nothing captured: %s" % mid)
    check(mid["batches"] == before["batches"],
          "the worker ran before the CPU went down: %s" % mid)
    vm.sh("echo 0 >/sys/devices/system/cpu/cpu1/online")
    vm.wait_for(lambda: stats(vm)["batches"] > before["batches"],
                "a report after CPU 1 went down", 30, 0.5)
    st = settled_stats(vm, "after the offline")
    vm.sh("echo 1 >/sys/devices/system/cpu/cpu1/online")
    reported = st["reported_bytes"] - before["reported_bytes"]
    ctx.log("reported %.0f MiB after CPU 1 went down" % (reported / 2**20))
    check(reported >= 100 << 20, "only %d bytes reported" % reported)
    check("corrupt_bytes=0 " in vm.sh("cat /tmp/integ.out"),
          "the checker failed")
    return {"reported_mb": round(reported / 2**20, 1)}


# a workload that frees and allocates again all the time
CHURN = "--malloc 2 --malloc-bytes 64M --mmap 2 --mmap-bytes 64M"


def _realloc_snapshot(vm):
    """The buckets' sum, reported_reallocated_pages, the buckets' sum
    again, read one after the other."""
    out = vm.sh("cd %s/stats && b() { cat %s | awk '{ s += $1 } END "
                "{ print s }'; }; b; cat reported_reallocated_pages; b" % (
                    SYSFS, " ".join(REALLOC_BUCKETS)))
    lo, total, hi = (int(v) for v in out.split())
    return lo, total, hi


def _hold_ms(vm):
    return int(vm.sh("cat %s/stats/hold_ms" % SYSFS))


@test("hinting.adaptive", suite="hinting", limit=300)
def adaptive(ctx):
    """Where memory churns, a zone holds fresh blocks back: under a
    workload that frees and allocates again within moments the hold rises
    (stats/hold_ms above 0), reported pages allocated again are counted
    by how soon (stats/reallocated_*, which add up to
    reported_reallocated_pages), and once the churn stops the hold melts
    back to 0 within seconds. With adaptive 0 there is no hold at all."""
    vm = balloon_guest(ctx).vm
    load_module(vm, *OURS)
    settled_stats(vm, "after loading")
    # blocks of any order, reported as soon as captured: the churn shows
    vm.sh("cd %s && echo 0 >min_order && echo 1 >report_threshold && "
          "echo 8 >wake_threshold" % SYSFS)
    before = stats(vm)
    vm.sh("stress-ng %s --timeout 20s >/tmp/stress.out 2>&1 &" % CHURN)
    holds = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 18:
        holds.append(_hold_ms(vm))
        time.sleep(1)
    wait_quiet(vm)
    churned = stats(vm)
    peak = max(holds)
    # idle: the hold halves each second without churn
    vm.wait_for(lambda: _hold_ms(vm) == 0, "the hold to melt after the "
                "churn stopped", 30, 0.5)
    melt_s = time.monotonic() - t0 - 18
    after = settled_stats(vm, "after the churn")
    realloc = after["reported_reallocated_pages"] - \
        before["reported_reallocated_pages"]
    buckets = {b: after[b] - before[b] for b in REALLOC_BUCKETS}
    ctx.log("hold over the churn (ms): %s; reallocated %d pages %s" % (
        holds, realloc, buckets))
    check(peak > 0, "the hold never rose under churn: %s" % holds)
    check(realloc > 0, "no reported page was allocated again under churn")
    # the total (read between two reads of the buckets) is their sum
    lo, total, hi = _realloc_snapshot(vm)
    check(lo <= total <= hi, "reported_reallocated_pages %d is not the sum "
          "of its buckets (%d before it was read, %d after)" % (
              total, lo, hi))
    check(buckets["reallocated_100ms_pages"] +
          buckets["reallocated_1s_pages"] > 0, "under churn no reported "
          "page was allocated again within 1 s: %s" % buckets)
    check(churned["held"] > before["held"], "no block waited out a hold")
    # adaptive off: the same churn, no hold
    vm.sh("echo 0 >%s/adaptive" % SYSFS)
    held0 = stats(vm)["held"]
    vm.sh("stress-ng %s --timeout 12s >/tmp/stress.out 2>&1 &" % CHURN)
    off = []
    t1 = time.monotonic()
    while time.monotonic() - t1 < 11:
        off.append(_hold_ms(vm))
        time.sleep(1)
    wait_quiet(vm)
    check(max(off) == 0, "adaptive 0 still reads a hold: %s" % off)
    check(stats(vm)["held"] == held0, "adaptive 0 still held %d blocks "
          "back" % (stats(vm)["held"] - held0))
    return {"hold_ms_peak": peak, "hold_melt_seconds": round(melt_s, 1),
            "reallocated_pages": realloc,
            "reallocated_within_1s_pages":
                buckets["reallocated_100ms_pages"] +
                buckets["reallocated_1s_pages"],
            "saved_pages": after["saved_pages"] - before["saved_pages"]}


@test("hinting.large_guest", suite="hinting", tier="full", limit=900)
def large_guest(ctx):
    """A 16 GiB guest (its memfd RAM stays sparse on the host) with the
    soft-lockup detector on: loading vmdense_balloon walks every free list
    of 16 GiB (the seed), then 2 GiB are filled and freed three times with
    hinting at its most eager and everything reported. No walk may hold a
    CPU long enough for a soft lockup (the console check fails on one),
    and what was freed comes back to the host."""
    guest = ctx.shared(BalloonGuest("large", reset=_RESET, mem="16G",
                                    balloon=True))
    vm = guest.vm
    t0 = time.monotonic()
    load_module(vm, *OURS)
    vm.sh("cd %s && echo 0 >min_order && echo 1 >report_threshold" % SYSFS)
    settled_stats(vm, "after loading")
    load_s = time.monotonic() - t0
    held, back = [], []
    for _ in range(3):
        start_holder(vm, 2048)
        held.append(vm.host_mb())
        stop_holder(vm)
        wait_quiet(vm)
        settled_stats(vm, "after a free")
        back.append(held[-1] - HostSampler(vm).until_stable(2, 30))
    st = stats(vm)
    check(min(back) >= 1024, "of 2 GiB freed only %s MiB came back" % [
        round(b) for b in back])
    return {"memtotal_mb": meminfo(vm)["MemTotal"] // 1024,
            "load_settle_seconds": round(load_s, 1),
            "returned_mb_min": round(min(back)),
            "reported_mb": round(st["reported_bytes"] / 2**20)}


# pairs of the free-path timing in hinting.capture_counted (the benchmark
# runs many more: bench/capture.py)
CAPTURE_PAIRS = 6


@test("hinting.capture_counted", suite="hinting", limit=300)
def capture_counted(ctx):
    """The free path with capture on and off, in turns (the figures of
    bench/capture.py, few pairs): every block of min_order freed with
    hinting enabled is captured (or dropped for want of room, and
    counted), none with it disabled, and every run is timed. The times are metrics here, judged by the benchmark."""
    vm = balloon_guest(ctx).vm
    load_module(vm, *OURS)
    res = free_path_cost(ctx, vm, OURS[0], CAPTURE_PAIRS)
    check(vm.sh("cat %s/enabled" % SYSFS).strip() == "1",
          "hinting was left disabled")
    return {"block_free_ns_on": round(statistics.median(
                res["blocks"]["on_ns"])),
            "block_free_ns_off": round(statistics.median(
                res["blocks"]["off_ns"])),
            "block_free_ratio": round(res["blocks"]["ratio_median"], 3),
            "page_free_ratio": round(res["pages"]["ratio_median"], 3),
            "qualifying_free_added_ns": round(statistics.median(
                res["small_blocks"]["added_ns_per_capture"])),
            "captured_on": res["blocks"]["captured_on"],
            "captured_off": res["blocks"]["captured_off"],
            "dropped_on": res["blocks"]["dropped_on"]}


def _sleep(vm, state):
    """pm_test "devices": the drivers freeze and restore, the machine does
    not sleep. Returns the write's status and the kernel's words on it."""
    vm.sh("echo devices >/sys/power/pm_test; "
          "echo 0 >/sys/module/suspend/parameters/pm_test_delay 2>/dev/null;"
          " dmesg -c >/dev/null")
    rc, out = vm.run("echo %s >/sys/power/state" % state, check=False,
                     timeout=120)
    return rc, out + vm.sh("dmesg")


@test("hinting.suspend_resume", suite="hinting", limit=300)
def suspend_resume(ctx):
    """vmdense_balloon across suspend-to-idle and hibernation (pm_test
    "devices": the drivers freeze and restore): each time the balloon is
    given back on freeze and taken again after restore (QMP target kept),
    and after both, freed memory is still reported back to the host."""
    guest = balloon_guest(ctx)
    vm = guest.vm
    load_module(vm, *OURS)
    target = 2 * GiB - 256 * (1 << 20)
    vm.balloon_set_target(target)
    vm.wait_for(lambda: vm.balloon_query()["actual"] == target,
                "the balloon to inflate 256 MiB", 120, 0.2)
    m = {}
    for state in ("freeze", "disk"):
        rc, log = _sleep(vm, state)
        with open(ctx.path("sleep-%s.txt" % state), "w") as f:
            f.write(log)
        check(rc == 0, "%s with pm_test devices failed (%d):\n%s" % (
            state, rc, log[-1500:]))
        secs = vm.wait_for(lambda: vm.balloon_query()["actual"] == target,
                           "the balloon back at its target after %s" %
                           state, 120, 0.2)
        m[state + "_reinflate_seconds"] = round(secs, 2)
    vm.balloon_set_target(2 * GiB)
    vm.wait_for(lambda: vm.balloon_query()["actual"] == 2 * GiB,
                "the balloon to deflate", 120, 0.2)
    r = balloon_return(ctx, vm, *OURS, 256)
    m["returned_mb"] = r["returned_mb"]
    return m


@test("hinting.low_memory_guard", suite="hinting", limit=400)
def low_memory_guard(ctx):
    """A 384 MiB guest under stress-ng near its limit, hinting at its most
    eager (min_order 0, no delay, thresholds 1): reporting must not take
    the memory the workload is about to need: blocks are held back at
    the low watermark (stats/guarded), and no OOM kill may happen that
    the same run without hinting (no balloon driver) does not have too."""
    ctx.oom_ok = True
    guest = ctx.shared(BalloonGuest("small", reset=_RESET, mem="384M",
                                    balloon=True))
    vm = guest.vm
    runs = {}
    for mode in ("without", "with"):
        if mode == "with":
            load_module(vm, *OURS)
            vm.sh("cd %s && echo 0 >min_order && echo 1 >report_threshold "
                  "&& echo 1 >wake_threshold && echo 0 >delay_ms && "
                  "echo 0 >adaptive" % SYSFS)
            guarded0 = stats(vm)["guarded"]
        free_mb = meminfo(vm)["MemAvailable"] // 1024
        mark = len(guest.console())
        # two workers mapping and unmapping, together near all there is
        vm.sh("stress-ng --vm 2 --vm-bytes %dM --timeout 20s "
              ">/tmp/stress.out 2>&1 &" % (free_mb - 24))
        wait_quiet(vm)
        runs[mode] = guest.console()[mark:].count("invoked oom-killer")
        ctx.log("%s hinting: %d MiB available, %d OOM kills" % (
            mode, free_mb, runs[mode]))
    st = stats(vm)
    # the workload took the zone down to its watermark: the guard held
    # blocks back (else this run proved nothing about it)
    check(st["guarded"] > guarded0, "no block was held back at the "
          "watermark: the workload never came near it (%d MiB)" % (
              free_mb - 24))
    check(runs["with"] <= runs["without"], "hinting made the guest "
          "OOM-kill %d times, %d without it" % (runs["with"],
                                                runs["without"]))
    return {"oom_kills": runs["with"], "oom_kills_without": runs["without"],
            "guarded": st["guarded"] - guarded0, "reported_mb":
            round(st["reported_bytes"] / 2**20, 1)}
