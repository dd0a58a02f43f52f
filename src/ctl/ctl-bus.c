/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The salvectl verbs that talk to salved over the system bus: status,
 * history, run, cancel, the step actions, watch and reload. */

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "bus-names.h"
#include "ctl.h"
#include "run.h"


int bus_connect(Ctl *c, sd_bus **ret) {
        int r = sd_bus_open_system(ret);
        if (r < 0) {
                fprintf(stderr, "salvectl: cannot connect to the system bus: %s%s\n", strerror(-r),
                        r == -ENOENT || r == -ECONNREFUSED ? " (is dbus running?)" : "");
                return r;
        }
        (void) sd_bus_set_allow_interactive_authorization(*ret, c->ask_password && isatty(STDIN_FILENO));
        return 0;
}

/* Maps a D-Bus error to words and an exit status. */
int bus_failed(const char *what, const sd_bus_error *e, int r) {
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                fprintf(stderr, "salvectl: salved is not running (systemctl start salved).\n");
                return EXIT_FAILURE;
        }
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_ACCESS_DENIED, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED)) {
                fprintf(stderr, "salvectl: not authorized to %s: %s\n", what, e->message);
                return EXIT_FAILURE;
        }
        fprintf(stderr, "salvectl: failed to %s: %s\n", what, e && e->message ? e->message : strerror(-r));
        if (sd_bus_error_has_names(e, SALVE_ERROR_NO_SUCH_PLAN, SALVE_ERROR_NO_SUCH_RUN,
                                   SALVE_ERROR_NO_SUCH_STEP))
                return EXIT_NOT_FOUND;
        return EXIT_FAILURE;
}

char *format_local_time(char *buf, size_t n, uint64_t usec, const char *format) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        /* format is one of salvectl's literals (ctl.h checks the callers) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, n, format, &tm) == 0)
                snprintf(buf, n, "-");
#pragma GCC diagnostic pop
        return buf;
}

static char *format_time(char *buf, size_t n, uint64_t usec) {
        return format_local_time(buf, n, usec, "%Y-%m-%d %H:%M:%S");
}

static const char *state_color(const Ctl *c, const char *state) {
        if (streq_ptr(state, "succeeded"))
                return ansi(c, ANSI_GREEN);
        if (streq_ptr(state, "failed") || streq_ptr(state, "interrupted") || streq_ptr(state, "breached"))
                return ansi(c, ANSI_RED);
        if (streq_ptr(state, "waiting") || streq_ptr(state, "at-risk") || streq_ptr(state, "running") ||
            streq_ptr(state, "queued"))
                return ansi(c, ANSI_YELLOW);
        if (streq_ptr(state, "cancelled") || streq_ptr(state, "skipped") || streq_ptr(state, "pending") ||
            streq_ptr(state, "ready"))
                return ansi(c, ANSI_GREY);
        return "";
}

static const char *state_mark(const char *state) {
        static const struct { const char *s, *m; } t[] = {
                { "succeeded", "+" }, { "failed", "x" }, { "running", ">" }, { "waiting", "?" },
                { "interrupted", "!" }, { "skipped", "-" }, { "cancelled", "-" }, { "pending", "." },
                { "queued", "~" }, { "ready", "." },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                if (streq_ptr(state, t[i].s))
                        return t[i].m;
        return " ";
}

/* One line when salved found its journal damaged at start (the manager's
 * JournalRecovery property); nothing when all was well, or from a salved
 * that does not have the property. */
