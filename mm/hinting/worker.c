// SPDX-License-Identifier: GPL-2.0
/*
 * The worker: drains the capture arrays, sorts the entries by zone and
 * pfn, isolates still-free blocks taking each zone lock once per batch,
 * hands each batch to the consumer and returns the blocks to the buddy
 * allocator.
 *
 * The memory hotplug lock is held while zones are looked up and blocks
 * isolated, not while the host answers: offlining a range that holds an
 * isolated block waits for it (the block is neither free nor movable, so
 * test_pages_isolated() fails until we put it back), and a host that
 * never answers must not stall hotplug for good.
 */
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <linux/page-isolation.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
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
/* hinting_worker_init() succeeded: consumers may register */
bool hinting_ready;
/* reports failed in a row: the worker backs off from the consumer */
static unsigned int hinting_fail_streak;
/* what the last pass left waiting (jiffies until it is due, 0: none) */
static unsigned long hinting_wait;

/*
 * The batch being reported, and the run being isolated; only the worker
 * (under hinting_lock) uses them.
 */
static struct hinting_entry hinting_batch[HINTING_MAX_BATCH];
static struct hinting_entry hinting_run_buf[HINTING_MAX_BATCH];
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

enum hinting_verdict { HINTING_TAKEN, HINTING_STALE, HINTING_GUARDED };

/*
 * Is the entry still what was captured: a free buddy block of that order
 * in that zone, not reported since, not in a pageblock someone isolates
 * (offlining, contiguous allocation)? Then take it off the free lists,
 * unless that would leave the zone's free pages below @floor: reporting
 * never takes memory a small or busy guest is about to need (the same
 * guard as page_reporting's). The zone lock is held.
 */
static enum hinting_verdict hinting_take(struct zone *zone,
					 const struct hinting_entry *e,
					 unsigned long floor)
{
	struct page *page = pfn_to_online_page(e->pfn);

	if (!page || page_zone(page) != zone)
		return HINTING_STALE;
	if (!PageBuddy(page) || buddy_order(page) != e->order ||
	    PageReported(page))
		return HINTING_STALE;
	if (is_migrate_isolate(get_pageblock_migratetype(page)))
		return HINTING_STALE;
	if (!zone_watermark_ok(zone, 0, floor + (1UL << e->order), 0,
			       ALLOC_CMA))
		return HINTING_GUARDED;
	/* refuses when the zone is near its min watermark */
	if (!__isolate_free_page(page, e->order))
		return HINTING_GUARDED;
	hinting_known_zero_isolated(e->pfn, e->order);
	return HINTING_TAKEN;
}

/*
 * Isolate a run of one zone under one lock; the taken go to @out, those
 * the watermark guard left go to @keep (for a later pass). Returns how
 * many were taken.
 */
static unsigned int hinting_isolate_run(const struct hinting_entry *run,
					unsigned int n, struct hinting_entry *out,
					struct hinting_entry *keep,
					unsigned int *kept)
{
	struct zone *zone = run[0].zone;
	unsigned long flags, pages, floor;
	unsigned int i, taken = 0, guarded = 0;
	u64 t0;

	/*
	 * The low watermark plus a batch of pageblocks (smaller blocks
	 * merge into those as they are freed): what page_reporting keeps.
	 */
	floor = low_wmark_pages(zone) +
		((unsigned long)READ_ONCE(hinting_knobs.report_batch) <<
		 max_t(unsigned int, READ_ONCE(hinting_knobs.min_order),
		       pageblock_order));
	spin_lock_irqsave(&zone->lock, flags);
	t0 = local_clock();
	for (i = 0; i < n; i++) {
		switch (hinting_take(zone, &run[i], floor)) {
		case HINTING_TAKEN:
			out[taken++] = run[i];
			break;
		case HINTING_GUARDED:
			keep[(*kept)++] = run[i];
			guarded++;
			break;
		case HINTING_STALE:
			/* allocated while it waited out a hold: churn */
			if (run[i].held)
				hinting_track_saved(zone, run[i].order);
			break;
		}
	}
	atomic64_add(local_clock() - t0, &hinting_stats.lock_hold_ns);
	spin_unlock_irqrestore(&zone->lock, flags);

	pages = hinting_pages(out, taken);
	atomic_long_inc(&hinting_stats.zone_lock_acquisitions);
	atomic_long_add(n - taken - guarded, &hinting_stats.stale);
	atomic_long_add(guarded, &hinting_stats.guarded);
	atomic_long_add(pages, &hinting_stats.isolated);
	trace_hinting_batch(zone, n, taken, pages);
	if (guarded)
		hinting_wait = hinting_wait ? min_t(unsigned long, hinting_wait, HZ)
					      : HZ;
	return taken;
}

/*
 * Give the batch back to the buddy allocator, zone by zone. A block that
 * merged with a free neighbour on the way back is not the block that was
 * reported, so only one still standing alone is marked. A block whose
 * report failed is captured again, merged or not.
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
			if (!reported)
				hinting_capture_block(page, b[i].order);
			else if (PageBuddy(page) &&
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
	if (err) {
		atomic_long_add(pages, &hinting_stats.failed);
		hinting_fail_streak++;
	} else {
		atomic_long_add(pages, &hinting_stats.reported_pages);
		hinting_fail_streak = 0;
		for (i = 0; i < n; i++)
			hinting_track_reported(b[i].pfn, b[i].order);
	}
	hinting_putback(b, n, !err);
}

/*
 * Entries younger than their zone's hold (adapt.c) wait in @keep: memory
 * that churns is often allocated again within that time, and then costs
 * nothing. Returns true when @e waits.
 */
