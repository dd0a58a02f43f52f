/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salve-check-backup: the file checks of a backup.verify step, run by
 * salved as a read-only transient unit without network
 * (salve-RUN-STEP-ATTEMPT-check.service). A backup on a hung NFS mount
 * makes stat() block for good: here that blocks this unit, which the
 * step's timeout stops, and never salved's loop.
 *
 *   salve-check-backup [--max-age USEC] [--min-size BYTES] [--manifest FILE] PATH
 *
 * In this order, stopping at the first that fails: PATH exists; its age
 * (the newest mtime of the regular files at or below PATH, this
 * filesystem only, symlinks not followed) is at most --max-age; their
 * total size is at least --min-size; the manifest is a well-formed
 * sha256sum file whose entries stay inside its own directory, and
 * `sha256sum --check --strict --quiet` run there passes. Prints what it
 * measured on stdout (the journal, under the step) and exits with a
 * BackupExit status (backup-util.h). */

#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup-util.h"
#include "helper-spawn.h"
#include "string-util.h"

#define MANIFEST_MAX (64U << 20)

typedef struct Args {
        usec_t max_age;
        uint64_t min_size;
        const char *manifest;
        const char *path;
} Args;

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;

        errno = 0;
        *ret = strtoull(s, &end, 10);
        return errno || *end || !*s ? -EINVAL : 0;
}

static int parse_args(int argc, char **argv, Args *a) {
        static const struct option options[] = {
                { "max-age", required_argument, NULL, 'a' },
                { "min-size", required_argument, NULL, 's' },
                { "manifest", required_argument, NULL, 'm' },
                {}
        };
        int c;

        a->max_age = USEC_INFINITY;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        if (parse_u64(optarg, &a->max_age) < 0)
                                return -EINVAL;
                        break;
                case 's':
                        if (parse_u64(optarg, &a->min_size) < 0)
                                return -EINVAL;
                        break;
                case 'm':
                        a->manifest = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind + 1 != argc)
                return -EINVAL;
        a->path = argv[optind];
        return a->path[0] == '/' && (!a->manifest || a->manifest[0] == '/') ? 0 : -EINVAL;
}

/* nftw has no user data pointer; the walk is this program's only one. */
static BackupFacts walk_facts;
static int walk_error;

static usec_t mtime_usec(const struct stat *st) {
        return (usec_t) st->st_mtim.tv_sec * USEC_PER_SEC + (usec_t) st->st_mtim.tv_nsec / 1000;
}

static int on_entry(const char *fpath, const struct stat *st, int type, struct FTW *ftw) {
        if (type == FTW_DNR || type == FTW_NS) {
                printf("cannot read %s\n", fpath);
                walk_error = EIO;
                return FTW_STOP;
        }
        if (type == FTW_F && S_ISREG(st->st_mode)) {
                walk_facts.files++;
                walk_facts.size += (uint64_t) st->st_size;
                walk_facts.newest = MAX(walk_facts.newest, mtime_usec(st));
        }
        return FTW_CONTINUE;
}

static int measure(const char *path, BackupFacts *ret) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                *ret = (BackupFacts) { .newest = mtime_usec(&st), .size = (uint64_t) st.st_size, .files = 1 };
                return 0;
        }
        if (!S_ISDIR(st.st_mode))
                return -EBADF;
        walk_facts = (BackupFacts) {};
        walk_error = 0;
        if (nftw(path, on_entry, 64, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL) < 0)
                return -errno;
        if (walk_error)
                return -walk_error;
        *ret = walk_facts;
        return 0;
}

