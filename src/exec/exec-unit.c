/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unit.start, unit.stop, unit.restart: one systemd job each. The method
 * call returns the job's object path; the job's end comes as a JobRemoved
 * signal on the executor's shared match, found by that path. "done" is
 * followed by one read of the unit's ActiveState, because a job can be
 * done while the unit it started has already failed again.
 *
 * JobRemoved can overtake the method reply (the job may finish before we
 * have read the reply that names it); executor.c remembers such jobs
 * while any reply is pending, and exec_job_take_job_path() looks there. */

#include "exec-kind.h"

typedef struct UnitJobState {
        const char *mode;       /* job mode (static, or owned by the plan) */
} UnitJobState;

static const char *unit_job_method(StepKind k) {
        switch (k) {
        case STEP_UNIT_START:
                return "StartUnit";
        case STEP_UNIT_STOP:
                return "StopUnit";
        case STEP_UNIT_RESTART:
                return "RestartUnit";
        default:
                return NULL;
        }
}

static const char *unit_job_verb(StepKind k) {
        switch (k) {
        case STEP_UNIT_START:
                return "start";
        case STEP_UNIT_STOP:
                return "stop";
        case STEP_UNIT_RESTART:
                return "restart";
        default:
                return "unit";
        }
}

ExecOutcome exec_unit_job_outcome(StepKind kind, const char *job_result, const char *active_state, char *buf,
                                  size_t size) {
        static const struct {
                const char *result;
                const char *why;
        } failures[] = {
                { "canceled", "was canceled" },
                { "timeout", "timed out (the unit's JobTimeoutSec=)" },
                { "failed", "failed" },
                { "dependency", "failed: a dependency failed" },
                { "invalid", "is not applicable to the unit" },
                { "assert", "failed: an Assert*= of the unit does not hold" },
                { "unsupported", "is not supported by the unit's type" },
                { "collected", "was collected before it finished" },
                { "once", "failed: the unit may only be started once" },
        };
        const char *verb = unit_job_verb(kind);

        if (streq_ptr(job_result, "done")) {
                if (!active_state) {
                        snprintf(buf, size, "%s job done", verb);
                        return EXEC_SUCCEEDED;
                }
                if (kind != STEP_UNIT_STOP && streq(active_state, "failed")) {
                        snprintf(buf, size, "%s job done, but the unit failed", verb);
                        return EXEC_FAILED;
                }
                if (kind == STEP_UNIT_STOP && (streq(active_state, "active") || streq(active_state, "reloading"))) {
                        snprintf(buf, size, "stop job done, but the unit is %s again", active_state);
                        return EXEC_FAILED;
                }
                snprintf(buf, size, "%s job done, unit %s", verb, active_state);
                return EXEC_SUCCEEDED;
        }
        if (streq_ptr(job_result, "skipped")) {
                snprintf(buf, size, "%s job skipped: nothing to do in the unit's state", verb);
                return EXEC_SUCCEEDED;
        }
        for (size_t i = 0; i < ELEMENTSOF(failures); i++)
                if (streq_ptr(job_result, failures[i].result)) {
                        snprintf(buf, size, "%s job %s", verb, failures[i].why);
                        return EXEC_FAILED;
                }
        snprintf(buf, size, "%s job ended with result \"%s\"", verb, strna(job_result));
        return EXEC_FAILED;
}

static void unit_job_finish(ExecJob *job, const char *job_result, const char *active_state) {
        char msg[256];
        ExecOutcome o = exec_unit_job_outcome(job->kind, job_result, active_state, msg, sizeof(msg));

        /* A job that ran and failed has no errno behind it; the unit's
         * journal says why. */
        if (o == EXEC_FAILED && !streq_ptr(job_result, "done") && job->kind != STEP_UNIT_STOP)
                exec_job_finish(job, o, 0, -1, "%s: %s (see journalctl -u %s)", job->unit, msg, job->unit);
        else
                exec_job_finish(job, o, 0, -1, "%s: %s", job->unit, msg);
}

static int on_unit_state(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        const char *state = NULL;

        job->query = bus_queue_call_free(job->query);
        /* If the state cannot be read, the job's "done" still stands. */
        if (!sd_bus_message_is_method_error(m, NULL) && exec_read_string_variant(m, &state) < 0)
                state = NULL;
        unit_job_finish(job, "done", state);
        return 0;
}

static void unit_job_removed(ExecJob *job, const char *result) {
        int r;

        job->job_path = mfree(job->job_path);

        if (!streq(result, "done")) {
                unit_job_finish(job, result, NULL);
                return;
        }
        r = exec_get_active_state(job, job->unit_path, &job->query, on_unit_state, job);
        if (r < 0)
                unit_job_finish(job, "done", NULL);
}

static int on_unit_job_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        _cleanup_free_ char *removed = NULL;
        char buf[512];
        int r;

        job->call = bus_queue_call_free(job->call);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *error = sd_bus_message_get_error(m);
                exec_job_finish(job, EXEC_FAILED, sd_bus_error_get_errno(error) ?: EIO, -1, "%s %s: %s",
                                unit_job_method(job->kind), job->unit,
                                exec_bus_error_text(error, -EIO, buf, sizeof(buf)));
                return 0;
        }

        r = exec_job_take_job_path(job, m, &removed);
        if (r < 0) {
                exec_job_finish(job, EXEC_FAILED, r, -1, "%s %s: bad reply: %s", unit_job_method(job->kind),
                                job->unit, strerror(-r));
                return 0;
        }
        if (removed)
                unit_job_removed(job, removed);
        return 0;
}

