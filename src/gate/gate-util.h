/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pure part of holds (docs: salved(8), HOLDS AND GATES): the names of
 * gate units, which units may be held, the gate's fallback policy, and the
 * released/held decision from what is in the gates directory. salved
 * writes /run/salve/gates; salve-gate and salve-generator only read plans
 * and that directory. Nothing here does I/O but gate_state_at() and
 * gate_reason_at(), which read the directory they are given. */

#include <stdint.h>

#include "macro.h"
#include "time-util.h"

#define GATE_DIR "/run/salve/gates"
#define GATE_READY_NAME "ready"
/* The reason salved writes into a held unit's file, in bytes. */
#define GATE_REASON_MAX 512
#define GATE_UNIT_PREFIX "salve-gate@"
#define GATE_UNIT_SUFFIX ".service"
/* systemd's limit on unit names, the terminating NUL included. */
#define GATE_UNIT_NAME_MAX 256
#define GATE_DROPIN_NAME "50-salve-hold.conf"

/* The instance string for unit: bytes outside [A-Za-z0-9:_.-] as \xHH
 * (lower-case hex), so "getty@tty1.service" -> "getty\x40tty1.service".
 * -EINVAL for an empty unit. */
int gate_escape(const char *unit, char **ret);
/* The reverse; -EINVAL on a malformed \x sequence, a NUL or a "/" in the
 * result, or a result that is not a unit name that can be held. */
int gate_unescape(const char *instance, char **ret);
/* "salve-gate@" ESC(unit) ".service"; -EINVAL when it would be longer
 * than systemd allows (GATE_UNIT_NAME_MAX - 1). */
int gate_unit_name(const char *unit, char **ret);

/* Whether unit can be held without an ordering cycle or a boot that cannot
 * finish: only services that start after salved do. Returns true, or false
 * with why in *ret_why (static text, may be NULL). */
bool gate_unit_can_be_held(const char *unit, const char **ret_why);

/* Is name, found in the gates directory, a held unit's file? Not "ready",
 * not a temporary file (those start with "."). */
bool gate_name_is_unit_file(const char *name);

typedef enum GateFallback {
        GATE_FALLBACK_HOLD,             /* keep holding until salved decides (the default) */
        GATE_FALLBACK_RELEASE_AFTER,    /* release when salved has not decided after a time */
        _GATE_FALLBACK_MAX,
        _GATE_FALLBACK_INVALID = -EINVAL,
} GateFallback;

typedef struct GatePolicy {
        GateFallback fallback;
        usec_t release_after;           /* GATE_FALLBACK_RELEASE_AFTER only */
} GatePolicy;

/* SALVE_GATE_FALLBACK's value: "hold", or "release-after:DURATION" with a
 * duration as plans write them ("10min", "90s", "1h 30m"). NULL or "" is
 * the default (hold). -EINVAL otherwise, *ret untouched. */
int gate_policy_parse(const char *s, GatePolicy *ret);

typedef enum GateState {
        GATE_UNDECIDED,         /* no "ready": salved has not decided (yet) */
        GATE_HELD,              /* the unit's file is there */
        GATE_RELEASED,          /* "ready" is there and the unit's file is not */
        _GATE_STATE_MAX,
        _GATE_STATE_INVALID = -EINVAL,
} GateState;

const char *gate_state_to_string(GateState s);

/* The decision, as the contract puts it: released <=> "ready" exists and
 * the unit's file does not. A held unit's file counts even before "ready"
 * appears: salved writes the holds first, then "ready". */
GateState gate_state_from_names(char * const *names, const char *unit);
/* The same from the directory at dirfd (an entry that exists counts,
 * whatever it is). -errno when the directory cannot be read. */
int gate_state_at(int dirfd, const char *unit, GateState *ret);

/* The reason in unit's file at dirfd, cut to one line of valid UTF-8 with
 * control characters as spaces, at most GATE_REASON_MAX bytes; a file
 * with none gets a generic text. -ENOENT when there is no file. */
int gate_reason_at(int dirfd, const char *unit, char **ret);
/* The same cleaning of buf[0..len), for the tests. */
char *gate_reason_clean(const char *buf, size_t len);
