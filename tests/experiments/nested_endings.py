#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The nested-endings experiment (tests/NESTED-ENDINGS.md): the same L1
and the same L2 workload (boot, idle 60 s, fill and free 256 MiB) many
times per cell, counting every kind of ending. One L1 serves the runs of
a cell until it dies; then a fresh one goes on.

  tests/experiments/nested_endings.py CELL [--runs N] [--idle S] [--fill MB]
      [--script L1_SCRIPT] [--env NAME=VALUE ...] [--stub-opts OPTS]
  tests/experiments/nested_endings.py --table   the results so far, as the
      markdown table of tests/NESTED-ENDINGS.md

Cells (what changes against "ours"):
  ours        our kernel as built, host-stub as it is
  plain       our kernel without CONFIG_MM_HINTING and
              CONFIG_VMDENSE_HYPERV_MEM_EARLY, patches/ left out
              (KERNEL_VARIANT=plain scripts/build-kernel)
  debian      Debian 12's own 6.1 kernel (the image install-deps fetched)
  qemu        QEMU with KVM in L1 instead of host-stub
  stub-opts   host-stub with the options given in --stub-opts
  A+B         both changes, e.g. debian+qemu
--script runs another of tests/guest/l1 instead of the plain workload
(endings.sh), e.g. a scenario that ended in accidents (hot_hints.sh), with
--env settings for it. Appends one JSON line per run to
tests/experiments/nested-endings.jsonl (kept in the repository: the
table of tests/NESTED-ENDINGS.md comes from it) and keeps the console of
every run that did not end clean under out/experiments/.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                "scripts"))

import vmdense_vm as vmmod  # noqa: E402
from vmtest import nested  # noqa: E402
from vmtest.harness import OUT, ROOT  # noqa: E402

RESULTS = os.path.join(HERE, "nested-endings.jsonl")
LOGS = os.path.join(OUT, "experiments", "nested-endings")
# every L2 boot of the stub as it was warned so (leaf 0xD): not an ending
XSAVE = "XSAVE consistency problem"


def _debian_kernel():
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from suites import debian_kernel
    _, abi = debian_kernel.headers()
    _, kernel = debian_kernel.unpacked(abi)
    return kernel


def _qemu_bundle():
    dst = os.path.join(OUT, "qemu-bundle")
    if not os.path.exists(os.path.join(dst, "qe.tar.xz")):
        subprocess.run([os.path.join(ROOT, "..", "shared", "tools",
                                     "qemu-bundle"), dst], check=True)
    return os.path.join(dst, "qe.tar.xz")


def cell_setup(cell):
    """(extra files for L1, environment of l1/endings.sh) of @cell; cells
    joined by "+" (debian+qemu) change what each of them changes."""
    extra, env = {}, {}
    for part in cell.split("+")[1:]:
        e, v = cell_setup(part)
        extra.update(e)
        env.update(v)
    cell = cell.split("+")[0]
    if cell == "plain":
        extra["vmdense/bzImage-plain"] = os.path.join(
            OUT, "build-plain", "arch", "x86", "boot", "bzImage")
        env["L2_KERNEL"] = "/vmdense/bzImage-plain"
    elif cell == "debian":
        extra["vmdense/vmlinuz-debian"] = _debian_kernel()
        env["L2_KERNEL"] = "/vmdense/vmlinuz-debian"
    elif cell == "qemu":
        extra["vmdense/qe.tar.xz"] = _qemu_bundle()
        env["MONITOR"] = "qemu"
    return extra, env


def table(path=RESULTS):
    """Runs and endings per cell, in the order the cells first ran."""
    cells, kinds = {}, []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            c = cells.setdefault(r["cell"], {"runs": 0, "l1": set(),
                                             "qemu": set()})
            c["runs"] += 1
            c["l1"].add(r["l1_boot"])
            c["qemu"].add(r.get("qemu", "").split("(")[0].replace(
                "QEMU emulator version ", "").strip())
            c[r["ending"]] = c.get(r["ending"], 0) + 1
            if r["ending"] not in kinds:
                kinds.append(r["ending"])
    kinds.sort(key=lambda k: (k != "clean", k))
    rows = ["| cell | L1 QEMU | runs | L1 boots | %s |" % " | ".join(kinds),
            "|---|---|---|---|%s" % ("---|" * len(kinds))]
    for name, c in cells.items():
        rows.append("| %s | %s | %d | %d | %s |" % (
            name, ", ".join(sorted(c["qemu"])), c["runs"], len(c["l1"]),
            " | ".join(str(c.get(k, 0)) for k in kinds)))
    return "\n".join(rows)


def recorded(cell, path=RESULTS):
    """(runs, L1 boots) of @cell so far: a cell goes on where it stopped,
    and --runs counts its runs in all."""
    runs, boots = 0, 0
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if r["cell"] == cell:
                    runs = max(runs, r["run"])
                    boots = max(boots, r["l1_boot"])
    return runs, boots


def main():
    if sys.argv[1:] == ["--table"]:
        print(table())
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cell")
    ap.add_argument("--runs", type=int, default=20,
                    help="runs of the cell in all, those recorded included")
    ap.add_argument("--idle", type=int, default=60)
    ap.add_argument("--fill", type=int, default=256)
    ap.add_argument("--stub-opts", default="")
    ap.add_argument("--script", default="endings.sh")
    ap.add_argument("--env", action="append", default=[],
                    help="NAME=VALUE for the L1 script")
    ap.add_argument("--name", help="cell name in the results (default: "
                    "the cell, with the stub options)")
    a = ap.parse_args()
    name = a.name or (a.cell + (" " + a.stub_opts if a.stub_opts else ""))
    extra, env = cell_setup(a.cell)
    env.update({"IDLE_S": a.idle, "FILL_MB": a.fill,
                "STUB_OPTS": a.stub_opts})
    env.update(kv.split("=", 1) for kv in a.env)
    os.makedirs(LOGS, exist_ok=True)
    tag = name.replace(" ", "_").replace("-", "").strip("_")
    run, l1_boots = recorded(name)
    l1 = None
    while run < a.runs:
        if l1 is None or not l1.alive():
            l1_boots += 1
            log = os.path.join(LOGS, "%s-%d-l1-%d.log" % (
                tag, int(time.time()), l1_boots))
            l1 = nested.L1(log, extra=dict(extra, **{
                "vmdense/l2-full.cpio.gz": vmmod.INITRD}),
                timeout=24 * 3600, progress=lambda s: None).start()
        run += 1
        r = l1.run(a.script, env, timeout=1200)
        ending = nested.classify(r, ignore_blocks=(XSAVE,))
        rec = {"cell": name, "run": run, "l1_boot": l1_boots,
               "ending": ending.kind, "detail": ending.detail,
               "ours": ending.ours, "seconds": round(r.seconds, 1),
               "time": time.strftime("%Y-%m-%d %H:%M:%S"),
               "qemu": l1.qemu_version}
        if ending.kind != "clean":
            keep = os.path.join(LOGS, "%s-run%d-%s.log" % (
                tag, run, ending.kind))
            with open(keep, "w") as f:
                f.write("== output\n%s\n== L1\n%s\n== L2\n%s" % (
                    r.output, r.l1_console, r.l2_console))
            rec["log"] = os.path.relpath(keep, ROOT)
        with open(RESULTS, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print("%s run %d: %s (%.0f s)" % (name, run, ending.signature(),
                                          r.seconds), flush=True)
    if l1:
        l1.stop()


if __name__ == "__main__":
    main()
