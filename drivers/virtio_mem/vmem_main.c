// SPDX-License-Identifier: GPL-2.0
/*
 * vmdense virtio-mem: the virtio driver - device configuration, its
 * validation, the resize worker, probe and removal.
 *
 * The device's configuration is not trusted: every value is checked
 * before it is used, a bad configuration at probe refuses the device with
 * a message saying which value is wrong, a bad one later is refused and
 * counted while we keep what we had.
 */
#include <linux/acpi.h>
#include <linux/ioport.h>
#include <linux/log2.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/suspend.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "vmem.h"

#define VMEM_RETRY_MS		50
#define VMEM_RETRY_MAX_MS	30000
/* a device silent for this long is given up on (vmem_req.c) */
#define VMEM_TIMEOUT_MS		30000
/*
 * Unplugging online memory never takes MemAvailable below this: the
 * host asking for memory back is no reason to OOM-kill the guest's work.
 * 64 MiB is several times the zone watermarks of a guest of a few GiB;
 * with 128 a 2 GiB guest under load gave back ~60 MiB less, for nothing.
 */
#define VMEM_RESERVE_MB		64

static void vmem_read_cfg(struct vmem_dev *vm, struct vmem_cfg *c)
{
	struct virtio_device *vdev = vm->vdev;

	virtio_cread_le(vdev, struct virtio_mem_config, block_size,
			&c->block_size);
	virtio_cread_le(vdev, struct virtio_mem_config, addr, &c->addr);
	virtio_cread_le(vdev, struct virtio_mem_config, region_size,
			&c->region_size);
	virtio_cread_le(vdev, struct virtio_mem_config, usable_region_size,
			&c->usable_size);
	virtio_cread_le(vdev, struct virtio_mem_config, plugged_size,
			&c->plugged_size);
	virtio_cread_le(vdev, struct virtio_mem_config, requested_size,
			&c->requested_size);
}

#if IS_ENABLED(CONFIG_ACPI_NUMA)
/* Whether the guest's firmware described any proximity domain (an SRAT). */
static bool vmem_firmware_has_pxm(void)
{
	int pxm;

	for (pxm = 0; pxm < MAX_PXM_DOMAINS; pxm++)
		if (pxm_to_node(pxm) != NUMA_NO_NODE)
			return true;
	return false;
}

/*
 * The node of the proximity domain the device names. A domain the guest
 * can never know (out of the ACPI range), or one missing from an SRAT the
 * firmware did provide, is a wrong answer: refuse the device. Without any
 * SRAT (QEMU offers ACPI_PXM with domain 0 even to one-node guests) there
 * is nothing to check against: fall back to the node of the address.
 */
static int vmem_pxm_node(struct vmem_dev *vm, u16 pxm)
{
	int nid = pxm >= MAX_PXM_DOMAINS ? NUMA_NO_NODE : pxm_to_node(pxm);

	if (nid != NUMA_NO_NODE)
		return nid;
	if (pxm >= MAX_PXM_DOMAINS || vmem_firmware_has_pxm()) {
		dev_err(&vm->vdev->dev,
			"refusing device: proximity domain %u is not one the firmware described\n",
			pxm);
		return -EINVAL;
	}
	dev_warn(&vm->vdev->dev,
		 "proximity domain %u: no SRAT to check it against; using the node of the address\n",
		 pxm);
	return NUMA_NO_NODE;
}
#endif

static int vmem_pick_node(struct vmem_dev *vm)
{
	int nid = NUMA_NO_NODE;

	if (virtio_has_feature(vm->vdev, VIRTIO_MEM_F_ACPI_PXM)) {
		u16 pxm;

		virtio_cread_le(vm->vdev, struct virtio_mem_config, node_id,
				&pxm);
#if IS_ENABLED(CONFIG_ACPI_NUMA)
		nid = vmem_pxm_node(vm, pxm);
		if (nid == -EINVAL)
			return nid;
#endif
	}
	if (nid == NUMA_NO_NODE)
		nid = memory_add_physaddr_to_nid(vm->addr);
	if (nid < 0 || nid >= MAX_NUMNODES || !node_possible(nid)) {
		dev_err(&vm->vdev->dev, "refusing device: node %d does not exist\n",
			nid);
		return -EINVAL;
	}
	return nid;
}

