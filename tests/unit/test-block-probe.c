/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The probe runner (src/watch/block-probe.c) on a real sd-event loop with
 * real forked children: the real libblkid child on paths that are not the
 * device (a regular file, nothing), and stand-in children that hang (the
 * timeout kills and reaps them), write garbage or too much, or die. Needs
 * no root and no block device. */

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "block-probe.h"

typedef struct Answer {
        int calls;
        int error;
        int status;
        char fs_type[32];
} Answer;

static void on_answer(BlockProbe *probe, int error, const ProbeResult *result, void *userdata) {
        Answer *a = userdata;

        a->calls++;
        a->error = error;
        a->status = result ? result->status : 0;
        snprintf(a->fs_type, sizeof(a->fs_type), "%s", result && result->fs_type ? result->fs_type : "");
}

/* Runs the loop until cond holds, at most 10 s. */
#define RUN_UNTIL(e, cond)                                                              \
        do {                                                                            \
                usec_t _end = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;            \
                while (!(cond) && now_usec(CLOCK_MONOTONIC) < _end)                     \
                        assert_true(sd_event_run((e), 100 * USEC_PER_MSEC) >= 0);       \
                assert_true(cond);                                                      \
        } while (0)

static void child_hang(const char *path, unsigned major, unsigned minor, int fd) {
        for (;;)
                pause();
}

static void child_garbage(const char *path, unsigned major, unsigned minor, int fd) {
        (void) !write(fd, "TYPE=ext4", 9);      /* no STATUS, no terminator */
}

static void child_too_much(const char *path, unsigned major, unsigned minor, int fd) {
        char buf[8192];

        memset(buf, 'x', sizeof(buf));
        memcpy(buf, "STATUS=1", 9);
        (void) !write(fd, buf, sizeof(buf));
}

static void child_good(const char *path, unsigned major, unsigned minor, int fd) {
        static const char a[] = "STATUS=0\0TYPE=xfs\0UUID=u\0";

        (void) !write(fd, a, sizeof(a) - 1);
}

static void child_die(const char *path, unsigned major, unsigned minor, int fd) {
        raise(SIGKILL);
}

static void test_real_child(void **state) {
        sd_event *e = NULL;
        BlockProber *p = NULL;
        Answer a = {}, b = {};
        char path[] = "/tmp/test-block-probe-XXXXXX";
        int fd;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(block_prober_new(e, 10 * USEC_PER_SEC, &p), 0);
        fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);

        /* A regular file is not block device 7:0; nothing is there at all. */
        assert_int_equal(block_prober_start(p, path, 7, 0, on_answer, &a, NULL), 0);
        assert_int_equal(block_prober_start(p, "/nonexistent/salve", 7, 0, on_answer, &b, NULL), 0);
        assert_int_equal(block_prober_running(p), 2);
        RUN_UNTIL(e, a.calls && b.calls && block_prober_children(p) == 0);
        assert_int_equal(a.calls, 1);
        assert_int_equal(a.error, 0);
        assert_int_equal(a.status, -ENODEV);
        assert_int_equal(b.error, 0);
        assert_int_equal(b.status, -ENOENT);
        assert_int_equal(block_prober_running(p), 0);

        unlink(path);
        block_prober_free(p);
        sd_event_unref(e);
}

static void test_timeout(void **state) {
        sd_event *e = NULL;
        BlockProber *p = NULL;
        BlockProbe *probe;
        Answer a = {};
        usec_t start;
        pid_t pid;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(block_prober_new(e, 200 * USEC_PER_MSEC, &p), 0);
        block_prober_set_child(p, child_hang);
        start = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(block_prober_start(p, "/dev/null", 1, 3, on_answer, &a, &probe), 0);
        pid = block_probe_pid(probe);
        assert_true(pid > 0);
        RUN_UNTIL(e, a.calls > 0);
        assert_int_equal(a.error, -ETIME);
        assert_true(now_usec(CLOCK_MONOTONIC) - start >= 200 * USEC_PER_MSEC);
        assert_int_equal(block_prober_running(p), 0);
        /* Killed, then reaped from the loop: no zombie left. */
        RUN_UNTIL(e, block_prober_children(p) == 0);
        assert_true(kill(pid, 0) < 0 && errno == ESRCH);
        assert_int_equal(a.calls, 1);

        block_prober_free(p);
        sd_event_unref(e);
}

