/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The plan model: what a plan file says, after it has been checked.
 * A Plan that exists is valid: every `needs` resolves, the graph has no
 * cycle, every step's `with:` matches its kind's schema. The loader
 * (plan-load.c) builds it, the graph code (plan-graph.c) orders it, and
 * the engine only ever reads it. */

#include <stdint.h>

#include "time-util.h"
#include "strv.h"

typedef enum StepKind {
        STEP_EXEC,
        STEP_UNIT_START,
        STEP_UNIT_STOP,
        STEP_UNIT_RESTART,
        STEP_UNIT_RESTART_DEPENDENTS,
        STEP_RAID_WAIT_SYNC,
        STEP_RAID_CHECK,
        STEP_FS_CHECK,
        STEP_FS_MOUNT,
        STEP_SNAPSHOT,
        STEP_BACKUP_VERIFY,
        STEP_WAIT,
        STEP_APPROVE,           /* human */
        STEP_TASK,              /* human */
        _STEP_KIND_MAX,
        _STEP_KIND_INVALID = -EINVAL,
} StepKind;

typedef enum OnFailure {
        ON_FAILURE_ABORT,
        ON_FAILURE_CONTINUE,
        ON_FAILURE_HANDLER,
        _ON_FAILURE_MAX,
        _ON_FAILURE_INVALID = -EINVAL,
} OnFailure;

typedef enum TriggerKind {
        TRIGGER_BOOT,           /* event: unclean | any */
        TRIGGER_UNIT,           /* name, state: failed | inactive | active */
        TRIGGER_RAID,           /* array, event: degraded | failed | resync */
        TRIGGER_LINK,           /* name, state: down | up | lower-layer-down | removed */
        TRIGGER_DEVICE,         /* match, event: added | removed */
        TRIGGER_MANUAL,
        _TRIGGER_KIND_MAX,
        _TRIGGER_KIND_INVALID = -EINVAL,
} TriggerKind;

typedef enum Concurrency {
        CONCURRENCY_JOIN,       /* a trigger while a run is active joins that run */
        CONCURRENCY_QUEUE,      /* ... or queues one more run after it */
        _CONCURRENCY_MAX,
        _CONCURRENCY_INVALID = -EINVAL,
} Concurrency;

typedef enum ArgType {
        ARG_STRING,
        ARG_STRV,
        ARG_UNIT,               /* a valid systemd unit name */
        ARG_PATH,               /* absolute, normalized enough */
        ARG_DEVICE,             /* /dev/..., UUID=, LABEL=, PARTUUID= */
        ARG_MD_ARRAY,           /* md0, md/name or /dev/md0 */
        ARG_DURATION,
        ARG_BOOL,
        ARG_UINT,
        ARG_ENUM,
        ARG_SIZE,               /* bytes: 4096, 512K, 10M, 2G, 1T (powers of 1024) */
        _ARG_TYPE_MAX,
        _ARG_TYPE_INVALID = -EINVAL,
} ArgType;

typedef struct SourcePos {
        unsigned line, column;
} SourcePos;

typedef struct StepArg {
        const char *key;        /* points into the static schema */
        ArgType type;
        char *str;              /* STRING, UNIT, PATH, DEVICE, MD_ARRAY, ENUM */
        char **strv;            /* STRV */
        usec_t usec;            /* DURATION */
        uint64_t u;             /* UINT, SIZE (bytes); BOOL as 0/1 */
        SourcePos pos;
} StepArg;

/* `when:` — all given conditions must hold when the step becomes ready. */
typedef struct Condition {
        char **trigger;         /* the run's trigger kind is one of these */
        char *path_exists;
        char *path_missing;
        char *unit_active;
        char *unit_inactive;
        char *unit_failed;
        bool present;
} Condition;

typedef struct Step {
        char *id;
        SourcePos pos;
        StepKind kind;
        char **needs;
        size_t *needs_index;    /* resolved, same order as needs */
        SourcePos *needs_pos;
        StepArg *args;
        size_t n_args;
        Condition when;
        usec_t timeout;         /* USEC_INFINITY when unset */
        usec_t estimate;        /* 0 when unset */
        usec_t ack_timeout;     /* human steps: time to acknowledge before the next level; USEC_INFINITY when unset */
        usec_t remind;          /* human steps: remind whoever acknowledged this often until done; USEC_INFINITY: never */
        unsigned repeat;        /* human steps: rounds of the escalation chain before "unanswered", >= 1 */
        char *bridge, *chat;    /* conference bridge and chat channel, for people (override the plan's) */
        bool idempotent;
        char **release;         /* held units this step releases when it starts (a subset of the plan's holds) */
        SourcePos release_pos;
        char **done_if;         /* machine steps: a check command, exit 0 = the step's effect is in place */
        usec_t done_if_timeout;
        unsigned retry_attempts;        /* total attempts, >= 1 */
        usec_t retry_backoff;
        OnFailure on_failure;
        char *on_failure_step;
        size_t on_failure_index;
        SourcePos on_failure_pos;
        bool is_handler;        /* named by another step's on-failure: runs only then */
        char *owner;
        char **escalate;
        SourcePos owner_pos, escalate_pos;      /* for checks against the people directory */
        char *instructions;
        char **links;
        char *description;
} Step;

