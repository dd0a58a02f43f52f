/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The relay (relay.h): facts -> outbox -> HTTP, and Alertmanager's alerts
 * from the runs' state.
 *
 * Invariants: an outbox entry is durable before its first send; a given
 * entry is in flight at most once; a target never has more than
 * RELAY_TARGET_IN_FLIGHT sends outstanding, so one slow notifier cannot
 * use up the HTTP client's slots; for ordered channels (PagerDuty, whose
 * trigger must come before its acknowledge and resolve) a run's entries go
 * one at a time, oldest first. */

#include <stdlib.h>
#include <unistd.h>

#include "channel.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "relay-alerts.h"
#include "relay.h"
#include "secret.h"
#include "sign.h"
#include "string-util.h"

#define RELAY_TARGET_IN_FLIGHT 8U
#define RELAY_HTTP_IN_FLIGHT 32U
#define RELAY_DUE_BATCH 64U
#define RELAY_RECONCILE_WINDOW (7 * USEC_PER_DAY)

typedef struct RelayTarget RelayTarget;

/* What Alertmanager was last sent for one alert (by its labels). */
typedef struct SentAlert {
        char *key;                      /* the notification key of the alert's fact: same labels */
        bool firing;
        usec_t sent;
} SentAlert;

struct RelayTarget {
        Relay *relay;
        RelayChannelConfig *config;     /* owned by relay->config */
        const ChannelOps *ops;
        char *name;
        const char *url;
        void *secret;
        size_t secret_size;
        char *routing_key;
        bool ordered;
        bool alertmanager;
        unsigned in_flight;
        usec_t last_ok, last_failure;
        long last_status;
        char *last_error;
        uint64_t sent, failed;
        SentAlert *alerts;
        size_t n_alerts;
};

typedef struct Delivery {
        RelayTarget *target;
        char *entry_id;                 /* NULL for an Alertmanager post */
        char *group;                    /* ordered channels: the run */
        char *alert_key;
        bool alert_firing;
        HttpCall *call;
} Delivery;

struct Relay {
        sd_event *event;
        RelayConfig *config;
        HttpClient *http;
        Outbox *outbox;
        RelayTarget *targets;
        size_t n_targets;
        Delivery **deliveries;          /* in flight */
        size_t n_deliveries;
        const RunStore *store;
        sd_event_source *kick, *due, *resend;
        char *host, *machine_id, *config_path;
        void *approval_key;             /* signs the approval links, with config->ack.approval_url */
        size_t approval_key_size;
        RelayPersonFunc person;
        void *person_userdata;
        unsigned rand_state;
        bool started;
        /* The outbox could not record a delivery's result (a full disk):
         * nothing is sent until stall_until, so that an entry whose result
         * was lost is not sent again at once, and again, in a loop. */
        usec_t stall_until, stall_delay;
};

static void delivery_free(Delivery *d) {
        if (!d)
                return;
        http_call_cancel(d->call);
        free(d->entry_id);
        free(d->group);
        free(d->alert_key);
        free(d);
}

static void target_done(RelayTarget *t) {
        free(t->name);
        secret_free(t->secret, t->secret_size);
        if (t->routing_key) {
                explicit_bzero(t->routing_key, strlen(t->routing_key));
                free(t->routing_key);
        }
        free(t->last_error);
        for (size_t i = 0; i < t->n_alerts; i++)
                free(t->alerts[i].key);
        free(t->alerts);
}

static void relay_drop_targets(Relay *r) {
        for (size_t i = 0; i < r->n_deliveries; i++)
                delivery_free(r->deliveries[i]);
        r->deliveries = mfree(r->deliveries);
        r->n_deliveries = 0;
        for (size_t i = 0; i < r->n_targets; i++)
                target_done(r->targets + i);
        r->targets = mfree(r->targets);
        r->n_targets = 0;
}

Relay *relay_free(Relay *r) {
        if (!r)
                return NULL;
        relay_drop_targets(r);
        sd_event_source_disable_unref(r->kick);
        sd_event_source_disable_unref(r->due);
        sd_event_source_disable_unref(r->resend);
        http_client_free(r->http);
        outbox_free(r->outbox);
        relay_config_free(r->config);
        sd_event_unref(r->event);
        free(r->host);
        free(r->machine_id);
        free(r->config_path);
        secret_free(r->approval_key, r->approval_key_size);
        free(r);
        return NULL;
}

/* The configuration, each problem in it logged as salvectl verify says it. */
static int relay_load_config(const char *path, RelayConfig **ret) {
        _cleanup_(diagnostics_done) Diagnostics d = {};
        int k;

        k = relay_config_load(path, ret, &d);
        for (size_t i = 0; i < d.n_items; i++)
                log_full_errno(d.items[i].level == DIAG_ERROR ? LOG_ERR : LOG_WARNING, 0, "%s:%u:%u: %s",
                               d.items[i].file, d.items[i].line, d.items[i].column, d.items[i].message);
        if (k < 0)
                return log_error_errno(k, "The relay's configuration has errors: nobody is notified until it is "
                                       "fixed (salvectl verify; then salvectl reload): %m");
        return 0;
}

