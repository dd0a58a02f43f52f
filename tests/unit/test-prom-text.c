/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* prom-text: names checked, label values and HELP escaped, histograms
 * cumulative with +Inf, _sum and _count, families and series sorted, and
 * Prometheus' own promtool accepts what it renders (Debian's prometheus
 * package; tools/install-deps.sh installs it: its absence is a failure,
 * not a skip). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <math.h>

#include "prom-text.h"

#define L(...) ((const char *const[]) { __VA_ARGS__ })

static char *render(PromRegistry *r) {
        char *s = NULL;
        size_t n = 0;

        assert_int_equal(prom_render(r, &s, &n), 0);
        assert_non_null(s);
        assert_int_equal(strlen(s), n);
        return s;
}

static void test_names(void **state) {
        _cleanup_(prom_registry_freep) PromRegistry *r = NULL;
        const double b[] = { 1, 2 }, bad[] = { 2, 1 }, inf[] = { 1, INFINITY };

        assert_int_equal(prom_registry_new(&r), 0);
        assert_int_equal(prom_family_new(r, "ok_total", "h", PROM_COUNTER, NULL, NULL, 0, NULL), 0);
        assert_int_equal(prom_family_new(r, "ok_total", "h", PROM_COUNTER, NULL, NULL, 0, NULL), -EEXIST);
        assert_int_equal(prom_family_new(r, "ns:ok", "h", PROM_GAUGE, NULL, NULL, 0, NULL), 0);
        assert_int_equal(prom_family_new(r, "9bad", "h", PROM_GAUGE, NULL, NULL, 0, NULL), -EINVAL);
        assert_int_equal(prom_family_new(r, "bad-name", "h", PROM_GAUGE, NULL, NULL, 0, NULL), -EINVAL);
        assert_int_equal(prom_family_new(r, "", "h", PROM_GAUGE, NULL, NULL, 0, NULL), -EINVAL);
        assert_int_equal(prom_family_new(r, "g", "h", PROM_GAUGE, L("a:b", NULL), NULL, 0, NULL), -EINVAL);
        assert_int_equal(prom_family_new(r, "g", "h", PROM_GAUGE, L("__x", NULL), NULL, 0, NULL), -EINVAL);
        assert_int_equal(prom_family_new(r, "g", "h", PROM_GAUGE, L("a", "a", NULL), NULL, 0, NULL), -EINVAL);
        assert_int_equal(prom_family_new(r, "g", "h", PROM_GAUGE, NULL, b, 2, NULL), -EINVAL);
        assert_int_equal(prom_family_new(r, "h", "h", PROM_HISTOGRAM, L("le", NULL), b, 2, NULL), -EINVAL);
        assert_int_equal(prom_family_new(r, "h", "h", PROM_HISTOGRAM, NULL, bad, 2, NULL), -EINVAL);
        assert_int_equal(prom_family_new(r, "h", "h", PROM_HISTOGRAM, NULL, inf, 2, NULL), -EINVAL);
        assert_int_equal(prom_family_new(r, "h", "h", PROM_HISTOGRAM, NULL, b, 2, NULL), 0);
        /* A histogram's _bucket, _sum and _count are its own, both ways. */
        assert_int_equal(prom_family_new(r, "h_sum", "h", PROM_GAUGE, NULL, NULL, 0, NULL), -EEXIST);
        assert_int_equal(prom_family_new(r, "x_count", "h", PROM_GAUGE, NULL, NULL, 0, NULL), 0);
        assert_int_equal(prom_family_new(r, "x", "h", PROM_HISTOGRAM, NULL, b, 2, NULL), -EEXIST);
}

static void test_types(void **state) {
        _cleanup_(prom_registry_freep) PromRegistry *r = NULL;
        PromFamily *c, *g, *h;
        double v = -1;

        assert_int_equal(prom_registry_new(&r), 0);
        assert_int_equal(prom_family_new(r, "c_total", "c", PROM_COUNTER, L("x", NULL), NULL, 0, &c), 0);
        assert_int_equal(prom_family_new(r, "g", "g", PROM_GAUGE, NULL, NULL, 0, &g), 0);
        assert_int_equal(prom_family_new(r, "h_seconds", "h", PROM_HISTOGRAM, NULL, (double[]) { 1 }, 1, &h), 0);

        assert_int_equal(prom_add(c, L("a"), 2), 0);
        assert_int_equal(prom_add(c, L("a"), -1), -ERANGE);
        assert_int_equal(prom_add(c, NULL, 1), -EINVAL);               /* it has a label */
        assert_int_equal(prom_add(c, L(NULL), 1), -EINVAL);
        assert_int_equal(prom_observe(c, L("a"), 1), -EINVAL);
        assert_int_equal(prom_get(c, L("a"), &v), 0);
        assert_true(v == 2);
        assert_int_equal(prom_get(c, L("b"), &v), -ENOENT);

        assert_int_equal(prom_set(g, NULL, 5), 0);
        assert_int_equal(prom_add(g, NULL, -7), 0);
        assert_int_equal(prom_get(g, NULL, &v), 0);
        assert_true(v == -2);
        assert_int_equal(prom_add(h, NULL, 1), -EINVAL);
        assert_int_equal(prom_set(h, NULL, 1), -EINVAL);
        assert_int_equal(prom_observe(h, NULL, NAN), -EINVAL);
        assert_int_equal(prom_observe(h, NULL, 0.5), 0);
        assert_int_equal(prom_get(h, NULL, &v), 0);
        assert_true(v == 1);

        assert_int_equal(prom_family_size(c), 1);
        prom_family_clear(c);
        assert_int_equal(prom_family_size(c), 0);
        assert_int_equal(prom_get(c, L("a"), &v), -ENOENT);
}

