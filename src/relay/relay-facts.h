/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a run's journaled state says people should hear of, as facts, and
 * each fact as a Notification. Pure: the relay calls it for each
 * transition as a listener, and again for every run after a restart to
 * find facts journaled just before a crash whose notifications were not
 * yet in the outbox (reconcile, don't assume). A fact's key is the same
 * whichever way it was found, which is what makes the outbox enqueue it
 * once. */

#include "notification.h"
#include "run.h"

typedef struct RelayFact {
        NotifyEvent event;
        ssize_t step;                   /* step events: the step's index; -1 for the run */
        size_t notice;                  /* HUMAN_NEEDED, ESCALATED: index in the step's notices */
        unsigned reminder;              /* REMINDER: its number */
        usec_t at;
} RelayFact;

/* Who a person is, for the contacts in a notification (the people
 * directory); NULL: names only. */
typedef int (*RelayPersonFunc)(const char *name, char **ret_display, char ***ret_contacts, void *userdata);

typedef struct RelayContext {
        const char *host;
        const char *machine_id;
        RelayPersonFunc person;
        void *userdata;
} RelayContext;

/* The facts a just-applied transition makes (0, 1 or 2). */
size_t relay_facts_for_transition(const Run *r, const Transition *t, RelayFact ret[static 2]);
/* Every fact the run's state holds, oldest first. */
int relay_facts_for_run(const Run *r, RelayFact **ret, size_t *ret_n);
/* The fact as a notification, from the run as it is. */
int relay_notification_build(const Run *r, const RelayFact *f, const RelayContext *ctx, Notification **ret);
/* The units the run holds back now, or starts, stops or restarts (what
 * alert suppression names). */
int relay_run_units(const Run *r, char ***ret);
/* The key alone (the outbox's idempotency key). */
int relay_fact_key(const Run *r, const RelayFact *f, const char *host, char **ret);
