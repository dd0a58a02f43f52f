/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which plans a watcher's event starts. Pure: no I/O, no clock but the
 * event's own timestamps, so every rule is a unit test
 * (tests/unit/test-trigger-match.c).
 *
 * The rules (salve.plan(5), TRIGGERS):
 * - unit: the name (a glob, which never matches salve's own transient
 *   salve-*.service units) matches; state failed|active|inactive equals
 *   the event, and for failed the Result is one of `result:` when given.
 *   `restarts: N, within: T` fires on the N-th automatic restart within T
 *   (then counts again from zero).
 * - raid: the array (md0, /dev/md0, md/NAME as /dev/md/NAME names it; "*"
 *   for any) and the event are equal.
 * - device: `match:` UUID=, LABEL=, PARTUUID= compare with what libblkid
 *   found, /dev/... with the node; the event is equal.
 * - link: the name (a glob) matches and the state equals the event.
 * - An event found by a watcher's first enumeration (initial) fires only
 *   for a state that needs repair: a failed unit, a degraded or
 *   resync-pending array or a failed disk, a link down. A device present
 *   at start is not "added", a unit active at start not "active". */

#include "plan-set.h"
#include "trigger-event.h"

typedef struct TriggerMatcher TriggerMatcher;

int trigger_matcher_new(TriggerMatcher **ret);
TriggerMatcher *trigger_matcher_free(TriggerMatcher *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(TriggerMatcher *, trigger_matcher_free);

/* Whether trigger t fires for ev, counting restarts for `restarts:`
 * triggers (t must be trigger index ti of plan; the count is per plan,
 * trigger and unit). */
bool trigger_matcher_test(TriggerMatcher *m, const Plan *plan, size_t ti, const TriggerEvent *ev);

/* Forgets the restart counts of plans no longer in s (after a reload). */
void trigger_matcher_prune(TriggerMatcher *m, const PlanSet *s);

/* Stateless part, for triggers without `restarts:`. */
bool trigger_matches(const Trigger *t, const TriggerEvent *ev);
bool trigger_event_is_repair_state(const TriggerEvent *ev);
