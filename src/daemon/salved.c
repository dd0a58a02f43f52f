/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salved: parse the command line, build the Manager, run its loop. */

#include <getopt.h>
#include <signal.h>

#include "config.h"
#include "log.h"
#include <systemd/sd-daemon.h>

#include "manager-metrics.h"
#include "manager-reload.h"
#include "manager.h"

static void help(void) {
        printf("salved [OPTIONS...]\n\n"
               "The salve remediation daemon: runs plans on triggers and on request.\n\n"
               "  -h --help              show this help\n"
               "     --version           show the version\n"
               "  -d --plans-dir=DIR     read plans from DIR instead of the system directories\n"
               "                         (may be repeated; no ownership checks)\n"
               "     --state-dir=DIR     keep the run journal in DIR (default " SALVE_STATE_DIR ")\n"
               "     --runtime-dir=DIR   runtime directory (default $RUNTIME_DIRECTORY or /run/salve)\n"
               "     --no-polkit         do not ask polkit: only root may change anything\n"
               "     --metrics-file=PATH write metrics for node_exporter's textfile collector\n"
               "                         to PATH (default $SALVE_METRICS_FILE or\n"
               "                         " MANAGER_METRICS_FILE_DEFAULT "; \"\" for none)\n"
               "     --log-level=LEVEL   debug, info, notice, warning or err (default info)\n"
               "\nSee salved(8).\n");
}

static int parse_level(const char *s) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;
        return -EINVAL;
}

typedef struct Options {
        char **plan_dirs;
        const char *state_dir;
        const char *runtime_dir;
        const char *metrics_file;
        bool no_polkit;
} Options;

/* SIGTERM, SIGINT: stop (manager_stop asks systemd, without blocking,
 * whether the system is going down). SIGHUP: reload the plans. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        int k;

        if (si->ssi_signo == SIGHUP) {
                k = manager_reload_request(m, NULL);
                if (k < 0)
                        log_error_errno(k, "Failed to start a reload: %m");
                return 0;
        }
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
        return manager_stop(m);
}

static int set_string(char **field, const char *value) {
        char *c;

        if (!value)
                return 0;
        c = strdup(value);
        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

int main(int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_STATE_DIR, ARG_RUNTIME_DIR, ARG_NO_POLKIT, ARG_LOG_LEVEL, ARG_METRICS_FILE };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "plans-dir", required_argument, NULL, 'd' },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "no-polkit", no_argument, NULL, ARG_NO_POLKIT },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "metrics-file", required_argument, NULL, ARG_METRICS_FILE },
                {}
        };
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(strv_freep) char **plan_dirs = NULL;
        Options o = {};
        const char *crash;
        sigset_t mask;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "hd:", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("salved %s\n", SALVE_VERSION);
                        return EXIT_SUCCESS;
                case 'd':
                        if (strv_extend(&plan_dirs, optarg) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_STATE_DIR:
                        o.state_dir = optarg;
                        break;
                case ARG_RUNTIME_DIR:
                        o.runtime_dir = optarg;
                        break;
                case ARG_NO_POLKIT:
                        o.no_polkit = true;
                        break;
                case ARG_METRICS_FILE:
                        o.metrics_file = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        r = parse_level(optarg);
                        if (r < 0) {
                                fprintf(stderr, "salved: unknown log level \"%s\"\n", optarg);
                                return 2;
                        }
                        log_set_max_level(r);
                        break;
                default:
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "salved: takes no arguments\n");
                return 2;
        }
        if (!o.metrics_file)
                o.metrics_file = getenv("SALVE_METRICS_FILE") ?: MANAGER_METRICS_FILE_DEFAULT;
        if (*o.metrics_file && *o.metrics_file != '/') {
                fprintf(stderr, "salved: the metrics file must be an absolute path: \"%s\"\n", o.metrics_file);
                return 2;
        }

        r = sd_event_default(&event);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                return EXIT_FAILURE;
        }
        (void) sd_event_set_watchdog(event, true);
        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                log_error_errno(r, "Failed to connect to the system bus: %m");
                return EXIT_FAILURE;
        }
        r = manager_new(event, bus, &m);
        if (r >= 0)
                r = set_string(&m->state_dir, o.state_dir);
        if (r >= 0)
                r = set_string(&m->runtime_dir, o.runtime_dir);
        if (r >= 0)
                r = set_string(&m->metrics_path, o.metrics_file);
        if (r < 0) {
                log_error_errno(r, "Failed to set up: %m");
                return EXIT_FAILURE;
        }
        m->plan_dirs = TAKE_PTR(plan_dirs);
        m->polkit = !o.no_polkit;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
            sd_event_add_signal(event, NULL, SIGTERM, on_signal, m) < 0 ||
            sd_event_add_signal(event, NULL, SIGINT, on_signal, m) < 0 ||
            sd_event_add_signal(event, NULL, SIGHUP, on_signal, m) < 0) {
                log_error("Failed to set up signal handling.");
                return EXIT_FAILURE;
        }

        /* For the crash tests only: die by SIGKILL at the N-th journal append
         * (N[:TORN] writes only TORN bytes of that record first). */
        crash = getenv("SALVE_TEST_CRASH_AT_RECORD");
        if (crash) {
                unsigned long long n = 0, torn = 0;
                if (sscanf(crash, "%llu:%llu", &n, &torn) >= 1) {
                        m->crash_at_record = n;
                        m->crash_torn_bytes = (size_t) torn;
                        log_warning("Test crash point armed at journal record %llu.", n);
                }
        }

        r = manager_startup(m);
        if (r < 0) {
                (void) sd_notifyf(false, "STATUS=Failed to start: %s\nERRNO=%i", strerror(-r), -r);
                return EXIT_FAILURE;
        }
        r = manager_run(m);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        /* The Manager goes first: it holds references to the loop and the bus. */
        m = manager_free(m);
        return EXIT_SUCCESS;
}
