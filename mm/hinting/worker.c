// SPDX-License-Identifier: GPL-2.0
/*
 * The worker: drains the capture arrays, sorts the entries by zone and
 * pfn, isolates still-free blocks taking each zone lock once per batch,
 * hands each batch to the consumer and returns the blocks to the buddy
 * allocator.
 *
 * A whole batch (isolate, report, put back) runs inside get_online_mems():
 * memory offlining waits for the batch instead of finding blocks that are
 * neither free nor allocated, and no entry can point into memory that
 * disappears while we look at it.
 */
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <linux/page-isolation.h>
#include <linux/sched.h>
#include <linux/sched/cputime.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/workqueue.h>

#include "internal.h"	/* mm/internal.h */
#include <linux/export.h>
#include <kunit/visibility.h>

#include "hinting_internal.h"
#include "hinting_trace.h"

static void hinting_work_fn(struct work_struct *work);
DECLARE_DELAYED_WORK(hinting_work, hinting_work_fn);

/*
 * Entries drained but not yet processed: below report_threshold they wait
 * here for more to arrive instead of costing a report each.
 */
static struct hinting_entry *hinting_buf;
static unsigned int hinting_buf_size;
static unsigned int hinting_carry;

/* The batch being reported; only the worker (under hinting_lock) uses it. */
static struct hinting_entry hinting_batch[HINTING_MAX_BATCH];
static struct scatterlist hinting_sgl[HINTING_MAX_BATCH];

static int hinting_cmp(const void *a, const void *b)
{
	const struct hinting_entry *x = a, *y = b;

	if (x->zone != y->zone)
		return x->zone < y->zone ? -1 : 1;
	if (x->pfn != y->pfn)
		return x->pfn < y->pfn ? -1 : 1;
	return 0;
}

/* Zone first, so that each zone's entries are one run under one lock. */
void hinting_sort(struct hinting_entry *e, unsigned int n)
{
	sort(e, n, sizeof(*e), hinting_cmp, NULL);
}
EXPORT_SYMBOL_IF_KUNIT(hinting_sort);

/* End of the run starting at @start: same zone, at most @batch entries. */
unsigned int hinting_batch_end(const struct hinting_entry *e,
			       unsigned int start, unsigned int n,
			       unsigned int batch)
{
	unsigned int end = start;

	while (end < n && end - start < batch && e[end].zone == e[start].zone)
		end++;
	return end;
}
EXPORT_SYMBOL_IF_KUNIT(hinting_batch_end);

unsigned long hinting_pages(const struct hinting_entry *e, unsigned int n)
{
	unsigned long pages = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		pages += 1UL << e[i].order;
	return pages;
}
EXPORT_SYMBOL_IF_KUNIT(hinting_pages);

/*
 * Is the entry still what was captured: a free buddy block of that order
 * in that zone, not reported since, not in a pageblock someone isolates
 * (offlining, contiguous allocation)? Then take it off the free lists.
 * The zone lock is held.
 */
static bool hinting_take(struct zone *zone, const struct hinting_entry *e)
{
	struct page *page = pfn_to_online_page(e->pfn);

	if (!page || page_zone(page) != zone)
		return false;
	if (!PageBuddy(page) || buddy_order(page) != e->order ||
	    PageReported(page))
		return false;
	if (is_migrate_isolate(get_pageblock_migratetype(page)))
		return false;
	/* refuses when the zone is near its min watermark */
	return __isolate_free_page(page, e->order) != 0;
}

/* Isolate a run of one zone under one lock; the taken go to @out. */
static unsigned int hinting_isolate_run(const struct hinting_entry *run,
					unsigned int n, struct hinting_entry *out)
{
	struct zone *zone = run[0].zone;
	unsigned long flags, pages;
	unsigned int i, taken = 0;

	spin_lock_irqsave(&zone->lock, flags);
	for (i = 0; i < n; i++)
		if (hinting_take(zone, &run[i]))
			out[taken++] = run[i];
	spin_unlock_irqrestore(&zone->lock, flags);

	pages = hinting_pages(out, taken);
	atomic_long_inc(&hinting_stats.zone_lock_acquisitions);
	atomic_long_add(n - taken, &hinting_stats.stale);
	atomic_long_add(pages, &hinting_stats.isolated);
	trace_hinting_batch(zone, n, taken, pages);
	return taken;
}

/*
 * Give the batch back to the buddy allocator, zone by zone. A block that
 * merged with a free neighbour on the way back is not the block that was
 * reported, so only one still standing alone is marked.
 */
static void hinting_putback(struct hinting_entry *b, unsigned int n,
			    bool reported)
{
	unsigned int i = 0, end;
	unsigned long flags;

	while (i < n) {
		struct zone *zone = b[i].zone;

		end = hinting_batch_end(b, i, n, n);
		spin_lock_irqsave(&zone->lock, flags);
		for (; i < end; i++) {
			struct page *page = pfn_to_page(b[i].pfn);

			__putback_isolated_page(page, b[i].order,
					get_pageblock_migratetype(page));
			if (reported && PageBuddy(page) &&
			    buddy_order(page) == b[i].order)
				__SetPageReported(page);
		}
		spin_unlock_irqrestore(&zone->lock, flags);
		atomic_long_inc(&hinting_stats.zone_lock_acquisitions);
	}
}

