/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salved's metrics: a file in node_exporter's textfile format
 * (prom-text.h), written when something it shows changes and never on a
 * timer. Changes (a transition, the outbox, a watcher's event or resync,
 * a reload, the run journal refusing or taking writes) only mark the
 * file dirty; one idle-priority defer source
 * writes it once the loop has nothing else to do, so a burst of changes
 * costs one write, and a one-shot timer armed by a change keeps writes at
 * least MANAGER_METRICS_MIN_INTERVAL apart under a flood of them. The
 * same timer writes if the idle source has not had its turn by then (it
 * waits while any other source is pending).
 *
 * Counters count what this salved saw since it started (Prometheus reads
 * a restart as a counter reset); they are not taken from the run store,
 * which forgets finished runs past its keep limit, so a count derived
 * from it could go down across a restart and read as a reset plus a
 * false increase. The outbox's dropped dead letters are the exception:
 * the outbox keeps that count durably. Gauges (runs now active, the
 * outbox's depth, held units) are recomputed from the truth at each
 * write.
 *
 * The file is replaced atomically: written to a temporary file in its
 * directory (a name node_exporter skips: it reads only *.prom) and
 * renamed over the old one, so a scrape sees the old or the new file,
 * whole. It is not fsynced: it is derived state, rewritten at every
 * start. A missing directory (node_exporter's textfile collector not
 * installed) or a write error is logged once per kind of error, never
 * fatal; the next change tries again. */

#include <fcntl.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "manager-holds.h"
#include "manager-metrics.h"
#include "manager.h"
#include "prom-text.h"
#include "relay.h"

typedef struct Attempt {
        char *run_id, *step_id;
        usec_t since;                   /* CLOCK_REALTIME: it started running or waiting */
} Attempt;

struct ManagerMetrics {
        Manager *manager;
        char *path;
        PromRegistry *reg;
        PromFamily *runs_total, *runs_started, *runs, *step_seconds, *rto_at_risk, *rto_breached, *ack_seconds,
                *outbox_entries, *outbox_dropped_dead, *outbox_dropped_people, *watch_events, *watch_lost,
                *watch_resyncs, *held, *releases, *plans, *build, *start_time, *journal_writable, *unjournaled;

        Attempt *attempts;              /* steps running or waiting now */
        size_t n_attempts;

        sd_event_source *write;         /* defer, idle priority */
        sd_event_source *later;         /* one shot: the rate limit */
        bool dirty;
        usec_t last_write;              /* CLOCK_MONOTONIC, of the last attempt; 0: none yet */
        uint64_t writes;
        int logged_error;               /* the error last logged, until a write works */
};

/* Step attempts: 0.5 s to a day. Acknowledgements: 10 s to a day. */
static const double step_buckets[] = { 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400,
                                       43200, 86400 };
static const double ack_buckets[] = { 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400 };
static const char *const final_states[] = { "succeeded", "failed", "cancelled" };
static const char *const active_states[] = { "running", "waiting", "interrupted", "queued" };
static const OutboxState outbox_states[] = { OUTBOX_PENDING, OUTBOX_RETRYING, OUTBOX_DEAD };

#define L(...) ((const char *const[]) { __VA_ARGS__ })

static void attempt_done(Attempt *a) {
        free(a->run_id);
        free(a->step_id);
}

ManagerMetrics *manager_metrics_free(ManagerMetrics *mm) {
        if (!mm)
                return NULL;
        sd_event_source_disable_unref(mm->write);
        sd_event_source_disable_unref(mm->later);
        for (size_t i = 0; i < mm->n_attempts; i++)
                attempt_done(mm->attempts + i);
        free(mm->attempts);
        prom_registry_free(mm->reg);
        free(mm->path);
        return mfree(mm);
}

static ssize_t attempt_find(ManagerMetrics *mm, const char *run_id, const char *step_id) {
        for (size_t i = 0; i < mm->n_attempts; i++)
                if (streq(mm->attempts[i].run_id, run_id) && streq(mm->attempts[i].step_id, step_id))
                        return (ssize_t) i;
        return -1;
}

static int attempt_begin(ManagerMetrics *mm, const char *run_id, const char *step_id, usec_t since) {
        ssize_t i = attempt_find(mm, run_id, step_id);
        Attempt *n;

        if (i >= 0) {
                mm->attempts[i].since = since;
                return 0;
        }
        n = realloc(mm->attempts, (mm->n_attempts + 1) * sizeof(Attempt));
        if (!n)
                return -ENOMEM;
        mm->attempts = n;
        n = mm->attempts + mm->n_attempts;
        *n = (Attempt) { .run_id = strdup(run_id), .step_id = strdup(step_id), .since = since };
        if (!n->run_id || !n->step_id) {
                attempt_done(n);
                return -ENOMEM;
        }
        mm->n_attempts++;
        return 0;
}

/* What the attempt's end says of it; NULL: it has not ended. */
static const char *attempt_outcome(StepState s) {
        switch (s) {
        case STEP_PENDING:              /* failed, and a retry waits its backoff */
        case STEP_FAILED:
                return "failed";
        case STEP_SUCCEEDED:
        case STEP_SKIPPED:
        case STEP_CANCELLED:
        case STEP_INTERRUPTED:
                return step_state_to_string(s);
        default:
                return NULL;
        }
}

static void on_step(ManagerMetrics *mm, const Run *r, const Transition *t) {
        const char *outcome = attempt_outcome(t->state);
        ssize_t i, s;

        if (t->state == STEP_RUNNING || t->state == STEP_WAITING) {
                if (attempt_begin(mm, r->id, t->step_id, t->at) < 0)
                        log_oom();
                return;
        }
        i = attempt_find(mm, r->id, t->step_id);
        if (i < 0 || !outcome)
                return;         /* it never started (cancelled while pending) */
        s = plan_find_step(r->plan, t->step_id);
        if (s >= 0)
                (void) prom_observe(mm->step_seconds,
                                    L(step_kind_to_string(r->plan->steps[s].kind), outcome),
                                    t->at > mm->attempts[i].since
                                            ? (double) (t->at - mm->attempts[i].since) / USEC_PER_SEC : 0);
        attempt_done(mm->attempts + i);
        mm->attempts[i] = mm->attempts[--mm->n_attempts];
}

static void on_human(ManagerMetrics *mm, const Run *r, const Transition *t) {
        ssize_t s = plan_find_step(r->plan, t->step_id);
        const HumanState *h;

        if (t->human != HUMAN_ACKNOWLEDGED || s < 0)
                return;
        h = &r->steps[s].human;
        if (h->n_notices > 0 && t->at >= h->notices[0].at)
                (void) prom_observe(mm->ack_seconds, L(r->plan->name),
                                    (double) (t->at - h->notices[0].at) / USEC_PER_SEC);
}

static void on_transition(Manager *m, const Run *r, const Transition *t, void *userdata) {
        ManagerMetrics *mm = userdata;
        const char *plan = r->plan->name;

        switch (t->kind) {
        case TRANSITION_RUN_CREATED:
                (void) prom_add(mm->runs_started, L(plan), 1);
                break;
        case TRANSITION_STEP:
                on_step(mm, r, t);
                break;
        case TRANSITION_RUN_FINISHED:
                (void) prom_add(mm->runs_total, L(plan, run_state_to_string(t->run_state)), 1);
                /* What still ran is cancelled by now; nothing is left to observe. */
                for (size_t i = 0; i < mm->n_attempts;)
                        if (streq(mm->attempts[i].run_id, r->id)) {
                                attempt_done(mm->attempts + i);
                                mm->attempts[i] = mm->attempts[--mm->n_attempts];
                        } else
                                i++;
                break;
        case TRANSITION_RTO:
                (void) prom_add(t->rto_state == RTO_BREACHED ? mm->rto_breached : mm->rto_at_risk, L(plan), 1);
                break;
        case TRANSITION_HOLD_RELEASED:
                (void) prom_add(mm->releases, NULL, 1);
                break;
        case TRANSITION_HUMAN:
                on_human(mm, r, t);
                break;
        default:
                break;
        }
        manager_metrics_changed(m);
}

void manager_metrics_watch_event(Manager *m, const char *watcher) {
        if (!m->metrics || !watcher)
                return;
        (void) prom_add(m->metrics->watch_events, L(watcher), 1);
        manager_metrics_changed(m);
}

void manager_metrics_watch_notice(Manager *m, const char *watcher, WatchNotice n) {
        if (!m->metrics || !watcher || (n != WATCH_LOST && n != WATCH_RESYNCED))
                return;
        (void) prom_add(n == WATCH_LOST ? m->metrics->watch_lost : m->metrics->watch_resyncs, L(watcher), 1);
        manager_metrics_changed(m);
}

static void on_outbox_change(void *userdata) {
        manager_metrics_changed(userdata);
}

/* ---- the gauges, from the truth ---- */

static void zero_series(ManagerMetrics *mm, const Plan *p) {
        for (size_t s = 0; s < ELEMENTSOF(final_states); s++)
                (void) prom_add(mm->runs_total, L(p->name, final_states[s]), 0);
        (void) prom_add(mm->runs_started, L(p->name), 0);
        for (size_t s = 0; s < ELEMENTSOF(active_states); s++)
                (void) prom_set(mm->runs, L(p->name, active_states[s]), 0);
        if (p->rto != USEC_INFINITY) {
                (void) prom_add(mm->rto_at_risk, L(p->name), 0);
                (void) prom_add(mm->rto_breached, L(p->name), 0);
        }
}

static int update_gauges(ManagerMetrics *mm) {
        Manager *m = mm->manager;
        size_t n_held = 0;
        int k = 0;

        prom_family_clear(mm->runs);
        for (size_t i = 0; m->plans && i < m->plans->n_plans; i++)
                zero_series(mm, m->plans->plans[i]);
        for (size_t i = 0; m->store && i < m->store->n_runs && k >= 0; i++) {
                const Run *r = m->store->runs[i];
                if (!run_is_finished(r))
                        k = prom_add(mm->runs, L(r->plan->name, run_store_state_string(m->store, r)), 1);
        }

        prom_family_clear(mm->outbox_entries);
        if (m->relay) {
                Outbox *o = relay_outbox(m->relay);
                RelayTargetInfo t[64];
                size_t n_t = MIN(relay_targets(m->relay, t, ELEMENTSOF(t)), ELEMENTSOF(t));
                size_t counts[_OUTBOX_STATE_MAX];
                uint64_t dropped = 0;

                /* Set each time: the relay may be new since the last write (a reload). */
                outbox_set_change_handler(o, on_outbox_change, m);
                for (size_t i = 0; i < n_t && k >= 0; i++)
                        for (size_t s = 0; s < ELEMENTSOF(outbox_states) && k >= 0; s++)
                                k = prom_set(mm->outbox_entries, L(t[i].name, outbox_state_to_string(outbox_states[s])),
                                             0);
                for (size_t s = 0; s < ELEMENTSOF(outbox_states) && k >= 0; s++) {
                        _cleanup_free_ OutboxEntry **e = NULL;
                        size_t n = outbox_list_state(o, outbox_states[s], &e);
                        for (size_t i = 0; i < n && k >= 0; i++)
                                k = prom_add(mm->outbox_entries, L(e[i]->channel, outbox_state_to_string(e[i]->state)),
                                             1);
                }
                outbox_counts(o, counts, &dropped);
                (void) prom_set(mm->outbox_dropped_dead, NULL, (double) dropped);
                (void) prom_set(mm->outbox_dropped_people, NULL, (double) outbox_dropped_by_people(o));
        }

        (void) manager_holds_list(m, &n_held);
        (void) prom_set(mm->held, NULL, (double) n_held);
        (void) prom_set(mm->plans, NULL, m->plans ? (double) m->plans->n_plans : 0);
        (void) prom_set(mm->journal_writable, NULL, m->journal_error < 0 ? 0 : 1);
        (void) prom_set(mm->unjournaled, NULL, (double) m->n_unjournaled);
        return k;
}

int manager_metrics_render(Manager *m, char **ret, size_t *ret_size) {
        int k;

        if (!m->metrics)
                return -ENXIO;
        k = update_gauges(m->metrics);
        if (k < 0)
                return k;
        return prom_render(m->metrics->reg, ret, ret_size);
}

/* ---- the file ---- */

static int write_file(const char *path, const char *text, size_t len) {
        _cleanup_free_ char *tmp = NULL, *copy = strdup(path);
        _cleanup_close_ int fd = -EBADF;
        const char *slash;
        int k = 0;

        if (!copy)
                return -ENOMEM;
        slash = strrchr(path, '/');
        if (asprintf(&tmp, "%.*s.%s.XXXXXX", slash ? (int) (slash - path + 1) : 0, path,
                     slash ? slash + 1 : path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0)
                k = -errno;
        for (size_t done = 0; k >= 0 && done < len;) {
                ssize_t n = write(fd, text + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        k = n < 0 ? -errno : -EIO;
                else
                        done += (size_t) n;
        }
        if (k >= 0 && close(TAKE_FD(fd)) < 0)
                k = -errno;
        if (k >= 0 && rename(tmp, path) < 0)
                k = -errno;
        if (k < 0)
                (void) unlink(tmp);
        return k;
}

static void log_write_error(ManagerMetrics *mm, int k) {
        if (k == mm->logged_error)
                return;
        mm->logged_error = k;
        if (k == -ENOENT)
                log_info("The directory of %s does not exist (is node_exporter's textfile collector installed?); "
                         "not writing metrics until it does.", mm->path);
        else if (k == -EROFS || k == -EACCES || k == -EPERM)
                log_warning_errno(k, "Cannot write the metrics file %s, ignoring (salved's sandbox allows only the "
                                  "paths in ReadWritePaths= that existed when it started; see salved(8), METRICS): %m",
                                  mm->path);
        else
                log_warning_errno(k, "Failed to write the metrics file %s, ignoring: %m", mm->path);
}

int manager_metrics_flush(Manager *m) {
        ManagerMetrics *mm = m->metrics;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int k;

        if (!mm)
                return 0;
        /* Whichever of the two comes first writes; the other is not needed. */
        (void) sd_event_source_set_enabled(mm->write, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(mm->later, SD_EVENT_OFF);
        if (!mm->dirty)
                return 0;
        mm->dirty = false;
        mm->last_write = now_usec(CLOCK_MONOTONIC);
        k = manager_metrics_render(m, &text, &len);
        if (k >= 0)
                k = write_file(mm->path, text, len);
        if (k < 0) {
                log_write_error(mm, k);
                return k;
        }
        if (mm->logged_error != 0)
                log_info("Writing the metrics file %s again.", mm->path);
        mm->logged_error = 0;
        mm->writes++;
        return 1;
}

static int on_write(sd_event_source *s, void *userdata) {
        (void) manager_metrics_flush(userdata);
        return 0;
}

static int on_later(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) manager_metrics_flush(userdata);
        return 0;
}

static void arm_later(ManagerMetrics *mm, usec_t when) {
        if (sd_event_source_set_time(mm->later, when) >= 0)
                (void) sd_event_source_set_enabled(mm->later, SD_EVENT_ONESHOT);
}

void manager_metrics_changed(Manager *m) {
        ManagerMetrics *mm = m->metrics;
        usec_t now, due;
        int enabled = SD_EVENT_OFF;

        if (!mm)
                return;
        mm->dirty = true;
        if (sd_event_source_get_enabled(mm->later, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return;         /* a write is due by then at the latest */
        /* Counted from the last attempt, so that a missing directory does
         * not cost a render per change either. */
        now = now_usec(CLOCK_MONOTONIC);
        due = mm->last_write + MANAGER_METRICS_MIN_INTERVAL;
        if (mm->last_write == 0 || now >= due) {
                /* Once the loop is idle, or by the timer at the latest:
                 * an idle source waits while others are pending. */
                (void) sd_event_source_set_enabled(mm->write, SD_EVENT_ONESHOT);
                arm_later(mm, now + MANAGER_METRICS_MIN_INTERVAL);
        } else
                arm_later(mm, due);
}

uint64_t manager_metrics_writes(const Manager *m) {
        return m->metrics ? m->metrics->writes : 0;
}

/* ---- set-up ---- */

static int add_families(ManagerMetrics *mm) {
        const struct {
                PromFamily **f;
                const char *name, *help;
                PromType type;
                const char *const *labels;
                const double *buckets;
                size_t n_buckets;
        } table[] = {
                { &mm->runs_total, "salve_runs_total", "Runs finished since salved started, by plan and final state.",
                  PROM_COUNTER, L("plan", "state", NULL) },
                { &mm->runs_started, "salve_runs_started_total", "Runs started since salved started, by plan.",
                  PROM_COUNTER, L("plan", NULL) },
                { &mm->runs, "salve_runs", "Runs active now, by plan and state (running, waiting, interrupted, "
                  "queued).", PROM_GAUGE, L("plan", "state", NULL) },
                { &mm->step_seconds, "salve_step_duration_seconds", "Step attempts that ended since salved started: "
                  "how long each ran (or, for human steps, waited), by step kind and outcome.", PROM_HISTOGRAM,
                  L("kind", "outcome", NULL), step_buckets, ELEMENTSOF(step_buckets) },
                { &mm->rto_at_risk, "salve_rto_at_risk_total", "Runs projected to miss their recovery time "
                  "objective, by plan.", PROM_COUNTER, L("plan", NULL) },
                { &mm->rto_breached, "salve_rto_breached_total", "Runs that breached their recovery time objective, "
                  "by plan.", PROM_COUNTER, L("plan", NULL) },
                { &mm->ack_seconds, "salve_human_ack_seconds", "Time from a human step's first notification to its "
                  "first acknowledgement, by plan.", PROM_HISTOGRAM, L("plan", NULL), ack_buckets,
                  ELEMENTSOF(ack_buckets) },
                { &mm->outbox_entries, "salve_outbox_entries", "Notifications in the outbox not yet delivered, by "
                  "channel and state (pending, retrying, dead).", PROM_GAUGE, L("channel", "state", NULL) },
                { &mm->outbox_dropped_dead, "salve_outbox_dead_letters_dropped_total", "Dead letters dropped to make "
                  "room in the outbox (kept across restarts).", PROM_COUNTER, NULL },
                { &mm->outbox_dropped_people, "salve_outbox_dropped_total", "Outbox entries dropped by a person "
                  "(salvectl outbox drop; kept across restarts).", PROM_COUNTER, NULL },
                { &mm->watch_events, "salve_watch_events_total", "Events the watchers reported since salved "
                  "started, by watcher.", PROM_COUNTER, L("watcher", NULL) },
                { &mm->watch_lost, "salve_watch_events_lost_total", "Times a watcher may have lost events, by "
                  "watcher.", PROM_COUNTER, L("watcher", NULL) },
                { &mm->watch_resyncs, "salve_watch_resyncs_total", "Resynchronisations after lost events, by "
                  "watcher.", PROM_COUNTER, L("watcher", NULL) },
                { &mm->held, "salve_held_units", "Units salved holds from starting now.", PROM_GAUGE, NULL },
                { &mm->releases, "salve_hold_releases_total", "Held units released by a person (salvectl "
                  "release) since salved started.", PROM_COUNTER, NULL },
                { &mm->plans, "salve_plans_loaded", "Plans loaded.", PROM_GAUGE, NULL },
                { &mm->journal_writable, "salve_journal_writable", "1 while the run journal takes writes; 0 while "
                  "it refuses them (a full disk, I/O errors) and salved takes no new work.", PROM_GAUGE, NULL },
                { &mm->unjournaled, "salve_step_results_unjournaled", "Step results held in memory until the run "
                  "journal takes them.", PROM_GAUGE, NULL },
                { &mm->build, "salve_build_info", "salved's version.", PROM_GAUGE, L("version", NULL) },
                { &mm->start_time, "salve_start_time_seconds", "When salved started, in seconds since the epoch.",
                  PROM_GAUGE, NULL },
        };
        int k;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                k = prom_family_new(mm->reg, table[i].name, table[i].help, table[i].type, table[i].labels,
                                    table[i].buckets, table[i].n_buckets, table[i].f);
                if (k < 0)
                        return k;
        }
        for (WatchSource s = 0; s < _WATCH_SOURCE_MAX; s++) {
                (void) prom_add(mm->watch_events, L(watch_source_to_string(s)), 0);
                (void) prom_add(mm->watch_lost, L(watch_source_to_string(s)), 0);
                (void) prom_add(mm->watch_resyncs, L(watch_source_to_string(s)), 0);
        }
        (void) prom_add(mm->releases, NULL, 0);
        (void) prom_set(mm->build, L(SALVE_VERSION), 1);
        (void) prom_set(mm->start_time, NULL, (double) now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
        return 0;
}

int manager_metrics_setup(Manager *m) {
        _cleanup_(manager_metrics_freep) ManagerMetrics *mm = NULL;
        int k;

        if (!m->metrics_path || !*m->metrics_path) {
                log_debug("No metrics file.");
                return 0;
        }
        mm = calloc(1, sizeof(ManagerMetrics));
        if (!mm || !(mm->path = strdup(m->metrics_path)) || prom_registry_new(&mm->reg) < 0)
                return log_oom();
        mm->manager = m;
        k = add_families(mm);
        if (k < 0)
                return log_error_errno(k, "Failed to set up the metrics: %m");

        /* Steps that run or wait already (a restart): their attempts end later. */
        for (size_t i = 0; m->store && i < m->store->n_runs; i++) {
                const Run *r = m->store->runs[i];
                for (size_t s = 0; !run_is_finished(r) && s < r->plan->n_steps; s++)
                        if ((r->steps[s].state == STEP_RUNNING || r->steps[s].state == STEP_WAITING) &&
                            r->steps[s].started > 0 &&
                            attempt_begin(mm, r->id, r->plan->steps[s].id, r->steps[s].started) < 0)
                                return log_oom();
        }

        k = sd_event_add_defer(m->event, &mm->write, on_write, m);
        if (k >= 0)
                k = sd_event_source_set_priority(mm->write, SD_EVENT_PRIORITY_IDLE);
        if (k >= 0)
                k = sd_event_add_time(m->event, &mm->later, CLOCK_MONOTONIC, 0, 10 * USEC_PER_MSEC, on_later, m);
        if (k < 0)
                return log_error_errno(k, "Failed to set up the metrics file's event sources: %m");
        (void) sd_event_source_set_description(mm->write, "metrics-write");
        (void) sd_event_source_set_description(mm->later, "metrics-rate-limit");
        (void) sd_event_source_set_enabled(mm->write, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(mm->later, SD_EVENT_OFF);

        k = manager_add_listener(m, &(const ManagerListener) { "metrics", on_transition, mm });
        if (k < 0)
                return log_oom();
        m->metrics = TAKE_PTR(mm);
        log_info("Writing metrics to %s.", m->metrics_path);
        manager_metrics_changed(m);     /* the first write, once the loop runs */
        return 0;
}
