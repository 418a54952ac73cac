// SPDX-License-Identifier: GPL-2.0
/* virtio-mmio transport: registers, negotiation, queues, interrupts. */
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "guest_mem.h"
#include "test.h"
#include "virtio_mmio.h"

#define MEM_SIZE	(64 * 1024)

static int irq_level, irq_edges, notified;

static void fake_irq(void *ctx, uint32_t irq, int level)
{
	(void)ctx;
	(void)irq;
	if (level && !irq_level)
		irq_edges++;
	irq_level = level;
}

static uint64_t t_features(struct virtio_dev *d)
{
	(void)d;
	return 1ull << 3;
}

static void t_get_config(struct virtio_dev *d, uint8_t *cfg)
{
	(void)d;
	for (int i = 0; i < 12; i++)
		cfg[i] = 0xa0 + i;
}

static void t_notify(struct virtio_dev *d, unsigned int q)
{
	static struct vq_chain c;

	int n = 0;

	notified++;
	while (vq_pop(&d->vq[q], &c) == 1) {
		vq_push(&d->vq[q], c.head, 0);
		n++;
	}
	if (n)
		virtio_used_notify(d, q);
}

static const struct virtio_dev_ops t_ops = {
	.name = "test", .device_id = 42, .num_queues = 2, .config_size = 12,
	.features = t_features, .get_config = t_get_config,
	.notify = t_notify,
};

static uint32_t rd(struct virtio_dev *d, uint32_t off)
{
	uint32_t v;

	virtio_mmio_read(d, off, (uint8_t *)&v, 4);
	return v;
}

static void wr(struct virtio_dev *d, uint32_t off, uint32_t v)
{
	virtio_mmio_write(d, off, (uint8_t *)&v, 4);
}

static void negotiate(struct virtio_dev *d, uint32_t hi)
{
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 1u << 3);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, hi);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
}

static void setup_queue(struct virtio_dev *d, unsigned int q, uint32_t num,
			uint32_t desc)
{
	wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, desc + 0x1000);
	wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, desc + 0x2000);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

void test_mmio(void)
{
	static uint8_t ram[MEM_SIZE];
	static struct guest_mem gm;
	static struct virtio_dev d;
	struct vring_avail *av = (void *)(ram + 0x2000);
	struct vring_desc *de = (void *)(ram + 0x1000);
	uint8_t b[8];
	uint32_t st;

	gm_add(&gm, 0, MEM_SIZE, ram, -1, 0);
	virtio_dev_init(&d, &t_ops, NULL, 0xd0000000, 5, gm_map, &gm,
			fake_irq, NULL);
	CHECK(rd(&d, VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976);
	CHECK(rd(&d, VIRTIO_MMIO_VERSION) == 2);
	CHECK(rd(&d, VIRTIO_MMIO_DEVICE_ID) == 42);
	wr(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK(rd(&d, VIRTIO_MMIO_DEVICE_FEATURES) == 1);	/* VERSION_1 */
	wr(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	CHECK(rd(&d, VIRTIO_MMIO_DEVICE_FEATURES) == 0);

	/* without VERSION_1 the device refuses FEATURES_OK */
	negotiate(&d, 0);
	CHECK(!(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	/* a feature we never offered is refused too */
	wr(&d, VIRTIO_MMIO_STATUS, 0);
	wr(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1u << 4);
	wr(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(&d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(!(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	negotiate(&d, 1);
	CHECK(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(virtio_has_feature(&d, 3) && virtio_has_feature(&d, 32));

	/* config space: in range, and every out-of-range form */
	virtio_mmio_read(&d, VIRTIO_MMIO_CONFIG + 4, b, 4);
	CHECK(b[0] == 0xa4 && b[3] == 0xa7);
	virtio_mmio_read(&d, VIRTIO_MMIO_CONFIG + 10, b, 4);
	CHECK(b[0] == 0 && d.broken_events == 1);
	virtio_mmio_read(&d, VIRTIO_MMIO_CONFIG + 0x1000000, b, 8);
	CHECK(d.broken_events == 2);
	virtio_mmio_read(&d, (uint64_t)-4, b, 4);
	CHECK(d.broken_events == 3);
	virtio_mmio_read(&d, VIRTIO_MMIO_STATUS + 1, b, 2);
	CHECK(d.broken_events == 4);

	/* queue select beyond the device's queues reads as absent */
	wr(&d, VIRTIO_MMIO_QUEUE_SEL, 9);
	CHECK(rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
	wr(&d, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK(rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX) == VQ_MAX_SIZE);

	setup_queue(&d, 0, 8, 0x1000);
	CHECK(rd(&d, VIRTIO_MMIO_QUEUE_READY) == 1);
	/* a live queue's address cannot be changed under the device */
	wr(&d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	CHECK(rd(&d, VIRTIO_MMIO_QUEUE_DESC_LOW) == 0x1000);
	/* an empty kick, before DRIVER_OK: handled, nothing used */
	wr(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(notified == 1 && irq_edges == 0);
	notified = 0;
	st = rd(&d, VIRTIO_MMIO_STATUS);
	wr(&d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
	de[0].addr = 0x8000;
	de[0].len = 4;
	av->ring[0] = 0;
	av->idx = 1;
	wr(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(notified == 1);
	CHECK(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_VRING);
	CHECK(irq_level == 1 && irq_edges == 1);
	wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK(irq_level == 0 && rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
	wr(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 77);	/* no such queue */
	CHECK(notified == 1);

	/* a hostile ring breaks the queue and asks for a reset */
	av->ring[1] = 200;
	av->idx = 2;
	wr(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	CHECK(rd(&d, VIRTIO_MMIO_CONFIG_GENERATION) == 1);

	/* reset clears everything, including the broken queue */
	wr(&d, VIRTIO_MMIO_STATUS, 0);
	CHECK(rd(&d, VIRTIO_MMIO_STATUS) == 0 && irq_level == 0);
	CHECK(rd(&d, VIRTIO_MMIO_QUEUE_READY) == 0 && !d.vq[0].broken);

	/* a queue placed outside memory is refused at QUEUE_READY */
	negotiate(&d, 1);
	setup_queue(&d, 1, 8, MEM_SIZE - 0x1000);
	CHECK(rd(&d, VIRTIO_MMIO_QUEUE_READY) == 0);
	CHECK(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(&d, VIRTIO_MMIO_STATUS, 0);
	negotiate(&d, 1);
	setup_queue(&d, 1, 3, 0x1000);	/* not a power of two */
	CHECK(rd(&d, VIRTIO_MMIO_QUEUE_READY) == 0);
}