static void print_journal_recovery(Ctl *c, sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *damage, *reason, *aside;
        uint64_t at, records, lost, gaps;
        char t[32];

        if (sd_bus_get_property(bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "JournalRecovery", &e, &reply,
                                "(ssstttt)") < 0 ||
            sd_bus_message_read(reply, "(ssstttt)", &damage, &reason, &aside, &at, &records, &lost, &gaps) < 0 ||
            streq(damage, "none"))
                return;
        printf("%sjournal:%s %s file set aside as %s at %s (%s); %" PRIu64 " record%s recovered, %" PRIu64
               " byte%s lost",
               ansi(c, ANSI_RED), ansi(c, ANSI_RESET),
               streq(damage, "unsupported") ? "unreadable" : streq(damage, "not-regular") ? "non-regular" : "damaged",
               aside, format_time(t, sizeof(t), at), reason, records, records == 1 ? "" : "s", lost,
               lost == 1 ? "" : "s");
        if (gaps > 0)
                printf(" in %" PRIu64 " gap%s", gaps, gaps == 1 ? "" : "s");
        printf(" (journalctl -u salved MESSAGE_ID=f2d50fc92c0d4b4ebb17c39959d86da2)\n\n");
}

/* The units salved holds back, with why. quiet: print nothing when
 * there are none (status), else say so (holds). */
static int print_holds(Ctl *c, sd_bus *bus, bool quiet) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        json_object *arr = c->json ? json_object_new_array() : NULL;
        const char *unit, *run, *plan, *text, *gate;
        uint64_t since;
        unsigned n = 0;
        int r;

        r = sd_bus_call_method(bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "ListHolds", &e, &reply, NULL);
        if (r < 0) {
                json_object_put(arr);
                return bus_failed("list the held units", &e, r);
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ssstss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssstss)", &unit, &run, &plan, &since, &text, &gate)) > 0) {
                if (arr) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "unit", json_object_new_string(unit));
                        json_object_object_add(o, "run", json_object_new_string(run));
                        json_object_object_add(o, "plan", json_object_new_string(plan));
                        json_object_object_add(o, "since_usec", json_object_new_int64((int64_t) since));
                        json_object_object_add(o, "reason", json_object_new_string(text));
                        json_object_object_add(o, "gate", json_object_new_string(gate));
                        json_object_array_add(arr, o);
                        n++;
                        continue;
                }
                if (n++ == 0 && c->legend)
                        printf("%s%s%-32s %s%s\n", quiet ? "\n" : "", ansi(c, ANSI_BOLD), "HELD UNIT", "WHY",
                               ansi(c, ANSI_RESET));
                printf("%-32s %s%s%s\n", unit, ansi(c, ANSI_YELLOW), text, ansi(c, ANSI_RESET));
        }
        if (r < 0) {
                json_object_put(arr);
                return EXIT_FAILURE;
        }
        if (arr) {
                print_json(arr);
                json_object_put(arr);
        } else if (!quiet && n == 0 && c->legend)
                printf("No unit is held.\n");
        else if (!quiet && c->legend)
                printf("\n%u held unit%s.\n", n, n == 1 ? "" : "s");
        return EXIT_SUCCESS;
}

