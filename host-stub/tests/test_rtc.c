// SPDX-License-Identifier: GPL-2.0
/* The RTC: the host's time in BCD, never mid-update, CMOS RAM kept. */
#include "rtc.h"
#include "test.h"

/* 2026-12-05 07:08:36 UTC, a Saturday */
static time_t fixed_now(void)
{
	return 1796454516;
}

static uint8_t rd(struct rtc *r, uint8_t reg)
{
	rtc_out(r, RTC_INDEX_PORT, reg);
	return rtc_in(r, RTC_DATA_PORT);
}

void test_rtc(void)
{
	struct rtc r;

	rtc_init(&r, fixed_now);
	CHECK(rtc_port(0x70) && rtc_port(0x71) && !rtc_port(0x72));
	CHECK(!(rd(&r, 0x0a) & 0x80));		/* no update in progress */
	CHECK(rd(&r, 0x0b) == 0x02);		/* BCD, 24-hour */
	CHECK(rd(&r, 0x0d) & 0x80);		/* RAM valid */
	CHECK(rd(&r, 0x0c) == 0);
	CHECK(rd(&r, 0x00) == 0x36);
	CHECK(rd(&r, 0x02) == 0x08);
	CHECK(rd(&r, 0x04) == 0x07);
	CHECK(rd(&r, 0x06) == 0x07);		/* Saturday: day 7 */
	CHECK(rd(&r, 0x07) == 0x05);
	CHECK(rd(&r, 0x08) == 0x12);
	CHECK(rd(&r, 0x09) == 0x26);
	CHECK(rd(&r, 0x32) == 0x20);

	/* the NMI-mask bit of an index write selects the same register */
	rtc_out(&r, RTC_INDEX_PORT, 0x80 | 0x04);
	CHECK(rtc_in(&r, RTC_INDEX_PORT) == 0x04);
	CHECK(rtc_in(&r, RTC_DATA_PORT) == 0x07);

	/* CMOS RAM keeps what is written; clock and status writes do not */
	rtc_out(&r, RTC_INDEX_PORT, 0x40);
	rtc_out(&r, RTC_DATA_PORT, 0x5a);
	CHECK(rd(&r, 0x40) == 0x5a);
	rtc_out(&r, RTC_INDEX_PORT, 0x00);
	rtc_out(&r, RTC_DATA_PORT, 0x59);
	CHECK(rd(&r, 0x00) == 0x36);
	rtc_out(&r, RTC_INDEX_PORT, 0x0b);
	rtc_out(&r, RTC_DATA_PORT, 0x86);	/* SET, binary: ignored */
	CHECK(rd(&r, 0x0b) == 0x02);
	CHECK(rd(&r, 0x7f) == 0);
}
