// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of vmdense virtio-mem's checks of device input: the
 * configuration, the layout derived from it, and which answers each
 * request may get. They run when the module is loaded.
 */
#include <kunit/test.h>
#include <linux/sizes.h>

#include "vmem.h"

/* A configuration like QEMU's: 2 GiB region at 4 GiB, 2 MiB blocks. */
static struct vmem_cfg vmem_test_cfg(void)
{
	return (struct vmem_cfg) {
		.block_size = SZ_2M,
		.addr = SZ_4G,
		.region_size = SZ_2G,
		.usable_size = SZ_512M,
		.plugged_size = 0,
		.requested_size = SZ_256M,
	};
}

static void vmem_test_cfg_good(struct kunit *test)
{
	struct vmem_cfg c = vmem_test_cfg();

	KUNIT_EXPECT_NULL(test, vmem_bad_cfg(&c));
	c.block_size = SZ_1G;
	c.usable_size = SZ_1G;
	c.requested_size = 0;
	KUNIT_EXPECT_NULL(test, vmem_bad_cfg(&c));
}

static void vmem_test_cfg_block_size(struct kunit *test)
{
	static const u64 bad[] = { 0, SZ_2M + SZ_1M, PAGE_SIZE / 2, 3 };
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vmem_cfg c = vmem_test_cfg();

		c.block_size = bad[i];
		KUNIT_EXPECT_NOT_NULL_MSG(test, vmem_bad_cfg(&c),
					  "block size %llu", bad[i]);
	}
}

static void vmem_test_cfg_region(struct kunit *test)
{
	struct vmem_cfg c = vmem_test_cfg();

	c.addr = SZ_4G + SZ_1M;			/* not block-aligned */
	KUNIT_EXPECT_NOT_NULL(test, vmem_bad_cfg(&c));
	c = vmem_test_cfg();
	c.region_size = SZ_2G + SZ_1M;		/* not whole blocks */
	KUNIT_EXPECT_NOT_NULL(test, vmem_bad_cfg(&c));
	c = vmem_test_cfg();
	c.region_size = 0;
	KUNIT_EXPECT_NOT_NULL(test, vmem_bad_cfg(&c));
	c = vmem_test_cfg();
	c.addr = ~0ULL - SZ_2M + 1;		/* wraps */
	KUNIT_EXPECT_NOT_NULL(test, vmem_bad_cfg(&c));
	c = vmem_test_cfg();
	c.addr = 1ULL << 60;			/* beyond physical memory */
	KUNIT_EXPECT_NOT_NULL(test, vmem_bad_cfg(&c));
}

static void vmem_test_cfg_sizes(struct kunit *test)
{
	struct vmem_cfg c = vmem_test_cfg();

	c.usable_size = SZ_4G;			/* larger than the region */
	KUNIT_EXPECT_NOT_NULL(test, vmem_bad_sizes(&c));
	c = vmem_test_cfg();
	c.requested_size = SZ_1G;		/* beyond the usable region */
	KUNIT_EXPECT_NOT_NULL(test, vmem_bad_sizes(&c));
	c = vmem_test_cfg();
	c.requested_size = SZ_1M;		/* half a block */
	KUNIT_EXPECT_NOT_NULL(test, vmem_bad_sizes(&c));
	c = vmem_test_cfg();
	c.plugged_size = SZ_1G;			/* beyond the usable region */
	KUNIT_EXPECT_NOT_NULL(test, vmem_bad_sizes(&c));
	c = vmem_test_cfg();
	c.requested_size = c.usable_size;	/* all of it is fine */
	KUNIT_EXPECT_NULL(test, vmem_bad_sizes(&c));
}

static void vmem_test_layout_sub_block(struct kunit *test)
{
	struct vmem_cfg c = vmem_test_cfg();
	struct vmem_layout l;

	vmem_layout(&c, SZ_128M, SZ_2M, &l);
	KUNIT_EXPECT_FALSE(test, l.big_block);
	KUNIT_EXPECT_EQ(test, l.unit_size, SZ_128M);
	KUNIT_EXPECT_EQ(test, l.sb_size, SZ_2M);
	KUNIT_EXPECT_EQ(test, l.sbs_per_unit, 64);
	KUNIT_EXPECT_EQ(test, l.mb_per_unit, 1);
	KUNIT_EXPECT_EQ(test, l.units_start, SZ_4G);
	KUNIT_EXPECT_EQ(test, l.nr_units, 16);

	/* blocks smaller than a pageblock are plugged a pageblock at a time */
	c.block_size = SZ_4K;
	vmem_layout(&c, SZ_128M, SZ_2M, &l);
	KUNIT_EXPECT_EQ(test, l.sb_size, SZ_2M);
}

