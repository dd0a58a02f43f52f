/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "plan-fields.h"
#include "plan-graph.h"
#include "plan-load.h"
#include "string-util.h"
#include "trigger-vars.h"
#include "yaml-tree.h"

static const YNode *ynode_get(const YNode *map, const char *key) {
        if (!map || map->type != YNODE_MAPPING)
                return NULL;
        for (size_t i = 0; i < ynode_n_pairs(map); i++) {
                const YNode *k = ynode_key(map, i);
                if (k->type == YNODE_SCALAR && streq_ptr(k->value, key))
                        return ynode_value(map, i);
        }
        return NULL;
}

/* A ${trigger.NAME} value is checked for its type once expanded, when a
 * run is created (trigger-vars.c); here only as a string. */
static bool value_is_deferred(const YNode *v) {
        return v->type == YNODE_SCALAR && !ynode_is_null(v) && string_has_trigger_vars(v->value);
}

/* ---- step `with:` ---- */

static int parse_with(PlanLoader *l, Step *s, const YNode *step, const YNode *with) {
        const ArgSchema *schema;
        size_t n_schema;
        const char *known[16];
        int r;

        schema = step_kind_schema(s->kind, &n_schema);
        if (!with) {
                r = 0;
                for (size_t i = 0; i < n_schema; i++)
                        if (schema[i].required)
                                r = loader_merge(r, error_at(l, step, "%s step needs with.%s", step_kind_to_string(s->kind),
                                                      schema[i].key));
                return r;
        }
        if (n_schema == 0)
                return error_at(l, with, "%s steps take no \"with\"", step_kind_to_string(s->kind));

        r = loader_check_mapping(l, with, "with");
        if (r < 0)
                return r;

        for (size_t i = 0; i < n_schema && i < ELEMENTSOF(known) - 1; i++)
                known[i] = schema[i].key;
        known[MIN(n_schema, ELEMENTSOF(known) - 1)] = NULL;

        s->args = calloc(ynode_n_pairs(with), sizeof(StepArg));
        if (!s->args)
                return -ENOMEM;

        for (size_t i = 0; i < ynode_n_pairs(with); i++) {
                const YNode *k = ynode_key(with, i), *v = ynode_value(with, i);
                const ArgSchema *a = NULL;
                StepArg *arg;
                char field[64];
                bool b;
                int q = 0;

                if (k->type != YNODE_SCALAR)
                        continue;
                for (size_t j = 0; j < n_schema; j++)
                        if (streq(schema[j].key, k->value))
                                a = schema + j;
                if (!a) {
                        r = loader_merge(r, loader_unknown_key(l, k, "with", known));
                        continue;
                }
                snprintf(field, sizeof(field), "with.%s", a->key);
                arg = s->args + s->n_args;
                *arg = (StepArg) { .key = a->key, .type = a->type, .pos = { v->line, v->column } };

                bool deferred = value_is_deferred(v) && (a->type == ARG_UNIT || a->type == ARG_PATH ||
                                                         a->type == ARG_DEVICE || a->type == ARG_MD_ARRAY);
                switch (deferred ? ARG_STRING : a->type) {
                case ARG_STRING:
                        q = loader_parse_string(l, v, field, &arg->str);
                        break;
                case ARG_STRV:
                        q = loader_parse_strv(l, v, field, &arg->strv);
                        if (q >= 0 && !arg->strv[0])
                                q = error_at(l, v, "%s: must not be empty", field);
                        for (size_t e = 0; q >= 0 && a->values && arg->strv[e]; e++)
                                if (!strv_contains((char **) a->values, arg->strv[e])) {
                                        _cleanup_free_ char *all = strv_join((char **) a->values, ", ");
                                        q = error_at(l, v, "%s: \"%s\" is not one of %s", field, arg->strv[e],
                                                     strna(all));
                                }
                        break;
                case ARG_UNIT:
                        q = loader_parse_unit(l, v, field, &arg->str);
                        break;
                case ARG_PATH:
                        q = loader_parse_path(l, v, field, &arg->str);
                        break;
                case ARG_DEVICE:
                        q = loader_parse_string(l, v, field, &arg->str);
                        if (q >= 0 && !device_name_is_valid(arg->str))
                                q = error_at(l, v, "%s: \"%s\" is not a device (expected /dev/..., UUID=..., "
                                             "LABEL=..., PARTUUID=... or PARTLABEL=...)", field, arg->str);
                        break;
                case ARG_MD_ARRAY:
                        q = loader_parse_string(l, v, field, &arg->str);
                        if (q >= 0 && !md_array_name_is_valid(arg->str))
                                q = error_at(l, v, "%s: \"%s\" is not an md array (expected e.g. md0, "
                                             "/dev/md0 or md/name)", field, arg->str);
                        break;
                case ARG_DURATION:
                        q = loader_parse_duration(l, v, field, &arg->usec);
                        break;
                case ARG_BOOL:
                        q = loader_parse_bool(l, v, field, &b);
                        if (q >= 0)
                                arg->u = b;
                        break;
                case ARG_UINT:
                        q = loader_parse_uint(l, v, field, a->min, a->max > 0 ? a->max : UINT32_MAX, &arg->u);
                        break;
                case ARG_ENUM:
                        q = loader_parse_enum(l, v, field, a->values, &arg->str);
                        break;
                case ARG_SIZE:
                        if (v->type != YNODE_SCALAR || ynode_is_null(v))
                                q = error_at(l, v, "%s: expected a size such as 512K, 10M or 2G, got %s", field,
                                             ynode_describe(v));
                        else {
                                int e = parse_size(v->value, &arg->u);
                                if (e == -ERANGE)
                                        q = error_at(l, v, "%s: \"%s\" is too large", field, v->value);
                                else if (e < 0)
                                        q = error_at(l, v, "%s: \"%s\" is not a size (expected bytes, or a number "
                                                     "with K, M, G or T, e.g. 10M)", field, v->value);
                        }
                        break;
                default:
                        assert_not_reached();
                }
                s->n_args++;
                r = loader_merge(r, q);
        }

        for (size_t j = 0; j < n_schema; j++)
                if (schema[j].required && !step_get_arg(s, schema[j].key))
                        r = loader_merge(r, error_at(l, with, "%s step needs with.%s", step_kind_to_string(s->kind),
                                              schema[j].key));

        if (s->kind == STEP_BACKUP_VERIFY && !step_get_arg(s, "manifest") && !step_get_arg(s, "max-age") &&
            !step_get_arg(s, "min-size") && !step_get_arg(s, "command"))
                r = loader_merge(r, error_at(l, with, "backup.verify step needs at least one check: with.manifest, "
                                      "with.max-age, with.min-size or with.command"));
        if (s->kind == STEP_BACKUP_VERIFY && step_get_arg(s, "user") && !step_get_arg(s, "command"))
                r = loader_merge(r, error_at(l, with, "with.user applies to with.command only"));
        if (s->kind == STEP_SNAPSHOT) {
                const char *backend = step_get_string(s, "backend"), *source = step_get_string(s, "source");
                const StepArg *src = step_get_arg(s, "source");
                if (streq_ptr(backend, "btrfs")) {
                        if (step_get_arg(s, "size"))
                                r = loader_merge(r, error_at(l, with, "with.size applies to the lvm backend only"));
                        if (source && !string_has_trigger_vars(source) && source[0] != '/')
                                r = loader_merge(r, error_at_pos(l, src->pos, "with.source: a btrfs snapshot's "
                                                             "source is the subvolume's absolute path, got \"%s\"",
                                                             source));
                } else if (streq_ptr(backend, "lvm")) {
                        if (step_get_arg(s, "destination"))
                                r = loader_merge(r, error_at(l, with, "with.destination applies to the btrfs "
                                                      "backend only"));
                        if (source && !string_has_trigger_vars(source) &&
                            (!strchr(source, '/') || source[0] == '/' || strchr(strchr(source, '/') + 1, '/')))
                                r = loader_merge(r, error_at_pos(l, src->pos, "with.source: an lvm snapshot's "
                                                             "source is VG/LV (e.g. vg0/db), got \"%s\"",
                                                             source));
                }
                const char *name = step_get_string(s, "name");
                if (name && !string_has_trigger_vars(name)) {
                        bool ok = strlen(name) <= 64;
                        for (const char *c = name; ok && *c; c++)
                                ok = isalnum((unsigned char) *c) || strchr("_.-+", *c);
                        if (!ok || name[0] == '-' || name[0] == '.') {
                                const StepArg *a = step_get_arg(s, "name");
                                r = loader_merge(r, error_at_pos(l, a->pos, "with.name: \"%s\" is not a snapshot "
                                                                 "name (up to 64 of A-Z a-z 0-9 _ . - +, not "
                                                                 "starting with - or .)", name));
                        }
                }
        }

        if (s->kind == STEP_WAIT) {
                bool unit = step_get_arg(s, "unit"), path = step_get_arg(s, "path");
                if (unit == path)
                        r = loader_merge(r, error_at(l, with, "wait step needs exactly one of with.unit or with.path"));
                if (step_get_arg(s, "state") && !unit)
                        r = loader_merge(r, error_at(l, with, "with.state applies to with.unit only"));
                if (step_get_arg(s, "exists") && !path)
                        r = loader_merge(r, error_at(l, with, "with.exists applies to with.path only"));
        }
        return r;
}

