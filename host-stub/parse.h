/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command-line numbers: a size with an optional K/M/G suffix and a
 * bounded decimal int. Both refuse a sign, trailing text and overflow,
 * so that "-1" or "4x" is an error and not a huge or truncated value.
 */
#ifndef HOST_STUB_PARSE_H
#define HOST_STUB_PARSE_H

#include <stdint.h>

/* 0 and *out set, or -1 and *out untouched */
int parse_size(const char *s, uint64_t *out);
int parse_int(const char *s, int min, int max, int *out);

#endif
