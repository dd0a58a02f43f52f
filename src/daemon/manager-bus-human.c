/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The human side of salved's D-Bus API (docs/dbus-api.md): signals for
 * each escalation event, and the properties a desktop or local agent
 * shows: the human steps open now, and the runs in progress with the
 * units they hold or restart (what alert suppression mutes). */

#include "manager-bus.h"
#include "manager-holds.h"
#include "relay-facts.h"

/* "human-needed" for the owner's first notice, "escalated" for later
 * levels and rounds: the names the relay uses (notification.h). */
const char *human_notice_event_name(const Transition *t) {
        switch (t->human) {
        case HUMAN_NOTIFIED:
                return t->level == 0 && t->round <= 1 ? "human-needed" : "escalated";
        case HUMAN_ACKNOWLEDGED:
                return "acknowledged";
        case HUMAN_REMINDED:
                return "reminder";
        case HUMAN_UNANSWERED:
                return "unanswered";
        default:
                return NULL;
        }
}

void manager_bus_emit_human(Manager *m, const Run *r, const Transition *t) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int k;

        if (!m->bus)
                return;
        if (t->human == HUMAN_ACKNOWLEDGED) {
                (void) sd_bus_emit_signal(m->bus, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "HumanAcknowledged", "sssst",
                                          r->id, t->step_id, strempty(t->actor), strempty(t->via), (uint64_t) t->at);
                return;
        }
        k = sd_bus_message_new_signal(m->bus, &msg, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "HumanNotified");
        if (k >= 0)
                k = sd_bus_message_append(msg, "sssuu", r->id, t->step_id, human_notice_event_name(t), t->level,
                                          t->round);
        if (k >= 0)
                k = sd_bus_message_append_strv(msg, t->recipients);
        if (k >= 0)
                (void) sd_bus_send(m->bus, msg, NULL);
}

static bool step_touches_human(const Run *r, const Transition *t) {
        ssize_t i = t->step_id ? plan_find_step(r->plan, t->step_id) : -1;
        return i >= 0 && step_kind_is_human(r->plan->steps[i].kind);
}

void manager_bus_human_changed(Manager *m, const Run *r, const Transition *t) {
        bool human = t->kind == TRANSITION_HUMAN || (t->kind == TRANSITION_STEP && step_touches_human(r, t));
        bool recovery = t->kind == TRANSITION_RUN_CREATED || t->kind == TRANSITION_RUN_FINISHED ||
                        t->kind == TRANSITION_HOLD_RELEASED;

        if (!m->bus)
                return;
        if (t->kind == TRANSITION_STEP && human && t->state != STEP_WAITING && t->state != STEP_PENDING) {
                ssize_t i = plan_find_step(r->plan, t->step_id);
                /* Only a step that waited for someone is "done" by them. */
                if (i >= 0 && r->steps[i].human.attempt == t->attempt && t->attempt > 0)
                        (void) sd_bus_emit_signal(m->bus, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "HumanDone", "ssss",
                                                  r->id, t->step_id, step_state_to_string(t->state),
                                                  strempty(t->actor));
        }
        if (human || recovery)
                (void) sd_bus_emit_properties_changed(m->bus, SALVE_BUS_PATH, SALVE_BUS_INTERFACE,
                                                      human ? "OpenHumanSteps" : "RecoveryInProgress",
                                                      human && recovery ? "RecoveryInProgress" : NULL, NULL);
}

static const char *human_state_word(const HumanState *h) {
        return h->unanswered_at ? "unanswered" : h->acked_at ? "acknowledged" : h->n_notices ? "notified" : "waiting";
}

int manager_bus_get_open_human_steps(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int k;

        k = sd_bus_message_open_container(reply, 'a', "(sssssuuasst)");
        for (size_t n = 0; k >= 0 && n < m->store->n_runs; n++) {
                const Run *r = m->store->runs[n];

                if (run_is_finished(r) || r->count[STEP_WAITING] == 0)
                        continue;
                for (size_t i = 0; k >= 0 && i < r->plan->n_steps; i++) {
                        const StepRun *x = r->steps + i;
                        const HumanState *h = &x->human;
                        const HumanNotice *last = h->n_notices ? h->notices + h->n_notices - 1 : NULL;

                        if (x->state != STEP_WAITING || !step_kind_is_human(r->plan->steps[i].kind))
                                continue;
                        k = sd_bus_message_open_container(reply, 'r', "sssssuuasst");
                        if (k >= 0)
                                k = sd_bus_message_append(reply, "sssssuu", r->id, r->plan->name,
                                                          r->plan->steps[i].id,
                                                          step_kind_to_string(r->plan->steps[i].kind),
                                                          human_state_word(h), last ? last->level : 0,
                                                          last ? last->round : 0);
                        if (k >= 0)
                                k = sd_bus_message_append_strv(reply, last ? last->recipients : NULL);
                        if (k >= 0)
                                k = sd_bus_message_append(reply, "st", strempty(h->acked_by), (uint64_t) x->started);
                        if (k >= 0)
                                k = sd_bus_message_close_container(reply);
                }
        }
        if (k >= 0)
                k = sd_bus_message_close_container(reply);
        return k;
}

int manager_bus_get_recovery(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int k;

        k = sd_bus_message_open_container(reply, 'a', "(sssas)");
        for (size_t n = 0; k >= 0 && n < m->store->n_runs; n++) {
                const Run *r = m->store->runs[n];
                _cleanup_strv_free_ char **units = NULL;

                if (run_is_finished(r))
                        continue;
                k = relay_run_units(r, &units);
                if (k >= 0)
                        k = sd_bus_message_open_container(reply, 'r', "sssas");
                if (k >= 0)
                        k = sd_bus_message_append(reply, "sss", r->id, r->plan->name,
                                                  run_store_state_string(m->store, r));
                if (k >= 0)
                        k = sd_bus_message_append_strv(reply, units);
                if (k >= 0)
                        k = sd_bus_message_close_container(reply);
        }
        if (k >= 0)
                k = sd_bus_message_close_container(reply);
        return k;
}
