/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Append-only journal file of framed records (format: docs/journal-format.md).
 *
 * Invariants this module keeps:
 *  - A journal at its path always has a complete, checksummed header: new
 *    journals are written under a temporary name and link()ed into place.
 *  - j->end is the offset right after the last record known to be valid;
 *    every append writes exactly one record at j->end and advances it only
 *    once the record is written (and synced, unless sync is off).
 *  - Appends are only allowed while j->tail_clean: everything in the file up
 *    to its size has been validated (by replay, or because the file held
 *    nothing but a header). Otherwise a new record could land behind garbage
 *    and be lost by the next replay.
 *  - Replay never trusts a length field: it is bounded by the payload limit
 *    and by what is left of the file before anything is read.
 *  - One handle per journal, enforced with flock(); the handle owns the fd.
 *  - Nothing that was found at the path is ever destroyed except a torn
 *    tail: damaged files are kept under another name (a hard link, made
 *    before the journal is replaced, or a rename), and only intact records,
 *    copied byte for byte, go into the journal that replaces them.
 *  - Nothing found at the path is opened before lstat() says it is a
 *    regular file, and then only with O_NONBLOCK | O_NOFOLLOW | O_NOCTTY.
 */

#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <zlib.h>

#include "journal-file.h"
#include "macro.h"
#include "string-table.h"

/* Large enough for the biggest record (so it can always be looked at in one
 * piece) and large enough that replay is a few big reads. */
#define READ_BUFFER_SIZE (2U * 1024U * 1024U)

/* Header field offsets, see docs/journal-format.md. */
#define HDR_OFF_VERSION 8
#define HDR_OFF_HEADER_SIZE 12
#define HDR_OFF_CREATED 16
#define HDR_OFF_FLAGS 24
#define HDR_OFF_CRC 28
#define HEADER_SIZE_MAX 4096U

struct JournalFile {
        char *path;
        int fd;
        uint64_t end;
        uint64_t n_records;
        uint64_t n_appended;
        uint64_t unsynced;              /* bytes appended since the last fdatasync */
        uint64_t crash_countdown;
        size_t crash_torn_bytes;
        bool sync;
        bool bound_unsynced;            /* sync early: unsynced never passes JOURNAL_RECORD_SIZE_MAX */
        bool tail_clean;
        bool compacting;
};

static void put_le32(uint8_t *p, uint32_t v) {
        v = htole32(v);
        memcpy(p, &v, sizeof(v));
}

static void put_le64(uint8_t *p, uint64_t v) {
        v = htole64(v);
        memcpy(p, &v, sizeof(v));
}

static uint32_t get_le32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return le32toh(v);
}

/* crc32 over the little-endian length field followed by the payload. */
static uint32_t record_crc(const uint8_t len_le[4], const void *payload, size_t size) {
        uLong crc = crc32(0L, Z_NULL, 0);

        crc = crc32(crc, len_le, 4);
        /* crc32() with a NULL buffer returns the initial value, not crc. */
        if (size > 0)
                crc = crc32(crc, payload, (uInt) size);
        return (uint32_t) crc;
}

static int pread_full(int fd, void *buf, size_t size, uint64_t offset, size_t *ret_read) {
        size_t done = 0;

        while (done < size) {
                ssize_t k = pread(fd, (uint8_t *) buf + done, size - done, (off_t) (offset + done));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                done += (size_t) k;
        }
        *ret_read = done;
        return 0;
}

/* Writes all of iov at offset; consumes (modifies) iov. */
static int pwritev_full(int fd, struct iovec *iov, int n, uint64_t offset) {
        while (n > 0) {
                ssize_t k = pwritev(fd, iov, n, (off_t) offset);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EIO;
                offset += (uint64_t) k;
                while (n > 0 && (size_t) k >= iov->iov_len) {
                        k -= (ssize_t) iov->iov_len;
                        iov++;
                        n--;
                }
                if (n > 0) {
                        iov->iov_base = (uint8_t *) iov->iov_base + k;
                        iov->iov_len -= (size_t) k;
                }
        }
        return 0;
}

static int fsync_parent_dir(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dfd = -EBADF;

        if (!copy)
                return -ENOMEM;
        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        if (fsync(dfd) < 0)
                return negative_errno();
        return 0;
}

