// SPDX-License-Identifier: GPL-2.0
/*
 * Capture: the allocator's free path records each merged block of at least
 * min_order in the freeing CPU's array. This runs with the zone lock held
 * and interrupts off on every qualifying free, so it only appends; all the
 * checking is left to the worker, which re-validates every entry anyway.
 */
#include <linux/cpuhotplug.h>
#include <linux/hinting.h>
#include <linux/irq_work.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/workqueue.h>

#include <linux/export.h>
#include <kunit/visibility.h>

#include "internal.h"	/* mm/internal.h: buddy_order() */
#include "hinting_internal.h"
#include "hinting_trace.h"

DEFINE_STATIC_KEY_FALSE(hinting_capture_key);
DEFINE_STATIC_KEY_FALSE(hinting_reported_key);

static DEFINE_PER_CPU(struct hinting_pcp, hinting_pcps);

/*
 * 0: the worker is idle, 1: it is due after delay_ms, 2: it is due now.
 * Lets the free path skip the workqueue calls when a wakeup is pending.
 */
static atomic_t hinting_due = ATOMIC_INIT(0);

#define HINTING_ORDER_BITS	4
#define HINTING_ORDER_MASK	((1UL << HINTING_ORDER_BITS) - 1)

/*
 * Append one block; a full array drops it (the block stays free, it is
 * only not reported). Returns true once the array holds wake_threshold
 * entries, so that the caller wakes the worker.
 */
bool hinting_pcp_add(struct hinting_pcp *pcp, unsigned long pfn,
		     unsigned int order, unsigned long when,
		     unsigned int wake_threshold)
{
	if (pcp->count >= HINTING_PCP_SLOTS) {
		pcp->dropped++;
		return true;
	}
	pcp->when[pcp->count] = when;
	pcp->slot[pcp->count++] = pfn << HINTING_ORDER_BITS | order;
	pcp->captured++;
	return pcp->count >= wake_threshold;
}
EXPORT_SYMBOL_IF_KUNIT(hinting_pcp_add);

/*
 * Move up to @room entries out of @pcp into @to; what does not fit is
 * dropped and added to *lost. Returns how many were moved.
 */
