#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hinting.unload_silent_host: host-stub's balloon stops acknowledging
# reports; L2 frees memory, and once a report is in flight unloads
# vmdense_balloon.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${STUB_OPTS:=}"

# shellcheck disable=SC2086 # STUB_OPTS is a list of options
stub_start l2/unload_silent.sh "" --balloon $STUB_OPTS
wait_line L2-BALLOON-READY 120 || die_l2
# what was free at load is reported first: wait until that went quiet
sleep 5
ctl '{"cmd":"fault","dev":"balloon","drop":1000000}' >/dev/null
f0=$(stat faults_injected)
ctl '{"cmd":"console-input","text":"silent\n"}' >/dev/null
i=0
until [ "$(stat faults_injected)" -gt "$f0" ]; do
	sleep 0.2
	i=$((i + 1))
	[ $i -gt 600 ] && { why="no report reached the silent host"; die_l2; }
done
step "a report is in flight; L2 unloads the driver"
ctl '{"cmd":"console-input","text":"unload\n"}' >/dev/null
stub_end
rc=$?
metric reports_dropped $(($(stat_out faults_injected) - f0))
exit $rc
