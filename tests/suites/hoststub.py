# SPDX-License-Identifier: GPL-2.0
"""host-stub's nested scenarios: host-stub boots our kernel as L2 inside
a TCG L1 guest (this machine's /dev/kvm cannot run ordinary guests), one
L1 for all of them (vmtest.hoststub). What runs in L1 and L2 is in
tests/guest/l1 and tests/guest/l2. Names and metric keys are a contract.
"""
import re

from vmtest.harness import check, test
from vmtest.hoststub import THP, nested_metrics as _nested, run_l2

# MiB the checker fills after 512 MiB were plugged: user memory goes to the
# plugged (movable) memory first, so the fill is backed by the device.
VMEM_FILL_MB = 256

def _upstream(ctx, m, script, env, name):
    """make test-full: the same run with the kernel's driver, its
    metrics as upstream_* beside ours."""
    if ctx.full:
        up = run_l2(ctx, script, env, name=name)
        for k, v in _nested(up).items():
            m["upstream_" + k] = v
    return m


@test("hoststub.boot", suite="hoststub", limit=300)
def boot(ctx):
    """L2 boots our kernel and initramfs through host-stub (2 vCPUs) to a
    shell, which exits with status 7: host-stub must exit with 7."""
    run = run_l2(ctx, "boot.sh", timeout=240)
    m = _nested(run)
    check("hoststub-l2-shell 2 cpus" in run.l2_console,
          "L2 never ran its shell command (or not on 2 CPUs)")
    check(m.get("stub_status") == 7, "host-stub exited %s, the guest's "
          "status was 7" % m.get("stub_status"))
    up = re.search(r"userspace up after ([\d.]+) s", run.l2_console)
    check(up, "no 'userspace up' line from L2")
    m["l2_userspace_seconds"] = float(up.group(1))
    return m


def _check_virtio_mem(m, module):
    check(m.get("host_mb_plugged", 0) >= VMEM_FILL_MB * 3 // 4,
          "%s: filling plugged memory allocated only %s MiB on the host" % (
              module, m.get("host_mb_plugged")))
    check(m.get("host_mb_after", 1 << 20) <= 2, "%s: %s MiB still "
          "allocated after unplugging all" % (module, m.get("host_mb_after")))
    check(m.get("violations") == 0, "%s: violations: %s" % (
        module, m.get("violations")))


@test("hoststub.virtio_mem", suite="hoststub", limit=400)
def virtio_mem(ctx):
    """vmdense_virtio_mem against host-stub's virtio-mem device: plug
    512 MiB, fill half of it (verified), unplug it; the device memfd gives
    the memory back, no access to unplugged memory (violations 0).
    test-full adds the kernel's virtio_mem (upstream_*)."""
    env = {"FILL_MB": VMEM_FILL_MB, "STUB_OPTS": THP}
    run = run_l2(ctx, "virtio_mem.sh", env)
    check("status=ok" in run.l2_console, "the data-integrity pass failed")
    m = _nested(run)
    _check_virtio_mem(m, "vmdense_virtio_mem")
    env["MODULE"] = "virtio_mem"
    return _upstream(ctx, m, "virtio_mem.sh", env, "virtio_mem-upstream")


def _unplug_all(ctx, module, name):
    run = run_l2(ctx, "virtio_mem_unplug_all.sh", {
        "MODULE": module, "FILL_MB": VMEM_FILL_MB, "STUB_OPTS": THP},
        name=name)
    check("status=ok" in run.l2_console, "%s: the data-integrity pass "
          "failed" % module)
    m = _nested(run)
    added = re.search(r"^L2-MEM added_kb=(\d+)", run.l2_console, re.M)
    m["guest_added_mb"] = int(added.group(1)) // 1024 if added else -1
    return m


