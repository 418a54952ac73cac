# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# L1's KVM tracepoints around an L2 run: on AMD, KVM has reset a vCPU by
# the time its monitor sees a triple fault, so the exits that led there
# (the last exit reasons and guest RIPs, injected exceptions, nested page
# faults) are only in the trace. Sourced by /vmdense/l1/*.sh.

TRACE=/sys/kernel/debug/tracing

kvm_trace_start() {
	[ -d $TRACE/events/kvm ] || return 0
	echo 0 >$TRACE/tracing_on
	echo >$TRACE/trace
	echo 4096 >$TRACE/buffer_size_kb
	for e in kvm_exit kvm_inj_exception kvm_page_fault kvm_inj_virq \
		kvm_msr kvm_cr kvm_nested_vmexit; do
		[ -e $TRACE/events/kvm/$e/enable ] &&
			echo 1 >$TRACE/events/kvm/$e/enable
	done
	echo 1 >$TRACE/tracing_on
}

# kvm_trace_dump LINES: stop tracing and print its last LINES lines.
kvm_trace_dump() {
	[ -d $TRACE/events/kvm ] || return 0
	echo 0 >$TRACE/tracing_on
	grep -v '^#' $TRACE/trace | tail -n "$1" | sed 's/^/L1-TRACE| /'
}

kvm_trace_stop() {
	[ -d $TRACE/events/kvm ] || return 0
	echo 0 >$TRACE/tracing_on
	echo 0 >$TRACE/events/enable
	echo >$TRACE/trace
}
