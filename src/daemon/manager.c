/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Manager: runs plans. The rule every path here keeps: a transition
 * is journaled (run_store_commit, synced) before anything acts on it, so a
 * crash at any point leaves a journal from which a restart resumes without
 * running a non-idempotent step twice. */

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>

#include "config.h"
#include "string-util.h"
#include "log.h"
#include "manager-bus.h"
#include "manager-holds.h"
#include "manager-metrics.h"
#include "manager-relay.h"
#include "manager-reload.h"
#include "manager.h"
#include "trigger-vars.h"

typedef enum CallPhase {
        CALL_CONDITION,                 /* the `when:` check, before the step itself */
        CALL_STEP,                      /* the step's attempt */
        CALL_RESUMED,                   /* an attempt started before salved restarted */
        CALL_DONE_IF,                   /* the step's done-if check, its outcome being unknown */
} CallPhase;

typedef struct StepCall {
        RunContext *context;
        size_t step;
        CallPhase phase;
        char *why;                      /* CALL_DONE_IF: why the outcome is unknown */
} StepCall;

static StepCall *step_call_free(StepCall *call) {
        if (call)
                free(call->why);
        return mfree(call);
}

static RunContext *run_context_free(RunContext *c, size_t n_steps) {
        if (!c)
                return NULL;
        for (size_t i = 0; c->jobs && i < n_steps; i++) {
                if (c->jobs[i])
                        c->manager->exec_ops->job_cancel(c->jobs[i]);
                step_call_free(c->calls[i]);
        }
        free(c->jobs);
        free(c->calls);
        sd_event_source_disable_unref(c->wake);
        sd_event_source_disable_unref(c->rto);
        sd_event_source_disable_unref(c->human);
        free(c->run_id);
        free(c);
        return NULL;
}

static RunContext *manager_find_context(Manager *m, const char *run_id) {
        for (size_t i = 0; i < m->n_contexts; i++)
                if (streq(m->contexts[i]->run_id, run_id))
                        return m->contexts[i];
        return NULL;
}

static int manager_add_context(Manager *m, const Run *r, RunContext **ret) {
        RunContext *c, **n;

        c = calloc(1, sizeof(RunContext));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->run_id = strdup(r->id);
        c->jobs = calloc(r->plan->n_steps, sizeof(ExecJob *));
        c->calls = calloc(r->plan->n_steps, sizeof(StepCall *));
        n = realloc(m->contexts, sizeof(RunContext *) * (m->n_contexts + 1));
        if (!c->run_id || !c->jobs || !c->calls || !n) {
                if (n)
                        m->contexts = n;
                run_context_free(c, r->plan->n_steps);
                return -ENOMEM;
        }
        m->contexts = n;
        m->contexts[m->n_contexts++] = c;
        if (ret)
                *ret = c;
        return 0;
}

static void manager_drop_context(Manager *m, RunContext *c, const Run *r) {
        for (size_t i = 0; i < m->n_contexts; i++)
                if (m->contexts[i] == c) {
                        m->contexts[i] = m->contexts[--m->n_contexts];
                        break;
                }
        run_context_free(c, r->plan->n_steps);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_contexts; i++) {
                Run *r = m->store ? run_store_find(m->store, m->contexts[i]->run_id) : NULL;
                run_context_free(m->contexts[i], r ? r->plan->n_steps : 0);
        }
        free(m->contexts);
        free(m->listeners);
        manager_watch_free(m);
        manager_relay_free(m);
        strv_free(m->people_dirs);
        free(m->relay_config_path);
        m->holds = manager_holds_free(m->holds);
        m->metrics = manager_metrics_free(m->metrics);
        free(m->metrics_path);
        for (size_t i = 0; i < m->n_unjournaled; i++) {
                transition_done(&m->unjournaled[i].t);
                free(m->unjournaled[i].unit);
        }
        free(m->unjournaled);
        sd_event_source_disable_unref(m->journal_retry);
        manager_reload_free(m->reload);
        sd_event_source_disable_unref(m->schedule);
        sd_bus_slot_unref(m->stop_slot);
        if (m->executor)
                m->exec_ops->free(m->executor);
        polkit_authority_free(m->authority);
        bus_queue_free(m->systemd_calls);
        run_store_free(m->store);
        plan_set_free(m->plans);
        sd_bus_slot_unref(m->object_slot);
        sd_bus_unref(m->bus);
        sd_event_unref(m->event);
        free(m->state_dir);
        free(m->runtime_dir);
        strv_free(m->plan_dirs);
        free(m->last_status);
        free(m);
        return NULL;
}

/* ---- status ---- */

static void manager_update_status(Manager *m) {
        size_t active = 0, waiting = 0, interrupted = 0;
        _cleanup_free_ char *s = NULL;

        for (size_t i = 0; m->store && i < m->store->n_runs; i++) {
                const Run *r = m->store->runs[i];
                if (run_is_finished(r))
                        continue;
                active++;
                waiting += run_count_steps(r, STEP_WAITING);
                interrupted += run_count_steps(r, STEP_INTERRUPTED);
        }
        if (m->journal_error < 0) {
                if (asprintf(&s, "The run journal cannot be written (%s): %zu result%s held in memory, no new "
                             "work taken; %zu run%s active", strerror(-m->journal_error), m->n_unjournaled,
                             m->n_unjournaled == 1 ? "" : "s", active, active == 1 ? "" : "s") < 0)
                        return;
        } else if (asprintf(&s, "%zu run%s active, %zu waiting for a person, %zu interrupted; %zu plans loaded",
                            active, active == 1 ? "" : "s", waiting, interrupted, m->plans ? m->plans->n_plans : 0) < 0)
                return;
        if (streq_ptr(s, m->last_status))
                return;
        manager_metrics_changed(m);     /* the journal's state, results held */
        (void) sd_notifyf(false, "STATUS=%s", s);
        free(m->last_status);
        m->last_status = TAKE_PTR(s);
}

