/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the journal file layer on real files in a temporary directory:
 * framing round trips, limits, recovery from a torn tail at every byte
 * offset, bit flips, mid-file corruption and resynchronisation, header
 * checks, recovery from whatever is in the journal's place (damaged
 * headers, other versions, short files, directories, FIFOs, symlinks),
 * compaction, and real crashes (SIGKILL from the crash point) in a forked
 * child. */

#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

#include <cmocka.h>

#include "shared/journal-file.h"
#include "macro.h"

typedef struct Fixture {
        char dir[64];
        char path[128];
} Fixture;

/* Records seen by a replay, copied out of the callback. */
typedef struct Records {
        size_t n;
        uint8_t **data;
        size_t *size;
} Records;

static void records_clear(Records *r) {
        for (size_t i = 0; i < r->n; i++)
                free(r->data[i]);
        free(r->data);
        free(r->size);
        *r = (Records) {};
}

static int collect_cb(const void *payload, size_t size, void *userdata) {
        Records *r = userdata;

        r->data = realloc(r->data, (r->n + 1) * sizeof(*r->data));
        r->size = realloc(r->size, (r->n + 1) * sizeof(*r->size));
        assert_non_null(r->data);
        assert_non_null(r->size);
        r->data[r->n] = malloc(size + 1);
        assert_non_null(r->data[r->n]);
        if (size > 0) {
                assert_non_null(payload);
                memcpy(r->data[r->n], payload, size);
        }
        r->size[r->n] = size;
        r->n++;
        return 0;
}

/* Record i of a test journal: a deterministic size and content, so a replay
 * can be checked byte for byte without keeping the originals. */
static size_t payload_size(size_t i) {
        static const size_t sizes[] = { 0, 1, 7, 8, 13, 200, 4096, 5, 65536 };
        return sizes[i % ELEMENTSOF(sizes)];
}

static uint8_t *payload_make(size_t i, size_t size) {
        uint8_t *p = malloc(size + 1);
        assert_non_null(p);
        for (size_t k = 0; k < size; k++)
                p[k] = (uint8_t) (i * 131 + k * 7 + 1);
        return p;
}

static void append_nth(JournalFile *j, size_t i) {
        size_t size = payload_size(i);
        _cleanup_free_ uint8_t *p = payload_make(i, size);
        assert_int_equal(journal_file_append(j, p, size), 0);
}

static void assert_record_is_nth(const Records *r, size_t idx, size_t i) {
        size_t size = payload_size(i);
        _cleanup_free_ uint8_t *p = payload_make(i, size);

        assert_true(idx < r->n);
        assert_int_equal(r->size[idx], size);
        assert_memory_equal(r->data[idx], p, size);
}

static void assert_records_are_first(const Records *r, size_t n) {
        assert_int_equal(r->n, n);
        for (size_t i = 0; i < n; i++)
                assert_record_is_nth(r, i, i);
}

static uint64_t file_size_of(const char *path) {
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        return (uint64_t) st.st_size;
}

static uint8_t *file_read(const char *path, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t size;
        uint8_t *buf;

        assert_true(fd >= 0);
        size = (size_t) file_size_of(path);
        buf = malloc(size + 1);
        assert_non_null(buf);
        assert_int_equal(pread(fd, buf, size, 0), (ssize_t) size);
        *ret_size = size;
        return buf;
}

static void file_write(const char *path, const void *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, size), (ssize_t) size);
}

static void file_flip_bit(const char *path, uint64_t offset, unsigned bit) {
        _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
        uint8_t c;

        assert_true(fd >= 0);
        assert_int_equal(pread(fd, &c, 1, (off_t) offset), 1);
        c ^= (uint8_t) (1U << bit);
        assert_int_equal(pwrite(fd, &c, 1, (off_t) offset), 1);
}

static bool file_exists(const char *path) {
        return access(path, F_OK) == 0;
}

/* Creates a journal holding records 0..n-1 and returns the offset at which
 * each record starts (n+1 entries: the last is the end). */
static uint64_t *journal_make(const char *path, size_t n) {
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        uint64_t *offsets = calloc(n + 1, sizeof(uint64_t));

        assert_non_null(offsets);
        assert_int_equal(journal_file_open(path, &j), 0);
        journal_file_set_sync(j, false);
        for (size_t i = 0; i < n; i++) {
                offsets[i] = journal_file_size(j);
                append_nth(j, i);
        }
        offsets[n] = journal_file_size(j);
        assert_int_equal(file_size_of(path), offsets[n]);
        return offsets;
}

/* Opens path, replays it, and checks it holds exactly records 0..n-1 after
 * cutting `dropped` bytes. */
static void assert_replay(const char *path, size_t n, uint64_t dropped) {
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        Records r = {};
        uint64_t n_records = UINT64_MAX, n_dropped = UINT64_MAX;

        assert_int_equal(journal_file_open(path, &j), 0);
        assert_int_equal(journal_file_replay(j, collect_cb, &r, &n_records, &n_dropped), 0);
        assert_int_equal(n_records, n);
        assert_int_equal(n_dropped, dropped);
        assert_records_are_first(&r, n);
        assert_int_equal(journal_file_size(j), file_size_of(path));
        records_clear(&r);
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-journal-file-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/journal", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        DIR *d = opendir(f->dir);
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d))) {
                char p[512];
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
                if (unlink(p) < 0)
                        (void) rmdir(p); /* a directory set aside */
        }
        closedir(d);
        assert_int_equal(rmdir(f->dir), 0);
        free(f);
        return 0;
}

/* Only the journal itself may be left in the directory: no ".new-*" from
 * creation, no ".tmp" from compaction. */
static void assert_dir_holds_only_journal(const Fixture *f) {
        DIR *d = opendir(f->dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                assert_string_equal(de->d_name, "journal");
                n++;
        }
        closedir(d);
        assert_int_equal(n, 1);
}

/* The journal and one other file (a damaged one kept aside): nothing
 * temporary is left. */
static void assert_dir_holds_only_journal_and(const Fixture *f, const char *other) {
        const char *base = strrchr(other, '/') + 1;
        DIR *d = opendir(f->dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                assert_true(streq(de->d_name, "journal") || streq(de->d_name, base));
                n++;
        }
        closedir(d);
        assert_int_equal(n, 2);
}

static void test_free_null(void **state) {
        assert_null(journal_file_free(NULL));
}

static void test_create(void **state) {
        Fixture *f = *state;
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        uint64_t n = 1, dropped = 1;
        struct stat st;

        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, JOURNAL_FILE_HEADER_SIZE);
        assert_int_equal(journal_file_size(j), JOURNAL_FILE_HEADER_SIZE);
        assert_dir_holds_only_journal(f);

        /* A fresh journal needs no replay before appending. */
        assert_int_equal(journal_file_append(j, "x", 1), 0);
        assert_int_equal(journal_file_n_appended(j), 1);
        assert_int_equal(journal_file_size(j), JOURNAL_FILE_HEADER_SIZE + 16);
        j = journal_file_free(j);

        /* An empty file left by someone else is initialised, not refused. */
        file_write(f->path, "", 0);
        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(file_size_of(f->path), JOURNAL_FILE_HEADER_SIZE);
        assert_int_equal(journal_file_replay(j, NULL, NULL, &n, &dropped), 0);
        assert_int_equal(n, 0);
        assert_int_equal(dropped, 0);
}