/* Units of the region that lie below the end of the usable region. */
static unsigned long vmem_count_usable(struct vmem_dev *vm)
{
	u64 end = vm->addr + vm->usable_size;

	if (end < vm->units_start + vm->unit_size)
		return 0;
	return min_t(u64, vm->nr_units,
		     div64_u64(end - vm->units_start, vm->unit_size));
}

/* Called by the worker: take the device's new requested size, if sane. */
static void vmem_refresh(struct vmem_dev *vm)
{
	struct vmem_cfg c;
	const char *why;

	vmem_read_cfg(vm, &c);
	c.block_size = vm->block_size;	/* fixed; not re-read as truth */
	why = vmem_bad_sizes(&c);
	if (why) {
		atomic64_inc(&vm->stats.config_refusals);
		dev_warn_ratelimited(&vm->vdev->dev,
				     "refusing configuration change: %s\n", why);
		return;
	}
	mutex_lock(&vm->lock);
	if (c.plugged_size != vm->plugged_size && !vm->unplug_all_pending) {
		atomic64_inc(&vm->stats.plugged_mismatches);
		dev_warn_ratelimited(&vm->vdev->dev,
				     "device says 0x%llx plugged, we plugged 0x%llx\n",
				     c.plugged_size, vm->plugged_size);
	}
	vm->usable_size = c.usable_size;
	vm->requested_size = c.requested_size;
	vm->usable_units = vmem_count_usable(vm);
	mutex_unlock(&vm->lock);
}

static void vmem_work_fn(struct work_struct *work)
{
	struct vmem_dev *vm = container_of(to_delayed_work(work),
					   struct vmem_dev, work);
	u64 target, plugged;
	int rc = 0;

	if (READ_ONCE(vm->removing) || vm->broken || vm->kdump)
		return;
	if (atomic_xchg(&vm->config_changed, 0))
		vmem_refresh(vm);

	if (vm->unplug_all_pending) {
		/*
		 * Fresh start with memory plugged (a previous driver, a
		 * reboot): the protocol wants it all unplugged first.
		 */
		rc = vmem_unplug_all(vm) == VMEM_ACK ? 0 : -ETXTBSY;
		if (!rc) {
			vm->unplug_all_pending = false;
			vm->plugged_size = 0;
			vmem_refresh(vm);
		}
	}

	if (!rc) {
		target = round_down(vm->requested_size, vm->sb_size);
		plugged = vm->plugged_size;
		if (plugged < target)
			rc = vmem_grow(vm, target - plugged);
		else if (plugged > vm->requested_size)
			rc = vmem_shrink(vm, round_down(plugged -
						vm->requested_size,
						vm->sb_size));
		vmem_remove_empty_units(vm);
	}

	switch (rc) {
	case 0:
		vm->backoff_ms = 0;
		break;
	case -EAGAIN:
		/* the configuration changed under us: look again now */
		queue_delayed_work(system_freezable_wq, &vm->work, 0);
		break;
	case -ENOSPC:
		dev_info_ratelimited(&vm->vdev->dev,
				     "cannot plug more: no usable room left\n");
		break;
	default:
		/* the device or our pages are busy: back off and retry */
		vm->backoff_ms = clamp(vm->backoff_ms * 2, READ_ONCE(vm->retry_ms),
				       READ_ONCE(vm->retry_max_ms));
		atomic64_inc(&vm->stats.retries);
		queue_delayed_work(system_freezable_wq, &vm->work,
				   msecs_to_jiffies(vm->backoff_ms));
		break;
	}
}

