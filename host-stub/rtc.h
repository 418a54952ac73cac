/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An MC146818-style real-time clock and CMOS RAM at ports 0x70/0x71:
 * the wall clock of the host in BCD, 24-hour mode, never mid-update.
 * Stock kernels probe it at boot (rtc_cmos, the boot time); with the
 * ports floating high they saw an update in progress forever and spun
 * through thousands of port exits.
 */
#ifndef HOST_STUB_RTC_H
#define HOST_STUB_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RTC_INDEX_PORT	0x70
#define RTC_DATA_PORT	0x71
#define RTC_CMOS_SIZE	128

struct rtc {
	pthread_mutex_t lock;	/* vCPU threads; the index is shared */
	uint8_t index;			/* selected register, NMI bit cleared */
	uint8_t cmos[RTC_CMOS_SIZE];	/* what the guest wrote */
	time_t (*now)(void);		/* the clock; tests pass their own */
};

void rtc_init(struct rtc *r, time_t (*now)(void));
/* A guest access to @port (RTC_INDEX_PORT or RTC_DATA_PORT). */
uint8_t rtc_in(struct rtc *r, uint16_t port);
void rtc_out(struct rtc *r, uint16_t port, uint8_t val);
bool rtc_port(uint16_t port);

#endif
