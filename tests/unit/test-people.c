/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The people directory's loader (src/people/people-load.c), lookups and
 * plan checks. Every file in tests/data/people/invalid ends with
 * "# expect: LEVEL LINE:COLUMN MESSAGE" lines and is loaded on its own;
 * each directory there is loaded as one people.d, with the expectations
 * of each of its files at that file. The loader must produce exactly
 * those diagnostics, no more, no fewer. */

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "people-internal.h"
#include "plan-load.h"
#include "string-util.h"

typedef struct Expect {
        char file[512];
        char level[16];
        unsigned line, column;
        char message[1024];
} Expect;

static size_t read_expectations(const char *path, Expect *e, size_t n, size_t max) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[2048];

        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                int off = 0;
                if (!string_has_prefix(line, "# expect: "))
                        continue;
                assert_true(n < max);
                snprintf(e[n].file, sizeof(e[n].file), "%s", path);
                assert_int_equal(sscanf(line, "# expect: %15s %u:%u %n", e[n].level, &e[n].line, &e[n].column,
                                        &off), 3);
                snprintf(e[n].message, sizeof(e[n].message), "%s", line + off);
                e[n].message[strcspn(e[n].message, "\n")] = 0;
                n++;
        }
        return n;
}

static int expect_compare(const void *a, const void *b) {
        const Expect *x = a, *y = b;
        int c = strcmp(x->file, y->file);
        if (c != 0)
                return c;
        return x->line != y->line ? (x->line < y->line ? -1 : 1) : x->column < y->column ? -1 : x->column > y->column;
}

static void check_against(const char *what, Diagnostics *d, Expect *expect, size_t n_expect) {
        /* Stable sort on both sides: equal positions keep their order. */
        diagnostics_sort(d);
        for (size_t i = 1; i < n_expect; i++)
                for (size_t j = i; j > 0 && expect_compare(expect + j - 1, expect + j) > 0; j--) {
                        Expect t = expect[j];
                        expect[j] = expect[j - 1];
                        expect[j - 1] = t;
                }
        if (d->n_items != n_expect) {
                diagnostics_print(d, stderr);
                fail_msg("%s: %zu diagnostics, expected %zu", what, d->n_items, n_expect);
        }
        for (size_t i = 0; i < n_expect; i++) {
                Diag *x = d->items + i;
                char *root = strstr(x->message, SOURCE_ROOT "/");

                /* Messages name other files relative to the source tree. */
                if (root)
                        memmove(root, root + strlen(SOURCE_ROOT "/"), strlen(root + strlen(SOURCE_ROOT "/")) + 1);
                if (!streq(x->file, expect[i].file) || !streq(diag_level_to_string(x->level), expect[i].level) ||
                    x->line != expect[i].line || x->column != expect[i].column || !streq(x->message, expect[i].message)) {
                        diagnostics_print(d, stderr);
                        fail_msg("%s: got %s %s %u:%u %s\n  expected %s %s %u:%u %s", what, x->file,
                                 diag_level_to_string(x->level), x->line, x->column, x->message, expect[i].file,
                                 expect[i].level, expect[i].line, expect[i].column, expect[i].message);
                }
        }
}

static void check_fixture(const char *path, bool is_dir) {
        static Expect expect[128];
        size_t n_expect = 0;
        _cleanup_(people_dir_freep) PeopleDir *dir = NULL;
        char *paths[] = { (char *) path, NULL };
        Diagnostics d = {};
        int r;

        if (is_dir) {
                _cleanup_(closedirp) DIR *dh = opendir(path);
                struct dirent *de;
                assert_non_null(dh);
                while ((de = readdir(dh))) {
                        char p[1024];
                        if (!string_has_suffix(de->d_name, ".yaml"))
                                continue;
                        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                        n_expect = read_expectations(p, expect, n_expect, ELEMENTSOF(expect));
                }
                r = people_dir_load(paths, &dir, &d);
        } else {
                n_expect = read_expectations(path, expect, 0, ELEMENTSOF(expect));
                r = people_dir_load_paths(paths, &dir, &d);
        }
        assert_true(n_expect > 0);
        check_against(path, &d, expect, n_expect);
        assert_int_equal(r, d.n_errors > 0 ? -EINVAL : 0);
        assert_true((dir != NULL) == (d.n_errors == 0));
        diagnostics_done(&d);
}