static void test_cloexec_and_lock(void **state) {
        Fixture *f = *state;
        _cleanup_(journal_file_freep) JournalFile *j = NULL, *k = NULL;

        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(journal_file_open(f->path, &k), -EBUSY);
        assert_null(k);
        j = journal_file_free(j);
        assert_int_equal(journal_file_open(f->path, &k), 0);

        /* The fd must not leak into children. */
        for (int fd = 3; fd < 64; fd++) {
                int fl = fcntl(fd, F_GETFD);
                if (fl >= 0) {
                        char link[64], target[512] = {};
                        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
                        if (readlink(link, target, sizeof(target) - 1) > 0 && streq(target, f->path))
                                assert_true(fl & FD_CLOEXEC);
                }
        }
}

static void test_symlink_refused(void **state) {
        Fixture *f = *state;
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        char target[160];

        snprintf(target, sizeof(target), "%s/real", f->dir);
        assert_int_equal(journal_file_open(target, &j), 0);
        j = journal_file_free(j);
        assert_int_equal(symlink(target, f->path), 0);
        assert_int_equal(journal_file_open(f->path, &j), -ELOOP);
}

static void test_roundtrip(void **state) {
        Fixture *f = *state;
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        _cleanup_free_ uint8_t *max = payload_make(999, JOURNAL_PAYLOAD_MAX);
        const size_t n = 1000;
        uint64_t expected_size = JOURNAL_FILE_HEADER_SIZE;
        Records r = {};
        uint64_t n_records, dropped;

        assert_int_equal(journal_file_open(f->path, &j), 0);
        journal_file_set_sync(j, false);
        for (size_t i = 0; i < n; i++) {
                append_nth(j, i);
                expected_size += journal_record_size(payload_size(i));
        }
        journal_file_set_sync(j, true);
        assert_int_equal(journal_file_append(j, max, JOURNAL_PAYLOAD_MAX), 0);
        assert_int_equal(journal_file_append(j, NULL, 0), 0);
        expected_size += journal_record_size(JOURNAL_PAYLOAD_MAX) + journal_record_size(0);

        assert_int_equal(journal_file_n_appended(j), n + 2);
        assert_int_equal(journal_file_n_records(j), n + 2);
        assert_int_equal(journal_file_size(j), expected_size);
        assert_int_equal(file_size_of(f->path), expected_size);
        assert_int_equal(expected_size % JOURNAL_RECORD_ALIGN, 0);

        /* Replay through the same handle, then through a new one. */
        for (int round = 0; round < 2; round++) {
                assert_int_equal(journal_file_replay(j, collect_cb, &r, &n_records, &dropped), 0);
                assert_int_equal(n_records, n + 2);
                assert_int_equal(dropped, 0);
                for (size_t i = 0; i < n; i++)
                        assert_record_is_nth(&r, i, i);
                assert_int_equal(r.size[n], JOURNAL_PAYLOAD_MAX);
                assert_memory_equal(r.data[n], max, JOURNAL_PAYLOAD_MAX);
                assert_int_equal(r.size[n + 1], 0);
                records_clear(&r);

                j = journal_file_free(j);
                assert_int_equal(journal_file_open(f->path, &j), 0);
                assert_int_equal(journal_file_n_appended(j), 0);
        }
        assert_int_equal(file_size_of(f->path), expected_size);
}

static void test_limits(void **state) {
        Fixture *f = *state;
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        _cleanup_free_ uint8_t *big = calloc(1, JOURNAL_PAYLOAD_MAX + 1);

        assert_non_null(big);
        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(journal_file_append(j, big, JOURNAL_PAYLOAD_MAX + 1), -E2BIG);
        assert_int_equal(journal_file_append(j, big, SIZE_MAX), -E2BIG);
        assert_int_equal(journal_file_append(j, NULL, 1), -EINVAL);
        assert_int_equal(journal_file_append(NULL, "x", 1), -EINVAL);
        assert_int_equal(journal_file_n_appended(j), 0);
        assert_int_equal(journal_file_size(j), JOURNAL_FILE_HEADER_SIZE);
        assert_int_equal(file_size_of(f->path), JOURNAL_FILE_HEADER_SIZE);
        /* The handle stays usable. */
        assert_int_equal(journal_file_append(j, big, JOURNAL_PAYLOAD_MAX), 0);
        assert_int_equal(journal_file_n_appended(j), 1);
}

static int abort_at_third(const void *payload, size_t size, void *userdata) {
        unsigned *seen = userdata;
        return ++*seen == 3 ? -ECANCELED : 0;
}

static void test_append_needs_replay(void **state) {
        Fixture *f = *state;
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        _cleanup_free_ uint64_t *offsets = journal_make(f->path, 5);
        uint64_t size = file_size_of(f->path);
        unsigned seen = 0;

        /* Torn tail that a blind append would bury. */
        assert_int_equal(truncate(f->path, (off_t) (size - 3)), 0);

        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(journal_file_append(j, "x", 1), -EUCLEAN);

        /* An aborted replay returns cb's error, cuts nothing, and does not
         * make the handle appendable. */
        assert_int_equal(journal_file_replay(j, abort_at_third, &seen, NULL, NULL), -ECANCELED);
        assert_int_equal(seen, 3);
        assert_int_equal(file_size_of(f->path), size - 3);
        assert_int_equal(journal_file_append(j, "x", 1), -EUCLEAN);

        assert_int_equal(journal_file_replay(j, NULL, NULL, NULL, NULL), 0);
        assert_int_equal(file_size_of(f->path), offsets[4]);
        assert_int_equal(journal_file_n_records(j), 4);
        assert_int_equal(journal_file_append(j, "x", 1), 0);
        assert_int_equal(journal_file_n_records(j), 5);
}

/* Cut the file at every byte offset inside its last record: each must
 * replay to exactly the earlier records, truncate the remnant, and then take
 * and replay new appends. */
