/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HMAC signatures and tokens (sign.h). Invariants: every MAC comparison
 * is CRYPTO_memcmp over equal lengths; MACs and decoded secrets are wiped
 * before their memory is freed; input is size- and alphabet-checked
 * before OpenSSL sees it, because EVP_DecodeBlock is lenient (it skips
 * surrounding whitespace and counts padding as output). */

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "sign.h"

int hmac_sha256(const void *key, size_t key_size, const void *data, size_t size,
                uint8_t ret[static HMAC_SHA256_SIZE]) {
        unsigned len = 0;

        if (!key || key_size == 0 || key_size > INT_MAX)
                return -EINVAL;
        if (!HMAC(EVP_sha256(), key, (int) key_size, data ?: (const void *) "", size, ret, &len) ||
            len != HMAC_SHA256_SIZE)
                return -EIO;
        return 0;
}

/* ---- base64 ---- */

int base64_encode(const void *p, size_t size, char **ret) {
        char *s;

        if (size > INT_MAX / 4 * 3 - 3)
                return -E2BIG;
        s = malloc((size + 2) / 3 * 4 + 1);
        if (!s)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *) s, p ?: (const void *) "", (int) size);
        *ret = s;
        return 0;
}

static bool is_b64_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int base64_decode(const char *s, size_t len, void **ret, size_t *ret_size) {
        size_t pad = 0;
        uint8_t *buf;
        int n;

        if (!s || len % 4 != 0 || len > INT_MAX)
                return -EBADMSG;
        if (len > 0 && s[len - 1] == '=')
                pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
        for (size_t i = 0; i < len - pad; i++)
                if (!is_b64_char(s[i]))
                        return -EBADMSG;
        buf = malloc(len / 4 * 3 + 1);
        if (!buf)
                return -ENOMEM;
        n = len > 0 ? EVP_DecodeBlock(buf, (const unsigned char *) s, (int) len) : 0;
        if (n < 0 || (size_t) n < pad) {
                free(buf);
                return -EBADMSG;
        }
        buf[n - pad] = 0;
        *ret = buf;
        *ret_size = (size_t) n - pad;
        return 0;
}

int base64url_encode(const void *p, size_t size, char **ret) {
        char *s;
        int k;

        k = base64_encode(p, size, &s);
        if (k < 0)
                return k;
        for (char *c = s; *c; c++)
                if (*c == '+')
                        *c = '-';
                else if (*c == '/')
                        *c = '_';
                else if (*c == '=') {
                        *c = 0;
                        break;
                }
        *ret = s;
        return 0;
}

int base64url_decode(const char *s, size_t len, void **ret, size_t *ret_size) {
        _cleanup_free_ char *t = NULL;
        size_t n;

        if (!s || len % 4 == 1 || len > INT_MAX / 2)
                return -EBADMSG;
        n = (len + 3) / 4 * 4;
        t = malloc(n + 1);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == '+' || c == '/' || c == '=')
                        return -EBADMSG;        /* not of this alphabet */
                t[i] = c == '-' ? '+' : c == '_' ? '/' : c;
        }
        memset(t + len, '=', n - len);
        t[n] = 0;
        return base64_decode(t, n, ret, ret_size);
}

/* ---- Standard Webhooks ---- */

static int webhook_mac(const void *key, size_t key_size, const char *id, const char *timestamp, const void *body,
                       size_t body_size, uint8_t mac[static HMAC_SHA256_SIZE]) {
        _cleanup_free_ char *content = NULL;
        size_t a = strlen(id), b = strlen(timestamp), n;

        if (body_size > SIZE_MAX - a - b - 3)
                return -E2BIG;
        n = a + 1 + b + 1 + body_size;
        content = malloc(n + 1);
        if (!content)
                return -ENOMEM;
        memcpy(content, id, a);
        content[a] = '.';
        memcpy(content + a + 1, timestamp, b);
        content[a + 1 + b] = '.';
        if (body_size > 0)
                memcpy(content + a + b + 2, body, body_size);
        return hmac_sha256(key, key_size, content, n, mac);
}