static void test_invalid_fixtures(void **state) {
        const char *top = TEST_DATA_DIR "/people/invalid";
        _cleanup_(closedirp) DIR *dh = opendir(top);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(dh);
        while ((de = readdir(dh))) {
                char path[512];
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", top, de->d_name);
                assert_int_equal(stat(path, &st), 0);
                if (S_ISDIR(st.st_mode))
                        check_fixture(path, true);
                else if (string_has_suffix(de->d_name, ".yaml"))
                        check_fixture(path, false);
                else
                        continue;
                n++;
        }
        assert_true(n >= 9);
}

static void test_valid_example(void **state) {
        char *dirs[] = { (char *) TEST_DATA_DIR "/people/valid", NULL };
        _cleanup_(people_dir_freep) PeopleDir *d = NULL;
        Diagnostics diag = {};
        const Person *p;
        const Team *t;
        const Rotation *r;

        assert_int_equal(people_dir_load(dirs, &d, &diag), 0);
        if (diag.n_items > 0) {
                diagnostics_print(&diag, stderr);
                fail_msg("the example has diagnostics");
        }
        assert_false(people_dir_is_empty(d));
        assert_int_equal(people_dir_n_files(d), 1);

        p = people_dir_find_person(d, "jane");
        assert_non_null(p);
        assert_string_equal(p->display, "Jane Doe");
        assert_int_equal(strv_length(p->contacts), 2);
        assert_string_equal(p->contacts[0], "email=jane@example.com");
        assert_string_equal(p->contacts[1], "pagerduty=PABC123");
        assert_int_equal(p->pos.line, 3);
        assert_int_equal(p->pos.column, 3);
        assert_true(string_has_suffix(p->file, "/valid/example.yaml"));
        p = people_dir_find_person(d, "joe");
        assert_non_null(p);
        /* A phone number is kept without its spaces; a list gives one contact each. */
        assert_int_equal(strv_length(p->contacts), 3);
        assert_string_equal(p->contacts[0], "phone=+4912345678");
        assert_string_equal(p->contacts[1], "email=joe@example.com");
        assert_string_equal(p->contacts[2], "email=joe.bloggs@example.org");
        assert_null(people_dir_find_person(d, "dba"));
        assert_true(people_dir_has(d, "dba"));
        assert_true(people_dir_has(d, "dba-oncall"));
        assert_false(people_dir_has(d, "nobody"));
        assert_false(people_dir_has(d, NULL));

        t = people_dir_find_team(d, "dba");
        assert_non_null(t);
        assert_int_equal(strv_length(t->members), 3);
        assert_int_equal(t->members_pos[2].line, 16);
        assert_int_equal(t->members_pos[2].column, 26);
        r = people_dir_find_rotation(d, "dba-oncall");
        assert_non_null(r);
        assert_string_equal(r->time_zone, "Europe/Berlin");
        assert_int_equal(r->n_layers, 2);
        assert_string_equal(r->layers[0].name, "weekly");
        assert_int_equal(r->layers[0].turn_days, 7);
        assert_int_equal(r->layers[1].n_windows, 1);
        assert_int_equal(r->layers[1].windows[0].days, 0x1f);
        assert_int_equal(r->layers[1].windows[0].from, 22 * 60);
        assert_int_equal(r->layers[1].windows[0].to, 6 * 60);
        assert_int_equal(r->n_overrides, 1);
        assert_ptr_equal(r->overrides[0].person, people_dir_find_person(d, "joe"));
        assert_ptr_equal(r->layers[0].people[1], people_dir_find_person(d, "joe"));

        /* Sorted for listing. */
        assert_string_equal(people_dir_person(d, 0)->name, "ann");
        assert_string_equal(people_dir_person(d, 2)->name, "joe");
        assert_null(people_dir_person(d, 3));
        assert_string_equal(people_dir_team(d, 1)->name, "ops");
        assert_null(people_dir_rotation(d, 1));

        /* ops = [dba, ann], dba = [jane, joe, dba-oncall]: on Christmas Day
         * joe has the override, so ops means jane, joe, ann. */
        {
                LocalTime lt = { 2026, 12, 25, 12, 0, 0 };
                _cleanup_free_ const Person **who = NULL;
                usec_t at;
                size_t n;

                assert_int_equal(local_time_to_usec("Europe/Berlin", &lt, &at), 0);
                assert_int_equal(people_resolve(d, "ops", at, &who, &n), 0);
                assert_int_equal(n, 3);
                assert_string_equal(who[0]->name, "jane");
                assert_string_equal(who[1]->name, "joe");
                assert_string_equal(who[2]->name, "ann");
        }
        diagnostics_done(&diag);
}

