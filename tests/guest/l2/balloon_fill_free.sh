#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.balloon_reporting's L2: load MODULE (a virtio-balloon driver with
# free page reporting), fill and verify FILL_MB MiB, free it, stay up for
# L1's inflate/deflate and statistics steps.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${MODULE:=vmdense_balloon}" "${FILL_MB:=300}"

modprobe "$MODULE" && echo L2-BALLOON-READY
# what was free at load is reported first; let it pass
sleep 10
echo L2-FILLING
step "filling $FILL_MB MiB"
fill_hold "$FILL_MB" fill || exit 1
echo L2-FILLED
sleep 2
fill_free fill
hold