static int list_runs(Ctl *c, bool all) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        json_object *arr = c->json ? json_object_new_array() : NULL;
        const char *id, *plan, *state, *trigger;
        uint64_t created, finished;
        unsigned n = 0;
        int r;

        if (bus_connect(c, &bus) < 0)
                return EXIT_FAILURE;
        r = sd_bus_call_method(bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "ListRuns", &e, &reply, "b", all);
        if (r < 0)
                return bus_failed("list runs", &e, r);
        r = sd_bus_message_enter_container(reply, 'a', "(sssstt)");
        if (r < 0)
                return EXIT_FAILURE;
        if (!c->json && c->legend)
                print_journal_recovery(c, bus);
        if (!c->json && c->legend)
                printf("%s%-32s %-24s %-12s %-8s %-19s %s%s\n", ansi(c, ANSI_BOLD), "RUN", "PLAN", "STATE",
                       "TRIGGER", "STARTED", all ? "FINISHED" : "", ansi(c, ANSI_RESET));
        while ((r = sd_bus_message_read(reply, "(sssstt)", &id, &plan, &state, &trigger, &created, &finished)) > 0) {
                char a[32], b[32];
                n++;
                if (arr) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "id", json_object_new_string(id));
                        json_object_object_add(o, "plan", json_object_new_string(plan));
                        json_object_object_add(o, "state", json_object_new_string(state));
                        json_object_object_add(o, "trigger", json_object_new_string(trigger));
                        json_object_object_add(o, "created_usec", json_object_new_int64((int64_t) created));
                        json_object_object_add(o, "finished_usec", json_object_new_int64((int64_t) finished));
                        json_object_array_add(arr, o);
                        continue;
                }
                printf("%-32s %-24s %s%-12s%s %-8s %-19s %s\n", id, plan, state_color(c, state), state,
                       ansi(c, ANSI_RESET), trigger, format_time(a, sizeof(a), created),
                       all ? format_time(b, sizeof(b), finished) : "");
        }
        if (r < 0)
                return EXIT_FAILURE;
        if (arr) {
                print_json(arr);
                json_object_put(arr);
        } else if (c->legend)
                printf("\n%u %srun%s.\n", n, all ? "" : "active ", n == 1 ? "" : "s");
        /* With --no-legend, the table alone: one run a line, for scripts. */
        if (!all && !c->json && c->legend) {
                (void) print_holds(c, bus, true);
                print_outbox_summary(c, bus);
        }
        return EXIT_SUCCESS;
}

const char *jstr(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v) : NULL;
}

uint64_t jusec(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
                       ? (uint64_t) json_object_get_int64(v) : 0;
}

static unsigned juint(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
                       ? (unsigned) json_object_get_int(v) : 0;
}

/* The step's "links" array as a NULL-terminated strv (borrowed strings). */
static char **jlinks(json_object *s) {
        json_object *a;
        char **l;
        size_t n;

        if (!json_object_object_get_ex(s, "links", &a) || !json_object_is_type(a, json_type_array))
                return NULL;
        n = json_object_array_length(a);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return NULL;
        for (size_t i = 0, k = 0; i < n; i++) {
                json_object *x = json_object_array_get_idx(a, i);
                if (json_object_is_type(x, json_type_string))
                        l[k++] = (char *) json_object_get_string(x);
        }
        return l;
}

/* What a person waiting on the step needs: its instructions and links. */
static void print_step_help(json_object *s, const char *prefix) {
        _cleanup_free_ char **links = NULL;

        if (!streq_ptr(jstr(s, "state"), "waiting"))
                return;
        links = jlinks(s);
        print_human_help(prefix, jstr(s, "instructions"), links);
}

static json_object *find_step(json_object *run, const char *id) {
        json_object *steps;

        if (!json_object_object_get_ex(run, "steps", &steps))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(steps); i++) {
                json_object *s = json_object_array_get_idx(steps, i);
                if (streq_ptr(jstr(s, "id"), id))
                        return s;
        }
        return NULL;
}

/* RET_COOKIE: salved's serial of the reply; its signals with a lower one
 * were sent before it, so the run it returns already shows them. */
static int get_run_cookie(Ctl *c, sd_bus *bus, const char *id, json_object **ret, uint64_t *ret_cookie) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *text;
        int r;

        r = sd_bus_call_method(bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "GetRun", &e, &reply, "s", id);
        if (r < 0)
                return bus_failed("get the run", &e, r);
        if (ret_cookie && sd_bus_message_get_cookie(reply, ret_cookie) < 0)
                *ret_cookie = 0;
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0)
                return EXIT_FAILURE;
        *ret = json_tokener_parse(text);
        if (!*ret) {
                fprintf(stderr, "salvectl: salved sent a run that is not JSON.\n");
                return EXIT_FAILURE;
        }
        return 0;
}

static int get_run(Ctl *c, sd_bus *bus, const char *id, json_object **ret) {
        return get_run_cookie(c, bus, id, ret, NULL);
}

