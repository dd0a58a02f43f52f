/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The durable run journal's file layer: an append-only file of framed,
 * checksummed records. It knows nothing about what a payload means (the
 * engine stores JSON text); it frames, makes durable, replays, cuts off a
 * torn or corrupt tail, and compacts by atomic replacement.
 *
 * The on-disk format and the recovery rules are specified in
 * docs/journal-format.md; the constants below are part of that format. */

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

typedef struct JournalFile JournalFile;

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
 * path never has a partial header.
 *   -EBUSY            another handle (any process) has the journal open
 *   -EBADMSG          not a salve journal, or a damaged header (file left as is)
 *   -EPROTONOSUPPORT  a salve journal of a format version this code cannot read
 *   -ELOOP            path is a symlink (compaction would replace it) */
int journal_file_open(const char *path, JournalFile **ret);

/* Closes the file and releases the lock. NULL-safe; returns NULL. */
JournalFile *journal_file_free(JournalFile *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(JournalFile *, journal_file_free);

/* Reads every valid record from the start, in order, calling cb for each
 * (cb may be NULL to just validate and count). The first record that is
 * short, has a bad magic, an impossible length, a checksum mismatch or
 * non-zero padding ends the replay: the file is truncated back to the end of
 * the last good record and fsynced, so later appends continue cleanly. That
 * cut also drops any valid-looking records after a corrupt one: records are
 * only trusted as an unbroken chain from the header.
 * ret_n_records: records delivered; ret_dropped_bytes: bytes cut (0 if none).
 * A negative return from cb aborts the replay without truncating and is
 * returned. -EBADMSG/-EPROTONOSUPPORT for a bad header, as for open. */
int journal_file_replay(JournalFile *j, journal_record_cb cb, void *userdata,
                        uint64_t *ret_n_records, uint64_t *ret_dropped_bytes);

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

/* fdatasync after each append; default true. Benchmarks and tests may turn
 * it off. */
void journal_file_set_sync(JournalFile *j, bool sync);

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
