/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The units watcher: systemd's units over sd-bus, as "unit" trigger
 * events (failed, active, inactive, restarted). What to emit is decided by
 * unit-state.c from the snapshots this file reads; this file owns the bus
 * side: the matches, the calls, a record per unit and the resyncs.
 *
 * - One match for PropertiesChanged under /org/freedesktop/systemd1/unit
 *   (path_namespace), one for the manager's Reloading and one for
 *   NameOwnerChanged of org.freedesktop.systemd1, all installed before
 *   Subscribe and ListUnits, so nothing that changes after the list
 *   goes unseen.
 * - The first enumeration reports only units that are failed now
 *   (.initial, once, with the occurrence the manager can look up in its
 *   journal); it emits no initial "active" or "inactive" for every
 *   loaded unit.
 * - A record is kept only for a unit seen changing since the watcher
 *   started (StateChangeTimestamp after its start, or a job queued) or
 *   failed; it goes
 *   once the unit settles inactive. systemd re-sends every unit's
 *   properties after a reexec: those with old timestamps make no record.
 * - A service's type interface signal (Result, NRestarts, ExecMain*)
 *   comes just before its Unit signal; for a unit without a record it is
 *   held (one slot) until that Unit signal says whether to keep it, so a
 *   failure needs no round trip for its Result.
 * - What a signal does not carry, or only invalidates, and the
 *   confirmations unit-state.c asks for, are fetched with Gets through
 *   the BusQueue (ctx->calls, else one of our own), in UnitProp order,
 *   one fetch per record at a time.
 * - systemd re-executing (a new owner of its name), a daemon-reload
 *   (Reloading false) or watch_resync(): WATCH_LOST, Subscribe again,
 *   ListUnits, fetch every unit that has a record or is failed, diff,
 *   emit what was missed with .resynced, WATCH_RESYNCED.
 * Every slot and call is owned here and released in done(). */

#include <inttypes.h>

#include "bus-names.h"
#include "string-util.h"
#include "strv.h"
#include "unit-bus.h"
#include "unit-state.h"
#include "watch.h"

#define SYSTEMD_UNIT_PATH_PREFIX SYSTEMD_UNIT_PATH "/"
#define UNIT_WATCH_CALLS_MAX 32         /* in flight on our own queue */

typedef struct UnitWatch UnitWatch;
typedef struct UnitRecord UnitRecord;
typedef struct UnitFetch UnitFetch;

typedef enum FetchPurpose {
        FETCH_SIGNAL,                   /* asked for by a decision */
        FETCH_INITIAL,                  /* the first enumeration */
        FETCH_RESYNC,
} FetchPurpose;

typedef struct FetchCall {
        UnitFetch *fetch;
        UnitProp prop;
        BusQueueCall *call;
} FetchCall;

struct UnitFetch {
        UnitRecord *record;
        FetchPurpose purpose;
        uint64_t gen;                   /* the enumeration it counts for, 0: none */
        unsigned mask;
        unsigned superseded;            /* changed by signals since: their word is newer */
        unsigned unanswered;
        unsigned n_pending;
        UnitProps props;
        FetchCall calls[_UNIT_PROP_MAX];
};

struct UnitRecord {
        UnitRecord *prev, *next;
        UnitWatch *watch;
        char *path;
        char *name;
        UnitState state;
        UnitFetch *fetch;               /* in flight */
        unsigned want;                  /* asked for while one was in flight */
        FetchPurpose want_purpose;
        uint64_t want_gen;
        uint64_t seen_gen;              /* the last enumeration that listed it */
};

struct UnitWatch {
        Watch watch;
        BusQueue *own_calls;
        BusQueue *calls;
        sd_bus_slot *slot_changed;
        sd_bus_slot *slot_reloading;
        sd_bus_slot *slot_owner;
        BusQueueCall *list_call;
        UnitRecord *records;
        size_t n_records;

        /* a type interface snapshot of a unit without a record */
        char *held_path;
        UnitProps held;

        usec_t since;                   /* realtime at start: changes after it are news */
        uint64_t gen;                   /* current enumeration */
        bool enumerating;
        bool resyncing;                 /* the enumeration is a resync, not the first */
        unsigned outstanding;           /* the list and fetches of gen */
        unsigned enum_listed, enum_failed, enum_events;
};

