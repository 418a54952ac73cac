#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark's boot times (bench/hyperv.py): L2 (1 GiB, Hyper-V CPUID so
# that the boot-zeroed query can run, the full initramfs: its page cache
# is much of what a boot allocates) booted BOOTS times in each way named in
# WAYS ("name:kernel parameters" separated by ";"), taking turns, after one
# warm-up boot, every other round in the opposite order (the boots of one
# L1 drift). A line per boot: "BOOT <name> <round> userspace up after <s>
# L2-BT skipped=<pages> unpack=<s>" (the initramfs unpack, from printk
# stamps).
: "${L2_INITRD:=/vmdense/l2-full.cpio.gz}" "${L2_MEM:=1024M}" "${L2_TIMEOUT:=200}"
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${BOOTS:=3}" "${WAYS:?name:parameters;...}"

t_of() { sed -n "s/^\[ *\([0-9.]*\)\] $2.*/\1/p" "$1" | head -1; }
unpack() {
	awk -v a="$(t_of "$1" 'Unpacking initramfs')" \
		-v b="$(t_of "$1" 'Freeing initrd memory')" \
		'BEGIN { if (a != "" && b != "") printf "unpack=%.2f", b - a }'
}
# boot NAME ROUND PARAMETERS
boot() {
	L2_APPEND="printk.time=1 $3"
	stub_start l2/boot_time.sh "" --hyperv
	stub_end >/dev/null
	echo "BOOT $1 $2 $(grep -o 'userspace up after [0-9.]*' "$L2_LOG")" \
		"$(grep -o 'L2-BT skipped=[0-9]*' "$L2_LOG") $(unpack "$L2_LOG")"
}

n=$(echo "$WAYS" | tr ';' '\n' | grep -c .)
first=$(echo "$WAYS" | cut -d';' -f2)
boot warmup -1 "${first#*:}"
r=0
while [ $r -lt "$BOOTS" ]; do
	i=0
	while [ $i -lt "$n" ]; do
		j=$i
		[ $((r % 2)) -eq 1 ] && j=$((n - 1 - i))
		way=$(echo "$WAYS" | cut -d';' -f$((j + 1)))
		boot "${way%%:*}" $r "${way#*:}"
		i=$((i + 1))
	done
	r=$((r + 1))
done
