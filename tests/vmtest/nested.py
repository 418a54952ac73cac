# SPDX-License-Identifier: GPL-2.0
"""Nested runs: an L1 guest (QEMU TCG, -cpu max, so with SVM) whose KVM
runs host-stub (or QEMU) with an L2 guest. One L1 serves many scenarios:
each is a script /vmdense/l1/NAME.sh (tests/guest/l1) run through the
guest agent; its L2 runs /vmdense/l2/*.sh. L1's console holds its own
kernel log and, live, every L2 console as "L2| " lines, so both survive
an L1 that dies, and the host prints progress as it happens.

Public names: L1, L2Run, classify(), Ending, may_retry(),
DOCUMENTED_ACCIDENTS, L2_STUB, L2_PLAIN.
"""
import os
import re
import threading
import time

import vmdense_vm as vmmod

from .console import ALARMS, reports, vmdense_frames

# Where L1 finds what it runs (see L1.__init__).
L2_STUB = "/vmdense/host-stub"
L2_PLAIN = "/vmdense/l2.cpio.gz"

# Failure signatures shown by experiment to lie outside vmdense, each with
# where it is documented (tests/NESTED-ENDINGS.md): only these may be
# retried, and only a few times per run (harness.RETRY_BUDGET).
DOCUMENTED_ACCIDENTS = {}


class Ending:
    """How one L2 run ended: @kind is one of clean, failed (the scenario's
    own check), l2_report (a kernel report in L2), l2_triple_fault (no
    report before it), l2_reset (a reset or halt without a report or an
    exit status), l2_time_limit, l2_hang (no ending line), l1_report,
    l1_died; @detail is the first report line or the reason; @ours the
    frames of vmdense code in L2's report."""

    def __init__(self, kind, detail="", ours=()):
        self.kind = kind
        self.detail = detail
        self.ours = list(ours)

    def signature(self):
        return "%s: %s" % (self.kind, self.detail) if self.detail \
            else self.kind

    def __repr__(self):
        return "Ending(%s)" % self.signature()


class L2Run:
    """What one L1 script run gave: its output (METRIC and ENDING lines
    among it), the L1 and L2 consoles of that span, its status, seconds,
    and whether L1 survived."""

    def __init__(self, status, output, l1_console, l2_console, seconds,
                 l1_alive):
        self.status = status
        self.output = output
        self.l1_console = l1_console
        self.l2_console = l2_console
        self.seconds = seconds
        self.l1_alive = l1_alive

    def metrics(self):
        m = {}
        for k, v in re.findall(r"^METRIC (\S+) (\S+)\s*$", self.output,
                               re.M):
            try:
                m[k] = float(v) if "." in v else int(v)
            except ValueError:
                m[k] = v
        return m

    def values(self, tag):
        """The last NAME=VALUE of each name on L2 console lines starting
        with @tag (what L2 scripts print with counters())."""
        return {k: int(v, 0) for k, v in re.findall(
            r"^%s (\w+)=(-?(?:0x)?[0-9a-f]+)\s*$" % re.escape(tag),
            self.l2_console, re.M)}

    def endings(self):
        return re.findall(r"^ENDING (.*)$", self.output, re.M)


def _strip_block(lines, marker):
    """@lines less the WARNING blocks (from "cut here" to "end trace")
    that hold @marker."""
    out, i = [], 0
    while i < len(lines):
        if "cut here" in lines[i]:
            j = i + 1
            while j < len(lines) and "end trace" not in lines[j]:
                j += 1
            if any(marker in ln for ln in lines[i:j + 1]):
                i = j + 1
                continue
        out.append(lines[i])
        i += 1
    return out


def classify(run, allowed_l2=(), ignore_blocks=()):
    """The Ending of @run (an L2Run): kernel reports first (L1's, then
    L2's), then how the monitor ended. @allowed_l2: regular expressions of
    documented L2 report lines; @ignore_blocks: markers of whole WARNING
    blocks to leave out (a known warning, named by the caller)."""
    if not run.l1_alive:
        return Ending("l1_died", "L1 ended during the run")
    l1 = run.l1_console.splitlines()
    found = reports(l1)
    if found:
        return Ending("l1_report", l1[found[0]].strip())
    l2 = run.l2_console.splitlines()
    for marker in ignore_blocks:
        l2 = _strip_block(l2, marker)
    found = reports(l2, allowed_l2)
    if found:
        first = found[0]
        for i in found:     # the line that names the report, if any
            if re.search(r"BUG:|Oops|general protection|double fault|"
                         r"Kernel panic|WARNING:|stall", l2[i]):
                first = i
                break
        text = "\n".join(l2[first:first + 60])
        cs = re.search(r"CS:\s+([0-9a-f]{4})", text)
        rip = re.search(r"RIP: [0-9a-f]{4}:(\S+)", text)
        detail = l2[first].strip()
        if rip:
            detail += " | RIP %s" % rip.group(1)
        if cs:
            detail += " | CS %s" % cs.group(1)
        return Ending("l2_report", detail, vmdense_frames(text))
    ending = run.endings()
    if not ending:
        return Ending("l2_hang", "no ENDING line (status %s)" % run.status)
    last = ending[-1]
    if "triple fault" in last:
        return Ending("l2_triple_fault", last)
    if "status=124" in last or "time limit" in last:
        return Ending("l2_time_limit", last)
    if re.search(r"reason=guest (reset|halted|system event)", last):
        return Ending("l2_reset", last)
    if run.status != 0 or "reason=unknown" in last:
        return Ending("failed", last)
    return Ending("clean", last)