/* ---- `when:` ---- */

static int parse_when(PlanLoader *l, Condition *c, const YNode *n) {
        static const char *const known[] = {
                "trigger", "path-exists", "path-missing", "unit-active", "unit-inactive", "unit-failed", NULL,
        };
        int r = loader_check_mapping(l, n, "when");

        if (r < 0)
                return r;
        if (ynode_n_pairs(n) == 0)
                return error_at(l, n, "when: needs at least one condition");
        c->present = true;

        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i), *v = ynode_value(n, i);
                int q;

                if (k->type != YNODE_SCALAR)
                        continue;
                if (streq(k->value, "trigger")) {
                        if (v->type == YNODE_SCALAR) {
                                q = ynode_is_null(v) ? error_at(l, v, "when.trigger: expected a trigger kind")
                                                     : strv_extend(&c->trigger, v->value);
                        } else
                                q = loader_parse_strv(l, v, "when.trigger", &c->trigger);
                        for (size_t j = 0; q >= 0 && c->trigger[j]; j++)
                                if (trigger_kind_from_string(c->trigger[j]) < 0)
                                        q = error_at(l, v, "when.trigger: unknown trigger kind \"%s\" (expected "
                                                     "boot, unit, raid, device, link or manual)", c->trigger[j]);
                } else if (streq(k->value, "path-exists"))
                        q = loader_parse_path(l, v, "when.path-exists", &c->path_exists);
                else if (streq(k->value, "path-missing"))
                        q = loader_parse_path(l, v, "when.path-missing", &c->path_missing);
                else if (streq(k->value, "unit-active"))
                        q = loader_parse_unit(l, v, "when.unit-active", &c->unit_active);
                else if (streq(k->value, "unit-inactive"))
                        q = loader_parse_unit(l, v, "when.unit-inactive", &c->unit_inactive);
                else if (streq(k->value, "unit-failed"))
                        q = loader_parse_unit(l, v, "when.unit-failed", &c->unit_failed);
                else
                        q = loader_unknown_key(l, k, "when", known);
                r = loader_merge(r, q);
        }
        return r;
}

/* ---- one step ---- */

static int parse_retry(PlanLoader *l, Step *s, const YNode *n) {
        static const char *const known[] = { "attempts", "backoff", NULL };
        int r = loader_check_mapping(l, n, "retry");

        if (r < 0)
                return r;
        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i), *v = ynode_value(n, i);
                uint64_t u;
                int q;

                if (k->type != YNODE_SCALAR)
                        continue;
                if (streq(k->value, "attempts")) {
                        q = loader_parse_uint(l, v, "retry.attempts", 1, 100, &u);
                        if (q >= 0)
                                s->retry_attempts = (unsigned) u;
                } else if (streq(k->value, "backoff"))
                        q = loader_parse_duration(l, v, "retry.backoff", &s->retry_backoff);
                else
                        q = loader_unknown_key(l, k, "retry", known);
                r = loader_merge(r, q);
        }
        return r;
}

static const char *const step_keys[] = {
        "id", "description", "needs", "run", "human", "with", "when", "timeout", "estimate", "idempotent",
        "retry", "on-failure", "owner", "escalate", "ack-timeout", "remind", "repeat", "bridge", "chat", "instructions",
        "links", "done-if", "release", NULL,
};

/* done-if: [command...], or {command: [...], timeout: D}. */
static int parse_done_if(PlanLoader *l, Step *s, const YNode *v) {
        static const char *const known[] = { "command", "timeout", NULL };
        const YNode *command = v;
        int r = 0;

        s->done_if_timeout = DONE_IF_TIMEOUT_DEFAULT;
        if (v->type == YNODE_MAPPING) {
                command = NULL;
                for (size_t i = 0; i < ynode_n_pairs(v); i++) {
                        const YNode *k = ynode_key(v, i), *x = ynode_value(v, i);
                        int q;

                        if (k->type != YNODE_SCALAR)
                                continue;
                        if (streq(k->value, "command")) {
                                command = x;
                                q = 0;
                        } else if (streq(k->value, "timeout")) {
                                q = loader_parse_duration(l, x, "done-if.timeout", &s->done_if_timeout);
                                if (q >= 0 && s->done_if_timeout == USEC_INFINITY)
                                        q = error_at(l, x, "done-if.timeout: a check needs a finite timeout");
                        } else
                                q = loader_unknown_key(l, k, "done-if", known);
                        r = loader_merge(r, q);
                }
                if (!command)
                        return loader_merge(r, error_at(l, v, "done-if: missing required key \"command\""));
        }
        r = loader_merge(r, loader_parse_strv(l, command, "done-if.command", &s->done_if));
        if (r >= 0 && (!s->done_if || !s->done_if[0]))
                r = error_at(l, command, "done-if.command: expected a command, got an empty list");
        return r;
}

