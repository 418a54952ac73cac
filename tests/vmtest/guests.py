# SPDX-License-Identifier: GPL-2.0
"""Plain guests (QEMU against its real virtio devices) that consecutive
tests share, and the helpers the scenarios use in them.

Public names: PlainGuest, meminfo(), load_module(), start_holder(),
stop_holder(), HostSampler, measure_return(), MiB, GiB.
"""
import os
import time

import vmdense_vm as vmmod

from .console import check_clean
from .harness import OUT, Shared, check

MiB = 1 << 20
GiB = 1 << 30


class PlainGuest(Shared):
    """A QEMU guest kept for the tests that ask for an equal one (same
    @name and options). Before each test @reset runs in it (a shell
    snippet that puts back what a test may have changed); after each,
    the part of the console that test produced goes to its log directory
    (serial.log) and is checked for kernel reports."""

    def __init__(self, name, reset="", **vm_opts):
        self.name = name
        self.reset = reset
        self.opts = vm_opts
        self.key = (name,) + tuple(sorted(vm_opts.items()))
        self.vm = None
        self._begin = 0

    def label(self):
        return "guest %s (%s)" % (self.name, ", ".join(
            "%s=%s" % kv for kv in sorted(self.opts.items())))

    boots = {}  # per name, in this run: for the log names

    def open(self):
        n = PlainGuest.boots[self.name] = PlainGuest.boots.get(self.name, 0) + 1
        d = os.path.join(OUT, "logs", "guests")
        os.makedirs(d, exist_ok=True)
        self.log = os.path.join(d, "%s-%d.log" % (self.name, n))
        self.vm = vmmod.VM(log=self.log, timeout=3600, **self.opts)
        self.vm.start()

    def close(self):
        if self.vm:
            self.vm.stop()
            self.vm = None

    def healthy(self):
        try:
            return self.vm is not None and self.vm.run(
                "true", timeout=20, check=False)[0] == 0
        except vmmod.VMError:
            return False

    def begin(self, ctx):
        self._begin = os.path.getsize(self.log)
        self.vm.deadline = time.monotonic() + ctx.remaining() + 60
        if self.reset:
            self.vm.sh(self.reset, timeout=120)

    def console(self):
        """The console since the current test began."""
        with open(self.log, "rb") as f:
            f.seek(self._begin)
            return f.read().decode(errors="replace")

    def end(self, ctx):
        text = self.console()
        with open(ctx.path("serial.log"), "w") as f:
            f.write(text)
        check_clean(text, "the guest's console (%s)" % ctx.path(
            "serial.log"), oom_ok=ctx.oom_ok)


def meminfo(vm):
    """/proc/meminfo of the guest in kB."""
    res = {}
    for line in vm.sh("cat /proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        if rest.split():
            res[key] = int(rest.split()[0])
    return res


def load_module(vm, name, driver_dir, timeout=60, params=""):
    """modprobe a driver and wait until it bound a device on the virtio
    bus (its sysfs driver directory holds a virtioN link)."""
    vm.sh("modprobe %s %s" % (name, params))
    vm.wait_for(lambda: vm.run("ls %s | grep -q '^virtio'" % driver_dir,
                               check=False)[0] == 0,
                "%s to bind a device" % name, timeout, interval=0.3)


def start_holder(vm, mb, tag="hold"):
    """Allocate, fill and keep mb MiB in the guest (the integrity checker,
    which also verifies the data) until stop_holder(); returns once all of
    it is touched."""
    vm.sh("/vmdense/integrity --mb %d --churn 0 --seconds 100000 "
          "--interval-ms 1000 --verbose >/tmp/%s.out 2>&1 &\n"
          "echo $! >/tmp/%s.pid" % (mb, tag, tag))
    vm.wait_for(lambda: "round" in vm.sh("cat /tmp/%s.out" % tag),
                "the holder to touch %d MiB" % mb, 300, interval=0.5)


def stop_holder(vm, tag="hold"):
    """Stop the holder (it verifies once more and frees everything); check
    that its data stayed intact."""
    out = vm.sh("pid=$(cat /tmp/%s.pid); kill $pid\n"
                "while [ -d /proc/$pid ]; do sleep 0.1; done\n"
                "cat /tmp/%s.out" % (tag, tag))
    check("corrupt_bytes=0 " in out, "data corrupted:\n%s" % out[-1000:])
    return out


class HostSampler:
    """Samples the guest's host memory (MiB) over time."""

    def __init__(self, vm):
        self.vm = vm
        self.samples = []
        self.t0 = time.monotonic()

    def sample(self):
        mb = self.vm.host_mb()
        self.samples.append((time.monotonic() - self.t0, mb))
        return mb

    def until_stable(self, quiet_s, max_s, min_s=0.0, tol_mb=2.0,
                     interval=0.1):
        """Sample until the value moved less than tol_mb during quiet_s
        seconds (after at least min_s), or max_s passed."""
        while True:
            now = time.monotonic() - self.t0
            mb = self.sample()
            recent = [v for t, v in self.samples if t >= now - quiet_s]
            settled = (now >= max(min_s, quiet_s) and
                       max(recent) - min(recent) < tol_mb)
            if settled or now >= max_s:
                return mb
            time.sleep(interval)


def measure_return(ctx, vm, held_mb, memfree_before_kb, quiet_s=8,
                   max_s=90):
    """Right after the guest freed memory: sample the host memory until it
    settles, write host-memory.tsv. Returns freed MiB (guest MemFree
    growth once the host memory settled: blocks isolated for a report in
    flight are not in MemFree, and a block that never came back from a
    report shows as missing), returned MiB (host memory drop from
    held_mb), seconds until 95 % of it had come back, and the final host
    MiB."""
    sampler = HostSampler(vm)
    final = sampler.until_stable(quiet_s=quiet_s, max_s=max_s, min_s=4)
    freed_mb = (meminfo(vm)["MemFree"] - memfree_before_kb) / 1024
    returned = held_mb - final
    secs = sampler.samples[-1][0]
    for t, mb in sampler.samples:
        if held_mb - mb >= 0.95 * returned:
            secs = t
            break
    with open(ctx.path("host-memory.tsv"), "w") as f:
        f.write("seconds\thost_mb\n")
        for t, mb in sampler.samples:
            f.write("%.2f\t%.1f\n" % (t, mb))
    return freed_mb, returned, secs, final
