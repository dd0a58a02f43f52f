/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The report as one self-contained HTML file: inline CSS, an inline SVG
 * Gantt of every attempt (one row per step), no script and nothing
 * fetched, so it opens anywhere, prints, and can be mailed or attached to
 * a ticket as it is. Every string from the run goes through
 * report_html_escape(), in text and in attributes alike. */

#include <string.h>

#include "run-report.h"
#include "strv.h"

#define SVG_W 960
#define SVG_LABEL 180
#define SVG_RIGHT 24
#define SVG_TOP 34
#define SVG_ROW 28
#define SVG_LEGEND 58

static const char css[] =
        "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1b1b1b;"
        "margin:24px auto;max-width:1000px;padding:0 16px}"
        "h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}"
        "table{border-collapse:collapse;width:100%;margin:6px 0}"
        "th,td{border:1px solid #d0d0d0;padding:4px 7px;text-align:left;vertical-align:top}"
        "th{background:#f3f3f3;font-weight:600}"
        "table.summary th{width:170px}"
        "td.msg{white-space:pre-wrap;word-break:break-word}td.t{white-space:nowrap;font-size:13px}"
        ".out{font:12px ui-monospace,Menlo,Consolas,monospace;color:#444;white-space:pre-wrap;display:block;"
        "margin-top:3px;border-left:3px solid #ccc;padding-left:6px}"
        ".st{display:inline-block;padding:0 7px;border-radius:9px;border:1px solid #888}"
        ".note{color:#555;font-size:13px}"
        "svg{display:block;max-width:100%;height:auto;border:1px solid #e2e2e2;margin:8px 0}"
        "svg text{font-family:system-ui,Helvetica,Arial,sans-serif}"
        "@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}"
        "tr,svg{break-inside:avoid}}";

static void h(FILE *f, const char *s) {
        if (s && *s)
                report_html_escape(f, s);
        else
                fputs("-", f);
}

static void badge(FILE *f, const char *state) {
        fprintf(f, "<span class=\"st\" style=\"background:%s\">", report_state_color(state));
        h(f, state);
        fputs("</span>", f);
}

/* ---- the Gantt ---- */

typedef struct Scale {
        usec_t t0, t1;
        double width;
} Scale;

static double x_of(const Scale *s, usec_t t) {
        if (t <= s->t0)
                return SVG_LABEL;
        if (t >= s->t1)
                return SVG_LABEL + s->width;
        return SVG_LABEL + s->width * (double) (t - s->t0) / (double) (s->t1 - s->t0);
}

static usec_t tick_step(usec_t span) {
        static const usec_t steps[] = {
                1 * USEC_PER_SEC, 2 * USEC_PER_SEC, 5 * USEC_PER_SEC, 10 * USEC_PER_SEC, 15 * USEC_PER_SEC,
                30 * USEC_PER_SEC, USEC_PER_MINUTE, 2 * USEC_PER_MINUTE, 5 * USEC_PER_MINUTE, 10 * USEC_PER_MINUTE,
                15 * USEC_PER_MINUTE, 30 * USEC_PER_MINUTE, USEC_PER_HOUR, 2 * USEC_PER_HOUR, 6 * USEC_PER_HOUR,
                12 * USEC_PER_HOUR, USEC_PER_DAY,
        };
        for (size_t i = 0; i < ELEMENTSOF(steps); i++)
                if (span / steps[i] <= 10)
                        return steps[i];
        return span / 10 + 1;
}

static const char *outcome_color(const ReportAttempt *a) {
        return report_state_color(a->outcome ?: (a->wait_start ? "waiting" : "running"));
}

static void svg_title(FILE *f, const ReportStep *st, const char *what, const char *extra) {
        fputs("<title>", f);
        h(f, st->id);
        fputs(": ", f);
        h(f, what);
        if (extra && *extra) {
                fputs(" — ", f);
                report_html_escape(f, extra);
        }
        fputs("</title>", f);
}

