/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Transitions as journal payloads: one JSON object per record, versioned,
 * with every field checked on the way back in. The framing and durability
 * are journal-file's; the meaning is run.c's. */

#include "run.h"

/* Serializes to a NUL-terminated JSON string. */
int transition_to_json(const Transition *t, char **ret);
/* Parses one payload. -EBADMSG for anything malformed: bad JSON, a wrong
 * type, an unknown kind or state, a missing field. */
int transition_from_json(const void *payload, size_t size, Transition *ret);
