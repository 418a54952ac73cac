#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.skip_zeroing_boot's L2 (init_on_alloc=1 and the boot-zeroed query
# during boot on its command line): first what the boot skipped, before
# any module; then vmdense_hyperv takes over what boot found (with its own
# boot_zeroed=0); then kz_check takes KZ_MB MiB with __GFP_ZERO and checks
# every byte.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${KZ_MB:=256}"

for f in "$STATS"/zeroing_* "$STATS"/known_zero_marked_pages; do
	echo "L2-BT $(basename "$f")=$(cat "$f")"
done
modprobe vmdense_hyperv cold_hints=0 boot_zeroed=0 || exit 1
for f in "$HV"/boot_zeroed_* "$HV"/zeroed_* "$HV"/known_zero_pages; do
	echo "L2-HV $(basename "$f")=$(cat "$f")"
done
kz_check "$KZ_MB"
for f in "$STATS"/zeroing_*; do echo "L2-AF $(basename "$f")=$(cat "$f")"; done
