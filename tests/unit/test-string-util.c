/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "string-util.h"
#include "strv.h"

static void test_distance(void **state) {
        assert_int_equal(string_distance("needs", "needs", 3), 0);
        assert_int_equal(string_distance("neds", "needs", 3), 1);
        assert_int_equal(string_distance("stpes", "steps", 3), 1); /* one swap */
        assert_int_equal(string_distance("rnu", "run", 3), 1);
        assert_true(string_distance("completely", "other", 2) > 2);
}

static void test_closest(void **state) {
        const char *const keys[] = { "needs", "run", "human", "with", "timeout", NULL };

        assert_string_equal(string_closest("neds", keys), "needs");
        assert_string_equal(string_closest("timout", keys), "timeout");
        assert_string_equal(string_closest("rnu", keys), "run");
        assert_null(string_closest("xyzzy", keys));
}

static void test_utf8(void **state) {
        bool nul;

        assert_true(utf8_first_invalid("plain ascii", 11, &nul) < 0);
        assert_true(utf8_first_invalid("caf\xc3\xa9 \xe2\x82\xac", 9, &nul) < 0);
        assert_int_equal(utf8_first_invalid("ab\xff", 3, &nul), 2);
        assert_false(nul);
        assert_int_equal(utf8_first_invalid("ab\0c", 4, &nul), 2);
        assert_true(nul);
        assert_int_equal(utf8_first_invalid("\xc0\xaf", 2, &nul), 0);   /* overlong */
        assert_int_equal(utf8_first_invalid("x\xed\xa0\x80", 4, &nul), 1); /* surrogate */
        assert_int_equal(utf8_first_invalid("x\xe2\x82", 3, &nul), 1);     /* truncated */
}

static void test_line_column(void **state) {
        const char *s = "ab\ncd\n\xc3\xa9x";
        unsigned l, c;

        offset_to_line_column(s, 0, &l, &c);
        assert_int_equal(l, 1);
        assert_int_equal(c, 1);
        offset_to_line_column(s, 4, &l, &c);
        assert_int_equal(l, 2);
        assert_int_equal(c, 2);
        offset_to_line_column(s, 8, &l, &c); /* after a two-byte character */
        assert_int_equal(l, 3);
        assert_int_equal(c, 2);
}

static void test_strv(void **state) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *j = NULL;

        assert_int_equal(strv_extend(&l, "a"), 0);
        assert_int_equal(strv_extend(&l, "b"), 0);
        assert_int_equal(strv_length(l), 2);
        assert_true(strv_contains(l, "b"));
        assert_false(strv_contains(l, "c"));
        j = strv_join(l, ", ");
        assert_string_equal(j, "a, b");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_distance),
                cmocka_unit_test(test_closest),
                cmocka_unit_test(test_utf8),
                cmocka_unit_test(test_line_column),
                cmocka_unit_test(test_strv),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
