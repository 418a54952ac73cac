# SPDX-License-Identifier: GPL-2.0
"""vmdense_balloon built against Debian 12's 6.1 headers (where it reports
through the kernel's page_reporting, mm/hinting being absent) and loaded
on Debian's own 6.1 kernel (suites/debian_kernel.py), side by side with
that kernel's virtio_balloon: the same 1200 MiB freed, host memory back."""
import os

from harness import OUT, ROOT, test
from suites import debian_kernel as deb
from suites.baseline import balloon_return
from suites.hinting import OURS, UPSTREAM, external_build, keep_logs


@test("hinting.debian_6_1", suite="hinting")
def debian_6_1(ctx):
    """Ours on Debian's 6.1 kernel returns what the guest freed, as the
    kernel's virtio_balloon does on the same kernel."""
    _, abi = deb.headers()
    root, kernel = deb.unpacked(abi)
    ko = os.path.join(OUT, "ext-balloon", "vmdense_balloon.ko")
    if deb.stale(ko, os.path.join(ROOT, "drivers",
                                  "virtio_balloon_hinting")):
        external_build(ctx)
    runs = {}
    for (module, driver_dir), mods, ours in (
            (OURS, ["virtio_pci"], ko),
            (UPSTREAM, ["virtio_pci", "virtio_balloon"], None)):
        runs[module] = balloon_return(
            ctx, module, driver_dir, kernel=kernel,
            extra_files=deb.modules_archive(root, abi, mods, ours),
            load=lambda vm, d=driver_dir: deb.load(vm, abi, d))
        keep_logs(ctx, module)
    # balloon_return() checked that each gave back half of what was freed
    m, up = runs[OURS[0]], runs[UPSTREAM[0]]
    return {"kernel": abi, "freed_mb": m["freed_mb"],
            "returned_mb": m["returned_mb"],
            "return_seconds": m["return_seconds"],
            "upstream_returned_mb": up["returned_mb"],
            "upstream_return_seconds": up["return_seconds"]}
