/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The notification outbox: what is journaled survives a reopen exactly
 * (and a compaction), an id is enqueued once, backoff is full jitter with
 * a cap, old failures die, dead letters are bounded with a durable count,
 * the people's verbs, a torn tail costs at most the last record, bad
 * records are skipped and counted, and the cost of 10,000 entries. */

#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#include "journal-file.h"
#include "outbox.h"

#define T0 (1700000000ULL * USEC_PER_SEC)

static char dir[] = "/tmp/salve-test-outbox-XXXXXX";
static char path[300];

static int setup(void **state) {
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/outbox.journal", dir);
        return 0;
}

static int teardown(void **state) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

/* Each test starts from an empty directory. */
static int fresh(void **state) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static Outbox *open_outbox(const OutboxLimits *l, OutboxStats *stats) {
        Outbox *o = NULL;
        assert_int_equal(outbox_open(path, l, &o, stats), 0);
        assert_non_null(o);
        return o;
}

/* Everything observable, as text, to compare two outboxes. */
static char *snapshot(const Outbox *o) {
        _cleanup_free_ OutboxEntry **l = NULL;
        size_t n = outbox_list(o, &l), counts[_OUTBOX_STATE_MAX];
        uint64_t dropped;
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        outbox_counts(o, counts, &dropped);
        fprintf(f, "counts %zu %zu %zu %zu dropped %" PRIu64 " by-people %" PRIu64 " next %" PRIu64 "\n",
                counts[0], counts[1], counts[2], counts[3], dropped, outbox_dropped_by_people(o),
                outbox_next_due(o));
        for (size_t i = 0; i < n; i++) {
                const OutboxEntry *e = l[i];
                fprintf(f, "%s|%s|%s|%s|%s|%s|%u|%" PRIu64 "|%" PRIu64 "|%" PRIu64 "|%" PRIu64 "|%" PRIu64 "|%ld|%s\n",
                        e->id, e->channel, e->key, strna(e->run_id), strna(e->payload),
                        outbox_state_to_string(e->state), e->attempts, e->created, e->last_attempt, e->next_attempt,
                        e->finished, e->retried, e->last_status, strna(e->last_error));
        }
        fclose(f);
        return buf;
}

static OutboxEntry *find(Outbox *o, const char *channel, const char *key) {
        char id[256];
        snprintf(id, sizeof(id), "%s/%s", channel, key);
        return outbox_find(o, id);
}

/* A mix of every state and record type. */
static void populate(Outbox *o) {
        OutboxEntry *e;
        OutboxNew many[] = {
                { .channel = "ops", .key = "salve/h/run-1/a/human-needed", .run_id = "run-1", .payload = "{\"n\":1}" },
                { .channel = "pd", .key = "salve/h/run-1/a/human-needed", .run_id = "run-1", .payload = "{\"n\":1}" },
        };

        assert_int_equal(outbox_enqueue(o, "ops", "k1", "run-1", "{\"a\":\"\\u00e9\"}", T0, &e), 0);
        assert_string_equal(e->id, "ops/k1");
        assert_int_equal(outbox_enqueue(o, "ops", "k2", NULL, "two", T0 + 1, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "mail", "k3", "run-2", "three", T0 + 2, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "mail", "k4", "run-2", "four", T0 + 3, NULL), 0);
        assert_int_equal(outbox_enqueue_many(o, many, ELEMENTSOF(many), T0 + 4), 2);

        assert_int_equal(outbox_delivered(o, find(o, "ops", "k1"), 202, T0 + 10), 0);
        assert_int_equal(outbox_failed(o, find(o, "ops", "k2"), 503, "Service Unavailable", true, 0.5, T0 + 10), 0);
        assert_int_equal(outbox_failed(o, find(o, "mail", "k3"), 400, "bad request", false, 0.5, T0 + 11), 0);
        assert_int_equal(outbox_failed(o, find(o, "mail", "k4"), 0, "connection refused", true, 0.25, T0 + 12), 0);
        assert_int_equal(outbox_failed(o, find(o, "mail", "k4"), 0, "timeout", true, 0.75, T0 + 13), 0);
        assert_int_equal(outbox_failed(o, find(o, "pd", "salve/h/run-1/a/human-needed"), 429, "slow down", false, 0,
                                       T0 + 14), 0);
        assert_int_equal(outbox_retry(o, "pd/salve/h/run-1/a/human-needed", T0 + 20), 0);
        assert_int_equal(outbox_enqueue(o, "ops", "k5", NULL, "five", T0 + 21, NULL), 0);
        assert_int_equal(outbox_drop(o, "ops/k5", T0 + 22), 0);
}

static void test_reopen_same_state(void **state) {
        _cleanup_free_ char *before = NULL, *after = NULL, *compacted = NULL, *after_compact = NULL;
        OutboxStats stats;
        Outbox *o = open_outbox(NULL, &stats);

        assert_int_equal(stats.records, 0);
        populate(o);
        before = snapshot(o);
        outbox_free(o);

        o = open_outbox(NULL, &stats);
        assert_int_equal(stats.bad_records, 0);
        assert_int_equal(stats.orphans, 0);
        assert_int_equal(stats.torn_bytes, 0);
        assert_int_equal(stats.damage, JOURNAL_DAMAGE_NONE);
        assert_int_equal(stats.entries, 6);
        after = snapshot(o);
        assert_string_equal(before, after);

        /* the payload of a delivered entry is gone, its id is not */
        assert_null(find(o, "ops", "k1")->payload);
        assert_int_equal(find(o, "ops", "k1")->state, OUTBOX_DELIVERED);
        assert_int_equal(find(o, "mail", "k4")->attempts, 2);
        assert_string_equal(find(o, "mail", "k4")->last_error, "timeout");
        assert_int_equal(find(o, "mail", "k3")->state, OUTBOX_DEAD);
        assert_int_equal(find(o, "pd", "salve/h/run-1/a/human-needed")->state, OUTBOX_PENDING);
        assert_int_equal(find(o, "pd", "salve/h/run-1/a/human-needed")->attempts, 0);
        assert_null(outbox_find(o, "ops/k5"));
        assert_int_equal(outbox_dropped_by_people(o), 1);

        /* compaction changes the file, not the state */
        assert_int_equal(outbox_compact(o, T0 + 30), 0);
        compacted = snapshot(o);
        assert_string_equal(before, compacted);
        outbox_free(o);
        o = open_outbox(NULL, &stats);
        after_compact = snapshot(o);
        assert_string_equal(before, after_compact);
        assert_int_equal(stats.records, 7); /* counters + six entries */
        outbox_free(o);
}

