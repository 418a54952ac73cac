// SPDX-License-Identifier: GPL-2.0
/*
 * Known-zero tracking: memory the host guarantees to be zero is not
 * cleared again by the allocator. A driver that knows such a guarantee
 * (Hyper-V's boot-zeroed memory) calls hinting_known_zero_begin() before
 * asking the host, then hinting_known_zero_add() for each range the host
 * named. The allocation hook (patches/0002) consumes the state; the rules
 * that keep it safe are in kz_map.c.
 */
#include <linux/export.h>
#include <linux/hinting.h>
#include <linux/memblock.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>

#include "hinting_internal.h"
#include "known_zero.h"

DEFINE_STATIC_KEY_FALSE(hinting_known_zero_key);

static struct kz_map kz;
static DEFINE_MUTEX(kz_lock);
static bool kz_begun;

/*
 * With skip_zeroing off the state is still consumed, so that turning it
 * back on can never trust a page allocated meanwhile; the pages are
 * cleared and counted as done (and those that were known-zero as
 * done_zero). This is what makes a with/without comparison in one boot
 * possible.
 */
bool hinting_known_zero_alloc(struct page *page, unsigned int order, bool init)
{
	return kz_take(&kz, page_to_pfn(page), 1UL << order, init,
		       READ_ONCE(hinting_knobs.skip_zeroing));
}

unsigned long hinting_zeroing_skipped(void)
{
	return atomic_long_read(&kz.skipped);
}

unsigned long hinting_zeroing_done(void)
{
	return atomic_long_read(&kz.done);
}

unsigned long hinting_zeroing_done_known_zero(void)
{
	return atomic_long_read(&kz.done_zero);
}

unsigned long hinting_known_zero_marked(void)
{
	return atomic_long_read(&kz.marked);
}

/* Offlined memory may come back with other contents: forget it. */
static int kz_memory_cb(struct notifier_block *nb, unsigned long action,
			void *arg)
{
	struct memory_notify *mn = arg;

	if (action == MEM_GOING_OFFLINE || action == MEM_OFFLINE)
		kz_forget(&kz, mn->start_pfn, mn->nr_pages);
	return NOTIFY_OK;
}

static struct notifier_block kz_memory_nb = {
	.notifier_call = kz_memory_cb,
};

/*
 * Mark every block now on a free list pristine. The zone lock keeps each
 * block on its list while we mark it, so its later allocation (which runs
 * the hook after the block left the list) sees the bits and clears them.
 */
static void kz_mark_free_blocks(void)
{
	struct zone *zone;
	struct page *page;
	unsigned int order, mt;
	unsigned long flags;

	for_each_populated_zone(zone) {
		spin_lock_irqsave(&zone->lock, flags);
		for_each_migratetype_order(order, mt) {
			list_for_each_entry(page,
					    &zone->free_area[order].free_list[mt],
					    buddy_list)
				kz_mark_pristine(&kz, page_to_pfn(page),
						 1UL << order);
		}
		spin_unlock_irqrestore(&zone->lock, flags);
		cond_resched();
	}
}

/*
 * Start tracking. Only once per boot: a second start would mark pages
 * pristine that earlier host ranges already called zero, although they may
 * have been written in between. Call before asking the host for ranges.
 */
int hinting_known_zero_begin(void)
{
	unsigned long words = BITS_TO_LONGS(max_pfn);
	int ret = 0;

	mutex_lock(&kz_lock);
	if (kz_begun) {
		ret = -EALREADY;
		goto out;
	}
	/* poisoning writes free pages: nothing free stays zero */
	if (page_poisoning_enabled_static() || want_init_on_free()) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	kz.pristine = vzalloc(words * sizeof(long));
	kz.zero = vzalloc(words * sizeof(long));
	if (!kz.pristine || !kz.zero) {
		vfree(kz.pristine);
		vfree(kz.zero);
		kz.pristine = NULL;
		kz.zero = NULL;
		ret = -ENOMEM;
		goto out;
	}
	ret = register_memory_notifier(&kz_memory_nb);
	if (ret)
		goto out;
	/* publish the map before the hook may look at it */
	smp_store_release(&kz.nr_pfns, max_pfn);
	static_branch_enable(&hinting_known_zero_key);
	kz_mark_free_blocks();
	kz_begun = true;
out:
	mutex_unlock(&kz_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(hinting_known_zero_begin);

/*
 * The host guarantees that pfns [@pfn, @pfn + @nr) read zero now. Returns
 * how many of them became known-zero (those still pristine).
 */
unsigned long hinting_known_zero_add(unsigned long pfn, unsigned long nr)
{
	unsigned long n;

	mutex_lock(&kz_lock);
	n = kz_begun ? kz_add_zero(&kz, pfn, nr) : 0;
	mutex_unlock(&kz_lock);
	return n;
}
EXPORT_SYMBOL_GPL(hinting_known_zero_add);
