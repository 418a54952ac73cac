#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.bad_config's L2: for each kind of invalid virtio-mem config in
# KINDS, ask L1 for it ("L2-WANT-<kind>"), wait until L1 says on the
# console that the device now presents it, then bind MODULE to the device
# and record whether the driver took it.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${MODULE:=vmdense_virtio_mem}" "${KINDS:?kinds of bad config}"
D=/sys/bus/virtio/drivers/$MODULE

# kernel messages would interleave with our lines on the console; the
# whole log is printed at the end for the host's report checks
dmesg -n 1
modprobe "$MODULE"
echo virtio0 >"$D/unbind"
for k in $(echo "$KINDS" | tr , ' '); do
	echo "L2-WANT-$k"
	read -r got </dev/ttyS0
	if [ "$got" != "config-$k" ]; then
		echo "L2-HANDSHAKE wanted config-$k, L1 said '$got'"
		exit 1
	fi
	if echo virtio0 >"$D/bind" 2>/dev/null && [ -e "$D/virtio0" ]; then
		echo "L2-RESULT $k bound" >>/tmp/results
		echo virtio0 >"$D/unbind"
	else
		echo "L2-RESULT $k refused" >>/tmp/results
	fi
done
cat /tmp/results
dmesg | sed 's/^/L2-DMESG /'
echo L2-DONE
hold
