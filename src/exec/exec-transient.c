/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* exec: the command runs as a transient service, salve-RUN-STEP-N.service,
 * so systemd owns the process: its cgroup, its sandbox, its output (the
 * journal, with SALVE_RUN=, SALVE_STEP= and SALVE_ATTEMPT= fields) and its
 * time limit (RuntimeMaxSec=).
 *
 * The unit outlives the command, and salved: RemainAfterExit=yes keeps a
 * command that succeeded "active (exited)" and CollectMode=inactive keeps
 * one that failed "failed", exit status and all, until salved has
 * journaled the result and releases the unit (executor_release_unit():
 * stop, reset-failed, and systemd collects it). So a result is never lost
 * when salved crashes between the command's end and the journal: after a
 * restart executor_resume() reads it from the unit. A unit systemd no
 * longer knows (the host rebooted, someone reset it) is EXEC_UNKNOWN.
 * The end is seen as a PropertiesChanged of the unit (ActiveState failed
 * or inactive, or SubState exited), followed by one GetAll of all its
 * interfaces; a GetAll that fails (the bus is busy, LimitsExceeded) is
 * tried again on a backoff, never taken for the command's failure.
 * Type=exec makes a command that cannot be executed fail the start job,
 * which ends the step too.
 *
 * Time limits: systemd stops the service RuntimeMaxSec= after it started
 * (Result "timeout"). A backstop timer of our own, later by the stop
 * timeout and a grace period, covers a unit that never got that far or
 * never stopped: it kills the unit and reports the step timed out. */

#include <signal.h>
#include <sys/wait.h>

#include "exec-kind.h"

/* ---- the unit's properties (pure) ---- */

void exec_transient_spec_done(ExecTransientSpec *s) {
        if (!s)
                return;
        free(s->unit);
        free(s->description);
        free(s->exec_path);
        strv_free(s->argv);
        strv_free(s->environment);
        free(s->user);
        free(s->working_directory);
        free(s->syslog_identifier);
        strv_free(s->log_extra_fields);
        strv_free(s->read_write_paths);
        *s = (ExecTransientSpec) { .runtime_max = USEC_INFINITY };
}

