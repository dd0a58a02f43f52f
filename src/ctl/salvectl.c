/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salvectl: the command line for salve. It parses options, picks a verb
 * from the table and runs it; the verbs live in ctl-*.c by what they
 * talk to (plan files here, salved over D-Bus later). */

#include <getopt.h>
#include <json-c/json.h>

#include "config.h"
#include "ctl.h"

static const Verb verbs[] = {
        { "verify", 1, -1, verb_verify, "verify [FILE|DIR...]   check plan files (default: the installed plans)" },
        { "plans",  1, 1,  verb_plans,  "plans                  list the installed plans" },
        { "show",   2, 2,  verb_show,   "show PLAN              steps in execution order, owners, critical path" },
        { "graph",  2, 2,  verb_graph,  "graph PLAN|RUN         the step graph as Graphviz DOT (-T FORMAT: rendered by dot)" },
        { "status", 1, 2,  verb_status, "status [RUN]           active runs, or one run's steps and RTO clock" },
        { "report", 2, 2,  verb_report, "report RUN             the post-incident report (--format markdown|html|json)" },
        { "history", 1, 1, verb_history, "history                all runs salved remembers, finished ones too" },
        { "run",    2, 2,  verb_run,    "run PLAN               start a run (prints its id)" },
        { "watch",  2, 2,  verb_watch,  "watch RUN              follow a run live until it ends" },
        { "cancel", 2, 2,  verb_cancel, "cancel RUN             cancel a run" },
        { "ack",    3, 3,  verb_ack,    "ack RUN STEP           acknowledge a waiting person's step (stops escalation)" },
        { "approve", 3, 3, verb_act,    "approve RUN STEP       approve a waiting approval step" },
        { "reject", 3, 3,  verb_act,    "reject RUN STEP        reject it (the step fails)" },
        { "done",   3, 3,  verb_act,    "done RUN STEP          mark a waiting task done" },
        { "fail",   3, 3,  verb_act,    "fail RUN STEP          mark a waiting task failed" },
        { "retry",  3, 3,  verb_act,    "retry RUN STEP         run an interrupted or failed step again" },
        { "skip",   3, 3,  verb_act,    "skip RUN STEP          skip a step (counts as done)" },
        { "abort",  3, 3,  verb_act,    "abort RUN STEP         fail the step and the run" },
        { "holds",  1, 1,  verb_holds,  "holds                  the units salve holds back, and why" },
        { "release", 2, 2, verb_release, "release UNIT           let a held unit start (--comment WHY)" },
        { "outbox", 1, 3,  verb_outbox, "outbox [retry|drop ID]  notifications pending, retrying, dead; send again or drop" },
        { "notifiers", 1, 1, verb_notifiers, "notifiers              the relay's notifiers and how they answer" },
        { "reload", 1, 1,  verb_reload, "reload                 make salved re-read the plans" },
        { "oncall", 2, 2,  verb_oncall, "oncall NAME            who a rotation, team or person means now (--at TIME)" },
        { "people", 1, 1,  verb_people, "people                 the people, teams and rotations of the people directory" },
};

void print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Verbs whose output can be long go through the pager on a terminal;
 * never those that change something (polkit may ask for a password on
 * the terminal) or follow a run live. */
static bool verb_pages(const char *verb, int n) {
        static const char *const paged[] = { "verify", "plans", "show", "graph", "status", "history",
                                             "holds", "notifiers", "oncall", "people", "report" };
        if (streq(verb, "outbox"))
                return n == 1;
        for (size_t i = 0; i < ELEMENTSOF(paged); i++)
                if (streq(verb, paged[i]))
                        return true;
        return false;
}

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
               "     --json             print JSON (the listings, show, status, verify, run)\n"
               "     --no-legend        leave out headers and footers\n"
               "     --no-pager         do not pipe long output into a pager\n"
               "  -d --plans-dir=DIR    read plans from DIR instead of the system\n"
               "                        directories (may be repeated)\n"
               "     --comment=TEXT     a comment recorded with approve, cancel, ...\n"
               "     --reason=TEXT      why a run is started, recorded with it\n"
               "     --trigger=NAME=VALUE  run: set ${trigger.NAME} as a trigger would\n"
               "                        (may be repeated)\n"
               "     --no-ask-password  never ask for authentication\n"
               "     --people-dir=DIR   read people.d from DIR instead of the system\n"
               "                        directories (may be repeated)\n"
               "  -T FORMAT             graph: render with Graphviz's dot -TFORMAT (svg, png, pdf)\n"
               "     --format=FORMAT    report: markdown (default), html or json\n"
               "  -o --output=FILE      graph, report: write to FILE instead of stdout\n"
               "     --at=TIME          oncall: at TIME instead of now: \"2026-12-24 10:00\"\n"
               "                        (local), \"2026-12-24T10:00:00+01:00\", @EPOCH, +2h\n"
               "\nExit status: 0 success, 1 failure (e.g. invalid plans), 2 usage error,\n"
               "4 no such plan, run, step or name. See salvectl(1), salve.plan(5) and\n"
               "salve.people(5).\n");
}