@test("hoststub.virtio_mem_unplug_all", suite="hoststub", limit=400)
def virtio_mem_unplug_all(ctx):
    """A virtio-mem device that still has memory plugged when the driver
    starts (256 MiB, dirty, 128 MiB requested): vmdense_virtio_mem must
    ask UNPLUG_ALL first, then plug exactly the requested 128 MiB; the
    device memfd holds no more than that, and nothing touched unplugged
    memory. test-full adds the kernel's virtio_mem (upstream_*)."""
    m = _unplug_all(ctx, "vmdense_virtio_mem", "unplug_all")
    check(m.get("plugged_at_start_mb") == 256, "the device did not start "
          "with 256 MiB plugged: %s" % m.get("plugged_at_start_mb"))
    check(m.get("unplug_all_requests", 0) >= 1,
          "vmdense_virtio_mem sent no UNPLUG_ALL for a plugged device")
    check(m.get("guest_added_mb") == 128, "the guest gained %s MiB, the "
          "host asked for 128" % m.get("guest_added_mb"))
    check(m.get("host_mb_after", 1 << 20) <= 130, "%s MiB left in the "
          "device memfd for 128 MiB plugged" % m.get("host_mb_after"))
    check(m.get("violations") == 0, "violations: %s" % m.get("violations"))
    if ctx.full:
        for k, v in _unplug_all(ctx, "virtio_mem",
                                "unplug_all-upstream").items():
            m["upstream_" + k] = v
    return m


def _balloon(ctx, module, name):
    """MODULE with free page reporting against host-stub's balloon
    (tests/guest/l1/balloon.sh); returns its checked metrics."""
    run = run_l2(ctx, "balloon.sh", {"MODULE": module, "STUB_OPTS": THP},
                 name=name)
    m = _nested(run)
    ended = re.search(r"^integrity-round: .*corrupt_bytes=(\d+)",
                      run.l2_console, re.M)
    check(ended and ended.group(1) == "0", "%s: the data-integrity pass "
          "in L2 failed: %s" % (module, ended.group(0) if ended else
                                "no verdict"))
    freed = re.search(r"^L2-FREED freed_kb=(-?\d+)", run.l2_console, re.M)
    check(freed, "%s: L2 did not say what it freed" % module)
    m["freed_mb"] = int(freed.group(1)) // 1024
    check(m.get("returned_mb", 0) >= m["freed_mb"] * 2 // 3,
          "%s: of %d MiB freed in L2 only %s MiB came back to the host" % (
              module, m["freed_mb"], m.get("returned_mb")))
    check(m.get("host_mb_after", 1 << 20) <= m.get("host_mb_idle", 0) + 40,
          "%s: host memory %s MiB after the free, %s MiB before the fill" % (
              module, m.get("host_mb_after"), m.get("host_mb_idle")))
    check("inflate_seconds" in m and m.get("inflated_pages", 0) >= 16384,
          "%s: inflating to 16384 pages: %s pages, done: %s" % (
              module, m.get("inflated_pages"), "inflate_seconds" in m))
    check("deflate_seconds" in m and m.get("deflated_pages", 0) >= 16384,
          "%s: deflating: %s pages" % (module, m.get("deflated_pages")))
    check(m.get("stats_updates", 0) >= 2, "%s: statistics updates: %s" % (
        module, m.get("stats_updates")))
    return m


@test("hoststub.balloon_reporting", suite="hoststub", limit=400)
def balloon_reporting(ctx):
    """vmdense_balloon (reporting fed by mm/hinting) against host-stub's
    virtio-balloon: memory L2 filled and freed comes back (freed_mb is
    what L2's MemFree grew by), inflate/deflate follow the target,
    statistics refresh. test-full adds the kernel's virtio_balloon with
    page_reporting (upstream_*)."""
    m = _balloon(ctx, "vmdense_balloon", "balloon")
    if ctx.full:
        for k, v in _balloon(ctx, "virtio_balloon",
                             "balloon-upstream").items():
            m["upstream_" + k] = v
    return m


