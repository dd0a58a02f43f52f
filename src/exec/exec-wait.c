/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* wait: until a unit reaches a state, or a path appears or vanishes, or
 * the step's timeout passes. Event-driven, never polled:
 *   unit  LoadUnit for the unit's object path (an alias has none of its
 *         own), a PropertiesChanged match on it, then one read of its
 *         ActiveState (the match goes out first, so a change between the
 *         two cannot be missed)
 *   path  inotify on the nearest existing ancestor of the path, moved
 *         down (or up) the tree as directories come and go, then one
 *         access() (again: watch first, look second)
 * The plan loader guarantees exactly one of with.unit and with.path, and
 * a timeout. */

#include <sys/inotify.h>
#include <sys/stat.h>

#include "exec-kind.h"

typedef struct WaitState {
        bool is_unit;                   /* with.unit; else with.path */
        const char *want_state;         /* unit: "active", "inactive" or "failed" */
        char *last_state;               /* unit: the ActiveState last seen */
        char *path;                     /* path: the path waited for */
        bool want_exists;
        char *watch_dir;                /* the nearest existing ancestor we watch */
        sd_event_source *inotify;
} WaitState;

#define W(job) ((WaitState *) (job)->state)

static const char *const unit_states[] = { "active", "inactive", "failed" };

static int on_wait_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        ExecJob *job = userdata;
        char d[FORMAT_DURATION_MAX];

        format_duration(d, job->timeout);
        if (W(job)->is_unit)
                exec_job_finish(job, EXEC_TIMED_OUT, -ETIME, -1, "%s not %s after %s (it is %s)", job->unit,
                                W(job)->want_state, d, W(job)->last_state ?: "of unknown state");
        else if (W(job)->want_exists)
                exec_job_finish(job, EXEC_TIMED_OUT, -ETIME, -1, "%s did not appear within %s", W(job)->path, d);
        else
                exec_job_finish(job, EXEC_TIMED_OUT, -ETIME, -1, "%s still exists after %s", W(job)->path, d);
        return 0;
}

/* ---- a unit's state ---- */

static void wait_unit_saw(ExecJob *job, const char *state) {
        char *s = strdup(state);

        if (s) {
                free(W(job)->last_state);
                W(job)->last_state = s;
        }
        if (exec_unit_state_is(state, W(job)->want_state))
                exec_job_finish(job, EXEC_SUCCEEDED, 0, -1, "%s is %s", job->unit, state);
}

static int on_wait_unit_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        const char *state;

        if (exec_properties_changed_string(m, SYSTEMD_UNIT_IFACE, "ActiveState", &state) > 0)
                wait_unit_saw(job, state);
        return 0;
}

static int on_wait_unit_state(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        const char *state;
        char buf[384];
        int r;

        job->query = bus_queue_call_free(job->query);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *error = sd_bus_message_get_error(m);
                exec_job_finish(job, EXEC_FAILED, sd_bus_error_get_errno(error) ?: EIO, -1,
                                "cannot read the state of %s: %s", job->unit,
                                exec_bus_error_text(error, -EIO, buf, sizeof(buf)));
                return 0;
        }
        r = exec_read_string_variant(m, &state);
        if (r < 0) {
                exec_job_finish(job, EXEC_FAILED, r, -1, "cannot read the state of %s: %s", job->unit,
                                strerror(-r));
                return 0;
        }
        wait_unit_saw(job, state);
        return 0;
}

/* Signals come from the unit's own object, which for an alias is not the
 * alias's path: ask systemd which object it is (LoadUnit also makes sure
 * it exists to be watched), then watch, then read. */
static int on_wait_unit_loaded(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        const char *path;
        char buf[384];
        int r;

        job->call = bus_queue_call_free(job->call);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *error = sd_bus_message_get_error(m);
                exec_job_finish(job, EXEC_FAILED, sd_bus_error_get_errno(error) ?: EIO, -1, "LoadUnit %s: %s",
                                job->unit, exec_bus_error_text(error, -EIO, buf, sizeof(buf)));
                return 0;
        }
        r = sd_bus_message_read(m, "o", &path);
        if (r >= 0) {
                free(job->unit_path);
                job->unit_path = strdup(path);
                if (!job->unit_path)
                        r = -ENOMEM;
        }
        if (r >= 0)
                job->on_changed = on_wait_unit_changed;         /* watch, then read */
        if (r >= 0)
                r = exec_get_active_state(job, job->unit_path, &job->query, on_wait_unit_state, job);
        if (r < 0)
                exec_job_finish(job, EXEC_FAILED, r, -1, "cannot watch %s: %s", job->unit, strerror(-r));
        return 0;
}

