// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-mem device.  Config and request layouts are those of the kernel's
 * <linux/virtio_mem.h>; the rules for ACK/NACK/ERROR follow the virtio
 * specification: malformed ranges are ERROR, plugging beyond the requested
 * size is NACK.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmem.h"

#define PAGE	4096ull

const char *const vmem_bad_config_names[VMEM_CFG_NR] = {
	"none", "block_not_pow2", "block_too_small", "addr_unaligned",
	"region_unaligned", "usable_too_big", "usable_unaligned",
	"plugged_too_big", "requested_too_big", "requested_unaligned",
	"bad_node",
};

static bool vmem_accessible(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vmem *v = opaque;
	uint64_t b, last;

	if (!len)
		return true;
	b = (gpa - v->addr) / v->block_size;
	last = (gpa - v->addr + len - 1) / v->block_size;
	for (; b <= last && b < v->nblocks; b++)
		if (!__atomic_load_n(&v->state[b], __ATOMIC_ACQUIRE))
			return false;
	return true;
}

int vmem_create(struct vmem *v, struct guest_mem *mem, uint64_t addr,
		uint64_t size, uint64_t block, int fd, uint8_t *hva)
{
	int idx;

	if (!block || (block & (block - 1)) || block < PAGE ||
	    (addr % block) || !size || (size % block))
		return -1;
	memset(v, 0, sizeof(*v));
	v->addr = addr;
	v->region_size = size;
	v->usable_size = size;
	v->block_size = block;
	v->nblocks = size / block;
	v->fd = fd;
	v->hva = hva;
	v->mem = mem;
	v->state = calloc(v->nblocks, 1);
	if (!v->state)
		return -1;
	idx = gm_add(mem, addr, size, hva, fd, 0);
	if (idx < 0)
		return -1;
	mem->r[idx].accessible = vmem_accessible;
	mem->r[idx].opaque = v;
	/* a hint may not back or discard a block being (un)plugged */
	mem->r[idx].lock = &v->dev.lock;
	return 0;
}

static uint64_t vmem_features(struct virtio_dev *d)
{
	struct vmem *v = d->priv;
	/* Unplugged memory really is inaccessible here: say so. */
	uint64_t f = 1ull << VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE;

	/* the node id only means something with ACPI_PXM */
	if (v->bad_config == VMEM_CFG_BAD_NODE)
		f |= 1ull << VIRTIO_MEM_F_ACPI_PXM;
	return f;
}

static void vmem_get_config(struct virtio_dev *d, uint8_t *buf)
{
	struct vmem *v = d->priv;
	struct virtio_mem_config c;

	memset(&c, 0, sizeof(c));
	c.block_size = v->block_size;
	c.node_id = v->node;
	c.addr = v->addr;
	c.region_size = v->region_size;
	c.usable_region_size = v->usable_size;
	c.plugged_size = v->plugged;
	c.requested_size = v->requested;
	switch (v->bad_config) {
	case VMEM_CFG_BLOCK_NOT_POW2:
		c.block_size = v->block_size * 3;
		break;
	case VMEM_CFG_BLOCK_TOO_SMALL:
		c.block_size = 512;
		break;
	case VMEM_CFG_ADDR_UNALIGNED:
		c.addr = v->addr + PAGE;
		break;
	case VMEM_CFG_REGION_UNALIGNED:
		c.region_size = v->region_size - PAGE;
		break;
	case VMEM_CFG_USABLE_TOO_BIG:
		c.usable_region_size = v->region_size + v->block_size;
		break;
	case VMEM_CFG_USABLE_UNALIGNED:
		c.usable_region_size = v->usable_size - PAGE;
		break;
	case VMEM_CFG_BAD_NODE:
		c.node_id = 0x7fff;
		break;
	case VMEM_CFG_PLUGGED_TOO_BIG:
		c.plugged_size = v->usable_size + v->block_size;
		break;
	case VMEM_CFG_REQUESTED_TOO_BIG:
		c.requested_size = v->usable_size + v->block_size;
		break;
	case VMEM_CFG_REQUESTED_UNALIGNED:
		c.requested_size = v->requested + PAGE;
		break;
	default:
		break;
	}
	memcpy(buf, &c, sizeof(c));
}

/*
 * Plug or unplug block @b. Plugging fails (-1) when its memory slot
 * cannot be set: the guest would be told of memory it cannot reach.
 */
