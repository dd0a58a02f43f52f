/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unit.restart-dependents, the pure part (src/exec/dependents.c): which
 * dependents are chosen, in which order, and what is done at each one's
 * turn, from graphs written the way systemd 252 showed them (monotonic
 * timestamps as seen in tests/integration/test-restart-dependents.sh).
 * Times below are in seconds; 0 is "never". */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dependents.h"

typedef struct Spec {
        const char *name;
        const char *state;              /* ActiveState; NULL: "active" */
        double enter, exit, ienter, iexit;      /* Active{Enter,Exit}, Inactive{Enter,Exit} */
        const char *required_by, *bound_by, *wanted_by, *after;        /* space-separated */
        const char *file_state;         /* NULL: "static" */
        uint32_t job;
        const char *load;               /* NULL: "loaded" */
} Spec;

static usec_t S(double s) {
        return (usec_t) (s * USEC_PER_SEC);
}

static char **split(const char *s) {
        char **l = NULL;
        _cleanup_free_ char *copy = s ? strdup(s) : NULL;
        char *save = NULL;

        if (!copy)
                return NULL;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
                assert_int_equal(strv_extend(&l, w), 0);
        return l;
}

static void set_state(DepState *st, const Spec *s) {
        dep_state_done(st);
        st->load_state = strdup(s->load ?: "loaded");
        st->active_state = strdup(s->state ?: "active");
        st->unit_file_state = strdup(s->file_state ?: "static");
        st->job_id = s->job;
        st->job_path = s->job ? strdup("/org/freedesktop/systemd1/job/1") : NULL;
        st->active_enter = S(s->enter);
        st->active_exit = S(s->exit);
        st->inactive_enter = S(s->ienter);
        st->inactive_exit = S(s->iexit);
}

/* Builds the graph as the executor does: root first, every unit read. */
static void build(DepGraph *g, unsigned follow, const Spec *specs, size_t n) {
        *g = (DepGraph) { .follow = follow };
        for (size_t i = 0; i < n; i++) {
                size_t k;
                assert_true(dep_graph_add(g, specs[i].name, &k) >= 0);
                DepUnit *u = g->units + k;
                set_state(&u->st0, specs + i);
                assert_int_equal(dep_state_copy(&u->st0, &u->st), 0);
                u->required_by = split(specs[i].required_by);
                u->bound_by = split(specs[i].bound_by);
                u->wanted_by = split(specs[i].wanted_by);
                u->after = split(specs[i].after);
                u->read = true;
        }
        assert_int_equal(dep_graph_link(g), 0);
        dep_graph_select(g);
}

static size_t idx(const DepGraph *g, const char *name) {
        ssize_t i = dep_graph_find(g, name);
        assert_true(i >= 0);
        return (size_t) i;
}

static void assert_order(DepGraph *g, const char *want) {
        _cleanup_free_ char *cycle = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *got = NULL;

        assert_int_equal(dep_graph_order(g, &cycle), 0);
        assert_null(cycle);
        for (size_t i = 0; i < g->n_order; i++)
                assert_int_equal(strv_extend(&names, g->units[g->order[i]].name), 0);
        got = names ? strv_join(names, " ") : strdup("");
        assert_string_equal(got, want);
}

static void assert_left_alone(const DepGraph *g, const char *name, const char *why) {
        char buf[256];
        size_t i = idx(g, name);

        assert_int_equal(g->units[i].verdict, DEP_LEFT_ALONE);
        assert_string_equal(dep_unit_reason(g, i, buf, sizeof(buf)), why);
}

/* At its turn: the unit is read again (here: set to s), then acted on. */
static DepAction turn(DepGraph *g, const Spec *s) {
        size_t i = idx(g, s->name);
        set_state(&g->units[i].st, s);
        return dep_unit_action(g, i);
}

