/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Triggers in plans: the formats the loader takes and refuses (with
 * file:line:col), the matcher's rules, restart windows, and the
 * ${trigger.NAME} variables: which a plan may use, how they expand, what
 * is never substituted, and what tells runs of one plan apart. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "plan-load.h"
#include "trigger-match.h"
#include "trigger-vars.h"

static Plan *load(const char *yaml, Diagnostics *d) {
        Plan *p = NULL;
        int r = plan_load_buffer("t.yaml", yaml, strlen(yaml), d, &p);
        return r >= 0 ? p : NULL;
}

static Plan *load_ok(const char *yaml) {
        Diagnostics d = {};
        Plan *p = load(yaml, &d);
        if (!p)
                for (size_t i = 0; i < d.n_items; i++)
                        fprintf(stderr, "%s\n", d.items[i].message);
        assert_non_null(p);
        diagnostics_done(&d);
        return p;
}

/* The plan fails to load and one error says `needle` at line:column. */
static void load_fails(const char *yaml, unsigned line, unsigned column, const char *needle) {
        Diagnostics d = {};
        bool found = false;

        assert_null(load(yaml, &d));
        for (size_t i = 0; i < d.n_items; i++) {
                if (d.items[i].level == DIAG_ERROR && strstr(d.items[i].message, needle)) {
                        if (d.items[i].line != line || d.items[i].column != column)
                                fprintf(stderr, "at %u:%u: %s\n", d.items[i].line, d.items[i].column,
                                        d.items[i].message);
                        assert_int_equal(d.items[i].line, line);
                        assert_int_equal(d.items[i].column, column);
                        found = true;
                }
        }
        if (!found)
                for (size_t i = 0; i < d.n_items; i++)
                        fprintf(stderr, "got: %u:%u %s\n", d.items[i].line, d.items[i].column, d.items[i].message);
        assert_true(found);
        diagnostics_done(&d);
}

#define STEPS "steps:\n  - {id: s, run: unit.restart, with: {unit: \"${trigger.unit}\"}}\n"

static const char *plan_any_service =
        "plan: any\n"
        "trigger:\n"
        "  - unit: {name: \"*.service\", state: failed, result: [exit-code, oom-kill]}\n"
        "  - unit: {name: flappy.service, restarts: 3, within: 10m}\n"
        "  - manual\n"
        "steps:\n"
        "  - {id: s, run: unit.restart, with: {unit: \"${trigger.unit}\"}}\n"
        "  - {id: log, run: exec, with: {command: [/bin/echo, \"${trigger.unit} failed: ${trigger.result}\"]}}\n";

static void test_load_trigger_formats(void **state) {
        _cleanup_(plan_freep) Plan *p = load_ok(plan_any_service);
        _cleanup_(plan_freep) Plan *q = NULL;

        assert_int_equal(p->n_triggers, 3);
        assert_string_equal(p->triggers[0].name, "*.service");
        assert_string_equal(p->triggers[0].event, "failed");
        assert_true(strv_contains(p->triggers[0].result, "oom-kill"));
        assert_int_equal(p->triggers[1].restarts, 3);
        assert_int_equal(p->triggers[1].within, 10 * 60 * USEC_PER_SEC);
        assert_null(p->triggers[1].event);
        assert_int_equal(p->trigger_limit_burst, PLAN_TRIGGER_LIMIT_BURST_DEFAULT);
        assert_int_equal(p->settle, 0);

        q = load_ok("plan: more\n"
                    "trigger:\n"
                    "  - raid: {array: \"*\", event: resync-pending}\n"
                    "  - device: {match: UUID=1234-ABCD, event: removed}\n"
                    "  - link: {name: \"eth*\", state: lower-layer-down}\n"
                    "trigger-limit: {burst: 2, interval: 5m}\n"
                    "settle: 2s\n"
                    "steps:\n  - {id: s, run: exec, with: {command: [\"/bin/echo\", \"${trigger.array}${trigger.uuid}${trigger.link}\"]}}\n");
        assert_int_equal(q->triggers[1].kind, TRIGGER_DEVICE);
        assert_string_equal(q->triggers[1].name, "UUID=1234-ABCD");
        assert_int_equal(q->trigger_limit_burst, 2);
        assert_int_equal(q->trigger_limit_interval, 5 * 60 * USEC_PER_SEC);
        assert_int_equal(q->settle, 2 * USEC_PER_SEC);
}

