/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* watch-driver: runs watchers on one sd-event loop and prints what they
 * see, one JSON object per line, flushed at once:
 *     {"source":"links","kind":"link","name":"v0","event":"down",...}
 *     {"source":"links","notice":"ready","error":0,"message":"..."}
 * (an event's "seen_realtime" is CLOCK_REALTIME when it was printed, so
 * seen_realtime - realtime is the latency from what the source says
 * happened to the driver printing it), and, on SIGTERM or SIGINT, one
 * {"source":...,"stats":{...}} line per
 * watcher before it exits 0. Used by the integration tests of the
 * watchers (in a container, a network namespace or the md VM); not
 * installed.
 *
 * usage: watch-driver [--rcvbuf BYTES] [--sysfs DIR] [--procfs DIR] [--devfs DIR]
 *                     [--resync-on-usr1] SOURCE...
 * SOURCE is units, md, block or links; units connects to the system bus.
 * SIGUSR1 asks every watcher to resync now. Exits 1 on a setup error. */

#include <getopt.h>
#include <signal.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "watch.h"

#define MAX_WATCHES _WATCH_SOURCE_MAX

typedef struct Driver {
        Watch *watches[MAX_WATCHES];
        size_t n_watches;
} Driver;

static void print_object(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        fflush(stdout);
}

static void add_string(json_object *o, const char *key, const char *value) {
        if (value)
                json_object_object_add(o, key, json_object_new_string(value));
}

static void on_event(Watch *w, const TriggerEvent *ev, void *userdata) {
        json_object *o = json_object_new_object();

        add_string(o, "source", watch_name(w));
        add_string(o, "kind", trigger_kind_to_string(ev->kind));
        add_string(o, "name", ev->name);
        add_string(o, "event", ev->event);
        add_string(o, "result", ev->result);
        if (ev->kind == TRIGGER_UNIT)
                json_object_object_add(o, "restarts", json_object_new_int64(ev->restarts));
        add_string(o, "disk", ev->disk);
        if (ev->kind == TRIGGER_RAID)
                json_object_object_add(o, "mismatches", json_object_new_int64((int64_t) ev->mismatches));
        add_string(o, "fs_type", ev->fs_type);
        add_string(o, "uuid", ev->uuid);
        add_string(o, "label", ev->label);
        add_string(o, "partuuid", ev->partuuid);
        if (ev->kind == TRIGGER_LINK)
                json_object_object_add(o, "ifindex", json_object_new_int(ev->ifindex));
        add_string(o, "occurrence", ev->occurrence);
        json_object_object_add(o, "realtime", json_object_new_int64((int64_t) ev->realtime));
        json_object_object_add(o, "monotonic", json_object_new_int64((int64_t) ev->monotonic));
        /* when the driver printed it: seen_realtime - realtime is the latency */
        json_object_object_add(o, "seen_realtime", json_object_new_int64((int64_t) now_usec(CLOCK_REALTIME)));
        json_object_object_add(o, "initial", json_object_new_boolean(ev->initial));
        json_object_object_add(o, "resynced", json_object_new_boolean(ev->resynced));
        print_object(o);
        json_object_put(o);
}

static void on_notice(Watch *w, WatchNotice n, int error, const char *message, void *userdata) {
        json_object *o = json_object_new_object();

        add_string(o, "source", watch_name(w));
        add_string(o, "notice", watch_notice_to_string(n));
        json_object_object_add(o, "error", json_object_new_int(error));
        add_string(o, "message", message);
        print_object(o);
        json_object_put(o);
}

static void print_stats(const Watch *w) {
        json_object *o = json_object_new_object(), *s = json_object_new_object();

        add_string(o, "source", watch_name(w));
        json_object_object_add(s, "events", json_object_new_int64((int64_t) w->stats.events));
        json_object_object_add(s, "lost", json_object_new_int64((int64_t) w->stats.lost));
        json_object_object_add(s, "resyncs", json_object_new_int64((int64_t) w->stats.resyncs));
        json_object_object_add(s, "resynced_events", json_object_new_int64((int64_t) w->stats.resynced_events));
        json_object_object_add(s, "bad_input", json_object_new_int64((int64_t) w->stats.bad_input));
        json_object_object_add(o, "stats", s);
        print_object(o);
        json_object_put(o);
}

static int on_usr1(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Driver *d = userdata;

        for (size_t i = 0; i < d->n_watches; i++) {
                int r = watch_resync(d->watches[i]);
                if (r < 0)
                        fprintf(stderr, "watch-driver: resync of %s: %s\n", watch_name(d->watches[i]),
                                strerror(-r));
        }
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "rcvbuf", required_argument, NULL, 'r' },
                { "sysfs", required_argument, NULL, 's' },
                { "procfs", required_argument, NULL, 'p' },
                { "devfs", required_argument, NULL, 'd' },
                {}
        };
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        WatchContext ctx = { .on_event = on_event, .on_notice = on_notice };
        Driver d = {};
        sigset_t mask;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        ctx.rcvbuf = atoi(optarg);
                        break;
                case 's':
                        ctx.sysfs = optarg;
                        break;
                case 'p':
                        ctx.procfs = optarg;
                        break;
                case 'd':
                        ctx.devfs = optarg;
                        break;
                default:
                        return 1;
                }
        if (optind >= argc || argc - optind > MAX_WATCHES) {
                fprintf(stderr, "usage: watch-driver [--rcvbuf BYTES] [--sysfs DIR] [--procfs DIR] [--devfs DIR] "
                        "SOURCE...\n");
                return 1;
        }

        r = sd_event_new(&event);
        if (r < 0)
                return 1;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGUSR1);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        (void) sd_event_add_signal(event, NULL, SIGUSR1, on_usr1, &d);
        ctx.event = event;
        ctx.userdata = &d;

        for (int i = optind; i < argc; i++) {
                WatchSource s = watch_source_from_string(argv[i]);

                if (s < 0) {
                        fprintf(stderr, "watch-driver: unknown source \"%s\" (units, md, block, links)\n", argv[i]);
                        return 1;
                }
                if (s == WATCH_UNITS && !bus) {
                        r = sd_bus_open_system(&bus);
                        if (r >= 0)
                                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
                        if (r < 0) {
                                fprintf(stderr, "watch-driver: system bus: %s\n", strerror(-r));
                                return 1;
                        }
                        ctx.bus = bus;
                }
                r = watch_new(s, &ctx, &d.watches[d.n_watches]);
                if (r < 0) {
                        fprintf(stderr, "watch-driver: %s: %s\n", argv[i], strerror(-r));
                        return 1;
                }
                d.n_watches++;
        }

        r = sd_event_loop(event);
        for (size_t i = 0; i < d.n_watches; i++) {
                print_stats(d.watches[i]);
                d.watches[i] = watch_free(d.watches[i]);
        }
        return r < 0 ? 1 : 0;
}