static int parse_step(PlanLoader *l, Step *s, const YNode *n, size_t index) {
        const YNode *with = NULL, *run = NULL, *human = NULL, *idem = NULL, *node_ack = NULL,
                    *node_escalate = NULL, *node_done_if = NULL, *node_human = NULL;
        int r;

        *s = (Step) {
                .pos = { n->line, n->column },
                .kind = _STEP_KIND_INVALID,
                .timeout = USEC_INFINITY,
                .ack_timeout = USEC_INFINITY,
                .remind = USEC_INFINITY,
                .repeat = 1,
                .retry_attempts = 1,
                .retry_backoff = USEC_PER_SEC,
        };

        snprintf(l->ctx, sizeof(l->ctx), "steps[%zu]: ", index + 1);
        r = loader_check_mapping(l, n, "step");
        if (r < 0)
                return r;

        /* The id first, so that every later message can name the step. */
        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i), *v = ynode_value(n, i);
                if (k->type != YNODE_SCALAR || !streq(k->value, "id"))
                        continue;
                r = loader_parse_string(l, v, "id", &s->id);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0 && !plan_name_is_valid(s->id)) {
                        r = error_at(l, v, "id: \"%s\" is not a valid step id (letters, digits, '-', '_' and "
                                     "'.', at most %d characters)", s->id, STEP_ID_MAX);
                        s->id = mfree(s->id);
                }
                s->pos = (SourcePos) { v->line, v->column };
        }
        if (s->id)
                snprintf(l->ctx, sizeof(l->ctx), "step \"%s\": ", s->id);
        else if (r >= 0)
                r = error_at(l, n, "missing required key \"id\"");

        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i), *v = ynode_value(n, i);
                bool b;
                int q = 0;

                if (k->type != YNODE_SCALAR || streq(k->value, "id"))
                        continue;
                if (streq(k->value, "description"))
                        q = loader_parse_string(l, v, "description", &s->description);
                else if (streq(k->value, "needs")) {
                        q = loader_parse_strv(l, v, "needs", &s->needs);
                        if (q >= 0) {
                                size_t m = strv_length(s->needs);
                                s->needs_pos = calloc(MAX(m, 1u), sizeof(SourcePos));
                                if (!s->needs_pos)
                                        return -ENOMEM;
                                for (size_t j = 0; j < m; j++)
                                        s->needs_pos[j] = (SourcePos) { v->items[j]->line, v->items[j]->column };
                        }
                } else if (streq(k->value, "run"))
                        run = v;
                else if (streq(k->value, "human"))
                        human = v;
                else if (streq(k->value, "with"))
                        with = v;
                else if (streq(k->value, "when"))
                        q = parse_when(l, &s->when, v);
                else if (streq(k->value, "timeout"))
                        q = loader_parse_duration(l, v, "timeout", &s->timeout);
                else if (streq(k->value, "estimate"))
                        q = loader_parse_duration(l, v, "estimate", &s->estimate);
                else if (streq(k->value, "idempotent")) {
                        q = loader_parse_bool(l, v, "idempotent", &b);
                        if (q >= 0) {
                                s->idempotent = b;
                                idem = v;
                        }
                } else if (streq(k->value, "retry"))
                        q = parse_retry(l, s, v);
                else if (streq(k->value, "on-failure")) {
                        q = loader_parse_string(l, v, "on-failure", &s->on_failure_step);
                        s->on_failure_pos = (SourcePos) { v->line, v->column };
                        if (q >= 0) {
                                OnFailure f = streq(s->on_failure_step, "abort") ? ON_FAILURE_ABORT
                                            : streq(s->on_failure_step, "continue") ? ON_FAILURE_CONTINUE
                                                                                    : ON_FAILURE_HANDLER;
                                s->on_failure = f;
                                if (f != ON_FAILURE_HANDLER)
                                        s->on_failure_step = mfree(s->on_failure_step);
                        }
                } else if (streq(k->value, "owner")) {
                        q = loader_parse_string(l, v, "owner", &s->owner);
                        s->owner_pos = (SourcePos) { v->line, v->column };
                } else if (streq(k->value, "escalate")) {
                        q = loader_parse_strv(l, v, "escalate", &s->escalate);
                        s->escalate_pos = (SourcePos) { v->line, v->column };
                        if (q >= 0 && strv_length(s->escalate) > STEP_ESCALATE_MAX)
                                q = error_at(l, v, "escalate: at most %d levels", STEP_ESCALATE_MAX);
                        node_escalate = v;
                } else if (streq(k->value, "ack-timeout")) {
                        q = loader_parse_duration(l, v, "ack-timeout", &s->ack_timeout);
                        if (q >= 0 && s->ack_timeout < USEC_PER_SEC)
                                q = error_at(l, v, "ack-timeout: at least 1s");
                        node_ack = v;
                } else if (streq(k->value, "remind")) {
                        q = loader_parse_duration(l, v, "remind", &s->remind);
                        if (q >= 0 && s->remind < USEC_PER_SEC)
                                q = error_at(l, v, "remind: at least 1s");
                        node_human = node_human ?: v;
                } else if (streq(k->value, "repeat")) {
                        uint64_t u;
                        q = loader_parse_uint(l, v, "repeat", 1, STEP_REPEAT_MAX, &u);
                        if (q >= 0)
                                s->repeat = (unsigned) u;
                        node_human = node_human ?: v;
                } else if (streq(k->value, "bridge"))
                        q = loader_parse_string(l, v, "bridge", &s->bridge);
                else if (streq(k->value, "chat"))
                        q = loader_parse_string(l, v, "chat", &s->chat);
                else if (streq(k->value, "instructions"))
                        q = loader_parse_string(l, v, "instructions", &s->instructions);
                else if (streq(k->value, "links"))
                        q = loader_parse_strv(l, v, "links", &s->links);
                else if (streq(k->value, "done-if")) {
                        q = parse_done_if(l, s, v);
                        node_done_if = v;
                } else if (streq(k->value, "release")) {
                        q = loader_parse_units(l, v, "release", &s->release);
                        s->release_pos = (SourcePos) { v->line, v->column };
                } else
                        q = loader_unknown_key(l, k, NULL, step_keys);
                r = loader_merge(r, q);
        }

        /* What kind of step is it? */
        if (run && human) {
                r = loader_merge(r, error_at(l, human, "a step has either \"run\" (a machine step) or \"human\" "
                                      "(a person's step), not both"));
        } else if (!run && !human) {
                r = loader_merge(r, error_at(l, n, "missing \"run\" (a machine step) or \"human\" (approve or task)"));
        } else {
                const YNode *v = run ?: human;
                _cleanup_free_ char *kind = NULL;
                int q = loader_parse_string(l, v, run ? "run" : "human", &kind);
                if (q >= 0) {
                        StepKind k = step_kind_from_string(kind);
                        if (k < 0 || (human && !step_kind_is_human(k))) {
                                const char *const machine[] = {
                                        "exec", "unit.start", "unit.stop", "unit.restart",
                                        "unit.restart-dependents", "raid.wait-sync", "raid.check", "fs.check",
                                        "fs.mount", "snapshot", "backup.verify", "wait", NULL,
                                };
                                const char *const humans[] = { "approve", "task", NULL };
                                const char *hint = string_closest(kind, run ? machine : humans);
                                q = error_at(l, v, "%s: unknown step kind \"%s\"%s%s%s", run ? "run" : "human", kind,
                                             hint ? " (did you mean \"" : "", strempty(hint), hint ? "\"?)" : "");
                        } else if (run && step_kind_is_human(k))
                                q = error_at(l, v, "run: \"%s\" is a person's step: write \"human: %s\"", kind,
                                             kind);
                        else
                                s->kind = k;
                }
                r = loader_merge(r, q);
        }

        if (s->kind >= 0) {
                if (step_kind_is_human(s->kind)) {
                        if (with)
                                r = loader_merge(r, error_at(l, with, "human steps take no \"with\"; put what the "
                                                      "person needs to know in \"instructions\""));
                        if (!s->owner && !l->plan->owner)
                                r = loader_merge(r, error_at(l, n, "human step has no owner: say who acts on it with "
                                                      "\"owner:\" (on the step or the plan)"));
                        if (node_done_if)
                                r = loader_merge(r, error_at(l, node_done_if, "done-if applies to machine steps only: "
                                                      "a person says what is done"));
                } else {
                        r = loader_merge(r, parse_with(l, s, n, with));
                        if (node_ack)
                                r = loader_merge(r, warning_at(l, node_ack, "ack-timeout applies to human steps only, "
                                                        "ignoring"));
                        if (node_escalate)
                                r = loader_merge(r, warning_at(l, node_escalate, "escalate applies to human steps "
                                                        "only, ignoring"));
                        if (node_human)
                                r = loader_merge(r, warning_at(l, node_human, "remind and repeat apply to human "
                                                        "steps only, ignoring"));
                        if (s->kind == STEP_WAIT && s->timeout == USEC_INFINITY)
                                r = loader_merge(r, error_at(l, n, "wait step needs a \"timeout\""));
                }
                if (!idem)
                        s->idempotent = step_kind_default_idempotent(s->kind);
        }
        return r;
}

