/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salvectl report RUN: the post-incident record of a run, from salved's
 * GetRun and GetRunHistory (every journal record of the run), the plan's
 * holds (GetRun's holds; from an older salved GetPlan and ListHolds), and, for exec
 * steps, the last lines their transient units wrote to the journal when
 * this user may read them. The model and the renderers are pure
 * (run-report*.c); this file only gathers and writes. */

#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

#include "bus-names.h"
#include "ctl-report.h"
#include "executor.h"
#include "strv.h"

#define OUTPUT_LINES 5
#define OUTPUT_LINE_MAX 300

typedef enum Quiet {
        QUIET_NO,               /* say what went wrong */
        QUIET_NOT_FOUND,        /* ... unless salved knows no such run: -ESRCH */
        QUIET_ALL,
} Quiet;

/* A method that takes one string and answers with JSON text. -ENOENT
 * when salved has no such method (an older salved: no history). */
static int call_json(sd_bus *bus, const char *method, const char *arg, const char *what, Quiet quiet,
                     json_object **ret, int *ret_exit) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *text;
        int r;

        r = sd_bus_call_method(bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, method, &e, &reply, "s", arg);
        if (r < 0) {
                if (sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD))
                        return -ENOENT;
                if (quiet == QUIET_ALL)
                        return r;
                if (quiet == QUIET_NOT_FOUND && sd_bus_error_has_name(&e, SALVE_ERROR_NO_SUCH_RUN))
                        return -ESRCH;
                *ret_exit = bus_failed(what, &e, r);
                return r;
        }
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0) {
                *ret_exit = EXIT_FAILURE;
                return r;
        }
        *ret = json_tokener_parse(text);
        if (!*ret) {
                if (quiet != QUIET_ALL)
                        fprintf(stderr, "salvectl: salved's answer to %s is not JSON.\n", method);
                *ret_exit = EXIT_FAILURE;
                return -EBADMSG;
        }
        return 0;
}

/* The units ListHolds shows held by this run. */
static int held_by_run(sd_bus *bus, const char *id, char ***ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *unit, *run, *plan, *text, *gate;
        uint64_t since;
        int r;

        r = sd_bus_call_method(bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "ListHolds", &e, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(ssstss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssstss)", &unit, &run, &plan, &since, &text, &gate)) > 0)
                if (streq(run, id) && strv_extend(ret, unit) < 0)
                        return -ENOMEM;
        return r;
}

/* The last lines an exec step's unit wrote (its stdout and stderr go to
 * the journal), per attempt. Silently nothing where the journal cannot
 * be read (an unprivileged user outside adm and systemd-journal). */
static void add_output(RunReport *rep) {
        sd_journal *j = NULL;

        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0)
                return;
        for (size_t i = 0; i < rep->n_steps; i++) {
                ReportStep *s = rep->steps + i;
                if (!streq_ptr(s->kind, "exec"))
                        continue;
                for (size_t k = 0; k < s->n_attempts; k++) {
                        ReportAttempt *a = s->attempts + k;
                        _cleanup_free_ char *unit = NULL, *match = NULL;
                        char *lines[OUTPUT_LINES] = {};
                        size_t n = 0;

                        if (!a->start || exec_unit_name_full(rep->id, s->id, a->attempt, NULL, &unit) < 0 ||
                            asprintf(&match, "_SYSTEMD_UNIT=%s", unit) < 0)
                                continue;
                        sd_journal_flush_matches(j);
                        if (sd_journal_add_match(j, match, 0) < 0 || sd_journal_seek_tail(j) < 0)
                                continue;
                        while (n < OUTPUT_LINES && sd_journal_previous(j) > 0) {
                                const void *d;
                                size_t len;
                                if (sd_journal_get_data(j, "MESSAGE", &d, &len) < 0 || len < 8)
                                        continue;
                                len = MIN(len - 8, (size_t) OUTPUT_LINE_MAX);
                                lines[n] = strndup((const char *) d + 8, len);
                                if (!lines[n])
                                        break;
                                n++;
                        }
                        /* oldest first */
                        for (size_t x = n; x > 0; x--)
                                (void) strv_extend(&a->output, lines[x - 1]);
                        for (size_t x = 0; x < n; x++)
                                free(lines[x]);
                }
        }
        sd_journal_close(j);
}

