/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The bounded call queue against a real sd-bus peer: a server on the other
 * end of a socketpair, in the same event loop, that answers "Echo" at once
 * and holds "Hold" calls until the test releases them. The server counts
 * how many calls it holds at once, which is what dbus-daemon would count. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <systemd/sd-event.h>

#include "bus-queue.h"
#include "strv.h"

#define MAX_CALLS 64

typedef struct Fixture {
        sd_event *event;
        sd_bus *client, *server;
        sd_bus_slot *vtable;
        sd_bus_message *held[MAX_CALLS];
        size_t n_held, max_held;
        char arrived[MAX_CALLS][16];    /* tags in the order the server saw them */
        size_t n_arrived;
        char answered[MAX_CALLS][16];   /* tags in the order callbacks ran */
        size_t n_answered;
        char errors[MAX_CALLS][128];    /* error names, per answer */
        BusQueue *queue;
        bool free_queue_in_callback;
} Fixture;

static int server_method(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fixture *f = userdata;
        const char *tag;
        int r;

        r = sd_bus_message_read(m, "s", &tag);
        if (r < 0)
                return r;
        assert_true(f->n_arrived < MAX_CALLS);
        snprintf(f->arrived[f->n_arrived++], sizeof(f->arrived[0]), "%s", tag);
        if (sd_bus_message_is_method_call(m, NULL, "Echo"))
                return sd_bus_reply_method_return(m, "s", tag);
        f->held[f->n_held++] = sd_bus_message_ref(m);
        f->max_held = MAX(f->max_held, f->n_held);
        return 1;
}

static const sd_bus_vtable server_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Echo", "s", "s", server_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Hold", "s", "s", server_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* Runs the loop until nothing is left to do (both buses idle). */
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
        assert_int_equal(sd_bus_add_object_vtable(f->server, &f->vtable, "/t", "org.salve.Test", server_vtable, f),
                         0);
        assert_int_equal(sd_bus_start(f->server), 0);
        assert_int_equal(sd_bus_attach_event(f->server, f->event, 0), 0);

        assert_int_equal(sd_bus_new(&f->client), 0);
        assert_int_equal(sd_bus_set_fd(f->client, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_start(f->client), 0);
        assert_int_equal(sd_bus_attach_event(f->client, f->event, 0), 0);
        /* Both ends authenticate in this one loop; let them, or a flush
         * in teardown would wait for a peer that nobody runs. */
        settle(f);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        bus_queue_free(f->queue);
        for (size_t i = 0; i < f->n_held; i++)
                sd_bus_message_unref(f->held[i]);
        sd_bus_slot_unref(f->vtable);
        sd_bus_flush_close_unref(f->client);
        sd_bus_flush_close_unref(f->server);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

static void release(Fixture *f, size_t i) {
        const char *tag;

        assert_true(i < f->n_held);
        assert_int_equal(sd_bus_message_rewind(f->held[i], true), 1);
        assert_int_equal(sd_bus_message_read(f->held[i], "s", &tag), 1);
        assert_int_equal(sd_bus_reply_method_return(f->held[i], "s", tag), 1);
        sd_bus_message_unref(f->held[i]);
        memmove(f->held + i, f->held + i + 1, (f->n_held - i - 1) * sizeof(f->held[0]));
        f->n_held--;
}

static int on_answer(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Fixture *f = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *tag = "?";

        if (!e)
                assert_int_equal(sd_bus_message_read(reply, "s", &tag), 1);
        assert_true(f->n_answered < MAX_CALLS);
        snprintf(f->errors[f->n_answered], sizeof(f->errors[0]), "%s", e ? e->name : "");
        snprintf(f->answered[f->n_answered++], sizeof(f->answered[0]), "%s", tag);
        if (f->free_queue_in_callback)
                f->queue = bus_queue_free(f->queue);
        return 0;
}

static int call(Fixture *f, BusQueueCall **ret, uint64_t class, const char *method, const char *tag) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_method_call(f->client, &m, NULL, "/t", "org.salve.Test", method), 0);
        assert_true(sd_bus_message_append(m, "s", tag) >= 0);
        return bus_queue_call_class(f->queue, ret, class, m, on_answer, f, 0);
}

