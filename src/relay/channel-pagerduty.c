/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PagerDuty Events API v2 (channel.h). One incident per run and step:
 * dedup_key "salve/HOST/RUN/STEP" (run-level events: "salve/HOST/RUN"),
 * so the human step's need, escalations and unanswered are one incident
 * that salve triggers, acknowledges and resolves as the step goes on.
 *
 *   trigger      human-needed, escalated, unanswered, step-failed, rto-breached
 *   acknowledge  acknowledged
 *   resolve      human-done, run-finished
 *   change       run-started, reminder, rto-at-risk: news for responders,
 *                no incident (a change event, POSTed to .../v2/change/enqueue)
 *
 * Replies, after "Response Codes & Retry Logic" of the Events API v2
 * overview: 2xx (202) accepted; 400 never retried: dead, with PagerDuty's
 * message and errors; 429, 5xx and no reply retried; 408 retried (a
 * timeout, not a verdict on the event). Codes the docs do not list (3xx,
 * 401, 403, 404, 413, ...) are dead: they say the URL, the key or the
 * size is wrong, which no retry fixes. */

#include <json-c/json.h>
#include <openssl/evp.h>

#include "channel.h"
#include "string-util.h"
#include "strv.h"

#define PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"
#define PAGERDUTY_CHANGE_URL "https://events.pagerduty.com/v2/change/enqueue"
#define PAGERDUTY_SUMMARY_MAX 1024
#define PAGERDUTY_DEDUP_KEY_MAX 255

static const char * const event_action[_NOTIFY_EVENT_MAX] = {
        [NOTIFY_RUN_STARTED] = "change",
        [NOTIFY_HUMAN_NEEDED] = "trigger",
        [NOTIFY_ESCALATED] = "trigger",
        [NOTIFY_REMINDER] = "change",
        [NOTIFY_ACKNOWLEDGED] = "acknowledge",
        [NOTIFY_HUMAN_DONE] = "resolve",
        [NOTIFY_UNANSWERED] = "trigger",
        [NOTIFY_STEP_FAILED] = "trigger",
        [NOTIFY_RTO_AT_RISK] = "change",
        [NOTIFY_RTO_BREACHED] = "trigger",
        [NOTIFY_RUN_FINISHED] = "resolve",
};

const char *pagerduty_event_action(NotifyEvent e) {
        return e >= 0 && e < _NOTIFY_EVENT_MAX ? event_action[e] : NULL;
}

