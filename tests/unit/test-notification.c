/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "notification.h"
#include "strv.h"

#define T0 ((usec_t) 1764684000 * USEC_PER_SEC)        /* 2025-12-02T14:00:00Z */

static char **strv_of(const char *a, const char *b) {
        char **l = NULL;
        assert_int_equal(strv_extend(&l, a), 0);
        if (b)
                assert_int_equal(strv_extend(&l, b), 0);
        return l;
}

/* Every member set, none to its default, so a member that JSON forgets fails. */
static Notification *full(void) {
        Notification *n = calloc(1, sizeof(Notification));

        assert_non_null(n);
        *n = (Notification) {
                .event = NOTIFY_ESCALATED,
                .severity = NOTIFY_SEVERITY_ERROR,
                .key = strdup("salve/host1/db-restore-1/approve/1/escalated/1/2"),
                .at = T0 + 123456,
                .host = strdup("host1"),
                .machine_id = strdup("0123456789abcdef0123456789abcdef"),
                .plan = strdup("db-restore"),
                .plan_description = strdup("Restore the \"orders\" database / from backup"),
                .run_id = strdup("db-restore-1"),
                .trigger = strdup("unit-failed:postgresql.service"),
                .reason = strdup("exit-code"),
                .run_state = strdup("waiting"),
                .summary = strdup("db-restore on host1: approve needs jane (level 1, round 2) \xe2\x80\x94 caf\xc3\xa9"),
                .trigger_time = T0 - 60 * USEC_PER_SEC,
                .rto = 30 * USEC_PER_MINUTE,
                .deadline = T0 + 29 * USEC_PER_MINUTE,
                .projected = T0 + 31 * USEC_PER_MINUTE + 7,
                .rto_state = strdup("at-risk"),
                .step_id = strdup("approve"),
                .step_kind = strdup("human"),
                .step_description = strdup("Approve the restore"),
                .instructions = strdup("Check the backup age.\nThen approve.\t(tab)"),
                .links = strv_of("https://runbooks.example/db", "https://grafana.example/d/1"),
                .bridge = strdup("https://meet.example/abc"),
                .chat = strdup("#db-oncall"),
                .step_position = 3,
                .n_steps = 7,
                .needs = strv_of("stop-app", "snapshot"),
                .message = strdup("waiting for approval"),
                .level = 1,
                .round = 2,
                .n_levels = 3,
                .rounds = 2,
                .ack_timeout = 10 * USEC_PER_MINUTE,
                .actor = strdup("pagerduty:Jane Doe"),
                .action = strdup("approve"),
                .comment = strdup("looks fine"),
                .units = strv_of("postgresql.service", NULL),
        };
        n->recipients = calloc(2, sizeof(NotifyRecipient));
        assert_non_null(n->recipients);
        n->n_recipients = 2;
        n->recipients[0] = (NotifyRecipient) { .name = strdup("jane"), .display = strdup("Jane Doe"),
                                               .contacts = strv_of("email=jane@example.com", "pagerduty=PXXXXXX"),
                                               .level = 1 };
        n->recipients[1] = (NotifyRecipient) { .name = strdup("bob"), .level = 1 };
        return n;
}

static void assert_strv_equal(char **a, char **b) {
        assert_int_equal(strv_length(a), strv_length(b));
        for (size_t i = 0; i < strv_length(a); i++)
                assert_string_equal(a[i], b[i]);
}

#define ASSERT_STR(a, b) \
        do { if (!(a) || !(b)) assert_ptr_equal(a, b); else assert_string_equal(a, b); } while (0)

