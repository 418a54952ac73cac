#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One run of the nested-endings experiment (tests/NESTED-ENDINGS.md): an L2
# boots, idles, fills and frees memory (/vmdense/l2/endings.sh, or the
# script L2_RUN names with its L2_PARAMS) under
#   MONITOR=host-stub (options in STUB_OPTS) or MONITOR=qemu (QEMU with
#   KVM, unpacked from /vmdense/qe.tar.xz on first use),
# with L2_KERNEL as its kernel. Prints an ENDING line; on any other ending
# than a clean one, the tail of L1's kernel log (and of its KVM trace:
# lib/l1.sh dumps it for host-stub).
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${MONITOR:=host-stub}" "${STUB_OPTS:=}" "${IDLE_S:=60}" "${FILL_MB:=256}"
: "${L2_RUN:=l2/endings.sh}" "${L2_PARAMS:=IDLE_S=$IDLE_S FILL_MB=$FILL_MB}"
: "${L2_TIMEOUT:=900}"

# QEMU 7.2 of the build machine with its libraries (../shared/tools/qemu-bundle);
# SVM hidden from L2 as host-stub hides it (cpuid.c)
qemu_run() {
	q=/tmp/qemu/qe
	if [ ! -x $q/bin/qemu-system-x86_64 ]; then
		mkdir -p /tmp/qemu
		if ! xz -dc /vmdense/qe.tar.xz | tar x -C /tmp/qemu; then
			echo "L1: cannot unpack QEMU"
			exit 1
		fi
	fi
	mirror_start
	timeout "$L2_TIMEOUT" $q/lib/ld-linux-x86-64.so.2 --library-path $q/lib \
		$q/bin/qemu-system-x86_64 -L $q/share/qemu -nodefaults \
		-no-user-config -display none -no-reboot -accel kvm -cpu host,-svm \
		-m "$L2_MEM" -smp "$L2_SMP" -kernel "$L2_KERNEL" -initrd "$L2_INITRD" \
		-append "$L2_BASE_APPEND $L2_APPEND VMDENSE_RUN=$L2_RUN $L2_PARAMS" \
		-serial "file:$L2_LOG" 2>/tmp/qemu.err
	rc=$?
	sed 's/^/L1-QEMU| /' /tmp/qemu.err
	mirror_stop
	status=$(sed -n 's/.*VMDENSE-EXIT \([0-9]*\).*/\1/p' "$L2_LOG" | tail -1)
	echo "ENDING monitor=qemu status=${status:-none} qemu_rc=$rc"
	[ "$status" = 0 ]
}

t0=$(now)
if [ "$MONITOR" = qemu ]; then
	kvm_trace_start
	qemu_run
else
	# shellcheck disable=SC2086 # STUB_OPTS is a list of options
	stub_start "$L2_RUN" "$L2_PARAMS" $STUB_OPTS
	stub_end
fi
rc=$?
metric run_seconds "$(elapsed "$t0")"
if [ $rc -ne 0 ]; then
	[ "$MONITOR" = qemu ] && kvm_trace_dump 200
	dmesg | tail -20 | sed 's/^/L1-DMESG| /'
fi
kvm_trace_stop
exit $rc
