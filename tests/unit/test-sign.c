/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sign.h"

/* The Standard Webhooks test vector, as the reference libraries of
 * github.com/standard-webhooks/standard-webhooks (libraries/: their
 * "sign" tests) and Svix's publish it. */
#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS 1614265330
#define SW_BODY "{\"test\": 2432232314}"
#define SW_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define SW_NOW ((usec_t) SW_TS * USEC_PER_SEC)

static void decode_secret(const char *s, void **key, size_t *n) {
        assert_int_equal(webhook_secret_decode(s, strlen(s), key, n), 0);
}

static void test_base64(void **state) {
        _cleanup_free_ char *e = NULL, *u = NULL;
        void *d;
        size_t n;

        assert_int_equal(base64_encode("\xfb\xff\xfe", 3, &e), 0);
        assert_string_equal(e, "+//+");
        assert_int_equal(base64url_encode("\xfb\xff\xfe" "a", 4, &u), 0);
        assert_string_equal(u, "-__-YQ");
        assert_int_equal(base64url_decode(u, strlen(u), &d, &n), 0);
        assert_int_equal(n, 4);
        assert_memory_equal(d, "\xfb\xff\xfe" "a", 4);
        free(d);

        assert_int_equal(base64_decode("YWI=", 4, &d, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(d, "ab");
        free(d);
        assert_int_equal(base64_decode("", 0, &d, &n), 0);
        assert_int_equal(n, 0);
        free(d);

        /* strict: what EVP_DecodeBlock alone would let through */
        assert_int_equal(base64_decode(" YWI", 4, &d, &n), -EBADMSG);
        assert_int_equal(base64_decode("YW=I", 4, &d, &n), -EBADMSG);
        assert_int_equal(base64_decode("YWI", 3, &d, &n), -EBADMSG);
        assert_int_equal(base64_decode("Y===", 4, &d, &n), -EBADMSG);
        assert_int_equal(base64_decode("YW-_", 4, &d, &n), -EBADMSG);
        assert_int_equal(base64url_decode("YW+/", 4, &d, &n), -EBADMSG);
        assert_int_equal(base64url_decode("Y", 1, &d, &n), -EBADMSG);
}

static void test_hmac_rfc4231(void **state) {
        /* RFC 4231 test case 2 */
        static const uint8_t want[] = { 0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                        0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                        0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43 };
        uint8_t mac[HMAC_SHA256_SIZE];

        assert_int_equal(hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac), 0);
        assert_memory_equal(mac, want, sizeof want);
        assert_int_equal(hmac_sha256("", 0, "x", 1, mac), -EINVAL);
}

static void test_webhook_vector(void **state) {
        _cleanup_free_ char *sig = NULL;
        _cleanup_free_ void *key = NULL;
        size_t n;

        decode_secret(SW_SECRET, &key, &n);
        assert_int_equal(n, 24);
        assert_int_equal(webhook_sign(key, n, SW_ID, SW_TS, SW_BODY, strlen(SW_BODY), &sig), 0);
        assert_string_equal(sig, SW_SIG);
        assert_int_equal(webhook_verify(key, n, SW_ID, "1614265330", SW_BODY, strlen(SW_BODY), SW_SIG, SW_NOW,
                                        WEBHOOK_TOLERANCE_DEFAULT),
                         0);
}

static void test_webhook_verify(void **state) {
        _cleanup_free_ void *key = NULL;
        size_t n;

        decode_secret(SW_SECRET "\n", &key, &n);
#define V(id, ts, body, hdr, now) webhook_verify(key, n, id, ts, body, strlen(body), hdr, now, 300 * USEC_PER_SEC)
        /* rotation: any entry of the list may match; other versions are skipped */
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, "v1,bm9wZQ== v1a,xyz " SW_SIG, SW_NOW), 0);
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, "v1a,xyz  " SW_SIG " ", SW_NOW), 0);
        /* anything changed: no match */
        assert_int_equal(V(SW_ID, "1614265330", "{\"test\": 2432232315}", SW_SIG, SW_NOW), -EKEYREJECTED);
        assert_int_equal(V("msg_other", "1614265330", SW_BODY, SW_SIG, SW_NOW), -EKEYREJECTED);
        assert_int_equal(V(SW_ID, "1614265331", SW_BODY, SW_SIG, SW_NOW), -EKEYREJECTED);
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, "v1,bm9wZQ==", SW_NOW), -EKEYREJECTED);
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", SW_NOW),
                         -EKEYREJECTED);
        /* tolerance: 300 s either side, inclusive */
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, SW_SIG, SW_NOW + 300 * USEC_PER_SEC), 0);
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, SW_SIG, SW_NOW - 300 * USEC_PER_SEC), 0);
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, SW_SIG, SW_NOW + 301 * USEC_PER_SEC), -ETIME);
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, SW_SIG, SW_NOW - 301 * USEC_PER_SEC), -ETIME);
        /* malformed */
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, "", SW_NOW), -EBADMSG);
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, "garbage", SW_NOW), -EBADMSG);
        assert_int_equal(V(SW_ID, "1614265330", SW_BODY, "v1,not base64!", SW_NOW), -EBADMSG);
        assert_int_equal(V(SW_ID, "16142653x0", SW_BODY, SW_SIG, SW_NOW), -EBADMSG);
        assert_int_equal(V(SW_ID, "-1614265330", SW_BODY, SW_SIG, SW_NOW), -EBADMSG);
        assert_int_equal(V(SW_ID, "", SW_BODY, SW_SIG, SW_NOW), -EBADMSG);
        assert_int_equal(V(SW_ID, "99999999999999999999", SW_BODY, SW_SIG, SW_NOW), -EBADMSG);
        assert_int_equal(V("", "1614265330", SW_BODY, SW_SIG, SW_NOW), -EBADMSG);
        assert_int_equal(webhook_verify(key, n, SW_ID, "1614265330", SW_BODY, strlen(SW_BODY), NULL, SW_NOW, 0),
                         -EBADMSG);
