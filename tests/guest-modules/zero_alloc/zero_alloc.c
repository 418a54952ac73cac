// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: time __GFP_ZERO allocations. Each write of a size in
 * MiB to /sys/module/vmdense_zero_alloc/parameters/grab takes that much
 * memory page by page with __GFP_ZERO and keeps it until the module is
 * unloaded, so that a later batch cannot get the same pages back. A test
 * can thus time one batch with the allocator clearing every page and one
 * with known-zero pages left as they are, in the same boot.
 */
#include <linux/gfp.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>

static LIST_HEAD(held);
static DEFINE_MUTEX(held_lock);
static unsigned long held_pages;

static int grab_set(const char *val, const struct kernel_param *kp)
{
	unsigned long mb, want, got = 0;
	ktime_t t0;
	s64 ns;

	if (kstrtoul(val, 0, &mb) || !mb || mb > 4096)	/* MiB */
		return -EINVAL;
	want = mb << (20 - PAGE_SHIFT);
	mutex_lock(&held_lock);
	t0 = ktime_get();
	while (got < want) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO |
					       __GFP_NOWARN);

		if (!page)
			break;
		list_add(&page->lru, &held);
		got++;
		if (!(got % 1024))
			cond_resched();
	}
	ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
	held_pages += got;
	mutex_unlock(&held_lock);
	pr_info("zero_alloc: pages=%lu alloc_ns=%lld held=%lu\n", got, ns,
		held_pages);
	return got == want ? 0 : -ENOMEM;
}

static const struct kernel_param_ops grab_ops = {
	.set = grab_set,
};
module_param_cb(grab, &grab_ops, NULL, 0200);
MODULE_PARM_DESC(grab, "MiB to allocate with __GFP_ZERO and hold");

static void __exit zero_alloc_exit(void)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, &held, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
}

static int __init zero_alloc_init(void)
{
	return 0;
}

module_init(zero_alloc_init);
module_exit(zero_alloc_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmdense test: time and hold __GFP_ZERO allocations");
