/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fs.check and fs.mount's pure logic (src/exec/fs-util.c): fsck's exit
 * bits, the checker's command line, mount unit names (against what
 * systemd-escape --path gives), and the read-only probe on real ext4
 * image files made with mkfs.ext4 and made dirty with debugfs, with a
 * fixture mountinfo. Needs no root and no block device; skips (77) without
 * mkfs.ext4 and debugfs. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "fs-util.h"
#include "macro.h"
#include "strv.h"

static char tmpdir[] = "/tmp/salve-test-fs-XXXXXX";

static void test_exit_bits(void **state) {
        char buf[512];

        assert_true(fs_fsck_exit_ok(0, buf, sizeof(buf)));
        assert_string_equal(buf, "exit status 0: no errors");
        assert_true(fs_fsck_exit_ok(1, buf, sizeof(buf)));
        assert_string_equal(buf, "exit status 1: errors corrected");
        /* Corrected on a mounted filesystem: nothing may use it before a reboot. */
        assert_false(fs_fsck_exit_ok(2, buf, sizeof(buf)));
        assert_non_null(strstr(buf, "reboot"));
        assert_false(fs_fsck_exit_ok(3, buf, sizeof(buf)));
        assert_non_null(strstr(buf, "errors corrected; errors corrected, but the filesystem is mounted"));
        assert_false(fs_fsck_exit_ok(4, buf, sizeof(buf)));
        assert_string_equal(buf, "exit status 4: errors left uncorrected");
        assert_false(fs_fsck_exit_ok(8, buf, sizeof(buf)));
        assert_non_null(strstr(buf, "operational error"));
        assert_false(fs_fsck_exit_ok(12, buf, sizeof(buf)));
        assert_string_equal(buf, "exit status 12: errors left uncorrected; operational error (it could not check the "
                                 "filesystem)");
        assert_false(fs_fsck_exit_ok(16, buf, sizeof(buf)));
        assert_non_null(strstr(buf, "usage or syntax error"));
        assert_false(fs_fsck_exit_ok(32, buf, sizeof(buf)));
        assert_non_null(strstr(buf, "cancelled"));
        assert_false(fs_fsck_exit_ok(128, buf, sizeof(buf)));
        assert_non_null(strstr(buf, "shared-library error"));
        assert_false(fs_fsck_exit_ok(64, buf, sizeof(buf)));
        assert_non_null(strstr(buf, "unknown bits 0x40"));
        assert_false(fs_fsck_exit_ok(-1, buf, sizeof(buf)));
        assert_false(fs_fsck_exit_ok(256, buf, sizeof(buf)));
        /* A short buffer is cut, not overrun. */
        char small[8];
        assert_false(fs_fsck_exit_ok(255, small, sizeof(small)));
        assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void assert_argv(const char *fstype, FsRepair repair, const char *expect) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *joined = NULL;

        assert_int_equal(fs_fsck_argv(fstype, repair, "/dev/md0", &argv), 0);
        joined = strv_join(argv, " ");
        assert_string_equal(joined, expect);
}

static void test_argv(void **state) {
        char **argv = NULL;

        assert_argv("ext4", FS_REPAIR_PREEN, "e2fsck -p -- /dev/md0");
        assert_argv("ext3", FS_REPAIR_YES, "e2fsck -y -- /dev/md0");
        /* Read-only: forced, or the superblock's "clean" would end it. */
        assert_argv("ext2", FS_REPAIR_NO, "e2fsck -n -f -- /dev/md0");
        assert_argv("xfs", FS_REPAIR_PREEN, "fsck -T -t xfs -a -- /dev/md0");
        assert_argv("vfat", FS_REPAIR_NO, "fsck -T -t vfat -n -- /dev/md0");
        assert_argv("btrfs", FS_REPAIR_YES, "fsck -T -t btrfs -y -- /dev/md0");
        /* Types fsck would take for options or lists. */
        assert_int_equal(fs_fsck_argv("-n", FS_REPAIR_PREEN, "/dev/md0", &argv), -EINVAL);
        assert_int_equal(fs_fsck_argv("noext4,xfs", FS_REPAIR_PREEN, "/dev/md0", &argv), -EINVAL);
        assert_int_equal(fs_fsck_argv("", FS_REPAIR_PREEN, "/dev/md0", &argv), -EINVAL);
        assert_int_equal(fs_fsck_argv("ext4", _FS_REPAIR_INVALID, "/dev/md0", &argv), -EINVAL);
        assert_null(argv);

        assert_int_equal(fs_repair_from_string("no"), FS_REPAIR_NO);
        assert_int_equal(fs_repair_from_string("preen"), FS_REPAIR_PREEN);
        assert_int_equal(fs_repair_from_string("yes"), FS_REPAIR_YES);
        assert_int_equal(fs_repair_from_string("always"), _FS_REPAIR_INVALID);
        assert_true(fs_type_is_ext("ext4"));
        assert_false(fs_type_is_ext("ext4dev2"));
}

