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
#include <linux/bitops.h>
#include <linux/bitmap.h>
#include <linux/export.h>
#include <linux/minmax.h>
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

/*
 * Bit by bit and atomically: the allocation hook clears bits of other
 * pages in the same words at any time, and a plain read-modify-write of a
 * word could bring one of those back.
 */
void kz_mark_pristine(struct kz_map *m, unsigned long pfn, unsigned long nr)
{
	unsigned long i;

	nr = kz_clip(m, pfn, nr);
	for (i = pfn; i < pfn + nr; i++)
		set_bit(i, m->pristine);
}
EXPORT_SYMBOL_IF_KUNIT(kz_mark_pristine);

/* Returns how many pages became known-zero. */
unsigned long kz_add_zero(struct kz_map *m, unsigned long pfn,
			  unsigned long nr)
{
	unsigned long i, n = 0;

	nr = kz_clip(m, pfn, nr);
	for (i = pfn; i < pfn + nr; i++) {
		/* cheap skip of what allocation already took */
		if (!test_bit(i, m->pristine))
			continue;
		if (!test_and_set_bit(i, m->zero))
			n++;
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
		for (i = pfn; i < end; i++) {
			/* both are value-returning atomics: fully ordered */
			bool p = test_and_clear_bit(i, m->pristine);
			bool z = test_and_clear_bit(i, m->zero);

			if (!p || !z)
				all = false;
		}
	}
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

/* Memory going away (offline): it may come back with any contents. */
void kz_forget(struct kz_map *m, unsigned long pfn, unsigned long nr)
{
	unsigned long i;

	nr = kz_clip(m, pfn, nr);
	for (i = pfn; i < pfn + nr; i++) {
		clear_bit(i, m->pristine);
		clear_bit(i, m->zero);
	}
}
EXPORT_SYMBOL_IF_KUNIT(kz_forget);
