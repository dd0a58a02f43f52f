/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The run store and the journal codec: what is committed survives a
 * reopen exactly, a torn tail loses at most the record being written, a
 * bad record is skipped, and compaction keeps what it must. */

#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "run-journal.h"
#include "run-store.h"

#define T0 (1700000000ULL * USEC_PER_SEC)

static char dir[] = "/tmp/salve-test-run-store-XXXXXX";
static char path[300];

static const char *plan_yaml =
        "plan: store\nrto: 1h\nsteps:\n"
        "  - {id: a, run: exec, with: {command: [/a]}, estimate: 1m}\n"
        "  - {id: ok, needs: [a], human: approve, owner: dba}\n"
        "  - {id: b, needs: [ok], run: unit.start, with: {unit: b.service}}\n";

static int setup(void **state) {
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/journal", dir);
        return 0;
}

static int teardown(void **state) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static void fresh(void) {
        char tmp[320];
        unlink(path);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        unlink(tmp);
}

static Run *create(RunStore *s, usec_t now) {
        _cleanup_free_ char *id = NULL;
        Transition c;
        Run *r = NULL;

        assert_int_equal(run_store_new_id(s, "store", &id), 0);
        assert_int_equal(run_created_transition(id, "store", "/x/store.yaml", plan_yaml, "manual", "test", now, now, &c),
                         0);
        assert_int_equal(run_store_commit(s, &c, &r), 0);
        transition_done(&c);
        assert_non_null(r);
        return r;
}

static void commit_all(RunStore *s, Transition *t, size_t n) {
        for (size_t i = 0; i < n; i++) {
                Run *r = NULL;
                assert_int_equal(run_store_commit(s, t + i, &r), 0);
                assert_int_equal(run_verify_caches(r), 0);
        }
        transitions_free(t, n);
}

static void advance(RunStore *s, Run *r, usec_t now) {
        for (int k = 0; k < 20; k++) {
                Transition *t;
                size_t n;
                usec_t wake;
                assert_int_equal(run_plan_next(r, now, &t, &n, &wake), 0);
                if (n == 0) {
                        free(t);
                        return;
                }
                commit_all(s, t, n);
        }
        fail();
}

static void result(RunStore *s, Run *r, size_t step, bool ok, usec_t now) {
        Transition t;
        assert_int_equal(run_step_result(r, step, ok, ok ? "done" : "failed", now, 0, &t), 0);
        assert_int_equal(run_store_commit(s, &t, NULL), 0);
        transition_done(&t);
}

static void approve(RunStore *s, Run *r, const char *step, usec_t now) {
        Transition *t;
        size_t n;
        assert_int_equal(run_act(r, step, ACTION_APPROVE, "alice", "salvectl", "go", now, &t, &n), 0);
        commit_all(s, t, n);
}

static void assert_same_run(const Run *a, const Run *b) {
        assert_int_equal(run_verify_caches(b), 0); /* replay rebuilt them too */
        assert_string_equal(a->id, b->id);
        assert_string_equal(a->plan->name, b->plan->name);
        assert_string_equal(a->trigger, b->trigger);
        assert_true(a->trigger_time == b->trigger_time);
        assert_true(a->finished == b->finished);
        assert_int_equal(run_state(a), run_state(b));
        for (size_t i = 0; i < a->plan->n_steps; i++) {
                assert_int_equal(a->steps[i].state, b->steps[i].state);
                assert_int_equal(a->steps[i].attempt, b->steps[i].attempt);
                assert_true(a->steps[i].started == b->steps[i].started);
                assert_true(a->steps[i].finished == b->steps[i].finished);
                assert_true(streq_ptr(a->steps[i].message, b->steps[i].message));
                assert_true(streq_ptr(a->steps[i].actor, b->steps[i].actor));
                assert_true(streq_ptr(a->steps[i].via, b->steps[i].via));
        }
}

