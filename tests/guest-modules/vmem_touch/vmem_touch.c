// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: read and write one word of guest-physical memory that
 * the host has not plugged, so that a test can check the host catches and
 * counts the access (host-stub's virtio-mem "violations").  It touches
 * memory the platform says is not there on purpose: never load it outside
 * such a test.
 */
#include <linux/io.h>
#include <linux/module.h>

static unsigned long long addr;
module_param(addr, ullong, 0444);
MODULE_PARM_DESC(addr, "page-aligned guest physical address to touch");

static int __init vmem_touch_init(void)
{
	u64 *p, v;

	if (!addr || (addr & ~PAGE_MASK))
		return -EINVAL;
	/* not System RAM, so this is a cacheable ioremap of the page */
	p = memremap(addr, PAGE_SIZE, MEMREMAP_WB);
	if (!p)
		return -ENOMEM;
	v = READ_ONCE(*p);
	WRITE_ONCE(*p, ~v);
	pr_info("vmem_touch: read 0x%llx at 0x%llx and wrote its complement\n",
		v, addr);
	memunmap(p);
	return 0;
}

static void __exit vmem_touch_exit(void)
{
}

module_init(vmem_touch_init);
module_exit(vmem_touch_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmdense test: touch unplugged virtio-mem memory");
