// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/vmdense_hyperv: what the host offered and what was done
 * with it, one number per file; hot_hint and hot_hint_node are the
 * writable ones.
 */
#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "hv_mem.h"

static struct kobject *hv_mem_kobj;

static ssize_t capabilities_show(struct kobject *k, struct kobj_attribute *a,
				 char *buf)
{
	return sysfs_emit(buf, "%#llx\n", hv_mem.caps);
}

static ssize_t cold_hints_active_show(struct kobject *k,
				      struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%d\n", hv_mem.cold_active);
}

static ssize_t boot_zeroed_status_show(struct kobject *k,
				       struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%d\n", hv_mem.zeroed_err);
}

static ssize_t boot_zeroed_early_show(struct kobject *k,
				      struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%d\n", hv_mem.zeroed_early);
}

/* "PFN PAGES" (decimal or 0x-hex): ask the host to back that range now */
static ssize_t hot_hint_store(struct kobject *k, struct kobj_attribute *a,
			      const char *buf, size_t count)
{
	unsigned long pfn, nr;
	char extra;
	int ret;

	if (sscanf(buf, "%li %li %c", &pfn, &nr, &extra) != 2)
		return -EINVAL;
	ret = hv_mem_hot_hint(pfn, nr);
	return ret ? ret : count;
}

/*
 * A node id: ask the host to back all free memory of that node now. The
 * walker refuses a node that is not online.
 */
static ssize_t hot_hint_node_store(struct kobject *k, struct kobj_attribute *a,
				   const char *buf, size_t count)
{
	int nid, ret;

	if (kstrtoint(buf, 10, &nid))
		return -EINVAL;
	ret = hv_mem_hot_hint_node(nid);
	return ret ? ret : count;
}

static ssize_t hot_on_online_active_show(struct kobject *k,
					 struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%d\n", hv_mem.hot_online_active);
}

#define CNT(_name)							\
static ssize_t _name##_show(struct kobject *k, struct kobj_attribute *a,\
			    char *buf)					\
{									\
	return sysfs_emit(buf, "%ld\n",					\
			  atomic_long_read(&hv_mem.cnt._name));		\
}									\
static struct kobj_attribute attr_##_name = __ATTR_RO(_name)

CNT(cold_calls);
CNT(cold_pages);
CNT(cold_failed);
CNT(cold_partial);
CNT(hot_calls);
CNT(hot_pages);
CNT(hot_failed);
CNT(hot_online_pages);
CNT(stalled_calls);

/* set once, before these files exist: plain reads */
#define ZEROED(_name, _field)						\
static ssize_t _name##_show(struct kobject *k, struct kobj_attribute *a,\
			    char *buf)					\
{									\
	return sysfs_emit(buf, "%lu\n",					\
			  (unsigned long)hv_mem.zeroed._field);		\
}									\
static struct kobj_attribute attr_##_name = __ATTR_RO(_name)

ZEROED(zeroed_ranges, ranges);
ZEROED(zeroed_pages, pages);
ZEROED(known_zero_pages, known_zero);
ZEROED(zeroed_refused, refused);
static struct kobj_attribute attr_capabilities = __ATTR_RO(capabilities);
static struct kobj_attribute attr_hot_hint = __ATTR_WO(hot_hint);
static struct kobj_attribute attr_hot_hint_node = __ATTR_WO(hot_hint_node);
static struct kobj_attribute attr_hot_on_online_active =
	__ATTR_RO(hot_on_online_active);
static struct kobj_attribute attr_cold_hints_active =
	__ATTR_RO(cold_hints_active);
static struct kobj_attribute attr_boot_zeroed_status =
	__ATTR_RO(boot_zeroed_status);
static struct kobj_attribute attr_boot_zeroed_early =
	__ATTR_RO(boot_zeroed_early);

static struct attribute *hv_mem_attrs[] = {
	&attr_capabilities.attr,
	&attr_cold_hints_active.attr,
	&attr_boot_zeroed_status.attr,
	&attr_boot_zeroed_early.attr,
	&attr_cold_calls.attr,
	&attr_cold_pages.attr,
	&attr_cold_failed.attr,
	&attr_cold_partial.attr,
	&attr_hot_hint.attr,
	&attr_hot_hint_node.attr,
	&attr_hot_on_online_active.attr,
	&attr_hot_online_pages.attr,
	&attr_hot_calls.attr,
	&attr_hot_pages.attr,
	&attr_hot_failed.attr,
	&attr_zeroed_ranges.attr,
	&attr_zeroed_pages.attr,
	&attr_known_zero_pages.attr,
	&attr_zeroed_refused.attr,
	&attr_stalled_calls.attr,
	NULL,
};

static const struct attribute_group hv_mem_group = {
	.attrs = hv_mem_attrs,
};

int hv_mem_sysfs_init(void)
{
	int ret;

	hv_mem_kobj = kobject_create_and_add("vmdense_hyperv", kernel_kobj);
	if (!hv_mem_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(hv_mem_kobj, &hv_mem_group);
	if (ret)
		kobject_put(hv_mem_kobj);
	return ret;
}

void hv_mem_sysfs_exit(void)
{
	kobject_put(hv_mem_kobj);
}
