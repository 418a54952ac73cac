// SPDX-License-Identifier: GPL-2.0
/*
 * Virtqueue parser: well-formed chains, and each way a guest can lie
 * (loops, indices, addresses, ordering) ends in a broken queue, not in an
 * out-of-bounds access (ASan watches the latter).
 */
#include <stdint.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "guest_mem.h"
#include "test.h"
#include "virtqueue.h"

#define MEM_SIZE	(256 * 1024)
#define DESC		0x1000
#define AVAIL		0x2000
#define USED		0x3000
#define QSZ		16

static uint8_t *ram;
static struct guest_mem gm;

static struct vring_desc *desc(int i)
{
	return (struct vring_desc *)(ram + DESC) + i;
}

static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(ram + AVAIL);
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + USED);
}

static void set_desc(int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	desc(i)->addr = addr;
	desc(i)->len = len;
	desc(i)->flags = flags;
	desc(i)->next = next;
}

/* Offer head @h in the next avail slot. */
static void offer(uint16_t h)
{
	avail()->ring[avail()->idx % QSZ] = h;
	avail()->idx++;
}

static void fresh(struct virtq *vq)
{
	static uint8_t buf[MEM_SIZE];

	ram = buf;
	memset(ram, 0, MEM_SIZE);
	memset(&gm, 0, sizeof(gm));
	gm_add(&gm, 0, MEM_SIZE, ram, -1, 0);
	CHECK(vq_setup(vq, QSZ, DESC, AVAIL, USED, gm_map, &gm) == 0);
}

static void test_setup(void)
{
	struct virtq vq;

	fresh(&vq);
	CHECK(vq_setup(&vq, 0, DESC, AVAIL, USED, gm_map, &gm) < 0);
	CHECK(vq_setup(&vq, 12, DESC, AVAIL, USED, gm_map, &gm) < 0);
	CHECK(vq_setup(&vq, 512, DESC, AVAIL, USED, gm_map, &gm) < 0);
	CHECK(vq_setup(&vq, QSZ, DESC + 8, AVAIL, USED, gm_map, &gm) < 0);
	CHECK(vq_setup(&vq, QSZ, DESC, AVAIL + 1, USED, gm_map, &gm) < 0);
	CHECK(vq_setup(&vq, QSZ, DESC, AVAIL, USED + 2, gm_map, &gm) < 0);
	CHECK(vq_setup(&vq, QSZ, MEM_SIZE - 16, AVAIL, USED, gm_map,
		       &gm) < 0);
	CHECK(vq_setup(&vq, QSZ, DESC, UINT64_MAX - 1, USED, gm_map,
		       &gm) < 0);
	CHECK(vq_setup(&vq, QSZ, DESC, AVAIL, (uint64_t)-16, gm_map, &gm) < 0);
	CHECK(vq.broken);
	CHECK(vq_pop(&vq, &(struct vq_chain){0}) == -1);
}

static void test_good_chain(void)
{
	static struct vq_chain c;
	struct virtq vq;
	uint8_t in[8] = "request", out[24];

	fresh(&vq);
	CHECK(vq_pop(&vq, &c) == 0);
	memcpy(ram + 0x8000, in, 4);
	memcpy(ram + 0x9000, in + 4, 4);
	set_desc(3, 0x8000, 4, VRING_DESC_F_NEXT, 7);
	set_desc(7, 0x9000, 4, VRING_DESC_F_NEXT, 2);
	set_desc(2, 0xa000, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 5);
	set_desc(5, 0xb000, 16, VRING_DESC_F_WRITE, 0);
	offer(3);
	CHECK(vq_pop(&vq, &c) == 1);
	CHECK(c.head == 3 && c.nseg == 4 && c.nread == 2);
	CHECK(c.read_len == 8 && c.write_len == 24);
	memset(out, 0, sizeof(out));
	CHECK(vq_read(&c, out, sizeof(out)) == 8);
	CHECK(!memcmp(out, "request", 8));
	for (int i = 0; i < 24; i++)
		out[i] = i + 1;
	CHECK(vq_write(&c, out, 20) == 20);
	CHECK(ram[0xa000] == 1 && ram[0xb000] == 9 && ram[0xb00b] == 20);
	CHECK(ram[0xb00c] == 0);
	CHECK(vq_pop(&vq, &c) == 0);
	CHECK(vq_push(&vq, c.head, 20) == 0);
	CHECK(used()->idx == 1);
	CHECK(used()->ring[0].id == 3 && used()->ring[0].len == 20);
	CHECK(vq_push(&vq, QSZ, 0) == -1);	/* bad head from the device */
}

