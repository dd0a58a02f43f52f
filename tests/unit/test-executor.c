/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The executor's pure parts: transient unit names, the properties an exec
 * step's unit gets, and how systemd's answers (job results, service
 * results, unit states) become an ExecResult. The parts that talk to
 * systemd are tested against a real one in tests/integration. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "executor-internal.h"
#include "plan-load.h"

static void check_name(const char *run, const char *step, unsigned attempt, const char *want) {
        _cleanup_free_ char *name = NULL;

        assert_int_equal(exec_unit_name(run, step, attempt, &name), 0);
        assert_string_equal(name, want);
        assert_true(unit_name_is_valid(name));
}

static void test_unit_name(void **state) {
        check_name("r1", "fsck-root", 1, "salve-r1-fsck-root-1.service");
        check_name("2024-abc", "step_2.x", 17, "salve-2024-abc-step_2.x-17.service");
        check_name("r", "a:b", 0, "salve-r-a:b-0.service");
        /* What systemd does not take in a unit name is escaped as \xNN. */
        check_name("r", "a b", 1, "salve-r-a\\x20b-1.service");
        check_name("r/x", "s@t", 2, "salve-r\\x2fx-s\\x40t-2.service");
        check_name("r", "\xc3\xa9", 3, "salve-r-\\xc3\\xa9-3.service");
}

static void test_unit_name_limits(void **state) {
        char run[300], step[300];
        _cleanup_free_ char *name = NULL;

        /* "salve-" RUN "-" STEP "-1.service": 17 characters besides the ids. */
        memset(run, 'r', 200);
        run[200] = 0;
        memset(step, 's', 38);
        step[38] = 0;
        assert_int_equal(exec_unit_name(run, step, 1, &name), 0);
        assert_int_equal(strlen(name), 255);
        assert_true(unit_name_is_valid(name));
        name = mfree(name);

        step[38] = 's';
        step[39] = 0;
        assert_int_equal(exec_unit_name(run, step, 1, &name), -ENAMETOOLONG);
        assert_null(name);

        /* Escaping counts: 60 escaped characters take 240. */
        memset(step, ' ', 60);
        step[60] = 0;
        assert_int_equal(exec_unit_name("r", step, 1, &name), -ENAMETOOLONG);
        step[59] = 0;
        assert_int_equal(exec_unit_name("r", step, 1, &name), 0);
        assert_int_equal(strlen(name), 17 + 1 + 59 * 4);
        name = mfree(name);

        assert_int_equal(exec_unit_name(NULL, "s", 1, &name), -EINVAL);
        assert_int_equal(exec_unit_name("", "s", 1, &name), -EINVAL);
        assert_int_equal(exec_unit_name("r", "", 1, &name), -EINVAL);
        assert_int_equal(exec_unit_name("r", NULL, 1, &name), -EINVAL);
        assert_int_equal(exec_unit_name("r", "s", 1, NULL), -EINVAL);
}

static void test_outcome_strings(void **state) {
        assert_string_equal(exec_outcome_to_string(EXEC_SUCCEEDED), "succeeded");
        assert_string_equal(exec_outcome_to_string(EXEC_FAILED), "failed");
        assert_string_equal(exec_outcome_to_string(EXEC_TIMED_OUT), "timed-out");
        assert_string_equal(exec_outcome_to_string(EXEC_NOT_SUPPORTED), "not-supported");
        assert_null(exec_outcome_to_string(_EXEC_OUTCOME_MAX));
        assert_null(exec_outcome_to_string(_EXEC_OUTCOME_INVALID));
}

static Plan *load(const char *yaml) {
        Diagnostics d = {};
        Plan *p = NULL;
        int r;

        r = plan_load_buffer("test.yaml", yaml, strlen(yaml), &d, &p);
        if (r < 0)
                diagnostics_print(&d, stderr);
        diagnostics_done(&d);
        assert_int_equal(r, 0);
        return p;
}

static void assert_strv_equal(char **l, const char * const *want) {
        size_t n = 0;

        for (; want[n]; n++) {
                assert_non_null(l[n]);
                assert_string_equal(l[n], want[n]);
        }
        assert_null(l[n]);
}

