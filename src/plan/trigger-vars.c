/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* ${trigger.NAME}: see trigger-vars.h. Values come from outside salve (a
 * filesystem label is whatever was written on a USB stick), so a value is
 * only ever substituted if it consists of characters that mean nothing to
 * a shell or to systemd's unit-name rules; anything else is refused. */

#include <inttypes.h>

#include "plan-fields.h"
#include "string-util.h"
#include "trigger-vars.h"

const char *const trigger_var_names[] = {
        "kind", "event",
        "unit", "result", "restarts",
        "array", "disk", "mismatches",
        "device", "uuid", "label", "partuuid", "fs-type",
        "link",
        NULL,
};

#define TRIGGER_VAR_VALUE_MAX 256

bool trigger_var_is_known(const char *name) {
        for (size_t i = 0; trigger_var_names[i]; i++)
                if (streq(trigger_var_names[i], name))
                        return true;
        return false;
}

bool trigger_kind_provides_var(TriggerKind k, const char *name) {
        static const char *const unit[] = { "unit", "result", "restarts", NULL };
        static const char *const raid[] = { "array", "disk", "mismatches", NULL };
        static const char *const device[] = { "device", "uuid", "label", "partuuid", "fs-type", NULL };
        static const char *const link[] = { "link", NULL };
        const char *const *set;

        if (streq(name, "kind"))
                return true;
        if (streq(name, "event"))
                return k != TRIGGER_MANUAL;
        switch (k) {
        case TRIGGER_UNIT:
                set = unit;
                break;
        case TRIGGER_RAID:
                set = raid;
                break;
        case TRIGGER_DEVICE:
                set = device;
                break;
        case TRIGGER_LINK:
                set = link;
                break;
        case TRIGGER_MANUAL:
                return trigger_var_is_known(name);      /* salvectl run --trigger NAME=VALUE */
        default:
                return false;
        }
        for (size_t i = 0; set[i]; i++)
                if (streq(set[i], name))
                        return true;
        return false;
}

/* Only "${trigger." is salve's: any other ${...} (a shell's ${HOME} in an
 * sh -c command) is left as it is. */
int string_foreach_trigger_var(const char *s, trigger_var_cb cb, void *userdata, const char **ret_bad) {
        const char *p = s;

        while ((p = strstr(p, "${trigger."))) {
                const char *end = strchr(p, '}');
                char name[64];
                size_t n;
                int r;

                if (!end || end - (p + 10) <= 0 || (n = (size_t) (end - (p + 10))) >= sizeof(name)) {
                        if (ret_bad)
                                *ret_bad = p;
                        return -EINVAL;
                }
                memcpy(name, p + 10, n);
                name[n] = 0;
                if (cb) {
                        r = cb(name, userdata);
                        if (r < 0)
                                return r;
                }
                p = end + 1;
        }
        return 0;
}

bool string_has_trigger_vars(const char *s) {
        return s && strstr(s, "${trigger.");
}

const char *trigger_context_get(char * const *context, const char *name) {
        size_t n = strlen(name);

        STRV_FOREACH(c, context)
                if (strncmp(*c, name, n) == 0 && (*c)[n] == '=')
                        return *c + n + 1;
        return NULL;
}

static bool value_is_safe(const char *v) {
        size_t n = strlen(v);

        if (n == 0 || n > TRIGGER_VAR_VALUE_MAX)
                return false;
        return strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.@/=+-") == n;
}