static void assert_unit(const char *where, const char *expect) {
        _cleanup_free_ char *name = NULL;

        assert_int_equal(fs_mount_unit_name(where, &name), 0);
        assert_string_equal(name, expect);
}

static void test_mount_unit_name(void **state) {
        char *name = NULL, longpath[400];

        /* As `systemd-escape --path --suffix=mount` (systemd 252). */
        assert_unit("/", "-.mount");
        assert_unit("/srv", "srv.mount");
        assert_unit("/srv/my-data", "srv-my\\x2ddata.mount");
        assert_unit("/home/.cache", "home-.cache.mount");
        assert_unit("/.hidden", "\\x2ehidden.mount");
        assert_unit("/a b", "a\\x20b.mount");
        assert_unit("/\xc3\xbc", "\\xc3\\xbc.mount");
        assert_unit("/a\\b", "a\\x5cb.mount");
        assert_unit("/x:y_z.w", "x:y_z.w.mount");
        assert_unit("/var/lib/db", "var-lib-db.mount");

        assert_int_equal(fs_mount_unit_name("srv", &name), -EINVAL);
        assert_int_equal(fs_mount_unit_name("/srv/", &name), -EINVAL);
        assert_int_equal(fs_mount_unit_name("/srv//a", &name), -EINVAL);
        assert_int_equal(fs_mount_unit_name("/srv/../etc", &name), -EINVAL);
        assert_int_equal(fs_mount_unit_name("/srv/.", &name), -EINVAL);
        memset(longpath, 'a', sizeof(longpath) - 1);
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = 0;
        assert_int_equal(fs_mount_unit_name(longpath, &name), -ENAMETOOLONG);
        assert_null(name);
}

/* ---- on image files ---- */