static void truncate_every_offset(const Fixture *f, size_t n) {
        _cleanup_free_ uint64_t *offsets = journal_make(f->path, n);
        _cleanup_free_ uint8_t *orig = NULL;
        size_t orig_size;

        orig = file_read(f->path, &orig_size);
        assert_int_equal(orig_size, offsets[n]);
        assert_true(offsets[n] - offsets[n - 1] > 12); /* has payload and header */

        for (uint64_t cut = offsets[n - 1]; cut < offsets[n]; cut++) {
                _cleanup_(journal_file_freep) JournalFile *j = NULL;
                Records r = {};
                uint64_t n_records, dropped;

                file_write(f->path, orig, (size_t) cut);

                assert_int_equal(journal_file_open(f->path, &j), 0);
                assert_int_equal(journal_file_replay(j, collect_cb, &r, &n_records, &dropped), 0);
                assert_int_equal(n_records, n - 1);
                assert_int_equal(dropped, cut - offsets[n - 1]);
                assert_records_are_first(&r, n - 1);
                records_clear(&r);
                assert_int_equal(file_size_of(f->path), offsets[n - 1]);
                assert_int_equal(journal_file_size(j), offsets[n - 1]);

                /* Re-append the lost record and one more; both must survive. */
                append_nth(j, n - 1);
                append_nth(j, n);
                j = journal_file_free(j);
                assert_replay(f->path, n + 1, 0);
        }
        assert_int_equal(unlink(f->path), 0);
}

static void test_truncate_every_offset(void **state) {
        Fixture *f = *state;

        /* Last record: 13-byte payload (3 bytes of padding). */
        truncate_every_offset(f, 5);
        /* Last record: 200-byte payload. */
        truncate_every_offset(f, 6);
        /* Last record: empty payload. */
        truncate_every_offset(f, 10);
}

/* Flip one bit in the last record: replay must keep the earlier records and
 * cut the whole last record. */
static void flip_in_last_record(const Fixture *f, size_t n, uint64_t rel_offset, unsigned bit) {
        _cleanup_free_ uint64_t *offsets = journal_make(f->path, n);

        assert_true(offsets[n - 1] + rel_offset < offsets[n]);
        file_flip_bit(f->path, offsets[n - 1] + rel_offset, bit);
        assert_replay(f->path, n - 1, offsets[n] - offsets[n - 1]);
        assert_int_equal(file_size_of(f->path), offsets[n - 1]);
        assert_int_equal(unlink(f->path), 0);
}

static void test_bitflip_last_record(void **state) {
        Fixture *f = *state;
        const size_t n = 6; /* last record: 200-byte payload */
        uint64_t rec = journal_record_size(payload_size(n - 1));

        /* Every bit of the magic, the length and the checksum. */
        for (uint64_t off = 0; off < JOURNAL_RECORD_HEADER_SIZE; off++)
                for (unsigned bit = 0; bit < 8; bit++)
                        flip_in_last_record(f, n, off, bit);
        /* Payload: first, middle, last byte. */
        for (unsigned bit = 0; bit < 8; bit++) {
                flip_in_last_record(f, n, JOURNAL_RECORD_HEADER_SIZE, bit);
                flip_in_last_record(f, n, JOURNAL_RECORD_HEADER_SIZE + 100, bit);
                flip_in_last_record(f, n, JOURNAL_RECORD_HEADER_SIZE + 199, bit);
        }
        /* Padding must be zero (12 + 13 = 25 -> 3 padding bytes). */
        assert_int_equal(journal_record_size(payload_size(4)), 32);
        flip_in_last_record(f, 5, 12 + 13 + 2, 0);
        /* ... and after the 200-byte payload (212 -> 4 padding bytes). */
        assert_int_equal(rec, 216);
        flip_in_last_record(f, n, rec - 1, 7);
}

/* A record longer than the limit is refused even when it fits in the file
 * and its checksum matches: the limit is part of the format. */
static void test_oversized_record(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint64_t *offsets = journal_make(f->path, 3);
        const uint32_t len = JOURNAL_PAYLOAD_MAX + 4; /* 12 + len is 8-aligned */
        _cleanup_free_ uint8_t *rec = calloc(1, JOURNAL_RECORD_HEADER_SIZE + len);
        _cleanup_close_ int fd = -EBADF;
        uLong crc;
        uint32_t v;

        assert_non_null(rec);
        v = htole32(JOURNAL_RECORD_MAGIC);
        memcpy(rec, &v, 4);
        v = htole32(len);
        memcpy(rec + 4, &v, 4);
        crc = crc32(crc32(0, NULL, 0), rec + 4, 4);
        crc = crc32(crc, rec + JOURNAL_RECORD_HEADER_SIZE, len);
        v = htole32((uint32_t) crc);
        memcpy(rec + 8, &v, 4);

        fd = open(f->path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, rec, JOURNAL_RECORD_HEADER_SIZE + len, (off_t) offsets[3]),
                         (ssize_t) (JOURNAL_RECORD_HEADER_SIZE + len));
        assert_replay(f->path, 3, JOURNAL_RECORD_HEADER_SIZE + len);
}

static void header_with(uint8_t h[static JOURNAL_FILE_HEADER_SIZE], uint32_t version, uint32_t flags) {
        uint32_t v;

        memset(h, 0, JOURNAL_FILE_HEADER_SIZE);
        memcpy(h, JOURNAL_FILE_MAGIC, 8);
        v = htole32(version);
        memcpy(h + 8, &v, 4);
        v = htole32(JOURNAL_FILE_HEADER_SIZE);
        memcpy(h + 12, &v, 4);
        v = htole32(flags);
        memcpy(h + 24, &v, 4);
        v = htole32((uint32_t) crc32(0, h, 28));
        memcpy(h + 28, &v, 4);
}

static void assert_open_fails_untouched(const char *path, const void *content, size_t size, int error) {
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        _cleanup_free_ uint8_t *after = NULL;
        size_t after_size;

        file_write(path, content, size);
        assert_int_equal(journal_file_open(path, &j), error);
        assert_null(j);
        after = file_read(path, &after_size);
        assert_int_equal(after_size, size);
        assert_memory_equal(after, content, size);
}

static void test_bad_header(void **state) {
        Fixture *f = *state;
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        _cleanup_free_ uint64_t *offsets = NULL;
        uint8_t h[JOURNAL_FILE_HEADER_SIZE], junk[200];

        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (uint8_t) ('a' + i % 26);
        assert_open_fails_untouched(f->path, junk, sizeof(junk), -EBADMSG);

        /* Our own header, intact, accepted (sanity check of header_with()). */
        header_with(h, JOURNAL_FILE_VERSION, 0);
        file_write(f->path, h, sizeof(h));
        assert_int_equal(journal_file_open(f->path, &j), 0);
        j = journal_file_free(j);

        /* Partial header. */
        assert_open_fails_untouched(f->path, h, 20, -EBADMSG);
        /* Any flipped bit. */
        for (size_t off = 0; off < sizeof(h); off++) {
                uint8_t bad[JOURNAL_FILE_HEADER_SIZE];
                memcpy(bad, h, sizeof(h));
                bad[off] ^= 0x10;
                assert_open_fails_untouched(f->path, bad, sizeof(bad), -EBADMSG);
        }
        /* A newer format, or an unknown feature flag, properly checksummed. */
        header_with(h, JOURNAL_FILE_VERSION + 1, 0);
        assert_open_fails_untouched(f->path, h, sizeof(h), -EPROTONOSUPPORT);
        header_with(h, JOURNAL_FILE_VERSION, 1);
        assert_open_fails_untouched(f->path, h, sizeof(h), -EPROTONOSUPPORT);

        /* Damaged under an open handle: replay refuses and cuts nothing. */
        assert_int_equal(unlink(f->path), 0);
        offsets = journal_make(f->path, 3);
        assert_int_equal(journal_file_open(f->path, &j), 0);
        file_flip_bit(f->path, 2, 0);
        assert_int_equal(journal_file_replay(j, NULL, NULL, NULL, NULL), -EBADMSG);
        assert_int_equal(file_size_of(f->path), offsets[3]);
        assert_int_equal(journal_file_append(j, "x", 1), -EUCLEAN);
}

