// SPDX-License-Identifier: GPL-2.0
/* Hyper-V extended hypercalls and CPUID, against a memfd-backed RAM. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "hyperv.h"
#include "test.h"

#define MIB	(1ull << 20)
#define PAGE	4096ull
#define IN	(1 * MIB)	/* input page */
#define OUT	(1 * MIB + PAGE) /* output page */

static struct hyperv hv;
static struct guest_mem gm;
static uint8_t *ram;
static int fd;

/*
 * The stage-2 mapping hook as the vCPU thread would run it: records the
 * ranges and fails when told to.
 */
static struct fake_vcpu {
	uint64_t mapped_bytes, calls, last_gpa;
	int fail;
} fake_vcpu;

static int fake_stage2_map(void *vcpu, uint64_t gpa, uint64_t len)
{
	struct fake_vcpu *v = vcpu;

	v->calls++;
	v->last_gpa = gpa;
	if (v->fail)
		return -v->fail;
	v->mapped_bytes += len;
	return 0;
}

static uint64_t call(uint64_t code, unsigned int reps)
{
	return hyperv_hcall(&hv, code | ((uint64_t)reps << 32), IN, OUT,
			    &fake_vcpu);
}

static void test_caps(void)
{
	uint64_t caps;

	CHECK(call(HV_EXT_QUERY_CAPS, 0) == HV_STATUS_SUCCESS);
	memcpy(&caps, ram + OUT, 8);
	CHECK(caps & HV_CAP_BOOT_ZEROED && caps & HV_CAP_HEAT_HINT);
	CHECK(caps & HV_CAP_COLD_DISCARD);
	CHECK(hyperv_hcall(&hv, HV_EXT_QUERY_CAPS, 0, 16 * MIB, NULL) ==
	      HV_STATUS_INVALID_PARAMETER);
	CHECK(hyperv_hcall(&hv, HV_EXT_QUERY_CAPS, 0, UINT64_MAX - 3, NULL) ==
	      HV_STATUS_INVALID_PARAMETER);
	CHECK(call(0x8004, 0) == HV_STATUS_INVALID_CODE);
	CHECK(call(HV_EXT_QUERY_CAPS | (1 << 16), 0) ==
	      HV_STATUS_INVALID_INPUT);	/* fast form */
	CHECK(hv.calls[1] == 4 && hv.bad_calls == 4);
}

static void test_boot_zeroed(void)
{
	uint64_t out[1 + 2 * 255];
	uint64_t i, covered = 0;
	int ok = 1;

	/* written: the I/O pages and 2 MiB..3 MiB; all else never written */
	memset(ram + 2 * MIB, 7, MIB);
	CHECK(call(HV_EXT_BOOT_ZEROED, 0) == HV_STATUS_SUCCESS);
	memcpy(out, ram + OUT, sizeof(out[0]) * 8);
	CHECK(out[0] >= 2 && out[0] <= 255);
	memcpy(out, ram + OUT, 8 * (1 + 2 * out[0]));
	for (i = 0; i < out[0]; i++) {
		uint64_t s = out[1 + 2 * i] * PAGE, n = out[2 + 2 * i] * PAGE;

		covered += n;
		/* no reported range may touch a written page */
		ok &= s + n <= OUT || s >= OUT + PAGE;
		ok &= s + n <= 2 * MIB || s >= 3 * MIB;
	}
	CHECK(ok);
	CHECK(covered == 16 * MIB - MIB - PAGE);
	CHECK(hyperv_hcall(&hv, HV_EXT_BOOT_ZEROED, 0, OUT + 8, NULL) ==
	      HV_STATUS_INVALID_PARAMETER);
}

static void put_hint(uint64_t type, const uint64_t *ranges, unsigned int n)
{
	memcpy(ram + IN, &type, 8);
	memcpy(ram + IN + 8, ranges, 8 * n);
}