#undef V
}

static void test_webhook_secret(void **state) {
        void *k;
        size_t n;

        /* not whsec_: the bytes as they are, minus a trailing newline */
        assert_int_equal(webhook_secret_decode("plain key\n", 10, &k, &n), 0);
        assert_int_equal(n, 9);
        assert_memory_equal(k, "plain key", 9);
        free(k);
        assert_int_equal(webhook_secret_decode("whsec_not*base64", 16, &k, &n), -EBADMSG);
        assert_int_equal(webhook_secret_decode("whsec_", 6, &k, &n), -EINVAL);
        assert_int_equal(webhook_secret_decode("\n", 1, &k, &n), -EINVAL);
}

static void test_webhook_roundtrip_raw_key(void **state) {
        _cleanup_free_ char *sig = NULL, *hdr = NULL;
        const char *body = "{\"a\":1}";

        assert_int_equal(webhook_sign("k", 1, "id-1", 1700000000, body, strlen(body), &sig), 0);
        assert_true(strncmp(sig, "v1,", 3) == 0);
        assert_int_equal(strlen(sig), 3 + 44);
        assert_int_equal(webhook_verify("k", 1, "id-1", "1700000000", body, strlen(body), sig,
                                        1700000000 * USEC_PER_SEC, WEBHOOK_TOLERANCE_DEFAULT),
                         0);
        assert_int_equal(webhook_verify("K", 1, "id-1", "1700000000", body, strlen(body), sig,
                                        1700000000 * USEC_PER_SEC, WEBHOOK_TOLERANCE_DEFAULT),
                         -EKEYREJECTED);
        /* empty body */
        free(sig);
        sig = NULL;
        assert_int_equal(webhook_sign("k", 1, "id-1", 5, NULL, 0, &sig), 0);
        assert_int_equal(webhook_verify("k", 1, "id-1", "5", "", 0, sig, 5 * USEC_PER_SEC, 0), 0);
        assert_int_equal(webhook_sign("", 0, "id-1", 5, NULL, 0, &hdr), -EINVAL);
}

static void hex(const uint8_t *m, char out[static 65]) {
        for (size_t i = 0; i < HMAC_SHA256_SIZE; i++)
                snprintf(out + 2 * i, 3, "%02x", m[i]);
}

