/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* fs.check and fs.mount's decisions and the device probe (see fs-util.h).
 * Nothing here writes to a device: libblkid and libext2fs open it
 * read-only, and mounts are read from mountinfo through libmount. */

#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <blkid.h>
#include <com_err.h>
#include <ext2fs/ext2fs.h>
#include <libmount.h>

#include "fs-util.h"
#include "macro.h"
#include "strv.h"

static const char *const fs_repair_table[_FS_REPAIR_MAX] = {
        [FS_REPAIR_NO] = "no",
        [FS_REPAIR_PREEN] = "preen",
        [FS_REPAIR_YES] = "yes",
};

FsRepair fs_repair_from_string(const char *s) {
        for (int i = 0; s && i < _FS_REPAIR_MAX; i++)
                if (streq(s, fs_repair_table[i]))
                        return (FsRepair) i;
        return _FS_REPAIR_INVALID;
}

const char *fs_repair_to_string(FsRepair r) {
        return r >= 0 && r < _FS_REPAIR_MAX ? fs_repair_table[r] : NULL;
}

bool fs_type_is_ext(const char *fstype) {
        return fstype && (streq(fstype, "ext2") || streq(fstype, "ext3") || streq(fstype, "ext4"));
}

/* ---- fsck's exit status ---- */

bool fs_fsck_exit_ok(int status, char *buf, size_t size) {
        static const struct {
                int bit;
                const char *text;
        } bits[] = {
                { FSCK_CORRECTED, "errors corrected" },
                { FSCK_REBOOT, "errors corrected, but the filesystem is mounted: reboot before using it" },
                { FSCK_UNCORRECTED, "errors left uncorrected" },
                { FSCK_OPERATIONAL, "operational error (it could not check the filesystem)" },
                { FSCK_USAGE, "usage or syntax error" },
                { FSCK_CANCELLED, "cancelled by request" },
                { FSCK_LIBRARY, "shared-library error" },
        };
        size_t off = 0;
        int unknown = status;

        if (size > 0)
                buf[0] = 0;
        if (status < 0 || status > 255) {
                snprintf(buf, size, "exit status %d is not fsck's", status);
                return false;
        }
        if (status == 0) {
                snprintf(buf, size, "exit status 0: no errors");
                return true;
        }
        off = (size_t) snprintf(buf, size, "exit status %d:", status);
        for (size_t i = 0; i < ELEMENTSOF(bits); i++) {
                if (!(status & bits[i].bit))
                        continue;
                unknown &= ~bits[i].bit;
                if (off < size)
                        off += (size_t) snprintf(buf + off, size - off, "%s %s", off > 0 && buf[off - 1] != ':' ? ";" : "",
                                                 bits[i].text);
        }
        if (unknown != 0 && off < size)
                (void) snprintf(buf + off, size - off, "; unknown bits 0x%x", (unsigned) unknown);
        return (status & ~FSCK_CORRECTED) == 0;
}

int fs_fsck_argv(const char *fstype, FsRepair repair, const char *device, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r = 0;

        if (!fstype || !*fstype || !device || !*device || repair < 0 || repair >= _FS_REPAIR_MAX || !ret)
                return -EINVAL;
        /* A type fsck would take as an option or a list ("-t", "nofoo,bar"). */
        if (fstype[0] == '-' || strpbrk(fstype, ", \t\n/"))
                return -EINVAL;

        if (fs_type_is_ext(fstype)) {
                r = strv_extend(&l, "e2fsck");
                if (r >= 0)
                        r = strv_extend(&l, repair == FS_REPAIR_NO ? "-n" : repair == FS_REPAIR_PREEN ? "-p" : "-y");
                if (r >= 0 && repair == FS_REPAIR_NO)
                        r = strv_extend(&l, "-f");
        } else {
                /* -T: no title line; -a is what every fsck.TYPE takes for preen. */
                const char *argv[] = { "fsck", "-T", "-t", fstype,
                                       repair == FS_REPAIR_NO ? "-n" : repair == FS_REPAIR_PREEN ? "-a" : "-y" };
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(argv); i++)
                        r = strv_extend(&l, argv[i]);
        }
        /* "--": a device name that starts with "-" is still a device. */
        if (r >= 0)
                r = strv_extend(&l, "--");
        if (r >= 0)
                r = strv_extend(&l, device);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---- mount unit names ---- */

