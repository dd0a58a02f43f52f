/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The plan loader's readers for typed YAML values (strings, lists,
 * durations, booleans, numbers, unit names, paths, enums), each reporting
 * what is wrong with the value at its position. Private to src/plan. */

#include "diag.h"
#include "plan.h"
#include "yaml-tree.h"

/* Every parse_* helper returns 0 when the value was taken, -EINVAL when a
 * problem was reported (the loader goes on to find more), and -ENOMEM
 * (the only error that stops it). */

typedef struct PlanLoader {
        const char *file;
        Diagnostics *diag;
        Plan *plan;
        char ctx[STEP_ID_MAX + 32];     /* "step \"fsck\": " or "" */
} PlanLoader;

int loader_report(PlanLoader *l, DiagLevel level, const YNode *n, const char *format, ...) _printf_(4, 5);
/* The same at a recorded position (a StepArg's, a needs entry's). */
int loader_report_pos(PlanLoader *l, DiagLevel level, SourcePos pos, const char *format, ...) _printf_(4, 5);
#define error_at_pos(l, pos, ...) loader_report_pos(l, DIAG_ERROR, pos, __VA_ARGS__)
#define error_at(l, n, ...) loader_report(l, DIAG_ERROR, n, __VA_ARGS__)
#define warning_at(l, n, ...) loader_report(l, DIAG_WARNING, n, __VA_ARGS__)

int loader_merge(int r, int q);
const char *ynode_describe(const YNode *n);
int loader_unknown_key(PlanLoader *l, const YNode *key, const char *where, const char * const *known);
int loader_check_mapping(PlanLoader *l, const YNode *n, const char *field);
int loader_parse_string(PlanLoader *l, const YNode *n, const char *field, char **ret);
int loader_parse_strv(PlanLoader *l, const YNode *n, const char *field, char ***ret);
int loader_parse_duration(PlanLoader *l, const YNode *n, const char *field, usec_t *ret);
int loader_parse_bool(PlanLoader *l, const YNode *n, const char *field, bool *ret);
int loader_parse_uint(PlanLoader *l, const YNode *n, const char *field, uint64_t min, uint64_t max, uint64_t *ret);
int loader_parse_unit(PlanLoader *l, const YNode *n, const char *field, char **ret);
int loader_parse_units(PlanLoader *l, const YNode *n, const char *field, char ***ret);
int loader_parse_path(PlanLoader *l, const YNode *n, const char *field, char **ret);
int loader_parse_enum(PlanLoader *l, const YNode *n, const char *field, const char * const *values, char **ret);
bool device_name_is_valid(const char *s);
bool md_array_name_is_valid(const char *s);
