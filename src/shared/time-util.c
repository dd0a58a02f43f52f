/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>

#include "time-util.h"

static const struct {
        const char *suffix;
        usec_t usec;
} units[] = {
        /* Longest suffix first where one is a prefix of another ("ms" before "m"). */
        { "ms",  USEC_PER_MSEC   },
        { "s",   USEC_PER_SEC    },
        { "min", USEC_PER_MINUTE },
        { "m",   USEC_PER_MINUTE },
        { "h",   USEC_PER_HOUR   },
        { "d",   USEC_PER_DAY    },
};

int parse_duration(const char *s, usec_t *ret) {
        usec_t total = 0;
        bool any = false;

        if (!s)
                return -EINVAL;

        for (const char *p = s;;) {
                uint64_t n = 0;
                const char *start;
                size_t i;

                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (start = p; isdigit((unsigned char) *p); p++) {
                        if (n > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        n = n * 10 + (uint64_t) (*p - '0');
                }
                if (p - start > 12)
                        return -ERANGE;
                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (strncmp(p, units[i].suffix, strlen(units[i].suffix)) == 0 &&
                            !isalpha((unsigned char) p[strlen(units[i].suffix)]))
                                break;
                if (i >= ELEMENTSOF(units))
                        return -EINVAL; /* bare number or unknown unit */
                if (n > (UINT64_MAX / 2 - total) / units[i].usec)
                        return -ERANGE;
                total += n * units[i].usec;
                p += strlen(units[i].suffix);
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

char *format_duration(char buf[static FORMAT_DURATION_MAX], usec_t u) {
        static const struct { const char *s; usec_t v; } t[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR }, { "m", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC },
        };
        size_t off = 0;
        usec_t whole = u;

        if (u == USEC_INFINITY) {
                snprintf(buf, FORMAT_DURATION_MAX, "infinity");
                return buf;
        }
        if (u < USEC_PER_MSEC) {
                snprintf(buf, FORMAT_DURATION_MAX, "%s", u == 0 ? "0" : "<1ms");
                return buf;
        }
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(t) && u >= USEC_PER_MSEC; i++) {
                usec_t n = u / t[i].v;
                if (n == 0)
                        continue;
                /* Sub-second parts only when the whole is under a minute. */
                if (t[i].v == USEC_PER_MSEC && whole >= USEC_PER_MINUTE)
                        break;
                off += (size_t) snprintf(buf + off, FORMAT_DURATION_MAX - off, "%s%" PRIu64 "%s",
                                         off > 0 ? " " : "", n, t[i].s);
                u -= n * t[i].v;
                if (off >= FORMAT_DURATION_MAX - 1)
                        break;
        }
        return buf;
}

usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                abort(); /* cannot fail for the clocks we use */
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}
