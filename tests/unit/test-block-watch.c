/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The block watcher (src/watch/block-watch.c) on a fixture sysfs: the
 * initial enumeration, bad sysfs contents, and a resync that finds devices
 * gone, new and changed. The uevent socket is real (receiving needs no
 * privilege), so real devices' uevents may arrive meanwhile: assertions
 * are on the fixture's own names only (salvet*). Probes run for real
 * against an empty device directory (ENOENT: identity NULL). */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "watch.h"

#define MAX_SEEN 64

typedef struct Seen {
        char events[MAX_SEEN][96];
        size_t n_events;
        char bad[MAX_SEEN][160];
        size_t n_bad;
        char occurrence[192];   /* salveta's first */
        int ready, resynced;
        char resync_message[256];
} Seen;

static void on_event(Watch *w, const TriggerEvent *ev, void *userdata) {
        Seen *s = userdata;

        if (strncmp(ev->name, "/dev/salvet", 11) != 0)
                return;         /* a real device's uevent */
        assert_true(s->n_events < MAX_SEEN);
        if (streq(ev->name, "/dev/salveta") && !s->occurrence[0])
                snprintf(s->occurrence, sizeof(s->occurrence), "%s", strna(ev->occurrence));
        snprintf(s->events[s->n_events++], sizeof(s->events[0]), "%s %s%s%s%s", ev->event, ev->name,
                 ev->initial ? " initial" : "", ev->resynced ? " resynced" : "", ev->fs_type ? " fs" : "");
}

static void on_notice(Watch *w, WatchNotice n, int error, const char *message, void *userdata) {
        Seen *s = userdata;

        switch (n) {
        case WATCH_READY:
                s->ready++;
                break;
        case WATCH_RESYNCED:
                s->resynced++;
                snprintf(s->resync_message, sizeof(s->resync_message), "%s", message);
                break;
        case WATCH_BAD_INPUT:
                if (strstr(message, "salvet") && s->n_bad < MAX_SEEN)
                        snprintf(s->bad[s->n_bad++], sizeof(s->bad[0]), "%s", message);
                break;
        default:
                break;
        }
}

static void put(const char *dir, const char *name, const char *file, const char *text) {
        char path[PATH_MAX];
        FILE *f;

        snprintf(path, sizeof(path), "%s/class/block/%s", dir, name);
        (void) mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/class/block/%s/%s", dir, name, file);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void drop(const char *dir, const char *name) {
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/class/block/%s/uevent", dir, name);
        unlink(path);
        snprintf(path, sizeof(path), "%s/class/block/%s/size", dir, name);
        unlink(path);
        snprintf(path, sizeof(path), "%s/class/block/%s", dir, name);
        assert_int_equal(rmdir(path), 0);
}

static bool seen(const Seen *s, const char *line) {
        for (size_t i = 0; i < s->n_events; i++)
                if (streq(s->events[i], line))
                        return true;
        return false;
}

#define RUN_UNTIL(e, cond)                                                              \
        do {                                                                            \
                usec_t _end = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;            \
                while (!(cond) && now_usec(CLOCK_MONOTONIC) < _end)                     \
                        assert_true(sd_event_run((e), 100 * USEC_PER_MSEC) >= 0);       \
                assert_true(cond);                                                      \
        } while (0)

