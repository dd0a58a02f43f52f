/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Holds: which units salved keeps from starting, and the files in
 * /run/salve/gates that tell their gates (salve-gate@UNIT.service,
 * src/gate/) so.
 *
 * What is held is derived from the runs, never stored beside them: a run
 * holds the units of its plan's holds: until a step starts them or names
 * them in release:, the run succeeds, or a person releases them (a
 * journaled transition), see run_hold(). A run that failed or was
 * cancelled keeps holding, until a newer run of the same plan (and
 * instance) takes over or a person releases the unit. So after a crash or
 * a power cut, the journal alone says what is held.
 *
 * This module is a listener: after every transition it recomputes the set
 * and brings the directory in line: a file per held unit with the reason
 * (rewritten when the reason changes), none for the others. At startup
 * nothing is written until salved has replayed the journal, resumed its
 * runs and started this boot's plans (manager_holds_decide()); then
 * "ready" tells every gate that the decision is made: the gates of units
 * without a file open at once.
 *
 * A unit that becomes held while salved runs (a run started by a trigger
 * or by hand) may have an open (active) gate: salved stops that gate with
 * job mode ignore-dependencies, which leaves the unit itself running, so
 * its next start (Restart=, a dependency, systemctl start) waits behind
 * the gate again. */

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "bus-names.h"
#include "gate-util.h"
#include "log.h"
#include "manager-holds.h"
#include "manager.h"

struct ManagerHolds {
        char *dir;
        bool decided;                   /* "ready" is written */
        ManagerHold *held;              /* what the directory says now */
        size_t n_held;
};

static void hold_done(ManagerHold *h) {
        free(h->unit);
        free(h->run_id);
        free(h->plan);
        free(h->text);
}

static void holds_clear(ManagerHold *h, size_t n) {
        for (size_t i = 0; i < n; i++)
                hold_done(h + i);
        free(h);
}

ManagerHolds *manager_holds_free(ManagerHolds *h) {
        if (!h)
                return NULL;
        holds_clear(h->held, h->n_held);
        free(h->dir);
        return mfree(h);
}

static void format_local(char buf[static 64], usec_t t) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (t == 0 || !localtime_r(&s, &tm) || strftime(buf, 64, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, 64, "an unknown time");
}

/* The first step of the run that is running or waiting, for "now at". */
static ssize_t run_current_step(const Run *r) {
        for (size_t k = 0; k < r->plan->n_steps; k++) {
                size_t i = r->plan->order[k];
                if (r->steps[i].state == STEP_RUNNING || r->steps[i].state == STEP_WAITING ||
                    r->steps[i].state == STEP_INTERRUPTED)
                        return (ssize_t) i;
        }
        return -1;
}

static ssize_t run_failed_step(const Run *r) {
        for (size_t k = 0; k < r->plan->n_steps; k++) {
                size_t i = r->plan->order[k];
                if (r->steps[i].state == STEP_FAILED)
                        return (ssize_t) i;
        }
        return -1;
}

/* "held by run 12 (storage-recovery) since ...: ..." (GATE_REASON_MAX). */
static int hold_text(const Run *r, const RunHold *h, char **ret) {
        char since[64], why[320];
        ssize_t cur;

        format_local(since, r->created);
        if (!run_is_finished(r)) {
                cur = run_current_step(r);
                if (cur >= 0 && h->release_step >= 0)
                        snprintf(why, sizeof(why), "until step %s starts; step %s is %s",
                                 r->plan->steps[h->release_step].id, r->plan->steps[cur].id,
                                 step_state_to_string(r->steps[cur].state));
                else if (cur >= 0)
                        snprintf(why, sizeof(why), "until the run succeeds; step %s is %s", r->plan->steps[cur].id,
                                 step_state_to_string(r->steps[cur].state));
                else if (h->release_step >= 0)
                        snprintf(why, sizeof(why), "until step %s starts", r->plan->steps[h->release_step].id);
                else
                        snprintf(why, sizeof(why), "until the run succeeds");
        } else if (r->final_state == RUN_FAILED) {
                cur = run_failed_step(r);
                if (cur >= 0)
                        snprintf(why, sizeof(why), "because step %s failed: %.200s (salvectl release to let it go)",
                                 r->plan->steps[cur].id, strna(r->steps[cur].message));
                else
                        snprintf(why, sizeof(why), "because the run failed: %.200s (salvectl release to let it go)",
                                 strna(r->final_message));
        } else
                snprintf(why, sizeof(why), "because the run was cancelled (salvectl release to let it go)");

        if (asprintf(ret, "held by run %s (%s) since %s %s", r->id, r->plan->name, since, why) < 0)
                return -ENOMEM;
        if (strlen(*ret) >= GATE_REASON_MAX)
                (*ret)[GATE_REASON_MAX - 1] = 0;
        return 0;
}

