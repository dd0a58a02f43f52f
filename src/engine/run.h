/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A run: one execution of a plan, and the pure state machine that moves
 * it. Nothing here does I/O. Every change to a run is a Transition: the
 * engine proposes transitions (run_plan_next(), run_step_result(),
 * run_act(), run_cancel(), run_step_unknown(), run_rto_check()), the manager
 * writes each to the durable journal and only then applies it with
 * run_apply() and performs its side effect. Replaying the journal calls
 * the same run_apply(), so a run rebuilt after a crash is exactly the run
 * that was journaled.
 *
 * Invariants: a run owns its Plan, parsed from the source text recorded
 * when it was created, so reloading plans never changes a run in flight.
 * A step moves to "running" in the journal before it is started, so after
 * a crash a non-idempotent step found "running" is never silently run
 * again: the manager learns its outcome from systemd, and only when that
 * cannot be known does run_step_unknown() make it "interrupted", waiting
 * for a person. */

#include "plan.h"

typedef enum StepState {
        STEP_PENDING,
        STEP_RUNNING,
        STEP_WAITING,           /* a person's step, waiting for them */
        STEP_SUCCEEDED,
        STEP_FAILED,
        STEP_SKIPPED,
        STEP_CANCELLED,
        STEP_INTERRUPTED,       /* salved stopped while it ran; needs retry, skip or abort */
        _STEP_STATE_MAX,
        _STEP_STATE_INVALID = -EINVAL,
} StepState;

typedef enum RunState {
        RUN_RUNNING,
        RUN_WAITING,            /* nothing runs; a person's step or a retry backoff is next */
        RUN_INTERRUPTED,        /* nothing runs; a step needs retry, skip or abort */
        RUN_SUCCEEDED,
        RUN_FAILED,
        RUN_CANCELLED,
        _RUN_STATE_MAX,
        _RUN_STATE_INVALID = -EINVAL,
} RunState;

typedef enum RtoState {
        RTO_OK,
        RTO_AT_RISK,
        RTO_BREACHED,
        _RTO_STATE_MAX,
        _RTO_STATE_INVALID = -EINVAL,
} RtoState;

typedef enum StepAction {
        ACTION_APPROVE,         /* approve steps */
        ACTION_REJECT,
        ACTION_DONE,            /* task steps */
        ACTION_FAIL,
        ACTION_RETRY,           /* interrupted or failed steps */
        ACTION_SKIP,
        ACTION_ABORT,
        _ACTION_MAX,
        _ACTION_INVALID = -EINVAL,
} StepAction;

typedef enum TransitionKind {
        TRANSITION_RUN_CREATED,
        TRANSITION_STEP,
        TRANSITION_RUN_FINISHED,
        TRANSITION_RTO,
        TRANSITION_HOLD_RELEASED,       /* a person let a held unit go (salvectl release) */
        TRANSITION_HUMAN,               /* a human step's escalation: notified, acknowledged, reminded, unanswered */
        _TRANSITION_KIND_MAX,
        _TRANSITION_KIND_INVALID = -EINVAL,
} TransitionKind;

/* What happened to a waiting human step on the way to being done. */
typedef enum HumanEvent {
        HUMAN_NOTIFIED,                 /* a level of the chain was told (level 0: the owner) */
        HUMAN_ACKNOWLEDGED,             /* someone said they are on it: escalation stops */
        HUMAN_REMINDED,                 /* whoever acknowledged was reminded (round counts reminders) */
        HUMAN_UNANSWERED,               /* the chain ran out: the plan's owner and fallback were told */
        _HUMAN_EVENT_MAX,
        _HUMAN_EVENT_INVALID = -EINVAL,
} HumanEvent;

