/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-balloon device (ID 5): inflate, deflate, statistics and free page
 * reporting queues.  Inflated and reported pages are discarded from the
 * guest's memfd (punch hole) and counted.
 */
#ifndef HOST_STUB_BALLOON_H
#define HOST_STUB_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "fault.h"
#include "guest_mem.h"
#include "virtio_mmio.h"

#define BALLOON_Q_INFLATE	0
#define BALLOON_Q_DEFLATE	1
#define BALLOON_Q_STATS		2
#define BALLOON_Q_REPORTING	3
#define BALLOON_NR_STATS	16

struct balloon_stats {
	uint64_t inflated_pages, deflated_pages;
	uint64_t reported_bytes, reports;
	uint64_t discarded_bytes;
	uint64_t bad_pfns, bad_buffers;
	uint64_t stats_updates;
};

struct balloon {
	struct virtio_dev dev;
	struct guest_mem *mem;
	uint32_t target_pages;		/* num_pages in config */
	uint32_t actual_pages;		/* written by the driver */
	/* the stats buffer the driver gave us, held until we want more */
	bool stats_held;
	uint16_t stats_head;
	uint64_t guest_stats[BALLOON_NR_STATS];
	bool guest_stats_valid[BALLOON_NR_STATS];
	struct faults faults;
	struct ack_queue acks;
	struct balloon_stats st;
};

void balloon_init(struct balloon *b, struct guest_mem *mem);

extern const struct virtio_dev_ops balloon_ops;

/* Inflate/deflate buffer of le32 page frame numbers; lock held. */
void balloon_pfns(struct balloon *b, bool inflate, const void *buf,
		  size_t len);

/* One reported free range; lock held. */
void balloon_report(struct balloon *b, uint64_t gpa, uint64_t len);

/* Parse a stats buffer of (le16 tag, le64 value) entries; lock held. */
void balloon_parse_stats(struct balloon *b, const void *buf, size_t len);

/* Ask the driver for fresh statistics; lock held. */
void balloon_request_stats(struct balloon *b);

void balloon_set_target(struct balloon *b, uint32_t pages);

#endif