static void vmem_config_changed(struct virtio_device *vdev)
{
	struct vmem_dev *vm = vdev->priv;

	if (READ_ONCE(vm->removing))
		return;
	atomic_set(&vm->config_changed, 1);
	mod_delayed_work(system_freezable_wq, &vm->work, 0);
}

/* Check the configuration and derive units and sub-blocks from it. */
static int vmem_setup(struct vmem_dev *vm)
{
	const u64 mb_bytes = memory_block_size_bytes();
	struct device *dev = &vm->vdev->dev;
	struct vmem_layout l;
	struct vmem_cfg c;
	const char *why;
	u64 end;
	int nid;

	vmem_read_cfg(vm, &c);
	why = vmem_bad_cfg(&c);
	if (why) {
		dev_err(dev, "refusing device: %s (block 0x%llx, region 0x%llx+0x%llx, usable 0x%llx, plugged 0x%llx, requested 0x%llx)\n",
			why, c.block_size, c.addr, c.region_size, c.usable_size,
			c.plugged_size, c.requested_size);
		return -EINVAL;
	}
	vm->block_size = c.block_size;
	vm->addr = c.addr;
	vm->region_size = c.region_size;
	vm->usable_size = c.usable_size;
	vm->requested_size = c.requested_size;
	vm->unplug_all_pending = c.plugged_size != 0;

	/* alloc_contig_range() works in whole pageblocks */
	vmem_layout(&c, mb_bytes, PAGE_SIZE * pageblock_nr_pages, &l);
	if (!l.nr_units) {
		dev_err(dev, "refusing device: region 0x%llx+0x%llx holds no whole 0x%llx unit\n",
			c.addr, c.region_size, l.unit_size);
		return -EINVAL;
	}
	vm->big_block = l.big_block;
	vm->unit_size = l.unit_size;
	vm->sb_size = l.sb_size;
	vm->sbs_per_unit = l.sbs_per_unit;
	vm->mb_per_unit = l.mb_per_unit;
	vm->units_start = l.units_start;
	vm->nr_units = l.nr_units;
	end = l.units_start + l.nr_units * l.unit_size;
	if (l.units_start != c.addr || end != c.addr + c.region_size)
		dev_warn(dev, "region edges not aligned to 0x%llx: %llu bytes unusable\n",
			 l.unit_size, c.region_size - (end - l.units_start));

	nid = vmem_pick_node(vm);
	if (nid < 0)
		return nid;
	vm->nid = nid;
	vm->usable_units = vmem_count_usable(vm);

	dev_info(dev, "%s mode: region 0x%llx+0x%llx, block 0x%llx, sub-block 0x%llx, node %d, requested 0x%llx%s\n",
		 vm->big_block ? "big-block" : "sub-block", c.addr,
		 c.region_size, c.block_size, vm->sb_size, vm->nid,
		 c.requested_size,
		 vm->unplug_all_pending ? ", unplugging all first" : "");
	return 0;
}

static int vmem_claim_region(struct vmem_dev *vm)
{
	/*
	 * Claim the whole region so nothing else lands in it; not busy, so
	 * that the memory we add can sit inside it.
	 */
	vm->parent_res = __request_region(&iomem_resource, vm->addr,
					  vm->region_size, VMEM_NAME,
					  IORESOURCE_SYSTEM_RAM);
	if (!vm->parent_res) {
		dev_err(&vm->vdev->dev,
			"refusing device: region 0x%llx+0x%llx is in use\n",
			vm->addr, vm->region_size);
		return -EBUSY;
	}
	vm->parent_res->flags &= ~IORESOURCE_BUSY;
	return 0;
}

static void vmem_release_region(struct vmem_dev *vm)
{
	/* release_resource() ignores the busy flag we cleared */
	release_resource(vm->parent_res);
	kfree(vm->parent_res);
	vm->parent_res = NULL;
}

