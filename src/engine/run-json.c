/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "run-json.h"

static json_object *usec_json(usec_t u) {
        return u == USEC_INFINITY ? NULL : json_object_new_int64((int64_t) MIN(u, (usec_t) INT64_MAX));
}

static json_object *string_json(const char *s) {
        return s ? json_object_new_string(s) : NULL;
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
                json_object_object_add(js, "message", string_json(x->message));
                json_object_object_add(js, "actor", string_json(x->actor));
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
                }
                json_object_array_add(steps, js);
        }
        json_object_object_add(o, "steps", steps);
        return o;
}
