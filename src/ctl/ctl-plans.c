/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The salvectl verbs that read plan files directly: verify, plans, show
 * and graph. They need no daemon, so a plan can be checked on a laptop
 * before it is installed. */

#include <json-c/json.h>

#include "ctl.h"
#include "ctl-report.h"
#include "plan-graph.h"
#include "plan-json.h"
#include "relay-config.h"
#include "plan-set.h"
#include "string-util.h"

/* Loads from --plans-dir if given, else the system dirs with the same
 * ownership checks salved applies. */
static int load_plan_set(Ctl *c, Diagnostics *d, PlanSet **ret) {
        if (c->plan_dirs)
                return plan_set_load_dirs((const char * const *) c->plan_dirs, 0, d, ret);
        return plan_set_load_dirs(plan_set_default_dirs, PLAN_LOAD_SECURE, d, ret);
}

void print_human_help(const char *prefix, const char *instructions, char *const *links) {
        for (const char *l = instructions; l && *l;) {
                size_t n = strcspn(l, "\n");
                printf("%s%.*s\n", prefix, (int) n, l);
                l += n;
                if (*l == '\n')
                        l++;
        }
        for (size_t i = 0; links && links[i]; i++)
                printf("%ssee: %s\n", prefix, links[i]);
}

int verb_verify(Ctl *c, int argc, char **argv) {
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        Diagnostics d = {};
        int r;

        if (argc > 1)
                r = plan_set_load_paths(argv + 1, 0, &d, &s);
        else
                r = load_plan_set(c, &d, &s);
        if (r < 0) {
                fprintf(stderr, "salvectl: failed to load plans: %s\n", strerror(-r));
                diagnostics_done(&d);
                return EXIT_FAILURE;
        }
        json_object *o = c->json ? json_object_new_object() : NULL;
        /* The people directory too, and the plans' owner and escalate names against it. */
        r = ctl_verify_people(c, s->plans, s->n_plans, &d, o);
        if (r < 0) {
                fprintf(stderr, "salvectl: failed to load the people directory: %s\n", strerror(-r));
                json_object_put(o);
                diagnostics_done(&d);
                return EXIT_FAILURE;
        }
        /* And where notifications go (salve.relay(5)): its own file:line:col
         * diagnostics, secrets' files' ownership and modes included. */
        r = relay_config_verify(NULL, &d);
        if (r < 0 && r != -EINVAL) {
                fprintf(stderr, "salvectl: failed to read the relay's configuration: %s\n", strerror(-r));
                json_object_put(o);
                diagnostics_done(&d);
                return EXIT_FAILURE;
        }
        diagnostics_sort(&d);
        if (c->json) {
                json_object *ok = json_object_new_array();
                for (size_t i = 0; i < s->n_plans; i++)
                        json_object_array_add(ok, plan_to_json(s->plans[i], false));
                json_object_object_add(o, "plans", ok);
                json_object_object_add(o, "diagnostics", diagnostics_to_json(&d));
                json_object_object_add(o, "errors", json_object_new_int((int) d.n_errors));
                json_object_object_add(o, "warnings", json_object_new_int((int) d.n_warnings));
                print_json(o);
                json_object_put(o);
        } else {
                diagnostics_print(&d, stderr);
                if (d.n_errors == 0)
                        printf("%zu plan%s OK%s\n", s->n_plans, s->n_plans == 1 ? "" : "s",
                               d.n_warnings > 0 ? " (with warnings)" : "");
                else
                        printf("%zu error%s, %zu warning%s\n", d.n_errors, d.n_errors == 1 ? "" : "s",
                               d.n_warnings, d.n_warnings == 1 ? "" : "s");
        }
        r = d.n_errors > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        diagnostics_done(&d);
        return r;
}

