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
 *   other kinds              fail with "not implemented yet"
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
        _EXEC_OUTCOME_MAX,
        _EXEC_OUTCOME_INVALID = -EINVAL,
} ExecOutcome;

typedef struct ExecResult {
        ExecOutcome outcome;
        int error;              /* negative errno behind a failure, or 0 */
        int exit_status;        /* exec: main process exit status, else -1 */
        const char *message;    /* one line for people: "job done, unit active", "exit status 3" */
} ExecResult;

/* Called once when the step is over. job is freed after the callback
 * returns; the callee must forget it. */
typedef void (*exec_done_cb)(ExecJob *job, const ExecResult *result, void *userdata);

/* bus: a connection to the system bus (systemd's API lives there). The
 * executor subscribes to systemd's signals itself. */
int executor_new(sd_event *event, sd_bus *bus, Executor **ret);
Executor *executor_free(Executor *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Executor *, executor_free);

/* Starts one attempt of a machine step. timeout is the step's timeout
 * (USEC_INFINITY: none). run_id is [a-z0-9-] and short, used in unit names
 * and journal fields. Returns 0 with *ret_job set (the callback comes
 * later, never from inside this call), or a negative errno if it could not
 * even begin. */
int executor_start(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                   exec_done_cb cb, void *userdata, ExecJob **ret_job);

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

/* The transient unit name an exec step's attempt uses. */
int exec_unit_name(const char *run_id, const char *step_id, unsigned attempt, char **ret);