static void test_heat_hint(void)
{
	uint64_t r[3], before, res;

	memset(ram + 4 * MIB, 9, 4 * MIB);
	/* 4 KiB form: 16 pages at 4 MiB; 2 MiB form: one large page at 6 MiB */
	r[0] = ((4 * MIB / PAGE) << 12) | 15;
	r[1] = (6 * MIB) | (1ull << 11);
	put_hint(HV_HINT_COLD_DISCARD, r, 2);
	before = gm_fd_allocated(fd);
	res = call(HV_EXT_HEAT_HINT, 2);
	CHECK((res & 0xffff) == HV_STATUS_SUCCESS);
	CHECK(((res >> 32) & 0xfff) == 2);	/* completed reps */
	CHECK(gm_fd_allocated(fd) == before - 16 * PAGE - 2 * MIB);
	CHECK(hv.discard_pages == 16 + 512);
	CHECK(peek(fd, 4 * MIB) == 0 && peek(fd, 4 * MIB + 16 * PAGE) == 9);

	/* hot: prefault 1 MiB that was never touched */
	r[0] = ((10 * MIB / PAGE) << 12) | 255;
	put_hint(HV_HINT_HOT, r, 1);
	before = gm_fd_allocated(fd);
	CHECK(call(HV_EXT_HEAT_HINT, 1) == (1ull << 32));
	CHECK(gm_fd_allocated(fd) == before + MIB);
	CHECK(hv.hot_pages == 256);

	/* partial completion: rep start index 1 skips the first range */
	r[0] = ((12 * MIB / PAGE) << 12);
	r[1] = ((64 * MIB / PAGE) << 12);		/* outside RAM */
	r[2] = ((13 * MIB / PAGE) << 12);
	put_hint(HV_HINT_COLD, r, 3);
	res = hyperv_hcall(&hv, HV_EXT_HEAT_HINT | (3ull << 32) |
			   (1ull << 48), IN, 0, &fake_vcpu);
	CHECK((res & 0xffff) == HV_STATUS_INVALID_PARAMETER);
	CHECK(((res >> 32) & 0xfff) == 1);	/* stopped at the bad one */
	CHECK(hv.cold_pages == 0);

	/* misaligned large page, bad type, reserved bits, too many reps */
	r[0] = (6 * MIB + PAGE * 512 * 0) | (1ull << 11) | (1ull << 12);
	put_hint(HV_HINT_COLD, r, 1);
	CHECK(call(HV_EXT_HEAT_HINT, 1) == HV_STATUS_INVALID_PARAMETER);
	put_hint(3, r, 1);
	CHECK(call(HV_EXT_HEAT_HINT, 1) == HV_STATUS_INVALID_PARAMETER);
	put_hint(HV_HINT_COLD | (1 << 5), r, 1);
	CHECK(call(HV_EXT_HEAT_HINT, 1) == HV_STATUS_INVALID_PARAMETER);
	CHECK(call(HV_EXT_HEAT_HINT, 511) == HV_STATUS_INVALID_PARAMETER);
	CHECK(call(HV_EXT_HEAT_HINT, 0) == HV_STATUS_INVALID_PARAMETER);
	CHECK(hyperv_hcall(&hv, HV_EXT_HEAT_HINT | (1ull << 32),
			   16 * MIB - 8, 0, &fake_vcpu) ==
	      HV_STATUS_INVALID_PARAMETER);
	CHECK(hv.calls[3] == 9);
}

static void test_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 16 * sizeof(c->entries[0]));
	unsigned int i, hv_leaves = 0, kvm_sig = 0, ext = 0, basic = 0;

	c->nent = 3;
	c->entries[0].function = 1;
	c->entries[1].function = 0x40000000;	/* "KVMKVMKVM" */
	c->entries[1].ebx = 0x4b4d564b;
	c->entries[2].function = 0x40000001;
	hyperv_cpuid(&hv, c, 16);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			basic++;
		if (e->ebx == 0x4b4d564b)
			kvm_sig++;
		if (e->function >= 0x40000000 && e->function < 0x40000100)
			hv_leaves++;
		if (e->function == 0x40000000)
			CHECK(e->eax >= 0x40000005 && e->ebx == 0x7263694d);
		if (e->function == 0x40000001)
			CHECK(e->eax == 0x31237648);
		if (e->function == 0x40000003) {
			ext = e->ebx & (1u << 20);
			CHECK((e->eax & 0x60) == 0x60);
		}
	}
	CHECK(basic == 1 && kvm_sig == 0 && hv_leaves == 7 && ext);
	free(c);
}

/* a second region standing for virtio-mem: only 1 MiB..2 MiB plugged */
static bool plugged(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	return gpa >= 17 * MIB && gpa + len <= 18 * MIB;
}

static void test_heat_hint_device_memory(void)
{
	uint64_t r, before;
	uint8_t *dev;
	int dfd, i;

	CHECK(gm_memfd("test-hv-dev", 4 * MIB, 0, &dfd, &dev) == 0);
	i = gm_add(&gm, 16 * MIB, 4 * MIB, dev, dfd, 0);
	gm.r[i].accessible = plugged;
	/* hot on the plugged MiB: backed and mapped */
	r = ((17 * MIB / PAGE) << 12) | 255;
	put_hint(HV_HINT_HOT, &r, 1);
	before = gm_fd_allocated(dfd);
	CHECK(call(HV_EXT_HEAT_HINT, 1) == (1ull << 32));
	CHECK(gm_fd_allocated(dfd) == before + MIB);
	/* cold-discard gives it back */
	put_hint(HV_HINT_COLD_DISCARD, &r, 1);
	CHECK(call(HV_EXT_HEAT_HINT, 1) == (1ull << 32));
	CHECK(gm_fd_allocated(dfd) == before);
	/* not plugged: refused, nothing allocated */
	r = ((18 * MIB / PAGE) << 12) | 255;
	put_hint(HV_HINT_HOT, &r, 1);
	CHECK((call(HV_EXT_HEAT_HINT, 1) & 0xffff) ==
	      HV_STATUS_INVALID_PARAMETER);
	CHECK(gm_fd_allocated(dfd) == before);
	gm.n--;
	munmap(dev, 4 * MIB);
	close(dfd);
}

