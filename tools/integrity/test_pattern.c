// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests for the integrity fill pattern.  Prints a final
 * "N passed, N failed" line and exits non-zero if any check failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

#define PAGE	4096
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static unsigned int passed, failed;

static void check(int ok, const char *what, const char *func, int line)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL %s:%d: %s\n", func, line, what);
}

static void check_eq(unsigned long long got, unsigned long long want,
		     const char *what, const char *func, int line)
{
	if (got == want) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL %s:%d: %s: got %llu, want %llu\n",
		func, line, what, got, want);
}

#define CHECK(cond)	check(!!(cond), #cond, __func__, __LINE__)
#define CHECK_EQ(got, want) \
	check_eq((unsigned long long)(got), (unsigned long long)(want), \
		 #got, __func__, __LINE__)

static unsigned char *xmalloc(size_t len)
{
	unsigned char *p = malloc(len ? len : 1);

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

/* Known answer: the first splitmix64 output for state 0. */
static void test_known_answer(void)
{
	unsigned char buf[16];
	uint64_t w;
	int i;

	CHECK_EQ(pattern_splitmix64(0), 0xe220a8397b1dcdafULL);

	/* Word i is splitmix64(seed ^ i ^ (gen << 48)), little-endian. */
	pattern_fill(buf, sizeof(buf), 0x1234, 7);
	w = pattern_splitmix64(0x1234 ^ 1 ^ (7ULL << 48));
	CHECK_EQ(pattern_word(0x1234, 7, 1), w);
	for (i = 0; i < 8; i++)
		CHECK_EQ(buf[8 + i], (unsigned char)(w >> (8 * i)));
}

static void test_clean(void)
{
	static const size_t lens[] = { 0, 1, 8, PAGE, 3 * PAGE, 1 << 20 };
	size_t i, off;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		unsigned char *b = xmalloc(lens[i]);

		pattern_fill(b, lens[i], 42, 3);
		off = 0;
		CHECK_EQ(pattern_verify(b, lens[i], 42, 3, &off), 0);
		CHECK_EQ(off, PATTERN_NO_BAD_OFF);
		CHECK_EQ(pattern_verify(b, lens[i], 42, 3, NULL), 0);
		free(b);
	}
}

static void test_deterministic(void)
{
	unsigned char *a = xmalloc(2 * PAGE), *b = xmalloc(2 * PAGE);

	pattern_fill(a, 2 * PAGE, 9, 1);
	pattern_fill(b, 2 * PAGE, 9, 1);
	CHECK(memcmp(a, b, 2 * PAGE) == 0);
	/* Position dependent: the two pages must not be alike. */
	CHECK(memcmp(a, a + PAGE, PAGE) != 0);
	CHECK(memcmp(a, a + 8, 8) != 0);
	free(a);
	free(b);
}

static void test_single_byte(void)
{
	static const size_t offs[] = { 0, 7, 8, 4095, 4096, 12345, 4 * PAGE - 1 };
	unsigned char *b = xmalloc(4 * PAGE);
	size_t i, off;

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		pattern_fill(b, 4 * PAGE, 5, 2);
		b[offs[i]] ^= 0x01;	/* a single bit is enough */
		CHECK_EQ(pattern_verify(b, 4 * PAGE, 5, 2, &off), 1);
		CHECK_EQ(off, offs[i]);
		CHECK_EQ(pattern_verify(b, 4 * PAGE, 5, 2, NULL), 1);
	}

	/* Two flips: both counted, first offset is the lower one. */
	pattern_fill(b, 4 * PAGE, 5, 2);
	b[9000] ^= 0x80;
	b[100] ^= 0xff;
	CHECK_EQ(pattern_verify(b, 4 * PAGE, 5, 2, &off), 2);
	CHECK_EQ(off, 100);
	free(b);
}

static void test_word(void)
{
	unsigned char *b = xmalloc(PAGE);
	size_t i, off;

	/* Every byte of a word changed: 8 bytes, not 1 word. */
	pattern_fill(b, PAGE, 11, 4);
	for (i = 0; i < 8; i++)
		b[64 + i] ^= 0xff;
	CHECK_EQ(pattern_verify(b, PAGE, 11, 4, &off), 8);
	CHECK_EQ(off, 64);

	/* Only the bytes that actually differ are counted. */
	pattern_fill(b, PAGE, 11, 4);
	b[128 + 2] ^= 0x10;
	b[128 + 5] ^= 0x01;
	CHECK_EQ(pattern_verify(b, PAGE, 11, 4, &off), 2);
	CHECK_EQ(off, 130);

	/* A word overwritten with another word of the pattern (misplaced). */
	pattern_fill(b, PAGE, 11, 4);
	memcpy(b + 256, b + 512, 8);
	{
		size_t want = 0;
		uint64_t w = pattern_word(11, 4, 256 / 8);

		for (i = 0; i < 8; i++)
			want += b[256 + i] != (unsigned char)(w >> (8 * i));
		CHECK(want > 0);
		CHECK_EQ(pattern_verify(b, PAGE, 11, 4, NULL), want);
	}
	free(b);
}