static void record_fetch(UnitRecord *rec, unsigned mask, FetchPurpose purpose, uint64_t gen);
static void enumeration_step_done(UnitWatch *u, uint64_t gen);
static int start_enumeration(UnitWatch *u, bool resync);

static UnitWatch *UNIT_WATCH(Watch *w) {
        return (UnitWatch *) w;
}

/* ---- records ---- */

static UnitRecord *record_find(UnitWatch *u, const char *path) {
        for (UnitRecord *r = u->records; r; r = r->next)
                if (streq(r->path, path))
                        return r;
        return NULL;
}

static UnitFetch *fetch_free(UnitFetch *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(f->calls); i++)
                f->calls[i].call = bus_queue_call_free(f->calls[i].call);
        return mfree(f);
}

static void fetch_freep(UnitFetch **f) {
        fetch_free(*f);
}

static UnitRecord *record_free(UnitRecord *rec) {
        UnitWatch *u;
        uint64_t gen = 0;

        if (!rec)
                return NULL;
        u = rec->watch;
        if (rec->fetch)
                gen = rec->fetch->gen;
        rec->fetch = fetch_free(rec->fetch);
        if (rec->prev)
                rec->prev->next = rec->next;
        else
                u->records = rec->next;
        if (rec->next)
                rec->next->prev = rec->prev;
        u->n_records--;
        free(rec->path);
        free(rec->name);
        /* What it still owed an enumeration is settled with it. */
        if (gen != 0)
                enumeration_step_done(u, gen);
        if (rec->want_gen != 0)
                enumeration_step_done(u, rec->want_gen);
        return mfree(rec);
}

static int record_new(UnitWatch *u, const char *path, UnitRecord **ret) {
        _cleanup_free_ char *name = NULL;
        UnitRecord *rec;
        int r;

        r = sd_bus_path_decode(path, "/org/freedesktop/systemd1/unit", &name);
        if (r <= 0 || !name || !unit_bus_name_is_valid(name))
                return -EBADMSG;
        rec = calloc(1, sizeof(*rec));
        if (!rec)
                return -ENOMEM;
        rec->path = strdup(path);
        if (!rec->path) {
                free(rec);
                return -ENOMEM;
        }
        rec->name = TAKE_PTR(name);
        rec->watch = u;
        unit_state_init(&rec->state, string_has_suffix(rec->name, ".service"));
        rec->next = u->records;
        if (u->records)
                u->records->prev = rec;
        u->records = rec;
        u->n_records++;
        *ret = rec;
        return 0;
}

/* ---- events ---- */

static void emit(UnitRecord *rec, const UnitEvent *ev, FetchPurpose purpose) {
        UnitWatch *u = rec->watch;
        char occurrence[UNIT_NAME_MAX + 32];
        TriggerEvent te = {
                .kind = TRIGGER_UNIT,
                .name = rec->name,
                .event = unit_event_type_to_string(ev->type),
                .result = ev->type == UNIT_EVENT_FAILED ? ev->result : NULL,
                .restarts = ev->restarts,
                .realtime = ev->realtime ?: now_usec(CLOCK_REALTIME),
                .monotonic = now_usec(CLOCK_MONOTONIC),
                .initial = purpose == FETCH_INITIAL,
                .resynced = purpose == FETCH_RESYNC,
        };

        if (ev->type == UNIT_EVENT_FAILED) {
                (void) snprintf(occurrence, sizeof(occurrence), "%s@%" PRIu64, rec->name, ev->occurrence);
                te.occurrence = occurrence;
        }
        if (u->enumerating && purpose != FETCH_SIGNAL)
                u->enum_events++;
        watch_emit(&u->watch, &te);
}

/* Applies a snapshot and acts on the decision. May free rec. */
static void record_apply(UnitRecord *rec, const UnitProps *p, UnitUpdateFlags flags, FetchPurpose purpose) {
        UnitDecision d;

        unit_state_update(&rec->state, p, flags, &d);
        for (size_t i = 0; i < d.n_events; i++)
                emit(rec, d.events + i, purpose);
        if (d.fetch)
                record_fetch(rec, d.fetch, FETCH_SIGNAL, 0);
        if (!unit_state_worth_keeping(&rec->state) && !rec->fetch)
                record_free(rec);
}

/* ---- fetches: Gets of single properties ---- */