/* One journaled change. Strings are owned. */
typedef struct Transition {
        TransitionKind kind;
        char *run_id;
        usec_t at;                      /* CLOCK_REALTIME */

        /* RUN_CREATED */
        char *plan_name, *plan_path, *plan_source, *trigger, *reason;
        usec_t trigger_time;            /* CLOCK_REALTIME: the RTO clock counts from here */
        char **trigger_context;         /* "name=value": what the trigger saw (trigger-vars.h) */

        /* STEP */
        char *step_id;
        StepState state;
        unsigned attempt;
        usec_t not_before;              /* PENDING after a failure: retry backoff */
        usec_t started;                 /* compaction: when the latest attempt began */
        char *boot_id;                  /* RUNNING: the boot it started in (32 hex digits) */
        char *message, *actor, *comment;

        /* RUN_FINISHED (message says why) */
        RunState run_state;

        /* RTO */
        RtoState rto_state;
        usec_t projected;

        /* HOLD_RELEASED (with actor, comment) */
        char *unit;

        /* HUMAN (with step_id, attempt, actor, comment) */
        HumanEvent human;
        unsigned level, round;          /* NOTIFIED: the level and round; REMINDED: the reminder's number */
        char **recipients;              /* who was told (people, as resolved then) */
        char *via;                      /* HUMAN ACKNOWLEDGED: how ("salvectl", "pagerduty", "webhook", "approve");
                                         * STEP by a person's act: how they acted ("salvectl", "approval-token") */
} Transition;

/* A human step's escalation record, for its latest attempt. */
typedef struct HumanNotice {
        unsigned level, round;
        usec_t at;
        char **recipients;
} HumanNotice;

typedef struct HumanState {
        unsigned attempt;               /* the step attempt this is about */
        HumanNotice *notices;           /* NOTIFIED, in order: at most levels x rounds */
        size_t n_notices;
        usec_t acked_at;                /* 0: not acknowledged */
        char *acked_by, *acked_via, *ack_comment;
        usec_t reminded_at;
        unsigned n_reminders;
        usec_t unanswered_at;           /* 0: still answered or escalating */
        char **unanswered_told;
} HumanState;

typedef struct StepRun {
        StepState state;
        unsigned attempt;               /* attempts started */
        usec_t started, finished;       /* CLOCK_REALTIME, of the latest attempt */
        usec_t not_before;
        char *boot_id;                  /* the boot the latest attempt started in, if known */
        char *message, *actor, *comment;
        char *via;                      /* how the actor acted: "salvectl", "approval-token" */
        bool activated;                 /* a handler whose step failed */
        /* How far a long step is, as its executor last said (an md resync):
         * observed, not journaled; cleared when the step changes state. */
        double progress;                /* percent, or -1 */
        usec_t eta;                     /* time left from eta_at, or USEC_INFINITY */
        usec_t eta_at;                  /* CLOCK_REALTIME of that figure; 0: no progress known */
        char *progress_text;
        HumanState human;               /* human steps: escalation of the latest attempt */
} StepRun;

/* A held unit a person released (salvectl release). */
typedef struct HoldRelease {
        char *unit;
        usec_t at;
        char *actor, *comment;
} HoldRelease;

typedef struct Run {
        char *id;
        Plan *plan;
        char *plan_source;
        char *trigger, *reason;
        char **trigger_context;         /* "name=value", expanded into the plan's ${trigger.NAME} */
        char *instance;                 /* the values of the variables the plan uses: "" for none */
        usec_t created, trigger_time, finished;
        RunState final_state;           /* valid when finished != 0 */
        char *final_message;
        RtoState rto_state;
        usec_t projected;
        usec_t rto_at;                  /* when rto_state was reached */
        char *boot_id;                  /* the boot salved runs in now: stamped on RUNNING; not journaled */
        StepRun *steps;                 /* plan->n_steps */
        HoldRelease *releases;          /* in the order given */
        size_t n_releases;

        /* The run's journal records as written, in order (run-store.c): its
         * history for reports, and what compaction writes back so that a
         * restart loses none of it. Past RUN_HISTORY_MAX_* it is dropped
         * (history_cut) and compaction writes the state instead. */
        char **history;
        size_t *history_size;
        size_t n_history, history_bytes;
        bool history_cut;

        /* Kept by run_apply() so that scheduling costs what changed, not the
         * size of the plan; run_verify_caches() recomputes them to check. */
        size_t count[_STEP_STATE_MAX];  /* steps in each state */
        size_t n_backoff;               /* PENDING, waiting out a retry backoff */
        size_t n_open;                  /* taking part (not an idle handler) and unfinished */
        size_t n_fatal;                 /* failures that end the run */
        unsigned char *need;            /* per step: what it means to the steps that need it */
        bool *fatal;
        uint32_t *unmet;                /* per step: needs that do not (yet) let it run */
        uint32_t *never;                /* per step: needs that never will */
        uint64_t *ready;                /* by order position: PENDING, taking part, needs decided */
} Run;

#define RUN_MAX_TRANSITIONS(run) (2 * (run)->plan->n_steps + 4)

