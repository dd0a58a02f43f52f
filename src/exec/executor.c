/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The executor's core: the Executor object (its bus subscription and the
 * one JobRemoved match every unit job shares), the job life cycle, the
 * dispatch from step kind to the part that runs it, and `when:`
 * conditions. The kinds themselves live in exec-unit.c, exec-transient.c
 * and exec-wait.c.
 *
 * Nothing here logs and nothing blocks: failures go back to the caller as
 * a negative errno (could not begin) or as an ExecResult (ran and did not
 * succeed). */

#include <stdarg.h>

#include "exec-kind.h"

/* ---- outcome strings and unit names (pure) ---- */

static const char *const exec_outcome_table[_EXEC_OUTCOME_MAX] = {
        [EXEC_SUCCEEDED] = "succeeded",
        [EXEC_FAILED] = "failed",
        [EXEC_TIMED_OUT] = "timed-out",
        [EXEC_NOT_SUPPORTED] = "not-supported",
        [EXEC_UNKNOWN] = "unknown",
};

const char *exec_outcome_to_string(ExecOutcome o) {
        return o >= 0 && o < _EXEC_OUTCOME_MAX ? exec_outcome_table[o] : NULL;
}

static bool unit_name_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ':' || c == '_' || c == '.' || c == '-';
}

/* Appends s to buf at *off, escaping what systemd does not allow in a unit
 * name as \xNN (as systemd-escape does). */
static int append_escaped(char *buf, size_t size, size_t *off, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                size_t need = unit_name_char_ok((char) *p) ? 1 : 4;
                if (*off + need >= size)
                        return -ENAMETOOLONG;
                if (need == 1)
                        buf[(*off)++] = (char) *p;
                else
                        *off += (size_t) snprintf(buf + *off, size - *off, "\\x%02x", *p);
        }
        buf[*off] = 0;
        return 0;
}

int exec_unit_name(const char *run_id, const char *step_id, unsigned attempt, char **ret) {
        return exec_unit_name_full(run_id, step_id, attempt, NULL, ret);
}

int exec_unit_name_full(const char *run_id, const char *step_id, unsigned attempt, const char *suffix, char **ret) {
        char buf[EXEC_UNIT_NAME_MAX + 1], num[16];
        size_t off = 0;
        int r;

        if (!run_id || !*run_id || !step_id || !*step_id || !ret)
                return -EINVAL;

        snprintf(num, sizeof(num), "%u", attempt);
        buf[0] = 0;
        const char *parts[] = { "salve-", run_id, "-", step_id, "-", num, suffix ? "-" : "", strempty(suffix),
                                ".service" };
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                /* Our own separators and suffix are plain; only the ids are escaped. */
                r = append_escaped(buf, sizeof(buf), &off, parts[i]);
                if (r < 0)
                        return r;
        }

        char *s = strdup(buf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* ---- small bus helpers ---- */

int exec_ignore_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        return 0;
}

const char *exec_bus_error_text(const sd_bus_error *error, int r, char *buf, size_t size) {
        if (error && sd_bus_error_is_set(error)) {
                const char *msg = error->message;
                size_t n = msg ? strlen(msg) : 0;

                /* systemd ends its messages with '.'; we add the error name after. */
                while (n > 0 && (msg[n - 1] == '.' || msg[n - 1] == ' '))
                        n--;
                if (n > 0)
                        snprintf(buf, size, "%.*s (%s)", (int) n, msg, error->name);
                else
                        snprintf(buf, size, "%s", error->name);
        } else
                snprintf(buf, size, "%s", strerror(r < 0 ? -r : EIO));
        return buf;
}

int exec_read_string_variant(sd_bus_message *m, const char **ret) {
        return sd_bus_message_read(m, "v", "s", ret);
}