static int set_block(struct vmem *v, uint64_t b, bool plug)
{
	uint64_t gpa = v->addr + b * v->block_size;

	if (v->state[b] == plug)
		return 0;
	if (plug) {
		if (v->set_slot &&
		    v->set_slot(v->slot_ctx, v->slot_base + b, gpa,
				v->block_size, v->hva + b * v->block_size) < 0) {
			v->st.slot_errors++;
			return -1;
		}
		__atomic_store_n(&v->state[b], 1, __ATOMIC_RELEASE);
		v->plugged += v->block_size;
		v->st.plugged_blocks_total++;
	} else {
		/* slot first: the guest must lose access before the discard */
		__atomic_store_n(&v->state[b], 0, __ATOMIC_RELEASE);
		if (v->set_slot)
			v->set_slot(v->slot_ctx, v->slot_base + b, gpa, 0,
				    v->hva + b * v->block_size);
		if (gm_discard(v->mem, gpa, v->block_size, "virtio-mem") > 0)
			v->st.discarded_bytes += v->block_size;
		v->plugged -= v->block_size;
		v->st.unplugged_blocks_total++;
	}
	return 0;
}

/* The range must be block aligned and inside the usable region. */
static bool range_ok(struct vmem *v, uint64_t addr, uint16_t nb,
		     uint64_t *first)
{
	uint64_t off;

	if (!nb || addr < v->addr || (addr - v->addr) % v->block_size)
		return false;
	off = addr - v->addr;
	if (off >= v->usable_size ||
	    nb > (v->usable_size - off) / v->block_size)
		return false;
	*first = off / v->block_size;
	return true;
}

/* 1 all plugged, 0 all unplugged, 2 mixed */
static int range_state(struct vmem *v, uint64_t first, uint16_t nb)
{
	uint64_t i, n = 0;

	for (i = 0; i < nb; i++)
		n += v->state[first + i];
	return n == nb ? 1 : n == 0 ? 0 : 2;
}

static uint16_t do_plug(struct vmem *v, uint64_t addr, uint16_t nb)
{
	uint64_t first, i;

	if (!range_ok(v, addr, nb, &first) || range_state(v, first, nb) != 0)
		return VIRTIO_MEM_RESP_ERROR;
	if (v->plugged + nb * v->block_size > v->requested)
		return VIRTIO_MEM_RESP_NACK;
	for (i = 0; i < nb; i++) {
		if (set_block(v, first + i, true) < 0) {
			/* all or nothing: what got plugged goes again */
			while (i--)
				set_block(v, first + i, false);
			return VIRTIO_MEM_RESP_ERROR;
		}
	}
	return VIRTIO_MEM_RESP_ACK;
}

static uint16_t do_unplug(struct vmem *v, uint64_t addr, uint16_t nb)
{
	uint64_t first, i;

	if (!range_ok(v, addr, nb, &first) || range_state(v, first, nb) != 1)
		return VIRTIO_MEM_RESP_ERROR;
	for (i = 0; i < nb; i++)
		set_block(v, first + i, false);
	return VIRTIO_MEM_RESP_ACK;
}

static void unplug_all(struct vmem *v)
{
	uint64_t i;

	for (i = 0; i < v->nblocks; i++)
		set_block(v, i, false);
}

bool vmem_handle(struct vmem *v, const void *in, size_t in_len,
		 struct virtio_mem_resp *resp)
{
	struct virtio_mem_req req;
	enum fault_kind f;
	uint16_t type;

