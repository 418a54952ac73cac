# SPDX-License-Identifier: GPL-2.0
"""vmdense's virtio-mem driver (vmdense_virtio_mem) against QEMU's
virtio-mem-pci. The scenarios share two guests: one with a 2 GiB device
of 2 MiB blocks (sub-block mode), one with a 2 GiB device of 256 MiB
blocks on NUMA node 1 (big-block mode). Names and metric keys are a
contract. The scenarios check behaviour (exact sizes, no corruption, no
kernel reports), never timings; timings are reported as metrics."""
import re

import vmdense_vm as vmmod
from vmtest.console import check_clean
from vmtest.guests import (GiB, MiB, PlainGuest, load_module, meminfo,
                           start_holder, stop_holder)
from vmtest.harness import check, test
from vmtest import workloads

OURS = ("vmdense_virtio_mem", "/sys/bus/virtio/drivers/vmdense_virtio_mem")
UPSTREAM = ("virtio_mem", "/sys/bus/virtio/drivers/virtio_mem")

# Before each scenario: no load left running, no driver loaded (unloading
# one gives its memory back), nothing requested.
_RESET = ("pkill stress-ng; pkill integrity; "
          "while pidof stress-ng integrity >/dev/null; do sleep 0.2; done; "
          "/vmdense/lib/unload_drivers.sh vmdense_virtio_mem virtio_mem")


class VmemGuest(PlainGuest):
    """A guest with one virtio-mem device, reset between scenarios."""

    def begin(self, ctx):
        super().begin(ctx)
        self.vm.vmem_set_requested(0)


def sub_block_guest(ctx):
    """1 GiB of RAM and a 2 GiB device of 2 MiB blocks."""
    return ctx.shared(VmemGuest("vmem", reset=_RESET, mem="1G", vmem="2G",
                                vmem_block="2M")).vm


def big_block_guest(ctx):
    """1 GiB of RAM and a 2 GiB device of 256 MiB blocks on node 1."""
    return ctx.shared(VmemGuest("vmem-node1", reset=_RESET, mem="1G",
                                vmem="2G", vmem_block="256M",
                                vmem_node=1)).vm


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


@test("virtio_mem.plug_unplug", suite="virtio_mem", limit=300)
def plug_unplug(ctx):
    """Plug 1 GiB, fill it, unplug it with our driver: exact sizes, the
    host gets the memory back. test-full adds the kernel's virtio_mem in
    the same guest (upstream_*; baseline.virtio_mem.plug_unplug)."""
    vm = sub_block_guest(ctx)
    m = workloads.plug_unplug(ctx, vm, *OURS)
    if ctx.full:
        up = workloads.plug_unplug(ctx, vm, *UPSTREAM)
        for k in ("plug_seconds", "unplug_seconds", "host_mb_before",
                  "host_mb_plugged", "host_mb_after"):
            m["upstream_" + k] = up[k]
    return m


@test("virtio_mem.granularity", suite="virtio_mem", limit=300)
def granularity(ctx):
    """2 MiB steps and sizes that are not multiples of 128 MiB: the
    device, the driver and MemTotal agree exactly each time, the device's
    STATE answers match the driver's bitmap, and every memory block is
    removed again at 0."""
    steps_mb = [2, 4, 6, 130, 128, 126, 258, 2, 384, 382, 200, 0]
    vm = sub_block_guest(ctx)
    load_module(vm, *OURS)
    check(_attr(vm, "mode") == "sub-block", "not in sub-block mode")
    total0 = meminfo(vm)["MemTotal"]
    blocks0 = _memory_blocks(vm)
    for mb in steps_mb:
        _resize(vm, mb * MiB)
        _check_sizes(vm, mb * MiB, total0, "at %d MiB: " % mb)
    blocks = _memory_blocks(vm)
    check(blocks == blocks0, "%d memory blocks at 0 plugged, %d before"
          % (blocks, blocks0))
    reqs = int(_attr(vm, "plug_requests")) + int(_attr(vm, "unplug_requests"))
    bad = int(_attr(vm, "bad_responses"))
    check(bad == 0, "%d answers of QEMU refused" % bad)
    return {"steps": len(steps_mb), "requests": reqs}


@test("virtio_mem.sysfs", suite="virtio_mem", limit=120)
def sysfs(ctx):
    """Per-device attributes: sizes readable, tunables writable, invalid
    writes refused with nothing changed."""
    vm = sub_block_guest(ctx)
    load_module(vm, *OURS)
    d = _sysdir(vm)
    check(_attr(vm, "block_size") == str(2 * MiB), "block_size")
    check(_attr(vm, "subblock_size") == str(2 * MiB), "subblock_size")
    check(_attr(vm, "region_size") == str(2 * GiB), "region_size")
    bad = [("retry_interval_ms", "0"), ("retry_interval_ms", "abc"),
           ("retry_interval_ms", "40000"),  # above retry_max_ms
           ("retry_max_ms", "10"),          # below retry_interval_ms
           ("retry_max_ms", "700000"), ("unplug_online", "maybe"),
           ("unplug_reserve_mb", "-1"),
           ("unplug_reserve_mb", "99999999"),  # more than the guest
           ("state_check", "2")]
    for name, val in bad:
        before = vm.sh("cat %s/%s 2>/dev/null; true" % (d, name))
        rc, out = vm.run("echo %s > %s/%s" % (val, d, name), check=False)
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
    return {"refused_writes": len(bad)}


