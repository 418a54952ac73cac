// SPDX-License-Identifier: GPL-2.0
/*
 * The statistics queue: the driver keeps one buffer of statistics with
 * the host; each time the host takes it (to read it) we refill it with
 * fresh values and hand it back.
 */
#include <linux/mm.h>
#include <linux/swap.h>
#include <linux/vmstat.h>
#include <linux/virtio_config.h>

#include "balloon.h"

static unsigned int vb_set_stat(struct vmdense_balloon *vb, unsigned int i,
				u16 tag, u64 val)
{
	vb->stats[i].tag = cpu_to_virtio16(vb->vdev, tag);
	vb->stats[i].val = cpu_to_virtio64(vb->vdev, val);
	return i + 1;
}

static unsigned int vb_fill_stats(struct vmdense_balloon *vb)
{
	struct sysinfo si;
	unsigned int n = 0;

	si_meminfo(&si);
	n = vb_set_stat(vb, n, VIRTIO_BALLOON_S_MEMFREE,
			(u64)si.freeram << PAGE_SHIFT);
	n = vb_set_stat(vb, n, VIRTIO_BALLOON_S_MEMTOT,
			(u64)si.totalram << PAGE_SHIFT);
	n = vb_set_stat(vb, n, VIRTIO_BALLOON_S_AVAIL,
			(u64)si_mem_available() << PAGE_SHIFT);
	n = vb_set_stat(vb, n, VIRTIO_BALLOON_S_CACHES,
			(u64)global_node_page_state(NR_FILE_PAGES)
			<< PAGE_SHIFT);
	return n;
}

static void vb_stats_give(struct vmdense_balloon *vb)
{
	struct scatterlist sg;
	unsigned int n = vb_fill_stats(vb);

	sg_init_one(&sg, vb->stats, sizeof(vb->stats[0]) * n);
	if (!virtqueue_add_outbuf(vb->stats_vq, &sg, 1, vb, GFP_KERNEL))
		virtqueue_kick(vb->stats_vq);
}

void vb_stats_work(struct work_struct *work)
{
	struct vmdense_balloon *vb = container_of(work, struct vmdense_balloon,
						  stats_work);
	unsigned int len;

	/* only refill once the host has given our one buffer back */
	if (!virtqueue_get_buf(vb->stats_vq, &len))
		return;
	vb_stats_give(vb);
}

/* The protocol starts with the driver's first buffer. */
int vb_stats_init(struct vmdense_balloon *vb)
{
	if (!vb->stats_vq)
		return 0;
	vb_stats_give(vb);
	return 0;
}
