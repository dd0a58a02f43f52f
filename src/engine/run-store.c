/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "run-journal.h"
#include "run-store.h"

RunStore *run_store_free(RunStore *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_runs; i++)
                run_free(s->runs[i]);
        free(s->runs);
        journal_file_free(s->journal);
        journal_recovery_done(&s->recovery);
        free(s);
        return NULL;
}

Run *run_store_find(const RunStore *s, const char *id) {
        for (size_t i = 0; i < s->n_runs; i++)
                if (streq(s->runs[i]->id, id))
                        return s->runs[i];
        return NULL;
}

static bool same_series(const Run *r, const char *plan, const char *instance) {
        return streq(r->plan->name, plan) && streq(r->instance ?: "", instance ?: "");
}

Run *run_store_active_for_plan(const RunStore *s, const char *plan) {
        for (size_t i = 0; i < s->n_runs; i++)
                if (!run_is_finished(s->runs[i]) && streq(s->runs[i]->plan->name, plan))
                        return s->runs[i];
        return NULL;
}

Run *run_store_join_target(const RunStore *s, const char *plan, const char *instance, Concurrency concurrency) {
        Run *active = NULL, *last = NULL;
        size_t n = 0;

        for (size_t i = 0; i < s->n_runs; i++)
                if (!run_is_finished(s->runs[i]) && same_series(s->runs[i], plan, instance)) {
                        if (!active)
                                active = s->runs[i];
                        last = s->runs[i];
                        n++;
                }
        if (!active)
                return NULL;
        if (concurrency == CONCURRENCY_JOIN)
                return active;
        return n > 1 ? last : NULL;
}

bool run_store_is_queued(const RunStore *s, const Run *r) {
        if (run_is_finished(r))
                return false;
        for (size_t i = 0; i < s->n_runs && s->runs[i] != r; i++)
                if (!run_is_finished(s->runs[i]) && same_series(s->runs[i], r->plan->name, r->instance))
                        return true;
        return false;
}

const char *run_store_state_string(const RunStore *s, const Run *r) {
        return run_store_is_queued(s, r) ? "queued" : run_state_to_string(run_state(r));
}

static uint64_t run_id_seq(const char *id) {
        const char *dash = strrchr(id, '-');
        char *end;
        unsigned long long n;

        if (!dash)
                return 0;
        errno = 0;
        n = strtoull(dash + 1, &end, 10);
        return errno == 0 && *end == 0 ? n : 0;
}

int run_store_new_id(RunStore *s, const char *plan, char **ret) {
        if (asprintf(ret, "%s-%" PRIu64, plan, s->next_seq) < 0)
                return -ENOMEM;
        return 0;
}

static void history_drop(RunStore *s, Run *run) {
        s->history_bytes -= MIN(s->history_bytes, run->history_bytes);
        for (size_t i = 0; i < run->n_history; i++)
                free(run->history[i]);
        run->history = mfree(run->history);
        run->history_size = mfree(run->history_size);
        run->n_history = run->history_bytes = 0;
        run->history_cut = true;
}

/* Keeps the record as written. Out of memory or past the limits the
 * history is dropped, not the transition: compaction then writes the
 * run's state, as it would for a journal without its history. */
/* All runs' histories together stay under s->history_max: the oldest
 * finished runs' go first (they keep their state; a report on them then
 * says so). */
static void history_trim(RunStore *s, const Run *keep) {
        for (size_t i = 0; i < s->n_runs && s->history_bytes > s->history_max; i++) {
                Run *old = s->runs[i];
                if (old != keep && run_is_finished(old) && !old->history_cut)
                        history_drop(s, old);
        }
}

