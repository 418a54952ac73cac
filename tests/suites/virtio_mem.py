# SPDX-License-Identifier: GPL-2.0
"""vmdense's virtio-mem driver (vmdense_virtio_mem) against QEMU's
virtio-mem-pci, side by side with the kernel's virtio_mem where a figure
is compared. Names and metric keys are a contract. The scenarios check
behaviour (exact sizes, no corruption, no kernel reports), never timings;
timings are reported as metrics."""
import glob
import os
import re
import shutil
import subprocess
import time

import vmdense_vm as vmmod
from harness import OUT, ROOT, Skip, check, test
from suites.baseline import virtio_mem_plug_unplug
from suites.guest import (MiB, check_serial_clean, load_module, meminfo,
                          start_holder, stop_holder)

GiB = 1 << 30
OURS = ("vmdense_virtio_mem", "/sys/bus/virtio/drivers/vmdense_virtio_mem")
UPSTREAM = ("virtio_mem", "/sys/bus/virtio/drivers/virtio_mem")


class _Prefixed:
    """A test context whose files get a prefix: the second VM of a test
    (the kernel's driver) keeps its own serial log."""

    def __init__(self, ctx, prefix):
        self.ctx = ctx
        self.prefix = prefix

    def log(self, msg):
        self.ctx.log(self.prefix + msg)

    def path(self, fname):
        return self.ctx.path(self.prefix + fname)


def _sysdir(vm):
    """Our per-device sysfs directory in the guest."""
    return vm.sh("ls -d /sys/bus/virtio/devices/virtio*/vmdense").split()[0]


def _attr(vm, name):
    return vm.sh("cat %s/%s" % (_sysdir(vm), name)).strip()


def _memory_blocks(vm):
    return int(vm.sh("ls -d /sys/devices/system/memory/memory* | wc -l"))