int exec_bus_map_properties(sd_bus_message *m, exec_property_cb cb, void *userdata) {
        const char *name;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = cb(m, name, userdata);
                if (r == 0)
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                if (r == EXEC_PROPERTY_STOP)
                        return 0;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

typedef struct StringProperty {
        const char *key;
        const char **ret;
        bool found;
} StringProperty;

static int map_one_string(sd_bus_message *m, const char *name, void *userdata) {
        StringProperty *p = userdata;
        int r;

        if (!streq(name, p->key))
                return 0;
        r = sd_bus_message_read(m, "v", "s", p->ret);
        if (r < 0)
                return r;
        p->found = true;
        return EXEC_PROPERTY_STOP;
}

int exec_properties_changed_string(sd_bus_message *m, const char *iface, const char *key, const char **ret) {
        StringProperty p = { .key = key, .ret = ret };
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (!streq(name, iface))
                return 0;
        r = exec_bus_map_properties(m, map_one_string, &p);
        return r < 0 ? r : p.found;
}

int exec_get_active_state(ExecJob *job, const char *unit_path, BusQueueCall **call,
                          sd_bus_message_handler_t handler, void *userdata) {
        return bus_queue_call_method(job->executor->calls, call, SYSTEMD_BUS_NAME, unit_path,
                                        DBUS_PROPERTIES_IFACE, "Get", handler, userdata, "ss",
                                        SYSTEMD_UNIT_IFACE, "ActiveState");
}

/* ---- job life cycle ---- */

int exec_job_new(Executor *e, const Step *step, exec_done_cb cb, void *userdata, ExecJob **ret) {
        ExecJob *job;

        job = calloc(1, sizeof(*job));
        if (!job)
                return -ENOMEM;
        job->executor = e;
        job->kind = step ? step->kind : _STEP_KIND_INVALID;
        job->cb = cb;
        job->userdata = userdata;
        job->timeout = USEC_INFINITY;
        if (step) {
                job->step_id = strdup(step->id);
                if (!job->step_id) {
                        free(job);
                        return -ENOMEM;
                }
        }

        job->next = e->jobs;
        if (e->jobs)
                e->jobs->prev = job;
        e->jobs = job;

        *ret = job;
        return 0;
}

static void executor_forget_removed_jobs(Executor *e) {
        for (size_t i = 0; i < EXEC_REMOVED_JOBS_MAX; i++) {
                e->removed[i].path = mfree(e->removed[i].path);
                e->removed[i].result = mfree(e->removed[i].result);
        }
        e->removed_next = 0;
}

void exec_job_stop_awaiting(ExecJob *job) {
        if (!job->awaiting_job)
                return;
        job->awaiting_job = false;
        if (--job->executor->n_awaiting_job == 0)
                /* Nobody can be overtaken by a JobRemoved any more. */
                executor_forget_removed_jobs(job->executor);
}

/* Drops every slot and source, so that no callback can reach the job. */
static void exec_job_disarm(ExecJob *job) {
        job->call = bus_queue_call_free(job->call);
        job->query = bus_queue_call_free(job->query);
        job->on_changed = NULL;
        for (size_t i = 0; i < job->n_checks; i++)
                job->checks[i].call = bus_queue_call_free(job->checks[i].call);
        if (job->ops && job->ops->disarm && job->state)
                job->ops->disarm(job);
        job->timer = sd_event_source_disable_unref(job->timer);
        job->backstop = sd_event_source_disable_unref(job->backstop);
        job->defer = sd_event_source_disable_unref(job->defer);
        exec_job_stop_awaiting(job);
}

ExecJob *exec_job_free(ExecJob *job) {
        Executor *e;

        if (!job)
                return NULL;
        e = job->executor;

        exec_job_disarm(job);
        if (job->prev)
                job->prev->next = job->next;
        else if (e->jobs == job)
                e->jobs = job->next;
        if (job->next)
                job->next->prev = job->prev;

        for (size_t i = 0; i < job->n_checks; i++) {
                free(job->checks[i].unit);
                free(job->checks[i].state);
                free(job->checks[i].error);
        }
        if (job->ops && job->ops->done && job->state)
                job->ops->done(job);
        if (job->ops && job->ops->state_size > 0)
                free(job->state);
        free(job->step_id);
        free(job->unit);
        free(job->unit_path);
        free(job->job_path);
        free(job->start_job_result);
        free(job->pending_message);
        free(job);
        return NULL;
}

static void exec_job_finishv(ExecJob *job, ExecOutcome outcome, int error, int exit_status, const char *format,
                             va_list ap) _printf_(5, 0);
static void exec_job_finishv(ExecJob *job, ExecOutcome outcome, int error, int exit_status, const char *format,
                             va_list ap) {
        char message[1024];
        ExecResult result = {
                .outcome = outcome,
                .error = error > 0 ? -error : error,
                .exit_status = exit_status,
                .message = message,
                .unit = job->transient && job->holds_result ? job->unit : NULL,
        };

        vsnprintf(message, sizeof(message), format, ap);
        exec_job_disarm(job);
        job->cb(job, &result, job->userdata);
        exec_job_free(job);
}

void exec_job_finish(ExecJob *job, ExecOutcome outcome, int error, int exit_status, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        exec_job_finishv(job, outcome, error, exit_status, format, ap);
        va_end(ap);
}

static int on_job_defer(sd_event_source *s, void *userdata) {
        ExecJob *job = userdata;

        exec_job_finish(job, job->pending_outcome, job->pending_error, job->pending_exit_status, "%s",
                        strempty(job->pending_message));
        return 0;
}

int exec_job_finish_later(ExecJob *job, ExecOutcome outcome, int error, int exit_status, const char *format,
                          ...) {
        va_list ap;
        int r;

        if (job->defer)
                return -EBUSY;

        va_start(ap, format);
        r = vasprintf(&job->pending_message, format, ap);
        va_end(ap);
        if (r < 0) {
                job->pending_message = NULL;
                return -ENOMEM;
        }
        job->pending_outcome = outcome;
        job->pending_error = error;
        job->pending_exit_status = exit_status;

        r = sd_event_add_defer(job->executor->event, &job->defer, on_job_defer, job);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(job->defer, "exec-job-result");
        return 0;
}

void exec_job_timeout_left(ExecJob *job, usec_t elapsed) {
        if (job->timeout != USEC_INFINITY)
                job->timeout = job->timeout > elapsed ? job->timeout - elapsed : 1;
}

int exec_job_arm_timer(ExecJob *job, usec_t usec, sd_event_time_handler_t handler, const char *description) {
        int r;

        if (usec == USEC_INFINITY)
                return 0;
        r = sd_event_add_time_relative(job->executor->event, &job->timer, CLOCK_MONOTONIC, usec, 0, handler,
                                       job);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(job->timer, description);
        return 0;
}

/* ---- systemd jobs: JobRemoved may overtake the method reply ---- */

void exec_job_await_reply(ExecJob *job) {
        if (job->awaiting_job)
                return;
        job->awaiting_job = true;
        job->executor->n_awaiting_job++;
}

static void executor_job_removed(Executor *e, const char *path, const char *result) {
        RemovedJob *slot;

        for (ExecJob *j = e->jobs; j; j = j->next) {
                if (!streq_ptr(j->job_path, path))
                        continue;
                if (j->transient)
                        exec_transient_job_removed(j, result);
                else if (j->ops && j->ops->job_removed)
                        j->ops->job_removed(j, result);
                return;
        }
        if (e->n_awaiting_job == 0)
                return;

        /* Remember it for a reply still on its way; the ring forgets the
         * oldest, and is emptied as soon as no reply is pending. */
        slot = e->removed + e->removed_next;
        e->removed_next = (e->removed_next + 1) % EXEC_REMOVED_JOBS_MAX;
        free(slot->path);
        free(slot->result);
        slot->path = strdup(path);
        slot->result = strdup(result);
        if (!slot->path || !slot->result) {
                slot->path = mfree(slot->path);
                slot->result = mfree(slot->result);
        }
}

int exec_job_take_job_path(ExecJob *job, sd_bus_message *m, char **ret_removed) {
        const char *path;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        return exec_job_take_job_path_string(job, path, ret_removed);
}

int exec_job_take_job_path_string(ExecJob *job, const char *path, char **ret_removed) {
        Executor *e = job->executor;

        free(job->job_path);
        job->job_path = strdup(path);
        if (!job->job_path)
                return -ENOMEM;

        *ret_removed = NULL;
        for (size_t i = 0; i < EXEC_REMOVED_JOBS_MAX; i++)
                if (streq_ptr(e->removed[i].path, path)) {
                        e->removed[i].path = mfree(e->removed[i].path);
                        *ret_removed = TAKE_PTR(e->removed[i].result);
                        break;
                }
        exec_job_stop_awaiting(job);
        return 0;
}

/* ---- the Executor ---- */

static int on_job_removed_installed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        /* Without an install callback sd-bus would close the whole
         * connection when the bus refuses the match. Without the match,
         * unit jobs end by their timeouts; there is nobody to tell here. */
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Executor *e = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;       /* not systemd's signature: not ours to judge */
        executor_job_removed(e, path, result);
        return 0;
}

