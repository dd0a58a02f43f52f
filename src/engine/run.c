/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdarg.h>

#include "plan-load.h"
#include "trigger-vars.h"
#include "run.h"
#include "string-table.h"

static const char *const step_state_table[_STEP_STATE_MAX] = {
        [STEP_PENDING] = "pending",
        [STEP_RUNNING] = "running",
        [STEP_WAITING] = "waiting",
        [STEP_SUCCEEDED] = "succeeded",
        [STEP_FAILED] = "failed",
        [STEP_SKIPPED] = "skipped",
        [STEP_CANCELLED] = "cancelled",
        [STEP_INTERRUPTED] = "interrupted",
};

static const char *const run_state_table[_RUN_STATE_MAX] = {
        [RUN_RUNNING] = "running",
        [RUN_WAITING] = "waiting",
        [RUN_INTERRUPTED] = "interrupted",
        [RUN_SUCCEEDED] = "succeeded",
        [RUN_FAILED] = "failed",
        [RUN_CANCELLED] = "cancelled",
};

static const char *const rto_state_table[_RTO_STATE_MAX] = {
        [RTO_OK] = "ok",
        [RTO_AT_RISK] = "at-risk",
        [RTO_BREACHED] = "breached",
};

static const char *const step_action_table[_ACTION_MAX] = {
        [ACTION_APPROVE] = "approve",
        [ACTION_REJECT] = "reject",
        [ACTION_DONE] = "done",
        [ACTION_FAIL] = "fail",
        [ACTION_RETRY] = "retry",
        [ACTION_SKIP] = "skip",
        [ACTION_ABORT] = "abort",
};

static const char *const transition_kind_table[_TRANSITION_KIND_MAX] = {
        [TRANSITION_RUN_CREATED] = "run-created",
        [TRANSITION_STEP] = "step",
        [TRANSITION_RUN_FINISHED] = "run-finished",
        [TRANSITION_RTO] = "rto",
        [TRANSITION_HOLD_RELEASED] = "hold-released",
        [TRANSITION_HUMAN] = "human",
};

DEFINE_STRING_TABLE(step_state, StepState, step_state_table, _STEP_STATE_MAX)
DEFINE_STRING_TABLE(run_state, RunState, run_state_table, _RUN_STATE_MAX)
DEFINE_STRING_TABLE(rto_state, RtoState, rto_state_table, _RTO_STATE_MAX)
DEFINE_STRING_TABLE(step_action, StepAction, step_action_table, _ACTION_MAX)
DEFINE_STRING_TABLE(transition_kind, TransitionKind, transition_kind_table, _TRANSITION_KIND_MAX)

void transition_done(Transition *t) {
        free(t->run_id);
        free(t->plan_name);
        free(t->plan_path);
        free(t->plan_source);
        free(t->trigger);
        free(t->reason);
        strv_free(t->trigger_context);
        free(t->step_id);
        free(t->boot_id);
        free(t->message);
        free(t->actor);
        free(t->comment);
        free(t->unit);
        strv_free(t->recipients);
        free(t->via);
        *t = (Transition) {};
}