static void test_exists(void **state) {
        Outbox *o = open_outbox(NULL, NULL);
        OutboxNew items[] = {
                { .channel = "a", .key = "k", .payload = "x" },
                { .channel = "b", .key = "k", .payload = "x" },
                { .channel = "b", .key = "k", .payload = "x" }, /* repeated in the batch */
                { .channel = "c", .key = "k", .payload = "x" },
        };

        assert_int_equal(outbox_enqueue(o, "a", "k", NULL, "x", T0, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "a", "k", NULL, "other", T0 + 1, NULL), -EEXIST);
        assert_true(outbox_has(o, "a", "k"));
        assert_false(outbox_has(o, "a", "kk"));
        assert_false(outbox_has(o, "a/k", ""));
        assert_int_equal(outbox_enqueue_many(o, items, ELEMENTSOF(items), T0 + 2), 2);
        assert_int_equal(outbox_enqueue_many(o, items, ELEMENTSOF(items), T0 + 3), 0);

        /* known while delivered too */
        assert_int_equal(outbox_delivered(o, outbox_find(o, "a/k"), 200, T0 + 5), 0);
        assert_int_equal(outbox_delivered(o, outbox_find(o, "a/k"), 200, T0 + 6), -EALREADY);
        /* a copy of an entry is not one */
        OutboxEntry copy = *outbox_find(o, "b/k");
        assert_int_equal(outbox_delivered(o, &copy, 200, T0 + 6), -EINVAL);
        assert_int_equal(outbox_failed(o, &copy, 500, "x", true, 0, T0 + 6), -EINVAL);
        assert_int_equal(outbox_delivered(o, NULL, 200, T0 + 6), -EINVAL);
        assert_int_equal(outbox_enqueue(o, "a", "k", NULL, "x", T0 + 7, NULL), -EEXIST);
        outbox_free(o);

        o = open_outbox(NULL, NULL);
        assert_int_equal(outbox_enqueue(o, "a", "k", NULL, "x", T0 + 8, NULL), -EEXIST);

        /* what is refused before anything is written */
        assert_int_equal(outbox_enqueue(o, "", "k", NULL, "x", T0, NULL), -EINVAL);
        assert_int_equal(outbox_enqueue(o, "a/b", "k", NULL, "x", T0, NULL), -EINVAL);
        assert_int_equal(outbox_enqueue(o, "a", "", NULL, "x", T0, NULL), -EINVAL);
        assert_int_equal(outbox_enqueue(o, "a", "k\n", NULL, "x", T0, NULL), -EINVAL);
        assert_int_equal(outbox_enqueue(o, "a", "k2", NULL, NULL, T0, NULL), -EINVAL);
        _cleanup_free_ char *big = malloc(OUTBOX_PAYLOAD_MAX + 2);
        memset(big, 'x', OUTBOX_PAYLOAD_MAX + 1);
        big[OUTBOX_PAYLOAD_MAX + 1] = 0;
        assert_int_equal(outbox_enqueue(o, "a", "k2", NULL, big, T0, NULL), -E2BIG);
        assert_false(outbox_has(o, "a", "k2"));
        outbox_free(o);
}

static void test_backoff(void **state) {
        const OutboxLimits l = { .retry_initial = USEC_PER_SEC, .retry_max = 5 * USEC_PER_MINUTE };
        Outbox *o = open_outbox(&l, NULL);
        OutboxEntry *e;
        usec_t now = T0;

        /* full jitter: jitter * MIN(max, initial * 2^(n-1)) */
        assert_int_equal(outbox_backoff(&l, 1, 0.5), USEC_PER_SEC / 2);
        assert_int_equal(outbox_backoff(&l, 2, 0.5), USEC_PER_SEC);
        assert_int_equal(outbox_backoff(&l, 3, 0.5), 2 * USEC_PER_SEC);
        assert_int_equal(outbox_backoff(&l, 9, 0.5), 128 * USEC_PER_SEC);
        assert_int_equal(outbox_backoff(&l, 10, 0.5), 150 * USEC_PER_SEC); /* 512 s, capped at 300 */
        assert_int_equal(outbox_backoff(&l, 100000, 0.5), 150 * USEC_PER_SEC);
        assert_int_equal(outbox_backoff(&l, 4, 0.0), 0);
        assert_true(outbox_backoff(&l, 20, 1.0) < 5 * USEC_PER_MINUTE); /* [0, cap) */
        assert_true(outbox_backoff(&l, 20, 1.0) >= 5 * USEC_PER_MINUTE - 1);
        assert_int_equal(outbox_backoff(&l, 3, -1.0), 0);
        assert_int_equal(outbox_backoff(NULL, 1, 0.5), OUTBOX_RETRY_INITIAL_DEFAULT / 2);

        /* the same through outbox_failed(), and due again only then */
        assert_int_equal(outbox_enqueue(o, "c", "k", NULL, "x", now, &e), 0);
        for (unsigned i = 1; i <= 12; i++) {
                usec_t expect = MIN(5 * USEC_PER_MINUTE, USEC_PER_SEC << (i - 1)) / 4;
                OutboxEntry *due[4];

                assert_int_equal(outbox_due(o, now, "c", due, 4), 1);
                assert_ptr_equal(due[0], e);
                assert_int_equal(outbox_failed(o, e, 502, "bad gateway", true, 0.25, now), 0);
                assert_int_equal(e->state, OUTBOX_RETRYING);
                assert_int_equal(e->attempts, i);
                assert_int_equal(e->next_attempt, now + expect);
                assert_int_equal(outbox_next_due(o), now + expect);
                if (expect > 0)
                        assert_int_equal(outbox_due(o, now + expect - 1, NULL, due, 4), 0);
                now += expect;
        }

        /* new limits (a reload) apply to the next failure: cap 2 s */
        outbox_set_limits(o, &(const OutboxLimits) { .retry_initial = USEC_PER_SEC, .retry_max = 2 * USEC_PER_SEC });
        assert_int_equal(outbox_failed(o, e, 502, "bad gateway", true, 0.5, now), 0);
        assert_int_equal(e->next_attempt, now + USEC_PER_SEC);
        outbox_free(o);
}

