/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>

#include "run-journal.h"

#define RECORD_VERSION 1

static void add_string(json_object *o, const char *key, const char *value) {
        if (value)
                json_object_object_add(o, key, json_object_new_string(value));
}

static void add_strv(json_object *o, const char *key, char * const *l) {
        json_object *a;

        if (!l)
                return;
        a = json_object_new_array();
        STRV_FOREACH(s, l)
                json_object_array_add(a, json_object_new_string(*s));
        json_object_object_add(o, key, a);
}

static void add_usec(json_object *o, const char *key, usec_t value) {
        if (value != 0)
                json_object_object_add(o, key, json_object_new_int64((int64_t) MIN(value, (usec_t) INT64_MAX)));
}

int transition_to_json(const Transition *t, char **ret) {
        json_object *o = json_object_new_object();
        const char *text;
        char *s;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "v", json_object_new_int(RECORD_VERSION));
        add_string(o, "type", transition_kind_to_string(t->kind));
        add_string(o, "run", t->run_id);
        add_usec(o, "at", t->at);

        switch (t->kind) {
        case TRANSITION_RUN_CREATED:
                add_string(o, "plan", t->plan_name);
                add_string(o, "path", t->plan_path);
                add_string(o, "source", t->plan_source);
                add_string(o, "trigger", t->trigger);
                add_string(o, "reason", t->reason);
                add_usec(o, "trigger_time", t->trigger_time);
                add_strv(o, "context", t->trigger_context);
                break;
        case TRANSITION_STEP:
                add_string(o, "step", t->step_id);
                add_string(o, "state", step_state_to_string(t->state));
                json_object_object_add(o, "attempt", json_object_new_int64(t->attempt));
                add_usec(o, "not_before", t->not_before);
                add_usec(o, "started", t->started);
                add_string(o, "boot", t->boot_id);
                add_string(o, "message", t->message);
                add_string(o, "actor", t->actor);
                add_string(o, "via", t->via);
                add_string(o, "comment", t->comment);
                break;
        case TRANSITION_RUN_FINISHED:
                add_string(o, "state", run_state_to_string(t->run_state));
                add_string(o, "message", t->message);
                break;
        case TRANSITION_RTO:
                add_string(o, "rto", rto_state_to_string(t->rto_state));
                add_usec(o, "projected", t->projected);
                break;
        case TRANSITION_HOLD_RELEASED:
                add_string(o, "unit", t->unit);
                add_string(o, "actor", t->actor);
                add_string(o, "comment", t->comment);
                break;
        case TRANSITION_HUMAN:
                add_string(o, "step", t->step_id);
                add_string(o, "event", human_event_to_string(t->human));
                json_object_object_add(o, "attempt", json_object_new_int64(t->attempt));
                json_object_object_add(o, "level", json_object_new_int64(t->level));
                json_object_object_add(o, "round", json_object_new_int64(t->round));
                add_strv(o, "recipients", t->recipients);
                add_string(o, "actor", t->actor);
                add_string(o, "via", t->via);
                add_string(o, "comment", t->comment);
                break;
        default:
                json_object_put(o);
                return -EINVAL;
        }

        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        s = text ? strdup(text) : NULL;
        json_object_put(o);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Field readers: a missing optional field leaves the default; a present
 * field of the wrong type is an error. */