@test("virtio_mem.reload", suite="virtio_mem", limit=300)
def reload(ctx):
    """Unloading the driver gives everything back (unplugs, offlines and
    removes its memory, also memory that was in use); loading it again
    plugs the requested size again."""
    vm = sub_block_guest(ctx)
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
    check(_memory_blocks(vm) == blocks0, "memory blocks left after rmmod")
    load_module(vm, *OURS)
    vm.wait_for(lambda: vm.vmem_props()["size"] == 384 * MiB,
                "the reloaded driver to plug 384 MiB", 120, 0.05)
    _check_sizes(vm, 384 * MiB, total0, "after reload: ")
    _resize(vm, 0)
    _check_sizes(vm, 0, total0, "at 0: ")
    return {"reloads": 1}


@test("virtio_mem.integrity", suite="virtio_mem", limit=600)
def integrity(ctx):
    """The data-integrity checker holds and churns memory while the
    device grows and shrinks repeatedly (shrinking migrates its pages);
    corrupt_bytes must be 0 and every size exact."""
    cycle_mb = [1024, 384, 896, 256, 1024, 128, 640, 0]
    vm = sub_block_guest(ctx)
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
    return {"corrupt_bytes": corrupt, "cycles": len(cycle_mb),
            "checker_rounds": rounds, "migration_failures": fails}


@test("virtio_mem.unplug_under_pressure", suite="virtio_mem", limit=600)
def unplug_under_pressure(ctx):
    """stress-ng keeps 1200 MiB of the guest's 2 GiB mapped while 1 GiB is
    to be unplugged: ours must take out at least three quarters of what
    memory allows (what was free when asked, less its reserve, at most
    1 GiB) without an OOM kill, and the rest once the load is gone.
    test-full adds the kernel's virtio_mem in the same guest
    (upstream_*)."""
    guest = ctx.shared(VmemGuest("vmem", reset=_RESET, mem="1G", vmem="2G",
                                 vmem_block="2M"))
    m = workloads.unplug_under_load(ctx, guest.vm, *OURS)
    allowed = min(1024, m["memfree_mb_at_request"] - m["reserve_mb"])
    ctx.log("ours: %.0f of 1024 MiB unplugged under load in %.1f s; "
            "memory allowed %d MiB" % (m["unplugged_mb"], m["seconds"],
                                       allowed))
    check(m["oom_kills"] == 0, "unplugging made the guest kill %d "
          "processes for memory" % m["oom_kills"])
    check(allowed >= 256, "only %d MiB could come out: the load left too "
          "little free to judge" % allowed)
    check(m["unplugged_mb"] >= 0.75 * allowed, "unplugged %.0f MiB under "
          "load where %d MiB were free beyond the reserve" % (
              m["unplugged_mb"], allowed))
    m["allowed_unplug_mb"] = allowed
    if ctx.full:
        up = workloads.unplug_under_load(ctx, guest.vm, *UPSTREAM)
        for k in ("unplugged_mb", "requested_unplug_mb", "seconds",
                  "oom_kills"):
            m["upstream_" + k] = up[k]
    return m


@test("virtio_mem.big_block", suite="virtio_mem", limit=300)
def big_block(ctx):
    """A device with 256 MiB blocks (larger than a 128 MiB memory block):
    big-block mode plugs and unplugs whole device blocks, exactly, also
    with memory in use, and removes them at 0."""
    vm = big_block_guest(ctx)
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
    return {"block_mb": 256}


@test("virtio_mem.numa_node", suite="virtio_mem", limit=180)
def numa_node(ctx):
    """A device on NUMA node 1 (ACPI proximity domain): its memory goes
    to node 1, exactly, and leaves it again."""
    vm = big_block_guest(ctx)

    def node1_kb():
        out = vm.sh("cat /sys/devices/system/node/node1/meminfo")
        return int(re.search(r"MemTotal:\s+(\d+) kB", out).group(1))

    load_module(vm, *OURS)
    check(_attr(vm, "node") == "1", "device on node %s, not 1" %
          _attr(vm, "node"))
    _resize(vm, 256 * MiB)
    vm.wait_for(lambda: node1_kb() == 256 * 1024,
                "node 1 to hold 256 MiB (has %d kB)" % node1_kb(), 10)
    _resize(vm, 0)
    vm.wait_for(lambda: node1_kb() == 0, "node 1 to be empty", 10)
    return {"node": 1}


def _sleep(vm, state):
    """pm_test "devices": the drivers freeze and restore, the machine does
    not sleep. Returns the write's status and the kernel's words on it."""
    vm.sh("echo devices >/sys/power/pm_test; "
          "echo 0 >/sys/module/suspend/parameters/pm_test_delay 2>/dev/null;"
          " dmesg -c >/dev/null")
    rc, out = vm.run("echo %s >/sys/power/state" % state, check=False,
                     timeout=120)
    return rc, out + vm.sh("dmesg")


