/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The plan loader and validator. Every file in tests/data/plans/invalid
 * ends with "# expect: LEVEL LINE:COLUMN MESSAGE" lines, and the loader
 * must produce exactly those diagnostics, no more, no fewer. */

#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "journal-file.h"
#include "plan-graph.h"
#include "plan-load.h"
#include "run-journal.h"
#include "string-util.h"

typedef struct Expect {
        char level[16];
        unsigned line, column;
        char message[512];
} Expect;

static size_t read_expectations(const char *path, Expect *e, size_t max) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[1024];
        size_t n = 0;

        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                int off = 0;
                if (!string_has_prefix(line, "# expect: "))
                        continue;
                assert_true(n < max);
                assert_int_equal(sscanf(line, "# expect: %15s %u:%u %n", e[n].level, &e[n].line, &e[n].column,
                                        &off), 3);
                snprintf(e[n].message, sizeof(e[n].message), "%s", line + off);
                e[n].message[strcspn(e[n].message, "\n")] = 0;
                n++;
        }
        return n;
}

static void check_fixture(const char *path) {
        Expect expect[64];
        size_t n_expect = read_expectations(path, expect, ELEMENTSOF(expect));
        _cleanup_(plan_freep) Plan *p = NULL;
        Diagnostics d = {};
        bool has_error = false;
        int r;

        assert_true(n_expect > 0);
        r = plan_load_file(path, 0, &d, &p);
        diagnostics_sort(&d);
        if (d.n_items != n_expect) {
                diagnostics_print(&d, stderr);
                fail_msg("%s: %zu diagnostics, expected %zu", path, d.n_items, n_expect);
        }
        for (size_t i = 0; i < n_expect; i++) {
                const Diag *x = d.items + i;
                if (!streq(diag_level_to_string(x->level), expect[i].level) || x->line != expect[i].line ||
                    x->column != expect[i].column || !streq(x->message, expect[i].message))
                        fail_msg("%s: got %s %u:%u %s\n  expected %s %u:%u %s", path,
                                 diag_level_to_string(x->level), x->line, x->column, x->message,
                                 expect[i].level, expect[i].line, expect[i].column, expect[i].message);
                if (x->level == DIAG_ERROR)
                        has_error = true;
        }
        /* An error means no plan; warnings alone still load. */
        if (has_error) {
                assert_int_equal(r, -EINVAL);
                assert_null(p);
        } else {
                assert_int_equal(r, 0);
                assert_non_null(p);
        }
        diagnostics_done(&d);
}

static void test_invalid_fixtures(void **state) {
        const char *dir = TEST_DATA_DIR "/plans/invalid";
        _cleanup_(closedirp) DIR *dh = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(dh);
        while ((de = readdir(dh))) {
                char path[512];
                if (!string_has_suffix(de->d_name, ".yaml"))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                check_fixture(path);
                n++;
        }
        assert_true(n >= 10);
}

static Plan *load_ok(const char *path) {
        Diagnostics d = {};
        Plan *p = NULL;
        int r;

        r = plan_load_file(path, 0, &d, &p);
        if (r < 0 || d.n_errors > 0) {
                diagnostics_print(&d, stderr);
                fail_msg("%s: expected to load without errors (r=%d)", path, r);
        }
        diagnostics_done(&d);
        return p;
}

/* The shipped plans load, and warn about exactly what this salve cannot do
 * yet: triggers nothing watches and step kinds the executor lacks. */
