# SPDX-License-Identifier: GPL-2.0
"""vmdense_virtio_mem built against Debian 12's 6.1 headers and loaded on
Debian's own 6.1 kernel (suites/debian_kernel.py), side by side with that
kernel's own virtio_mem: the external build is not only compiled but runs
where users would load it."""
import os
import time

import vmdense_vm as vmmod
from harness import OUT, ROOT, check, test
from suites import debian_kernel as deb
from suites.guest import (MiB, check_serial_clean, meminfo, start_holder,
                          stop_holder)
from suites.virtio_mem import OURS, UPSTREAM, _external_build, _Prefixed


def _run(ctx, kernel, abi, files, driver_dir):
    """Boot Debian's kernel with 1 GiB RAM and a 1 GiB virtio-mem device,
    load the modules, plug 512 MiB, fill it, unplug it: exact sizes."""
    with vmmod.VM(mem="1G", vmem="1G", vmem_block="2M", kernel=kernel,
                  extra_files=files, timeout=600,
                  log=ctx.path("serial.log")) as vm:
        deb.load(vm, abi, driver_dir)
        total0 = meminfo(vm)["MemTotal"]
        t0 = time.monotonic()
        vm.vmem_set_requested(512 * MiB)
        vm.wait_for(lambda: vm.vmem_props()["size"] == 512 * MiB,
                    "512 MiB plugged", 120, 0.05)
        plug_s = time.monotonic() - t0
        vm.wait_for(lambda: meminfo(vm)["MemTotal"] - total0 == 512 * 1024,
                    "MemTotal to grow by 512 MiB", 20, 0.1)
        # data in the plugged memory, checked by the integrity checker
        start_holder(vm, meminfo(vm)["MemAvailable"] // 1024 - 300)
        stop_holder(vm)
        t0 = time.monotonic()
        vm.vmem_set_requested(0)
        vm.wait_for(lambda: vm.vmem_props()["size"] == 0, "0 plugged", 300,
                    0.05)
        unplug_s = time.monotonic() - t0
        try:
            vm.wait_for(lambda: meminfo(vm)["MemTotal"] == total0,
                        "MemTotal back at its size", 60, 0.2)
        except vmmod.VMError:
            check(False, "MemTotal %d kB after unplugging all, %d kB "
                  "before plugging" % (meminfo(vm)["MemTotal"], total0))
    check_serial_clean(ctx.path("serial.log"))
    ctx.log("%s on %s: plugged 512 MiB in %.2f s, unplugged in %.2f s" % (
        os.path.basename(driver_dir), abi, plug_s, unplug_s))
    return plug_s, unplug_s


@test("virtio_mem.debian_6_1", suite="virtio_mem")
def debian_6_1(ctx):
    """Our module built against Debian 12's 6.1 headers, on Debian's 6.1
    kernel: binds QEMU's virtio-mem-pci, plugs and unplugs 512 MiB exactly
    with data in it; then the same with that kernel's own virtio_mem."""
    kdir, abi = deb.headers()
    root, kernel = deb.unpacked(abi)
    ko = os.path.join(OUT, "ext-virtio_mem-6.1", "vmdense_virtio_mem.ko")
    if deb.stale(ko, os.path.join(ROOT, "drivers", "virtio_mem")):
        _external_build(ctx, kdir, "6.1")
    plug, unplug = _run(ctx, kernel, abi, deb.modules_archive(
        root, abi, ["virtio_pci"], ko), OURS[1])
    up_plug, up_unplug = _run(_Prefixed(ctx, "upstream-"), kernel, abi,
                              deb.modules_archive(
                                  root, abi, ["virtio_pci", "virtio_mem"]),
                              UPSTREAM[1])
    return {"kernel": abi, "plug_seconds": round(plug, 3),
            "unplug_seconds": round(unplug, 3),
            "upstream_plug_seconds": round(up_plug, 3),
            "upstream_unplug_seconds": round(up_unplug, 3)}