static void fetch_done(UnitFetch *f) {
        UnitRecord *rec = f->record;
        UnitWatch *u = rec->watch;
        FetchPurpose purpose = f->purpose;
        uint64_t gen = f->gen;
        UnitUpdateFlags flags = UNIT_UPDATE_FETCHED;
        UnitProps p = {};

        unit_props_merge(&p, &f->props, f->superseded);
        /* Not all answered (the unit is gone, the type has no such
         * property): decide on what there is, do not ask again. */
        if (f->unanswered)
                flags = UNIT_UPDATE_UNANSWERED;
        rec->fetch = fetch_free(f);

        /* What was asked meanwhile goes out first: the record stays while
         * a fetch is in flight. */
        if (rec->want) {
                unsigned want = rec->want;
                FetchPurpose wp = rec->want_purpose;
                uint64_t wg = rec->want_gen;

                rec->want = 0;
                rec->want_gen = 0;
                rec->want_purpose = FETCH_SIGNAL;
                record_fetch(rec, want, wp, wg);
        }
        record_apply(rec, &p, flags, purpose);     /* may free rec */
        if (gen != 0)
                enumeration_step_done(u, gen);
}

static int on_fetch_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FetchCall *c = userdata;
        UnitFetch *f = c->fetch;
        UnitWatch *u = f->record->watch;
        int r;

        c->call = bus_queue_call_free(c->call);
        if (sd_bus_message_is_method_error(m, NULL))
                f->unanswered |= UNIT_PROP_BIT(c->prop);
        else {
                r = unit_bus_read_value(m, c->prop, &f->props);
                if (r < 0) {
                        f->unanswered |= UNIT_PROP_BIT(c->prop);
                        watch_notice(&u->watch, WATCH_BAD_INPUT, -r, "units: %s: reply to Get %s is not a %s",
                                     f->record->name, unit_prop_info(c->prop)->name,
                                     unit_prop_info(c->prop)->signature);
                }
        }
        if (--f->n_pending == 0)
                fetch_done(f);
        return 0;
}

static void record_fetch(UnitRecord *rec, unsigned mask, FetchPurpose purpose, uint64_t gen) {
        UnitWatch *u = rec->watch;
        _cleanup_(fetch_freep) UnitFetch *f = NULL;
        int r = 0;

        if (!rec->state.service)
                mask &= ~(UNIT_PROPS_SERVICE | UNIT_PROPS_POLICY);
        if (!mask) {
                if (gen != 0)
                        enumeration_step_done(u, gen);
                return;
        }
        if (rec->fetch) {
                rec->want |= mask;
                if (purpose > rec->want_purpose)
                        rec->want_purpose = purpose;
                if (gen != 0) {
                        if (rec->want_gen != 0 && rec->want_gen != gen)
                                enumeration_step_done(u, rec->want_gen);
                        if (rec->want_gen == gen)
                                enumeration_step_done(u, gen);  /* counted once */
                        rec->want_gen = gen;
                }
                return;
        }

        f = calloc(1, sizeof(*f));
        if (!f) {
                r = -ENOMEM;
                goto fail;
        }
        f->record = rec;
        f->purpose = purpose;
        f->gen = gen;
        f->mask = mask;
        for (UnitProp p = 0; p < _UNIT_PROP_MAX; p++) {
                char buf[64];
                const char *iface;

                if (!(mask & UNIT_PROP_BIT(p)))
                        continue;
                iface = unit_bus_prop_interface(rec->name, p, buf, sizeof(buf));
                if (!iface)
                        continue;
                f->calls[p] = (FetchCall) { .fetch = f, .prop = p };
                r = bus_queue_call_method(u->calls, &f->calls[p].call, SYSTEMD_BUS_NAME, rec->path,
                                          DBUS_PROPERTIES_IFACE, "Get", on_fetch_reply, f->calls + p, "ss",
                                          iface, unit_prop_info(p)->name);
                if (r < 0)
                        goto fail;
                f->n_pending++;
        }
        if (f->n_pending == 0) {
                r = -EINVAL;
                goto fail;
        }
        rec->fetch = TAKE_PTR(f);
        return;

fail:
        watch_notice(&u->watch, WATCH_FAILED, -r, "units: cannot ask systemd about %s: %s", rec->name, strerror(-r));
        if (gen != 0)
                enumeration_step_done(u, gen);
}

/* ---- signals ---- */

