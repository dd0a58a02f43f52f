/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <json-c/json.h>

#include "config.h"
#include "log.h"
#include "manager-bus.h"
#include "manager-ack.h"
#include "manager-holds.h"
#include "manager-relay.h"
#include "gate-util.h"
#include "trigger-vars.h"
#include "manager-reload.h"
#include "plan-json.h"
#include "polkit.h"
#include "run-json.h"

bool run_id_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > PLAN_NAME_MAX + 21)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

static bool text_is_valid(const char *s, size_t max) {
        /* sd-bus already guarantees valid UTF-8 without NUL. */
        if (strlen(s) > max)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 && *p != '\n' && *p != '\t')
                        return false;
        return true;
}

/* ---- reading ---- */

static int method_list_plans(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssstu)");
        for (size_t i = 0; r >= 0 && i < m->plans->n_plans; i++) {
                const Plan *p = m->plans->plans[i];
                _cleanup_strv_free_ char **t = NULL;
                _cleanup_free_ char *triggers = NULL;

                for (size_t k = 0; k < p->n_triggers; k++)
                        if (strv_push(&t, trigger_to_string(p->triggers + k)) < 0)
                                return -ENOMEM;
                triggers = t ? strv_join(t, ", ") : strdup("");
                if (!triggers)
                        return -ENOMEM;
                r = sd_bus_message_append(reply, "(sssstu)", p->name, strempty(p->description), triggers, p->path,
                                          (uint64_t) p->rto, (uint32_t) p->n_steps);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int reply_json(sd_bus_message *call, json_object *o) {
        const char *s;
        int r;

        if (!o)
                return -ENOMEM;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = s ? sd_bus_reply_method_return(call, "s", s) : -ENOMEM;
        json_object_put(o);
        return r;
}

static int method_get_plan(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const Plan *p;
        const char *name;
        int r;

        r = sd_bus_message_read(call, "s", &name);
        if (r < 0)
                return r;
        if (!plan_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid plan name \"%s\".", name);
        p = plan_set_find(m->plans, name);
        if (!p)
                return sd_bus_error_setf(error, SALVE_ERROR_NO_SUCH_PLAN, "No plan named \"%s\" is loaded.", name);
        return reply_json(call, plan_to_json(p, true));
}

static int method_list_runs(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int all, r;

        r = sd_bus_message_read(call, "b", &all);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssstt)");
        for (size_t i = 0; r >= 0 && i < m->store->n_runs; i++) {
                const Run *x = m->store->runs[i];
                if (!all && run_is_finished(x))
                        continue;
                r = sd_bus_message_append(reply, "(sssstt)", x->id, x->plan->name,
                                          run_store_state_string(m->store, x), x->trigger, (uint64_t) x->created,
                                          (uint64_t) x->finished);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_holds(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const ManagerHold *h;
        size_t n;
        int r;

        h = manager_holds_list(m, &n);
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssstss)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *gate = NULL;
                if (gate_unit_name(h[i].unit, &gate) < 0)
                        gate = NULL;
                r = sd_bus_message_append(reply, "(ssstss)", h[i].unit, h[i].run_id, h[i].plan, (uint64_t) h[i].since,
                                          h[i].text, strempty(gate));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int find_run(Manager *m, const char *id, sd_bus_error *error, Run **ret) {
        if (!run_id_is_valid(id))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid run id \"%s\".", id);
        *ret = run_store_find(m->store, id);
        if (!*ret)
                return sd_bus_error_setf(error, SALVE_ERROR_NO_SUCH_RUN, "No run \"%s\" (salvectl history lists "
                                         "them).", id);
        return 0;
}

/* A call whose only argument is a run id. */
static int read_run(sd_bus_message *call, Manager *m, sd_bus_error *error, Run **ret) {
        const char *id;
        int r;

        r = sd_bus_message_read(call, "s", &id);
        if (r < 0)
                return r;
        return find_run(m, id, error, ret);
}

static int method_get_run(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Run *x;
        int r;

        r = read_run(call, m, error, &x);
        if (r < 0)
                return r;
        {
                json_object *o = run_to_json(x, now_usec(CLOCK_REALTIME));
                if (o)
                        json_object_object_add(o, "state", json_object_new_string(run_store_state_string(m->store, x)));
                return reply_json(call, o);
        }
}

/* The run's journal records as written (docs/journal-format.md), for
 * reports: every attempt, notice and act with its time. The plan's
 * source in run-created is left out (GetPlan and the plan file have it). */
static int method_get_run_history(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        json_object *o, *records;
        Run *x;
        int r;

        r = read_run(call, m, error, &x);
        if (r < 0)
                return r;
        o = json_object_new_object();
        records = json_object_new_array();
        if (!o || !records) {
                json_object_put(o);
                json_object_put(records);
                return -ENOMEM;
        }
        json_object_object_add(o, "run", json_object_new_string(x->id));
        json_object_object_add(o, "complete", json_object_new_boolean(!x->history_cut));
        json_object_object_add(o, "records", records);
        for (size_t i = 0; i < x->n_history; i++) {
                json_object *rec = json_tokener_parse(x->history[i]);
                if (!rec)
                        continue; /* it was parsed when it was applied: cannot happen */
                json_object_object_del(rec, "source");
                json_object_array_add(records, rec);
        }
        return reply_json(call, o);
}

/* ---- changing: each checked with polkit first ---- */

typedef enum Request {
        REQUEST_START,
        REQUEST_CANCEL,
        REQUEST_ACT,
        REQUEST_RELOAD,
        REQUEST_RELEASE,
        REQUEST_ACK,
        REQUEST_OUTBOX,                 /* retry or drop (action ACTION_SKIP) an outbox entry */
} Request;

typedef struct Pending {
        Manager *manager;
        Request request;
        char *plan, *run, *step, *text;
        char **context;                 /* StartRunWithTrigger */
        StepAction action;
} Pending;

static void pending_free(Pending *p) {
        if (!p)
                return;
        free(p->plan);
        free(p->run);
        free(p->step);
        free(p->text);
        strv_free(p->context);
        free(p);
}

static int reply_errno(sd_bus_message *call, int k, const Pending *p) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        switch (k) {
        case -ENOENT:
                if (p->request == REQUEST_ACT || p->request == REQUEST_ACK)
                        sd_bus_error_setf(&e, SALVE_ERROR_NO_SUCH_STEP, "Run %s has no step \"%s\".", p->run, p->step);
                else if (p->request == REQUEST_START)
                        sd_bus_error_setf(&e, SALVE_ERROR_NO_SUCH_PLAN, "No plan named \"%s\" is loaded.", p->plan);
                else
                        sd_bus_error_setf(&e, SALVE_ERROR_NO_SUCH_RUN, "No run \"%s\".", p->run);
                break;
        case -ESRCH:
                sd_bus_error_setf(&e, SALVE_ERROR_NO_SUCH_RUN, "No run \"%s\".", p->run);
                break;
        case -EBUSY:
                if (p->request == REQUEST_ACK)
                        sd_bus_error_setf(&e, SALVE_ERROR_INVALID_STATE, "Step \"%s\" of run %s is not waiting for "
                                          "a person (see salvectl status %s).", p->step, p->run, p->run);
                else if (p->request == REQUEST_ACT)
                        sd_bus_error_setf(&e, SALVE_ERROR_INVALID_STATE, "Step \"%s\" of run %s cannot be %s now "
                                          "(see salvectl status %s).", p->step, p->run,
                                          p->action == ACTION_APPROVE ? "approved" : p->action == ACTION_REJECT ? "rejected"
                                          : p->action == ACTION_DONE ? "marked done" : p->action == ACTION_FAIL ? "marked failed"
                                          : p->action == ACTION_RETRY ? "retried" : p->action == ACTION_SKIP ? "skipped"
                                          : "aborted", p->run);
                else
                        sd_bus_error_setf(&e, SALVE_ERROR_INVALID_STATE, "Run %s is already over.", p->run);
                break;
        case -EALREADY: {
                const Run *x = run_store_find(p->manager->store, p->run);
                ssize_t i = x ? plan_find_step(x->plan, p->step) : -1;
                const HumanState *h = i >= 0 ? &x->steps[i].human : NULL;
                sd_bus_error_setf(&e, SALVE_ERROR_ALREADY_ACKNOWLEDGED, "Step \"%s\" of run %s was acknowledged "
                                  "already, by %s.", p->step, p->run, h && h->acked_by ? h->acked_by : "someone");
                break;
        }
        case -EINPROGRESS:
                sd_bus_error_setf(&e, SALVE_ERROR_INVALID_STATE, "Step \"%s\" of run %s is still running: it is "
                                  "not retried beside itself. Wait for it to end, or cancel the run.", p->step, p->run);
                break;
        case -ENOSPC:
        case -EDQUOT:
        case -EIO:
        case -EROFS:
                sd_bus_error_setf(&e, SALVE_ERROR_JOURNAL, "salved cannot write its run journal (%s): it takes no "
                                  "new work until it can, and holds the results of running steps in memory "
                                  "(see systemctl status salved).", strerror(-k));
                break;
        case -EOPNOTSUPP:
                if (p->request == REQUEST_ACK) {
                        sd_bus_error_setf(&e, SALVE_ERROR_INVALID_STATE, "Step \"%s\" is a machine step: only a "
                                          "person's step is acknowledged.", p->step);
                        break;
                }
                sd_bus_error_setf(&e, SALVE_ERROR_INVALID_STATE, "Step \"%s\" is not a%s step; use %s.", p->step,
                                  p->action == ACTION_APPROVE || p->action == ACTION_REJECT ? "n approve" : " task",
                                  p->action == ACTION_APPROVE || p->action == ACTION_REJECT ? "done or fail"
                                                                                            : "approve or reject");
                break;
        case -ENXIO:
                sd_bus_error_setf(&e, SALVE_ERROR_TRIGGER_CONTEXT, "Plan %s uses ${trigger.NAME} variables that this "
                                  "run does not set, or cannot take the values given (the journal says which); "
                                  "give them with salvectl run %s --trigger NAME=VALUE.", p->plan, p->plan);
                break;
        case -EINVAL:
                sd_bus_error_set(&e, SD_BUS_ERROR_FAILED, "The plan files have errors; the plans loaded before "
                                 "are kept (see journalctl -u salved).");
                break;
        default:
                sd_bus_error_set_errnof(&e, -k, "Failed: %s", strerror(-k));
        }
        return sd_bus_reply_method_error(call, &e);
}

