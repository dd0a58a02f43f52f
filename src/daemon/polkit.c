/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pwd.h>
#include <systemd/sd-event.h>

#include "polkit.h"
#include "string-util.h"
#include "strv.h"

struct PolkitQuery {
        sd_bus_message *call;
        polkit_cb cb;
        void *userdata;
        sd_bus_slot *slot;
        sd_event_source *defer;
};

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->defer);
        sd_bus_message_unref(q->call);
        free(q);
        return NULL;
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

static void polkit_finish(PolkitQuery *q, int verdict, const sd_bus_error *error) {
        q->cb(q->call, verdict, error, q->userdata);
        polkit_query_free(q);
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
                uid_t uid;
                /* No polkit on the bus: fall back to "root only". */
                if (polkit_unavailable(e)) {
                        bool root = bus_caller_uid(q->call, &uid) >= 0 && uid == 0;
                        if (!root)
                                sd_bus_error_set(&error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Only root may do this when polkit is not running.");
                        polkit_finish(q, root, &error);
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

int polkit_check_async(sd_bus *bus, sd_event *event, sd_bus_message *call, const char *action,
                       const char *const *details, polkit_cb cb, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        PolkitQuery *q;
        const char *sender;
        uid_t uid;
        int r;

        sender = sd_bus_message_get_sender(call);
        if (!sender)
                return -EBADMSG;

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->call = sd_bus_message_ref(call);
        q->cb = cb;
        q->userdata = userdata;

        if (bus_caller_uid(call, &uid) >= 0 && uid == 0) {
                r = sd_event_add_defer(event, &q->defer, on_root, q);
                if (r < 0)
                        polkit_query_free(q);
                return r;
        }

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.PolicyKit1",
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
        /* A person may need time to type a password; polkit ends it itself. */
        if (r >= 0)
                r = sd_bus_call_async(bus, &q->slot, m, on_reply, q, 5 * 60 * 1000000ULL);
        if (r < 0) {
                polkit_query_free(q);
                return r;
        }
        return 0;
}
