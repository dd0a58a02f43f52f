/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "gate-util.h"
#include "strv.h"

#define STRV_MAKE(...) ((char *[]) { __VA_ARGS__, NULL })

static void test_escape(void **state) {
        static const struct {
                const char *unit, *instance;
        } cases[] = {
                { "demo-db.service", "demo-db.service" },
                { "getty@tty1.service", "getty\\x40tty1.service" },
                { "a:b_c.service", "a:b_c.service" },
                { "dev-disk-by\\x2dlabel-x.service", "dev-disk-by\\x5cx2dlabel-x.service" },
                { "sp ace.service", "sp\\x20ace.service" },
                { "\xc3\xa9.service", "\\xc3\\xa9.service" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = NULL, *u = NULL;

                assert_int_equal(gate_escape(cases[i].unit, &e), 0);
                assert_string_equal(e, cases[i].instance);
                /* The round trip, where the unescaped name can be held. */
                if (gate_unit_can_be_held(cases[i].unit, NULL)) {
                        assert_int_equal(gate_unescape(e, &u), 0);
                        assert_string_equal(u, cases[i].unit);
                }
        }
        assert_int_equal(gate_escape("", &(char *) { NULL }), -EINVAL);
}

static void test_unescape_refuses(void **state) {
        const char *bad[] = {
                "",
                "demo\\x2",                     /* short */
                "demo\\y40.service",            /* not \x */
                "demo\\xzz.service",            /* not hex */
                "demo\\x00.service",            /* NUL */
                "..\\x2fetc\\x2fpasswd.service",/* a "/" */
                "\\x2e.service",                /* "..service": starts with "." */
                "ready",                        /* not a unit */
                "salved.service",               /* cannot be held */
                "foo.socket",
                "foo\\x40.service",             /* a template */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *u = NULL;

                assert_int_equal(gate_unescape(bad[i], &u), -EINVAL);
                assert_null(u);
        }
}

static void test_unit_name(void **state) {
        _cleanup_free_ char *g = NULL, *g2 = NULL, *longest = NULL, *too_long = NULL;
        char name[GATE_UNIT_NAME_MAX + 8];
        size_t fit;

        assert_int_equal(gate_unit_name("getty@tty1.service", &g), 0);
        assert_string_equal(g, "salve-gate@getty\\x40tty1.service.service");
        assert_int_equal(gate_unit_name("postgresql.service", &g2), 0);
        assert_string_equal(g2, "salve-gate@postgresql.service.service");

        /* The longest unit whose gate name fits in 255 bytes. */
        fit = GATE_UNIT_NAME_MAX - 1 - strlen(GATE_UNIT_PREFIX) - strlen(GATE_UNIT_SUFFIX);
        memset(name, 'a', fit - strlen(".service"));
        strcpy(name + fit - strlen(".service"), ".service");
        assert_int_equal(gate_unit_name(name, &longest), 0);
        assert_int_equal(strlen(longest), GATE_UNIT_NAME_MAX - 1);
        assert_true(gate_unit_can_be_held(name, NULL));
        memmove(name + 1, name, strlen(name) + 1);
        assert_int_equal(gate_unit_name(name, &too_long), -EINVAL);
        assert_false(gate_unit_can_be_held(name, NULL));
}

static void test_can_be_held(void **state) {
        const char *why;

        assert_true(gate_unit_can_be_held("postgresql.service", &why));
        assert_null(why);
        assert_true(gate_unit_can_be_held("getty@tty1.service", NULL));
        assert_true(gate_unit_can_be_held("systemd.service", NULL)); /* not systemd-* */

        const char *refused[] = {
                "foo.socket", "foo.target", "salved.service", "dbus.service", "salve-gate@x.service.service",
                "systemd-fsck@dev-sda1.service", "systemd-journald.service", "foo@.service", ".service",
                "a/b.service", "..service", "ready", "", "sp ace.service",
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                why = NULL;
                assert_false(gate_unit_can_be_held(refused[i], &why));
                assert_non_null(why);
        }
        assert_false(gate_unit_can_be_held(NULL, NULL));
}

static void test_names(void **state) {
        assert_true(gate_name_is_unit_file("demo-db.service"));
        assert_false(gate_name_is_unit_file("ready"));
        assert_false(gate_name_is_unit_file(".demo-db.service.tmp"));
        assert_false(gate_name_is_unit_file(NULL));
}

static void test_policy(void **state) {
        GatePolicy p = { .fallback = GATE_FALLBACK_RELEASE_AFTER, .release_after = 1 };

        assert_int_equal(gate_policy_parse(NULL, &p), 0);
        assert_int_equal(p.fallback, GATE_FALLBACK_HOLD);
        assert_int_equal(gate_policy_parse("", &p), 0);
        assert_int_equal(p.fallback, GATE_FALLBACK_HOLD);
        assert_int_equal(gate_policy_parse("hold", &p), 0);
        assert_int_equal(p.fallback, GATE_FALLBACK_HOLD);
        assert_int_equal(gate_policy_parse("release-after:10min", &p), 0);
        assert_int_equal(p.fallback, GATE_FALLBACK_RELEASE_AFTER);
        assert_true(p.release_after == 10 * USEC_PER_MINUTE);
        assert_int_equal(gate_policy_parse("release-after:1h 30m", &p), 0);
        assert_true(p.release_after == 90 * USEC_PER_MINUTE);
        assert_int_equal(gate_policy_parse("release-after:0s", &p), 0);
        assert_true(p.release_after == 0);

        const char *bad[] = { "release", "release-after", "release-after:", "release-after:10", "Hold",
                              "release-after:-1s", "release-after: ", "keep", "release-after:10min extra" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                p = (GatePolicy) { .fallback = GATE_FALLBACK_RELEASE_AFTER, .release_after = 42 };
                assert_int_equal(gate_policy_parse(bad[i], &p), -EINVAL);
                assert_int_equal(p.fallback, GATE_FALLBACK_RELEASE_AFTER);
                assert_true(p.release_after == 42);
        }
}

static void test_state_from_names(void **state) {
        char **none = NULL;

        assert_int_equal(gate_state_from_names(none, "a.service"), GATE_UNDECIDED);
        assert_int_equal(gate_state_from_names(STRV_MAKE("ready"), "a.service"), GATE_RELEASED);
        assert_int_equal(gate_state_from_names(STRV_MAKE("ready", "a.service"), "a.service"), GATE_HELD);
        assert_int_equal(gate_state_from_names(STRV_MAKE("a.service"), "a.service"), GATE_HELD);
        assert_int_equal(gate_state_from_names(STRV_MAKE("ready", "b.service", ".a.service.tmp"), "a.service"),
                         GATE_RELEASED);
        assert_int_equal(gate_state_from_names(STRV_MAKE(".ready.tmp", "b.service"), "a.service"), GATE_UNDECIDED);
        assert_string_equal(gate_state_to_string(GATE_HELD), "held");
        assert_null(gate_state_to_string(_GATE_STATE_MAX));
}

static int write_at(int dirfd, const char *name, const char *text, size_t len) {
        _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                return -errno;
        return write(fd, text, len) == (ssize_t) len ? 0 : -EIO;
}

static void test_state_and_reason_at(void **state) {
        char tmpl[] = "/tmp/test-gate-util.XXXXXX";
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL;
        char big[2000];
        GateState st;

        assert_non_null(mkdtemp(tmpl));
        dfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);

        assert_int_equal(gate_state_at(dfd, "demo-db.service", &st), 0);
        assert_int_equal(st, GATE_UNDECIDED);
        assert_int_equal(gate_reason_at(dfd, "demo-db.service", &r1), -ENOENT);

        assert_int_equal(write_at(dfd, "demo-db.service", "held by run 12 (storage-recovery)\nsecond line", 45), 0);
        assert_int_equal(gate_state_at(dfd, "demo-db.service", &st), 0);
        assert_int_equal(st, GATE_HELD);
        assert_int_equal(gate_reason_at(dfd, "demo-db.service", &r1), 0);
        assert_string_equal(r1, "held by run 12 (storage-recovery)");

        assert_int_equal(write_at(dfd, "ready", "", 0), 0);
        assert_int_equal(gate_state_at(dfd, "demo-db.service", &st), 0);
        assert_int_equal(st, GATE_HELD);
        assert_int_equal(gate_state_at(dfd, "other.service", &st), 0);
        assert_int_equal(st, GATE_RELEASED);

        /* Empty: a generic text. Control characters: spaces. Invalid
         * UTF-8: cut there. Too long: cut at GATE_REASON_MAX. */
        assert_int_equal(write_at(dfd, "demo-db.service", "", 0), 0);
        assert_int_equal(gate_reason_at(dfd, "demo-db.service", &r2), 0);
        assert_string_equal(r2, "held by salved (no reason given)");
        assert_int_equal(write_at(dfd, "demo-db.service", "a\tb\x1b[31mc \xff\xfe rest", 16), 0);
        assert_int_equal(gate_reason_at(dfd, "demo-db.service", &r3), 0);
        assert_string_equal(r3, "a b [31mc");
        memset(big, 'x', sizeof(big));
        assert_int_equal(write_at(dfd, "demo-db.service", big, sizeof(big)), 0);
        assert_int_equal(gate_reason_at(dfd, "demo-db.service", &r4), 0);
        assert_int_equal(strlen(r4), GATE_REASON_MAX);

        /* A directory in the unit's place holds, but has no reason to read. */
        assert_int_equal(unlinkat(dfd, "demo-db.service", 0), 0);
        assert_int_equal(gate_state_at(dfd, "demo-db.service", &st), 0);
        assert_int_equal(st, GATE_RELEASED);
        assert_int_equal(mkdirat(dfd, "demo-db.service", 0755), 0);
        assert_int_equal(gate_state_at(dfd, "demo-db.service", &st), 0);
        assert_int_equal(st, GATE_HELD);
        assert_true(gate_reason_at(dfd, "demo-db.service", &(char *) { NULL }) < 0);

        assert_int_equal(unlinkat(dfd, "demo-db.service", AT_REMOVEDIR), 0);
        assert_int_equal(unlinkat(dfd, "ready", 0), 0);
        assert_int_equal(rmdir(tmpl), 0);
}

static void test_reason_clean(void **state) {
        _cleanup_free_ char *a = gate_reason_clean("held  \r\n", 8), *b = gate_reason_clean("\n", 1),
                            *c = gate_reason_clean("x\0y", 3);

        assert_string_equal(a, "held");
        assert_string_equal(b, "held by salved (no reason given)");
        /* A NUL is not UTF-8 text: the line ends there. */
        assert_string_equal(c, "x");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_unescape_refuses),
                cmocka_unit_test(test_unit_name),
                cmocka_unit_test(test_can_be_held),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_policy),
                cmocka_unit_test(test_state_from_names),
                cmocka_unit_test(test_state_and_reason_at),
                cmocka_unit_test(test_reason_clean),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