static void on_authorized(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata) {
        Pending *p = userdata;
        Manager *m = p->manager;
        _cleanup_free_ char *actor = NULL, *id = NULL;
        int k;

        if (verdict <= 0) {
                char *who = bus_caller_name(call);
                log_notice("Refused %s from %s: %s", sd_bus_message_get_member(call), strna(who),
                           error && error->message ? error->message : "not authorized");
                free(who);
                (void) sd_bus_reply_method_error(call, error);
                pending_free(p);
                return;
        }
        actor = bus_caller_name(call);

        switch (p->request) {
        case REQUEST_START:
                k = manager_start_run(m, p->plan, "manual", p->text && *p->text ? p->text : "started by request", 0,
                                      p->context, &id);
                if (k >= 0)
                        log_struct_internal(LOG_INFO, 0, NULL, id, p->plan, NULL, "%s asked for plan %s: run %s.",
                                            strna(actor), p->plan, id);
                k = k < 0 ? reply_errno(call, k, p) : sd_bus_reply_method_return(call, "s", id);
                break;
        case REQUEST_CANCEL:
                k = manager_cancel_run(m, p->run, actor, p->text && *p->text ? p->text : NULL);
                k = k < 0 ? reply_errno(call, k, p) : sd_bus_reply_method_return(call, NULL);
                break;
        case REQUEST_ACT:
                k = manager_act(m, p->run, p->step, p->action, actor, "salvectl", p->text && *p->text ? p->text : NULL);
                k = k < 0 ? reply_errno(call, k, p) : sd_bus_reply_method_return(call, NULL);
                break;
        case REQUEST_OUTBOX:
                k = manager_outbox_act(m, p->run, p->action == ACTION_SKIP);
                if (k == -ENOENT)
                        k = sd_bus_reply_method_errorf(call, SALVE_ERROR_NO_SUCH_NOTIFICATION, "No notification "
                                                       "\"%s\" in the outbox (salvectl outbox lists them).", p->run);
                else if (k == -ENXIO)
                        k = sd_bus_reply_method_errorf(call, SALVE_ERROR_INVALID_STATE, "The relay is not running "
                                                       "(see journalctl -u salved).");
                else if (k == -EBUSY || k == -EALREADY)
                        k = sd_bus_reply_method_errorf(call, SALVE_ERROR_INVALID_STATE, "Notification %s is being "
                                                       "sent right now, or was delivered already.", p->run);
                else
                        k = k < 0 ? reply_errno(call, k, p) : sd_bus_reply_method_return(call, NULL);
                if (k >= 0)
                        log_notice("%s %s notification %s.", strna(actor),
                                   p->action == ACTION_SKIP ? "dropped" : "sent again", p->run);
                break;
        case REQUEST_ACK:
                k = manager_ack(m, p->run, p->step, actor, "salvectl", p->text && *p->text ? p->text : NULL);
                k = k < 0 ? reply_errno(call, k, p) : sd_bus_reply_method_return(call, NULL);
                break;
        case REQUEST_RELEASE:
                k = manager_release_unit(m, p->step, actor, p->text && *p->text ? p->text : NULL);
                if (k == -ENOENT)
                        k = sd_bus_reply_method_errorf(call, SALVE_ERROR_NOT_HELD, "%s is not held (salvectl holds "
                                                       "lists what is).", p->step);
                else
                        k = k < 0 ? reply_errno(call, k, p) : sd_bus_reply_method_return(call, NULL);
                if (k >= 0)
                        log_struct_internal(LOG_NOTICE, 0, NULL, NULL, NULL, NULL, "%s released %s%s%s.",
                                            strna(actor), p->step, p->text && *p->text ? ": " : "",
                                            strempty(p->text));
                break;
        case REQUEST_RELOAD:
                /* Answered by manager-reload.c when the reload is over. */
                k = manager_reload_request(m, call);
                if (k == -EBUSY)
                        k = sd_bus_reply_method_errorf(call, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many reload requests "
                                                       "are waiting already (at most %u).", RELOAD_CALLERS_MAX);
                else if (k < 0)
                        k = sd_bus_reply_method_errnof(call, -k, "Failed to start a reload: %s", strerror(-k));
                break;
        default:
                k = -EINVAL;
        }
        if (k < 0)
                log_warning_errno(k, "Failed to reply to %s: %m", sd_bus_message_get_member(call));
        pending_free(p);
}

