/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot-util.h"

static void test_names(void **state) {
        char *p = NULL, *n = NULL;
        uint64_t num = 0;

        assert_int_equal(snapshot_default_prefix("vg0/db", &p), 0);
        assert_string_equal(p, "db-salve");
        assert_int_equal(snapshot_name(p, "fsck-12", &n), 0);
        assert_string_equal(n, "db-salve-fsck-12");
        free(p);
        free(n);

        assert_int_equal(snapshot_default_prefix("/srv/data/", &p), 0);
        assert_string_equal(p, "data-salve");
        free(p);
        assert_int_equal(snapshot_default_prefix("/srv/my data", &p), 0);
        assert_string_equal(p, "my_data-salve");
        free(p);
        assert_int_equal(snapshot_default_prefix("/srv/.hidden", &p), 0);
        assert_string_equal(p, "_hidden-salve");
        free(p);
        assert_int_equal(snapshot_default_prefix("/", &p), -EINVAL);

        assert_int_equal(snapshot_name("bad/prefix", "p-1", &n), -EINVAL);
        assert_int_equal(snapshot_name("-x", "p-1", &n), -EINVAL);
        assert_true(snapshot_name_is_valid("a.b+c_d-1"));
        assert_false(snapshot_name_is_valid(".x"));
        assert_false(snapshot_name_is_valid(""));
        char long_name[SNAPSHOT_NAME_MAX + 2];
        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        assert_false(snapshot_name_is_valid(long_name));
        long_name[SNAPSHOT_NAME_MAX] = 0;
        assert_true(snapshot_name_is_valid(long_name));

        /* PREFIX-PLAN-N only */
        assert_true(snapshot_name_matches("db-salve-fsck-12", "db-salve", &num));
        assert_int_equal(num, 12);
        assert_true(snapshot_name_matches("db-salve-my.plan_x-3", "db-salve", &num));
        assert_int_equal(num, 3);
        assert_false(snapshot_name_matches("db-salve-manual", "db-salve", NULL));   /* no run number */
        assert_false(snapshot_name_matches("db-salve-12", "db-salve", NULL));       /* no plan */
        assert_false(snapshot_name_matches("db-salvage-fsck-1", "db-salve", NULL));
        assert_false(snapshot_name_matches("db-salve", "db-salve", NULL));
        assert_false(snapshot_name_matches("db-salve-fsck-", "db-salve", NULL));
        assert_false(snapshot_name_matches("db-salve--fsck-1", "db-salve", NULL));
        assert_false(snapshot_name_matches("db", "db-salve", NULL));
}

static void test_exit_codes(void **state) {
        bool ok;

        assert_string_equal(snapshot_exit_describe(SNAPSHOT_EXIT_CREATED, &ok), "created");
        assert_true(ok);
        assert_string_equal(snapshot_exit_describe(SNAPSHOT_EXIT_EXISTS, &ok), "already there");
        assert_true(ok);
        assert_non_null(snapshot_exit_describe(SNAPSHOT_EXIT_CREATED_PRUNE_FAILED, &ok));
        assert_true(ok);
        assert_non_null(snapshot_exit_describe(SNAPSHOT_EXIT_NEEDS_SIZE, &ok));
        assert_false(ok);
        assert_non_null(snapshot_exit_describe(SNAPSHOT_EXIT_NOT_OURS, &ok));
        assert_false(ok);
        for (int i = 0; i < _SNAPSHOT_EXIT_MAX; i++)
                assert_non_null(snapshot_exit_describe(i, NULL));
        assert_null(snapshot_exit_describe(_SNAPSHOT_EXIT_MAX, &ok));
        assert_null(snapshot_exit_describe(203, &ok));          /* systemd's EXEC */
        assert_null(snapshot_exit_describe(-1, &ok));
}

static SnapshotEntry *entries(const char *const *names, const usec_t *times, size_t n) {
        SnapshotEntry *e = calloc(n, sizeof(*e));

        assert_non_null(e);
        for (size_t i = 0; i < n; i++) {
                e[i].name = strdup(names[i]);
                e[i].created = times[i];
        }
        return e;
}

static bool pruned(const SnapshotEntry *e, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(e[i].name, name) == 0)
                        return e[i].prune;
        fail_msg("%s not in the list", name);
        return false;
}

