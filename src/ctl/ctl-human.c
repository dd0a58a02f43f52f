/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* salvectl's view of the human side: a person's step's escalation (who
 * was told at which level and when, who acknowledged, what is next), as
 * salvectl status RUN and watch print it under the step. */

#include <json-c/json.h>
#include <stdio.h>
#include <time.h>

#include "ctl.h"

static const char *hstr(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v) : NULL;
}

static uint64_t husec(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
                       ? (uint64_t) json_object_get_int64(v) : 0;
}

static char *clock_time(char *buf, size_t n, uint64_t usec) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, n, "%H:%M:%S", &tm) == 0)
                snprintf(buf, n, "-");
        return buf;
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
                        printf(" (%s, level %d%s%s) %s", strna(hstr(x, "name")),
                               json_object_get_int(json_object_object_get(x, "level")),
                               json_object_get_int(json_object_object_get(x, "round")) > 1 ? ", round " : "",
                               json_object_get_int(json_object_object_get(x, "round")) > 1
                                       ? json_object_get_string(json_object_object_get(x, "round")) : "",
                               clock_time(t, sizeof(t), husec(x, "at_usec")));
                }
                printf("\n");
        }
        if (json_object_object_get_ex(e, "acknowledged", &ack))
                printf("%s%sacknowledged by %s%s via %s at %s%s%s\n", prefix, ansi(c, ANSI_BOLD), strna(hstr(ack, "by")),
                       ansi(c, ANSI_RESET), strna(hstr(ack, "via")), clock_time(t, sizeof(t), husec(ack, "at_usec")),
                       hstr(ack, "comment") ? ": " : "", strempty(hstr(ack, "comment")));
        if (husec(e, "unanswered_usec")) {
                json_object *told = NULL;
                (void) json_object_object_get_ex(e, "unanswered_told", &told);
                printf("%s%sunanswered%s since %s: nobody acknowledged it through the whole chain; told ", prefix,
                       ansi(c, ANSI_RED), ansi(c, ANSI_RESET), clock_time(t, sizeof(t), husec(e, "unanswered_usec")));
                print_names(told);
                printf("\n");
        }
        if (husec(e, "next_usec") && json_object_object_get_ex(e, "levels", &levels)) {
                uint64_t next = husec(e, "next_usec");
                char d[FORMAT_DURATION_MAX];
                printf("%sescalates %s%s unless acknowledged (salvectl ack)\n", prefix,
                       next > now ? "in " : "now", next > now ? format_duration(d, next - now) : "");
        }
        if (hstr(s, "bridge"))
                printf("%sbridge: %s\n", prefix, hstr(s, "bridge"));
        if (hstr(s, "chat"))
                printf("%schat: %s\n", prefix, hstr(s, "chat"));
}
