/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The durable run journal's file layer: an append-only file of framed,
 * checksummed records. It knows nothing about what a payload means (the
 * engine stores JSON text); it frames, makes durable, replays, cuts off a
 * torn tail, recovers the intact records around damage (keeping the
 * damaged file aside), and compacts by atomic replacement.
 *
 * The on-disk format and the recovery rules are specified in
 * docs/journal-format.md; the constants below are part of that format. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define JOURNAL_FILE_MAGIC "SALVEJ1"            /* 8 bytes with the trailing NUL */
#define JOURNAL_FILE_VERSION 1U
#define JOURNAL_FILE_HEADER_SIZE 32U
#define JOURNAL_RECORD_MAGIC 0x0A524A53U        /* bytes "SJR\n" when stored little-endian */
#define JOURNAL_RECORD_HEADER_SIZE 12U
#define JOURNAL_RECORD_ALIGN 8U
#define JOURNAL_PAYLOAD_MAX (1024U * 1024U)     /* 1 MiB; larger appends fail with -E2BIG */
#define JOURNAL_RECORD_SIZE_MAX (JOURNAL_RECORD_HEADER_SIZE + JOURNAL_PAYLOAD_MAX + 4U) /* padded */
#define JOURNAL_RECOVERY_GAPS_MAX 16U           /* gaps listed one by one; all are counted */

typedef struct JournalFile JournalFile;

/* What replay or a recovering open found wrong, worst first as far as the
 * records are concerned. Anything but NONE means the file found was kept
 * under JournalRecovery.aside_path and a new journal is at the path. */
typedef enum JournalDamage {
        JOURNAL_DAMAGE_NONE,            /* intact (a torn last record may have been cut) */
        JOURNAL_DAMAGE_RECORDS,         /* unreadable bytes between or after intact records */
        JOURNAL_DAMAGE_HEADER,          /* a damaged header, or a file shorter than one */
        JOURNAL_DAMAGE_UNSUPPORTED,     /* an intact header of another format version or
                                         * with unknown flags: not read at all */
        JOURNAL_DAMAGE_NOT_REGULAR,     /* a directory, symlink, FIFO, ... in the journal's place */
        _JOURNAL_DAMAGE_MAX,
        _JOURNAL_DAMAGE_INVALID = -EINVAL,
} JournalDamage;

const char *journal_damage_to_string(JournalDamage d) _pure_;

typedef struct JournalGap {
        uint64_t offset;                /* in the file found (the one set aside) */
        uint64_t size;
} JournalGap;

typedef struct JournalRecovery {
        JournalDamage damage;
        char reason[96];                /* what was wrong, for people: "header checksum mismatch" */
        char *aside_path;               /* the file found, kept; NULL when nothing was set aside */
        uint64_t aside_usec;            /* CLOCK_REALTIME when it was set aside */
        uint64_t file_size;             /* size of the file found (0 if not a regular file) */
        uint64_t records;               /* intact records delivered (and kept in the journal) */
        uint64_t torn_bytes;            /* a torn last record, cut off */
        uint64_t lost_bytes;            /* unreadable bytes, in gaps: not in the new journal */
        uint64_t n_gaps;
        JournalGap gaps[JOURNAL_RECOVERY_GAPS_MAX]; /* the first MIN(n_gaps, ...) of them */
} JournalRecovery;

/* Frees what a JournalRecovery holds and zeroes it. */
void journal_recovery_done(JournalRecovery *rec);

/* Called once per valid record during replay. payload points into a read
 * buffer that is only valid during the call, is not NUL-terminated and may
 * be NULL when size is 0. A negative return aborts the replay. */
typedef int (*journal_record_cb)(const void *payload, size_t size, void *userdata);

/* Called by journal_file_compact() to write the live records into tmp with
 * journal_file_append(tmp, ...). It must not free tmp nor append to the
 * journal being compacted (that fails with -EBUSY). */
typedef int (*journal_emit_cb)(JournalFile *tmp, void *userdata);

/* Opens (creating if missing, mode 0600, O_CLOEXEC) the journal at path and
 * takes an exclusive flock() on it. A new journal is created complete with
 * its header under a temporary name and linked into place, so a journal at
 * path never has a partial header. Strict: anything wrong is refused and
 * left as is (salved uses journal_file_open_recover() instead). Never
 * blocks: O_NONBLOCK | O_NOFOLLOW | O_NOCTTY, and fstat() before use.
 *   -EBUSY            another handle (any process) has the journal open
 *   -EBADMSG          not a salve journal, or a damaged header
 *   -EPROTONOSUPPORT  a salve journal of a format version this code cannot read
 *   -ELOOP            path is a symlink (compaction would replace it)
 *   -EISDIR, -EINVAL  a directory, or another file that is not regular */
int journal_file_open(const char *path, JournalFile **ret);

/* Opens the journal at path whatever is found there, replays it through cb
 * (as journal_file_replay() does) and returns a handle that can append.
 * It fails only for reasons outside the file's content (another owner,
 * I/O and permission errors, no space, cb's error), never because of it:
 *   - nothing, or an empty file: a new journal;
 *   - a directory, symlink, FIFO, socket or device node: renamed aside
 *     (never opened), a new journal;
 *   - an intact header of another version or with unknown flags: renamed
 *     aside unread, a new journal;
 *   - a damaged header or a file shorter than a header: kept aside, and
 *     the intact records found after it (resynchronising as replay does)
 *     become the new journal;
 *   - damaged records: as journal_file_replay().
 * ret_recovery (optional) says what was found and done; release it with
 * journal_recovery_done(). The file is never opened in a way that could
 * block (O_NONBLOCK, O_NOFOLLOW, O_NOCTTY; lstat() before open()). */
