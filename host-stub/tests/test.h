/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal test helpers for host-stub's unit tests. */
#ifndef HOST_STUB_TEST_H
#define HOST_STUB_TEST_H

#include <stdio.h>
#include <unistd.h>

extern int t_pass, t_fail;

#define CHECK(cond) do {						\
	if (cond) {							\
		t_pass++;						\
	} else {							\
		t_fail++;						\
		fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, \
			#cond);						\
	}								\
} while (0)

/*
 * A byte of a memfd without faulting it in: reading a hole through a
 * shared mapping would allocate a page and spoil allocation counts.
 */
static inline int peek(int fd, unsigned long long off)
{
	unsigned char b;

	return pread(fd, &b, 1, off) == 1 ? b : -1;
}

void test_virtqueue(void);
void test_mmio(void);
void test_vmem(void);
void test_balloon(void);
void test_hyperv(void);
void test_guest_cpuid(void);
void test_control(void);
void test_serial(void);
void test_kvm_stats(void);
void test_rtc(void);
void test_parse(void);

#endif
