// SPDX-License-Identifier: GPL-2.0
/*
 * Inflate and deflate: follow the host's target (config num_pages) by
 * taking pages from the allocator or giving them back, one message of at
 * most VB_PFNS_PER_MSG PFNs at a time, and tell the host where we are
 * (config actual). With DEFLATE_ON_OOM the balloon also shrinks when the
 * guest runs out of memory.
 */
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/oom.h>
#include <linux/virtio_config.h>

#include "balloon.h"

/* Balloon PFNs are 4 KiB units; one page is this many of them. */
#define VB_UNITS_PER_PAGE	(PAGE_SIZE >> VIRTIO_BALLOON_PFN_SHIFT)

static bool vb_oom_deflates(struct vmdense_balloon *vb)
{
	return virtio_has_feature(vb->vdev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
}

/* Send the PFNs gathered in vb->pfns and wait for the host. */
static void vb_tell_host(struct vmdense_balloon *vb, struct virtqueue *vq,
			 unsigned int n)
{
	struct scatterlist sg;
	unsigned int len;

	sg_init_one(&sg, vb->pfns, sizeof(vb->pfns[0]) * n);
	/* one buffer of ours at a time, so the queue always has room */
	if (virtqueue_add_outbuf(vq, &sg, 1, vb, GFP_KERNEL))
		return;
	virtqueue_kick(vq);
	/* a broken device answers nothing; its pages are ours again */
	wait_event(vb->acked, virtqueue_get_buf(vq, &len) ||
		   READ_ONCE(vb->broken));
}

static void vb_add_pfns(struct vmdense_balloon *vb, unsigned int at,
			struct page *page)
{
	unsigned long pfn = page_to_pfn(page) * VB_UNITS_PER_PAGE;
	unsigned int i;

	for (i = 0; i < VB_UNITS_PER_PAGE; i++)
		vb->pfns[at + i] = cpu_to_virtio32(vb->vdev, pfn + i);
}

/* Take up to @units from the guest; returns how many were taken. */
static unsigned int vb_inflate(struct vmdense_balloon *vb, unsigned int units)
{
	gfp_t gfp = GFP_HIGHUSER | __GFP_NORETRY | __GFP_NOWARN |
		    __GFP_NOMEMALLOC;
	unsigned int n = 0, max = min_t(unsigned int, units, VB_PFNS_PER_MSG);
	struct page *page;

	mutex_lock(&vb->lock);
	for (; n + VB_UNITS_PER_PAGE <= max; n += VB_UNITS_PER_PAGE) {
		page = alloc_page(gfp);
		if (!page)
			break;
		vb_add_pfns(vb, n, page);
		list_add(&page->lru, &vb->pages);
		vb->num_pages += VB_UNITS_PER_PAGE;
		if (!vb_oom_deflates(vb))
			adjust_managed_page_count(page, -1);
	}
	if (n)
		vb_tell_host(vb, vb->inflate_vq, n);
	mutex_unlock(&vb->lock);
	return n;
}

/*
 * Give up to @units back. The host hears of them before the pages are
 * freed, as MUST_TELL_HOST asks.
 */
static unsigned int vb_deflate(struct vmdense_balloon *vb, unsigned int units)
{
	unsigned int n = 0, max = min_t(unsigned int, units, VB_PFNS_PER_MSG);
	struct page *page, *next;
	LIST_HEAD(out);

	mutex_lock(&vb->lock);
	for (; n + VB_UNITS_PER_PAGE <= max && !list_empty(&vb->pages);
	     n += VB_UNITS_PER_PAGE) {
		page = list_first_entry(&vb->pages, struct page, lru);
		list_move(&page->lru, &out);
		vb_add_pfns(vb, n, page);
		vb->num_pages -= VB_UNITS_PER_PAGE;
	}
	if (n)
		vb_tell_host(vb, vb->deflate_vq, n);
	mutex_unlock(&vb->lock);

	list_for_each_entry_safe(page, next, &out, lru) {
		list_del(&page->lru);
		if (!vb_oom_deflates(vb))
			adjust_managed_page_count(page, 1);
		__free_page(page);
	}
	return n;
}

static void vb_update_actual(struct vmdense_balloon *vb)
{
	u32 actual = READ_ONCE(vb->num_pages);

	virtio_cwrite_le(vb->vdev, struct virtio_balloon_config, actual,
			 &actual);
}

static long vb_distance(struct vmdense_balloon *vb)
{
	u32 target;

	virtio_cread_le(vb->vdev, struct virtio_balloon_config, num_pages,
			&target);
	/* a whole number of our pages */
	target = ALIGN(target, VB_UNITS_PER_PAGE);
	return (long)target - (long)READ_ONCE(vb->num_pages);
}

/*
 * One step towards the target per run; requeued while there is progress,
 * so that a config change or removal is seen between steps.
 */
void vb_resize_work(struct work_struct *work)
{
	struct vmdense_balloon *vb = container_of(work, struct vmdense_balloon,
						  resize_work);
	long diff = vb_distance(vb);
	unsigned int done = 0;

	if (diff > 0)
		done = vb_inflate(vb, diff);
	else if (diff < 0)
		done = vb_deflate(vb, -diff);
	vb_update_actual(vb);
	if (!diff)
		return;
	/* out of memory for now: try again a little later, not in a loop */
	if (!done)
		msleep(200);
	vb_queue(vb, work);
}

/* Called by the OOM killer before it picks a victim. */
static int vb_oom_notify(struct notifier_block *nb, unsigned long unused,
			 void *parm)
{
	struct vmdense_balloon *vb = container_of(nb, struct vmdense_balloon,
						  oom_nb);
	unsigned long *freed = parm;
	unsigned int units;

	units = vb_deflate(vb, VB_OOM_PAGES * VB_UNITS_PER_PAGE);
	*freed += units / VB_UNITS_PER_PAGE;
	vb_update_actual(vb);
	return NOTIFY_OK;
}

int vb_inflate_init(struct vmdense_balloon *vb)
{
	if (!vb_oom_deflates(vb))
		return 0;
	vb->oom_nb.notifier_call = vb_oom_notify;
	vb->oom_nb.priority = 80;
	return register_oom_notifier(&vb->oom_nb);
}

void vb_inflate_exit(struct vmdense_balloon *vb)
{
	if (vb_oom_deflates(vb))
		unregister_oom_notifier(&vb->oom_nb);
	while (vb->num_pages)
		if (!vb_deflate(vb, vb->num_pages))
			break;
	vb_update_actual(vb);
}