static void header_build(uint8_t h[static JOURNAL_FILE_HEADER_SIZE]) {
        struct timespec ts = {};

        memset(h, 0, JOURNAL_FILE_HEADER_SIZE);
        memcpy(h, JOURNAL_FILE_MAGIC, sizeof(JOURNAL_FILE_MAGIC));
        put_le32(h + HDR_OFF_VERSION, JOURNAL_FILE_VERSION);
        put_le32(h + HDR_OFF_HEADER_SIZE, JOURNAL_FILE_HEADER_SIZE);
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        put_le64(h + HDR_OFF_CREATED, (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL);
        put_le32(h + HDR_OFF_FLAGS, 0);
        put_le32(h + HDR_OFF_CRC, (uint32_t) crc32(crc32(0L, Z_NULL, 0), h, HDR_OFF_CRC));
}

/* Writes a fresh header at offset 0 and syncs it. */
static int header_write(int fd) {
        uint8_t h[JOURNAL_FILE_HEADER_SIZE];
        struct iovec iov = { .iov_base = h, .iov_len = sizeof(h) };
        int r;

        header_build(h);
        r = pwritev_full(fd, &iov, 1, 0);
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

/* Every format version keeps magic, version and header_size where v1 has
 * them, and ends its header with a crc32 over the rest of it. So damage is
 * told apart from a newer version before the version is believed. The
 * checksum covers created_usec too: no byte of the header is exempt from
 * the check, and a damaged one costs nothing but the header (records are
 * recovered after it, see journal_file_open_recover()). reason (may be
 * NULL) says what was wrong. */
static int header_validate(int fd, uint64_t file_size, char *reason, size_t reason_size) {
        uint8_t h[HEADER_SIZE_MAX];
        uint32_t header_size, v;
        char dummy[1];
        size_t n;
        int r;

        if (!reason) {
                reason = dummy;
                reason_size = sizeof(dummy);
        }
        if (file_size < JOURNAL_FILE_HEADER_SIZE) {
                snprintf(reason, reason_size, "%" PRIu64 " byte%s, shorter than a journal header", file_size,
                         file_size == 1 ? "" : "s");
                return -EBADMSG;
        }
        r = pread_full(fd, h, JOURNAL_FILE_HEADER_SIZE, 0, &n);
        if (r < 0)
                return r;
        if (n < JOURNAL_FILE_HEADER_SIZE)
                return -EIO; /* shrank under us */
        if (memcmp(h, JOURNAL_FILE_MAGIC, sizeof(JOURNAL_FILE_MAGIC)) != 0) {
                snprintf(reason, reason_size, "no journal magic (\"SALVEJ1\") at the start");
                return -EBADMSG;
        }

        header_size = get_le32(h + HDR_OFF_HEADER_SIZE);
        if (header_size < JOURNAL_FILE_HEADER_SIZE || header_size > HEADER_SIZE_MAX ||
            header_size % JOURNAL_RECORD_ALIGN != 0 || header_size > file_size) {
                snprintf(reason, reason_size, "impossible header size %" PRIu32, header_size);
                return -EBADMSG;
        }
        if (header_size > JOURNAL_FILE_HEADER_SIZE) {
                r = pread_full(fd, h + JOURNAL_FILE_HEADER_SIZE, header_size - JOURNAL_FILE_HEADER_SIZE,
                               JOURNAL_FILE_HEADER_SIZE, &n);
                if (r < 0)
                        return r;
                if (n < header_size - JOURNAL_FILE_HEADER_SIZE)
                        return -EIO;
        }
        if (get_le32(h + header_size - 4) != (uint32_t) crc32(crc32(0L, Z_NULL, 0), h, header_size - 4)) {
                snprintf(reason, reason_size, "header checksum mismatch");
                return -EBADMSG;
        }

        v = get_le32(h + HDR_OFF_VERSION);
        if (v != JOURNAL_FILE_VERSION) {
                snprintf(reason, reason_size, "format version %" PRIu32 ", this salve reads version %u", v,
                         JOURNAL_FILE_VERSION);
                return -EPROTONOSUPPORT;
        }
        if (header_size != JOURNAL_FILE_HEADER_SIZE) {
                snprintf(reason, reason_size, "header size %" PRIu32 " in a version %u header", header_size,
                         JOURNAL_FILE_VERSION);
                return -EBADMSG;
        }
        v = get_le32(h + HDR_OFF_FLAGS);
        if (v != 0) {
                snprintf(reason, reason_size, "unknown feature flags 0x%" PRIx32, v);
                return -EPROTONOSUPPORT; /* a feature we do not know */
        }
        return 0;
}

/* Creates the journal under a temporary name with its header synced, then
 * link()s it into place, which (unlike rename) fails if path appeared in the
 * meantime. Returns the fd, or -EEXIST if someone else created path. */
static int journal_create(const char *path) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&tmp, "%s.new-XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
        if (fd < 0)
                return negative_errno();

        r = header_write(fd);
        if (r >= 0 && link(tmp, path) < 0)
                r = negative_errno();
        (void) unlink(tmp);
        if (r < 0)
                return r;

        r = fsync_parent_dir(path);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

static int lock_fd(int fd) {
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
        return 0;
}

/* Opens path and locks it, making sure the locked inode is still the one at
 * path (a compaction by the previous owner may have replaced it). */
static int journal_open_locked(const char *path, struct stat *ret_st) {
        for (unsigned attempt = 0; attempt < 16; attempt++) {
                _cleanup_close_ int fd = -EBADF;
                struct stat st, st_path;
                int r;

                /* O_NONBLOCK: a FIFO put in the journal's place must not
                 * block us in open() (it is refused below). */
                fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
                if (fd < 0) {
                        if (errno != ENOENT)
                                return negative_errno();
                        fd = journal_create(path);
                        if (fd == -EEXIST)
                                continue;
                        if (fd < 0)
                                return fd;
                }

                if (fstat(fd, &st) < 0)
                        return negative_errno();
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                if (!S_ISREG(st.st_mode))
                        return -EINVAL;
                r = lock_fd(fd);
                if (r < 0)
                        return r;
                if (stat(path, &st_path) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return negative_errno();
                }
                if (st.st_dev != st_path.st_dev || st.st_ino != st_path.st_ino)
                        continue;

                *ret_st = st;
                return TAKE_FD(fd);
        }
        return -EAGAIN;
}

static JournalFile *journal_file_new(const char *path, int fd) {
        JournalFile *j = calloc(1, sizeof(JournalFile));
        if (!j)
                return NULL;
        j->path = strdup(path);
        if (!j->path) {
                free(j);
                return NULL;
        }
        j->fd = fd;
        j->sync = true;
        j->bound_unsynced = true;
        return j;
}

int journal_file_open(const char *path, JournalFile **ret) {
        _cleanup_close_ int fd = -EBADF;
        JournalFile *j;
        struct stat st;
        int r;

        if (!path || !ret)
                return -EINVAL;

        fd = journal_open_locked(path, &st);
        if (fd < 0)
                return fd;

        if (st.st_size == 0) {
                /* Only an outsider leaves an empty file here (we create
                 * journals complete); nothing to lose by initialising it. */
                r = header_write(fd);
                if (r < 0)
                        return r;
                st.st_size = JOURNAL_FILE_HEADER_SIZE;
        } else {
                r = header_validate(fd, (uint64_t) st.st_size, NULL, 0);
                if (r < 0)
                        return r;
        }

        j = journal_file_new(path, fd);
        if (!j)
                return -ENOMEM;
        TAKE_FD(fd);
        j->end = (uint64_t) st.st_size;
        j->tail_clean = j->end == JOURNAL_FILE_HEADER_SIZE;

        *ret = j;
        return 0;
}

JournalFile *journal_file_free(JournalFile *j) {
        if (!j)
                return NULL;
        safe_close(j->fd);
        free(j->path);
        free(j);
        return NULL;
}

/* A window of the file, refilled with large reads as replay walks forward. */
typedef struct ReadBuffer {
        uint8_t *data;
        size_t capacity;
        uint64_t offset; /* file offset of data[0] */
        size_t len;
} ReadBuffer;

/* Points *ret at size bytes of the file at offset, which the caller has
 * checked lie within the file. Only moves forward. */
static int read_buffer_get(ReadBuffer *b, int fd, uint64_t offset, size_t size, const uint8_t **ret) {
        size_t keep = 0, n;
        int r;

        if (size > b->capacity)
                return -EFBIG;
        if (offset >= b->offset && offset + size <= b->offset + b->len) {
                *ret = b->data + (offset - b->offset);
                return 0;
        }

        if (offset >= b->offset && offset < b->offset + b->len) {
                keep = (size_t) (b->offset + b->len - offset);
                memmove(b->data, b->data + (offset - b->offset), keep);
        }
        b->offset = offset;
        b->len = keep;

        r = pread_full(fd, b->data + keep, b->capacity - keep, offset + keep, &n);
        if (r < 0)
                return r;
        b->len += n;
        if (b->len < size)
                return -EIO; /* the file shrank under us: not ours to repair */

        *ret = b->data;
        return 0;
}

/* Validates the record at offset. Returns its size on disk (> 0), 0 if it
 * is torn or corrupt, or a negative errno for I/O errors. */
static int64_t record_check(ReadBuffer *b, int fd, uint64_t offset, uint64_t file_size,
                            const uint8_t **ret_payload, uint32_t *ret_len) {
        const uint8_t *p;
        uint64_t rec_size;
        uint32_t len;
        int r;

        if (file_size - offset < JOURNAL_RECORD_HEADER_SIZE)
                return 0;
        r = read_buffer_get(b, fd, offset, JOURNAL_RECORD_HEADER_SIZE, &p);
        if (r < 0)
                return r;
        if (get_le32(p) != JOURNAL_RECORD_MAGIC)
                return 0;
        len = get_le32(p + 4);
        if (len > JOURNAL_PAYLOAD_MAX)
                return 0;
        rec_size = journal_record_size(len);
        if (rec_size > file_size - offset)
                return 0;

        r = read_buffer_get(b, fd, offset, (size_t) rec_size, &p);
        if (r < 0)
                return r;
        if (get_le32(p + 8) != record_crc(p + 4, p + JOURNAL_RECORD_HEADER_SIZE, len))
                return 0;
        for (uint64_t i = JOURNAL_RECORD_HEADER_SIZE + len; i < rec_size; i++)
                if (p[i] != 0)
                        return 0;

        *ret_payload = p + JOURNAL_RECORD_HEADER_SIZE;
        *ret_len = len;
        return (int64_t) rec_size;
}

static const char *const journal_damage_table[_JOURNAL_DAMAGE_MAX] = {
        [JOURNAL_DAMAGE_NONE] = "none",
        [JOURNAL_DAMAGE_RECORDS] = "records",
        [JOURNAL_DAMAGE_HEADER] = "header",
        [JOURNAL_DAMAGE_UNSUPPORTED] = "unsupported",
        [JOURNAL_DAMAGE_NOT_REGULAR] = "not-regular",
};
DEFINE_STRING_TABLE_TO_STRING(journal_damage, JournalDamage, journal_damage_table, _JOURNAL_DAMAGE_MAX);

void journal_recovery_done(JournalRecovery *rec) {
        if (!rec)
                return;
        free(rec->aside_path);
        *rec = (JournalRecovery) {};
}

/* A run of consecutive intact records, [start, end) in the file. */
typedef struct Extent {
        uint64_t start, end;
} Extent;

/* What a scan of the records found. */
typedef struct Scan {
        Extent *extents;
        size_t n_extents;
        uint64_t records;
        uint64_t tail;          /* start of the unreadable tail; file size if none */
        bool tail_torn;
        JournalRecovery *rec;   /* gaps go here */
} Scan;

static int scan_add_record(Scan *s, uint64_t start, uint64_t end) {
        Extent *n;

        if (s->n_extents > 0 && s->extents[s->n_extents - 1].end == start) {
                s->extents[s->n_extents - 1].end = end;
                return 0;
        }
        n = realloc(s->extents, sizeof(Extent) * (s->n_extents + 1));
        if (!n)
                return -ENOMEM;
        s->extents = n;
        s->extents[s->n_extents++] = (Extent) { start, end };
        return 0;
}

static void recovery_add_gap(JournalRecovery *rec, uint64_t offset, uint64_t size) {
        if (size == 0)
                return;
        if (rec->n_gaps < JOURNAL_RECOVERY_GAPS_MAX)
                rec->gaps[rec->n_gaps] = (JournalGap) { offset, size };
        rec->n_gaps++;
        rec->lost_bytes += size;
}

/* The offset of the next intact record at or after from (on 8-byte
 * boundaries), or file_size if there is none. Compact JSON payloads never
 * contain a raw newline, the record magic's last byte, so a payload cannot
 * pass for a record here; and a candidate must pass the checksum too. */
static int64_t resync(ReadBuffer *b, int fd, uint64_t from, uint64_t file_size) {
        for (uint64_t q = from; q < file_size && file_size - q >= JOURNAL_RECORD_HEADER_SIZE;
             q += JOURNAL_RECORD_ALIGN) {
                const uint8_t *payload;
                uint32_t len;
                int64_t k = record_check(b, fd, q, file_size, &payload, &len);
                if (k < 0)
                        return k;
                if (k > 0)
                        return (int64_t) q;
        }
        return (int64_t) file_size;
}

/* Is [offset, file_size) what a crash during one append leaves? Either a
 * proper prefix of a record (the magic as far as it goes, and if the
 * length is there, one that says the record is longer than what is left),
 * or zeros where the filesystem had extended the file but not yet written
 * the data, no more than one record long. */
static int tail_is_torn(ReadBuffer *b, int fd, uint64_t offset, uint64_t file_size) {
        uint64_t n = file_size - offset;
        const uint8_t *p;
        uint8_t magic[4];
        uint32_t len;
        bool zero = true;
        int r;

        if (n == 0)
                return 0;
        if (n <= JOURNAL_RECORD_SIZE_MAX && n <= b->capacity) {
                r = read_buffer_get(b, fd, offset, (size_t) n, &p);
                if (r < 0)
                        return r;
                for (uint64_t i = 0; zero && i < n; i++)
                        zero = p[i] == 0;
                if (zero)
                        return 1;
        }
        r = read_buffer_get(b, fd, offset, (size_t) MIN(n, (uint64_t) JOURNAL_RECORD_HEADER_SIZE), &p);
        if (r < 0)
                return r;
        put_le32(magic, JOURNAL_RECORD_MAGIC);
        if (n < sizeof(magic))
                return memcmp(p, magic, (size_t) n) == 0;
        if (memcmp(p, magic, sizeof(magic)) != 0)
                return 0;
        if (n < 8)
                return 1;
        len = get_le32(p + 4);
        return len <= JOURNAL_PAYLOAD_MAX && n < journal_record_size(len);
}

/* Walks the records from start, delivering each intact one to cb, and
 * resynchronising after anything that is not one. Changes nothing. */
static int scan_records(int fd, uint64_t start, uint64_t file_size, journal_record_cb cb, void *userdata, Scan *s) {
        _cleanup_free_ uint8_t *data = NULL;
        ReadBuffer b = {};
        uint64_t offset = start;
        int r;

        s->tail = file_size;
        if (file_size <= start)
                return 0;

        b.capacity = (size_t) MIN((uint64_t) READ_BUFFER_SIZE, file_size - start);
        data = malloc(b.capacity);
        if (!data)
                return -ENOMEM;
        b.data = data;
        b.offset = start;
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

        while (offset < file_size) {
                const uint8_t *payload = NULL;
                uint32_t len = 0;
                int64_t k, q;

                k = record_check(&b, fd, offset, file_size, &payload, &len);
                if (k < 0)
                        return (int) k;
                if (k > 0) {
                        if (cb) {
                                r = cb(len > 0 ? payload : NULL, len, userdata);
                                if (r < 0)
                                        return r;
                        }
                        r = scan_add_record(s, offset, offset + (uint64_t) k);
                        if (r < 0)
                                return r;
                        offset += (uint64_t) k;
                        s->records++;
                        continue;
                }

                q = resync(&b, fd, offset + JOURNAL_RECORD_ALIGN, file_size);
                if (q < 0)
                        return (int) q;
                if ((uint64_t) q >= file_size)
                        break;
                recovery_add_gap(s->rec, offset, (uint64_t) q - offset);
                offset = (uint64_t) q;
        }

        s->tail = offset;
        if (offset < file_size) {
                r = tail_is_torn(&b, fd, offset, file_size);
                if (r < 0)
                        return r;
                s->tail_torn = r > 0;
                if (!s->tail_torn)
                        recovery_add_gap(s->rec, offset, file_size - offset);
        }
        return 0;
}

/* "<path>.<what>-20261201T213217.123456Z~", with "-N" before the "~" if
 * that name is taken. */
static int aside_name(const char *path, const char *what, uint64_t usec, unsigned n, char **ret) {
        time_t t = (time_t) (usec / 1000000ULL);
        struct tm tm;
        char stamp[32], suffix[16] = "";

        if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) == 0)
                return -EINVAL;
        if (n > 0)
                snprintf(suffix, sizeof(suffix), "-%u", n);
        return asprintf(ret, "%s.%s-%s.%06uZ%s~", path, what, stamp, (unsigned) (usec % 1000000ULL), suffix) < 0
                       ? -ENOMEM : 0;
}

