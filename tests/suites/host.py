# SPDX-License-Identifier: GPL-2.0
"""Host-side tests: unit tests of our user-space C (under ASan and UBSan
where their Makefiles say so), the fuzzers of what a guest controls,
style checks, the external-module builds, and the rules by which nested
runs are judged. Names and metric keys are a contract."""
import glob
import os
import re
import shutil
import subprocess

from vmtest import nested
from vmtest.harness import OUT, ROOT, Skip, check, test

# seconds each fuzzer runs: make test, make test-full
FUZZ_SECONDS = (10, 300)


def _make_test(ctx, subdir):
    build = os.path.join(OUT, subdir)
    res = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, subdir),
                          "O=" + build, "test"], capture_output=True,
                         text=True, timeout=600)
    out = res.stdout + res.stderr
    with open(ctx.path("output.txt"), "w") as f:
        f.write(out)
    m = re.findall(r"^(\d+) passed, (\d+) failed", out, re.M)
    check(res.returncode == 0, "make test in %s failed (%d):\n%s" % (
        subdir, res.returncode, out[-2000:]))
    check(m, "no 'N passed, N failed' line from %s" % subdir)
    passed = sum(int(p) for p, _ in m)
    failed = sum(int(f) for _, f in m)
    check(failed == 0 and passed > 0, "%d passed, %d failed" % (
        passed, failed))
    return {"cases_passed": passed, "cases_failed": failed}


@test("unit.integrity", suite="host-unit", limit=300)
def integrity(ctx):
    """The guest data-integrity checker: pattern unit tests, clean run,
    injected corruption detected."""
    return _make_test(ctx, "tools/integrity")


@test("unit.touch_pages", suite="host-unit", limit=300)
def touch_pages(ctx):
    """The first-touch timer: a clean run finds every page zero, a planted
    word is found, a bad size is refused."""
    return _make_test(ctx, "tools/touch_pages")


@test("unit.host_stub", suite="host-unit", limit=600)
def host_stub(ctx):
    """host-stub's unit tests: virtqueue parser, virtio-mmio transport,
    virtio-mem and balloon request handling, Hyper-V hypercalls, control
    protocol, serial port (under ASan and UBSan)."""
    return _make_test(ctx, "host-stub")


def _fuzz(ctx, target):
    """make @target in host-stub: a libFuzzer harness for a while."""
    secs = FUZZ_SECONDS[1 if ctx.full else 0]
    res = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "host-stub"),
                          "O=" + os.path.join(OUT, "host-stub"), target,
                          "FUZZ_SECONDS=%d" % secs], capture_output=True,
                         text=True, timeout=secs + 300)
    out = res.stdout + res.stderr
    with open(ctx.path("output.txt"), "w") as f:
        f.write(out)
    check(res.returncode == 0, "fuzzer failed (%d):\n%s" % (
        res.returncode, out[-3000:]))
    runs = re.search(r"Done (\d+) runs in (\d+) second", out)
    check(runs, "no 'Done N runs' from libFuzzer:\n%s" % out[-2000:])
    cov = re.findall(r"cov: (\d+)", out)
    return {"runs": int(runs.group(1)), "seconds_fuzzed":
            int(runs.group(2)), "coverage": int(cov[-1]) if cov else 0}


@test("fuzz.host_stub.virtqueue", suite="host-unit", limit=600)
def fuzz_virtqueue(ctx):
    """libFuzzer (ASan, UBSan) on the virtqueue parser: 10 s in make test,
    300 s in make test-full."""
    return _fuzz(ctx, "fuzz-run")


@test("fuzz.host_stub.hyperv", suite="host-unit", limit=600)
def fuzz_hyperv(ctx):
    """libFuzzer (ASan, UBSan) on the Hyper-V hypercall handler (the input
    word, parameter addresses and input page are the guest's): 10 s in
    make test, 300 s in make test-full."""
    return _fuzz(ctx, "fuzz-run-hyperv")


@test("style.checkpatch", suite="host-unit", limit=600)
def checkpatch(ctx):
    """checkpatch.pl --strict --no-tree -f of the pinned kernel on all our
    C."""
    res = subprocess.run([os.path.join(ROOT, "scripts", "checkpatch-all")],
                         capture_output=True, text=True, timeout=600)
    with open(ctx.path("output.txt"), "w") as f:
        f.write(res.stdout + res.stderr)
    check(res.returncode == 0, "checkpatch:\n%s" % res.stdout[-3000:])
    m = re.search(r"checkpatch: (\d+) files", res.stdout)
    return {"files": int(m.group(1)) if m else 0}


