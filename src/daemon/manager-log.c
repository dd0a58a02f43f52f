/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The "log" listener: one structured journal entry per transition, with
 * SALVE_RUN=/SALVE_PLAN=/SALVE_STEP= fields and, for what an operator
 * alerts on, a MESSAGE_ID (log.h). */

#include "log.h"
#include "manager.h"

void manager_log_transition(Manager *m, const Run *r, const Transition *t, void *userdata) {
        const char *plan = r->plan->name;

        switch (t->kind) {
        case TRANSITION_RUN_CREATED:
                log_struct_internal(LOG_NOTICE, 0, SALVE_MESSAGE_RUN_STARTED, r->id, plan, NULL,
                                    "Run %s of plan %s started (trigger: %s%s%s).", r->id, plan, r->trigger,
                                    r->reason ? ", " : "", strempty(r->reason));
                break;

        case TRANSITION_STEP: {
                int prio = t->state == STEP_FAILED || t->state == STEP_INTERRUPTED ? LOG_WARNING : LOG_INFO;
                log_struct_internal(prio, 0, t->state == STEP_FAILED ? SALVE_MESSAGE_STEP_FAILED : NULL, r->id,
                                    plan, t->step_id, "Step %s %s%s%s.", t->step_id,
                                    step_state_to_string(t->state), t->message ? ": " : "",
                                    strempty(t->message));
                break;
        }

        case TRANSITION_RUN_FINISHED:
                log_struct_internal(t->run_state == RUN_SUCCEEDED ? LOG_NOTICE : LOG_WARNING, 0,
                                    SALVE_MESSAGE_RUN_FINISHED, r->id, plan, NULL, "Run %s %s: %s.", r->id,
                                    run_state_to_string(t->run_state), strna(t->message));
                break;

        case TRANSITION_RTO: {
                char a[FORMAT_DURATION_MAX];
                usec_t deadline = run_deadline(r);
                if (t->rto_state == RTO_BREACHED)
                        log_struct_internal(LOG_ERR, 0, SALVE_MESSAGE_RTO_BREACHED, r->id, plan, NULL,
                                            "Run %s breached its recovery time objective of %s.", r->id,
                                            format_duration(a, r->plan->rto));
                else
                        log_struct_internal(LOG_WARNING, 0, SALVE_MESSAGE_RTO_AT_RISK, r->id, plan, NULL,
                                            "Run %s is at risk: projected to finish %s after its RTO deadline.",
                                            r->id, format_duration(a, t->projected > deadline ? t->projected - deadline : 0));
                break;
        }
        case TRANSITION_HUMAN: {
                _cleanup_free_ char *who = t->recipients ? strv_join(t->recipients, ", ") : NULL;
                const char *name = NULL;
                ssize_t i = plan_find_step(r->plan, t->step_id);
                const char *levels[STEP_ESCALATE_MAX + 1];

                if (i >= 0 && run_human_levels(r, (size_t) i, levels, ELEMENTSOF(levels)) > t->level &&
                    t->level < ELEMENTSOF(levels))
                        name = levels[t->level];
                switch (t->human) {
                case HUMAN_NOTIFIED:
                        if (t->level == 0 && t->round <= 1)
                                log_struct_internal(LOG_NOTICE, 0, SALVE_MESSAGE_HUMAN_NOTIFIED, r->id, plan, t->step_id,
                                                    "Step %s needs a person: %s (%s) told.", t->step_id,
                                                    who && *who ? who : "nobody resolvable", strna(name));
                        else
                                log_struct_internal(LOG_WARNING, 0, SALVE_MESSAGE_HUMAN_ESCALATED, r->id, plan,
                                                    t->step_id, "Step %s not acknowledged in time: escalated to "
                                                    "level %u (%s), round %u: %s told.", t->step_id, t->level,
                                                    strna(name), t->round, who && *who ? who : "nobody resolvable");
                        break;
                case HUMAN_ACKNOWLEDGED:
                        log_struct_internal(LOG_NOTICE, 0, SALVE_MESSAGE_HUMAN_ACKNOWLEDGED, r->id, plan, t->step_id,
                                            "Step %s acknowledged by %s (via %s)%s%s.", t->step_id, strna(t->actor),
                                            strna(t->via), t->comment ? ": " : "", strempty(t->comment));
                        break;
                case HUMAN_REMINDED:
                        log_struct_internal(LOG_INFO, 0, SALVE_MESSAGE_HUMAN_REMINDED, r->id, plan, t->step_id,
                                            "Step %s is still not done: %s reminded (reminder %u).", t->step_id,
                                            strna(who), t->round);
                        break;
                case HUMAN_UNANSWERED:
                        log_struct_internal(LOG_ERR, 0, SALVE_MESSAGE_HUMAN_UNANSWERED, r->id, plan, t->step_id,
                                            "Step %s went unanswered: nobody acknowledged it through the whole "
                                            "chain; %s told.", t->step_id, who && *who ? who : "nobody resolvable");
                        break;
                default:
                        break;
                }
                break;
        }
        default:
                break;
        }
}
