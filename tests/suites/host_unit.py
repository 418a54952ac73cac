# SPDX-License-Identifier: GPL-2.0
"""Host-side unit tests of our user-space C (make test in each tool)."""
import os
import re
import subprocess

from harness import OUT, ROOT, check, test


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


@test("unit.integrity", suite="host-unit")
def integrity(ctx):
    """The guest data-integrity checker: pattern unit tests, clean run,
    injected corruption detected."""
    return _make_test(ctx, "tools/integrity")


@test("unit.touch_pages", suite="host-unit")
def touch_pages(ctx):
    """The first-touch timer: a clean run finds every page zero, a planted
    word is found, a bad size is refused."""
    return _make_test(ctx, "tools/touch_pages")


@test("style.checkpatch", suite="host-unit")
def checkpatch(ctx):
    """checkpatch.pl --no-tree -f of the pinned kernel on all our C."""
    res = subprocess.run([os.path.join(ROOT, "scripts", "checkpatch-all")],
                         capture_output=True, text=True, timeout=600)
    with open(ctx.path("output.txt"), "w") as f:
        f.write(res.stdout + res.stderr)
    check(res.returncode == 0, "checkpatch:\n%s" % res.stdout[-3000:])
    m = re.search(r"checkpatch: (\d+) files", res.stdout)
    return {"files": int(m.group(1)) if m else 0}
