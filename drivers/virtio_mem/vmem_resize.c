// SPDX-License-Identifier: GPL-2.0
/*
 * vmdense virtio-mem: the plug/unplug engine, shared by sub-block and
 * big-block mode (see vmem.h for units and sub-blocks).
 *
 * Growing fills holes in units Linux already has before adding new units,
 * lowest addresses first, one PLUG request per run of sub-blocks.
 *
 * Shrinking prefers what is cheapest and empties units soonest: units
 * not added (a failed add), then offline units, then online units with
 * the fewest plugged sub-blocks, highest addresses first. In an online
 * unit the highest run of plugged sub-blocks is taken from the buddy with
 * one alloc_contig_range() and unplugged with one request; only when that
 * fails do we go sub-block by sub-block, so that one pinned page costs
 * one sub-block, not the run.
 *
 * Emptied units are offlined and removed only once the whole request is
 * done: removal is guest-side bookkeeping (about half the time an unplug
 * takes), the host has its memory back as soon as UNPLUG is acknowledged.
 */
#include <linux/bitmap.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "vmem.h"

int vmem_resize_alloc(struct vmem_dev *vm)
{
	unsigned long sbs = vm->nr_units * vm->sbs_per_unit;

	vm->sb_plugged = bitmap_zalloc(sbs, GFP_KERNEL);
	vm->unit_plugged = kcalloc(vm->nr_units, sizeof(u16), GFP_KERNEL);
	vm->unit_present = kcalloc(vm->nr_units, sizeof(bool), GFP_KERNEL);
	vm->mb_state = kcalloc(vm->nr_units * vm->mb_per_unit, sizeof(u8),
			       GFP_KERNEL);
	if (!vm->sb_plugged || !vm->unit_plugged || !vm->unit_present ||
	    !vm->mb_state) {
		vmem_resize_free(vm);
		return -ENOMEM;
	}
	return 0;
}

void vmem_resize_free(struct vmem_dev *vm)
{
	bitmap_free(vm->sb_plugged);
	kfree(vm->unit_plugged);
	kfree(vm->unit_present);
	kfree(vm->mb_state);
	vm->sb_plugged = NULL;
	vm->unit_plugged = NULL;
	vm->unit_present = NULL;
	vm->mb_state = NULL;
}

/* The largest run of sub-blocks one request can carry. */
static unsigned int vmem_max_run(struct vmem_dev *vm)
{
	u64 sbs = div64_u64((u64)U16_MAX * vm->block_size, vm->sb_size);

	return min_t(u64, sbs, vm->sbs_per_unit);
}

static int vmem_errno(enum vmem_answer answer)
{
	switch (answer) {
	case VMEM_ACK:
		return 0;
	case VMEM_NACK:
	case VMEM_BUSY:
		return -ETXTBSY;	/* the device, not our pages */
	case VMEM_ERROR:
		return -EIO;
	default:
		return -EPROTO;
	}
}

/* All memory blocks of the unit in state s? */
static bool vmem_unit_all(struct vmem_dev *vm, unsigned long unit, u8 s)
{
	unsigned long i, mb = unit * vm->mb_per_unit;

	for (i = 0; i < vm->mb_per_unit; i++)
		if (vm->mb_state[mb + i] != s)
			return false;
	return true;
}

static void vmem_mark(struct vmem_dev *vm, unsigned long unit,
		      unsigned int first, unsigned int n, bool plugged)
{
	unsigned long bit = vmem_sb_index(vm, unit, first);
	u64 bytes = (u64)n * vm->sb_size;

	if (plugged) {
		bitmap_set(vm->sb_plugged, bit, n);
		vm->unit_plugged[unit] += n;
		vm->plugged_size += bytes;
	} else {
		bitmap_clear(vm->sb_plugged, bit, n);
		vm->unit_plugged[unit] -= n;
		vm->plugged_size -= bytes;
	}
}

