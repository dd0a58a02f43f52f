/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The units watcher's decisions, from property snapshots to trigger
 * events; see unit-state.h for the rules and the facts behind them. */

#include "string-table.h"
#include "unit-state.h"

static const char *const unit_active_state_table[_UNIT_STATE_MAX] = {
        [UNIT_STATE_ACTIVE] = "active",
        [UNIT_STATE_RELOADING] = "reloading",
        [UNIT_STATE_INACTIVE] = "inactive",
        [UNIT_STATE_FAILED] = "failed",
        [UNIT_STATE_ACTIVATING] = "activating",
        [UNIT_STATE_DEACTIVATING] = "deactivating",
        [UNIT_STATE_MAINTENANCE] = "maintenance",
};

DEFINE_STRING_TABLE(unit_active_state, UnitActiveState, unit_active_state_table, _UNIT_STATE_MAX)

static const char *const unit_event_type_table[_UNIT_EVENT_MAX] = {
        [UNIT_EVENT_FAILED] = "failed",
        [UNIT_EVENT_ACTIVE] = "active",
        [UNIT_EVENT_INACTIVE] = "inactive",
        [UNIT_EVENT_RESTARTED] = "restarted",
};

DEFINE_STRING_TABLE_TO_STRING(unit_event_type, UnitEventType, unit_event_type_table, _UNIT_EVENT_MAX)

static const UnitPropInfo unit_prop_table[_UNIT_PROP_MAX] = {
        [UNIT_PROP_ACTIVE_STATE] = { "ActiveState", UNIT_IFACE_UNIT, "s" },
        [UNIT_PROP_SUB_STATE] = { "SubState", UNIT_IFACE_UNIT, "s" },
        [UNIT_PROP_JOB] = { "Job", UNIT_IFACE_UNIT, "(uo)" },
        [UNIT_PROP_INACTIVE_ENTER] = { "InactiveEnterTimestamp", UNIT_IFACE_UNIT, "t" },
        [UNIT_PROP_RESULT] = { "Result", UNIT_IFACE_TYPE, "s" },
        [UNIT_PROP_N_RESTARTS] = { "NRestarts", UNIT_IFACE_SERVICE, "u" },
        [UNIT_PROP_EXEC_MAIN_EXIT] = { "ExecMainExitTimestamp", UNIT_IFACE_SERVICE, "t" },
        [UNIT_PROP_RESTART] = { "Restart", UNIT_IFACE_SERVICE, "s" },
        [UNIT_PROP_RESTART_FORCE] = { "RestartForceExitStatus", UNIT_IFACE_SERVICE, "(aiai)" },
        [UNIT_PROP_STATE_CHANGE] = { "StateChangeTimestamp", UNIT_IFACE_UNIT, "t" },
};

/* Results that describe how a process ended: found on a failure entered
 * from inactive, they are the previous run's, left in place by the start
 * limit's refusal. */
static const char *const process_results[] = {
        "success", "exit-code", "signal", "core-dump", "watchdog", "timeout", "oom-kill", "protocol",
};

const UnitPropInfo *unit_prop_info(UnitProp p) {
        return p >= 0 && p < _UNIT_PROP_MAX ? unit_prop_table + p : NULL;
}

UnitProp unit_prop_from_name(UnitPropIface iface, const char *name) {
        if (!name)
                return _UNIT_PROP_INVALID;
        for (UnitProp p = 0; p < _UNIT_PROP_MAX; p++) {
                const UnitPropInfo *i = unit_prop_table + p;
                /* the Service interface has the type interface's too */
                if (streq(i->name, name) &&
                    (i->iface == iface || (iface == UNIT_IFACE_SERVICE && i->iface == UNIT_IFACE_TYPE)))
                        return p;
        }
        return _UNIT_PROP_INVALID;
}

static bool has(const UnitProps *p, UnitProp prop) {
        return p->set & UNIT_PROP_BIT(prop);
}

static int copy_string(char dst[static UNIT_STATE_STRING_MAX], const char *value) {
        size_t n = strlen(value);

        if (n == 0 || n >= UNIT_STATE_STRING_MAX)
                return -EBADMSG;
        memcpy(dst, value, n + 1);
        return 0;
}

int unit_props_set_string(UnitProps *p, UnitProp prop, const char *value) {
        UnitActiveState a;
        int r;

        if (!value)
                return -EBADMSG;
        switch (prop) {
        case UNIT_PROP_ACTIVE_STATE:
                a = unit_active_state_from_string(value);
                if (a < 0)
                        return -EBADMSG;
                p->active = a;
                break;
        case UNIT_PROP_SUB_STATE:
                r = copy_string(p->sub, value);
                if (r < 0)
                        return r;
                break;
        case UNIT_PROP_RESULT:
                r = copy_string(p->result, value);
                if (r < 0)
                        return r;
                break;
        case UNIT_PROP_RESTART:
                r = copy_string(p->restart, value);
                if (r < 0)
                        return r;
                break;
        default:
                return -EBADMSG;
        }
        p->set |= UNIT_PROP_BIT(prop);
        return 0;
}

