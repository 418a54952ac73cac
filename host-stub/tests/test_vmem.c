// SPDX-License-Identifier: GPL-2.0
/* virtio-mem request handling, fed directly, with a real memfd. */
#include <stdio.h>
#include <string.h>
#include <linux/virtio_mem.h>

#include "test.h"
#include "vmem.h"

#define MIB	(1ull << 20)
#define ADDR	(4096 * MIB)
#define BLK	(2 * MIB)

static struct vmem v;
static struct guest_mem gm;

static uint16_t req(uint16_t type, uint64_t addr, uint16_t nb)
{
	struct virtio_mem_req r;
	struct virtio_mem_resp resp;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.u.plug.addr = addr;
	r.u.plug.nb_blocks = nb;
	if (!vmem_handle(&v, &r, sizeof(r), &resp))
		return 0xffff;	/* dropped */
	if (type == VIRTIO_MEM_REQ_STATE && resp.type == VIRTIO_MEM_RESP_ACK)
		return 0x100 + resp.u.state.state;
	return resp.type;
}

static int slot_calls, slots_live, slot_fail_at = -1;

static int fake_slot(void *ctx, int slot, uint64_t gpa, uint64_t size,
		     void *hva)
{
	(void)ctx;
	(void)hva;
	slot_calls++;
	if (slot < 100 || gpa < ADDR || (size && slot == slot_fail_at))
		return -1;
	slots_live += size ? 1 : -1;
	return 0;
}

static void test_config(void)
{
	struct virtio_mem_config c;
	uint8_t buf[256];

	vmem_ops.get_config(&v.dev, buf);
	memcpy(&c, buf, sizeof(c));
	CHECK(c.block_size == BLK && c.addr == ADDR);
	CHECK(c.region_size == 64 * MIB && c.usable_region_size == 64 * MIB);
	CHECK(c.requested_size == 8 * MIB && c.plugged_size == 0);
	v.bad_config = VMEM_CFG_BLOCK_NOT_POW2;
	vmem_ops.get_config(&v.dev, buf);
	memcpy(&c, buf, sizeof(c));
	CHECK(c.block_size & (c.block_size - 1));
	v.bad_config = VMEM_CFG_PLUGGED_TOO_BIG;
	vmem_ops.get_config(&v.dev, buf);
	memcpy(&c, buf, sizeof(c));
	CHECK(c.plugged_size > c.usable_region_size);
	/* every kind yields a config a careful driver must refuse */
	for (int k = VMEM_CFG_OK + 1; k < VMEM_CFG_NR; k++) {
		bool bad;

		v.bad_config = k;
		vmem_ops.get_config(&v.dev, buf);
		memcpy(&c, buf, sizeof(c));
		bad = !c.block_size || (c.block_size & (c.block_size - 1)) ||
		      c.block_size < 4096 || c.addr % c.block_size ||
		      c.region_size % c.block_size ||
		      c.usable_region_size > c.region_size ||
		      c.usable_region_size % c.block_size ||
		      c.plugged_size > c.usable_region_size ||
		      c.requested_size > c.usable_region_size ||
		      c.requested_size % c.block_size ||
		      ((vmem_ops.features(&v.dev) >> VIRTIO_MEM_F_ACPI_PXM & 1) &&
		       c.node_id > 1024);
		CHECK(bad);
		CHECK(vmem_bad_config_names[k]);
	}
	v.bad_config = VMEM_CFG_OK;
	CHECK(!(vmem_ops.features(&v.dev) >> VIRTIO_MEM_F_ACPI_PXM & 1));
	/* requested size: rounded down to blocks, capped at usable */
	vmem_set_requested(&v, 5 * MIB);
	CHECK(v.requested == 4 * MIB);
	vmem_set_requested(&v, 1ull << 40);
	CHECK(v.requested == 64 * MIB);
	vmem_set_requested(&v, 8 * MIB);
}

