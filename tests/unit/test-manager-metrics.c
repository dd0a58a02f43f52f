/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salved's metrics file (manager-metrics.c) from a Manager on a private
 * loop with a fake executor: written once at start and never again while
 * nothing changes (no timer left armed), one write for a burst of
 * transitions, at most one per MANAGER_METRICS_MIN_INTERVAL; a run with a
 * failed attempt and a retry counted and timed; a missing directory
 * costs nothing and the file appears once the directory does; promtool
 * accepts the file. Also prints what a write costs with 100 runs in the
 * store. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include "manager-metrics.h"
#include "manager.h"
#include "run-store.h"

/* ---- a fake executor: jobs wait until the test ends them ---- */

#define FAKE_MAX 16

struct ExecJob {
        Executor *e;
        char *step;
        exec_done_cb cb;
        void *userdata;
};

struct Executor {
        ExecJob *jobs[FAKE_MAX];
};

static int fake_add(Executor *e, const char *step, exec_done_cb cb, void *userdata, ExecJob **ret) {
        for (size_t i = 0; i < FAKE_MAX; i++)
                if (!e->jobs[i]) {
                        ExecJob *j = calloc(1, sizeof(ExecJob));
                        assert_non_null(j);
                        *j = (ExecJob) { .e = e, .step = strdup(step), .cb = cb, .userdata = userdata };
                        e->jobs[i] = *ret = j;
                        return 0;
                }
        return -EBUSY;
}

static void fake_drop(ExecJob *j) {
        for (size_t i = 0; i < FAKE_MAX; i++)
                if (j->e->jobs[i] == j)
                        j->e->jobs[i] = NULL;
        free(j->step);
        free(j);
}

static int fake_start(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                      exec_done_cb cb, void *userdata, ExecJob **ret) {
        return fake_add(e, step->id, cb, userdata, ret);
}
static int fake_resume(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                       usec_t started, exec_done_cb cb, void *userdata, ExecJob **ret) {
        return fake_add(e, step->id, cb, userdata, ret);
}
static int fake_start_check(Executor *e, const char *run_id, const Step *step, unsigned attempt, exec_done_cb cb,
                            void *userdata, ExecJob **ret) {
        return fake_add(e, step->id, cb, userdata, ret);
}
static int fake_check_condition(Executor *e, const Condition *c, const char *trigger, exec_done_cb cb,
                                void *userdata, ExecJob **ret) {
        return fake_add(e, "when", cb, userdata, ret);
}
static void fake_release_unit(Executor *e, const char *unit) {
}
static int fake_list_units(Executor *e, const char *pattern, exec_units_cb cb, void *userdata) {
        return 0;
}
static void fake_job_cancel(ExecJob *j) {
        fake_drop(j);
}
static bool fake_job_owns_unit(const ExecJob *j, const char *unit) {
        return false;
}
static Executor *fake_free(Executor *e) {
        for (size_t i = 0; i < FAKE_MAX; i++)
                if (e->jobs[i])
                        fake_drop(e->jobs[i]);
        return mfree(e);
}

static const ExecutorOps fake_ops = {
        .start = fake_start,
        .resume = fake_resume,
        .start_check = fake_start_check,
        .check_condition = fake_check_condition,
        .release_unit = fake_release_unit,
        .list_units = fake_list_units,
        .job_cancel = fake_job_cancel,
        .job_owns_unit = fake_job_owns_unit,
        .free = fake_free,
};

static bool fake_finish(Executor *e, const char *step, bool ok) {
        for (size_t i = 0; i < FAKE_MAX; i++) {
                ExecJob *j = e->jobs[i];
                if (j && streq(j->step, step)) {
                        ExecResult res = { .outcome = ok ? EXEC_SUCCEEDED : EXEC_FAILED, .exit_status = ok ? 0 : 3,
                                           .message = ok ? "done" : "exit status 3" };
                        j->cb(j, &res, j->userdata);
                        fake_drop(j);
                        return true;
                }
        }
        return false;
}

