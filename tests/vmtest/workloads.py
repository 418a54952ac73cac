# SPDX-License-Identifier: GPL-2.0
"""Workloads that the scenarios (tests/suites) and the benchmarks (bench/)
both run: plugging and unplugging memory, and memory freed and given
back, in a guest the caller booted. Each checks what makes its figures
meaningful and returns them.

Public names: plug_unplug(), unplug_under_load(), balloon_return(),
free_path_cost(), KINDS.
"""
import re
import statistics
import time

from .guests import (GiB, MiB, HostSampler, load_module, measure_return,
                     meminfo, start_holder, stop_holder)
from .harness import check


def plug_unplug(ctx, vm, module, driver_dir):
    """Plug 1 GiB, touch it, unplug it with @module; returns the metrics
    (the baseline runs it with the kernel's virtio_mem)."""
    load_module(vm, module, driver_dir)
    total0 = meminfo(vm)["MemTotal"]
    before = HostSampler(vm).until_stable(2, 20)
    t0 = time.monotonic()
    vm.vmem_set_requested(GiB)
    vm.wait_for(lambda: vm.vmem_props()["size"] == GiB,
                "the device to report 1 GiB plugged", 120, 0.02)
    plug_s = time.monotonic() - t0
    # the device says plugged before the last block is online
    try:
        vm.wait_for(lambda: meminfo(vm)["MemTotal"] - total0 == GiB // 1024,
                    "MemTotal to grow by 1 GiB", 20, 0.1)
    finally:
        total1 = meminfo(vm)["MemTotal"]
    check(total1 - total0 == GiB // 1024, "MemTotal grew by %d kB after "
          "plugging 1 GiB, not %d" % (total1 - total0, GiB // 1024))
    # use the memory, so that unplugging has something to give back
    hold_mb = meminfo(vm)["MemAvailable"] // 1024 - 300
    start_holder(vm, hold_mb)
    plugged = vm.host_mb()
    stop_holder(vm)
    t0 = time.monotonic()
    vm.vmem_set_requested(0)
    vm.wait_for(lambda: vm.vmem_props()["size"] == 0,
                "the device to report 0 plugged", 300, 0.02)
    unplug_s = time.monotonic() - t0
    total2 = meminfo(vm)["MemTotal"]
    check(total2 == total0, "MemTotal %d kB after unplugging all, %d kB "
          "before plugging" % (total2, total0))
    after = HostSampler(vm).until_stable(2, 20)
    ctx.log("%s: plugged 1 GiB in %.2f s, unplugged in %.2f s; host memory "
            "%.0f -> %.0f -> %.0f MiB" % (module, plug_s, unplug_s, before,
                                          plugged, after))
    check(plugged - after >= 900, "unplugging 1 GiB gave back only %.0f "
          "MiB to the host" % (plugged - after))
    vm.sh("rmmod %s" % module)
    return {"plug_seconds": round(plug_s, 3),
            "unplug_seconds": round(unplug_s, 3),
            "host_mb_before": round(before, 1),
            "host_mb_plugged": round(plugged, 1),
            "host_mb_after": round(after, 1),
            "touched_mb": hold_mb, "accel": vm.accel_used}



def unplug_under_load(ctx, vm, module, driver_dir, window_s=60):
    """Plug 1 GiB, load the guest with stress-ng (1200 MiB kept mapped by
    two workers), ask for 0: how much came out within window_s, and how
    much could have (MemFree less the driver's reserve when the request
    came: the rest is in use), and the OOM kills it took. Returns a dict
    of metrics."""
    console0 = len(vm.serial())
    load_module(vm, module, driver_dir)
    # if memory runs out, the OOM killer must pick the load, not the
    # agent that serves this test
    vm.sh("echo -1000 > /proc/$PPID/oom_score_adj")
    vm.vmem_set_requested(GiB)
    vm.wait_for(lambda: vm.vmem_props()["size"] == GiB, "1 GiB plugged",
                120, 0.05)
    vm.sh("stress-ng --vm 2 --vm-bytes 1200M --vm-keep --timeout 900 "
          ">/tmp/stress.out 2>&1 &\necho $! >/tmp/stress.pid")
    # let the workers map and touch their memory
    vm.wait_for(lambda: meminfo(vm)["MemFree"] < 900 * 1024,
                "stress-ng to take its memory", 120, 0.5)
    time.sleep(3)
    reserve = int(vm.sh("cat /sys/bus/virtio/devices/virtio*/vmdense/"
                        "unplug_reserve_mb 2>/dev/null || echo 0"))
    free_mb = meminfo(vm)["MemFree"] // 1024
    t0 = time.monotonic()
    vm.vmem_set_requested(0)
    last, last_t = GiB, 0.0
    while True:
        now = time.monotonic() - t0
        size = vm.vmem_props()["size"]
        if size != last:
            last, last_t = size, now
        if size == 0 or now > window_s or (now - last_t > 15 and now > 20):
            break
        time.sleep(0.2)
    unplugged_mb = (GiB - last) / MiB
    vm.sh("kill $(cat /tmp/stress.pid); sleep 1; true")
    rest_s = None
    if last:
        # without the load, what is left must come out as well
        rest_s = vm.wait_for(lambda: vm.vmem_props()["size"] == 0,
                             "the rest to be unplugged after the load",
                             180, 0.2)
    ooms = vm.serial()[console0:].count("invoked oom-killer")
    vm.sh("rmmod %s" % module)
    return {"unplugged_mb": round(unplugged_mb, 1),
            "requested_unplug_mb": 1024, "seconds": round(last_t, 2),
            "rest_seconds": round(rest_s, 2) if rest_s is not None else 0,
            "memfree_mb_at_request": free_mb, "reserve_mb": reserve,
            "oom_kills": ooms}


def balloon_return(ctx, vm, module, driver_dir, alloc_mb, load=None):
    """@module reports free memory; the guest allocates, touches and frees
    @alloc_mb: how much host memory comes back, how fast. Returns the
    metrics (the baseline and the Debian 6.1 runs use it too; @load(vm)
    loads the driver where modprobe cannot)."""
    (load or (lambda v: load_module(v, module, driver_dir)))(vm)
    start_holder(vm, alloc_mb)
    held = HostSampler(vm).until_stable(1, 10)
    free_held = meminfo(vm)["MemFree"]
    stop_holder(vm)
    freed_mb, returned, secs, final = measure_return(ctx, vm, held,
                                                     free_held)
    ctx.log("%s: freed %.0f MiB; host memory %.0f -> %.0f MiB: %.0f MiB "
            "returned, 95 %% of it after %.1f s" % (
                module, freed_mb, held, final, returned, secs))
    check(freed_mb >= 0.9 * alloc_mb, "the guest freed %.0f MiB of the %d "
          "MiB it held" % (freed_mb, alloc_mb))
    check(returned >= 0.5 * freed_mb, "only %.0f of %.0f MiB freed came "
          "back to the host" % (returned, freed_mb))
    return {"freed_mb": round(freed_mb, 1), "returned_mb": round(returned, 1),
            "return_seconds": round(secs, 2), "host_mb_held": round(held, 1),
            "host_mb_final": round(final, 1), "accel": vm.accel_used}


# the kinds of frees free_path_cost() times
KINDS = ("blocks", "pages", "small_blocks")


def free_path_cost(ctx, vm, driver, pairs, blocks=32, pages=8192,
                   small=256):
    """What @driver's reporting (vmdense_balloon: mm/hinting's capture;
    virtio_balloon: the kernel's page_reporting) adds to the allocator's
    free path: @pairs pairs of runs with reporting on and off in turns,
    each timing the frees of @blocks blocks of the largest order, of
    @pages single pages and of @small blocks of order 4, each of which
    qualifies (KINDS; tests/guest/bench/capture_cost.sh). Checks that every run completed and, for
    mm/hinting, that each block freed with capture on was captured and
    nothing was with it off. Returns per kind: the per-free nanoseconds
    of each pair on and off
    ("on_ns", "off_ns" lists), the paired ratios on/off ("ratio") and
    differences ("added_ns"; for small_blocks per free the hook saw,
    "added_ns_per_capture"), with their medians; and "captured_on",
    "captured_off", "dropped_on" (stats/captured and stats/dropped growth,
    summed)."""
    other = "virtio_balloon" if driver == "vmdense_balloon" \
        else "vmdense_balloon"
    # the other driver gone: the two exclude each other
    vm.sh("! grep -q '^%s ' /proc/modules || rmmod %s" % (other, other))
    out = vm.sh("DRIVER=%s sh /vmdense/bench/capture_cost.sh %d %d %d %d"
                % (driver, pairs, blocks, pages, small),
                timeout=max(60, pairs * 30))
    end = re.search(r"^CAPTURE-END status=(\S+)", out, re.M)
    check(end and end.group(1) == "ok", "the free-path timing ended with "
          "%s" % (end.group(0) if end else "no end line:\n" + out[-1500:]))
    res = {}
    for kind, pair, n, on, off, con, coff, don, _ in re.findall(
            r"^CAPTURE kind=(\w+) pair=(\d+) n=(\d+) "
            r"on_ns=(-?\d+) off_ns=(-?\d+) captured_on=(-?\d+) "
            r"captured_off=(-?\d+) dropped_on=(-?\d+) dropped_off=(-?\d+)",
            out, re.M):
        n, on, off = int(n), int(on), int(off)
        check(on > 0 and off > 0, "%s pair %s: a run did not complete "
              "(%d, %d ns)" % (kind, pair, on, off))
        r = res.setdefault(kind, {"on_ns": [], "off_ns": [], "ratio": [],
                                  "added_ns": [], "captured_on": 0,
                                  "captured_off": 0, "dropped_on": 0,
                                  "n": n})
        r["on_ns"].append(on / n)
        r["off_ns"].append(off / n)
        r["ratio"].append(on / off)
        r["added_ns"].append((on - off) / n)
        if kind == "small_blocks" and int(con) + int(don) > 0:
            # every free met the hook
            r.setdefault("added_ns_per_capture", []).append(
                (on - off) / (int(con) + int(don)))
        r["captured_on"] += int(con)
        r["captured_off"] += int(coff)
        r["dropped_on"] += int(don)
        if driver == "vmdense_balloon" and kind != "pages":
            # each free is recorded, or dropped for want of room
            check(int(con) + int(don) >= n, "pair %s: of %d %s freed "
                  "with capture on %s were captured, %s dropped" % (
                      pair, n, kind, con, don))
            # (dropped may grow meanwhile: the worker drops what its
            # buffer cannot take as it drains the arrays)
            check(int(coff) == 0, "pair %s: %s %s captured with "
                  "hinting disabled" % (pair, coff, kind))
    for kind in KINDS:
        check(len(res.get(kind, {}).get("ratio", [])) == pairs,
              "%d of %d %s pairs reported" % (
                  len(res.get(kind, {}).get("ratio", [])), pairs, kind))
        r = res[kind]
        r["ratio_median"] = statistics.median(r["ratio"])
        r["added_ns_median"] = statistics.median(r["added_ns"])
    ctx.log("%s: a block free %.0f ns on, %.0f ns off (medians; paired "
            "ratio %.3f); a page free %.0f / %.0f ns (ratio %.3f), with "
            "a 64 KiB block (each qualifying) %.0f / %.0f ns (ratio %.3f)"
            % (
                driver, statistics.median(res["blocks"]["on_ns"]),
                statistics.median(res["blocks"]["off_ns"]),
                res["blocks"]["ratio_median"],
                statistics.median(res["pages"]["on_ns"]),
                statistics.median(res["pages"]["off_ns"]),
                res["pages"]["ratio_median"],
                statistics.median(res["small_blocks"]["on_ns"]),
                statistics.median(res["small_blocks"]["off_ns"]),
                res["small_blocks"]["ratio_median"]))
    return res
