// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: allocate up to @mb MiB one page at a time with
 * __GFP_ZERO, check every byte reads zero, free them all, and print what
 * was seen. With known-zero tracking active, many of these allocations
 * skip clearing: a page that was wrongly called zero shows up here as a
 * non-zero byte. Loading always fails (-EAGAIN) so that it can be loaded
 * again; the verdict is in the kernel log.
 */
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>

static unsigned int mb = 256;
module_param(mb, uint, 0444);
MODULE_PARM_DESC(mb, "MiB to allocate and check");

static int __init kz_check_init(void)
{
	unsigned long want = (unsigned long)mb << (20 - PAGE_SHIFT);
	unsigned long got = 0, bad_pages = 0, bad_bytes = 0;
	struct page *page, *tmp;
	LIST_HEAD(pages);

	while (got < want) {
		const u8 *p;
		unsigned int i, bad = 0;

		/* no OOM kills for a test: stop where memory runs short */
		page = alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NORETRY |
				  __GFP_NOWARN);
		if (!page)
			break;
		p = kmap_local_page(page);
		for (i = 0; i < PAGE_SIZE; i++)
			bad += p[i] != 0;
		kunmap_local(p);
		if (bad) {
			bad_pages++;
			bad_bytes += bad;
		}
		list_add(&page->lru, &pages);
		got++;
		cond_resched();
	}
	list_for_each_entry_safe(page, tmp, &pages, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	pr_info("kz_check: pages=%lu nonzero_pages=%lu nonzero_bytes=%lu\n",
		got, bad_pages, bad_bytes);
	return -EAGAIN;
}

module_init(kz_check_init);
MODULE_DESCRIPTION("Test only: __GFP_ZERO pages must read zero");
MODULE_LICENSE("GPL");
