# SPDX-License-Identifier: GPL-2.0
"""The packages as users deploy them (README.md, "Packages and
deployment"): the DKMS package of our two loadable drivers on Debian 12's
stock kernel, and the linux-image package of make deb, each in a real
Debian 12 guest with systemd. Names and metric keys are a contract.

- build.dkms (make test): the quickest check, on the host: the package
  builds with dkms against the installed 6.1 headers; modinfo shows the
  device aliases and the parameters with descriptions, and the package's
  modprobe configuration makes those aliases load vmdense's modules
  alone, as udev's autoloading would.
- deploy.* (make deploy only: the kernel package takes hours): a debootstrapped Debian 12
  image (scripts/build-deploy-image, cached under out/deploy) boots under
  QEMU with its own kernel and initramfs; the packages and the guest
  scripts (tests/guest/deploy) come on a second disk, mounted at
  /vmdense. Each scenario installs with apt, writes knobs into
  /etc/vmdense/knobs.conf, has the guest reboot itself (QEMU runs with
  -no-reboot, so the reboot ends QEMU and the test starts it again on the
  same disk: a power cycle), and then checks what came up by itself:
  the drivers by modalias, the knobs from the configuration, and the
  free-and-return and plug/unplug stories against QEMU's devices.
"""
import glob
import os
import re
import shutil
import subprocess
import time

import vmdense_vm as vmmod
from vmtest.console import check_clean
from vmtest.harness import OUT, ROOT, Skip, check, test
from vmtest.workloads import balloon_return, plug_unplug

from suites import debian_kernel as deb
from suites.hinting import OURS as BALLOON
from suites.host import headers_6_1
from suites.virtio_mem import OURS as VMEM

DEPLOY = os.path.join(OUT, "deploy")
DEB_DIR = os.path.join(OUT, "deb")
# what the modules must say of themselves (modinfo)
ALIASES = {"vmdense_virtio_mem": "virtio:d00000018v*",
           "vmdense_balloon": "virtio:d00000005v*"}
PARMS = {"vmdense_balloon": ("report_timeout_ms", "fault_no_kick")}
# the kernel's drivers of the same devices, kept from autoloading
THEIRS = {"vmdense_virtio_mem": "virtio_mem",
          "vmdense_balloon": "virtio_balloon"}
# knobs the scenarios set in knobs.conf (neither is the default: 64, 9)
KNOB_RESERVE = ("virtio_mem.unplug_reserve_mb", "96")
KNOB_MIN_ORDER = ("hinting.min_order", "7")
# the guest: boot RAM, a virtio-mem device (not of the RAM's size, so
# that VM.host_memory() tells their memfds apart), the balloon
GUEST = {"mem": "2G", "vmem": "3G", "vmem_block": "2M", "balloon": True}


def _version():
    with open(os.path.join(ROOT, "packaging", "VERSION")) as f:
        return f.read().strip()


def _run(ctx, argv, name, timeout, env=None, cwd=None):
    """Run @argv, its output in the test's log @name; (status, output)."""
    res = subprocess.run(argv, capture_output=True, text=True,
                         timeout=timeout, env=env, cwd=cwd)
    out = res.stdout + res.stderr
    with open(ctx.path(name), "a") as f:
        f.write("$ %s\n%s\n" % (" ".join(argv), out))
    return res.returncode, out


def dkms_deb(ctx):
    """scripts/build-dkms-deb (make dkms-deb): the package's path."""
    rc, out = _run(ctx, [os.path.join(ROOT, "scripts", "build-dkms-deb")],
                   "build-dkms-deb.txt", 120)
    check(rc == 0, "scripts/build-dkms-deb failed (%d):\n%s" % (rc, out))
    path = os.path.join(DEB_DIR, "vmdense-dkms_%s_all.deb" % _version())
    check(os.path.exists(path), "no %s after build-dkms-deb" % path)
    return path


def _modinfo(ko):
    res = subprocess.run(["/sbin/modinfo", ko], capture_output=True,
                         text=True, timeout=60)
    check(res.returncode == 0, "modinfo %s: %s" % (ko, res.stderr))
    info = {}
    for line in res.stdout.splitlines():
        key, _, val = line.partition(":")
        info.setdefault(key.strip(), []).append(val.strip())
    return info