static double relay_jitter(Relay *r) {
        return (double) rand_r(&r->rand_state) / ((double) RAND_MAX + 1.0);
}

/* ---- targets ---- */

static int target_secret(RelayTarget *t, const char *ref, void **ret, size_t *ret_size) {
        _cleanup_free_ char *why = NULL;
        int k;

        if (!ref)
                return 0;
        k = secret_load_full(ref, ret, ret_size, &why);
        if (k < 0)
                log_struct_internal(LOG_ERR, k, SALVE_MESSAGE_NOTIFY_LOST, NULL, NULL, NULL,
                                    "Relay channel %s: cannot read its secret %s: %s; nothing is sent to it until "
                                    "the secret can be read (fix it, then salvectl reload).", t->config->name, ref,
                                    why ?: strerror(-k));
        return k;
}

static int relay_setup_targets(Relay *r) {
        size_t n = 0;

        for (size_t i = 0; i < r->config->n_channels; i++)
                n += MAX(strv_length(r->config->channels[i].urls), (size_t) 1);
        r->targets = calloc(MAX(n, (size_t) 1), sizeof(RelayTarget));
        if (!r->targets)
                return -ENOMEM;
        for (size_t i = 0; i < r->config->n_channels; i++) {
                RelayChannelConfig *c = r->config->channels + i;
                size_t urls = strv_length(c->urls);

                for (size_t u = 0; u < MAX(urls, (size_t) 1); u++) {
                        RelayTarget *t = r->targets + r->n_targets;
                        size_t size = 0;
                        void *key = NULL;

                        *t = (RelayTarget) {
                                .relay = r,
                                .config = c,
                                .ops = channel_ops_find(channel_type_to_string(c->type)),
                                .url = urls > 0 ? c->urls[u] : NULL,
                                .ordered = c->type == CHANNEL_PAGERDUTY,
                                .alertmanager = c->type == CHANNEL_ALERTMANAGER,
                        };
                        if ((urls > 1 ? asprintf(&t->name, "%s#%zu", c->name, u + 1)
                                      : asprintf(&t->name, "%s", c->name)) < 0)
                                return -ENOMEM;
                        r->n_targets++;
                        if (!t->ops) {
                                log_warning("Relay channel %s: type %s cannot be sent, ignoring.", c->name,
                                            channel_type_to_string(c->type));
                                continue;
                        }
                        if (target_secret(t, c->secret_ref, &t->secret, &t->secret_size) < 0)
                                t->ops = NULL;
                        if (t->ops && target_secret(t, c->routing_key_ref, &key, &size) >= 0 && key) {
                                t->routing_key = strndup(key, size);
                                secret_free(key, size);
                                if (!t->routing_key)
                                        return -ENOMEM;
                                /* a trailing newline in a credential file is not part of the key */
                                t->routing_key[strcspn(t->routing_key, "\r\n")] = 0;
                        } else if (c->routing_key_ref)
                                t->ops = NULL;
                }
        }
        return 0;
}

/* ---- the outbox path ---- */

static void relay_arm(Relay *r, bool kick);

/* A result the outbox could not record: back off (1 s, doubling, at most
 * 30 s), said once until it records again. */
static void relay_outbox_unwritable(Relay *r, int error, usec_t now) {
        bool first = r->stall_delay == 0;

        r->stall_delay = first ? USEC_PER_SEC : MIN(r->stall_delay * 2, 30 * USEC_PER_SEC);
        r->stall_until = usec_add(now, r->stall_delay);
        if (first)
                log_struct_internal(LOG_ERR, error, SALVE_MESSAGE_NOTIFY_LOST, NULL, NULL, NULL,
                                    "The notification outbox cannot record deliveries: %m; nothing is sent until it "
                                    "can (tried again after 1 s, doubling to 30 s; a notification whose result was "
                                    "not recorded may be sent once more).");
        else
                log_full_errno(LOG_DEBUG, error, "The notification outbox still cannot record deliveries: %m; next try in "
                                "%" PRIu64 " s.", r->stall_delay / USEC_PER_SEC);
}

static void relay_outbox_writable(Relay *r) {
        if (r->stall_delay == 0)
                return;
        log_info("The notification outbox records deliveries again; sending goes on.");
        r->stall_delay = r->stall_until = 0;
}

