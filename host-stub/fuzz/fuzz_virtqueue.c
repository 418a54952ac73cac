// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness of the virtqueue parser.  The input is the guest: its
 * first bytes choose the queue size and ring addresses, the rest is guest
 * memory.  The parser must never touch memory outside the guest's (ASan)
 * and every segment it returns must lie inside guest memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtqueue.h"

#define MEM_SIZE	8192

struct fmem {
	uint8_t *base;
	uint64_t size;
};

static void *fmap(void *opaque, uint64_t gpa, uint64_t len)
{
	struct fmem *m = opaque;

	if (gpa > m->size || len > m->size - gpa)
		return NULL;
	return m->base + gpa;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_chain c;
	struct fmem m;
	struct virtq vq;
	uint16_t desc, avail, used;
	unsigned int qsize, i;
	uint8_t *mem;

	if (size < 8)
		return 0;
	qsize = 1u << (data[0] % 10);	/* 1..512: includes invalid 512 */
	desc = (data[1] | data[2] << 8) % MEM_SIZE;
	avail = (data[3] | data[4] << 8) % MEM_SIZE;
	used = (data[5] | data[6] << 8) % MEM_SIZE;
	/* an exactly sized buffer, so ASan sees any overrun */
	mem = calloc(1, MEM_SIZE);
	if (!mem)
		return 0;
	memcpy(mem, data + 8, size - 8 < MEM_SIZE ? size - 8 : MEM_SIZE);
	m.base = mem;
	m.size = MEM_SIZE;
	if (vq_setup(&vq, qsize, desc, avail, used, fmap, &m) == 0) {
		vq.last_avail = data[7];
		vq.used_idx = data[7];
		for (i = 0; i < 64; i++) {
			uint8_t sink[64];
			int r = vq_pop(&vq, &c);

			if (r != 1)
				break;
			for (unsigned int s = 0; s < c.nseg; s++) {
				if (c.seg[s].len &&
				    (c.seg[s].hva < mem ||
				     c.seg[s].hva + c.seg[s].len >
				     mem + MEM_SIZE))
					abort();
			}
			if (c.nseg > qsize || c.nread > c.nseg)
				abort();
			vq_read(&c, sink, sizeof(sink));
			vq_write(&c, sink, sizeof(sink));
			vq_push(&vq, c.head, c.write_len > 64 ? 64 :
				c.write_len);
			vq_should_notify(&vq);
		}
	}
	free(mem);
	return 0;
}
