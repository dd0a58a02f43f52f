/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The relay's pure part: which facts a run's transitions make, that the
 * facts found again from the run's state after a restart have the same
 * keys (what lets the outbox enqueue each once), what a notification
 * says, and which alerts a run stands for at Alertmanager. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "relay-alerts.h"
#include "relay-facts.h"

#define T0 (1700000000ULL * USEC_PER_SEC)
#define S USEC_PER_SEC

static const char plan_yaml[] =
        "plan: db\n"
        "description: bring the database back\n"
        "owner: dba\n"
        "rto: 30s\n"
        "holds: [postgresql.service]\n"
        "bridge: https://meet.example.com/plan\n"
        "links: [https://wiki.example.com/db]\n"
        "steps:\n"
        "  - id: check\n"
        "    run: exec\n"
        "    estimate: 1s\n"
        "    on-failure: continue\n"
        "    with: { command: [/bin/true] }\n"
        "  - id: approve\n"
        "    human: approve\n"
        "    needs: [check]\n"
        "    owner: dba-oncall\n"
        "    escalate: [dba-backup]\n"
        "    ack-timeout: 2s\n"
        "    remind: 5s\n"
        "    chat: \"#db\"\n"
        "    instructions: Check the restore log.\n"
        "    links: [https://wiki.example.com/approve]\n"
        "  - id: start\n"
        "    needs: [approve]\n"
        "    run: unit.start\n"
        "    with: { unit: postgresql.service }\n";

typedef struct Keys {
        char **keys;
} Keys;

static int person(const char *name, char **ret_display, char ***ret_contacts, void *userdata) {
        if (!streq(name, "jane"))
                return -ENOENT;
        *ret_display = strdup("Jane Doe");
        *ret_contacts = NULL;
        assert_int_equal(strv_extend(ret_contacts, "email=jane@example.com"), 0);
        return 0;
}

static const RelayContext ctx = { .host = "host1", .machine_id = NULL, .person = person };

static void apply_one(Run *r, Transition *t, Keys *k) {
        RelayFact f[2];
        size_t n;

        assert_int_equal(run_apply(r, t), 0);
        n = relay_facts_for_transition(r, t, f);
        for (size_t i = 0; i < n; i++) {
                char *key;
                assert_int_equal(relay_fact_key(r, f + i, "host1", &key), 0);
                assert_false(strv_contains(k->keys, key));      /* each fact once */
                assert_int_equal(strv_push(&k->keys, key), 0);
        }
        transition_done(t);
}

static void apply_all(Run *r, Transition *t, size_t n, Keys *k) {
        for (size_t i = 0; i < n; i++)
                apply_one(r, t + i, k);
        free(t);
}

static void settle(Run *r, usec_t now, Keys *k) {
        for (int i = 0; i < 20; i++) {
                Transition *t;
                size_t n;
                usec_t w;
                assert_int_equal(run_plan_next(r, now, &t, &n, &w), 0);
                if (n == 0) {
                        free(t);
                        break;
                }
                apply_all(r, t, n, k);
        }
}

static int resolve(const char *name, usec_t at, char ***ret, void *userdata) {
        *ret = NULL;
        return strv_extend(ret, streq(name, "dba-oncall") ? "jane" : name);
}

static size_t human(Run *r, usec_t now, Keys *k) {
        Transition *t;
        size_t n;
        usec_t w;

        assert_true(run_human_next(r, now, resolve, NULL, &t, &n, &w) >= 0);
        apply_all(r, t, n, k);
        return n;
}

static void check_reconcile(const Run *r, const Keys *k) {
        _cleanup_free_ RelayFact *facts = NULL;
        _cleanup_strv_free_ char **again = NULL;
        size_t n;

        assert_int_equal(relay_facts_for_run(r, &facts, &n), 0);
        for (size_t i = 0; i < n; i++) {
                char *key;
                assert_int_equal(relay_fact_key(r, facts + i, "host1", &key), 0);
                if (!strv_contains(k->keys, key))
                        fail_msg("fact %s found from the state was never made by a transition", key);
                assert_int_equal(strv_push(&again, key), 0);
                if (i > 0)
                        assert_true(facts[i - 1].at <= facts[i].at);
        }
        STRV_FOREACH(key, k->keys)
                if (!strv_contains(again, *key) &&
                    !(strstr(*key, "/rto-at-risk") && r->rto_state == RTO_BREACHED))   /* superseded */
                        fail_msg("fact %s made by a transition is not found again from the state", *key);
}

