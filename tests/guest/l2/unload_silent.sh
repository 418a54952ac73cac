#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hinting.unload_silent_host's L2: load vmdense_balloon (reports time out
# after TIMEOUT_MS); once L1 says the host went silent, free memory so that
# a report is in flight, and when L1 says one is, unload the driver. The
# unload waits out the report's timeout; nothing of the driver may run
# after it is gone (debug objects and KFENCE watch the console).
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${TIMEOUT_MS:=3000}"

modprobe vmdense_balloon report_timeout_ms="$TIMEOUT_MS" || exit 1
echo L2-BALLOON-READY
read -r what </dev/ttyS0
[ "$what" = silent ] || { echo "L2-HANDSHAKE '$what'"; exit 1; }
step "freeing 64 MiB into a silent host"
fill_hold 64 fill || exit 1
fill_free fill
read -r what </dev/ttyS0
[ "$what" = unload ] || { echo "L2-HANDSHAKE '$what'"; exit 1; }
t0=$(uptime_s)
rmmod vmdense_balloon
echo "L2-UNLOADED rc=$? ms=$(ms_since "$t0")"
# what runs after the module is gone would show within a few seconds
sleep 5
grep -q '^vmdense_balloon ' /proc/modules && echo L2-STILL-LOADED
dmesg | grep -c 'stopped acknowledging' | sed 's/^/L2-BROKE /'