static void history_add(RunStore *s, Run *run, const void *payload, size_t size) {
        char **h;
        size_t *z;
        char *copy;

        if (run->history_cut)
                return;
        if (run->n_history >= RUN_HISTORY_MAX_RECORDS || run->history_bytes + size > RUN_HISTORY_MAX_BYTES)
                return history_drop(s, run);
        copy = malloc(size + 1);
        if (copy) {
                memcpy(copy, payload, size);
                copy[size] = 0;
        }
        h = copy ? reallocarray(run->history, run->n_history + 1, sizeof(char *)) : NULL;
        if (h)
                run->history = h;
        z = h ? reallocarray(run->history_size, run->n_history + 1, sizeof(size_t)) : NULL;
        if (!z) {
                free(copy);
                return history_drop(s, run);
        }
        run->history_size = z;
        run->history[run->n_history] = copy;
        run->history_size[run->n_history++] = size;
        run->history_bytes += size;
        s->history_bytes += size;
        if (s->history_bytes > s->history_max)
                history_trim(s, run);
}

/* Applies a transition in memory; the journal already has it (payload:
 * the record as written, kept as the run's history). */
static int store_apply(RunStore *s, const Transition *t, const void *payload, size_t size, Run **ret_run) {
        Run *run, **n;
        int r;

        if (t->kind == TRANSITION_RUN_CREATED) {
                if (run_store_find(s, t->run_id))
                        return -EEXIST;
                r = run_new(t, &run);
                if (r < 0)
                        return r;
                n = realloc(s->runs, sizeof(Run *) * (s->n_runs + 1));
                if (!n) {
                        run_free(run);
                        return -ENOMEM;
                }
                s->runs = n;
                s->runs[s->n_runs++] = run;
                s->next_seq = MAX(s->next_seq, run_id_seq(run->id) + 1);
                history_add(s, run, payload, size);
                if (ret_run)
                        *ret_run = run;
                return 0;
        }
        run = run_store_find(s, t->run_id);
        if (!run)
                return -ENOENT;
        if (ret_run)
                *ret_run = run;
        r = run_apply(run, t);
        if (r >= 0)
                history_add(s, run, payload, size);
        return r;
}

typedef struct ReplayContext {
        RunStore *store;
        RunStoreReplay *stats;
} ReplayContext;

static int replay_one(const void *payload, size_t size, void *userdata) {
        ReplayContext *c = userdata;
        Transition t = {};
        int r;

        r = transition_from_json(payload, size, &t);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                c->stats->bad_records++;
                return 0;
        }
        r = store_apply(c->store, &t, payload, size, NULL);
        transition_done(&t);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT)
                c->stats->orphans++;
        else if (r < 0)
                c->stats->bad_records++;
        return 0;
}

int run_store_open(const char *path, RunStore **ret, RunStoreReplay *ret_stats) {
        _cleanup_(run_store_freep) RunStore *s = NULL;
        RunStoreReplay stats = {};
        ReplayContext c;
        int r;

        s = calloc(1, sizeof(RunStore));
        if (!s)
                return -ENOMEM;
        s->next_seq = 1;
        s->keep_finished = RUN_STORE_KEEP_FINISHED_DEFAULT;
        s->compact_after = RUN_STORE_COMPACT_AFTER_DEFAULT;
        s->history_max = RUN_STORE_HISTORY_MAX_DEFAULT;

        c = (ReplayContext) { .store = s, .stats = &stats };
        r = journal_file_open_recover(path, replay_one, &c, &s->journal, &s->recovery);
        if (r < 0)
                return r;
        stats.records = s->recovery.records;
        stats.dropped_bytes = s->recovery.torn_bytes;
        stats.lost_bytes = s->recovery.lost_bytes;
        if (ret_stats)
                *ret_stats = stats;
        *ret = TAKE_PTR(s);
        return 0;
}

int run_store_commit(RunStore *s, const Transition *t, Run **ret_run) {
        _cleanup_free_ char *json = NULL;
        int r;

        /* Check it fits before it is made durable: a transition the store
         * would refuse must not sit in the journal. */
        if (t->kind == TRANSITION_RUN_CREATED ? !!run_store_find(s, t->run_id) : !run_store_find(s, t->run_id))
                return t->kind == TRANSITION_RUN_CREATED ? -EEXIST : -ENOENT;

        r = transition_to_json(t, &json);
        if (r < 0)
                return r;
        r = journal_file_append(s->journal, json, strlen(json));
        if (r < 0)
                return r;
        s->appended++;
        return store_apply(s, t, json, strlen(json), ret_run);
}

