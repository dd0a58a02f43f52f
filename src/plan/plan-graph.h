/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The step graph of a plan: resolving `needs` and `on-failure` handlers,
 * finding cycles (and printing them), a valid execution order, and the
 * critical path of `estimate`s measured against the plan's RTO. */

#include "diag.h"
#include "plan.h"

/* Resolves references and fills p->order and p->critical. Reports every
 * problem to d. Returns 0, -EINVAL when errors were reported, or -ENOMEM. */
int plan_graph_check(Plan *p, const char *file, Diagnostics *d);

/* Longest path of estimates through the steps for which `include` says
 * true (all steps if include is NULL), as a list of step indices. Steps
 * without an estimate count as zero. */
int plan_critical_path(const Plan *p, const bool *include, size_t **ret_path, size_t *ret_n, usec_t *ret_usec);

/* The graph as Graphviz DOT. */
int plan_write_dot(const Plan *p, FILE *f);