static void print_run_tree(Ctl *c, json_object *run) {
        const char *state = jstr(run, "state"), *rto = jstr(run, "rto_state");
        uint64_t now = now_usec(CLOCK_REALTIME), created = jusec(run, "created_usec"),
                 deadline = jusec(run, "deadline_usec"), projected = jusec(run, "projected_finish_usec"),
                 finished = jusec(run, "finished_usec");
        char a[FORMAT_DURATION_MAX], b[FORMAT_DURATION_MAX], t[32];
        json_object *steps;
        size_t n;

        printf("%s%s%s %s%s%s (plan %s)\n", ansi(c, ANSI_BOLD), jstr(run, "id"), ansi(c, ANSI_RESET),
               state_color(c, state), strna(state), ansi(c, ANSI_RESET), strna(jstr(run, "plan")));
        printf("  trigger:  %s%s%s\n", strna(jstr(run, "trigger")), jstr(run, "reason") ? ": " : "",
               strempty(jstr(run, "reason")));
        {
                json_object *ctx = NULL;
                bool first = true;
                if (json_object_object_get_ex(run, "trigger_context", &ctx) && json_object_is_type(ctx, json_type_object)) {
                        json_object_object_foreach(ctx, key, val) {
                                if (streq(key, "kind") || streq(key, "occurrence"))
                                        continue;
                                printf("%s%s=%s", first ? "  context:  " : " ", key, json_object_get_string(val));
                                first = false;
                        }
                        if (!first)
                                printf("\n");
                }
        }
        printf("  started:  %s, %s %s\n", format_time(t, sizeof(t), created),
               format_duration(a, (finished ?: now) - MIN(created, finished ?: now)), finished ? "in all" : "ago");
        if (jstr(run, "message"))
                printf("  result:   %s\n", jstr(run, "message"));
        if (deadline && finished) {
                bool late = finished > deadline;
                printf("  rto:      %s%s%s, deadline %s; finished %s %s it\n", state_color(c, rto), strna(rto),
                       ansi(c, ANSI_RESET), format_time(t, sizeof(t), deadline),
                       format_duration(a, late ? finished - deadline : deadline - finished), late ? "after" : "before");
        } else if (deadline) {
                bool late = now > deadline;
                printf("  rto:      %s%s%s, deadline %s (%s %s)", state_color(c, rto), strna(rto), ansi(c, ANSI_RESET),
                       format_time(t, sizeof(t), deadline),
                       format_duration(a, late ? now - deadline : deadline - now), late ? "ago" : "left");
                if (projected)
                        printf(", projected finish %s %s", format_duration(b, projected > deadline ? projected - deadline
                                                                                                    : deadline - projected),
                               projected > deadline ? "late" : "early");
                printf("\n");
        }
        if (!json_object_object_get_ex(run, "steps", &steps))
                return;
        n = json_object_array_length(steps);
        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_array_get_idx(steps, i);
                const char *ss = jstr(s, "state"), *owner = jstr(s, "owner"), *msg = jstr(s, "message");
                json_object *progress = NULL;
                uint64_t st = jusec(s, "started_usec"), fi = jusec(s, "finished_usec");
                char el[FORMAT_DURATION_MAX] = "";

                unsigned attempt = juint(s, "attempt"), attempts = juint(s, "attempts");
                char at[FORMAT_ATTEMPT_MAX] = "", pre[16];

                if (st)
                        format_duration(el, (fi ?: now) - MIN(st, fi ?: now));
                /* Only when it says something: a retry or a re-run. */
                if (!json_object_get_boolean(json_object_object_get(s, "human")) && attempt > 1)
                        format_attempt(at, attempt, attempts);
                printf("  %s %s%s %-20s%s %-14s %s%-11s%s %-8s %s%s%s%s\n", i + 1 == n ? "`-" : "|-",
                       state_color(c, ss), state_mark(ss), jstr(s, "id"), ansi(c, ANSI_RESET), jstr(s, "kind"),
                       state_color(c, ss), strna(ss), ansi(c, ANSI_RESET), el, owner ? "owner " : "",
                       strempty(owner), owner && *at ? ", " : "", at);
                snprintf(pre, sizeof(pre), "  %s      ", i + 1 == n ? "  " : "| ");
                if (msg && !streq(msg, at))
                        printf("%s%s%s%s\n", pre, ansi(c, ANSI_GREY), msg, ansi(c, ANSI_RESET));
                if (json_object_object_get_ex(s, "progress", &progress) && jstr(progress, "text"))
                        printf("%s%s%s%s\n", pre, ansi(c, ANSI_BOLD), jstr(progress, "text"), ansi(c, ANSI_RESET));
                if (jstr(s, "actor") && jstr(s, "comment"))
                        printf("%s%s: \"%s\"\n", pre, jstr(s, "actor"), jstr(s, "comment"));
                print_step_escalation(c, s, pre);
                print_step_help(s, pre);
        }
}

