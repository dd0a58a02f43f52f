/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A run journal written by a released salve replays in this one
 * (docs/journal-format.md, "Format versions and compatibility"). The
 * fixtures in tests/data/journal were written by each release's own code
 * (gen-journal.c, README.md there); each is copied to a temporary
 * directory and opened with this tree's run_store_open(), as salved would
 * after a package upgrade. This tree must rebuild every run exactly,
 * go on with the active one, compact, and replay the result again.
 *
 * A journal of a NEWER format (an intact header with version 2) is set
 * aside unread as unsupported: that is test_recover_unsupported() in
 * test-journal-file.c, not repeated here. */

#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "../data/journal/journal-dump.h"
#include "journal-file.h"
#include "run-journal.h"
#include "run-store.h"
#include "run.h"
#include "strv.h"

#define S (1000000ULL)
#define M (60 * S)
#define T0 (1780000000ULL * S)  /* gen-journal.c's */

#define FIXTURE_0_1_0 TEST_DATA_DIR "/journal/v1-0.1.0.journal"
#define EXPECTED_0_1_0 TEST_DATA_DIR "/journal/v1-0.1.0.expected"
#define RECORDS_0_1_0 23

static char dir[] = "/tmp/salve-test-journal-compat-XXXXXX";
static char path[300];

static char *slurp(const char *p, size_t *ret_size) {
        FILE *f = fopen(p, "re");
        char *buf;
        long n;

        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n >= 0);
        rewind(f);
        buf = malloc((size_t) n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
        buf[n] = 0;
        fclose(f);
        if (ret_size)
                *ret_size = (size_t) n;
        return buf;
}

static void spill(const char *p, const void *data, size_t size) {
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, size, f), size);
        assert_int_equal(fclose(f), 0);
}

static int setup(void **state) {
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/runs.journal", dir);
        return 0;
}

static int teardown(void **state) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

/* A fresh copy of the fixture at path (the fixture itself is never opened
 * for writing: replay may cut, recover or compact). */
static void copy_fixture(const char *fixture) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        char tmp[320];

        data = slurp(fixture, &size);
        (void) unlink(path);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        (void) unlink(tmp);
        spill(path, data, size);
}

static char *dump_to_string(const RunStore *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        dump_store(f, s);
        assert_int_equal(fclose(f), 0);
        return buf;
}

/* The "# state" part of an .expected file. */
static char *expected_state(const char *expected) {
        _cleanup_free_ char *all = slurp(expected, NULL);
        char *p = strstr(all, "\n# state\n");

        assert_non_null(p);
        return strdup(p + strlen("\n# state\n"));
}

/* Equal, or fails naming the first line that differs. */
static void assert_text_equal(const char *want, const char *got) {
        unsigned line = 1;
        size_t i = 0, start = 0;

        for (; want[i] && want[i] == got[i]; i++)
                if (want[i] == '\n') {
                        line++;
                        start = i + 1;
                }
        if (want[i] == got[i])
                return;
        want += start;
        got += start;
        fail_msg("state line %u: expected \"%.*s\", this release has \"%.*s\"", line,
                 (int) strcspn(want, "\n"), want, (int) strcspn(got, "\n"), got);
}

/* Every record of a journal file, as stored. */
typedef struct Records {
        char **payload;
        size_t *size;
        size_t n;
} Records;

static int collect(const void *payload, size_t size, void *userdata) {
        Records *r = userdata;
        char *copy = malloc(size + 1);

        assert_non_null(copy);
        memcpy(copy, payload, size);
        copy[size] = 0;
        r->payload = reallocarray(r->payload, r->n + 1, sizeof(char *));
        r->size = reallocarray(r->size, r->n + 1, sizeof(size_t));
        assert_non_null(r->payload);
        assert_non_null(r->size);
        r->payload[r->n] = copy;
        r->size[r->n++] = size;
        return 0;
}

/* Reads a copy: p may be the journal of an open store, which holds its lock. */
static void records_read(const char *p, Records *ret) {
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        _cleanup_free_ char *data = NULL;
        uint64_t n = 0, dropped = 1;
        char copy[320];
        size_t size;

        *ret = (Records) {};
        data = slurp(p, &size);
        snprintf(copy, sizeof(copy), "%s/read.journal", dir);
        (void) unlink(copy);
        spill(copy, data, size);
        assert_int_equal(journal_file_open(copy, &j), 0);
        assert_int_equal(journal_file_replay(j, collect, ret, &n, &dropped), 0);
        assert_int_equal(n, ret->n);
        assert_int_equal(dropped, 0);
}

