/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The report model: GetRun and GetRunHistory into one RunReport, with
 * every attempt of every step, every notice, acknowledgement and act, the
 * RTO changes and the holds; then the critical path over the run. Pure:
 * no bus, no clock (now is given), no files. */

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "run-report.h"
#include "strv.h"

static const char *jget_str(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v) : NULL;
}

static usec_t jget_usec(json_object *o, const char *key) {
        json_object *v;
        int64_t n;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return 0;
        n = json_object_get_int64(v);
        return n > 0 ? (usec_t) n : 0;
}

static unsigned jget_uint(json_object *o, const char *key) {
        usec_t u = jget_usec(o, key);
        return u > 1000000 ? 1000000 : (unsigned) u;
}

static int dup_str(json_object *o, const char *key, char **ret) {
        const char *s = jget_str(o, key);

        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int dup_strv(json_object *o, const char *key, char ***ret) {
        json_object *a;

        *ret = NULL;
        if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *x = json_object_array_get_idx(a, i);
                if (json_object_is_type(x, json_type_string) && strv_extend(ret, json_object_get_string(x)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Grows an array by one zeroed element. */
static void *grow(void *p, size_t *n, size_t size) {
        char *q = realloc(p, (*n + 1) * size);
        if (!q)
                return NULL;
        memset(q + *n * size, 0, size);
        (*n)++;
        return q;
}

static const char *const basis_table[_REPORT_BASIS_MAX] = {
        [REPORT_BASIS_NONE] = "none",
        [REPORT_BASIS_ACTUAL] = "actual",
        [REPORT_BASIS_ELAPSED] = "elapsed",
        [REPORT_BASIS_ESTIMATE] = "estimate",
};

const char *report_basis_to_string(ReportBasis b) {
        return b >= 0 && b < _REPORT_BASIS_MAX ? basis_table[b] : NULL;
}

static const char *const event_table[_REPORT_EVENT_MAX] = {
        [REPORT_NOTIFIED] = "notified",
        [REPORT_ESCALATED] = "escalated",
        [REPORT_ACKNOWLEDGED] = "acknowledged",
        [REPORT_REMINDED] = "reminded",
        [REPORT_UNANSWERED] = "unanswered",
        [REPORT_ACT] = "act",
};

const char *report_event_kind_to_string(ReportEventKind k) {
        return k >= 0 && k < _REPORT_EVENT_MAX ? event_table[k] : NULL;
}

const char *report_state_color(const char *state) {
        if (streq_ptr(state, "succeeded"))
                return "#8fd19e";       /* green */
        if (streq_ptr(state, "failed") || streq_ptr(state, "interrupted"))
                return "#f08080";       /* red */
        if (streq_ptr(state, "running") || streq_ptr(state, "waiting") || streq_ptr(state, "ready") ||
            streq_ptr(state, "queued"))
                return "#ffe066";       /* yellow */
        return "#d9d9d9";               /* grey: pending, skipped, cancelled, unknown */
}

char *report_format_time(char buf[static REPORT_TIME_MAX], usec_t usec) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !gmtime_r(&t, &tm) || strftime(buf, REPORT_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, REPORT_TIME_MAX, "-");
        return buf;
}

ReportStep *run_report_find_step(const RunReport *r, const char *id) {
        for (size_t i = 0; id && i < r->n_steps; i++)
                if (streq(r->steps[i].id, id))
                        return r->steps + i;
        return NULL;
}

usec_t report_attempt_duration(const ReportAttempt *a, usec_t now) {
        usec_t end = a->end ?: now;
        return a->start > 0 && end > a->start ? end - a->start : 0;
}

static void attempt_done(ReportAttempt *a) {
        free(a->outcome);
        free(a->message);
        free(a->actor);
        free(a->comment);
        strv_free(a->output);
}

RunReport *run_report_free(RunReport *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_steps; i++) {
                ReportStep *s = r->steps + i;
                free(s->id);
                free(s->kind);
                free(s->state);
                free(s->owner);
                free(s->actor);
                free(s->via);
                free(s->comment);
                free(s->message);
                strv_free(s->needs);
                free(s->handled_by);
                for (size_t k = 0; k < s->n_attempts; k++)
                        attempt_done(s->attempts + k);
                free(s->attempts);
                free(s->acked_by);
                free(s->acked_via);
        }
        free(r->steps);
        for (size_t i = 0; i < r->n_events; i++) {
                ReportEvent *e = r->events + i;
                free(e->step);
                strv_free(e->recipients);
                free(e->action);
                free(e->actor);
                free(e->via);
                free(e->comment);
        }
        free(r->events);
        for (size_t i = 0; i < r->n_rto_events; i++)
                free(r->rto_events[i].state);
        free(r->rto_events);
        for (size_t i = 0; i < r->n_releases; i++) {
                free(r->releases[i].unit);
                free(r->releases[i].actor);
                free(r->releases[i].comment);
        }
        free(r->releases);
        for (size_t i = 0; i < r->n_holds; i++) {
                free(r->holds[i].unit);
                free(r->holds[i].how);
                free(r->holds[i].actor);
                free(r->holds[i].comment);
        }
        free(r->holds);
        free(r->critical);
        free(r->id);
        free(r->plan);
        free(r->host);
        free(r->state);
        free(r->message);
        free(r->trigger);
        free(r->reason);
        free(r->rto_state);
        strv_free(r->context);
        free(r);
        return NULL;
}

static int step_from_json(ReportStep *s, json_object *o) {
        json_object *v;
        int k;

        if ((k = dup_str(o, "id", &s->id)) < 0 || (k = dup_str(o, "kind", &s->kind)) < 0 ||
            (k = dup_str(o, "state", &s->state)) < 0 || (k = dup_str(o, "owner", &s->owner)) < 0 ||
            (k = dup_str(o, "actor", &s->actor)) < 0 || (k = dup_str(o, "via", &s->via)) < 0 ||
            (k = dup_str(o, "comment", &s->comment)) < 0 ||
            (k = dup_str(o, "message", &s->message)) < 0 || (k = dup_strv(o, "needs", &s->needs)) < 0)
                return k;
        if (!s->id)
                return -EBADMSG;
        s->human = json_object_object_get_ex(o, "human", &v) && json_object_get_boolean(v);
        s->handler = json_object_object_get_ex(o, "handler", &v) && json_object_get_boolean(v);
        /* on_failure: abort, continue, or the handler's id (a salved before 0.2.0 does not say) */
        if ((k = dup_str(o, "on_failure", &s->handled_by)) < 0)
                return k;
        if (s->handled_by && (streq(s->handled_by, "abort") || streq(s->handled_by, "continue")))
                s->handled_by = mfree(s->handled_by);
        s->attempt = jget_uint(o, "attempt");
        s->attempts_allowed = jget_uint(o, "attempts");
        s->started = jget_usec(o, "started_usec");
        s->finished = jget_usec(o, "finished_usec");
        s->estimate = jget_usec(o, "estimate_usec");
        if (json_object_object_get_ex(o, "escalation", &v) && json_object_object_get_ex(v, "acknowledged", &v) &&
            json_object_is_type(v, json_type_object)) {
                if ((k = dup_str(v, "by", &s->acked_by)) < 0 || (k = dup_str(v, "via", &s->acked_via)) < 0)
                        return k;
                s->acked_at = jget_usec(v, "at_usec");
        }
        return 0;
}

static ReportAttempt *find_attempt(ReportStep *s, unsigned attempt, bool create) {
        ReportAttempt *a;

        for (size_t i = s->n_attempts; i > 0; i--)
                if (s->attempts[i - 1].attempt == attempt)
                        return s->attempts + i - 1;
        if (!create)
                return NULL;
        a = grow(s->attempts, &s->n_attempts, sizeof(ReportAttempt));
        if (!a)
                return NULL;
        s->attempts = a;
        a = s->attempts + s->n_attempts - 1;
        a->attempt = attempt;
        return a;
}

static bool state_is_final(const char *state) {
        return streq_ptr(state, "succeeded") || streq_ptr(state, "failed") || streq_ptr(state, "skipped") ||
               streq_ptr(state, "cancelled") || streq_ptr(state, "interrupted");
}

static int replace(char **p, const char *s) {
        char *d = NULL;
        if (s && !(d = strdup(s)))
                return -ENOMEM;
        free(*p);
        *p = d;
        return 0;
}

/* What a person's act was, by the step's kind and where it left the step. */
static const char *act_name(const ReportStep *s, const char *state) {
        bool approve = streq_ptr(s->kind, "approve"), task = streq_ptr(s->kind, "task");

        if (streq(state, "succeeded"))
                return approve ? "approved" : task ? "done" : "succeeded";
        if (streq(state, "failed"))
                return approve ? "rejected" : task ? "failed" : "aborted";
        if (streq(state, "skipped"))
                return "skipped";
        if (streq(state, "cancelled"))
                return "cancelled";
        if (streq(state, "pending"))
                return "retry";
        return "acted";         /* running, waiting, or a state this salvectl does not know */
}

static int add_act(RunReport *r, ReportStep *s, json_object *rec, const char *state, unsigned attempt) {
        ReportEvent *e = grow(r->events, &r->n_events, sizeof(ReportEvent));
        int k;

        if (!e)
                return -ENOMEM;
        r->events = e;
        e = r->events + r->n_events - 1;
        e->kind = REPORT_ACT;
        e->at = jget_usec(rec, "at");
        e->attempt = attempt;
        if (!(e->step = strdup(s->id)) || !(e->action = strdup(act_name(s, state))))
                return -ENOMEM;
        if ((k = dup_str(rec, "actor", &e->actor)) < 0 || (k = dup_str(rec, "via", &e->via)) < 0 ||
            (k = dup_str(rec, "comment", &e->comment)) < 0)
                return k;
        return 0;
}

/* One step record: opens, moves or closes an attempt. */
static int apply_step(RunReport *r, json_object *rec) {
        ReportStep *s = run_report_find_step(r, jget_str(rec, "step"));
        const char *state = jget_str(rec, "state"), *actor = jget_str(rec, "actor");
        unsigned attempt = jget_uint(rec, "attempt");
        usec_t at = jget_usec(rec, "at");
        ReportAttempt *a;
        int k;

        if (!s || !state)
                return 0;       /* a step the plan no longer has: nothing to draw it in */
        if (actor) {
                k = add_act(r, s, rec, state, attempt);
                if (k < 0)
                        return k;
        }
        if (streq(state, "running") || streq(state, "waiting")) {
                a = find_attempt(s, attempt, true);
                if (!a)
                        return -ENOMEM;
                if (a->end > 0) {
                        /* the same attempt again (a resume): it runs on */
                        a->end = 0;
                        a->outcome = mfree(a->outcome);
                }
                if (a->start == 0)
                        a->start = at;
                if (streq(state, "waiting") && a->wait_start == 0)
                        a->wait_start = at;
                if ((k = replace(&a->message, jget_str(rec, "message"))) < 0)
                        return k;
                return 0;
        }
        a = find_attempt(s, attempt, false);
        if (streq(state, "pending")) {
                /* An attempt that failed and waits for its retry: it is over.
                 * A pending record for an attempt never started (a retry a
                 * person asked for, a resume) opens nothing. */
                if (!a || a->end > 0 || a->start == 0)
                        return 0;
                a->end = at;
                a->retried = true;
                if ((k = replace(&a->outcome, "failed")) < 0 || (k = replace(&a->message, jget_str(rec, "message"))) < 0)
                        return k;
                return 0;
        }
        if (!state_is_final(state))
                return 0;
        if (!a)
                return 0;       /* skipped or cancelled before it ran: no attempt */
        a->end = at;
        if ((k = replace(&a->outcome, state)) < 0 || (k = replace(&a->message, jget_str(rec, "message"))) < 0 ||
            (k = replace(&a->actor, actor)) < 0 || (k = replace(&a->comment, jget_str(rec, "comment"))) < 0)
                return k;
        return 0;
}

static int apply_human(RunReport *r, json_object *rec) {
        const char *event = jget_str(rec, "event");
        ReportStep *s = run_report_find_step(r, jget_str(rec, "step"));
        ReportEvent *e;
        int k;

        if (!s || !event)
                return 0;
        e = grow(r->events, &r->n_events, sizeof(ReportEvent));
        if (!e)
                return -ENOMEM;
        r->events = e;
        e = r->events + r->n_events - 1;
        e->at = jget_usec(rec, "at");
        e->attempt = jget_uint(rec, "attempt");
        e->level = jget_uint(rec, "level");
        e->round = jget_uint(rec, "round");
        if (streq(event, "notified"))
                e->kind = e->level == 0 && e->round <= 1 ? REPORT_NOTIFIED : REPORT_ESCALATED;
        else if (streq(event, "acknowledged"))
                e->kind = REPORT_ACKNOWLEDGED;
        else if (streq(event, "reminded"))
                e->kind = REPORT_REMINDED;
        else
                e->kind = REPORT_UNANSWERED;
        if (!(e->step = strdup(s->id)))
                return -ENOMEM;
        if ((k = dup_strv(rec, "recipients", &e->recipients)) < 0 || (k = dup_str(rec, "actor", &e->actor)) < 0 ||
            (k = dup_str(rec, "via", &e->via)) < 0 || (k = dup_str(rec, "comment", &e->comment)) < 0)
                return k;
        if (e->kind == REPORT_ACKNOWLEDGED) {
                if ((k = replace(&s->acked_by, e->actor)) < 0 || (k = replace(&s->acked_via, e->via)) < 0)
                        return k;
                s->acked_at = e->at;
        }
        return 0;
}

static int apply_record(RunReport *r, json_object *rec) {
        const char *type = jget_str(rec, "type");

        if (!json_object_is_type(rec, json_type_object) || !type)
                return 0;
        if (streq(type, "step"))
                return apply_step(r, rec);
        if (streq(type, "human"))
                return apply_human(r, rec);
        if (streq(type, "rto")) {
                ReportRto *x = grow(r->rto_events, &r->n_rto_events, sizeof(ReportRto));
                if (!x)
                        return -ENOMEM;
                r->rto_events = x;
                x = r->rto_events + r->n_rto_events - 1;
                x->at = jget_usec(rec, "at");
                x->projected = jget_usec(rec, "projected");
                return dup_str(rec, "rto", &x->state);
        }
        if (streq(type, "hold-released")) {
                ReportRelease *x = grow(r->releases, &r->n_releases, sizeof(ReportRelease));
                int k;
                if (!x)
                        return -ENOMEM;
                r->releases = x;
                x = r->releases + r->n_releases - 1;
                x->at = jget_usec(rec, "at");
                if ((k = dup_str(rec, "unit", &x->unit)) < 0 || (k = dup_str(rec, "actor", &x->actor)) < 0 ||
                    (k = dup_str(rec, "comment", &x->comment)) < 0)
                        return k;
                return 0;
        }
        return 0;       /* run-created, run-finished: GetRun has them */
}

/* Without a history: one attempt per step, as the run says it stands. */
static int attempts_from_run(RunReport *r) {
        for (size_t i = 0; i < r->n_steps; i++) {
                ReportStep *s = r->steps + i;
                ReportAttempt *a;
                if (s->n_attempts > 0 || s->started == 0)
                        continue;
                a = find_attempt(s, s->attempt, true);
                if (!a)
                        return -ENOMEM;
                a->start = s->started;
                a->end = state_is_final(s->state) ? s->finished : 0;
                if (a->end && replace(&a->outcome, s->state) < 0)
                        return -ENOMEM;
                if (replace(&a->message, s->message) < 0 || replace(&a->actor, s->actor) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int run_report_build(json_object *run, json_object *history, const char *host, usec_t now, RunReport **ret) {
        _cleanup_(run_report_freep) RunReport *r = NULL;
        json_object *steps, *records, *ctx;
        int k;

        if (!json_object_is_type(run, json_type_object) || !jget_str(run, "id") ||
            !json_object_object_get_ex(run, "steps", &steps) || !json_object_is_type(steps, json_type_array))
                return -EBADMSG;
        r = calloc(1, sizeof(RunReport));
        if (!r)
                return -ENOMEM;
        if ((k = dup_str(run, "id", &r->id)) < 0 || (k = dup_str(run, "plan", &r->plan)) < 0 ||
            (k = dup_str(run, "state", &r->state)) < 0 || (k = dup_str(run, "message", &r->message)) < 0 ||
            (k = dup_str(run, "trigger", &r->trigger)) < 0 || (k = dup_str(run, "reason", &r->reason)) < 0 ||
            (k = dup_str(run, "rto_state", &r->rto_state)) < 0)
                return k;
        if (host && !(r->host = strdup(host)))
                return -ENOMEM;
        if (json_object_object_get_ex(run, "trigger_context", &ctx) && json_object_is_type(ctx, json_type_object)) {
                json_object_object_foreach(ctx, key, val) {
                        _cleanup_free_ char *kv = NULL;
                        if (!json_object_is_type(val, json_type_string))
                                continue;
                        if (asprintf(&kv, "%s=%s", key, json_object_get_string(val)) < 0 ||
                            strv_extend(&r->context, kv) < 0)
                                return -ENOMEM;
                }
        }
        r->created = jget_usec(run, "created_usec");
        r->trigger_time = jget_usec(run, "trigger_usec");
        r->finished = jget_usec(run, "finished_usec");
        r->rto = jget_usec(run, "rto_usec");
        r->deadline = jget_usec(run, "deadline_usec");
        r->projected = jget_usec(run, "projected_finish_usec");
        r->now = now;

        r->n_steps = json_object_array_length(steps);
        r->steps = calloc(MAX(r->n_steps, (size_t) 1), sizeof(ReportStep));
        if (!r->steps)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_steps; i++) {
                k = step_from_json(r->steps + i, json_object_array_get_idx(steps, i));
                if (k < 0)
                        return k;
        }

        if (history) {
                json_object *v;
                if (!json_object_object_get_ex(history, "records", &records) ||
                    !json_object_is_type(records, json_type_array))
                        return -EBADMSG;
                r->complete = json_object_object_get_ex(history, "complete", &v) && json_object_get_boolean(v);
                for (size_t i = 0; i < json_object_array_length(records); i++) {
                        k = apply_record(r, json_object_array_get_idx(records, i));
                        if (k < 0)
                                return k;
                }
        }
        k = attempts_from_run(r);
        if (k < 0)
                return k;
        k = run_report_critical_path(r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

/* ---- the critical path ---- */

static void step_duration(const RunReport *r, ReportStep *s) {
        usec_t first = 0, last = 0;
        bool open = false;

        for (size_t k = 0; k < s->n_attempts; k++) {
                const ReportAttempt *a = s->attempts + k;
                if (a->start && (first == 0 || a->start < first))
                        first = a->start;
                if (a->end > last)
                        last = a->end;
                open = open || (a->start && !a->end);
        }
        if (first == 0 && s->started > 0)
                first = s->started;
        if (!open && first > 0 && state_is_final(s->state)) {
                s->basis = REPORT_BASIS_ACTUAL;
                s->duration = (last ?: s->finished) > first ? (last ?: s->finished) - first : 0;
        } else if (first > 0 && !state_is_final(s->state)) {
                usec_t elapsed = r->now > first ? r->now - first : 0;
                s->basis = elapsed > s->estimate ? REPORT_BASIS_ELAPSED : REPORT_BASIS_ESTIMATE;
                s->duration = MAX(elapsed, s->estimate);
        } else if (state_is_final(s->state)) {
                s->basis = REPORT_BASIS_NONE;   /* skipped or cancelled before it ran */
                s->duration = 0;
        } else {
                s->basis = s->estimate > 0 ? REPORT_BASIS_ESTIMATE : REPORT_BASIS_NONE;
                s->duration = s->estimate;
        }
}

/* Longest path ending at step i (memoized; mark: 1 visiting, 2 done). */
static int longest(RunReport *r, size_t i, uint8_t *mark, usec_t *best, size_t *prev) {
        ReportStep *s = r->steps + i;

        if (mark[i] == 2)
                return 0;
        if (mark[i] == 1)
                return -ELOOP;
        mark[i] = 1;
        best[i] = 0;
        prev[i] = SIZE_MAX;
        STRV_FOREACH(n, s->needs) {
                ReportStep *d = run_report_find_step(r, *n);
                size_t j;
                int k;
                if (!d)
                        continue;
                j = (size_t) (d - r->steps);
                k = longest(r, j, mark, best, prev);
                if (k < 0)
                        return k;
                if (prev[i] == SIZE_MAX || best[j] > best[i]) {
                        best[i] = best[j];
                        prev[i] = j;
                }
        }
        best[i] = usec_add(best[i], s->duration);
        mark[i] = 2;
        return 0;
}

int run_report_critical_path(RunReport *r) {
        _cleanup_free_ uint8_t *mark = calloc(MAX(r->n_steps, (size_t) 1), 1);
        _cleanup_free_ usec_t *best = calloc(MAX(r->n_steps, (size_t) 1), sizeof(usec_t));
        _cleanup_free_ size_t *prev = calloc(MAX(r->n_steps, (size_t) 1), sizeof(size_t));
        size_t end = SIZE_MAX, n = 0;

        if (!mark || !best || !prev)
                return -ENOMEM;
        r->critical = mfree(r->critical);
        r->n_critical = 0;
        r->critical_usec = 0;
        for (size_t i = 0; i < r->n_steps; i++) {
                r->steps[i].critical = false;
                step_duration(r, r->steps + i);
        }
        for (size_t i = 0; i < r->n_steps; i++) {
                int k = longest(r, i, mark, best, prev);
                if (k < 0)
                        return k;
                /* the first of equals, in the plan's order */
                if (end == SIZE_MAX || best[i] > best[end])
                        end = i;
        }
        if (end == SIZE_MAX || best[end] == 0)
                return 0;       /* nothing took any time: no path to show */
        for (size_t i = end; i != SIZE_MAX; i = prev[i])
                n++;
        r->critical = calloc(n, sizeof(size_t));
        if (!r->critical)
                return -ENOMEM;
        r->n_critical = n;
        for (size_t i = end; i != SIZE_MAX; i = prev[i]) {
                r->critical[--n] = i;
                r->steps[i].critical = true;
        }
        r->critical_usec = best[end];
        return 0;
}

/* ---- holds ---- */

/* The step of the plan (GetPlan's JSON) that starts unit: unit.start or
 * unit.restart with it as with.unit. */
static const char *plan_step_starting(json_object *plan, const char *unit) {
        json_object *steps;

        if (!plan || !json_object_object_get_ex(plan, "steps", &steps) || !json_object_is_type(steps, json_type_array))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(steps); i++) {
                json_object *s = json_object_array_get_idx(steps, i), *with;
                const char *kind = jget_str(s, "kind");
                if (!streq_ptr(kind, "unit.start") && !streq_ptr(kind, "unit.restart"))
                        continue;
                if (json_object_object_get_ex(s, "with", &with) && streq_ptr(jget_str(with, "unit"), unit))
                        return jget_str(s, "id");
        }
        return NULL;
}

static usec_t step_first_start(const ReportStep *s) {
        usec_t first = 0;
        for (size_t k = 0; s && k < s->n_attempts; k++)
                if (s->attempts[k].start && (first == 0 || s->attempts[k].start < first))
                        first = s->attempts[k].start;
        return first;
}

/* GetRun's holds: the step that releases (or released) unit. */
static const char *run_hold_step(json_object *holds, const char *unit) {
        for (size_t i = 0; i < json_object_array_length(holds); i++) {
                json_object *h = json_object_array_get_idx(holds, i);
                if (streq_ptr(jget_str(h, "unit"), unit))
                        return jget_str(h, "step");
        }
        return NULL;
}

/* The releasing step of each unit comes from run_holds (GetRun's holds)
 * when given, else from the plan's unit.start and unit.restart steps. */
static int set_holds(RunReport *r, char *const *units, char *const *held_now, json_object *plan,
                     json_object *run_holds) {
        _cleanup_strv_free_ char **all = NULL;

        STRV_FOREACH(u, units)
                if (!strv_contains(all, *u) && strv_extend(&all, *u) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < r->n_releases; i++)
                if (r->releases[i].unit && !strv_contains(all, r->releases[i].unit) &&
                    strv_extend(&all, r->releases[i].unit) < 0)
                        return -ENOMEM;
        STRV_FOREACH(u, held_now)
                if (!strv_contains(all, *u) && strv_extend(&all, *u) < 0)
                        return -ENOMEM;

        STRV_FOREACH(u, all) {
                ReportHold *h = grow(r->holds, &r->n_holds, sizeof(ReportHold));
                const ReportRelease *rel = NULL;
                const char *starter = run_holds ? run_hold_step(run_holds, *u) : plan_step_starting(plan, *u);
                const ReportStep *s = starter ? run_report_find_step(r, starter) : NULL;
                char *how = NULL;
                int k = 0;

                if (!h)
                        return -ENOMEM;
                r->holds = h;
                h = r->holds + r->n_holds - 1;
                if (!(h->unit = strdup(*u)))
                        return -ENOMEM;
                for (size_t i = 0; i < r->n_releases; i++)
                        if (streq_ptr(r->releases[i].unit, *u)) {
                                rel = r->releases + i;
                                break;
                        }
                h->held = strv_contains(held_now, *u);
                if (h->held)
                        how = strdup("still held");
                else if (rel) {
                        h->released = rel->at;
                        if ((k = replace(&h->actor, rel->actor)) >= 0)
                                k = replace(&h->comment, rel->comment);
                        if (k < 0 || asprintf(&how, "released by %s", strna(rel->actor)) < 0)
                                how = NULL;
                } else if (s && step_first_start(s) > 0) {
                        h->released = step_first_start(s);
                        if (asprintf(&how, "step %s started it", s->id) < 0)
                                how = NULL;
                } else if (streq_ptr(r->state, "succeeded")) {
                        h->released = r->finished;
                        how = strdup("the run succeeded");
                } else
                        how = strdup("no longer held");
                if (!how)
                        return -ENOMEM;
                h->how = how;
        }
        return 0;
}

int run_report_set_holds(RunReport *r, char *const *units, char *const *held_now, json_object *plan) {
        return set_holds(r, units, held_now, plan, NULL);
}

int run_report_set_run_holds(RunReport *r, json_object *holds) {
        _cleanup_strv_free_ char **units = NULL, **held = NULL;

        if (!json_object_is_type(holds, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(holds); i++) {
                json_object *h = json_object_array_get_idx(holds, i), *b;
                const char *unit = jget_str(h, "unit");
                if (!unit)
                        continue;
                if (strv_extend(&units, unit) < 0)
                        return -ENOMEM;
                if (json_object_object_get_ex(h, "held", &b) && json_object_get_boolean(b) &&
                    strv_extend(&held, unit) < 0)
                        return -ENOMEM;
        }
        /* Whatever a hold-released record names is listed too (set_holds). */
        return set_holds(r, units, held, NULL, holds);
}