def may_retry(ending):
    """The documented accident @ending matches, or None. Never an ending
    with our frames in it, an L1 report, or a lockdep report."""
    if ending.ours or ending.kind in ("l1_report", "clean", "failed"):
        return None
    if "lock" in ending.detail:
        return None
    for name, rule in DOCUMENTED_ACCIDENTS.items():
        if rule(ending):
            return name
    return None


class L1:
    """One L1 guest for nested runs. @log: its serial console file;
    @l2_initrd: the initramfs L2s boot (slim by default); @extra: more
    files for L1 ({path in L1: host path}); @progress(line): called with
    each line worth showing as it comes (steps, reports)."""

    def __init__(self, log, l2_initrd=None, extra=None, progress=None,
                 timeout=3600, mem="2G", smp=2):
        self.log = log
        self.l2_initrd = l2_initrd or vmmod.INITRD_SLIM
        self.extra = dict(extra or {})
        self.progress = progress
        self.timeout = timeout
        self.mem = mem
        self.smp = smp
        self.vm = None
        self.qemu_version = None
        self._tail_stop = None
        self._tail_thread = None

    # ---- life cycle -------------------------------------------------
    def start(self):
        files = {}
        stub = os.path.join(vmmod.OUT, "host-stub", "host-stub")
        for dst, src in [("vmdense/bzImage", vmmod.KERNEL),
                         ("vmdense/l2.cpio.gz", self.l2_initrd),
                         ("vmdense/host-stub", stub)] + \
                sorted(self.extra.items()):
            with open(src, "rb") as f:
                files[dst] = (0o755 if dst.endswith("host-stub") else 0o644,
                              f.read())
        qemu, self.qemu_version = vmmod.nested_qemu()
        self.vm = vmmod.VM(mem=self.mem, smp=self.smp, timeout=self.timeout,
                           log=self.log, extra_files=files, qemu=qemu,
                           initrd=vmmod.INITRD_SLIM)
        self.vm.start()
        self._start_tail()
        rc, out = self.vm.run("[ -c /dev/kvm ] && echo kvm-ok; "
                              "echo advise >/sys/kernel/mm/"
                              "transparent_hugepage/shmem_enabled",
                              check=False)
        self.has_kvm = "kvm-ok" in out
        return self

    def stop(self):
        if self._tail_stop:
            self._tail_stop.set()
            self._tail_thread.join(5)
            self._tail_stop = None
        if self.vm:
            self.vm.stop()
            self.vm = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def alive(self):
        return self.vm is not None and self.vm.proc.poll() is None

    def uptime(self):
        return time.monotonic() - self._t0

    # ---- progress ---------------------------------------------------
    def _start_tail(self):
        self._t0 = time.monotonic()
        self._tail_stop = threading.Event()
        self._tail_thread = threading.Thread(target=self._tail, daemon=True)
        self._tail_thread.start()

    def _tail(self):
        pos, buf = 0, ""
        while not self._tail_stop.is_set():
            try:
                with open(self.log, errors="replace") as f:
                    f.seek(pos)
                    chunk = f.read()
                    pos = f.tell()
            except OSError:
                chunk = ""
            buf += chunk
            *lines, buf = buf.split("\n")
            for ln in lines:
                self._show(ln.rstrip("\r"))
            self._tail_stop.wait(0.5)

    def _show(self, line):
        if not self.progress:
            return
        if "L1-STEP " in line:
            self.progress("L1: " + line.split("L1-STEP ", 1)[1])
        elif line.startswith("L2| ") and "L2-STEP " in line:
            self.progress("L2: " + line.split("L2-STEP ", 1)[1])
        elif line.startswith("L2| ") and "userspace up after" in line:
            self.progress("L2: " + line[4:].split(": ", 1)[-1])
        elif any(a in line for a in ALARMS) and "cut here" not in line:
            self.progress(("" if line.startswith("L2| ") else "L1| ") +
                          line)

    # ---- runs -------------------------------------------------------
    def run(self, script, env=None, timeout=900):
        """Run /vmdense/l1/@script (tests/guest/l1) with @env in L1;
        returns an L2Run. An L1 that dies gives l1_alive False."""
        env = dict(env or {})
        assign = " ".join("%s='%s'" % (k, str(v).replace("'", "'\\''"))
                          for k, v in sorted(env.items()))
        start = self._console_size()
        t0 = time.monotonic()
        status, output, alive = None, "", True
        try:
            status, output = self.vm.run("cd / && %s sh /vmdense/l1/%s"
                                         % (assign, script),
                                         timeout=timeout, check=False)
        except vmmod.VMError as e:
            alive = self.alive()
            output = "L1-RUNNER %s" % str(e).splitlines()[0]
            if alive:   # the agent gave no answer in time: stop L1
                self.stop()
                alive = False
                output += " (L1 stopped)"
        secs = time.monotonic() - t0
        time.sleep(0.6)     # the tail thread shows what came last
        l1, l2 = self._console_since(start)
        return L2Run(status, output, l1, l2, secs, alive)

    def _console_size(self):
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0

    def _console_since(self, offset):
        """L1's console from byte @offset on, split into L1's own lines
        and L2's (without their prefix)."""
        with open(self.log, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        l1, l2 = [], []
        for ln in text.splitlines():
            ln = ln.rstrip("\r")
            if ln.startswith("L2| "):
                l2.append(ln[4:])
            else:
                l1.append(ln)
        return "\n".join(l1) + "\n", "\n".join(l2) + "\n"
