/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Rotation math (src/people/rotation.c) at fixed instants: hand-offs,
 * whole-day turns across the DST changes of Europe/Berlin (2026-03-29,
 * 2026-10-25) and turns that are not, windows past midnight and in the
 * skipped hour, overrides, layer precedence, rotations with nobody on
 * call, and since/until/next. Every instant is written in UTC. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "people-internal.h"
#include "string-util.h"

/* "2026-10-26 08:00" read as UTC. */
static usec_t utc(const char *s) {
        LocalTime t;
        struct tm tm;

        assert_int_equal(parse_local_time(s, &t), 0);
        tm = (struct tm) { .tm_year = t.year - 1900, .tm_mon = t.month - 1, .tm_mday = t.day, .tm_hour = t.hour,
                           .tm_min = t.minute, .tm_sec = t.second };
        return (usec_t) timegm(&tm) * USEC_PER_SEC;
}

static PeopleDir *load(const char *yaml) {
        PeopleDir *d = NULL;
        Diagnostics diag = {};
        int r;

        r = people_dir_load_buffer("test.yaml", yaml, strlen(yaml), &d, &diag);
        if (r < 0 || diag.n_items > 0) {
                diagnostics_print(&diag, stderr);
                fail_msg("load failed: %d", r);
        }
        diagnostics_done(&diag);
        return d;
}

#define PEOPLE "people:\n  a: {email: a@example.com}\n  b: {email: b@example.com}\n  c: {email: c@example.com}\n"

static const char *who(const PeopleDir *d, const char *rot, const char *at) {
        OnCall o;
        assert_int_equal(people_oncall(d, rot, utc(at), &o), 0);
        return o.person ? o.person->name : "-";
}

static OnCall oncall(const PeopleDir *d, const char *rot, const char *at) {
        OnCall o;
        assert_int_equal(people_oncall(d, rot, utc(at), &o), 0);
        return o;
}

static void test_local_time_rules(void **state) {
        LocalTime t;
        usec_t u;
        int wd;
        long off;

        /* Skipped (02:00-03:00 CET does not exist on 2026-03-29): the instant the clocks jump. */
        assert_int_equal(parse_local_time("2026-03-29 02:30", &t), 0);
        assert_int_equal(local_time_to_usec("Europe/Berlin", &t, &u), 0);
        assert_int_equal(u, utc("2026-03-29 01:00"));
        /* Repeated (02:00-03:00 happens twice on 2026-10-25): the first. */
        assert_int_equal(parse_local_time("2026-10-25 02:30", &t), 0);
        assert_int_equal(local_time_to_usec("Europe/Berlin", &t, &u), 0);
        assert_int_equal(u, utc("2026-10-25 00:30"));
        /* Ordinary, both sides. */
        assert_int_equal(parse_local_time("2026-07-01 12:00:30", &t), 0);
        assert_int_equal(local_time_to_usec("Europe/Berlin", &t, &u), 0);
        assert_int_equal(u, utc("2026-07-01 10:00:30"));
        assert_int_equal(usec_to_local_time("Europe/Berlin", utc("2026-12-01 23:30"), &t, &wd, &off), 0);
        assert_int_equal(t.day, 2);
        assert_int_equal(t.hour, 0);
        assert_int_equal(wd, 2); /* Wednesday */
        assert_int_equal(off, 3600);
        assert_int_equal(local_time_to_usec("America/New_York", &(LocalTime) { 2026, 11, 1, 1, 30, 0 }, &u), 0);
        assert_int_equal(u, utc("2026-11-01 05:30")); /* EDT, the first 01:30 */

        /* TZ is put back as it was. */
        assert_int_equal(setenv("TZ", "UTC", 1), 0);
        tzset();
        assert_int_equal(local_time_to_usec("Asia/Tokyo", &(LocalTime) { 2026, 1, 1, 9, 0, 0 }, &u), 0);
        assert_int_equal(u, utc("2026-01-01 00:00"));
        assert_string_equal(getenv("TZ"), "UTC");
        assert_int_equal(unsetenv("TZ"), 0);
        assert_int_equal(local_time_to_usec("Asia/Tokyo", &(LocalTime) { 2026, 1, 1, 9, 0, 0 }, &u), 0);
        assert_null(getenv("TZ"));

        assert_int_equal(parse_local_time("2026-11-02T09:00", &t), 0);
        assert_int_equal(parse_local_time("2026-02-29 09:00", &t), -EINVAL);
        assert_int_equal(parse_local_time("2028-02-29 09:00", &t), 0);
        assert_int_equal(parse_local_time("2026-11-02 9:00", &t), -EINVAL);
        assert_int_equal(parse_local_time("2026-11-02 24:00", &t), -EINVAL);
        assert_int_equal(parse_local_time("2026-11-02 09:00Z", &t), -EINVAL);

        unsigned m;
        assert_int_equal(parse_clock_time("9:30", false, &m), 0);
        assert_int_equal(m, 570);
        assert_int_equal(parse_clock_time("24:00", false, &m), -EINVAL);
        assert_int_equal(parse_clock_time("24:00", true, &m), 0);
        assert_int_equal(m, 1440);
        assert_int_equal(parse_clock_time("12:60", true, &m), -EINVAL);

        assert_true(time_zone_is_valid("Europe/Berlin"));
        assert_true(time_zone_is_valid("UTC"));
        assert_false(time_zone_is_valid("Europe/Nowhere"));
        assert_false(time_zone_is_valid("../../etc/passwd"));
        assert_false(time_zone_is_valid("/usr/share/zoneinfo/UTC"));
        assert_false(time_zone_is_valid("Europe"));
}

