/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A text dump of what a run store holds, one line per fact, every time in
 * µs as stored. Included by gen-journal.c (built against the release that
 * writes a fixture) and by tests/unit/test-journal-compat.c (this
 * release), so the .expected file the generator writes is the exact text
 * this release must rebuild from the fixture. It only reads fields that
 * every release since 0.1.0 has in its Run and RunStore. */

#include <inttypes.h>
#include <stdio.h>

#include "run-store.h"
#include "run.h"

static inline const char *dump_str(const char *s) {
        return s ?: "(null)";
}

static inline void dump_strv(FILE *f, char **l) {
        fputc('[', f);
        for (size_t i = 0; l && l[i]; i++)
                fprintf(f, "%s%s", i > 0 ? "," : "", l[i]);
        fputc(']', f);
}

static inline void dump_run(FILE *f, const RunStore *s, const Run *r) {
        fprintf(f, "run %s plan=%s path=%s state=%s\n", r->id, dump_str(r->plan->name), dump_str(r->plan->path),
                run_store_state_string(s, r));
        fprintf(f, "  trigger=%s reason=%s trigger_time=%" PRIu64 " created=%" PRIu64 " instance=%s context=",
                dump_str(r->trigger), dump_str(r->reason), (uint64_t) r->trigger_time, (uint64_t) r->created,
                dump_str(r->instance));
        dump_strv(f, r->trigger_context);
        fputc('\n', f);
        if (r->finished != 0)
                fprintf(f, "  finished=%" PRIu64 " final=%s message=%s\n", (uint64_t) r->finished,
                        run_state_to_string(r->final_state), dump_str(r->final_message));
        fprintf(f, "  rto=%s projected=%" PRIu64 " rto_at=%" PRIu64 "\n", rto_state_to_string(r->rto_state),
                (uint64_t) r->projected, (uint64_t) r->rto_at);
        for (size_t i = 0; i < r->n_releases; i++)
                fprintf(f, "  released %s at=%" PRIu64 " actor=%s comment=%s\n", r->releases[i].unit,
                        (uint64_t) r->releases[i].at, dump_str(r->releases[i].actor),
                        dump_str(r->releases[i].comment));
        for (size_t i = 0; i < r->plan->n_steps; i++) {
                const StepRun *x = r->steps + i;
                const HumanState *h = &x->human;

                fprintf(f, "  step %s state=%s attempt=%u started=%" PRIu64 " finished=%" PRIu64
                        " not_before=%" PRIu64 " message=%s actor=%s comment=%s\n",
                        r->plan->steps[i].id, step_state_to_string(x->state), x->attempt, (uint64_t) x->started,
                        (uint64_t) x->finished, (uint64_t) x->not_before, dump_str(x->message), dump_str(x->actor),
                        dump_str(x->comment));
                if (h->attempt == 0)
                        continue;
                fprintf(f, "    human attempt=%u\n", h->attempt);
                for (size_t n = 0; n < h->n_notices; n++) {
                        fprintf(f, "    notified level=%u round=%u at=%" PRIu64 " to=", h->notices[n].level,
                                h->notices[n].round, (uint64_t) h->notices[n].at);
                        dump_strv(f, h->notices[n].recipients);
                        fputc('\n', f);
                }
                if (h->acked_at != 0)
                        fprintf(f, "    acknowledged at=%" PRIu64 " by=%s via=%s comment=%s\n", (uint64_t) h->acked_at,
                                dump_str(h->acked_by), dump_str(h->acked_via), dump_str(h->ack_comment));
                if (h->n_reminders > 0)
                        fprintf(f, "    reminded n=%u at=%" PRIu64 "\n", h->n_reminders, (uint64_t) h->reminded_at);
                if (h->unanswered_at != 0) {
                        fprintf(f, "    unanswered at=%" PRIu64 " told=", (uint64_t) h->unanswered_at);
                        dump_strv(f, h->unanswered_told);
                        fputc('\n', f);
                }
        }
}

static inline void dump_store(FILE *f, const RunStore *s) {
        fprintf(f, "runs=%zu next_seq=%" PRIu64 "\n", s->n_runs, s->next_seq);
        for (size_t i = 0; i < s->n_runs; i++)
                dump_run(f, s, s->runs[i]);
}
