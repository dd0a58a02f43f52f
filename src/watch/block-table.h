/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The block watcher's pure state: the devices it knows (keyed by
 * MAJOR:MINOR, kept sorted), the identity it last announced for each, the
 * rule that turns a newly learnt truth into added/removed events, and the
 * diff of the table against a re-enumeration of sysfs. No I/O, no
 * sd-event: unit tests drive it directly.
 *
 * The announcement rule (block_transition()): per device, "added" and
 * "removed" strictly alternate, so a consumer that keeps the set of present
 * devices from the events alone is never wrong. What comes and goes is a
 * device *with its contents*: when a change uevent gives a device a
 * different identity (a loop device attached or detached, a filesystem
 * written, a medium inserted), the old one is "removed" and the new one
 * "added", as if one disk were pulled and another plugged in. So an empty
 * device that gets a filesystem emits removed (identity NULL) and then
 * added (with TYPE/UUID/LABEL): a plan matching UUID=... fires when the
 * filesystem appears, which is what its author means. A probe that failed
 * or timed out says nothing about an announced device (it keeps its
 * identity); a device never announced is announced with identity NULL. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct BlockIdentity {
        char *fs_type;          /* libblkid TYPE */
        char *uuid;             /* UUID */
        char *label;            /* LABEL */
        char *partuuid;         /* PART_ENTRY_UUID */
} BlockIdentity;

void block_identity_done(BlockIdentity *id);
bool block_identity_equal(const BlockIdentity *a, const BlockIdentity *b);
bool block_identity_is_empty(const BlockIdentity *id);
int block_identity_set(BlockIdentity *id, const char *fs_type, const char *uuid, const char *label,
                       const char *partuuid);
int block_identity_copy(BlockIdentity *dst, const BlockIdentity *src);

typedef struct BlockDevice BlockDevice;
struct BlockDevice {
        unsigned major, minor;
        char *sysname;          /* "sda1" */
        char *node;             /* "/dev/sda1" (always /dev: the name plans match) */
        char *devname;          /* "sda1": DEVNAME, relative to the device directory */
        uint64_t diskseq;       /* 0: not known */
        uint64_t size;          /* 512-byte sectors, as sysfs says; UINT64_MAX: not known */

        bool announced;         /* "added" was emitted, "removed" not yet */
        BlockIdentity id;       /* what "added" said (valid while announced) */

        /* The watcher's pipeline (not used by the pure code). */
        bool probe_wanted;      /* the truth changed since the last probe started */
        bool pending_initial;   /* its first announcement is part of the enumeration */
        bool pending_resynced;  /* ... or of a resync */
        bool probe_hung;        /* a probe of it timed out: do not fork another */
        bool queued;            /* in the watcher's wait list */
        BlockDevice *queue_next;
        void *probe;            /* the running probe, if any */
        uint64_t probe_started; /* CLOCK_MONOTONIC usec, for the stats */
};

BlockDevice *block_device_free(BlockDevice *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(BlockDevice *, block_device_free);
/* devname relative to /dev; copies the strings. */
int block_device_new(unsigned major, unsigned minor, const char *sysname, const char *devname,
                     BlockDevice **ret);

typedef struct BlockTable {
        BlockDevice **devices;  /* sorted by (major, minor) */
        size_t n, allocated;
} BlockTable;

void block_table_done(BlockTable *t);          /* frees the devices too */
BlockDevice *block_table_find(const BlockTable *t, unsigned major, unsigned minor);
int block_table_insert(BlockTable *t, BlockDevice *d);         /* -EEXIST */
int block_table_remove(BlockTable *t, BlockDevice *d);         /* -ENOENT; does not free */

typedef enum BlockTransition {
        BLOCK_TRANSITION_NONE,
        BLOCK_TRANSITION_ADD,           /* added (new identity) */
        BLOCK_TRANSITION_REMOVE,        /* removed (the announced identity) */
        BLOCK_TRANSITION_REPLACE,       /* removed (announced), then added (new) */
        _BLOCK_TRANSITION_MAX,
} BlockTransition;

/* announced/announced_id: what the consumer was told; present: the kernel
 * has it; found: its identity now (NULL: the probe failed, not known). */
BlockTransition block_transition(bool announced, const BlockIdentity *announced_id, bool present,
                                 const BlockIdentity *found);

/* One device as a re-enumeration of sysfs found it. */
typedef struct BlockSnapshotEntry {
        unsigned major, minor;
        const char *sysname, *devname;
        uint64_t diskseq, size;
} BlockSnapshotEntry;

typedef enum BlockDiffKind {
        BLOCK_DIFF_GONE,        /* in the table, not in sysfs (or its number now names another) */
        BLOCK_DIFF_NEW,         /* in sysfs, not in the table */
        BLOCK_DIFF_CHANGED,     /* in both, but its diskseq or size differs: re-identify */
} BlockDiffKind;

typedef int (*block_diff_handler_t)(BlockDiffKind kind, BlockDevice *d, const BlockSnapshotEntry *e,
                                    void *userdata);

/* Calls handler for every GONE device first (d set, e NULL; the handler may
 * remove and free it), then for every NEW (d NULL) and CHANGED (both)
 * entry in (major, minor) order. entries may be in any order; a number
 * given twice is -EBADMSG, before any call. Stops at a handler's error. */
int block_table_diff(BlockTable *t, const BlockSnapshotEntry *entries, size_t n, block_diff_handler_t handler,
                     void *userdata);
