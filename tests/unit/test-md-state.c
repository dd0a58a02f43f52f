/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* md-state: sysfs attribute values, /proc/mdstat texts (as the 6.1 kernel
 * writes them) and the events between states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "md-state.h"

#define SET(s, a, v) md_array_state_set_attr((s), (a), (v), strlen(v))

/* Events of a diff as one string: "disk-failed:vdb degraded check-mismatch:128". */
typedef struct Seen {
        char text[512];
} Seen;

static void collect(const MdEvent *e, void *userdata) {
        Seen *seen = userdata;
        size_t k = strlen(seen->text);

        snprintf(seen->text + k, sizeof(seen->text) - k, "%s%s", k ? " " : "", md_event_type_to_string(e->type));
        k = strlen(seen->text);
        if (e->disk)
                snprintf(seen->text + k, sizeof(seen->text) - k, ":%s", e->disk);
        else if (e->type == MD_EVENT_CHECK_MISMATCH)
                snprintf(seen->text + k, sizeof(seen->text) - k, ":%llu", (unsigned long long) e->mismatches);
        assert_string_equal(e->array, "md0");
}

static const char *diff(const MdArrayState *old, const MdArrayState *new, Seen *seen) {
        unsigned n;

        seen->text[0] = 0;
        n = md_array_state_diff(old, new, collect, seen);
        if (n == 0)
                assert_string_equal(seen->text, "");
        return seen->text;
}

/* A raid1 as sysfs shows it; NULL leaves an attribute unknown. */
static void mk(MdArrayState *s, const char *array_state, const char *sync_action, const char *resync_start,
               const char *degraded, const char *mismatch_cnt) {
        md_array_state_init(s, "md0");
        assert_int_equal(SET(s, MD_ATTR_LEVEL, "raid1\n"), 0);
        assert_int_equal(SET(s, MD_ATTR_RAID_DISKS, "2\n"), 0);
        if (array_state)
                assert_int_equal(SET(s, MD_ATTR_ARRAY_STATE, array_state), 0);
        if (sync_action)
                assert_int_equal(SET(s, MD_ATTR_SYNC_ACTION, sync_action), 0);
        if (resync_start)
                assert_int_equal(SET(s, MD_ATTR_RESYNC_START, resync_start), 0);
        if (degraded)
                assert_int_equal(SET(s, MD_ATTR_DEGRADED, degraded), 0);
        if (mismatch_cnt)
                assert_int_equal(SET(s, MD_ATTR_MISMATCH_CNT, mismatch_cnt), 0);
}

static void member(MdArrayState *s, const char *name, const char *state) {
        MdMemberState m = {};

        snprintf(m.name, sizeof(m.name), "%s", name);
        assert_int_equal(md_member_state_parse(state, strlen(state), &m), 0);
        assert_int_equal(md_array_state_put_member(s, &m), 0);
}

static void test_attr_words(void **state) {
        MdArrayState s;

        md_array_state_init(&s, "md0");
        assert_false(md_array_state_knows(&s, MD_ATTR_ARRAY_STATE));
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "read-auto\n"), 0);
        assert_int_equal(s.array_state, MD_ARRAY_READ_AUTO);
        assert_string_equal(s.array_state_text, "read-auto");
        assert_true(md_array_state_knows(&s, MD_ATTR_ARRAY_STATE));

        /* a newer kernel's word: kept as text, not refused */
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "quiescent\n"), 0);
        assert_int_equal(s.array_state, _MD_ARRAY_STATUS_INVALID);
        assert_string_equal(s.array_state_text, "quiescent");
        assert_false(md_array_state_is_running(&s));

        /* not words: refused, and the last value stays */
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "clean\n"), 0);
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, ""), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "Active\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "active idle\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "active\n\n"), -EBADMSG);
        assert_int_equal(md_array_state_set_attr(&s, MD_ATTR_ARRAY_STATE, "act\0ve", 6), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "\xff\xfe"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "a-very-long-array-state-word-no-kernel-has\n"), -EBADMSG);
        assert_int_equal(s.array_state, MD_ARRAY_CLEAN);

        assert_int_equal(SET(&s, MD_ATTR_SYNC_ACTION, "frozen\n"), 0);
        assert_int_equal(s.sync_action, MD_SYNC_FROZEN);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_ACTION, "recover"), 0);   /* no newline: fine */
        assert_int_equal(s.sync_action, MD_SYNC_RECOVER);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_ACTION, "idle\r\n"), -EBADMSG);

        assert_int_equal(SET(&s, MD_ATTR_LEVEL, "raid10\n"), 0);
        assert_string_equal(s.level, "raid10");
        assert_int_equal(SET(&s, MD_ATTR_LEVEL, "\n"), 0);      /* an inactive array has none */
        assert_string_equal(s.level, "");
        md_array_state_done(&s);
}

