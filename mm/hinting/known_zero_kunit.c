// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of known-zero tracking on a private map of made-up pfns:
 * only pages that were pristine and named zero by the host skip clearing,
 * once; anything else, and any partly known block, is cleared.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "known_zero.h"

#define KZ_PFNS	1024

static int kz_test_init(struct kunit *test)
{
	struct kz_map *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, m);
	m->nr_pfns = KZ_PFNS;
	m->pristine = kunit_kcalloc(test, BITS_TO_LONGS(KZ_PFNS),
				    sizeof(long), GFP_KERNEL);
	m->zero = kunit_kcalloc(test, BITS_TO_LONGS(KZ_PFNS), sizeof(long),
				GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m->pristine);
	KUNIT_ASSERT_NOT_NULL(test, m->zero);
	test->priv = m;
	return 0;
}

/* A host range alone never makes a page zero: it may have been written. */
static void test_zero_needs_pristine(struct kunit *test)
{
	struct kz_map *m = test->priv;

	KUNIT_EXPECT_EQ(test, kz_add_zero(m, 10, 4), 0UL);
	KUNIT_EXPECT_FALSE(test, kz_take(m, 10, 1, true, true));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->done), 1L);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->skipped), 0L);
}

/* Pristine without a host guarantee is not zero either. */
static void test_pristine_alone(struct kunit *test)
{
	struct kz_map *m = test->priv;

	kz_mark_pristine(m, 0, 64);
	KUNIT_EXPECT_FALSE(test, kz_take(m, 5, 1, true, true));
}

/* pfns [0, @pristine) pristine, the first @zero of them named zero */
static void kz_known_zero(struct kunit *test, struct kz_map *m,
			  unsigned long pristine, unsigned long zero)
{
	kz_mark_pristine(m, 0, pristine);
	KUNIT_EXPECT_EQ(test, kz_add_zero(m, 0, zero), zero);
}

/* Known-zero skips clearing exactly once: allocation consumes it. */
static void test_skip_once(struct kunit *test)
{
	struct kz_map *m = test->priv;

	kz_known_zero(test, m, 64, 64);
	KUNIT_EXPECT_TRUE(test, kz_take(m, 8, 8, true, true));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->skipped), 8L);
	/* freed and allocated again: it may hold data now */
	KUNIT_EXPECT_FALSE(test, kz_take(m, 8, 8, true, true));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->done), 8L);
}

/*
 * Skipping not allowed (skip_zeroing 0): the page is cleared, counted as
 * done and as known-zero cleared, and its state is consumed all the same.
 */
static void test_no_skip_counts(struct kunit *test)
{
	struct kz_map *m = test->priv;

	kz_known_zero(test, m, 16, 8);
	KUNIT_EXPECT_FALSE(test, kz_take(m, 0, 4, true, false));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->done), 4L);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->done_zero), 4L);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->skipped), 0L);
	/* pristine but not named zero: done, not known-zero */
	KUNIT_EXPECT_FALSE(test, kz_take(m, 10, 1, true, false));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->done_zero), 4L);
	/* consumed: skipping allowed again finds nothing to skip */
	KUNIT_EXPECT_FALSE(test, kz_take(m, 0, 4, true, true));
	KUNIT_EXPECT_TRUE(test, kz_take(m, 4, 4, true, true));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->skipped), 4L);
}

/* A host range named after allocation does not bring a page back. */
static void test_add_after_alloc(struct kunit *test)
{
	struct kz_map *m = test->priv;

	kz_mark_pristine(m, 0, 16);
	KUNIT_EXPECT_FALSE(test, kz_take(m, 3, 1, false, true));
	KUNIT_EXPECT_EQ(test, kz_add_zero(m, 0, 16), 15UL);
	KUNIT_EXPECT_FALSE(test, kz_take(m, 3, 1, true, true));
	KUNIT_EXPECT_TRUE(test, kz_take(m, 4, 1, true, true));
}

/* An allocation that does not clear still consumes the state. */
static void test_no_init_consumes(struct kunit *test)
{
	struct kz_map *m = test->priv;

	kz_mark_pristine(m, 0, 4);
	kz_add_zero(m, 0, 4);
	KUNIT_EXPECT_FALSE(test, kz_take(m, 0, 4, false, true));
	KUNIT_EXPECT_FALSE(test, kz_take(m, 0, 4, true, true));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->skipped), 0L);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(m->zero, KZ_PFNS));
	KUNIT_EXPECT_TRUE(test, bitmap_empty(m->pristine, KZ_PFNS));
}

/* A block only partly known-zero is cleared whole, and forgotten whole. */
static void test_partial_block(struct kunit *test)
{
	struct kz_map *m = test->priv;

	kz_mark_pristine(m, 32, 16);
	kz_add_zero(m, 32, 15);
	KUNIT_EXPECT_FALSE(test, kz_take(m, 32, 16, true, true));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->done), 16L);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(m->zero, KZ_PFNS));
}

