/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The matcher: see trigger-match.h. */

#include <fnmatch.h>

#include "string-util.h"
#include "trigger-match.h"

/* Restart counting for `restarts: N, within: T`: the times of the last
 * restarts of one unit for one trigger of one plan, at most N of them. */
typedef struct RestartWindow {
        char *plan;
        size_t trigger;
        char *unit;
        usec_t *times;                  /* oldest first */
        size_t n_times;
} RestartWindow;

struct TriggerMatcher {
        RestartWindow *windows;
        size_t n_windows;
};

#define TRIGGER_MATCHER_WINDOWS_MAX 4096U

int trigger_matcher_new(TriggerMatcher **ret) {
        *ret = calloc(1, sizeof(TriggerMatcher));
        return *ret ? 0 : -ENOMEM;
}

static void window_done(RestartWindow *w) {
        free(w->plan);
        free(w->unit);
        free(w->times);
}

TriggerMatcher *trigger_matcher_free(TriggerMatcher *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_windows; i++)
                window_done(m->windows + i);
        free(m->windows);
        return mfree(m);
}

void trigger_matcher_prune(TriggerMatcher *m, const PlanSet *s) {
        size_t j = 0;

        for (size_t i = 0; i < m->n_windows; i++) {
                const Plan *p = plan_set_find(s, m->windows[i].plan);
                if (p && m->windows[i].trigger < p->n_triggers && p->triggers[m->windows[i].trigger].restarts > 0)
                        m->windows[j++] = m->windows[i];
                else
                        window_done(m->windows + i);
        }
        m->n_windows = j;
}

static bool name_matches(const char *pattern, const char *name) {
        if (!pattern || !name)
                return false;
        return fnmatch(pattern, name, FNM_NOESCAPE) == 0;
}

/* A glob never matches salve's own transient units (salve-RUN-STEP-N.service):
 * a plan that restarts "*.service" when one fails must not act on its own
 * failing exec steps. Named exactly, one can still be watched. */
static bool unit_matches(const char *pattern, const char *name) {
        if (!name_matches(pattern, name))
                return false;
        return !(strpbrk(pattern, "*?[") && string_has_prefix(name, "salve-") && string_has_suffix(name, ".service"));
}

static const char *md_short(const char *s) {
        return string_has_prefix(s, "/dev/") ? s + 5 : s;
}

static bool device_matches(const char *match, const TriggerEvent *ev) {
        if (string_has_prefix(match, "UUID="))
                return streq_ptr(match + 5, ev->uuid);
        if (string_has_prefix(match, "LABEL="))
                return streq_ptr(match + 6, ev->label);
        if (string_has_prefix(match, "PARTUUID="))
                return streq_ptr(match + 9, ev->partuuid);
        return streq_ptr(match, ev->name);
}

bool trigger_event_is_repair_state(const TriggerEvent *ev) {
        static const char *const unit[] = { "failed", NULL };
        static const char *const raid[] = { "degraded", "disk-failed", "resync-pending", NULL };
        static const char *const link[] = { "down", "lower-layer-down", NULL };
        const char *const *set;

        switch (ev->kind) {
        case TRIGGER_UNIT:
                set = unit;
                break;
        case TRIGGER_RAID:
                set = raid;
                break;
        case TRIGGER_LINK:
                set = link;
                break;
        default:
                return false;
        }
        for (size_t i = 0; set[i]; i++)
                if (streq_ptr(ev->event, set[i]))
                        return true;
        return false;
}

bool trigger_matches(const Trigger *t, const TriggerEvent *ev) {
        if (t->kind != ev->kind || !ev->event)
                return false;
        if (ev->initial && !trigger_event_is_repair_state(ev))
                return false;
        switch (t->kind) {
        case TRIGGER_UNIT:
                if (!unit_matches(t->name, ev->name) || t->restarts > 0 || !streq_ptr(t->event, ev->event))
                        return false;
                return !t->result || (ev->result && strv_contains(t->result, ev->result));
        case TRIGGER_RAID:
                return (streq(t->name, "*") || streq(md_short(t->name), md_short(ev->name ?: "")) ||
                        (ev->alias && streq(md_short(t->name), md_short(ev->alias)))) &&
                       streq_ptr(t->event, ev->event);
        case TRIGGER_DEVICE:
                return device_matches(t->name, ev) && streq_ptr(t->event, ev->event);
        case TRIGGER_LINK:
                return name_matches(t->name, ev->name) && streq_ptr(t->event, ev->event);
        default:
                return false;
        }
}

static RestartWindow *window_get(TriggerMatcher *m, const Plan *plan, size_t ti, const char *unit) {
        RestartWindow *n;

        for (size_t i = 0; i < m->n_windows; i++)
                if (m->windows[i].trigger == ti && streq(m->windows[i].plan, plan->name) &&
                    streq(m->windows[i].unit, unit))
                        return m->windows + i;
        if (m->n_windows >= TRIGGER_MATCHER_WINDOWS_MAX)
                return NULL;            /* bounded: a glob over thousands of flapping units */
        n = realloc(m->windows, sizeof(RestartWindow) * (m->n_windows + 1));
        if (!n)
                return NULL;
        m->windows = n;
        n = m->windows + m->n_windows;
        *n = (RestartWindow) { .plan = strdup(plan->name), .trigger = ti, .unit = strdup(unit) };
        if (!n->plan || !n->unit) {
                window_done(n);
                return NULL;
        }
        m->n_windows++;
        return n;
}

bool trigger_matcher_test(TriggerMatcher *m, const Plan *plan, size_t ti, const TriggerEvent *ev) {
        const Trigger *t = plan->triggers + ti;
        RestartWindow *w;
        usec_t now = ev->monotonic, *x;
        size_t j = 0;

        if (t->kind != TRIGGER_UNIT || t->restarts == 0)
                return trigger_matches(t, ev);
        if (ev->kind != TRIGGER_UNIT || ev->initial || !streq_ptr(ev->event, "restarted") ||
            !unit_matches(t->name, ev->name))
                return false;
        w = window_get(m, plan, ti, ev->name);
        if (!w)
                return false;
        /* Drop the restarts that fell out of the window. */
        for (size_t i = 0; i < w->n_times; i++)
                if (now - w->times[i] < t->within)
                        w->times[j++] = w->times[i];
        w->n_times = j;
        x = realloc(w->times, sizeof(usec_t) * (w->n_times + 1));
        if (!x)
                return false;
        w->times = x;
        w->times[w->n_times++] = now;
        if (w->n_times < t->restarts)
                return false;
        w->n_times = 0;
        return true;
}
