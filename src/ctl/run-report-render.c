/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The report as markdown and as JSON (the object salvectl(1) documents,
 * "REPORT JSON"; report_version 1: fields are added, never changed).
 * Markdown escapes every untrusted string so it stays text in one table
 * cell: \ ` * _ [ ] # ! | ~ backslashed (no emphasis, code, link, image
 * or cell break can start), <, > and & as entities (no HTML), newlines
 * as <br>. */

#include <json-c/json.h>
#include <string.h>

#include "run-report.h"
#include "strv.h"

void report_html_escape(FILE *f, const char *s) {
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char) *s;
                switch (ch) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&#39;", f); break;
                case '\n': case '\t': fputc(ch, f); break;
                default:
                        fputc(ch < 0x20 || ch == 0x7f ? ' ' : ch, f);
                }
        }
}

void report_markdown_escape(FILE *f, const char *s) {
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char) *s;
                if (strchr("\\`*_[]#!|~", ch))
                        fprintf(f, "\\%c", ch);
                else if (ch == '&')
                        fputs("&amp;", f);
                else if (ch == '<')
                        fputs("&lt;", f);
                else if (ch == '>')
                        fputs("&gt;", f);
                else if (ch == '\n')
                        fputs("<br>", f);
                else if (ch < 0x20 || ch == 0x7f)
                        fputc(' ', f);
                else
                        fputc(ch, f);
        }
}

static void md(FILE *f, const char *s) {
        if (s && *s)
                report_markdown_escape(f, s);
        else
                fputs("-", f);
}

static char *dur(char buf[static FORMAT_DURATION_MAX], usec_t a, usec_t b) {
        if (a == 0 || b == 0 || b < a)
                return strcpy(buf, "-");
        return format_duration(buf, b - a);
}

static void md_attempt_row(const ReportStep *s, const ReportAttempt *a, usec_t now, FILE *f) {
        char t1[REPORT_TIME_MAX], t2[REPORT_TIME_MAX], d[FORMAT_DURATION_MAX], w[FORMAT_DURATION_MAX];

        fputs("| ", f);
        md(f, s->id);
        fputs(" | ", f);
        md(f, s->kind);
        fprintf(f, " | %u | %s | %s | %s", a->attempt, report_format_time(t1, a->start),
                report_format_time(t2, a->end), a->end ? dur(d, a->start, a->end) : "-");
        if (!a->end && a->start)
                fprintf(f, " (%s so far)", format_duration(d, report_attempt_duration(a, now)));
        if (a->wait_start && (a->end ?: now) > a->wait_start)
                fprintf(f, ", waited %s for a person", format_duration(w, (a->end ?: now) - a->wait_start));
        fputs(" | ", f);
        md(f, a->outcome ?: "(not over)");
        if (a->retried)
                fputs(", retried", f);
        if (a->actor) {
                fputs(" by ", f);
                md(f, a->actor);
        }
        fputs(" | ", f);
        md(f, a->message);
        if (a->comment) {
                fputs(" (comment: ", f);
                md(f, a->comment);
                fputs(")", f);
        }
        STRV_FOREACH(l, a->output) {
                fputs("<br>output: ", f);
                md(f, *l);
        }
        fputs(" |\n", f);
}

static const char *event_words(const ReportEvent *e) {
        return e->kind == REPORT_ACT ? e->action : report_event_kind_to_string(e->kind);
}

static void md_summary(const RunReport *r, FILE *f) {
        char t[REPORT_TIME_MAX], d[FORMAT_DURATION_MAX];

        fputs("# Post-incident report: run ", f);
        md(f, r->id);
        fputs("\n\n| | |\n|---|---|\n| Plan | ", f);
        md(f, r->plan);
        fputs(" |\n| Run | ", f);
        md(f, r->id);
        fputs(" |\n| Host | ", f);
        md(f, r->host);
        fputs(" |\n| Final state | **", f);
        md(f, r->state);
        fputs("**", f);
        if (r->message) {
                fputs(": ", f);
                md(f, r->message);
        }
        fputs(" |\n| Trigger | ", f);
        md(f, r->trigger);
        if (r->reason) {
                fputs(": ", f);
                md(f, r->reason);
        }
        fprintf(f, " (at %s) |\n| Trigger context | ", report_format_time(t, r->trigger_time ?: r->created));
        if (!r->context)
                fputs("-", f);
        STRV_FOREACH(kv, r->context) {
                fputs(kv == r->context ? "" : ", ", f);
                md(f, *kv);
        }
        fprintf(f, " |\n| Created | %s |\n", report_format_time(t, r->created));
        fprintf(f, "| Finished | %s", report_format_time(t, r->finished));
        if (r->finished)
                fprintf(f, " (took %s)", dur(d, r->created, r->finished));
        fputs(" |\n| Critical path | ", f);
        if (r->n_critical == 0)
                fputs("-", f);
        for (size_t i = 0; i < r->n_critical; i++) {
                fputs(i > 0 ? " → " : "", f);
                md(f, r->steps[r->critical[i]].id);
        }
        if (r->n_critical > 0)
                fprintf(f, " (%s)", format_duration(d, r->critical_usec));
        fputs(" |\n\nTimes are UTC.", f);
        if (!r->complete)
                fputs(" The run's history was cut to its state (it passed salved's record limit), so earlier "
                      "attempts and notices may be missing.", f);
        fputs("\n", f);
}

