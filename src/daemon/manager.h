/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager owns salved's state: the event loop, the bus, the executor,
 * the loaded plans and the run store, and drives every run. It is the one
 * place where the engine's proposals are journaled, applied and acted on,
 * always in that order. No global state: a test can build two. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-queue.h"
#include "executor.h"
#include "plan-set.h"
#include "polkit.h"
#include "run-store.h"
#include "watch.h"

typedef struct Manager Manager;

/* Who hears of each transition once it is journaled and applied, in the
 * order added: the log, the bus signals, and later the relay and the
 * metrics. A listener sees the run as it is after the transition; it must
 * not commit transitions itself (it may schedule work). */
typedef struct ManagerListener {
        const char *name;
        void (*on_transition)(Manager *m, const Run *r, const Transition *t, void *userdata);
        void *userdata;
} ManagerListener;

/* salved's calls to systemd on the wire at once. With polkit's share
 * (POLKIT_MAX_IN_FLIGHT) this stays well under dbus-daemon's limit of
 * calls awaiting a reply per connection (128 on the system bus), which
 * salved's connection must never reach. */
#define MANAGER_SYSTEMD_CALLS_MAX 64U

/* A step result that could not be journaled (a full disk, EIO): held in
 * memory, in order, and journaled as soon as the journal takes writes
 * again; only then is it acted on, and its unit released. */
typedef struct Unjournaled {
        Transition t;
        char *unit;                     /* exec: the unit that still holds the result */
} Unjournaled;

typedef struct RunContext {
        Manager *manager;
        char *run_id;
        ExecJob **jobs;                 /* per step: what runs for it now */
        struct StepCall **calls;        /* per step: callback context of jobs[i] */
        sd_event_source *wake;          /* retry backoff */
        sd_event_source *rto;           /* the deadline */
        sd_event_source *human;         /* the next escalation or reminder */
} RunContext;

struct Manager {
        sd_event *event;
        sd_bus *bus;
        Executor *executor;
        PlanSet *plans;
        RunStore *store;
        RunContext **contexts;
        size_t n_contexts;
        sd_event_source *schedule;
        sd_bus_slot *object_slot;       /* the D-Bus API (manager-bus.c) */
        sd_bus_slot *stop_slot;         /* manager_stop(): is the system shutting down? */
        bool stopping;
        const ExecutorOps *exec_ops;
        char *state_dir;
        char *runtime_dir;
        char **plan_dirs;               /* NULL: the system directories */
        bool polkit;                    /* false: no polkit calls at all, root only */
        BusQueue *systemd_calls;        /* every call to systemd goes through it */
        PolkitAuthority *authority;     /* polkit checks, bounded per user */
        uint64_t crash_at_record;       /* testing: kill -9 self at this journal append */
        size_t crash_torn_bytes;
        unsigned rand_state;
        char *last_status;
        struct ManagerReload *reload;   /* manager-reload.c; NULL until the first reload */
        char boot_id[33];               /* this boot, as 32 hex digits */

        ManagerListener *listeners;
        size_t n_listeners;

        Watch *watches[_WATCH_SOURCE_MAX];      /* manager-trigger.c: only sources some plan needs */
        struct TriggerMatcher *matcher;
        struct PlanTrigger **plan_triggers;     /* per plan: trigger-limit and settle state */
        size_t n_plan_triggers;
        uint64_t trigger_events;                /* seen by the watchers */

        struct ManagerHolds *holds;     /* manager-holds.c; NULL until manager_holds_setup() */
        char *metrics_path;             /* node_exporter's textfile; NULL or "": none (salved sets it) */
        struct ManagerMetrics *metrics; /* manager-metrics.c; NULL: no metrics file */

        /* Who a human step's owner and escalate names mean now (the people
         * directory); NULL: the names stand for themselves. */
        RunResolveFunc resolve;
        void *resolve_userdata;
        struct PeopleDir *people;       /* manager-relay.c; NULL: none loaded */
        char **people_dirs;             /* NULL: the system directories */
        struct Relay *relay;            /* NULL: nobody is notified (no relay, or it could not start) */
        char *relay_config_path;        /* NULL: the system configuration */
        bool relay_disabled;            /* tests without a relay */
        bool relay_listening;           /* its listener is added (once) */
        char machine_id[33];            /* /etc/machine-id, or "" */

