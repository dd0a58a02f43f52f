/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The md watcher on a fixture tree (SYSFS/block/mdX/md/..., PROCFS/mdstat in
 * a temp dir). Regular files do not poll, so every change here is seen
 * through watch_resync(), as after a /proc/mdstat wake; what POLLPRI does on
 * a real md is the VM test's (tests/vm). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>

#include "md-watch.h"

typedef struct Rig {
        char root[64];
        char sysfs[96], procfs[96], devfs[96];
        sd_event *event;
        Watch *watch;
        char events[1024];
        char notices[2048];
        unsigned bad_input, resynced_notices, ready;
        unsigned changes, gone;
        bool last_initial, last_resynced;
} Rig;

static void on_event(Watch *w, const TriggerEvent *ev, void *userdata) {
        Rig *r = userdata;
        size_t k = strlen(r->events);

        assert_int_equal(ev->kind, TRIGGER_RAID);
        snprintf(r->events + k, sizeof(r->events) - k, "%s%s:%s", k ? " " : "", ev->name, ev->event);
        k = strlen(r->events);
        if (ev->disk)
                snprintf(r->events + k, sizeof(r->events) - k, ":%s", ev->disk);
        if (streq(ev->event, "check-mismatch"))
                snprintf(r->events + k, sizeof(r->events) - k, ":%llu", (unsigned long long) ev->mismatches);
        r->last_initial = ev->initial;
        r->last_resynced = ev->resynced;
        assert_true(ev->monotonic > 0);
        assert_true(ev->realtime > 0);
}

static void on_notice(Watch *w, WatchNotice n, int error, const char *message, void *userdata) {
        Rig *r = userdata;
        size_t k = strlen(r->notices);

        snprintf(r->notices + k, sizeof(r->notices) - k, "%s: %s\n", watch_notice_to_string(n), message);
        if (n == WATCH_BAD_INPUT)
                r->bad_input++;
        if (n == WATCH_RESYNCED)
                r->resynced_notices++;
        if (n == WATCH_READY)
                r->ready++;
}

static void on_change(Watch *w, const char *array, const MdArrayState *state, void *userdata) {
        Rig *r = userdata;

        if (state) {
                assert_string_equal(state->name, array);
                r->changes++;
        } else
                r->gone++;
}

