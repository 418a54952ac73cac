/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A few of KVM's binary statistics of one vCPU (KVM_GET_STATS_FD): the
 * counters that show what a guest's memory access cost the host, e.g. the
 * exits and stage-2 page faults of a first touch.
 */
#ifndef HOST_STUB_KVM_STATS_H
#define HOST_STUB_KVM_STATS_H

#include <stdint.h>

enum kvm_counter {
	KVM_CTR_EXITS,		/* "exits": every exit to KVM */
	KVM_CTR_PF_TAKEN,	/* "pf_taken": page faults KVM handled */
	KVM_CTR_PF_FIXED,	/* "pf_fixed": of those, mappings installed */
	KVM_NR_COUNTERS,
};

struct kvm_counters {
	int fd;				/* -1: none */
	int64_t off[KVM_NR_COUNTERS];	/* file offsets, -1: not offered */
};

/*
 * Find the counters in the statistics file @fd (descriptors read once).
 * Returns 0, or -1 with @c unusable when the file is not what KVM's
 * binary statistics layout says; a counter KVM does not offer is -1.
 */
int kvm_counters_open(struct kvm_counters *c, int fd);

/* The counter's value now, or -1 when it is not there. */
int64_t kvm_counter_read(const struct kvm_counters *c, enum kvm_counter k);

/* Its name in our statistics JSON ("kvm_exits", ...). */
const char *kvm_counter_name(enum kvm_counter k);

#endif
