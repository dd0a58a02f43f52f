/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Signatures salve makes and checks: Standard Webhooks (what the generic
 * webhook sends, and what a receiver's callback must carry), PagerDuty
 * webhooks v3 (what PagerDuty sends salve), and approval tokens (links in
 * a notification that approve or reject a human step).
 *
 * All cryptography is OpenSSL's libcrypto: HMAC-SHA256 (HMAC()), base64
 * (EVP_EncodeBlock/EVP_DecodeBlock, with strict input checks around
 * them), comparisons of MACs in constant time (CRYPTO_memcmp). Nothing
 * here logs, and nothing keeps a key beyond the call.
 *
 * Errors, everywhere: -EINVAL for a caller's mistake (an empty key),
 * -EBADMSG for input that is not of the format, -EKEYREJECTED when it is
 * well-formed but no signature matches a key, -ETIME when it is genuine
 * but outside its time (a stale webhook, an expired token), -ENOMEM. */

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "macro.h"
#include "time-util.h"

#define HMAC_SHA256_SIZE 32
#define WEBHOOK_TOLERANCE_DEFAULT (5 * USEC_PER_MINUTE)
#define APPROVAL_TOKEN_MAX 4096         /* longer tokens are refused unread */

int hmac_sha256(const void *key, size_t key_size, const void *data, size_t size,
                uint8_t ret[static HMAC_SHA256_SIZE]);

/* RFC 4648 base64 with padding ("+/"), and base64url without ("-_"). The
 * decoders are strict: only the alphabet, padding only at the end and
 * only where it belongs, no whitespace. They NUL-terminate what they
 * return (not counted in *ret_size). */
int base64_encode(const void *p, size_t size, char **ret);
int base64_decode(const char *s, size_t len, void **ret, size_t *ret_size);
int base64url_encode(const void *p, size_t size, char **ret);
int base64url_decode(const char *s, size_t len, void **ret, size_t *ret_size);

/* ---- Standard Webhooks (https://www.standardwebhooks.com/) ----
 * signature = base64(HMAC-SHA256(key, "ID.TIMESTAMP.BODY")), sent as
 * "v1,SIGNATURE"; the webhook-signature header is a space-separated list
 * of such, so a key can be rotated. */

/* "v1,BASE64" for one key; timestamp in seconds since the epoch, written
 * in decimal into the signed content (and into webhook-timestamp). */
int webhook_sign(const void *key, size_t key_size, const char *id, uint64_t timestamp, const void *body,
                 size_t body_size, char **ret);
/* A secret as configured: "whsec_BASE64" is the spec's form and decodes
 * to its bytes; anything else is used as the raw bytes it is. A trailing
 * newline (from a credential file) is not part of it. -EBADMSG for a
 * "whsec_" secret that is not base64, -EINVAL for an empty one. */
int webhook_secret_decode(const void *secret, size_t size, void **ret, size_t *ret_size);
/* Checks a received webhook: timestamp_text is the webhook-timestamp
 * header (decimal seconds), signature_header the webhook-signature one.
 * Entries of other versions ("v1a,...") are skipped, as the spec says.
 * Returns 0 when a v1 signature matches and the timestamp is within
 * tolerance of now (both usec), -EBADMSG when a header is malformed (or
 * holds no well-formed entry), -EKEYREJECTED when no signature matches,
 * -ETIME when one matches but the timestamp is outside the tolerance. */
int webhook_verify(const void *key, size_t key_size, const char *id, const char *timestamp_text, const void *body,
                   size_t body_size, const char *signature_header, usec_t now, usec_t tolerance);

/* ---- PagerDuty webhooks v3 ----
 * X-PagerDuty-Signature: v1=HEX[,v1=HEX...], HMAC-SHA256 of the raw body
 * with the subscription's secret; several while secrets rotate. Returns 0
 * when any v1 signature matches any of the keys, -EBADMSG when the
 * header holds no well-formed v1 entry, -EKEYREJECTED otherwise. */
int pagerduty_verify(const struct iovec *keys, size_t n_keys, const void *body, size_t body_size,
                     const char *header);

/* ---- approval tokens ----
 * TOKEN = base64url(PAYLOAD) "." base64url(HMAC-SHA256(key, base64url(PAYLOAD)))
 * PAYLOAD = {"v":1,"run":RUN,"step":STEP,"action":ACTION,"approver":WHO,
 *            "expires":USEC,"nonce":NONCE} (JSON, compact)
 * The MAC covers the encoded payload exactly as sent, so nothing is
 * parsed before the signature has been checked. The nonce makes each
 * token unique (the verifier's replay set remembers used ones). */
typedef struct ApprovalToken {
        char *run, *step, *action, *approver, *nonce;
        usec_t expires;                 /* CLOCK_REALTIME */
} ApprovalToken;

void approval_token_done(ApprovalToken *t);
/* nonce NULL: 16 random bytes, in hex. */
int approval_token_make(const void *key, size_t key_size, const char *run, const char *step, const char *action,
                        const char *approver, usec_t expires_usec, const char *nonce, char **ret);
/* 0 and the fields in *ret (which the caller frees with
 * approval_token_done()), -EBADMSG when it is not a token (or its payload
 * not such a record), -EKEYREJECTED for a bad signature, -ETIME when it
 * expired (expires <= now). ret may be NULL. */
int approval_token_parse_verify(const void *key, size_t key_size, const char *token, usec_t now,
                                ApprovalToken *ret);
