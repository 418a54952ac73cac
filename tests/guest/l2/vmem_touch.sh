#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.violation's L2: a test module reads and writes one word at ADDR,
# in virtio-mem memory that is not plugged (no driver loaded); then prove
# that the guest runs on.
: "${ADDR:?the guest physical address to touch}"
insmod /vmdense/modules/vmdense_vmem_touch.ko addr="$ADDR"
echo L2-TOUCHED
sleep 2
echo L2-STILL-ALIVE
while :; do sleep 60; done