static int run(const char *cmd) {
        int r = system(cmd);
        return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* Makes NAME.img in the temp dir: a fresh ext4, then debugfs's request (or none). */
static void make_image(const char *name, const char *debugfs_request, char *path, size_t size) {
        char cmd[1024];

        snprintf(path, size, "%s/%s.img", tmpdir, name);
        snprintf(cmd, sizeof(cmd), "truncate -s 16M '%s' && mkfs.ext4 -q -F -L %s '%s' >/dev/null 2>&1", path, name,
                 path);
        assert_int_equal(run(cmd), 0);
        if (debugfs_request) {
                snprintf(cmd, sizeof(cmd), "debugfs -w -R '%s' '%s' >/dev/null 2>&1", debugfs_request, path);
                assert_int_equal(run(cmd), 0);
        }
}

static void test_ext_probe(void **state) {
        char path[512], buf[1024];
        FsExtState s;

        make_image("clean", NULL, path, sizeof(path));
        assert_int_equal(fs_ext_probe(path, &s), 0);
        assert_true(s.valid && !s.errors && !s.needs_recovery && s.has_journal);
        assert_true(fs_ext_is_clean(&s));
        fs_ext_describe(&s, 0, buf, sizeof(buf));
        assert_string_equal(buf, "clean");

        /* Not cleanly unmounted (as e2fsck: "was not cleanly unmounted, check forced"). */
        make_image("unclean", "ssv state 0", path, sizeof(path));
        assert_int_equal(fs_ext_probe(path, &s), 0);
        assert_false(s.valid);
        assert_false(fs_ext_is_clean(&s));
        fs_ext_describe(&s, 0, buf, sizeof(buf));
        assert_string_equal(buf, "needs recovery (not cleanly unmounted)");

        make_image("errors", "ssv state 3", path, sizeof(path));
        assert_int_equal(fs_ext_probe(path, &s), 0);
        assert_true(s.valid && s.errors);
        fs_ext_describe(&s, 0, buf, sizeof(buf));
        assert_string_equal(buf, "needs recovery (errors recorded by the kernel)");

        /* An unclean shutdown of a journalled ext4: the journal needs replaying. */
        make_image("journal", "feature needs_recovery", path, sizeof(path));
        assert_int_equal(fs_ext_probe(path, &s), 0);
        assert_true(s.valid && s.needs_recovery);
        fs_ext_describe(&s, 0, buf, sizeof(buf));
        assert_string_equal(buf, "needs recovery (the journal needs replaying)");

        make_image("count", "ssv error_count 3", path, sizeof(path));
        assert_int_equal(fs_ext_probe(path, &s), 0);
        assert_int_equal(s.error_count, 3);
        fs_ext_describe(&s, 0, buf, sizeof(buf));
        assert_string_equal(buf, "needs recovery (3 errors since the last check)");

        make_image("due", "ssv max_mnt_count 5", path, sizeof(path));
        snprintf(buf, sizeof(buf), "debugfs -w -R 'ssv mnt_count 5' '%s' >/dev/null 2>&1", path);
        assert_int_equal(run(buf), 0);
        assert_int_equal(fs_ext_probe(path, &s), 0);
        fs_ext_describe(&s, 0, buf, sizeof(buf));
        assert_string_equal(buf, "clean; periodic check due (mounted 5 times, limit 5)");

        /* The probe wrote nothing: e2fsck still finds the image as debugfs left it. */
        snprintf(buf, sizeof(buf), "e2fsck -n '%s/unclean.img' 2>&1 | grep -q 'was not cleanly unmounted'", tmpdir);
        assert_int_equal(run(buf), 0);

        /* Not ext. */
        snprintf(path, sizeof(path), "%s/zeros.img", tmpdir);
        snprintf(buf, sizeof(buf), "truncate -s 1M '%s'", path);
        assert_int_equal(run(buf), 0);
        assert_true(fs_ext_probe(path, &s) < 0);
        snprintf(path, sizeof(path), "%s/nothing.img", tmpdir);
        assert_int_equal(fs_ext_probe(path, &s), -ENOENT);
}

static void write_mountinfo(const char *file, const char *image, const char *super_opts) {
        FILE *f = fopen(file, "we");

        assert_non_null(f);
        fprintf(f, "22 1 0:21 / / rw,relatime shared:1 - tmpfs tmpfs rw\n");
        fprintf(f, "40 22 7:99 / /srv/other rw,relatime shared:2 - ext4 /dev/loop99 rw\n");
        if (image)
                /* Mounted twice: a read-only bind first, then the filesystem's own mount. */
                fprintf(f, "41 22 7:98 / /srv/ro-bind ro,relatime shared:3 - ext4 %s %s\n"
                           "42 22 7:98 / /srv/data rw,relatime shared:4 - ext4 %s %s\n",
                        image, super_opts, image, super_opts);
        fclose(f);
}

static void test_probe(void **state) {
        char image[512], mountinfo[512];
        FsProbeReport r;

        make_image("probe", "ssv state 0", image, sizeof(image));
        snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", tmpdir);

        /* Not mounted: type, and the superblock's word. */
        write_mountinfo(mountinfo, NULL, NULL);
        assert_int_equal(fs_probe(&(FsProbeRequest) { .spec = image, .where = "/srv/data", .mountinfo = mountinfo,
                                                      .ext_state = true }, &r), 0);
        assert_int_equal(r.error, 0);
        assert_string_equal(r.device, image);
        assert_int_equal(r.devno, 0);
        assert_string_equal(r.fstype, "ext4");
        assert_false(r.mounted.found);
        assert_false(r.at_where.found);
        assert_true(r.have_ext);
        assert_false(r.ext.valid);

        /* Mounted read-only (the superblock's ro), twice. */
        write_mountinfo(mountinfo, image, "ro");
        assert_int_equal(fs_probe(&(FsProbeRequest) { .spec = image, .where = "/srv/data", .mountinfo = mountinfo,
                                                      .ext_state = true }, &r), 0);
        assert_int_equal(r.error, 0);
        assert_true(r.mounted.found && r.mounted.read_only);
        assert_string_equal(r.mounted.target, "/srv/data");
        assert_true(r.at_where.found);
        assert_true(fs_mount_is_device(&r.at_where, &r));
        assert_true(r.have_ext);

        /* Read-write: the read-write mount is the one reported, and the
         * superblock is not read (it changes under the reader). */
        write_mountinfo(mountinfo, image, "rw,errors=remount-ro");
        assert_int_equal(fs_probe(&(FsProbeRequest) { .spec = image, .where = "/srv/other", .mountinfo = mountinfo,
                                                      .ext_state = true }, &r), 0);
        assert_int_equal(r.error, 0);
        assert_true(r.mounted.found);
        assert_false(r.mounted.read_only);
        assert_string_equal(r.mounted.target, "/srv/data");
        assert_false(r.have_ext);
        /* Something else is mounted at /srv/other. */
        assert_true(r.at_where.found);
        assert_false(fs_mount_is_device(&r.at_where, &r));
        assert_string_equal(r.at_where.source, "/dev/loop99");

        /* Not there. */
        assert_int_equal(fs_probe(&(FsProbeRequest) { .spec = "UUID=5a17e000-dead-4000-8000-00000000beef",
                                                      .mountinfo = mountinfo }, &r), 0);
        assert_int_equal(r.error, -ENODEV);
        assert_string_equal(r.what, "no device has UUID=5a17e000-dead-4000-8000-00000000beef");
        assert_int_equal(fs_probe(&(FsProbeRequest) { .spec = "/nonexistent/dev", .mountinfo = mountinfo }, &r), 0);
        assert_true(r.error < 0);
        assert_int_equal(fs_probe(&(FsProbeRequest) { .spec = "sda1", .mountinfo = mountinfo }, &r), 0);
        assert_int_equal(r.error, -EINVAL);
        assert_int_equal(fs_probe(&(FsProbeRequest) { .spec = "/dev/null", .mountinfo = mountinfo }, &r), 0);
        assert_int_equal(r.error, -ENOTBLK);

        /* No filesystem: the type is empty, not an error (fs.check says so). */
        snprintf(image, sizeof(image), "%s/zeros.img", tmpdir);
        {
                char cmd[600];
                snprintf(cmd, sizeof(cmd), "truncate -s 1M '%s'", image);
                assert_int_equal(run(cmd), 0);
        }
        assert_int_equal(fs_probe(&(FsProbeRequest) { .spec = image, .mountinfo = mountinfo, .ext_state = true }, &r), 0);
        assert_int_equal(r.error, 0);
        assert_string_equal(r.fstype, "");
        assert_false(r.have_ext);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exit_bits),
                cmocka_unit_test(test_argv),
                cmocka_unit_test(test_mount_unit_name),
                cmocka_unit_test(test_ext_probe),
                cmocka_unit_test(test_probe),
        };
        char cmd[600];
        int r;

        /* mkfs.ext4 and debugfs live in sbin, which a user's PATH may lack. */
        snprintf(cmd, sizeof(cmd), "%s:/usr/sbin:/sbin", getenv("PATH") ?: "/usr/bin:/bin");
        (void) setenv("PATH", cmd, 1);
        if (run("command -v mkfs.ext4 >/dev/null && command -v debugfs >/dev/null") != 0) {
                fprintf(stderr, "SKIP: needs mkfs.ext4 and debugfs (e2fsprogs)\n");
                return 77;
        }
        if (!mkdtemp(tmpdir))
                return EXIT_FAILURE;
        r = cmocka_run_group_tests(tests, NULL, NULL);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) run(cmd);
        return r;
}