static void write_file(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
}

/* /etc over /run over /usr/lib by file name; masks; missing dirs; the
 * empty directory. */
static void test_layering(void **state) {
        char top[] = "/tmp/test-people-XXXXXX", etc[64], run[64], usr[64], p[128];
        _cleanup_(people_dir_freep) PeopleDir *d = NULL;
        Diagnostics diag = {};

        assert_non_null(mkdtemp(top));
        snprintf(etc, sizeof(etc), "%s/etc", top);
        snprintf(run, sizeof(run), "%s/run", top);
        snprintf(usr, sizeof(usr), "%s/usr", top);
        assert_int_equal(mkdir(etc, 0755), 0);
        assert_int_equal(mkdir(usr, 0755), 0);
        char *dirs[] = { etc, run, usr, NULL };

        /* Nothing at all: empty (and a missing dir is fine). */
        assert_int_equal(people_dir_load(dirs, &d, &diag), 0);
        assert_true(people_dir_is_empty(d));
        assert_int_equal(diag.n_items, 0);
        d = people_dir_free(d);

        snprintf(p, sizeof(p), "%s/staff.yaml", usr);
        write_file(p, "people:\n  jane: {email: jane@vendor.example}\n");
        snprintf(p, sizeof(p), "%s/oncall.yaml", usr);
        write_file(p, "people:\n  joe: {email: joe@vendor.example}\n");
        snprintf(p, sizeof(p), "%s/staff.yaml", etc);
        write_file(p, "people:\n  jane: {email: jane@example.com}\n  # comment\n");
        snprintf(p, sizeof(p), "%s/README", etc);
        write_file(p, "not yaml\n");
        assert_int_equal(people_dir_load(dirs, &d, &diag), 0);
        assert_int_equal(diag.n_items, 0);
        assert_int_equal(people_dir_n_files(d), 2);
        assert_string_equal(people_dir_find_person(d, "jane")->contacts[0], "email=jane@example.com");
        assert_non_null(people_dir_find_person(d, "joe"));
        d = people_dir_free(d);

        /* Masked: a symlink to /dev/null, or an empty file. */
        snprintf(p, sizeof(p), "%s/oncall.yaml", etc);
        assert_int_equal(symlink("/dev/null", p), 0);
        assert_int_equal(people_dir_load(dirs, &d, &diag), 0);
        assert_null(people_dir_find_person(d, "joe"));
        assert_false(people_dir_is_empty(d));
        d = people_dir_free(d);
        assert_int_equal(unlink(p), 0);
        write_file(p, "");
        assert_int_equal(people_dir_load(dirs, &d, &diag), 0);
        assert_null(people_dir_find_person(d, "joe"));
        d = people_dir_free(d);

        /* A comment-only file is fine too, and an error anywhere fails the whole. */
        write_file(p, "# nobody here yet\n");
        assert_int_equal(people_dir_load(dirs, &d, &diag), 0);
        d = people_dir_free(d);
        write_file(p, "people:\n  joe: {emal: joe@example.com}\n");
        assert_int_equal(people_dir_load(dirs, &d, &diag), -EINVAL);
        assert_null(d);
        assert_int_equal(diag.n_errors, 1);
        assert_string_equal(diag.items[0].message, "unknown key \"emal\" in person \"joe\" (did you mean \"email\"?)");
        diagnostics_done(&diag);
        /* Without a collector the result is the same. */
        assert_int_equal(people_dir_load(dirs, &d, NULL), -EINVAL);

        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
        assert_int_equal(system(cmd), 0);
}