        Unjournaled *unjournaled;       /* oldest first */
        size_t n_unjournaled;
        int journal_error;              /* why the last append failed, while results wait; else 0 */
        usec_t journal_retry_delay;
        sd_event_source *journal_retry;
};

/* event: the loop the Manager runs on. bus: the system bus, attached to
 * that loop, or NULL (tests: then no D-Bus API, no polkit, and the
 * executor must be given with manager_set_executor()). salved's main owns
 * both, and the signals. */
int manager_new(sd_event *event, sd_bus *bus, Manager **ret);
/* Before manager_startup(): run steps with this executor instead of
 * systemd's (tests); the Manager frees it with ops->free. */
void manager_set_executor(Manager *m, const ExecutorOps *ops, Executor *e);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Loads plans and the journal, resumes runs, exports the bus API. */
int manager_startup(Manager *m);
/* manager-journal.c: opens the run journal whatever is in its place
 * (damage is set aside and said, never fatal) into m->store. */
int manager_open_journal(Manager *m);
int manager_run(Manager *m);

int manager_load_plans(Manager *m, PlanSet **ret, size_t *ret_errors);
/* Installs a reloaded set (NULL: keep the old one) unless it had errors
 * (-EINVAL), and refreshes the status; the replaced set goes to *ret_old
 * if given, else is freed. Reloads start with manager_reload_request()
 * (manager-reload.h). */
int manager_reload(Manager *m, PlanSet *s, size_t n_errors, PlanSet **ret_old);

/* Starts (or joins, or queues) a run of a plan. context: what the trigger
 * saw ("name=value", trigger-vars.h) or NULL. -ENXIO: the plan's
 * ${trigger.NAME} do not expand with it (logged). */
int manager_start_run(Manager *m, const char *plan, const char *trigger, const char *reason, usec_t trigger_time,
                      char **context, char **ret_run_id);
int manager_cancel_run(Manager *m, const char *run_id, const char *actor, const char *comment);
/* A person acted on a step (salvectl approve ..., an approval link): via
 * says how, and is journaled with the step's new state. */
int manager_act(Manager *m, const char *run_id, const char *step_id, StepAction action, const char *actor,
                const char *via, const char *comment);
/* Someone acknowledged a waiting human step (salvectl ack, a remote ack):
 * journaled with who, how (via) and when; escalation stops. -ESRCH no
 * run; run_ack()'s errors otherwise. */
int manager_ack(Manager *m, const char *run_id, const char *step_id, const char *actor, const char *via,
                const char *comment);

/* manager-boot.c: start the plans with boot triggers if this is the first
 * start of salved in a boot. */
void manager_boot_triggers(Manager *m);
/* manager-boot.c: stop (SIGTERM). Asks systemd, asynchronously, whether
 * the system is shutting down, records a clean end of this boot if so,
 * then leaves the event loop. */
int manager_stop(Manager *m);

int manager_add_listener(Manager *m, const ManagerListener *l);

/* manager-trigger.c: (re)builds the watchers the loaded plans need; after
 * startup and every reload. */
int manager_watch_update(Manager *m);
void manager_watch_free(Manager *m);
/* Hands an event to the matcher as a watcher would (tests). */
void manager_watch_event(Manager *m, const TriggerEvent *ev);
/* Whether a plan's trigger-limit holds its triggers back now. */
bool manager_plan_trigger_limited(Manager *m, const char *plan, usec_t *ret_until);
/* manager-log.c: the "log" listener, salved's journal entries. */
void manager_log_transition(Manager *m, const Run *r, const Transition *t, void *userdata);

/* Journals and applies one transition, then announces it. */
int manager_commit(Manager *m, const Transition *t);
/* The same for a fact that already happened (a step's result): if it
 * cannot be journaled now it is held and journaled later, in order
 * (returns -EAGAIN then); unit, if set, is released once it is durable. */
int manager_commit_result(Manager *m, const Transition *t, const char *unit);
/* 0, or why salved takes no new work now (the journal cannot be written). */
int manager_check_writable(Manager *m);
void manager_schedule(Manager *m);
