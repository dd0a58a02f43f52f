/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Layered plan directories: precedence, masking, duplicate names, and the
 * refusal of plan files that someone other than root could have written. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* Whether this process has a /tmp that secure loading can accept. */
static bool secure_tmp;

static int setup(void **state) {
        /* Secure loading checks every directory up to /, and /tmp (1777)
         * is not safe for it: as root, give this process a private /tmp
         * that is root's 0755, so the checks see only what the tests
         * build. Without root or mount namespaces the tests that load
         * securely are skipped. */
        if (geteuid() == 0 && unshare(CLONE_NEWNS) >= 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) >= 0 &&
            mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") >= 0)
                secure_tmp = true;
        else
                fprintf(stderr, "no private /tmp (%s): skipping the tests of secure loading\n",
                        geteuid() != 0 ? "not root" : strerror(errno));
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
        PlanLoadFlags flags = secure_tmp ? PLAN_LOAD_SECURE : 0;
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

        assert_int_equal(plan_set_load_dirs(dirs, flags, &d, &s), 0);
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

        if (!secure_tmp)
                skip(); /* needs root (chown) and a private /tmp */

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

static void path_of(char *buf, size_t size, const char *rel) {
        snprintf(buf, size, "%s/%s", tmp, rel);
}

/* Loads dir (relative to tmp) with flags and expects no plan and one error
 * at file containing `file` and a message containing needle. */
static void expect_one_error(const char *dir, PlanLoadFlags flags, const char *file, const char *needle) {
        char path[512];
        const char *dirs[] = { path, NULL };
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        Diagnostics d = {};

        path_of(path, sizeof(path), dir);
        assert_int_equal(plan_set_load_dirs(dirs, flags, &d, &s), 0);
        diagnostics_print(&d, stderr);
        assert_int_equal(s->n_plans, 0);
        assert_int_equal(d.n_errors, 1);
        if (!strstr(d.items[0].file, file))
                fail_msg("error is about \"%s\", not %s", d.items[0].file, file);
        if (!strstr(d.items[0].message, needle))
                fail_msg("\"%s\" does not say \"%s\"", d.items[0].message, needle);
        diagnostics_done(&d);
}

static void on_alarm(int sig) {
        static const char msg[] = "hung opening a FIFO\n";
        (void) !write(STDERR_FILENO, msg, sizeof(msg) - 1);
        _exit(1);
}

/* Issue 6: a plan name that resolves to a FIFO blocked salved in open()
 * for good. It must be refused at once, secure or not, as anything but a
 * regular file is. */
static void test_fifo_refused(void **state) {
        char fifo[512], link[512];

        signal(SIGALRM, on_alarm);
        alarm(10);
        make_dir("fifo", 0755);
        path_of(fifo, sizeof(fifo), "fifo/p.yaml");
        assert_int_equal(mkfifo(fifo, 0644), 0);
        expect_one_error("fifo", 0, "p.yaml", "not a regular file");
        if (secure_tmp)
                expect_one_error("fifo", PLAN_LOAD_SECURE, "p.yaml", "not a regular file");

        /* Through a symlink, the way the report had it. */
        make_dir("fifolink", 0755);
        path_of(link, sizeof(link), "fifolink/evil.yaml");
        assert_int_equal(symlink(fifo, link), 0);
        expect_one_error("fifolink", secure_tmp ? PLAN_LOAD_SECURE : 0, "evil.yaml", "not a regular file");

        /* salvectl verify FILE takes the same road. */
        {
                _cleanup_(plan_set_freep) PlanSet *s = NULL;
                char *paths[] = { link, NULL };
                Diagnostics d = {};
                assert_int_equal(plan_set_load_paths(paths, 0, &d, &s), 0);
                assert_int_equal(d.n_errors, 1);
                assert_non_null(strstr(d.items[0].message, "not a regular file"));
                diagnostics_done(&d);
        }
        alarm(0);
}

/* Issue 6: evil.yaml -> a root-owned 0644 file in a user's directory
 * loaded, and the user could swap it. Every directory on the resolved
 * path must be root's and writable by no one else. */
static void test_symlink_target_directory_checked(void **state) {
        char target[512], link[512], dir[512];

        if (!secure_tmp)
                skip(); /* needs root (chown) and a private /tmp */

        make_dir("home", 0755);
        make_dir("home/user", 0755);
        path_of(dir, sizeof(dir), "home/user");
        write_file("home/user", "e.yaml", plan_text("e", "e.service"), 0644);
        assert_int_equal(chown(dir, 65534, 65534), 0);
        make_dir("evil", 0755);
        path_of(target, sizeof(target), "home/user/e.yaml");
        path_of(link, sizeof(link), "evil/evil.yaml");
        assert_int_equal(symlink(target, link), 0);
        expect_one_error("evil", PLAN_LOAD_SECURE, "evil.yaml", "home/user on its path is not owned by root (uid 65534)");

        /* A directory higher up counts too. */
        make_dir("deep", 0755);
        make_dir("deep/a", 0755);
        make_dir("deep/a/b", 0755);
        write_file("deep/a/b", "d.yaml", plan_text("d", "d.service"), 0644);
        path_of(dir, sizeof(dir), "deep/a");
        assert_int_equal(chmod(dir, 0777), 0);
        make_dir("deeplink", 0755);
        path_of(target, sizeof(target), "deep/a/b/d.yaml");
        path_of(link, sizeof(link), "deeplink/d.yaml");
        assert_int_equal(symlink(target, link), 0);
        expect_one_error("deeplink", PLAN_LOAD_SECURE, "d.yaml", "deep/a on its path is writable by others (mode 0777)");

        /* The directory holding the name, when it is itself a symlink. */
        make_dir("udir", 0755);
        write_file("udir", "u.yaml", plan_text("u", "u.service"), 0644);
        path_of(dir, sizeof(dir), "udir");
        assert_int_equal(chown(dir, 65534, 65534), 0);
        path_of(link, sizeof(link), "udirlink");
        assert_int_equal(symlink(dir, link), 0);
        expect_one_error("udirlink", PLAN_LOAD_SECURE, "u.yaml", "udir on its path is not owned by root");

        /* A sticky world-writable directory (like /tmp) is not safe either:
         * anyone can plant a name in it. */
        make_dir("sticky", 01777);
        write_file("sticky", "s.yaml", plan_text("s", "s.service"), 0644);
        expect_one_error("sticky", PLAN_LOAD_SECURE, "s.yaml", "sticky on its path is writable by others (mode 1777)");

        /* A link on the way, in a user's directory: whoever can replace
         * it chooses what the plan name means. */
        make_dir("hop", 0755);
        make_dir("hoplib", 0755);
        write_file("hoplib", "h.yaml", plan_text("h", "h.service"), 0644);
        path_of(dir, sizeof(dir), "hop");
        assert_int_equal(chown(dir, 65534, 65534), 0);
        path_of(target, sizeof(target), "hoplib/h.yaml");
        path_of(link, sizeof(link), "hop/h.yaml");
        assert_int_equal(symlink(target, link), 0);
        make_dir("hoplink", 0755);
        path_of(target, sizeof(target), "hop/h.yaml");
        path_of(link, sizeof(link), "hoplink/h.yaml");
        assert_int_equal(symlink(target, link), 0);
        expect_one_error("hoplink", PLAN_LOAD_SECURE, "h.yaml", "hop on its path is not owned by root");

        /* Likewise a symlinked directory on the way, relative links
         * included. */
        make_dir("udir2", 0755);
        path_of(dir, sizeof(dir), "udir2");
        assert_int_equal(chown(dir, 65534, 65534), 0);
        path_of(link, sizeof(link), "udir2/lib");
        assert_int_equal(symlink("../hoplib", link), 0);
        make_dir("dirhop", 0755);
        path_of(link, sizeof(link), "dirhop/h.yaml");
        assert_int_equal(symlink("../udir2/lib/h.yaml", link), 0);
        expect_one_error("dirhop", PLAN_LOAD_SECURE, "h.yaml", "udir2 on its path is not owned by root");

        /* A symlink to a root-owned file in root's directories is fine. */
        {
                _cleanup_(plan_set_freep) PlanSet *s = NULL;
                char good[512];
                const char *dirs[] = { good, NULL };
                Diagnostics d = {};

                make_dir("lib", 0755);
                write_file("lib", "g.yaml", plan_text("g", "g.service"), 0644);
                make_dir("good", 0755);
                path_of(target, sizeof(target), "lib/g.yaml");
                path_of(link, sizeof(link), "good/g.yaml");
                assert_int_equal(symlink(target, link), 0);
                path_of(good, sizeof(good), "good");
                assert_int_equal(plan_set_load_dirs(dirs, PLAN_LOAD_SECURE, &d, &s), 0);
                diagnostics_print(&d, stderr);
                assert_int_equal(d.n_errors, 0);
                assert_int_equal(s->n_plans, 1);
        }
}

/* salved's reload: the same set, loaded one file per step, and freed in
 * pieces. */
static void test_loader_in_steps(void **state) {
        char etc[512], usr[512];
        const char *dirs[] = { etc, usr, NULL };
        _cleanup_(plan_set_loader_freep) PlanSetLoader *l = NULL;
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        Diagnostics d = {};
        unsigned steps = 0;
        int r;

        make_dir("step-etc", 0755);
        make_dir("step-usr", 0755);
        path_of(etc, sizeof(etc), "step-etc");
        path_of(usr, sizeof(usr), "step-usr");
        write_file("step-usr", "a.yaml", plan_text("a", "vendor.service"), 0644);
        write_file("step-etc", "a.yaml", plan_text("a", "local.service"), 0644);
        write_file("step-usr", "b.yaml", plan_text("b", "b.service"), 0644);
        write_file("step-usr", "c.yaml", "plan: c\nsteps: [\n", 0644);

        assert_int_equal(plan_set_loader_new(dirs, 0, &d, &l), 0);
        assert_int_equal(plan_set_loader_remaining(l), 3);
        assert_int_equal(plan_set_loader_finish(l, &s), -EBUSY);
        while ((r = plan_set_loader_step(l, 0)) > 0)
                steps++;
        assert_int_equal(r, 0);
        assert_int_equal(steps, 2); /* one file per step: two more after the first */
        assert_int_equal(plan_set_loader_finish(l, &s), 0);
        assert_int_equal(s->n_plans, 2);
        assert_int_equal(d.n_errors, 1);
        assert_string_equal(step_get_string(plan_set_find(s, "a")->steps, "unit"), "local.service");

        assert_false(plan_set_free_some(s, 0));
        assert_int_equal(s->n_plans, 1);
        assert_true(plan_set_free_some(s, 0));
        assert_int_equal(s->n_plans, 0);
        diagnostics_done(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_precedence_and_masking),
                cmocka_unit_test(test_duplicate_names_and_bad_files),
                cmocka_unit_test(test_insecure_files_refused),
                cmocka_unit_test(test_fifo_refused),
                cmocka_unit_test(test_symlink_target_directory_checked),
                cmocka_unit_test(test_loader_in_steps),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
