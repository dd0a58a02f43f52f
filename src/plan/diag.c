/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "diag.h"

void diagnostics_done(Diagnostics *d) {
        for (size_t i = 0; i < d->n_items; i++) {
                free(d->items[i].file);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (Diagnostics) { .max_items = d->max_items };
}

int diag_addv(Diagnostics *d, DiagLevel level, const char *file, unsigned line, unsigned column,
              const char *format, va_list ap) {
        size_t max = d->max_items ?: DIAG_MAX_ITEMS_DEFAULT;
        _cleanup_free_ char *msg = NULL, *f = NULL;
        Diag *n;

        if (level == DIAG_ERROR)
                d->n_errors++;
        else
                d->n_warnings++;

        if (d->n_items >= max) {
                d->truncated = true;
                return 0;
        }
        if (vasprintf(&msg, format, ap) < 0)
                return -ENOMEM;
        f = strdup(file ?: "<input>");
        if (!f)
                return -ENOMEM;
        n = realloc(d->items, sizeof(Diag) * (d->n_items + 1));
        if (!n)
                return -ENOMEM;
        d->items = n;
        d->items[d->n_items++] = (Diag) {
                .file = TAKE_PTR(f),
                .line = line,
                .column = column,
                .level = level,
                .message = TAKE_PTR(msg),
        };
        return 0;
}

int diag_add(Diagnostics *d, DiagLevel level, const char *file, unsigned line, unsigned column,
             const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = diag_addv(d, level, file, line, column, format, ap);
        va_end(ap);
        return r;
}

static int diag_compare(const Diag *a, const Diag *b) {
        int r = strcmp(a->file, b->file);
        if (r != 0)
                return r;
        if (a->line != b->line)
                return a->line < b->line ? -1 : 1;
        if (a->column != b->column)
                return a->column < b->column ? -1 : 1;
        return 0;
}

void diagnostics_sort(Diagnostics *d) {
        /* Insertion sort: stable, and lists are short. */
        for (size_t i = 1; i < d->n_items; i++) {
                Diag t = d->items[i];
                size_t j = i;
                while (j > 0 && diag_compare(&d->items[j - 1], &t) > 0) {
                        d->items[j] = d->items[j - 1];
                        j--;
                }
                d->items[j] = t;
        }
}

const char *diag_level_to_string(DiagLevel l) {
        return l == DIAG_ERROR ? "error" : "warning";
}

void diagnostics_print(const Diagnostics *d, FILE *f) {
        for (size_t i = 0; i < d->n_items; i++) {
                const Diag *x = d->items + i;
                if (x->line > 0)
                        fprintf(f, "%s:%u:%u: %s: %s\n", x->file, x->line, x->column,
                                diag_level_to_string(x->level), x->message);
                else
                        fprintf(f, "%s: %s: %s\n", x->file, diag_level_to_string(x->level), x->message);
        }
        if (d->truncated)
                fprintf(f, "(%zu more diagnostics not shown)\n",
                        d->n_errors + d->n_warnings - d->n_items);
}
