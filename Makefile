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
#   make build    kernel, modules, initramfs
#   make bench    benchmarks: JSON, plots, tables in out/bench (QUICK=1: smoke)
#   make vm       boot the guest with a shell on this terminal
#   make check    checkpatch on our C and headers
#   make clean    remove out/ (the unpacked kernel and all results)

SHELL := /bin/bash
T ?=

.PHONY: all deps kernel initramfs build run vm test test-full bench check clean

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

bench: build
	@bench/run $(if $(QUICK),--quick) $(BENCH_ARGS)

check:
	@scripts/checkpatch-all

clean:
	rm -rf out
