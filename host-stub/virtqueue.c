// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueue parser; see virtqueue.h for the trust model.
 *
 * Ring fields are read once into locals (with acquire ordering for the
 * avail index) so that a guest changing them under our feet cannot make a
 * checked value differ from the used one.
 */
#include <string.h>
#include <linux/virtio_ring.h>

#include "virtqueue.h"

static int vq_fail(struct virtq *vq, const char *why)
{
	vq->broken = true;
	vq->why = why;
	return -1;
}

void vq_reset(struct virtq *vq)
{
	vq_map_fn map = vq->map;
	void *opaque = vq->opaque;

	memset(vq, 0, sizeof(*vq));
	vq->map = map;
	vq->opaque = opaque;
}

int vq_setup(struct virtq *vq, unsigned int size, uint64_t desc,
	     uint64_t avail, uint64_t used, vq_map_fn map, void *opaque)
{
	memset(vq, 0, sizeof(*vq));
	vq->map = map;
	vq->opaque = opaque;
	if (size == 0 || size > VQ_MAX_SIZE || (size & (size - 1)))
		return vq_fail(vq, "queue size");
	/* Alignments from the virtio 1.x split virtqueue layout. */
	if ((desc & 15) || (avail & 1) || (used & 3))
		return vq_fail(vq, "ring alignment");
	if (!map(opaque, desc, 16ull * size))
		return vq_fail(vq, "descriptor table outside memory");
	if (!map(opaque, avail, 6 + 2ull * size))
		return vq_fail(vq, "avail ring outside memory");
	if (!map(opaque, used, 6 + 8ull * size))
		return vq_fail(vq, "used ring outside memory");
	vq->size = size;
	vq->desc_gpa = desc;
	vq->avail_gpa = avail;
	vq->used_gpa = used;
	return 0;
}

static uint16_t load16(const void *p)
{
	uint16_t v;

	/* Little-endian host assumed (x86-64), as virtio 1.x is LE. */
	v = __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
	return v;
}

int vq_pop(struct virtq *vq, struct vq_chain *c)
{
	struct vring_avail *avail;
	struct vring_desc *table;
	uint16_t avail_idx, idx, pending;
	unsigned int visited = 0;
	bool seen_write = false;

	if (vq->broken)
		return -1;
	if (!vq->size)
		return 0;
	avail = vq->map(vq->opaque, vq->avail_gpa, 6 + 2ull * vq->size);
	table = vq->map(vq->opaque, vq->desc_gpa, 16ull * vq->size);
	if (!avail || !table)
		return vq_fail(vq, "ring memory vanished");
	avail_idx = load16(&avail->idx);
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (!pending)
		return 0;
	/* The driver can never be more than a whole ring ahead. */
	if (pending > vq->size)
		return vq_fail(vq, "avail index ran ahead");
	idx = load16(&avail->ring[vq->last_avail % vq->size]);
	if (idx >= vq->size)
		return vq_fail(vq, "head index out of range");

	memset(c, 0, offsetof(struct vq_chain, seg));
	c->head = idx;
	for (;;) {
		struct vring_desc d;
		struct vq_seg *s;

		/* A chain longer than the ring must loop. */
		if (++visited > vq->size)
			return vq_fail(vq, "descriptor chain loops");
		memcpy(&d, &table[idx], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return vq_fail(vq, "indirect descriptor not negotiated");
		if (d.flags & VRING_DESC_F_WRITE)
			seen_write = true;
		else if (seen_write)
			return vq_fail(vq, "readable after writable descriptor");
		s = &c->seg[c->nseg];
		s->gpa = d.addr;
		s->len = d.len;
		s->write = d.flags & VRING_DESC_F_WRITE;
		if (d.len) {
			s->hva = vq->map(vq->opaque, d.addr, d.len);
			if (!s->hva)
				return vq_fail(vq, "buffer outside memory");
		}
		if (s->write) {
			c->write_len += d.len;
		} else {
			c->read_len += d.len;
			c->nread++;
		}
		c->nseg++;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= vq->size)
			return vq_fail(vq, "next index out of range");
		idx = d.next;
	}
	vq->last_avail++;
	return 1;
}

int vq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used *used;
	struct vring_used_elem *e;

	if (vq->broken || !vq->size)
		return -1;
	if (head >= vq->size)
		return vq_fail(vq, "pushing a bad head");
	used = vq->map(vq->opaque, vq->used_gpa, 6 + 8ull * vq->size);
	if (!used)
		return vq_fail(vq, "used ring vanished");
	e = &used->ring[vq->used_idx % vq->size];
	e->id = head;
	e->len = len;
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(&used->idx, vq->used_idx, __ATOMIC_RELEASE);
	return 0;
}

bool vq_should_notify(struct virtq *vq)
{
	struct vring_avail *avail;

	if (!vq->size || vq->broken)
		return false;
	avail = vq->map(vq->opaque, vq->avail_gpa, 6 + 2ull * vq->size);
	if (!avail)
		return true;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(load16(&avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

size_t vq_read(const struct vq_chain *c, void *buf, size_t len)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < c->nread && done < len; i++) {
		size_t n = c->seg[i].len;

		if (n > len - done)
			n = len - done;
		if (n)
			memcpy((uint8_t *)buf + done, c->seg[i].hva, n);
		done += n;
	}
	return done;
}

size_t vq_write(const struct vq_chain *c, const void *buf, size_t len)
{
	size_t done = 0;
	unsigned int i;

	for (i = c->nread; i < c->nseg && done < len; i++) {
		size_t n = c->seg[i].len;

		if (n > len - done)
			n = len - done;
		if (n)
			memcpy(c->seg[i].hva, (const uint8_t *)buf + done, n);
		done += n;
	}
	return done;
}