/* ---- triggers ---- */

static const char *const unit_states[] = { "failed", "inactive", "active", NULL };
static const char *const unit_results[] = {
        "exit-code", "signal", "core-dump", "watchdog", "timeout", "oom-kill", "start-limit-hit", "resources",
        "protocol", "exec-condition", "success", NULL,
};
static const char *const raid_events[] = {
        "degraded", "disk-failed", "resync-pending", "resync-started", "resync-finished", "check-mismatch", NULL,
};
static const char *const device_events[] = { "added", "removed", NULL };
static const char *const link_states[] = { "down", "up", "lower-layer-down", "removed", NULL };

/* The names earlier salves took, pointed at today's. */
static const char *raid_event_renamed(const char *s) {
        return streq(s, "failed") ? "disk-failed" : streq(s, "resync") ? "resync-started" : NULL;
}

static int parse_trigger_name(PlanLoader *l, Trigger *t, const YNode *x, const char *field) {
        int q = loader_parse_string(l, x, field, &t->name);

        if (q < 0)
                return q;
        switch (t->kind) {
        case TRIGGER_UNIT:
                /* A glob, or a unit name. */
                if (!strpbrk(t->name, "*?[") && !unit_name_is_valid(t->name)) {
                        bool no_suffix = !strchr(t->name, '.');
                        q = error_at(l, x, "%s: \"%s\" is not a valid unit name%s%s%s", field, t->name,
                                     no_suffix ? " (did you mean \"" : "", no_suffix ? t->name : "",
                                     no_suffix ? ".service\"?)" : "");
                }
                break;
        case TRIGGER_RAID:
                if (!streq(t->name, "*") && !md_array_name_is_valid(t->name))
                        q = error_at(l, x, "%s: \"%s\" is not an md array (expected e.g. md0)", field,
                                     t->name);
                break;
        case TRIGGER_DEVICE:
                if (!device_name_is_valid(t->name) || string_has_prefix(t->name, "PARTLABEL="))
                        q = error_at(l, x, "%s: \"%s\" is not a device match (expected UUID=..., LABEL=..., "
                                     "PARTUUID=... or /dev/...)", field, t->name);
                break;
        case TRIGGER_LINK:
                if (strlen(t->name) >= 16 || strchr(t->name, '/'))
                        q = error_at(l, x, "%s: \"%s\" is not a link name or glob (at most 15 characters, no /)",
                                     field, t->name);
                break;
        default:
                break;
        }
        return q;
}

static int parse_trigger_args(PlanLoader *l, Trigger *t, const YNode *v, const char *what, const char *name_key,
                              const char *event_key, const char * const *events) {
        const YNode *event_node = NULL, *restarts_node = NULL, *within_node = NULL, *result_node = NULL;
        char field[64];
        int r = loader_check_mapping(l, v, what);
        bool seen_name = false;

        if (r < 0)
                return r;
        for (size_t i = 0; i < ynode_n_pairs(v); i++) {
                const YNode *k = ynode_key(v, i), *x = ynode_value(v, i);
                const char *const unit_known[] = { name_key, event_key, "result", "restarts", "within", NULL };
                const char *const known[] = { name_key, event_key, NULL };
                int q = 0;

                if (k->type != YNODE_SCALAR)
                        continue;
                snprintf(field, sizeof(field), "trigger.%s.%s", what, k->value);
                if (streq(k->value, name_key)) {
                        seen_name = true;
                        q = parse_trigger_name(l, t, x, field);
                } else if (streq(k->value, event_key)) {
                        const char *renamed = t->kind == TRIGGER_RAID && x->type == YNODE_SCALAR && x->value
                                                      ? raid_event_renamed(x->value) : NULL;
                        event_node = x;
                        if (renamed)
                                q = error_at(l, x, "%s: \"%s\" is now called \"%s\"", field, x->value, renamed);
                        else
                                q = loader_parse_enum(l, x, field, events, &t->event);
                } else if (t->kind == TRIGGER_UNIT && streq(k->value, "result")) {
                        result_node = x;
                        q = x->type == YNODE_SCALAR ? (ynode_is_null(x) ? error_at(l, x, "%s: expected a Result", field)
                                                                        : strv_extend(&t->result, x->value))
                                                    : loader_parse_strv(l, x, field, &t->result);
                        for (size_t j = 0; q >= 0 && t->result && t->result[j]; j++)
                                if (!strv_contains((char **) unit_results, t->result[j]))
                                        q = error_at(l, x, "%s: unknown Result \"%s\" (systemd's are exit-code, "
                                                     "signal, core-dump, watchdog, timeout, oom-kill, "
                                                     "start-limit-hit, resources, protocol, exec-condition, "
                                                     "success)", field, t->result[j]);
                } else if (t->kind == TRIGGER_UNIT && streq(k->value, "restarts")) {
                        uint64_t u;
                        restarts_node = x;
                        q = loader_parse_uint(l, x, field, 1, 1000, &u);
                        if (q >= 0)
                                t->restarts = (unsigned) u;
                } else if (t->kind == TRIGGER_UNIT && streq(k->value, "within")) {
                        within_node = x;
                        q = loader_parse_duration(l, x, field, &t->within);
                        if (q >= 0 && (t->within == 0 || t->within == USEC_INFINITY))
                                q = error_at(l, x, "%s: must be a finite, non-zero duration", field);
                } else
                        q = loader_unknown_key(l, k, what, t->kind == TRIGGER_UNIT ? unit_known : known);
                r = loader_merge(r, q);
        }
        if (!seen_name)
                r = loader_merge(r, error_at(l, v, "trigger.%s: missing required key \"%s\"", what, name_key));
        if (restarts_node || within_node) {
                if (!restarts_node || !within_node)
                        r = loader_merge(r, error_at(l, restarts_node ?: within_node,
                                                     "trigger.unit: \"restarts\" and \"within\" go together "
                                                     "(e.g. restarts: 3, within: 10m)"));
                if (event_node || result_node)
                        r = loader_merge(r, error_at(l, event_node ?: result_node,
                                                     "trigger.unit: a \"restarts\" trigger counts automatic restarts; "
                                                     "it takes no \"%s\"", event_node ? "state" : "result"));
                return r;
        }
        if (result_node && t->event && !streq(t->event, "failed"))
                r = loader_merge(r, error_at(l, result_node, "trigger.unit.result: applies to state: failed only"));
        if (r >= 0 && !t->event) {
                t->event = strdup(events[0]);
                if (!t->event)
                        return -ENOMEM;
        }
        return r;
}