static void records_done(Records *r) {
        for (size_t i = 0; i < r->n; i++)
                free(r->payload[i]);
        free(r->payload);
        free(r->size);
        *r = (Records) {};
}

static const char *record_run(const Records *recs, size_t i, char buf[static 64]) {
        Transition t;

        assert_int_equal(transition_from_json(recs->payload[i], recs->size[i], &t), 0);
        snprintf(buf, 64, "%s", t.run_id);
        transition_done(&t);
        return buf;
}

/* Each run's history is exactly its records of the file, byte for byte
 * and in the file's order. */
static void assert_histories_are(const RunStore *s, const Records *recs) {
        size_t *seen = calloc(s->n_runs, sizeof(size_t));
        size_t total = 0;

        assert_non_null(seen);
        for (size_t i = 0; i < recs->n; i++) {
                char id[64];
                size_t k;

                record_run(recs, i, id);
                for (k = 0; k < s->n_runs; k++)
                        if (streq(s->runs[k]->id, id))
                                break;
                assert_true(k < s->n_runs);
                assert_false(s->runs[k]->history_cut);
                assert_true(seen[k] < s->runs[k]->n_history);
                assert_int_equal(s->runs[k]->history_size[seen[k]], recs->size[i]);
                assert_memory_equal(s->runs[k]->history[seen[k]], recs->payload[i], recs->size[i]);
                seen[k]++;
        }
        for (size_t k = 0; k < s->n_runs; k++) {
                assert_int_equal(seen[k], s->runs[k]->n_history);
                total += seen[k];
        }
        assert_int_equal(total, recs->n);
        free(seen);
}

static size_t step_index(const Run *r, const char *id) {
        for (size_t i = 0; i < r->plan->n_steps; i++)
                if (streq(r->plan->steps[i].id, id))
                        return i;
        fail_msg("%s has no step %s", r->id, id);
        return 0;
}

static void assert_step(const Run *r, const char *id, StepState state, unsigned attempt, usec_t started,
                        usec_t finished, const char *message) {
        const StepRun *x = r->steps + step_index(r, id);

        assert_string_equal(step_state_to_string(x->state), step_state_to_string(state));
        assert_int_equal(x->attempt, attempt);
        assert_true(x->started == started);
        assert_true(x->finished == finished);
        assert_true(x->not_before == 0);
        assert_true(streq_ptr(x->message, message));
        assert_null(x->actor);
        assert_null(x->comment);
}

static void assert_context(const Run *r, const char *only) {
        if (!only) {
                assert_true(!r->trigger_context || !r->trigger_context[0]);
                return;
        }
        assert_non_null(r->trigger_context);
        assert_string_equal(r->trigger_context[0], only);
        assert_null(r->trigger_context[1]);
}

/* What gen-journal.c made, stated here on its own (not only through the
 * dump), so that an expectation cannot drift with the dump code. */