static void assert_notification_equal(const Notification *a, const Notification *b) {
        assert_int_equal(a->event, b->event);
        assert_int_equal(a->severity, b->severity);
        ASSERT_STR(a->key, b->key);
        assert_true(a->at == b->at);
        ASSERT_STR(a->host, b->host);
        ASSERT_STR(a->machine_id, b->machine_id);
        ASSERT_STR(a->plan, b->plan);
        ASSERT_STR(a->plan_description, b->plan_description);
        ASSERT_STR(a->run_id, b->run_id);
        ASSERT_STR(a->trigger, b->trigger);
        ASSERT_STR(a->reason, b->reason);
        ASSERT_STR(a->run_state, b->run_state);
        ASSERT_STR(a->summary, b->summary);
        assert_true(a->trigger_time == b->trigger_time);
        assert_true(a->rto == b->rto);
        assert_true(a->deadline == b->deadline);
        assert_true(a->projected == b->projected);
        ASSERT_STR(a->rto_state, b->rto_state);
        ASSERT_STR(a->step_id, b->step_id);
        ASSERT_STR(a->step_kind, b->step_kind);
        ASSERT_STR(a->step_description, b->step_description);
        ASSERT_STR(a->instructions, b->instructions);
        assert_strv_equal(a->links, b->links);
        ASSERT_STR(a->bridge, b->bridge);
        ASSERT_STR(a->chat, b->chat);
        assert_int_equal(a->step_position, b->step_position);
        assert_int_equal(a->n_steps, b->n_steps);
        assert_strv_equal(a->needs, b->needs);
        ASSERT_STR(a->message, b->message);
        assert_int_equal(a->level, b->level);
        assert_int_equal(a->round, b->round);
        assert_int_equal(a->n_levels, b->n_levels);
        assert_int_equal(a->rounds, b->rounds);
        assert_true(a->ack_timeout == b->ack_timeout);
        ASSERT_STR(a->actor, b->actor);
        ASSERT_STR(a->action, b->action);
        ASSERT_STR(a->comment, b->comment);
        assert_strv_equal(a->units, b->units);
        assert_int_equal(a->n_recipients, b->n_recipients);
        for (size_t i = 0; i < a->n_recipients; i++) {
                ASSERT_STR(a->recipients[i].name, b->recipients[i].name);
                ASSERT_STR(a->recipients[i].display, b->recipients[i].display);
                assert_strv_equal(a->recipients[i].contacts, b->recipients[i].contacts);
                assert_int_equal(a->recipients[i].level, b->recipients[i].level);
        }
}

static void test_tables(void **state) {
        for (NotifyEvent e = 0; e < _NOTIFY_EVENT_MAX; e++) {
                const char *s = notify_event_to_string(e);
                assert_non_null(s);
                assert_int_equal(notify_event_from_string(s), e);
                assert_true(notify_event_default_severity(e) >= 0);
        }
        assert_string_equal(notify_event_to_string(NOTIFY_RTO_AT_RISK), "rto-at-risk");
        assert_string_equal(notify_event_to_string(NOTIFY_HUMAN_NEEDED), "human-needed");
        assert_int_equal(notify_event_from_string("nope"), -EINVAL);
        assert_int_equal(notify_event_from_string(NULL), -EINVAL);
        assert_null(notify_event_to_string(_NOTIFY_EVENT_MAX));
        assert_null(notify_event_to_string(-1));
        for (NotifySeverity s = 0; s < _NOTIFY_SEVERITY_MAX; s++)
                assert_int_equal(notify_severity_from_string(notify_severity_to_string(s)), s);
        assert_int_equal(notify_severity_from_string("fatal"), -EINVAL);

        assert_int_equal(notify_event_default_severity(NOTIFY_HUMAN_NEEDED), NOTIFY_SEVERITY_CRITICAL);
        assert_int_equal(notify_event_default_severity(NOTIFY_UNANSWERED), NOTIFY_SEVERITY_CRITICAL);
        assert_int_equal(notify_event_default_severity(NOTIFY_RTO_BREACHED), NOTIFY_SEVERITY_CRITICAL);
        assert_int_equal(notify_event_default_severity(NOTIFY_STEP_FAILED), NOTIFY_SEVERITY_ERROR);
        assert_int_equal(notify_event_default_severity(NOTIFY_ACKNOWLEDGED), NOTIFY_SEVERITY_INFO);
        assert_int_equal(notify_event_default_severity(_NOTIFY_EVENT_MAX), _NOTIFY_SEVERITY_INVALID);

        assert_true(notify_event_is_human(NOTIFY_HUMAN_NEEDED));
        assert_true(notify_event_is_human(NOTIFY_UNANSWERED));
        assert_true(notify_event_is_human(NOTIFY_HUMAN_DONE));
        assert_false(notify_event_is_human(NOTIFY_STEP_FAILED));
        assert_false(notify_event_is_human(NOTIFY_RUN_STARTED));
}

