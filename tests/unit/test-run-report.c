/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salvectl's report model and renderers (src/ctl/run-report*.c), fed
 * from fixture JSON in tests/data/report/: GetRun's run.json,
 * GetRunHistory's history.json (a retried exec step, a person's approval
 * with notices, an acknowledgement and an act, an RTO warning, an
 * operator's hold release) and GetPlan's plan.json. Step messages,
 * comments and recipients there are hostile on purpose. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "run-report.h"
#include "strv.h"

#define T 1796000000000000ULL
#define S USEC_PER_SEC
#define HOSTILE "</script><script>alert(1)</script> & <b>bold</b> | pipe | *star* [link](http://x) `code`\nsecond line"

static json_object *load(const char *name) {
        _cleanup_free_ char *p = NULL;
        json_object *o;

        assert_true(asprintf(&p, "%s/report/%s", TEST_DATA_DIR, name) > 0);
        o = json_object_from_file(p);
        assert_non_null(o);
        return o;
}

static RunReport *build_fixture(bool holds) {
        json_object *run = load("run.json"), *hist = load("history.json"), *plan = load("plan.json");
        RunReport *r = NULL;

        assert_int_equal(run_report_build(run, hist, "db1 <host>", T + 100 * S, &r), 0);
        if (holds)
                assert_int_equal(run_report_set_holds(r, (char *[]) { "demo-db.service", "other.service", NULL }, NULL,
                                                      plan), 0);
        json_object_put(run);
        json_object_put(hist);
        json_object_put(plan);
        return r;
}

static char *render(const RunReport *r, int (*fn)(const RunReport *, FILE *)) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        assert_non_null(f);
        assert_int_equal(fn(r, f), 0);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void test_attempts(void **state) {
        _cleanup_(run_report_freep) RunReport *r = build_fixture(false);
        ReportStep *fetch, *approve, *optional;

        assert_int_equal(r->n_steps, 5);
        assert_true(r->complete);
        assert_string_equal(r->host, "db1 <host>");
        assert_true(strv_contains(r->context, "unit=postgresql.service"));

        /* both attempts of the retried step, from the history */
        fetch = run_report_find_step(r, "fetch");
        assert_non_null(fetch);
        assert_int_equal(fetch->n_attempts, 2);
        assert_int_equal(fetch->attempts[0].attempt, 1);
        assert_int_equal(fetch->attempts[0].start, T);
        assert_int_equal(fetch->attempts[0].end, T + 10 * S);
        assert_string_equal(fetch->attempts[0].outcome, "failed");
        assert_true(fetch->attempts[0].retried);
        assert_non_null(strstr(fetch->attempts[0].message, "exit status 3"));
        assert_int_equal(fetch->attempts[1].attempt, 2);
        assert_int_equal(fetch->attempts[1].start, T + 11 * S);
        assert_int_equal(fetch->attempts[1].end, T + 20 * S);
        assert_string_equal(fetch->attempts[1].outcome, "succeeded");
        assert_false(fetch->attempts[1].retried);

        /* the person's step: the wait, the ack, the act */
        approve = run_report_find_step(r, "approve");
        assert_int_equal(approve->n_attempts, 1);
        assert_int_equal(approve->attempts[0].wait_start, T + 21 * S);
        assert_string_equal(approve->attempts[0].actor, "root (uid 0)");
        assert_string_equal(approve->acked_by, "root (uid 0)");
        assert_string_equal(approve->acked_via, "salvectl");
        assert_int_equal(approve->acked_at, T + 50 * S);

        /* skipped before it ran: no attempt */
        optional = run_report_find_step(r, "optional");
        assert_int_equal(optional->n_attempts, 0);
        assert_int_equal(optional->basis, REPORT_BASIS_NONE);

        assert_int_equal(r->n_events, 4);
        assert_int_equal(r->events[0].kind, REPORT_NOTIFIED);
        assert_true(strv_contains(r->events[0].recipients, "<img src=x>"));
        assert_int_equal(r->events[1].kind, REPORT_ESCALATED);
        assert_int_equal(r->events[1].level, 1);
        assert_int_equal(r->events[2].kind, REPORT_ACKNOWLEDGED);
        assert_string_equal(r->events[2].via, "salvectl");
        assert_int_equal(r->events[3].kind, REPORT_ACT);
        assert_string_equal(r->events[3].action, "approved");
        assert_string_equal(r->events[3].via, "approval-token");
        assert_string_equal(r->events[3].comment, "lag | ok <b>");
        assert_int_equal(r->events[3].at, T + 81 * S);

        assert_int_equal(r->n_rto_events, 1);
        assert_string_equal(r->rto_events[0].state, "at-risk");
        assert_int_equal(r->rto_events[0].projected, T + 700 * S);
}

