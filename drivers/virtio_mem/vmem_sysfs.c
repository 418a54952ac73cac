// SPDX-License-Identifier: GPL-2.0
/*
 * vmdense virtio-mem: per-device sysfs attributes, in the virtio device's
 * directory. Documented in
 * Documentation/ABI/testing/sysfs-driver-vmdense-virtio-mem. A write that
 * is not valid returns -EINVAL and changes nothing.
 */
#include <linux/device.h>
#include <linux/kstrtox.h>
#include <linux/mm.h>
#include <linux/sysfs.h>
#include <linux/virtio.h>

#include "vmem.h"

#define VMEM_RETRY_LIMIT_MS	600000

static struct vmem_dev *to_vmem(struct device *dev)
{
	return dev_to_virtio(dev)->priv;
}

#define VMEM_SHOW(name, fmt, expr)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct vmem_dev *vm = to_vmem(dev);				\
									\
	return sysfs_emit(buf, fmt "\n", expr);				\
}									\
static DEVICE_ATTR_RO(name)

#define VMEM_COUNTER(name)						\
	VMEM_SHOW(name, "%lld", (long long)atomic64_read(&vm->stats.name))

VMEM_SHOW(mode, "%s", vm->big_block ? "big-block" : "sub-block");
VMEM_SHOW(block_size, "%llu", vm->block_size);
VMEM_SHOW(subblock_size, "%llu", vm->sb_size);
VMEM_SHOW(region_start, "0x%llx", vm->addr);
VMEM_SHOW(region_size, "%llu", vm->region_size);
VMEM_SHOW(usable_region_size, "%llu", READ_ONCE(vm->usable_size));
VMEM_SHOW(plugged_size, "%llu", READ_ONCE(vm->plugged_size));
VMEM_SHOW(requested_size, "%llu", READ_ONCE(vm->requested_size));
VMEM_SHOW(node, "%d", vm->nid);
VMEM_COUNTER(plug_requests);
VMEM_COUNTER(unplug_requests);
VMEM_COUNTER(unplug_all_requests);
VMEM_COUNTER(state_requests);
VMEM_COUNTER(acks);
VMEM_COUNTER(nacks);
VMEM_COUNTER(busy);
VMEM_COUNTER(errors);
VMEM_COUNTER(bad_responses);
VMEM_COUNTER(migration_failures);
VMEM_COUNTER(retries);
VMEM_COUNTER(state_mismatches);
VMEM_COUNTER(plugged_mismatches);
VMEM_COUNTER(config_refusals);
VMEM_COUNTER(reserve_stops);
VMEM_COUNTER(timeouts);

static ssize_t unplug_reserve_mb_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_vmem(dev)->reserve_mb));
}

static ssize_t unplug_reserve_mb_store(struct device *dev,
				       struct device_attribute *attr,
				       const char *buf, size_t count)
{
	unsigned int val;

	/* more than the whole machine makes no sense */
	if (kstrtouint(buf, 0, &val) || val > (totalram_pages() >> (20 - PAGE_SHIFT)))
		return -EINVAL;
	WRITE_ONCE(to_vmem(dev)->reserve_mb, val);
	return count;
}
static DEVICE_ATTR_RW(unplug_reserve_mb);

static ssize_t request_timeout_ms_show(struct device *dev,
				       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(to_vmem(dev)->request_timeout_ms));
}

/* 1 s to 10 min: a device silent for that long is reset and given up */
static ssize_t request_timeout_ms_store(struct device *dev,
					struct device_attribute *attr,
					const char *buf, size_t count)
{
	unsigned int val;

	if (kstrtouint(buf, 0, &val) || val < 1000 || val > VMEM_RETRY_LIMIT_MS)
		return -EINVAL;
	WRITE_ONCE(to_vmem(dev)->request_timeout_ms, val);
	return count;
}
static DEVICE_ATTR_RW(request_timeout_ms);

static ssize_t retry_interval_ms_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_vmem(dev)->retry_ms));
}

