/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"

/* Edit distance, for "did you mean" hints. Bounded: returns a value
 * > max as soon as it knows the distance exceeds max. */
size_t string_distance(const char *a, const char *b, size_t max);

/* The closest candidate within a distance that scales with the length,
 * or NULL. candidates is NULL-terminated. */
const char *string_closest(const char *word, const char * const *candidates);

bool string_has_prefix(const char *s, const char *prefix);
bool string_has_suffix(const char *s, const char *suffix);

/* Line count of a UTF-8 validity and NUL scan: returns offset of the
 * first bad byte, or -1 if the buffer is valid UTF-8 without NUL. */
ssize_t utf8_first_invalid(const char *buf, size_t len, bool *ret_is_nul);

/* 1-based line and column (in characters) of a byte offset. */
void offset_to_line_column(const char *buf, size_t offset, unsigned *ret_line, unsigned *ret_column);

/* "4096", "512K", "10M", "2G", "1T" (powers of 1024, an optional "B" or
 * "iB" after the letter) to bytes. -EINVAL if malformed, -ERANGE if it
 * does not fit. */
int parse_size(const char *s, uint64_t *ret);
