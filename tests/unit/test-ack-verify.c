/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The remote-acknowledgement verifier (src/ack/ack-verify.c) and its
 * replay set (src/ack/ack-replay.c): every refusal, with signatures made
 * here by OpenSSL directly (not by sign.c), so a wrong signed string in
 * either shows up as a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include "ack-replay.h"
#include "ack-verify.h"
#include "manager-ack.h"
#include "manager.h"
#include "run-store.h"
#include "sign.h"
#include "strv.h"

#define STRV_MAKE(...) ((char *[]) { __VA_ARGS__, NULL })

/* 2026-12-02 14:00:00 UTC */
#define NOW ((usec_t) 1796220000ULL * USEC_PER_SEC)

/* Raw keys; the Standard Webhooks secret is "whsec_" + base64(key). */
static const char wh_key1[] = "0123456789abcdef0123456789abcdef";
static const char wh_key2[] = "another key of thirty-two bytes!";
static const char pd_key1[] = "pd-secret-old";
static const char pd_key2[] = "pd-secret-new";
static const char pd_key3[] = "pd-secret-next";
static const char approval_key[] = "approval key: 32 bytes of secret";

static char *wh_secret(const char *key) {
        unsigned char out[128];
        char *s;
        int n = EVP_EncodeBlock(out, (const unsigned char *) key, (int) strlen(key));

        assert_true(n > 0);
        assert_true(asprintf(&s, "whsec_%.*s", n, out) > 0);
        return s;
}

static char *b64_hmac(const char *key, const char *msg, size_t len) {
        unsigned char mac[EVP_MAX_MD_SIZE], out[128];
        unsigned mac_len = 0;
        int n;

        assert_non_null(HMAC(EVP_sha256(), key, (int) strlen(key), (const unsigned char *) msg, len, mac, &mac_len));
        n = EVP_EncodeBlock(out, mac, (int) mac_len);
        return strndup((char *) out, (size_t) n);
}

static char *hex_hmac(const char *key, const char *msg, size_t len) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        char *s = malloc(2 * EVP_MAX_MD_SIZE + 1);

        assert_non_null(HMAC(EVP_sha256(), key, (int) strlen(key), (const unsigned char *) msg, len, mac, &mac_len));
        for (unsigned i = 0; i < mac_len; i++)
                sprintf(s + 2 * i, "%02x", mac[i]);
        return s;
}

typedef struct Fixture {
        char *wh1, *wh2;
        char **wh_secrets, **pd_secrets;
        AckKeys keys;
        AckReplay *replay;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        f->wh1 = wh_secret(wh_key1);
        f->wh2 = wh_secret(wh_key2);
        f->wh_secrets = strv_copy(STRV_MAKE(f->wh1, f->wh2));
        f->pd_secrets = strv_copy(STRV_MAKE((char *) pd_key1, (char *) pd_key2, (char *) pd_key3));
        f->keys = (AckKeys) {
                .webhook_secrets = f->wh_secrets,
                .pagerduty_secrets = f->pd_secrets,
                .approval_key = approval_key,
                .tolerance = 5 * USEC_PER_MINUTE,
                .host = "db1",
        };
        assert_int_equal(ack_replay_new(8, &f->replay), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        strv_free(f->wh_secrets);
        strv_free(f->pd_secrets);
        free(f->wh1);
        free(f->wh2);
        ack_replay_free(f->replay);
        free(f);
        return 0;
}

/* ---- requests ---- */

typedef struct Req {
        AckHeader h[8];
        size_t n;
        char *owned[8];
        size_t n_owned;
        AckRequest r;
} Req;

static void req_done(Req *q) {
        for (size_t i = 0; i < q->n_owned; i++)
                free(q->owned[i]);
}

static const char *req_own(Req *q, char *s) {
        q->owned[q->n_owned++] = s;
        return s;
}

static void req_header(Req *q, const char *name, const char *value) {
        q->h[q->n++] = (AckHeader) { name, value };
        q->r.headers = q->h;
        q->r.n_headers = q->n;
}

/* A Standard Webhooks request signed with key at timestamp ts. */
static void webhook_req(Req *q, const char *key, const char *id, uint64_t ts, const char *body) {
        _cleanup_free_ char *msg = NULL, *sig = NULL;
        char *tss, *hdr;

        *q = (Req) { .r = { .method = "POST", .path = "/webhook", .body = body, .body_size = strlen(body) } };
        assert_true(asprintf(&tss, "%" PRIu64, ts) > 0);
        assert_true(asprintf(&msg, "%s.%s.%s", id, tss, body) > 0);
        sig = b64_hmac(key, msg, strlen(msg));
        assert_true(asprintf(&hdr, "v1,bm90IHRoaXMgb25l v1,%s", sig) > 0);
        req_header(q, "Webhook-Id", id);
        req_header(q, "Webhook-Timestamp", req_own(q, tss));
        req_header(q, "Webhook-Signature", req_own(q, hdr));
        req_header(q, "Content-Type", "application/json");
}

static const char ack_body[] = "{\"action\":\"ack\",\"run\":\"db-restore-1\",\"step\":\"approve-restore\","
                               "\"actor\":\"jane\",\"comment\":\"on it\"}";

static void verify(const Fixture *f, const Req *q, usec_t now, AckVerdict *v) {
        assert_int_equal(ack_verify(&q->r, &f->keys, f->replay, now, v), 0);
        assert_non_null(v->reason);
}

static void assert_refused(const AckVerdict *v, unsigned status, const char *reason_part) {
        if (v->status != status || !strstr(v->reason, reason_part))
                print_error("got %u \"%s\", wanted %u \"...%s...\"\n", v->status, v->reason, status, reason_part);
        assert_int_equal(v->status, status);
        assert_non_null(strstr(v->reason, reason_part));
        assert_int_equal(v->action, _ACK_ACTION_INVALID);
        assert_null(v->run);
        assert_null(v->replay_id);
}

static void test_webhook_ok(void **state) {
        Fixture *f = *state;
        AckVerdict v;
        Req q;

        webhook_req(&q, wh_key2, "msg_2a", NOW / USEC_PER_SEC - 60, ack_body);
        verify(f, &q, NOW, &v);
        assert_int_equal(v.status, 200);
        assert_int_equal(v.action, ACK_ACTION_ACK);
        assert_int_equal(v.route, ACK_ROUTE_WEBHOOK);
        assert_string_equal(v.run, "db-restore-1");
        assert_string_equal(v.step, "approve-restore");
        assert_string_equal(v.actor, "webhook:jane");
        assert_string_equal(v.via, "webhook");
        assert_string_equal(v.comment, "on it");
        assert_string_equal(v.replay_id, "webhook:msg_2a");
        /* Remembered for as long as the timestamp would be accepted. */
        assert_true(v.replay_until > NOW - 60 * USEC_PER_SEC + f->keys.tolerance);
        ack_verdict_done(&v);
        req_done(&q);

        /* The key form instead of run and step; resolve. */
        webhook_req(&q, wh_key1, "msg_2b", NOW / USEC_PER_SEC,
                    "{\"action\":\"resolve\",\"key\":\"salve/db1/db-restore-1/approve-restore/human-needed/0/1\"}");
        verify(f, &q, NOW, &v);
        assert_int_equal(v.status, 200);
        assert_int_equal(v.action, ACK_ACTION_RESOLVE);
        assert_string_equal(v.run, "db-restore-1");
        assert_string_equal(v.step, "approve-restore");
        assert_string_equal(v.actor, "webhook:unnamed");
        ack_verdict_done(&v);
        req_done(&q);
}

static void test_webhook_bad_signature(void **state) {
        Fixture *f = *state;
        AckVerdict v;
        Req q;

        /* Signed with a key salve does not hold. */
        webhook_req(&q, "not our key at all, thirty-two!!", "msg_3", NOW / USEC_PER_SEC, ack_body);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 401, "bad signature");
        ack_verdict_done(&v);
        req_done(&q);

        /* A body changed after signing. */
        webhook_req(&q, wh_key1, "msg_3", NOW / USEC_PER_SEC, ack_body);
        q.r.body = "{\"action\":\"ack\",\"run\":\"other-run\",\"step\":\"approve-restore\"}";
        q.r.body_size = strlen(q.r.body);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 401, "bad signature");
        ack_verdict_done(&v);
        req_done(&q);

        /* The id changed after signing: the id is signed too. */
        webhook_req(&q, wh_key1, "msg_3", NOW / USEC_PER_SEC, ack_body);
        q.h[0].value = "msg_4";
        verify(f, &q, NOW, &v);
        assert_refused(&v, 401, "bad signature");
        ack_verdict_done(&v);
        req_done(&q);

        /* No signature header at all. */
        webhook_req(&q, wh_key1, "msg_3", NOW / USEC_PER_SEC, ack_body);
        q.h[2].name = "X-Other";
        verify(f, &q, NOW, &v);
        assert_refused(&v, 400, "missing header webhook-signature");
        ack_verdict_done(&v);
        req_done(&q);
}

