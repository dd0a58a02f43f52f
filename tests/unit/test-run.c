/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The run state machine, without systemd: steps are "run" by the test
 * feeding results back, and time is a number the test moves. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "run-json.h"
#include "run.h"

#define T0 (1700000000ULL * USEC_PER_SEC)

static Run *new_run(const char *name, const char *yaml, usec_t trigger_time) {
        Transition c;
        Run *r = NULL;

        assert_int_equal(run_created_transition("run-1", name, NULL, yaml, "manual", "test", trigger_time, T0, &c), 0);
        assert_int_equal(run_new(&c, &r), 0);
        transition_done(&c);
        return r;
}

/* run_apply(), then a check that the incremental caches agree with a
 * recomputation from scratch. */
static int apply_checked(Run *r, const Transition *t) {
        int k = run_apply(r, t);
        if (k >= 0)
                assert_int_equal(run_verify_caches(r), 0);
        return k;
}

static void apply(Run *r, Transition *t, size_t n) {
        for (size_t i = 0; i < n; i++)
                assert_int_equal(apply_checked(r, t + i), 0);
        transitions_free(t, n);
}

/* One round of run_plan_next, applied. Returns how many transitions. */
static size_t step_once(Run *r, usec_t now, usec_t *wake) {
        Transition *t;
        size_t n;
        usec_t w;

        assert_int_equal(run_plan_next(r, now, &t, &n, &w), 0);
        apply(r, t, n);
        if (wake)
                *wake = w;
        return n;
}

/* After a restart, every running step's outcome is unknown (what salved
 * does when systemd cannot tell): returns how many steps that was. */
static size_t resume_unknown(Run *r, usec_t now) {
        size_t n = 0;

        for (size_t i = 0; i < r->plan->n_steps; i++) {
                Transition t;
                if (r->steps[i].state != STEP_RUNNING)
                        continue;
                assert_int_equal(run_step_unknown(r, i, "salved stopped while this step ran", false, now, &t), 0);
                assert_int_equal(apply_checked(r, &t), 0);
                transition_done(&t);
                n++;
        }
        return n;
}

/* Repeats run_plan_next until it proposes nothing. */
static void settle(Run *r, usec_t now) {
        for (int i = 0; i < 100; i++)
                if (step_once(r, now, NULL) == 0)
                        return;
        fail_msg("run_plan_next did not settle");
}

static StepState state_of(const Run *r, const char *id) {
        ssize_t i = plan_find_step(r->plan, id);
        assert_true(i >= 0);
        return r->steps[i].state;
}

static void finish(Run *r, const char *id, bool ok, usec_t now) {
        ssize_t i = plan_find_step(r->plan, id);
        Transition t;

        assert_true(i >= 0);
        assert_int_equal(run_step_result(r, (size_t) i, ok, ok ? "ok" : "boom", now, 0.5, &t), 0);
        assert_int_equal(apply_checked(r, &t), 0);
        transition_done(&t);
}

static void act(Run *r, const char *id, StepAction a, int expect, usec_t now) {
        Transition *t = NULL;
        size_t n = 0;

        assert_int_equal(run_act(r, id, a, "alice", "salvectl", "looks fine", now, &t, &n), expect);
        if (expect == 0)
                apply(r, t, n);
}

static const char *linear =
        "plan: linear\n"
        "steps:\n"
        "  - {id: a, run: exec, with: {command: [/bin/a]}}\n"
        "  - {id: b, needs: [a], run: exec, with: {command: [/bin/b]}}\n"
        "  - {id: c, needs: [b], run: unit.start, with: {unit: c.service}}\n";

