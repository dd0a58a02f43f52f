/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The block watcher's pure parts: the uevent, sysfs and probe-result
 * parsers (src/watch/uevent-parse.c) and the device table, announcement
 * rule and resync diff (src/watch/block-table.c). The good messages are
 * copies of what this machine's kernel sent. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "block-table.h"
#include "uevent-parse.h"

/* A literal with embedded NULs, as a datagram: its length without the
 * literal's own terminator. */
#define MSG(s) s, sizeof(s) - 1

#define LOOP_ADD                                                                                           \
        "add@/devices/virtual/block/loop7300\0ACTION=add\0DEVPATH=/devices/virtual/block/loop7300\0"       \
        "SUBSYSTEM=block\0MAJOR=7\0MINOR=7300\0DEVNAME=loop7300\0DEVTYPE=disk\0DISKSEQ=36\0SEQNUM=97733\0"

static void test_message_good(void **state) {
        UEvent u;

        assert_int_equal(uevent_parse_message(MSG(LOOP_ADD), &u), 0);
        assert_int_equal(u.action, UEVENT_ADD);
        assert_string_equal(u.devpath, "/devices/virtual/block/loop7300");
        assert_string_equal(u.sysname, "loop7300");
        assert_string_equal(u.subsystem, "block");
        assert_string_equal(u.devtype, "disk");
        assert_string_equal(u.devname, "loop7300");
        assert_true(u.has_devnum);
        assert_int_equal(u.major, 7);
        assert_int_equal(u.minor, 7300);
        assert_int_equal(u.diskseq, 36);
        assert_int_equal(u.seqnum, 97733);

        /* A partition, with keys the parser does not know (kept out). */
        assert_int_equal(uevent_parse_message(MSG("change@/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1\0"
                                                  "ACTION=change\0DEVPATH=/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1\0"
                                                  "SUBSYSTEM=block\0DEVNAME=vda1\0DEVTYPE=partition\0"
                                                  "DISK_MEDIA_CHANGE=1\0PARTN=1\0PARTNAME=EFI system\0SEQNUM=5\0"
                                                  "MAJOR=254\0MINOR=1\0"), &u), 0);
        assert_int_equal(u.action, UEVENT_CHANGE);
        assert_string_equal(u.sysname, "vda1");
        assert_string_equal(u.devtype, "partition");
        assert_int_equal(u.diskseq, 0);

        /* Not a block device: parsed, and no device fields needed. */
        assert_int_equal(uevent_parse_message(MSG("add@/devices/virtual/net/v0\0ACTION=add\0DEVPATH=/devices/virtual/net/v0\0"
                                                  "SUBSYSTEM=net\0INTERFACE=v0\0IFINDEX=7\0SEQNUM=9\0"), &u), 0);
        assert_string_equal(u.subsystem, "net");
        assert_false(u.has_devnum);
}

