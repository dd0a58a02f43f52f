/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The answers to remote acknowledgements (ack-verify.h): JSON for every
 * verdict, and the HTML confirmation page of GET /approve, in which every
 * value from the token is escaped and the token goes back only in a form
 * that POSTs it. */

#include <json-c/json.h>
#include <stdio.h>
#include <time.h>

#include "ack-verify.h"

static int json_reply(const AckVerdict *v, unsigned status, const char *reason, char **ret_body) {
        json_object *o = json_object_new_object();
        const char *s;
        int k = 0;

        if (!o)
                return -ENOMEM;
        if (json_object_object_add(o, "status", json_object_new_int((int) status)) < 0 ||
            json_object_object_add(o, "reason", json_object_new_string(strempty(reason))) < 0)
                k = -ENOMEM;
        if (k == 0 && v && v->action >= 0 && v->run &&
            (json_object_object_add(o, "action", json_object_new_string(ack_action_to_string(v->action))) < 0 ||
             json_object_object_add(o, "run", json_object_new_string(v->run)) < 0 ||
             json_object_object_add(o, "step", json_object_new_string(v->step)) < 0))
                k = -ENOMEM;
        s = k == 0 ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                   : NULL;
        if (!s || asprintf(ret_body, "%s\n", s) < 0)
                k = -ENOMEM;
        json_object_put(o);
        return k;
}

int ack_reply_simple(unsigned status, const char *reason, char **ret_body) {
        return json_reply(NULL, status, reason, ret_body);
}

/* HTML-escaped text appended to a memstream. */
static void html_put(FILE *f, const char *s) {
        for (; s && *s; s++)
                switch (*s) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&#39;", f); break;
                default: fputc(*s, f);
                }
}

int ack_reply_format(const AckVerdict *v, const char *token, const char **ret_content_type, char **ret_body) {
        char *buf = NULL, when[64] = "?";
        size_t size = 0;
        struct tm tm;
        time_t t;
        FILE *f;

        if (!v->page || !token) {
                *ret_content_type = "application/json";
                return json_reply(v, v->status, v->reason, ret_body);
        }

        t = (time_t) (v->token_expires / USEC_PER_SEC);
        if (gmtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>salve: confirm</title></head><body>\n"
              "<p>", f);
        html_put(f, v->actor + strlen("token:"));
        fputs(", this will <strong>", f);
        html_put(f, ack_action_to_string(v->page_action));
        fputs("</strong> step <code>", f);
        html_put(f, v->step);
        fputs("</code> of run <code>", f);
        html_put(f, v->run);
        fputs("</code>.</p>\n<p>The link is valid until ", f);
        html_put(f, when);
        fputs(" and works once. Nothing has been done yet.</p>\n"
              "<form method=\"post\" action=\"approve\">\n<input type=\"hidden\" name=\"token\" value=\"", f);
        html_put(f, token);
        fputs("\">\n<p><label>Comment <input type=\"text\" name=\"comment\" maxlength=\"1024\"></label></p>\n"
              "<p><button type=\"submit\">Confirm</button></p>\n</form>\n</body></html>\n", f);
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret_content_type = "text/html; charset=utf-8";
        *ret_body = buf;
        return 0;
}