static void assert_order(char (*got)[16], size_t n, const char *const *want) {
        size_t i = 0;

        for (; want[i]; i++) {
                assert_true(i < n);
                assert_string_equal(got[i], want[i]);
        }
        assert_int_equal(n, i);
}

static void test_bounded_fifo(void **state) {
        Fixture *f = *state;
        BusQueueCall *c[10];
        char tag[16];

        assert_int_equal(bus_queue_new(f->client, 3, &f->queue), 0);
        for (int i = 0; i < 10; i++) {
                snprintf(tag, sizeof(tag), "c%d", i);
                assert_int_equal(call(f, c + i, BUS_QUEUE_CLASS_DEFAULT, "Hold", tag), 0);
        }
        assert_int_equal(bus_queue_n_in_flight(f->queue), 3);
        assert_int_equal(bus_queue_n_queued(f->queue), 7);
        settle(f);
        assert_int_equal(f->n_held, 3);
        assert_int_equal(f->n_answered, 0);

        while (f->n_held > 0) {
                release(f, 0);
                settle(f);
        }
        assert_int_equal(f->max_held, 3);
        assert_order(f->arrived, f->n_arrived,
                     STRV_MAKE_CONST("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"));
        assert_order(f->answered, f->n_answered,
                     STRV_MAKE_CONST("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"));
        for (int i = 0; i < 10; i++) {
                assert_false(bus_queue_call_is_pending(c[i]));
                bus_queue_call_free(c[i]);
        }
        assert_int_equal(bus_queue_n_in_flight(f->queue), 0);
}

static void test_never_from_inside_enqueue(void **state) {
        Fixture *f = *state;
        _cleanup_(bus_queue_call_freep) BusQueueCall *c = NULL;

        assert_int_equal(bus_queue_new(f->client, 1, &f->queue), 0);
        assert_int_equal(call(f, &c, BUS_QUEUE_CLASS_DEFAULT, "Echo", "e"), 0);
        assert_int_equal(f->n_answered, 0);
        assert_true(bus_queue_call_is_pending(c));
        settle(f);
        assert_order(f->answered, f->n_answered, STRV_MAKE_CONST("e"));
        assert_false(bus_queue_call_is_pending(c));
}

static void test_cancel_queued(void **state) {
        Fixture *f = *state;
        BusQueueCall *a, *b, *c;

        assert_int_equal(bus_queue_new(f->client, 1, &f->queue), 0);
        assert_int_equal(call(f, &a, BUS_QUEUE_CLASS_DEFAULT, "Hold", "a"), 0);
        assert_int_equal(call(f, &b, BUS_QUEUE_CLASS_DEFAULT, "Hold", "b"), 0);
        assert_int_equal(call(f, &c, BUS_QUEUE_CLASS_DEFAULT, "Hold", "c"), 0);
        b = bus_queue_call_free(b);
        assert_int_equal(bus_queue_n_queued(f->queue), 1);
        settle(f);
        while (f->n_held > 0) {
                release(f, 0);
                settle(f);
        }
        assert_order(f->arrived, f->n_arrived, STRV_MAKE_CONST("a", "c"));
        assert_order(f->answered, f->n_answered, STRV_MAKE_CONST("a", "c"));
        bus_queue_call_free(a);
        bus_queue_call_free(c);
}

/* A cancelled call keeps its slot until its reply comes: dbus-daemon
 * still counts it, so sending another in its place would overrun. */
static void test_cancel_in_flight_keeps_slot(void **state) {
        Fixture *f = *state;
        BusQueueCall *a, *b;

        assert_int_equal(bus_queue_new(f->client, 1, &f->queue), 0);
        assert_int_equal(call(f, &a, BUS_QUEUE_CLASS_DEFAULT, "Hold", "a"), 0);
        assert_int_equal(call(f, &b, BUS_QUEUE_CLASS_DEFAULT, "Hold", "b"), 0);
        settle(f);
        a = bus_queue_call_free(a);
        settle(f);
        assert_int_equal(bus_queue_n_in_flight(f->queue), 1);
        assert_int_equal(f->n_held, 1);
        assert_order(f->arrived, f->n_arrived, STRV_MAKE_CONST("a"));

        release(f, 0);
        settle(f);
        assert_order(f->arrived, f->n_arrived, STRV_MAKE_CONST("a", "b"));
        assert_int_equal(f->n_answered, 0); /* a's callback never runs */
        release(f, 0);
        settle(f);
        assert_order(f->answered, f->n_answered, STRV_MAKE_CONST("b"));
        assert_int_equal(f->max_held, 1);
        bus_queue_call_free(b);
}