static int copy_strv(char * const *l, char ***ret) {
        _cleanup_strv_free_ char **c = NULL;
        int r;

        STRV_FOREACH(i, l) {
                r = strv_extend(&c, *i);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static int strdup_or_null(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* The parts an exec step and a done-if check share: name, command, log fields. */
static int spec_build_common(const char *run_id, const Step *step, unsigned attempt, const char *suffix,
                             char * const *command, usec_t timeout, ExecTransientSpec *s) {
        int r;

        r = exec_unit_name_full(run_id, step->id, attempt, suffix, &s->unit);
        if (r < 0)
                return r;
        if (asprintf(&s->description, "salve run %s, step %s, attempt %u%s%s", run_id, step->id, attempt,
                     suffix ? ", " : "", strempty(suffix)) < 0) {
                s->description = NULL;
                return -ENOMEM;
        }
        r = strdup_or_null(command[0], &s->exec_path);
        if (r >= 0)
                r = copy_strv(command, &s->argv);
        if (r >= 0)
                r = strdup_or_null(step->id, &s->syslog_identifier);
        if (r < 0)
                return r;

        char field[256];
        snprintf(field, sizeof(field), "SALVE_RUN=%s", run_id);
        r = strv_extend(&s->log_extra_fields, field);
        snprintf(field, sizeof(field), "SALVE_STEP=%s", step->id);
        if (r >= 0)
                r = strv_extend(&s->log_extra_fields, field);
        snprintf(field, sizeof(field), "SALVE_ATTEMPT=%u", attempt);
        if (r >= 0)
                r = strv_extend(&s->log_extra_fields, field);
        if (r < 0)
                return r;

        s->runtime_max = timeout == 0 ? USEC_INFINITY : timeout;
        return 0;
}

int exec_transient_spec_build(const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                              ExecTransientSpec *ret) {
        _cleanup_(exec_transient_spec_done) ExecTransientSpec s = { .runtime_max = USEC_INFINITY };
        const StepArg *command, *environment;
        int r;

        if (!run_id || !step || !ret || step->kind != STEP_EXEC)
                return -EINVAL;
        command = step_get_arg(step, "command");
        if (!command || strv_length(command->strv) == 0 || !*command->strv[0])
                return -EINVAL;

        r = spec_build_common(run_id, step, attempt, NULL, command->strv, timeout, &s);
        /* The command knows which attempt it is, as its log lines do. */
        STRV_FOREACH(f, s.log_extra_fields)
                if (r >= 0)
                        r = strv_extend(&s.environment, *f);
        environment = step_get_arg(step, "environment");
        STRV_FOREACH(e, environment ? environment->strv : NULL)
                if (r >= 0)
                        r = strv_extend(&s.environment, *e);
        if (r >= 0)
                r = strdup_or_null(step_get_string(step, "user"), &s.user);
        if (r >= 0)
                r = strdup_or_null(step_get_string(step, "working-directory"), &s.working_directory);
        if (r < 0)
                return r;

        *ret = s;
        s = (ExecTransientSpec) { .runtime_max = USEC_INFINITY };
        return 0;
}

int exec_check_spec_build(const char *run_id, const Step *step, unsigned attempt, ExecTransientSpec *ret) {
        _cleanup_(exec_transient_spec_done) ExecTransientSpec s = { .runtime_max = USEC_INFINITY };
        int r;

        if (!run_id || !step || !ret || strv_length(step->done_if) == 0 || !*step->done_if[0])
                return -EINVAL;
        r = spec_build_common(run_id, step, attempt, "done-if", step->done_if, step->done_if_timeout, &s);
        if (r < 0)
                return r;

        *ret = s;
        s = (ExecTransientSpec) { .runtime_max = USEC_INFINITY };
        return 0;
}

/* ---- how it ended (pure) ---- */

/* systemd's own exit codes for a child that failed before exec()
 * (systemd.exec(5), "Process Exit Codes"), for the ones a plan is likely
 * to cause. */
static const char *systemd_exit_status_text(int status) {
        switch (status) {
        case 200:
                return "CHDIR: cannot change to the working directory";
        case 203:
                return "EXEC: the command was not found or is not executable";
        case 216:
                return "GROUP: cannot set up the group";
        case 217:
                return "USER: cannot set up the user";
        case 226:
                return "NAMESPACE: cannot set up the sandbox";
        case 227:
                return "NO_NEW_PRIVILEGES: cannot set NoNewPrivileges=";
        default:
                return NULL;
        }
}

static const char *signal_name(int sig) {
        const char *n = sig > 0 ? sigabbrev_np(sig) : NULL;
        return n ?: "unknown";
}

ExecOutcome exec_service_outcome(const char *result, int code, int status, usec_t timeout, int *ret_exit_status,
                                 char *buf, size_t size) {
        char d[FORMAT_DURATION_MAX];
        const char *why;

        *ret_exit_status = code == CLD_EXITED ? status : -1;

        if (streq_ptr(result, "success") && code == CLD_KILLED) {
                /* Stopped from outside (systemctl stop) before it finished:
                 * systemd counts that clean, but the command did not end. */
                snprintf(buf, size, "stopped before it finished (killed by signal SIG%s)", signal_name(status));
                return EXEC_FAILED;
        }
        if (streq_ptr(result, "success")) {
                snprintf(buf, size, "exit status %d", code == CLD_EXITED ? status : 0);
                return EXEC_SUCCEEDED;
        }
        if (streq_ptr(result, "timeout")) {
                if (timeout != USEC_INFINITY)
                        snprintf(buf, size, "timed out after %s, stopped", format_duration(d, timeout));
                else
                        snprintf(buf, size, "timed out, stopped");
                return EXEC_TIMED_OUT;
        }
        if (code == CLD_EXITED && streq_ptr(result, "exit-code")) {
                why = systemd_exit_status_text(status);
                if (why)
                        snprintf(buf, size, "exit status %d (%s)", status, why);
                else
                        snprintf(buf, size, "exit status %d", status);
        } else if (code == CLD_KILLED && streq_ptr(result, "signal"))
                snprintf(buf, size, "killed by signal SIG%s", signal_name(status));
        else if (code == CLD_DUMPED || streq_ptr(result, "core-dump"))
                snprintf(buf, size, "dumped core on signal SIG%s", signal_name(status));
        else if (streq_ptr(result, "oom-kill"))
                snprintf(buf, size, "killed by the OOM killer");
        else if (streq_ptr(result, "resources"))
                snprintf(buf, size, "systemd could not set up the service (Result=resources, see the journal)");
        else
                snprintf(buf, size, "failed (Result=%s)", strna(result));
        return EXEC_FAILED;
}

/* ---- the D-Bus side ---- */

static int append_bool(sd_bus_message *m, const char *name, bool b) {
        return sd_bus_message_append(m, "(sv)", name, "b", (int) b);
}

static int append_string(sd_bus_message *m, const char *name, const char *s) {
        return sd_bus_message_append(m, "(sv)", name, "s", s);
}

static int append_usec(sd_bus_message *m, const char *name, usec_t u) {
        return sd_bus_message_append(m, "(sv)", name, "t", (uint64_t) u);
}

static int append_strv(sd_bus_message *m, const char *name, char **l) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* ExecStartEx= rather than ExecStart=, for its no-env-expand flag: the
 * command is run as the plan wrote it, so "$HOME" or "$$" reach a shell
 * untouched instead of being expanded by systemd first. */
static int append_exec_start(sd_bus_message *m, const char *path, char **argv) {
        static char *flags[] = { (char *) "no-env-expand", NULL };
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "ExecStartEx");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(sasas)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasas)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasas");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", path);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, flags);      /* and no "ignore-failure" */
        for (int i = 0; i < 4 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_log_extra_fields(sd_bus_message *m, char **fields) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "LogExtraFields");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "aay");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "ay");
        STRV_FOREACH(f, fields)
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', *f, strlen(*f));
        for (int i = 0; i < 3 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_properties(sd_bus_message *m, const ExecTransientSpec *s) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;

        if ((r = append_string(m, "Description", s->description)) < 0 ||
            (r = append_string(m, "Type", "exec")) < 0 ||
            (r = append_bool(m, "RemainAfterExit", true)) < 0 ||
            (r = append_string(m, "CollectMode", "inactive")) < 0 ||
            (r = append_exec_start(m, s->exec_path, s->argv)) < 0 ||
            (r = append_string(m, "StandardInput", "null")) < 0 ||
            (r = append_string(m, "StandardOutput", "journal")) < 0 ||
            (r = append_string(m, "StandardError", "journal")) < 0 ||
            (r = append_string(m, "SyslogIdentifier", s->syslog_identifier)) < 0 ||
            (r = append_log_extra_fields(m, s->log_extra_fields)) < 0 ||
            (r = append_usec(m, "TimeoutStopUSec", EXEC_STOP_TIMEOUT_USEC)) < 0)
                return r;

        /* A modest sandbox: remediation commands repair filesystems, mount,
         * copy backups into place and restart services, so the system
         * stays writable (no ProtectSystem=) and kernel tunables and
         * modules stay reachable. What no such command needs: setuid
         * escalation, other users' homes, a /tmp shared with the rest of
         * the system. */
        if ((r = append_bool(m, "NoNewPrivileges", true)) < 0 ||
            (r = append_bool(m, "PrivateTmp", true)) < 0 ||
            (r = append_string(m, "ProtectHome", "read-only")) < 0)
                return r;

        if (s->read_only && ((r = append_string(m, "ProtectSystem", "strict")) < 0 ||
                             (s->read_write_paths && (r = append_strv(m, "ReadWritePaths", s->read_write_paths)) < 0)))
                return r;
        if (s->private_network && (r = append_bool(m, "PrivateNetwork", true)) < 0)
                return r;

        if (s->runtime_max != USEC_INFINITY && (r = append_usec(m, "RuntimeMaxUSec", s->runtime_max)) < 0)
                return r;
        if (s->user && (r = append_string(m, "User", s->user)) < 0)
                return r;
        if (s->working_directory && (r = append_string(m, "WorkingDirectory", s->working_directory)) < 0)
                return r;
        if (s->environment && (r = append_strv(m, "Environment", s->environment)) < 0)
                return r;

        return sd_bus_message_close_container(m);
}