static void vmem_test_layout_big_block(struct kunit *test)
{
	struct vmem_cfg c = vmem_test_cfg();
	struct vmem_layout l;

	c.block_size = SZ_256M;
	vmem_layout(&c, SZ_128M, SZ_2M, &l);
	KUNIT_EXPECT_TRUE(test, l.big_block);
	KUNIT_EXPECT_EQ(test, l.unit_size, SZ_256M);
	KUNIT_EXPECT_EQ(test, l.sbs_per_unit, 1);
	KUNIT_EXPECT_EQ(test, l.mb_per_unit, 2);
	KUNIT_EXPECT_EQ(test, l.nr_units, 8);
}

static void vmem_test_layout_edges(struct kunit *test)
{
	struct vmem_cfg c = vmem_test_cfg();
	struct vmem_layout l;

	/* only the one memory block wholly inside is used */
	c.addr = SZ_4G + SZ_64M;
	c.region_size = SZ_256M;
	vmem_layout(&c, SZ_128M, SZ_2M, &l);
	KUNIT_EXPECT_EQ(test, l.units_start, SZ_4G + SZ_128M);
	KUNIT_EXPECT_EQ(test, l.nr_units, 1);

	c.region_size = SZ_64M;
	vmem_layout(&c, SZ_128M, SZ_2M, &l);
	KUNIT_EXPECT_EQ(test, l.nr_units, 0);
}

static void vmem_test_answers(struct kunit *test)
{
	int r;

	for (r = VIRTIO_MEM_RESP_ACK; r <= VIRTIO_MEM_RESP_ERROR; r++)
		KUNIT_EXPECT_TRUE(test, vmem_answer_allowed(VIRTIO_MEM_REQ_PLUG, r));
	KUNIT_EXPECT_FALSE(test, vmem_answer_allowed(VIRTIO_MEM_REQ_UNPLUG,
						     VIRTIO_MEM_RESP_NACK));
	KUNIT_EXPECT_TRUE(test, vmem_answer_allowed(VIRTIO_MEM_REQ_UNPLUG,
						    VIRTIO_MEM_RESP_BUSY));
	KUNIT_EXPECT_FALSE(test, vmem_answer_allowed(VIRTIO_MEM_REQ_UNPLUG_ALL,
						     VIRTIO_MEM_RESP_ERROR));
	KUNIT_EXPECT_FALSE(test, vmem_answer_allowed(VIRTIO_MEM_REQ_STATE,
						     VIRTIO_MEM_RESP_BUSY));
	KUNIT_EXPECT_TRUE(test, vmem_answer_allowed(VIRTIO_MEM_REQ_STATE,
						    VIRTIO_MEM_RESP_ACK));
	/* unknown answers, unknown requests, transport errors */
	KUNIT_EXPECT_FALSE(test, vmem_answer_allowed(VIRTIO_MEM_REQ_PLUG, 4));
	KUNIT_EXPECT_FALSE(test, vmem_answer_allowed(VIRTIO_MEM_REQ_PLUG,
						     0xffff));
	KUNIT_EXPECT_FALSE(test, vmem_answer_allowed(7, VIRTIO_MEM_RESP_ACK));
	KUNIT_EXPECT_FALSE(test, vmem_answer_allowed(VIRTIO_MEM_REQ_PLUG,
						     -EPROTO));
}

static struct kunit_case vmem_test_cases[] = {
	KUNIT_CASE(vmem_test_cfg_good),
	KUNIT_CASE(vmem_test_cfg_block_size),
	KUNIT_CASE(vmem_test_cfg_region),
	KUNIT_CASE(vmem_test_cfg_sizes),
	KUNIT_CASE(vmem_test_layout_sub_block),
	KUNIT_CASE(vmem_test_layout_big_block),
	KUNIT_CASE(vmem_test_layout_edges),
	KUNIT_CASE(vmem_test_answers),
	{}
};

static struct kunit_suite vmem_test_suite = {
	.name = "vmdense_virtio_mem",
	.test_cases = vmem_test_cases,
};

kunit_test_suite(vmem_test_suite);