static void pending_free_void(void *p) {
        pending_free(p);
}

/* Admission: every change waits for polkit's answer (root's needs none),
 * and a user with too many requests already pending is refused at once
 * with TooManyRequests rather than queued without end. */
static int authorize(Manager *m, sd_bus_message *call, const char *action, Pending *p,
                     const char *const *details) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int k;

        if (!m->polkit) {
                /* Without polkit in the picture: root only. */
                uid_t uid;
                if (bus_caller_uid(call, &uid) < 0 || uid != 0) {
                        pending_free(p);
                        return sd_bus_reply_method_errorf(call, SD_BUS_ERROR_ACCESS_DENIED,
                                                          "Only root may do this (polkit is disabled).");
                }
        }
        k = polkit_check_async(m->authority, call, action, details, on_authorized, p, pending_free_void, &error);
        if (k < 0) {
                pending_free(p);
                if (!sd_bus_error_is_set(&error))
                        return k;
                /* A flood would fill the log: say it at debug level. */
                log_debug("Refused %s from %s: %s", sd_bus_message_get_member(call),
                          strna(sd_bus_message_get_sender(call)), error.message);
                return sd_bus_reply_method_error(call, &error);
        }
        return 1; /* the reply comes later */
}

static Pending *pending_new(Manager *m, Request request) {
        Pending *p = calloc(1, sizeof(Pending));
        if (p) {
                p->manager = m;
                p->request = request;
        }
        return p;
}

