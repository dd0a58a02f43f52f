/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Writes the run journal fixture of a released format with THAT release's
 * engine (see README.md here for the tree it was built against and the
 * commands). Every time is fixed, so the output is the same on every
 * run:
 *
 *   gen-journal JOURNAL EXPECTED
 *
 * JOURNAL must not exist. It gets, through run_store_commit() only (the
 * path salved takes):
 *   web-1      succeeded (two machine steps)
 * (run ids count up across plans: PLAN-N)
 *   db-2       failed (fsck failed, start-db cancelled), its hold on
 *              postgresql.service released by a person afterwards
 *   net-3      reset-link failed, was retried after its backoff and
 *              succeeded; then verify; succeeded
 *   storage-4  active: snapshot succeeded, approve waiting for a person,
 *              who was notified at level 0 and level 1 and acknowledged;
 *              its RTO at risk
 * with one compaction (run_store_compact) in the middle, so the file holds
 * the records that release's compaction wrote, then records appended
 * after it. The header's created_usec (the one byte range the engine
 * takes from the clock) is then set to a fixed time and its CRC
 * recomputed. EXPECTED gets the header fields, every record's payload and
 * the state that release rebuilds by replaying JOURNAL (journal-dump.h),
 * which must equal the state it had in memory. */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "journal-dump.h"
#include "journal-file.h"
#include "run-store.h"
#include "run.h"
#include "strv.h"

#define S (1000000ULL)
#define M (60 * S)
#define T0 (1780000000ULL * S)  /* 2026-05-28T20:26:40Z */
#define HEADER_CREATED (T0 - 1 * M)
#define BOOT "5f0e2c3d9a8b47e1b0c4d2e6f7a81930"

static const char web_yaml[] =
        "plan: web\n"
        "steps:\n"
        "  - {id: fetch, run: exec, with: {command: [/usr/bin/true]}, estimate: 1m}\n"
        "  - {id: restart, needs: [fetch], run: unit.restart, with: {unit: web.service}}\n";

static const char db_yaml[] =
        "plan: db\n"
        "holds: [postgresql.service]\n"
        "steps:\n"
        "  - {id: fsck, run: exec, with: {command: [/usr/sbin/fsck, -n, /dev/vdb1]}}\n"
        "  - {id: start-db, needs: [fsck], run: unit.start, with: {unit: postgresql.service}}\n";

static const char net_yaml[] =
        "plan: net\n"
        "steps:\n"
        "  - id: reset-link\n"
        "    run: exec\n"
        "    with: {command: [/usr/sbin/ip, link, set, eth0, up]}\n"
        "    retry: {attempts: 3, backoff: 10s}\n"
        "  - {id: verify, needs: [reset-link], run: exec, with: {command: [/usr/bin/ping, -c1, gw]}}\n";

static const char storage_yaml[] =
        "plan: storage\n"
        "owner: dba\n"
        "fallback: [it-manager]\n"
        "rto: 30m\n"
        "steps:\n"
        "  - {id: snapshot, run: exec, with: {command: [/usr/bin/lvcreate, -s, vg/data]}, estimate: 1m}\n"
        "  - id: approve\n"
        "    needs: [snapshot]\n"
        "    human: approve\n"
        "    owner: dba-oncall\n"
        "    escalate: [dba-backup]\n"
        "    ack-timeout: 2m\n"
        "  - {id: mount, needs: [approve], run: exec, with: {command: [/usr/bin/mount, /srv]}, estimate: 40m}\n";

#define CHECK(expr)                                                                                 \
        do {                                                                                        \
                int _r = (expr);                                                                    \
                if (_r < 0) {                                                                       \
                        fprintf(stderr, "gen-journal: %s:%d: %s: %s\n", __FILE__, __LINE__, #expr, \
                                strerror(-_r));                                                     \
                        exit(EXIT_FAILURE);                                                         \
                }                                                                                   \
        } while (0)

