/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A run as JSON, the document GetRun returns (schema in docs/dbus-api.md). */

#include <json-c/json.h>

#include "run.h"

json_object *run_to_json(const Run *r, usec_t now);