/* The checks of "whose context it is" (context NULL: StartRun), then the
 * polkit question; the run starts when polkit says yes. */
static int start_run_request(Manager *m, sd_bus_message *call, const char *plan, const char *reason, char ***context,
                             sd_bus_error *error) {
        Pending *p;

        if (!plan_name_is_valid(plan))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid plan name \"%s\".", plan);
        if (!text_is_valid(reason, SALVE_COMMENT_MAX))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The reason must be at most %d bytes of "
                                         "text.", SALVE_COMMENT_MAX);
        if (!plan_set_find(m->plans, plan))
                return sd_bus_error_setf(error, SALVE_ERROR_NO_SUCH_PLAN, "No plan named \"%s\" is loaded.", plan);
        p = pending_new(m, REQUEST_START);
        if (!p || !(p->plan = strdup(plan)) || !(p->text = strdup(reason))) {
                pending_free(p);
                return -ENOMEM;
        }
        if (context)
                p->context = TAKE_PTR(*context);
        return authorize(m, call, SALVE_ACTION_RUN, p, STRV_MAKE_CONST("plan", plan));
}

static int method_start_run(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        const char *plan, *reason;
        int r;

        r = sd_bus_message_read(call, "ss", &plan, &reason);
        if (r < 0)
                return r;
        return start_run_request(userdata, call, plan, reason, NULL, error);
}

