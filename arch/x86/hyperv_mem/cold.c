// SPDX-License-Identifier: GPL-2.0
/*
 * Cold hints: the mm/hinting consumer. Each batch of isolated free blocks
 * becomes HvExtCallMemoryHeatHint calls, one page of input each. The host
 * may drop the contents (cold-discard) since nobody owns the blocks until
 * report() returns.
 */
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <asm/mshyperv.h>

#include "hinting.h"
#include "hv_mem.h"

static unsigned int cold_type;

/*
 * A rep hypercall: the host may return early (success, fewer reps done
 * than asked) and is asked again from where it stopped. A host that
 * makes no progress HV_MEM_STALLS_MAX times in a row is given up on:
 * the kernel's own helper would ask forever, holding whatever the caller
 * holds. Returns the last status, with the reps done in its rep field.
 */
#define HV_MEM_STALLS_MAX	16

static u64 hv_mem_rep_call(u16 code, unsigned int reps, void *in)
{
	unsigned int done = 0, stalls = 0, comp;
	u64 status;

	for (;;) {
		status = hv_do_hypercall(code |
				(u64)reps << HV_HYPERCALL_REP_COMP_OFFSET |
				(u64)done << HV_HYPERCALL_REP_START_OFFSET,
				in, NULL);
		if (!hv_result_success(status))
			return status;
		comp = hv_repcomp(status);
		if (comp >= reps)
			return status;
		if (comp > done) {
			done = comp;
			stalls = 0;
		} else if (++stalls >= HV_MEM_STALLS_MAX) {
			atomic_long_inc(&hv_mem.cnt.stalled_calls);
			return HV_STATUS_TIME_OUT |
			       (u64)done << HV_HYPERCALL_REP_COMP_OFFSET;
		}
		cond_resched();
	}
}

/*
 * One heat-hint call of @type over @n ranges prepared in the input page
 * (call_lock held); *@done is the pages the host took.
 */
int hv_mem_heat_call(unsigned int type, unsigned int n, unsigned long *done)
{
	union hv_gpa_page_range *r = hv_mem.in + sizeof(u64);
	unsigned int i, comp;
	u64 status;

	*(u64 *)hv_mem.in = type;
	status = hv_mem_rep_call(HV_EXT_CALL_MEMORY_HEAT_HINT, n, hv_mem.in);
	comp = hv_result_success(status) ? n : min(hv_repcomp(status), n);
	*done = 0;
	for (i = 0; i < comp; i++)
		*done += hv_mem_range_pages(r[i]);
	if (hv_result_success(status))
		return 0;
	if (comp)
		atomic_long_inc(&hv_mem.cnt.cold_partial);
	pr_warn_ratelimited("vmdense_hyperv: heat hint failed at range %u of %u: status %#llx\n",
			    comp, n, status);
	return -EIO;
}

/*
 * Failure returns the whole batch unreported: ranges the host already took
 * lost only contents of free pages, and the rest is offered again later.
 */
static int cold_report(struct hinting_consumer *hc, struct scatterlist *sgl,
		       unsigned int nents)
{
	union hv_gpa_page_range *r;
	unsigned long total = 0, acked = 0, done;
	struct scatterlist *sg;
	unsigned int i, n = 0;
	int ret = 0;

	mutex_lock(&hv_mem.call_lock);
	r = hv_mem.in + sizeof(u64);
	for_each_sg(sgl, sg, nents, i) {
		unsigned long pfn = page_to_pfn(sg_page(sg));
		unsigned long nr = sg->length >> PAGE_SHIFT, used;

		total += nr;
		while (nr && !ret) {
			n += hv_mem_fill_ranges(r + n, HV_MEM_RANGES_MAX - n,
						pfn, nr, &used);
			pfn += used;
			nr -= used;
			if (n == HV_MEM_RANGES_MAX) {
				atomic_long_inc(&hv_mem.cnt.cold_calls);
				ret = hv_mem_heat_call(cold_type, n, &done);
				acked += done;
				n = 0;
			}
		}
		if (ret)
			break;
	}
	if (n && !ret) {
		atomic_long_inc(&hv_mem.cnt.cold_calls);
		ret = hv_mem_heat_call(cold_type, n, &done);
		acked += done;
	}
	mutex_unlock(&hv_mem.call_lock);
	atomic_long_add(acked, &hv_mem.cnt.cold_pages);
	if (ret)
		atomic_long_add(total - acked, &hv_mem.cnt.cold_failed);
	return ret;
}

static struct hinting_consumer cold_consumer = {
	.report = cold_report,
	.capacity = HV_MEM_RANGES_MAX,
};

int hv_mem_cold_start(void)
{
	int ret;

	/* discard is what free memory wants; plain cold keeps contents */
	if (hv_mem.caps & HV_EXT_CAPABILITY_MEMORY_COLD_DISCARD_HINT)
		cold_type = HV_EXT_MEMORY_HEAT_HINT_TYPE_COLD_DISCARD;
	else
		cold_type = HV_MEM_HINT_COLD;
	ret = hinting_register(&cold_consumer);
	if (!ret)
		hv_mem.cold_active = true;
	return ret;
}

void hv_mem_cold_stop(void)
{
	if (!hv_mem.cold_active)
		return;
	hinting_unregister(&cold_consumer);
	hv_mem.cold_active = false;
}
