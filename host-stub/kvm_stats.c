// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's binary statistics: a header, then num_desc descriptors of
 * sizeof(struct kvm_stats_desc) + name_size bytes each, then the data.
 * The file offsets of the counters we report are found once; a read is
 * then one pread, which KVM allows while the vCPU runs.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvm_stats.h"

#define MAX_DESCS	1024
#define MAX_NAME	1024

static const char *const kvm_names[KVM_NR_COUNTERS] = {
	[KVM_CTR_EXITS] = "exits",
	[KVM_CTR_PF_TAKEN] = "pf_taken",
	[KVM_CTR_PF_FIXED] = "pf_fixed",
};

static const char *const json_names[KVM_NR_COUNTERS] = {
	[KVM_CTR_EXITS] = "kvm_exits",
	[KVM_CTR_PF_TAKEN] = "kvm_pf_taken",
	[KVM_CTR_PF_FIXED] = "kvm_pf_fixed",
};

const char *kvm_counter_name(enum kvm_counter k)
{
	return k < KVM_NR_COUNTERS ? json_names[k] : "";
}

int kvm_counters_open(struct kvm_counters *c, int fd)
{
	struct kvm_stats_header h;
	size_t one, all;
	uint8_t *descs;
	unsigned int i, k;

	c->fd = -1;
	for (k = 0; k < KVM_NR_COUNTERS; k++)
		c->off[k] = -1;
	if (fd < 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -1;
	if (!h.num_desc || h.num_desc > MAX_DESCS || !h.name_size ||
	    h.name_size > MAX_NAME)
		return -1;
	one = sizeof(struct kvm_stats_desc) + h.name_size;
	all = one * h.num_desc;
	descs = malloc(all);
	if (!descs)
		return -1;
	if (pread(fd, descs, all, h.desc_offset) != (ssize_t)all) {
		free(descs);
		return -1;
	}
	for (i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * one);

		/* a name that does not end within its field matches nothing */
		if (!memchr(d->name, 0, h.name_size) || !d->size)
			continue;
		for (k = 0; k < KVM_NR_COUNTERS; k++)
			if (!strcmp(d->name, kvm_names[k]))
				c->off[k] = (int64_t)h.data_offset + d->offset;
	}
	free(descs);
	c->fd = fd;
	return 0;
}

int64_t kvm_counter_read(const struct kvm_counters *c, enum kvm_counter k)
{
	uint64_t v;

	if (c->fd < 0 || k >= KVM_NR_COUNTERS || c->off[k] < 0 ||
	    pread(c->fd, &v, sizeof(v), c->off[k]) != (ssize_t)sizeof(v))
		return -1;
	return (int64_t)v;
}
