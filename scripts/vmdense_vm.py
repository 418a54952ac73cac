# SPDX-License-Identifier: GPL-2.0
"""Boot the vmdense kernel and initramfs in QEMU and talk to the guest.

One VM class serves the tests, the benchmarks, `make run` and people (through
scripts/vmrun). What it gives:
  - accelerator: KVM only when a probe guest really boots with it (these
    machines have a /dev/kvm that does not run ordinary guests), else TCG
    with -cpu max;
  - guest RAM from memory-backend-memfd, so the host memory a guest costs is
    exactly the memfds' allocated blocks;
  - optional virtio-mem-pci and virtio-balloon-pci (free page reporting);
  - QMP helpers: virtio-mem requested-size, balloon target, device
    properties;
  - a command run at boot, or a guest agent on the second serial port to run
    commands one by one;
  - the serial console in a log file; a time limit on every boot; QEMU is
    killed on any exit of ours (PR_SET_PDEATHSIG, atexit, context manager).
"""

import atexit
import base64
import ctypes
import gzip
import io
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "out")
# VMDENSE_KERNEL_VARIANT=NAME: the kernel variant scripts/build-kernel
# built with KERNEL_VARIANT=NAME, and its initramfs (make test-kasan)
_V = "-" + os.environ["VMDENSE_KERNEL_VARIANT"] \
    if os.environ.get("VMDENSE_KERNEL_VARIANT") else ""
KERNEL = os.path.join(OUT, "build" + _V, "arch", "x86", "boot", "bzImage")
INITRD = os.path.join(OUT, "initramfs%s.cpio.gz" % _V)
# the same without stress-ng (scripts/build-initramfs): what the nested
# tests' L1 and L2 boot
INITRD_SLIM = os.path.join(OUT, "initramfs%s-slim.cpio.gz" % _V)
ACCEL_CACHE = os.path.join(OUT, "accel")
QEMU = "qemu-system-x86_64"
# The emulator of nested runs' L1 (scripts/install-deps unpacks QEMU 10.0
# from bookworm-backports there); VMDENSE_NESTED_QEMU overrides it.
NESTED_QEMU = os.path.join(OUT, "qemu-nested", "root", "usr", "bin",
                           "qemu-system-x86_64")
MiB = 1 << 20


class VMError(Exception):
    """A boot or a guest command went wrong; the message says what."""


def nested_qemu():
    """(binary, version line) of the QEMU that runs a nested test's L1:
    VMDENSE_NESTED_QEMU, else the one install-deps unpacked, else the
    system's. Its emulation of SVM decides whether L2 survives: see
    tests/suites/hoststub.py."""
    path = os.environ.get("VMDENSE_NESTED_QEMU") or (
        NESTED_QEMU if os.access(NESTED_QEMU, os.X_OK) else QEMU)
    res = subprocess.run([path, "--version"], capture_output=True,
                         text=True, timeout=60)
    if res.returncode != 0:
        raise VMError("%s --version failed: %s" % (path, res.stderr.strip()))
    return path, res.stdout.splitlines()[0]


def parse_size(text):
    """'512M', '2G', '2MiB', '4096' (bytes) -> bytes."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(i?B)?\s*", str(text), re.I)
    if not m:
        raise ValueError("bad size %r (use e.g. 512M, 2G)" % text)
    shift = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2).upper()]
    return int(m.group(1)) << shift


def _die_with_parent():
    """Child side of Popen: let the kernel kill QEMU when we die."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _log(msg):
    print("[vm] " + msg, file=sys.stderr, flush=True)


def _cpio_newc(files):
    """A gzip'ed newc cpio archive holding {path: (mode, bytes)}."""
    buf = io.BytesIO()
    ino = 1000

    def entry(name, mode, data):
        nonlocal ino
        ino += 1
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        buf.write(hdr.encode() + name_b)
        buf.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
        buf.write(data)
        buf.write(b"\0" * ((4 - len(data) % 4) % 4))

    for path in sorted({os.path.dirname(p) for p in files} - {""}):
        entry(path, stat.S_IFDIR | 0o755, b"")
    for path, (mode, data) in sorted(files.items()):
        entry(path, stat.S_IFREG | mode, data)
    entry("TRAILER!!!", 0, b"")
    return gzip.compress(buf.getvalue(), 1)