static void test_give_up(void **state) {
        const OutboxLimits l = { .give_up_after = USEC_PER_HOUR };
        Outbox *o = open_outbox(&l, NULL);
        OutboxEntry *a, *b, *c;

        assert_int_equal(outbox_enqueue(o, "c", "a", NULL, "x", T0, &a), 0);
        assert_int_equal(outbox_enqueue(o, "c", "b", NULL, "x", T0, &b), 0);
        assert_int_equal(outbox_enqueue(o, "c", "c", NULL, "x", T0, &c), 0);

        assert_int_equal(outbox_failed(o, a, 500, "e", true, 0.5, T0 + USEC_PER_HOUR - 1), 0);
        assert_int_equal(a->state, OUTBOX_RETRYING);
        assert_int_equal(outbox_failed(o, a, 500, "e", true, 0.5, T0 + USEC_PER_HOUR), 0);
        assert_int_equal(a->state, OUTBOX_DEAD);
        assert_int_equal(a->finished, T0 + USEC_PER_HOUR);
        assert_int_equal(outbox_failed(o, a, 500, "e", true, 0.5, T0 + USEC_PER_HOUR), -ESTALE);

        /* permanent failure: dead at once */
        assert_int_equal(outbox_failed(o, b, 401, "unauthorized", false, 0.5, T0 + 1), 0);
        assert_int_equal(b->state, OUTBOX_DEAD);
        assert_int_equal(b->attempts, 1);

        /* a retry restarts the give-up clock */
        assert_int_equal(outbox_retry(o, "c/a", T0 + 2 * USEC_PER_HOUR), 0);
        assert_int_equal(outbox_failed(o, a, 500, "e", true, 0.5, T0 + 2 * USEC_PER_HOUR + 1), 0);
        assert_int_equal(a->state, OUTBOX_RETRYING);

        /* a long error is cut, not at a UTF-8 sequence */
        char err[600];
        memset(err, 'x', sizeof(err));
        memcpy(err + OUTBOX_ERROR_MAX - 1, "\xc3\xa9", 2);
        err[sizeof(err) - 1] = 0;
        assert_int_equal(outbox_failed(o, c, 0, err, true, 0.5, T0 + 5), 0);
        assert_int_equal(strlen(c->last_error), OUTBOX_ERROR_MAX - 1);
        outbox_free(o);
}

static void test_dead_bounded(void **state) {
        const OutboxLimits l = { .max_entries = 6, .max_dead = 3 };
        _cleanup_free_ char *before = NULL, *after = NULL;
        Outbox *o = open_outbox(&l, NULL);
        size_t counts[_OUTBOX_STATE_MAX];
        uint64_t dropped;
        char key[16];

        for (unsigned i = 0; i < 5; i++) {
                snprintf(key, sizeof(key), "d%u", i);
                assert_int_equal(outbox_enqueue(o, "c", key, NULL, "x", T0 + i, NULL), 0);
                assert_int_equal(outbox_failed(o, find(o, "c", key), 410, "gone", false, 0, T0 + 100 + i), 0);
        }
        outbox_counts(o, counts, &dropped);
        assert_int_equal(counts[OUTBOX_DEAD], 3);
        assert_int_equal(dropped, 2);
        assert_null(find(o, "c", "d0"));
        assert_null(find(o, "c", "d1"));
        assert_non_null(find(o, "c", "d2"));

        /* full of undelivered (3 dead + 3 pending): dead letters make room */
        for (unsigned i = 0; i < 3; i++) {
                snprintf(key, sizeof(key), "p%u", i);
                assert_int_equal(outbox_enqueue(o, "c", key, NULL, "x", T0 + 200 + i, NULL), 0);
        }
        assert_int_equal(outbox_enqueue(o, "c", "p3", NULL, "x", T0 + 300, NULL), 0);
        assert_null(find(o, "c", "d2")); /* the oldest dead letter */
        outbox_counts(o, counts, &dropped);
        assert_int_equal(dropped, 3);
        assert_int_equal(counts[OUTBOX_DEAD], 2);
        assert_int_equal(counts[OUTBOX_PENDING], 4);

        /* a batch that does not fit is refused whole */
        OutboxNew items[] = { { "c", "q0", NULL, "x" }, { "c", "q1", NULL, "x" }, { "c", "q2", NULL, "x" } };
        assert_int_equal(outbox_enqueue_many(o, items, 3, T0 + 301), -ENOBUFS);
        assert_false(outbox_has(o, "c", "q0"));
        assert_int_equal(outbox_enqueue_many(o, items, 2, T0 + 301), 2);
        /* no dead letter left: refused, never silent */
        assert_int_equal(outbox_enqueue(o, "c", "q9", NULL, "x", T0 + 302, NULL), -ENOBUFS);
        /* delivered entries do not count */
        assert_int_equal(outbox_delivered(o, find(o, "c", "p0"), 200, T0 + 303), 0);
        assert_int_equal(outbox_enqueue(o, "c", "q9", NULL, "x", T0 + 304, NULL), 0);

        before = snapshot(o);
        outbox_free(o);
        o = open_outbox(&l, NULL);
        after = snapshot(o);
        assert_string_equal(before, after);
        outbox_counts(o, counts, &dropped);
        assert_int_equal(dropped, 5);

        /* the count survives compaction */
        assert_int_equal(outbox_compact(o, T0 + 400), 0);
        outbox_free(o);
        o = open_outbox(&l, NULL);
        outbox_counts(o, counts, &dropped);
        assert_int_equal(dropped, 5);
        outbox_free(o);

        /* lower limits at the next open: the oldest dead letters go, counted */
        o = open_outbox(&l, NULL);
        assert_int_equal(outbox_failed(o, find(o, "c", "q0"), 400, "no", false, 0, T0 + 500), 0);
        assert_int_equal(outbox_failed(o, find(o, "c", "q1"), 400, "no", false, 0, T0 + 501), 0);
        outbox_free(o);
        const OutboxLimits lower = { .max_entries = 6, .max_dead = 1 };
        for (unsigned i = 0; i < 2; i++) {
                o = open_outbox(&lower, NULL);
                outbox_counts(o, counts, &dropped);
                assert_int_equal(counts[OUTBOX_DEAD], 1);
                assert_int_equal(dropped, 6);
                assert_null(find(o, "c", "q0"));
                assert_non_null(find(o, "c", "q1"));
                outbox_free(o);
        }
}

