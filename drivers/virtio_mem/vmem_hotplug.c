// SPDX-License-Identifier: GPL-2.0
/*
 * vmdense virtio-mem: what memory hotplug calls us for.
 *
 * The online-page callback decides, per sub-block, whether onlined pages
 * go to the buddy (plugged) or stay fake-offline (unplugged). The memory
 * notifier follows the online state of each memory block, so that the
 * worker only moves pages of blocks that are stably online, and lets
 * offlining skip fake-offline pages by dropping our reference to them.
 *
 * Lock order: memory hotplug locks, then vm->lock. The worker never holds
 * vm->lock while adding or removing memory.
 */
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/rculist.h>

#include "vmem.h"

static LIST_HEAD(vmem_devices);
static DEFINE_SPINLOCK(vmem_devices_lock);

void vmem_hotplug_add_dev(struct vmem_dev *vm)
{
	spin_lock(&vmem_devices_lock);
	list_add_rcu(&vm->node, &vmem_devices);
	spin_unlock(&vmem_devices_lock);
}

void vmem_hotplug_del_dev(struct vmem_dev *vm)
{
	spin_lock(&vmem_devices_lock);
	list_del_rcu(&vm->node);
	spin_unlock(&vmem_devices_lock);
	synchronize_rcu();
}

static bool vmem_covers(struct vmem_dev *vm, u64 start, u64 size)
{
	u64 end = vmem_unit_addr(vm, vm->nr_units);

	return start >= vm->units_start && start + size <= end;
}

/*
 * Online [pfn, pfn + nr), which never crosses a unit, according to the
 * sub-block bits: runs of plugged sub-blocks go to the buddy in one go,
 * runs of unplugged ones stay fake-offline.
 */
static void vmem_online_range(struct vmem_dev *vm, unsigned long pfn,
			      unsigned long nr)
{
	const unsigned long sb_pages = PHYS_PFN(vm->sb_size);
	u64 addr = PFN_PHYS(pfn) - vm->units_start;
	unsigned long unit = div64_u64(addr, vm->unit_size);
	unsigned int sb = div64_u64(addr - (u64)unit * vm->unit_size,
				    vm->sb_size);

	while (nr) {
		bool plugged = vmem_sb_is_plugged(vm, unit, sb);
		/* up to the end of this sub-block, or of the range */
		unsigned long step = min(nr, sb_pages - (pfn & (sb_pages - 1)));

		while (step < nr && vmem_sb_is_plugged(vm, unit, sb + 1) == plugged) {
			sb++;
			step = min(nr, step + sb_pages);
		}
		if (plugged)
			vmem_pages_online(pfn, step);
		else
			vmem_pages_keep(pfn, step);
		sb++;
		pfn += step;
		nr -= step;
	}
}

static void vmem_online_page(struct page *page, unsigned int order)
{
	const u64 start = page_to_phys(page);
	const u64 size = PAGE_SIZE << order;
	struct vmem_dev *vm;

	rcu_read_lock();
	list_for_each_entry_rcu(vm, &vmem_devices, node) {
		if (!vmem_covers(vm, start, size))
			continue;
		/*
		 * The device cannot go away while one of its memory blocks is
		 * being onlined: removal first takes all its memory out, and
		 * that waits for onlining to finish.
		 */
		rcu_read_unlock();
		mutex_lock(&vm->lock);
		vmem_online_range(vm, page_to_pfn(page), 1UL << order);
		mutex_unlock(&vm->lock);
		return;
	}
	rcu_read_unlock();
	generic_online_page(page, order);
}

int vmem_hotplug_init(void)
{
	return set_online_page_callback(vmem_online_page);
}

void vmem_hotplug_exit(void)
{
	restore_online_page_callback(vmem_online_page);
}

/* Apply fn to every fake-offline sub-block of memory block mb. */
static void vmem_for_fake_offline(struct vmem_dev *vm, unsigned long mb,
				  void (*fn)(unsigned long, unsigned long))
{
	const u64 mb_bytes = vm->unit_size / vm->mb_per_unit;
	const u64 mb_start = vm->units_start + (u64)mb * mb_bytes;
	const unsigned long unit = mb / vm->mb_per_unit;
	u64 a;

	for (a = mb_start; a < mb_start + mb_bytes; a += vm->sb_size) {
		unsigned int sb = div64_u64(a - vmem_unit_addr(vm, unit),
					    vm->sb_size);
		u64 lo, hi;

		if (vmem_sb_is_plugged(vm, unit, sb))
			continue;
		/* a big-block sub-block spans several memory blocks */
		lo = max(a, mb_start);
		hi = min(a + vm->sb_size, mb_start + mb_bytes);
		fn(PHYS_PFN(lo), PHYS_PFN(hi - lo));
	}
}

int vmem_mem_notify(struct notifier_block *nb, unsigned long action,
		    void *arg)
{
	struct vmem_dev *vm = container_of(nb, struct vmem_dev, mem_nb);
	const struct memory_notify *mn = arg;
	const u64 start = PFN_PHYS(mn->start_pfn);
	const u64 size = PFN_PHYS(mn->nr_pages);
	const u64 mb_bytes = vm->unit_size / vm->mb_per_unit;
	unsigned long mb;
	int rc = NOTIFY_OK;

	if (!vmem_covers(vm, start, size))
		return NOTIFY_DONE;
	/* Memory is onlined and offlined one memory block at a time. */
	if (WARN_ON_ONCE(size != mb_bytes ||
			 !IS_ALIGNED(start - vm->units_start, mb_bytes)))
		return NOTIFY_BAD;
	mb = div64_u64(start - vm->units_start, mb_bytes);

	mutex_lock(&vm->lock);
	switch (action) {
	case MEM_GOING_ONLINE:
		if (vm->removing) {
			rc = notifier_from_errno(-EBUSY);
			break;
		}
		vm->mb_state[mb] = VMEM_MB_ONLINING;
		break;
	case MEM_ONLINE:
		vm->mb_state[mb] = VMEM_MB_ONLINE;
		break;
	case MEM_CANCEL_ONLINE:
		vm->mb_state[mb] = VMEM_MB_OFFLINE;
		break;
	case MEM_GOING_OFFLINE:
		vmem_for_fake_offline(vm, mb, vmem_pages_drop_refs);
		vm->mb_state[mb] = VMEM_MB_OFFLINING;
		break;
	case MEM_CANCEL_OFFLINE:
		/* only if we saw GOING_OFFLINE; another notifier may veto */
		if (vm->mb_state[mb] != VMEM_MB_OFFLINING)
			break;
		vmem_for_fake_offline(vm, mb, vmem_pages_get_refs);
		vm->mb_state[mb] = VMEM_MB_ONLINE;
		break;
	case MEM_OFFLINE:
		vm->mb_state[mb] = VMEM_MB_OFFLINE;
		/* offline memory is the cheapest to unplug: look again */
		if (!vm->removing && vm->plugged_size > vm->requested_size)
			mod_delayed_work(system_freezable_wq, &vm->work, 0);
		break;
	default:
		break;
	}
	mutex_unlock(&vm->lock);
	return rc;
}
