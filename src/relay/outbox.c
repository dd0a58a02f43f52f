/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The notification outbox (outbox.h; records: docs/outbox-format.md).
 *
 * Every change is a Record: live calls check it against the state, append
 * it to the journal and then hand the very same Record to record_apply(),
 * which is also what replay calls for each record read back. So what a
 * reopen rebuilds is what memory held.
 *
 * In memory each entry is an Item (the public OutboxEntry first), linked
 *  - in an open-addressing hash table by id (lookups and enqueues O(1));
 *  - in a list in enqueue order (seq), for listing and compaction;
 *  - while PENDING/RETRYING, in its channel's binary min-heap keyed by
 *    (next_attempt, seq), so the next due time is a look at each heap's
 *    top and the due entries are found by walking only the heap nodes that
 *    are due (a subtree whose root is not due holds nothing due);
 *  - while DEAD, in a list ordered by (finished, seq): the oldest dead
 *    letter, the one dropped for space, is its head.
 * counts[] always equals the number of entries per state. */

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "outbox.h"
#include "outbox-record.h"
#include "string-table.h"

#define NOT_IN_HEAP SIZE_MAX

typedef struct Channel Channel;
typedef struct Item Item;

struct Item {
        OutboxEntry e;                  /* first: an OutboxEntry* is an Item* */
        uint64_t seq;                   /* enqueue order */
        uint64_t hash;
        Channel *channel;
        size_t heap_idx;
        Item *prev, *next;              /* all entries, by seq */
        Item *dprev, *dnext;            /* dead entries, by (finished, seq) */
        bool forget;                    /* compaction: not kept */
};

struct Channel {
        char *name;
        Item **heap;
        size_t n, cap;
};

struct Outbox {
        JournalFile *journal;
        JournalRecovery recovery;
        OutboxLimits limits;
        bool sync;
        unsigned unsynced;              /* records appended since the last sync */
        unsigned unsynced_enqueues;     /* of them, enqueues: what must be durable before it is sent */
        uint64_t appended;              /* since the last compaction */

        Item **slots;                   /* hash table, capacity a power of two */
        size_t n_slots, n_items;

        Channel **channels;             /* sorted by name */
        size_t n_channels;

        Item *head, *tail;
        Item *dead_head, *dead_tail;
        uint64_t next_seq;
        size_t counts[_OUTBOX_STATE_MAX];
        uint64_t dropped_dead, dropped_people;

        OutboxStats *stats;             /* during replay */
        void (*on_change)(void *userdata);
        void *on_change_userdata;
};

static const char * const outbox_state_table[_OUTBOX_STATE_MAX] = {
        [OUTBOX_PENDING] = "pending",
        [OUTBOX_RETRYING] = "retrying",
        [OUTBOX_DELIVERED] = "delivered",
        [OUTBOX_DEAD] = "dead",
};

DEFINE_STRING_TABLE(outbox_state, OutboxState, outbox_state_table, _OUTBOX_STATE_MAX);

/* ---- the index by id ---- */

static uint64_t hash_bytes(uint64_t h, const char *s) {
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 0x100000001b3ULL;
        }
        return h;
}

#define HASH_INIT 0xcbf29ce484222325ULL

/* FNV-1a's low bits, which pick the slot, mix poorly on their own. */
static uint64_t hash_final(uint64_t h) {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        return h ^ (h >> 33);
}

static uint64_t hash_id(const char *id) {
        return hash_final(hash_bytes(HASH_INIT, id));
}

/* The hash of CHANNEL "/" KEY without building it. */
static uint64_t hash_parts(const char *channel, const char *key) {
        return hash_final(hash_bytes(hash_bytes(hash_bytes(HASH_INIT, channel), "/"), key));
}

static bool id_is(const char *id, const char *channel, const char *key) {
        size_t n = strlen(channel);
        return strncmp(id, channel, n) == 0 && id[n] == '/' && streq(id + n + 1, key);
}

static Item *index_lookup(const Outbox *o, uint64_t h, const char *id, const char *channel, const char *key) {
        size_t mask;

        if (o->n_slots == 0)
                return NULL;
        mask = o->n_slots - 1;
        for (size_t i = (size_t) h & mask; o->slots[i]; i = (i + 1) & mask) {
                Item *it = o->slots[i];
                if (it->hash == h && (id ? streq(it->e.id, id) : id_is(it->e.id, channel, key)))
                        return it;
        }
        return NULL;
}

static void index_put(Outbox *o, Item *it) {
        size_t mask = o->n_slots - 1, i;

        for (i = (size_t) it->hash & mask; o->slots[i]; i = (i + 1) & mask)
                ;
        o->slots[i] = it;
        o->n_items++;
}

/* Room for one more at a load of at most 1/2. */
static int index_reserve(Outbox *o) {
        Item **old = o->slots;
        size_t n_old = o->n_slots, n = MAX(n_old, (size_t) 64);

        while ((o->n_items + 1) * 2 > n)
                n *= 2;
        if (n == n_old)
                return 0;
        o->slots = calloc(n, sizeof(Item *));
        if (!o->slots) {
                o->slots = old;
                return -ENOMEM;
        }
        o->n_slots = n;
        o->n_items = 0;
        for (size_t i = 0; i < n_old; i++)
                if (old[i])
                        index_put(o, old[i]);
        free(old);
        return 0;
}

