/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the units watcher makes of one unit's successive property
 * snapshots: which trigger events to emit, and when it must first ask
 * systemd a question. Pure logic (no sd-bus), so the unit tests replay
 * the sequences systemd 252 was seen to send.
 *
 * What systemd 252 sends (busctl monitor in a container): on every state
 * change a PropertiesChanged for the type's interface (Service: Result,
 * NRestarts, ExecMain*) and then one for org.freedesktop.systemd1.Unit
 * (ActiveState, SubState, Job, the timestamps), all with values. A
 * service with Restart= that crashes shows ActiveState=failed first and,
 * about half a millisecond later, activating/auto-restart: the failed
 * snapshot alone looks exactly like a terminal failure. So:
 *
 * A failure is terminal ("failed") when it is settled (no job on the
 * unit) and one of:
 *  - the unit cannot be restarted by systemd: not a service, or
 *    Restart=no with an empty RestartForceExitStatus=;
 *  - its result is start-limit-hit (systemd 252 leaves the previous run's
 *    Result in place when the start limit refuses a start; a failure that
 *    is entered from inactive, InactiveEnterTimestamp older than
 *    StateChangeTimestamp, with a process result is that refusal);
 *  - systemd, asked after it sent the failure (a Get of
 *    StateChangeTimestamp, which it answers only once it has finished
 *    handling the death), still has the same StateChangeTimestamp: it did
 *    not move the unit on to auto-restart.
 * Otherwise the decision asks for that confirmation. A failure is
 * reported once: its occurrence is its StateChangeTimestamp.
 *
 * "restarted" is emitted when NRestarts grows, once per restart (.restarts
 * counting up to NRestarts); "active" when the unit
 * becomes active (or reloading) from anything but active, seen happen
 * (the first snapshot of a unit that is active says nothing); "inactive"
 * when it settles inactive (no job) after it was active or failed;
 * settled as a failure is: a Restart=always service that exits cleanly
 * shows inactive/dead for an instant before auto-restart too, so for a
 * unit that may be restarted the same confirmation is asked first.
 * Passing through inactive/dead inside a restart job, or a oneshot that
 * never was active, says nothing. A unit settled inactive is not worth
 * a record. */

#include <stdbool.h>
#include <stdint.h>

#include "time-util.h"

#define UNIT_STATE_STRING_MAX 32        /* SubState, Result, Restart values; longer ones are refused */

typedef enum UnitActiveState {
        UNIT_STATE_ACTIVE,
        UNIT_STATE_RELOADING,
        UNIT_STATE_INACTIVE,
        UNIT_STATE_FAILED,
        UNIT_STATE_ACTIVATING,
        UNIT_STATE_DEACTIVATING,
        UNIT_STATE_MAINTENANCE,
        _UNIT_STATE_MAX,
        _UNIT_STATE_INVALID = -EINVAL,
} UnitActiveState;

const char *unit_active_state_to_string(UnitActiveState s);
UnitActiveState unit_active_state_from_string(const char *s);

/* The properties the watcher reads. The order of the bits is the order in
 * which a fetch asks for them: StateChangeTimestamp last, so a fetch
 * that sees it unchanged saw everything before it in that same state. */
typedef enum UnitProp {
        UNIT_PROP_ACTIVE_STATE,         /* Unit  ActiveState s */
        UNIT_PROP_SUB_STATE,            /* Unit  SubState s */
        UNIT_PROP_JOB,                  /* Unit  Job (uo) */
        UNIT_PROP_INACTIVE_ENTER,       /* Unit  InactiveEnterTimestamp t */
        UNIT_PROP_RESULT,               /* type  Result s */
        UNIT_PROP_N_RESTARTS,           /* Service NRestarts u */
        UNIT_PROP_EXEC_MAIN_EXIT,       /* Service ExecMainExitTimestamp t */
        UNIT_PROP_RESTART,              /* Service Restart s */
        UNIT_PROP_RESTART_FORCE,        /* Service RestartForceExitStatus (aiai) */
        UNIT_PROP_STATE_CHANGE,         /* Unit  StateChangeTimestamp t */
        _UNIT_PROP_MAX,
        _UNIT_PROP_INVALID = -EINVAL,
} UnitProp;

#define UNIT_PROP_BIT(p) (1u << (p))
#define UNIT_PROPS_STATE                                                                        \
        (UNIT_PROP_BIT(UNIT_PROP_ACTIVE_STATE) | UNIT_PROP_BIT(UNIT_PROP_SUB_STATE) |           \
         UNIT_PROP_BIT(UNIT_PROP_JOB) | UNIT_PROP_BIT(UNIT_PROP_INACTIVE_ENTER) |               \
         UNIT_PROP_BIT(UNIT_PROP_STATE_CHANGE))
#define UNIT_PROPS_SERVICE                                                                      \
        (UNIT_PROP_BIT(UNIT_PROP_N_RESTARTS) | UNIT_PROP_BIT(UNIT_PROP_EXEC_MAIN_EXIT))
#define UNIT_PROPS_POLICY (UNIT_PROP_BIT(UNIT_PROP_RESTART) | UNIT_PROP_BIT(UNIT_PROP_RESTART_FORCE))