/* graph and report's options (getopt_long's values past the ARG_ enum). */
#define ARG_FORMAT 0x200

/* Parses the options into c and runs the verb; main() frees c whatever
 * happened (ASan's leak check saw --help after -d leak the list). */
static int parse_and_run(Ctl *c, int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_NO_LEGEND, ARG_COMMENT, ARG_REASON, ARG_TRIGGER, ARG_NO_ASK_PASSWORD,
               ARG_PEOPLE_DIR, ARG_AT, ARG_NO_PAGER };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                { "plans-dir", required_argument, NULL, 'd' },
                { "comment", required_argument, NULL, ARG_COMMENT },
                { "reason", required_argument, NULL, ARG_REASON },
                { "trigger", required_argument, NULL, ARG_TRIGGER },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                { "people-dir", required_argument, NULL, ARG_PEOPLE_DIR },
                { "at", required_argument, NULL, ARG_AT },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "output", required_argument, NULL, 'o' },
                {}
        };
        const Verb *v = NULL;
        int opt, n;

        while ((opt = getopt_long(argc, argv, "hd:T:o:", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("salvectl %s\n", SALVE_VERSION);
                        return EXIT_SUCCESS;
                case ARG_JSON:
                        c->json = true;
                        break;
                case ARG_NO_LEGEND:
                        c->legend = false;
                        break;
                case ARG_NO_PAGER:
                        c->pager = false;
                        break;
                case 'd':
                        if (strv_extend(&c->plan_dirs, optarg) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_COMMENT:
                        free(c->comment);
                        c->comment = strdup(optarg);
                        if (!c->comment)
                                return EXIT_FAILURE;
                        break;
                case ARG_REASON:
                        free(c->reason);
                        c->reason = strdup(optarg);
                        if (!c->reason)
                                return EXIT_FAILURE;
                        break;
                case ARG_TRIGGER:
                        if (!strchr(optarg, '=') || optarg[0] == '=') {
                                fprintf(stderr, "salvectl: --trigger takes NAME=VALUE, e.g. --trigger unit=web.service\n");
                                return EXIT_USAGE;
                        }
                        if (strv_extend(&c->trigger, optarg) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_PEOPLE_DIR:
                        if (strv_extend(&c->people_dirs, optarg) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_AT:
                        if (ctl_parse_at(optarg, now_usec(CLOCK_REALTIME), &c->at) < 0) {
                                fprintf(stderr, "salvectl: --at: \"%s\" is not a time (expected e.g. \"2026-12-24 "
                                        "10:00\" in local time, 2026-12-24T10:00:00+01:00, @1798100000 or +2h)\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        c->at_set = true;
                        break;
                case 'T':
                        free(c->graph_format);
                        c->graph_format = strdup(optarg);
                        if (!c->graph_format)
                                return EXIT_FAILURE;
                        break;
                case ARG_FORMAT:
                        free(c->report_format);
                        c->report_format = strdup(optarg);
                        if (!c->report_format)
                                return EXIT_FAILURE;
                        break;
                case 'o':
                        free(c->output);
                        c->output = strdup(optarg);
                        if (!c->output)
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
        if (verb_pages(v->name, n) && !c->output && !c->graph_format) /* not a picture or a file */
                pager_open(c);
        return v->run(c, n, argv + optind);
}

int main(int argc, char **argv) {
        Ctl c = { .legend = true, .ask_password = true, .pager = true };
        int r;

        c.color = ctl_want_color(isatty(STDOUT_FILENO));
        r = parse_and_run(&c, argc, argv);
        pager_close();
        polkit_agent_close();
        strv_free(c.plan_dirs);
        strv_free(c.people_dirs);
        free(c.comment);
        free(c.reason);
        free(c.graph_format);
        free(c.report_format);
        free(c.output);
        strv_free(c.trigger);
        return r;
}
