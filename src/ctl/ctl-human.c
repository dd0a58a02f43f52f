/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* salvectl's view of the human side: a person's step's escalation (who
 * was told at which level and when, who acknowledged, what is next), as
 * salvectl status RUN and watch print it under the step. */

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <time.h>

#include "bus-names.h"
#include "ctl.h"

static char *clock_time(char *buf, size_t n, uint64_t usec) {
        return format_local_time(buf, n, usec, "%H:%M:%S");
}

static void print_names(json_object *a) {
        size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

        if (n == 0)
                fputs("nobody resolvable", stdout);
        for (size_t i = 0; i < n; i++)
                printf("%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(a, i)));
}

void print_step_escalation(const Ctl *c, json_object *s, const char *prefix) {
        json_object *e, *notified, *ack, *levels;
        uint64_t now = now_usec(CLOCK_REALTIME);
        char t[16];
        size_t n;

        if (!json_object_object_get_ex(s, "escalation", &e) || !json_object_is_type(e, json_type_object))
                return;
        if (json_object_object_get_ex(e, "notified", &notified) &&
            (n = json_object_array_length(notified)) > 0) {
                printf("%stold: ", prefix);
                for (size_t i = 0; i < n; i++) {
                        json_object *x = json_object_array_get_idx(notified, i), *r = NULL;
                        (void) json_object_object_get_ex(x, "recipients", &r);
                        printf("%s", i ? "; " : "");
                        print_names(r);
                        printf(" (%s, level %d%s%s) %s", strna(jstr(x, "name")),
                               json_object_get_int(json_object_object_get(x, "level")),
                               json_object_get_int(json_object_object_get(x, "round")) > 1 ? ", round " : "",
                               json_object_get_int(json_object_object_get(x, "round")) > 1
                                       ? json_object_get_string(json_object_object_get(x, "round")) : "",
                               clock_time(t, sizeof(t), jusec(x, "at_usec")));
                }
                printf("\n");
        }
        if (json_object_object_get_ex(e, "acknowledged", &ack))
                printf("%s%sacknowledged by %s%s via %s at %s%s%s\n", prefix, ansi(c, ANSI_BOLD), strna(jstr(ack, "by")),
                       ansi(c, ANSI_RESET), strna(jstr(ack, "via")), clock_time(t, sizeof(t), jusec(ack, "at_usec")),
                       jstr(ack, "comment") ? ": " : "", strempty(jstr(ack, "comment")));
        if (jusec(e, "unanswered_usec")) {
                json_object *told = NULL;
                (void) json_object_object_get_ex(e, "unanswered_told", &told);
                printf("%s%sunanswered%s since %s: nobody acknowledged it through the whole chain; told ", prefix,
                       ansi(c, ANSI_RED), ansi(c, ANSI_RESET), clock_time(t, sizeof(t), jusec(e, "unanswered_usec")));
                print_names(told);
                printf("\n");
        }
        if (jusec(e, "next_usec") && json_object_object_get_ex(e, "levels", &levels)) {
                uint64_t next = jusec(e, "next_usec");
                char d[FORMAT_DURATION_MAX];
                printf("%sescalates %s%s unless acknowledged (salvectl ack)\n", prefix,
                       next > now ? "in " : "now", next > now ? format_duration(d, next - now) : "");
        }
        if (jstr(s, "bridge"))
                printf("%sbridge: %s\n", prefix, jstr(s, "bridge"));
        if (jstr(s, "chat"))
                printf("%schat: %s\n", prefix, jstr(s, "chat"));
}

/* ---- outbox [retry ID | drop ID], notifiers ---- */

static char *when(char *buf, size_t n, uint64_t usec) {
        return format_local_time(buf, n, usec, "%m-%d %H:%M:%S");
}

static int outbox_list(Ctl *c) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        json_object *arr = c->json ? json_object_new_array() : NULL;
        const char *id, *channel, *key, *run, *state, *error;
        uint32_t attempts;
        uint64_t created, next, dropped = 0;
        int64_t status;
        size_t n = 0, counts[4] = {};
        int r;

        if (bus_connect(c, &bus) < 0)
                return EXIT_FAILURE;
        r = sd_bus_call_method(bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "ListOutbox", &e, &reply, "");
        if (r < 0)
                return bus_failed("list the outbox", &e, r);
        r = sd_bus_message_enter_container(reply, 'a', "(sssssuttxs)");
        if (r >= 0 && !c->json && c->legend)
                printf("%-10s %-9s %-14s %-15s %-8s %s\n", "STATE", "ATTEMPTS", "NEXT/DONE", "CHANNEL", "STATUS",
                       "ID");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sssssuttxs)", &id, &channel, &key, &run, &state, &attempts,
                                                  &created, &next, &status, &error)) > 0) {
                char t[32], st[24];
                n++;
                counts[streq(state, "pending") ? 0 : streq(state, "retrying") ? 1 : streq(state, "dead") ? 2 : 3]++;
                if (c->json) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "id", json_object_new_string(id));
                        json_object_object_add(o, "channel", json_object_new_string(channel));
                        json_object_object_add(o, "key", json_object_new_string(key));
                        json_object_object_add(o, "run", json_object_new_string(run));
                        json_object_object_add(o, "state", json_object_new_string(state));
                        json_object_object_add(o, "attempts", json_object_new_int((int) attempts));
                        json_object_object_add(o, "created_usec", json_object_new_int64((int64_t) created));
                        json_object_object_add(o, "next_usec", json_object_new_int64((int64_t) next));
                        json_object_object_add(o, "last_status", json_object_new_int64(status));
                        json_object_object_add(o, "last_error", json_object_new_string(error));
                        json_object_array_add(arr, o);
                        continue;
                }
                printf("%s%-10s%s %-9u %-14s %-15s %-8s %s\n",
                       ansi(c, streq(state, "dead") ? ANSI_RED : streq(state, "retrying") ? ANSI_YELLOW : ""), state,
                       ansi(c, ANSI_RESET), attempts, when(t, sizeof(t), next), channel,
                       status > 0 ? (snprintf(st, sizeof(st), "%" PRIi64, status), st) : "-", id);
                if (*error && !streq(state, "delivered") && c->legend)
                        printf("           %s%s%s\n", ansi(c, ANSI_GREY), error, ansi(c, ANSI_RESET));
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "t", &dropped);
        if (r < 0) {
                json_object_put(arr);
                fprintf(stderr, "salvectl: salved's outbox reply is malformed: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        if (c->json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "entries", arr);
                json_object_object_add(o, "dead_dropped", json_object_new_int64((int64_t) dropped));
                print_json(o);
                json_object_put(o);
        } else if (c->legend)
                printf("\n%zu notification%s: %zu pending, %zu retrying, %zu dead, %zu delivered%s",
                       n, n == 1 ? "" : "s", counts[0], counts[1], counts[2], counts[3],
                       dropped ? "" : ".\n");
        if (!c->json && c->legend && dropped)
                printf("; %" PRIu64 " dead letter%s dropped for space.\n", dropped, dropped == 1 ? "" : "s");
        return EXIT_SUCCESS;
}

