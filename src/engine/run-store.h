/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every run salved knows, kept durable in the run journal. The one rule:
 * run_store_commit() appends a transition to the journal (synced) and only
 * then applies it in memory, so what is in memory is never ahead of what
 * is on disk. Opening replays the journal; compaction rewrites it with the
 * unfinished runs and the newest finished ones. */

#include "journal-file.h"
#include "run.h"

typedef struct RunStore {
        JournalFile *journal;
        Run **runs;                     /* oldest first */
        size_t n_runs;
        uint64_t next_seq;
        size_t keep_finished;           /* finished runs kept by compaction */
        uint64_t compact_after;         /* compact when this many records were appended since */
        uint64_t appended;
        size_t history_bytes;           /* all runs' Run.history together */
        size_t history_max;             /* past it, the oldest finished runs' histories are dropped */
        JournalRecovery recovery;       /* what opening found in the journal's place, what was
                                         * kept aside and what was lost (damage NONE: all well) */
} RunStore;

typedef struct RunStoreReplay {
        uint64_t records;
        uint64_t dropped_bytes;         /* a torn last record, cut off (what a crash leaves) */
        uint64_t lost_bytes;            /* unreadable bytes: see RunStore.recovery */
        uint64_t bad_records;           /* well framed, but not a valid transition: skipped */
        uint64_t orphans;               /* for a run that does not exist (its creation may have
                                         * been lost to damage): skipped */
} RunStoreReplay;

#define RUN_STORE_KEEP_FINISHED_DEFAULT 100
/* A run's history (Run.history) is kept up to this many records or
 * bytes; past either it is dropped and compaction keeps the state only. */
#define RUN_HISTORY_MAX_RECORDS 4096
#define RUN_HISTORY_MAX_BYTES (2u << 20)
/* ...and all runs' together up to this much memory: past it the oldest
 * finished runs keep their state only. */
#define RUN_STORE_HISTORY_MAX_DEFAULT ((size_t) 32u << 20)
#define RUN_STORE_COMPACT_AFTER_DEFAULT 5000

/* Opens the journal at path whatever is found there (see
 * journal_file_open_recover(): damaged files are set aside, their intact
 * records kept) and replays it. Fails only for reasons outside the
 * journal's content. */
int run_store_open(const char *path, RunStore **ret, RunStoreReplay *ret_stats);
RunStore *run_store_free(RunStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(RunStore *, run_store_free);

/* Journals t, then applies it: a RUN_CREATED adds a run (returned in
 * *ret_run when non-NULL), anything else changes the run it names. */
int run_store_commit(RunStore *s, const Transition *t, Run **ret_run);

/* Journals n transitions with one sync (a group commit), then applies
 * them in order: all or, on a journal error, none. Only for transitions
 * of existing runs that neither create nor finish one (STEP, HUMAN, RTO,
 * HOLD_RELEASED); -EOPNOTSUPP otherwise, with nothing done. */
int run_store_commit_many(RunStore *s, const Transition *t, size_t n);

Run *run_store_find(const RunStore *s, const char *id);
/* A fresh run id: PLAN-N with N counting up across restarts. */
int run_store_new_id(RunStore *s, const char *plan, char **ret);
/* The unfinished run of a plan, if any. */
Run *run_store_active_for_plan(const RunStore *s, const char *plan);

/* A run waits behind an older unfinished run of the same plan and
 * instance (concurrency: queue): they never run twice at once. */
bool run_store_is_queued(const RunStore *s, const Run *r);
/* The run a new trigger of plan joins instead of starting one, or NULL:
 * a plan never runs twice at once for one instance (the values of the
 * ${trigger.NAME} it uses: "" for a plan that uses none), so with an
 * active run a trigger joins it (concurrency: join), or queues one run
 * behind it (queue), and once one is queued further triggers join that
 * one. Runs of other instances go on side by side. */
Run *run_store_join_target(const RunStore *s, const char *plan, const char *instance, Concurrency concurrency);
/* run_state() as people see it: "queued" for a run that waits its turn. */
const char *run_store_state_string(const RunStore *s, const Run *r);

int run_store_compact(RunStore *s);
/* Compacts if enough was appended since the last time. */
int run_store_maybe_compact(RunStore *s);
