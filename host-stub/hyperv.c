// SPDX-License-Identifier: GPL-2.0
/*
 * Hyper-V extended hypercalls.  Layouts follow the TLFS as the kernel's
 * asm-generic/hyperv-tlfs.h uses them; every guest address is checked
 * against guest memory before use.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "hyperv.h"

#define PAGE		4096ull
#define LARGE_PAGE	(2ull << 20)
#define ZEROED_MAX	255	/* ranges that fit the 0xff8-byte output */

void hyperv_init(struct hyperv *hv, const struct guest_mem *mem)
{
	memset(hv, 0, sizeof(*hv));
	pthread_mutex_init(&hv->lock, NULL);
	hv->mem = mem;
}

static void set_leaf(struct kvm_cpuid2 *c, unsigned int max, uint32_t fn,
		     uint32_t a, uint32_t b, uint32_t cx, uint32_t d)
{
	struct kvm_cpuid_entry2 *e;

	if (c->nent >= max)
		return;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->eax = a;
	e->ebx = b;
	e->ecx = cx;
	e->edx = d;
}

void hyperv_cpuid(struct hyperv *hv, struct kvm_cpuid2 *c, unsigned int max)
{
	unsigned int i, n = 0;

	(void)hv;
	/*
	 * Drop KVM's own leaves: a Linux guest prefers KVM when both
	 * signatures are visible.
	 */
	for (i = 0; i < c->nent; i++) {
		uint32_t f = c->entries[i].function;

		if (f >= 0x40000000 && f < 0x50000000)
			continue;
		c->entries[n++] = c->entries[i];
	}
	c->nent = n;
	/* "Microsoft Hv", max leaf 0x40000006 */
	set_leaf(c, max, 0x40000000, 0x40000006, 0x7263694d, 0x666f736f,
		 0x76482074);
	set_leaf(c, max, 0x40000001, 0x31237648, 0, 0, 0);	/* "Hv#1" */
	set_leaf(c, max, 0x40000002, 0, 0, 0, 0);
	/*
	 * EAX: time reference counter (1), hypercall MSRs (5), VP index (6);
	 * EBX: EnableExtendedHypercalls (20).
	 */
	set_leaf(c, max, 0x40000003, (1u << 1) | (1u << 5) | (1u << 6),
		 1u << 20, 0, 0);
	set_leaf(c, max, 0x40000004, 0, 0, 0, 0);
	set_leaf(c, max, 0x40000005, 0, 0, 0, 0);
	set_leaf(c, max, 0x40000006, 0, 0, 0, 0);
}

static uint64_t query_caps(struct hyperv *hv, uint64_t out_gpa)
{
	uint64_t caps = HV_CAP_BOOT_ZEROED | HV_CAP_HEAT_HINT |
			HV_CAP_COLD_DISCARD;
	void *out = gm_ptr(hv->mem, out_gpa, sizeof(caps));

	if (!out || (out_gpa & 7))
		return HV_STATUS_INVALID_PARAMETER;
	memcpy(out, &caps, sizeof(caps));
	return HV_STATUS_SUCCESS;
}

/*
 * Ranges of RAM never written since boot are holes in the memfd, so they
 * read as zero: report them (page numbers, as the TLFS wants).
 */
static uint64_t boot_zeroed(struct hyperv *hv, uint64_t out_gpa)
{
	uint64_t *out = gm_ptr(hv->mem, out_gpa, 0xff8);
	uint64_t count = 0;
	int i;

	if (!out || (out_gpa & (PAGE - 1)))
		return HV_STATUS_INVALID_PARAMETER;
	for (i = 0; i < hv->mem->n && count < ZEROED_MAX; i++) {
		const struct gm_region *r = &hv->mem->r[i];
		off_t pos = r->fd_off, end = r->fd_off + r->size;

		if (r->fd < 0 || r->accessible)
			continue;
		while (pos < end && count < ZEROED_MAX) {
			off_t hole = lseek(r->fd, pos, SEEK_HOLE);
			off_t data;
			uint64_t first, last;

			if (hole < 0 || hole >= end)
				break;
			data = lseek(r->fd, hole, SEEK_DATA);
			if (data < 0 || data > end)
				data = end;
			first = (hole + PAGE - 1) / PAGE;
			last = data / PAGE;
			if (last > first) {
				out[1 + 2 * count] = (r->gpa - r->fd_off) / PAGE
						     + first;
				out[2 + 2 * count] = last - first;
				count++;
				/* the lie: data where zeroes are promised */
				if (hv->lie_zeroed)
					memset(r->hva + first * PAGE - r->fd_off,
					       0x6b, (last - first) * PAGE);
			}
			pos = data;
		}
	}
	out[0] = count;
	hv->zeroed_ranges_reported += count;
	return HV_STATUS_SUCCESS;
}

/*
 * A hot hint backs the range now and maps it in our page tables, so that
 * the guest's first touch needs no allocation and KVM finds the page
 * without faulting it in (hv->stage2_map then maps it for the guest).
 * Where MADV_POPULATE_WRITE is missing (before Linux 5.14) the pages are
 * at least allocated in the memfd.
 */
static void prefault(const struct gm_region *reg, uint64_t gpa, uint64_t len)
{
	if (!madvise(reg->hva + (gpa - reg->gpa), len, MADV_POPULATE_WRITE))
		return;
	if (reg->fd >= 0)
		fallocate(reg->fd, FALLOC_FL_KEEP_SIZE,
			  reg->fd_off + (gpa - reg->gpa), len);
}