/* Linear probing with backward-shift deletion: no tombstones. */
static void index_remove(Outbox *o, Item *it) {
        size_t mask = o->n_slots - 1, i, j;

        for (i = (size_t) it->hash & mask; o->slots[i] != it; i = (i + 1) & mask)
                assert(o->slots[i]);
        o->slots[i] = NULL;
        o->n_items--;
        for (j = (i + 1) & mask; o->slots[j]; j = (j + 1) & mask) {
                size_t home = (size_t) o->slots[j]->hash & mask;
                /* move it back if its home is not in (i, j] (cyclically) */
                if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
                        o->slots[i] = o->slots[j];
                        o->slots[j] = NULL;
                        i = j;
                }
        }
}

/* ---- channels and their due heaps ---- */

static int channel_cmp(const void *a, const void *b) {
        return strcmp(*(const char * const *) a, (*(Channel * const *) b)->name);
}

static Channel *channel_find(const Outbox *o, const char *name) {
        Channel **c;

        if (o->n_channels == 0)
                return NULL;
        c = bsearch(&name, o->channels, o->n_channels, sizeof(Channel *), channel_cmp);
        return c ? *c : NULL;
}

static int channel_get(Outbox *o, const char *name, Channel **ret) {
        Channel *c = channel_find(o, name), **grown;
        size_t i = 0;

        if (c) {
                *ret = c;
                return 0;
        }
        grown = reallocarray(o->channels, o->n_channels + 1, sizeof(Channel *));
        if (!grown)
                return -ENOMEM;
        o->channels = grown;
        c = calloc(1, sizeof(Channel));
        if (!c || !(c->name = strdup(name))) {
                free(c);
                return -ENOMEM;
        }
        while (i < o->n_channels && strcmp(o->channels[i]->name, name) < 0)
                i++;
        memmove(o->channels + i + 1, o->channels + i, (o->n_channels - i) * sizeof(Channel *));
        o->channels[i] = c;
        o->n_channels++;
        *ret = c;
        return 0;
}

static bool due_before(const Item *a, const Item *b) {
        return a->e.next_attempt < b->e.next_attempt || (a->e.next_attempt == b->e.next_attempt && a->seq < b->seq);
}

static void heap_set(Channel *c, size_t i, Item *it) {
        c->heap[i] = it;
        it->heap_idx = i;
}

static void heap_up(Channel *c, size_t i) {
        Item *it = c->heap[i];

        while (i > 0 && due_before(it, c->heap[(i - 1) / 2])) {
                heap_set(c, i, c->heap[(i - 1) / 2]);
                i = (i - 1) / 2;
        }
        heap_set(c, i, it);
}

static void heap_down(Channel *c, size_t i) {
        Item *it = c->heap[i];

        for (;;) {
                size_t l = 2 * i + 1, m = i;
                const Item *best = it;
                if (l < c->n && due_before(c->heap[l], best))
                        best = c->heap[m = l];
                if (l + 1 < c->n && due_before(c->heap[l + 1], best))
                        m = l + 1;
                if (m == i)
                        break;
                heap_set(c, i, c->heap[m]);
                i = m;
        }
        heap_set(c, i, it);
}

static int heap_reserve(Channel *c) {
        Item **grown;

        if (c->n < c->cap)
                return 0;
        grown = reallocarray(c->heap, MAX(c->cap * 2, (size_t) 16), sizeof(Item *));
        if (!grown)
                return -ENOMEM;
        c->heap = grown;
        c->cap = MAX(c->cap * 2, (size_t) 16);
        return 0;
}

/* The caller reserved room. */
static void heap_push(Item *it) {
        Channel *c = it->channel;

        heap_set(c, c->n++, it);
        heap_up(c, it->heap_idx);
}

static void heap_remove(Item *it) {
        Channel *c = it->channel;
        size_t i = it->heap_idx;

        if (i == NOT_IN_HEAP)
                return;
        it->heap_idx = NOT_IN_HEAP;
        if (i == --c->n)
                return;
        Item *moved = c->heap[c->n];
        heap_set(c, i, moved);
        heap_up(c, i);
        heap_down(c, moved->heap_idx);
}

/* After next_attempt changed. */
static void heap_update(Item *it) {
        heap_up(it->channel, it->heap_idx);
        heap_down(it->channel, it->heap_idx);
}

/* ---- the dead list ---- */

static bool dead_before(const Item *a, const Item *b) {
        return a->e.finished < b->e.finished || (a->e.finished == b->e.finished && a->seq < b->seq);
}

static void dead_link(Outbox *o, Item *it) {
        Item *after = o->dead_tail;

        while (after && dead_before(it, after))
                after = after->dprev;
        it->dprev = after;
        it->dnext = after ? after->dnext : o->dead_head;
        if (it->dnext)
                it->dnext->dprev = it;
        else
                o->dead_tail = it;
        if (after)
                after->dnext = it;
        else
                o->dead_head = it;
}

