/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unit.restart-dependents: after a unit came back, restart the units that
 * depend on it and did not come back with it, in systemd's order.
 *
 * One unit at a time, every call owned by the job (job->query for reads,
 * job->call for methods) and sent through the executor's bounded queue:
 *   1. the root: read it (GetAll of org.freedesktop.systemd1.Unit); a job
 *      on it: wait for that; down: ResetFailedUnit + StartUnit, wait; it
 *      must end up active (so the step alone is a whole remediation).
 *   2. the closure: breadth first over RequiredBy/BoundBy/WantedBy (as
 *      with.follow says), one read per unit, at most DEP_UNITS_MAX units.
 *   3. dependents.c chooses the units and their order.
 *   4. each unit's turn: read it again; a job systemd has queued on it
 *      (for example the try-restart systemd propagates along Requires=
 *      from a restart of the root): wait for it, read again; then done
 *      already (up since its providers came back), RestartUnit (up, but
 *      from before) or ResetFailedUnit + StartUnit (down), and wait for
 *      that job. Job mode "fail": a job someone else queued meanwhile (a
 *      stop an admin asked for, systemd's own restart) is never cancelled
 *      by ours; systemd refuses ours, and the unit is read again. Re-reading at the turn, not deciding up front, is what
 *      keeps the step from restarting a unit systemd has just restarted,
 *      including the ones systemd restarts because we restarted one of
 *      their providers a turn earlier.
 * Every systemd job is followed by its JobRemoved on the executor's shared
 * match; a JobRemoved that overtakes the read or reply naming the job is
 * kept in the executor's ring (exec_job_await_reply()).
 *
 * Resume: the step is run again from the start. Its choices are made from
 * systemd's state, not from anything it remembered, so a second run finds
 * what the first restarted up to date and restarts only what is still
 * stale or down. */

#include <stdarg.h>
#include <stddef.h>

#include "dependents.h"
#include "exec-kind.h"

#define SYSTEMD_ERROR_DESTRUCTIVE "org.freedesktop.systemd1.TransactionIsDestructive"

typedef enum DepPhase {
        DEP_PHASE_CLOSURE,      /* reading units for the closure */
        DEP_PHASE_TURN,         /* a unit's turn (the root's first) */
} DepPhase;

typedef struct ExecDependents ExecDependents;

struct ExecDependents {
        DepGraph graph;         /* the closure; each unit's outcome once its turn is over */
        DepPhase phase;
        size_t reading;         /* closure: the unit being read */
        size_t pos;             /* turn: position in graph.order */
        size_t current;         /* turn: the unit (0: the root) */
        unsigned reads;         /* turn: reads of the current unit */
        DepAction issued;       /* turn: the job we queued (RESTART/START), or DONE for none */
        char *job_result;       /* turn: the JobRemoved result of the job waited for */
        bool waited_systemd;    /* turn: we waited for a job systemd had queued */
        unsigned seq;
        unsigned bad_names;     /* invalid unit names systemd listed (ignored) */
        bool failed;
};

static ExecDependents *exec_dependents_free(ExecDependents *d) {
        if (!d)
                return NULL;
        dep_graph_done(&d->graph);
        free(d->job_result);
        return mfree(d);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecDependents *, exec_dependents_free);

static void dependents_job_removed(ExecJob *job, const char *result);

static DepUnit *unit_at(ExecJob *job, size_t i) {
        return ((ExecDependents *) job->state)->graph.units + i;
}

static const char *unit_name(ExecJob *job, size_t i) {
        return unit_at(job, i)->name;
}

/* ---- the message ---- */

static void dependents_describe(ExecJob *job, bool failures, DepMsg *m) {
        ExecDependents *d = ((ExecDependents *) job->state);

        dep_graph_describe(&d->graph, failures, m);
        if (d->bad_names > 0)
                dep_msg_add(m, "%signored %u invalid unit name%s systemd listed", m->off > 0 ? "; " : "",
                            d->bad_names, d->bad_names == 1 ? "" : "s");
}

static void dependents_finish(ExecJob *job) {
        ExecDependents *d = ((ExecDependents *) job->state);
        char follow[64];
        DepMsg m = {};

        /* Failures first: they are what a person must act on. */
        dependents_describe(job, true, &m);
        if (m.off == 0)
                dep_msg_add(&m, "no dependents of %s to restart (followed %s)", job->unit,
                            dep_follow_to_string(d->graph.follow, follow, sizeof(follow)));
        exec_job_finish(job, d->failed ? EXEC_FAILED : EXEC_SUCCEEDED, 0, -1, "%s", m.buf);
}

/* Before the closure is read, or when it cannot be: only a reason. */
static void dependents_fail(ExecJob *job, int error, const char *format, ...) _printf_(3, 4);
static void dependents_fail(ExecJob *job, int error, const char *format, ...) {
        char buf[768];
        va_list ap;

        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        exec_job_finish(job, EXEC_FAILED, error, -1, "%s", buf);
}

static int on_dependents_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        ExecJob *job = userdata;
        ExecDependents *d = ((ExecDependents *) job->state);
        char t[FORMAT_DURATION_MAX];
        DepMsg m = {};

        /* A systemd job of ours is left to finish, as unit.* steps do. */
        format_duration(t, job->timeout);
        if (d->phase == DEP_PHASE_CLOSURE) {
                exec_job_finish(job, EXEC_TIMED_OUT, -ETIME, -1, "not done after %s: still reading the dependents of %s",
                                t, job->unit);
                return 0;
        }
        dep_msg_add(&m, "not done after %s: at %s", t, unit_name(job, d->current));
        dependents_describe(job, true, &m);
        exec_job_finish(job, EXEC_TIMED_OUT, -ETIME, -1, "%s", m.buf);
        return 0;
}

