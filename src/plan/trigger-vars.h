/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a trigger carries into its run, and the ${trigger.NAME} variables
 * that let one plan serve every unit, array, device or link.
 *
 * A run's trigger context is a list of "name=value" strings (a strv, in a
 * fixed order) built from the TriggerEvent that started it, journaled with
 * the run and shown by salvectl status. The variables are expanded in the
 * `with:` strings of the run's copy of the plan when the run is created,
 * so the executor only ever sees literal values; the typed checks a
 * literal gets at load time (a unit name, an absolute path, ...) are made
 * on the expanded value then. */

#include "plan.h"
#include "trigger-event.h"

/* The variable names, as in ${trigger.NAME}. */
extern const char *const trigger_var_names[];

bool trigger_var_is_known(const char *name);
/* Whether a trigger of kind k sets the variable (manual runs set what
 * salvectl run --trigger gives). */
bool trigger_kind_provides_var(TriggerKind k, const char *name);

/* Calls cb for each ${trigger.NAME} in s, with NAME (NUL-terminated copy).
 * Returns -EINVAL (and *ret_bad points at the problem) for a
 * "${trigger." that is not closed or names nothing. Any other ${...} is
 * not salve's (a shell variable in an sh -c command) and is left alone. */
typedef int (*trigger_var_cb)(const char *name, void *userdata);
int string_foreach_trigger_var(const char *s, trigger_var_cb cb, void *userdata, const char **ret_bad);
bool string_has_trigger_vars(const char *s);

/* Looks NAME up in a context strv ("name=value"); NULL when unset. */
const char *trigger_context_get(char * const *context, const char *name);

/* Expands every ${trigger.NAME} in s from context; an unset one is empty.
 * -EBADMSG when a value has characters salve never substitutes (its name
 * in *ret_missing: a static name from trigger_var_names). */
int string_expand_trigger_vars(const char *s, char * const *context, char **ret, const char **ret_missing);

/* The context of an event, in trigger_var_names order, unset ones left out. */
int trigger_context_from_event(const TriggerEvent *ev, char ***ret);

/* The variables a plan's `with:` strings use (sorted, unique). */
int plan_trigger_vars_used(const Plan *p, char ***ret);

/* Expands the variables in every `with:` string of p in place and checks
 * the results as the loader checks literals. On failure *ret_error says
 * which step and field, and why (p is then unusable). */
int plan_expand_trigger_vars(Plan *p, char * const *context, char **ret_error);
/* The same checks, leaving p as it is (salved checks a trigger against the
 * loaded plan before it journals a run, whose own copy is then expanded). */
int plan_check_trigger_vars(const Plan *p, char * const *context, char **ret_error);

/* What tells runs of one plan apart when the plan uses variables: the
 * used variables' values ("unit=a.service"), or "" when it uses none.
 * Triggers join or queue behind an active run with the same instance. */
int plan_instance_from_context(const Plan *p, char * const *context, char **ret);
