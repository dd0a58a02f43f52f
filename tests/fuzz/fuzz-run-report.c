/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: salvectl's report (src/ctl/run-report*.c) from any
 * GetRun and GetRunHistory answers. The input is the run's JSON, then a
 * form feed, then the history's (then a form feed and GetPlan's). Building
 * must never crash, and what it renders must keep every string from the
 * input escaped: no "<" the input brought reaches the HTML or the
 * markdown as markup, so neither can hold a "<script" or "<img". */

#include <json-c/json.h>
#include <stdint.h>

#include "run-report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_object *parse(const char *s, size_t n) {
        json_tokener *tok = json_tokener_new();
        json_object *o;

        if (!tok)
                return NULL;
        o = json_tokener_parse_ex(tok, s, (int) n);
        json_tokener_free(tok);
        return o;
}

static char *render(const RunReport *r, int (*fn)(const RunReport *, FILE *)) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        if (!f)
                abort();
        (void) fn(r, f);
        fclose(f);
        return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *s = (const char *) data, *ff, *ff2;
        json_object *run, *hist = NULL, *plan = NULL;
        RunReport *r = NULL;
        size_t n1, n2 = 0, n3 = 0;

        if (size > 1 << 20)
                return 0;
        ff = memchr(s, '\f', size);
        n1 = ff ? (size_t) (ff - s) : size;
        if (ff) {
                ff2 = memchr(ff + 1, '\f', size - n1 - 1);
                n2 = ff2 ? (size_t) (ff2 - ff - 1) : size - n1 - 1;
                n3 = ff2 ? size - n1 - 1 - n2 - 1 : 0;
        }
        run = parse(s, n1);
        if (ff)
                hist = parse(ff + 1, n2);
        if (n3)
                plan = parse(ff + 1 + n2 + 1, n3);
        if (run && run_report_build(run, hist, "host<&>", 1796000100000000ULL, &r) >= 0) {
                char *html, *md, *dot, *js;

                json_object *holds;
                if (json_object_object_get_ex(run, "holds", &holds))
                        (void) run_report_set_run_holds(r, holds);
                else
                        (void) run_report_set_holds(r, (char *[]) { "a.service", "<b>.service", NULL }, NULL, plan);
                html = render(r, run_report_write_html);
                md = render(r, run_report_write_markdown);
                dot = render(r, run_report_write_dot);
                js = render(r, run_report_write_json);
                if (!html || strstr(html, "<script") || strstr(html, "<img") || strstr(html, "<b>.service"))
                        abort();
                if (!md || strstr(md, "<script") || strstr(md, "<img") || strstr(md, "<b>.service"))
                        abort();
                if (!js || !dot)
                        abort();
                free(html);
                free(md);
                free(dot);
                free(js);
                run_report_free(r);
        }
        json_object_put(run);
        json_object_put(hist);
        json_object_put(plan);
        return 0;
}
