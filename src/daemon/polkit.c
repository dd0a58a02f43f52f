/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pwd.h>
#include <systemd/sd-event.h>

#include "bus-queue.h"
#include "polkit.h"
#include "string-util.h"
#include "strv.h"

/* How long one check may take: a person may need time to type a
 * password; polkit ends an unanswered prompt itself before this. */
#define POLKIT_CHECK_TIMEOUT_USEC (5 * 60 * 1000000ULL)

/* Unique names -> uid. Asking dbus-daemon for a caller's uid is a
 * blocking round trip, and a flood sends thousands of calls from a few
 * connections; a unique name is never reused while the bus runs, so a
 * remembered answer never goes stale. */
#define UID_CACHE_SIZE 64

typedef struct PolkitQuery PolkitQuery;

typedef struct CachedUid {
        char *name;
        uid_t uid;
} CachedUid;

struct PolkitAuthority {
        sd_bus *bus;
        BusQueue *queue;                /* class: the caller's uid */
        PolkitQuery *queries;           /* every check not yet answered */
        CachedUid uids[UID_CACHE_SIZE];
        unsigned uids_next;             /* the slot to overwrite next */
};

struct PolkitQuery {
        PolkitAuthority *authority;
        PolkitQuery *prev, *next;
        sd_bus_message *call;
        polkit_cb cb;
        void *userdata;
        void (*free_userdata)(void *userdata);
        BusQueueCall *check;            /* a CheckAuthorization queued or on the wire */
        sd_event_source *defer;         /* root: the answer, from the loop */
};

/* Unlinks and frees; the callback has run or never will. */
static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        if (q->authority) {
                if (q->prev)
                        q->prev->next = q->next;
                else
                        q->authority->queries = q->next;
                if (q->next)
                        q->next->prev = q->prev;
        }
        bus_queue_call_free(q->check);
        sd_event_source_disable_unref(q->defer);
        sd_bus_message_unref(q->call);
        free(q);
        return NULL;
}

int polkit_authority_new(sd_bus *bus, PolkitAuthority **ret) {
        _cleanup_(polkit_authority_freep) PolkitAuthority *a = NULL;
        int r;

        if (!bus || !ret)
                return -EINVAL;
        a = calloc(1, sizeof(PolkitAuthority));
        if (!a)
                return -ENOMEM;
        a->bus = sd_bus_ref(bus);
        r = bus_queue_new(bus, POLKIT_MAX_IN_FLIGHT, &a->queue);
        if (r < 0)
                return r;
        bus_queue_set_class_max_in_flight(a->queue, POLKIT_MAX_IN_FLIGHT_PER_USER);
        *ret = TAKE_PTR(a);
        return 0;
}

PolkitAuthority *polkit_authority_free(PolkitAuthority *a) {
        if (!a)
                return NULL;
        while (a->queries) {
                PolkitQuery *q = a->queries;
                if (q->free_userdata)
                        q->free_userdata(q->userdata);
                polkit_query_free(q);
        }
        bus_queue_free(a->queue);
        for (size_t i = 0; i < UID_CACHE_SIZE; i++)
                free(a->uids[i].name);
        sd_bus_unref(a->bus);
        free(a);
        return NULL;
}

static int authority_caller_uid(PolkitAuthority *a, sd_bus_message *call, uid_t *ret) {
        const char *sender = sd_bus_message_get_sender(call);
        CachedUid *slot;
        uid_t uid;
        int r;

        if (!sender)
                return -EBADMSG;
        for (size_t i = 0; i < UID_CACHE_SIZE; i++)
                if (streq_ptr(a->uids[i].name, sender)) {
                        *ret = a->uids[i].uid;
                        return 0;
                }
        r = bus_caller_uid(call, &uid);
        if (r < 0)
                return r;
        slot = a->uids + a->uids_next;
        free(slot->name);
        slot->name = strdup(sender);
        slot->uid = uid;
        a->uids_next = (a->uids_next + 1) % UID_CACHE_SIZE;
        *ret = uid;
        return 0;
}

unsigned polkit_authority_pending(const PolkitAuthority *a, uid_t uid) {
        return a ? bus_queue_class_pending(a->queue, uid) : 0;
}

int bus_caller_uid(sd_bus_message *call, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_euid(creds, ret);
}

char *bus_caller_name(sd_bus_message *call) {
        struct passwd pw, *result = NULL;
        char buf[1024];
        char *s = NULL;
        uid_t uid;

        if (bus_caller_uid(call, &uid) < 0)
                return strdup("unknown");
        /* Local users come from files (NSS); good enough at the rate people act. */
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &result) == 0 && result)
                return asprintf(&s, "%s (uid %u)", result->pw_name, (unsigned) uid) < 0 ? NULL : s;
        return asprintf(&s, "uid %u", (unsigned) uid) < 0 ? NULL : s;
}

/* polkit is not there: not installed, masked, or failed to start. Then
 * only root may act, which is never more than polkit would allow. */