static int on_subscribe_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        /* Nothing to do: without the subscription systemd would not send the
         * signals, and jobs would end by their timeouts. Errors have nobody
         * to go to at this point, the caller learns of a broken bus soon
         * enough from its own calls. */
        return 0;
}

/* One match for the PropertiesChanged of every unit, installed before
 * any job exists, so no job's unit can change unseen; each signal goes to
 * the jobs watching that unit's path. A callback may finish (free) other
 * jobs, so each is looked up again before it is called. */
static bool executor_has_job(Executor *e, ExecJob *job) {
        for (ExecJob *j = e->jobs; j; j = j->next)
                if (j == job)
                        return true;
        return false;
}

static int on_unit_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Executor *e = userdata;
        const char *path = sd_bus_message_get_path(m);
        _cleanup_free_ ExecJob **targets = NULL;
        size_t n = 0, max = 0;

        if (!path)
                return 0;
        for (ExecJob *j = e->jobs; j; j = j->next) {
                if (!j->on_changed || !streq_ptr(j->unit_path, path))
                        continue;
                if (n == max) {
                        ExecJob **t = reallocarray(targets, MAX(max * 2, 4u), sizeof(ExecJob *));
                        if (!t)
                                break;  /* out of memory: the others still get it */
                        targets = t;
                        max = MAX(max * 2, 4u);
                }
                targets[n++] = j;
        }
        for (size_t i = 0; i < n; i++) {
                if (!executor_has_job(e, targets[i]) || !targets[i]->on_changed)
                        continue;
                if (sd_bus_message_rewind(m, true) < 0)
                        return 0;
                (void) targets[i]->on_changed(m, targets[i], ret_error);
        }
        return 0;
}