def _alias_loads(sim, abi, confdir, alias):
    """The modules modprobe would load for @alias in the module tree
    @sim with the configuration @confdir, blacklist applied (as udev's
    autoloading applies it), less the virtio core."""
    res = subprocess.run(["/sbin/modprobe", "-b", "-d", sim, "-S", abi,
                          "-C", confdir, "--show-depends", alias],
                         capture_output=True, text=True, timeout=60)
    check(res.returncode == 0, "modprobe --show-depends %s: %s" % (
        alias, res.stderr))
    mods = re.findall(r"/([^/\s]+)\.ko", res.stdout)
    return [m for m in mods if m not in ("virtio", "virtio_ring")]


@test("build.dkms", suite="build", limit=600)
def build_dkms(ctx):
    """The DKMS package (make dkms-deb) against Debian 12's 6.1 headers:
    dkms add and build in a scratch DKMS tree (the machine's
    /var/lib/dkms is not touched); both modules built without warnings,
    for that kernel, with their device aliases and (vmdense_balloon)
    parameters with descriptions; and in Debian's 6.1 module tree with
    them added, the package's modprobe configuration makes each device
    alias load vmdense's module alone (without it, the kernel's too)."""
    if not shutil.which("dkms"):
        raise Skip("dkms is not installed (scripts/install-deps)")
    kdir = headers_6_1()
    abi = os.path.basename(kdir)[len("linux-headers-"):]
    version = _version()
    package = dkms_deb(ctx)
    work = os.path.join(OUT, "dkms-test")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    root = os.path.join(work, "root")
    rc, out = _run(ctx, ["dpkg-deb", "-x", package, root], "dkms.txt", 60)
    check(rc == 0, "dpkg-deb -x %s: %s" % (package, out))
    tree = os.path.join(work, "tree")
    os.makedirs(tree)
    trees = ["--dkmstree", tree, "--sourcetree",
             os.path.join(root, "usr", "src"),
             "--installtree", os.path.join(work, "installed")]
    # DKMS signs what it builds, making a key in /var/lib/dkms first:
    # its sign_file setting, taken from the environment when
    # /etc/dkms/framework.conf does not set it, turns that off here
    env = dict(os.environ, sign_file="/nonexistent")
    rc, out = _run(ctx, ["dkms", "add", "-m", "vmdense", "-v", version] +
                   trees, "dkms.txt", 60, env=env)
    check(rc == 0, "dkms add failed (%d):\n%s" % (rc, out))
    t0 = time.monotonic()
    rc, out = _run(ctx, ["dkms", "build", "-m", "vmdense", "-v", version,
                         "-k", abi, "--kernelsourcedir", kdir] + trees,
                   "dkms.txt", 540, env=env)
    build_s = time.monotonic() - t0
    built = os.path.join(tree, "vmdense", version, abi, "x86_64")
    log = os.path.join(built, "log", "make.log")
    if not os.path.exists(log):
        log = os.path.join(tree, "vmdense", version, "build", "make.log")
    make_log = open(log).read() if os.path.exists(log) else ""
    with open(ctx.path("make.log"), "w") as f:
        f.write(make_log)
    check(rc == 0, "dkms build against %s failed (%d):\n%s\n%s" % (
        abi, rc, out[-1500:], make_log[-2000:]))
    warnings = [ln for ln in make_log.splitlines() if "warning:" in ln]
    check(not warnings, "warnings:\n%s" % "\n".join(warnings[:20]))

    metrics = {"kernel": abi, "build_seconds": round(build_s, 1)}
    kos = {}
    for mod, alias in sorted(ALIASES.items()):
        ko = os.path.join(built, "module", mod + ".ko")
        check(os.path.exists(ko), "dkms built no %s.ko" % mod)
        kos[mod] = ko
        info = _modinfo(ko)
        check(info.get("alias") == [alias], "%s: aliases %s, expected %s" % (
            mod, info.get("alias"), alias))
        check(info.get("vermagic", [""])[0].startswith(abi + " "),
              "%s: vermagic %s, not %s" % (mod, info.get("vermagic"), abi))
        parms = dict(p.split(":", 1) for p in info.get("parm", []))
        for p in PARMS.get(mod, ()):
            check(p in parms, "%s: no parameter %s (modinfo: %s)" % (
                mod, p, info.get("parm")))
        for p, desc in parms.items():
            # "description (type)": a bare "(type)" has none
            check(re.sub(r"\(\w+\)$", "", desc).strip(),
                  "%s: parameter %s has no description" % (mod, p))
        metrics["%s_ko_bytes" % mod] = os.path.getsize(ko)

    # Debian's 6.1 kernel's modules with ours added where DKMS puts them,
    # indexed by depmod in a scratch tree; then what udev would load.
    image_root, _ = deb.unpacked(abi)
    sim = os.path.join(work, "sim")
    mods = os.path.join(sim, "lib", "modules", abi)
    os.makedirs(os.path.dirname(mods))
    rc, out = _run(ctx, ["cp", "-rs", os.path.join(
        image_root, "lib", "modules", abi), os.path.dirname(mods)],
        "alias.txt", 120)
    check(rc == 0, "cp -rs of Debian's modules: %s" % out)
    # depmod's inputs as copies, its outputs written afresh: nothing
    # written through the links into the unpacked image
    for f in glob.glob(os.path.join(mods, "modules.*")):
        os.unlink(f)
    for f in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        src = os.path.join(image_root, "lib", "modules", abi, f)
        if os.path.exists(src):
            shutil.copy(src, mods)
    os.makedirs(os.path.join(mods, "updates", "dkms"))
    for ko in kos.values():
        shutil.copy(ko, os.path.join(mods, "updates", "dkms"))
    rc, out = _run(ctx, ["/sbin/depmod", "-b", sim, abi], "alias.txt", 300)
    check(rc == 0, "depmod: %s" % out)
    confdir = os.path.join(root, "lib", "modprobe.d")
    for mod, alias in sorted(ALIASES.items()):
        dev = alias.replace("*", "00001AF4")
        bare = _alias_loads(sim, abi, "/dev/null", dev)
        check(sorted(bare) == sorted([mod, THEIRS[mod]]),
              "without the package's configuration %s loads %s, expected "
              "%s and %s" % (dev, bare, mod, THEIRS[mod]))
        got = _alias_loads(sim, abi, confdir, dev)
        check(got == [mod], "with the package's modprobe.d %s loads %s, "
              "not %s alone" % (dev, got, mod))
    ctx.log("dkms built both modules for %s in %.1f s; aliases, parameter "
            "descriptions and autoloading checked" % (abi, build_s))
    return metrics