static uint64_t realtime_usec(void) {
        struct timespec ts = {};
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* Gives what is at path a second name (link), or moves it there (rename,
 * never replacing anything), and records that name in rec. */
static int set_aside(const char *path, const char *what, bool link_only, JournalRecovery *rec) {
        uint64_t usec = realtime_usec();

        for (unsigned n = 0; n < 1000; n++) {
                _cleanup_free_ char *name = NULL;
                int r = aside_name(path, what, usec, n, &name);
                if (r < 0)
                        return r;
                if (link_only)
                        r = link(path, name) < 0 ? negative_errno() : 0;
                else
                        r = renameat2(AT_FDCWD, path, AT_FDCWD, name, RENAME_NOREPLACE) < 0 ? negative_errno() : 0;
                if (r == -EEXIST)
                        continue;
                if (r < 0)
                        return r;
                free(rec->aside_path);
                rec->aside_path = TAKE_PTR(name);
                rec->aside_usec = usec;
                return 0;
        }
        return -EEXIST;
}

static int copy_range(int from, uint64_t offset, uint64_t size, int to, uint64_t to_offset, uint8_t *buf,
                      size_t buf_size) {
        while (size > 0) {
                size_t n, chunk = (size_t) MIN(size, (uint64_t) buf_size);
                struct iovec iov;
                int r;

                r = pread_full(from, buf, chunk, offset, &n);
                if (r < 0)
                        return r;
                if (n < chunk)
                        return -EIO; /* shrank under us */
                iov = (struct iovec) { .iov_base = buf, .iov_len = chunk };
                r = pwritev_full(to, &iov, 1, to_offset);
                if (r < 0)
                        return r;
                offset += chunk;
                to_offset += chunk;
                size -= chunk;
        }
        return 0;
}

/* Replaces the journal with a new one holding only the intact records of
 * s (copied byte for byte), keeping the old file under a new name. The
 * order makes every crash safe: the new file is complete and synced
 * before the old one gets its second name, and only then does the rename
 * put the new file at path. A crash before the rename leaves the old
 * journal at path (and maybe a second name for it); after it, the new one. */
static int journal_rewrite(JournalFile *j, const Scan *s, JournalRecovery *rec) {
        _cleanup_free_ char *tmp_path = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t end = JOURNAL_FILE_HEADER_SIZE;
        bool moved = false;
        int r;

        /* A fresh name, as for a new journal: whatever someone left at a
         * fixed name (a FIFO, a directory at "<path>.tmp") cannot get in
         * the way, and a crash leaves only a "<path>.new-*" behind. */
        if (asprintf(&tmp_path, "%s.new-XXXXXX", j->path) < 0)
                return -ENOMEM;
        buf = malloc(READ_BUFFER_SIZE);
        if (!buf)
                return -ENOMEM;
        fd = mkostemp(tmp_path, O_CLOEXEC); /* mode 0600, O_EXCL */
        if (fd < 0)
                return negative_errno();
        r = lock_fd(fd);
        if (r >= 0)
                r = header_write(fd);
        for (size_t i = 0; r >= 0 && i < s->n_extents; i++) {
                r = copy_range(j->fd, s->extents[i].start, s->extents[i].end - s->extents[i].start, fd, end, buf,
                               READ_BUFFER_SIZE);
                end += s->extents[i].end - s->extents[i].start;
        }
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r < 0)
                goto fail;

        r = set_aside(j->path, "damaged", true, rec);
        if (r == -EPERM || r == -EMLINK || r == -EOPNOTSUPP) {
                /* No hard links here: move it instead. A crash before the
                 * rename below then leaves no journal at path, and the next
                 * start begins a new one; the damaged file is kept either way. */
                r = set_aside(j->path, "damaged", false, rec);
                moved = r >= 0;
        }
        if (r < 0)
                goto fail;
        if (rename(tmp_path, j->path) < 0) {
                r = negative_errno();
                if (!moved && rec->aside_path)
                        (void) unlink(rec->aside_path); /* the original is still at path */
                else if (moved && rec->aside_path)
                        (void) rename(rec->aside_path, j->path);
                free(rec->aside_path);
                rec->aside_path = NULL;
                goto fail;
        }

        safe_close(j->fd);
        j->fd = TAKE_FD(fd);
        j->end = end;
        j->n_records = s->records;
        j->unsynced = 0; /* fsynced before it took the journal's place */
        j->tail_clean = true;
        return fsync_parent_dir(j->path);

fail:
        (void) unlink(tmp_path);
        return r;
}

