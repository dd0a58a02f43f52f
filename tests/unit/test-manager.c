/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Manager on a private event loop, with no bus and a fake executor:
 * steps run in order, each result is journaled before the next step
 * starts, listeners hear every transition in order, triggers join or
 * queue, a Manager freed mid-step resumes in a second one from the same
 * journal, and two Managers live side by side. The fake executor stands
 * in for systemd only: it records what the Manager asked and lets the
 * test decide how each job ends. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "manager-holds.h"
#include "manager.h"
#include "run-store.h"

/* ---- the fake executor ---- */

#define FAKE_MAX_JOBS 32

struct ExecJob {
        Executor *executor;
        char *what;                     /* "start:STEP:ATTEMPT", "resume:...", "when:STEP", "done-if:..." */
        char *step;
        exec_done_cb cb;
        void *userdata;
};

struct Executor {
        ExecJob *jobs[FAKE_MAX_JOBS];
        char **log;                     /* every call, in order */
};

static void fake_log(Executor *e, const char *format, ...) _printf_(2, 3);
static void fake_log(Executor *e, const char *format, ...) {
        char *s = NULL;
        va_list ap;

        va_start(ap, format);
        assert_true(vasprintf(&s, format, ap) >= 0);
        va_end(ap);
        assert_int_equal(strv_push(&e->log, s), 0);
}

static int fake_add(Executor *e, const char *what, const char *step, exec_done_cb cb, void *userdata,
                    ExecJob **ret_job) {
        for (size_t i = 0; i < FAKE_MAX_JOBS; i++)
                if (!e->jobs[i]) {
                        ExecJob *j = calloc(1, sizeof(ExecJob));
                        assert_non_null(j);
                        *j = (ExecJob) { .executor = e, .what = strdup(what), .step = strdup(step), .cb = cb,
                                         .userdata = userdata };
                        e->jobs[i] = *ret_job = j;
                        fake_log(e, "%s", what);
                        return 0;
                }
        return -EBUSY;
}

static void fake_drop(ExecJob *j) {
        for (size_t i = 0; i < FAKE_MAX_JOBS; i++)
                if (j->executor->jobs[i] == j)
                        j->executor->jobs[i] = NULL;
        free(j->what);
        free(j->step);
        free(j);
}

/* test_holds: a step that starts a held unit must find it released
 * (its gate file gone) by the time the executor is asked to start it. */
static const char *gates_dir_at_start;

static int fake_start(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                      exec_done_cb cb, void *userdata, ExecJob **ret_job) {
        char what[128];

        if (gates_dir_at_start && step->kind == STEP_UNIT_START) {
                char path[256];
                snprintf(path, sizeof(path), "%s/%s", gates_dir_at_start, step_get_string(step, "unit"));
                assert_int_equal(access(path, F_OK), -1);
        }
        snprintf(what, sizeof(what), "start:%s:%u", step->id, attempt);
        return fake_add(e, what, step->id, cb, userdata, ret_job);
}

static int fake_resume(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                       usec_t started, exec_done_cb cb, void *userdata, ExecJob **ret_job) {
        char what[128];
        snprintf(what, sizeof(what), "resume:%s:%u", step->id, attempt);
        return fake_add(e, what, step->id, cb, userdata, ret_job);
}

static int fake_start_check(Executor *e, const char *run_id, const Step *step, unsigned attempt, exec_done_cb cb,
                            void *userdata, ExecJob **ret_job) {
        char what[128];
        snprintf(what, sizeof(what), "done-if:%s:%u", step->id, attempt);
        return fake_add(e, what, step->id, cb, userdata, ret_job);
}

static int fake_check_condition(Executor *e, const Condition *c, const char *trigger, exec_done_cb cb,
                                void *userdata, ExecJob **ret_job) {
        return fake_add(e, "when", "?", cb, userdata, ret_job);
}

static void fake_release_unit(Executor *e, const char *unit) {
        if (unit)
                fake_log(e, "release:%s", unit);
}

static int fake_list_units(Executor *e, const char *pattern, exec_units_cb cb, void *userdata) {
        fake_log(e, "list:%s", pattern);
        return 0;
}

