// SPDX-License-Identifier: GPL-2.0
/*
 * vmdense_hyperv: Hyper-V memory hints through extended hypercalls.
 * Refuses to load unless the hypervisor is Hyper-V (or claims to be) and
 * allows extended hypercalls; asks once what the host offers and uses
 * what it understands: boot-zeroed memory first (before cold hints start
 * discarding and reallocating free pages), then cold hints.
 */
#include <linux/gfp.h>
#include <linux/module.h>
#include <asm/hypervisor.h>
#include <asm/mshyperv.h>

#include "hv_mem.h"

struct hv_mem hv_mem = {
	.call_lock = __MUTEX_INITIALIZER(hv_mem.call_lock),
};

static bool boot_zeroed = true;
module_param(boot_zeroed, bool, 0444);
MODULE_PARM_DESC(boot_zeroed, "Use the host's boot-zeroed memory (default on; not asked again if boot asked)");

static bool cold_hints = true;
module_param(cold_hints, bool, 0444);
MODULE_PARM_DESC(cold_hints, "Report free memory as cold hints (default on)");

static bool hot_on_online = true;
module_param(hot_on_online, bool, 0444);
MODULE_PARM_DESC(hot_on_online, "Hot-hint memory as it comes online (default on)");

/*
 * Boot-zeroed memory: taken over from boot when early.c asked already
 * (known-zero tracking starts only once a boot), else asked now.
 */
static void hv_mem_use_boot_zeroed(void)
{
	int err;

	if (IS_ENABLED(CONFIG_VMDENSE_HYPERV_MEM_EARLY) && hv_mem_early.asked) {
		hv_mem.zeroed_early = true;
		hv_mem.zeroed = hv_mem_early.zeroed;
		err = hv_mem_early.err;
	} else if (boot_zeroed && (hv_mem.caps & HV_MEM_CAP_BOOT_ZEROED)) {
		/*
		 * Without call_lock: nothing else uses the output page before
		 * cold and hot hints start, and the query registers a memory
		 * notifier, while hot hints take call_lock inside that chain.
		 */
		err = hv_mem_query_zeroed(hv_mem.out, &hv_mem.zeroed);
		if (err)
			pr_warn("vmdense_hyperv: boot-zeroed memory not used: %d\n",
				err);
	} else {
		err = -EOPNOTSUPP;
	}
	hv_mem.zeroed_err = err;
}

static void hv_mem_free_pages(void)
{
	free_page((unsigned long)hv_mem.in);
	free_page((unsigned long)hv_mem.out);
}

static int __init hv_mem_init(void)
{
	int ret;

	if (!hypervisor_is_type(X86_HYPER_MS_HYPERV)) {
		pr_err("vmdense_hyperv: not running under Hyper-V, not loading\n");
		return -ENODEV;
	}
	if (!(ms_hyperv.priv_high & HV_ENABLE_EXTENDED_HYPERCALLS)) {
		pr_err("vmdense_hyperv: the host does not allow extended hypercalls (CPUID 0x40000003 EBX bit 20), not loading\n");
		return -ENODEV;
	}
	/* hypercall arguments need pages of the direct map */
	hv_mem.in = (void *)get_zeroed_page(GFP_KERNEL);
	hv_mem.out = (void *)get_zeroed_page(GFP_KERNEL);
	if (!hv_mem.in || !hv_mem.out) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = hv_mem_query_caps(hv_mem.out, &hv_mem.caps);
	if (ret)
		goto fail;
	pr_info("vmdense_hyperv: host capabilities %#llx\n", hv_mem.caps);

	hv_mem_use_boot_zeroed();
	if (cold_hints && (hv_mem.caps & (HV_MEM_CAP_HEAT_HINT |
			   HV_EXT_CAPABILITY_MEMORY_COLD_DISCARD_HINT))) {
		ret = hv_mem_cold_start();
		/* e.g. a balloon driver is the consumer: carry on without */
		if (ret)
			pr_warn("vmdense_hyperv: cold hints not started: %d\n",
				ret);
	}
	if (hot_on_online && (hv_mem.caps & HV_MEM_CAP_HEAT_HINT)) {
		ret = hv_mem_hot_start();
		if (ret)
			pr_warn("vmdense_hyperv: hot hints for onlined memory not started: %d\n",
				ret);
	}
	ret = hv_mem_sysfs_init();
	if (ret)
		goto fail_cold;
	pr_info("vmdense_hyperv: cold hints %s, hot hints on online %s, %lu pages known zero (%s)\n",
		hv_mem.cold_active ? "on" : "off",
		hv_mem.hot_online_active ? "on" : "off",
		hv_mem.zeroed.known_zero,
		hv_mem.zeroed_early ? "during boot" : "at load");
	return 0;

fail_cold:
	hv_mem_hot_stop();
	hv_mem_cold_stop();
fail:
	hv_mem_free_pages();
	return ret;
}

static void __exit hv_mem_exit(void)
{
	hv_mem_sysfs_exit();
	hv_mem_hot_stop();
	/* waits for a batch in flight, which uses the input page */
	hv_mem_cold_stop();
	hv_mem_free_pages();
}

module_init(hv_mem_init);
module_exit(hv_mem_exit);

MODULE_DESCRIPTION("vmdense Hyper-V memory hints: cold hints, boot-zeroed memory");
MODULE_LICENSE("GPL");