static void test_follow(void **state) {
        unsigned f;
        char buf[64];

        assert_int_equal(dep_follow_from_strv(NULL, &f), 0);
        assert_int_equal(f, DEP_FOLLOW_REQUIRES | DEP_FOLLOW_BINDS_TO);
        assert_string_equal(dep_follow_to_string(f, buf, sizeof(buf)), "requires, binds-to");
        assert_int_equal(dep_follow_from_strv((char **) STRV_MAKE_CONST("wants"), &f), 0);
        assert_int_equal(f, DEP_FOLLOW_WANTS);
        assert_int_equal(dep_follow_from_strv((char **) STRV_MAKE_CONST("requires", "binds-to", "wants"), &f), 0);
        assert_string_equal(dep_follow_to_string(f, buf, sizeof(buf)), "requires, binds-to, wants");
        assert_int_equal(dep_follow_from_strv((char **) STRV_MAKE_CONST("requires", "requisite"), &f), -EINVAL);

        assert_true(dep_unit_name_is_followed("b.service"));
        assert_true(dep_unit_name_is_followed("data.mount"));
        assert_false(dep_unit_name_is_followed("multi-user.target"));
        assert_false(dep_unit_name_is_followed("system.slice"));
        assert_false(dep_unit_name_is_followed("dev-sda.device"));
}

/* a crashed at 10 and was restarted at 20; b crashed with it; c (Requires
 * b) kept running against the dead b. Seen in systemd 252: a restart of a
 * does not bring a failed b back (its try-restart is a no-op on a failed
 * unit), and c is not restarted either. */
static void test_chain_crash(void **state) {
        const Spec specs[] = {
                { "a.service", .enter = 20.1, .exit = 10, .ienter = 10, .iexit = 20, .required_by = "b.service" },
                { "b.service", "failed", .enter = 1.1, .exit = 10.2, .ienter = 10.2, .iexit = 1,
                  .required_by = "c.service", .after = "a.service" },
                { "c.service", .enter = 1.2, .iexit = 1.15, .after = "b.service" },
        };
        DepGraph g;

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        assert_int_equal(g.units[idx(&g, "b.service")].verdict, DEP_SELECTED);
        assert_int_equal(g.units[idx(&g, "c.service")].verdict, DEP_SELECTED);
        assert_order(&g, "b.service c.service");

        /* b's turn: still failed, so started. */
        assert_int_equal(turn(&g, &specs[1]), DEP_ACTION_START);
        /* b is up again since 30: c, up since 1.2, is stale. */
        assert_int_equal(turn(&g, &(Spec) { "b.service", .enter = 30.1, .exit = 10.2, .ienter = 10.2, .iexit = 30 }),
                         DEP_ACTION_DONE);
        assert_int_equal(turn(&g, &specs[2]), DEP_ACTION_RESTART);
        dep_graph_done(&g);
}

/* The Requires= pitfall: `unit.restart a` made systemd try-restart b and c
 * itself (seen in 252: c stops, b stops, a starts, b starts, c starts). */
static void test_systemd_restarted_them(void **state) {
        const Spec specs[] = {
                { "a.service", .enter = 20.1, .exit = 10, .ienter = 10, .iexit = 20, .required_by = "b.service" },
                { "b.service", .enter = 20.3, .exit = 19.9, .ienter = 19.95, .iexit = 20.2,
                  .required_by = "c.service", .after = "a.service" },
                { "c.service", .enter = 20.5, .exit = 19.8, .ienter = 19.85, .iexit = 20.4, .after = "b.service" },
        };
        DepGraph g;

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        assert_order(&g, "b.service c.service");
        assert_int_equal(turn(&g, &specs[1]), DEP_ACTION_DONE);
        assert_int_equal(turn(&g, &specs[2]), DEP_ACTION_DONE);

        /* Still queued (b's restart job, in its start phase): wait for it. */
        Spec queued = specs[1];
        queued.state = "activating";
        queued.job = 7;
        assert_int_equal(turn(&g, &queued), DEP_ACTION_WAIT_JOB);
        dep_graph_done(&g);
}

/* systemctl stop a: systemd stopped c, then b, then a (each within ms);
 * then a alone was started again. */
static void test_propagated_stop(void **state) {
        const Spec specs[] = {
                { "a.service", .enter = 30.1, .exit = 10.02, .ienter = 10.03, .iexit = 30,
                  .required_by = "b.service", .bound_by = "d.service" },
                { "b.service", "inactive", .enter = 1.1, .exit = 10.01, .ienter = 10.015, .iexit = 1,
                  .required_by = "c.service", .after = "a.service" },
                { "c.service", "inactive", .enter = 1.2, .exit = 10.0, .ienter = 10.005, .iexit = 1.15,
                  .after = "b.service" },
                /* BindsTo=a, stopped once a was down */
                { "d.service", "inactive", .enter = 1.3, .exit = 10.04, .ienter = 10.05, .iexit = 1.25,
                  .after = "a.service" },
        };
        DepGraph g;

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        assert_order(&g, "b.service c.service d.service");
        assert_int_equal(turn(&g, &specs[1]), DEP_ACTION_START);
        dep_graph_done(&g);
}

