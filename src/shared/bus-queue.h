/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A bounded queue in front of sd_bus_call_async().
 *
 * dbus-daemon allows a connection only so many method calls awaiting a
 * reply (max_replies_per_connection, 128 on the system bus); past that
 * every further call of that connection fails with LimitsExceeded, whoever
 * it was made for. So salved never sends more than it has budgeted: each
 * BusQueue has at most max_in_flight calls on the wire and keeps the rest
 * in FIFO order. Calls may carry a class (salved uses the caller's uid):
 * queued calls leave round-robin across classes, and a class may be held
 * to fewer calls in flight than the queue, so one busy class cannot take
 * every slot.
 *
 * Invariants:
 * - The callback is never invoked from inside bus_queue_call*(); only from
 *   the event loop (the reply, sd-bus's timeout, or the queue's own defer
 *   source when a queued call could not be sent: then with an error reply).
 * - Once bus_queue_call*() has succeeded, the callback runs exactly once,
 *   unless the call (or the queue) is freed first.
 * - A call freed while on the wire is cancelled (its reply is dropped and
 *   the callback never runs), but it keeps its slot until the reply or the
 *   timeout comes, because dbus-daemon keeps counting it until then.
 * - The queue may be freed before the calls its owners hold: their handles
 *   become inert and bus_queue_call_free() just releases them.
 *
 * The timeout counts from the moment a call is sent, not while it waits
 * in the queue; every call on the wire has one, so the queue always moves. */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct BusQueue BusQueue;
typedef struct BusQueueCall BusQueueCall;

#define BUS_QUEUE_CLASS_DEFAULT UINT64_C(0)

/* The bus must already be attached to an event loop. */
int bus_queue_new(sd_bus *bus, unsigned max_in_flight, BusQueue **ret);
BusQueue *bus_queue_free(BusQueue *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusQueue *, bus_queue_free);

/* At most n calls of one class on the wire at once (0: only the queue's
 * own limit). */
void bus_queue_set_class_max_in_flight(BusQueue *q, unsigned n);

/* Queues method call m (a reference is taken). ret_call NULL: a floating
 * call, owned by the queue and released after its callback; its userdata
 * must outlive the queue or need no freeing. timeout_usec 0: sd-bus's
 * default. Returns -ENOTCONN when the bus is closed. */
int bus_queue_call(BusQueue *q, BusQueueCall **ret_call, sd_bus_message *m, sd_bus_message_handler_t callback,
                   void *userdata, uint64_t timeout_usec);
int bus_queue_call_class(BusQueue *q, BusQueueCall **ret_call, uint64_t class, sd_bus_message *m,
                         sd_bus_message_handler_t callback, void *userdata, uint64_t timeout_usec);
/* Builds the call with sd_bus_message_new_method_call() and appends
 * types/... as sd_bus_message_append() does; sd-bus's default timeout. */
int bus_queue_call_method(BusQueue *q, BusQueueCall **ret_call, const char *destination, const char *path,
                          const char *interface, const char *member, sd_bus_message_handler_t callback,
                          void *userdata, const char *types, ...);

/* Cancels the call, queued or in flight; after its callback, just frees. */
BusQueueCall *bus_queue_call_free(BusQueueCall *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusQueueCall *, bus_queue_call_free);

/* true while the callback is still to come */
bool bus_queue_call_is_pending(const BusQueueCall *c);

unsigned bus_queue_n_in_flight(const BusQueue *q);
unsigned bus_queue_n_queued(const BusQueue *q);
/* Calls of a class queued or in flight (cancelled ones included until
 * their reply comes). */
unsigned bus_queue_class_pending(const BusQueue *q, uint64_t class);