static void svg_gantt(const RunReport *r, FILE *f) {
        usec_t end = r->finished ?: r->now, first = r->trigger_time ?: r->created;
        Scale sc = { .width = SVG_W - SVG_LABEL - SVG_RIGHT };
        bool deadline_in = false;
        size_t rows = MAX(r->n_steps, (size_t) 1);
        int height = SVG_TOP + (int) rows * SVG_ROW + SVG_LEGEND;
        char t[REPORT_TIME_MAX], d[FORMAT_DURATION_MAX];
        usec_t step;

        for (size_t i = 0; i < r->n_steps; i++)
                for (size_t k = 0; k < r->steps[i].n_attempts; k++) {
                        const ReportAttempt *a = r->steps[i].attempts + k;
                        if (a->start && (first == 0 || a->start < first))
                                first = a->start;
                        end = MAX(end, a->end);
                }
        for (size_t i = 0; i < r->n_events; i++)
                end = MAX(end, r->events[i].at);
        if (first == 0)
                first = end;
        /* The deadline is drawn where it is when it is near; far off to the
         * right it would squash the run into a sliver, so it is named at
         * the edge instead. */
        if (r->deadline > first && r->deadline <= end + (end - first) / 3 + 1) {
                end = MAX(end, r->deadline);
                deadline_in = true;
        }
        sc.t0 = first;
        sc.t1 = end > first ? end + (end - first) / 50 + 1 : first + USEC_PER_SEC;
        step = tick_step(sc.t1 - sc.t0);

        fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                "role=\"img\" aria-label=\"timeline of the run's step attempts\">\n", SVG_W, height, SVG_W, height);
        fputs("<defs><pattern id=\"wait\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
              "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"none\"/>"
              "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#ffffff\" stroke-width=\"3\" "
              "stroke-opacity=\"0.75\"/></pattern></defs>\n", f);
        fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", SVG_W, height);
        /* axis: time since the first event */
        for (usec_t x = 0; sc.t0 + x <= sc.t1; x += step) {
                double px = x_of(&sc, sc.t0 + x);
                fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e6e6e6\"/>"
                        "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#666\" text-anchor=\"middle\">+%s</text>\n",
                        px, SVG_TOP - 6, px, SVG_TOP + (int) rows * SVG_ROW, px, SVG_TOP - 10,
                        x == 0 ? "0" : format_duration(d, x));
        }
        fprintf(f, "<text x=\"4\" y=\"14\" font-size=\"11\" fill=\"#444\">from %s</text>\n",
                report_format_time(t, sc.t0));

        for (size_t i = 0; i < r->n_steps; i++) {
                const ReportStep *s = r->steps + i;
                int y = SVG_TOP + (int) i * SVG_ROW;

                if (i % 2 == 1)
                        fprintf(f, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\"/>\n", y, SVG_W,
                                SVG_ROW);
                fprintf(f, "<text x=\"6\" y=\"%d\" font-size=\"12\"%s>", y + 18,
                        s->critical ? " font-weight=\"bold\"" : "");
                h(f, s->id);
                fputs("</text>\n", f);
                for (size_t k = 0; k < s->n_attempts; k++) {
                        const ReportAttempt *a = s->attempts + k;
                        double x1 = x_of(&sc, a->start), x2 = x_of(&sc, a->end ?: r->finished ?: r->now);
                        char label[64];

                        if (!a->start)
                                continue;
                        fprintf(f, "<g><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\" fill=\"%s\" "
                                "stroke=\"#555\" stroke-width=\"%s\"/>", x1, y + 5, MAX(x2 - x1, 2.0), SVG_ROW - 10,
                                outcome_color(a), s->critical ? "2" : "0.6");
                        if (a->wait_start) {
                                double xw = x_of(&sc, a->wait_start);
                                fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"url(#wait)\"/>",
                                        xw, y + 5, MAX(x2 - xw, 1.0), SVG_ROW - 10);
                        }
                        snprintf(label, sizeof(label), "attempt %u: %s%s", a->attempt, a->outcome ?: "not over",
                                 a->retried ? ", retried" : "");
                        svg_title(f, s, label, a->message);
                        fputs("</g>\n", f);
                        if (x2 - x1 > 40)
                                fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#222\">#%u %s</text>\n",
                                        x1 + 4, y + 18, a->attempt, format_duration(d, report_attempt_duration(a, r->now)));
                }
        }
        /* notices, acknowledgements and acts on their step's row */
        for (size_t i = 0; i < r->n_events; i++) {
                const ReportEvent *e = r->events + i;
                const ReportStep *s = run_report_find_step(r, e->step);
                double x = x_of(&sc, e->at);
                int y;

                if (!s)
                        continue;
                y = SVG_TOP + (int) (s - r->steps) * SVG_ROW;
                fputs("<g>", f);
                if (e->kind == REPORT_ACKNOWLEDGED)
                        fprintf(f, "<path d=\"M%.1f %d l5 5 l-5 5 l-5 -5 z\" fill=\"#6a1b9a\" stroke=\"#fff\"/>", x, y + 4);
                else if (e->kind == REPORT_ACT)
                        fprintf(f, "<circle cx=\"%.1f\" cy=\"%d\" r=\"4.5\" fill=\"#111\" stroke=\"#fff\"/>", x, y + 14);
                else
                        fprintf(f, "<path d=\"M%.1f %d l-5 -7 h10 z\" fill=\"%s\" stroke=\"#fff\"/>", x, y + 12,
                                e->kind == REPORT_UNANSWERED ? "#c62828" : "#1565c0");
                fputs("<title>", f);
                h(f, e->step);
                fputs(": ", f);
                h(f, e->kind == REPORT_ACT ? e->action : report_event_kind_to_string(e->kind));
                fprintf(f, " at %s", report_format_time(t, e->at));
                if (e->actor) {
                        fputs(" by ", f);
                        report_html_escape(f, e->actor);
                }
                STRV_FOREACH(p, e->recipients) {
                        fputs(p == e->recipients ? " to " : ", ", f);
                        report_html_escape(f, *p);
                }
                fputs("</title></g>\n", f);
        }
        if (r->deadline) {
                double x = deadline_in ? x_of(&sc, r->deadline) : SVG_LABEL + sc.width;
                fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#c62828\" stroke-width=\"2\" "
                        "stroke-dasharray=\"6 4\"><title>RTO deadline %s</title></line>\n",
                        x, SVG_TOP - 4, x, SVG_TOP + (int) rows * SVG_ROW, report_format_time(t, r->deadline));
                if (deadline_in)
                        fprintf(f, "<text x=\"%.1f\" y=\"14\" font-size=\"10\" fill=\"#c62828\" text-anchor=\"middle\">"
                                "RTO deadline</text>\n", x);
                else    /* off to the right: named at the edge */
                        fprintf(f, "<text x=\"%.1f\" y=\"14\" font-size=\"10\" fill=\"#c62828\" text-anchor=\"end\">"
                                "RTO deadline later, at %s →</text>\n", x + SVG_RIGHT - 4, report_format_time(t, r->deadline));
        }
        /* legend */
        {
                int y = SVG_TOP + (int) rows * SVG_ROW + 18;
                static const struct { const char *state, *word; } l[] = {
                        { "succeeded", "succeeded" }, { "failed", "failed" }, { "running", "running" },
                        { "skipped", "skipped, cancelled" },
                };
                int x = 8;
                for (size_t i = 0; i < ELEMENTSOF(l); i++, x += 130)
                        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"11\" rx=\"2\" fill=\"%s\" stroke=\"#555\" "
                                "stroke-width=\"0.6\"/><text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n",
                                x, y, report_state_color(l[i].state), x + 21, y + 10, l[i].word);
                fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"11\" fill=\"%s\" stroke=\"#555\" stroke-width=\"0.6\"/>"
                        "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"11\" fill=\"url(#wait)\"/>"
                        "<text x=\"%d\" y=\"%d\" font-size=\"11\">waiting for a person</text>\n",
                        x, y, report_state_color("succeeded"), x, y, x + 21, y + 10);
                y += 18;
                fprintf(f, "<path d=\"M13 %d l-5 -7 h10 z\" fill=\"#1565c0\"/><text x=\"24\" y=\"%d\" font-size=\"11\">"
                        "notified, escalated</text>"
                        "<path d=\"M143 %d l5 5 l-5 5 l-5 -5 z\" fill=\"#6a1b9a\"/><text x=\"154\" y=\"%d\" font-size=\"11\">"
                        "acknowledged</text>"
                        "<circle cx=\"273\" cy=\"%d\" r=\"4.5\" fill=\"#111\"/><text x=\"284\" y=\"%d\" font-size=\"11\">"
                        "a person acted</text>"
                        "<line x1=\"403\" y1=\"%d\" x2=\"403\" y2=\"%d\" stroke=\"#c62828\" stroke-width=\"2\" "
                        "stroke-dasharray=\"4 3\"/><text x=\"410\" y=\"%d\" font-size=\"11\">RTO deadline</text>"
                        "<text x=\"530\" y=\"%d\" font-size=\"11\" font-weight=\"bold\">bold: critical path</text>\n",
                        y + 8, y + 9, y - 1, y + 9, y + 4, y + 9, y - 2, y + 10, y + 9, y + 9);
        }
        fputs("</svg>\n", f);
}