static int parse_triggers(PlanLoader *l, const YNode *n) {
        static const char *const kinds[] = { "boot", "unit", "raid", "device", "link", "manual", NULL };
        static const char *const boot_events[] = { "unclean", "any", NULL };
        Plan *p = l->plan;
        int r = 0;

        if (n->type != YNODE_SEQUENCE)
                return error_at(l, n, "trigger: expected a list, got %s", ynode_describe(n));
        p->triggers = calloc(MAX(n->n_items, 1u), sizeof(Trigger));
        if (!p->triggers)
                return -ENOMEM;

        for (size_t i = 0; i < n->n_items; i++) {
                const YNode *it = n->items[i], *k, *v;
                Trigger *t = p->triggers + p->n_triggers;
                int q;

                if (it->type == YNODE_SCALAR && !ynode_is_null(it) && streq(it->value, "manual")) {
                        *t = (Trigger) { .kind = TRIGGER_MANUAL, .pos = { it->line, it->column } };
                        p->n_triggers++;
                        continue;
                }
                q = loader_check_mapping(l, it, "trigger");
                if (q >= 0 && ynode_n_pairs(it) != 1)
                        q = error_at(l, it, "trigger: each entry names one trigger (boot, unit, raid, device, link "
                                     "or manual), found %zu keys", ynode_n_pairs(it));
                if (q < 0) {
                        r = loader_merge(r, q);
                        continue;
                }
                k = ynode_key(it, 0);
                v = ynode_value(it, 0);
                *t = (Trigger) { .kind = trigger_kind_from_string(k->value), .pos = { k->line, k->column } };
                switch (t->kind) {
                case TRIGGER_BOOT:
                        q = loader_parse_enum(l, v, "trigger.boot", boot_events, &t->event);
                        break;
                case TRIGGER_UNIT:
                        q = parse_trigger_args(l, t, v, "unit", "name", "state", unit_states);
                        break;
                case TRIGGER_RAID:
                        q = parse_trigger_args(l, t, v, "raid", "array", "event", raid_events);
                        break;
                case TRIGGER_DEVICE:
                        q = parse_trigger_args(l, t, v, "device", "match", "event", device_events);
                        break;
                case TRIGGER_LINK:
                        q = parse_trigger_args(l, t, v, "link", "name", "state", link_states);
                        break;
                case TRIGGER_MANUAL:
                        q = 0;
                        break;
                default: {
                        const char *hint = string_closest(k->value, kinds);
                        q = error_at(l, k, "trigger: unknown trigger \"%s\"%s%s%s (expected boot, unit, raid, "
                                     "device, link or manual)", k->value, hint ? " (did you mean \"" : "",
                                     strempty(hint), hint ? "\"?)" : "");
                        t->kind = TRIGGER_MANUAL;
                }
                }
                p->n_triggers++;
                r = loader_merge(r, q);
        }
        return r;
}

/* `trigger-limit: {burst: N, interval: T}` */
static int parse_trigger_limit(PlanLoader *l, const YNode *v) {
        const char *const known[] = { "burst", "interval", NULL };
        Plan *p = l->plan;
        int r = loader_check_mapping(l, v, "trigger-limit");

        if (r < 0)
                return r;
        for (size_t i = 0; i < ynode_n_pairs(v); i++) {
                const YNode *k = ynode_key(v, i), *x = ynode_value(v, i);
                uint64_t u;
                int q;

                if (k->type != YNODE_SCALAR)
                        continue;
                if (streq(k->value, "burst")) {
                        q = loader_parse_uint(l, x, "trigger-limit.burst", 0, 10000, &u);
                        if (q >= 0)
                                p->trigger_limit_burst = (unsigned) u;
                } else if (streq(k->value, "interval")) {
                        q = loader_parse_duration(l, x, "trigger-limit.interval", &p->trigger_limit_interval);
                        if (q >= 0 && p->trigger_limit_interval == USEC_INFINITY)
                                q = error_at(l, x, "trigger-limit.interval: must be finite (burst: 0 turns the "
                                             "limit off)");
                } else
                        q = loader_unknown_key(l, k, "trigger-limit", known);
                r = loader_merge(r, q);
        }
        return r;
}

/* ${trigger.NAME} in `with:` strings: each must be known and set by one of
 * the plan's triggers. Checked once the whole plan is read (the triggers
 * may follow the steps). */
typedef struct VarCheck {
        PlanLoader *l;
        const YNode *node;
        const char *field;
        int r;
} VarCheck;

static int check_var(const char *name, void *userdata) {
        VarCheck *c = userdata;
        const Plan *p = c->l->plan;
        bool provided = false;

        if (!trigger_var_is_known(name)) {
                _cleanup_free_ char *list = strv_join((char **) trigger_var_names, ", ");
                c->r = loader_merge(c->r, error_at(c->l, c->node, "%s: unknown variable ${trigger.%s} (known: %s)",
                                                   c->field, name, strna(list)));
                return 0;
        }
        for (size_t i = 0; i < p->n_triggers && !provided; i++)
                provided = p->triggers[i].kind != TRIGGER_MANUAL && trigger_kind_provides_var(p->triggers[i].kind, name);
        if (!provided)
                c->r = loader_merge(c->r, error_at(c->l, c->node, "%s: ${trigger.%s}: none of this plan's triggers "
                                                   "sets it", c->field, name));
        return 0;
}

