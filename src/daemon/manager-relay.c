/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* salved's human side, wired in: the people directory that owner and
 * escalate names resolve in, and the relay as one more listener of the
 * journaled transitions. Neither can stop salved: a directory or relay
 * config with errors is logged and left out (the names then stand for
 * themselves; nobody is notified), as plans with errors are. */

#include "log.h"
#include "manager-bus.h"
#include "manager-relay.h"
#include "people.h"
#include "relay.h"

static int resolve_name(const char *name, usec_t at, char ***ret, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ const Person **people = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n;
        int k;

        if (!m->people || people_dir_is_empty(m->people))
                return -ENOENT;
        k = people_resolve(m->people, name, at, &people, &n);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++)
                if (strv_extend(&names, people[i]->name) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(names);
        return 0;
}

static int person_info(const char *name, char **ret_display, char ***ret_contacts, void *userdata) {
        Manager *m = userdata;
        const Person *p = m->people ? people_dir_find_person(m->people, name) : NULL;

        if (!p)
                return -ENOENT;
        *ret_display = p->display ? strdup(p->display) : NULL;
        *ret_contacts = strv_copy(p->contacts);
        if ((p->display && !*ret_display) || !*ret_contacts) {
                free(*ret_display);
                strv_free(*ret_contacts);
                return -ENOMEM;
        }
        return 0;
}

static void relay_listener(Manager *m, const Run *r, const Transition *t, void *userdata) {
        if (m->relay)
                relay_on_transition(m->relay, r, t);
}

int manager_people_load(Manager *m) {
        _cleanup_(diagnostics_done) Diagnostics diag = {};
        PeopleDir *d = NULL;
        int k;

        k = people_dir_load(m->people_dirs, &d, &diag);
        for (size_t i = 0; i < diag.n_items; i++)
                log_full_errno(diag.items[i].level == DIAG_ERROR ? LOG_ERR : LOG_WARNING, 0, "%s:%u:%u: %s",
                               diag.items[i].file, diag.items[i].line, diag.items[i].column, diag.items[i].message);
        if (k < 0) {
                log_warning_errno(k, "The people directory has errors (salvectl verify shows them); %s: %m",
                                  m->people ? "keeping the one loaded before" : "owner and escalate names stand "
                                  "for themselves");
                return k;
        }
        people_dir_free(m->people);
        m->people = d;
        return 0;
}

/* Names in the loaded plans that the directory does not know: salvectl
 * verify refuses them; salved, which must not drop a plan in use because
 * someone left people.d, says so and lets the name stand for itself. */
void manager_people_check_plans(Manager *m) {
        if (!m->people || people_dir_is_empty(m->people) || !m->plans)
                return;
        for (size_t i = 0; i < m->plans->n_plans; i++) {
                _cleanup_(diagnostics_done) Diagnostics diag = {};

                (void) people_check_plan(m->people, m->plans->plans[i], &diag);
                for (size_t j = 0; j < diag.n_items; j++)
                        log_warning("%s:%u:%u: %s (the name stands for itself: nobody it means is resolved)",
                                    diag.items[j].file, diag.items[j].line, diag.items[j].column,
                                    diag.items[j].message);
        }
}

/* The relay, if it can start; on failure salved goes on without it (said
 * loudly) and tries again at the next reload. */
static int manager_relay_start(Manager *m) {
        _cleanup_free_ char *outbox = NULL;
        int k;

        if (asprintf(&outbox, "%s/outbox.journal", m->state_dir) < 0)
                return log_oom();
        k = relay_new(m->event,
                      &(const RelayOptions) {
                              .config_path = m->relay_config_path,
                              .outbox_path = outbox,
                              .machine_id = m->machine_id[0] ? m->machine_id : NULL,
                              .person = person_info,
                              .person_userdata = m,
                      },
                      &m->relay);
        if (k < 0) {
                /* Runs go on; what could not be told is said loudly, and
                 * the journal keeps every fact for when the relay is back. */
                log_struct_internal(LOG_ERR, k, SALVE_MESSAGE_NOTIFY_LOST, NULL, NULL, NULL,
                                    "The relay cannot start: nobody is notified of human steps until it can "
                                    "(fix it, then salvectl reload): %m");
                return 0;
        }
        if (!m->relay_listening) {
                k = manager_add_listener(m, &(const ManagerListener) { "relay", relay_listener, NULL });
                if (k < 0)
                        return log_oom();
                m->relay_listening = true;
        }
        return relay_start(m->relay, m->store);
}