static int on_unit_job_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        ExecJob *job = userdata;
        char buf[FORMAT_DURATION_MAX];

        /* The systemd job is left alone: it may still finish, and a retry
         * would merge with it rather than start over. */
        exec_job_finish(job, EXEC_TIMED_OUT, -ETIME, -1, "%s: %s job not finished after %s", job->unit,
                        unit_job_verb(job->kind), format_duration(buf, job->timeout));
        return 0;
}

static int unit_job_issue(ExecJob *job) {
        return bus_queue_call_method(job->executor->calls, &job->call, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                        SYSTEMD_MANAGER_IFACE, unit_job_method(job->kind), on_unit_job_reply, job,
                                        "ss", job->unit, ((UnitJobState *) job->state)->mode);
}

static int on_reset_failed_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        /* Whatever it answered (the unit was not failed, or does not exist),
         * the job itself reports what matters. */
        return 0;
}

static int unit_job_init(ExecJob *job, const Step *step) {
        const char *unit = step_get_string(step, "unit");

        if (!unit || !unit_job_method(step->kind))
                return -EINVAL;
        job->unit = strdup(unit);
        if (!job->unit)
                return -ENOMEM;
        return sd_bus_path_encode(SYSTEMD_UNIT_PATH, unit, &job->unit_path);
}

static int unit_job_start(ExecJob *job, const ExecRequest *req) {
        const Step *step = req->step;
        const char *unit = step_get_string(step, "unit");
        const char *mode = step_get_string(step, "mode") ?: "replace";
        int r;

        r = unit_job_init(job, step);
        if (r < 0)
                return r;

        r = exec_job_arm_timer(job, job->timeout, on_unit_job_timeout, "exec-unit-job-timeout");
        if (r < 0)
                return r;
        ((UnitJobState *) job->state)->mode = mode;
        /* A plan that starts a unit means it, as a runbook's "systemctl
         * reset-failed X; systemctl restart X" does: clear a failed state
         * and the start rate limit first. Both calls go at once, without
         * waiting for the first reply: the queue sends them in order, and
         * systemd handles one sender's calls in the order they come, so the
         * reset is done before the job is queued, a round trip sooner. The
         * reset is floating: its answer changes nothing. */
        if (step->kind == STEP_UNIT_START || step->kind == STEP_UNIT_RESTART) {
                r = bus_queue_call_method(job->executor->calls, NULL, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                          SYSTEMD_MANAGER_IFACE, "ResetFailedUnit", on_reset_failed_reply, NULL,
                                          "s", unit);
                if (r < 0)
                        return r;
        }
        r = unit_job_issue(job);
        if (r < 0)
                return r;
        exec_job_await_reply(job);
        return 0;
}

/* ---- after a restart ---- */

static int on_resume_state(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        const char *state = NULL;
        char msg[256];
        ExecOutcome o;

        job->query = bus_queue_call_free(job->query);
        if (sd_bus_message_is_method_error(m, NULL) || exec_read_string_variant(m, &state) < 0) {
                exec_job_finish(job, EXEC_UNKNOWN, 0, -1, "%s: cannot read the unit's state", job->unit);
                return 0;
        }
        /* No job left on the unit: judge the step by where the unit is now,
         * as its job's "done" would have been judged. */
        o = exec_unit_job_outcome(job->kind, "done", state, msg, sizeof(msg));
        exec_job_finish(job, o, 0, -1, "%s: %s (no job was pending when salved restarted)", job->unit, msg);
        return 0;
}

static int on_resume_job(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        _cleanup_free_ char *removed = NULL;
        const char *path = NULL;
        uint32_t id = 0;
        int r;

        job->call = bus_queue_call_free(job->call);
        if (!sd_bus_message_is_method_error(m, NULL) && sd_bus_message_read(m, "v", "(uo)", &id, &path) >= 0 &&
            id != 0) {
                /* Re-attach: its JobRemoved may already be in the ring. */
                r = exec_job_take_job_path_string(job, path, &removed);
                if (r < 0) {
                        exec_job_finish(job, EXEC_UNKNOWN, r, -1, "%s: cannot follow its job", job->unit);
                        return 0;
                }
                if (removed)
                        unit_job_removed(job, removed);
                return 0;
        }
        r = exec_get_active_state(job, job->unit_path, &job->query, on_resume_state, job);
        if (r < 0)
                exec_job_finish(job, EXEC_UNKNOWN, r, -1, "%s: cannot read the unit's state", job->unit);
        return 0;
}

static int unit_job_resume(ExecJob *job, const ExecRequest *req, usec_t elapsed) {
        const Step *step = req->step;
        int r;

        r = unit_job_init(job, step);
        if (r < 0)
                return r;
        exec_job_timeout_left(job, elapsed);
        r = exec_job_arm_timer(job, job->timeout, on_unit_job_timeout, "exec-unit-job-timeout");
        if (r < 0)
                return r;

        /* Which job, if any, the unit has now. Counted as awaiting a reply,
         * so a JobRemoved that overtakes the answer is remembered. */
        r = bus_queue_call_method(job->executor->calls, &job->call, SYSTEMD_BUS_NAME, job->unit_path,
                                     DBUS_PROPERTIES_IFACE, "Get", on_resume_job, job, "ss", SYSTEMD_UNIT_IFACE,
                                     "Job");
        if (r < 0)
                return r;
        exec_job_await_reply(job);
        return 0;
}

const ExecKindOps exec_kind_unit = {
        .state_size = sizeof(UnitJobState),
        .start = unit_job_start,
        .resume = unit_job_resume,
        .job_removed = unit_job_removed,
};
