// SPDX-License-Identifier: GPL-2.0
/*
 * Free memory for drivers that ask the host to back it before it is used
 * (Hyper-V hot hints): runs of free memory of a node, and keeping blocks
 * the host just backed from being reported. A pageblock-aligned
 * free buddy block of at least pageblock order is found by looking at the
 * first page of each pageblock, so the walk reads one struct page per
 * 2 MiB rather than the free lists, whose order would not survive
 * dropping the lock between chunks.
 */
#include <linux/export.h>
#include <linux/hinting.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/sched.h>

#include "internal.h"	/* mm/internal.h: buddy_order() */
#include "hinting_internal.h"

/* pageblocks looked at per zone lock hold: 256 MiB of 2 MiB blocks */
#define WALK_CHUNK	128

struct free_run {
	unsigned long pfn, nr;
};

/*
 * Free runs in [@pfn, @end) of @zone (pageblock aligned), merged where
 * adjacent, at most @room of them. Returns the count; *@next is where
 * the next chunk starts.
 */
static unsigned int walk_chunk(struct zone *zone, unsigned long pfn,
			       unsigned long end, struct free_run *runs,
			       unsigned int room, unsigned long *next)
{
	unsigned long flags, stop = min(end, pfn + WALK_CHUNK *
					pageblock_nr_pages);
	unsigned int n = 0;

	spin_lock_irqsave(&zone->lock, flags);
	while (pfn < stop && n < room) {
		struct page *page = pfn_to_online_page(pfn);
		unsigned long len = pageblock_nr_pages;

		if (page && page_zone(page) == zone && PageBuddy(page) &&
		    buddy_order(page) >= pageblock_order) {
			len = 1UL << buddy_order(page);
			if (n && runs[n - 1].pfn + runs[n - 1].nr == pfn)
				runs[n - 1].nr += len;
			else
				runs[n++] = (struct free_run){ pfn, len };
		}
		pfn += len;
	}
	spin_unlock_irqrestore(&zone->lock, flags);
	*next = pfn;
	return n;
}

int hinting_walk_free(int nid, hinting_range_fn fn, void *arg)
{
	struct free_run runs[16];
	struct zone *zone;
	unsigned int i, n;
	unsigned long pfn, end;
	int ret;

	if (nid < 0 || nid >= MAX_NUMNODES || !node_online(nid))
		return -EINVAL;
	for (zone = NODE_DATA(nid)->node_zones;
	     zone < NODE_DATA(nid)->node_zones + MAX_NR_ZONES; zone++) {
		if (!populated_zone(zone))
			continue;
		pfn = pageblock_align(zone->zone_start_pfn);
		end = zone_end_pfn(zone);
		while (pfn < end) {
			n = walk_chunk(zone, pfn, end, runs, ARRAY_SIZE(runs),
				       &pfn);
			for (i = 0; i < n; i++) {
				ret = fn(runs[i].pfn, min(runs[i].nr,
							  end - runs[i].pfn),
					 arg);
				if (ret)
					return ret;
			}
			cond_resched();
		}
	}
	return 0;
}
EXPORT_SYMBOL_GPL(hinting_walk_free);

/* pfns looked at per zone lock hold by hinting_keep() */
#define KEEP_CHUNK	4096

void hinting_keep(unsigned long pfn, unsigned long nr)
{
	unsigned long end = pfn + nr, stop, flags;
	struct page *page;
	struct zone *zone;

	/* PG_reported of free pages is cleared on allocation from now on */
	static_branch_enable(&hinting_reported_key);
	while (pfn < end) {
		page = pfn_to_online_page(pfn);
		if (!page) {
			pfn++;
			continue;
		}
		zone = page_zone(page);
		stop = min(end, pfn + KEEP_CHUNK);
		spin_lock_irqsave(&zone->lock, flags);
		while (pfn < stop) {
			unsigned long len = 1;

			page = pfn_to_online_page(pfn);
			if (page && page_zone(page) == zone && PageBuddy(page)) {
				len = 1UL << buddy_order(page);
				if (pfn + len <= end)
					__SetPageReported(page);
			}
			pfn += len;
		}
		spin_unlock_irqrestore(&zone->lock, flags);
		cond_resched();
	}
}
EXPORT_SYMBOL_GPL(hinting_keep);