static void test_linear_order(void **state) {
        _cleanup_(run_freep) Run *r = new_run("linear", linear, T0);

        settle(r, T0);
        assert_int_equal(state_of(r, "a"), STEP_RUNNING);
        assert_int_equal(state_of(r, "b"), STEP_PENDING);
        assert_string_equal(run_step_state_string(r, 1), "pending"); /* its need is not met */
        assert_int_equal(run_state(r), RUN_RUNNING);
        finish(r, "a", true, T0 + 1);
        settle(r, T0 + 1);
        assert_int_equal(state_of(r, "b"), STEP_RUNNING);
        assert_int_equal(state_of(r, "c"), STEP_PENDING);
        finish(r, "b", true, T0 + 2);
        settle(r, T0 + 2);
        finish(r, "c", true, T0 + 3);
        assert_false(run_is_finished(r));
        settle(r, T0 + 3);
        assert_true(run_is_finished(r));
        assert_int_equal(run_state(r), RUN_SUCCEEDED);
        assert_int_equal(r->steps[0].attempt, 1);
        /* A result for a step that is not running is refused. */
        {
                Transition t;
                assert_int_equal(run_step_result(r, 0, true, "late", T0 + 4, 0, &t), -ESTALE);
        }
}

static void test_parallel_limit(void **state) {
        _cleanup_(run_freep) Run *r = new_run("wide",
                                              "plan: wide\nparallel: 2\nsteps:\n"
                                              "  - {id: a, run: exec, with: {command: [/a]}}\n"
                                              "  - {id: b, run: exec, with: {command: [/b]}}\n"
                                              "  - {id: c, run: exec, with: {command: [/c]}}\n"
                                              "  - {id: d, run: exec, with: {command: [/d]}}\n",
                                              T0);

        settle(r, T0);
        assert_int_equal(run_count_steps(r, STEP_RUNNING), 2);
        assert_int_equal(state_of(r, "a"), STEP_RUNNING);
        assert_int_equal(state_of(r, "b"), STEP_RUNNING);
        /* c and d wait only for a slot: shown as ready. */
        assert_string_equal(run_step_state_string(r, 2), "ready");
        assert_string_equal(run_step_state_string(r, 3), "ready");
        assert_string_equal(run_step_state_string(r, 0), "running");
        finish(r, "b", true, T0 + 1);
        settle(r, T0 + 1);
        assert_int_equal(run_count_steps(r, STEP_RUNNING), 2);
        assert_int_equal(state_of(r, "c"), STEP_RUNNING);
        assert_int_equal(state_of(r, "d"), STEP_PENDING);
}

static void test_retry_backoff_then_on_failure(void **state) {
        _cleanup_(run_freep) Run *r = new_run("retry",
                                              "plan: retry\nsteps:\n"
                                              "  - id: flaky\n"
                                              "    run: exec\n"
                                              "    with: {command: [/bin/flaky]}\n"
                                              "    retry: {attempts: 3, backoff: 10s}\n"
                                              "    on-failure: cleanup\n"
                                              "  - {id: cleanup, run: exec, with: {command: [/bin/cleanup]}}\n"
                                              "  - {id: after, needs: [flaky], run: exec, with: {command: [/x]}}\n",
                                              T0);
        usec_t wake, now = T0;

        settle(r, now);
        assert_int_equal(state_of(r, "flaky"), STEP_RUNNING);
        assert_int_equal(state_of(r, "cleanup"), STEP_PENDING); /* handler: not run */

        /* Attempt 1 fails: back off 10s (+5% jitter at 0.5). */
        finish(r, "flaky", false, now);
        assert_int_equal(state_of(r, "flaky"), STEP_PENDING);
        assert_true(r->steps[0].not_before == now + 10500 * USEC_PER_MSEC);
        assert_int_equal(step_once(r, now + 5 * USEC_PER_SEC, &wake), 0);
        assert_true(wake == now + 10500 * USEC_PER_MSEC);
        assert_int_equal(run_state(r), RUN_WAITING);
        now += 11 * USEC_PER_SEC;
        settle(r, now);
        assert_int_equal(state_of(r, "flaky"), STEP_RUNNING);
        assert_int_equal(r->steps[0].attempt, 2);

        /* Attempt 2 fails: the backoff doubles. */
        finish(r, "flaky", false, now);
        assert_true(r->steps[0].not_before == now + 21 * USEC_PER_SEC);
        now += 22 * USEC_PER_SEC;
        settle(r, now);
        assert_int_equal(r->steps[0].attempt, 3);

        /* Attempt 3 fails: no more retries; the handler runs. */
        finish(r, "flaky", false, now);
        assert_int_equal(state_of(r, "flaky"), STEP_FAILED);
        settle(r, now);
        assert_int_equal(state_of(r, "cleanup"), STEP_RUNNING);
        assert_int_equal(state_of(r, "after"), STEP_PENDING);
        finish(r, "cleanup", true, now);
        settle(r, now);
        /* The handler recovered the failure, so what needed it goes ahead. */
        assert_int_equal(state_of(r, "after"), STEP_RUNNING);
        finish(r, "after", true, now);
        settle(r, now);
        assert_int_equal(run_state(r), RUN_SUCCEEDED);
}

