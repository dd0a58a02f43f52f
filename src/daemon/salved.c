/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salved: parse the command line, build the Manager, run its loop. */

#include <getopt.h>

#include "config.h"
#include "log.h"
#include <systemd/sd-daemon.h>

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

int main(int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_STATE_DIR, ARG_RUNTIME_DIR, ARG_NO_POLKIT, ARG_LOG_LEVEL };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "plans-dir", required_argument, NULL, 'd' },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "no-polkit", no_argument, NULL, ARG_NO_POLKIT },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                {}
        };
        _cleanup_(manager_freep) Manager *m = NULL;
        const char *crash;
        int opt, r;

        r = manager_new(&m);
        if (r < 0) {
                log_error_errno(r, "Failed to set up: %m");
                return EXIT_FAILURE;
        }

        while ((opt = getopt_long(argc, argv, "hd:", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("salved %s\n", SALVE_VERSION);
                        return EXIT_SUCCESS;
                case 'd':
                        if (strv_extend(&m->plan_dirs, optarg) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_STATE_DIR:
                        free(m->state_dir);
                        m->state_dir = strdup(optarg);
                        if (!m->state_dir)
                                return EXIT_FAILURE;
                        break;
                case ARG_RUNTIME_DIR:
                        free(m->runtime_dir);
                        m->runtime_dir = strdup(optarg);
                        if (!m->runtime_dir)
                                return EXIT_FAILURE;
                        break;
                case ARG_NO_POLKIT:
                        m->polkit = false;
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
        return EXIT_SUCCESS;
}
