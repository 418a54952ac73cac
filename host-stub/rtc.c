// SPDX-License-Identifier: GPL-2.0
/*
 * The clock registers are computed from the host's time at each read
 * rather than ticked: the guest only ever reads them after checking that
 * no update is in progress, and status A always says there is none.
 */
#include <string.h>

#include "rtc.h"

#define REG_SECONDS	0x00
#define REG_MINUTES	0x02
#define REG_HOURS	0x04
#define REG_WEEKDAY	0x06
#define REG_DAY		0x07
#define REG_MONTH	0x08
#define REG_YEAR	0x09
#define REG_STATUS_A	0x0a
#define REG_STATUS_B	0x0b
#define REG_STATUS_C	0x0c
#define REG_STATUS_D	0x0d
#define REG_CENTURY	0x32

#define INDEX_MASK	0x7f	/* bit 7 of the index write masks NMIs */
#define STATUS_A_32KHZ	0x26	/* 32.768 kHz time base, 1024 Hz rate, UIP 0 */
#define STATUS_B_24H	0x02	/* BCD, 24-hour, no interrupts enabled */
#define STATUS_D_VRT	0x80	/* the battery-backed RAM is valid */

static uint8_t bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

void rtc_init(struct rtc *r, time_t (*now)(void))
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->now = now;
}

bool rtc_port(uint16_t port)
{
	return port == RTC_INDEX_PORT || port == RTC_DATA_PORT;
}

static uint8_t clock_reg(struct rtc *r, uint8_t reg)
{
	time_t t = r->now();
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return 0;
	switch (reg) {
	case REG_SECONDS:
		return bcd(tm.tm_sec);
	case REG_MINUTES:
		return bcd(tm.tm_min);
	case REG_HOURS:
		return bcd(tm.tm_hour);
	case REG_WEEKDAY:
		return bcd(tm.tm_wday + 1);
	case REG_DAY:
		return bcd(tm.tm_mday);
	case REG_MONTH:
		return bcd(tm.tm_mon + 1);
	case REG_YEAR:
		return bcd(tm.tm_year % 100);
	default:	/* REG_CENTURY */
		return bcd((tm.tm_year + 1900) / 100);
	}
}

static uint8_t rtc_read(struct rtc *r, uint16_t port)
{
	if (port == RTC_INDEX_PORT)
		return r->index;
	switch (r->index) {
	case REG_SECONDS:
	case REG_MINUTES:
	case REG_HOURS:
	case REG_WEEKDAY:
	case REG_DAY:
	case REG_MONTH:
	case REG_YEAR:
	case REG_CENTURY:
		return clock_reg(r, r->index);
	case REG_STATUS_A:
		return STATUS_A_32KHZ;
	case REG_STATUS_B:
		return STATUS_B_24H;
	case REG_STATUS_C:
		return 0;	/* no interrupt flags: none are ever raised */
	case REG_STATUS_D:
		return STATUS_D_VRT;
	default:
		return r->cmos[r->index];
	}
}

uint8_t rtc_in(struct rtc *r, uint16_t port)
{
	uint8_t v;

	pthread_mutex_lock(&r->lock);
	v = rtc_read(r, port);
	pthread_mutex_unlock(&r->lock);
	return v;
}

void rtc_out(struct rtc *r, uint16_t port, uint8_t val)
{
	pthread_mutex_lock(&r->lock);
	if (port == RTC_INDEX_PORT)
		r->index = val & INDEX_MASK;
	/*
	 * Setting the clock or its modes is ignored: the guest's time is
	 * the host's, and the status registers describe the one mode kept.
	 */
	else if (r->index > REG_STATUS_D && r->index != REG_CENTURY)
		r->cmos[r->index] = val;
	pthread_mutex_unlock(&r->lock);
}