/* BindsTo= after a crash: d is stopped just after a became failed. */
static void test_bound_after_crash(void **state) {
        const Spec specs[] = {
                { "a.service", "failed", .enter = 1, .exit = 10, .ienter = 10, .iexit = 0.9, .bound_by = "d.service" },
                { "d.service", "inactive", .enter = 1.3, .exit = 10.001, .ienter = 10.002, .iexit = 1.25 },
        };
        DepGraph g;

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        assert_order(&g, "d.service");
        dep_graph_done(&g);
}

/* An admin stopped c at 5, before a went down at 10; b never went down. */
static void test_admin_stop(void **state) {
        const Spec specs[] = {
                { "a.service", .enter = 20.1, .exit = 10, .ienter = 10, .iexit = 20,
                  .required_by = "b.service x.service" },
                { "b.service", .enter = 20.3, .exit = 19.9, .ienter = 19.95, .iexit = 20.2, .required_by = "c.service" },
                { "c.service", "inactive", .enter = 1.2, .exit = 5, .ienter = 5.01, .iexit = 1.15,
                  .required_by = "e.service" },
                /* needs c: starting it would start c */
                { "e.service", "failed", .enter = 1.3, .exit = 5, .ienter = 5, .iexit = 1.25 },
                /* stopped 3 s after a went down: not with it */
                { "x.service", "inactive", .enter = 1.3, .exit = 13, .ienter = 13.1, .iexit = 1.25 },
        };
        DepGraph g;

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        assert_left_alone(&g, "c.service", "stopped separately from b.service");
        assert_left_alone(&g, "e.service", "needs c.service, which is left alone");
        assert_left_alone(&g, "x.service", "stopped separately from a.service");
        assert_order(&g, "b.service");
        dep_graph_done(&g);
}

static void test_failed(void **state) {
        const Spec specs[] = {
                { "a.service", .enter = 20.1, .exit = 10, .ienter = 10, .iexit = 20,
                  .required_by = "early.service late.service during.service" },
                { "early.service", "failed", .enter = 1, .exit = 5, .ienter = 5, .iexit = 0.5 },
                { "late.service", "failed", .enter = 21, .exit = 40, .ienter = 40, .iexit = 20.5 },
                { "during.service", "failed", .enter = 1, .exit = 15, .ienter = 15, .iexit = 0.5 },
        };
        DepGraph g;

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        assert_left_alone(&g, "early.service", "failed on its own, not while a.service was down");
        assert_left_alone(&g, "late.service", "failed on its own, not while a.service was down");
        assert_order(&g, "during.service");
        dep_graph_done(&g);
}

/* a failed at boot; b's start failed with "dependency": systemd 252 shows
 * b inactive with every timestamp 0. */
static void test_never_started(void **state) {
        const Spec specs[] = {
                { "a.service", .enter = 20.1, .ienter = 1, .iexit = 20, .required_by = "b.service s.service" },
                { "b.service", "inactive", .file_state = "enabled" },
                { "s.service", "inactive" },
        };
        const Spec quiet[] = {
                { "a.service", .enter = 1, .iexit = 0.9, .required_by = "b.service" },
                { "b.service", "inactive", .file_state = "enabled" },
        };
        DepGraph g;

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        assert_left_alone(&g, "s.service", "never started, and not enabled");
        assert_order(&g, "b.service");
        dep_graph_done(&g);

        /* a <- b <- c, none ever up: b's provider a has been down, c's
         * provider b never has, but b is down and chosen. */
        const Spec chain[] = {
                { "a.service", .enter = 20.1, .ienter = 1, .iexit = 20, .required_by = "b.service" },
                { "b.service", "inactive", .file_state = "enabled-runtime", .required_by = "c.service" },
                { "c.service", "inactive", .file_state = "enabled", .required_by = "n.service" },
                { "n.service", "inactive" },
        };
        build(&g, DEP_FOLLOW_DEFAULT, chain, ELEMENTSOF(chain));
        assert_left_alone(&g, "n.service", "never started, and not enabled");
        assert_order(&g, "b.service c.service");
        dep_graph_done(&g);

        build(&g, DEP_FOLLOW_DEFAULT, quiet, ELEMENTSOF(quiet));
        assert_left_alone(&g, "b.service", "never started, and a.service has not been down");
        dep_graph_done(&g);
}

