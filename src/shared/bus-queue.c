/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* See bus-queue.h for what the queue promises. How it keeps them:
 *
 * A call is in exactly one of four places: its class's FIFO (queued), the
 * queue's in-flight list (sent, slot held), the queue's failed list (could
 * not be sent; its error callback is due from the defer source), or none
 * (c->queue == NULL: its callback has run, or the queue is gone).
 *
 * queue_dispatch() only sends; it never invokes a callback, so it may run
 * anywhere, including inside bus_queue_call() and inside a reply handler.
 * User callbacks run from exactly two places, on_reply() and on_kick(), and
 * neither touches the queue or the call after the callback returns (the
 * callback may free either), except to release a floating call, which no
 * one else can free. */

#include <stdarg.h>
#include <systemd/sd-event.h>

#include "bus-queue.h"

#define FIFO_APPEND(head, tail, item)                   \
        do {                                            \
                (item)->prev = (tail);                  \
                (item)->next = NULL;                    \
                if (tail)                               \
                        (tail)->next = (item);          \
                else                                    \
                        (head) = (item);                \
                (tail) = (item);                        \
        } while (0)

#define FIFO_REMOVE(head, tail, item)                           \
        do {                                                    \
                if ((item)->prev)                               \
                        (item)->prev->next = (item)->next;      \
                else                                            \
                        (head) = (item)->next;                  \
                if ((item)->next)                               \
                        (item)->next->prev = (item)->prev;      \
                else                                            \
                        (tail) = (item)->prev;                  \
                (item)->prev = (item)->next = NULL;             \
        } while (0)

typedef enum CallState {
        CALL_QUEUED,
        CALL_IN_FLIGHT,
        CALL_FAILED,
        CALL_DONE,
} CallState;

typedef struct QueueClass QueueClass;

struct BusQueueCall {
        BusQueue *queue;                /* NULL: the queue no longer knows this call */
        QueueClass *class;              /* while queued or in flight */
        BusQueueCall *prev, *next;
        CallState state;
        bool floating;                  /* released by the queue after its callback */
        bool cancelled;                 /* freed by its owner in flight: kept only to hold its slot */
        sd_bus_message *message;        /* until sent */
        sd_bus_slot *slot;              /* while in flight */
        int error;                      /* CALL_FAILED: why it could not be sent */
        sd_bus_message_handler_t callback;
        void *userdata;
        uint64_t timeout_usec;
};

struct QueueClass {
        uint64_t id;
        BusQueueCall *head, *tail;      /* queued, oldest first */
        unsigned n_queued, n_in_flight;
        QueueClass *prev, *next;
};

struct BusQueue {
        sd_bus *bus;
        sd_event_source *kick;
        unsigned max_in_flight, class_max_in_flight;
        unsigned n_in_flight, n_queued;
        QueueClass *classes, *classes_tail;     /* those with calls queued or in flight */
        QueueClass *cursor;                     /* round robin: the class to look at first */
        BusQueueCall *in_flight, *in_flight_tail;
        BusQueueCall *failed, *failed_tail;
};

static QueueClass *class_find(BusQueue *q, uint64_t id) {
        for (QueueClass *k = q->classes; k; k = k->next)
                if (k->id == id)
                        return k;
        return NULL;
}

static void class_release_if_idle(BusQueue *q, QueueClass *k) {
        if (!k || k->n_queued > 0 || k->n_in_flight > 0)
                return;
        if (q->cursor == k)
                q->cursor = k->next;
        FIFO_REMOVE(q->classes, q->classes_tail, k);
        free(k);
}

static void queue_kick(BusQueue *q) {
        if (q->failed)
                (void) sd_event_source_set_enabled(q->kick, SD_EVENT_ONESHOT);
}

/* Takes the call out of wherever it is; the queue forgets it. */
static void call_unlink(BusQueueCall *c) {
        BusQueue *q = c->queue;
        QueueClass *k = c->class;

        if (!q)
                return;
        switch (c->state) {
        case CALL_QUEUED:
                FIFO_REMOVE(k->head, k->tail, c);
                k->n_queued--;
                q->n_queued--;
                break;
        case CALL_IN_FLIGHT:
                FIFO_REMOVE(q->in_flight, q->in_flight_tail, c);
                k->n_in_flight--;
                q->n_in_flight--;
                break;
        case CALL_FAILED:
                FIFO_REMOVE(q->failed, q->failed_tail, c);
                break;
        case CALL_DONE:
                break;
        }
        c->slot = sd_bus_slot_unref(c->slot);
        c->message = sd_bus_message_unref(c->message);
        c->state = CALL_DONE;
        c->queue = NULL;
        c->class = NULL;
        class_release_if_idle(q, k);
}

