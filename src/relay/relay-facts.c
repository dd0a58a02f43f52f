/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts from a run's state, and notifications from facts (relay-facts.h). */

#include <stdarg.h>
#include <stdio.h>

#include "relay-facts.h"
#include "string-util.h"

static bool step_waited(const Run *r, size_t i) {
        const StepRun *x = r->steps + i;
        return step_kind_is_human(r->plan->steps[i].kind) && x->human.attempt == x->attempt && x->attempt > 0;
}

size_t relay_facts_for_transition(const Run *r, const Transition *t, RelayFact ret[static 2]) {
        ssize_t i = t->step_id ? plan_find_step(r->plan, t->step_id) : -1;
        RelayFact f = { .step = -1, .at = t->at };

        switch (t->kind) {
        case TRANSITION_RUN_CREATED:
                f.event = NOTIFY_RUN_STARTED;
                break;
        case TRANSITION_RUN_FINISHED:
                f.event = NOTIFY_RUN_FINISHED;
                break;
        case TRANSITION_RTO:
                f.event = t->rto_state == RTO_BREACHED ? NOTIFY_RTO_BREACHED : NOTIFY_RTO_AT_RISK;
                if (t->rto_state == RTO_OK)
                        return 0;
                break;
        case TRANSITION_STEP:
                if (i < 0)
                        return 0;
                f.step = i;
                if (step_kind_is_human(r->plan->steps[i].kind)) {
                        if (!step_waited(r, (size_t) i) || t->state == STEP_WAITING || t->state == STEP_PENDING ||
                            t->state == STEP_RUNNING || t->state == STEP_INTERRUPTED)
                                return 0;
                        f.event = NOTIFY_HUMAN_DONE;
                } else if (t->state == STEP_FAILED || t->state == STEP_INTERRUPTED)
                        f.event = NOTIFY_STEP_FAILED;
                else
                        return 0;
                break;
        case TRANSITION_HUMAN: {
                const HumanState *h;
                if (i < 0)
                        return 0;
                h = &r->steps[i].human;
                f.step = i;
                switch (t->human) {
                case HUMAN_NOTIFIED:
                        if (h->n_notices == 0)
                                return 0;
                        f.notice = h->n_notices - 1;
                        f.event = t->level == 0 && t->round <= 1 ? NOTIFY_HUMAN_NEEDED : NOTIFY_ESCALATED;
                        break;
                case HUMAN_ACKNOWLEDGED:
                        f.event = NOTIFY_ACKNOWLEDGED;
                        break;
                case HUMAN_REMINDED:
                        f.event = NOTIFY_REMINDER;
                        f.reminder = t->round;
                        break;
                case HUMAN_UNANSWERED:
                        f.event = NOTIFY_UNANSWERED;
                        break;
                default:
                        return 0;
                }
                break;
        }
        default:
                return 0;
        }
        ret[0] = f;
        return 1;
}

typedef struct FactList {
        RelayFact *items;
        size_t n;
} FactList;

static int fact_add(FactList *l, NotifyEvent e, ssize_t step, size_t notice, unsigned reminder, usec_t at) {
        RelayFact *n = reallocarray(l->items, l->n + 1, sizeof(RelayFact));
        if (!n)
                return -ENOMEM;
        l->items = n;
        l->items[l->n++] = (RelayFact) { .event = e, .step = step, .notice = notice, .reminder = reminder, .at = at };
        return 0;
}

static int fact_cmp(const void *a, const void *b) {
        const RelayFact *x = a, *y = b;
        return x->at < y->at ? -1 : x->at > y->at;
}

