/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* exec: the command runs as a transient service, salve-RUN-STEP-N.service,
 * so systemd owns the process: its cgroup, its sandbox, its output (the
 * journal, with SALVE_RUN=, SALVE_STEP= and SALVE_ATTEMPT= fields) and its
 * time limit (RuntimeMaxSec=).
 *
 * The unit is created with AddRef=yes and CollectMode=inactive-or-failed:
 * systemd keeps it, exit status and all, until we have read how it ended
 * and dropped our reference (Unref), and then collects it whether it
 * failed or not. Its end is seen as a PropertiesChanged of ActiveState to
 * inactive or failed, followed by one GetAll of the Service interface.
 * Type=exec makes a command that cannot be executed fail the start job,
 * which ends the step too.
 *
 * Time limits: systemd stops the service RuntimeMaxSec= after it started
 * (Result "timeout"). A backstop timer of our own, later by the stop
 * timeout and a grace period, covers a unit that never got that far or
 * never stopped: it kills the unit and reports the step timed out. */

#include <signal.h>
#include <sys/wait.h>

#include "executor-internal.h"

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

        r = exec_unit_name(run_id, step->id, attempt, &s.unit);
        if (r < 0)
                return r;
        if (asprintf(&s.description, "salve run %s, step %s, attempt %u", run_id, step->id, attempt) < 0) {
                s.description = NULL;
                return -ENOMEM;
        }
        r = strdup_or_null(command->strv[0], &s.exec_path);
        if (r >= 0)
                r = copy_strv(command->strv, &s.argv);
        environment = step_get_arg(step, "environment");
        if (r >= 0 && environment)
                r = copy_strv(environment->strv, &s.environment);
        if (r >= 0)
                r = strdup_or_null(step_get_string(step, "user"), &s.user);
        if (r >= 0)
                r = strdup_or_null(step_get_string(step, "working-directory"), &s.working_directory);
        if (r >= 0)
                r = strdup_or_null(step->id, &s.syslog_identifier);
        if (r < 0)
                return r;

        char field[256];
        snprintf(field, sizeof(field), "SALVE_RUN=%s", run_id);
        r = strv_extend(&s.log_extra_fields, field);
        snprintf(field, sizeof(field), "SALVE_STEP=%s", step->id);
        if (r >= 0)
                r = strv_extend(&s.log_extra_fields, field);
        snprintf(field, sizeof(field), "SALVE_ATTEMPT=%u", attempt);
        if (r >= 0)
                r = strv_extend(&s.log_extra_fields, field);
        if (r < 0)
                return r;

        s.runtime_max = timeout == 0 ? USEC_INFINITY : timeout;
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
            (r = append_bool(m, "RemainAfterExit", false)) < 0 ||
            (r = append_bool(m, "AddRef", true)) < 0 ||
            (r = append_string(m, "CollectMode", "inactive-or-failed")) < 0 ||
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

/* Fire and forget: nobody waits for these replies. */
static void transient_release(ExecJob *job, bool stop) {
        sd_bus *bus = job->executor->bus;

        if (stop)
                (void) sd_bus_call_method_async(bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                                SYSTEMD_MANAGER_IFACE, "StopUnit", NULL, NULL, "ss", job->unit,
                                                "replace");
        (void) sd_bus_call_method_async(bus, NULL, SYSTEMD_BUS_NAME, job->unit_path, SYSTEMD_UNIT_IFACE, "Unref",
                                        NULL, NULL, NULL);
}

void exec_transient_cancel(ExecJob *job) {
        if (job->slot_call || job->unit_started)
                transient_release(job, true);
}

static void transient_finish(ExecJob *job, ExecOutcome o, int error, int exit_status, const char *message) {
        transient_release(job, false);
        exec_job_finish(job, o, error, exit_status, "%s", message);
}

typedef struct ServiceEnd {
        const char *result;
        int32_t code, status;
        uint64_t exit_timestamp;
} ServiceEnd;

