/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One table of operations per step kind, as systemd's UnitVTable is per
 * unit type: executor.c creates the job, allocates the kind's private
 * state and dispatches; each kind's file (exec-unit.c, exec-transient.c,
 * exec-wait.c, exec-dependents.c, exec-raid.c, exec-fs.c, exec-snapshot.c,
 * exec-backup.c) does the rest.
 *
 * What the executor gives every job (ExecJob, executor-internal.h): the
 * step's unit and its object path (job->unit, job->unit_path) with
 * PropertiesChanged dispatch to job->on_changed, the systemd job path
 * (job->job_path) with JobRemoved dispatch, one method call and one query
 * slot (job->call, job->query), the timeout timer, and the transient-unit
 * facility (exec_transient_run(): a command as a sandboxed transient
 * service, its end handed to the kind). Whatever else a kind needs lives
 * in its private state, job->state, which the kind's disarm() drops the
 * event sources of and done() frees the members of. */

#include "executor-internal.h"

/* What a step's attempt is. */
typedef struct ExecRequest {
        const char *run_id;     /* [a-z0-9-], short */
        const Step *step;
        unsigned attempt;
} ExecRequest;

typedef struct ExecKindOps {
        /* Bytes of private state, zeroed, at job->state (0: none, or the
         * kind sets job->state itself and done() frees it). */
        size_t state_size;
        /* Begins the attempt. Returns 0 once the result will come (through
         * exec_job_finish() or exec_job_finish_later(), never from inside
         * this call), or -errno if it could not begin. */
        int (*start)(ExecJob *job, const ExecRequest *req);
        /* After salved restarted with the step running since elapsed:
         * re-attach, or judge the system afresh when that is harmless.
         * NULL: the step ends EXEC_UNKNOWN ("cannot tell how it ended"). */
        int (*resume)(ExecJob *job, const ExecRequest *req, usec_t elapsed);
        /* A systemd job of the kind's own (job->job_path, not a transient
         * unit's start job: those go to the transient facility) ended. */
        void (*job_removed)(ExecJob *job, const char *result);
        /* The run no longer wants the step: stop what it runs. The job is
         * freed after (disarm, done). */
        void (*cancel)(ExecJob *job);
        /* Drop every event source and call of the private state, so no
         * callback reaches the job; may be called twice. */
        void (*disarm)(ExecJob *job);
        /* Free the private state's members (job->state itself is freed by
         * the executor when state_size > 0). */
        void (*done)(ExecJob *job);
} ExecKindOps;

extern const ExecKindOps exec_kind_exec;
extern const ExecKindOps exec_kind_unit;
extern const ExecKindOps exec_kind_wait;
extern const ExecKindOps exec_kind_dependents;
extern const ExecKindOps exec_kind_snapshot;              /* exec-snapshot.c */
extern const ExecKindOps exec_kind_backup_verify;         /* exec-backup.c */
extern const ExecKindOps exec_kind_raid_wait_sync;        /* exec-raid.c */
extern const ExecKindOps exec_kind_raid_check;
extern const ExecKindOps exec_kind_fs_check;              /* exec-fs.c */
extern const ExecKindOps exec_kind_fs_mount;

/* The kind's table, or NULL when this salve cannot run the kind. */
const ExecKindOps *exec_kind_ops(StepKind k);

/* ---- the transient-unit facility, for any kind ---- */

/* Called when a transient unit started by exec_transient_run() has ended
 * (or could not start): outcome, exit status and message as exec steps
 * map them (exec_service_outcome()). The kind decides: finish the job
 * (exec_job_finish(); the unit's result is then held for the engine, see
 * ExecResult.unit), or release the unit (exec_transient_release()) and
 * start another. */
typedef void (*exec_transient_end_cb)(ExecJob *job, ExecOutcome outcome, int error, int exit_status,
                                      const char *message);

/* A command for a kind's transient unit: named
 * salve-RUN-STEP-ATTEMPT[-SUFFIX].service, logged under the step
 * (SALVE_RUN=, SALVE_STEP=, SALVE_ATTEMPT=, SyslogIdentifier=STEP), run as
 * root in the exec sandbox, killed after timeout (USEC_INFINITY: none). */
int exec_transient_spec_for(const ExecRequest *req, const char *suffix, char * const *argv, usec_t timeout,
                            ExecTransientSpec *ret);
/* Starts spec as the job's transient unit; on_end gets its end (NULL: the
 * job finishes with it, as an exec step does). */
int exec_transient_run(ExecJob *job, const ExecTransientSpec *spec, exec_transient_end_cb on_end);
/* After a restart: watches the transient unit of that name that was
 * started elapsed ago, and hands its end (now, if it has ended) to on_end. */
int exec_transient_reattach(ExecJob *job, const char *unit, usec_t elapsed, exec_transient_end_cb on_end);
/* Lets systemd collect the job's transient unit now (its result is no
 * longer needed), and forgets it. */
void exec_transient_release(ExecJob *job);

/* ---- progress, for long waits (raid.wait-sync, raid.check) ---- */

/* Tells whoever watches the executor how far the step is (the manager
 * shows it in status and uses the ETA in the RTO projection). Cheap;
 * call it whenever the figures change. */
void exec_job_report_progress(ExecJob *job, const ExecProgress *p);
