/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>

#include "plan.h"
#include "string-table.h"
#include "string-util.h"

static const char *const step_kind_table[_STEP_KIND_MAX] = {
        [STEP_EXEC] = "exec",
        [STEP_UNIT_START] = "unit.start",
        [STEP_UNIT_STOP] = "unit.stop",
        [STEP_UNIT_RESTART] = "unit.restart",
        [STEP_UNIT_RESTART_DEPENDENTS] = "unit.restart-dependents",
        [STEP_RAID_WAIT_SYNC] = "raid.wait-sync",
        [STEP_RAID_CHECK] = "raid.check",
        [STEP_FS_CHECK] = "fs.check",
        [STEP_FS_MOUNT] = "fs.mount",
        [STEP_SNAPSHOT] = "snapshot",
        [STEP_BACKUP_VERIFY] = "backup.verify",
        [STEP_WAIT] = "wait",
        [STEP_APPROVE] = "approve",
        [STEP_TASK] = "task",
};

static const char *const on_failure_table[_ON_FAILURE_MAX] = {
        [ON_FAILURE_ABORT] = "abort",
        [ON_FAILURE_CONTINUE] = "continue",
        [ON_FAILURE_HANDLER] = "handler",
};

static const char *const trigger_kind_table[_TRIGGER_KIND_MAX] = {
        [TRIGGER_BOOT] = "boot",
        [TRIGGER_UNIT] = "unit",
        [TRIGGER_RAID] = "raid",
        [TRIGGER_LINK] = "link",
        [TRIGGER_DEVICE] = "device",
        [TRIGGER_MANUAL] = "manual",
};

static const char *const concurrency_table[_CONCURRENCY_MAX] = {
        [CONCURRENCY_JOIN] = "join",
        [CONCURRENCY_QUEUE] = "queue",
};

static const char *const arg_type_table[_ARG_TYPE_MAX] = {
        [ARG_STRING] = "string",
        [ARG_STRV] = "list of strings",
        [ARG_UNIT] = "unit name",
        [ARG_PATH] = "absolute path",
        [ARG_DEVICE] = "device",
        [ARG_MD_ARRAY] = "md array",
        [ARG_DURATION] = "duration",
        [ARG_BOOL] = "boolean",
        [ARG_UINT] = "number",
        [ARG_SIZE] = "size",
        [ARG_ENUM] = "one of",
};

DEFINE_STRING_TABLE(step_kind, StepKind, step_kind_table, _STEP_KIND_MAX)
DEFINE_STRING_TABLE_TO_STRING(on_failure, OnFailure, on_failure_table, _ON_FAILURE_MAX)
DEFINE_STRING_TABLE(trigger_kind, TriggerKind, trigger_kind_table, _TRIGGER_KIND_MAX)
DEFINE_STRING_TABLE(concurrency, Concurrency, concurrency_table, _CONCURRENCY_MAX)
DEFINE_STRING_TABLE_TO_STRING(arg_type, ArgType, arg_type_table, _ARG_TYPE_MAX)

bool step_kind_is_human(StepKind k) {
        return k == STEP_APPROVE || k == STEP_TASK;
}

bool step_kind_default_idempotent(StepKind k) {
        switch (k) {
        case STEP_UNIT_START:
        case STEP_UNIT_STOP:
        case STEP_UNIT_RESTART:
        case STEP_UNIT_RESTART_DEPENDENTS:     /* re-judges systemd's state each time */
        case STEP_RAID_WAIT_SYNC:
        case STEP_FS_CHECK:
        case STEP_FS_MOUNT:
        case STEP_BACKUP_VERIFY:               /* only reads (its command must be a check too) */
        case STEP_SNAPSHOT:                     /* by name: a second attempt finds the first's snapshot */
        case STEP_WAIT:
        case STEP_APPROVE:
        case STEP_TASK:
                return true;
        default:
                /* exec runs arbitrary commands; raid.check starts work
                 * that must not be doubled. */
                return false;
        }
}

/* ---- `with:` schemas ---- */

