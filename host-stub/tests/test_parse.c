// SPDX-License-Identifier: GPL-2.0
/* host-stub's option numbers: good values parse, bad ones change nothing. */
#include "parse.h"
#include "test.h"

#define UNTOUCHED 0x5a5a5a5aULL

static int size_of(const char *s, uint64_t *v)
{
	*v = UNTOUCHED;
	return parse_size(s, v);
}

static int int_of(const char *s, int min, int max, int *v)
{
	*v = 0x5a5a;
	return parse_int(s, min, max, v);
}

void test_parse(void)
{
	uint64_t v;
	int i;

	CHECK(size_of("512M", &v) == 0 && v == 512ULL << 20);
	CHECK(size_of("2g", &v) == 0 && v == 2ULL << 30);
	CHECK(size_of("4K", &v) == 0 && v == 4096);
	CHECK(size_of("0x200000", &v) == 0 && v == 0x200000);
	CHECK(size_of("17179869183G", &v) == 0 && v == 17179869183ULL << 30);

	/* a sign, trailing text, overflow: refused, value kept */
	CHECK(size_of("-1", &v) == -1 && v == UNTOUCHED);
	CHECK(size_of("+1M", &v) == -1 && v == UNTOUCHED);
	CHECK(size_of(" 1M", &v) == -1 && v == UNTOUCHED);
	CHECK(size_of("", &v) == -1 && v == UNTOUCHED);
	CHECK(size_of("1MB", &v) == -1 && v == UNTOUCHED);
	CHECK(size_of("4x", &v) == -1 && v == UNTOUCHED);
	CHECK(size_of("17179869184G", &v) == -1 && v == UNTOUCHED);
	CHECK(size_of("18446744073709551616", &v) == -1 && v == UNTOUCHED);
	CHECK(size_of("08", &v) == -1 && v == UNTOUCHED);

	CHECK(int_of("4", 1, 64, &i) == 0 && i == 4);
	CHECK(int_of("64", 1, 64, &i) == 0 && i == 64);
	CHECK(int_of("4x", 1, 64, &i) == -1 && i == 0x5a5a);
	CHECK(int_of("-1", -5, 64, &i) == -1 && i == 0x5a5a);
	CHECK(int_of("0", 1, 64, &i) == -1 && i == 0x5a5a);
	CHECK(int_of("65", 1, 64, &i) == -1 && i == 0x5a5a);
	CHECK(int_of("99999999999999999999", 1, 64, &i) == -1 &&
	      i == 0x5a5a);
	CHECK(int_of("0x10", 1, 64, &i) == -1 && i == 0x5a5a);
}