/* The names in the fixture's directory that start with prefix
 * ("journal.damaged-"), and how many. Returns the first in ret (if set). */
static unsigned asides(const Fixture *f, const char *prefix, char *ret) {
        DIR *d = opendir(f->dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        if (ret)
                ret[0] = 0;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
                        continue;
                assert_int_equal(de->d_name[strlen(de->d_name) - 1], '~');
                if (ret && n == 0)
                        snprintf(ret, 256, "%s/%s", f->dir, de->d_name);
                n++;
        }
        closedir(d);
        return n;
}

/* Removes every set-aside file (and directory) of the fixture. */
static void asides_clear(const Fixture *f) {
        char p[256];

        while (asides(f, "journal.", p) > 0)
                assert_true(unlink(p) == 0 || (errno == EISDIR && rmdir(p) == 0) || rmdir(p) == 0);
}

static void assert_file_is(const char *path, const uint8_t *content, size_t size) {
        _cleanup_free_ uint8_t *now = NULL;
        size_t now_size;

        now = file_read(path, &now_size);
        assert_int_equal(now_size, size);
        assert_memory_equal(now, content, size);
}

/* Replays path expecting records 0..n-1 except those in `missing` (a
 * sorted list ending in SIZE_MAX). */
static void assert_replay_without(const char *path, size_t n, const size_t *missing) {
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        Records r = {};
        uint64_t n_records, dropped;
        size_t idx = 0, m = 0;

        assert_int_equal(journal_file_open(path, &j), 0);
        assert_int_equal(journal_file_replay(j, collect_cb, &r, &n_records, &dropped), 0);
        assert_int_equal(dropped, 0);
        for (size_t i = 0; i < n; i++) {
                if (missing[m] == i) {
                        m++;
                        continue;
                }
                assert_record_is_nth(&r, idx++, i);
        }
        assert_int_equal(r.n, idx);
        assert_int_equal(n_records, idx);
        records_clear(&r);
}

/* The reported bug: one flipped byte in the middle used to cut everything
 * after it, in place, with no copy. Now only the damaged record is lost:
 * replay resynchronises on the next intact record, keeps the damaged file
 * aside byte for byte, rewrites the journal with every intact record and
 * reports the gap exactly. */
static void test_corrupt_middle(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint64_t *offsets = journal_make(f->path, 12);
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        _cleanup_free_ uint8_t *damaged = NULL;
        static const size_t missing[] = { 5, SIZE_MAX };
        JournalRecovery rec = {};
        size_t damaged_size;
        char aside[256], tmp_path[160];
        Records r = {};
        unsigned seen = 0;

        file_flip_bit(f->path, offsets[5] + JOURNAL_RECORD_HEADER_SIZE + 100, 3);
        damaged = file_read(f->path, &damaged_size);

        /* A replay that the callback aborts changes nothing. */
        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(journal_file_replay(j, abort_at_third, &seen, NULL, NULL), -ECANCELED);
        assert_file_is(f->path, damaged, damaged_size);
        assert_int_equal(asides(f, "journal.", NULL), 0);

        /* Whatever is at compaction's temporary name does not get in the way. */
        snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", f->path);
        assert_int_equal(mkdir(tmp_path, 0700), 0);

        assert_int_equal(journal_file_replay_report(j, collect_cb, &r, &rec), 0);
        assert_int_equal(rec.damage, JOURNAL_DAMAGE_RECORDS);
        assert_int_equal(rec.records, 11);
        assert_int_equal(r.n, 11);
        for (size_t i = 0, idx = 0; i < 12; i++)
                if (i != 5)
                        assert_record_is_nth(&r, idx++, i);
        records_clear(&r);
        assert_int_equal(rec.n_gaps, 1);
        assert_int_equal(rec.gaps[0].offset, offsets[5]);
        assert_int_equal(rec.gaps[0].size, offsets[6] - offsets[5]);
        assert_int_equal(rec.lost_bytes, offsets[6] - offsets[5]);
        assert_int_equal(rec.torn_bytes, 0);
        assert_int_equal(rec.file_size, damaged_size);
        {
                char want[64];
                snprintf(want, sizeof(want), "unreadable bytes at offset %" PRIu64, offsets[5]);
                assert_string_equal(rec.reason, want);
        }
        assert_non_null(rec.aside_path);
        assert_true(rec.aside_usec > 0);

        /* The damaged file is kept as it was, the journal holds the rest. */
        assert_int_equal(asides(f, "journal.damaged-", aside), 1);
        assert_string_equal(aside, rec.aside_path);
        assert_file_is(aside, damaged, damaged_size);
        assert_int_equal(rmdir(tmp_path), 0); /* left alone */
        assert_dir_holds_only_journal_and(f, aside);
        assert_int_equal(file_size_of(f->path), damaged_size - (offsets[6] - offsets[5]));
        assert_int_equal(journal_file_size(j), file_size_of(f->path));
        assert_int_equal(journal_file_n_records(j), 11);
        journal_recovery_done(&rec);
        assert_null(rec.aside_path);

        /* The handle appends to the new journal, which holds the lock. */
        append_nth(j, 12);
        {
                _cleanup_(journal_file_freep) JournalFile *k = NULL;
                assert_int_equal(journal_file_open(f->path, &k), -EBUSY);
        }
        j = journal_file_free(j);
        assert_replay_without(f->path, 13, missing);
        assert_int_equal(asides(f, "journal.", NULL), 1);
}

/* Damage to any one record, in any field, costs that record and nothing
 * else; at the end of the file too, unless it looks like a torn write. */