static void record_take_signal(UnitRecord *rec, const UnitProps *p, unsigned invalidated) {
        if (rec->fetch)
                rec->fetch->superseded |= unit_props_diff(&rec->state.now, p);
        if (invalidated)
                record_fetch(rec, invalidated, FETCH_SIGNAL, 0);
        record_apply(rec, p, 0, FETCH_SIGNAL);     /* may free rec */
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitWatch *u = userdata;
        const char *path = sd_bus_message_get_path(m), *iface;
        UnitPropIface kind;
        UnitProps p = {};
        unsigned invalidated = 0;
        UnitRecord *rec;
        int r;

        if (!path || !string_has_prefix(path, SYSTEMD_UNIT_PATH_PREFIX) || !sd_bus_message_has_signature(m, "sa{sv}as")) {
                watch_notice(&u->watch, WATCH_BAD_INPUT, EBADMSG, "units: PropertiesChanged on %s with signature %s",
                             strna(path), strna(sd_bus_message_get_signature(m, true)));
                return 0;
        }
        r = sd_bus_message_read_basic(m, 's', &iface);
        if (r <= 0) {
                watch_notice(&u->watch, WATCH_BAD_INPUT, EBADMSG, "units: PropertiesChanged on %s unreadable", path);
                return 0;
        }
        if (unit_bus_iface_kind(iface, &kind) < 0)
                return 0;       /* not a unit interface of systemd's */
        r = unit_bus_read_properties_changed(m, kind, &p, &invalidated);
        if (r < 0) {
                watch_notice(&u->watch, WATCH_BAD_INPUT, -r, "units: malformed PropertiesChanged of %s on %s, dropped",
                             iface, path);
                return 0;
        }
        if (!p.set && !invalidated)
                return 0;

        rec = record_find(u, path);
        if (kind != UNIT_IFACE_UNIT) {
                if (rec) {
                        record_take_signal(rec, &p, invalidated);
                        return 0;
                }
                /* Held for the Unit signal that follows it. */
                if (!u->held_path || !streq(u->held_path, path)) {
                        char *c = strdup(path);
                        if (!c)
                                return 0;
                        free(u->held_path);
                        u->held_path = c;
                        u->held = (UnitProps) {};
                }
                unit_props_merge(&u->held, &p, 0);
                return 0;
        }

        if (!rec) {
                bool failed = (p.set & UNIT_PROP_BIT(UNIT_PROP_ACTIVE_STATE)) && p.active == UNIT_STATE_FAILED;
                bool recent = (p.set & UNIT_PROP_BIT(UNIT_PROP_STATE_CHANGE)) && p.state_change >= u->since;
                bool job = (p.set & UNIT_PROP_BIT(UNIT_PROP_JOB)) && p.job != 0;

                if (!failed && !recent && !job)
                        return 0;       /* nothing new: a refresh */
                r = record_new(u, path, &rec);
                if (r < 0) {
                        if (r == -EBADMSG)
                                watch_notice(&u->watch, WATCH_BAD_INPUT, EBADMSG, "units: bad unit path %s", path);
                        return 0;
                }
                if (u->held_path && streq(u->held_path, path))
                        unit_props_merge(&rec->state.now, &u->held, 0);
        }
        if (u->held_path && streq(u->held_path, path))
                u->held_path = mfree(u->held_path);
        record_take_signal(rec, &p, invalidated);
        return 0;
}

static int on_reloading(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitWatch *u = userdata;
        int b, r;

        r = sd_bus_message_read_basic(m, 'b', &b);
        if (r <= 0) {
                watch_notice(&u->watch, WATCH_BAD_INPUT, EBADMSG, "units: malformed Reloading signal");
                return 0;
        }
        if (b)
                return 0;
        /* Units may be gone, their Restart= changed, and signals of what
         * happened while it reloaded were not sent. */
        watch_notice(&u->watch, WATCH_LOST, 0, "units: systemd reloaded");
        r = start_enumeration(u, true);
        if (r < 0)
                watch_notice(&u->watch, WATCH_FAILED, -r, "units: cannot resync: %s", strerror(-r));
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitWatch *u = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
        if (r <= 0) {
                watch_notice(&u->watch, WATCH_BAD_INPUT, EBADMSG, "units: malformed NameOwnerChanged signal");
                return 0;
        }
        if (!streq(name, SYSTEMD_BUS_NAME))
                return 0;
        if (!*new_owner) {
                watch_notice(&u->watch, WATCH_LOST, 0, "units: systemd left the bus");
                return 0;
        }
        /* Re-executed (or restarted): what it did while away was not told. */
        watch_notice(&u->watch, WATCH_LOST, 0, "units: systemd is back on the bus as %s", new_owner);
        r = start_enumeration(u, true);
        if (r < 0)
                watch_notice(&u->watch, WATCH_FAILED, -r, "units: cannot resync: %s", strerror(-r));
        return 0;
}