/* Scans j's records from start and repairs what it finds: a torn tail is
 * cut in place, anything else means a rewrite (old file kept aside). With
 * header_damaged the file is rewritten in any case. */
static int replay_and_repair(JournalFile *j, uint64_t start, bool header_damaged, journal_record_cb cb,
                             void *userdata, JournalRecovery *rec) {
        Scan s = { .rec = rec };
        uint64_t file_size;
        struct stat st;
        int r;

        if (fstat(j->fd, &st) < 0)
                return negative_errno();
        file_size = (uint64_t) st.st_size;
        if (header_damaged && file_size < start)
                recovery_add_gap(rec, 0, file_size); /* nothing readable at all */

        r = scan_records(j->fd, start, file_size, cb, userdata, &s);
        if (r < 0)
                goto finish;
        rec->records = s.records;
        if (s.tail_torn)
                rec->torn_bytes = file_size - s.tail;

        if (header_damaged || rec->n_gaps > 0) {
                if (rec->damage == JOURNAL_DAMAGE_NONE)
                        rec->damage = header_damaged ? JOURNAL_DAMAGE_HEADER : JOURNAL_DAMAGE_RECORDS;
                if (!header_damaged && rec->n_gaps == 1)
                        snprintf(rec->reason, sizeof(rec->reason), "unreadable bytes at offset %" PRIu64 "%s",
                                 rec->gaps[0].offset,
                                 rec->gaps[0].offset + rec->gaps[0].size == file_size ? ", to the end" : "");
                else if (!header_damaged)
                        snprintf(rec->reason, sizeof(rec->reason), "unreadable bytes in %" PRIu64 " places, the "
                                 "first at offset %" PRIu64, rec->n_gaps, rec->gaps[0].offset);
                r = journal_rewrite(j, &s, rec);
                goto finish;
        }

        if (s.tail < file_size) {
                if (ftruncate(j->fd, (off_t) s.tail) < 0) {
                        r = negative_errno();
                        goto finish;
                }
                if (fsync(j->fd) < 0) {
                        r = negative_errno();
                        goto finish;
                }
        }
        j->end = s.tail;
        j->n_records = s.records;
        j->tail_clean = true;
        r = 0;

finish:
        free(s.extents);
        return r;
}

