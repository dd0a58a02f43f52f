/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: remote acknowledgements (src/ack/ack-verify.c) and the
 * replay file (src/ack/ack-replay.c). The first byte picks what the rest
 * is:
 *   'R'  a raw request: "METHOD PATH\n", "Name: value\n"..., "\n", body;
 *   'W'  a body that the harness signs as a Standard Webhook, so the
 *        parser behind the signature is reached;
 *   'P'  a body that the harness signs as PagerDuty does;
 *   'T'  "RUN\nSTEP\nACTION\nAPPROVER\n" then a form body: the harness
 *        mints an approval token for those fields and POSTs it with the
 *        body appended, then GETs it;
 *   'F'  a replay file.
 * Every verdict must be a status 200..599 with a reason; an accepted one
 * names a run and step, and a GET never acts. The reply is formatted
 * each time. */

#include <stdint.h>
#include <stdio.h>

#include "ack-replay.h"
#include "ack-verify.h"
#include "sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((usec_t) 1796220000ULL * USEC_PER_SEC)

static const char wh_key[] = "0123456789abcdef0123456789abcdef";
static const char pd_key[] = "pd-secret";
static const char approval_key[] = "approval key: 32 bytes of secret";

static int lookup(const char *incident_key, char **ret_run, char **ret_step, void *userdata) {
        if (strcmp(incident_key, "known") != 0)
                return -ENOENT;
        *ret_run = strdup("run-1");
        *ret_step = strdup("step");
        return *ret_run && *ret_step ? 0 : -ENOMEM;
}

static void check(const AckRequest *req, const AckReplay *replay) {
        _cleanup_free_ char *wh_secret = NULL, *b64 = NULL, *reply = NULL;
        AckVerdict v;
        const char *ctype;

        if (base64_encode(wh_key, strlen(wh_key), &b64) < 0 || asprintf(&wh_secret, "whsec_%s", b64) < 0)
                abort();
        AckKeys keys = {
                .webhook_secrets = (char *[]) { wh_secret, NULL },
                .pagerduty_secrets = (char *[]) { (char *) "old", (char *) pd_key, NULL },
                .approval_key = approval_key,
                .host = "db1",
                .lookup = lookup,
        };

        if (ack_verify(req, &keys, replay, NOW, &v) < 0)
                return;
        if (v.status < 200 || v.status > 599 || !v.reason)
                abort();
        if (v.action > ACK_ACTION_NONE && (!v.run || !v.step || !v.actor || !v.replay_id))
                abort();
        if (strcmp(req->method, "GET") == 0 && v.action > ACK_ACTION_NONE)
                abort();
        if (ack_reply_format(&v, v.page ? "tok" : NULL, &ctype, &reply) < 0)
                abort();
        ack_verdict_done(&v);
}

static void raw(const char *text, size_t size, const AckReplay *replay) {
        _cleanup_free_ char *copy = strndup(text, size);
        AckHeader headers[ACK_HEADERS_MAX + 2];
        size_t n = 0;
        char *p, *nl, *sp, *method, *path;

        if (!copy)
                return;
        p = copy;
        nl = strchr(p, '\n');
        if (!nl)
                return;
        *nl = 0;
        sp = strchr(p, ' ');
        if (!sp)
                return;
        *sp = 0;
        method = p;
        path = sp + 1;
        p = nl + 1;
        while ((nl = strchr(p, '\n')) && nl != p && n < ELEMENTSOF(headers)) {
                char *colon;

                *nl = 0;
                colon = strchr(p, ':');
                if (colon) {
                        *colon = 0;
                        headers[n++] = (AckHeader) { p, colon[1] == ' ' ? colon + 2 : colon + 1 };
                }
                p = nl + 1;
        }
        if (nl == p)
                p++;
        /* The body is what is left of the input, NULs included. */
        AckRequest req = {
                .method = method,
                .path = path,
                .headers = headers,
                .n_headers = n,
                .body = text + (p - copy),
                .body_size = (size_t) (p - copy) <= size ? size - (size_t) (p - copy) : 0,
        };
        check(&req, replay);
}

static void webhook(const uint8_t *body, size_t size, const AckReplay *replay) {
        _cleanup_free_ char *sig = NULL;

        if (webhook_sign(wh_key, strlen(wh_key), "msg_1", NOW / USEC_PER_SEC, body, size, &sig) < 0)
                return;
        const AckHeader h[] = {
                { "webhook-id", "msg_1" },
                { "webhook-timestamp", "1796220000" },
                { "webhook-signature", sig },
        };
        AckRequest req = { "POST", "/webhook", h, ELEMENTSOF(h), body, size };
        check(&req, replay);
}

static void pagerduty(const uint8_t *body, size_t size, const AckReplay *replay) {
        uint8_t mac[HMAC_SHA256_SIZE];
        char hdr[3 + 2 * HMAC_SHA256_SIZE + 1] = "v1=";

        if (hmac_sha256(pd_key, strlen(pd_key), body, size, mac) < 0)
                return;
        for (size_t i = 0; i < sizeof(mac); i++)
                sprintf(hdr + 3 + 2 * i, "%02x", mac[i]);
        const AckHeader h[] = { { "X-PagerDuty-Signature", hdr } };
        AckRequest req = { "POST", "/pagerduty", h, ELEMENTSOF(h), body, size };
        check(&req, replay);
}

static void token(const char *text, size_t size, const AckReplay *replay) {
        _cleanup_free_ char *copy = strndup(text, size), *t = NULL, *body = NULL, *path = NULL;
        char *f[4], *p;

        if (!copy)
                return;
        p = copy;
        for (size_t i = 0; i < ELEMENTSOF(f); i++) {
                char *nl = strchr(p, '\n');
                if (!nl)
                        return;
                *nl = 0;
                f[i] = p;
                p = nl + 1;
        }
        if (approval_token_make(approval_key, strlen(approval_key), f[0], f[1], f[2], f[3], NOW + USEC_PER_HOUR,
                                "n1", &t) < 0)
                return;
        if (asprintf(&body, "token=%s&%s", t, p) < 0 || asprintf(&path, "/approve?token=%s", t) < 0)
                return;
        const AckHeader h[] = { { "Content-Type", "application/x-www-form-urlencoded" } };
        AckRequest post = { "POST", "/approve", h, ELEMENTSOF(h), body, strlen(body) };
        check(&post, replay);
        AckRequest get = { "GET", path, NULL, 0, NULL, 0 };
        check(&get, replay);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(ack_replay_freep) AckReplay *replay = NULL;

        if (size < 1 || size > 2 * ACK_BODY_MAX)
                return 0;
        if (ack_replay_new(16, &replay) < 0 || ack_replay_add(replay, "webhook:seen", NOW + USEC_PER_HOUR, NOW) < 0)
                return 0;

        switch (data[0]) {
        case 'R':
                raw((const char *) data + 1, size - 1, replay);
                break;
        case 'W':
                webhook(data + 1, size - 1, replay);
                break;
        case 'P':
                pagerduty(data + 1, size - 1, replay);
                break;
        case 'T':
                token((const char *) data + 1, size - 1, replay);
                break;
        case 'F': {
                FILE *f = fmemopen((void *) (data + 1), size - 1, "r");
                if (f) {
                        (void) ack_replay_read(replay, f, NOW, NULL);
                        fclose(f);
                }
                break;
        }
        default:
                break;
        }
        return 0;
}
