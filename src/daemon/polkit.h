/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asking polkit whether the sender of a D-Bus call may do something,
 * without blocking: CheckAuthorization is called asynchronously and the
 * answer arrives in a callback, after which the method replies. Root is
 * always allowed. When polkit is not on the bus, only root is. */

#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct PolkitQuery PolkitQuery;

/* verdict: 1 allowed, 0 refused (ret_error set: AccessDenied or
 * InteractiveAuthorizationRequired), negative errno when the check
 * itself failed. The query is freed after the callback returns. */
typedef void (*polkit_cb)(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata);

/* details: NULL-terminated key, value, key, value... Returns 0 when the
 * callback will come (possibly at once for root, but never from inside
 * this call), negative errno if the question could not even be asked. */
int polkit_check_async(sd_bus *bus, sd_event *event, sd_bus_message *call, const char *action,
                       const char *const *details, polkit_cb cb, void *userdata);

/* The caller's uid, for the record of who acted. */
int bus_caller_uid(sd_bus_message *call, uid_t *ret);
/* "alice (uid 1000)" or "uid 1000" */
char *bus_caller_name(sd_bus_message *call);
