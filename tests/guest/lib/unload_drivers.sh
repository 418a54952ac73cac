#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Unload each named module that is loaded, one by one: busybox rmmod gives
# up at the first name it cannot unload, which left later names loaded
# behind a scenario's back. A module that stays loaded is an error, said
# by name, so that the next scenario does not run against a driver it did
# not ask for.
#
# Usage: unload_drivers.sh MODULE...

rc=0
for m in "$@"; do
	grep -q "^$m " /proc/modules || continue
	if ! rmmod "$m"; then
		echo "unload_drivers: $m stays loaded" >&2
		rc=1
	fi
done
exit $rc
