#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.skip_zeroing's L2 (init_on_alloc=1 on its command line): load
# vmdense_hyperv, whose boot-zeroed query makes pages known-zero; time
# ALLOC_MB MiB of __GFP_ZERO allocations (tests/guest-modules/zero_alloc)
# and FILL_MB MiB of user memory filled by the checker, each in the halves
# of HALVES with skip_zeroing off (noskip*) or on (skip*), every half held
# so that none gets another's pages back, after untimed batches took the
# free pages written before (prime); then, with skipping on,
# kz_check takes KZ_MB MiB with __GFP_ZERO and checks every byte.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${ALLOC_MB:=64}" "${FILL_MB:=64}" "${KZ_MB:=600}"
: "${HALVES:=noskip1,skip1,skip2,noskip2}"
halves=$(echo "$HALVES" | tr , ' ')

modprobe vmdense_hyperv cold_hints=0 || exit 1
for f in "$STATS"/zeroing_*; do echo "L2-LD $(basename "$f")=$(cat "$f")"; done
# an invalid value: refused, nothing changed
rc=0
printf '2\n' >$HINTING/skip_zeroing 2>/dev/null || rc=1
echo "L2-RC bad_skip_rc=$rc"
echo "L2-RC skip_after_bad=$(cat $HINTING/skip_zeroing)"

# the skip-zeroing counters before a batch, and what batch $1 added
snap() {
	s0=$(cat "$STATS/zeroing_skipped_pages")
	k0=$(cat "$STATS/zeroing_done_known_zero_pages")
}
counted() {
	echo "L2-CMP $1_skipped=$(($(cat "$STATS/zeroing_skipped_pages") - s0))"
	echo "L2-CMP $1_kz_cleared=$(($(cat "$STATS/zeroing_done_known_zero_pages") - k0))"
}
# fill and hold: time to the checker's first verified round
fill() {
	snap
	t0=$(uptime_s)
	fill_hold $((FILL_MB / 2)) "$1" || exit 1
	echo "L2-CMP $1_ms=$(ms_since "$t0")"
	counted "$1"
}
# the same for __GFP_ZERO allocations, held by the module
grab() {
	snap
	echo $((ALLOC_MB / 2)) >/sys/module/vmdense_zero_alloc/parameters/grab
	dmesg | grep -o 'zero_alloc: pages=.*' | tail -1 | tr ' ' '\n' |
		grep alloc_ns= | sed "s/^/L2-CMP $1_/"
	counted "$1_grab"
}
# skip_zeroing for the half named $1
mode() {
	case $1 in
	noskip*) echo 0 >$HINTING/skip_zeroing ;;
	*) echo 1 >$HINTING/skip_zeroing ;;
	esac
}

# Pages written since boot and freed (early boot's, the initramfs's, the
# scripts') are handed out before the host-zeroed ones, so the first half
# would get them and clear them whatever its mode. Untimed batches of a
# half's size, skipping on, take them first, until one is all but whole
# (99 %) known-zero, at most PRIME_MAX of them.
prime() {
	n=0
	want=$((ALLOC_MB * 128 * 99 / 100))
	while [ "$n" -lt "$PRIME_MAX" ]; do
		n=$((n + 1))
		snap
		echo $((ALLOC_MB / 2)) >/sys/module/vmdense_zero_alloc/parameters/grab
		got=$(($(cat "$STATS/zeroing_skipped_pages") - s0))
		echo "L2-CMP prime${n}_skipped=$got"
		[ "$got" -ge "$want" ] && break
	done
	echo "L2-CMP prime_mb=$((n * ALLOC_MB / 2))"
}
: "${PRIME_MAX:=3}"

insmod /vmdense/modules/vmdense_zero_alloc.ko
echo 1 >$HINTING/skip_zeroing
prime
step "timing __GFP_ZERO allocations: $HALVES"
for h in $halves; do mode "$h"; grab "$h"; done
step "timing fills: $HALVES"
for h in $halves; do mode "$h"; fill "$h"; done
step "checking $KZ_MB MiB of __GFP_ZERO pages with skipping on"
echo 1 >$HINTING/skip_zeroing
kz_check "$KZ_MB"
rmmod vmdense_zero_alloc
for h in $halves; do
	p=$(cat "/tmp/$h.pid")
	kill "$p"
	while [ -d "/proc/$p" ]; do sleep 0.1; done
	echo "L2-FILL-END $h $(tail -1 "/tmp/$h.out")"
done
counters L2-HV $HV
counters L2-ST $STATS
