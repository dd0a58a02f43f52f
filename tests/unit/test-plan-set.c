/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Layered plan directories: precedence, masking, duplicate names, and the
 * refusal of plan files that someone other than root could have written. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "plan-set.h"

static char tmp[] = "/tmp/salve-test-plan-set-XXXXXX";

static void write_file(const char *dir, const char *name, const char *content, mode_t mode) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s/%s", tmp, dir, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
        assert_int_equal(chmod(path, mode), 0);
}

static void make_dir(const char *dir, mode_t mode) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", tmp, dir);
        assert_int_equal(mkdir(path, mode), 0);
        assert_int_equal(chmod(path, mode), 0);
}

static const char *plan_text(const char *name, const char *unit) {
        static char buf[512];
        snprintf(buf, sizeof(buf), "plan: %s\nsteps:\n  - id: s\n    run: unit.start\n    with: {unit: %s}\n", name,
                 unit);
        return buf;
}

static int setup(void **state) {
        assert_non_null(mkdtemp(tmp));
        make_dir("etc", 0755);
        make_dir("run", 0755);
        make_dir("usr", 0755);
        return 0;
}

static int teardown(void **state) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        return system(cmd) == 0 ? 0 : -1;
}

static void test_precedence_and_masking(void **state) {
        char etc[512], run[512], usr[512], link[600];
        const char *dirs[] = { etc, run, usr, NULL };
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        Diagnostics d = {};
        const Plan *p;

        snprintf(etc, sizeof(etc), "%s/etc", tmp);
        snprintf(run, sizeof(run), "%s/run", tmp);
        snprintf(usr, sizeof(usr), "%s/usr", tmp);

        write_file("usr", "db.yaml", plan_text("db", "vendor.service"), 0644);
        write_file("etc", "db.yaml", plan_text("db", "local.service"), 0644);      /* overrides usr */
        write_file("usr", "web.yaml", plan_text("web", "web.service"), 0644);
        write_file("run", "web.yaml", plan_text("web", "runtime.service"), 0644);  /* overrides usr */
        write_file("usr", "masked.yaml", plan_text("masked", "m.service"), 0644);
        snprintf(link, sizeof(link), "%s/masked.yaml", etc);
        assert_int_equal(symlink("/dev/null", link), 0);
        write_file("usr", "notes.txt", "not a plan", 0644);                          /* ignored */

        assert_int_equal(plan_set_load_dirs(dirs, PLAN_LOAD_SECURE, &d, &s), 0);
        diagnostics_print(&d, stderr);
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(s->n_plans, 2);
        assert_int_equal(s->n_masked, 1);
        p = plan_set_find(s, "db");
        assert_non_null(p);
        assert_string_equal(step_get_string(p->steps, "unit"), "local.service");
        p = plan_set_find(s, "web");
        assert_string_equal(step_get_string(p->steps, "unit"), "runtime.service");
        assert_null(plan_set_find(s, "masked"));
        diagnostics_done(&d);
}

static void test_duplicate_names_and_bad_files(void **state) {
        char dir[512];
        const char *dirs[] = { dir, NULL };
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        Diagnostics d = {};

        make_dir("dup", 0755);
        snprintf(dir, sizeof(dir), "%s/dup", tmp);
        write_file("dup", "a.yaml", plan_text("same", "a.service"), 0644);
        write_file("dup", "b.yaml", plan_text("same", "b.service"), 0644);
        write_file("dup", "c.yaml", "plan: broken\nsteps: [\n", 0644);
        write_file("dup", "d.yaml", plan_text("fine", "d.service"), 0644);

        assert_int_equal(plan_set_load_dirs(dirs, 0, &d, &s), 0);
        /* The good plans still load; each problem is reported. */
        assert_int_equal(s->n_plans, 2);
        assert_non_null(plan_set_find(s, "fine"));
        assert_string_equal(step_get_string(plan_set_find(s, "same")->steps, "unit"), "a.service");
        assert_int_equal(d.n_errors, 2);
        diagnostics_sort(&d);
        assert_non_null(strstr(d.items[0].file, "b.yaml"));
        assert_non_null(strstr(d.items[0].message, "already defined in"));
        assert_non_null(strstr(d.items[1].file, "c.yaml"));
        diagnostics_done(&d);
}

static void expect_refused(const char *dir, const char *needle) {
        char path[512];
        const char *dirs[] = { path, NULL };
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        Diagnostics d = {};

        snprintf(path, sizeof(path), "%s/%s", tmp, dir);
        assert_int_equal(plan_set_load_dirs(dirs, PLAN_LOAD_SECURE, &d, &s), 0);
        assert_int_equal(s->n_plans, 0);
        assert_int_equal(d.n_errors, 1);
        if (!strstr(d.items[0].message, needle))
                fail_msg("\"%s\" does not say \"%s\"", d.items[0].message, needle);
        diagnostics_done(&d);

        /* Without the secure flag (salvectl verify on a draft) it loads. */
        s = plan_set_free(s);
        assert_int_equal(plan_set_load_dirs(dirs, 0, &d, &s), 0);
        assert_int_equal(s->n_plans, 1);
        assert_int_equal(d.n_errors, 0);
        diagnostics_done(&d);
}

static void test_insecure_files_refused(void **state) {
        char path[512];

        if (geteuid() != 0)
                skip(); /* needs chown to another user */

        make_dir("ww", 0755);
        write_file("ww", "p.yaml", plan_text("p", "p.service"), 0666);
        expect_refused("ww", "writable by everyone (mode 0666)");

        make_dir("gw", 0755);
        write_file("gw", "p.yaml", plan_text("p", "p.service"), 0664);
        expect_refused("gw", "writable by its group");

        make_dir("owner", 0755);
        write_file("owner", "p.yaml", plan_text("p", "p.service"), 0644);
        snprintf(path, sizeof(path), "%s/owner/p.yaml", tmp);
        assert_int_equal(chown(path, 65534, 65534), 0);
        expect_refused("owner", "owned by uid 65534, not root");

        make_dir("wdir", 0777);
        write_file("wdir", "p.yaml", plan_text("p", "p.service"), 0644);
        expect_refused("wdir", "is writable by others");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_precedence_and_masking),
                cmocka_unit_test(test_duplicate_names_and_bad_files),
                cmocka_unit_test(test_insecure_files_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
