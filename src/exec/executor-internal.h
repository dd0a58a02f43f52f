/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the executor's parts share: the Executor and ExecJob objects, the
 * job life cycle (finish now, finish later, free), and the pure helpers
 * that turn a step into a transient unit and systemd's answers into an
 * ExecResult. The pure helpers need no bus and are what the unit tests
 * link.
 *
 * Invariants: every asynchronous call and match a job starts keeps its
 * sd_bus_slot in the job, every event source it arms is owned by the job,
 * so freeing the job drops every callback that could still refer to it.
 * A job is finished exactly once: exec_job_finish() drops everything it
 * owns before it calls back, then frees the job. */

#include "bus-names.h"
#include "bus-queue.h"
#include "executor.h"

#define EXEC_UNIT_NAME_MAX 255          /* systemd's UNIT_NAME_MAX */
/* After systemd's own RuntimeMaxSec= kill, how long the transient unit may
 * take to stop (TimeoutStopSec=, then SIGKILL) and our backstop timer
 * waits beyond that before it kills the unit itself. */
#define EXEC_STOP_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define EXEC_BACKSTOP_GRACE_USEC (5 * USEC_PER_SEC)
/* JobRemoved signals remembered while a job's method reply is pending. */
#define EXEC_REMOVED_JOBS_MAX 32
#define EXEC_CONDITION_UNITS_MAX 3
/* Calls to systemd on the wire at once, when nobody gave us a queue. */
#define EXEC_CALLS_MAX_DEFAULT 32U

typedef struct ExecKindOps ExecKindOps;
typedef void (*exec_transient_end_cb)(ExecJob *job, ExecOutcome outcome, int error, int exit_status,
                                      const char *message);

typedef struct RemovedJob {
        char *path;
        char *result;
} RemovedJob;

struct Executor {
        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *slot_job_removed;
        sd_bus_slot *slot_unit_changed; /* PropertiesChanged of every unit, dispatched to jobs by path */
        BusQueue *calls;                /* every call to systemd goes through it: bounded */
        BusQueue *own_calls;            /* calls, when the executor made it itself */
        BusQueueCall *list_call;        /* executor_list_units() */
        exec_units_cb list_cb;
        void *list_userdata;
        ExecJob *jobs;                  /* every live job, for dispatch and for executor_free() */
        unsigned n_awaiting_job;        /* unit jobs whose StartUnit (etc.) reply is pending */
        RemovedJob removed[EXEC_REMOVED_JOBS_MAX];      /* ring */
        size_t removed_next;
        exec_progress_cb progress_cb;
        void *progress_userdata;
        char *sysfs_root;               /* NULL: "/sys" (raid.*: tests point it at a fixture tree) */
        char *devfs_root;               /* NULL: "/dev" (md/NAME links) */
};

typedef struct ConditionUnitCheck {
        ExecJob *job;
        const char *key;        /* "unit-active", ... (static) */
        const char *want;       /* "active", "inactive", "failed" (static) */
        char *unit;
        char *state;            /* ActiveState once the reply is in */
        char *error;            /* or why it could not be read */
        BusQueueCall *call;
} ConditionUnitCheck;

struct ExecJob {
        Executor *executor;
        ExecJob *prev, *next;
        const ExecKindOps *ops;         /* the step kind's table; NULL for conditions and done-if checks */
        void *state;                    /* the kind's private state (exec-kind.h) */
        StepKind kind;
        char *step_id;
        exec_done_cb cb;
        void *userdata;
        usec_t timeout;
        bool resumed;                   /* picked up after salved restarted, not started by us */

        /* what every kind may use: the unit the step is about, its systemd
         * job, one call and one property read in flight */
        char *unit;
        char *unit_path;
        char *job_path;                 /* a systemd job object (JobRemoved dispatch) */
        bool awaiting_job;              /* counted in executor->n_awaiting_job */
        BusQueueCall *call;             /* the method call queued or in flight */
        BusQueueCall *query;            /* a property read queued or in flight */
        sd_bus_message_handler_t on_changed;    /* gets PropertiesChanged of unit_path, while set */