static int read_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, cap = 0;
        ssize_t k;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return -errno;
        for (;;) {
                if (n + 1 >= cap) {
                        char *p;
                        if (cap >= max) {
                                close(fd);
                                return -EFBIG;
                        }
                        cap = cap ? cap * 2 : 4096;
                        p = realloc(buf, cap);
                        if (!p) {
                                close(fd);
                                return -ENOMEM;
                        }
                        buf = p;
                }
                k = read(fd, buf + n, cap - n - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        k = -errno;
                        close(fd);
                        return (int) k;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        close(fd);
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static int check_manifest(const char *manifest) {
        _cleanup_free_ char *text = NULL, *dir = NULL;
        const char *slash = strrchr(manifest, '/');
        size_t size = 0, entries = 0;
        unsigned line = 0;
        int r;

        r = read_file(manifest, MANIFEST_MAX, &text, &size);
        if (r < 0) {
                printf("cannot read the manifest %s: %s\n", manifest, strerror(-r));
                return r == -ENOENT ? BACKUP_EXIT_MANIFEST_BAD : BACKUP_EXIT_IO;
        }
        r = backup_manifest_lint(text, size, &entries, &line);
        if (r == -ENODATA) {
                printf("the manifest %s lists no files\n", manifest);
                return BACKUP_EXIT_MANIFEST_BAD;
        }
        if (r == -EPERM) {
                printf("the manifest %s, line %u: an entry outside the manifest's directory (absolute, or with ..)\n",
                       manifest, line);
                return BACKUP_EXIT_MANIFEST_BAD;
        }
        if (r < 0) {
                printf("the manifest %s, line %u: not a sha256sum line (\"HASH  NAME\")\n", manifest, line);
                return BACKUP_EXIT_MANIFEST_BAD;
        }

        dir = slash == manifest ? strdup("/") : strndup(manifest, (size_t) (slash - manifest));
        if (!dir)
                return BACKUP_EXIT_IO;
        char *argv[] = { (char *) "sha256sum", (char *) "--check", (char *) "--strict", (char *) "--quiet",
                         (char *) "--", (char *) slash + 1, NULL };
        printf("checking %zu files against %s\n", entries, manifest);
        r = helper_spawn(argv, dir, NULL);
        if (r == 0) {
                printf("manifest %s: all %zu files match\n", manifest, entries);
                return BACKUP_EXIT_OK;
        }
        if (r == 1) {
                printf("manifest %s: sha256sum found files that are missing or differ (above)\n", manifest);
                return BACKUP_EXIT_MISMATCH;
        }
        printf("sha256sum did not run properly (%s %d)\n", r < 0 ? "error" : "status", r < 0 ? -r : r);
        return BACKUP_EXIT_TOOL;
}

int main(int argc, char **argv) {
        Args a = {};
        BackupFacts f;
        char d[FORMAT_DURATION_MAX], m[FORMAT_DURATION_MAX];
        usec_t age = 0;
        int r;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (parse_args(argc, argv, &a) < 0) {
                fprintf(stderr, "usage: salve-check-backup [--max-age USEC] [--min-size BYTES] [--manifest FILE] PATH\n");
                return BACKUP_EXIT_USAGE;
        }

        r = measure(a.path, &f);
        if (r == -ENOENT || r == -ENOTDIR) {
                printf("%s does not exist\n", a.path);
                return BACKUP_EXIT_MISSING;
        }
        if (r == -EBADF) {
                printf("%s is neither a regular file nor a directory\n", a.path);
                return BACKUP_EXIT_MISSING;
        }
        if (r < 0) {
                printf("cannot read %s: %s\n", a.path, strerror(-r));
                return BACKUP_EXIT_IO;
        }

        if (a.max_age != USEC_INFINITY || a.min_size > 0) {
                r = backup_judge_age(&f, now_usec(CLOCK_REALTIME), a.max_age, &age);
                if (r == BACKUP_EXIT_EMPTY) {
                        printf("%s holds no regular files\n", a.path);
                        return r;
                }
                printf("%s: %" PRIu64 " files, %" PRIu64 " bytes, newest modified %s ago\n", a.path, f.files, f.size,
                       format_duration(d, age));
        }
        if (a.max_age != USEC_INFINITY && r == BACKUP_EXIT_TOO_OLD) {
                printf("%s is too old: its newest file is %s old, more than max-age %s\n", a.path, d,
                       format_duration(m, a.max_age));
                return r;
        }
        if (backup_judge_size(&f, a.min_size) == BACKUP_EXIT_TOO_SMALL) {
                printf("%s is too small: %" PRIu64 " bytes, less than min-size %" PRIu64 "\n", a.path, f.size,
                       a.min_size);
                return BACKUP_EXIT_TOO_SMALL;
        }
        if (a.manifest)
                return check_manifest(a.manifest);
        return BACKUP_EXIT_OK;
}