/* ---- reading a unit ---- */

typedef struct UnitProps {
        char *id;
        DepState st;
        char **required_by, **bound_by, **wanted_by, **after;
} UnitProps;

static void unit_props_done(UnitProps *p) {
        p->id = mfree(p->id);
        dep_state_done(&p->st);
        p->required_by = strv_free(p->required_by);
        p->bound_by = strv_free(p->bound_by);
        p->wanted_by = strv_free(p->wanted_by);
        p->after = strv_free(p->after);
}

static int read_string_prop(sd_bus_message *m, char **ret) {
        const char *s;
        int r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        free(*ret);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int read_strv_prop(sd_bus_message *m, char ***ret) {
        int r = sd_bus_message_enter_container(m, 'v', "as");
        if (r < 0)
                return r;
        *ret = strv_free(*ret);
        r = sd_bus_message_read_strv(m, ret);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int map_unit_prop(sd_bus_message *m, const char *name, void *userdata) {
        static const struct {
                const char *name;
                size_t offset;
        } times[] = {
                { "ActiveEnterTimestampMonotonic", offsetof(DepState, active_enter) },
                { "ActiveExitTimestampMonotonic", offsetof(DepState, active_exit) },
                { "InactiveEnterTimestampMonotonic", offsetof(DepState, inactive_enter) },
                { "InactiveExitTimestampMonotonic", offsetof(DepState, inactive_exit) },
        };
        UnitProps *p = userdata;
        int r;

        if (streq(name, "Id"))
                r = read_string_prop(m, &p->id);
        else if (streq(name, "LoadState"))
                r = read_string_prop(m, &p->st.load_state);
        else if (streq(name, "ActiveState"))
                r = read_string_prop(m, &p->st.active_state);
        else if (streq(name, "UnitFileState"))
                r = read_string_prop(m, &p->st.unit_file_state);
        else if (streq(name, "RequiredBy"))
                r = read_strv_prop(m, &p->required_by);
        else if (streq(name, "BoundBy"))
                r = read_strv_prop(m, &p->bound_by);
        else if (streq(name, "WantedBy"))
                r = read_strv_prop(m, &p->wanted_by);
        else if (streq(name, "After"))
                r = read_strv_prop(m, &p->after);
        else if (streq(name, "Job")) {
                const char *path;
                uint32_t id;
                r = sd_bus_message_read(m, "v", "(uo)", &id, &path);
                if (r >= 0) {
                        p->st.job_id = id;
                        free(p->st.job_path);
                        p->st.job_path = id != 0 ? strdup(path) : NULL;
                        if (id != 0 && !p->st.job_path)
                                r = -ENOMEM;
                }
        } else {
                for (size_t i = 0; i < ELEMENTSOF(times); i++)
                        if (streq(name, times[i].name)) {
                                uint64_t t;
                                r = sd_bus_message_read(m, "v", "t", &t);
                                if (r >= 0)
                                        *(usec_t *) ((uint8_t *) &p->st + times[i].offset) = t;
                                return r < 0 ? r : 1;
                        }
                return 0;
        }
        return r < 0 ? r : 1;
}

/* A GetAll reply of org.freedesktop.systemd1.Unit. A property of the wrong
 * type fails the read (-EBADMSG from sd-bus): the reply is not systemd's. */
static int parse_unit_props(sd_bus_message *m, UnitProps *p) {
        int r;

        r = exec_bus_map_properties(m, map_unit_prop, p);
        if (r < 0)
                return r;
        if (!p->st.load_state || !p->st.active_state)
                return -EBADMSG;
        return 0;
}

static int on_unit_read(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

static int read_unit(ExecJob *job, size_t i) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH, unit_name(job, i), &path);
        if (r < 0)
                return r;
        /* At a turn the unit may have a job whose JobRemoved could come
         * before we have read its path: have the executor keep it. */
        if (((ExecDependents *) job->state)->phase == DEP_PHASE_TURN)
                exec_job_await_reply(job);
        return bus_queue_call_method(job->executor->calls, &job->query, SYSTEMD_BUS_NAME, path,
                                     DBUS_PROPERTIES_IFACE, "GetAll", on_unit_read, job, "s", SYSTEMD_UNIT_IFACE);
}

/* ---- the closure ---- */

static int add_dependent(const char *name, void *userdata) {
        ExecJob *job = userdata;
        ExecDependents *d = ((ExecDependents *) job->state);

        if (!unit_name_is_valid(name)) {
                d->bad_names++;
                return 0;
        }
        if (!dep_unit_name_is_followed(name) || streq(name, job->unit) || streq(name, unit_name(job, 0)))
                return 0;
        return dep_graph_add(&d->graph, name, NULL);
}

static void turn_next(ExecJob *job);

static void closure_done(ExecJob *job) {
        ExecDependents *d = ((ExecDependents *) job->state);
        _cleanup_free_ char *cycle = NULL;
        int r;

        r = dep_graph_link(&d->graph);
        if (r < 0) {
                dependents_fail(job, r, "cannot order the dependents of %s: %s", job->unit, strerror(-r));
                return;
        }
        dep_graph_select(&d->graph);
        r = dep_graph_order(&d->graph, &cycle);
        if (r == -ELOOP) {
                dependents_fail(job, r, "the dependents of %s to restart are ordered in a cycle (After=): %s; "
                                "nothing restarted", job->unit, strna(cycle));
                return;
        }
        if (r < 0) {
                dependents_fail(job, r, "cannot order the dependents of %s: %s", job->unit, strerror(-r));
                return;
        }
        for (size_t i = 1; i < d->graph.n; i++) {
                DepUnit *u = d->graph.units + i;
                dep_state_done(&u->st);
                if (dep_state_copy(&u->st0, &u->st) < 0) {
                        dependents_fail(job, -ENOMEM, "out of memory");
                        return;
                }
        }
        d->phase = DEP_PHASE_TURN;
        d->pos = 0;
        turn_next(job);
}

static void closure_read_next(ExecJob *job) {
        ExecDependents *d = ((ExecDependents *) job->state);
        int r;

        if (d->reading >= d->graph.n) {
                closure_done(job);
                return;
        }
        r = read_unit(job, d->reading);
        if (r < 0)
                dependents_fail(job, r, "cannot read %s: %s", unit_name(job, d->reading), strerror(-r));
}

static void closure_add_dependents_of(ExecJob *job, size_t i) {
        ExecDependents *d = ((ExecDependents *) job->state);
        char follow[64];
        int r;

        r = dep_unit_foreach_dependent(d->graph.units + i, d->graph.follow, add_dependent, job);
        if (r == -E2BIG) {
                dependents_fail(job, r, "%s has more than %zu dependents (followed %s); salve restarts at most %u",
                                job->unit, d->graph.n - 1, dep_follow_to_string(d->graph.follow, follow,
                                sizeof(follow)), DEP_UNITS_MAX);
                return;
        }
        if (r < 0) {
                dependents_fail(job, r, "cannot read the dependents of %s: %s", job->unit, strerror(-r));
                return;
        }
        d->reading = i + 1;
        closure_read_next(job);
}

static void closure_start(ExecJob *job) {
        ExecDependents *d = ((ExecDependents *) job->state);
        DepUnit *root = d->graph.units;

        /* The root as it is now, up again, is what the dependents are
         * judged against. */
        dep_state_done(&root->st0);
        if (dep_state_copy(&root->st, &root->st0) < 0) {
                dependents_fail(job, -ENOMEM, "out of memory");
                return;
        }
        d->phase = DEP_PHASE_CLOSURE;
        closure_add_dependents_of(job, 0);
}

/* ---- turns ---- */

static int issue_unit_job(ExecJob *job);

static void turn_fail(ExecJob *job, const char *format, ...) _printf_(2, 3);
static void turn_fail(ExecJob *job, const char *format, ...) {
        ExecDependents *d = ((ExecDependents *) job->state);
        DepUnit *r = unit_at(job, d->current);
        va_list ap;

        va_start(ap, format);
        free(r->detail);
        if (vasprintf(&r->detail, format, ap) < 0)
                r->detail = NULL;
        va_end(ap);
        r->outcome = DEP_OUT_FAILED;
        d->failed = true;
        if (d->current == 0) {
                /* Without the root there is nothing to restart against. */
                DepMsg m = {};
                dep_msg_add(&m, "%s did not come back (%s); no dependents restarted", job->unit, strna(r->detail));
                exec_job_finish(job, EXEC_FAILED, 0, -1, "%s", m.buf);
                return;
        }
        d->pos++;
        turn_next(job);
}

static void turn_settle(ExecJob *job, DepOutcome outcome) {
        ExecDependents *d = ((ExecDependents *) job->state);

        unit_at(job, d->current)->outcome = outcome;
        if (d->current == 0) {
                closure_start(job);
                return;
        }
        d->pos++;
        turn_next(job);
}

static void turn_begin(ExecJob *job, size_t i) {
        ExecDependents *d = ((ExecDependents *) job->state);
        int r;

        d->current = i;
        d->reads = 0;
        d->issued = DEP_ACTION_DONE;
        d->waited_systemd = false;
        d->job_result = mfree(d->job_result);
        r = read_unit(job, i);
        if (r < 0)
                turn_fail(job, "cannot read it: %s", strerror(-r));
}

static void turn_next(ExecJob *job) {
        ExecDependents *d = ((ExecDependents *) job->state);
        const DepGraph *g = &d->graph;

        for (; d->pos < g->n_order; d->pos++) {
                size_t i = g->order[d->pos];
                DepUnit *u = unit_at(job, i);
                bool blocked = false;

                /* What it needs must have come back. */
                for (size_t k = 0; k < u->n_providers && !blocked; k++) {
                        const DepUnit *p = unit_at(job, u->providers[k]);
                        if (p->outcome == DEP_OUT_FAILED || p->outcome == DEP_OUT_NOT_TRIED) {
                                u->outcome = DEP_OUT_NOT_TRIED;
                                u->blocker = u->providers[k];
                                blocked = true;
                        } else if (p->outcome == DEP_OUT_LEFT_ALONE) {
                                u->outcome = DEP_OUT_LEFT_ALONE;
                                u->why = DEP_REASON_NEEDS_LEFT_ALONE;
                                u->why_unit = (ssize_t) u->providers[k];
                                blocked = true;
                        }
                }
                if (blocked)
                        continue;
                turn_begin(job, i);
                return;
        }
        dependents_finish(job);
}

/* The latest read of the unit at its turn is in st: act on it. */
static void turn_decide(ExecJob *job) {
        ExecDependents *d = ((ExecDependents *) job->state);
        DepUnit *u = d->graph.units + d->current;
        DepAction a;
        int r;

        if (d->issued != DEP_ACTION_DONE && u->st.job_id == 0) {
                /* Our own job has ended: judge it like unit.start does. */
                DepOutcome o = d->issued == DEP_ACTION_RESTART ? DEP_OUT_RESTARTED : DEP_OUT_STARTED;
                if (!streq_ptr(d->job_result, "done"))
                        turn_fail(job, "%s job %s; see journalctl -u %s",
                                  d->issued == DEP_ACTION_RESTART ? "restart" : "start",
                                  streq_ptr(d->job_result, "dependency") ? "failed: a dependency failed" :
                                  streq_ptr(d->job_result, "timeout") ? "timed out" : strna(d->job_result),
                                  u->name);
                else if (streq_ptr(u->st.active_state, "failed"))
                        turn_fail(job, "job done, but the unit failed; see journalctl -u %s", u->name);
                else {
                        u->seq = ++d->seq;
                        turn_settle(job, o);
                }
                return;
        }

        if (d->current == 0) {
                /* The root is only ever started, never restarted here. */
                a = u->st.job_id != 0 ? DEP_ACTION_WAIT_JOB : dep_state_is_up(&u->st) ? DEP_ACTION_DONE
                                                                                     : DEP_ACTION_START;
        } else {
                if (d->waited_systemd && !dep_state_is_running(&u->st) && u->st.job_id == 0) {
                        /* systemd's job left it down: was that a stop
                         * someone asked for? Judge it again. */
                        DepReason why;
                        ssize_t other;
                        if (dep_unit_judge(&d->graph, d->current, &u->st, &why, &other) == DEP_LEFT_ALONE) {
                                u->why = why;
                                u->why_unit = other;
                                turn_settle(job, DEP_OUT_LEFT_ALONE);
                                return;
                        }
                }
                a = dep_unit_action(&d->graph, d->current);
        }

        switch (a) {
        case DEP_ACTION_DONE:
                turn_settle(job, d->waited_systemd ? DEP_OUT_SYSTEMD_JOB : DEP_OUT_UP_ALREADY);
                return;
        case DEP_ACTION_WAIT_JOB:
                /* The read made us await it; the job path takes its
                 * JobRemoved if that came first. */
                return;
        case DEP_ACTION_RESTART:
        case DEP_ACTION_START:
                if (d->issued != DEP_ACTION_DONE) {
                        turn_fail(job, "still %s after our job", strna(u->st.active_state));
                        return;
                }
                d->issued = a;
                free(u->was);
                u->was = strdup(strna(u->st.active_state));
                r = issue_unit_job(job);
                if (r < 0)
                        turn_fail(job, "cannot queue a job: %s", strerror(-r));
                return;
        }
}

static void turn_read(ExecJob *job, UnitProps *p) {
        ExecDependents *d = ((ExecDependents *) job->state);
        DepUnit *u = d->graph.units + d->current;
        _cleanup_free_ char *removed = NULL;
        int r;

        dep_state_done(&u->st);
        u->st = p->st;
        p->st = (DepState) {};
        if (d->current == 0) {
                /* The root's lists are what the closure starts from, and
                 * its own name (not an alias) is what they name. */
                if (p->id && unit_name_is_valid(p->id) && !streq(p->id, u->name)) {
                        free(u->name);
                        u->name = TAKE_PTR(p->id);
                }
                strv_free(u->required_by);
                strv_free(u->bound_by);
                strv_free(u->wanted_by);
                strv_free(u->after);
                u->required_by = TAKE_PTR(p->required_by);
                u->bound_by = TAKE_PTR(p->bound_by);
                u->wanted_by = TAKE_PTR(p->wanted_by);
                u->after = TAKE_PTR(p->after);
                u->read = true;
        }
        d->reads++;

        if (d->current == 0 && !streq_ptr(u->st.load_state, "loaded")) {
                exec_job_stop_awaiting(job);
                dependents_fail(job, -ENOENT, "%s is not loaded (%s); no dependents restarted", u->name,
                                strna(u->st.load_state));
                return;
        }
        if (u->st.job_id == 0) {
                exec_job_stop_awaiting(job);
                turn_decide(job);
                return;
        }

        /* A job on it: ours still running, or one systemd queued. */
        if (d->reads > DEP_TURN_READS_MAX) {
                exec_job_stop_awaiting(job);
                turn_fail(job, "systemd keeps queueing jobs on it");
                return;
        }
        if (d->issued == DEP_ACTION_DONE)
                d->waited_systemd = true;
        r = exec_job_take_job_path_string(job, u->st.job_path, &removed);
        if (r < 0) {
                turn_fail(job, "cannot follow its job: %s", strerror(-r));
                return;
        }
        if (removed)
                dependents_job_removed(job, removed);
}

static int on_unit_read(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        ExecDependents *d = ((ExecDependents *) job->state);
        _cleanup_(unit_props_done) UnitProps p = {};
        size_t i = d->phase == DEP_PHASE_CLOSURE ? d->reading : d->current;
        char buf[384];
        int r;

        job->query = bus_queue_call_free(job->query);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                exec_job_stop_awaiting(job);
                if (d->phase == DEP_PHASE_TURN)
                        turn_fail(job, "cannot read it: %s", exec_bus_error_text(e, -EIO, buf, sizeof(buf)));
                else
                        dependents_fail(job, sd_bus_error_get_errno(e) ?: EIO, "cannot read %s: %s",
                                        unit_name(job, i), exec_bus_error_text(e, -EIO, buf, sizeof(buf)));
                return 0;
        }
        r = parse_unit_props(m, &p);
        if (r < 0) {
                exec_job_stop_awaiting(job);
                if (d->phase == DEP_PHASE_TURN)
                        turn_fail(job, "bad reply from systemd: %s", strerror(-r));
                else
                        dependents_fail(job, r, "cannot read %s: bad reply from systemd: %s", unit_name(job, i),
                                        strerror(-r));
                return 0;
        }

        if (d->phase == DEP_PHASE_TURN) {
                turn_read(job, &p);
                return 0;
        }

        DepUnit *u = d->graph.units + i;
        u->st0 = p.st;
        p.st = (DepState) {};
        u->required_by = TAKE_PTR(p.required_by);
        u->bound_by = TAKE_PTR(p.bound_by);
        u->wanted_by = TAKE_PTR(p.wanted_by);
        u->after = TAKE_PTR(p.after);
        u->read = true;
        closure_add_dependents_of(job, i);
        return 0;
}

