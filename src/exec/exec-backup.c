/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* backup.verify: checks a backup before a plan restores from it. Up to two
 * transient units, one after the other, each released before the next:
 *   check    salve-check-backup (max-age, min-size, manifest through
 *            `sha256sum --check --strict`), as root on a read-only system
 *            without network (salve-RUN-STEP-ATTEMPT-check.service): it only
 *            reads, and a backup on a hung network filesystem blocks that
 *            unit, never salved
 *   command  the plan's with.command (`restic check`, `borg check`), as
 *            with.user, in the exec sandbox with the network (repository
 *            servers) and a writable system (their locks and caches)
 *            (salve-RUN-STEP-ATTEMPT-command.service)
 * The helper's exit status (BackupExit) says which check failed; its
 * findings are in the journal under the step. The step's timeout bounds
 * both together.
 *
 * After a salved restart: re-attach to the command's unit if systemd
 * knows it, else to the check's (and go on to the command after it), else
 * run the checks again from the start: they only read, so judging the
 * backup afresh is harmless. */

#include "backup-util.h"
#include "config.h"
#include "exec-kind.h"

#define CHECK_HELPER SALVE_LIBEXEC_DIR "/salve-check-backup"

typedef struct BackupState {
        ExecTransientSpec check;        /* .unit NULL: no file check */
        ExecTransientSpec command;      /* .unit NULL: no command */
        char *path;
        char *checks;                   /* "max-age 1d, manifest", for the result */
        char *command_line;             /* for the result */
        char *run_id;
        usec_t started;                 /* CLOCK_MONOTONIC, when the step began */
        usec_t elapsed;                 /* resumed: since the step started */
} BackupState;

#define B(job) ((BackupState *) (job)->state)

static void command_end(ExecJob *job, ExecOutcome o, int error, int exit_status, const char *message) {
        BackupState *b = B(job);

        if (o == EXEC_SUCCEEDED)
                exec_job_finish(job, o, 0, exit_status, "backup %s verified: %s%s`%s` passed", b->path,
                                strempty(b->checks), b->checks ? ", " : "", b->command_line);
        else
                exec_job_finish(job, o, error, exit_status, "backup %s: `%s` failed: %s (journalctl SALVE_RUN=%s SALVE_STEP=%s)",
                                b->path, b->command_line, message, b->run_id, job->step_id);
}

static int run_command(ExecJob *job) {
        BackupState *b = B(job);
        usec_t spent = now_usec(CLOCK_MONOTONIC) - b->started;

        /* What is left of the step's timeout. */
        if (job->timeout != USEC_INFINITY)
                b->command.runtime_max = job->timeout > spent ? job->timeout - spent : 1;
        return exec_transient_run(job, &b->command, command_end);
}

static void check_end(ExecJob *job, ExecOutcome o, int error, int exit_status, const char *message) {
        BackupState *b = B(job);
        const char *what = o == EXEC_TIMED_OUT ? NULL : backup_exit_describe(exit_status);
        int r;

        if (!what) {
                exec_job_finish(job, o, error, exit_status, "backup %s: the check %s", b->path, message);
                return;
        }
        if (exit_status != BACKUP_EXIT_OK) {
                exec_job_finish(job, EXEC_FAILED, 0, exit_status, "backup %s %s (journalctl SALVE_RUN=%s SALVE_STEP=%s)",
                                b->path, what, b->run_id, job->step_id);
                return;
        }
        if (!b->command.unit) {
                exec_job_finish(job, EXEC_SUCCEEDED, 0, exit_status, "backup %s verified: %s", b->path, b->checks);
                return;
        }
        exec_transient_release(job);
        r = run_command(job);
        if (r < 0)
                exec_job_finish(job, EXEC_FAILED, r, -1, "backup %s: cannot start `%s`: %s", b->path, b->command_line,
                                strerror(-r));
}

static int add_check(char **checks, const char *what) {
        char *n;

        if (asprintf(&n, "%s%s%s", strempty(*checks), *checks ? ", " : "", what) < 0)
                return -ENOMEM;
        free(*checks);
        *checks = n;
        return 0;
}

