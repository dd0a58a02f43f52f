/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How far md's sync thread is, for raid.wait-sync and raid.check: percent
 * from sync_completed (sectors done / total), speed from sync_speed (KiB/s,
 * md's own average over its last marks) or, when md shows none, from what
 * we saw sync_completed do since we started watching, and the time left
 * at that speed. Pure: the caller reads the files and the clock. */

#include <stdbool.h>
#include <stdint.h>

#include "md-state.h"
#include "time-util.h"

/* Our own measure of the rate: the first sync_completed seen of this sync. */
typedef struct RaidRate {
        bool have;
        uint64_t done;          /* sectors */
        uint64_t total;
        usec_t at;              /* CLOCK_MONOTONIC */
} RaidRate;

typedef struct RaidProgress {
        double percent;         /* 0..100, or -1 while md shows no progress */
        int64_t rate_kib;       /* KiB/s, or -1 */
        usec_t eta;             /* USEC_INFINITY: unknown */
} RaidProgress;

/* sync_speed: "none" (-1) or KiB/s. -EBADMSG for anything else. */
int raid_parse_sync_speed(const char *text, size_t len, int64_t *ret);

/* Remembers the first point of a sync (and starts again when md starts a
 * new one: total changed, or done went back). */
void raid_rate_observe(RaidRate *r, const MdArrayState *s, usec_t now);

/* Percent, rate and ETA from s. speed_kib: from sync_speed, or -1. */
void raid_progress_compute(const MdArrayState *s, int64_t speed_kib, const RaidRate *r, usec_t now,
                           RaidProgress *ret);

/* "md0: resync 42.0% at 1200 KiB/s, 3m 20s left" (what: "resync", "check", ...). */
char *raid_progress_format(const char *array, const char *what, const RaidProgress *p, char *buf, size_t size);
