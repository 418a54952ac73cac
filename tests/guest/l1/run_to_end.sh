#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Scenarios whose L2 does all the work: host-stub with STUB_OPTS runs L2_RUN
# (a script of /vmdense/l2) with L2_PARAMS to its end; L1 reports how it
# ended and host-stub's counters at exit (stat_out).
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${L2_RUN:?the L2 script}" "${L2_PARAMS:=}" "${STUB_OPTS:=}"

# shellcheck disable=SC2086 # STUB_OPTS is a list of options
stub_start "$L2_RUN" "$L2_PARAMS" $STUB_OPTS
stub_end
rc=$?
metric stub_boot_zeroed_calls "$(stat_out get_boot_zeroed_memory)"
metric stub_cold_pages "$(stat_out cold_pages)"
metric stub_cold_discard_pages "$(stat_out cold_discard_pages)"
metric stub_hot_pages "$(stat_out hot_pages)"
metric stub_hot_pages_mapped "$(stat_out hot_pages_mapped)"
metric stub_failed_calls "$(stat_out failed_calls)"
exit $rc
