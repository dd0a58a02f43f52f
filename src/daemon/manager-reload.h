/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reloading the plan set without stopping salved's one loop. A reload
 * lists the plan directories, then loads files in slices of at most
 * RELOAD_SLICE_USEC from an idle-priority defer source, so D-Bus calls,
 * timers and unit events are served between slices; the new set replaces
 * the old one in a single step at the end, and only if it has no errors.
 * Requests that arrive while a reload runs coalesce into one more pass
 * after it (the files may have changed since the first was listed), and
 * every caller gets the answer of the pass that covers its request. */

#include "manager.h"

#define RELOAD_SLICE_USEC (10 * USEC_PER_MSEC)
/* Callers waiting for one pass; more are refused. Reloads coalesce, so a
 * legitimate caller never needs more. */
#define RELOAD_CALLERS_MAX 64U

typedef struct ManagerReload ManagerReload;

/* Starts a reload, or joins the next pass of one that runs. call (may be
 * NULL, for SIGHUP) is answered when that pass ends: success, or
 * org.salve.Error.PlanErrors naming the first errors. */
int manager_reload_request(Manager *m, sd_bus_message *call);
bool manager_reload_in_progress(const Manager *m);
ManagerReload *manager_reload_free(ManagerReload *r);
/* Logs each problem as FILE:LINE:COLUMN: LEVEL: MESSAGE, sorted. */
void manager_log_diagnostics(Diagnostics *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(ManagerReload *, manager_reload_free);