/*
 * Unplug sub-blocks [first, first + n) of @unit in runs one request can
 * carry; stops at the first answer that is not ACK. Returns how many were
 * unplugged (from @first on), and marks them.
 */
static unsigned int vmem_unplug_runs(struct vmem_dev *vm, unsigned long unit,
				     unsigned int first, unsigned int n)
{
	unsigned int done = 0, run, max = vmem_max_run(vm);

	while (done < n) {
		run = min(n - done, max);
		if (vmem_unplug(vm, vmem_sb_addr(vm, unit, first + done),
				(u64)run * vm->sb_size) != VMEM_ACK)
			break;
		vmem_mark(vm, unit, first + done, run, false);
		done += run;
	}
	return done;
}

static unsigned long vmem_pfn(struct vmem_dev *vm, unsigned long unit,
			      unsigned int sb)
{
	return PHYS_PFN(vmem_sb_addr(vm, unit, sb));
}

/*
 * Plug unplugged sub-blocks of a present unit whose memory blocks are all
 * online or all offline; online ones go straight to the buddy.
 */
static int vmem_fill_unit(struct vmem_dev *vm, unsigned long unit,
			  unsigned long *need)
{
	unsigned int first = 0, n, max = vmem_max_run(vm);
	bool online;
	int rc = 0;

	mutex_lock(&vm->lock);
	online = vmem_unit_all(vm, unit, VMEM_MB_ONLINE);
	if (!online && !vmem_unit_all(vm, unit, VMEM_MB_OFFLINE)) {
		rc = -EBUSY;	/* being onlined or offlined: later */
		goto out;
	}
	while (*need) {
		unsigned long base = vmem_sb_index(vm, unit, 0);
		unsigned long bit;

		bit = find_next_zero_bit(vm->sb_plugged,
					 base + vm->sbs_per_unit, base + first);
		if (bit >= base + vm->sbs_per_unit)
			break;
		first = bit - base;
		for (n = 1; first + n < vm->sbs_per_unit && n < *need &&
		     n < max && !vmem_sb_is_plugged(vm, unit, first + n); n++)
			;
		rc = vmem_errno(vmem_plug(vm, vmem_sb_addr(vm, unit, first),
					  (u64)n * vm->sb_size));
		if (rc)
			break;
		vmem_mark(vm, unit, first, n, true);
		if (online)
			vmem_pages_release(vmem_pfn(vm, unit, first),
					   n * PHYS_PFN(vm->sb_size));
		*need -= n;
		first += n;
	}
out:
	mutex_unlock(&vm->lock);
	return rc;
}

/* Plug the first sub-blocks of an absent unit, then add it to Linux. */
static int vmem_add_unit(struct vmem_dev *vm, unsigned long unit,
			 unsigned long *need)
{
	unsigned int n = min_t(unsigned long, *need, vm->sbs_per_unit);
	unsigned int done = 0, max = vmem_max_run(vm);
	unsigned int i;
	int rc = 0;

	mutex_lock(&vm->lock);
	while (done < n) {
		unsigned int run = min(n - done, max);

		rc = vmem_errno(vmem_plug(vm, vmem_sb_addr(vm, unit, done),
					  (u64)run * vm->sb_size));
		if (rc)
			break;
		vmem_mark(vm, unit, done, run, true);
		done += run;
	}
	if (!done) {
		mutex_unlock(&vm->lock);
		return rc;
	}
	vm->unit_present[unit] = true;
	for (i = 0; i < vm->mb_per_unit; i++)
		vm->mb_state[unit * vm->mb_per_unit + i] = VMEM_MB_OFFLINE;
	mutex_unlock(&vm->lock);

	/* onlining (if automatic) calls the online-page callback from here */
	rc = add_memory_driver_managed(vm->nid, vmem_unit_addr(vm, unit),
				       vm->unit_size, VMEM_RES_NAME,
				       MHP_MERGE_RESOURCE);
	if (rc) {
		dev_warn_ratelimited(&vm->vdev->dev,
				     "adding memory at 0x%llx failed: %d\n",
				     vmem_unit_addr(vm, unit), rc);
		mutex_lock(&vm->lock);
		vm->unit_present[unit] = false;
		/* what stays plugged is unplugged by the next shrink */
		vmem_unplug_runs(vm, unit, 0, done);
		mutex_unlock(&vm->lock);
		return -EBUSY;
	}
	*need -= done;
	return 0;
}

