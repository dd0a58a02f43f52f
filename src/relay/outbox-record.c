/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The outbox's records (outbox-record.h; docs/outbox-format.md): to and
 * from the JSON a journal record holds. Pure: no state, no I/O. */

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "outbox-record.h"

#define RECORD_VERSION 1

static const char * const record_type_table[_RECORD_TYPE_MAX] = {
        [RECORD_ENQUEUED] = "enqueued",
        [RECORD_ATTEMPT] = "attempt",
        [RECORD_DELIVERED] = "delivered",
        [RECORD_DEAD] = "dead",
        [RECORD_RETRY] = "retry",
        [RECORD_DROPPED] = "dropped",
        [RECORD_COUNTERS] = "counters",
};

const char *outbox_record_type_to_string(RecordType t) {
        return t >= 0 && t < _RECORD_TYPE_MAX ? record_type_table[t] : NULL;
}

RecordType outbox_record_type_from_string(const char *s) {
        for (int i = 0; s && i < _RECORD_TYPE_MAX; i++)
                if (streq(record_type_table[i], s))
                        return (RecordType) i;
        return _RECORD_TYPE_INVALID;
}

void outbox_record_done(Record *r) {
        free(r->id);
        free(r->channel);
        free(r->key);
        free(r->run_id);
        free(r->payload);
        free(r->error);
        *r = (Record) {};
}

static bool text_ok(const char *s, size_t max, bool slash_ok) {
        size_t n = 0;

        if (!s || !*s)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++, n++)
                if (*p < 0x20 || *p == 0x7f || (!slash_ok && *p == '/') || n >= max)
                        return false;
        return true;
}

bool outbox_channel_ok(const char *s) {
        return text_ok(s, OUTBOX_CHANNEL_MAX, false);
}

bool outbox_key_ok(const char *s) {
        return text_ok(s, OUTBOX_KEY_MAX, true);
}

bool outbox_run_id_ok(const char *s) {
        return !s || text_ok(s, OUTBOX_KEY_MAX, true);
}

static void add_string(json_object *o, const char *key, const char *value) {
        if (value)
                json_object_object_add(o, key, json_object_new_string(value));
}

static void add_u64(json_object *o, const char *key, uint64_t value) {
        if (value != 0)
                json_object_object_add(o, key, json_object_new_int64((int64_t) MIN(value, (uint64_t) INT64_MAX)));
}

int outbox_record_to_json(const Record *r, char **ret) {
        json_object *o = json_object_new_object();
        const char *text;
        char *s;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "v", json_object_new_int(RECORD_VERSION));
        add_string(o, "type", outbox_record_type_to_string(r->type));
        add_u64(o, "at", r->at);
        add_string(o, "id", r->id);
        switch (r->type) {
        case RECORD_ENQUEUED:
                add_string(o, "channel", r->channel);
                add_string(o, "key", r->key);
                add_string(o, "run", r->run_id);
                add_string(o, "payload", r->payload);
                if (r->state != OUTBOX_PENDING)
                        add_string(o, "state", outbox_state_to_string(r->state));
                add_u64(o, "attempts", r->attempts);
                add_u64(o, "last_attempt", r->last_attempt);
                if (r->has_next)
                        json_object_object_add(o, "next", json_object_new_int64((int64_t) MIN(r->next, OUTBOX_TIME_MAX)));
                add_u64(o, "finished", r->finished);
                add_u64(o, "retried", r->retried);
                add_u64(o, "status", (uint64_t) r->status);
                add_string(o, "error", r->error);
                break;
        case RECORD_ATTEMPT:
                add_u64(o, "next", r->next);
                _fallthrough_;
        case RECORD_DEAD:
                add_u64(o, "status", (uint64_t) r->status);
                add_string(o, "error", r->error);
                break;
        case RECORD_DELIVERED:
                add_u64(o, "status", (uint64_t) r->status);
                break;
        case RECORD_RETRY:
                break;
        case RECORD_DROPPED:
                add_string(o, "why", r->for_space ? "space" : "person");
                break;
        case RECORD_COUNTERS:
                add_u64(o, "dropped_dead", r->dropped_dead);
                add_u64(o, "dropped", r->dropped_people);
                break;
        default:
                json_object_put(o);
                return -EINVAL;
        }
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        s = text ? strdup(text) : NULL;
        json_object_put(o);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* A missing field leaves the default; a present one of the wrong type, or
 * out of range, is an error. */
