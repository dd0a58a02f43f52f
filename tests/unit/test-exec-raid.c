/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* raid.wait-sync and raid.check on a fixture tree: SYSFS/block/md0/md/ in a
 * temp dir, an Executor on a private sd-event loop (its bus a socketpair
 * whose other end answers nothing of systemd's: these kinds do not call
 * it). Regular files do not poll, so the job watches the fixture's md/
 * directory with inotify instead; the test plays md: it rewrites the files
 * as the kernel would, then runs the loop. What POLLPRI does on a real md
 * is the VM test's (tests/vm/guest/md-steps.sh). Also the pure progress
 * maths (raid-progress.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "executor-internal.h"
#include "plan-load.h"
#include "raid-progress.h"

typedef struct Rig {
        char root[64];
        char sysfs[96], devfs[96];
        sd_event *event;
        sd_bus *server, *client;
        Executor *executor;
        Plan *plan;
        ExecJob *job;
        bool done;
        ExecOutcome outcome;
        char message[1024];
        unsigned progress_reports;
        double last_percent;
        int64_t last_rate;
        usec_t last_eta;
        char last_text[256];
} Rig;

static void settle(Rig *r) {
        for (int i = 0; i < 1000; i++)
                if (sd_event_run(r->event, 5 * USEC_PER_MSEC) == 0)
                        return;
        fail_msg("the event loop never went idle");
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

static void md(Rig *r, const char *attr, const char *content) {
        char rel[128];

        snprintf(rel, sizeof(rel), "sys/block/md0/md/%s", attr);
        put(r, rel, content);
}

static const char *get(Rig *r, const char *attr) {
        static char buf[256];
        char path[512];
        size_t n;
        FILE *f;

        snprintf(path, sizeof(path), "%s/sys/block/md0/md/%s", r->root, attr);
        f = fopen(path, "re");
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        return buf;
}

/* A raid1 of two members, in sync and idle. */
static void array_in_sync(Rig *r) {
        md(r, "array_state", "clean\n");
        md(r, "sync_action", "idle\n");
        md(r, "sync_completed", "none\n");
        md(r, "sync_speed", "none\n");
        md(r, "degraded", "0\n");
        md(r, "resync_start", "none\n");
        md(r, "raid_disks", "2\n");
        md(r, "level", "raid1\n");
        md(r, "mismatch_cnt", "0\n");
        md(r, "sync_min", "0\n");
        md(r, "dev-vda/state", "in_sync\n");
        md(r, "dev-vdb/state", "in_sync\n");
}

/* After a power cut on Debian: read-auto, resync pending, sync_action idle. */
static void array_pending(Rig *r) {
        array_in_sync(r);
        md(r, "array_state", "read-auto\n");
        md(r, "resync_start", "40960\n");
}

static void on_done(ExecJob *job, const ExecResult *res, void *userdata) {
        Rig *r = userdata;

        assert_ptr_equal(job, r->job);
        assert_false(r->done);
        r->done = true;
        r->job = NULL;
        r->outcome = res->outcome;
        snprintf(r->message, sizeof(r->message), "%s", res->message);
}

static void on_progress(ExecJob *job, const ExecProgress *p, void *job_userdata, void *userdata) {
        Rig *r = userdata;

        assert_ptr_equal(job, r->job);
        assert_ptr_equal(job_userdata, r);
        r->progress_reports++;
        r->last_percent = p->percent;
        r->last_rate = p->rate_kib;
        r->last_eta = p->eta;
        snprintf(r->last_text, sizeof(r->last_text), "%s", strempty(p->text));
}

static int setup(void **state) {
        Rig *r = calloc(1, sizeof(Rig));
        sd_id128_t id;
        int fds[2];

        assert_non_null(r);
        snprintf(r->root, sizeof(r->root), "/tmp/test-exec-raid-XXXXXX");
        assert_non_null(mkdtemp(r->root));
        snprintf(r->sysfs, sizeof(r->sysfs), "%s/sys", r->root);
        snprintf(r->devfs, sizeof(r->devfs), "%s/dev", r->root);
        array_in_sync(r);

        assert_int_equal(sd_event_new(&r->event), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(sd_bus_new(&r->server), 0);
        assert_int_equal(sd_bus_set_fd(r->server, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(r->server, 1, id), 0);
        assert_int_equal(sd_bus_start(r->server), 0);
        assert_int_equal(sd_bus_attach_event(r->server, r->event, 0), 0);
        assert_int_equal(sd_bus_new(&r->client), 0);
        assert_int_equal(sd_bus_set_fd(r->client, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_start(r->client), 0);
        assert_int_equal(sd_bus_attach_event(r->client, r->event, 0), 0);

        assert_int_equal(executor_new(r->event, r->client, NULL, &r->executor), 0);
        assert_int_equal(executor_set_roots(r->executor, r->sysfs, r->devfs), 0);
        executor_set_progress_handler(r->executor, on_progress, r);
        settle(r);
        *state = r;
        return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int teardown(void **state) {
        Rig *r = *state;

        if (r->job)
                exec_job_cancel(r->job);
        executor_free(r->executor);
        plan_free(r->plan);
        sd_bus_flush_close_unref(r->client);
        sd_bus_flush_close_unref(r->server);
        sd_event_unref(r->event);
        assert_int_equal(nftw(r->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        free(r);
        return 0;
}

static const Step *load_step(Rig *r, const char *kind, const char *with) {
        char yaml[1024];
        Diagnostics d = {};
        int q;

        snprintf(yaml, sizeof(yaml), "plan: t\nsteps:\n  - id: s\n    run: %s\n    with: %s\n", kind, with);
        plan_free(r->plan);
        r->plan = NULL;
        q = plan_load_buffer("test.yaml", yaml, strlen(yaml), &d, &r->plan);
        if (q < 0)
                diagnostics_print(&d, stderr);
        diagnostics_done(&d);
        assert_int_equal(q, 0);
        return r->plan->steps + 0;
}

static void start(Rig *r, const char *kind, const char *with, usec_t timeout) {
        const Step *s = load_step(r, kind, with);

        r->done = false;
        r->progress_reports = 0;
        assert_int_equal(executor_start(r->executor, "r1", s, 1, timeout, on_done, r, &r->job), 0);
        assert_false(r->done);  /* never from inside executor_start() */
        settle(r);
}

static void resume(Rig *r, const char *kind, const char *with) {
        const Step *s = load_step(r, kind, with);

        r->done = false;
        r->progress_reports = 0;
        assert_int_equal(executor_resume(r->executor, "r1", s, 1, USEC_INFINITY,
                                         now_usec(CLOCK_REALTIME) - 10 * USEC_PER_SEC, on_done, r, &r->job),
                         0);
        assert_false(r->done);
        settle(r);
}

static void assert_done(Rig *r, ExecOutcome o, const char *needle) {
        assert_true(r->done);
        if (r->outcome != o || !strstr(r->message, needle))
                fail_msg("outcome %s \"%s\", wanted %s with \"%s\"", exec_outcome_to_string(r->outcome),
                         r->message, exec_outcome_to_string(o), needle);
}

static void assert_waiting(Rig *r, const char *text_needle) {
        if (r->done)
                fail_msg("finished: %s \"%s\"", exec_outcome_to_string(r->outcome), r->message);
        if (text_needle && !strstr(r->last_text, text_needle))
                fail_msg("progress \"%s\", wanted \"%s\"", r->last_text, text_needle);
}

/* ---- raid.wait-sync ---- */

static void test_in_sync_already(void **state) {
        Rig *r = *state;

        start(r, "raid.wait-sync", "{array: md0}", USEC_INFINITY);
        assert_done(r, EXEC_SUCCEEDED, "md0 is in sync");
        assert_string_equal(get(r, "array_state"), "clean\n");     /* nothing written */
}

/* The power-cut case: "idle" is not in sync; the step starts the resync,
 * reports its progress, and succeeds when md is done. */
static void test_pending_started(void **state) {
        Rig *r = *state;

        array_pending(r);
        start(r, "raid.wait-sync", "{array: /dev/md0}", USEC_INFINITY);
        assert_waiting(r, "not in sync");
        assert_string_equal(get(r, "array_state"), "active");      /* as mdadm --readwrite */

        /* md starts the resync */
        md(r, "sync_action", "resync\n");
        md(r, "sync_completed", "0 / 131072\n");
        md(r, "sync_speed", "none\n");
        settle(r);
        assert_waiting(r, "md0: resync 0.0%");

        md(r, "sync_completed", "65536 / 131072\n");
        md(r, "sync_speed", "2048\n");
        settle(r);
        assert_waiting(r, "md0: resync 50.0% at 2048 KiB/s, 16s left");
        assert_true(r->last_percent > 49.9 && r->last_percent < 50.1);
        assert_int_equal(r->last_rate, 2048);
        assert_int_equal(r->last_eta, 16 * USEC_PER_SEC);

        /* done: md clears sync_completed and resync_start */
        md(r, "sync_action", "idle\n");
        md(r, "sync_completed", "none\n");
        md(r, "resync_start", "none\n");
        settle(r);
        assert_done(r, EXEC_SUCCEEDED, "md0 is in sync (salve started its pending resync)");
}

static void test_pending_not_started(void **state) {
        Rig *r = *state;

        array_pending(r);
        start(r, "raid.wait-sync", "{array: md0, start-pending: false}", USEC_INFINITY);
        assert_waiting(r, "resync pending (read-auto), waiting for the first write");
        assert_string_equal(get(r, "array_state"), "read-auto\n");

        /* someone else writes (the fs is mounted): resync, then in sync */
        md(r, "array_state", "active\n");
        md(r, "sync_action", "resync\n");
        md(r, "sync_completed", "1024 / 131072\n");
        settle(r);
        assert_waiting(r, "resync 0.8%");
        md(r, "array_state", "clean\n");
        md(r, "sync_action", "idle\n");
        md(r, "sync_completed", "none\n");
        md(r, "resync_start", "none\n");
        settle(r);
        assert_done(r, EXEC_SUCCEEDED, "md0 is in sync (after a resync)");
}

static void test_degraded(void **state) {
        Rig *r = *state;

        md(r, "degraded", "1\n");
        md(r, "dev-vdb/state", "faulty\n");
        start(r, "raid.wait-sync", "{array: md0}", USEC_INFINITY);
        assert_done(r, EXEC_FAILED, "md0 is degraded (1 of 2 members missing) and nothing is rebuilding it");

        start(r, "raid.wait-sync", "{array: md0, allow-degraded: true}", USEC_INFINITY);
        assert_done(r, EXEC_SUCCEEDED, "nothing to sync; allowed by allow-degraded");
}

/* A spare waiting for its recovery: wait for it, with progress. */
static void test_degraded_recovering(void **state) {
        Rig *r = *state;

        md(r, "degraded", "1\n");
        md(r, "dev-vdb/state", "spare\n");
        start(r, "raid.wait-sync", "{array: md0}", USEC_INFINITY);
        assert_waiting(r, "waiting for the recovery onto its spare");

        md(r, "sync_action", "recover\n");
        md(r, "sync_completed", "32768 / 131072\n");
        md(r, "sync_speed", "4096\n");
        settle(r);
        assert_waiting(r, "md0: recovery 25.0% at 4096 KiB/s, 12s left");

        md(r, "sync_action", "idle\n");
        md(r, "sync_completed", "none\n");
        md(r, "degraded", "0\n");
        md(r, "dev-vdb/state", "in_sync\n");
        settle(r);
        assert_done(r, EXEC_SUCCEEDED, "md0 is in sync (after a resync)");
}

static void test_degraded_during_resync(void **state) {
        Rig *r = *state;

        array_pending(r);
        md(r, "array_state", "active\n");
        md(r, "sync_action", "resync\n");
        md(r, "sync_completed", "1024 / 131072\n");
        start(r, "raid.wait-sync", "{array: md0}", USEC_INFINITY);
        assert_waiting(r, "resync");

        /* a disk fails: md aborts the resync, one member is faulty */
        md(r, "sync_action", "idle\n");
        md(r, "sync_completed", "none\n");
        md(r, "degraded", "1\n");
        md(r, "dev-vda/state", "faulty\n");
        settle(r);
        assert_done(r, EXEC_FAILED, "md0 is degraded");
}

static void test_stopped(void **state) {
        Rig *r = *state;

        array_pending(r);
        md(r, "array_state", "active\n");
        md(r, "sync_action", "resync\n");
        md(r, "sync_completed", "1024 / 131072\n");
        start(r, "raid.wait-sync", "{array: md0}", USEC_INFINITY);
        assert_waiting(r, "resync");
        md(r, "array_state", "inactive\n");
        settle(r);
        assert_done(r, EXEC_FAILED, "md0 is not running (array_state inactive");
}

static void test_names(void **state) {
        Rig *r = *state;
        char link[256];

        snprintf(link, sizeof(link), "%s/dev/md", r->root);
        assert_int_equal(mkdir(r->devfs, 0755), 0);
        assert_int_equal(mkdir(link, 0755), 0);
        snprintf(link, sizeof(link), "%s/dev/md/data", r->root);
        assert_int_equal(symlink("../md0", link), 0);

        start(r, "raid.wait-sync", "{array: md/data}", USEC_INFINITY);
        assert_done(r, EXEC_SUCCEEDED, "md0 is in sync");
        start(r, "raid.wait-sync", "{array: /dev/md/data}", USEC_INFINITY);
        assert_done(r, EXEC_SUCCEEDED, "md0 is in sync");

        start(r, "raid.wait-sync", "{array: md/nope}", USEC_INFINITY);
        assert_done(r, EXEC_FAILED, "md/nope: not an md array here");
        start(r, "raid.wait-sync", "{array: md7}", USEC_INFINITY);
        assert_done(r, EXEC_FAILED, "md7 does not exist");
}

static void test_timeout(void **state) {
        Rig *r = *state;

        array_pending(r);
        start(r, "raid.wait-sync", "{array: md0, start-pending: false}", 30 * USEC_PER_MSEC);
        for (int i = 0; i < 100 && !r->done; i++)
                (void) sd_event_run(r->event, 10 * USEC_PER_MSEC);
        assert_done(r, EXEC_TIMED_OUT, "md0: not in sync after 30ms (array_state read-auto, sync_action idle, "
                    "resync_start 40960, degraded 0)");
}

/* After a restart: just wait again. */
static void test_wait_sync_resume(void **state) {
        Rig *r = *state;

        array_pending(r);
        md(r, "array_state", "active\n");
        md(r, "sync_action", "resync\n");
        md(r, "sync_completed", "1024 / 131072\n");
        resume(r, "raid.wait-sync", "{array: md0}");
        assert_waiting(r, "resync");
        md(r, "sync_action", "idle\n");
        md(r, "sync_completed", "none\n");
        md(r, "resync_start", "none\n");
        settle(r);
        assert_done(r, EXEC_SUCCEEDED, "md0 is in sync");
}

/* ---- raid.check ---- */

static void check_runs(Rig *r) {
        assert_string_equal(get(r, "sync_action"), "check");
        md(r, "sync_action", "check\n");
        md(r, "sync_completed", "16384 / 131072\n");
        md(r, "sync_speed", "8192\n");
        md(r, "mismatch_cnt", "0\n");
        settle(r);
        assert_waiting(r, "md0: check 12.5% at 8192 KiB/s, 7s left");
}

static void check_ends(Rig *r, const char *mismatches, const char *sync_min) {
        md(r, "sync_action", "idle\n");
        md(r, "sync_completed", "none\n");
        md(r, "sync_speed", "none\n");
        md(r, "mismatch_cnt", mismatches);
        md(r, "sync_min", sync_min);
        settle(r);
}

static void test_check(void **state) {
        Rig *r = *state;

        md(r, "sync_min", "8192\n");   /* an earlier check's checkpoint */
        start(r, "raid.check", "{array: md0}", USEC_INFINITY);
        assert_string_equal(get(r, "sync_min"), "0");
        check_runs(r);
        check_ends(r, "0\n", "0\n");
        assert_done(r, EXEC_SUCCEEDED, "md0: check done, 0 mismatched sectors (max-mismatch 0)");
}

static void test_check_mismatch(void **state) {
        Rig *r = *state;

        start(r, "raid.check", "{array: md0, max-mismatch: 8}", USEC_INFINITY);
        check_runs(r);
        check_ends(r, "128\n", "0\n");
        assert_done(r, EXEC_FAILED, "md0: check found 128 mismatched sectors, more than max-mismatch 8");

        start(r, "raid.check", "{array: md0, max-mismatch: 128}", USEC_INFINITY);
        check_runs(r);
        check_ends(r, "128\n", "0\n");
        assert_done(r, EXEC_SUCCEEDED, "128 mismatched sectors (max-mismatch 128)");
}

static void test_check_interrupted(void **state) {
        Rig *r = *state;

        start(r, "raid.check", "{array: md0}", USEC_INFINITY);
        check_runs(r);
        check_ends(r, "8\n", "16384\n");
        assert_done(r, EXEC_FAILED, "the check of md0 was interrupted at sector 16384 (sync_min), 8 mismatched");
}

/* A check that ends before the job reads again (a tiny array) still counts. */
static void test_check_fast(void **state) {
        Rig *r = *state;

        start(r, "raid.check", "{array: md0}", USEC_INFINITY);
        assert_string_equal(get(r, "sync_action"), "check");
        check_ends(r, "0\n", "0\n");
        assert_done(r, EXEC_SUCCEEDED, "check done");
}

static void test_check_refused(void **state) {
        Rig *r = *state;

        array_pending(r);
        start(r, "raid.check", "{array: md0}", USEC_INFINITY);
        assert_done(r, EXEC_FAILED, "cannot check md0: it is not in sync and idle (array_state read-auto");
        assert_string_equal(get(r, "sync_action"), "idle\n");

        char path[256];

        array_in_sync(r);
        snprintf(path, sizeof(path), "%s/sys/block/md0/md/sync_action", r->root);
        assert_int_equal(unlink(path), 0);
        md(r, "level", "raid0\n");
        start(r, "raid.check", "{array: md0}", USEC_INFINITY);
        assert_done(r, EXEC_FAILED, "md0 (raid0) has no sync_action: nothing to check");
}

/* Someone's check: waited for, never stopped. A cancel leaves a check
 * running; a timeout stops ours, and only ours. */
static void test_check_cancel_timeout(void **state) {
        Rig *r = *state;

        md(r, "sync_action", "check\n");
        md(r, "sync_completed", "0 / 131072\n");
        start(r, "raid.check", "{array: md0}", USEC_INFINITY);
        assert_waiting(r, "check (already running)");
        exec_job_cancel(r->job);
        r->job = NULL;
        assert_false(r->done);
        assert_string_equal(get(r, "sync_action"), "check\n");

        start(r, "raid.check", "{array: md0}", 30 * USEC_PER_MSEC);
        for (int i = 0; i < 100 && !r->done; i++)
                (void) sd_event_run(r->event, 10 * USEC_PER_MSEC);
        assert_done(r, EXEC_TIMED_OUT, "md0: check not done after 30ms (");
        assert_string_equal(get(r, "sync_action"), "check\n");

        array_in_sync(r);
        start(r, "raid.check", "{array: md0}", 300 * USEC_PER_MSEC);
        check_runs(r);
        for (int i = 0; i < 200 && !r->done; i++)
                (void) sd_event_run(r->event, 10 * USEC_PER_MSEC);
        assert_done(r, EXEC_TIMED_OUT, "md0: check not done after 300ms, stopped the check (");
        assert_string_equal(get(r, "sync_action"), "idle");
}

static void test_check_resume(void **state) {
        Rig *r = *state;

        md(r, "sync_action", "check\n");
        md(r, "sync_completed", "16384 / 131072\n");
        resume(r, "raid.check", "{array: md0}");
        assert_waiting(r, "picked up after salved restarted");
        check_ends(r, "0\n", "0\n");
        assert_done(r, EXEC_SUCCEEDED, "check done");

        /* idle after the restart: it cannot be known how it ended */
        md(r, "mismatch_cnt", "24\n");
        resume(r, "raid.check", "{array: md0}");
        assert_done(r, EXEC_UNKNOWN, "whether it finished cannot be known (mismatch_cnt 24");
        assert_string_equal(get(r, "sync_action"), "idle\n");      /* and not started again */
}

/* ---- the maths ---- */

static void test_sync_speed(void **state) {
        int64_t v;

        assert_int_equal(raid_parse_sync_speed("none\n", 5, &v), 0);
        assert_int_equal(v, -1);
        assert_int_equal(raid_parse_sync_speed("1200\n", 5, &v), 0);
        assert_int_equal(v, 1200);
        assert_int_equal(raid_parse_sync_speed("0", 1, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(raid_parse_sync_speed("", 0, &v), -EBADMSG);
        assert_int_equal(raid_parse_sync_speed("12 K", 4, &v), -EBADMSG);
        assert_int_equal(raid_parse_sync_speed("-5", 2, &v), -EBADMSG);
        assert_int_equal(raid_parse_sync_speed("9999999999999999999", 19, &v), -EBADMSG);
}

static void sync_at(MdArrayState *s, uint64_t done, uint64_t total) {
        md_array_state_init(s, "md0");
        s->sync_running = true;
        s->sync_done = done;
        s->sync_total = total;
}

static void test_progress(void **state) {
        MdArrayState s;
        RaidRate rate = {};
        RaidProgress p;
        char buf[128];

        /* not syncing: nothing known */
        md_array_state_init(&s, "md0");
        raid_progress_compute(&s, 1000, NULL, 0, &p);
        assert_true(p.percent < 0);
        assert_int_equal(p.rate_kib, -1);
        assert_true(p.eta == USEC_INFINITY);
        assert_string_equal(raid_progress_format("md0", "resync pending", &p, buf, sizeof(buf)),
                            "md0: resync pending");

        /* md's speed: 100000 sectors left = 50000 KiB at 1000 KiB/s = 50 s */
        sync_at(&s, 100000, 200000);
        raid_progress_compute(&s, 1000, NULL, 0, &p);
        assert_true(p.percent == 50.0);
        assert_int_equal(p.rate_kib, 1000);
        assert_true(p.eta == 50 * USEC_PER_SEC);
        assert_string_equal(raid_progress_format("md0", "resync", &p, buf, sizeof(buf)),
                            "md0: resync 50.0% at 1000 KiB/s, 50s left");

        /* rounded up, never 0 while something is left */
        sync_at(&s, 199999, 200000);
        raid_progress_compute(&s, 1000, NULL, 0, &p);
        assert_true(p.eta == 1 * USEC_PER_SEC);
        sync_at(&s, 200000, 200000);
        raid_progress_compute(&s, 1000, NULL, 0, &p);
        assert_true(p.eta == 0);

        /* no speed from md: our own, from the first point seen */
        sync_at(&s, 10000, 200000);
        raid_rate_observe(&rate, &s, 5 * USEC_PER_SEC);
        assert_true(rate.have);
        raid_progress_compute(&s, -1, &rate, 5 * USEC_PER_SEC, &p);
        assert_int_equal(p.rate_kib, -1);
        assert_true(p.eta == USEC_INFINITY);
        assert_string_equal(raid_progress_format("md0", "check", &p, buf, sizeof(buf)), "md0: check 5.0%");

        sync_at(&s, 30000, 200000);            /* 10000 KiB in 10 s */
        raid_rate_observe(&rate, &s, 15 * USEC_PER_SEC);
        assert_int_equal(rate.done, 10000);
        raid_progress_compute(&s, -1, &rate, 15 * USEC_PER_SEC, &p);
        assert_int_equal(p.rate_kib, 1000);
        assert_true(p.eta == 85 * USEC_PER_SEC);
        assert_string_equal(raid_progress_format("md0", "resync", &p, buf, sizeof(buf)),
                            "md0: resync 15.0% at 1000 KiB/s, 1m 25s left");

        /* a new sync (done went back): measured afresh */
        sync_at(&s, 0, 200000);
        raid_rate_observe(&rate, &s, 20 * USEC_PER_SEC);
        assert_int_equal(rate.done, 0);
        assert_true(rate.at == 20 * USEC_PER_SEC);
        /* over: forgotten */
        md_array_state_init(&s, "md0");
        raid_rate_observe(&rate, &s, 21 * USEC_PER_SEC);
        assert_false(rate.have);

        /* delayed: no figures */
        sync_at(&s, 0, 0);
        s.sync_delayed = true;
        raid_progress_compute(&s, 500, NULL, 0, &p);
        assert_true(p.percent < 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_in_sync_already, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pending_started, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pending_not_started, setup, teardown),
                cmocka_unit_test_setup_teardown(test_degraded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_degraded_recovering, setup, teardown),
                cmocka_unit_test_setup_teardown(test_degraded_during_resync, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stopped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wait_sync_resume, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_mismatch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_interrupted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_fast, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_cancel_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_resume, setup, teardown),
                cmocka_unit_test(test_sync_speed),
                cmocka_unit_test(test_progress),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