static void test_load_trigger_errors(void **state) {
        load_fails("plan: x\ntrigger:\n  - unit: {name: a.service, restarts: 3}\n" STEPS, 3, 39,
                   "\"restarts\" and \"within\" go together");
        load_fails("plan: x\ntrigger:\n  - unit: {name: a.service, state: failed, result: [oops]}\n" STEPS, 3, 52,
                   "unknown Result \"oops\"");
        load_fails("plan: x\ntrigger:\n  - raid: {array: md0, event: failed}\n" STEPS, 3, 31,
                   "\"failed\" is now called \"disk-failed\"");
        load_fails("plan: x\ntrigger:\n  - device: {match: sdb1}\n" STEPS, 3, 21, "is not a device match");
        load_fails("plan: x\ntrigger:\n  - link: {name: eth0, state: flapping}\n" STEPS, 3, 31, "trigger.link.state");
        /* a variable none of the triggers sets */
        load_fails("plan: x\ntrigger:\n  - link: {name: eth0, state: down}\n" STEPS, 5, 45,
                   "${trigger.unit}: none of this plan's triggers sets it");
        load_fails("plan: x\ntrigger: [manual]\n" STEPS, 4, 45, "none of this plan's triggers sets it");
        load_fails("plan: x\ntrigger:\n  - unit: {name: a.service}\n"
                   "steps:\n  - {id: s, run: exec, with: {command: [/bin/echo, \"${trigger.nope}\"]}}\n",
                   5, 52, "unknown variable ${trigger.nope}");
        load_fails("plan: x\ntrigger:\n  - unit: {name: a.service}\n"
                   "steps:\n  - {id: s, run: exec, with: {command: [/bin/echo, \"${trigger.unit\"]}}\n",
                   5, 52, "a trigger variable is written ${trigger.NAME}");
        {
                /* a shell's own ${...} is not salve's */
                _cleanup_(plan_freep) Plan *sh = load_ok(
                        "plan: x\nsteps:\n  - {id: s, run: exec, with: {command: [/bin/sh, -c, \"echo ${HOME} $${x}\"]}}\n");
                assert_string_equal(step_get_arg(sh->steps, "command")->strv[2], "echo ${HOME} $${x}");
        }
        load_fails("plan: x\ntrigger:\n  - unit: {name: a.service}\ntrigger-limit: {burst: 2, every: 1m}\n" STEPS, 4,
                   27, "unknown key \"every\"");
}

static TriggerEvent unit_event(const char *name, const char *event, const char *result) {
        return (TriggerEvent) { .kind = TRIGGER_UNIT, .name = name, .event = event, .result = result };
}

static void test_match_rules(void **state) {
        _cleanup_(plan_freep) Plan *p = load_ok(plan_any_service);
        TriggerEvent ev;

        ev = unit_event("web.service", "failed", "exit-code");
        assert_true(trigger_matches(p->triggers + 0, &ev));
        ev = unit_event("web.service", "failed", "signal");             /* not in result: */
        assert_false(trigger_matches(p->triggers + 0, &ev));
        ev = unit_event("web.socket", "failed", "exit-code");           /* glob */
        assert_false(trigger_matches(p->triggers + 0, &ev));
        ev = unit_event("salve-any-1-s-1.service", "failed", "exit-code");  /* salve's own exec step */
        assert_false(trigger_matches(p->triggers + 0, &ev));
        ev = unit_event("web.service", "inactive", NULL);
        assert_false(trigger_matches(p->triggers + 0, &ev));
        ev = unit_event("web.service", "failed", "exit-code");
        ev.initial = true;                                              /* failed at start: fires */
        assert_true(trigger_matches(p->triggers + 0, &ev));

        {
                _cleanup_(plan_freep) Plan *q = load_ok(
                        "plan: q\ntrigger:\n"
                        "  - raid: {array: /dev/md0, event: degraded}\n"
                        "  - device: {match: LABEL=backup, event: added}\n"
                        "  - link: {name: \"veth*\", state: down}\n"
                        "  - unit: {name: db.service, state: active}\n"
                        "steps:\n  - {id: s, run: exec, with: {command: [/bin/true]}}\n");
                TriggerEvent r = { .kind = TRIGGER_RAID, .name = "md0", .event = "degraded" };
                TriggerEvent d = { .kind = TRIGGER_DEVICE, .name = "/dev/loop7", .event = "added", .label = "backup" };
                TriggerEvent l = { .kind = TRIGGER_LINK, .name = "veth3", .event = "down" };
                TriggerEvent a = unit_event("db.service", "active", NULL);

                assert_true(trigger_matches(q->triggers + 0, &r));
                r.name = "md1";
                assert_false(trigger_matches(q->triggers + 0, &r));
                {
                        _cleanup_(plan_freep) Plan *named = load_ok(
                                "plan: n\ntrigger:\n  - raid: {array: md/data, event: degraded}\n"
                                "steps:\n  - {id: s, run: exec, with: {command: [/bin/true]}}\n");
                        TriggerEvent md = { .kind = TRIGGER_RAID, .name = "md127", .event = "degraded" };
                        assert_false(trigger_matches(named->triggers, &md));
                        md.alias = "md/data";           /* /dev/md/data -> ../md127 */
                        assert_true(trigger_matches(named->triggers, &md));
                }
                assert_true(trigger_matches(q->triggers + 1, &d));
                d.initial = true;               /* present at start is not "added" */
                assert_false(trigger_matches(q->triggers + 1, &d));
                d.initial = false;
                d.label = "other";
                assert_false(trigger_matches(q->triggers + 1, &d));
                assert_true(trigger_matches(q->triggers + 2, &l));
                l.initial = true;               /* down at start needs repair */
                assert_true(trigger_matches(q->triggers + 2, &l));
                l.event = "up";
                assert_false(trigger_matches(q->triggers + 2, &l));
                assert_true(trigger_matches(q->triggers + 3, &a));
                a.initial = true;
                assert_false(trigger_matches(q->triggers + 3, &a));
        }
}