static void test_resync_every_record(void **state) {
        Fixture *f = *state;
        const size_t n = 10;
        static const uint64_t where[] = { 0, 3, 4, 7, 8, 11, 12, 13 }; /* magic, length, crc, payload */

        for (size_t k = 0; k < n; k++)
                for (size_t w = 0; w < ELEMENTSOF(where); w++) {
                        _cleanup_free_ uint64_t *offsets = journal_make(f->path, n);
                        _cleanup_free_ uint8_t *damaged = NULL;
                        _cleanup_(journal_file_freep) JournalFile *j = NULL;
                        const size_t missing[] = { k, SIZE_MAX };
                        JournalRecovery rec = {};
                        size_t damaged_size;
                        char aside[256];

                        if (offsets[k] + where[w] >= offsets[k + 1])
                                continue; /* an empty payload has no byte 12 */
                        file_flip_bit(f->path, offsets[k] + where[w], 1);
                        damaged = file_read(f->path, &damaged_size);

                        assert_int_equal(journal_file_open_recover(f->path, NULL, NULL, &j, &rec), 0);
                        if (k + 1 == n && rec.damage == JOURNAL_DAMAGE_NONE) {
                                /* Only a length that now claims more than the
                                 * file holds makes it a torn write. */
                                assert_true(where[w] >= 4 && where[w] < 8);
                                assert_int_equal(rec.torn_bytes, offsets[n] - offsets[n - 1]);
                                assert_int_equal(asides(f, "journal.", NULL), 0);
                        } else {
                                assert_int_equal(rec.damage, JOURNAL_DAMAGE_RECORDS);
                                assert_int_equal(rec.n_gaps, 1);
                                assert_int_equal(rec.gaps[0].offset, offsets[k]);
                                assert_int_equal(rec.lost_bytes, offsets[k + 1] - offsets[k]);
                                assert_int_equal(asides(f, "journal.damaged-", aside), 1);
                                assert_file_is(aside, damaged, damaged_size);
                        }
                        assert_int_equal(rec.records, n - 1);
                        journal_recovery_done(&rec);
                        j = journal_file_free(j);
                        assert_replay_without(f->path, n, missing);
                        asides_clear(f);
                        assert_int_equal(unlink(f->path), 0);
                }
}

/* Several gaps, one spanning two neighbouring records, and more gaps than
 * are listed one by one: all counted, every intact record kept. */
static void test_resync_many_gaps(void **state) {
        Fixture *f = *state;
        const size_t n = 60;
        _cleanup_free_ uint64_t *offsets = journal_make(f->path, n);
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        size_t missing[64], m = 0;
        JournalRecovery rec = {};
        uint64_t lost = 0;

        /* 2; 5 and 6 together; then every third from 9: 9, 12, ..., 57. */
        missing[m++] = 2;
        missing[m++] = 5;
        missing[m++] = 6;
        for (size_t k = 9; k < n; k += 3)
                missing[m++] = k;
        missing[m] = SIZE_MAX;
        for (size_t i = 0; i < m; i++) {
                file_flip_bit(f->path, offsets[missing[i]], 0);
                lost += offsets[missing[i] + 1] - offsets[missing[i]];
        }

        assert_int_equal(journal_file_open_recover(f->path, NULL, NULL, &j, &rec), 0);
        assert_int_equal(rec.damage, JOURNAL_DAMAGE_RECORDS);
        assert_int_equal(rec.records, n - m);
        assert_int_equal(rec.n_gaps, m - 1);
        assert_true(rec.n_gaps > JOURNAL_RECOVERY_GAPS_MAX);
        assert_int_equal(rec.lost_bytes, lost);
        assert_int_equal(rec.gaps[0].offset, offsets[2]);
        assert_int_equal(rec.gaps[1].offset, offsets[5]);
        assert_int_equal(rec.gaps[1].size, offsets[7] - offsets[5]);
        assert_int_equal(rec.gaps[2].offset, offsets[9]);
        assert_non_null(strstr(rec.reason, "places, the first at offset"));
        journal_recovery_done(&rec);
        j = journal_file_free(j);
        assert_replay_without(f->path, n, missing);
}

/* Bytes appended after the last record that are not a torn record are
 * kept aside and reported; zeros no longer than a record are a torn
 * write (a filesystem that extended the file but never wrote the data). */
static void test_garbage_after_records(void **state) {
        Fixture *f = *state;
        static const size_t none[] = { SIZE_MAX };
        uint8_t junk[300];

        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (uint8_t) (0x41 + i % 26);

        for (int round = 0; round < 4; round++) {
                _cleanup_free_ uint64_t *offsets = journal_make(f->path, 6);
                _cleanup_(journal_file_freep) JournalFile *j = NULL;
                _cleanup_close_ int fd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC);
                JournalRecovery rec = {};
                uint8_t *zeros = calloc(1, JOURNAL_RECORD_SIZE_MAX + 8);
                size_t size = round == 0 ? 8 : round == 1 ? sizeof(junk) : round == 2 ? 216 : JOURNAL_RECORD_SIZE_MAX + 8;
                bool torn = round >= 2 && size <= JOURNAL_RECORD_SIZE_MAX;

                assert_non_null(zeros);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, round < 2 ? junk : zeros, size), (ssize_t) size);
                free(zeros);

                assert_int_equal(journal_file_open_recover(f->path, NULL, NULL, &j, &rec), 0);
                assert_int_equal(rec.records, 6);
                if (torn) {
                        assert_int_equal(rec.damage, JOURNAL_DAMAGE_NONE);
                        assert_int_equal(rec.torn_bytes, size);
                        assert_int_equal(asides(f, "journal.", NULL), 0);
                } else {
                        assert_int_equal(rec.damage, JOURNAL_DAMAGE_RECORDS);
                        assert_int_equal(rec.torn_bytes, 0);
                        assert_int_equal(rec.n_gaps, 1);
                        assert_int_equal(rec.gaps[0].offset, offsets[6]);
                        assert_int_equal(rec.lost_bytes, size);
                        assert_non_null(strstr(rec.reason, ", to the end"));
                        assert_int_equal(asides(f, "journal.damaged-", NULL), 1);
                }
                assert_int_equal(file_size_of(f->path), offsets[6]);
                journal_recovery_done(&rec);
                j = journal_file_free(j);
                assert_replay_without(f->path, 6, none);
                asides_clear(f);
                assert_int_equal(unlink(f->path), 0);
        }
}

/* A damaged header costs nothing but the header: every byte of it,
 * created_usec included, is covered by the checksum, and the records after
 * it are recovered into a new journal; the damaged file is kept. */
static void test_recover_header_damage(void **state) {
        Fixture *f = *state;
        static const size_t none[] = { SIZE_MAX };

        for (size_t off = 0; off < JOURNAL_FILE_HEADER_SIZE; off++) {
                _cleanup_free_ uint64_t *offsets = journal_make(f->path, 8);
                _cleanup_(journal_file_freep) JournalFile *j = NULL;
                _cleanup_free_ uint8_t *damaged = NULL;
                JournalRecovery rec = {};
                size_t damaged_size;
                char aside[256];
                Records r = {};

                file_flip_bit(f->path, off, 5);
                damaged = file_read(f->path, &damaged_size);
                {
                        _cleanup_(journal_file_freep) JournalFile *k = NULL;
                        assert_int_equal(journal_file_open(f->path, &k), -EBADMSG); /* detected */
                }

                assert_int_equal(journal_file_open_recover(f->path, collect_cb, &r, &j, &rec), 0);
                assert_int_equal(rec.damage, JOURNAL_DAMAGE_HEADER);
                assert_true(strlen(rec.reason) > 0);
                assert_int_equal(rec.records, 8);
                assert_records_are_first(&r, 8);
                records_clear(&r);
                assert_int_equal(rec.lost_bytes, 0);
                assert_int_equal(asides(f, "journal.damaged-", aside), 1);
                assert_file_is(aside, damaged, damaged_size);
                assert_int_equal(file_size_of(f->path), offsets[8]);
                append_nth(j, 8);
                journal_recovery_done(&rec);
                j = journal_file_free(j);
                assert_replay_without(f->path, 9, none);
                asides_clear(f);
                assert_int_equal(unlink(f->path), 0);
        }
}