static void md_rto(const RunReport *r, FILE *f) {
        char t[REPORT_TIME_MAX], d[FORMAT_DURATION_MAX];

        fputs("\n## Recovery time objective\n\n", f);
        if (r->rto == 0 || r->deadline == 0) {
                fputs("The plan sets no RTO.\n", f);
                return;
        }
        fprintf(f, "- Objective: %s, deadline %s\n", format_duration(d, r->rto), report_format_time(t, r->deadline));
        if (r->finished) {
                fprintf(f, "- Actual finish: %s: ", report_format_time(t, r->finished));
                if (r->finished <= r->deadline)
                        fprintf(f, "met, %s to spare\n", format_duration(d, r->deadline - r->finished));
                else
                        fprintf(f, "missed by %s\n", format_duration(d, r->finished - r->deadline));
        } else
                fprintf(f, "- Projected finish: %s (the run is not over)\n", report_format_time(t, r->projected));
        fputs("- State: ", f);
        md(f, r->rto_state);
        fputs("\n", f);
        for (size_t i = 0; i < r->n_rto_events; i++) {
                char p[REPORT_TIME_MAX];
                fputs("- ", f);
                md(f, r->rto_events[i].state);
                fprintf(f, " announced at %s", report_format_time(t, r->rto_events[i].at));
                if (r->rto_events[i].projected)
                        fprintf(f, " (projected finish %s)", report_format_time(p, r->rto_events[i].projected));
                fputs("\n", f);
        }
}

int run_report_write_markdown(const RunReport *r, FILE *f) {
        char t[REPORT_TIME_MAX];

        md_summary(r, f);

        fputs("\n## Timeline\n\nEvery attempt of every step, in the plan's order.\n\n"
              "| Step | Kind | Attempt | Start | End | Duration | Outcome | Message |\n"
              "|---|---|---|---|---|---|---|---|\n", f);
        for (size_t i = 0; i < r->n_steps; i++) {
                const ReportStep *s = r->steps + i;
                if (s->n_attempts == 0) {
                        fputs("| ", f);
                        md(f, s->id);
                        fputs(" | ", f);
                        md(f, s->kind);
                        fputs(" | - | - | - | - | ", f);
                        md(f, s->state);
                        fputs(" (never started) | ", f);
                        md(f, s->message);
                        fputs(" |\n", f);
                }
                for (size_t k = 0; k < s->n_attempts; k++)
                        md_attempt_row(s, s->attempts + k, r->now, f);
        }

        fputs("\n## People\n\nWho was told, who acknowledged and who acted, and when.\n\n", f);
        if (r->n_events == 0)
                fputs("Nobody was needed.\n", f);
        else
                fputs("| Time | Step | Event | Level, round | Who | Via | Comment |\n|---|---|---|---|---|---|---|\n", f);
        for (size_t i = 0; i < r->n_events; i++) {
                const ReportEvent *e = r->events + i;
                fprintf(f, "| %s | ", report_format_time(t, e->at));
                md(f, e->step);
                fputs(" | ", f);
                md(f, event_words(e));
                fputs(" | ", f);
                if (e->kind == REPORT_ACT || e->kind == REPORT_ACKNOWLEDGED)
                        fputs("-", f);
                else
                        fprintf(f, "%u, %u", e->level, e->round);
                fputs(" | ", f);
                if (e->recipients)
                        STRV_FOREACH(p, e->recipients) {
                                fputs(p == e->recipients ? "" : ", ", f);
                                md(f, *p);
                        }
                else
                        md(f, e->actor);
                fputs(" | ", f);
                md(f, e->via);
                fputs(" | ", f);
                md(f, e->comment);
                fputs(" |\n", f);
        }

        md_rto(r, f);

        fputs("\n## Holds\n\n", f);
        if (r->n_holds == 0)
                fputs("The run held no unit.\n", f);
        else
                fputs("| Unit | Released | How | Comment |\n|---|---|---|---|\n", f);
        for (size_t i = 0; i < r->n_holds; i++) {
                const ReportHold *h = r->holds + i;
                fputs("| ", f);
                md(f, h->unit);
                fprintf(f, " | %s | ", report_format_time(t, h->released));
                md(f, h->how);
                fputs(" | ", f);
                md(f, h->comment);
                fputs(" |\n", f);
        }
        return ferror(f) ? -EIO : 0;
}