#define EXPECT(cond)                                                                                \
        do {                                                                                        \
                if (!(cond)) {                                                                      \
                        fprintf(stderr, "gen-journal: %s:%d: not true: %s\n", __FILE__, __LINE__, #cond); \
                        exit(EXIT_FAILURE);                                                         \
                }                                                                                   \
        } while (0)

static int resolve(const char *name, usec_t at, char ***ret, void *userdata) {
        char **l = NULL;

        if (strcmp(name, "dba-oncall") == 0)
                CHECK(strv_extend(&l, "jane"));
        else if (strcmp(name, "dba-backup") == 0) {
                CHECK(strv_extend(&l, "joe"));
                CHECK(strv_extend(&l, "ann"));
        } else
                return -ENOENT;
        *ret = l;
        return 0;
}

static void commit_all(RunStore *s, Transition *t, size_t n) {
        for (size_t i = 0; i < n; i++)
                CHECK(run_store_commit(s, t + i, NULL));
        transitions_free(t, n);
}

static Run *create(RunStore *s, const char *plan, const char *path, const char *yaml, const char *trigger,
                   const char *reason, usec_t trigger_time, usec_t now, const char *context) {
        char *id = NULL;
        Transition c;
        Run *r = NULL;

        CHECK(run_store_new_id(s, plan, &id));
        CHECK(run_created_transition(id, plan, path, yaml, trigger, reason, trigger_time, now, &c));
        if (context)
                CHECK(strv_extend(&c.trigger_context, context));
        CHECK(run_store_commit(s, &c, &r));
        transition_done(&c);
        free(id);
        CHECK(run_set_boot_id(r, BOOT));
        return r;
}

/* Commits what run_plan_next() proposes until it proposes nothing. */
static void advance(RunStore *s, Run *r, usec_t now) {
        for (int k = 0; k < 20; k++) {
                Transition *t;
                size_t n;
                usec_t wake;

                CHECK(run_plan_next(r, now, &t, &n, &wake));
                if (n == 0) {
                        free(t);
                        return;
                }
                commit_all(s, t, n);
        }
        EXPECT(!"run_plan_next() does not settle");
}

static size_t step_index(const Run *r, const char *id) {
        for (size_t i = 0; i < r->plan->n_steps; i++)
                if (strcmp(r->plan->steps[i].id, id) == 0)
                        return i;
        EXPECT(!"no such step");
        return 0;
}

static void result(RunStore *s, Run *r, const char *step, bool ok, const char *message, usec_t now) {
        Transition t;

        CHECK(run_step_result(r, step_index(r, step), ok, message, now, 0.0, &t));
        CHECK(run_store_commit(s, &t, NULL));
        transition_done(&t);
}

static size_t human(RunStore *s, Run *r, usec_t now) {
        Transition *t;
        size_t n;
        usec_t wake;

        CHECK(run_human_next(r, now, resolve, NULL, &t, &n, &wake));
        commit_all(s, t, n);
        return n;
}

/* The header's created_usec to a fixed time, and its CRC to match. */
static void pin_header(const char *path) {
        unsigned char h[32];
        uint64_t created = htole64(HEADER_CREATED);
        uint32_t crc;
        int fd = open(path, O_RDWR | O_CLOEXEC);

        EXPECT(fd >= 0);
        EXPECT(pread(fd, h, sizeof(h), 0) == (ssize_t) sizeof(h));
        EXPECT(memcmp(h, "SALVEJ1\0", 8) == 0);
        memcpy(h + 16, &created, 8);
        crc = htole32((uint32_t) crc32(0, h, 28));
        memcpy(h + 28, &crc, 4);
        EXPECT(pwrite(fd, h, sizeof(h), 0) == (ssize_t) sizeof(h));
        EXPECT(fsync(fd) == 0);
        EXPECT(close(fd) == 0);
}

static int print_record(const void *payload, size_t size, void *userdata) {
        FILE *f = userdata;

        fputs("record ", f);
        fwrite(payload, 1, size, f);
        fputc('\n', f);
        return 0;
}

static char *dump_to_string(const RunStore *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        EXPECT(f);
        dump_store(f, s);
        EXPECT(fclose(f) == 0);
        return buf;
}

int main(int argc, char *argv[]) {
        RunStore *s = NULL;
        RunStoreReplay stats;
        Run *web, *db, *net, *st;
        Transition t;
        char *live, *replayed;
        FILE *f;

        if (argc != 3) {
                fprintf(stderr, "usage: %s JOURNAL EXPECTED\n", argv[0]);
                return EXIT_FAILURE;
        }
        if (access(argv[1], F_OK) == 0) {
                fprintf(stderr, "gen-journal: %s exists; give a new path\n", argv[1]);
                return EXIT_FAILURE;
        }

        CHECK(run_store_open(argv[1], &s, &stats));
        EXPECT(stats.records == 0);

        /* web-1: succeeded. */
        web = create(s, "web", "/etc/salve/plans.d/web.yaml", web_yaml, "unit", "web.service failed", T0 - 5 * S,
                     T0, NULL);
        advance(s, web, T0);
        result(s, web, "fetch", true, "exit status 0", T0 + 20 * S);
        advance(s, web, T0 + 20 * S);
        result(s, web, "restart", true, "web.service active", T0 + 30 * S);
        advance(s, web, T0 + 30 * S);
        EXPECT(run_state(web) == RUN_SUCCEEDED && web->finished == T0 + 30 * S);

        /* db-2: failed; a person lets postgresql.service go. */
        db = create(s, "db", "/etc/salve/plans.d/db.yaml", db_yaml, "manual", "salvectl run db", T0 + 1 * M,
                    T0 + 1 * M, NULL);
        advance(s, db, T0 + 1 * M);
        result(s, db, "fsck", false, "exit status 4", T0 + 2 * M);
        advance(s, db, T0 + 2 * M);
        EXPECT(run_state(db) == RUN_FAILED && db->finished != 0);
        CHECK(run_release_hold(db, "postgresql.service", "root (uid 0)", "fsck done by hand", T0 + 5 * M, &t));
        CHECK(run_store_commit(s, &t, NULL));
        transition_done(&t);

        /* net-3: the first attempt fails and waits out its backoff (10 s). */
        net = create(s, "net", "/etc/salve/plans.d/net.yaml", net_yaml, "link", "eth0 down", T0 + 10 * M,
                     T0 + 10 * M, "link=eth0");
        advance(s, net, T0 + 10 * M);
        result(s, net, "reset-link", false, "exit status 2", T0 + 10 * M + 5 * S);
        advance(s, net, T0 + 10 * M + 5 * S);
        EXPECT(net->steps[0].state == STEP_PENDING && net->steps[0].not_before == T0 + 10 * M + 15 * S);

        /* storage-4: snapshot done, approve waiting, level 0 told. */
        st = create(s, "storage", "/etc/salve/plans.d/storage.yaml", storage_yaml, "device", "/dev/vdb1: I/O errors",
                    T0 + 11 * M, T0 + 12 * M, "device=/dev/vdb1");
        advance(s, st, T0 + 12 * M);
        result(s, st, "snapshot", true, "exit status 0", T0 + 13 * M);
        advance(s, st, T0 + 13 * M);
        EXPECT(st->steps[1].state == STEP_WAITING);
        EXPECT(human(s, st, T0 + 13 * M) == 1);
        EXPECT(st->steps[1].human.n_notices == 1);

        /* The compaction: from here on the file holds what this release's
         * compaction wrote for the four runs. */
        CHECK(run_store_compact(s));
        web = run_store_find(s, "web-1");
        db = run_store_find(s, "db-2");
        net = run_store_find(s, "net-3");
        st = run_store_find(s, "storage-4");
        EXPECT(web && db && net && st);

        /* Appended after it. net-3: the retry succeeds, then verify. */
        advance(s, net, T0 + 14 * M);
        EXPECT(net->steps[0].state == STEP_RUNNING && net->steps[0].attempt == 2);
        result(s, net, "reset-link", true, "exit status 0", T0 + 14 * M + 3 * S);
        advance(s, net, T0 + 14 * M + 3 * S);
        result(s, net, "verify", true, "exit status 0", T0 + 14 * M + 5 * S);
        advance(s, net, T0 + 14 * M + 5 * S);
        EXPECT(run_state(net) == RUN_SUCCEEDED);

        /* storage-4: nobody acknowledged in 2 min, level 1 told; the RTO
         * (30 min from the trigger) is at risk; joe acknowledges. */
        EXPECT(human(s, st, T0 + 14 * M) == 0);
        EXPECT(human(s, st, T0 + 15 * M) == 1);
        EXPECT(st->steps[1].human.n_notices == 2);
        {
                usec_t next;
                EXPECT(run_rto_check(st, T0 + 15 * M + 30 * S, &t, &next) == 1);
                EXPECT(t.rto_state == RTO_AT_RISK);
                CHECK(run_store_commit(s, &t, NULL));
                transition_done(&t);
        }
        CHECK(run_ack(st, "approve", "joe", "salvectl", "on it", T0 + 16 * M, &t));
        CHECK(run_store_commit(s, &t, NULL));
        transition_done(&t);
        EXPECT(human(s, st, T0 + 17 * M) == 0);
        EXPECT(run_state(st) == RUN_WAITING);

        live = dump_to_string(s);
        s = run_store_free(s);
        pin_header(argv[1]);

        /* What this release rebuilds from the file is what it had. */
        CHECK(run_store_open(argv[1], &s, &stats));
        EXPECT(stats.bad_records == 0 && stats.lost_bytes == 0 && stats.dropped_bytes == 0 && stats.orphans == 0);
        EXPECT(s->recovery.damage == JOURNAL_DAMAGE_NONE);
        replayed = dump_to_string(s);
        if (strcmp(live, replayed) != 0) {
                fprintf(stderr, "gen-journal: the replayed state differs from the live one:\n%s\n---\n%s", live,
                        replayed);
                return EXIT_FAILURE;
        }

        f = fopen(argv[2], "we");
        EXPECT(f);
        fprintf(f, "# %s: written by gen-journal.c (see README.md)\n", basename(argv[1]));
        fprintf(f, "header version=%u header_size=32 created_usec=%" PRIu64 " flags=0\n", JOURNAL_FILE_VERSION,
                (uint64_t) HEADER_CREATED);
        fprintf(f, "records=%" PRIu64 "\n", stats.records);
        s = run_store_free(s);
        {
                JournalFile *j = NULL;
                uint64_t n = 0, dropped = 0;

                CHECK(journal_file_open(argv[1], &j));
                CHECK(journal_file_replay(j, print_record, f, &n, &dropped));
                EXPECT(n == stats.records && dropped == 0);
                journal_file_free(j);
        }
        fputs("# state\n", f);
        fputs(replayed, f);
        EXPECT(fclose(f) == 0);
        free(live);
        free(replayed);
        return EXIT_SUCCESS;
}
