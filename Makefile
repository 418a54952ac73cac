# SPDX-License-Identifier: GPL-2.0
#
# vmdense top level. The kernel side is built by grafting this tree into the
# pinned kernel (scripts/build-kernel); see README.md.
#
#   make run      install what is needed, build, boot the demo guest
#   make test     build and run every test (T=name runs one test or group)
#   make build    kernel, modules, initramfs
#   make vm       boot the guest with a shell on this terminal
#   make check    checkpatch on our C and headers
#   make bench    measurements: hinting overhead, memory returned over time
#   make clean    remove out/ (the unpacked kernel and all results)

SHELL := /bin/bash
T ?=

.PHONY: all deps kernel initramfs build run vm test check bench clean

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

check:
	@scripts/checkpatch-all

bench: build
	@scripts/bench

clean:
	rm -rf out