static void put(Rig *r, const char *rel, const char *content) {
        char path[512], dir[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", r->root, rel);
        snprintf(dir, sizeof(dir), "%s", path);
        for (char *p = dir + strlen(r->root) + 1; (p = strchr(p, '/')); p++) {
                *p = 0;
                (void) mkdir(dir, 0755);
                *p = '/';
        }
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static void drop(Rig *r, const char *rel) {
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", r->root, rel);
        assert_int_equal(remove(path), 0);
}

static void array_files(Rig *r, const char *md, const char *array_state, const char *sync_action,
                        const char *resync_start, const char *degraded) {
        char p[128];

#define PUT(attr, v) do { snprintf(p, sizeof(p), "sys/block/%s/md/" attr, md); put(r, p, v); } while (0)
        PUT("array_state", array_state);
        PUT("sync_action", sync_action);
        PUT("sync_completed", "none\n");
        PUT("degraded", degraded);
        PUT("resync_start", resync_start);
        PUT("raid_disks", "2\n");
        PUT("level", "raid1\n");
        PUT("mismatch_cnt", "0\n");
        PUT("sync_min", "0\n");
#undef PUT
}

static const char mdstat_md0[] =
        "Personalities : [raid1] \n"
        "md0 : active raid1 vdb[1] vda[0]\n"
        "      65472 blocks super 1.2 [2/2] [UU]\n"
        "      \n"
        "unused devices: <none>\n";

static const char mdstat_md0_md1[] =
        "Personalities : [raid1] \n"
        "md1 : active raid1 vdd[1] vdc[0]\n"
        "      65472 blocks super 1.2 [2/1] [U_]\n"
        "      \n"
        "md0 : active raid1 vdb[1] vda[0]\n"
        "      65472 blocks super 1.2 [2/2] [UU]\n"
        "      \n"
        "unused devices: <none>\n";

static void rig_start(Rig *r) {
        WatchContext ctx = {
                .sysfs = r->sysfs,
                .procfs = r->procfs,
                .devfs = r->devfs,
                .on_event = on_event,
                .on_notice = on_notice,
                .userdata = r,
        };

        assert_int_equal(sd_event_new(&r->event), 0);
        ctx.event = r->event;
        assert_int_equal(watch_new(WATCH_MD, &ctx, &r->watch), 0);
        assert_int_equal(md_watch_set_change_handler(r->watch, on_change, r), 0);
}

static int setup(void **state) {
        Rig *r = calloc(1, sizeof(Rig));

        snprintf(r->root, sizeof(r->root), "/tmp/test-md-watch-XXXXXX");
        assert_non_null(mkdtemp(r->root));
        snprintf(r->sysfs, sizeof(r->sysfs), "%s/sys", r->root);
        snprintf(r->procfs, sizeof(r->procfs), "%s/proc", r->root);
        snprintf(r->devfs, sizeof(r->devfs), "%s/dev", r->root);
        *state = r;
        return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int teardown(void **state) {
        Rig *r = *state;

        watch_free(r->watch);
        sd_event_unref(r->event);
        (void) nftw(r->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(r);
        return 0;
}

static void clear(Rig *r) {
        r->events[0] = 0;
        r->notices[0] = 0;
}

static void test_no_md(void **state) {
        Rig *r = *state;

        put(r, "sys/block/sda/size", "1\n");            /* a sysfs without md, and no mdstat */
        rig_start(r);
        assert_int_equal(r->ready, 1);
        assert_non_null(strstr(r->notices, "no md driver"));
        assert_int_equal(md_watch_count(r->watch), 0);
        assert_string_equal(r->events, "");

        /* md loaded later: a resync finds it */
        put(r, "proc/mdstat", mdstat_md0);
        array_files(r, "md0", "clean\n", "idle\n", "none\n", "1\n");
        put(r, "sys/block/md0/md/dev-vda/state", "in_sync\n");
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "md0:degraded");
        assert_true(r->last_resynced);
        assert_false(r->last_initial);
        assert_int_equal(md_watch_count(r->watch), 1);
}

static void test_initial_and_changes(void **state) {
        Rig *r = *state;
        const MdArrayState *s;

        /* a host booting after a power cut: pending resync, one member failed */
        put(r, "proc/mdstat", mdstat_md0);
        array_files(r, "md0", "read-auto\n", "idle\n", "34816\n", "1\n");
        put(r, "sys/block/md0/md/dev-vda/state", "in_sync\n");
        put(r, "sys/block/md0/md/dev-vdb/state", "faulty\n");
        put(r, "sys/block/md0/size", "130944\n");
        rig_start(r);
        assert_string_equal(r->events, "md0:disk-failed:vdb md0:degraded md0:resync-pending");
        assert_true(r->last_initial);
        assert_false(r->last_resynced);
        assert_int_equal(r->ready, 1);
        assert_non_null(strstr(r->notices, "ready: 1 arrays: md0 raid1 read-auto degraded resync-pending"));
        assert_non_null(strstr(r->notices, "do not poll"));

        s = md_watch_get(r->watch, "md0");
        assert_non_null(s);
        assert_int_equal(s->array_state, MD_ARRAY_READ_AUTO);
        assert_int_equal(s->resync_start, 34816);
        assert_int_equal(s->n_members, 2);
        assert_ptr_equal(md_watch_get(r->watch, "/dev/md0"), s);
        assert_null(md_watch_get(r->watch, "md1"));
        assert_null(md_watch_get(r->watch, "md/../../etc"));
        assert_null(md_watch_get(r->watch, "md/home"));
        /* a named array: udev's /dev/md/NAME link */
        char link[256];
        put(r, "dev/md/.keep", "");
        snprintf(link, sizeof(link), "%s/md/home", r->devfs);
        assert_int_equal(symlink("../md0", link), 0);
        assert_ptr_equal(md_watch_get(r->watch, "md/home"), s);
        assert_ptr_equal(md_watch_get(r->watch, "/dev/md/home"), s);
        assert_null(md_watch_get(r->watch, NULL));
        assert_ptr_equal(md_watch_get_index(r->watch, 0), s);
        assert_null(md_watch_get_index(r->watch, 1));

        /* nothing changed: nothing said but the resync */
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "");
        assert_non_null(strstr(r->notices, "resynced: 1 arrays, 0 missed events"));

        /* the failed disk removed, a new one added: rebuild, with the first write the resync */
        drop(r, "sys/block/md0/md/dev-vdb/state");
        drop(r, "sys/block/md0/md/dev-vdb");
        put(r, "sys/block/md0/md/dev-vdc/state", "spare\n");
        put(r, "sys/block/md0/md/array_state", "active\n");
        put(r, "sys/block/md0/md/sync_action", "recover\n");
        put(r, "sys/block/md0/md/sync_completed", "1024 / 130944\n");
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "md0:resync-started");
        assert_true(r->last_resynced);
        s = md_watch_get(r->watch, "md0");
        assert_int_equal(s->n_members, 2);
        assert_null(md_array_state_get_member(s, "vdb"));
        assert_int_equal(s->sync_done, 1024);

        /* progress only: no event, but the change handler hears it */
        unsigned changes = r->changes;
        put(r, "sys/block/md0/md/sync_completed", "65536 / 130944\n");
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "");
        assert_int_equal(r->changes, changes + 1);
        assert_int_equal(md_watch_get(r->watch, "md0")->sync_done, 65536);

        /* done */
        put(r, "sys/block/md0/md/sync_action", "idle\n");
        put(r, "sys/block/md0/md/sync_completed", "none\n");
        put(r, "sys/block/md0/md/resync_start", "none\n");
        put(r, "sys/block/md0/md/degraded", "0\n");
        put(r, "sys/block/md0/md/array_state", "clean\n");
        put(r, "sys/block/md0/md/dev-vdc/state", "in_sync\n");
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "md0:resync-finished");
        assert_true(md_array_state_is_in_sync(md_watch_get(r->watch, "md0")));

        /* a check finds mismatches */
        put(r, "sys/block/md0/md/sync_action", "check\n");
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "");
        put(r, "sys/block/md0/md/sync_action", "idle\n");
        put(r, "sys/block/md0/md/mismatch_cnt", "256\n");
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "md0:check-mismatch:256");
        assert_int_equal(r->bad_input, 0);
}

