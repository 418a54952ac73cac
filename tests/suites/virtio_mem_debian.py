# SPDX-License-Identifier: GPL-2.0
"""vmdense_virtio_mem built against Debian 12's 6.1 headers and loaded on
Debian's own 6.1 kernel (the linux-image .deb of the headers' ABI, which
scripts/install-deps downloads and which is unpacked here, never
installed), side by side with that kernel's own virtio_mem: the external
build is not only compiled but runs where users would load it."""
import glob
import lzma
import os
import subprocess
import time

import vmdense_vm as vmmod
from harness import OUT, ROOT, check, test
from suites.guest import (MiB, check_serial_clean, meminfo, start_holder,
                          stop_holder)
from suites.virtio_mem import OURS, UPSTREAM, _external_build, _Prefixed

DEB_DIR = os.path.join(OUT, "debian-6.1")
MODDIR = "lib/modules-6.1"	# in the guest; the base initramfs has 6.12's


def _headers():
    dirs = sorted(glob.glob("/usr/src/linux-headers-6.1.*-amd64"))
    check(dirs, "Debian 12's 6.1 headers are not installed "
          "(linux-headers-amd64; run scripts/install-deps)")
    return dirs[-1], os.path.basename(dirs[-1])[len("linux-headers-"):]


def _unpacked(abi):
    """The .deb unpacked once under out/debian-6.1/root."""
    debs = glob.glob(os.path.join(DEB_DIR, "linux-image-%s_*.deb" % abi))
    check(debs, "no linux-image-%s .deb in %s: run scripts/install-deps"
          % (abi, DEB_DIR))
    root = os.path.join(DEB_DIR, "root")
    kernel = os.path.join(root, "boot", "vmlinuz-" + abi)
    if not os.path.exists(kernel):
        res = subprocess.run(["dpkg-deb", "-x", debs[0], root],
                             capture_output=True, text=True, timeout=300)
        check(res.returncode == 0, "dpkg-deb -x %s failed: %s" % (
            debs[0], res.stderr[-500:]))
    # the package leaves modules.dep to depmod at install time
    if not os.path.exists(os.path.join(root, "lib", "modules", abi,
                                       "modules.dep")):
        res = subprocess.run(["depmod", "-b", root, abi],
                             capture_output=True, text=True, timeout=300)
        check(res.returncode == 0, "depmod -b %s %s failed: %s" % (
            root, abi, res.stderr[-500:]))
    return root, kernel


def _load_order(root, abi, names):
    """Module files (relative to the modules dir) for `names` and what they
    need, each after its dependencies, from the image's modules.dep."""
    mdir = os.path.join(root, "lib", "modules", abi)
    deps = {}
    with open(os.path.join(mdir, "modules.dep")) as f:
        for line in f:
            path, _, rest = line.partition(":")
            deps[path] = rest.split()
    by_name = {os.path.basename(p).split(".ko")[0].replace("-", "_"): p
               for p in deps}
    order = []

    def visit(path):
        if path in order:
            return
        for d in deps[path]:
            visit(d)
        order.append(path)
    for n in names:
        check(n in by_name, "%s is not a module of %s" % (n, abi))
        visit(by_name[n])
    return mdir, order


def _modules_archive(root, abi, ko, with_ours):
    """Extra initramfs files: the modules decompressed, in load order,
    and the list to load (the image's modules are .ko.xz, which busybox
    insmod cannot read)."""
    wanted = ["virtio_pci"] + ([] if with_ours else ["virtio_mem"])
    mdir, order = _load_order(root, abi, wanted)
    files, names = {}, []
    for path in order:
        with open(os.path.join(mdir, path), "rb") as f:
            data = f.read()
        if path.endswith(".xz"):
            data = lzma.decompress(data)
        name = os.path.basename(path).split(".ko")[0] + ".ko"
        files["%s/%s" % (MODDIR, name)] = (0o644, data)
        names.append(name)
    if with_ours:
        with open(ko, "rb") as f:
            files["%s/vmdense_virtio_mem.ko" % MODDIR] = (0o644, f.read())
        names.append("vmdense_virtio_mem.ko")
    files["%s/order" % MODDIR] = (0o644, ("\n".join(names) + "\n").encode())
    return files


def _run(ctx, kernel, abi, files, driver_dir):
    """Boot Debian's kernel with 1 GiB RAM and a 1 GiB virtio-mem device,
    load the modules, plug 512 MiB, fill it, unplug it: exact sizes."""
    with vmmod.VM(mem="1G", vmem="1G", vmem_block="2M", kernel=kernel,
                  extra_files=files, timeout=600,
                  log=ctx.path("serial.log")) as vm:
        rel = vm.sh("uname -r").strip()
        check(rel == abi, "the guest runs %r, not Debian's %s" % (rel, abi))
        vm.sh("cd /%s && for m in $(cat order); do insmod $m || exit 1; "
              "done" % MODDIR)
        vm.wait_for(lambda: vm.run("ls %s | grep -q '^virtio'" % driver_dir,
                                   check=False)[0] == 0,
                    "%s to bind the device" % driver_dir, 60, 0.3)
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
    kdir, abi = _headers()
    root, kernel = _unpacked(abi)
    ko = os.path.join(OUT, "ext-virtio_mem-6.1", "vmdense_virtio_mem.ko")
    src = glob.glob(os.path.join(ROOT, "drivers", "virtio_mem", "*.[ch]"))
    if not os.path.exists(ko) or \
            os.path.getmtime(ko) < max(os.path.getmtime(f) for f in src):
        _external_build(ctx, kdir, "6.1")
    plug, unplug = _run(ctx, kernel, abi,
                        _modules_archive(root, abi, ko, True), OURS[1])
    up_plug, up_unplug = _run(_Prefixed(ctx, "upstream-"), kernel, abi,
                              _modules_archive(root, abi, ko, False),
                              UPSTREAM[1])
    return {"kernel": abi, "plug_seconds": round(plug, 3),
            "unplug_seconds": round(unplug, 3),
            "upstream_plug_seconds": round(up_plug, 3),
            "upstream_unplug_seconds": round(up_unplug, 3)}
