/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The human side of a run: who is told about a waiting human step, when
 * the next level of its chain is due, acknowledgements and reminders.
 * Pure like the rest of the engine: it proposes HUMAN transitions from
 * the run and the time; the manager journals them and the relay tells
 * people. The chain is the step's owner (level 0) then its escalate list;
 * it repeats `repeat` rounds, then the step is unanswered. */

#include "run.h"
#include "string-table.h"

static const char *const human_event_table[_HUMAN_EVENT_MAX] = {
        [HUMAN_NOTIFIED] = "notified",
        [HUMAN_ACKNOWLEDGED] = "acknowledged",
        [HUMAN_REMINDED] = "reminded",
        [HUMAN_UNANSWERED] = "unanswered",
};

DEFINE_STRING_TABLE(human_event, HumanEvent, human_event_table, _HUMAN_EVENT_MAX)

/* levels x rounds, with room: the validator bounds both */
#define HUMAN_NOTICES_MAX ((STEP_ESCALATE_MAX + 1) * STEP_REPEAT_MAX)

void human_state_done(HumanState *h) {
        for (size_t i = 0; i < h->n_notices; i++)
                strv_free(h->notices[i].recipients);
        free(h->notices);
        free(h->acked_by);
        free(h->acked_via);
        free(h->ack_comment);
        strv_free(h->unanswered_told);
        *h = (HumanState) {};
}

size_t run_human_levels(const Run *r, size_t step, const char **ret_names, size_t max) {
        const Plan *p = r->plan;
        const Step *s = p->steps + step;
        char **escalate = s->escalate ?: p->escalate;
        size_t n = 0;

        if (n < max)
                ret_names[n] = s->owner ?: p->owner;
        n++;
        STRV_FOREACH(e, escalate) {
                if (n < max)
                        ret_names[n] = *e;
                n++;
        }
        return n;
}

