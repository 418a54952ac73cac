// SPDX-License-Identifier: GPL-2.0
/*
 * The consumer: one at a time. Capture only runs while a consumer is
 * registered and hinting is enabled, so the allocator's hook costs a
 * patched-out branch otherwise.
 */
#include <linux/export.h>
#include <linux/hinting.h>
#include <linux/init.h>
#include <linux/page_reporting.h>
#include <linux/workqueue.h>
#include <kunit/visibility.h>

#include "hinting_internal.h"

struct hinting_consumer *hinting_consumer;
EXPORT_SYMBOL_IF_KUNIT(hinting_consumer);
/* Set while a consumer waits to unregister: the worker stops early. */
atomic_t hinting_leaving = ATOMIC_INIT(0);
/*
 * Guards hinting_consumer, the capture key and the worker's buffer,
 * carry and counters; the worker holds it across a whole batch.
 */
DEFINE_MUTEX(hinting_lock);
EXPORT_SYMBOL_IF_KUNIT(hinting_lock);

/* Turn capture on or off to match the state; hinting_lock is held. */
void hinting_update_key(void)
{
	lockdep_assert_held(&hinting_lock);
	if (hinting_consumer && hinting_knobs.enabled)
		static_branch_enable(&hinting_capture_key);
	else
		static_branch_disable(&hinting_capture_key);
}
EXPORT_SYMBOL_IF_KUNIT(hinting_update_key);

/*
 * PG_reported is shared with the kernel's page_reporting: with both
 * reporting, each would take the other's marks for its own. While a
 * consumer is registered here, page_reporting takes no device, and the
 * other way round (patches/0003).
 */
int hinting_register(struct hinting_consumer *hc)
{
	int ret = 0;

	if (!hc->report || !hc->capacity)
		return -EINVAL;
	/* init failed: there is no buffer to report from */
	if (!hinting_ready)
		return -ENODEV;
	mutex_lock(&hinting_lock);
	if (hinting_consumer) {
		ret = -EBUSY;
	} else if (page_reporting_exclude(true)) {
		pr_warn("mm/hinting: the kernel's page_reporting has a device; not registering\n");
		ret = -EBUSY;
	} else if (hinting_track_init()) {
		page_reporting_exclude(false);
		ret = -ENOMEM;
	} else {
		hinting_consumer = hc;
		/* before any block is marked; see hinting_page_reported() */
		static_branch_enable(&hinting_reported_key);
		hinting_update_key();
		hinting_seed();
	}
	mutex_unlock(&hinting_lock);
	if (!ret)
		hinting_kick(true);
	return ret;
}
EXPORT_SYMBOL_GPL(hinting_register);

/*
 * Taking hinting_lock waits for a batch in flight: the worker holds it
 * from isolation until the blocks are back in the buddy allocator, and
 * seeing hinting_leaving it starts no further batch. What
 * was captured for this consumer is dropped by the next pass.
 */
void hinting_unregister(struct hinting_consumer *hc)
{
	atomic_inc(&hinting_leaving);
	mutex_lock(&hinting_lock);
	if (hinting_consumer == hc) {
		hinting_consumer = NULL;
		hinting_update_key();
		page_reporting_exclude(false);
	}
	mutex_unlock(&hinting_lock);
	atomic_dec(&hinting_leaving);
	/* empty the arrays and the carry now rather than on the next free */
	hinting_kick(true);
	flush_delayed_work(&hinting_work);
}
EXPORT_SYMBOL_GPL(hinting_unregister);

static int __init hinting_init(void)
{
	int ret;

	ret = hinting_worker_init();
	if (!ret)
		ret = hinting_capture_init();
	if (!ret)
		ret = hinting_sysfs_init();
	if (ret)
		pr_err("mm/hinting: init failed: %d; consumers are refused\n",
		       ret);
	else
		hinting_ready = true;
	return ret;
}
subsys_initcall(hinting_init);
