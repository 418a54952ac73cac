// SPDX-License-Identifier: GPL-2.0
/*
 * Data-integrity fill pattern, see pattern.h.
 */
#include <string.h>

#include "pattern.h"

uint64_t pattern_splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * key = seed ^ (gen << 48).  Word indexes stay below 2^48, so for a given
 * seed no two generations below 2^16 can produce the same word anywhere.
 * The shift alone would make generation 2^16 alias generation 0, so the high
 * generation bits are folded in through a hash instead of being dropped.
 */
static uint64_t pattern_key(uint64_t seed, uint64_t gen)
{
	uint64_t key = seed ^ (gen << 48);

	if (gen >> 16)
		key ^= pattern_splitmix64(gen >> 16);
	return key;
}

uint64_t pattern_word(uint64_t seed, uint64_t gen, uint64_t idx)
{
	return pattern_splitmix64(pattern_key(seed, gen) ^ idx);
}

/* Fixed little-endian layout so the pattern does not depend on the host. */
static inline void put_le64(unsigned char *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, sizeof(v));
}

static inline uint64_t get_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

void pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t gen)
{
	unsigned char *p = buf;
	uint64_t key = pattern_key(seed, gen);
	size_t nwords = len / 8;
	size_t i;

	for (i = 0; i < nwords; i++)
		put_le64(p + i * 8, pattern_splitmix64(key ^ i));

	if (len % 8) {
		uint64_t w = pattern_splitmix64(key ^ nwords);

		/* Partial last word: write only the bytes inside @len. */
		for (i = 0; i < len % 8; i++)
			p[nwords * 8 + i] = (unsigned char)(w >> (8 * i));
	}
}

/*
 * Count the bytes of @p[0..n) that differ from @want.  Called only for words
 * that already failed the fast 64-bit compare, so the result is in bytes.
 */
static size_t bad_bytes(const unsigned char *p, uint64_t want, size_t n,
			size_t base, size_t *first)
{
	size_t bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == (unsigned char)(want >> (8 * i)))
			continue;
		if (*first == PATTERN_NO_BAD_OFF)
			*first = base + i;
		bad++;
	}
	return bad;
}

size_t pattern_verify(const void *buf, size_t len, uint64_t seed, uint64_t gen,
		      size_t *first_bad_off)
{
	const unsigned char *p = buf;
	uint64_t key = pattern_key(seed, gen);
	size_t nwords = len / 8;
	size_t first = PATTERN_NO_BAD_OFF;
	size_t bad = 0;
	size_t i;

	for (i = 0; i < nwords; i++) {
		uint64_t want = pattern_splitmix64(key ^ i);

		if (get_le64(p + i * 8) != want)
			bad += bad_bytes(p + i * 8, want, 8, i * 8, &first);
	}

	if (len % 8)
		bad += bad_bytes(p + nwords * 8, pattern_splitmix64(key ^ nwords),
				 len % 8, nwords * 8, &first);

	if (first_bad_off)
		*first_bad_off = first;
	return bad;
}