/* ---- the rig ---- */

typedef struct Rig {
        char dir[64], metrics[200];
        sd_event *event;
        Manager *m;
        Executor *fake;
} Rig;

static void put(const char *dir, const char *name, const char *text) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void rig_new(Rig *rig, bool metrics_dir) {
        char sub[160];

        *rig = (Rig) {};
        strcpy(rig->dir, "/tmp/salve-test-metrics-XXXXXX");
        assert_non_null(mkdtemp(rig->dir));
        snprintf(sub, sizeof(sub), "%s/plans", rig->dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        put(sub, "retry.yaml",
            "plan: retry\nsteps:\n"
            "  - {id: a, run: exec, with: {command: [/bin/false]}, retry: {attempts: 2, backoff: 10ms}}\n"
            "  - {id: b, needs: [a], run: exec, with: {command: [/bin/true]}}\n");
        put(sub, "one.yaml", "plan: one\nsteps:\n  - {id: s, run: exec, with: {command: [/bin/true]}}\n");
        snprintf(sub, sizeof(sub), "%s/state", rig->dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        snprintf(sub, sizeof(sub), "%s/textfile", rig->dir);
        if (metrics_dir)
                assert_int_equal(mkdir(sub, 0755), 0);
        snprintf(rig->metrics, sizeof(rig->metrics), "%s/salve.prom", sub);

        rig->fake = calloc(1, sizeof(Executor));
        assert_non_null(rig->fake);
        assert_int_equal(sd_event_new(&rig->event), 0);
        assert_int_equal(manager_new(rig->event, NULL, &rig->m), 0);
        manager_set_executor(rig->m, &fake_ops, rig->fake);
        free(rig->m->state_dir);
        free(rig->m->runtime_dir);
        snprintf(sub, sizeof(sub), "%s/state", rig->dir);
        rig->m->state_dir = strdup(sub);
        snprintf(sub, sizeof(sub), "%s/run", rig->dir);
        rig->m->runtime_dir = strdup(sub);
        snprintf(sub, sizeof(sub), "%s/plans", rig->dir);
        assert_int_equal(strv_extend(&rig->m->plan_dirs, sub), 0);
        rig->m->metrics_path = strdup(rig->metrics);
        assert_non_null(rig->m->metrics_path);
        assert_int_equal(manager_startup(rig->m), 0);
}

static void rig_free(Rig *rig) {
        char cmd[128];

        rig->m = manager_free(rig->m);
        rig->event = sd_event_unref(rig->event);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rig->dir);
        assert_int_equal(system(cmd), 0);
}

/* Dispatches until nothing is pending now. */
static void settle(Rig *rig) {
        for (unsigned i = 0; i < 10000; i++)
                if (sd_event_run(rig->event, 0) == 0)
                        return;
        fail_msg("the event loop never went idle");
}

/* Runs the loop (timers too) for about usec. */
static void run_for(Rig *rig, usec_t usec) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + usec, now;

        while ((now = now_usec(CLOCK_MONOTONIC)) < end)
                assert_true(sd_event_run(rig->event, end - now) >= 0);
}

static char *slurp(const char *path) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = fopen(path, "re");

        assert_non_null(f);
        assert_true(getdelim(&s, &n, 0, f) > 0);
        fclose(f);
        return s;
}

static bool has_line(const char *text, const char *line) {
        size_t n = strlen(line);
        for (const char *p = text; (p = strstr(p, line)); p += n)
                if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
                        return true;
        return false;
}

/* ---- tests ---- */

