#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.hot_hints: host-stub --hyperv with a virtio-mem device; L1 plugs
# two 128 MiB blocks (the first comes online unhinted, the second hinted),
# counts host and KVM page faults while L2 first touches each, and how the
# memfds grow for a hot hint of a range and of node 0.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${STUB_OPTS:=}"

# shellcheck disable=SC2086 # STUB_OPTS is a list of options
stub_start l2/hot_hints.sh "" --hyperv --vmem 1G --vmem-block 2M $STUB_OPTS
wait_line L2-HOT-READY 180 || die_l2
ctl '{"cmd":"vmem-set-requested","size":134217728}' >/dev/null
wait_stat plugged_size 134217728 120 || die_l2
wait_line L2-BLOCK1 120 || die_l2
vm1=$(stat memfd_allocated_bytes)
wait_line L2-HOT2-READY 120 || die_l2
ctl '{"cmd":"vmem-set-requested","size":268435456}' >/dev/null
wait_stat plugged_size 268435456 120 || die_l2
wait_line L2-BLOCK2 120 || die_l2
vm2=$(stat memfd_allocated_bytes)
metric stub_hot_pages_online "$(stat hot_pages)"
metric vmem_mb_backed_unhinted $((vm1 / 1048576))
metric vmem_mb_backed_hinted $(((vm2 - vm1) / 1048576))
for t in 1 2; do
	wait_line "L2-T$t-GO" 120 || die_l2
	f0=$(stat host_minor_faults)
	e0=$(stat kvm_exits)
	p0=$(stat kvm_pf_taken)
	wait_line "L2-T$t-DONE" 120 || die_l2
	metric "host_faults_t$t" $(($(stat host_minor_faults) - f0))
	metric "kvm_exits_t$t" $(($(stat kvm_exits) - e0))
	metric "kvm_pf_taken_t$t" $(($(stat kvm_pf_taken) - p0))
done
wait_line L2-RANGE-GO 60 || die_l2
before=$(stat ram_allocated_bytes)
wait_line L2-RANGE-DONE 120 || die_l2
after=$(stat ram_allocated_bytes)
metric range_host_mb_grown $(((after - before) / 1048576))
metric stub_hot_pages_range "$(stat hot_pages)"
wait_line L2-NODE-DONE 120 || die_l2
metric node_host_mb_grown $((($(stat ram_allocated_bytes) - after) / 1048576))
metric stub_hot_pages "$(stat hot_pages)"
metric stub_hot_pages_mapped "$(stat hot_pages_mapped)"
metric stub_hot_map_errors "$(stat hot_map_errors)"
metric stub_failed_calls "$(stat failed_calls)"
wait_line L2-SETTLED 60 || die_l2
quit
