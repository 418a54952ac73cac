/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Data-integrity fill pattern.
 *
 * Every 8-byte word of a buffer holds splitmix64(key ^ word_index), stored
 * little-endian, where key mixes the seed and a generation number.  Because
 * the value depends on the position, a page that lands at the wrong offset is
 * caught; because it depends on the generation, stale data from an earlier
 * fill of the same buffer is caught; a zeroed (discarded) page is caught
 * because the pattern is almost never zero.
 */
#ifndef VMDENSE_INTEGRITY_PATTERN_H
#define VMDENSE_INTEGRITY_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* Value stored in *first_bad_off when no corruption is found. */
#define PATTERN_NO_BAD_OFF	((size_t)-1)

uint64_t pattern_splitmix64(uint64_t x);

/* The 64-bit pattern word for word index @idx (byte offset @idx * 8). */
uint64_t pattern_word(uint64_t seed, uint64_t gen, uint64_t idx);

void pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t gen);

/*
 * Returns the number of bytes of @buf that differ from the pattern.  If
 * @first_bad_off is not NULL it receives the offset of the first differing
 * byte, or PATTERN_NO_BAD_OFF if there is none.
 */
size_t pattern_verify(const void *buf, size_t len, uint64_t seed, uint64_t gen,
		      size_t *first_bad_off);

#endif /* VMDENSE_INTEGRITY_PATTERN_H */
