# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The L1 side of a nested scenario, sourced by /vmdense/l1/*.sh: start a
# monitor (host-stub, or QEMU with KVM) whose L2 runs one of /vmdense/l2/*.sh,
# drive host-stub's control socket, wait for what L2 prints, report metrics.
# L2's console is copied live to L1's console as "L2| " lines, so the host
# sees it as it happens and keeps it even if L1 dies.
#
# Every setting below may come from the environment, so that a person can
# run a scenario by hand in an L1 shell (make vm, then e.g.
# MODULE=vmdense_balloon /vmdense/l1/balloon.sh).

: "${STUB:=/vmdense/host-stub}"
: "${L2_KERNEL:=/vmdense/bzImage}"
: "${L2_INITRD:=/vmdense/l2.cpio.gz}"
: "${L2_MEM:=512M}"
: "${L2_SMP:=1}"
: "${L2_TIMEOUT:=600}"
: "${L2_LOG:=/tmp/l2.log}"
: "${L2_APPEND:=}"
: "${SOCK:=/tmp/c.sock}"
: "${STATS_OUT:=/tmp/stats.json}"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=kvm_trace.sh
. /vmdense/lib/kvm_trace.sh

# Kernel parameters of every L2: panic and oops end the run at once, so a
# failure is seen when it happens rather than at the time limit.
L2_BASE_APPEND="console=ttyS0 panic=-1 oops=panic memhp_default_state=online_movable vmdense_hyperv_early.boot_zeroed=0"

now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
metric() { echo "METRIC $1 $2"; }
# Progress for the person watching the test run (the host prints these).
step() { echo "L1-STEP $*" >/dev/console; }

# The L2 console, copied live to L1's console until mirror_stop.
mirror_start() {
	: >"$L2_LOG"
	(
		tail -n +1 -F "$L2_LOG" 2>/dev/null &
		echo $! >/tmp/mirror.pid
		wait
	) | sed 's/^/L2| /' >/dev/console &
}
mirror_stop() {
	sleep 1
	[ -f /tmp/mirror.pid ] && kill "$(cat /tmp/mirror.pid)" 2>/dev/null
	rm -f /tmp/mirror.pid
	return 0
}

# stub_start RUN PARAMS [host-stub options...]: host-stub in the background
# ($pid) with an L2 that runs /vmdense/l2/RUN with kernel parameters PARAMS
# (NAME=value pairs reach its scripts as environment variables); options
# in STUB_EXTRA go to every host-stub (VMDENSE_STUB_OPTS on the host).
stub_start() {
	run=$1
	params=$2
	shift 2
	rm -f "$SOCK" "$STATS_OUT"
	mirror_start
	kvm_trace_start
	# shellcheck disable=SC2086 # STUB_EXTRA is a list of options
	"$STUB" --kernel "$L2_KERNEL" --initrd "$L2_INITRD" --mem "$L2_MEM" \
		--smp "$L2_SMP" --console "$L2_LOG" --control "$SOCK" \
		--timeout "$L2_TIMEOUT" --stats-out "$STATS_OUT" \
		--append "$L2_BASE_APPEND $L2_APPEND VMDENSE_RUN=$run $params" \
		"$@" ${STUB_EXTRA:-} 2>/tmp/stub.err &
	pid=$!
	# the socket comes up before the first vCPU runs
	i=0
	until [ -S "$SOCK" ] || ! kill -0 "$pid" 2>/dev/null || [ $i -gt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# Whether host-stub ($pid) is gone.
stub_gone() { [ -n "${pid:-}" ] && ! kill -0 "$pid" 2>/dev/null; }

# stub_end: wait for host-stub, say how it ended (ENDING line), stop the
# mirror. Returns host-stub's status.
stub_end() {
	wait "$pid"
	rc=$?
	pid=
	why=$(grep -o 'host-stub: .*, exit status' /tmp/stub.err | tail -1 |
		sed 's/^host-stub: //; s/, exit status$//')
	grep -v '^host-stub: .*, exit status' /tmp/stub.err | sed 's/^/L1-STUB| /'
	mirror_stop
	echo "ENDING monitor=host-stub status=$rc reason=${why:-unknown}"
	# how L2 got there is only in L1's trace of KVM's exits
	case $why in
	*triple*|*reset*|*halted*|*"time limit"*) kvm_trace_dump 200 ;;
	esac
	kvm_trace_stop
	return $rc
}

# quit: ask host-stub to stop L2, then stub_end.
quit() {
	stub_gone || ctl '{"cmd":"quit"}' >/dev/null
	stub_end
}

# Give up on L2: say why, stop host-stub, exit with 1.
die_l2() {
	echo "L1: ${why:-L2 failed}"
	dmesg | tail -12 | sed 's/^/L1-DMESG| /'
	if ! stub_gone; then
		ctl '{"cmd":"stats"}' | cut -c1-600
		kill "$pid" 2>/dev/null
	fi
	stub_end
	exit 1
}

# ctl JSON: one control request. A host-stub that is gone ends the script
# at once (also from inside $(...), where $$ is still the script): how L2
# ended is in its console.
ctl() {
	if stub_gone; then
		echo "L1: host-stub exited while L1 asked $1" >&2
		kill $$
		exit 1
	fi
	"$STUB" ctl "$SOCK" "$1"
}

# stat NAME: one number from the statistics.
stat() { ctl '{"cmd":"stats"}' | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }

# wait_line TEXT SECONDS: until L2 printed TEXT (0), or not (1, $why says).
wait_line() {
	i=0
	until grep -q "$1" "$L2_LOG" 2>/dev/null; do
		if stub_gone; then
			why="host-stub exited waiting for '$1'"
			return 1
		fi
		sleep 0.2
		i=$((i + 1))
		if [ $i -gt $(($2 * 5)) ]; then
			why="no '$1' from L2 in $2 s"
			return 1
		fi
	done
	return 0
}

# wait_stat NAME VALUE SECONDS: until the statistic NAME reads VALUE.
wait_stat() {
	i=0
	until [ "$(stat "$1")" = "$2" ]; do
		sleep 0.2
		i=$((i + 1))
		if [ $i -gt $(($3 * 5)) ]; then
			why="$1 not $2 after $3 s (is $(stat "$1"))"
			return 1
		fi
	done
	return 0
}

# stat_out NAME: a number from the statistics host-stub wrote at its exit.
stat_out() { grep -o "\"$1\":[0-9]*" "$STATS_OUT" | head -1 | cut -d: -f2; }

# sample_return: from now on, sample the guest RAM memfd every 0.2 s until
# it did not drop for 4 s (at most 120 s); sets $returned_to (bytes at
# the end) and $return_s (seconds until the last drop), for the caller.
# shellcheck disable=SC2034
sample_return() {
	t0=$(now)
	returned_to=$(stat ram_allocated_bytes)
	same=0
	i=0
	return_s=0
	while [ $same -lt 20 ] && [ $i -lt 600 ]; do
		sleep 0.2
		cur=$(stat ram_allocated_bytes)
		i=$((i + 1))
		if [ "$cur" -lt $((returned_to - 1048576)) ]; then
			returned_to=$cur
			same=0
			return_s=$(elapsed "$t0")
		else
			same=$((same + 1))
		fi
	done
}