@test("virtio_mem.suspend_resume", suite="virtio_mem", limit=300)
def suspend_resume(ctx):
    """vmdense_virtio_mem across sleep (pm_test "devices"): with nothing
    plugged, suspend-to-idle and hibernation both freeze and restore it,
    and plugging works after; with 256 MiB plugged (data in it),
    suspend-to-idle keeps the memory, while hibernation is refused with a
    message (the device may not keep memory across it), and the memory
    and its data stay; unplugging works after."""
    vm = sub_block_guest(ctx)
    load_module(vm, *OURS)
    total0 = meminfo(vm)["MemTotal"]
    m = {}
    for state in ("freeze", "disk"):
        rc, log = _sleep(vm, state)
        with open(ctx.path("empty-%s.txt" % state), "w") as f:
            f.write(log)
        check(rc == 0, "%s with nothing plugged failed (%d):\n%s" % (
            state, rc, log[-1500:]))
    _resize(vm, 256 * MiB)
    _check_sizes(vm, 256 * MiB, total0, "plugged after resume: ")
    start_holder(vm, 192)
    rc, log = _sleep(vm, "freeze")
    with open(ctx.path("plugged-freeze.txt"), "w") as f:
        f.write(log)
    check(rc == 0, "suspend-to-idle with memory plugged failed (%d):\n%s" % (
        rc, log[-1500:]))
    _check_sizes(vm, 256 * MiB, total0, "after suspend-to-idle: ")
    rc, log = _sleep(vm, "disk")
    with open(ctx.path("plugged-disk.txt"), "w") as f:
        f.write(log)
    check(rc != 0 and "cannot sleep with" in log, "hibernation with memory "
          "plugged was not refused (%d):\n%s" % (rc, log[-1500:]))
    _check_sizes(vm, 256 * MiB, total0, "after the refused hibernation: ")
    stop_holder(vm)
    _resize(vm, 0)
    _check_sizes(vm, 0, total0, "at 0: ")
    m["states"] = 4
    return m


@test("virtio_mem.kdump", suite="virtio_mem", limit=400)
def kdump(ctx):
    """A real crash kernel (kexec -p, crashkernel=): the crashed kernel had
    256 MiB plugged and in use. In the kdump kernel vmdense_virtio_mem
    must leave that memory plugged (no UNPLUG_ALL: the device still has
    256 MiB), say it runs for a dump, and /proc/vmcore must read whole
    (the driver tells it which device memory is plugged)."""
    with open(vmmod.KERNEL, "rb") as f:
        kernel = f.read()
    with open(vmmod.INITRD_SLIM, "rb") as f:
        initrd = f.read()
    with vmmod.VM(mem="1G", vmem="1G", vmem_block="2M", timeout=360,
                  cmdline="crashkernel=160M", cmd="sh /vmdense/kdump/crash.sh",
                  log=ctx.path("serial.log"), extra_files={
                      "vmdense/crash/bzImage": (0o644, kernel),
                      "vmdense/crash/initrd": (0o644, initrd)}) as vm:
        vm.wait_for(lambda: "KDUMP-READY" in vm.serial(),
                    "the first kernel's driver", 120, 0.2)
        vm.vmem_set_requested(256 * MiB)
        vm.wait_for(lambda: "KDUMP-CRASHING" in vm.serial() or
                    "KDUMP-LOAD-FAILED" in vm.serial(),
                    "the crash kernel to be loaded", 180, 0.2)
        check("KDUMP-LOAD-FAILED" not in vm.serial(), "kexec -p failed:\n%s"
              % vm.serial_tail())
        vm.wait_for(lambda: "KDUMP-DRIVER" in vm.serial(),
                    "the kdump kernel to load the driver", 180, 0.2)
        plugged = vm.vmem_props()["size"]
        rc, text = vm.wait_exit()
    read = re.search(r"KDUMP-READ rc=(\d+) (.*)", text)
    size = re.search(r"KDUMP-KERNEL vmcore_bytes=(\d+)", text)
    check(size, "the kdump kernel has no /proc/vmcore:\n%s" %
          "\n".join(text.splitlines()[-30:]))
    check(plugged == 256 * MiB, "the kdump kernel's driver left %d bytes "
          "plugged of the crashed kernel's 256 MiB" % plugged)
    check("KDUMP-MSG" in text, "the driver did not say it runs for a dump")
    check(read and read.group(1) == "0", "reading /proc/vmcore failed: %s"
          % (read.group(0) if read else "no result"))
    # the crash itself is the point: its report is expected
    console = text.split("KDUMP-CRASHING", 1)
    check_clean(console[0], "the first kernel's console")
    after = console[1].split("KDUMP-KERNEL", 1)[-1]
    check_clean(after, "the kdump kernel's console")
    return {"plugged_mb_in_kdump": plugged // MiB,
            "vmcore_mb": int(size.group(1)) >> 20,
            "read": read.group(2).strip()}