static void dependents_job_removed(ExecJob *job, const char *result) {
        ExecDependents *d = ((ExecDependents *) job->state);
        int r;

        job->job_path = mfree(job->job_path);
        free(d->job_result);
        d->job_result = strdup(result);
        if (!d->job_result) {
                turn_fail(job, "out of memory");
                return;
        }
        /* Look again: the job's end says little about the unit's state. */
        r = read_unit(job, d->current);
        if (r < 0)
                turn_fail(job, "cannot read it: %s", strerror(-r));
}

/* ---- our own jobs ---- */

static int on_unit_job_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        _cleanup_free_ char *removed = NULL;
        char buf[384];
        int r;

        job->call = bus_queue_call_free(job->call);
        if (sd_bus_message_is_method_error(m, NULL)) {
                ExecDependents *d = ((ExecDependents *) job->state);
                exec_job_stop_awaiting(job);
                if (sd_bus_message_is_method_error(m, SYSTEMD_ERROR_DESTRUCTIVE) && d->reads < DEP_TURN_READS_MAX) {
                        /* Someone queued a job that ours would have
                         * cancelled (job mode "fail"): look again, and
                         * wait for it if it is on this unit. */
                        d->issued = DEP_ACTION_DONE;
                        r = read_unit(job, d->current);
                        if (r < 0)
                                turn_fail(job, "cannot read it: %s", strerror(-r));
                        return 0;
                }
                turn_fail(job, "%s: %s", d->issued == DEP_ACTION_RESTART ? "RestartUnit" : "StartUnit",
                          exec_bus_error_text(sd_bus_message_get_error(m), -EIO, buf, sizeof(buf)));
                return 0;
        }
        r = exec_job_take_job_path(job, m, &removed);
        if (r < 0) {
                turn_fail(job, "bad reply from systemd: %s", strerror(-r));
                return 0;
        }
        if (removed)
                dependents_job_removed(job, removed);
        return 0;
}

