/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Measures the journal file layer on a real filesystem: durable appends
 * (fdatasync each), appends without sync, replay from the page cache and,
 * best effort, from disk, and compaction. Prints one figure per line as
 * "journal.NAME: VALUE UNIT" so scripts can grep them.
 *
 * Numbers depend on the filesystem and device under --dir far more than on
 * the code: run it where the daemon keeps its state (/var/lib/salve), not on
 * a tmpfs, where fdatasync costs nothing. */

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "shared/journal-file.h"
#include "macro.h"

typedef struct Options {
        uint64_t n_records;
        uint64_t n_sync_records;
        size_t payload_size;
        const char *dir;
        bool skip_sync;
} Options;

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A JSON-looking payload of exactly size bytes, different per record. */
static void payload_fill(char *buf, size_t size, uint64_t i) {
        char head[128];
        int n = snprintf(head, sizeof(head), "{\"seq\":%" PRIu64 ",\"event\":\"step-finished\",\"data\":\"", i);
        size_t k = MIN((size_t) n, size);

        memcpy(buf, head, k);
        for (; k < size; k++)
                buf[k] = (char) ('a' + (i + k) % 26);
        if (size >= 2) {
                buf[size - 2] = '"';
                buf[size - 1] = '}';
        }
}

static int bench_append(const char *path, const Options *o, uint64_t n, bool sync, double *ret_sec) {
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        _cleanup_free_ char *buf = malloc(o->payload_size + 1);
        double t0;
        int r;

        if (!buf)
                return -ENOMEM;
        (void) unlink(path);
        r = journal_file_open(path, &j);
        if (r < 0)
                return r;
        journal_file_set_sync(j, sync);

        t0 = now_sec();
        for (uint64_t i = 0; i < n; i++) {
                payload_fill(buf, o->payload_size, i);
                r = journal_file_append(j, buf, o->payload_size);
                if (r < 0)
                        return r;
        }
        *ret_sec = now_sec() - t0;
        return 0;
}

typedef struct ReplayStats {
        uint64_t bytes;
        uint64_t checksum;
} ReplayStats;

static int replay_cb(const void *payload, size_t size, void *userdata) {
        ReplayStats *s = userdata;

        /* Touch the payload so the replay is not measured without reading it. */
        s->bytes += size;
        if (size > 0)
                s->checksum += ((const uint8_t *) payload)[size - 1];
        return 0;
}

