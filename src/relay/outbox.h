/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The durable notification outbox: every notification is journaled with
 * its idempotency key before it is sent, and every attempt's outcome is
 * journaled after it, so delivery is at-least-once across salved restarts
 * and power cuts while the key makes the effect exactly-once at the
 * receiver. The outbox knows nothing about HTTP and has no event loop: the
 * relay asks it what is due (times are passed in) and tells it what
 * happened.
 *
 * Invariants:
 *  - Memory is never ahead of the file: a change is appended to the journal
 *    (src/shared/journal-file.h, JSON records, docs/outbox-format.md) and
 *    only then applied, by the same code that applies it at replay, so a
 *    reopen rebuilds exactly the same state.
 *  - An id (CHANNEL "/" KEY) is enqueued once: a known id in any state,
 *    delivered ones included until compaction forgets them, is -EEXIST.
 *  - Bounded, never silently: at most max_entries undelivered (pending,
 *    retrying, dead) entries and max_dead dead ones; room is made by
 *    dropping the oldest dead letters, journaled and counted (dropped_dead
 *    survives restarts and compaction); with no dead letter to drop an
 *    enqueue fails with -ENOBUFS.
 *  - Pointers to entries stay valid until the entry is dropped
 *    (outbox_drop(), or as a dead letter for space) or forgotten by
 *    compaction (delivered entries past keep_delivered only). Pending and
 *    retrying entries are never freed by any call but outbox_drop().
 *
 * Durability: enqueues, failures, retry and drop are synced before they
 * return. "delivered" records are not synced one by one: they become
 * durable with the next synced record, with outbox_flush(), every
 * OUTBOX_DELIVERED_SYNC_EVERY of them, and at outbox_free(). A lost
 * "delivered" only means one more send of that notification, which its
 * idempotency key makes harmless (at-least-once). */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal-file.h"
#include "macro.h"
#include "time-util.h"

typedef struct Outbox Outbox;

typedef enum OutboxState {
        OUTBOX_PENDING,                 /* not tried yet (or put back by outbox_retry()) */
        OUTBOX_RETRYING,                /* failed, tried again at next_attempt */
        OUTBOX_DELIVERED,
        OUTBOX_DEAD,                    /* given up: waits for a person (retry or drop) */
        _OUTBOX_STATE_MAX,
        _OUTBOX_STATE_INVALID = -EINVAL,
} OutboxState;

typedef struct OutboxEntry {
        char *id;                       /* CHANNEL "/" KEY: unique */
        char *channel, *key;            /* the channel's name in the relay config; the idempotency key */
        char *run_id;                   /* for compaction and listing; may be NULL */
        char *payload;                  /* what to send, opaque text (the notification as JSON);
                                         * NULL once delivered (only the id is remembered) */
        OutboxState state;
        unsigned attempts;              /* since it was enqueued or last put back by outbox_retry() */
        usec_t created, last_attempt, next_attempt, finished; /* finished: delivered or dead */
        usec_t retried;                 /* last outbox_retry(), 0: never; give_up_after counts from
                                         * MAX(created, retried) */
        long last_status;               /* HTTP status of the last attempt; 0 none/transport */
        char *last_error;               /* short text (at most OUTBOX_ERROR_MAX bytes) */
} OutboxEntry;

/* A zero field means its default. */
typedef struct OutboxLimits {
        size_t max_entries;             /* undelivered entries (pending, retrying, dead); 10000 */
        size_t max_dead;                /* 1000 */
        usec_t retry_initial;           /* 1s */
        usec_t retry_max;               /* 5min */
        usec_t give_up_after;           /* 24h, counted from created (or the last retry verb) */
        usec_t keep_delivered;          /* 7d: how long compaction remembers a delivered id */
} OutboxLimits;

#define OUTBOX_MAX_ENTRIES_DEFAULT 10000U
#define OUTBOX_MAX_DEAD_DEFAULT 1000U
#define OUTBOX_RETRY_INITIAL_DEFAULT (1 * USEC_PER_SEC)
#define OUTBOX_RETRY_MAX_DEFAULT (5 * USEC_PER_MINUTE)
#define OUTBOX_GIVE_UP_AFTER_DEFAULT (24 * USEC_PER_HOUR)
#define OUTBOX_KEEP_DELIVERED_DEFAULT (7 * USEC_PER_DAY)

