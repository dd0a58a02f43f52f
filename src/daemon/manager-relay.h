/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* manager-relay.c: the people directory and the relay in salved. */

#include "manager.h"

/* (Re)loads the people directory; on errors the one loaded before stays. */
int manager_people_load(Manager *m);
/* Logs the loaded plans' owner/escalate/fallback names people.d lacks. */
void manager_people_check_plans(Manager *m);
/* After the bus, before runs resume: people, the resolver, the relay and
 * its listener; reconciles the outbox with the journal. Never fails
 * salved for a bad relay config (logged, the relay left out). */
int manager_relay_setup(Manager *m);
int manager_relay_reload(Manager *m);
void manager_relay_free(Manager *m);
/* retry (drop false) or drop an outbox entry; -ENXIO: no relay. */
int manager_outbox_act(Manager *m, const char *id, bool drop);

int manager_bus_list_outbox(sd_bus_message *call, void *userdata, sd_bus_error *error);
int manager_bus_list_notifiers(sd_bus_message *call, void *userdata, sd_bus_error *error);
