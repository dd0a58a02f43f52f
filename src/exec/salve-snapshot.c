/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salve-snapshot: the storage work of a snapshot step, run by salved as a
 * transient unit (salve-RUN-STEP-ATTEMPT-snapshot.service), so that
 * lvcreate, a btrfs ioctl or a slow disk blocks this process and never
 * salved's loop. One process for the whole step (look, create, prune)
 * keeps the step one unit: after a salved restart it re-attaches to that
 * unit, or, if systemd no longer knows it, runs this again, which finds
 * the snapshot by name.
 *
 *   salve-snapshot --backend lvm|btrfs --source SRC --name NAME --prefix P
 *                  [--size BYTES] [--keep N] [--destination DIR]
 *
 * 1. If NAME exists and is a snapshot of SRC: "already there". If NAME
 *    exists and is anything else: refuse (never touch what is not ours).
 * 2. Otherwise create it: lvm: `lvcreate -s -L SIZE` (classic COW) or,
 *    without a size, `lvcreate -s` of a thin LV (a thin snapshot); btrfs:
 *    `btrfs subvolume snapshot -r SRC DIR/NAME` (read-only).
 * 3. With --keep N: of the snapshots of SRC named P-PLAN-N, keep the
 *    newest N (NAME among them) and remove the rest (lvremove -y, btrfs
 *    subvolume delete).
 * Says what it found and did on stdout (the journal, under the step) and
 * exits with a SnapshotExit status (snapshot-util.h). */

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "helper-spawn.h"
#include "snapshot-util.h"
#include "string-util.h"

typedef struct Args {
        const char *backend, *source, *name, *prefix, *destination;
        uint64_t size;
        unsigned keep;
} Args;

static int parse_args(int argc, char **argv, Args *a) {
        static const struct option options[] = {
                { "backend", required_argument, NULL, 'b' },
                { "source", required_argument, NULL, 's' },
                { "name", required_argument, NULL, 'n' },
                { "prefix", required_argument, NULL, 'p' },
                { "size", required_argument, NULL, 'S' },
                { "keep", required_argument, NULL, 'k' },
                { "destination", required_argument, NULL, 'd' },
                {}
        };
        char *end;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'b': a->backend = optarg; break;
                case 's': a->source = optarg; break;
                case 'n': a->name = optarg; break;
                case 'p': a->prefix = optarg; break;
                case 'd': a->destination = optarg; break;
                case 'S':
                        a->size = strtoull(optarg, &end, 10);
                        if (*end || a->size == 0)
                                return -EINVAL;
                        break;
                case 'k': {
                        unsigned long k = strtoul(optarg, &end, 10);
                        if (*end || k < 1 || k > 100000)
                                return -EINVAL;
                        a->keep = (unsigned) k;
                        break;
                }
                default:
                        return -EINVAL;
                }
        if (optind != argc || !a->backend || !a->source || !a->name || !a->prefix)
                return -EINVAL;
        if (!snapshot_name_is_valid(a->name) || !snapshot_name_matches(a->name, a->prefix, NULL))
                return -EINVAL;
        return 0;
}

/* ---- lvm ---- */

static int lvm_list(const char *vg, char **ret) {
        char *argv[] = { (char *) "lvs", (char *) "--noheadings", (char *) "--separator", (char *) "|",
                         (char *) "-o", (char *) "lv_name,origin,lv_time,segtype", (char *) "--config",
                         (char *) "report/time_format=\"%s\"", (char *) vg, NULL };
        int r = helper_spawn(argv, NULL, ret);

        if (r < 0)
                printf("cannot run lvs: %s\n", strerror(-r));
        else if (r != 0) {
                printf("lvs %s exited with status %d\n", vg, r);
                free(*ret);
                *ret = NULL;
        }
        return r;
}

