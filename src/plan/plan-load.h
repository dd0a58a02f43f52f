/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Loading one plan file: bytes -> YAML tree -> Plan, checking everything
 * a plan can get wrong and reporting each problem with its position.
 * The loader never stops at the first problem, and never returns a Plan
 * that has an error. */

#include "diag.h"
#include "plan.h"

/* Whatever loads must be able to run. A run's first journal record (see
 * run-journal.c) carries the plan's whole source as a JSON string, and a
 * journal record holds at most PLAN_RECORD_MAX bytes (salved asserts at
 * build time, in manager-reload.c, that this is JOURNAL_PAYLOAD_MAX, and
 * test-plan-load checks the worst case). The record's other fields
 * are bounded by PLAN_RECORD_OVERHEAD_MAX: the run id and plan name (from
 * PLAN_NAME_MAX), the plan's path (PATH_MAX, at 6 bytes a byte in the
 * worst escape), the trigger and the caller's reason (SALVE_COMMENT_MAX,
 * 4096, likewise) and the keys and numbers: under 55 KiB in all. What is
 * left is the budget for the source as JSON, and the loader refuses a
 * plan whose escaped source exceeds it, naming where the limit is
 * crossed. The raw file cap is the same number: escaping never shrinks. */
#define PLAN_RECORD_MAX (1024U * 1024U)
#define PLAN_RECORD_OVERHEAD_MAX (64U * 1024U)
#define PLAN_SOURCE_JSON_MAX (PLAN_RECORD_MAX - PLAN_RECORD_OVERHEAD_MAX)
#define PLAN_FILE_MAX PLAN_SOURCE_JSON_MAX

/* How many bytes buf[0..len) takes as the body of a JSON string, as
 * json-c writes it (JSON_C_TO_STRING_NOSLASHESCAPE): '"' '\\' and \b \f \n
 * \r \t take two bytes, other control characters six (\u00XX), the rest
 * one. If ret_cross is given, it is set to the offset of the first byte
 * at which the running size exceeds limit (or len if it never does). */
size_t plan_json_string_size(const char *buf, size_t len, size_t limit, size_t *ret_cross);

typedef enum PlanLoadFlags {
        /* The file comes from a system directory and salved will run it as
         * root: refuse it when anyone but root could have written it. */
        PLAN_LOAD_SECURE = 1 << 0,
} PlanLoadFlags;

/* Returns 0 and a plan, or -EINVAL when d holds errors (warnings alone do
 * not fail), or another negative errno for I/O or memory failures. */
int plan_load_buffer(const char *file, const char *buf, size_t len, Diagnostics *d, Plan **ret);
int plan_load_file(const char *path, PlanLoadFlags flags, Diagnostics *d, Plan **ret);

/* Is the file open at fd (opened from path) safe to run as root? The
 * file must be root's and writable by no one else, checked on the open
 * descriptor; and so must be every directory that resolving path passes
 * through, from / down, the directories holding each symbolic link on
 * the way included, as sudo checks sudoers. A sticky
 * world-writable directory such as /tmp does not count as safe: anyone
 * may plant names in it. Adds an error to d naming the file and the
 * directory at fault. Returns 0, -EPERM or -errno. */
int plan_check_file_secure(const char *path, int fd, Diagnostics *d);
