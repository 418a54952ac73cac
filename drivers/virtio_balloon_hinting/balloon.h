/* SPDX-License-Identifier: GPL-2.0 */
/* vmdense_balloon: state shared by the parts of the driver. */
#ifndef _VMDENSE_BALLOON_H
#define _VMDENSE_BALLOON_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_balloon.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

/* PFNs per inflate/deflate message, as the kernel's own driver sends. */
#define VB_PFNS_PER_MSG		256
/* Pages given back per OOM notification. */
#define VB_OOM_PAGES		256

struct vb_reporter;

struct vmdense_balloon {
	struct virtio_device *vdev;
	struct virtqueue *inflate_vq, *deflate_vq, *stats_vq, *report_vq;

	/* inflate/deflate: one message in flight, under @lock */
	struct mutex lock;
	wait_queue_head_t acked;
	struct list_head pages;		/* pages held in the balloon */
	unsigned int num_pages;
	__virtio32 pfns[VB_PFNS_PER_MSG];
	struct work_struct resize_work;
	struct notifier_block oom_nb;
	/*
	 * stopping: no more resize or statistics work. Set under stop_lock,
	 * which the callbacks that queue that work hold while they look.
	 */
	spinlock_t stop_lock;
	bool stopping;
	bool broken;			/* reset after a lost acknowledgment */

	/* statistics queue */
	struct work_struct stats_work;
	struct virtio_balloon_stat stats[VIRTIO_BALLOON_S_NR];
	bool stats_ready;

	/* reporting queue */
	wait_queue_head_t report_acked;
	struct vb_reporter *reporter;
	struct work_struct report_off_work;	/* stop feeding a dead device */
};

/* main.c */
void vb_break(struct vmdense_balloon *vb);
void vb_queue(struct vmdense_balloon *vb, struct work_struct *work);

/* inflate.c */
void vb_resize_work(struct work_struct *work);
int vb_inflate_init(struct vmdense_balloon *vb);
void vb_inflate_exit(struct vmdense_balloon *vb);

/* stats.c */
void vb_stats_work(struct work_struct *work);
int vb_stats_init(struct vmdense_balloon *vb);

/* report.c */
int vb_report_init(struct vmdense_balloon *vb);
void vb_report_exit(struct vmdense_balloon *vb);

#endif /* _VMDENSE_BALLOON_H */
