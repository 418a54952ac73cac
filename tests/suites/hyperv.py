# SPDX-License-Identifier: GPL-2.0
"""vmdense_hyperv: cold hints, hot hints and boot-zeroed memory against
host-stub's Hyper-V side (nested, see suites/hoststub.py), and the
refusal to load on a guest without Hyper-V (plain QEMU). Names and
metric keys are a contract."""
import re

from vmtest.harness import check, test
from vmtest.hoststub import L2_FULL, THP, nested_metrics as _nested, run_l2
from vmtest.hyperv_workloads import (EARLY_ZEROED, check_gfp_zero,
                                     check_loaded, fill_free, skip_zeroing)

from suites.hinting import balloon_guest

# sizes of hyperv.skip_zeroing's timed batches (MiB; the benchmark runs
# larger ones), and what kz_check takes right after boot in
# hyperv.skip_zeroing_boot: a quarter of L2's memory (the allocator hands
# out recently freed pages first, so the pages the boot freed are likely
# among them)
SKIP_TEST_ALLOC_MB = 64
SKIP_TEST_FILL_MB = 64
KZ_CHECK_BOOT_MB = 256


@test("hyperv.refuses_without_hyperv", suite="hyperv", limit=120)
def refuses_without_hyperv(ctx):
    """A plain QEMU guest (no Hyper-V) must refuse vmdense_hyperv with a
    message that says why (the guest of the hinting scenarios)."""
    vm = balloon_guest(ctx).vm
    rc, out = vm.run("modprobe vmdense_hyperv 2>&1; echo rc=$?; "
                     "dmesg | grep vmdense_hyperv", check=False)
    loaded = vm.run("grep -q '^vmdense_hyperv ' /proc/modules",
                    check=False)[0] == 0
    ctx.log(out.strip())
    check(not loaded, "vmdense_hyperv loaded without Hyper-V")
    check("rc=0" not in out, "modprobe succeeded without Hyper-V")
    check("not running under Hyper-V" in out,
          "no clear refusal message:\n%s" % out)
    return {}


@test("hyperv.cold_hints", suite="hyperv", limit=400)
def cold_hints(ctx):
    """L2 loads vmdense_hyperv, fills and frees 256 MiB: the stub's guest
    RAM memfd drops by most of what L2 freed, and the pages the guest
    counts as acknowledged are the pages the stub counts as discarded."""
    run, m = fill_free(ctx, "vmdense_hyperv")
    check_loaded(run)
    hv = run.values("L2-HV")
    check(hv.get("cold_hints_active") == 1, "cold hints not active: %s" % hv)
    m["guest_cold_pages"] = hv.get("cold_pages", 0)
    m["guest_cold_calls"] = hv.get("cold_calls", 0)
    m["guest_cold_failed"] = hv.get("cold_failed", 0)
    m.pop("stub_reported_mb", None)
    stub_pages = m.get("stub_cold_discard_pages", 0) + \
        m.get("stub_cold_pages", 0)
    check(m["freed_mb"] >= 200, "L2 freed only %d MiB" % m["freed_mb"])
    check(m.get("returned_mb", 0) >= m["freed_mb"] * 3 // 4,
          "of %d MiB freed in L2 only %s MiB came back to the host" % (
              m["freed_mb"], m.get("returned_mb")))
    check(m["guest_cold_pages"] == stub_pages,
          "guest acknowledged %d pages, the stub hinted %d" % (
              m["guest_cold_pages"], stub_pages))
    check(m["guest_cold_failed"] == 0 and m.get("stub_failed_calls") == 0,
          "failed: %d pages in the guest, %s calls in the stub" % (
              m["guest_cold_failed"], m.get("stub_failed_calls")))
    return m


@test("hyperv.skip_zeroing", suite="hyperv", limit=900)
def skip_zeroing_test(ctx):
    """hyperv_workloads.skip_zeroing() with 64 MiB batches: init_on_alloc=1,
    clearings skipped only with skip_zeroing on; then with skipping on
    600 MiB of __GFP_ZERO pages checked byte by byte, nine in ten of them
    skipped."""
    return skip_zeroing(ctx, SKIP_TEST_ALLOC_MB, SKIP_TEST_FILL_MB)