static int check_vars_in(PlanLoader *l, const YNode *node, const char *field, const char *s) {
        VarCheck c = { .l = l, .node = node, .field = field };
        const char *bad = NULL;

        if (!string_has_trigger_vars(s))
                return 0;
        if (string_foreach_trigger_var(s, check_var, &c, &bad) < 0)
                return loader_merge(c.r, error_at(l, node, "%s: \"%.32s\": a trigger variable is written "
                                                  "${trigger.NAME}", field, strna(bad)));
        return c.r;
}

static int check_plan_vars(PlanLoader *l, const YNode *steps) {
        int r = 0;

        for (size_t i = 0; i < l->plan->n_steps && i < steps->n_items; i++) {
                const Step *s = l->plan->steps + i;
                const YNode *with = ynode_get(steps->items[i], "with");

                snprintf(l->ctx, sizeof(l->ctx), "step \"%s\": ", strna(s->id));
                for (size_t j = 0; with && j < s->n_args; j++) {
                        const StepArg *a = s->args + j;
                        const YNode *v = ynode_get(with, a->key);
                        char field[64];

                        snprintf(field, sizeof(field), "with.%s", a->key);
                        if (a->str)
                                r = loader_merge(r, check_vars_in(l, v ?: with, field, a->str));
                        for (size_t k = 0; a->strv && a->strv[k]; k++)
                                r = loader_merge(r, check_vars_in(l, v && v->type == YNODE_SEQUENCE &&
                                                                       k < v->n_items ? v->items[k] : v ?: with,
                                                                  field, a->strv[k]));
                }
        }
        l->ctx[0] = 0;
        return r;
}

/* ---- the plan ---- */

static const char *const plan_keys[] = {
        "plan", "description", "trigger", "trigger-limit", "settle", "armed", "rto", "holds", "owner", "escalate", "links",
        "fallback", "bridge", "chat", "parallel", "concurrency", "steps", NULL,
};

static int parse_plan(PlanLoader *l, const YNode *root) {
        Plan *p = l->plan;
        const YNode *steps = NULL;
        int r;

        r = loader_check_mapping(l, root, "plan file");
        if (r < 0)
                return r;

        /* owner first: human steps fall back to it. */
        for (size_t i = 0; i < ynode_n_pairs(root); i++) {
                const YNode *k = ynode_key(root, i);
                if (k->type == YNODE_SCALAR && streq(k->value, "owner")) {
                        r = loader_merge(r, loader_parse_string(l, ynode_value(root, i), "owner", &p->owner));
                        p->owner_pos = (SourcePos) { ynode_value(root, i)->line, ynode_value(root, i)->column };
                }
        }

        for (size_t i = 0; i < ynode_n_pairs(root); i++) {
                const YNode *k = ynode_key(root, i), *v = ynode_value(root, i);
                uint64_t u;
                int q = 0;

                if (k->type != YNODE_SCALAR || streq(k->value, "owner"))
                        continue;
                if (streq(k->value, "plan")) {
                        q = loader_parse_string(l, v, "plan", &p->name);
                        if (q >= 0 && !plan_name_is_valid(p->name)) {
                                q = error_at(l, v, "plan: \"%s\" is not a valid plan name (letters, digits, '-', "
                                             "'_' and '.', at most %d characters)", p->name, PLAN_NAME_MAX);
                                p->name = mfree(p->name);
                        }
                } else if (streq(k->value, "description"))
                        q = loader_parse_string(l, v, "description", &p->description);
                else if (streq(k->value, "trigger"))
                        q = parse_triggers(l, v);
                else if (streq(k->value, "armed"))
                        q = loader_parse_bool(l, v, "armed", &p->armed);
                else if (streq(k->value, "trigger-limit"))
                        q = parse_trigger_limit(l, v);
                else if (streq(k->value, "settle")) {
                        q = loader_parse_duration(l, v, "settle", &p->settle);
                        if (q >= 0 && (p->settle == USEC_INFINITY || p->settle > 10 * 60 * USEC_PER_SEC))
                                q = error_at(l, v, "settle: at most 10min");
                }
                else if (streq(k->value, "rto")) {
                        q = loader_parse_duration(l, v, "rto", &p->rto);
                        p->rto_pos = (SourcePos) { v->line, v->column };
                } else if (streq(k->value, "holds")) {
                        q = loader_parse_units(l, v, "holds", &p->holds);
                        /* A gate orders the held unit after salved; only a
                         * service can wait there without an ordering cycle
                         * (mounts, sockets and targets come before the bus). */
                        for (size_t h = 0; p->holds && p->holds[h]; h++)
                                if (!string_has_suffix(p->holds[h], ".service") ||
                                    streq(p->holds[h], "salved.service") || streq(p->holds[h], "dbus.service") ||
                                    string_has_prefix(p->holds[h], "salve-gate@") ||
                                    string_has_prefix(p->holds[h], "systemd-"))
                                        q = loader_merge(q, error_at(l, v->items[h], "holds: \"%s\" cannot be held: "
                                                              "salve holds services that start after salved, not "
                                                              "%s", p->holds[h],
                                                              string_has_suffix(p->holds[h], ".service")
                                                              ? "the bus, salved or systemd's own" : "other unit types"));
                }
                else if (streq(k->value, "escalate")) {
                        q = loader_parse_strv(l, v, "escalate", &p->escalate);
                        p->escalate_pos = (SourcePos) { v->line, v->column };
                        if (q >= 0 && strv_length(p->escalate) > STEP_ESCALATE_MAX)
                                q = error_at(l, v, "escalate: at most %d levels", STEP_ESCALATE_MAX);
                } else if (streq(k->value, "fallback"))
                        q = loader_parse_strv(l, v, "fallback", &p->fallback);
                else if (streq(k->value, "bridge"))
                        q = loader_parse_string(l, v, "bridge", &p->bridge);
                else if (streq(k->value, "chat"))
                        q = loader_parse_string(l, v, "chat", &p->chat);
                else if (streq(k->value, "links"))
                        q = loader_parse_strv(l, v, "links", &p->links);
                else if (streq(k->value, "parallel")) {
                        q = loader_parse_uint(l, v, "parallel", 1, 64, &u);
                        if (q >= 0)
                                p->parallel = (unsigned) u;
                } else if (streq(k->value, "concurrency")) {
                        _cleanup_free_ char *c = NULL;
                        static const char *const values[] = { "join", "queue", NULL };
                        q = loader_parse_enum(l, v, "concurrency", values, &c);
                        if (q >= 0)
                                p->concurrency = concurrency_from_string(c);
                } else if (streq(k->value, "steps"))
                        steps = v;
                else
                        q = loader_unknown_key(l, k, NULL, plan_keys);
                r = loader_merge(r, q);
        }

        if (!p->name)
                r = loader_merge(r, p->name || !r ? error_at(l, root, "missing required key \"plan\" (the plan's name)")
                                           : r);
        if (!steps)
                return loader_merge(r, error_at(l, root, "missing required key \"steps\""));
        if (steps->type != YNODE_SEQUENCE)
                return loader_merge(r, error_at(l, steps, "steps: expected a list, got %s", ynode_describe(steps)));
        if (steps->n_items == 0)
                return loader_merge(r, error_at(l, steps, "steps: a plan needs at least one step"));
        if (steps->n_items > PLAN_MAX_STEPS)
                return loader_merge(r, error_at(l, steps, "steps: more than %d steps", PLAN_MAX_STEPS));

        p->steps = calloc(steps->n_items, sizeof(Step));
        if (!p->steps)
                return -ENOMEM;
        for (size_t i = 0; i < steps->n_items; i++) {
                r = loader_merge(r, parse_step(l, p->steps + i, steps->items[i], i));
                p->n_steps++;
                l->ctx[0] = 0;
                if (r == -ENOMEM)
                        return r;
        }
        for (size_t i = 0; i < p->n_steps; i++)
                for (size_t j = 0; p->steps[i].release && p->steps[i].release[j]; j++)
                        if (!strv_contains(p->holds, p->steps[i].release[j]))
                                r = loader_merge(r, error_at_pos(l, p->steps[i].release_pos, "step \"%s\": release: "
                                                                 "\"%s\" is not in the plan's holds",
                                                                 p->steps[i].id ?: "?", p->steps[i].release[j]));
        return loader_merge(r, check_plan_vars(l, steps));
}

