#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.hyperv's L2: a test module issues each extended hypercall once
# (tests/guest-modules/hv_ext_probe) and prints what it got back.
insmod /vmdense/modules/vmdense_hv_ext_probe.ko
