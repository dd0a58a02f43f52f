/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A run's step graph as Graphviz DOT: one box per step filled by its
 * state, the needs as edges, the critical path bold (pen width 3), each
 * on-failure handler dashed with a dashed edge from the step it handles,
 * and a legend. A person's step has a double border. Labels are quoted strings: every character that means something
 * inside one is escaped, and control characters are dropped. */

#include <string.h>

#include "run-report.h"
#include "strv.h"

void report_dot_escape(FILE *f, const char *s) {
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char) *s;
                if (ch == '"' || ch == '\\')
                        fprintf(f, "\\%c", ch);
                else if (ch == '\n')
                        fputs("\\n", f);
                else if (ch < 0x20 || ch == 0x7f)
                        fputc(' ', f);
                else
                        fputc(ch, f);
        }
}

/* At most n characters (bytes, cut before a UTF-8 continuation), one line. */
static void dot_short(FILE *f, const char *s, size_t n) {
        _cleanup_free_ char *t = NULL;
        size_t len;

        if (!s)
                return;
        len = strcspn(s, "\n");
        if (len > n) {
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                        n--;
                len = n;
        }
        t = strndup(s, len);
        if (!t)
                return;
        report_dot_escape(f, t);
        if (len < strlen(s))
                fputs("…", f);
}

static const struct { const char *state, *word; } legend[] = {
        { "succeeded", "succeeded" },
        { "failed", "failed, interrupted" },
        { "running", "running, waiting" },
        { "pending", "pending, skipped, cancelled" },
};

static void write_node(const RunReport *r, const ReportStep *s, FILE *f) {
        char d[FORMAT_DURATION_MAX];

        fputs("  \"", f);
        report_dot_escape(f, s->id);
        fputs("\" [label=\"", f);
        report_dot_escape(f, s->id);
        fputs("\\n", f);
        report_dot_escape(f, s->kind);
        fprintf(f, " · %s", s->state ? "" : "?");
        report_dot_escape(f, s->state);
        if (s->basis == REPORT_BASIS_ACTUAL)
                fprintf(f, "\\n%s", format_duration(d, s->duration));
        else if (s->basis != REPORT_BASIS_NONE)
                fprintf(f, "\\n%s (%s)", format_duration(d, s->duration), report_basis_to_string(s->basis));
        if (s->attempt > 0)
                fprintf(f, "\\nattempt %u of %u", s->attempt, MAX(s->attempts_allowed, 1u));
        if (s->human && s->actor) {
                fputs("\\nby ", f);
                dot_short(f, s->actor, 40);
                if (s->via) {
                        fputs(" via ", f);
                        dot_short(f, s->via, 20);
                }
        }
        if (s->human && s->acked_by) {
                fputs("\\nack ", f);
                dot_short(f, s->acked_by, 40);
                if (s->acked_via) {
                        fputs(" via ", f);
                        dot_short(f, s->acked_via, 20);
                }
        }
        fprintf(f, "\", fillcolor=\"%s\"", report_state_color(s->state));
        if (s->critical)
                fputs(", penwidth=3, style=\"rounded,filled,bold\"", f);
        else if (s->handler)
                fputs(", style=\"rounded,filled,dashed\"", f);
        if (s->human)
                fputs(", peripheries=2", f);
        fputs("];\n", f);
}

int run_report_write_dot(const RunReport *r, FILE *f) {
        char d[FORMAT_DURATION_MAX];

        fputs("digraph \"", f);
        report_dot_escape(f, r->id);
        fputs("\" {\n  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, labelloc=t, label=\"run ", f);
        report_dot_escape(f, r->id);
        fputs(" (plan ", f);
        report_dot_escape(f, r->plan);
        fputs("): ", f);
        report_dot_escape(f, r->state);
        if (r->n_critical > 0) {
                fputs("\\ncritical path: ", f);
                for (size_t i = 0; i < r->n_critical; i++) {
                        fputs(i > 0 ? " → " : "", f);
                        report_dot_escape(f, r->steps[r->critical[i]].id);
                }
                fprintf(f, " (%s)", format_duration(d, r->critical_usec));
        }
        fputs("\"];\n"
              "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, penwidth=1];\n"
              "  edge [color=\"#555555\", fontname=\"Helvetica\", fontsize=9];\n", f);
        for (size_t i = 0; i < r->n_steps; i++)
                write_node(r, r->steps + i, f);
        for (size_t i = 0; i < r->n_steps; i++) {
                const ReportStep *s = r->steps + i;
                STRV_FOREACH(n, s->needs) {
                        const ReportStep *from = run_report_find_step(r, *n);
                        if (!from)
                                continue;
                        fputs("  \"", f);
                        report_dot_escape(f, from->id);
                        fputs("\" -> \"", f);
                        report_dot_escape(f, s->id);
                        fputs("\"", f);
                        if (from->critical && s->critical)
                                fputs(" [penwidth=3, style=bold, color=\"#000000\"]", f);
                        fputs(";\n", f);
                }
        }
        /* on-failure handlers: from the step each handles, as salvectl graph PLAN draws them */
        for (size_t i = 0; i < r->n_steps; i++) {
                const ReportStep *s = r->steps + i, *h = s->handled_by ? run_report_find_step(r, s->handled_by) : NULL;
                if (!h)
                        continue;
                fputs("  \"", f);
                report_dot_escape(f, s->id);
                fputs("\" -> \"", f);
                report_dot_escape(f, h->id);
                fputs("\" [style=dashed, label=\"on failure\"];\n", f);
        }
        /* the legend: one table, kept out of the steps' ranks */
        fputs("  \"legend:table\" [shape=plaintext, style=solid, fontsize=9, label=<<table border=\"0\" cellborder=\"1\" "
              "cellspacing=\"3\" cellpadding=\"3\"><tr><td border=\"0\"><b>legend</b></td></tr>", f);
        for (size_t i = 0; i < ELEMENTSOF(legend); i++)
                fprintf(f, "<tr><td bgcolor=\"%s\">%s</td></tr>", report_state_color(legend[i].state), legend[i].word);
        fputs("<tr><td border=\"3\" bgcolor=\"#ffffff\">critical path (bold)</td></tr>"
              "<tr><td bgcolor=\"#ffffff\">double border: a person's step</td></tr>"
              "<tr><td style=\"dashed\" bgcolor=\"#ffffff\">dashed: an on-failure handler</td></tr></table>>];\n}\n", f);
        return ferror(f) ? -EIO : 0;
}
