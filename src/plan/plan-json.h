/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Plans as JSON (json-c), for `salvectl --json` and the D-Bus API. */

#include <json-c/json.h>

#include "diag.h"
#include "plan.h"

/* A summary (name, triggers, rto, steps count, source) or, with details,
 * every step with its dependencies and the critical path. */
json_object *plan_to_json(const Plan *p, bool details);
json_object *diagnostics_to_json(const Diagnostics *d);
/* Human-readable one-line form of a trigger, e.g. "raid md0 degraded". */
char *trigger_to_string(const Trigger *t);