static void assert_0_1_0_runs(const RunStore *s, bool storage_done) {
        const Run *r;
        RunHold hold;

        assert_int_equal(s->n_runs, 4);
        assert_true(s->next_seq == 5);

        r = run_store_find(s, "web-1");
        assert_non_null(r);
        assert_int_equal(run_verify_caches(r), 0);
        assert_string_equal(r->plan->name, "web");
        assert_string_equal(r->plan->path, "/etc/salve/plans.d/web.yaml");
        assert_string_equal(r->trigger, "unit");
        assert_string_equal(r->reason, "web.service failed");
        assert_true(r->trigger_time == T0 - 5 * S);
        assert_true(r->created == T0);
        assert_context(r, NULL);
        assert_int_equal(run_state(r), RUN_SUCCEEDED);
        assert_int_equal(r->final_state, RUN_SUCCEEDED);
        assert_true(r->finished == T0 + 30 * S);
        assert_string_equal(r->final_message, "all steps finished");
        assert_int_equal(r->rto_state, RTO_OK);
        assert_int_equal(r->n_releases, 0);
        assert_int_equal(r->plan->n_steps, 2);
        assert_step(r, "fetch", STEP_SUCCEEDED, 1, T0, T0 + 20 * S, "exit status 0");
        assert_step(r, "restart", STEP_SUCCEEDED, 1, T0 + 20 * S, T0 + 30 * S, "web.service active");

        r = run_store_find(s, "db-2");
        assert_non_null(r);
        assert_int_equal(run_verify_caches(r), 0);
        assert_string_equal(r->trigger, "manual");
        assert_int_equal(run_state(r), RUN_FAILED);
        assert_int_equal(r->final_state, RUN_FAILED);
        assert_true(r->finished == T0 + 2 * M);
        assert_string_equal(r->final_message, "the run failed: step \"fsck\" failed (exit status 4)");
        assert_step(r, "fsck", STEP_FAILED, 1, T0 + 1 * M, T0 + 2 * M, "exit status 4");
        assert_step(r, "start-db", STEP_CANCELLED, 0, 0, T0 + 2 * M,
                    "the run failed: step \"fsck\" failed (exit status 4)");
        assert_int_equal(r->n_releases, 1);
        assert_string_equal(r->releases[0].unit, "postgresql.service");
        assert_true(r->releases[0].at == T0 + 5 * M);
        assert_string_equal(r->releases[0].actor, "root (uid 0)");
        assert_string_equal(r->releases[0].comment, "fsck done by hand");
        assert_int_equal(run_hold(r, "postgresql.service", &hold), 0);
        assert_false(hold.held);
        assert_true(hold.by_person == &r->releases[0]);

        r = run_store_find(s, "net-3");
        assert_non_null(r);
        assert_int_equal(run_verify_caches(r), 0);
        assert_string_equal(r->trigger, "link");
        assert_context(r, "link=eth0");
        assert_int_equal(run_state(r), RUN_SUCCEEDED);
        assert_true(r->finished == T0 + 14 * M + 5 * S);
        /* The failed first attempt (compacted by 0.1.0 into its pending
         * state with a backoff), then the retry after it. */
        assert_step(r, "reset-link", STEP_SUCCEEDED, 2, T0 + 14 * M, T0 + 14 * M + 3 * S, "exit status 0");
        assert_step(r, "verify", STEP_SUCCEEDED, 1, T0 + 14 * M + 3 * S, T0 + 14 * M + 5 * S, "exit status 0");

        r = run_store_find(s, "storage-4");
        assert_non_null(r);
        assert_int_equal(run_verify_caches(r), 0);
        assert_string_equal(r->trigger, "device");
        assert_string_equal(r->reason, "/dev/vdb1: I/O errors");
        assert_true(r->trigger_time == T0 + 11 * M);
        assert_true(r->created == T0 + 12 * M);
        assert_context(r, "device=/dev/vdb1");
        assert_int_equal(r->rto_state, RTO_AT_RISK);
        assert_true(r->projected == T0 + 55 * M + 30 * S);
        assert_true(r->rto_at == T0 + 15 * M + 30 * S);
        assert_true(run_deadline(r) == T0 + 41 * M);
        assert_step(r, "snapshot", STEP_SUCCEEDED, 1, T0 + 12 * M, T0 + 13 * M, "exit status 0");
        {
                const StepRun *x = r->steps + step_index(r, "approve");
                const HumanState *h = &x->human;

                if (!storage_done) {
                        assert_step(r, "approve", STEP_WAITING, 1, T0 + 13 * M, 0, "waiting for dba-oncall");
                        assert_step(r, "mount", STEP_PENDING, 0, 0, 0, NULL);
                        assert_int_equal(run_state(r), RUN_WAITING);
                        assert_string_equal(run_store_state_string(s, r), "waiting");
                        assert_true(run_store_active_for_plan(s, "storage") == r);
                }
                assert_int_equal(h->attempt, 1);
                assert_int_equal(h->n_notices, 2);
                assert_int_equal(h->notices[0].level, 0);
                assert_int_equal(h->notices[0].round, 1);
                assert_true(h->notices[0].at == T0 + 13 * M);
                assert_string_equal(h->notices[0].recipients[0], "jane");
                assert_null(h->notices[0].recipients[1]);
                assert_int_equal(h->notices[1].level, 1);
                assert_int_equal(h->notices[1].round, 1);
                assert_true(h->notices[1].at == T0 + 15 * M);
                assert_string_equal(h->notices[1].recipients[0], "joe");
                assert_string_equal(h->notices[1].recipients[1], "ann");
                assert_null(h->notices[1].recipients[2]);
                assert_true(h->acked_at == T0 + 16 * M);
                assert_string_equal(h->acked_by, "joe");
                assert_string_equal(h->acked_via, "salvectl");
                assert_string_equal(h->ack_comment, "on it");
                assert_int_equal(h->n_reminders, 0);
                assert_true(h->unanswered_at == 0);
        }
}

