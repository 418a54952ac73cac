// SPDX-License-Identifier: GPL-2.0
#include <time.h>

#include "fault.h"
#include "virtio_mmio.h"

enum fault_kind fault_next(struct faults *f)
{
	uint32_t *slot[] = { &f->drop, &f->error, &f->busy, &f->nack };
	enum fault_kind kind[] = { FAULT_DROP, FAULT_ERROR, FAULT_BUSY,
				   FAULT_NACK };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		if (*slot[i]) {
			(*slot[i])--;
			f->injected++;
			return kind[i];
		}
	}
	return FAULT_NONE;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void ack_or_delay(struct virtio_dev *d, struct faults *f,
		  struct ack_queue *aq, unsigned int q, uint16_t head,
		  uint32_t len)
{
	if (f->delay_ms && aq->n < MAX_DELAYED) {
		struct delayed_ack *a = &aq->e[aq->n++];

		a->q = q;
		a->head = head;
		a->len = len;
		a->due_ns = now_ns() + f->delay_ms * 1000000ull;
		f->injected++;
		return;
	}
	vq_push(&d->vq[q], head, len);
	virtio_used_notify(d, q);
}

void ack_flush(struct virtio_dev *d, struct ack_queue *aq, int all)
{
	uint64_t now = now_ns();
	unsigned int i = 0;

	/* acks stay in order: stop at the first one not yet due */
	while (i < aq->n && (all || aq->e[i].due_ns <= now)) {
		vq_push(&d->vq[aq->e[i].q], aq->e[i].head, aq->e[i].len);
		virtio_used_notify(d, aq->e[i].q);
		i++;
	}
	if (i) {
		aq->n -= i;
		for (unsigned int j = 0; j < aq->n; j++)
			aq->e[j] = aq->e[j + i];
	}
}
