/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The relay: salved's listener that tells people. Each journaled
 * transition's facts (relay-facts.h) become notifications; each channel
 * of the relay config that wants one gets an outbox entry, synced before
 * anything is sent; entries are delivered over HTTP (curl on salved's
 * loop), retried with backoff and kept as dead letters when a notifier
 * refuses them for good. Alertmanager channels are fed from the runs'
 * state instead (relay-alerts.h): firing alerts are re-sent while they
 * fire, resolved ones for a while after.
 *
 * Nothing here can hold up a run: the engine has journaled the fact
 * before the relay hears of it, sends never block, and one notifier's
 * trouble stays in its own queue. */

#include <systemd/sd-event.h>

#include "outbox.h"
#include "relay-config.h"
#include "relay-facts.h"
#include "run-store.h"

typedef struct Relay Relay;

/* One notifier endpoint: a channel and one of its URLs. */
typedef struct RelayTargetInfo {
        const char *name;               /* the outbox's channel: the channel's name, "NAME#N" for its Nth URL */
        const char *channel, *type, *url;
        unsigned in_flight;
        usec_t last_ok, last_failure;
        long last_status;
        const char *last_error;
        uint64_t sent, failed;
} RelayTargetInfo;

typedef struct RelayOptions {
        const char *config_path;        /* NULL: the system file */
        const char *outbox_path;        /* NULL: STATE_DIR/outbox.journal */
        const char *host;               /* NULL: gethostname() */
        const char *machine_id;
        RelayPersonFunc person;         /* contacts from the people directory */
        void *person_userdata;
} RelayOptions;

int relay_new(sd_event *event, const RelayOptions *o, Relay **ret);
Relay *relay_free(Relay *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Relay *, relay_free);

/* After the run store is open: enqueue what facts newer than the outbox's
 * last entry still lack (a crash between the two journals), then start
 * delivering. */
int relay_start(Relay *r, const RunStore *store);
/* A transition was journaled and applied to run (salved's listener). */
void relay_on_transition(Relay *r, const Run *run, const Transition *t);
/* Re-reads the config (salvectl reload). Targets that stay keep their queue. */
int relay_reload(Relay *r, const RunStore *store);

Outbox *relay_outbox(Relay *r);
size_t relay_targets(Relay *r, RelayTargetInfo *ret, size_t max);
/* People's verbs on the outbox: a dead or retrying entry now, or away. */
int relay_retry(Relay *r, const char *id);
int relay_drop(Relay *r, const char *id);
