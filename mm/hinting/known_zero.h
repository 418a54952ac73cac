/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Known-zero tracking: the pure part, on an explicit map so that KUnit can
 * drive it on made-up pfns. known_zero.c holds the one global map the
 * allocator hook consults.
 */
#ifndef _MM_HINTING_KNOWN_ZERO_H
#define _MM_HINTING_KNOWN_ZERO_H

#include <linux/atomic.h>
#include <linux/types.h>

/*
 * pristine: the page was a free buddy page when tracking began and has not
 * been allocated since, so its contents are what they were then.
 * zero: the host guaranteed the page read zero at some point after
 * tracking began. Only both together make a page known-zero.
 */
struct kz_map {
	unsigned long *pristine;
	unsigned long *zero;
	unsigned long nr_pfns;		/* pfns [0, nr_pfns) are tracked */
	bool refused;			/* the host lied: trust nothing */
	bool marked_all;		/* every free block was marked */
	atomic_long_t pristine_left;	/* pristine bits still set */
	atomic_long_t skipped;		/* zeroing skipped, base pages */
	atomic_long_t done;		/* zeroing done while tracking, pages */
	atomic_long_t done_zero;	/* of done: known-zero, not skipped */
	atomic_long_t marked;		/* zero bits set from host ranges */
};

void kz_mark_pristine(struct kz_map *m, unsigned long pfn, unsigned long nr);
bool kz_pristine(const struct kz_map *m, unsigned long pfn);
unsigned long kz_add_zero(struct kz_map *m, unsigned long pfn,
			  unsigned long nr);
bool kz_take(struct kz_map *m, unsigned long pfn, unsigned long nr,
	     bool init, bool skip);
void kz_forget(struct kz_map *m, unsigned long pfn, unsigned long nr);
void kz_marking_done(struct kz_map *m);
bool kz_exhausted(const struct kz_map *m);

#endif /* _MM_HINTING_KNOWN_ZERO_H */
