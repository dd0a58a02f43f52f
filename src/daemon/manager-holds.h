/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Holds (manager-holds.c): the units salved keeps from starting, and the
 * files in RUNTIME_DIR/gates their gates read (src/gate/, salved(8)). */

#include "macro.h"
#include "time-util.h"

typedef struct Manager Manager;
typedef struct ManagerHolds ManagerHolds;

typedef struct ManagerHold {
        char *unit;
        char *run_id;           /* the run that holds it ("?" when only the directory said so) */
        char *plan;
        usec_t since;           /* the run's creation (CLOCK_REALTIME) */
        char *text;             /* "held by run 12 (storage-recovery) since ...", as the gate shows it */
} ManagerHold;

ManagerHolds *manager_holds_free(ManagerHolds *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(ManagerHolds *, manager_holds_free);

/* Before the journal's runs are resumed: reads what the directory holds
 * now (an earlier salved of this boot), and adds the listener. */
int manager_holds_setup(Manager *m);
/* Once this boot's runs are in (resumed, boot plans started): writes the
 * held units' files and "ready", which opens every other gate. */
int manager_holds_decide(Manager *m);
/* Recomputes and syncs the directory (after a change of runs). */
void manager_holds_update(Manager *m);
/* What the runs hold now (pure over the store); the caller frees. */
int manager_holds_compute(Manager *m, ManagerHold **ret, size_t *ret_n);
const ManagerHold *manager_holds_list(Manager *m, size_t *ret_n);
const ManagerHold *manager_holds_find(Manager *m, const char *unit);
/* A person lets unit go: every run holding it journals HOLD_RELEASED.
 * -ENOENT: nothing holds it. */
int manager_release_unit(Manager *m, const char *unit, const char *actor, const char *comment);
