/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* unit-state.c against the property sequences systemd 252 sent in a
 * container (busctl monitor), replayed snapshot by snapshot: the Service
 * interface's signal first, then the Unit one, as systemd sends them.
 * Timestamps are the captured ones, shortened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit-state.h"

#define BIT(p) UNIT_PROP_BIT(UNIT_PROP_##p)

static UnitProps unit_sig(const char *active, const char *sub, uint32_t job, usec_t inactive_enter,
                          usec_t state_change) {
        UnitProps p = {};

        assert_int_equal(unit_props_set_string(&p, UNIT_PROP_ACTIVE_STATE, active), 0);
        assert_int_equal(unit_props_set_string(&p, UNIT_PROP_SUB_STATE, sub), 0);
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_JOB, job), 0);
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_INACTIVE_ENTER, inactive_enter), 0);
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_STATE_CHANGE, state_change), 0);
        return p;
}

static UnitProps svc_sig(const char *result, uint32_t n_restarts, usec_t exec_main_exit) {
        UnitProps p = {};

        assert_int_equal(unit_props_set_string(&p, UNIT_PROP_RESULT, result), 0);
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_N_RESTARTS, n_restarts), 0);
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_EXEC_MAIN_EXIT, exec_main_exit), 0);
        return p;
}

static UnitProps policy(const char *restart, bool force) {
        UnitProps p = {};

        assert_int_equal(unit_props_set_string(&p, UNIT_PROP_RESTART, restart), 0);
        unit_props_set_restart_force(&p, force);
        return p;
}

static UnitProps state_change_only(usec_t ts) {
        UnitProps p = {};

        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_STATE_CHANGE, ts), 0);
        return p;
}

/* Everything a decision said, across a replay. */
typedef struct Log {
        UnitEvent events[64];
        char results[64][UNIT_STATE_STRING_MAX];
        size_t n;
        unsigned fetch;         /* of the last update */
} Log;

static void feed(UnitState *s, Log *log, UnitProps p, UnitUpdateFlags flags) {
        UnitDecision d;

        unit_state_update(s, &p, flags, &d);
        log->fetch = d.fetch;
        for (size_t i = 0; i < d.n_events; i++) {
                assert_true(log->n < ELEMENTSOF(log->events));
                log->events[log->n] = d.events[i];
                if (d.events[i].result) {
                        snprintf(log->results[log->n], UNIT_STATE_STRING_MAX, "%s", d.events[i].result);
                        log->events[log->n].result = log->results[log->n];
                }
                log->n++;
        }
}

static size_t count(const Log *log, UnitEventType t) {
        size_t n = 0;
        for (size_t i = 0; i < log->n; i++)
                n += log->events[i].type == t;
        return n;
}

/* A service that is started and whose policy reply came: Restart= as given. */
static void started_service(UnitState *s, Log *log, const char *restart) {
        unit_state_init(s, true);
        feed(s, log, svc_sig("success", 0, 0), 0);
        assert_true(log->fetch == (BIT(RESTART) | BIT(RESTART_FORCE)));   /* asked once */
        feed(s, log, unit_sig("inactive", "dead", 81, 0, 0), 0);
        assert_true(log->fetch == 0);
        feed(s, log, policy(restart, false), UNIT_UPDATE_FETCHED);
        feed(s, log, unit_sig("active", "running", 81, 0, 3915937), 0);
        feed(s, log, unit_sig("active", "running", 0, 0, 3915937), 0);
        assert_int_equal(log->n, 1);
        assert_int_equal(log->events[0].type, UNIT_EVENT_ACTIVE);
}