static void test_critical_path(void **state) {
        _cleanup_(run_report_freep) RunReport *r = build_fixture(false);

        /* fetch 20 s (both attempts) + approve 60 s + start 2 s beats quick 1 s */
        assert_int_equal(r->n_critical, 3);
        assert_string_equal(r->steps[r->critical[0]].id, "fetch");
        assert_string_equal(r->steps[r->critical[1]].id, "approve");
        assert_string_equal(r->steps[r->critical[2]].id, "start");
        assert_int_equal(r->critical_usec, 82 * S);
        assert_int_equal(run_report_find_step(r, "fetch")->duration, 20 * S);
        assert_int_equal(run_report_find_step(r, "fetch")->basis, REPORT_BASIS_ACTUAL);
        assert_false(run_report_find_step(r, "quick")->critical);
}

/* An unfinished run: a running step counts the larger of elapsed and
 * its estimate, a step not started its estimate. */
static void test_critical_path_unfinished(void **state) {
        const char *run =
                "{\"id\":\"x-1\",\"plan\":\"x\",\"state\":\"running\",\"steps\":["
                "{\"id\":\"a\",\"kind\":\"exec\",\"state\":\"running\",\"attempt\":1,\"attempts\":1,"
                " \"started_usec\":1000000000,\"estimate_usec\":60000000,\"needs\":[]},"
                "{\"id\":\"b\",\"kind\":\"exec\",\"state\":\"running\",\"attempt\":1,\"attempts\":1,"
                " \"started_usec\":1000000000,\"estimate_usec\":5000000,\"needs\":[]},"
                "{\"id\":\"c\",\"kind\":\"exec\",\"state\":\"pending\",\"attempt\":0,\"attempts\":1,"
                " \"estimate_usec\":30000000,\"needs\":[\"b\"]}]}";
        json_object *o = json_tokener_parse(run);
        _cleanup_(run_report_freep) RunReport *r = NULL;

        /* 20 s in: a is within its 60 s estimate, b past its 5 s */
        assert_int_equal(run_report_build(o, NULL, NULL, 1000000000 + 20 * S, &r), 0);
        assert_int_equal(run_report_find_step(r, "a")->basis, REPORT_BASIS_ESTIMATE);
        assert_int_equal(run_report_find_step(r, "a")->duration, 60 * S);
        assert_int_equal(run_report_find_step(r, "b")->basis, REPORT_BASIS_ELAPSED);
        assert_int_equal(run_report_find_step(r, "b")->duration, 20 * S);
        assert_int_equal(run_report_find_step(r, "c")->basis, REPORT_BASIS_ESTIMATE);
        /* b + c = 50 s < a = 60 s */
        assert_int_equal(r->n_critical, 1);
        assert_string_equal(r->steps[r->critical[0]].id, "a");
        r = run_report_free(r);

        /* 40 s in: b (40 s elapsed) + c (30 s) = 70 s beats a's 60 s */
        assert_int_equal(run_report_build(o, NULL, NULL, 1000000000 + 40 * S, &r), 0);
        assert_int_equal(r->n_critical, 2);
        assert_string_equal(r->steps[r->critical[0]].id, "b");
        assert_string_equal(r->steps[r->critical[1]].id, "c");
        assert_int_equal(r->critical_usec, 70 * S);
        /* without a history, each started step has one attempt, its latest */
        assert_int_equal(run_report_find_step(r, "a")->n_attempts, 1);
        assert_null(run_report_find_step(r, "a")->attempts[0].outcome);
        json_object_put(o);
}

