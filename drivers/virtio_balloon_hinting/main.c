// SPDX-License-Identifier: GPL-2.0
/*
 * vmdense_balloon: a virtio-balloon driver (virtio device ID 5) whose free
 * page reporting queue is fed by mm/hinting, or by the kernel's
 * page_reporting where mm/hinting is absent.
 *
 * This file binds the device: features, virtqueues, config changes and
 * teardown. Inflating/deflating, statistics and reporting have their own
 * files.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include "balloon.h"

static void vb_ack(struct virtqueue *vq)
{
	struct vmdense_balloon *vb = vq->vdev->priv;

	wake_up(&vb->acked);
}

/*
 * Queue @work unless the driver is stopping: looked at and queued under
 * stop_lock, so that once vb_stop() returns nothing queues it again.
 */
void vb_queue(struct vmdense_balloon *vb, struct work_struct *work)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	if (!vb->stopping)
		queue_work(system_freezable_wq, work);
	spin_unlock_irqrestore(&vb->stop_lock, flags);
}

/* From here on no resize or statistics work is queued. */
static void vb_stop(struct vmdense_balloon *vb)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	vb->stopping = true;
	spin_unlock_irqrestore(&vb->stop_lock, flags);
}

static void vb_stats_request(struct virtqueue *vq)
{
	struct vmdense_balloon *vb = vq->vdev->priv;

	/* the host took the last statistics and wants fresh ones */
	vb_queue(vb, &vb->stats_work);
}

static void vb_report_ack(struct virtqueue *vq)
{
	struct vmdense_balloon *vb = vq->vdev->priv;

	wake_up(&vb->report_acked);
}

enum {
	VB_VQ_INFLATE,
	VB_VQ_DEFLATE,
	VB_VQ_STATS,
	VB_VQ_HINT,		/* free page hinting: not negotiated */
	VB_VQ_REPORT,
	VB_VQ_NR
};

/*
 * Queues are numbered in the order of the spec; absent ones get no index
 * (a NULL name), which is how the transport skips them.
 */
static int vb_find_vqs(struct vmdense_balloon *vb)
{
	struct virtio_device *vdev = vb->vdev;
	struct virtqueue *vqs[VB_VQ_NR] = {};
	bool stats = virtio_has_feature(vdev, VIRTIO_BALLOON_F_STATS_VQ);
	bool report = virtio_has_feature(vdev, VIRTIO_BALLOON_F_REPORTING);
	int err;
#ifdef VB_HAVE_VQ_INFO	/* virtio_find_vqs() of 6.11 and later */
	struct virtqueue_info info[VB_VQ_NR] = {
		[VB_VQ_INFLATE] = { "inflate", vb_ack },
		[VB_VQ_DEFLATE] = { "deflate", vb_ack },
	};

	if (stats)
		info[VB_VQ_STATS] = (struct virtqueue_info){ "stats",
							     vb_stats_request };
	if (report)
		info[VB_VQ_REPORT] = (struct virtqueue_info){ "reporting",
							      vb_report_ack };
	err = virtio_find_vqs(vdev, VB_VQ_NR, vqs, info, NULL);
#else
	vq_callback_t *cbs[VB_VQ_NR] = { vb_ack, vb_ack };
	const char *names[VB_VQ_NR] = { "inflate", "deflate" };

	if (stats) {
		cbs[VB_VQ_STATS] = vb_stats_request;
		names[VB_VQ_STATS] = "stats";
	}
	if (report) {
		cbs[VB_VQ_REPORT] = vb_report_ack;
		names[VB_VQ_REPORT] = "reporting";
	}
	err = virtio_find_vqs(vdev, VB_VQ_NR, vqs, cbs, names, NULL);
#endif
	if (err)
		return err;
	vb->inflate_vq = vqs[VB_VQ_INFLATE];
	vb->deflate_vq = vqs[VB_VQ_DEFLATE];
	vb->stats_vq = vqs[VB_VQ_STATS];
	vb->report_vq = vqs[VB_VQ_REPORT];
	return 0;
}

/*
 * The host stopped answering. Reset the device: from then on it may not
 * touch any buffer we gave it, so the pages of a report in flight can go
 * back to the guest without the host discarding them later. Everything
 * waiting for an acknowledgment gives up.
 */
void vb_break(struct vmdense_balloon *vb)
{
	dev_err(&vb->vdev->dev,
		"the host stopped acknowledging: device reset, balloon off\n");
	WRITE_ONCE(vb->broken, true);
	vb_stop(vb);
	virtio_break_device(vb->vdev);
	virtio_reset_device(vb->vdev);
	wake_up_all(&vb->acked);
	wake_up_all(&vb->report_acked);
	/* not from here: the report in flight holds what unregistering waits for */
	if (vb->reporter)
		schedule_work(&vb->report_off_work);
}

static void vb_config_changed(struct virtio_device *vdev)
{
	vb_queue(vdev->priv, &((struct vmdense_balloon *)vdev->priv)->resize_work);
}