int journal_file_replay_report(JournalFile *j, journal_record_cb cb, void *userdata, JournalRecovery *ret_recovery) {
        JournalRecovery rec = {};
        struct stat st;
        int r;

        if (!j)
                return -EINVAL;
        if (j->compacting)
                return -EBUSY;

        if (fstat(j->fd, &st) < 0)
                return negative_errno();
        r = header_validate(j->fd, (uint64_t) st.st_size, rec.reason, sizeof(rec.reason));
        if (r < 0)
                return r;
        rec.reason[0] = 0;
        rec.file_size = (uint64_t) st.st_size;

        r = replay_and_repair(j, JOURNAL_FILE_HEADER_SIZE, false, cb, userdata, &rec);
        if (r < 0) {
                journal_recovery_done(&rec);
                return r;
        }
        if (ret_recovery)
                *ret_recovery = rec;
        else
                journal_recovery_done(&rec);
        return 0;
}

int journal_file_replay(JournalFile *j, journal_record_cb cb, void *userdata, uint64_t *ret_n_records,
                        uint64_t *ret_dropped_bytes) {
        JournalRecovery rec = {};
        int r;

        r = journal_file_replay_report(j, cb, userdata, &rec);
        if (r < 0)
                return r;
        if (ret_n_records)
                *ret_n_records = rec.records;
        if (ret_dropped_bytes)
                *ret_dropped_bytes = rec.torn_bytes + rec.lost_bytes;
        journal_recovery_done(&rec);
        return 0;
}

