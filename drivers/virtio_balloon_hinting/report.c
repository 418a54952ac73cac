// SPDX-License-Identifier: GPL-2.0
/*
 * The reporting queue: batches of free blocks arrive as a scatterlist,
 * go to the host in one buffer, and the call returns once the host has
 * used it (discarded the memory). The blocks come from mm/hinting when the
 * kernel has it, else from the kernel's page_reporting.
 */
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include "balloon.h"

#if IS_ENABLED(CONFIG_MM_HINTING)
#include "hinting.h"
#else
#include <linux/page_reporting.h>
#endif

/* A host that takes longer than this to acknowledge a report is dead. */
static unsigned int report_timeout_ms = 30000;
module_param(report_timeout_ms, uint, 0644);
MODULE_PARM_DESC(report_timeout_ms,
		 "ms to wait for the host to acknowledge a report (default 30000)");

/* Fault injection for tests: never notify the host of a report. */
static bool fault_no_kick;
module_param(fault_no_kick, bool, 0644);
MODULE_PARM_DESC(fault_no_kick, "test only: reports never reach the host");

struct vb_reporter {
	struct vmdense_balloon *vb;
#if IS_ENABLED(CONFIG_MM_HINTING)
	struct hinting_consumer hc;
#else
	struct page_reporting_dev_info prdev;
#endif
};

/*
 * The callers report one batch at a time and wait, so the queue never
 * holds more than one buffer of ours.
 */
static int vb_send_report(struct vmdense_balloon *vb, struct scatterlist *sgl,
			  unsigned int nents)
{
	struct virtqueue *vq = vb->report_vq;
	unsigned int len;
	int err;

	/* the host writes nothing: in-buffers only say "this is free" */
	if (READ_ONCE(vb->broken))
		return -EIO;
	err = virtqueue_add_inbuf(vq, sgl, nents, vb, GFP_NOWAIT | __GFP_NOWARN);
	if (err)
		return err;
	if (!READ_ONCE(fault_no_kick))
		virtqueue_kick(vq);
	if (wait_event_timeout(vb->report_acked,
			       virtqueue_get_buf(vq, &len) ||
			       READ_ONCE(vb->broken),
			       msecs_to_jiffies(max(report_timeout_ms, 1U))))
		return READ_ONCE(vb->broken) ? -EIO : 0;
	/*
	 * Returning the pages while the host may still discard them would
	 * lose what the guest writes next: stop the device first.
	 */
	vb_break(vb);
	return -ETIMEDOUT;
}

#if IS_ENABLED(CONFIG_MM_HINTING)
static int vb_hinting_report(struct hinting_consumer *hc,
			     struct scatterlist *sgl, unsigned int nents)
{
	struct vb_reporter *r = container_of(hc, struct vb_reporter, hc);

	return vb_send_report(r->vb, sgl, nents);
}

static int vb_report_register(struct vb_reporter *r, unsigned int capacity)
{
	r->hc.report = vb_hinting_report;
	r->hc.capacity = capacity;
	return hinting_register(&r->hc);
}

static void vb_report_unregister(struct vb_reporter *r)
{
	hinting_unregister(&r->hc);
}
#else
static int vb_pr_report(struct page_reporting_dev_info *prdev,
			struct scatterlist *sgl, unsigned int nents)
{
	struct vb_reporter *r = container_of(prdev, struct vb_reporter, prdev);

	return vb_send_report(r->vb, sgl, nents);
}

static int vb_report_register(struct vb_reporter *r, unsigned int capacity)
{
	/* page_reporting hands over up to PAGE_REPORTING_CAPACITY at once */
	if (capacity < PAGE_REPORTING_CAPACITY)
		return -ENOSPC;
	r->prdev.report = vb_pr_report;
	return page_reporting_register(&r->prdev);
}

static void vb_report_unregister(struct vb_reporter *r)
{
	page_reporting_unregister(&r->prdev);
}
#endif

/* After vb_break(): batches would only fail, so stop taking them. */
static void vb_report_off(struct work_struct *work)
{
	struct vmdense_balloon *vb = container_of(work, struct vmdense_balloon,
						  report_off_work);

	vb_report_unregister(vb->reporter);
}

int vb_report_init(struct vmdense_balloon *vb)
{
	struct vb_reporter *r;
	unsigned int capacity;
	int err;

	INIT_WORK(&vb->report_off_work, vb_report_off);
	if (!vb->report_vq)
		return 0;
	capacity = virtqueue_get_vring_size(vb->report_vq);
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->vb = vb;
	err = vb_report_register(r, capacity);
	if (err) {
		kfree(r);
		return err;
	}
	vb->reporter = r;
	return 0;
}

/*
 * Unregistering first waits for a report in flight; one that times out
 * meanwhile queues report_off_work, which must not run after @vb is
 * gone: so cancel it only after, when nothing can queue it again.
 */
void vb_report_exit(struct vmdense_balloon *vb)
{
	if (!vb->reporter)
		return;
	/* unregistering twice is harmless: both APIs check who is there */
	vb_report_unregister(vb->reporter);
	cancel_work_sync(&vb->report_off_work);
	kfree(vb->reporter);
	vb->reporter = NULL;
}