int ctl_report_load(Ctl *c, sd_bus *bus, const char *id, bool full, bool not_found_quiet, RunReport **ret) {
        json_object *run = NULL, *history = NULL, *plan = NULL, *holds;
        _cleanup_strv_free_ char **units = NULL, **held = NULL;
        char host[256] = "";
        int r, exit_code = EXIT_FAILURE;

        r = call_json(bus, "GetRun", id, "get the run", not_found_quiet ? QUIET_NOT_FOUND : QUIET_NO, &run,
                      &exit_code);
        if (r == -ESRCH)
                return r;
        if (r < 0)
                return exit_code;
        r = call_json(bus, "GetRunHistory", id, "get the run's history", QUIET_NO, &history, &exit_code);
        if (r == -ENOENT)
                fprintf(stderr, "salvectl: salved has no GetRunHistory (an older salved): only each step's latest "
                        "attempt is shown.\n");
        else if (r < 0) {
                json_object_put(run);
                return exit_code;
        }
        (void) gethostname(host, sizeof(host) - 1);
        r = run_report_build(run, history, *host ? host : NULL, now_usec(CLOCK_REALTIME), ret);
        json_object_put(history);
        if (r < 0) {
                json_object_put(run);
                fprintf(stderr, "salvectl: cannot make a report of run %s: %s\n", id,
                        r == -EBADMSG ? "salved's answer is not a run" : strerror(-r));
                return EXIT_FAILURE;
        }
        if (!full) {
                json_object_put(run);
                return 0;
        }
        /* The holds: GetRun says them for the run's own plan; an older
         * salved without them: the plan as loaded now, and ListHolds. */
        if (json_object_object_get_ex(run, "holds", &holds))
                r = run_report_set_run_holds(*ret, holds);
        else {
                if (call_json(bus, "GetPlan", jstr(run, "plan") ?: "", "get the plan", QUIET_ALL, &plan,
                              &exit_code) == 0 &&
                    json_object_object_get_ex(plan, "holds", &holds) && json_object_is_type(holds, json_type_array))
                        for (size_t i = 0; i < json_object_array_length(holds); i++) {
                                json_object *u = json_object_array_get_idx(holds, i);
                                if (json_object_is_type(u, json_type_string))
                                        (void) strv_extend(&units, json_object_get_string(u));
                        }
                (void) held_by_run(bus, id, &held);
                r = run_report_set_holds(*ret, units, held, plan);
        }
        json_object_put(plan);
        json_object_put(run);
        if (r < 0) {
                *ret = run_report_free(*ret);
                fprintf(stderr, "salvectl: cannot make a report of run %s: %s\n", id, strerror(-r));
                return EXIT_FAILURE;
        }
        add_output(*ret);
        return 0;
}

/* -o FILE: written to FILE.tmp-XXXXXX and renamed, so a reader never sees
 * half a report. */
int verb_report(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(run_report_freep) RunReport *rep = NULL;
        _cleanup_free_ char *tmp = NULL;
        const char *format = c->report_format ?: "markdown";
        FILE *f = stdout;
        int r;

        if (!streq(format, "markdown") && !streq(format, "md") && !streq(format, "html") && !streq(format, "json")) {
                fprintf(stderr, "salvectl: --format must be markdown, html or json, not \"%s\".\n", format);
                return EXIT_USAGE;
        }
        if (c->json)
                format = "json";
        if (bus_connect(c, &bus) < 0)
                return EXIT_FAILURE;
        r = ctl_report_load(c, bus, argv[1], true, false, &rep);
        if (r != 0)
                return r;
        if (c->output) {
                int fd;
                if (asprintf(&tmp, "%s.tmp-XXXXXX", c->output) < 0)
                        return EXIT_FAILURE;
                fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "salvectl: cannot write %s: %m\n", c->output);
                        return EXIT_FAILURE;
                }
                f = fdopen(fd, "w");
                if (!f) {
                        fprintf(stderr, "salvectl: cannot write %s: %m\n", c->output);
                        close(fd);
                        (void) unlink(tmp);
                        return EXIT_FAILURE;
                }
                (void) fchmod(fileno(f), 0644);
        }
        if (streq(format, "html"))
                r = run_report_write_html(rep, f);
        else if (streq(format, "json"))
                r = run_report_write_json(rep, f);
        else
                r = run_report_write_markdown(rep, f);
        if (f != stdout) {
                if (fflush(f) != 0 || fsync(fileno(f)) < 0)
                        r = -errno;
                if (fclose(f) != 0 && r >= 0)
                        r = -errno;
                if (r >= 0 && rename(tmp, c->output) < 0)
                        r = -errno;
                if (r < 0)
                        (void) unlink(tmp);
        } else if (fflush(stdout) != 0)
                r = -errno;
        if (r < 0) {
                fprintf(stderr, "salvectl: cannot write the report%s%s: %s\n", c->output ? " to " : "",
                        strempty(c->output), strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
