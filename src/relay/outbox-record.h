/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The outbox's journal records, one change each (docs/outbox-format.md),
 * to and from JSON: what outbox.c appends and replays. Internal to the
 * outbox. */

#include <stdbool.h>
#include <stdint.h>

#include "outbox.h"

#define OUTBOX_STATUS_MAX 9999L
#define OUTBOX_TIME_MAX ((usec_t) INT64_MAX)

typedef enum RecordType {
        RECORD_ENQUEUED,
        RECORD_ATTEMPT,
        RECORD_DELIVERED,
        RECORD_DEAD,
        RECORD_RETRY,
        RECORD_DROPPED,
        RECORD_COUNTERS,
        _RECORD_TYPE_MAX,
        _RECORD_TYPE_INVALID = -EINVAL,
} RecordType;

/* One change. Live calls fill it with borrowed strings; a parsed one owns
 * them (record_done()). record_apply() copies what it keeps. */
typedef struct Record {
        RecordType type;
        usec_t at;
        char *id;                       /* all but enqueued and counters */
        char *channel, *key, *run_id, *payload; /* enqueued */
        long status;
        char *error;
        usec_t next;                    /* attempt; enqueued snapshot */
        bool has_next;                  /* enqueued: next given (else a PENDING one is due at "at") */
        bool for_space;                 /* dropped: for space (else by a person) */
        /* enqueued by compaction: the whole entry */
        OutboxState state;
        unsigned attempts;
        usec_t last_attempt, finished, retried;
        /* counters */
        uint64_t dropped_dead, dropped_people;
} Record;

const char *outbox_record_type_to_string(RecordType t);
RecordType outbox_record_type_from_string(const char *s);
void outbox_record_done(Record *r);

/* What a channel name, a key and a run id may be: printable, bounded; no
 * "/" in a channel name (an id is CHANNEL/KEY). */
bool outbox_channel_ok(const char *s);
bool outbox_key_ok(const char *s);
bool outbox_run_id_ok(const char *s);

/* The record as one line of JSON (allocated). -EINVAL for a type it does
 * not know, -ENOMEM. */
int outbox_record_to_json(const Record *r, char **ret);
/* Parses and checks one record: -EBADMSG for anything but a well-formed
 * record of this version, with every field of the right type and range. */
int outbox_record_from_json(const void *payload, size_t size, Record *ret);