size_t plan_json_string_size(const char *buf, size_t len, size_t limit, size_t *ret_cross) {
        size_t n = 0, cross = len;

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) buf[i];

                if (strchr("\"\\\b\f\n\r\t", c) && c != 0)
                        n += 2;
                else if (c < 0x20)
                        n += 6;
                else
                        n += 1;
                if (n > limit && cross == len)
                        cross = i;
        }
        if (ret_cross)
                *ret_cross = cross;
        return n;
}

int plan_load_buffer(const char *file, const char *buf, size_t len, Diagnostics *d, Plan **ret) {
        _cleanup_(ydocument_freep) YDocument *doc = NULL;
        _cleanup_(plan_freep) Plan *p = NULL;
        size_t errors_before = d->n_errors;
        PlanLoader l = { .file = file, .diag = d };
        bool nul;
        ssize_t bad;
        int r;

        size_t blank = 0;

        /* buf need not be NUL-terminated: every scan is bounded by len. */
        while (blank < len && strchr(" \t\r\n", buf[blank]) && buf[blank] != 0)
                blank++;
        if (blank == len)
                return diag_add(d, DIAG_ERROR, file, 1, 1, "empty plan file") < 0 ? -ENOMEM : -EINVAL;
        if (len > PLAN_FILE_MAX)
                return diag_add(d, DIAG_ERROR, file, 1, 1, "plan file too large (%zu bytes, at most %u, so that "
                                "a run's journal record of it fits the %u-byte record limit)", len, PLAN_FILE_MAX,
                                PLAN_RECORD_MAX) < 0 ? -ENOMEM : -EINVAL;
        bad = utf8_first_invalid(buf, len, &nul);
        if (bad >= 0) {
                unsigned line, column;
                offset_to_line_column(buf, (size_t) bad, &line, &column);
                return diag_add(d, DIAG_ERROR, file, line, column, "%s at byte %zd",
                                nul ? "NUL byte in plan file" : "invalid UTF-8", bad) < 0 ? -ENOMEM : -EINVAL;
        }
        /* Every run journals the source (see plan-load.h): refuse here what
         * could never start, and say where the limit is crossed. */
        {
                size_t cross, json = plan_json_string_size(buf, len, PLAN_SOURCE_JSON_MAX, &cross);
                if (json > PLAN_SOURCE_JSON_MAX) {
                        unsigned line, column;
                        offset_to_line_column(buf, cross, &line, &column);
                        return diag_add(d, DIAG_ERROR, file, line, column, "plan too large to run: its source takes "
                                        "%zu bytes escaped as JSON in a run's journal record, over the limit of %u "
                                        "(a journal record holds at most %u bytes; quotes, backslashes, tabs and "
                                        "newlines count twice); the limit is crossed here", json,
                                        PLAN_SOURCE_JSON_MAX, PLAN_RECORD_MAX) < 0 ? -ENOMEM : -EINVAL;
                }
        }

        r = ydocument_parse(file, buf, len, d, &doc);
        if (r < 0)
                return r;
        if (!doc->root || ynode_is_null(doc->root))
                return diag_add(d, DIAG_ERROR, file, 1, 1, "empty plan file") < 0 ? -ENOMEM : -EINVAL;

        p = calloc(1, sizeof(Plan));
        if (!p)
                return -ENOMEM;
        p->rto = USEC_INFINITY;
        p->parallel = PLAN_PARALLEL_DEFAULT;
        p->trigger_limit_burst = PLAN_TRIGGER_LIMIT_BURST_DEFAULT;
        p->armed = true;
        p->trigger_limit_interval = PLAN_TRIGGER_LIMIT_INTERVAL_DEFAULT;
        p->path = strdup(file);
        p->source = strndup(buf, len);
        if (!p->path || !p->source)
                return -ENOMEM;
        l.plan = p;

        r = parse_plan(&l, doc->root);
        if (r == -ENOMEM)
                return r;
        /* The graph checks only make sense on steps that parsed. */
        if (r >= 0 || p->n_steps > 0) {
                int q = plan_graph_check(p, file, d);
                if (q == -ENOMEM)
                        return q;
                r = loader_merge(r, q);
        }
        if (r < 0 || d->n_errors > errors_before)
                return -EINVAL;
        *ret = TAKE_PTR(p);
        return 0;
}

/* Why a directory is not safe to hold a plan root runs, or NULL. Root
 * must own it and no one else may write it; the sticky bit does not help
 * (anyone may still plant new names in /tmp). */
static const char *dir_unsafe_reason(const struct stat *st, char *buf, size_t size) {
        if (!S_ISDIR(st->st_mode))
                return "not a directory (it changed while being checked)";
        if (st->st_uid != 0) {
                snprintf(buf, size, "not owned by root (uid %u)", (unsigned) st->st_uid);
                return buf;
        }
        if (st->st_mode & (S_IWGRP | S_IWOTH)) {
                snprintf(buf, size, "writable by %s (mode %04o)", st->st_mode & S_IWOTH ? "others" : "its group",
                         (unsigned) (st->st_mode & 07777));
                return buf;
        }
        return NULL;
}

static int check_one_dir(const char *path, const char *dir, Diagnostics *d) {
        const char *why;
        struct stat st;
        char buf[64];

        /* lstat(): dir is a resolved path, so a symlink here means it
         * changed under us, and that is refused too. */
        if (lstat(dir, &st) < 0) {
                int r = negative_errno();
                return diag_add(d, DIAG_ERROR, path, 0, 0, "refusing to load: cannot check directory %s on its "
                                "path: %s", dir, strerror(-r)) < 0 ? -ENOMEM : -EPERM;
        }
        why = dir_unsafe_reason(&st, buf, sizeof(buf));
        if (why)
                return diag_add(d, DIAG_ERROR, path, 0, 0, "refusing to load: directory %s on its path is %s, so "
                                "others could replace the plan (salved runs plans as root)", dir, why) < 0
                               ? -ENOMEM : -EPERM;
        return 0;
}