/* ---- the page ---- */

static void html_summary(const RunReport *r, FILE *f) {
        char t[REPORT_TIME_MAX], d[FORMAT_DURATION_MAX];

        fputs("<table class=\"summary\">\n<tr><th>Plan</th><td>", f);
        h(f, r->plan);
        fputs("</td></tr>\n<tr><th>Run</th><td>", f);
        h(f, r->id);
        fputs("</td></tr>\n<tr><th>Host</th><td>", f);
        h(f, r->host);
        fputs("</td></tr>\n<tr><th>Final state</th><td class=\"msg\">", f);
        badge(f, r->state);
        if (r->message) {
                fputs(" ", f);
                report_html_escape(f, r->message);
        }
        fputs("</td></tr>\n<tr><th>Trigger</th><td class=\"msg\">", f);
        h(f, r->trigger);
        if (r->reason) {
                fputs(": ", f);
                report_html_escape(f, r->reason);
        }
        fprintf(f, " (at %s)</td></tr>\n<tr><th>Trigger context</th><td>", report_format_time(t, r->trigger_time ?: r->created));
        if (!r->context)
                fputs("-", f);
        STRV_FOREACH(kv, r->context) {
                fputs(kv == r->context ? "<code>" : ", <code>", f);
                report_html_escape(f, *kv);
                fputs("</code>", f);
        }
        fprintf(f, "</td></tr>\n<tr><th>Created</th><td>%s</td></tr>\n", report_format_time(t, r->created));
        fprintf(f, "<tr><th>Finished</th><td>%s", report_format_time(t, r->finished));
        if (r->finished && r->created && r->finished >= r->created)
                fprintf(f, " (took %s)", format_duration(d, r->finished - r->created));
        fputs("</td></tr>\n<tr><th>RTO</th><td>", f);
        if (r->rto == 0 || r->deadline == 0)
                fputs("none set", f);
        else {
                fprintf(f, "%s, deadline %s; ", format_duration(d, r->rto), report_format_time(t, r->deadline));
                if (r->finished && r->finished <= r->deadline)
                        fprintf(f, "<b>met</b>, %s to spare", format_duration(d, r->deadline - r->finished));
                else if (r->finished)
                        fprintf(f, "<b>missed</b> by %s", format_duration(d, r->finished - r->deadline));
                else
                        fprintf(f, "projected finish %s", report_format_time(t, r->projected));
        }
        fputs("</td></tr>\n<tr><th>Critical path</th><td>", f);
        if (r->n_critical == 0)
                fputs("-", f);
        for (size_t i = 0; i < r->n_critical; i++) {
                fputs(i > 0 ? " → " : "", f);
                h(f, r->steps[r->critical[i]].id);
        }
        if (r->n_critical > 0)
                fprintf(f, " (%s)", format_duration(d, r->critical_usec));
        fputs("</td></tr>\n</table>\n", f);
}