	memset(resp, 0, sizeof(*resp));
	memset(&req, 0, sizeof(req));
	/* type and padding are always there; the union as the type needs */
	if (in_len < 8) {
		v->st.bad_requests++;
		resp->type = VIRTIO_MEM_RESP_ERROR;
		goto out;
	}
	memcpy(&req, in, in_len < sizeof(req) ? in_len : sizeof(req));
	type = req.type;
	if (type <= VIRTIO_MEM_REQ_STATE)
		v->st.req[type]++;
	if (type != VIRTIO_MEM_REQ_UNPLUG_ALL && in_len < 8 + 16) {
		v->st.bad_requests++;
		resp->type = VIRTIO_MEM_RESP_ERROR;
		goto out;
	}
	f = fault_next(&v->faults);
	if (f == FAULT_DROP)
		return false;
	if (f == FAULT_NACK || f == FAULT_BUSY || f == FAULT_ERROR) {
		resp->type = f == FAULT_NACK ? VIRTIO_MEM_RESP_NACK :
			     f == FAULT_BUSY ? VIRTIO_MEM_RESP_BUSY :
			     VIRTIO_MEM_RESP_ERROR;
		goto out;
	}
	switch (type) {
	case VIRTIO_MEM_REQ_PLUG:
		resp->type = do_plug(v, req.u.plug.addr, req.u.plug.nb_blocks);
		break;
	case VIRTIO_MEM_REQ_UNPLUG:
		resp->type = do_unplug(v, req.u.unplug.addr,
				       req.u.unplug.nb_blocks);
		break;
	case VIRTIO_MEM_REQ_UNPLUG_ALL:
		unplug_all(v);
		resp->type = VIRTIO_MEM_RESP_ACK;
		break;
	case VIRTIO_MEM_REQ_STATE: {
		uint64_t first;
		int s;

		if (!range_ok(v, req.u.state.addr, req.u.state.nb_blocks,
			      &first)) {
			resp->type = VIRTIO_MEM_RESP_ERROR;
			break;
		}
		s = range_state(v, first, req.u.state.nb_blocks);
		resp->type = VIRTIO_MEM_RESP_ACK;
		resp->u.state.state = s == 1 ? VIRTIO_MEM_STATE_PLUGGED :
				      s == 0 ? VIRTIO_MEM_STATE_UNPLUGGED :
				      VIRTIO_MEM_STATE_MIXED;
		break;
	}
	default:
		v->st.bad_requests++;
		resp->type = VIRTIO_MEM_RESP_ERROR;
		break;
	}
out:
	if (resp->type <= VIRTIO_MEM_RESP_ERROR)
		v->st.resp[resp->type]++;
	return true;
}

static void vmem_notify(struct virtio_dev *d, unsigned int q)
{
	struct vmem *v = d->priv;
	struct vq_chain *c = malloc(sizeof(*c));
	struct virtio_mem_req req;
	struct virtio_mem_resp resp;
	size_t n;

	if (!c)
		return;
	while (vq_pop(&d->vq[q], c) == 1) {
		n = vq_read(c, &req, sizeof(req));
		if (c->write_len < sizeof(resp)) {
			/* nowhere to answer: a malformed request */
			v->st.bad_requests++;
			vq_push(&d->vq[q], c->head, 0);
			virtio_used_notify(d, q);
			continue;
		}
		if (!vmem_handle(v, &req, n, &resp))
			continue;	/* dropped on purpose */
		vq_write(c, &resp, sizeof(resp));
		ack_or_delay(d, &v->faults, &v->acks, q, c->head,
			     sizeof(resp));
	}
	free(c);
}

static void vmem_reset(struct virtio_dev *d)
{
	struct vmem *v = d->priv;

	v->acks.n = 0;
}

/*
 * Start with the lowest @size (rounded down to blocks) plugged and filled
 * with a marker, as a previous guest, or a driver before kexec, left it:
 * a driver starting on such a device must ask UNPLUG_ALL before anything
 * else, and the guest must never see the marker.
 */
void vmem_preplug(struct vmem *v, uint64_t size)
{
	uint64_t b;

	for (b = 0; b < v->nblocks && (b + 1) * v->block_size <= size &&
	     (b + 1) * v->block_size <= v->usable_size; b++) {
		if (set_block(v, b, true) < 0)
			break;
		memset(v->hva + b * v->block_size, 0x5a, v->block_size);
	}
}

void vmem_set_requested(struct vmem *v, uint64_t size)
{
	size -= size % v->block_size;
	if (size > v->usable_size)
		size = v->usable_size;
	v->requested = size;
	virtio_config_changed(&v->dev);
}

bool vmem_violation(struct vmem *v, uint64_t gpa, uint32_t len,
		    bool is_write)
{
	if (gpa < v->addr || gpa - v->addr >= v->region_size)
		return false;
	pthread_mutex_lock(&v->dev.lock);
	v->st.violations++;
	if (is_write)
		v->st.violation_writes++;
	else
		v->st.violation_reads++;
	v->st.last_violation_gpa = gpa;
	if (v->st.violations <= 10)
		fprintf(stderr,
			"host-stub: virtio-mem: guest %s %u bytes of unplugged memory at 0x%llx\n",
			is_write ? "wrote" : "read", len,
			(unsigned long long)gpa);
	pthread_mutex_unlock(&v->dev.lock);
	return true;
}

const struct virtio_dev_ops vmem_ops = {
	.name = "virtio-mem",
	.device_id = 24,
	.num_queues = 1,
	.config_size = sizeof(struct virtio_mem_config),
	.features = vmem_features,
	.get_config = vmem_get_config,
	.notify = vmem_notify,
	.reset = vmem_reset,
};
