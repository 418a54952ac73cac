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
#define CPUID_XSTATE		0xd
#define XSTATE_1_EAX_XSAVEC	(1u << 1)
#define XSTATE_1_EAX_XSAVES	(1u << 3)
#define XSTATE_COMP_SUPERVISOR	(1u << 0)	/* ecx of a component's subleaf */
#define XSTATE_FIRST_EXTENDED	2

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

/*
 * Leaf 0xD describes the XSAVE area twice: sizes in subleaves 0 and 1, and
 * every component's size and offset in subleaves 2 and up. Under the TCG
 * L1 the compacted-format sizes (subleaf 1, used with XSAVEC and XSAVES)
 * need not agree with the components: an L2 that checks them warns
 * "XSAVE consistency problem" at boot. Offer the standard format only,
 * whose size KVM recomputes from the guest's XCR0 out of the same
 * component leaves the guest checks it against, and no supervisor state,
 * which only XSAVES manages.
 */
void cpuid_fix_xsave(struct kvm_cpuid2 *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == CPUID_XSTATE) {
			if (e->index == 1) {
				e->eax &= ~(XSTATE_1_EAX_XSAVEC |
					    XSTATE_1_EAX_XSAVES);
				e->ebx = 0;
				e->ecx = 0;	/* IA32_XSS bits */
				e->edx = 0;
			} else if (e->index >= XSTATE_FIRST_EXTENDED &&
				   (e->ecx & XSTATE_COMP_SUPERVISOR)) {
				continue;
			}
		}
		c->entries[n++] = *e;
	}
	c->nent = n;
}
