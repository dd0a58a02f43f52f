/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What fs.check and fs.mount decide, without a bus or an event loop, so
 * the unit tests drive it on image files and fixture mountinfo files:
 *   - fsck's exit bits, and what they mean for the step;
 *   - the command line of the checker (e2fsck or fsck -t TYPE);
 *   - a mount unit's name for a path (as `systemd-escape --path`);
 *   - the device probe: a UUID=/LABEL=/... spec resolved with libblkid,
 *     its type, where it is mounted (libmount, over PID 1's mountinfo),
 *     what is mounted at a path, and for ext2/3/4 the superblock's word on
 *     whether it is clean (libext2fs, opened read-only: nothing is written).
 * The probe blocks (a device may take seconds to answer, libblkid may
 * scan every device to resolve a tag), so salved runs it in a forked
 * child (exec-fs.c); it is here so the tests can call it directly. */

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "time-util.h"

typedef enum FsRepair {
        FS_REPAIR_NO,           /* e2fsck -n -f, fsck -n: look, change nothing */
        FS_REPAIR_PREEN,        /* e2fsck -p, fsck -a: what is safe without a person */
        FS_REPAIR_YES,          /* e2fsck -y, fsck -y: everything */
        _FS_REPAIR_MAX,
        _FS_REPAIR_INVALID = -EINVAL,
} FsRepair;

FsRepair fs_repair_from_string(const char *s);
const char *fs_repair_to_string(FsRepair r);

bool fs_type_is_ext(const char *fstype);

/* ---- fsck's exit status (fsck(8), e2fsck(8)) ---- */

enum {
        FSCK_CORRECTED = 1,
        FSCK_REBOOT = 2,
        FSCK_UNCORRECTED = 4,
        FSCK_OPERATIONAL = 8,
        FSCK_USAGE = 16,
        FSCK_CANCELLED = 32,
        FSCK_LIBRARY = 128,
};

/* Whether the step succeeded with this exit status: 0 (clean) and 1
 * (errors corrected) only. 2 (corrected, but the filesystem is mounted and
 * the kernel's view of it is stale: reboot) fails the step, so that
 * nothing that follows in the plan uses the filesystem before the reboot.
 * Writes every bit that is set, in words, into buf. */
bool fs_fsck_exit_ok(int status, char *buf, size_t size);

/* The checker's argv: e2fsck for ext2/3/4 (-n -f, -p or -y), else
 * fsck -T -t TYPE (-n, -a or -y). -f only with repair "no": a read-only
 * check cannot replay a journal and would otherwise stop at the
 * superblock's "clean" (the probe has already said that much); with preen
 * and yes e2fsck's own rules decide, as at boot (systemd-fsck): a full
 * check when the filesystem was not cleanly unmounted or has errors
 * recorded, a journal replay when one is pending. */
int fs_fsck_argv(const char *fstype, FsRepair repair, const char *device, char ***ret);

/* ---- mount units ---- */

/* "/srv/my data" -> "srv-my\x20data.mount", as `systemd-escape --path
 * --suffix=mount`. where must be absolute and normalized. */
int fs_mount_unit_name(const char *where, char **ret);

/* ---- the probe ---- */

/* An ext2/3/4 superblock's state. */
typedef struct FsExtState {
        bool valid;             /* s_state VALID: cleanly unmounted (or mounted with a journal) */
        bool errors;            /* s_state ERROR: the kernel recorded errors */
        bool needs_recovery;    /* the journal must be replayed (an unclean shutdown) */
        bool orphans;           /* s_state ORPHAN: orphan recovery was under way */
        bool has_journal;
        uint32_t error_count;   /* s_error_count: errors since the last check (ext4) */
        uint16_t mnt_count;
        int16_t max_mnt_count;  /* <= 0: no count-based check */
        uint64_t lastcheck;     /* seconds since the epoch */
        uint32_t checkinterval; /* seconds; 0: none */
} FsExtState;

/* Reads the superblock of the ext2/3/4 filesystem at path (a block device
 * or an image file) with libext2fs, opened read-only. */
int fs_ext_probe(const char *path, FsExtState *ret);
/* Clean: cleanly unmounted, no errors, no journal to replay. */
bool fs_ext_is_clean(const FsExtState *s);
/* In words, for the step's message: "clean", or "needs recovery (...)".
 * now: seconds since the epoch (for "periodic check due"). */
void fs_ext_describe(const FsExtState *s, uint64_t now, char *buf, size_t size);

#define FS_TYPE_MAX 64

typedef struct FsMountEntry {
        bool found;
        bool read_only;         /* the superblock's ro, not one bind mount's */
        bool bind_read_only;    /* this mount's own ro */
        dev_t devno;            /* the filesystem's st_dev */
        char target[PATH_MAX];
        char source[PATH_MAX];
        char fstype[FS_TYPE_MAX];
} FsMountEntry;

typedef struct FsProbeRequest {
        const char *spec;       /* /dev/..., UUID=..., LABEL=..., PARTUUID=..., PARTLABEL=... */
        const char *where;      /* fs.mount: the mount point to look at (NULL: none) */
        const char *mountinfo;  /* NULL: /proc/1/mountinfo (the host's view, not salved's), else /proc/self/mountinfo */
        bool ext_state;         /* read an ext superblock, unless mounted read-write */
} FsProbeRequest;

/* Plain data (no pointers), so a forked child can write it to a pipe as it is. */
typedef struct FsProbeReport {
        int error;              /* 0, or -errno: then what says which part failed */
        char what[PATH_MAX + 256];
        char device[PATH_MAX];  /* the resolved device node (or image file) */
        dev_t devno;            /* its st_rdev (0 for a file) */
        char fstype[FS_TYPE_MAX];       /* libblkid's TYPE, or "" if it found none */
        FsMountEntry mounted;   /* where the device is mounted (a read-write mount first) */
        FsMountEntry at_where;  /* what is mounted at request->where (the topmost mount) */
        bool have_ext;          /* ext is filled in */
        FsExtState ext;
} FsProbeReport;

/* Does it all, synchronously. Returns 0 and the report (whose error says
 * what failed, if anything did), or -ENOMEM / -EINVAL. */
int fs_probe(const FsProbeRequest *req, FsProbeReport *ret);

/* Whether a mount entry is the probed device: the same device number, or
 * (a file, btrfs' anonymous device numbers) the same canonical path. */
bool fs_mount_is_device(const FsMountEntry *m, const FsProbeReport *r);