@test("hoststub.faults", suite="hoststub", limit=400)
def faults(ctx):
    """Injected faults against vmdense_virtio_mem: one BUSY (back off until
    retried), three NACKs, every ack delayed 200 ms; plugging 256 MiB must
    still end with device and guest agreeing. Then one ERROR while
    plugging 512 MiB: ours counts it, retries and reaches 512 MiB.
    test-full adds the kernel's virtio_mem, which must give up on the
    device ("marking device broken", nothing more plugged)."""
    run = run_l2(ctx, "faults.sh")
    m = _nested(run)
    check(m.get("busy") == 1 and m.get("nacks") == 3,
          "expected 1 BUSY and 3 NACKs answered, got %s and %s" % (
              m.get("busy"), m.get("nacks")))
    check(m.get("errors") == 1, "ERROR answers: %s" % m.get("errors"))
    check(m.get("violations") == 0, "violations: %s" % m.get("violations"))
    check(m.get("recovered_after_error") == 1 and
          m.get("plugged_mb_after_error") == 512,
          "vmdense_virtio_mem did not recover after one ERROR: %s MiB "
          "plugged" % m.get("plugged_mb_after_error"))
    if ctx.full:
        up = _nested(run_l2(ctx, "faults.sh", {"MODULE": "virtio_mem"},
                            name="faults-upstream"))
        check(up.get("driver_marked_broken") == 1,
              "the kernel's driver did not give up after ERROR")
        check(up.get("plugged_mb_after_error") == 256,
              "%s MiB plugged by the kernel's driver after the ERROR, 256 "
              "before" % up.get("plugged_mb_after_error"))
        for k, v in up.items():
            m["upstream_" + k] = v
    return m


@test("hoststub.hyperv", suite="hoststub", limit=300)
def hyperv(ctx):
    """host-stub --hyperv: L2 must detect Microsoft Hyper-V with extended
    hypercalls allowed (privilege bit 20); its hyperv_init() query of the
    extended capabilities (0x8001) must reach host-stub through
    KVM_EXIT_HYPERV; and a test module issues GetBootZeroedMemory and
    cold-discard, hot and cold heat hints on a 2 MiB block it owns: all
    must succeed and be counted."""
    run = run_l2(ctx, "hyperv.sh", timeout=240)
    m = _nested(run)
    text = run.l2_console
    check("Hypervisor detected: Microsoft Hyper-V" in text,
          "L2 did not detect Hyper-V")
    flags = re.search(r"Hyper-V: privilege flags low (0x[0-9a-f]+), "
                      r"high (0x[0-9a-f]+)", text)
    check(flags and int(flags.group(2), 16) & (1 << 20),
          "extended hypercalls not enabled in L2: %s" % (
              flags.group(0) if flags else "no privilege flags line"))
    check("hv_ext_probe: cold discard offered" in text,
          "the guest does not see the cold-discard capability")
    check(m.get("query_capabilities_calls", 0) >= 1,
          "no HvExtCallQueryCapabilities reached host-stub")
    check(m.get("boot_zeroed_calls") == 1 and
          m.get("zeroed_ranges_reported", 0) >= 1,
          "GetBootZeroedMemory: %s calls, %s ranges" % (
              m.get("boot_zeroed_calls"), m.get("zeroed_ranges_reported")))
    check(m.get("heat_hint_calls") == 3 and
          m.get("cold_discard_pages") == 512 and
          m.get("hot_pages") == 512 and m.get("cold_pages") == 16,
          "heat hints: %s calls, %s/%s/%s pages cold-discard/hot/cold" % (
              m.get("heat_hint_calls"), m.get("cold_discard_pages"),
              m.get("hot_pages"), m.get("cold_pages")))
    for what in ("boot zeroed", "cold discard 2M", "hot 2M",
                 "cold 16 pages"):
        check("hv_ext_probe: %s status 0" % what in text,
              "the guest saw a failure for %s" % what)
    check(m.get("failed_calls") == 0, "failed hypercalls: %s" %
          m.get("failed_calls"))
    check(m.get("stub_status") == 0, "host-stub exited %s" %
          m.get("stub_status"))
    return m


@test("hoststub.violation", suite="hoststub", limit=300)
def violation(ctx):
    """A test module in L2 reads and writes one word of virtio-mem memory
    that is not plugged (the region of a 1 GiB device with nothing
    plugged and no driver loaded): host-stub must catch both accesses,
    count them and say where, and the guest must go on running."""
    # 512 MiB of RAM: host-stub puts the device region at 4 GiB
    addr = (4 << 30) + (64 << 20)
    run = run_l2(ctx, "violation.sh", {"ADDR": addr})
    m = _nested(run)
    check("vmem_touch: read 0x0" in run.l2_console,
          "the module did not report reading zeroes from unplugged memory")
    check(m.get("violation_reads", 0) >= 1 and
          m.get("violation_writes", 0) >= 1,
          "violations not caught: %s reads, %s writes" % (
              m.get("violation_reads"), m.get("violation_writes")))
    check(m.get("last_violation_gpa") == addr, "last violation at %s, "
          "the module touched %d" % (m.get("last_violation_gpa"), addr))
    check(m.get("plugged_size") == 0, "something got plugged")
    check(m.get("guest_alive") == 1, "L2 did not survive the access")
    return m


