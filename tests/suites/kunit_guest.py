# SPDX-License-Identifier: GPL-2.0
"""KUnit in a guest: built-in suites run at boot, module suites when
loaded; the console's KTAP is parsed by the kernel tree's own
tools/testing/kunit/kunit.py parse."""
import json
import os
import re
import subprocess

import vmdense_vm as vmmod
from vmtest.console import check_clean
from vmtest.harness import OUT, ROOT, check, test

KUNIT_PY = os.path.join(OUT, "linux-source-6.12", "tools", "testing",
                        "kunit", "kunit.py")
# KUnit modules loaded in the guest, one per line, with the suites each
# must run (tests/kunit-modules)
MODULE_LIST = os.path.join(ROOT, "tests", "kunit-modules")


def _modules():
    """{module: [suites it must run]} from tests/kunit-modules."""
    mods = {}
    with open(MODULE_LIST) as f:
        for ln in f:
            words = ln.split("#")[0].split()
            if words:
                mods[words[0]] = words[1:]
    return mods


def _walk(group, cases):
    for case in group.get("test_cases", []):
        cases.append((group.get("name", "?"), case["name"], case["status"]))
    for sub in group.get("sub_groups", []):
        _walk(sub, cases)


def _empty_plan(doc):
    """True for a KTAP document whose plan is "1..0" and that reports no
    result. The kernel's own messages can land between the version line
    and the plan (a clocksource calibrating while the empty boot plan is
    printed), so the plan is the first plan line, not the second line."""
    plan = re.search(r"^\s*1\.\.(\d+)\s*$", doc, re.M)
    result = re.search(r"^\s*(not )?ok \d+", doc, re.M)
    return plan is not None and plan.group(1) == "0" and result is None


@test("kunit", suite="kunit", limit=300)
def kunit(ctx):
    """Every KUnit suite of the kernel image and of tests/kunit-modules;
    fails if any case fails, or if a suite tests/kunit-modules names did
    not run."""
    mods = _modules()
    script = "\n".join("modprobe %s || echo 'vmdense: modprobe %s failed'"
                       % (m, m) for m in mods)
    with vmmod.VM(mem="512M", cmd=script, timeout=240,
                  log=ctx.path("serial.log")) as vm:
        rc, console = vm.wait_exit()
    check("vmdense: modprobe" not in console,
          "a KUnit module did not load (see serial.log)")
    # A test can pass while the kernel complains (a bad page state found
    # later, a lockdep report): those fail the run too.
    check_clean(console, ctx.path("serial.log"))
    # The console holds one KTAP document per run: the built-in suites at
    # boot, then one per loaded module. kunit.py parse reads one document,
    # so hand it each in turn (an empty boot plan "1..0" has nothing).
    docs = re.split(r"^(?=KTAP version \d+\s*$)", console, flags=re.M)[1:]
    cases = []
    for i, doc in enumerate(docs):
        if _empty_plan(doc):
            continue
        src, jpath = ctx.path("ktap-%d.txt" % i), ctx.path("kunit-%d.json" % i)
        with open(src, "w") as f:
            f.write(doc)
        res = subprocess.run(["python3", KUNIT_PY, "parse", "--json=" + jpath,
                              src], capture_output=True, text=True,
                             timeout=120)
        with open(ctx.path("kunit-parse-%d.txt" % i), "w") as f:
            f.write(res.stdout + res.stderr)
        check(os.path.exists(jpath), "kunit.py parse wrote no JSON:\n%s" %
              (res.stdout + res.stderr)[-2000:])
        with open(jpath) as f:
            _walk(json.load(f), cases)
        check(res.returncode == 0, "kunit.py parse exited %d on KTAP "
              "document %d:\n%s" % (res.returncode, i, res.stdout[-2000:]))
    passed = [c for c in cases if c[2] == "PASS"]
    failed = [c for c in cases if c[2] not in ("PASS", "SKIP")]
    check(cases, "no KUnit test case in the console (see serial.log)")
    check(not failed, "failed KUnit cases: %s" % ", ".join(
        "%s.%s" % c[:2] for c in failed[:20]))
    suites = sorted({c[0] for c in cases})
    missing = sorted({s for want in mods.values() for s in want} -
                     set(suites))
    check(not missing, "KUnit suites that did not run: %s (ran: %s)" % (
        ", ".join(missing), ", ".join(suites)))
    ctx.log("suites: %s" % ", ".join(suites))
    return {"suites": len(suites), "cases_passed": len(passed),
            "cases_failed": len(failed),
            "cases_skipped": len(cases) - len(passed) - len(failed)}