void transition_done(Transition *t);
void transitions_free(Transition *t, size_t n);
/* A deep copy. */
int transition_copy(const Transition *t, Transition *ret);

/* Builds the RUN_CREATED transition; plan_source must load as a valid plan. */
int run_created_transition(const char *run_id, const char *plan_name, const char *plan_path,
                           const char *plan_source, const char *trigger, const char *reason, usec_t trigger_time,
                           usec_t now, Transition *ret);
/* Creates a run of an already loaded plan, taking ownership of it (even
 * on failure). For tools that build plans in memory; salved uses run_new(). */
int run_new_from_plan(Plan *plan, const char *run_id, const char *trigger, usec_t created, Run **ret);
/* Creates a run from a RUN_CREATED transition (parses the recorded plan). */
int run_new(const Transition *created, Run **ret);
Run *run_free(Run *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Run *, run_free);

/* Applies a journaled transition. -EINVAL for one that does not fit the
 * run (unknown step, bad state): replay reports and skips it. */
int run_apply(Run *r, const Transition *t);

/* Recomputes the caches from the steps: 0 when they agree, -EUCLEAN not. */
int run_verify_caches(const Run *r);

/* A PENDING step whose needs are all met and that only waits for a slot
 * under the plan's parallel limit (or its retry backoff): shown as
 * "ready", never journaled. */
bool run_step_is_ready(const Run *r, size_t i);
/* step_state_to_string(), with "ready" for such steps. */
const char *run_step_state_string(const Run *r, size_t i);
/* How a step's attempt reads everywhere (the journal, salvectl status and
 * watch): "attempt 2 of 3" within what the plan's retry allows, and
 * "attempt 2 (a re-run, beyond the plan's 1 attempt)" when the step runs
 * again after a restart or a person's retry. */
#define FORMAT_ATTEMPT_MAX 96
char *format_attempt(char buf[static FORMAT_ATTEMPT_MAX], unsigned attempt, unsigned attempts);

/* The run's state as derived from its steps. */
RunState run_state(const Run *r);
bool run_is_finished(const Run *r);
size_t run_count_steps(const Run *r, StepState s);

/* What should happen now without any outside event: steps to start
 * (RUNNING for machine steps, WAITING for a person's), steps that can
 * never run (CANCELLED), unneeded handlers (SKIPPED) and, once nothing is
 * left, RUN_FINISHED. At most `parallel` steps run at once. The caller
 * journals and applies them in order, starts what moved to RUNNING, and
 * calls again until it returns 0 transitions. *ret_wake is the earliest
 * retry backoff still pending (USEC_INFINITY: none). */
int run_plan_next(const Run *r, usec_t now, Transition **ret, size_t *ret_n, usec_t *ret_wake);

/* A machine step's attempt ended. success or not, with a message. jitter
 * in [0,1) spreads retries (exponential backoff: backoff * 2^(attempt-1),
 * capped at one hour, plus up to 10%). */
int run_step_result(const Run *r, size_t step, bool success, const char *message, usec_t now, double jitter,
                    Transition *ret);

/* A machine step's `when:` does not hold (why names the condition): it
 * is skipped, which lets what needs it go ahead. -ESTALE when the step is
 * not RUNNING. */
int run_step_condition_failed(const Run *r, size_t step, const char *why, usec_t now, Transition *ret);

/* A person acted. Returns -ENOENT for no such step, -EINPROGRESS for a
 * retry of a step whose attempt still runs, -EBUSY when the step
 * is not in a state that takes this action, -EOPNOTSUPP when the action
 * does not fit the step's kind (approve on a task). */
int run_act(const Run *r, const char *step_id, StepAction action, const char *actor, const char *via,
            const char *comment,
            usec_t now, Transition **ret, size_t *ret_n);

/* Cancels: every unfinished step becomes CANCELLED, then RUN_FINISHED. */
int run_cancel(const Run *r, const char *actor, const char *comment, usec_t now, Transition **ret, size_t *ret_n);

/* ---- the human side (run-human.c) ----
 * A waiting human step's chain: level 0 is its owner (the step's, else
 * the plan's), levels 1.. its escalate list (the step's, else the plan's).
 * On waiting, level 0 is notified; without an acknowledgement within
 * ack-timeout the next level is, and after the last the chain starts
 * again from the owner, `repeat` rounds in all; then the step is
 * unanswered and the plan's owner and fallback are told. An
 * acknowledgement stops the chain; `remind` then reminds whoever
 * acknowledged until the step is done. Every one of these is a journaled
 * HUMAN transition, so a restart goes on at the level it reached with the
 * time it had left, and tells nobody twice. */