/* ---- JSON ---- */

static json_object *jusec_or_null(usec_t u) {
        return u > 0 ? json_object_new_int64((int64_t) MIN(u, (usec_t) INT64_MAX)) : NULL;
}

static json_object *jstring(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *jstrv(char *const *l) {
        json_object *a = json_object_new_array();
        STRV_FOREACH(x, l)
                json_object_array_add(a, json_object_new_string(*x));
        return a;
}

static json_object *attempt_to_json(const ReportAttempt *a, usec_t now) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "attempt", json_object_new_int((int) a->attempt));
        json_object_object_add(o, "start_usec", jusec_or_null(a->start));
        json_object_object_add(o, "end_usec", jusec_or_null(a->end));
        json_object_object_add(o, "duration_usec", json_object_new_int64((int64_t) report_attempt_duration(a, now)));
        json_object_object_add(o, "wait_start_usec", jusec_or_null(a->wait_start));
        json_object_object_add(o, "outcome", jstring(a->outcome));
        json_object_object_add(o, "retried", json_object_new_boolean(a->retried));
        json_object_object_add(o, "message", jstring(a->message));
        json_object_object_add(o, "actor", jstring(a->actor));
        json_object_object_add(o, "comment", jstring(a->comment));
        json_object_object_add(o, "output", jstrv(a->output));
        return o;
}

static json_object *step_to_json(const ReportStep *s, usec_t now) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();

        json_object_object_add(o, "id", jstring(s->id));
        json_object_object_add(o, "kind", jstring(s->kind));
        json_object_object_add(o, "human", json_object_new_boolean(s->human));
        json_object_object_add(o, "state", jstring(s->state));
        json_object_object_add(o, "needs", jstrv(s->needs));
        json_object_object_add(o, "owner", jstring(s->owner));
        json_object_object_add(o, "attempts_allowed", json_object_new_int((int) s->attempts_allowed));
        json_object_object_add(o, "message", jstring(s->message));
        json_object_object_add(o, "actor", jstring(s->actor));
        json_object_object_add(o, "via", jstring(s->via));
        json_object_object_add(o, "estimate_usec", jusec_or_null(s->estimate));
        json_object_object_add(o, "duration_usec", json_object_new_int64((int64_t) s->duration));
        json_object_object_add(o, "duration_basis", json_object_new_string(report_basis_to_string(s->basis)));
        json_object_object_add(o, "critical", json_object_new_boolean(s->critical));
        if (s->acked_at) {
                json_object *k = json_object_new_object();
                json_object_object_add(k, "by", jstring(s->acked_by));
                json_object_object_add(k, "via", jstring(s->acked_via));
                json_object_object_add(k, "at_usec", jusec_or_null(s->acked_at));
                json_object_object_add(o, "acknowledged", k);
        } else
                json_object_object_add(o, "acknowledged", NULL);
        for (size_t i = 0; i < s->n_attempts; i++)
                json_object_array_add(a, attempt_to_json(s->attempts + i, now));
        json_object_object_add(o, "attempts", a);
        return o;
}

