/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The progress figures of an md sync (see raid-progress.h). md counts in
 * 512-byte sectors; speeds are KiB/s as md prints them, so a sector is
 * half a KiB. */

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "raid-progress.h"

int raid_parse_sync_speed(const char *text, size_t len, int64_t *ret) {
        int64_t v = 0;
        size_t i = 0;

        if (!text || !ret)
                return -EINVAL;
        if (len > 0 && text[len - 1] == '\n')
                len--;
        if (len == 4 && memcmp(text, "none", 4) == 0) {
                *ret = -1;
                return 0;
        }
        if (len == 0 || len > 18)       /* no overflow below */
                return -EBADMSG;
        for (; i < len; i++) {
                if (!isdigit((unsigned char) text[i]))
                        return -EBADMSG;
                v = v * 10 + (text[i] - '0');
        }
        *ret = v;
        return 0;
}

void raid_rate_observe(RaidRate *r, const MdArrayState *s, usec_t now) {
        if (!s->sync_running || s->sync_delayed || s->sync_total == 0) {
                *r = (RaidRate) {};
                return;
        }
        if (r->have && r->total == s->sync_total && s->sync_done >= r->done)
                return;
        *r = (RaidRate) { .have = true, .done = s->sync_done, .total = s->sync_total, .at = now };
}

void raid_progress_compute(const MdArrayState *s, int64_t speed_kib, const RaidRate *r, usec_t now,
                           RaidProgress *ret) {
        RaidProgress p = { .percent = -1, .rate_kib = -1, .eta = USEC_INFINITY };
        uint64_t left;

        if (!s->sync_running || s->sync_delayed || s->sync_total == 0) {
                *ret = p;
                return;
        }
        p.percent = (double) MIN(s->sync_done, s->sync_total) * 100.0 / (double) s->sync_total;

        if (speed_kib > 0)
                p.rate_kib = speed_kib;
        else if (r && r->have && r->total == s->sync_total && s->sync_done > r->done && now > r->at) {
                /* md shows no speed (yet): what we saw it do, at least 1 KiB/s */
                double kib = (double) (s->sync_done - r->done) / 2.0;
                double sec = (double) (now - r->at) / (double) USEC_PER_SEC;
                p.rate_kib = MAX((int64_t) (kib / sec), (int64_t) 1);
        }

        left = s->sync_total > s->sync_done ? s->sync_total - s->sync_done : 0;
        if (left == 0)
                p.eta = 0;
        else if (p.rate_kib > 0) {
                /* whole seconds, rounded up: a time left is never shown as 0 */
                uint64_t sec = (left / 2 + (uint64_t) p.rate_kib - 1) / (uint64_t) p.rate_kib;
                if (sec == 0)
                        sec = 1;
                p.eta = sec > (USEC_INFINITY - 1) / USEC_PER_SEC ? USEC_INFINITY - 1 : sec * USEC_PER_SEC;
        }
        *ret = p;
}

char *raid_progress_format(const char *array, const char *what, const RaidProgress *p, char *buf, size_t size) {
        char d[FORMAT_DURATION_MAX];
        int n;

        if (p->percent < 0) {
                snprintf(buf, size, "%s: %s", array, what);
                return buf;
        }
        n = snprintf(buf, size, "%s: %s %.1f%%", array, what, p->percent);
        if (n < 0 || (size_t) n >= size)
                return buf;
        if (p->rate_kib > 0)
                n += snprintf(buf + n, size - n, " at %" PRIi64 " KiB/s", p->rate_kib);
        if (n < 0 || (size_t) n >= size)
                return buf;
        if (p->eta != USEC_INFINITY)
                snprintf(buf + n, size - n, ", %s left", format_duration(d, p->eta));
        return buf;
}