static void test_shipped_plans_warn(void **state) {
        static const struct {
                const char *file;
                size_t n_warnings;
                const char *first;
        } t[] = {
                { SOURCE_ROOT "/plans/storage-recovery.yaml", 0, NULL },
                { SOURCE_ROOT "/plans/dependents-restart.yaml", 0, NULL },
                { TEST_DATA_DIR "/plans/valid/minimal.yaml", 0, NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(plan_freep) Plan *p = NULL;
                Diagnostics d = {};

                assert_int_equal(plan_load_file(t[i].file, 0, &d, &p), 0);
                assert_non_null(p);
                diagnostics_sort(&d);
                assert_int_equal(d.n_errors, 0);
                if (d.n_warnings != t[i].n_warnings) {
                        diagnostics_print(&d, stderr);
                        fail_msg("%s: %zu warnings, expected %zu", t[i].file, d.n_warnings, t[i].n_warnings);
                }
                if (t[i].first)
                        assert_string_equal(d.items[0].message, t[i].first);
                diagnostics_done(&d);
        }
}

static void test_shipped_plans(void **state) {
        const char *files[] = {
                SOURCE_ROOT "/plans/storage-recovery.yaml",
                SOURCE_ROOT "/plans/dependents-restart.yaml",
                SOURCE_ROOT "/plans/raid-disk-replace.yaml",
                SOURCE_ROOT "/plans/restart-dependents.yaml",
        };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_(plan_freep) Plan *p = load_ok(files[i]);
                /* every shipped plan acts on its own when armed: none is,
                 * until an admin copies it to /etc and arms it */
                if (p->armed)
                        fail_msg("%s is shipped armed", files[i]);
        }
        plan_free(load_ok(TEST_DATA_DIR "/plans/valid/minimal.yaml"));
}

static const char *step_id_at(const Plan *p, size_t i) {
        return p->steps[p->order[i]].id;
}

static void test_storage_recovery_model(void **state) {
        _cleanup_(plan_freep) Plan *p = load_ok(SOURCE_ROOT "/plans/storage-recovery.yaml");
        const Step *s;
        ssize_t i;

        assert_string_equal(p->name, "storage-recovery");
        assert_int_equal(p->n_triggers, 3);
        assert_int_equal(p->triggers[0].kind, TRIGGER_BOOT);
        assert_string_equal(p->triggers[0].event, "unclean");
        assert_int_equal(p->triggers[1].kind, TRIGGER_RAID);
        assert_string_equal(p->triggers[1].name, "md0");
        assert_string_equal(p->triggers[1].event, "degraded");
        assert_true(p->rto == 45 * USEC_PER_MINUTE);
        assert_int_equal(strv_length(p->holds), 2);

        i = plan_find_step(p, "dba-approval");
        assert_true(i >= 0);
        s = p->steps + i;
        assert_int_equal(s->kind, STEP_APPROVE);
        assert_string_equal(s->owner, "dba");
        assert_int_equal(strv_length(s->escalate), 3);
        assert_true(s->ack_timeout == 10 * USEC_PER_MINUTE);
        assert_non_null(strstr(s->instructions, "replication lag"));

        i = plan_find_step(p, "verify-backup");
        s = p->steps + i;
        assert_int_equal(s->retry_attempts, 3);
        assert_true(s->retry_backoff == 10 * USEC_PER_SEC);
        assert_true(s->idempotent); /* backup.verify defaults to idempotent */

        i = plan_find_step(p, "start-db");
        assert_string_equal(step_get_string(p->steps + i, "unit"), "postgresql.service");

        /* Execution order follows the file where dependencies allow. */
        assert_string_equal(step_id_at(p, 0), "raid-sync");
        assert_string_equal(step_id_at(p, 1), "fsck");
        assert_string_equal(step_id_at(p, 2), "verify-backup");
        assert_string_equal(step_id_at(p, 3), "dba-approval");
        assert_string_equal(step_id_at(p, 6), "start-api");

        /* raid-sync 20m + fsck 5m + approval 10m + start-db 1m + start-api 30s */
        assert_true(p->critical_usec == 36 * USEC_PER_MINUTE + 30 * USEC_PER_SEC);
        assert_int_equal(p->n_critical, 6);
        assert_string_equal(p->steps[p->critical[0]].id, "raid-sync");
        assert_string_equal(p->steps[p->critical[5]].id, "start-api");
}

static Plan *load_string(const char *text, Diagnostics *d, int *ret_r) {
        Plan *p = NULL;
        *ret_r = plan_load_buffer("test.yaml", text, strlen(text), d, &p);
        diagnostics_sort(d);
        return p;
}

static void assert_single_error(const char *text, size_t len, unsigned line, unsigned column, const char *needle) {
        _cleanup_(plan_freep) Plan *p = NULL;
        Diagnostics d = {};
        int r;

        r = plan_load_buffer("hostile.yaml", text, len, &d, &p);
        assert_int_equal(r, -EINVAL);
        assert_null(p);
        if (d.n_errors != 1 || !strstr(d.items[0].message, needle)) {
                diagnostics_print(&d, stderr);
                fail_msg("expected one error containing \"%s\"", needle);
        }
        assert_int_equal(d.items[0].line, line);
        assert_int_equal(d.items[0].column, column);
        diagnostics_done(&d);
}