static void test_check_spec_and_phase(void **state) {
        _cleanup_(plan_freep) Plan *p = load(
                "plan: t\n"
                "steps:\n"
                "  - id: restore\n"
                "    run: exec\n"
                "    with: {command: [/usr/sbin/restore], user: backup}\n"
                "    done-if: {command: [/usr/bin/test, -e, /srv/restored], timeout: 20s}\n");
        ExecTransientSpec s = {};

        assert_int_equal(exec_check_spec_build("r7", p->steps + 0, 3, &s), 0);
        assert_string_equal(s.unit, "salve-r7-restore-3-done-if.service");
        assert_strv_equal(s.argv, (const char *[]) { "/usr/bin/test", "-e", "/srv/restored", NULL });
        assert_null(s.user);    /* the check runs as root, whoever the step runs as */
        assert_true(s.runtime_max == 20 * USEC_PER_SEC);
        exec_transient_spec_done(&s);

        /* How a transient unit stands, as systemd shows it. */
        assert_int_equal(exec_service_phase(&(ServiceEnd) { .load_state = "not-found", .active_state = "inactive" }),
                         SERVICE_PHASE_GONE);
        assert_int_equal(exec_service_phase(&(ServiceEnd) { .load_state = "loaded", .active_state = "active",
                                                           .sub_state = "running" }),
                         SERVICE_PHASE_RUNNING);
        assert_int_equal(exec_service_phase(&(ServiceEnd) { .load_state = "loaded", .active_state = "active",
                                                           .sub_state = "exited", .exit_timestamp = 5 }),
                         SERVICE_PHASE_ENDED);
        assert_int_equal(exec_service_phase(&(ServiceEnd) { .load_state = "loaded", .active_state = "deactivating",
                                                           .sub_state = "stop-sigterm", .exit_timestamp = 0 }),
                         SERVICE_PHASE_RUNNING);
        assert_int_equal(exec_service_phase(&(ServiceEnd) { .load_state = "loaded", .active_state = "failed",
                                                           .sub_state = "failed", .exit_timestamp = 9 }),
                         SERVICE_PHASE_ENDED);
        assert_int_equal(exec_service_phase(&(ServiceEnd) { .load_state = "loaded", .active_state = "inactive",
                                                           .sub_state = "dead" }),
                         SERVICE_PHASE_PENDING);
}

static void test_transient_spec(void **state) {
        _cleanup_(plan_freep) Plan *p = load(
                "plan: t\n"
                "steps:\n"
                "  - id: repair\n"
                "    run: exec\n"
                "    timeout: 90s\n"
                "    with:\n"
                "      command: [/sbin/e2fsck, -p, /dev/vdb1]\n"
                "      environment: [LANG=C, \"X=a b\"]\n"
                "      user: backup\n"
                "      working-directory: /var/lib/backup\n"
                "  - id: plain\n"
                "    run: exec\n"
                "    with: {command: [true]}\n"
                "  - id: other\n"
                "    run: unit.start\n"
                "    with: {unit: a.service}\n");
        ExecTransientSpec s = {};

        assert_int_equal(exec_transient_spec_build("r7", p->steps + 0, 2, 90 * USEC_PER_SEC, &s), 0);
        assert_string_equal(s.unit, "salve-r7-repair-2.service");
        assert_string_equal(s.description, "salve run r7, step repair, attempt 2");
        assert_string_equal(s.exec_path, "/sbin/e2fsck");
        assert_strv_equal(s.argv, (const char *[]) { "/sbin/e2fsck", "-p", "/dev/vdb1", NULL });
        assert_strv_equal(s.environment, (const char *[]) { "SALVE_RUN=r7", "SALVE_STEP=repair", "SALVE_ATTEMPT=2",
                                                            "LANG=C", "X=a b", NULL });
        assert_string_equal(s.user, "backup");
        assert_string_equal(s.working_directory, "/var/lib/backup");
        assert_string_equal(s.syslog_identifier, "repair");
        assert_strv_equal(s.log_extra_fields,
                          (const char *[]) { "SALVE_RUN=r7", "SALVE_STEP=repair", "SALVE_ATTEMPT=2", NULL });
        assert_true(s.runtime_max == 90 * USEC_PER_SEC);
        exec_transient_spec_done(&s);
        assert_null(s.unit);

        /* Optional parts stay unset; no timeout means no RuntimeMaxSec=. */
        assert_int_equal(exec_transient_spec_build("r7", p->steps + 1, 1, USEC_INFINITY, &s), 0);
        assert_string_equal(s.exec_path, "true");
        assert_strv_equal(s.argv, (const char *[]) { "true", NULL });
        assert_strv_equal(s.environment,
                          (const char *[]) { "SALVE_RUN=r7", "SALVE_STEP=plain", "SALVE_ATTEMPT=1", NULL });
        assert_null(s.user);
        assert_null(s.working_directory);
        assert_true(s.runtime_max == USEC_INFINITY);
        exec_transient_spec_done(&s);

        assert_int_equal(exec_transient_spec_build("r7", p->steps + 2, 1, USEC_INFINITY, &s), -EINVAL);
        assert_int_equal(exec_transient_spec_build(NULL, p->steps + 1, 1, USEC_INFINITY, &s), -EINVAL);
        exec_transient_spec_done(NULL);
}

static void check_service(const char *result, int code, int status, usec_t timeout, ExecOutcome want,
                          int want_exit, const char *want_message) {
        char buf[256];
        int exit_status = 12345;

        assert_int_equal(exec_service_outcome(result, code, status, timeout, &exit_status, buf, sizeof(buf)), want);
        assert_int_equal(exit_status, want_exit);
        assert_string_equal(buf, want_message);
}