static void test_message_bad(void **state) {
        static const struct {
                const char *m;
                size_t len;
        } bad[] = {
#define B(s) { s, sizeof(s) - 1 }
                B(""),
                B("\0"),
                B("add/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0SEQNUM=1\0"), /* no '@' */
                /* the last field not terminated */
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=1"),
                /* header unterminated */
                B("add@/devices/x"),
                /* missing ACTION, DEVPATH, SUBSYSTEM, SEQNUM */
                B("add@/devices/x\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=1\0"),
                B("add@/devices/x\0ACTION=add\0SUBSYSTEM=net\0SEQNUM=1\0"),
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SEQNUM=1\0"),
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=net\0"),
                /* header disagrees */
                B("add@/devices/x\0ACTION=remove\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=1\0"),
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/y\0SUBSYSTEM=net\0SEQNUM=1\0"),
                B("ad@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=1\0"),
                /* duplicate known key */
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SUBSYSTEM=block\0SEQNUM=1\0"),
                /* unknown action */
                B("explode@/devices/x\0ACTION=explode\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=1\0"),
                /* empty field, field without '=', empty key, bad key */
                B("add@/devices/x\0ACTION=add\0\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=1\0"),
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=1\0JUNK\0"),
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=1\0=v\0"),
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=1\0K-Y=v\0"),
                /* devpath not absolute, sysname "..", empty subsystem, bad seqnum */
                B("add@devices/x\0ACTION=add\0DEVPATH=devices/x\0SUBSYSTEM=net\0SEQNUM=1\0"),
                B("add@/devices/..\0ACTION=add\0DEVPATH=/devices/..\0SUBSYSTEM=net\0SEQNUM=1\0"),
                B("add@/devices/\0ACTION=add\0DEVPATH=/devices/\0SUBSYSTEM=net\0SEQNUM=1\0"),
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=\0SEQNUM=1\0"),
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=-1\0"),
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=01\0"),
                B("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=net\0SEQNUM=18446744073709551616\0"),
                /* block without MAJOR / MINOR / DEVNAME, or with bad ones */
                B("add@/b/sda\0ACTION=add\0DEVPATH=/b/sda\0SUBSYSTEM=block\0SEQNUM=1\0MINOR=0\0DEVNAME=sda\0"),
                B("add@/b/sda\0ACTION=add\0DEVPATH=/b/sda\0SUBSYSTEM=block\0SEQNUM=1\0MAJOR=8\0DEVNAME=sda\0"),
                B("add@/b/sda\0ACTION=add\0DEVPATH=/b/sda\0SUBSYSTEM=block\0SEQNUM=1\0MAJOR=8\0MINOR=0\0"),
                B("add@/b/sda\0ACTION=add\0DEVPATH=/b/sda\0SUBSYSTEM=block\0SEQNUM=1\0MAJOR=4096\0MINOR=0\0DEVNAME=sda\0"),
                B("add@/b/sda\0ACTION=add\0DEVPATH=/b/sda\0SUBSYSTEM=block\0SEQNUM=1\0MAJOR=8\0MINOR=1048576\0DEVNAME=sda\0"),
                B("add@/b/sda\0ACTION=add\0DEVPATH=/b/sda\0SUBSYSTEM=block\0SEQNUM=1\0MAJOR=8\0MINOR=0\0DEVNAME=../etc/passwd\0"),
                B("add@/b/sda\0ACTION=add\0DEVPATH=/b/sda\0SUBSYSTEM=block\0SEQNUM=1\0MAJOR=8\0MINOR=0\0DEVNAME=/sda\0"),
                B("add@/b/sda\0ACTION=add\0DEVPATH=/b/sda\0SUBSYSTEM=block\0SEQNUM=1\0MAJOR=8\0MINOR=0\0DEVNAME=s da\0"),
                B("add@/b/sda\0ACTION=add\0DEVPATH=/b/sda\0SUBSYSTEM=block\0SEQNUM=1\0MAJOR=8\0MINOR=0\0DEVNAME=sda\0DEVTYPE=tape\0"),
                B("add@/b/sda\0ACTION=add\0DEVPATH=/b/sda\0SUBSYSTEM=block\0SEQNUM=1\0MAJOR=8\0MINOR=0\0DEVNAME=sda\0DISKSEQ=x\0"),
#undef B
        };
        char big[UEVENT_MESSAGE_MAX + 16];
        UEvent u;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = uevent_parse_message(bad[i].m, bad[i].len, &u);
                if (r != -EBADMSG)
                        fail_msg("bad message %zu parsed as %d", i, r);
        }
        assert_int_equal(uevent_parse_message(MSG("libudev\0\xfe\xed\xca\xfe"), &u), -EPROTONOSUPPORT);

        /* Over the bound, and a value over its bound. */
        memset(big, 'A', sizeof(big));
        memcpy(big, LOOP_ADD, sizeof(LOOP_ADD) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(uevent_parse_message(big, sizeof(big), &u), -EBADMSG);
        {
                char m[UEVENT_VALUE_MAX + 256];
                size_t n = sizeof(LOOP_ADD) - 1;

                memcpy(m, LOOP_ADD, n);
                memcpy(m + n, "X=", 2);
                memset(m + n + 2, 'v', UEVENT_VALUE_MAX + 1);
                m[n + 2 + UEVENT_VALUE_MAX + 1] = '\0';
                assert_int_equal(uevent_parse_message(m, n + 2 + UEVENT_VALUE_MAX + 2, &u), -EBADMSG);
                m[n + 2 + UEVENT_VALUE_MAX] = '\0';    /* exactly the bound */
                assert_int_equal(uevent_parse_message(m, n + 2 + UEVENT_VALUE_MAX + 1, &u), 0);
        }
        /* Too many fields. */
        {
                char m[4096];
                size_t n = sizeof(LOOP_ADD) - 1;

                memcpy(m, LOOP_ADD, n);
                for (int i = 0; i < UEVENT_FIELDS_MAX; i++) {
                        memcpy(m + n, "X=1", 4);
                        n += 4;
                }
                assert_int_equal(uevent_parse_message(m, n, &u), -EBADMSG);
        }
}