static int lvm_prune(const Args *a, const char *vg, const char *lv) {
        _cleanup_free_ char *listing = NULL;
        SnapshotEntry *e = NULL;
        size_t n = 0;
        int r, failed = 0;

        if (lvm_list(vg, &listing) != 0)
                return -EIO;
        r = snapshot_parse_lvs(listing, lv, &e, &n);
        if (r >= 0)
                r = snapshot_select_prune(e, n, a->prefix, a->name, a->keep);
        if (r < 0) {
                printf("cannot read the snapshots of %s/%s from lvs: %s\n", vg, lv, strerror(-r));
                snapshot_entries_free(e, n);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *full = NULL;
                if (!e[i].prune)
                        continue;
                if (asprintf(&full, "%s/%s", vg, e[i].name) < 0) {
                        failed = -ENOMEM;
                        continue;
                }
                char *argv[] = { (char *) "lvremove", (char *) "-y", full, NULL };
                r = helper_spawn(argv, NULL, NULL);
                if (r == 0)
                        printf("removed %s (keep: %u)\n", full, a->keep);
                else {
                        printf("lvremove %s failed (%s %d)\n", full, r < 0 ? "error" : "status", r);
                        failed = -EIO;
                }
        }
        snapshot_entries_free(e, n);
        return failed;
}

static int do_lvm(const Args *a) {
        _cleanup_free_ char *vg = NULL, *listing = NULL, *origin = NULL, *segtype = NULL, *size = NULL,
                            *full = NULL, *src = NULL;
        const char *slash = strchr(a->source, '/');
        const char *lv;
        bool created = false;
        int r;

        if (!slash || slash == a->source || !slash[1] || strchr(slash + 1, '/'))
                return SNAPSHOT_EXIT_USAGE;
        vg = strndup(a->source, (size_t) (slash - a->source));
        lv = slash + 1;
        if (!vg || asprintf(&full, "%s/%s", vg, a->name) < 0)
                return SNAPSHOT_EXIT_TOOL;

        if (lvm_list(vg, &listing) != 0)
                return SNAPSHOT_EXIT_TOOL;

        /* 1. already there? */
        r = snapshot_lvs_find(listing, a->name, &origin, NULL);
        if (r < 0)
                return SNAPSHOT_EXIT_TOOL;
        if (r > 0) {
                if (!streq(origin, lv)) {
                        printf("%s exists and is not a snapshot of %s (origin: \"%s\"); not touching it\n", full,
                               a->source, origin);
                        return SNAPSHOT_EXIT_NOT_OURS;
                }
                printf("snapshot %s of %s already there\n", full, a->source);
        } else {
                free(origin);
                origin = NULL;
                r = snapshot_lvs_find(listing, lv, &origin, &segtype);
                if (r < 0)
                        return SNAPSHOT_EXIT_TOOL;
                if (r == 0) {
                        printf("no logical volume %s\n", a->source);
                        return SNAPSHOT_EXIT_NO_SOURCE;
                }
                /* 2. create: classic with a size, thin without. */
                if (asprintf(&src, "%s/%s", vg, lv) < 0)
                        return SNAPSHOT_EXIT_TOOL;
                if (a->size > 0) {
                        /* lvcreate rounds up to the extent size; KiB, rounded up, is exact enough. */
                        if (asprintf(&size, "%" PRIu64 "k", (a->size + 1023) / 1024) < 0)
                                return SNAPSHOT_EXIT_TOOL;
                        char *argv[] = { (char *) "lvcreate", (char *) "--snapshot", (char *) "--size", size,
                                         (char *) "--name", (char *) a->name, src, NULL };
                        printf("creating classic snapshot %s of %s (COW size %s)\n", full, src, size);
                        r = helper_spawn(argv, NULL, NULL);
                } else if (streq(segtype, "thin")) {
                        char *argv[] = { (char *) "lvcreate", (char *) "--snapshot", (char *) "--name",
                                         (char *) a->name, src, NULL };
                        printf("creating thin snapshot %s of %s\n", full, src);
                        r = helper_spawn(argv, NULL, NULL);
                } else {
                        printf("%s is a %s LV, not thin: a classic snapshot needs with.size\n", src, segtype);
                        return SNAPSHOT_EXIT_NEEDS_SIZE;
                }
                if (r != 0) {
                        printf("lvcreate failed (%s %d)\n", r < 0 ? "error" : "status", r);
                        return r == -ENOENT ? SNAPSHOT_EXIT_TOOL : SNAPSHOT_EXIT_CREATE_FAILED;
                }
                printf("snapshot %s of %s created\n", full, src);
                created = true;
        }

        /* 3. retention */
        if (a->keep > 0 && lvm_prune(a, vg, lv) < 0)
                return created ? SNAPSHOT_EXIT_CREATED_PRUNE_FAILED : SNAPSHOT_EXIT_EXISTS_PRUNE_FAILED;
        return created ? SNAPSHOT_EXIT_CREATED : SNAPSHOT_EXIT_EXISTS;
}

