#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.bad_config: L2 binds MODULE to host-stub's virtio-mem device
# once for each invalid config in KINDS (comma-separated). Each time L2
# asks, L1 switches the config and then tells L2 on its console, so that
# every bind sees the config it is counted for.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${MODULE:=vmdense_virtio_mem}" "${KINDS:?kinds of bad config}"

stub_start l2/vmem_bad_config.sh "MODULE=$MODULE KINDS=$KINDS" \
	--vmem 1G --vmem-block 2M
for k in $(echo "$KINDS" | tr , ' '); do
	wait_line "L2-WANT-$k" 120 || die_l2
	ctl "{\"cmd\":\"bad-config\",\"kind\":\"$k\"}" >/dev/null || die_l2
	ctl "{\"cmd\":\"console-input\",\"text\":\"config-$k\\n\"}" >/dev/null ||
		die_l2
done
wait_line L2-DONE 120 || die_l2
metric plugged_size "$(stat plugged_size)"
metric violations "$(stat violations)"
quit
