/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The units watcher against a fake systemd: the other end of a
 * socketpair, in the same event loop, that answers Subscribe, ListUnits
 * and Properties.Get from a table of units and sends the signals the test
 * writes, including malformed ones. It tells what no real systemd can be
 * made to do on cue: a failure that no signal reports, found by the resync
 * after systemd "comes back" on the bus (NameOwnerChanged); bad input;
 * the watcher freed while its calls are on the wire. */

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <systemd/sd-event.h>

#include "watch.h"

#define MAX_UNITS 8
#define MAX_SEEN 64

typedef struct FakeUnit {
        const char *name;
        char path[256];
        const char *active, *sub, *result, *restart;
        uint32_t job, n_restarts;
        uint64_t inactive_enter, state_change, exec_main_exit;
        bool hold;              /* keep its Gets unanswered */
        bool no_result;         /* its type has no Result property */
} FakeUnit;

typedef struct Seen {
        char name[64], event[16], result[32], occurrence[96];
        unsigned restarts;
        bool initial, resynced;
} Seen;

typedef struct Fixture {
        sd_event *event;
        sd_bus *client, *server;
        sd_bus_slot *filter;
        FakeUnit units[MAX_UNITS];
        size_t n_units;
        unsigned gets, lists;
        sd_bus_message *held[32];
        size_t n_held;
        Watch *watch;
        Seen seen[MAX_SEEN];
        size_t n_seen;
        unsigned notices[_WATCH_NOTICE_MAX];
        char last_message[512];
} Fixture;

static FakeUnit *fake_unit(Fixture *f, const char *path) {
        for (size_t i = 0; i < f->n_units; i++)
                if (streq(f->units[i].path, path))
                        return f->units + i;
        return NULL;
}

static FakeUnit *add_unit(Fixture *f, const char *name, const char *active, uint64_t state_change) {
        FakeUnit *u = f->units + f->n_units++;
        char *p = NULL;

        assert_true(f->n_units <= MAX_UNITS);
        assert_true(sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &p) >= 0);
        *u = (FakeUnit) {
                .name = name, .active = active, .sub = active, .result = "success", .restart = "no",
                .inactive_enter = state_change, .state_change = state_change,
        };
        snprintf(u->path, sizeof(u->path), "%s", p);
        free(p);
        return u;
}

static int reply_get(Fixture *f, sd_bus_message *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *iface, *prop;
        FakeUnit *u = fake_unit(f, sd_bus_message_get_path(m));
        int r;

        assert_true(sd_bus_message_read(m, "ss", &iface, &prop) > 0);
        f->gets++;
        if (!u)
                return sd_bus_reply_method_errorf(m, "org.freedesktop.DBus.Error.UnknownObject", "no unit");
        if (u->hold) {
                f->held[f->n_held++] = sd_bus_message_ref(m);
                return 1;
        }
        if (streq(prop, "ActiveState"))
                return sd_bus_reply_method_return(m, "v", "s", u->active);
        if (streq(prop, "SubState"))
                return sd_bus_reply_method_return(m, "v", "s", u->sub);
        if (streq(prop, "Result") && !u->no_result)
                return sd_bus_reply_method_return(m, "v", "s", u->result);
        if (streq(prop, "Restart"))
                return sd_bus_reply_method_return(m, "v", "s", u->restart);
        if (streq(prop, "Job"))
                return sd_bus_reply_method_return(m, "v", "(uo)", u->job, "/");
        if (streq(prop, "NRestarts"))
                return sd_bus_reply_method_return(m, "v", "u", u->n_restarts);
        if (streq(prop, "InactiveEnterTimestamp"))
                return sd_bus_reply_method_return(m, "v", "t", u->inactive_enter);
        if (streq(prop, "StateChangeTimestamp"))
                return sd_bus_reply_method_return(m, "v", "t", u->state_change);
        if (streq(prop, "ExecMainExitTimestamp"))
                return sd_bus_reply_method_return(m, "v", "t", u->exec_main_exit);
        if (streq(prop, "RestartForceExitStatus")) {
                r = sd_bus_message_new_method_return(m, &reply);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'v', "(aiai)");
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'r', "aiai");
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'i', NULL, 0);
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'i', NULL, 0);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_send(NULL, reply, NULL);
                return r;
        }
        return sd_bus_reply_method_errorf(m, "org.freedesktop.DBus.Error.UnknownProperty", "%s", prop);
}