# ---- the Debian guest ------------------------------------------------
def _image(ctx):
    """The base image, made or reused by scripts/build-deploy-image:
    (image, stock kernel, its initramfs, ABI)."""
    rc, out = _run(ctx, [os.path.join(ROOT, "scripts",
                                      "build-deploy-image")],
                   "build-deploy-image.txt", 3000)
    if rc == 3:
        raise Skip(out.strip().splitlines()[-1])
    check(rc == 0, "scripts/build-deploy-image failed (%d):\n%s" % (
        rc, out[-3000:]))
    ctx.log(out.strip().splitlines()[-1])
    with open(os.path.join(DEPLOY, "debian12.abi")) as f:
        abi = f.read().strip()
    return (os.path.join(DEPLOY, "debian12.img"),
            os.path.join(DEPLOY, "vmlinuz-" + abi),
            os.path.join(DEPLOY, "initrd.img-" + abi), abi)


def _work_copy(ctx, base):
    """A copy of the base image for this test alone (kept afterwards,
    out/deploy/<test>.img, to look into with debugfs)."""
    img = os.path.join(DEPLOY, "%s.img" % ctx.name)
    rc, out = _run(ctx, ["cp", "--sparse=always", base, img], "image.txt",
                   600)
    check(rc == 0, "copying %s: %s" % (base, out))
    return img


def _integrity():
    """The data-integrity checker (static), as scripts/build-initramfs
    builds it: the helpers that fill and free memory run it."""
    build = os.path.join(OUT, "tools", "integrity")
    res = subprocess.run(["make", "-s", "-C",
                          os.path.join(ROOT, "tools", "integrity"),
                          "O=" + build, "all"], capture_output=True,
                         text=True, timeout=300)
    check(res.returncode == 0, "building tools/integrity: %s" % (
        res.stdout + res.stderr)[-1500:])
    return os.path.join(build, "integrity")


def _payload(ctx, debs):
    """The second disk: an ext4 image (label vmdense-payload) holding the
    guest scripts (deploy/), the integrity checker and @debs (debs/)."""
    stage = ctx.path("payload")
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "tests", "guest", "deploy"),
                    os.path.join(stage, "deploy"))
    shutil.copy(_integrity(), stage)
    os.makedirs(os.path.join(stage, "debs"))
    for d in debs:
        shutil.copy(d, os.path.join(stage, "debs"))
    size = sum(os.path.getsize(os.path.join(dp, f))
               for dp, _, fs in os.walk(stage) for f in fs)
    img = ctx.path("payload.img")
    if os.path.exists(img):
        os.unlink(img)
    with open(img, "wb") as f:
        f.truncate(size + 64 * (1 << 20))
    rc, out = _run(ctx, ["mkfs.ext4", "-q", "-F", "-L", "vmdense-payload",
                         "-d", stage, img], "image.txt", 120)
    check(rc == 0, "mkfs.ext4 of the payload: %s" % out)
    return img