static void test_commit_and_replay(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL, *s2 = NULL;
        RunStoreReplay stats;
        Run *r;

        fresh();
        assert_int_equal(run_store_open(path, &s, &stats), 0);
        assert_int_equal(stats.records, 0);
        r = create(s, T0);
        assert_string_equal(r->id, "store-1");
        advance(s, r, T0);
        result(s, r, 0, true, T0 + 10);
        advance(s, r, T0 + 10);
        assert_int_equal(r->steps[1].state, STEP_WAITING);

        assert_int_equal(run_store_open(path, &s2, &stats), -EBUSY); /* one owner at a time */
        s = run_store_free(s);

        assert_int_equal(run_store_open(path, &s2, &stats), 0);
        assert_int_equal(stats.dropped_bytes, 0);
        assert_int_equal(stats.bad_records, 0);
        assert_int_equal(s2->n_runs, 1);
        r = run_store_find(s2, "store-1");
        assert_non_null(r);
        assert_int_equal(r->steps[0].state, STEP_SUCCEEDED);
        assert_int_equal(r->steps[1].state, STEP_WAITING);
        assert_int_equal(run_state(r), RUN_WAITING);
        assert_true(run_store_active_for_plan(s2, "store") == r);

        /* Ids keep counting up across reopens. */
        r = create(s2, T0 + 20);
        assert_string_equal(r->id, "store-2");
}

static void test_torn_tail_loses_only_last_record(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL;
        RunStoreReplay stats;
        struct stat st;
        off_t good;
        Run *r;
        int fd;

        fresh();
        assert_int_equal(run_store_open(path, &s, NULL), 0);
        r = create(s, T0);
        advance(s, r, T0);
        assert_int_equal(stat(path, &st), 0);
        good = st.st_size;
        result(s, r, 0, true, T0 + 1); /* this record gets torn */
        s = run_store_free(s);

        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > good);
        assert_int_equal(truncate(path, good + (st.st_size - good) / 2), 0);

        assert_int_equal(run_store_open(path, &s, &stats), 0);
        assert_true(stats.dropped_bytes > 0);
        r = run_store_find(s, "store-1");
        assert_int_equal(r->steps[0].state, STEP_RUNNING); /* as before the torn write */

        /* Garbage appended by hand: cut off too, and appends go on. */
        s = run_store_free(s);
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "garbage!", 8), 8);
        close(fd);
        /* Not a torn record (no record magic): kept aside, reported as
         * lost, never cut silently. */
        assert_int_equal(run_store_open(path, &s, &stats), 0);
        assert_int_equal(stats.dropped_bytes, 0);
        assert_int_equal(stats.lost_bytes, 8);
        assert_int_equal(s->recovery.damage, JOURNAL_DAMAGE_RECORDS);
        assert_non_null(s->recovery.aside_path);
        assert_int_equal(unlink(s->recovery.aside_path), 0);
        r = run_store_find(s, "store-1");
        result(s, r, 0, true, T0 + 2);
        s = run_store_free(s);
        assert_int_equal(run_store_open(path, &s, &stats), 0);
        assert_int_equal(run_store_find(s, "store-1")->steps[0].state, STEP_SUCCEEDED);
}

/* The reported bug, as it was found: a journal of 18 runs (the last one
 * active), one byte flipped at offset 507. The file layer used to cut the
 * journal there, in place: 17 of the 18 runs, the active one included,
 * gone without a copy. Now the damaged record alone is lost, the file is
 * kept aside, and every other run is back exactly. */
