/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Alertmanager API v2 (channel.h): POST {url}/api/v2/alerts with a JSON
 * array of exactly one alert. One, because Alertmanager stores the valid
 * alerts of a batch and answers 400 for the rest, and the relay must know
 * which alert that 400 was for.
 *
 * An alert is its labels (alertmanager_labels()): alertname, instance,
 * salve_plan, salve_run, salve_step for step alerts, severity. Those
 * never change while the alert lives, so every re-send refreshes the same
 * alert; annotations (summary, description, bridge, chat, links,
 * acknowledged_by, and salve_units on SalveRecoveryInProgress) are the
 * latest. startsAt is the fact's time, endsAt
 * the relay's (p->ends_at): in the future while it fires (Alertmanager
 * resolves it by itself if salve stops re-sending), p->now or earlier
 * once resolved.
 *
 * Replies: 2xx delivered; 400 dead, with Alertmanager's message (it will
 * refuse the same alert again); 408, 429, 5xx and no reply retried; other
 * codes dead (a wrong URL or credentials do not fix themselves). */

#include <json-c/json.h>

#include "channel.h"
#include "strv.h"

typedef struct AlertKind {
        const char *alertname;
        NotifySeverity severity;
        bool step;                      /* names a step (salve_step) */
} AlertKind;

static const AlertKind human_needed = { "SalveHumanNeeded", NOTIFY_SEVERITY_CRITICAL, true };
static const AlertKind unanswered = { "SalveUnanswered", NOTIFY_SEVERITY_CRITICAL, true };
static const AlertKind step_failed = { "SalveStepFailed", NOTIFY_SEVERITY_ERROR, true };
static const AlertKind rto_at_risk = { "SalveRTOAtRisk", NOTIFY_SEVERITY_WARNING, false };
static const AlertKind rto_breached = { "SalveRTOBreached", NOTIFY_SEVERITY_CRITICAL, false };
static const AlertKind in_progress = { "SalveRecoveryInProgress", NOTIFY_SEVERITY_WARNING, false };

static const AlertKind *const alert_kind[_NOTIFY_EVENT_MAX] = {
        [NOTIFY_RUN_STARTED] = &in_progress,
        [NOTIFY_HUMAN_NEEDED] = &human_needed,
        [NOTIFY_ESCALATED] = &human_needed,
        [NOTIFY_REMINDER] = &human_needed,
        [NOTIFY_ACKNOWLEDGED] = &human_needed,
        [NOTIFY_HUMAN_DONE] = &human_needed,
        [NOTIFY_UNANSWERED] = &unanswered,
        [NOTIFY_STEP_FAILED] = &step_failed,
        [NOTIFY_RTO_AT_RISK] = &rto_at_risk,
        [NOTIFY_RTO_BREACHED] = &rto_breached,
        [NOTIFY_RUN_FINISHED] = &in_progress,
};

static const AlertKind *kind_of(NotifyEvent e) {
        return e >= 0 && e < _NOTIFY_EVENT_MAX ? alert_kind[e] : NULL;
}

const char *alertmanager_alertname(NotifyEvent e) {
        const AlertKind *k = kind_of(e);
        return k ? k->alertname : NULL;
}

static int push_label(char ***l, const char *name, const char *value) {
        char *s;

        if (asprintf(&s, "%s=%s", name, value) < 0)
                return -ENOMEM;
        return strv_push(l, s);
}