static void test_requests(void)
{
	uint64_t before;

	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 2) == VIRTIO_MEM_RESP_ACK);
	CHECK(v.plugged == 4 * MIB && slots_live == 2);
	CHECK(gm_ptr(&gm, ADDR, BLK));
	CHECK(!gm_ptr(&gm, ADDR + 4 * MIB, 8));	/* unplugged */
	CHECK(!gm_ptr(&gm, ADDR + 3 * MIB, 2 * MIB)); /* straddles */
	/* already plugged, unaligned, outside, empty, overflowing: ERROR */
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 1) == VIRTIO_MEM_RESP_ERROR);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR + 4096, 1) ==
	      VIRTIO_MEM_RESP_ERROR);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR - BLK, 1) ==
	      VIRTIO_MEM_RESP_ERROR);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR + 64 * MIB, 1) ==
	      VIRTIO_MEM_RESP_ERROR);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR + 62 * MIB, 2) ==
	      VIRTIO_MEM_RESP_ERROR);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR + 4 * MIB, 0) ==
	      VIRTIO_MEM_RESP_ERROR);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, UINT64_MAX - BLK + 1, 0xffff) ==
	      VIRTIO_MEM_RESP_ERROR);
	/* beyond the requested size: NACK */
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR + 4 * MIB, 3) ==
	      VIRTIO_MEM_RESP_NACK);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR + 4 * MIB, 2) ==
	      VIRTIO_MEM_RESP_ACK);
	CHECK(v.plugged == 8 * MIB);
	/* state */
	CHECK(req(VIRTIO_MEM_REQ_STATE, ADDR, 4) ==
	      0x100 + VIRTIO_MEM_STATE_PLUGGED);
	CHECK(req(VIRTIO_MEM_REQ_STATE, ADDR + 6 * MIB, 2) ==
	      0x100 + VIRTIO_MEM_STATE_MIXED);
	CHECK(req(VIRTIO_MEM_REQ_STATE, ADDR + 10 * MIB, 27) ==
	      0x100 + VIRTIO_MEM_STATE_UNPLUGGED);
	CHECK(req(VIRTIO_MEM_REQ_STATE, ADDR, 33) == VIRTIO_MEM_RESP_ERROR);
	/* unplug gives memory back to the host */
	memset(v.hva, 0x5a, 8 * MIB);
	before = gm_fd_allocated(v.fd);
	CHECK(before >= 8 * MIB);
	CHECK(req(VIRTIO_MEM_REQ_UNPLUG, ADDR + 8 * MIB, 1) ==
	      VIRTIO_MEM_RESP_ERROR);	/* not plugged */
	CHECK(req(VIRTIO_MEM_REQ_UNPLUG, ADDR + 6 * MIB, 2) ==
	      VIRTIO_MEM_RESP_ERROR);	/* mixed */
	CHECK(req(VIRTIO_MEM_REQ_UNPLUG, ADDR, 1) == VIRTIO_MEM_RESP_ACK);
	CHECK(gm_fd_allocated(v.fd) == before - BLK);
	CHECK(peek(v.fd, 0) == 0 && peek(v.fd, BLK) == 0x5a);
	CHECK(v.plugged == 6 * MIB && slots_live == 3);
	CHECK(req(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0) == VIRTIO_MEM_RESP_ACK);
	CHECK(v.plugged == 0 && slots_live == 0);
	CHECK(gm_fd_allocated(v.fd) == 0);
	CHECK(v.st.discarded_bytes == 8 * MIB);
	CHECK(req(99, ADDR, 1) == VIRTIO_MEM_RESP_ERROR);
}

/* a device that starts plugged and dirty, as a previous guest left it */
static void test_preplug(void)
{
	uint64_t plugged = v.plugged;

	CHECK(plugged == 0);
	vmem_preplug(&v, 3 * BLK + BLK / 2);	/* rounds down */
	CHECK(v.plugged == 3 * BLK && slots_live == 3);
	CHECK(peek(v.fd, 2 * BLK) == 0x5a && peek(v.fd, 3 * BLK) == 0);
	CHECK(req(VIRTIO_MEM_REQ_STATE, ADDR, 3) == 0x100 +
	      VIRTIO_MEM_STATE_PLUGGED);
	CHECK(req(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0) == VIRTIO_MEM_RESP_ACK);
	CHECK(v.plugged == 0 && slots_live == 0);
	CHECK(gm_fd_allocated(v.fd) == 0);
	vmem_preplug(&v, 0);
	CHECK(v.plugged == 0);
}

static void test_malformed_and_faults(void)
{
	struct virtio_mem_resp resp;
	uint8_t tiny[4] = { 0 };
	uint16_t unplug_all[4] = { VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, 0 };
	uint16_t short_plug[4] = { VIRTIO_MEM_REQ_PLUG, 0, 0, 0 };
	uint64_t bad = v.st.bad_requests;

	CHECK(vmem_handle(&v, tiny, sizeof(tiny), &resp));
	CHECK(resp.type == VIRTIO_MEM_RESP_ERROR);
	/* UNPLUG_ALL needs no payload, PLUG does */
	CHECK(vmem_handle(&v, unplug_all, 8, &resp));
	CHECK(resp.type == VIRTIO_MEM_RESP_ACK);
	CHECK(vmem_handle(&v, short_plug, 8, &resp));
	CHECK(resp.type == VIRTIO_MEM_RESP_ERROR);
	CHECK(v.st.bad_requests == bad + 2);

	v.faults.nack = 2;
	v.faults.busy = 1;
	v.faults.error = 1;
	v.faults.drop = 1;
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 1) == 0xffff);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 1) == VIRTIO_MEM_RESP_ERROR);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 1) == VIRTIO_MEM_RESP_BUSY);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 1) == VIRTIO_MEM_RESP_NACK);
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 1) == VIRTIO_MEM_RESP_NACK);
	CHECK(v.plugged == 0);	/* nothing was plugged by a faulted ack */
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 1) == VIRTIO_MEM_RESP_ACK);
	CHECK(v.faults.injected == 5);
	CHECK(v.st.resp[VIRTIO_MEM_RESP_BUSY] == 1);
}