int verb_status(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        json_object *run = NULL;
        int r;

        if (argc < 2)
                return list_runs(c, false);
        if (bus_connect(c, &bus) < 0)
                return EXIT_FAILURE;
        r = get_run(c, bus, argv[1], &run);
        if (r != 0)
                return r;
        if (c->json)
                print_json(run);
        else
                print_run_tree(c, run);
        json_object_put(run);
        return EXIT_SUCCESS;
}

int verb_history(Ctl *c, int argc, char **argv) {
        return list_runs(c, true);
}

int verb_run(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *id;
        int r;

        if (bus_connect(c, &bus) < 0)
                return EXIT_FAILURE;
        polkit_agent_open(c);
        if (c->trigger) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                r = sd_bus_message_new_method_call(bus, &m, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE,
                                                   "StartRunWithTrigger");
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", argv[1], c->reason ?: "salvectl run");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, c->trigger);
                if (r >= 0)
                        r = sd_bus_call(bus, m, 0, &e, &reply);
        } else
                r = sd_bus_call_method(bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "StartRun", &e, &reply,
                                       "ss", argv[1], c->reason ?: "salvectl run");
        if (r < 0)
                return bus_failed("start the run", &e, r);
        r = sd_bus_message_read(reply, "s", &id);
        if (r < 0)
                return EXIT_FAILURE;
        if (c->json)
                printf("{\"run\": \"%s\"}\n", id); /* id is [A-Za-z0-9_.-] (checked by salved) */
        else
                printf("%s\n", id);
        return EXIT_SUCCESS;
}

/* A method that changes something and returns nothing: connect, start
 * a polkit agent on a terminal, call, and say plainly what went wrong. */
int call_change(Ctl *c, sd_bus **bus, const char *what, const char *method, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        if (bus_connect(c, bus) < 0)
                return EXIT_FAILURE;
        polkit_agent_open(c);
        va_start(ap, types);
        r = sd_bus_call_methodv(*bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, method, &e, NULL, types, ap);
        va_end(ap);
        if (r < 0)
                return bus_failed(what, &e, r);
        return EXIT_SUCCESS;
}

/* After a change: read the run back and say where it stands, so that a
 * person sees what the call did ("dba-approval approved by root; run
 * continues"): the step's message, or the run's for cancel. */