static void dead_unlink(Outbox *o, Item *it) {
        if (it->dprev)
                it->dprev->dnext = it->dnext;
        else
                o->dead_head = it->dnext;
        if (it->dnext)
                it->dnext->dprev = it->dprev;
        else
                o->dead_tail = it->dprev;
        it->dprev = it->dnext = NULL;
}

/* ---- applying records ---- */

static Item *item_free(Item *it) {
        if (!it)
                return NULL;
        free(it->e.id);
        free(it->e.channel);
        free(it->e.key);
        free(it->e.run_id);
        free(it->e.payload);
        free(it->e.last_error);
        free(it);
        return NULL;
}

static bool is_due_state(OutboxState s) {
        return s == OUTBOX_PENDING || s == OUTBOX_RETRYING;
}

/* Moves it to state s, keeping counts, heap and dead list right. The
 * caller reserved heap room when s is a due state; next_attempt and
 * finished are set before. */
static void item_set_state(Outbox *o, Item *it, OutboxState s) {
        OutboxState old = it->e.state;

        if (old == OUTBOX_DEAD)
                dead_unlink(o, it);
        if (is_due_state(old) && !is_due_state(s))
                heap_remove(it);
        o->counts[old]--;
        it->e.state = s;
        o->counts[s]++;
        if (s == OUTBOX_DEAD)
                dead_link(o, it);
        if (is_due_state(s)) {
                if (it->heap_idx == NOT_IN_HEAP)
                        heap_push(it);
                else
                        heap_update(it);
        }
}

static void item_unlink(Outbox *o, Item *it) {
        if (it->e.state == OUTBOX_DEAD)
                dead_unlink(o, it);
        heap_remove(it);
        index_remove(o, it);
        if (it->prev)
                it->prev->next = it->next;
        else
                o->head = it->next;
        if (it->next)
                it->next->prev = it->prev;
        else
                o->tail = it->prev;
        o->counts[it->e.state]--;
}

static int set_error(OutboxEntry *e, const char *error) {
        char *copy = NULL;

        if (error && !(copy = strdup(error)))
                return -ENOMEM;
        free(e->last_error);
        e->last_error = copy;
        return 0;
}

static int apply_enqueued(Outbox *o, const Record *r) {
        Item *it;
        uint64_t h = hash_parts(r->channel, r->key);
        int k;

        if (index_lookup(o, h, NULL, r->channel, r->key))
                return -EEXIST;
        it = calloc(1, sizeof(Item));
        if (!it)
                return -ENOMEM;
        it->heap_idx = NOT_IN_HEAP;
        it->hash = h;
        if (asprintf(&it->e.id, "%s/%s", r->channel, r->key) < 0) {
                it->e.id = NULL;
                item_free(it);
                return -ENOMEM;
        }
        if (!(it->e.channel = strdup(r->channel)) || !(it->e.key = strdup(r->key)) ||
            (r->run_id && !(it->e.run_id = strdup(r->run_id))) ||
            (r->state != OUTBOX_DELIVERED && !(it->e.payload = strdup(r->payload))) ||
            set_error(&it->e, r->error) < 0) {
                item_free(it);
                return -ENOMEM;
        }
        it->e.created = r->at;
        it->e.attempts = r->attempts;
        it->e.last_attempt = r->last_attempt;
        it->e.next_attempt = r->has_next ? r->next : r->state == OUTBOX_PENDING ? r->at : 0;
        it->e.finished = r->finished;
        it->e.retried = r->retried;
        it->e.last_status = r->status;

        k = channel_get(o, r->channel, &it->channel);
        if (k >= 0)
                k = index_reserve(o);
        if (k >= 0 && is_due_state(r->state))
                k = heap_reserve(it->channel);
        if (k < 0) {
                item_free(it);
                return k;
        }
        index_put(o, it);
        it->seq = o->next_seq++;
        it->prev = o->tail;
        if (o->tail)
                o->tail->next = it;
        else
                o->head = it;
        o->tail = it;
        it->e.state = r->state;
        o->counts[r->state]++;
        if (r->state == OUTBOX_DEAD)
                dead_link(o, it);
        else if (is_due_state(r->state))
                heap_push(it);
        return 0;
}

/* Checks r against the state (the same checks whether live or replayed)
 * and applies it. */
