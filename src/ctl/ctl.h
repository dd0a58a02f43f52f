/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* salvectl's shared state: options parsed once in main(), then handed to
 * the verb that runs. Exit codes (documented in salvectl(1)):
 *   0 success, 1 failure (invalid plans, a refused or failed request),
 *   2 usage error, 4 no such plan, run or step. */

#include <systemd/sd-bus.h>

#include "macro.h"
#include "strv.h"
#include "time-util.h"

enum {
        EXIT_USAGE = 2,
        EXIT_NOT_FOUND = 4,
};

typedef struct Ctl {
        bool json;
        bool legend;
        bool color;
        bool pager;             /* false: --no-pager */
        char **plan_dirs;       /* --plans-dir, overriding the system dirs */
        char *comment;          /* --comment for approve and friends */
        char *reason;           /* --reason for run */
        char **trigger;         /* --trigger NAME=VALUE for run */
        bool ask_password;
        char **people_dirs;     /* --people-dir, overriding the system dirs */
        usec_t at;              /* --at, for oncall */
        bool at_set;
        char *graph_format;     /* -T FORMAT for graph: through Graphviz's dot */
        char *report_format;    /* --format for report: markdown, html, json */
        char *output;           /* -o FILE for graph and report */
} Ctl;

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* counting the verb itself; -1: any */
        int (*run)(Ctl *c, int argc, char **argv);
        const char *usage;
} Verb;

/* ctl-agent.c: a polkit agent so that polkit can ask for a password. */
void polkit_agent_open(Ctl *c);
void polkit_agent_close(void);

/* Pretty JSON on stdout, for --json. */
typedef struct json_object json_object;
void print_json(json_object *o);
/* A string or microsecond field of a JSON object (NULL, 0 when absent or
 * of another type), and a time in the local zone as strftime's format
 * says ("-" for 0). */
const char *jstr(json_object *o, const char *key);
uint64_t jusec(json_object *o, const char *key);
char *format_local_time(char *buf, size_t n, uint64_t usec, const char *format) __attribute__((format(strftime, 4, 0)));

/* A human step's instructions (each line indented by PREFIX) and links,
 * so the person acting on it reads what to do where salvectl shows it. */
void print_human_help(const char *prefix, const char *instructions, char *const *links);

/* ctl-bus.c: the system bus, errors in words and exit codes, and a change
 * (with a polkit agent on a terminal). */
int bus_connect(Ctl *c, sd_bus **ret);
int bus_failed(const char *what, const sd_bus_error *e, int r);
int call_change(Ctl *c, sd_bus **bus, const char *what, const char *method, const char *types, ...);

/* ctl-human.c: a person's step's escalation, under the step. */
void print_step_escalation(const Ctl *c, json_object *s, const char *prefix);
void print_outbox_summary(const Ctl *c, sd_bus *bus);

/* ctl-pager.c: colours for a terminal, unless NO_COLOR or SYSTEMD_COLORS
 * says otherwise (SYSTEMD_COLORS=1 forces them); a pager for long output
 * on a terminal (SYSTEMD_PAGER, PAGER, less, more; "" or "cat": none). */
bool ctl_want_color(bool tty);
void pager_open(const Ctl *c);
void pager_close(void);

/* Colours only on a terminal, and never with NO_COLOR set. */
const char *ansi(const Ctl *c, const char *code);
#define ANSI_RED "\033[31m"
#define ANSI_GREEN "\033[32m"
#define ANSI_YELLOW "\033[33m"
#define ANSI_BOLD "\033[1m"
#define ANSI_GREY "\033[90m"
#define ANSI_RESET "\033[0m"

int verb_verify(Ctl *c, int argc, char **argv);
int verb_plans(Ctl *c, int argc, char **argv);
int verb_show(Ctl *c, int argc, char **argv);
int verb_graph(Ctl *c, int argc, char **argv);
/* ctl-graph.c, ctl-report.c: a run's graph and its post-incident report.
 * ctl_plan_exists() (ctl-plans.c) tells graph a plan's name from a run's. */
int verb_graph_run(Ctl *c, int argc, char **argv);
int verb_report(Ctl *c, int argc, char **argv);
bool ctl_plan_exists(Ctl *c, const char *name);
int verb_status(Ctl *c, int argc, char **argv);
int verb_history(Ctl *c, int argc, char **argv);
int verb_run(Ctl *c, int argc, char **argv);
int verb_cancel(Ctl *c, int argc, char **argv);
int verb_holds(Ctl *c, int argc, char **argv);
int verb_release(Ctl *c, int argc, char **argv);
int verb_act(Ctl *c, int argc, char **argv);
int verb_ack(Ctl *c, int argc, char **argv);
int verb_outbox(Ctl *c, int argc, char **argv);
int verb_notifiers(Ctl *c, int argc, char **argv);
int verb_watch(Ctl *c, int argc, char **argv);
int verb_reload(Ctl *c, int argc, char **argv);

/* ctl-people.c: the people directory (salve.people(5)), read directly. */
struct Diagnostics;
struct PeopleDir;
struct Plan;
int verb_oncall(Ctl *c, int argc, char **argv);
int verb_people(Ctl *c, int argc, char **argv);
int ctl_people_load(Ctl *c, struct Diagnostics *d, struct PeopleDir **ret);
/* --at: "2026-12-24 10:00" (local), "2026-12-24T10:00:00+01:00" (or Z), "@EPOCH", "+2h", "-30m". */
int ctl_parse_at(const char *s, usec_t now, usec_t *ret);
/* verify: loads the people directory into d, checks the plans' names
 * against it; adds "people" to out (--json) or prints a line. */
int ctl_verify_people(Ctl *c, struct Plan *const *plans, size_t n_plans, struct Diagnostics *d, json_object *out);
