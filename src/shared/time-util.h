/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Durations in plans and the clocks the engine runs on. Durations are
 * microseconds (usec_t) as everywhere in libsystemd. */

#include <stdint.h>
#include <time.h>

#include "macro.h"

typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)
#define FORMAT_DURATION_MAX 64

/* Parses "90s", "15m", "2h", "1d", "500ms" and sums such as "1h30m" or
 * "1h 30m". A bare number is refused: a plan must say its unit. */
int parse_duration(const char *s, usec_t *ret);

/* Formats as the largest units, e.g. "1h 30m", "45s", "0". */
char *format_duration(char buf[static FORMAT_DURATION_MAX], usec_t u);

usec_t now_usec(clockid_t clock);

/* a + b, saturating at USEC_INFINITY. */
static inline usec_t usec_add(usec_t a, usec_t b) {
        return a > USEC_INFINITY - b ? USEC_INFINITY : a + b;
}