static void test_failed_handler_fails_run(void **state) {
        _cleanup_(run_freep) Run *r = new_run("h",
                                              "plan: h\nsteps:\n"
                                              "  - {id: a, run: exec, with: {command: [/a]}, on-failure: fix}\n"
                                              "  - {id: fix, run: exec, with: {command: [/fix]}}\n"
                                              "  - {id: b, needs: [a], run: exec, with: {command: [/b]}}\n",
                                              T0);
        settle(r, T0);
        finish(r, "a", false, T0);
        settle(r, T0);
        finish(r, "fix", false, T0);
        settle(r, T0);
        assert_true(run_is_finished(r));
        assert_int_equal(run_state(r), RUN_FAILED);
        assert_int_equal(state_of(r, "b"), STEP_CANCELLED);
        assert_non_null(strstr(r->final_message, "step \"a\" failed"));
}

static void test_on_failure_continue_and_abort(void **state) {
        _cleanup_(run_freep) Run *r = new_run("c",
                                              "plan: c\nsteps:\n"
                                              "  - {id: optional, run: exec, with: {command: [/o]}, on-failure: continue}\n"
                                              "  - {id: next, needs: [optional], run: exec, with: {command: [/n]}}\n"
                                              "  - {id: vital, needs: [next], run: exec, with: {command: [/v]}}\n"
                                              "  - {id: last, needs: [vital], run: exec, with: {command: [/l]}}\n"
                                              "  - {id: side, run: exec, with: {command: [/s]}}\n",
                                              T0);
        settle(r, T0);
        finish(r, "optional", false, T0);
        settle(r, T0);
        assert_int_equal(state_of(r, "next"), STEP_RUNNING);
        finish(r, "next", true, T0);
        settle(r, T0);
        /* vital fails with the default on-failure (abort): the run fails at
         * once and what is still running is cancelled. */
        assert_int_equal(state_of(r, "side"), STEP_RUNNING);
        finish(r, "vital", false, T0);
        settle(r, T0);
        assert_int_equal(run_state(r), RUN_FAILED);
        assert_int_equal(state_of(r, "last"), STEP_CANCELLED);
        assert_int_equal(state_of(r, "side"), STEP_CANCELLED);
}

static const char *human =
        "plan: human\nowner: ops\nsteps:\n"
        "  - {id: check, run: exec, with: {command: [/c]}}\n"
        "  - {id: ok, needs: [check], human: approve, owner: dba}\n"
        "  - {id: swap, needs: [ok], human: task}\n"
        "  - {id: start, needs: [swap], run: unit.start, with: {unit: db.service}}\n";

static void test_human_steps(void **state) {
        _cleanup_(run_freep) Run *r = new_run("human", human, T0);

        settle(r, T0);
        finish(r, "check", true, T0);
        settle(r, T0);
        assert_int_equal(state_of(r, "ok"), STEP_WAITING);
        assert_int_equal(run_state(r), RUN_WAITING);
        assert_string_equal(r->steps[1].message, "waiting for dba");

        act(r, "ok", ACTION_DONE, -EOPNOTSUPP, T0);     /* approve steps are approved, not done */
        act(r, "swap", ACTION_DONE, -EBUSY, T0);        /* not waiting yet */
        act(r, "nope", ACTION_APPROVE, -ENOENT, T0);
        act(r, "ok", ACTION_APPROVE, 0, T0 + 1);
        assert_int_equal(state_of(r, "ok"), STEP_SUCCEEDED);
        assert_string_equal(r->steps[1].actor, "alice");
        assert_string_equal(r->steps[1].via, "salvectl");
        assert_string_equal(r->steps[1].comment, "looks fine");
        assert_string_equal(r->steps[1].message, "approved by alice");
        act(r, "ok", ACTION_APPROVE, -EBUSY, T0 + 1);   /* only once */

        settle(r, T0 + 1);
        assert_int_equal(state_of(r, "swap"), STEP_WAITING);
        assert_string_equal(r->steps[2].message, "waiting for ops"); /* the plan's owner */
        act(r, "swap", ACTION_DONE, 0, T0 + 2);
        settle(r, T0 + 2);
        assert_int_equal(state_of(r, "start"), STEP_RUNNING);
}