int relay_facts_for_run(const Run *r, RelayFact **ret, size_t *ret_n) {
        FactList l = {};
        int k;

        k = fact_add(&l, NOTIFY_RUN_STARTED, -1, 0, 0, r->created);
        for (size_t i = 0; k >= 0 && i < r->plan->n_steps; i++) {
                const StepRun *x = r->steps + i;
                const HumanState *h = &x->human;

                if (!step_kind_is_human(r->plan->steps[i].kind)) {
                        if (x->state == STEP_FAILED || x->state == STEP_INTERRUPTED)
                                k = fact_add(&l, NOTIFY_STEP_FAILED, (ssize_t) i, 0, 0, x->finished ?: x->started);
                        continue;
                }
                if (!step_waited(r, i))
                        continue;
                for (size_t n = 0; k >= 0 && n < h->n_notices; n++)
                        k = fact_add(&l, h->notices[n].level == 0 && h->notices[n].round <= 1 ? NOTIFY_HUMAN_NEEDED
                                                                                              : NOTIFY_ESCALATED,
                                     (ssize_t) i, n, 0, h->notices[n].at);
                if (k >= 0 && h->acked_at)
                        k = fact_add(&l, NOTIFY_ACKNOWLEDGED, (ssize_t) i, 0, 0, h->acked_at);
                /* Only the last reminder's time is kept; earlier ones were sent before it. */
                for (unsigned n = 1; k >= 0 && n <= h->n_reminders; n++)
                        k = fact_add(&l, NOTIFY_REMINDER, (ssize_t) i, 0, n, h->reminded_at);
                if (k >= 0 && h->unanswered_at)
                        k = fact_add(&l, NOTIFY_UNANSWERED, (ssize_t) i, 0, 0, h->unanswered_at);
                if (k >= 0 && x->state != STEP_WAITING && x->state != STEP_PENDING && x->state != STEP_RUNNING &&
                    x->state != STEP_INTERRUPTED)
                        k = fact_add(&l, NOTIFY_HUMAN_DONE, (ssize_t) i, 0, 0, x->finished ?: x->started);
        }
        /* Only the state reached is kept: an "at risk" before "breached" was
         * older than it, and the breach is what is still worth saying. */
        if (k >= 0 && r->rto_state == RTO_AT_RISK)
                k = fact_add(&l, NOTIFY_RTO_AT_RISK, -1, 0, 0, r->rto_at ?: r->created);
        if (k >= 0 && r->rto_state == RTO_BREACHED)
                k = fact_add(&l, NOTIFY_RTO_BREACHED, -1, 0, 0, r->rto_at ?: r->created);
        if (k >= 0 && run_is_finished(r))
                k = fact_add(&l, NOTIFY_RUN_FINISHED, -1, 0, 0, r->finished);
        if (k < 0) {
                free(l.items);
                return k;
        }
        if (l.n > 1)
                qsort(l.items, l.n, sizeof(RelayFact), fact_cmp);
        *ret = l.items;
        *ret_n = l.n;
        return 0;
}

int relay_fact_key(const Run *r, const RelayFact *f, const char *host, char **ret) {
        const char *ev = notify_event_to_string(f->event);
        int k;

        if (!ev)
                return -EINVAL;
        if (f->step < 0)
                k = asprintf(ret, "salve/%s/%s/%s", host, r->id, ev);
        else {
                const char *id = r->plan->steps[f->step].id;
                unsigned attempt = r->steps[f->step].attempt;
                const HumanNotice *n = f->event == NOTIFY_HUMAN_NEEDED || f->event == NOTIFY_ESCALATED
                                               ? r->steps[f->step].human.notices + f->notice : NULL;
                if (n)
                        k = asprintf(ret, "salve/%s/%s/%s/%u/%s/%u/%u", host, r->id, id, attempt, ev, n->level,
                                     n->round);
                else if (f->event == NOTIFY_REMINDER)
                        k = asprintf(ret, "salve/%s/%s/%s/%u/%s/%u", host, r->id, id, attempt, ev, f->reminder);
                else
                        k = asprintf(ret, "salve/%s/%s/%s/%u/%s", host, r->id, id, attempt, ev);
        }
        return k < 0 ? -ENOMEM : 0;
}

/* ---- building ---- */

static int dup_to(char **dst, const char *s) {
        if (!s)
                return 0;
        *dst = strdup(s);
        return *dst ? 0 : -ENOMEM;
}