static bool batchable(const RunStore *s, const Transition *t) {
        return (t->kind == TRANSITION_STEP || t->kind == TRANSITION_HUMAN || t->kind == TRANSITION_RTO ||
                t->kind == TRANSITION_HOLD_RELEASED) &&
               run_store_find(s, t->run_id);
}

int run_store_commit_many(RunStore *s, const Transition *t, size_t n) {
        _cleanup_free_ JournalPayload *p = NULL;
        char **json;
        int r = 0;

        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!batchable(s, t + i))
                        return -EOPNOTSUPP;
        json = calloc(n, sizeof(char *));
        p = calloc(n, sizeof(JournalPayload));
        if (!json || !p) {
                free(json);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = transition_to_json(t + i, &json[i]);
                if (r >= 0)
                        p[i] = (JournalPayload) { .data = json[i], .size = strlen(json[i]) };
        }
        if (r >= 0)
                r = journal_file_append_many(s->journal, p, n);
        if (r >= 0) {
                s->appended += n;
                for (size_t i = 0; i < n; i++) {
                        int k = store_apply(s, t + i, p[i].data, p[i].size, NULL);
                        if (k < 0 && r >= 0)
                                r = k;  /* journaled, but the run refused it, as replay will */
                }
        }
        for (size_t i = 0; i < n; i++)
                free(json[i]);
        free(json);
        return r;
}

/* Compaction writes each kept run as the transitions that rebuild it. */
static int emit_json(JournalFile *j, const Transition *t) {
        _cleanup_free_ char *json = NULL;
        int r = transition_to_json(t, &json);
        if (r < 0)
                return r;
        return journal_file_append(j, json, strlen(json));
}

