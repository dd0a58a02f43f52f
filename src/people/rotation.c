/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Rotation math: who is on call in a rotation at an instant, and from
 * when until when. Pure but for the time zone database, which the C
 * library reads: each public entry point switches TZ to the rotation's
 * zone (setenv + tzset), computes, and puts TZ back as it was; salved has
 * a single thread, so no one else sees the switch.
 *
 * Everything is built on one rule for local times (local_to_usec): a
 * local time that exists twice (the hour repeated when clocks go back)
 * means its first occurrence, and one that does not exist (the hour
 * skipped when they go forward) means the instant the clocks jump. Then:
 *   - a layer's hand-off k is at its start's wall-clock time k * turn_days
 *     days later when the turn is whole days (so across a DST change a
 *     weekly turn still hands off at 09:00), or exactly start + k * turn
 *     otherwise;
 *   - a window on day D is the interval [D from, D' to) with D' = D or
 *     the day after when it runs past midnight;
 *   - an override is [from, to).
 * Who is on call only changes at one of these boundaries, so since and
 * until are found by walking from boundary to boundary. */

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "people-internal.h"
#include "string-util.h"

/* ---- time zone scope ---- */

typedef struct TzScope {
        char *saved;
        bool had, changed;
} TzScope;

static int tz_enter(const char *tz, TzScope *s) {
        const char *old = getenv("TZ");
        char buf[PATH_MAX];

        *s = (TzScope) {};
        if (!tz)
                return 0;
        if (old) {
                s->saved = strdup(old);
                if (!s->saved)
                        return -ENOMEM;
                s->had = true;
        }
        snprintf(buf, sizeof(buf), ":%s", tz);
        if (setenv("TZ", buf, 1) < 0) {
                s->saved = mfree(s->saved);
                return -ENOMEM;
        }
        tzset();
        s->changed = true;
        return 0;
}

static void tz_leave(TzScope *s) {
        if (!s->changed)
                return;
        if (s->had)
                (void) setenv("TZ", s->saved, 1);
        else
                (void) unsetenv("TZ");
        tzset();
        s->saved = mfree(s->saved);
        s->changed = false;
}

/* ---- local time, within a scope ---- */

static int lt_compare(const LocalTime *a, const LocalTime *b) {
        const int x[] = { a->year, a->month, a->day, a->hour, a->minute, a->second };
        const int y[] = { b->year, b->month, b->day, b->hour, b->minute, b->second };
        for (size_t i = 0; i < ELEMENTSOF(x); i++)
                if (x[i] != y[i])
                        return x[i] < y[i] ? -1 : 1;
        return 0;
}

static void tm_to_lt(const struct tm *tm, LocalTime *ret) {
        *ret = (LocalTime) { tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec };
}

static bool local_at(time_t t, LocalTime *ret, long *ret_off) {
        struct tm tm;
        if (!localtime_r(&t, &tm))
                return false;
        if (ret)
                tm_to_lt(&tm, ret);
        if (ret_off)
                *ret_off = tm.tm_gmtoff;
        return true;
}

/* Seconds since the epoch for t read as UTC. */
static time_t lt_as_utc(const LocalTime *t) {
        struct tm tm = {
                .tm_year = t->year - 1900, .tm_mon = t->month - 1, .tm_mday = t->day,
                .tm_hour = t->hour, .tm_min = t->minute, .tm_sec = t->second,
        };
        return timegm(&tm);
}

static int local_to_usec_raw(const LocalTime *t, usec_t *ret) {
        time_t guess = lt_as_utc(t), best = (time_t) -1, lo, hi;
        long offs[3];
        LocalTime got;

        if (guess == (time_t) -1 || guess < 2 * 86400)
                return -ERANGE;
        for (int i = 0; i < 3; i++)
                if (!local_at(guess + (i - 1) * 86400, NULL, offs + i))
                        return -ERANGE;
        /* The UTC offsets in force around it: an instant whose local time
         * is t has one of them. The earliest such instant wins. */
        for (int i = 0; i < 3; i++) {
                time_t cand = guess - offs[i];
                if (local_at(cand, &got, NULL) && lt_compare(&got, t) == 0 && (best == (time_t) -1 || cand < best))
                        best = cand;
        }
        if (best == (time_t) -1) {
                /* Skipped: the first instant whose local time is later. */
                lo = guess - MAX(MAX(offs[0], offs[1]), offs[2]);
                hi = guess - MIN(MIN(offs[0], offs[1]), offs[2]);
                while (lo < hi) {
                        time_t mid = lo + (hi - lo) / 2;
                        if (!local_at(mid, &got, NULL))
                                return -ERANGE;
                        if (lt_compare(&got, t) > 0)
                                hi = mid;
                        else
                                lo = mid + 1;
                }
                best = lo;
        }
        if (best < 0)
                return -ERANGE;
        *ret = (usec_t) best * USEC_PER_SEC;
        return 0;
}

/* One on-call computation converts the same local times (a window's
 * edges on the same days) again and again while it walks: it remembers
 * them. A cache miss only costs the conversion. */
#define CALC_CACHE_SIZE 8192

typedef struct CalcEntry {
        LocalTime key;
        usec_t value;
        bool used;
} CalcEntry;

typedef struct Calc {
        CalcEntry *cache;       /* CALC_CACHE_SIZE entries, or NULL */
} Calc;

static size_t lt_hash(const LocalTime *t) {
        uint64_t h = 1469598103934665603ULL;
        const int v[] = { t->year, t->month, t->day, t->hour, t->minute, t->second };
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                h = (h ^ (uint64_t) (unsigned) v[i]) * 1099511628211ULL;
        return (size_t) (h % CALC_CACHE_SIZE);
}

static int local_to_usec(Calc *c, const LocalTime *t, usec_t *ret) {
        CalcEntry *e = c && c->cache ? c->cache + lt_hash(t) : NULL;
        int r;

        if (e && e->used && lt_compare(&e->key, t) == 0) {
                *ret = e->value;
                return 0;
        }
        r = local_to_usec_raw(t, ret);
        if (r >= 0 && e)
                *e = (CalcEntry) { *t, *ret, true };
        return r;
}

static bool usec_to_local(usec_t u, LocalTime *ret, int *ret_weekday, long *ret_off) {
        time_t t = (time_t) (u / USEC_PER_SEC);
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return false;
        tm_to_lt(&tm, ret);
        if (ret_weekday)
                *ret_weekday = (tm.tm_wday + 6) % 7;
        if (ret_off)
                *ret_off = tm.tm_gmtoff;
        return true;
}

/* Days since 1970-01-01 of a date, and the date (with weekday) n days later. */
static int64_t lt_days(const LocalTime *t) {
        LocalTime d = { t->year, t->month, t->day, 0, 0, 0 };
        return (int64_t) lt_as_utc(&d) / 86400;
}

static void lt_add_days(const LocalTime *t, int64_t n, LocalTime *ret, int *ret_weekday) {
        struct tm tm = { .tm_year = t->year - 1900, .tm_mon = t->month - 1, .tm_mday = t->day };
        time_t s = timegm(&tm) + (time_t) n * 86400;

        gmtime_r(&s, &tm);
        *ret = (LocalTime) { tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, t->hour, t->minute, t->second };
        if (ret_weekday)
                *ret_weekday = (tm.tm_wday + 6) % 7;
}

int local_time_to_usec(const char *time_zone, const LocalTime *t, usec_t *ret) {
        TzScope s;
        int r;

        r = tz_enter(time_zone, &s);
        if (r < 0)
                return r;
        r = local_to_usec(NULL, t, ret);
        tz_leave(&s);
        return r;
}

int usec_to_local_time(const char *time_zone, usec_t u, LocalTime *ret, int *ret_weekday, long *ret_utc_offset) {
        TzScope s;
        int r;

        r = tz_enter(time_zone, &s);
        if (r < 0)
                return r;
        r = usec_to_local(u, ret, ret_weekday, ret_utc_offset) ? 0 : -ERANGE;
        tz_leave(&s);
        return r;
}

/* ---- parsing times and zones ---- */

static bool date_is_valid(int y, int m, int d) {
        static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        if (y < 1971 || y > 9999 || m < 1 || m > 12 || d < 1)
                return false;
        return d <= (m == 2 && !leap ? 28 : mdays[m - 1]);
}

static bool read_digits(const char **p, int n, int *ret) {
        int v = 0;
        for (int i = 0; i < n; i++) {
                if ((*p)[i] < '0' || (*p)[i] > '9')
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

int parse_local_time(const char *s, LocalTime *ret) {
        LocalTime t = {};
        const char *p = s;

        if (!read_digits(&p, 4, &t.year) || *p++ != '-' || !read_digits(&p, 2, &t.month) || *p++ != '-' ||
            !read_digits(&p, 2, &t.day))
                return -EINVAL;
        if (*p != ' ' && *p != 'T')
                return -EINVAL;
        p++;
        if (!read_digits(&p, 2, &t.hour) || *p++ != ':' || !read_digits(&p, 2, &t.minute))
                return -EINVAL;
        if (*p == ':') {
                p++;
                if (!read_digits(&p, 2, &t.second))
                        return -EINVAL;
        }
        if (*p != 0)
                return -EINVAL;
        if (!date_is_valid(t.year, t.month, t.day) || t.hour > 23 || t.minute > 59 || t.second > 59)
                return -EINVAL;
        *ret = t;
        return 0;
}

int parse_clock_time(const char *s, bool allow_24, unsigned *ret) {
        const char *p = s;
        int h, m;

        if (!read_digits(&p, 2, &h) && !read_digits(&p, 1, &h))
                return -EINVAL;
        if (*p++ != ':' || !read_digits(&p, 2, &m) || *p != 0)
                return -EINVAL;
        if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
                return -EINVAL;
        *ret = (unsigned) (h * 60 + m);
        return 0;
}

/* "@EPOCH", "+2h", "...T10:00:00+01:00", or a local time of the host. */
static int parse_offset(const char *s, long *ret) {
        const char *p = s + 1;
        int h, m;

        if (streq(s, "Z")) {
                *ret = 0;
                return 0;
        }
        if ((s[0] != '+' && s[0] != '-') || !read_digits(&p, 2, &h) || *p++ != ':' || !read_digits(&p, 2, &m) ||
            *p != 0 || h > 23 || m > 59)
                return -EINVAL;
        *ret = (s[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
        return 0;
}

int parse_instant(const char *s, usec_t now, usec_t *ret) {
        char buf[64];
        LocalTime t;
        usec_t u;
        int r;

        if (s[0] == '@') {
                char *end;
                unsigned long long v;

                if (!s[1] || s[1] == '-')
                        return -EINVAL;
                errno = 0;
                v = strtoull(s + 1, &end, 10);
                if (errno != 0 || *end || v > UINT64_MAX / USEC_PER_SEC)
                        return -EINVAL;
                *ret = (usec_t) v * USEC_PER_SEC;
                return 0;
        }
        if (s[0] == '+' || s[0] == '-') {
                r = parse_duration(s + 1, &u);
                if (r < 0)
                        return r;
                if (s[0] == '+')
                        *ret = usec_add(now, u);
                else
                        *ret = now > u ? now - u : 0;
                return 0;
        }
        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, s);
        /* An offset after the time: "...10:00:00+01:00", "...10:00Z". */
        {
                char *tpart = strpbrk(buf, "T ");
                char *off = tpart ? strpbrk(tpart + 1, "+-Z") : NULL;
                if (off) {
                        long secs;
                        struct tm tm;
                        time_t base;

                        r = parse_offset(off, &secs);
                        if (r < 0)
                                return r;
                        *off = 0;
                        r = parse_local_time(buf, &t);
                        if (r < 0)
                                return r;
                        tm = (struct tm) { .tm_year = t.year - 1900, .tm_mon = t.month - 1, .tm_mday = t.day,
                                           .tm_hour = t.hour, .tm_min = t.minute, .tm_sec = t.second };
                        base = timegm(&tm) - secs;
                        if (base < 0)
                                return -ERANGE;
                        *ret = (usec_t) base * USEC_PER_SEC;
                        return 0;
                }
        }
        r = parse_local_time(buf, &t);
        if (r < 0)
                return r;
        return local_time_to_usec(NULL, &t, ret);       /* the host's local time */
}

bool time_zone_is_valid(const char *name) {
        char path[PATH_MAX];
        struct stat st;

        if (!name || !name[0] || name[0] == '/' || strlen(name) > 255)
                return false;
        for (const char *c = name; *c; c++)
                if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                      strchr("/_+-", *c)))
                        return false;
        if (strstr(name, "//") || string_has_suffix(name, "/"))
                return false;
        /* No "..": the character set above refuses '.' altogether. */
        snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- a layer at an instant (within the rotation's scope) ---- */

static int layer_handoff(Calc *c, const RotationLayer *l, int64_t k, usec_t *ret) {
        usec_t start;
        int r;

        if (l->turn_days > 0) {
                LocalTime t;
                lt_add_days(&l->start, k * (int64_t) l->turn_days, &t, NULL);
                return local_to_usec(c, &t, ret);
        }
        r = local_to_usec(c, &l->start, &start);
        if (r < 0)
                return r;
        if (k < 0 || (uint64_t) k > (USEC_INFINITY - start) / l->turn)
                return -ERANGE;
        *ret = start + (usec_t) k * l->turn;
        return 0;
}

/* The turn that `at` falls in: [*ret_begin, *ret_end) is turn *ret_k.
 * Returns 0, or -ENOENT before the first hand-off (then *ret_end is it). */
static int layer_turn(Calc *c, const RotationLayer *l, usec_t at, int64_t *ret_k, usec_t *ret_begin, usec_t *ret_end) {
        usec_t start, h, h1;
        int64_t k;
        int r;

        r = layer_handoff(c, l, 0, &start);
        if (r < 0)
                return r;
        if (at < start) {
                *ret_begin = 0;
                *ret_end = start;
                return -ENOENT;
        }
        if (l->turn_days > 0) {
                LocalTime now;
                if (!usec_to_local(at, &now, NULL, NULL))
                        return -ERANGE;
                k = (lt_days(&now) - lt_days(&l->start)) / (int64_t) l->turn_days;
                if (k < 0)
                        k = 0;
                /* The estimate is off by at most one turn near a hand-off. */
                for (int i = 0; i < 4; i++) {
                        r = layer_handoff(c, l, k, &h);
                        if (r < 0)
                                return r;
                        if (h > at && k > 0) {
                                k--;
                                continue;
                        }
                        r = layer_handoff(c, l, k + 1, &h1);
                        if (r < 0)
                                return r;
                        if (h1 <= at) {
                                k++;
                                continue;
                        }
                        break;
                }
        } else {
                k = (int64_t) ((at - start) / l->turn);
                r = layer_handoff(c, l, k, &h);
                if (r >= 0)
                        r = layer_handoff(c, l, k + 1, &h1);
                if (r == -ERANGE) {
                        h1 = USEC_INFINITY;
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        *ret_k = k;
        *ret_begin = h;
        *ret_end = h1;
        return 0;
}

/* Instance of window w on the local date of `day` (its weekday wd), if the
 * window runs that day: [*ret_from, *ret_to). */
static int window_instance(Calc *c, const RotationWindow *w, const LocalTime *day, int wd, usec_t *ret_from, usec_t *ret_to) {
        LocalTime a = *day, b;
        int r;

        if (!(w->days & (1U << wd)))
                return -ENOENT;
        a.hour = (int) (w->from / 60);
        a.minute = (int) (w->from % 60);
        a.second = 0;
        if (w->to <= w->from || w->to == 24 * 60) {
                lt_add_days(&a, 1, &b, NULL);
                b.hour = w->to == 24 * 60 ? 0 : (int) (w->to / 60);
                b.minute = w->to == 24 * 60 ? 0 : (int) (w->to % 60);
        } else {
                b = a;
                b.hour = (int) (w->to / 60);
                b.minute = (int) (w->to % 60);
        }
        r = local_to_usec(c, &a, ret_from);
        if (r < 0)
                return r;
        return local_to_usec(c, &b, ret_to);
}

/* Calls f for each window instance whose local start day is within
 * [-before, after] days of at's local date. */
typedef bool (*InstanceFunc)(usec_t from, usec_t to, void *userdata);

static int layer_foreach_instance(Calc *c, const RotationLayer *l, usec_t at, int before, int after, InstanceFunc f,
                                  void *userdata) {
        LocalTime today;

        if (!usec_to_local(at, &today, NULL, NULL))
                return -ERANGE;
        for (int i = -before; i <= after; i++) {
                LocalTime day;
                int wd;

                lt_add_days(&today, i, &day, &wd);
                for (size_t w = 0; w < l->n_windows; w++) {
                        usec_t from, to;
                        int r = window_instance(c, l->windows + w, &day, wd, &from, &to);
                        if (r == -ENOENT)
                                continue;
                        if (r < 0)
                                return r;
                        if (!f(from, to, userdata))
                                return 1;
                }
        }
        return 0;
}

typedef struct CoverCtx {
        usec_t at;
        bool on;
} CoverCtx;

static bool cover_one(usec_t from, usec_t to, void *userdata) {
        CoverCtx *c = userdata;
        if (from <= c->at && c->at < to) {
                c->on = true;
                return false;
        }
        return true;
}

static bool layer_is_on(Calc *c, const RotationLayer *l, usec_t at) {
        CoverCtx cov = { .at = at };

        if (l->n_windows == 0)
                return true;
        /* A window is at most a day long, so one that covers `at` starts
         * on its local date or the day before (two: DST slack). */
        (void) layer_foreach_instance(c, l, at, 2, 0, cover_one, &cov);
        return cov.on;
}

typedef struct Bounds {
        usec_t at, prev, next;  /* prev: latest boundary <= at (0: none); next: earliest > at */
} Bounds;

static void bounds_add(Bounds *b, usec_t t) {
        if (t <= b->at) {
                if (t > b->prev)
                        b->prev = t;
        } else if (t < b->next)
                b->next = t;
}

static bool bounds_one(usec_t from, usec_t to, void *userdata) {
        bounds_add(userdata, from);
        bounds_add(userdata, to);
        return true;
}

static bool same_person(const RotationLayer *l, int64_t a, int64_t b) {
        return l->people && l->people[a % (int64_t) l->n_members] == l->people[b % (int64_t) l->n_members];
}

static int layer_bounds(Calc *c, const RotationLayer *l, Bounds *b) {
        usec_t begin, end;
        int64_t k, j, n = (int64_t) l->n_members;
        int r;

        r = layer_turn(c, l, b->at, &k, &begin, &end);
        if (r == -ENOENT) {
                bounds_add(b, end);     /* the start */
        } else if (r < 0)
                return r;
        else if (n > 0) {
                /* A hand-off to the same person changes no one: the
                 * boundaries are the nearest hand-offs that do. */
                for (j = k; j > 0 && j > k - n && same_person(l, j, j - 1); j--)
                        ;
                if (j > 0 && j == k - n)
                        j = 0;  /* the same person all round: since the start */
                r = layer_handoff(c, l, j, &begin);
                if (r < 0)
                        return r;
                bounds_add(b, begin);
                for (j = k + 1; j <= k + n && same_person(l, j, j - 1); j++)
                        ;
                if (j <= k + n) {
                        r = layer_handoff(c, l, j, &end);
                        if (r == 0)
                                bounds_add(b, end);
                        else if (r != -ERANGE)
                                return r;
                }
        }
        if (l->n_windows > 0) {
                Bounds w = { .at = b->at, .prev = 0, .next = USEC_INFINITY };

                /* Nearly always a boundary is within two days either way;
                 * every window runs at least once a week. */
                r = layer_foreach_instance(c, l, b->at, 2, 2, bounds_one, &w);
                if (r >= 0 && (w.prev == 0 || w.next == USEC_INFINITY))
                        r = layer_foreach_instance(c, l, b->at, 8, 8, bounds_one, &w);
                if (r < 0)
                        return r;
                if (w.prev > 0)
                        bounds_add(b, w.prev);
                if (w.next != USEC_INFINITY)
                        bounds_add(b, w.next);
        }
        return 0;
}

/* ---- the rotation ---- */

static int override_span(Calc *c, const RotationOverride *o, usec_t *ret_from, usec_t *ret_to) {
        int r = local_to_usec(c, &o->from, ret_from);
        if (r < 0)
                return r;
        return local_to_usec(c, &o->to, ret_to);
}

typedef struct Who {
        const Person *person;
        OnCallSource source;
        size_t index;
} Who;

static bool who_equal(const Who *a, const Who *b) {
        return a->person == b->person && a->source == b->source && (a->source == ONCALL_NOBODY || a->index == b->index);
}

static Who who_at(Calc *c, const Rotation *r, usec_t at) {
        for (size_t i = r->n_overrides; i > 0; i--) {
                const RotationOverride *o = r->overrides + i - 1;
                usec_t from, to;
                if (override_span(c, o, &from, &to) >= 0 && from <= at && at < to && o->person)
                        return (Who) { o->person, ONCALL_OVERRIDE, i - 1 };
        }
        for (size_t i = r->n_layers; i > 0; i--) {
                const RotationLayer *l = r->layers + i - 1;
                usec_t begin, end;
                int64_t k;

                if (l->n_members == 0 || layer_turn(c, l, at, &k, &begin, &end) < 0 || !layer_is_on(c, l, at))
                        continue;
                if (l->people && l->people[k % (int64_t) l->n_members])
                        return (Who) { l->people[k % (int64_t) l->n_members], ONCALL_LAYER, i - 1 };
        }
        return (Who) { NULL, ONCALL_NOBODY, 0 };
}

static int rotation_bounds(Calc *c, const Rotation *r, usec_t at, usec_t *ret_prev, usec_t *ret_next) {
        Bounds b = { .at = at, .prev = 0, .next = USEC_INFINITY };
        int k;

        for (size_t i = 0; i < r->n_overrides; i++) {
                usec_t from, to;
                if (override_span(c, r->overrides + i, &from, &to) >= 0) {
                        bounds_add(&b, from);
                        bounds_add(&b, to);
                }
        }
        for (size_t i = 0; i < r->n_layers; i++) {
                k = layer_bounds(c, r->layers + i, &b);
                if (k < 0)
                        return k;
        }
        *ret_prev = b.prev;
        *ret_next = b.next;
        return 0;
}

/* Stretches are walked boundary by boundary; a rotation whose person
 * does not change for this many boundaries ends "beyond the horizon". */
#define ONCALL_STEPS_MAX 2000

/* From t (where w holds), the first instant within limit where someone
 * else is on call: USEC_INFINITY if none. */
static int walk_forward(Calc *c, const Rotation *r, usec_t t, const Who *w, usec_t limit, usec_t *ret) {
        for (unsigned i = 0; i < ONCALL_STEPS_MAX; i++) {
                usec_t prev, next;
                int k = rotation_bounds(c, r, t, &prev, &next);
                if (k < 0)
                        return k;
                if (next == USEC_INFINITY || next > limit)
                        break;
                Who n = who_at(c, r, next);
                if (!who_equal(&n, w)) {
                        *ret = next;
                        return 0;
                }
                t = next;
        }
        *ret = USEC_INFINITY;
        return 0;
}

static int walk_backward(Calc *c, const Rotation *r, usec_t t, const Who *w, usec_t limit, usec_t *ret) {
        for (unsigned i = 0; i < ONCALL_STEPS_MAX; i++) {
                usec_t prev, next;
                int k = rotation_bounds(c, r, t, &prev, &next);
                if (k < 0)
                        return k;
                if (prev == 0 || prev < limit)
                        break;
                Who p = who_at(c, r, prev - 1);
                if (!who_equal(&p, w)) {
                        *ret = prev;
                        return 0;
                }
                t = prev - 1;
        }
        *ret = 0;
        return 0;
}

static int oncall_compute(Calc *c, const Rotation *r, usec_t at, OnCall *ret) {
        usec_t ahead = usec_add(at, ONCALL_HORIZON), behind = at > ONCALL_HORIZON ? at - ONCALL_HORIZON : 0;
        Who w = who_at(c, r, at), n;
        OnCall o = {
                .person = w.person, .source = w.source, .index = w.index,
                .layer = w.source == ONCALL_LAYER ? r->layers[w.index].name : NULL,
                .next_since = USEC_INFINITY, .next_until = USEC_INFINITY,
        };
        usec_t t;
        int k;

        k = walk_backward(c, r, at, &w, behind, &o.since);
        if (k >= 0)
                k = walk_forward(c, r, at, &w, ahead, &o.until);
        if (k < 0)
                return k;
        /* The next one with someone on call, skipping stretches of nobody. */
        t = o.until;
        while (t != USEC_INFINITY && t <= ahead) {
                n = who_at(c, r, t);
                if (n.person) {
                        o.next = n.person;
                        o.next_source = n.source;
                        o.next_index = n.index;
                        o.next_since = t;
                        k = walk_forward(c, r, t, &n, ahead, &o.next_until);
                        if (k < 0)
                                return k;
                        break;
                }
                k = walk_forward(c, r, t, &n, ahead, &t);
                if (k < 0)
                        return k;
        }
        *ret = o;
        return 0;
}

int rotation_oncall(const Rotation *r, usec_t at, OnCall *ret) {
        TzScope s;
        int k;

        _cleanup_free_ CalcEntry *cache = calloc(CALC_CACHE_SIZE, sizeof(CalcEntry));
        Calc c = { .cache = cache };

        k = tz_enter(r->time_zone, &s);
        if (k < 0)
                return k;
        k = oncall_compute(&c, r, at, ret);
        tz_leave(&s);
        return k;
}

const Person *rotation_who(const Rotation *r, usec_t at, OnCallSource *ret_source, size_t *ret_index) {
        TzScope s;
        Who w;

        if (tz_enter(r->time_zone, &s) < 0)
                return NULL;
        w = who_at(NULL, r, at);
        tz_leave(&s);
        if (ret_source)
                *ret_source = w.source;
        if (ret_index)
                *ret_index = w.index;
        return w.person;
}

static const char *const oncall_source_table[_ONCALL_SOURCE_MAX] = {
        [ONCALL_NOBODY] = "nobody",
        [ONCALL_LAYER] = "layer",
        [ONCALL_OVERRIDE] = "override",
};

const char *oncall_source_to_string(OnCallSource s) {
        return s >= 0 && s < _ONCALL_SOURCE_MAX ? oncall_source_table[s] : NULL;
}
