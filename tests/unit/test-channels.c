/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "channel.h"
#include "sign.h"
#include "string-util.h"
#include "strv.h"

#define T0 ((usec_t) 1764684000 * USEC_PER_SEC)        /* 2025-12-02T14:00:00Z */
#define NOW (T0 + 90 * USEC_PER_SEC)                    /* 2025-12-02T14:01:30Z */
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static char **strv_of(const char *a, const char *b) {
        char **l = NULL;
        assert_int_equal(strv_extend(&l, a), 0);
        if (b)
                assert_int_equal(strv_extend(&l, b), 0);
        return l;
}

static Notification *human(NotifyEvent e) {
        Notification *n = calloc(1, sizeof(Notification));

        assert_non_null(n);
        *n = (Notification) {
                .event = e,
                .severity = notify_event_default_severity(e),
                .key = strdup("salve/host1/db-restore-1/approve/1/human-needed/0/1"),
                .at = T0,
                .host = strdup("host1"),
                .plan = strdup("db-restore"),
                .run_id = strdup("db-restore-1"),
                .run_state = strdup("waiting"),
                .summary = strdup("db-restore on host1: approve the restore needs jane"),
                .rto = 30 * USEC_PER_MINUTE,
                .deadline = T0 + 29 * USEC_PER_MINUTE,
                .rto_state = strdup("ok"),
                .step_id = strdup("approve"),
                .step_kind = strdup("human"),
                .instructions = strdup("Check the backup's age, then approve."),
                .links = strv_of("https://runbooks.example/db", NULL),
                .bridge = strdup("https://meet.example/abc"),
                .chat = strdup("#db-oncall"),
                .step_position = 3,
                .n_steps = 7,
                .round = 1,
                .n_levels = 2,
                .rounds = 1,
                .ack_timeout = 10 * USEC_PER_MINUTE,
        };
        n->recipients = calloc(1, sizeof(NotifyRecipient));
        n->n_recipients = 1;
        n->recipients[0] = (NotifyRecipient) { .name = strdup("jane"), .display = strdup("Jane Doe"),
                                               .contacts = strv_of("pagerduty=PXXXXXX", NULL) };
        return n;
}

static Notification *run_level(NotifyEvent e) {
        Notification *n = calloc(1, sizeof(Notification));

        assert_non_null(n);
        *n = (Notification) {
                .event = e,
                .severity = notify_event_default_severity(e),
                .key = strdup("salve/host1/db-restore-1/rto-breached"),
                .at = T0,
                .host = strdup("host1"),
                .plan = strdup("db-restore"),
                .run_id = strdup("db-restore-1"),
                .summary = strdup("db-restore on host1: run db-restore-1 breached its RTO of 30m"),
                .ack_timeout = USEC_INFINITY,
        };
        return n;
}

static json_object *parse(const ChannelRequest *r) {
        json_object *o;

        assert_int_equal(strlen(r->body), r->body_size);
        o = json_tokener_parse(r->body);
        assert_non_null(o);
        return o;
}

