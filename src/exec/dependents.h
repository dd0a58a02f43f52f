/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pure part of unit.restart-dependents: given what systemd said about
 * a unit and the units that depend on it (its reverse dependency closure),
 * which of them to restart, in which order, and, at each one's turn, what
 * to do. No bus here; exec-dependents.c reads systemd and acts, the unit
 * tests (tests/unit/test-dependents.c) drive this with captured graphs.
 *
 * Timestamps are systemd's *TimestampMonotonic properties (CLOCK_MONOTONIC
 * µs, 0 for "never since the unit was loaded"): they do not jump with the
 * wall clock, and every unit's are on one clock.
 *
 * Which dependents are restarted (dep_graph_select()):
 *   - active (or activating, reloading, deactivating), or with a job
 *     queued: yes (at its turn it may turn out to be done already);
 *   - failed: yes if it failed while one of the units it depends on (its
 *     providers in the closure) was down: at or after that unit left
 *     the active state, and before it came back;
 *   - inactive after a stop: yes only if its stop went together with a
 *     provider's: its own deactivation [ActiveExit, InactiveEnter] lies
 *     within DEP_TOUCH_USEC of the provider's ActiveExit (a stop that
 *     systemd propagated: the dependent stops first, then the provider)
 *     or of its InactiveEnter (BindsTo= after a crash: the dependent is
 *     stopped once the provider is down). Any other stop is taken for a
 *     deliberate one (an admin's `systemctl stop`): left alone;
 *   - inactive and never started since systemd loaded it (its start job
 *     failed with "dependency", which systemd keeps nowhere but the
 *     journal): yes if it is enabled and a provider has been down, or is
 *     down and chosen (the rest of a chain that never started);
 *   - one that needs (via a followed dependency) a unit left alone is left
 *     alone too, since starting it would start that unit.
 * Order: topological over After= and the followed dependencies among the
 * selected units, ties by name; a cycle is an error (-ELOOP). */

#include <stdint.h>
#include <sys/types.h>

#include "strv.h"
#include "time-util.h"

#define DEP_UNITS_MAX 256U
#define DEP_TOUCH_USEC (1 * USEC_PER_SEC)
/* Reads of one unit at its turn, each after waiting for a job systemd had
 * queued on it: past this the step gives up on that unit. */
#define DEP_TURN_READS_MAX 4U

typedef enum DepFollow {
        DEP_FOLLOW_REQUIRES = 1 << 0,   /* the unit's RequiredBy= */
        DEP_FOLLOW_BINDS_TO = 1 << 1,   /* BoundBy= */
        DEP_FOLLOW_WANTS = 1 << 2,      /* WantedBy= */
        DEP_FOLLOW_DEFAULT = DEP_FOLLOW_REQUIRES | DEP_FOLLOW_BINDS_TO,
} DepFollow;

/* with.follow: "requires", "binds-to", "wants"; NULL or empty: the
 * default. -EINVAL for anything else. */
int dep_follow_from_strv(char * const *l, unsigned *ret);
/* "requires, binds-to" (static buffer of the caller) */
const char *dep_follow_to_string(unsigned follow, char *buf, size_t size);

/* What systemd said of one unit at one moment. */
typedef struct DepState {
        char *load_state;
        char *active_state;
        char *unit_file_state;
        uint32_t job_id;                /* a job queued or running on the unit, or 0 */
        char *job_path;
        usec_t active_enter, active_exit, inactive_enter, inactive_exit;
} DepState;

void dep_state_done(DepState *s);
int dep_state_copy(const DepState *s, DepState *ret);
bool dep_state_is_up(const DepState *s);        /* active or reloading */
bool dep_state_is_running(const DepState *s);   /* up, activating or deactivating */

typedef enum DepVerdict {
        DEP_UNJUDGED,
        DEP_SELECTED,
        DEP_LEFT_ALONE,
} DepVerdict;

/* How a unit's turn ended (exec-dependents.c). */
typedef enum DepOutcome {
        DEP_OUT_NONE,
        DEP_OUT_RESTARTED,      /* we restarted it (it was up) */
        DEP_OUT_STARTED,        /* we started it (it was down) */
        DEP_OUT_UP_ALREADY,     /* up since its providers came back */
        DEP_OUT_SYSTEMD_JOB,    /* systemd's own job brought it back */
        DEP_OUT_LEFT_ALONE,
        DEP_OUT_FAILED,
        DEP_OUT_NOT_TRIED,      /* needs one that failed */
} DepOutcome;

/* Why a unit is left alone. */
typedef enum DepReason {
        DEP_REASON_NONE,
        DEP_REASON_NOT_LOADED,          /* "not loaded (masked)" */
        DEP_REASON_FAILED_ON_ITS_OWN,   /* failed, but not while a provider was down */
        DEP_REASON_STOPPED_SEPARATELY,  /* stopped, but not with a provider */
        DEP_REASON_NEVER_STARTED_DISABLED,
        DEP_REASON_NEVER_STARTED,       /* enabled, but no provider has been down */
        DEP_REASON_NEEDS_LEFT_ALONE,    /* a provider is left alone */
        _DEP_REASON_MAX,
} DepReason;

typedef struct DepUnit {
        char *name;
        bool read;                      /* st0/st and the lists come from systemd */
        DepState st0;                   /* when the closure was read: decides membership */
        DepState st;                    /* the latest read */
        char **required_by, **bound_by, **wanted_by, **after;
        size_t *providers;              /* units of the closure it depends on (via a followed list) */
        size_t n_providers;
        DepVerdict verdict;
        DepReason why;                  /* left alone: why, about why_unit */
        ssize_t why_unit;               /* the provider the reason names, or -1 */

        /* its turn */
        DepOutcome outcome;
        char *was;                      /* STARTED: the ActiveState it had */
        char *detail;                   /* FAILED: what happened */
        size_t blocker;                 /* NOT_TRIED: the unit it needs that failed */
        unsigned seq;                   /* RESTARTED/STARTED: 1 for the step's first job, ... */
} DepUnit;

typedef struct DepGraph {
        unsigned follow;
        size_t max;                     /* most units besides the root; 0: DEP_UNITS_MAX */
        DepUnit *units;                 /* [0] is the root */
        size_t n, allocated;
        size_t *order;                  /* selected units, in the order to handle them */
        size_t n_order;
} DepGraph;

void dep_graph_done(DepGraph *g);
ssize_t dep_graph_find(const DepGraph *g, const char *name);
/* Returns 1 if added, 0 if it was there, -E2BIG past the bound. */
int dep_graph_add(DepGraph *g, const char *name, size_t *ret_index);
/* Whether the closure goes through a unit of this name: targets, slices,
 * scopes and devices are synchronization points or kernel objects, never
 * restarted (a WantedBy= closure would otherwise reach multi-user.target
 * from nearly every service). */
bool dep_unit_name_is_followed(const char *name);
/* Calls cb for every dependent u lists under the followed dependencies. */
int dep_unit_foreach_dependent(const DepUnit *u, unsigned follow, int (*cb)(const char *name, void *userdata),
                               void *userdata);

/* Fills every unit's providers from the followed lists. */
int dep_graph_link(DepGraph *g);
/* Judges every unit but the root on st0 (see above). */
void dep_graph_select(DepGraph *g);
/* The selected units in order. -ELOOP: an ordering cycle, whose units
 * *ret_cycle names ("x.service, y.service"). */
int dep_graph_order(DepGraph *g, char **ret_cycle);

/* Membership of unit i judged on state s (st0 at selection; the fresh
 * state after waiting for a job at its turn) against its providers' st0.
 * Returns DEP_SELECTED, or DEP_LEFT_ALONE with *ret_why and
 * *ret_why_unit set. */
DepVerdict dep_unit_judge(const DepGraph *g, size_t i, const DepState *s, DepReason *ret_why,
                          ssize_t *ret_why_unit);
/* "stopped separately from a.service", for unit i (left alone) */
const char *dep_unit_reason(const DepGraph *g, size_t i, char *buf, size_t size);

typedef enum DepAction {
        DEP_ACTION_DONE,                /* up, and started after every provider came back */
        DEP_ACTION_WAIT_JOB,            /* systemd has a job on it: wait for that, then look again */
        DEP_ACTION_RESTART,             /* up since before a provider came back: RestartUnit */
        DEP_ACTION_START,               /* down: StartUnit */
} DepAction;

/* What to do with selected unit i at its turn, from its latest state st and
 * its providers' latest states. */
DepAction dep_unit_action(const DepGraph *g, size_t i);

/* The step's message: one line, cut at 1023 bytes. */
typedef struct DepMsg {
        char buf[1024];
        size_t off;
} DepMsg;

void dep_msg_add(DepMsg *m, const char *format, ...) _printf_(2, 3);
/* Appends what the turns did, in order: "did not come back: ..." for
 * failures (if failures), "started ROOT (was ...)", "restarted b, then
 * c", "already back: ...", "left alone: ... (why)", "not tried: ...". */
void dep_graph_describe(const DepGraph *g, bool failures, DepMsg *m);
