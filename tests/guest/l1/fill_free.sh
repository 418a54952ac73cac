#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.cold_hints (and the benchmark's return comparison): L2 with one
# way of reporting free memory, REPORTER (vmdense_hyperv's cold hints, or
# vmdense_balloon or the kernel's virtio_balloon against host-stub's
# balloon), fills and frees FILL_MB MiB; L1 samples the guest RAM memfd
# until it stops dropping.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${REPORTER:=vmdense_hyperv}" "${FILL_MB:=256}" "${STUB_OPTS:=}"

case $REPORTER in
vmdense_hyperv) dev=--hyperv ;;
*) dev=--balloon ;;
esac
# shellcheck disable=SC2086 # STUB_OPTS is a list of options
stub_start l2/fill_free.sh "REPORTER=$REPORTER FILL_MB=$FILL_MB" $dev \
	$STUB_OPTS
wait_line L2-READY 180 || die_l2
wait_line L2-FILLED 600 || die_l2
peak=$(stat ram_allocated_bytes)
wait_line L2-FREEING 300 || die_l2
step "L2 frees its memory; sampling the host's"
sample_return
wait_line L2-SETTLED 120 || die_l2
metric host_mb_peak $((peak / 1048576))
metric host_mb_after $((returned_to / 1048576))
metric returned_mb $(((peak - returned_to) / 1048576))
metric return_seconds "$return_s"
metric stub_cold_discard_pages "$(stat cold_discard_pages)"
metric stub_cold_pages "$(stat cold_pages)"
metric stub_failed_calls "$(stat failed_calls)"
rb=$(stat reported_bytes)
metric stub_reported_mb $((${rb:-0} / 1048576))
quit