void exec_transient_cancel(ExecJob *job) {
        if (job->call || job->unit_started)
                executor_release_unit(job->executor, job->unit);
}

/* Nothing of the current transient unit may call back any more. */
static void transient_disarm(ExecJob *job) {
        job->call = bus_queue_call_free(job->call);
        job->query = bus_queue_call_free(job->query);
        job->on_changed = NULL;
        job->backstop = sd_event_source_disable_unref(job->backstop);
        exec_job_stop_awaiting(job);
}

/* The unit keeps its outcome until the owner of the result releases it. */
static void transient_finish(ExecJob *job, ExecOutcome o, int error, int exit_status, const char *message) {
        exec_transient_end_cb end = job->transient_end;

        job->holds_result = job->unit_started;
        if (!end) {
                exec_job_finish(job, o, error, exit_status, "%s", message);
                return;
        }
        /* The kind decides. */
        transient_disarm(job);
        end(job, o, error, exit_status, message);
}

void exec_transient_release(ExecJob *job) {
        if (!job->transient)
                return;
        transient_disarm(job);
        if (job->unit_started || job->holds_result)
                executor_release_unit(job->executor, job->unit);
        job->transient = job->unit_started = job->holds_result = job->start_job_failed = false;
        job->query_again = false;
        job->query_failures = 0;
        job->start_job_result = mfree(job->start_job_result);
        job->job_path = mfree(job->job_path);
}

