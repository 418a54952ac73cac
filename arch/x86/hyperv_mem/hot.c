// SPDX-License-Identifier: GPL-2.0
/*
 * Hot hints: the host backs a guest-physical range now rather than on
 * first touch. Contents do not change, so any RAM range is safe to name
 * and the host may ignore the hint. Three sources: memory coming online
 * (hot-added, e.g. plugged virtio-mem), a range written to sysfs, and all
 * free memory of a node.
 */
#include <linux/ioport.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/page-flags.h>

#include "hinting.h"
#include "hv_mem.h"

int hv_mem_hot_hint(unsigned long pfn, unsigned long nr)
{
	union hv_gpa_page_range *r = hv_mem.in + sizeof(u64);
	unsigned long done, used, acked = 0, left = nr;
	unsigned int n;
	int ret = 0;

	if (!(hv_mem.caps & HV_MEM_CAP_HEAT_HINT))
		return -EOPNOTSUPP;
	if (!nr || pfn + nr < pfn || !page_is_ram(pfn) ||
	    !page_is_ram(pfn + nr - 1))
		return -EINVAL;
	mutex_lock(&hv_mem.call_lock);
	while (left && !ret) {
		n = hv_mem_fill_ranges(r, HV_MEM_RANGES_MAX, pfn, left, &used);
		atomic_long_inc(&hv_mem.cnt.hot_calls);
		ret = hv_mem_heat_call(HV_MEM_HINT_HOT, n, &done);
		acked += done;
		pfn += used;
		left -= used;
	}
	mutex_unlock(&hv_mem.call_lock);
	atomic_long_add(acked, &hv_mem.cnt.hot_pages);
	atomic_long_add(nr - acked, &hv_mem.cnt.hot_failed);
	return ret;
}

static int hot_free_run(unsigned long pfn, unsigned long nr, void *arg)
{
	return hv_mem_hot_hint(pfn, nr);
}

int hv_mem_hot_hint_node(int nid)
{
	if (!(hv_mem.caps & HV_MEM_CAP_HEAT_HINT))
		return -EOPNOTSUPP;
	return hinting_walk_free(nid, hot_free_run, NULL);
}

/*
 * A memory block came online: hint the runs of it that reached the buddy
 * allocator, and keep them from cold hints until they are used (freed
 * memory coming online is reported like any other, which would discard
 * what the host just backed). Pages a virtio-mem driver keeps
 * fake-offline (unplugged sub-blocks) are PageOffline and are skipped:
 * the host has no memory behind them to back.
 */
static void hot_hint_online(unsigned long pfn, unsigned long nr)
{
	unsigned long end = pfn + nr, run;

	while (pfn < end) {
		for (run = pfn; run < end && !PageOffline(pfn_to_page(run));)
			run++;
		if (run > pfn && !hv_mem_hot_hint(pfn, run - pfn)) {
			atomic_long_add(run - pfn, &hv_mem.cnt.hot_online_pages);
			/* the host just backed it: no cold hint for it */
			hinting_keep(pfn, run - pfn);
		}
		for (pfn = run; pfn < end && PageOffline(pfn_to_page(pfn));)
			pfn++;
		cond_resched();
	}
}

static int hot_memory_cb(struct notifier_block *nb, unsigned long action,
			 void *arg)
{
	struct memory_notify *mn = arg;

	if (action == MEM_ONLINE)
		hot_hint_online(mn->start_pfn, mn->nr_pages);
	return NOTIFY_OK;
}

static struct notifier_block hot_memory_nb = {
	.notifier_call = hot_memory_cb,
};

int hv_mem_hot_start(void)
{
	int ret;

	if (!(hv_mem.caps & HV_MEM_CAP_HEAT_HINT))
		return -EOPNOTSUPP;
	ret = register_memory_notifier(&hot_memory_nb);
	if (!ret)
		hv_mem.hot_online_active = true;
	return ret;
}

void hv_mem_hot_stop(void)
{
	if (!hv_mem.hot_online_active)
		return;
	unregister_memory_notifier(&hot_memory_nb);
	hv_mem.hot_online_active = false;
}