/* ---- btrfs ---- */

#define BTRFS_SUBVOL_INO 256    /* BTRFS_FIRST_FREE_OBJECTID: every subvolume's root directory */

/* 1: a btrfs subvolume, with its info; 0: exists but is not one; -errno. */
static int btrfs_subvol_info(int dirfd, const char *path, struct btrfs_ioctl_get_subvol_info_args *ret) {
        struct statfs sfs;
        struct stat st;
        int fd, r;

        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOTDIR || errno == ELOOP ? 0 : -errno;
        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if ((uint32_t) sfs.f_type != (uint32_t) BTRFS_SUPER_MAGIC || st.st_ino != BTRFS_SUBVOL_INO) {
                close(fd);
                return 0;
        }
        memset(ret, 0, sizeof(*ret));
        r = ioctl(fd, BTRFS_IOC_GET_SUBVOL_INFO, ret) < 0 ? -errno : 1;
        close(fd);
        return r;
}

static int btrfs_prune(const Args *a, const char *dest, const struct btrfs_ioctl_get_subvol_info_args *source) {
        SnapshotEntry *e = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;
        int r = 0, failed = 0;

        d = opendir(dest);
        if (!d) {
                printf("cannot list %s: %m\n", dest);
                return -errno;
        }
        while ((de = readdir(d))) {
                struct btrfs_ioctl_get_subvol_info_args info;
                SnapshotEntry *p;
                if (!snapshot_name_matches(de->d_name, a->prefix, NULL))
                        continue;
                r = btrfs_subvol_info(dirfd(d), de->d_name, &info);
                if (r < 0) {
                        printf("cannot read %s/%s: %s\n", dest, de->d_name, strerror(-r));
                        failed = r;
                        continue;
                }
                /* Only snapshots of this very source. */
                if (r == 0 || memcmp(info.parent_uuid, source->uuid, BTRFS_UUID_SIZE) != 0)
                        continue;
                p = realloc(e, (n + 1) * sizeof(*e));
                if (!p || !(p[n].name = strdup(de->d_name))) {
                        e = p ?: e;
                        failed = -ENOMEM;
                        break;
                }
                e = p;
                e[n].created = (usec_t) info.otime.sec * USEC_PER_SEC + info.otime.nsec / 1000;
                e[n].prune = false;
                n++;
        }
        closedir(d);
        r = snapshot_select_prune(e, n, a->prefix, a->name, a->keep);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *path = NULL;
                if (!e[i].prune)
                        continue;
                if (asprintf(&path, "%s/%s", dest, e[i].name) < 0) {
                        failed = -ENOMEM;
                        continue;
                }
                char *argv[] = { (char *) "btrfs", (char *) "subvolume", (char *) "delete", path, NULL };
                int k = helper_spawn(argv, NULL, NULL);
                if (k == 0)
                        printf("removed %s (keep: %u)\n", path, a->keep);
                else {
                        printf("btrfs subvolume delete %s failed (%s %d)\n", path, k < 0 ? "error" : "status", k);
                        failed = -EIO;
                }
        }
        snapshot_entries_free(e, n);
        return r < 0 ? r : failed;
}

