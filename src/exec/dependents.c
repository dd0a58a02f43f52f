/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unit.restart-dependents, the pure part: the closure as a graph, which
 * units of it to restart, their order, and the action at each one's turn.
 * See dependents.h for the rules and why they are what they are. */

#include <stdarg.h>

#include "dependents.h"
#include "string-util.h"

/* ---- with.follow ---- */

static const struct {
        const char *name;
        unsigned flag;
} follow_table[] = {
        { "requires", DEP_FOLLOW_REQUIRES },
        { "binds-to", DEP_FOLLOW_BINDS_TO },
        { "wants", DEP_FOLLOW_WANTS },
};

int dep_follow_from_strv(char * const *l, unsigned *ret) {
        unsigned f = 0;

        STRV_FOREACH(s, l) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(follow_table); i++)
                        if (streq(*s, follow_table[i].name))
                                break;
                if (i == ELEMENTSOF(follow_table))
                        return -EINVAL;
                f |= follow_table[i].flag;
        }
        *ret = f ?: DEP_FOLLOW_DEFAULT;
        return 0;
}

const char *dep_follow_to_string(unsigned follow, char *buf, size_t size) {
        size_t off = 0;

        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(follow_table); i++)
                if (follow & follow_table[i].flag) {
                        int n = snprintf(buf + off, size - off, "%s%s", off > 0 ? ", " : "", follow_table[i].name);
                        if (n < 0 || (size_t) n >= size - off)
                                break;
                        off += (size_t) n;
                }
        return buf;
}

/* ---- states ---- */

void dep_state_done(DepState *s) {
        s->load_state = mfree(s->load_state);
        s->active_state = mfree(s->active_state);
        s->unit_file_state = mfree(s->unit_file_state);
        s->job_path = mfree(s->job_path);
        *s = (DepState) {};
}

