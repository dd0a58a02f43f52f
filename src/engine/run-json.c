/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "run-json.h"

static json_object *usec_json(usec_t u) {
        return u == USEC_INFINITY ? NULL : json_object_new_int64((int64_t) MIN(u, (usec_t) INT64_MAX));
}

static json_object *string_json(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *strv_json(char * const *l) {
        json_object *a = json_object_new_array();
        STRV_FOREACH(x, l)
                json_object_array_add(a, json_object_new_string(*x));
        return a;
}

/* A human step's chain and what happened on it: who was told at which
 * level and when, who acknowledged, when the next level is due. */
static json_object *human_to_json(const Run *r, size_t i) {
        const Step *s = r->plan->steps + i;
        const StepRun *x = r->steps + i;
        const HumanState *h = &x->human;
        const char *names[STEP_ESCALATE_MAX + 1];
        size_t n = MIN(run_human_levels(r, i, names, ELEMENTSOF(names)), ELEMENTSOF(names));
        json_object *o = json_object_new_object(), *levels = json_object_new_array(), *notices = json_object_new_array();
        bool current = h->attempt == x->attempt && h->attempt > 0;

        for (size_t l = 0; l < n; l++)
                json_object_array_add(levels, string_json(names[l]));
        json_object_object_add(o, "levels", levels);
        json_object_object_add(o, "ack_timeout_usec", usec_json(s->ack_timeout));
        json_object_object_add(o, "remind_usec", usec_json(s->remind));
        json_object_object_add(o, "rounds", json_object_new_int((int) s->repeat));
        for (size_t k = 0; current && k < h->n_notices; k++) {
                json_object *e = json_object_new_object();
                json_object_object_add(e, "level", json_object_new_int((int) h->notices[k].level));
                json_object_object_add(e, "round", json_object_new_int((int) h->notices[k].round));
                json_object_object_add(e, "name", string_json(h->notices[k].level < n ? names[h->notices[k].level]
                                                                                       : NULL));
                json_object_object_add(e, "at_usec", usec_json(h->notices[k].at));
                json_object_object_add(e, "recipients", strv_json(h->notices[k].recipients));
                json_object_array_add(notices, e);
        }
        json_object_object_add(o, "notified", notices);
        if (current && h->acked_at) {
                json_object *a = json_object_new_object();
                json_object_object_add(a, "by", string_json(h->acked_by));
                json_object_object_add(a, "via", string_json(h->acked_via));
                json_object_object_add(a, "at_usec", usec_json(h->acked_at));
                json_object_object_add(a, "comment", string_json(h->ack_comment));
                json_object_object_add(o, "acknowledged", a);
        }
        if (current && h->n_reminders) {
                json_object_object_add(o, "reminders", json_object_new_int((int) h->n_reminders));
                json_object_object_add(o, "reminded_usec", usec_json(h->reminded_at));
        }
        if (current && h->unanswered_at) {
                json_object_object_add(o, "unanswered_usec", usec_json(h->unanswered_at));
                json_object_object_add(o, "unanswered_told", strv_json(h->unanswered_told));
        }
        if (current && x->state == STEP_WAITING && !h->acked_at && !h->unanswered_at && h->n_notices > 0 &&
            s->ack_timeout != USEC_INFINITY)
                json_object_object_add(o, "next_usec",
                                       usec_json(usec_add(h->notices[h->n_notices - 1].at, s->ack_timeout)));
        return o;
}

json_object *run_to_json(const Run *r, usec_t now) {
        json_object *o = json_object_new_object(), *steps = json_object_new_array();
        const Plan *p = r->plan;

        json_object_object_add(o, "id", json_object_new_string(r->id));
        json_object_object_add(o, "plan", json_object_new_string(p->name));
        json_object_object_add(o, "state", json_object_new_string(run_state_to_string(run_state(r))));
        json_object_object_add(o, "trigger", string_json(r->trigger));
        json_object_object_add(o, "reason", string_json(r->reason));
        if (r->trigger_context) {
                json_object *c = json_object_new_object();
                STRV_FOREACH(x, r->trigger_context) {
                        const char *eq = strchr(*x, '=');
                        char name[64];
                        if (!eq || (size_t) (eq - *x) >= sizeof(name))
                                continue;
                        memcpy(name, *x, (size_t) (eq - *x));
                        name[eq - *x] = 0;
                        json_object_object_add(c, name, json_object_new_string(eq + 1));
                }
                json_object_object_add(o, "trigger_context", c);
        }
        json_object_object_add(o, "message", string_json(r->final_message));
        json_object_object_add(o, "created_usec", usec_json(r->created));
        json_object_object_add(o, "trigger_usec", usec_json(r->trigger_time));
        json_object_object_add(o, "finished_usec", usec_json(r->finished));
        json_object_object_add(o, "rto_usec", usec_json(p->rto));
        json_object_object_add(o, "deadline_usec", usec_json(run_deadline(r)));
        json_object_object_add(o, "projected_finish_usec",
                               usec_json(run_is_finished(r) ? r->finished : run_projected_finish(r, now)));
        json_object_object_add(o, "rto_state", json_object_new_string(rto_state_to_string(r->rto_state)));

        for (size_t k = 0; k < p->n_steps; k++) {
                size_t i = p->order[k];
                const Step *s = p->steps + i;
                const StepRun *x = r->steps + i;
                json_object *js = json_object_new_object(), *needs = json_object_new_array();

                json_object_object_add(js, "id", json_object_new_string(s->id));
                json_object_object_add(js, "kind", json_object_new_string(step_kind_to_string(s->kind)));
                json_object_object_add(js, "human", json_object_new_boolean(step_kind_is_human(s->kind)));
                json_object_object_add(js, "state", json_object_new_string(run_step_state_string(r, i)));
                json_object_object_add(js, "attempt", json_object_new_int((int) x->attempt));
                json_object_object_add(js, "attempts", json_object_new_int((int) s->retry_attempts));
                /* attempt past attempts: run again after a restart or a retry. */
                json_object_object_add(js, "rerun", json_object_new_boolean(x->attempt > s->retry_attempts));
                json_object_object_add(js, "started_usec", usec_json(x->started));
                json_object_object_add(js, "finished_usec", usec_json(x->finished));
                json_object_object_add(js, "not_before_usec", usec_json(x->not_before));
                json_object_object_add(js, "estimate_usec", usec_json(s->estimate));
                STRV_FOREACH(n, s->needs)
                        json_object_array_add(needs, json_object_new_string(*n));
                json_object_object_add(js, "needs", needs);
                json_object_object_add(js, "owner", string_json(step_kind_is_human(s->kind) ? (s->owner ?: p->owner)
                                                                                           : s->owner));
                json_object_object_add(js, "idempotent", json_object_new_boolean(s->idempotent));
                json_object_object_add(js, "handler", json_object_new_boolean(s->is_handler));
                json_object_object_add(js, "on_failure",
                                       json_object_new_string(s->on_failure == ON_FAILURE_HANDLER
                                                                      ? s->on_failure_step
                                                                      : on_failure_to_string(s->on_failure)));
                json_object_object_add(js, "message", string_json(x->message));
                json_object_object_add(js, "actor", string_json(x->actor));
                json_object_object_add(js, "via", string_json(x->via));
                json_object_object_add(js, "comment", string_json(x->comment));
                if (x->state == STEP_RUNNING && x->eta_at > 0) {
                        json_object *pr = json_object_new_object();
                        json_object_object_add(pr, "percent", x->progress >= 0 ? json_object_new_double(x->progress)
                                                                                 : NULL);
                        json_object_object_add(pr, "eta_usec", usec_json(x->eta == USEC_INFINITY ? 0 : x->eta));
                        json_object_object_add(pr, "at_usec", usec_json(x->eta_at));
                        json_object_object_add(pr, "text", string_json(x->progress_text));
                        json_object_object_add(js, "progress", pr);
                }
                if (step_kind_is_human(s->kind)) {
                        json_object *links = json_object_new_array();
                        STRV_FOREACH(l, s->links)
                                json_object_array_add(links, json_object_new_string(*l));
                        json_object_object_add(js, "instructions", string_json(s->instructions));
                        json_object_object_add(js, "links", links);
                        json_object_object_add(js, "bridge", string_json(s->bridge ?: p->bridge));
                        json_object_object_add(js, "chat", string_json(s->chat ?: p->chat));
                        json_object_object_add(js, "escalation", human_to_json(r, i));
                }
                json_object_array_add(steps, js);
        }
        json_object_object_add(o, "steps", steps);

        /* The units the plan holds back, whether this run still holds
         * them, and what let them go. */
        {
                json_object *holds = json_object_new_array();
                STRV_FOREACH(u, p->holds) {
                        json_object *h = json_object_new_object();
                        RunHold rh;
                        if (run_hold(r, *u, &rh) < 0)
                                continue;
                        json_object_object_add(h, "unit", json_object_new_string(*u));
                        json_object_object_add(h, "held", json_object_new_boolean(rh.held));
                        json_object_object_add(h, "step", string_json(rh.release_step >= 0 ?
                                                                      p->steps[rh.release_step].id : NULL));
                        if (rh.by_person) {
                                json_object *b = json_object_new_object();
                                json_object_object_add(b, "actor", string_json(rh.by_person->actor));
                                json_object_object_add(b, "comment", string_json(rh.by_person->comment));
                                json_object_object_add(b, "at_usec", usec_json(rh.by_person->at));
                                json_object_object_add(h, "released_by", b);
                        }
                        json_object_array_add(holds, h);
                }
                json_object_object_add(o, "holds", holds);
        }
        return o;
}