static void test_escaping(void **state) {
        _cleanup_(prom_registry_freep) PromRegistry *r = NULL;
        _cleanup_free_ char *s = NULL;
        PromFamily *f;

        assert_int_equal(prom_registry_new(&r), 0);
        assert_int_equal(prom_family_new(r, "e", "a \\ back\\slash\nand a \"quote\"", PROM_GAUGE, L("v", NULL),
                                         NULL, 0, &f), 0);
        assert_int_equal(prom_set(f, L("q\"b\\n\nz"), 1), 0);
        assert_int_equal(prom_set(f, L("bad \xff utf8 \xc3"), 2), 0);
        assert_int_equal(prom_set(f, L("caf\xc3\xa9"), 3), 0);
        s = render(r);
        assert_string_equal(s,
                            "# HELP e a \\\\ back\\\\slash\\nand a \"quote\"\n"
                            "# TYPE e gauge\n"
                            "e{v=\"bad \xef\xbf\xbd utf8 \xef\xbf\xbd\"} 2\n"
                            "e{v=\"caf\xc3\xa9\"} 3\n"
                            "e{v=\"q\\\"b\\\\n\\nz\"} 1\n");
}

static void test_histogram(void **state) {
        _cleanup_(prom_registry_freep) PromRegistry *r = NULL;
        _cleanup_free_ char *s = NULL;
        PromFamily *h;

        assert_int_equal(prom_registry_new(&r), 0);
        assert_int_equal(prom_family_new(r, "d_seconds", "Durations.", PROM_HISTOGRAM, L("kind", NULL),
                                         (double[]) { 0.5, 1, 60 }, 3, &h), 0);
        /* A value on a bound is in that bucket (le: less or equal). */
        assert_int_equal(prom_observe(h, L("exec"), 1), 0);
        assert_int_equal(prom_observe(h, L("exec"), 0.25), 0);
        assert_int_equal(prom_observe(h, L("exec"), 30), 0);
        assert_int_equal(prom_observe(h, L("exec"), 1000), 0);
        assert_int_equal(prom_observe(h, L("approve"), 61), 0);
        s = render(r);
        assert_string_equal(s,
                            "# HELP d_seconds Durations.\n"
                            "# TYPE d_seconds histogram\n"
                            "d_seconds_bucket{kind=\"approve\",le=\"0.5\"} 0\n"
                            "d_seconds_bucket{kind=\"approve\",le=\"1\"} 0\n"
                            "d_seconds_bucket{kind=\"approve\",le=\"60\"} 0\n"
                            "d_seconds_bucket{kind=\"approve\",le=\"+Inf\"} 1\n"
                            "d_seconds_sum{kind=\"approve\"} 61\n"
                            "d_seconds_count{kind=\"approve\"} 1\n"
                            "d_seconds_bucket{kind=\"exec\",le=\"0.5\"} 1\n"
                            "d_seconds_bucket{kind=\"exec\",le=\"1\"} 2\n"
                            "d_seconds_bucket{kind=\"exec\",le=\"60\"} 3\n"
                            "d_seconds_bucket{kind=\"exec\",le=\"+Inf\"} 4\n"
                            "d_seconds_sum{kind=\"exec\"} 1031.25\n"
                            "d_seconds_count{kind=\"exec\"} 4\n");
}

