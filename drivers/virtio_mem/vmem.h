/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmdense virtio-mem driver: shared definitions.
 *
 * The device region is cut into "units": the pieces handed to
 * add_memory_driver_managed() and removed again as a whole. A unit is one
 * Linux memory block when the device block is not larger (sub-block mode),
 * or one device block when it is (big-block mode). Each unit is cut into
 * sub-blocks, the smallest piece plugged or unplugged: in sub-block mode
 * max(device block, pageblock), in big-block mode the unit itself. Both
 * modes therefore share one plug/unplug engine; they differ only in the
 * sizes and in how many memory blocks a unit spans.
 */
#ifndef _VMDENSE_VMEM_H
#define _VMDENSE_VMEM_H

#include <linux/atomic.h>
#include <linux/crash_dump.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/types.h>
#include <linux/mmzone.h>
#include <linux/virtio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/virtio_mem.h>

/* the largest buddy order: MAX_PAGE_ORDER since 6.8, MAX_ORDER - 1 before */
#ifdef MAX_PAGE_ORDER
#define VMEM_MAX_ORDER	MAX_PAGE_ORDER
#else
#define VMEM_MAX_ORDER	(MAX_ORDER - 1)
#endif

#define VMEM_NAME		"vmdense_virtio_mem"
/* add_memory_driver_managed() insists on this form of resource name */
#define VMEM_RES_NAME		"System RAM (vmdense_virtio_mem)"

/* Online state of one Linux memory block of a present unit. */
enum vmem_mb_state {
	VMEM_MB_OFFLINE = 0,
	VMEM_MB_ONLINING,	/* between MEM_GOING_ONLINE and MEM_ONLINE */
	VMEM_MB_ONLINE,
	VMEM_MB_OFFLINING,	/* between MEM_GOING_OFFLINE and MEM_OFFLINE */
};

struct vmem_stats {
	atomic64_t plug_requests;
	atomic64_t unplug_requests;
	atomic64_t unplug_all_requests;
	atomic64_t state_requests;
	atomic64_t acks;
	atomic64_t nacks;
	atomic64_t busy;
	atomic64_t errors;
	atomic64_t bad_responses;
	atomic64_t migration_failures;
	atomic64_t retries;
	atomic64_t state_mismatches;
	atomic64_t plugged_mismatches;
	atomic64_t config_refusals;
	atomic64_t reserve_stops;
	atomic64_t timeouts;
};

struct vmem_dev {
	struct virtio_device *vdev;
	struct virtqueue *vq;
	struct list_head node;		/* on vmem_devices, RCU */

	/* Fixed device configuration, validated at probe. */
	u64 block_size;
	u64 addr;
	u64 region_size;
	int nid;
	bool big_block;

	/* Geometry derived from it. */
	u64 unit_size;
	u64 sb_size;
	unsigned int sbs_per_unit;
	unsigned long nr_units;		/* units fully inside the region */
	u64 units_start;		/* address of unit 0 */
	unsigned long mb_per_unit;	/* Linux memory blocks per unit */

	/* Changing configuration; protected by lock. */
	u64 usable_size;
	u64 requested_size;
	u64 plugged_size;		/* what we plugged, the truth */
	unsigned long usable_units;	/* units below the usable end */

	/*
	 * Per-unit and per-sub-block state, protected by lock. A sub-block
	 * bit is set while the device has it plugged. For a present unit,
	 * every unplugged sub-block inside an online memory block is
	 * fake-offline: PageOffline, reference count 1, not managed.
	 */
	unsigned long *sb_plugged;
	u16 *unit_plugged;		/* plugged sub-blocks per unit */
	bool *unit_present;		/* added to Linux */
	u8 *mb_state;			/* enum vmem_mb_state, per memory block */

	/*
	 * lock serialises the worker's page work against the memory
	 * notifier and the online-page callback; it is never held across
	 * add_memory_driver_managed() or offline_and_remove_memory(), which
	 * call back into both.
	 */
	struct mutex lock;

	/* One request in flight: req_lock, the buffers and the waitqueue. */
	struct mutex req_lock;
	wait_queue_head_t resp_wait;
	struct virtio_mem_req req;
	struct virtio_mem_resp resp;
	unsigned int bad_in_a_row;

	struct delayed_work work;
	atomic_t config_changed;
	bool unplug_all_pending;
	bool removing;
	bool broken;			/* stopped talking to the device */
	unsigned int backoff_ms;

	struct notifier_block mem_nb;
	struct resource *parent_res;

	/* kdump kernel: the crashed kernel's memory, only read */
	bool kdump;
#ifdef CONFIG_PROC_VMCORE
	struct vmcore_cb vmcore_cb;
	u64 vmcore_addr, vmcore_end;	/* last block asked about */
	bool vmcore_plugged;
#endif