/* ---- committing and announcing ---- */

int manager_add_listener(Manager *m, const ManagerListener *l) {
        ManagerListener *n;

        if (!l || !l->on_transition)
                return -EINVAL;
        n = realloc(m->listeners, sizeof(ManagerListener) * (m->n_listeners + 1));
        if (!n)
                return -ENOMEM;
        m->listeners = n;
        m->listeners[m->n_listeners++] = *l;
        return 0;
}

static void announce(Manager *m, const Run *r, const Transition *t) {
        for (size_t i = 0; i < m->n_listeners; i++)
                m->listeners[i].on_transition(m, r, t, m->listeners[i].userdata);
}

/* What follows a transition once it is journaled and applied. */
static int manager_after_commit(Manager *m, const Transition *t) {
        RunContext *c;
        Run *r = run_store_find(m->store, t->run_id);
        int k;

        if (!r)
                return -ENOENT;
        if (t->kind == TRANSITION_RUN_CREATED) {
                if (run_set_boot_id(r, m->boot_id) < 0)
                        return log_oom();
                k = manager_add_context(m, r, NULL);
                if (k < 0)
                        return log_oom();
        }
        c = manager_find_context(m, r->id);

        /* What was cancelled stops running. */
        if (c && t->kind == TRANSITION_STEP && t->state != STEP_RUNNING) {
                ssize_t i = plan_find_step(r->plan, t->step_id);
                if (i >= 0 && c->jobs[i]) {
                        c->manager->exec_ops->job_cancel(c->jobs[i]);
                        c->jobs[i] = NULL;
                        c->calls[i] = step_call_free(c->calls[i]);
                }
        }
        announce(m, r, t);
        if (c && run_is_finished(r)) {
                manager_drop_context(m, c, r);
                manager_schedule(m); /* a queued run of the same plan may go now */
        }
        manager_update_status(m);
        return 0;
}

/* ---- results the journal could not take yet ---- */

int manager_check_writable(Manager *m) {
        return m->n_unjournaled > 0 ? (m->journal_error < 0 ? m->journal_error : -EIO) : 0;
}

static void manager_flush_unjournaled(Manager *m);

static int on_journal_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_flush_unjournaled(userdata);
        return 0;
}

