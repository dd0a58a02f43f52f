/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The channel table and what the channels share (channel.h): finding a
 * type's operations, freeing a request, UTF-8-safe cutting, and the
 * reason text for a failed delivery. Invariant of the reason: whatever a
 * notifier replies (garbage, megabytes, deep JSON, bytes that are not
 * UTF-8), the text is short, printable UTF-8 and never NULL on success. */

#include <ctype.h>
#include <json-c/json.h>

#include "channel.h"
#include "string-table.h"
#include "string-util.h"
#include "strv.h"

#define REASON_MESSAGE_MAX 300
#define REPLY_PARSE_MAX (64 * 1024)     /* larger replies are not parsed, only quoted */

static const ChannelOps *const channel_table[] = {
        &channel_webhook,
        &channel_alertmanager,
        &channel_pagerduty,
};

const ChannelOps *channel_ops_find(const char *type) {
        for (size_t i = 0; type && i < ELEMENTSOF(channel_table); i++)
                if (streq(channel_table[i]->type, type))
                        return channel_table[i];
        return NULL;
}

void channel_request_done(ChannelRequest *r) {
        if (!r)
                return;
        free(r->url);
        strv_free(r->headers);
        free(r->body);
        *r = (ChannelRequest) {};
}

static const char * const delivery_verdict_table[_DELIVERY_VERDICT_MAX] = {
        [DELIVERY_OK] = "ok",
        [DELIVERY_RETRY] = "retry",
        [DELIVERY_DEAD] = "dead",
};
DEFINE_STRING_TABLE_TO_STRING(delivery_verdict, DeliveryVerdict, delivery_verdict_table, _DELIVERY_VERDICT_MAX);

size_t utf8_cut(const char *s, size_t max) {
        size_t len = strnlen(s, max + 1);

        if (len <= max)
                return len;
        /* s[max] is the first byte left out: back up while it continues a sequence */
        while (max > 0 && ((unsigned char) s[max] & 0xC0) == 0x80)
                max--;
        return max;
}

/* Appends text to buf (of REASON_MESSAGE_MAX + 1) as printable UTF-8:
 * control characters become spaces, runs of blanks one space, bytes that
 * are not UTF-8 '?'. Stops when full, on a character boundary. */
static void append_clean(char *buf, size_t *n, const char *text, size_t size) {
        for (size_t i = 0; i < size && *n < REASON_MESSAGE_MAX;) {
                unsigned char c = (unsigned char) text[i];
                bool nul;

                if (c < 0x80) {
                        char o = c < 0x20 || c == 0x7f ? ' ' : (char) c;
                        if (!(o == ' ' && (*n == 0 || buf[*n - 1] == ' ')))
                                buf[(*n)++] = o;
                        i++;
                        continue;
                }
                size_t seq = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
                if (seq > 1 && i + seq <= size && utf8_first_invalid(text + i, seq, &nul) < 0) {
                        if (*n + seq > REASON_MESSAGE_MAX)
                                break;
                        memcpy(buf + *n, text + i, seq);
                        *n += seq;
                        i += seq;
                } else {
                        buf[(*n)++] = '?';
                        i++;
                }
        }
        buf[*n] = 0;
}

static void append_json_string(char *buf, size_t *n, json_object *v) {
        if (!json_object_is_type(v, json_type_string))
                return;
        append_clean(buf, n, json_object_get_string(v), (size_t) json_object_get_string_len(v));
}

/* The notifier's own words, when the body is JSON that has them. */
static bool reply_message(const char *body, size_t size, char *buf, size_t *n) {
        json_tokener *tok;
        json_object *o, *v;
        bool found = false;

        if (size == 0 || size > REPLY_PARSE_MAX)
                return false;
        tok = json_tokener_new_ex(16);
        if (!tok)
                return false;
        o = json_tokener_parse_ex(tok, body, (int) size);
        if (json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        if (!o)
                return false;

        if (json_object_is_type(o, json_type_string)) {
                append_json_string(buf, n, o);
                found = *n > 0;
        } else if (json_object_is_type(o, json_type_object)) {
                if ((json_object_object_get_ex(o, "message", &v) && json_object_is_type(v, json_type_string)) ||
                    (json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_string))) {
                        append_json_string(buf, n, v);
                        found = *n > 0;
                }
                if (json_object_object_get_ex(o, "errors", &v) && json_object_is_type(v, json_type_array)) {
                        size_t len = json_object_array_length(v);
                        for (size_t i = 0; i < len && i < 8; i++) {
                                json_object *e = json_object_array_get_idx(v, i);
                                if (!json_object_is_type(e, json_type_string))
                                        continue;
                                append_clean(buf, n, found ? "; " : "", found ? 2 : 0);
                                append_json_string(buf, n, e);
                                found = true;
                        }
                }
        }
        json_object_put(o);
        return found;
}

/* Alertmanager's and PagerDuty's replies read alike: 2xx taken; no reply,
 * 408, 429 and 5xx retried; the other 3xx and 4xx refused for good (a
 * bad event, key or URL); anything else retried. */
DeliveryVerdict channel_classify_api(long status, const char *body, size_t body_size, char **ret_reason) {
        DeliveryVerdict v;

        if (status >= 200 && status <= 299)
                v = DELIVERY_OK;
        else if (status == 0 || status == 408 || status == 429 || (status >= 500 && status <= 599))
                v = DELIVERY_RETRY;
        else if (status >= 300 && status <= 499)
                v = DELIVERY_DEAD;
        else
                v = DELIVERY_RETRY;
        if (ret_reason) {
                *ret_reason = NULL;
                if (v != DELIVERY_OK)
                        (void) channel_reply_reason(status, body, body_size, ret_reason);
        }
        return v;
}

int channel_reply_reason(long status, const char *body, size_t body_size, char **ret) {
        char buf[REASON_MESSAGE_MAX + 1] = "";
        size_t n = 0;
        int k;

        if (!ret)
                return -EINVAL;
        if (!body)
                body_size = 0;
        if (status == 0)
                k = asprintf(ret, "no reply (the request did not complete)");
        else {
                if (!reply_message(body, body_size, buf, &n)) {
                        n = 0;
                        append_clean(buf, &n, body, MIN(body_size, (size_t) REASON_MESSAGE_MAX * 4));
                }
                while (n > 0 && buf[n - 1] == ' ')
                        buf[--n] = 0;
                k = n > 0 ? asprintf(ret, "HTTP %ld: %s", status, buf) : asprintf(ret, "HTTP %ld", status);
        }
        if (k < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}