/* One range of a heat hint, in @reg (whose lock, if any, is held). */
static int hint_backed(struct hyperv *hv, unsigned int type,
		       const struct gm_region *reg, uint64_t gpa, uint64_t len,
		       void *vcpu)
{
	if (reg->accessible && !reg->accessible(reg->opaque, gpa, len))
		return -1;
	if (type == HV_HINT_HOT) {
		prefault(reg, gpa, len);
		hv->hot_pages += len / PAGE;
		/* a hint is advice: a range left unmapped is only counted */
		if (hv->stage2_map && vcpu) {
			if (hv->stage2_map(vcpu, gpa, len) < 0)
				hv->hot_map_errors++;
			else
				hv->hot_mapped_pages += len / PAGE;
		}
		return 0;
	}
	if (gm_discard(hv->mem, gpa, len, "cold hint") < 0)
		return -1;
	if (type == HV_HINT_COLD_DISCARD)
		hv->discard_pages += len / PAGE;
	else
		hv->cold_pages += len / PAGE;
	return 0;
}

static int hint_range(struct hyperv *hv, unsigned int type, uint64_t r,
		      void *vcpu)
{
	uint64_t n = (r & 0x7ff) + 1, gpa, len;
	const struct gm_region *reg;
	int ret;

	if (r & (1ull << 11)) {
		/* large form: 2 MiB or 1 GiB units from bit 21 up */
		uint64_t unit = (r & (1ull << 12)) ? (1ull << 30) : LARGE_PAGE;

		gpa = r & ~(LARGE_PAGE - 1);
		if (gpa & (unit - 1))
			return -1;
		len = n * unit;
	} else {
		gpa = (r >> 12) * PAGE;
		len = n * PAGE;
	}
	reg = gm_find(hv->mem, gpa, len);
	if (!reg)
		return -1;
	/*
	 * Device memory (virtio-mem) only where it is plugged, and plugged
	 * it stays until we are done: an unplug in between would find its
	 * blocks backed (or discarded) behind its back.
	 */
	if (reg->lock)
		pthread_mutex_lock(reg->lock);
	ret = hint_backed(hv, type, reg, gpa, len, vcpu);
	if (reg->lock)
		pthread_mutex_unlock(reg->lock);
	return ret;
}

static uint64_t heat_hint(struct hyperv *hv, uint64_t input,
			  uint64_t in_gpa, void *vcpu)
{
	unsigned int reps = (input >> 32) & 0xfff;
	unsigned int start = (input >> 48) & 0xfff;
	const uint64_t *in;
	unsigned int type, i;

	/* header plus ranges, all within one page of input */
	if (!reps || start >= reps || (in_gpa & 7) ||
	    8 + 8ull * reps > PAGE - (in_gpa & (PAGE - 1)))
		return HV_STATUS_INVALID_PARAMETER;
	in = gm_ptr(hv->mem, in_gpa, 8 + 8ull * reps);
	if (!in)
		return HV_STATUS_INVALID_PARAMETER;
	type = in[0] & 3;
	if (type == 3 || (in[0] >> 2))
		return HV_STATUS_INVALID_PARAMETER;
	if (hv->stall_calls) {
		/* success, and not one rep further than asked to start at */
		hv->stall_calls--;
		hv->stalled++;
		if (hv->stall_ms)
			usleep(hv->stall_ms * 1000);
		return HV_STATUS_SUCCESS | ((uint64_t)start << 32);
	}
	for (i = start; i < reps; i++) {
		if (hint_range(hv, type, __atomic_load_n(&in[1 + i],
							 __ATOMIC_RELAXED), vcpu))
			return HV_STATUS_INVALID_PARAMETER |
			       ((uint64_t)i << 32);
	}
	return HV_STATUS_SUCCESS | ((uint64_t)reps << 32);
}

uint64_t hyperv_hcall(struct hyperv *hv, uint64_t input, uint64_t in_gpa,
		      uint64_t out_gpa, void *vcpu)
{
	unsigned int code = input & 0xffff;
	uint64_t ret;

	pthread_mutex_lock(&hv->lock);
	if (code >= 0x8001 && code <= 0x8003)
		hv->calls[code - 0x8000]++;
	else
		hv->calls[0]++;
	if (input & (1ull << 16)) {	/* fast calls are not defined here */
		ret = HV_STATUS_INVALID_INPUT;
	} else {
		switch (code) {
		case HV_EXT_QUERY_CAPS:
			ret = query_caps(hv, out_gpa);
			break;
		case HV_EXT_BOOT_ZEROED:
			ret = boot_zeroed(hv, out_gpa);
			break;
		case HV_EXT_HEAT_HINT:
			ret = heat_hint(hv, input, in_gpa, vcpu);
			break;
		default:
			ret = HV_STATUS_INVALID_CODE;
			break;
		}
	}
	if ((ret & 0xffff) != HV_STATUS_SUCCESS)
		hv->bad_calls++;
	pthread_mutex_unlock(&hv->lock);
	return ret;
}

void hyperv_exit(struct hyperv *hv, struct kvm_hyperv_exit *e, void *vcpu)
{
	if (e->type != KVM_EXIT_HYPERV_HCALL)
		return;
	e->u.hcall.result = hyperv_hcall(hv, e->u.hcall.input,
					 e->u.hcall.params[0],
					 e->u.hcall.params[1], vcpu);
}