static void test_wrap_and_notify(void)
{
	static struct vq_chain c;
	struct virtq vq;
	int i, ok = 1;

	fresh(&vq);
	/* indices are free-running 16-bit counters: cross 65535 */
	vq.last_avail = 65530;
	vq.used_idx = 65530;
	avail()->idx = 65530;
	set_desc(0, 0x8000, 0, 0, 0);	/* zero-length buffer is legal */
	for (i = 0; i < 12; i++) {
		offer(0);
		ok &= vq_pop(&vq, &c) == 1 && c.nseg == 1;
		ok &= vq_push(&vq, 0, 0) == 0;
	}
	CHECK(ok);
	CHECK(vq.last_avail == 6 && used()->idx == 6);
	CHECK(vq_should_notify(&vq));
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	CHECK(!vq_should_notify(&vq));
}

/* Each hostile ring must break the queue with a reason. */
static void expect_broken(struct virtq *vq, const char *what)
{
	static struct vq_chain c;

	CHECK(vq_pop(vq, &c) == -1);
	CHECK(vq->broken && vq->why && strstr(vq->why, what));
	CHECK(vq_pop(vq, &c) == -1);	/* and stays broken */
}

static void test_hostile(void)
{
	struct virtq vq;

	fresh(&vq);	/* two-descriptor loop */
	set_desc(0, 0x8000, 4, VRING_DESC_F_NEXT, 1);
	set_desc(1, 0x8000, 4, VRING_DESC_F_NEXT, 0);
	offer(0);
	expect_broken(&vq, "loops");

	fresh(&vq);	/* self loop */
	set_desc(4, 0x8000, 4, VRING_DESC_F_NEXT, 4);
	offer(4);
	expect_broken(&vq, "loops");

	fresh(&vq);
	set_desc(0, 0x8000, 4, VRING_DESC_F_NEXT, QSZ);
	offer(0);
	expect_broken(&vq, "next index");

	fresh(&vq);
	offer(QSZ + 3);
	expect_broken(&vq, "head index");

	fresh(&vq);
	avail()->idx = QSZ + 1;
	expect_broken(&vq, "ran ahead");

	fresh(&vq);
	set_desc(0, MEM_SIZE - 2, 4, 0, 0);
	offer(0);
	expect_broken(&vq, "outside memory");

	fresh(&vq);	/* address + length wraps around 2^64 */
	set_desc(0, UINT64_MAX - 1, 16, 0, 0);
	offer(0);
	expect_broken(&vq, "outside memory");

	fresh(&vq);
	set_desc(0, 0x8000, 0xffffffff, VRING_DESC_F_WRITE, 0);
	offer(0);
	expect_broken(&vq, "outside memory");

	fresh(&vq);
	set_desc(0, 0x8000, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(1, 0x9000, 4, 0, 0);
	offer(0);
	expect_broken(&vq, "readable after writable");

	fresh(&vq);
	set_desc(0, 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken(&vq, "indirect");

	fresh(&vq);	/* a maximal legal chain: every descriptor once */
	for (int i = 0; i < QSZ; i++)
		set_desc(i, 0x8000, 1, i < QSZ - 1 ? VRING_DESC_F_NEXT : 0,
			 i + 1);
	offer(0);
	{
		static struct vq_chain c;

		CHECK(vq_pop(&vq, &c) == 1 && c.nseg == QSZ);
	}
}

void test_virtqueue(void)
{
	test_setup();
	test_good_chain();
	test_wrap_and_notify();
	test_hostile();
}
