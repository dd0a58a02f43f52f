/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Remote acknowledgements, verified: one HTTP request (method, path,
 * headers, raw body) as salve-ack received it, the keys and the replay set
 * in, one verdict out: the HTTP status to answer, a one-line reason, and
 * what to do (acknowledge, resolve, approve, reject, or nothing).
 *
 * Pure: no I/O, no clock, no allocation that outlives the verdict; the
 * replay set is only read. The caller (salved, manager-ack.c) acts on an
 * accepted verdict and only then remembers verdict.replay_id, so a refused
 * request changes nothing anywhere.
 *
 * What is accepted (docs/remote-ack.md):
 *   POST /webhook    the generic signed callback: Standard Webhooks headers
 *                    webhook-id, webhook-timestamp, webhook-signature over
 *                    "ID.TIMESTAMP.BODY"; the timestamp within the
 *                    tolerance; the id not seen before. Body
 *                    {"action":"ack"|"resolve","run":..,"step":..,
 *                     "actor":..,"comment":..}. It can never approve.
 *   POST /pagerduty  PagerDuty webhooks v3: X-PagerDuty-Signature, one or
 *                    more "v1=HEX" (HMAC-SHA256 of the raw body), any key
 *                    of several; event.event_type incident.acknowledged or
 *                    incident.resolved; the step from the incident's
 *                    incident_key (the Events API dedup_key salve sent).
 *   GET  /approve?token=T   a confirmation page; never acts.
 *   POST /approve    token=T (form or JSON), the only way to approve or
 *                    reject from outside: a signed, single-use, expiring
 *                    token bound to run, step, action and approver.
 * Every other path is 404, every other method 405. */

#include <stdbool.h>
#include <stddef.h>

#include "ack-replay.h"
#include "macro.h"
#include "time-util.h"

#define ACK_BODY_MAX (64U * 1024U)              /* PagerDuty guarantees 55 KB */
#define ACK_HEADERS_MAX 64U
#define ACK_HEADER_VALUE_MAX 4096U
#define ACK_PATH_MAX 2048U
#define ACK_ACTOR_MAX 256U
#define ACK_COMMENT_MAX 4096U
#define ACK_TOLERANCE_DEFAULT (5U * USEC_PER_MINUTE)
/* PagerDuty signs no timestamp; event.occurred_at (in the signed body)
 * bounds how old a delivery may be. Its retries last about 20 minutes. */
#define ACK_PAGERDUTY_MAX_AGE_DEFAULT (1U * USEC_PER_HOUR)

typedef enum AckRoute {
        ACK_ROUTE_WEBHOOK,
        ACK_ROUTE_PAGERDUTY,
        ACK_ROUTE_APPROVE,
        _ACK_ROUTE_MAX,
        _ACK_ROUTE_INVALID = -EINVAL,
} AckRoute;

typedef enum AckAction {
        ACK_ACTION_NONE,                /* accepted, nothing to do (a confirmation page, another host's incident) */
        ACK_ACTION_ACK,
        ACK_ACTION_RESOLVE,             /* the incident was resolved: a human step's "done" */
        ACK_ACTION_APPROVE,
        ACK_ACTION_REJECT,
        _ACK_ACTION_MAX,
        _ACK_ACTION_INVALID = -EINVAL,  /* refused */
} AckAction;

typedef struct AckHeader {
        const char *name;               /* matched case-insensitively */
        const char *value;
} AckHeader;

typedef struct AckRequest {
        const char *method;             /* "GET", "POST", ... */
        const char *path;               /* with the query string, as received */
        const AckHeader *headers;
        size_t n_headers;
        const void *body;
        size_t body_size;
} AckRequest;

/* Which run and step a PagerDuty incident belongs to, when its
 * incident_key is not one salve wrote: salved remembers the dedup_key of
 * each event it sent. Returns 0 and both strings (owned by the caller),
 * -ENOENT if unknown. */
typedef int (*AckIncidentLookup)(const char *incident_key, char **ret_run, char **ret_step, void *userdata);