static int vmem_probe(struct virtio_device *vdev)
{
	struct vmem_dev *vm;
	int rc;

	if (!vdev->config->get) {
		dev_err(&vdev->dev, "refusing device: no configuration space\n");
		return -EINVAL;
	}
	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (!vm)
		return -ENOMEM;
	vm->vdev = vdev;
	vdev->priv = vm;
	mutex_init(&vm->lock);
	mutex_init(&vm->req_lock);
	init_waitqueue_head(&vm->resp_wait);
	INIT_DELAYED_WORK(&vm->work, vmem_work_fn);
	vm->request_timeout_ms = VMEM_TIMEOUT_MS;
	vm->retry_ms = VMEM_RETRY_MS;
	vm->retry_max_ms = VMEM_RETRY_MAX_MS;
	vm->unplug_online = true;
	vm->reserve_mb = VMEM_RESERVE_MB;
	vm->mem_nb.notifier_call = vmem_mem_notify;

	rc = vmem_setup(vm);
	if (rc)
		goto free;
	vm->vq = virtio_find_single_vq(vdev, vmem_vq_done, "guest-request");
	if (IS_ERR(vm->vq)) {
		rc = PTR_ERR(vm->vq);
		goto free;
	}
	if (is_kdump_kernel()) {
		/* the crashed kernel's memory: dumped, never unplugged */
		vm->kdump = true;
		rc = sysfs_create_group(&vdev->dev.kobj, &vmem_attr_group);
		if (rc)
			goto del_vqs;
		virtio_device_ready(vdev);
		vmem_kdump_start(vm);
		return 0;
	}
	rc = vmem_resize_alloc(vm);
	if (rc)
		goto del_vqs;
	rc = vmem_claim_region(vm);
	if (rc)
		goto free_state;
	rc = register_memory_notifier(&vm->mem_nb);
	if (rc)
		goto release;
	vmem_hotplug_add_dev(vm);
	rc = sysfs_create_group(&vdev->dev.kobj, &vmem_attr_group);
	if (rc)
		goto unlist;

	virtio_device_ready(vdev);
	queue_delayed_work(system_freezable_wq, &vm->work, 0);
	return 0;

unlist:
	vmem_hotplug_del_dev(vm);
	unregister_memory_notifier(&vm->mem_nb);
release:
	vmem_release_region(vm);
free_state:
	vmem_resize_free(vm);
del_vqs:
	vdev->config->del_vqs(vdev);
free:
	kfree(vm);
	vdev->priv = NULL;
	return rc;
}

static void vmem_remove(struct virtio_device *vdev)
{
	struct vmem_dev *vm = vdev->priv;

	sysfs_remove_group(&vdev->dev.kobj, &vmem_attr_group);
	if (vm->kdump) {
		vmem_kdump_stop(vm);
		virtio_reset_device(vdev);
		vdev->config->del_vqs(vdev);
		kfree(vm);
		return;
	}
	mutex_lock(&vm->lock);
	WRITE_ONCE(vm->removing, true);
	mutex_unlock(&vm->lock);
	cancel_delayed_work_sync(&vm->work);

	/* Give back what we can: everything, migrating what is in use. */
	if (vm->plugged_size && !vm->broken) {
		vm->unplug_online = true;
		vmem_shrink(vm, vm->plugged_size);
	}
	vmem_remove_empty_units(vm);

	if (!vmem_all_removed(vm)) {
		/*
		 * Memory of this device is still in use and cannot be taken
		 * away: keep our state (the online callback and notifier
		 * still need it) and the module, forever.
		 */
		dev_err(&vdev->dev, "memory still in use: leaking the driver state\n");
		vm->broken = true;
		__module_get(THIS_MODULE);
		virtio_reset_device(vdev);
		vdev->config->del_vqs(vdev);
		return;
	}
	if (vm->plugged_size && !vm->broken)
		vmem_unplug_all(vm);

	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
	/* a config change may have raced with setting removing */
	cancel_delayed_work_sync(&vm->work);
	vmem_hotplug_del_dev(vm);
	unregister_memory_notifier(&vm->mem_nb);
	vmem_release_region(vm);
	vmem_resize_free(vm);
	kfree(vm);
}