static void test_pagerduty(void **state) {
        const char *body = "{\"event\":{\"id\":\"01\",\"event_type\":\"incident.acknowledged\"}}";
        struct iovec keys[] = {
                { .iov_base = (void *) "old-secret", .iov_len = 10 },
                { .iov_base = (void *) "new-secret", .iov_len = 10 },
        };
        uint8_t m_old[HMAC_SHA256_SIZE], m_new[HMAC_SHA256_SIZE], m_other[HMAC_SHA256_SIZE];
        char h_old[65], h_new[65], h_other[65], hdr[512];
        size_t len = strlen(body);

        assert_int_equal(hmac_sha256("old-secret", 10, body, len, m_old), 0);
        assert_int_equal(hmac_sha256("new-secret", 10, body, len, m_new), 0);
        assert_int_equal(hmac_sha256("someone else", 12, body, len, m_other), 0);
        hex(m_old, h_old);
        hex(m_new, h_new);
        hex(m_other, h_other);

        snprintf(hdr, sizeof hdr, "v1=%s", h_new);
        assert_int_equal(pagerduty_verify(keys, 2, body, len, hdr), 0);
        assert_int_equal(pagerduty_verify(keys, 1, body, len, hdr), -EKEYREJECTED);
        snprintf(hdr, sizeof hdr, "v1=%s,v1=%s", h_other, h_old);
        assert_int_equal(pagerduty_verify(keys, 1, body, len, hdr), 0);
        snprintf(hdr, sizeof hdr, "v1=%s, v1=%s", h_other, h_new);  /* blanks after commas */
        assert_int_equal(pagerduty_verify(keys, 2, body, len, hdr), 0);
        for (char *c = h_new; *c; c++)
                *c = (char) toupper((unsigned char) *c);
        snprintf(hdr, sizeof hdr, "v1=%s", h_new);                   /* hex is case-blind */
        assert_int_equal(pagerduty_verify(keys, 2, body, len, hdr), 0);
        snprintf(hdr, sizeof hdr, "v1=%s", h_other);
        assert_int_equal(pagerduty_verify(keys, 2, body, len, hdr), -EKEYREJECTED);
        assert_int_equal(pagerduty_verify(keys, 2, "{}", 2, hdr), -EKEYREJECTED);
        snprintf(hdr, sizeof hdr, "v1=%s", h_old);
        assert_int_equal(pagerduty_verify(keys, 2, body, len - 1, hdr), -EKEYREJECTED);
        assert_int_equal(pagerduty_verify(NULL, 0, body, len, hdr), -EKEYREJECTED);

        /* malformed */
        assert_int_equal(pagerduty_verify(keys, 2, body, len, NULL), -EBADMSG);
        assert_int_equal(pagerduty_verify(keys, 2, body, len, ""), -EBADMSG);
        assert_int_equal(pagerduty_verify(keys, 2, body, len, "v1="), -EBADMSG);
        assert_int_equal(pagerduty_verify(keys, 2, body, len, "v1=abcd"), -EBADMSG);
        assert_int_equal(pagerduty_verify(keys, 2, body, len, "v2=abcd,,,"), -EBADMSG);
        h_old[10] = 'g';
        snprintf(hdr, sizeof hdr, "v1=%s", h_old);
        assert_int_equal(pagerduty_verify(keys, 2, body, len, hdr), -EBADMSG);
}

#define KEY "approval key of thirty-two bytes"
#define KEY_SIZE 32

static void test_approval_token(void **state) {
        _cleanup_free_ char *t = NULL, *t2 = NULL;
        ApprovalToken a = {};
        usec_t now = 1700000000 * USEC_PER_SEC, exp = now + USEC_PER_HOUR;
        const char *dot;

        assert_int_equal(approval_token_make(KEY, KEY_SIZE, "db-restore-1", "approve-restore", "approve",
                                             "jane", exp, "n0nce", &t),
                         0);
        /* the format: base64url(JSON) "." base64url(32-byte MAC) */
        assert_null(strpbrk(t, "+/="));
        dot = strchr(t, '.');
        assert_non_null(dot);
        assert_int_equal(strlen(dot + 1), 43);
        {
                _cleanup_free_ void *p = NULL;
                size_t n;
                char want[256];
                assert_int_equal(base64url_decode(t, (size_t) (dot - t), &p, &n), 0);
                snprintf(want, sizeof want,
                         "{\"v\":1,\"run\":\"db-restore-1\",\"step\":\"approve-restore\",\"action\":\"approve\","
                         "\"approver\":\"jane\",\"expires\":%llu,\"nonce\":\"n0nce\"}",
                         (unsigned long long) exp);
                assert_string_equal(p, want);
        }

        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, t, now, &a), 0);
        assert_string_equal(a.run, "db-restore-1");
        assert_string_equal(a.step, "approve-restore");
        assert_string_equal(a.action, "approve");
        assert_string_equal(a.approver, "jane");
        assert_string_equal(a.nonce, "n0nce");
        assert_true(a.expires == exp);
        approval_token_done(&a);

        /* expiry: valid strictly before */
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, t, exp - 1, NULL), 0);
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, t, exp, &a), -ETIME);
        assert_null(a.run);
        /* another key */
        assert_int_equal(approval_token_parse_verify("another key", 11, t, now, &a), -EKEYREJECTED);
        /* random nonces differ */
        assert_int_equal(approval_token_make(KEY, KEY_SIZE, "r", "s", "reject", "bob", exp, NULL, &t2), 0);
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, t2, now, &a), 0);
        assert_int_equal(strlen(a.nonce), 32);
        assert_string_equal(a.action, "reject");
        approval_token_done(&a);
        assert_int_equal(approval_token_make(KEY, 0, "r", "s", "reject", "bob", exp, NULL, &t2), -EINVAL);
}