static void test_floating(void **state) {
        Fixture *f = *state;

        assert_int_equal(bus_queue_new(f->client, 2, &f->queue), 0);
        for (int i = 0; i < 5; i++)
                assert_int_equal(call(f, NULL, BUS_QUEUE_CLASS_DEFAULT, "Echo", "f"), 0);
        assert_int_equal(bus_queue_n_in_flight(f->queue) + bus_queue_n_queued(f->queue), 5);
        settle(f);
        assert_int_equal(f->n_answered, 5);
        assert_int_equal(bus_queue_n_in_flight(f->queue) + bus_queue_n_queued(f->queue), 0);

        /* Floating calls still queued or in flight go with the queue. */
        assert_int_equal(call(f, NULL, BUS_QUEUE_CLASS_DEFAULT, "Hold", "g"), 0);
        assert_int_equal(call(f, NULL, BUS_QUEUE_CLASS_DEFAULT, "Hold", "h"), 0);
        assert_int_equal(call(f, NULL, BUS_QUEUE_CLASS_DEFAULT, "Hold", "i"), 0);
        settle(f);
        f->queue = bus_queue_free(f->queue);
        while (f->n_held > 0)
                release(f, 0);
        settle(f);
        assert_int_equal(f->n_answered, 5);
}

static void test_round_robin(void **state) {
        Fixture *f = *state;

        assert_int_equal(bus_queue_new(f->client, 1, &f->queue), 0);
        assert_int_equal(call(f, NULL, 9, "Hold", "x"), 0);
        /* One class floods; another comes later with fewer calls. */
        assert_int_equal(call(f, NULL, 1000, "Hold", "a1"), 0);
        assert_int_equal(call(f, NULL, 1000, "Hold", "a2"), 0);
        assert_int_equal(call(f, NULL, 1000, "Hold", "a3"), 0);
        assert_int_equal(call(f, NULL, 1000, "Hold", "a4"), 0);
        assert_int_equal(call(f, NULL, 1001, "Hold", "b1"), 0);
        assert_int_equal(call(f, NULL, 1001, "Hold", "b2"), 0);
        assert_int_equal(bus_queue_class_pending(f->queue, 1000), 4);
        assert_int_equal(bus_queue_class_pending(f->queue, 1001), 2);
        assert_int_equal(bus_queue_class_pending(f->queue, 9), 1);
        assert_int_equal(bus_queue_class_pending(f->queue, 7), 0);
        settle(f);
        while (f->n_held > 0) {
                release(f, 0);
                settle(f);
        }
        assert_order(f->arrived, f->n_arrived, STRV_MAKE_CONST("x", "a1", "b1", "a2", "b2", "a3", "a4"));
        assert_int_equal(bus_queue_class_pending(f->queue, 1000), 0);
}

static void test_class_limit(void **state) {
        Fixture *f = *state;

        assert_int_equal(bus_queue_new(f->client, 4, &f->queue), 0);
        bus_queue_set_class_max_in_flight(f->queue, 2);
        for (int i = 0; i < 4; i++)
                assert_int_equal(call(f, NULL, 1000, "Hold", "a"), 0);
        assert_int_equal(call(f, NULL, 1001, "Hold", "b"), 0);
        settle(f);
        /* Class 1000 has its two; class 1001 got a slot; one stays free. */
        assert_int_equal(f->n_held, 3);
        assert_int_equal(bus_queue_n_in_flight(f->queue), 3);
        assert_int_equal(bus_queue_n_queued(f->queue), 2);
        assert_order(f->arrived, f->n_arrived, STRV_MAKE_CONST("a", "a", "b"));
        release(f, 0);
        settle(f);
        assert_int_equal(f->n_held, 3);
        assert_int_equal(bus_queue_n_queued(f->queue), 1);
        while (f->n_held > 0) {
                release(f, 0);
                settle(f);
        }
        assert_int_equal(f->n_answered, 5);
}