static void test_sorted(void **state) {
        _cleanup_(prom_registry_freep) PromRegistry *r = NULL;
        _cleanup_free_ char *s = NULL, *again = NULL;
        PromFamily *z, *a;

        assert_int_equal(prom_registry_new(&r), 0);
        assert_int_equal(prom_family_new(r, "z_total", "Z.", PROM_COUNTER, L("p", "s", NULL), NULL, 0, &z), 0);
        assert_int_equal(prom_family_new(r, "a", "A.", PROM_GAUGE, NULL, NULL, 0, &a), 0);
        assert_int_equal(prom_add(z, L("b", "x"), 1), 0);
        assert_int_equal(prom_add(z, L("a", "y"), 1), 0);
        assert_int_equal(prom_add(z, L("a", "x"), 0), 0);
        assert_int_equal(prom_add(z, L("b", "x"), 1), 0);
        assert_int_equal(prom_set(a, NULL, 0.1), 0);
        s = render(r);
        assert_string_equal(s,
                            "# HELP a A.\n"
                            "# TYPE a gauge\n"
                            "a 0.1\n"
                            "# HELP z_total Z.\n"
                            "# TYPE z_total counter\n"
                            "z_total{p=\"a\",s=\"x\"} 0\n"
                            "z_total{p=\"a\",s=\"y\"} 1\n"
                            "z_total{p=\"b\",s=\"x\"} 2\n");
        again = render(r);
        assert_string_equal(s, again);
}

static void test_values(void **state) {
        char b[PROM_VALUE_MAX];

        assert_string_equal(prom_format_value(b, 0), "0");
        assert_string_equal(prom_format_value(b, -3), "-3");
        assert_string_equal(prom_format_value(b, 1796000000), "1796000000");
        assert_string_equal(prom_format_value(b, 0.25), "0.25");
        assert_string_equal(prom_format_value(b, 0.1), "0.1");
        assert_string_equal(prom_format_value(b, 1.0 / 3), "0.3333333333333333");
        assert_true(strtod(prom_format_value(b, 1.0 / 3), NULL) == 1.0 / 3);
        assert_string_equal(prom_format_value(b, 1e300), "1e+300");
        assert_string_equal(prom_format_value(b, INFINITY), "+Inf");
        assert_string_equal(prom_format_value(b, -INFINITY), "-Inf");
        assert_string_equal(prom_format_value(b, NAN), "NaN");
}

/* promtool check metrics reads the text on stdin; exit 0 (lint too). */
static int promtool_check(const char *text, char **ret_output) {
        char path[] = "/tmp/test-prom-text.XXXXXX", cmd[256];
        _cleanup_free_ char *out = NULL;
        size_t n = 0, len = strlen(text);
        FILE *p;
        int fd, st;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t) len);
        close(fd);
        snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
        p = popen(cmd, "r");
        assert_non_null(p);
        out = calloc(1, 65536);
        assert_non_null(out);
        n = fread(out, 1, 65535, p);
        out[n] = 0;
        st = pclose(p);
        unlink(path);
        *ret_output = TAKE_PTR(out);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_promtool(void **state) {
        _cleanup_(prom_registry_freep) PromRegistry *r = NULL;
        _cleanup_free_ char *s = NULL, *out = NULL, *bad = NULL;
        PromFamily *c, *g, *h, *i;

        if (system("command -v promtool >/dev/null 2>&1") != 0)
                fail_msg("promtool is not installed (Debian package prometheus; tools/install-deps.sh installs it)");

        assert_int_equal(prom_registry_new(&r), 0);
        assert_int_equal(prom_family_new(r, "salve_runs_total", "Runs finished, by plan and final state.",
                                         PROM_COUNTER, L("plan", "state", NULL), NULL, 0, &c), 0);
        assert_int_equal(prom_family_new(r, "salve_held_units", "Units held \"now\"\nby runs.", PROM_GAUGE, NULL,
                                         NULL, 0, &g), 0);
        assert_int_equal(prom_family_new(r, "salve_step_duration_seconds", "Step attempts.", PROM_HISTOGRAM,
                                         L("kind", "outcome", NULL), (double[]) { 1, 60, 86400 }, 3, &h), 0);
        assert_int_equal(prom_family_new(r, "salve_build_info", "Build.", PROM_GAUGE, L("version", NULL), NULL, 0,
                                         &i), 0);
        assert_int_equal(prom_add(c, L("db \"main\"\\", "succeeded"), 3), 0);
        assert_int_equal(prom_add(c, L("db\nx", "failed"), 1), 0);
        assert_int_equal(prom_add(c, L("caf\xc3\xa9 \xff", "failed"), 1), 0);
        assert_int_equal(prom_set(g, NULL, 2), 0);
        assert_int_equal(prom_observe(h, L("exec", "succeeded"), 0.25), 0);
        assert_int_equal(prom_observe(h, L("exec", "failed"), 100000), 0);
        assert_int_equal(prom_set(i, L("0.2.0"), 1), 0);
        s = render(r);
        assert_int_equal(promtool_check(s, &out), 0);
        out = mfree(out);

        /* And the oracle can fail: a counter without _total is linted. */
        assert_true(asprintf(&bad, "%s# HELP runs x\n# TYPE runs counter\nruns 1\n", s) > 0);
        assert_int_not_equal(promtool_check(bad, &out), 0);
        assert_non_null(strstr(out, "_total"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_types),
                cmocka_unit_test(test_escaping),
                cmocka_unit_test(test_histogram),
                cmocka_unit_test(test_sorted),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_promtool),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
