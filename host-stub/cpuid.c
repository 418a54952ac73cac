// SPDX-License-Identifier: GPL-2.0
/*
 * KVM offers its guest SVM (or VMX) when it supports nested
 * virtualization. Our kernel builds KVM in, so a guest that sees SVM
 * enables it on every CPU at boot (kvm_amd with
 * enable_virtualization_at_load). Under the QEMU TCG L1 used for the
 * nested tests, guests that did so lost their CPU state at random: an
 * interrupt return onto a zeroed frame (RIP 0, CS 0) right after kvm_amd
 * loaded, or a triple fault later. Nothing here needs a third level.
 */
#include "cpuid.h"

#define CPUID_1_ECX_VMX		(1u << 5)
#define CPUID_80000001_ECX_SVM	(1u << 2)
#define CPUID_SVM_FEATURES	0x8000000a

void cpuid_hide_virt(struct kvm_cpuid2 *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ecx &= ~CPUID_1_ECX_VMX;
		if (e->function == 0x80000001)
			e->ecx &= ~CPUID_80000001_ECX_SVM;
		/* SVM's feature leaf goes with it */
		if (e->function == CPUID_SVM_FEATURES)
			continue;
		c->entries[n++] = *e;
	}
	c->nent = n;
}