static void test_written_when_changed(void **state) {
        _cleanup_free_ char *id = NULL, *text = NULL;
        struct stat st;
        Rig rig;

        rig_new(&rig, true);
        assert_int_equal(manager_metrics_writes(rig.m), 0);     /* nothing before the loop runs */
        settle(&rig);
        assert_int_equal(manager_metrics_writes(rig.m), 1);
        assert_int_equal(stat(rig.metrics, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        text = slurp(rig.metrics);
        assert_true(has_line(text, "salve_runs_total{plan=\"retry\",state=\"succeeded\"} 0"));
        assert_true(has_line(text, "salve_plans_loaded 2"));
        text = mfree(text);

        /* Idle: nothing is armed, nothing is written. */
        run_for(&rig, 300 * USEC_PER_MSEC);
        assert_int_equal(manager_metrics_writes(rig.m), 1);

        /* A burst (created, a running; many transitions) is one write. */
        assert_int_equal(manager_start_run(rig.m, "retry", "manual", NULL, 0, NULL, &id), 0);
        settle(&rig);
        run_for(&rig, 2 * MANAGER_METRICS_MIN_INTERVAL);
        assert_int_equal(manager_metrics_writes(rig.m), 2);
        text = slurp(rig.metrics);
        assert_true(has_line(text, "salve_runs{plan=\"retry\",state=\"running\"} 1"));
        assert_true(has_line(text, "salve_runs_started_total{plan=\"retry\"} 1"));
        text = mfree(text);

        /* a fails, is retried after 10 ms, succeeds; then b. */
        assert_true(fake_finish(rig.fake, "a", false));
        for (unsigned i = 0; i < 100 && !fake_finish(rig.fake, "a", true); i++)
                run_for(&rig, 10 * USEC_PER_MSEC);
        settle(&rig);
        assert_true(fake_finish(rig.fake, "b", true));
        settle(&rig);
        assert_true(run_is_finished(run_store_find(rig.m->store, id)));
        run_for(&rig, 2 * MANAGER_METRICS_MIN_INTERVAL);
        text = slurp(rig.metrics);
        assert_true(has_line(text, "salve_runs_total{plan=\"retry\",state=\"succeeded\"} 1"));
        assert_true(has_line(text, "salve_runs{plan=\"retry\",state=\"running\"} 0"));
        assert_true(has_line(text, "salve_step_duration_seconds_count{kind=\"exec\",outcome=\"failed\"} 1"));
        assert_true(has_line(text, "salve_step_duration_seconds_count{kind=\"exec\",outcome=\"succeeded\"} 2"));
        /* Six transitions in four bursts (a's failure; its retry; a's
         * success with b's start; b's success with the run's end): at most
         * a write each, at least the first and the last (a loaded machine
         * spreads them, so no exact count). */
        assert_true(manager_metrics_writes(rig.m) >= 4);
        assert_true(manager_metrics_writes(rig.m) <= 6);

        /* And idle again: no more writes. */
        {
                uint64_t w = manager_metrics_writes(rig.m);
                run_for(&rig, 300 * USEC_PER_MSEC);
                assert_int_equal(manager_metrics_writes(rig.m), w);
        }
        rig_free(&rig);
}

static void test_rate_limit(void **state) {
        usec_t t0;
        Rig rig;

        rig_new(&rig, true);
        settle(&rig);
        assert_int_equal(manager_metrics_writes(rig.m), 1);
        /* A change every 5 ms for 500 ms: at most one write per 100 ms. */
        t0 = now_usec(CLOCK_MONOTONIC);
        while (now_usec(CLOCK_MONOTONIC) < t0 + 500 * USEC_PER_MSEC) {
                manager_metrics_watch_event(rig.m, "units");
                run_for(&rig, 5 * USEC_PER_MSEC);
        }
        run_for(&rig, 2 * MANAGER_METRICS_MIN_INTERVAL);
        print_message("a change every 5 ms for 500 ms: %" PRIu64 " writes\n", manager_metrics_writes(rig.m) - 1);
        /* 500 ms at one write per 100 ms, and the last after it: at most 6;
         * fewer on a loaded machine, never one per change. */
        assert_true(manager_metrics_writes(rig.m) - 1 >= 2);
        assert_true(manager_metrics_writes(rig.m) - 1 <= 6);
        rig_free(&rig);
}

static int on_busy(sd_event_source *s, uint64_t usec, void *userdata) {
        (*(unsigned *) userdata)++;
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);      /* due again at once */
}

/* A loop that is always busy (a timer due again as soon as it fired)
 * still gets the file written, once. */
static void test_busy_loop(void **state) {
        sd_event_source *busy = NULL;
        unsigned fired = 0;
        Rig rig;

        rig_new(&rig, true);
        settle(&rig);
        assert_int_equal(manager_metrics_writes(rig.m), 1);
        assert_int_equal(sd_event_add_time(rig.event, &busy, CLOCK_MONOTONIC, 1, 0, on_busy, &fired), 0);
        run_for(&rig, 2 * MANAGER_METRICS_MIN_INTERVAL);
        manager_metrics_watch_event(rig.m, "block");
        run_for(&rig, 2 * MANAGER_METRICS_MIN_INTERVAL);
        assert_int_equal(manager_metrics_writes(rig.m), 2);
        assert_true(fired > 100);
        sd_event_source_disable_unref(busy);
        rig_free(&rig);
}

static void test_no_directory(void **state) {
        char dir[160];
        Rig rig;

        rig_new(&rig, false);
        settle(&rig);
        assert_int_equal(manager_metrics_writes(rig.m), 0);
        assert_int_equal(access(rig.metrics, F_OK), -1);
        /* Changes while it is missing write nothing, and do not fail. */
        for (unsigned i = 0; i < 50; i++) {
                manager_metrics_watch_event(rig.m, "links");
                settle(&rig);
        }
        assert_int_equal(access(rig.metrics, F_OK), -1);
        /* The directory appears (node_exporter installed): the next change writes. */
        snprintf(dir, sizeof(dir), "%s/textfile", rig.dir);
        assert_int_equal(mkdir(dir, 0755), 0);
        manager_metrics_changed(rig.m);
        run_for(&rig, 2 * MANAGER_METRICS_MIN_INTERVAL);
        assert_int_equal(manager_metrics_writes(rig.m), 1);
        assert_int_equal(access(rig.metrics, F_OK), 0);
        rig_free(&rig);
}

static void test_promtool_and_cost(void **state) {
        _cleanup_free_ char *cmd = NULL, *text = NULL;
        struct timespec a, b;
        const unsigned n = 200;
        double per;
        Rig rig;

        if (system("command -v promtool >/dev/null 2>&1") != 0)
                fail_msg("promtool is not installed (Debian package prometheus; tools/install-deps.sh installs it)");
        rig_new(&rig, true);
        settle(&rig);
        for (unsigned i = 0; i < 100; i++) {
                _cleanup_free_ char *id = NULL;
                assert_int_equal(manager_start_run(rig.m, "one", "manual", NULL, 0, NULL, &id), 0);
                settle(&rig);
                assert_true(fake_finish(rig.fake, "s", true));
                settle(&rig);
        }
        assert_int_equal(rig.m->store->n_runs, 100);
        run_for(&rig, 2 * MANAGER_METRICS_MIN_INTERVAL);
        text = slurp(rig.metrics);
        assert_true(has_line(text, "salve_runs_total{plan=\"one\",state=\"succeeded\"} 100"));
        assert_true(asprintf(&cmd, "promtool check metrics < '%s'", rig.metrics) > 0);
        assert_int_equal(WEXITSTATUS(system(cmd)), 0);

        /* What one write costs: render and replace the file. */
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (unsigned i = 0; i < n; i++) {
                manager_metrics_changed(rig.m);
                assert_int_equal(manager_metrics_flush(rig.m), 1);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        per = ((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3) / n;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ char *s = NULL;
                assert_int_equal(manager_metrics_render(rig.m, &s, NULL), 0);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        print_message("metrics write with 100 runs in the store: %.0f us, of which rendering %.0f us (%zu bytes)\n",
                      per, ((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3) / n, strlen(text));
        rig_free(&rig);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_written_when_changed),
                cmocka_unit_test(test_rate_limit),
                cmocka_unit_test(test_busy_loop),
                cmocka_unit_test(test_no_directory),
                cmocka_unit_test(test_promtool_and_cost),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