static void test_fixture(void **state) {
        char root[] = "/tmp/test-block-watch-XXXXXX", path[PATH_MAX * 2 + 128], devfs[PATH_MAX], procfs[PATH_MAX];
        sd_event *e = NULL;
        Watch *w = NULL;
        Seen s = {};
        WatchContext ctx = { .on_event = on_event, .on_notice = on_notice, .userdata = &s };
        int r;

        assert_non_null(mkdtemp(root));
        snprintf(path, sizeof(path), "%s/class", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/class/block", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(devfs, sizeof(devfs), "%s/dev", root);
        assert_int_equal(mkdir(devfs, 0755), 0);
        snprintf(path, sizeof(path), "mkdir -p '%s/proc/sys/kernel/random' && "
                 "echo 0123abcd-0000-4000-8000-00000000b007 > '%s/proc/sys/kernel/random/boot_id'", root, root);
        assert_int_equal(system(path), 0);
        snprintf(procfs, sizeof(procfs), "%s/proc", root);

        /* Empty (size 0: no probe), with data (a probe, which finds no node),
         * and two that are not sane. */
        put(root, "salveta", "uevent", "MAJOR=7\nMINOR=900001\nDEVNAME=salveta\nDEVTYPE=disk\nDISKSEQ=5\n");
        put(root, "salveta", "size", "0\n");
        put(root, "salvetb", "uevent", "MAJOR=8\nMINOR=900002\nDEVNAME=salvetb\nDEVTYPE=disk\n");
        put(root, "salvetb", "size", "2048\n");
        put(root, "salvetbad", "uevent", "MAJOR=7\nMINOR=x\nDEVNAME=salvetbad\n");
        put(root, "salvetesc", "uevent", "MAJOR=7\nMINOR=900003\nDEVNAME=../salvetesc\n");

        assert_int_equal(sd_event_new(&e), 0);
        ctx.event = e;
        ctx.sysfs = root;
        ctx.devfs = devfs;
        ctx.procfs = procfs;
        r = watch_new(WATCH_BLOCK, &ctx, &w);
        if (r == -EPERM || r == -EACCES || r == -EPROTONOSUPPORT) {
                fprintf(stderr, "no uevent socket here (%s), skipping\n", strerror(-r));
                skip();
        }
        assert_int_equal(r, 0);
        RUN_UNTIL(e, s.ready == 1);
        assert_true(seen(&s, "added /dev/salveta initial"));
        assert_true(seen(&s, "added /dev/salvetb initial"));   /* no node: identity NULL */
        assert_int_equal(s.n_events, 2);
        /* boot ID, event, name, diskseq, UUID; salvetb has no diskseq: none */
        assert_string_equal(s.occurrence, "0123abcd-0000-4000-8000-00000000b007:added:salveta:5:-");
        assert_int_equal(s.n_bad, 2);                          /* salvetbad, salvetesc */
        assert_true(w->stats.bad_input >= 2);

        /* salveta goes, salvetc comes, salvetb's medium changes (diskseq),
         * then salvetb's file turns bad: it is kept, not removed. */
        drop(root, "salveta");
        put(root, "salvetc", "uevent", "MAJOR=7\nMINOR=900004\nDEVNAME=salvetc\nDEVTYPE=disk\n");
        put(root, "salvetc", "size", "0\n");
        put(root, "salvetb", "uevent", "MAJOR=8\nMINOR=900002\nDEVNAME=salvetb\nDEVTYPE=disk\nDISKSEQ=9\n");
        assert_int_equal(watch_resync(w), 0);
        RUN_UNTIL(e, s.resynced == 1);
        assert_true(seen(&s, "removed /dev/salveta resynced"));
        assert_true(seen(&s, "added /dev/salvetc resynced"));
        assert_int_equal(s.n_events, 4);        /* salvetb: re-probed, still not known: nothing */
        /* (the removed count may include real devices' uevents meanwhile) */
        assert_non_null(strstr(s.resync_message, ": 1 added, "));
        assert_non_null(strstr(s.resync_message, ", 1 re-identified"));

        put(root, "salvetb", "uevent", "MAJOR=8\n");
        assert_int_equal(watch_resync(w), 0);
        RUN_UNTIL(e, s.resynced == 2);
        assert_int_equal(s.n_events, 4);
        assert_non_null(strstr(s.resync_message, ": 0 added, "));
        assert_non_null(strstr(s.resync_message, ", 0 re-identified"));

        /* Everything gone at once. */
        drop(root, "salvetb");
        drop(root, "salvetc");
        drop(root, "salvetbad");
        drop(root, "salvetesc");
        assert_int_equal(watch_resync(w), 0);
        RUN_UNTIL(e, s.resynced == 3);
        assert_true(seen(&s, "removed /dev/salvetb resynced"));
        assert_true(seen(&s, "removed /dev/salvetc resynced"));
        assert_int_equal(s.n_events, 6);
        assert_int_equal(w->stats.lost, 0);

        watch_free(w);
        sd_event_unref(e);
        snprintf(path, sizeof(path), "rm -rf '%s'", root);
        assert_int_equal(system(path), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixture),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