#define SYMLINK_HOPS_MAX 40

static int refuse(Diagnostics *d, const char *path, const char *why, int error) {
        return diag_add(d, DIAG_ERROR, path, 0, 0, "refusing to load: cannot resolve it: %s: %s", why,
                        strerror(error)) < 0 ? -ENOMEM : -EPERM;
}

/* Resolves path the way the kernel does, one component at a time, and
 * checks every directory it passes through with check_one_dir(): those
 * that hold each symbolic link on the way included, so that nobody but
 * root can change what the name leads to, as sudo checks sudoers. On
 * success *ret is the resolved path of the file (which the caller checks
 * on its descriptor). */
static int resolve_secure(const char *path, Diagnostics *d, char **ret) {
        _cleanup_free_ char *todo = NULL;
        char done[PATH_MAX] = ""; /* resolved so far, without a trailing '/'; "" is "/" */
        unsigned hops = 0;
        size_t pos = 0;
        int r;

        if (path[0] == '/')
                todo = strdup(path);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd)
                        return refuse(d, path, "the current directory", errno);
                if (asprintf(&todo, "%s/%s", cwd, path) < 0)
                        todo = NULL;
        }
        if (!todo)
                return -ENOMEM;
        r = check_one_dir(path, "/", d);
        if (r < 0)
                return r;

        for (;;) {
                char next[PATH_MAX], target[PATH_MAX];
                const char *c = todo + pos, *end, *after;
                struct stat st;
                size_t n, dl;
                ssize_t k;

                while (*c == '/')
                        c++;
                if (!*c)
                        break;
                end = strchrnul(c, '/');
                n = (size_t) (end - c);
                pos = (size_t) (end - todo);
                if (n == 1 && c[0] == '.')
                        continue;
                if (n == 2 && c[0] == '.' && c[1] == '.') {
                        char *slash = strrchr(done, '/');
                        if (slash)
                                *slash = 0;
                        continue;
                }
                dl = strlen(done);
                if (dl + 1 + n >= sizeof(next))
                        return refuse(d, path, "too long", ENAMETOOLONG);
                memcpy(next, done, dl);
                next[dl] = '/';
                memcpy(next + dl + 1, c, n);
                next[dl + 1 + n] = 0;
                if (lstat(next, &st) < 0)
                        return refuse(d, path, next, errno);

                if (S_ISLNK(st.st_mode)) {
                        /* The link lives in `done`, which is checked. */
                        char *rest = NULL;

                        if (++hops > SYMLINK_HOPS_MAX)
                                return refuse(d, path, next, ELOOP);
                        k = readlink(next, target, sizeof(target) - 1);
                        if (k < 0)
                                return refuse(d, path, next, errno);
                        target[k] = 0;
                        if (asprintf(&rest, "%s/%s", target, todo + pos) < 0)
                                return -ENOMEM;
                        free(todo);
                        todo = TAKE_PTR(rest);
                        pos = 0;
                        if (target[0] == '/')
                                done[0] = 0;
                        continue;
                }
                memcpy(done, next, strlen(next) + 1);

                for (after = todo + pos; *after == '/'; after++)
                        ;
                if (!*after)
                        break; /* the file itself */
                r = check_one_dir(path, done, d); /* a directory on the way */
                if (r < 0)
                        return r;
        }
        *ret = strdup(done[0] ? done : "/");
        return *ret ? 0 : -ENOMEM;
}

int plan_check_file_secure(const char *path, int fd, Diagnostics *d) {
        _cleanup_free_ char *real = NULL;
        struct stat st, again;
        int r;

        /* The file itself, on what was opened: no name can be swapped
         * under this check. */
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_uid != 0)
                return diag_add(d, DIAG_ERROR, path, 0, 0, "refusing to load: owned by uid %u, not root "
                                "(salved runs plans as root)", (unsigned) st.st_uid) < 0 ? -ENOMEM : -EPERM;
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return diag_add(d, DIAG_ERROR, path, 0, 0, "refusing to load: writable by %s (mode %04o); "
                                "salved runs plans as root", st.st_mode & S_IWOTH ? "everyone" : "its group",
                                (unsigned) (st.st_mode & 07777)) < 0 ? -ENOMEM : -EPERM;

        /* Every directory on the way to it, through every link. Once they
         * are root's alone, the resolved name keeps naming what it names
         * now; it must name the file that was opened. */
        r = resolve_secure(path, d, &real);
        if (r < 0)
                return r;
        if (lstat(real, &again) < 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino)
                return diag_add(d, DIAG_ERROR, path, 0, 0, "refusing to load: it was replaced while being loaded") < 0
                               ? -ENOMEM : -EPERM;
        return 0;
}

int plan_load_file(const char *path, PlanLoadFlags flags, Diagnostics *d, Plan **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        /* O_NONBLOCK: opening a FIFO (or a device) must not wait for a
         * writer; whatever it is, it is refused below before any read.
         * O_NOCTTY: a terminal never becomes salved's. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = negative_errno();
                return diag_add(d, DIAG_ERROR, path, 0, 0, "cannot open: %s", strerror(-r)) < 0 ? -ENOMEM : r;
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return diag_add(d, DIAG_ERROR, path, 0, 0, "refusing to load: not a regular file (a %s)",
                                S_ISFIFO(st.st_mode) ? "FIFO" : S_ISDIR(st.st_mode) ? "directory"
                                : S_ISCHR(st.st_mode) ? "character device" : S_ISBLK(st.st_mode) ? "block device"
                                : S_ISSOCK(st.st_mode) ? "socket" : "special file") < 0 ? -ENOMEM : -EINVAL;
        if (flags & PLAN_LOAD_SECURE) {
                r = plan_check_file_secure(path, fd, d);
                if (r < 0)
                        return r;
        }
        if (st.st_size > PLAN_FILE_MAX)
                return diag_add(d, DIAG_ERROR, path, 1, 1, "plan file too large (%jd bytes, at most %u, so that "
                                "a run's journal record of it fits the %u-byte record limit)",
                                (intmax_t) st.st_size, PLAN_FILE_MAX, PLAN_RECORD_MAX) < 0 ? -ENOMEM : -EINVAL;

        buf = malloc(PLAN_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, PLAN_FILE_MAX + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        return diag_add(d, DIAG_ERROR, path, 0, 0, "cannot read: %s", strerror(-r)) < 0 ? -ENOMEM
                                                                                                          : r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > PLAN_FILE_MAX)
                        return diag_add(d, DIAG_ERROR, path, 1, 1, "plan file too large (more than %u bytes)",
                                        PLAN_FILE_MAX) < 0 ? -ENOMEM : -EINVAL;
        }
        buf[n] = 0;
        return plan_load_buffer(path, buf, n, d, ret);
}
