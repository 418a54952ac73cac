// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of mm/hinting: capture, sorting and batching, knob parsing,
 * staleness, thresholds and a full report cycle with a test consumer.
 *
 * The cycle tests use the live allocator: they register a consumer, free
 * blocks, run one worker pass synchronously and check what the consumer
 * was handed and that every block came back to the buddy allocator.
 */
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/hinting.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmstat.h>

#include "internal.h"	/* mm/internal.h */
#include "hinting_internal.h"

#define TEST_ORDER	4
#define TEST_BLOCKS	16
#define SEEN_MAX	1024

/* What the test consumer was handed. */
struct test_consumer {
	struct hinting_consumer hc;
	struct kunit *test;
	int err;			/* what report() answers */
	unsigned int calls;
	unsigned int n;
	unsigned long pfn[SEEN_MAX];
	unsigned int order[SEEN_MAX];
	bool in_use;			/* an entry was not isolated */
	unsigned int too_many;		/* a batch over capacity */
};

static int test_report(struct hinting_consumer *hc, struct scatterlist *sgl,
		       unsigned int nents)
{
	struct test_consumer *tc = container_of(hc, struct test_consumer, hc);
	struct scatterlist *sg;
	unsigned int i;

	tc->calls++;
	if (nents > hc->capacity)
		tc->too_many++;
	for_each_sg(sgl, sg, nents, i) {
		struct page *page = sg_page(sg);

		/* isolated: neither on a free list nor handed out */
		if (PageBuddy(page) || page_ref_count(page))
			tc->in_use = true;
		if (tc->n < SEEN_MAX) {
			tc->pfn[tc->n] = page_to_pfn(page);
			tc->order[tc->n++] = get_order(sg->length);
		}
	}
	return tc->err;
}

static struct hinting_knobs saved_knobs;

/* Knobs that make a pass deterministic: nothing runs on its own. */
static int hinting_test_init(struct kunit *test)
{
	struct test_consumer *tc;

	tc = kunit_kzalloc(test, sizeof(*tc), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tc);
	tc->hc.report = test_report;
	tc->hc.capacity = 8;
	tc->test = test;
	test->priv = tc;
	saved_knobs = hinting_knobs;
	return 0;
}

static void hinting_test_exit(struct kunit *test)
{
	struct test_consumer *tc = test->priv;

	hinting_unregister(&tc->hc);
	mutex_lock(&hinting_lock);
	hinting_knobs = saved_knobs;
	hinting_update_key();
	mutex_unlock(&hinting_lock);
}

/*
 * Register, and let one pass report what was free before (registering
 * seeds those blocks), so that the test sees its own frees afterwards.
 */
static void register_clean(struct kunit *test, struct test_consumer *tc)
{
	KUNIT_ASSERT_EQ(test, hinting_register(&tc->hc), 0);
	hinting_run();
	tc->calls = 0;
	tc->n = 0;
	tc->in_use = false;
	tc->too_many = 0;
}

static void set_cycle_knobs(unsigned int report_threshold)
{
	/* no hold: a pass reports what was freed just before it */
	WRITE_ONCE(hinting_knobs.adaptive, 0);
	WRITE_ONCE(hinting_knobs.min_order, TEST_ORDER);
	WRITE_ONCE(hinting_knobs.wake_threshold, HINTING_PCP_SLOTS);
	WRITE_ONCE(hinting_knobs.delay_ms, 60000);
	WRITE_ONCE(hinting_knobs.report_batch, 4);
	WRITE_ONCE(hinting_knobs.report_threshold, report_threshold);
	WRITE_ONCE(hinting_knobs.enabled, 1);
}

