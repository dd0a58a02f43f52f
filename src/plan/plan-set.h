/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The set of plans salve knows: files named *.yaml in layered
 * directories, with systemd's precedence. A file name in /etc overrides
 * the same name in /run, which overrides /usr/lib; a symlink to
 * /dev/null (or an empty file) masks the name altogether. Plan names must
 * be unique across the set. */

#include "diag.h"
#include "plan-load.h"
#include "plan.h"

typedef struct PlanSet {
        Plan **plans;
        size_t n_plans;
        size_t n_masked;
} PlanSet;

PlanSet *plan_set_free(PlanSet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(PlanSet *, plan_set_free);

/* The system directories, highest precedence first. */
extern const char *const plan_set_default_dirs[];

/* Loads every plan from dirs (highest precedence first; missing
 * directories are fine). Plans with errors are reported to d and left
 * out; the rest load. Returns 0 (check d->n_errors) or -ENOMEM. */
int plan_set_load_dirs(const char * const *dirs, PlanLoadFlags flags, Diagnostics *d, PlanSet **ret);

/* For `salvectl verify`: each path is a plan file or a directory of them. */
int plan_set_load_paths(char * const *paths, PlanLoadFlags flags, Diagnostics *d, PlanSet **ret);

const Plan *plan_set_find(const PlanSet *s, const char *name);