static int do_btrfs(const Args *a) {
        struct btrfs_ioctl_get_subvol_info_args source, target;
        _cleanup_free_ char *dest = NULL, *path = NULL;
        bool created = false;
        int r;

        if (a->source[0] != '/')
                return SNAPSHOT_EXIT_USAGE;
        r = btrfs_subvol_info(AT_FDCWD, a->source, &source);
        if (r <= 0) {
                if (r < 0)
                        printf("%s: %s\n", a->source, strerror(-r));
                else
                        printf("%s is not a btrfs subvolume\n", a->source);
                return SNAPSHOT_EXIT_NO_SOURCE;
        }
        if (a->destination)
                dest = strdup(a->destination);
        else {
                const char *s = strrchr(a->source, '/');
                dest = s == a->source ? strdup("/") : strndup(a->source, (size_t) (s - a->source));
        }
        if (!dest || asprintf(&path, "%s%s%s", dest, string_has_suffix(dest, "/") ? "" : "/", a->name) < 0)
                return SNAPSHOT_EXIT_TOOL;

        /* 1. already there? */
        r = btrfs_subvol_info(AT_FDCWD, path, &target);
        if (r == 0 || (r < 0 && r != -ENOENT)) {
                printf("%s exists and is not a btrfs subvolume (%s); not touching it\n", path,
                       r < 0 ? strerror(-r) : "a plain file or directory");
                return SNAPSHOT_EXIT_NOT_OURS;
        }
        if (r > 0) {
                if (memcmp(target.parent_uuid, source.uuid, BTRFS_UUID_SIZE) != 0) {
                        printf("%s is a subvolume but not a snapshot of %s; not touching it\n", path, a->source);
                        return SNAPSHOT_EXIT_NOT_OURS;
                }
                printf("snapshot %s of %s already there\n", path, a->source);
        } else {
                /* 2. create, read-only: a snapshot to go back to is not for writing. */
                char *argv[] = { (char *) "btrfs", (char *) "subvolume", (char *) "snapshot", (char *) "-r",
                                 (char *) a->source, path, NULL };
                r = helper_spawn(argv, NULL, NULL);
                if (r != 0) {
                        printf("btrfs subvolume snapshot failed (%s %d)\n", r < 0 ? "error" : "status", r);
                        return r == -ENOENT ? SNAPSHOT_EXIT_TOOL : SNAPSHOT_EXIT_CREATE_FAILED;
                }
                printf("snapshot %s of %s created\n", path, a->source);
                created = true;
        }

        /* 3. retention */
        if (a->keep > 0 && btrfs_prune(a, dest, &source) < 0)
                return created ? SNAPSHOT_EXIT_CREATED_PRUNE_FAILED : SNAPSHOT_EXIT_EXISTS_PRUNE_FAILED;
        return created ? SNAPSHOT_EXIT_CREATED : SNAPSHOT_EXIT_EXISTS;
}

int main(int argc, char **argv) {
        Args a = {};
        int r;

        /* Line by line into the journal, in order with the tools' output. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (parse_args(argc, argv, &a) < 0) {
                fprintf(stderr, "usage: salve-snapshot --backend lvm|btrfs --source SRC --name NAME --prefix P "
                                "[--size BYTES] [--keep N] [--destination DIR]\n");
                return SNAPSHOT_EXIT_USAGE;
        }
        if (streq(a.backend, "lvm"))
                r = do_lvm(&a);
        else if (streq(a.backend, "btrfs"))
                r = do_btrfs(&a);
        else
                r = SNAPSHOT_EXIT_USAGE;
        return r;
}