static const char *const unit_modes[] = { "replace", "fail", "isolate", "ignore-dependencies", NULL };
static const char *const fsck_repair[] = { "no", "preen", "yes", NULL };
static const char *const snapshot_backends[] = { "lvm", "btrfs", NULL };
static const char *const unit_states[] = { "active", "inactive", "failed", NULL };
static const char *const dependent_kinds[] = { "requires", "binds-to", "wants", NULL };

static const ArgSchema schema_exec[] = {
        { "command", ARG_STRV, true },
        { "user", ARG_STRING },
        { "environment", ARG_STRV },
        { "working-directory", ARG_PATH },
};
static const ArgSchema schema_unit[] = {
        { "unit", ARG_UNIT, true },
        { "mode", ARG_ENUM, false, unit_modes },
};
static const ArgSchema schema_dependents[] = {
        { "unit", ARG_UNIT, true },
        { "follow", ARG_STRV, false, dependent_kinds },
};
static const ArgSchema schema_raid_wait_sync[] = {
        { "array", ARG_MD_ARRAY, true },
        { "start-pending", ARG_BOOL },          /* default true: start a PENDING resync (mdadm --readwrite) */
        { "allow-degraded", ARG_BOOL },         /* default false: a degraded array nothing rebuilds fails */
};
static const ArgSchema schema_raid_check[] = {
        { "array", ARG_MD_ARRAY, true },
        { "max-mismatch", ARG_UINT },           /* default 0 */
};
static const ArgSchema schema_fs_check[] = {
        { "device", ARG_DEVICE, true },
        { "repair", ARG_ENUM, false, fsck_repair },     /* default preen */
        { "fstype", ARG_STRING },
};
static const ArgSchema schema_fs_mount[] = {
        { "device", ARG_DEVICE, true },
        { "where", ARG_PATH, true },
        { "fstype", ARG_STRING },
        { "options", ARG_STRING },
};
static const ArgSchema schema_snapshot[] = {
        { "backend", ARG_ENUM, true, snapshot_backends },
        { "source", ARG_STRING, true },         /* lvm: VG/LV; btrfs: a subvolume's path */
        { "name", ARG_STRING },                 /* prefix; the snapshot is NAME-RUN */
        { "size", ARG_SIZE },                   /* lvm classic: the COW size; thin: none */
        { "keep", ARG_UINT, false, NULL, 1, 100000 },   /* retention: newest N of this prefix */
        { "destination", ARG_PATH },            /* btrfs: the directory snapshots go in */
};
static const ArgSchema schema_backup_verify[] = {
        { "path", ARG_PATH, true },
        { "manifest", ARG_PATH },               /* sha256sum format, relative to its own directory */
        { "max-age", ARG_DURATION },
        { "min-size", ARG_SIZE },
        { "command", ARG_STRV },
        { "user", ARG_STRING },
};
static const ArgSchema schema_wait[] = {
        { "unit", ARG_UNIT },
        { "state", ARG_ENUM, false, unit_states },
        { "path", ARG_PATH },
        { "exists", ARG_BOOL },
};

const ArgSchema *step_kind_schema(StepKind k, size_t *ret_n) {
        static const struct { const ArgSchema *s; size_t n; } t[_STEP_KIND_MAX] = {
#define S(kind, arr) [kind] = { arr, ELEMENTSOF(arr) }
                S(STEP_EXEC, schema_exec),
                S(STEP_UNIT_START, schema_unit),
                S(STEP_UNIT_STOP, schema_unit),
                S(STEP_UNIT_RESTART, schema_unit),
                S(STEP_UNIT_RESTART_DEPENDENTS, schema_dependents),
                S(STEP_RAID_WAIT_SYNC, schema_raid_wait_sync),
                S(STEP_RAID_CHECK, schema_raid_check),
                S(STEP_FS_CHECK, schema_fs_check),
                S(STEP_FS_MOUNT, schema_fs_mount),
                S(STEP_SNAPSHOT, schema_snapshot),
                S(STEP_BACKUP_VERIFY, schema_backup_verify),
                S(STEP_WAIT, schema_wait),
#undef S
        };

        if (k < 0 || k >= _STEP_KIND_MAX) {
                *ret_n = 0;
                return NULL;
        }
        *ret_n = t[k].n;
        return t[k].s;
}

