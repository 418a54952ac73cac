/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Split virtqueue parser (virtio 1.x).
 *
 * Everything here reads guest-controlled memory, so nothing read from the
 * rings is trusted: every index, descriptor address and length is checked
 * before use, a chain may visit at most queue-size descriptors (which stops
 * loops), and a violation marks the queue broken instead of crashing.  The
 * unit has no KVM dependency: guest memory is reached through a map callback
 * so that unit tests and the fuzzer can feed it any memory they like.
 */
#ifndef HOST_STUB_VIRTQUEUE_H
#define HOST_STUB_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest queue the devices offer; also bounds a chain's segment count. */
#define VQ_MAX_SIZE	256

/*
 * Returns a host pointer to @len bytes at guest physical @gpa, or NULL when
 * any byte of the range is not backed by accessible guest memory.
 */
typedef void *(*vq_map_fn)(void *opaque, uint64_t gpa, uint64_t len);

struct virtq {
	uint16_t size;		/* 0: not set up */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail;	/* next avail ring slot we consume */
	uint16_t used_idx;	/* our copy of used->idx */
	bool broken;		/* guest broke the protocol; ignore queue */
	const char *why;	/* what it broke, for logs and tests */
	vq_map_fn map;
	void *opaque;
};

struct vq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;		/* device-writable */
	uint8_t *hva;
};

struct vq_chain {
	uint16_t head;
	unsigned int nseg;
	unsigned int nread;	/* readable segments come first */
	uint64_t read_len, write_len;
	struct vq_seg seg[VQ_MAX_SIZE];
};

/*
 * Set up @vq from the transport's registers.  Returns 0, or -1 when the
 * size is not a power of two in 1..VQ_MAX_SIZE, an area is misaligned, or
 * an area is not in guest memory (vq->why says which).
 */
int vq_setup(struct virtq *vq, unsigned int size, uint64_t desc,
	     uint64_t avail, uint64_t used, vq_map_fn map, void *opaque);

void vq_reset(struct virtq *vq);

/*
 * Take the next available chain.  Returns 1 with @c filled, 0 when the
 * driver offered nothing new, -1 when the guest broke the protocol (the
 * queue is then broken and stays so until reset).
 */
int vq_pop(struct virtq *vq, struct vq_chain *c);

/* Return chain @head to the driver, @len bytes written. 0 or -1. */
int vq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* True unless the driver asked not to be interrupted (no EVENT_IDX). */
bool vq_should_notify(struct virtq *vq);

/* Copy up to @len bytes out of the readable part; returns bytes copied. */
size_t vq_read(const struct vq_chain *c, void *buf, size_t len);

/* Copy up to @len bytes into the writable part; returns bytes copied. */
size_t vq_write(const struct vq_chain *c, const void *buf, size_t len);

#endif