# Config lies that leave the requested size alone (those that raise it
# would make the kernel's driver plug, or retry NACKs forever).
BAD_CONFIG_KINDS = ["block_not_pow2", "block_too_small", "addr_unaligned",
                    "region_unaligned", "usable_too_big", "usable_unaligned",
                    "plugged_too_big", "bad_node"]


def _bad_config(ctx, module, name):
    run = run_l2(ctx, "bad_config.sh", {
        "MODULE": module, "KINDS": ",".join(BAD_CONFIG_KINDS)}, name=name)
    m = _nested(run)
    results = dict(re.findall(r"^L2-RESULT (\S+) (bound|refused)",
                              run.l2_console, re.M))
    check(set(results) == set(BAD_CONFIG_KINDS),
          "%s: results only for %s" % (module, sorted(results)))
    check(m.get("plugged_size") == 0, "%s: plugged %s" % (
        module, m.get("plugged_size")))
    check(m.get("violations") == 0, "%s: violations %s" % (
        module, m.get("violations")))
    return {k: r == "refused" for k, r in results.items()}, m


@test("hoststub.bad_config", suite="hoststub", limit=300)
def bad_config(ctx):
    """Each invalid virtio-mem config host-stub can present, bound to
    vmdense_virtio_mem, which must refuse every one (metrics
    refused_<kind>, 1 or 0); L1 switches the config only when L2 asks and
    says on L2's console when it has, so no bind is counted for another
    config. The guest must survive them all and nothing may get plugged.
    test-full binds the kernel's virtio_mem too (upstream_refused_<kind>,
    measured, not judged)."""
    ours, m = _bad_config(ctx, "vmdense_virtio_mem", "bad_config")
    metrics = {"l1_total_seconds": m["l1_total_seconds"]}
    for k in BAD_CONFIG_KINDS:
        metrics["refused_" + k] = int(ours[k])
    accepted = [k for k in BAD_CONFIG_KINDS if not ours[k]]
    check(not accepted, "vmdense_virtio_mem accepted bad configs: %s" %
          ", ".join(accepted))
    if ctx.full:
        up, m_up = _bad_config(ctx, "virtio_mem", "bad_config-upstream")
        metrics["upstream_l1_total_seconds"] = m_up["l1_total_seconds"]
        for k in BAD_CONFIG_KINDS:
            metrics["upstream_refused_" + k] = int(up[k])
    return metrics


@test("hinting.unload_silent_host", suite="hinting", limit=300)
def unload_silent_host(ctx):
    """host-stub's balloon stops acknowledging reports; with a report in
    flight, rmmod vmdense_balloon: the unload waits out the report's
    timeout and returns, and nothing of the driver runs after it is gone
    (a work item queued by the timed-out report and freed with the
    driver would show as a debug-objects warning or a KFENCE report)."""
    run = run_l2(ctx, "unload_silent.sh", {"STUB_OPTS": THP})
    m = _nested(run)
    unloaded = re.search(r"^L2-UNLOADED rc=(\d+) ms=(\d+)", run.l2_console,
                         re.M)
    check(unloaded and unloaded.group(1) == "0", "rmmod failed: %s" % (
        unloaded.group(0) if unloaded else "no result"))
    m["unload_ms"] = int(unloaded.group(2))
    check("L2-STILL-LOADED" not in run.l2_console, "still loaded")
    broke = re.search(r"^L2-BROKE (\d+)", run.l2_console, re.M)
    check(broke and int(broke.group(1)) >= 1, "the driver never gave up on "
          "the silent host: no report was in flight at the unload")
    check(m.get("reports_dropped", 0) >= 1, "no report reached the host")
    return m