int executor_new(sd_event *event, sd_bus *bus, BusQueue *calls, Executor **ret) {
        _cleanup_(executor_freep) Executor *e = NULL;
        int r;

        if (!event || !bus || !ret)
                return -EINVAL;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->event = sd_event_ref(event);
        e->bus = sd_bus_ref(bus);
        if (!calls) {
                r = bus_queue_new(bus, EXEC_CALLS_MAX_DEFAULT, &e->own_calls);
                if (r < 0)
                        return r;
                calls = e->own_calls;
        }
        e->calls = calls;

        /* The matches go out before any job's method call, so no JobRemoved
         * and no unit change can slip past them. */
        r = sd_bus_match_signal_async(bus, &e->slot_job_removed, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                      SYSTEMD_MANAGER_IFACE, "JobRemoved", on_job_removed,
                                      on_job_removed_installed, e);
        if (r < 0)
                return r;
        (void) sd_bus_slot_set_description(e->slot_job_removed, "exec-job-removed");
        r = sd_bus_add_match_async(bus, &e->slot_unit_changed,
                                   "type='signal',sender='" SYSTEMD_BUS_NAME "',interface='" DBUS_PROPERTIES_IFACE
                                   "',member='PropertiesChanged',path_namespace='" SYSTEMD_UNIT_PATH "'",
                                   on_unit_properties_changed, on_job_removed_installed, e);
        if (r < 0)
                return r;
        (void) sd_bus_slot_set_description(e->slot_unit_changed, "exec-unit-changed");

        r = bus_queue_call_method(e->calls, NULL, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                  "Subscribe", on_subscribe_reply, e, NULL);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(e);
        return 0;
}

Executor *executor_free(Executor *e) {
        if (!e)
                return NULL;

        /* Jobs still running are dropped without their callbacks; their
         * transient units run on, and keep their results for the next
         * salved (RemainAfterExit=, CollectMode=inactive). */
        while (e->jobs)
                exec_job_free(e->jobs);
        executor_forget_removed_jobs(e);
        e->list_call = bus_queue_call_free(e->list_call);
        sd_bus_slot_unref(e->slot_job_removed);
        sd_bus_slot_unref(e->slot_unit_changed);
        bus_queue_free(e->own_calls);
        free(e->sysfs_root);
        free(e->devfs_root);
        sd_bus_unref(e->bus);
        sd_event_unref(e->event);
        return mfree(e);
}

