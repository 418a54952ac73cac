// SPDX-License-Identifier: GPL-2.0
/* Runs every host-stub unit test; ends with "N passed, N failed". */
#include "test.h"

int t_pass, t_fail;

int main(void)
{
	test_virtqueue();
	test_mmio();
	test_vmem();
	test_balloon();
	test_hyperv();
	test_guest_cpuid();
	test_rtc();
	test_parse();
	test_control();
	test_serial();
	test_kvm_stats();
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}