static void test_webhook_replay(void **state) {
        Fixture *f = *state;
        AckVerdict v;
        Req q;

        webhook_req(&q, wh_key1, "msg_5", NOW / USEC_PER_SEC, ack_body);
        verify(f, &q, NOW, &v);
        assert_int_equal(v.status, 200);
        /* The pure verifier changed nothing: the same request passes
         * again until the caller remembers it. */
        assert_int_equal(ack_replay_size(f->replay), 0);
        assert_int_equal(ack_replay_add(f->replay, v.replay_id, v.replay_until, NOW), 0);
        ack_verdict_done(&v);

        verify(f, &q, NOW + USEC_PER_SEC, &v);
        assert_refused(&v, 409, "replay");
        ack_verdict_done(&v);
        req_done(&q);
}

static void test_webhook_skew(void **state) {
        Fixture *f = *state;
        AckVerdict v;
        Req q;

        webhook_req(&q, wh_key1, "msg_6", NOW / USEC_PER_SEC - 5 * 60 - 1, ack_body);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 401, "in the past");
        ack_verdict_done(&v);
        req_done(&q);

        webhook_req(&q, wh_key1, "msg_6", NOW / USEC_PER_SEC + 5 * 60 + 1, ack_body);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 401, "in the future");
        ack_verdict_done(&v);
        req_done(&q);

        /* Just inside the window. */
        webhook_req(&q, wh_key1, "msg_6", NOW / USEC_PER_SEC - 5 * 60, ack_body);
        verify(f, &q, NOW, &v);
        assert_int_equal(v.status, 200);
        ack_verdict_done(&v);
        req_done(&q);

        webhook_req(&q, wh_key1, "msg_6", 0, ack_body);
        q.h[1].value = "12x";
        verify(f, &q, NOW, &v);
        assert_refused(&v, 400, "webhook-timestamp");
        ack_verdict_done(&v);
        req_done(&q);
}

static void test_webhook_cannot_approve(void **state) {
        static const char * const bodies[] = {
                "{\"action\":\"approve\",\"run\":\"db-restore-1\",\"step\":\"approve-restore\"}",
                "{\"action\":\"reject\",\"run\":\"db-restore-1\",\"step\":\"approve-restore\"}",
                "{\"action\":\"done\",\"run\":\"db-restore-1\",\"step\":\"approve-restore\"}",
        };
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                AckVerdict v;
                Req q;

                webhook_req(&q, wh_key1, "msg_7", NOW / USEC_PER_SEC, bodies[i]);
                verify(f, &q, NOW, &v);
                assert_refused(&v, 403, "approval token");
                ack_verdict_done(&v);
                req_done(&q);
        }
}

static void test_webhook_malformed(void **state) {
        static const struct {
                const char *body;
                unsigned status;
                const char *reason;
        } cases[] = {
                { "{\"action\":\"ack\",\"run\":", 400, "malformed JSON" },
                { "[1,2]", 400, "not a JSON object" },
                { "{\"action\":\"ack\"} trailing", 400, "malformed JSON" },
                { "{\"action\":\"ack\",\"run\":\"r\",\"step\":\"s\",}", 400, "malformed JSON" },
                { "{\"action\":\"ack\",\"run\":\"\xff\xfe\",\"step\":\"s\"}", 400, "malformed JSON" },
                { "{\"action\":\"ack\",\"run\":7,\"step\":\"s\"}", 400, "are strings" },
                { "{\"run\":\"r\",\"step\":\"s\"}", 400, "no \"action\"" },
                { "{\"action\":\"ack\",\"step\":\"s\"}", 400, "no \"run\"" },
                { "{\"action\":\"ack\",\"run\":\"../etc\",\"step\":\"s\"}", 400, "invalid run id" },
                { "{\"action\":\"ack\",\"run\":\"r\",\"step\":\"s\",\"actor\":\"a\\nb\"}", 400, "actor" },
                { "{\"action\":\"poke\",\"run\":\"r\",\"step\":\"s\"}", 422, "unknown action" },
                { "{\"action\":\"ack\",\"key\":\"salve/db2/r/s\"}", 404, "not this one" },
                { "{\"action\":\"ack\",\"key\":\"nagios/x\"}", 400, "notification key" },
                { "", 400, "empty body" },
        };
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                AckVerdict v;
                Req q;

                webhook_req(&q, wh_key1, "msg_8", NOW / USEC_PER_SEC, cases[i].body);
                verify(f, &q, NOW, &v);
                assert_refused(&v, cases[i].status, cases[i].reason);
                ack_verdict_done(&v);
                req_done(&q);
        }
}

