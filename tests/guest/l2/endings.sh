#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The L2 workload of the nested-endings experiment (tests/NESTED-ENDINGS.md):
# boot, stay idle IDLE_S seconds, fill and verify FILL_MB MiB with the
# data-integrity checker, free it, end with the checker's status.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${IDLE_S:=60}" "${FILL_MB:=256}"

step "idle $IDLE_S s"
sleep "$IDLE_S"
step "fill and free $FILL_MB MiB"
/vmdense/integrity --mb "$FILL_MB" --seconds 0
