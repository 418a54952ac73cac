// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: time the allocator's free path, so that what
 * mm/hinting's capture adds to it can be measured where it arises rather
 * than in the noise of a whole workload. A write of N to
 * /sys/module/vmdense_free_cost/parameters/blocks allocates N blocks of
 * the order in the "order" parameter, then frees them one after the
 * other and times only the frees; a write of N to .../pages does the same
 * with N single pages (which go through the per-CPU lists, as most of a
 * workload's frees do). The nanoseconds the frees took are then in
 * .../parameters/last_free_ns. The caller flips
 * /sys/kernel/mm/hinting/enabled between runs and pairs them
 * (tests/guest/bench/capture_cost.sh).
 */
#include <linux/bits.h>
#include <linux/gfp.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

/* at most this many allocations held by one run */
#define FREE_COST_MAX	BIT(18)

/*
 * The largest order by default: such blocks never sit on the per-CPU
 * lists, so each free reaches the buddy allocator (and the capture hook)
 * at once; a block of pageblock_order may stay on them under THP.
 */
static unsigned int order = MAX_PAGE_ORDER;
module_param(order, uint, 0644);
MODULE_PARM_DESC(order, "order of the blocks a write to blocks frees");

static DEFINE_MUTEX(run_lock);
static long last_free_ns;
module_param(last_free_ns, long, 0444);
MODULE_PARM_DESC(last_free_ns, "nanoseconds the frees of the last run took");

/*
 * Allocate @n allocations of @ord, free them, time the frees. Interrupts
 * stay on: what an interrupt costs falls on both modes alike, and the
 * caller takes medians of many pairs.
 */
static int free_cost_run(unsigned int ord, unsigned int n)
{
	struct page **held;
	unsigned int got, i;
	ktime_t t0;
	s64 ns;

	if (!n || n > FREE_COST_MAX || ord > MAX_PAGE_ORDER)
		return -EINVAL;
	held = kvmalloc_array(n, sizeof(*held), GFP_KERNEL);
	if (!held)
		return -ENOMEM;
	mutex_lock(&run_lock);
	for (got = 0; got < n; got++) {
		held[got] = alloc_pages(GFP_KERNEL | __GFP_NOWARN |
					__GFP_NORETRY, ord);
		if (!held[got])
			break;
	}
	t0 = ktime_get();
	for (i = 0; i < got; i++)
		__free_pages(held[i], ord);
	ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
	WRITE_ONCE(last_free_ns, got == n ? ns : -1);
	mutex_unlock(&run_lock);
	kvfree(held);
	/* fewer than asked: the caller's figures would not compare */
	return got == n ? 0 : -ENOMEM;
}

static int blocks_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;

	if (kstrtouint(val, 0, &n))
		return -EINVAL;
	return free_cost_run(READ_ONCE(order), n);
}

static int pages_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;

	if (kstrtouint(val, 0, &n))
		return -EINVAL;
	return free_cost_run(0, n);
}

static const struct kernel_param_ops blocks_ops = { .set = blocks_set };
static const struct kernel_param_ops pages_ops = { .set = pages_set };
module_param_cb(blocks, &blocks_ops, NULL, 0200);
MODULE_PARM_DESC(blocks, "allocate, then free and time, this many blocks");
module_param_cb(pages, &pages_ops, NULL, 0200);
MODULE_PARM_DESC(pages, "allocate, then free and time, this many pages");

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmdense test: time the page allocator's free path");