/* Resolves a name (person, team, rotation) to the people it means at
 * `at`. NULL resolver, or a failure: the name itself stands for them. */
typedef int (*RunResolveFunc)(const char *name, usec_t at, char ***ret_people, void *userdata);

/* The chain's levels for a human step (names, level 0 first). */
size_t run_human_levels(const Run *r, size_t step, const char **ret_names, size_t max);
/* The HUMAN transitions due now for the run's waiting human steps (at
 * most one per step per call: call again until none), and when the next
 * is due (USEC_INFINITY: none). */
int run_human_next(const Run *r, usec_t now, RunResolveFunc resolve, void *userdata, Transition **ret, size_t *ret_n,
                   usec_t *ret_wake);
/* A person acknowledged. -ENOENT no such step, -EOPNOTSUPP a machine step,
 * -EBUSY not waiting, -EALREADY acknowledged already. */
int run_ack(const Run *r, const char *step_id, const char *actor, const char *via, const char *comment, usec_t now,
            Transition *ret);
void human_state_done(HumanState *h);
/* run_apply()'s part for HUMAN transitions. */
int run_apply_human(Run *r, size_t step, const Transition *t);
const char *human_event_to_string(HumanEvent e);
HumanEvent human_event_from_string(const char *s);

/* The boot salved runs in now (sd_id128 as 32 hex digits): every step
 * that moves to RUNNING records it, so that after a restart the manager
 * can tell "the host rebooted while it ran" from "salved restarted". */
int run_set_boot_id(Run *r, const char *boot_id);

/* After a restart, for a step journaled RUNNING whose outcome cannot be
 * known (the host rebooted, its unit is gone): it runs again when rerun is
 * true or it is idempotent, and becomes INTERRUPTED otherwise, waiting
 * for a person. why says what happened, for people. -ESTALE when the step
 * is not RUNNING. */
int run_step_unknown(const Run *r, size_t step, const char *why, bool rerun, usec_t now, Transition *ret);


/* Projected finish from the remaining critical path of estimates, and the
 * RTO transition due now, if any (at risk, then breached; each once).
 * Returns 1 with *ret filled when a transition is due, else 0.
 * *ret_next is when to check again (the deadline), or USEC_INFINITY. */
usec_t run_projected_finish(const Run *r, usec_t now);
int run_rto_check(const Run *r, usec_t now, Transition *ret, usec_t *ret_next);
usec_t run_deadline(const Run *r);

const char *step_state_to_string(StepState s);
StepState step_state_from_string(const char *s);
const char *run_state_to_string(RunState s);
RunState run_state_from_string(const char *s);
const char *rto_state_to_string(RtoState s);
RtoState rto_state_from_string(const char *s);
const char *step_action_to_string(StepAction a);
StepAction step_action_from_string(const char *s);
const char *transition_kind_to_string(TransitionKind k);
TransitionKind transition_kind_from_string(const char *s);

/* A running step's progress (not journaled: the next report replaces it,
 * and a restart starts without one). The RTO projection takes the step's
 * live ETA over its estimate. */
int run_set_progress(Run *r, size_t step, double percent, usec_t eta, usec_t now, const char *text);

/* ---- holds ----
 * A run holds each unit in its plan's holds: from its creation until a
 * step that starts the unit (unit.start, unit.restart of it) or names it
 * in `release:` has started (or was skipped), until the run succeeds, or
 * until a person releases it. A run that fails or is cancelled keeps what
 * it still holds. */
typedef struct RunHold {
        bool held;
        /* held: the step that will release it (NULL: only the run's success);
         * released: the step that did (NULL: the run's success or a person) */
        const Plan *plan;
        ssize_t release_step;
        const HoldRelease *by_person;   /* released by a person */
} RunHold;

/* -ENOENT: unit is not in the run's holds. */
int run_hold(const Run *r, const char *unit, RunHold *ret);
/* Builds the HOLD_RELEASED transition. -ENOENT: not a unit the run holds;
 * -EALREADY: the run no longer holds it. */
int run_release_hold(const Run *r, const char *unit, const char *actor, const char *comment, usec_t now,
                     Transition *ret);