static int on_match_installed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitWatch *u = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e)
                watch_notice(&u->watch, WATCH_FAILED, sd_bus_error_get_errno(e), "units: the bus refused a match: %s",
                             e->message ?: e->name);
        return 0;
}

/* ---- enumeration ---- */

static void enumeration_step_done(UnitWatch *u, uint64_t gen) {
        if (!u->enumerating || gen != u->gen || u->outstanding == 0)
                return;
        if (--u->outstanding > 0)
                return;
        u->enumerating = false;
        if (u->resyncing)
                watch_notice(&u->watch, WATCH_RESYNCED, 0,
                             "units: %u units listed, %u failed, %u missed transitions, %zu tracked", u->enum_listed,
                             u->enum_failed, u->enum_events, u->n_records);
        else
                watch_notice(&u->watch, WATCH_READY, 0, "units: %u units listed, %u failed, %u reported", u->enum_listed,
                             u->enum_failed, u->enum_events);
}

static unsigned full_mask(void) {
        return UNIT_PROPS_STATE | UNIT_PROP_BIT(UNIT_PROP_RESULT) | UNIT_PROPS_SERVICE | UNIT_PROPS_POLICY;
}

/* A tracked unit that is not failed and whose listed state is the one
 * it had needs no fetch of its state in a resync, only of its Restart=
 * (a daemon-reload may have changed it) and NRestarts (restarts missed
 * become "restarted"). */
static bool list_agrees(const UnitRecord *rec, const char *active, const char *sub, uint32_t job) {
        const UnitProps *now = &rec->state.now;
        unsigned need = UNIT_PROP_BIT(UNIT_PROP_ACTIVE_STATE) | UNIT_PROP_BIT(UNIT_PROP_SUB_STATE) |
                        UNIT_PROP_BIT(UNIT_PROP_JOB);

        return (now->set & need) == need && now->active != UNIT_STATE_FAILED &&
               now->active == unit_active_state_from_string(active) && streq(now->sub, sub) && now->job == job &&
               rec->state.confirming == 0;
}

static int on_subscribe_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        /* Errors are not fatal: the executor may have subscribed this
         * connection already, and without a subscription the list still
         * tells the failures. */
        return 0;
}

static int on_list_units(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        UnitWatch *u = userdata;
        const char *name, *active, *sub, *path;
        uint64_t gen = u->gen;
        FetchPurpose purpose = u->resyncing ? FETCH_RESYNC : FETCH_INITIAL;
        uint32_t job;
        int r;

        u->list_call = bus_queue_call_free(u->list_call);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                u->enumerating = false;
                watch_notice(&u->watch, WATCH_FAILED, sd_bus_error_get_errno(e) ?: EIO, "units: ListUnits: %s",
                             e->message ?: e->name);
                return 0;
        }

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ssssssouso)");
        while (r > 0) {
                UnitRecord *rec;

                r = sd_bus_message_read(m, "(ssssssouso)", &name, NULL, NULL, &active, &sub, NULL, &path, &job, NULL,
                                        NULL);
                if (r <= 0)
                        break;
                u->enum_listed++;
                if (!string_has_prefix(path, SYSTEMD_UNIT_PATH_PREFIX))
                        continue;
                rec = record_find(u, path);
                if (streq(active, "failed"))
                        u->enum_failed++;
                else if (!rec || !u->resyncing)
                        continue;
                if (!rec && record_new(u, path, &rec) < 0)
                        continue;
                rec->seen_gen = gen;
                u->outstanding++;
                record_fetch(rec, list_agrees(rec, active, sub, job) ? UNIT_PROPS_POLICY | UNIT_PROP_BIT(UNIT_PROP_N_RESTARTS) : full_mask(), purpose, gen);
        }
        if (r < 0)
                watch_notice(&u->watch, WATCH_BAD_INPUT, EBADMSG, "units: malformed ListUnits reply, using what was read");

        if (u->resyncing && r >= 0) {
                /* Tracked, and not loaded any more: it went inactive unseen. */
                UnitRecord *next;
                for (UnitRecord *rec = u->records; rec; rec = next) {
                        UnitProps gone = {};
                        next = rec->next;
                        if (rec->seen_gen == gen)
                                continue;
                        (void) unit_props_set_string(&gone, UNIT_PROP_ACTIVE_STATE, "inactive");
                        (void) unit_props_set_uint(&gone, UNIT_PROP_JOB, 0);
                        record_apply(rec, &gone, UNIT_UPDATE_FETCHED, FETCH_RESYNC);
                        /* record_apply frees settled records, unless a fetch is in flight */
                }
        }
        enumeration_step_done(u, gen);
        return 0;
}

