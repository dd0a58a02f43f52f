/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes as the body of a PropertiesChanged signal
 * about a unit, built as a D-Bus message (so well-formed on the wire, as
 * anything the bus delivers is) but with any property names, any variant
 * types and any values, then read as the units watcher reads it
 * (src/watch/unit-bus.c), and every snapshot it accepts fed to
 * unit-state.c. Reading must refuse (-EBADMSG) or accept, never crash
 * or read what is not there. */

#include <stdint.h>
#include <sys/socket.h>

#include <systemd/sd-bus.h>

#include "unit-bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
        "ActiveState", "SubState", "Job", "InactiveEnterTimestamp", "StateChangeTimestamp", "Result", "NRestarts",
        "ExecMainExitTimestamp", "Restart", "RestartForceExitStatus", "Description", "",
};
static const char *const ifaces[] = {
        "org.freedesktop.systemd1.Unit", "org.freedesktop.systemd1.Service", "org.freedesktop.systemd1.Socket",
        "org.freedesktop.systemd1.Manager", "org.example.Other", "org.freedesktop.systemd1.",
};

typedef struct Input {
        const uint8_t *data;
        size_t size, offset;
} Input;

static uint8_t take(Input *in) {
        return in->offset < in->size ? in->data[in->offset++] : 0;
}

static uint64_t take_u64(Input *in) {
        uint64_t v = 0;
        for (uint8_t n = take(in) & 7; n > 0; n--)
                v = (v << 8) | take(in);
        return v;
}

static void take_string(Input *in, char *buf, size_t size) {
        size_t n = take(in) % size;
        for (size_t i = 0; i < n; i++) {
                buf[i] = (char) take(in);
                if (buf[i] == 0)
                        buf[i] = 'a';
        }
        buf[n] = 0;
}

static int append_value(Input *in, sd_bus_message *m) {
        char s[64];
        int32_t ints[4] = { 1, 2, 3, 4 };
        int r;

        switch (take(in) % 7) {
        case 0:
                take_string(in, s, sizeof(s));
                return sd_bus_message_append(m, "v", "s", s);
        case 1:
                return sd_bus_message_append(m, "v", "t", take_u64(in));
        case 2:
                return sd_bus_message_append(m, "v", "u", (uint32_t) take_u64(in));
        case 3:
                return sd_bus_message_append(m, "v", "(uo)", (uint32_t) take_u64(in), "/");
        case 4:
                r = sd_bus_message_open_container(m, 'v', "(aiai)");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'r', "aiai");
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'i', ints, (take(in) % 5) * sizeof(int32_t));
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'i', ints, (take(in) % 5) * sizeof(int32_t));
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r;
        case 5:
                return sd_bus_message_append(m, "v", "b", take(in) & 1);
        default:
                return sd_bus_message_append(m, "v", "as", 2, "a", "b");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static sd_bus *bus;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Input in = { .data = data, .size = size };
        const char *iface;
        UnitPropIface kind;
        UnitProps p = {};
        unsigned invalidated = 0, n;
        int r;

        if (!bus) {
                int fds[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0 ||
                    sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
                        abort();
        }
        if (sd_bus_message_new_signal(bus, &m, "/org/freedesktop/systemd1/unit/a_2eservice",
                                      "org.freedesktop.DBus.Properties", "PropertiesChanged") < 0)
                abort();
        iface = ifaces[take(&in) % ELEMENTSOF(ifaces)];
        if (sd_bus_message_append(m, "s", iface) < 0 || sd_bus_message_open_container(m, 'a', "{sv}") < 0)
                abort();
        for (n = take(&in) % 16; n > 0; n--) {
                /* what sd-bus will not build (a string that is not UTF-8)
                 * no bus delivers either */
                if (sd_bus_message_open_container(m, 'e', "sv") < 0 ||
                    sd_bus_message_append(m, "s", names[take(&in) % ELEMENTSOF(names)]) < 0 || append_value(&in, m) < 0 ||
                    sd_bus_message_close_container(m) < 0)
                        return 0;
        }
        if (sd_bus_message_close_container(m) < 0 || sd_bus_message_open_container(m, 'a', "s") < 0)
                abort();
        for (n = take(&in) % 4; n > 0; n--)
                if (sd_bus_message_append(m, "s", names[take(&in) % ELEMENTSOF(names)]) < 0)
                        abort();
        if (sd_bus_message_close_container(m) < 0 || sd_bus_message_seal(m, 1, 0) < 0 ||
            sd_bus_message_rewind(m, true) < 0)
                abort();

        if (sd_bus_message_read(m, "s", &iface) <= 0)
                abort();
        if (unit_bus_iface_kind(iface, &kind) < 0)
                return 0;
        r = unit_bus_read_properties_changed(m, kind, &p, &invalidated);
        if (r < 0) {
                if (r != -EBADMSG)
                        abort();
                return 0;
        }
        if (invalidated & ~((1u << _UNIT_PROP_MAX) - 1))
                abort();
        {
                UnitState s;
                UnitDecision d;
                unit_state_init(&s, kind == UNIT_IFACE_SERVICE);
                unit_state_update(&s, &p, 0, &d);
                if (d.n_events > UNIT_DECISION_EVENTS_MAX)
                        abort();
        }
        return 0;
}