static void test_approval_token_tampered(void **state) {
        _cleanup_free_ char *t = NULL, *forged = NULL, *payload = NULL, *sig = NULL;
        usec_t now = 1700000000 * USEC_PER_SEC;
        uint8_t mac[HMAC_SHA256_SIZE];
        ApprovalToken a = {};
        char *dot, c;

        assert_int_equal(approval_token_make(KEY, KEY_SIZE, "r1", "s1", "approve", "jane", now + 60 * USEC_PER_SEC,
                                             "x", &t),
                         0);
        /* one flipped payload character */
        c = t[3];
        t[3] = c == 'A' ? 'B' : 'A';
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, t, now, &a), -EKEYREJECTED);
        t[3] = c;
        /* one flipped MAC character (last one: may only change padding bits, so a middle one) */
        dot = strchr(t, '.');
        c = dot[5];
        dot[5] = c == 'A' ? 'B' : 'A';
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, t, now, &a), -EKEYREJECTED);
        dot[5] = c;
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, t, now, NULL), 0);

        /* structure */
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, "", now, &a), -EBADMSG);
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, "abc", now, &a), -EBADMSG);
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, ".abc", now, &a), -EBADMSG);
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, "a.b.c", now, &a), -EBADMSG);
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, "abc.abc", now, &a), -EBADMSG);
        assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, NULL, now, &a), -EBADMSG);
        {
                char big[APPROVAL_TOKEN_MAX + 10];
                memset(big, 'A', sizeof big - 1);
                big[sizeof big - 1] = 0;
                big[100] = '.';
                assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, big, now, &a), -EBADMSG);
        }

        /* correctly signed, but not a token's payload: still refused, and said so */
        static const char *const bad[] = {
                "not json",
                "[1,2]",
                "{\"v\":2,\"run\":\"r\",\"step\":\"s\",\"action\":\"a\",\"approver\":\"j\",\"expires\":9e18,\"nonce\":\"n\"}",
                "{\"v\":1,\"run\":\"r\",\"step\":\"s\",\"action\":\"a\",\"approver\":\"j\",\"expires\":\"1\",\"nonce\":\"n\"}",
                "{\"v\":1,\"run\":\"r\",\"step\":\"s\",\"action\":\"a\",\"approver\":\"j\",\"expires\":-5,\"nonce\":\"n\"}",
                "{\"v\":1,\"run\":1,\"step\":\"s\",\"action\":\"a\",\"approver\":\"j\",\"expires\":5,\"nonce\":\"n\"}",
                "{\"v\":1,\"step\":\"s\",\"action\":\"a\",\"approver\":\"j\",\"expires\":5,\"nonce\":\"n\"}",
                "{\"v\":1,\"run\":\"r\",\"step\":\"s\",\"action\":\"a\",\"approver\":\"j\",\"expires\":5,\"nonce\":\"\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                payload = mfree(payload);
                sig = mfree(sig);
                forged = mfree(forged);
                assert_int_equal(base64url_encode(bad[i], strlen(bad[i]), &payload), 0);
                assert_int_equal(hmac_sha256(KEY, KEY_SIZE, payload, strlen(payload), mac), 0);
                assert_int_equal(base64url_encode(mac, sizeof mac, &sig), 0);
                assert_true(asprintf(&forged, "%s.%s", payload, sig) > 0);
                assert_int_equal(approval_token_parse_verify(KEY, KEY_SIZE, forged, 0, &a), -EBADMSG);
                assert_null(a.run);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_hmac_rfc4231),
                cmocka_unit_test(test_webhook_vector),
                cmocka_unit_test(test_webhook_verify),
                cmocka_unit_test(test_webhook_secret),
                cmocka_unit_test(test_webhook_roundtrip_raw_key),
                cmocka_unit_test(test_pagerduty),
                cmocka_unit_test(test_approval_token),
                cmocka_unit_test(test_approval_token_tampered),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
