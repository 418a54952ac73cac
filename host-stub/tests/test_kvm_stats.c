// SPDX-License-Identifier: GPL-2.0
/* KVM binary statistics lookup, against files laid out as KVM does. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvm_stats.h"
#include "test.h"

#define NAME_SIZE	48

/*
 * A statistics file: the id string after the header, then descriptors
 * for @names (each one value, at 8-byte steps of the data block), then
 * the values 100, 200, ...
 */
static int fake_stats(const char *const *names, unsigned int n,
		      uint32_t name_size)
{
	size_t one = sizeof(struct kvm_stats_desc) + name_size;
	struct kvm_stats_header h = {
		.name_size = name_size, .num_desc = n,
		.id_offset = sizeof(h), .desc_offset = sizeof(h) + 64,
	};
	uint8_t *buf;
	size_t len;
	unsigned int i;
	int fd = memfd_create("test-kvm-stats", 0);

	h.data_offset = h.desc_offset + one * n;
	len = h.data_offset + 8 * n;
	buf = calloc(1, len);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + h.id_offset, "kvm-1234/vcpu-0", 16);
	for (i = 0; i < n; i++) {
		struct kvm_stats_desc *d = (void *)(buf + h.desc_offset +
						    i * one);
		uint64_t v = 100 * (i + 1);

		d->size = 1;
		d->offset = 8 * i;
		/* a name as long as the field keeps no NUL, as in a bad file */
		memcpy(d->name, names[i], strnlen(names[i], name_size));
		memcpy(buf + h.data_offset + 8 * i, &v, 8);
	}
	CHECK(write(fd, buf, len) == (ssize_t)len);
	free(buf);
	return fd;
}

void test_kvm_stats(void)
{
	static const char *const names[] = {
		"halt_exits", "exits", "pf_taken", "pf_fixed_not",
	};
	struct kvm_counters c;
	char longname[NAME_SIZE];
	const char *bad[1] = { longname };
	int fd;

	fd = fake_stats(names, 4, NAME_SIZE);
	CHECK(kvm_counters_open(&c, fd) == 0);
	CHECK(kvm_counter_read(&c, KVM_CTR_EXITS) == 200);
	CHECK(kvm_counter_read(&c, KVM_CTR_PF_TAKEN) == 300);
	/* a name that only starts like ours is not ours */
	CHECK(kvm_counter_read(&c, KVM_CTR_PF_FIXED) == -1);
	CHECK(kvm_counter_read(&c, KVM_NR_COUNTERS) == -1);
	CHECK(!strcmp(kvm_counter_name(KVM_CTR_EXITS), "kvm_exits"));
	close(fd);

	/* a name filling its field without a NUL matches nothing */
	memset(longname, 'x', sizeof(longname));
	memcpy(longname, "exits", 5);
	fd = fake_stats(bad, 1, NAME_SIZE);
	CHECK(kvm_counters_open(&c, fd) == 0);
	CHECK(kvm_counter_read(&c, KVM_CTR_EXITS) == -1);
	close(fd);

	/* short files, absurd sizes and no file at all are refused */
	fd = memfd_create("test-kvm-stats-short", 0);
	CHECK(write(fd, "abc", 3) == 3);
	CHECK(kvm_counters_open(&c, fd) == -1);
	CHECK(kvm_counter_read(&c, KVM_CTR_EXITS) == -1);
	close(fd);
	fd = fake_stats(names, 2, 1 << 20);
	CHECK(kvm_counters_open(&c, fd) == -1);
	close(fd);
	CHECK(kvm_counters_open(&c, -1) == -1);
}
