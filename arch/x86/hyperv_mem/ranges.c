// SPDX-License-Identifier: GPL-2.0
/*
 * GPA page ranges for HvExtCallMemoryHeatHint: the 2 MiB large-page form
 * where a run is 2 MiB aligned and long enough (one entry covers up to
 * 4 GiB instead of 8 MiB), the 4 KiB form otherwise.
 */
#include <linux/align.h>
#include <linux/minmax.h>
#include <linux/sizes.h>

#include "hv_mem.h"

#define PAGES_2M	(SZ_2M >> HV_HYP_PAGE_SHIFT)
/* additional_pages is 11 bits wide: 2048 units per entry */
#define UNITS_MAX	2048UL

unsigned long hv_mem_range_pages(union hv_gpa_page_range r)
{
	unsigned long units = r.page.additional_pages + 1;

	return r.page.largepage ? units * PAGES_2M : units;
}

/*
 * Describe pfns [@pfn, @pfn + @nr) in at most @room entries. Returns the
 * entries written; *@used says how many pages they cover, which is less
 * than @nr when @room ran out.
 */
unsigned int hv_mem_fill_ranges(union hv_gpa_page_range *r,
				unsigned int room, unsigned long pfn,
				unsigned long nr, unsigned long *used)
{
	unsigned long end = pfn + nr;
	unsigned int n = 0;

	while (pfn < end && n < room) {
		unsigned long units, pages;

		r[n].address_space = 0;
		if (IS_ALIGNED(pfn, PAGES_2M) && end - pfn >= PAGES_2M) {
			units = min((end - pfn) / PAGES_2M, UNITS_MAX);
			r[n].page.largepage = 1;
			r[n].page_size = HV_GPA_PAGE_RANGE_PAGE_SIZE_2MB;
			r[n].base_large_pfn = pfn / PAGES_2M;
			pages = units * PAGES_2M;
		} else {
			/* up to the next 2 MiB boundary, so the rest is large */
			units = min(end, ALIGN(pfn + 1, PAGES_2M)) - pfn;
			units = min(units, UNITS_MAX);
			r[n].page.basepfn = pfn;
			pages = units;
		}
		r[n].page.additional_pages = units - 1;
		pfn += pages;
		n++;
	}
	*used = nr - (end - pfn);
	return n;
}
