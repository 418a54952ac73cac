// SPDX-License-Identifier: GPL-2.0
/*
 * Boot-zeroed memory: HvExtCallGetBootZeroedMemory names ranges that read
 * zero at the time of the call. Known-zero tracking starts first, so that
 * any page allocated (and perhaps written) since is excluded when the
 * ranges are added; what remains is never cleared again by the allocator.
 */
#include <linux/mm.h>
#include <asm/mshyperv.h>

#include "hinting.h"
#include "hv_mem.h"

int hv_mem_boot_zeroed(void)
{
	const u64 *out = hv_mem.out;
	u64 status, count, i;
	int ret;

	ret = hinting_known_zero_begin();
	if (ret)
		return ret;
	mutex_lock(&hv_mem.call_lock);
	memset(hv_mem.out, 0, HV_HYP_PAGE_SIZE);
	status = hv_do_hypercall(HV_MEM_CALL_GET_BOOT_ZEROED, NULL, hv_mem.out);
	if (!hv_result_success(status)) {
		pr_warn("vmdense_hyperv: GetBootZeroedMemory failed: status %#llx\n",
			status);
		ret = -EIO;
		goto out;
	}
	/* the host's numbers are checked, not trusted */
	count = min_t(u64, out[0], HV_MEM_ZEROED_MAX);
	for (i = 0; i < count; i++) {
		u64 start = out[1 + 2 * i], pages = out[2 + 2 * i];

		if (!pages || start + pages < start)
			continue;
		atomic_long_inc(&hv_mem.cnt.zeroed_ranges);
		atomic_long_add(pages, &hv_mem.cnt.zeroed_pages);
		atomic_long_add(hinting_known_zero_add(start, pages),
				&hv_mem.cnt.known_zero_pages);
	}
out:
	mutex_unlock(&hv_mem.call_lock);
	return ret;
}