#define OUTBOX_CHANNEL_MAX 255U         /* bytes; no '/', no control characters */
#define OUTBOX_KEY_MAX 1024U            /* bytes; no control characters */
#define OUTBOX_PAYLOAD_MAX (256U * 1024U)
#define OUTBOX_ERROR_MAX 256U           /* longer error texts are cut (at a UTF-8 boundary) */
#define OUTBOX_DELIVERED_SYNC_EVERY 64U

/* What opening found. */
typedef struct OutboxStats {
        uint64_t records;               /* intact records replayed */
        uint64_t bad_records;           /* framed correctly but not a valid outbox record: skipped */
        uint64_t orphans;               /* about an id that is not there (lost to damage): skipped */
        uint64_t torn_bytes;            /* a torn last record, cut off (what a crash leaves) */
        uint64_t lost_bytes;            /* unreadable bytes; the damaged file was set aside */
        JournalDamage damage;           /* NONE: all well; else see outbox_recovery() */
        size_t entries;                 /* entries held after replay */
} OutboxStats;

/* Opens (creating) the outbox journal at path whatever is found there, as
 * the run journal does (journal_file_open_recover(): a damaged file is set
 * aside and its intact records kept), and replays it. Bad records are
 * skipped and counted, never fatal. Fails only for reasons outside the
 * file's content (-EBUSY: another handle has it; I/O; -ENOMEM). If the
 * limits are lower than what the file holds, the oldest dead letters are
 * dropped (journaled, counted) to fit. */
int outbox_open(const char *path, const OutboxLimits *limits, Outbox **ret, OutboxStats *ret_stats);
/* Flushes unsynced "delivered" records, frees everything. NULL-safe. */
Outbox *outbox_free(Outbox *o);
/* New limits (a reload): they apply to what happens from now on; a retry
 * already scheduled keeps its time, dead letters over a lower max-dead go
 * at the next death. */
void outbox_set_limits(Outbox *o, const OutboxLimits *limits);
DEFINE_TRIVIAL_CLEANUP_FUNC(Outbox *, outbox_free);

/* What replay and a recovering open found, and where a damaged file went. */
const JournalRecovery *outbox_recovery(const Outbox *o);

/* Journals (synced) and adds a PENDING entry due at now (created = now; the
 * relay passes the time of the fact it tells, see docs/outbox-format.md).
 *   -EEXIST   the id is known in any state (a fact is enqueued once)
 *   -ENOBUFS  max_entries undelivered entries and no dead letter to drop
 *             (dead letters are dropped first, oldest first, counted)
 *   -EINVAL   empty or overlong channel/key, '/' in channel, control
 *             characters, NULL payload
 *   -E2BIG    payload longer than OUTBOX_PAYLOAD_MAX
 * *ret (optional) points at the new entry. */
int outbox_enqueue(Outbox *o, const char *channel, const char *key, const char *run_id, const char *payload,
                   usec_t now, OutboxEntry **ret);

typedef struct OutboxNew {
        const char *channel, *key, *run_id, *payload;
} OutboxNew;

/* Several at once with ONE sync (a transition can make a notification per
 * channel). Items whose id is known already (or repeated in items) are
 * skipped. All or nothing as far as checks go: -EINVAL/-E2BIG for a bad
 * item, -ENOBUFS if the new ones do not all fit, and nothing is enqueued.
 * An I/O error part way leaves the items before it enqueued (outbox_has()
 * tells). Returns how many were enqueued. */
int outbox_enqueue_many(Outbox *o, const OutboxNew *items, size_t n, usec_t now);

/* The attempt worked: DELIVERED (from PENDING, RETRYING or DEAD), payload
 * freed, id remembered. Journaled; the sync may be batched (see above).
 * -EALREADY if it is delivered already; -EINVAL if e is not an entry of o
 * (a copy, another outbox's). */
int outbox_delivered(Outbox *o, OutboxEntry *e, long status, usec_t now);

/* A failed attempt of a PENDING or RETRYING entry (-ESTALE otherwise;
 * -EINVAL if e is not an entry of o).
 * retry=false, or give_up_after passed since MAX(created, retried): DEAD.
 * Else RETRYING with next_attempt = now + jitter * MIN(retry_max,
 * retry_initial * 2^(attempts-1)), attempts counting this one (full
 * jitter; jitter in [0,1) is passed in so tests are deterministic; it is
 * clamped). A new dead letter beyond max_dead drops the oldest one
 * (counted). Journaled and synced. */
int outbox_failed(Outbox *o, OutboxEntry *e, long status, const char *error, bool retry, double jitter, usec_t now);

/* The delay outbox_failed() uses for the attempts-th failure. */
usec_t outbox_backoff(const OutboxLimits *limits, unsigned attempts, double jitter);

