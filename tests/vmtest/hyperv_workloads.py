# SPDX-License-Identifier: GPL-2.0
"""Nested workloads of vmdense_hyperv against host-stub's Hyper-V side that
the scenarios (tests/suites/hyperv.py) and the benchmark (bench/hyperv.py)
both run. Each checks what makes its figures meaningful (and what is
correct: no page the host called zero handed out uncleared) and returns
them.

Public names: fill_free(), skip_zeroing(), first_touch(), boot_times(),
check_loaded(), check_gfp_zero(), EARLY_ZEROED, FILL_FREE_MEM,
KZ_CHECK_MB, HALVES.
"""
import re

from .harness import check
from .hoststub import THP, nested_metrics, run_l2

# The boot-zeroed query is left to vmdense_hyperv's load in every L2 but
# those that append EARLY_ZEROED (hyperv.skip_zeroing_boot, the bench's
# skipping boots): the counters the scenarios check start there.
EARLY_ZEROED = "vmdense_hyperv_early.boot_zeroed=1"


def check_loaded(run):
    check("vmdense_hyperv: host capabilities" in run.l2_console,
          "vmdense_hyperv did not load in L2:\n%s" % "\n".join(
              ln for ln in run.l2_console.splitlines()
              if "vmdense" in ln)[-2000:])


def check_gfp_zero(m, kz, pages_min=0):
    """kz_check's verdict (run.values("L2-KZ") @kz) into metrics @m: pages
    whose clearing was skipped must read zero, and (with @pages_min)
    at least nine in ten of the pages it checked must have skipped their
    clearing, or the check proved nothing about skipping."""
    check("pages" in kz, "no verdict from the __GFP_ZERO checker")
    m["gfp_zero_checked_pages"] = kz.get("pages", 0)
    m["gfp_zero_nonzero_bytes"] = kz.get("nonzero_bytes", -1)
    m["gfp_zero_checked_skipped_pages"] = kz.get(
        "gfp_zero_checked_skipped_pages", -1)
    check(m["gfp_zero_nonzero_bytes"] == 0,
          "%s non-zero bytes in %s __GFP_ZERO pages (%s pages)" % (
              kz.get("nonzero_bytes"), kz.get("pages"),
              kz.get("nonzero_pages")))
    check(m["gfp_zero_checked_pages"] >= pages_min, "the checker got only "
          "%d pages" % m["gfp_zero_checked_pages"])
    check(m["gfp_zero_checked_skipped_pages"] >=
          m["gfp_zero_checked_pages"] * 9 // 10,
          "only %d of the %d pages checked skipped their clearing" % (
              m["gfp_zero_checked_skipped_pages"],
              m["gfp_zero_checked_pages"]))


# L2's RAM in fill_free() and the MiB it fills: the benchmark fills
# 1 GiB of a 1536 MiB guest
FILL_FREE_MEM = {"test": ("768M", 256), "bench": ("1536M", 1024)}


def fill_free(ctx, reporter, size="test", name=None):
    """L2 with one way of reporting free memory (@reporter:
    vmdense_hyperv, vmdense_balloon or virtio_balloon) fills and verifies
    memory, frees it; L1 samples the stub's guest RAM memfd until it stops
    dropping (tests/guest/l1/fill_free.sh). Returns the nested.L2Run and
    its metrics: host_mb_peak, host_mb_after, returned_mb, return_seconds,
    freed_mb (what L2's MemFree grew by) and the stub's counters. The
    same workload for every reporter, so that they compare (bench)."""
    mem, fill = FILL_FREE_MEM[size]
    run = run_l2(ctx, "fill_free.sh", {
        "REPORTER": reporter, "FILL_MB": fill, "L2_MEM": mem,
        "STUB_OPTS": THP}, timeout=1500, name=name or reporter)
    m = nested_metrics(run)
    r = re.search(r"^integrity-round: round=1 verified_mb=(\d+) "
                  r"corrupt_bytes=(\d+)", run.l2_console, re.M)
    check(r and r.group(1) == str(fill) and r.group(2) == "0",
          "the integrity checker's round over %d MiB in L2 failed: %s" % (
              fill, r.group(0) if r else "no result"))
    freed = re.search(r"^L2-FREED freed_kb=(-?\d+)", run.l2_console, re.M)
    check(freed, "L2 did not say what it freed")
    m["freed_mb"] = int(freed.group(1)) // 1024
    return run, m



# What kz_check takes with __GFP_ZERO and checks after skip_zeroing()'s
# timed batches (MiB).
KZ_CHECK_MB = 600
# the halves of skip_zeroing()'s batches, in the order they run: a
# fixed off-then-on order charged the machine's drift to the second mode
HALVES = ("noskip1", "skip1", "skip2", "noskip2")


def _halves(values, mode, suffix):
    """The sum of @mode's halves' @suffix values; -1 if one is missing."""
    got = [values.get(h + suffix) for h in HALVES if h.startswith(mode)]
    return sum(got) if None not in got else -1