/* A human step's escalation, as the HUMAN transitions that rebuild it. */
static int emit_human(JournalFile *j, const Run *run, size_t i) {
        const HumanState *h = &run->steps[i].human;
        Transition t = {
                .kind = TRANSITION_HUMAN, .run_id = run->id, .step_id = run->plan->steps[i].id,
                .attempt = h->attempt,
        };
        int r;

        if (h->attempt == 0 || h->attempt != run->steps[i].attempt)
                return 0;
        for (size_t n = 0; n < h->n_notices; n++) {
                t.human = HUMAN_NOTIFIED;
                t.at = h->notices[n].at;
                t.level = h->notices[n].level;
                t.round = h->notices[n].round;
                t.recipients = h->notices[n].recipients;
                r = emit_json(j, &t);
                if (r < 0)
                        return r;
        }
        t.level = 0;
        t.recipients = NULL;
        if (h->acked_at != 0) {
                t.human = HUMAN_ACKNOWLEDGED;
                t.at = h->acked_at;
                t.round = 0;
                t.actor = h->acked_by;
                t.via = h->acked_via;
                t.comment = h->ack_comment;
                r = emit_json(j, &t);
                if (r < 0)
                        return r;
                t.actor = t.via = t.comment = NULL;
        }
        if (h->n_reminders > 0) {
                t.human = HUMAN_REMINDED;
                t.at = h->reminded_at;
                t.round = h->n_reminders;
                r = emit_json(j, &t);
                if (r < 0)
                        return r;
        }
        if (h->unanswered_at != 0) {
                t.human = HUMAN_UNANSWERED;
                t.at = h->unanswered_at;
                t.round = 0;
                t.recipients = h->unanswered_told;
                r = emit_json(j, &t);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int emit_run(JournalFile *j, const Run *run) {
        Transition t = {};
        int r;

        /* The records as they were written: replaying them rebuilds the
         * same run, and its history stays whole. */
        if (!run->history_cut && run->n_history > 0) {
                for (size_t i = 0; i < run->n_history; i++) {
                        r = journal_file_append(j, run->history[i], run->history_size[i]);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        t = (Transition) {
                .kind = TRANSITION_RUN_CREATED,
                .run_id = run->id,
                .at = run->created,
                .plan_name = run->plan->name,
                .plan_path = run->plan->path,
                .plan_source = run->plan_source,
                .trigger = run->trigger,
                .reason = run->reason,
                .trigger_time = run->trigger_time,
                .trigger_context = run->trigger_context,
        };
        r = emit_json(j, &t);
        if (r < 0)
                return r;
        for (size_t i = 0; i < run->plan->n_steps; i++) {
                const StepRun *x = run->steps + i;
                if (x->state == STEP_PENDING && x->attempt == 0 && !x->message)
                        continue;
                t = (Transition) {
                        .kind = TRANSITION_STEP,
                        .run_id = run->id,
                        .at = x->finished ?: x->started ?: run->created,
                        .step_id = run->plan->steps[i].id,
                        .state = x->state,
                        .attempt = x->attempt,
                        .not_before = x->not_before,
                        .started = x->started,
                        .boot_id = x->state == STEP_RUNNING ? x->boot_id : NULL,
                        .message = x->message,
                        .actor = x->actor,
                        .via = x->via,
                        .comment = x->comment,
                };
                r = emit_json(j, &t);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < run->plan->n_steps; i++) {
                r = emit_human(j, run, i);
                if (r < 0)
                        return r;
        }
        if (run->rto_state != RTO_OK) {
                t = (Transition) { .kind = TRANSITION_RTO, .run_id = run->id, .at = run->rto_at ?: run->created,
                                   .rto_state = run->rto_state, .projected = run->projected };
                r = emit_json(j, &t);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < run->n_releases; i++) {
                t = (Transition) { .kind = TRANSITION_HOLD_RELEASED, .run_id = run->id, .at = run->releases[i].at,
                                   .unit = run->releases[i].unit, .actor = run->releases[i].actor,
                                   .comment = run->releases[i].comment };
                r = emit_json(j, &t);
                if (r < 0)
                        return r;
        }
        if (run_is_finished(run)) {
                t = (Transition) { .kind = TRANSITION_RUN_FINISHED, .run_id = run->id, .at = run->finished,
                                   .run_state = run->final_state, .message = run->final_message };
                r = emit_json(j, &t);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool run_kept(const RunStore *s, size_t i) {
        size_t newer_finished = 0;

        if (!run_is_finished(s->runs[i]))
                return true;
        for (size_t k = i + 1; k < s->n_runs; k++)
                newer_finished += run_is_finished(s->runs[k]);
        return newer_finished < s->keep_finished;
}

static int emit_all(JournalFile *j, void *userdata) {
        RunStore *s = userdata;
        int r;

        for (size_t i = 0; i < s->n_runs; i++) {
                if (!run_kept(s, i))
                        continue;
                r = emit_run(j, s->runs[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int run_store_compact(RunStore *s) {
        size_t n = 0;
        int r;

        r = journal_file_compact(s->journal, emit_all, s);
        if (r < 0)
                return r;
        /* The file no longer has the dropped runs; neither does memory.
         * run_kept() looks only at later entries, which this pass has not
         * moved yet. */
        for (size_t i = 0; i < s->n_runs; i++) {
                if (run_kept(s, i))
                        s->runs[n++] = s->runs[i];
                else {
                        s->history_bytes -= MIN(s->history_bytes, s->runs[i]->history_bytes);
                        run_free(s->runs[i]);
                        s->runs[i] = NULL;
                }
        }
        s->n_runs = n;
        s->appended = 0;
        return 0;
}

int run_store_maybe_compact(RunStore *s) {
        if (s->appended < s->compact_after)
                return 0;
        return run_store_compact(s);
}