typedef struct AckKeys {
        char **webhook_secrets;         /* "whsec_BASE64", any of them; NULL: /webhook refused (404) */
        char **pagerduty_secrets;       /* any of them; NULL: /pagerduty refused (404) */
        const char *approval_key;       /* NULL: /approve refused (404) */
        usec_t tolerance;               /* webhook-timestamp; 0: ACK_TOLERANCE_DEFAULT */
        usec_t pagerduty_max_age;       /* 0: ACK_PAGERDUTY_MAX_AGE_DEFAULT */
        const char *host;               /* this host's name in incident keys; NULL: any */
        AckIncidentLookup lookup;
        void *lookup_userdata;
} AckKeys;

typedef struct AckVerdict {
        unsigned status;                /* HTTP: 200 accepted; 4xx refused */
        char *reason;                   /* one line, for the reply and the log */
        AckRoute route;                 /* _ACK_ROUTE_INVALID for 404 */
        AckAction action;               /* _ACK_ACTION_INVALID when refused */
        char *run, *step;
        char *actor;                    /* "webhook:jane", "pagerduty:Jane Doe", "token:jane" */
        char *via;                      /* "webhook", "pagerduty", "approval-token" */
        char *comment;
        /* Remember this once acted on, until then (CLOCK_REALTIME µs). */
        char *replay_id;
        usec_t replay_until;
        char *allow;                    /* 405: the Allow header's value */
        bool page;                      /* GET /approve: reply with the confirmation page */
        AckAction page_action;          /* GET /approve: what the token would do */
        usec_t token_expires;           /* GET /approve: for the page */
} AckVerdict;

void ack_verdict_done(AckVerdict *v);

const char *ack_action_to_string(AckAction a) _const_;   /* "none", "ack", "resolve", "approve", "reject" */
AckAction ack_action_from_string(const char *s) _pure_;
const char *ack_route_to_string(AckRoute r) _const_;     /* "webhook", "pagerduty", "approve" */

/* The route of a path (the query ignored), and whether method may be used
 * on it: 0, -ENOENT (404) or -EOPNOTSUPP (405; *ret_allow the methods).
 * salve-ack uses it to refuse early, and links nothing else of salve's:
 * hence inline. ack_verify() checks again. */
static inline int ack_route(const char *method, const char *path, AckRoute *ret, const char **ret_allow) {
        static const struct {
                const char *path;
                AckRoute route;
                bool get;
        } routes[] = {
                { "/webhook", ACK_ROUTE_WEBHOOK, false },
                { "/pagerduty", ACK_ROUTE_PAGERDUTY, false },
                { "/approve", ACK_ROUTE_APPROVE, true },
        };
        size_t n = path ? strcspn(path, "?") : 0;

        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                if (strlen(routes[i].path) != n || memcmp(routes[i].path, path, n) != 0)
                        continue;
                if (ret)
                        *ret = routes[i].route;
                if (ret_allow)
                        *ret_allow = routes[i].get ? "GET, POST" : "POST";
                if (method && (strcmp(method, "POST") == 0 || (routes[i].get && strcmp(method, "GET") == 0)))
                        return 0;
                return -EOPNOTSUPP;
        }
        return -ENOENT;
}

/* Always fills *ret (status and reason, refused or not) and returns 0;
 * -ENOMEM only when memory ran out. */
int ack_verify(const AckRequest *req, const AckKeys *keys, const AckReplay *replay, usec_t now, AckVerdict *ret);

/* The reply body for a verdict: JSON {"status":N,"reason":"..."} with
 * run, step, action when accepted; for a confirmation page, HTML with a
 * form that POSTs the token back. *ret_content_type is static. */
int ack_reply_format(const AckVerdict *v, const char *token, const char **ret_content_type, char **ret_body);
/* A reply of status and reason only (for refusals found after verifying:
 * an unknown run, a step not waiting). */
int ack_reply_simple(unsigned status, const char *reason, char **ret_body);

/* A header's value (first match, case-insensitive), or NULL. */
const char *ack_request_header(const AckRequest *req, const char *name);
/* The value of NAME in a query string or form body
 * ("a=1&token=x%2By"), %-decoded and '+' as space. -ENOENT if absent,
 * -EBADMSG if badly encoded or holding a NUL. */
int ack_form_value(const char *form, size_t len, const char *name, char **ret);
/* Parses "salve/HOST/RUN/STEP[/...]", the keys salve's notifications
 * carry (relay/notification.h). -EINVAL otherwise. */
int ack_incident_key_parse(const char *key, char **ret_host, char **ret_run, char **ret_step);