static void test_bad_input(void **state) {
        RunReport *r = NULL;
        json_object *run = json_tokener_parse("[1,2]"), *cyc, *hist;

        assert_int_equal(run_report_build(run, NULL, NULL, 0, &r), -EBADMSG);
        json_object_put(run);
        run = json_tokener_parse("{\"id\":\"x-1\",\"steps\":[{\"kind\":\"exec\"}]}");
        assert_int_equal(run_report_build(run, NULL, NULL, 0, &r), -EBADMSG);   /* a step without an id */
        json_object_put(run);

        cyc = json_tokener_parse("{\"id\":\"x-1\",\"steps\":[{\"id\":\"a\",\"needs\":[\"b\"],\"estimate_usec\":1},"
                                 "{\"id\":\"b\",\"needs\":[\"a\"],\"estimate_usec\":1}]}");
        assert_int_equal(run_report_build(cyc, NULL, NULL, 0, &r), -ELOOP);
        json_object_put(cyc);

        /* a history whose records are junk: skipped, never a crash */
        run = load("run.json");
        hist = json_tokener_parse("{\"run\":\"db-restore-3\",\"complete\":false,\"records\":[1,\"x\",null,{},"
                                  "{\"type\":\"step\"},{\"type\":\"step\",\"step\":\"nope\",\"state\":\"running\"},"
                                  "{\"type\":\"step\",\"step\":\"fetch\",\"state\":\"failed\",\"attempt\":9},"
                                  "{\"type\":\"human\",\"step\":\"approve\"},{\"type\":\"rto\"},{\"type\":\"what\"}]}");
        assert_int_equal(run_report_build(run, hist, NULL, 0, &r), 0);
        assert_false(r->complete);
        /* no attempt from the history: the run's own latest one is used */
        assert_int_equal(run_report_find_step(r, "fetch")->n_attempts, 1);
        r = run_report_free(r);
        json_object_put(hist);
        hist = json_tokener_parse("{\"run\":\"db-restore-3\"}");
        assert_int_equal(run_report_build(run, hist, NULL, 0, &r), -EBADMSG);
        json_object_put(hist);
        json_object_put(run);
}

/* A record's state is not one this salvectl knows (found by
 * fuzz-run-report: the act's name was the raw state, unescaped). */
static void test_act_unknown_state(void **state) {
        json_object *run = load("run.json"),
                    *hist = json_tokener_parse("{\"run\":\"db-restore-3\",\"complete\":true,\"records\":["
                                               "{\"type\":\"step\",\"step\":\"approve\",\"state\":\"<img src=x>\","
                                               "\"attempt\":1,\"at\":1,\"actor\":\"<b>eve</b>\"}]}");
        _cleanup_(run_report_freep) RunReport *r = NULL;
        _cleanup_free_ char *md = NULL, *html = NULL;

        assert_int_equal(run_report_build(run, hist, NULL, 0, &r), 0);
        assert_int_equal(r->n_events, 1);
        assert_string_equal(r->events[0].action, "acted");
        md = render(r, run_report_write_markdown);
        html = render(r, run_report_write_html);
        assert_null(strstr(md, "<img"));
        assert_null(strstr(html, "<img"));
        assert_non_null(strstr(md, "| approve | acted | - | &lt;b&gt;eve&lt;/b&gt; |"));
        json_object_put(run);
        json_object_put(hist);
}

static void test_holds(void **state) {
        _cleanup_(run_report_freep) RunReport *r = build_fixture(true);

        assert_int_equal(r->n_holds, 2);
        assert_string_equal(r->holds[0].unit, "demo-db.service");
        assert_int_equal(r->holds[0].released, T + 82 * S);
        assert_string_equal(r->holds[0].how, "step start started it");
        assert_string_equal(r->holds[1].unit, "other.service");
        assert_int_equal(r->holds[1].released, T + 83 * S);
        assert_string_equal(r->holds[1].actor, "alice (uid 1000)");
        assert_string_equal(r->holds[1].how, "released by alice (uid 1000)");
}

/* GetRun's holds (the run's own plan) give the same, the releasing step
 * from salved (here a release: step the plan's unit.start would not name). */