        /* the transient-unit facility (exec-transient.c): job->unit is the
         * transient service while `transient` is set */
        bool transient;
        exec_transient_end_cb transient_end;    /* NULL: finish the job with the unit's outcome */
        bool query_again;               /* state changed while a read was in flight */
        bool unit_started;              /* StartTransientUnit succeeded */
        bool start_job_failed;          /* its start job ended other than "done" */
        bool holds_result;              /* the unit ran and keeps its outcome until released */
        unsigned query_failures;        /* reads of the unit's state that failed in a row */
        char *start_job_result;

        /* conditions */
        ConditionUnitCheck checks[EXEC_CONDITION_UNITS_MAX];
        size_t n_checks, n_checks_pending;

        sd_event_source *timer;
        sd_event_source *backstop;
        sd_event_source *defer;

        /* a result waiting for the defer source */
        ExecOutcome pending_outcome;
        int pending_error;
        int pending_exit_status;
        char *pending_message;
};

/* ---- life cycle (executor.c) ---- */
int exec_job_new(Executor *e, const Step *step, exec_done_cb cb, void *userdata, ExecJob **ret);
ExecJob *exec_job_free(ExecJob *job);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecJob *, exec_job_free);
/* Drops every slot and source, calls back, frees the job. */
void exec_job_finish(ExecJob *job, ExecOutcome outcome, int error, int exit_status, const char *format, ...)
        _printf_(5, 6);
/* Stores the result and delivers it from a defer source, so the callback
 * never runs inside executor_start(). */
int exec_job_finish_later(ExecJob *job, ExecOutcome outcome, int error, int exit_status, const char *format,
                          ...) _printf_(5, 6);
/* Resumed: what is left of job->timeout after elapsed (at least 1 µs). */
void exec_job_timeout_left(ExecJob *job, usec_t elapsed);
/* Arms job->timer (CLOCK_MONOTONIC, relative) unless usec is USEC_INFINITY. */
int exec_job_arm_timer(ExecJob *job, usec_t usec, sd_event_time_handler_t handler, const char *description);
/* The reply handler of a fire-and-forget call (floating, on the queue). */
int exec_ignore_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);
/* "Name: message" of a D-Bus error, or strerror() of r. */
const char *exec_bus_error_text(const sd_bus_error *error, int r, char *buf, size_t size);
/* Walks an a{sv} of properties (GetAll, PropertiesChanged): cb gets each
 * name with the variant next to read, and returns 0 when the name is not
 * its own (the walk skips the value), 1 when it read the value,
 * EXEC_PROPERTY_STOP when it read it and needs nothing more (the walk
 * ends there, inside the array), or -errno. */
#define EXEC_PROPERTY_STOP 2
typedef int (*exec_property_cb)(sd_bus_message *m, const char *name, void *userdata);
int exec_bus_map_properties(sd_bus_message *m, exec_property_cb cb, void *userdata);
/* Reads one "s" property from a Properties.Get reply. */
int exec_read_string_variant(sd_bus_message *m, const char **ret);
/* Finds key in a{sv} of a PropertiesChanged signal for interface iface and
 * reads it as a string. Returns 1 if found, 0 if not, or -errno. */
int exec_properties_changed_string(sd_bus_message *m, const char *iface, const char *key, const char **ret);

/* systemd jobs: call exec_job_await_reply() once the method call that
 * creates a job is out, and exec_job_take_job_path() with its reply. The
 * latter stores job->job_path and returns in *ret_removed the job's result
 * if its JobRemoved came before the reply (else NULL). */