static int reply_list(Fixture *f, sd_bus_message *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        f->lists++;
        assert_true(sd_bus_message_new_method_return(m, &reply) >= 0);
        assert_true(sd_bus_message_open_container(reply, 'a', "(ssssssouso)") >= 0);
        for (size_t i = 0; i < f->n_units; i++) {
                FakeUnit *u = f->units + i;
                assert_true(sd_bus_message_append(reply, "(ssssssouso)", u->name, "", "loaded", u->active, u->sub, "",
                                                  u->path, u->job, "", "/") >= 0);
        }
        assert_true(sd_bus_message_close_container(reply) >= 0);
        return sd_bus_send(NULL, reply, NULL);
}

static int server_filter(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fixture *f = userdata;
        uint8_t type = 0;

        if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
                return 0;
        if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "Subscribe"))
                return sd_bus_reply_method_return(m, NULL);
        if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "ListUnits"))
                return reply_list(f, m);
        if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Get"))
                return reply_get(f, m);
        return sd_bus_reply_method_errorf(m, "org.freedesktop.DBus.Error.UnknownMethod", "no");
}

static void on_event(Watch *w, const TriggerEvent *ev, void *userdata) {
        Fixture *f = userdata;
        Seen *s = f->seen + f->n_seen++;

        assert_true(f->n_seen <= MAX_SEEN);
        assert_int_equal(ev->kind, TRIGGER_UNIT);
        snprintf(s->name, sizeof(s->name), "%s", ev->name);
        snprintf(s->event, sizeof(s->event), "%s", ev->event);
        snprintf(s->result, sizeof(s->result), "%s", strempty(ev->result));
        snprintf(s->occurrence, sizeof(s->occurrence), "%s", strempty(ev->occurrence));
        s->restarts = ev->restarts;
        s->initial = ev->initial;
        s->resynced = ev->resynced;
}

static void on_notice(Watch *w, WatchNotice n, int error, const char *message, void *userdata) {
        Fixture *f = userdata;

        f->notices[n]++;
        snprintf(f->last_message, sizeof(f->last_message), "%s", message);
}