static void test_run_holds(void **state) {
        _cleanup_(run_report_freep) RunReport *r = build_fixture(false);
        json_object *holds = json_tokener_parse(
                "[{\"unit\": \"demo-db.service\", \"held\": false, \"step\": \"start\"},"
                " {\"unit\": \"other.service\", \"held\": false, \"step\": null},"
                " {\"unit\": \"api.service\", \"held\": true, \"step\": \"start\"}]");

        assert_non_null(holds);
        assert_int_equal(run_report_set_run_holds(r, json_object_object_get(holds, "nope")), -EBADMSG);
        assert_int_equal(run_report_set_run_holds(r, holds), 0);
        assert_int_equal(r->n_holds, 3);
        assert_string_equal(r->holds[0].unit, "demo-db.service");
        assert_int_equal(r->holds[0].released, T + 82 * S);
        assert_string_equal(r->holds[0].how, "step start started it");
        assert_string_equal(r->holds[1].unit, "other.service");
        assert_string_equal(r->holds[1].how, "released by alice (uid 1000)");
        assert_string_equal(r->holds[2].unit, "api.service");
        assert_true(r->holds[2].held);
        assert_string_equal(r->holds[2].how, "still held");
        json_object_put(holds);
}

/* The unescaped | in a markdown line: a table row's cell count + 1. */
static unsigned md_pipes(const char *l, size_t n) {
        unsigned k = 0;
        for (size_t i = 0; i < n; i++)
                if (l[i] == '\\')
                        i++;
                else if (l[i] == '|')
                        k++;
        return k;
}

static void test_markdown(void **state) {
        _cleanup_(run_report_freep) RunReport *r = build_fixture(true);
        _cleanup_free_ char *md = render(r, run_report_write_markdown);
        const char *p;
        unsigned rows = 0;

        assert_non_null(strstr(md, "# Post-incident report: run db-restore-3"));
        assert_non_null(strstr(md, "| Step | Kind | Attempt | Start | End | Duration | Outcome | Message |"));
        assert_null(strstr(md, "<script"));
        assert_null(strstr(md, "<b>"));
        assert_null(strstr(md, "<img"));
        assert_non_null(strstr(md, "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold"));
        assert_non_null(strstr(md, "\\| pipe \\| \\*star\\* \\[link\\](http://x) \\`code\\`<br>second line"));
        assert_non_null(strstr(md, "| fetch | exec | 1 | 2026-"));
        assert_non_null(strstr(md, "failed, retried"));
        assert_non_null(strstr(md, "| fetch | exec | 2 |"));
        assert_non_null(strstr(md, "waited 1m for a person"));
        assert_non_null(strstr(md, "| approve | acknowledged | - | root (uid 0) | salvectl | on it |"));
        assert_non_null(strstr(md, "| approve | approved | - | root (uid 0) | approval-token | lag \\| ok &lt;b&gt; |"));
        assert_non_null(strstr(md, "| jane, &lt;img src=x&gt; |"));
        assert_non_null(strstr(md, "fetch → approve → start (1m 22s)"));
        assert_non_null(strstr(md, "at-risk announced at "));
        assert_non_null(strstr(md, "met, "));
        assert_non_null(strstr(md, "| other.service | "));
        assert_non_null(strstr(md, "by hand<br>&amp; done"));

        /* every row of the timeline has its 8 cells: nothing leaked a | or a newline */
        p = strstr(md, "## Timeline");
        assert_non_null(p);
        p = strstr(p, "|---");
        for (p = strchr(p, '\n') + 1; *p == '|'; p = strchr(p, '\n') + 1, rows++)
                assert_int_equal(md_pipes(p, strcspn(p, "\n")), 9);
        assert_int_equal(rows, 6);      /* fetch ×2, quick, optional (never started), approve, start */
}

