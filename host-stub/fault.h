/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection shared by the devices: the next N requests answered
 * NACK, BUSY or ERROR, acknowledgements dropped or delayed.
 */
#ifndef HOST_STUB_FAULT_H
#define HOST_STUB_FAULT_H

#include <stdint.h>

struct virtio_dev;

enum fault_kind { FAULT_NONE, FAULT_NACK, FAULT_BUSY, FAULT_ERROR,
		  FAULT_DROP };

struct faults {
	uint32_t nack, busy, error, drop;	/* remaining counts */
	uint32_t delay_ms;			/* ack delay, 0: none */
	uint64_t injected;
};

/* Consume one pending fault, most disruptive first. */
enum fault_kind fault_next(struct faults *f);

#define MAX_DELAYED	64

struct delayed_ack {
	unsigned int q;
	uint16_t head;
	uint32_t len;
	uint64_t due_ns;
};

struct ack_queue {
	struct delayed_ack e[MAX_DELAYED];
	unsigned int n;
};

uint64_t now_ns(void);

/*
 * Return a chain to the driver now, or later when delays are on.
 * Called with the device lock held.
 */
void ack_or_delay(struct virtio_dev *d, struct faults *f,
		  struct ack_queue *aq, unsigned int q, uint16_t head,
		  uint32_t len);

/* Push the delayed acks that are due; lock held. */
void ack_flush(struct virtio_dev *d, struct ack_queue *aq, int all);

#endif