unsigned int hinting_pcp_take(struct hinting_pcp *pcp,
			      struct hinting_entry *to, unsigned int room,
			      unsigned long *lost)
{
	unsigned int i, n = min(pcp->count, room);

	for (i = 0; i < n; i++) {
		to[i].pfn = pcp->slot[i] >> HINTING_ORDER_BITS;
		to[i].order = pcp->slot[i] & HINTING_ORDER_MASK;
		to[i].when = pcp->when[i];
		to[i].held = false;
		to[i].zone = NULL;
	}
	*lost += pcp->count - n;
	pcp->dropped += pcp->count - n;
	pcp->count = 0;
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(hinting_pcp_take);

/*
 * Empty every possible CPU's array, online or not: a CPU that went down
 * keeps its entries until this runs (the hotplug callback asks for it).
 */
unsigned int hinting_drain_all(struct hinting_entry *to, unsigned int room)
{
	unsigned int cpu, got, total = 0;
	unsigned long flags, lost;

	for_each_possible_cpu(cpu) {
		struct hinting_pcp *pcp = per_cpu_ptr(&hinting_pcps, cpu);

		lost = 0;
		spin_lock_irqsave(&pcp->lock, flags);
		got = hinting_pcp_take(pcp, to + total, room - total, &lost);
		spin_unlock_irqrestore(&pcp->lock, flags);
		total += got;
		if (got || lost)
			trace_hinting_flush(cpu, got, lost);
	}
	return total;
}

void hinting_capture_totals(unsigned long *captured, unsigned long *dropped)
{
	unsigned int cpu;

	*captured = 0;
	*dropped = 0;
	for_each_possible_cpu(cpu) {
		struct hinting_pcp *pcp = per_cpu_ptr(&hinting_pcps, cpu);

		*captured += READ_ONCE(pcp->captured);
		*dropped += READ_ONCE(pcp->dropped);
	}
}
EXPORT_SYMBOL_IF_KUNIT(hinting_capture_totals);

/* Is the free path capturing? */
bool hinting_capturing(void)
{
	return static_key_enabled(&hinting_capture_key);
}
EXPORT_SYMBOL_IF_KUNIT(hinting_capturing);

/* Queue the worker as hinting_due says: now, or after delay_ms. */
static void hinting_queue(void)
{
	if (atomic_read(&hinting_due) == 2)
		mod_delayed_work(system_unbound_wq, &hinting_work, 0);
	else
		queue_delayed_work(system_unbound_wq, &hinting_work,
				   msecs_to_jiffies(READ_ONCE(hinting_knobs.delay_ms)));
}

/*
 * The free path holds the zone lock, and the workqueue's pool lock may
 * not nest inside it: paths that hold the pool lock allocate pages (debug
 * objects filling their pool under flush_work()), which takes a zone lock.
 * The free path only raises this irq_work; it queues the worker with no
 * zone lock held.
 */
static void hinting_kick_fn(struct irq_work *w)
{
	hinting_queue();
}

static DEFINE_IRQ_WORK(hinting_kick_work, hinting_kick_fn);

/* Move hinting_due up; true when the worker must be queued (again). */
static bool hinting_due_raise(bool now)
{
	if (now)
		return atomic_read(&hinting_due) != 2 &&
		       atomic_xchg(&hinting_due, 2) != 2;
	return atomic_read(&hinting_due) == 0 &&
	       atomic_cmpxchg(&hinting_due, 0, 1) == 0;
}

/* Wake the worker now, or after delay_ms if nothing is pending yet. */
void hinting_kick(bool now)
{
	if (hinting_due_raise(now))
		hinting_queue();
}

/*
 * The worker left blocks waiting (a zone's hold, a low watermark): come
 * back for them after @delay jiffies unless something wakes it sooner.
 */
void hinting_kick_after(unsigned long delay)
{
	if (atomic_cmpxchg(&hinting_due, 0, 1) == 0)
		queue_delayed_work(system_unbound_wq, &hinting_work, delay);
}

/* The worker calls this before draining, so later frees wake it again. */
void hinting_kick_reset(void)
{
	atomic_set(&hinting_due, 0);
}

/* Append to this CPU's array; true when the worker should run now. */
static bool hinting_capture(struct page *page, unsigned int order)
{
	struct hinting_pcp *pcp = raw_cpu_ptr(&hinting_pcps);
	unsigned long flags;
	bool wake;

	spin_lock_irqsave(&pcp->lock, flags);
	wake = hinting_pcp_add(pcp, page_to_pfn(page), order, jiffies,
			       READ_ONCE(hinting_knobs.wake_threshold));
	spin_unlock_irqrestore(&pcp->lock, flags);
	return wake;
}

/* Called from __free_one_page() under the zone lock, interrupts off. */
void hinting_notify_free(struct page *page, unsigned int order)
{
	if (order < READ_ONCE(hinting_knobs.min_order))
		return;
	if (hinting_due_raise(hinting_capture(page, order)))
		irq_work_queue(&hinting_kick_work);
}
EXPORT_SYMBOL_IF_KUNIT(hinting_notify_free);

/*
 * A block the worker put back unreported (its report failed) may have
 * merged with free neighbours, and blocks put back are not captured by
 * the free path: capture the free block that holds @page now, so that it
 * is offered again. The zone lock is held. No wakeup: after a failure
 * the worker backs off on its own.
 */
void hinting_capture_block(struct page *page, unsigned int order)
{
	unsigned long pfn = page_to_pfn(page), head;

	for (; order <= MAX_PAGE_ORDER; order++) {
		head = pfn & ~((1UL << order) - 1);
		page = pfn_to_page(head);
		if (PageBuddy(page) && buddy_order(page) >= order) {
			/* the worker decides when it comes back for it */
			hinting_capture(page, buddy_order(page));
			return;
		}
	}
}

/* The dead CPU's array is drained by the next pass of the worker. */
static int hinting_cpu_dead(unsigned int cpu)
{
	if (READ_ONCE(per_cpu_ptr(&hinting_pcps, cpu)->count))
		hinting_kick(true);
	return 0;
}

int hinting_capture_init(void)
{
	unsigned int cpu;
	int ret;

	for_each_possible_cpu(cpu)
		spin_lock_init(&per_cpu_ptr(&hinting_pcps, cpu)->lock);
	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "mm/hinting:dead",
					NULL, hinting_cpu_dead);
	return ret < 0 ? ret : 0;
}