static int report_change(Ctl *c, sd_bus *bus, const char *run_id, const char *step_id) {
        json_object *run = NULL, *s;
        const char *state, *what;
        int r;

        r = get_run(c, bus, run_id, &run);
        if (r != 0) {
                /* The change was made; only reading it back failed. */
                fprintf(stderr, "salvectl: the request was accepted, but the run could not be read back.\n");
                return EXIT_SUCCESS;
        }
        if (c->json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "run", json_object_new_string(run_id));
                json_object_object_add(o, "state", json_object_get(json_object_object_get(run, "state")));
                if (step_id && (s = find_step(run, step_id))) {
                        json_object_object_add(o, "step", json_object_new_string(step_id));
                        json_object_object_add(o, "step_state", json_object_get(json_object_object_get(s, "state")));
                        json_object_object_add(o, "message", json_object_get(json_object_object_get(s, "message")));
                } else
                        json_object_object_add(o, "message", json_object_get(json_object_object_get(run, "message")));
                print_json(o);
                json_object_put(o);
                json_object_put(run);
                return EXIT_SUCCESS;
        }
        state = jstr(run, "state");
        s = step_id ? find_step(run, step_id) : NULL;
        what = s ? jstr(s, "message") : jstr(run, "message");
        if (s)
                printf("%s %s", step_id, what ?: strna(jstr(s, "state")));
        else
                printf("run %s %s", run_id, what ?: strna(state));
        if (streq_ptr(state, "running") || streq_ptr(state, "waiting") || streq_ptr(state, "queued"))
                printf("; run continues (%s)\n", state);
        else if (streq_ptr(state, "interrupted"))
                printf("; run is interrupted: it waits for a person to retry, skip or abort a step\n");
        else
                printf("; run %s\n", strna(state));
        json_object_put(run);
        return EXIT_SUCCESS;
}

int verb_holds(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;

        if (bus_connect(c, &bus) < 0)
                return EXIT_FAILURE;
        return print_holds(c, bus, false);
}

int verb_release(Ctl *c, int argc, char **argv) {
        _cleanup_free_ char *what = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (asprintf(&what, "release %s", argv[1]) < 0)
                what = NULL;
        r = call_change(c, &bus, what ?: "release the unit", "ReleaseUnit", "ss", argv[1], strempty(c->comment));
        if (r != EXIT_SUCCESS)
                return r;
        if (c->json)
                printf("{\"unit\": \"%s\", \"released\": true}\n", argv[1]);  /* a unit name: no quotes */
        else
                printf("%s released: it may start now.\n", argv[1]);
        return EXIT_SUCCESS;
}

int verb_cancel(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r = call_change(c, &bus, "cancel the run", "CancelRun", "ss", argv[1], strempty(c->comment));

        return r != EXIT_SUCCESS ? r : report_change(c, bus, argv[1], NULL);
}

/* What the verb does, as words that complete "not authorized to ..." and
 * "failed to ...": the verb names alone ("done", "fail") are not verbs. */
static char *act_words(const char *verb, const char *run, const char *step) {
        char *s = NULL;
        int r;

        if (streq(verb, "done") || streq(verb, "fail"))
                r = asprintf(&s, "mark step %s of run %s %s", step, run, streq(verb, "done") ? "done" : "failed");
        else if (streq(verb, "abort"))
                r = asprintf(&s, "abort run %s at step %s", run, step);
        else /* approve, reject, retry, skip: verbs already */
                r = asprintf(&s, "%s step %s of run %s", verb, step, run);
        return r < 0 ? NULL : s;
}

int verb_act(Ctl *c, int argc, char **argv) {
        _cleanup_free_ char *what = act_words(argv[0], argv[1], argv[2]);
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r = call_change(c, &bus, what ?: argv[0], "ActOnStep", "ssss", argv[1], argv[2], argv[0],
                            strempty(c->comment));

        return r != EXIT_SUCCESS ? r : report_change(c, bus, argv[1], argv[2]);
}

/* ack RUN STEP: "I am on it" — escalation stops, the record says who and when. */
int verb_ack(Ctl *c, int argc, char **argv) {
        _cleanup_free_ char *what = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (asprintf(&what, "acknowledge step %s of run %s", argv[2], argv[1]) < 0)
                return EXIT_FAILURE;
        r = call_change(c, &bus, what, "AckStep", "sss", argv[1], argv[2], strempty(c->comment));
        if (r == EXIT_SUCCESS && !c->json)
                printf("Acknowledged step %s of run %s: escalation stopped.\n", argv[2], argv[1]);
        return r;
}

