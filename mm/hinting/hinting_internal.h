/* SPDX-License-Identifier: GPL-2.0 */
/* mm/hinting: what the parts of the core share with each other. */
#ifndef _MM_HINTING_HINTING_INTERNAL_H
#define _MM_HINTING_HINTING_INTERNAL_H

#include <linux/atomic.h>
#include <linux/mmzone.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "hinting.h"

/* Capture slots per CPU: a free-heavy burst fills them before a wakeup. */
#define HINTING_PCP_SLOTS	512
/* Upper bound of report_batch, whatever the consumer could take. */
#define HINTING_MAX_BATCH	256

/*
 * A captured block; zone is filled in by the worker, not at capture.
 * @when: jiffies of its free, so that the worker can let young blocks
 * wait where memory churns (see adapt.c).
 */
struct hinting_entry {
	unsigned long pfn;
	unsigned int order;
	bool held;		/* waited out a hold in an earlier pass */
	unsigned long when;
	struct zone *zone;
};

/* One CPU's capture array; its lock nests inside the zone lock. */
struct hinting_pcp {
	spinlock_t lock;	/* guards the rest; the totals read counters without it */
	unsigned int count;
	unsigned long captured;
	unsigned long dropped;
	unsigned long slot[HINTING_PCP_SLOTS];	/* pfn << 4 | order */
	unsigned long when[HINTING_PCP_SLOTS];	/* jiffies of the free */
};

struct hinting_knobs {
	unsigned int enabled;
	unsigned int min_order;
	unsigned int wake_threshold;
	unsigned int report_threshold;	/* base pages */
	unsigned int report_batch;
	unsigned int delay_ms;
	unsigned int skip_zeroing;	/* trust known-zero pages */
	unsigned int adaptive;		/* hold back where memory churns */
	unsigned int hold_max_ms;	/* the longest a zone holds back */
	unsigned int churn_pct;		/* reallocated within 1 s, target */
};

/* Counters of the worker; it updates them under hinting_lock. */
struct hinting_stats {
	atomic_long_t stale;
	atomic_long_t isolated;
	atomic_long_t reported_pages;
	atomic_long_t failed;
	atomic_long_t batches;
	atomic_long_t zone_lock_acquisitions;
	atomic_long_t guarded;		/* left free near the low watermark */
	atomic_long_t held;		/* waited out a zone's hold, entries */
	atomic64_t worker_cpu_ns;
	atomic64_t lock_hold_ns;	/* zone lock held by the worker */
};

extern struct hinting_knobs hinting_knobs;
extern struct hinting_stats hinting_stats;
/* Serialises the worker, consumer changes and enabling. */
extern struct mutex hinting_lock;

/* capture.c */
bool hinting_pcp_add(struct hinting_pcp *pcp, unsigned long pfn,
		     unsigned int order, unsigned long when,
		     unsigned int wake_threshold);
unsigned int hinting_pcp_take(struct hinting_pcp *pcp,
			      struct hinting_entry *to, unsigned int room,
			      unsigned long *lost);
unsigned int hinting_drain_all(struct hinting_entry *to, unsigned int room);
void hinting_capture_totals(unsigned long *captured, unsigned long *dropped);
void hinting_kick(bool now);
void hinting_kick_after(unsigned long delay);
bool hinting_capturing(void);
void hinting_kick_reset(void);
void hinting_capture_block(struct page *page, unsigned int order);
int hinting_capture_init(void);

/* worker.c */
extern struct delayed_work hinting_work;
extern bool hinting_ready;
void hinting_sort(struct hinting_entry *e, unsigned int n);
unsigned int hinting_batch_end(const struct hinting_entry *e,
			       unsigned int start, unsigned int n,
			       unsigned int batch);
unsigned long hinting_pages(const struct hinting_entry *e, unsigned int n);
void hinting_run(void);
void hinting_seed(void);
int hinting_worker_init(void);

/* consumer.c */
extern struct hinting_consumer *hinting_consumer;
extern atomic_t hinting_leaving;
void hinting_update_key(void);

/* adapt.c: what reporting costs where memory churns, and the hold */
unsigned long hinting_hold(struct zone *zone);
void hinting_adapt(void);
void hinting_track_reported(unsigned long pfn, unsigned int order);
void hinting_track_alloc(struct page *page, unsigned int order);
void hinting_track_saved(struct zone *zone, unsigned int order);
int hinting_track_init(void);
unsigned long hinting_hold_max_now(void);
unsigned long hinting_saved_pages(void);
void hinting_realloc_totals(unsigned long *total, unsigned long *bucket);
#define HINTING_REALLOC_BUCKETS	4	/* < 100 ms, < 1 s, < 10 s, later */

/* for KUnit only */
void hinting_test_set_hold(struct zone *zone, unsigned long hold);
unsigned long hinting_test_fill_carry(void);

/* known_zero.c */
unsigned long hinting_zeroing_skipped(void);
unsigned long hinting_zeroing_done(void);
unsigned long hinting_zeroing_done_known_zero(void);
unsigned long hinting_known_zero_marked(void);
unsigned long hinting_known_zero_refusals(void);
void hinting_known_zero_isolated(unsigned long pfn, unsigned int order);

/* sysfs.c */
int hinting_parse_knob(const char *buf, unsigned int min, unsigned int max,
		       unsigned int *val);
int hinting_sysfs_init(void);

#endif /* _MM_HINTING_HINTING_INTERNAL_H */