static void test_verbs(void **state) {
        Outbox *o = open_outbox(NULL, NULL);
        OutboxEntry *e, *due[8];

        assert_int_equal(outbox_enqueue(o, "c", "k", "run-1", "x", T0, &e), 0);
        assert_int_equal(outbox_retry(o, "c/k", T0 + 1), -EALREADY); /* pending already */
        assert_int_equal(outbox_retry(o, "c/nope", T0 + 1), -ENOENT);
        assert_int_equal(outbox_failed(o, e, 500, "e", true, 0.9, T0 + 2), 0);
        assert_int_equal(outbox_due(o, T0 + 3, NULL, due, 8), 0);
        /* retrying: now, not at its backoff */
        assert_int_equal(outbox_retry(o, "c/k", T0 + 3), 0);
        assert_int_equal(e->state, OUTBOX_PENDING);
        assert_int_equal(e->attempts, 0);
        assert_string_equal(e->last_error, "e"); /* still shown */
        assert_int_equal(outbox_due(o, T0 + 3, NULL, due, 8), 1);
        assert_int_equal(outbox_failed(o, e, 404, "not found", false, 0, T0 + 4), 0);
        assert_int_equal(outbox_due(o, T0 + 5, NULL, due, 8), 0);
        assert_int_equal(outbox_next_due(o), USEC_INFINITY);
        /* dead: back to pending */
        assert_int_equal(outbox_retry(o, "c/k", T0 + 6), 0);
        assert_int_equal(outbox_next_due(o), T0 + 6);
        assert_int_equal(outbox_delivered(o, e, 200, T0 + 7), 0);
        assert_int_equal(outbox_retry(o, "c/k", T0 + 8), -EALREADY); /* delivered */
        assert_int_equal(outbox_drop(o, "c/k", T0 + 8), -EALREADY);

        assert_int_equal(outbox_enqueue(o, "c", "x", NULL, "x", T0 + 9, &e), 0);
        assert_int_equal(outbox_failed(o, e, 0, "refused", false, 0, T0 + 9), 0);
        assert_int_equal(outbox_drop(o, "c/x", T0 + 10), 0);
        assert_null(outbox_find(o, "c/x"));
        assert_int_equal(outbox_drop(o, "c/x", T0 + 10), -ENOENT);
        assert_int_equal(outbox_dropped_by_people(o), 1);
        outbox_free(o);

        o = open_outbox(NULL, NULL);
        assert_null(outbox_find(o, "c/x"));
        assert_int_equal(outbox_dropped_by_people(o), 1);
        assert_int_equal(outbox_find(o, "c/k")->state, OUTBOX_DELIVERED);
        outbox_free(o);
}

static void test_due_order(void **state) {
        Outbox *o = open_outbox(NULL, NULL);
        OutboxEntry *due[8];
        size_t counts[_OUTBOX_STATE_MAX];
        _cleanup_free_ OutboxEntry **dead = NULL;

        assert_int_equal(outbox_next_due(o), USEC_INFINITY);
        assert_int_equal(outbox_enqueue(o, "b", "1", NULL, "x", T0 + 5, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "a", "2", NULL, "x", T0 + 1, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "b", "3", NULL, "x", T0 + 3, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "a", "4", NULL, "x", T0 + 9, NULL), 0);
        assert_int_equal(outbox_next_due(o), T0 + 1);

        /* oldest (first enqueued) first, among what is due */
        assert_int_equal(outbox_due(o, T0 + 5, NULL, due, 8), 3);
        assert_string_equal(due[0]->id, "b/1");
        assert_string_equal(due[1]->id, "a/2");
        assert_string_equal(due[2]->id, "b/3");
        assert_int_equal(outbox_due(o, T0 + 100, "a", due, 8), 2);
        assert_string_equal(due[0]->id, "a/2");
        assert_string_equal(due[1]->id, "a/4");
        assert_int_equal(outbox_due(o, T0 + 100, "nope", due, 8), 0);
        /* max: the oldest ones */
        assert_int_equal(outbox_due(o, T0 + 100, NULL, due, 2), 2);
        assert_string_equal(due[0]->id, "b/1");
        assert_string_equal(due[1]->id, "a/2");

        assert_int_equal(outbox_failed(o, outbox_find(o, "a/2"), 0, "x", false, 0, T0 + 10), 0);
        assert_int_equal(outbox_next_due(o), T0 + 3);
        assert_int_equal(outbox_list_state(o, OUTBOX_DEAD, &dead), 1);
        assert_string_equal(dead[0]->id, "a/2");
        outbox_counts(o, counts, NULL);
        assert_int_equal(counts[OUTBOX_PENDING], 3);
        assert_int_equal(counts[OUTBOX_DEAD], 1);
        assert_string_equal(outbox_state_to_string(OUTBOX_RETRYING), "retrying");
        assert_int_equal(outbox_state_from_string("dead"), OUTBOX_DEAD);
        assert_int_equal(outbox_state_from_string("nope"), -EINVAL);
        outbox_free(o);
}

/* A receiver back after an outage: what waited out a long backoff for
 * want of a reply is due at once; a 429 keeps its backoff. */