static void test_facts_and_reconcile(void **state) {
        Keys k = {};
        Transition c, *t;
        Run *r = NULL;
        size_t n;

        assert_int_equal(run_created_transition("db-1", "db", NULL, plan_yaml, "manual", "test", T0, T0, &c), 0);
        assert_int_equal(run_new(&c, &r), 0);
        {
                RelayFact f[2];
                char *key;
                assert_int_equal(relay_facts_for_transition(r, &c, f), 1);
                assert_int_equal(f[0].event, NOTIFY_RUN_STARTED);
                assert_int_equal(relay_fact_key(r, f, "host1", &key), 0);
                assert_string_equal(key, "salve/host1/db-1/run-started");
                assert_int_equal(strv_push(&k.keys, key), 0);
        }
        transition_done(&c);
        check_reconcile(r, &k);

        /* check fails (on-failure: continue lets the rest go on) */
        settle(r, T0, &k);
        {
                Transition res;
                assert_int_equal(run_step_result(r, 0, false, "exit status 1", T0 + S, 0, &res), 0);
                apply_one(r, &res, &k);
        }
        settle(r, T0 + 3 * S, &k);
        assert_true(strv_contains(k.keys, "salve/host1/db-1/check/1/step-failed"));
        check_reconcile(r, &k);
        assert_int_equal(r->steps[1].state, STEP_WAITING);

        /* the chain: owner, then the backup; an ack; a reminder */
        assert_int_equal(human(r, T0 + 3 * S, &k), 1);
        assert_int_equal(human(r, T0 + 5 * S, &k), 1);
        assert_true(strv_contains(k.keys, "salve/host1/db-1/approve/1/human-needed/0/1"));
        assert_true(strv_contains(k.keys, "salve/host1/db-1/approve/1/escalated/1/1"));
        check_reconcile(r, &k);

        /* the escalated notification: the new level and the one before, with contacts */
        {
                _cleanup_(notification_freep) Notification *no = NULL;
                RelayFact f = { .event = NOTIFY_ESCALATED, .step = 1, .notice = 1, .at = T0 + 5 * S };
                assert_int_equal(relay_notification_build(r, &f, &ctx, &no), 0);
                assert_string_equal(no->key, "salve/host1/db-1/approve/1/escalated/1/1");
                assert_int_equal(no->n_recipients, 2);
                assert_string_equal(no->recipients[0].name, "dba-backup");
                assert_int_equal(no->recipients[0].level, 1);
                assert_string_equal(no->recipients[1].name, "jane");
                assert_string_equal(no->recipients[1].display, "Jane Doe");
                assert_string_equal(no->recipients[1].contacts[0], "email=jane@example.com");
                assert_int_equal(no->level, 1);
                assert_int_equal(no->n_levels, 2);
                assert_string_equal(no->instructions, "Check the restore log.");
                assert_string_equal(no->chat, "#db");
                assert_string_equal(no->bridge, "https://meet.example.com/plan");
                assert_int_equal(no->step_position, 2);
                assert_int_equal(no->n_steps, 3);
                assert_string_equal(no->links[0], "https://wiki.example.com/approve");
                assert_string_equal(no->links[1], "https://wiki.example.com/db");
                assert_string_equal(no->units[0], "postgresql.service");
                assert_non_null(strstr(no->summary, "escalated to dba-backup (level 1)"));
                assert_int_equal(no->deadline, T0 + 30 * S);
                {
                        _cleanup_free_ char *json = NULL;
                        _cleanup_(notification_freep) Notification *back = NULL;
                        const char *bad = NULL;
                        assert_int_equal(notification_to_json(no, &json), 0);
                        assert_int_equal(notification_from_json(json, &back, &bad), 0);
                        assert_string_equal(back->key, no->key);
                }
        }

        {
                Transition a;
                assert_int_equal(run_ack(r, "approve", "pagerduty:Jane Doe", "pagerduty", NULL, T0 + 6 * S, &a), 0);
                apply_one(r, &a, &k);
        }
        assert_int_equal(human(r, T0 + 11 * S, &k), 1);
        assert_true(strv_contains(k.keys, "salve/host1/db-1/approve/1/reminder/1"));
        check_reconcile(r, &k);

        /* RTO breached, approval, the rest, the end */
        {
                Transition rto;
                usec_t next;
                assert_int_equal(run_rto_check(r, T0 + 31 * S, &rto, &next), 1);
                apply_one(r, &rto, &k);
        }
        assert_int_equal(run_act(r, "approve", ACTION_APPROVE, "jane", "salvectl", "ok", T0 + 32 * S, &t, &n), 0);
        assert_int_equal(n, 1);
        apply_all(r, t, n, &k);
        settle(r, T0 + 32 * S, &k);
        {
                Transition res;
                assert_int_equal(run_step_result(r, 2, true, "started", T0 + 33 * S, 0, &res), 0);
                apply_one(r, &res, &k);
        }
        settle(r, T0 + 33 * S, &k);
        assert_true(run_is_finished(r));
        assert_true(strv_contains(k.keys, "salve/host1/db-1/approve/1/human-done"));
        assert_true(strv_contains(k.keys, "salve/host1/db-1/run-finished"));
        check_reconcile(r, &k);

        {
                _cleanup_(notification_freep) Notification *no = NULL;
                RelayFact f = { .event = NOTIFY_HUMAN_DONE, .step = 1, .at = T0 + 32 * S };
                assert_int_equal(relay_notification_build(r, &f, &ctx, &no), 0);
                assert_string_equal(no->action, "approve");
                assert_string_equal(no->actor, "jane");
                assert_string_equal(no->comment, "ok");
        }
        {
                _cleanup_(notification_freep) Notification *no = NULL;
                RelayFact f = { .event = NOTIFY_ACKNOWLEDGED, .step = 1, .at = T0 + 6 * S };
                assert_int_equal(relay_notification_build(r, &f, &ctx, &no), 0);
                assert_string_equal(no->actor, "pagerduty:Jane Doe");
                assert_string_equal(no->action, "pagerduty");
        }
        strv_free(k.keys);
        run_free(r);
}

