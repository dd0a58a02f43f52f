/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* salved's side of remote acknowledgements (docs/remote-ack.md):
 * org.salve.Manager1.Callback(s method, s path, a(ss) headers, ay body)
 *   -> (u status, s content_type, s body),
 * called by salve-ack with each HTTP request it received, unread. Only
 * salve-ack's user and root may call it (the bus policy, and checked again
 * here). salved loads the keys (salve.relay(5), the `ack:` section),
 * verifies the request (ack-verify.h), acts on it (manager_ack(),
 * manager_act()), remembers what it acted on (ack-replay.h, in the state
 * directory) and answers; every refusal is logged with its reason and
 * changes nothing.
 *
 * Stateless between calls: keys and the replay set are read for each
 * request, so a rotated key counts at once and a restart forgets
 * nothing. Acknowledgements are rare; the listener bounds their rate. */

#include <systemd/sd-bus.h>

#include "ack-verify.h"
#include "manager.h"

#define SALVE_ACK_USER "salve-ack"

/* Where the keys come from: tests give their own. The default reads the
 * relay config. */
typedef struct ManagerAckKeys {
        char **webhook_secrets, **pagerduty_secrets;
        char *approval_key;
        usec_t tolerance;
} ManagerAckKeys;
void manager_ack_keys_done(ManagerAckKeys *k);

/* The whole request from outside to the reply, without D-Bus (tests and
 * the bus method). keys NULL: load them from the relay config. */
int manager_ack_handle(Manager *m, const ManagerAckKeys *keys, const AckRequest *req, usec_t now,
                       unsigned *ret_status, const char **ret_content_type, char **ret_body);

/* The vtable's handler:
 *   SD_BUS_METHOD_WITH_ARGS("Callback",
 *           SD_BUS_ARGS("s", method, "s", path, "a(ss)", headers, "ay", body),
 *           SD_BUS_RESULT("u", status, "s", content_type, "s", body),
 *           manager_ack_bus_method, SD_BUS_VTABLE_UNPRIVILEGED)
 * userdata is the Manager. */
int manager_ack_bus_method(sd_bus_message *m, void *userdata, sd_bus_error *error);