static void test_attr_numbers(void **state) {
        MdArrayState s;

        md_array_state_init(&s, "md0");
        assert_int_equal(SET(&s, MD_ATTR_SYNC_COMPLETED, "8192 / 129024\n"), 0);
        assert_int_equal(s.sync_done, 8192);
        assert_int_equal(s.sync_total, 129024);
        assert_false(s.sync_delayed);
        assert_true(s.sync_running);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_COMPLETED, "delayed\n"), 0);
        assert_true(s.sync_delayed);
        assert_true(s.sync_running);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_COMPLETED, "none\n"), 0);
        assert_false(s.sync_delayed);
        assert_false(s.sync_running);
        assert_int_equal(s.sync_done, 0);
        assert_int_equal(s.sync_total, 0);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_COMPLETED, "8192/129024\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_COMPLETED, "8192 / \n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_COMPLETED, "x / 1\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_COMPLETED, "1 / 2 / 3\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_COMPLETED, "99999999999999999999 / 1\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_COMPLETED, "18446744073709551615 / 18446744073709551615\n"), 0);

        assert_int_equal(SET(&s, MD_ATTR_RESYNC_START, "none\n"), 0);
        assert_int_equal(s.resync_start, MD_SECTOR_NONE);
        assert_int_equal(SET(&s, MD_ATTR_RESYNC_START, "34816\n"), 0);
        assert_int_equal(s.resync_start, 34816);
        assert_int_equal(SET(&s, MD_ATTR_RESYNC_START, "-1\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_RESYNC_START, "+5\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_RESYNC_START, " 5\n"), -EBADMSG);
        assert_int_equal(s.resync_start, 34816);

        assert_int_equal(SET(&s, MD_ATTR_DEGRADED, "1\n"), 0);
        assert_int_equal(s.degraded, 1);
        assert_int_equal(SET(&s, MD_ATTR_DEGRADED, "\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_DEGRADED, "4294967296\n"), -EBADMSG);
        assert_int_equal(s.degraded, 1);

        assert_int_equal(SET(&s, MD_ATTR_RAID_DISKS, "2\n"), 0);
        assert_int_equal(s.raid_disks, 2);
        assert_int_equal(SET(&s, MD_ATTR_RAID_DISKS, "3 (2)\n"), 0);   /* reshape 2 -> 3 */
        assert_int_equal(s.raid_disks, 3);
        assert_int_equal(SET(&s, MD_ATTR_RAID_DISKS, ""), 0);          /* md prints nothing for 0 */
        assert_int_equal(s.raid_disks, 0);
        assert_int_equal(SET(&s, MD_ATTR_RAID_DISKS, "3 (\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_RAID_DISKS, "3 (2\n"), -EBADMSG);
        assert_int_equal(SET(&s, MD_ATTR_RAID_DISKS, "3 (2))\n"), -EBADMSG);

        assert_int_equal(SET(&s, MD_ATTR_MISMATCH_CNT, "128\n"), 0);
        assert_int_equal(s.mismatch_cnt, 128);
        assert_int_equal(SET(&s, MD_ATTR_SYNC_MIN, "2048\n"), 0);
        assert_int_equal(s.sync_min, 2048);
        assert_int_equal(md_array_state_set_attr(&s, _MD_ATTR_MAX, "1", 1), -EINVAL);

        md_array_state_clear_attr(&s, MD_ATTR_MISMATCH_CNT);
        assert_false(md_array_state_knows(&s, MD_ATTR_MISMATCH_CNT));
        md_array_state_done(&s);
}

static void test_member_state(void **state) {
        MdMemberState m = {};

        assert_int_equal(md_member_state_parse("in_sync\n", 8, &m), 0);
        assert_int_equal(m.flags, MD_MEMBER_IN_SYNC);
        assert_int_equal(md_member_state_parse("faulty,write_error\n", 19, &m), 0);
        assert_int_equal(m.flags, MD_MEMBER_FAULTY | MD_MEMBER_WRITE_ERROR);
        assert_string_equal(m.state_text, "faulty,write_error");
        assert_int_equal(md_member_state_parse("\n", 1, &m), 0);
        assert_int_equal(m.flags, 0);
        assert_int_equal(md_member_state_parse("in_sync,write_mostly,failfast", 29, &m), 0);
        assert_int_equal(m.flags, MD_MEMBER_IN_SYNC | MD_MEMBER_WRITE_MOSTLY | MD_MEMBER_FAILFAST);
        /* a new kernel's flag is kept, not refused */
        assert_int_equal(md_member_state_parse("in_sync,sleepy\n", 15, &m), 0);
        assert_int_equal(m.flags, MD_MEMBER_IN_SYNC | MD_MEMBER_UNKNOWN);
        assert_string_equal(m.state_text, "in_sync,sleepy");

        assert_int_equal(md_member_state_parse(",in_sync\n", 9, &m), -EBADMSG);
        assert_int_equal(md_member_state_parse("in_sync,\n", 9, &m), -EBADMSG);
        assert_int_equal(md_member_state_parse("in_sync,,spare", 14, &m), -EBADMSG);
        assert_int_equal(md_member_state_parse("in sync", 7, &m), -EBADMSG);
        assert_int_equal(md_member_state_parse("in_sync\tspare", 13, &m), -EBADMSG);
        assert_string_equal(m.state_text, "in_sync,sleepy");        /* unchanged by refusals */

        assert_true(md_member_name_valid("sdb1"));
        assert_true(md_member_name_valid("nvme0n1p2"));
        assert_true(md_member_name_valid("cciss!c0d0"));
        assert_false(md_member_name_valid(""));
        assert_false(md_member_name_valid(".."));
        assert_false(md_member_name_valid("a/b"));
        assert_false(md_member_name_valid("a b"));
        assert_true(md_array_name_valid("md0"));
        assert_true(md_array_name_valid("md_home"));
        assert_true(md_array_name_valid("md127"));
        assert_false(md_array_name_valid("md"));
        assert_false(md_array_name_valid("sda"));
        assert_false(md_array_name_valid("md0/../sda"));
        assert_false(md_array_name_valid("md-0"));
}

static const char mdstat_degraded[] =
        "Personalities : [raid1] [linear] [multipath] [raid0] [raid6] [raid5] [raid4] [raid10] \n"
        "md0 : active raid1 vdb[1](F) vda[0]\n"
        "      65472 blocks super 1.2 [2/1] [U_]\n"
        "      \n"
        "unused devices: <none>\n";

static const char mdstat_resync[] =
        "Personalities : [raid1] \n"
        "md0 : active raid1 vdb[1] vda[0]\n"
        "      65472 blocks super 1.2 [2/2] [UU]\n"
        "      [=====>...............]  resync = 28.5% (18688/65472) finish=0.3min speed=2000K/sec\n"
        "      \n"
        "unused devices: <none>\n";

static const char mdstat_pending[] =
        "Personalities : [raid1] \n"
        "md0 : active (auto-read-only) raid1 vda[0] vdb[1]\n"
        "      65472 blocks super 1.2 [2/2] [UU]\n"
        "      \tresync=PENDING\n"
        "      \n"
        "unused devices: <none>\n";

static const char mdstat_recovery_check[] =
        "Personalities : [raid1] [raid6] [raid5] [raid4] \n"
        "md2 : active raid5 sde[3] sdd[1] sdc[0]\n"
        "      2093056 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/2] [UU_]\n"
        "      [====>................]  recovery = 22.3% (234112/1046528) finish=0.5min speed=23411K/sec\n"
        "      bitmap: 0/8 pages [0KB], 65536KB chunk\n"
        "\n"
        "md0 : active raid1 vdb[1] vda[0](W)\n"
        "      65472 blocks super 1.2 [2/2] [UU]\n"
        "      [>....................]  check =  3.1% (2048/65472) finish=0.5min speed=2048K/sec\n"
        "      \n"
        "md1 : active raid0 sdg[1] sdf[0]\n"
        "      1047552 blocks super 1.2 512k chunks\n"
        "      \n"
        "md127 : inactive sdh[1](S)\n"
        "      1046528 blocks super 1.2\n"
        "       \n"
        "md3 : active (read-only) raid1 sdj[2](S) sdi[0]\n"
        "      1046528 blocks super 1.2 [2/1] [U_]\n"
        "      \tresync=DELAYED\n"
        "      \n"
        "unused devices: <none>\n";

static void test_mdstat(void **state) {
        const MdstatArray *a;
        Mdstat m = {};

        assert_int_equal(mdstat_parse(mdstat_degraded, strlen(mdstat_degraded), &m), 0);
        assert_int_equal(m.n_arrays, 1);
        a = &m.arrays[0];
        assert_string_equal(a->name, "md0");
        assert_true(a->active);
        assert_string_equal(a->personality, "raid1");
        assert_int_equal(a->n_members, 2);
        assert_string_equal(a->members[0].name, "vdb");
        assert_int_equal(a->members[0].role, 1);
        assert_true(a->members[0].faulty);
        assert_false(a->members[1].faulty);
        assert_int_equal(a->raid_disks, 2);
        assert_int_equal(a->working, 1);
        assert_string_equal(a->sync_op, "");
        mdstat_done(&m);

        assert_int_equal(mdstat_parse(mdstat_resync, strlen(mdstat_resync), &m), 0);
        a = mdstat_get(&m, "md0");
        assert_non_null(a);
        assert_string_equal(a->sync_op, "resync");
        assert_int_equal(a->sync_done, 18688);
        assert_int_equal(a->sync_total, 65472);
        assert_false(a->resync_pending);
        mdstat_done(&m);

        assert_int_equal(mdstat_parse(mdstat_pending, strlen(mdstat_pending), &m), 0);
        a = mdstat_get(&m, "md0");
        assert_true(a->auto_read_only);
        assert_true(a->resync_pending);
        assert_string_equal(a->sync_op, "");
        mdstat_done(&m);

        assert_int_equal(mdstat_parse(mdstat_recovery_check, strlen(mdstat_recovery_check), &m), 0);
        assert_int_equal(m.n_arrays, 5);
        a = mdstat_get(&m, "md2");
        assert_string_equal(a->personality, "raid5");
        assert_string_equal(a->sync_op, "recovery");
        assert_int_equal(a->sync_done, 234112);
        assert_int_equal(a->raid_disks, 3);
        assert_int_equal(a->working, 2);
        a = mdstat_get(&m, "md0");
        assert_string_equal(a->sync_op, "check");
        assert_true(a->members[1].write_mostly);
        a = mdstat_get(&m, "md1");
        assert_string_equal(a->personality, "raid0");
        assert_int_equal(a->raid_disks, 0);
        a = mdstat_get(&m, "md127");
        assert_false(a->active);
        assert_string_equal(a->personality, "");
        assert_true(a->members[0].spare);
        a = mdstat_get(&m, "md3");
        assert_true(a->read_only);
        assert_true(a->resync_delayed);
        assert_true(a->members[0].spare);
        assert_null(mdstat_get(&m, "md4"));
        mdstat_done(&m);

        /* no md arrays at all */
        assert_int_equal(mdstat_parse("Personalities : \nunused devices: <none>\n", 40, &m), 0);
        assert_int_equal(m.n_arrays, 0);
        assert_int_equal(mdstat_parse("", 0, &m), 0);
        assert_int_equal(m.n_arrays, 0);
}

static void test_mdstat_bad(void **state) {
        static const char *const bad[] = {
                "garbage\n",
                "Personalities : [raid1]\n      65472 blocks\n",            /* a body with no array */
                "md0 : active raid1 vdb[1] vd",                             /* truncated member */
                "md0 : active raid1 vdb[1] vda[0]\n      65472 blocks super 1.2 [2/",
                "md0 : active raid1 vdb[1] vda[0]\n      [==>...]  resync = 12.5% (8192/",
                "md0 : active raid1 vdb[1] vda[0]\n      [==>...]\n",         /* a bar with nothing */
                "md0 : active\n",                                           /* no personality */
                "md0 : running raid1 vda[0]\n",
                "md0 active raid1 vda[0]\n",
                "md0 : active raid1 vda[x]\n",
                "md0 : active raid1 vda[0](F\n",
                "md0 : active raid1 vda[0]\nmd0 : active raid1 vdb[0]\n",   /* twice */
                "../../etc : active raid1 vda[0]\n",
                "md0 : active raid1 vda[0]\n      65472 blocks [3/4] [UUU]\n",           /* more working than disks */
                "md0 : active raid1 vda[0]\0\n",
        };
        static const size_t bad_len[] = { [ELEMENTSOF(bad) - 1] = 27 };
        Mdstat m = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                size_t len = bad_len[i] ?: strlen(bad[i]);

                assert_int_equal(mdstat_parse(bad[i], len, &m), -EBADMSG);
                assert_int_equal(m.n_arrays, 0);
                assert_null(m.arrays);
        }
}

static void test_predicates(void **state) {
        MdArrayState s;

        /* after a power cut on Debian (start_ro=1): idle does not mean in sync */
        mk(&s, "read-auto\n", "idle\n", "34816\n", "0\n", "0\n");
        assert_true(md_array_state_is_running(&s));
        assert_true(md_array_state_is_resync_pending(&s));
        assert_false(md_array_state_is_syncing(&s));
        assert_false(md_array_state_is_in_sync(&s));
        md_array_state_done(&s);

        mk(&s, "read-auto\n", "idle\n", "none\n", "0\n", "0\n");
        assert_false(md_array_state_is_resync_pending(&s));
        assert_true(md_array_state_is_in_sync(&s));
        md_array_state_done(&s);

        mk(&s, "active\n", "check\n", "none\n", "0\n", "0\n");
        assert_true(md_array_state_is_in_sync(&s));
        md_array_state_done(&s);

        mk(&s, "clean\n", "idle\n", "none\n", "1\n", "0\n");
        assert_true(md_array_state_is_degraded(&s));
        assert_false(md_array_state_is_in_sync(&s));
        md_array_state_done(&s);

        mk(&s, "active\n", "recover\n", "none\n", "1\n", "0\n");
        assert_true(md_array_state_is_syncing(&s));
        assert_false(md_array_state_is_in_sync(&s));
        md_array_state_done(&s);

        /* raid0: no redundancy attributes */
        md_array_state_init(&s, "md0");
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "clean\n"), 0);
        assert_int_equal(SET(&s, MD_ATTR_RESYNC_START, "none\n"), 0);
        assert_true(md_array_state_is_in_sync(&s));
        assert_int_equal(SET(&s, MD_ATTR_ARRAY_STATE, "broken\n"), 0);
        assert_true(md_array_state_is_degraded(&s));
        assert_false(md_array_state_is_in_sync(&s));
        md_array_state_done(&s);

        mk(&s, "inactive\n", NULL, "none\n", NULL, NULL);
        assert_false(md_array_state_is_running(&s));
        assert_false(md_array_state_is_in_sync(&s));
        md_array_state_done(&s);
}

static void test_events_initial(void **state) {
        MdArrayState s;
        Seen seen;

        mk(&s, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        member(&s, "vda", "in_sync\n");
        member(&s, "vdb", "in_sync\n");
        assert_string_equal(diff(NULL, &s, &seen), "");
        md_array_state_done(&s);

        /* a host booting with a degraded array and a failed member */
        mk(&s, "clean\n", "idle\n", "none\n", "1\n", "0\n");
        member(&s, "vdb", "faulty\n");
        member(&s, "vda", "in_sync\n");
        assert_string_equal(diff(NULL, &s, &seen), "disk-failed:vdb degraded");
        md_array_state_done(&s);

        mk(&s, "read-auto\n", "idle\n", "34816\n", "0\n", "0\n");
        assert_string_equal(diff(NULL, &s, &seen), "resync-pending");
        md_array_state_done(&s);

        mk(&s, "active\n", "resync\n", "1024\n", "0\n", "0\n");
        assert_string_equal(diff(NULL, &s, &seen), "resync-started");
        md_array_state_done(&s);

        /* an inactive array: nothing known to be wrong yet */
        mk(&s, "inactive\n", NULL, "none\n", NULL, NULL);
        member(&s, "sdh", "spare\n");
        assert_string_equal(diff(NULL, &s, &seen), "");
        assert_string_equal(diff(&s, NULL, &seen), "");
        md_array_state_done(&s);
}

static void test_events_sequences(void **state) {
        MdArrayState a, b, c, d;
        Seen seen;

        /* pending -> first write: resync runs -> finishes */
        mk(&a, "read-auto\n", "idle\n", "34816\n", "0\n", "0\n");
        mk(&b, "active\n", "resync\n", "34816\n", "0\n", "0\n");
        assert_int_equal(SET(&b, MD_ATTR_SYNC_COMPLETED, "34816 / 130944\n"), 0);
        mk(&c, "active\n", "resync\n", "34816\n", "0\n", "0\n");
        assert_int_equal(SET(&c, MD_ATTR_SYNC_COMPLETED, "65536 / 130944\n"), 0);
        mk(&d, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        assert_string_equal(diff(&a, &a, &seen), "");
        assert_string_equal(diff(&a, &b, &seen), "resync-started");
        assert_string_equal(diff(&b, &c, &seen), "");       /* progress is no event */
        assert_false(md_array_state_equal(&b, &c));
        assert_string_equal(diff(&c, &d, &seen), "resync-finished");
        assert_string_equal(diff(&d, &a, &seen), "resync-pending");
        md_array_state_done(&a);
        md_array_state_done(&b);
        md_array_state_done(&c);
        md_array_state_done(&d);

        /* seen on the 6.1 kernel (md VM): right after a disk fails with no
         * spare, sync_action reads "recover" and sync_completed "0 / SIZE"
         * while md looks for a spare, then idle. That is no resync. */
        mk(&a, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        assert_int_equal(SET(&a, MD_ATTR_SYNC_COMPLETED, "none\n"), 0);
        member(&a, "vda", "in_sync\n");
        member(&a, "vdb", "in_sync\n");
        mk(&b, "clean\n", "recover\n", "none\n", "1\n", "0\n");
        assert_int_equal(SET(&b, MD_ATTR_SYNC_COMPLETED, "0 / 129024\n"), 0);
        member(&b, "vda", "in_sync\n");
        member(&b, "vdb", "faulty\n");
        mk(&c, "clean\n", "idle\n", "none\n", "1\n", "0\n");
        assert_int_equal(SET(&c, MD_ATTR_SYNC_COMPLETED, "none\n"), 0);
        member(&c, "vda", "in_sync\n");
        member(&c, "vdb", "faulty\n");
        /* the same moment with a healthy array and a hot spare */
        mk(&d, "clean\n", "recover\n", "none\n", "0\n", "0\n");
        assert_int_equal(SET(&d, MD_ATTR_SYNC_COMPLETED, "0 / 129024\n"), 0);
        member(&d, "vda", "in_sync\n");
        member(&d, "vdb", "in_sync\n");
        member(&d, "vdc", "spare\n");
        assert_false(md_array_state_is_syncing(&b));
        assert_false(md_array_state_is_syncing(&d));
        assert_true(md_array_state_is_in_sync(&d));
        assert_string_equal(diff(&a, &b, &seen), "disk-failed:vdb degraded");
        assert_string_equal(diff(&b, &c, &seen), "");
        assert_string_equal(diff(&a, &d, &seen), "");
        md_array_state_done(&d);
        /* a real rebuild onto the spare; and the same with no progress yet */
        mk(&d, "active\n", "recover\n", "none\n", "1\n", "0\n");
        assert_int_equal(SET(&d, MD_ATTR_SYNC_COMPLETED, "0 / 129024\n"), 0);
        member(&d, "vda", "in_sync\n");
        member(&d, "vdc", "spare\n");
        assert_true(md_array_state_is_syncing(&d));
        assert_string_equal(diff(&c, &d, &seen), "resync-started");
        assert_string_equal(diff(&b, &d, &seen), "resync-started");
        assert_int_equal(SET(&d, MD_ATTR_SYNC_COMPLETED, "none\n"), 0);
        assert_false(md_array_state_is_syncing(&d));
        /* a replacement (mdadm --replace) in an array that is not degraded */
        assert_int_equal(SET(&d, MD_ATTR_DEGRADED, "0\n"), 0);
        assert_int_equal(SET(&d, MD_ATTR_SYNC_COMPLETED, "2048 / 129024\n"), 0);
        member(&d, "vda", "in_sync,want_replacement\n");
        member(&d, "vdc", "spare,replacement\n");
        assert_true(md_array_state_is_syncing(&d));
        /* a delayed resync (waiting for another array on the same disks) runs */
        assert_int_equal(SET(&d, MD_ATTR_SYNC_ACTION, "resync\n"), 0);
        assert_int_equal(SET(&d, MD_ATTR_SYNC_COMPLETED, "delayed\n"), 0);
        assert_true(md_array_state_is_syncing(&d));
        md_array_state_done(&a);
        md_array_state_done(&b);
        md_array_state_done(&c);
        md_array_state_done(&d);

        /* a resync that stops short: frozen, or the array goes read-only again */
        mk(&a, "active\n", "resync\n", "1024\n", "0\n", "0\n");
        mk(&b, "active\n", "frozen\n", "4096\n", "0\n", "0\n");
        mk(&c, "readonly\n", "idle\n", "4096\n", "0\n", "0\n");
        assert_string_equal(diff(&a, &b, &seen), "");
        assert_string_equal(diff(&a, &c, &seen), "resync-pending");
        assert_string_equal(diff(&b, &a, &seen), "resync-started");
        md_array_state_done(&a);
        md_array_state_done(&b);
        md_array_state_done(&c);

        /* a disk fails: faulty, then degraded; removed; a spare added and rebuilt */
        mk(&a, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        member(&a, "vda", "in_sync\n");
        member(&a, "vdb", "in_sync\n");
        mk(&b, "clean\n", "idle\n", "none\n", "1\n", "0\n");
        member(&b, "vda", "in_sync\n");
        member(&b, "vdb", "faulty,write_error\n");
        mk(&c, "active\n", "recover\n", "none\n", "1\n", "0\n");
        member(&c, "vda", "in_sync\n");
        member(&c, "vdc", "spare\n");
        mk(&d, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        member(&d, "vda", "in_sync\n");
        member(&d, "vdc", "in_sync\n");
        assert_string_equal(diff(&a, &b, &seen), "disk-failed:vdb degraded");
        assert_string_equal(diff(&b, &b, &seen), "");
        assert_string_equal(diff(&b, &c, &seen), "resync-started");
        assert_string_equal(diff(&c, &d, &seen), "resync-finished");
        md_array_state_done(&a);
        md_array_state_done(&b);
        md_array_state_done(&c);

        /* a rebuild whose spare fails: no resync-finished */
        mk(&a, "active\n", "recover\n", "none\n", "1\n", "0\n");
        member(&a, "vda", "in_sync\n");
        member(&a, "vdc", "spare\n");
        mk(&b, "clean\n", "idle\n", "none\n", "1\n", "0\n");
        member(&b, "vda", "in_sync\n");
        member(&b, "vdc", "faulty\n");
        assert_string_equal(diff(&a, &b, &seen), "disk-failed:vdc");
        /* resync straight into a rebuild: one start, one finish */
        mk(&c, "active\n", "resync\n", "0\n", "1\n", "0\n");
        assert_string_equal(diff(&c, &a, &seen), "");
        assert_string_equal(diff(&a, &d, &seen), "resync-finished");
        md_array_state_done(&a);
        md_array_state_done(&b);
        md_array_state_done(&c);
        md_array_state_done(&d);

        /* a rebuild or resync that ran entirely between two reads */
        mk(&a, "clean\n", "idle\n", "none\n", "1\n", "0\n");
        member(&a, "vda", "in_sync\n");
        mk(&b, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        member(&b, "vda", "in_sync\n");
        member(&b, "vdb", "in_sync\n");
        mk(&c, "read-auto\n", "idle\n", "8192\n", "0\n", "0\n");
        mk(&d, "active\n", "idle\n", "8192\n", "0\n", "0\n");   /* written to, resync not yet begun */
        assert_string_equal(diff(&a, &b, &seen), "resync-finished");
        assert_string_equal(diff(&c, &b, &seen), "resync-finished");
        assert_string_equal(diff(&c, &d, &seen), "");
        assert_string_equal(diff(&d, &b, &seen), "resync-finished");
        assert_string_equal(diff(&a, &a, &seen), "");
        assert_string_equal(diff(&b, &b, &seen), "");
        md_array_state_done(&a);
        md_array_state_done(&b);
        md_array_state_done(&c);
        md_array_state_done(&d);

        /* bad blocks not yet acknowledged show "faulty" on a working member */
        mk(&a, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        member(&a, "vda", "in_sync\n");
        mk(&b, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        member(&b, "vda", "faulty,in_sync,blocked\n");
        assert_string_equal(diff(&a, &b, &seen), "");
        md_array_state_done(&a);
        md_array_state_done(&b);

        /* raid6: a second disk lost is worse; recovery of one is not "finished" */
        mk(&a, "clean\n", "idle\n", "none\n", "1\n", "0\n");
        mk(&b, "clean\n", "idle\n", "none\n", "2\n", "0\n");
        assert_string_equal(diff(&a, &b, &seen), "degraded");
        assert_string_equal(diff(&b, &a, &seen), "");
        md_array_state_done(&a);
        md_array_state_done(&b);

        /* raid0/linear lose a member: broken */
        md_array_state_init(&a, "md0");
        assert_int_equal(SET(&a, MD_ATTR_ARRAY_STATE, "clean\n"), 0);
        md_array_state_init(&b, "md0");
        assert_int_equal(SET(&b, MD_ATTR_ARRAY_STATE, "broken\n"), 0);
        assert_string_equal(diff(&a, &b, &seen), "degraded");
        assert_string_equal(diff(&b, &b, &seen), "");
        md_array_state_done(&a);
        md_array_state_done(&b);
}

static void test_events_check(void **state) {
        MdArrayState idle, check, idle_bad, repair, repaired, frozen;
        Seen seen;

        mk(&idle, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        mk(&check, "active\n", "check\n", "none\n", "0\n", "0\n");
        mk(&idle_bad, "clean\n", "idle\n", "none\n", "0\n", "128\n");
        mk(&repair, "active\n", "repair\n", "none\n", "0\n", "0\n");
        mk(&repaired, "clean\n", "idle\n", "none\n", "0\n", "128\n");
        mk(&frozen, "clean\n", "frozen\n", "none\n", "0\n", "64\n");

        assert_string_equal(diff(&idle, &check, &seen), "");
        assert_string_equal(diff(&check, &idle, &seen), "");            /* a clean check */
        assert_string_equal(diff(&check, &idle_bad, &seen), "check-mismatch:128");
        assert_string_equal(diff(&idle_bad, &idle_bad, &seen), "");
        /* interrupted (frozen) with what it found so far */
        assert_string_equal(diff(&check, &frozen, &seen), "check-mismatch:64");
        /* repair is the remedy: no event, or a plan that repairs would trigger itself */
        assert_string_equal(diff(&repair, &repaired, &seen), "");
        /* a check never ends in resync-finished */
        assert_string_equal(diff(&check, &idle, &seen), "");
        /* no mismatch_cnt known: nothing claimed */
        md_array_state_clear_attr(&idle_bad, MD_ATTR_MISMATCH_CNT);
        assert_string_equal(diff(&check, &idle_bad, &seen), "");

        md_array_state_done(&idle);
        md_array_state_done(&check);
        md_array_state_done(&idle_bad);
        md_array_state_done(&repair);
        md_array_state_done(&repaired);
        md_array_state_done(&frozen);
}

static void test_members_copy(void **state) {
        MdArrayState s, t;
        MdMemberState bad = { .name = "a/b" };

        mk(&s, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        member(&s, "vdc", "in_sync\n");
        member(&s, "vda", "in_sync\n");
        member(&s, "vdb", "spare\n");
        member(&s, "vdb", "in_sync\n");         /* replaces */
        assert_int_equal(s.n_members, 3);
        assert_string_equal(s.members[0].name, "vda");
        assert_string_equal(s.members[2].name, "vdc");
        assert_int_equal(md_array_state_get_member(&s, "vdb")->flags, MD_MEMBER_IN_SYNC);
        assert_null(md_array_state_get_member(&s, "vdd"));
        assert_int_equal(md_array_state_put_member(&s, &bad), -EINVAL);

        assert_int_equal(md_array_state_copy(&t, &s), 0);
        assert_true(md_array_state_equal(&s, &t));
        assert_ptr_not_equal(s.members, t.members);
        member(&t, "vdb", "faulty\n");
        assert_false(md_array_state_equal(&s, &t));

        md_array_state_take_attr(&t, &s, MD_ATTR_DEGRADED);
        assert_true(md_array_state_knows(&t, MD_ATTR_DEGRADED));
        md_array_state_done(&s);
        md_array_state_done(&t);
}

/* A rebuild whose end md shows while one of the watcher's reads fails (a
 * file reopened: array_state not known), then cleanly: the transition rule
 * sees nothing between the two, and the VM showed a rebuild with no
 * resync-finished. md_array_state_track() still owes the finish of what it
 * announced started. */
static void track(MdArrayState *old, MdArrayState *new, Seen *seen) {
        seen->text[0] = 0;
        (void) md_array_state_track(old, new, collect, seen);
}

static void test_rebuild_end_owed(void **state) {
        MdArrayState a, c, d;
        Seen seen = {};

        mk(&a, "clean\n", "recover\n", "none\n", "1\n", "0\n");
        assert_int_equal(SET(&a, MD_ATTR_SYNC_COMPLETED, "1024 / 32768\n"), 0);
        member(&a, "vda", "in_sync\n");
        member(&a, "vdb", "spare\n");
        track(NULL, &a, &seen);
        assert_string_equal(seen.text, "degraded resync-started");
        assert_true(a.finish_owed);

        mk(&c, NULL, "recover\n", "none\n", "0\n", "0\n");
        assert_int_equal(SET(&c, MD_ATTR_SYNC_COMPLETED, "none\n"), 0);
        member(&c, "vda", "in_sync\n");
        member(&c, "vdb", "in_sync\n");
        track(&a, &c, &seen);
        assert_string_equal(seen.text, "");
        assert_true(c.finish_owed);

        mk(&d, "clean\n", "idle\n", "none\n", "0\n", "0\n");
        assert_int_equal(SET(&d, MD_ATTR_SYNC_COMPLETED, "none\n"), 0);
        member(&d, "vda", "in_sync\n");
        member(&d, "vdb", "in_sync\n");
        assert_string_equal(diff(&c, &d, &seen), "");   /* the rule alone misses it */
        track(&c, &d, &seen);
        assert_string_equal(seen.text, "resync-finished");
        assert_false(d.finish_owed);
        track(&d, &d, &seen);
        assert_string_equal(seen.text, "");             /* once */
        md_array_state_done(&a);
        md_array_state_done(&c);
        md_array_state_done(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rebuild_end_owed),
                cmocka_unit_test(test_attr_words),
                cmocka_unit_test(test_attr_numbers),
                cmocka_unit_test(test_member_state),
                cmocka_unit_test(test_mdstat),
                cmocka_unit_test(test_mdstat_bad),
                cmocka_unit_test(test_predicates),
                cmocka_unit_test(test_events_initial),
                cmocka_unit_test(test_events_sequences),
                cmocka_unit_test(test_events_check),
                cmocka_unit_test(test_members_copy),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