OutboxEntry *outbox_find(const Outbox *o, const char *id);
bool outbox_has(const Outbox *o, const char *channel, const char *key);

/* The earliest next_attempt among PENDING/RETRYING (USEC_INFINITY: none). */
usec_t outbox_next_due(const Outbox *o);
/* Up to max entries due at now (PENDING/RETRYING with next_attempt <= now),
 * of one channel or (channel NULL) all, oldest (first enqueued) first.
 * Costs O(channels + due entries), never a scan of everything held. The
 * pointers are valid as said above. */
size_t outbox_due(const Outbox *o, usec_t now, const char *channel, OutboxEntry **ret, size_t max);
/* The channel's receiver answered again: its entries retrying after no
 * reply or a 5xx become due now instead of waiting out their backoff (a
 * 429 or other refusal keeps it). Not journaled. Returns how many. */
size_t outbox_expedite(Outbox *o, const char *channel, usec_t now);

/* People's verbs. retry: a DEAD or RETRYING entry goes back to PENDING,
 * due now, attempts reset, give_up_after counted from now (-EALREADY for
 * PENDING or DELIVERED, -ENOENT for an unknown id). drop: an entry in any
 * state but DELIVERED (-EALREADY) is removed and its id forgotten; counted
 * in dropped. Both journaled and synced. */
int outbox_retry(Outbox *o, const char *id, usec_t now);
int outbox_drop(Outbox *o, const char *id, usec_t now);

/* Entries oldest (first enqueued) first: all, or those in one state
 * (_OUTBOX_STATE_INVALID: all). *ret is a new array of pointers into the
 * outbox (free the array only); NULL and 0 when there are none or on
 * allocation failure. */
size_t outbox_list(const Outbox *o, OutboxEntry ***ret);
size_t outbox_list_state(const Outbox *o, OutboxState state, OutboxEntry ***ret);
/* Counts per state; *ret_dropped (optional): dead letters dropped for
 * space, durable across restarts and compaction. */
void outbox_counts(const Outbox *o, size_t ret_counts[static _OUTBOX_STATE_MAX], uint64_t *ret_dropped);
/* Entries removed by outbox_drop() (durable too). */
uint64_t outbox_dropped_by_people(const Outbox *o);

/* Makes every unsynced record ("delivered" ones, or all while syncs are
 * off) durable now. */
int outbox_flush(Outbox *o);
/* The same, only when enqueues are among what is not synced: delivered
 * records may wait for the next sync (one lost to a crash means the
 * notification is sent once more, with its key), enqueues may not be sent
 * before they are durable. */
int outbox_flush_enqueued(Outbox *o);

/* Rewrites the file with what is still wanted: undelivered entries, dead
 * ones (bounded by max_dead already), and DELIVERED ones younger than
 * keep_delivered (ids only, at most max_entries of them, newest kept), so
 * a re-derived fact is not sent again; and the counters. Delivered
 * entries left out are freed. Atomic (journal_file_compact()). */
int outbox_compact(Outbox *o, usec_t now);
/* Compacts when enough records were appended since the last time
 * (OUTBOX_COMPACT_AFTER_MIN, or twice the entries held, whichever is
 * more). The mutating calls above call it themselves, ignoring its
 * errors (the record they wrote is durable either way). Returns 1 if it
 * compacted. */
int outbox_maybe_compact(Outbox *o, usec_t now);
#define OUTBOX_COMPACT_AFTER_MIN 1000U

/* Records appended since the last compaction (or the open). */
uint64_t outbox_appended(const Outbox *o);
/* Turns off per-record syncs: benchmarks and tests, and the relay around
 * the listener's enqueues, which it makes durable with outbox_flush()
 * before it sends any of them. */
void outbox_set_sync(Outbox *o, bool sync);

/* Called after every change is journaled and applied (salved's metrics
 * file shows the outbox's depth); NULL: nobody. It must not call back
 * into the outbox. */
void outbox_set_change_handler(Outbox *o, void (*handler)(void *userdata), void *userdata);

const char *outbox_state_to_string(OutboxState s) _const_;     /* "pending", "retrying", "delivered", "dead" */
OutboxState outbox_state_from_string(const char *s) _pure_;

/* One record's payload through the replay path, for the fuzzer: parses
 * and, if valid, applies it to o (as replay would). Returns 0 applied,
 * -EBADMSG not a valid record, -ENOENT an orphan, -EEXIST/-ESTALE it does
 * not fit the state. */
int outbox_apply_record(Outbox *o, const void *payload, size_t size);
