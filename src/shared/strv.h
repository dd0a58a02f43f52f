/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated string vectors, owned element by element. */

#include "macro.h"

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char * const *l);
int strv_push(char ***l, char *value);          /* takes ownership, even on failure */
int strv_extend(char ***l, const char *value);  /* copies */
char **strv_copy(char * const *l);             /* NULL on OOM; an empty list for NULL */
bool strv_contains(char * const *l, const char *s);
char *strv_join(char * const *l, const char *sep);

#define STRV_FOREACH(s, l) for (char * const *s = (l); s && *s; s++)

#define STRV_MAKE_CONST(...) ((const char *const[]) { __VA_ARGS__, NULL })