/* watch-exit1.service: Type=simple, exits 1, no Restart=. */
static void test_exit_code_no_restart(void **state) {
        UnitState s;
        Log log = {};

        started_service(&s, &log, "no");
        assert_int_equal(unit_state_may_restart(&s), 0);
        feed(&s, &log, svc_sig("exit-code", 0, 4227315), 0);
        assert_int_equal(log.n, 1);
        feed(&s, &log, unit_sig("failed", "failed", 0, 4227780, 4227780), 0);
        /* terminal at once: no round trip */
        assert_true(log.fetch == 0);
        assert_int_equal(log.n, 2);
        assert_int_equal(log.events[1].type, UNIT_EVENT_FAILED);
        assert_string_equal(log.events[1].result, "exit-code");
        assert_true(log.events[1].occurrence == 4227780);
        assert_true(log.events[1].realtime == 4227315);        /* the main process's death */
        /* the same failure said again (a reexec re-sends everything) */
        feed(&s, &log, svc_sig("exit-code", 0, 4227315), 0);
        feed(&s, &log, unit_sig("failed", "failed", 0, 4227780, 4227780), 0);
        assert_int_equal(log.n, 2);
        assert_true(unit_state_worth_keeping(&s));
        /* reset-failed */
        feed(&s, &log, unit_sig("inactive", "dead", 0, 4227780, 5000000), 0);
        assert_int_equal(log.n, 3);
        assert_int_equal(log.events[2].type, UNIT_EVENT_INACTIVE);
        assert_false(unit_state_worth_keeping(&s));
}

/* watch-flaky.service: Restart=on-failure, crashes twice, then stays up. */
static void test_restart_on_failure_recovers(void **state) {
        UnitState s;
        Log log = {};

        started_service(&s, &log, "on-failure");
        assert_int_equal(unit_state_may_restart(&s), 1);

        /* crash 1: failed for an instant, then auto-restart */
        feed(&s, &log, svc_sig("exit-code", 0, 9939278), 0);
        feed(&s, &log, unit_sig("failed", "failed", 0, 9939482, 9939482), 0);
        assert_true(log.fetch == BIT(STATE_CHANGE));           /* confirm first */
        feed(&s, &log, svc_sig("exit-code", 0, 9939278), 0);
        feed(&s, &log, unit_sig("activating", "auto-restart", 0, 9939482, 9940802), 0);
        /* the confirmation's answer, after the signal: the state moved on */
        feed(&s, &log, state_change_only(9940802), UNIT_UPDATE_FETCHED);
        assert_int_equal(log.n, 1);
        feed(&s, &log, svc_sig("exit-code", 1, 9939278), 0);   /* the restart job */
        assert_int_equal(log.n, 2);
        assert_int_equal(log.events[1].type, UNIT_EVENT_RESTARTED);
        assert_int_equal(log.events[1].restarts, 1);
        feed(&s, &log, unit_sig("activating", "auto-restart", 201, 9939482, 9940802), 0);
        feed(&s, &log, svc_sig("success", 1, 0), 0);
        feed(&s, &log, unit_sig("inactive", "dead", 201, 20354431, 20354431), 0);
        feed(&s, &log, unit_sig("active", "running", 201, 20354431, 20372875), 0);
        feed(&s, &log, unit_sig("active", "running", 0, 20354431, 20372875), 0);
        assert_int_equal(log.n, 2);

        /* crash 2, and this time the answer comes before the signal */
        feed(&s, &log, svc_sig("exit-code", 1, 20682320), 0);
        feed(&s, &log, unit_sig("failed", "failed", 0, 20682571, 20682571), 0);
        assert_true(log.fetch == BIT(STATE_CHANGE));
        feed(&s, &log, state_change_only(20683305), UNIT_UPDATE_FETCHED);
        assert_int_equal(log.n, 2);
        feed(&s, &log, unit_sig("activating", "auto-restart", 0, 20682571, 20683305), 0);
        feed(&s, &log, svc_sig("exit-code", 2, 20682320), 0);
        feed(&s, &log, unit_sig("activating", "auto-restart", 261, 20682571, 20683305), 0);
        feed(&s, &log, svc_sig("success", 2, 0), 0);
        feed(&s, &log, unit_sig("inactive", "dead", 261, 21104373, 21104373), 0);
        feed(&s, &log, unit_sig("active", "running", 261, 21104373, 21111824), 0);
        feed(&s, &log, unit_sig("active", "running", 0, 21104373, 21111824), 0);

        assert_int_equal(count(&log, UNIT_EVENT_FAILED), 0);
        assert_int_equal(count(&log, UNIT_EVENT_RESTARTED), 2);
        assert_int_equal(count(&log, UNIT_EVENT_ACTIVE), 1);
        assert_int_equal(count(&log, UNIT_EVENT_INACTIVE), 0);
}

/* Restart=on-failure, but systemd does not restart (say
 * RestartPreventExitStatus=): the confirmation finds it still failed. */