static void test_capture(struct kunit *test)
{
	struct hinting_pcp *pcp = kunit_kzalloc(test, sizeof(*pcp), GFP_KERNEL);
	struct hinting_entry *e;
	unsigned long lost = 0;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, pcp);
	e = kunit_kcalloc(test, HINTING_PCP_SLOTS, sizeof(*e), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);

	/* the wake answer turns true exactly at the threshold */
	for (i = 0; i < 9; i++)
		KUNIT_EXPECT_EQ(test, hinting_pcp_add(pcp, 1000 + i, i, 77 + i,
						      10), false);
	KUNIT_EXPECT_TRUE(test, hinting_pcp_add(pcp, 2000, MAX_PAGE_ORDER, 5,
						10));

	/* a full array drops and counts */
	for (i = 10; i < HINTING_PCP_SLOTS; i++)
		hinting_pcp_add(pcp, i, 0, 0, 10);
	KUNIT_EXPECT_EQ(test, pcp->dropped, 0UL);
	KUNIT_EXPECT_TRUE(test, hinting_pcp_add(pcp, 5, 0, 0, 10));
	KUNIT_EXPECT_EQ(test, pcp->dropped, 1UL);
	KUNIT_EXPECT_EQ(test, pcp->captured, (unsigned long)HINTING_PCP_SLOTS);

	/* taking decodes pfn and order; what does not fit is lost */
	KUNIT_EXPECT_EQ(test, hinting_pcp_take(pcp, e, 20, &lost), 20U);
	KUNIT_EXPECT_EQ(test, lost, (unsigned long)HINTING_PCP_SLOTS - 20);
	KUNIT_EXPECT_EQ(test, pcp->count, 0U);
	KUNIT_EXPECT_EQ(test, e[3].pfn, 1003UL);
	KUNIT_EXPECT_EQ(test, e[3].order, 3U);
	KUNIT_EXPECT_EQ(test, e[3].when, 80UL);
	KUNIT_EXPECT_FALSE(test, e[3].held);
	KUNIT_EXPECT_EQ(test, e[9].pfn, 2000UL);
	KUNIT_EXPECT_EQ(test, e[9].order, (unsigned int)MAX_PAGE_ORDER);
}

static void test_sort_batch(struct kunit *test)
{
	struct zone *za = (struct zone *)0x1000, *zb = (struct zone *)0x2000;
	struct hinting_entry e[] = {
		{ 90, 1, .zone = zb }, { 50, 0, .zone = za },
		{ 10, 2, .zone = zb }, { 30, 0, .zone = za },
		{ 20, 0, .zone = za }, { 40, 0, .zone = za },
		{ 70, 3, .zone = zb },
	};
	unsigned int i, n = ARRAY_SIZE(e);

	hinting_sort(e, n);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_PTR_EQ(test, e[i].zone, za);
	for (i = 1; i < n; i++)
		if (e[i].zone == e[i - 1].zone)
			KUNIT_EXPECT_LT(test, e[i - 1].pfn, e[i].pfn);
	KUNIT_EXPECT_EQ(test, e[0].pfn, 20UL);
	KUNIT_EXPECT_EQ(test, e[4].pfn, 10UL);

	/* runs stop at a zone change and at the batch size */
	KUNIT_EXPECT_EQ(test, hinting_batch_end(e, 0, n, 16), 4U);
	KUNIT_EXPECT_EQ(test, hinting_batch_end(e, 0, n, 3), 3U);
	KUNIT_EXPECT_EQ(test, hinting_batch_end(e, 3, n, 16), 4U);
	KUNIT_EXPECT_EQ(test, hinting_batch_end(e, 4, n, 16), 7U);
	KUNIT_EXPECT_EQ(test, hinting_batch_end(e, 7, n, 16), 7U);
	KUNIT_EXPECT_EQ(test, hinting_pages(e, n), 4UL + 4 + 8 + 2);
}