/* An intact header of another version or with unknown flags is not ours to
 * read: kept whole, unread, and a new journal started. */
static void test_recover_unsupported(void **state) {
        Fixture *f = *state;
        uint8_t h[JOURNAL_FILE_HEADER_SIZE];

        for (int round = 0; round < 2; round++) {
                _cleanup_(journal_file_freep) JournalFile *j = NULL;
                JournalRecovery rec = {};
                char aside[256];
                uint8_t content[JOURNAL_FILE_HEADER_SIZE + 16] = {};

                header_with(h, round == 0 ? JOURNAL_FILE_VERSION + 1 : JOURNAL_FILE_VERSION, round == 0 ? 0 : 4);
                memcpy(content, h, sizeof(h));
                memset(content + sizeof(h), 0x5a, 16);
                file_write(f->path, content, sizeof(content));

                assert_int_equal(journal_file_open_recover(f->path, NULL, NULL, &j, &rec), 0);
                assert_int_equal(rec.damage, JOURNAL_DAMAGE_UNSUPPORTED);
                assert_non_null(strstr(rec.reason, round == 0 ? "version 2" : "flags 0x4"));
                assert_int_equal(rec.records, 0);
                assert_int_equal(rec.file_size, sizeof(content));
                assert_int_equal(asides(f, "journal.unsupported-", aside), 1);
                assert_string_equal(aside, rec.aside_path);
                assert_file_is(aside, content, sizeof(content));
                assert_int_equal(file_size_of(f->path), JOURNAL_FILE_HEADER_SIZE);
                assert_int_equal(journal_file_append(j, "x", 1), 0);
                journal_recovery_done(&rec);
                j = journal_file_free(j);
                asides_clear(f);
                assert_int_equal(unlink(f->path), 0);
        }
}

/* A file too short to hold a header, and an empty one. */
static void test_recover_short_files(void **state) {
        Fixture *f = *state;
        uint8_t h[JOURNAL_FILE_HEADER_SIZE];

        header_with(h, JOURNAL_FILE_VERSION, 0);
        for (size_t size = 0; size < JOURNAL_FILE_HEADER_SIZE; size++) {
                _cleanup_(journal_file_freep) JournalFile *j = NULL;
                JournalRecovery rec = {};
                char aside[256];

                file_write(f->path, h, size);
                assert_int_equal(journal_file_open_recover(f->path, NULL, NULL, &j, &rec), 0);
                assert_int_equal(rec.records, 0);
                if (size == 0) {
                        assert_int_equal(rec.damage, JOURNAL_DAMAGE_NONE);
                        assert_int_equal(asides(f, "journal.", NULL), 0);
                } else {
                        assert_int_equal(rec.damage, JOURNAL_DAMAGE_HEADER);
                        assert_non_null(strstr(rec.reason, "shorter than a journal header"));
                        assert_int_equal(rec.lost_bytes, size);
                        assert_int_equal(asides(f, "journal.damaged-", aside), 1);
                        assert_file_is(aside, h, size);
                }
                assert_int_equal(file_size_of(f->path), JOURNAL_FILE_HEADER_SIZE);
                assert_int_equal(journal_file_append(j, "x", 1), 0);
                journal_recovery_done(&rec);
                j = journal_file_free(j);
                asides_clear(f);
                assert_int_equal(unlink(f->path), 0);
        }
}

static void on_alarm(int sig) {
        fail_msg("opening the journal blocked");
}

/* A directory, a FIFO (which must not block us), a symlink to a valid
 * journal, a dangling one and a socket in the journal's place: moved
 * aside as they are, never followed, and a new journal started. */
static void test_recover_not_regular(void **state) {
        Fixture *f = *state;
        char target[160];

        snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
        (void) signal(SIGALRM, on_alarm);
        for (int kind = 0; kind < 5; kind++) {
                _cleanup_(journal_file_freep) JournalFile *j = NULL;
                JournalRecovery rec = {};
                char aside[256];
                struct stat st;

                switch (kind) {
                case 0:
                        assert_int_equal(mkdir(f->path, 0700), 0);
                        break;
                case 1:
                        assert_int_equal(mkfifo(f->path, 0600), 0);
                        break;
                case 2:
                        free(journal_make(target, 3));
                        assert_int_equal(symlink(target, f->path), 0);
                        break;
                case 3:
                        assert_int_equal(symlink("/nonexistent/journal", f->path), 0);
                        break;
                case 4:
                        assert_int_equal(mknod(f->path, S_IFSOCK | 0600, 0), 0);
                        break;
                }
                alarm(10);
                assert_int_equal(journal_file_open_recover(f->path, NULL, NULL, &j, &rec), 0);
                alarm(0);
                assert_int_equal(rec.damage, JOURNAL_DAMAGE_NOT_REGULAR);
                assert_int_equal(rec.records, 0);
                assert_int_equal(asides(f, "journal.damaged-", aside), 1);
                assert_int_equal(lstat(aside, &st), 0);
                assert_int_equal(st.st_mode & S_IFMT, kind == 0   ? S_IFDIR
                                                      : kind == 1 ? S_IFIFO
                                                      : kind == 4 ? S_IFSOCK
                                                                  : S_IFLNK);
                assert_int_equal(lstat(f->path, &st), 0);
                assert_true(S_ISREG(st.st_mode));
                assert_int_equal(st.st_size, JOURNAL_FILE_HEADER_SIZE);
                assert_int_equal(journal_file_append(j, "x", 1), 0);
                if (kind == 2)
                        assert_int_equal(file_size_of(target), journal_record_size(payload_size(0)) +
                                         journal_record_size(payload_size(1)) + journal_record_size(payload_size(2)) +
                                         JOURNAL_FILE_HEADER_SIZE); /* the target is untouched */
                journal_recovery_done(&rec);
                j = journal_file_free(j);
                asides_clear(f);
                assert_int_equal(unlink(f->path), 0);
        }
        (void) unlink(target);
        (void) signal(SIGALRM, SIG_DFL);
}

/* A crash after the damaged file got its second name but before the new
 * journal replaced it leaves the damaged journal at path and a copy aside:
 * the next open simply does it again. */
