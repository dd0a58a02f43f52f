/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "plan-json.h"

#define USEC_TO_SEC_JSON(u) ((u) == USEC_INFINITY ? NULL : json_object_new_int64((int64_t) ((u) / USEC_PER_SEC)))

char *trigger_to_string(const Trigger *t) {
        char *s = NULL;
        int r;

        switch (t->kind) {
        case TRIGGER_BOOT:
                r = asprintf(&s, "boot %s", t->event);
                break;
        case TRIGGER_MANUAL:
                r = asprintf(&s, "manual");
                break;
        default:
                if (t->kind == TRIGGER_UNIT && t->restarts > 0)
                        r = asprintf(&s, "unit %s restarts %u within %s", t->name, t->restarts,
                                     format_duration((char[FORMAT_DURATION_MAX]) {}, t->within));
                else if (t->kind == TRIGGER_UNIT && t->result) {
                        _cleanup_free_ char *j = strv_join(t->result, ",");
                        r = j ? asprintf(&s, "unit %s %s (%s)", t->name, t->event, j) : -1;
                } else
                        r = asprintf(&s, "%s %s %s", trigger_kind_to_string(t->kind), t->name, t->event);
        }
        return r < 0 ? NULL : s;
}

static json_object *strv_to_json(char * const *l) {
        json_object *a = json_object_new_array();
        STRV_FOREACH(s, l)
                json_object_array_add(a, json_object_new_string(*s));
        return a;
}

static json_object *step_to_json(const Plan *p, const Step *s, bool critical) {
        json_object *o = json_object_new_object(), *w = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_string(s->id));
        json_object_object_add(o, "kind", json_object_new_string(step_kind_to_string(s->kind)));
        json_object_object_add(o, "human", json_object_new_boolean(step_kind_is_human(s->kind)));
        json_object_object_add(o, "needs", strv_to_json(s->needs));
        if (s->description)
                json_object_object_add(o, "description", json_object_new_string(s->description));
        for (size_t i = 0; i < s->n_args; i++) {
                const StepArg *a = s->args + i;
                json_object *v;
                switch (a->type) {
                case ARG_STRV:
                        v = strv_to_json(a->strv);
                        break;
                case ARG_DURATION:
                        v = json_object_new_int64((int64_t) (a->usec / USEC_PER_SEC));
                        break;
                case ARG_BOOL:
                        v = json_object_new_boolean(a->u != 0);
                        break;
                case ARG_UINT:
                        v = json_object_new_int64((int64_t) a->u);
                        break;
                default:
                        v = json_object_new_string(a->str);
                }
                json_object_object_add(w, a->key, v);
        }
        json_object_object_add(o, "with", w);
        json_object_object_add(o, "timeout_sec", USEC_TO_SEC_JSON(s->timeout));
        json_object_object_add(o, "estimate_sec", json_object_new_int64((int64_t) (s->estimate / USEC_PER_SEC)));
        json_object_object_add(o, "idempotent", json_object_new_boolean(s->idempotent));
        if (s->done_if) {
                json_object_object_add(o, "done_if", strv_to_json(s->done_if));
                json_object_object_add(o, "done_if_timeout_sec", USEC_TO_SEC_JSON(s->done_if_timeout));
        }
        json_object_object_add(o, "retry_attempts", json_object_new_int(s->retry_attempts));
        json_object_object_add(o, "on_failure", json_object_new_string(s->on_failure == ON_FAILURE_HANDLER
                                                                                ? s->on_failure_step
                                                                                : on_failure_to_string(s->on_failure)));
        json_object_object_add(o, "handler", json_object_new_boolean(s->is_handler));
        json_object_object_add(o, "critical", json_object_new_boolean(critical));
        if (step_kind_is_human(s->kind)) {
                json_object_object_add(o, "owner", json_object_new_string(s->owner ?: p->owner));
                json_object_object_add(o, "escalate", strv_to_json(s->escalate ?: p->escalate));
                json_object_object_add(o, "ack_timeout_sec", USEC_TO_SEC_JSON(s->ack_timeout));
                json_object_object_add(o, "remind_sec", USEC_TO_SEC_JSON(s->remind));
                json_object_object_add(o, "repeat", json_object_new_int((int) s->repeat));
                if (s->bridge ?: p->bridge)
                        json_object_object_add(o, "bridge", json_object_new_string(s->bridge ?: p->bridge));
                if (s->chat ?: p->chat)
                        json_object_object_add(o, "chat", json_object_new_string(s->chat ?: p->chat));
                if (s->instructions)
                        json_object_object_add(o, "instructions", json_object_new_string(s->instructions));
        } else if (s->owner)
                json_object_object_add(o, "owner", json_object_new_string(s->owner));
        if (s->links)
                json_object_object_add(o, "links", strv_to_json(s->links));
        return o;
}

json_object *plan_to_json(const Plan *p, bool details) {
        json_object *o = json_object_new_object(), *t = json_object_new_array();

        json_object_object_add(o, "name", json_object_new_string(p->name));
        if (p->description)
                json_object_object_add(o, "description", json_object_new_string(p->description));
        json_object_object_add(o, "source", json_object_new_string(p->path));
        for (size_t i = 0; i < p->n_triggers; i++) {
                char *s = trigger_to_string(p->triggers + i);
                json_object_array_add(t, json_object_new_string(s ?: "?"));
                free(s);
        }
        json_object_object_add(o, "triggers", t);
        json_object_object_add(o, "armed", json_object_new_boolean(p->armed));
        json_object_object_add(o, "rto_sec", USEC_TO_SEC_JSON(p->rto));
        json_object_object_add(o, "steps", json_object_new_int((int) p->n_steps));
        json_object_object_add(o, "critical_path_sec", json_object_new_int64((int64_t) (p->critical_usec / USEC_PER_SEC)));
        if (p->owner)
                json_object_object_add(o, "owner", json_object_new_string(p->owner));
        if (!details)
                return o;

        json_object_object_add(o, "holds", strv_to_json(p->holds));
        if (p->fallback)
                json_object_object_add(o, "fallback", strv_to_json(p->fallback));
        json_object_object_add(o, "parallel", json_object_new_int((int) p->parallel));
        json_object_object_add(o, "concurrency", json_object_new_string(concurrency_to_string(p->concurrency)));
        {
                json_object *steps = json_object_new_array(), *crit = json_object_new_array();
                bool *on = calloc(p->n_steps, sizeof(bool));
                for (size_t i = 0; on && i < p->n_critical; i++)
                        on[p->critical[i]] = true;
                for (size_t i = 0; i < p->n_critical; i++)
                        json_object_array_add(crit, json_object_new_string(p->steps[p->critical[i]].id));
                for (size_t o2 = 0; o2 < p->n_steps; o2++)
                        json_object_array_add(steps, step_to_json(p, p->steps + p->order[o2],
                                                                  on && on[p->order[o2]]));
                free(on);
                json_object_object_del(o, "steps");
                json_object_object_add(o, "steps", steps);
                json_object_object_add(o, "critical_path", crit);
        }
        return o;
}

json_object *diagnostics_to_json(const Diagnostics *d) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < d->n_items; i++) {
                const Diag *x = d->items + i;
                json_object *o = json_object_new_object();
                json_object_object_add(o, "file", json_object_new_string(x->file));
                json_object_object_add(o, "line", json_object_new_int((int) x->line));
                json_object_object_add(o, "column", json_object_new_int((int) x->column));
                json_object_object_add(o, "level", json_object_new_string(diag_level_to_string(x->level)));
                json_object_object_add(o, "message", json_object_new_string(x->message));
                json_object_array_add(a, o);
        }
        return a;
}
