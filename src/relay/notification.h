/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What salve tells people and central notifiers, as one channel-neutral
 * record. The relay (relay.c) builds a Notification from a journaled
 * transition and the run it changed; each channel (channel-*.c) turns it
 * into its own wire format. A Notification is plain data: it owns its
 * strings and knows nothing of HTTP or D-Bus.
 *
 * The key is the idempotency key: the same fact always gets the same key
 * ("salve/HOST/RUN/STEP/EVENT[/LEVEL/ROUND]"), so a notification sent
 * again after a crash has the same effect at the receiver as once. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "time-util.h"

typedef enum NotifyEvent {
        NOTIFY_RUN_STARTED,             /* with the trigger */
        NOTIFY_HUMAN_NEEDED,            /* a human step waits: its owner (level 0) is told */
        NOTIFY_ESCALATED,               /* nobody acknowledged in time: the next level is told */
        NOTIFY_REMINDER,                /* acknowledged but not done yet: whoever acknowledged is reminded */
        NOTIFY_ACKNOWLEDGED,            /* someone acknowledged (who, when, how) */
        NOTIFY_HUMAN_DONE,              /* the human step ended: approved, rejected, done, failed, skipped */
        NOTIFY_UNANSWERED,              /* the chain ran out: the run's owner and the plan's fallback are told */
        NOTIFY_STEP_FAILED,             /* a machine step failed (for good: no retry left) */
        NOTIFY_RTO_AT_RISK,
        NOTIFY_RTO_BREACHED,
        NOTIFY_RUN_FINISHED,            /* succeeded, failed or cancelled: run_state says which */
        _NOTIFY_EVENT_MAX,
        _NOTIFY_EVENT_INVALID = -EINVAL,
} NotifyEvent;

typedef enum NotifySeverity {
        NOTIFY_SEVERITY_INFO,
        NOTIFY_SEVERITY_WARNING,
        NOTIFY_SEVERITY_ERROR,
        NOTIFY_SEVERITY_CRITICAL,
        _NOTIFY_SEVERITY_MAX,
        _NOTIFY_SEVERITY_INVALID = -EINVAL,
} NotifySeverity;

/* A person the notification is for, with the addresses salve knows for
 * them (salve.people(5)): "channel=address" pairs such as
 * "email=jane@example.com", "pagerduty=PXXXXXX", "phone=+4912345". */
typedef struct NotifyRecipient {
        char *name;                     /* the person's id in people.d */
        char *display;                  /* full name, or NULL */
        char **contacts;                /* "channel=address" */
        unsigned level;                 /* the escalation level they were reached at (0: owner) */
        /* approve steps, with an approval key and URL configured
         * (salve.relay(5), ack:): links with a token bound to this person,
         * the run, the step and the action, that expires and works once */
        char *approve_url, *reject_url;
} NotifyRecipient;

typedef struct Notification {
        NotifyEvent event;
        NotifySeverity severity;
        char *key;                      /* idempotency key, unique per fact; at most 255 bytes */
        usec_t at;                      /* CLOCK_REALTIME of the fact */

        char *host;                     /* the host's name (gethostname or /etc/hostname) */
        char *machine_id;               /* 32 hex digits, or NULL */
        char *plan, *plan_description;
        char *run_id;
        char *trigger, *reason;         /* what started the run */
        char *run_state;                /* "running", "waiting", "succeeded", "failed", "cancelled", ... */
        char *summary;                  /* one line for people, <= 1024 bytes ("db-restore on host1: ...") */

        /* The run's RTO clock: deadline 0 when the plan has no rto. */
        usec_t trigger_time, rto, deadline, projected;
        char *rto_state;                /* "ok", "at-risk", "breached" */

        /* The step, for step events; NULL/0 otherwise. */
        char *step_id, *step_kind, *step_description;
        char *instructions;             /* a human step's instructions, verbatim */
        char **links;                   /* the step's and the plan's, step first */
        char *bridge, *chat;            /* conference bridge and chat channel (the step's, else the plan's) */
        unsigned step_position, n_steps; /* 1-based place in the plan's order; "step 3 of 7" */
        char **needs;                   /* the steps it needed */
        char *message;                  /* a step's or run's message ("exit status 3", "rejected: ...") */

        /* Escalation (human steps): level 0 is the owner, 1.. the escalate list. */
        unsigned level, round;          /* round counts from 1 */
        unsigned n_levels, rounds;      /* how many levels the chain has, and how many rounds (repeat:) */
        usec_t ack_timeout;             /* USEC_INFINITY: none */
        NotifyRecipient *recipients;    /* who this notification is for */
        size_t n_recipients;
        char *actor;                    /* ACKNOWLEDGED, HUMAN_DONE: who ("jane", "pagerduty:Jane Doe") */
        char *action;                   /* HUMAN_DONE: "approve", "reject", "done", "fail", "skip", ... */
        char *comment;

        /* What the run holds back or restarts (for alert suppression). */
        char **units;
} Notification;

Notification *notification_free(Notification *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(Notification *, notification_free);
void notify_recipients_free(NotifyRecipient *r, size_t n);

const char *notify_event_to_string(NotifyEvent e) _const_;     /* "human-needed", "rto-at-risk", ... */
NotifyEvent notify_event_from_string(const char *s) _pure_;
const char *notify_severity_to_string(NotifySeverity s) _const_; /* "info", "warning", "error", "critical" */
NotifySeverity notify_severity_from_string(const char *s) _pure_;
/* The severity an event has unless a channel's config says otherwise. */
NotifySeverity notify_event_default_severity(NotifyEvent e) _const_;
/* Whether the event is about a human step (has step_id, level, recipients). */
bool notify_event_is_human(NotifyEvent e) _const_;

/* A deep copy. */
int notification_copy(const Notification *n, Notification **ret);
/* As JSON text (json-c), every field; the outbox stores this and the
 * generic webhook sends it as its body's "data". And back: -EBADMSG for
 * text that is not such a record (field named in *ret_error when given). */
int notification_to_json(const Notification *n, char **ret);
int notification_from_json(const char *text, Notification **ret, const char **ret_error);
/* The same as a json-c object, for channels that embed it. */
struct json_object;
int notification_to_json_object(const Notification *n, struct json_object **ret);
/* A json-c string of s, bytes that are not UTF-8 written as U+FFFD (how
 * every string of the record is written); NULL on OOM. */
struct json_object *notify_json_string(const char *s);

/* Times in the JSON (and in every channel's payload): RFC 3339 in UTC,
 * "2026-12-02T14:19:55Z", with ".ffffff" when there are microseconds.
 * notify_parse_time() reads exactly that form (seconds, or seconds and
 * six digits of microseconds, and "Z"); -EINVAL otherwise. */
#define NOTIFY_TIME_MAX 40
char *notify_format_time(char buf[static NOTIFY_TIME_MAX], usec_t t);
int notify_parse_time(const char *s, usec_t *ret);
