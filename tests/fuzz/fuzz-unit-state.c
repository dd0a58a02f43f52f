/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes as a sequence of property snapshots of one
 * unit, as the units watcher would hand them to unit-state.c from signals
 * and fetches, values drawn from what systemd sends and from raw bytes
 * (which the setters must refuse or take whole). After every update: at
 * most UNIT_DECISION_EVENTS_MAX events, each a known type; a "failed" has a
 * result and is the failure the state is in, never the one reported just
 * before; a "restarted" counts at least one restart; a fetch asks only for
 * properties that exist. */

#include <stdint.h>

#include "unit-state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const strings[] = {
        "active", "reloading", "inactive", "failed", "activating", "deactivating", "maintenance",
        "running", "dead", "auto-restart", "start", "stop-sigterm", "exited",
        "success", "exit-code", "signal", "core-dump", "watchdog", "timeout", "oom-kill", "start-limit-hit",
        "resources", "no", "on-failure", "always",
};

typedef struct Input {
        const uint8_t *data;
        size_t size, offset;
} Input;

static bool take(Input *in, uint8_t *ret) {
        if (in->offset >= in->size)
                return false;
        *ret = in->data[in->offset++];
        return true;
}

static void set_string(Input *in, UnitProps *p, UnitProp prop) {
        char raw[48];
        uint8_t b, n;

        if (!take(in, &b))
                return;
        if (b < 0x80) {
                (void) unit_props_set_string(p, prop, strings[b % ELEMENTSOF(strings)]);
                return;
        }
        n = b & 0x3f;
        if (n >= sizeof(raw))
                n = sizeof(raw) - 1;
        for (uint8_t i = 0; i < n; i++)
                if (!take(in, (uint8_t *) raw + i))
                        raw[i] = 'x';
        raw[n] = 0;
        (void) unit_props_set_string(p, prop, raw);
}

static void set_uint(Input *in, UnitProps *p, UnitProp prop) {
        uint64_t v = 0;
        uint8_t b, n;

        if (!take(in, &b))
                return;
        /* small values collide, as timestamps of one unit do */
        n = b >> 5;
        v = b & 0x1f;
        for (uint8_t i = 0; i < n; i++) {
                uint8_t c = 0;
                (void) take(in, &c);
                v = (v << 8) | c;
        }
        (void) unit_props_set_uint(p, prop, v);
}

static void check(const UnitState *s, const UnitDecision *d, usec_t *last_failure) {
        if (d->n_events > UNIT_DECISION_EVENTS_MAX)
                abort();
        if (d->fetch & ~((1u << _UNIT_PROP_MAX) - 1))
                abort();
        for (size_t i = 0; i < d->n_events; i++) {
                const UnitEvent *e = d->events + i;

                if (!unit_event_type_to_string(e->type))
                        abort();
                if (e->type == UNIT_EVENT_FAILED) {
                        if (!e->result || !*e->result)
                                abort();
                        if (e->occurrence != s->now.state_change || s->now.active != UNIT_STATE_FAILED)
                                abort();
                        if (*last_failure != 0 && e->occurrence == *last_failure)
                                abort();
                        *last_failure = e->occurrence;
                }
                if (e->type == UNIT_EVENT_RESTARTED && e->restarts == 0)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Input in = { .data = data, .size = size };
        UnitState s;
        UnitProps p = {};
        usec_t last_failure = 0;
        uint8_t op;

        if (!take(&in, &op))
                return 0;
        unit_state_init(&s, op & 1);
        while (take(&in, &op)) {
                UnitProp prop = op & 0x0f;
                UnitDecision d;

                if (prop >= _UNIT_PROP_MAX) {
                        /* flush the snapshot: as a signal, fetched, or unanswered */
                        unit_state_update(&s, &p, (op >> 4) & 3, &d);
                        check(&s, &d, &last_failure);
                        (void) unit_state_worth_keeping(&s);
                        (void) unit_state_may_restart(&s);
                        p = (UnitProps) {};
                        continue;
                }
                switch (unit_prop_info(prop)->signature[0]) {
                case 's':
                        set_string(&in, &p, prop);
                        break;
                case '(':
                        if (prop == UNIT_PROP_RESTART_FORCE)
                                unit_props_set_restart_force(&p, op & 0x10);
                        else
                                set_uint(&in, &p, prop);
                        break;
                default:
                        set_uint(&in, &p, prop);
                }
        }
        return 0;
}