static void test_reject_fails_run(void **state) {
        _cleanup_(run_freep) Run *r = new_run("human", human, T0);

        settle(r, T0);
        finish(r, "check", true, T0);
        settle(r, T0);
        act(r, "ok", ACTION_REJECT, 0, T0);
        settle(r, T0);
        assert_int_equal(run_state(r), RUN_FAILED);
        assert_int_equal(state_of(r, "start"), STEP_CANCELLED);
        act(r, "ok", ACTION_RETRY, -EBUSY, T0); /* the run is over */
}

static void test_resume_after_crash(void **state) {
        _cleanup_(run_freep) Run *r = new_run("resume",
                                              "plan: resume\nsteps:\n"
                                              "  - {id: once, run: exec, with: {command: [/once]}}\n"
                                              "  - {id: again, run: exec, with: {command: [/again]}, idempotent: true}\n"
                                              "  - {id: unit, run: unit.restart, with: {unit: u.service}}\n"
                                              "  - {id: after, needs: [once], run: exec, with: {command: [/a]}}\n",
                                              T0);

        settle(r, T0);
        assert_int_equal(run_count_steps(r, STEP_RUNNING), 3);
        assert_string_equal(r->steps[1].message, "attempt 1 of 1");

        /* salved dies here; on restart systemd cannot tell how they ended: */
        assert_int_equal(resume_unknown(r, T0 + 5), 3);
        assert_int_equal(state_of(r, "once"), STEP_INTERRUPTED);
        assert_int_equal(state_of(r, "again"), STEP_PENDING);
        assert_int_equal(state_of(r, "unit"), STEP_PENDING); /* unit jobs are idempotent by default */
        assert_non_null(strstr(r->steps[0].message, "not idempotent"));

        /* The interrupted attempt ended when salved found it so. */
        assert_int_equal(r->steps[0].started, T0);
        assert_int_equal(r->steps[0].finished, T0 + 5);
        settle(r, T0 + 5);
        assert_int_equal(state_of(r, "again"), STEP_RUNNING);
        assert_int_equal(r->steps[1].attempt, 2);
        /* A re-run reads as one, the same as in salvectl status and --json. */
        assert_string_equal(r->steps[1].message, "attempt 2 (a re-run, beyond the plan's 1 attempt)");
        assert_int_equal(state_of(r, "once"), STEP_INTERRUPTED); /* never re-run by itself */
        finish(r, "again", true, T0 + 6);
        finish(r, "unit", true, T0 + 6);
        settle(r, T0 + 6);
        assert_int_equal(run_state(r), RUN_INTERRUPTED);
        assert_int_equal(state_of(r, "after"), STEP_PENDING);

        /* A person decides: retry runs it once more. */
        act(r, "once", ACTION_RETRY, 0, T0 + 7);
        settle(r, T0 + 7);
        assert_int_equal(state_of(r, "once"), STEP_RUNNING);
        assert_int_equal(r->steps[0].attempt, 2);
        assert_string_equal(r->steps[0].message, "attempt 2 (a re-run, beyond the plan's 1 attempt)");
        assert_int_equal(r->steps[0].finished, 0);
        finish(r, "once", true, T0 + 8);
        settle(r, T0 + 8);
        finish(r, "after", true, T0 + 9);
        settle(r, T0 + 9);
        assert_int_equal(run_state(r), RUN_SUCCEEDED);
}

/* Exact-step resume: a RUNNING step records its boot; the engine decides
 * only what the manager could not find out from systemd. */