int unit_props_set_uint(UnitProps *p, UnitProp prop, uint64_t value) {
        switch (prop) {
        case UNIT_PROP_JOB:
                if (value > UINT32_MAX)
                        return -EBADMSG;
                p->job = (uint32_t) value;
                break;
        case UNIT_PROP_N_RESTARTS:
                if (value > UINT32_MAX)
                        return -EBADMSG;
                p->n_restarts = (uint32_t) value;
                break;
        case UNIT_PROP_INACTIVE_ENTER:
                p->inactive_enter = value;
                break;
        case UNIT_PROP_EXEC_MAIN_EXIT:
                p->exec_main_exit = value;
                break;
        case UNIT_PROP_STATE_CHANGE:
                p->state_change = value;
                break;
        default:
                return -EBADMSG;
        }
        p->set |= UNIT_PROP_BIT(prop);
        return 0;
}

void unit_props_set_restart_force(UnitProps *p, bool any) {
        p->restart_force = any;
        p->set |= UNIT_PROP_BIT(UNIT_PROP_RESTART_FORCE);
}

void unit_props_merge(UnitProps *dst, const UnitProps *src, unsigned skip) {
        unsigned set = src->set & ~skip;

#define MERGE(prop, field)                                                      \
        do {                                                                    \
                if (set & UNIT_PROP_BIT(prop))                                  \
                        memcpy(&dst->field, &src->field, sizeof(dst->field));   \
        } while (0)
        MERGE(UNIT_PROP_ACTIVE_STATE, active);
        MERGE(UNIT_PROP_SUB_STATE, sub);
        MERGE(UNIT_PROP_JOB, job);
        MERGE(UNIT_PROP_INACTIVE_ENTER, inactive_enter);
        MERGE(UNIT_PROP_RESULT, result);
        MERGE(UNIT_PROP_N_RESTARTS, n_restarts);
        MERGE(UNIT_PROP_EXEC_MAIN_EXIT, exec_main_exit);
        MERGE(UNIT_PROP_RESTART, restart);
        MERGE(UNIT_PROP_RESTART_FORCE, restart_force);
        MERGE(UNIT_PROP_STATE_CHANGE, state_change);
#undef MERGE
        dst->set |= set;
}

unsigned unit_props_diff(const UnitProps *cur, const UnitProps *p) {
        unsigned d = 0;

#define DIFF(prop, field)                                                                       \
        do {                                                                                    \
                if (has(p, prop) && (!has(cur, prop) || memcmp(&cur->field, &p->field, sizeof(p->field)) != 0)) \
                        d |= UNIT_PROP_BIT(prop);                                               \
        } while (0)
#define DIFF_STR(prop, field)                                                                   \
        do {                                                                                    \
                if (has(p, prop) && (!has(cur, prop) || !streq(cur->field, p->field)))           \
                        d |= UNIT_PROP_BIT(prop);                                               \
        } while (0)
        DIFF(UNIT_PROP_ACTIVE_STATE, active);
        DIFF_STR(UNIT_PROP_SUB_STATE, sub);
        DIFF(UNIT_PROP_JOB, job);
        DIFF(UNIT_PROP_INACTIVE_ENTER, inactive_enter);
        DIFF_STR(UNIT_PROP_RESULT, result);
        DIFF(UNIT_PROP_N_RESTARTS, n_restarts);
        DIFF(UNIT_PROP_EXEC_MAIN_EXIT, exec_main_exit);
        DIFF_STR(UNIT_PROP_RESTART, restart);
        DIFF(UNIT_PROP_RESTART_FORCE, restart_force);
        DIFF(UNIT_PROP_STATE_CHANGE, state_change);
#undef DIFF
#undef DIFF_STR
        return d;
}

void unit_state_init(UnitState *s, bool service) {
        *s = (UnitState) { .service = service };
}

int unit_state_may_restart(const UnitState *s) {
        if (!s->service)
                return 0;
        if (!has(&s->now, UNIT_PROP_RESTART) || !has(&s->now, UNIT_PROP_RESTART_FORCE))
                return -ENODATA;
        return !streq(s->now.restart, "no") || s->now.restart_force;
}

static bool entered_from_inactive(const UnitState *s) {
        /* Entering failed from activating, active or deactivating sets
         * InactiveEnterTimestamp and StateChangeTimestamp from one clock
         * reading; from inactive only the latter moves. */
        return has(&s->now, UNIT_PROP_INACTIVE_ENTER) && has(&s->now, UNIT_PROP_STATE_CHANGE) &&
               s->now.inactive_enter != s->now.state_change;
}