static void test_flipped_byte_loses_one_record(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL, *s2 = NULL;
        RunStoreReplay stats;
        char states[18][16], cmd[700];
        uint64_t total, rec_start = 0, rec_end = 0, off = JOURNAL_FILE_HEADER_SIZE;
        struct stat st;
        Run *r = NULL;
        int fd;

        fresh();
        assert_int_equal(run_store_open(path, &s, NULL), 0);
        for (int i = 0; i < 18; i++) {
                usec_t t = T0 + (usec_t) i * 100;
                r = create(s, t);
                advance(s, r, t);
                if (i == 17)
                        break; /* the active one: step a running */
                result(s, r, 0, false, t + 5);
                advance(s, r, t + 5);
                assert_int_equal(run_state(r), RUN_FAILED);
        }
        for (size_t i = 0; i < s->n_runs; i++)
                snprintf(states[i], sizeof(states[i]), "%s", run_state_to_string(run_state(s->runs[i])));
        total = journal_file_n_records(s->journal);
        s = run_store_free(s);

        /* Which record holds byte 507? */
        fd = open(path, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        while (off < (uint64_t) st.st_size) {
                uint32_t len;
                assert_int_equal(pread(fd, &len, 4, (off_t) off + 4), 4);
                len = le32toh(len);
                if (off <= 507 && 507 < off + journal_record_size(len)) {
                        rec_start = off;
                        rec_end = off + journal_record_size(len);
                }
                off += journal_record_size(len);
        }
        assert_true(rec_end > rec_start);
        print_message("journal of %" PRIu64 " records, %" PRIu64 " bytes, 18 runs; byte 507 is in the record at "
                      "%" PRIu64 " (%" PRIu64 " bytes)\n", total, off, rec_start, rec_end - rec_start);
        {
                uint8_t c;
                assert_int_equal(pread(fd, &c, 1, 507), 1);
                c ^= 0x20;
                assert_int_equal(pwrite(fd, &c, 1, 507), 1);
        }
        close(fd);

        assert_int_equal(run_store_open(path, &s2, &stats), 0);
        assert_int_equal(stats.records, total - 1);
        assert_int_equal(stats.dropped_bytes, 0);
        assert_int_equal(stats.lost_bytes, rec_end - rec_start);
        assert_int_equal(s2->recovery.damage, JOURNAL_DAMAGE_RECORDS);
        assert_int_equal(s2->recovery.n_gaps, 1);
        assert_int_equal(s2->recovery.gaps[0].offset, rec_start);
        assert_non_null(s2->recovery.aside_path);
        assert_int_equal(stat(s2->recovery.aside_path, &st), 0);
        assert_int_equal(st.st_size, (off_t) off);

        /* 507 lies in the first runs' records: a lost run-created costs that
         * run (its other records are orphans), a lost step record only that
         * step's change. Every other run is exactly as before. */
        assert_true(s2->n_runs >= 17);
        assert_true(stats.orphans <= 4);
        for (size_t i = 0; i < 18; i++) {
                char id[32];
                snprintf(id, sizeof(id), "store-%zu", i + 1);
                r = run_store_find(s2, id);
                if (!r) {
                        assert_true(i < 2);
                        continue;
                }
                if (i >= 2)
                        assert_string_equal(run_state_to_string(run_state(r)), states[i]);
        }
        r = run_store_find(s2, "store-18");
        assert_non_null(r);
        assert_int_equal(r->steps[0].state, STEP_RUNNING);

        /* Reopened, it is a clean journal holding what was recovered. */
        snprintf(cmd, sizeof(cmd), "%s", s2->recovery.aside_path);
        s2 = run_store_free(s2);
        assert_int_equal(run_store_open(path, &s2, &stats), 0);
        assert_int_equal(s2->recovery.damage, JOURNAL_DAMAGE_NONE);
        assert_int_equal(stats.records, total - 1);
        assert_int_equal(unlink(cmd), 0);
}

static void test_bad_records_are_skipped(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL;
        RunStoreReplay stats;
        JournalFile *j;
        static const char *bad[] = {
                "not json",
                "{\"v\":1}",
                "{\"v\":2,\"type\":\"step\",\"run\":\"x\"}",
                "{\"v\":1,\"type\":\"step\",\"run\":\"store-1\",\"step\":\"a\",\"state\":\"sleeping\",\"attempt\":1}",
                "{\"v\":1,\"type\":\"step\",\"run\":\"store-1\",\"step\":\"a\",\"state\":\"failed\",\"attempt\":\"1\"}",
                "{\"v\":1,\"type\":\"step\",\"run\":\"store-1\",\"step\":\"zz\",\"state\":\"failed\",\"attempt\":1}",
                "{\"v\":1,\"type\":\"run-created\",\"run\":\"x-1\",\"plan\":\"x\",\"source\":\"plan: [\"}",
                "[1,2,3]",
                "{\"v\":1,\"type\":\"step\",\"run\":\"store-1\",\"step\":\"a\",\"state\":\"failed\",\"attempt\":1} trailing",
        };

        fresh();
        assert_int_equal(run_store_open(path, &s, NULL), 0);
        create(s, T0);
        s = run_store_free(s);

        assert_int_equal(journal_file_open(path, &j), 0);
        assert_int_equal(journal_file_replay(j, NULL, NULL, NULL, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(journal_file_append(j, bad[i], strlen(bad[i])), 0);
        {
                const char *orphan = "{\"v\":1,\"type\":\"step\",\"run\":\"gone-7\",\"step\":\"a\","
                                     "\"state\":\"failed\",\"attempt\":1}";
                assert_int_equal(journal_file_append(j, orphan, strlen(orphan)), 0);
        }
        journal_file_free(j);

        assert_int_equal(run_store_open(path, &s, &stats), 0);
        assert_int_equal(stats.bad_records, ELEMENTSOF(bad));
        assert_int_equal(stats.orphans, 1);
        assert_int_equal(s->n_runs, 1);
        assert_int_equal(run_store_find(s, "store-1")->steps[0].state, STEP_PENDING);
}

static void test_compaction(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL;
        RunStoreReplay stats;
        struct stat before, after;
        Run *live, *copy;
        Transition *t;
        size_t n;

        fresh();
        assert_int_equal(run_store_open(path, &s, NULL), 0);
        s->keep_finished = 3;

        /* Ten finished runs, each cancelled after some work. */
        for (int i = 0; i < 10; i++) {
                Run *r = create(s, T0 + i);
                advance(s, r, T0 + i);
                result(s, r, 0, true, T0 + i);
                advance(s, r, T0 + i);
                assert_int_equal(run_cancel(r, "bob", NULL, T0 + i, &t, &n), 0);
                commit_all(s, t, n);
        }
        /* And one in flight, waiting for an approval. */
        live = create(s, T0 + 100);
        advance(s, live, T0 + 100);
        result(s, live, 0, true, T0 + 101);
        advance(s, live, T0 + 101);
        approve(s, live, "ok", T0 + 102);
        advance(s, live, T0 + 102);
        assert_int_equal(live->steps[2].state, STEP_RUNNING);

        assert_int_equal(stat(path, &before), 0);
        assert_int_equal(run_store_compact(s), 0);
        assert_int_equal(stat(path, &after), 0);
        assert_true(after.st_size < before.st_size);
        assert_int_equal(s->n_runs, 4);
        assert_null(run_store_find(s, "store-7"));
        assert_non_null(run_store_find(s, "store-8"));

        /* What compaction wrote rebuilds the same runs. */
        {
                _cleanup_(run_store_freep) RunStore *s2 = NULL;
                s = run_store_free(s);
                assert_int_equal(run_store_open(path, &s2, &stats), 0);
                assert_int_equal(stats.bad_records, 0);
                assert_int_equal(s2->n_runs, 4);
                copy = run_store_find(s2, "store-11");
                assert_non_null(copy);
                assert_int_equal(copy->steps[2].state, STEP_RUNNING);
                assert_string_equal(copy->steps[1].actor, "alice");
                assert_int_equal(run_state(run_store_find(s2, "store-10")), RUN_CANCELLED);

                /* ...and they can go on. */
                result(s2, copy, 2, true, T0 + 103);
                advance(s2, copy, T0 + 103);
                assert_int_equal(run_state(copy), RUN_SUCCEEDED);
                /* Ids do not repeat after old runs are dropped. */
                assert_string_equal(create(s2, T0 + 200)->id, "store-12");
        }
}

/* Replays a byte copy of the journal (the live store keeps its lock). */
static RunStore *open_copy(void) {
        char copy[320], cmd[700];
        RunStore *c = NULL;

        snprintf(copy, sizeof(copy), "%s/copy", dir);
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path, copy);
        unlink(copy);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(run_store_open(copy, &c, NULL), 0);
        return c;
}

static void test_replay_equals_live(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL;
        Run *r, *failed;

        fresh();
        assert_int_equal(run_store_open(path, &s, NULL), 0);
        failed = create(s, T0);
        advance(s, failed, T0);
        result(s, failed, 0, false, T0 + 5);
        advance(s, failed, T0 + 5);
        assert_int_equal(run_state(failed), RUN_FAILED);

        r = create(s, T0 + 10);
        advance(s, r, T0 + 10);
        result(s, r, 0, true, T0 + 11);
        advance(s, r, T0 + 11);
        approve(s, r, "ok", T0 + 12);
        advance(s, r, T0 + 12);

        for (int round = 0; round < 2; round++) {
                _cleanup_(run_store_freep) RunStore *c = open_copy();
                assert_int_equal(c->n_runs, 2);
                assert_same_run(failed, run_store_find(c, failed->id));
                assert_same_run(r, run_store_find(c, r->id));
                /* Second round: the same after compaction. */
                assert_int_equal(run_store_compact(s), 0);
        }
}

static void assert_same_history(const Run *a, const Run *b) {
        assert_false(b->history_cut);
        assert_int_equal(a->n_history, b->n_history);
        for (size_t i = 0; i < a->n_history; i++) {
                assert_int_equal(a->history_size[i], b->history_size[i]);
                assert_memory_equal(a->history[i], b->history[i], a->history_size[i]);
        }
}

/* A run's history (every record as written) survives a reopen and any
 * number of compactions byte for byte, and a run past the limit keeps
 * its state, not its history. */
static void test_history(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL;
        Run *r;
        size_t n;

        fresh();
        assert_int_equal(run_store_open(path, &s, NULL), 0);
        r = create(s, T0);
        advance(s, r, T0);
        result(s, r, 0, false, T0 + 5);  /* a failed attempt the state alone would forget */
        advance(s, r, T0 + 5);
        n = r->n_history;
        assert_true(n >= 4);
        assert_non_null(strstr(r->history[0], "\"type\":\"run-created\""));
        assert_non_null(strstr(r->history[n - 1], "\"type\":\"run-finished\""));

        for (int round = 0; round < 3; round++) {
                _cleanup_(run_store_freep) RunStore *c = open_copy();
                assert_same_run(r, run_store_find(c, r->id));
                assert_same_history(r, run_store_find(c, r->id));
                assert_int_equal(run_store_compact(s), 0);
                r = run_store_find(s, "store-1");
                assert_int_equal(r->n_history, n);
        }

        /* Past the limit: dropped, and compaction falls back to the state. */
        r = create(s, T0 + 10);
        while (!r->history_cut) {
                Transition t = { .kind = TRANSITION_RTO, .run_id = r->id, .at = T0 + 11,
                                 .rto_state = RTO_AT_RISK, .projected = T0 + 12 };
                assert_int_equal(run_store_commit(s, &t, NULL), 0);
        }
        assert_int_equal(r->n_history, 0);
        assert_int_equal(run_store_compact(s), 0);
        {
                _cleanup_(run_store_freep) RunStore *c = open_copy();
                Run *x = run_store_find(c, "store-2");
                assert_non_null(x);
                assert_int_equal(x->rto_state, RTO_AT_RISK);
                assert_true(x->rto_at == T0 + 11);
                assert_false(x->history_cut);  /* it starts again from the state */
                assert_true(x->n_history >= 1);
        }
}

/* A group commit gives the run and the journal what one commit each
 * gives; creating or finishing a run is not batched. */
static void test_commit_many(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL, *one = NULL;
        Transition *t;
        size_t n;
        usec_t wake;
        Run *r, *r1;
        char other[320];

        fresh();
        snprintf(other, sizeof(other), "%s/one", dir);
        unlink(other);
        assert_int_equal(run_store_open(path, &s, NULL), 0);
        assert_int_equal(run_store_open(other, &one, NULL), 0);
        r = create(s, T0);
        r1 = create(one, T0);
        assert_int_equal(run_plan_next(r, T0, &t, &n, &wake), 0);
        assert_true(n >= 1);
        assert_int_equal(run_store_commit_many(s, t, n), 0);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(run_store_commit(one, t + i, NULL), 0);
        transitions_free(t, n);
        assert_int_equal(run_verify_caches(r), 0);
        assert_same_run(r1, r);
        assert_int_equal(r->n_history, r1->n_history);
        assert_int_equal(journal_file_n_records(s->journal), journal_file_n_records(one->journal));
        {
                _cleanup_(run_store_freep) RunStore *c = open_copy();
                assert_same_run(r, run_store_find(c, r->id));
                assert_same_history(r, run_store_find(c, r->id));
        }

        /* Not batched: a creation, or a transition of an unknown run. */
        {
                Transition c, u = { .kind = TRANSITION_RTO, .run_id = (char *) "nope-1", .rto_state = RTO_AT_RISK };
                uint64_t before = journal_file_n_records(s->journal);
                assert_int_equal(run_created_transition("store-9", "store", "/x/store.yaml", plan_yaml, "manual",
                                                        "test", T0, T0, &c), 0);
                assert_int_equal(run_store_commit_many(s, &c, 1), -EOPNOTSUPP);
                assert_int_equal(run_store_commit_many(s, &u, 1), -EOPNOTSUPP);
                assert_int_equal(journal_file_n_records(s->journal), before);
                assert_null(run_store_find(s, "store-9"));
                transition_done(&c);
        }
}

/* All histories together stay under the store's limit: the oldest
 * finished runs give theirs up first, the active run never. */
static void test_history_limit(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL;
        Run *first, *live;
        size_t one;

        fresh();
        assert_int_equal(run_store_open(path, &s, NULL), 0);
        first = create(s, T0);
        advance(s, first, T0);
        result(s, first, 0, false, T0 + 1);
        advance(s, first, T0 + 1);
        assert_true(run_is_finished(first));
        one = first->history_bytes;
        assert_int_equal(s->history_bytes, one);
        s->history_max = 3 * one;
        for (int i = 1; i < 6; i++) {
                Run *r = create(s, T0 + 10 * i);
                advance(s, r, T0 + 10 * i);
                result(s, r, 0, false, T0 + 10 * i + 1);
                advance(s, r, T0 + 10 * i + 1);
                assert_true(s->history_bytes <= s->history_max);
        }
        live = create(s, T0 + 100);
        advance(s, live, T0 + 100);
        assert_true(s->history_bytes <= s->history_max + live->history_bytes);
        assert_true(first->history_cut);
        assert_false(live->history_cut);
        assert_false(run_store_find(s, "store-6")->history_cut);  /* the newest finished kept theirs */
        {
                size_t sum = 0;
                for (size_t i = 0; i < s->n_runs; i++)
                        sum += s->runs[i]->history_bytes;
                assert_int_equal(sum, s->history_bytes);
        }
        /* Compaction: the cut ones are written as their state and replay. */
        s->keep_finished = 2;
        assert_int_equal(run_store_compact(s), 0);
        {
                size_t sum = 0;
                for (size_t i = 0; i < s->n_runs; i++)
                        sum += s->runs[i]->history_bytes;
                assert_int_equal(sum, s->history_bytes);
                _cleanup_(run_store_freep) RunStore *c = open_copy();
                assert_int_equal(c->n_runs, s->n_runs);
                assert_same_run(live, run_store_find(c, live->id));
        }
}

static void test_codec_round_trip(void **state) {
        Transition t = {
                .kind = TRANSITION_STEP,
                .run_id = (char *) "r-1",
                .at = T0,
                .step_id = (char *) "a",
                .state = STEP_PENDING,
                .attempt = 2,
                .not_before = T0 + 5,
                .message = (char *) "quote \" backslash \\ newline \n unicode \xc3\xa9",
                .actor = (char *) "alice",
        }, u;
        _cleanup_free_ char *json = NULL;

        assert_int_equal(transition_to_json(&t, &json), 0);
        assert_int_equal(transition_from_json(json, strlen(json), &u), 0);
        assert_int_equal(u.kind, TRANSITION_STEP);
        assert_string_equal(u.run_id, "r-1");
        assert_true(u.at == T0);
        assert_int_equal(u.state, STEP_PENDING);
        assert_int_equal(u.attempt, 2);
        assert_true(u.not_before == T0 + 5);
        assert_string_equal(u.message, t.message);
        assert_string_equal(u.actor, "alice");
        assert_null(u.comment);
        transition_done(&u);

        assert_int_equal(transition_from_json("", 0, &u), -EBADMSG);
        assert_int_equal(transition_from_json("{", 1, &u), -EBADMSG);
        {
                const char *future = "{\"v\":9,\"type\":\"rto\",\"run\":\"r\"}";
                assert_int_equal(transition_from_json(future, strlen(future), &u), -EPROTONOSUPPORT);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_commit_and_replay),
                cmocka_unit_test(test_torn_tail_loses_only_last_record),
                cmocka_unit_test(test_flipped_byte_loses_one_record),
                cmocka_unit_test(test_bad_records_are_skipped),
                cmocka_unit_test(test_compaction),
                cmocka_unit_test(test_replay_equals_live),
                cmocka_unit_test(test_codec_round_trip),
                cmocka_unit_test(test_history),
                cmocka_unit_test(test_commit_many),
                cmocka_unit_test(test_history_limit),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