static void test_step_unknown_and_boot(void **state) {
        _cleanup_(run_freep) Run *r = new_run("unknown",
                                              "plan: unknown\nsteps:\n"
                                              "  - {id: once, run: exec, with: {command: [/once]}}\n"
                                              "  - {id: again, run: exec, with: {command: [/again]}, idempotent: true}\n"
                                              "  - {id: checked, run: exec, with: {command: [/c]}, done-if: [/test]}\n",
                                              T0);
        Transition t, copy;

        assert_int_equal(run_set_boot_id(r, "0123456789abcdef0123456789abcdef"), 0);
        settle(r, T0);
        assert_int_equal(run_count_steps(r, STEP_RUNNING), 3);
        assert_string_equal(r->steps[0].boot_id, "0123456789abcdef0123456789abcdef");

        /* A retry beside a running attempt is refused as such. */
        act(r, "once", ACTION_RETRY, -EINPROGRESS, T0 + 1);

        assert_int_equal(run_step_unknown(r, 0, "the host rebooted while it ran", false, T0 + 2, &t), 0);
        assert_int_equal(t.state, STEP_INTERRUPTED);
        assert_non_null(strstr(t.message, "the host rebooted while it ran"));
        assert_int_equal(transition_copy(&t, &copy), 0);
        assert_string_equal(copy.message, t.message);
        assert_ptr_not_equal(copy.message, t.message);
        transition_done(&copy);
        assert_int_equal(apply_checked(r, &t), 0);
        transition_done(&t);
        /* Only a running step has an unknown outcome. */
        assert_int_equal(run_step_unknown(r, 0, "x", false, T0 + 2, &t), -ESTALE);

        assert_int_equal(run_step_unknown(r, 1, "its unit is gone", false, T0 + 2, &t), 0);
        assert_int_equal(t.state, STEP_PENDING); /* idempotent */
        assert_int_equal(apply_checked(r, &t), 0);
        transition_done(&t);

        /* A `when:` that does not hold: the engine proposes the skip. */
        assert_int_equal(run_step_condition_failed(r, 0, "when.path-exists: /x: No such file", T0 + 2, &t), -ESTALE);

        /* done-if said "not in place" (exit 1): it runs again though not idempotent. */
        assert_int_equal(run_step_unknown(r, 2, "salved stopped", true, T0 + 2, &t), 0);
        assert_int_equal(t.state, STEP_PENDING);
        assert_non_null(strstr(t.message, "done-if"));
        assert_int_equal(apply_checked(r, &t), 0);
        transition_done(&t);
        settle(r, T0 + 3);
        assert_int_equal(state_of(r, "checked"), STEP_RUNNING);
        assert_int_equal(r->steps[2].attempt, 2);
}

static void test_skip_and_abort_interrupted(void **state) {
        const char *yaml = "plan: s\nsteps:\n"
                           "  - {id: once, run: exec, with: {command: [/once]}}\n"
                           "  - {id: after, needs: [once], run: exec, with: {command: [/a]}}\n";
        _cleanup_(run_freep) Run *r1 = new_run("s", yaml, T0);
        _cleanup_(run_freep) Run *r2 = new_run("s", yaml, T0);

        settle(r1, T0);
        assert_int_equal(resume_unknown(r1, T0 + 3), 1);
        assert_int_equal(r1->steps[0].finished, T0 + 3);
        /* Skipped an hour later: its elapsed time stays what it ran, 3 us. */
        act(r1, "once", ACTION_SKIP, 0, T0 + USEC_PER_HOUR);
        assert_int_equal(state_of(r1, "once"), STEP_SKIPPED);
        assert_int_equal(r1->steps[0].started, T0);
        assert_int_equal(r1->steps[0].finished, T0 + 3);
        settle(r1, T0 + USEC_PER_HOUR);
        assert_int_equal(state_of(r1, "after"), STEP_RUNNING); /* skipped counts as done */

        settle(r2, T0);
        assert_int_equal(resume_unknown(r2, T0), 1);
        act(r2, "once", ACTION_ABORT, 0, T0);
        assert_int_equal(run_state(r2), RUN_FAILED);
        assert_int_equal(state_of(r2, "after"), STEP_CANCELLED);
        assert_non_null(strstr(r2->final_message, "aborted by alice"));
}