static void test_restart_policy_confirmed_terminal(void **state) {
        UnitState s;
        Log log = {};

        started_service(&s, &log, "on-failure");
        feed(&s, &log, svc_sig("exit-code", 0, 9939278), 0);
        feed(&s, &log, unit_sig("failed", "failed", 0, 9939482, 9939482), 0);
        assert_int_equal(log.n, 1);
        assert_true(log.fetch == BIT(STATE_CHANGE));
        feed(&s, &log, state_change_only(9939482), UNIT_UPDATE_FETCHED);
        assert_int_equal(log.n, 2);
        assert_int_equal(log.events[1].type, UNIT_EVENT_FAILED);
        assert_string_equal(log.events[1].result, "exit-code");
        assert_true(log.events[1].realtime == 9939278);
        /* systemd could not answer: the signals' word */
        started_service(&s, &(Log) {}, "always");
        log = (Log) {};
        feed(&s, &log, svc_sig("signal", 0, 7000), 0);
        feed(&s, &log, unit_sig("failed", "failed", 0, 7100, 7100), 0);
        assert_int_equal(log.n, 0);
        feed(&s, &log, (UnitProps) {}, UNIT_UPDATE_UNANSWERED);
        assert_int_equal(log.n, 1);
        assert_string_equal(log.events[0].result, "signal");
}

/* watch-limit.service: Restart=on-failure, StartLimitBurst=3; the fourth
 * start is refused and 252 leaves Result=exit-code in place. */
static void test_start_limit_hit(void **state) {
        UnitState s;
        Log log = {};
        static const usec_t deaths[3][3] = {
                /* ExecMainExit, failed, auto-restart */
                { 6453710, 6453918, 6454745 },
                { 6821660, 6821910, 6822252 },
                { 7338745, 7339006, 7339340 },
        };

        started_service(&s, &log, "on-failure");
        for (unsigned i = 0; i < 3; i++) {
                feed(&s, &log, svc_sig("exit-code", i, deaths[i][0]), 0);
                feed(&s, &log, unit_sig("failed", "failed", 0, deaths[i][1], deaths[i][1]), 0);
                feed(&s, &log, svc_sig("exit-code", i, deaths[i][0]), 0);
                feed(&s, &log, unit_sig("activating", "auto-restart", 0, deaths[i][1], deaths[i][2]), 0);
                feed(&s, &log, state_change_only(deaths[i][2]), UNIT_UPDATE_FETCHED);
                feed(&s, &log, svc_sig("exit-code", i + 1, deaths[i][0]), 0);
                feed(&s, &log, unit_sig("activating", "auto-restart", 381 + i, deaths[i][1], deaths[i][2]), 0);
                if (i == 2)
                        break;
                feed(&s, &log, svc_sig("success", i + 1, 0), 0);
                feed(&s, &log, unit_sig("inactive", "dead", 381 + i, 6604322 + i, 6604322 + i), 0);
                feed(&s, &log, unit_sig("active", "running", 381 + i, 6604322 + i, 6617317 + i), 0);
                feed(&s, &log, unit_sig("active", "running", 0, 6604322 + i, 6617317 + i), 0);
        }
        assert_int_equal(count(&log, UNIT_EVENT_FAILED), 0);
        assert_int_equal(count(&log, UNIT_EVENT_RESTARTED), 3);

        /* the refused start: dead inside the job, then failed with the job
         * still there, then settled */
        feed(&s, &log, unit_sig("inactive", "dead", 501, 7604303, 7604303), 0);
        feed(&s, &log, unit_sig("failed", "failed", 501, 7604303, 7604485), 0);
        assert_int_equal(count(&log, UNIT_EVENT_FAILED), 0);
        feed(&s, &log, svc_sig("exit-code", 3, 7338745), 0);
        feed(&s, &log, unit_sig("failed", "failed", 0, 7604303, 7604485), 0);
        assert_true(log.fetch == 0);                            /* no round trip */
        assert_int_equal(count(&log, UNIT_EVENT_FAILED), 1);
        assert_string_equal(log.events[log.n - 1].result, "start-limit-hit");
        assert_true(log.events[log.n - 1].occurrence == 7604485);
        assert_true(log.events[log.n - 1].realtime == 7604485); /* no process died */
        assert_int_equal(log.events[log.n - 1].restarts, 3);
        assert_int_equal(count(&log, UNIT_EVENT_INACTIVE), 0);
}