int webhook_sign(const void *key, size_t key_size, const char *id, uint64_t timestamp, const void *body,
                 size_t body_size, char **ret) {
        _cleanup_free_ char *b64 = NULL;
        char ts[24];
        uint8_t mac[HMAC_SHA256_SIZE];
        int k;

        if (!id || !ret)
                return -EINVAL;
        snprintf(ts, sizeof ts, "%" PRIu64, timestamp);
        k = webhook_mac(key, key_size, id, ts, body, body_size, mac);
        if (k < 0)
                return k;
        k = base64_encode(mac, sizeof mac, &b64);
        OPENSSL_cleanse(mac, sizeof mac);
        if (k < 0)
                return k;
        if (asprintf(ret, "v1,%s", b64) < 0)
                return -ENOMEM;
        return 0;
}

int webhook_secret_decode(const void *secret, size_t size, void **ret, size_t *ret_size) {
        const char *s = secret;
        void *p;

        if (!secret || !ret || !ret_size)
                return -EINVAL;
        while (size > 0 && (s[size - 1] == '\n' || s[size - 1] == '\r'))
                size--;
        if (size == 0)
                return -EINVAL;
        if (size >= 6 && memcmp(s, "whsec_", 6) == 0) {
                size_t n;
                int k = base64_decode(s + 6, size - 6, &p, &n);
                if (k < 0)
                        return k;
                if (n == 0) {
                        free(p);
                        return -EINVAL;
                }
                *ret = p;
                *ret_size = n;
                return 0;
        }
        p = malloc(size + 1);
        if (!p)
                return -ENOMEM;
        memcpy(p, s, size);
        ((char *) p)[size] = 0;
        *ret = p;
        *ret_size = size;
        return 0;
}

static int parse_seconds(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s || strlen(s) > 19)
                return -EBADMSG;
        for (const char *c = s; *c; c++) {
                if (*c < '0' || *c > '9')
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (*c - '0');
        }
        if (v > UINT64_MAX / USEC_PER_SEC)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int webhook_verify(const void *key, size_t key_size, const char *id, const char *timestamp_text, const void *body,
                   size_t body_size, const char *signature_header, usec_t now, usec_t tolerance) {
        uint8_t mac[HMAC_SHA256_SIZE];
        bool any = false, match = false;
        uint64_t secs;
        usec_t stamp;
        int k;

        if (!key || key_size == 0)
                return -EINVAL;
        if (!id || !*id || !signature_header)
                return -EBADMSG;
        k = parse_seconds(timestamp_text, &secs);
        if (k < 0)
                return k;
        k = webhook_mac(key, key_size, id, timestamp_text, body, body_size, mac);
        if (k < 0)
                return k;

        for (const char *p = signature_header; *p;) {
                size_t len = strcspn(p, " ");
                if (len > 3 && memcmp(p, "v1,", 3) == 0) {
                        _cleanup_free_ void *sig = NULL;
                        size_t n;
                        k = base64_decode(p + 3, len - 3, &sig, &n);
                        if (k == -ENOMEM) {
                                OPENSSL_cleanse(mac, sizeof mac);
                                return k;
                        }
                        if (k >= 0) {
                                any = true;
                                if (n == sizeof mac && CRYPTO_memcmp(sig, mac, sizeof mac) == 0)
                                        match = true;
                        }
                } else if (len > 0 && memchr(p, ',', len))
                        any = true;     /* another version's, well-formed enough to skip */
                p += len;
                p += strspn(p, " ");
        }
        OPENSSL_cleanse(mac, sizeof mac);
        if (!match)
                return any ? -EKEYREJECTED : -EBADMSG;

        stamp = secs * USEC_PER_SEC;
        if (usec_add(stamp, tolerance) < now || stamp > usec_add(now, tolerance))
                return -ETIME;
        return 0;
}

/* ---- PagerDuty ---- */

