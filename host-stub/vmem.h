/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-mem device (ID 24).  The device region has its own memfd; a block
 * is visible to the guest only while plugged (one KVM memory slot per
 * plugged block), so a guest touching unplugged memory exits to us and is
 * counted as a violation.  Unplugged blocks are discarded (punch hole).
 */
#ifndef HOST_STUB_VMEM_H
#define HOST_STUB_VMEM_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_mem.h>

#include "fault.h"
#include "guest_mem.h"
#include "virtio_mmio.h"

/* Config values the driver must refuse; set from the control socket. */
enum vmem_bad_config {
	VMEM_CFG_OK,
	VMEM_CFG_BLOCK_NOT_POW2,	/* block size not a power of two */
	VMEM_CFG_BLOCK_TOO_SMALL,	/* block size below a page */
	VMEM_CFG_ADDR_UNALIGNED,	/* addr not block aligned */
	VMEM_CFG_REGION_UNALIGNED,	/* region size not block multiple */
	VMEM_CFG_USABLE_TOO_BIG,	/* usable > region */
	VMEM_CFG_USABLE_UNALIGNED,	/* usable not block multiple */
	VMEM_CFG_PLUGGED_TOO_BIG,	/* plugged > usable */
	VMEM_CFG_REQUESTED_TOO_BIG,	/* requested > usable */
	VMEM_CFG_REQUESTED_UNALIGNED,	/* requested not block multiple */
	VMEM_CFG_BAD_NODE,		/* ACPI_PXM offered, no such node */
	VMEM_CFG_NR
};

extern const char *const vmem_bad_config_names[VMEM_CFG_NR];

struct vmem_stats {
	uint64_t req[4];		/* PLUG, UNPLUG, UNPLUG_ALL, STATE */
	uint64_t resp[4];		/* ACK, NACK, BUSY, ERROR */
	uint64_t bad_requests;		/* malformed or short */
	uint64_t plugged_blocks_total, unplugged_blocks_total;
	uint64_t violations, violation_reads, violation_writes;
	uint64_t last_violation_gpa;
	uint64_t discarded_bytes;
	uint64_t slot_errors;	/* plugs refused: no memory slot */
};

struct vmem {
	struct virtio_dev dev;
	uint64_t addr, region_size, block_size, usable_size;
	uint64_t requested, plugged;
	uint16_t node;
	int fd;
	uint8_t *hva;
	uint8_t *state;			/* per block: 1 plugged */
	uint64_t nblocks;
	/* memory slots: slot_base + block index; NULL in unit tests */
	int (*set_slot)(void *ctx, int slot, uint64_t gpa, uint64_t size,
			void *hva);
	void *slot_ctx;
	int slot_base;
	struct guest_mem *mem;		/* for discard */
	struct faults faults;
	struct ack_queue acks;
	enum vmem_bad_config bad_config;
	struct vmem_stats st;
};

/*
 * Create the device for [addr, addr+size) with @block-sized blocks; the
 * region is added to @mem (accessible only where plugged).  0 or -1.
 */
int vmem_create(struct vmem *v, struct guest_mem *mem, uint64_t addr,
		uint64_t size, uint64_t block, int fd, uint8_t *hva);

/* Transport glue: callers pass the device to virtio_dev_init. */
extern const struct virtio_dev_ops vmem_ops;

/*
 * Handle one request (@in, @in_len bytes from the driver) into @resp.
 * Returns false when the request is dropped by fault injection.
 */
bool vmem_handle(struct vmem *v, const void *in, size_t in_len,
		 struct virtio_mem_resp *resp);

/* Before the guest runs: the lowest @size plugged and filled, see vmem.c. */
void vmem_preplug(struct vmem *v, uint64_t size);

/* New requested size (rounded down to blocks, capped); lock held. */
void vmem_set_requested(struct vmem *v, uint64_t size);

/* An access exit at @gpa: true (and counted) if it is our region. */
bool vmem_violation(struct vmem *v, uint64_t gpa, uint32_t len,
		    bool is_write);

#endif