/* watch-timeout.service: a oneshot past TimeoutStartSec=: failed while its
 * start job is still there, then settled. */
static void test_timeout_settles_after_job(void **state) {
        UnitState s;
        Log log = {};

        unit_state_init(&s, true);
        feed(&s, &log, policy("no", false), UNIT_UPDATE_FETCHED);
        feed(&s, &log, unit_sig("inactive", "dead", 681, 0, 0), 0);
        feed(&s, &log, unit_sig("activating", "start", 681, 0, 9109619), 0);
        feed(&s, &log, unit_sig("deactivating", "stop-sigterm", 681, 0, 10103855), 0);
        feed(&s, &log, svc_sig("timeout", 0, 10104252), 0);
        feed(&s, &log, unit_sig("failed", "failed", 681, 10104366, 10104366), 0);
        assert_int_equal(log.n, 0);
        feed(&s, &log, unit_sig("failed", "failed", 0, 10104366, 10104366), 0);
        assert_int_equal(log.n, 1);
        assert_string_equal(log.events[0].result, "timeout");
        assert_true(log.events[0].realtime == 10104252);
}

/* A unit already failed at startup: found by the list, fetched whole. */
static void test_initial_failed_fetched(void **state) {
        UnitState s;
        Log log = {};
        UnitProps p = unit_sig("failed", "failed", 0, 7360951, 7360951);
        UnitProps sv = svc_sig("exit-code", 0, 7360500);

        unit_state_init(&s, true);
        unit_props_merge(&p, &sv, 0);
        {
                UnitProps pol = policy("no", false);
                unit_props_merge(&p, &pol, 0);
        }
        feed(&s, &log, p, UNIT_UPDATE_FETCHED);
        assert_int_equal(log.n, 1);
        assert_int_equal(log.events[0].type, UNIT_EVENT_FAILED);
        assert_string_equal(log.events[0].result, "exit-code");
        assert_true(log.events[0].occurrence == 7360951);
        /* resync: the same, fetched again */
        feed(&s, &log, p, UNIT_UPDATE_FETCHED);
        assert_int_equal(log.n, 1);

        /* Restart=always and failed for good (found so by the fetch itself) */
        unit_state_init(&s, true);
        log = (Log) {};
        {
                UnitProps pol = policy("always", false);
                unit_props_merge(&p, &pol, 0);
        }
        feed(&s, &log, p, UNIT_UPDATE_FETCHED);
        assert_int_equal(log.n, 1);
}

/* A failure signalled for a unit without a record: what is missing is
 * fetched, with ActiveState and StateChangeTimestamp, in one go. */
static void test_failed_unknown_policy(void **state) {
        UnitState s;
        Log log = {};

        unit_state_init(&s, true);
        /* the held Service snapshot came first */
        {
                UnitProps sv = svc_sig("core-dump", 0, 500);
                unit_props_merge(&s.now, &sv, 0);
        }
        feed(&s, &log, unit_sig("failed", "failed", 0, 600, 600), 0);
        assert_int_equal(log.n, 0);
        assert_true(log.fetch & BIT(STATE_CHANGE));
        assert_true(log.fetch & BIT(RESTART));
        {
                UnitProps pol = policy("no", false);
                UnitProps sc = state_change_only(600);
                unit_props_merge(&pol, &sc, 0);
                feed(&s, &log, pol, UNIT_UPDATE_FETCHED);
        }
        assert_int_equal(log.n, 1);
        assert_string_equal(log.events[0].result, "core-dump");
        assert_true(log.events[0].realtime == 500);

        /* RestartForceExitStatus= makes Restart=no restartable */
        unit_state_init(&s, true);
        feed(&s, &log, policy("no", true), UNIT_UPDATE_FETCHED);
        assert_int_equal(unit_state_may_restart(&s), 1);
}

/* A socket has no Restart=; a failure signalled without its Result asks
 * for it. */