/* Beyond the tracked pfns (hot-added memory) nothing is known. */
static void test_out_of_range(struct kunit *test)
{
	struct kz_map *m = test->priv;

	kz_mark_pristine(m, KZ_PFNS - 2, 8);
	KUNIT_EXPECT_EQ(test, kz_add_zero(m, KZ_PFNS - 2, 8), 2UL);
	KUNIT_EXPECT_FALSE(test, kz_take(m, KZ_PFNS - 2, 4, true, true));
	KUNIT_EXPECT_FALSE(test, kz_take(m, KZ_PFNS + 100, 1, true, true));
	KUNIT_EXPECT_EQ(test, kz_add_zero(m, KZ_PFNS + 5, 1), 0UL);
}

/* Offlined memory forgets everything. */
static void test_forget(struct kunit *test)
{
	struct kz_map *m = test->priv;

	kz_mark_pristine(m, 0, 128);
	kz_add_zero(m, 0, 128);
	kz_forget(m, 64, 64);
	KUNIT_EXPECT_FALSE(test, kz_take(m, 64, 1, true, true));
	KUNIT_EXPECT_TRUE(test, kz_take(m, 63, 1, true, true));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->marked), 128L);
}

/* Each page is counted once however often the host names it. */
static void test_marked_once(struct kunit *test)
{
	struct kz_map *m = test->priv;

	kz_mark_pristine(m, 0, 8);
	KUNIT_EXPECT_EQ(test, kz_add_zero(m, 0, 8), 8UL);
	KUNIT_EXPECT_EQ(test, kz_add_zero(m, 4, 8), 0UL);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->marked), 8L);
}

/* A host that lied once is believed for no page, already marked or not. */
static void test_refused(struct kunit *test)
{
	struct kz_map *m = test->priv;

	kz_known_zero(test, m, 64, 64);
	WRITE_ONCE(m->refused, true);
	KUNIT_EXPECT_FALSE(test, kz_take(m, 0, 4, true, true));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->skipped), 0L);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->done), 4L);
}

/*
 * Word-at-a-time marking and forgetting touch exactly the range, across
 * word edges, and keep the count of pristine pages exact: it is what
 * tells when tracking has nothing left and the hook's key can go.
 */
static void test_word_edges(struct kunit *test)
{
	struct kz_map *m = test->priv;
	unsigned long i;

	kz_mark_pristine(m, 60, 10);
	for (i = 56; i < 74; i++)
		KUNIT_EXPECT_EQ(test, kz_pristine(m, i), i >= 60 && i < 70);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->pristine_left), 10L);
	/* marking again what is marked counts nothing */
	kz_mark_pristine(m, 0, 128);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->pristine_left), 128L);
	KUNIT_EXPECT_EQ(test, kz_add_zero(m, 62, 100), 66UL);
	kz_take(m, 0, 8, false, true);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->pristine_left), 120L);
	kz_forget(m, 63, 2);
	KUNIT_EXPECT_FALSE(test, kz_pristine(m, 63));
	KUNIT_EXPECT_FALSE(test, kz_pristine(m, 64));
	KUNIT_EXPECT_TRUE(test, kz_pristine(m, 65));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->pristine_left), 118L);
	/* forgetting what is gone already counts nothing either */
	kz_forget(m, 0, 10);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->pristine_left), 116L);
	/* what stays known-zero after all that: 62 and 65..127 */
	KUNIT_EXPECT_TRUE(test, kz_take(m, 62, 1, true, true));
	KUNIT_EXPECT_FALSE(test, kz_take(m, 63, 1, true, true));
	KUNIT_EXPECT_TRUE(test, kz_take(m, 127, 1, true, true));
}

/*
 * The hook gives up its key only when nothing pristine is left and
 * nothing more will be marked: a count that drops to zero while free
 * lists are still being walked is no end of tracking.
 */
static void test_exhausted_after_marking(struct kunit *test)
{
	struct kz_map *m = test->priv;

	KUNIT_EXPECT_FALSE(test, kz_exhausted(m));
	kz_mark_pristine(m, 0, 8);
	kz_take(m, 0, 8, true, true);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&m->pristine_left), 0L);
	KUNIT_EXPECT_FALSE(test, kz_exhausted(m));
	kz_mark_pristine(m, 64, 4);
	kz_marking_done(m);
	KUNIT_EXPECT_FALSE(test, kz_exhausted(m));
	kz_take(m, 64, 2, true, true);
	KUNIT_EXPECT_FALSE(test, kz_exhausted(m));
	kz_forget(m, 66, 2);
	KUNIT_EXPECT_TRUE(test, kz_exhausted(m));
}

static struct kunit_case kz_cases[] = {
	KUNIT_CASE(test_zero_needs_pristine),
	KUNIT_CASE(test_pristine_alone),
	KUNIT_CASE(test_skip_once),
	KUNIT_CASE(test_no_skip_counts),
	KUNIT_CASE(test_add_after_alloc),
	KUNIT_CASE(test_no_init_consumes),
	KUNIT_CASE(test_partial_block),
	KUNIT_CASE(test_out_of_range),
	KUNIT_CASE(test_forget),
	KUNIT_CASE(test_marked_once),
	KUNIT_CASE(test_refused),
	KUNIT_CASE(test_word_edges),
	KUNIT_CASE(test_exhausted_after_marking),
	{}
};

static struct kunit_suite kz_suite = {
	.name = "mm_hinting_known_zero",
	.init = kz_test_init,
	.test_cases = kz_cases,
};

kunit_test_suite(kz_suite);

MODULE_DESCRIPTION("KUnit tests of known-zero tracking");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
