/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A human step's escalation chain, without salved: time is a number the
 * test moves, people are resolved by a table, and a reopened run store
 * stands for a restart. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "run-journal.h"
#include "run-store.h"
#include "run.h"

#define T0 (1700000000ULL * USEC_PER_SEC)
#define S USEC_PER_SEC

static const char plan_yaml[] =
        "plan: db\n"
        "owner: dba\n"
        "fallback: [it-manager]\n"
        "steps:\n"
        "  - id: approve\n"
        "    human: approve\n"
        "    owner: dba-oncall\n"
        "    escalate: [dba-backup, it-manager]\n"
        "    ack-timeout: 2s\n"
        "    remind: 10s\n"
        "    repeat: 2\n"
        "  - id: start\n"
        "    run: exec\n"
        "    needs: [approve]\n"
        "    with: { command: [/bin/true] }\n";

/* dba-oncall is jane now; dba-backup is a team of two. */
static int resolve(const char *name, usec_t at, char ***ret, void *userdata) {
        int *calls = userdata;
        char **l = NULL;

        (*calls)++;
        if (streq(name, "dba-oncall"))
                assert_int_equal(strv_extend(&l, "jane"), 0);
        else if (streq(name, "dba-backup")) {
                assert_int_equal(strv_extend(&l, "joe"), 0);
                assert_int_equal(strv_extend(&l, "ann"), 0);
        } else if (streq(name, "it-manager"))
                assert_int_equal(strv_extend(&l, "max"), 0);
        else
                return -ENOENT;
        *ret = l;
        return 0;
}

static void commit_all(RunStore *s, Transition *t, size_t n) {
        for (size_t i = 0; i < n; i++)
                assert_int_equal(run_store_commit(s, t + i, NULL), 0);
        transitions_free(t, n);
}

static Run *start(RunStore *s) {
        Transition c, *t;
        size_t n;
        usec_t w;
        Run *r;

        assert_int_equal(run_created_transition("db-1", "db", NULL, plan_yaml, "manual", "test", T0, T0, &c), 0);
        assert_int_equal(run_store_commit(s, &c, &r), 0);
        transition_done(&c);
        assert_int_equal(run_plan_next(r, T0, &t, &n, &w), 0);
        assert_int_equal(n, 1);
        assert_int_equal(t[0].state, STEP_WAITING);
        commit_all(s, t, n);
        return r;
}

/* One call of run_human_next, committed: how many transitions, the first's event. */
static size_t human_once(RunStore *s, Run *r, usec_t now, int *calls, usec_t *wake, HumanEvent *ev, char **who) {
        Transition *t;
        size_t n;
        int k = run_human_next(r, now, resolve, calls, &t, &n, wake);

        assert_true(k >= 0);
        if (n > 0) {
                *ev = t[0].human;
                if (who) {
                        char *j = strv_join(t[0].recipients, ",");
                        assert_non_null(j);
                        *who = j;
                }
        }
        commit_all(s, t, n);
        return n;
}

static char *tmp_journal(void) {
        char *dir = strdup("/tmp/test-escalation-XXXXXX"), *path;
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&path, "%s/runs.journal", dir) > 0);
        free(dir);
        return path;
}