static void test_bad_input(void **state) {
        Rig *r = *state;
        const MdArrayState *s;

        put(r, "proc/mdstat", mdstat_md0);
        array_files(r, "md0", "clean\n", "idle\n", "none\n", "0\n");
        put(r, "sys/block/md0/md/dev-vda/state", "in_sync\n");
        rig_start(r);
        assert_string_equal(r->events, "");

        /* garbage in an attribute: counted, the last value kept, no event from it */
        put(r, "sys/block/md0/md/sync_action", "re\x01sync\n");
        put(r, "sys/block/md0/md/degraded", "lots\n");
        put(r, "sys/block/md0/md/dev-vda/state", "in_sync,,\n");
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_int_equal(r->bad_input, 3);
        assert_string_equal(r->events, "");
        assert_non_null(strstr(r->notices, "md0/md/sync_action: unparseable value \"re?sync\""));
        s = md_watch_get(r->watch, "md0");
        assert_int_equal(s->sync_action, MD_SYNC_IDLE);
        assert_int_equal(s->degraded, 0);
        assert_int_equal(md_array_state_get_member(s, "vda")->flags, MD_MEMBER_IN_SYNC);
        assert_int_equal(r->watch->stats.bad_input, 3);

        /* a new kernel's word is no bad input */
        put(r, "sys/block/md0/md/sync_action", "defrag\n");
        put(r, "sys/block/md0/md/degraded", "0\n");
        put(r, "sys/block/md0/md/dev-vda/state", "in_sync\n");
        r->bad_input = 0;
        assert_int_equal(watch_resync(r->watch), 0);
        assert_int_equal(r->bad_input, 0);
        assert_string_equal(md_watch_get(r->watch, "md0")->sync_action_text, "defrag");

        /* an attribute too long for a page */
        char big[5000];
        memset(big, '1', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        put(r, "sys/block/md0/md/mismatch_cnt", big);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_int_equal(r->bad_input, 1);
        put(r, "sys/block/md0/md/mismatch_cnt", "0\n");

        /* mdstat garbage: counted, arrays listed from sysfs instead */
        put(r, "proc/mdstat", "Personalities : [raid1]\nmd0 ! garbage\n");
        clear(r);
        r->bad_input = 0;
        assert_int_equal(watch_resync(r->watch), 0);
        assert_int_equal(r->bad_input, 1);
        assert_non_null(strstr(r->notices, "listing arrays from sysfs"));
        assert_int_equal(md_watch_count(r->watch), 1);
        assert_int_equal(r->gone, 0);

        /* a missing attribute (no redundancy group): unknown, not bad */
        drop(r, "sys/block/md0/md/mismatch_cnt");
        put(r, "proc/mdstat", mdstat_md0);
        r->bad_input = 0;
        assert_int_equal(watch_resync(r->watch), 0);
        assert_int_equal(r->bad_input, 0);
        assert_false(md_array_state_knows(md_watch_get(r->watch, "md0"), MD_ATTR_MISMATCH_CNT));
}

static void test_arrays_come_and_go(void **state) {
        Rig *r = *state;

        put(r, "proc/mdstat", mdstat_md0);
        array_files(r, "md0", "clean\n", "idle\n", "none\n", "0\n");
        rig_start(r);
        assert_string_equal(r->events, "");

        /* md1 assembled degraded: an event, not initial */
        put(r, "proc/mdstat", mdstat_md0_md1);
        array_files(r, "md1", "clean\n", "idle\n", "none\n", "1\n");
        put(r, "sys/block/md1/md/dev-vdc/state", "in_sync\n");
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "md1:degraded");
        assert_false(r->last_initial);
        assert_int_equal(md_watch_count(r->watch), 2);
        assert_non_null(md_watch_get(r->watch, "md1"));

        /* listed in mdstat but no sysfs directory yet: not there */
        put(r, "proc/mdstat",
            "md2 : active raid1 vdf[1] vde[0]\n      65472 blocks super 1.2 [2/2] [UU]\n"
            "md1 : active raid1 vdd[1] vdc[0]\n      65472 blocks super 1.2 [2/1] [U_]\n"
            "md0 : active raid1 vdb[1] vda[0]\n      65472 blocks super 1.2 [2/2] [UU]\n");
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_int_equal(md_watch_count(r->watch), 2);
        assert_null(md_watch_get(r->watch, "md2"));

        /* md1 stopped */
        put(r, "proc/mdstat", mdstat_md0);
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "");
        assert_int_equal(r->gone, 1);
        assert_int_equal(md_watch_count(r->watch), 1);
        assert_null(md_watch_get(r->watch, "md1"));
}

