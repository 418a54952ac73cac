// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: read one word of every online page frame in a range,
 * through the direct map, and say how long that took. Reading changes
 * nothing in the guest, but it is the first touch the host sees of pages
 * it has not backed yet, so a test can compare memory the host was told
 * to prefault (a hot hint) with memory it was not. Pages a virtio-mem
 * driver keeps fake-offline are skipped: the host has nothing behind them.
 */
#include <linux/ktime.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/page-flags.h>

static unsigned long pfn;
module_param(pfn, ulong, 0444);
MODULE_PARM_DESC(pfn, "first page frame");

static unsigned long nr;
module_param(nr, ulong, 0444);
MODULE_PARM_DESC(nr, "page frames to read");

static int __init first_touch_init(void)
{
	unsigned long i, touched = 0, sum = 0;
	ktime_t t0;

	if (!nr || pfn + nr < pfn)
		return -EINVAL;
	t0 = ktime_get();
	for (i = pfn; i < pfn + nr; i++) {
		struct page *page = pfn_to_online_page(i);

		if (!page || PageOffline(page))
			continue;
		sum += READ_ONCE(*(unsigned long *)page_address(page));
		touched++;
		if (!(touched % 4096))
			cond_resched();
	}
	pr_info("first_touch: pfn=%#lx touched=%lu ns=%lld sum=%#lx\n", pfn,
		touched, ktime_to_ns(ktime_sub(ktime_get(), t0)), sum);
	return 0;
}

static void __exit first_touch_exit(void)
{
}

module_init(first_touch_init);
module_exit(first_touch_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmdense test: time the first read of a range of memory");
