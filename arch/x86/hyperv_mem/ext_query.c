// SPDX-License-Identifier: GPL-2.0
/*
 * The extended hypercalls that only ask: what the host offers, and which
 * memory it zeroed. Built into the kernel with
 * CONFIG_VMDENSE_HYPERV_MEM_EARLY, where boot asks first (early.c), else
 * part of vmdense_hyperv. The caller owns @out, a page of the direct map,
 * and keeps other callers off it.
 */
#include <linux/export.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <asm/mshyperv.h>

#include "hinting.h"
#include "hv_mem.h"

/* One extended hypercall that only has output, into @out cleared first. */
static int hv_mem_ask(u16 code, const char *what, void *out)
{
	u64 status;

	memset(out, 0, HV_HYP_PAGE_SIZE);
	status = hv_do_hypercall(code, NULL, out);
	if (hv_result_success(status))
		return 0;
	pr_warn("vmdense_hyperv: %s failed: status %#llx\n", what, status);
	return -EIO;
}

int hv_mem_query_caps(void *out, u64 *caps)
{
	int ret;

	ret = hv_mem_ask(HV_EXT_CALL_QUERY_CAPABILITIES, "QueryCapabilities",
			 out);
	if (!ret)
		*caps = *(u64 *)out;
	return ret;
}
EXPORT_SYMBOL_GPL(hv_mem_query_caps);

/*
 * HvExtCallGetBootZeroedMemory names ranges that read zero at the time of
 * the call. Known-zero tracking starts first, so that any page allocated
 * (and perhaps written) since is excluded when the ranges are added; what
 * remains is never cleared again by the allocator. The earlier this runs,
 * the more of the boot's own allocations find known-zero pages.
 */
int hv_mem_query_zeroed(void *out, struct hv_mem_zeroed *z)
{
	const u64 *word = out;
	u64 count, i;
	int ret;

	long n;

	/* an isolated VM's memory is not the host's to vouch for */
	if (hv_is_isolation_supported()) {
		pr_info("vmdense_hyperv: isolated VM: boot-zeroed memory not used\n");
		return -EPERM;
	}
	ret = hinting_known_zero_begin();
	if (ret)
		return ret;
	ret = hv_mem_ask(HV_MEM_CALL_GET_BOOT_ZEROED, "GetBootZeroedMemory", out);
	if (ret)
		return ret;
	/* the host's numbers are checked, not trusted */
	count = min_t(u64, word[0], HV_MEM_ZEROED_MAX);
	for (i = 0; i < count; i++) {
		u64 start = word[1 + 2 * i], pages = word[2 + 2 * i];

		if (!pages || start + pages < start)
			continue;
		z->ranges++;
		z->pages += pages;
		/* a sample of each range is read: data in it ends it all */
		n = hinting_known_zero_add(start, pages);
		if (n < 0) {
			z->refused = true;
			return n;
		}
		z->known_zero += n;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(hv_mem_query_zeroed);
