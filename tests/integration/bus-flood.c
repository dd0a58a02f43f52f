/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* bus-flood: floods salved with StartRun calls the way a hostile local
 * user (or a burst of triggers) would, and says what came back.
 *
 *   bus-flood [-c CONNECTIONS] [-n CALLS] [-t SECONDS] [-p PLAN] [-r REASON] [-o FILE]
 *
 * Opens CONNECTIONS connections to the system bus and sends CALLS
 * StartRun calls on each without waiting for replies. With -t, keeps
 * CALLS outstanding on every connection for SECONDS (each reply is
 * answered with a new call), else sends one burst and collects it. PLAN
 * may hold one %d, replaced by the call's number (0, 1, ...: the burst of
 * connection k holds k*CALLS ... k*CALLS+CALLS-1), so "p%04d" starts one
 * run of each of plans p0000, p0001, ... Keep CALLS under 128: dbus-daemon
 * refuses the caller's own calls past max_replies_per_connection.
 *
 * Prints one JSON object: calls sent and answered, successes, errors by
 * D-Bus error name, the elapsed time, replies per second, and reply
 * latency (median, 99th percentile, max, in ms). -o FILE gets the run ids
 * of the successful calls, one a line. Exit status 0 when every call got
 * an answer (of any kind), 1 otherwise. */

#include <getopt.h>
#include <inttypes.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define MAX_NAMES 32

typedef struct Flood Flood;

typedef struct Conn {
        Flood *flood;
        sd_bus *bus;
        unsigned index;
        unsigned n_sent;                /* in this connection's burst */
} Conn;

typedef struct Call {
        Conn *conn;
        uint64_t sent_usec;
} Call;

struct Flood {
        sd_event *event;
        Conn *conns;
        unsigned n_conns, n_calls;
        const char *plan, *reason;
        uint64_t until_usec;            /* sustained mode: stop sending then; 0: one burst */
        uint64_t started_usec;
        uint64_t n_sent, n_answered, n_ok;
        char *names[MAX_NAMES];
        uint64_t counts[MAX_NAMES];
        uint64_t n_other_errors;
        uint64_t *latencies;            /* µs */
        size_t n_latencies, n_latencies_alloc;
        FILE *ids;
        int failed;
};

static uint64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void count_error(Flood *f, const char *name) {
        for (size_t i = 0; i < MAX_NAMES; i++) {
                if (!f->names[i]) {
                        f->names[i] = strdup(name);
                        if (!f->names[i])
                                break;
                }
                if (streq(f->names[i], name)) {
                        f->counts[i]++;
                        return;
                }
        }
        f->n_other_errors++;
}

static int send_call(Conn *c);

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Call *call = userdata;
        Conn *c = call->conn;
        Flood *f = c->flood;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *id;

        f->n_answered++;
        if (f->n_latencies == f->n_latencies_alloc) {
                size_t n = MAX(f->n_latencies_alloc * 2, (size_t) 1024);
                uint64_t *l = realloc(f->latencies, n * sizeof(uint64_t));
                if (l) {
                        f->latencies = l;
                        f->n_latencies_alloc = n;
                }
        }
        if (f->n_latencies < f->n_latencies_alloc)
                f->latencies[f->n_latencies++] = now_us() - call->sent_usec;
        free(call);

        if (e)
                count_error(f, e->name ?: "(unnamed)");
        else {
                f->n_ok++;
                if (f->ids && sd_bus_message_read(reply, "s", &id) > 0)
                        fprintf(f->ids, "%s\n", id);
        }

        if (f->until_usec > 0 && now_us() < f->until_usec)
                (void) send_call(c);
        if (f->n_answered == f->n_sent && (f->until_usec == 0 || now_us() >= f->until_usec))
                (void) sd_event_exit(f->event, 0);
        return 0;
}

