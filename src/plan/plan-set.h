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
/* Frees plans for about budget (at least one); true once none are left
 * (then plan_set_free() is cheap). Freeing 2,000 large plans at once
 * takes longer than salved may keep its loop busy. */
bool plan_set_free_some(PlanSet *s, usec_t budget);

/* The system directories, highest precedence first. */
extern const char *const plan_set_default_dirs[];

/* Loads every plan from dirs (highest precedence first; missing
 * directories are fine). Plans with errors are reported to d and left
 * out; the rest load. Returns 0 (check d->n_errors) or -ENOMEM. */
int plan_set_load_dirs(const char * const *dirs, PlanLoadFlags flags, Diagnostics *d, PlanSet **ret);

/* The same, in steps, for salved, which must keep answering while it
 * reads a large set: plan_set_loader_new() lists the directories (cheap),
 * each plan_set_loader_step() loads files until budget has passed (at
 * least one; returns 1 while files remain, 0 when all are loaded), and
 * plan_set_loader_finish() hands over the set. d must outlive the loader. */
typedef struct PlanSetLoader PlanSetLoader;
int plan_set_loader_new(const char * const *dirs, PlanLoadFlags flags, Diagnostics *d, PlanSetLoader **ret);
int plan_set_loader_step(PlanSetLoader *l, usec_t budget);
size_t plan_set_loader_remaining(const PlanSetLoader *l);
int plan_set_loader_finish(PlanSetLoader *l, PlanSet **ret);
PlanSetLoader *plan_set_loader_free(PlanSetLoader *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(PlanSetLoader *, plan_set_loader_free);

/* For `salvectl verify`: each path is a plan file or a directory of them. */
int plan_set_load_paths(char * const *paths, PlanLoadFlags flags, Diagnostics *d, PlanSet **ret);

const Plan *plan_set_find(const PlanSet *s, const char *name);