static int map_unit_state(sd_bus_message *m, const char *name, void *userdata) {
        ServiceEnd *s = userdata;
        int r;

        if (streq(name, "Result"))
                r = sd_bus_message_read(m, "v", "s", &s->result);
        else if (streq(name, "LoadState"))
                r = sd_bus_message_read(m, "v", "s", &s->load_state);
        else if (streq(name, "ActiveState"))
                r = sd_bus_message_read(m, "v", "s", &s->active_state);
        else if (streq(name, "SubState"))
                r = sd_bus_message_read(m, "v", "s", &s->sub_state);
        else if (streq(name, "ExecMainCode"))
                r = sd_bus_message_read(m, "v", "i", &s->code);
        else if (streq(name, "ExecMainStatus"))
                r = sd_bus_message_read(m, "v", "i", &s->status);
        else if (streq(name, "ExecMainExitTimestampMonotonic"))
                r = sd_bus_message_read(m, "v", "t", &s->exit_timestamp);
        else if (streq(name, "Job"))
                r = sd_bus_message_read(m, "v", "(uo)", &s->job_id, NULL);
        else
                return 0;
        return r < 0 ? r : 1;
}

static int read_unit_state(sd_bus_message *m, ServiceEnd *ret) {
        ServiceEnd s = {};
        int r;

        r = exec_bus_map_properties(m, map_unit_state, &s);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

ServicePhase exec_service_phase(const ServiceEnd *s) {
        if (streq_ptr(s->load_state, "not-found") && s->exit_timestamp == 0)
                return SERVICE_PHASE_GONE;
        if (streq_ptr(s->active_state, "failed"))
                return SERVICE_PHASE_ENDED;
        if (streq_ptr(s->active_state, "active") && streq_ptr(s->sub_state, "exited"))
                return SERVICE_PHASE_ENDED;
        if (streq_ptr(s->active_state, "inactive"))
                return s->exit_timestamp != 0 ? SERVICE_PHASE_ENDED : SERVICE_PHASE_PENDING;
        return SERVICE_PHASE_RUNNING;
}

static int transient_query(ExecJob *job);

static int on_query_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        ExecJob *job = userdata;
        int r;

        job->timer = sd_event_source_disable_unref(job->timer);
        r = transient_query(job);
        if (r < 0)
                transient_finish(job, EXEC_FAILED, r, -1, "cannot ask systemd how the command ended");
        return 0;
}