/* Weekly turns hand off at 09:00 local on both sides of each DST change. */
static void test_weekly_across_dst(void **state) {
        _cleanup_(people_dir_freep) PeopleDir *d = load(PEOPLE
                "rotations:\n"
                "  r:\n"
                "    time-zone: Europe/Berlin\n"
                "    layers:\n"
                "      - {name: weekly, start: 2026-03-23 09:00, turn: 1w, members: [a, b, c]}\n");
        OnCall o;

        assert_string_equal(who(d, "r", "2026-03-23 07:59"), "-");     /* before the first hand-off */
        assert_string_equal(who(d, "r", "2026-03-23 08:00"), "a");     /* 09:00 CET */
        /* Spring forward inside a's week: the hand-off is at 09:00 CEST = 07:00 UTC. */
        assert_string_equal(who(d, "r", "2026-03-30 06:59"), "a");
        assert_string_equal(who(d, "r", "2026-03-30 07:00"), "b");
        o = oncall(d, "r", "2026-03-27 12:00");
        assert_string_equal(o.person->name, "a");
        assert_int_equal(o.source, ONCALL_LAYER);
        assert_string_equal(o.layer, "weekly");
        assert_int_equal(o.since, utc("2026-03-23 08:00"));
        assert_int_equal(o.until, utc("2026-03-30 07:00"));
        assert_string_equal(o.next->name, "b");
        assert_int_equal(o.next_since, utc("2026-03-30 07:00"));
        assert_int_equal(o.next_until, utc("2026-04-06 07:00"));
        /* 30 weeks on: 2026-10-19 is a's again (30 % 3 == 0); fall back in
         * that week, hand-off at 09:00 CET = 08:00 UTC. */
        o = oncall(d, "r", "2026-10-25 12:00");
        assert_string_equal(o.person->name, "a");
        assert_int_equal(o.since, utc("2026-10-19 07:00"));
        assert_int_equal(o.until, utc("2026-10-26 08:00"));
        assert_string_equal(who(d, "r", "2026-10-26 07:59"), "a");
        assert_string_equal(who(d, "r", "2026-10-26 08:00"), "b");
        /* Far out: 2027-03-22 is week 52: 52 % 3 == 1 -> b. */
        assert_string_equal(who(d, "r", "2027-03-22 08:00"), "b");
        assert_string_equal(who(d, "r", "2027-03-22 07:59"), "a");
}

