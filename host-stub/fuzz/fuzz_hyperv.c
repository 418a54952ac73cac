// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness of the Hyper-V extended hypercalls. The input is the
 * guest: the hypercall input word and the two parameter addresses, then
 * the first bytes of guest memory (where it writes its input page). The
 * handler must never touch memory outside the guest's (ASan), hand the
 * stage-2 mapping hook a range outside guest memory, or count more hinted
 * pages than the guest has.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hyperv.h"

#define RAM_SIZE	(4ull << 20)	/* two 2 MiB large pages */
#define PAGE_SIZE	4096ull
#define WINDOW		(4 * PAGE_SIZE)	/* the guest memory the input sets */

static struct guest_mem gm;
static struct hyperv hv;
static uint8_t *ram;
static int vcpu_token;

static int check_stage2(void *vcpu, uint64_t gpa, uint64_t len)
{
	if (vcpu != &vcpu_token || !len || gpa % PAGE_SIZE ||
	    gpa > RAM_SIZE || len > RAM_SIZE - gpa)
		abort();
	return gpa & PAGE_SIZE ? -14 : 0;	/* fail some, like KVM can */
}

static uint64_t word(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t input, in_gpa, out_gpa, pages = RAM_SIZE / PAGE_SIZE;
	size_t n;
	int fd;

	if (!ram) {
		if (gm_memfd("fuzz-hv", RAM_SIZE, 0, &fd, &ram) < 0)
			abort();
		gm_add(&gm, 0, RAM_SIZE, ram, fd, 0);
	}
	if (size < 24)
		return 0;
	input = word(data);
	/* addresses near guest memory, straddling its end, or anywhere */
	in_gpa = word(data + 8);
	out_gpa = word(data + 16);
	if (!(input & (1ull << 63))) {
		in_gpa %= RAM_SIZE + PAGE_SIZE;
		out_gpa %= RAM_SIZE + PAGE_SIZE;
	}
	n = size - 24 < WINDOW ? size - 24 : WINDOW;
	memset(ram, 0, WINDOW);
	memcpy(ram, data + 24, n);
	hyperv_init(&hv, &gm);
	hv.stage2_map = check_stage2;
	hyperv_hcall(&hv, input & ~(1ull << 63), in_gpa, out_gpa,
		     &vcpu_token);
	if (hv.hot_pages > 4095 * pages || hv.cold_pages > 4095 * pages ||
	    hv.hot_mapped_pages > hv.hot_pages)
		abort();
	return 0;
}
