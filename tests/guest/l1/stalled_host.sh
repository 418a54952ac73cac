#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.stalled_host: host-stub --hyperv stalls the next STALLS heat
# hints STALL_MS each (success, no rep done); while the first stalls, L1
# plugs 128 MiB and times how long L2 takes to have it online.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
: "${L2_SMP:=2}"
. /vmdense/lib/l1.sh
: "${STALLS:=16}" "${STALL_MS:=3000}"

stub_start l2/stalled_host.sh "" --hyperv --vmem 1G --vmem-block 2M
wait_line L2-READY 180 || die_l2
ctl "{\"cmd\":\"fault\",\"dev\":\"hyperv\",\"stall\":$STALLS,\"stall_ms\":$STALL_MS}" >/dev/null
ctl '{"cmd":"console-input","text":"stall\n"}' >/dev/null
i=0
until [ "$(stat stalled_calls)" -gt 0 ]; do
	sleep 0.1
	i=$((i + 1))
	[ $i -gt 1200 ] && { why="no heat hint reached the host"; die_l2; }
done
step "the host stalls; plugging 128 MiB"
t0=$(now)
ctl '{"cmd":"vmem-set-requested","size":134217728}' >/dev/null
wait_line L2-ONLINE 120 || die_l2
metric online_seconds "$(elapsed "$t0")"
metric stalled_at_online "$(stat stalled_calls)"
stub_end
rc=$?
metric stalled_calls "$(stat_out stalled_calls)"
exit $rc