static int wait_unit_start(ExecJob *job, const char *unit, const char *state) {
        W(job)->is_unit = true;
        W(job)->want_state = unit_states[0];
        for (size_t i = 0; state && i < ELEMENTSOF(unit_states); i++)
                if (streq(state, unit_states[i]))
                        W(job)->want_state = unit_states[i];
        if (state && !streq(state, W(job)->want_state))
                return -EINVAL;

        job->unit = strdup(unit);
        if (!job->unit)
                return -ENOMEM;

        return bus_queue_call_method(job->executor->calls, &job->call, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                        SYSTEMD_MANAGER_IFACE, "LoadUnit", on_wait_unit_loaded, job, "s", unit);
}

/* ---- a path ---- */

static bool wait_path_reached(ExecJob *job) {
        return (access(W(job)->path, F_OK) >= 0) == W(job)->want_exists;
}

/* The nearest ancestor of path that exists ("/" at worst). */
static int nearest_existing_ancestor(const char *path, char **ret) {
        _cleanup_free_ char *p = strdup(path);
        char *slash;

        if (!p)
                return -ENOMEM;
        for (;;) {
                slash = strrchr(p, '/');
                if (!slash)
                        return -EINVAL;         /* not absolute */
                if (slash == p) {
                        p[1] = 0;
                        break;
                }
                *slash = 0;
                if (access(p, F_OK) >= 0)
                        break;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

static int on_path_event(sd_event_source *s, const struct inotify_event *event, void *userdata);

/* Watches the nearest existing ancestor, if that is not what we watch
 * already. Called again after every event, since directories on the way
 * may have been created or removed. */
static int wait_path_watch(ExecJob *job) {
        _cleanup_free_ char *dir = NULL;
        int r;

        r = nearest_existing_ancestor(W(job)->path, &dir);
        if (r < 0)
                return r;
        if (W(job)->inotify && streq_ptr(dir, W(job)->watch_dir))
                return 0;

        W(job)->inotify = sd_event_source_disable_unref(W(job)->inotify);
        r = sd_event_add_inotify(job->executor->event, &W(job)->inotify, dir,
                                 IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE_SELF |
                                 IN_MOVE_SELF | IN_ATTRIB,
                                 on_path_event, job);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(W(job)->inotify, "exec-wait-path");
        free(W(job)->watch_dir);
        W(job)->watch_dir = TAKE_PTR(dir);
        return 0;
}

static void wait_path_finish(ExecJob *job) {
        exec_job_finish(job, EXEC_SUCCEEDED, 0, -1, W(job)->want_exists ? "%s exists" : "%s is gone", W(job)->path);
}

static int on_path_event(sd_event_source *s, const struct inotify_event *event, void *userdata) {
        ExecJob *job = userdata;
        int r;

        if (wait_path_reached(job)) {
                wait_path_finish(job);
                return 0;
        }
        r = wait_path_watch(job);
        if (r < 0) {
                exec_job_finish(job, EXEC_FAILED, r, -1, "cannot watch for %s: %s", W(job)->path, strerror(-r));
                return 0;
        }
        /* It may have appeared while the watch moved. */
        if (wait_path_reached(job))
                wait_path_finish(job);
        return 0;
}

static int wait_path_start(ExecJob *job, const char *path, bool exists) {
        int r;

        W(job)->is_unit = false;
        W(job)->want_exists = exists;
        W(job)->path = strdup(path);
        if (!W(job)->path)
                return -ENOMEM;
        if (path[0] != '/')
                return -EINVAL;

        r = wait_path_watch(job);
        if (r < 0)
                return r;
        if (wait_path_reached(job))
                return exec_job_finish_later(job, EXEC_SUCCEEDED, 0, -1, exists ? "%s exists" : "%s is gone", path);
        return 0;
}

static int wait_start(ExecJob *job, const ExecRequest *req) {
        const Step *step = req->step;
        const char *unit = step_get_string(step, "unit");
        const char *path = step_get_string(step, "path");
        const StepArg *exists = step_get_arg(step, "exists");
        int r;

        if (!!unit == !!path)
                return -EINVAL;

        r = exec_job_arm_timer(job, job->timeout, on_wait_timeout, "exec-wait-timeout");
        if (r < 0)
                return r;
        if (unit)
                return wait_unit_start(job, unit, step_get_string(step, "state"));
        return wait_path_start(job, path, exists ? exists->u != 0 : true);
}

/* Waiting twice is harmless: wait for what is left. */
static int wait_resume(ExecJob *job, const ExecRequest *req, usec_t elapsed) {
        exec_job_timeout_left(job, elapsed);
        return wait_start(job, req);
}

static void wait_disarm(ExecJob *job) {
        W(job)->inotify = sd_event_source_disable_unref(W(job)->inotify);
}

static void wait_done(ExecJob *job) {
        free(W(job)->last_state);
        free(W(job)->path);
        free(W(job)->watch_dir);
}

const ExecKindOps exec_kind_wait = {
        .state_size = sizeof(WaitState),
        .start = wait_start,
        .resume = wait_resume,
        .disarm = wait_disarm,
        .done = wait_done,
};
