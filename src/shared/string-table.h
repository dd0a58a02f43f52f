/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Enum <-> string for tables indexed by the enum, with _X_MAX bounds and
 * -EINVAL for what is not in the table. */

#include "macro.h"

#define DEFINE_STRING_TABLE_TO_STRING(name, type, table, max)           \
        const char *name##_to_string(type v) {                          \
                return v >= 0 && v < (max) ? table[v] : NULL;           \
        }

#define DEFINE_STRING_TABLE(name, type, table, max)                     \
        DEFINE_STRING_TABLE_TO_STRING(name, type, table, max)           \
        type name##_from_string(const char *s) {                        \
                for (int i = 0; s && i < (max); i++)                    \
                        if (table[i] && streq(table[i], s))             \
                                return (type) i;                        \
                return (type) -EINVAL;                                  \
        }
