// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the heat-hint range encoding. The encoder is built into
 * this module as well (vmdense_hyperv itself only loads under Hyper-V).
 */
#include <kunit/test.h>
#include <linux/module.h>

#include "ranges.c"

#define MAX_R	16

/* the first pfn an entry describes, decoded the way the host does */
static unsigned long entry_pfn(union hv_gpa_page_range r)
{
	return r.page.largepage ? (unsigned long)r.base_large_pfn * PAGES_2M :
				  r.page.basepfn;
}

/*
 * Encode [pfn, pfn + nr) into at most @room entries and check that they
 * cover [pfn, pfn + used) exactly, in order, each large one aligned to
 * its size. Returns the entry count.
 */
static unsigned int encode(struct kunit *test, union hv_gpa_page_range *r,
			   unsigned int room, unsigned long pfn,
			   unsigned long nr, unsigned long *used)
{
	unsigned int n, i;
	unsigned long at = pfn;

	n = hv_mem_fill_ranges(r, room, pfn, nr, used);
	KUNIT_EXPECT_LE(test, n, room);
	KUNIT_EXPECT_LE(test, *used, nr);
	for (i = 0; i < n; i++) {
		unsigned long pages = hv_mem_range_pages(r[i]);

		KUNIT_EXPECT_EQ(test, entry_pfn(r[i]), at);
		if (r[i].page.largepage)
			KUNIT_EXPECT_TRUE(test, IS_ALIGNED(at, pages /
					  (r[i].page.additional_pages + 1)));
		at += pages;
	}
	KUNIT_EXPECT_EQ(test, at, pfn + *used);
	return n;
}

static void ranges_small(struct kunit *test)
{
	union hv_gpa_page_range r[MAX_R];
	unsigned long used;

	KUNIT_ASSERT_EQ(test, encode(test, r, MAX_R, 5, 3, &used), 1U);
	KUNIT_EXPECT_EQ(test, used, 3UL);
	KUNIT_EXPECT_EQ(test, (unsigned int)r[0].page.largepage, 0U);
	KUNIT_EXPECT_EQ(test, (unsigned int)r[0].page.additional_pages, 2U);
	KUNIT_EXPECT_EQ(test, (unsigned long)r[0].page.basepfn, 5UL);
}

/* a 4 KiB head up to the 2 MiB boundary, 2 MiB units, a 4 KiB tail */
static void ranges_head_2m_tail(struct kunit *test)
{
	union hv_gpa_page_range r[MAX_R];
	unsigned long used;

	KUNIT_ASSERT_EQ(test, encode(test, r, MAX_R, 510, 2 + 3 * 512 + 7,
				     &used), 3U);
	KUNIT_EXPECT_EQ(test, used, 2UL + 3 * 512 + 7);
	KUNIT_EXPECT_EQ(test, hv_mem_range_pages(r[0]), 2UL);
	KUNIT_EXPECT_EQ(test, (unsigned int)r[1].page.largepage, 1U);
	KUNIT_EXPECT_EQ(test, (unsigned int)r[1].page_size,
			(unsigned int)HV_GPA_PAGE_RANGE_PAGE_SIZE_2MB);
	KUNIT_EXPECT_EQ(test, (unsigned long)r[1].base_large_pfn, 1UL);
	KUNIT_EXPECT_EQ(test, hv_mem_range_pages(r[1]), 3UL * 512);
	KUNIT_EXPECT_EQ(test, hv_mem_range_pages(r[2]), 7UL);
}

/* 2 MiB units stop at the 1 GiB boundary; 1 GiB units follow */
static void ranges_1g(struct kunit *test)
{
	union hv_gpa_page_range r[MAX_R];
	unsigned long used, start = PAGES_1G - 2 * PAGES_2M;

	KUNIT_ASSERT_EQ(test, encode(test, r, MAX_R, start,
				     2 * PAGES_2M + 3 * PAGES_1G + PAGES_2M,
				     &used), 3U);
	KUNIT_EXPECT_EQ(test, hv_mem_range_pages(r[0]), 2 * PAGES_2M);
	KUNIT_EXPECT_EQ(test, (unsigned int)r[1].page_size,
			(unsigned int)HV_GPA_PAGE_RANGE_PAGE_SIZE_1GB);
	KUNIT_EXPECT_EQ(test, (unsigned int)r[1].page.additional_pages, 2U);
	KUNIT_EXPECT_EQ(test, (unsigned long)r[1].base_large_pfn, 512UL);
	KUNIT_EXPECT_EQ(test, hv_mem_range_pages(r[2]), PAGES_2M);
}

/* 2048 units at most per entry */
static void ranges_unit_limit(struct kunit *test)
{
	union hv_gpa_page_range r[MAX_R];
	unsigned long used;

	KUNIT_ASSERT_EQ(test, encode(test, r, MAX_R, 0, 2049 * PAGES_1G,
				     &used), 2U);
	KUNIT_EXPECT_EQ(test, (unsigned int)r[0].page.additional_pages, 2047U);
	KUNIT_EXPECT_EQ(test, hv_mem_range_pages(r[1]), PAGES_1G);
}

/* out of room: what was written is exact, *used says where to go on */
static void ranges_room(struct kunit *test)
{
	union hv_gpa_page_range r[MAX_R];
	unsigned long used;

	KUNIT_ASSERT_EQ(test, encode(test, r, 1, 510, 2 + PAGES_2M, &used),
			1U);
	KUNIT_EXPECT_EQ(test, used, 2UL);
	KUNIT_ASSERT_EQ(test, encode(test, r, 1, 512, PAGES_2M, &used), 1U);
	KUNIT_EXPECT_EQ(test, used, PAGES_2M);
	KUNIT_EXPECT_EQ(test, encode(test, r, 0, 512, PAGES_2M, &used), 0U);
	KUNIT_EXPECT_EQ(test, used, 0UL);
}

/* a full input page of scattered single pages */
static void ranges_full_page(struct kunit *test)
{
	union hv_gpa_page_range *r;
	unsigned long used, total = 0, pfn;
	unsigned int n = 0;

	r = kunit_kcalloc(test, HV_MEM_RANGES_MAX, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	for (pfn = 1; n < HV_MEM_RANGES_MAX; pfn += 2) {
		n += hv_mem_fill_ranges(r + n, HV_MEM_RANGES_MAX - n, pfn, 1,
					&used);
		total += used;
	}
	KUNIT_EXPECT_EQ(test, n, (unsigned int)HV_MEM_RANGES_MAX);
	KUNIT_EXPECT_EQ(test, total, (unsigned long)HV_MEM_RANGES_MAX);
	KUNIT_EXPECT_EQ(test, entry_pfn(r[HV_MEM_RANGES_MAX - 1]), pfn - 2);
	KUNIT_EXPECT_EQ(test, hv_mem_fill_ranges(r, 0, pfn, 1, &used), 0U);
}

static struct kunit_case ranges_cases[] = {
	KUNIT_CASE(ranges_small),
	KUNIT_CASE(ranges_head_2m_tail),
	KUNIT_CASE(ranges_1g),
	KUNIT_CASE(ranges_unit_limit),
	KUNIT_CASE(ranges_room),
	KUNIT_CASE(ranges_full_page),
	{}
};

static struct kunit_suite ranges_suite = {
	.name = "vmdense_hyperv_ranges",
	.test_cases = ranges_cases,
};

kunit_test_suite(ranges_suite);

MODULE_DESCRIPTION("KUnit tests of vmdense_hyperv's heat-hint ranges");
MODULE_LICENSE("GPL");