/*
 * KVM refusing a memory slot fails the plug (ERROR, nothing plugged, the
 * blocks of the request before it unplugged again): the guest is never
 * told of memory it cannot reach.
 */
static void test_slot_failure(void)
{
	uint64_t errors = v.st.slot_errors;

	CHECK(req(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0) == VIRTIO_MEM_RESP_ACK);
	CHECK(v.plugged == 0 && slots_live == 0);
	slot_fail_at = 100 + 2;		/* the third block */
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 4) == VIRTIO_MEM_RESP_ERROR);
	CHECK(v.plugged == 0 && slots_live == 0);
	CHECK(req(VIRTIO_MEM_REQ_STATE, ADDR, 4) ==
	      0x100 + VIRTIO_MEM_STATE_UNPLUGGED);
	CHECK(v.st.slot_errors == errors + 1);
	slot_fail_at = -1;
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 4) == VIRTIO_MEM_RESP_ACK);
	CHECK(v.plugged == 4 * BLK && slots_live == 4);
	CHECK(req(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0) == VIRTIO_MEM_RESP_ACK);
}

/* Poison mode: what the guest gives back reads GM_POISON, not zero. */
static void test_poison(void)
{
	char buf[4096];
	FILE *f;

	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 1) == VIRTIO_MEM_RESP_ACK);
	memset(v.hva, 0x11, BLK);
	gm_poison(true);
	CHECK(req(VIRTIO_MEM_REQ_UNPLUG, ADDR, 1) == VIRTIO_MEM_RESP_ACK);
	gm_poison(false);
	CHECK(v.hva[0] == GM_POISON && v.hva[BLK - 1] == GM_POISON);
	/* the ring names who gave it back */
	f = fmemopen(buf, sizeof(buf), "w");
	CHECK(f);
	gm_discards_dump(f);
	fclose(f);
	CHECK(strstr(buf, "virtio-mem gpa 0x100000000+0x200000"));
	/* and without poison it is a hole again */
	CHECK(req(VIRTIO_MEM_REQ_PLUG, ADDR, 1) == VIRTIO_MEM_RESP_ACK);
	CHECK(req(VIRTIO_MEM_REQ_UNPLUG, ADDR, 1) == VIRTIO_MEM_RESP_ACK);
	CHECK(peek(v.fd, 0) == 0);
}

static void test_violation(void)
{
	CHECK(!vmem_violation(&v, ADDR - 8, 8, false));
	CHECK(!vmem_violation(&v, ADDR + 64 * MIB, 8, false));
	CHECK(vmem_violation(&v, ADDR + 10 * MIB, 8, true));
	CHECK(vmem_violation(&v, ADDR + 10 * MIB + 8, 4, false));
	CHECK(v.st.violations == 2 && v.st.violation_writes == 1);
	CHECK(v.st.last_violation_gpa == ADDR + 10 * MIB + 8);
}

void test_vmem(void)
{
	uint8_t *hva;
	int fd;

	CHECK(gm_memfd("test-vmem", 64 * MIB, 0, &fd, &hva) == 0);
	CHECK(vmem_create(&v, &gm, ADDR, 64 * MIB, 3 * MIB, fd, hva) < 0);
	CHECK(vmem_create(&v, &gm, ADDR + 4096, 64 * MIB, BLK, fd, hva) < 0);
	CHECK(vmem_create(&v, &gm, ADDR, 64 * MIB, BLK, fd, hva) == 0);
	v.set_slot = fake_slot;
	v.slot_base = 100;
	virtio_dev_init(&v.dev, &vmem_ops, &v, 0xd0000000, 5, gm_map, &gm,
			NULL, NULL);
	vmem_set_requested(&v, 8 * MIB);
	test_config();
	test_requests();
	test_preplug();
	test_malformed_and_faults();
	test_slot_failure();
	test_poison();
	test_violation();
}