typedef enum UnitPropIface {
        UNIT_IFACE_UNIT,                /* org.freedesktop.systemd1.Unit */
        UNIT_IFACE_TYPE,                /* the type's own: Service, Socket, Mount, ... */
        UNIT_IFACE_SERVICE,             /* org.freedesktop.systemd1.Service only */
} UnitPropIface;

typedef struct UnitPropInfo {
        const char *name;               /* D-Bus property name */
        UnitPropIface iface;
        const char *signature;          /* what its variant must hold */
} UnitPropInfo;

const UnitPropInfo *unit_prop_info(UnitProp p);
/* The property of that name on an interface of that kind, or -EINVAL. */
UnitProp unit_prop_from_name(UnitPropIface iface, const char *name);

/* One snapshot: the properties one signal or reply carried (set), the
 * others keep their values. */
typedef struct UnitProps {
        unsigned set;                   /* UNIT_PROP_BIT()s */
        UnitActiveState active;
        char sub[UNIT_STATE_STRING_MAX];
        uint32_t job;                   /* 0: none */
        usec_t inactive_enter;          /* realtime usec, 0: never */
        char result[UNIT_STATE_STRING_MAX];
        uint32_t n_restarts;
        usec_t exec_main_exit;
        char restart[UNIT_STATE_STRING_MAX];
        bool restart_force;             /* RestartForceExitStatus= lists something */
        usec_t state_change;
} UnitProps;

/* Setters for the watcher's parser: -EBADMSG for a value that is not one
 * (unknown ActiveState, a string too long); the snapshot is unchanged then. */
int unit_props_set_string(UnitProps *p, UnitProp prop, const char *value);
int unit_props_set_uint(UnitProps *p, UnitProp prop, uint64_t value);
void unit_props_set_restart_force(UnitProps *p, bool any);
/* Copies the properties set in src (and not in skip) into dst. */
void unit_props_merge(UnitProps *dst, const UnitProps *src, unsigned skip);
/* The properties p sets to something other than cur has (or cur lacks). */
unsigned unit_props_diff(const UnitProps *cur, const UnitProps *p);

typedef enum UnitPhase {
        UNIT_PHASE_UNKNOWN,             /* not seen settled yet */
        UNIT_PHASE_ACTIVE,
        UNIT_PHASE_INACTIVE,
        UNIT_PHASE_FAILED,              /* a terminal failure was reported */
} UnitPhase;

typedef struct UnitState {
        UnitProps now;                  /* everything known, merged */
        bool service;                   /* a .service: Restart= applies */
        bool policy_asked;
        bool observed;                  /* an ActiveState was seen */
        UnitPhase phase;
        usec_t reported;                /* StateChangeTimestamp of the failure reported, 0: none */
        usec_t confirming;              /* the failure a confirmation is asked for, 0: none */
} UnitState;

typedef enum UnitEventType {
        UNIT_EVENT_FAILED,
        UNIT_EVENT_ACTIVE,
        UNIT_EVENT_INACTIVE,
        UNIT_EVENT_RESTARTED,
        _UNIT_EVENT_MAX,
        _UNIT_EVENT_INVALID = -EINVAL,
} UnitEventType;

const char *unit_event_type_to_string(UnitEventType t);    /* the plan's names: "failed", ... */

typedef struct UnitEvent {
        UnitEventType type;
        const char *result;             /* failed: points into the state or a constant */
        unsigned restarts;
        usec_t occurrence;              /* failed: the failure's StateChangeTimestamp */
        usec_t realtime;                /* when it happened, 0: not known (use when seen) */
} UnitEvent;

/* NRestarts grown by more than one (a resync after a gap): one
 * "restarted" per restart, the last ones, at most this many. */
#define UNIT_RESTARTS_TOLD_MAX 8
#define UNIT_DECISION_EVENTS_MAX (UNIT_RESTARTS_TOLD_MAX + 1)

typedef struct UnitDecision {
        UnitEvent events[UNIT_DECISION_EVENTS_MAX];
        size_t n_events;
        unsigned fetch;                 /* properties to Get, in UnitProp order; then call
                                         * unit_state_update() with UNIT_UPDATE_FETCHED */
} UnitDecision;

typedef enum UnitUpdateFlags {
        /* The snapshot came from Gets that systemd answered after the
         * signals sent before them: what it says is settled. */
        UNIT_UPDATE_FETCHED = 1 << 0,
        /* systemd could not answer (the unit is gone, the call failed):
         * decide on what the signals said. */
        UNIT_UPDATE_UNANSWERED = 1 << 1,
} UnitUpdateFlags;

void unit_state_init(UnitState *s, bool service);
/* Merges p into s and decides. ret is always filled. */
void unit_state_update(UnitState *s, const UnitProps *p, UnitUpdateFlags flags, UnitDecision *ret);
/* What the restart policy says: 1 systemd may restart it, 0 never,
 * -ENODATA not known yet. */
int unit_state_may_restart(const UnitState *s);
/* The Result to report for the failure the unit is in (start-limit-hit
 * inferred as above), NULL if not known. */
const char *unit_state_failure_result(const UnitState *s);
/* false once the unit is settled inactive: its record can go. */
bool unit_state_worth_keeping(const UnitState *s);
