/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "time-util.h"

static void test_parse_accepts(void **state) {
        usec_t u;

        assert_int_equal(parse_duration("90s", &u), 0);
        assert_true(u == 90 * USEC_PER_SEC);
        assert_int_equal(parse_duration("15m", &u), 0);
        assert_true(u == 15 * USEC_PER_MINUTE);
        assert_int_equal(parse_duration("2h", &u), 0);
        assert_true(u == 2 * USEC_PER_HOUR);
        assert_int_equal(parse_duration("1d", &u), 0);
        assert_true(u == USEC_PER_DAY);
        assert_int_equal(parse_duration("1h30m", &u), 0);
        assert_true(u == 90 * USEC_PER_MINUTE);
        assert_int_equal(parse_duration("1h 30m 5s", &u), 0);
        assert_true(u == 90 * USEC_PER_MINUTE + 5 * USEC_PER_SEC);
        assert_int_equal(parse_duration("500ms", &u), 0);
        assert_true(u == 500 * USEC_PER_MSEC);
        assert_int_equal(parse_duration("10min", &u), 0);
        assert_true(u == 10 * USEC_PER_MINUTE);
        assert_int_equal(parse_duration("0s", &u), 0);
        assert_true(u == 0);
}

static void test_parse_refuses(void **state) {
        const char *bad[] = { "", " ", "90", "15x", "m", "-5s", "1.5h", "5 s", "5sec", "s5", "1h30", "10mss" };
        usec_t u = 42;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(parse_duration(bad[i], &u), -EINVAL);
                assert_true(u == 42);
        }
        assert_int_equal(parse_duration(NULL, &u), -EINVAL);
        assert_int_equal(parse_duration("99999999999999999999s", &u), -ERANGE);
        assert_int_equal(parse_duration("9999999999999d", &u), -ERANGE);
}

static void test_format(void **state) {
        char buf[FORMAT_DURATION_MAX];

        assert_string_equal(format_duration(buf, 0), "0");
        assert_string_equal(format_duration(buf, 45 * USEC_PER_SEC), "45s");
        assert_string_equal(format_duration(buf, 90 * USEC_PER_MINUTE), "1h 30m");
        assert_string_equal(format_duration(buf, USEC_PER_DAY + USEC_PER_SEC), "1d 1s");
        assert_string_equal(format_duration(buf, 1500 * USEC_PER_MSEC), "1s 500ms");
        assert_string_equal(format_duration(buf, USEC_INFINITY), "infinity");
}

static void test_round_trip(void **state) {
        const char *in[] = { "90s", "15m", "2h", "1d", "1h 30m", "3d 4h 5m 6s" };
        char buf[FORMAT_DURATION_MAX];

        for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
                usec_t u, v;
                assert_int_equal(parse_duration(in[i], &u), 0);
                assert_int_equal(parse_duration(format_duration(buf, u), &v), 0);
                assert_true(u == v);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_accepts),
                cmocka_unit_test(test_parse_refuses),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