static unsigned int vmem_features[] = {
	VIRTIO_MEM_F_ACPI_PXM,
	/* we never touch unplugged memory: it is fake-offline or absent */
	VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE,
#ifdef VIRTIO_MEM_F_PERSISTENT_SUSPEND
	/* a device that keeps plugged memory across suspend-to-RAM */
	VIRTIO_MEM_F_PERSISTENT_SUSPEND,
#endif
};

static const struct virtio_device_id vmem_ids[] = {
	{ VIRTIO_ID_MEM, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

#ifdef CONFIG_PM_SLEEP
/* Whether the device keeps plugged memory across the sleep to come. */
static bool vmem_keeps_memory(struct vmem_dev *vm)
{
	if (pm_suspend_target_state == PM_SUSPEND_TO_IDLE)
		return true;	/* no firmware, no reset by the host */
#ifdef VIRTIO_MEM_F_PERSISTENT_SUSPEND
	if (pm_suspend_target_state != PM_SUSPEND_ON &&
	    virtio_has_feature(vm->vdev, VIRTIO_MEM_F_PERSISTENT_SUSPEND))
		return true;
#endif
	return false;
}

/*
 * Freeze for suspend or hibernation: refused while memory is plugged
 * that the device may not keep (a hibernation image restored later, or
 * a suspend-to-RAM without PERSISTENT_SUSPEND, would find Linux using
 * memory the device unplugged). Otherwise the device is reset and its
 * queue freed; the freezable workqueue is frozen already.
 */
static int vmem_freeze(struct virtio_device *vdev)
{
	struct vmem_dev *vm = vdev->priv;

	if (vm->plugged_size && !vmem_keeps_memory(vm)) {
		dev_err(&vdev->dev,
			"cannot sleep with 0x%llx bytes plugged: the device may not keep them\n",
			vm->plugged_size);
		return -EPERM;
	}
	if (vm->kdump)
		vmem_kdump_stop(vm);
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
	vm->vq = NULL;
	return 0;
}

/* Resume: the queue again, and a fresh look at the requested size. */
static int vmem_restore(struct virtio_device *vdev)
{
	struct vmem_dev *vm = vdev->priv;

	vm->vq = virtio_find_single_vq(vdev, vmem_vq_done, "guest-request");
	if (IS_ERR(vm->vq))
		return PTR_ERR(vm->vq);
	virtio_device_ready(vdev);
	if (vm->kdump) {
		vmem_kdump_start(vm);
		return 0;
	}
	atomic_set(&vm->config_changed, 1);
	queue_delayed_work(system_freezable_wq, &vm->work, 0);
	return 0;
}
#endif

/* Resize requests arrive as configuration changes. */
static struct virtio_driver vmem_driver = {
	.driver = {
		.name = VMEM_NAME,
	},
#ifdef CONFIG_PM_SLEEP
	.freeze = vmem_freeze,
	.restore = vmem_restore,
#endif
	.id_table = vmem_ids,
	.feature_table_size = ARRAY_SIZE(vmem_features),
	.feature_table = vmem_features,
	.config_changed = vmem_config_changed,
	.probe = vmem_probe,
	.remove = vmem_remove,
};

static int __init vmem_init(void)
{
	int rc;

	rc = vmem_hotplug_init();
	if (rc) {
		pr_err(VMEM_NAME ": another driver owns the online-page callback (the kernel's virtio_mem?)\n");
		return rc;
	}
	rc = register_virtio_driver(&vmem_driver);
	if (rc)
		vmem_hotplug_exit();
	return rc;
}

static void __exit vmem_exit(void)
{
	unregister_virtio_driver(&vmem_driver);
	vmem_hotplug_exit();
}

module_init(vmem_init);
module_exit(vmem_exit);
MODULE_DEVICE_TABLE(virtio, vmem_ids);
MODULE_DESCRIPTION("vmdense virtio-mem driver: sub-block hot(un)plug");
MODULE_LICENSE("GPL");
