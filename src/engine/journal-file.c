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
 */

#include <endian.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <zlib.h>

#include "journal-file.h"
#include "macro.h"

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
        uint64_t crash_countdown;
        size_t crash_torn_bytes;
        bool sync;
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
 * told apart from a newer version before the version is believed. */
static int header_validate(int fd, uint64_t file_size) {
        uint8_t h[HEADER_SIZE_MAX];
        uint32_t header_size;
        size_t n;
        int r;

        if (file_size < JOURNAL_FILE_HEADER_SIZE)
                return -EBADMSG;
        r = pread_full(fd, h, JOURNAL_FILE_HEADER_SIZE, 0, &n);
        if (r < 0)
                return r;
        if (n < JOURNAL_FILE_HEADER_SIZE)
                return -EIO; /* shrank under us */
        if (memcmp(h, JOURNAL_FILE_MAGIC, sizeof(JOURNAL_FILE_MAGIC)) != 0)
                return -EBADMSG;

        header_size = get_le32(h + HDR_OFF_HEADER_SIZE);
        if (header_size < JOURNAL_FILE_HEADER_SIZE || header_size > HEADER_SIZE_MAX ||
            header_size % JOURNAL_RECORD_ALIGN != 0 || header_size > file_size)
                return -EBADMSG;
        if (header_size > JOURNAL_FILE_HEADER_SIZE) {
                r = pread_full(fd, h + JOURNAL_FILE_HEADER_SIZE, header_size - JOURNAL_FILE_HEADER_SIZE,
                               JOURNAL_FILE_HEADER_SIZE, &n);
                if (r < 0)
                        return r;
                if (n < header_size - JOURNAL_FILE_HEADER_SIZE)
                        return -EIO;
        }
        if (get_le32(h + header_size - 4) != (uint32_t) crc32(crc32(0L, Z_NULL, 0), h, header_size - 4))
                return -EBADMSG;

        if (get_le32(h + HDR_OFF_VERSION) != JOURNAL_FILE_VERSION)
                return -EPROTONOSUPPORT;
        if (header_size != JOURNAL_FILE_HEADER_SIZE)
                return -EBADMSG;
        if (get_le32(h + HDR_OFF_FLAGS) != 0)
                return -EPROTONOSUPPORT; /* a feature we do not know */
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

                fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
                if (fd < 0) {
                        if (errno != ENOENT)
                                return negative_errno();
                        fd = journal_create(path);
                        if (fd == -EEXIST)
                                continue;
                        if (fd < 0)
                                return fd;
                }

                r = lock_fd(fd);
                if (r < 0)
                        return r;
                if (fstat(fd, &st) < 0)
                        return negative_errno();
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                if (!S_ISREG(st.st_mode))
                        return -EINVAL;
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
                r = header_validate(fd, (uint64_t) st.st_size);
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

int journal_file_replay(JournalFile *j, journal_record_cb cb, void *userdata,
                        uint64_t *ret_n_records, uint64_t *ret_dropped_bytes) {
        _cleanup_free_ uint8_t *data = NULL;
        ReadBuffer b = {};
        uint64_t file_size, offset, n = 0;
        struct stat st;
        int r;

        if (!j)
                return -EINVAL;
        if (j->compacting)
                return -EBUSY;

        if (fstat(j->fd, &st) < 0)
                return negative_errno();
        file_size = (uint64_t) st.st_size;
        r = header_validate(j->fd, file_size);
        if (r < 0)
                return r;

        b.capacity = (size_t) MIN((uint64_t) READ_BUFFER_SIZE, file_size - JOURNAL_FILE_HEADER_SIZE);
        if (b.capacity > 0) {
                data = malloc(b.capacity);
                if (!data)
                        return -ENOMEM;
                b.data = data;
        }
        b.offset = JOURNAL_FILE_HEADER_SIZE;
        (void) posix_fadvise(j->fd, 0, 0, POSIX_FADV_SEQUENTIAL);

        for (offset = JOURNAL_FILE_HEADER_SIZE; offset < file_size;) {
                const uint8_t *payload = NULL;
                uint32_t len = 0;
                int64_t k;

                k = record_check(&b, j->fd, offset, file_size, &payload, &len);
                if (k < 0)
                        return (int) k;
                if (k == 0)
                        break;

                if (cb) {
                        r = cb(len > 0 ? payload : NULL, len, userdata);
                        if (r < 0)
                                return r;
                }
                offset += (uint64_t) k;
                n++;
        }

        if (offset < file_size) {
                if (ftruncate(j->fd, (off_t) offset) < 0)
                        return negative_errno();
                if (fsync(j->fd) < 0)
                        return negative_errno();
        }

        j->end = offset;
        j->n_records = n;
        j->tail_clean = true;

        if (ret_n_records)
                *ret_n_records = n;
        if (ret_dropped_bytes)
                *ret_dropped_bytes = file_size - offset;
        return 0;
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
        j->n_records++;
        j->n_appended++;
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

void journal_file_set_crash_point(JournalFile *j, uint64_t n, size_t torn_bytes) {
        if (!j)
                return;
        j->crash_countdown = n;
        j->crash_torn_bytes = torn_bytes;
}
