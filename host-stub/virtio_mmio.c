// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-mmio transport.  Register offsets and status bits come from the
 * kernel's UAPI header; everything the driver writes is range-checked here
 * so devices only ever see a queue that passed vq_setup().
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "virtio_mmio.h"

#define VIRT_MAGIC	0x74726976	/* "virt" */
#define VIRT_VENDOR	0x554d4551	/* same vendor id QEMU uses: "QEMU" */

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		     void *priv, uint64_t base, uint32_t irq,
		     vq_map_fn map, void *map_opaque,
		     void (*set_irq)(void *, uint32_t, int), void *irq_ctx)
{
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->priv = priv;
	d->base = base;
	d->irq = irq;
	d->map = map;
	d->map_opaque = map_opaque;
	d->set_irq = set_irq;
	d->irq_ctx = irq_ctx;
	pthread_mutex_init(&d->lock, NULL);
}

static uint64_t all_features(struct virtio_dev *d)
{
	return d->ops->features(d) | (1ull << VIRTIO_F_VERSION_1);
}

int virtio_has_feature(const struct virtio_dev *d, unsigned int bit)
{
	return bit < 64 && (d->driver_features >> bit) & 1;
}

static void update_irq(struct virtio_dev *d)
{
	if (d->set_irq)
		d->set_irq(d->irq_ctx, d->irq, d->isr ? 1 : 0);
}

static void raise_isr(struct virtio_dev *d, uint32_t bit)
{
	/*
	 * Pulse the line so that an edge-triggered pin sees every event
	 * even if the previous one is not acknowledged yet.
	 */
	if (d->isr && d->set_irq)
		d->set_irq(d->irq_ctx, d->irq, 0);
	d->isr |= bit;
	update_irq(d);
}

void virtio_used_notify(struct virtio_dev *d, unsigned int q)
{
	if (q < VIRTIO_MAX_QUEUES && vq_should_notify(&d->vq[q]))
		raise_isr(d, VIRTIO_MMIO_INT_VRING);
}