static void test_wants_and_types(void **state) {
        const Spec specs[] = {
                { "a.service", .enter = 20.1, .exit = 10, .ienter = 10, .iexit = 20, .required_by = "b.service",
                  .wanted_by = "w.service" },
                { "b.service", .enter = 20.3, .iexit = 20.2 },
                { "w.service", .enter = 1.3, .iexit = 1.25 },
                { "m.mount", "masked", .load = "masked" },
        };
        DepGraph g;

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        /* Not followed: w is in the graph here but needs nothing in it. */
        assert_int_equal(g.units[idx(&g, "w.service")].n_providers, 0);
        dep_graph_done(&g);

        build(&g, DEP_FOLLOW_DEFAULT | DEP_FOLLOW_WANTS, specs, ELEMENTSOF(specs));
        assert_int_equal(g.units[idx(&g, "w.service")].n_providers, 1);
        assert_left_alone(&g, "m.mount", "not loaded (masked)");
        assert_order(&g, "b.service w.service");
        assert_int_equal(turn(&g, &specs[1]), DEP_ACTION_DONE);
        assert_int_equal(turn(&g, &specs[2]), DEP_ACTION_RESTART);
        dep_graph_done(&g);
}

static void test_order(void **state) {
        /* After= among the chosen ones, ties by name; Before= shows up in
         * systemd's After= of the other unit, so After= alone suffices. */
        const Spec specs[] = {
                { "a.service", .enter = 20.1, .exit = 10, .ienter = 10, .iexit = 20,
                  .required_by = "z.service y.service x.service" },
                { "z.service", .enter = 1, .iexit = 1, .after = "x.service" },
                { "y.service", .enter = 1, .iexit = 1 },
                { "x.service", .enter = 1, .iexit = 1, .after = "y.service not-in-set.service" },
        };
        DepGraph g;

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        assert_order(&g, "y.service x.service z.service");
        dep_graph_done(&g);
}

static void test_cycle(void **state) {
        const Spec specs[] = {
                { "a.service", .enter = 20.1, .exit = 10, .ienter = 10, .iexit = 20,
                  .required_by = "b.service c.service d.service" },
                { "b.service", .enter = 1, .iexit = 1, .after = "c.service" },
                { "c.service", .enter = 1, .iexit = 1, .after = "b.service" },
                { "d.service", .enter = 1, .iexit = 1 },
        };
        _cleanup_free_ char *cycle = NULL;
        DepGraph g;

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        assert_int_equal(dep_graph_order(&g, &cycle), -ELOOP);
        assert_string_equal(cycle, "b.service, c.service");
        dep_graph_done(&g);

        /* A dependent that also orders itself before what it needs. */
        const Spec loop[] = {
                { "a.service", .enter = 20.1, .exit = 10, .ienter = 10, .iexit = 20, .required_by = "b.service" },
                { "b.service", .enter = 1, .iexit = 1, .required_by = "c.service", .after = "c.service" },
                { "c.service", .enter = 1, .iexit = 1 },
        };
        cycle = mfree(cycle);
        build(&g, DEP_FOLLOW_DEFAULT, loop, ELEMENTSOF(loop));
        assert_int_equal(dep_graph_order(&g, &cycle), -ELOOP);
        assert_string_equal(cycle, "b.service, c.service");
        dep_graph_done(&g);
}