static int backup_prepare(ExecJob *job, const ExecRequest *req) {
        BackupState *b = B(job);
        const Step *step = req->step;
        const char *path = step_get_string(step, "path"), *manifest = step_get_string(step, "manifest");
        const StepArg *max_age = step_get_arg(step, "max-age"), *min_size = step_get_arg(step, "min-size");
        const StepArg *command = step_get_arg(step, "command");
        _cleanup_strv_free_ char **argv = NULL;
        char num[32], d[FORMAT_DURATION_MAX];
        int r = 0;

        if (!path || !req->run_id)
                return -EINVAL;
        b->path = strdup(path);
        b->run_id = strdup(req->run_id);
        if (!b->path || !b->run_id)
                return -ENOMEM;

        if (max_age || min_size || manifest) {
                r = strv_extend(&argv, CHECK_HELPER);
                if (r >= 0 && max_age) {
                        snprintf(num, sizeof(num), "%" PRIu64, (uint64_t) max_age->usec);
                        r = strv_extend(&argv, "--max-age");
                        if (r >= 0)
                                r = strv_extend(&argv, num);
                        snprintf(num, sizeof(num), "max-age %s", format_duration(d, max_age->usec));
                        if (r >= 0)
                                r = add_check(&b->checks, num);
                }
                if (r >= 0 && min_size) {
                        snprintf(num, sizeof(num), "%" PRIu64, min_size->u);
                        r = strv_extend(&argv, "--min-size");
                        if (r >= 0)
                                r = strv_extend(&argv, num);
                        snprintf(num, sizeof(num), "min-size %" PRIu64, min_size->u);
                        if (r >= 0)
                                r = add_check(&b->checks, num);
                }
                if (r >= 0 && manifest) {
                        r = strv_extend(&argv, "--manifest");
                        if (r >= 0)
                                r = strv_extend(&argv, manifest);
                        if (r >= 0)
                                r = add_check(&b->checks, "manifest");
                }
                if (r >= 0)
                        r = strv_extend(&argv, path);
                if (r >= 0)
                        r = exec_transient_spec_for(req, "check", argv, job->timeout, &b->check);
                if (r < 0)
                        return r;
                b->check.read_only = true;
                b->check.private_network = true;
        }

        if (command && strv_length(command->strv) > 0) {
                r = exec_transient_spec_for(req, "command", command->strv, job->timeout, &b->command);
                if (r < 0)
                        return r;
                const char *user = step_get_string(step, "user");
                if (user && !(b->command.user = strdup(user)))
                        return -ENOMEM;
                b->command_line = strv_join(command->strv, " ");
                if (!b->command_line)
                        return -ENOMEM;
        }
        if (!b->check.unit && !b->command.unit)
                return -EINVAL;         /* the plan loader requires one */
        b->started = now_usec(CLOCK_MONOTONIC);
        return 0;
}

static int backup_start(ExecJob *job, const ExecRequest *req) {
        BackupState *b = B(job);
        int r = backup_prepare(job, req);

        if (r < 0)
                return r;
        if (b->check.unit)
                return exec_transient_run(job, &b->check, check_end);
        return run_command(job);
}

/* ---- after a restart ---- */

static int resume_look_for_check(ExecJob *job);

static void resume_failed(ExecJob *job, int r) {
        exec_job_finish(job, EXEC_UNKNOWN, r, -1, "backup %s: cannot follow the check after the restart: %s", B(job)->path,
                        strerror(-r));
}

static int on_resume_check_unit(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        BackupState *b = B(job);
        int r;

        job->call = bus_queue_call_free(job->call);
        if (sd_bus_message_is_method_error(m, "org.freedesktop.systemd1.NoSuchUnit")) {
                /* Nothing of the attempt left in systemd: check again. */
                b->started = now_usec(CLOCK_MONOTONIC);
                r = b->check.unit ? exec_transient_run(job, &b->check, check_end) : run_command(job);
        } else
                r = exec_transient_reattach(job, b->check.unit, b->elapsed, check_end);
        if (r < 0)
                resume_failed(job, r);
        return 0;
}

static int on_resume_command_unit(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        BackupState *b = B(job);
        int r;

        job->call = bus_queue_call_free(job->call);
        if (sd_bus_message_is_method_error(m, "org.freedesktop.systemd1.NoSuchUnit"))
                r = resume_look_for_check(job);
        else
                r = exec_transient_reattach(job, b->command.unit, b->elapsed, command_end);
        if (r < 0)
                resume_failed(job, r);
        return 0;
}

static int get_unit(ExecJob *job, const char *unit, sd_bus_message_handler_t handler) {
        return bus_queue_call_method(job->executor->calls, &job->call, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                     SYSTEMD_MANAGER_IFACE, "GetUnit", handler, job, "s", unit);
}

static int resume_look_for_check(ExecJob *job) {
        BackupState *b = B(job);

        if (!b->check.unit) {
                b->started = now_usec(CLOCK_MONOTONIC);
                return run_command(job);
        }
        return get_unit(job, b->check.unit, on_resume_check_unit);
}

static int backup_resume(ExecJob *job, const ExecRequest *req, usec_t elapsed) {
        BackupState *b = B(job);
        usec_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        r = backup_prepare(job, req);
        if (r < 0)
                return r;
        b->elapsed = elapsed;
        b->started = now > elapsed ? now - elapsed : 0;
        if (b->command.unit)
                return get_unit(job, b->command.unit, on_resume_command_unit);
        return resume_look_for_check(job);
}

static void backup_done(ExecJob *job) {
        BackupState *b = B(job);

        exec_transient_spec_done(&b->check);
        exec_transient_spec_done(&b->command);
        free(b->path);
        free(b->checks);
        free(b->command_line);
        free(b->run_id);
}

const ExecKindOps exec_kind_backup_verify = {
        .state_size = sizeof(BackupState),
        .start = backup_start,
        .resume = backup_resume,
        .done = backup_done,
};