/* ---- PagerDuty ---- */

static char *pd_body(const char *type, const char *event_id, const char *occurred, const char *incident_key) {
        char *s;
        assert_true(asprintf(&s,
                "{\"event\":{\"id\":\"%s\",\"event_type\":\"%s\",\"resource_type\":\"incident\","
                "\"occurred_at\":\"%s\",\"agent\":{\"html_url\":\"https://acme.pagerduty.com/users/PLH1HKV\","
                "\"id\":\"PLH1HKV\",\"summary\":\"Jane Doe\",\"type\":\"user_reference\"},"
                "\"client\":{\"name\":\"PagerDuty\"},\"data\":{\"id\":\"PGR0VU2\",\"type\":\"incident\","
                "\"number\":2,\"status\":\"acknowledged\",\"incident_key\":%s%s%s,\"title\":\"db-restore\"}}}",
                event_id, type, occurred, incident_key ? "\"" : "", incident_key ?: "null",
                incident_key ? "\"" : "") > 0);
        return s;
}

/* The header as PagerDuty sends it: one v1= per key it signs with. */
static void pd_req(Req *q, const char *body, const char * const *keys) {
        _cleanup_free_ char *hdr = strdup("");

        *q = (Req) { .r = { .method = "POST", .path = "/pagerduty", .body = body, .body_size = strlen(body) } };
        for (const char * const *k = keys; *k; k++) {
                _cleanup_free_ char *mac = hex_hmac(*k, body, strlen(body)), *old = TAKE_PTR(hdr);
                assert_true(asprintf(&hdr, "%s%sv1=%s", old, *old ? "," : "", mac) > 0);
        }
        req_header(q, "X-PagerDuty-Signature", req_own(q, TAKE_PTR(hdr)));
        req_header(q, "X-Webhook-Id", "0b8d9c0a-0d1c-4a3e-9a0a-1a2b3c4d5e6f");
        req_header(q, "Content-Type", "application/json");
}

static void test_pagerduty_each_key(void **state) {
        static const char * const keys[] = { pd_key1, pd_key2, pd_key3 };
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_free_ char *body = pd_body("incident.acknowledged", "01EVT", "2026-12-02T13:59:30.169Z",
                                                    "salve/db1/db-restore-1/approve-restore");
                AckVerdict v;
                Req q;

                pd_req(&q, body, (const char *[]) { keys[i], NULL });
                verify(f, &q, NOW, &v);
                assert_int_equal(v.status, 200);
                assert_int_equal(v.action, ACK_ACTION_ACK);
                assert_string_equal(v.actor, "pagerduty:Jane Doe");
                assert_string_equal(v.via, "pagerduty");
                assert_string_equal(v.run, "db-restore-1");
                assert_string_equal(v.step, "approve-restore");
                assert_string_equal(v.replay_id, "pagerduty:01EVT");
                ack_verdict_done(&v);
                req_done(&q);
        }

        /* During a rotation PagerDuty signs with an old key salve dropped
         * and a new one it holds: one match is enough. */
        {
                _cleanup_free_ char *body = pd_body("incident.resolved", "01EVS", "2026-12-02T14:00:00Z",
                                                    "salve/db1/db-restore-1/approve-restore/human-needed");
                AckVerdict v;
                Req q;

                pd_req(&q, body, (const char *[]) { "dropped-key", pd_key3, NULL });
                verify(f, &q, NOW, &v);
                assert_int_equal(v.status, 200);
                assert_int_equal(v.action, ACK_ACTION_RESOLVE);
                ack_verdict_done(&v);
                req_done(&q);
        }
}