static void test_time(void **state) {
        char buf[NOTIFY_TIME_MAX];
        usec_t t;

        assert_string_equal(notify_format_time(buf, T0), "2025-12-02T14:00:00Z");
        assert_string_equal(notify_format_time(buf, T0 + 5), "2025-12-02T14:00:00.000005Z");
        assert_string_equal(notify_format_time(buf, 0), "1970-01-01T00:00:00Z");
        assert_null(notify_format_time(buf, USEC_INFINITY));
        assert_int_equal(notify_parse_time("2025-12-02T14:00:00.000005Z", &t), 0);
        assert_true(t == T0 + 5);
        assert_int_equal(notify_parse_time("2024-02-29T23:59:59Z", &t), 0);
        assert_int_equal(notify_parse_time("2025-02-29T00:00:00Z", &t), -EINVAL);
        assert_int_equal(notify_parse_time("2025-12-02T14:00:00", &t), -EINVAL);
        assert_int_equal(notify_parse_time("2025-12-02T14:00:00.5Z", &t), -EINVAL);
        assert_int_equal(notify_parse_time("2025-12-02 14:00:00Z", &t), -EINVAL);
        assert_int_equal(notify_parse_time("2025-13-02T14:00:00Z", &t), -EINVAL);
        assert_int_equal(notify_parse_time("2025-12-02T14:00:00Zx", &t), -EINVAL);
        assert_int_equal(notify_parse_time("", &t), -EINVAL);
}

static void test_roundtrip(void **state) {
        _cleanup_(notification_freep) Notification *n = full(), *back = NULL, *c = NULL;
        _cleanup_free_ char *json = NULL, *json2 = NULL;
        const char *error = "unset";

        assert_int_equal(notification_to_json(n, &json), 0);
        assert_int_equal(notification_from_json(json, &back, &error), 0);
        assert_null(error);
        assert_notification_equal(n, back);
        /* stable: the same text again */
        assert_int_equal(notification_to_json(back, &json2), 0);
        assert_string_equal(json, json2);

        assert_int_equal(notification_copy(n, &c), 0);
        assert_notification_equal(n, c);
        assert_ptr_not_equal(c->key, n->key);
        assert_ptr_not_equal(c->links, n->links);
        assert_ptr_not_equal(c->recipients, n->recipients);
        assert_ptr_not_equal(c->recipients[0].contacts, n->recipients[0].contacts);

        /* the wire form of a few members */
        assert_non_null(strstr(json, "\"event\":\"escalated\""));
        assert_non_null(strstr(json, "\"at\":\"2025-12-02T14:00:00.123456Z\""));
        assert_non_null(strstr(json, "\"rto_usec\":1800000000"));
        assert_non_null(strstr(json, "\"plan_description\":\"Restore the \\\"orders\\\" database / from backup\""));
        assert_non_null(strstr(json, "caf\xc3\xa9"));   /* UTF-8 as is */
        assert_non_null(strstr(json, "\"recipients\":[{\"name\":\"jane\",\"display\":\"Jane Doe\","));
}

static void test_roundtrip_minimal(void **state) {
        _cleanup_(notification_freep) Notification *n = calloc(1, sizeof(Notification)), *back = NULL;
        _cleanup_free_ char *json = NULL;

        n->event = NOTIFY_RUN_STARTED;
        n->severity = NOTIFY_SEVERITY_WARNING;
        n->key = strdup("salve/h/r/run-started");
        n->at = T0;
        n->host = strdup("h");
        n->plan = strdup("p");
        n->run_id = strdup("r");
        n->ack_timeout = USEC_INFINITY;
        n->rto = USEC_INFINITY;                 /* a plan without rto, as the relay builds it */
        n->deadline = USEC_INFINITY;
        n->projected = USEC_INFINITY;
        assert_int_equal(notification_to_json(n, &json), 0);
        assert_non_null(strstr(json, "\"rto_usec\":null"));
        assert_non_null(strstr(json, "\"machine_id\":null"));
        assert_non_null(strstr(json, "\"ack_timeout_usec\":null"));
        assert_non_null(strstr(json, "\"deadline\":null"));
        assert_non_null(strstr(json, "\"links\":[]"));
        assert_int_equal(notification_from_json(json, &back, NULL), 0);
        assert_notification_equal(n, back);

        /* a required time of 0 is still written, so the record can be read back */
        {
                _cleanup_(notification_freep) Notification *z = NULL;
                _cleanup_free_ char *zj = NULL;
                n->at = 0;
                assert_int_equal(notification_to_json(n, &zj), 0);
                assert_non_null(strstr(zj, "\"at\":\"1970-01-01T00:00:00Z\""));
                assert_int_equal(notification_from_json(zj, &z, NULL), 0);
                assert_true(z->at == 0);
                n->at = T0;
        }

        /* absent optional members read as unset */
        back = notification_free(back);
        assert_int_equal(notification_from_json("{\"event\":\"run-started\",\"severity\":\"warning\","
                                                "\"key\":\"salve/h/r/run-started\",\"at\":\"2025-12-02T14:00:00Z\","
                                                "\"host\":\"h\",\"plan\":\"p\",\"run_id\":\"r\"}",
                                                &back, NULL),
                         0);
        assert_notification_equal(n, back);
}