int journal_file_open_recover(const char *path, journal_record_cb cb, void *userdata, JournalFile **ret,
                              JournalRecovery *ret_recovery);

/* Closes the file and releases the lock. NULL-safe; returns NULL. */
JournalFile *journal_file_free(JournalFile *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(JournalFile *, journal_file_free);

/* Reads every intact record from the start, in order, calling cb for each
 * (cb may be NULL to just validate and count). A record is intact when its
 * magic, length (at most the payload limit, and within the file), checksum
 * and zero padding check. At a position that is not an intact record,
 * replay resynchronises: it looks for the next intact record on the
 * following 8-byte boundaries and goes on from there, so damage in the
 * middle costs only the damaged bytes. Then:
 *   - a torn tail (a last record whose bytes did not all reach the file,
 *     or an all-zero tail no longer than the largest record) with nothing
 *     intact after it is cut off in place (truncate and fsync): that is
 *     what a crash during an append leaves;
 *   - any other unreadable bytes (gaps between intact records, or a tail
 *     that is not torn, such as appended garbage): the file is kept under a
 *     new name ("<path>.damaged-<UTC time>~", a hard link made before the
 *     journal is replaced, so one of the two names always holds it), and
 *     the intact records are copied, byte for byte, into a new journal
 *     that atomically replaces the old one at path (as compaction does);
 *     j then appends to the new file.
 * ret_n_records: records delivered; ret_dropped_bytes: bytes no longer in
 * the journal (torn tail plus gaps; 0 if none). A negative return from cb
 * aborts the replay before anything is changed and is returned.
 * -EBADMSG/-EPROTONOSUPPORT for a bad header, as for open (the file is
 * left as is; journal_file_open_recover() handles those). */
int journal_file_replay(JournalFile *j, journal_record_cb cb, void *userdata,
                        uint64_t *ret_n_records, uint64_t *ret_dropped_bytes);

/* The same, reporting in ret_recovery (optional; release it with
 * journal_recovery_done()) exactly what was kept, cut, lost and where. */
int journal_file_replay_report(JournalFile *j, journal_record_cb cb, void *userdata, JournalRecovery *ret_recovery);

/* Appends one record and, unless sync is off, fdatasync()s before returning.
 * size may be 0 (payload may then be NULL).
 *   -E2BIG    size > JOURNAL_PAYLOAD_MAX
 *   -EUCLEAN  the journal holds records this handle has not validated yet:
 *             call journal_file_replay() first (a freshly created or empty
 *             journal needs no replay); also after a failed append whose
 *             partial record could not be cut off again
 *   -EBUSY    j is being compacted
 * If the write or the sync fails the partial record is truncated away and the
 * error returned; as with any failed fsync, whether that record survives a
 * crash is then unknown. */
int journal_file_append(JournalFile *j, const void *payload, size_t size);

/* Appends n records with one fdatasync() for all (a group commit; one more
 * for each JOURNAL_RECORD_SIZE_MAX bytes of them): either all are appended,
 * or (on an error) none, the partial ones truncated away as
 * journal_file_append() does. A crash during it leaves some first ones of
 * them, as n appends one after the other could, on a filesystem that writes
 * a file's data out in order; one that does not may leave a later record
 * without an earlier one, which replay reports as damage. */
typedef struct JournalPayload {
        const void *data;
        size_t size;
} JournalPayload;
int journal_file_append_many(JournalFile *j, const JournalPayload *p, size_t n);

/* Rewrites the journal: creates "<path>.tmp", lets emit() append the live
 * records to it, fsyncs it, renames it over the journal, fsyncs the
 * directory and switches j to the new file. If emit (or anything before the
 * rename) fails, the temporary file is removed, the old journal and j are
 * untouched and the error is returned. Only a failure to fsync the directory
 * after the rename is returned with j already switched (the rename is
 * visible, its durability unknown; both files are valid journals). */
int journal_file_compact(JournalFile *j, journal_emit_cb emit, void *userdata);

/* Logical size in bytes (header plus all valid records). */
uint64_t journal_file_size(JournalFile *j);
/* Records appended through this handle (compaction's emitted records are
 * appended through the temporary handle and not counted here). */
uint64_t journal_file_n_appended(JournalFile *j);
/* Valid records in the file as far as this handle knows: replayed plus
 * appended, reset to the emitted count by compaction. Useful for deciding
 * when to compact. Before a replay of a non-empty journal it only counts
 * this handle's appends, which are refused then anyway. */
uint64_t journal_file_n_records(JournalFile *j);
const char *journal_file_path(JournalFile *j);

/* fdatasync after each append; default true. With it off, appends still
 * sync early so that no more than JOURNAL_RECORD_SIZE_MAX bytes are ever
 * unsynced (a power cut's zero tail must stay one replay cuts as torn). */
void journal_file_set_sync(JournalFile *j, bool sync);
/* fdatasync()s what was appended without sync; 0 when nothing was. */
int journal_file_sync(JournalFile *j);
/* Bytes appended since the last fdatasync. */
uint64_t journal_file_unsynced(JournalFile *j);

/* Fault injection for crash tests: the n-th append from now (1-based; only
 * appends that pass argument checks count) writes only the first torn_bytes
 * bytes of its framed record (0 or >= the record size: the whole record,
 * synced as usual), then raise(SIGKILL)s the process. n = 0 disables. */
void journal_file_set_crash_point(JournalFile *j, uint64_t n, size_t torn_bytes);

/* Size on disk of a record carrying size payload bytes (header, payload and
 * padding). */
static inline uint64_t journal_record_size(size_t size) {
        return ((uint64_t) JOURNAL_RECORD_HEADER_SIZE + size + JOURNAL_RECORD_ALIGN - 1) &
               ~(uint64_t) (JOURNAL_RECORD_ALIGN - 1);
}