static void test_cancel(void **state) {
        _cleanup_(run_freep) Run *r = new_run("human", human, T0);
        Transition *t;
        size_t n;

        settle(r, T0);
        assert_int_equal(run_cancel(r, "bob", "wrong plan", T0, &t, &n), 0);
        apply(r, t, n);
        assert_int_equal(run_state(r), RUN_CANCELLED);
        assert_int_equal(state_of(r, "check"), STEP_CANCELLED);
        assert_string_equal(r->final_message, "cancelled by bob: wrong plan");
        assert_int_equal(run_cancel(r, "bob", NULL, T0, &t, &n), -EBUSY);
}

static void test_when_skipped_counts_as_done(void **state) {
        /* A `when:` that does not hold: the engine proposes the skip for
         * the running step, and treats SKIPPED like success for what needs
         * it. */
        _cleanup_(run_freep) Run *r = new_run("linear", linear, T0);
        Transition p, t = { .kind = TRANSITION_STEP, .run_id = (char *) "run-1", .step_id = (char *) "a",
                            .state = STEP_SKIPPED, .at = T0 };

        settle(r, T0);
        assert_int_equal(state_of(r, "a"), STEP_RUNNING);
        assert_int_equal(run_step_condition_failed(r, 0, "when.unit-active: x.service is inactive, not active", T0,
                                                   &p), 0);
        assert_int_equal(p.state, STEP_SKIPPED);
        assert_string_equal(p.message, "condition not met: when.unit-active: x.service is inactive, not active");
        assert_int_equal(apply_checked(r, &p), 0);
        transition_done(&p);
        settle(r, T0);
        assert_int_equal(state_of(r, "b"), STEP_RUNNING);
        /* A transition for an unknown step or with a bad state is refused. */
        t.step_id = (char *) "zz";
        assert_int_equal(apply_checked(r, &t), -EINVAL);
        t.step_id = (char *) "a";
        t.state = 99;
        assert_int_equal(apply_checked(r, &t), -EINVAL);
        t.state = STEP_SKIPPED;
        t.run_id = (char *) "other";
        assert_int_equal(apply_checked(r, &t), -EINVAL);
}

static void test_rto_clock(void **state) {
        /* rto 30m; the chain a(10m) -> b(25m) projects 35m from the start. */
        _cleanup_(run_freep) Run *r = new_run("rto",
                                              "plan: rto\nrto: 30m\nsteps:\n"
                                              "  - {id: a, run: exec, with: {command: [/a]}, estimate: 10m}\n"
                                              "  - {id: b, needs: [a], run: exec, with: {command: [/b]}, estimate: 25m}\n",
                                              T0);
        Transition t;
        usec_t next;

        /* rto warned at load time (critical path 35m > 30m), and at run time: */
        settle(r, T0);
        assert_true(run_deadline(r) == T0 + 30 * USEC_PER_MINUTE);
        assert_true(run_projected_finish(r, T0) == T0 + 35 * USEC_PER_MINUTE);
        assert_int_equal(run_rto_check(r, T0, &t, &next), 1);
        assert_int_equal(t.rto_state, RTO_AT_RISK);
        assert_true(t.projected == T0 + 35 * USEC_PER_MINUTE);
        assert_true(next == T0 + 30 * USEC_PER_MINUTE);
        assert_int_equal(apply_checked(r, &t), 0);
        transition_done(&t);
        /* announced once */
        assert_int_equal(run_rto_check(r, T0 + USEC_PER_MINUTE, &t, &next), 0);

        /* a running step counts only what is left of its estimate */
        assert_true(run_projected_finish(r, T0 + 4 * USEC_PER_MINUTE) == T0 + 35 * USEC_PER_MINUTE);
        assert_true(run_projected_finish(r, T0 + 12 * USEC_PER_MINUTE) == T0 + 37 * USEC_PER_MINUTE);

        assert_int_equal(run_rto_check(r, T0 + 30 * USEC_PER_MINUTE, &t, &next), 1);
        assert_int_equal(t.rto_state, RTO_BREACHED);
        assert_int_equal(apply_checked(r, &t), 0);
        transition_done(&t);
        assert_int_equal(run_rto_check(r, T0 + 40 * USEC_PER_MINUTE, &t, &next), 0);
        assert_true(next == USEC_INFINITY);
}

