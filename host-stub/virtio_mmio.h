/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-mmio transport (version 2 register layout, virtio 1.x).
 *
 * The transport owns the registers, feature negotiation, queue set-up and
 * interrupts; devices plug in through struct virtio_dev_ops and never see
 * register offsets.  Device callbacks run with dev->lock held, which is
 * also what the control socket takes before touching a device.
 */
#ifndef HOST_STUB_VIRTIO_MMIO_H
#define HOST_STUB_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdint.h>

#include "virtqueue.h"

#define VIRTIO_MMIO_SIZE	0x200
#define VIRTIO_MAX_QUEUES	8

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	unsigned int num_queues;
	uint32_t config_size;
	/* Device features (VERSION_1 is added by the transport). */
	uint64_t (*features)(struct virtio_dev *d);
	/* Fill the whole config space snapshot (config_size bytes). */
	void (*get_config)(struct virtio_dev *d, uint8_t *cfg);
	/* Optional: the driver wrote len bytes at off (already bounded). */
	void (*set_config)(struct virtio_dev *d, uint32_t off,
			   const uint8_t *buf, uint32_t len);
	/* The driver kicked queue q (set up and not broken). */
	void (*notify)(struct virtio_dev *d, unsigned int q);
	/* Optional: the driver reset the device. */
	void (*reset)(struct virtio_dev *d);
};

struct vq_regs {
	uint32_t num;
	uint32_t ready;
	uint64_t desc, avail, used;
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;
	uint64_t base;
	uint32_t irq;
	pthread_mutex_t lock;

	/* interrupt line; ctx is the VM */
	void (*set_irq)(void *ctx, uint32_t irq, int level);
	void *irq_ctx;
	vq_map_fn map;
	void *map_opaque;

	uint32_t status;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint64_t driver_features;
	uint32_t isr;
	uint32_t config_gen;
	struct vq_regs qr[VIRTIO_MAX_QUEUES];
	struct virtq vq[VIRTIO_MAX_QUEUES];
	uint64_t broken_events;	/* times a queue or config access was bad */
};

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		     void *priv, uint64_t base, uint32_t irq,
		     vq_map_fn map, void *map_opaque,
		     void (*set_irq)(void *, uint32_t, int), void *irq_ctx);

/* MMIO access at @off inside the device window; dev->lock taken inside. */
void virtio_mmio_read(struct virtio_dev *d, uint64_t off, uint8_t *data,
		      uint32_t len);
void virtio_mmio_write(struct virtio_dev *d, uint64_t off,
		       const uint8_t *data, uint32_t len);

/* Called by devices (lock held): used buffers on q are ready. */
void virtio_used_notify(struct virtio_dev *d, unsigned int q);

/* Called with the lock held when the device config changed. */
void virtio_config_changed(struct virtio_dev *d);

/* The driver accepted VIRTIO_F_* feature bit @bit. */
int virtio_has_feature(const struct virtio_dev *d, unsigned int bit);

/* Kernel command line fragment declaring the device. */
int virtio_cmdline(const struct virtio_dev *d, char *buf, unsigned long n);

#endif
