/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hyper-V side: CPUID leaves that make a Linux guest see Hyper-V with
 * extended hypercalls, and the extended hypercalls KVM forwards to user
 * space (query capabilities, boot-zeroed memory, memory heat hints).
 * The handler only needs guest memory, so it is unit-tested without KVM.
 */
#ifndef HOST_STUB_HYPERV_H
#define HOST_STUB_HYPERV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"

struct kvm_cpuid2;
struct kvm_hyperv_exit;

/* Call codes and status values from the Hyper-V TLFS. */
#define HV_EXT_QUERY_CAPS	0x8001
#define HV_EXT_BOOT_ZEROED	0x8002
#define HV_EXT_HEAT_HINT	0x8003
#define HV_STATUS_SUCCESS		0
#define HV_STATUS_INVALID_CODE		2
#define HV_STATUS_INVALID_INPUT		3
#define HV_STATUS_INVALID_ALIGNMENT	4
#define HV_STATUS_INVALID_PARAMETER	5

/* Capability bits: TLFS numbering plus Linux's cold-discard bit 8. */
#define HV_CAP_BOOT_ZEROED	(1ull << 0)
#define HV_CAP_HEAT_HINT	(1ull << 1)
#define HV_CAP_COLD_DISCARD	(1ull << 8)

#define HV_HINT_COLD		0
#define HV_HINT_HOT		1
#define HV_HINT_COLD_DISCARD	2

/*
 * Maps a hot-hinted range in the hypervisor's stage-2 page tables for the
 * vCPU that made the call (@vcpu, as given to hyperv_exit()): backing the
 * range in our memory alone still leaves the guest's first touch of each
 * page a nested page fault exit. Returns 0 or a negative errno.
 */
typedef int (*hv_stage2_map_fn)(void *vcpu, uint64_t gpa, uint64_t len);

struct hyperv {
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	hv_stage2_map_fn stage2_map;	/* optional */
	/*
	 * A lying host, for tests: the ranges called boot-zeroed are filled
	 * with a pattern first, so that none of them reads zero.
	 */
	bool lie_zeroed;
	/*
	 * A host that stops making progress: the next @stall_calls heat
	 * hints complete no rep (success, rep count unchanged), each after
	 * @stall_ms; counted in @stalled.
	 */
	uint32_t stall_calls, stall_ms;
	uint64_t stalled;
	uint64_t calls[4];	/* by call code - 0x8000; [0]: other */
	uint64_t cold_pages, hot_pages, discard_pages, bad_calls;
	uint64_t hot_mapped_pages, hot_map_errors;
	uint64_t zeroed_ranges_reported;
};

void hyperv_init(struct hyperv *hv, const struct guest_mem *mem);

/* Replace the hypervisor leaves of @c (capacity @max entries). */
void hyperv_cpuid(struct hyperv *hv, struct kvm_cpuid2 *c, unsigned int max);

/*
 * Handle a KVM_EXIT_HYPERV of @vcpu (passed on to hv->stage2_map); fills
 * in the result for hypercalls.
 */
void hyperv_exit(struct hyperv *hv, struct kvm_hyperv_exit *e, void *vcpu);

/* The hypercall itself: returns the value for the guest's RAX. */
uint64_t hyperv_hcall(struct hyperv *hv, uint64_t input, uint64_t in_gpa,
		      uint64_t out_gpa, void *vcpu);

#endif