int string_expand_trigger_vars(const char *s, char * const *context, char **ret, const char **ret_missing) {
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        const char *p = s;

        out = strdup("");
        if (!out)
                return -ENOMEM;
        for (;;) {
                const char *start = strstr(p, "${trigger."), *end, *value;
                char name[64];
                size_t n;
                char *x;

                if (!start) {
                        x = realloc(out, len + strlen(p) + 1);
                        if (!x)
                                return -ENOMEM;
                        out = x;
                        strcpy(out + len, p);
                        break;
                }
                end = strchr(start, '}');
                if (!end || (n = (size_t) (end - start - 10)) == 0 || n >= sizeof(name))
                        return -EINVAL;
                memcpy(name, start + 10, n);
                name[n] = 0;
                /* Unset is empty: a raid plan's ${trigger.disk} on a
                 * "degraded" event. A field that needs a value says so when
                 * the result is checked. */
                value = trigger_context_get(context, name) ?: "";
                if (*value && !value_is_safe(value)) {
                        if (ret_missing) {
                                *ret_missing = NULL;
                                for (size_t i = 0; trigger_var_names[i]; i++)
                                        if (streq(trigger_var_names[i], name))
                                                *ret_missing = trigger_var_names[i];
                        }
                        return -EBADMSG;
                }
                x = realloc(out, len + (size_t) (start - p) + strlen(value) + 1);
                if (!x)
                        return -ENOMEM;
                out = x;
                memcpy(out + len, p, (size_t) (start - p));
                len += (size_t) (start - p);
                strcpy(out + len, value);
                len += strlen(value);
                p = end + 1;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static int context_add(char ***l, const char *name, const char *value) {
        char *s;

        if (!value || !*value)
                return 0;
        if (asprintf(&s, "%s=%s", name, value) < 0)
                return -ENOMEM;
        return strv_push(l, s);
}

int trigger_context_from_event(const TriggerEvent *ev, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        char num[32];
        int r = 0;

        r = context_add(&l, "kind", trigger_kind_to_string(ev->kind));
        if (r >= 0)
                r = context_add(&l, "event", ev->event);
        switch (ev->kind) {
        case TRIGGER_UNIT:
                if (r >= 0)
                        r = context_add(&l, "unit", ev->name);
                if (r >= 0)
                        r = context_add(&l, "result", ev->result);
                snprintf(num, sizeof(num), "%u", ev->restarts);
                if (r >= 0 && streq_ptr(ev->event, "restarted"))
                        r = context_add(&l, "restarts", num);
                break;
        case TRIGGER_RAID:
                if (r >= 0)
                        r = context_add(&l, "array", ev->name);
                if (r >= 0)
                        r = context_add(&l, "disk", ev->disk);
                snprintf(num, sizeof(num), "%" PRIu64, ev->mismatches);
                if (r >= 0 && streq_ptr(ev->event, "check-mismatch"))
                        r = context_add(&l, "mismatches", num);
                break;
        case TRIGGER_DEVICE:
                if (r >= 0)
                        r = context_add(&l, "device", ev->name);
                if (r >= 0)
                        r = context_add(&l, "uuid", ev->uuid);
                if (r >= 0)
                        r = context_add(&l, "label", ev->label);
                if (r >= 0)
                        r = context_add(&l, "partuuid", ev->partuuid);
                if (r >= 0)
                        r = context_add(&l, "fs-type", ev->fs_type);
                break;
        case TRIGGER_LINK:
                if (r >= 0)
                        r = context_add(&l, "link", ev->name);
                break;
        default:
                break;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int collect_var(const char *name, void *userdata) {
        char ***l = userdata;

        if (strv_contains(*l, name))
                return 0;
        return strv_extend(l, name);
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

int plan_trigger_vars_used(const Plan *p, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (size_t i = 0; i < p->n_steps; i++)
                for (size_t j = 0; j < p->steps[i].n_args; j++) {
                        const StepArg *a = p->steps[i].args + j;
                        if (a->str && (r = string_foreach_trigger_var(a->str, collect_var, &l, NULL)) < 0)
                                return r;
                        STRV_FOREACH(s, a->strv)
                                if ((r = string_foreach_trigger_var(*s, collect_var, &l, NULL)) < 0)
                                        return r;
                }
        if (l)
                qsort(l, strv_length(l), sizeof(char *), strcmp_ptr);
        *ret = TAKE_PTR(l);
        return 0;
}

static const char *arg_value_problem(ArgType t, const char *v) {
        switch (t) {
        case ARG_UNIT:
                return unit_name_is_valid(v) ? NULL : "is not a valid unit name";
        case ARG_PATH:
                return v[0] == '/' && !strstr(v, "/../") && !string_has_suffix(v, "/..") ? NULL
                                                                                           : "is not an absolute, normalized path";
        case ARG_DEVICE:
                return device_name_is_valid(v) ? NULL : "is not a device";
        case ARG_MD_ARRAY:
                return md_array_name_is_valid(v) ? NULL : "is not an md array";
        default:
                return NULL;
        }
}

/* Expands *value and checks the result; with apply, the result replaces it. */
static int expand_one(const Step *s, const StepArg *a, char **value, bool apply, char * const *context,
                      char **ret_error) {
        _cleanup_free_ char *x = NULL;
        const char *missing = NULL, *problem;
        int r;

        if (!string_has_trigger_vars(*value))
                return 0;
        r = string_expand_trigger_vars(*value, context, &x, &missing);
        if (r == -EBADMSG) {
                if (asprintf(ret_error, "step %s: with.%s: ${trigger.%s} holds characters salve does not "
                             "substitute (only letters, digits and :_.@/=+-)", s->id, a->key, strna(missing)) < 0)
                        return -ENOMEM;
                return r;
        }
        if (r < 0)
                return r;
        problem = *x ? arg_value_problem(a->type, x) : a->type == ARG_STRING || a->type == ARG_STRV ? NULL
                                                                                                         : "is empty";
        if (problem) {
                if (asprintf(ret_error, "step %s: with.%s: \"%s\" (from \"%s\") %s", s->id, a->key, x, *value,
                             problem) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        if (apply) {
                free(*value);
                *value = TAKE_PTR(x);
        }
        return 0;
}

static int expand_plan(Plan *p, bool apply, char * const *context, char **ret_error) {
        int r;

        *ret_error = NULL;
        for (size_t i = 0; i < p->n_steps; i++)
                for (size_t j = 0; j < p->steps[i].n_args; j++) {
                        StepArg *a = p->steps[i].args + j;
                        if (a->str && (r = expand_one(p->steps + i, a, &a->str, apply, context, ret_error)) < 0)
                                return r;
                        for (size_t k = 0; a->strv && a->strv[k]; k++)
                                if ((r = expand_one(p->steps + i, a, &a->strv[k], apply, context, ret_error)) < 0)
                                        return r;
                }
        return 0;
}

int plan_expand_trigger_vars(Plan *p, char * const *context, char **ret_error) {
        return expand_plan(p, true, context, ret_error);
}

int plan_check_trigger_vars(const Plan *p, char * const *context, char **ret_error) {
        /* Nothing is written without apply. */
        return expand_plan((Plan *) p, false, context, ret_error);
}

int plan_instance_from_context(const Plan *p, char * const *context, char **ret) {
        _cleanup_strv_free_ char **used = NULL, **parts = NULL;
        int r;

        r = plan_trigger_vars_used(p, &used);
        if (r < 0)
                return r;
        STRV_FOREACH(u, used) {
                r = context_add(&parts, *u, trigger_context_get(context, *u) ?: "-");
                if (r < 0)
                        return r;
        }
        *ret = parts ? strv_join(parts, " ") : strdup("");
        return *ret ? 0 : -ENOMEM;
}
