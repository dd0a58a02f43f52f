/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "backup-util.h"

#define H "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_age(void **state) {
        BackupFacts f = { .newest = 1000 * USEC_PER_SEC, .size = 10, .files = 2 };
        usec_t age = 0;

        assert_int_equal(backup_judge_age(&f, 1000 * USEC_PER_SEC + USEC_PER_DAY, USEC_PER_DAY, &age), BACKUP_EXIT_OK);
        assert_int_equal(age, USEC_PER_DAY);
        assert_int_equal(backup_judge_age(&f, 1000 * USEC_PER_SEC + USEC_PER_DAY + 1, USEC_PER_DAY, &age),
                         BACKUP_EXIT_TOO_OLD);
        /* a file from the future (the clock moved back) is not stale */
        assert_int_equal(backup_judge_age(&f, 10 * USEC_PER_SEC, USEC_PER_SEC, &age), BACKUP_EXIT_OK);
        assert_int_equal(age, 0);
        assert_int_equal(backup_judge_age(&f, UINT64_MAX - 1, USEC_INFINITY, &age), BACKUP_EXIT_OK);
        f.files = 0;
        assert_int_equal(backup_judge_age(&f, 0, USEC_PER_DAY, &age), BACKUP_EXIT_EMPTY);
}

static void test_size(void **state) {
        BackupFacts f = { .size = 4096, .files = 1 };

        assert_int_equal(backup_judge_size(&f, 4096), BACKUP_EXIT_OK);
        assert_int_equal(backup_judge_size(&f, 4097), BACKUP_EXIT_TOO_SMALL);
        assert_int_equal(backup_judge_size(&f, 0), BACKUP_EXIT_OK);
        f = (BackupFacts) {};
        assert_int_equal(backup_judge_size(&f, 1), BACKUP_EXIT_EMPTY);
        assert_int_equal(backup_judge_size(&f, 0), BACKUP_EXIT_OK);
}

static int line(const char *s, char **name) {
        return backup_manifest_parse_line(s, strlen(s), name);
}

static void test_manifest_line(void **state) {
        char *name = NULL;

        assert_int_equal(line(H "  db.dump", &name), 0);
        assert_string_equal(name, "db.dump");
        free(name);
        assert_int_equal(line(H " *sub/dir/x.tar", &name), 0);
        assert_string_equal(name, "sub/dir/x.tar");
        free(name);
        assert_int_equal(line(H "  with space and..dots", &name), 0);
        free(name);
        /* sha256sum's escaped form: a backslash first, \\n and \\\\ in the name */
        assert_int_equal(line("\\" H "  a\\nb\\\\c", &name), 0);
        assert_string_equal(name, "a\nb\\c");
        free(name);

        assert_int_equal(line(H "  /etc/passwd", NULL), -EPERM);
        assert_int_equal(line(H "  ../x", NULL), -EPERM);
        assert_int_equal(line(H "  a/../../x", NULL), -EPERM);
        assert_int_equal(line(H "  a/..", NULL), -EPERM);

        assert_int_equal(line("", NULL), -EBADMSG);
        assert_int_equal(line("abc  x", NULL), -EBADMSG);
        assert_int_equal(line(H " x", NULL), -EBADMSG);                  /* one space only */
        assert_int_equal(line(H "  ", NULL), -EBADMSG);                  /* no name */
        assert_int_equal(line(H "  x\r", NULL), -EBADMSG);
        assert_int_equal(line("SHA256 (x) = " H, NULL), -EBADMSG);      /* --tag: not supported */
        assert_int_equal(line(&("g" H)[1], NULL), -EBADMSG);
        assert_int_equal(line("\\" H "  a\\qb", NULL), -EBADMSG);
}

static void test_manifest(void **state) {
        const char *good = H "  a\n" H "  b/c\n";
        const char *bad = H "  a\n\n" H "  b\n";
        const char *evil = H "  a\n" H "  /etc/shadow\n";
        size_t entries = 0;
        unsigned l = 0;

        assert_int_equal(backup_manifest_lint(good, strlen(good), &entries, &l), 0);
        assert_int_equal(entries, 2);
        assert_int_equal(backup_manifest_lint(good, strlen(good) - 1, &entries, &l), 0);   /* no final newline */
        assert_int_equal(entries, 2);
        assert_int_equal(backup_manifest_lint(bad, strlen(bad), &entries, &l), -EBADMSG);
        assert_int_equal(l, 2);
        assert_int_equal(backup_manifest_lint(evil, strlen(evil), &entries, &l), -EPERM);
        assert_int_equal(l, 2);
        assert_int_equal(backup_manifest_lint("", 0, &entries, &l), -ENODATA);
}

static void test_exit_codes(void **state) {
        for (int i = 0; i < _BACKUP_EXIT_MAX; i++)
                assert_non_null(backup_exit_describe(i));
        assert_string_equal(backup_exit_describe(BACKUP_EXIT_OK), "passed");
        assert_string_equal(backup_exit_describe(BACKUP_EXIT_TOO_OLD), "is too old");
        assert_null(backup_exit_describe(_BACKUP_EXIT_MAX));
        assert_null(backup_exit_describe(203));
        assert_null(backup_exit_describe(-1));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_age),
                cmocka_unit_test(test_size),
                cmocka_unit_test(test_manifest_line),
                cmocka_unit_test(test_manifest),
                cmocka_unit_test(test_exit_codes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
