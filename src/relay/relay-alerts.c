/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A run's alerts at Alertmanager (relay-alerts.h). */

#include "relay-alerts.h"

typedef struct AlertList {
        RelayAlert *items;
        size_t n;
        usec_t now, resolved_for;
} AlertList;

static int alert_add(AlertList *l, NotifyEvent e, ssize_t step, size_t notice, bool firing, usec_t starts,
                     usec_t resolved) {
        RelayAlert *n;

        if (!firing && (resolved == 0 || usec_add(resolved, l->resolved_for) < l->now))
                return 0;
        n = reallocarray(l->items, l->n + 1, sizeof(RelayAlert));
        if (!n)
                return -ENOMEM;
        l->items = n;
        l->items[l->n++] = (RelayAlert) {
                .fact = { .event = e, .step = step, .notice = notice, .at = starts },
                .firing = firing,
                .starts_at = starts,
                .resolved_at = firing ? 0 : resolved,
        };
        return 0;
}

int relay_alerts_for_run(const Run *r, usec_t now, usec_t resolved_for, RelayAlert **ret, size_t *ret_n) {
        AlertList l = { .now = now, .resolved_for = resolved_for };
        bool active = !run_is_finished(r);
        int k;

        /* The run itself: what the inhibit rule keys on. */
        k = alert_add(&l, NOTIFY_RUN_STARTED, -1, 0, active, r->created, r->finished);

        for (size_t i = 0; k >= 0 && i < r->plan->n_steps; i++) {
                const StepRun *x = r->steps + i;
                const HumanState *h = &x->human;
                bool waiting = active && x->state == STEP_WAITING;
                usec_t left = x->state == STEP_WAITING ? r->finished : x->finished ?: r->finished;

                if (!step_kind_is_human(r->plan->steps[i].kind)) {
                        bool failed = x->state == STEP_FAILED || x->state == STEP_INTERRUPTED;
                        if (x->attempt > 0 && failed)
                                k = alert_add(&l, NOTIFY_STEP_FAILED, (ssize_t) i, 0, active, x->finished ?: x->started,
                                              r->finished);
                        continue;
                }
                if (h->attempt != x->attempt || h->n_notices == 0)
                        continue;
                k = alert_add(&l, NOTIFY_HUMAN_NEEDED, (ssize_t) i, h->n_notices - 1, waiting && !h->unanswered_at,
                              h->notices[0].at, h->unanswered_at ?: left);
                if (k >= 0 && h->unanswered_at)
                        k = alert_add(&l, NOTIFY_UNANSWERED, (ssize_t) i, 0, waiting, h->unanswered_at, left);
        }
        if (k >= 0 && r->rto_state == RTO_AT_RISK)
                k = alert_add(&l, NOTIFY_RTO_AT_RISK, -1, 0, active, r->rto_at, r->finished);
        if (k >= 0 && r->rto_state == RTO_BREACHED)
                k = alert_add(&l, NOTIFY_RTO_BREACHED, -1, 0, active, r->rto_at, r->finished);
        if (k < 0) {
                free(l.items);
                return k;
        }
        *ret = l.items;
        *ret_n = l.n;
        return 0;
}