/* Daily turns keep their wall-clock time; 12h turns are exact elapsed time. */
static void test_daily_and_hourly(void **state) {
        _cleanup_(people_dir_freep) PeopleDir *d = load(PEOPLE
                "rotations:\n"
                "  daily:\n"
                "    time-zone: Europe/Berlin\n"
                "    layers: [{start: 2026-10-24 09:00, turn: 1d, members: [a, b]}]\n"
                "  halves:\n"
                "    time-zone: Europe/Berlin\n"
                "    layers: [{start: 2026-10-24 09:00, turn: 12h, members: [a, b]}]\n");
        OnCall o;

        /* 2026-10-24 09:00 CEST = 07:00 UTC: a; 10-25 09:00 CET = 08:00 UTC: b; 10-26: a. */
        o = oncall(d, "daily", "2026-10-25 07:30");
        assert_string_equal(o.person->name, "a");
        assert_string_equal(o.layer, "layer 1");
        assert_int_equal(o.since, utc("2026-10-24 07:00"));
        assert_int_equal(o.until, utc("2026-10-25 08:00"));       /* a 25-hour turn */
        assert_string_equal(who(d, "daily", "2026-10-25 08:00"), "b");
        assert_string_equal(who(d, "daily", "2026-10-26 08:00"), "a");

        /* 12h from 07:00 UTC: 19:00, 07:00 (= 08:00 CET: the wall clock moves), 19:00 ... */
        o = oncall(d, "halves", "2026-10-25 06:59");
        assert_string_equal(o.person->name, "b");
        assert_int_equal(o.since, utc("2026-10-24 19:00"));
        assert_int_equal(o.until, utc("2026-10-25 07:00"));
        assert_string_equal(who(d, "halves", "2026-10-25 07:00"), "a");
        assert_string_equal(who(d, "halves", "2026-10-25 19:00"), "b");
}

static void test_windows(void **state) {
        _cleanup_(people_dir_freep) PeopleDir *d = load(PEOPLE
                "rotations:\n"
                "  nights:\n"
                "    time-zone: Europe/Berlin\n"
                "    layers:\n"
                "      - start: 2026-01-05 00:00\n"
                "        turn: 1w\n"
                "        members: [a]\n"
                "        windows:\n"
                "          - {days: fri, from: \"22:00\", to: \"06:00\"}\n"
                "  gap:\n"
                "    time-zone: Europe/Berlin\n"
                "    layers:\n"
                "      - start: 2026-01-05 00:00\n"
                "        turn: 1w\n"
                "        members: [b]\n"
                "        windows: [{days: sun, from: \"02:30\", to: \"04:00\"}, {days: [sat], from: \"10:00\", to: \"24:00\"}]\n");
        OnCall o;

        /* Friday 2026-11-06 22:00 CET = 21:00 UTC until Saturday 06:00 CET. */
        assert_string_equal(who(d, "nights", "2026-11-06 20:59"), "-");
        assert_string_equal(who(d, "nights", "2026-11-06 21:00"), "a");
        assert_string_equal(who(d, "nights", "2026-11-07 04:59"), "a");
        assert_string_equal(who(d, "nights", "2026-11-07 05:00"), "-");
        assert_string_equal(who(d, "nights", "2026-11-07 21:00"), "-");        /* Saturday night is not in it */
        o = oncall(d, "nights", "2026-11-07 01:00");
        assert_int_equal(o.since, utc("2026-11-06 21:00"));
        assert_int_equal(o.until, utc("2026-11-07 05:00"));
        /* The next one skips the stretch of nobody: a again next Friday. */
        assert_string_equal(o.next->name, "a");
        assert_int_equal(o.next_since, utc("2026-11-13 21:00"));
        o = oncall(d, "nights", "2026-11-09 12:00");
        assert_null(o.person);
        assert_int_equal(o.source, ONCALL_NOBODY);
        assert_int_equal(o.since, utc("2026-11-07 05:00"));
        assert_int_equal(o.until, utc("2026-11-13 21:00"));
        assert_string_equal(o.next->name, "a");
        assert_int_equal(o.next_since, utc("2026-11-13 21:00"));
        assert_int_equal(o.next_until, utc("2026-11-14 05:00"));

        /* The window from 02:30 on the day 02:30 does not exist opens when
         * the clocks jump to 03:00 CEST (01:00 UTC); an ordinary Sunday at
         * 02:30 CET (01:30 UTC). */
        assert_string_equal(who(d, "gap", "2026-03-29 00:59"), "-");
        assert_string_equal(who(d, "gap", "2026-03-29 01:00"), "b");
        assert_string_equal(who(d, "gap", "2026-03-29 01:59"), "b");
        assert_string_equal(who(d, "gap", "2026-03-29 02:00"), "-");   /* 04:00 CEST */
        assert_string_equal(who(d, "gap", "2026-03-22 01:29"), "-");
        assert_string_equal(who(d, "gap", "2026-03-22 01:30"), "b");
        /* Saturday 10:00 to midnight (24:00). */
        o = oncall(d, "gap", "2026-03-28 12:00");
        assert_int_equal(o.since, utc("2026-03-28 09:00"));
        assert_int_equal(o.until, utc("2026-03-28 23:00"));
        assert_string_equal(o.next->name, "b");
        assert_int_equal(o.next_since, utc("2026-03-29 01:00"));
        /* The repeated hour: 02:30 means the first (CEST), 04:00 once. */
        assert_string_equal(who(d, "gap", "2026-10-25 00:29"), "-");
        assert_string_equal(who(d, "gap", "2026-10-25 00:30"), "b");
        assert_string_equal(who(d, "gap", "2026-10-25 02:59"), "b");
        assert_string_equal(who(d, "gap", "2026-10-25 03:00"), "-");
}

