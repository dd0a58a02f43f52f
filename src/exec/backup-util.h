/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pure part of backup.verify, shared by the step kind
 * (exec-backup.c), its helper (salve-check-backup.c, which looks at the
 * backup inside a read-only transient unit, so a hung NFS mount blocks
 * that unit and never salved) and the unit tests: the age and size
 * decisions, the manifest's format and safety, and what the helper's
 * exit status means.
 *
 * What is measured: for a file, its own mtime and size; for a directory,
 * the newest mtime and the total size (st_size) of the regular files
 * below it, on the same filesystem, symlinks not followed. A backup tool
 * writes files, not directories, so a directory's own mtime (which only
 * changes when entries are added or removed in it) says nothing about
 * when the backup last ran. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

typedef enum BackupExit {
        BACKUP_EXIT_OK = 0,
        BACKUP_EXIT_USAGE = 1,          /* bad arguments: a bug in salve */
        BACKUP_EXIT_MISSING = 2,        /* the path does not exist */
        BACKUP_EXIT_TOO_OLD = 3,        /* newer than max-age it is not */
        BACKUP_EXIT_TOO_SMALL = 4,      /* smaller than min-size */
        BACKUP_EXIT_EMPTY = 5,          /* a directory with no regular file in it */
        BACKUP_EXIT_MANIFEST_BAD = 6,   /* unreadable, empty, misformatted, or an entry outside its directory */
        BACKUP_EXIT_MISMATCH = 7,       /* sha256sum --check found a wrong or missing file */
        BACKUP_EXIT_IO = 8,             /* reading the backup failed (EIO, permission, ...) */
        BACKUP_EXIT_TOOL = 9,           /* sha256sum could not be run */
        _BACKUP_EXIT_MAX,
} BackupExit;

/* What an exit status of the helper means (NULL: not one of ours). */
const char *backup_exit_describe(int status);

typedef struct BackupFacts {
        usec_t newest;          /* CLOCK_REALTIME mtime of the newest file */
        uint64_t size;          /* bytes, total */
        uint64_t files;         /* regular files counted */
} BackupFacts;

/* max-age: BACKUP_EXIT_OK, _TOO_OLD or _EMPTY; *ret_age is how old the
 * newest file is (0 if it is in the future: a clock that moved back does
 * not make a backup stale). max_age USEC_INFINITY: no bound. */
BackupExit backup_judge_age(const BackupFacts *f, usec_t now, usec_t max_age, usec_t *ret_age);
/* min-size: BACKUP_EXIT_OK or _TOO_SMALL (min_size 0: no bound). */
BackupExit backup_judge_size(const BackupFacts *f, uint64_t min_size);

/* One line of a sha256sum manifest: "HEX64  NAME" or "HEX64 *NAME" (or
 * sha256sum's escaped form, starting with a backslash). Returns 0 and
 * the entry's name (unescaped) in *ret_name, -EBADMSG for a line
 * sha256sum --strict would reject, or -EPERM for a name outside the
 * manifest's directory (absolute, or with a ".." component). */
int backup_manifest_parse_line(const char *line, size_t len, char **ret_name);
/* The whole manifest: 0 with *ret_entries >= 1, -ENODATA when it has no
 * entry, or the first bad line's error with *ret_line its number (1-based). */
int backup_manifest_lint(const char *text, size_t size, size_t *ret_entries, unsigned *ret_line);