static void test_sysfs(void **state) {
        char good[] = "MAJOR=7\nMINOR=0\nDEVNAME=loop0\nDEVTYPE=disk\nDISKSEQ=1\n";
        char part[] = "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nPARTN=1\n";
        char unterminated[] = "MAJOR=7\nMINOR=0\nDEVNAME=loop0";
        char nul[] = "MAJOR=7\nMINOR=0\0\nDEVNAME=loop0\n";
        char nomajor[] = "MINOR=0\nDEVNAME=loop0\n";
        char twice[] = "MAJOR=7\nMAJOR=8\nMINOR=0\nDEVNAME=loop0\n";
        char empty[] = "\n";
        UEvent u;

        assert_int_equal(uevent_parse_sysfs(good, sizeof(good) - 1, "loop0", &u), 0);
        assert_int_equal(u.major, 7);
        assert_int_equal(u.minor, 0);
        assert_string_equal(u.devname, "loop0");
        assert_string_equal(u.sysname, "loop0");
        assert_int_equal(u.diskseq, 1);
        assert_null(u.devpath);
        assert_int_equal(u.action, _UEVENT_ACTION_INVALID);
        assert_int_equal(uevent_parse_sysfs(part, sizeof(part) - 1, "vda1", &u), 0);
        assert_string_equal(u.devtype, "partition");

        assert_int_equal(uevent_parse_sysfs(unterminated, sizeof(unterminated) - 1, "loop0", &u), -EBADMSG);
        assert_int_equal(uevent_parse_sysfs(nul, sizeof(nul) - 1, "loop0", &u), -EBADMSG);
        assert_int_equal(uevent_parse_sysfs(nomajor, sizeof(nomajor) - 1, "loop0", &u), -EBADMSG);
        assert_int_equal(uevent_parse_sysfs(twice, sizeof(twice) - 1, "loop0", &u), -EBADMSG);
        assert_int_equal(uevent_parse_sysfs(empty, sizeof(empty) - 1, "loop0", &u), -EBADMSG);
        assert_int_equal(uevent_parse_sysfs(empty, 0, "loop0", &u), -EBADMSG);
        assert_int_equal(uevent_parse_sysfs(good, sizeof(good) - 1, "../x", &u), -EINVAL);
}

static void test_names(void **state) {
        assert_true(uevent_devname_is_valid("sda1"));
        assert_true(uevent_devname_is_valid("mapper/vg-root"));
        assert_true(uevent_devname_is_valid(".hidden"));
        assert_false(uevent_devname_is_valid(""));
        assert_false(uevent_devname_is_valid("."));
        assert_false(uevent_devname_is_valid(".."));
        assert_false(uevent_devname_is_valid("a/../b"));
        assert_false(uevent_devname_is_valid("a/./b"));
        assert_false(uevent_devname_is_valid("a//b"));
        assert_false(uevent_devname_is_valid("a/"));
        assert_false(uevent_devname_is_valid("/a"));
        assert_false(uevent_devname_is_valid("a\nb"));
        assert_false(uevent_devname_is_valid("a\\b"));
        assert_false(uevent_devname_is_valid("caf\xc3\xa9"));
        assert_false(uevent_sysname_is_valid("mapper/x"));
        assert_true(uevent_sysname_is_valid("cciss!c0d0"));
}

