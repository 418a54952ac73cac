// SPDX-License-Identifier: GPL-2.0
/*
 * What reporting costs where memory churns, and the hold that avoids it.
 *
 * A reported block allocated again soon after saved nothing: it costs the
 * guest a refault and the host a clearing. The allocation hook counts
 * reported pages as they are allocated again, and how long after their
 * report: a bit per page, set when its block was reported and cleared by
 * its next allocation, and the report time of each pageblock.
 *
 * Each zone has a hold: blocks freed more recently than that wait in the
 * worker, and one allocated again meanwhile is never reported (it counts
 * as saved). Once a second the worker weighs the zone's churn: pages
 * allocated again within 1 s of their report, plus pages saved by the
 * hold, against all it reported or saved. Above churn_pct the hold
 * doubles (up to hold_max_ms); below half of it, or in a second with no
 * churn at all, it halves. Memory that stays free is then returned as
 * fast as ever, and where the churn stops the hold melts within seconds.
 */
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/hinting.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/vmalloc.h>
#include <kunit/visibility.h>

#include "hinting_internal.h"

struct hinting_churn {
	atomic_long_t reported;	/* pages reported since the last weighing */
	atomic_long_t fast;	/* reported pages allocated within 1 s */
	atomic_long_t saved;	/* held pages allocated before their report */
	unsigned long load;	/* decaying sums: reported + saved */
	unsigned long churn;	/*		   fast + saved */
	unsigned long hold;	/* jiffies */
};

static struct hinting_churn hinting_churn[MAX_NUMNODES][MAX_NR_ZONES];
static unsigned long hinting_weighed;	/* jiffies of the last weighing */

/* a bit per pfn below rep_nr: reported, not allocated since */
static unsigned long *rep_bits;
/* per pageblock: when a block in it was last reported (ms, wraps) */
static u32 *rep_stamp;
static unsigned long rep_nr;
static atomic_long_t realloc_bucket[HINTING_REALLOC_BUCKETS];
static atomic_long_t saved_total;

static struct hinting_churn *churn_of(struct zone *zone)
{
	return &hinting_churn[zone_to_nid(zone)][zone_idx(zone)];
}

/*
 * Called with hinting_lock held as the first consumer registers. The
 * pfns tracked are those below max_pfn now; memory added later goes
 * uncounted.
 */
int hinting_track_init(void)
{
	unsigned long nr = READ_ONCE(max_pfn);
	unsigned long *bits;
	u32 *stamp;

	if (rep_nr)
		return 0;
	bits = vzalloc(BITS_TO_LONGS(nr) * sizeof(long));
	stamp = vzalloc(DIV_ROUND_UP(nr, pageblock_nr_pages) * sizeof(u32));
	if (!bits || !stamp) {
		vfree(bits);
		vfree(stamp);
		return -ENOMEM;
	}
	rep_bits = bits;
	rep_stamp = stamp;
	hinting_weighed = jiffies;
	/* publish the maps before the hook may look at them */
	smp_store_release(&rep_nr, nr);
	static_branch_inc(&hinting_alloc_key);
	return 0;
}

static u32 now_ms(void)
{
	return jiffies_to_msecs(jiffies);
}

/* The worker reported the block at @pfn: its pages count from now. */
void hinting_track_reported(unsigned long pfn, unsigned int order)
{
	unsigned long end = min(pfn + (1UL << order), rep_nr), w, pb;
	u32 now = now_ms();

	if (pfn >= end)
		return;
	for (pb = pfn / pageblock_nr_pages;
	     pb <= (end - 1) / pageblock_nr_pages; pb++)
		WRITE_ONCE(rep_stamp[pb], now);
	for (w = BIT_WORD(pfn); w <= BIT_WORD(end - 1); w++)
		atomic_long_or(BITMAP_FIRST_WORD_MASK(max(pfn, w * BITS_PER_LONG))
			       & BITMAP_LAST_WORD_MASK(min(end, (w + 1) *
							       BITS_PER_LONG)),
			       (atomic_long_t *)&rep_bits[w]);
	atomic_long_add(end - pfn, &churn_of(page_zone(pfn_to_page(pfn)))->reported);
}

/*
 * The allocation hook: pages of a reported block allocated again. Most
 * allocations find no bit set and cost a read per word.
 */