static void test_html(void **state) {
        _cleanup_(run_report_freep) RunReport *r = build_fixture(true);
        _cleanup_free_ char *html = render(r, run_report_write_html);
        const char *svg;

        assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
        assert_non_null(strstr(html, "</html>\n"));
        /* nothing executable, nothing fetched */
        assert_null(strstr(html, "<script"));
        assert_null(strstr(html, "<img"));
        assert_null(strstr(html, "<link"));
        assert_null(strstr(html, "src=\""));
        assert_null(strstr(html, "href="));
        assert_null(strstr(html, "@import"));
        assert_null(strstr(html, "<b>bold"));
        assert_non_null(strstr(html, "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold"));
        assert_non_null(strstr(html, "&lt;img src=x&gt;"));
        assert_non_null(strstr(html, "db1 &lt;host&gt;"));
        assert_non_null(strstr(html, "<style>"));
        /* one SVG, with a bar per attempt and the markers */
        svg = strstr(html, "<svg ");
        assert_non_null(svg);
        assert_null(strstr(svg + 1, "<svg "));
        assert_non_null(strstr(svg, "fetch: attempt 1: failed, retried"));
        assert_non_null(strstr(svg, "fetch: attempt 2: succeeded"));
        assert_non_null(strstr(svg, "fill=\"url(#wait)\""));
        assert_non_null(strstr(svg, "approve: acknowledged at"));
        assert_non_null(strstr(svg, "approve: approved at"));
        assert_non_null(strstr(svg, "RTO deadline"));
        assert_non_null(strstr(svg, "#8fd19e"));
        assert_non_null(strstr(svg, "#f08080"));
        assert_non_null(strstr(html, "<b>met</b>"));
}

static void test_json(void **state) {
        _cleanup_(run_report_freep) RunReport *r = build_fixture(true);
        _cleanup_free_ char *text = render(r, run_report_write_json);
        json_object *o = json_tokener_parse(text), *steps, *fetch = NULL, *approve = NULL, *quick = NULL, *people, *v,
                    *a;

        assert_non_null(o);
        assert_int_equal(json_object_get_int(json_object_object_get(o, "report_version")), 1);
        assert_string_equal(json_object_get_string(json_object_object_get(o, "run")), "db-restore-3");
        v = json_object_object_get(o, "trigger");
        assert_string_equal(json_object_get_string(json_object_object_get(v, "kind")), "unit");
        assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(v, "context"), "unit")),
                            "postgresql.service");
        steps = json_object_object_get(o, "steps");
        for (size_t i = 0; i < json_object_array_length(steps); i++) {
                json_object *s = json_object_array_get_idx(steps, i);
                if (streq(json_object_get_string(json_object_object_get(s, "id")), "fetch"))
                        fetch = s;
                if (streq(json_object_get_string(json_object_object_get(s, "id")), "approve")) {
                        approve = s;
                        /* who acted last, and how: the approval link, not salvectl */
                        assert_string_equal(json_object_get_string(json_object_object_get(s, "actor")),
                                            "root (uid 0)");
                        assert_string_equal(json_object_get_string(json_object_object_get(s, "via")),
                                            "approval-token");
                }
                if (streq(json_object_get_string(json_object_object_get(s, "id")), "quick")) {
                        quick = s;
                        a = json_object_array_get_idx(json_object_object_get(s, "attempts"), 0);
                        /* JSON keeps the text exactly: its escaping is JSON's */
                        assert_string_equal(json_object_get_string(json_object_object_get(a, "message")), HOSTILE);
                }
        }
        assert_non_null(fetch);
        assert_non_null(approve);
        assert_non_null(quick);
        a = json_object_object_get(fetch, "attempts");
        assert_int_equal(json_object_array_length(a), 2);
        assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(a, 0), "outcome")),
                            "failed");
        assert_true(json_object_get_boolean(json_object_object_get(json_object_array_get_idx(a, 0), "retried")));
        assert_int_equal(json_object_get_int64(json_object_object_get(json_object_array_get_idx(a, 1), "start_usec")),
                         (int64_t) (T + 11 * S));
        assert_string_equal(json_object_get_string(json_object_object_get(fetch, "duration_basis")), "actual");
        assert_null(json_object_object_get(fetch, "via"));
        assert_true(json_object_get_boolean(json_object_object_get(fetch, "critical")));

        people = json_object_object_get(o, "people");
        assert_int_equal(json_object_array_length(people), 4);
        v = json_object_array_get_idx(people, 2);
        assert_string_equal(json_object_get_string(json_object_object_get(v, "event")), "acknowledged");
        assert_string_equal(json_object_get_string(json_object_object_get(v, "actor")), "root (uid 0)");
        assert_int_equal(json_object_get_int64(json_object_object_get(v, "at_usec")), (int64_t) (T + 50 * S));
        v = json_object_array_get_idx(people, 3);
        assert_string_equal(json_object_get_string(json_object_object_get(v, "event")), "act");
        assert_string_equal(json_object_get_string(json_object_object_get(v, "action")), "approved");
        assert_string_equal(json_object_get_string(json_object_object_get(v, "via")), "approval-token");

        v = json_object_object_get(o, "rto");
        assert_true(json_object_get_boolean(json_object_object_get(v, "met")));
        assert_int_equal(json_object_array_length(json_object_object_get(v, "announced")), 1);
        v = json_object_object_get(o, "critical_path");
        assert_int_equal(json_object_get_int64(json_object_object_get(v, "duration_usec")), (int64_t) (82 * S));
        assert_int_equal(json_object_array_length(json_object_object_get(o, "holds")), 2);
        json_object_put(o);
}

