// SPDX-License-Identifier: GPL-2.0
/*
 * Known-zero tracking: memory the host guarantees to be zero is not
 * cleared again by the allocator. A driver that knows such a guarantee
 * (Hyper-V's boot-zeroed memory) calls hinting_known_zero_begin() before
 * asking the host, then hinting_known_zero_add() for each range the host
 * named. The allocation hook (patches/0002) consumes the state; the rules
 * that keep it safe are in kz_map.c.
 */
#include <linux/cc_platform.h>
#include <linux/export.h>
#include <linux/highmem.h>
#include <linux/hinting.h>
#include <linux/irq_work.h>
#include <linux/kasan.h>
#include <linux/memblock.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "hinting_internal.h"
#include "known_zero.h"

/* the allocation hook's key: known-zero tracking and adapt.c each hold it */
DEFINE_STATIC_KEY_FALSE(hinting_alloc_key);

static struct kz_map kz;
static DEFINE_MUTEX(kz_lock);
static bool kz_begun;
static atomic_long_t kz_refusals;

/* Every pristine page is gone: tracking holds the hook's key no more. */
static unsigned long kz_key_dropped;
static void kz_off_fn(struct work_struct *work)
{
	static_branch_dec(&hinting_alloc_key);
}

static DECLARE_WORK(kz_off_work, kz_off_fn);

/*
 * The allocation hook may run under a workqueue pool lock (debug objects
 * allocate under it): it queues the work from an irq_work instead.
 */
static void kz_off_kick(struct irq_work *w)
{
	schedule_work(&kz_off_work);
}

static DEFINE_IRQ_WORK(kz_off_irq_work, kz_off_kick);

/*
 * The allocation hook (patches/0002): reported pages allocated again
 * are counted (adapt.c), and the known-zero state of the pages is
 * consumed. With skip_zeroing off the state is still consumed, so that
 * turning it back on can never trust a page allocated meanwhile; the
 * pages are cleared and counted as done (and those that were known-zero
 * as done_zero). This is what makes a with/without comparison in one
 * boot possible.
 */