static void test_layers_and_overrides(void **state) {
        _cleanup_(people_dir_freep) PeopleDir *d = load(PEOPLE
                "rotations:\n"
                "  r:\n"
                "    time-zone: Europe/Berlin\n"
                "    layers:\n"
                "      - name: weekly\n"
                "        start: 2026-11-02 09:00\n"
                "        turn: 1w\n"
                "        members: [a, b]\n"
                "      - name: evenings\n"
                "        start: 2026-11-02 09:00\n"
                "        turn: 1d\n"
                "        members: [c]\n"
                "        windows: [{days: mon-fri, from: \"18:00\", to: \"22:00\"}]\n"
                "    overrides:\n"
                "      - {from: 2026-11-04 12:00, to: 2026-11-05 12:00, who: c}\n"
                "      - {from: 2026-11-04 20:00, to: 2026-11-04 21:00, who: b}\n");
        OnCall o;

        /* Monday 2026-11-02: a all day but for c's evening (17:00-21:00 UTC). */
        assert_string_equal(who(d, "r", "2026-11-02 16:59"), "a");
        o = oncall(d, "r", "2026-11-02 17:00");
        assert_string_equal(o.person->name, "c");
        assert_string_equal(o.layer, "evenings");
        assert_int_equal(o.index, 1);
        /* Each evening is its own stretch: it ends at 22:00 local. */
        assert_int_equal(o.since, utc("2026-11-02 17:00"));
        assert_int_equal(o.until, utc("2026-11-02 21:00"));
        assert_string_equal(o.next->name, "a");
        assert_int_equal(o.next_since, utc("2026-11-02 21:00"));
        assert_int_equal(o.next_until, utc("2026-11-03 17:00"));

        /* Wednesday: the override puts c on from 12:00 local (11:00 UTC),
         * the later override b from 20:00 to 21:00 local. */
        assert_string_equal(who(d, "r", "2026-11-04 10:59"), "a");
        o = oncall(d, "r", "2026-11-04 11:00");
        assert_string_equal(o.person->name, "c");
        assert_int_equal(o.source, ONCALL_OVERRIDE);
        assert_int_equal(o.index, 0);
        assert_null(o.layer);
        assert_int_equal(o.since, utc("2026-11-04 11:00"));
        assert_int_equal(o.until, utc("2026-11-04 19:00"));
        assert_string_equal(o.next->name, "b");
        assert_int_equal(o.next_source, ONCALL_OVERRIDE);
        assert_int_equal(o.next_index, 1);
        assert_int_equal(o.next_until, utc("2026-11-04 20:00"));
        assert_string_equal(who(d, "r", "2026-11-04 20:00"), "c");
        assert_string_equal(who(d, "r", "2026-11-05 10:59"), "c");
        assert_string_equal(who(d, "r", "2026-11-05 11:00"), "a");
        /* Next week is b's; the evening layer still wins in its window. */
        assert_string_equal(who(d, "r", "2026-11-09 08:00"), "b");
        assert_string_equal(who(d, "r", "2026-11-09 17:30"), "c");
        assert_string_equal(who(d, "r", "2026-11-14 17:30"), "b");     /* Saturday: no evening window */
}