/* Every kind this salve can run; NULL: not (the step fails, saying so). */
static const ExecKindOps *const kind_table[_STEP_KIND_MAX] = {
        [STEP_EXEC] = &exec_kind_exec,
        [STEP_UNIT_START] = &exec_kind_unit,
        [STEP_UNIT_STOP] = &exec_kind_unit,
        [STEP_UNIT_RESTART] = &exec_kind_unit,
        [STEP_UNIT_RESTART_DEPENDENTS] = &exec_kind_dependents,
        [STEP_WAIT] = &exec_kind_wait,
        [STEP_SNAPSHOT] = &exec_kind_snapshot,
        [STEP_BACKUP_VERIFY] = &exec_kind_backup_verify,
        [STEP_RAID_WAIT_SYNC] = &exec_kind_raid_wait_sync,
        [STEP_RAID_CHECK] = &exec_kind_raid_check,
        [STEP_FS_CHECK] = &exec_kind_fs_check,
        [STEP_FS_MOUNT] = &exec_kind_fs_mount,
};

const ExecKindOps *exec_kind_ops(StepKind k) {
        if (k < 0 || k >= _STEP_KIND_MAX)
                return NULL;
        return kind_table[k];
}

static int exec_job_new_for_kind(Executor *e, const Step *step, usec_t timeout, exec_done_cb cb, void *userdata,
                                 ExecJob **ret) {
        _cleanup_(exec_job_freep) ExecJob *job = NULL;
        int r;

        r = exec_job_new(e, step, cb, userdata, &job);
        if (r < 0)
                return r;
        job->timeout = timeout == 0 ? USEC_INFINITY : timeout;
        job->ops = exec_kind_ops(step->kind);
        if (job->ops && job->ops->state_size > 0) {
                job->state = calloc(1, job->ops->state_size);
                if (!job->state)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(job);
        return 0;
}

int executor_start(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                   exec_done_cb cb, void *userdata, ExecJob **ret_job) {
        _cleanup_(exec_job_freep) ExecJob *job = NULL;
        const ExecRequest req = { .run_id = run_id, .step = step, .attempt = attempt };
        int r;

        if (!e || !step || !cb || !ret_job)
                return -EINVAL;
        if (step_kind_is_human(step->kind) || step->kind < 0 || step->kind >= _STEP_KIND_MAX)
                return -EINVAL;

        r = exec_job_new_for_kind(e, step, timeout, cb, userdata, &job);
        if (r < 0)
                return r;
        if (job->ops)
                r = job->ops->start(job, &req);
        else
                r = exec_job_finish_later(job, EXEC_NOT_SUPPORTED, -EOPNOTSUPP, -1,
                                          "%s steps are not implemented yet", step_kind_to_string(step->kind));
        if (r < 0)
                return r;

        *ret_job = TAKE_PTR(job);
        return 0;
}

int executor_resume(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                    usec_t started, exec_done_cb cb, void *userdata, ExecJob **ret_job) {
        _cleanup_(exec_job_freep) ExecJob *job = NULL;
        const ExecRequest req = { .run_id = run_id, .step = step, .attempt = attempt };
        usec_t now = now_usec(CLOCK_REALTIME), elapsed;
        int r;

        if (!e || !step || !cb || !ret_job || !run_id || !*run_id)
                return -EINVAL;
        if (step_kind_is_human(step->kind) || step->kind < 0 || step->kind >= _STEP_KIND_MAX)
                return -EINVAL;

        r = exec_job_new_for_kind(e, step, timeout, cb, userdata, &job);
        if (r < 0)
                return r;
        job->resumed = true;
        elapsed = started > 0 && now > started ? now - started : 0;

        if (job->ops && job->ops->resume)
                r = job->ops->resume(job, &req, elapsed);
        else
                r = exec_job_finish_later(job, EXEC_UNKNOWN, 0, -1, "salve cannot tell how a %s step ended",
                                          step_kind_to_string(step->kind));
        if (r < 0)
                return r;

        *ret_job = TAKE_PTR(job);
        return 0;
}

int executor_start_check(Executor *e, const char *run_id, const Step *step, unsigned attempt, exec_done_cb cb,
                         void *userdata, ExecJob **ret_job) {
        _cleanup_(exec_job_freep) ExecJob *job = NULL;
        int r;

        if (!e || !step || !step->done_if || !cb || !ret_job || !run_id || !*run_id)
                return -EINVAL;

        r = exec_job_new(e, step, cb, userdata, &job);
        if (r < 0)
                return r;
        job->timeout = step->done_if_timeout;
        r = exec_transient_start_check(job, run_id, step, attempt);
        if (r < 0)
                return r;

        *ret_job = TAKE_PTR(job);
        return 0;
}

void executor_release_unit(Executor *e, const char *unit) {
        if (!e || !unit)
                return;
        /* Fire and forget. A failed unit is reset, and systemd collects it
         * (a stop job first would leave it failed: the reset would come
         * before the job ran); one that is active (exited), or still
         * running, is then stopped, and collected once inactive. */
        (void) bus_queue_call_method(e->calls, NULL, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                     "ResetFailedUnit", exec_ignore_reply, NULL, "s", unit);
        (void) bus_queue_call_method(e->calls, NULL, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                     "StopUnit", exec_ignore_reply, NULL, "ss", unit, "replace");
}

static int on_list_units(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Executor *e = userdata;
        exec_units_cb cb = e->list_cb;
        void *cb_userdata = e->list_userdata;
        _cleanup_strv_free_ char **units = NULL;
        const char *name, *load, *active, *sub;
        int r;

        e->list_call = bus_queue_call_free(e->list_call);
        e->list_cb = NULL;
        if (sd_bus_message_is_method_error(m, NULL)) {
                cb(-(sd_bus_error_get_errno(sd_bus_message_get_error(m)) ?: EIO), NULL, cb_userdata);
                return 0;
        }
        r = sd_bus_message_enter_container(m, 'a', "(ssssssouso)");
        while (r >= 0 && (r = sd_bus_message_read(m, "(ssssssouso)", &name, NULL, &load, &active, &sub, NULL, NULL,
                                                  NULL, NULL, NULL)) > 0) {
                _cleanup_free_ char *line = NULL;
                if (asprintf(&line, "%s %s %s", name, active, sub) < 0)
                        r = -ENOMEM;
                else
                        r = strv_extend(&units, line);
        }
        if (r >= 0 && !units && !(units = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        cb(r < 0 ? r : 0, r < 0 ? NULL : units, cb_userdata);
        return 0;
}

int executor_list_units(Executor *e, const char *pattern, exec_units_cb cb, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!e || !pattern || !cb)
                return -EINVAL;
        if (e->list_call)
                return -EBUSY;

        r = sd_bus_message_new_method_call(e->bus, &m, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                           "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, NULL);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) STRV_MAKE_CONST(pattern));
        if (r >= 0)
                r = bus_queue_call(e->calls, &e->list_call, m, on_list_units, e, 0);
        if (r < 0)
                return r;
        e->list_cb = cb;
        e->list_userdata = userdata;
        return 0;
}

bool exec_job_owns_unit(const ExecJob *job, const char *unit) {
        return job && job->transient && streq_ptr(job->unit, unit);
}

void exec_job_cancel(ExecJob *job) {
        if (!job)
                return;
        if (job->ops && job->ops->cancel)
                job->ops->cancel(job);
        if (job->transient)
                exec_transient_cancel(job);
        exec_job_free(job);
}

/* ---- `when:` conditions ---- */

/* Unit states are compared exactly, except that a reloading unit is
 * active: "inactive" does not include "failed", so a plan can tell a unit
 * that was stopped from one that broke. */
bool exec_unit_state_is(const char *state, const char *want) {
        if (!state)
                return false;
        if (streq(want, "active"))
                return streq(state, "active") || streq(state, "reloading");
        return streq(state, want);
}

static void condition_evaluate(ExecJob *job) {
        for (size_t i = 0; i < job->n_checks; i++) {
                ConditionUnitCheck *c = job->checks + i;
                if (!c->state) {
                        exec_job_finish(job, EXEC_FAILED, -EIO, -1, "when.%s: cannot read the state of %s: %s",
                                        c->key, c->unit, strna(c->error));
                        return;
                }
                if (!exec_unit_state_is(c->state, c->want)) {
                        exec_job_finish(job, EXEC_FAILED, 0, -1, "when.%s: %s is %s, not %s", c->key, c->unit,
                                        c->state, c->want);
                        return;
                }
        }
        exec_job_finish(job, EXEC_SUCCEEDED, 0, -1, "all conditions hold");
}

static int on_condition_state(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ConditionUnitCheck *c = userdata;
        ExecJob *job = c->job;
        const char *state;
        char buf[256];
        int r;

        c->call = bus_queue_call_free(c->call);
        if (sd_bus_message_is_method_error(m, NULL))
                c->error = strdup(exec_bus_error_text(sd_bus_message_get_error(m), -EIO, buf, sizeof(buf)));
        else if ((r = exec_read_string_variant(m, &state)) < 0)
                c->error = strdup(exec_bus_error_text(NULL, r, buf, sizeof(buf)));
        else
                c->state = strdup(state);
        if (!c->state && !c->error) {
                exec_job_finish(job, EXEC_FAILED, -ENOMEM, -1, "when.%s: out of memory", c->key);
                return 0;
        }

        if (--job->n_checks_pending == 0)
                condition_evaluate(job);
        return 0;
}

static int condition_add_unit(ExecJob *job, const char *key, const char *want, const char *unit) {
        _cleanup_free_ char *path = NULL;
        ConditionUnitCheck *c;
        int r;

        if (!unit)
                return 0;
        if (job->n_checks >= EXEC_CONDITION_UNITS_MAX)
                return -E2BIG;

        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH, unit, &path);
        if (r < 0)
                return r;
        c = job->checks + job->n_checks;
        *c = (ConditionUnitCheck) { .job = job, .key = key, .want = want };
        c->unit = strdup(unit);
        if (!c->unit)
                return -ENOMEM;
        job->n_checks++;

        r = exec_get_active_state(job, path, &c->call, on_condition_state, c);
        if (r < 0)
                return r;
        job->n_checks_pending++;
        return 0;
}

int executor_check_condition(Executor *e, const Condition *c, const char *trigger, exec_done_cb cb,
                             void *userdata, ExecJob **ret_job) {
        _cleanup_(exec_job_freep) ExecJob *job = NULL;
        int r;

        if (!e || !c || !cb || !ret_job)
                return -EINVAL;

        r = exec_job_new(e, NULL, cb, userdata, &job);
        if (r < 0)
                return r;

        /* The cheap local checks first; only if they hold ask systemd. */
        if (!c->present)
                r = exec_job_finish_later(job, EXEC_SUCCEEDED, 0, -1, "no conditions");
        else if (c->trigger && !strv_contains(c->trigger, strempty(trigger))) {
                _cleanup_free_ char *l = strv_join(c->trigger, ", ");
                r = exec_job_finish_later(job, EXEC_FAILED, 0, -1, "when.trigger: the run was triggered by %s, not %s",
                                          trigger ?: "nothing", strna(l));
        } else if (c->path_exists && access(c->path_exists, F_OK) < 0)
                r = exec_job_finish_later(job, EXEC_FAILED, -errno, -1, "when.path-exists: %s: %s", c->path_exists,
                                          strerror(errno));
        else if (c->path_missing && access(c->path_missing, F_OK) >= 0)
                r = exec_job_finish_later(job, EXEC_FAILED, 0, -1, "when.path-missing: %s exists", c->path_missing);
        else {
                r = condition_add_unit(job, "unit-active", "active", c->unit_active);
                if (r >= 0)
                        r = condition_add_unit(job, "unit-inactive", "inactive", c->unit_inactive);
                if (r >= 0)
                        r = condition_add_unit(job, "unit-failed", "failed", c->unit_failed);
                if (r >= 0 && job->n_checks == 0)
                        r = exec_job_finish_later(job, EXEC_SUCCEEDED, 0, -1, "all conditions hold");
        }
        if (r < 0)
                return r;

        *ret_job = TAKE_PTR(job);
        return 0;
}

void executor_set_progress_handler(Executor *e, exec_progress_cb cb, void *userdata) {
        if (!e)
                return;
        e->progress_cb = cb;
        e->progress_userdata = userdata;
}

int executor_set_roots(Executor *e, const char *sysfs, const char *devfs) {
        char *s = NULL, *d = NULL;

        if (!e)
                return -EINVAL;
        if ((sysfs && !(s = strdup(sysfs))) || (devfs && !(d = strdup(devfs)))) {
                free(s);
                return -ENOMEM;
        }
        free(e->sysfs_root);
        free(e->devfs_root);
        e->sysfs_root = s;
        e->devfs_root = d;
        return 0;
}

void exec_job_report_progress(ExecJob *job, const ExecProgress *p) {
        Executor *e = job->executor;

        if (e->progress_cb)
                e->progress_cb(job, p, job->userdata, e->progress_userdata);
}

const ExecutorOps executor_systemd_ops = {
        .start = executor_start,
        .resume = executor_resume,
        .start_check = executor_start_check,
        .check_condition = executor_check_condition,
        .release_unit = executor_release_unit,
        .list_units = executor_list_units,
        .job_cancel = exec_job_cancel,
        .job_owns_unit = exec_job_owns_unit,
        .free = executor_free,
        .set_progress_handler = executor_set_progress_handler,
};