static void test_hostile_input(void **state) {
        _cleanup_free_ char *big = NULL, *deep = NULL, *bomb = NULL, *wide = NULL;
        size_t n;

        assert_single_error("", 0, 1, 1, "empty plan file");
        assert_single_error("  \n\n\t\n", 6, 1, 1, "empty plan file");
        assert_single_error("# only a comment\n", 17, 1, 1, "empty plan file");
        assert_single_error("plan: a\nsteps: [x\0y]\n", 21, 2, 10, "NUL byte");
        assert_single_error("plan: a\ndescription: caf\xe9\n", 26, 2, 17, "invalid UTF-8");
        assert_single_error("plan: a\n---\nplan: b\n", 20, 2, 1, "exactly one document");
        assert_single_error("plan: a\nsteps: *nowhere\n", 24, 2, 8, "unknown alias");
        assert_single_error("plan: &a [*a]\n", 14, 1, 11, "unknown alias"); /* no self-reference */
        assert_single_error("- [\n", 4, 2, 1, "YAML syntax error");

        /* Buffers need not be NUL-terminated (found by fuzzing): exactly
         * len bytes, so ASan sees any read past them. */
        {
                char *exact = malloc(3);
                memcpy(exact, "  \n", 3);
                assert_single_error(exact, 3, 1, 1, "empty plan file");
                memcpy(exact, "a:\xff", 3);
                assert_single_error(exact, 3, 1, 3, "invalid UTF-8");
                free(exact);
        }

        /* Too large. */
        n = PLAN_FILE_MAX + 10;
        big = malloc(n);
        assert_non_null(big);
        memset(big, '#', n);
        assert_single_error(big, n, 1, 1, "too large");

        /* Nesting: refused at the 33rd level, not a stack overflow. */
        deep = malloc(100001);
        memset(deep, '[', 100000);
        deep[100000] = 0;
        assert_single_error(deep, 100000, 1, 33, "nesting deeper than 32 levels");

        /* Billion laughs: nine levels of ten aliases each. */
        {
                FILE *f;
                size_t len;
                f = open_memstream(&bomb, &len);
                fprintf(f, "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
                for (char c = 'b'; c <= 'i'; c++) {
                        fprintf(f, "%c: &%c [", c, c);
                        for (int k = 0; k < 10; k++)
                                fprintf(f, "%s*%c", k ? "," : "", c - 1);
                        fprintf(f, "]\n");
                }
                fclose(f);
                assert_single_error(bomb, len, 5, 29, "aliases expand to more than 100000 nodes");
        }

        /* Many nodes without aliases. */
        {
                FILE *f;
                size_t len;
                f = open_memstream(&wide, &len);
                fputs("x: [", f);
                for (int k = 0; k < 150000; k++)
                        fputs("1,", f);
                fputs("]\n", f);
                fclose(f);
                /* The 100001st node: mapping, key, list, then items two columns apart. */
                assert_single_error(wide, len, 1, 5 + 2 * 99997, "more than 100000 nodes");
        }
}

static void test_all_errors_reported(void **state) {
        Diagnostics d = {};
        int r;
        Plan *p = load_string("plan: x\n"
                              "steps:\n"
                              "  - id: a\n"
                              "    run: exec\n"
                              "    timeout: soon\n"
                              "  - id: b\n"
                              "    run: unit.start\n"
                              "    with: {unit: nope}\n"
                              "    needs: [zz]\n",
                              &d, &r);
        assert_null(p);
        assert_int_equal(r, -EINVAL);
        /* exec without command, bad timeout, bad unit, missing need */
        assert_int_equal(d.n_errors, 4);
        assert_int_equal(d.items[0].line, 3);
        assert_int_equal(d.items[1].line, 5);
        assert_int_equal(d.items[2].line, 8);
        assert_int_equal(d.items[3].line, 9);
        diagnostics_done(&d);
}

static void test_aliases_allowed(void **state) {
        Diagnostics d = {};
        int r;
        _cleanup_(plan_freep) Plan *p = load_string("plan: anchors\n"
                                                    "steps:\n"
                                                    "  - id: a\n"
                                                    "    run: unit.start\n"
                                                    "    with: &db {unit: db.service}\n"
                                                    "  - id: b\n"
                                                    "    needs: [a]\n"
                                                    "    run: unit.restart\n"
                                                    "    with: *db\n",
                                                    &d, &r);
        assert_int_equal(r, 0);
        assert_non_null(p);
        assert_string_equal(step_get_string(p->steps + 1, "unit"), "db.service");
        diagnostics_done(&d);
}

static void test_defaults(void **state) {
        Diagnostics d = {};
        int r;
        _cleanup_(plan_freep) Plan *p = load_string("plan: defaults\n"
                                                    "owner: ops\n"
                                                    "steps:\n"
                                                    "  - id: cmd\n"
                                                    "    run: exec\n"
                                                    "    with: {command: [/bin/true]}\n"
                                                    "  - id: ok\n"
                                                    "    needs: [cmd]\n"
                                                    "    human: approve\n"
                                                    "  - id: cmd2\n"
                                                    "    run: exec\n"
                                                    "    with: {command: [/bin/true]}\n"
                                                    "    idempotent: yes\n",
                                                    &d, &r);
        assert_int_equal(r, 0);
        assert_false(p->steps[0].idempotent);     /* exec: not by default */
        assert_true(p->steps[2].idempotent);      /* said so */
        assert_int_equal(p->steps[0].retry_attempts, 1);
        assert_true(p->steps[0].timeout == USEC_INFINITY);
        assert_int_equal(p->steps[0].on_failure, ON_FAILURE_ABORT);
        assert_null(p->steps[1].owner);           /* falls back to the plan's */
        assert_int_equal(p->parallel, PLAN_PARALLEL_DEFAULT);
        assert_true(p->rto == USEC_INFINITY);
        diagnostics_done(&d);
}

static void test_handlers_and_critical_path(void **state) {
        Diagnostics d = {};
        int r;
        _cleanup_(plan_freep) Plan *p = load_string("plan: h\n"
                                                    "rto: 1h\n"
                                                    "steps:\n"
                                                    "  - id: a\n"
                                                    "    run: exec\n"
                                                    "    with: {command: [/bin/a]}\n"
                                                    "    estimate: 10m\n"
                                                    "    on-failure: fix\n"
                                                    "  - id: fix\n"
                                                    "    run: exec\n"
                                                    "    with: {command: [/bin/fix]}\n"
                                                    "    estimate: 5h\n"
                                                    "  - id: b\n"
                                                    "    run: exec\n"
                                                    "    with: {command: [/bin/b]}\n"
                                                    "    estimate: 15m\n"
                                                    "  - id: c\n"
                                                    "    needs: [a, b]\n"
                                                    "    run: exec\n"
                                                    "    with: {command: [/bin/c]}\n"
                                                    "    estimate: 1m\n",
                                                    &d, &r);
        assert_int_equal(r, 0);
        assert_int_equal(d.n_items, 0); /* the 5h handler does not count against the RTO */
        assert_true(p->steps[1].is_handler);
        assert_int_equal(p->steps[0].on_failure, ON_FAILURE_HANDLER);
        assert_int_equal(p->steps[0].on_failure_index, 1);
        assert_true(p->critical_usec == 16 * USEC_PER_MINUTE);
        assert_int_equal(p->n_critical, 2);
        assert_string_equal(p->steps[p->critical[0]].id, "b");
        assert_string_equal(p->steps[p->critical[1]].id, "c");
        diagnostics_done(&d);
}

static void test_dot(void **state) {
        _cleanup_(plan_freep) Plan *p = load_ok(SOURCE_ROOT "/plans/dependents-restart.yaml");
        _cleanup_free_ char *text = NULL;
        size_t len;
        FILE *f = open_memstream(&text, &len);

        assert_int_equal(plan_write_dot(p, f), 0);
        fclose(f);
        assert_true(string_has_prefix(text, "digraph \"dependents-restart\" {"));
        assert_non_null(strstr(text, "\"broker-up\" -> \"start-api\";"));
        assert_non_null(strstr(text, "\"restart-broker\" -> \"page-platform\" [style=dashed"));
        assert_non_null(strstr(text, "\"page-platform\" [label=\"page-platform\\ntask\", shape=hexagon, style=dashed]"));
        assert_true(string_has_suffix(text, "}\n"));
}

static void test_names(void **state) {
        assert_true(unit_name_is_valid("postgresql.service"));
        assert_true(unit_name_is_valid("getty@tty1.service"));
        assert_true(unit_name_is_valid("srv-data.mount"));
        assert_true(unit_name_is_valid("system-salve\\x2dtest.slice"));
        assert_false(unit_name_is_valid("postgresql"));
        assert_false(unit_name_is_valid("getty@.service"));
        assert_false(unit_name_is_valid("a b.service"));
        assert_false(unit_name_is_valid(".service"));
        assert_false(unit_name_is_valid("x.servic"));
        assert_true(plan_name_is_valid("storage-recovery"));
        assert_false(plan_name_is_valid("-x"));
        assert_false(plan_name_is_valid("a/b"));
}

/* A plan of about size bytes: one step, then a comment of filler
 * characters, in lines of 100. */
static char *make_big_plan(size_t size, char filler, size_t *ret_len) {
        static const char head[] = "plan: big\nsteps:\n  - id: s\n    run: unit.start\n    with: {unit: a.service}\n";
        char *buf = malloc(size + 1);
        size_t n = strlen(head);

        assert_non_null(buf);
        assert_true(size > n + 200);
        memcpy(buf, head, n);
        while (n + 100 <= size) {
                buf[n] = '#';
                memset(buf + n + 1, filler, 98);
                buf[n + 99] = '\n';
                n += 100;
        }
        buf[n] = 0;
        *ret_len = n;
        return buf;
}

/* The run-created record of a run of p, with the other fields at their
 * worst: a reason of SALVE_COMMENT_MAX (4096) control characters and a
 * path of PATH_MAX - 1 bytes that each escape to six. */
static size_t worst_record_size(const Plan *p) {
        _cleanup_free_ char *json = NULL, *path = malloc(PATH_MAX), *reason = malloc(4097);
        Transition t = {};

        assert_non_null(path);
        assert_non_null(reason);
        memset(path, 0x01, PATH_MAX - 1);
        path[0] = '/';
        path[PATH_MAX - 1] = 0;
        memset(reason, 0x02, 4096);
        reason[4096] = 0;
        assert_int_equal(run_created_transition("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-"
                                                "18446744073709551615", p->name, path, p->source, "manual", reason,
                                                UINT64_MAX / 2, UINT64_MAX / 2, &t), 0);
        assert_int_equal(transition_to_json(&t, &json), 0);
        transition_done(&t);
        return strlen(json);
}

/* Whatever loads must be able to run: a plan the loader accepts has a
 * run-created record within the journal's record limit; one that would
 * not fit is refused with an error that names the limit (issue 6: a
 * 716 KiB plan of backslash comments and a 1 MiB plan verified, then
 * StartRun failed with E2BIG). */
static void expect_fits_or_refused(size_t size, char filler) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(plan_freep) Plan *p = NULL;
        Diagnostics d = {};
        size_t len;
        int r;

        buf = make_big_plan(size, filler, &len);
        r = plan_load_buffer("big.yaml", buf, len, &d, &p);
        if (r == 0) {
                size_t rec = worst_record_size(p);
                if (rec > JOURNAL_PAYLOAD_MAX)
                        fail_msg("a %zu-byte plan loads, but its run-created record takes %zu bytes, over the "
                                 "journal's %u", len, rec, JOURNAL_PAYLOAD_MAX);
        } else {
                assert_int_equal(r, -EINVAL);
                assert_int_equal(d.n_errors, 1);
                if (!strstr(d.items[0].message, "journal record"))
                        fail_msg("\"%s\" does not name the journal's record limit", d.items[0].message);
                assert_true(d.items[0].line >= 1);
        }
        diagnostics_done(&d);
}