int vmem_grow(struct vmem_dev *vm, u64 size)
{
	unsigned long need = div64_u64(size, vm->sb_size);
	struct range pluggable = mhp_get_pluggable_range(true);
	bool busy = false;
	unsigned long unit;
	int rc;

	for (unit = 0; unit < vm->usable_units && need; unit++) {
		if (!vm->unit_present[unit] ||
		    vm->unit_plugged[unit] == vm->sbs_per_unit)
			continue;
		rc = vmem_fill_unit(vm, unit, &need);
		if (rc == -EBUSY && !busy) {
			busy = true;
			continue;
		}
		if (rc)
			return rc;
	}
	for (unit = 0; unit < vm->usable_units && need; unit++) {
		u64 start = vmem_unit_addr(vm, unit);

		if (vm->unit_present[unit] || vm->unit_plugged[unit])
			continue;
		if (start < pluggable.start ||
		    start + vm->unit_size - 1 > pluggable.end)
			continue;
		if (atomic_read(&vm->config_changed))
			return -EAGAIN;
		rc = vmem_add_unit(vm, unit, &need);
		if (rc)
			return rc;
	}
	if (!need)
		return 0;
	return busy ? -EBUSY : -ENOSPC;
}

/*
 * The topmost run of plugged sub-blocks of @unit below *@end, at most
 * @limit long (limit >= 1): moves *@end down to the run's end and returns
 * its first sub-block. False when nothing below *@end is plugged.
 */
static bool vmem_top_plugged_run(struct vmem_dev *vm, unsigned long unit,
				 unsigned int *end, unsigned long limit,
				 unsigned int *first)
{
	unsigned int e = *end, f;

	while (e && !vmem_sb_is_plugged(vm, unit, e - 1))
		e--;
	*end = e;
	if (!e)
		return false;
	f = e - 1;
	while (f && vmem_sb_is_plugged(vm, unit, f - 1) && e - f < limit)
		f--;
	*first = f;
	return true;
}

/* Unplug the highest plugged sub-blocks of a unit Linux does not use. */
static int vmem_shrink_unused(struct vmem_dev *vm, unsigned long unit,
			      unsigned long *need)
{
	unsigned int max = vmem_max_run(vm);
	unsigned int end = vm->sbs_per_unit;
	int rc = 0;

	while (*need && end) {
		unsigned int first;

		if (!vmem_top_plugged_run(vm, unit, &end,
					  min_t(unsigned long, *need, max),
					  &first))
			break;
		rc = vmem_errno(vmem_unplug(vm, vmem_sb_addr(vm, unit, first),
					    (u64)(end - first) * vm->sb_size));
		if (rc)
			break;
		vmem_mark(vm, unit, first, end - first, false);
		*need -= end - first;
		end = first;
	}
	return rc;
}

/*
 * Take sub-blocks [first, first + n) of an online unit from the buddy and
 * unplug them. -EBUSY when the pages could not be taken or the unit is
 * not stably online; the pages are then where they were.
 */