static void test_expedite(void **state) {
        Outbox *o = open_outbox(NULL, NULL);
        OutboxEntry *due[8];
        usec_t t = T0;

        assert_int_equal(outbox_enqueue(o, "a", "1", NULL, "x", T0, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "a", "2", NULL, "x", T0, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "a", "3", NULL, "x", T0, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "b", "4", NULL, "x", T0, NULL), 0);
        for (int k = 0; k < 12; k++, t += USEC_PER_SEC) {
                assert_int_equal(outbox_failed(o, outbox_find(o, "a/1"), 0, "refused", true, 0.5, t), 0);
                assert_int_equal(outbox_failed(o, outbox_find(o, "a/2"), 503, "down", true, 0.5, t), 0);
                assert_int_equal(outbox_failed(o, outbox_find(o, "a/3"), 429, "slow down", true, 0.5, t), 0);
                assert_int_equal(outbox_failed(o, outbox_find(o, "b/4"), 0, "refused", true, 0.5, t), 0);
        }
        assert_true(outbox_find(o, "a/1")->next_attempt > t + USEC_PER_MINUTE);
        assert_int_equal(outbox_due(o, t, NULL, due, 8), 0);

        assert_int_equal(outbox_expedite(o, "a", t), 2);
        assert_int_equal(outbox_due(o, t, NULL, due, 8), 2);
        assert_string_equal(due[0]->id, "a/1");
        assert_string_equal(due[1]->id, "a/2");
        assert_true(outbox_next_due(o) == t);
        assert_true(outbox_find(o, "a/3")->next_attempt > t + USEC_PER_MINUTE); /* 429: not */
        assert_true(outbox_find(o, "b/4")->next_attempt > t + USEC_PER_MINUTE); /* another channel */
        assert_int_equal(outbox_expedite(o, "a", t), 0);
        assert_int_equal(outbox_expedite(o, "nope", t), 0);
        /* The heap is still a heap: the rest comes due in order. */
        assert_int_equal(outbox_delivered(o, outbox_find(o, "a/1"), 200, t), 0);
        assert_int_equal(outbox_delivered(o, outbox_find(o, "a/2"), 200, t), 0);
        assert_true(outbox_next_due(o) == MIN(outbox_find(o, "a/3")->next_attempt, outbox_find(o, "b/4")->next_attempt));
        outbox_free(o);
}

static void test_torn_tail(void **state) {
        Outbox *o = open_outbox(NULL, NULL);
        OutboxStats stats;
        struct stat st;
        off_t four;
        char key[16];

        for (unsigned i = 0; i < 4; i++) {
                snprintf(key, sizeof(key), "k%u", i);
                assert_int_equal(outbox_enqueue(o, "c", key, NULL, "payload", T0 + i, NULL), 0);
        }
        outbox_free(o);
        assert_int_equal(stat(path, &st), 0);
        four = st.st_size;
        o = open_outbox(NULL, NULL);
        assert_int_equal(outbox_enqueue(o, "c", "k4", NULL, "payload", T0 + 4, NULL), 0);
        assert_int_equal(outbox_delivered(o, find(o, "c", "k0"), 200, T0 + 10), 0);
        outbox_free(o);

        /* a crash in the middle of the last append: part of it is on disk */
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(truncate(path, st.st_size - 7), 0);
        o = open_outbox(NULL, &stats);
        assert_int_equal(stats.records, 5);
        assert_true(stats.torn_bytes > 0);
        assert_int_equal(stats.damage, JOURNAL_DAMAGE_NONE);
        assert_int_equal(find(o, "c", "k0")->state, OUTBOX_PENDING); /* the lost "delivered": one more send */
        assert_int_equal(find(o, "c", "k4")->state, OUTBOX_PENDING);
        /* it appends behind the cut */
        assert_int_equal(outbox_delivered(o, find(o, "c", "k0"), 200, T0 + 11), 0);
        outbox_free(o);
        o = open_outbox(NULL, &stats);
        assert_int_equal(stats.records, 6);
        assert_int_equal(stats.torn_bytes, 0);
        assert_int_equal(find(o, "c", "k0")->state, OUTBOX_DELIVERED);
        outbox_free(o);

        /* cut into the fifth record: it and what follows it are gone, the
         * four before are whole */
        assert_int_equal(truncate(path, four + 5), 0);
        o = open_outbox(NULL, &stats);
        assert_int_equal(stats.records, 4);
        assert_int_equal(stats.torn_bytes, 5);
        assert_non_null(find(o, "c", "k3"));
        assert_null(find(o, "c", "k4"));
        assert_int_equal(find(o, "c", "k0")->state, OUTBOX_PENDING);
        outbox_free(o);
}

static void append_raw(JournalFile *j, const char *json) {
        assert_int_equal(journal_file_append(j, json, strlen(json)), 0);
}

static void test_bad_records(void **state) {
        JournalFile *j = NULL;
        OutboxStats stats;
        Outbox *o;

        assert_int_equal(journal_file_open(path, &j), 0);
        append_raw(j, "{\"v\":1,\"type\":\"enqueued\",\"at\":5,\"channel\":\"c\",\"key\":\"k\",\"payload\":\"x\"}");
        append_raw(j, "not json");
        append_raw(j, "{\"v\":2,\"type\":\"enqueued\",\"at\":5,\"channel\":\"c\",\"key\":\"v2\",\"payload\":\"x\"}");
        append_raw(j, "{\"v\":1,\"type\":\"enqueued\",\"at\":5,\"channel\":\"c/d\",\"key\":\"k\",\"payload\":\"x\"}");
        append_raw(j, "{\"v\":1,\"type\":\"enqueued\",\"at\":5,\"channel\":\"c\",\"key\":\"nopayload\"}");
        append_raw(j, "{\"v\":1,\"type\":\"enqueued\",\"at\":6,\"channel\":\"c\",\"key\":\"k\",\"payload\":\"y\"}");
        append_raw(j, "{\"v\":1,\"type\":\"attempt\",\"at\":7,\"id\":\"c/k\",\"status\":\"500\",\"next\":9}");
        append_raw(j, "{\"v\":1,\"type\":\"attempt\",\"at\":7,\"id\":\"c/gone\",\"next\":9}");
        append_raw(j, "{\"v\":1,\"type\":\"delivered\",\"at\":8,\"id\":\"c/k\",\"status\":200}");
        append_raw(j, "{\"v\":1,\"type\":\"attempt\",\"at\":9,\"id\":\"c/k\",\"next\":10}"); /* after delivered */
        append_raw(j, "{\"v\":1,\"type\":\"frobnicated\",\"at\":9,\"id\":\"c/k\"}");
        append_raw(j, "[1,2,3]");
        journal_file_free(j);

        o = open_outbox(NULL, &stats);
        assert_int_equal(stats.records, 12);
        assert_int_equal(stats.orphans, 1);
        assert_int_equal(stats.bad_records, 9);
        assert_int_equal(stats.entries, 1);
        assert_int_equal(find(o, "c", "k")->state, OUTBOX_DELIVERED);
        assert_int_equal(find(o, "c", "k")->attempts, 1);
        assert_int_equal(find(o, "c", "k")->created, 5);
        outbox_free(o);
}

