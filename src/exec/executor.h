/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The executor runs machine steps against the real system, all
 * asynchronously on the manager's sd-event loop:
 *   unit.start/stop/restart  systemd job via D-Bus; the result is the job's
 *                            result (JobRemoved) and the unit's state after
 *   exec                     a transient service (StartTransientUnit) named
 *                            salve-RUN-STEP-ATTEMPT.service, sandboxed,
 *                            logged to the journal, killed on timeout; the
 *                            result is its main process's exit status
 *   wait                     a unit reaching a state, or a path appearing
 *                            or vanishing, event-driven, with a timeout
 *   unit.restart-dependents  the units that depend on a unit (RequiredBy=,
 *                            BoundBy=, WantedBy=) and did not come back
 *                            with it, restarted one at a time in After=
 *                            order (exec-dependents.c, dependents.c)
 *   raid.*, fs.*, snapshot, backup.verify: see exec-kind.h for the files
 * Each kind is one table of operations (exec-kind.h); the executor only
 * creates jobs and dispatches.
 * The engine decides what runs when; the executor only runs it and calls
 * back exactly once per started step (unless cancelled first). */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "plan.h"

typedef struct Executor Executor;
typedef struct ExecJob ExecJob;

typedef enum ExecOutcome {
        EXEC_SUCCEEDED,
        EXEC_FAILED,            /* ran and failed: job failed, non-zero exit, condition false */
        EXEC_TIMED_OUT,
        EXEC_NOT_SUPPORTED,     /* step kind not implemented yet */
        EXEC_UNKNOWN,           /* resume: how it ended cannot be known (its unit is gone) */
        _EXEC_OUTCOME_MAX,
        _EXEC_OUTCOME_INVALID = -EINVAL,
} ExecOutcome;

typedef struct ExecResult {
        ExecOutcome outcome;
        int error;              /* negative errno behind a failure, or 0 */
        int exit_status;        /* exec: main process exit status, else -1 */
        const char *message;    /* one line for people: "job done, unit active", "exit status 3" */
        const char *unit;       /* exec: the finished transient unit that still holds this result, or NULL.
                                 * It stays loaded until released with executor_release_unit(): release
                                 * it once the result is durable, never before. */
} ExecResult;

/* How far a long step is (raid.wait-sync, raid.check): from the md
 * array's sync_completed and speed. Fields unknown: -1 / USEC_INFINITY. */
typedef struct ExecProgress {
        double percent;         /* 0..100, or -1 */
        int64_t rate_kib;       /* KiB/s, or -1 */
        usec_t eta;             /* time left, or USEC_INFINITY */
        const char *text;       /* one line for people: "md0: resync 42.0% at 1200 KiB/s, 3min left" */
} ExecProgress;

/* Gets every job's progress; job_userdata is the userdata its
 * executor_start()/executor_resume() was given. */
typedef void (*exec_progress_cb)(ExecJob *job, const ExecProgress *p, void *job_userdata, void *userdata);

/* Called once when the step is over. job is freed after the callback
 * returns; the callee must forget it. */
typedef void (*exec_done_cb)(ExecJob *job, const ExecResult *result, void *userdata);

/* bus: a connection to the system bus (systemd's API lives there). The
 * executor subscribes to systemd's signals itself. calls: the bounded
 * queue every call to systemd goes through (borrowed; it must outlive the
 * executor), or NULL for one of the executor's own. */
typedef struct BusQueue BusQueue;
int executor_new(sd_event *event, sd_bus *bus, BusQueue *calls, Executor **ret);
Executor *executor_free(Executor *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Executor *, executor_free);

/* Starts one attempt of a machine step. timeout is the step's timeout
 * (USEC_INFINITY: none). run_id is [a-z0-9-] and short, used in unit names
 * and journal fields. Returns 0 with *ret_job set (the callback comes
 * later, never from inside this call), or a negative errno if it could not
 * even begin. */
int executor_start(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                   exec_done_cb cb, void *userdata, ExecJob **ret_job);

/* After salved restarted, picks up a machine step the journal shows
 * running since `started` (CLOCK_REALTIME) in this boot, without running
 * it again:
 *   exec       its transient unit still runs: re-attach (systemd's own
 *              RuntimeMaxSec= still counts from the original start, and the
 *              backstop is armed for what is left); it ended while salved
 *              was down: its outcome, which the unit keeps (RemainAfterExit=
 *              and CollectMode=inactive) until released; gone: EXEC_UNKNOWN
 *   unit.*     a job still queued or running on the unit: re-attach to it;
 *              none: judged by the unit's state, as the step would have
 *   wait       waits again, for what is left of its timeout
 *   unit.restart-dependents  runs again, for what is left of its timeout:
 *              it judges systemd's state afresh, so it restarts only what
 *              is still stale or down
 *   fs.check   its checker's unit (salve-RUN-STEP-N-fsck.service) is
 *              followed again, or read if it ended; never started: checks
 *              afresh
 *   fs.mount   judges the mount table afresh (mounted: done; else starts
 *              the mount unit, which joins a job still queued)
 *   raid.wait-sync  waits again, for what is left of its timeout
 *   raid.check      a check still running: waited for; none: EXEC_UNKNOWN
 *              (it may have ended either way while salved was down)
 *   others     see their files (exec-kind.h), else EXEC_UNKNOWN
 * The callback comes as for executor_start(). */
