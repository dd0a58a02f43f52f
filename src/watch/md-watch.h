/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the md watcher offers beyond the Watch interface: the current state
 * of each array, for raid.wait-sync (issue 9) and salvectl. The states are
 * the watcher's and valid until its next wakeup (do not keep the pointer
 * across a return to the event loop; copy with md_array_state_copy()). */

#include "md-state.h"
#include "watch.h"

/* array: md0, /dev/md0, or md/NAME (resolved through DEVFS/md/NAME, the
 * link udev makes). NULL if w is not the md watcher or the array is not
 * known (not in /proc/mdstat, or not read yet). */
const MdArrayState *md_watch_get(Watch *w, const char *array);

size_t md_watch_count(Watch *w);
const MdArrayState *md_watch_get_index(Watch *w, size_t i);

/* Called after each re-read of an array whose state changed in anything,
 * progress (sync_completed) included, after the array's events were
 * emitted; state NULL: the array went. One handler per watcher (NULL to
 * remove); it may call md_watch_get() but must not free the watcher. */
typedef void (*md_watch_change_handler_t)(Watch *w, const char *array, const MdArrayState *state,
                                          void *userdata);
int md_watch_set_change_handler(Watch *w, md_watch_change_handler_t handler, void *userdata);

/* How long a resync-pending seen after the initial enumeration must last
 * before it is said (an array being created, or switched from read-auto by
 * a write, is pending for milliseconds before md starts its resync). */
#define MD_WATCH_PENDING_SETTLE_USEC (2 * USEC_PER_SEC)
int md_watch_set_pending_settle(Watch *w, usec_t settle);