int verb_outbox(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *what = NULL;
        bool drop;
        int r;

        if (argc == 1)
                return outbox_list(c);
        if (argc != 3 || (!streq(argv[1], "retry") && !streq(argv[1], "drop"))) {
                fprintf(stderr, "salvectl: usage: outbox [retry ID | drop ID]\n");
                return EXIT_USAGE;
        }
        drop = streq(argv[1], "drop");
        if (asprintf(&what, "%s notification %s", argv[1], argv[2]) < 0)
                return EXIT_FAILURE;
        r = call_change(c, &bus, what, drop ? "DropNotification" : "RetryNotification", "s", argv[2]);
        if (r == EXIT_SUCCESS && !c->json)
                printf(drop ? "Dropped %s.\n" : "%s is sent again now.\n", argv[2]);
        return r;
}

int verb_notifiers(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        json_object *arr = c->json ? json_object_new_array() : NULL;
        const char *name, *channel, *type, *url, *error;
        uint32_t in_flight;
        uint64_t ok, bad, sent, failed;
        int64_t status;
        int r;

        if (bus_connect(c, &bus) < 0)
                return EXIT_FAILURE;
        r = sd_bus_call_method(bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "ListNotifiers", &e, &reply,
                               "");
        if (r < 0)
                return bus_failed("list the notifiers", &e, r);
        r = sd_bus_message_enter_container(reply, 'a', "(ssssuttxstt)");
        if (r >= 0 && !c->json && c->legend)
                printf("%-16s %-13s %-6s %-6s %-14s %s\n", "NOTIFIER", "TYPE", "SENT", "FAILED", "LAST OK", "URL");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssuttxstt)", &name, &channel, &type, &url, &in_flight, &ok,
                                                  &bad, &status, &error, &sent, &failed)) > 0) {
                char t[32];
                if (c->json) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "name", json_object_new_string(name));
                        json_object_object_add(o, "channel", json_object_new_string(channel));
                        json_object_object_add(o, "type", json_object_new_string(type));
                        json_object_object_add(o, "url", json_object_new_string(url));
                        json_object_object_add(o, "in_flight", json_object_new_int((int) in_flight));
                        json_object_object_add(o, "last_ok_usec", json_object_new_int64((int64_t) ok));
                        json_object_object_add(o, "last_failure_usec", json_object_new_int64((int64_t) bad));
                        json_object_object_add(o, "last_status", json_object_new_int64(status));
                        json_object_object_add(o, "last_error", json_object_new_string(error));
                        json_object_object_add(o, "sent", json_object_new_int64((int64_t) sent));
                        json_object_object_add(o, "failed", json_object_new_int64((int64_t) failed));
                        json_object_array_add(arr, o);
                        continue;
                }
                printf("%-16s %-13s %-6" PRIu64 " %-6" PRIu64 " %-14s %s\n", name, type, sent, failed,
                       when(t, sizeof(t), ok), url);
                if (bad > ok && *error)
                        printf("  %slast failure %s: %s%s\n", ansi(c, ANSI_RED), when(t, sizeof(t), bad), error,
                               ansi(c, ANSI_RESET));
        }
        if (r < 0) {
                json_object_put(arr);
                fprintf(stderr, "salvectl: salved's reply is malformed: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        if (c->json) {
                print_json(arr);
                json_object_put(arr);
        }
        return EXIT_SUCCESS;
}

/* One line under salvectl status when notifications are stuck: how many
 * wait or were refused for good, and where to look. Silent otherwise, and
 * when salved is older than the outbox. */
void print_outbox_summary(const Ctl *c, sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id, *channel, *key, *run, *state, *error;
        uint32_t attempts;
        uint64_t created, next;
        int64_t status;
        size_t retrying = 0, dead = 0;
        int r;

        if (sd_bus_call_method(bus, SALVE_BUS_NAME, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "ListOutbox", &e, &reply,
                               "") < 0)
                return;
        r = sd_bus_message_enter_container(reply, 'a', "(sssssuttxs)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sssssuttxs)", &id, &channel, &key, &run, &state, &attempts,
                                                  &created, &next, &status, &error)) > 0) {
                retrying += streq(state, "retrying");
                dead += streq(state, "dead");
        }
        if (r < 0 || retrying + dead == 0)
                return;
        printf("\n%snotifications:%s %zu retrying, %zu dead letter%s (salvectl outbox; salvectl notifiers)\n",
               ansi(c, dead ? ANSI_RED : ANSI_YELLOW), ansi(c, ANSI_RESET), retrying, dead, dead == 1 ? "" : "s");
}