int pagerduty_dedup_key(const Notification *n, char **ret) {
        _cleanup_free_ char *key = NULL;
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        int k;

        if (!n || !ret || !n->host || !n->run_id)
                return -EINVAL;
        k = n->step_id ? asprintf(&key, "salve/%s/%s/%s", n->host, n->run_id, n->step_id)
                       : asprintf(&key, "salve/%s/%s", n->host, n->run_id);
        if (k < 0)
                return -ENOMEM;
        if (strlen(key) <= PAGERDUTY_DEDUP_KEY_MAX) {
                *ret = TAKE_PTR(key);
                return 0;
        }
        if (EVP_Digest(key, strlen(key), md, &md_len, EVP_sha256(), NULL) != 1)
                return -EIO;
        for (unsigned i = 0; i < md_len; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return asprintf(ret, "salve/sha256/%s", hex) < 0 ? -ENOMEM : 0;
}

/* ---- JSON building: each adder frees what it was given on failure ---- */

static int add(json_object *o, const char *name, json_object *v) {
        if (!v || json_object_object_add(o, name, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_str(json_object *o, const char *name, const char *s) {
        return s && *s ? add(o, name, notify_json_string(s)) : 0;
}

static int add_time(json_object *o, const char *name, usec_t t) {
        char buf[NOTIFY_TIME_MAX];
        return t > 0 && t != USEC_INFINITY && notify_format_time(buf, t) ? add(o, name, json_object_new_string(buf))
                                                                         : 0;
}

static int add_strv(json_object *o, const char *name, char * const *l) {
        json_object *a;

        if (strv_length(l) == 0)
                return 0;
        a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        STRV_FOREACH(s, l) {
                json_object *v = notify_json_string(*s);
                if (!v || json_object_array_add(a, v) < 0) {
                        json_object_put(v);
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        return add(o, name, a);
}

static int add_link(json_object *links, const char *href, const char *text) {
        json_object *l;

        if (!href || !(string_has_prefix(href, "https://") || string_has_prefix(href, "http://")))
                return 0;       /* PagerDuty makes links of these; a "#channel" is not one */
        l = json_object_new_object();
        if (!l)
                return -ENOMEM;
        if (add_str(l, "href", href) < 0 || add_str(l, "text", text) < 0 || json_object_array_add(links, l) < 0) {
                json_object_put(l);
                return -ENOMEM;
        }
        return 0;
}

static int custom_details(const Notification *n, json_object **ret) {
        char d[FORMAT_DURATION_MAX], pos[64];
        json_object *o = json_object_new_object(), *esc = NULL, *people = NULL;
        int k = 0;

        if (!o)
                return -ENOMEM;
#define TRY(x) do { if (k >= 0) k = (x); } while (0)
        TRY(add_str(o, "event", notify_event_to_string(n->event)));
        TRY(add_str(o, "key", n->key));
        TRY(add_str(o, "plan", n->plan));
        TRY(add_str(o, "plan_description", n->plan_description));
        TRY(add_str(o, "run", n->run_id));
        TRY(add_str(o, "run_state", n->run_state));
        TRY(add_str(o, "trigger", n->trigger));
        TRY(add_str(o, "reason", n->reason));
        TRY(add_str(o, "step", n->step_id));
        TRY(add_str(o, "step_description", n->step_description));
        if (n->step_id && n->step_position > 0 && n->n_steps > 0) {
                snprintf(pos, sizeof pos, "%u of %u", n->step_position, n->n_steps);
                TRY(add_str(o, "step_position", pos));
        }
        TRY(add_str(o, "instructions", n->instructions));
        TRY(add_str(o, "bridge", n->bridge));
        TRY(add_str(o, "chat", n->chat));
        TRY(add_str(o, "message", n->message));
        if (n->rto > 0 && n->rto != USEC_INFINITY)
                TRY(add_str(o, "rto", format_duration(d, n->rto)));
        TRY(add_str(o, "rto_state", n->rto_state));
        TRY(add_time(o, "rto_deadline", n->deadline));
        TRY(add_time(o, "projected_end", n->projected));
        TRY(add_str(o, "actor", n->actor));
        TRY(add_str(o, "action", n->action));
        TRY(add_str(o, "comment", n->comment));
        TRY(add_strv(o, "units", n->units));
        TRY(add_str(o, "machine_id", n->machine_id));

        if (k >= 0 && notify_event_is_human(n->event) && n->round > 0) {
                esc = json_object_new_object();
                TRY(esc ? 0 : -ENOMEM);
                TRY(add(esc, "level", json_object_new_int64(n->level)));
                TRY(add(esc, "levels", json_object_new_int64(n->n_levels)));
                TRY(add(esc, "round", json_object_new_int64(n->round)));
                TRY(add(esc, "rounds", json_object_new_int64(n->rounds)));
                if (n->ack_timeout != USEC_INFINITY)
                        TRY(add_str(esc, "ack_timeout", format_duration(d, n->ack_timeout)));
                if (k >= 0)
                        k = add(o, "escalation", TAKE_PTR(esc));
                json_object_put(esc);
        }
        if (k >= 0 && n->n_recipients > 0) {
                people = json_object_new_array();
                TRY(people ? 0 : -ENOMEM);
                for (size_t i = 0; i < n->n_recipients && k >= 0; i++) {
                        json_object *r = json_object_new_object();
                        TRY(r ? 0 : -ENOMEM);
                        TRY(add_str(r, "name", n->recipients[i].name));
                        TRY(add_str(r, "display", n->recipients[i].display));
                        TRY(add(r, "level", json_object_new_int64(n->recipients[i].level)));
                        TRY(add_strv(r, "contacts", n->recipients[i].contacts));
                        if (k >= 0 && json_object_array_add(people, r) < 0)
                                k = -ENOMEM;
                        if (k < 0)
                                json_object_put(r);
                }
                if (k >= 0)
                        k = add(o, "recipients", TAKE_PTR(people));
                json_object_put(people);
        }
#undef TRY
        if (k < 0) {
                json_object_put(o);
                return k;
        }
        *ret = o;
        return 0;
}

static int summary_of(const Notification *n, char **ret) {
        _cleanup_free_ char *s = NULL;

        if (n->summary && *n->summary)
                s = strdup(n->summary);
        else if (asprintf(&s, "%s on %s: %s", n->plan, n->host, notify_event_to_string(n->event)) < 0)
                s = NULL;
        if (!s)
                return -ENOMEM;
        s[utf8_cut(s, PAGERDUTY_SUMMARY_MAX)] = 0;
        *ret = TAKE_PTR(s);
        return 0;
}

static int event_body(const Notification *n, const ChannelParams *p, const char *action, json_object *o) {
        _cleanup_free_ char *dedup = NULL, *summary = NULL;
        char ts[NOTIFY_TIME_MAX];
        bool change = streq(action, "change"), trigger = streq(action, "trigger");
        json_object *payload = NULL, *details = NULL, *links;
        int k;

        k = add_str(o, "routing_key", p->routing_key);
        if (k < 0)
                return k;
        if (!change) {
                k = pagerduty_dedup_key(n, &dedup);
                if (k >= 0)
                        k = add_str(o, "event_action", action);
                if (k >= 0)
                        k = add_str(o, "dedup_key", dedup);
                if (k < 0 || !trigger)
                        return k;       /* acknowledge and resolve need no more */
                k = add_str(o, "client", "salve");
                if (k < 0)
                        return k;
        }

        k = summary_of(n, &summary);
        if (k < 0)
                return k;
        if (!notify_format_time(ts, n->at))
                return -EINVAL;
        payload = json_object_new_object();
        if (!payload)
                return -ENOMEM;
        k = add_str(payload, "summary", summary);
        if (k >= 0)
                k = add_str(payload, "source", n->host);
        if (k >= 0)
                k = add_str(payload, "timestamp", ts);
        if (k >= 0 && !change) {
                k = add_str(payload, "severity", notify_severity_to_string(n->severity));
                if (k >= 0)
                        k = add_str(payload, "component", n->plan);
                if (k >= 0)
                        k = add_str(payload, "group", n->run_id);
                if (k >= 0)
                        k = add_str(payload, "class", n->step_id ? n->step_kind : "run");
        }
        if (k >= 0)
                k = custom_details(n, &details);
        if (k >= 0)
                k = add(payload, "custom_details", details);
        if (k >= 0)
                k = add(o, "payload", TAKE_PTR(payload));
        json_object_put(payload);
        if (k < 0)
                return k;

        links = json_object_new_array();
        if (!links)
                return -ENOMEM;
        STRV_FOREACH(l, n->links)
                if (k >= 0)
                        k = add_link(links, *l, *l);
        if (k >= 0)
                k = add_link(links, n->bridge, "Conference bridge");
        if (k >= 0)
                k = add_link(links, n->chat, "Chat");
        if (k >= 0 && json_object_array_length(links) > 0)
                return add(o, "links", links);
        json_object_put(links);
        return k;
}

static int change_url(const char *url, char **ret) {
        const char *suffix = "/v2/enqueue";
        size_t len;

        if (!url)
                return (*ret = strdup(PAGERDUTY_CHANGE_URL)) ? 0 : -ENOMEM;
        len = strlen(url);
        if (len >= strlen(suffix) && streq(url + len - strlen(suffix), suffix))
                return asprintf(ret, "%.*s/v2/change/enqueue", (int) (len - strlen(suffix)), url) < 0 ? -ENOMEM
                                                                                                     : 0;
        return (*ret = strdup(url)) ? 0 : -ENOMEM;     /* a proxy of the operator's: it knows */
}

static int pagerduty_format(const Notification *n, const ChannelParams *p, ChannelRequest *ret) {
        _cleanup_(channel_request_done) ChannelRequest r = {};
        const char *action, *text;
        json_object *o;
        int k;

        if (!n || !p || !ret || !p->routing_key || !*p->routing_key || !n->host || !n->plan || !n->run_id ||
            (p->url && strpbrk(p->url, "\r\n")))
                return -EINVAL;
        action = pagerduty_event_action(n->event);
        if (!action)
                return -EINVAL;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        k = event_body(n, p, action, o);
        if (k >= 0) {
                text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                if (!text || !(r.body = strdup(text)))
                        k = -ENOMEM;
        }
        json_object_put(o);
        if (k < 0)
                return k;
        r.body_size = strlen(r.body);

        if (streq(action, "change"))
                k = change_url(p->url, &r.url);
        else
                k = (r.url = strdup(p->url ?: PAGERDUTY_URL)) ? 0 : -ENOMEM;
        if (k < 0)
                return k;
        if (strv_extend(&r.headers, "Content-Type: application/json") < 0)
                return -ENOMEM;
        *ret = r;
        r = (ChannelRequest) {};
        return 0;
}

const ChannelOps channel_pagerduty = {
        .type = "pagerduty",
        .format = pagerduty_format,
        .classify = channel_classify_api,
};