static bool hinting_young(const struct hinting_entry *e, unsigned long hold)
{
	unsigned long age = jiffies - e->when;

	if (!hold || age >= hold)
		return false;
	hinting_wait = hinting_wait ? min(hinting_wait, hold - age) :
				      hold - age;
	return true;
}

/*
 * Report what is still free of @e[0..n). Returns how many entries wait
 * for a later pass (young in a zone that holds back, or left by the
 * watermark guard); they are moved to the front of @e, each written no
 * further than it was read.
 */
static unsigned int hinting_process(struct hinting_consumer *hc,
				    struct hinting_entry *e, unsigned int n)
{
	unsigned int cap, i, j, m = 0, k, taken, end, kept = 0, held = 0;

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
			unsigned long hold = hinting_hold(e[i].zone);

			end = hinting_batch_end(e, i, m, cap - taken);
			/* the young wait, without costing a zone lock */
			for (k = 0, j = i; j < end; j++) {
				if (hinting_young(&e[j], hold)) {
					e[j].held = true;
					e[kept++] = e[j];
					held++;
				} else {
					hinting_run_buf[k++] = e[j];
				}
			}
			i = end;
			if (k)
				taken += hinting_isolate_run(hinting_run_buf, k,
							     hinting_batch + taken,
							     e, &kept);
		}
		put_online_mems();
		if (taken)
			hinting_report(hc, hinting_batch, taken);
		cond_resched();
	}
	atomic_long_add(held, &hinting_stats.held);
	return kept;
}

/* free list entries looked at per list under one zone lock hold */
#define HINTING_SEED_VISIT	1024

/*
 * Blocks that were free before the consumer registered were never
 * captured. Take them from the free lists once, as far as the buffer
 * holds them; the worker checks them like any captured entry. At most
 * HINTING_SEED_VISIT entries of a list are looked at, the zone lock is
 * dropped between lists: a long list of reported blocks must not keep
 * interrupts off for long. What is left out is reported once freed again.
 */
void hinting_seed(void)
{
	unsigned int order, mt, visited, min_order;
	struct hinting_entry *e;
	unsigned long flags;
	struct zone *zone;
	struct page *page;

	lockdep_assert_held(&hinting_lock);
	min_order = READ_ONCE(hinting_knobs.min_order);
	for_each_populated_zone(zone) {
		for (order = min_order; order < NR_PAGE_ORDERS; order++) {
			for (mt = 0; mt < MIGRATE_TYPES; mt++) {
				struct list_head *list =
					&zone->free_area[order].free_list[mt];

				if (is_migrate_isolate(mt))
					continue;
				visited = 0;
				spin_lock_irqsave(&zone->lock, flags);
				list_for_each_entry(page, list, buddy_list) {
					if (hinting_carry == hinting_buf_size ||
					    ++visited > HINTING_SEED_VISIT)
						break;
					if (PageReported(page))
						continue;
					e = &hinting_buf[hinting_carry++];
					e->pfn = page_to_pfn(page);
					e->order = order;
					/* old enough for any hold */
					e->when = jiffies - 3600 * HZ;
					e->held = false;
					e->zone = NULL;
				}
				spin_unlock_irqrestore(&zone->lock, flags);
				cond_resched();
			}
		}
	}
}

/* One pass; the work item runs it, and KUnit calls it directly. */
void hinting_run(void)
{
	struct hinting_consumer *hc;
	unsigned long wait = 0;
	unsigned int n;

	mutex_lock(&hinting_lock);
	hinting_kick_reset();
	n = hinting_carry + hinting_drain_all(hinting_buf + hinting_carry,
					      hinting_buf_size - hinting_carry);
	hc = hinting_consumer;
	hinting_wait = 0;
	if (!hc || !READ_ONCE(hinting_knobs.enabled)) {
		hinting_carry = 0;
	} else if (hinting_pages(hinting_buf, n) <
		   READ_ONCE(hinting_knobs.report_threshold) &&
		   n < hinting_buf_size) {
		/* a full buffer goes, whatever the threshold */
		hinting_carry = n;
	} else {
		hinting_adapt();
		hinting_carry = hinting_process(hc, hinting_buf, n);
		wait = hinting_wait;
		/* a consumer that fails is retried ever more slowly */
		if (hinting_fail_streak) {
			unsigned long retry;

			retry = msecs_to_jiffies(READ_ONCE(hinting_knobs.delay_ms)) <<
				min(hinting_fail_streak, 10U);
			wait = max(wait, min_t(unsigned long, retry, 10 * HZ));
		}
	}
	mutex_unlock(&hinting_lock);
	if (wait)
		hinting_kick_after(wait);
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

#if IS_ENABLED(CONFIG_KUNIT)
/* KUnit: fill the carry with made-up entries that can only be stale. */
unsigned long hinting_test_fill_carry(void)
{
	unsigned int i;

	mutex_lock(&hinting_lock);
	for (i = 0; i < hinting_buf_size; i++)
		hinting_buf[i] = (struct hinting_entry){ .pfn = 0, .order = 0,
			.when = jiffies - 3600 * HZ };
	hinting_carry = hinting_buf_size;
	mutex_unlock(&hinting_lock);
	return hinting_buf_size;
}
EXPORT_SYMBOL_IF_KUNIT(hinting_test_fill_carry);
#endif

int hinting_worker_init(void)
{
	hinting_buf_size = nr_cpu_ids * HINTING_PCP_SLOTS;
	hinting_buf = kvmalloc_array(hinting_buf_size, sizeof(*hinting_buf),
				     GFP_KERNEL);
	return hinting_buf ? 0 : -ENOMEM;
}