static int record_apply(Outbox *o, const Record *r) {
        Item *it;
        int k;

        if (r->type == RECORD_ENQUEUED)
                return apply_enqueued(o, r);
        if (r->type == RECORD_COUNTERS) {
                o->dropped_dead = r->dropped_dead;
                o->dropped_people = r->dropped_people;
                return 0;
        }
        it = index_lookup(o, hash_id(r->id), r->id, NULL, NULL);
        if (!it)
                return -ENOENT;

        switch (r->type) {
        case RECORD_ATTEMPT:
        case RECORD_DEAD:
                if (!is_due_state(it->e.state))
                        return -ESTALE;
                k = set_error(&it->e, r->error);
                if (k < 0)
                        return k;
                it->e.attempts++;
                it->e.last_attempt = r->at;
                it->e.last_status = r->status;
                if (r->type == RECORD_ATTEMPT) {
                        it->e.next_attempt = r->next;
                        item_set_state(o, it, OUTBOX_RETRYING);
                } else {
                        it->e.finished = r->at;
                        item_set_state(o, it, OUTBOX_DEAD);
                }
                return 0;
        case RECORD_DELIVERED:
                if (it->e.state == OUTBOX_DELIVERED)
                        return -EALREADY;
                it->e.attempts++;
                it->e.last_attempt = it->e.finished = r->at;
                it->e.last_status = r->status;
                it->e.payload = mfree(it->e.payload);
                item_set_state(o, it, OUTBOX_DELIVERED);
                return 0;
        case RECORD_RETRY:
                if (it->e.state != OUTBOX_DEAD && it->e.state != OUTBOX_RETRYING)
                        return -EALREADY;
                k = heap_reserve(it->channel);
                if (k < 0)
                        return k;
                it->e.attempts = 0;
                it->e.next_attempt = it->e.retried = r->at;
                it->e.finished = 0;
                item_set_state(o, it, OUTBOX_PENDING);
                return 0;
        case RECORD_DROPPED:
                if (it->e.state == OUTBOX_DELIVERED)
                        return -EALREADY;
                item_unlink(o, it);
                item_free(it);
                if (r->for_space)
                        o->dropped_dead++;
                else
                        o->dropped_people++;
                return 0;
        default:
                return -EINVAL;
        }
}

int outbox_apply_record(Outbox *o, const void *payload, size_t size) {
        Record r = {};
        int k;

        if (!o)
                return -EINVAL;
        k = outbox_record_from_json(payload, size, &r);
        if (k < 0)
                return k;
        k = record_apply(o, &r);
        outbox_record_done(&r);
        return k;
}

/* ---- writing ---- */

static usec_t clamp_time(usec_t t) {
        return MIN(t, OUTBOX_TIME_MAX);
}

/* Appends r (synced when sync and the outbox syncs) and applies it. The
 * caller checked that it applies: an apply failure now (-ENOMEM) leaves
 * the record in the file, where the next open finds it. */
static int commit(Outbox *o, const Record *r, bool sync) {
        _cleanup_free_ char *json = NULL;
        int k;

        k = outbox_record_to_json(r, &json);
        if (k < 0)
                return k;
        sync = sync && o->sync;
        journal_file_set_sync(o->journal, sync);
        k = journal_file_append(o->journal, json, strlen(json));
        if (k < 0)
                return k;
        o->appended++;
        o->unsynced = sync ? 0 : o->unsynced + 1;
        o->unsynced_enqueues = sync ? 0 : o->unsynced_enqueues + (r->type == RECORD_ENQUEUED);
        k = record_apply(o, r);
        if (o->on_change)
                o->on_change(o->on_change_userdata);
        return k;
}

/* Drops the oldest dead letters, but not keep, for space; not synced. */
static int drop_dead_for_space(Outbox *o, size_t n, const Item *keep, usec_t now) {
        while (n > 0) {
                Item *it = o->dead_head;
                if (it == keep)
                        it = it->dnext;
                if (!it)
                        return -ENOBUFS;
                int k = commit(o, &(const Record) { .type = RECORD_DROPPED, .at = now, .id = it->e.id,
                                                    .for_space = true }, false);
                if (k < 0)
                        return k;
                n--;
        }
        return 0;
}

static size_t undelivered(const Outbox *o) {
        return o->counts[OUTBOX_PENDING] + o->counts[OUTBOX_RETRYING] + o->counts[OUTBOX_DEAD];
}

static int check_new(const OutboxNew *n) {
        if (!outbox_channel_ok(n->channel) || !outbox_key_ok(n->key) || !outbox_run_id_ok(n->run_id) || !n->payload)
                return -EINVAL;
        if (strlen(n->payload) > OUTBOX_PAYLOAD_MAX)
                return -E2BIG;
        return 0;
}

static bool seen_before(const OutboxNew *items, size_t i) {
        for (size_t k = 0; k < i; k++)
                if (streq(items[k].channel, items[i].channel) && streq(items[k].key, items[i].key))
                        return true;
        return false;
}