_printf_(2, 3)
static int set_summary(Notification *n, const char *format, ...) {
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&n->summary, format, ap);
        va_end(ap);
        if (k < 0) {
                n->summary = NULL;
                return -ENOMEM;
        }
        if (strlen(n->summary) > 1024) {
                size_t cut = 1024;
                /* not inside a UTF-8 sequence */
                while (cut > 0 && ((unsigned char) n->summary[cut] & 0xC0) == 0x80)
                        cut--;
                n->summary[cut] = 0;
        }
        return 0;
}

static int add_recipient(Notification *n, const char *name, unsigned level, const RelayContext *ctx) {
        NotifyRecipient *g, x = { .level = level };

        for (size_t i = 0; i < n->n_recipients; i++)
                if (streq(n->recipients[i].name, name))
                        return 0;
        if (!(x.name = strdup(name)))
                return -ENOMEM;
        if (ctx->person && ctx->person(name, &x.display, &x.contacts, ctx->userdata) < 0) {
                x.display = mfree(x.display);
                x.contacts = strv_free(x.contacts);
        }
        g = reallocarray(n->recipients, n->n_recipients + 1, sizeof(NotifyRecipient));
        if (!g) {
                notify_recipients_free(&x, 1);
                return -ENOMEM;
        }
        n->recipients = g;
        n->recipients[n->n_recipients++] = x;
        return 0;
}