int verb_plans(Ctl *c, int argc, char **argv) {
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        Diagnostics d = {};
        int r;

        r = load_plan_set(c, &d, &s);
        if (r < 0) {
                fprintf(stderr, "salvectl: failed to load plans: %s\n", strerror(-r));
                diagnostics_done(&d);
                return EXIT_FAILURE;
        }
        diagnostics_sort(&d);
        diagnostics_print(&d, stderr);
        if (c->json) {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < s->n_plans; i++)
                        json_object_array_add(a, plan_to_json(s->plans[i], false));
                print_json(a);
                json_object_put(a);
        } else {
                _cleanup_strv_free_ char **triggers = NULL;
                int wname = 4, wtrig = 8;

                /* Columns as wide as their widest cell. */
                for (size_t i = 0; i < s->n_plans; i++) {
                        const Plan *p = s->plans[i];
                        _cleanup_strv_free_ char **t = NULL;
                        char *joined;

                        for (size_t k = 0; k < p->n_triggers; k++)
                                if (strv_push(&t, trigger_to_string(p->triggers + k)) < 0)
                                        return EXIT_FAILURE;
                        joined = t ? strv_join(t, ", ") : strdup("manual");
                        if (joined && t && !p->armed) {
                                char *x = NULL;
                                if (asprintf(&x, "%s (not armed)", joined) < 0)
                                        x = NULL;
                                free(joined);
                                joined = x;
                        }
                        if (!joined || strv_push(&triggers, joined) < 0)
                                return EXIT_FAILURE;
                        wname = MAX(wname, (int) strlen(p->name));
                        wtrig = MAX(wtrig, (int) strlen(joined));
                }
                if (c->legend)
                        printf("%s%-*s %-*s %-6s %-5s %s%s\n", ansi(c, ANSI_BOLD), wname, "PLAN", wtrig, "TRIGGERS", "RTO",
                               "STEPS", "SOURCE", ansi(c, ANSI_RESET));
                for (size_t i = 0; i < s->n_plans; i++) {
                        const Plan *p = s->plans[i];
                        char rto[FORMAT_DURATION_MAX];

                        printf("%-*s %-*s %-6s %-5zu %s\n", wname, p->name, wtrig, triggers[i],
                               p->rto == USEC_INFINITY ? "-" : format_duration(rto, p->rto), p->n_steps, p->path);
                }
                if (c->legend)
                        printf("\n%zu plan%s listed%s.\n", s->n_plans, s->n_plans == 1 ? "" : "s",
                               d.n_errors > 0 ? "; some files have errors (see salvectl verify)" : "");
        }
        r = d.n_errors > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        diagnostics_done(&d);
        return r;
}

static int find_plan(Ctl *c, const char *name, PlanSet **ret_set, const Plan **ret) {
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        Diagnostics d = {};
        const Plan *p;
        int r;

        r = load_plan_set(c, &d, &s);
        if (r < 0) {
                fprintf(stderr, "salvectl: failed to load plans: %s\n", strerror(-r));
                diagnostics_done(&d);
                return EXIT_FAILURE;
        }
        p = plan_set_find(s, name);
        if (!p) {
                diagnostics_sort(&d);
                diagnostics_print(&d, stderr);
                fprintf(stderr, "salvectl: no plan named \"%s\"%s\n", name,
                        d.n_errors > 0 ? " (some plan files have errors, shown above)" : "");
                diagnostics_done(&d);
                return EXIT_NOT_FOUND;
        }
        /* This plan's own warnings (what it relies on that does not work
         * yet), so that show says it where a person reads the plan. */
        diagnostics_sort(&d);
        for (size_t i = 0; i < d.n_items; i++) {
                const Diag *x = d.items + i;
                if (x->file && p->path && streq(x->file, p->path))
                        fprintf(stderr, "%s:%u:%u: %s: %s\n", x->file, x->line, x->column,
                                diag_level_to_string(x->level), x->message);
        }
        diagnostics_done(&d);
        *ret = p;
        *ret_set = TAKE_PTR(s);
        return 0;
}

/* show's head: the plan's name, source, triggers, holds, owner, RTO. */
static void show_summary(Ctl *c, const Plan *p) {
        char a[FORMAT_DURATION_MAX], b[FORMAT_DURATION_MAX];

        printf("%s%s%s%s%s\n", ansi(c, ANSI_BOLD), p->name, ansi(c, ANSI_RESET), p->description ? " - " : "",
               strempty(p->description));
        printf("  source:   %s\n", p->path);
        printf("  triggers: ");
        for (size_t i = 0; i < p->n_triggers; i++) {
                _cleanup_free_ char *t = trigger_to_string(p->triggers + i);
                printf("%s%s", i > 0 ? ", " : "", strna(t));
        }
        printf("%s\n", p->n_triggers == 0 ? "manual only" : "");
        if (!p->armed)
                printf("  armed:    no: its triggers start nothing until armed (see salve.plan(5), armed:)\n");
        if (p->holds) {
                _cleanup_free_ char *h = strv_join(p->holds, ", ");
                printf("  holds:    %s\n", strna(h));
        }
        if (p->owner)
                printf("  owner:    %s\n", p->owner);
        if (p->critical_usec == 0)
                /* Without estimates there is no critical path to compare. */
                printf("  rto:      %s; the plan gives no estimates, so no critical path\n",
                       p->rto == USEC_INFINITY ? "none" : format_duration(a, p->rto));
        else
                printf("  rto:      %s, critical path %s%s%s%s\n",
                       p->rto == USEC_INFINITY ? "none" : format_duration(a, p->rto),
                       format_duration(b, p->critical_usec),
                       p->rto != USEC_INFINITY && p->critical_usec > p->rto ? ansi(c, ANSI_RED) : "",
                       p->rto != USEC_INFINITY && p->critical_usec > p->rto ? " (OVER the RTO)" : "",
                       ansi(c, ANSI_RESET));
        printf("  parallel: %u, concurrency: %s\n\n", p->parallel, concurrency_to_string(p->concurrency));
}

