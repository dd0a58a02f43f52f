/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Diagnostics: the errors and warnings found in plan files, each with a
 * file, line and column, printed the way compilers print theirs:
 *     FILE:LINE:COLUMN: error: MESSAGE
 * A collector keeps going after the first error so that a user sees all
 * of a file's problems at once; it stops recording (and says so) past a
 * bound, so hostile input cannot make it grow without limit. */

#include <stdarg.h>

#include "macro.h"

typedef enum DiagLevel {
        DIAG_WARNING,
        DIAG_ERROR,
        _DIAG_LEVEL_MAX,
        _DIAG_LEVEL_INVALID = -EINVAL,
} DiagLevel;

typedef struct Diag {
        char *file;
        unsigned line, column;
        DiagLevel level;
        char *message;
} Diag;

typedef struct Diagnostics {
        Diag *items;
        size_t n_items;
        size_t n_errors, n_warnings;
        size_t max_items;       /* 0: default bound */
        bool truncated;
} Diagnostics;

#define DIAG_MAX_ITEMS_DEFAULT 200

void diagnostics_done(Diagnostics *d);
int diag_add(Diagnostics *d, DiagLevel level, const char *file, unsigned line, unsigned column,
             const char *format, ...) _printf_(6, 7);
int diag_addv(Diagnostics *d, DiagLevel level, const char *file, unsigned line, unsigned column,
              const char *format, va_list ap) _printf_(6, 0);
/* Sorts by file, line, column (stable), so output follows the file. */
void diagnostics_sort(Diagnostics *d);
void diagnostics_print(const Diagnostics *d, FILE *f);
const char *diag_level_to_string(DiagLevel l);
