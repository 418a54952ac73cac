// SPDX-License-Identifier: GPL-2.0
/*
 * Direct Linux boot.  Field offsets and flags come from the kernel's UAPI
 * <asm/bootparam.h>; the protocol rules followed here are those of
 * Documentation/arch/x86/boot.rst for a 64-bit boot loader.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <asm/bootparam.h>
#include <linux/kvm.h>

#include "boot.h"
#include "vm.h"

#define HDRS_MAGIC	0x53726448	/* "HdrS" */
#define MIN_PROTOCOL	0x20c		/* has xloadflags, 64-bit entry */
#define E820_RAM	1
#define E820_RESERVED	2

static uint8_t *read_file(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "host-stub: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	while (buf && done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, st.st_size - done);

		if (n <= 0) {
			free(buf);
			buf = NULL;
			break;
		}
		done += n;
	}
	close(fd);
	*size = done;
	return buf;
}

static void add_e820(struct boot_params *bp, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

static uint64_t lowmem_end(const struct vm *vm)
{
	return vm->ram_size < LOWMEM_MAX ? vm->ram_size : LOWMEM_MAX;
}

int boot_load(struct vm *vm, const char *kernel, const char *initrd,
	      const char *cmdline, struct boot_info *bi)
{
	struct boot_params *bp = (void *)(vm->ram + BOOT_PARAMS);
	struct setup_header *hdr;
	uint8_t *img, *rd = NULL;
	size_t img_size, rd_size = 0, setup_size, hdr_end;
	uint64_t load, low = lowmem_end(vm), rd_max, rd_addr = 0;
	unsigned int setup_sects;

	img = read_file(kernel, &img_size);
	if (!img)
		return -1;
	if (img_size < 0x1000)
		goto bad;
	hdr = (struct setup_header *)(img + 0x1f1);
	if (hdr->header != HDRS_MAGIC || hdr->version < MIN_PROTOCOL ||
	    !(hdr->xloadflags & XLF_KERNEL_64)) {
		fprintf(stderr, "host-stub: %s: not a 64-bit bzImage (protocol >= 2.12)\n",
			kernel);
		goto fail;
	}
	setup_sects = hdr->setup_sects ? hdr->setup_sects : 4;
	setup_size = (setup_sects + 1) * 512ul;
	if (setup_size >= img_size)
		goto bad;
	/*
	 * Load at the preferred address: the kernel decompresses in place
	 * within init_size from there, and a non-relocatable kernel must
	 * run there anyway.
	 */
	load = hdr->pref_address;
	if (load < MIB || load + hdr->init_size > low ||
	    load + (img_size - setup_size) > low) {
		fprintf(stderr, "host-stub: kernel does not fit in RAM\n");
		goto fail;
	}
	memcpy(vm->ram + load, img + setup_size, img_size - setup_size);
	bi->kernel_load = load;
	bi->kernel_end = load + hdr->init_size;
	bi->entry = load + 0x200;	/* 64-bit entry: startup_64 */

	if (initrd) {
		rd = read_file(initrd, &rd_size);
		if (!rd)
			goto fail;
		rd_max = hdr->initrd_addr_max;
		if (hdr->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G)
			rd_max = low - 1;
		if (rd_max > low - 1)
			rd_max = low - 1;
		/* highest page-aligned place under the limit, above the kernel */
		rd_addr = (rd_max + 1 - rd_size) & ~0xfffull;
		if (rd_size > rd_max || rd_addr < bi->kernel_end) {
			fprintf(stderr, "host-stub: initrd does not fit\n");
			goto fail;
		}
		memcpy(vm->ram + rd_addr, rd, rd_size);
		free(rd);
		rd = NULL;
	}
	bi->initrd_addr = rd_addr;
	bi->initrd_size = rd_size;

	memset(bp, 0, sizeof(*bp));
	/* The header is copied as the image has it, then amended. */
	hdr_end = 0x202 + img[0x201];
	if (hdr_end > 0x1f1 + sizeof(bp->hdr))
		hdr_end = 0x1f1 + sizeof(bp->hdr);
	memcpy(&bp->hdr, img + 0x1f1, hdr_end - 0x1f1);
	bp->hdr.vid_mode = 0xffff;
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	bp->hdr.loadflags &= ~KEEP_SEGMENTS;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.code32_start = load;
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE;
	if (strlen(cmdline) >= BOOT_CMDLINE_MAX ||
	    (hdr->cmdline_size && strlen(cmdline) > hdr->cmdline_size)) {
		fprintf(stderr, "host-stub: command line too long\n");
		goto fail;
	}
	memcpy(vm->ram + BOOT_CMDLINE, cmdline, strlen(cmdline) + 1);
	bp->hdr.ramdisk_image = (uint32_t)rd_addr;
	bp->hdr.ramdisk_size = (uint32_t)rd_size;
	bp->ext_ramdisk_image = rd_addr >> 32;
	bp->ext_ramdisk_size = (uint64_t)rd_size >> 32;

	add_e820(bp, 0, EBDA_START, E820_RAM);
	add_e820(bp, EBDA_START, MIB - EBDA_START, E820_RESERVED);
	add_e820(bp, MIB, low - MIB, E820_RAM);
	if (vm->ram_size > low)
		add_e820(bp, HIGHMEM_BASE, vm->ram_size - low, E820_RAM);
	free(img);
	return mptable_write(vm->ram, vm->ram_size, vm->nr_vcpus);
bad:
	fprintf(stderr, "host-stub: %s: truncated bzImage\n", kernel);
fail:
	free(rd);
	free(img);
	return -1;
}

static void build_page_tables(uint8_t *ram)
{
	uint64_t *pml4 = (uint64_t *)(ram + BOOT_PML4);
	uint64_t *pdpt = (uint64_t *)(ram + BOOT_PDPT);
	uint64_t *pd = (uint64_t *)(ram + BOOT_PD);
	int i;

	/* Identity map of the first 4 GiB with 2 MiB pages: covers all
	 * of what the protocol asks (kernel, boot_params, command line,
	 * initrd), which we keep below 3 GiB.
	 */
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT | 3;		/* present, writable */
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD + i * 4096ull) | 3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* 2 MiB page */
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;		/* 64-bit code segment */
	s->db = !code;
}

int boot_setup_bsp(struct vm *vm, int fd, const struct boot_info *bi)
{
	uint64_t *gdt = (uint64_t *)(vm->ram + BOOT_GDT);
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	build_page_tables(vm->ram);
	/* The protocol wants __BOOT_CS = 0x10 and __BOOT_DS = 0x18. */
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffull;	/* 64-bit code, present, dpl 0 */
	gdt[3] = 0x00cf93000000ffffull;	/* flat data */

	if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	seg(&sregs.cs, 0x10, 0xb, 1);
	seg(&sregs.ds, 0x18, 0x3, 0);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.gdt.base = BOOT_GDT;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr3 = BOOT_PML4;
	sregs.cr4 = 1u << 5;			/* PAE */
	sregs.cr0 = 0x80000011;			/* PG, ET, PE */
	sregs.efer = (1u << 8) | (1u << 10);	/* LME, LMA */
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0)
		return -1;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = bi->entry;
	regs.rsi = BOOT_PARAMS;
	regs.rsp = BOOT_STACK;
	return ioctl(fd, KVM_SET_REGS, &regs);
}
