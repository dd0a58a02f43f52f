/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The relay's configuration (salve.relay(5)): where notifications go
 * (channels), how the outbox retries, and what the acknowledgement
 * listener accepts. Read from SALVE_CONFIG_DIR/relay.yaml and then the
 * drop-ins SALVE_CONFIG_DIR/relay.d/[*].yaml in name order; a missing file
 * is no error (no channels). Channels from every file add up (a name may
 * be defined once); an outbox or ack key in a later file replaces the
 * earlier value.
 *
 * Every problem is reported to a Diagnostics as FILE:LINE:COLUMN, and the
 * loader keeps going to report them all. Secrets are never part of the
 * configuration: every secret-valued key holds a reference
 * (credential:NAME or file:/abs/path, secret.h) that is only checked
 * here for its form; the relay reads it when it sets a channel up. */

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "plan.h"               /* SourcePos */
#include "time-util.h"

#define RELAY_CONFIG_FILE_MAX (1024U * 1024U)
#define RELAY_CHANNELS_MAX 256U
#define RELAY_CHANNEL_NAME_MAX 64U
#define RELAY_URLS_MAX 16U
#define RELAY_SECRETS_MAX 16U
#define RELAY_PAGERDUTY_URL_DEFAULT "https://events.pagerduty.com/v2/enqueue"

typedef enum ChannelType {
        CHANNEL_WEBHOOK,
        CHANNEL_ALERTMANAGER,
        CHANNEL_PAGERDUTY,
        _CHANNEL_TYPE_MAX,
        _CHANNEL_TYPE_INVALID = -EINVAL,
} ChannelType;

const char *channel_type_to_string(ChannelType t) _const_;      /* "webhook", "alertmanager", "pagerduty" */
ChannelType channel_type_from_string(const char *s) _pure_;

typedef struct RelayChannelConfig {
        char *name;
        ChannelType type;
        char **urls;                    /* at least one; http:// or https:// */
        char *secret_ref;               /* webhook: Standard Webhooks key reference, or NULL (unsigned) */
        char *routing_key_ref;          /* pagerduty: the integration's routing key reference */
        uint64_t events;                /* bit (1 << NotifyEvent); default every event */
        char **plans;                   /* fnmatch() globs; NULL: every plan */
        int min_severity;               /* NotifySeverity; default info */
        usec_t timeout;                 /* per HTTP request; default 10 s */
        usec_t resend, resolved_for;    /* alertmanager only (default 1 min, 15 min); 0 otherwise */
        SourcePos pos;                  /* of the channel's name */
        char *file;                     /* the file that defined it */
} RelayChannelConfig;

typedef struct RelayConfig {
        RelayChannelConfig *channels;
        size_t n_channels;
        struct {
                size_t max_entries, max_dead;
                usec_t retry_initial, retry_max, give_up_after;
        } outbox;
        struct {
                char **webhook_secrets, **pagerduty_secrets;   /* references; empty list when none */
                usec_t tolerance;
                char *approval_key;                             /* reference, or NULL */
                char *approval_url;     /* the public base of salve-ack ("https://host.example/salve"), or NULL */
                usec_t approval_lifetime;                       /* how long an approval link works */
        } ack;
} RelayConfig;

#define RELAY_OUTBOX_MAX_ENTRIES_DEFAULT 10000U
#define RELAY_OUTBOX_MAX_DEAD_DEFAULT 1000U
#define RELAY_OUTBOX_RETRY_INITIAL_DEFAULT (1 * USEC_PER_SEC)
#define RELAY_OUTBOX_RETRY_MAX_DEFAULT (5 * USEC_PER_MINUTE)
#define RELAY_OUTBOX_GIVE_UP_AFTER_DEFAULT (24 * USEC_PER_HOUR)
#define RELAY_ACK_TOLERANCE_DEFAULT (5 * USEC_PER_MINUTE)
#define RELAY_ACK_APPROVAL_LIFETIME_DEFAULT (24 * USEC_PER_HOUR)
#define RELAY_CHANNEL_TIMEOUT_DEFAULT (10 * USEC_PER_SEC)
#define RELAY_ALERTMANAGER_RESEND_DEFAULT (1 * USEC_PER_MINUTE)
#define RELAY_ALERTMANAGER_RESOLVED_FOR_DEFAULT (15 * USEC_PER_MINUTE)

typedef enum RelayConfigFlags {
        /* also open every file: secret (owner, mode, readable); credential:
         * ones can only be read inside salved.service and are not */
        RELAY_CONFIG_CHECK_SECRETS = 1 << 0,
        /* refuse config files that are not root's or that others may write
         * (the system configuration: it says where salve's notifications go) */
        RELAY_CONFIG_SECURE = 1 << 1,
} RelayConfigFlags;

/* path NULL: the system configuration (SALVE_CONFIG_DIR, secure checks
 * on); otherwise that one file alone, which must exist. d NULL: every
 * diagnostic is logged (log.h) instead. 0 on success (warnings may have
 * been reported), -EINVAL when any error was reported (*ret untouched),
 * -ENOMEM. */
int relay_config_load(const char *path, RelayConfig **ret, Diagnostics *d);
/* DIR/relay.yaml and DIR/relay.d/[*].yaml, either or both may be missing. */
int relay_config_load_dir(const char *dir, RelayConfigFlags flags, RelayConfig **ret, Diagnostics *d);
/* One file's text; file names it in diagnostics. */
int relay_config_load_buffer(const char *file, const char *buf, size_t len, RelayConfigFlags flags,
                             RelayConfig **ret, Diagnostics *d);

/* For `salvectl verify`: loads the system configuration (dir NULL) or
 * DIR's, with file: secrets opened and checked, into d. 0 when there are
 * no errors, -EINVAL when there are (all in d), -ENOMEM. */
int relay_config_verify(const char *dir, Diagnostics *d);

RelayConfig *relay_config_free(RelayConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(RelayConfig *, relay_config_free);

/* Whether channel c takes event (NotifyEvent) of severity (NotifySeverity)
 * for plan (NULL: a fact of no plan, which only a channel without plans:
 * takes). */
bool relay_channel_wants(const RelayChannelConfig *c, int event, int severity, const char *plan);