static int vmem_unplug_online_run(struct vmem_dev *vm, unsigned long unit,
				  unsigned int first, unsigned int n)
{
	const unsigned long pfn = vmem_pfn(vm, unit, first);
	const unsigned long nr = n * PHYS_PFN(vm->sb_size);
	int rc;

	/*
	 * Migration runs without vm->lock, like onlining does: taken pages
	 * are unmovable, so the unit cannot go offline meanwhile; we check
	 * that it did not start to.
	 */
	rc = vmem_pages_take(pfn, nr);
	if (rc) {
		atomic64_inc(&vm->stats.migration_failures);
		return -EBUSY;
	}
	mutex_lock(&vm->lock);
	if (!vmem_unit_all(vm, unit, VMEM_MB_ONLINE)) {
		vmem_pages_release(pfn, nr);
		rc = -EBUSY;
		goto out;
	}
	rc = vmem_errno(vmem_unplug(vm, vmem_sb_addr(vm, unit, first),
				    (u64)n * vm->sb_size));
	if (rc) {
		vmem_pages_release(pfn, nr);
		goto out;
	}
	vmem_mark(vm, unit, first, n, false);
out:
	mutex_unlock(&vm->lock);
	return rc;
}

/*
 * How many sub-blocks we may take from the running system: every page
 * taken, free or migrated, lowers MemAvailable by one.
 */
static unsigned long vmem_room(struct vmem_dev *vm)
{
	long reserve = (long)READ_ONCE(vm->reserve_mb) << (20 - PAGE_SHIFT);
	long avail = si_mem_available() - reserve;

	return avail > 0 ? avail / PHYS_PFN(vm->sb_size) : 0;
}

static int vmem_shrink_online(struct vmem_dev *vm, unsigned long unit,
			      unsigned long *need)
{
	unsigned int max = vmem_max_run(vm);
	unsigned int end = vm->sbs_per_unit;
	int rc;

	while (*need && end) {
		unsigned long room = vmem_room(vm);
		unsigned int first, s;

		if (atomic_read(&vm->config_changed))
			return -EAGAIN;
		if (!room) {
			/* retried with back-off: the load may go away */
			atomic64_inc(&vm->stats.reserve_stops);
			return -ENOMEM;
		}
		if (!vmem_top_plugged_run(vm, unit, &end,
					  min3(*need, room, (unsigned long)max),
					  &first))
			break;
		rc = vmem_unplug_online_run(vm, unit, first, end - first);
		if (!rc) {
			*need -= end - first;
		} else if (rc == -EBUSY && end - first > 1) {
			/* something will not move: go one by one */
			for (s = end; s > first && *need && vmem_room(vm);
			     s--) {
				rc = vmem_unplug_online_run(vm, unit, s - 1, 1);
				if (!rc)
					(*need)--;
				else if (rc != -EBUSY)
					return rc;
			}
		} else if (rc != -EBUSY) {
			return rc;
		}
		end = first;
	}
	return 0;
}

static void vmem_remove_unit(struct vmem_dev *vm, unsigned long unit)
{
	int rc;

	rc = offline_and_remove_memory(vmem_unit_addr(vm, unit),
				       vm->unit_size);
	if (rc) {
		dev_dbg(&vm->vdev->dev, "removing 0x%llx failed: %d\n",
			vmem_unit_addr(vm, unit), rc);
		return;
	}
	mutex_lock(&vm->lock);
	vm->unit_present[unit] = false;
	mutex_unlock(&vm->lock);
}

/* Offline and remove every present unit that has nothing plugged. */
void vmem_remove_empty_units(struct vmem_dev *vm)
{
	unsigned long unit;

	for (unit = 0; unit < vm->nr_units; unit++) {
		/* a new request first; a grow may even reuse the unit */
		if (atomic_read(&vm->config_changed) && !vm->removing)
			break;
		if (vm->unit_present[unit] && !vm->unit_plugged[unit])
			vmem_remove_unit(vm, unit);
	}
}

bool vmem_all_removed(struct vmem_dev *vm)
{
	unsigned long unit;

	for (unit = 0; unit < vm->nr_units; unit++)
		if (vm->unit_present[unit])
			return false;
	return true;
}

