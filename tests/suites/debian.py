# SPDX-License-Identifier: GPL-2.0
"""Our drivers built against Debian 12's 6.1 headers and loaded on Debian's
own 6.1 kernel (suites/debian_kernel.py), side by side with that kernel's
drivers (make test-full): the external builds are not only compiled
(build.virtio_mem.external_6_1, hinting.external_build in make test) but
run where users would load them."""
import os
import time

import vmdense_vm as vmmod
from vmtest.console import check_clean
from vmtest.guests import MiB, meminfo, start_holder, stop_holder
from vmtest.harness import check, test

from suites import debian_kernel as deb
from vmtest.workloads import balloon_return

from suites.hinting import OURS as BALLOON, UPSTREAM as BALLOON_UP
from suites.host import _external_build, headers_6_1
from suites.virtio_mem import OURS as VMEM, UPSTREAM as VMEM_UP


def _guest(ctx, tag, kernel, files, **opts):
    return vmmod.VM(kernel=kernel, extra_files=files, timeout=600,
                    log=ctx.path("serial-%s.log" % tag), **opts)


def _check_console(ctx, tag):
    with open(ctx.path("serial-%s.log" % tag), errors="replace") as f:
        check_clean(f.read(), ctx.path("serial-%s.log" % tag))


@test("hinting.debian_6_1", suite="hinting", tier="full", limit=900)
def hinting_debian_6_1(ctx):
    """Ours on Debian's 6.1 kernel (on page_reporting) returns what the
    guest freed, as the kernel's virtio_balloon does on the same kernel:
    1200 MiB freed."""
    kdir = headers_6_1()
    abi = os.path.basename(kdir)[len("linux-headers-"):]
    root, kernel = deb.unpacked(abi)
    ko = _external_build(ctx, kdir, "drivers/virtio_balloon_hinting", "6.1",
                         "vmdense_balloon")
    runs = {}
    for (module, driver_dir), mods, ours in (
            (BALLOON, ["virtio_pci"], ko),
            (BALLOON_UP, ["virtio_pci", "virtio_balloon"], None)):
        with _guest(ctx, module, kernel, deb.modules_archive(
                root, abi, mods, ours), mem="2G", balloon=True) as vm:
            runs[module] = balloon_return(
                ctx, vm, module, driver_dir, 1200,
                load=lambda v, d=driver_dir: deb.load(v, abi, d))
        _check_console(ctx, module)
    m, up = runs[BALLOON[0]], runs[BALLOON_UP[0]]
    return {"kernel": abi, "freed_mb": m["freed_mb"],
            "returned_mb": m["returned_mb"],
            "return_seconds": m["return_seconds"],
            "upstream_returned_mb": up["returned_mb"],
            "upstream_return_seconds": up["return_seconds"]}


def _vmem_run(ctx, tag, kernel, abi, files, driver_dir):
    """Boot Debian's kernel with 1 GiB RAM and a 1 GiB virtio-mem device,
    load the modules, plug 512 MiB, fill it, unplug it: exact sizes."""
    with _guest(ctx, tag, kernel, files, mem="1G", vmem="1G",
                vmem_block="2M") as vm:
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
    _check_console(ctx, tag)
    ctx.log("%s on %s: plugged 512 MiB in %.2f s, unplugged in %.2f s" % (
        tag, abi, plug_s, unplug_s))
    return plug_s, unplug_s


@test("virtio_mem.debian_6_1", suite="virtio_mem", tier="full", limit=900)
def virtio_mem_debian_6_1(ctx):
    """Our module built against Debian 12's 6.1 headers, on Debian's 6.1
    kernel: binds QEMU's virtio-mem-pci, plugs and unplugs 512 MiB exactly
    with data in it; then the same with that kernel's own virtio_mem."""
    kdir = headers_6_1()
    abi = os.path.basename(kdir)[len("linux-headers-"):]
    root, kernel = deb.unpacked(abi)
    ko = _external_build(ctx, kdir, "drivers/virtio_mem", "6.1",
                         "vmdense_virtio_mem")
    plug, unplug = _vmem_run(ctx, "ours", kernel, abi, deb.modules_archive(
        root, abi, ["virtio_pci"], ko), VMEM[1])
    up_plug, up_unplug = _vmem_run(ctx, "upstream", kernel, abi,
                                   deb.modules_archive(
                                       root, abi, ["virtio_pci",
                                                   "virtio_mem"]),
                                   VMEM_UP[1])
    return {"kernel": abi, "plug_seconds": round(plug, 3),
            "unplug_seconds": round(unplug, 3),
            "upstream_plug_seconds": round(up_plug, 3),
            "upstream_unplug_seconds": round(up_unplug, 3)}