/* Runs the loop for about usec (the settle timers fire in it). */
static void run_for(Rig *r, usec_t usec) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + usec;

        while (now_usec(CLOCK_MONOTONIC) < end)
                assert_true(sd_event_run(r->event, end - now_usec(CLOCK_MONOTONIC)) >= 0);
}

/* A resync-pending seen after the start is said only once it lasted: an
 * array mdadm creates is read-auto with its resync pending for a few ms
 * before md starts the resync (the md VM's basic scenario saw it). */
static void test_pending_settles(void **state) {
        Rig *r = *state;

        put(r, "proc/mdstat", mdstat_md0);
        array_files(r, "md0", "clean\n", "idle\n", "none\n", "0\n");
        put(r, "sys/block/md0/md/dev-vda/state", "in_sync\n");
        put(r, "sys/block/md0/md/dev-vdb/state", "in_sync\n");
        rig_start(r);
        assert_int_equal(md_watch_set_pending_settle(r->watch, 200 * USEC_PER_MSEC), 0);
        assert_string_equal(r->events, "");

        /* pending, then the resync starts before the settle time: only that */
        put(r, "sys/block/md0/md/array_state", "read-auto\n");
        put(r, "sys/block/md0/md/resync_start", "0\n");
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "");
        put(r, "sys/block/md0/md/array_state", "active\n");
        put(r, "sys/block/md0/md/sync_action", "resync\n");
        put(r, "sys/block/md0/md/sync_completed", "0 / 130944\n");
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "md0:resync-started");
        run_for(r, 400 * USEC_PER_MSEC);
        assert_string_equal(r->events, "md0:resync-started");

        /* in sync again; then pending, and it stays: said once, after the settle time */
        array_files(r, "md0", "clean\n", "idle\n", "none\n", "0\n");
        assert_int_equal(watch_resync(r->watch), 0);
        put(r, "sys/block/md0/md/array_state", "read-auto\n");
        put(r, "sys/block/md0/md/resync_start", "4096\n");
        clear(r);
        assert_int_equal(watch_resync(r->watch), 0);
        assert_string_equal(r->events, "");
        run_for(r, 100 * USEC_PER_MSEC);
        assert_string_equal(r->events, "");
        run_for(r, 300 * USEC_PER_MSEC);
        assert_string_equal(r->events, "md0:resync-pending");
        assert_false(r->last_initial);
        assert_int_equal(watch_resync(r->watch), 0);
        run_for(r, 400 * USEC_PER_MSEC);
        assert_string_equal(r->events, "md0:resync-pending");
        assert_non_null(md_watch_get(r->watch, "md0"));
        assert_true(md_array_state_is_resync_pending(md_watch_get(r->watch, "md0")));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_no_md, setup, teardown),
                cmocka_unit_test_setup_teardown(test_initial_and_changes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
                cmocka_unit_test_setup_teardown(test_arrays_come_and_go, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pending_settles, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