static void target_result(RelayTarget *t, const HttpReply *reply, DeliveryVerdict v, const char *reason) {
        usec_t now = now_usec(CLOCK_REALTIME);

        t->last_status = reply->status;
        free(t->last_error);
        t->last_error = NULL;
        if (v == DELIVERY_OK) {
                t->last_ok = now;
                t->sent++;
                return;
        }
        t->last_failure = now;
        t->failed++;
        if (reason)
                t->last_error = strdup(reason);
        else if (reply->error_text)
                t->last_error = strdup(reply->error_text);
        else if (reply->error < 0)
                t->last_error = strdup(strerror(-reply->error));
}

static void relay_forget(Relay *r, Delivery *d) {
        for (size_t i = 0; i < r->n_deliveries; i++)
                if (r->deliveries[i] == d) {
                        r->deliveries[i] = r->deliveries[--r->n_deliveries];
                        break;
                }
}

static void on_delivered(HttpCall *call, const HttpReply *reply, void *userdata) {
        Delivery *d = userdata;
        RelayTarget *t = d->target;
        Relay *r = t->relay;
        _cleanup_free_ char *reason = NULL;
        DeliveryVerdict v;
        usec_t now = now_usec(CLOCK_REALTIME);
        int k = 0;

        d->call = NULL;         /* freed by the client after this returns */
        v = t->ops->classify(reply->status, reply->body, reply->body_size, &reason);
        if (reply->status == 0 && reply->error < 0 && v == DELIVERY_OK)
                v = DELIVERY_RETRY;
        target_result(t, reply, v, reason);
        t->in_flight--;

        if (d->entry_id) {
                OutboxEntry *e = outbox_find(r->outbox, d->entry_id);
                if (e) {
                        if (v == DELIVERY_OK)
                                k = outbox_delivered(r->outbox, e, reply->status, now);
                        else {
                                k = outbox_failed(r->outbox, e, reply->status,
                                                  t->last_error ?: "no reply", v == DELIVERY_RETRY,
                                                  relay_jitter(r), now);
                                e = outbox_find(r->outbox, d->entry_id);
                                if (e && e->state == OUTBOX_DEAD)
                                        log_struct_internal(LOG_ERR, 0, SALVE_MESSAGE_NOTIFY_DEAD, e->run_id, NULL,
                                                            NULL, "Notification %s to %s is a dead letter after %u "
                                                            "attempt%s: %s (salvectl outbox; salvectl outbox retry "
                                                            "%s).", e->key, t->name, e->attempts,
                                                            e->attempts == 1 ? "" : "s",
                                                            strna(t->last_error), e->id);
                        }
                        if (k < 0)
                                relay_outbox_unwritable(r, k, now);
                        else
                                relay_outbox_writable(r);
                }
        } else if (d->alert_key) {
                for (size_t i = 0; i < t->n_alerts; i++)
                        if (streq(t->alerts[i].key, d->alert_key) && v != DELIVERY_OK)
                                t->alerts[i].sent = 0;  /* sent again at the next pass */
        }
        /* It answers again: what waited for it need not wait out its backoff. */
        if (v == DELIVERY_OK && !t->alertmanager) {
                size_t n = outbox_expedite(r->outbox, t->name, now);
                if (n > 0)
                        log_debug("%s answers again: %zu notification%s sent now, not after their backoff.",
                                  t->name, n, n == 1 ? "" : "s");
        }
        relay_forget(r, d);
        delivery_free(d);
        relay_arm(r, true);
}

static bool group_busy(Relay *r, const RelayTarget *t, const char *group) {
        for (size_t i = 0; i < r->n_deliveries; i++)
                if (r->deliveries[i]->target == t && streq_ptr(r->deliveries[i]->group, group))
                        return true;
        return false;
}

static bool entry_in_flight(Relay *r, const char *id) {
        for (size_t i = 0; i < r->n_deliveries; i++)
                if (streq_ptr(r->deliveries[i]->entry_id, id))
                        return true;
        return false;
}

static int relay_send(Relay *r, RelayTarget *t, const Notification *n, const ChannelParams *p, Delivery *d) {
        _cleanup_(channel_request_done) ChannelRequest req = {};
        Delivery **grown;
        int k;

        k = t->ops->format(n, p, &req);
        if (k < 0)
                return k;
        grown = reallocarray(r->deliveries, r->n_deliveries + 1, sizeof(Delivery *));
        if (!grown)
                return -ENOMEM;
        r->deliveries = grown;
        k = http_call_start(r->http,
                            &(const HttpRequest) {
                                    .method = "POST",
                                    .url = req.url,
                                    .headers = req.headers,
                                    .body = req.body,
                                    .body_size = req.body_size,
                                    .timeout_usec = t->config->timeout,
                            },
                            on_delivered, d, &d->call);
        if (k < 0)
                return k;
        r->deliveries[r->n_deliveries++] = d;
        t->in_flight++;
        return 0;
}