static void test_wrong_gen(void)
{
	static const uint64_t gens[][2] = {
		{ 1, 2 }, { 0, 1 }, { 0, 1ULL << 16 }, { 5, 5 + (1ULL << 16) },
		{ 1ULL << 40, (1ULL << 40) + 1 },
	};
	size_t len = 64 * 1024, i;
	unsigned char *b = xmalloc(len);

	for (i = 0; i < ARRAY_SIZE(gens); i++) {
		pattern_fill(b, len, 77, gens[i][0]);
		CHECK_EQ(pattern_verify(b, len, 77, gens[i][0], NULL), 0);
		/* Random bytes match by chance 1/256 of the time. */
		CHECK(pattern_verify(b, len, 77, gens[i][1], NULL) > len * 9 / 10);
	}
	free(b);
}

static void test_wrong_seed(void)
{
	size_t len = 64 * 1024;
	unsigned char *b = xmalloc(len);

	pattern_fill(b, len, 1, 0);
	CHECK(pattern_verify(b, len, 2, 0, NULL) > len * 9 / 10);
	pattern_fill(b, len, 0xdeadbeef, 3);
	CHECK(pattern_verify(b, len, 0xdeadbeef ^ 1, 3, NULL) > len * 9 / 10);
	CHECK(pattern_verify(b, len, 0xdeadbeefULL << 32, 3, NULL) > len * 9 / 10);
	free(b);
}

static void test_swapped_pages(void)
{
	unsigned char *b = xmalloc(2 * PAGE), *tmp = xmalloc(PAGE);
	size_t off;

	pattern_fill(b, 2 * PAGE, 3, 3);
	memcpy(tmp, b, PAGE);
	memcpy(b, b + PAGE, PAGE);
	memcpy(b + PAGE, tmp, PAGE);
	CHECK(pattern_verify(b, 2 * PAGE, 3, 3, &off) > 2 * PAGE * 9 / 10);
	CHECK(off < 8);
	free(tmp);
	free(b);
}

static void check_len(unsigned char *b, const unsigned char *ref, size_t len)
{
	size_t i, off;

	memset(b, 0xa5, len + 16);
	pattern_fill(b, len, 8, 8);
	/* Same bytes as a longer fill: length must not matter. */
	CHECK(memcmp(b, ref, len) == 0);
	/* Nothing written past len. */
	for (i = len; i < len + 16; i++)
		if (b[i] != 0xa5)
			break;
	CHECK_EQ(i, len + 16);

	CHECK_EQ(pattern_verify(b, len, 8, 8, &off), 0);
	b[len - 1] ^= 0x42;
	CHECK_EQ(pattern_verify(b, len, 8, 8, &off), 1);
	CHECK_EQ(off, len - 1);
}

static void test_unaligned_len(void)
{
	unsigned char *ref = xmalloc(PAGE + 64), *b = xmalloc(PAGE + 64);
	size_t len;

	pattern_fill(ref, PAGE + 64, 8, 8);
	for (len = 1; len <= 40; len++)
		check_len(b, ref, len);
	check_len(b, ref, PAGE + 3);
	check_len(b, ref, PAGE + 7);
	free(b);
	free(ref);
}

static void test_unaligned_ptr(void)
{
	unsigned char *ref = xmalloc(PAGE), *b = xmalloc(PAGE + 16);
	size_t shift, off;

	pattern_fill(ref, PAGE - 5, 6, 6);
	for (shift = 1; shift < 8; shift++) {
		pattern_fill(b + shift, PAGE - 5, 6, 6);
		/* The pattern follows the offset, not the address. */
		CHECK(memcmp(b + shift, ref, PAGE - 5) == 0);
		CHECK_EQ(pattern_verify(b + shift, PAGE - 5, 6, 6, NULL), 0);
		b[shift + 1000] ^= 4;
		CHECK_EQ(pattern_verify(b + shift, PAGE - 5, 6, 6, &off), 1);
		CHECK_EQ(off, 1000);
	}
	free(b);
	free(ref);
}

/* The host discarding a page hands the guest a zero page. */
static void test_zeroed_page(void)
{
	unsigned char *b = xmalloc(4 * PAGE), *ref = xmalloc(4 * PAGE);
	size_t want = 0, first = PATTERN_NO_BAD_OFF, i, off;

	pattern_fill(ref, 4 * PAGE, 0xfeed, 9);
	memcpy(b, ref, 4 * PAGE);
	memset(b + 2 * PAGE, 0, PAGE);
	for (i = 2 * PAGE; i < 3 * PAGE; i++) {
		if (!ref[i])
			continue;
		if (first == PATTERN_NO_BAD_OFF)
			first = i;
		want++;
	}
	CHECK(want > PAGE * 9 / 10);
	CHECK_EQ(pattern_verify(b, 4 * PAGE, 0xfeed, 9, &off), want);
	CHECK_EQ(off, first);
	free(ref);
	free(b);
}

int main(void)
{
	test_known_answer();
	test_clean();
	test_deterministic();
	test_single_byte();
	test_word();
	test_wrong_gen();
	test_wrong_seed();
	test_swapped_pages();
	test_unaligned_len();
	test_unaligned_ptr();
	test_zeroed_page();

	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
