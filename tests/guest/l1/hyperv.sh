#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.hyperv: host-stub --hyperv runs an L2 whose test module issues
# the extended hypercalls; host-stub's counters of them at its exit.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh

stub_start l2/hv_probe.sh "" --hyperv --timeout 300
stub_end
rc=$?
metric stub_status $rc
for k in query_capabilities:query_capabilities_calls \
	get_boot_zeroed_memory:boot_zeroed_calls memory_heat_hint:heat_hint_calls \
	cold_discard_pages:cold_discard_pages hot_pages:hot_pages \
	cold_pages:cold_pages zeroed_ranges_reported:zeroed_ranges_reported \
	failed_calls:failed_calls; do
	metric "${k#*:}" "$(stat_out "${k%%:*}")"
done
exit 0