static void test_pagerduty_refusals(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *ok = pd_body("incident.acknowledged", "01EVU", "2026-12-02T13:59:30Z",
                                          "salve/db1/db-restore-1/approve-restore");
        AckVerdict v;
        Req q;

        /* No key of ours. */
        pd_req(&q, ok, (const char *[]) { "someone-else", NULL });
        verify(f, &q, NOW, &v);
        assert_refused(&v, 401, "bad signature");
        ack_verdict_done(&v);
        req_done(&q);

        /* A signature of the right length that is not the right one. */
        pd_req(&q, ok, (const char *[]) { pd_key1, NULL });
        ((char *) q.owned[0])[10] ^= 1;
        verify(f, &q, NOW, &v);
        assert_refused(&v, 401, "bad signature");
        ack_verdict_done(&v);
        req_done(&q);

        /* Replay of an acted-on event. */
        assert_int_equal(ack_replay_add(f->replay, "pagerduty:01EVU", NOW + USEC_PER_HOUR, NOW), 0);
        pd_req(&q, ok, (const char *[]) { pd_key1, NULL });
        verify(f, &q, NOW, &v);
        assert_refused(&v, 409, "replay");
        ack_verdict_done(&v);
        req_done(&q);

        {
                static const struct {
                        const char *type, *occurred, *key;
                        unsigned status;
                        const char *reason;
                } cases[] = {
                        { "incident.triggered", "2026-12-02T13:59:30Z", "salve/db1/r/s", 422, "unhandled event type" },
                        { "incident.annotated", "2026-12-02T13:59:30Z", "salve/db1/r/s", 422, "unhandled event type" },
                        { "incident.acknowledged", "2026-12-02T12:59:00Z", "salve/db1/r/s", 401, "too old" },
                        { "incident.acknowledged", "2026-12-02T14:30:00Z", "salve/db1/r/s", 401, "in the future" },
                        { "incident.acknowledged", "yesterday", "salve/db1/r/s", 400, "ISO 8601" },
                        { "incident.acknowledged", "2026-12-02T13:59:30Z", NULL, 404, "no incident_key" },
                        { "incident.acknowledged", "2026-12-02T13:59:30Z", "d3640fbd41094207", 404,
                          "not one salve opened" },
                };

                for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                        _cleanup_free_ char *body = pd_body(cases[i].type, "01EVV", cases[i].occurred, cases[i].key);

                        pd_req(&q, body, (const char *[]) { pd_key2, NULL });
                        verify(f, &q, NOW, &v);
                        assert_refused(&v, cases[i].status, cases[i].reason);
                        ack_verdict_done(&v);
                        req_done(&q);
                }
        }

        /* Malformed, but signed. */
        {
                static const char * const bodies[] = { "{\"event\":", "{\"event\":{\"id\":\"x\"}}", "null" };

                for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                        pd_req(&q, bodies[i], (const char *[]) { pd_key2, NULL });
                        verify(f, &q, NOW, &v);
                        assert_refused(&v, 400, "malformed");
                        ack_verdict_done(&v);
                        req_done(&q);
                }
        }

        /* A run's incident, with no step: accepted, nothing to do. */
        {
                _cleanup_free_ char *body = pd_body("incident.acknowledged", "01EVR", "2026-12-02T13:59:30Z",
                                                    "salve/db1/db-restore-1");

                pd_req(&q, body, (const char *[]) { pd_key2, NULL });
                verify(f, &q, NOW, &v);
                assert_int_equal(v.status, 200);
                assert_int_equal(v.action, ACK_ACTION_NONE);
                assert_null(v.replay_id);
                ack_verdict_done(&v);
                req_done(&q);
        }

        /* Another host's incident: accepted, nothing to do. */
        {
                _cleanup_free_ char *body = pd_body("incident.acknowledged", "01EVW", "2026-12-02T13:59:30Z",
                                                    "salve/web3/web-restart-4/page");

                pd_req(&q, body, (const char *[]) { pd_key2, NULL });
                verify(f, &q, NOW, &v);
                assert_int_equal(v.status, 200);
                assert_int_equal(v.action, ACK_ACTION_NONE);
                assert_null(v.replay_id);
                ack_verdict_done(&v);
                req_done(&q);
        }
}

static int lookup(const char *incident_key, char **ret_run, char **ret_step, void *userdata) {
        int *calls = userdata;

        (*calls)++;
        if (!streq(incident_key, "d3640fbd41094207"))
                return -ENOENT;
        *ret_run = strdup("db-restore-1");
        *ret_step = strdup("approve-restore");
        return 0;
}

static void test_pagerduty_lookup(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *body = pd_body("incident.acknowledged", "01EVX", "2026-12-02T13:59:30Z",
                                            "d3640fbd41094207");
        int calls = 0;
        AckVerdict v;
        Req q;

        f->keys.lookup = lookup;
        f->keys.lookup_userdata = &calls;
        pd_req(&q, body, (const char *[]) { pd_key2, NULL });
        verify(f, &q, NOW, &v);
        assert_int_equal(v.status, 200);
        assert_int_equal(calls, 1);
        assert_string_equal(v.run, "db-restore-1");
        assert_string_equal(v.step, "approve-restore");
        ack_verdict_done(&v);
        req_done(&q);
        f->keys.lookup = NULL;
}

/* ---- approval tokens ---- */

static char *token(const char *run, const char *step, const char *action, const char *approver, usec_t expires,
                   const char *nonce) {
        char *t = NULL;

        assert_int_equal(approval_token_make(approval_key, strlen(approval_key), run, step, action, approver, expires,
                                             nonce, &t), 0);
        return t;
}

static void form_req(Req *q, const char *method, const char *path, const char *body) {
        *q = (Req) { .r = { .method = method, .path = path, .body = body, .body_size = body ? strlen(body) : 0 } };
        if (body)
                req_header(q, "Content-Type", "application/x-www-form-urlencoded");
}

static void test_approve(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *t = token("db-restore-1", "approve-restore", "approve", "jane", NOW + USEC_PER_HOUR,
                                       "n0nce1");
        _cleanup_free_ char *body = NULL, *path = NULL, *reply = NULL;
        const char *ctype;
        AckVerdict v;
        Req q;

        /* GET shows, never acts, and does not use the token up. */
        assert_true(asprintf(&path, "/approve?token=%s", t) > 0);
        form_req(&q, "GET", path, NULL);
        verify(f, &q, NOW, &v);
        assert_int_equal(v.status, 200);
        assert_int_equal(v.action, ACK_ACTION_NONE);
        assert_true(v.page);
        assert_int_equal(v.page_action, ACK_ACTION_APPROVE);
        assert_null(v.replay_id);
        assert_int_equal(ack_reply_format(&v, t, &ctype, &reply), 0);
        assert_string_equal(ctype, "text/html; charset=utf-8");
        assert_non_null(strstr(reply, "method=\"post\""));
        assert_non_null(strstr(reply, "approve-restore"));
        ack_verdict_done(&v);
        req_done(&q);

        /* POST acts, as the token says. */
        assert_true(asprintf(&body, "token=%s&comment=looks+good%%21", t) > 0);
        form_req(&q, "POST", "/approve", body);
        verify(f, &q, NOW, &v);
        assert_int_equal(v.status, 200);
        assert_int_equal(v.action, ACK_ACTION_APPROVE);
        assert_string_equal(v.run, "db-restore-1");
        assert_string_equal(v.step, "approve-restore");
        assert_string_equal(v.actor, "token:jane");
        assert_string_equal(v.via, "approval-token");
        assert_string_equal(v.comment, "looks good!");
        assert_string_equal(v.replay_id, "token:n0nce1");
        assert_true(v.replay_until >= NOW + USEC_PER_HOUR);

        /* Once. */
        assert_int_equal(ack_replay_add(f->replay, v.replay_id, v.replay_until, NOW), 0);
        ack_verdict_done(&v);
        verify(f, &q, NOW + USEC_PER_SEC, &v);
        assert_refused(&v, 409, "used already");
        ack_verdict_done(&v);
        req_done(&q);
}