static int get_string(json_object *o, const char *key, bool required, char **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return required ? -EBADMSG : 0;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        /* an embedded NUL would make the text say less than the record */
        if (strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
                return -EBADMSG;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static int get_u64(json_object *o, const char *key, bool required, uint64_t max, uint64_t *ret) {
        json_object *v;
        int64_t n;

        if (!json_object_object_get_ex(o, key, &v))
                return required ? -EBADMSG : 0;
        if (!json_object_is_type(v, json_type_int))
                return -EBADMSG;
        errno = 0;
        n = json_object_get_int64(v);
        if (n < 0 || errno != 0 || (uint64_t) n > max)
                return -EBADMSG;
        *ret = (uint64_t) n;
        return 0;
}

static int get_usec(json_object *o, const char *key, bool required, usec_t *ret) {
        return get_u64(o, key, required, OUTBOX_TIME_MAX, ret);
}

static int get_status(json_object *o, long *ret) {
        uint64_t v = 0;
        int r = get_u64(o, "status", false, OUTBOX_STATUS_MAX, &v);
        if (r < 0)
                return r;
        *ret = (long) v;
        return 0;
}

static int get_error(json_object *o, char **ret) {
        int r = get_string(o, "error", false, ret);
        if (r < 0)
                return r;
        return *ret && strlen(*ret) > OUTBOX_ERROR_MAX ? -EBADMSG : 0;
}

static int parse_enqueued(json_object *o, Record *r) {
        _cleanup_free_ char *state = NULL;
        uint64_t attempts = 0;
        int k;

        if ((k = get_string(o, "channel", true, &r->channel)) < 0 || (k = get_string(o, "key", true, &r->key)) < 0 ||
            (k = get_string(o, "run", false, &r->run_id)) < 0 ||
            (k = get_string(o, "payload", false, &r->payload)) < 0 ||
            (k = get_string(o, "state", false, &state)) < 0 ||
            (k = get_u64(o, "attempts", false, UINT_MAX, &attempts)) < 0 ||
            (k = get_usec(o, "last_attempt", false, &r->last_attempt)) < 0 ||
            (k = get_usec(o, "next", false, &r->next)) < 0 ||
            (k = get_usec(o, "finished", false, &r->finished)) < 0 ||
            (k = get_usec(o, "retried", false, &r->retried)) < 0 || (k = get_status(o, &r->status)) < 0 ||
            (k = get_error(o, &r->error)) < 0)
                return k;
        r->attempts = (unsigned) attempts;
        r->has_next = json_object_object_get_ex(o, "next", NULL);
        r->state = state ? outbox_state_from_string(state) : OUTBOX_PENDING;
        if (r->state < 0)
                return -EBADMSG;
        if (!outbox_channel_ok(r->channel) || !outbox_key_ok(r->key) || !outbox_run_id_ok(r->run_id))
                return -EBADMSG;
        /* what is still to be sent must say what */
        if (r->state != OUTBOX_DELIVERED && (!r->payload || strlen(r->payload) > OUTBOX_PAYLOAD_MAX))
                return -EBADMSG;
        return 0;
}

static int parse_object(json_object *o, Record *r) {
        _cleanup_free_ char *type = NULL, *why = NULL;
        uint64_t v = 0;
        int k;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if ((k = get_u64(o, "v", true, INT32_MAX, &v)) < 0)
                return k;
        if (v != RECORD_VERSION)
                return -EBADMSG;
        if ((k = get_string(o, "type", true, &type)) < 0 || (k = get_usec(o, "at", false, &r->at)) < 0)
                return k;
        r->type = outbox_record_type_from_string(type);
        if (r->type < 0)
                return -EBADMSG;
        if (r->type != RECORD_ENQUEUED && r->type != RECORD_COUNTERS) {
                if ((k = get_string(o, "id", true, &r->id)) < 0)
                        return k;
                if (strlen(r->id) > OUTBOX_CHANNEL_MAX + 1 + OUTBOX_KEY_MAX)
                        return -EBADMSG;
        }

        switch (r->type) {
        case RECORD_ENQUEUED:
                return parse_enqueued(o, r);
        case RECORD_ATTEMPT:
                if ((k = get_usec(o, "next", false, &r->next)) < 0)
                        return k;
                _fallthrough_;
        case RECORD_DEAD:
                if ((k = get_status(o, &r->status)) < 0 || (k = get_error(o, &r->error)) < 0)
                        return k;
                return 0;
        case RECORD_DELIVERED:
                return get_status(o, &r->status);
        case RECORD_RETRY:
                return 0;
        case RECORD_DROPPED:
                if ((k = get_string(o, "why", false, &why)) < 0)
                        return k;
                if (why && !streq(why, "space") && !streq(why, "person"))
                        return -EBADMSG;
                r->for_space = why && streq(why, "space");
                return 0;
        case RECORD_COUNTERS:
                if ((k = get_u64(o, "dropped_dead", false, INT64_MAX, &r->dropped_dead)) < 0 ||
                    (k = get_u64(o, "dropped", false, INT64_MAX, &r->dropped_people)) < 0)
                        return k;
                return 0;
        default:
                return -EBADMSG;
        }
}

int outbox_record_from_json(const void *payload, size_t size, Record *ret) {
        json_tokener *tok;
        json_object *o;
        Record r = {};
        int k;

        if (!payload || size == 0 || size > INT32_MAX)
                return -EBADMSG;
        tok = json_tokener_new_ex(16);
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, payload, (int) size);
        k = json_tokener_get_error(tok) == json_tokener_success && o && json_tokener_get_parse_end(tok) == size ? 0
                                                                                                           : -EBADMSG;
        json_tokener_free(tok);
        if (k == 0)
                k = parse_object(o, &r);
        json_object_put(o);
        if (k < 0) {
                outbox_record_done(&r);
                return k;
        }
        *ret = r;
        return 0;
}