/* hot hints map their range for the guest; a failure is only counted */
static void test_hot_hint_stage2(void)
{
	uint64_t r[2], before;

	hyperv_init(&hv, &gm);
	memset(&fake_vcpu, 0, sizeof(fake_vcpu));
	r[0] = ((8 * MIB / PAGE) << 12) | 15;	/* 16 pages at 8 MiB */
	r[1] = (12 * MIB) | (1ull << 11);	/* a 2 MiB page at 12 MiB */
	put_hint(HV_HINT_HOT, r, 2);
	/* without the hook: backed, not mapped */
	CHECK(call(HV_EXT_HEAT_HINT, 2) == (2ull << 32));
	CHECK(fake_vcpu.calls == 0 && hv.hot_mapped_pages == 0);
	hv.stage2_map = fake_stage2_map;
	CHECK(call(HV_EXT_HEAT_HINT, 2) == (2ull << 32));
	CHECK(fake_vcpu.calls == 2 && fake_vcpu.last_gpa == 12 * MIB);
	CHECK(fake_vcpu.mapped_bytes == 16 * PAGE + 2 * MIB);
	CHECK(hv.hot_mapped_pages == 16 + 512 && hv.hot_map_errors == 0);
	/* the hook failing: the hint still succeeds, backed, counted */
	fake_vcpu.fail = 14;	/* EFAULT */
	put_hint(HV_HINT_HOT, r, 1);
	before = hv.hot_pages;
	CHECK(call(HV_EXT_HEAT_HINT, 1) == (1ull << 32));
	CHECK(hv.hot_pages == before + 16 && hv.hot_map_errors == 1);
	CHECK(hv.hot_mapped_pages == 16 + 512);
	/* cold hints never map; a call without a vCPU (the control thread) neither */
	fake_vcpu.fail = 0;
	put_hint(HV_HINT_COLD, r, 1);
	CHECK(call(HV_EXT_HEAT_HINT, 1) == (1ull << 32));
	put_hint(HV_HINT_HOT, r, 1);
	CHECK(hyperv_hcall(&hv, HV_EXT_HEAT_HINT | (1ull << 32), IN, OUT,
			   NULL) == (1ull << 32));
	CHECK(fake_vcpu.calls == 3);
	hv.stage2_map = NULL;
}

/*
 * A host that stops making progress: success with the rep count where
 * the guest asked to start, as long as told; then work as before.
 */
static void test_stall(void)
{
	uint64_t r[2] = { (12 * MIB / PAGE) << 12, (13 * MIB / PAGE) << 12 };
	uint64_t st;

	put_hint(HV_HINT_COLD, r, 2);
	hv.stall_calls = 2;
	st = hyperv_hcall(&hv, HV_EXT_HEAT_HINT | (2ull << 32) |
			  (1ull << 48), IN, OUT, NULL);
	CHECK(st == (HV_STATUS_SUCCESS | (1ull << 32)));
	CHECK(call(HV_EXT_HEAT_HINT, 2) == HV_STATUS_SUCCESS);
	CHECK(hv.stalled == 2 && hv.stall_calls == 0);
	CHECK(call(HV_EXT_HEAT_HINT, 2) == (HV_STATUS_SUCCESS | (2ull << 32)));
}

/* The lying host: it calls ranges zero that it filled with data. */
static void test_lie(void)
{
	uint64_t out[3];

	memset(ram + 4 * MIB, 0, 4 * MIB);
	fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4 * MIB,
		  4 * MIB);
	hv.lie_zeroed = true;
	CHECK(call(HV_EXT_BOOT_ZEROED, 0) == HV_STATUS_SUCCESS);
	hv.lie_zeroed = false;
	memcpy(out, ram + OUT, sizeof(out));
	CHECK(out[0] >= 1);
	/* every range it named now holds the pattern */
	CHECK(ram[out[1] * PAGE] == 0x6b);
	CHECK(ram[(out[1] + out[2]) * PAGE - 1] == 0x6b);
	/* so an honest query now names less */
	CHECK(call(HV_EXT_BOOT_ZEROED, 0) == HV_STATUS_SUCCESS);
	memcpy(out, ram + OUT, sizeof(out));
	CHECK(out[0] == 0);
}

void test_hyperv(void)
{
	memset(&gm, 0, sizeof(gm));
	CHECK(gm_memfd("test-hv", 16 * MIB, 0, &fd, &ram) == 0);
	gm_add(&gm, 0, 16 * MIB, ram, fd, 0);
	hyperv_init(&hv, &gm);
	test_caps();
	test_boot_zeroed();
	test_heat_hint();
	test_heat_hint_device_memory();
	test_hot_hint_stage2();
	test_stall();
	test_lie();
	test_cpuid();
}