def _ours(ext, shebang):
    """Our files (git ls-files) named *@ext or starting with a #! line
    that matches @shebang."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True,
                           text=True).stdout.split()
    found = []
    for f in files:
        path = os.path.join(ROOT, f)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as fh:
            head = fh.readline()
        if f.endswith(ext) or re.match(shebang, head):
            found.append(f)
    return found


@test("style.shellcheck", suite="host-unit", limit=300)
def shellcheck(ctx):
    """shellcheck on every shell script of ours (the guest-side scripts of
    tests/guest, the scripts/ and .ci/ ones)."""
    check(shutil.which("shellcheck"), "shellcheck is not installed "
          "(scripts/install-deps)")
    shells = _ours(".sh", rb"#!\s*/bin/(ba)?sh")
    check(shells, "no shell scripts found")
    res = subprocess.run(["shellcheck", "-x"] + shells, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    with open(ctx.path("output.txt"), "w") as f:
        f.write(res.stdout + res.stderr)
    check(res.returncode == 0, "shellcheck:\n%s" % res.stdout[-3000:])
    return {"files": len(shells)}



@test("style.python", suite="host-unit", limit=120)
def python(ctx):
    """pyflakes on every Python file of ours (tests, benchmarks, scripts),
    and every benchmark module imported, as make bench would: a
    benchmark that no test runs must still load."""
    check(shutil.which("pyflakes3"), "pyflakes3 is not installed "
          "(scripts/install-deps)")
    files = _ours(".py", rb"#!\s*/usr/bin/(env )?python3")
    check(files, "no Python files found")
    res = subprocess.run(["pyflakes3"] + files, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    out = res.stdout + res.stderr
    bench = os.path.join(ROOT, "bench")
    mods = sorted(os.path.basename(f)[:-3] for f in
                  glob.glob(os.path.join(bench, "*.py"))) + ["hinting"]
    # a fresh interpreter in bench/, as bench/run has it
    imp = subprocess.run(
        ["python3", "-c", "import importlib.machinery as m, sys\n"
         "for n in sys.argv[1:]:\n"
         "    m.SourceFileLoader(n, n if n == 'hinting' else n + '.py')"
         ".load_module()\n"] + mods, cwd=bench, capture_output=True,
        text=True, timeout=60)
    out += imp.stdout + imp.stderr
    with open(ctx.path("output.txt"), "w") as f:
        f.write(out)
    check(res.returncode == 0, "pyflakes:\n%s" % res.stdout[-3000:])
    check(imp.returncode == 0, "a benchmark does not import:\n%s" %
          imp.stderr[-3000:])
    return {"files": len(files), "benchmarks": len(mods)}

# L2 console excerpts (as L1's console carries them, "L2| " taken off)
# with an ENDING line, and the kind of ending classify() must give each.
_ENDING_CASES = [
    ("Run /init as init process\nhoststub-l2-shell 2 cpus\n",
     "ENDING monitor=host-stub status=7 reason=guest reported its exit "
     "status", 0, "clean"),
    ("Run /init as init process\n",
     "ENDING monitor=host-stub status=0 reason=guest shutdown (triple "
     "fault)", 0, "l2_triple_fault"),
    ("BUG: unable to handle page fault for address: 0000000000001000\n"
     "#PF: supervisor instruction fetch in kernel mode\n"
     "RIP: 0010:0x1000\nCall Trace:\n hinting_run+0x1c/0x90\n",
     "ENDING monitor=host-stub status=0 reason=guest reset", 0,
     "l2_report"),
    ("Oops: general protection fault\nRIP: 0010:0x0\n"
     "CS:  0000 DS: 0000 ES: 0000 CR0: 0000000080050033\n",
     "ENDING monitor=host-stub status=0 reason=guest reset", 0,
     "l2_report"),
    ("Run /init as init process\n",
     "ENDING monitor=host-stub status=124 reason=time limit reached", 1,
     "l2_time_limit"),
    ("Run /init as init process\n", "", 1, "l2_hang"),
    ("Run /init as init process\n",
     "ENDING monitor=host-stub status=0 reason=guest reset", 0, "l2_reset"),
    ("integrity: status=fail\n", "ENDING monitor=host-stub status=1 "
     "reason=guest reported its exit status", 1, "failed"),
    # a stall without a trace, and the guest went on to exit cleanly
    ("rcu: INFO: rcu_preempt self-detected stall on CPU\n"
     "VMDENSE-EXIT 0\n", "ENDING monitor=host-stub status=0 reason=guest "
     "reported its exit status", 0, "l2_report"),
]


@test("unit.nested_accidents", suite="host-unit", limit=60)
def nested_accidents(ctx):
    """The rules by which a nested run is judged (vmtest.nested): how an
    L2 console and its monitor's ending are classified, that a report
    with our code in its trace is named as ours, that an L1 report or an
    L1 that died is told apart, and that nothing is retried unless it
    matches a documented accident (tests/NESTED-ENDINGS.md)."""
    for l2, ending, status, kind in _ENDING_CASES:
        run = nested.L2Run(status, ending + "\n", "", l2, 1.0, True)
        got = nested.classify(run)
        check(got.kind == kind, "%r / %r: classified %s, expected %s" % (
            l2[:60], ending, got, kind))
    ours = nested.classify(nested.L2Run(0, "", "", _ENDING_CASES[2][0], 1,
                                        True))
    check(ours.ours == ["hinting_run+0x"], "our frames: %s" % ours.ours)
    check(nested.may_retry(ours) is None, "a report in our code retried")
    l1 = nested.classify(nested.L2Run(
        0, "ENDING status=0 reason=quit from control socket\n",
        "BUG: kernel NULL pointer dereference\n", "", 1, True))
    check(l1.kind == "l1_report", "an L1 report classified %s" % l1)
    dead = nested.classify(nested.L2Run(None, "", "", "", 1, False))
    check(dead.kind == "l1_died", "a dead L1 classified %s" % dead)
    check(nested.may_retry(l1) is None, "an L1 report retried")
    for case in _ENDING_CASES:
        run = nested.L2Run(case[2], case[1] + "\n", "", case[0], 1, True)
        e = nested.classify(run)
        if e.kind in ("clean", "failed", "l2_report"):
            check(nested.may_retry(e) is None, "%s retried" % e)
    return {"cases": len(_ENDING_CASES) + 3}


def _external_build(ctx, kdir, src, tag, module):
    """make -C kdir M=<copy of @src> modules: no errors, no warnings, the
    module @module.ko. Returns its path."""
    work = os.path.join(OUT, "ext-%s-%s" % (os.path.basename(src), tag))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for f in os.listdir(os.path.join(ROOT, src)):
        if f.endswith((".c", ".h")) or f == "Kbuild":
            shutil.copy(os.path.join(ROOT, src, f), work)
    res = subprocess.run(["make", "-C", kdir, "M=" + work, "modules"],
                         capture_output=True, text=True, timeout=900)
    out = res.stdout + res.stderr
    with open(ctx.path("build-%s.txt" % tag), "w") as f:
        f.write(out)
    check(res.returncode == 0, "external build against %s failed:\n%s" % (
        kdir, out[-3000:]))
    warnings = [ln for ln in out.splitlines() if "warning:" in ln]
    check(not warnings, "warnings:\n%s" % "\n".join(warnings[:20]))
    ko = os.path.join(work, module + ".ko")
    check(os.path.exists(ko), "no %s.ko" % module)
    return ko


def headers_6_1():
    """Debian 12's newest installed 6.1 headers (linux-headers-amd64)."""
    dirs = sorted(glob.glob("/usr/src/linux-headers-6.1.*-amd64"))
    if not dirs:
        raise Skip("Debian 12's 6.1 headers are not installed "
                   "(linux-headers-amd64, scripts/install-deps)")
    return dirs[-1]


