/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* md RAID state as the kernel shows it, and the trigger events between two
 * such states. Pure: no I/O, no sd-event; the md watcher (md-watch.c) reads
 * the files and hands their text here, and issue 9's raid.wait-sync reads
 * the same MdArrayState through md_watch_get().
 *
 * Sources, per array (the kernel name, md0):
 *   /proc/mdstat                 which arrays exist (mdstat_parse)
 *   /sys/block/md0/md/ATTR       the array's state (md_array_state_set_attr)
 *   /sys/block/md0/md/dev-X/state  each member's flags (md_member_state_parse)
 * Every value is bounded and parsed strictly. A well-formed word this code
 * does not know (a newer kernel's) is kept as text with the enum at its
 * _INVALID value; only text that is no word or number at all is refused
 * (-EBADMSG), which the watcher counts as bad input.
 *
 * Events (md_array_state_diff), from an old state (NULL: the array is new,
 * or this is the first enumeration) to a new one:
 *   disk-failed      a member's state gained "faulty" without "in_sync"
 *                    (faulty with in_sync is md's way of showing a working
 *                    member with unacknowledged bad blocks); .disk = member
 *   degraded         the degraded count rose (0 -> 1, and 1 -> 2 on raid6),
 *                    or array_state became "broken" (raid0/linear lost one)
 *   resync-pending   array_state read-auto or readonly, resync_start not
 *                    "none", sync_action idle or frozen: md knows the array
 *                    is not in sync but waits for the first write (Debian's
 *                    md_mod start_ro=1 after an unclean shutdown). It is not
 *                    "in sync" although sync_action reads idle.
 *   resync-started   sync_action became resync or recover (a rebuild onto a
 *                    spare rewrites redundancy as a resync does, and
 *                    raid.wait-sync waits for either) with sync_completed
 *                    not "none"; also when a delayed resync waits for
 *                    another array on the same disks. A recover counts only
 *                    with a member to rebuild onto ("spare", in a degraded
 *                    array or replacing a member): md reads "recover" and
 *                    "0 / SIZE" for a moment whenever it looks for work,
 *                    e.g. right after a disk fails with no spare.
 *   resync-finished  sync_action left resync/recover, and the array is in
 *                    sync with all its disks: resync_start "none", degraded
 *                    0, not frozen, still running. A resync or rebuild that
 *                    stops short (frozen, a disk lost, the array stopped, a
 *                    degraded array) emits nothing; the state says why. A
 *                    resync or rebuild that ran entirely between two reads
 *                    (a bitmap re-add, a small array) shows only as a
 *                    running array going from degraded or resync_start set
 *                    to in sync: resync-finished alone, no resync-started.
 *   check-mismatch   sync_action left "check" with mismatch_cnt > 0;
 *                    .mismatches = mismatch_cnt. An interrupted check (one
 *                    that left "check" before its end: on the 6.1 kernel it
 *                    leaves sync_min at its checkpoint) reports what it
 *                    found so far too. "repair" emits nothing: it is the
 *                    remedy, and its count is what it rewrote.
 * reshape and sync_completed (progress) emit nothing; they are in the state.
 * With old == NULL, the events are those of the current bad states: degraded,
 * resync-pending, resync-started (a resync running), and one disk-failed per
 * faulty member. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

#define MD_NAME_MAX 32          /* kernel block device names (DISK_NAME_LEN) */
#define MD_WORD_MAX 32          /* the longest sysfs word kept */
#define MD_VALUE_MAX 4096       /* a sysfs attribute is at most a page */
#define MD_SECTOR_NONE UINT64_MAX

typedef enum MdArrayStatus {    /* array_state */
        MD_ARRAY_CLEAR,
        MD_ARRAY_INACTIVE,
        MD_ARRAY_SUSPENDED,
        MD_ARRAY_READONLY,
        MD_ARRAY_READ_AUTO,
        MD_ARRAY_CLEAN,
        MD_ARRAY_ACTIVE,
        MD_ARRAY_WRITE_PENDING,
        MD_ARRAY_ACTIVE_IDLE,
        MD_ARRAY_BROKEN,
        _MD_ARRAY_STATUS_MAX,
        _MD_ARRAY_STATUS_INVALID = -EINVAL,     /* not read, or a word not known here */
} MdArrayStatus;

typedef enum MdSyncAction {     /* sync_action */
        MD_SYNC_IDLE,
        MD_SYNC_RESYNC,
        MD_SYNC_RECOVER,
        MD_SYNC_CHECK,
        MD_SYNC_REPAIR,
        MD_SYNC_RESHAPE,
        MD_SYNC_FROZEN,
        _MD_SYNC_ACTION_MAX,
        _MD_SYNC_ACTION_INVALID = -EINVAL,
} MdSyncAction;

typedef enum MdAttr {           /* the attributes of /sys/block/mdX/md/ that are read */
        MD_ATTR_ARRAY_STATE,
        MD_ATTR_SYNC_ACTION,
        MD_ATTR_SYNC_COMPLETED,
        MD_ATTR_DEGRADED,       /* these four wake pollers (POLLPRI) */
        MD_ATTR_RESYNC_START,
        MD_ATTR_RAID_DISKS,
        MD_ATTR_LEVEL,
        MD_ATTR_MISMATCH_CNT,
        MD_ATTR_SYNC_MIN,
        _MD_ATTR_MAX,
        _MD_ATTR_INVALID = -EINVAL,
} MdAttr;
#define MD_ATTR_POLLED_MAX (MD_ATTR_DEGRADED + 1)

typedef enum MdMemberFlag {     /* dev-X/state words */
        MD_MEMBER_FAULTY = 1u << 0,
        MD_MEMBER_IN_SYNC = 1u << 1,
        MD_MEMBER_JOURNAL = 1u << 2,
        MD_MEMBER_WRITE_MOSTLY = 1u << 3,
        MD_MEMBER_BLOCKED = 1u << 4,
        MD_MEMBER_SPARE = 1u << 5,
        MD_MEMBER_WRITE_ERROR = 1u << 6,
        MD_MEMBER_WANT_REPLACEMENT = 1u << 7,
        MD_MEMBER_REPLACEMENT = 1u << 8,
        MD_MEMBER_EXTERNAL_BBL = 1u << 9,
        MD_MEMBER_FAILFAST = 1u << 10,
        MD_MEMBER_UNKNOWN = 1u << 31,   /* a word not known here (kept in .state_text) */
} MdMemberFlag;

typedef struct MdMemberState {
        char name[MD_NAME_MAX];         /* sdb1 (from dev-sdb1) */
        unsigned flags;                 /* MdMemberFlag */
        char state_text[MD_WORD_MAX * 4]; /* the state as read, "faulty,write_error" */
        bool known;                     /* state read and parsed */
} MdMemberState;

typedef struct MdArrayState {
        char name[MD_NAME_MAX];         /* md0 */
        unsigned known;                 /* 1 << MdAttr: read and parsed (raid0 has no sync_action) */

        MdArrayStatus array_state;
        char array_state_text[MD_WORD_MAX];
        MdSyncAction sync_action;
        char sync_action_text[MD_WORD_MAX];
        uint64_t sync_done, sync_total; /* sync_completed in sectors; 0, 0 for "none" */
        bool sync_running;              /* sync_completed is not "none": md's sync thread runs */
        bool sync_delayed;              /* sync_completed "delayed": waits for another array */
        uint64_t resync_start;          /* MD_SECTOR_NONE: "none", the array is in sync */
        unsigned degraded;
        unsigned raid_disks;            /* during a reshape, the new count */
        char level[MD_WORD_MAX];        /* raid1, raid0, linear; "" for an inactive array */
        uint64_t mismatch_cnt;
        uint64_t sync_min;

        MdMemberState *members;         /* sorted by name */
        size_t n_members;

        /* Not read from the kernel: md_array_state_track()'s memory that a
         * resync or rebuild was announced started and not yet finished. */
        bool finish_owed;
} MdArrayState;

typedef enum MdEventType {
        MD_EVENT_DISK_FAILED,
        MD_EVENT_DEGRADED,
        MD_EVENT_RESYNC_PENDING,
        MD_EVENT_RESYNC_STARTED,
        MD_EVENT_RESYNC_FINISHED,
        MD_EVENT_CHECK_MISMATCH,
        _MD_EVENT_TYPE_MAX,
        _MD_EVENT_TYPE_INVALID = -EINVAL,
} MdEventType;

typedef struct MdEvent {
        MdEventType type;
        const char *array;              /* the new state's name */
        const char *disk;               /* disk-failed: the member */
        uint64_t mismatches;            /* check-mismatch */
} MdEvent;

typedef void (*md_event_handler_t)(const MdEvent *e, void *userdata);

const char *md_array_status_to_string(MdArrayStatus s);
MdArrayStatus md_array_status_from_string(const char *s);
const char *md_sync_action_to_string(MdSyncAction a);
MdSyncAction md_sync_action_from_string(const char *s);
const char *md_attr_to_string(MdAttr a);
MdAttr md_attr_from_string(const char *s);
const char *md_event_type_to_string(MdEventType t);     /* the TriggerEvent names */

/* Names that are safe as one path component under /sys/block: "md" and then
 * [A-Za-z0-9_], shorter than MD_NAME_MAX. */
bool md_array_name_valid(const char *name);
/* A member's kernel name as in dev-NAME: printable, no '/', shorter than MD_NAME_MAX. */
bool md_member_name_valid(const char *name);

void md_array_state_init(MdArrayState *s, const char *name);
void md_array_state_done(MdArrayState *s);
int md_array_state_copy(MdArrayState *dst, const MdArrayState *src);

/* Parses the text of attribute a (as read, a trailing newline allowed) into
 * s and marks it known. -EBADMSG: not a value of that attribute; s is
 * unchanged. */
int md_array_state_set_attr(MdArrayState *s, MdAttr a, const char *text, size_t len);
/* The attribute could not be read (a raid0 has no sync_action): unknown. */
void md_array_state_clear_attr(MdArrayState *s, MdAttr a);
/* Copies what src knows of attribute a into dst (unknown if src does not
 * know it): the watcher keeps the last good value when a read is refused. */
void md_array_state_take_attr(MdArrayState *dst, const MdArrayState *src, MdAttr a);
bool md_array_state_equal(const MdArrayState *a, const MdArrayState *b);
static inline bool md_array_state_knows(const MdArrayState *s, MdAttr a) {
        return s->known & (1u << a);
}

/* dev-X/state: comma-separated words. -EBADMSG for what is no such list. */
int md_member_state_parse(const char *text, size_t len, MdMemberState *m);
/* Adds or replaces the member m (by name), keeping members sorted. */
int md_array_state_put_member(MdArrayState *s, const MdMemberState *m);
const MdMemberState *md_array_state_get_member(const MdArrayState *s, const char *name);

/* What a plan and raid.wait-sync ask about a state. */
bool md_array_state_is_running(const MdArrayState *s);          /* has a personality and is not stopped */
bool md_array_state_is_degraded(const MdArrayState *s);         /* degraded > 0 or broken */
bool md_array_state_is_resync_pending(const MdArrayState *s);   /* see resync-pending above */
bool md_array_state_is_syncing(const MdArrayState *s);          /* resync or recover running (see above) */
/* Running, nothing degraded, resync_start "none" and no resync, recovery or
 * reshape running (a check may run): what raid.wait-sync waits for. */
bool md_array_state_is_in_sync(const MdArrayState *s);

/* Calls handler for each event from old (NULL: new array) to new, in the
 * order disk-failed, degraded, resync-finished, resync-started,
 * resync-pending, check-mismatch. Returns the number of events. */
unsigned md_array_state_diff(const MdArrayState *old, const MdArrayState *new, md_event_handler_t handler,
                             void *userdata);
/* md_array_state_diff(), plus: a resync or rebuild announced started is
 * announced finished once the array is in sync, whatever states md showed
 * on the way. The watcher reads the files one after another while md
 * changes them, so one read can mix before and after (a member still
 * "spare" beside degraded 0: neither syncing nor needing a sync), and the
 * transition rule alone then misses the end. new->finish_owed carries it. */
unsigned md_array_state_track(const MdArrayState *old, MdArrayState *new, md_event_handler_t handler,
                              void *userdata);

/* /proc/mdstat */
typedef struct MdstatMember {
        char name[MD_NAME_MAX];
        int role;                       /* the number in brackets */
        bool faulty, spare, write_mostly, replacement, journal;
} MdstatMember;

typedef struct MdstatArray {
        char name[MD_NAME_MAX];
        bool active;                    /* "active" (else "inactive") */
        bool read_only, auto_read_only;
        char personality[MD_WORD_MAX];  /* raid1; "" if inactive */
        MdstatMember *members;
        size_t n_members;
        unsigned raid_disks, working;   /* [2/1]; 0, 0 if not shown */
        char sync_op[MD_WORD_MAX];      /* resync, recovery, check, repair, reshape; "" */
        uint64_t sync_done, sync_total; /* (18688/65472), in 1K blocks */
        bool resync_pending, resync_delayed;
} MdstatArray;

typedef struct Mdstat {
        MdstatArray *arrays;
        size_t n_arrays;
} Mdstat;

/* Parses the whole text of /proc/mdstat. -EBADMSG for a line that is none
 * of the kernel's (an array's own indented lines of unknown form, such as
 * "bitmap:", are skipped). On error *ret is left empty. */
int mdstat_parse(const char *text, size_t len, Mdstat *ret);
void mdstat_done(Mdstat *m);
const MdstatArray *mdstat_get(const Mdstat *m, const char *name);