static int drop_cache(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        return -posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

static int bench_replay(const char *path, uint64_t *ret_n, ReplayStats *ret_stats, double *ret_sec) {
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        ReplayStats s = {};
        uint64_t dropped;
        double t0;
        int r;

        t0 = now_sec();
        r = journal_file_open(path, &j);
        if (r < 0)
                return r;
        r = journal_file_replay(j, replay_cb, &s, ret_n, &dropped);
        if (r < 0)
                return r;
        *ret_sec = now_sec() - t0;
        if (dropped != 0)
                return -EBADMSG;
        *ret_stats = s;
        return 0;
}

typedef struct CompactArgs {
        const Options *o;
        uint64_t n_emitted;
} CompactArgs;

/* Keeps every tenth record, as a run that finished most of its steps would. */
static int emit_tenth(JournalFile *tmp, void *userdata) {
        CompactArgs *a = userdata;
        _cleanup_free_ char *buf = malloc(a->o->payload_size + 1);
        int r;

        if (!buf)
                return -ENOMEM;
        for (uint64_t i = 0; i < a->o->n_records; i += 10) {
                payload_fill(buf, a->o->payload_size, i);
                r = journal_file_append(tmp, buf, a->o->payload_size);
                if (r < 0)
                        return r;
                a->n_emitted++;
        }
        return 0;
}

static int bench_compact(const char *path, const Options *o, uint64_t *ret_emitted, double *ret_sec) {
        _cleanup_(journal_file_freep) JournalFile *j = NULL;
        CompactArgs a = { .o = o };
        double t0;
        int r;

        r = journal_file_open(path, &j);
        if (r < 0)
                return r;
        r = journal_file_replay(j, NULL, NULL, NULL, NULL);
        if (r < 0)
                return r;
        t0 = now_sec();
        r = journal_file_compact(j, emit_tenth, &a);
        if (r < 0)
                return r;
        *ret_sec = now_sec() - t0;
        *ret_emitted = a.n_emitted;
        return 0;
}

static void help(void) {
        printf("bench-journal [OPTIONS]\n\n"
               "  -n --records=N       records for the unsynced append, replay and compaction runs (100000)\n"
               "  -S --sync-records=N  records for the fdatasync append run (2000)\n"
               "  -s --size=BYTES      payload size (200)\n"
               "  -d --dir=DIR         where to put the journal (/var/tmp)\n"
               "     --no-sync         skip the fdatasync run\n"
               "  -h --help\n");
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum { ARG_NO_SYNC = 0x100 };
        static const struct option options[] = {
                { "records", required_argument, NULL, 'n' },
                { "sync-records", required_argument, NULL, 'S' },
                { "size", required_argument, NULL, 's' },
                { "dir", required_argument, NULL, 'd' },
                { "no-sync", no_argument, NULL, ARG_NO_SYNC },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        uint64_t v;
        int c;

        while ((c = getopt_long(argc, argv, "n:S:s:d:h", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        if (parse_u64(optarg, &o->n_records) < 0 || o->n_records == 0)
                                return -EINVAL;
                        break;
                case 'S':
                        if (parse_u64(optarg, &o->n_sync_records) < 0 || o->n_sync_records == 0)
                                return -EINVAL;
                        break;
                case 's':
                        if (parse_u64(optarg, &v) < 0 || v > JOURNAL_PAYLOAD_MAX)
                                return -EINVAL;
                        o->payload_size = (size_t) v;
                        break;
                case 'd':
                        o->dir = optarg;
                        break;
                case ARG_NO_SYNC:
                        o->skip_sync = true;
                        break;
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                default:
                        return -EINVAL;
                }
        return 0;
}

static int fail(const char *what, int r) {
        fprintf(stderr, "bench-journal: %s: %s\n", what, strerror(-r));
        return r;
}

static int run(const Options *o, const char *path) {
        ReplayStats s;
        uint64_t n, emitted;
        double sec, mb;
        int r;

        if (!o->skip_sync) {
                r = bench_append(path, o, o->n_sync_records, true, &sec);
                if (r < 0)
                        return fail("append (sync)", r);
                printf("journal.append_sync: %.0f records/s\n", (double) o->n_sync_records / sec);
                printf("journal.append_sync_latency: %.1f us/record\n", sec * 1e6 / (double) o->n_sync_records);
        }

        r = bench_append(path, o, o->n_records, false, &sec);
        if (r < 0)
                return fail("append", r);
        mb = (double) (o->n_records * journal_record_size(o->payload_size)) / 1e6;
        printf("journal.append_nosync: %.0f records/s\n", (double) o->n_records / sec);
        printf("journal.append_nosync_bytes: %.1f MB/s\n", mb / sec);

        /* MB/s of file read, header included. */
        mb = (double) (JOURNAL_FILE_HEADER_SIZE + o->n_records * journal_record_size(o->payload_size)) / 1e6;
        r = bench_replay(path, &n, &s, &sec);
        if (r < 0)
                return fail("replay", r);
        if (n != o->n_records)
                return fail("replay", -EBADMSG);
        printf("journal.replay: %.0f records/s\n", (double) n / sec);
        printf("journal.replay_bytes: %.1f MB/s\n", mb / sec);

        /* Best effort: without the page cache, closer to a boot-time replay. */
        if (drop_cache(path) >= 0) {
                r = bench_replay(path, &n, &s, &sec);
                if (r < 0)
                        return fail("replay", r);
                printf("journal.replay_cold: %.0f records/s\n", (double) n / sec);
                printf("journal.replay_cold_bytes: %.1f MB/s\n", mb / sec);
        }

        r = bench_compact(path, o, &emitted, &sec);
        if (r < 0)
                return fail("compact", r);
        printf("journal.compact: %.0f records/s (%" PRIu64 " of %" PRIu64 " kept, %.1f ms)\n",
               (double) emitted / sec, emitted, o->n_records, sec * 1e3);
        return 0;
}

int main(int argc, char *argv[]) {
        Options o = { .n_records = 100000, .n_sync_records = 2000, .payload_size = 200, .dir = "/var/tmp" };
        char dir[4096], path[4200], tmp_path[4300];
        int r;

        if (parse_argv(argc, argv, &o) < 0) {
                help();
                return EXIT_FAILURE;
        }

        if ((size_t) snprintf(dir, sizeof(dir), "%s/bench-journal-XXXXXX", o.dir) >= sizeof(dir)) {
                fprintf(stderr, "bench-journal: --dir too long\n");
                return EXIT_FAILURE;
        }
        if (!mkdtemp(dir)) {
                (void) fail("mkdtemp", -errno);
                return EXIT_FAILURE;
        }
        snprintf(path, sizeof(path), "%s/journal", dir);
        snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path);

        printf("# dir=%s payload=%zu bytes record=%" PRIu64 " bytes records=%" PRIu64 " sync_records=%" PRIu64 "\n",
               o.dir, o.payload_size, journal_record_size(o.payload_size), o.n_records, o.n_sync_records);
        fflush(stdout);

        r = run(&o, path);

        (void) unlink(tmp_path);
        (void) unlink(path);
        (void) rmdir(dir);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