static int get_string(json_object *o, const char *key, bool required, char **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return required ? -EBADMSG : 0;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

#define CONTEXT_MAX 64

/* A list of plain strings (recipients): up to max, none empty. */
static int get_names(json_object *o, const char *key, size_t max, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        json_object *v;
        size_t n;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_array) || (n = json_object_array_length(v)) > max)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string) || json_object_get_string_len(e) == 0)
                        return -EBADMSG;
                if (strv_extend(&l, json_object_get_string(e)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int get_strv(json_object *o, const char *key, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        json_object *v;
        size_t n;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_array) || (n = json_object_array_length(v)) > CONTEXT_MAX)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string) || !strchr(json_object_get_string(e), '='))
                        return -EBADMSG;
                if (strv_extend(&l, json_object_get_string(e)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int get_u64(json_object *o, const char *key, bool required, uint64_t max, uint64_t *ret) {
        json_object *v;
        int64_t n;

        if (!json_object_object_get_ex(o, key, &v))
                return required ? -EBADMSG : 0;
        if (!json_object_is_type(v, json_type_int))
                return -EBADMSG;
        errno = 0;
        n = json_object_get_int64(v);
        if (n < 0 || errno != 0 || (uint64_t) n > max)
                return -EBADMSG;
        *ret = (uint64_t) n;
        return 0;
}

static int parse_object(json_object *o, Transition *t) {
        _cleanup_free_ char *type = NULL, *state = NULL;
        uint64_t v = 0, attempt = 0, level = 0, round = 0;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r = get_u64(o, "v", true, INT32_MAX, &v);
        if (r < 0)
                return r;
        if (v != RECORD_VERSION)
                return -EPROTONOSUPPORT;
        if ((r = get_string(o, "type", true, &type)) < 0 || (r = get_string(o, "run", true, &t->run_id)) < 0 ||
            (r = get_u64(o, "at", false, INT64_MAX, &t->at)) < 0)
                return r;
        t->kind = transition_kind_from_string(type);

        switch (t->kind) {
        case TRANSITION_RUN_CREATED:
                if ((r = get_string(o, "plan", true, &t->plan_name)) < 0 ||
                    (r = get_string(o, "path", false, &t->plan_path)) < 0 ||
                    (r = get_string(o, "source", true, &t->plan_source)) < 0 ||
                    (r = get_string(o, "trigger", false, &t->trigger)) < 0 ||
                    (r = get_string(o, "reason", false, &t->reason)) < 0 ||
                    (r = get_u64(o, "trigger_time", false, INT64_MAX, &t->trigger_time)) < 0 ||
                    (r = get_strv(o, "context", &t->trigger_context)) < 0)
                        return r;
                return 0;
        case TRANSITION_STEP:
                if ((r = get_string(o, "step", true, &t->step_id)) < 0 ||
                    (r = get_string(o, "state", true, &state)) < 0 ||
                    (r = get_u64(o, "attempt", true, 1000, &attempt)) < 0 ||
                    (r = get_u64(o, "not_before", false, INT64_MAX, &t->not_before)) < 0 ||
                    (r = get_u64(o, "started", false, INT64_MAX, &t->started)) < 0 ||
                    (r = get_string(o, "boot", false, &t->boot_id)) < 0 ||
                    (r = get_string(o, "message", false, &t->message)) < 0 ||
                    (r = get_string(o, "actor", false, &t->actor)) < 0 ||
                    (r = get_string(o, "via", false, &t->via)) < 0 ||
                    (r = get_string(o, "comment", false, &t->comment)) < 0)
                        return r;
                t->attempt = (unsigned) attempt;
                t->state = step_state_from_string(state);
                return t->state < 0 ? -EBADMSG : 0;
        case TRANSITION_RUN_FINISHED:
                if ((r = get_string(o, "state", true, &state)) < 0 ||
                    (r = get_string(o, "message", false, &t->message)) < 0)
                        return r;
                t->run_state = run_state_from_string(state);
                return t->run_state < 0 ? -EBADMSG : 0;
        case TRANSITION_RTO:
                if ((r = get_string(o, "rto", true, &state)) < 0 ||
                    (r = get_u64(o, "projected", false, INT64_MAX, &t->projected)) < 0)
                        return r;
                t->rto_state = rto_state_from_string(state);
                return t->rto_state < 0 ? -EBADMSG : 0;
        case TRANSITION_HOLD_RELEASED:
                if ((r = get_string(o, "unit", true, &t->unit)) < 0 ||
                    (r = get_string(o, "actor", false, &t->actor)) < 0 ||
                    (r = get_string(o, "comment", false, &t->comment)) < 0)
                        return r;
                return 0;
        case TRANSITION_HUMAN:
                if ((r = get_string(o, "step", true, &t->step_id)) < 0 ||
                    (r = get_string(o, "event", true, &state)) < 0 ||
                    (r = get_u64(o, "attempt", true, 1000, &attempt)) < 0 ||
                    (r = get_u64(o, "level", false, 1000, &level)) < 0 ||
                    (r = get_u64(o, "round", false, 1000000, &round)) < 0 ||
                    (r = get_names(o, "recipients", 1024, &t->recipients)) < 0 ||
                    (r = get_string(o, "actor", false, &t->actor)) < 0 ||
                    (r = get_string(o, "via", false, &t->via)) < 0 ||
                    (r = get_string(o, "comment", false, &t->comment)) < 0)
                        return r;
                t->attempt = (unsigned) attempt;
                t->level = (unsigned) level;
                t->round = (unsigned) round;
                t->human = human_event_from_string(state);
                return t->human < 0 ? -EBADMSG : 0;
        default:
                return -EBADMSG;
        }
}

int transition_from_json(const void *payload, size_t size, Transition *ret) {
        json_tokener *tok;
        json_object *o;
        Transition t = {};
        int r;

        if (!payload || size == 0 || size > INT32_MAX)
                return -EBADMSG;
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, payload, (int) size);
        r = json_tokener_get_error(tok) == json_tokener_success && o &&
            json_tokener_get_parse_end(tok) == size ? 0 : -EBADMSG;
        json_tokener_free(tok);
        if (r == 0)
                r = parse_object(o, &t);
        json_object_put(o);
        if (r < 0) {
                transition_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}
