/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Loading one plan file: bytes -> YAML tree -> Plan, checking everything
 * a plan can get wrong and reporting each problem with its position.
 * The loader never stops at the first problem, and never returns a Plan
 * that has an error. */

#include "diag.h"
#include "plan.h"

#define PLAN_FILE_MAX (1024 * 1024)

typedef enum PlanLoadFlags {
        /* The file comes from a system directory and salved will run it as
         * root: refuse it when anyone but root could have written it. */
        PLAN_LOAD_SECURE = 1 << 0,
} PlanLoadFlags;

/* Returns 0 and a plan, or -EINVAL when d holds errors (warnings alone do
 * not fail), or another negative errno for I/O or memory failures. */
int plan_load_buffer(const char *file, const char *buf, size_t len, Diagnostics *d, Plan **ret);
int plan_load_file(const char *path, PlanLoadFlags flags, Diagnostics *d, Plan **ret);

/* Is this file and the directory holding it safe to run as root? Adds an
 * error to d naming the reason when not. Returns 0, -EPERM or -errno. */
int plan_check_file_secure(const char *path, int fd, Diagnostics *d);
