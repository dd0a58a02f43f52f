/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a watcher saw, as the plan matcher reads it: one transition of a
 * unit, an md array, a block device or a link. Pure data: the strings are
 * the watcher's and valid only during the call that passes the event;
 * whoever keeps an event copies what it needs.
 *
 * The event names are the plan format's (salve.plan(5), "TRIGGERS"):
 *   unit    failed (systemd will not repair it itself), active, inactive,
 *           restarted (systemd restarted it automatically: Restart=)
 *   raid    degraded, disk-failed, resync-pending, resync-started,
 *           resync-finished, check-mismatch
 *   device  added, removed
 *   link    down, up, lower-layer-down, removed */

#include <stdbool.h>
#include <stdint.h>

#include "plan.h"
#include "time-util.h"

typedef struct TriggerEvent {
        TriggerKind kind;
        const char *name;       /* unit name, md array (md0), device node (/dev/sdb1), link name */
        const char *event;      /* see above */

        /* unit */
        const char *result;     /* systemd's Result= (exit-code, signal, oom-kill, ...) */
        unsigned restarts;      /* NRestarts= */

        /* raid */
        const char *alias;      /* the array's md/NAME, when /dev/md/NAME names it (else NULL) */
        const char *disk;       /* disk-failed: the member (sdb1) */
        uint64_t mismatches;    /* check-mismatch: mismatch_cnt */

        /* device: what libblkid found on it (NULL: nothing, or not known) */
        const char *fs_type;
        const char *uuid;
        const char *label;
        const char *partuuid;

        /* link */
        int ifindex;

        /* A stable name for this occurrence, the same when salved sees it
         * again after a restart (unit: the failure's timestamp), so a run
         * that already handled it is not started twice; NULL if none. */
        const char *occurrence;
        usec_t realtime;        /* when it happened as its source says, else when seen */
        usec_t monotonic;       /* when salved saw it (CLOCK_MONOTONIC) */
        bool initial;           /* found by the first enumeration, not seen happening */
        bool resynced;          /* synthesized by a resync after lost events */
} TriggerEvent;