static void test_approve_refusals(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *expired = token("db-restore-1", "approve-restore", "approve", "jane", NOW - 1, "n2");
        _cleanup_free_ char *good = token("db-restore-1", "approve-restore", "reject", "jane", NOW + USEC_PER_HOUR,
                                          "n3");
        _cleanup_free_ char *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL, *b5 = NULL, *b6 = NULL, *forged = NULL;
        AckVerdict v;
        Req q;

        assert_true(asprintf(&b1, "token=%s", expired) > 0);
        form_req(&q, "POST", "/approve", b1);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 410, "expired");
        ack_verdict_done(&v);
        req_done(&q);

        /* A token for another step, action or run than the form says. */
        assert_true(asprintf(&b2, "token=%s&step=drop-db", good) > 0);
        form_req(&q, "POST", "/approve", b2);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 403, "is for step");
        ack_verdict_done(&v);
        req_done(&q);

        assert_true(asprintf(&b3, "token=%s&action=approve", good) > 0);
        form_req(&q, "POST", "/approve", b3);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 403, "is for action \"reject\"");
        ack_verdict_done(&v);
        req_done(&q);

        assert_true(asprintf(&b4, "{\"token\":\"%s\",\"run\":\"other-run-2\"}", good) > 0);
        form_req(&q, "POST", "/approve", b4);
        q.h[0].value = "application/json";
        verify(f, &q, NOW, &v);
        assert_refused(&v, 403, "is for run");
        ack_verdict_done(&v);
        req_done(&q);

        /* The matching fields are fine, and reject is reject. */
        assert_true(asprintf(&b5, "{\"token\":\"%s\",\"run\":\"db-restore-1\",\"action\":\"reject\"}", good) > 0);
        form_req(&q, "POST", "/approve", b5);
        q.h[0].value = "application/json";
        verify(f, &q, NOW, &v);
        assert_int_equal(v.status, 200);
        assert_int_equal(v.action, ACK_ACTION_REJECT);
        ack_verdict_done(&v);
        req_done(&q);

        /* A token changed by one character. */
        forged = strdup(good);
        forged[strlen(forged) / 2] = forged[strlen(forged) / 2] == 'A' ? 'B' : 'A';
        assert_true(asprintf(&b6, "token=%s", forged) > 0);
        form_req(&q, "POST", "/approve", b6);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 403, "bad approval token");
        ack_verdict_done(&v);
        req_done(&q);

        form_req(&q, "POST", "/approve", "comment=hello");
        verify(f, &q, NOW, &v);
        assert_refused(&v, 400, "no token");
        ack_verdict_done(&v);
        req_done(&q);

        form_req(&q, "POST", "/approve", "token=%zz");
        verify(f, &q, NOW, &v);
        assert_refused(&v, 400, "badly encoded");
        ack_verdict_done(&v);
        req_done(&q);

        /* GET with an expired token: an error page, no action. */
        form_req(&q, "GET", "/approve?token=x", NULL);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 403, "bad approval token");
        ack_verdict_done(&v);
        req_done(&q);
}

/* ---- routes and limits ---- */

static void test_routes_and_limits(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *big = NULL;
        AckVerdict v;
        Req q;

        form_req(&q, "POST", "/admin", "x");
        verify(f, &q, NOW, &v);
        assert_refused(&v, 404, "no such path");
        ack_verdict_done(&v);

        form_req(&q, "GET", "/webhook", NULL);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 405, "not allowed");
        assert_string_equal(v.allow, "POST");
        ack_verdict_done(&v);

        form_req(&q, "DELETE", "/approve", NULL);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 405, "not allowed");
        assert_string_equal(v.allow, "GET, POST");
        ack_verdict_done(&v);

        form_req(&q, "POST", "webhook", "x");
        verify(f, &q, NOW, &v);
        assert_refused(&v, 400, "request line");
        ack_verdict_done(&v);

        big = malloc(ACK_BODY_MAX + 2);
        memset(big, ' ', ACK_BODY_MAX + 1);
        big[ACK_BODY_MAX + 1] = 0;
        webhook_req(&q, wh_key1, "msg_9", NOW / USEC_PER_SEC, big);
        verify(f, &q, NOW, &v);
        assert_refused(&v, 413, "larger than");
        ack_verdict_done(&v);
        req_done(&q);

        /* A GET never acts, whatever it carries. */
        webhook_req(&q, wh_key1, "msg_9", NOW / USEC_PER_SEC, ack_body);
        q.r.method = "GET";
        verify(f, &q, NOW, &v);
        assert_refused(&v, 405, "not allowed");
        ack_verdict_done(&v);
        req_done(&q);

        /* A source with no key is off. */
        f->keys.pagerduty_secrets = NULL;
        form_req(&q, "POST", "/pagerduty", "{}");
        verify(f, &q, NOW, &v);
        assert_refused(&v, 404, "not enabled");
        ack_verdict_done(&v);
        f->keys.pagerduty_secrets = f->pd_secrets;

        assert_int_equal(ack_route("POST", "/approve?token=1", &(AckRoute) {0}, NULL), 0);
        assert_int_equal(ack_route("GET", "/pagerduty", NULL, NULL), -EOPNOTSUPP);
        assert_int_equal(ack_route("POST", "/webhook/", NULL, NULL), -ENOENT);
}

static void test_reply(void **state) {
        _cleanup_free_ char *body = NULL, *body2 = NULL;
        AckVerdict v = { .status = 409, .reason = (char *) "replay: \"x\"", .action = _ACK_ACTION_INVALID };
        const char *ctype;

        assert_int_equal(ack_reply_format(&v, NULL, &ctype, &body), 0);
        assert_string_equal(ctype, "application/json");
        assert_string_equal(body, "{\"status\":409,\"reason\":\"replay: \\\"x\\\"\"}\n");
        assert_int_equal(ack_reply_simple(404, "no run", &body2), 0);
        assert_string_equal(body2, "{\"status\":404,\"reason\":\"no run\"}\n");
}

static void test_form_and_key(void **state) {
        _cleanup_free_ char *a = NULL, *h = NULL, *r = NULL, *s = NULL;
        char *x = NULL;

        assert_int_equal(ack_form_value("a=1&token=x%2By+z&b", 19, "token", &a), 0);
        assert_string_equal(a, "x+y z");
        assert_int_equal(ack_form_value("tokenx=1", 8, "token", &x), -ENOENT);
        assert_int_equal(ack_form_value("token=%00", 9, "token", &x), -EBADMSG);
        assert_int_equal(ack_form_value("token=%4", 8, "token", &x), -EBADMSG);
        assert_null(x);

        assert_int_equal(ack_incident_key_parse("salve/h/run-1/step/human-needed/0/1", &h, &r, &s), 0);
        assert_string_equal(h, "h");
        assert_string_equal(r, "run-1");
        assert_string_equal(s, "step");
        assert_int_equal(ack_incident_key_parse("salve/h//step", &x, &x, &x), -EINVAL);
        assert_int_equal(ack_incident_key_parse("salve/h/run", &x, &x, &x), -EINVAL);
        assert_int_equal(ack_incident_key_parse("salve/h/r/../x", &x, &x, &x), -EINVAL);
}