static int send_unit_job(ExecJob *job) {
        ExecDependents *d = ((ExecDependents *) job->state);
        int r;

        r = bus_queue_call_method(job->executor->calls, &job->call, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                  SYSTEMD_MANAGER_IFACE, d->issued == DEP_ACTION_RESTART ? "RestartUnit" : "StartUnit",
                                  on_unit_job_reply, job, "ss", unit_name(job, d->current), "fail");
        if (r < 0)
                return r;
        exec_job_await_reply(job);
        return 0;
}

static int on_reset_failed_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        int r;

        /* Whatever it says (the unit was not failed), the job decides. */
        job->call = bus_queue_call_free(job->call);
        r = send_unit_job(job);
        if (r < 0)
                turn_fail(job, "cannot queue a job: %s", strerror(-r));
        return 0;
}

/* A unit that is down is reset first, as unit.start does: a failed state
 * or a start rate limit hit while its dependency was down must not keep
 * it down now. */
static int issue_unit_job(ExecJob *job) {
        ExecDependents *d = ((ExecDependents *) job->state);

        if (d->issued == DEP_ACTION_RESTART)
                return send_unit_job(job);
        return bus_queue_call_method(job->executor->calls, &job->call, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                     SYSTEMD_MANAGER_IFACE, "ResetFailedUnit", on_reset_failed_reply, job, "s",
                                     unit_name(job, d->current));
}