def kvm_usable(timeout=40):
    """True when a probe guest boots to user space under KVM.

    /dev/kvm opening is not enough on these machines (its KVM flavour does
    not run ordinary guests), so boot for real. Cached in out/accel.
    """
    if os.path.exists(ACCEL_CACHE):
        with open(ACCEL_CACHE) as f:
            return f.read().strip() == "kvm"
    ok = False
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        _log("probing KVM with a guest boot (up to %d s)" % timeout)
        try:
            with VM(accel="kvm", mem="256M", timeout=timeout,
                    cmd="echo vmdense-kvm-probe-ok") as vm:
                rc, out = vm.wait_exit()
                ok = rc == 0 and "vmdense-kvm-probe-ok" in out
        except VMError as e:
            _log("KVM probe failed: %s" % str(e).splitlines()[0])
    _log("accelerator: %s" % ("kvm" if ok else "tcg (KVM cannot run guests)"))
    os.makedirs(OUT, exist_ok=True)
    with open(ACCEL_CACHE, "w") as f:
        f.write("kvm\n" if ok else "tcg\n")
    return ok


class VM:
    """One QEMU guest. Use as a context manager; see scripts/vmrun --help.

    mem: boot RAM; smp: vCPUs; vmem: virtio-mem device size (None: none);
    vmem_block, vmem_requested, vmem_node: its block size, initial requested
    size and NUMA node; numa: number of guest NUMA nodes (RAM on node 0);
    balloon: add virtio-balloon-pci with free-page-reporting=on;
    cmd: shell command run at boot (the guest powers off after it), else the
    agent serves run(); cmdline: extra kernel parameters; timeout: seconds
    this boot may last in all; accel: 'auto', 'kvm' or 'tcg'; qemu: the
    emulator binary (default: the system's, see nested_qemu());
    drive: a raw disk image (or a list of them) as virtio-blk disks,
    /dev/vda first: with kernel= and initrd= of the distribution in the
    image and cmdline="root=/dev/vda" it boots a disk image (the deploy
    tier's Debian guest, tests/suites/deploy.py; wait_quit() waits for
    it to end by itself).
    """

    def __init__(self, mem="1G", smp=2, vmem=None, vmem_block="2M",
                 vmem_requested=0, vmem_node=None, numa=1, balloon=False,
                 cmd=None, cmdline="", timeout=600, accel="auto",
                 kernel=KERNEL, initrd=INITRD, log=None, extra_files=None,
                 console=False, qemu=QEMU, drive=None):
        self.qemu = qemu
        self.mem = parse_size(mem)
        self.smp = smp
        self.vmem = parse_size(vmem) if vmem else 0
        self.vmem_block = parse_size(vmem_block)
        self.vmem_requested = parse_size(vmem_requested)
        self.vmem_node = vmem_node
        self.numa = max(numa, (vmem_node or 0) + 1)
        self.balloon = balloon
        self.cmd = cmd
        self.cmdline = cmdline
        self.timeout = timeout
        self.accel = accel
        self.kernel = kernel
        self.initrd = initrd
        self.extra_files = extra_files or {}
        self.console = console
        self.drives = [drive] if isinstance(drive, str) else \
            list(drive or [])
        self.tmp = tempfile.mkdtemp(prefix="vmdense-vm-")
        self.log = log or os.path.join(self.tmp, "serial.log")
        self.proc = None
        self.qmp = None
        self.agent = None
        self.deadline = None
        self._agent_buf = b""
        self._qmp_buf = b""
        self._watchdog = None

    # ---- life cycle -------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _qemu_args(self, accel):
        ram = ["-object", "memory-backend-memfd,id=ram0,size=%d" % self.mem]
        args = [self.qemu, "-nodefaults", "-no-user-config", "-display", "none",
                "-no-reboot", "-smp", str(self.smp)]
        if accel == "kvm":
            args += ["-accel", "kvm", "-cpu", "host"]
        else:
            args += ["-accel", "tcg", "-cpu", "max"]
        mem_opt = "%dM" % (self.mem // MiB)
        if self.vmem:
            # virtio-mem lives in the device memory region above maxmem
            mem_opt += ",maxmem=%dM" % ((self.mem + self.vmem) // MiB)
        args += ["-m", mem_opt] + ram
        if self.numa > 1:
            args += ["-numa", "node,nodeid=0,memdev=ram0"]
            for n in range(1, self.numa):
                args += ["-numa", "node,nodeid=%d" % n]
            args += ["-machine", "q35"]
        else:
            args += ["-machine", "q35,memory-backend=ram0"]
        if self.vmem:
            args += ["-object", "memory-backend-memfd,id=vmem0,size=%d"
                     % self.vmem,
                     "-device", "virtio-mem-pci,id=vm0,memdev=vmem0,"
                     "block-size=%d,requested-size=%d%s" % (
                         self.vmem_block, self.vmem_requested,
                         ",node=%d" % self.vmem_node
                         if self.vmem_node is not None else "")]
        if self.balloon:
            args += ["-device", "virtio-balloon-pci,id=balloon0,"
                     "free-page-reporting=on"]
        for i, path in enumerate(self.drives):
            args += ["-drive", "file=%s,format=raw,if=none,id=disk%d"
                     % (path, i),
                     "-device", "virtio-blk-pci,drive=disk%d" % i]
        qmp_path = os.path.join(self.tmp, "qmp.sock")
        args += ["-qmp", "unix:%s,server=on,wait=off" % qmp_path]
        if self.console:
            args += ["-serial", "mon:stdio"]
        else:
            args += ["-serial", "file:%s" % self.log]
        # no_timer_check: under TCG on a loaded host the IO-APIC timer
        # check at boot can miss its ticks and panic ("IO-APIC + timer
        # doesn't work"); the check proves nothing about a virtual timer
        append = "console=ttyS0 panic=-1 oops=panic no_timer_check " \
                 "memhp_default_state=online_movable " + self.cmdline
        if self.cmd is None and not self.console:
            agent_path = os.path.join(self.tmp, "agent.sock")
            args += ["-chardev", "socket,id=agent,path=%s,server=on,wait=off"
                     % agent_path, "-serial", "chardev:agent"]
            append += " vmdense.agent=1"
        args += ["-kernel", self.kernel, "-initrd", self._initrd(),
                 "-append", append.strip()]
        return args

    def _initrd(self):
        """The base initramfs with a per-boot archive appended (command)."""
        files = dict(self.extra_files)
        if self.cmd is not None:
            files["vmdense/cmd.sh"] = (
                0o755, ("#!/bin/sh\n" + self.cmd + "\n").encode())
        if not files:
            return self.initrd
        path = os.path.join(self.tmp, "initrd.cpio.gz")
        with open(self.initrd, "rb") as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
            dst.write(_cpio_newc(files))
        return path

    def start(self):
        for f in [self.kernel, self.initrd] + self.drives:
            if not os.path.exists(f):
                raise VMError("%s missing: run `make build` first" % f)
        accel = self.accel
        if accel == "auto":
            accel = "kvm" if kvm_usable() else "tcg"
        self.accel_used = accel
        args = self._qemu_args(accel)
        self.argv = args
        _log("booting (%s, %d MiB%s%s, limit %d s)" % (
            accel, self.mem // MiB,
            ", virtio-mem %d MiB" % (self.vmem // MiB) if self.vmem else "",
            ", balloon" if self.balloon else "", self.timeout))
        self.deadline = time.monotonic() + self.timeout
        self.proc = subprocess.Popen(
            args, stdin=None if self.console else subprocess.DEVNULL,
            stdout=None if self.console else subprocess.PIPE,
            stderr=None if self.console else subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        atexit.register(self.stop)
        # the time limit holds even if the caller blocks elsewhere
        self._watchdog = threading.Timer(self.timeout, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()
        if self.console:
            return
        self._connect_qmp()
        if self.cmd is None:
            self._connect_agent()

    def _expire(self):
        if self.proc and self.proc.poll() is None:
            self.expired = True
            self.proc.kill()

    def stop(self):
        """Ask QEMU to quit, kill it if it does not, clean up."""
        if self._watchdog:
            self._watchdog.cancel()
        if self.proc and self.proc.poll() is None:
            try:
                if self.qmp:
                    self._qmp_cmd("quit", timeout=5)
            except (VMError, OSError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in (self.qmp, self.agent):
            if s:
                s.close()
        self.qmp = self.agent = None
        if not self.console and self.log.startswith(self.tmp):
            # keep the serial log of a VM that had no log file named
            keep = os.path.join(OUT, "logs", "last-serial.log")
            os.makedirs(os.path.dirname(keep), exist_ok=True)
            if os.path.exists(self.log):
                shutil.copy(self.log, keep)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def remaining(self):
        return max(0.0, self.deadline - time.monotonic())

    def _check_alive(self, what):
        if self.proc.poll() is not None:
            out = self.proc.stdout.read().decode(errors="replace") \
                if self.proc.stdout else ""
            why = "time limit %d s reached" % self.timeout \
                if getattr(self, "expired", False) else \
                "QEMU exited with %s" % self.proc.returncode
            raise VMError("%s while %s\n%s\n--- serial tail ---\n%s" % (
                why, what, out.strip(), self.serial_tail()))
        if time.monotonic() > self.deadline:
            self._expire()
            raise VMError("time limit %d s reached while %s\n"
                          "--- serial tail ---\n%s" % (
                              self.timeout, what, self.serial_tail()))

    def serial(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def serial_tail(self, lines=30):
        return "\n".join(self.serial().splitlines()[-lines:])

    def wait_exit(self):
        """For cmd= boots: wait for power-off; return (status, console)."""
        while self.proc.poll() is None:
            if time.monotonic() > self.deadline:
                self._expire()
                raise VMError("time limit %d s reached; serial tail:\n%s" % (
                    self.timeout, self.serial_tail()))
            time.sleep(0.2)
        text = self.serial()
        m = re.search(r"VMDENSE-EXIT (\d+)", text)
        # the watchdog killed QEMU at the limit: not an end of the guest's
        if not m and getattr(self, "expired", False):
            raise VMError("time limit %d s reached; serial tail:\n%s" % (
                self.timeout, self.serial_tail()))
        if not m:
            raise VMError("guest ended without an exit status "
                          "(QEMU status %s); serial tail:\n%s"
                          % (self.proc.returncode, self.serial_tail()))
        return int(m.group(1)), text

    def wait_quit(self, timeout=None):
        """Wait for QEMU to exit by itself (the guest powered off, or
        rebooted: QEMU runs with -no-reboot); return its exit status."""
        end = self.deadline if timeout is None else \
            min(self.deadline, time.monotonic() + timeout)
        while self.proc.poll() is None:
            if time.monotonic() > end:
                raise VMError("the guest did not end within %.0f s; serial "
                              "tail:\n%s" % (timeout or self.timeout,
                                              self.serial_tail()))
            time.sleep(0.2)
        return self.proc.returncode

    # ---- sockets ----------------------------------------------------
    def _connect(self, name):
        path = os.path.join(self.tmp, name)
        while True:
            self._check_alive("connecting to %s" % name)
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                return s
            except OSError:
                s.close()
                time.sleep(0.05)

    def _readline(self, sock, bufname, what, timeout=None):
        end = self.deadline if timeout is None else \
            min(self.deadline, time.monotonic() + timeout)
        while b"\n" not in getattr(self, bufname):
            self._check_alive(what)
            left = end - time.monotonic()
            if left <= 0:
                raise VMError("no answer within the time limit while %s\n"
                              "--- serial tail ---\n%s"
                              % (what, self.serial_tail()))
            sock.settimeout(min(left, 1.0))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                # QEMU went away: say why if it did exit
                try:
                    self.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
                self._check_alive(what)
                raise VMError("connection closed while %s" % what)
            setattr(self, bufname, getattr(self, bufname) + chunk)
        line, rest = getattr(self, bufname).split(b"\n", 1)
        setattr(self, bufname, rest)
        return line.decode(errors="replace").rstrip("\r")

    def _connect_qmp(self):
        self.qmp = self._connect("qmp.sock")
        json.loads(self._readline(self.qmp, "_qmp_buf", "QMP greeting", 30))
        self._qmp_cmd("qmp_capabilities")

    def _qmp_cmd(self, execute, timeout=30, **arguments):
        msg = {"execute": execute}
        if arguments:
            msg["arguments"] = arguments
        self.qmp.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = json.loads(self._readline(
                self.qmp, "_qmp_buf", "QMP %s" % execute, timeout))
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise VMError("QMP %s: %s" % (execute,
                                             reply["error"].get("desc")))
            # an asynchronous event: skip it

    def qmp_command(self, execute, **arguments):
        """Run any QMP command, return its 'return' value."""
        return self._qmp_cmd(execute, **arguments)

    def qom_get(self, path, prop):
        return self._qmp_cmd("qom-get", path=path, property=prop)

    def vmem_set_requested(self, size):
        """Ask the guest's virtio-mem driver to plug/unplug to size."""
        self._qmp_cmd("qom-set", path="/machine/peripheral/vm0",
                      property="requested-size", value=parse_size(size))

    def vmem_props(self):
        """virtio-mem device properties: size (plugged), requested-size,
        block-size."""
        return {p: self.qom_get("/machine/peripheral/vm0", p)
                for p in ("size", "requested-size", "block-size")}

    def balloon_set_target(self, guest_size):
        """Balloon target: the memory the guest should keep (bytes)."""
        self._qmp_cmd("balloon", value=parse_size(guest_size))

    def balloon_query(self):
        return self._qmp_cmd("query-balloon")

    # ---- host memory ------------------------------------------------
    def host_memory(self):
        """Bytes of host memory the guest's memfds hold: {'total', 'ram',
        'vmem'} (ram: boot RAM backend, vmem: virtio-mem backend)."""
        res = {"total": 0, "ram": 0, "vmem": 0}
        fd_dir = "/proc/%d/fd" % self.proc.pid
        for fd in os.listdir(fd_dir):
            p = os.path.join(fd_dir, fd)
            try:
                if "memfd:" not in os.readlink(p):
                    continue
                st = os.stat(p)
            except OSError:
                continue
            used = st.st_blocks * 512
            res["total"] += used
            if self.vmem and st.st_size == self.vmem and \
                    st.st_size != self.mem:
                res["vmem"] += used
            elif st.st_size == self.mem:
                res["ram"] += used
        return res

    def host_mb(self):
        return self.host_memory()["total"] / MiB

    # ---- guest agent ------------------------------------------------
    def _connect_agent(self):
        self.agent = self._connect("agent.sock")
        while True:
            line = self._readline(self.agent, "_agent_buf",
                                  "waiting for the guest to boot")
            if line.endswith("@@READY"):
                return

    def run(self, script, timeout=None, check=True):
        """Run a shell script in the guest; return (status, output).

        Raises VMError when check and the status is not 0. Background jobs
        must redirect their own output."""
        enc = base64.b64encode(script.encode()).decode()
        self.agent.sendall(enc.encode() + b"\n")
        out = []
        while True:
            line = self._readline(self.agent, "_agent_buf",
                                  "running %r" % script[:60], timeout)
            if line.startswith("@@OUT "):
                out.append(line[6:])
            elif line.startswith("@@RC "):
                rc = int(line[5:])
                break
        text = base64.b64decode("".join(out)).decode(errors="replace")
        if check and rc != 0:
            raise VMError("guest command %r failed with %d:\n%s" % (
                script[:200], rc, text))
        return rc, text

    def sh(self, script, timeout=None):
        """run() that must succeed; returns the output only."""
        return self.run(script, timeout)[1]

    def wait_for(self, predicate, what, timeout, interval=0.1):
        """Poll predicate() until true or timeout; return seconds taken."""
        start = time.monotonic()
        while True:
            if predicate():
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise VMError("timed out after %.0f s waiting for %s" % (
                    timeout, what))
            self._check_alive(what)
            time.sleep(interval)