static void test_recover_twice(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint64_t *offsets = journal_make(f->path, 6);
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        static const size_t missing[] = { 2, SIZE_MAX };
        JournalRecovery rec = {};
        char link_path[200];

        file_flip_bit(f->path, offsets[2] + 1, 0);
        snprintf(link_path, sizeof(link_path), "%s.damaged-19700101T000000.000000Z~", f->path);
        assert_int_equal(link(f->path, link_path), 0);

        assert_int_equal(journal_file_open_recover(f->path, NULL, NULL, &j, &rec), 0);
        assert_int_equal(rec.records, 5);
        assert_int_equal(asides(f, "journal.damaged-", NULL), 2);
        journal_recovery_done(&rec);
        j = journal_file_free(j);
        assert_replay_without(f->path, 6, missing);

        /* Recovered once, the journal is clean: nothing more set aside. */
        assert_int_equal(journal_file_open_recover(f->path, NULL, NULL, &j, &rec), 0);
        assert_int_equal(rec.damage, JOURNAL_DAMAGE_NONE);
        assert_int_equal(rec.records, 5);
        assert_null(rec.aside_path);
        assert_int_equal(asides(f, "journal.damaged-", NULL), 2);
}

typedef struct EmitArgs {
        JournalFile *journal; /* the one being compacted */
        size_t n;             /* emit records 0, 2, 4, ... below n */
        int fail_with;        /* if set, fail after some appends */
        bool crash;           /* SIGKILL ourselves half way */
} EmitArgs;

static int emit_even(JournalFile *tmp, void *userdata) {
        EmitArgs *a = userdata;

        assert_int_equal(journal_file_append(a->journal, "x", 1), -EBUSY);
        assert_int_equal(journal_file_replay(a->journal, NULL, NULL, NULL, NULL), -EBUSY);
        for (size_t i = 0; i < a->n; i += 2) {
                size_t size = payload_size(i);
                _cleanup_free_ uint8_t *p = payload_make(i, size);
                int r = journal_file_append(tmp, p, size);
                if (r < 0)
                        return r;
                if (i == 4 && a->fail_with)
                        return a->fail_with;
                if (i == 4 && a->crash)
                        raise(SIGKILL);
        }
        return 0;
}

static void test_compact(void **state) {
        Fixture *f = *state;
        free(journal_make(f->path, 100)); /* only the file is needed */
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        EmitArgs a = { .n = 100 };
        Records r = {};
        uint64_t n_records, dropped, expected_size = JOURNAL_FILE_HEADER_SIZE;
        struct stat before, after;

        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(journal_file_replay(j, NULL, NULL, &n_records, NULL), 0);
        assert_int_equal(n_records, 100);
        assert_int_equal(stat(f->path, &before), 0);

        a.journal = j;
        assert_int_equal(journal_file_compact(j, emit_even, &a), 0);
        for (size_t i = 0; i < 100; i += 2)
                expected_size += journal_record_size(payload_size(i));

        assert_int_equal(stat(f->path, &after), 0);
        assert_true(before.st_ino != after.st_ino);
        assert_int_equal(after.st_mode & 07777, 0600);
        assert_int_equal(journal_file_size(j), expected_size);
        assert_int_equal(after.st_size, expected_size);
        assert_int_equal(journal_file_n_records(j), 50);
        assert_dir_holds_only_journal(f);

        /* The handle now appends to the new file. */
        append_nth(j, 100);
        assert_int_equal(journal_file_replay(j, collect_cb, &r, &n_records, &dropped), 0);
        assert_int_equal(n_records, 51);
        assert_int_equal(dropped, 0);
        for (size_t k = 0; k < 50; k++)
                assert_record_is_nth(&r, k, 2 * k);
        assert_record_is_nth(&r, 50, 100);
        records_clear(&r);

        /* And the lock moved with it. */
        {
                _cleanup_(journal_file_freep) JournalFile *k = NULL;
                assert_int_equal(journal_file_open(f->path, &k), -EBUSY);
        }
        j = journal_file_free(j);

        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(journal_file_replay(j, collect_cb, &r, &n_records, &dropped), 0);
        assert_int_equal(n_records, 51);
        assert_int_equal(dropped, 0);
        assert_record_is_nth(&r, 50, 100);
        records_clear(&r);

        /* Compacting to nothing leaves a header-only journal. */
        a = (EmitArgs) { .journal = j, .n = 0 };
        assert_int_equal(journal_file_compact(j, emit_even, &a), 0);
        assert_int_equal(file_size_of(f->path), JOURNAL_FILE_HEADER_SIZE);
        assert_int_equal(journal_file_n_records(j), 0);
}

static void test_compact_failing_emit(void **state) {
        Fixture *f = *state;
        free(journal_make(f->path, 20));
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        _cleanup_free_ uint8_t *orig = NULL, *after = NULL;
        size_t orig_size, after_size;
        EmitArgs a = { .n = 20, .fail_with = -EIO };
        char tmp_path[160];
        struct stat before, st;

        orig = file_read(f->path, &orig_size);
        assert_int_equal(stat(f->path, &before), 0);
        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(journal_file_replay(j, NULL, NULL, NULL, NULL), 0);

        a.journal = j;
        assert_int_equal(journal_file_compact(j, emit_even, &a), -EIO);

        snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", f->path);
        assert_false(file_exists(tmp_path));
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_ino, before.st_ino);
        after = file_read(f->path, &after_size);
        assert_int_equal(after_size, orig_size);
        assert_memory_equal(after, orig, orig_size);
        assert_int_equal(journal_file_size(j), orig_size);
        assert_int_equal(journal_file_n_records(j), 20);

        /* j still appends to the original journal. */
        append_nth(j, 20);
        j = journal_file_free(j);
        assert_replay(f->path, 21, 0);
        assert_dir_holds_only_journal(f);
}

/* Forks a child that reopens the journal, replays it, arms the crash point
 * to fire on its second append, and appends records n and n+1. */
static void crash_child(const char *path, size_t n, size_t torn_bytes) {
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                JournalFile *j = NULL;
                size_t sizes[2] = { payload_size(n), payload_size(n + 1) };
                uint8_t *p[2] = { payload_make(n, sizes[0]), payload_make(n + 1, sizes[1]) };

                if (journal_file_open(path, &j) < 0)
                        _exit(10);
                if (journal_file_replay(j, NULL, NULL, NULL, NULL) < 0)
                        _exit(11);
                journal_file_set_crash_point(j, 2, torn_bytes);
                if (journal_file_append(j, p[0], sizes[0]) < 0)
                        _exit(12);
                (void) journal_file_append(j, p[1], sizes[1]);
                _exit(13); /* the crash point did not fire */
        }

        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* A group commit: one call, the same records as one append each; a batch
 * with one bad member appends none of it. */