static void test_loaded_plans_fit_the_journal(void **state) {
        expect_fits_or_refused(716 * 1024, '\\');
        expect_fits_or_refused(1024 * 1024, 'x');
        expect_fits_or_refused(PLAN_FILE_MAX, '"');
        expect_fits_or_refused(600 * 1024, '\t');
        expect_fits_or_refused(PLAN_SOURCE_JSON_MAX / 2 + 1000, '\\');

        /* The largest plan that loads still fits with every other field at
         * its worst: the budget holds. */
        {
                _cleanup_free_ char *buf = NULL;
                _cleanup_(plan_freep) Plan *p = NULL;
                Diagnostics d = {};
                size_t len;

                /* Newlines count twice: one in 100 bytes here. */
                buf = make_big_plan(PLAN_SOURCE_JSON_MAX / 101 * 100, 'x', &len);
                assert_true(plan_json_string_size(buf, len, SIZE_MAX, NULL) > PLAN_SOURCE_JSON_MAX - 200);
                assert_int_equal(plan_load_buffer("big.yaml", buf, len, &d, &p), 0);
                assert_true(worst_record_size(p) <= JOURNAL_PAYLOAD_MAX);
                diagnostics_done(&d);
        }
        assert_int_equal(PLAN_RECORD_MAX, JOURNAL_PAYLOAD_MAX);
}

