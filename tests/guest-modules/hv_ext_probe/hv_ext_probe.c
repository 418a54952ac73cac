// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: issue each Hyper-V extended memory hypercall once, so a
 * test can check the host side (host-stub) end to end before vmdense's
 * hyperv_mem driver exists.  It hints a 2 MiB block it owns, so the hints
 * cannot hurt anyone else's memory.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <asm/mshyperv.h>

#define CALL_BOOT_ZEROED	0x8002
#define HINT_COLD		0
#define HINT_HOT		1
#define HINT_COLD_DISCARD	2
#define LARGE_PAGE		BIT_ULL(11)

static u64 hint(u64 *in, u64 type, u64 range)
{
	in[0] = type;
	in[1] = range;
	return hv_do_rep_hypercall(HV_EXT_CALL_MEMORY_HEAT_HINT, 1, 0, in, NULL);
}

static int __init hv_ext_probe_init(void)
{
	u64 *in, *out, st, pfn, large, small;
	struct page *block;

	if (!hv_hypercall_pg)
		return -ENODEV;
	pr_info("hv_ext_probe: cold discard %s\n",
		hv_query_ext_cap(HV_EXT_CAPABILITY_MEMORY_COLD_DISCARD_HINT) ?
		"offered" : "not offered");
	in = (u64 *)get_zeroed_page(GFP_KERNEL);
	out = (u64 *)get_zeroed_page(GFP_KERNEL);
	block = alloc_pages(GFP_KERNEL, 9);
	if (!in || !out || !block) {
		free_page((unsigned long)in);
		free_page((unsigned long)out);
		if (block)
			__free_pages(block, 9);
		return -ENOMEM;
	}
	st = hv_do_hypercall(CALL_BOOT_ZEROED, NULL, out);
	pr_info("hv_ext_probe: boot zeroed status %llu ranges %llu\n",
		st & HV_HYPERCALL_RESULT_MASK, out[0]);

	/* order-9 blocks are 2 MiB aligned: the large form describes it */
	memset(page_address(block), 0x5a, PAGE_SIZE << 9);
	pfn = page_to_pfn(block);
	large = ((pfn >> 9) << 21) | LARGE_PAGE;
	small = (pfn << 12) | 15;		/* its first 16 pages */
	st = hint(in, HINT_COLD_DISCARD, large);
	pr_info("hv_ext_probe: cold discard 2M status %llu\n",
		st & HV_HYPERCALL_RESULT_MASK);
	st = hint(in, HINT_HOT, large);
	pr_info("hv_ext_probe: hot 2M status %llu\n",
		st & HV_HYPERCALL_RESULT_MASK);
	st = hint(in, HINT_COLD, small);
	pr_info("hv_ext_probe: cold 16 pages status %llu\n",
		st & HV_HYPERCALL_RESULT_MASK);
	__free_pages(block, 9);
	free_page((unsigned long)in);
	free_page((unsigned long)out);
	return 0;
}

static void __exit hv_ext_probe_exit(void)
{
}

module_init(hv_ext_probe_init);
module_exit(hv_ext_probe_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmdense test: Hyper-V extended memory hypercalls");