static ssize_t retry_interval_ms_store(struct device *dev,
				       struct device_attribute *attr,
				       const char *buf, size_t count)
{
	struct vmem_dev *vm = to_vmem(dev);
	unsigned int val;
	int rc = -EINVAL;

	if (kstrtouint(buf, 0, &val) || !val)
		return -EINVAL;
	mutex_lock(&vm->lock);
	if (val <= vm->retry_max_ms) {
		WRITE_ONCE(vm->retry_ms, val);
		rc = count;
	}
	mutex_unlock(&vm->lock);
	return rc;
}
static DEVICE_ATTR_RW(retry_interval_ms);

static ssize_t retry_max_ms_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_vmem(dev)->retry_max_ms));
}

static ssize_t retry_max_ms_store(struct device *dev,
				  struct device_attribute *attr,
				  const char *buf, size_t count)
{
	struct vmem_dev *vm = to_vmem(dev);
	unsigned int val;
	int rc = -EINVAL;

	if (kstrtouint(buf, 0, &val) || val > VMEM_RETRY_LIMIT_MS)
		return -EINVAL;
	mutex_lock(&vm->lock);
	if (val >= vm->retry_ms) {
		WRITE_ONCE(vm->retry_max_ms, val);
		rc = count;
	}
	mutex_unlock(&vm->lock);
	return rc;
}
static DEVICE_ATTR_RW(retry_max_ms);

static ssize_t unplug_online_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(to_vmem(dev)->unplug_online));
}

static ssize_t unplug_online_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t count)
{
	struct vmem_dev *vm = to_vmem(dev);
	bool val;

	if (kstrtobool(buf, &val))
		return -EINVAL;
	WRITE_ONCE(vm->unplug_online, val);
	/* allowing it may let a pending shrink go on */
	if (val)
		mod_delayed_work(system_freezable_wq, &vm->work, 0);
	return count;
}
static DEVICE_ATTR_RW(unplug_online);

/* Write 1: ask the device for the state of every unit, compare. */
static ssize_t state_check_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t count)
{
	struct vmem_dev *vm = to_vmem(dev);
	unsigned int val;

	if (kstrtouint(buf, 0, &val) || val != 1)
		return -EINVAL;
	if (vm->broken || vm->kdump)
		return -EIO;
	return vmem_check_state(vm) ? -EIO : count;
}
static DEVICE_ATTR_WO(state_check);

static struct attribute *vmem_attrs[] = {
	&dev_attr_mode.attr,
	&dev_attr_block_size.attr,
	&dev_attr_subblock_size.attr,
	&dev_attr_region_start.attr,
	&dev_attr_region_size.attr,
	&dev_attr_usable_region_size.attr,
	&dev_attr_plugged_size.attr,
	&dev_attr_requested_size.attr,
	&dev_attr_node.attr,
	&dev_attr_plug_requests.attr,
	&dev_attr_unplug_requests.attr,
	&dev_attr_unplug_all_requests.attr,
	&dev_attr_state_requests.attr,
	&dev_attr_acks.attr,
	&dev_attr_nacks.attr,
	&dev_attr_busy.attr,
	&dev_attr_errors.attr,
	&dev_attr_bad_responses.attr,
	&dev_attr_migration_failures.attr,
	&dev_attr_retries.attr,
	&dev_attr_state_mismatches.attr,
	&dev_attr_plugged_mismatches.attr,
	&dev_attr_config_refusals.attr,
	&dev_attr_reserve_stops.attr,
	&dev_attr_timeouts.attr,
	&dev_attr_request_timeout_ms.attr,
	&dev_attr_unplug_reserve_mb.attr,
	&dev_attr_retry_interval_ms.attr,
	&dev_attr_retry_max_ms.attr,
	&dev_attr_unplug_online.attr,
	&dev_attr_state_check.attr,
	NULL,
};

const struct attribute_group vmem_attr_group = {
	.name = "vmdense",
	.attrs = vmem_attrs,
};
