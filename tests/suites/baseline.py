# SPDX-License-Identifier: GPL-2.0
"""Baselines: the kernel's own virtio_mem and virtio_balloon (free page
reporting) against QEMU's real devices. Kept for good as the side-by-side
anchors of vmdense's drivers; names and metric keys are a contract."""
import time

import vmdense_vm as vmmod
from harness import check, test
from suites.guest import (MiB, HostSampler, check_serial_clean,
                          load_module, measure_return, meminfo, start_holder,
                          stop_holder)

GiB = 1 << 30


def virtio_mem_plug_unplug(ctx, module, driver_dir):
    """Shared by the baseline and, later, vmdense's own driver: 1 GiB boot
    RAM, 2 GiB virtio-mem device with 2 MiB blocks; plug 1 GiB, touch it,
    unplug it. Returns the metrics."""
    with vmmod.VM(mem="1G", vmem="2G", vmem_block="2M", timeout=900,
                  log=ctx.path("serial.log")) as vm:
        ctx.log("booted (%s); loading %s" % (vm.accel_used, module))
        load_module(vm, module, driver_dir)
        total0 = meminfo(vm)["MemTotal"]
        before = HostSampler(vm).until_stable(2, 20)

        t0 = time.monotonic()
        vm.vmem_set_requested(GiB)
        vm.wait_for(lambda: vm.vmem_props()["size"] == GiB,
                    "the device to report 1 GiB plugged", 120, 0.02)
        plug_s = time.monotonic() - t0
        total1 = meminfo(vm)["MemTotal"]
        check(total1 - total0 == GiB // 1024,
              "MemTotal grew by %d kB after plugging 1 GiB, not %d" % (
                  total1 - total0, GiB // 1024))
        ctx.log("plugged 1 GiB in %.2f s" % plug_s)

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
        check(total2 == total0, "MemTotal %d kB after unplugging all, "
              "%d kB before plugging" % (total2, total0))
        after = HostSampler(vm).until_stable(2, 20)
        ctx.log("unplugged 1 GiB in %.2f s; host memory %.0f -> %.0f -> "
                "%.0f MiB" % (unplug_s, before, plugged, after))
        check(plugged - after >= 900, "unplugging 1 GiB gave back only "
              "%.0f MiB to the host" % (plugged - after))
        check_serial_clean(ctx.path("serial.log"))
        return {"plug_seconds": round(plug_s, 3),
                "unplug_seconds": round(unplug_s, 3),
                "host_mb_before": round(before, 1),
                "host_mb_plugged": round(plugged, 1),
                "host_mb_after": round(after, 1),
                "touched_mb": hold_mb, "accel": vm.accel_used}


def balloon_return(ctx, module, driver_dir, alloc_mb=1200, cmdline="",
                   kernel=vmmod.KERNEL, extra_files=None, load=None):
    """Shared by the baseline and vmdense's balloon: a 2 GiB guest
    allocates, touches and frees alloc_mb; how much host memory comes back,
    how fast. Returns the metrics. A guest of another kernel brings its
    modules in extra_files and loads them with load(vm)."""
    with vmmod.VM(mem="2G", balloon=True, timeout=900, cmdline=cmdline,
                  kernel=kernel, extra_files=extra_files,
                  log=ctx.path("serial.log")) as vm:
        ctx.log("booted (%s); loading %s" % (vm.accel_used, module))
        if load:
            load(vm)
        else:
            load_module(vm, module, driver_dir)
        start_holder(vm, alloc_mb)
        held = HostSampler(vm).until_stable(1, 10)
        free_held = meminfo(vm)["MemFree"]
        stop_holder(vm)
        freed_mb, returned, secs, final = measure_return(ctx, vm, held,
                                                         free_held)
        ctx.log("freed %.0f MiB; host memory %.0f -> %.0f MiB: %.0f MiB "
                "returned, 95 %% of it after %.1f s" % (
                    freed_mb, held, final, returned, secs))
        check(freed_mb >= 0.9 * alloc_mb, "the guest freed %.0f MiB of "
              "the %d MiB it held" % (freed_mb, alloc_mb))
        check(returned >= 0.5 * freed_mb, "only %.0f of %.0f MiB freed "
              "came back to the host" % (returned, freed_mb))
        check_serial_clean(ctx.path("serial.log"))
        return {"freed_mb": round(freed_mb, 1),
                "returned_mb": round(returned, 1),
                "return_seconds": round(secs, 2),
                "host_mb_held": round(held, 1),
                "host_mb_final": round(final, 1), "accel": vm.accel_used}


@test("baseline.virtio_mem.plug_unplug", suite="baseline")
def baseline_virtio_mem(ctx):
    """The kernel's virtio_mem: plug and unplug 1 GiB."""
    return virtio_mem_plug_unplug(ctx, "virtio_mem",
                                  "/sys/bus/virtio/drivers/virtio_mem")


@test("baseline.balloon.free_page_reporting", suite="baseline")
def baseline_balloon(ctx):
    """The kernel's virtio_balloon with page_reporting: 1200 MiB freed."""
    return balloon_return(ctx, "virtio_balloon",
                          "/sys/bus/virtio/drivers/virtio_balloon")
