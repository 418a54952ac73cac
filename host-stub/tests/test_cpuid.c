// SPDX-License-Identifier: GPL-2.0
/* The guest's CPUID: hardware virtualization hidden, the rest kept. */
#include <stdlib.h>

#include "cpuid.h"
#include "test.h"

void test_guest_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 4 * sizeof(c->entries[0]));
	unsigned int i, svm_leaf = 0;

	c->nent = 4;
	c->entries[0].function = 1;
	c->entries[0].ecx = 0x80000021;		/* hypervisor, VMX, SSE3 */
	c->entries[1].function = 0x80000001;
	c->entries[1].ecx = 0x7;		/* LAHF, CMP_LEGACY, SVM */
	c->entries[2].function = 0x8000000a;
	c->entries[2].edx = 0xff;
	c->entries[3].function = 0xd;
	c->entries[3].ebx = 576;
	cpuid_hide_virt(c);
	CHECK(c->nent == 3);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			CHECK(e->ecx == 0x80000001);
		if (e->function == 0x80000001)
			CHECK(e->ecx == 0x3);
		if (e->function == 0x8000000a)
			svm_leaf++;
		if (e->function == 0xd)
			CHECK(e->ebx == 576);
	}
	CHECK(!svm_leaf);
	free(c);
}

/* Leaf 0xD: standard format only, supervisor components gone. */
void test_xsave_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 5 * sizeof(c->entries[0]));
	unsigned int i, avx = 0;

	c->nent = 5;
	c->entries[0].function = 0xd;		/* x87, SSE, AVX; 832 bytes */
	c->entries[0].eax = 0x7;
	c->entries[0].ebx = 832;
	c->entries[0].ecx = 832;
	c->entries[1].function = 0xd;		/* XSAVEOPT, XSAVEC, XSAVES */
	c->entries[1].index = 1;
	c->entries[1].eax = 0xb;
	c->entries[1].ebx = 840;
	c->entries[1].ecx = 0x100;		/* PT in IA32_XSS */
	c->entries[2].function = 0xd;		/* AVX: user, 256 at 576 */
	c->entries[2].index = 2;
	c->entries[2].eax = 256;
	c->entries[2].ebx = 576;
	c->entries[3].function = 0xd;		/* PT: supervisor */
	c->entries[3].index = 8;
	c->entries[3].eax = 128;
	c->entries[3].ecx = 1;
	c->entries[4].function = 7;
	c->entries[4].ebx = 0x20;		/* AVX2, untouched */
	cpuid_fix_xsave(c);
	CHECK(c->nent == 4);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		CHECK(!(e->function == 0xd && e->index == 8));
		if (e->function == 0xd && e->index == 0)
			CHECK(e->eax == 0x7 && e->ebx == 832 && e->ecx == 832);
		if (e->function == 0xd && e->index == 1)
			CHECK(e->eax == 0x1 && !e->ebx && !e->ecx && !e->edx);
		if (e->function == 0xd && e->index == 2)
			avx += e->eax == 256 && e->ebx == 576;
		if (e->function == 7)
			CHECK(e->ebx == 0x20);
	}
	CHECK(avx == 1);
	free(c);
}
