/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asking polkit whether the sender of a D-Bus call may do something,
 * without blocking: CheckAuthorization is called asynchronously and the
 * answer arrives in a callback, after which the method replies. Root is
 * always allowed and costs no polkit call. When polkit is not on the bus,
 * only root is.
 *
 * The checks are bounded, because they share salved's one bus connection
 * with its calls to systemd, and dbus-daemon refuses any call of a
 * connection past max_replies_per_connection (128 on the system bus)
 * awaiting a reply. A PolkitAuthority keeps at most POLKIT_MAX_IN_FLIGHT
 * checks on the wire, no more than POLKIT_MAX_IN_FLIGHT_PER_USER of them
 * for one user (a check may wait minutes for a password), queues the rest
 * round-robin across users, and refuses a user's request outright once
 * that user has POLKIT_MAX_PENDING_PER_USER checks pending (or everyone
 * together POLKIT_MAX_PENDING), with org.salve.Error.TooManyRequests.
 * "User" is the caller's uid, not its connection: sixteen connections of
 * one user share one fair share. */

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "macro.h"

#define POLKIT_MAX_IN_FLIGHT 16U
#define POLKIT_MAX_IN_FLIGHT_PER_USER 4U
#define POLKIT_MAX_PENDING_PER_USER 32U
#define POLKIT_MAX_PENDING 512U

typedef struct PolkitAuthority PolkitAuthority;

/* The bus must be attached to its event loop. */
int polkit_authority_new(sd_bus *bus, PolkitAuthority **ret);
/* Cancels every pending check: no callback runs; free_userdata does. */
PolkitAuthority *polkit_authority_free(PolkitAuthority *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolkitAuthority *, polkit_authority_free);

/* verdict: 1 allowed, 0 refused (error set: AccessDenied or
 * InteractiveAuthorizationRequired), negative errno when the check
 * itself failed (error set). The callback owns userdata from then on. */
typedef void (*polkit_cb)(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata);

/* details: NULL-terminated key, value, key, value... Returns 0 when the
 * callback will come (never from inside this call), or a negative errno
 * with ret_error set to say why not: -EBUSY (TooManyRequests) when the
 * caller has too many checks pending, -EACCES when the caller cannot be
 * identified. Then the callback never comes and the caller keeps
 * userdata. free_userdata (may be NULL) frees it if the authority is
 * freed before the answer. */
int polkit_check_async(PolkitAuthority *a, sd_bus_message *call, const char *action, const char *const *details,
                       polkit_cb cb, void *userdata, void (*free_userdata)(void *userdata),
                       sd_bus_error *ret_error);

/* Checks of this uid waiting or asked (for tests and status). */
unsigned polkit_authority_pending(const PolkitAuthority *a, uid_t uid);

/* The caller's uid, for the record of who acted. */
int bus_caller_uid(sd_bus_message *call, uid_t *ret);
/* "alice (uid 1000)" or "uid 1000" */
char *bus_caller_name(sd_bus_message *call);