static void test_retention(void **state) {
        const char *const names[] = { "db-salve-p-1", "db-salve-p-2", "db-salve-p-3", "db-salve-q-4",
                                      "db-salve-manual", "other-p-5", "db-salve-p-6" };
        const usec_t times[] = { 100, 200, 300, 400, 50, 10, 600 };
        size_t n = ELEMENTSOF(names);
        SnapshotEntry *e = entries(names, times, n);

        /* keep 2 with p-6 current: p-6 and q-4 stay; p-1..p-3 go; never the non-matching ones */
        assert_int_equal(snapshot_select_prune(e, n, "db-salve", "db-salve-p-6", 2), 3);
        assert_false(pruned(e, n, "db-salve-p-6"));
        assert_false(pruned(e, n, "db-salve-q-4"));
        assert_true(pruned(e, n, "db-salve-p-3"));
        assert_true(pruned(e, n, "db-salve-p-2"));
        assert_true(pruned(e, n, "db-salve-p-1"));
        assert_false(pruned(e, n, "db-salve-manual"));
        assert_false(pruned(e, n, "other-p-5"));
        /* newest first among the matching */
        assert_string_equal(e[0].name, "db-salve-p-6");
        assert_string_equal(e[1].name, "db-salve-q-4");

        /* the current one is kept even when its time says older (a clock that moved back) */
        assert_int_equal(snapshot_select_prune(e, n, "db-salve", "db-salve-p-1", 1), 4);
        assert_false(pruned(e, n, "db-salve-p-1"));
        assert_true(pruned(e, n, "db-salve-p-6"));

        /* keep more than there are: nothing goes */
        assert_int_equal(snapshot_select_prune(e, n, "db-salve", "db-salve-p-6", 10), 0);
        assert_int_equal(snapshot_select_prune(e, n, "db-salve", "db-salve-p-6", 0), -EINVAL);
        snapshot_entries_free(e, n);

        /* same second: the run number decides */
        const char *const same[] = { "s-p-9", "s-p-10", "s-p-11" };
        const usec_t t[] = { 5, 5, 5 };
        e = entries(same, t, 3);
        assert_int_equal(snapshot_select_prune(e, 3, "s", "s-p-11", 2), 1);
        assert_true(pruned(e, 3, "s-p-9"));
        snapshot_entries_free(e, 3);

        assert_int_equal(snapshot_select_prune(NULL, 0, "s", NULL, 1), 0);
}

static void test_lvs(void **state) {
        const char *listing =
                "  db|  |1764662400|linear\n"
                "  db-salve-p-1|db|1764662401|linear\n"
                "  db-salve-p-2|db|1764662402|thin\n"
                "  [lvol0_pmspare]||1764662000|linear\n"
                "  pool||1764662000|thin-pool\n"
                "  web-salve-p-1|web|1764662403|linear\n"
                "\n";
        SnapshotEntry *e = NULL;
        size_t n = 0;
        char *origin = NULL, *seg = NULL;

        assert_int_equal(snapshot_parse_lvs(listing, "db", &e, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(e[0].name, "db-salve-p-1");
        assert_int_equal(e[0].created, 1764662401ULL * USEC_PER_SEC);
        assert_string_equal(e[1].name, "db-salve-p-2");
        snapshot_entries_free(e, n);

        assert_int_equal(snapshot_lvs_find(listing, "db", &origin, &seg), 1);
        assert_string_equal(origin, "");
        assert_string_equal(seg, "linear");
        free(origin);
        free(seg);
        assert_int_equal(snapshot_lvs_find(listing, "db-salve-p-2", &origin, &seg), 1);
        assert_string_equal(origin, "db");
        assert_string_equal(seg, "thin");
        free(origin);
        free(seg);
        assert_int_equal(snapshot_lvs_find(listing, "lvol0_pmspare", NULL, NULL), 1);
        assert_int_equal(snapshot_lvs_find(listing, "nope", NULL, NULL), 0);

        assert_int_equal(snapshot_parse_lvs("  broken line\n", "db", &e, &n), -EBADMSG);
        assert_int_equal(snapshot_parse_lvs("  a|db|notanumber|linear\n", "db", &e, &n), -EINVAL);
        assert_int_equal(snapshot_parse_lvs("", "db", &e, &n), 0);
        assert_int_equal(n, 0);
        free(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_retention),
                cmocka_unit_test(test_lvs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
