/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salvectl: the command line for salve. It parses options, picks a verb
 * from the table and runs it; the verbs live in ctl-*.c by what they
 * talk to (plan files here, salved over D-Bus later). */

#include <getopt.h>

#include "config.h"
#include "ctl.h"

static const Verb verbs[] = {
        { "verify", 1, -1, verb_verify, "verify [FILE|DIR...]   check plan files (default: the installed plans)" },
        { "plans",  1, 1,  verb_plans,  "plans                  list the installed plans" },
        { "show",   2, 2,  verb_show,   "show PLAN              steps in execution order, owners, critical path" },
        { "graph",  2, 2,  verb_graph,  "graph PLAN             the step graph as Graphviz DOT" },
};

const char *ansi(const Ctl *c, const char *code) {
        return c->color ? code : "";
}

static void help(void) {
        printf("salvectl [OPTIONS...] COMMAND ...\n\n"
               "Inspect and drive salve's remediation plans.\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %s\n", verbs[i].usage);
        printf("\nOptions:\n"
               "  -h --help             show this help\n"
               "     --version          show the version\n"
               "     --json             print JSON (plans, show, verify)\n"
               "     --no-legend        leave out headers and footers\n"
               "  -d --plans-dir=DIR    read plans from DIR instead of the system\n"
               "                        directories (may be repeated)\n"
               "\nExit status: 0 success, 1 failure (e.g. invalid plans), 2 usage error,\n"
               "4 no such plan, run or step. See salvectl(1) and salve.plan(5).\n");
}

int main(int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_NO_LEGEND };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "plans-dir", required_argument, NULL, 'd' },
                {}
        };
        Ctl c = { .legend = true };
        const Verb *v = NULL;
        int opt, r, n;

        c.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !streq_ptr(getenv("TERM"), "dumb");

        while ((opt = getopt_long(argc, argv, "hd:", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("salvectl %s\n", SALVE_VERSION);
                        return EXIT_SUCCESS;
                case ARG_JSON:
                        c.json = true;
                        break;
                case ARG_NO_LEGEND:
                        c.legend = false;
                        break;
                case 'd':
                        if (strv_extend(&c.plan_dirs, optarg) < 0)
                                return EXIT_FAILURE;
                        break;
                default:
                        fprintf(stderr, "Try 'salvectl --help'.\n");
                        return EXIT_USAGE;
                }

        if (optind >= argc) {
                fprintf(stderr, "salvectl: missing command. Try 'salvectl --help'.\n");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        v = verbs + i;
        if (!v) {
                fprintf(stderr, "salvectl: unknown command \"%s\". Try 'salvectl --help'.\n", argv[optind]);
                return EXIT_USAGE;
        }
        n = argc - optind;
        if (n < v->min_args || (v->max_args >= 0 && n > v->max_args)) {
                fprintf(stderr, "salvectl: usage: salvectl %s\n", v->usage);
                return EXIT_USAGE;
        }
        r = v->run(&c, n, argv + optind);
        strv_free(c.plan_dirs);
        free(c.comment);
        return r;
}