static int on_service_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        char buf[512];
        ServiceEnd end;
        int exit_status, r;

        job->query = bus_queue_call_free(job->query);
        if (sd_bus_message_is_method_error(m, NULL))
                r = -(sd_bus_error_get_errno(sd_bus_message_get_error(m)) ?: EIO);
        else
                r = read_unit_state(m, &end);
        if (r < 0) {
                /* Not knowing how it ended is not its failure: the unit keeps
                 * its outcome, so ask again, later and later (at most every
                 * 5 s; the backstop still bounds a step with a timeout). */
                usec_t delay = MIN((usec_t) (100 * USEC_PER_MSEC) << MIN(job->query_failures, 6u), 5 * USEC_PER_SEC);
                job->query_failures++;
                job->query_again = false;
                if (exec_job_arm_timer(job, delay, on_query_retry, "exec-transient-query-retry") < 0)
                        transient_finish(job, EXEC_FAILED, r, -1, "cannot ask systemd how the command ended");
                return 0;
        }
        job->query_failures = 0;

        switch (exec_service_phase(&end)) {
        case SERVICE_PHASE_GONE:
                snprintf(buf, sizeof(buf), "systemd no longer knows %s, so how it ended cannot be known", job->unit);
                exec_job_finish(job, job->resumed ? EXEC_UNKNOWN : EXEC_FAILED, 0, -1, "%s", buf);
                return 0;

        case SERVICE_PHASE_PENDING:
                if (job->start_job_failed) {
                        snprintf(buf, sizeof(buf), "%s did not start: start job %s", job->unit,
                                 strna(job->start_job_result));
                        transient_finish(job, EXEC_FAILED, 0, -1, buf);
                        return 0;
                }
                if (job->resumed && end.job_id == 0) {
                        snprintf(buf, sizeof(buf), "%s exists but never ran", job->unit);
                        transient_finish(job, EXEC_UNKNOWN, 0, -1, buf);
                        return 0;
                }
                _fallthrough_;
        case SERVICE_PHASE_RUNNING:
                if (job->query_again) {
                        job->query_again = false;
                        r = transient_query(job);
                        if (r < 0)
                                transient_finish(job, EXEC_FAILED, r, -1, "cannot read how the command ended");
                }
                return 0;

        case SERVICE_PHASE_ENDED:
        default:
                break;
        }
        if (streq_ptr(end.result, "success") && end.exit_timestamp == 0) {
                /* Stopped before its command ever ran. */
                snprintf(buf, sizeof(buf), "%s did not start: start job %s", job->unit,
                         job->start_job_failed ? strna(job->start_job_result) : "canceled");
                transient_finish(job, EXEC_FAILED, 0, -1, buf);
                return 0;
        }

        ExecOutcome o = exec_service_outcome(end.result, end.code, end.status, job->timeout, &exit_status, buf,
                                             sizeof(buf));
        /* A command that ran and failed has no errno behind it. */
        transient_finish(job, o, o == EXEC_TIMED_OUT ? -ETIME : 0, exit_status, buf);
        return 0;
}

static int transient_query(ExecJob *job) {
        if (job->query || job->timer) {
                job->query_again = true;
                return 0;
        }
        /* All interfaces at once: the Unit's states and the Service's exit. */
        return bus_queue_call_method(job->executor->calls, &job->query, SYSTEMD_BUS_NAME, job->unit_path,
                                        DBUS_PROPERTIES_IFACE, "GetAll", on_service_properties, job, "s", "");
}