@test("hyperv.skip_zeroing_boot", suite="hyperv", limit=600)
def skip_zeroing_boot(ctx):
    """L2 boots with init_on_alloc=1 and the boot-zeroed query made during
    boot (CONFIG_VMDENSE_HYPERV_MEM_EARLY, EARLY_ZEROED): the boot's own
    allocations from then on skip their clearing before any module loads.
    vmdense_hyperv then takes over what boot found without asking again,
    even with its own boot_zeroed=0. Correctness: a test module takes
    256 MiB with __GFP_ZERO (nine in ten of them skipping their clearing)
    and checks every byte. Boot times with and without are in the
    benchmark."""
    run = run_l2(ctx, "run_to_end.sh", {
        "L2_RUN": "l2/skip_zeroing_boot.sh", "L2_MEM": "1024M",
        "L2_APPEND": "init_on_alloc=1 " + EARLY_ZEROED,
        "STUB_OPTS": "--hyperv", "L2_PARAMS": "KZ_MB=%d" % KZ_CHECK_BOOT_MB},
        timeout=900, name="skip_zeroing_boot")
    check_loaded(run)
    m = _nested(run)
    bt, hv = run.values("L2-BT"), run.values("L2-HV")
    kz, af = run.values("L2-KZ"), run.values("L2-AF")
    q = re.search(r"vmdense_hyperv: \d+ pages known zero during boot "
                  r"\(.*; (\d+) us\)", run.l2_console)
    check(q, "no boot-zeroed query during L2's boot")
    # what the query (tracking included) cost the boot
    m["boot_query_us"] = int(q.group(1))
    m["known_zero_pages_boot"] = bt.get("known_zero_marked_pages", 0)
    m["zeroing_skipped_pages_boot"] = bt.get("zeroing_skipped_pages", 0)
    m["zeroing_done_pages_boot"] = bt.get("zeroing_done_pages", 0)
    check(m["known_zero_pages_boot"] > 0, "no page known zero during boot: "
          "%s" % bt)
    check(m["zeroing_skipped_pages_boot"] > 0, "the boot skipped no "
          "clearing with init_on_alloc=1: %s" % bt)
    check(m["zeroing_skipped_pages_boot"] <= m["known_zero_pages_boot"],
          "more pages skipped (%d) than were known zero (%d)" % (
              m["zeroing_skipped_pages_boot"], m["known_zero_pages_boot"]))
    check(hv.get("boot_zeroed_early") == 1 and
          hv.get("boot_zeroed_status") == 0,
          "vmdense_hyperv did not take over the query made during boot: "
          "%s" % hv)
    check(hv.get("known_zero_pages") == m["known_zero_pages_boot"],
          "vmdense_hyperv shows %s known-zero pages, boot made %d" % (
              hv.get("known_zero_pages"), m["known_zero_pages_boot"]))
    m["zeroed_ranges"] = hv.get("zeroed_ranges", 0)
    check_gfp_zero(m, kz, pages_min=(KZ_CHECK_BOOT_MB << 8) // 2)
    m["zeroing_skipped_pages"] = af.get("zeroing_skipped_pages", 0)
    check(m["zeroing_skipped_pages"] <= m["known_zero_pages_boot"],
          "more pages skipped (%d) than were ever known zero (%d)" % (
              m["zeroing_skipped_pages"], m["known_zero_pages_boot"]))
    up = re.search(r"vmdense-guest: userspace up after ([\d.]+) s",
                   run.l2_console)
    m["userspace_up_seconds"] = float(up.group(1)) if up else -1
    return m


@test("hyperv.integrity", suite="hyperv", limit=600)
def integrity(ctx):
    """Cold hints reporting all the time (small min_order and thresholds)
    and known-zero pages in use (init_on_alloc=1) while the data-integrity
    checker and stress-ng churn: no byte may change behind the program's
    back."""
    run = run_l2(ctx, "run_to_end.sh", {
        "L2_RUN": "l2/hv_integrity.sh", "L2_MEM": "1024M",
        "L2_INITRD": L2_FULL, "L2_APPEND": "init_on_alloc=1",
        "STUB_OPTS": "--hyperv " + THP}, timeout=900, name="integrity")
    check_loaded(run)
    m = _nested(run)
    r = re.search(r"^integrity: .*corrupt_bytes=(\d+).*$", run.l2_console,
                  re.M)
    check(r, "no checker result in the L2 console")
    m["corrupt_bytes"] = int(r.group(1))
    hv, st = run.values("L2-HV"), run.values("L2-ST")
    m["cold_pages_during"] = run.values("L2-D").get("cold_pages_during", 0)
    m["cold_failed"] = hv.get("cold_failed", 0)
    m["zeroing_skipped_pages"] = st.get("zeroing_skipped_pages", 0)
    check(m["corrupt_bytes"] == 0, "%d bytes corrupted" % m["corrupt_bytes"])
    check("status=ok" in r.group(0), "the checker failed")
    check(m["cold_pages_during"] > 0, "no cold hint during the run")
    check("invoked oom-killer" not in run.l2_console,
          "the workload ran out of memory")
    return m


@test("hyperv.hot_hints", suite="hyperv", limit=600)
def hot_hints(ctx):
    """Hot hints from all three sources, against host-stub with a
    virtio-mem device (L2: 1024 MiB, vmdense_virtio_mem, cold hints off):
    - memory coming online: a 128 MiB block is plugged while vmdense_hyperv
      runs with hot_on_online=0, a second one after reloading it with the
      default: only the second is hinted (both sides count 32768 pages)
      and the stub's virtio-mem memfd is backed before anyone touched it;
      a test module then reads every page of each block once, and the
      stub's page faults and KVM's (the stub maps hinted memory for L2
      ahead) show what the hint saved on first touch;
    - a range through sysfs (128 MiB at 768 MiB) and all free memory of
      node 0: the stub's RAM memfd grows, the counts match.
    host-stub keeps 4 KiB pages here: the faults counted are per page."""
    run = run_l2(ctx, "hot_hints.sh", {"L2_MEM": "1024M"}, timeout=900,
                 name="hot_hints")
    check_loaded(run)
    m = _nested(run)
    hv, rc = run.values("L2-HV"), run.values("L2-RC")
    t1, t2 = run.values("L2-T1"), run.values("L2-T2")
    block = 32768
    # memory coming online
    m["guest_hot_online_unhinted"] = hv.get("hot_online_first", -1)
    m["guest_hot_online_pages"] = hv.get("hot_online_second", -1)
    check(m["guest_hot_online_unhinted"] == 0,
          "hot_on_online=0 hinted %s pages" % m["guest_hot_online_unhinted"])
    check(m["guest_hot_online_pages"] == block and
          m.get("stub_hot_pages_online") == block,
          "onlined block: guest hinted %s pages, stub %s, wanted %d" % (
              m["guest_hot_online_pages"], m.get("stub_hot_pages_online"),
              block))
    check(m.get("vmem_mb_backed_hinted", 0) >= 120,
          "the hinted block is backed by only %s MiB before its first "
          "touch" % m.get("vmem_mb_backed_hinted"))
    # first touch, unhinted (t1) and hinted (t2)
    m["first_touch_pages_unhinted"] = t1.get("touched", 0)
    m["first_touch_pages_hinted"] = t2.get("touched", 0)
    m["first_touch_ms_unhinted"] = round(t1.get("ns", 0) / 1e6, 2)
    m["first_touch_ms_hinted"] = round(t2.get("ns", 0) / 1e6, 2)
    m["host_faults_unhinted"] = m.pop("host_faults_t1", -1)
    m["host_faults_hinted"] = m.pop("host_faults_t2", -1)
    check(m["first_touch_pages_unhinted"] >= block // 2 and
          m["first_touch_pages_hinted"] >= block // 2,
          "first touch read too few pages: %s, %s" % (
              m["first_touch_pages_unhinted"], m["first_touch_pages_hinted"]))
    check(m["host_faults_unhinted"] >= block // 4,
          "the unhinted block took only %d host faults on first touch: "
          "nothing to compare with" % m["host_faults_unhinted"])
    check(m["host_faults_hinted"] * 4 < m["host_faults_unhinted"],
          "first touch: %d host faults hinted, %d unhinted" % (
              m["host_faults_hinted"], m["host_faults_unhinted"]))
    # ... and KVM's: the hint mapped the block for L2 ahead, so its first
    # touch takes no stage-2 page fault exits (the other exits of the
    # window, timer and idle, are in kvm_exits_* for the record)
    for k in ("kvm_exits", "kvm_pf_taken"):
        m[k + "_unhinted"] = m.pop(k + "_t1", -1)
        m[k + "_hinted"] = m.pop(k + "_t2", -1)
    check(m["kvm_pf_taken_hinted"] * 4 < m["kvm_pf_taken_unhinted"],
          "first touch: %d KVM page faults hinted, %d unhinted" % (
              m["kvm_pf_taken_hinted"], m["kvm_pf_taken_unhinted"]))
    # a range through sysfs, then node 0
    check(rc.get("range_rc") == 0, "writing hot_hint failed in L2")
    m["guest_hot_pages_range"] = hv.get("range_pages", 0) - block
    m["stub_hot_pages_range"] = m.get("stub_hot_pages_range", 0) - block
    check(m["guest_hot_pages_range"] == block and
          m["stub_hot_pages_range"] == block,
          "range: guest %s, stub %s, wanted %d" % (
              m["guest_hot_pages_range"], m["stub_hot_pages_range"], block))
    check(m.get("range_host_mb_grown", 0) >= 64, "the stub's memfd grew "
          "only %s MiB for a 128 MiB hot hint" % m.get("range_host_mb_grown"))
    check(rc.get("node_rc") == 0, "writing hot_hint_node failed in L2")
    check(rc.get("bad_node_rc", 0) != 0, "hot_hint_node took node 64")
    check(m.get("stub_hot_pages_mapped") == m.get("stub_hot_pages") and
          m.get("stub_hot_map_errors") == 0,
          "the stub mapped %s of %s hot-hinted pages for L2 (%s errors)" % (
              m.get("stub_hot_pages_mapped"), m.get("stub_hot_pages"),
              m.get("stub_hot_map_errors")))
    m["guest_hot_pages"] = hv.get("hot_pages", 0)
    check(m["guest_hot_pages"] == m.get("stub_hot_pages"),
          "guest acknowledged %s hot pages, the stub counted %s" % (
              m["guest_hot_pages"], m.get("stub_hot_pages")))
    check(m.get("node_host_mb_grown", 0) >= 256, "hinting node 0 grew the "
          "stub's memfd by only %s MiB" % m.get("node_host_mb_grown"))
    check(hv.get("hot_failed") == 0 and m.get("stub_failed_calls") == 0,
          "failed: %s pages in the guest, %s calls in the stub" % (
              hv.get("hot_failed"), m.get("stub_failed_calls")))
    return m


@test("hyperv.lying_host", suite="hyperv", limit=400)
def lying_host(ctx):
    """host-stub --lie-zeroed calls memory boot-zeroed that it filled with
    data. vmdense_hyperv reads a sample of every range before it trusts
    one: it must refuse known-zero memory (the message, zeroed_refused 1,
    stats/known_zero_refused), mark nothing known-zero, and no page may be
    handed out uncleared (256 MiB of __GFP_ZERO pages, every byte)."""
    run = run_l2(ctx, "run_to_end.sh", {
        "L2_RUN": "l2/lying_host.sh", "L2_MEM": "512M",
        "L2_APPEND": "init_on_alloc=1", "STUB_OPTS": "--hyperv --lie-zeroed",
        "L2_PARAMS": "KZ_MB=256"}, timeout=600, name="lying_host")
    check_loaded(run)
    m = _nested(run)
    hv, st, kz = run.values("L2-HV"), run.values("L2-ST"), run.values("L2-KZ")
    check(m.get("stub_boot_zeroed_calls") == 1, "the module did not ask "
          "for boot-zeroed memory: %s calls" % m.get("stub_boot_zeroed_calls"))
    check("holds data: known-zero memory is off" in run.l2_console,
          "no message about the lie in L2's console")
    m["zeroed_refused"] = hv.get("zeroed_refused", -1)
    m["known_zero_refused"] = st.get("known_zero_refused", -1)
    m["known_zero_pages"] = hv.get("known_zero_pages", -1)
    check(m["zeroed_refused"] == 1 and m["known_zero_refused"] == 1,
          "the lie was not refused: zeroed_refused %s, known_zero_refused "
          "%s" % (m["zeroed_refused"], m["known_zero_refused"]))
    check(m["known_zero_pages"] == 0, "%d pages known zero from a lying "
          "host" % m["known_zero_pages"])
    m["gfp_zero_checked_pages"] = kz.get("pages", 0)
    m["gfp_zero_nonzero_bytes"] = kz.get("nonzero_bytes", -1)
    m["gfp_zero_checked_skipped_pages"] = kz.get(
        "gfp_zero_checked_skipped_pages", -1)
    check(m["gfp_zero_checked_pages"] >= 256 << 7, "the checker got only "
          "%d pages" % m["gfp_zero_checked_pages"])
    check(m["gfp_zero_nonzero_bytes"] == 0, "%s non-zero bytes in %s "
          "__GFP_ZERO pages: pages the lying host called zero were handed "
          "out uncleared" % (kz.get("nonzero_bytes"), kz.get("pages")))
    check(m["gfp_zero_checked_skipped_pages"] == 0, "%d clearings skipped "
          "after the refusal" % m["gfp_zero_checked_skipped_pages"])
    return m


@test("hyperv.hot_add_tracking", suite="hyperv", limit=400)
def hot_add_tracking(ctx):
    """Known-zero tracking covers the memory present when it began:
    memory hot-added later (virtio-mem plugs 256 MiB above the old end of
    memory) is never called known-zero, the pages handed out from it and
    from the rest are all cleared where they must be (512 MiB of
    __GFP_ZERO pages, every byte), and nothing is written past the
    tracking maps (KFENCE, debug objects and the console check)."""
    run = run_l2(ctx, "hot_add_tracking.sh", {
        "L2_MEM": "768M", "L2_APPEND": "init_on_alloc=1"}, timeout=600,
        name="hot_add_tracking")
    check_loaded(run)
    m = _nested(run)
    hv0, hv = run.values("L2-HV0"), run.values("L2-HV")
    kz = run.values("L2-KZ")
    added = re.search(r"^L2-MEM added_kb=(\d+)", run.l2_console, re.M)
    check(added and int(added.group(1)) >= 256 << 10, "the plugged memory "
          "did not come: %s" % (added.group(0) if added else "no line"))
    m["known_zero_pages_before"] = hv0.get("known_zero_pages", -1)
    m["known_zero_pages_after"] = hv.get("known_zero_pages", -1)
    check(m["known_zero_pages_before"] > 0, "no page known zero before the "
          "hot-add: nothing to check")
    check(m["known_zero_pages_after"] == m["known_zero_pages_before"],
          "known-zero pages went from %d to %d with the hot-add" % (
              m["known_zero_pages_before"], m["known_zero_pages_after"]))
    check_gfp_zero(m, kz, pages_min=(512 << 8) // 2)
    check(m["gfp_zero_checked_skipped_pages"] <= m["known_zero_pages_before"],
          "more clearings skipped (%d) than pages were known zero (%d)" % (
              m["gfp_zero_checked_skipped_pages"],
              m["known_zero_pages_before"]))
    fill = re.search(r"^integrity-round: .*corrupt_bytes=(\d+)",
                     run.l2_console, re.M)
    check(fill and fill.group(1) == "0", "the fill of the hot-added memory "
          "failed: %s" % (fill.group(0) if fill else "no verdict"))
    return m


@test("hyperv.stalled_host", suite="hyperv", limit=400)
def stalled_host(ctx):
    """A host that stops making progress on cold hints (host-stub answers
    16 heat hints with success and no rep done, 3 s each): memory plugged
    meanwhile comes online without waiting for it (the hinting worker
    holds no hotplug lock while the host answers), and vmdense_hyperv
    gives the call up instead of asking forever (stalled_calls)."""
    run = run_l2(ctx, "stalled_host.sh", {"L2_MEM": "768M"}, timeout=600,
                 name="stalled_host")
    check_loaded(run)
    m = _nested(run)
    hv = run.values("L2-HV")
    m["guest_stalled_calls"] = hv.get("stalled_calls", -1)
    check(m.get("stalled_at_online", 99) < 16, "the memory came online only "
          "after the host stalled %s times: hotplug waited for the host" %
          m.get("stalled_at_online"))
    check(m["guest_stalled_calls"] >= 1, "vmdense_hyperv did not give up "
          "on the stalled call: %s" % hv)
    return m