static void settle(Fixture *f) {
        for (int i = 0; i < 1000; i++)
                if (sd_event_run(f->event, 20 * 1000) == 0)
                        return;
        fail_msg("the event loop never went idle");
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        sd_id128_t id;
        int fds[2];

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(sd_bus_new(&f->server), 0);
        assert_int_equal(sd_bus_set_fd(f->server, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(f->server, 1, id), 0);
        assert_int_equal(sd_bus_add_filter(f->server, &f->filter, server_filter, f), 0);
        assert_int_equal(sd_bus_start(f->server), 0);
        assert_int_equal(sd_bus_attach_event(f->server, f->event, 0), 0);
        assert_int_equal(sd_bus_new(&f->client), 0);
        assert_int_equal(sd_bus_set_fd(f->client, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_start(f->client), 0);
        assert_int_equal(sd_bus_attach_event(f->client, f->event, 0), 0);
        settle(f);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        watch_free(f->watch);
        for (size_t i = 0; i < f->n_held; i++)
                sd_bus_message_unref(f->held[i]);
        sd_bus_slot_unref(f->filter);
        sd_bus_flush_close_unref(f->client);
        sd_bus_flush_close_unref(f->server);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

static void start_watch(Fixture *f) {
        WatchContext ctx = {
                .event = f->event, .bus = f->client, .on_event = on_event, .on_notice = on_notice, .userdata = f,
        };

        assert_int_equal(watch_new(WATCH_UNITS, &ctx, &f->watch), 0);
        settle(f);
}

/* PropertiesChanged from "systemd": the Service part, then the Unit part. */
static void send_changed(Fixture *f, const FakeUnit *u, bool service, bool unit) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        if (service) {
                assert_true(sd_bus_message_new_signal(f->server, &m, u->path, "org.freedesktop.DBus.Properties",
                                                      "PropertiesChanged") >= 0);
                assert_true(sd_bus_message_set_sender(m, "org.freedesktop.systemd1") >= 0);
                assert_true(sd_bus_message_append(m, "sa{sv}as", "org.freedesktop.systemd1.Service", 3, "Result", "s",
                                                  u->result, "NRestarts", "u", u->n_restarts,
                                                  "ExecMainExitTimestamp", "t", u->exec_main_exit, 0) >= 0);
                assert_true(sd_bus_send(f->server, m, NULL) >= 0);
                m = sd_bus_message_unref(m);
        }
        if (unit) {
                assert_true(sd_bus_message_new_signal(f->server, &m, u->path, "org.freedesktop.DBus.Properties",
                                                      "PropertiesChanged") >= 0);
                assert_true(sd_bus_message_set_sender(m, "org.freedesktop.systemd1") >= 0);
                assert_true(sd_bus_message_append(m, "sa{sv}as", "org.freedesktop.systemd1.Unit", 5, "ActiveState", "s",
                                                  u->active, "SubState", "s", u->sub, "Job", "(uo)", u->job, "/",
                                                  "InactiveEnterTimestamp", "t", u->inactive_enter,
                                                  "StateChangeTimestamp", "t", u->state_change, 0) >= 0);
                assert_true(sd_bus_send(f->server, m, NULL) >= 0);
        }
        settle(f);
}

static size_t count_seen(Fixture *f, const char *name, const char *event) {
        size_t n = 0;
        for (size_t i = 0; i < f->n_seen; i++)
                n += streq(f->seen[i].name, name) && streq(f->seen[i].event, event);
        return n;
}

static const Seen *find_seen(Fixture *f, const char *name, const char *event) {
        for (size_t i = 0; i < f->n_seen; i++)
                if (streq(f->seen[i].name, name) && streq(f->seen[i].event, event))
                        return f->seen + i;
        return NULL;
}

static void test_initial_signal_resync(void **state) {
        Fixture *f = *state;
        usec_t now = now_usec(CLOCK_REALTIME);
        FakeUnit *a, *b, *c;
        const Seen *s;

        a = add_unit(f, "a.service", "failed", 1000);
        a->result = "exit-code";
        a->exec_main_exit = 990;
        (void) add_unit(f, "up.service", "active", 500);
        start_watch(f);
        assert_int_equal(f->notices[WATCH_READY], 1);
        assert_int_equal(f->n_seen, 1);
        s = find_seen(f, "a.service", "failed");
        assert_non_null(s);
        assert_true(s->initial);
        assert_string_equal(s->result, "exit-code");
        assert_string_equal(s->occurrence, "a.service@1000");

        /* b, never seen before, fails, told by signals; its Result comes
         * with the Service signal that came first, held for the Unit one,
         * not from a Get (which would say "bogus") */
        b = add_unit(f, "b.service", "active", now + 1);
        b->restart = "no";
        b->result = "signal";
        b->exec_main_exit = now + 5;
        b->active = b->sub = "failed";
        b->state_change = b->inactive_enter = now + 10;
        send_changed(f, b, true, false);
        b->result = "bogus";
        send_changed(f, b, false, true);
        s = find_seen(f, "b.service", "failed");
        assert_non_null(s);
        assert_string_equal(s->result, "signal");
        assert_false(s->initial);
        assert_false(s->resynced);
        assert_int_equal(count_seen(f, "b.service", "active"), 0);     /* found active, not seen becoming it */

        /* c fails and no signal says so; systemd comes back on the bus */
        c = add_unit(f, "c.service", "failed", now + 20);
        c->result = "core-dump";
        {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                assert_true(sd_bus_message_new_signal(f->server, &m, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                                      "NameOwnerChanged") >= 0);
                assert_true(sd_bus_message_set_sender(m, "org.freedesktop.DBus") >= 0);
                assert_true(sd_bus_message_append(m, "sss", "org.freedesktop.systemd1", ":1.0", ":1.9") >= 0);
                assert_true(sd_bus_send(f->server, m, NULL) >= 0);
        }
        settle(f);
        assert_int_equal(f->notices[WATCH_LOST], 1);
        assert_int_equal(f->notices[WATCH_RESYNCED], 1);
        assert_int_equal(f->lists, 2);
        s = find_seen(f, "c.service", "failed");
        assert_non_null(s);
        assert_true(s->resynced);
        assert_string_equal(s->result, "core-dump");
        assert_int_equal(count_seen(f, "a.service", "failed"), 1);
        assert_int_equal(count_seen(f, "b.service", "failed"), 1);

        /* b was reset while nobody listened: the next resync tells it */
        b->active = b->sub = "inactive";
        b->state_change = now + 30;
        assert_int_equal(watch_resync(f->watch), 0);
        settle(f);
        s = find_seen(f, "b.service", "inactive");
        assert_non_null(s);
        assert_true(s->resynced);
        assert_int_equal(f->notices[WATCH_RESYNCED], 2);
        assert_int_equal(f->watch->stats.bad_input, 0);
}

static void send_raw(Fixture *f, const char *path, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;

        assert_true(sd_bus_message_new_signal(f->server, &m, path, "org.freedesktop.DBus.Properties",
                                              "PropertiesChanged") >= 0);
        assert_true(sd_bus_message_set_sender(m, "org.freedesktop.systemd1") >= 0);
        va_start(ap, types);
        assert_true(sd_bus_message_appendv(m, types, ap) >= 0);
        va_end(ap);
        assert_true(sd_bus_send(f->server, m, NULL) >= 0);
        settle(f);
}

static void test_bad_input(void **state) {
        Fixture *f = *state;
        usec_t now = now_usec(CLOCK_REALTIME);
        FakeUnit *d;

        start_watch(f);
        d = add_unit(f, "d.service", "failed", now + 1);
        send_raw(f, d->path, "s", "org.freedesktop.systemd1.Unit");                         /* wrong signature */
        send_raw(f, d->path, "sa{sv}as", "org.freedesktop.systemd1.Unit", 1, "ActiveState", "u", 3, 0);
        send_raw(f, d->path, "sa{sv}as", "org.freedesktop.systemd1.Unit", 2, "ActiveState", "s", "exploded",
                 "StateChangeTimestamp", "t", now + 1, 0);
        send_raw(f, d->path, "sa{sv}as", "org.freedesktop.systemd1.Unit", 1, "SubState", "s",
                 "a-substate-name-far-too-long-to-be-real", 0);
        send_raw(f, "/org/freedesktop/systemd1/unit/_zz", "sa{sv}as", "org.freedesktop.systemd1.Unit", 2, "ActiveState",
                 "s", "failed", "StateChangeTimestamp", "t", now + 1, 0);              /* not an escaped unit name */
        assert_int_equal(f->watch->stats.bad_input, 5);
        assert_int_equal(f->n_seen, 0);
        /* other interfaces and properties are not ours: ignored, not bad */
        send_raw(f, d->path, "sa{sv}as", "org.example.Other", 1, "ActiveState", "u", 3, 0);
        send_raw(f, d->path, "sa{sv}as", "org.freedesktop.systemd1.Unit", 1, "Description", "u", 3, 0);
        assert_int_equal(f->watch->stats.bad_input, 5);
        /* and it still works */
        d->result = "timeout";
        send_changed(f, d, true, true);
        assert_int_equal(count_seen(f, "d.service", "failed"), 1);
        assert_string_equal(find_seen(f, "d.service", "failed")->result, "timeout");
}

/* Restart=on-failure: the failed signal alone is not a failure; the
 * confirmation Get decides, and a moved StateChangeTimestamp means a
 * restart is on its way. */
static void test_confirmation(void **state) {
        Fixture *f = *state;
        usec_t now = now_usec(CLOCK_REALTIME);
        FakeUnit *e;
        unsigned gets;

        start_watch(f);
        e = add_unit(f, "e.service", "activating", now + 1);
        e->restart = "on-failure";
        e->job = 7;
        send_changed(f, e, false, true);                /* record, policy asked */
        e->active = e->sub = "active";
        e->job = 0;
        e->state_change = now + 2;
        send_changed(f, e, false, true);
        assert_int_equal(count_seen(f, "e.service", "active"), 1);

        /* crash, auto-restart already by the time it is asked */
        e->active = e->sub = "failed";
        e->result = "exit-code";
        e->state_change = e->inactive_enter = now + 3;
        gets = f->gets;
        send_changed(f, e, true, false);
        {
                FakeUnit snap = *e;
                e->active = "activating";
                e->sub = "auto-restart";
                e->state_change = now + 4;
                send_changed(f, &snap, false, true);    /* the failed snapshot, answered with now + 4 */
        }
        assert_int_equal(f->gets, gets + 1);
        assert_int_equal(count_seen(f, "e.service", "failed"), 0);
        send_changed(f, e, false, true);
        assert_int_equal(count_seen(f, "e.service", "failed"), 0);

        /* crash, and systemd leaves it failed */
        e->active = e->sub = "failed";
        e->state_change = e->inactive_enter = now + 5;
        send_changed(f, e, true, true);
        assert_int_equal(count_seen(f, "e.service", "failed"), 1);
        {
                char want[96];
                snprintf(want, sizeof(want), "e.service@%" PRIu64, (uint64_t) (now + 5));
                assert_string_equal(find_seen(f, "e.service", "failed")->occurrence, want);
        }
}

/* Freed with Gets on the wire: their late replies go nowhere. */
static void test_free_with_calls_in_flight(void **state) {
        Fixture *f = *state;
        FakeUnit *s;

        s = add_unit(f, "slow.service", "failed", 100);
        s->hold = true;
        start_watch(f);
        assert_true(f->n_held > 0);
        assert_int_equal(f->notices[WATCH_READY], 0);   /* still fetching */
        f->watch = watch_free(f->watch);
        for (size_t i = 0; i < f->n_held; i++) {
                assert_true(sd_bus_reply_method_return(f->held[i], "v", "s", "failed") >= 0);
                f->held[i] = sd_bus_message_unref(f->held[i]);
        }
        f->n_held = 0;
        settle(f);
        assert_int_equal(f->n_seen, 0);
}

/* systemd reloads before the first enumeration is done: it starts over,
 * and still ends in READY with initial events, each failure once. */
static void test_resync_before_ready(void **state) {
        Fixture *f = *state;
        FakeUnit *s;
        size_t n;

        s = add_unit(f, "slow.service", "failed", 100);
        s->result = "watchdog";
        s->hold = true;
        start_watch(f);
        assert_int_equal(f->notices[WATCH_READY], 0);
        assert_int_equal(watch_resync(f->watch), 0);
        settle(f);
        assert_int_equal(f->lists, 2);
        s->hold = false;
        n = f->n_held;
        f->n_held = 0;
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(sd_bus_message_rewind(f->held[i], true), 1);
                assert_true(reply_get(f, f->held[i]) >= 0);
                f->held[i] = sd_bus_message_unref(f->held[i]);
        }
        settle(f);
        assert_int_equal(f->notices[WATCH_READY], 1);
        assert_int_equal(f->notices[WATCH_RESYNCED], 0);
        assert_int_equal(count_seen(f, "slow.service", "failed"), 1);
        assert_true(find_seen(f, "slow.service", "failed")->initial);
        assert_string_equal(find_seen(f, "slow.service", "failed")->result, "watchdog");
}

/* A Get that cannot be answered is not asked again and again: the
 * failure is told with what there is. */
static void test_unanswerable(void **state) {
        Fixture *f = *state;
        usec_t now = now_usec(CLOCK_REALTIME);
        FakeUnit *x;
        unsigned gets;

        start_watch(f);
        x = add_unit(f, "x.socket", "failed", now + 1);
        x->no_result = true;
        gets = f->gets;
        send_changed(f, x, false, true);
        assert_int_equal(count_seen(f, "x.socket", "failed"), 1);
        assert_string_equal(find_seen(f, "x.socket", "failed")->result, "unknown");
        assert_true(f->gets - gets <= 5);
        /* and a unit that is gone by the time it is asked */
        x = add_unit(f, "y.service", "failed", now + 2);
        x->restart = "always";
        f->n_units--;   /* unloaded: every Get of it fails */
        gets = f->gets;
        send_changed(f, x, false, true);
        assert_int_equal(count_seen(f, "y.service", "failed"), 1);
        assert_string_equal(find_seen(f, "y.service", "failed")->result, "unknown");
        assert_true(f->gets - gets <= 7);       /* one batch: state, Result, ExecMainExit, Restart= */
}

/* Restarts while nobody listened, of a unit found in the state it had:
 * the resync asks for NRestarts only, and tells "restarted". */
static void test_resync_restarts(void **state) {
        Fixture *f = *state;
        usec_t now;
        FakeUnit *g;
        unsigned gets;
        const Seen *s;

        start_watch(f);
        now = now_usec(CLOCK_REALTIME);         /* a change after the start: news */
        g = add_unit(f, "g.service", "active", now + 1);
        g->restart = "always";
        g->sub = "running";
        send_changed(f, g, true, true);
        g->n_restarts = 3;
        gets = f->gets;
        assert_int_equal(watch_resync(f->watch), 0);
        settle(f);
        assert_int_equal(f->gets - gets, 3);    /* Restart=, RestartForceExitStatus=, NRestarts */
        /* one per restart, so a "3 restarts within T" counts them */
        assert_int_equal(count_seen(f, "g.service", "restarted"), 3);
        s = find_seen(f, "g.service", "restarted");
        assert_non_null(s);
        assert_int_equal(s->restarts, 1);
        assert_true(s->resynced);
        assert_int_equal(f->seen[f->n_seen - 1].restarts, 3);
        assert_int_equal(count_seen(f, "g.service", "active"), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_initial_signal_resync, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
                cmocka_unit_test_setup_teardown(test_confirmation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_with_calls_in_flight, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resync_before_ready, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unanswerable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resync_restarts, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