static void test_non_service(void **state) {
        UnitState s;
        Log log = {};
        UnitProps r = {};

        unit_state_init(&s, false);
        assert_int_equal(unit_state_may_restart(&s), 0);
        feed(&s, &log, unit_sig("active", "listening", 0, 0, 100), 0);
        assert_int_equal(log.n, 0);                     /* found active: says nothing */
        feed(&s, &log, unit_sig("failed", "failed", 0, 200, 200), 0);
        assert_int_equal(log.n, 0);
        assert_true(log.fetch & BIT(RESULT));
        assert_false(log.fetch & BIT(EXEC_MAIN_EXIT));
        assert_int_equal(unit_props_set_string(&r, UNIT_PROP_RESULT, "resources"), 0);
        assert_int_equal(unit_props_set_string(&r, UNIT_PROP_ACTIVE_STATE, "failed"), 0);
        assert_int_equal(unit_props_set_uint(&r, UNIT_PROP_STATE_CHANGE, 200), 0);
        feed(&s, &log, r, UNIT_UPDATE_FETCHED);
        assert_int_equal(log.n, 1);
        assert_string_equal(log.events[0].result, "resources");
        assert_true(log.events[0].realtime == 200);
}

/* active and inactive: only transitions seen happening */
static void test_active_inactive(void **state) {
        UnitState s;
        Log log = {};

        unit_state_init(&s, true);
        feed(&s, &log, policy("no", false), UNIT_UPDATE_FETCHED);
        feed(&s, &log, unit_sig("active", "running", 0, 0, 100), 0);
        assert_int_equal(log.n, 0);
        feed(&s, &log, unit_sig("active", "running", 55, 0, 100), 0);  /* systemctl restart */
        feed(&s, &log, unit_sig("deactivating", "stop-sigterm", 55, 0, 200), 0);
        feed(&s, &log, unit_sig("inactive", "dead", 55, 300, 300), 0);
        feed(&s, &log, unit_sig("active", "running", 55, 300, 400), 0);
        feed(&s, &log, unit_sig("active", "running", 0, 300, 400), 0);
        assert_int_equal(log.n, 0);
        feed(&s, &log, unit_sig("deactivating", "stop-sigterm", 56, 300, 500), 0);   /* systemctl stop */
        feed(&s, &log, unit_sig("inactive", "dead", 56, 600, 600), 0);
        assert_int_equal(log.n, 0);
        feed(&s, &log, unit_sig("inactive", "dead", 0, 600, 600), 0);
        assert_int_equal(log.n, 1);
        assert_int_equal(log.events[0].type, UNIT_EVENT_INACTIVE);
        assert_true(log.events[0].realtime == 600);
        assert_false(unit_state_worth_keeping(&s));

        /* a oneshot never active: nothing */
        unit_state_init(&s, true);
        log = (Log) {};
        feed(&s, &log, unit_sig("inactive", "dead", 9, 0, 0), 0);
        feed(&s, &log, unit_sig("activating", "start", 9, 0, 100), 0);
        feed(&s, &log, unit_sig("inactive", "dead", 9, 200, 200), 0);
        feed(&s, &log, unit_sig("inactive", "dead", 0, 200, 200), 0);
        assert_int_equal(log.n, 0);
        /* started again, this time it stays */
        feed(&s, &log, unit_sig("active", "exited", 0, 200, 300), 0);
        assert_int_equal(log.n, 1);
        assert_int_equal(log.events[0].type, UNIT_EVENT_ACTIVE);
        /* reloading counts as active */
        feed(&s, &log, unit_sig("reloading", "reload", 3, 200, 400), 0);
        feed(&s, &log, unit_sig("active", "exited", 0, 200, 500), 0);
        assert_int_equal(log.n, 1);
}

/* lat-always.service: Restart=always, exits 0 every 200 ms: inactive/dead
 * for an instant, then auto-restart. Neither "inactive" nor "failed", a
 * "restarted" each time, and the record is kept through it. */