static void test_probe_result(void **state) {
        char buf[4096];
        ProbeResult in = { .status = 0, .fs_type = "ext4", .uuid = "5a17e000-0000-4000-8000-000000000001",
                           .label = "a=b c\nd", .partuuid = NULL }, out;
        int n;

        n = probe_result_format(buf, sizeof(buf), &in);
        assert_true(n > 0);
        assert_int_equal(probe_result_parse(buf, (size_t) n, &out), 0);
        assert_int_equal(out.status, 0);
        assert_string_equal(out.fs_type, "ext4");
        assert_string_equal(out.uuid, in.uuid);
        assert_string_equal(out.label, "a=b c\nd");
        assert_null(out.partuuid);

        in = (ProbeResult) { .status = -ENOENT };
        n = probe_result_format(buf, sizeof(buf), &in);
        assert_int_equal(probe_result_parse(buf, (size_t) n, &out), 0);
        assert_int_equal(out.status, -ENOENT);
        assert_null(out.fs_type);

        assert_int_equal(probe_result_format(buf, 4, &in), -ENOBUFS);
        in = (ProbeResult) { .status = 2 };
        assert_int_equal(probe_result_format(buf, sizeof(buf), &in), -EINVAL);

        assert_int_equal(probe_result_parse(MSG("TYPE=ext4\0"), &out), -EBADMSG);                /* no STATUS */
        assert_int_equal(probe_result_parse(MSG("STATUS=0\0TYPE=ext4\0TYPE=xfs\0"), &out), -EBADMSG);
        assert_int_equal(probe_result_parse(MSG("STATUS=0\0COLOR=red\0"), &out), -EBADMSG);      /* unknown */
        assert_int_equal(probe_result_parse(MSG("STATUS=1\0TYPE=ext4\0"), &out), -EBADMSG);      /* nothing, but */
        assert_int_equal(probe_result_parse(MSG("STATUS=0\0TYPE=\0"), &out), -EBADMSG);
        assert_int_equal(probe_result_parse(MSG("STATUS=-0\0"), &out), -EBADMSG);
        assert_int_equal(probe_result_parse(MSG("STATUS=2\0"), &out), -EBADMSG);
        assert_int_equal(probe_result_parse(MSG("STATUS=0\0TYPE=ext4"), &out), -EBADMSG);
        assert_int_equal(probe_result_parse(MSG("STATUS=1\0"), &out), 0);
        assert_int_equal(out.status, 1);
}

static BlockDevice *dev(unsigned major, unsigned minor, const char *name) {
        BlockDevice *d;

        assert_int_equal(block_device_new(major, minor, name, name, &d), 0);
        return d;
}

static void test_table(void **state) {
        BlockTable t = {};
        BlockDevice *a = dev(8, 16, "sdb"), *b = dev(7, 0, "loop0"), *c = dev(8, 0, "sda"), *x;

        assert_string_equal(a->node, "/dev/sdb");
        assert_int_equal(block_table_insert(&t, a), 0);
        assert_int_equal(block_table_insert(&t, b), 0);
        assert_int_equal(block_table_insert(&t, c), 0);
        x = dev(8, 0, "other");
        assert_int_equal(block_table_insert(&t, x), -EEXIST);
        block_device_free(x);
        assert_int_equal(t.n, 3);
        assert_ptr_equal(t.devices[0], b);      /* sorted by number */
        assert_ptr_equal(t.devices[1], c);
        assert_ptr_equal(t.devices[2], a);
        assert_ptr_equal(block_table_find(&t, 8, 16), a);
        assert_null(block_table_find(&t, 8, 17));
        assert_int_equal(block_table_remove(&t, c), 0);
        assert_int_equal(block_table_remove(&t, c), -ENOENT);
        block_device_free(c);
        assert_int_equal(t.n, 2);
        /* Many, in an awkward order. */
        for (unsigned i = 0; i < 500; i++)
                assert_int_equal(block_table_insert(&t, dev(7, 1000 + (i * 7919) % 500, "loopN")), 0);
        for (size_t i = 1; i < t.n; i++)
                assert_true(t.devices[i - 1]->major < t.devices[i]->major ||
                            (t.devices[i - 1]->major == t.devices[i]->major &&
                             t.devices[i - 1]->minor < t.devices[i]->minor));
        block_table_done(&t);
        assert_int_equal(t.n, 0);
}