static int read_service_end(sd_bus_message *m, ServiceEnd *ret) {
        ServiceEnd s = {};
        const char *name;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (streq(name, "Result"))
                        r = sd_bus_message_read(m, "v", "s", &s.result);
                else if (streq(name, "ExecMainCode"))
                        r = sd_bus_message_read(m, "v", "i", &s.code);
                else if (streq(name, "ExecMainStatus"))
                        r = sd_bus_message_read(m, "v", "i", &s.status);
                else if (streq(name, "ExecMainExitTimestampMonotonic"))
                        r = sd_bus_message_read(m, "v", "t", &s.exit_timestamp);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

static int transient_query(ExecJob *job);

static int on_service_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        char buf[512];
        ServiceEnd end;
        int exit_status, r;

        job->slot_query = sd_bus_slot_unref(job->slot_query);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *error = sd_bus_message_get_error(m);
                char text[256];
                snprintf(buf, sizeof(buf), "cannot read how %s ended: %s", job->unit,
                         exec_bus_error_text(error, -EIO, text, sizeof(text)));
                transient_finish(job, EXEC_FAILED, sd_bus_error_get_errno(error) ?: EIO, -1, buf);
                return 0;
        }
        r = read_service_end(m, &end);
        if (r < 0) {
                snprintf(buf, sizeof(buf), "cannot read how %s ended: %s", job->unit, strerror(-r));
                transient_finish(job, EXEC_FAILED, r, -1, buf);
                return 0;
        }

        /* Inactive before it ever ran (the state a new unit starts in),
         * unless its start job already ended badly. */
        if (streq_ptr(end.result, "success") && end.exit_timestamp == 0 && !job->start_job_failed) {
                if (job->query_again) {
                        job->query_again = false;
                        r = transient_query(job);
                        if (r < 0)
                                transient_finish(job, EXEC_FAILED, r, -1, "cannot read how the command ended");
                }
                return 0;
        }
        if (streq_ptr(end.result, "success") && end.exit_timestamp == 0) {
                snprintf(buf, sizeof(buf), "%s did not start: start job %s", job->unit,
                         strna(job->start_job_result));
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
        if (job->slot_query) {
                job->query_again = true;
                return 0;
        }
        return sd_bus_call_method_async(job->executor->bus, &job->slot_query, SYSTEMD_BUS_NAME, job->unit_path,
                                        DBUS_PROPERTIES_IFACE, "GetAll", on_service_properties, job, "s",
                                        SYSTEMD_SERVICE_IFACE);
}

static int on_unit_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        const char *state;
        int r;

        r = exec_properties_changed_string(m, SYSTEMD_UNIT_IFACE, "ActiveState", &state);
        if (r <= 0 || !(streq(state, "inactive") || streq(state, "failed")))
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

        job->slot_call = sd_bus_slot_unref(job->slot_call);
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

        (void) sd_bus_call_method_async(job->executor->bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                        SYSTEMD_MANAGER_IFACE, "KillUnit", NULL, NULL, "ssi", job->unit, "all",
                                        (int32_t) SIGKILL);
        snprintf(buf, sizeof(buf), "timed out after %s; %s did not stop in time, killed it",
                 format_duration(d, job->timeout), job->unit);
        transient_finish(job, EXEC_TIMED_OUT, -ETIME, -1, buf);
        return 0;
}

int exec_transient_start(ExecJob *job, const char *run_id, const Step *step, unsigned attempt) {
        _cleanup_(exec_transient_spec_done) ExecTransientSpec spec = { .runtime_max = USEC_INFINITY };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = job->executor->bus;
        int r;

        r = exec_transient_spec_build(run_id, step, attempt, job->timeout, &spec);
        if (r < 0)
                return r;

        job->type = EXEC_JOB_TRANSIENT;
        job->unit = TAKE_PTR(spec.unit);
        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH, job->unit, &job->unit_path);
        if (r < 0)
                return r;

        /* The match goes out before the unit exists, so its end cannot be
         * missed. */
        r = sd_bus_match_signal_async(bus, &job->slot_match, SYSTEMD_BUS_NAME, job->unit_path,
                                      DBUS_PROPERTIES_IFACE, "PropertiesChanged", on_unit_changed,
                                      exec_job_match_installed, job);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                           "StartTransientUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", job->unit, "fail");
        if (r < 0)
                return r;
        r = append_properties(m, &spec);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;

        /* Armed before the call goes out: once it has, the start cannot fail. */
        if (job->timeout != USEC_INFINITY) {
                usec_t backstop = job->timeout + EXEC_STOP_TIMEOUT_USEC + EXEC_BACKSTOP_GRACE_USEC;
                if (backstop < job->timeout)
                        backstop = USEC_INFINITY - 1;
                r = sd_event_add_time_relative(job->executor->event, &job->backstop, CLOCK_MONOTONIC, backstop, 0,
                                               on_backstop, job);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(job->backstop, "exec-transient-backstop");
        }

        r = sd_bus_call_async(bus, &job->slot_call, m, on_start_transient_reply, job, 0);
        if (r < 0)
                return r;
        exec_job_await_reply(job);
        return 0;
}
