/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The alerts a run stands for at Alertmanager, derived from its state
 * alone: Alertmanager keeps no state of its own, so salve re-sends every
 * firing alert while it fires and each resolved one for a while, and
 * after a restart the same set follows from the journal. Pure. */

#include "relay-facts.h"

typedef struct RelayAlert {
        RelayFact fact;                 /* the fact whose notification the alert is formatted from */
        bool firing;
        usec_t starts_at;
        usec_t resolved_at;             /* !firing: when it stopped */
} RelayAlert;

/* The run's alerts at `now`: firing ones, and resolved ones that stopped
 * within resolved_for. */
int relay_alerts_for_run(const Run *r, usec_t now, usec_t resolved_for, RelayAlert **ret, size_t *ret_n);