static void hinting_report(struct hinting_consumer *hc,
			   struct hinting_entry *b, unsigned int n)
{
	unsigned long pages = hinting_pages(b, n);
	unsigned int i;
	int err;

	sg_init_table(hinting_sgl, n);
	for (i = 0; i < n; i++)
		sg_set_page(&hinting_sgl[i], pfn_to_page(b[i].pfn),
			    PAGE_SIZE << b[i].order, 0);
	err = hc->report(hc, hinting_sgl, n);
	trace_hinting_report(n, pages, err);
	atomic_long_inc(&hinting_stats.batches);
	if (err)
		atomic_long_add(pages, &hinting_stats.failed);
	else
		atomic_long_add(pages, &hinting_stats.reported_pages);
	hinting_putback(b, n, !err);
}

static void hinting_process(struct hinting_consumer *hc,
			    struct hinting_entry *e, unsigned int n)
{
	unsigned int cap, i, m = 0, taken, end;

	cap = min3(READ_ONCE(hinting_knobs.report_batch), hc->capacity,
		   (unsigned int)HINTING_MAX_BATCH);
	cap = max(cap, 1U);

	/* Zones are only known for online memory; the rest is stale. */
	get_online_mems();
	for (i = 0; i < n; i++) {
		struct page *page = pfn_to_online_page(e[i].pfn);

		if (!page) {
			atomic_long_inc(&hinting_stats.stale);
			continue;
		}
		e[m] = e[i];
		e[m++].zone = page_zone(page);
	}
	put_online_mems();
	hinting_sort(e, m);

	i = 0;
	while (i < m) {
		/*
		 * A consumer leaving waits for one batch, not the pass; the
		 * rest stay free, unreported.
		 */
		if (atomic_read(&hinting_leaving))
			break;
		taken = 0;
		get_online_mems();
		while (i < m && taken < cap) {
			end = hinting_batch_end(e, i, m, cap - taken);
			taken += hinting_isolate_run(e + i, end - i,
						     hinting_batch + taken);
			i = end;
		}
		if (taken)
			hinting_report(hc, hinting_batch, taken);
		put_online_mems();
		cond_resched();
	}
}

/*
 * Blocks that were free before the consumer registered were never
 * captured. Take them from the free lists once, as far as the buffer
 * holds them; the worker checks them like any captured entry.
 */
void hinting_seed(void)
{
	unsigned int order, mt, min_order = READ_ONCE(hinting_knobs.min_order);
	struct hinting_entry *e;
	unsigned long flags;
	struct zone *zone;
	struct page *page;

	lockdep_assert_held(&hinting_lock);
	for_each_populated_zone(zone) {
		spin_lock_irqsave(&zone->lock, flags);
		for (order = min_order; order < NR_PAGE_ORDERS; order++) {
			for (mt = 0; mt < MIGRATE_TYPES; mt++) {
				struct list_head *list =
					&zone->free_area[order].free_list[mt];

				if (is_migrate_isolate(mt))
					continue;
				list_for_each_entry(page, list, buddy_list) {
					if (hinting_carry == hinting_buf_size)
						goto full;
					if (PageReported(page))
						continue;
					e = &hinting_buf[hinting_carry++];
					e->pfn = page_to_pfn(page);
					e->order = order;
					e->zone = NULL;
				}
			}
		}
full:
		spin_unlock_irqrestore(&zone->lock, flags);
	}
}

/* One pass; the work item runs it, and KUnit calls it directly. */
void hinting_run(void)
{
	struct hinting_consumer *hc;
	unsigned int n;

	mutex_lock(&hinting_lock);
	hinting_kick_reset();
	n = hinting_carry + hinting_drain_all(hinting_buf + hinting_carry,
					      hinting_buf_size - hinting_carry);
	hc = hinting_consumer;
	if (!hc || !READ_ONCE(hinting_knobs.enabled)) {
		hinting_carry = 0;
	} else if (hinting_pages(hinting_buf, n) <
		   READ_ONCE(hinting_knobs.report_threshold)) {
		hinting_carry = n;
	} else {
		hinting_carry = 0;
		hinting_process(hc, hinting_buf, n);
	}
	mutex_unlock(&hinting_lock);
}
EXPORT_SYMBOL_IF_KUNIT(hinting_run);

/*
 * The worker's cost to the guest is the CPU time it runs, not the time
 * it waits for the host: the runtime of this kworker across the run.
 */
static void hinting_work_fn(struct work_struct *work)
{
	u64 start = task_sched_runtime(current);

	hinting_run();
	atomic64_add(task_sched_runtime(current) - start,
		     &hinting_stats.worker_cpu_ns);
}

int hinting_worker_init(void)
{
	hinting_buf_size = nr_cpu_ids * HINTING_PCP_SLOTS;
	hinting_buf = kvmalloc_array(hinting_buf_size, sizeof(*hinting_buf),
				     GFP_KERNEL);
	return hinting_buf ? 0 : -ENOMEM;
}