/* Every MAC comparison is sign.c's, and sign.c compares in constant
 * time; the verifier never compares key material itself. A source check,
 * since timing cannot be measured reliably in a unit test. */
static char *read_source(const char *path) {
        _cleanup_free_ char *full = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char *buf = NULL;
        size_t size = 0;

        assert_true(asprintf(&full, "%s/%s", SOURCE_ROOT, path) > 0);
        f = fopen(full, "re");
        assert_non_null(f);
        assert_true(getdelim(&buf, &size, 0, f) > 0);
        return buf;
}

static void test_constant_time(void **state) {
        _cleanup_free_ char *verify_c = read_source("src/ack/ack-verify.c"), *sign_c = read_source("src/relay/sign.c");
        Fixture *f = *state;
        _cleanup_free_ char *body = pd_body("incident.acknowledged", "01EVY", "2026-12-02T13:59:30Z",
                                            "salve/db1/db-restore-1/approve-restore");
        AckVerdict v;
        Req q;

        assert_non_null(strstr(sign_c, "CRYPTO_memcmp("));
        assert_null(strstr(verify_c, "HMAC("));
        assert_null(strstr(verify_c, "hmac_sha256("));
        assert_null(strstr(verify_c, "CRYPTO_memcmp("));

        /* And the whole MAC counts: the last hex digit changed, or the
         * signature cut short, is refused. */
        pd_req(&q, body, (const char *[]) { pd_key1, NULL });
        {
                char *h = (char *) q.owned[0];
                h[strlen(h) - 1] = h[strlen(h) - 1] == '0' ? '1' : '0';
        }
        verify(f, &q, NOW, &v);
        assert_refused(&v, 401, "bad signature");
        ack_verdict_done(&v);
        req_done(&q);

        pd_req(&q, body, (const char *[]) { pd_key1, NULL });
        ((char *) q.owned[0])[3 + 32] = 0;
        verify(f, &q, NOW, &v);
        assert_int_equal(v.status / 100, 4);
        assert_int_equal(v.action, _ACK_ACTION_INVALID);
        ack_verdict_done(&v);
        req_done(&q);
}

/* ---- the replay set ---- */

static void test_replay_set(void **state) {
        _cleanup_(ack_replay_freep) AckReplay *r = NULL, *r2 = NULL;
        char dir[] = "/tmp/test-ack-replay-XXXXXX";
        _cleanup_close_ int dfd = -EBADF;
        size_t skipped = 99;
        char id[16];
        int fd;

        assert_int_equal(ack_replay_new(4, &r), 0);
        assert_int_equal(ack_replay_add(r, "token:a", NOW + 10, NOW), 0);
        assert_int_equal(ack_replay_add(r, "token:a", NOW + 20, NOW), -EEXIST);
        assert_int_equal(ack_replay_add(r, "bad id", NOW + 20, NOW), -EINVAL);
        assert_int_equal(ack_replay_add(r, "token:b", NOW, NOW), -EINVAL);      /* expired already */
        assert_true(ack_replay_contains(r, "token:a", NOW + 9));
        assert_false(ack_replay_contains(r, "token:a", NOW + 10));
        /* Bounded: full of live entries, it refuses rather than forget. */
        for (int i = 0; i < 3; i++) {
                snprintf(id, sizeof(id), "webhook:%d", i);
                assert_int_equal(ack_replay_add(r, id, NOW + USEC_PER_HOUR, NOW), 0);
        }
        assert_false(ack_replay_has_room(r, NOW));
        assert_int_equal(ack_replay_add(r, "webhook:x", NOW + USEC_PER_HOUR, NOW), -ENOSPC);
        /* Once token:a expires there is room again. */
        assert_true(ack_replay_has_room(r, NOW + 10));
        assert_int_equal(ack_replay_add(r, "webhook:x", NOW + USEC_PER_HOUR, NOW + 10), 0);

        /* Across a restart. */
        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_int_equal(ack_replay_save(r, dfd, ACK_REPLAY_FILE), 0);
        assert_int_equal(ack_replay_new(4, &r2), 0);
        assert_int_equal(ack_replay_load(r2, dfd, ACK_REPLAY_FILE, NOW + 10, &skipped), 0);
        assert_int_equal(skipped, 0);
        assert_int_equal(ack_replay_size(r2), 4);
        assert_true(ack_replay_contains(r2, "webhook:x", NOW + 11));
        assert_true(ack_replay_contains(r2, "webhook:2", NOW + 11));
        r2 = ack_replay_free(r2);

        /* Damaged lines are skipped, the rest kept. */
        fd = openat(dfd, ACK_REPLAY_FILE, O_WRONLY | O_APPEND);
        assert_true(fd >= 0);
        assert_true(write(fd, "garbage\n-5 x\n99999999999999999999 y\n", 36) == 36);
        close(fd);
        assert_int_equal(ack_replay_new(8, &r2), 0);
        assert_int_equal(ack_replay_load(r2, dfd, ACK_REPLAY_FILE, NOW + 10, &skipped), 0);
        assert_int_equal(skipped, 3);
        assert_int_equal(ack_replay_size(r2), 4);
        r2 = ack_replay_free(r2);

        /* No file: empty. */
        assert_int_equal(unlinkat(dfd, ACK_REPLAY_FILE, 0), 0);
        assert_int_equal(ack_replay_new(4, &r2), 0);
        assert_int_equal(ack_replay_load(r2, dfd, ACK_REPLAY_FILE, NOW, &skipped), 0);
        assert_int_equal(ack_replay_size(r2), 0);
        assert_int_equal(rmdir(dir), 0);
}

/* ---- in salved: verify, act, remember (manager-ack.c) ---- */

/* The plan has only a person's step and a step after it; nothing of the
 * executor is ever called before the approval. */