static bool escape_keep(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
               c == '_' || c == '.';
}

int fs_mount_unit_name(const char *where, char **ret) {
        char buf[256];          /* systemd's UNIT_NAME_MAX is 255 */
        size_t off = 0, len;
        const char *p;

        if (!where || where[0] != '/' || !ret)
                return -EINVAL;
        /* Normalized: no "//", no "." or ".." component, no trailing "/". */
        len = strlen(where);
        if (strstr(where, "//") || strstr(where, "/./") || strstr(where, "/../") || (len > 1 && where[len - 1] == '/') ||
            (len >= 2 && streq(where + len - 2, "/.")) || (len >= 3 && streq(where + len - 3, "/..")))
                return -EINVAL;

        if (streq(where, "/")) {
                *ret = strdup("-.mount");
                return *ret ? 0 : -ENOMEM;
        }
        for (p = where + 1; *p; p++) {
                unsigned char c = (unsigned char) *p;
                size_t need = c == '/' || (escape_keep((char) c) && !(c == '.' && off == 0)) ? 1 : 4;

                if (off + need + strlen(".mount") >= sizeof(buf))
                        return -ENAMETOOLONG;
                if (c == '/')
                        buf[off++] = '-';
                else if (need == 1)
                        buf[off++] = (char) c;
                else
                        off += (size_t) snprintf(buf + off, sizeof(buf) - off, "\\x%02x", c);
        }
        memcpy(buf + off, ".mount", sizeof(".mount"));
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* ---- the ext superblock ---- */

static int errcode_to_errno(errcode_t e) {
        /* com_err codes of the system's own errors are errno values. */
        if (e > 0 && e < 4096)
                return -(int) e;
        return -EIO;
}

static int ext_probe(const char *path, FsExtState *ret, errcode_t *ret_code) {
        ext2_filsys fs = NULL;
        errcode_t e;

        /* No EXT2_FLAG_RW: read-only. SUPER_ONLY skips the group
         * descriptors (a damaged table must not hide the superblock's
         * word), FORCE reads a superblock with features this libext2fs does
         * not know, SKIP_MMP leaves multi-mount protection alone (that is
         * for writers), and checksum errors are reported, not fatal. */
        e = ext2fs_open2(path, NULL,
                         EXT2_FLAG_64BITS | EXT2_FLAG_SUPER_ONLY | EXT2_FLAG_FORCE | EXT2_FLAG_SKIP_MMP |
                                 EXT2_FLAG_IGNORE_CSUM_ERRORS | EXT2_FLAG_IGNORE_SB_ERRORS,
                         0, 0, unix_io_manager, &fs);
        *ret_code = e;
        if (e != 0)
                return errcode_to_errno(e);

        struct ext2_super_block *sb = fs->super;        /* the feature tests take it non-const */
        *ret = (FsExtState) {
                .valid = sb->s_state & EXT2_VALID_FS,
                .errors = sb->s_state & EXT2_ERROR_FS,
                .orphans = sb->s_state & EXT3_ORPHAN_FS,
                .needs_recovery = ext2fs_has_feature_journal_needs_recovery(sb),
                .has_journal = ext2fs_has_feature_journal(sb),
                .error_count = sb->s_error_count,
                .mnt_count = sb->s_mnt_count,
                .max_mnt_count = sb->s_max_mnt_count,
                .lastcheck = sb->s_lastcheck | ((uint64_t) sb->s_lastcheck_hi << 32),
                .checkinterval = sb->s_checkinterval,
        };
        (void) ext2fs_close_free(&fs);
        return 0;
}

int fs_ext_probe(const char *path, FsExtState *ret) {
        errcode_t e;

        if (!path || !ret)
                return -EINVAL;
        return ext_probe(path, ret, &e);
}

bool fs_ext_is_clean(const FsExtState *s) {
        return s->valid && !s->errors && !s->needs_recovery && !s->orphans && s->error_count == 0;
}

void fs_ext_describe(const FsExtState *s, uint64_t now, char *buf, size_t size) {
        char why[256] = "";
        size_t off = 0;

#define ADD(...)                                                                                        \
        do {                                                                                            \
                if (off < sizeof(why))                                                                  \
                        off += (size_t) snprintf(why + off, sizeof(why) - off, "%s", off ? ", " : ""); \
                if (off < sizeof(why))                                                                  \
                        off += (size_t) snprintf(why + off, sizeof(why) - off, __VA_ARGS__);            \
        } while (0)

        if (s->needs_recovery)
                ADD("the journal needs replaying");
        if (!s->valid)
                ADD("not cleanly unmounted");
        if (s->errors)
                ADD("errors recorded by the kernel");
        if (s->error_count > 0)
                ADD("%" PRIu32 " error%s since the last check", s->error_count, s->error_count == 1 ? "" : "s");
        if (s->orphans)
                ADD("orphan inodes being recovered");

        if (fs_ext_is_clean(s))
                snprintf(buf, size, "clean");
        else
                snprintf(buf, size, "needs recovery (%s)", why);

        /* Not a reason to call it dirty, but e2fsck -p will check it. */
        off = strlen(buf);
        if (s->max_mnt_count > 0 && s->mnt_count >= (uint16_t) s->max_mnt_count && off < size)
                snprintf(buf + off, size - off, "; periodic check due (mounted %u times, limit %d)", s->mnt_count,
                         s->max_mnt_count);
        else if (s->checkinterval > 0 && now >= s->lastcheck + s->checkinterval && off < size)
                snprintf(buf + off, size - off, "; periodic check due (interval passed)");
#undef ADD
}

/* ---- mounts ---- */

static void copy_string(char *dst, size_t size, const char *src) {
        snprintf(dst, size, "%s", src ?: "");
}

static void mount_entry_fill(FsMountEntry *m, struct libmnt_fs *fs) {
        const char *opts = mnt_fs_get_fs_options(fs);

        m->found = true;
        m->devno = mnt_fs_get_devno(fs);
        /* The superblock's options: one read-only bind mount does not make
         * the filesystem read-only. */
        m->read_only = opts && mnt_optstr_get_option(opts, "ro", NULL, NULL) == 0;
        opts = mnt_fs_get_vfs_options(fs);
        m->bind_read_only = opts && mnt_optstr_get_option(opts, "ro", NULL, NULL) == 0;
        copy_string(m->target, sizeof(m->target), mnt_fs_get_target(fs));
        copy_string(m->source, sizeof(m->source), mnt_fs_get_source(fs));
        copy_string(m->fstype, sizeof(m->fstype), mnt_fs_get_fstype(fs));
}

bool fs_mount_is_device(const FsMountEntry *m, const FsProbeReport *r) {
        char canon[PATH_MAX];

        if (!m->found)
                return false;
        if (r->devno != 0 && m->devno == r->devno)
                return true;
        if (!*m->source || m->source[0] != '/')
                return false;
        if (streq(m->source, r->device))
                return true;
        return realpath(m->source, canon) && streq(canon, r->device);
}

static int mount_rank(const FsMountEntry *m) {
        return (m->read_only ? 0 : 2) + (m->bind_read_only ? 0 : 1);
}

static int probe_mounts(const FsProbeRequest *req, FsProbeReport *r) {
        struct libmnt_table *tb = NULL;
        struct libmnt_iter *it = NULL;
        struct libmnt_fs *fs;
        const char *file = req->mountinfo;

        if (!file)
                file = access("/proc/1/mountinfo", R_OK) >= 0 ? "/proc/1/mountinfo" : "/proc/self/mountinfo";
        tb = mnt_new_table_from_file(file);
        if (!tb) {
                snprintf(r->what, sizeof(r->what), "cannot read %s", file);
                return -errno ?: -EIO;
        }
        it = mnt_new_iter(MNT_ITER_FORWARD);
        if (!it) {
                mnt_unref_table(tb);
                return -ENOMEM;
        }
        while (mnt_table_next_fs(tb, it, &fs) == 0) {
                FsMountEntry m = {};

                mount_entry_fill(&m, fs);
                /* A read-write mount of the device wins over read-only ones. */
                if (fs_mount_is_device(&m, r) && (!r->mounted.found || mount_rank(&m) > mount_rank(&r->mounted)))
                        r->mounted = m;
                /* The last mount at where is the one on top. */
                if (req->where && streq(m.target, req->where))
                        r->at_where = m;
        }
        mnt_free_iter(it);
        mnt_unref_table(tb);
        return 0;
}

/* ---- the probe ---- */

static int probe_type(FsProbeReport *r) {
        blkid_probe pr;
        const char *type = NULL;
        int k, ret = 0;

        pr = blkid_new_probe_from_filename(r->device);
        if (!pr) {
                snprintf(r->what, sizeof(r->what), "cannot open %s to identify it", r->device);
                return -errno ?: -EIO;
        }
        (void) blkid_probe_enable_superblocks(pr, 1);
        (void) blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
        k = blkid_do_safeprobe(pr);
        if (k == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0)
                copy_string(r->fstype, sizeof(r->fstype), type);
        else if (k == -2) {
                snprintf(r->what, sizeof(r->what), "%s has more than one filesystem signature", r->device);
                ret = -EUCLEAN;
        } else if (k < 0) {
                snprintf(r->what, sizeof(r->what), "cannot read %s to identify it", r->device);
                ret = -EIO;
        }
        blkid_free_probe(pr);
        return ret;
}

static int probe_resolve(const FsProbeRequest *req, FsProbeReport *r) {
        char *dev;
        struct stat st;

        if (req->spec[0] != '/' && !strchr(req->spec, '=')) {
                snprintf(r->what, sizeof(r->what), "\"%s\" is not a device", req->spec);
                return -EINVAL;
        }
        /* A path is canonicalized; a tag is looked up (udev's
         * /dev/disk/by-* first, else libblkid scans the devices). */
        dev = blkid_evaluate_spec(req->spec, NULL);
        if (!dev) {
                snprintf(r->what, sizeof(r->what), "no device %s %s", strchr(req->spec, '=') ? "has" : "is",
                         req->spec);
                return -ENODEV;
        }
        copy_string(r->device, sizeof(r->device), dev);
        free(dev);
        if (stat(r->device, &st) < 0) {
                int k = -errno;
                snprintf(r->what, sizeof(r->what), "%s: %s", r->device, strerror(-k));
                return k;
        }
        if (S_ISBLK(st.st_mode))
                r->devno = st.st_rdev;
        else if (!S_ISREG(st.st_mode)) {
                snprintf(r->what, sizeof(r->what), "%s is not a block device", r->device);
                return -ENOTBLK;
        }
        return 0;
}

int fs_probe(const FsProbeRequest *req, FsProbeReport *ret) {
        FsProbeReport *r = ret;
        int k;

        if (!req || !req->spec || !ret)
                return -EINVAL;
        memset(r, 0, sizeof(*r));

        k = probe_resolve(req, r);
        if (k >= 0)
                k = probe_mounts(req, r);
        if (k >= 0)
                k = probe_type(r);
        if (k < 0) {
                r->error = k;
                return 0;
        }
        /* A filesystem mounted read-write changes under the reader: its
         * superblock says nothing reliable, and fs.check refuses it anyway. */
        if (req->ext_state && fs_type_is_ext(r->fstype) && !(r->mounted.found && !r->mounted.read_only)) {
                errcode_t e = 0;

                k = ext_probe(r->device, &r->ext, &e);
                if (k < 0) {
                        snprintf(r->what, sizeof(r->what), "cannot read the ext superblock of %s: %s", r->device,
                                 e != 0 ? error_message(e) : strerror(-k));
                        r->error = k;
                        return 0;
                }
                r->have_ext = true;
        }
        return 0;
}