static int on_unit_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        const char *state = NULL, *sub = NULL;
        int r;

        r = exec_properties_changed_string(m, SYSTEMD_UNIT_IFACE, "ActiveState", &state);
        if (r > 0 && !(streq(state, "inactive") || streq(state, "failed"))) {
                /* Still "active": it ended if it is "active (exited)". */
                (void) sd_bus_message_rewind(m, true);
                if (exec_properties_changed_string(m, SYSTEMD_UNIT_IFACE, "SubState", &sub) <= 0 ||
                    !streq(sub, "exited"))
                        return 0;
        } else if (r <= 0)
                return 0;
        r = transient_query(job);
        if (r < 0)
                transient_finish(job, EXEC_FAILED, r, -1, "cannot read how the command ended");
        return 0;
}

void exec_transient_job_removed(ExecJob *job, const char *result) {
        int r;

        job->job_path = mfree(job->job_path);
        if (streq(result, "done"))
                return;         /* running now; its end comes as a state change */

        /* The start job failed: the unit is (or is about to be) failed, and
         * its Result says why; read it now rather than wait for a state
         * change that may already have been sent. */
        job->start_job_failed = true;
        free(job->start_job_result);
        job->start_job_result = strdup(result);
        r = transient_query(job);
        if (r < 0)
                transient_finish(job, EXEC_FAILED, r, -1, "cannot read how the command ended");
}

static int on_start_transient_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        _cleanup_free_ char *removed = NULL;
        char buf[512], text[384];
        int r;

        job->call = bus_queue_call_free(job->call);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *error = sd_bus_message_get_error(m);
                snprintf(buf, sizeof(buf), "StartTransientUnit %s: %s", job->unit,
                         exec_bus_error_text(error, -EIO, text, sizeof(text)));
                /* Nothing was created: nothing to release. */
                exec_job_finish(job, EXEC_FAILED, sd_bus_error_get_errno(error) ?: EIO, -1, "%s", buf);
                return 0;
        }
        job->unit_started = true;

        r = exec_job_take_job_path(job, m, &removed);
        if (r < 0) {
                transient_finish(job, EXEC_FAILED, r, -1, "bad reply to StartTransientUnit");
                return 0;
        }
        if (removed)
                exec_transient_job_removed(job, removed);
        return 0;
}

static int on_backstop(sd_event_source *s, uint64_t usec, void *userdata) {
        ExecJob *job = userdata;
        char d[FORMAT_DURATION_MAX], buf[256];

        (void) bus_queue_call_method(job->executor->calls, NULL, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                        SYSTEMD_MANAGER_IFACE, "KillUnit", exec_ignore_reply, NULL, "ssi", job->unit, "all",
                                        (int32_t) SIGKILL);
        snprintf(buf, sizeof(buf), "timed out after %s; %s did not stop in time, killed it",
                 format_duration(d, job->timeout), job->unit);
        transient_finish(job, EXEC_TIMED_OUT, -ETIME, -1, buf);
        return 0;
}

static int transient_watch(ExecJob *job, const char *unit) {
        int r;

        job->transient = true;
        free(job->unit);
        job->unit = strdup(unit);
        if (!job->unit)
                return -ENOMEM;
        job->unit_path = mfree(job->unit_path);
        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH, job->unit, &job->unit_path);
        if (r < 0)
                return r;

        /* The executor's one PropertiesChanged match was installed before
         * any job, so the unit's end cannot be missed. */
        job->on_changed = on_unit_changed;
        return 0;
}

