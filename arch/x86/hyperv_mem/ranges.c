// SPDX-License-Identifier: GPL-2.0
/*
 * GPA page ranges for HvExtCallMemoryHeatHint. An entry counts up to 2048
 * units of one size: 1 GiB where a run is 1 GiB aligned and at least that
 * long, 2 MiB where it is 2 MiB aligned, else 4 KiB pages; each size only
 * up to the next boundary of the larger one, so that the rest of a long
 * run uses the larger forms.
 * The large forms keep the base in 2 MiB units whatever their page size.
 */
#include <linux/align.h>
#include <linux/minmax.h>
#include <linux/sizes.h>

#include "hv_mem.h"

#define PAGES_2M	(SZ_2M >> HV_HYP_PAGE_SHIFT)
#define PAGES_1G	(SZ_1G >> HV_HYP_PAGE_SHIFT)
/* additional_pages is 11 bits wide: 2048 units per entry */
#define UNITS_MAX	2048UL

unsigned long hv_mem_range_pages(union hv_gpa_page_range r)
{
	unsigned long units = r.page.additional_pages + 1;

	if (!r.page.largepage)
		return units;
	return units * (r.page_size == HV_GPA_PAGE_RANGE_PAGE_SIZE_1GB ?
			PAGES_1G : PAGES_2M);
}

/* the page size of the entry for a run at @pfn with @left pages to go */
static unsigned long unit_pages(unsigned long pfn, unsigned long left)
{
	if (IS_ALIGNED(pfn, PAGES_1G) && left >= PAGES_1G)
		return PAGES_1G;
	if (IS_ALIGNED(pfn, PAGES_2M) && left >= PAGES_2M)
		return PAGES_2M;
	return 1;
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
		unsigned long unit = unit_pages(pfn, end - pfn), units;

		/* each size stops where the next larger one could start */
		if (unit == 1)
			units = min(end, ALIGN(pfn + 1, PAGES_2M)) - pfn;
		else if (unit == PAGES_2M)
			units = (min(end, ALIGN(pfn + 1, PAGES_1G)) - pfn) /
				unit;
		else
			units = (end - pfn) / unit;
		units = min(units, UNITS_MAX);
		r[n].address_space = 0;
		if (unit == 1) {
			r[n].page.basepfn = pfn;
		} else {
			r[n].page.largepage = 1;
			r[n].page_size = unit == PAGES_1G ?
				HV_GPA_PAGE_RANGE_PAGE_SIZE_1GB :
				HV_GPA_PAGE_RANGE_PAGE_SIZE_2MB;
			r[n].base_large_pfn = pfn / PAGES_2M;
		}
		r[n].page.additional_pages = units - 1;
		pfn += units * unit;
		n++;
	}
	*used = nr - (end - pfn);
	return n;
}