static void test_restart_always_clean_exit(void **state) {
        UnitState s;
        Log log = {};

        started_service(&s, &log, "always");
        for (unsigned i = 0; i < 2; i++) {
                usec_t t = 1000000 * (i + 1);

                feed(&s, &log, svc_sig("success", i, t + 283650), 0);
                feed(&s, &log, unit_sig("inactive", "dead", 0, t + 283918, t + 283918), 0);
                assert_true(log.fetch == BIT(STATE_CHANGE));   /* confirm first */
                assert_true(unit_state_worth_keeping(&s));
                feed(&s, &log, svc_sig("success", i, t + 283650), 0);
                feed(&s, &log, unit_sig("activating", "auto-restart", 0, t + 283918, t + 284271), 0);
                feed(&s, &log, state_change_only(t + 284271), UNIT_UPDATE_FETCHED);    /* moved: nothing */
                feed(&s, &log, svc_sig("success", i + 1, t + 283650), 0);
                feed(&s, &log, unit_sig("activating", "auto-restart", 4881, t + 283918, t + 284271), 0);
                feed(&s, &log, unit_sig("inactive", "dead", 4881, t + 656393, t + 656393), 0);
                feed(&s, &log, unit_sig("active", "running", 4881, t + 656393, t + 681575), 0);
                feed(&s, &log, unit_sig("active", "running", 0, t + 656393, t + 681575), 0);
        }
        assert_int_equal(count(&log, UNIT_EVENT_RESTARTED), 2);
        assert_int_equal(count(&log, UNIT_EVENT_INACTIVE), 0);
        assert_int_equal(count(&log, UNIT_EVENT_FAILED), 0);
        assert_int_equal(count(&log, UNIT_EVENT_ACTIVE), 1);

        /* systemctl stop: inactive, confirmed */
        feed(&s, &log, unit_sig("deactivating", "stop-sigterm", 77, 0, 9000000), 0);
        feed(&s, &log, unit_sig("inactive", "dead", 77, 9000100, 9000100), 0);
        feed(&s, &log, unit_sig("inactive", "dead", 0, 9000100, 9000100), 0);
        assert_int_equal(count(&log, UNIT_EVENT_INACTIVE), 0);
        assert_true(log.fetch == BIT(STATE_CHANGE));
        feed(&s, &log, state_change_only(9000100), UNIT_UPDATE_FETCHED);
        assert_int_equal(count(&log, UNIT_EVENT_INACTIVE), 1);
        assert_false(unit_state_worth_keeping(&s));

        /* watch-flaky.service (Restart=on-failure) stopped: systemd
         * unloads it at once, and the confirmation's Get loads it afresh,
         * StateChangeTimestamp 0. Collected: it will not be restarted. */
        log = (Log) {};
        started_service(&s, &log, "on-failure");
        feed(&s, &log, unit_sig("deactivating", "stop-sigterm", 261, 0, 3751147), 0);
        feed(&s, &log, unit_sig("inactive", "dead", 261, 3773424, 3773424), 0);
        feed(&s, &log, unit_sig("inactive", "dead", 0, 3773424, 3773424), 0);
        assert_true(log.fetch == BIT(STATE_CHANGE));
        feed(&s, &log, state_change_only(0), UNIT_UPDATE_FETCHED);
        assert_int_equal(count(&log, UNIT_EVENT_INACTIVE), 1);
        assert_true(log.events[log.n - 1].realtime == 3773424);
        assert_false(unit_state_worth_keeping(&s));

        /* the same for a failure (CollectMode=inactive-or-failed) */
        log = (Log) {};
        started_service(&s, &log, "on-failure");
        feed(&s, &log, svc_sig("exit-code", 0, 4000000), 0);
        feed(&s, &log, unit_sig("failed", "failed", 0, 4000100, 4000100), 0);
        feed(&s, &log, state_change_only(0), UNIT_UPDATE_FETCHED);
        assert_int_equal(count(&log, UNIT_EVENT_FAILED), 1);
        assert_true(log.events[log.n - 1].occurrence == 4000100);
}

/* NRestarts that jumped (found by a fetch): one event per restart, the
 * last UNIT_RESTARTS_TOLD_MAX at most. */
