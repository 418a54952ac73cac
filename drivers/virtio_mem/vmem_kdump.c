// SPDX-License-Identifier: GPL-2.0
/*
 * vmdense virtio-mem in a kdump kernel (built with CONFIG_PROC_VMCORE).
 * The memory of the device belongs
 * to the kernel that crashed, and is what the dump is for: we plug,
 * unplug and add nothing (an UNPLUG_ALL would discard it), and tell
 * /proc/vmcore which of it may be read. Unplugged memory holds nothing,
 * and reading it makes the host back it or, where the device keeps it
 * inaccessible, fault: it is dumped as zeroes instead.
 */
#include <linux/crash_dump.h>
#include <linux/virtio_config.h>

#include "vmem.h"

/*
 * Whether @pfn of the device region was plugged; the device answers per
 * block and the dump reads in order, so the last answer is kept. A device
 * that cannot answer leaves the page to be read ("true" is what a callback
 * says when it cannot tell).
 */
static bool vmem_vmcore_pfn_is_ram(struct vmcore_cb *cb, unsigned long pfn)
{
	struct vmem_dev *vm = container_of(cb, struct vmem_dev, vmcore_cb);
	u64 addr = PFN_PHYS(pfn), block;
	u16 state;

	if (addr < vm->addr || addr >= vm->addr + vm->usable_size)
		return true;
	if (addr >= vm->vmcore_addr && addr < vm->vmcore_end)
		return vm->vmcore_plugged;
	block = round_down(addr, vm->block_size);
	if (vmem_state(vm, block, vm->block_size, &state) != VMEM_ACK)
		return true;
	vm->vmcore_addr = block;
	vm->vmcore_end = block + vm->block_size;
	vm->vmcore_plugged = state != VIRTIO_MEM_STATE_UNPLUGGED;
	return vm->vmcore_plugged;
}

void vmem_kdump_start(struct vmem_dev *vm)
{
	dev_info(&vm->vdev->dev,
		 "kdump kernel: the crashed kernel's memory stays plugged; unplugged blocks are dumped as zeroes\n");
	vm->vmcore_cb.pfn_is_ram = vmem_vmcore_pfn_is_ram;
	register_vmcore_cb(&vm->vmcore_cb);
}

void vmem_kdump_stop(struct vmem_dev *vm)
{
	unregister_vmcore_cb(&vm->vmcore_cb);
}