static ManagerHold *holds_find(ManagerHold *h, size_t n, const char *unit) {
        for (size_t i = 0; i < n; i++)
                if (streq(h[i].unit, unit))
                        return h + i;
        return NULL;
}

int manager_holds_compute(Manager *m, ManagerHold **ret, size_t *ret_n) {
        _cleanup_strv_free_ char **seen = NULL;   /* "PLAN\nINSTANCE" of the runs looked at */
        ManagerHold *held = NULL;
        size_t n = 0;
        int k = 0;

        /* Newest first, so the most recent run names a unit held by several,
         * and a finished run with a newer run of its plan and instance no
         * longer speaks for that plan. */
        for (size_t i = m->store->n_runs; i-- > 0 && k >= 0;) {
                const Run *r = m->store->runs[i];
                _cleanup_free_ char *key = NULL;
                bool superseded;

                if (asprintf(&key, "%s\n%s", r->plan->name, strempty(r->instance)) < 0) {
                        k = -ENOMEM;
                        break;
                }
                superseded = strv_contains(seen, key);
                if (!superseded && strv_push(&seen, TAKE_PTR(key)) < 0) {
                        k = -ENOMEM;
                        break;
                }
                /* armed: false holds nothing (no gate is generated for it). */
                if (strv_length(r->plan->holds) == 0 || !r->plan->armed)
                        continue;
                if (run_is_finished(r) && (r->final_state == RUN_SUCCEEDED || superseded))
                        continue;
                STRV_FOREACH(u, r->plan->holds) {
                        RunHold h;
                        ManagerHold *x;

                        if (run_hold(r, *u, &h) < 0 || !h.held || holds_find(held, n, *u))
                                continue;
                        x = reallocarray(held, n + 1, sizeof(ManagerHold));
                        if (!x) {
                                k = -ENOMEM;
                                break;
                        }
                        held = x;
                        held[n] = (ManagerHold) { .since = r->created };
                        if (!(held[n].unit = strdup(*u)) || !(held[n].run_id = strdup(r->id)) ||
                            !(held[n].plan = strdup(r->plan->name)) || hold_text(r, &h, &held[n].text) < 0) {
                                hold_done(held + n);
                                k = -ENOMEM;
                                break;
                        }
                        n++;
                }
        }
        if (k < 0) {
                holds_clear(held, n);
                return k;
        }
        *ret = held;
        *ret_n = n;
        return 0;
}

static int write_atomic(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *tmp = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(text);

        if (asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0 || asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, text, len) != (ssize_t) len || write(fd, "\n", 1) != 1) {
                int e = errno ? -errno : -EIO;
                (void) unlink(tmp);
                return e;
        }
        /* /run is tmpfs: no fsync; rename makes it appear whole. */
        if (rename(tmp, path) < 0) {
                int e = -errno;
                (void) unlink(tmp);
                return e;
        }
        return 0;
}

static int on_stop_gate_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        return 0;       /* a gate that is not loaded (no drop-in yet) has nothing to stop */
}

static void stop_gate(Manager *m, const char *unit) {
        _cleanup_free_ char *gate = NULL;

        if (!m->bus || !m->systemd_calls || gate_unit_name(unit, &gate) < 0)
                return;
        /* ignore-dependencies: the held unit, which Requires= the gate,
         * keeps running; only its next start waits. Fire and forget: a
         * gate that is not loaded (no drop-in yet) has nothing to stop. */
        (void) bus_queue_call_method(m->systemd_calls, NULL, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                     SYSTEMD_MANAGER_IFACE, "StopUnit", on_stop_gate_reply, NULL, "ss", gate,
                                     "ignore-dependencies");
}

/* Brings the directory in line with want (which it takes). */
static void holds_sync(Manager *m, ManagerHold *want, size_t n_want) {
        ManagerHolds *h = m->holds;
        int k;

        for (size_t i = 0; i < n_want; i++) {
                ManagerHold *was = holds_find(h->held, h->n_held, want[i].unit);

                if (was && streq(was->text, want[i].text))
                        continue;
                k = write_atomic(h->dir, want[i].unit, want[i].text);
                if (k < 0) {
                        log_warning_errno(k, "Failed to write the hold on %s to %s, ignoring: %m", want[i].unit,
                                          h->dir);
                        continue;
                }
                if (!was) {
                        log_struct_internal(LOG_NOTICE, 0, SALVE_MESSAGE_HOLD_KEPT, want[i].run_id, want[i].plan,
                                            NULL, "Holding %s: %s.", want[i].unit, want[i].text);
                        if (h->decided)
                                stop_gate(m, want[i].unit);
                }
        }
        for (size_t i = 0; i < h->n_held; i++) {
                _cleanup_free_ char *path = NULL;

                if (holds_find(want, n_want, h->held[i].unit))
                        continue;
                if (asprintf(&path, "%s/%s", h->dir, h->held[i].unit) < 0)
                        continue;
                if (unlink(path) < 0 && errno != ENOENT) {
                        log_warning_errno(-errno, "Failed to release %s (%s), ignoring: %m", h->held[i].unit, path);
                        continue;
                }
                log_struct_internal(LOG_NOTICE, 0, SALVE_MESSAGE_HOLD_RELEASED, h->held[i].run_id,
                                    h->held[i].plan, NULL, "Released %s (held by run %s).", h->held[i].unit,
                                    h->held[i].run_id);
        }
        holds_clear(h->held, h->n_held);
        h->held = want;
        h->n_held = n_want;
}