static void test_append_many(void **state) {
        Fixture *f = *state;
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        JournalPayload p[50];
        uint8_t *data[50];
        uint64_t expected_size = JOURNAL_FILE_HEADER_SIZE, n_records, dropped;
        Records r = {};

        for (size_t i = 0; i < ELEMENTSOF(p); i++) {
                data[i] = payload_make(i, payload_size(i));
                p[i] = (JournalPayload) { .data = data[i], .size = payload_size(i) };
                expected_size += journal_record_size(payload_size(i));
        }
        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(journal_file_append_many(j, p, 0), 0);
        assert_int_equal(journal_file_append_many(j, p, 20), 0);
        assert_int_equal(journal_file_append_many(j, p + 20, 30), 0);
        assert_int_equal(journal_file_n_records(j), 50);
        assert_int_equal(journal_file_size(j), expected_size);
        assert_int_equal(file_size_of(f->path), expected_size);

        /* One too big: none of the three. */
        {
                JournalPayload bad[3] = { p[0], { .data = data[1], .size = JOURNAL_PAYLOAD_MAX + 1 }, p[2] };
                assert_int_equal(journal_file_append_many(j, bad, 3), -E2BIG);
                assert_int_equal(file_size_of(f->path), expected_size);
        }
        assert_int_equal(journal_file_replay(j, collect_cb, &r, &n_records, &dropped), 0);
        assert_int_equal(n_records, 50);
        for (size_t i = 0; i < 50; i++)
                assert_record_is_nth(&r, i, i);
        records_clear(&r);
        for (size_t i = 0; i < ELEMENTSOF(p); i++)
                free(data[i]);
}

static void test_crash_point(void **state) {
        Fixture *f = *state;
        const size_t n = 4;                                      /* records before the child runs */
        uint64_t rec = journal_record_size(payload_size(n + 1)); /* the torn record: 200-byte payload */
        const size_t torn[] = { 1, 4, 11, 12, 13, 100, (size_t) rec - 1 };

        assert_int_equal(payload_size(n + 1), 200);
        for (size_t t = 0; t < ELEMENTSOF(torn); t++) {
                _cleanup_free_ uint64_t *offsets = journal_make(f->path, n);

                crash_child(f->path, n, torn[t]);
                /* The first append made it, the torn one is cut. */
                assert_int_equal(file_size_of(f->path), offsets[n] + journal_record_size(payload_size(n)) + torn[t]);
                assert_replay(f->path, n + 1, torn[t]);
                assert_int_equal(unlink(f->path), 0);
        }

        /* torn_bytes = 0 (or >= the record): the record is whole, then we die. */
        for (size_t t = 0; t < 2; t++) {
                free(journal_make(f->path, n));

                crash_child(f->path, n, t == 0 ? 0 : (size_t) rec + 5);
                assert_replay(f->path, n + 2, 0);
                assert_int_equal(unlink(f->path), 0);
        }
}

static void test_crash_during_compaction(void **state) {
        Fixture *f = *state;
        free(journal_make(f->path, 20));
        _cleanup_free_ uint8_t *orig = NULL, *after = NULL;
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        size_t orig_size, after_size;
        char tmp_path[160];
        EmitArgs a = { .n = 20 };
        pid_t pid;
        int status;

        orig = file_read(f->path, &orig_size);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                EmitArgs c = { .n = 20, .crash = true };
                if (journal_file_open(f->path, &j) < 0 || journal_file_replay(j, NULL, NULL, NULL, NULL) < 0)
                        _exit(10);
                c.journal = j;
                (void) journal_file_compact(j, emit_even, &c);
                _exit(11);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);

        /* The journal is untouched; the half-written temp file is left. */
        snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", f->path);
        assert_true(file_exists(tmp_path));
        after = file_read(f->path, &after_size);
        assert_int_equal(after_size, orig_size);
        assert_memory_equal(after, orig, orig_size);
        assert_replay(f->path, 20, 0);

        /* The next compaction simply overwrites the leftover. */
        assert_int_equal(journal_file_open(f->path, &j), 0);
        assert_int_equal(journal_file_replay(j, NULL, NULL, NULL, NULL), 0);
        a.journal = j;
        assert_int_equal(journal_file_compact(j, emit_even, &a), 0);
        assert_false(file_exists(tmp_path));
        assert_int_equal(journal_file_n_records(j), 10);
}

/* What a power cut can leave unsynced is never more than one record's worth
 * (JOURNAL_RECORD_SIZE_MAX): replay cuts a zero tail only up to that size
 * as torn (the file's size reached the disk, its data did not), so a bigger
 * unsynced stretch (many records appended without sync, or one large group
 * commit) would come back as damage. Appends sync early to keep it so. */
static void test_unsynced_bound(void **state) {
        Fixture *f = *state;
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        const size_t big = 400 * 1024;
        _cleanup_free_ uint8_t *data = payload_make(7, big);
        JournalPayload p[6];
        uint64_t n_records, dropped;
        Records r = {};

        for (size_t i = 0; i < ELEMENTSOF(p); i++)
                p[i] = (JournalPayload) { .data = data, .size = big };
        assert_int_equal(journal_file_open(f->path, &j), 0);

        /* without sync, one record after another: the third syncs the first two */
        journal_file_set_sync(j, false);
        for (size_t i = 0; i < 6; i++) {
                assert_int_equal(journal_file_append(j, data, big), 0);
                assert_true(journal_file_unsynced(j) <= JOURNAL_RECORD_SIZE_MAX);
                assert_int_equal(journal_file_unsynced(j), (i % 2 + 1) * journal_record_size(big));
        }
        assert_int_equal(journal_file_sync(j), 0);
        assert_int_equal(journal_file_unsynced(j), 0);

        /* a group commit without sync: bounded the same way inside the batch */
        assert_int_equal(journal_file_append_many(j, p, 6), 0);
        assert_true(journal_file_unsynced(j) <= JOURNAL_RECORD_SIZE_MAX);
        assert_true(journal_file_unsynced(j) > 0);

        /* with sync: nothing left unsynced */
        journal_file_set_sync(j, true);
        assert_int_equal(journal_file_append_many(j, p, 6), 0);
        assert_int_equal(journal_file_unsynced(j), 0);
        assert_int_equal(journal_file_append(j, data, 10), 0);
        assert_int_equal(journal_file_unsynced(j), 0);

        assert_int_equal(journal_file_replay(j, collect_cb, &r, &n_records, &dropped), 0);
        assert_int_equal(n_records, 19);
        assert_int_equal(dropped, 0);
        records_clear(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_free_null),
                cmocka_unit_test_setup_teardown(test_create, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cloexec_and_lock, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_append_needs_replay, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncate_every_offset, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bitflip_last_record, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_middle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resync_every_record, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resync_many_gaps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_garbage_after_records, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversized_record, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_header, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recover_header_damage, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recover_unsupported, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recover_short_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recover_not_regular, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recover_twice, setup, teardown),
                cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
                cmocka_unit_test_setup_teardown(test_compact_failing_emit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_append_many, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unsynced_bound, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_point, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_during_compaction, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
