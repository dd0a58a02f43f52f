/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* exec-driver: runs steps of one plan file through the Executor against
 * the real system bus, one after another on one sd-event loop, and prints
 * one line per step:
 *     STEP OUTCOME exit=N MESSAGE
 * Used by tests/integration/test-executor.sh inside a container; not
 * installed.
 *
 * usage: exec-driver [--run-id ID] [--attempt N] [--trigger KIND] [--cancel-after MS] [--resume] PLAN STEP...
 * A STEP written "when:ID" evaluates that step's `when:` instead of
 * running it. With --resume, steps are picked up with executor_resume()
 * as salved does after a restart (started: now). With --cancel-after, a step still running after MS
 * milliseconds is cancelled (exec_job_cancel) and reported as "cancelled". Exits 0 once every step has been reported, 1 on a setup
 * error. */

#include <getopt.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "executor.h"
#include "plan-load.h"
#include "string-util.h"

typedef struct Pending {
        Executor *e;
        const char *name;
        ExecJob *job;
        bool done;
} Pending;

static int on_cancel_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Pending *p = userdata;

        if (p->done)
                return 0;
        exec_job_cancel(p->job);
        p->job = NULL;
        printf("%s cancelled exit=-1 cancelled by the driver\n", p->name);
        fflush(stdout);
        p->done = true;
        return 0;
}

static void on_done(ExecJob *job, const ExecResult *result, void *userdata) {
        Pending *p = userdata;

        printf("%s %s exit=%d %s\n", p->name, exec_outcome_to_string(result->outcome), result->exit_status,
               result->message);
        fflush(stdout);
        /* The result is "durable" once printed: let its unit go, as salved
         * does once it has journaled it. */
        executor_release_unit(p->e, result->unit);
        p->done = true;
}

static int run_one(sd_event *event, Executor *e, const Plan *plan, const char *name, const char *run_id,
                   unsigned attempt, const char *trigger, uint64_t cancel_after_ms, bool resume) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *cancel = NULL;
        bool when = string_has_prefix(name, "when:");
        const char *id = when ? name + 5 : name;
        Pending p = { .e = e, .name = name };
        ssize_t i;
        int r;

        i = plan_find_step(plan, id);
        if (i < 0) {
                fprintf(stderr, "exec-driver: no step \"%s\" in %s\n", id, plan->path);
                return -ENOENT;
        }
        const Step *step = plan->steps + i;

        if (when)
                r = executor_check_condition(e, &step->when, trigger, on_done, &p, &p.job);
        else if (resume)
                r = executor_resume(e, run_id, step, attempt, step->timeout, now_usec(CLOCK_REALTIME), on_done, &p,
                                    &p.job);
        else
                r = executor_start(e, run_id, step, attempt, step->timeout, on_done, &p, &p.job);
        if (r < 0) {
                printf("%s error exit=-1 could not start: %s\n", name, strerror(-r));
                fflush(stdout);
                return 0;
        }
        if (p.done) {
                fprintf(stderr, "exec-driver: %s: callback came from inside the start call\n", name);
                return -EPROTO;
        }
        if (cancel_after_ms > 0) {
                r = sd_event_add_time_relative(event, &cancel, CLOCK_MONOTONIC, cancel_after_ms * 1000, 0,
                                               on_cancel_timer, &p);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(cancel, "exec-driver-cancel");
        }
        while (!p.done) {
                r = sd_event_run(event, UINT64_MAX);
                if (r < 0) {
                        fprintf(stderr, "exec-driver: event loop: %s\n", strerror(-r));
                        return r;
                }
        }
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "run-id", required_argument, NULL, 'r' },
                { "attempt", required_argument, NULL, 'a' },
                { "trigger", required_argument, NULL, 't' },
                { "cancel-after", required_argument, NULL, 'c' },
                { "resume", no_argument, NULL, 'R' },
                {}
        };
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(executor_freep) Executor *e = NULL;
        _cleanup_(plan_freep) Plan *plan = NULL;
        const char *run_id = "drv", *trigger = "manual";
        unsigned attempt = 1;
        uint64_t cancel_after_ms = 0;
        bool resume = false;
        Diagnostics d = {};
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        run_id = optarg;
                        break;
                case 'a':
                        attempt = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 't':
                        trigger = optarg;
                        break;
                case 'c':
                        cancel_after_ms = strtoull(optarg, NULL, 10);
                        break;
                case 'R':
                        resume = true;
                        break;
                default:
                        return 1;
                }
        if (argc - optind < 2) {
                fprintf(stderr, "usage: exec-driver [--run-id ID] [--attempt N] [--trigger KIND] [--cancel-after MS] "
                                "[--resume] PLAN STEP...\n");
                return 1;
        }

        r = plan_load_file(argv[optind], 0, &d, &plan);
        diagnostics_print(&d, stderr);
        diagnostics_done(&d);
        if (r < 0) {
                fprintf(stderr, "exec-driver: cannot load %s: %s\n", argv[optind], strerror(-r));
                return 1;
        }

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = executor_new(event, bus, NULL, &e);
        if (r < 0) {
                fprintf(stderr, "exec-driver: setup: %s\n", strerror(-r));
                return 1;
        }

        for (int i = optind + 1; i < argc; i++) {
                r = run_one(event, e, plan, argv[i], run_id, attempt, trigger, cancel_after_ms, resume);
                if (r < 0)
                        return 1;
        }
        /* The executor's fire-and-forget calls (StopUnit, Unref) must be
         * carried out before we hang up: systemd checks the caller's
         * credentials with the bus daemon, which fails once we are gone.
         * systemd handles one connection's calls in order, so a reply to a
         * later Ping means they were. (A test program may block; the
         * executor never does.) */
        e = executor_free(e);
        (void) sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                  "org.freedesktop.DBus.Peer", "Ping", NULL, NULL, NULL);
        return 0;
}