void manager_holds_update(Manager *m) {
        ManagerHold *want;
        size_t n;
        int k;

        if (!m->holds)
                return;
        k = manager_holds_compute(m, &want, &n);
        if (k < 0) {
                log_oom();
                return;
        }
        holds_sync(m, want, n);
}

static void on_transition(Manager *m, const Run *r, const Transition *t, void *userdata) {
        /* Before the step's side effect: a step that releases a unit has
         * released it (file gone) before its StartUnit goes out. */
        if (m->holds && m->holds->decided && strv_length(r->plan->holds) > 0)
                manager_holds_update(m);
}

int manager_holds_setup(Manager *m) {
        _cleanup_(manager_holds_freep) ManagerHolds *h = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int k;

        h = calloc(1, sizeof(*h));
        if (!h || asprintf(&h->dir, "%s/gates", m->runtime_dir) < 0)
                return -ENOMEM;
        if (mkdir(m->runtime_dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(h->dir, 0755) < 0 && errno != EEXIST)
                return -errno;

        /* What an earlier salved of this boot left: the gates read it now,
         * so it is the starting point; salved restarting does not open a
         * gate even for a moment. */
        d = opendir(h->dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                ManagerHold *x;

                if (streq(de->d_name, GATE_READY_NAME))
                        h->decided = true;
                if (!gate_name_is_unit_file(de->d_name))
                        continue;
                x = reallocarray(h->held, h->n_held + 1, sizeof(ManagerHold));
                if (!x)
                        return -ENOMEM;
                h->held = x;
                h->held[h->n_held] = (ManagerHold) {};
                if (!(h->held[h->n_held].unit = strdup(de->d_name)) || !(h->held[h->n_held].text = strdup("")) ||
                    !(h->held[h->n_held].run_id = strdup("?")) || !(h->held[h->n_held].plan = strdup("?"))) {
                        hold_done(h->held + h->n_held);
                        return -ENOMEM;
                }
                h->n_held++;
        }

        k = manager_add_listener(m, &(const ManagerListener) { "holds", on_transition, NULL });
        if (k < 0)
                return k;
        m->holds = TAKE_PTR(h);
        return 0;
}

int manager_holds_decide(Manager *m) {
        ManagerHolds *h = m->holds;
        usec_t start = now_usec(CLOCK_MONOTONIC);
        char d[FORMAT_DURATION_MAX];
        bool first = !h->decided;
        int k;

        manager_holds_update(m);
        if (!h->decided) {
                k = write_atomic(h->dir, GATE_READY_NAME, m->boot_id);
                if (k < 0)
                        return log_error_errno(k, "Failed to write %s/%s: %m", h->dir, GATE_READY_NAME);
                h->decided = true;
        }
        if (first)
                log_struct_internal(LOG_INFO, 0, NULL, NULL, NULL, NULL,
                                    "Holds decided in %s: %zu unit%s held, every other gate open.",
                                    format_duration(d, now_usec(CLOCK_MONOTONIC) - start), h->n_held,
                                    h->n_held == 1 ? "" : "s");
        return 0;
}

const ManagerHold *manager_holds_list(Manager *m, size_t *ret_n) {
        if (!m->holds) {
                *ret_n = 0;
                return NULL;
        }
        *ret_n = m->holds->n_held;
        return m->holds->held;
}

const ManagerHold *manager_holds_find(Manager *m, const char *unit) {
        return m->holds ? holds_find(m->holds->held, m->holds->n_held, unit) : NULL;
}

int manager_release_unit(Manager *m, const char *unit, const char *actor, const char *comment) {
        bool any = false;
        int k;

        if (!manager_holds_find(m, unit))
                return -ENOENT;
        /* Every run that still holds it lets it go: the unit is free. */
        for (size_t i = 0; i < m->store->n_runs; i++) {
                Run *r = m->store->runs[i];
                _cleanup_(transition_done) Transition t = {};

                k = run_release_hold(r, unit, actor, comment, now_usec(CLOCK_REALTIME), &t);
                if (k == -ENOENT || k == -EALREADY)
                        continue;
                if (k < 0)
                        return k;
                k = manager_commit(m, &t);
                if (k < 0)
                        return k;
                any = true;
        }
        /* Each commit's listener (on_transition) has synced the directory. */
        return any ? 0 : -ENOENT;
}