static int strdup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int transition_copy(const Transition *t, Transition *ret) {
        Transition c = *t;

        c.run_id = c.plan_name = c.plan_path = c.plan_source = c.trigger = c.reason = NULL;
        c.step_id = c.boot_id = c.message = c.actor = c.comment = c.unit = NULL;
        c.trigger_context = c.recipients = NULL;
        c.via = NULL;
        if ((t->trigger_context && !(c.trigger_context = strv_copy(t->trigger_context))) ||
            (t->recipients && !(c.recipients = strv_copy(t->recipients))) || strdup_or_null(t->via, &c.via) < 0) {
                transition_done(&c);
                return -ENOMEM;
        }
        if (strdup_or_null(t->run_id, &c.run_id) < 0 || strdup_or_null(t->plan_name, &c.plan_name) < 0 ||
            strdup_or_null(t->plan_path, &c.plan_path) < 0 || strdup_or_null(t->plan_source, &c.plan_source) < 0 ||
            strdup_or_null(t->trigger, &c.trigger) < 0 || strdup_or_null(t->reason, &c.reason) < 0 ||
            strdup_or_null(t->step_id, &c.step_id) < 0 || strdup_or_null(t->boot_id, &c.boot_id) < 0 ||
            strdup_or_null(t->message, &c.message) < 0 || strdup_or_null(t->actor, &c.actor) < 0 ||
            strdup_or_null(t->comment, &c.comment) < 0 || strdup_or_null(t->unit, &c.unit) < 0) {
                transition_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

void transitions_free(Transition *t, size_t n) {
        for (size_t i = 0; t && i < n; i++)
                transition_done(t + i);
        free(t);
}


static bool step_state_is_terminal(StepState s) {
        return s == STEP_SUCCEEDED || s == STEP_FAILED || s == STEP_SKIPPED || s == STEP_CANCELLED;
}

static bool step_participates(const Run *r, size_t i) {
        return !r->plan->steps[i].is_handler || r->steps[i].activated;
}

typedef enum NeedStatus {
        NEED_WAIT,
        NEED_OK,
        NEED_NEVER,
} NeedStatus;

/* Whether what step j did lets the steps that need it go ahead. A failure
 * is fine after `on-failure: continue`, or once its handler succeeded. */
static NeedStatus need_status(const Run *r, size_t j) {
        const Step *s = r->plan->steps + j;

        switch (r->steps[j].state) {
        case STEP_SUCCEEDED:
        case STEP_SKIPPED:
                return NEED_OK;
        case STEP_CANCELLED:
                return NEED_NEVER;
        case STEP_FAILED:
                if (s->on_failure == ON_FAILURE_CONTINUE)
                        return NEED_OK;
                if (s->on_failure == ON_FAILURE_HANDLER) {
                        StepState h = r->steps[s->on_failure_index].state;
                        if (h == STEP_SUCCEEDED)
                                return NEED_OK;
                        return step_state_is_terminal(h) ? NEED_NEVER : NEED_WAIT;
                }
                return NEED_NEVER;
        default:
                return NEED_WAIT;
        }
}

/* The step whose failure ends the run, if any. */
static ssize_t run_fatal_step(const Run *r) {
        if (r->n_fatal == 0)
                return -1;
        for (size_t i = 0; i < r->plan->n_steps; i++)
                if (r->fatal[i])
                        return (ssize_t) i;
        return -1;
}

/* ---- caches ---- */

static void ready_set(Run *r, size_t i, bool on) {
        size_t pos = r->plan->order_pos[i];
        uint64_t bit = UINT64_C(1) << (pos % 64);

        if (on)
                r->ready[pos / 64] |= bit;
        else
                r->ready[pos / 64] &= ~bit;
}

static bool step_is_ready(const Run *r, size_t i) {
        return r->steps[i].state == STEP_PENDING && step_participates(r, i) && (r->unmet[i] == 0 || r->never[i] > 0);
}

static bool step_is_fatal(const Run *r, size_t i) {
        const Step *s = r->plan->steps + i;

        if (r->steps[i].state != STEP_FAILED || !step_participates(r, i))
                return false;
        return s->on_failure == ON_FAILURE_ABORT ||
               (s->on_failure == ON_FAILURE_HANDLER && need_status(r, i) == NEED_NEVER);
}

static bool step_is_open(const Run *r, size_t i) {
        return step_participates(r, i) && !step_state_is_terminal(r->steps[i].state);
}

static void update_fatal(Run *r, size_t i) {
        bool f = step_is_fatal(r, i);

        if (f == r->fatal[i])
                return;
        r->fatal[i] = f;
        if (f)
                r->n_fatal++;
        else
                r->n_fatal--;
}

/* Step j's meaning to the steps that need it may have changed: carry it
 * to their counts. */
static void update_need(Run *r, size_t j) {
        NeedStatus old = (NeedStatus) r->need[j], now = need_status(r, j);
        const Plan *p = r->plan;

        if (old == now)
                return;
        r->need[j] = (unsigned char) now;
        for (size_t k = 0; k < p->n_dependents[j]; k++) {
                size_t d = p->dependents[j][k];
                if (old == NEED_OK)
                        r->unmet[d]++;
                if (now == NEED_OK)
                        r->unmet[d]--;
                if (old == NEED_NEVER)
                        r->never[d]--;
                if (now == NEED_NEVER)
                        r->never[d]++;
                ready_set(r, d, step_is_ready(r, d));
        }
}

static int run_caches_init(Run *r) {
        const Plan *p = r->plan;
        size_t n = MAX(p->n_steps, 1u);

        r->need = calloc(n, sizeof(unsigned char));
        r->fatal = calloc(n, sizeof(bool));
        r->unmet = calloc(n, sizeof(uint32_t));
        r->never = calloc(n, sizeof(uint32_t));
        r->ready = calloc((n + 63) / 64, sizeof(uint64_t));
        if (!r->need || !r->fatal || !r->unmet || !r->never || !r->ready)
                return -ENOMEM;
        r->count[STEP_PENDING] = p->n_steps;
        for (size_t i = 0; i < p->n_steps; i++) {
                r->need[i] = NEED_WAIT;
                r->unmet[i] = (uint32_t) strv_length(p->steps[i].needs);
                r->n_open += step_is_open(r, i);
                ready_set(r, i, step_is_ready(r, i));
        }
        return 0;
}

bool run_step_is_ready(const Run *r, size_t i) {
        return i < r->plan->n_steps && !run_is_finished(r) && step_is_ready(r, i) && r->never[i] == 0;
}

const char *run_step_state_string(const Run *r, size_t i) {
        return run_step_is_ready(r, i) ? "ready" : step_state_to_string(r->steps[i].state);
}

int run_verify_caches(const Run *r) {
        const Plan *p = r->plan;
        size_t count[_STEP_STATE_MAX] = {}, backoff = 0, open = 0, fatal = 0;

        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = p->steps + i;
                uint32_t unmet = 0, never = 0;
                bool bit;

                count[r->steps[i].state]++;
                backoff += r->steps[i].state == STEP_PENDING && r->steps[i].not_before > 0;
                open += step_is_open(r, i);
                fatal += step_is_fatal(r, i);
                if (r->fatal[i] != step_is_fatal(r, i) || r->need[i] != need_status(r, i))
                        return -EUCLEAN;
                for (size_t k = 0; s->needs && s->needs[k]; k++) {
                        NeedStatus ns = need_status(r, s->needs_index[k]);
                        unmet += ns != NEED_OK;
                        never += ns == NEED_NEVER;
                }
                if (unmet != r->unmet[i] || never != r->never[i])
                        return -EUCLEAN;
                bit = r->ready[p->order_pos[i] / 64] & (UINT64_C(1) << (p->order_pos[i] % 64));
                if (bit != step_is_ready(r, i))
                        return -EUCLEAN;
        }
        if (memcmp(count, r->count, sizeof(count)) != 0 || backoff != r->n_backoff || open != r->n_open ||
            fatal != r->n_fatal)
                return -EUCLEAN;
        return 0;
}

int run_created_transition(const char *run_id, const char *plan_name, const char *plan_path,
                           const char *plan_source, const char *trigger, const char *reason, usec_t trigger_time,
                           usec_t now, Transition *ret) {
        Transition t = {
                .kind = TRANSITION_RUN_CREATED,
                .at = now,
                .trigger_time = trigger_time,
        };

        if (strdup_or_null(run_id, &t.run_id) < 0 || strdup_or_null(plan_name, &t.plan_name) < 0 ||
            strdup_or_null(plan_path, &t.plan_path) < 0 || strdup_or_null(plan_source, &t.plan_source) < 0 ||
            strdup_or_null(trigger, &t.trigger) < 0 || strdup_or_null(reason, &t.reason) < 0) {
                transition_done(&t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

int run_new_from_plan(Plan *plan, const char *run_id, const char *trigger, usec_t created, Run **ret) {
        _cleanup_(plan_freep) Plan *p = plan;
        _cleanup_(run_freep) Run *r = NULL;
        int k;

        if (!p || !run_id || !p->order)
                return -EINVAL;
        r = calloc(1, sizeof(Run));
        if (!r)
                return -ENOMEM;
        r->plan = TAKE_PTR(p);
        r->steps = calloc(MAX(r->plan->n_steps, 1u), sizeof(StepRun));
        if (!r->steps || strdup_or_null(run_id, &r->id) < 0 || strdup_or_null(trigger ?: "manual", &r->trigger) < 0 ||
            strdup_or_null("", &r->instance) < 0)
                return -ENOMEM;
        r->created = r->trigger_time = created;
        k = run_caches_init(r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

int run_new(const Transition *c, Run **ret) {
        _cleanup_(run_freep) Run *r = NULL;
        _cleanup_free_ char *instance = NULL;
        Plan *plan = NULL;
        Diagnostics d = {};
        int k;

        if (c->kind != TRANSITION_RUN_CREATED || !c->run_id || !c->plan_source || !c->plan_name)
                return -EINVAL;

        k = plan_load_buffer(c->plan_path ?: c->plan_name, c->plan_source, strlen(c->plan_source), &d, &plan);
        diagnostics_done(&d);
        if (k < 0)
                return k == -ENOMEM ? k : -EBADMSG;
        if (!streq(plan->name, c->plan_name)) {
                plan_free(plan);
                return -EBADMSG;
        }
        k = plan_instance_from_context(plan, c->trigger_context, &instance);
        if (k < 0) {
                plan_free(plan);
                return k;
        }
        if (c->trigger_context) {
                _cleanup_free_ char *error = NULL;
                /* Checked before the run was journaled: failing here means the record is not salve's. */
                k = plan_expand_trigger_vars(plan, c->trigger_context, &error);
                if (k < 0) {
                        plan_free(plan);
                        return k == -ENOMEM ? k : -EBADMSG;
                }
        }
        k = run_new_from_plan(plan, c->run_id, c->trigger, c->at, &r);
        if (k < 0)
                return k;
        if (strdup_or_null(c->plan_source, &r->plan_source) < 0 || strdup_or_null(c->reason, &r->reason) < 0)
                return -ENOMEM;
        if (c->trigger_context && !(r->trigger_context = strv_copy(c->trigger_context)))
                return -ENOMEM;
        free(r->instance);
        r->instance = TAKE_PTR(instance);
        r->trigger_time = c->trigger_time ?: c->at;
        *ret = TAKE_PTR(r);
        return 0;
}

Run *run_free(Run *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; r->plan && r->steps && i < r->plan->n_steps; i++) {
                free(r->steps[i].message);
                free(r->steps[i].actor);
                free(r->steps[i].via);
                free(r->steps[i].comment);
                free(r->steps[i].boot_id);
                free(r->steps[i].progress_text);
                human_state_done(&r->steps[i].human);
        }
        free(r->steps);
        for (size_t i = 0; i < r->n_releases; i++) {
                free(r->releases[i].unit);
                free(r->releases[i].actor);
                free(r->releases[i].comment);
        }
        free(r->releases);
        for (size_t i = 0; i < r->n_history; i++)
                free(r->history[i]);
        free(r->history);
        free(r->history_size);
        free(r->boot_id);
        strv_free(r->trigger_context);
        free(r->instance);
        free(r->need);
        free(r->fatal);
        free(r->unmet);
        free(r->never);
        free(r->ready);
        plan_free(r->plan);
        free(r->id);
        free(r->plan_source);
        free(r->trigger);
        free(r->reason);
        free(r->final_message);
        free(r);
        return NULL;
}

static int replace_string(char **p, const char *s) {
        char *n = NULL;
        if (s && !(n = strdup(s)))
                return -ENOMEM;
        free(*p);
        *p = n;
        return 0;
}

int run_apply(Run *r, const Transition *t) {
        ssize_t i;

        if (!streq_ptr(t->run_id, r->id))
                return -EINVAL;

        switch (t->kind) {
        case TRANSITION_STEP: {
                const Step *s;
                StepRun *x;
                StepState was;

                if (!t->step_id || t->state < 0 || t->state >= _STEP_STATE_MAX)
                        return -EINVAL;
                i = plan_find_step(r->plan, t->step_id);
                if (i < 0)
                        return -EINVAL;
                s = r->plan->steps + i;
                x = r->steps + i;
                if (replace_string(&x->message, t->message) < 0 || replace_string(&x->actor, t->actor) < 0 ||
                    replace_string(&x->comment, t->comment) < 0 || replace_string(&x->via, t->via) < 0)
                        return -ENOMEM;
                was = x->state;
                if (t->state != was) {
                        /* A new state: the last progress report no longer applies. */
                        x->eta_at = 0;
                        x->progress_text = mfree(x->progress_text);
                }
                r->count[x->state]--;
                r->n_backoff -= x->state == STEP_PENDING && x->not_before > 0;
                r->n_open -= step_is_open(r, (size_t) i);
                x->state = t->state;
                x->attempt = t->attempt;
                x->not_before = t->state == STEP_PENDING ? t->not_before : 0;
                r->count[x->state]++;
                r->n_backoff += x->state == STEP_PENDING && x->not_before > 0;
                r->n_open += step_is_open(r, (size_t) i);
                if (t->state == STEP_RUNNING && replace_string(&x->boot_id, t->boot_id) < 0)
                        return -ENOMEM;
                if (t->state == STEP_RUNNING || t->state == STEP_WAITING) {
                        x->started = t->at;
                        x->finished = 0;
                } else if (t->state == STEP_INTERRUPTED ||
                           (step_state_is_terminal(t->state) && !(was == STEP_INTERRUPTED && x->finished > 0)))
                        /* An interrupted attempt ended when salved found it so: skipping,
                         * aborting or cancelling it later does not lengthen it. */
                        x->finished = t->at;
                if (t->started)
                        x->started = t->started;
                if (t->state == STEP_WAITING && x->human.attempt != t->attempt) {
                        /* A new wait: a new escalation. */
                        human_state_done(&x->human);
                        x->human.attempt = t->attempt;
                }
                if (t->state == STEP_FAILED && s->on_failure == ON_FAILURE_HANDLER &&
                    !r->steps[s->on_failure_index].activated) {
                        size_t h = s->on_failure_index;
                        r->steps[h].activated = true;
                        r->n_open += step_is_open(r, h);
                        ready_set(r, h, step_is_ready(r, h));
                        update_fatal(r, h);
                }
                /* What this step's state means to others, and to the steps it handles. */
                update_need(r, (size_t) i);
                update_fatal(r, (size_t) i);
                for (size_t k = 0; k < r->plan->n_handles[i]; k++) {
                        size_t f = r->plan->handles[i][k];
                        update_need(r, f);
                        update_fatal(r, f);
                }
                ready_set(r, (size_t) i, step_is_ready(r, (size_t) i));
                return 0;
        }

        case TRANSITION_RUN_FINISHED:
                if (t->run_state != RUN_SUCCEEDED && t->run_state != RUN_FAILED && t->run_state != RUN_CANCELLED)
                        return -EINVAL;
                if (replace_string(&r->final_message, t->message) < 0)
                        return -ENOMEM;
                r->final_state = t->run_state;
                r->finished = t->at ?: 1;
                return 0;

        case TRANSITION_RTO:
                if (t->rto_state < 0 || t->rto_state >= _RTO_STATE_MAX)
                        return -EINVAL;
                r->rto_state = t->rto_state;
                r->projected = t->projected;
                r->rto_at = t->at;
                return 0;

        case TRANSITION_HOLD_RELEASED: {
                HoldRelease *n, h = { .at = t->at };
                if (!t->unit || !strv_contains(r->plan->holds, t->unit))
                        return -EINVAL;
                n = reallocarray(r->releases, r->n_releases + 1, sizeof(HoldRelease));
                if (!n)
                        return -ENOMEM;
                r->releases = n;
                if (strdup_or_null(t->unit, &h.unit) < 0 || strdup_or_null(t->actor, &h.actor) < 0 ||
                    strdup_or_null(t->comment, &h.comment) < 0) {
                        free(h.unit);
                        free(h.actor);
                        return -ENOMEM;
                }
                r->releases[r->n_releases++] = h;
                return 0;
        }

        case TRANSITION_HUMAN:
                i = t->step_id ? plan_find_step(r->plan, t->step_id) : -1;
                if (i < 0)
                        return -EINVAL;
                return run_apply_human(r, (size_t) i, t);

        default:
                return -EINVAL;
        }
}

bool run_is_finished(const Run *r) {
        return r->finished != 0;
}

size_t run_count_steps(const Run *r, StepState s) {
        return s >= 0 && s < _STEP_STATE_MAX ? r->count[s] : 0;
}

RunState run_state(const Run *r) {
        if (run_is_finished(r))
                return r->final_state;
        if (r->count[STEP_RUNNING] > 0)
                return RUN_RUNNING;
        if (r->count[STEP_INTERRUPTED] > 0)
                return RUN_INTERRUPTED;
        return r->count[STEP_WAITING] > 0 || r->n_backoff > 0 ? RUN_WAITING : RUN_RUNNING;
}

typedef struct Batch {
        Transition *items;
        size_t n, max;
} Batch;

static Transition *batch_add(Batch *b, const Run *r, TransitionKind kind, usec_t now) {
        Transition *t;

        if (b->n >= b->max) {
                size_t m = MAX(b->max * 2, 8u);
                Transition *n = realloc(b->items, m * sizeof(Transition));
                if (!n)
                        return NULL;
                b->items = n;
                b->max = m;
        }
        t = b->items + b->n;
        *t = (Transition) { .kind = kind, .at = now };
        t->run_id = strdup(r->id);
        if (!t->run_id)
                return NULL;
        b->n++;
        return t;
}

static int batch_step(Batch *b, const Run *r, size_t i, StepState state, unsigned attempt, usec_t now,
                      const char *actor, const char *comment, const char *format, ...) _printf_(9, 10);
static int batch_step(Batch *b, const Run *r, size_t i, StepState state, unsigned attempt, usec_t now,
                      const char *actor, const char *comment, const char *format, ...) {
        Transition *t = batch_add(b, r, TRANSITION_STEP, now);
        va_list ap;
        int k;

        if (!t)
                return -ENOMEM;
        t->state = state;
        t->attempt = attempt;
        t->step_id = strdup(r->plan->steps[i].id);
        if (!t->step_id)
                return -ENOMEM;
        if (strdup_or_null(actor, &t->actor) < 0 || strdup_or_null(comment, &t->comment) < 0)
                return -ENOMEM;
        if (format) {
                va_start(ap, format);
                k = vasprintf(&t->message, format, ap);
                va_end(ap);
                if (k < 0) {
                        t->message = NULL;
                        return -ENOMEM;
                }
        }
        return 0;
}

static int batch_finish(Batch *b, const Run *r, RunState state, usec_t now, const char *format, ...)
        _printf_(5, 6);
static int batch_finish(Batch *b, const Run *r, RunState state, usec_t now, const char *format, ...) {
        Transition *t = batch_add(b, r, TRANSITION_RUN_FINISHED, now);
        va_list ap;
        int k;

        if (!t)
                return -ENOMEM;
        t->run_state = state;
        va_start(ap, format);
        k = vasprintf(&t->message, format, ap);
        va_end(ap);
        if (k < 0) {
                t->message = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int batch_return(Batch *b, int r, Transition **ret, size_t *ret_n) {
        if (r < 0) {
                transitions_free(b->items, b->n);
                return r;
        }
        *ret = b->items;
        *ret_n = b->n;
        return 0;
}

/* Ends the run: every unfinished step is cancelled, then the verdict. */
static int batch_wind_down(Batch *b, const Run *r, RunState verdict, usec_t now, const char *why) {
        int k;

        for (size_t i = 0; i < r->plan->n_steps; i++) {
                StepState s = r->steps[i].state;
                if (step_state_is_terminal(s))
                        continue;
                if (s == STEP_PENDING && !step_participates(r, i))
                        k = batch_step(b, r, i, STEP_SKIPPED, r->steps[i].attempt, now, NULL, NULL,
                                       "not needed: the step it handles did not fail");
                else
                        k = batch_step(b, r, i, STEP_CANCELLED, r->steps[i].attempt, now, NULL, NULL, "%s", why);
                if (k < 0)
                        return k;
        }
        return batch_finish(b, r, verdict, now, "%s", why);
}

int run_plan_next(const Run *r, usec_t now, Transition **ret, size_t *ret_n, usec_t *ret_wake) {
        const Plan *p = r->plan;
        Batch b = {};
        size_t running = r->count[STEP_RUNNING];
        usec_t wake = USEC_INFINITY;
        ssize_t fatal;
        int k = 0;

        *ret_wake = USEC_INFINITY;
        if (run_is_finished(r))
                return batch_return(&b, 0, ret, ret_n);

        fatal = run_fatal_step(r);
        if (fatal >= 0) {
                _cleanup_free_ char *why = NULL;
                if (asprintf(&why, "the run failed: step \"%s\" failed (%s)", p->steps[fatal].id,
                             strna(r->steps[fatal].message)) < 0)
                        return -ENOMEM;
                k = batch_wind_down(&b, r, RUN_FAILED, now, why);
                return batch_return(&b, k, ret, ret_n);
        }

        /* Only the steps that are PENDING with every need decided: in
         * execution order, by their bit in the ready map. */
        for (size_t w = 0; w < (p->n_steps + 63) / 64 && k >= 0; w++) {
                uint64_t bits = r->ready[w];

                while (bits != 0 && k >= 0) {
                        size_t i = p->order[w * 64 + (size_t) __builtin_ctzll(bits)];
                        const Step *s = p->steps + i;
                        const StepRun *x = r->steps + i;

                        bits &= bits - 1;
                        if (r->never[i] > 0) {
                                size_t blocker = 0;
                                for (size_t n = 0; s->needs && s->needs[n]; n++)
                                        if (r->need[s->needs_index[n]] == NEED_NEVER) {
                                                blocker = s->needs_index[n];
                                                break;
                                        }
                                k = batch_step(&b, r, i, STEP_CANCELLED, x->attempt, now, NULL, NULL,
                                               "not run: it needs \"%s\", which %s", p->steps[blocker].id,
                                               step_state_to_string(r->steps[blocker].state));
                                continue;
                        }
                        if (x->not_before > now) {
                                wake = MIN(wake, x->not_before);
                                continue;
                        }
                        if (step_kind_is_human(s->kind))
                                k = batch_step(&b, r, i, STEP_WAITING, x->attempt + 1, now, NULL, NULL,
                                               "waiting for %s", s->owner ?: p->owner ?: "a person");
                        else if (running < p->parallel) {
                                char a[FORMAT_ATTEMPT_MAX];

                                running++;
                                /* Past retry_attempts: run again after a restart, or by a person's retry. */
                                k = batch_step(&b, r, i, STEP_RUNNING, x->attempt + 1, now, NULL, NULL, "%s",
                                               format_attempt(a, x->attempt + 1, s->retry_attempts));
                                if (k >= 0)
                                        k = strdup_or_null(r->boot_id, &b.items[b.n - 1].boot_id);
                        }
                }
        }
        if (k >= 0 && b.n == 0 && r->n_open == 0)
                k = batch_wind_down(&b, r, RUN_SUCCEEDED, now, "all steps finished");
        if (k >= 0)
                *ret_wake = wake;
        return batch_return(&b, k, ret, ret_n);
}

char *format_attempt(char buf[static FORMAT_ATTEMPT_MAX], unsigned attempt, unsigned attempts) {
        attempts = MAX(attempts, 1u);
        if (attempt <= attempts)
                snprintf(buf, FORMAT_ATTEMPT_MAX, "attempt %u of %u", attempt, attempts);
        else
                snprintf(buf, FORMAT_ATTEMPT_MAX, "attempt %u (a re-run, beyond the plan's %u attempt%s)", attempt,
                         attempts, attempts == 1 ? "" : "s");
        return buf;
}

int run_step_result(const Run *r, size_t i, bool success, const char *message, usec_t now, double jitter,
                    Transition *ret) {
        const Step *s;
        const StepRun *x;
        Batch b = {};
        int k;

        if (i >= r->plan->n_steps || r->steps[i].state != STEP_RUNNING)
                return -ESTALE;
        s = r->plan->steps + i;
        x = r->steps + i;

        if (success)
                k = batch_step(&b, r, i, STEP_SUCCEEDED, x->attempt, now, NULL, NULL, "%s", strna(message));
        else if (x->attempt < s->retry_attempts) {
                usec_t delay = s->retry_backoff;
                char buf[FORMAT_DURATION_MAX];

                for (unsigned a = 1; a < x->attempt && delay < USEC_PER_HOUR; a++)
                        delay *= 2;
                delay = MIN(delay, USEC_PER_HOUR);
                delay += (usec_t) (delay * 0.1 * (jitter < 0 ? 0 : jitter >= 1 ? 0.999 : jitter));
                k = batch_step(&b, r, i, STEP_PENDING, x->attempt, now, NULL, NULL,
                               "attempt %u of %u failed (%s); retrying in %s", x->attempt, s->retry_attempts,
                               strna(message), format_duration(buf, delay));
                if (k >= 0)
                        b.items[0].not_before = now + delay;
        } else
                k = batch_step(&b, r, i, STEP_FAILED, x->attempt, now, NULL, NULL, "%s", strna(message));
        if (k < 0) {
                transitions_free(b.items, b.n);
                return k;
        }
        *ret = b.items[0];
        free(b.items);
        return 0;
}

int run_step_condition_failed(const Run *r, size_t i, const char *why, usec_t now, Transition *ret) {
        Batch b = {};
        int k;

        if (i >= r->plan->n_steps || r->steps[i].state != STEP_RUNNING)
                return -ESTALE;
        k = batch_step(&b, r, i, STEP_SKIPPED, r->steps[i].attempt, now, NULL, NULL, "condition not met: %s",
                       strna(why));
        if (k < 0) {
                transitions_free(b.items, b.n);
                return k;
        }
        *ret = b.items[0];
        free(b.items);
        return 0;
}

/* Acting on a waiting human step acknowledges it too, if nobody had: the
 * record then says who took it and when, and escalation stops. */
static int batch_implied_ack(Batch *b, const Run *r, size_t i, StepAction action, const char *actor, usec_t now) {
        Transition *t, ack;
        int k;

        if (!step_kind_is_human(r->plan->steps[i].kind) || r->steps[i].state != STEP_WAITING ||
            r->steps[i].human.acked_at != 0)
                return 0;
        k = run_ack(r, r->plan->steps[i].id, actor, step_action_to_string(action), NULL, now, &ack);
        if (k < 0)
                return k;
        t = batch_add(b, r, TRANSITION_HUMAN, now);
        if (!t) {
                transition_done(&ack);
                return -ENOMEM;
        }
        free(t->run_id);
        *t = ack;
        return 0;
}

int run_act(const Run *r, const char *step_id, StepAction action, const char *actor, const char *via,
            const char *comment, usec_t now, Transition **ret, size_t *ret_n) {
        const Step *s;
        const StepRun *x;
        Batch b = {};
        ssize_t i;
        int k;

        i = plan_find_step(r->plan, step_id);
        if (i < 0)
                return -ENOENT;
        if (run_is_finished(r))
                return -EBUSY;
        s = r->plan->steps + i;
        x = r->steps + i;

        switch (action) {
        case ACTION_APPROVE:
        case ACTION_REJECT:
        case ACTION_DONE:
        case ACTION_FAIL: {
                bool approve = action == ACTION_APPROVE || action == ACTION_REJECT;
                bool good = action == ACTION_APPROVE || action == ACTION_DONE;

                if (s->kind != (approve ? STEP_APPROVE : STEP_TASK))
                        return -EOPNOTSUPP;
                if (x->state != STEP_WAITING)
                        return -EBUSY;
                k = batch_implied_ack(&b, r, (size_t) i, action, actor, now);
                if (k < 0)
                        break;
                k = batch_step(&b, r, (size_t) i, good ? STEP_SUCCEEDED : STEP_FAILED, x->attempt, now, actor,
                               comment, "%s by %s",
                               action == ACTION_APPROVE ? "approved" : action == ACTION_REJECT ? "rejected"
                               : action == ACTION_DONE  ? "marked done" : "marked failed",
                               actor ?: "unknown");
                break;
        }
        case ACTION_RETRY:
                if (x->state == STEP_RUNNING)
                        return -EINPROGRESS;    /* never a second copy beside the first */
                if (x->state != STEP_INTERRUPTED && x->state != STEP_FAILED)
                        return -EBUSY;
                k = batch_step(&b, r, (size_t) i, STEP_PENDING, x->attempt, now, actor, comment,
                               "retry requested by %s", actor ?: "unknown");
                break;
        case ACTION_SKIP:
                if (x->state != STEP_INTERRUPTED && x->state != STEP_FAILED && x->state != STEP_WAITING &&
                    x->state != STEP_PENDING)
                        return -EBUSY;
                k = batch_implied_ack(&b, r, (size_t) i, action, actor, now);
                if (k < 0)
                        break;
                k = batch_step(&b, r, (size_t) i, STEP_SKIPPED, x->attempt, now, actor, comment, "skipped by %s",
                               actor ?: "unknown");
                break;
        case ACTION_ABORT: {
                _cleanup_free_ char *why = NULL;

                if (x->state != STEP_INTERRUPTED && x->state != STEP_FAILED && x->state != STEP_WAITING)
                        return -EBUSY;
                k = batch_implied_ack(&b, r, (size_t) i, action, actor, now);
                if (k < 0)
                        break;
                k = batch_step(&b, r, (size_t) i, STEP_FAILED, x->attempt, now, actor, comment, "aborted by %s",
                               actor ?: "unknown");
                if (k < 0)
                        break;
                if (asprintf(&why, "aborted by %s at step \"%s\"", actor ?: "unknown", s->id) < 0)
                        return batch_return(&b, -ENOMEM, ret, ret_n);
                /* The aborted step is already in the batch; wind down the rest. */
                for (size_t j = 0; j < r->plan->n_steps && k >= 0; j++)
                        if ((ssize_t) j != i && !step_state_is_terminal(r->steps[j].state))
                                k = batch_step(&b, r, j, STEP_CANCELLED, r->steps[j].attempt, now, NULL, NULL, "%s",
                                               why);
                if (k >= 0)
                        k = batch_finish(&b, r, RUN_FAILED, now, "%s", why);
                break;
        }
        default:
                return -EINVAL;
        }
        /* How the person acted, on the step they acted on. */
        for (size_t j = 0; k >= 0 && via && j < b.n; j++)
                if (b.items[j].kind == TRANSITION_STEP && streq(b.items[j].step_id, s->id) &&
                    strdup_or_null(via, &b.items[j].via) < 0)
                        k = -ENOMEM;
        return batch_return(&b, k, ret, ret_n);
}

int run_cancel(const Run *r, const char *actor, const char *comment, usec_t now, Transition **ret, size_t *ret_n) {
        _cleanup_free_ char *why = NULL;
        Batch b = {};
        int k;

        if (run_is_finished(r))
                return -EBUSY;
        if (asprintf(&why, "cancelled by %s%s%s", actor ?: "unknown", comment ? ": " : "", strempty(comment)) < 0)
                return -ENOMEM;
        k = batch_wind_down(&b, r, RUN_CANCELLED, now, why);
        return batch_return(&b, k, ret, ret_n);
}

int run_set_progress(Run *r, size_t step, double percent, usec_t eta, usec_t now, const char *text) {
        StepRun *x;

        if (step >= r->plan->n_steps)
                return -EINVAL;
        x = r->steps + step;
        if (x->state != STEP_RUNNING)
                return -ESTALE;
        x->progress = percent;
        x->eta = eta;
        x->eta_at = now ?: 1;
        return replace_string(&x->progress_text, text);
}

int run_set_boot_id(Run *r, const char *boot_id) {
        return replace_string(&r->boot_id, boot_id);
}

static int batch_unknown(Batch *b, const Run *r, size_t i, const char *why, bool rerun, usec_t now) {
        if (rerun || r->plan->steps[i].idempotent)
                return batch_step(b, r, i, STEP_PENDING, r->steps[i].attempt, now, NULL, NULL,
                                  "%s; %s, so it runs again", why,
                                  rerun ? "its done-if check says its effect is not in place" : "it is idempotent");
        return batch_step(b, r, i, STEP_INTERRUPTED, r->steps[i].attempt, now, NULL, NULL,
                          "%s; it is not idempotent, so it was not run again: retry, skip or abort it", why);
}

int run_step_unknown(const Run *r, size_t i, const char *why, bool rerun, usec_t now, Transition *ret) {
        Batch b = {};
        int k;

        if (i >= r->plan->n_steps || r->steps[i].state != STEP_RUNNING)
                return -ESTALE;
        k = batch_unknown(&b, r, i, why ?: "its outcome is not known", rerun, now);
        if (k < 0) {
                transitions_free(b.items, b.n);
                return k;
        }
        *ret = b.items[0];
        free(b.items);
        return 0;
}

usec_t run_deadline(const Run *r) {
        if (r->plan->rto == USEC_INFINITY)
                return USEC_INFINITY;
        return r->trigger_time + r->plan->rto;
}

usec_t run_projected_finish(const Run *r, usec_t now) {
        const Plan *p = r->plan;
        _cleanup_free_ usec_t *finish = calloc(MAX(p->n_steps, 1u), sizeof(usec_t));
        usec_t end = now;

        if (!finish)
                return now;
        /* The longest remaining chain of estimates; what is done costs nothing,
         * a running step only what is left of its estimate. */
        for (size_t o = 0; o < p->n_steps; o++) {
                size_t i = p->order[o];
                const Step *s = p->steps + i;
                const StepRun *x = r->steps + i;
                usec_t start = now, cost = 0;

                for (size_t n = 0; s->needs && s->needs[n]; n++)
                        start = MAX(start, finish[s->needs_index[n]]);
                if (step_participates(r, i) && !step_state_is_terminal(x->state)) {
                        cost = s->estimate;
                        if ((x->state == STEP_RUNNING || x->state == STEP_WAITING) && x->started < now)
                                cost = cost > now - x->started ? cost - (now - x->started) : 0;
                        /* A live figure beats the plan's guess. */
                        if (x->state == STEP_RUNNING && x->eta_at > 0 && x->eta != USEC_INFINITY)
                                cost = x->eta_at + x->eta > now ? x->eta_at + x->eta - now : 0;
                }
                finish[i] = start + cost;
                end = MAX(end, finish[i]);
        }
        return end;
}

int run_rto_check(const Run *r, usec_t now, Transition *ret, usec_t *ret_next) {
        usec_t deadline = run_deadline(r), projected;
        Batch b = {};
        RtoState s;
        Transition *t;

        *ret_next = USEC_INFINITY;
        if (deadline == USEC_INFINITY || run_is_finished(r) || r->rto_state == RTO_BREACHED)
                return 0;
        projected = run_projected_finish(r, now);
        if (now >= deadline)
                s = RTO_BREACHED;
        else {
                *ret_next = deadline;
                if (r->rto_state == RTO_OK && projected > deadline)
                        s = RTO_AT_RISK;
                else
                        return 0;
        }
        t = batch_add(&b, r, TRANSITION_RTO, now);
        if (!t) {
                transitions_free(b.items, b.n);
                return -ENOMEM;
        }
        t->rto_state = s;
        t->projected = projected;
        *ret = b.items[0];
        free(b.items);
        return 1;
}

/* ---- holds ---- */

static bool step_releases(const Step *st, const char *unit) {
        if ((st->kind == STEP_UNIT_START || st->kind == STEP_UNIT_RESTART) &&
            streq_ptr(step_get_string(st, "unit"), unit))
                return true;
        return strv_contains(st->release, unit);
}

int run_hold(const Run *r, const char *unit, RunHold *ret) {
        RunHold h = { .plan = r->plan, .release_step = -1 };

        if (!unit || !strv_contains(r->plan->holds, unit))
                return -ENOENT;
        for (size_t i = 0; i < r->n_releases; i++)
                if (streq(r->releases[i].unit, unit)) {
                        h.by_person = r->releases + i;
                        *ret = h;
                        return 0;
                }
        /* In execution order, so the first releasing step is the one named. */
        for (size_t k = 0; k < r->plan->n_steps; k++) {
                size_t i = r->plan->order[k];
                StepState s = r->steps[i].state;

                if (!step_releases(r->plan->steps + i, unit))
                        continue;
                if (s != STEP_PENDING && s != STEP_CANCELLED) {
                        h.release_step = (ssize_t) i;
                        *ret = h;
                        return 0;       /* it started (or was skipped): released */
                }
                if (h.release_step < 0)
                        h.release_step = (ssize_t) i;
        }
        if (run_is_finished(r) && r->final_state == RUN_SUCCEEDED) {
                h.release_step = -1;
                *ret = h;
                return 0;
        }
        h.held = true;
        *ret = h;
        return 0;
}

int run_release_hold(const Run *r, const char *unit, const char *actor, const char *comment, usec_t now,
                     Transition *ret) {
        RunHold h;
        int k;

        k = run_hold(r, unit, &h);
        if (k < 0)
                return k;
        if (!h.held)
                return -EALREADY;
        *ret = (Transition) { .kind = TRANSITION_HOLD_RELEASED, .at = now };
        if (strdup_or_null(r->id, &ret->run_id) < 0 || strdup_or_null(unit, &ret->unit) < 0 ||
            strdup_or_null(actor, &ret->actor) < 0 || strdup_or_null(comment, &ret->comment) < 0) {
                transition_done(ret);
                return -ENOMEM;
        }
        return 0;
}
