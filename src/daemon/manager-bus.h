/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* salved's D-Bus API (docs/dbus-api.md): org.salve.Manager1 at
 * /org/salve/manager. Reading is open; changing anything goes through
 * polkit. Every argument is checked before use. */

#include "bus-names.h"
#include "manager.h"


#define SALVE_COMMENT_MAX 4096

int manager_bus_setup(Manager *m);
void manager_bus_on_transition(Manager *m, const Run *r, const Transition *t, void *userdata);

void manager_bus_emit_run_changed(Manager *m, const Run *r);
void manager_bus_emit_step_changed(Manager *m, const Run *r, const Transition *t);
void manager_bus_emit_human_waiting(Manager *m, const Run *r, ssize_t step);
void manager_bus_emit_rto(Manager *m, const Run *r, const Transition *t);
/* StepProgress: a long step's percent, ETA and one line (not journaled). */
void manager_bus_emit_step_progress(Manager *m, const Run *r, size_t step);

/* manager-bus-human.c: HumanNotified, HumanAcknowledged and HumanDone,
 * and the OpenHumanSteps and RecoveryInProgress properties. */
const char *human_notice_event_name(const Transition *t);
void manager_bus_emit_human(Manager *m, const Run *r, const Transition *t);
void manager_bus_human_changed(Manager *m, const Run *r, const Transition *t);
int manager_bus_get_open_human_steps(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error);
int manager_bus_get_recovery(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error);

/* Argument checks, shared with salvectl. */
bool run_id_is_valid(const char *s);