def _boot(ctx, tag, img, payload, kernel, initrd, timeout):
    """The Debian guest on @kernel/@initrd, its root file system @img,
    @payload mounted at /vmdense; the agent serves the test."""
    vm = vmmod.VM(kernel=kernel, initrd=initrd, drive=[img, payload],
                  cmdline="root=LABEL=vmdense-root rw", timeout=timeout,
                  log=ctx.path("serial-%s.log" % tag), **GUEST)
    try:
        vm.start()
        vm.sh("mkdir -p /vmdense && mount -o ro LABEL=vmdense-payload "
              "/vmdense", timeout=120)
    except Exception:
        vm.stop()
        raise
    return vm


def _facts(out):
    """The "FACT key=value" lines of a guest script."""
    return dict(m.groups() for m in re.finditer(
        r"^FACT (\w+)=(.*)$", out, re.M))


def _guest_script(ctx, vm, tag, cmd, timeout):
    """Run a guest script (tests/guest/deploy) through the agent; its
    output goes to the test's log; returns its facts."""
    rc, out = vm.run("bash /vmdense/deploy/%s 2>&1" % cmd, timeout=timeout,
                     check=False)
    with open(ctx.path("guest-%s.txt" % tag), "w") as f:
        f.write(out)
    fails = re.findall(r"^FAIL .*$", out, re.M)
    check(rc == 0, "%s failed (%d): %s\n%s" % (
        cmd.split()[0], rc, fails[0] if fails else "", out[-2500:]))
    return _facts(out)


def _reboot(ctx, vm, tag):
    """The guest reboots itself; with -no-reboot that ends QEMU."""
    vm.run("(sleep 1; systemctl reboot) >/dev/null 2>&1 &", timeout=60)
    t0 = time.monotonic()
    vm.wait_quit(300)
    ctx.log("%s: the guest shut down for its reboot in %.0f s" % (
        tag, time.monotonic() - t0))
    vm.stop()
    _check_console(ctx, tag)


def _check_console(ctx, tag):
    path = ctx.path("serial-%s.log" % tag)
    with open(path, errors="replace") as f:
        check_clean(f.read(), path)


def _stories(ctx, vm, tag):
    """Free-and-return (1200 MiB freed: the host memory drops) and
    plug/unplug (1 GiB through QMP), on drivers that are already loaded
    and bound: their modprobe finds them so."""
    ret = balloon_return(ctx, vm, BALLOON[0], BALLOON[1], 1200)
    pu = plug_unplug(ctx, vm, VMEM[0], VMEM[1])
    _check_console(ctx, tag)
    m = dict(ret)
    m.update(pu)
    return m


def _extract_boot(ctx, img, rel):
    """/boot/vmlinuz-@rel and /boot/initrd.img-@rel as the image has them
    now (its initramfs is made again by what apt installed: the blacklist
    of the kernel's drivers goes into it), into the test's log directory;
    debugfs reads ext4 without mounting it."""
    paths = []
    for name in ("vmlinuz-" + rel, "initrd.img-" + rel):
        dest = ctx.path(name)
        if os.path.exists(dest):
            os.unlink(dest)
        rc, out = _run(ctx, ["debugfs", "-R", "dump /boot/%s %s" % (
            name, dest), img], "image.txt", 120)
        # debugfs says little on its status: the file must be there
        got = os.path.getsize(dest) if os.path.exists(dest) else 0
        check(rc == 0 and got > 0, "debugfs could not read /boot/%s of %s:"
              " %s" % (name, img, out))
        paths.append(dest)
    return paths


@test("deploy.dkms_stock_kernel", suite="deploy", tier="deploy",
      limit=3600)