int outbox_enqueue_many(Outbox *o, const OutboxNew *items, size_t n, usec_t now) {
        size_t fresh = 0, last = SIZE_MAX, room, done = 0;
        int k;

        if (!o || (!items && n > 0))
                return -EINVAL;
        now = clamp_time(now);
        for (size_t i = 0; i < n; i++) {
                k = check_new(items + i);
                if (k < 0)
                        return k;
                if (outbox_has(o, items[i].channel, items[i].key) || seen_before(items, i))
                        continue;
                fresh++;
                last = i;
        }
        if (fresh == 0)
                return 0;

        room = o->limits.max_entries > undelivered(o) ? o->limits.max_entries - undelivered(o) : 0;
        if (fresh > room) {
                if (fresh - room > o->counts[OUTBOX_DEAD])
                        return -ENOBUFS;
                k = drop_dead_for_space(o, fresh - room, NULL, now);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i <= last; i++) {
                if (outbox_has(o, items[i].channel, items[i].key))
                        continue; /* known, or an earlier item */
                k = commit(o,
                           &(const Record) { .type = RECORD_ENQUEUED, .at = now, .channel = (char *) items[i].channel,
                                             .key = (char *) items[i].key, .run_id = (char *) items[i].run_id,
                                             .payload = (char *) items[i].payload },
                           i == last);
                if (k < 0)
                        return k;
                done++;
        }
        (void) outbox_maybe_compact(o, now);
        return (int) MIN(done, (size_t) INT_MAX);
}

int outbox_enqueue(Outbox *o, const char *channel, const char *key, const char *run_id, const char *payload,
                   usec_t now, OutboxEntry **ret) {
        const OutboxNew item = { .channel = channel, .key = key, .run_id = run_id, .payload = payload };
        int k;

        if (!o)
                return -EINVAL;
        k = check_new(&item);
        if (k < 0)
                return k;
        if (outbox_has(o, channel, key))
                return -EEXIST;
        k = outbox_enqueue_many(o, &item, 1, now);
        if (k < 0)
                return k;
        if (ret)
                *ret = &index_lookup(o, hash_parts(channel, key), NULL, channel, key)->e;
        return 0;
}

/* Only entries of this outbox: a copy of an entry or another outbox's is
 * refused (a stale pointer cannot be told). */
static Item *item_of(Outbox *o, OutboxEntry *e) {
        Item *it;

        if (!e || !e->id)
                return NULL;
        it = index_lookup(o, hash_id(e->id), e->id, NULL, NULL);
        return it && &it->e == e ? it : NULL;
}

int outbox_delivered(Outbox *o, OutboxEntry *e, long status, usec_t now) {
        Item *it;
        bool sync;
        int k;

        if (!o || !(it = item_of(o, e)))
                return -EINVAL;
        if (e->state == OUTBOX_DELIVERED)
                return -EALREADY;
        sync = o->unsynced + 1 >= OUTBOX_DELIVERED_SYNC_EVERY;
        k = commit(o,
                   &(const Record) { .type = RECORD_DELIVERED, .at = clamp_time(now), .id = e->id,
                                     .status = status >= 0 && status <= OUTBOX_STATUS_MAX ? status : 0 },
                   sync);
        if (k < 0)
                return k;
        (void) outbox_maybe_compact(o, now);
        return 0;
}

usec_t outbox_backoff(const OutboxLimits *limits, unsigned attempts, double jitter) {
        usec_t initial = limits && limits->retry_initial ? limits->retry_initial : OUTBOX_RETRY_INITIAL_DEFAULT;
        usec_t max = limits && limits->retry_max ? limits->retry_max : OUTBOX_RETRY_MAX_DEFAULT;
        usec_t cap = initial;

        if (!(jitter >= 0.0)) /* NaN too */
                jitter = 0.0;
        if (jitter >= 1.0)
                jitter = nextafter(1.0, 0.0);
        for (unsigned i = 1; i < attempts && cap < max; i++)
                cap = cap > max / 2 ? max : cap * 2;
        cap = MIN(cap, max);
        return (usec_t) ((double) cap * jitter);
}

/* error cut to OUTBOX_ERROR_MAX bytes, not inside a UTF-8 sequence. */
static const char *short_error(const char *error, char buf[static OUTBOX_ERROR_MAX + 1]) {
        size_t n;

        if (!error || strlen(error) <= OUTBOX_ERROR_MAX)
                return error;
        n = OUTBOX_ERROR_MAX;
        while (n > 0 && ((unsigned char) error[n] & 0xC0) == 0x80)
                n--;
        memcpy(buf, error, n);
        buf[n] = 0;
        return buf;
}

int outbox_failed(Outbox *o, OutboxEntry *e, long status, const char *error, bool retry, double jitter,
                  usec_t now) {
        char buf[OUTBOX_ERROR_MAX + 1];
        Item *it;
        usec_t since;
        bool dead;
        int k;

        if (!o || !(it = item_of(o, e)))
                return -EINVAL;
        if (!is_due_state(e->state))
                return -ESTALE;
        now = clamp_time(now);
        since = MAX(e->created, e->retried);
        dead = !retry || now >= usec_add(since, o->limits.give_up_after);
        if (dead && o->counts[OUTBOX_DEAD] + 1 > o->limits.max_dead) {
                k = drop_dead_for_space(o, o->counts[OUTBOX_DEAD] + 1 - o->limits.max_dead, it, now);
                if (k < 0)
                        return k;
        }
        k = commit(o,
                   &(const Record) {
                           .type = dead ? RECORD_DEAD : RECORD_ATTEMPT,
                           .at = now,
                           .id = e->id,
                           .status = status >= 0 && status <= OUTBOX_STATUS_MAX ? status : 0,
                           .error = (char *) short_error(error, buf),
                           .next = dead ? 0 : clamp_time(usec_add(now, outbox_backoff(&o->limits, e->attempts + 1,
                                                                                       jitter))),
                   },
                   true);
        if (k < 0)
                return k;
        (void) outbox_maybe_compact(o, now);
        return 0;
}

