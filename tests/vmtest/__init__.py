# SPDX-License-Identifier: GPL-2.0
"""vmdense's test library, imported by the suites (tests/suites) and the
benchmarks (bench/) by these public names:

  harness  test(), Context, Skip, check(), Shared, main(), ROOT, OUT
  console  check_clean(), reports(), vmdense_frames()
  guests   PlainGuest (a shared QEMU guest), meminfo(), load_module(),
           start_holder(), stop_holder(), HostSampler, measure_return()
  nested   L1, L2Run, classify(), Ending, may_retry()
  hoststub NestedL1 (a shared L1), run_l2()
and the VM runner itself, scripts/vmdense_vm.py (VM, VMError).
"""
