// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/mm/hinting: the knobs and the read-only stats/ directory.
 * Each knob is one word written whole after validation, so a rejected
 * write changes nothing and readers never see a half-applied value.
 */
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/sysfs.h>

#include <linux/export.h>
#include <kunit/visibility.h>

#include "hinting_internal.h"

struct hinting_knobs hinting_knobs = {
	.enabled = 1,
	.min_order = pageblock_order,
	.wake_threshold = 32,
	.report_threshold = 1 << pageblock_order,
	.report_batch = 32,
	.delay_ms = 100,
	.skip_zeroing = 1,
	.adaptive = 1,
	.hold_max_ms = 4000,
	.churn_pct = 10,
};
EXPORT_SYMBOL_IF_KUNIT(hinting_knobs);

struct hinting_stats hinting_stats;
EXPORT_SYMBOL_IF_KUNIT(hinting_stats);

/* A decimal number in [min, max] (one trailing newline allowed). */
int hinting_parse_knob(const char *buf, unsigned int min, unsigned int max,
		       unsigned int *val)
{
	unsigned int v;

	if (kstrtouint(buf, 10, &v) || v < min || v > max)
		return -EINVAL;
	*val = v;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(hinting_parse_knob);

struct hinting_knob_attr {
	struct kobj_attribute attr;
	unsigned int *val;
	unsigned int min, max;
};

#define to_knob(a) container_of(a, struct hinting_knob_attr, attr)

static ssize_t knob_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(*to_knob(attr)->val));
}

static ssize_t knob_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	struct hinting_knob_attr *k = to_knob(attr);
	unsigned int v;

	if (hinting_parse_knob(buf, k->min, k->max, &v))
		return -EINVAL;
	WRITE_ONCE(*k->val, v);
	return count;
}

/* enabled also flips capture, which must agree with the consumer state */
static ssize_t enabled_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	unsigned int v;

	if (hinting_parse_knob(buf, 0, 1, &v))
		return -EINVAL;
	mutex_lock(&hinting_lock);
	WRITE_ONCE(hinting_knobs.enabled, v);
	hinting_update_key();
	mutex_unlock(&hinting_lock);
	return count;
}

#define KNOB(_name, _store, _min, _max)					\
static struct hinting_knob_attr knob_##_name = {			\
	.attr = __ATTR(_name, 0644, knob_show, _store),			\
	.val = &hinting_knobs._name,					\
	.min = _min,							\
	.max = _max,							\
}

KNOB(enabled, enabled_store, 0, 1);
KNOB(min_order, knob_store, 0, MAX_PAGE_ORDER);
KNOB(wake_threshold, knob_store, 1, HINTING_PCP_SLOTS);
KNOB(report_threshold, knob_store, 1, 1U << 24);
KNOB(report_batch, knob_store, 1, HINTING_MAX_BATCH);
KNOB(delay_ms, knob_store, 0, 60000);
KNOB(skip_zeroing, knob_store, 0, 1);
KNOB(adaptive, knob_store, 0, 1);
KNOB(hold_max_ms, knob_store, 0, 60000);
KNOB(churn_pct, knob_store, 1, 100);

static struct attribute *knob_attrs[] = {
	&knob_enabled.attr.attr,
	&knob_min_order.attr.attr,
	&knob_wake_threshold.attr.attr,
	&knob_report_threshold.attr.attr,
	&knob_report_batch.attr.attr,
	&knob_delay_ms.attr.attr,
	&knob_skip_zeroing.attr.attr,
	&knob_adaptive.attr.attr,
	&knob_hold_max_ms.attr.attr,
	&knob_churn_pct.attr.attr,
	NULL,
};

static const struct attribute_group knob_group = {
	.attrs = knob_attrs,
};

static ssize_t emit_ulong(char *buf, unsigned long v)
{
	return sysfs_emit(buf, "%lu\n", v);
}

static ssize_t captured_show(struct kobject *k, struct kobj_attribute *a,
			     char *buf)
{
	unsigned long captured, dropped;

	hinting_capture_totals(&captured, &dropped);
	return emit_ulong(buf, captured);
}

static ssize_t dropped_show(struct kobject *k, struct kobj_attribute *a,
			    char *buf)
{
	unsigned long captured, dropped;

	hinting_capture_totals(&captured, &dropped);
	return emit_ulong(buf, dropped);
}

static ssize_t reported_bytes_show(struct kobject *k,
				   struct kobj_attribute *a, char *buf)
{
	return emit_ulong(buf, atomic_long_read(&hinting_stats.reported_pages)
			  << PAGE_SHIFT);
}

#define STAT(_name)							\
static ssize_t _name##_show(struct kobject *k, struct kobj_attribute *a,\
			    char *buf)					\
{									\
	return emit_ulong(buf, atomic_long_read(&hinting_stats._name));	\
}									\
static struct kobj_attribute stat_##_name = __ATTR_RO(_name)