static void test_restart_window(void **state) {
        _cleanup_(plan_freep) Plan *p = load_ok(plan_any_service);
        _cleanup_(trigger_matcher_freep) TriggerMatcher *m = NULL;
        TriggerEvent ev = unit_event("flappy.service", "restarted", NULL);
        const usec_t min = 60 * USEC_PER_SEC;

        assert_int_equal(trigger_matcher_new(&m), 0);
        ev.monotonic = 1 * min;
        assert_false(trigger_matcher_test(m, p, 1, &ev));
        ev.monotonic = 2 * min;
        assert_false(trigger_matcher_test(m, p, 1, &ev));
        ev.monotonic = 13 * min;        /* the first two fell out of the 10 min window */
        assert_false(trigger_matcher_test(m, p, 1, &ev));
        ev.monotonic = 14 * min;
        assert_false(trigger_matcher_test(m, p, 1, &ev));
        ev.monotonic = 15 * min;        /* 3 within 10 min */
        assert_true(trigger_matcher_test(m, p, 1, &ev));
        ev.monotonic = 16 * min;        /* counts again from zero */
        assert_false(trigger_matcher_test(m, p, 1, &ev));
        ev.name = "other.service";      /* another unit: not this trigger */
        assert_false(trigger_matcher_test(m, p, 1, &ev));
        /* a failure is not a restart, and the failed trigger ignores restarts */
        ev = unit_event("flappy.service", "failed", "exit-code");
        assert_false(trigger_matcher_test(m, p, 1, &ev));
        assert_true(trigger_matcher_test(m, p, 0, &ev));
}

static void test_vars(void **state) {
        _cleanup_(plan_freep) Plan *p = load_ok(plan_any_service);
        _cleanup_(plan_freep) Plan *p2 = load_ok(plan_any_service);
        _cleanup_strv_free_ char **ctx = NULL, **used = NULL;
        _cleanup_free_ char *error = NULL, *x = NULL, *inst = NULL;
        TriggerEvent ev = unit_event("web.service", "failed", "oom-kill");
        const char *missing = NULL;

        assert_int_equal(trigger_context_from_event(&ev, &ctx), 0);
        assert_string_equal(trigger_context_get(ctx, "unit"), "web.service");
        assert_string_equal(trigger_context_get(ctx, "result"), "oom-kill");
        assert_string_equal(trigger_context_get(ctx, "kind"), "unit");
        assert_null(trigger_context_get(ctx, "array"));

        assert_int_equal(plan_trigger_vars_used(p, &used), 0);
        assert_int_equal(strv_length(used), 2);
        assert_string_equal(used[0], "result");
        assert_string_equal(used[1], "unit");

        assert_int_equal(plan_expand_trigger_vars(p, ctx, &error), 0);
        assert_string_equal(step_get_string(p->steps + 0, "unit"), "web.service");
        assert_string_equal(step_get_arg(p->steps + 1, "command")->strv[1], "web.service failed: oom-kill");

        assert_int_equal(plan_instance_from_context(p2, ctx, &inst), 0);
        assert_string_equal(inst, "result=oom-kill unit=web.service");

        /* unset, unsafe, and values that do not pass the field's check */
        assert_int_equal(string_expand_trigger_vars("md:${trigger.array}.", ctx, &x, &missing), 0);
        assert_string_equal(x, "md:.");         /* unset is empty */
        x = mfree(x);
        {
                char *bad[] = { (char *) "label=x; rm -rf /", (char *) "unit=web", NULL };
                _cleanup_(plan_freep) Plan *p3 = load_ok(plan_any_service);
                _cleanup_free_ char *e3 = NULL;

                assert_int_equal(string_expand_trigger_vars("a${trigger.label}", bad, &x, &missing), -EBADMSG);
                assert_int_equal(plan_expand_trigger_vars(p3, bad, &e3), -EINVAL);
                assert_non_null(strstr(e3, "\"web\" (from \"${trigger.unit}\") is not a valid unit name"));
        }
        {
                char *none[] = { (char *) "kind=manual", NULL };
                _cleanup_(plan_freep) Plan *p4 = load_ok(plan_any_service);
                _cleanup_free_ char *e4 = NULL;

                assert_int_equal(plan_expand_trigger_vars(p4, none, &e4), -EINVAL);
                assert_non_null(strstr(e4, "step s: with.unit: \"\" (from \"${trigger.unit}\") is empty"));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load_trigger_formats),
                cmocka_unit_test(test_load_trigger_errors),
                cmocka_unit_test(test_match_rules),
                cmocka_unit_test(test_restart_window),
                cmocka_unit_test(test_vars),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
