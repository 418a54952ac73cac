/* SPDX-License-Identifier: GPL-2.0 */
/* Tracepoints of mm/hinting: capture flushes, isolation batches, reports. */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM hinting

#if !defined(_MM_HINTING_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MM_HINTING_TRACE_H

#include <linux/mmzone.h>
#include <linux/tracepoint.h>

/* One CPU's capture array drained by the worker. */
TRACE_EVENT(hinting_flush,
	TP_PROTO(unsigned int cpu, unsigned int entries, unsigned long lost),
	TP_ARGS(cpu, entries, lost),
	TP_STRUCT__entry(
		__field(unsigned int, cpu)
		__field(unsigned int, entries)
		__field(unsigned long, lost)
	),
	TP_fast_assign(
		__entry->cpu = cpu;
		__entry->entries = entries;
		__entry->lost = lost;
	),
	TP_printk("cpu=%u entries=%u lost=%lu", __entry->cpu,
		  __entry->entries, __entry->lost)
);

/* One run of entries checked and isolated under one zone lock. */
TRACE_EVENT(hinting_batch,
	TP_PROTO(struct zone *zone, unsigned int entries, unsigned int taken,
		 unsigned long pages),
	TP_ARGS(zone, entries, taken, pages),
	TP_STRUCT__entry(
		__field(int, nid)
		__field(int, zone_idx)
		__field(unsigned int, entries)
		__field(unsigned int, taken)
		__field(unsigned long, pages)
	),
	TP_fast_assign(
		__entry->nid = zone_to_nid(zone);
		__entry->zone_idx = zone_idx(zone);
		__entry->entries = entries;
		__entry->taken = taken;
		__entry->pages = pages;
	),
	TP_printk("nid=%d zone=%d entries=%u taken=%u pages=%lu",
		  __entry->nid, __entry->zone_idx, __entry->entries,
		  __entry->taken, __entry->pages)
);

/* One batch handed to the consumer, and its answer. */
TRACE_EVENT(hinting_report,
	TP_PROTO(unsigned int entries, unsigned long pages, int err),
	TP_ARGS(entries, pages, err),
	TP_STRUCT__entry(
		__field(unsigned int, entries)
		__field(unsigned long, pages)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->entries = entries;
		__entry->pages = pages;
		__entry->err = err;
	),
	TP_printk("entries=%u pages=%lu err=%d", __entry->entries,
		  __entry->pages, __entry->err)
);

#endif /* _MM_HINTING_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE hinting_trace
#include <trace/define_trace.h>