STAT(stale);
STAT(isolated);
STAT(reported_pages);
STAT(failed);
STAT(batches);
STAT(zone_lock_acquisitions);
STAT(guarded);
STAT(held);
#define KZ_STAT(_name, _fn)						\
static ssize_t _name##_show(struct kobject *k, struct kobj_attribute *a,\
			    char *buf)					\
{									\
	return emit_ulong(buf, _fn());					\
}									\
static struct kobj_attribute stat_##_name = __ATTR_RO(_name)

KZ_STAT(zeroing_skipped_pages, hinting_zeroing_skipped);
KZ_STAT(zeroing_done_pages, hinting_zeroing_done);
KZ_STAT(zeroing_done_known_zero_pages, hinting_zeroing_done_known_zero);
KZ_STAT(known_zero_marked_pages, hinting_known_zero_marked);
KZ_STAT(known_zero_refused, hinting_known_zero_refusals);
KZ_STAT(saved_pages, hinting_saved_pages);

/* weighed first: an idle worker has not, and holds melt over time */
static unsigned long hold_ms_now(void)
{
	mutex_lock(&hinting_lock);
	hinting_adapt();
	mutex_unlock(&hinting_lock);
	return hinting_hold_max_now();
}

KZ_STAT(hold_ms, hold_ms_now);

/* reported pages allocated again: all, then by time since their report */
static unsigned long realloc_stat(int bucket)
{
	unsigned long total, b[HINTING_REALLOC_BUCKETS];

	hinting_realloc_totals(&total, b);
	return bucket < 0 ? total : b[bucket];
}

#define REALLOC_STAT(_name, _bucket)					\
static ssize_t _name##_show(struct kobject *k, struct kobj_attribute *a,\
			    char *buf)					\
{									\
	return emit_ulong(buf, realloc_stat(_bucket));			\
}									\
static struct kobj_attribute stat_##_name = __ATTR_RO(_name)

REALLOC_STAT(reported_reallocated_pages, -1);
REALLOC_STAT(reallocated_100ms_pages, 0);
REALLOC_STAT(reallocated_1s_pages, 1);
REALLOC_STAT(reallocated_10s_pages, 2);
REALLOC_STAT(reallocated_later_pages, 3);
static ssize_t worker_cpu_ns_show(struct kobject *k, struct kobj_attribute *a,
				  char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (u64)atomic64_read(&hinting_stats.worker_cpu_ns));
}

static struct kobj_attribute stat_worker_cpu_ns = __ATTR_RO(worker_cpu_ns);

static ssize_t lock_hold_ns_show(struct kobject *k, struct kobj_attribute *a,
				 char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (u64)atomic64_read(&hinting_stats.lock_hold_ns));
}

static struct kobj_attribute stat_lock_hold_ns = __ATTR_RO(lock_hold_ns);
static struct kobj_attribute stat_captured = __ATTR_RO(captured);
static struct kobj_attribute stat_dropped = __ATTR_RO(dropped);
static struct kobj_attribute stat_reported_bytes = __ATTR_RO(reported_bytes);

static struct attribute *stat_attrs[] = {
	&stat_captured.attr,
	&stat_dropped.attr,
	&stat_stale.attr,
	&stat_isolated.attr,
	&stat_reported_pages.attr,
	&stat_reported_bytes.attr,
	&stat_failed.attr,
	&stat_batches.attr,
	&stat_zone_lock_acquisitions.attr,
	&stat_worker_cpu_ns.attr,
	&stat_zeroing_skipped_pages.attr,
	&stat_zeroing_done_pages.attr,
	&stat_zeroing_done_known_zero_pages.attr,
	&stat_known_zero_marked_pages.attr,
	&stat_known_zero_refused.attr,
	&stat_guarded.attr,
	&stat_held.attr,
	&stat_saved_pages.attr,
	&stat_hold_ms.attr,
	&stat_lock_hold_ns.attr,
	&stat_reported_reallocated_pages.attr,
	&stat_reallocated_100ms_pages.attr,
	&stat_reallocated_1s_pages.attr,
	&stat_reallocated_10s_pages.attr,
	&stat_reallocated_later_pages.attr,
	NULL,
};

static const struct attribute_group stat_group = {
	.name = "stats",
	.attrs = stat_attrs,
};

static const struct attribute_group *hinting_groups[] = {
	&knob_group,
	&stat_group,
	NULL,
};

int hinting_sysfs_init(void)
{
	struct kobject *kobj;
	int ret;

	kobj = kobject_create_and_add("hinting", mm_kobj);
	if (!kobj)
		return -ENOMEM;
	ret = sysfs_create_groups(kobj, hinting_groups);
	if (ret)
		kobject_put(kobj);
	return ret;
}
