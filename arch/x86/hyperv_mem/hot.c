// SPDX-License-Identifier: GPL-2.0
/*
 * Hot hints on request: the host backs a guest-physical range now rather
 * than on first touch. Contents do not change, so any RAM range is safe
 * to name; the host may ignore the hint.
 */
#include <linux/ioport.h>
#include <linux/mm.h>

#include "hv_mem.h"

int hv_mem_hot_hint(unsigned long pfn, unsigned long nr)
{
	union hv_gpa_page_range *r = hv_mem.in + sizeof(u64);
	unsigned long done, used, acked = 0, left = nr;
	unsigned int n;
	int ret = 0;

	if (!(hv_mem.caps & HV_MEM_CAP_HEAT_HINT))
		return -EOPNOTSUPP;
	if (!nr || pfn + nr < pfn || !page_is_ram(pfn) ||
	    !page_is_ram(pfn + nr - 1))
		return -EINVAL;
	mutex_lock(&hv_mem.call_lock);
	while (left && !ret) {
		n = hv_mem_fill_ranges(r, HV_MEM_RANGES_MAX, pfn, left, &used);
		atomic_long_inc(&hv_mem.cnt.hot_calls);
		ret = hv_mem_heat_call(HV_MEM_HINT_HOT, n, &done);
		acked += done;
		pfn += used;
		left -= used;
	}
	mutex_unlock(&hv_mem.call_lock);
	atomic_long_add(acked, &hv_mem.cnt.hot_pages);
	atomic_long_add(nr - acked, &hv_mem.cnt.hot_failed);
	return ret;
}