json_object *run_report_to_json(const RunReport *r) {
        json_object *o = json_object_new_object(), *trigger = json_object_new_object(), *ctx = json_object_new_object(),
                    *rto = json_object_new_object(), *ev = json_object_new_array(), *steps = json_object_new_array(),
                    *people = json_object_new_array(), *holds = json_object_new_array(),
                    *crit = json_object_new_object(), *cs = json_object_new_array();

        json_object_object_add(o, "report_version", json_object_new_int(1));
        json_object_object_add(o, "run", jstring(r->id));
        json_object_object_add(o, "plan", jstring(r->plan));
        json_object_object_add(o, "host", jstring(r->host));
        json_object_object_add(o, "state", jstring(r->state));
        json_object_object_add(o, "message", jstring(r->message));
        json_object_object_add(o, "complete", json_object_new_boolean(r->complete));
        json_object_object_add(o, "generated_usec", jusec_or_null(r->now));
        json_object_object_add(o, "created_usec", jusec_or_null(r->created));
        json_object_object_add(o, "finished_usec", jusec_or_null(r->finished));

        json_object_object_add(trigger, "kind", jstring(r->trigger));
        json_object_object_add(trigger, "reason", jstring(r->reason));
        json_object_object_add(trigger, "time_usec", jusec_or_null(r->trigger_time));
        STRV_FOREACH(kv, r->context) {
                const char *eq = strchr(*kv, '=');
                _cleanup_free_ char *k = eq ? strndup(*kv, (size_t) (eq - *kv)) : NULL;
                if (k)
                        json_object_object_add(ctx, k, json_object_new_string(eq + 1));
        }
        json_object_object_add(trigger, "context", ctx);
        json_object_object_add(o, "trigger", trigger);

        json_object_object_add(rto, "objective_usec", jusec_or_null(r->rto));
        json_object_object_add(rto, "deadline_usec", jusec_or_null(r->deadline));
        json_object_object_add(rto, "projected_finish_usec", jusec_or_null(r->projected));
        json_object_object_add(rto, "actual_finish_usec", jusec_or_null(r->finished));
        json_object_object_add(rto, "state", jstring(r->rto_state));
        json_object_object_add(rto, "met", r->deadline && r->finished ? json_object_new_boolean(r->finished <= r->deadline)
                                                                      : NULL);
        for (size_t i = 0; i < r->n_rto_events; i++) {
                json_object *e = json_object_new_object();
                json_object_object_add(e, "at_usec", jusec_or_null(r->rto_events[i].at));
                json_object_object_add(e, "state", jstring(r->rto_events[i].state));
                json_object_object_add(e, "projected_finish_usec", jusec_or_null(r->rto_events[i].projected));
                json_object_array_add(ev, e);
        }
        json_object_object_add(rto, "announced", ev);
        json_object_object_add(o, "rto", rto);

        for (size_t i = 0; i < r->n_critical; i++)
                json_object_array_add(cs, json_object_new_string(r->steps[r->critical[i]].id));
        json_object_object_add(crit, "steps", cs);
        json_object_object_add(crit, "duration_usec", json_object_new_int64((int64_t) r->critical_usec));
        json_object_object_add(o, "critical_path", crit);

        for (size_t i = 0; i < r->n_steps; i++)
                json_object_array_add(steps, step_to_json(r->steps + i, r->now));
        json_object_object_add(o, "steps", steps);

        for (size_t i = 0; i < r->n_events; i++) {
                const ReportEvent *e = r->events + i;
                json_object *p = json_object_new_object();
                json_object_object_add(p, "at_usec", jusec_or_null(e->at));
                json_object_object_add(p, "step", jstring(e->step));
                json_object_object_add(p, "event", json_object_new_string(report_event_kind_to_string(e->kind)));
                json_object_object_add(p, "action", jstring(e->action));
                json_object_object_add(p, "attempt", json_object_new_int((int) e->attempt));
                json_object_object_add(p, "level", e->kind == REPORT_ACT ? NULL : json_object_new_int((int) e->level));
                json_object_object_add(p, "round", e->kind == REPORT_ACT ? NULL : json_object_new_int((int) e->round));
                json_object_object_add(p, "recipients", jstrv(e->recipients));
                json_object_object_add(p, "actor", jstring(e->actor));
                json_object_object_add(p, "via", jstring(e->via));
                json_object_object_add(p, "comment", jstring(e->comment));
                json_object_array_add(people, p);
        }
        json_object_object_add(o, "people", people);

        for (size_t i = 0; i < r->n_holds; i++) {
                const ReportHold *h = r->holds + i;
                json_object *x = json_object_new_object();
                json_object_object_add(x, "unit", jstring(h->unit));
                json_object_object_add(x, "held", json_object_new_boolean(h->held));
                json_object_object_add(x, "released_usec", jusec_or_null(h->released));
                json_object_object_add(x, "how", jstring(h->how));
                json_object_object_add(x, "actor", jstring(h->actor));
                json_object_object_add(x, "comment", jstring(h->comment));
                json_object_array_add(holds, x);
        }
        json_object_object_add(o, "holds", holds);
        return o;
}

int run_report_write_json(const RunReport *r, FILE *f) {
        json_object *o = run_report_to_json(r);

        if (!o)
                return -ENOMEM;
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE), f);
        fputc('\n', f);
        json_object_put(o);
        return ferror(f) ? -EIO : 0;
}
