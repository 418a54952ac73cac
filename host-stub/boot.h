/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Direct 64-bit Linux boot (Documentation/arch/x86/boot.rst): load the
 * bzImage's protected-mode kernel and the initramfs into guest RAM, build
 * boot_params with the e820 map and command line, identity page tables and
 * a GDT, and start the boot vCPU in long mode at the 64-bit entry point.
 */
#ifndef HOST_STUB_BOOT_H
#define HOST_STUB_BOOT_H

#include <stdint.h>

struct vm;

/* Low-memory layout of what we build for the kernel. */
#define BOOT_GDT	0x500ull
#define BOOT_PML4	0x1000ull
#define BOOT_PDPT	0x2000ull
#define BOOT_PD		0x3000ull	/* four pages: 4 GiB of 2 MiB pages */
#define BOOT_STACK	0x8ff0ull
#define BOOT_PARAMS	0x10000ull
#define BOOT_CMDLINE	0x20000ull
#define BOOT_CMDLINE_MAX 4096
#define MPTABLE_BASE	0xf0000ull
#define EBDA_START	0x9fc00ull

struct boot_info {
	uint64_t entry;		/* 64-bit entry point */
	uint64_t kernel_load, kernel_end;
	uint64_t initrd_addr, initrd_size;
};

int boot_load(struct vm *vm, const char *kernel, const char *initrd,
	      const char *cmdline, struct boot_info *bi);

/* Registers of the boot vCPU. */
int boot_setup_bsp(struct vm *vm, int vcpu_fd, const struct boot_info *bi);

/* Intel MP table so the kernel finds the CPUs and the I/O APIC. */
int mptable_write(uint8_t *ram, uint64_t ram_size, int nr_cpus);

#endif