OutboxEntry *outbox_find(const Outbox *o, const char *id) {
        Item *it;

        if (!o || !id)
                return NULL;
        it = index_lookup(o, hash_id(id), id, NULL, NULL);
        return it ? &it->e : NULL;
}

bool outbox_has(const Outbox *o, const char *channel, const char *key) {
        if (!o || !channel || !key)
                return false;
        return index_lookup(o, hash_parts(channel, key), NULL, channel, key);
}

int outbox_retry(Outbox *o, const char *id, usec_t now) {
        OutboxEntry *e = outbox_find(o, id);
        int k;

        if (!o || !id)
                return -EINVAL;
        if (!e)
                return -ENOENT;
        if (e->state != OUTBOX_DEAD && e->state != OUTBOX_RETRYING)
                return -EALREADY;
        k = commit(o, &(const Record) { .type = RECORD_RETRY, .at = clamp_time(now), .id = e->id }, true);
        if (k < 0)
                return k;
        (void) outbox_maybe_compact(o, now);
        return 0;
}

int outbox_drop(Outbox *o, const char *id, usec_t now) {
        OutboxEntry *e = outbox_find(o, id);
        int k;

        if (!o || !id)
                return -EINVAL;
        if (!e)
                return -ENOENT;
        if (e->state == OUTBOX_DELIVERED)
                return -EALREADY;
        k = commit(o, &(const Record) { .type = RECORD_DROPPED, .at = clamp_time(now), .id = e->id }, true);
        if (k < 0)
                return k;
        (void) outbox_maybe_compact(o, now);
        return 0;
}

int outbox_flush(Outbox *o) {
        int k;

        if (!o)
                return -EINVAL;
        if (o->unsynced == 0)
                return 0;
        k = journal_file_sync(o->journal);
        if (k < 0)
                return k;
        o->unsynced = o->unsynced_enqueues = 0;
        return 0;
}

int outbox_flush_enqueued(Outbox *o) {
        if (!o)
                return -EINVAL;
        return o->unsynced_enqueues > 0 ? outbox_flush(o) : 0;
}

/* ---- reading ---- */

usec_t outbox_next_due(const Outbox *o) {
        usec_t next = USEC_INFINITY;

        if (!o)
                return next;
        for (size_t i = 0; i < o->n_channels; i++)
                if (o->channels[i]->n > 0)
                        next = MIN(next, o->channels[i]->heap[0]->e.next_attempt);
        return next;
}

static uint64_t entry_seq(const OutboxEntry *e) {
        return ((const Item *) e)->seq;
}

/* items[0..n) is a max-heap by seq holding the oldest max due entries seen. */
typedef struct DueSet {
        OutboxEntry **items;
        size_t n, max;
} DueSet;

static void due_set_add(DueSet *d, Item *it) {
        size_t i;

        if (d->n < d->max) {
                i = d->n++;
                while (i > 0 && entry_seq(d->items[(i - 1) / 2]) < it->seq) {
                        d->items[i] = d->items[(i - 1) / 2];
                        i = (i - 1) / 2;
                }
                d->items[i] = &it->e;
                return;
        }
        if (it->seq >= entry_seq(d->items[0]))
                return;
        i = 0;
        for (;;) {
                size_t l = 2 * i + 1, m = i;
                uint64_t top = it->seq;
                if (l < d->n && entry_seq(d->items[l]) > top)
                        top = entry_seq(d->items[m = l]);
                if (l + 1 < d->n && entry_seq(d->items[l + 1]) > top)
                        m = l + 1;
                if (m == i)
                        break;
                d->items[i] = d->items[m];
                i = m;
        }
        d->items[i] = &it->e;
}

/* Visits only due nodes: below a node that is not due nothing is. The
 * depth is the heap's, at most 64. */
static void due_walk(const Channel *c, size_t i, usec_t now, DueSet *d) {
        if (i >= c->n || c->heap[i]->e.next_attempt > now)
                return;
        due_set_add(d, c->heap[i]);
        due_walk(c, 2 * i + 1, now, d);
        due_walk(c, 2 * i + 2, now, d);
}

static int seq_cmp(const void *a, const void *b) {
        uint64_t x = entry_seq(*(OutboxEntry * const *) a), y = entry_seq(*(OutboxEntry * const *) b);
        return x < y ? -1 : x > y;
}

size_t outbox_due(const Outbox *o, usec_t now, const char *channel, OutboxEntry **ret, size_t max) {
        DueSet d = { .items = ret, .max = max };

        if (!o || !ret || max == 0)
                return 0;
        if (channel) {
                const Channel *c = channel_find(o, channel);
                if (c)
                        due_walk(c, 0, now, &d);
        } else
                for (size_t i = 0; i < o->n_channels; i++)
                        due_walk(o->channels[i], 0, now, &d);
        qsort(d.items, d.n, sizeof(OutboxEntry *), seq_cmp);
        return d.n;
}