static void test_bounds(void **state) {
        DepGraph g = { .follow = DEP_FOLLOW_DEFAULT };
        char name[64];
        size_t i;

        assert_int_equal(dep_graph_add(&g, "root.service", &i), 1);
        assert_int_equal(i, 0u);
        for (unsigned k = 0; k < DEP_UNITS_MAX; k++) {
                snprintf(name, sizeof(name), "d%u.service", k);
                assert_int_equal(dep_graph_add(&g, name, NULL), 1);
        }
        /* Known ones are found, not added; one more is refused. */
        assert_int_equal(dep_graph_add(&g, "d7.service", &i), 0);
        assert_int_equal(i, 8u);
        assert_int_equal(dep_graph_add(&g, "one-more.service", NULL), -E2BIG);
        assert_int_equal(g.n, DEP_UNITS_MAX + 1);
        dep_graph_done(&g);

        g = (DepGraph) { .max = 2 };
        assert_int_equal(dep_graph_add(&g, "r.service", NULL), 1);
        assert_int_equal(dep_graph_add(&g, "x.service", NULL), 1);
        assert_int_equal(dep_graph_add(&g, "y.service", NULL), 1);
        assert_int_equal(dep_graph_add(&g, "z.service", NULL), -E2BIG);
        dep_graph_done(&g);

        /* An empty closure orders to nothing. */
        g = (DepGraph) {};
        assert_int_equal(dep_graph_add(&g, "r.service", NULL), 1);
        dep_graph_select(&g);
        assert_order(&g, "");
        dep_graph_done(&g);
}

/* The step's message, from outcomes as the turns leave them. */
static void test_describe(void **state) {
        const Spec specs[] = {
                { "a.service", "inactive", .exit = 10, .ienter = 10, .iexit = 1,
                  .required_by = "b.service c.service x.service f.service" },
                { "b.service", "failed", .enter = 1.1, .exit = 10.2, .ienter = 10.2, .iexit = 1,
                  .required_by = "e.service" },
                { "c.service", .enter = 1.2, .iexit = 1.15, .after = "b.service" },
                { "x.service", "inactive", .enter = 1.3, .exit = 13, .ienter = 13.1, .iexit = 1.25 },
                { "f.service", .enter = 1.2, .iexit = 1.15, .required_by = "g.service" },
                { "e.service", .enter = 1.2, .iexit = 1.15 },
                { "g.service", .enter = 1.2, .iexit = 1.15 },
        };
        DepGraph g;
        DepMsg m = {};

        build(&g, DEP_FOLLOW_DEFAULT, specs, ELEMENTSOF(specs));
        assert_order(&g, "b.service c.service e.service f.service g.service");
        g.units[0].outcome = DEP_OUT_STARTED;
        g.units[0].was = strdup("inactive");
        g.units[idx(&g, "b.service")].outcome = DEP_OUT_STARTED;
        g.units[idx(&g, "b.service")].was = strdup("failed");
        g.units[idx(&g, "b.service")].seq = 2;
        g.units[idx(&g, "c.service")].outcome = DEP_OUT_RESTARTED;
        g.units[idx(&g, "c.service")].seq = 1;
        g.units[idx(&g, "e.service")].outcome = DEP_OUT_SYSTEMD_JOB;
        g.units[idx(&g, "f.service")].outcome = DEP_OUT_FAILED;
        g.units[idx(&g, "f.service")].detail = strdup("start job failed");
        g.units[idx(&g, "g.service")].outcome = DEP_OUT_NOT_TRIED;
        g.units[idx(&g, "g.service")].blocker = idx(&g, "f.service");

        dep_graph_describe(&g, true, &m);
        assert_string_equal(m.buf, "f.service did not come back (start job failed); started a.service (was inactive); "
                                   "restarted c.service, then b.service (was failed); already back: e.service "
                                   "(started by the job systemd had queued); left alone: x.service (stopped separately "
                                   "from a.service); not tried: g.service (needs f.service)");

        /* Long messages are cut, never overrun. */
        m = (DepMsg) {};
        for (int k = 0; k < 100; k++)
                dep_graph_describe(&g, false, &m);
        assert_int_equal(strlen(m.buf), sizeof(m.buf) - 1);
        dep_graph_done(&g);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_follow),
                cmocka_unit_test(test_chain_crash),
                cmocka_unit_test(test_systemd_restarted_them),
                cmocka_unit_test(test_propagated_stop),
                cmocka_unit_test(test_bound_after_crash),
                cmocka_unit_test(test_admin_stop),
                cmocka_unit_test(test_failed),
                cmocka_unit_test(test_never_started),
                cmocka_unit_test(test_wants_and_types),
                cmocka_unit_test(test_order),
                cmocka_unit_test(test_cycle),
                cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_describe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