void virtio_config_changed(struct virtio_dev *d)
{
	d->config_gen++;
	if (d->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_isr(d, VIRTIO_MMIO_INT_CONFIG);
}

static void needs_reset(struct virtio_dev *d, const char *why)
{
	d->broken_events++;
	if (d->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	fprintf(stderr, "host-stub: %s: %s; device needs reset\n",
		d->ops->name, why);
	d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	virtio_config_changed(d);
}

static void device_reset(struct virtio_dev *d)
{
	unsigned int i;

	d->status = 0;
	d->dev_feat_sel = 0;
	d->drv_feat_sel = 0;
	d->queue_sel = 0;
	d->driver_features = 0;
	d->isr = 0;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		memset(&d->qr[i], 0, sizeof(d->qr[i]));
		vq_reset(&d->vq[i]);
	}
	if (d->ops->reset)
		d->ops->reset(d);
	update_irq(d);
}

static struct vq_regs *cur_queue(struct virtio_dev *d)
{
	if (d->queue_sel >= d->ops->num_queues)
		return NULL;
	return &d->qr[d->queue_sel];
}

static uint32_t reg_read(struct virtio_dev *d, uint64_t off)
{
	struct vq_regs *q = cur_queue(d);
	uint64_t f;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRT_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRT_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		f = all_features(d);
		if (d->dev_feat_sel > 1)
			return 0;
		return (uint32_t)(f >> (32 * d->dev_feat_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? VQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return d->isr;
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->config_gen;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return q ? (uint32_t)q->desc : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return q ? (uint32_t)(q->desc >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return q ? (uint32_t)q->avail : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		return q ? (uint32_t)(q->avail >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		return q ? (uint32_t)q->used : 0;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return q ? (uint32_t)(q->used >> 32) : 0;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		/* no shared memory regions: length all ones */
		return 0xffffffff;
	default:
		return 0;
	}
}

static void set_lo(uint64_t *v, uint32_t x)
{
	*v = (*v & ~0xffffffffull) | x;
}

static void set_hi(uint64_t *v, uint32_t x)
{
	*v = (*v & 0xffffffffull) | ((uint64_t)x << 32);
}

static void queue_ready(struct virtio_dev *d, unsigned int qi, uint32_t val)
{
	struct vq_regs *q = &d->qr[qi];

	if (!val) {
		q->ready = 0;
		vq_reset(&d->vq[qi]);
		return;
	}
	if (vq_setup(&d->vq[qi], q->num, q->desc, q->avail, q->used,
		     d->map, d->map_opaque) < 0) {
		needs_reset(d, d->vq[qi].why);
		return;
	}
	q->ready = 1;
}

static void status_write(struct virtio_dev *d, uint32_t val)
{
	if (val == 0) {
		device_reset(d);
		return;
	}
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(d->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		uint64_t f = d->driver_features;

		/* Refuse (leave the bit clear) what we did not offer. */
		if ((f & ~all_features(d)) ||
		    !(f & (1ull << VIRTIO_F_VERSION_1)))
			val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	/* The driver cannot clear NEEDS_RESET except by a reset. */
	d->status = val | (d->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static bool is_queue_layout_reg(uint64_t off)
{
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return true;
	}
	return false;
}

static void reg_write(struct virtio_dev *d, uint64_t off, uint32_t val)
{
	struct vq_regs *q = cur_queue(d);
	unsigned int qi = d->queue_sel;

	/* Queue size and addresses only change while the queue is off. */
	if (q && q->ready && is_queue_layout_reg(off))
		return;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_feat_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_feat_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->status & VIRTIO_CONFIG_S_FEATURES_OK)
			break;
		if (d->drv_feat_sel == 0)
			set_lo(&d->driver_features, val);
		else if (d->drv_feat_sel == 1)
			set_hi(&d->driver_features, val);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (q)
			q->num = val;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (q)
			queue_ready(d, qi, val);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/*
		 * Drivers may kick before DRIVER_OK (Linux's balloon queues
		 * its first statistics buffer in probe): a ready queue is
		 * enough.
		 */
		if (val < d->ops->num_queues && d->qr[val].ready) {
			d->ops->notify(d, val);
			if (d->vq[val].broken)
				needs_reset(d, d->vq[val].why);
		}
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		d->isr &= ~val;
		update_irq(d);
		break;
	case VIRTIO_MMIO_STATUS:
		status_write(d, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		if (q)
			set_lo(&q->desc, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (q)
			set_hi(&q->desc, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		if (q)
			set_lo(&q->avail, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (q)
			set_hi(&q->avail, val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		if (q)
			set_lo(&q->used, val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (q)
			set_hi(&q->used, val);
		break;
	default:
		break;
	}
}

static int config_range_ok(struct virtio_dev *d, uint64_t off, uint32_t len)
{
	uint64_t c = off - VIRTIO_MMIO_CONFIG;

	return len && len <= 8 && c < d->ops->config_size &&
		len <= d->ops->config_size - c;
}

void virtio_mmio_read(struct virtio_dev *d, uint64_t off, uint8_t *data,
		      uint32_t len)
{
	uint8_t cfg[256];
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (config_range_ok(d, off, len) &&
		    d->ops->config_size <= sizeof(cfg)) {
			memset(cfg, 0, sizeof(cfg));
			d->ops->get_config(d, cfg);
			memcpy(data, cfg + (off - VIRTIO_MMIO_CONFIG), len);
		} else {
			d->broken_events++;
		}
	} else if (len == 4 && !(off & 3)) {
		v = reg_read(d, off);
		memcpy(data, &v, 4);
	} else {
		d->broken_events++;
	}
	pthread_mutex_unlock(&d->lock);
}

void virtio_mmio_write(struct virtio_dev *d, uint64_t off,
		       const uint8_t *data, uint32_t len)
{
	uint32_t v;

	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (config_range_ok(d, off, len) && d->ops->set_config)
			d->ops->set_config(d, off - VIRTIO_MMIO_CONFIG, data,
					   len);
		else if (!config_range_ok(d, off, len))
			d->broken_events++;
	} else if (len == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		reg_write(d, off, v);
	} else {
		d->broken_events++;
	}
	pthread_mutex_unlock(&d->lock);
}

int virtio_cmdline(const struct virtio_dev *d, char *buf, unsigned long n)
{
	return snprintf(buf, n, " virtio_mmio.device=0x%x@0x%llx:%u",
			VIRTIO_MMIO_SIZE, (unsigned long long)d->base, d->irq);
}