static void call_release(BusQueueCall *c) {
        call_unlink(c);
        free(c);
}

/* The next class, round robin from the cursor, that has a call queued and
 * room under the per-class limit. */
static QueueClass *queue_pick(BusQueue *q) {
        QueueClass *start = q->cursor ?: q->classes, *k = start;

        if (!k)
                return NULL;
        do {
                if (k->n_queued > 0 && (q->class_max_in_flight == 0 || k->n_in_flight < q->class_max_in_flight))
                        return k;
                k = k->next ?: q->classes;
        } while (k != start);
        return NULL;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

/* Sends what fits. Never invokes a callback: a call that cannot be sent
 * goes to the failed list and the defer source reports it. */
static void queue_dispatch(BusQueue *q) {
        while (q->n_in_flight < q->max_in_flight && q->n_queued > 0) {
                QueueClass *k = queue_pick(q);
                BusQueueCall *c;
                int r;

                if (!k)
                        break;
                c = k->head;
                FIFO_REMOVE(k->head, k->tail, c);
                k->n_queued--;
                q->n_queued--;
                q->cursor = k->next;

                r = sd_bus_call_async(q->bus, &c->slot, c->message, on_reply, c, c->timeout_usec);
                if (r < 0) {
                        c->error = r;
                        c->state = CALL_FAILED;
                        c->class = NULL;
                        FIFO_APPEND(q->failed, q->failed_tail, c);
                        class_release_if_idle(q, k);
                        queue_kick(q);
                        continue;
                }
                c->message = sd_bus_message_unref(c->message);
                c->state = CALL_IN_FLIGHT;
                FIFO_APPEND(q->in_flight, q->in_flight_tail, c);
                k->n_in_flight++;
                q->n_in_flight++;
        }
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BusQueueCall *c = userdata;
        BusQueue *q = c->queue;

        /* Its slot is free now (dbus-daemon has forgotten the call too):
         * the next one may go before this callback runs. */
        call_unlink(c);
        queue_dispatch(q);

        if (c->cancelled) {
                free(c);
                return 0;
        }
        if (c->floating) {
                int r = c->callback(reply, c->userdata, ret_error);
                free(c);
                return r;
        }
        /* An owned call: the callback may free it; do not touch it after. */
        return c->callback(reply, c->userdata, ret_error);
}

/* A call that could not be sent still gets its one callback, with an
 * error reply made up here, as sd-bus does for a connection that died. */
static void call_report_failure(BusQueueCall *c, sd_bus_message *m, int error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        (void) sd_bus_error_set_errnof(&e, error, "Could not send %s.%s(): %m",
                                       strna(sd_bus_message_get_interface(m)), strna(sd_bus_message_get_member(m)));
        /* A reply needs a sealed call with a serial; this one never had one. */
        (void) sd_bus_message_seal(m, UINT32_MAX, 0);
        r = sd_bus_message_new_method_error(m, &reply, &e);
        if (r >= 0)
                r = sd_bus_message_seal(reply, UINT32_MAX, 0);
        if (r < 0) {
                /* Only out of memory gets here; nothing can be reported. */
                if (c->floating)
                        free(c);
                return;
        }
        if (c->floating) {
                (void) c->callback(reply, c->userdata, &e);
                free(c);
                return;
        }
        (void) c->callback(reply, c->userdata, &e);
}

static int on_kick(sd_event_source *s, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        BusQueue *q = userdata;
        BusQueueCall *c;
        int error;

        queue_dispatch(q);
        c = q->failed;
        if (!c)
                return 0;
        /* One per turn of the loop: the callback may free the queue. */
        m = TAKE_PTR(c->message);
        error = c->error;
        call_unlink(c);
        queue_kick(q);
        call_report_failure(c, m, error);
        return 0;
}

int bus_queue_new(sd_bus *bus, unsigned max_in_flight, BusQueue **ret) {
        _cleanup_(bus_queue_freep) BusQueue *q = NULL;
        sd_event *e;
        int r;

        if (!bus || max_in_flight == 0 || !ret)
                return -EINVAL;
        e = sd_bus_get_event(bus);
        if (!e)
                return -ENXIO;  /* attach the bus to its loop first */

        q = calloc(1, sizeof(BusQueue));
        if (!q)
                return -ENOMEM;
        q->bus = sd_bus_ref(bus);
        q->max_in_flight = max_in_flight;
        r = sd_event_add_defer(e, &q->kick, on_kick, q);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(q->kick, SD_EVENT_OFF);
        (void) sd_event_source_set_description(q->kick, "bus-queue");
        *ret = TAKE_PTR(q);
        return 0;
}

/* Owned calls outlive the queue as inert handles; everything the queue
 * owns (floating calls, cancelled ones holding a slot) goes with it. */
static void queue_drop(BusQueue *q, BusQueueCall *c) {
        bool release = c->floating || c->cancelled;

        call_unlink(c);
        if (release)
                free(c);
}

BusQueue *bus_queue_free(BusQueue *q) {
        if (!q)
                return NULL;
        while (q->failed)
                queue_drop(q, q->failed);
        while (q->in_flight)
                queue_drop(q, q->in_flight);
        while (q->classes) {
                QueueClass *k = q->classes;
                /* The last call of a class releases the class. */
                while (q->classes == k && k->head)
                        queue_drop(q, k->head);
                if (q->classes == k)
                        class_release_if_idle(q, k);
        }
        sd_event_source_disable_unref(q->kick);
        sd_bus_unref(q->bus);
        free(q);
        return NULL;
}

void bus_queue_set_class_max_in_flight(BusQueue *q, unsigned n) {
        if (!q)
                return;
        q->class_max_in_flight = n;
        queue_dispatch(q);
}

int bus_queue_call_class(BusQueue *q, BusQueueCall **ret_call, uint64_t class, sd_bus_message *m,
                         sd_bus_message_handler_t callback, void *userdata, uint64_t timeout_usec) {
        QueueClass *k;
        BusQueueCall *c;

        if (!q || !m || !callback)
                return -EINVAL;
        if (sd_bus_message_get_bus(m) != q->bus || sd_bus_message_get_expect_reply(m) <= 0)
                return -EINVAL;
        if (sd_bus_is_open(q->bus) <= 0)
                return -ENOTCONN;

        c = calloc(1, sizeof(BusQueueCall));
        if (!c)
                return -ENOMEM;
        k = class_find(q, class);
        if (!k) {
                k = calloc(1, sizeof(QueueClass));
                if (!k) {
                        free(c);
                        return -ENOMEM;
                }
                k->id = class;
                FIFO_APPEND(q->classes, q->classes_tail, k);
        }
        c->queue = q;
        c->class = k;
        c->state = CALL_QUEUED;
        c->floating = !ret_call;
        c->message = sd_bus_message_ref(m);
        c->callback = callback;
        c->userdata = userdata;
        c->timeout_usec = timeout_usec;
        FIFO_APPEND(k->head, k->tail, c);
        k->n_queued++;
        q->n_queued++;

        queue_dispatch(q);
        if (ret_call)
                *ret_call = c;
        return 0;
}

int bus_queue_call(BusQueue *q, BusQueueCall **ret_call, sd_bus_message *m, sd_bus_message_handler_t callback,
                   void *userdata, uint64_t timeout_usec) {
        return bus_queue_call_class(q, ret_call, BUS_QUEUE_CLASS_DEFAULT, m, callback, userdata, timeout_usec);
}

int bus_queue_call_method(BusQueue *q, BusQueueCall **ret_call, const char *destination, const char *path,
                          const char *interface, const char *member, sd_bus_message_handler_t callback,
                          void *userdata, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!q)
                return -EINVAL;
        r = sd_bus_message_new_method_call(q->bus, &m, destination, path, interface, member);
        if (r < 0)
                return r;
        if (types) {
                va_list ap;
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        return bus_queue_call(q, ret_call, m, callback, userdata, 0);
}

BusQueueCall *bus_queue_call_free(BusQueueCall *c) {
        if (!c)
                return NULL;
        if (c->queue && c->state == CALL_IN_FLIGHT) {
                /* dbus-daemon counts the call until its reply comes, so the
                 * slot stays taken until then; the queue frees it. */
                c->cancelled = true;
                c->callback = NULL;
                c->userdata = NULL;
                return NULL;
        }
        call_release(c);
        return NULL;
}

bool bus_queue_call_is_pending(const BusQueueCall *c) {
        return c && c->queue && !c->cancelled;
}

unsigned bus_queue_n_in_flight(const BusQueue *q) {
        return q ? q->n_in_flight : 0;
}

unsigned bus_queue_n_queued(const BusQueue *q) {
        return q ? q->n_queued : 0;
}

unsigned bus_queue_class_pending(const BusQueue *q, uint64_t class) {
        if (!q)
                return 0;
        for (const QueueClass *k = q->classes; k; k = k->next)
                if (k->id == class)
                        return k->n_queued + k->n_in_flight;
        return 0;
}