static void test_bad_children(void **state) {
        sd_event *e = NULL;
        BlockProber *p = NULL;
        Answer g = {}, m = {}, d = {}, ok = {};

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(block_prober_new(e, 10 * USEC_PER_SEC, &p), 0);
        block_prober_set_child(p, child_garbage);
        assert_int_equal(block_prober_start(p, "x", 1, 1, on_answer, &g, NULL), 0);
        block_prober_set_child(p, child_too_much);
        assert_int_equal(block_prober_start(p, "x", 1, 1, on_answer, &m, NULL), 0);
        block_prober_set_child(p, child_die);
        assert_int_equal(block_prober_start(p, "x", 1, 1, on_answer, &d, NULL), 0);
        block_prober_set_child(p, child_good);
        assert_int_equal(block_prober_start(p, "x", 1, 1, on_answer, &ok, NULL), 0);
        RUN_UNTIL(e, g.calls && m.calls && d.calls && ok.calls && block_prober_children(p) == 0);
        assert_int_equal(g.error, -EBADMSG);
        assert_int_equal(m.error, -EBADMSG);
        /* Dead before a word: the pipe's EOF or the exit status tells first. */
        assert_true(d.error == -ECHILD || d.error == -EBADMSG);
        assert_int_equal(ok.error, 0);
        assert_int_equal(ok.status, 0);
        assert_string_equal(ok.fs_type, "xfs");
        assert_int_equal(g.calls + m.calls + d.calls + ok.calls, 4);

        block_prober_free(p);
        sd_event_unref(e);
}

static void test_cancel(void **state) {
        sd_event *e = NULL;
        BlockProber *p = NULL;
        BlockProbe *probe;
        Answer a = {};

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(block_prober_new(e, 200 * USEC_PER_MSEC, &p), 0);
        block_prober_set_child(p, child_hang);
        assert_int_equal(block_prober_start(p, "x", 1, 1, on_answer, &a, &probe), 0);
        block_probe_cancel(probe);
        assert_int_equal(block_prober_running(p), 0);
        RUN_UNTIL(e, block_prober_children(p) == 0);
        /* Past the timeout too: no answer for a cancelled probe. */
        (void) sd_event_run(e, 300 * USEC_PER_MSEC);
        assert_int_equal(a.calls, 0);

        /* Freeing the prober with a child running kills it. */
        assert_int_equal(block_prober_start(p, "x", 1, 1, on_answer, &a, NULL), 0);
        block_prober_free(p);
        assert_int_equal(a.calls, 0);
        sd_event_unref(e);
}

/* A process that ignores SIGCHLD has its children reaped by the kernel:
 * waitid() says ECHILD, and the answer still comes from the pipe. */
static void child_good_later(const char *path, unsigned major, unsigned minor, int fd) {
        usleep(100 * 1000);     /* outlive pidfd_open(): reaped at once, its pid is gone */
        child_good(path, major, minor, fd);
}

static void test_sigchld_ignored(void **state) {
        struct sigaction old, ign = { .sa_handler = SIG_IGN };
        sd_event *e = NULL;
        BlockProber *p = NULL;
        Answer a = {};

        assert_int_equal(sigaction(SIGCHLD, &ign, &old), 0);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(block_prober_new(e, 10 * USEC_PER_SEC, &p), 0);
        block_prober_set_child(p, child_good_later);
        assert_int_equal(block_prober_start(p, "x", 1, 1, on_answer, &a, NULL), 0);
        RUN_UNTIL(e, a.calls && block_prober_children(p) == 0);
        assert_int_equal(a.error, 0);
        assert_string_equal(a.fs_type, "xfs");
        block_prober_free(p);
        sd_event_unref(e);
        assert_int_equal(sigaction(SIGCHLD, &old, NULL), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_real_child),
                cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_bad_children),
                cmocka_unit_test(test_cancel),
                cmocka_unit_test(test_sigchld_ignored),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