int executor_resume(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                    usec_t started, exec_done_cb cb, void *userdata, ExecJob **ret_job);

/* Runs a step's done-if check as a transient unit (like exec, as root,
 * with the check's own timeout). The result is EXEC_SUCCEEDED for exit 0,
 * EXEC_FAILED with exit_status set otherwise. */
int executor_start_check(Executor *e, const char *run_id, const Step *step, unsigned attempt, exec_done_cb cb,
                         void *userdata, ExecJob **ret_job);

/* Lets systemd collect a finished transient unit (see ExecResult.unit):
 * stops it if it is still active (exited), and resets it if it failed. */
void executor_release_unit(Executor *e, const char *unit);

/* Asks systemd which units match pattern: calls cb once with a
 * NULL-terminated list of "NAME ACTIVESTATE SUBSTATE" strings (valid
 * during the call), or with r < 0. One at a time (-EBUSY); freeing the
 * executor drops it without the callback. */
typedef void (*exec_units_cb)(int r, char **units, void *userdata);
int executor_list_units(Executor *e, const char *pattern, exec_units_cb cb, void *userdata);

/* Who hears of progress (one handler; NULL to drop it). */
void executor_set_progress_handler(Executor *e, exec_progress_cb cb, void *userdata);

/* Where raid.* steps find md's sysfs attributes (SYSFS/block/mdX/md/) and
 * udev's /dev/md/NAME links; NULL: "/sys" and "/dev". For tests, which
 * point them at fixture trees: given a sysfs root, raid.* steps also write
 * md's attributes themselves, as a fixture has no systemd behind it to run
 * their transient units (mdadm --readwrite, echo check) against it. */
int executor_set_roots(Executor *e, const char *sysfs, const char *devfs);

/* Stops waiting for the step; for exec, also stops its transient unit.
 * The callback will not be called. Frees job. */
void exec_job_cancel(ExecJob *job);

/* Evaluates a step's `when:` asynchronously (unit states are asked of
 * systemd with async calls; paths are checked with access()). trigger is
 * the run's trigger kind name ("boot", "manual", ...). The callback gets
 * EXEC_SUCCEEDED when every condition holds, EXEC_FAILED with a message
 * naming the first that does not. */
int executor_check_condition(Executor *e, const Condition *c, const char *trigger, exec_done_cb cb,
                             void *userdata, ExecJob **ret_job);

const char *exec_outcome_to_string(ExecOutcome o);

/* Whether job runs in, or watches, the transient unit of that name. */
bool exec_job_owns_unit(const ExecJob *job, const char *unit);

/* The transient unit name an exec step's attempt uses; suffix (NULL for
 * none) tells units of the same attempt apart ("done-if"). */
int exec_unit_name(const char *run_id, const char *step_id, unsigned attempt, char **ret);
int exec_unit_name_full(const char *run_id, const char *step_id, unsigned attempt, const char *suffix, char **ret);

/* What the Manager needs of an executor, as one table, so a test can drive
 * a Manager on a private event loop with a fake executor
 * (tests/unit/test-manager.c). executor_systemd_ops is the real one: the
 * functions above. */
typedef struct ExecutorOps {
        int (*start)(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                     exec_done_cb cb, void *userdata, ExecJob **ret_job);
        int (*resume)(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                      usec_t started, exec_done_cb cb, void *userdata, ExecJob **ret_job);
        int (*start_check)(Executor *e, const char *run_id, const Step *step, unsigned attempt, exec_done_cb cb,
                           void *userdata, ExecJob **ret_job);
        int (*check_condition)(Executor *e, const Condition *c, const char *trigger, exec_done_cb cb,
                               void *userdata, ExecJob **ret_job);
        void (*release_unit)(Executor *e, const char *unit);
        int (*list_units)(Executor *e, const char *pattern, exec_units_cb cb, void *userdata);
        void (*job_cancel)(ExecJob *job);
        bool (*job_owns_unit)(const ExecJob *job, const char *unit);
        Executor *(*free)(Executor *e);
        void (*set_progress_handler)(Executor *e, exec_progress_cb cb, void *userdata);  /* may be NULL */
} ExecutorOps;

extern const ExecutorOps executor_systemd_ops;