void exec_job_await_reply(ExecJob *job);
/* Stops awaiting without a job path (the read found no job). */
void exec_job_stop_awaiting(ExecJob *job);
int exec_job_take_job_path(ExecJob *job, sd_bus_message *m, char **ret_removed);
int exec_job_take_job_path_string(ExecJob *job, const char *path, char **ret_removed);

/* ---- shared by the kinds ---- */
/* The transient facility's JobRemoved and cancel (exec-transient.c). */
void exec_transient_job_removed(ExecJob *job, const char *result);
void exec_transient_cancel(ExecJob *job);
/* done-if checks are transient units too, outside any kind. */
int exec_transient_start_check(ExecJob *job, const char *run_id, const Step *step, unsigned attempt);
/* Whether a unit's ActiveState counts as the wanted one ("active" includes
 * "reloading"; otherwise exact). */
bool exec_unit_state_is(const char *state, const char *want);
/* Asks systemd for a unit's ActiveState; handler gets the Properties.Get reply. */
int exec_get_active_state(ExecJob *job, const char *unit_path, BusQueueCall **call,
                          sd_bus_message_handler_t handler, void *userdata);

/* ---- pure helpers: no bus, unit-tested ---- */

/* Everything StartTransientUnit is told about an exec step's attempt. */
typedef struct ExecTransientSpec {
        char *unit;
        char *description;
        char *exec_path;                /* argv[0]: absolute or a name systemd looks up */
        char **argv;
        char **environment;             /* KEY=VALUE */
        char *user;
        char *working_directory;
        char *syslog_identifier;
        char **log_extra_fields;        /* SALVE_RUN=..., SALVE_STEP=..., SALVE_ATTEMPT=... */
        usec_t runtime_max;             /* USEC_INFINITY: none */
        /* Tighter sandboxes, for kinds whose tools only read (fsck -n,
         * backup checks) or need no network (most). */
        bool read_only;                 /* ProtectSystem=strict, ProtectHome=read-only */
        bool private_network;           /* PrivateNetwork=yes */
        char **read_write_paths;        /* with read_only: ReadWritePaths= */
} ExecTransientSpec;

void exec_transient_spec_done(ExecTransientSpec *s);
int exec_transient_spec_build(const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                              ExecTransientSpec *ret);
/* The same for a step's done-if check: its own command and timeout, as
 * root, unit salve-RUN-STEP-ATTEMPT-done-if.service. */
int exec_check_spec_build(const char *run_id, const Step *step, unsigned attempt, ExecTransientSpec *ret);

/* How a transient unit stands, from a GetAll of all its interfaces. */
typedef struct ServiceEnd {
        const char *load_state, *active_state, *sub_state;
        const char *result;
        int32_t code, status;
        uint64_t exit_timestamp;        /* ExecMainExitTimestampMonotonic: 0 while it has not exited */
        uint32_t job_id;                /* a job queued on the unit, or 0 */
} ServiceEnd;

typedef enum ServicePhase {
        SERVICE_PHASE_PENDING,          /* not started yet (a start job may be queued) */
        SERVICE_PHASE_RUNNING,          /* its command runs, or it is stopping */
        SERVICE_PHASE_ENDED,            /* its outcome is final and readable */
        SERVICE_PHASE_GONE,             /* systemd does not know the unit */
} ServicePhase;

ServicePhase exec_service_phase(const ServiceEnd *s);

/* How a finished transient service maps to a result: systemd's Result=
 * of the service, ExecMainCode (CLD_EXITED, CLD_KILLED, CLD_DUMPED) and
 * ExecMainStatus. Writes the message into buf. */
ExecOutcome exec_service_outcome(const char *result, int code, int status, usec_t timeout, int *ret_exit_status,
                                 char *buf, size_t size);

/* How a finished unit job maps to a result: JobRemoved's result string,
 * and (for "done") the unit's ActiveState afterwards (NULL: unknown). */
ExecOutcome exec_unit_job_outcome(StepKind kind, const char *job_result, const char *active_state, char *buf,
                                  size_t size);