@test("build.virtio_mem.external_6_12", suite="build", limit=600)
def external_6_12(ctx):
    """vmdense_virtio_mem as an external module against the pinned 6.12
    build in out/build."""
    kdir = os.path.join(OUT, "build")
    if not os.path.exists(os.path.join(kdir, "Module.symvers")):
        raise Skip("the pinned kernel is not built (scripts/build-kernel)")
    ko = _external_build(ctx, kdir, "drivers/virtio_mem", "6.12",
                         "vmdense_virtio_mem")
    return {"ko_bytes": os.path.getsize(ko)}


@test("build.newest_6_12", suite="build", tier="full", limit=1800)
def newest_6_12(ctx):
    """vmdense on the newest linux-source-6.12 the archive offers, not only
    on the pinned one (scripts/build-newest-6.12): patches/ apply, the
    configuration check passes, our code and the patched allocator files
    compile. The security archive keeps only recent versions, so the pin
    has to move one day; this says in advance whether it can."""
    res = subprocess.run([os.path.join(ROOT, "scripts", "build-newest-6.12")],
                         capture_output=True, text=True, timeout=1800)
    out = res.stdout + res.stderr
    with open(ctx.path("output.txt"), "w") as f:
        f.write(out)
    check(res.returncode == 0, "scripts/build-newest-6.12 failed (%d):\n%s"
          % (res.returncode, out[-3000:]))
    m = re.search(r"vmdense compiles on linux-source-6.12 (\S+)", out)
    check(m, "no verdict line from scripts/build-newest-6.12")
    with open(os.path.join(ROOT, "kernel-version")) as f:
        pinned = f.read().strip()
    return {"version": m.group(1), "pinned": pinned,
            "newer_than_pin": int(m.group(1) != pinned)}


@test("build.virtio_mem.external_6_1", suite="build", limit=600)
def external_6_1(ctx):
    """vmdense_virtio_mem as an external module against Debian 12's 6.1
    headers."""
    ko = _external_build(ctx, headers_6_1(), "drivers/virtio_mem", "6.1",
                         "vmdense_virtio_mem")
    return {"ko_bytes": os.path.getsize(ko)}


@test("hinting.external_build", suite="hinting", limit=600)
def balloon_external_build(ctx):
    """vmdense_balloon as an external module against Debian 12's 6.1
    headers, where mm/hinting is absent: it must build, on the kernel's
    page_reporting API."""
    kdir = headers_6_1()
    ko = _external_build(ctx, kdir, "drivers/virtio_balloon_hinting", "6.1",
                         "vmdense_balloon")
    syms = subprocess.run(["nm", "-u", ko], capture_output=True,
                          text=True).stdout
    check("page_reporting_register" in syms,
          "the 6.1 build does not use page_reporting")
    return {"kernel": os.path.basename(kdir)[len("linux-headers-"):]}
