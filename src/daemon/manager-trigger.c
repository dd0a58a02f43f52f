/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* From what the watchers see to runs: the Manager owns one watcher per
 * source that some loaded plan has a trigger for (rebuilt after every
 * reload), hands each event to the matcher, and starts, joins or queues
 * the runs it names, within each plan's trigger-limit and after its
 * settle time.
 *
 * Invariants:
 * - A watcher exists only while a plan needs it: no plan with a link
 *   trigger, no netlink socket.
 * - An event found at a watcher's first enumeration (initial) starts no
 *   run if one of the plan's runs already has the same occurrence (a
 *   failure salved handled before it restarted).
 * - trigger-limit counts runs started, not events: joining an active run
 *   costs nothing. A limited plan says so once per period, in the journal
 *   and in the status. */

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>

#include "log.h"
#include "manager-metrics.h"
#include "manager.h"
#include "trigger-match.h"
#include "trigger-vars.h"

/* Events gathering for one run during settle: per instance, so that a
 * plan serving every unit settles each unit's burst on its own. */
typedef struct Settle {
        struct PlanTrigger *owner;
        char *instance;
        sd_event_source *timer;
        char **context;                 /* the first event's */
        char *trigger, *reason;
        usec_t time;                    /* CLOCK_REALTIME of the first event */
        unsigned events;
} Settle;

/* What the Manager keeps per plan name between events. */
typedef struct PlanTrigger {
        char *plan;
        usec_t *starts;                 /* CLOCK_MONOTONIC of recent trigger-started runs, oldest first */
        size_t n_starts;
        bool limited;                   /* said "limit hit", not yet "limit over" */
        usec_t limited_until;           /* CLOCK_MONOTONIC */
        Settle **settles;
        size_t n_settles;
        Manager *manager;
} PlanTrigger;

#define SETTLES_MAX 256U                /* per plan; past it, events start runs at once */

static Settle *settle_free(Settle *x) {
        if (!x)
                return NULL;
        sd_event_source_disable_unref(x->timer);
        free(x->instance);
        strv_free(x->context);
        free(x->trigger);
        free(x->reason);
        return mfree(x);
}

static void settle_remove(PlanTrigger *t, Settle *x) {
        for (size_t i = 0; i < t->n_settles; i++)
                if (t->settles[i] == x) {
                        t->settles[i] = t->settles[--t->n_settles];
                        break;
                }
        settle_free(x);
}

static PlanTrigger *plan_trigger_free(PlanTrigger *t) {
        if (!t)
                return NULL;
        free(t->plan);
        free(t->starts);
        for (size_t i = 0; i < t->n_settles; i++)
                settle_free(t->settles[i]);
        free(t->settles);
        return mfree(t);
}

static PlanTrigger *plan_trigger_get(Manager *m, const char *plan) {
        PlanTrigger *t, **n;

        for (size_t i = 0; i < m->n_plan_triggers; i++)
                if (streq(m->plan_triggers[i]->plan, plan))
                        return m->plan_triggers[i];
        n = realloc(m->plan_triggers, sizeof(PlanTrigger *) * (m->n_plan_triggers + 1));
        if (!n)
                return NULL;
        m->plan_triggers = n;
        t = calloc(1, sizeof(PlanTrigger));
        if (!t || !(t->plan = strdup(plan)))
                return plan_trigger_free(t);
        t->manager = m;
        m->plan_triggers[m->n_plan_triggers++] = t;
        return t;
}

/* ---- describing an event ---- */

static char *event_reason(const TriggerEvent *ev) {
        char *s = NULL;
        int k;

        switch (ev->kind) {
        case TRIGGER_UNIT:
                if (streq_ptr(ev->event, "failed"))
                        k = asprintf(&s, "%s failed (%s)", ev->name, ev->result ?: "unknown result");
                else if (streq_ptr(ev->event, "restarted"))
                        k = asprintf(&s, "%s restarted by systemd (%u restarts)", ev->name, ev->restarts);
                else
                        k = asprintf(&s, "%s %s", ev->name, ev->event);
                break;
        case TRIGGER_RAID:
                if (ev->disk)
                        k = asprintf(&s, "%s %s (%s)", ev->name, ev->event, ev->disk);
                else if (streq_ptr(ev->event, "check-mismatch"))
                        k = asprintf(&s, "%s check-mismatch (%" PRIu64 " sectors)", ev->name, ev->mismatches);
                else
                        k = asprintf(&s, "%s %s", ev->name, ev->event);
                break;
        case TRIGGER_DEVICE:
                k = asprintf(&s, "%s %s%s%s%s", ev->name, ev->event, ev->uuid ? " (UUID=" : "", strempty(ev->uuid),
                             ev->uuid ? ")" : "");
                break;
        default:
                k = asprintf(&s, "%s %s", strna(ev->name), strna(ev->event));
        }
        if (k < 0)
                return NULL;
        if (ev->initial) {
                char *x = NULL;
                if (asprintf(&x, "%s, found when salved started", s) < 0)
                        x = NULL;
                free(s);
                s = x;
        } else if (ev->resynced) {
                char *x = NULL;
                if (asprintf(&x, "%s, found by a resync after lost events", s) < 0)
                        x = NULL;
                free(s);
                s = x;
        }
        return s;
}