/* Only for failures that say the receiver was not there (no reply, 5xx):
 * a 429 or another refusal keeps its backoff. Memory only: after a
 * restart the journaled time stands, which is later, never earlier. */
static bool expedite_applies(const Item *it) {
        return it->e.state == OUTBOX_RETRYING && (it->e.last_status == 0 || it->e.last_status >= 500);
}

size_t outbox_expedite(Outbox *o, const char *channel, usec_t now) {
        Channel *c;
        size_t n = 0;

        if (!o || !channel)
                return 0;
        c = channel_find(o, channel);
        if (!c)
                return 0;
        for (size_t i = 0; i < c->n; i++) {
                Item *it = c->heap[i];
                if (expedite_applies(it) && it->e.next_attempt > now) {
                        it->e.next_attempt = now;
                        n++;
                }
        }
        /* Many keys changed: rebuild the heap bottom up. */
        if (n > 0)
                for (size_t i = c->n / 2; i-- > 0;)
                        heap_down(c, i);
        return n;
}

size_t outbox_list_state(const Outbox *o, OutboxState state, OutboxEntry ***ret) {
        OutboxEntry **l;
        size_t n = 0, total;

        if (!ret)
                return 0;
        *ret = NULL;
        if (!o)
                return 0;
        total = state >= 0 && state < _OUTBOX_STATE_MAX ? o->counts[state] : o->n_items;
        if (total == 0)
                return 0;
        l = calloc(total, sizeof(OutboxEntry *));
        if (!l)
                return 0;
        for (Item *it = o->head; it && n < total; it = it->next)
                if (state < 0 || state >= _OUTBOX_STATE_MAX || it->e.state == state)
                        l[n++] = &it->e;
        *ret = l;
        return n;
}

size_t outbox_list(const Outbox *o, OutboxEntry ***ret) {
        return outbox_list_state(o, _OUTBOX_STATE_INVALID, ret);
}

void outbox_counts(const Outbox *o, size_t ret_counts[static _OUTBOX_STATE_MAX], uint64_t *ret_dropped) {
        for (size_t i = 0; i < _OUTBOX_STATE_MAX; i++)
                ret_counts[i] = o ? o->counts[i] : 0;
        if (ret_dropped)
                *ret_dropped = o ? o->dropped_dead : 0;
}

uint64_t outbox_dropped_by_people(const Outbox *o) {
        return o ? o->dropped_people : 0;
}

uint64_t outbox_appended(const Outbox *o) {
        return o ? o->appended : 0;
}

void outbox_set_change_handler(Outbox *o, void (*handler)(void *userdata), void *userdata) {
        o->on_change = handler;
        o->on_change_userdata = userdata;
}

void outbox_set_sync(Outbox *o, bool sync) {
        if (o)
                o->sync = sync;
}

const JournalRecovery *outbox_recovery(const Outbox *o) {
        return o ? &o->recovery : NULL;
}

/* ---- compaction ---- */

static bool delivered_young(const Outbox *o, const Item *it, usec_t now) {
        return usec_add(it->e.finished, o->limits.keep_delivered) > now;
}

static void mark_forgotten(Outbox *o, usec_t now) {
        size_t young = 0, skip;

        for (Item *it = o->head; it; it = it->next)
                if (it->e.state == OUTBOX_DELIVERED && delivered_young(o, it, now))
                        young++;
        skip = young > o->limits.max_entries ? young - o->limits.max_entries : 0;
        for (Item *it = o->head; it; it = it->next) {
                it->forget = false;
                if (it->e.state != OUTBOX_DELIVERED)
                        continue;
                if (!delivered_young(o, it, now))
                        it->forget = true;
                else if (skip > 0) {
                        it->forget = true;
                        skip--;
                }
        }
}

static int emit_all(JournalFile *j, void *userdata) {
        Outbox *o = userdata;
        _cleanup_free_ char *json = NULL;
        int k;

        if (o->dropped_dead > 0 || o->dropped_people > 0) {
                k = outbox_record_to_json(&(const Record) { .type = RECORD_COUNTERS, .dropped_dead = o->dropped_dead,
                                                     .dropped_people = o->dropped_people }, &json);
                if (k < 0)
                        return k;
                k = journal_file_append(j, json, strlen(json));
                if (k < 0)
                        return k;
        }
        for (Item *it = o->head; it; it = it->next) {
                const OutboxEntry *e = &it->e;
                if (it->forget)
                        continue;
                json = mfree(json);
                k = outbox_record_to_json(&(const Record) {
                        .type = RECORD_ENQUEUED, .at = e->created, .channel = e->channel, .key = e->key,
                        .run_id = e->run_id, .payload = e->payload, .state = e->state, .attempts = e->attempts,
                        .last_attempt = e->last_attempt,
                        .next = e->next_attempt,
                        .has_next = !(e->state == OUTBOX_PENDING && e->next_attempt == e->created),
                        .finished = e->finished, .retried = e->retried, .status = e->last_status,
                        .error = e->last_error,
                }, &json);
                if (k < 0)
                        return k;
                k = journal_file_append(j, json, strlen(json));
                if (k < 0)
                        return k;
        }
        return 0;
}

