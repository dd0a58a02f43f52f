/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Watchers: one per source of trigger events (systemd units, md arrays,
 * block devices, links), each behind one table of operations, as systemd's
 * UnitVTable. A watcher turns what systemd or the kernel says into
 * TriggerEvents and hands them to its context's on_event; which plans
 * they start is the matcher's business (src/plan/trigger-match.h).
 *
 * Every watcher follows the same discipline:
 * - start: subscribe first, then enumerate the current state (events for
 *   that state carry .initial), then say WATCH_READY;
 * - never poll: every wakeup comes from an fd or a bus signal;
 * - when events may have been missed (ENOBUFS on netlink, the bus
 *   reconnecting, systemd re-executing), say WATCH_LOST, re-read the truth,
 *   diff it against what it knew, emit the transitions it missed (with
 *   .resynced) and say WATCH_RESYNCED;
 * - bad input from the kernel or the bus is counted and said, never fatal.
 *
 * A watcher's private state follows struct Watch in one allocation of
 * vtable->object_size bytes (struct FooWatch { Watch watch; ... }). */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-queue.h"
#include "macro.h"
#include "trigger-event.h"

typedef struct Watch Watch;

typedef enum WatchSource {
        WATCH_UNITS,
        WATCH_MD,
        WATCH_BLOCK,
        WATCH_LINKS,
        _WATCH_SOURCE_MAX,
        _WATCH_SOURCE_INVALID = -EINVAL,
} WatchSource;

typedef enum WatchNotice {
        WATCH_READY,            /* subscribed and enumerated */
        WATCH_LOST,             /* events may have been lost; a resync follows */
        WATCH_RESYNCED,         /* the resync is done; the message says what it found */
        WATCH_BAD_INPUT,        /* a message was malformed and dropped */
        WATCH_FAILED,           /* the watcher stopped working; errno in error */
        _WATCH_NOTICE_MAX,
        _WATCH_NOTICE_INVALID = -EINVAL,
} WatchNotice;

typedef void (*watch_event_handler_t)(Watch *w, const TriggerEvent *ev, void *userdata);
typedef void (*watch_notice_handler_t)(Watch *w, WatchNotice notice, int error, const char *message,
                                       void *userdata);

typedef struct WatchContext {
        sd_event *event;
        sd_bus *bus;                    /* units: the system bus, attached to event */
        BusQueue *calls;                /* units: bounded calls to systemd (NULL: direct async calls) */
        const char *sysfs;              /* NULL: "/sys" (tests point it at a fixture tree) */
        const char *procfs;             /* NULL: "/proc" */
        const char *devfs;              /* NULL: "/dev" */
        int rcvbuf;                     /* netlink receive buffer in bytes; 0: the watcher's default */
        watch_event_handler_t on_event;
        watch_notice_handler_t on_notice;       /* may be NULL */
        void *userdata;
} WatchContext;

typedef struct WatchStats {
        uint64_t events;                /* emitted */
        uint64_t lost;                  /* times events may have been lost */
        uint64_t resyncs;               /* resyncs completed */
        uint64_t resynced_events;       /* events a resync synthesized */
        uint64_t bad_input;             /* malformed messages dropped */
} WatchStats;

typedef struct WatchVTable {
        const char *name;               /* "units", "md", "block", "links" */
        TriggerKind kind;
        size_t object_size;
        int (*start)(Watch *w);         /* subscribe, enumerate; may finish asynchronously */
        void (*done)(Watch *w);         /* free the private state (not the object) */
        int (*resync)(Watch *w);        /* re-read and diff now (also used by tests) */
} WatchVTable;

struct Watch {
        const WatchVTable *vtable;
        WatchContext ctx;
        WatchStats stats;
        bool ready;
};

extern const WatchVTable unit_watch_vtable;
extern const WatchVTable md_watch_vtable;
extern const WatchVTable block_watch_vtable;
extern const WatchVTable link_watch_vtable;

const char *watch_source_to_string(WatchSource s);
WatchSource watch_source_from_string(const char *s);
WatchSource watch_source_for_trigger(TriggerKind k);    /* -EINVAL for boot, manual */
const char *watch_notice_to_string(WatchNotice n);

/* Builds and starts the watcher of source s. */
int watch_new(WatchSource s, const WatchContext *ctx, Watch **ret);
Watch *watch_free(Watch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Watch *, watch_free);
int watch_resync(Watch *w);
const char *watch_name(const Watch *w);

/* For the watchers: report to the context and count. */
void watch_emit(Watch *w, const TriggerEvent *ev);
void watch_notice(Watch *w, WatchNotice n, int error, const char *format, ...) _printf_(4, 5);
/* watch_notice(w, WATCH_READY, ...) also sets w->ready. */