static void test_service_outcome(void **state) {
        check_service("success", CLD_EXITED, 0, USEC_INFINITY, EXEC_SUCCEEDED, 0, "exit status 0");
        check_service("success", CLD_KILLED, SIGTERM, USEC_INFINITY, EXEC_FAILED, -1,
                      "stopped before it finished (killed by signal SIGTERM)");
        check_service("exit-code", CLD_EXITED, 3, USEC_INFINITY, EXEC_FAILED, 3, "exit status 3");
        check_service("exit-code", CLD_EXITED, 203, USEC_INFINITY, EXEC_FAILED, 203,
                      "exit status 203 (EXEC: the command was not found or is not executable)");
        check_service("exit-code", CLD_EXITED, 217, USEC_INFINITY, EXEC_FAILED, 217,
                      "exit status 217 (USER: cannot set up the user)");
        check_service("timeout", CLD_KILLED, SIGTERM, 2 * USEC_PER_SEC, EXEC_TIMED_OUT, -1,
                      "timed out after 2s, stopped");
        check_service("timeout", CLD_KILLED, SIGTERM, USEC_INFINITY, EXEC_TIMED_OUT, -1, "timed out, stopped");
        check_service("signal", CLD_KILLED, SIGKILL, USEC_INFINITY, EXEC_FAILED, -1, "killed by signal SIGKILL");
        check_service("core-dump", CLD_DUMPED, SIGSEGV, USEC_INFINITY, EXEC_FAILED, -1,
                      "dumped core on signal SIGSEGV");
        check_service("oom-kill", CLD_KILLED, SIGKILL, USEC_INFINITY, EXEC_FAILED, -1, "killed by the OOM killer");
        check_service("resources", 0, 0, USEC_INFINITY, EXEC_FAILED, -1,
                      "systemd could not set up the service (Result=resources, see the journal)");
        check_service("watchdog", CLD_KILLED, SIGABRT, USEC_INFINITY, EXEC_FAILED, -1, "failed (Result=watchdog)");
        check_service(NULL, 0, 0, USEC_INFINITY, EXEC_FAILED, -1, "failed (Result=n/a)");
}

static void check_job(StepKind kind, const char *result, const char *state, ExecOutcome want,
                      const char *want_message) {
        char buf[256];

        assert_int_equal(exec_unit_job_outcome(kind, result, state, buf, sizeof(buf)), want);
        assert_string_equal(buf, want_message);
}

static void test_unit_job_outcome(void **state) {
        check_job(STEP_UNIT_START, "done", "active", EXEC_SUCCEEDED, "start job done, unit active");
        /* A oneshot without RemainAfterExit= is inactive once it ran. */
        check_job(STEP_UNIT_START, "done", "inactive", EXEC_SUCCEEDED, "start job done, unit inactive");
        check_job(STEP_UNIT_START, "done", "failed", EXEC_FAILED, "start job done, but the unit failed");
        check_job(STEP_UNIT_RESTART, "done", "failed", EXEC_FAILED, "restart job done, but the unit failed");
        check_job(STEP_UNIT_START, "done", NULL, EXEC_SUCCEEDED, "start job done");
        check_job(STEP_UNIT_STOP, "done", "inactive", EXEC_SUCCEEDED, "stop job done, unit inactive");
        check_job(STEP_UNIT_STOP, "done", "failed", EXEC_SUCCEEDED, "stop job done, unit failed");
        check_job(STEP_UNIT_STOP, "done", "active", EXEC_FAILED, "stop job done, but the unit is active again");
        check_job(STEP_UNIT_START, "failed", NULL, EXEC_FAILED, "start job failed");
        check_job(STEP_UNIT_START, "dependency", NULL, EXEC_FAILED, "start job failed: a dependency failed");
        check_job(STEP_UNIT_STOP, "canceled", NULL, EXEC_FAILED, "stop job was canceled");
        check_job(STEP_UNIT_RESTART, "timeout", NULL, EXEC_FAILED,
                  "restart job timed out (the unit's JobTimeoutSec=)");
        check_job(STEP_UNIT_START, "skipped", NULL, EXEC_SUCCEEDED,
                  "start job skipped: nothing to do in the unit's state");
        check_job(STEP_UNIT_START, "whatever", NULL, EXEC_FAILED, "start job ended with result \"whatever\"");
        check_job(STEP_UNIT_START, NULL, NULL, EXEC_FAILED, "start job ended with result \"n/a\"");
}

static void test_unit_state_is(void **state) {
        assert_true(exec_unit_state_is("active", "active"));
        assert_true(exec_unit_state_is("reloading", "active"));
        assert_false(exec_unit_state_is("activating", "active"));
        assert_true(exec_unit_state_is("inactive", "inactive"));
        assert_false(exec_unit_state_is("failed", "inactive"));
        assert_true(exec_unit_state_is("failed", "failed"));
        assert_false(exec_unit_state_is(NULL, "active"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unit_name),
                cmocka_unit_test(test_unit_name_limits),
                cmocka_unit_test(test_outcome_strings),
                cmocka_unit_test(test_transient_spec),
                cmocka_unit_test(test_check_spec_and_phase),
                cmocka_unit_test(test_service_outcome),
                cmocka_unit_test(test_unit_job_outcome),
                cmocka_unit_test(test_unit_state_is),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