static int strdup_ptr(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int dep_state_copy(const DepState *s, DepState *ret) {
        DepState c = *s;

        c.load_state = c.active_state = c.unit_file_state = c.job_path = NULL;
        if (strdup_ptr(s->load_state, &c.load_state) < 0 || strdup_ptr(s->active_state, &c.active_state) < 0 ||
            strdup_ptr(s->unit_file_state, &c.unit_file_state) < 0 || strdup_ptr(s->job_path, &c.job_path) < 0) {
                dep_state_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

bool dep_state_is_up(const DepState *s) {
        return streq_ptr(s->active_state, "active") || streq_ptr(s->active_state, "reloading");
}

bool dep_state_is_running(const DepState *s) {
        return dep_state_is_up(s) || streq_ptr(s->active_state, "activating") ||
               streq_ptr(s->active_state, "deactivating");
}

/* ---- the graph ---- */

static void dep_unit_done(DepUnit *u) {
        free(u->name);
        dep_state_done(&u->st0);
        dep_state_done(&u->st);
        strv_free(u->required_by);
        strv_free(u->bound_by);
        strv_free(u->wanted_by);
        strv_free(u->after);
        free(u->providers);
        free(u->was);
        free(u->detail);
}

void dep_graph_done(DepGraph *g) {
        for (size_t i = 0; i < g->n; i++)
                dep_unit_done(g->units + i);
        free(g->units);
        free(g->order);
        *g = (DepGraph) { .follow = g->follow, .max = g->max };
}

ssize_t dep_graph_find(const DepGraph *g, const char *name) {
        for (size_t i = 0; i < g->n; i++)
                if (streq(g->units[i].name, name))
                        return (ssize_t) i;
        return -1;
}

int dep_graph_add(DepGraph *g, const char *name, size_t *ret_index) {
        size_t max = g->max ?: DEP_UNITS_MAX;
        ssize_t i = dep_graph_find(g, name);

        if (i >= 0) {
                if (ret_index)
                        *ret_index = (size_t) i;
                return 0;
        }
        /* The root does not count. */
        if (g->n >= max + 1)
                return -E2BIG;
        if (g->n == g->allocated) {
                size_t a = MAX(g->allocated * 2, (size_t) 8);
                DepUnit *u = reallocarray(g->units, a, sizeof(DepUnit));
                if (!u)
                        return -ENOMEM;
                g->units = u;
                g->allocated = a;
        }
        DepUnit *u = g->units + g->n;
        *u = (DepUnit) { .why_unit = -1 };
        u->name = strdup(name);
        if (!u->name)
                return -ENOMEM;
        if (ret_index)
                *ret_index = g->n;
        g->n++;
        return 1;
}

bool dep_unit_name_is_followed(const char *name) {
        static const char *const skipped[] = { ".target", ".slice", ".scope", ".device" };

        for (size_t i = 0; i < ELEMENTSOF(skipped); i++)
                if (string_has_suffix(name, skipped[i]))
                        return false;
        return true;
}

int dep_unit_foreach_dependent(const DepUnit *u, unsigned follow, int (*cb)(const char *name, void *userdata),
                               void *userdata) {
        char * const *lists[] = {
                follow & DEP_FOLLOW_REQUIRES ? u->required_by : NULL,
                follow & DEP_FOLLOW_BINDS_TO ? u->bound_by : NULL,
                follow & DEP_FOLLOW_WANTS ? u->wanted_by : NULL,
        };
        int r;

        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                STRV_FOREACH(s, lists[l]) {
                        r = cb(*s, userdata);
                        if (r < 0)
                                return r;
                }
        return 0;
}

typedef struct LinkCtx {
        DepGraph *g;
        size_t provider;
} LinkCtx;

static int link_one(const char *name, void *userdata) {
        LinkCtx *c = userdata;
        ssize_t d = dep_graph_find(c->g, name);
        DepUnit *u;

        if (d <= 0)             /* not in the closure, or the root itself */
                return 0;
        u = c->g->units + d;
        for (size_t k = 0; k < u->n_providers; k++)
                if (u->providers[k] == c->provider)
                        return 0;
        size_t *p = reallocarray(u->providers, u->n_providers + 1, sizeof(size_t));
        if (!p)
                return -ENOMEM;
        u->providers = p;
        u->providers[u->n_providers++] = c->provider;
        return 0;
}

int dep_graph_link(DepGraph *g) {
        int r;

        for (size_t i = 0; i < g->n; i++) {
                g->units[i].providers = mfree(g->units[i].providers);
                g->units[i].n_providers = 0;
        }
        for (size_t i = 0; i < g->n; i++) {
                LinkCtx c = { .g = g, .provider = i };
                r = dep_unit_foreach_dependent(g->units + i, g->follow, link_one, &c);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- which ones ---- */

/* Whether the window [from, to] comes within DEP_TOUCH_USEC of t. */
static bool window_touches(usec_t from, usec_t to, usec_t t) {
        if (to < from)
                to = from;
        return from <= t + DEP_TOUCH_USEC && to + DEP_TOUCH_USEC >= t;
}

static bool unit_file_state_is_enabled(const char *s) {
        return streq_ptr(s, "enabled") || streq_ptr(s, "enabled-runtime");
}

DepVerdict dep_unit_judge(const DepGraph *g, size_t i, const DepState *s, DepReason *ret_why,
                          ssize_t *ret_why_unit) {
        const DepUnit *u = g->units + i;
        ssize_t first = u->n_providers > 0 ? (ssize_t) u->providers[0] : -1;

        *ret_why = DEP_REASON_NONE;
        *ret_why_unit = -1;

        if (!streq_ptr(s->load_state, "loaded")) {
                *ret_why = DEP_REASON_NOT_LOADED;
                return DEP_LEFT_ALONE;
        }
        if (s->job_id != 0 || dep_state_is_running(s))
                return DEP_SELECTED;

        if (streq_ptr(s->active_state, "failed")) {
                /* It failed after a provider left the active state, and
                 * before that provider came back (if it has). */
                for (size_t k = 0; k < u->n_providers; k++) {
                        const DepState *p = &g->units[u->providers[k]].st0;
                        if (p->active_exit == 0 || p->active_exit > s->inactive_enter + DEP_TOUCH_USEC)
                                continue;
                        if (dep_state_is_running(p) && p->inactive_exit > p->active_exit &&
                            s->inactive_enter > p->inactive_exit + DEP_TOUCH_USEC)
                                continue;
                        return DEP_SELECTED;
                }
                *ret_why = DEP_REASON_FAILED_ON_ITS_OWN;
                *ret_why_unit = first;
                return DEP_LEFT_ALONE;
        }

        if (s->active_exit == 0) {
                /* Never active since systemd loaded it: a start that
                 * failed for a dependency looks like this. */
                if (!unit_file_state_is_enabled(s->unit_file_state)) {
                        *ret_why = DEP_REASON_NEVER_STARTED_DISABLED;
                        return DEP_LEFT_ALONE;
                }
                for (size_t k = 0; k < u->n_providers; k++)
                        if (g->units[u->providers[k]].st0.inactive_enter != 0)
                                return DEP_SELECTED;
                *ret_why = DEP_REASON_NEVER_STARTED;
                *ret_why_unit = first;
                return DEP_LEFT_ALONE;
        }

        for (size_t k = 0; k < u->n_providers; k++) {
                const DepState *p = &g->units[u->providers[k]].st0;
                if (p->active_exit == 0)
                        continue;
                if (window_touches(s->active_exit, s->inactive_enter, p->active_exit) ||
                    (p->inactive_enter != 0 && window_touches(s->active_exit, s->inactive_enter, p->inactive_enter)))
                        return DEP_SELECTED;
        }
        *ret_why = DEP_REASON_STOPPED_SEPARATELY;
        *ret_why_unit = first;
        return DEP_LEFT_ALONE;
}

void dep_graph_select(DepGraph *g) {
        bool changed = true;

        if (g->n == 0)
                return;
        g->units[0].verdict = DEP_SELECTED;
        for (size_t i = 1; i < g->n; i++) {
                DepUnit *u = g->units + i;
                u->verdict = dep_unit_judge(g, i, &u->st0, &u->why, &u->why_unit);
        }

        /* A chain that never started (a failed at boot, so b's start
         * failed, so c's did): c's provider b has never been down either,
         * but it will be started now, so c goes with it. */
        while (changed) {
                changed = false;
                for (size_t i = 1; i < g->n; i++) {
                        DepUnit *u = g->units + i;
                        if (u->verdict != DEP_LEFT_ALONE || u->why != DEP_REASON_NEVER_STARTED)
                                continue;
                        for (size_t k = 0; k < u->n_providers; k++) {
                                const DepUnit *p = g->units + u->providers[k];
                                if (u->providers[k] != 0 && p->verdict == DEP_SELECTED && !dep_state_is_running(&p->st0)) {
                                        u->verdict = DEP_SELECTED;
                                        u->why = DEP_REASON_NONE;
                                        u->why_unit = -1;
                                        changed = true;
                                        break;
                                }
                        }
                }
        }

        /* Starting a unit starts what it needs: one that needs a unit left
         * alone is left alone too. */
        changed = true;
        while (changed) {
                changed = false;
                for (size_t i = 1; i < g->n; i++) {
                        DepUnit *u = g->units + i;
                        if (u->verdict != DEP_SELECTED)
                                continue;
                        for (size_t k = 0; k < u->n_providers; k++)
                                if (g->units[u->providers[k]].verdict == DEP_LEFT_ALONE) {
                                        u->verdict = DEP_LEFT_ALONE;
                                        u->why = DEP_REASON_NEEDS_LEFT_ALONE;
                                        u->why_unit = (ssize_t) u->providers[k];
                                        changed = true;
                                        break;
                                }
                }
        }
}

const char *dep_unit_reason(const DepGraph *g, size_t i, char *buf, size_t size) {
        const DepUnit *u = g->units + i;
        const char *other = u->why_unit >= 0 && (size_t) u->why_unit < g->n ? g->units[u->why_unit].name
                                                                              : "what it depends on";

        switch (u->why) {
        case DEP_REASON_NOT_LOADED:
                snprintf(buf, size, "not loaded (%s)", u->st.load_state ?: strna(u->st0.load_state));
                break;
        case DEP_REASON_FAILED_ON_ITS_OWN:
                snprintf(buf, size, "failed on its own, not while %s was down", other);
                break;
        case DEP_REASON_STOPPED_SEPARATELY:
                snprintf(buf, size, "stopped separately from %s", other);
                break;
        case DEP_REASON_NEVER_STARTED_DISABLED:
                snprintf(buf, size, "never started, and not enabled");
                break;
        case DEP_REASON_NEVER_STARTED:
                snprintf(buf, size, "never started, and %s has not been down", other);
                break;
        case DEP_REASON_NEEDS_LEFT_ALONE:
                snprintf(buf, size, "needs %s, which is left alone", other);
                break;
        default:
                snprintf(buf, size, "left alone");
        }
        return buf;
}

/* ---- in which order ---- */

/* Whether unit i must wait for unit j: it is After= j, or needs it. */
static bool must_follow(const DepGraph *g, size_t i, size_t j) {
        const DepUnit *u = g->units + i;

        for (size_t k = 0; k < u->n_providers; k++)
                if (u->providers[k] == j)
                        return true;
        return strv_contains(u->after, g->units[j].name);
}

int dep_graph_order(DepGraph *g, char **ret_cycle) {
        _cleanup_free_ size_t *waits = NULL;
        _cleanup_free_ bool *placed = NULL;
        size_t n_selected = 0;

        if (ret_cycle)
                *ret_cycle = NULL;
        g->order = mfree(g->order);
        g->n_order = 0;
        if (g->n <= 1)
                return 0;

        waits = calloc(g->n, sizeof(size_t));
        placed = calloc(g->n, sizeof(bool));
        g->order = calloc(g->n, sizeof(size_t));
        if (!waits || !placed || !g->order)
                return -ENOMEM;

        for (size_t i = 1; i < g->n; i++) {
                if (g->units[i].verdict != DEP_SELECTED)
                        continue;
                n_selected++;
                for (size_t j = 1; j < g->n; j++)
                        if (j != i && g->units[j].verdict == DEP_SELECTED && must_follow(g, i, j))
                                waits[i]++;
        }

        /* Kahn, taking the ready unit with the smallest name each time, so
         * the order does not depend on the order systemd listed them in. */
        while (g->n_order < n_selected) {
                ssize_t next = -1;
                for (size_t i = 1; i < g->n; i++)
                        if (g->units[i].verdict == DEP_SELECTED && !placed[i] && waits[i] == 0 &&
                            (next < 0 || strcmp(g->units[i].name, g->units[next].name) < 0))
                                next = (ssize_t) i;
                if (next < 0)
                        break;
                placed[next] = true;
                g->order[g->n_order++] = (size_t) next;
                for (size_t i = 1; i < g->n; i++)
                        if (g->units[i].verdict == DEP_SELECTED && !placed[i] && must_follow(g, i, (size_t) next))
                                waits[i]--;
        }
        if (g->n_order == n_selected)
                return 0;

        if (ret_cycle) {
                _cleanup_strv_free_ char **names = NULL;
                for (size_t i = 1; i < g->n; i++)
                        if (g->units[i].verdict == DEP_SELECTED && !placed[i] &&
                            strv_extend(&names, g->units[i].name) < 0)
                                return -ENOMEM;
                *ret_cycle = strv_join(names, ", ");
                if (!*ret_cycle)
                        return -ENOMEM;
        }
        return -ELOOP;
}

/* ---- at its turn ---- */

DepAction dep_unit_action(const DepGraph *g, size_t i) {
        const DepUnit *u = g->units + i;
        const DepState *s = &u->st;
        usec_t back = 0;

        if (s->job_id != 0)
                return DEP_ACTION_WAIT_JOB;
        if (!dep_state_is_up(s))
                return DEP_ACTION_START;

        /* When its providers last began to start; a unit started after
         * that runs against them as they are now. */
        for (size_t k = 0; k < u->n_providers; k++)
                back = MAX(back, g->units[u->providers[k]].st.inactive_exit);
        return s->inactive_exit >= back ? DEP_ACTION_DONE : DEP_ACTION_RESTART;
}

/* ---- the message ---- */

void dep_msg_add(DepMsg *m, const char *format, ...) {
        va_list ap;
        int n;

        if (m->off >= sizeof(m->buf) - 1)
                return;
        va_start(ap, format);
        n = vsnprintf(m->buf + m->off, sizeof(m->buf) - m->off, format, ap);
        va_end(ap);
        if (n > 0)
                m->off = MIN(m->off + (size_t) n, sizeof(m->buf) - 1);
}

static void msg_part(DepMsg *m, bool *any, const char *head) {
        if (*any)
                dep_msg_add(m, ", ");
        else
                dep_msg_add(m, "%s%s", m->off > 0 ? "; " : "", head);
        *any = true;
}

void dep_graph_describe(const DepGraph *g, bool failures, DepMsg *m) {
        char why[256];
        bool any = false;
        unsigned last = 0;

        if (g->n == 0)
                return;
        for (size_t i = 0; failures && i < g->n; i++)
                if (g->units[i].outcome == DEP_OUT_FAILED) {
                        dep_msg_add(m, "%s%s did not come back (%s)", m->off > 0 ? "; " : "", g->units[i].name,
                                    strna(g->units[i].detail));
                }
        if (g->units[0].outcome == DEP_OUT_STARTED)
                dep_msg_add(m, "%sstarted %s (was %s)", m->off > 0 ? "; " : "", g->units[0].name,
                            strna(g->units[0].was));

        /* Our jobs, in the order they ran. */
        for (size_t i = 1; i < g->n; i++)
                last = MAX(last, g->units[i].seq);
        for (unsigned s = 1; s <= last; s++)
                for (size_t i = 1; i < g->n; i++) {
                        const DepUnit *u = g->units + i;
                        if ((u->outcome != DEP_OUT_RESTARTED && u->outcome != DEP_OUT_STARTED) || u->seq != s)
                                continue;
                        if (any)
                                dep_msg_add(m, ", then ");
                        else
                                dep_msg_add(m, "%srestarted ", m->off > 0 ? "; " : "");
                        any = true;
                        dep_msg_add(m, "%s", u->name);
                        if (u->outcome == DEP_OUT_STARTED)
                                dep_msg_add(m, " (was %s)", strna(u->was));
                }

        any = false;
        for (size_t p = 0; p < g->n_order; p++) {
                const DepUnit *u = g->units + g->order[p];
                if (u->outcome != DEP_OUT_UP_ALREADY && u->outcome != DEP_OUT_SYSTEMD_JOB)
                        continue;
                msg_part(m, &any, "already back: ");
                dep_msg_add(m, "%s (%s)", u->name, u->outcome == DEP_OUT_SYSTEMD_JOB ? "started by the job systemd had queued"
                                                                                     : "active since what it needs came back");
        }

        any = false;
        for (size_t i = 1; i < g->n; i++) {
                const DepUnit *u = g->units + i;
                if (u->outcome != DEP_OUT_LEFT_ALONE && !(u->outcome == DEP_OUT_NONE && u->verdict == DEP_LEFT_ALONE))
                        continue;
                msg_part(m, &any, "left alone: ");
                dep_msg_add(m, "%s (%s)", u->name, dep_unit_reason(g, i, why, sizeof(why)));
        }

        any = false;
        for (size_t i = 1; i < g->n; i++) {
                const DepUnit *u = g->units + i;
                if (u->outcome != DEP_OUT_NOT_TRIED)
                        continue;
                msg_part(m, &any, "not tried: ");
                dep_msg_add(m, "%s (needs %s)", u->name, u->blocker < g->n ? g->units[u->blocker].name : "?");
        }
}
