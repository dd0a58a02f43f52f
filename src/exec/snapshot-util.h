/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pure part of snapshot steps, shared by the step kind
 * (exec-snapshot.c), its helper (salve-snapshot.c, which does the storage
 * work inside a transient unit) and the unit tests: names, which
 * snapshots retention removes, parsing lvs's listing, and what the
 * helper's exit status means.
 *
 * Names: a snapshot is PREFIX-RUNID, so a second attempt of the step in
 * the same run finds the one the first made (idempotent by name), and a
 * later run makes a new one. Retention only ever considers names of the
 * form PREFIX-PLAN-N (a run id: salve's own naming) that are snapshots of
 * the step's source, so it cannot remove a volume salve did not make
 * under that prefix. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

#define SNAPSHOT_NAME_MAX 127   /* LVM's LV name limit, less room for its own suffixes */

/* The helper's exit statuses. Everything but CREATED exits non-zero, so
 * the transient unit says "failed" for "already there" too; the step's
 * result is what the kind reads from the status, not the unit's state. */
typedef enum SnapshotExit {
        SNAPSHOT_EXIT_CREATED = 0,
        SNAPSHOT_EXIT_USAGE = 1,                /* bad arguments: a bug in salve */
        SNAPSHOT_EXIT_EXISTS = 2,               /* already there (this run made it before) */
        SNAPSHOT_EXIT_NO_SOURCE = 3,            /* the LV or subvolume does not exist, or is not one */
        SNAPSHOT_EXIT_NEEDS_SIZE = 4,           /* lvm: a classic (not thin) LV and no with.size */
        SNAPSHOT_EXIT_CREATE_FAILED = 5,        /* lvcreate / btrfs subvolume snapshot failed */
        SNAPSHOT_EXIT_CREATED_PRUNE_FAILED = 6, /* made, but removing old ones failed */
        SNAPSHOT_EXIT_EXISTS_PRUNE_FAILED = 7,  /* there, but removing old ones failed */
        SNAPSHOT_EXIT_NOT_OURS = 8,             /* the name is taken by something that is not a snapshot of the source */
        SNAPSHOT_EXIT_TOOL = 9,                 /* lvs/lvcreate/btrfs missing, or their listing unreadable */
        _SNAPSHOT_EXIT_MAX,
} SnapshotExit;

/* What an exit status means, for the step's result: the text (NULL for a
 * status the helper never uses) and whether the step succeeded. */
const char *snapshot_exit_describe(int status, bool *ret_success);

/* A valid snapshot name: 1..SNAPSHOT_NAME_MAX of A-Z a-z 0-9 _ . + -, not
 * starting with - or . (valid for LVM and for a btrfs directory entry). */
bool snapshot_name_is_valid(const char *s);

/* The default prefix: the source's last component (LV name or subvolume
 * directory) followed by "-salve"; characters a name cannot hold become
 * '_'. */
int snapshot_default_prefix(const char *source, char **ret);

/* PREFIX-RUNID, or -EINVAL if that is not a valid name. */
int snapshot_name(const char *prefix, const char *run_id, char **ret);

/* Whether name is PREFIX-PLAN-N: a run id of any plan after the prefix.
 * Sets *ret_run_number to N. */
bool snapshot_name_matches(const char *name, const char *prefix, uint64_t *ret_run_number);

typedef struct SnapshotEntry {
        char *name;
        usec_t created;         /* CLOCK_REALTIME; 0 if unknown */
        bool prune;             /* set by snapshot_select_prune() */
} SnapshotEntry;

void snapshot_entries_free(SnapshotEntry *e, size_t n);

/* Retention: of the entries matching prefix, keeps the newest keep
 * (keep >= 1), the one named current always among them, and marks the
 * rest prune. Newest: the later creation time, then the higher run
 * number, then the name. Reorders e (newest first among the matches).
 * Returns how many are marked, or -EINVAL. */
int snapshot_select_prune(SnapshotEntry *e, size_t n, const char *prefix, const char *current, unsigned keep);

/* Parses `lvs --noheadings --separator '|' -o lv_name,origin,lv_time,segtype
 * --config 'report/time_format="%s"' VG`: one line per LV. Returns the
 * LVs whose origin is origin (snapshots of it), with their times. */
int snapshot_parse_lvs(const char *text, const char *origin, SnapshotEntry **ret, size_t *ret_n);

/* From the same listing: the line of LV lv. Sets *ret_origin and
 * *ret_segtype (owned by the caller; empty strings when the field is
 * empty). Returns 1 if found, 0 if not, -errno on a bad listing. */
int snapshot_lvs_find(const char *text, const char *lv, char **ret_origin, char **ret_segtype);