static void test_damaged_set_aside(void **state) {
        Outbox *o = open_outbox(NULL, NULL);
        OutboxStats stats;
        int fd;

        assert_int_equal(outbox_enqueue(o, "c", "a", NULL, "x", T0, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "c", "b", NULL, "x", T0 + 1, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "c", "c", NULL, "x", T0 + 2, NULL), 0);
        outbox_free(o);

        /* garble the second record's bytes (the first starts at 32) */
        fd = open(path, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        uint64_t rec = (uint64_t) (st.st_size - JOURNAL_FILE_HEADER_SIZE) / 3;
        assert_int_equal(pwrite(fd, "garbage!", 8, (off_t) (JOURNAL_FILE_HEADER_SIZE + rec + 16)), 8);
        close(fd);

        o = open_outbox(NULL, &stats);
        assert_int_equal(stats.damage, JOURNAL_DAMAGE_RECORDS);
        assert_true(stats.lost_bytes > 0);
        assert_int_equal(stats.entries, 2);
        assert_non_null(find(o, "c", "a"));
        assert_null(find(o, "c", "b"));
        assert_non_null(find(o, "c", "c"));
        assert_non_null(outbox_recovery(o)->aside_path);
        assert_int_equal(access(outbox_recovery(o)->aside_path, F_OK), 0);
        outbox_free(o);

        o = open_outbox(NULL, &stats);
        assert_int_equal(stats.damage, JOURNAL_DAMAGE_NONE);
        assert_int_equal(stats.entries, 2);
        outbox_free(o);
}

static void test_compaction(void **state) {
        const OutboxLimits l = { .keep_delivered = USEC_PER_HOUR };
        Outbox *o = open_outbox(&l, NULL);
        OutboxStats stats;
        struct stat before, after;

        assert_int_equal(outbox_enqueue(o, "c", "old", "r1", "x", T0, NULL), 0);
        assert_int_equal(outbox_delivered(o, find(o, "c", "old"), 200, T0 + 1), 0);
        assert_int_equal(outbox_enqueue(o, "c", "recent", "r1", "x", T0, NULL), 0);
        assert_int_equal(outbox_delivered(o, find(o, "c", "recent"), 200, T0 + 2 * USEC_PER_HOUR), 0);
        assert_int_equal(outbox_enqueue(o, "c", "pending", "r2", "x", T0, NULL), 0);
        assert_int_equal(outbox_enqueue(o, "c", "retrying", "r2", "x", T0, NULL), 0);
        assert_int_equal(outbox_failed(o, find(o, "c", "retrying"), 503, "busy", true, 0.5, T0 + 5), 0);
        assert_int_equal(outbox_enqueue(o, "c", "dead", "r2", "x", T0, NULL), 0);
        assert_int_equal(outbox_failed(o, find(o, "c", "dead"), 400, "no", false, 0.5, T0 + 6), 0);
        for (unsigned i = 0; i < 50; i++) {
                /* churn that compaction folds away */
                assert_int_equal(outbox_failed(o, find(o, "c", "pending"), 503, "busy", true, 0, T0 + 10 + i), 0);
                assert_int_equal(outbox_retry(o, "c/pending", T0 + 10 + i), 0);
        }
        outbox_free(o);
        assert_int_equal(stat(path, &before), 0);

        o = open_outbox(&l, NULL);
        assert_int_equal(outbox_compact(o, T0 + 2 * USEC_PER_HOUR + 10), 0);
        assert_null(find(o, "c", "old")); /* delivered long ago: forgotten */
        assert_int_equal(outbox_appended(o), 0);
        outbox_free(o);
        assert_int_equal(stat(path, &after), 0);
        assert_true(after.st_size < before.st_size / 4);

        o = open_outbox(&l, &stats);
        assert_int_equal(stats.records, 4);
        assert_false(outbox_has(o, "c", "old"));
        assert_int_equal(find(o, "c", "recent")->state, OUTBOX_DELIVERED);
        assert_int_equal(outbox_enqueue(o, "c", "recent", NULL, "x", T0 + 3 * USEC_PER_HOUR, NULL), -EEXIST);
        assert_int_equal(find(o, "c", "pending")->state, OUTBOX_PENDING);
        assert_int_equal(find(o, "c", "retrying")->state, OUTBOX_RETRYING);
        assert_int_equal(find(o, "c", "retrying")->next_attempt, T0 + 5 + USEC_PER_SEC / 2);
        assert_string_equal(find(o, "c", "retrying")->last_error, "busy");
        assert_int_equal(find(o, "c", "dead")->state, OUTBOX_DEAD);
        assert_string_equal(find(o, "c", "dead")->payload, "x");

        /* a pending entry due at 0 stays due at 0, not at its creation
         * (a zero "next" must be written; found by the fuzzer) */
        assert_int_equal(outbox_retry(o, "c/retrying", 0), 0);
        assert_int_equal(find(o, "c", "retrying")->next_attempt, 0);
        assert_int_equal(outbox_compact(o, T0 + 2 * USEC_PER_HOUR + 20), 0);
        outbox_free(o);
        o = open_outbox(&l, NULL);
        assert_int_equal(find(o, "c", "retrying")->next_attempt, 0);
        assert_int_equal(outbox_next_due(o), 0);
        outbox_free(o);
}

/* Random operations against a plain model of what each id should be: the
 * index (with its deletions), the due heaps and the dead list must agree
 * with it at every step, and across reopens and compactions. */
#define MODEL_IDS 240

typedef struct ModelEntry {
        bool present;
        OutboxState state;
        unsigned attempts;
        usec_t next;
        uint64_t seq;
} ModelEntry;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

static void model_id(unsigned i, char channel[static 8], char key[static 16]) {
        snprintf(channel, 8, "ch%u", i % 4);
        snprintf(key, 16, "key-%u", i);
}

static void model_check(Outbox *o, const ModelEntry *m, usec_t now) {
        static OutboxEntry *due[MODEL_IDS + 1];
        size_t counts[_OUTBOX_STATE_MAX], want[_OUTBOX_STATE_MAX] = {}, n_due = 0, n;
        usec_t next = USEC_INFINITY;
        uint64_t last_seq = 0;
        char channel[8], key[16], id[32];

        for (unsigned i = 0; i < MODEL_IDS; i++) {
                model_id(i, channel, key);
                snprintf(id, sizeof(id), "%s/%s", channel, key);
                assert_int_equal(outbox_has(o, channel, key), m[i].present);
                OutboxEntry *e = outbox_find(o, id);
                if (!m[i].present) {
                        assert_null(e);
                        continue;
                }
                assert_non_null(e);
                assert_int_equal(e->state, m[i].state);
                assert_int_equal(e->attempts, m[i].attempts);
                want[m[i].state]++;
                if (m[i].state == OUTBOX_PENDING || m[i].state == OUTBOX_RETRYING) {
                        assert_int_equal(e->next_attempt, m[i].next);
                        next = MIN(next, m[i].next);
                        n_due += m[i].next <= now;
                }
        }
        outbox_counts(o, counts, NULL);
        assert_memory_equal(counts, want, sizeof(counts));
        assert_int_equal(outbox_next_due(o), next);
        n = outbox_due(o, now, NULL, due, ELEMENTSOF(due));
        assert_int_equal(n, n_due);
        for (size_t i = 0; i < n; i++) {
                unsigned k;
                assert_int_equal(sscanf(due[i]->key, "key-%u", &k), 1);
                assert_true(m[k].next <= now);
                assert_true(i == 0 || m[k].seq > last_seq); /* oldest first */
                last_seq = m[k].seq;
        }
}

static void test_model(void **state) {
        static ModelEntry m[MODEL_IDS];
        const OutboxLimits l = { .max_entries = 100000, .max_dead = 100000 };
        Outbox *o = open_outbox(&l, NULL);
        usec_t now = T0;
        uint64_t seq = 0;
        char channel[8], key[16], id[32];

        outbox_set_sync(o, false);
        memset(m, 0, sizeof(m));
        for (unsigned step = 1; step <= 20000; step++) {
                unsigned i = (unsigned) (rng() % MODEL_IDS), op = (unsigned) (rng() % 10);
                ModelEntry *x = m + i;
                OutboxEntry *e;
                int k;

                now += rng() % (2 * USEC_PER_SEC);
                model_id(i, channel, key);
                snprintf(id, sizeof(id), "%s/%s", channel, key);
                e = outbox_find(o, id);

                if (op < 3) {
                        k = outbox_enqueue(o, channel, key, NULL, "p", now, NULL);
                        assert_int_equal(k, x->present ? -EEXIST : 0);
                        if (!x->present)
                                *x = (ModelEntry) { .present = true, .state = OUTBOX_PENDING, .next = now, .seq = ++seq };
                } else if (op < 6 && x->present) {
                        bool retry = rng() % 4 != 0;
                        double jitter = (double) (rng() % 1000) / 1000.0;
                        k = outbox_failed(o, e, 500, "x", retry, jitter, now);
                        if (x->state != OUTBOX_PENDING && x->state != OUTBOX_RETRYING) {
                                assert_int_equal(k, -ESTALE);
                                continue;
                        }
                        assert_int_equal(k, 0);
                        x->attempts++;
                        x->state = retry ? OUTBOX_RETRYING : OUTBOX_DEAD;
                        if (retry)
                                x->next = now + outbox_backoff(&l, x->attempts, jitter);
                } else if (op < 8 && x->present) {
                        k = outbox_delivered(o, e, 200, now);
                        assert_int_equal(k, x->state == OUTBOX_DELIVERED ? -EALREADY : 0);
                        if (k == 0) {
                                x->state = OUTBOX_DELIVERED;
                                x->attempts++;
                        }
                } else if (op == 8) {
                        k = outbox_retry(o, id, now);
                        if (!x->present)
                                assert_int_equal(k, -ENOENT);
                        else if (x->state == OUTBOX_DEAD || x->state == OUTBOX_RETRYING) {
                                assert_int_equal(k, 0);
                                x->state = OUTBOX_PENDING;
                                x->attempts = 0;
                                x->next = now;
                        } else
                                assert_int_equal(k, -EALREADY);
                } else if (op == 9) {
                        k = outbox_drop(o, id, now);
                        if (!x->present)
                                assert_int_equal(k, -ENOENT);
                        else if (x->state == OUTBOX_DELIVERED)
                                assert_int_equal(k, -EALREADY);
                        else {
                                assert_int_equal(k, 0);
                                x->present = false;
                        }
                }

                if (step % 97 == 0)
                        model_check(o, m, now);
                if (step % 2500 == 0) {
                        _cleanup_free_ char *before = snapshot(o), *after = NULL;
                        if (step % 5000 == 0)
                                assert_int_equal(outbox_compact(o, now), 0); /* keeps all: 7 days */
                        outbox_free(o);
                        o = open_outbox(&l, NULL);
                        outbox_set_sync(o, false);
                        after = snapshot(o);
                        assert_string_equal(before, after);
                        model_check(o, m, now);
                }
        }
        outbox_free(o);
}

/* Many deletions from a well filled index (clusters that wrap around its
 * end included): every id is found exactly while it is there. */
static void test_index_churn(void **state) {
        static bool present[3000];
        Outbox *o = open_outbox(NULL, NULL);
        char key[16];
        size_t n = 0;

        outbox_set_sync(o, false);
        memset(present, 0, sizeof(present));
        for (unsigned round = 0; round < 30; round++) {
                while (n < 1020) {
                        unsigned i = (unsigned) (rng() % ELEMENTSOF(present));
                        if (present[i])
                                continue;
                        snprintf(key, sizeof(key), "%u", i);
                        assert_int_equal(outbox_enqueue(o, "c", key, NULL, "p", T0 + round, NULL), 0);
                        present[i] = true;
                        n++;
                }
                while (n > 200) {
                        unsigned i = (unsigned) (rng() % ELEMENTSOF(present));
                        if (!present[i])
                                continue;
                        snprintf(key, sizeof(key), "c/%u", i);
                        assert_int_equal(outbox_drop(o, key, T0 + round), 0);
                        present[i] = false;
                        n--;
                }
                for (unsigned i = 0; i < ELEMENTSOF(present); i++) {
                        snprintf(key, sizeof(key), "%u", i);
                        assert_int_equal(outbox_has(o, "c", key), present[i]);
                }
        }
        outbox_free(o);
}

static double cpu_seconds(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double wall_seconds(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A notification-sized payload. */
static const char *payload_text(void) {
        static char p[1200];
        if (!p[0]) {
                memset(p, 'n', sizeof(p) - 1);
                memcpy(p, "{\"event\":\"human-needed\",\"summary\":\"", 35);
                memcpy(p + sizeof(p) - 3, "\"}", 2);
        }
        return p;
}

static void test_scale(void **state) {
        const OutboxLimits l = { .max_entries = 20000 };
        Outbox *o = open_outbox(&l, NULL);
        OutboxEntry *due[64];
        char key[64];
        double c0, w0, c_enq, c_deliver, w_enq, w_deliver, c_drain, c_reopen, w_sync;
        size_t n, total = 0, counts[_OUTBOX_STATE_MAX];
        OutboxStats stats;

        /* 10,000 entries in 5 channels, no per-record sync: the CPU cost */
        outbox_set_sync(o, false);
        c0 = cpu_seconds();
        w0 = wall_seconds();
        for (unsigned i = 0; i < 10000; i++) {
                snprintf(key, sizeof(key), "salve/host/run-%u/step/human-needed", i);
                char channel[16];
                snprintf(channel, sizeof(channel), "ch%u", i % 5);
                assert_int_equal(outbox_enqueue(o, channel, key, "run", payload_text(), T0 + i, NULL), 0);
        }
        c_enq = cpu_seconds() - c0;
        w_enq = wall_seconds() - w0;
        outbox_set_sync(o, true);
        for (unsigned i = 0; i < 10000; i += 997) {
                snprintf(key, sizeof(key), "salve/host/run-%u/step/human-needed", i);
                char channel[16];
                snprintf(channel, sizeof(channel), "ch%u", i % 5);
                assert_true(outbox_has(o, channel, key));
        }

        /* drain as the relay does: batches of 64 per channel, oldest first */
        c0 = cpu_seconds();
        w0 = wall_seconds();
        for (;;) {
                n = outbox_due(o, T0 + 20000, NULL, due, ELEMENTSOF(due));
                if (n == 0)
                        break;
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                assert_true(due[i - 1]->created < due[i]->created);
                        assert_int_equal(outbox_delivered(o, due[i], 200, T0 + 30000), 0);
                }
                total += n;
        }
        c_deliver = cpu_seconds() - c0;
        w_deliver = wall_seconds() - w0;
        assert_int_equal(total, 10000);
        outbox_counts(o, counts, NULL);
        assert_int_equal(counts[OUTBOX_DELIVERED], 10000);
        assert_int_equal(outbox_next_due(o), USEC_INFINITY);
        outbox_free(o);

        c0 = cpu_seconds();
        o = open_outbox(&l, &stats);
        c_reopen = cpu_seconds() - c0;
        assert_int_equal(stats.entries, 10000);
        outbox_free(o);

        /* 1,000 pending, some failing and retried later, drained: CPU only */
        unlink(path);
        o = open_outbox(&l, NULL);
        outbox_set_sync(o, false);
        for (unsigned i = 0; i < 1000; i++) {
                snprintf(key, sizeof(key), "k%u", i);
                assert_int_equal(outbox_enqueue(o, i % 2 ? "a" : "b", key, NULL, payload_text(), T0 + i, NULL), 0);
        }
        c0 = cpu_seconds();
        total = 0;
        for (usec_t now = T0 + 1000; total < 1000; now += USEC_PER_SEC) {
                for (const char *ch = "a"; ch; ch = streq(ch, "a") ? "b" : NULL)
                        while ((n = outbox_due(o, now, ch, due, ELEMENTSOF(due))) > 0)
                                for (size_t i = 0; i < n; i++) {
                                        if (due[i]->attempts < 2 && (total + i) % 3 == 0)
                                                assert_int_equal(outbox_failed(o, due[i], 503, "busy", true, 0.5, now), 0);
                                        else {
                                                assert_int_equal(outbox_delivered(o, due[i], 200, now), 0);
                                                total++;
                                        }
                                }
                assert_true(outbox_next_due(o) > now);
        }
        c_drain = cpu_seconds() - c0;
        assert_true(c_drain < 0.5);
        outbox_free(o);

        /* what one synced enqueue costs on this disk */
        unlink(path);
        o = open_outbox(&l, NULL);
        w0 = wall_seconds();
        for (unsigned i = 0; i < 50; i++) {
                snprintf(key, sizeof(key), "s%u", i);
                assert_int_equal(outbox_enqueue(o, "s", key, NULL, payload_text(), T0 + i, NULL), 0);
        }
        w_sync = (wall_seconds() - w0) / 50;
        outbox_free(o);

        printf("outbox: 10000 enqueues %.3f s CPU (%.3f s wall, no sync); 10000 due+delivered %.3f s CPU "
               "(%.3f s wall, synced every %u); reopen of 10000 %.3f s CPU; 1000 pending drained with retries "
               "%.4f s CPU; one synced enqueue %.2f ms\n",
               c_enq, w_enq, c_deliver, w_deliver, OUTBOX_DELIVERED_SYNC_EVERY, c_reopen, c_drain, w_sync * 1000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_reopen_same_state, fresh),
                cmocka_unit_test_setup(test_exists, fresh),
                cmocka_unit_test_setup(test_backoff, fresh),
                cmocka_unit_test_setup(test_give_up, fresh),
                cmocka_unit_test_setup(test_dead_bounded, fresh),
                cmocka_unit_test_setup(test_verbs, fresh),
                cmocka_unit_test_setup(test_due_order, fresh),
                cmocka_unit_test_setup(test_expedite, fresh),
                cmocka_unit_test_setup(test_torn_tail, fresh),
                cmocka_unit_test_setup(test_bad_records, fresh),
                cmocka_unit_test_setup(test_damaged_set_aside, fresh),
                cmocka_unit_test_setup(test_compaction, fresh),
                cmocka_unit_test_setup(test_model, fresh),
                cmocka_unit_test_setup(test_index_churn, fresh),
                cmocka_unit_test_setup(test_scale, fresh),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
