# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The pinned kernel tree with vmdense in it, shared by scripts/build-kernel
# (the test kernel, out/build) and scripts/build-deb (the linux-image
# package, out/deb-build). Sourced, not run. The caller sets ROOT (the
# checkout) and TAG (its log prefix); this sets OUT, SRC (the unpacked
# tree: out/linux-source-6.12) and PINNED (the file kernel-version) and
# gives
#   kernel_tree_check_pin  fail unless the installed linux-source-6.12 is
#                          the pinned one
#   kernel_tree_prepare    unpack it (again whenever the pin or patches/
#                          changed), apply patches/*.patch, graft our
#                          directories in
#   kernel_tree_tinyconfig BUILD MAKE...: x86-64 tinyconfig with
#                          configs/*.config (and, with KERNEL_VARIANT=NAME,
#                          configs/variants/NAME.config after them) merged
#                          into BUILD, checked option by option (again
#                          when a fragment changed)
# scripts/build-newest-6.12 sets KERNEL_TREE_SRC, KERNEL_TARBALL and
# KERNEL_TREE_VERSION first: another linux-source-6.12 than the pinned one.
# Both builds use the one tree (each with its own O= directory), so a
# change of the pin or of patches/ reaches both.

OUT=$ROOT/out
SRC=${KERNEL_TREE_SRC:-$OUT/linux-source-6.12}
PINNED=${KERNEL_TREE_VERSION:-$(cat "$ROOT/kernel-version")}
TARBALL=${KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

kernel_tree_check_pin() {
	local have
	have=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
	if [ "$have" != "$PINNED" ]; then
		echo "[$TAG] ERROR: pinned linux-source-6.12 $PINNED (file" \
			"kernel-version), installed: ${have:-none}. Run scripts/install-deps." >&2
		exit 1
	fi
}

# graft_dir <path in tree> <our dir> <parent build file> <line>: link
# target -> our directory, then one line in the parent's build file
_kernel_graft_dir() {
	local at=$SRC/$1
	if [ ! -L "$at" ]; then
		[ -e "$at" ] && { echo "[$TAG] ERROR: $1 exists in the tree" >&2; exit 1; }
		ln -s "$ROOT/$2" "$at"
	fi
	grep -qxF "$4" "$SRC/$3" || echo "$4" >>"$SRC/$3"
}

kernel_tree_prepare() {
	local series_sum stamp p
	# Stamp: pinned version plus the patch series; a change unpacks afresh
	# so that no half-applied series is ever built.
	series_sum=$(shopt -s nullglob; cat /dev/null "$ROOT"/patches/*.patch | sha256sum | cut -c1-16)
	stamp="$PINNED $series_sum"
	if [ ! -f "$SRC/.vmdense-stamp" ] || [ "$(cat "$SRC/.vmdense-stamp")" != "$stamp" ]; then
		echo "[$TAG] unpacking linux-source-6.12 $PINNED (about 15 s)"
		rm -rf "$SRC"
		mkdir -p "$(dirname "$SRC")"
		tar -C "$(dirname "$SRC")" -xJf "$TARBALL"
		for p in "$ROOT"/patches/*.patch; do
			[ -e "$p" ] || continue
			echo "[$TAG] applying $(basename "$p")"
			patch -d "$SRC" -p1 --forward --quiet <"$p"
		done
		echo "$stamp" >"$SRC/.vmdense-stamp"
	fi

	# Graft: one link and one build-file line per directory and, for the
	# whole project, one Kconfig line.
	# (make variables, not the shell's: single quotes on purpose)
	# shellcheck disable=SC2016
	_kernel_graft_dir mm/hinting mm/hinting mm/Makefile \
		'obj-$(CONFIG_MM_HINTING) += hinting/'
	# shellcheck disable=SC2016
	_kernel_graft_dir drivers/virtio_mem drivers/virtio_mem drivers/Makefile \
		'obj-$(CONFIG_VMDENSE_VIRTIO_MEM) += virtio_mem/'
	# shellcheck disable=SC2016
	_kernel_graft_dir drivers/virtio_balloon_hinting drivers/virtio_balloon_hinting \
		drivers/Makefile 'obj-$(CONFIG_VMDENSE_BALLOON) += virtio_balloon_hinting/'
	# obj-y: its boot-time part is built in even when the module is not
	_kernel_graft_dir arch/x86/hyperv_mem arch/x86/hyperv_mem arch/x86/Kbuild \
		'obj-y += hyperv_mem/'
	[ -L "$SRC/Kconfig.vmdense" ] || ln -s "$ROOT/Kconfig" "$SRC/Kconfig.vmdense"
	grep -qxF 'source "Kconfig.vmdense"' "$SRC/Kconfig" ||
		echo 'source "Kconfig.vmdense"' >>"$SRC/Kconfig"
}

kernel_tree_tinyconfig() {
	local build=$1 cfg_sum bad line opt frags=("$ROOT"/configs/*.config)
	shift
	if [ -n "${KERNEL_VARIANT:-}" ]; then
		frags+=("$ROOT/configs/variants/$KERNEL_VARIANT.config")
		[ -f "${frags[-1]}" ] || { echo "[$TAG] ERROR: no kernel" \
			"variant $KERNEL_VARIANT (configs/variants)" >&2; exit 1; }
	fi
	mkdir -p "$build"
	cfg_sum=$(cat "${frags[@]}" "$ROOT/Kconfig" "$ROOT"/*/*/Kconfig \
		"$ROOT"/*/*/*/Kconfig "$SRC/.vmdense-stamp" | sha256sum | cut -c1-16)
	[ -f "$build/.vmdense-config" ] &&
		[ "$(cat "$build/.vmdense-config")" = "$cfg_sum" ] && return
	echo "[$TAG] configuring: tinyconfig + configs/*.config"
	"$@" tinyconfig >/dev/null
	(cd "$build" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$build" \
		"$build/.config" "${frags[@]}" >/dev/null)
	"$@" olddefconfig >/dev/null
	# Every option the fragments ask for (the last word of each) must be
	# in the final config.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) opt=${line%%=*}
			grep -q "^$opt=" "$build/.config" &&
				{ echo "[$TAG] ERROR: $opt should be off"; bad=1; } ;;
		CONFIG_*) grep -qxF "$line" "$build/.config" ||
				{ echo "[$TAG] ERROR: $line requested, got:" \
					"$(grep "^${line%%=*}=" "$build/.config" || echo unset)"; bad=1; } ;;
		esac
	done < <(cat "${frags[@]}" | awk -F= '/^CONFIG_/ { last[$1] = $0 }
		END { for (o in last) print last[o] }')
	[ $bad -eq 0 ] || { echo "[$TAG] config check failed" >&2; exit 1; }
	echo "$cfg_sum" >"$build/.vmdense-config"
}
