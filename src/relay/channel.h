/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One table of operations per channel type, as exec-kind.h is per step
 * kind: the relay finds the type's table (channel_ops_find()), asks it to
 * format a Notification as one HTTP request, sends that, and asks it to
 * classify the reply. The channels are pure: they neither send nor keep
 * state, so the same notification formats to the same request (but for
 * the time of sending: a webhook's timestamp and signature).
 *
 *   webhook       channel-webhook.c       Standard Webhooks, signed; data = notification_to_json()
 *   alertmanager  channel-alertmanager.c  Alertmanager API v2, one alert per request
 *   pagerduty     channel-pagerduty.c     PagerDuty Events API v2 (alert events; change events for news)
 *
 * The wire formats are documented, with examples, in docs/notifications.md. */

#include "notification.h"

typedef struct ChannelParams {
        const char *url;                /* pagerduty: NULL for https://events.pagerduty.com/v2/enqueue */
        const void *secret;             /* webhook: the signing secret ("whsec_BASE64" or raw bytes), or NULL */
        size_t secret_size;
        const char *routing_key;        /* pagerduty: the integration key (required) */
        usec_t now;                     /* CLOCK_REALTIME at sending */
        usec_t ends_at;                 /* alertmanager: endsAt (firing: in the future; resolved: when it ended) */
        bool resolved;                  /* alertmanager: the alert has ended (ends_at 0: now) */
} ChannelParams;

typedef struct ChannelRequest {
        char *url;
        char **headers;                 /* "Name: value", Content-Type included */
        char *body;
        size_t body_size;
} ChannelRequest;

typedef enum DeliveryVerdict {
        DELIVERY_OK,
        DELIVERY_RETRY,                 /* later, with backoff */
        DELIVERY_DEAD,                  /* never: it would fail the same way again */
        _DELIVERY_VERDICT_MAX,
        _DELIVERY_VERDICT_INVALID = -EINVAL,
} DeliveryVerdict;

typedef struct ChannelOps {
        const char *type;                    /* "webhook", "alertmanager", "pagerduty" */
        /* The request for n. -EINVAL when n or p cannot be sent on this
         * channel at all (no routing key, no url, a key with a newline):
         * that never gets better. */
        int (*format)(const Notification *n, const ChannelParams *p, ChannelRequest *ret);
        /* status 0 = transport failure (retry). ret_reason: a short text for
         * `salvectl outbox` (the notifier's own message when its reply says
         * one, e.g. PagerDuty's "errors"), NULL when OK. body may be
         * anything: it is parsed defensively and never trusted. */
        DeliveryVerdict (*classify)(long status, const char *body, size_t body_size, char **ret_reason);
} ChannelOps;

extern const ChannelOps channel_webhook;
extern const ChannelOps channel_alertmanager;
extern const ChannelOps channel_pagerduty;

const ChannelOps *channel_ops_find(const char *type);
void channel_request_done(ChannelRequest *r);

const char *delivery_verdict_to_string(DeliveryVerdict v) _const_;     /* "ok", "retry", "dead" */

/* ---- Alertmanager: which alert a notification is ---- */

/* The alertname of the event's alert: SalveHumanNeeded (human-needed,
 * escalated, reminder, acknowledged, human-done), SalveUnanswered,
 * SalveStepFailed, SalveRTOAtRisk, SalveRTOBreached, and
 * SalveRecoveryInProgress (run-started while the run is active,
 * run-finished to resolve it). */
const char *alertmanager_alertname(NotifyEvent e) _const_;

/* The alert's identifying labels, "name=value", sorted by name:
 * alertname, instance (host), salve_plan, salve_run, salve_step (step
 * alerts only), severity (the alertname's, not the notification's, so
 * that every event of one alert carries the same labels). Alertmanager
 * tells alerts apart by exactly these, so equal lists are one alert: send
 * the list's alert again to keep it firing, with endsAt in the past to
 * resolve it. */
int alertmanager_labels(const Notification *n, char ***ret);
/* The labels as one string, "SalveHumanNeeded{instance=...,salve_plan=...}",
 * to key what was sent. */
int alertmanager_alert_key(const Notification *n, char **ret);

/* ---- PagerDuty ---- */

/* "trigger", "acknowledge", "resolve", or "change" (a change event:
 * run-started and reminder are news, not problems). */
const char *pagerduty_event_action(NotifyEvent e) _const_;
/* "salve/HOST/RUN/STEP" when n has a step, "salve/HOST/RUN" otherwise
 * (longer than 255 bytes: "salve/sha256/HEX" of it). To resolve a run's
 * step incidents when it finishes, send its run-finished once per such
 * step with step_id set, and once without. */
int pagerduty_dedup_key(const Notification *n, char **ret);

/* ---- shared by the channels ---- */

/* The longest prefix of s of at most max bytes that does not end inside
 * a UTF-8 sequence. */
size_t utf8_cut(const char *s, size_t max);
/* "HTTP 400: MESSAGE": the notifier's message from a JSON reply (a JSON
 * string, or an object's "message"/"error", with "errors" appended), else
 * the start of the body as text; printable UTF-8, at most ~300 bytes. */
int channel_reply_reason(long status, const char *body, size_t body_size, char **ret);
/* The classify of the Alertmanager and PagerDuty channels (see channel.c). */
DeliveryVerdict channel_classify_api(long status, const char *body, size_t body_size, char **ret_reason);
