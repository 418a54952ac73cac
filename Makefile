# SPDX-License-Identifier: GPL-2.0
#
# vmdense top level. The kernel side is built by grafting this tree into the
# pinned kernel (scripts/build-kernel); see README.md.
#
#   make run      install what is needed, build, boot the demo guest
#   make test     build and run make test's tier (T=name runs one test or
#                 group, whatever its tier); 30 minutes or less
#   make test-full every test: full sizes, the kernel drivers' halves,
#                 Debian 6.1 boots, longer fuzzing
#   make test-kasan the scenarios on the KASAN variant of the test kernel
#                 (its own build in out/build-kasan: a cold kernel build)
#   make build    kernel, modules, initramfs
#   make bench    benchmarks: JSON, plots, tables in out/bench (QUICK=1: smoke)
#   make vm       boot the guest with a shell on this terminal
#   make check    checkpatch on our C and headers
#   make clean    remove out/ (the unpacked kernel and all results)
#
# Packages and deployment (README.md, "Packages and deployment"):
#   make deb      the vmdense kernel as a Debian linux-image package in
#                 out/deb (Debian's 6.12 config + configs/vmdense.config,
#                 make bindeb-pkg in out/deb-build); hours on 2 cores
#   make dkms-deb vmdense_virtio_mem and vmdense_balloon as a DKMS package
#                 for stock kernels: out/deb/vmdense-dkms_<version>_all.deb
#   make deploy   the deployment tier (tests/run deploy): a debootstrapped
#                 Debian 12 guest with systemd installs the DKMS package on
#                 its stock kernel, then boots the kernel package; builds
#                 the kernel package first if out/deb has none

SHELL := /bin/bash
T ?=

.PHONY: all deps kernel initramfs build run vm test test-full bench check clean
.PHONY: deb dkms-deb deploy test-kasan

all: build

deps:
	@scripts/install-deps

kernel: deps
	@scripts/build-kernel

initramfs: kernel
	@scripts/build-initramfs

build: initramfs

run: build
	@scripts/demo

vm: build
	@scripts/vmrun --console

test: build
	@tests/run $(T)

test-full: build
	@tests/run --full $(T)

# The scenarios again on the KASAN variant of the test kernel
# (configs/variants/kasan.config; out/build-kasan, out/initramfs-kasan*):
# a use-after-free is reported whether KFENCE sampled it or not.
KASAN_TESTS ?= kunit virtio_mem hinting hyperv hoststub
test-kasan: deps
	@KERNEL_VARIANT=kasan scripts/build-kernel
	@KERNEL_VARIANT=kasan scripts/build-initramfs
	@VMDENSE_KERNEL_VARIANT=kasan tests/run $(or $(T),$(KASAN_TESTS))

bench: build
	@bench/run $(if $(QUICK),--quick) $(BENCH_ARGS)

check:
	@scripts/checkpatch-all

clean:
	rm -rf out

deb: deps
	@scripts/build-deb

dkms-deb:
	@scripts/build-dkms-deb

# The kernel package takes hours to build: made once here when missing,
# rebuilt by make deb.
deploy: deps dkms-deb
	@ls out/deb/linux-image-*-vmdense_*.deb >/dev/null 2>&1 || scripts/build-deb
	@tests/run $(or $(T),deploy)