/* System directories: files must be root's and writable by root alone. */
/* Every directory from / to dir is root's and writable by no one else. */
static bool root_only_path(const char *dir) {
        char buf[PATH_MAX];
        struct stat st;

        snprintf(buf, sizeof(buf), "%s", dir);
        for (;;) {
                char *slash;
                if (lstat(buf[0] ? buf : "/", &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
                    (st.st_mode & (S_IWGRP | S_IWOTH)))
                        return false;
                slash = strrchr(buf, '/');
                if (!slash || !buf[0])
                        return true;
                *slash = 0;
        }
}

static void test_secure(void **state) {
        char top[PATH_MAX], p[PATH_MAX + 32];
        _cleanup_(people_dir_freep) PeopleDir *d = NULL;
        Diagnostics diag = {};
        int r;

        if (geteuid() != 0)
                skip();
        /* Not under /tmp (a sticky world-writable directory is not safe),
         * nor under the build tree, which may be anywhere (a clone in
         * /var/tmp failed here): the first of these that is root's alone
         * all the way up (a chroot's /run may be a tmpfs of mode 1777). */
        {
                static const char *const bases[] = { "/run", "/var/lib", "/root" };
                const char *base = NULL;
                for (size_t i = 0; i < ELEMENTSOF(bases) && !base; i++)
                        if (root_only_path(bases[i]))
                                base = bases[i];
                if (!base)
                        skip();
                snprintf(top, sizeof(top) - 32, "%s/salve-test-people-XXXXXX", base);
        }
        assert_non_null(mkdtemp(top));
        assert_int_equal(chmod(top, 0755), 0);
        snprintf(p, sizeof(p), "%s/a.yaml", top);
        write_file(p, "people:\n  jane: {email: jane@example.com}\n");

        r = people_dir_load_secure((const char *const[]) { top, NULL }, &d, &diag);
        if (r < 0 && diag.n_items > 0 && strstr(diag.items[0].message, "refusing to load") &&
            !strstr(diag.items[0].file, "a.yaml")) {
                /* A directory above the build tree is not root's alone: the
                 * check is right, but this tree cannot show it passing. */
                diagnostics_print(&diag, stderr);
                diagnostics_done(&diag);
        } else {
                assert_int_equal(r, 0);
                d = people_dir_free(d);
        }
        assert_int_equal(chmod(p, 0666), 0);
        assert_int_equal(people_dir_load_secure((const char *const[]) { top, NULL }, &d, &diag), -EINVAL);
        assert_true(diag.n_errors >= 1);
        assert_string_equal(diag.items[0].message, "refusing to load: writable by everyone (mode 0666); it decides "
                            "who salve notifies");
        diagnostics_done(&diag);
        assert_int_equal(chmod(p, 0644), 0);
        assert_int_equal(chown(p, 1000, 1000), 0);
        assert_int_equal(people_dir_load_secure((const char *const[]) { top, NULL }, &d, &diag), -EINVAL);
        assert_string_equal(diag.items[0].message, "refusing to load: owned by uid 1000, not root (it decides who "
                            "salve notifies)");
        diagnostics_done(&diag);
        assert_int_equal(chown(p, 0, 0), 0);
        /* A directory on the way that others may write to. */
        assert_int_equal(chmod(top, 0775), 0);
        assert_int_equal(people_dir_load_secure((const char *const[]) { top, NULL }, &d, &diag), -EINVAL);
        assert_non_null(strstr(diag.items[0].message, "others could replace the file (it decides who salve notifies)"));
        diagnostics_done(&diag);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(rmdir(top), 0);
}

static Plan *plan(const char *yaml) {
        Diagnostics d = {};
        Plan *p = NULL;

        if (plan_load_buffer("plan.yaml", yaml, strlen(yaml), &d, &p) < 0) {
                diagnostics_print(&d, stderr);
                fail_msg("plan did not load");
        }
        diagnostics_done(&d);
        return p;
}

static void test_check_plan(void **state) {
        static const char yaml[] =
                "plan: p\n"
                "owner: dba\n"
                "escalate: [dba-oncall, jnae]\n"
                "fallback: [nightdesk]\n"
                "steps:\n"
                "  - id: ok\n"
                "    human: approve\n"
                "    owner: jane\n"
                "    escalate: [dba-oncal]\n";
        _cleanup_(plan_freep) Plan *p = plan(yaml);
        char *dirs[] = { (char *) TEST_DATA_DIR "/people/valid", NULL };
        _cleanup_(people_dir_freep) PeopleDir *d = NULL;
        Diagnostics diag = {};

        assert_int_equal(people_dir_load(dirs, &d, &diag), 0);
        assert_int_equal(people_check_plan(d, p, &diag), -EINVAL);
        diagnostics_sort(&diag);
        assert_int_equal(diag.n_items, 3);
        assert_int_equal(diag.n_errors, 3);
        assert_int_equal(diag.items[0].line, 1);        /* fallback has no position of its own */
        assert_string_equal(diag.items[0].message, "fallback: \"nightdesk\" is not a person, team or rotation in the "
                            "people directory");
        assert_int_equal(diag.items[1].line, 3);
        assert_int_equal(diag.items[1].column, 11);
        assert_string_equal(diag.items[1].message, "escalate: \"jnae\" is not a person, team or rotation in the "
                            "people directory (did you mean \"jane\"?)");
        assert_int_equal(diag.items[2].line, 9);
        assert_int_equal(diag.items[2].column, 15);
        assert_string_equal(diag.items[2].message, "step \"ok\": escalate: \"dba-oncal\" is not a person, team or "
                            "rotation in the people directory (did you mean \"dba-oncall\"?)");
        diagnostics_done(&diag);

        /* No directory at all: warnings, saying nobody is told. */
        _cleanup_(people_dir_freep) PeopleDir *empty = calloc(1, sizeof(PeopleDir));
        assert_non_null(empty);
        assert_int_equal(people_check_plan(empty, p, &diag), 0);
        assert_int_equal(diag.n_errors, 0);
        assert_int_equal(diag.n_warnings, 6);
        diagnostics_sort(&diag);
        assert_int_equal(diag.items[1].line, 2);
        assert_int_equal(diag.items[1].column, 8);
        assert_non_null(strstr(diag.items[1].message, "owner: \"dba\" is not in the people directory: there is none"));
        assert_non_null(strstr(diag.items[1].message, "so the name stands for itself"));
        diagnostics_done(&diag);
        /* A NULL directory is the empty one. */
        assert_int_equal(people_check_plan(NULL, p, &diag), 0);
        assert_int_equal(diag.n_warnings, 6);
        diagnostics_done(&diag);
}

static void test_buffer_and_limits(void **state) {
        _cleanup_(people_dir_freep) PeopleDir *d = NULL;
        Diagnostics diag = {};
        static const char bad_utf8[] = "people:\n  jane: {name: caf\xe9}\n";

        assert_int_equal(people_dir_load_buffer("x.yaml", bad_utf8, strlen(bad_utf8), &d, &diag), -EINVAL);
        assert_int_equal(diag.n_items, 1);
        assert_int_equal(diag.items[0].line, 2);
        assert_int_equal(diag.items[0].column, 19);
        assert_string_equal(diag.items[0].message, "invalid UTF-8 at byte 26");
        diagnostics_done(&diag);

        assert_int_equal(people_dir_load_buffer("x.yaml", "[1, 2]", 6, &d, &diag), -EINVAL);
        assert_string_equal(diag.items[0].message, "expected a mapping with people, teams and rotations, got a list");
        diagnostics_done(&diag);

        /* A name at the limit, and one past it. */
        char buf[256];
        snprintf(buf, sizeof(buf), "people:\n  %.*s: {email: a@example.com}\n", PEOPLE_NAME_MAX,
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_int_equal(people_dir_load_buffer("x.yaml", buf, strlen(buf), &d, &diag), 0);
        d = people_dir_free(d);
        snprintf(buf, sizeof(buf), "people:\n  %.*s: {email: a@example.com}\n", PEOPLE_NAME_MAX + 1,
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_int_equal(people_dir_load_buffer("x.yaml", buf, strlen(buf), &d, &diag), -EINVAL);
        diagnostics_done(&diag);

        /* Many people load, and the lookups find each. */
        {
                size_t n = 2000, len = 0;
                _cleanup_free_ char *big = malloc(n * 64 + 16);
                assert_non_null(big);
                len += (size_t) sprintf(big, "people:\n");
                for (size_t i = 0; i < n; i++)
                        len += (size_t) sprintf(big + len, "  p%zu: {email: p%zu@example.com}\n", i, i);
                assert_int_equal(people_dir_load_buffer("big.yaml", big, len, &d, &diag), 0);
                for (size_t i = 0; i < n; i += 97) {
                        char name[32];
                        snprintf(name, sizeof(name), "p%zu", i);
                        assert_non_null(people_dir_find_person(d, name));
                }
                d = people_dir_free(d);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_invalid_fixtures),
                cmocka_unit_test(test_valid_example),
                cmocka_unit_test(test_layering),
                cmocka_unit_test(test_secure),
                cmocka_unit_test(test_check_plan),
                cmocka_unit_test(test_buffer_and_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