/* Sends what is due for one target, oldest first, within its limits. */
static void relay_deliver_target(Relay *r, RelayTarget *t, usec_t now) {
        OutboxEntry *due[RELAY_DUE_BATCH];
        size_t n;

        if (!t->ops || t->alertmanager || t->in_flight >= RELAY_TARGET_IN_FLIGHT)
                return;
        n = outbox_due(r->outbox, now, t->name, due, ELEMENTSOF(due));
        for (size_t i = 0; i < n && t->in_flight < RELAY_TARGET_IN_FLIGHT; i++) {
                _cleanup_(notification_freep) Notification *no = NULL;
                const char *error = NULL;
                Delivery *d;
                int k;

                if (entry_in_flight(r, due[i]->id))
                        continue;
                if (t->ordered && due[i]->run_id && group_busy(r, t, due[i]->run_id))
                        continue;
                k = notification_from_json(due[i]->payload, &no, &error);
                if (k < 0) {
                        /* Nothing can ever send it: a dead letter, said once. */
                        k = outbox_failed(r->outbox, due[i], 0, "the stored notification cannot be read", false, 0,
                                          now);
                        if (k < 0) {
                                relay_outbox_unwritable(r, k, now);
                                return;
                        }
                        continue;
                }
                d = calloc(1, sizeof(Delivery));
                if (!d || !(d->entry_id = strdup(due[i]->id)) ||
                    (due[i]->run_id && !(d->group = strdup(due[i]->run_id)))) {
                        delivery_free(d);
                        return;
                }
                d->target = t;
                k = relay_send(r, t, no,
                               &(const ChannelParams) {
                                       .url = t->url,
                                       .secret = t->secret,
                                       .secret_size = t->secret_size,
                                       .routing_key = t->routing_key,
                                       .now = now,
                               },
                               d);
                if (k < 0) {
                        delivery_free(d);
                        k = outbox_failed(r->outbox, due[i], 0, strerror(-k), k != -EINVAL, relay_jitter(r), now);
                        if (k < 0) {
                                relay_outbox_unwritable(r, k, now);
                                return;
                        }
                }
        }
}

static int on_kick(sd_event_source *s, void *userdata) {
        Relay *r = userdata;
        usec_t now = now_usec(CLOCK_REALTIME);
        int k;

        /* The outbox could not record results: wait before sending more. */
        if (now < r->stall_until) {
                (void) sd_event_source_set_time(r->due, r->stall_until);
                (void) sd_event_source_set_enabled(r->due, SD_EVENT_ONESHOT);
                return 0;
        }

        /* What the listener enqueued since the last pass is made durable
         * here, once for all of it, before any of it is sent. */
        k = outbox_flush_enqueued(r->outbox);
        if (k < 0) {
                log_struct_internal(LOG_ERR, k, SALVE_MESSAGE_NOTIFY_LOST, NULL, NULL, NULL,
                                    "Cannot sync the notification outbox: %m; nothing is sent until it can be.");
                (void) sd_event_source_set_time(r->due, usec_add(now, USEC_PER_SEC));
                (void) sd_event_source_set_enabled(r->due, SD_EVENT_ONESHOT);
                return 0;
        }

        for (size_t i = 0; i < r->n_targets; i++)
                relay_deliver_target(r, r->targets + i, now);
        relay_arm(r, false);
        return 0;
}

static int on_due(sd_event_source *s, uint64_t usec, void *userdata) {
        return on_kick(NULL, userdata);
}

/* A delivery pass runs when something changed that can let an entry go:
 * an enqueue, a delivery's end (a slot, an ordered group, freed), a
 * person's retry (kick), or the next retry's time. Entries in flight are
 * still "due" in the outbox, so "due now" alone never wakes the loop: the
 * end of what is in flight will. */
static void relay_arm(Relay *r, bool kick) {
        usec_t next;
        int k;

        if (!r->started)
                return;
        if (kick)
                (void) sd_event_source_set_enabled(r->kick, SD_EVENT_ONESHOT);
        next = outbox_next_due(r->outbox);
        if (r->stall_until > now_usec(CLOCK_REALTIME))
                next = MAX(next == USEC_INFINITY ? r->stall_until : next, r->stall_until);
        if (next == USEC_INFINITY || next <= now_usec(CLOCK_REALTIME)) {
                (void) sd_event_source_set_enabled(r->due, SD_EVENT_OFF);
                return;
        }
        k = sd_event_source_set_time(r->due, next);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->due, SD_EVENT_ONESHOT);
        if (k < 0)
                log_warning_errno(k, "Failed to arm the relay's timer, ignoring: %m");
}

static const RelayContext *relay_context(Relay *r, RelayContext *c) {
        *c = (RelayContext) { .host = r->host, .machine_id = r->machine_id, .person = r->person,
                              .userdata = r->person_userdata };
        return c;
}