/* ---- start ---- */

static int dependents_start(ExecJob *job, const ExecRequest *req) {
        const Step *step = req->step;
        const char *unit = step_get_string(step, "unit");
        const StepArg *follow = step_get_arg(step, "follow");
        _cleanup_(exec_dependents_freep) ExecDependents *d = NULL;
        int r;

        if (!unit)
                return -EINVAL;
        /* A plan's ${trigger.unit} is expanded after the plan was checked:
         * say what came out, as a failed step, rather than not begin. */
        if (!unit_name_is_valid(unit))
                return exec_job_finish_later(job, EXEC_FAILED, -EINVAL, -1, "with.unit: \"%s\" is not a unit name",
                                             unit);
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        r = dep_follow_from_strv(follow ? follow->strv : NULL, &d->graph.follow);
        if (r < 0)
                return r;
        r = dep_graph_add(&d->graph, unit, NULL);
        if (r < 0)
                return r;

        job->unit = strdup(unit);
        if (!job->unit)
                return -ENOMEM;
        job->state = TAKE_PTR(d);

        r = exec_job_arm_timer(job, job->timeout, on_dependents_timeout, "exec-dependents-timeout");
        if (r < 0)
                return r;
        ((ExecDependents *) job->state)->phase = DEP_PHASE_TURN;
        ((ExecDependents *) job->state)->current = 0;
        r = read_unit(job, 0);
        if (r < 0)
                return r;
        return 0;
}

/* Idempotent: it judges systemd's state afresh and restarts only what is
 * still stale or down. */
static int dependents_resume(ExecJob *job, const ExecRequest *req, usec_t elapsed) {
        exec_job_timeout_left(job, elapsed);
        return dependents_start(job, req);
}

static void dependents_done(ExecJob *job) {
        job->state = exec_dependents_free(job->state);
}

const ExecKindOps exec_kind_dependents = {
        .start = dependents_start,
        .resume = dependents_resume,
        .job_removed = dependents_job_removed,
        .done = dependents_done,
};