def dkms_stock_kernel(ctx):
    """Debian 12 on its stock kernel: apt-get install of the DKMS package
    builds and installs both modules (modinfo: aliases, parameters with
    descriptions); after a reboot udev has loaded them by modalias (no
    modprobe), the kernel's virtio_mem and virtio_balloon stayed out, and
    knobs.conf's unplug_reserve_mb holds; then 1200 MiB freed come back
    to the host and 1 GiB plugs and unplugs."""
    base, kernel, initrd, abi = _image(ctx)
    package = dkms_deb(ctx)
    img = _work_copy(ctx, base)
    payload = _payload(ctx, [package])
    knob = "%s=%s" % KNOB_RESERVE

    vm = _boot(ctx, "1-install", img, payload, kernel, initrd, 2400)
    try:
        facts = _guest_script(ctx, vm, "install", "install.sh /vmdense/debs/"
                              "%s -- %s" % (os.path.basename(package), knob),
                              2000)
        _reboot(ctx, vm, "1-install")
    finally:
        vm.stop()
    ctx.log("installed on %s in %s s (DKMS build included)" % (
        facts.get("kernel"), facts.get("install_seconds")))
    # what the guest's own boot would take after the reboot
    kernel, initrd = _extract_boot(ctx, img, abi)

    vm = _boot(ctx, "2-reboot", img, payload, kernel, initrd, 1800)
    try:
        seen = _guest_script(ctx, vm, "check", "check_boot.sh %s" % knob,
                             300)
        ctx.log("after the reboot: both drivers bound by modalias, "
                "%s=%s" % (KNOB_RESERVE[0], seen.get(
                    "knob_" + KNOB_RESERVE[0])))
        metrics = _stories(ctx, vm, "2-reboot")
    finally:
        vm.stop()
    metrics.update({"kernel": abi,
                    "install_seconds": int(facts["install_seconds"]),
                    "boot_seconds": float(seen["boot_seconds"]),
                    "unplug_reserve_mb": int(seen["knob_" +
                                                  KNOB_RESERVE[0]])})
    return metrics


@test("deploy.kernel_package", suite="deploy", tier="deploy",
      limit=3600)
def kernel_package(ctx):
    """The linux-image package of make deb (and the DKMS package, whose
    configuration it uses) installed with apt-get in the same Debian 12
    image, booted: mm/hinting and known-zero tracking there, vmdense's
    drivers (the kernel's own modules) loaded by modalias, DKMS left the
    kernel alone, knobs.conf's hinting.min_order and unplug_reserve_mb
    hold after the reboot; the balloon reports through mm/hinting while
    1200 MiB freed come back, and 1 GiB plugs and unplugs."""
    debs = sorted(glob.glob(os.path.join(DEB_DIR,
                                         "linux-image-*-vmdense_*.deb")))
    debs = [d for d in debs if "-dbg_" not in d]
    if not debs:
        raise Skip("no linux-image-*-vmdense .deb in out/deb: make deb "
                   "(hours on 2 cores)")
    kdeb = max(debs, key=os.path.getmtime)
    base, kernel, initrd, _ = _image(ctx)
    package = dkms_deb(ctx)
    img = _work_copy(ctx, base)
    payload = _payload(ctx, [kdeb, package])
    knobs = ["%s=%s" % KNOB_RESERVE, "%s=%s" % KNOB_MIN_ORDER]

    vm = _boot(ctx, "1-install", img, payload, kernel, initrd, 2400)
    try:
        facts = _guest_script(ctx, vm, "install", "install.sh %s -- %s" % (
            " ".join("/vmdense/debs/" + os.path.basename(d)
                     for d in (kdeb, package)), " ".join(knobs)), 2000)
        _reboot(ctx, vm, "1-install")
    finally:
        vm.stop()
    rel = facts.get("vmdense_kernel")
    check(rel, "the kernel package installed no /boot/vmlinuz-*-vmdense")
    vmlinuz, vmd_initrd = _extract_boot(ctx, img, rel)
    ctx.log("installed %s in %s s; booting it" % (
        rel, facts.get("install_seconds")))

    vm = _boot(ctx, "2-vmdense", img, payload, vmlinuz, vmd_initrd, 1800)
    try:
        seen = _guest_script(ctx, vm, "check", "check_boot.sh "
                             "--vmdense-kernel %s" % " ".join(knobs), 300)
        before = int(vm.sh("cat /sys/kernel/mm/hinting/stats/"
                           "reported_pages"))
        metrics = _stories(ctx, vm, "2-vmdense")
        reported = int(vm.sh("cat /sys/kernel/mm/hinting/stats/"
                             "reported_pages")) - before
    finally:
        vm.stop()
    check(reported > 0, "mm/hinting reported nothing while the freed "
          "memory came back: the balloon is not fed by mm/hinting")
    metrics.update({"kernel": rel,
                    "install_seconds": int(facts["install_seconds"]),
                    "boot_seconds": float(seen["boot_seconds"]),
                    "hinting_reported_pages": reported,
                    "min_order": int(seen["knob_" + KNOB_MIN_ORDER[0]]),
                    "unplug_reserve_mb": int(seen["knob_" +
                                                  KNOB_RESERVE[0]])})
    return metrics