static int vb_validate(struct virtio_device *vdev)
{
	if (!vdev->config->get) {
		dev_err(&vdev->dev, "device has no config space\n");
		return -EINVAL;
	}
	/*
	 * Free pages that init_on_free or poisoning filled would come back
	 * from the host as zeroes, or anything: without PAGE_POISON (which
	 * we do not offer) reporting could change their contents.
	 */
	if (want_init_on_free() || page_poisoning_enabled_static()) {
		dev_info(&vdev->dev, "init_on_free or page poisoning: free page reporting off\n");
		__virtio_clear_bit(vdev, VIRTIO_BALLOON_F_REPORTING);
	}
	/* the PFNs we hand over are guest-physical, not DMA addresses */
	__virtio_clear_bit(vdev, VIRTIO_F_ACCESS_PLATFORM);
	return 0;
}

/*
 * Bring the device up: queues, the first statistics buffer, the OOM
 * notifier, reporting; then follow the target. At probe and on resume.
 */
static int vb_start(struct vmdense_balloon *vb)
{
	struct virtio_device *vdev = vb->vdev;
	unsigned long flags;
	int err;

	err = vb_find_vqs(vb);
	if (err)
		return err;
	spin_lock_irqsave(&vb->stop_lock, flags);
	vb->stopping = false;
	vb->broken = false;
	spin_unlock_irqrestore(&vb->stop_lock, flags);
	virtio_device_ready(vdev);

	err = vb_stats_init(vb);
	if (err)
		goto reset;
	err = vb_inflate_init(vb);
	if (err)
		goto reset;
	/* a balloon without reporting still inflates and deflates */
	err = vb_report_init(vb);
	if (err)
		dev_warn(&vdev->dev, "free page reporting off: %d\n", err);

	vb_queue(vb, &vb->resize_work);
	return 0;

reset:
	vb_stop(vb);
	cancel_work_sync(&vb->stats_work);
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
	return err;
}

/*
 * Take it down: reporting first (that waits for a report in flight, whose
 * pages go back), then no more work, every ballooned page back with the
 * host told, and the device reset. At removal and on suspend.
 */
static void vb_teardown(struct vmdense_balloon *vb)
{
	struct virtio_device *vdev = vb->vdev;

	vb_report_exit(vb);
	vb_stop(vb);
	cancel_work_sync(&vb->resize_work);
	cancel_work_sync(&vb->stats_work);
	vb_inflate_exit(vb);
	if (!vb->broken)
		virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
}

static int vb_probe(struct virtio_device *vdev)
{
	struct vmdense_balloon *vb;
	int err;

	vb = kzalloc(sizeof(*vb), GFP_KERNEL);
	if (!vb)
		return -ENOMEM;
	vdev->priv = vb;
	vb->vdev = vdev;
	mutex_init(&vb->lock);
	spin_lock_init(&vb->stop_lock);
	init_waitqueue_head(&vb->acked);
	init_waitqueue_head(&vb->report_acked);
	INIT_LIST_HEAD(&vb->pages);
	INIT_WORK(&vb->resize_work, vb_resize_work);
	INIT_WORK(&vb->stats_work, vb_stats_work);

	err = vb_start(vb);
	if (err)
		kfree(vb);
	return err;
}

static void vb_remove(struct virtio_device *vdev)
{
	struct vmdense_balloon *vb = vdev->priv;

	vb_teardown(vb);
	kfree(vb);
}

#ifdef CONFIG_PM_SLEEP
/*
 * Across suspend and hibernation the device is reset: give everything
 * back and stop as at removal (the freezable workqueue is frozen
 * already), start again on resume as at probe. The host then sets the
 * target anew.
 */
static int vb_freeze(struct virtio_device *vdev)
{
	vb_teardown(vdev->priv);
	return 0;
}

static int vb_restore(struct virtio_device *vdev)
{
	return vb_start(vdev->priv);
}
#endif

static unsigned int vb_features[] = {
	VIRTIO_BALLOON_F_MUST_TELL_HOST,
	VIRTIO_BALLOON_F_STATS_VQ,
	VIRTIO_BALLOON_F_DEFLATE_ON_OOM,
	VIRTIO_BALLOON_F_REPORTING,
};

static const struct virtio_device_id vb_id_table[] = {
	{ VIRTIO_ID_BALLOON, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vb_id_table);

static struct virtio_driver vb_driver = {
	.driver = {
		.name = "vmdense_balloon",
	},
#ifdef CONFIG_PM_SLEEP
	.freeze = vb_freeze,
	.restore = vb_restore,
#endif
	.id_table = vb_id_table,
	.validate = vb_validate,
	.feature_table_size = ARRAY_SIZE(vb_features),
	.feature_table = vb_features,
	.probe = vb_probe,
	.config_changed = vb_config_changed,
	.remove = vb_remove,
};
module_virtio_driver(vb_driver);

MODULE_DESCRIPTION("vmdense virtio-balloon driver fed by free page hinting");
MODULE_LICENSE("GPL");