static void html_timeline(const RunReport *r, FILE *f) {
        char t1[REPORT_TIME_MAX], t2[REPORT_TIME_MAX], d[FORMAT_DURATION_MAX];

        fputs("<h2>Timeline</h2>\n<table>\n<tr><th>Step</th><th>Kind</th><th>#</th><th>Start</th><th>End</th>"
              "<th>Duration</th><th>Outcome</th><th>Message</th></tr>\n", f);
        for (size_t i = 0; i < r->n_steps; i++) {
                const ReportStep *s = r->steps + i;
                if (s->n_attempts == 0) {
                        fputs("<tr><td>", f);
                        h(f, s->id);
                        fputs("</td><td>", f);
                        h(f, s->kind);
                        fputs("</td><td>-</td><td>-</td><td>-</td><td>-</td><td>", f);
                        badge(f, s->state);
                        fputs(" never started</td><td class=\"msg\">", f);
                        h(f, s->message);
                        fputs("</td></tr>\n", f);
                }
                for (size_t k = 0; k < s->n_attempts; k++) {
                        const ReportAttempt *a = s->attempts + k;
                        fputs("<tr><td class=\"t\">", f);
                        if (s->critical)
                                fputs("<b>", f);
                        h(f, s->id);
                        if (s->critical)
                                fputs("</b>", f);
                        fputs("</td><td>", f);
                        h(f, s->kind);
                        fprintf(f, "</td><td>%u</td><td class=\"t\">%s</td><td class=\"t\">%s</td><td>%s%s", a->attempt,
                                report_format_time(t1, a->start), report_format_time(t2, a->end),
                                format_duration(d, report_attempt_duration(a, r->now)), a->end ? "" : " so far");
                        if (a->wait_start) {
                                char w[FORMAT_DURATION_MAX];
                                usec_t until = a->end ?: r->now;
                                fprintf(f, "<br><span class=\"note\">waited %s for a person</span>",
                                        format_duration(w, until > a->wait_start ? until - a->wait_start : 0));
                        }
                        fputs("</td><td>", f);
                        badge(f, a->outcome ?: "running");
                        if (a->retried)
                                fputs(" retried", f);
                        if (a->actor) {
                                fputs(" by ", f);
                                report_html_escape(f, a->actor);
                        }
                        fputs("</td><td class=\"msg\">", f);
                        h(f, a->message);
                        if (a->comment) {
                                fputs("<br><i>comment:</i> ", f);
                                report_html_escape(f, a->comment);
                        }
                        if (a->output) {
                                fputs("<span class=\"out\">", f);
                                STRV_FOREACH(l, a->output) {
                                        report_html_escape(f, *l);
                                        fputs("\n", f);
                                }
                                fputs("</span>", f);
                        }
                        fputs("</td></tr>\n", f);
                }
        }
        fputs("</table>\n", f);
}