void hinting_track_alloc(struct page *page, unsigned int order)
{
	/* pairs with the smp_store_release() of rep_nr in hinting_track_init() */
	unsigned long nr = smp_load_acquire(&rep_nr), pfn = page_to_pfn(page);
	unsigned long end, w, mask, n = 0;
	unsigned int bucket;
	u32 age;

	if (pfn >= nr)
		return;
	end = min(pfn + (1UL << order), nr);
	for (w = BIT_WORD(pfn); w <= BIT_WORD(end - 1); w++) {
		mask = BITMAP_FIRST_WORD_MASK(max(pfn, w * BITS_PER_LONG)) &
		       BITMAP_LAST_WORD_MASK(min(end, (w + 1) * BITS_PER_LONG));
		if (!(READ_ONCE(rep_bits[w]) & mask))
			continue;
		n += hweight_long(mask & atomic_long_fetch_andnot(mask,
					(atomic_long_t *)&rep_bits[w]));
	}
	if (!n)
		return;
	age = now_ms() - READ_ONCE(rep_stamp[pfn / pageblock_nr_pages]);
	bucket = age < 100 ? 0 : age < 1000 ? 1 : age < 10000 ? 2 : 3;
	atomic_long_add(n, &realloc_bucket[bucket]);
	if (age < 1000)
		atomic_long_add(n, &churn_of(page_zone(page))->fast);
}

/* A block the worker held in @zone was allocated before its report. */
void hinting_track_saved(struct zone *zone, unsigned int order)
{
	atomic_long_add(1UL << order, &churn_of(zone)->saved);
	atomic_long_add(1UL << order, &saved_total);
}

unsigned long hinting_saved_pages(void)
{
	return atomic_long_read(&saved_total);
}

#if IS_ENABLED(CONFIG_KUNIT)
/* KUnit: a zone's hold, as if it had been weighed so */
void hinting_test_set_hold(struct zone *zone, unsigned long hold)
{
	WRITE_ONCE(churn_of(zone)->hold, hold);
}
EXPORT_SYMBOL_IF_KUNIT(hinting_test_set_hold);
#endif

unsigned long hinting_hold(struct zone *zone)
{
	return READ_ONCE(hinting_knobs.adaptive) ?
		READ_ONCE(churn_of(zone)->hold) : 0;
}

/* The longest hold of any zone now, in ms: 0 while adaptive is off. */
unsigned long hinting_hold_max_now(void)
{
	unsigned long most = 0;
	struct zone *zone;

	for_each_populated_zone(zone)
		most = max(most, hinting_hold(zone));
	return jiffies_to_msecs(most);
}

/*
 * The total is the buckets' sum, not a counter of its own: a reader of
 * the buckets before and after the total sees it between their sums.
 */
void hinting_realloc_totals(unsigned long *total, unsigned long *bucket)
{
	unsigned int i;

	*total = 0;
	for (i = 0; i < HINTING_REALLOC_BUCKETS; i++) {
		bucket[i] = atomic_long_read(&realloc_bucket[i]);
		*total += bucket[i];
	}
}

/* One zone's weighing after @secs seconds (at least one). */
static void hinting_weigh(struct hinting_churn *c, unsigned int secs,
			  unsigned long max, unsigned int pct)
{
	unsigned long rep = atomic_long_xchg(&c->reported, 0);
	unsigned long fast = atomic_long_xchg(&c->fast, 0);
	unsigned long saved = atomic_long_xchg(&c->saved, 0);
	unsigned int shift = min(secs, (unsigned int)BITS_PER_LONG - 1);
	unsigned long hold = c->hold;

	/* sums over the last seconds, each second's weight halving */
	c->load = (c->load >> shift) + rep + saved;
	c->churn = (c->churn >> shift) + fast + saved;
	if (!fast && !saved)
		hold >>= shift;
	else if (c->churn * 100 > c->load * pct)
		hold = max(2 * hold, (unsigned long)HZ / 4);
	else if (c->churn * 200 < c->load * pct)
		hold /= 2;
	hold = min(hold, max);
	/* a hold shorter than a worker pass holds nothing */
	WRITE_ONCE(c->hold, hold < HZ / 20 ? 0 : hold);
}

/* Once a second, from the worker (hinting_lock held). */
void hinting_adapt(void)
{
	unsigned long now = jiffies, max;
	unsigned int secs, pct;
	struct zone *zone;

	if (time_before(now, hinting_weighed + HZ))
		return;
	secs = (now - hinting_weighed) / HZ;
	hinting_weighed = now;
	max = msecs_to_jiffies(READ_ONCE(hinting_knobs.hold_max_ms));
	pct = READ_ONCE(hinting_knobs.churn_pct);
	for_each_populated_zone(zone)
		hinting_weigh(churn_of(zone), secs, max, pct);
}