const char *unit_state_failure_result(const UnitState *s) {
        if (!has(&s->now, UNIT_PROP_RESULT))
                return NULL;
        if (entered_from_inactive(s))
                for (size_t i = 0; i < ELEMENTSOF(process_results); i++)
                        if (streq(s->now.result, process_results[i]))
                                return "start-limit-hit";
        return s->now.result;
}

static void add_event(UnitDecision *d, UnitEvent ev) {
        if (d->n_events < UNIT_DECISION_EVENTS_MAX)
                d->events[d->n_events++] = ev;
}

static usec_t failure_realtime(const UnitState *s, const char *result) {
        /* When the main process died, if this failure is its death: a
         * start refused by the limit ran no process, and a new run resets
         * the exit timestamp to 0 until its main process ends. */
        if (s->service && has(&s->now, UNIT_PROP_EXEC_MAIN_EXIT) && s->now.exec_main_exit != 0 &&
            s->now.exec_main_exit <= s->now.state_change && !streq(result, "start-limit-hit"))
                return s->now.exec_main_exit;
        return s->now.state_change;
}

static void decide_failed(UnitState *s, UnitUpdateFlags flags, bool moved, bool confirmed, UnitDecision *d) {
        unsigned missing = 0;
        const char *result;
        bool terminal;
        int may;

        if (has(&s->now, UNIT_PROP_STATE_CHANGE) && s->now.state_change != 0 && s->now.state_change == s->reported)
                return;         /* this failure was reported */

        if (moved)
                /* Asked, systemd has it in another state already: the
                 * signal saying which is on its way. */
                return;

        if (s->now.job != 0) {
                /* Not settled: the job ends (JobRemoved), or the state
                 * moves on, and either sends another snapshot. */
                s->confirming = 0;
                return;
        }

        if (!has(&s->now, UNIT_PROP_RESULT))
                missing |= UNIT_PROP_BIT(UNIT_PROP_RESULT);
        if (!has(&s->now, UNIT_PROP_INACTIVE_ENTER))
                missing |= UNIT_PROP_BIT(UNIT_PROP_INACTIVE_ENTER);
        if (s->service && !has(&s->now, UNIT_PROP_EXEC_MAIN_EXIT))
                missing |= UNIT_PROP_BIT(UNIT_PROP_EXEC_MAIN_EXIT);
        if (!has(&s->now, UNIT_PROP_STATE_CHANGE) || s->now.state_change == 0)
                missing |= UNIT_PROP_BIT(UNIT_PROP_STATE_CHANGE);
        if (missing && !(flags & UNIT_UPDATE_UNANSWERED)) {
                /* StateChangeTimestamp comes along: the answer settles it. */
                d->fetch |= missing | UNIT_PROP_BIT(UNIT_PROP_ACTIVE_STATE) | UNIT_PROP_BIT(UNIT_PROP_JOB) |
                            UNIT_PROP_BIT(UNIT_PROP_STATE_CHANGE);
                s->confirming = s->now.state_change ?: 1;
                return;
        }

        result = unit_state_failure_result(s);
        may = unit_state_may_restart(s);
        if (confirmed)
                /* Asked after the failure and still in it: systemd did not
                 * move it on to auto-restart. */
                terminal = true;
        else if (streq_ptr(result, "start-limit-hit"))
                terminal = true;
        else
                terminal = may == 0;

        if (!terminal) {
                if (s->confirming != s->now.state_change) {
                        s->confirming = s->now.state_change;
                        d->fetch |= UNIT_PROP_BIT(UNIT_PROP_STATE_CHANGE);
                }
                return;
        }

        s->confirming = 0;
        s->reported = s->now.state_change;
        s->phase = UNIT_PHASE_FAILED;
        add_event(d, (UnitEvent) {
                .type = UNIT_EVENT_FAILED,
                .result = result ?: "unknown",
                .restarts = s->now.n_restarts,
                .occurrence = s->now.state_change,
                .realtime = failure_realtime(s, result ?: ""),
        });
}