/* StartRunWithTrigger(s plan, s reason, as context): a manual run that
 * sets ${trigger.NAME} as a trigger would, "NAME=VALUE" each. */
static int method_start_run_with_trigger(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **context = NULL;
        const char *plan, *reason;
        int r;

        r = sd_bus_message_read(call, "ss", &plan, &reason);
        if (r >= 0)
                r = sd_bus_message_read_strv(call, &context);
        if (r < 0)
                return r;
        if (strv_length(context) > 32)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "At most 32 trigger variables.");
        STRV_FOREACH(c, context) {
                const char *eq = strchr(*c, '=');
                char name[32];
                if (!eq || (size_t) (eq - *c) >= sizeof(name) || strlen(eq + 1) > 256)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid trigger variable \"%.64s\" "
                                                 "(expected NAME=VALUE).", *c);
                memcpy(name, *c, (size_t) (eq - *c));
                name[eq - *c] = 0;
                if (!trigger_var_is_known(name) || streq(name, "kind"))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown trigger variable \"%s\".",
                                                 name);
        }
        if (strv_push(&context, strdup("kind=manual")) < 0)
                return -ENOMEM;
        return start_run_request(userdata, call, plan, reason, &context, error);
}

static int method_cancel_run(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *id, *comment;
        Pending *p;
        Run *x;
        int r;

        r = sd_bus_message_read(call, "ss", &id, &comment);
        if (r < 0)
                return r;
        r = find_run(m, id, error, &x);
        if (r < 0)
                return r;
        if (!text_is_valid(comment, SALVE_COMMENT_MAX))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The comment must be at most %d bytes of "
                                         "text.", SALVE_COMMENT_MAX);
        p = pending_new(m, REQUEST_CANCEL);
        if (!p || !(p->run = strdup(id)) || !(p->text = strdup(comment))) {
                pending_free(p);
                return -ENOMEM;
        }
        return authorize(m, call, SALVE_ACTION_CANCEL, p, STRV_MAKE_CONST("plan", x->plan->name, "run", id));
}

static int method_release_unit(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *unit, *comment;
        const ManagerHold *h;
        Pending *p;
        int r;

        r = sd_bus_message_read(call, "ss", &unit, &comment);
        if (r < 0)
                return r;
        if (!unit_name_is_valid(unit))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid unit name \"%s\".", unit);
        if (!text_is_valid(comment, SALVE_COMMENT_MAX))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The comment must be at most %d bytes of "
                                         "text.", SALVE_COMMENT_MAX);
        h = manager_holds_find(m, unit);
        if (!h)
                return sd_bus_error_setf(error, SALVE_ERROR_NOT_HELD, "%s is not held (salvectl holds lists what "
                                         "is).", unit);
        p = pending_new(m, REQUEST_RELEASE);
        /* p->step carries the unit name. */
        if (!p || !(p->step = strdup(unit)) || !(p->text = strdup(comment)) || !(p->run = strdup(h->run_id))) {
                pending_free(p);
                return -ENOMEM;
        }
        return authorize(m, call, SALVE_ACTION_RELEASE, p,
                         STRV_MAKE_CONST("unit", unit, "run", h->run_id, "plan", h->plan));
}

static int method_act_on_step(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *id, *step, *action, *comment, *owner = "";
        StepAction a;
        Pending *p;
        ssize_t i;
        Run *x;
        int r;

        r = sd_bus_message_read(call, "ssss", &id, &step, &action, &comment);
        if (r < 0)
                return r;
        r = find_run(m, id, error, &x);
        if (r < 0)
                return r;
        if (!plan_name_is_valid(step))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid step id \"%s\".", step);
        i = plan_find_step(x->plan, step);
        if (i < 0)
                return sd_bus_error_setf(error, SALVE_ERROR_NO_SUCH_STEP, "Run %s has no step \"%s\".", id, step);
        a = step_action_from_string(action);
        if (a < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown action \"%s\" (expected approve, "
                                         "reject, done, fail, retry, skip or abort).", action);
        if (!text_is_valid(comment, SALVE_COMMENT_MAX))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The comment must be at most %d bytes of "
                                         "text.", SALVE_COMMENT_MAX);
        if (step_kind_is_human(x->plan->steps[i].kind))
                owner = x->plan->steps[i].owner ?: x->plan->owner ?: "";

        p = pending_new(m, REQUEST_ACT);
        if (!p || !(p->run = strdup(id)) || !(p->step = strdup(step)) || !(p->text = strdup(comment))) {
                pending_free(p);
                return -ENOMEM;
        }
        p->action = a;
        return authorize(m, call, a <= ACTION_FAIL ? SALVE_ACTION_APPROVE : SALVE_ACTION_MANAGE, p,
                         STRV_MAKE_CONST("plan", x->plan->name, "run", id, "step", step, "action", action, "owner", owner));
}