int verb_show(Ctl *c, int argc, char **argv) {
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        _cleanup_free_ bool *critical = NULL;
        char a[FORMAT_DURATION_MAX];
        const Plan *p;
        int r;

        r = find_plan(c, argv[1], &s, &p);
        if (r != 0)
                return r;
        if (c->json) {
                json_object *o = plan_to_json(p, true);
                print_json(o);
                json_object_put(o);
                return EXIT_SUCCESS;
        }

        critical = calloc(p->n_steps, sizeof(bool));
        if (!critical)
                return EXIT_FAILURE;
        for (size_t i = 0; i < p->n_critical && p->critical_usec > 0; i++)
                critical[p->critical[i]] = true;

        /* With --no-legend, the step rows alone: one step a line. */
        if (c->legend) {
                show_summary(c, p);
                printf("%s  %-3s %-20s %-15s %-24s %-14s %-9s %s%s\n", ansi(c, ANSI_BOLD), "#", "STEP", "KIND",
                       "NEEDS", "OWNER", "ESTIMATE", "NOTE", ansi(c, ANSI_RESET));
        }
        for (size_t o = 0; o < p->n_steps; o++) {
                const Step *st = p->steps + p->order[o];
                _cleanup_free_ char *needs = st->needs && st->needs[0] ? strv_join(st->needs, ",") : strdup("-");
                const char *owner = step_kind_is_human(st->kind) ? (st->owner ?: p->owner) : st->owner;
                char e[FORMAT_DURATION_MAX];

                printf("  %s%-3zu %-20s %-15s %-24s %-14s %-9s", critical[p->order[o]] ? ansi(c, ANSI_RED) : "",
                       o + 1, st->id, step_kind_to_string(st->kind), strna(needs), owner ?: "-",
                       st->estimate ? format_duration(e, st->estimate) : "-");
                if (critical[p->order[o]])
                        printf(" critical");
                if (st->is_handler)
                        printf(" handler");
                if (st->on_failure == ON_FAILURE_HANDLER)
                        printf(" on-failure:%s", st->on_failure_step);
                else if (st->on_failure == ON_FAILURE_CONTINUE)
                        printf(" on-failure:continue");
                if (st->retry_attempts > 1)
                        printf(" retry:%u", st->retry_attempts);
                if (!st->idempotent)
                        printf(" not-idempotent");
                if (st->done_if)
                        printf(" done-if");
                if (st->when.present)
                        printf(" conditional");
                printf("%s\n", critical[p->order[o]] ? ansi(c, ANSI_RESET) : "");
                if (c->legend)
                        print_human_help("        ", st->instructions, st->links);
        }
        if (c->legend && p->n_critical > 0 && p->critical_usec > 0) {
                printf("\n  critical path: ");
                for (size_t i = 0; i < p->n_critical; i++)
                        printf("%s%s", i > 0 ? " -> " : "", p->steps[p->critical[i]].id);
                printf(" (%s)\n", format_duration(a, p->critical_usec));
        }
        return EXIT_SUCCESS;
}

bool ctl_plan_exists(Ctl *c, const char *name) {
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        Diagnostics d = {};
        bool found = load_plan_set(c, &d, &s) >= 0 && plan_set_find(s, name);

        diagnostics_done(&d);
        return found;
}

/* graph NAME: a loaded plan's graph, else the run's (ctl-graph.c). */
int verb_graph(Ctl *c, int argc, char **argv) {
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        DotOutput out;
        const Plan *p;
        int r;

        if (!ctl_plan_exists(c, argv[1]))
                return verb_graph_run(c, argc, argv);
        r = find_plan(c, argv[1], &s, &p);
        if (r != 0)
                return r;
        if (ctl_dot_open(c, &out) < 0)
                return EXIT_FAILURE;
        r = plan_write_dot(p, out.f);
        if (ctl_dot_close(c, &out) < 0 || r < 0) {
                if (r < 0)
                        fprintf(stderr, "salvectl: failed to write graph: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