void unit_state_update(UnitState *s, const UnitProps *p, UnitUpdateFlags flags, UnitDecision *ret) {
        UnitProps old = s->now;
        unsigned skip = 0;
        bool moved = false, confirmed = false;

        *ret = (UnitDecision) {};
        if (flags & UNIT_UPDATE_UNANSWERED)
                confirmed = true;       /* nobody to ask: the signals' word */
        else if ((flags & UNIT_UPDATE_FETCHED) && has(p, UNIT_PROP_ACTIVE_STATE))
                confirmed = true;       /* the state itself, asked after the signals */
        if ((flags & (UNIT_UPDATE_FETCHED | UNIT_UPDATE_UNANSWERED)) && has(p, UNIT_PROP_STATE_CHANGE) &&
            !has(p, UNIT_PROP_ACTIVE_STATE) && has(&old, UNIT_PROP_STATE_CHANGE)) {
                /* A confirmation: StateChangeTimestamp asked alone. */
                if (p->state_change == old.state_change)
                        confirmed = true;       /* still in the state the signals said */
                else if (p->state_change == 0 && old.state_change != 0) {
                        /* Unloaded (garbage-collected) meanwhile, and the
                         * Get loaded it afresh: systemd collects only a
                         * unit it will not restart. */
                        skip |= UNIT_PROP_BIT(UNIT_PROP_STATE_CHANGE);
                        confirmed = true;
                } else {
                        /* Moved on: the signal saying where is on its
                         * way. Keep the timestamp that goes with the
                         * ActiveState we have. */
                        skip |= UNIT_PROP_BIT(UNIT_PROP_STATE_CHANGE);
                        moved = true;
                }
        }
        unit_props_merge(&s->now, p, skip);

        /* One event per restart, so "N restarts within T" counts those a
         * resync found too (at most UNIT_RESTARTS_TOLD_MAX of them). */
        if (has(p, UNIT_PROP_N_RESTARTS) && has(&old, UNIT_PROP_N_RESTARTS) && p->n_restarts > old.n_restarts)
                for (uint32_t k = p->n_restarts - MIN(p->n_restarts - old.n_restarts, UNIT_RESTARTS_TOLD_MAX) + 1;
                     k <= p->n_restarts && k != 0; k++)
                        add_event(ret, (UnitEvent) {
                                .type = UNIT_EVENT_RESTARTED,
                                .restarts = k,
                        });

        if (s->service && !s->policy_asked && !(flags & UNIT_UPDATE_UNANSWERED) &&
            unit_state_may_restart(s) == -ENODATA) {
                s->policy_asked = true;
                ret->fetch |= UNIT_PROPS_POLICY & ~s->now.set;
        }

        if (!has(&s->now, UNIT_PROP_ACTIVE_STATE))
                return;

        if (s->now.active != UNIT_STATE_FAILED && s->now.active != UNIT_STATE_INACTIVE)
                s->confirming = 0;

        if (!s->observed) {
                /* Found active, not seen becoming it (a mount re-read, a
                 * resync): nothing to tell. */
                s->observed = true;
                if (s->phase == UNIT_PHASE_UNKNOWN &&
                    (s->now.active == UNIT_STATE_ACTIVE || s->now.active == UNIT_STATE_RELOADING)) {
                        s->phase = UNIT_PHASE_ACTIVE;
                        return;
                }
        }

        switch (s->now.active) {
        case UNIT_STATE_FAILED:
                decide_failed(s, flags, moved, confirmed, ret);
                break;
        case UNIT_STATE_ACTIVE:
        case UNIT_STATE_RELOADING:
                if (s->phase != UNIT_PHASE_ACTIVE) {
                        s->phase = UNIT_PHASE_ACTIVE;
                        add_event(ret, (UnitEvent) {
                                .type = UNIT_EVENT_ACTIVE,
                                .realtime = has(&s->now, UNIT_PROP_STATE_CHANGE) ? s->now.state_change : 0,
                        });
                }
                break;
        case UNIT_STATE_DEACTIVATING:
                if (s->phase == UNIT_PHASE_UNKNOWN)
                        s->phase = UNIT_PHASE_ACTIVE;   /* it was active, we just did not see it */
                break;
        case UNIT_STATE_INACTIVE:
                if (s->now.job != 0) {
                        s->confirming = 0;
                        break;  /* inside a job (a restart passes through dead) */
                }
                if (moved)
                        break;
                if (!confirmed && unit_state_may_restart(s) != 0) {
                        /* Restart=always after a clean exit: dead for an
                         * instant, then auto-restart, as with failed. */
                        if (s->confirming != s->now.state_change) {
                                s->confirming = s->now.state_change ?: 1;
                                ret->fetch |= UNIT_PROP_BIT(UNIT_PROP_STATE_CHANGE);
                        }
                        break;
                }
                s->confirming = 0;
                if (s->phase == UNIT_PHASE_ACTIVE || s->phase == UNIT_PHASE_FAILED)
                        add_event(ret, (UnitEvent) {
                                .type = UNIT_EVENT_INACTIVE,
                                .realtime = has(&s->now, UNIT_PROP_STATE_CHANGE) ? s->now.state_change : 0,
                        });
                s->phase = UNIT_PHASE_INACTIVE;
                break;
        default:
                break;
        }
}

bool unit_state_worth_keeping(const UnitState *s) {
        return !(has(&s->now, UNIT_PROP_ACTIVE_STATE) && s->now.active == UNIT_STATE_INACTIVE && s->now.job == 0 &&
                 s->confirming == 0);
}