static int transient_arm_backstop(ExecJob *job, usec_t elapsed) {
        usec_t backstop;
        int r;

        if (job->timeout == USEC_INFINITY)
                return 0;
        backstop = job->timeout + EXEC_STOP_TIMEOUT_USEC + EXEC_BACKSTOP_GRACE_USEC;
        if (backstop < job->timeout)
                backstop = USEC_INFINITY - 1;
        /* Resumed: what is left, counted from the original start; at least
         * the grace period, so the unit's own outcome is read first. */
        backstop = backstop > elapsed ? backstop - elapsed : 0;
        if (elapsed > 0)
                backstop = MAX(backstop, EXEC_BACKSTOP_GRACE_USEC);
        r = sd_event_add_time_relative(job->executor->event, &job->backstop, CLOCK_MONOTONIC, backstop, 0,
                                       on_backstop, job);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(job->backstop, "exec-transient-backstop");
        return 0;
}

static int transient_start_spec(ExecJob *job, const ExecTransientSpec *spec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = job->executor->bus;
        int r;

        r = transient_watch(job, spec->unit);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                           "StartTransientUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", job->unit, "fail");
        if (r < 0)
                return r;
        r = append_properties(m, spec);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;

        /* Armed before the call goes out: once it has, the start cannot fail. */
        r = transient_arm_backstop(job, 0);
        if (r < 0)
                return r;

        r = bus_queue_call(job->executor->calls, &job->call, m, on_start_transient_reply, job, 0);
        if (r < 0)
                return r;
        exec_job_await_reply(job);
        return 0;
}

static int exec_start(ExecJob *job, const ExecRequest *req) {
        _cleanup_(exec_transient_spec_done) ExecTransientSpec spec = { .runtime_max = USEC_INFINITY };
        int r;

        if (!req->run_id || !*req->run_id)
                return -EINVAL;
        r = exec_transient_spec_build(req->run_id, req->step, req->attempt, job->timeout, &spec);
        if (r < 0)
                return r;
        return transient_start_spec(job, &spec);
}

int exec_transient_start_check(ExecJob *job, const char *run_id, const Step *step, unsigned attempt) {
        _cleanup_(exec_transient_spec_done) ExecTransientSpec spec = { .runtime_max = USEC_INFINITY };
        int r;

        r = exec_check_spec_build(run_id, step, attempt, &spec);
        if (r < 0)
                return r;
        return transient_start_spec(job, &spec);
}

int exec_transient_reattach(ExecJob *job, const char *unit, usec_t elapsed, exec_transient_end_cb on_end) {
        int r;

        r = transient_watch(job, unit);
        if (r < 0)
                return r;
        job->transient_end = on_end;
        job->unit_started = true;       /* as far as we know: cancelling stops it */
        r = transient_arm_backstop(job, MAX(elapsed, 1u));
        if (r < 0)
                return r;
        return transient_query(job);
}

static int exec_resume(ExecJob *job, const ExecRequest *req, usec_t elapsed) {
        _cleanup_free_ char *unit = NULL;
        int r;

        r = exec_unit_name(req->run_id, req->step->id, req->attempt, &unit);
        if (r < 0)
                return r;
        return exec_transient_reattach(job, unit, elapsed, NULL);
}

int exec_transient_spec_for(const ExecRequest *req, const char *suffix, char * const *argv, usec_t timeout,
                            ExecTransientSpec *ret) {
        _cleanup_(exec_transient_spec_done) ExecTransientSpec s = { .runtime_max = USEC_INFINITY };
        int r;

        if (!req || !req->run_id || !*req->run_id || !req->step || !argv || !argv[0] || !ret)
                return -EINVAL;
        r = spec_build_common(req->run_id, req->step, req->attempt, suffix, argv, timeout, &s);
        if (r < 0)
                return r;
        *ret = s;
        s = (ExecTransientSpec) { .runtime_max = USEC_INFINITY };
        return 0;
}

int exec_transient_run(ExecJob *job, const ExecTransientSpec *spec, exec_transient_end_cb on_end) {
        int r;

        if (job->transient)
                return -EBUSY;  /* release the last one first */
        r = transient_start_spec(job, spec);
        if (r < 0)
                return r;
        job->transient_end = on_end;
        return 0;
}

const ExecKindOps exec_kind_exec = {
        .start = exec_start,
        .resume = exec_resume,
};