static void manager_arm_journal_retry(Manager *m) {
        /* A bounded backoff, no busy loop: 1 s, doubling, at most 30 s. */
        m->journal_retry_delay = m->journal_retry_delay == 0 ? USEC_PER_SEC
                                                             : MIN(m->journal_retry_delay * 2, 30 * USEC_PER_SEC);
        if (m->journal_retry) {
                (void) sd_event_source_set_time_relative(m->journal_retry, m->journal_retry_delay);
                (void) sd_event_source_set_enabled(m->journal_retry, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_add_time_relative(m->event, &m->journal_retry, CLOCK_MONOTONIC, m->journal_retry_delay, 0,
                                       on_journal_retry, m) >= 0)
                (void) sd_event_source_set_description(m->journal_retry, "journal-retry");
}

/* The journal refused an append with an I/O error: say so once, and try
 * again on the backoff. */
static void manager_journal_failed(Manager *m, const Transition *t, int error) {
        if (m->journal_error == 0)
                log_struct_internal(LOG_CRIT, error, SALVE_MESSAGE_JOURNAL_FULL, t->run_id, NULL, t->step_id,
                                    "The run journal cannot be written (%m): holding step results in memory and "
                                    "taking no new work until it can.");
        m->journal_error = error;
        manager_arm_journal_retry(m);
        manager_update_status(m);
}

static int manager_hold_result(Manager *m, const Transition *t, const char *unit) {
        Unjournaled *n, *u;

        n = realloc(m->unjournaled, sizeof(Unjournaled) * (m->n_unjournaled + 1));
        if (!n)
                return log_oom();
        m->unjournaled = n;
        u = m->unjournaled + m->n_unjournaled;
        *u = (Unjournaled) {};
        if (transition_copy(t, &u->t) < 0 || (unit && !(u->unit = strdup(unit)))) {
                transition_done(&u->t);
                return log_oom();
        }
        m->n_unjournaled++;
        manager_update_status(m);
        return -EAGAIN;
}

static void manager_journal_ok(Manager *m) {
        if (m->journal_error < 0)
                log_struct_internal(LOG_NOTICE, 0, SALVE_MESSAGE_JOURNAL_WRITABLE, NULL, NULL, NULL,
                                    "The run journal takes writes again; new work is accepted.");
        m->journal_error = 0;
        m->journal_retry_delay = 0;
}

static void manager_flush_unjournaled(Manager *m) {
        size_t done = 0;
        int k = 0;

        /* One at a time, in order: journal it, then act on it as
         * manager_commit() would have, then let its unit go. */
        while (done < m->n_unjournaled) {
                Unjournaled *u = m->unjournaled + done;
                k = run_store_commit(m->store, &u->t, NULL);
                if (k < 0)
                        break;
                (void) manager_after_commit(m, &u->t);
                m->exec_ops->release_unit(m->executor, u->unit);
                transition_done(&u->t);
                u->unit = mfree(u->unit);
                done++;
        }
        memmove(m->unjournaled, m->unjournaled + done, sizeof(Unjournaled) * (m->n_unjournaled - done));
        m->n_unjournaled -= done;
        if (m->n_unjournaled > 0)
                manager_journal_failed(m, &m->unjournaled[0].t, k);
        else {
                if (done > 0) {
                        log_info("Journaled %zu step result%s held in memory.", done, done == 1 ? "" : "s");
                        manager_journal_ok(m);
                }
                /* Proposals that could not be journaled are made again now. */
                manager_schedule(m);
        }
        manager_update_status(m);
}

static bool journal_error_is_io(int k) {
        return k < 0 && k != -ENOMEM && k != -EINVAL && k != -E2BIG && k != -ENOENT;
}

/* Journals t. An I/O error (a full disk) is said once and retried on the
 * backoff; whatever failed, nothing may act on t. */
static int manager_journal(Manager *m, const Transition *t) {
        int k = run_store_commit(m->store, t, NULL);

        if (k >= 0) {
                manager_journal_ok(m);
                return 0;
        }
        if (journal_error_is_io(k))
                manager_journal_failed(m, t, k);
        return k;
}

static int log_not_journaled(const Transition *t, int k) {
        return log_struct_internal(LOG_ERR, k, NULL, t->run_id, NULL, t->step_id,
                                   "Failed to journal a %s transition, not acting on it: %m",
                                   transition_kind_to_string(t->kind));
}

int manager_commit(Manager *m, const Transition *t) {
        /* A proposal that is not journaled is made again once the retry
         * finds the journal writable. */
        int k = manager_journal(m, t);
        if (k < 0)
                return log_not_journaled(t, k);
        return manager_after_commit(m, t);
}

int manager_commit_result(Manager *m, const Transition *t, const char *unit) {
        int k;

        /* Behind results already waiting: order is kept. */
        if (m->n_unjournaled > 0)
                return manager_hold_result(m, t, unit);
        k = manager_journal(m, t);
        if (journal_error_is_io(k))
                return manager_hold_result(m, t, unit);
        if (k < 0)
                return log_not_journaled(t, k);
        (void) manager_after_commit(m, t);
        m->exec_ops->release_unit(m->executor, unit);
        return 0;
}

/* Journals a batch of proposals with one sync (run_store_commit_many):
 * 1 when done, so that the caller acts on each; 0 when the batch cannot
 * go as one (it creates or finishes a run, or is a single transition):
 * the caller commits one at a time; < 0 when the journal refused it:
 * nothing may act on any of them. */
static int manager_journal_batch(Manager *m, const Transition *t, size_t n) {
        int k;

        if (n < 2)
                return 0;
        k = run_store_commit_many(m->store, t, n);
        if (k == -EOPNOTSUPP)
                return 0;
        if (k < 0) {
                if (journal_error_is_io(k))
                        manager_journal_failed(m, t, k);
                return log_not_journaled(t, k);
        }
        manager_journal_ok(m);
        return 1;
}

static int commit_all(Manager *m, Transition *t, size_t n) {
        int k = manager_journal_batch(m, t, n);
        bool batched = k > 0;

        for (size_t i = 0; i < n && k >= 0; i++)
                k = batched ? manager_after_commit(m, t + i) : manager_commit(m, t + i);
        transitions_free(t, n);
        return k;
}

/* ---- steps ---- */

static double manager_jitter(Manager *m) {
        return (double) rand_r(&m->rand_state) / ((double) RAND_MAX + 1.0);
}

/* A machine step's attempt ended: the engine proposes what follows, the
 * result is journaled (or held until it can be), then unit is released. */
static void step_finished(Manager *m, RunContext *c, size_t i, bool ok, const char *message, const char *unit) {
        Run *r = run_store_find(m->store, c->run_id);
        Transition t;
        int k;

        if (!r)
                return;
        k = run_step_result(r, i, ok, message, now_usec(CLOCK_REALTIME), manager_jitter(m), &t);
        if (k < 0) {
                log_struct_internal(LOG_WARNING, k, NULL, r->id, r->plan->name, r->plan->steps[i].id,
                                    "Ignoring a result for a step that is not running: %m");
                return;
        }
        (void) manager_commit_result(m, &t, unit);
        transition_done(&t);
        manager_schedule(m);
}

/* After a restart, a step's outcome cannot be known: the engine says
 * whether it runs again or waits for a person. */
static void step_unknown(Manager *m, RunContext *c, size_t i, const char *why, bool rerun) {
        Run *r = run_store_find(m->store, c->run_id);
        Transition t;
        int k;

        if (!r)
                return;
        k = run_step_unknown(r, i, why, rerun, now_usec(CLOCK_REALTIME), &t);
        if (k < 0)
                return;
        (void) manager_commit_result(m, &t, NULL);
        transition_done(&t);
        manager_schedule(m);
}

static void on_step_done(ExecJob *job, const ExecResult *res, void *userdata);

static int start_step_job(Manager *m, RunContext *c, const Run *r, size_t i, CallPhase phase, const char *why) {
        const Step *s = r->plan->steps + i;
        const StepRun *x = r->steps + i;
        StepCall *call;
        int k;

        call = calloc(1, sizeof(StepCall));
        if (!call)
                return -ENOMEM;
        *call = (StepCall) { .context = c, .step = i, .phase = phase };
        if (why && !(call->why = strdup(why))) {
                free(call);
                return -ENOMEM;
        }
        switch (phase) {
        case CALL_CONDITION:
                k = m->exec_ops->check_condition(m->executor, &s->when, r->trigger, on_step_done, call, &c->jobs[i]);
                break;
        case CALL_STEP:
                k = m->exec_ops->start(m->executor, r->id, s, x->attempt, s->timeout, on_step_done, call, &c->jobs[i]);
                break;
        case CALL_RESUMED:
                k = m->exec_ops->resume(m->executor, r->id, s, x->attempt, s->timeout, x->started, on_step_done, call,
                                    &c->jobs[i]);
                break;
        case CALL_DONE_IF:
                k = m->exec_ops->start_check(m->executor, r->id, s, x->attempt, on_step_done, call, &c->jobs[i]);
                break;
        default:
                k = -EINVAL;
        }
        if (k < 0) {
                step_call_free(call);
                c->jobs[i] = NULL;
                return k;
        }
        step_call_free(c->calls[i]);
        c->calls[i] = call;
        return 0;
}

/* The outcome of a step that was running when salved stopped is not
 * known: a done-if check may tell; otherwise the engine decides. */
static void step_outcome_unknown(Manager *m, RunContext *c, const Run *r, size_t i, const char *why) {
        int k;

        log_struct_internal(LOG_NOTICE, 0, SALVE_MESSAGE_STEP_RECONCILED, r->id, r->plan->name, r->plan->steps[i].id,
                            "Step %s: %s%s.", r->plan->steps[i].id, why,
                            r->plan->steps[i].done_if ? "; running its done-if check" : "");
        if (r->plan->steps[i].done_if) {
                k = start_step_job(m, c, r, i, CALL_DONE_IF, why);
                if (k >= 0)
                        return;
                log_struct_internal(LOG_WARNING, k, NULL, r->id, r->plan->name, r->plan->steps[i].id,
                                    "Cannot run the done-if check of step %s: %m", r->plan->steps[i].id);
        }
        step_unknown(m, c, i, why, false);
}

static void on_done_if(Manager *m, RunContext *c, size_t i, const char *why, const ExecResult *res) {
        _cleanup_free_ char *msg = NULL;

        if (res->outcome == EXEC_SUCCEEDED) {
                if (asprintf(&msg, "%s; its done-if check says its effect is in place (exit status 0)", why) < 0)
                        msg = NULL;
                step_finished(m, c, i, true, msg ?: "done-if: its effect is in place", res->unit);
                return;
        }
        if (res->outcome == EXEC_FAILED && res->exit_status == 1) {
                step_unknown(m, c, i, why, true);
                m->exec_ops->release_unit(m->executor, res->unit);
                return;
        }
        if (asprintf(&msg, "%s; its done-if check did not tell (%s)", why, strna(res->message)) < 0)
                msg = NULL;
        step_unknown(m, c, i, msg ?: why, false);
        m->exec_ops->release_unit(m->executor, res->unit);
}

static void on_step_done(ExecJob *job, const ExecResult *res, void *userdata) {
        StepCall *call = userdata;
        RunContext *c = call->context;
        Manager *m = c->manager;
        size_t i = call->step;
        CallPhase phase = call->phase;
        _cleanup_free_ char *why = TAKE_PTR(call->why);
        Run *r = run_store_find(m->store, c->run_id);
        _cleanup_free_ char *msg = NULL;
        int k;

        /* The job frees itself after this callback; forget it and the call. */
        c->jobs[i] = NULL;
        c->calls[i] = step_call_free(c->calls[i]);
        if (!r)
                return;

        switch (phase) {
        case CALL_CONDITION:
                if (res->outcome == EXEC_SUCCEEDED) {
                        k = start_step_job(m, c, r, i, CALL_STEP, NULL);
                        if (k < 0) {
                                if (asprintf(&msg, "could not start: %s", strerror(-k)) < 0)
                                        msg = NULL;
                                step_finished(m, c, i, false, msg ?: "could not start", NULL);
                        }
                        return;
                }
                /* The condition does not hold: the engine skips the step,
                 * which lets what needs it go ahead. */
                Transition t;
                if (run_step_condition_failed(r, i, res->message, now_usec(CLOCK_REALTIME), &t) >= 0) {
                        (void) manager_commit_result(m, &t, NULL);
                        transition_done(&t);
                }
                manager_schedule(m);
                return;

        case CALL_DONE_IF:
                on_done_if(m, c, i, why ?: "its outcome is not known", res);
                return;

        case CALL_RESUMED:
                if (res->outcome == EXEC_UNKNOWN) {
                        step_outcome_unknown(m, c, r, i, res->message);
                        m->exec_ops->release_unit(m->executor, res->unit);
                        return;
                }
                break;
        default:
                break;
        }

        switch (res->outcome) {
        case EXEC_SUCCEEDED:
                step_finished(m, c, i, true, res->message, res->unit);
                return;
        case EXEC_TIMED_OUT:
                if (asprintf(&msg, "timed out%s%s", res->message ? ": " : "", strempty(res->message)) < 0)
                        msg = NULL;
                break;
        default:
                break;
        }
        step_finished(m, c, i, false, msg ?: res->message ?: exec_outcome_to_string(res->outcome), res->unit);
}

static void start_step(Manager *m, RunContext *c, const Run *r, size_t i) {
        const Step *s = r->plan->steps + i;
        int k;

        k = start_step_job(m, c, r, i, s->when.present ? CALL_CONDITION : CALL_STEP, NULL);
        if (k < 0) {
                _cleanup_free_ char *msg = NULL;
                if (asprintf(&msg, "could not start: %s", strerror(-k)) < 0)
                        msg = NULL;
                step_finished(m, c, i, false, msg ?: "could not start", NULL);
        }
}

/* After a restart, for a step the journal shows running: ask systemd how
 * it stands, rather than assume. Only what cannot be known is handed to
 * the engine as unknown. */
static void resume_step(Manager *m, RunContext *c, const Run *r, size_t i) {
        const StepRun *x = r->steps + i;
        int k;

        if (x->boot_id && !streq(x->boot_id, m->boot_id)) {
                step_outcome_unknown(m, c, r, i, "the host rebooted while it ran");
                return;
        }
        k = start_step_job(m, c, r, i, CALL_RESUMED, NULL);
        if (k < 0) {
                _cleanup_free_ char *why = NULL;
                if (asprintf(&why, "salved cannot ask systemd how it stands (%s)", strerror(-k)) < 0)
                        why = NULL;
                step_outcome_unknown(m, c, r, i, why ?: "salved cannot ask systemd how it stands");
                return;
        }
        log_struct_internal(LOG_INFO, 0, NULL, r->id, r->plan->name, r->plan->steps[i].id,
                            "Step %s was running when salved stopped: re-attaching to attempt %u.",
                            r->plan->steps[i].id, x->attempt);
}

/* ---- scheduling ---- */

static int on_wake(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_schedule(userdata);
        return 0;
}

static int arm_timer(Manager *m, sd_event_source **source, usec_t when, const char *what) {
        int k;

        if (when == USEC_INFINITY) {
                if (*source)
                        (void) sd_event_source_set_enabled(*source, SD_EVENT_OFF);
                return 0;
        }
        if (*source) {
                k = sd_event_source_set_time(*source, when);
                if (k >= 0)
                        k = sd_event_source_set_enabled(*source, SD_EVENT_ONESHOT);
                return k;
        }
        k = sd_event_add_time(m->event, source, CLOCK_REALTIME, when, USEC_PER_SEC / 10, on_wake, m);
        if (k >= 0)
                (void) sd_event_source_set_description(*source, what);
        return k;
}

/* The escalation of the run's waiting human steps: what is due now is
 * journaled (the relay hears of it as a listener), the rest armed. */
static void process_human(Manager *m, RunContext *c, Run *r) {
        usec_t wake = USEC_INFINITY;

        for (int round = 0; round < 64 && !run_is_finished(r); round++) {
                Transition *t;
                size_t n;
                int k;

                k = run_human_next(r, now_usec(CLOCK_REALTIME), m->resolve, m->resolve_userdata, &t, &n, &wake);
                if (k < 0) {
                        log_struct_internal(LOG_ERR, k, NULL, r->id, r->plan->name, NULL,
                                            "Cannot work out who to tell: %m");
                        return;
                }
                if (n == 0) {
                        free(t);
                        break;
                }
                k = commit_all(m, t, n);
                if (k < 0)
                        return; /* not journaled: nobody is told; try again later */
        }
        (void) arm_timer(m, &c->human, wake, "human-escalation");
}

static void process_run(Manager *m, RunContext *c) {
        Run *r = run_store_find(m->store, c->run_id);
        usec_t now, wake = USEC_INFINITY, next;
        Transition rto;
        int k;

        if (!r || run_store_is_queued(m->store, r))
                return;
        /* Results wait for the journal: nothing is proposed behind them. */
        if (m->n_unjournaled > 0)
                return;

        for (int round = 0; round < 64 && !run_is_finished(r); round++) {
                Transition *t;
                size_t n;
                bool batched;

                now = now_usec(CLOCK_REALTIME);
                k = run_plan_next(r, now, &t, &n, &wake);
                if (k < 0) {
                        log_struct_internal(LOG_ERR, k, NULL, r->id, r->plan->name, NULL, "Cannot plan: %m");
                        return;
                }
                if (n == 0) {
                        free(t);
                        break;
                }
                /* Many steps start or wait at once: one sync for them all. */
                k = manager_journal_batch(m, t, n);
                if (k < 0) {
                        transitions_free(t, n);
                        return; /* not journaled: do nothing, try again later */
                }
                batched = k > 0;
                for (size_t i = 0; i < n; i++) {
                        k = batched ? manager_after_commit(m, t + i) : manager_commit(m, t + i);
                        if (k < 0) {
                                transitions_free(t, n);
                                return; /* not journaled: do nothing, try again later */
                        }
                        if (t[i].kind == TRANSITION_STEP && t[i].state == STEP_RUNNING)
                                start_step(m, c, r, (size_t) plan_find_step(r->plan, t[i].step_id));
                        if (run_is_finished(r))
                                break; /* c is gone */
                }
                transitions_free(t, n);
        }
        if (run_is_finished(r))
                return;

        /* At risk and breached can both be due (a run resumed late). */
        now = now_usec(CLOCK_REALTIME);
        for (int i = 0; i < 2; i++) {
                k = run_rto_check(r, now, &rto, &next);
                if (k <= 0)
                        break;
                k = manager_commit(m, &rto);
                transition_done(&rto);
                if (k < 0)
                        break;
        }
        (void) arm_timer(m, &c->wake, wake, "retry-backoff");
        (void) arm_timer(m, &c->rto, next, "rto-deadline");
        process_human(m, c, r);
}

static int on_schedule(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        _cleanup_strv_free_ char **ids = NULL;
        int k;

        /* Contexts come and go while runs move; walk a copy of the ids. */
        for (size_t i = 0; i < m->n_contexts; i++)
                if (strv_extend(&ids, m->contexts[i]->run_id) < 0)
                        return log_oom();
        STRV_FOREACH(id, ids) {
                RunContext *c = manager_find_context(m, *id);
                if (c)
                        process_run(m, c);
        }
        k = run_store_maybe_compact(m->store);
        if (k < 0)
                log_warning_errno(k, "Failed to compact the run journal, ignoring: %m");
        manager_update_status(m);
        return 0;
}

void manager_schedule(Manager *m) {
        if (m->schedule)
                (void) sd_event_source_set_enabled(m->schedule, SD_EVENT_ONESHOT);
}

/* ---- runs ---- */

int manager_start_run(Manager *m, const char *plan_name, const char *trigger, const char *reason, usec_t trigger_time,
                      char **context, char **ret_run_id) {
        _cleanup_free_ char *id = NULL, *instance = NULL, *error = NULL;
        _cleanup_strv_free_ char **used = NULL;
        const Plan *p = plan_set_find(m->plans, plan_name);
        Run *join;
        Transition t;
        usec_t now = now_usec(CLOCK_REALTIME);
        int k;

        if (!p)
                return -ENOENT;
        k = manager_check_writable(m);
        if (k < 0)
                return k;
        k = plan_trigger_vars_used(p, &used);
        if (k >= 0)
                k = plan_instance_from_context(p, context, &instance);
        if (k < 0)
                return k;
        if (used && !context) {
                log_struct_internal(LOG_WARNING, 0, NULL, NULL, plan_name, NULL,
                                    "Not starting plan %s (trigger %s): its steps use ${trigger.%s}, which only a "
                                    "trigger, or salvectl run --trigger, sets.", plan_name, trigger, used[0]);
                return -ENXIO;
        }
        if (used) {
                k = plan_check_trigger_vars(p, context, &error);
                if (k < 0) {
                        log_struct_internal(LOG_WARNING, k, NULL, NULL, plan_name, NULL,
                                            "Not starting plan %s (trigger %s): %s.", plan_name, trigger,
                                            error ?: strerror(-k));
                        return k == -ENOMEM ? k : -ENXIO;
                }
        }

        /* The same plan never runs twice at once for one instance: a new
         * trigger joins the active run, or (concurrency: queue) waits
         * behind it, once. */
        join = run_store_join_target(m->store, plan_name, instance, p->concurrency);
        if (join) {
                log_struct_internal(LOG_INFO, 0, NULL, join->id, plan_name, NULL,
                                    "Trigger %s joins run %s, which is already %s.", trigger, join->id,
                                    run_store_is_queued(m->store, join) ? "queued" : "running");
                if (ret_run_id) {
                        *ret_run_id = strdup(join->id);
                        if (!*ret_run_id)
                                return -ENOMEM;
                }
                return 0;
        }

        k = run_store_new_id(m->store, plan_name, &id);
        if (k < 0)
                return k;
        k = run_created_transition(id, p->name, p->path, p->source, trigger, reason, trigger_time ?: now, now, &t);
        if (k < 0)
                return k;
        if (context && !(t.trigger_context = strv_copy(context))) {
                transition_done(&t);
                return -ENOMEM;
        }
        k = manager_commit(m, &t);
        transition_done(&t);
        if (k < 0)
                return k;
        manager_schedule(m);
        if (ret_run_id)
                *ret_run_id = TAKE_PTR(id);
        return 0;
}

int manager_cancel_run(Manager *m, const char *run_id, const char *actor, const char *comment) {
        Run *r = run_store_find(m->store, run_id);
        Transition *t;
        size_t n;
        int k;

        if (!r)
                return -ENOENT;
        k = manager_check_writable(m);
        if (k < 0)
                return k;
        k = run_cancel(r, actor, comment, now_usec(CLOCK_REALTIME), &t, &n);
        if (k < 0)
                return k;
        k = commit_all(m, t, n);
        manager_schedule(m);
        return k;
}

int manager_ack(Manager *m, const char *run_id, const char *step_id, const char *actor, const char *via,
                const char *comment) {
        Run *r = run_store_find(m->store, run_id);
        Transition t;
        int k;

        if (!r)
                return -ESRCH;
        k = manager_check_writable(m);
        if (k < 0)
                return k;
        k = run_ack(r, step_id, actor, via, comment, now_usec(CLOCK_REALTIME), &t);
        if (k < 0)
                return k;
        k = manager_commit(m, &t);
        transition_done(&t);
        manager_schedule(m);
        return k;
}

int manager_act(Manager *m, const char *run_id, const char *step_id, StepAction action, const char *actor,
                const char *via, const char *comment) {
        Run *r = run_store_find(m->store, run_id);
        Transition *t;
        size_t n;
        int k;

        if (!r)
                return -ESRCH;
        k = manager_check_writable(m);
        if (k < 0)
                return k;
        k = run_act(r, step_id, action, actor, via, comment, now_usec(CLOCK_REALTIME), &t, &n);
        if (k < 0)
                return k;
        k = commit_all(m, t, n);
        manager_schedule(m);
        return k;
}

/* ---- plans ---- */

int manager_load_plans(Manager *m, PlanSet **ret, size_t *ret_errors) {
        Diagnostics d = {};
        int k;

        if (m->plan_dirs)
                k = plan_set_load_dirs((const char * const *) m->plan_dirs, 0, &d, ret);
        else
                k = plan_set_load_dirs(plan_set_default_dirs, PLAN_LOAD_SECURE, &d, ret);
        manager_log_diagnostics(&d);
        if (ret_errors)
                *ret_errors = d.n_errors;
        diagnostics_done(&d);
        return k;
}

int manager_reload(Manager *m, PlanSet *s, size_t n_errors, PlanSet **ret_old) {
        _cleanup_(plan_set_freep) PlanSet *new_set = s;
        int k = 0;

        /* Called by manager-reload.c when a reload has read every file:
         * the new set replaces the old in one step, or not at all. */
        if (new_set && n_errors > 0) {
                log_error("Reload: %zu error%s in the plan files; keeping the %zu plans loaded before.", n_errors,
                          n_errors == 1 ? "" : "s", m->plans->n_plans);
                k = -EINVAL;
        } else if (new_set) {
                /* The caller may free the old set piecemeal. */
                if (ret_old)
                        *ret_old = m->plans;
                else
                        plan_set_free(m->plans);
                m->plans = TAKE_PTR(new_set);
                log_info("Reloaded: %zu plans.", m->plans->n_plans);
                (void) manager_watch_update(m);
        }
        /* The people directory and the relay's channels are read again
         * with the plans; errors there keep what was loaded before. */
        (void) manager_relay_reload(m);
        free(m->last_status);
        m->last_status = NULL;
        manager_update_status(m);
        manager_metrics_changed(m);
        (void) sd_notify(false, "READY=1");
        return k;
}

/* ---- life cycle ---- */

int manager_new(sd_event *event, sd_bus *bus, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        unsigned seed = 0;
        int k;

        if (!event || !ret)
                return -EINVAL;
        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->bus = bus ? sd_bus_ref(bus) : NULL;
        /* Tests without a bus have no relay unless they set one up. */
        m->relay_disabled = !bus;
        m->polkit = true;
        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
                seed = (unsigned) now_usec(CLOCK_MONOTONIC);
        m->rand_state = seed;
        m->state_dir = strdup(SALVE_STATE_DIR);
        m->runtime_dir = strdup(getenv("RUNTIME_DIRECTORY") ?: SALVE_RUNTIME_DIR);
        if (!m->state_dir || !m->runtime_dir)
                return -ENOMEM;

        k = manager_add_listener(m, &(const ManagerListener) { "log", manager_log_transition, NULL });
        if (k < 0)
                return k;
        k = sd_event_add_defer(m->event, &m->schedule, on_schedule, m);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(m->schedule, "schedule");
        (void) sd_event_source_set_enabled(m->schedule, SD_EVENT_OFF);

        *ret = TAKE_PTR(m);
        return 0;
}

void manager_set_executor(Manager *m, const ExecutorOps *ops, Executor *e) {
        if (m->executor)
                m->exec_ops->free(m->executor);
        m->exec_ops = ops;
        m->executor = e;
}

/* Which boot this is, for "the host rebooted while it ran": a random id
 * kept in the runtime directory (/run is new every boot and survives
 * salved's restarts). Not the kernel's boot id: a service in a container
 * may see the host kernel's, the same across the container's boots. */
static int manager_read_boot_id(Manager *m, sd_id128_t *ret) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        char buf[SD_ID128_STRING_MAX + 1] = "";
        ssize_t n;
        int fd, k;

        if (asprintf(&path, "%s/boot-id", m->runtime_dir) < 0 || asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd >= 0) {
                n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (n >= 32) {
                        buf[32] = 0;
                        if (sd_id128_from_string(buf, ret) >= 0)
                                return 0;
                }
        }
        k = sd_id128_randomize(ret);
        if (k < 0)
                return k;
        if (mkdir(m->runtime_dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        sd_id128_to_string(*ret, buf);
        buf[32] = '\n';
        k = write(fd, buf, 33) == 33 ? 0 : -EIO;
        close(fd);
        if (k >= 0 && rename(tmp, path) < 0)
                k = negative_errno();
        return k;
}

/* salve's transient units that no running step owns: finished ones
 * (their results are journaled: a step is only over once it is) are
 * released, so they do not pile up across crashes. A unit still running
 * for a step the journal has ended (cancelled while salved went down) is
 * stopped, as the cancellation meant; one of a run the journal does not
 * know is left alone and logged. */
static void on_sweep_units(int k, char **units, void *userdata) {
        Manager *m = userdata;

        if (k < 0) {
                log_warning_errno(k, "Failed to list salve's transient units, ignoring: %m");
                return;
        }
        STRV_FOREACH(u, units) {
                char name[256], active[32], sub[32];
                bool owned = false, known = false, ended;

                if (sscanf(*u, "%255s %31s %31s", name, active, sub) != 3)
                        continue;
                /* Only the transient units of steps, which never have an
                 * "@" (exec_unit_name()): not the gates
                 * (salve-gate@UNIT.service), whose start may be waiting
                 * right now for this salved's decision, nor other
                 * instances of some salve-*@ template. */
                if (strchr(name, '@'))
                        continue;
                for (size_t i = 0; i < m->store->n_runs && !owned; i++) {
                        const Run *r = m->store->runs[i];
                        _cleanup_free_ char *prefix = NULL;
                        if (asprintf(&prefix, "salve-%s-", r->id) < 0)
                                return;
                        if (!string_has_prefix(name, prefix))
                                continue;
                        known = true;
                        RunContext *c = manager_find_context(m, r->id);
                        for (size_t s = 0; c && s < r->plan->n_steps && !owned; s++)
                                owned = c->jobs[s] && r->steps[s].state == STEP_RUNNING &&
                                        m->exec_ops->job_owns_unit(c->jobs[s], name);
                }
                for (size_t i = 0; i < m->n_unjournaled && !owned; i++)
                        owned = streq_ptr(m->unjournaled[i].unit, name);       /* it holds a result */
                if (owned)
                        continue;
                ended = streq(active, "failed") || streq(active, "inactive") ||
                        (streq(active, "active") && streq(sub, "exited"));
                if (ended || known) {
                        log_info("Releasing %s (%s/%s): no running step owns it.", name, active, sub);
                        m->exec_ops->release_unit(m->executor, name);
                } else
                        log_warning("%s (%s/%s) belongs to no run salved knows; leaving it alone.", name, active, sub);
        }
}

static void manager_sweep_units(Manager *m) {
        int k = m->exec_ops->list_units(m->executor, "salve-*.service", on_sweep_units, m);
        if (k < 0)
                log_warning_errno(k, "Failed to list salve's transient units, ignoring: %m");
}

/* A long step's progress: kept on the run (not journaled), sent on the
 * bus, and the RTO projection looked at again with the live ETA. */
static void on_step_progress(ExecJob *job, const ExecProgress *p, void *job_userdata, void *userdata) {
        Manager *m = userdata;
        StepCall *call = job_userdata;
        Run *r;

        if (!call || !call->context || (call->phase != CALL_STEP && call->phase != CALL_RESUMED))
                return;
        r = run_store_find(m->store, call->context->run_id);
        if (!r || run_set_progress(r, call->step, p->percent, p->eta, now_usec(CLOCK_REALTIME), p->text) < 0)
                return;
        manager_bus_emit_step_progress(m, r, call->step);
        manager_schedule(m);
}

int manager_startup(Manager *m) {
        sd_id128_t boot;
        size_t errors = 0;
        int k;

        k = manager_read_boot_id(m, &boot);
        if (k < 0)
                return log_error_errno(k, "Failed to set up this boot's id in %s: %m", m->runtime_dir);
        sd_id128_to_string(boot, m->boot_id);

        k = manager_open_journal(m);
        if (k < 0)
                return k;

        k = manager_load_plans(m, &m->plans, &errors);
        if (k < 0)
                return log_error_errno(k, "Failed to load plans: %m");
        log_info("Loaded %zu plans%s.", m->plans->n_plans, errors > 0 ? " (some files have errors, see above)" : "");

        if (m->bus) {
                k = bus_queue_new(m->bus, MANAGER_SYSTEMD_CALLS_MAX, &m->systemd_calls);
                if (k >= 0)
                        k = polkit_authority_new(m->bus, &m->authority);
                if (k < 0)
                        return log_error_errno(k, "Failed to set up the bounded bus call queues: %m");
        }
        if (!m->executor) {
                if (!m->bus)
                        return log_error_errno(-EINVAL, "No bus and no executor: nothing can run steps.");
                k = executor_new(m->event, m->bus, m->systemd_calls, &m->executor);
                if (k < 0)
                        return log_error_errno(k, "Failed to set up the executor: %m");
                m->exec_ops = &executor_systemd_ops;
        }
        if (m->exec_ops->set_progress_handler)
                m->exec_ops->set_progress_handler(m->executor, on_step_progress, m);
        if (m->bus) {
                k = manager_add_listener(m, &(const ManagerListener) { "bus", manager_bus_on_transition, NULL });
                if (k < 0)
                        return log_oom();
                k = manager_bus_setup(m);
                if (k < 0)
                        return k;
        }

        k = manager_holds_setup(m);
        if (k < 0)
                return log_error_errno(k, "Failed to set up the gates directory in %s: %m", m->runtime_dir);
        k = manager_metrics_setup(m);
        if (k < 0)
                return k;

        /* Before anything moves: the relay hears of every transition from
         * here on, and first catches up with what the journal holds. */
        {
                sd_id128_t mid;
                if (sd_id128_get_machine(&mid) >= 0)
                        sd_id128_to_string(mid, m->machine_id);
        }
        k = manager_relay_setup(m);
        if (k < 0)
                return k;

        /* Resume what was in flight: the only place where "running" in the
         * journal is reconciled with what systemd knows. Nothing of a run
         * is scheduled that the journal shows running. */
        for (size_t i = 0; i < m->store->n_runs; i++)
                if (run_set_boot_id(m->store->runs[i], m->boot_id) < 0)
                        return log_oom();
        for (size_t i = 0; i < m->store->n_runs; i++) {
                Run *r = m->store->runs[i];
                RunContext *c;
                size_t n = 0;

                if (run_is_finished(r))
                        continue;
                k = manager_add_context(m, r, &c);
                if (k < 0)
                        return log_oom();
                n = run_count_steps(r, STEP_RUNNING);
                log_struct_internal(LOG_NOTICE, 0, NULL, r->id, r->plan->name, NULL,
                                    "Resuming run %s (%zu step%s running).", r->id, n, n == 1 ? " was" : "s were");
                for (size_t s = 0; s < r->plan->n_steps; s++) {
                        if (r->steps[s].state == STEP_RUNNING)
                                resume_step(m, c, r, s);
                        else if (r->steps[s].state == STEP_WAITING)
                                manager_bus_emit_human_waiting(m, r, (ssize_t) s);
                }
        }
        manager_sweep_units(m);
        (void) manager_watch_update(m);         /* a source it cannot watch is logged, never fatal */

        manager_boot_triggers(m);
        /* Before READY=1 and before any step starts: the gates wait for it. */
        k = manager_holds_decide(m);
        if (k < 0)
                return k;
        manager_schedule(m);
        manager_update_status(m);
        return 0;
}

int manager_run(Manager *m) {
        (void) sd_notify(false, "READY=1");
        return sd_event_loop(m->event);
}
