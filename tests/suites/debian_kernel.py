# SPDX-License-Identifier: GPL-2.0
"""Debian 12's own 6.1 kernel for guests: the linux-image .deb of the
installed 6.1 headers' ABI (scripts/install-deps downloads it into
out/debian-6.1; it is unpacked here, never installed) and an initramfs
addition with the virtio modules our external builds need, decompressed,
plus our module, loaded in dependency order by load()."""
import glob
import lzma
import os
import subprocess

from vmtest.harness import OUT, check

DEB_DIR = os.path.join(OUT, "debian-6.1")
MODDIR = "lib/modules-6.1"	# in the guest; the base initramfs has 6.12's


def headers():
    """(headers directory, ABI) of the newest installed 6.1 headers."""
    dirs = sorted(glob.glob("/usr/src/linux-headers-6.1.*-amd64"))
    check(dirs, "Debian 12's 6.1 headers are not installed "
          "(linux-headers-amd64; run scripts/install-deps)")
    return dirs[-1], os.path.basename(dirs[-1])[len("linux-headers-"):]


def unpacked(abi):
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


def modules_archive(root, abi, kernel_modules, ours=None):
    """Extra initramfs files: `kernel_modules` of the image and what they
    need, decompressed (the image's are .ko.xz, which busybox insmod
    cannot read), then our module file `ours`, and the load order."""
    mdir, order = _load_order(root, abi, kernel_modules)
    files, names = {}, []
    for path in order:
        with open(os.path.join(mdir, path), "rb") as f:
            data = f.read()
        if path.endswith(".xz"):
            data = lzma.decompress(data)
        name = os.path.basename(path).split(".ko")[0] + ".ko"
        files["%s/%s" % (MODDIR, name)] = (0o644, data)
        names.append(name)
    if ours:
        name = os.path.basename(ours)
        with open(ours, "rb") as f:
            files["%s/%s" % (MODDIR, name)] = (0o644, f.read())
        names.append(name)
    files["%s/order" % MODDIR] = (0o644, ("\n".join(names) + "\n").encode())
    return files


def load(vm, abi, driver_dir):
    """In a guest booted with modules_archive(): check it runs Debian's
    kernel, insmod the modules in order, wait for driver_dir to bind."""
    rel = vm.sh("uname -r").strip()
    check(rel == abi, "the guest runs %r, not Debian's %s" % (rel, abi))
    vm.sh("cd /%s && for m in $(cat order); do insmod $m || exit 1; done"
          % MODDIR)
    vm.wait_for(lambda: vm.run("ls %s | grep -q '^virtio'" % driver_dir,
                               check=False)[0] == 0,
                "%s to bind the device" % driver_dir, 60, 0.3)