static int start_enumeration(UnitWatch *u, bool resync) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        u->list_call = bus_queue_call_free(u->list_call);
        u->gen++;
        u->enumerating = true;
        /* A resync before READY starts the first enumeration over: what
         * it finds is still initial, and READY still comes. */
        u->resyncing = resync && u->watch.ready;
        u->outstanding = 1;     /* the list itself */
        u->enum_listed = u->enum_failed = u->enum_events = 0;

        /* Again after a reexec: harmless when still subscribed. A
         * floating call: its callback touches nothing of ours. */
        r = bus_queue_call_method(u->calls, NULL, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                  "Subscribe", on_subscribe_reply, NULL, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(u->watch.ctx.bus, &m, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                           SYSTEMD_MANAGER_IFACE, "ListUnits");
        if (r < 0)
                return r;
        return bus_queue_call(u->calls, &u->list_call, m, on_list_units, u, 0);
}

/* ---- the vtable ---- */

static int unit_watch_start(Watch *w) {
        UnitWatch *u = UNIT_WATCH(w);
        sd_bus *bus = w->ctx.bus;
        int r;

        if (!bus)
                return -EINVAL;
        if (w->ctx.calls)
                u->calls = w->ctx.calls;
        else {
                r = bus_queue_new(bus, UNIT_WATCH_CALLS_MAX, &u->own_calls);
                if (r < 0)
                        return r;
                u->calls = u->own_calls;
        }
        u->since = now_usec(CLOCK_REALTIME);

        r = sd_bus_add_match_async(bus, &u->slot_changed,
                                   "type='signal',sender='" SYSTEMD_BUS_NAME "',interface='" DBUS_PROPERTIES_IFACE
                                   "',member='PropertiesChanged',path_namespace='/org/freedesktop/systemd1/unit'",
                                   on_properties_changed, on_match_installed, u);
        if (r < 0)
                return r;
        (void) sd_bus_slot_set_description(u->slot_changed, "units-properties-changed");
        r = sd_bus_match_signal_async(bus, &u->slot_reloading, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                      SYSTEMD_MANAGER_IFACE, "Reloading", on_reloading, on_match_installed, u);
        if (r < 0)
                return r;
        (void) sd_bus_slot_set_description(u->slot_reloading, "units-reloading");
        r = sd_bus_add_match_async(bus, &u->slot_owner,
                                   "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                   "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" SYSTEMD_BUS_NAME "'",
                                   on_name_owner_changed, on_match_installed, u);
        if (r < 0)
                return r;
        (void) sd_bus_slot_set_description(u->slot_owner, "units-systemd-owner");

        /* The matches are sent before these calls, and the bus handles
         * them in order: the list sees nothing the signals miss. */
        return start_enumeration(u, false);
}

static void unit_watch_done(Watch *w) {
        UnitWatch *u = UNIT_WATCH(w);

        u->enumerating = false;
        while (u->records)
                record_free(u->records);
        u->list_call = bus_queue_call_free(u->list_call);
        u->slot_changed = sd_bus_slot_unref(u->slot_changed);
        u->slot_reloading = sd_bus_slot_unref(u->slot_reloading);
        u->slot_owner = sd_bus_slot_unref(u->slot_owner);
        u->held_path = mfree(u->held_path);
        u->own_calls = bus_queue_free(u->own_calls);
}

static int unit_watch_resync(Watch *w) {
        UnitWatch *u = UNIT_WATCH(w);

        watch_notice(w, WATCH_LOST, 0, "units: resync asked for");
        return start_enumeration(u, true);
}

const WatchVTable unit_watch_vtable = {
        .name = "units",
        .kind = TRIGGER_UNIT,
        .object_size = sizeof(UnitWatch),
        .start = unit_watch_start,
        .done = unit_watch_done,
        .resync = unit_watch_resync,
};