static const char *file_type_name(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFDIR:
                return "a directory";
        case S_IFLNK:
                return "a symbolic link";
        case S_IFIFO:
                return "a FIFO";
        case S_IFSOCK:
                return "a socket";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        default:
                return "not a regular file";
        }
}

int journal_file_open_recover(const char *path, journal_record_cb cb, void *userdata, JournalFile **ret,
                              JournalRecovery *ret_recovery) {
        JournalRecovery rec = {};
        int r = -EAGAIN;

        if (!path || !ret)
                return -EINVAL;

        for (unsigned attempt = 0; attempt < 8; attempt++) {
                _cleanup_close_ int fd = -EBADF;
                JournalFile *j;
                struct stat st;
                char reason[sizeof(rec.reason)] = "";

                /* Look before opening anything: a device node or a FIFO is
                 * moved away without ever being opened. */
                if (lstat(path, &st) < 0) {
                        if (errno != ENOENT) {
                                r = negative_errno();
                                break;
                        }
                } else if (!S_ISREG(st.st_mode)) {
                        r = set_aside(path, "damaged", false, &rec);
                        if (r < 0)
                                break;
                        rec.damage = JOURNAL_DAMAGE_NOT_REGULAR;
                        snprintf(rec.reason, sizeof(rec.reason), "%s", file_type_name(st.st_mode));
                        continue;
                }

                fd = journal_open_locked(path, &st);
                if (fd == -ELOOP || fd == -EISDIR || fd == -EINVAL || fd == -ENXIO)
                        continue; /* replaced under us: look again */
                if (fd < 0) {
                        r = fd;
                        break;
                }

                if (st.st_size == 0) {
                        /* We create journals complete, so this holds nothing
                         * that could be lost: give it its header. */
                        r = header_write(fd);
                        if (r < 0)
                                break;
                        st.st_size = JOURNAL_FILE_HEADER_SIZE;
                        r = 0;
                } else
                        r = header_validate(fd, (uint64_t) st.st_size, reason, sizeof(reason));
                if (r == -EPROTONOSUPPORT) {
                        /* Intact, but not ours to read: keep it whole for the
                         * salve that wrote it, start afresh. */
                        r = set_aside(path, "unsupported", false, &rec);
                        if (r < 0)
                                break;
                        rec.damage = JOURNAL_DAMAGE_UNSUPPORTED;
                        rec.file_size = (uint64_t) st.st_size;
                        snprintf(rec.reason, sizeof(rec.reason), "%s", reason);
                        continue;
                }
                if (r < 0 && r != -EBADMSG)
                        break;

                j = journal_file_new(path, fd);
                if (!j) {
                        r = -ENOMEM;
                        break;
                }
                TAKE_FD(fd);
                if (rec.damage == JOURNAL_DAMAGE_NONE)
                        rec.file_size = (uint64_t) st.st_size;
                if (r == -EBADMSG) {
                        rec.damage = JOURNAL_DAMAGE_HEADER;
                        snprintf(rec.reason, sizeof(rec.reason), "%s", reason);
                }
                r = replay_and_repair(j, JOURNAL_FILE_HEADER_SIZE, r == -EBADMSG, cb, userdata, &rec);
                if (r < 0) {
                        journal_file_free(j);
                        break;
                }
                *ret = j;
                if (ret_recovery)
                        *ret_recovery = rec;
                else
                        journal_recovery_done(&rec);
                return 0;
        }

        journal_recovery_done(&rec);
        return r;
}