bool hinting_alloc(struct page *page, unsigned int order, bool init)
{
	unsigned long pfn = page_to_pfn(page);
	bool skip;

	hinting_track_alloc(page, order);
	/* published last by hinting_known_zero_begin() */
	if (!smp_load_acquire(&kz.nr_pfns))
		return false;
	skip = kz_take(&kz, pfn, 1UL << order, init,
		       READ_ONCE(hinting_knobs.skip_zeroing));
	if (kz_exhausted(&kz) && !test_and_set_bit(0, &kz_key_dropped))
		irq_work_queue(&kz_off_irq_work);
	return skip;
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

unsigned long hinting_known_zero_refusals(void)
{
	return atomic_long_read(&kz_refusals);
}

/*
 * A block isolated for a report: the host may give it back with other
 * contents unless the consumer promises zeros. The worker holds
 * hinting_lock, so the consumer stays.
 */
void hinting_known_zero_isolated(unsigned long pfn, unsigned int order)
{
	/* pairs with the smp_store_release() in hinting_known_zero_begin() */
	if (smp_load_acquire(&kz.nr_pfns) && hinting_consumer &&
	    !hinting_consumer->zero_on_discard)
		kz_forget(&kz, pfn, 1UL << order);
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
 * One list per lock hold, a word of bits per atomic: interrupts stay off
 * for one list's walk, not a zone's.
 */
static void kz_mark_free_blocks(void)
{
	struct zone *zone;
	struct page *page;
	unsigned int order, mt;
	unsigned long flags;

	for_each_populated_zone(zone) {
		for_each_migratetype_order(order, mt) {
			spin_lock_irqsave(&zone->lock, flags);
			list_for_each_entry(page,
					    &zone->free_area[order].free_list[mt],
					    buddy_list)
				kz_mark_pristine(&kz, page_to_pfn(page),
						 1UL << order);
			spin_unlock_irqrestore(&zone->lock, flags);
			cond_resched();
		}
	}
}

static void kz_free_maps(void)
{
	vfree(kz.pristine);
	vfree(kz.zero);
	kz.pristine = NULL;
	kz.zero = NULL;
}

/*
 * Start tracking. Only once per boot: a second start would mark pages
 * pristine that earlier host ranges already called zero, although they may
 * have been written in between. Call before asking the host for ranges.
 * The pfns tracked are those below max_pfn now, read once: memory added
 * later (hot-add) is never called zero.
 */
int hinting_known_zero_begin(void)
{
	unsigned long nr = READ_ONCE(max_pfn);
	int ret = 0;

	mutex_lock(&kz_lock);
	if (kz_begun) {
		ret = -EALREADY;
		goto out;
	}
	/*
	 * A confidential guest's memory is encrypted: what the host calls
	 * zero is no plaintext zero, and the host is not to be trusted.
	 */
	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT) ||
	    cc_platform_has(CC_ATTR_MEM_ENCRYPT)) {
		pr_info("mm/hinting: confidential VM: the host's word on zeroed memory is not taken\n");
		ret = -EPERM;
		goto out;
	}
	/* poisoning writes free pages: nothing free stays zero */
	if (page_poisoning_enabled_static() || want_init_on_free()) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	kz.pristine = vzalloc(BITS_TO_LONGS(nr) * sizeof(long));
	kz.zero = vzalloc(BITS_TO_LONGS(nr) * sizeof(long));
	if (!kz.pristine || !kz.zero) {
		kz_free_maps();
		ret = -ENOMEM;
		goto out;
	}
	ret = register_memory_notifier(&kz_memory_nb);
	if (ret) {
		kz_free_maps();
		goto out;
	}
	/* publish the map before the hook may look at it */
	smp_store_release(&kz.nr_pfns, nr);
	static_branch_inc(&hinting_alloc_key);
	kz_mark_free_blocks();
	kz_marking_done(&kz);
	kz_begun = true;
out:
	mutex_unlock(&kz_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(hinting_known_zero_begin);

/* pages of each host range read to check the host's word */
#define KZ_SAMPLES	8

/*
 * Does a sampled page of [@pfn, @pfn + @nr) hold data although it is
 * still pristine (nobody wrote it since tracking began)? Returns its pfn,
 * or 0. Pristine is tested after the read: a page allocated meanwhile
 * may hold its new owner's data, which proves nothing.
 */
static unsigned long kz_sample_dirty(unsigned long pfn, unsigned long nr)
{
	unsigned int i;

	for (i = 0; i < KZ_SAMPLES && i < nr; i++) {
		unsigned long p = pfn + (nr - 1) * i / (KZ_SAMPLES - 1);
		struct page *page = pfn_to_online_page(p);
		bool dirty;
		void *va;

		if (!page || !kz_pristine(&kz, p))
			continue;
		/* a free page: KASAN keeps it poisoned, we only read */
		kasan_disable_current();
		va = kmap_local_page(page);
		dirty = !!memchr_inv(va, 0, PAGE_SIZE);
		kunmap_local(va);
		kasan_enable_current();
		if (dirty && kz_pristine(&kz, p))
			return p;
	}
	return 0;
}

/*
 * The host guarantees that pfns [@pfn, @pfn + @nr) read zero now. A
 * sample of them is read first: a page that holds data turns known-zero
 * memory off for good (hinting_known_zero_refusals() counts it), and
 * -EIO is returned. Else returns how many became known-zero (those still
 * pristine).
 */
long hinting_known_zero_add(unsigned long pfn, unsigned long nr)
{
	unsigned long dirty;
	long n = 0;

	mutex_lock(&kz_lock);
	if (!kz_begun || READ_ONCE(kz.refused))
		goto out;
	if (pfn < kz.nr_pfns)
		nr = min(nr, kz.nr_pfns - pfn);
	else
		nr = 0;
	dirty = nr ? kz_sample_dirty(pfn, nr) : 0;
	if (dirty) {
		WRITE_ONCE(kz.refused, true);
		atomic_long_inc(&kz_refusals);
		pr_err("mm/hinting: the host called pfns %#lx-%#lx zero, but pfn %#lx holds data: known-zero memory is off\n",
		       pfn, pfn + nr - 1, dirty);
		n = -EIO;
		goto out;
	}
	n = kz_add_zero(&kz, pfn, nr);
out:
	mutex_unlock(&kz_lock);
	return n;
}
EXPORT_SYMBOL_GPL(hinting_known_zero_add);