int alertmanager_labels(const Notification *n, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const AlertKind *k;

        if (!n || !ret)
                return -EINVAL;
        k = kind_of(n->event);
        if (!k || !n->host || !n->plan || !n->run_id || (k->step && !n->step_id))
                return -EINVAL;
        /* sorted by name */
        if (push_label(&l, "alertname", k->alertname) < 0 || push_label(&l, "instance", n->host) < 0 ||
            push_label(&l, "salve_plan", n->plan) < 0 || push_label(&l, "salve_run", n->run_id) < 0 ||
            (k->step && push_label(&l, "salve_step", n->step_id) < 0) ||
            push_label(&l, "severity", notify_severity_to_string(k->severity)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int alertmanager_alert_key(const Notification *n, char **ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *rest = NULL;
        int k;

        k = alertmanager_labels(n, &l);
        if (k < 0)
                return k;
        rest = strv_join(l + 1, ",");
        if (!rest || asprintf(ret, "%s{%s}", l[0] + strlen("alertname="), rest) < 0)
                return -ENOMEM;
        return 0;
}

static int add_string(json_object *o, const char *name, const char *s) {
        json_object *v;

        if (!s || !*s)
                return 0;               /* an empty annotation is no annotation */
        v = notify_json_string(s);
        if (!v || json_object_object_add(o, name, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_object(json_object *o, const char *name, json_object *v) {
        if (!v || json_object_object_add(o, name, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int alert_object(const Notification *n, const ChannelParams *p, json_object **ret) {
        _cleanup_strv_free_ char **labels = NULL;
        _cleanup_free_ char *links = NULL, *units = NULL;
        char starts[NOTIFY_TIME_MAX], ends[NOTIFY_TIME_MAX];
        json_object *alert, *l, *a;
        usec_t end;
        int k;

        k = alertmanager_labels(n, &labels);
        if (k < 0)
                return k;
        end = p->ends_at ?: p->resolved ? p->now : 0;
        if (!notify_format_time(starts, n->at) || (end > 0 && !notify_format_time(ends, end)))
                return -EINVAL;
        if (n->links && !(links = strv_join(n->links, "\n")))
                return -ENOMEM;
        /* what the inhibit rule's users read: the units the recovery touches */
        if (kind_of(n->event) == &in_progress && n->units && !(units = strv_join(n->units, " ")))
                return -ENOMEM;

        alert = json_object_new_object();
        l = json_object_new_object();
        a = json_object_new_object();
        if (!alert || !l || !a) {
                json_object_put(alert);
                json_object_put(l);
                json_object_put(a);
                return -ENOMEM;
        }
        k = add_object(alert, "labels", l);
        if (k >= 0)
                k = add_object(alert, "annotations", a);
        else
                json_object_put(a);
        STRV_FOREACH(s, labels) {
                char *eq = strchr(*s, '=');
                *eq = 0;
                if (k >= 0)
                        k = add_string(l, *s, eq + 1);
                *eq = '=';
        }
        if (k >= 0)
                k = add_string(a, "summary", n->summary);
        if (k >= 0)
                k = add_string(a, "description", n->instructions ?: n->message ?: n->plan_description);
        if (k >= 0)
                k = add_string(a, "bridge", n->bridge);
        if (k >= 0)
                k = add_string(a, "chat", n->chat);
        if (k >= 0)
                k = add_string(a, "links", links);
        if (k >= 0)
                k = add_string(a, "acknowledged_by", n->actor);
        if (k >= 0)
                k = add_string(a, "salve_units", units);
        if (k >= 0)
                k = add_string(alert, "startsAt", starts);
        if (k >= 0 && end > 0)
                k = add_string(alert, "endsAt", ends);
        if (k < 0) {
                json_object_put(alert);
                return k;
        }
        *ret = alert;
        return 0;
}

static int alertmanager_format(const Notification *n, const ChannelParams *p, ChannelRequest *ret) {
        _cleanup_(channel_request_done) ChannelRequest r = {};
        json_object *array, *alert;
        const char *text;
        size_t len;
        int k;

        if (!n || !p || !ret || !p->url || !*p->url || strpbrk(p->url, "\r\n"))
                return -EINVAL;
        k = alert_object(n, p, &alert);
        if (k < 0)
                return k;
        array = json_object_new_array();
        if (!array || json_object_array_add(array, alert) < 0) {
                json_object_put(alert);
                json_object_put(array);
                return -ENOMEM;
        }
        text = json_object_to_json_string_ext(array, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r.body = text ? strdup(text) : NULL;
        json_object_put(array);
        if (!r.body)
                return -ENOMEM;
        r.body_size = strlen(r.body);

        /* {url}/api/v2/alerts, unless the url already says so */
        len = strlen(p->url);
        while (len > 0 && p->url[len - 1] == '/')
                len--;
        if (len >= strlen("/api/v2/alerts") && memcmp(p->url + len - strlen("/api/v2/alerts"), "/api/v2/alerts",
                                                      strlen("/api/v2/alerts")) == 0)
                k = asprintf(&r.url, "%.*s", (int) len, p->url);
        else
                k = asprintf(&r.url, "%.*s/api/v2/alerts", (int) len, p->url);
        if (k < 0) {
                r.url = NULL;
                return -ENOMEM;
        }
        if (strv_extend(&r.headers, "Content-Type: application/json") < 0)
                return -ENOMEM;
        *ret = r;
        r = (ChannelRequest) {};
        return 0;
}

const ChannelOps channel_alertmanager = {
        .type = "alertmanager",
        .format = alertmanager_format,
        .classify = channel_classify_api,
};