static void test_rto_ok_and_from_trigger_time(void **state) {
        /* The clock runs from the trigger (e.g. boot), not from the run's creation. */
        _cleanup_(run_freep) Run *r = new_run("rto",
                                              "plan: rto\nrto: 30m\nsteps:\n"
                                              "  - {id: a, run: exec, with: {command: [/a]}, estimate: 10m}\n",
                                              T0 - 25 * USEC_PER_MINUTE);
        Transition t;
        usec_t next;

        settle(r, T0);
        assert_int_equal(run_rto_check(r, T0, &t, &next), 1);
        assert_int_equal(t.rto_state, RTO_AT_RISK);
        transition_done(&t);

        r = run_free(r);
        r = new_run("rto", "plan: rto\nrto: 30m\nsteps:\n  - {id: a, run: exec, with: {command: [/a]}, estimate: 10m}\n",
                    T0);
        settle(r, T0);
        assert_int_equal(run_rto_check(r, T0, &t, &next), 0);
}

static const char *held =
        "plan: held\n"
        "holds: [db.service, api.service, cache.service]\n"
        "steps:\n"
        "  - {id: fsck, run: exec, with: {command: [/bin/fsck]}}\n"
        "  - {id: db, needs: [fsck], run: unit.start, with: {unit: db.service}}\n"
        "  - {id: warm, needs: [db], run: exec, with: {command: [/bin/warm]}, release: [cache.service]}\n"
        "  - {id: api, needs: [warm], run: unit.restart, with: {unit: api.service}}\n";

static bool is_held(const Run *r, const char *unit, ssize_t *ret_step) {
        RunHold h;
        assert_int_equal(run_hold(r, unit, &h), 0);
        if (ret_step)
                *ret_step = h.release_step;
        return h.held;
}

/* Holds: released by the step that starts the unit, by release:, by the
 * run's success or by a person; a failed run keeps what it holds. */