static int nx_start(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                    exec_done_cb cb, void *userdata, ExecJob **ret_job) {
        return -EOPNOTSUPP;
}
static int nx_resume(Executor *e, const char *run_id, const Step *step, unsigned attempt, usec_t timeout,
                     usec_t started, exec_done_cb cb, void *userdata, ExecJob **ret_job) {
        return -EOPNOTSUPP;
}
static int nx_start_check(Executor *e, const char *run_id, const Step *step, unsigned attempt, exec_done_cb cb,
                          void *userdata, ExecJob **ret_job) {
        return -EOPNOTSUPP;
}
static int nx_check_condition(Executor *e, const Condition *c, const char *trigger, exec_done_cb cb,
                              void *userdata, ExecJob **ret_job) {
        return -EOPNOTSUPP;
}
static void nx_release_unit(Executor *e, const char *unit) {
}
static int nx_list_units(Executor *e, const char *pattern, exec_units_cb cb, void *userdata) {
        return 0;
}
static void nx_job_cancel(ExecJob *j) {
}
static bool nx_job_owns_unit(const ExecJob *j, const char *unit) {
        return false;
}
struct Executor {
        int unused;
};
static Executor *nx_free(Executor *e) {
        return mfree(e);
}
static const ExecutorOps nx_ops = {
        .start = nx_start, .resume = nx_resume, .start_check = nx_start_check,
        .check_condition = nx_check_condition, .release_unit = nx_release_unit, .list_units = nx_list_units,
        .job_cancel = nx_job_cancel, .job_owns_unit = nx_job_owns_unit, .free = nx_free,
};

typedef struct Salved {
        char dir[64], state[96];
        sd_event *event;
        Manager *m;
        char *run;
        ManagerAckKeys keys;
} Salved;

static void salved_open(Salved *x) {
        char plans[96];

        assert_int_equal(sd_event_new(&x->event), 0);
        assert_int_equal(manager_new(x->event, NULL, &x->m), 0);
        manager_set_executor(x->m, &nx_ops, calloc(1, sizeof(Executor)));
        free(x->m->state_dir);
        free(x->m->runtime_dir);
        x->m->state_dir = strdup(x->state);
        assert_true(asprintf(&x->m->runtime_dir, "%s/run", x->dir) > 0);
        snprintf(plans, sizeof(plans), "%s/plans", x->dir);
        assert_int_equal(strv_extend(&x->m->plan_dirs, plans), 0);
        assert_int_equal(manager_startup(x->m), 0);
        for (unsigned i = 0; i < 100 && sd_event_run(x->event, 0) > 0; i++)
                ;
}

static void salved_close(Salved *x) {
        x->m = manager_free(x->m);
        x->event = sd_event_unref(x->event);
}