static void test_restarts_jump(void **state) {
        UnitState s;
        Log log = {};
        UnitProps p = {};

        started_service(&s, &log, "always");
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_N_RESTARTS, 0), 0);
        feed(&s, &log, p, 0);
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_N_RESTARTS, 3), 0);
        feed(&s, &log, p, UNIT_UPDATE_FETCHED);
        assert_int_equal(count(&log, UNIT_EVENT_RESTARTED), 3);
        assert_int_equal(log.events[log.n - 1].restarts, 3);
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_N_RESTARTS, 100), 0);
        feed(&s, &log, p, UNIT_UPDATE_FETCHED);
        assert_int_equal(count(&log, UNIT_EVENT_RESTARTED), 3 + UNIT_RESTARTS_TOLD_MAX);
        assert_int_equal(log.events[log.n - UNIT_RESTARTS_TOLD_MAX].restarts, 100 - UNIT_RESTARTS_TOLD_MAX + 1);
        assert_int_equal(log.events[log.n - 1].restarts, 100);
        /* reset by a manual start: nothing */
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_N_RESTARTS, 0), 0);
        feed(&s, &log, p, 0);
        assert_int_equal(count(&log, UNIT_EVENT_RESTARTED), 3 + UNIT_RESTARTS_TOLD_MAX);
}

/* what the parser hands over is checked */
static void test_props_refuse_bad_values(void **state) {
        UnitProps p = {};
        char longer[UNIT_STATE_STRING_MAX + 1];

        memset(longer, 'a', sizeof(longer) - 1);
        longer[sizeof(longer) - 1] = 0;
        assert_int_equal(unit_props_set_string(&p, UNIT_PROP_ACTIVE_STATE, "exploded"), -EBADMSG);
        assert_int_equal(unit_props_set_string(&p, UNIT_PROP_RESULT, longer), -EBADMSG);
        assert_int_equal(unit_props_set_string(&p, UNIT_PROP_RESULT, ""), -EBADMSG);
        assert_int_equal(unit_props_set_string(&p, UNIT_PROP_RESULT, NULL), -EBADMSG);
        assert_int_equal(unit_props_set_string(&p, UNIT_PROP_JOB, "1"), -EBADMSG);
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_JOB, UINT64_C(1) << 40), -EBADMSG);
        assert_int_equal(unit_props_set_uint(&p, UNIT_PROP_RESULT, 1), -EBADMSG);
        assert_int_equal(p.set, 0);

        assert_int_equal(unit_prop_from_name(UNIT_IFACE_SERVICE, "Result"), UNIT_PROP_RESULT);
        assert_int_equal(unit_prop_from_name(UNIT_IFACE_TYPE, "Result"), UNIT_PROP_RESULT);
        assert_int_equal(unit_prop_from_name(UNIT_IFACE_TYPE, "NRestarts"), -EINVAL);
        assert_int_equal(unit_prop_from_name(UNIT_IFACE_UNIT, "Result"), -EINVAL);
        assert_int_equal(unit_prop_from_name(UNIT_IFACE_UNIT, "ActiveState"), UNIT_PROP_ACTIVE_STATE);
        assert_int_equal(unit_prop_from_name(UNIT_IFACE_UNIT, NULL), -EINVAL);
        assert_string_equal(unit_prop_info(UNIT_PROP_JOB)->signature, "(uo)");
        assert_null(unit_prop_info(_UNIT_PROP_MAX));
}

static void test_diff(void **state) {
        UnitProps a = unit_sig("failed", "failed", 0, 1, 1), b = a;

        assert_int_equal(unit_props_diff(&a, &b), 0);
        assert_int_equal(unit_props_set_uint(&b, UNIT_PROP_STATE_CHANGE, 2), 0);
        assert_int_equal(unit_props_diff(&a, &b), BIT(STATE_CHANGE));
        assert_int_equal(unit_props_set_string(&b, UNIT_PROP_RESULT, "signal"), 0);
        assert_int_equal(unit_props_diff(&a, &b), BIT(STATE_CHANGE) | BIT(RESULT));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exit_code_no_restart),
                cmocka_unit_test(test_restart_on_failure_recovers),
                cmocka_unit_test(test_restart_policy_confirmed_terminal),
                cmocka_unit_test(test_start_limit_hit),
                cmocka_unit_test(test_timeout_settles_after_job),
                cmocka_unit_test(test_initial_failed_fetched),
                cmocka_unit_test(test_failed_unknown_policy),
                cmocka_unit_test(test_non_service),
                cmocka_unit_test(test_active_inactive),
                cmocka_unit_test(test_restart_always_clean_exit),
                cmocka_unit_test(test_restarts_jump),
                cmocka_unit_test(test_props_refuse_bad_values),
                cmocka_unit_test(test_diff),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