static void html_people(const RunReport *r, FILE *f) {
        char t[REPORT_TIME_MAX];

        fputs("<h2>People</h2>\n", f);
        if (r->n_events == 0) {
                fputs("<p>Nobody was needed.</p>\n", f);
                return;
        }
        fputs("<table>\n<tr><th>Time</th><th>Step</th><th>Event</th><th>Level, round</th><th>Who</th><th>Via</th>"
              "<th>Comment</th></tr>\n", f);
        for (size_t i = 0; i < r->n_events; i++) {
                const ReportEvent *e = r->events + i;
                fprintf(f, "<tr><td class=\"t\">%s</td><td>", report_format_time(t, e->at));
                h(f, e->step);
                fputs("</td><td>", f);
                h(f, e->kind == REPORT_ACT ? e->action : report_event_kind_to_string(e->kind));
                fputs("</td><td>", f);
                if (e->kind == REPORT_ACT || e->kind == REPORT_ACKNOWLEDGED)
                        fputs("-", f);
                else
                        fprintf(f, "%u, %u", e->level, e->round);
                fputs("</td><td>", f);
                if (e->recipients)
                        STRV_FOREACH(p, e->recipients) {
                                fputs(p == e->recipients ? "" : ", ", f);
                                report_html_escape(f, *p);
                        }
                else
                        h(f, e->actor);
                fputs("</td><td>", f);
                h(f, e->via);
                fputs("</td><td class=\"msg\">", f);
                h(f, e->comment);
                fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
}

static void html_rto_holds(const RunReport *r, FILE *f) {
        char t[REPORT_TIME_MAX], p[REPORT_TIME_MAX];

        fputs("<h2>Recovery time objective</h2>\n<ul>\n", f);
        if (r->rto == 0 || r->deadline == 0)
                fputs("<li>The plan sets no RTO.</li>\n", f);
        else {
                char d[FORMAT_DURATION_MAX];
                fprintf(f, "<li>Objective %s, deadline %s</li>\n", format_duration(d, r->rto),
                        report_format_time(t, r->deadline));
                if (r->finished && r->finished <= r->deadline)
                        fprintf(f, "<li>Actual finish %s: <b>met</b>, %s to spare</li>\n",
                                report_format_time(t, r->finished), format_duration(d, r->deadline - r->finished));
                else if (r->finished)
                        fprintf(f, "<li>Actual finish %s: <b>missed</b> by %s</li>\n",
                                report_format_time(t, r->finished), format_duration(d, r->finished - r->deadline));
                else
                        fprintf(f, "<li>Projected finish %s (the run is not over)</li>\n",
                                report_format_time(t, r->projected));
                fputs("<li>State: ", f);
                h(f, r->rto_state);
                fputs("</li>\n", f);
        }
        if (r->n_rto_events == 0)
                fputs("<li>No RTO warning was announced.</li>\n", f);
        for (size_t i = 0; i < r->n_rto_events; i++) {
                fputs("<li>", f);
                h(f, r->rto_events[i].state);
                fprintf(f, " announced at %s", report_format_time(t, r->rto_events[i].at));
                if (r->rto_events[i].projected)
                        fprintf(f, " (projected finish %s)", report_format_time(p, r->rto_events[i].projected));
                fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);

        fputs("<h2>Holds</h2>\n", f);
        if (r->n_holds == 0) {
                fputs("<p>The run held no unit.</p>\n", f);
                return;
        }
        fputs("<table>\n<tr><th>Unit</th><th>Released</th><th>How</th><th>Comment</th></tr>\n", f);
        for (size_t i = 0; i < r->n_holds; i++) {
                const ReportHold *x = r->holds + i;
                fputs("<tr><td>", f);
                h(f, x->unit);
                fprintf(f, "</td><td>%s</td><td>", report_format_time(t, x->released));
                h(f, x->how);
                fputs("</td><td class=\"msg\">", f);
                h(f, x->comment);
                fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
}

int run_report_write_html(const RunReport *r, FILE *f) {
        char t[REPORT_TIME_MAX];

        fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<title>Post-incident report: run ", f);
        h(f, r->id);
        fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Post-incident report: run ", css);
        h(f, r->id);
        fputs("</h1>\n", f);
        html_summary(r, f);
        fputs("<h2>Steps over time</h2>\n", f);
        svg_gantt(r, f);
        fprintf(f, "<p class=\"note\">Times are UTC. Report made %s by salvectl.", report_format_time(t, r->now));
        if (!r->complete)
                fputs(" The run's history was cut to its state (it passed salved's record limit): earlier attempts "
                      "and notices may be missing.", f);
        fputs("</p>\n", f);
        html_timeline(r, f);
        html_people(r, f);
        html_rto_holds(r, f);
        fputs("</body>\n</html>\n", f);
        return ferror(f) ? -EIO : 0;
}