/* The next online unit to shrink: fewest plugged, then highest. */
static long vmem_pick_online(struct vmem_dev *vm, unsigned long *tried)
{
	long best = -1;
	long unit;

	for (unit = vm->nr_units - 1; unit >= 0; unit--) {
		if (!vm->unit_present[unit] || !vm->unit_plugged[unit] ||
		    test_bit(unit, tried))
			continue;
		if (best < 0 ||
		    vm->unit_plugged[unit] < vm->unit_plugged[best])
			best = unit;
	}
	return best;
}

int vmem_shrink(struct vmem_dev *vm, u64 size)
{
	unsigned long need = div64_u64(size, vm->sb_size);
	unsigned long *tried;
	long unit;
	int rc = 0;

	/* units Linux does not use: plugged but absent, or all offline */
	for (unit = vm->nr_units - 1; unit >= 0 && need; unit--) {
		if (!vm->unit_plugged[unit])
			continue;
		mutex_lock(&vm->lock);
		if (!vm->unit_present[unit] ||
		    vmem_unit_all(vm, unit, VMEM_MB_OFFLINE))
			rc = vmem_shrink_unused(vm, unit, &need);
		mutex_unlock(&vm->lock);
		if (rc)
			return rc;
	}
	if (!need || !vm->unplug_online)
		return need ? -EBUSY : 0;

	tried = bitmap_zalloc(vm->nr_units, GFP_KERNEL);
	if (!tried)
		return -ENOMEM;
	while (need) {
		unit = vmem_pick_online(vm, tried);
		if (unit < 0)
			break;
		set_bit(unit, tried);
		mutex_lock(&vm->lock);
		if (!vmem_unit_all(vm, unit, VMEM_MB_ONLINE)) {
			mutex_unlock(&vm->lock);
			continue;
		}
		mutex_unlock(&vm->lock);
		rc = vmem_shrink_online(vm, unit, &need);
		if (rc)
			break;
	}
	bitmap_free(tried);
	if (rc)
		return rc;
	return need ? -EBUSY : 0;
}

/*
 * The device's state of a unit, asked in runs one request can carry:
 * PLUGGED or UNPLUGGED if every run says so, MIXED otherwise. Returns
 * false when an answer was not ACK.
 */
static bool vmem_unit_state(struct vmem_dev *vm, unsigned long unit,
			    u16 *state)
{
	unsigned int done = 0, run, max = vmem_max_run(vm);
	u16 got;

	while (done < vm->sbs_per_unit) {
		run = min(vm->sbs_per_unit - done, max);
		if (vmem_state(vm, vmem_sb_addr(vm, unit, done),
			       (u64)run * vm->sb_size, &got) != VMEM_ACK)
			return false;
		if (!done)
			*state = got;
		else if (got != *state)
			*state = VIRTIO_MEM_STATE_MIXED;
		done += run;
	}
	return true;
}

/*
 * Ask the device for the state of every unit and compare it with ours.
 * Returns the number of units that disagree.
 */
int vmem_check_state(struct vmem_dev *vm)
{
	unsigned long unit;
	int bad = 0;

	mutex_lock(&vm->lock);
	for (unit = 0; unit < vm->nr_units; unit++) {
		unsigned int plugged = vm->unit_plugged[unit];
		u64 addr = vmem_unit_addr(vm, unit);
		u16 want, got;

		if (!plugged)
			want = VIRTIO_MEM_STATE_UNPLUGGED;
		else if (plugged == vm->sbs_per_unit)
			want = VIRTIO_MEM_STATE_PLUGGED;
		else
			want = VIRTIO_MEM_STATE_MIXED;
		/* units beyond the usable region may not be asked about */
		if (addr + vm->unit_size > vm->addr + vm->usable_size)
			continue;
		if (!vmem_unit_state(vm, unit, &got)) {
			bad++;
			continue;
		}
		if (got != want) {
			dev_warn(&vm->vdev->dev,
				 "unit 0x%llx: device says state %u, we %u\n",
				 addr, got, want);
			bad++;
		}
	}
	mutex_unlock(&vm->lock);
	atomic64_add(bad, &vm->stats.state_mismatches);
	return bad;
}