static void test_chain(void **state) {
        _cleanup_free_ char *path = tmp_journal();
        RunStore *s = NULL;
        Run *r;
        usec_t wake;
        HumanEvent ev;
        int calls = 0;
        char *who = NULL;

        assert_int_equal(run_store_open(path, &s, NULL), 0);
        r = start(s);

        /* Waiting: level 0, the owner, at once; nothing more before the timeout. */
        assert_int_equal(human_once(s, r, T0, &calls, &wake, &ev, &who), 1);
        assert_int_equal(ev, HUMAN_NOTIFIED);
        assert_string_equal(who, "jane");
        free(who);
        assert_int_equal(wake, USEC_INFINITY);  /* first call: the wake comes with the next */
        assert_int_equal(human_once(s, r, T0 + 1 * S, &calls, &wake, &ev, NULL), 0);
        assert_int_equal(wake, T0 + 2 * S);

        /* Level 1 after 2 s, level 2 after 4 s: each its own people. */
        assert_int_equal(human_once(s, r, T0 + 2 * S, &calls, &wake, &ev, &who), 1);
        assert_string_equal(who, "joe,ann");
        free(who);
        assert_int_equal(human_once(s, r, T0 + 4 * S, &calls, &wake, &ev, &who), 1);
        assert_string_equal(who, "max");
        free(who);
        {
                const HumanState *h = &r->steps[0].human;
                assert_int_equal(h->n_notices, 3);
                assert_int_equal(h->notices[2].level, 2);
                assert_int_equal(h->notices[2].round, 1);
        }

        /* A restart (the store reopened from its journal) goes on at the
         * level it reached, with the time it had left, telling nobody twice. */
        s = run_store_free(s);
        assert_int_equal(run_store_open(path, &s, NULL), 0);
        r = run_store_find(s, "db-1");
        assert_non_null(r);
        assert_int_equal(r->steps[0].human.n_notices, 3);
        assert_int_equal(human_once(s, r, T0 + 5 * S, &calls, &wake, &ev, NULL), 0);
        assert_int_equal(wake, T0 + 6 * S);

        /* Round 2 starts at the owner again. */
        assert_int_equal(human_once(s, r, T0 + 6 * S, &calls, &wake, &ev, &who), 1);
        assert_string_equal(who, "jane");
        free(who);
        assert_int_equal(r->steps[0].human.notices[3].round, 2);
        assert_int_equal(r->steps[0].human.notices[3].level, 0);

        /* Compaction keeps the chain exactly. */
        assert_int_equal(run_store_compact(s), 0);
        s = run_store_free(s);
        assert_int_equal(run_store_open(path, &s, NULL), 0);
        r = run_store_find(s, "db-1");
        assert_int_equal(r->steps[0].human.n_notices, 4);
        assert_int_equal(r->steps[0].human.notices[3].round, 2);

        /* The backup acknowledges: escalation stops; a second ack is refused. */
        {
                Transition t;
                assert_int_equal(run_ack(r, "approve", "joe", "salvectl", "on it", T0 + 7 * S, &t), 0);
                assert_int_equal(run_store_commit(s, &t, NULL), 0);
                transition_done(&t);
                assert_int_equal(run_ack(r, "approve", "ann", "salvectl", NULL, T0 + 7 * S, &t), -EALREADY);
                assert_int_equal(run_ack(r, "start", "ann", "salvectl", NULL, T0 + 7 * S, &t), -EOPNOTSUPP);
                assert_int_equal(run_ack(r, "nope", "ann", "salvectl", NULL, T0 + 7 * S, &t), -ENOENT);
        }
        assert_string_equal(r->steps[0].human.acked_by, "joe");
        assert_int_equal(r->steps[0].human.acked_at, T0 + 7 * S);
        assert_int_equal(human_once(s, r, T0 + 30 * S, &calls, &wake, &ev, &who), 1);
        /* ... but the one who acknowledged is reminded, every 10 s. */
        assert_int_equal(ev, HUMAN_REMINDED);
        assert_string_equal(who, "joe");
        free(who);
        assert_int_equal(human_once(s, r, T0 + 31 * S, &calls, &wake, &ev, NULL), 0);
        assert_int_equal(wake, T0 + 40 * S);

        /* Approving ends it; no more human transitions. */
        {
                Transition *t;
                size_t n;
                assert_int_equal(run_act(r, "approve", ACTION_APPROVE, "joe", "salvectl", NULL, T0 + 32 * S, &t, &n), 0);
                assert_int_equal(n, 1);        /* already acknowledged: no implied ack */
                commit_all(s, t, n);
        }
        assert_int_equal(human_once(s, r, T0 + 100 * S, &calls, &wake, &ev, NULL), 0);
        assert_int_equal(r->steps[0].human.n_notices, 4);       /* the record stays */

        run_store_free(s);
        unlink(path);
}

