// SPDX-License-Identifier: GPL-2.0
/*
 * vmdense virtio-mem: moving pages between the buddy allocator and the
 * fake-offline state.
 *
 * A fake-offline page is PageOffline() with a reference count of one and
 * is not counted as managed memory: nothing may touch it, the device may
 * have taken its backing away. Pages of freshly onlined memory already
 * look like that since 6.12 (the memmap of hotplugged memory starts out
 * PageOffline); older kernels start them PageReserved, which we convert.
 * Pages we take back from the buddy with alloc_contig_range() are brought
 * into the same state, so that one release path serves both. We look at
 * the pages rather than at the kernel version where the pages tell.
 */
#include <linux/gfp.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <linux/page_ref.h>

#include "vmem.h"

static unsigned int vmem_chunk_order(unsigned long pfn, unsigned long left)
{
	unsigned int order = VMEM_MAX_ORDER;

	while (order && (!IS_ALIGNED(pfn, 1UL << order) || (1UL << order) > left))
		order--;
	return order;
}

/*
 * Hand pages of memory being onlined to the buddy, as the core would.
 * generic_online_page() resets the reference count, counts the pages as
 * managed and frees them, in chunks as large as alignment allows.
 */
void vmem_pages_online(unsigned long pfn, unsigned long nr)
{
	while (nr) {
		unsigned int order = vmem_chunk_order(pfn, nr);

		generic_online_page(pfn_to_page(pfn), order);
		pfn += 1UL << order;
		nr -= 1UL << order;
	}
}

/*
 * Hand fake-offline pages to the buddy. Before 6.12 generic_online_page()
 * leaves PG_offline set, so we clear it first (since 6.12 its own
 * clearing then finds nothing to do).
 */
void vmem_pages_release(unsigned long pfn, unsigned long nr)
{
	unsigned long i;

	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(pfn + i);

		if (PageOffline(page))
			__ClearPageOffline(page);
	}
	vmem_pages_online(pfn, nr);
}

/*
 * Memory being onlined that must stay fake-offline: since 6.12 it already
 * is. Before, its pages are PageReserved and must become PageOffline.
 */
void vmem_pages_keep(unsigned long pfn, unsigned long nr)
{
	unsigned long i;

	if (PageOffline(pfn_to_page(pfn)))
		return;
	page_offline_begin();
	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(pfn + i);

		__ClearPageReserved(page);
		__SetPageOffline(page);
	}
	page_offline_end();
}

/*
 * Take online pages away from the buddy (migrating what is in use) and
 * make them fake-offline. -EBUSY when something could not be migrated.
 */
int vmem_pages_take(unsigned long pfn, unsigned long nr)
{
	unsigned long i;
	int rc;

	rc = alloc_contig_range(pfn, pfn + nr, MIGRATE_MOVABLE,
				GFP_KERNEL | __GFP_NOWARN);
	if (rc)
		return rc;

	page_offline_begin();
	for (i = 0; i < nr; i++)
		__SetPageOffline(pfn_to_page(pfn + i));
	page_offline_end();
	adjust_managed_page_count(pfn_to_page(pfn), -(long)nr);
	return 0;
}

/*
 * Before 6.11 offlining took every page of a memory block off the managed
 * count, fake-offline ones included, which were never on it: count those
 * back while the block goes offline (and off again if that is cancelled),
 * or MemTotal ends up short by them once the block is removed. Since 6.11
 * offlining counts only the pages it takes from the buddy. Kbuild tells
 * which kind of kernel we are built for.
 */
static void vmem_offline_accounting(unsigned long pfn, long nr)
{
#ifdef VMEM_OFFLINE_SUBTRACTS_ALL
	adjust_managed_page_count(pfn_to_page(pfn), nr);
#endif
}

/*
 * Offlining skips PageOffline pages whose reference count is zero: drop
 * our reference when a memory block goes offline...
 */
void vmem_pages_drop_refs(unsigned long pfn, unsigned long nr)
{
	unsigned long i;

	vmem_offline_accounting(pfn, nr);
	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(pfn + i);

		if (WARN_ON_ONCE(!page_ref_dec_and_test(page)))
			dump_page(page, "fake-offline page still referenced");
	}
}

/* ...and take it again when offlining was cancelled. */
void vmem_pages_get_refs(unsigned long pfn, unsigned long nr)
{
	unsigned long i;

	for (i = 0; i < nr; i++)
		page_ref_inc(pfn_to_page(pfn + i));
	vmem_offline_accounting(pfn, -(long)nr);
}