def skip_zeroing(ctx, alloc_mb, fill_mb):
    """L2 boots with init_on_alloc=1 and loads vmdense_hyperv: the host's
    boot-zeroed ranges make pages known-zero. Timed with skip_zeroing off
    and on, each in two halves in the order off, on, on, off (HALVES), so
    that a drift of the nested machine over the run falls on both modes
    alike, after untimed batches took the free pages written since boot
    (prime_mb): @alloc_mb MiB of __GFP_ZERO allocations by a test module,
    then @fill_mb MiB of user memory filled by the checker (allocation and
    touch; verified). With it off nothing may be skipped, with it on
    nearly every page. Then, skipping on, a test module takes KZ_CHECK_MB
    page by page with __GFP_ZERO and checks every byte
    (tests/guest/l2/skip_zeroing.sh)."""
    run = run_l2(ctx, "run_to_end.sh", {
        "L2_RUN": "l2/skip_zeroing.sh", "L2_MEM": "1024M",
        "L2_APPEND": "init_on_alloc=1", "STUB_OPTS": "--hyperv",
        "L2_PARAMS": "ALLOC_MB=%d FILL_MB=%d KZ_MB=%d HALVES=%s" % (
            alloc_mb, fill_mb, KZ_CHECK_MB, ",".join(HALVES))},
        timeout=1200, name="skip_zeroing")
    check_loaded(run)
    m = nested_metrics(run)
    hv, st, kz = run.values("L2-HV"), run.values("L2-ST"), run.values("L2-KZ")
    ld, cmp, rc = run.values("L2-LD"), run.values("L2-CMP"), \
        run.values("L2-RC")
    check(rc.get("bad_skip_rc", 0) != 0 and rc.get("skip_after_bad") == 1,
          "skip_zeroing took 2 or changed: %s" % rc)
    # the untimed batches that took the free pages written before
    m["prime_mb"] = cmp.get("prime_mb", -1)
    grab_pages = alloc_mb << 8
    for mode in ("noskip", "skip"):
        m["alloc_%dmb_ms_%s" % (alloc_mb, mode)] = round(
            _halves(cmp, mode, "_alloc_ns") / 1e6, 2)
        m["alloc_skipped_pages_" + mode] = _halves(cmp, mode, "_grab_skipped")
        m["alloc_known_zero_cleared_" + mode] = _halves(cmp, mode,
                                                        "_grab_kz_cleared")
    check(m["alloc_skipped_pages_noskip"] == 0, "skip_zeroing=0 skipped %d "
          "__GFP_ZERO clearings" % m["alloc_skipped_pages_noskip"])
    check(m["alloc_skipped_pages_skip"] >= grab_pages * 9 // 10,
          "skip_zeroing=1 skipped only %d of %d __GFP_ZERO clearings" % (
              m["alloc_skipped_pages_skip"], grab_pages))
    fill_pages = fill_mb << 8
    for mode in ("noskip", "skip"):
        m["fill_%dmb_ms_%s" % (fill_mb, mode)] = _halves(cmp, mode, "_ms")
        m["fill_skipped_pages_" + mode] = _halves(cmp, mode, "_skipped")
        m["fill_known_zero_cleared_" + mode] = _halves(cmp, mode,
                                                       "_kz_cleared")
    check(m["fill_skipped_pages_noskip"] == 0, "skip_zeroing=0 still "
          "skipped %d pages" % m["fill_skipped_pages_noskip"])
    # both modes must get the same kind of pages (host-zeroed, not yet
    # backed) for the times to compare: with skip_zeroing=0 nearly all of
    # them are cleared although known-zero, with 1 none is
    for kind, pages in (("alloc", grab_pages), ("fill", fill_pages)):
        cleared = m[kind + "_known_zero_cleared_noskip"]
        check(cleared >= pages * 9 // 10, "skip_zeroing=0: only %d of the "
              "%d %s pages were known-zero (cleared anyway)" % (
                  cleared, pages, kind))
        check(m[kind + "_known_zero_cleared_skip"] == 0, "skip_zeroing=1 "
              "cleared %d known-zero %s pages" % (
                  m[kind + "_known_zero_cleared_skip"], kind))
    check(m["fill_skipped_pages_skip"] >= fill_pages * 9 // 10,
          "skip_zeroing=1 skipped the clearing of only %d of the %d pages "
          "filled" % (m["fill_skipped_pages_skip"], fill_pages))
    check_gfp_zero(m, kz, pages_min=(KZ_CHECK_MB << 8) // 2)
    for half in HALVES:
        end = re.search(r"^L2-FILL-END %s (.*)" % half, run.l2_console,
                        re.M)
        check(end and "status=ok" in end.group(1), "the checker's %s fill "
              "failed: %s" % (half, end.group(1) if end else "no result"))
    check(hv.get("boot_zeroed_status") == 0, "boot-zeroed memory not used: "
          "%s" % hv.get("boot_zeroed_status"))
    check(hv.get("boot_zeroed_early") == 0, "the query ran during boot "
          "although the command line said vmdense_hyperv_early.boot_zeroed=0")
    m["zeroed_ranges"] = hv.get("zeroed_ranges", 0)
    m["known_zero_pages"] = hv.get("known_zero_pages", 0)
    m["zeroing_skipped_pages_at_load"] = ld.get("zeroing_skipped_pages", 0)
    m["zeroing_skipped_pages"] = st.get("zeroing_skipped_pages", 0)
    m["zeroing_done_pages"] = st.get("zeroing_done_pages", 0)
    check(m["known_zero_pages"] > 0, "no page became known-zero: %s" % hv)
    check(m["zeroing_skipped_pages"] > m["zeroing_skipped_pages_at_load"],
          "no zeroing skipped after the module loaded: %s" % st)
    check(m["zeroing_skipped_pages"] <= m["known_zero_pages"],
          "more pages skipped (%d) than were ever known zero (%d)" % (
              m["zeroing_skipped_pages"], m["known_zero_pages"]))
    return m




def first_touch(ctx, rounds=4, mb=16):
    """L2 (1024 MiB, init_on_alloc=1, vmdense_hyperv loaded) times the
    first touch of fresh user memory (tools/touch_pages, one word per
    page), @rounds times with skip_zeroing off and on alternately, each
    run's @mb MiB held: first on memory the host has not backed, then,
    after a hot hint of all free memory, on memory the host backed and
    mapped for the guest ahead (tests/guest/l2/first_touch.sh). Every
    touched page must read zero. Returns the ms of each run, as a list
    per phase and mode (first_touch_<mb>mb_ms_{unhinted,hinted}_
    {clearing,skipping}), and the stub's hot-hint counters."""
    run = run_l2(ctx, "run_to_end.sh", {
        "L2_RUN": "l2/first_touch.sh", "L2_MEM": "1024M",
        "L2_APPEND": "init_on_alloc=1", "STUB_OPTS": "--hyperv",
        "L2_PARAMS": "MB=%d ROUNDS=%d" % (mb, rounds)}, timeout=1200,
        name="first_touch")
    check_loaded(run)
    m = nested_metrics(run)
    runs = re.findall(r"^L2-TOUCH (\w+)_(\d+) pages=(\d+) ns=(\d+) "
                      r"nonzero_words=(\d+) skipped=(-?\d+)", run.l2_console,
                      re.M)
    check(len(runs) == 4 * rounds, "%d of %d first-touch runs reported" % (
        len(runs), 4 * rounds))
    pages = mb << 8
    for name, i, n, ns, nonzero, skipped in runs:
        check(int(n) == pages and int(nonzero) == 0, "%s run %s: %s pages, "
              "%s words not zero" % (name, i, n, nonzero))
        # the clearing runs skip nothing; skipping ones most pages (pages
        # freed since boot, kept on per-CPU lists, come first)
        want = int(skipped) >= pages * 3 // 4 if "skipping" in name \
            else int(skipped) == 0
        check(want, "%s run %s skipped %s of %d pages" % (name, i, skipped,
                                                          pages))
        m.setdefault("first_touch_%dmb_ms_%s" % (mb, name), []).append(
            round(int(ns) / 1e6, 1))
    m["hot_pages"] = run.values("L2-HV").get("hot_pages", 0)
    check(m.get("stub_hot_pages_mapped", 0) > 0, "the stub mapped none of "
          "the %s hot-hinted pages for the guest" % m.get("stub_hot_pages"))
    return m


def boot_times(ctx, ways, boots=3):
    """L2 (1 GiB, Hyper-V CPUID, the full initramfs) booted @boots times in
    each of @ways ((name, kernel parameters), ...), taking turns in one
    L1 after a warm-up boot (tests/guest/l1/boot_times.sh). Returns
    {name: [seconds to user space...], "<name>_unpack": [seconds of the
    initramfs unpack...], "<name>_skipped": [clearings skipped by user
    space...], "rounds": {round: {name: seconds}}}; an L2 that did not
    come up is left out."""
    run = run_l2(ctx, "boot_times.sh", {
        "BOOTS": boots, "WAYS": ";".join("%s:%s" % w for w in ways)},
        timeout=2400, name="boot_times")
    res, rounds = {}, {}
    for name, rnd, secs, skipped, unpack in re.findall(
            r"^BOOT (\w+) (-?\d+) userspace up after ([\d.]+)"
            r"(?: L2-BT skipped=(\d+))?(?: unpack=([\d.]+))?", run.output,
            re.M):
        if name == "warmup":
            continue
        res.setdefault(name, []).append(float(secs))
        if unpack:
            res.setdefault(name + "_unpack", []).append(float(unpack))
        if skipped:
            res.setdefault(name + "_skipped", []).append(int(skipped))
        rounds.setdefault(rnd, {})[name] = float(secs)
    res["rounds"] = rounds
    return res