/* Reload waits for salved to have read every plan, which takes a while on
 * a large set: more than sd-bus's default 25 s must be allowed. */
#define RELOAD_TIMEOUT_USEC (5 * 60 * USEC_PER_SEC)

int verb_reload(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (bus_connect(c, &bus) < 0)
                return EXIT_FAILURE;
        polkit_agent_open(c);
        r = sd_bus_message_new_method_call(bus, &call, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "Reload");
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(call, c->ask_password && isatty(STDIN_FILENO));
        if (r >= 0)
                r = sd_bus_call(bus, call, RELOAD_TIMEOUT_USEC, &e, NULL);
        if (r < 0)
                return bus_failed("reload the plans", &e, r);
        return EXIT_SUCCESS;
}

/* watch: the run's changes as they happen, until it is over. */
typedef struct Watch {
        Ctl *ctl;
        const char *run;
        uint64_t shown;         /* salved's serial of the GetRun reply the tree was drawn from */
        char **waiting;         /* steps that started waiting: show their instructions */
        char *progress_step;    /* the step whose progress was printed last, and when, how far */
        int progress_percent;
        usec_t progress_at;
        int result;
        bool done;
} Watch;

/* A signal salved sent before the reply the tree came from is in the tree
 * already: printing it again would repeat the tree. */
static bool watch_seen(const Watch *w, sd_bus_message *m) {
        uint64_t cookie;
        return w->shown > 0 && sd_bus_message_get_cookie(m, &cookie) >= 0 && cookie < w->shown;
}

static int on_step_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watch *w = userdata;
        const char *run, *step, *state, *message;
        char t[32];

        if (watch_seen(w, m) ||
            sd_bus_message_read(m, "ssss", &run, &step, &state, &message) < 0 || !streq(run, w->run))
                return 0;
        if (streq(state, "waiting"))
                (void) strv_extend(&w->waiting, step);
        printf("%s  %s%-11s%s %s%s%s\n", format_time(t, sizeof(t), now_usec(CLOCK_REALTIME)) + 11,
               state_color(w->ctl, state), state, ansi(w->ctl, ANSI_RESET), step, *message ? ": " : "", message);
        fflush(stdout);
        return 0;
}

/* A long step's progress: a line when the whole percent moves, or every
 * 30 s, not at each of md's updates. */
static int on_step_progress(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watch *w = userdata;
        const char *run, *step, *text;
        double percent;
        uint64_t eta;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        char t[32];

        if (watch_seen(w, m) || sd_bus_message_read(m, "ssdts", &run, &step, &percent, &eta, &text) < 0 ||
            !streq(run, w->run) || !*text)
                return 0;
        if (streq_ptr(w->progress_step, step) && (int) percent == w->progress_percent &&
            now < w->progress_at + 30 * USEC_PER_SEC)
                return 0;
        if (!streq_ptr(w->progress_step, step)) {
                free(w->progress_step);
                w->progress_step = strdup(step);
        }
        w->progress_percent = (int) percent;
        w->progress_at = now;
        printf("%s  %s%-11s%s %s: %s\n", format_time(t, sizeof(t), now_usec(CLOCK_REALTIME)) + 11,
               ansi(w->ctl, ANSI_BOLD), "progress", ansi(w->ctl, ANSI_RESET), step, text);
        fflush(stdout);
        return 0;
}