/* ---- names ---- */

bool plan_name_is_valid(const char *s) {
        size_t n;

        if (!s || !isalnum((unsigned char) s[0]))
                return false;
        n = strlen(s);
        if (n > PLAN_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

bool unit_name_is_valid(const char *s) {
        static const char *const suffixes[] = {
                ".service", ".socket", ".target", ".device", ".mount", ".automount",
                ".swap", ".timer", ".path", ".slice", ".scope",
        };
        const char *dot, *at;
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > 255)
                return false;
        dot = strrchr(s, '.');
        if (!dot || dot == s)
                return false;
        for (size_t i = 0;; i++) {
                if (i >= ELEMENTSOF(suffixes))
                        return false;
                if (streq(dot, suffixes[i]))
                        break;
        }
        for (const char *p = s; p < dot; p++)
                if (!isalnum((unsigned char) *p) && !strchr(":-_.\\@", *p))
                        return false;
        at = strchr(s, '@');
        if (at) {
                /* One '@', not first; "foo@.service" is a template, which cannot run. */
                if (at == s || strchr(at + 1, '@') || at + 1 == dot)
                        return false;
        }
        return true;
}

/* ---- lookups and freeing ---- */

const StepArg *step_get_arg(const Step *s, const char *key) {
        for (size_t i = 0; i < s->n_args; i++)
                if (streq(s->args[i].key, key))
                        return s->args + i;
        return NULL;
}

const char *step_get_string(const Step *s, const char *key) {
        const StepArg *a = step_get_arg(s, key);
        return a ? a->str : NULL;
}

ssize_t plan_find_step(const Plan *p, const char *id) {
        size_t lo = 0, hi = p->n_steps;

        if (!id)
                return -ENOENT;
        if (!p->by_id) {
                /* Only while loading, before the index exists. */
                for (size_t i = 0; i < p->n_steps; i++)
                        if (p->steps[i].id && streq(p->steps[i].id, id))
                                return (ssize_t) i;
                return -ENOENT;
        }
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(p->steps[p->by_id[mid]].id, id);
                if (c == 0)
                        return (ssize_t) p->by_id[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -ENOENT;
}

static void condition_done(Condition *c) {
        strv_free(c->trigger);
        free(c->path_exists);
        free(c->path_missing);
        free(c->unit_active);
        free(c->unit_inactive);
        free(c->unit_failed);
}

static void step_done(Step *s) {
        free(s->id);
        strv_free(s->needs);
        free(s->needs_index);
        free(s->needs_pos);
        for (size_t i = 0; i < s->n_args; i++) {
                free(s->args[i].str);
                strv_free(s->args[i].strv);
        }
        free(s->args);
        condition_done(&s->when);
        strv_free(s->done_if);
        strv_free(s->release);
        free(s->on_failure_step);
        free(s->owner);
        strv_free(s->escalate);
        free(s->bridge);
        free(s->chat);
        free(s->instructions);
        strv_free(s->links);
        free(s->description);
}

Plan *plan_free(Plan *p) {
        if (!p)
                return NULL;
        free(p->name);
        free(p->description);
        free(p->path);
        free(p->source);
        for (size_t i = 0; i < p->n_triggers; i++) {
                free(p->triggers[i].name);
                free(p->triggers[i].event);
                strv_free(p->triggers[i].result);
        }
        free(p->triggers);
        strv_free(p->holds);
        free(p->owner);
        strv_free(p->escalate);
        strv_free(p->fallback);
        free(p->bridge);
        free(p->chat);
        strv_free(p->links);
        for (size_t i = 0; i < p->n_steps; i++)
                step_done(p->steps + i);
        free(p->steps);
        free(p->order);
        free(p->order_pos);
        free(p->by_id);
        for (size_t i = 0; p->dependents && i < p->n_steps; i++)
                free(p->dependents[i]);
        free(p->dependents);
        free(p->n_dependents);
        for (size_t i = 0; p->handles && i < p->n_steps; i++)
                free(p->handles[i]);
        free(p->handles);
        free(p->n_handles);
        free(p->critical);
        free(p);
        return NULL;
}