/* An approve step's notification carries, for each person it is for, a
 * link that approves and one that rejects, each with a token bound to
 * that person, the run, the step and the action (salve-ack verifies it). */
static int relay_add_approval_links(Relay *r, const Run *run, const RelayFact *f, Notification *n) {
        const char *base = r->config->ack.approval_url;
        usec_t expires;

        if (!base || !r->approval_key || f->step < 0 || run->plan->steps[f->step].kind != STEP_APPROVE ||
            (f->event != NOTIFY_HUMAN_NEEDED && f->event != NOTIFY_ESCALATED && f->event != NOTIFY_REMINDER))
                return 0;
        expires = usec_add(now_usec(CLOCK_REALTIME), r->config->ack.approval_lifetime);
        for (size_t i = 0; i < n->n_recipients; i++) {
                NotifyRecipient *p = n->recipients + i;
                const char *actions[2] = { "approve", "reject" };
                char **urls[2] = { &p->approve_url, &p->reject_url };

                for (size_t a = 0; a < 2; a++) {
                        _cleanup_free_ char *token = NULL;
                        int k = approval_token_make(r->approval_key, r->approval_key_size, run->id, n->step_id,
                                                    actions[a], p->name, expires, NULL, &token);
                        if (k < 0)
                                return k;
                        if (asprintf(urls[a], "%s%sapprove?token=%s", base,
                                     string_has_suffix(base, "/") ? "" : "/", token) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

static void relay_load_approval_key(Relay *r) {
        r->approval_key = secret_free(r->approval_key, r->approval_key_size);
        r->approval_key_size = 0;
        if (!r->config->ack.approval_key || !r->config->ack.approval_url)
                return;
        if (secret_load(r->config->ack.approval_key, &r->approval_key, &r->approval_key_size) < 0) {
                log_warning("Relay: cannot read the approval key %s: notifications carry no approval links.",
                            r->config->ack.approval_key);
                return;
        }
        /* a trailing newline in the key file is not part of the key */
        while (r->approval_key_size > 0 && strchr("\r\n", ((char *) r->approval_key)[r->approval_key_size - 1]))
                r->approval_key_size--;
}

/* Enqueues a fact for every target that wants it (one sync for all);
 * only: just the targets of that channel type (-1: all). */
static int relay_enqueue_fact_for(Relay *r, const Run *run, const RelayFact *f, bool reconcile, int only) {
        _cleanup_(notification_freep) Notification *n = NULL;
        _cleanup_free_ char *json = NULL;
        OutboxNew items[64];
        size_t n_items = 0;
        RelayContext ctx;
        int k;

        for (size_t i = 0; i < r->n_targets; i++) {
                RelayTarget *t = r->targets + i;
                if (only >= 0 && (int) t->config->type != only)
                        continue;
                if (t->alertmanager || !relay_channel_wants(t->config, f->event,
                                                            notify_event_default_severity(f->event), run->plan->name))
                        continue;
                if (!n) {
                        k = relay_notification_build(run, f, relay_context(r, &ctx), &n);
                        if (k >= 0)
                                k = relay_add_approval_links(r, run, f, n);
                        if (k >= 0 && relay_channel_wants(t->config, f->event, n->severity, run->plan->name))
                                k = notification_to_json(n, &json);
                        if (k < 0)
                                return log_struct_internal(LOG_ERR, k, SALVE_MESSAGE_NOTIFY_LOST, run->id,
                                                           run->plan->name, NULL, "Cannot make the %s notification "
                                                           "of run %s: %m. It is not sent.",
                                                           notify_event_to_string(f->event), run->id);
                        /* the severity the notification has, not the event's default */
                        if (!json)
                                continue;
                } else if (!relay_channel_wants(t->config, f->event, n->severity, run->plan->name))
                        continue;
                if (reconcile && outbox_has(r->outbox, t->name, n->key))
                        continue;
                if (n_items >= ELEMENTSOF(items))
                        break;
                items[n_items++] = (OutboxNew) { .channel = t->name, .key = n->key, .run_id = run->id,
                                                 .payload = json };
        }
        if (n_items == 0)
                return 0;
        k = outbox_enqueue_many(r->outbox, items, n_items, f->at);
        if (k < 0 && k != -EEXIST)
                return log_struct_internal(LOG_ERR, k, SALVE_MESSAGE_NOTIFY_LOST, run->id, run->plan->name, NULL,
                                           "Cannot keep the notification %s in the outbox: %m. It is not sent.",
                                           n->key);
        if (reconcile)
                log_struct_internal(LOG_NOTICE, 0, NULL, run->id, run->plan->name, NULL, "Notification %s was "
                                    "journaled but not yet in the outbox when salved stopped: queued now.", n->key);
        return 0;
}

static int relay_enqueue_fact(Relay *r, const Run *run, const RelayFact *f, bool reconcile) {
        int k = relay_enqueue_fact_for(r, run, f, reconcile, -1);

        /* A run's end also closes what its steps' failures opened at
         * PagerDuty (an incident per run and step): one resolve each. */
        if (k >= 0 && f->event == NOTIFY_RUN_FINISHED && f->step < 0)
                for (size_t i = 0; i < run->plan->n_steps; i++) {
                        const StepRun *x = run->steps + i;
                        RelayFact g = { .event = NOTIFY_RUN_FINISHED, .step = (ssize_t) i, .at = f->at };

                        if (step_kind_is_human(run->plan->steps[i].kind) || x->attempt == 0 ||
                            (x->state != STEP_FAILED && x->state != STEP_INTERRUPTED))
                                continue;
                        (void) relay_enqueue_fact_for(r, run, &g, reconcile, CHANNEL_PAGERDUTY);
                }
        return k;
}

/* ---- Alertmanager: the runs' alerts, re-sent while they matter ---- */

static SentAlert *target_alert(RelayTarget *t, const char *key, bool create) {
        SentAlert *g;

        for (size_t i = 0; i < t->n_alerts; i++)
                if (streq(t->alerts[i].key, key))
                        return t->alerts + i;
        if (!create)
                return NULL;
        g = reallocarray(t->alerts, t->n_alerts + 1, sizeof(SentAlert));
        if (!g)
                return NULL;
        t->alerts = g;
        g = t->alerts + t->n_alerts;
        *g = (SentAlert) { .key = strdup(key) };
        if (!g->key)
                return NULL;
        t->n_alerts++;
        return g;
}

/* Posts the run's alerts that changed since they were last sent to this
 * target (all = also those due to be re-sent). step >= 0: only the alerts
 * of that step and of the run itself (what one transition can change), so
 * that a run with many human steps costs per transition what it changed. */
static void relay_alerts_run(Relay *r, RelayTarget *t, const Run *run, ssize_t step, bool all, usec_t now) {
        _cleanup_free_ RelayAlert *alerts = NULL;
        usec_t resend = t->config->resend ?: USEC_PER_MINUTE;
        RelayContext ctx;
        size_t n;

        if (!t->ops || t->in_flight >= RELAY_TARGET_IN_FLIGHT * 4)
                return;
        if (!relay_channel_wants(t->config, NOTIFY_HUMAN_NEEDED, NOTIFY_SEVERITY_CRITICAL, run->plan->name) &&
            !relay_channel_wants(t->config, NOTIFY_RUN_STARTED, NOTIFY_SEVERITY_CRITICAL, run->plan->name))
                return;
        if (relay_alerts_for_run(run, now, t->config->resolved_for ?: 15 * USEC_PER_MINUTE, &alerts, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(notification_freep) Notification *no = NULL;
                SentAlert *s;
                Delivery *d;

                _cleanup_free_ char *akey = NULL;

                if (step >= 0 && alerts[i].fact.step >= 0 && alerts[i].fact.step != step)
                        continue;
                if (relay_notification_build(run, &alerts[i].fact, relay_context(r, &ctx), &no) < 0 ||
                    alertmanager_alert_key(no, &akey) < 0)
                        continue;
                s = target_alert(t, akey, true);
                if (!s)
                        return;
                if (s->sent > 0 && s->firing == alerts[i].firing && !(all && usec_add(s->sent, resend) <= now + USEC_PER_SEC))
                        continue;
                no->at = alerts[i].starts_at;
                d = calloc(1, sizeof(Delivery));
                if (!d || !(d->alert_key = strdup(akey))) {
                        delivery_free(d);
                        return;
                }
                d->target = t;
                d->alert_firing = alerts[i].firing;
                if (relay_send(r, t, no,
                               &(const ChannelParams) {
                                       .url = t->url,
                                       .now = now,
                                       /* firing: survives two missed re-sends */
                                       .ends_at = alerts[i].firing ? usec_add(now, 3 * resend) : alerts[i].resolved_at,
                                       .resolved = !alerts[i].firing,
                               },
                               d) < 0) {
                        delivery_free(d);
                        continue;
                }
                s->firing = alerts[i].firing;
                s->sent = now;
        }
}

static void relay_alerts_all(Relay *r, bool all) {
        usec_t now = now_usec(CLOCK_REALTIME);

        if (!r->store)
                return;
        for (size_t i = 0; i < r->n_targets; i++) {
                RelayTarget *t = r->targets + i;
                usec_t horizon = t->config->resolved_for ?: 15 * USEC_PER_MINUTE;

                if (!t->alertmanager)
                        continue;
                for (size_t k = 0; k < r->store->n_runs; k++) {
                        const Run *run = r->store->runs[k];
                        if (run_is_finished(run) && usec_add(run->finished, horizon) < now)
                                continue;
                        relay_alerts_run(r, t, run, -1, all, now);
                }
        }
}

/* What Alertmanager was sent and no pass has re-sent for a while (a run
 * gone past resolved-for, a reload's leftovers) is forgotten. */
static void target_prune_alerts(RelayTarget *t, usec_t now) {
        usec_t horizon = usec_add(t->config->resolved_for ?: 15 * USEC_PER_MINUTE,
                                  3 * (t->config->resend ?: USEC_PER_MINUTE));
        size_t k = 0;

        for (size_t i = 0; i < t->n_alerts; i++) {
                if (t->alerts[i].sent > 0 && usec_add(t->alerts[i].sent, horizon) < now) {
                        free(t->alerts[i].key);
                        continue;
                }
                t->alerts[k++] = t->alerts[i];
        }
        t->n_alerts = k;
}

static int on_resend(sd_event_source *s, uint64_t usec, void *userdata) {
        Relay *r = userdata;
        usec_t every = USEC_INFINITY;

        relay_alerts_all(r, true);
        for (size_t i = 0; i < r->n_targets; i++)
                if (r->targets[i].alertmanager)
                        target_prune_alerts(r->targets + i, now_usec(CLOCK_REALTIME));
        for (size_t i = 0; i < r->n_targets; i++)
                if (r->targets[i].alertmanager)
                        every = MIN(every, r->targets[i].config->resend ?: USEC_PER_MINUTE);
        if (every != USEC_INFINITY) {
                (void) sd_event_source_set_time_relative(s, every);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

/* ---- the listener, startup, verbs ---- */

void relay_on_transition(Relay *r, const Run *run, const Transition *t) {
        RelayFact facts[2];
        size_t n;
        bool queued = false;

        if (!r || !r->started)
                return;
        n = relay_facts_for_transition(run, t, facts);
        /* Not synced one by one: the delivery pass syncs them all before it
         * sends (on_kick), so a burst of transitions costs one sync, not
         * one each. A crash before that loses nothing: the run journal has
         * the facts, and the reconcile at start enqueues them again. */
        outbox_set_sync(r->outbox, false);
        for (size_t i = 0; i < n; i++) {
                int k = relay_enqueue_fact(r, run, facts + i, false);
                queued = queued || k >= 0;
        }
        outbox_set_sync(r->outbox, true);
        for (size_t i = 0; i < r->n_targets; i++)
                if (r->targets[i].alertmanager)
                        relay_alerts_run(r, r->targets + i, run,
                                         t->step_id ? plan_find_step(run->plan, t->step_id) : -1, false,
                                         now_usec(CLOCK_REALTIME));
        if (queued)
                relay_arm(r, true);
}

/* The newest fact time the outbox holds: everything journaled before it
 * was handled (enqueued, or not wanted by any channel). */
static usec_t outbox_watermark(Outbox *o) {
        _cleanup_free_ OutboxEntry **all = NULL;
        usec_t w = 0;
        size_t n = outbox_list(o, &all);

        for (size_t i = 0; i < n; i++)
                w = MAX(w, all[i]->created);
        return w;
}

static void relay_reconcile(Relay *r, const RunStore *store) {
        usec_t now = now_usec(CLOCK_REALTIME);
        usec_t from = MAX(outbox_watermark(r->outbox), now > RELAY_RECONCILE_WINDOW ? now - RELAY_RECONCILE_WINDOW : 0);

        for (size_t i = 0; i < store->n_runs; i++) {
                const Run *run = store->runs[i];
                _cleanup_free_ RelayFact *facts = NULL;
                size_t n;

                if (run_is_finished(run) && run->finished < from)
                        continue;
                if (relay_facts_for_run(run, &facts, &n) < 0)
                        continue;
                for (size_t f = 0; f < n; f++)
                        if (facts[f].at >= from)
                                (void) relay_enqueue_fact(r, run, facts + f, true);
        }
}

int relay_new(sd_event *event, const RelayOptions *o, Relay **ret) {
        _cleanup_(relay_freep) Relay *r = NULL;
        _cleanup_free_ char *outbox_path = NULL;
        char host[256];
        int k;

        r = calloc(1, sizeof(Relay));
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(event);
        r->person = o ? o->person : NULL;
        r->person_userdata = o ? o->person_userdata : NULL;
        r->rand_state = (unsigned) now_usec(CLOCK_MONOTONIC) ^ (unsigned) getpid();
        if (o && o->host)
                r->host = strdup(o->host);
        else if (gethostname(host, sizeof(host)) >= 0) {
                host[sizeof(host) - 1] = 0;
                r->host = strdup(host);
        } else
                r->host = strdup("localhost");
        if (!r->host || (o && o->machine_id && !(r->machine_id = strdup(o->machine_id))))
                return -ENOMEM;

        k = relay_load_config(o ? o->config_path : NULL, &r->config);
        if (k < 0)
                return k;
        r->config_path = o && o->config_path ? strdup(o->config_path) : NULL;
        if (o && o->config_path && !r->config_path)
                return -ENOMEM;
        k = http_client_new(event, RELAY_HTTP_IN_FLIGHT, &r->http);
        if (k < 0)
                return k;
        if (!(o && o->outbox_path) && asprintf(&outbox_path, "%s/outbox.journal", SALVE_STATE_DIR) < 0)
                return -ENOMEM;
        k = outbox_open(o && o->outbox_path ? o->outbox_path : outbox_path,
                        &(const OutboxLimits) {
                                .max_entries = r->config->outbox.max_entries,
                                .max_dead = r->config->outbox.max_dead,
                                .retry_initial = r->config->outbox.retry_initial,
                                .retry_max = r->config->outbox.retry_max,
                                .give_up_after = r->config->outbox.give_up_after,
                        },
                        &r->outbox, NULL);
        if (k < 0)
                return log_error_errno(k, "Failed to open the notification outbox: %m");
        k = relay_setup_targets(r);
        if (k < 0)
                return k;
        relay_load_approval_key(r);

        k = sd_event_add_defer(event, &r->kick, on_kick, r);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->kick, SD_EVENT_OFF);
        if (k >= 0)
                k = sd_event_add_time(event, &r->due, CLOCK_REALTIME, USEC_INFINITY, USEC_PER_SEC / 20, on_due, r);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->due, SD_EVENT_OFF);
        if (k >= 0)
                k = sd_event_add_time_relative(event, &r->resend, CLOCK_MONOTONIC, USEC_PER_MINUTE, USEC_PER_SEC,
                                               on_resend, r);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(r->kick, "relay-deliver");
        (void) sd_event_source_set_description(r->due, "relay-retry");
        (void) sd_event_source_set_description(r->resend, "relay-alert-resend");
        *ret = TAKE_PTR(r);
        return 0;
}

int relay_start(Relay *r, const RunStore *store) {
        size_t counts[_OUTBOX_STATE_MAX];
        uint64_t dropped;

        r->store = store;
        relay_reconcile(r, store);
        r->started = true;
        outbox_counts(r->outbox, counts, &dropped);
        if (r->n_targets > 0 || counts[OUTBOX_PENDING] + counts[OUTBOX_RETRYING] > 0)
                log_info("Relay: %zu notifier%s; outbox %zu pending, %zu retrying, %zu dead.", r->n_targets,
                         r->n_targets == 1 ? "" : "s", counts[OUTBOX_PENDING], counts[OUTBOX_RETRYING],
                         counts[OUTBOX_DEAD]);
        relay_alerts_all(r, true);
        relay_arm(r, true);
        return 0;
}

int relay_reload(Relay *r, const RunStore *store) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL;
        int k;

        k = relay_load_config(r->config_path, &c);
        if (k < 0)
                return k;
        relay_drop_targets(r);
        relay_config_free(r->config);
        r->config = TAKE_PTR(c);
        outbox_set_limits(r->outbox, &(const OutboxLimits) {
                                  .max_entries = r->config->outbox.max_entries,
                                  .max_dead = r->config->outbox.max_dead,
                                  .retry_initial = r->config->outbox.retry_initial,
                                  .retry_max = r->config->outbox.retry_max,
                                  .give_up_after = r->config->outbox.give_up_after,
                          });
        k = relay_setup_targets(r);
        if (k < 0)
                return k;
        relay_load_approval_key(r);
        if (r->started) {
                relay_alerts_all(r, true);
                relay_arm(r, true);
        }
        return 0;
}

Outbox *relay_outbox(Relay *r) {
        return r->outbox;
}

size_t relay_targets(Relay *r, RelayTargetInfo *ret, size_t max) {
        for (size_t i = 0; i < r->n_targets && i < max; i++) {
                const RelayTarget *t = r->targets + i;
                ret[i] = (RelayTargetInfo) {
                        .name = t->name, .channel = t->config->name, .type = channel_type_to_string(t->config->type),
                        .url = t->url, .in_flight = t->in_flight, .last_ok = t->last_ok,
                        .last_failure = t->last_failure, .last_status = t->last_status, .last_error = t->last_error,
                        .sent = t->sent, .failed = t->failed,
                };
        }
        return r->n_targets;
}

int relay_retry(Relay *r, const char *id) {
        int k = outbox_retry(r->outbox, id, now_usec(CLOCK_REALTIME));
        if (k >= 0)
                relay_arm(r, true);
        return k;
}

int relay_drop(Relay *r, const char *id) {
        if (entry_in_flight(r, id))
                return -EBUSY;
        return outbox_drop(r->outbox, id, now_usec(CLOCK_REALTIME));
}
