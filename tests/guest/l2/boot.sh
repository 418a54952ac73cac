#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.boot's L2: say that user space runs and on how many CPUs, then
# end with status 7, which host-stub must pass on as its own.
echo "hoststub-l2-shell $(nproc) cpus"
exit 7