static void test_invalid_utf8_written_clean(void **state) {
        _cleanup_(notification_freep) Notification *n = full(), *back = NULL;
        _cleanup_free_ char *json = NULL;

        free(n->message);
        n->message = strdup("exit \xff\xfe status \xe2\x82");    /* bytes from a program's output */
        assert_int_equal(notification_to_json(n, &json), 0);
        assert_int_equal(notification_from_json(json, &back, NULL), 0);
        assert_string_equal(back->message, "exit \xef\xbf\xbd\xef\xbf\xbd status \xef\xbf\xbd\xef\xbf\xbd");
}

static void test_refused(void **state) {
        _cleanup_(notification_freep) Notification *n = full();
        _cleanup_free_ char *json = NULL;
        static const struct {
                const char *member, *value, *field;
        } cases[] = {
                { "event", "\"exploded\"", "event" },
                { "event", "3", "event" },
                { "severity", "\"fatal\"", "severity" },
                { "key", "null", "key" },
                { "key", "\"\"", "key" },
                { "key", "7", "key" },
                { "at", "\"yesterday\"", "at" },
                { "at", "null", "at" },
                { "at", "1764684000", "at" },
                { "host", "[\"h\"]", "host" },
                { "level", "-1", "level" },
                { "level", "4294967296", "level" },
                { "level", "1.5", "level" },
                { "level", "\"1\"", "level" },
                { "rto_usec", "-5", "rto_usec" },
                { "rto_usec", "\"30m\"", "rto_usec" },
                { "links", "\"https://x\"", "links" },
                { "links", "[1]", "links" },
                { "links", "[null]", "links" },
                { "needs", "{}", "needs" },
                { "message", "\"a\\u0000b\"", "message" },
                { "summary", NULL, "summary" },                 /* > 1024 bytes */
                { "recipients", "{}", "recipients" },
                { "recipients", "[1]", "recipients" },
                { "recipients", "[{\"display\":\"x\"}]", "recipients.name" },
                { "recipients", "[{\"name\":\"x\",\"level\":\"0\"}]", "recipients.level" },
                { "recipients", "[{\"name\":\"x\",\"contacts\":[2]}]", "recipients.contacts" },
                { "recipients", "[{\"name\":\"x\",\"pager\":1}]", "recipients (an unknown member)" },
                { "surprise", "1", "(an unknown member)" },
        };
        char big[1100];

        assert_int_equal(notification_to_json(n, &json), 0);
        memset(big, 'x', sizeof big);
        big[0] = '"';
        big[sizeof big - 2] = '"';
        big[sizeof big - 1] = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(notification_freep) Notification *back = NULL;
                json_object *o = json_tokener_parse(json), *v = json_tokener_parse(cases[i].value ?: big);
                const char *error = NULL;

                assert_non_null(o);
                if (!v)
                        assert_string_equal(cases[i].value, "null");
                json_object_object_add(o, cases[i].member, v);
                assert_int_equal(notification_from_json(json_object_to_json_string(o), &back, &error), -EBADMSG);
                assert_null(back);
                assert_non_null(error);
                if (!streq(error, cases[i].field))
                        fail_msg("case %zu (%s=%s): error names %s, not %s", i, cases[i].member,
                                 cases[i].value ?: "(long)", error, cases[i].field);
                json_object_put(o);
        }

        /* a required member missing */
        {
                json_object *o = json_tokener_parse(json);
                Notification *back = NULL;
                const char *error = NULL;
                json_object_object_del(o, "run_id");
                assert_int_equal(notification_from_json(json_object_to_json_string(o), &back, &error), -EBADMSG);
                assert_string_equal(error, "run_id");
                json_object_put(o);
        }

        /* not a record at all */
        static const char *const texts[] = { "", "[]", "null", "\"x\"", "{", "{}garbage", "{} {}",
                                             "{\"event\":\"run-started\"}\xff", "{\"event\":\"caf\xc3\"}" };
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                Notification *back = NULL;
                const char *error = NULL;
                assert_int_equal(notification_from_json(texts[i], &back, &error), -EBADMSG);
                assert_null(back);
                assert_non_null(error);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tables),
                cmocka_unit_test(test_time),
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_roundtrip_minimal),
                cmocka_unit_test(test_invalid_utf8_written_clean),
                cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
