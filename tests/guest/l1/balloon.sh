#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.balloon_reporting: MODULE (a virtio-balloon driver with free
# page reporting) in L2 against host-stub's balloon: memory L2 filled and
# freed goes back to the host (the guest RAM memfd shrinks); then the
# target from the control socket: inflate 64 MiB and deflate; and a
# statistics refresh.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${MODULE:=vmdense_balloon}" "${FILL_MB:=300}" "${STUB_OPTS:=}"

# shellcheck disable=SC2086 # STUB_OPTS is a list of options
stub_start l2/balloon_fill_free.sh "MODULE=$MODULE FILL_MB=$FILL_MB" \
	--balloon $STUB_OPTS
wait_line L2-FILLING 120 || die_l2
idle=$(stat ram_allocated_bytes)
metric host_mb_idle $((idle / 1048576))
rep0=$(stat reported_bytes)
wait_line L2-FILLED 300 || die_l2
peak=$(stat ram_allocated_bytes)
wait_line L2-FREEING 120 || die_l2
step "L2 frees its memory; sampling the host's"
sample_return
metric host_mb_peak $((peak / 1048576))
metric host_mb_after $((returned_to / 1048576))
metric returned_mb $(((peak - returned_to) / 1048576))
metric return_seconds "$return_s"
metric reported_mb $((($(stat reported_bytes) - rep0) / 1048576))
wait_line L2-FREED 60 || die_l2
step "inflating to 64 MiB and back"
t0=$(now)
ctl '{"cmd":"balloon-set-target","pages":16384}' >/dev/null
wait_stat actual_pages 16384 120 && metric inflate_seconds "$(elapsed "$t0")"
metric inflated_pages "$(stat inflated_pages)"
t0=$(now)
ctl '{"cmd":"balloon-set-target","pages":0}' >/dev/null
wait_stat actual_pages 0 120 && metric deflate_seconds "$(elapsed "$t0")"
metric deflated_pages "$(stat deflated_pages)"
# statistics: give the driver its buffer back, it refills it
s0=$(stat stats_updates)
ctl '{"cmd":"balloon-request-stats"}' >/dev/null
i=0
while [ "$(stat stats_updates)" = "$s0" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
metric stats_updates "$(stat stats_updates)"
quit