static int send_call(Conn *c) {
        Flood *f = c->flood;
        char plan[256];
        Call *call;
        int r;

        /* The format comes from the test's own command line. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(plan, sizeof(plan), f->plan, (int) (c->index * f->n_calls + c->n_sent));
#pragma GCC diagnostic pop
        call = calloc(1, sizeof(Call));
        if (!call)
                return -ENOMEM;
        call->conn = c;
        call->sent_usec = now_us();
        r = sd_bus_call_method_async(c->bus, NULL, "org.salve.Manager1", "/org/salve/manager", "org.salve.Manager1",
                                     "StartRun", on_reply, call, "ss", plan, f->reason);
        if (r < 0) {
                free(call);
                f->failed = r;
                return r;
        }
        c->n_sent++;
        f->n_sent++;
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static double percentile_ms(const Flood *f, double p) {
        size_t i;

        if (f->n_latencies == 0)
                return 0;
        i = (size_t) (p * (double) (f->n_latencies - 1) + 0.5);
        return (double) f->latencies[i] / 1000.0;
}

static void print_summary(Flood *f) {
        double elapsed = (double) (now_us() - f->started_usec) / 1e6;
        bool first = true;

        qsort(f->latencies, f->n_latencies, sizeof(uint64_t), cmp_u64);
        printf("{\"connections\": %u, \"calls_per_connection\": %u, \"sent\": %" PRIu64 ", \"answered\": %" PRIu64
               ", \"ok\": %" PRIu64 ", \"errors\": {",
               f->n_conns, f->n_calls, f->n_sent, f->n_answered, f->n_ok);
        for (size_t i = 0; i < MAX_NAMES && f->names[i]; i++) {
                printf("%s\"%s\": %" PRIu64, first ? "" : ", ", f->names[i], f->counts[i]);
                first = false;
        }
        if (f->n_other_errors > 0)
                printf("%s\"other\": %" PRIu64, first ? "" : ", ", f->n_other_errors);
        printf("}, \"elapsed_s\": %.3f, \"replies_per_s\": %.1f, \"latency_ms\": {\"median\": %.2f, \"p99\": %.2f, "
               "\"max\": %.2f}}\n",
               elapsed, elapsed > 0 ? (double) f->n_answered / elapsed : 0.0, percentile_ms(f, 0.5),
               percentile_ms(f, 0.99), percentile_ms(f, 1.0));
}

static int usage(void) {
        fprintf(stderr, "usage: bus-flood [-c CONNECTIONS] [-n CALLS] [-t SECONDS] [-p PLAN] [-r REASON] [-o FILE]\n");
        return 2;
}

int main(int argc, char *argv[]) {
        Flood f = { .n_conns = 1, .n_calls = 1, .plan = "flood", .reason = "bus-flood" };
        unsigned seconds = 0;
        int opt, r;

        while ((opt = getopt(argc, argv, "c:n:t:p:r:o:h")) >= 0)
                switch (opt) {
                case 'c':
                        f.n_conns = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'n':
                        f.n_calls = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 't':
                        seconds = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'p':
                        f.plan = optarg;
                        break;
                case 'r':
                        f.reason = optarg;
                        break;
                case 'o':
                        f.ids = fopen(optarg, "we");
                        if (!f.ids) {
                                fprintf(stderr, "bus-flood: %s: %m\n", optarg);
                                return 1;
                        }
                        break;
                default:
                        return usage();
                }
        if (optind != argc || f.n_conns == 0 || f.n_conns > 1024 || f.n_calls == 0 || f.n_calls > 4096)
                return usage();

        r = sd_event_default(&f.event);
        if (r < 0) {
                fprintf(stderr, "bus-flood: sd_event_default: %s\n", strerror(-r));
                return 1;
        }
        f.conns = calloc(f.n_conns, sizeof(Conn));
        if (!f.conns)
                return 1;
        /* Connect everything first, so the flood starts at once. */
        for (unsigned i = 0; i < f.n_conns; i++) {
                Conn *c = f.conns + i;
                c->flood = &f;
                c->index = i;
                r = sd_bus_open_system(&c->bus);
                if (r >= 0)
                        r = sd_bus_attach_event(c->bus, f.event, 0);
                if (r < 0) {
                        fprintf(stderr, "bus-flood: connection %u: %s\n", i, strerror(-r));
                        return 1;
                }
        }
        f.started_usec = now_us();
        if (seconds > 0)
                f.until_usec = f.started_usec + seconds * 1000000ULL;
        for (unsigned i = 0; i < f.n_conns; i++)
                for (unsigned k = 0; k < f.n_calls; k++)
                        if (send_call(f.conns + i) < 0) {
                                fprintf(stderr, "bus-flood: sending: %s\n", strerror(-f.failed));
                                return 1;
                        }
        r = sd_event_loop(f.event);
        if (r < 0)
                fprintf(stderr, "bus-flood: event loop: %s\n", strerror(-r));
        print_summary(&f);
        if (f.ids)
                fclose(f.ids);
        for (unsigned i = 0; i < f.n_conns; i++)
                sd_bus_flush_close_unref(f.conns[i].bus);
        for (size_t i = 0; i < MAX_NAMES; i++)
                free(f.names[i]);
        free(f.latencies);
        free(f.conns);
        sd_event_unref(f.event);
        return f.n_answered == f.n_sent && r >= 0 ? 0 : 1;
}