/* AckStep(s run, s step, s comment): "I am on it", for a waiting human step. */
static int method_ack_step(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *id, *step, *comment, *owner;
        Pending *p;
        ssize_t i;
        Run *x;
        int r;

        r = sd_bus_message_read(call, "sss", &id, &step, &comment);
        if (r < 0)
                return r;
        r = find_run(m, id, error, &x);
        if (r < 0)
                return r;
        if (!plan_name_is_valid(step))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid step id \"%s\".", step);
        i = plan_find_step(x->plan, step);
        if (i < 0)
                return sd_bus_error_setf(error, SALVE_ERROR_NO_SUCH_STEP, "Run %s has no step \"%s\".", id, step);
        if (!text_is_valid(comment, SALVE_COMMENT_MAX))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The comment must be at most %d bytes of "
                                         "text.", SALVE_COMMENT_MAX);
        owner = x->plan->steps[i].owner ?: x->plan->owner ?: "";
        p = pending_new(m, REQUEST_ACK);
        if (!p || !(p->run = strdup(id)) || !(p->step = strdup(step)) || !(p->text = strdup(comment))) {
                pending_free(p);
                return -ENOMEM;
        }
        return authorize(m, call, SALVE_ACTION_ACK, p,
                         STRV_MAKE_CONST("plan", x->plan->name, "run", id, "step", step, "owner", owner));
}

/* RetryNotification(s id), DropNotification(s id): polkit org.salve.manage. */
static int outbox_request(sd_bus_message *call, Manager *m, bool drop, sd_bus_error *error) {
        const char *id;
        Pending *p;
        int r;

        r = sd_bus_message_read(call, "s", &id);
        if (r < 0)
                return r;
        if (!text_is_valid(id, 512) || !*id)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid notification id.");
        p = pending_new(m, REQUEST_OUTBOX);
        if (!p || !(p->run = strdup(id))) {
                pending_free(p);
                return -ENOMEM;
        }
        p->action = drop ? ACTION_SKIP : ACTION_RETRY;
        return authorize(m, call, SALVE_ACTION_MANAGE, p,
                         STRV_MAKE_CONST("notification", id, "action", drop ? "drop" : "retry"));
}

static int method_retry_notification(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return outbox_request(call, userdata, false, error);
}

static int method_drop_notification(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return outbox_request(call, userdata, true, error);
}

static int method_reload(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Pending *p = pending_new(m, REQUEST_RELOAD);

        if (!p)
                return -ENOMEM;
        return authorize(m, call, SALVE_ACTION_RELOAD, p, NULL);
}

/* ---- properties ---- */

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint32_t n = 0;

        if (streq(property, "Version"))
                return sd_bus_message_append(reply, "s", SALVE_VERSION);
        if (streq(property, "PlansLoaded"))
                return sd_bus_message_append(reply, "u", (uint32_t) m->plans->n_plans);
        for (size_t i = 0; i < m->store->n_runs; i++) {
                const Run *x = m->store->runs[i];
                if (run_is_finished(x))
                        continue;
                n += streq(property, "ActiveRuns") ? 1 : (uint32_t) run_count_steps(x, STEP_WAITING);
        }
        return sd_bus_message_append(reply, "u", n);
}

/* What opening the journal found (docs/dbus-api.md): fixed for the life
 * of this salved, so salvectl status can keep saying it. */
static int property_get_journal_recovery(sd_bus *bus, const char *path, const char *interface,
                                         const char *property, sd_bus_message *reply, void *userdata,
                                         sd_bus_error *error) {
        const JournalRecovery *rec = &((Manager *) userdata)->store->recovery;

        return sd_bus_message_append(reply, "(ssstttt)", journal_damage_to_string(rec->damage), rec->reason,
                                     strempty(rec->aside_path), rec->aside_usec, rec->records, rec->lost_bytes,
                                     rec->n_gaps);
}