static void test_dot(void **state) {
        _cleanup_(run_report_freep) RunReport *r = build_fixture(false);
        _cleanup_free_ char *dot = render(r, run_report_write_dot), *esc = NULL;
        size_t n = 0;
        FILE *f;

        assert_true(strncmp(dot, "digraph \"db-restore-3\" {", 24) == 0);
        /* critical edges and nodes bold; the other edges not */
        assert_non_null(strstr(dot, "\"fetch\" -> \"approve\" [penwidth=3"));
        assert_non_null(strstr(dot, "\"approve\" -> \"start\" [penwidth=3"));
        assert_non_null(strstr(dot, "\"quick\" -> \"start\";"));
        assert_non_null(strstr(dot, "fillcolor=\"#8fd19e\", penwidth=3"));
        assert_non_null(strstr(dot, "\"fetch\" [label=\"fetch\\nexec · succeeded\\n20s\\nattempt 2 of 2\""));
        assert_non_null(strstr(dot, "by root (uid 0) via approval-token\\nack root (uid 0) via salvectl"));
        assert_non_null(strstr(dot, "\"optional\" [label=\"optional\\nexec · skipped\", fillcolor=\"#d9d9d9\""));
        assert_non_null(strstr(dot, "\"legend:table\" [shape=plaintext"));
        assert_non_null(strstr(dot, "\"approve\" [label=\"approve\\napprove · succeeded"));
        assert_non_null(strstr(dot, "peripheries=2"));
        /* the on-failure handler: dashed, with a dashed edge from the step it handles */
        assert_non_null(strstr(dot, "\"quick\" -> \"optional\" [style=dashed, label=\"on failure\""));
        assert_non_null(strstr(dot, "fillcolor=\"#d9d9d9\", style=\"rounded,filled,dashed\"];"));
        assert_null(strstr(dot, "-> \"abort\""));   /* on_failure: abort names no step */

        f = open_memstream(&esc, &n);
        report_dot_escape(f, "a\"b\\c\nd\te");
        fclose(f);
        assert_string_equal(esc, "a\\\"b\\\\c\\nd e");
}

static void test_escapes(void **state) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        report_html_escape(f, "<a href='x'>&\"\x01");
        fputc('/', f);
        report_markdown_escape(f, "a|b\n<c> & _d_ #1 \\");
        fclose(f);
        assert_string_equal(buf, "&lt;a href=&#39;x&#39;&gt;&amp;&quot; /a\\|b<br>&lt;c&gt; &amp; \\_d\\_ \\#1 \\\\");
        free(buf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_attempts),
                cmocka_unit_test(test_critical_path),
                cmocka_unit_test(test_critical_path_unfinished),
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_act_unknown_state),
                cmocka_unit_test(test_holds),
                cmocka_unit_test(test_run_holds),
                cmocka_unit_test(test_markdown),
                cmocka_unit_test(test_html),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_dot),
                cmocka_unit_test(test_escapes),
        };
        setenv("TZ", "UTC", 1);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