static const char *str_at(json_object *o, const char *path) {
        _cleanup_free_ char *p = strdup(path);
        char *save = NULL;

        for (char *t = strtok_r(p, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
                json_object *v;
                if (json_object_is_type(o, json_type_array))
                        v = json_object_array_get_idx(o, (size_t) atoi(t));
                else if (!json_object_object_get_ex(o, t, &v))
                        return NULL;
                o = v;
        }
        return o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

static json_object *obj_at(json_object *o, const char *name) {
        json_object *v = NULL;
        json_object_object_get_ex(o, name, &v);
        return v;
}

static void test_find(void **state) {
        assert_ptr_equal(channel_ops_find("webhook"), &channel_webhook);
        assert_ptr_equal(channel_ops_find("alertmanager"), &channel_alertmanager);
        assert_ptr_equal(channel_ops_find("pagerduty"), &channel_pagerduty);
        assert_null(channel_ops_find("email"));
        assert_null(channel_ops_find(NULL));
        assert_string_equal(delivery_verdict_to_string(DELIVERY_DEAD), "dead");
        channel_request_done(&(ChannelRequest) {});
}

static void test_utf8_cut(void **state) {
        assert_int_equal(utf8_cut("abc", 5), 3);
        assert_int_equal(utf8_cut("abc", 3), 3);
        assert_int_equal(utf8_cut("abcd", 3), 3);
        assert_int_equal(utf8_cut("ab\xc3\xa9", 3), 2);                 /* é would be split */
        assert_int_equal(utf8_cut("ab\xc3\xa9", 4), 4);
        assert_int_equal(utf8_cut("a\xe2\x82\xac" "b", 2), 1);          /* € */
        assert_int_equal(utf8_cut("a\xe2\x82\xac" "b", 3), 1);
        assert_int_equal(utf8_cut("a\xe2\x82\xac" "b", 4), 4);
        assert_int_equal(utf8_cut("\xf0\x9f\x98\x80", 3), 0);          /* an emoji */
}

/* ---- webhook ---- */

static void test_webhook_format(void **state) {
        _cleanup_(notification_freep) Notification *n = human(NOTIFY_HUMAN_NEEDED);
        _cleanup_(channel_request_done) ChannelRequest r = {};
        _cleanup_free_ char *data = NULL, *want = NULL;
        _cleanup_free_ void *key = NULL;
        size_t key_size;
        const ChannelParams p = { .url = "https://hooks.example/salve", .secret = SECRET,
                                  .secret_size = strlen(SECRET), .now = NOW };

        assert_int_equal(channel_webhook.format(n, &p, &r), 0);
        assert_string_equal(r.url, "https://hooks.example/salve");
        assert_int_equal(notification_to_json(n, &data), 0);
        assert_true(asprintf(&want, "{\"type\":\"salve.human-needed\",\"timestamp\":\"2025-12-02T14:00:00Z\","
                                    "\"data\":%s}", data) > 0);
        assert_string_equal(r.body, want);
        assert_int_equal(r.body_size, strlen(want));

        assert_int_equal(strv_length(r.headers), 4);
        assert_string_equal(r.headers[0], "Content-Type: application/json");
        assert_string_equal(r.headers[1], "webhook-id: salve/host1/db-restore-1/approve/1/human-needed/0/1");
        assert_string_equal(r.headers[2], "webhook-timestamp: 1764684090");
        assert_true(string_has_prefix(r.headers[3], "webhook-signature: v1,"));

        /* what a receiver's Standard Webhooks library does */
        assert_int_equal(webhook_secret_decode(SECRET, strlen(SECRET), &key, &key_size), 0);
        assert_int_equal(webhook_verify(key, key_size, n->key, "1764684090", r.body, r.body_size,
                                        r.headers[3] + strlen("webhook-signature: "), NOW, WEBHOOK_TOLERANCE_DEFAULT),
                         0);
        r.body[r.body_size - 2] ^= 1;
        assert_int_equal(webhook_verify(key, key_size, n->key, "1764684090", r.body, r.body_size,
                                        r.headers[3] + strlen("webhook-signature: "), NOW, WEBHOOK_TOLERANCE_DEFAULT),
                         -EKEYREJECTED);

        /* the data is the notification, back */
        {
                _cleanup_(notification_freep) Notification *back = NULL;
                json_object *o = json_tokener_parse(want);
                assert_int_equal(notification_from_json(json_object_to_json_string_ext(
                                                                obj_at(o, "data"), JSON_C_TO_STRING_PLAIN),
                                                        &back, NULL),
                                 0);
                assert_string_equal(back->key, n->key);
                json_object_put(o);
        }
}

static void test_webhook_format_raw_and_none(void **state) {
        _cleanup_(notification_freep) Notification *n = run_level(NOTIFY_RTO_BREACHED);
        _cleanup_(channel_request_done) ChannelRequest r = {}, r2 = {};
        ChannelParams p = { .url = "http://127.0.0.1:8080/hook", .secret = "raw secret\n", .secret_size = 11,
                            .now = NOW };

        assert_int_equal(channel_webhook.format(n, &p, &r), 0);
        assert_true(string_has_prefix(r.body, "{\"type\":\"salve.rto-breached\","));
        assert_int_equal(strv_length(r.headers), 4);
        assert_int_equal(webhook_verify("raw secret", 10, n->key, "1764684090", r.body, r.body_size,
                                        r.headers[3] + strlen("webhook-signature: "), NOW, WEBHOOK_TOLERANCE_DEFAULT),
                         0);

        p.secret = NULL;
        p.secret_size = 0;
        assert_int_equal(channel_webhook.format(n, &p, &r2), 0);
        assert_int_equal(strv_length(r2.headers), 3);       /* unsigned */

        /* what can never be sent */
        ChannelRequest bad = {};
        p.url = NULL;
        assert_int_equal(channel_webhook.format(n, &p, &bad), -EINVAL);
        p.url = "https://x";
        p.secret = "whsec_***";
        p.secret_size = 9;
        assert_int_equal(channel_webhook.format(n, &p, &bad), -EINVAL);
        p.secret = NULL;
        free(n->key);
        n->key = strdup("salve/evil\r\nX-Injected: 1");
        assert_int_equal(channel_webhook.format(n, &p, &bad), -EINVAL);
        assert_null(bad.body);
}

typedef struct StatusCase {
        long status;
        DeliveryVerdict verdict;
} StatusCase;

static void check_statuses(const ChannelOps *ops, const StatusCase *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *reason = NULL;
                DeliveryVerdict v = ops->classify(cases[i].status, "", 0, &reason);
                if (v != cases[i].verdict)
                        fail_msg("%s: HTTP %ld is %s, not %s", ops->type, cases[i].status,
                                 delivery_verdict_to_string(v), delivery_verdict_to_string(cases[i].verdict));
                if (v == DELIVERY_OK)
                        assert_null(reason);
                else
                        assert_non_null(reason);
        }
}

static void test_webhook_classify(void **state) {
        static const StatusCase cases[] = {
                { 200, DELIVERY_OK },    { 202, DELIVERY_OK },    { 204, DELIVERY_OK },    { 299, DELIVERY_OK },
                { 0, DELIVERY_RETRY },   { 408, DELIVERY_RETRY }, { 409, DELIVERY_RETRY }, { 425, DELIVERY_RETRY },
                { 429, DELIVERY_RETRY }, { 500, DELIVERY_RETRY }, { 502, DELIVERY_RETRY }, { 503, DELIVERY_RETRY },
                { 504, DELIVERY_RETRY }, { 599, DELIVERY_RETRY }, { 301, DELIVERY_DEAD },  { 308, DELIVERY_DEAD },
                { 400, DELIVERY_DEAD },  { 401, DELIVERY_DEAD },  { 403, DELIVERY_DEAD },  { 404, DELIVERY_DEAD },
                { 410, DELIVERY_DEAD },  { 413, DELIVERY_DEAD },  { 422, DELIVERY_DEAD },  { 100, DELIVERY_RETRY },
                { 700, DELIVERY_RETRY }, { -1, DELIVERY_RETRY },
        };
        _cleanup_free_ char *reason = NULL, *reason2 = NULL;

        check_statuses(&channel_webhook, cases, ELEMENTSOF(cases));
        assert_int_equal(channel_webhook.classify(410, "bye", 3, &reason), DELIVERY_DEAD);
        assert_string_equal(reason, "HTTP 410: the receiver wants no more webhooks (Gone)");
        assert_int_equal(channel_webhook.classify(422, "{\"error\":\"unknown type\"}", 24, &reason2), DELIVERY_DEAD);
        assert_string_equal(reason2, "HTTP 422: unknown type");
        assert_int_equal(channel_webhook.classify(204, NULL, 0, NULL), DELIVERY_OK);
}

/* ---- alertmanager ---- */

static void test_alertmanager_labels(void **state) {
        _cleanup_(notification_freep) Notification *h = human(NOTIFY_HUMAN_NEEDED), *d = human(NOTIFY_HUMAN_DONE),
                                                   *b = run_level(NOTIFY_RTO_BREACHED);
        _cleanup_strv_free_ char **l = NULL, **l2 = NULL;
        _cleanup_free_ char *k1 = NULL, *k2 = NULL, *k3 = NULL;

        assert_string_equal(alertmanager_alertname(NOTIFY_HUMAN_NEEDED), "SalveHumanNeeded");
        assert_string_equal(alertmanager_alertname(NOTIFY_ESCALATED), "SalveHumanNeeded");
        assert_string_equal(alertmanager_alertname(NOTIFY_REMINDER), "SalveHumanNeeded");
        assert_string_equal(alertmanager_alertname(NOTIFY_ACKNOWLEDGED), "SalveHumanNeeded");
        assert_string_equal(alertmanager_alertname(NOTIFY_UNANSWERED), "SalveUnanswered");
        assert_string_equal(alertmanager_alertname(NOTIFY_STEP_FAILED), "SalveStepFailed");
        assert_string_equal(alertmanager_alertname(NOTIFY_RTO_AT_RISK), "SalveRTOAtRisk");
        assert_string_equal(alertmanager_alertname(NOTIFY_RTO_BREACHED), "SalveRTOBreached");
        assert_string_equal(alertmanager_alertname(NOTIFY_RUN_STARTED), "SalveRecoveryInProgress");
        assert_string_equal(alertmanager_alertname(NOTIFY_RUN_FINISHED), "SalveRecoveryInProgress");
        assert_null(alertmanager_alertname(_NOTIFY_EVENT_MAX));

        assert_int_equal(alertmanager_labels(h, &l), 0);
        assert_int_equal(strv_length(l), 6);
        assert_string_equal(l[0], "alertname=SalveHumanNeeded");
        assert_string_equal(l[1], "instance=host1");
        assert_string_equal(l[2], "salve_plan=db-restore");
        assert_string_equal(l[3], "salve_run=db-restore-1");
        assert_string_equal(l[4], "salve_step=approve");
        assert_string_equal(l[5], "severity=critical");

        /* the step's end is the same alert (resolving it), whatever its own severity */
        d->severity = NOTIFY_SEVERITY_INFO;
        assert_int_equal(alertmanager_alert_key(h, &k1), 0);
        assert_int_equal(alertmanager_alert_key(d, &k2), 0);
        assert_string_equal(k1, "SalveHumanNeeded{instance=host1,salve_plan=db-restore,salve_run=db-restore-1,"
                                "salve_step=approve,severity=critical}");
        assert_string_equal(k1, k2);

        /* run alerts have no salve_step */
        assert_int_equal(alertmanager_labels(b, &l2), 0);
        assert_int_equal(strv_length(l2), 5);
        assert_string_equal(l2[4], "severity=critical");
        assert_int_equal(alertmanager_alert_key(b, &k3), 0);
        assert_string_equal(k3, "SalveRTOBreached{instance=host1,salve_plan=db-restore,salve_run=db-restore-1,"
                                "severity=critical}");
        /* a step alert without a step cannot be named */
        free(h->step_id);
        h->step_id = NULL;
        strv_free(l);
        l = NULL;
        assert_int_equal(alertmanager_labels(h, &l), -EINVAL);
}

static void test_alertmanager_format(void **state) {
        _cleanup_(notification_freep) Notification *n = human(NOTIFY_ACKNOWLEDGED), *b = run_level(NOTIFY_RUN_STARTED);
        _cleanup_(channel_request_done) ChannelRequest r = {}, r2 = {}, r3 = {};
        ChannelParams p = { .url = "http://alertmanager:9093/", .now = NOW, .ends_at = NOW + 15 * USEC_PER_MINUTE };

        n->actor = strdup("jane");
        assert_int_equal(channel_alertmanager.format(n, &p, &r), 0);
        assert_string_equal(r.url, "http://alertmanager:9093/api/v2/alerts");
        assert_int_equal(strv_length(r.headers), 1);
        assert_string_equal(r.headers[0], "Content-Type: application/json");
        assert_string_equal(r.body,
                            "[{\"labels\":{\"alertname\":\"SalveHumanNeeded\",\"instance\":\"host1\","
                            "\"salve_plan\":\"db-restore\",\"salve_run\":\"db-restore-1\",\"salve_step\":\"approve\","
                            "\"severity\":\"critical\"},"
                            "\"annotations\":{\"summary\":\"db-restore on host1: approve the restore needs jane\","
                            "\"description\":\"Check the backup's age, then approve.\","
                            "\"bridge\":\"https://meet.example/abc\",\"chat\":\"#db-oncall\","
                            "\"links\":\"https://runbooks.example/db\",\"acknowledged_by\":\"jane\"},"
                            "\"startsAt\":\"2025-12-02T14:00:00Z\",\"endsAt\":\"2025-12-02T14:16:30Z\"}]");

        /* resolved: endsAt is when it ended, now by default */
        b->units = strv_of("postgresql.service", "pgbouncer.service");
        p = (ChannelParams) { .url = "http://am:9093/api/v2/alerts", .now = NOW, .resolved = true };
        assert_int_equal(channel_alertmanager.format(b, &p, &r2), 0);
        assert_string_equal(r2.url, "http://am:9093/api/v2/alerts");
        {
                json_object *o = parse(&r2);
                assert_int_equal(json_object_array_length(o), 1);
                assert_string_equal(str_at(o, "0.labels.alertname"), "SalveRecoveryInProgress");
                assert_null(str_at(o, "0.labels.salve_step"));
                assert_string_equal(str_at(o, "0.labels.severity"), "warning");
                assert_string_equal(str_at(o, "0.endsAt"), "2025-12-02T14:01:30Z");
                assert_string_equal(str_at(o, "0.startsAt"), "2025-12-02T14:00:00Z");
                assert_null(str_at(o, "0.annotations.description"));
                assert_string_equal(str_at(o, "0.annotations.salve_units"), "postgresql.service pgbouncer.service");
                assert_null(obj_at(json_object_array_get_idx(o, 0), "generatorURL"));
                json_object_put(o);
        }
        p.ends_at = NOW - USEC_PER_MINUTE;
        assert_int_equal(channel_alertmanager.format(b, &p, &r3), 0);
        assert_non_null(strstr(r3.body, "\"endsAt\":\"2025-12-02T14:00:30Z\""));

        ChannelRequest bad = {};
        p.url = NULL;
        assert_int_equal(channel_alertmanager.format(b, &p, &bad), -EINVAL);
}

static void test_alertmanager_classify(void **state) {
        static const StatusCase cases[] = {
                { 200, DELIVERY_OK },    { 0, DELIVERY_RETRY },   { 500, DELIVERY_RETRY }, { 503, DELIVERY_RETRY },
                { 429, DELIVERY_RETRY }, { 408, DELIVERY_RETRY }, { 400, DELIVERY_DEAD },  { 404, DELIVERY_DEAD },
                { 401, DELIVERY_DEAD },  { 302, DELIVERY_DEAD },
        };
        _cleanup_free_ char *reason = NULL, *reason2 = NULL, *reason3 = NULL;
        const char *am = "\"start time must be before end time\"\n";

        check_statuses(&channel_alertmanager, cases, ELEMENTSOF(cases));
        assert_int_equal(channel_alertmanager.classify(400, am, strlen(am), &reason), DELIVERY_DEAD);
        assert_string_equal(reason, "HTTP 400: start time must be before end time");
        assert_int_equal(channel_alertmanager.classify(400, "{\"code\":400,\"message\":\"bad alert\"}", 34, &reason2),
                         DELIVERY_DEAD);
        assert_string_equal(reason2, "HTTP 400: bad alert");
        assert_int_equal(channel_alertmanager.classify(0, NULL, 0, &reason3), DELIVERY_RETRY);
        assert_string_equal(reason3, "no reply (the request did not complete)");
}

/* ---- pagerduty ---- */

static void test_pagerduty_trigger(void **state) {
        _cleanup_(notification_freep) Notification *n = human(NOTIFY_ESCALATED);
        _cleanup_(channel_request_done) ChannelRequest r = {};
        const ChannelParams p = { .routing_key = "R0123456789abcdef0123456789abcde", .now = NOW };
        json_object *o, *links, *esc;

        n->level = 1;
        assert_int_equal(channel_pagerduty.format(n, &p, &r), 0);
        assert_string_equal(r.url, "https://events.pagerduty.com/v2/enqueue");
        assert_int_equal(strv_length(r.headers), 1);
        assert_string_equal(r.headers[0], "Content-Type: application/json");
        o = parse(&r);
        assert_string_equal(str_at(o, "routing_key"), "R0123456789abcdef0123456789abcde");
        assert_string_equal(str_at(o, "event_action"), "trigger");
        assert_string_equal(str_at(o, "dedup_key"), "salve/host1/db-restore-1/approve");
        assert_string_equal(str_at(o, "client"), "salve");
        assert_string_equal(str_at(o, "payload.summary"), "db-restore on host1: approve the restore needs jane");
        assert_string_equal(str_at(o, "payload.source"), "host1");
        assert_string_equal(str_at(o, "payload.severity"), "critical");
        assert_string_equal(str_at(o, "payload.timestamp"), "2025-12-02T14:00:00Z");
        assert_string_equal(str_at(o, "payload.component"), "db-restore");
        assert_string_equal(str_at(o, "payload.group"), "db-restore-1");
        assert_string_equal(str_at(o, "payload.class"), "human");
        assert_string_equal(str_at(o, "payload.custom_details.instructions"), "Check the backup's age, then approve.");
        assert_string_equal(str_at(o, "payload.custom_details.bridge"), "https://meet.example/abc");
        assert_string_equal(str_at(o, "payload.custom_details.chat"), "#db-oncall");
        assert_string_equal(str_at(o, "payload.custom_details.rto"), "30m");
        assert_string_equal(str_at(o, "payload.custom_details.step_position"), "3 of 7");
        assert_string_equal(str_at(o, "payload.custom_details.event"), "escalated");
        assert_string_equal(str_at(o, "payload.custom_details.recipients.0.name"), "jane");
        assert_string_equal(str_at(o, "payload.custom_details.recipients.0.contacts.0"), "pagerduty=PXXXXXX");
        esc = obj_at(obj_at(obj_at(o, "payload"), "custom_details"), "escalation");
        assert_int_equal(json_object_get_int(obj_at(esc, "level")), 1);
        assert_int_equal(json_object_get_int(obj_at(esc, "levels")), 2);
        assert_int_equal(json_object_get_int(obj_at(esc, "round")), 1);
        assert_string_equal(json_object_get_string(obj_at(esc, "ack_timeout")), "10m");
        links = obj_at(o, "links");
        assert_int_equal(json_object_array_length(links), 2);      /* the chat is no URL */
        assert_string_equal(str_at(o, "links.0.href"), "https://runbooks.example/db");
        assert_string_equal(str_at(o, "links.1.href"), "https://meet.example/abc");
        assert_string_equal(str_at(o, "links.1.text"), "Conference bridge");
        json_object_put(o);
}

static void test_pagerduty_actions(void **state) {
        const ChannelParams p = { .routing_key = "RK", .url = "https://pd.proxy.example/v2/enqueue", .now = NOW };
        static const struct {
                NotifyEvent e;
                const char *action;
        } map[] = {
                { NOTIFY_HUMAN_NEEDED, "trigger" },  { NOTIFY_ESCALATED, "trigger" },   { NOTIFY_UNANSWERED, "trigger" },
                { NOTIFY_STEP_FAILED, "trigger" },   { NOTIFY_RTO_BREACHED, "trigger" }, { NOTIFY_ACKNOWLEDGED, "acknowledge" },
                { NOTIFY_HUMAN_DONE, "resolve" },    { NOTIFY_RUN_FINISHED, "resolve" }, { NOTIFY_RUN_STARTED, "change" },
                { NOTIFY_REMINDER, "change" },       { NOTIFY_RTO_AT_RISK, "change" },
        };

        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                assert_string_equal(pagerduty_event_action(map[i].e), map[i].action);

        /* acknowledge and resolve: only what PagerDuty reads */
        {
                _cleanup_(notification_freep) Notification *n = human(NOTIFY_ACKNOWLEDGED);
                _cleanup_(channel_request_done) ChannelRequest r = {};
                assert_int_equal(channel_pagerduty.format(n, &p, &r), 0);
                assert_string_equal(r.url, "https://pd.proxy.example/v2/enqueue");
                assert_string_equal(r.body, "{\"routing_key\":\"RK\",\"event_action\":\"acknowledge\","
                                            "\"dedup_key\":\"salve/host1/db-restore-1/approve\"}");
        }
        {
                _cleanup_(notification_freep) Notification *n = run_level(NOTIFY_RUN_FINISHED);
                _cleanup_(channel_request_done) ChannelRequest r = {}, r2 = {};
                assert_int_equal(channel_pagerduty.format(n, &p, &r), 0);
                assert_string_equal(r.body, "{\"routing_key\":\"RK\",\"event_action\":\"resolve\","
                                            "\"dedup_key\":\"salve/host1/db-restore-1\"}");
                /* once per step with an incident */
                n->step_id = strdup("restore");
                assert_int_equal(channel_pagerduty.format(n, &p, &r2), 0);
                assert_non_null(strstr(r2.body, "\"dedup_key\":\"salve/host1/db-restore-1/restore\""));
        }
        /* run-level trigger */
        {
                _cleanup_(notification_freep) Notification *n = run_level(NOTIFY_RTO_BREACHED);
                _cleanup_(channel_request_done) ChannelRequest r = {};
                json_object *o;
                assert_int_equal(channel_pagerduty.format(n, &p, &r), 0);
                o = parse(&r);
                assert_string_equal(str_at(o, "dedup_key"), "salve/host1/db-restore-1");
                assert_string_equal(str_at(o, "payload.class"), "run");
                assert_string_equal(str_at(o, "payload.severity"), "critical");
                assert_null(obj_at(o, "links"));
                json_object_put(o);
        }
        /* change events go to the change endpoint, without incident fields */
        {
                _cleanup_(notification_freep) Notification *n = run_level(NOTIFY_RUN_STARTED);
                _cleanup_(channel_request_done) ChannelRequest r = {}, r2 = {};
                ChannelParams q = p;
                json_object *o;
                assert_int_equal(channel_pagerduty.format(n, &p, &r), 0);
                assert_string_equal(r.url, "https://pd.proxy.example/v2/change/enqueue");
                o = parse(&r);
                assert_null(obj_at(o, "event_action"));
                assert_null(obj_at(o, "dedup_key"));
                assert_null(str_at(o, "payload.severity"));
                assert_string_equal(str_at(o, "payload.source"), "host1");
                assert_string_equal(str_at(o, "payload.summary"), n->summary);
                json_object_put(o);
                q.url = NULL;
                assert_int_equal(channel_pagerduty.format(n, &q, &r2), 0);
                assert_string_equal(r2.url, "https://events.pagerduty.com/v2/change/enqueue");
        }
        /* no routing key: never sendable */
        {
                _cleanup_(notification_freep) Notification *n = run_level(NOTIFY_RTO_BREACHED);
                ChannelRequest r = {};
                ChannelParams q = p;
                q.routing_key = NULL;
                assert_int_equal(channel_pagerduty.format(n, &q, &r), -EINVAL);
                q.routing_key = "";
                assert_int_equal(channel_pagerduty.format(n, &q, &r), -EINVAL);
        }
}

static void test_pagerduty_summary_cut(void **state) {
        _cleanup_(notification_freep) Notification *n = run_level(NOTIFY_RTO_BREACHED);
        const ChannelParams p = { .routing_key = "RK", .now = NOW };
        char big[1200];
        bool nul;

        /* 1022 ASCII bytes, then "€" (3 bytes) straddling 1024 */
        memset(big, 'x', 1022);
        strcpy(big + 1022, "\xe2\x82\xac tail");
        for (size_t shift = 0; shift < 4; shift++) {
                _cleanup_(channel_request_done) ChannelRequest r = {};
                json_object *o;
                const char *s;
                free(n->summary);
                n->summary = strdup(big + shift);
                assert_int_equal(channel_pagerduty.format(n, &p, &r), 0);
                o = parse(&r);
                s = str_at(o, "payload.summary");
                assert_true(strlen(s) <= 1024);
                assert_true(utf8_first_invalid(s, strlen(s), &nul) < 0);
                assert_true(strncmp(s, big + shift, strlen(s)) == 0);
                /* shift 0: the euro would end at 1025, so it goes; from shift 1 on it fits */
                assert_int_equal(strlen(s), shift == 0 ? 1022 : 1024);
                json_object_put(o);
        }
        /* no summary: one is made */
        {
                _cleanup_(channel_request_done) ChannelRequest r = {};
                json_object *o;
                n->summary = mfree(n->summary);
                assert_int_equal(channel_pagerduty.format(n, &p, &r), 0);
                o = parse(&r);
                assert_string_equal(str_at(o, "payload.summary"), "db-restore on host1: rto-breached");
                json_object_put(o);
        }
}

static void test_pagerduty_dedup_key(void **state) {
        _cleanup_(notification_freep) Notification *n = human(NOTIFY_HUMAN_NEEDED);
        _cleanup_free_ char *k = NULL, *k2 = NULL;
        char step[300];

        assert_int_equal(pagerduty_dedup_key(n, &k), 0);
        assert_string_equal(k, "salve/host1/db-restore-1/approve");
        memset(step, 's', sizeof step - 1);
        step[sizeof step - 1] = 0;
        free(n->step_id);
        n->step_id = strdup(step);
        assert_int_equal(pagerduty_dedup_key(n, &k2), 0);
        assert_true(string_has_prefix(k2, "salve/sha256/"));
        assert_int_equal(strlen(k2), strlen("salve/sha256/") + 64);
}

static void test_pagerduty_classify(void **state) {
        static const StatusCase cases[] = {
                { 202, DELIVERY_OK },    { 200, DELIVERY_OK },    { 0, DELIVERY_RETRY },   { 429, DELIVERY_RETRY },
                { 500, DELIVERY_RETRY }, { 502, DELIVERY_RETRY }, { 408, DELIVERY_RETRY }, { 400, DELIVERY_DEAD },
                { 401, DELIVERY_DEAD },  { 403, DELIVERY_DEAD },  { 404, DELIVERY_DEAD },  { 413, DELIVERY_DEAD },
                { 301, DELIVERY_DEAD },
        };
        const char *pd = "{\"status\":\"invalid event\",\"message\":\"Event object is invalid\","
                         "\"errors\":[\"Length of 'routing_key' is incorrect (should be 32 characters)\"]}";
        _cleanup_free_ char *reason = NULL, *ok = NULL;

        check_statuses(&channel_pagerduty, cases, ELEMENTSOF(cases));
        assert_int_equal(channel_pagerduty.classify(400, pd, strlen(pd), &reason), DELIVERY_DEAD);
        assert_string_equal(reason, "HTTP 400: Event object is invalid; Length of 'routing_key' is incorrect "
                                    "(should be 32 characters)");
        assert_int_equal(channel_pagerduty.classify(202, "{\"status\":\"success\"}", 20, &ok), DELIVERY_OK);
        assert_null(ok);
}

/* ---- replies nobody should send ---- */

static void check_reason(const char *reason) {
        bool nul;

        assert_non_null(reason);
        assert_true(strlen(reason) <= 320);
        assert_true(utf8_first_invalid(reason, strlen(reason), &nul) < 0);
        for (const char *c = reason; *c; c++)
                assert_true((unsigned char) *c >= 0x20 && *c != 0x7f);
}

static void test_malformed_replies(void **state) {
        const ChannelOps *ops[] = { &channel_webhook, &channel_alertmanager, &channel_pagerduty };
        _cleanup_free_ char *huge = malloc(1 << 20), *deep = malloc(20001);
        static const char *const bodies[] = {
                "<html><body>502 Bad Gateway</body></html>\r\n",
                "\xff\xfe\xfd not utf-8 \xc3",
                "{\"message\":5,\"errors\":\"not a list\"}",
                "{\"message\":\"ok\",\"errors\":[1,null,{\"a\":1},\"real one\"]}",
                "[\"a\",\"b\"]",
                "null",
                "{\"message\":\"a\\u0000b\"}",
                "{\"message\":\"\\ud800\"}",
                "{\"message\":\"line\\none\\ttab\\u001b[31m\"}",
                "\"\"",
                "{",
                "",
        };

        memset(huge, 'A', 1 << 20);
        memcpy(huge, "{\"message\":\"", 12);
        for (size_t i = 0; i < 10000; i++)
                deep[i] = '[';
        for (size_t i = 10000; i < 20000; i++)
                deep[i] = ']';
        deep[20000] = 0;

        for (size_t o = 0; o < ELEMENTSOF(ops); o++)
                for (long status = 400; status <= 500; status += 100) {
                        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                                _cleanup_free_ char *reason = NULL;
                                (void) ops[o]->classify(status, bodies[i], strlen(bodies[i]), &reason);
                                check_reason(reason);
                        }
                        _cleanup_free_ char *r1 = NULL, *r2 = NULL, *r3 = NULL;
                        (void) ops[o]->classify(status, huge, 1 << 20, &r1);
                        check_reason(r1);
                        (void) ops[o]->classify(status, deep, 20000, &r2);
                        check_reason(r2);
                        (void) ops[o]->classify(status, "abc\0def", 7, &r3);   /* a NUL inside */
                        check_reason(r3);
                }

        {
                _cleanup_free_ char *r = NULL;
                const char *b = "{\"message\":\"line\\none\\ttab\"}";
                (void) channel_webhook.classify(400, b, strlen(b), &r);
                assert_string_equal(r, "HTTP 400: line one tab");
        }
        {
                _cleanup_free_ char *r = NULL;
                const char *b = "{\"message\":\"ok\",\"errors\":[1,null,{\"a\":1},\"real one\"]}";
                (void) channel_pagerduty.classify(400, b, strlen(b), &r);
                assert_string_equal(r, "HTTP 400: ok; real one");
        }
        {
                _cleanup_free_ char *r = NULL;
                (void) channel_pagerduty.classify(400, "\xff" "abc", 4, &r);
                assert_string_equal(r, "HTTP 400: ?abc");
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_find),
                cmocka_unit_test(test_utf8_cut),
                cmocka_unit_test(test_webhook_format),
                cmocka_unit_test(test_webhook_format_raw_and_none),
                cmocka_unit_test(test_webhook_classify),
                cmocka_unit_test(test_alertmanager_labels),
                cmocka_unit_test(test_alertmanager_format),
                cmocka_unit_test(test_alertmanager_classify),
                cmocka_unit_test(test_pagerduty_trigger),
                cmocka_unit_test(test_pagerduty_actions),
                cmocka_unit_test(test_pagerduty_summary_cut),
                cmocka_unit_test(test_pagerduty_dedup_key),
                cmocka_unit_test(test_pagerduty_classify),
                cmocka_unit_test(test_malformed_replies),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