/* The occurrence that tells "already handled" across salved's restarts:
 * the watcher's own (a unit failure's timestamp), else this boot and what
 * happened (an array degraded in this boot is one occurrence). */
static int event_context(Manager *m, const TriggerEvent *ev, char ***ret) {
        _cleanup_strv_free_ char **c = NULL;
        char *o = NULL;
        int k;

        k = trigger_context_from_event(ev, &c);
        if (k < 0)
                return k;
        if (ev->occurrence)
                k = asprintf(&o, "occurrence=%s", ev->occurrence);
        else
                k = asprintf(&o, "occurrence=%s/%s/%s/%s", m->boot_id, trigger_kind_to_string(ev->kind),
                             strna(ev->name), strna(ev->event));
        if (k < 0 || strv_push(&c, o) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

static const Run *handled_by(Manager *m, const char *plan, char **context) {
        const char *o = trigger_context_get(context, "occurrence");

        for (size_t i = 0; o && i < m->store->n_runs; i++) {
                const Run *r = m->store->runs[i];
                if (streq(r->plan->name, plan) && streq_ptr(trigger_context_get(r->trigger_context, "occurrence"), o))
                        return r;
        }
        return NULL;
}

/* ---- starting runs ---- */

/* trigger-limit: true if one more trigger-started run is allowed now. */
static bool limit_allows(Manager *m, const Plan *p, PlanTrigger *t, usec_t now) {
        size_t j = 0;

        if (p->trigger_limit_burst == 0 || p->trigger_limit_interval == 0)
                return true;
        for (size_t i = 0; i < t->n_starts; i++)
                if (now - t->starts[i] < p->trigger_limit_interval)
                        t->starts[j++] = t->starts[i];
        t->n_starts = j;
        if (t->n_starts < p->trigger_limit_burst) {
                if (t->limited)
                        log_struct_internal(LOG_NOTICE, 0, SALVE_MESSAGE_TRIGGER_LIMITED, NULL, p->name, NULL,
                                            "Plan %s: trigger limit over; its triggers start runs again.", p->name);
                t->limited = false;
                return true;
        }
        if (!t->limited) {
                char a[FORMAT_DURATION_MAX];
                log_struct_internal(LOG_WARNING, 0, SALVE_MESSAGE_TRIGGER_LIMITED, NULL, p->name, NULL,
                                    "Plan %s: %u runs started by triggers within %s (trigger-limit); further "
                                    "triggers start no run until the oldest is %s old.", p->name,
                                    p->trigger_limit_burst, format_duration(a, p->trigger_limit_interval), a);
        }
        t->limited = true;
        t->limited_until = t->starts[0] + p->trigger_limit_interval;
        return false;
}

static void start_triggered(Manager *m, const Plan *p, PlanTrigger *t, const char *trigger, const char *reason,
                            usec_t when, char **context) {
        _cleanup_free_ char *id = NULL, *instance = NULL;
        Run *join = NULL;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        size_t before = m->store->n_runs;
        int k;

        /* Joining an active run is free; only a new run counts against the limit. */
        if (plan_instance_from_context(p, context, &instance) >= 0)
                join = run_store_join_target(m->store, p->name, instance, p->concurrency);
        if (!join && !limit_allows(m, p, t, now))
                return;
        k = manager_start_run(m, p->name, trigger, reason, when, context, &id);
        if (k < 0) {
                if (k != -ENXIO)
                        log_struct_internal(LOG_ERR, k, NULL, NULL, p->name, NULL,
                                            "Failed to start plan %s on %s: %m", p->name, reason);
                return;
        }
        if (m->store->n_runs > before && p->trigger_limit_burst > 0 && p->trigger_limit_interval > 0) {
                usec_t *x = realloc(t->starts, sizeof(usec_t) * (t->n_starts + 1));
                if (x) {
                        t->starts = x;
                        t->starts[t->n_starts++] = now;
                }
        }
}

static int on_settled(sd_event_source *s, uint64_t usec, void *userdata) {
        Settle *x = userdata;
        PlanTrigger *t = x->owner;
        Manager *m = t->manager;
        const Plan *p = plan_set_find(m->plans, t->plan);
        _cleanup_free_ char *reason = NULL;

        if (p && x->events > 1 && asprintf(&reason, "%s, and %u more event%s while it settled", x->reason,
                                           x->events - 1, x->events == 2 ? "" : "s") < 0)
                reason = NULL;
        if (p)          /* else reloaded away meanwhile */
                start_triggered(m, p, t, x->trigger, reason ?: x->reason, x->time, x->context);
        settle_remove(t, x);
        return 0;
}

/* Gathers ev into the settle of its instance; false if it cannot (start at once). */
static bool settle_add(Manager *m, const Plan *p, PlanTrigger *t, const TriggerEvent *ev, char ***context,
                       char **reason) {
        _cleanup_free_ char *instance = NULL;
        Settle *x, **n;
        int k;

        if (plan_instance_from_context(p, *context, &instance) < 0)
                return false;
        for (size_t i = 0; i < t->n_settles; i++)
                if (streq(t->settles[i]->instance, instance)) {
                        t->settles[i]->events++;
                        return true;
                }
        if (t->n_settles >= SETTLES_MAX)
                return false;
        n = realloc(t->settles, sizeof(Settle *) * (t->n_settles + 1));
        if (!n)
                return false;
        t->settles = n;
        x = calloc(1, sizeof(Settle));
        if (!x)
                return false;
        *x = (Settle) { .owner = t, .instance = TAKE_PTR(instance), .events = 1,
                        .time = ev->realtime ?: now_usec(CLOCK_REALTIME),
                        .trigger = strdup(trigger_kind_to_string(ev->kind)) };
        k = sd_event_add_time_relative(m->event, &x->timer, CLOCK_MONOTONIC, p->settle, 0, on_settled, x);
        if (k < 0 || !x->trigger) {
                log_warning_errno(k < 0 ? k : -ENOMEM, "Cannot wait for plan %s to settle, starting at once: %m",
                                  p->name);
                settle_free(x);
                return false;
        }
        (void) sd_event_source_set_description(x->timer, "trigger-settle");
        x->context = TAKE_PTR(*context);
        x->reason = TAKE_PTR(*reason);
        t->settles[t->n_settles++] = x;
        return true;
}

static void on_match(Manager *m, const Plan *p, const TriggerEvent *ev) {
        _cleanup_strv_free_ char **context = NULL;
        _cleanup_free_ char *reason = NULL;
        PlanTrigger *t = plan_trigger_get(m, p->name);
        const Run *done;

        if (!t || event_context(m, ev, &context) < 0 || !(reason = event_reason(ev))) {
                log_oom();
                return;
        }
        if (ev->initial && (done = handled_by(m, p->name, context))) {
                log_struct_internal(LOG_INFO, 0, NULL, done->id, p->name, NULL,
                                    "%s: already handled by run %s; not starting plan %s again.", reason, done->id,
                                    p->name);
                return;
        }
        if (p->settle > 0 && settle_add(m, p, t, ev, &context, &reason))
                return;
        start_triggered(m, p, t, trigger_kind_to_string(ev->kind), reason, ev->realtime, context);
}

/* md/NAME of an array: the /dev/md/NAME symlink (udev's, or mdadm's) that
 * points at it. Plans may name arrays so; md's events carry the kernel
 * name (md127). */
static char *md_alias(const char *array) {
        _cleanup_(closedirp) DIR *d = NULL;
        char target[PATH_MAX], path[PATH_MAX];

        d = opendir("/dev/md");
        if (!d || !array)
                return NULL;
        for (struct dirent *de; (de = readdir(d));) {
                ssize_t n;
                const char *base;
                char *alias;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/dev/md/%s", de->d_name);
                n = readlink(path, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = 0;
                base = strrchr(target, '/');
                if (!streq(base ? base + 1 : target, array))
                        continue;
                if (asprintf(&alias, "md/%s", de->d_name) < 0)
                        return NULL;
                return alias;
        }
        return NULL;
}

static void on_watch_event(Watch *w, const TriggerEvent *event, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *alias = NULL;
        TriggerEvent copy, *ev = &copy;

        copy = *event;
        if (ev->kind == TRIGGER_RAID && !ev->alias && (alias = md_alias(ev->name)))
                copy.alias = alias;
        m->trigger_events++;
        manager_metrics_watch_event(m, w ? watch_name(w) : NULL);
        for (size_t i = 0; m->plans && i < m->plans->n_plans; i++) {
                const Plan *p = m->plans->plans[i];
                if (!p->armed)
                        continue;
                for (size_t ti = 0; ti < p->n_triggers; ti++)
                        if (trigger_matcher_test(m->matcher, p, ti, ev)) {
                                on_match(m, p, ev);
                                break;          /* one run per plan per event */
                        }
        }
}

static void on_watch_notice(Watch *w, WatchNotice n, int error, const char *message, void *userdata) {
        manager_metrics_watch_notice(userdata, watch_name(w), n);
        switch (n) {
        case WATCH_READY:
                log_debug("Watching %s: %s", watch_name(w), message);
                break;
        case WATCH_LOST:
                log_struct_internal(LOG_WARNING, 0, SALVE_MESSAGE_EVENTS_LOST, NULL, NULL, NULL,
                                    "The %s watcher may have lost events (%s); re-reading the state.", watch_name(w),
                                    message);
                break;
        case WATCH_RESYNCED:
                log_struct_internal(LOG_NOTICE, 0, SALVE_MESSAGE_EVENTS_RESYNCED, NULL, NULL, NULL,
                                    "The %s watcher resynchronised: %s", watch_name(w), message);
                break;
        case WATCH_BAD_INPUT:
                if (w->stats.bad_input <= 10 || w->stats.bad_input % 1000 == 0)
                        log_warning("The %s watcher dropped a malformed message (%" PRIu64 " so far): %s",
                                    watch_name(w), w->stats.bad_input, message);
                break;
        case WATCH_FAILED:
                log_struct_internal(LOG_ERR, error, SALVE_MESSAGE_EVENTS_LOST, NULL, NULL, NULL,
                                    "The %s watcher stopped working: %s", watch_name(w), message);
                break;
        default:
                break;
        }
}

/* ---- the watchers ---- */

static bool source_needed(const Manager *m, WatchSource s) {
        for (size_t i = 0; m->plans && i < m->plans->n_plans; i++) {
                const Plan *p = m->plans->plans[i];
                for (size_t t = 0; p->armed && t < p->n_triggers; t++)
                        if (watch_source_for_trigger(p->triggers[t].kind) == s)
                                return true;
        }
        return false;
}

int manager_watch_update(Manager *m) {
        int r = 0;

        if (!m->matcher && trigger_matcher_new(&m->matcher) < 0)
                return log_oom();
        trigger_matcher_prune(m->matcher, m->plans);
        /* Settling events of plans that are gone are dropped with them. */
        for (size_t i = 0; i < m->n_plan_triggers;)
                if (!plan_set_find(m->plans, m->plan_triggers[i]->plan)) {
                        plan_trigger_free(m->plan_triggers[i]);
                        m->plan_triggers[i] = m->plan_triggers[--m->n_plan_triggers];
                } else
                        i++;

        for (WatchSource s = 0; s < _WATCH_SOURCE_MAX; s++) {
                WatchContext ctx = {
                        .event = m->event,
                        .bus = m->bus,
                        .calls = m->systemd_calls,
                        .on_event = on_watch_event,
                        .on_notice = on_watch_notice,
                        .userdata = m,
                };
                bool need = source_needed(m, s) && (s != WATCH_UNITS || m->bus);
                int k;

                if (!need) {
                        if (m->watches[s])
                                log_info("No plan watches %s any more; stopped watching.", watch_source_to_string(s));
                        m->watches[s] = watch_free(m->watches[s]);
                        continue;
                }
                if (m->watches[s])
                        continue;
                k = watch_new(s, &ctx, &m->watches[s]);
                if (k < 0) {
                        log_struct_internal(LOG_ERR, k, SALVE_MESSAGE_EVENTS_LOST, NULL, NULL, NULL,
                                            "Cannot watch %s: %m; plans triggered by it run only on request.",
                                            watch_source_to_string(s));
                        r = k;
                        continue;
                }
                log_info("Watching %s.", watch_source_to_string(s));
        }
        return r;
}

void manager_watch_free(Manager *m) {
        for (WatchSource s = 0; s < _WATCH_SOURCE_MAX; s++)
                m->watches[s] = watch_free(m->watches[s]);
        for (size_t i = 0; i < m->n_plan_triggers; i++)
                plan_trigger_free(m->plan_triggers[i]);
        m->plan_triggers = mfree(m->plan_triggers);
        m->n_plan_triggers = 0;
        m->matcher = trigger_matcher_free(m->matcher);
}

void manager_watch_event(Manager *m, const TriggerEvent *ev) {
        on_watch_event(NULL, ev, m);
}

bool manager_plan_trigger_limited(Manager *m, const char *plan, usec_t *ret_until) {
        for (size_t i = 0; i < m->n_plan_triggers; i++)
                if (streq(m->plan_triggers[i]->plan, plan) && m->plan_triggers[i]->limited &&
                    m->plan_triggers[i]->limited_until > now_usec(CLOCK_MONOTONIC)) {
                        if (ret_until)
                                *ret_until = m->plan_triggers[i]->limited_until;
                        return true;
                }
        return false;
}