int outbox_compact(Outbox *o, usec_t now) {
        Item *next;
        int k;

        if (!o)
                return -EINVAL;
        mark_forgotten(o, clamp_time(now));
        k = journal_file_compact(o->journal, emit_all, o);
        if (k < 0)
                /* The old file is in place, or (only the directory sync
                 * failed) the new one: memory keeps every entry either way,
                 * at worst a few delivered ids longer than needed. */
                return k;
        for (Item *it = o->head; it; it = next) {
                next = it->next;
                if (it->forget) {
                        item_unlink(o, it);
                        item_free(it);
                }
        }
        o->appended = 0;
        o->unsynced = o->unsynced_enqueues = 0;
        return 0;
}

int outbox_maybe_compact(Outbox *o, usec_t now) {
        int k;

        if (!o || o->appended < MAX((uint64_t) OUTBOX_COMPACT_AFTER_MIN, 2 * (uint64_t) o->n_items))
                return 0;
        k = outbox_compact(o, now);
        if (k < 0) {
                /* try again after as many appends, not at every call */
                o->appended = 0;
                return k;
        }
        return 1;
}

/* ---- open and free ---- */

static int replay_one(const void *payload, size_t size, void *userdata) {
        Outbox *o = userdata;
        Record r = {};
        int k;

        k = outbox_record_from_json(payload, size, &r);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                o->stats->bad_records++;
                return 0;
        }
        k = record_apply(o, &r);
        outbox_record_done(&r);
        if (k == -ENOMEM)
                return k;
        if (k == -ENOENT)
                o->stats->orphans++;
        else if (k < 0)
                o->stats->bad_records++;
        return 0;
}

static void limits_fill(OutboxLimits *l, const OutboxLimits *given) {
        *l = given ? *given : (OutboxLimits) {};
        if (l->max_entries == 0)
                l->max_entries = OUTBOX_MAX_ENTRIES_DEFAULT;
        if (l->max_dead == 0)
                l->max_dead = OUTBOX_MAX_DEAD_DEFAULT;
        if (l->retry_initial == 0)
                l->retry_initial = OUTBOX_RETRY_INITIAL_DEFAULT;
        if (l->retry_max == 0)
                l->retry_max = OUTBOX_RETRY_MAX_DEFAULT;
        if (l->retry_max < l->retry_initial)
                l->retry_max = l->retry_initial;
        if (l->give_up_after == 0)
                l->give_up_after = OUTBOX_GIVE_UP_AFTER_DEFAULT;
        if (l->keep_delivered == 0)
                l->keep_delivered = OUTBOX_KEEP_DELIVERED_DEFAULT;
}

void outbox_set_limits(Outbox *o, const OutboxLimits *limits) {
        if (o)
                limits_fill(&o->limits, limits);
}

int outbox_open(const char *path, const OutboxLimits *limits, Outbox **ret, OutboxStats *ret_stats) {
        _cleanup_(outbox_freep) Outbox *o = NULL;
        OutboxStats stats = {};
        int k;

        if (!path || !ret)
                return -EINVAL;
        o = calloc(1, sizeof(Outbox));
        if (!o)
                return -ENOMEM;
        limits_fill(&o->limits, limits);
        o->sync = true;
        o->stats = &stats;
        k = journal_file_open_recover(path, replay_one, o, &o->journal, &o->recovery);
        o->stats = NULL;
        if (k < 0)
                return k;
        stats.records = o->recovery.records;
        stats.torn_bytes = o->recovery.torn_bytes;
        stats.lost_bytes = o->recovery.lost_bytes;
        stats.damage = o->recovery.damage;

        /* Limits lowered since: make the dead letters fit, saying so. */
        if (o->counts[OUTBOX_DEAD] > o->limits.max_dead) {
                k = drop_dead_for_space(o, o->counts[OUTBOX_DEAD] - o->limits.max_dead, NULL,
                                        clamp_time(now_usec(CLOCK_REALTIME)));
                if (k >= 0)
                        k = outbox_flush(o);
                if (k < 0)
                        return k;
        }
        stats.entries = o->n_items;
        if (ret_stats)
                *ret_stats = stats;
        *ret = TAKE_PTR(o);
        return 0;
}

Outbox *outbox_free(Outbox *o) {
        Item *next;

        if (!o)
                return NULL;
        if (o->journal)
                (void) outbox_flush(o);
        for (Item *it = o->head; it; it = next) {
                next = it->next;
                item_free(it);
        }
        free(o->slots);
        for (size_t i = 0; i < o->n_channels; i++) {
                free(o->channels[i]->name);
                free(o->channels[i]->heap);
                free(o->channels[i]);
        }
        free(o->channels);
        journal_file_free(o->journal);
        journal_recovery_done(&o->recovery);
        free(o);
        return NULL;
}