static bool polkit_unavailable(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      "org.freedesktop.systemd1.UnitMasked", "org.freedesktop.systemd1.NoSuchUnit",
                                      "org.freedesktop.systemd1.LoadFailed") ||
               (e->name && string_has_prefix(e->name, "org.freedesktop.DBus.Error.Spawn."));
}

/* The query goes first, then the callback runs: it owns userdata now,
 * and may even free the authority. */
static void polkit_finish(PolkitQuery *q, int verdict, const sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = TAKE_PTR(q->call);
        polkit_cb cb = q->cb;
        void *userdata = q->userdata;

        polkit_query_free(q);
        cb(call, verdict, error, userdata);
}

/* Root needs no question; the answer still comes from the loop, never
 * from inside polkit_check_async(). */
static int on_root(sd_event_source *s, void *userdata) {
        polkit_finish(userdata, 1, NULL);
        return 0;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized, challenge, r;

        if (e) {
                /* No polkit on the bus: fall back to "root only", and root
                 * never gets here; so: refused. */
                if (polkit_unavailable(e)) {
                        sd_bus_error_set(&error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root may do this when polkit is not running.");
                        polkit_finish(q, 0, &error);
                        return 0;
                }
                sd_bus_error_setf(&error, SD_BUS_ERROR_ACCESS_DENIED, "polkit check failed: %s", e->message);
                polkit_finish(q, -EACCES, &error);
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                sd_bus_error_set(&error, SD_BUS_ERROR_ACCESS_DENIED, "polkit sent a malformed reply.");
                polkit_finish(q, r, &error);
                return 0;
        }
        if (authorized) {
                polkit_finish(q, 1, NULL);
                return 0;
        }
        if (challenge)
                sd_bus_error_set(&error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                 "Authentication is required (run salvectl on a terminal, or as root).");
        else
                sd_bus_error_set(&error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized by polkit.");
        polkit_finish(q, 0, &error);
        return 0;
}

static int check_message_new(PolkitAuthority *a, sd_bus_message *call, const char *action,
                             const char *const *details, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *sender = sd_bus_message_get_sender(call);
        int r;

        if (!sender)
                return -EBADMSG;
        r = sd_bus_message_new_method_call(a->bus, &m, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, action);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{ss}");
        for (const char *const *d = details; r >= 0 && d && d[0] && d[1]; d += 2)
                r = sd_bus_message_append(m, "{ss}", d[0], d[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "us", sd_bus_message_get_allow_interactive_authorization(call) ? 1 : 0,
                                          "");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int polkit_check_async(PolkitAuthority *a, sd_bus_message *call, const char *action, const char *const *details,
                       polkit_cb cb, void *userdata, void (*free_userdata)(void *userdata),
                       sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        PolkitQuery *q;
        unsigned pending, total;
        uid_t uid;
        int r;

        if (!a || !call || !action || !cb)
                return -EINVAL;
        r = authority_caller_uid(a, call, &uid);
        if (r < 0) {
                /* Most likely the caller is already gone. */
                sd_bus_error_set(ret_error, SD_BUS_ERROR_ACCESS_DENIED, "Could not identify the caller.");
                return -EACCES;
        }

        if (uid != 0) {
                /* A fair share first: refusing costs nothing, a check
                 * costs polkit's time and a slot on salved's connection. */
                pending = bus_queue_class_pending(a->queue, uid);
                total = bus_queue_n_in_flight(a->queue) + bus_queue_n_queued(a->queue);
                if (pending >= POLKIT_MAX_PENDING_PER_USER) {
                        sd_bus_error_setf(ret_error, SALVE_ERROR_TOO_MANY_REQUESTS,
                                          "You have %u requests pending, at most %u per user; try again when they "
                                          "are answered.", pending, POLKIT_MAX_PENDING_PER_USER);
                        return -EBUSY;
                }
                if (total >= POLKIT_MAX_PENDING) {
                        sd_bus_error_setf(ret_error, SALVE_ERROR_TOO_MANY_REQUESTS,
                                          "salved has %u requests pending, at most %u; try again shortly.", total,
                                          POLKIT_MAX_PENDING);
                        return -EBUSY;
                }
                r = check_message_new(a, call, action, details, &m);
                if (r < 0)
                        return r;
        }

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->call = sd_bus_message_ref(call);
        q->cb = cb;
        q->userdata = userdata;
        q->free_userdata = free_userdata;

        if (uid == 0)
                r = sd_event_add_defer(sd_bus_get_event(a->bus), &q->defer, on_root, q);
        else
                r = bus_queue_call_class(a->queue, &q->check, uid, m, on_reply, q, POLKIT_CHECK_TIMEOUT_USEC);
        if (r < 0) {
                polkit_query_free(q);
                return r;
        }
        if (q->defer)
                (void) sd_event_source_set_description(q->defer, "polkit-root");
        q->authority = a;
        q->next = a->queries;
        if (q->next)
                q->next->prev = q;
        a->queries = q;
        return 0;
}