static int add_recipients(Notification *n, char * const *names, unsigned level, const RelayContext *ctx) {
        STRV_FOREACH(p, names) {
                int k = add_recipient(n, *p, level, ctx);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* The units the run holds back now, or starts, stops or restarts. */
int relay_run_units(const Run *r, char ***ret) {
        _cleanup_strv_free_ char **units = NULL;

        STRV_FOREACH(u, r->plan->holds) {
                RunHold h;
                if (run_hold(r, *u, &h) >= 0 && h.held && !strv_contains(units, *u) && strv_extend(&units, *u) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < r->plan->n_steps; i++) {
                const Step *s = r->plan->steps + i;
                const char *u;

                if (s->kind != STEP_UNIT_START && s->kind != STEP_UNIT_RESTART && s->kind != STEP_UNIT_STOP &&
                    s->kind != STEP_UNIT_RESTART_DEPENDENTS)
                        continue;
                u = step_get_string(s, "unit");
                if (u && !strv_contains(units, u) && strv_extend(&units, u) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(units);
        return 0;
}

static const char *done_action(const StepRun *x, StepKind kind) {
        switch (x->state) {
        case STEP_SUCCEEDED:
                return kind == STEP_APPROVE ? "approve" : "done";
        case STEP_FAILED:
                return x->actor ? (kind == STEP_APPROVE ? "reject" : "fail") : "abort";
        case STEP_SKIPPED:
                return "skip";
        case STEP_CANCELLED:
                return "cancel";
        default:
                return step_state_to_string(x->state);
        }
}

static int build_step(const Run *r, const RelayFact *f, const RelayContext *ctx, Notification *n) {
        const Plan *p = r->plan;
        const Step *s = p->steps + f->step;
        const StepRun *x = r->steps + f->step;
        const HumanState *h = &x->human;
        const char *levels[STEP_ESCALATE_MAX + 1];
        size_t n_levels = MIN(run_human_levels(r, (size_t) f->step, levels, ELEMENTSOF(levels)), ELEMENTSOF(levels));
        char d[FORMAT_DURATION_MAX];
        int k = 0;

        if (dup_to(&n->step_id, s->id) < 0 || dup_to(&n->step_kind, step_kind_to_string(s->kind)) < 0 ||
            dup_to(&n->step_description, s->description) < 0 || dup_to(&n->instructions, s->instructions) < 0 ||
            dup_to(&n->bridge, s->bridge ?: p->bridge) < 0 || dup_to(&n->chat, s->chat ?: p->chat) < 0 ||
            dup_to(&n->message, x->message) < 0)
                return -ENOMEM;
        STRV_FOREACH(l, s->links)
                if (strv_extend(&n->links, *l) < 0)
                        return -ENOMEM;
        STRV_FOREACH(l, p->links)
                if (!strv_contains(n->links, *l) && strv_extend(&n->links, *l) < 0)
                        return -ENOMEM;
        STRV_FOREACH(l, s->needs)
                if (strv_extend(&n->needs, *l) < 0)
                        return -ENOMEM;
        n->step_position = (unsigned) p->order_pos[f->step] + 1;
        n->n_steps = (unsigned) p->n_steps;
        if (step_kind_is_human(s->kind)) {
                n->n_levels = (unsigned) n_levels;
                n->rounds = s->repeat;
                n->ack_timeout = s->ack_timeout;
        }

        switch (f->event) {
        case NOTIFY_HUMAN_NEEDED:
        case NOTIFY_ESCALATED: {
                const HumanNotice *no = h->notices + f->notice;
                const char *who = no->level < n_levels ? levels[no->level] : NULL;

                n->level = no->level;
                n->round = no->round;
                k = add_recipients(n, no->recipients, no->level, ctx);
                /* The earlier levels are reminded with the next. */
                for (size_t e = 0; k >= 0 && e < f->notice; e++)
                        k = add_recipients(n, h->notices[e].recipients, h->notices[e].level, ctx);
                if (k < 0)
                        return k;
                if (f->event == NOTIFY_HUMAN_NEEDED)
                        return set_summary(n, "%s on %s: step %s needs %s to %s%s%s", p->name, ctx->host, s->id,
                                           strna(who), s->kind == STEP_APPROVE ? "approve it" : "do it",
                                           s->description ? ": " : "", strempty(s->description));
                return set_summary(n, "%s on %s: step %s was not acknowledged in %s; escalated to %s (level %u%s%s)",
                                   p->name, ctx->host, s->id, format_duration(d, s->ack_timeout), strna(who),
                                   no->level, no->round > 1 ? ", round " : "",
                                   no->round > 1 ? (snprintf(d, sizeof(d), "%u", no->round), d) : "");
        }
        case NOTIFY_REMINDER:
                n->round = f->reminder;
                if (h->acked_by && (k = add_recipient(n, h->acked_by, 0, ctx)) < 0)
                        return k;
                return set_summary(n, "%s on %s: step %s, acknowledged by %s, is still not done (reminder %u)",
                                   p->name, ctx->host, s->id, strna(h->acked_by), f->reminder);
        case NOTIFY_ACKNOWLEDGED:
                if (dup_to(&n->actor, h->acked_by) < 0 || dup_to(&n->comment, h->ack_comment) < 0 ||
                    dup_to(&n->action, h->acked_via) < 0)
                        return -ENOMEM;
                if (h->n_notices > 0) {
                        n->level = h->notices[h->n_notices - 1].level;
                        n->round = h->notices[h->n_notices - 1].round;
                }
                return set_summary(n, "%s on %s: step %s acknowledged by %s", p->name, ctx->host, s->id,
                                   strna(h->acked_by));
        case NOTIFY_UNANSWERED:
                k = add_recipients(n, h->unanswered_told, 0, ctx);
                if (k < 0)
                        return k;
                return set_summary(n, "%s on %s: step %s went unanswered: nobody acknowledged it through the whole "
                                   "escalation chain", p->name, ctx->host, s->id);
        case NOTIFY_HUMAN_DONE: {
                const char *a = done_action(x, s->kind);
                if (dup_to(&n->actor, x->actor) < 0 || dup_to(&n->action, a) < 0 || dup_to(&n->comment, x->comment) < 0)
                        return -ENOMEM;
                return set_summary(n, "%s on %s: step %s %s%s%s", p->name, ctx->host, s->id, strna(x->message),
                                   x->comment ? ": " : "", strempty(x->comment));
        }
        case NOTIFY_STEP_FAILED:
                return set_summary(n, "%s on %s: step %s %s: %s", p->name, ctx->host, s->id,
                                   x->state == STEP_INTERRUPTED ? "was interrupted" : "failed", strna(x->message));
        case NOTIFY_RUN_FINISHED:
                /* the end of a run, for what a step's failure opened (a PagerDuty incident) */
                if (dup_to(&n->message, r->final_message) < 0)
                        return -ENOMEM;
                return set_summary(n, "%s on %s: run %s %s; step %s had %s", p->name, ctx->host, r->id,
                                   run_state_to_string(r->final_state), s->id,
                                   x->state == STEP_INTERRUPTED ? "been interrupted" : "failed");
        default:
                return -EINVAL;
        }
}

int relay_notification_build(const Run *r, const RelayFact *f, const RelayContext *ctx, Notification **ret) {
        _cleanup_(notification_freep) Notification *n = NULL;
        const Plan *p = r->plan;
        char d[FORMAT_DURATION_MAX];
        int k;

        if (f->step >= (ssize_t) p->n_steps || f->event < 0 || f->event >= _NOTIFY_EVENT_MAX)
                return -EINVAL;
        n = calloc(1, sizeof(Notification));
        if (!n)
                return -ENOMEM;
        n->event = f->event;
        n->severity = notify_event_default_severity(f->event);
        n->at = f->at;
        n->trigger_time = r->trigger_time;
        n->rto = p->rto;
        n->deadline = run_deadline(r) == USEC_INFINITY ? 0 : run_deadline(r);
        n->projected = r->projected == USEC_INFINITY ? 0 : r->projected;
        k = relay_fact_key(r, f, ctx->host, &n->key);
        if (k < 0)
                return k;
        if (dup_to(&n->host, ctx->host) < 0 || dup_to(&n->machine_id, ctx->machine_id) < 0 ||
            dup_to(&n->plan, p->name) < 0 || dup_to(&n->plan_description, p->description) < 0 ||
            dup_to(&n->run_id, r->id) < 0 || dup_to(&n->trigger, r->trigger) < 0 ||
            dup_to(&n->reason, r->reason) < 0 ||
            dup_to(&n->run_state, run_is_finished(r) ? run_state_to_string(r->final_state)
                                                     : run_state_to_string(run_state(r))) < 0 ||
            dup_to(&n->rto_state, rto_state_to_string(r->rto_state)) < 0)
                return -ENOMEM;
        k = relay_run_units(r, &n->units);
        if (k < 0)
                return k;

        if (f->step >= 0)
                k = build_step(r, f, ctx, n);
        else
                switch (f->event) {
                case NOTIFY_RUN_STARTED:
                        STRV_FOREACH(l, p->links)
                                if (strv_extend(&n->links, *l) < 0)
                                        return -ENOMEM;
                        if (dup_to(&n->bridge, p->bridge) < 0 || dup_to(&n->chat, p->chat) < 0)
                                return -ENOMEM;
                        k = set_summary(n, "%s started on %s (trigger: %s%s%s)", p->name, ctx->host, strna(r->trigger),
                                        r->reason ? ": " : "", strempty(r->reason));
                        break;
                case NOTIFY_RTO_AT_RISK:
                        k = set_summary(n, "%s on %s: run %s is at risk of missing its recovery time objective of %s",
                                        p->name, ctx->host, r->id, format_duration(d, p->rto));
                        break;
                case NOTIFY_RTO_BREACHED:
                        k = set_summary(n, "%s on %s: run %s breached its recovery time objective of %s", p->name,
                                        ctx->host, r->id, format_duration(d, p->rto));
                        break;
                case NOTIFY_RUN_FINISHED:
                        if (r->final_state != RUN_SUCCEEDED)
                                n->severity = NOTIFY_SEVERITY_ERROR;
                        if (dup_to(&n->message, r->final_message) < 0)
                                return -ENOMEM;
                        k = set_summary(n, "%s on %s: run %s %s%s%s", p->name, ctx->host, r->id,
                                        run_state_to_string(r->final_state), r->final_message ? ": " : "",
                                        strempty(r->final_message));
                        break;
                default:
                        k = -EINVAL;
                }
        if (k < 0)
                return k;
        *ret = TAKE_PTR(n);
        return 0;
}
