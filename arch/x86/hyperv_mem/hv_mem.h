/* SPDX-License-Identifier: GPL-2.0 */
/* vmdense_hyperv: what its files share. */
#ifndef _VMDENSE_HV_MEM_H
#define _VMDENSE_HV_MEM_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <asm/hyperv-tlfs.h>

/* TLFS extended hypercall and capability bits the kernel does not name */
#define HV_MEM_CALL_GET_BOOT_ZEROED	0x8002
#define HV_MEM_CAP_BOOT_ZEROED		BIT_ULL(0)
#define HV_MEM_CAP_HEAT_HINT		BIT_ULL(1)
#define HV_MEM_HINT_COLD		0
#define HV_MEM_HINT_HOT			1
/* GetBootZeroedMemory output: a count, then (start pfn, pages) pairs */
#define HV_MEM_ZEROED_MAX		255

/* ranges of one heat-hint call: one page of input, less the header */
#define HV_MEM_RANGES_MAX \
	((HV_HYP_PAGE_SIZE - sizeof(u64)) / sizeof(union hv_gpa_page_range))

/* what GetBootZeroedMemory gave, set once (during boot or at load) */
struct hv_mem_zeroed {
	unsigned long ranges;		/* ranges the host named */
	unsigned long pages;		/* pages in those ranges */
	unsigned long known_zero;	/* made known-zero from them */
	bool refused;			/* a range held data: none is used */
};

struct hv_mem_counters {
	atomic_long_t cold_calls;	/* 0x8003 hypercalls made */
	atomic_long_t cold_pages;	/* base pages the host acknowledged */
	atomic_long_t cold_failed;	/* base pages of failed reports */
	atomic_long_t cold_partial;	/* calls that stopped part way */
	atomic_long_t hot_calls;	/* hot heat-hint calls */
	atomic_long_t hot_pages;	/* base pages the host prefaulted */
	atomic_long_t hot_failed;	/* base pages of failed hot hints */
	atomic_long_t hot_online_pages;	/* hinted as they came online */
	atomic_long_t stalled_calls;	/* given up: no reps done, again */
};

struct hv_mem {
	u64 caps;			/* HvExtCallQueryCapabilities */
	bool cold_active;		/* registered with mm/hinting */
	bool hot_online_active;		/* hot hints for memory onlined */
	int zeroed_err;			/* why boot-zeroed was not used */
	bool zeroed_early;		/* the query ran during boot */
	struct hv_mem_zeroed zeroed;
	struct hv_mem_counters cnt;
	/* one page of hypercall input and one of output, under call_lock */
	struct mutex call_lock;
	void *in;
	void *out;
};

extern struct hv_mem hv_mem;

/* ranges.c */
unsigned int hv_mem_fill_ranges(union hv_gpa_page_range *r,
				unsigned int room, unsigned long pfn,
				unsigned long nr, unsigned long *used);
unsigned long hv_mem_range_pages(union hv_gpa_page_range r);

/* cold.c */
int hv_mem_heat_call(unsigned int type, unsigned int n, unsigned long *done);
int hv_mem_cold_start(void);
void hv_mem_cold_stop(void);

/* hot.c */
int hv_mem_hot_hint(unsigned long pfn, unsigned long nr);
int hv_mem_hot_hint_node(int nid);
int hv_mem_hot_start(void);
void hv_mem_hot_stop(void);

/* ext_query.c: built in with CONFIG_VMDENSE_HYPERV_MEM_EARLY */
int hv_mem_query_caps(void *out, u64 *caps);
int hv_mem_query_zeroed(void *out, struct hv_mem_zeroed *z);

/* early.c: what boot found, for the module to take over */
struct hv_mem_early {
	bool asked;			/* the query ran during boot */
	int err;			/* and failed so */
	struct hv_mem_zeroed zeroed;
};

extern struct hv_mem_early hv_mem_early;

/* sysfs.c */
int hv_mem_sysfs_init(void);
void hv_mem_sysfs_exit(void);

#endif /* _VMDENSE_HV_MEM_H */