static int on_rto(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watch *w = userdata;
        const char *run, *plan;
        uint64_t a = 0, b = 0;
        char t[32], d[FORMAT_DURATION_MAX];
        bool breached = streq_ptr(sd_bus_message_get_member(m), "RtoBreached");

        if (watch_seen(w, m) || sd_bus_message_read(m, "ss", &run, &plan) < 0 || !streq(run, w->run))
                return 0;
        if (breached ? sd_bus_message_read(m, "t", &a) < 0 : sd_bus_message_read(m, "tt", &a, &b) < 0)
                return 0;
        if (breached)
                printf("%s  %sRTO breached%s: the deadline passed\n", format_time(t, sizeof(t), now_usec(CLOCK_REALTIME)) + 11,
                       ansi(w->ctl, ANSI_RED), ansi(w->ctl, ANSI_RESET));
        else
                printf("%s  %sRTO at risk%s: projected to finish %s after the deadline\n",
                       format_time(t, sizeof(t), now_usec(CLOCK_REALTIME)) + 11, ansi(w->ctl, ANSI_YELLOW),
                       ansi(w->ctl, ANSI_RESET), format_duration(d, a > b ? a - b : 0));
        fflush(stdout);
        return 0;
}

static int on_run_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watch *w = userdata;
        const char *run, *plan, *state;
        RunState s;

        if (watch_seen(w, m) || sd_bus_message_read(m, "sss", &run, &plan, &state) < 0 || !streq(run, w->run))
                return 0;
        s = run_state_from_string(state);
        if (s == RUN_SUCCEEDED || s == RUN_FAILED || s == RUN_CANCELLED) {
                printf("run %s %s\n", run, state);
                fflush(stdout);
                w->done = true;
                w->result = s == RUN_SUCCEEDED ? EXIT_SUCCESS : EXIT_FAILURE;
        }
        return 0;
}

/* The instructions of the steps that started waiting, read from salved
 * between two rounds of signals (never from inside a callback). */
static void watch_show_waiting(Watch *w, sd_bus *bus) {
        _cleanup_strv_free_ char **steps = TAKE_PTR(w->waiting);
        json_object *run = NULL;

        if (!steps || get_run(w->ctl, bus, w->run, &run) != 0)
                return;
        STRV_FOREACH(id, steps) {
                json_object *s = find_step(run, *id);
                if (s)
                        print_step_help(s, "          ");
        }
        json_object_put(run);
        fflush(stdout);
}

int verb_watch(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Watch w = { .ctl = c, .run = argv[1], .result = EXIT_FAILURE };
        json_object *run = NULL;
        RunState s;
        int r;

        if (bus_connect(c, &bus) < 0)
                return EXIT_FAILURE;
        /* Subscribe first, then read the state, so nothing falls in between. */
        r = sd_bus_match_signal(bus, NULL, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "StepChanged", on_step_changed, &w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "RunChanged", on_run_changed, &w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "RtoAtRisk", on_rto, &w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "RtoBreached", on_rto, &w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "StepProgress",
                                        on_step_progress, &w);
        if (r < 0) {
                fprintf(stderr, "salvectl: cannot subscribe to salved's signals: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        r = get_run_cookie(c, bus, argv[1], &run, &w.shown);
        if (r != 0)
                return r;
        print_run_tree(c, run);
        s = run_state_from_string(jstr(run, "state"));
        json_object_put(run);
        if (s == RUN_SUCCEEDED || s == RUN_FAILED || s == RUN_CANCELLED)
                return s == RUN_SUCCEEDED ? EXIT_SUCCESS : EXIT_FAILURE;
        printf("\n");
        fflush(stdout); /* into a pipe too, before waiting for changes */
        while (!w.done) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "salvectl: lost the bus: %s\n", strerror(-r));
                        strv_free(w.waiting);
                        free(w.progress_step);
                        return EXIT_FAILURE;
                }
                watch_show_waiting(&w, bus);
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "salvectl: lost the bus: %s\n", strerror(-r));
                        strv_free(w.waiting);
                        free(w.progress_step);
                        return EXIT_FAILURE;
                }
        }
        strv_free(w.waiting);
        free(w.progress_step);
        return w.result;
}
