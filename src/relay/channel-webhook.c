/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The generic webhook (channel.h): a Standard Webhooks POST whose body is
 *   {"type":"salve.EVENT","timestamp":RFC3339,"data":NOTIFICATION}
 * with webhook-id = the notification's key (the same on every attempt, so
 * the receiver dedupes by it), webhook-timestamp = the time of this
 * attempt, webhook-signature = "v1,..." over id, timestamp and the exact
 * body bytes, when a secret is set.
 *
 * Replies, after the spec's "Delivery success and failure": 2xx is
 * delivered; 408, 409, 425, 429 and 5xx (the receiver is busy, or in the
 * middle of something) are tried again, as is no reply at all; 410 Gone
 * is the receiver saying it wants no more (dead); 3xx is dead (the spec:
 * update the URL rather than follow); other 4xx are dead, because a
 * receiver that refuses a request will refuse the same bytes again
 * (`salvectl outbox retry` sends it once the receiver is fixed). */

#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "channel.h"
#include "sign.h"
#include "strv.h"

static bool header_value_ok(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static int webhook_format(const Notification *n, const ChannelParams *p, ChannelRequest *ret) {
        _cleanup_(channel_request_done) ChannelRequest r = {};
        char ts[NOTIFY_TIME_MAX], type[64];
        const char *event, *text;
        json_object *o, *data = NULL, *v;
        uint64_t secs;
        int k;

        if (!n || !p || !ret || !p->url || !n->key || !*n->key || !header_value_ok(n->key) ||
            !header_value_ok(p->url))
                return -EINVAL;
        event = notify_event_to_string(n->event);
        if (!event || !notify_format_time(ts, n->at))
                return -EINVAL;
        snprintf(type, sizeof type, "salve.%s", event);

        k = notification_to_json_object(n, &data);
        if (k < 0)
                return k;
        o = json_object_new_object();
        if (!o) {
                json_object_put(data);
                return -ENOMEM;
        }
        k = 0;
        if ((v = json_object_new_string(type)) == NULL || json_object_object_add(o, "type", v) < 0)
                k = -ENOMEM;
        if (k >= 0 && ((v = json_object_new_string(ts)) == NULL || json_object_object_add(o, "timestamp", v) < 0))
                k = -ENOMEM;
        if (k >= 0 && json_object_object_add(o, "data", data) < 0)
                k = -ENOMEM;
        else if (k >= 0)
                data = NULL;            /* o owns it now */
        json_object_put(data);
        if (k >= 0) {
                text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                if (!text || !(r.body = strdup(text)))
                        k = -ENOMEM;
        }
        json_object_put(o);
        if (k < 0)
                return k;
        r.body_size = strlen(r.body);

        r.url = strdup(p->url);
        if (!r.url)
                return -ENOMEM;
        secs = p->now / USEC_PER_SEC;
        {
                char *h;
                if (strv_extend(&r.headers, "Content-Type: application/json") < 0)
                        return -ENOMEM;
                if (asprintf(&h, "webhook-id: %s", n->key) < 0 || strv_push(&r.headers, h) < 0)
                        return -ENOMEM;
                if (asprintf(&h, "webhook-timestamp: %" PRIu64, secs) < 0 || strv_push(&r.headers, h) < 0)
                        return -ENOMEM;
        }

        if (p->secret && p->secret_size > 0) {
                _cleanup_free_ char *sig = NULL;
                void *key = NULL;
                size_t key_size = 0;
                char *h;

                k = webhook_secret_decode(p->secret, p->secret_size, &key, &key_size);
                if (k == -EBADMSG)
                        return -EINVAL;         /* a "whsec_" secret that is not base64: config */
                if (k < 0)
                        return k;
                k = webhook_sign(key, key_size, n->key, secs, r.body, r.body_size, &sig);
                OPENSSL_cleanse(key, key_size);
                free(key);
                if (k < 0)
                        return k;
                if (asprintf(&h, "webhook-signature: %s", sig) < 0 || strv_push(&r.headers, h) < 0)
                        return -ENOMEM;
        }

        *ret = r;
        r = (ChannelRequest) {};
        return 0;
}

static DeliveryVerdict webhook_classify(long status, const char *body, size_t body_size, char **ret_reason) {
        DeliveryVerdict v;

        if (status >= 200 && status <= 299)
                v = DELIVERY_OK;
        else if (status == 0 || status == 408 || status == 409 || status == 425 || status == 429 ||
                 (status >= 500 && status <= 599))
                v = DELIVERY_RETRY;
        else if (status >= 300 && status <= 499)
                v = DELIVERY_DEAD;
        else
                v = DELIVERY_RETRY;     /* not HTTP as we know it: a broken proxy, perhaps */

        if (ret_reason) {
                *ret_reason = NULL;
                if (v != DELIVERY_OK) {
                        if (status == 410)
                                *ret_reason = strdup("HTTP 410: the receiver wants no more webhooks (Gone)");
                        else if (status >= 300 && status <= 399) {
                                if (asprintf(ret_reason, "HTTP %ld: redirects are not followed; configure the "
                                             "URL it points to", status) < 0)
                                        *ret_reason = NULL;
                        }
                        else
                                (void) channel_reply_reason(status, body, body_size, ret_reason);
                }
        }
        return v;
}

const ChannelOps channel_webhook = {
        .type = "webhook",
        .format = webhook_format,
        .classify = webhook_classify,
};
