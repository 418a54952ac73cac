# SPDX-License-Identifier: GPL-2.0
"""Workloads that the scenarios (tests/suites) and the benchmarks (bench/)
both run: plugging and unplugging memory, and memory freed and given
back, in a guest the caller booted. Each checks what makes its figures
meaningful and returns them.

Public names: plug_unplug(), unplug_under_load(), balloon_return().
"""
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



def unplug_under_load(ctx, vm, guest, module, driver_dir, window_s=60):
    """Plug 1 GiB, load the guest with stress-ng (1200 MiB kept mapped by
    two workers), ask for 0: how much came out within window_s, and how
    much could have (MemFree less the driver's reserve when the request
    came: the rest is in use). @guest (a PlainGuest, or None) counts the
    OOM kills in its console. Returns a dict of metrics."""
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
    ooms = guest.console().count("invoked oom-killer") if guest else 0
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