static void fake_job_cancel(ExecJob *j) {
        fake_log(j->executor, "cancel:%s", j->what);
        fake_drop(j);
}

static bool fake_job_owns_unit(const ExecJob *j, const char *unit) {
        return false;
}

static Executor *fake_free(Executor *e) {
        for (size_t i = 0; i < FAKE_MAX_JOBS; i++)
                if (e->jobs[i])
                        fake_drop(e->jobs[i]);
        strv_free(e->log);
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

/* Ends the job whose description is `what` as the step would end. */
static void fake_finish(Executor *e, const char *what, ExecOutcome outcome, int exit_status) {
        for (size_t i = 0; i < FAKE_MAX_JOBS; i++) {
                ExecJob *j = e->jobs[i];
                if (j && streq(j->what, what)) {
                        ExecResult res = { .outcome = outcome, .exit_status = exit_status,
                                           .message = outcome == EXEC_SUCCEEDED ? "done" : "exit status 3" };
                        j->cb(j, &res, j->userdata);
                        fake_drop(j);
                        return;
                }
        }
        fail_msg("no job \"%s\"", what);
}

static bool fake_has(Executor *e, const char *what) {
        for (size_t i = 0; i < FAKE_MAX_JOBS; i++)
                if (e->jobs[i] && streq(e->jobs[i]->what, what))
                        return true;
        return false;
}

/* ---- a Manager in a temp dir ---- */

typedef struct Rig {
        char dir[64];
        sd_event *event;
        Manager *m;
        Executor *fake;
        char **heard;                   /* what the test listener heard */
} Rig;

static const char *plan_chain =
        "plan: chain\nconcurrency: join\nsteps:\n"
        "  - {id: a, run: exec, with: {command: [/bin/true]}}\n"
        "  - {id: b, needs: [a], run: exec, with: {command: [/bin/true]}}\n";
static const char *plan_queue =
        "plan: queued\nconcurrency: queue\nsteps:\n"
        "  - {id: only, run: exec, with: {command: [/bin/true]}}\n";
static const char *plan_when =
        "plan: when\nsteps:\n"
        "  - {id: maybe, run: exec, with: {command: [/bin/true]}, when: {path-exists: /nonexistent}}\n"
        "  - {id: after, needs: [maybe], run: exec, with: {command: [/bin/true]}}\n";

static const char *plan_services =
        "plan: svc\nconcurrency: join\n"
        "trigger:\n  - unit: {name: \"*.service\", state: failed}\n"
        "trigger-limit: {burst: 2, interval: 1h}\n"
        "steps:\n  - {id: s, run: unit.restart, with: {unit: \"${trigger.unit}\"}}\n";
static const char *plan_settle =
        "plan: settle\nsettle: 50ms\n"
        "trigger:\n  - link: {name: \"salvetest*\", state: down}\n"
        "steps:\n  - {id: s, run: exec, with: {command: [/bin/echo, \"${trigger.link}\"]}}\n";
static const char *plan_unarmed =
        "plan: unarmed\narmed: false\n"
        "trigger:\n  - unit: {name: \"*.service\", state: failed}\n"
        "steps:\n  - {id: s, run: unit.restart, with: {unit: \"${trigger.unit}\"}}\n";

static const char *plan_held =
        "plan: held\nholds: [db.service, api.service]\nsteps:\n"
        "  - {id: a, run: exec, with: {command: [/bin/true]}}\n"
        "  - {id: db, needs: [a], run: unit.start, with: {unit: db.service}}\n"
        "  - {id: api, needs: [db], run: exec, with: {command: [/bin/true]}, release: [api.service]}\n";
static const char *plan_held_off =
        "plan: held-off\narmed: false\nholds: [off.service]\nsteps:\n"
        "  - {id: a, run: exec, with: {command: [/bin/true]}}\n";

static void write_file(const char *dir, const char *name, const char *text) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void on_heard(Manager *m, const Run *r, const Transition *t, void *userdata) {
        Rig *rig = userdata;
        char *s = NULL;

        switch (t->kind) {
        case TRANSITION_RUN_CREATED:
                assert_true(asprintf(&s, "created %s", r->id) >= 0);
                break;
        case TRANSITION_STEP:
                assert_true(asprintf(&s, "%s %s", t->step_id, step_state_to_string(t->state)) >= 0);
                break;
        case TRANSITION_RUN_FINISHED:
                assert_true(asprintf(&s, "finished %s %s", r->id, run_state_to_string(t->run_state)) >= 0);
                break;
        default:
                return;
        }
        assert_int_equal(strv_push(&rig->heard, s), 0);
}

static void rig_open(Rig *rig, const char *dir) {
        char sub[128];

        rig->fake = calloc(1, sizeof(Executor));
        assert_non_null(rig->fake);
        assert_int_equal(sd_event_new(&rig->event), 0);
        assert_int_equal(manager_new(rig->event, NULL, &rig->m), 0);
        manager_set_executor(rig->m, &fake_ops, rig->fake);
        free(rig->m->state_dir);
        free(rig->m->runtime_dir);
        snprintf(sub, sizeof(sub), "%s/state", dir);
        rig->m->state_dir = strdup(sub);
        snprintf(sub, sizeof(sub), "%s/run", dir);
        rig->m->runtime_dir = strdup(sub);
        snprintf(sub, sizeof(sub), "%s/plans", dir);
        assert_int_equal(strv_extend(&rig->m->plan_dirs, sub), 0);
        assert_int_equal(manager_add_listener(rig->m, &(const ManagerListener) { "test", on_heard, rig }), 0);
        assert_int_equal(manager_startup(rig->m), 0);
}

static void rig_new(Rig *rig) {
        char sub[128];

        *rig = (Rig) {};
        strcpy(rig->dir, "/tmp/salve-test-manager-XXXXXX");
        assert_non_null(mkdtemp(rig->dir));
        snprintf(sub, sizeof(sub), "%s/plans", rig->dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        snprintf(sub, sizeof(sub), "%s/state", rig->dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        snprintf(sub, sizeof(sub), "%s/plans", rig->dir);
        write_file(sub, "chain.yaml", plan_chain);
        write_file(sub, "queued.yaml", plan_queue);
        write_file(sub, "when.yaml", plan_when);
        write_file(sub, "svc.yaml", plan_services);
        write_file(sub, "settle.yaml", plan_settle);
        write_file(sub, "unarmed.yaml", plan_unarmed);
        write_file(sub, "held.yaml", plan_held);
        write_file(sub, "held-off.yaml", plan_held_off);
        rig_open(rig, rig->dir);
}

/* Frees the Manager (as a crash would leave the journal) but keeps the dir. */
static void rig_close(Rig *rig) {
        rig->m = manager_free(rig->m);          /* frees the fake too */
        rig->event = sd_event_unref(rig->event);
        rig->heard = strv_free(rig->heard);
}

static void rig_free(Rig *rig) {
        char cmd[128];

        rig_close(rig);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rig->dir);
        assert_int_equal(system(cmd), 0);
}

/* Runs the loop until nothing is left to dispatch now. */
static void settle(Rig *rig) {
        for (unsigned i = 0; i < 1000; i++)
                if (sd_event_run(rig->event, 0) == 0)
                        return;
        fail_msg("the event loop never went idle");
}

static const Run *run_of(Rig *rig, const char *id) {
        const Run *r = run_store_find(rig->m->store, id);
        assert_non_null(r);
        return r;
}

static void assert_heard(Rig *rig, const char *const *expected) {
        size_t n = 0;
        for (; expected[n]; n++) {
                assert_non_null(rig->heard);
                assert_non_null(rig->heard[n]);
                assert_string_equal(rig->heard[n], expected[n]);
        }
        assert_null(rig->heard ? rig->heard[n] : NULL);
}

/* ---- tests ---- */

static void test_steps_run_in_order(void **state) {
        _cleanup_free_ char *id = NULL;
        Rig rig;

        rig_new(&rig);
        assert_int_equal(manager_start_run(rig.m, "chain", "manual", "test", 0, NULL, &id), 0);
        assert_string_equal(id, "chain-1");
        settle(&rig);
        assert_true(fake_has(rig.fake, "start:a:1"));
        assert_false(fake_has(rig.fake, "start:b:1"));          /* b needs a */

        fake_finish(rig.fake, "start:a:1", EXEC_SUCCEEDED, 0);
        settle(&rig);
        assert_true(fake_has(rig.fake, "start:b:1"));
        fake_finish(rig.fake, "start:b:1", EXEC_SUCCEEDED, 0);
        settle(&rig);
        assert_int_equal(run_state(run_of(&rig, id)), RUN_SUCCEEDED);
        assert_heard(&rig, STRV_MAKE_CONST("created chain-1", "a running", "a succeeded", "b running", "b succeeded",
                                           "finished chain-1 succeeded"));
        rig_free(&rig);
}

static void test_failure_and_retry(void **state) {
        _cleanup_free_ char *id = NULL;
        Rig rig;

        rig_new(&rig);
        assert_int_equal(manager_start_run(rig.m, "chain", "manual", NULL, 0, NULL, &id), 0);
        settle(&rig);
        fake_finish(rig.fake, "start:a:1", EXEC_FAILED, 3);
        settle(&rig);
        assert_int_equal(run_state(run_of(&rig, id)), RUN_FAILED);
        assert_false(fake_has(rig.fake, "start:b:1"));
        rig_free(&rig);
}

static void test_join_and_queue(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *q1 = NULL, *q2 = NULL, *q3 = NULL;
        Rig rig;

        rig_new(&rig);
        /* join: a second trigger while the run is active joins it */
        assert_int_equal(manager_start_run(rig.m, "chain", "manual", NULL, 0, NULL, &a), 0);
        assert_int_equal(manager_start_run(rig.m, "chain", "unit", NULL, 0, NULL, &b), 0);
        assert_string_equal(a, b);
        /* queue: one run waits behind the active one; more join the queued one */
        assert_int_equal(manager_start_run(rig.m, "queued", "manual", NULL, 0, NULL, &q1), 0);
        assert_int_equal(manager_start_run(rig.m, "queued", "manual", NULL, 0, NULL, &q2), 0);
        assert_int_equal(manager_start_run(rig.m, "queued", "manual", NULL, 0, NULL, &q3), 0);
        assert_string_not_equal(q1, q2);
        assert_string_equal(q2, q3);
        assert_true(run_store_is_queued(rig.m->store, run_of(&rig, q2)));
        settle(&rig);
        assert_true(fake_has(rig.fake, "start:only:1"));
        fake_finish(rig.fake, "start:only:1", EXEC_SUCCEEDED, 0);
        settle(&rig);
        /* the queued run goes once the first is over */
        assert_int_equal(run_state(run_of(&rig, q1)), RUN_SUCCEEDED);
        assert_false(run_store_is_queued(rig.m->store, run_of(&rig, q2)));
        assert_true(fake_has(rig.fake, "start:only:1"));
        assert_int_equal(manager_start_run(rig.m, "nope", "manual", NULL, 0, NULL, NULL), -ENOENT);
        rig_free(&rig);
}

static void test_when_skip_is_proposed(void **state) {
        _cleanup_free_ char *id = NULL;
        Rig rig;

        rig_new(&rig);
        assert_int_equal(manager_start_run(rig.m, "when", "manual", NULL, 0, NULL, &id), 0);
        settle(&rig);
        assert_true(fake_has(rig.fake, "when"));
        fake_finish(rig.fake, "when", EXEC_FAILED, -1);         /* the condition does not hold */
        settle(&rig);
        assert_int_equal(run_of(&rig, id)->steps[0].state, STEP_SKIPPED);
        assert_true(fake_has(rig.fake, "start:after:1"));
        rig_free(&rig);
}

static void test_resume_in_a_second_manager(void **state) {
        _cleanup_free_ char *id = NULL;
        Rig rig;

        rig_new(&rig);
        assert_int_equal(manager_start_run(rig.m, "chain", "manual", NULL, 0, NULL, &id), 0);
        settle(&rig);
        assert_true(fake_has(rig.fake, "start:a:1"));
        rig_close(&rig);                        /* salved goes away while a runs */

        rig_open(&rig, rig.dir);                /* the next salved, same journal */
        settle(&rig);
        assert_true(fake_has(rig.fake, "resume:a:1"));          /* reconciled, not started again */
        assert_false(fake_has(rig.fake, "start:a:1"));
        assert_false(fake_has(rig.fake, "start:a:2"));
        fake_finish(rig.fake, "resume:a:1", EXEC_SUCCEEDED, 0);
        settle(&rig);
        assert_true(fake_has(rig.fake, "start:b:1"));
        fake_finish(rig.fake, "start:b:1", EXEC_SUCCEEDED, 0);
        settle(&rig);
        assert_int_equal(run_state(run_of(&rig, id)), RUN_SUCCEEDED);
        rig_free(&rig);
}

static bool gate_file(Rig *rig, const char *name, const char *contains) {
        char path[256], buf[1024] = "";
        FILE *f;

        snprintf(path, sizeof(path), "%s/run/gates/%s", rig->dir, name);
        f = fopen(path, "re");
        if (!f)
                return false;
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = 0;
        fclose(f);
        if (contains && !strstr(buf, contains))
                fail_msg("%s says \"%s\", not \"%s\"", name, buf, contains);
        return true;
}

/* Holds through the Manager: the gates directory follows the runs, a step
 * that starts a held unit releases it before it is started, a failed run
 * keeps what it holds, a person's release is journaled and outlives a
 * restart, and an unarmed plan holds nothing. */
static void test_holds(void **state) {
        _cleanup_free_ char *id = NULL, *id2 = NULL, *off = NULL;
        char gates[128];
        Rig rig;

        rig_new(&rig);
        snprintf(gates, sizeof(gates), "%s/run/gates", rig.dir);
        assert_true(gate_file(&rig, "ready", NULL));            /* decided at startup */
        assert_false(gate_file(&rig, "db.service", NULL));

        assert_int_equal(manager_start_run(rig.m, "held", "manual", "test", 0, NULL, &id), 0);
        settle(&rig);
        assert_true(gate_file(&rig, "db.service", "held by run held-"));
        assert_true(gate_file(&rig, "db.service", "until step db starts; step a is running"));
        assert_true(gate_file(&rig, "api.service", "until step api starts"));

        gates_dir_at_start = gates;
        fake_finish(rig.fake, "start:a:1", EXEC_SUCCEEDED, 0);
        settle(&rig);
        gates_dir_at_start = NULL;
        assert_true(fake_has(rig.fake, "start:db:1"));
        assert_false(gate_file(&rig, "db.service", NULL));      /* released by its step */
        assert_true(gate_file(&rig, "api.service", NULL));

        fake_finish(rig.fake, "start:db:1", EXEC_FAILED, 3);
        settle(&rig);
        assert_int_equal(run_state(run_of(&rig, id)), RUN_FAILED);
        assert_true(gate_file(&rig, "api.service", "because step db failed"));

        /* Not held by anyone: refused; held: released by a person. */
        assert_int_equal(manager_release_unit(rig.m, "db.service", "root", NULL), -ENOENT);
        assert_int_equal(manager_release_unit(rig.m, "api.service", "root", "checked"), 0);
        assert_false(gate_file(&rig, "api.service", NULL));
        assert_int_equal(run_of(&rig, id)->n_releases, 1u);

        /* An unarmed plan holds nothing. */
        assert_int_equal(manager_start_run(rig.m, "held-off", "manual", "test", 0, NULL, &off), 0);
        settle(&rig);
        assert_false(gate_file(&rig, "off.service", NULL));

        /* A new run holds again; a restart keeps both that and the release. */
        assert_int_equal(manager_start_run(rig.m, "held", "manual", "test", 0, NULL, &id2), 0);
        settle(&rig);
        assert_true(gate_file(&rig, "db.service", id2));
        rig_close(&rig);
        assert_true(gate_file(&rig, "db.service", id2));        /* nothing opens while salved is down */
        rig_open(&rig, rig.dir);
        settle(&rig);
        assert_true(gate_file(&rig, "db.service", id2));
        assert_true(gate_file(&rig, "api.service", id2));
        assert_int_equal(run_of(&rig, id)->n_releases, 1u);     /* replayed */
        rig_free(&rig);
}

static void test_two_managers(void **state) {
        _cleanup_free_ char *x = NULL, *y = NULL;
        Rig one, two;

        rig_new(&one);
        rig_new(&two);
        assert_int_equal(manager_start_run(one.m, "chain", "manual", NULL, 0, NULL, &x), 0);
        assert_int_equal(manager_start_run(two.m, "queued", "manual", NULL, 0, NULL, &y), 0);
        settle(&one);
        settle(&two);
        assert_true(fake_has(one.fake, "start:a:1"));
        assert_false(fake_has(one.fake, "start:only:1"));
        assert_true(fake_has(two.fake, "start:only:1"));
        fake_finish(two.fake, "start:only:1", EXEC_SUCCEEDED, 0);
        settle(&two);
        assert_int_equal(run_state(run_of(&two, y)), RUN_SUCCEEDED);
        assert_int_equal(run_state(run_of(&one, x)), RUN_RUNNING);
        rig_free(&one);
        rig_free(&two);
}

static void test_stop_without_bus(void **state) {
        Rig rig;

        rig_new(&rig);
        assert_int_equal(manager_stop(rig.m), 0);
        assert_int_equal(sd_event_loop(rig.event), 0);  /* returns: the stop left the loop */
        rig_free(&rig);
}

static size_t runs_of(Rig *rig, const char *plan) {
        size_t n = 0;
        for (size_t i = 0; i < rig->m->store->n_runs; i++)
                n += streq(rig->m->store->runs[i]->plan->name, plan);
        return n;
}

static const Run *last_run_of(Rig *rig, const char *plan) {
        const Run *r = NULL;
        for (size_t i = 0; i < rig->m->store->n_runs; i++)
                if (streq(rig->m->store->runs[i]->plan->name, plan))
                        r = rig->m->store->runs[i];
        assert_non_null(r);
        return r;
}

static void test_triggers_start_runs(void **state) {
        TriggerEvent ev = { .kind = TRIGGER_UNIT, .name = "web.service", .event = "failed", .result = "exit-code",
                            .occurrence = "web.service@1" };
        const Run *r;
        Rig rig;

        rig_new(&rig);
        manager_watch_event(rig.m, &ev);
        assert_int_equal(runs_of(&rig, "svc"), 1);
        r = last_run_of(&rig, "svc");
        assert_string_equal(r->trigger, "unit");
        assert_string_equal(r->reason, "web.service failed (exit-code)");
        assert_string_equal(step_get_string(r->plan->steps + 0, "unit"), "web.service");   /* expanded */
        assert_string_equal(r->instance, "unit=web.service");
        assert_int_equal(runs_of(&rig, "unarmed"), 0);                  /* armed: false */

        /* the same unit again joins; another unit runs beside it */
        ev.occurrence = "web.service@2";
        manager_watch_event(rig.m, &ev);
        assert_int_equal(runs_of(&rig, "svc"), 1);
        ev.name = "db.service";
        manager_watch_event(rig.m, &ev);
        assert_int_equal(runs_of(&rig, "svc"), 2);
        settle(&rig);
        assert_int_equal(run_state(last_run_of(&rig, "svc")), RUN_RUNNING);

        /* trigger-limit: burst 2 */
        ev.name = "third.service";
        manager_watch_event(rig.m, &ev);
        assert_int_equal(runs_of(&rig, "svc"), 2);
        assert_true(manager_plan_trigger_limited(rig.m, "svc", NULL));

        /* a plan that uses ${trigger.unit} cannot run by hand without it */
        assert_int_equal(manager_start_run(rig.m, "svc", "manual", NULL, 0, NULL, NULL), -ENXIO);
        {
                char *ctx[] = { (char *) "unit=x.service", NULL };
                _cleanup_free_ char *id = NULL;
                assert_int_equal(manager_start_run(rig.m, "svc", "manual", NULL, 0, ctx, &id), 0);
                assert_string_equal(step_get_string(run_of(&rig, id)->plan->steps, "unit"), "x.service");
        }
        rig_free(&rig);
}

static void test_initial_event_already_handled(void **state) {
        TriggerEvent ev = { .kind = TRIGGER_UNIT, .name = "web.service", .event = "failed", .result = "signal",
                            .occurrence = "web.service@1700000000", .initial = true };
        _cleanup_free_ char *id = NULL;
        Rig rig;

        rig_new(&rig);
        manager_watch_event(rig.m, &ev);                /* failed before salved started: fires */
        assert_int_equal(runs_of(&rig, "svc"), 1);
        id = strdup(last_run_of(&rig, "svc")->id);
        settle(&rig);
        fake_finish(rig.fake, "start:s:1", EXEC_SUCCEEDED, 0);
        settle(&rig);
        assert_int_equal(run_state(run_of(&rig, id)), RUN_SUCCEEDED);
        rig_close(&rig);

        rig_open(&rig, rig.dir);                        /* salved restarts: the unit is still failed */
        manager_watch_event(rig.m, &ev);
        assert_int_equal(runs_of(&rig, "svc"), 1);      /* the journal shows it was handled */
        ev.occurrence = "web.service@1700000999";       /* a new failure of it does fire */
        manager_watch_event(rig.m, &ev);
        assert_int_equal(runs_of(&rig, "svc"), 2);
        rig_free(&rig);
}

/* A boot plan's ${trigger.kind} and ${trigger.event} are set: the validator
 * lets a boot-only plan use them, so its runs must carry them. */
static void test_boot_trigger_context(void **state) {
        char path[128], cmd[160];
        const Run *r;
        Rig rig;

        rig_new(&rig);
        rig_close(&rig);
        snprintf(path, sizeof(path), "%s/plans", rig.dir);
        write_file(path, "bootvar.yaml",
                   "plan: bootvar\ntrigger:\n  - boot: any\n"
                   "steps:\n  - {id: s, run: exec, with: {command: [/bin/echo, \"${trigger.kind} ${trigger.event}\"]}}\n");
        snprintf(cmd, sizeof(cmd), "rm -rf '%s/run'", rig.dir);         /* a new boot */
        assert_int_equal(system(cmd), 0);
        rig_open(&rig, rig.dir);
        assert_int_equal(runs_of(&rig, "bootvar"), 1);
        r = last_run_of(&rig, "bootvar");
        assert_string_equal(r->trigger, "boot");
        /* the first Manager never saw a shutdown: the previous "boot" ended uncleanly */
        assert_string_equal(step_get_arg(r->plan->steps, "command")->strv[1], "boot unclean");
        rig_free(&rig);
}

static void test_settle_gathers_a_burst(void **state) {
        TriggerEvent ev = { .kind = TRIGGER_LINK, .name = "salvetest0", .event = "down" };
        const Run *r;
        Rig rig;

        rig_new(&rig);
        manager_watch_event(rig.m, &ev);
        manager_watch_event(rig.m, &ev);
        ev.event = "down";
        manager_watch_event(rig.m, &ev);
        ev.name = "salvetest1";                 /* another link: its own burst, its own run */
        manager_watch_event(rig.m, &ev);
        assert_int_equal(runs_of(&rig, "settle"), 0);   /* waiting for the bursts to end */
        for (unsigned i = 0; i < 50 && runs_of(&rig, "settle") < 2; i++)
                assert_true(sd_event_run(rig.event, 100 * 1000) >= 0);
        assert_int_equal(runs_of(&rig, "settle"), 2);
        for (size_t i = 0; i < rig.m->store->n_runs; i++) {
                r = rig.m->store->runs[i];
                if (!streq(r->plan->name, "settle"))
                        continue;
                if (streq(step_get_arg(r->plan->steps, "command")->strv[1], "salvetest0"))
                        assert_string_equal(r->reason, "salvetest0 down, and 2 more events while it settled");
                else {
                        assert_string_equal(step_get_arg(r->plan->steps, "command")->strv[1], "salvetest1");
                        assert_string_equal(r->reason, "salvetest1 down");
                }
        }
        rig_free(&rig);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_steps_run_in_order),
                cmocka_unit_test(test_failure_and_retry),
                cmocka_unit_test(test_join_and_queue),
                cmocka_unit_test(test_when_skip_is_proposed),
                cmocka_unit_test(test_resume_in_a_second_manager),
                cmocka_unit_test(test_two_managers),
                cmocka_unit_test(test_holds),
                cmocka_unit_test(test_stop_without_bus),
                cmocka_unit_test(test_triggers_start_runs),
                cmocka_unit_test(test_initial_event_already_handled),
                cmocka_unit_test(test_settle_gathers_a_burst),
                cmocka_unit_test(test_boot_trigger_context),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
