/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Free page hinting: the consumer API.
 *
 * A consumer (a virtio-balloon or Hyper-V driver) registers to be handed
 * batches of free blocks that mm/hinting has isolated from the buddy
 * allocator. While the consumer runs, the blocks belong to nobody: it may
 * tell the host to drop their contents, but must not touch them after its
 * report() returns. The blocks then go back to the buddy allocator.
 */
#ifndef _MM_HINTING_HINTING_H
#define _MM_HINTING_HINTING_H

#include <linux/scatterlist.h>

struct hinting_consumer {
	/*
	 * Report @nents blocks (one scatterlist entry each). Sleeps until
	 * the host has acknowledged them. 0 marks the blocks reported; an
	 * error returns them to the allocator unreported.
	 */
	int (*report)(struct hinting_consumer *hc, struct scatterlist *sgl,
		      unsigned int nents);
	/* most entries one report() can take; report_batch is capped by it */
	unsigned int capacity;
	/*
	 * The interface promises that what the host discards reads zero
	 * afterwards (not merely that one host does so): reported pages may
	 * then stay known-zero. Otherwise they lose that state.
	 */
	bool zero_on_discard;
};

int hinting_register(struct hinting_consumer *hc);
void hinting_unregister(struct hinting_consumer *hc);

/*
 * Known-zero memory, for drivers that learn from the host which pages read
 * zero: begin tracking first (once per boot), then ask the host, then add
 * each range it named. See known_zero.c.
 */
int hinting_known_zero_begin(void);
long hinting_known_zero_add(unsigned long pfn, unsigned long nr);

/*
 * Leave the free blocks in [@pfn, @pfn + @nr) unreported until they are
 * next allocated: memory the host was just asked to back (a hot hint)
 * would otherwise be reported and discarded moments later.
 */
void hinting_keep(unsigned long pfn, unsigned long nr);

/*
 * Call @fn for runs of free memory of node @nid, in blocks of at least a
 * pageblock, lowest pfn first. The runs are read under the zone lock but
 * handed over after it was dropped: by then some pages may be in use
 * again, so only content-neutral uses fit (e.g. asking the host to back
 * the memory). A non-zero return of @fn stops the walk and is returned.
 */
typedef int (*hinting_range_fn)(unsigned long pfn, unsigned long nr,
				void *arg);
int hinting_walk_free(int nid, hinting_range_fn fn, void *arg);

#endif /* _MM_HINTING_HINTING_H */