static void test_unanswered_and_implied_ack(void **state) {
        _cleanup_free_ char *path = tmp_journal();
        RunStore *s = NULL;
        Run *r;
        usec_t wake, now = T0;
        HumanEvent ev = _HUMAN_EVENT_INVALID;
        int calls = 0;
        char *who = NULL;
        size_t n = 0;

        assert_int_equal(run_store_open(path, &s, NULL), 0);
        r = start(s);
        /* 3 levels x 2 rounds, then unanswered: the plan's owner and fallback. */
        for (int i = 0; i < 7; i++) {
                n += human_once(s, r, now, &calls, &wake, &ev, i == 6 ? &who : NULL);
                now += 2 * S;
        }
        assert_int_equal(n, 7);
        assert_int_equal(ev, HUMAN_UNANSWERED);
        assert_string_equal(who, "dba,max");    /* dba is unknown here (stands for itself), it-manager is max */
        free(who);
        assert_int_equal(r->steps[0].human.n_notices, 6);
        assert_true(r->steps[0].human.unanswered_at > 0);
        assert_int_equal(human_once(s, r, now + 100 * S, &calls, &wake, &ev, NULL), 0);

        /* Approving a step nobody acknowledged records the acknowledgement too. */
        {
                Transition *t;
                assert_int_equal(run_act(r, "approve", ACTION_APPROVE, "max", "salvectl", NULL, now, &t, &n), 0);
                assert_int_equal(n, 2);
                assert_int_equal(t[0].kind, TRANSITION_HUMAN);
                assert_int_equal(t[0].human, HUMAN_ACKNOWLEDGED);
                assert_string_equal(t[0].via, "approve");
                commit_all(s, t, n);
        }
        assert_string_equal(r->steps[0].human.acked_by, "max");
        assert_int_equal(r->steps[0].state, STEP_SUCCEEDED);
        run_store_free(s);
        unlink(path);
}

/* Journal records: a HUMAN transition survives to_json/from_json, and bad ones are refused. */
static void test_journal_record(void **state) {
        Transition t = {
                .kind = TRANSITION_HUMAN, .run_id = (char *) "db-1", .at = T0, .step_id = (char *) "approve",
                .human = HUMAN_NOTIFIED, .attempt = 1, .level = 2, .round = 1,
                .recipients = (char *[]) { (char *) "joe", (char *) "ann", NULL },
        }, back;
        _cleanup_free_ char *j = NULL;

        assert_int_equal(transition_to_json(&t, &j), 0);
        assert_int_equal(transition_from_json(j, strlen(j), &back), 0);
        assert_int_equal(back.kind, TRANSITION_HUMAN);
        assert_int_equal(back.human, HUMAN_NOTIFIED);
        assert_int_equal(back.level, 2);
        assert_int_equal(strv_length(back.recipients), 2);
        transition_done(&back);

        static const char *const bad[] = {
                "{\"v\":1,\"type\":\"human\",\"run\":\"x\",\"step\":\"a\",\"event\":\"paged\",\"attempt\":1}",
                "{\"v\":1,\"type\":\"human\",\"run\":\"x\",\"step\":\"a\",\"event\":\"notified\"}",
                "{\"v\":1,\"type\":\"human\",\"run\":\"x\",\"step\":\"a\",\"event\":\"notified\",\"attempt\":1,"
                "\"recipients\":[\"\"]}",
                "{\"v\":1,\"type\":\"human\",\"run\":\"x\",\"step\":\"a\",\"event\":\"notified\",\"attempt\":1,"
                "\"recipients\":\"jane\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(transition_from_json(bad[i], strlen(bad[i]), &back), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chain),
                cmocka_unit_test(test_unanswered_and_implied_ack),
                cmocka_unit_test(test_journal_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