/* The fixture's header: version 1, as this release writes it too. */
static void test_header(void **state) {
        _cleanup_free_ uint8_t *data = NULL;
        uint32_t v;
        size_t size;

        data = (uint8_t *) slurp(FIXTURE_0_1_0, &size);
        assert_int_equal(size, 5224);
        assert_memory_equal(data, "SALVEJ1\0", 8);
        memcpy(&v, data + 8, 4);
        assert_int_equal(le32toh(v), 1);
        assert_int_equal(JOURNAL_FILE_VERSION, 1); /* a new version needs a new fixture, and a reader of this one */
        memcpy(&v, data + 12, 4);
        assert_int_equal(le32toh(v), 32);
        memcpy(&v, data + 24, 4);
        assert_int_equal(le32toh(v), 0);
        memcpy(&v, data + 28, 4);
        assert_int_equal(le32toh(v), (uint32_t) crc32(0, data, 28));
}

/* Every record parses in this release and says "v":1. */
static void test_records(void **state) {
        Records recs;

        copy_fixture(FIXTURE_0_1_0);
        records_read(path, &recs);
        assert_int_equal(recs.n, RECORDS_0_1_0);
        for (size_t i = 0; i < recs.n; i++) {
                Transition t;
                assert_true(strncmp(recs.payload[i], "{\"v\":1,", 7) == 0);
                assert_int_equal(transition_from_json(recs.payload[i], recs.size[i], &t), 0);
                transition_done(&t);
        }
        records_done(&recs);
}

static void test_replay(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL;
        _cleanup_free_ char *want = NULL, *got = NULL;
        RunStoreReplay stats = {};
        Records recs;

        copy_fixture(FIXTURE_0_1_0);
        assert_int_equal(run_store_open(path, &s, &stats), 0);
        assert_int_equal(stats.records, RECORDS_0_1_0);
        assert_int_equal(stats.bad_records, 0);
        assert_int_equal(stats.orphans, 0);
        assert_int_equal(stats.lost_bytes, 0);
        assert_int_equal(stats.dropped_bytes, 0);
        assert_int_equal(s->recovery.damage, JOURNAL_DAMAGE_NONE);
        assert_null(s->recovery.aside_path);

        assert_0_1_0_runs(s, false);
        want = expected_state(EXPECTED_0_1_0);
        got = dump_to_string(s);
        assert_text_equal(want, got);

        /* This release keeps the records as its runs' history, verbatim. */
        records_read(FIXTURE_0_1_0, &recs);
        assert_histories_are(s, &recs);
        records_done(&recs);

        /* The file was replayed, not rewritten. */
        {
                _cleanup_free_ char *a = NULL, *b = NULL;
                size_t na, nb;
                s = run_store_free(s);
                a = slurp(FIXTURE_0_1_0, &na);
                b = slurp(path, &nb);
                assert_int_equal(na, nb);
                assert_memory_equal(a, b, na);
        }
}

static int resolve(const char *name, usec_t at, char ***ret, void *userdata) {
        return -ENOENT;
}

