// SPDX-License-Identifier: GPL-2.0
/*
 * Boot-zeroed memory asked for while the kernel boots
 * (CONFIG_VMDENSE_HYPERV_MEM_EARLY). vmdense_hyperv loads after user space
 * has started, and by then init_on_alloc=1 has cleared every page the
 * boot allocated, the initramfs's page cache among them. Asked here,
 * those allocations find known-zero pages too. fs_initcall: after
 * hyperv_init() set up the hypercall page (arch_initcall, through
 * x86_init.pci.arch_init), before the initramfs is unpacked
 * (rootfs_initcall). The module takes over what was found.
 */
#include <linux/export.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <asm/hypervisor.h>
#include <asm/mshyperv.h>

#include "hv_mem.h"

struct hv_mem_early hv_mem_early;
EXPORT_SYMBOL_GPL(hv_mem_early);

static bool boot_zeroed = true;
module_param(boot_zeroed, bool, 0444);
MODULE_PARM_DESC(boot_zeroed,
		 "Ask for boot-zeroed memory during boot (default on; off leaves it to vmdense_hyperv)");

static int hv_mem_early_query(void *out)
{
	u64 caps;
	int ret;

	ret = hv_mem_query_caps(out, &caps);
	if (ret)
		return ret;
	if (!(caps & HV_MEM_CAP_BOOT_ZEROED))
		return -EOPNOTSUPP;
	return hv_mem_query_zeroed(out, &hv_mem_early.zeroed);
}

static int __init hv_mem_early_init(void)
{
	ktime_t start;
	void *out;
	s64 us;

	/* elsewhere, and without extended hypercalls, quietly nothing */
	if (!boot_zeroed || !hypervisor_is_type(X86_HYPER_MS_HYPERV) ||
	    !(ms_hyperv.priv_high & HV_ENABLE_EXTENDED_HYPERCALLS) ||
	    !hv_hypercall_pg)
		return 0;
	/* what the query costs the boot, against what skipping saves it */
	start = ktime_get();
	out = (void *)get_zeroed_page(GFP_KERNEL);
	if (!out) {
		hv_mem_early.err = -ENOMEM;
	} else {
		hv_mem_early.err = hv_mem_early_query(out);
		free_page((unsigned long)out);
	}
	hv_mem_early.asked = true;
	us = ktime_us_delta(ktime_get(), start);
	if (hv_mem_early.err)
		pr_warn("vmdense_hyperv: boot-zeroed memory not used during boot: %d\n",
			hv_mem_early.err);
	else
		pr_info("vmdense_hyperv: %lu pages known zero during boot (%lu ranges, %lu pages named; %lld us)\n",
			hv_mem_early.zeroed.known_zero,
			hv_mem_early.zeroed.ranges, hv_mem_early.zeroed.pages, us);
	return 0;
}
fs_initcall(hv_mem_early_init);