typedef struct Trigger {
        TriggerKind kind;
        char *name;             /* unit or link (a glob), array, device match */
        char *event;            /* boot/raid/device event, unit/link state; NULL with restarts */
        char **result;          /* unit, state failed: the Result= values that count (NULL: any) */
        unsigned restarts;      /* unit: fires on this many automatic restarts ... */
        usec_t within;          /* ... within this long */
        SourcePos pos;
} Trigger;

typedef struct Plan {
        char *name;
        char *description;
        char *path;             /* the file it came from */
        char *source;           /* its text, recorded with each run */
        Trigger *triggers;
        size_t n_triggers;
        usec_t rto;             /* USEC_INFINITY when unset */
        SourcePos rto_pos;
        char **holds;
        char *owner;
        char **escalate;
        SourcePos owner_pos, escalate_pos;      /* for checks against the people directory */
        char **fallback;        /* told when a human step's escalation runs out unanswered (with owner) */
        char *bridge, *chat;
        char **links;
        unsigned parallel;      /* max steps running at once, >= 1 */
        Concurrency concurrency;
        unsigned trigger_limit_burst;   /* at most this many runs started by triggers ... */
        usec_t trigger_limit_interval;  /* ... within this long (0: no limit) */
        usec_t settle;                  /* wait this long after a trigger for more (0: none) */
        bool armed;                     /* false: its watched triggers start nothing (armed: false) */
        Step *steps;
        size_t n_steps;
        size_t *order;          /* a valid execution order (topological) */
        size_t *order_pos;      /* step index -> position in order */
        size_t *by_id;          /* step indices sorted by id, for lookups */
        size_t **dependents;    /* per step: the steps that need it */
        size_t *n_dependents;
        size_t **handles;       /* per step: the steps it is the on-failure handler of */
        size_t *n_handles;
        size_t *critical;       /* the critical path by estimate, first to last */
        size_t n_critical;
        usec_t critical_usec;
} Plan;

#define PLAN_PARALLEL_DEFAULT 4
#define PLAN_TRIGGER_LIMIT_BURST_DEFAULT 5
#define PLAN_TRIGGER_LIMIT_INTERVAL_DEFAULT (60 * 60 * USEC_PER_SEC)
#define PLAN_MAX_STEPS 1024
#define STEP_ESCALATE_MAX 16
#define STEP_REPEAT_MAX 10
#define PLAN_NAME_MAX 64
#define STEP_ID_MAX 64
#define DONE_IF_TIMEOUT_DEFAULT (60 * USEC_PER_SEC)

Plan *plan_free(Plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Plan *, plan_free);

const char *step_kind_to_string(StepKind k);
StepKind step_kind_from_string(const char *s);
bool step_kind_is_human(StepKind k);
/* Whether running the kind twice is harmless unless a plan says otherwise. */
bool step_kind_default_idempotent(StepKind k);
const char *on_failure_to_string(OnFailure f);
const char *trigger_kind_to_string(TriggerKind k);
TriggerKind trigger_kind_from_string(const char *s);
const char *concurrency_to_string(Concurrency c);
Concurrency concurrency_from_string(const char *s);

const StepArg *step_get_arg(const Step *s, const char *key);
const char *step_get_string(const Step *s, const char *key);
ssize_t plan_find_step(const Plan *p, const char *id);

/* Names: plans and step ids are [a-zA-Z0-9_.-], start alphanumeric. */
bool plan_name_is_valid(const char *s);
/* A systemd unit name: name[@instance].suffix with a known suffix. */
bool unit_name_is_valid(const char *s);

/* The `with:` schema of each step kind. */
typedef struct ArgSchema {
        const char *key;
        ArgType type;
        bool required;
        const char * const *values;     /* ENUM, STRV (each element): allowed values */
        uint32_t min, max;              /* UINT: the range (both 0: any 32-bit number) */
} ArgSchema;

const ArgSchema *step_kind_schema(StepKind k, size_t *ret_n);
const char *arg_type_to_string(ArgType t);