static const sd_bus_vtable manager_vtable[] = {
        /* Every method is UNPRIVILEGED as far as sd-bus is concerned:
         * reads are open, and changes are checked with polkit ourselves. */
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PlansLoaded", "u", property_get, 0, 0),
        SD_BUS_PROPERTY("ActiveRuns", "u", property_get, 0, 0),
        SD_BUS_PROPERTY("WaitingSteps", "u", property_get, 0, 0),
        SD_BUS_PROPERTY("JournalRecovery", "(ssstttt)", property_get_journal_recovery, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("ListPlans", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssstu)", plans), method_list_plans,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetPlan", SD_BUS_ARGS("s", name), SD_BUS_RESULT("s", json), method_get_plan,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListRuns", SD_BUS_ARGS("b", include_finished), SD_BUS_RESULT("a(sssstt)", runs),
                                method_list_runs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetRun", SD_BUS_ARGS("s", run), SD_BUS_RESULT("s", json), method_get_run,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetRunHistory", SD_BUS_ARGS("s", run), SD_BUS_RESULT("s", json),
                                method_get_run_history, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartRun", SD_BUS_ARGS("s", plan, "s", reason), SD_BUS_RESULT("s", run),
                                method_start_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartRunWithTrigger", SD_BUS_ARGS("s", plan, "s", reason, "as", context),
                                SD_BUS_RESULT("s", run), method_start_run_with_trigger, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CancelRun", SD_BUS_ARGS("s", run, "s", comment), SD_BUS_NO_RESULT,
                                method_cancel_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ActOnStep", SD_BUS_ARGS("s", run, "s", step, "s", action, "s", comment),
                                SD_BUS_NO_RESULT, method_act_on_step, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListOutbox", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssssuttxs)", entries, "t",
                                dead_dropped), manager_bus_list_outbox, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNotifiers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssssuttxstt)", notifiers),
                                manager_bus_list_notifiers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RetryNotification", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT,
                                method_retry_notification, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DropNotification", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT,
                                method_drop_notification, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Callback", SD_BUS_ARGS("s", method, "s", path, "a(ss)", headers, "ay", body),
                                SD_BUS_RESULT("u", status, "s", content_type, "s", body),
                                manager_ack_bus_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AckStep", SD_BUS_ARGS("s", run, "s", step, "s", comment), SD_BUS_NO_RESULT,
                                method_ack_step, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("OpenHumanSteps", "a(sssssuuasst)", manager_bus_get_open_human_steps, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("RecoveryInProgress", "a(sssas)", manager_bus_get_recovery, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_SIGNAL_WITH_ARGS("HumanNotified", SD_BUS_ARGS("s", run, "s", step, "s", event, "u", level, "u", round,
                                "as", recipients), 0),
        SD_BUS_SIGNAL_WITH_ARGS("HumanAcknowledged", SD_BUS_ARGS("s", run, "s", step, "s", actor, "s", via, "t",
                                at_usec), 0),
        SD_BUS_SIGNAL_WITH_ARGS("HumanDone", SD_BUS_ARGS("s", run, "s", step, "s", state, "s", actor), 0),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListHolds", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssstss)", holds), method_list_holds, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReleaseUnit", SD_BUS_ARGS("s", unit, "s", comment), SD_BUS_NO_RESULT,
                                method_release_unit, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("RunChanged", SD_BUS_ARGS("s", run, "s", plan, "s", state), 0),
        SD_BUS_SIGNAL_WITH_ARGS("StepChanged", SD_BUS_ARGS("s", run, "s", step, "s", state, "s", message), 0),
        SD_BUS_SIGNAL_WITH_ARGS("HumanStepWaiting",
                                SD_BUS_ARGS("s", run, "s", step, "s", kind, "s", owner, "as", escalate, "s",
                                            instructions, "t", ack_timeout_usec),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("RtoAtRisk", SD_BUS_ARGS("s", run, "s", plan, "t", projected_finish_usec, "t",
                                                         deadline_usec), 0),
        SD_BUS_SIGNAL_WITH_ARGS("StepProgress", SD_BUS_ARGS("s", run, "s", step, "d", percent, "t", eta_usec, "s",
                                                            text), 0),
        SD_BUS_SIGNAL_WITH_ARGS("RtoBreached", SD_BUS_ARGS("s", run, "s", plan, "t", deadline_usec), 0),
        SD_BUS_VTABLE_END,
};

int manager_bus_setup(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, &m->object_slot, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register %s: %m", SALVE_BUS_PATH);
        /* The name last, so that nobody calls before the object exists. */
        r = sd_bus_request_name(m->bus, SALVE_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to own %s on the system bus: %m", SALVE_BUS_NAME);
        return 0;
}

/* ---- signals ---- */

/* The "bus" listener: the signals of each transition. */
void manager_bus_on_transition(Manager *m, const Run *r, const Transition *t, void *userdata) {
        switch (t->kind) {
        case TRANSITION_RUN_CREATED:
        case TRANSITION_RUN_FINISHED:
                manager_bus_emit_run_changed(m, r);
                break;
        case TRANSITION_STEP:
                manager_bus_emit_step_changed(m, r, t);
                if (t->state == STEP_WAITING)
                        manager_bus_emit_human_waiting(m, r, plan_find_step(r->plan, t->step_id));
                manager_bus_emit_run_changed(m, r);
                break;
        case TRANSITION_RTO:
                manager_bus_emit_rto(m, r, t);
                break;
        case TRANSITION_HUMAN:
                manager_bus_emit_human(m, r, t);
                break;
        default:
                break;
        }
        manager_bus_human_changed(m, r, t);
}

void manager_bus_emit_run_changed(Manager *m, const Run *r) {
        if (m->bus)
                (void) sd_bus_emit_signal(m->bus, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "RunChanged", "sss", r->id,
                                          r->plan->name, run_store_state_string(m->store, r));
}

void manager_bus_emit_step_changed(Manager *m, const Run *r, const Transition *t) {
        if (m->bus)
                (void) sd_bus_emit_signal(m->bus, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "StepChanged", "ssss", r->id,
                                          t->step_id, step_state_to_string(t->state), strempty(t->message));
}

void manager_bus_emit_human_waiting(Manager *m, const Run *r, ssize_t i) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        const Step *s;
        int k;

        if (!m->bus || i < 0)
                return;
        s = r->plan->steps + i;
        log_struct_internal(LOG_NOTICE, 0, SALVE_MESSAGE_HUMAN_WAITING, r->id, r->plan->name, s->id,
                            "Step %s of run %s waits for %s: salvectl %s %s %s", s->id, r->id,
                            s->owner ?: r->plan->owner ?: "a person", s->kind == STEP_APPROVE ? "approve" : "done",
                            r->id, s->id);
        k = sd_bus_message_new_signal(m->bus, &msg, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "HumanStepWaiting");
        if (k >= 0)
                k = sd_bus_message_append(msg, "ssss", r->id, s->id, step_kind_to_string(s->kind),
                                          s->owner ?: r->plan->owner ?: "");
        if (k >= 0)
                k = sd_bus_message_append_strv(msg, s->escalate ?: r->plan->escalate);
        if (k >= 0)
                k = sd_bus_message_append(msg, "st", strempty(s->instructions), (uint64_t) s->ack_timeout);
        if (k >= 0)
                (void) sd_bus_send(m->bus, msg, NULL);
}

void manager_bus_emit_step_progress(Manager *m, const Run *r, size_t step) {
        const StepRun *x = r->steps + step;

        if (m->bus)
                (void) sd_bus_emit_signal(m->bus, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "StepProgress", "ssdts", r->id,
                                          r->plan->steps[step].id, x->progress,
                                          (uint64_t) (x->eta == USEC_INFINITY ? 0 : x->eta),
                                          strempty(x->progress_text));
}

void manager_bus_emit_rto(Manager *m, const Run *r, const Transition *t) {
        if (!m->bus)
                return;
        if (t->rto_state == RTO_BREACHED)
                (void) sd_bus_emit_signal(m->bus, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "RtoBreached", "sst", r->id,
                                          r->plan->name, (uint64_t) run_deadline(r));
        else
                (void) sd_bus_emit_signal(m->bus, SALVE_BUS_PATH, SALVE_BUS_INTERFACE, "RtoAtRisk", "sstt", r->id,
                                          r->plan->name, (uint64_t) t->projected, (uint64_t) run_deadline(r));
}