/* Simulated crash for tests: write a prefix of the record, then die the way
 * a power cut or OOM kill would end us (no cleanup, no sync). */
__attribute__((noreturn)) static void crash_now(int fd, struct iovec *iov, int n, uint64_t offset, size_t torn_bytes) {
        size_t left = torn_bytes;
        int m = 0;

        while (m < n && left > 0) {
                iov[m].iov_len = MIN(iov[m].iov_len, left);
                left -= iov[m].iov_len;
                m++;
        }
        (void) pwritev_full(fd, iov, m, offset);
        raise(SIGKILL);
        abort();
}

/* Before writing rec_size more bytes, with pending unsynced already: a
 * power cut must leave no more unsynced bytes than one record, the most a
 * zero tail may be for replay to cut it as torn ("The tail" in
 * docs/journal-format.md). Syncs what is pending when the next record would
 * pass that. */
static int bound_unsynced(JournalFile *j, uint64_t *pending, uint64_t rec_size) {
        if (!j->bound_unsynced || *pending == 0 || *pending + rec_size <= JOURNAL_RECORD_SIZE_MAX)
                return 0;
        if (fdatasync(j->fd) < 0)
                return negative_errno();
        *pending = 0;
        return 0;
}

int journal_file_append(JournalFile *j, const void *payload, size_t size) {
        static const uint8_t zeros[JOURNAL_RECORD_ALIGN] = {};
        uint8_t hdr[JOURNAL_RECORD_HEADER_SIZE];
        struct iovec iov[3];
        uint64_t rec_size;
        int r;

        if (!j || (!payload && size > 0))
                return -EINVAL;
        if (size > JOURNAL_PAYLOAD_MAX)
                return -E2BIG;
        if (j->compacting)
                return -EBUSY;
        if (!j->tail_clean)
                return -EUCLEAN;

        rec_size = journal_record_size(size);
        put_le32(hdr, JOURNAL_RECORD_MAGIC);
        put_le32(hdr + 4, (uint32_t) size);
        put_le32(hdr + 8, record_crc(hdr + 4, payload, size));

        iov[0] = (struct iovec) { .iov_base = hdr, .iov_len = sizeof(hdr) };
        iov[1] = (struct iovec) { .iov_base = (void *) payload, .iov_len = size };
        iov[2] = (struct iovec) { .iov_base = (void *) zeros,
                                  .iov_len = (size_t) (rec_size - JOURNAL_RECORD_HEADER_SIZE - size) };

        r = bound_unsynced(j, &j->unsynced, rec_size);
        if (r < 0)
                return r;

        bool crash = j->crash_countdown > 0 && --j->crash_countdown == 0;
        if (crash && j->crash_torn_bytes > 0 && j->crash_torn_bytes < rec_size)
                crash_now(j->fd, iov, 3, j->end, j->crash_torn_bytes);

        r = pwritev_full(j->fd, iov, 3, j->end);
        if (r >= 0 && j->sync && fdatasync(j->fd) < 0)
                r = negative_errno();
        if (r < 0) {
                /* Cut the partial record off so the next append does not
                 * land behind it; if even that fails, demand a replay. */
                if (ftruncate(j->fd, (off_t) j->end) < 0)
                        j->tail_clean = false;
                return r;
        }

        if (crash) {
                raise(SIGKILL);
                abort();
        }

        j->end += rec_size;
        j->unsynced = j->sync ? 0 : j->unsynced + rec_size;
        j->n_records++;
        j->n_appended++;
        return 0;
}