	/* Tunables (sysfs). */
	unsigned int request_timeout_ms;	/* then the device is dead */
	unsigned int retry_ms;
	unsigned int retry_max_ms;
	bool unplug_online;
	unsigned int reserve_mb;	/* keep this much available */

	struct vmem_stats stats;
};

/* vmem_check.c: pure checks of what the device says (KUnit-tested) */
struct vmem_cfg {
	u64 block_size;
	u64 addr;
	u64 region_size;
	u64 usable_size;
	u64 plugged_size;
	u64 requested_size;
};

struct vmem_layout {
	bool big_block;
	u64 unit_size;
	u64 sb_size;
	unsigned int sbs_per_unit;
	unsigned long mb_per_unit;
	u64 units_start;
	unsigned long nr_units;		/* 0: no whole unit in the region */
};

const char *vmem_bad_cfg(const struct vmem_cfg *c);
const char *vmem_bad_sizes(const struct vmem_cfg *c);
void vmem_layout(const struct vmem_cfg *c, u64 mb_bytes, u64 pageblock_bytes,
		 struct vmem_layout *l);
bool vmem_answer_allowed(u16 type, int raw);

/* vmem_req.c: talking to the device */
enum vmem_answer {
	VMEM_ACK = 0,
	VMEM_NACK,
	VMEM_BUSY,
	VMEM_ERROR,
	VMEM_BAD,	/* transport failure or an answer that makes no sense */
};

enum vmem_answer vmem_plug(struct vmem_dev *vm, u64 addr, u64 size);
enum vmem_answer vmem_unplug(struct vmem_dev *vm, u64 addr, u64 size);
enum vmem_answer vmem_unplug_all(struct vmem_dev *vm);
enum vmem_answer vmem_state(struct vmem_dev *vm, u64 addr, u64 size,
			    u16 *state);
void vmem_vq_done(struct virtqueue *vq);

/* vmem_kdump.c: in a kdump kernel, /proc/vmcore reads plugged memory only */
#ifdef CONFIG_PROC_VMCORE
void vmem_kdump_start(struct vmem_dev *vm);
void vmem_kdump_stop(struct vmem_dev *vm);
#else
static inline void vmem_kdump_start(struct vmem_dev *vm)
{
}

static inline void vmem_kdump_stop(struct vmem_dev *vm)
{
}
#endif

/* vmem_pages.c: moving pages between the buddy and fake-offline */
void vmem_pages_online(unsigned long pfn, unsigned long nr);
void vmem_pages_release(unsigned long pfn, unsigned long nr);
int vmem_pages_take(unsigned long pfn, unsigned long nr);
void vmem_pages_keep(unsigned long pfn, unsigned long nr);
void vmem_pages_drop_refs(unsigned long pfn, unsigned long nr);
void vmem_pages_get_refs(unsigned long pfn, unsigned long nr);

/* vmem_hotplug.c: online-page callback and memory notifier */
int vmem_hotplug_init(void);
void vmem_hotplug_exit(void);
void vmem_hotplug_add_dev(struct vmem_dev *vm);
void vmem_hotplug_del_dev(struct vmem_dev *vm);
int vmem_mem_notify(struct notifier_block *nb, unsigned long action,
		    void *arg);

/* vmem_resize.c: the plug/unplug engine */
int vmem_resize_alloc(struct vmem_dev *vm);
void vmem_resize_free(struct vmem_dev *vm);
int vmem_grow(struct vmem_dev *vm, u64 size);
int vmem_shrink(struct vmem_dev *vm, u64 size);
void vmem_remove_empty_units(struct vmem_dev *vm);
bool vmem_all_removed(struct vmem_dev *vm);
int vmem_check_state(struct vmem_dev *vm);

/* vmem_sysfs.c */
extern const struct attribute_group vmem_attr_group;

/* Geometry helpers. */
static inline u64 vmem_unit_addr(struct vmem_dev *vm, unsigned long unit)
{
	return vm->units_start + (u64)unit * vm->unit_size;
}

static inline u64 vmem_sb_addr(struct vmem_dev *vm, unsigned long unit,
			       unsigned int sb)
{
	return vmem_unit_addr(vm, unit) + (u64)sb * vm->sb_size;
}

static inline unsigned long vmem_sb_index(struct vmem_dev *vm,
					  unsigned long unit, unsigned int sb)
{
	return unit * vm->sbs_per_unit + sb;
}

static inline bool vmem_sb_is_plugged(struct vmem_dev *vm, unsigned long unit,
				      unsigned int sb)
{
	return test_bit(vmem_sb_index(vm, unit, sb), vm->sb_plugged);
}

#endif /* _VMDENSE_VMEM_H */