static void test_holds(void **state) {
        _cleanup_(run_freep) Run *r = new_run("held", held, T0);
        _cleanup_(run_freep) Run *f = new_run("held", held, T0);
        Transition t;
        ssize_t step;
        RunHold h;

        assert_int_equal(run_hold(r, "other.service", &h), -ENOENT);
        settle(r, T0);
        assert_true(is_held(r, "db.service", &step));
        assert_string_equal(r->plan->steps[step].id, "db");     /* the step that will release it */
        assert_true(is_held(r, "cache.service", NULL));
        finish(r, "fsck", true, T0 + 1);
        settle(r, T0 + 1);                                       /* db starts: released */
        assert_false(is_held(r, "db.service", &step));
        assert_string_equal(r->plan->steps[step].id, "db");
        assert_true(is_held(r, "cache.service", NULL));
        assert_true(is_held(r, "api.service", NULL));
        finish(r, "db", true, T0 + 2);
        settle(r, T0 + 2);                                       /* warm starts: release: [cache] */
        assert_false(is_held(r, "cache.service", NULL));
        assert_true(is_held(r, "api.service", NULL));
        finish(r, "warm", true, T0 + 3);
        settle(r, T0 + 3);
        finish(r, "api", true, T0 + 4);
        settle(r, T0 + 4);
        assert_int_equal(run_state(r), RUN_SUCCEEDED);
        assert_false(is_held(r, "api.service", NULL));

        /* A failed run keeps its holds, until a person releases one. */
        settle(f, T0);
        finish(f, "fsck", false, T0 + 1);
        settle(f, T0 + 1);
        assert_true(run_is_finished(f));
        assert_int_equal(f->final_state, RUN_FAILED);
        assert_true(is_held(f, "db.service", NULL));
        assert_true(is_held(f, "api.service", NULL));
        assert_int_equal(run_release_hold(f, "nope.service", "root", NULL, T0 + 2, &t), -ENOENT);
        assert_int_equal(run_release_hold(f, "db.service", "root", "checked by hand", T0 + 2, &t), 0);
        assert_int_equal(t.kind, TRANSITION_HOLD_RELEASED);
        assert_int_equal(apply_checked(f, &t), 0);
        transition_done(&t);
        assert_int_equal(run_hold(f, "db.service", &h), 0);
        assert_false(h.held);
        assert_non_null(h.by_person);
        assert_string_equal(h.by_person->actor, "root");
        assert_string_equal(h.by_person->comment, "checked by hand");
        assert_true(is_held(f, "api.service", NULL));
        /* GetRun's JSON says the same. */
        {
                json_object *o = run_to_json(f, T0 + 2), *holds, *h0, *by;
                const char *db = NULL;
                assert_non_null(o);
                assert_true(json_object_object_get_ex(o, "holds", &holds));
                for (size_t k = 0; k < json_object_array_length(holds); k++) {
                        json_object *u, *isheld;
                        h0 = json_object_array_get_idx(holds, k);
                        assert_true(json_object_object_get_ex(h0, "unit", &u));
                        assert_true(json_object_object_get_ex(h0, "held", &isheld));
                        if (streq(json_object_get_string(u), "db.service")) {
                                db = "db";
                                assert_false(json_object_get_boolean(isheld));
                                assert_true(json_object_object_get_ex(h0, "released_by", &by));
                                assert_string_equal(json_object_get_string(json_object_object_get(by, "actor")),
                                                    "root");
                        } else if (streq(json_object_get_string(u), "api.service"))
                                assert_true(json_object_get_boolean(isheld));
                }
                assert_non_null(db);
                json_object_put(o);
        }
        assert_int_equal(run_release_hold(f, "db.service", "root", NULL, T0 + 3, &t), -EALREADY);
        /* A release for a unit outside holds is refused by run_apply too. */
        t = (Transition) { .kind = TRANSITION_HOLD_RELEASED, .run_id = (char *) "run-1", .unit = (char *) "x.service" };
        assert_int_equal(run_apply(f, &t), -EINVAL);
}

static void test_format_attempt(void **state) {
        char a[FORMAT_ATTEMPT_MAX];

        assert_string_equal(format_attempt(a, 1, 1), "attempt 1 of 1");
        assert_string_equal(format_attempt(a, 2, 3), "attempt 2 of 3");
        assert_string_equal(format_attempt(a, 3, 3), "attempt 3 of 3");
        assert_string_equal(format_attempt(a, 2, 1), "attempt 2 (a re-run, beyond the plan's 1 attempt)");
        assert_string_equal(format_attempt(a, 5, 3), "attempt 5 (a re-run, beyond the plan's 3 attempts)");
}

static void test_names(void **state) {
        for (int i = 0; i < _STEP_STATE_MAX; i++)
                assert_int_equal(step_state_from_string(step_state_to_string(i)), i);
        for (int i = 0; i < _ACTION_MAX; i++)
                assert_int_equal(step_action_from_string(step_action_to_string(i)), i);
        assert_int_equal(step_action_from_string("approv"), -EINVAL);
        assert_int_equal(run_state_from_string(NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_linear_order),
                cmocka_unit_test(test_parallel_limit),
                cmocka_unit_test(test_retry_backoff_then_on_failure),
                cmocka_unit_test(test_failed_handler_fails_run),
                cmocka_unit_test(test_on_failure_continue_and_abort),
                cmocka_unit_test(test_human_steps),
                cmocka_unit_test(test_reject_fails_run),
                cmocka_unit_test(test_resume_after_crash),
                cmocka_unit_test(test_skip_and_abort_interrupted),
                cmocka_unit_test(test_cancel),
                cmocka_unit_test(test_when_skipped_counts_as_done),
                cmocka_unit_test(test_rto_clock),
                cmocka_unit_test(test_rto_ok_and_from_trigger_time),
                cmocka_unit_test(test_format_attempt),
                cmocka_unit_test(test_holds),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_step_unknown_and_boot),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