int manager_relay_setup(Manager *m) {
        (void) manager_people_load(m);
        manager_people_check_plans(m);
        m->resolve = resolve_name;
        m->resolve_userdata = m;

        if (m->relay_disabled)
                return 0;
        return manager_relay_start(m);
}

int manager_relay_reload(Manager *m) {
        int k = 0;

        (void) manager_people_load(m);
        manager_people_check_plans(m);
        if (m->relay)
                k = relay_reload(m->relay, m->store);
        else if (!m->relay_disabled)
                return manager_relay_start(m);      /* it could not start before: perhaps now */
        if (k < 0)
                log_warning_errno(k, "The relay's configuration has errors; keeping the channels as they were: %m");
        return k;
}

void manager_relay_free(Manager *m) {
        m->relay = relay_free(m->relay);
        m->people = people_dir_free(m->people);
}

/* ---- D-Bus: the outbox and the notifiers ---- */

int manager_bus_list_outbox(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ OutboxEntry **all = NULL;
        Manager *m = userdata;
        size_t n = 0;
        int k;

        if (m->relay)
                n = outbox_list(relay_outbox(m->relay), &all);
        k = sd_bus_message_new_method_return(call, &reply);
        if (k >= 0)
                k = sd_bus_message_open_container(reply, 'a', "(sssssuttxs)");
        for (size_t i = 0; k >= 0 && i < n; i++) {
                const OutboxEntry *e = all[i];
                k = sd_bus_message_append(reply, "(sssssuttxs)", e->id, e->channel, e->key, strempty(e->run_id),
                                          outbox_state_to_string(e->state), e->attempts, (uint64_t) e->created,
                                          (uint64_t) (e->state == OUTBOX_PENDING || e->state == OUTBOX_RETRYING
                                                              ? e->next_attempt : e->finished),
                                          (int64_t) e->last_status, strempty(e->last_error));
        }
        if (k >= 0)
                k = sd_bus_message_close_container(reply);
        if (k >= 0) {
                size_t counts[_OUTBOX_STATE_MAX] = {};
                uint64_t dropped = 0;
                if (m->relay)
                        outbox_counts(relay_outbox(m->relay), counts, &dropped);
                k = sd_bus_message_append(reply, "t", dropped);
        }
        if (k < 0)
                return k;
        return sd_bus_send(NULL, reply, NULL);
}

int manager_bus_list_notifiers(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        RelayTargetInfo t[64];
        size_t n = m->relay ? MIN(relay_targets(m->relay, t, ELEMENTSOF(t)), ELEMENTSOF(t)) : 0;
        int k;

        k = sd_bus_message_new_method_return(call, &reply);
        if (k >= 0)
                k = sd_bus_message_open_container(reply, 'a', "(ssssuttxstt)");
        for (size_t i = 0; k >= 0 && i < n; i++)
                k = sd_bus_message_append(reply, "(ssssuttxstt)", t[i].name, t[i].channel, t[i].type,
                                          strempty(t[i].url), t[i].in_flight, (uint64_t) t[i].last_ok,
                                          (uint64_t) t[i].last_failure, (int64_t) t[i].last_status,
                                          strempty(t[i].last_error), t[i].sent, t[i].failed);
        if (k >= 0)
                k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, reply, NULL);
}

int manager_outbox_act(Manager *m, const char *id, bool drop) {
        if (!m->relay)
                return -ENXIO;
        return drop ? relay_drop(m->relay, id) : relay_retry(m->relay, id);
}