int journal_file_append_many(JournalFile *j, const JournalPayload *p, size_t n) {
        static const uint8_t zeros[JOURNAL_RECORD_ALIGN] = {};
        uint64_t at, pending;
        int r = 0;

        if (!j || (n > 0 && !p))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!p[i].data && p[i].size > 0)
                        return -EINVAL;
                if (p[i].size > JOURNAL_PAYLOAD_MAX)
                        return -E2BIG;
        }
        if (j->compacting)
                return -EBUSY;
        if (!j->tail_clean)
                return -EUCLEAN;
        /* Crash tests count appends: one at a time, as they expect. */
        if (j->crash_countdown > 0 && j->crash_countdown <= n) {
                for (size_t i = 0; i < n; i++) {
                        r = journal_file_append(j, p[i].data, p[i].size);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        if (j->crash_countdown > 0)
                j->crash_countdown -= n;

        at = j->end;
        pending = j->unsynced;
        for (size_t i = 0; i < n && r >= 0; i++) {
                uint8_t hdr[JOURNAL_RECORD_HEADER_SIZE];
                uint64_t rec_size = journal_record_size(p[i].size);
                struct iovec iov[3];

                r = bound_unsynced(j, &pending, rec_size);
                if (r < 0)
                        break;

                put_le32(hdr, JOURNAL_RECORD_MAGIC);
                put_le32(hdr + 4, (uint32_t) p[i].size);
                put_le32(hdr + 8, record_crc(hdr + 4, p[i].data, p[i].size));
                iov[0] = (struct iovec) { .iov_base = hdr, .iov_len = sizeof(hdr) };
                iov[1] = (struct iovec) { .iov_base = (void *) p[i].data, .iov_len = p[i].size };
                iov[2] = (struct iovec) { .iov_base = (void *) zeros,
                                          .iov_len = (size_t) (rec_size - JOURNAL_RECORD_HEADER_SIZE - p[i].size) };
                r = pwritev_full(j->fd, iov, 3, at);
                at += rec_size;
                pending += rec_size;
        }
        if (r >= 0 && n > 0 && j->sync && fdatasync(j->fd) < 0)
                r = negative_errno();
        if (r < 0) {
                /* None of them, as with one append that fails. */
                if (ftruncate(j->fd, (off_t) j->end) < 0)
                        j->tail_clean = false;
                return r;
        }
        j->end = at;
        j->unsynced = j->sync ? 0 : pending;
        j->n_records += n;
        j->n_appended += n;
        return 0;
}

int journal_file_compact(JournalFile *j, journal_emit_cb emit, void *userdata) {
        _cleanup_(journal_file_freep) JournalFile *tmp = NULL;
        _cleanup_free_ char *tmp_path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!j || !emit)
                return -EINVAL;
        if (j->compacting)
                return -EBUSY;

        if (asprintf(&tmp_path, "%s.tmp", j->path) < 0)
                return -ENOMEM;

        /* A leftover from an interrupted compaction is simply overwritten:
         * we hold the journal's lock, so no one else is compacting it. */
        fd = open(tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return negative_errno();
        r = lock_fd(fd);
        if (r >= 0)
                r = header_write(fd);
        if (r < 0)
                goto fail;

        tmp = journal_file_new(tmp_path, fd);
        if (!tmp) {
                r = -ENOMEM;
                goto fail;
        }
        TAKE_FD(fd);
        tmp->end = JOURNAL_FILE_HEADER_SIZE;
        tmp->tail_clean = true;
        tmp->sync = false; /* one fsync at the end covers it all */
        tmp->bound_unsynced = false; /* and a crash before it leaves only the temporary file */

        j->compacting = true;
        r = emit(tmp, userdata);
        j->compacting = false;
        if (r < 0)
                goto fail;
        if (!tmp->tail_clean) {
                /* emit ignored a failed append that left debris */
                r = -EIO;
                goto fail;
        }

        if (fsync(tmp->fd) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (rename(tmp_path, j->path) < 0) {
                r = negative_errno();
                goto fail;
        }

        /* The new file is the journal now, whatever the directory sync says. */
        safe_close(j->fd);
        j->fd = TAKE_FD(tmp->fd);
        j->end = tmp->end;
        j->n_records = tmp->n_records;
        j->unsynced = 0; /* fsynced before it took the journal's place */
        j->tail_clean = true;

        return fsync_parent_dir(j->path);

fail:
        (void) unlink(tmp_path);
        return r;
}

uint64_t journal_file_size(JournalFile *j) {
        return j ? j->end : 0;
}

uint64_t journal_file_n_appended(JournalFile *j) {
        return j ? j->n_appended : 0;
}

uint64_t journal_file_n_records(JournalFile *j) {
        return j ? j->n_records : 0;
}

const char *journal_file_path(JournalFile *j) {
        return j ? j->path : NULL;
}

void journal_file_set_sync(JournalFile *j, bool sync) {
        if (j)
                j->sync = sync;
}

int journal_file_sync(JournalFile *j) {
        if (!j)
                return -EINVAL;
        if (j->unsynced == 0)
                return 0;
        if (fdatasync(j->fd) < 0)
                return negative_errno();
        j->unsynced = 0;
        return 0;
}

uint64_t journal_file_unsynced(JournalFile *j) {
        return j ? j->unsynced : 0;
}

void journal_file_set_crash_point(JournalFile *j, uint64_t n, size_t torn_bytes) {
        if (!j)
                return;
        j->crash_countdown = n;
        j->crash_torn_bytes = torn_bytes;
}