static int unhex_mac(const char *s, size_t len, uint8_t ret[static HMAC_SHA256_SIZE]) {
        if (len != 2 * HMAC_SHA256_SIZE)
                return -EBADMSG;
        for (size_t i = 0; i < HMAC_SHA256_SIZE; i++) {
                int hi = OPENSSL_hexchar2int((unsigned char) s[2 * i]);
                int lo = OPENSSL_hexchar2int((unsigned char) s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EBADMSG;
                ret[i] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}

int pagerduty_verify(const struct iovec *keys, size_t n_keys, const void *body, size_t body_size,
                     const char *header) {
        uint8_t sigs[16][HMAC_SHA256_SIZE];
        size_t n_sigs = 0;
        bool match = false;
        int k = 0;

        if (!header)
                return -EBADMSG;
        for (const char *p = header; *p && n_sigs < ELEMENTSOF(sigs);) {
                size_t len;
                p += strspn(p, " \t");
                len = strcspn(p, ",");
                /* trailing blanks inside the entry are not part of it */
                size_t l = len;
                while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
                        l--;
                if (l > 3 && memcmp(p, "v1=", 3) == 0 && unhex_mac(p + 3, l - 3, sigs[n_sigs]) >= 0)
                        n_sigs++;
                p += len;
                if (*p == ',')
                        p++;
        }
        if (n_sigs == 0)
                return -EBADMSG;

        for (size_t i = 0; i < n_keys && !match; i++) {
                uint8_t mac[HMAC_SHA256_SIZE];
                if (!keys[i].iov_base || keys[i].iov_len == 0)
                        continue;
                k = hmac_sha256(keys[i].iov_base, keys[i].iov_len, body, body_size, mac);
                if (k < 0)
                        break;
                for (size_t j = 0; j < n_sigs; j++)
                        if (CRYPTO_memcmp(mac, sigs[j], sizeof mac) == 0)
                                match = true;
                OPENSSL_cleanse(mac, sizeof mac);
        }
        OPENSSL_cleanse(sigs, sizeof sigs);
        if (match)
                return 0;
        return k < 0 ? k : -EKEYREJECTED;
}

/* ---- approval tokens ---- */

void approval_token_done(ApprovalToken *t) {
        if (!t)
                return;
        free(t->run);
        free(t->step);
        free(t->action);
        free(t->approver);
        free(t->nonce);
        *t = (ApprovalToken) {};
}

static int json_add_string(json_object *o, const char *name, const char *s) {
        json_object *v = json_object_new_string(s);
        if (!v || json_object_object_add(o, name, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int approval_token_make(const void *key, size_t key_size, const char *run, const char *step, const char *action,
                        const char *approver, usec_t expires_usec, const char *nonce, char **ret) {
        _cleanup_free_ char *payload = NULL, *sig = NULL;
        char random_nonce[33];
        uint8_t mac[HMAC_SHA256_SIZE];
        json_object *o, *v;
        int k;

        if (!key || key_size == 0 || !run || !step || !action || !approver || !ret ||
            expires_usec > INT64_MAX || (nonce && !*nonce))
                return -EINVAL;
        if (!nonce) {
                uint8_t b[16];
                if (RAND_bytes(b, sizeof b) != 1)
                        return -EIO;
                for (size_t i = 0; i < sizeof b; i++)
                        snprintf(random_nonce + 2 * i, 3, "%02x", b[i]);
                nonce = random_nonce;
        }

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        v = json_object_new_int(1);
        k = v && json_object_object_add(o, "v", v) >= 0 ? 0 : -ENOMEM;
        if (k < 0)
                json_object_put(v);
        if (k >= 0)
                k = json_add_string(o, "run", run);
        if (k >= 0)
                k = json_add_string(o, "step", step);
        if (k >= 0)
                k = json_add_string(o, "action", action);
        if (k >= 0)
                k = json_add_string(o, "approver", approver);
        if (k >= 0) {
                v = json_object_new_int64((int64_t) expires_usec);
                k = v && json_object_object_add(o, "expires", v) >= 0 ? 0 : -ENOMEM;
                if (k < 0)
                        json_object_put(v);
        }
        if (k >= 0)
                k = json_add_string(o, "nonce", nonce);
        if (k >= 0) {
                const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
                k = text ? base64url_encode(text, strlen(text), &payload) : -ENOMEM;
        }
        json_object_put(o);
        if (k < 0)
                return k;
        if (strlen(payload) + 1 + 43 > APPROVAL_TOKEN_MAX)
                return -E2BIG;

        k = hmac_sha256(key, key_size, payload, strlen(payload), mac);
        if (k < 0)
                return k;
        k = base64url_encode(mac, sizeof mac, &sig);
        OPENSSL_cleanse(mac, sizeof mac);
        if (k < 0)
                return k;
        if (asprintf(ret, "%s.%s", payload, sig) < 0)
                return -ENOMEM;
        return 0;
}

static const char *json_string_member(json_object *o, const char *name) {
        json_object *v;

        if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int token_fields(json_object *o, ApprovalToken *t) {
        const char *run, *step, *action, *approver, *nonce;
        json_object *v;
        int64_t expires;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if (!json_object_object_get_ex(o, "v", &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) != 1)
                return -EBADMSG;
        run = json_string_member(o, "run");
        step = json_string_member(o, "step");
        action = json_string_member(o, "action");
        approver = json_string_member(o, "approver");
        nonce = json_string_member(o, "nonce");
        if (!run || !step || !action || !approver || !nonce || !*nonce)
                return -EBADMSG;
        if (!json_object_object_get_ex(o, "expires", &v) || !json_object_is_type(v, json_type_int))
                return -EBADMSG;
        errno = 0;
        expires = json_object_get_int64(v);
        if (expires < 0 || errno != 0)
                return -EBADMSG;

        *t = (ApprovalToken) {
                .run = strdup(run),
                .step = strdup(step),
                .action = strdup(action),
                .approver = strdup(approver),
                .nonce = strdup(nonce),
                .expires = (usec_t) expires,
        };
        if (!t->run || !t->step || !t->action || !t->approver || !t->nonce) {
                approval_token_done(t);
                return -ENOMEM;
        }
        return 0;
}

int approval_token_parse_verify(const void *key, size_t key_size, const char *token, usec_t now,
                                ApprovalToken *ret) {
        _cleanup_free_ void *sig = NULL, *payload = NULL;
        ApprovalToken t = {};
        uint8_t mac[HMAC_SHA256_SIZE];
        size_t len, n_sig, n_payload;
        const char *dot;
        json_object *o;
        bool ok;
        int k;

        if (!key || key_size == 0)
                return -EINVAL;
        if (!token)
                return -EBADMSG;
        len = strnlen(token, APPROVAL_TOKEN_MAX + 1);
        if (len > APPROVAL_TOKEN_MAX)
                return -EBADMSG;
        dot = memchr(token, '.', len);
        if (!dot || dot == token || memchr(dot + 1, '.', len - (size_t) (dot + 1 - token)))
                return -EBADMSG;
        k = base64url_decode(dot + 1, len - (size_t) (dot + 1 - token), &sig, &n_sig);
        if (k < 0)
                return k;
        if (n_sig != HMAC_SHA256_SIZE)
                return -EBADMSG;

        k = hmac_sha256(key, key_size, token, (size_t) (dot - token), mac);
        if (k < 0)
                return k;
        ok = CRYPTO_memcmp(mac, sig, sizeof mac) == 0;
        OPENSSL_cleanse(mac, sizeof mac);
        if (!ok)
                return -EKEYREJECTED;

        /* Signed by us: from here on a failure is our own bug or an old format. */
        k = base64url_decode(token, (size_t) (dot - token), &payload, &n_payload);
        if (k < 0)
                return k;
        if (memchr(payload, 0, n_payload))
                return -EBADMSG;
        o = json_tokener_parse(payload);
        if (!o)
                return -EBADMSG;
        k = token_fields(o, &t);
        json_object_put(o);
        if (k < 0)
                return k;
        if (t.expires <= now) {
                approval_token_done(&t);
                return -ETIME;
        }
        if (ret)
                *ret = t;
        else
                approval_token_done(&t);
        return 0;
}