static void test_transition(void **state) {
        BlockIdentity none = {}, ext4 = {}, ext4b = {};

        assert_int_equal(block_identity_set(&ext4, "ext4", "u1", "l", NULL), 0);
        assert_int_equal(block_identity_set(&ext4b, "ext4", "u2", "", NULL), 0);
        assert_null(ext4b.label);       /* empty is NULL */
        assert_true(block_identity_is_empty(&none));
        assert_false(block_identity_is_empty(&ext4));

        /* first news of a device: added, whatever the probe said */
        assert_int_equal(block_transition(false, &none, true, &ext4), BLOCK_TRANSITION_ADD);
        assert_int_equal(block_transition(false, &none, true, &none), BLOCK_TRANSITION_ADD);
        assert_int_equal(block_transition(false, &none, true, NULL), BLOCK_TRANSITION_ADD);
        /* gone */
        assert_int_equal(block_transition(true, &ext4, false, NULL), BLOCK_TRANSITION_REMOVE);
        assert_int_equal(block_transition(false, &none, false, NULL), BLOCK_TRANSITION_NONE);
        /* a change: only a different identity is news; an unknown one is not */
        assert_int_equal(block_transition(true, &ext4, true, &ext4), BLOCK_TRANSITION_NONE);
        assert_int_equal(block_transition(true, &ext4, true, NULL), BLOCK_TRANSITION_NONE);
        assert_int_equal(block_transition(true, &none, true, &ext4), BLOCK_TRANSITION_REPLACE);
        assert_int_equal(block_transition(true, &ext4, true, &none), BLOCK_TRANSITION_REPLACE);
        assert_int_equal(block_transition(true, &ext4, true, &ext4b), BLOCK_TRANSITION_REPLACE);
        block_identity_done(&ext4);
        block_identity_done(&ext4b);
}

typedef struct DiffLog {
        char lines[16][64];
        size_t n;
        BlockTable *t;
} DiffLog;

static int diff_handler(BlockDiffKind kind, BlockDevice *d, const BlockSnapshotEntry *e, void *userdata) {
        DiffLog *l = userdata;
        static const char *const names[] = { "gone", "new", "changed" };

        assert_true(l->n < ELEMENTSOF(l->lines));
        snprintf(l->lines[l->n++], sizeof(l->lines[0]), "%s %s", names[kind], d ? d->sysname : e->sysname);
        if (kind == BLOCK_DIFF_GONE) {
                assert_int_equal(block_table_remove(l->t, d), 0);
                block_device_free(d);
        } else if (kind == BLOCK_DIFF_NEW)
                assert_int_equal(block_table_insert(l->t, dev(e->major, e->minor, e->sysname)), 0);
        return 0;
}

static void test_diff(void **state) {
        BlockTable t = {};
        DiffLog l = { .t = &t };
        BlockDevice *d;
        const BlockSnapshotEntry snap[] = {
                { 8, 32, "sdc", "sdc", 0, 100 },        /* new */
                { 7, 0, "loop0", "loop0", 2, 0 },       /* diskseq changed: a loop attach we missed */
                { 8, 0, "sda", "sda", 0, 100 },         /* the same */
                { 8, 16, "sdq", "sdq", 0, 100 },        /* sdb's number, another name: gone + new */
        };
        const BlockSnapshotEntry twice[] = { { 8, 0, "sda", "sda", 0, 1 }, { 8, 0, "sdb", "sdb", 0, 1 } };

        d = dev(7, 0, "loop0");
        d->diskseq = 1;
        d->size = 0;
        assert_int_equal(block_table_insert(&t, d), 0);
        d = dev(8, 0, "sda");
        d->size = 100;
        assert_int_equal(block_table_insert(&t, d), 0);
        assert_int_equal(block_table_insert(&t, dev(8, 16, "sdb")), 0);
        assert_int_equal(block_table_insert(&t, dev(8, 48, "sdd")), 0);

        assert_int_equal(block_table_diff(&t, twice, ELEMENTSOF(twice), diff_handler, &l), -EBADMSG);
        assert_int_equal(l.n, 0);

        assert_int_equal(block_table_diff(&t, snap, ELEMENTSOF(snap), diff_handler, &l), 0);
        assert_int_equal(l.n, 5);
        assert_string_equal(l.lines[0], "gone sdb");
        assert_string_equal(l.lines[1], "gone sdd");
        assert_string_equal(l.lines[2], "changed loop0");
        assert_string_equal(l.lines[3], "new sdq");
        assert_string_equal(l.lines[4], "new sdc");
        assert_int_equal(t.n, 4);

        /* An empty sysfs: everything goes. */
        l.n = 0;
        assert_int_equal(block_table_diff(&t, NULL, 0, diff_handler, &l), 0);
        assert_int_equal(l.n, 4);
        assert_int_equal(t.n, 0);
        block_table_done(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_message_good),
                cmocka_unit_test(test_message_bad),
                cmocka_unit_test(test_sysfs),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_probe_result),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_transition),
                cmocka_unit_test(test_diff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