static void test_parse_knob(struct kunit *test)
{
	unsigned int v = 77;

	KUNIT_EXPECT_EQ(test, hinting_parse_knob("5\n", 1, 10, &v), 0);
	KUNIT_EXPECT_EQ(test, v, 5U);
	KUNIT_EXPECT_EQ(test, hinting_parse_knob("10", 1, 10, &v), 0);
	KUNIT_EXPECT_EQ(test, v, 10U);
	v = 77;
	KUNIT_EXPECT_EQ(test, hinting_parse_knob("11", 1, 10, &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, hinting_parse_knob("0", 1, 10, &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, hinting_parse_knob("-1", 0, 10, &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, hinting_parse_knob("3x", 0, 10, &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, hinting_parse_knob("", 0, 10, &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, hinting_parse_knob("0x3", 0, 10, &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, hinting_parse_knob("99999999999", 0, ~0U, &v),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, v, 77U);
}

/* Is @pfn inside a free buddy block (of any order)? Zone lock held. */
static bool pfn_is_free(unsigned long pfn)
{
	unsigned int order;

	for (order = 0; order <= MAX_PAGE_ORDER; order++) {
		struct page *head = pfn_to_page(pfn & ~((1UL << order) - 1));

		if (PageBuddy(head) && buddy_order(head) >= order)
			return true;
	}
	return false;
}

static unsigned int count_back_free(struct test_consumer *tc)
{
	unsigned int i, back = 0;
	unsigned long flags;

	for (i = 0; i < tc->n; i++) {
		struct zone *zone = page_zone(pfn_to_page(tc->pfn[i]));

		spin_lock_irqsave(&zone->lock, flags);
		if (pfn_is_free(tc->pfn[i]))
			back++;
		spin_unlock_irqrestore(&zone->lock, flags);
	}
	return back;
}

static unsigned long covered(struct test_consumer *tc, struct page **blocks)
{
	unsigned int b, i;
	unsigned long n = 0;

	for (b = 0; b < TEST_BLOCKS; b++) {
		unsigned long pfn = page_to_pfn(blocks[b]);

		for (i = 0; i < tc->n; i++)
			if (pfn >= tc->pfn[i] &&
			    pfn < tc->pfn[i] + (1UL << tc->order[i])) {
				n++;
				break;
			}
	}
	return n;
}

static void alloc_blocks(struct kunit *test, struct page **blocks)
{
	unsigned int b;

	for (b = 0; b < TEST_BLOCKS; b++) {
		blocks[b] = alloc_pages(GFP_KERNEL, TEST_ORDER);
		KUNIT_ASSERT_NOT_NULL(test, blocks[b]);
	}
}

static void free_blocks(struct page **blocks)
{
	unsigned int b;

	for (b = 0; b < TEST_BLOCKS; b++)
		__free_pages(blocks[b], TEST_ORDER);
}

/*
 * The full cycle: freed blocks are reported in batches of at most
 * report_batch, isolated while reported, and all come back free; the free
 * page count is what it was before the frees plus the blocks (give or take
 * the rest of the system, far less than what was isolated).
 */
static void test_cycle_returns_everything(struct kunit *test, int err)
{
	struct test_consumer *tc = test->priv;
	struct page *blocks[TEST_BLOCKS];
	unsigned long before, after, iso0, rep0, fail0, isolated;
	long drift;

	set_cycle_knobs(1);
	register_clean(test, tc);
	tc->err = err;
	alloc_blocks(test, blocks);
	/*
	 * Counted before the frees: a full per-CPU array wakes the worker,
	 * and its pass on another CPU may report the blocks before ours.
	 */
	iso0 = atomic_long_read(&hinting_stats.isolated);
	rep0 = atomic_long_read(&hinting_stats.reported_pages);
	fail0 = atomic_long_read(&hinting_stats.failed);
	before = global_zone_page_state(NR_FREE_PAGES) +
		 (TEST_BLOCKS << TEST_ORDER);
	free_blocks(blocks);
	hinting_run();
	after = global_zone_page_state(NR_FREE_PAGES);
	isolated = atomic_long_read(&hinting_stats.isolated) - iso0;

	KUNIT_EXPECT_GT(test, tc->calls, 0U);
	KUNIT_EXPECT_EQ(test, tc->too_many, 0U);
	KUNIT_EXPECT_FALSE(test, tc->in_use);
	KUNIT_EXPECT_GT(test, covered(tc, blocks), 0UL);
	KUNIT_EXPECT_GE(test, isolated,
			(unsigned long)(TEST_BLOCKS << TEST_ORDER) / 2);
	/* every isolated page went through report and came back */
	if (err)
		KUNIT_EXPECT_EQ(test, atomic_long_read(&hinting_stats.failed) -
				fail0, isolated);
	else
		KUNIT_EXPECT_EQ(test,
				atomic_long_read(&hinting_stats.reported_pages) -
				rep0, isolated);
	KUNIT_EXPECT_EQ(test, count_back_free(tc), tc->n);
	drift = (long)after - (long)before;
	KUNIT_EXPECT_LT(test, abs(drift), (long)isolated / 4);
}

static void test_cycle(struct kunit *test)
{
	test_cycle_returns_everything(test, 0);
}

static void test_cycle_failure(struct kunit *test)
{
	test_cycle_returns_everything(test, -EIO);
}

/*
 * Entries that no longer describe a free, unreported block of their order
 * are stale: an allocated block, a free block with the wrong order, a
 * block reported already. None of them reaches the consumer.
 */
static void test_stale(struct kunit *test)
{
	struct test_consumer *tc = test->priv;
	struct page *held, *blocks[TEST_BLOCKS];
	unsigned long stale0, pfn;
	unsigned int i, n;

	set_cycle_knobs(1);
	register_clean(test, tc);

	/* first report some blocks, so that reported ones exist */
	alloc_blocks(test, blocks);
	free_blocks(blocks);
	hinting_run();
	n = tc->n;
	KUNIT_ASSERT_GT(test, n, 0U);

	held = alloc_pages(GFP_KERNEL, TEST_ORDER);
	KUNIT_ASSERT_NOT_NULL(test, held);
	stale0 = atomic_long_read(&hinting_stats.stale);
	tc->n = 0;
	local_irq_disable();
	hinting_notify_free(held, TEST_ORDER);
	hinting_notify_free(held, TEST_ORDER + 1);
	for (i = 0; i < n; i++)
		hinting_notify_free(pfn_to_page(tc->pfn[i]), tc->order[i]);
	local_irq_enable();
	hinting_run();
	pfn = page_to_pfn(held);
	for (i = 0; i < tc->n; i++)
		KUNIT_EXPECT_FALSE(test, pfn >= tc->pfn[i] &&
				   pfn < tc->pfn[i] + (1UL << tc->order[i]));
	KUNIT_EXPECT_GE(test, atomic_long_read(&hinting_stats.stale) - stale0,
			2UL);
	__free_pages(held, TEST_ORDER);
}

/* Below report_threshold entries wait; once above it they are reported. */
static void test_threshold(struct kunit *test)
{
	struct test_consumer *tc = test->priv;
	struct page *blocks[TEST_BLOCKS];

	set_cycle_knobs(1);
	register_clean(test, tc);
	WRITE_ONCE(hinting_knobs.report_threshold, 1U << 24);
	alloc_blocks(test, blocks);
	free_blocks(blocks);
	hinting_run();
	KUNIT_EXPECT_EQ(test, tc->calls, 0U);

	WRITE_ONCE(hinting_knobs.report_threshold, 1);
	hinting_run();
	KUNIT_EXPECT_GT(test, tc->calls, 0U);
	KUNIT_EXPECT_GT(test, covered(tc, blocks), 0UL);
	KUNIT_EXPECT_EQ(test, count_back_free(tc), tc->n);
}

/* A second consumer is refused; nothing is captured without one. */
static void test_one_consumer(struct kunit *test)
{
	struct test_consumer *tc = test->priv;
	struct hinting_consumer other = { .report = test_report, .capacity = 1 };

	KUNIT_ASSERT_EQ(test, hinting_register(&tc->hc), 0);
	KUNIT_EXPECT_TRUE(test, hinting_capturing());
	KUNIT_EXPECT_EQ(test, hinting_register(&other), -EBUSY);
	hinting_unregister(&other);
	KUNIT_EXPECT_PTR_EQ(test, hinting_consumer, &tc->hc);
	hinting_unregister(&tc->hc);
	KUNIT_EXPECT_NULL(test, hinting_consumer);
	KUNIT_EXPECT_FALSE(test, hinting_capturing());
}

/*
 * A block whose report failed is captured again, so that a later pass
 * offers it once more; one that was reported is not.
 */
static void test_failed_recaptured(struct kunit *test)
{
	struct test_consumer *tc = test->priv;
	struct page *blocks[TEST_BLOCKS];
	unsigned long captured0, dropped0, captured1, dropped1;
	unsigned int n;

	set_cycle_knobs(1);
	register_clean(test, tc);
	tc->err = -EIO;
	alloc_blocks(test, blocks);
	free_blocks(blocks);
	hinting_capture_totals(&captured0, &dropped0);
	hinting_run();
	n = tc->n;
	KUNIT_ASSERT_GT(test, n, 0U);
	hinting_capture_totals(&captured1, &dropped1);
	KUNIT_EXPECT_GE(test, captured1 - captured0, (unsigned long)n / 2);

	/* the next pass offers them again, and this time they go */
	tc->err = 0;
	tc->n = 0;
	hinting_run();
	KUNIT_EXPECT_GT(test, covered(tc, blocks), 0UL);
	KUNIT_EXPECT_EQ(test, count_back_free(tc), tc->n);
}

/* Entries younger than a zone's hold wait; once old enough they go. */
static void test_hold(struct kunit *test)
{
	struct test_consumer *tc = test->priv;
	struct page *blocks[TEST_BLOCKS];
	unsigned long held0 = atomic_long_read(&hinting_stats.held);
	unsigned int i;

	set_cycle_knobs(1);
	register_clean(test, tc);
	alloc_blocks(test, blocks);
	/*
	 * As if every zone held back for a minute. The hold comes before
	 * the frees: a full per-CPU array wakes the worker at once, and it
	 * may run its pass on another CPU before ours.
	 */
	WRITE_ONCE(hinting_knobs.adaptive, 1);
	for (i = 0; i < TEST_BLOCKS; i++)
		hinting_test_set_hold(page_zone(blocks[i]), 60 * HZ);
	free_blocks(blocks);
	hinting_run();
	KUNIT_EXPECT_EQ(test, covered(tc, blocks), 0UL);
	KUNIT_EXPECT_GT(test, atomic_long_read(&hinting_stats.held) - held0,
			0UL);

	/* without the hold, the entries kept are reported */
	for (i = 0; i < TEST_BLOCKS; i++)
		hinting_test_set_hold(page_zone(blocks[i]), 0);
	hinting_run();
	KUNIT_EXPECT_GT(test, covered(tc, blocks), 0UL);
	KUNIT_EXPECT_EQ(test, count_back_free(tc), tc->n);
}

/*
 * The watermark guard: with the floor (the low watermark plus
 * report_batch << min_order) far above what is free, nothing is
 * isolated, and the entries wait for a later pass.
 */
static void test_watermark_guard(struct kunit *test)
{
	struct test_consumer *tc = test->priv;
	struct page *blocks[TEST_BLOCKS];
	unsigned long guarded0 = atomic_long_read(&hinting_stats.guarded);

	set_cycle_knobs(1);
	register_clean(test, tc);
	alloc_blocks(test, blocks);
	free_blocks(blocks);
	/* captured at TEST_ORDER already; the floor is now ~1 GiB */
	WRITE_ONCE(hinting_knobs.min_order, MAX_PAGE_ORDER);
	WRITE_ONCE(hinting_knobs.report_batch, HINTING_MAX_BATCH);
	hinting_run();
	KUNIT_EXPECT_EQ(test, tc->calls, 0U);
	KUNIT_EXPECT_GT(test, atomic_long_read(&hinting_stats.guarded) -
			guarded0, 0UL);
	set_cycle_knobs(1);
	hinting_run();
	KUNIT_EXPECT_GT(test, covered(tc, blocks), 0UL);
	KUNIT_EXPECT_EQ(test, count_back_free(tc), tc->n);
}

/*
 * A carry that fills the buffer is processed whatever report_threshold
 * says: a threshold larger than the buffer would otherwise stall
 * reporting for good. The entries are made up (stale), so what shows is
 * that they were looked at.
 */
static void test_full_buffer_goes(struct kunit *test)
{
	struct test_consumer *tc = test->priv;
	unsigned long stale0, n;

	set_cycle_knobs(1U << 24);
	register_clean(test, tc);
	stale0 = atomic_long_read(&hinting_stats.stale);
	n = hinting_test_fill_carry();
	hinting_run();
	KUNIT_EXPECT_GE(test, atomic_long_read(&hinting_stats.stale) - stale0,
			n);
}

static struct kunit_case hinting_cases[] = {
	KUNIT_CASE(test_capture),
	KUNIT_CASE(test_sort_batch),
	KUNIT_CASE(test_parse_knob),
	KUNIT_CASE(test_cycle),
	KUNIT_CASE(test_cycle_failure),
	KUNIT_CASE(test_stale),
	KUNIT_CASE(test_threshold),
	KUNIT_CASE(test_one_consumer),
	KUNIT_CASE(test_failed_recaptured),
	KUNIT_CASE(test_hold),
	KUNIT_CASE(test_watermark_guard),
	KUNIT_CASE(test_full_buffer_goes),
	{}
};

static struct kunit_suite hinting_suite = {
	.name = "mm_hinting",
	.init = hinting_test_init,
	.exit = hinting_test_exit,
	.test_cases = hinting_cases,
};

kunit_test_suite(hinting_suite);

MODULE_DESCRIPTION("KUnit tests of free page hinting");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
