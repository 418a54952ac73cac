// SPDX-License-Identifier: GPL-2.0
/*
 * Intel MultiProcessor Specification 1.4 table.  Without ACPI this is how
 * Linux learns the CPUs' local APIC ids and where the I/O APIC is; every
 * ISA interrupt is routed 1:1 to the I/O APIC pin of the same number, as
 * KVM's in-kernel irqchip does by default.
 */
#include <stdint.h>
#include <string.h>

#include "boot.h"

#define IOAPIC_ADDR	0xfec00000u
#define LAPIC_ADDR	0xfee00000u
#define APIC_VERSION	0x14

/* The MP spec's structures are byte-packed. */
#pragma pack(push, 1)

struct mpf {			/* floating pointer */
	char sig[4];		/* "_MP_" */
	uint32_t table;
	uint8_t length;		/* in 16-byte units */
	uint8_t rev;
	uint8_t checksum;
	uint8_t feature[5];
};

struct mpc {			/* configuration table header */
	char sig[4];		/* "PCMP" */
	uint16_t length;
	uint8_t rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_ptr;
	uint16_t oem_size;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
};

struct mpc_cpu {
	uint8_t type;		/* 0 */
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags;		/* 1 enabled, 2 boot processor */
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
};

struct mpc_bus {
	uint8_t type;		/* 1 */
	uint8_t id;
	char name[6];
};

struct mpc_ioapic {
	uint8_t type;		/* 2 */
	uint8_t id;
	uint8_t ver;
	uint8_t flags;
	uint32_t addr;
};

struct mpc_int {		/* 3: I/O interrupt, 4: local interrupt */
	uint8_t type;
	uint8_t int_type;	/* 0 INT, 1 NMI, 3 ExtINT */
	uint16_t flags;		/* 0: conforming to the bus */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;
	uint8_t dst_pin;
};

#pragma pack(pop)

static uint8_t checksum(const void *p, unsigned int len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

int mptable_write(uint8_t *ram, uint64_t ram_size, int nr_cpus)
{
	struct mpf *mpf = (void *)(ram + MPTABLE_BASE);
	struct mpc *mpc = (void *)(mpf + 1);
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = nr_cpus;	/* after the CPUs' ids */
	unsigned int count = 0;
	int i;

	if (ram_size < MPTABLE_BASE + 4096)
		return -1;
	memset(mpf, 0, 4096);
	for (i = 0; i < nr_cpus; i++) {
		struct mpc_cpu *c = (void *)p;

		c->type = 0;
		c->apic_id = i;
		c->apic_ver = APIC_VERSION;
		c->flags = 1 | (i == 0 ? 2 : 0);
		c->signature = 0x600;	/* family 6: a plausible value */
		c->features = 0x201;	/* FPU, APIC */
		p += sizeof(*c);
		count++;
	}
	{
		struct mpc_bus *b = (void *)p;

		b->type = 1;
		b->id = 0;
		memcpy(b->name, "ISA   ", 6);
		p += sizeof(*b);
		count++;
	}
	{
		struct mpc_ioapic *io = (void *)p;

		io->type = 2;
		io->id = ioapic_id;
		io->ver = 0x11;
		io->flags = 1;
		io->addr = IOAPIC_ADDR;
		p += sizeof(*io);
		count++;
	}
	for (i = 0; i < 16; i++) {
		struct mpc_int *in = (void *)p;

		if (i == 2)	/* the PIC cascade has no pin of its own */
			continue;
		in->type = 3;
		in->int_type = 0;
		in->src_bus = 0;
		in->src_irq = i;
		in->dst_apic = ioapic_id;
		in->dst_pin = i;
		p += sizeof(*in);
		count++;
	}
	for (i = 0; i < 2; i++) {
		struct mpc_int *in = (void *)p;

		in->type = 4;
		in->int_type = i == 0 ? 3 : 1;	/* LINT0 ExtINT, LINT1 NMI */
		in->src_bus = 0;
		in->src_irq = 0;
		in->dst_apic = 0xff;
		in->dst_pin = i;
		p += sizeof(*in);
		count++;
	}
	memcpy(mpc->sig, "PCMP", 4);
	mpc->length = p - (uint8_t *)mpc;
	mpc->rev = 4;
	memcpy(mpc->oem, "VMDENSE ", 8);
	memcpy(mpc->product, "HOST-STUB   ", 12);
	mpc->count = count;
	mpc->lapic = LAPIC_ADDR;
	mpc->checksum = checksum(mpc, mpc->length);

	memcpy(mpf->sig, "_MP_", 4);
	mpf->table = MPTABLE_BASE + sizeof(*mpf);
	mpf->length = 1;
	mpf->rev = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return 0;
}
