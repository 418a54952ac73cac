// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon device.  Layouts from <linux/virtio_balloon.h>.  Queue
 * numbering: inflate, deflate, stats, then reporting, since we offer
 * STATS_VQ and REPORTING but not FREE_PAGE_HINT (absent queues take no
 * index).
 */
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_balloon.h>

#include "balloon.h"

#define PAGE	4096ull

void balloon_init(struct balloon *b, struct guest_mem *mem)
{
	memset(b, 0, sizeof(*b));
	b->mem = mem;
}

static uint64_t balloon_features(struct virtio_dev *d)
{
	(void)d;
	return (1ull << VIRTIO_BALLOON_F_STATS_VQ) |
	       (1ull << VIRTIO_BALLOON_F_REPORTING);
}

static void balloon_get_config(struct virtio_dev *d, uint8_t *buf)
{
	struct balloon *b = d->priv;
	struct virtio_balloon_config c;

	memset(&c, 0, sizeof(c));
	c.num_pages = b->target_pages;
	c.actual = b->actual_pages;
	memcpy(buf, &c, sizeof(c));
}

static void balloon_set_config(struct virtio_dev *d, uint32_t off,
			       const uint8_t *buf, uint32_t len)
{
	struct balloon *b = d->priv;
	uint32_t at = offsetof(struct virtio_balloon_config, actual);
	uint8_t tmp[4];

	/* only "actual" is driver-writable; take whole-field writes */
	if (off != at || len != 4)
		return;
	memcpy(tmp, buf, 4);
	memcpy(&b->actual_pages, tmp, 4);
}

/* Discard a run of pages, counting what really went back to the host. */
static void discard(struct balloon *b, uint64_t gpa, uint64_t len)
{
	int64_t n = gm_discard(b->mem, gpa, len, "balloon");

	if (n > 0)
		b->st.discarded_bytes += n;
}

void balloon_pfns(struct balloon *b, bool inflate, const void *buf,
		  size_t len)
{
	const uint8_t *p = buf;
	uint64_t run_start = 0, run_len = 0;
	size_t i;

	for (i = 0; i + 4 <= len; i += 4) {
		uint32_t pfn;
		uint64_t gpa;

		memcpy(&pfn, p + i, 4);
		gpa = (uint64_t)pfn * PAGE;
		if (!gm_find(b->mem, gpa, PAGE)) {
			b->st.bad_pfns++;
			continue;
		}
		if (!inflate) {
			b->st.deflated_pages++;
			continue;
		}
		b->st.inflated_pages++;
		/* coalesce neighbours into one punch */
		if (run_len && gpa == run_start + run_len) {
			run_len += PAGE;
			continue;
		}
		if (run_len)
			discard(b, run_start, run_len);
		run_start = gpa;
		run_len = PAGE;
	}
	if (run_len)
		discard(b, run_start, run_len);
}

void balloon_report(struct balloon *b, uint64_t gpa, uint64_t len)
{
	if (!len || !gm_find(b->mem, gpa, len)) {
		b->st.bad_buffers++;
		return;
	}
	b->st.reported_bytes += len;
	discard(b, gpa, len);
}

void balloon_parse_stats(struct balloon *b, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	/* entries are 10 bytes, packed: le16 tag, le64 value */
	for (i = 0; i + 10 <= len; i += 10) {
		uint16_t tag;
		uint64_t val;

		memcpy(&tag, p + i, 2);
		memcpy(&val, p + i + 2, 8);
		if (tag < BALLOON_NR_STATS) {
			b->guest_stats[tag] = val;
			b->guest_stats_valid[tag] = true;
		}
	}
	b->st.stats_updates++;
}

void balloon_request_stats(struct balloon *b)
{
	if (!b->stats_held)
		return;
	b->stats_held = false;
	vq_push(&b->dev.vq[BALLOON_Q_STATS], b->stats_head, 0);
	virtio_used_notify(&b->dev, BALLOON_Q_STATS);
}

void balloon_set_target(struct balloon *b, uint32_t pages)
{
	b->target_pages = pages;
	virtio_config_changed(&b->dev);
}

/* Queue role: without STATS_VQ the reporting queue moves down to 2. */
static unsigned int queue_role(struct virtio_dev *d, unsigned int q)
{
	if (q >= BALLOON_Q_STATS &&
	    !virtio_has_feature(d, VIRTIO_BALLOON_F_STATS_VQ))
		return q + 1;
	return q;
}

static void balloon_notify(struct virtio_dev *d, unsigned int q)
{
	struct balloon *b = d->priv;
	struct vq_chain *c = malloc(sizeof(*c));
	unsigned int i;

	if (!c)
		return;
	while (vq_pop(&d->vq[q], c) == 1) {
		switch (queue_role(d, q)) {
		case BALLOON_Q_INFLATE:
		case BALLOON_Q_DEFLATE:
			for (i = 0; i < c->nread; i++)
				balloon_pfns(b, q == BALLOON_Q_INFLATE,
					     c->seg[i].hva, c->seg[i].len);
			break;
		case BALLOON_Q_STATS:
			for (i = 0; i < c->nread; i++)
				balloon_parse_stats(b, c->seg[i].hva,
						    c->seg[i].len);
			/* keep it: returning it is how we ask for more */
			if (b->stats_held) {
				vq_push(&d->vq[q], b->stats_head, 0);
				virtio_used_notify(d, q);
			}
			b->stats_held = true;
			b->stats_head = c->head;
			continue;
		case BALLOON_Q_REPORTING:
			/* the driver hands the free pages themselves */
			for (i = 0; i < c->nseg; i++)
				balloon_report(b, c->seg[i].gpa,
					       c->seg[i].len);
			b->st.reports++;
			if (fault_next(&b->faults) == FAULT_DROP)
				continue;
			break;
		}
		ack_or_delay(d, &b->faults, &b->acks, q, c->head, 0);
	}
	free(c);
}

static void balloon_reset(struct virtio_dev *d)
{
	struct balloon *b = d->priv;

	b->stats_held = false;
	b->acks.n = 0;
	b->actual_pages = 0;
}

const struct virtio_dev_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_id = 5,
	.num_queues = 4,
	.config_size = sizeof(struct virtio_balloon_config),
	.features = balloon_features,
	.get_config = balloon_get_config,
	.set_config = balloon_set_config,
	.notify = balloon_notify,
	.reset = balloon_reset,
};
