// SPDX-License-Identifier: GPL-2.0
/*
 * Known-zero tracking, the lock-free state machine.
 *
 * A page may only be called zero if nothing can have written it since the
 * host said it was zero. The allocator is the only writer of free pages
 * that we allow (page poisoning is refused by the caller), so:
 *  - pristine bits are set once, for free buddy blocks, under the zone lock
 *    before the host is asked anything, and cleared by every allocation;
 *    they are never set again, so a cleared bit stays cleared;
 *  - zero bits are set from host ranges and only count while the page is
 *    still pristine.
 * The allocation hook clears pristine first and trusts zero only if
 * pristine was still set. A zero bit set after the page was allocated is
 * therefore harmless: its pristine bit is gone for good. A zero bit set
 * while the allocation runs is correct: the page was unchanged from the
 * start of tracking until that allocation, and the host call came after.
 */
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/bitmap.h>
#include <linux/export.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <kunit/visibility.h>

#include "known_zero.h"

/* Clip [pfn, pfn + nr) to the tracked pfns; returns the new count. */
static unsigned long kz_clip(const struct kz_map *m, unsigned long pfn,
			     unsigned long nr)
{
	if (pfn >= m->nr_pfns)
		return 0;
	return min(nr, m->nr_pfns - pfn);
}

/* The bits of word @w that fall into [pfn, end). */
static unsigned long kz_word_mask(unsigned long w, unsigned long pfn,
				  unsigned long end)
{
	unsigned long lo = max(pfn, w * BITS_PER_LONG);
	unsigned long hi = min(end, (w + 1) * BITS_PER_LONG);

	return BITMAP_FIRST_WORD_MASK(lo) & BITMAP_LAST_WORD_MASK(hi);
}

/*
 * A word at a time, but atomically: the allocation hook clears bits of
 * other pages in the same words at any time, and a plain
 * read-modify-write of a word could bring one of those back. One atomic
 * per 64 pages keeps a walk of a large zone's free lists short.
 */
void kz_mark_pristine(struct kz_map *m, unsigned long pfn, unsigned long nr)
{
	unsigned long w, end = pfn + kz_clip(m, pfn, nr), mask, old;

	for (w = BIT_WORD(pfn); pfn < end && w <= BIT_WORD(end - 1); w++) {
		mask = kz_word_mask(w, pfn, end);
		old = atomic_long_fetch_or(mask,
					   (atomic_long_t *)&m->pristine[w]);
		atomic_long_add(hweight_long(mask & ~old), &m->pristine_left);
	}
}
EXPORT_SYMBOL_IF_KUNIT(kz_mark_pristine);

bool kz_pristine(const struct kz_map *m, unsigned long pfn)
{
	return pfn < m->nr_pfns && test_bit(pfn, m->pristine);
}
EXPORT_SYMBOL_IF_KUNIT(kz_pristine);

/*
 * Returns how many pages became known-zero. A word at a time: a page
 * allocated between reading its pristine bit and setting its zero bit
 * keeps a zero bit without a pristine one, which is never trusted.
 */
unsigned long kz_add_zero(struct kz_map *m, unsigned long pfn,
			  unsigned long nr)
{
	unsigned long w, end = pfn + kz_clip(m, pfn, nr), mask, old, n = 0;

	for (w = BIT_WORD(pfn); pfn < end && w <= BIT_WORD(end - 1); w++) {
		mask = kz_word_mask(w, pfn, end) & READ_ONCE(m->pristine[w]);
		if (!mask)
			continue;
		old = atomic_long_fetch_or(mask, (atomic_long_t *)&m->zero[w]);
		n += hweight_long(mask & ~old);
		/* a range may span a whole large guest */
		if (!(w & 1023))
			cond_resched();
	}
	atomic_long_add(n, &m->marked);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(kz_add_zero);

/*
 * An allocation of @nr pages at @pfn: forget their state. Returns true
 * when @init (the caller was about to clear them), @skip (skipping is
 * allowed) and every page was known-zero, i.e. the clearing can be
 * skipped. With @skip false such a clearing is still done, and counted
 * apart (done_zero) as what skipping would have saved.
 */
bool kz_take(struct kz_map *m, unsigned long pfn, unsigned long nr,
	     bool init, bool skip)
{
	unsigned long i, end = pfn + kz_clip(m, pfn, nr);
	bool all = end - pfn == nr;

	/*
	 * This runs on every allocation. Pristine bits are only cleared once
	 * tracking has begun, so most allocations find none: a plain scan
	 * word by word spares them the atomics. Nothing sets a bit of a page
	 * being allocated (marking takes free blocks under the zone lock),
	 * and a zero bit without its pristine bit is never trusted, so it
	 * may stay.
	 */
	if (find_next_bit(m->pristine, end, pfn) >= end) {
		all = false;
	} else {
		unsigned long cleared = 0;

		for (i = pfn; i < end; i++) {
			/* both are value-returning atomics: fully ordered */
			bool p = test_and_clear_bit(i, m->pristine);
			bool z = test_and_clear_bit(i, m->zero);

			cleared += p;
			if (!p || !z)
				all = false;
		}
		atomic_long_sub(cleared, &m->pristine_left);
	}
	/* a host that lied once is not believed for any page */
	if (READ_ONCE(m->refused))
		all = false;
	if (!init)
		return false;
	if (all && skip) {
		atomic_long_add(nr, &m->skipped);
		return true;
	}
	atomic_long_add(nr, &m->done);
	if (all)
		atomic_long_add(nr, &m->done_zero);
	return false;
}
EXPORT_SYMBOL_IF_KUNIT(kz_take);

/*
 * Memory going away (offline), or handed to a host that may give it back
 * with other contents: forget its state, a word at a time.
 */
void kz_forget(struct kz_map *m, unsigned long pfn, unsigned long nr)
{
	unsigned long w, end = pfn + kz_clip(m, pfn, nr), mask, old;

	for (w = BIT_WORD(pfn); pfn < end && w <= BIT_WORD(end - 1); w++) {
		mask = kz_word_mask(w, pfn, end);
		old = atomic_long_fetch_andnot(mask,
					       (atomic_long_t *)&m->pristine[w]);
		atomic_long_sub(hweight_long(mask & old), &m->pristine_left);
		atomic_long_andnot(mask, (atomic_long_t *)&m->zero[w]);
	}
}
EXPORT_SYMBOL_IF_KUNIT(kz_forget);

/* Every block that was free when tracking began is marked. */
void kz_marking_done(struct kz_map *m)
{
	/* pairs with kz_exhausted(): the marks' counts are seen first */
	smp_store_release(&m->marked_all, true);
}
EXPORT_SYMBOL_IF_KUNIT(kz_marking_done);

/*
 * No pristine page is left, and none can come: the allocation hook has
 * nothing more to consume. Before marking is done the count says
 * nothing: allocations empty the lists already walked while others are
 * still to come, and a hook turned off then would leave pages pristine
 * that their new owners write, to be called zero by the host later.
 */
bool kz_exhausted(const struct kz_map *m)
{
	/* pairs with kz_marking_done(): every mark is in pristine_left */
	return smp_load_acquire(&m->marked_all) &&
	       atomic_long_read(&m->pristine_left) <= 0;
}
EXPORT_SYMBOL_IF_KUNIT(kz_exhausted);
