# SPDX-License-Identifier: GPL-2.0
"""Baselines: the kernel's own virtio_mem and virtio_balloon (free page
reporting) against QEMU's real devices, the side-by-side anchors of
vmdense's drivers (make test-full; the figures are in make bench too).
Names and metric keys are a contract."""
from vmtest.harness import test
from vmtest.workloads import balloon_return, plug_unplug

from suites.hinting import UPSTREAM as BALLOON, balloon_guest
from suites.virtio_mem import UPSTREAM as VMEM, sub_block_guest


@test("baseline.virtio_mem.plug_unplug", suite="baseline", tier="full",
      limit=300)
def baseline_virtio_mem(ctx):
    """The kernel's virtio_mem: plug 1 GiB, fill it, unplug it."""
    return plug_unplug(ctx, sub_block_guest(ctx), *VMEM)


@test("baseline.balloon.free_page_reporting", suite="baseline", tier="full",
      limit=300)
def baseline_balloon(ctx):
    """The kernel's virtio_balloon with page_reporting: 1200 MiB freed."""
    return balloon_return(ctx, balloon_guest(ctx).vm, *BALLOON, 1200)