/* Where the limit is crossed, and which limit it is. */
static void test_too_large_to_run_position(void **state) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(plan_freep) Plan *p = NULL;
        Diagnostics d = {};
        size_t len, cross;

        buf = make_big_plan(PLAN_SOURCE_JSON_MAX / 2 + 10000, '\\', &len);
        assert_true(plan_json_string_size(buf, len, PLAN_SOURCE_JSON_MAX, &cross) > PLAN_SOURCE_JSON_MAX);
        assert_int_equal(plan_load_buffer("big.yaml", buf, len, &d, &p), -EINVAL);
        assert_int_equal(d.n_errors, 1);
        assert_non_null(strstr(d.items[0].message, "plan too large to run"));
        assert_non_null(strstr(d.items[0].message, "over the limit of"));
        {
                unsigned line = 1;
                for (size_t i = 0; i < cross; i++)
                        line += buf[i] == '\n';
                assert_true(line > 5);
                assert_int_equal(d.items[0].line, line);
        }
        diagnostics_done(&d);
}

/* plan_json_string_size() must count what json-c writes, byte for byte. */
static void test_json_string_size_matches_json_c(void **state) {
        char all[255], buf[8];
        size_t base;

        {
                _cleanup_free_ char *json = NULL;
                Transition t = { .kind = TRANSITION_RUN_FINISHED, .run_id = (char *) "r", .message = (char *) "" };
                assert_int_equal(transition_to_json(&t, &json), 0);
                base = strlen(json);
        }
        for (int c = 1; c < 256; c++) {
                _cleanup_free_ char *json = NULL;
                Transition t = { .kind = TRANSITION_RUN_FINISHED, .run_id = (char *) "r", .message = buf };

                all[c - 1] = (char) c;
                buf[0] = (char) c;
                buf[1] = 0;
                if (c >= 0x80) { /* one valid two-byte UTF-8 sequence per lead range */
                        buf[0] = (char) 0xc3;
                        buf[1] = (char) (0x80 | (c & 0x3f));
                        buf[2] = 0;
                }
                assert_int_equal(transition_to_json(&t, &json), 0);
                if (strlen(json) - base != plan_json_string_size(buf, strlen(buf), SIZE_MAX, NULL))
                        fail_msg("byte 0x%02x: json-c writes %zu bytes, plan_json_string_size() says %zu", c,
                                 strlen(json) - base, plan_json_string_size(buf, strlen(buf), SIZE_MAX, NULL));
        }
        {
                size_t cross;
                assert_int_equal(plan_json_string_size("ab\\c", 4, 3, &cross), 5);
                assert_int_equal(cross, 2);
                assert_int_equal(plan_json_string_size(all, 10, 1000, &cross), 7 * 6 + 3 * 2);
                assert_int_equal(cross, 10);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_invalid_fixtures),
                cmocka_unit_test(test_shipped_plans),
                cmocka_unit_test(test_shipped_plans_warn),
                cmocka_unit_test(test_storage_recovery_model),
                cmocka_unit_test(test_hostile_input),
                cmocka_unit_test(test_all_errors_reported),
                cmocka_unit_test(test_aliases_allowed),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_handlers_and_critical_path),
                cmocka_unit_test(test_dot),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_loaded_plans_fit_the_journal),
                cmocka_unit_test(test_too_large_to_run_position),
                cmocka_unit_test(test_json_string_size_matches_json_c),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
