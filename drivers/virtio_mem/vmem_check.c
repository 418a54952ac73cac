// SPDX-License-Identifier: GPL-2.0
/*
 * vmdense virtio-mem: checks of what the device tells us, kept free of
 * side effects so that KUnit can feed them any value (vmem_kunit.c).
 */
#include <linux/bits.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/mm.h>

#include "vmem.h"

/* The sizes that may change: all within the region, in whole blocks. */
const char *vmem_bad_sizes(const struct vmem_cfg *c)
{
	if (c->usable_size > c->region_size ||
	    !IS_ALIGNED(c->usable_size, c->block_size))
		return "usable region size not whole blocks within the region";
	if (c->requested_size > c->usable_size ||
	    !IS_ALIGNED(c->requested_size, c->block_size))
		return "requested size not whole blocks within the usable region";
	if (c->plugged_size > c->usable_size ||
	    !IS_ALIGNED(c->plugged_size, c->block_size))
		return "plugged size not whole blocks within the usable region";
	return NULL;
}

/* NULL if the whole configuration is sane, else what is wrong. */
const char *vmem_bad_cfg(const struct vmem_cfg *c)
{
	if (!is_power_of_2(c->block_size) || c->block_size < PAGE_SIZE)
		return "block size not a power of two of at least the page size";
	if (!c->region_size || !IS_ALIGNED(c->region_size, c->block_size))
		return "region size not a non-zero number of blocks";
	if (!IS_ALIGNED(c->addr, c->block_size))
		return "region start not aligned to the block size";
	if (c->addr + c->region_size < c->addr)
		return "region wraps around the address space";
	if (c->addr + c->region_size - 1 > (1ULL << MAX_PHYSMEM_BITS) - 1)
		return "region beyond the physical address space";
	return vmem_bad_sizes(c);
}

/*
 * Units and sub-blocks for a valid configuration: sub-block mode when the
 * device block fits in a memory block (units are memory blocks, sub-blocks
 * at least a pageblock), big-block mode otherwise (units and sub-blocks are
 * device blocks). Only units wholly inside the region are used.
 */
void vmem_layout(const struct vmem_cfg *c, u64 mb_bytes, u64 pageblock_bytes,
		 struct vmem_layout *l)
{
	u64 end;

	l->big_block = c->block_size > mb_bytes;
	if (l->big_block) {
		l->unit_size = c->block_size;
		l->sb_size = c->block_size;
	} else {
		l->unit_size = mb_bytes;
		l->sb_size = max(c->block_size, pageblock_bytes);
	}
	l->sbs_per_unit = div64_u64(l->unit_size, l->sb_size);
	l->mb_per_unit = div64_u64(l->unit_size, mb_bytes);
	l->units_start = round_up(c->addr, l->unit_size);
	end = round_down(c->addr + c->region_size, l->unit_size);
	l->nr_units = end > l->units_start ?
		div64_u64(end - l->units_start, l->unit_size) : 0;
}

/*
 * Which answers each request may get (virtio spec, virtio-mem device):
 * PLUG: ACK, NACK, BUSY, ERROR; UNPLUG: ACK, BUSY, ERROR; UNPLUG_ALL: ACK,
 * BUSY; STATE: ACK, ERROR. Anything else, or a negative transport error,
 * is nonsense.
 */
bool vmem_answer_allowed(u16 type, int raw)
{
	static const u8 allowed[] = {
		[VIRTIO_MEM_REQ_PLUG] = BIT(VIRTIO_MEM_RESP_ACK) |
			BIT(VIRTIO_MEM_RESP_NACK) | BIT(VIRTIO_MEM_RESP_BUSY) |
			BIT(VIRTIO_MEM_RESP_ERROR),
		[VIRTIO_MEM_REQ_UNPLUG] = BIT(VIRTIO_MEM_RESP_ACK) |
			BIT(VIRTIO_MEM_RESP_BUSY) | BIT(VIRTIO_MEM_RESP_ERROR),
		[VIRTIO_MEM_REQ_UNPLUG_ALL] = BIT(VIRTIO_MEM_RESP_ACK) |
			BIT(VIRTIO_MEM_RESP_BUSY),
		[VIRTIO_MEM_REQ_STATE] = BIT(VIRTIO_MEM_RESP_ACK) |
			BIT(VIRTIO_MEM_RESP_ERROR),
	};

	if (type >= ARRAY_SIZE(allowed) || raw < 0 ||
	    raw > VIRTIO_MEM_RESP_ERROR)
		return false;
	return allowed[type] & BIT(raw);
}
