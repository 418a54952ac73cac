/* SPDX-License-Identifier: GPL-2.0 */
/* CPUID as the guest sees it: what we take out of KVM's supported set. */
#ifndef HOST_STUB_CPUID_H
#define HOST_STUB_CPUID_H

#include <linux/kvm.h>

/*
 * Hide hardware virtualization (SVM, VMX) from the guest. The guest is a
 * test subject for memory drivers and has no use for it, and a nested
 * guest that enables SVM itself is where the TCG-emulated setup here
 * broke (see cpuid.c).
 */
void cpuid_hide_virt(struct kvm_cpuid2 *c);

#endif