static void test_resolve(void **state) {
        _cleanup_(people_dir_freep) PeopleDir *d = load(PEOPLE
                "teams:\n"
                "  t1: {members: [b, r, a]}\n"
                "  t2: {members: [t1, c, a, empty]}\n"
                "rotations:\n"
                "  r:\n"
                "    time-zone: UTC\n"
                "    layers: [{start: 2026-01-01 00:00, turn: 1d, members: [a, c]}]\n"
                "  empty:\n"
                "    time-zone: UTC\n"
                "    layers: [{start: 2026-01-01 00:00, turn: 1d, members: [a], windows: [{days: sat, from: \"00:00\", to: \"01:00\"}]}]\n");
        _cleanup_free_ const Person **p = NULL;
        size_t n;

        assert_int_equal(people_resolve(d, "t2", utc("2026-01-01 12:00"), &p, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(p[0]->name, "b");
        assert_string_equal(p[1]->name, "a");   /* r's: a on day 0; then a again is dropped */
        assert_string_equal(p[2]->name, "c");
        p = mfree(p);
        assert_int_equal(people_resolve(d, "t2", utc("2026-01-02 12:00"), &p, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(p[0]->name, "b");
        assert_string_equal(p[1]->name, "c");   /* r's on day 1 */
        assert_string_equal(p[2]->name, "a");
        p = mfree(p);
        /* 2026-01-01 is a Thursday: the empty rotation has nobody. */
        assert_int_equal(people_resolve(d, "empty", utc("2026-01-01 00:30"), &p, &n), 0);
        assert_int_equal(n, 0);
        assert_null(p);
        assert_int_equal(people_resolve(d, "empty", utc("2026-01-03 00:30"), &p, &n), 0);
        assert_int_equal(n, 1);
        p = mfree(p);
        assert_int_equal(people_resolve(d, "c", 0, &p, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(p[0]->name, "c");
        p = mfree(p);
        assert_int_equal(people_resolve(d, "nobody", 0, &p, &n), -ENOENT);
        assert_int_equal(people_resolve(NULL, "a", 0, &p, &n), -ENOENT);

        OnCall o;
        assert_int_equal(people_oncall(d, "t1", 0, &o), -ENXIO);
        assert_int_equal(people_oncall(d, "zz", 0, &o), -ENOENT);
        /* A one-member layer that is always on: one stretch, no end, no next. */
        _cleanup_(people_dir_freep) PeopleDir *one = load(PEOPLE
                "rotations:\n  solo: {time-zone: UTC, layers: [{start: 2026-01-01 00:00, turn: 1w, members: [a]}]}\n");
        assert_int_equal(people_oncall(one, "solo", utc("2026-06-01 00:00"), &o), 0);
        assert_string_equal(o.person->name, "a");
        assert_int_equal(o.since, utc("2026-01-01 00:00"));
        assert_int_equal(o.until, USEC_INFINITY);
        assert_null(o.next);
}

/* The same rotation built by hand, without the loader: the math needs
 * nothing but the structs. */
static void test_rotation_struct(void **state) {
        Person a = { .name = (char *) "a" }, b = { .name = (char *) "b" };
        const Person *people[] = { &a, &b };
        RotationWindow w = { .days = 0x1f, .from = 9 * 60, .to = 17 * 60 };
        RotationLayer l = {
                .name = (char *) "biz", .start = { 2026, 11, 2, 9, 0, 0 }, .turn = USEC_PER_DAY, .turn_days = 1,
                .people = people, .n_members = 2, .windows = &w, .n_windows = 1,
        };
        Rotation r = { .name = (char *) "x", .time_zone = (char *) "Europe/Berlin", .layers = &l, .n_layers = 1 };
        OnCall o;

        assert_int_equal(rotation_oncall(&r, utc("2026-11-03 10:00"), &o), 0);
        assert_ptr_equal(o.person, &b);
        assert_int_equal(o.since, utc("2026-11-03 08:00"));
        assert_int_equal(o.until, utc("2026-11-03 16:00"));
        assert_ptr_equal(o.next, &a);
        assert_int_equal(o.next_since, utc("2026-11-04 08:00"));
        /* Friday's is a (day 4), then nobody until Monday's b (day 7). */
        assert_int_equal(rotation_oncall(&r, utc("2026-11-06 15:00"), &o), 0);
        assert_ptr_equal(o.person, &a);
        assert_ptr_equal(o.next, &b);
        assert_int_equal(o.next_since, utc("2026-11-09 08:00"));
        assert_null(rotation_who(&r, utc("2026-11-07 12:00"), NULL, NULL));
        assert_string_equal(oncall_source_to_string(ONCALL_OVERRIDE), "override");
}

/* salvectl oncall --at. */
static void test_parse_instant(void **state) {
        usec_t now = utc("2026-06-01 12:00"), u;

        assert_int_equal(parse_instant("@1798100000", now, &u), 0);
        assert_int_equal(u, 1798100000ULL * USEC_PER_SEC);
        assert_int_equal(parse_instant("+2h", now, &u), 0);
        assert_int_equal(u, utc("2026-06-01 14:00"));
        assert_int_equal(parse_instant("-1d 30m", now, &u), 0);
        assert_int_equal(u, utc("2026-05-31 11:30"));
        assert_int_equal(parse_instant("2026-12-24T10:00:00+01:00", now, &u), 0);
        assert_int_equal(u, utc("2026-12-24 09:00"));
        assert_int_equal(parse_instant("2026-12-24T10:00-05:30", now, &u), 0);
        assert_int_equal(u, utc("2026-12-24 15:30"));
        assert_int_equal(parse_instant("2026-12-24 10:00Z", now, &u), 0);
        assert_int_equal(u, utc("2026-12-24 10:00"));
        /* Local: the process's time zone. */
        assert_int_equal(setenv("TZ", ":Europe/Berlin", 1), 0);
        tzset();
        assert_int_equal(parse_instant("2026-12-24 10:00", now, &u), 0);
        assert_int_equal(u, utc("2026-12-24 09:00"));
        assert_int_equal(parse_instant("2026-07-24 10:00", now, &u), 0);
        assert_int_equal(u, utc("2026-07-24 08:00"));
        assert_int_equal(unsetenv("TZ"), 0);
        tzset();

        const char *bad[] = { "", "@", "@-1", "@12x", "+", "+2", "+2x", "tomorrow", "2026-12-24", "2026-12-24T10:00+1",
                              "2026-12-24T10:00+01:60", "2026-12-24T10:00+ 1:00", "2026-12-24 10:00 +01:00",
                              "2026-13-01 10:00", "@99999999999999999999" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (parse_instant(bad[i], now, &u) >= 0)
                        fail_msg("\"%s\" was taken", bad[i]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_local_time_rules),
                cmocka_unit_test(test_weekly_across_dst),
                cmocka_unit_test(test_daily_and_hourly),
                cmocka_unit_test(test_windows),
                cmocka_unit_test(test_layers_and_overrides),
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_rotation_struct),
                cmocka_unit_test(test_parse_instant),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