def _resize(vm, size, timeout=120):
    """Request size and wait until the device reports it plugged."""
    vm.vmem_set_requested(size)
    return vm.wait_for(lambda: vm.vmem_props()["size"] == size,
                       "the device to report %d MiB plugged" % (size // MiB),
                       timeout, 0.05)


def _check_sizes(vm, size, total0, what=""):
    """Device, driver and MemTotal agree exactly on the plugged size."""
    ours = int(_attr(vm, "plugged_size"))
    check(ours == size, "%sdriver says %d bytes plugged, want %d" % (
        what, ours, size))
    # MemTotal follows once the pages reached the buddy
    vm.wait_for(lambda: meminfo(vm)["MemTotal"] - total0 == size // 1024,
                "%sMemTotal to grow by %d kB (is %d kB)" % (
                    what, size // 1024, meminfo(vm)["MemTotal"] - total0),
                10, 0.1)
    vm.sh("echo 1 > %s/state_check" % _sysdir(vm))


@test("virtio_mem.plug_unplug", suite="virtio_mem")
def plug_unplug(ctx):
    """Plug 1 GiB and unplug it with our driver, then the same with the
    kernel's virtio_mem in a second VM."""
    ours = virtio_mem_plug_unplug(ctx, *OURS)
    check_serial_clean(ctx.path("serial.log"))
    up = virtio_mem_plug_unplug(_Prefixed(ctx, "upstream-"), *UPSTREAM)
    metrics = dict(ours)
    metrics.update({
        "upstream_plug_seconds": up["plug_seconds"],
        "upstream_unplug_seconds": up["unplug_seconds"],
        "upstream_host_mb_before": up["host_mb_before"],
        "upstream_host_mb_plugged": up["host_mb_plugged"],
        "upstream_host_mb_after": up["host_mb_after"],
    })
    ctx.log("ours: plug %.2f s, unplug %.2f s; kernel's: plug %.2f s, "
            "unplug %.2f s" % (ours["plug_seconds"], ours["unplug_seconds"],
                               up["plug_seconds"], up["unplug_seconds"]))
    return metrics


@test("virtio_mem.granularity", suite="virtio_mem")
def granularity(ctx):
    """2 MiB steps and sizes that are not multiples of 128 MiB: the
    device, the driver and MemTotal agree exactly each time, the device's
    STATE answers match the driver's bitmap, and every memory block is
    removed again at 0."""
    steps_mb = [2, 4, 6, 130, 128, 126, 258, 2, 384, 382, 200, 0]
    with vmmod.VM(mem="1G", vmem="2G", vmem_block="2M", timeout=900,
                  log=ctx.path("serial.log")) as vm:
        load_module(vm, *OURS)
        check(_attr(vm, "mode") == "sub-block", "not in sub-block mode")
        total0 = meminfo(vm)["MemTotal"]
        blocks0 = _memory_blocks(vm)
        for mb in steps_mb:
            _resize(vm, mb * MiB)
            _check_sizes(vm, mb * MiB, total0, "at %d MiB: " % mb)
            ctx.log("%d MiB: exact" % mb)
        blocks = _memory_blocks(vm)
        check(blocks == blocks0, "%d memory blocks at 0 plugged, %d before"
              % (blocks, blocks0))
        reqs = int(_attr(vm, "plug_requests")) + \
            int(_attr(vm, "unplug_requests"))
        bad = int(_attr(vm, "bad_responses"))
        check(bad == 0, "%d answers of QEMU refused" % bad)
    check_serial_clean(ctx.path("serial.log"))
    return {"steps": len(steps_mb), "requests": reqs}


@test("virtio_mem.sysfs", suite="virtio_mem")
def sysfs(ctx):
    """Per-device attributes: sizes readable, tunables writable, invalid
    writes refused with nothing changed."""
    with vmmod.VM(mem="1G", vmem="1G", vmem_block="2M", timeout=600,
                  log=ctx.path("serial.log")) as vm:
        load_module(vm, *OURS)
        d = _sysdir(vm)
        check(_attr(vm, "block_size") == str(2 * MiB), "block_size")
        check(_attr(vm, "subblock_size") == str(2 * MiB), "subblock_size")
        check(_attr(vm, "region_size") == str(GiB), "region_size")
        bad = [("retry_interval_ms", "0"), ("retry_interval_ms", "abc"),
               ("retry_interval_ms", "40000"),  # above retry_max_ms
               ("retry_max_ms", "10"),          # below retry_interval_ms
               ("retry_max_ms", "700000"), ("unplug_online", "maybe"),
               ("unplug_reserve_mb", "-1"),
               ("unplug_reserve_mb", "99999999"),  # more than the guest
               ("state_check", "2")]
        for name, val in bad:
            before = vm.sh("cat %s/%s 2>/dev/null; true" % (d, name))
            rc, out = vm.run("echo %s > %s/%s" % (val, d, name),
                             check=False)
            check(rc != 0 and "Invalid argument" in out,
                  "writing %r to %s: status %d, %r" % (val, name, rc, out))
            after = vm.sh("cat %s/%s 2>/dev/null; true" % (d, name))
            check(before == after, "%s changed from %r to %r by a refused "
                  "write" % (name, before, after))
        for name, val in [("retry_max_ms", "60000"),
                          ("retry_interval_ms", "200"),
                          ("unplug_online", "0"), ("unplug_online", "1"),
                          ("unplug_reserve_mb", "96")]:
            vm.sh("echo %s > %s/%s" % (val, d, name))
            check(_attr(vm, name) == val, "%s did not take %s" % (name, val))
    check_serial_clean(ctx.path("serial.log"))
    return {"refused_writes": len(bad)}


@test("virtio_mem.numa_node", suite="virtio_mem")
def numa_node(ctx):
    """A device on NUMA node 1 (ACPI proximity domain): its memory goes
    to node 1, exactly, and leaves it again."""
    def node1_kb():
        out = vm.sh("cat /sys/devices/system/node/node1/meminfo")
        return int(re.search(r"MemTotal:\s+(\d+) kB", out).group(1))

    with vmmod.VM(mem="1G", vmem="1G", vmem_block="2M", vmem_node=1,
                  timeout=600, log=ctx.path("serial.log")) as vm:
        load_module(vm, *OURS)
        check(_attr(vm, "node") == "1", "device on node %s, not 1" %
              _attr(vm, "node"))
        _resize(vm, 256 * MiB)
        vm.wait_for(lambda: node1_kb() == 256 * 1024,
                    "node 1 to hold 256 MiB (has %d kB)" % node1_kb(), 10)
        _resize(vm, 0)
        vm.wait_for(lambda: node1_kb() == 0, "node 1 to be empty", 10)
    check_serial_clean(ctx.path("serial.log"))
    return {"node": 1}


@test("virtio_mem.reload", suite="virtio_mem")
def reload(ctx):
    """Unloading the driver gives everything back (unplugs, offlines and
    removes its memory, also memory that was in use); loading it again
    plugs the requested size again."""
    with vmmod.VM(mem="1G", vmem="2G", vmem_block="2M", timeout=600,
                  log=ctx.path("serial.log")) as vm:
        load_module(vm, *OURS)
        total0 = meminfo(vm)["MemTotal"]
        blocks0 = _memory_blocks(vm)
        _resize(vm, 384 * MiB)
        _check_sizes(vm, 384 * MiB, total0)
        # put data into the plugged memory, then free it again
        start_holder(vm, meminfo(vm)["MemAvailable"] // 1024 - 300)
        stop_holder(vm)
        vm.sh("rmmod vmdense_virtio_mem")
        check(vm.vmem_props()["size"] == 0, "%d bytes still plugged after "
              "rmmod" % vm.vmem_props()["size"])
        check(meminfo(vm)["MemTotal"] == total0, "MemTotal %d kB after "
              "rmmod, %d before" % (meminfo(vm)["MemTotal"], total0))
        check(_memory_blocks(vm) == blocks0, "memory blocks left after "
              "rmmod")
        load_module(vm, *OURS)
        vm.wait_for(lambda: vm.vmem_props()["size"] == 384 * MiB,
                    "the reloaded driver to plug 384 MiB", 120, 0.05)
        _check_sizes(vm, 384 * MiB, total0, "after reload: ")
        _resize(vm, 0)
        _check_sizes(vm, 0, total0, "at 0: ")
    check_serial_clean(ctx.path("serial.log"))
    return {"reloads": 1}


@test("virtio_mem.integrity", suite="virtio_mem")
def integrity(ctx):
    """The data-integrity checker holds and churns memory while the
    device grows and shrinks repeatedly (shrinking migrates its pages);
    corrupt_bytes must be 0 and every size exact."""
    cycle_mb = [1024, 384, 896, 256, 1024, 128, 640, 0]
    with vmmod.VM(mem="1G", vmem="2G", vmem_block="2M", timeout=1200,
                  log=ctx.path("serial.log")) as vm:
        load_module(vm, *OURS)
        total0 = meminfo(vm)["MemTotal"]
        _resize(vm, GiB)
        vm.sh("/vmdense/integrity --mb 600 --churn 20 --seconds 100000 "
              "--interval-ms 300 --verbose >/tmp/int.out 2>&1 &\n"
              "echo $! >/tmp/int.pid")
        vm.wait_for(lambda: "round" in vm.sh("cat /tmp/int.out"),
                    "the checker to fill its memory", 300, 0.5)
        for mb in cycle_mb:
            secs = _resize(vm, mb * MiB, timeout=300)
            _check_sizes(vm, mb * MiB, total0, "at %d MiB: " % mb)
            ctx.log("%d MiB in %.1f s" % (mb, secs))
        out = vm.sh("pid=$(cat /tmp/int.pid); kill $pid\n"
                    "while [ -d /proc/$pid ]; do sleep 0.1; done\n"
                    "cat /tmp/int.out")
        with open(ctx.path("integrity.out"), "w") as f:
            f.write(out)
        m = re.findall(r"corrupt_bytes=(\d+)", out)
        check(m, "no corrupt_bytes in the checker's output:\n%s" % out[-800:])
        corrupt = int(m[-1])
        check(corrupt == 0, "%d bytes corrupted:\n%s" % (corrupt, out[-800:]))
        rounds = len(re.findall(r"round", out))
        fails = int(_attr(vm, "migration_failures"))
    check_serial_clean(ctx.path("serial.log"))
    return {"corrupt_bytes": corrupt, "cycles": len(cycle_mb),
            "checker_rounds": rounds, "migration_failures": fails}


def _unplug_under_load(ctx, module, driver_dir, window_s=60):
    """Plug 1 GiB, load the guest with stress-ng (1200 MiB kept mapped by
    two workers; the size is shared among them), ask for 0: how much
    came out within window_s. Returns (unplugged_mb, seconds, seconds for
    the rest once the load stopped or None, OOM kills in the guest)."""
    with vmmod.VM(mem="1G", vmem="2G", vmem_block="2M", timeout=900,
                  log=ctx.path("serial.log")) as vm:
        load_module(vm, module, driver_dir)
        # if memory runs out, the OOM killer must pick the load, not the
        # agent that serves this test
        vm.sh("echo -1000 > /proc/$PPID/oom_score_adj")
        _resize(vm, GiB)
        vm.sh("stress-ng --vm 2 --vm-bytes 1200M --vm-keep --timeout 900 "
              ">/tmp/stress.out 2>&1 &\necho $! >/tmp/stress.pid")
        # let the workers map and touch their memory
        vm.wait_for(lambda: meminfo(vm)["MemFree"] < 900 * 1024,
                    "stress-ng to take its memory", 120, 0.5)
        time.sleep(3)
        t0 = time.monotonic()
        vm.vmem_set_requested(0)
        last, last_t = GiB, 0.0
        while True:
            now = time.monotonic() - t0
            size = vm.vmem_props()["size"]
            if size != last:
                last, last_t = size, now
            if size == 0 or now > window_s or \
                    (now - last_t > 15 and now > 20):
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
    with open(ctx.path("serial.log"), errors="replace") as f:
        oom_kills = f.read().count("invoked oom-killer")
    return unplugged_mb, last_t, rest_s, oom_kills


@test("virtio_mem.unplug_under_pressure", suite="virtio_mem")
def unplug_under_pressure(ctx):
    """stress-ng memory load while unplugging 1 GiB: ours, then the
    kernel's driver; after the load stops everything must come out."""
    mb, secs, rest, ooms = _unplug_under_load(ctx, *OURS)
    check(ooms == 0, "unplugging made the guest kill %d processes for "
          "memory (serial.log)" % ooms)
    check_serial_clean(ctx.path("serial.log"))
    ctx.log("ours: %.0f of 1024 MiB unplugged under load in %.1f s" % (
        mb, secs))
    check(mb > 0, "nothing unplugged under load")
    up_mb, up_secs, up_rest, up_ooms = _unplug_under_load(
        _Prefixed(ctx, "upstream-"), *UPSTREAM)
    ctx.log("kernel's: %.0f of 1024 MiB in %.1f s, %d OOM kills" % (
        up_mb, up_secs, up_ooms))
    return {"unplugged_mb": round(mb, 1), "requested_unplug_mb": 1024,
            "seconds": round(secs, 2),
            "rest_seconds": round(rest, 2) if rest is not None else 0,
            "upstream_unplugged_mb": round(up_mb, 1),
            "upstream_requested_unplug_mb": 1024,
            "upstream_seconds": round(up_secs, 2),
            "upstream_oom_kills": up_ooms}


@test("virtio_mem.big_block", suite="virtio_mem")
def big_block(ctx):
    """A device with 256 MiB blocks (larger than a 128 MiB memory block):
    big-block mode plugs and unplugs whole device blocks, exactly, also
    with memory in use, and removes them at 0."""
    with vmmod.VM(mem="1G", vmem="2G", vmem_block="256M", timeout=900,
                  log=ctx.path("serial.log")) as vm:
        load_module(vm, *OURS)
        check(_attr(vm, "mode") == "big-block", "not in big-block mode: %s"
              % _attr(vm, "mode"))
        total0 = meminfo(vm)["MemTotal"]
        blocks0 = _memory_blocks(vm)
        _resize(vm, 768 * MiB)
        _check_sizes(vm, 768 * MiB, total0, "at 768 MiB: ")
        # leave room for unplug_reserve_mb (64) plus a 256 MiB unit
        start_holder(vm, meminfo(vm)["MemAvailable"] // 1024 - 900)
        for mb in (512, 256):
            _resize(vm, mb * MiB, timeout=300)
            _check_sizes(vm, mb * MiB, total0, "at %d MiB: " % mb)
        stop_holder(vm)
        _resize(vm, 0)
        _check_sizes(vm, 0, total0, "at 0: ")
        blocks = _memory_blocks(vm)
        check(blocks == blocks0, "%d memory blocks at 0, %d before" % (
            blocks, blocks0))
    check_serial_clean(ctx.path("serial.log"))
    return {"block_mb": 256}


def _external_build(ctx, kdir, tag):
    """make -C kdir M=<copy of drivers/virtio_mem> modules: no errors, no
    warnings, a module."""
    work = os.path.join(OUT, "ext-virtio_mem-" + tag)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src = os.path.join(ROOT, "drivers", "virtio_mem")
    for f in os.listdir(src):
        if f.endswith((".c", ".h")) or f == "Kbuild":
            shutil.copy(os.path.join(src, f), work)
    res = subprocess.run(["make", "-C", kdir, "M=" + work, "modules"],
                         capture_output=True, text=True, timeout=900)
    out = res.stdout + res.stderr
    with open(ctx.path("build.txt"), "w") as f:
        f.write(out)
    check(res.returncode == 0, "external build against %s failed:\n%s" % (
        kdir, out[-3000:]))
    warnings = [ln for ln in out.splitlines() if "warning:" in ln]
    check(not warnings, "warnings:\n%s" % "\n".join(warnings[:20]))
    ko = os.path.join(work, "vmdense_virtio_mem.ko")
    check(os.path.exists(ko), "no vmdense_virtio_mem.ko")
    return {"ko_bytes": os.path.getsize(ko)}


@test("build.virtio_mem.external_6_12", suite="build")
def external_6_12(ctx):
    """External-module build against the pinned 6.12 build in out/build."""
    kdir = os.path.join(OUT, "build")
    if not os.path.exists(os.path.join(kdir, "Module.symvers")):
        raise Skip("the pinned kernel is not built (scripts/build-kernel)")
    return _external_build(ctx, kdir, "6.12")


@test("build.virtio_mem.external_6_1", suite="build")
def external_6_1(ctx):
    """External-module build against Debian 12's 6.1 headers
    (linux-headers-amd64)."""
    dirs = sorted(glob.glob("/usr/src/linux-headers-6.1.*-amd64"))
    if not dirs:
        raise Skip("Debian 12's 6.1 headers are not installed "
                   "(linux-headers-amd64, scripts/install-deps)")
    return _external_build(ctx, dirs[-1], "6.1")
