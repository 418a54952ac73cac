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