static void test_queue_freed_first(void **state) {
        Fixture *f = *state;
        BusQueueCall *a, *b;

        assert_int_equal(bus_queue_new(f->client, 1, &f->queue), 0);
        assert_int_equal(call(f, &a, BUS_QUEUE_CLASS_DEFAULT, "Hold", "a"), 0);
        assert_int_equal(call(f, &b, BUS_QUEUE_CLASS_DEFAULT, "Hold", "b"), 0);
        settle(f);
        f->queue = bus_queue_free(f->queue);
        assert_false(bus_queue_call_is_pending(a));
        assert_false(bus_queue_call_is_pending(b));
        release(f, 0);
        settle(f);
        assert_int_equal(f->n_answered, 0);
        bus_queue_call_free(a);
        bus_queue_call_free(b);
}

static void test_freed_inside_callback(void **state) {
        Fixture *f = *state;

        assert_int_equal(bus_queue_new(f->client, 1, &f->queue), 0);
        assert_int_equal(call(f, NULL, BUS_QUEUE_CLASS_DEFAULT, "Echo", "a"), 0);
        assert_int_equal(call(f, NULL, BUS_QUEUE_CLASS_DEFAULT, "Echo", "b"), 0);
        f->free_queue_in_callback = true;
        settle(f);
        assert_null(f->queue);
        assert_order(f->answered, f->n_answered, STRV_MAKE_CONST("a"));
}

/* The peer goes away: the call on the wire gets sd-bus's error, the
 * queued ones the queue's own, each exactly once and never inline. */
static void test_connection_lost(void **state) {
        Fixture *f = *state;
        BusQueueCall *c[3];

        assert_int_equal(bus_queue_new(f->client, 1, &f->queue), 0);
        assert_int_equal(call(f, c + 0, BUS_QUEUE_CLASS_DEFAULT, "Hold", "a"), 0);
        assert_int_equal(call(f, c + 1, BUS_QUEUE_CLASS_DEFAULT, "Hold", "b"), 0);
        assert_int_equal(call(f, NULL, BUS_QUEUE_CLASS_DEFAULT, "Hold", "c"), 0);
        settle(f);
        for (size_t i = 0; i < f->n_held; i++)
                sd_bus_message_unref(f->held[i]);
        f->n_held = 0;
        f->server = sd_bus_flush_close_unref(f->server);
        settle(f);
        assert_int_equal(f->n_answered, 3);
        for (size_t i = 0; i < 3; i++)
                assert_true(strlen(f->errors[i]) > 0);
        assert_int_equal(call(f, NULL, BUS_QUEUE_CLASS_DEFAULT, "Echo", "d"), -ENOTCONN);
        bus_queue_call_free(c[0]);
        bus_queue_call_free(c[1]);
        assert_int_equal(bus_queue_n_in_flight(f->queue) + bus_queue_n_queued(f->queue), 0);
}

static void test_call_method(void **state) {
        Fixture *f = *state;
        _cleanup_(bus_queue_call_freep) BusQueueCall *c = NULL;

        assert_int_equal(bus_queue_new(f->client, 1, &f->queue), 0);
        assert_int_equal(bus_queue_call_method(f->queue, &c, NULL, "/t", "org.salve.Test", "Echo", on_answer, f, "s",
                                               "m"), 0);
        settle(f);
        assert_order(f->answered, f->n_answered, STRV_MAKE_CONST("m"));
}

static void test_bad_arguments(void **state) {
        Fixture *f = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        BusQueue *q = NULL;
        sd_bus *detached = NULL;

        assert_int_equal(bus_queue_new(f->client, 0, &q), -EINVAL);
        assert_int_equal(sd_bus_new(&detached), 0);
        assert_int_equal(bus_queue_new(detached, 4, &q), -ENXIO);
        sd_bus_unref(detached);
        assert_int_equal(bus_queue_new(f->client, 4, &f->queue), 0);
        assert_int_equal(sd_bus_message_new_signal(f->client, &sig, "/t", "org.salve.Test", "S"), 0);
        assert_int_equal(bus_queue_call(f->queue, NULL, sig, on_answer, f, 0), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_bounded_fifo, setup, teardown),
                cmocka_unit_test_setup_teardown(test_never_from_inside_enqueue, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_queued, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_in_flight_keeps_slot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_floating, setup, teardown),
                cmocka_unit_test_setup_teardown(test_round_robin, setup, teardown),
                cmocka_unit_test_setup_teardown(test_class_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_queue_freed_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_freed_inside_callback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_connection_lost, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_method, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