static void commit_all(RunStore *s, Transition *t, size_t n) {
        for (size_t i = 0; i < n; i++)
                assert_int_equal(run_store_commit(s, t + i, NULL), 0);
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

/* This release goes on with the run 0.1.0 left waiting: the person
 * approves, the last step runs, the run finishes; then compaction, and
 * the result replays to the same store with every old record kept. */
static void test_go_on(void **state) {
        _cleanup_(run_store_freep) RunStore *s = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL, *want = NULL;
        RunStoreReplay stats = {};
        Records old, compacted;
        Transition *t, one;
        size_t n;
        usec_t wake;
        Run *r;

        copy_fixture(FIXTURE_0_1_0);
        assert_int_equal(run_store_open(path, &s, &stats), 0);
        r = run_store_find(s, "storage-4");
        assert_non_null(r);
        assert_int_equal(run_set_boot_id(r, "0123456789abcdef0123456789abcdef"), 0);

        /* Acknowledged already: nobody more is told. */
        assert_int_equal(run_human_next(r, T0 + 18 * M, resolve, NULL, &t, &n, &wake), 0);
        assert_int_equal(n, 0);
        free(t);

        assert_int_equal(run_act(r, "approve", ACTION_APPROVE, "alice (uid 1000)", "salvectl", "snapshot checked", T0 + 20 * M,
                                 &t, &n),
                         0);
        commit_all(s, t, n);
        assert_int_equal(r->steps[step_index(r, "approve")].state, STEP_SUCCEEDED);
        assert_string_equal(r->steps[step_index(r, "approve")].actor, "alice (uid 1000)");
        advance(s, r, T0 + 20 * M);
        assert_int_equal(r->steps[step_index(r, "mount")].state, STEP_RUNNING);
        assert_int_equal(r->steps[step_index(r, "mount")].attempt, 1);
        assert_string_equal(r->steps[step_index(r, "mount")].boot_id, "0123456789abcdef0123456789abcdef");
        assert_int_equal(run_step_result(r, step_index(r, "mount"), true, "exit status 0", T0 + 25 * M, 0, &one), 0);
        assert_int_equal(run_store_commit(s, &one, NULL), 0);
        transition_done(&one);
        advance(s, r, T0 + 25 * M);
        assert_int_equal(run_state(r), RUN_SUCCEEDED);
        assert_true(r->finished == T0 + 25 * M);
        assert_int_equal(r->rto_state, RTO_AT_RISK); /* finished inside the deadline: never breached */
        assert_null(run_store_active_for_plan(s, "storage"));
        assert_0_1_0_runs(s, true);

        /* The three finished runs are still as 0.1.0 left them. */
        before = dump_to_string(s);
        want = expected_state(EXPECTED_0_1_0);
        {
                char *cut_want = strstr(want, "run storage-4 "), *cut_got = strstr(before, "run storage-4 ");
                assert_non_null(cut_want);
                assert_non_null(cut_got);
                assert_int_equal(cut_want - want, cut_got - before);
                assert_memory_equal(want, before, (size_t) (cut_want - want));
        }

        assert_int_equal(run_store_compact(s), 0);
        s = run_store_free(s);

        /* The compacted file replays cleanly to the same store ... */
        assert_int_equal(run_store_open(path, &s, &stats), 0);
        assert_int_equal(stats.bad_records, 0);
        assert_int_equal(stats.orphans, 0);
        assert_int_equal(stats.lost_bytes, 0);
        assert_int_equal(stats.dropped_bytes, 0);
        assert_int_equal(s->recovery.damage, JOURNAL_DAMAGE_NONE);
        after = dump_to_string(s);
        assert_text_equal(before, after);
        assert_0_1_0_runs(s, true);

        /* ... holding each of 0.1.0's records verbatim, each run's in
         * their order, then this release's. */
        records_read(path, &compacted);
        assert_histories_are(s, &compacted);
        records_read(FIXTURE_0_1_0, &old);
        assert_int_equal(compacted.n, stats.records);
        assert_true(compacted.n > old.n);
        for (size_t i = 0; i < old.n; i++) {
                char id[64];
                const Run *x;
                size_t before_i = 0;

                record_run(&old, i, id);
                x = run_store_find(s, id);
                assert_non_null(x);
                for (size_t k = 0; k < i; k++) {
                        char id2[64];
                        before_i += streq(record_run(&old, k, id2), id);
                }
                assert_true(before_i < x->n_history);
                assert_int_equal(x->history_size[before_i], old.size[i]);
                assert_memory_equal(x->history[before_i], old.payload[i], old.size[i]);
        }
        records_done(&old);

        /* And once more: a second compaction changes nothing. */
        assert_int_equal(run_store_compact(s), 0);
        s = run_store_free(s);
        assert_int_equal(run_store_open(path, &s, &stats), 0);
        assert_int_equal(stats.bad_records, 0);
        {
                _cleanup_free_ char *again = dump_to_string(s);
                Records recs;
                assert_text_equal(before, again);
                records_read(path, &recs);
                assert_int_equal(recs.n, compacted.n);
                for (size_t i = 0; i < recs.n; i++) {
                        assert_int_equal(recs.size[i], compacted.size[i]);
                        assert_memory_equal(recs.payload[i], compacted.payload[i], recs.size[i]);
                }
                records_done(&recs);
        }
        records_done(&compacted);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header),
                cmocka_unit_test(test_records),
                cmocka_unit_test(test_replay),
                cmocka_unit_test(test_go_on),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