static size_t count_alerts(const RelayAlert *a, size_t n, NotifyEvent e, bool firing) {
        size_t c = 0;
        for (size_t i = 0; i < n; i++)
                c += a[i].fact.event == e && a[i].firing == firing;
        return c;
}

static void test_alerts(void **state) {
        Keys k = {};
        Transition c, *t;
        Run *r = NULL;
        RelayAlert *a;
        size_t n;

        assert_int_equal(run_created_transition("db-1", "db", NULL, plan_yaml, "manual", "test", T0, T0, &c), 0);
        assert_int_equal(run_new(&c, &r), 0);
        transition_done(&c);

        assert_int_equal(relay_alerts_for_run(r, T0, 60 * S, &a, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(count_alerts(a, n, NOTIFY_RUN_STARTED, true), 1);
        free(a);

        settle(r, T0, &k);
        {
                Transition res;
                assert_int_equal(run_step_result(r, 0, true, "ok", T0 + S, 0, &res), 0);
                apply_one(r, &res, &k);
        }
        settle(r, T0 + S, &k);
        assert_int_equal(human(r, T0 + S, &k), 1);
        assert_int_equal(relay_alerts_for_run(r, T0 + S, 60 * S, &a, &n), 0);
        assert_int_equal(count_alerts(a, n, NOTIFY_HUMAN_NEEDED, true), 1);
        free(a);

        assert_int_equal(run_act(r, "approve", ACTION_APPROVE, "jane", "salvectl", NULL, T0 + 2 * S, &t, &n), 0);
        apply_all(r, t, n, &k);
        assert_int_equal(relay_alerts_for_run(r, T0 + 2 * S, 60 * S, &a, &n), 0);
        assert_int_equal(count_alerts(a, n, NOTIFY_HUMAN_NEEDED, false), 1);      /* resolved, re-sent a while */
        assert_int_equal(count_alerts(a, n, NOTIFY_RUN_STARTED, true), 1);
        free(a);

        run_cancel(r, "root", NULL, T0 + 3 * S, &t, &n);
        apply_all(r, t, n, &k);
        assert_int_equal(relay_alerts_for_run(r, T0 + 4 * S, 60 * S, &a, &n), 0);
        assert_int_equal(count_alerts(a, n, NOTIFY_RUN_STARTED, false), 1);
        for (size_t i = 0; i < n; i++)
                assert_false(a[i].firing);
        free(a);
        /* past resolved-for: nothing more to say */
        assert_int_equal(relay_alerts_for_run(r, T0 + 100 * S, 60 * S, &a, &n), 0);
        assert_int_equal(n, 0);
        free(a);
        strv_free(k.keys);
        run_free(r);
}

/* A plan without an rto: no deadline in the notification, and it still
 * makes JSON (a regression: the deadline was "infinity" and refused). */
static void test_no_rto(void **state) {
        _cleanup_(notification_freep) Notification *no = NULL;
        _cleanup_free_ char *json = NULL;
        Transition c;
        RelayFact f[2];
        Run *r = NULL;

        assert_int_equal(run_created_transition("p-1", "p", NULL,
                                                "plan: p\nsteps:\n  - {id: a, run: exec, with: {command: [/bin/true]}}\n",
                                                "manual", "x", T0, T0, &c), 0);
        assert_int_equal(run_new(&c, &r), 0);
        assert_int_equal(relay_facts_for_transition(r, &c, f), 1);
        assert_int_equal(relay_notification_build(r, f, &ctx, &no), 0);
        assert_int_equal(no->deadline, 0);
        assert_int_equal(notification_to_json(no, &json), 0);
        assert_null(strstr(json, "\"deadline\":\""));     /* null or absent, never a time */
        transition_done(&c);
        run_free(r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_rto),
                cmocka_unit_test(test_facts_and_reconcile),
                cmocka_unit_test(test_alerts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