static int dup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (s && !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

int run_apply_human(Run *r, size_t i, const Transition *t) {
        const Step *s = r->plan->steps + i;
        StepRun *x = r->steps + i;
        HumanState *h = &x->human;

        if (!step_kind_is_human(s->kind) || t->attempt != x->attempt || t->attempt == 0)
                return -EINVAL;
        h->attempt = t->attempt;

        switch (t->human) {
        case HUMAN_NOTIFIED: {
                HumanNotice *n;
                char **rcpt = NULL;

                if (t->level > STEP_ESCALATE_MAX || t->round == 0 || t->round > STEP_REPEAT_MAX ||
                    h->n_notices >= HUMAN_NOTICES_MAX)
                        return -EINVAL;
                if (t->recipients && !(rcpt = strv_copy(t->recipients)))
                        return -ENOMEM;
                n = reallocarray(h->notices, h->n_notices + 1, sizeof(HumanNotice));
                if (!n) {
                        strv_free(rcpt);
                        return -ENOMEM;
                }
                h->notices = n;
                h->notices[h->n_notices++] = (HumanNotice) {
                        .level = t->level, .round = t->round, .at = t->at, .recipients = rcpt,
                };
                return 0;
        }
        case HUMAN_ACKNOWLEDGED: {
                _cleanup_free_ char *by = NULL, *via = NULL, *comment = NULL;

                if (h->acked_at != 0)
                        return -EINVAL;
                if (dup_or_null(t->actor ?: "unknown", &by) < 0 || dup_or_null(t->via, &via) < 0 ||
                    dup_or_null(t->comment, &comment) < 0)
                        return -ENOMEM;
                h->acked_at = t->at ?: 1;
                h->acked_by = TAKE_PTR(by);
                h->acked_via = TAKE_PTR(via);
                h->ack_comment = TAKE_PTR(comment);
                return 0;
        }
        case HUMAN_REMINDED:
                if (h->acked_at == 0 || t->round == 0)
                        return -EINVAL;
                h->n_reminders = t->round;
                h->reminded_at = t->at;
                return 0;
        case HUMAN_UNANSWERED: {
                char **told = NULL;

                if (h->unanswered_at != 0)
                        return -EINVAL;
                if (t->recipients && !(told = strv_copy(t->recipients)))
                        return -ENOMEM;
                h->unanswered_at = t->at ?: 1;
                h->unanswered_told = told;
                return 0;
        }
        default:
                return -EINVAL;
        }
}

static int resolve_names(char * const *names, usec_t at, RunResolveFunc resolve, void *userdata, char ***ret) {
        _cleanup_strv_free_ char **all = NULL;

        STRV_FOREACH(n, names) {
                _cleanup_strv_free_ char **people = NULL;

                if (!*n)
                        continue;
                if (!resolve || resolve(*n, at, &people, userdata) < 0) {
                        people = strv_free(people);
                        if (strv_extend(&people, *n) < 0)
                                return -ENOMEM;
                }
                STRV_FOREACH(p, people)
                        if (!strv_contains(all, *p) && strv_extend(&all, *p) < 0)
                                return -ENOMEM;
        }
        *ret = TAKE_PTR(all);
        return 0;
}

static int human_transition(const Run *r, size_t i, HumanEvent e, usec_t now, Transition *ret) {
        *ret = (Transition) {
                .kind = TRANSITION_HUMAN,
                .at = now,
                .human = e,
                .attempt = r->steps[i].attempt,
        };
        if (!(ret->run_id = strdup(r->id)) || !(ret->step_id = strdup(r->plan->steps[i].id))) {
                transition_done(ret);
                return -ENOMEM;
        }
        return 0;
}

/* What is due for one waiting step: 1 with *ret, or 0 and *wake lowered. */
static int human_step_next(const Run *r, size_t i, usec_t now, RunResolveFunc resolve, void *userdata,
                           Transition *ret, usec_t *wake) {
        const Step *s = r->plan->steps + i;
        const HumanState *h = &r->steps[i].human;
        const char *levels[STEP_ESCALATE_MAX + 1];
        size_t n_levels = MIN(run_human_levels(r, i, levels, ELEMENTSOF(levels)), ELEMENTSOF(levels));
        unsigned level = 0, round = 1;
        int k;

        if (h->unanswered_at != 0)
                return 0;
        if (h->acked_at != 0) {
                usec_t due;
                if (s->remind == USEC_INFINITY)
                        return 0;
                due = usec_add(MAX(h->acked_at, h->reminded_at), s->remind);
                if (now < due) {
                        *wake = MIN(*wake, due);
                        return 0;
                }
                k = human_transition(r, i, HUMAN_REMINDED, now, ret);
                if (k < 0)
                        return k;
                ret->round = h->n_reminders + 1;
                if (strv_extend(&ret->recipients, h->acked_by) < 0) {
                        transition_done(ret);
                        return -ENOMEM;
                }
                return 1;
        }
        if (h->n_notices > 0) {
                const HumanNotice *last = h->notices + h->n_notices - 1;
                usec_t due;

                if (s->ack_timeout == USEC_INFINITY)
                        return 0;
                due = usec_add(last->at, s->ack_timeout);
                if (now < due) {
                        *wake = MIN(*wake, due);
                        return 0;
                }
                level = last->level + 1;
                round = last->round;
                if (level >= n_levels) {
                        level = 0;
                        round++;
                }
                if (round > s->repeat || h->n_notices >= HUMAN_NOTICES_MAX) {
                        char *told[3] = { r->plan->owner, NULL, NULL };
                        _cleanup_strv_free_ char **names = NULL;

                        if (!told[0])
                                told[0] = levels[0] ? (char *) levels[0] : NULL;
                        if (told[0] && strv_extend(&names, told[0]) < 0)
                                return -ENOMEM;
                        STRV_FOREACH(f, r->plan->fallback)
                                if (strv_extend(&names, *f) < 0)
                                        return -ENOMEM;
                        k = human_transition(r, i, HUMAN_UNANSWERED, now, ret);
                        if (k >= 0)
                                k = resolve_names(names, now, resolve, userdata, &ret->recipients);
                        if (k < 0) {
                                transition_done(ret);
                                return k;
                        }
                        return 1;
                }
        }
        k = human_transition(r, i, HUMAN_NOTIFIED, now, ret);
        if (k < 0)
                return k;
        ret->level = level;
        ret->round = round;
        {
                char *names[2] = { (char *) levels[level], NULL };
                k = resolve_names(names, now, resolve, userdata, &ret->recipients);
        }
        if (k < 0) {
                transition_done(ret);
                return k;
        }
        return 1;
}

int run_human_next(const Run *r, usec_t now, RunResolveFunc resolve, void *userdata, Transition **ret, size_t *ret_n,
                   usec_t *ret_wake) {
        Transition *list = NULL;
        size_t n = 0;
        usec_t wake = USEC_INFINITY;
        int k = 0;

        *ret = NULL;
        *ret_n = 0;
        *ret_wake = USEC_INFINITY;
        if (run_is_finished(r) || r->count[STEP_WAITING] == 0)
                return 0;
        for (size_t i = 0; i < r->plan->n_steps; i++) {
                Transition t;
                Transition *grown;

                if (r->steps[i].state != STEP_WAITING || !step_kind_is_human(r->plan->steps[i].kind))
                        continue;
                k = human_step_next(r, i, now, resolve, userdata, &t, &wake);
                if (k < 0)
                        break;
                if (k == 0)
                        continue;
                grown = reallocarray(list, n + 1, sizeof(Transition));
                if (!grown) {
                        transition_done(&t);
                        k = -ENOMEM;
                        break;
                }
                list = grown;
                list[n++] = t;
                k = 0;
        }
        if (k < 0) {
                transitions_free(list, n);
                return k;
        }
        *ret = list;
        *ret_n = n;
        *ret_wake = wake;
        return (int) MIN(n, (size_t) INT32_MAX);
}

int run_ack(const Run *r, const char *step_id, const char *actor, const char *via, const char *comment, usec_t now,
            Transition *ret) {
        ssize_t i = plan_find_step(r->plan, step_id);
        int k;

        if (i < 0)
                return -ENOENT;
        if (!step_kind_is_human(r->plan->steps[i].kind))
                return -EOPNOTSUPP;
        if (run_is_finished(r) || r->steps[i].state != STEP_WAITING)
                return -EBUSY;
        if (r->steps[i].human.acked_at != 0)
                return -EALREADY;
        k = human_transition(r, (size_t) i, HUMAN_ACKNOWLEDGED, now, ret);
        if (k < 0)
                return k;
        if (dup_or_null(actor ?: "unknown", &ret->actor) < 0 || dup_or_null(via, &ret->via) < 0 ||
            dup_or_null(comment, &ret->comment) < 0) {
                transition_done(ret);
                return -ENOMEM;
        }
        return 0;
}