static int salved_setup(void **state) {
        Salved *x = calloc(1, sizeof(*x));
        char path[128];
        FILE *f;

        strcpy(x->dir, "/tmp/test-ack-salved-XXXXXX");
        assert_non_null(mkdtemp(x->dir));
        snprintf(path, sizeof(path), "%s/plans", x->dir);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(x->state, sizeof(x->state), "%s/state", x->dir);
        assert_int_equal(mkdir(x->state, 0700), 0);
        snprintf(path, sizeof(path), "%s/plans/db-restore.yaml", x->dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs("plan: db-restore\nowner: dba\nsteps:\n"
              "  - id: approve-restore\n    human: approve\n"
              "  - id: start\n    needs: [approve-restore]\n    run: exec\n    with: { command: [/bin/true] }\n", f);
        fclose(f);
        salved_open(x);
        assert_int_equal(manager_start_run(x->m, "db-restore", "manual", "test", 0, NULL, &x->run), 0);
        for (unsigned i = 0; i < 100 && sd_event_run(x->event, 0) > 0; i++)
                ;
        x->keys.webhook_secrets = strv_copy(STRV_MAKE((char *) "raw webhook key of the test"));
        x->keys.pagerduty_secrets = strv_copy(STRV_MAKE((char *) pd_key1));
        x->keys.approval_key = strdup(approval_key);
        *state = x;
        return 0;
}

static int salved_teardown(void **state) {
        Salved *x = *state;
        char cmd[128];

        salved_close(x);
        manager_ack_keys_done(&x->keys);
        free(x->run);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
        assert_int_equal(system(cmd), 0);
        free(x);
        return 0;
}

static const StepRun *step_of(Salved *x) {
        const Run *r = run_store_find(x->m->store, x->run);
        assert_non_null(r);
        return &r->steps[0];
}

static off_t file_size(Salved *x, const char *name) {
        char path[160];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", x->state, name);
        return stat(path, &st) < 0 ? -1 : st.st_size;
}

static unsigned handle(Salved *x, const AckRequest *req, char **ret_body) {
        const char *ctype = NULL;
        unsigned status = 0;

        assert_int_equal(manager_ack_handle(x->m, &x->keys, req, now_usec(CLOCK_REALTIME), &status, &ctype,
                                            ret_body), 0);
        assert_non_null(ctype);
        return status;
}

static void webhook_now(Req *q, const char *id, const char *body) {
        webhook_req(q, "raw webhook key of the test", id, now_usec(CLOCK_REALTIME) / USEC_PER_SEC, body);
}

static void test_salved_refusals_change_nothing(void **state) {
        Salved *x = *state;
        off_t journal = file_size(x, "journal");
        _cleanup_free_ char *b1 = NULL, *b2 = NULL, *b3 = NULL;
        char *reply = NULL;
        Req q;

        assert_int_equal(step_of(x)->state, STEP_WAITING);
        assert_true(journal > 0);

        /* Forged. */
        assert_true(asprintf(&b1, "{\"action\":\"ack\",\"run\":\"%s\",\"step\":\"approve-restore\"}", x->run) > 0);
        webhook_req(&q, "some other key", "m1", now_usec(CLOCK_REALTIME) / USEC_PER_SEC, b1);
        assert_int_equal(handle(x, &q.r, &reply), 401);
        reply = mfree(reply);
        req_done(&q);

        /* An acknowledgement trying to approve. */
        assert_true(asprintf(&b2, "{\"action\":\"approve\",\"run\":\"%s\",\"step\":\"approve-restore\"}", x->run) > 0);
        webhook_now(&q, "m2", b2);
        assert_int_equal(handle(x, &q.r, &reply), 403);
        reply = mfree(reply);
        req_done(&q);

        /* An unknown run: verified, refused by the engine, not remembered. */
        webhook_now(&q, "m3", "{\"action\":\"ack\",\"run\":\"db-restore-nope-7\",\"step\":\"approve-restore\"}");
        assert_int_equal(handle(x, &q.r, &reply), 404);
        assert_non_null(strstr(reply, "unknown run"));
        reply = mfree(reply);
        req_done(&q);

        /* A step that is not a person's. */
        assert_true(asprintf(&b3, "{\"action\":\"ack\",\"run\":\"%s\",\"step\":\"start\"}", x->run) > 0);
        webhook_now(&q, "m4", b3);
        assert_int_equal(handle(x, &q.r, &reply) / 100, 4);
        reply = mfree(reply);
        req_done(&q);

        /* A GET with a valid token. */
        {
                _cleanup_free_ char *t = token(x->run, "approve-restore", "approve", "jane",
                                               now_usec(CLOCK_REALTIME) + USEC_PER_HOUR, "g1");
                _cleanup_free_ char *path = NULL;
                const char *ctype;
                unsigned status;

                assert_true(asprintf(&path, "/approve?token=%s", t) > 0);
                form_req(&q, "GET", path, NULL);
                assert_int_equal(manager_ack_handle(x->m, &x->keys, &q.r, now_usec(CLOCK_REALTIME), &status,
                                                    &ctype, &reply), 0);
                assert_int_equal(status, 200);
                assert_string_equal(ctype, "text/html; charset=utf-8");
                assert_non_null(strstr(reply, t));
                reply = mfree(reply);
        }

        /* Nothing journaled, nothing remembered, the step still waits,
         * unacknowledged. */
        assert_int_equal(file_size(x, "journal"), journal);
        assert_int_equal(file_size(x, ACK_REPLAY_FILE), -1);
        assert_int_equal(step_of(x)->state, STEP_WAITING);
        assert_int_equal(step_of(x)->human.acked_at, 0);
}

static void test_salved_ack_then_approve(void **state) {
        Salved *x = *state;
        _cleanup_free_ char *body = NULL, *t = NULL, *form = NULL;
        char *reply = NULL;
        Req q;

        assert_true(asprintf(&body, "{\"action\":\"ack\",\"run\":\"%s\",\"step\":\"approve-restore\","
                             "\"actor\":\"jane\",\"comment\":\"on it\"}", x->run) > 0);
        webhook_now(&q, "a1", body);
        assert_int_equal(handle(x, &q.r, &reply), 200);
        reply = mfree(reply);
        assert_true(step_of(x)->human.acked_at > 0);
        assert_string_equal(step_of(x)->human.acked_by, "webhook:jane");
        assert_string_equal(step_of(x)->human.acked_via, "webhook");
        assert_int_equal(step_of(x)->state, STEP_WAITING);      /* acknowledged, not approved */
        assert_true(file_size(x, ACK_REPLAY_FILE) > 0);

        /* The same request after a restart of salved. */
        salved_close(x);
        salved_open(x);
        assert_int_equal(handle(x, &q.r, &reply), 409);
        reply = mfree(reply);
        req_done(&q);

        /* The token approves, once. */
        t = token(x->run, "approve-restore", "approve", "jane", now_usec(CLOCK_REALTIME) + USEC_PER_HOUR, "a2");
        assert_true(asprintf(&form, "token=%s&comment=go", t) > 0);
        form_req(&q, "POST", "/approve", form);
        assert_int_equal(handle(x, &q.r, &reply), 200);
        reply = mfree(reply);
        for (unsigned i = 0; i < 100 && sd_event_run(x->event, 0) > 0; i++)
                ;
        assert_int_equal(step_of(x)->state, STEP_SUCCEEDED);
        assert_int_equal(handle(x, &q.r, &reply), 409);
        reply = mfree(reply);
        req_done(&q);
}

static void test_salved_pagerduty(void **state) {
        Salved *x = *state;
        _cleanup_free_ char *key = NULL, *body = NULL, *other = NULL, *body2 = NULL;
        char host[256] = "", occurred[64];
        time_t now = time(NULL);
        char *reply = NULL;
        Req q;

        assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
        strftime(occurred, sizeof(occurred), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

        /* Another host's incident of the same run id: nothing happens. */
        assert_true(asprintf(&other, "salve/not-%s/%s/approve-restore", host, x->run) > 0);
        body2 = pd_body("incident.acknowledged", "01OTHER", occurred, other);
        pd_req(&q, body2, (const char *[]) { pd_key1, NULL });
        assert_int_equal(handle(x, &q.r, &reply), 200);
        assert_non_null(strstr(reply, "ignored"));
        reply = mfree(reply);
        req_done(&q);
        assert_int_equal(step_of(x)->human.acked_at, 0);

        assert_true(asprintf(&key, "salve/%s/%s/approve-restore", host, x->run) > 0);
        body = pd_body("incident.acknowledged", "01MINE", occurred, key);
        pd_req(&q, body, (const char *[]) { "an old key", pd_key1, NULL });
        assert_int_equal(handle(x, &q.r, &reply), 200);
        reply = mfree(reply);
        assert_string_equal(step_of(x)->human.acked_by, "pagerduty:Jane Doe");
        assert_string_equal(step_of(x)->human.acked_via, "pagerduty");
        assert_int_equal(step_of(x)->state, STEP_WAITING);

        /* PagerDuty delivers at least once: the retry is refused. */
        assert_int_equal(handle(x, &q.r, &reply), 409);
        reply = mfree(reply);
        req_done(&q);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_webhook_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_webhook_bad_signature, setup, teardown),
                cmocka_unit_test_setup_teardown(test_webhook_replay, setup, teardown),
                cmocka_unit_test_setup_teardown(test_webhook_skew, setup, teardown),
                cmocka_unit_test_setup_teardown(test_webhook_cannot_approve, setup, teardown),
                cmocka_unit_test_setup_teardown(test_webhook_malformed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pagerduty_each_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pagerduty_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pagerduty_lookup, setup, teardown),
                cmocka_unit_test_setup_teardown(test_approve, setup, teardown),
                cmocka_unit_test_setup_teardown(test_approve_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_routes_and_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_constant_time, setup, teardown),
                cmocka_unit_test(test_reply),
                cmocka_unit_test(test_form_and_key),
                cmocka_unit_test(test_replay_set),
                cmocka_unit_test_setup_teardown(test_salved_refusals_change_nothing, salved_setup, salved_teardown),
                cmocka_unit_test_setup_teardown(test_salved_ack_then_approve, salved_setup, salved_teardown),
                cmocka_unit_test_setup_teardown(test_salved_pagerduty, salved_setup, salved_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
