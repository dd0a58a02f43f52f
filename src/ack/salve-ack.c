/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* salve-ack: the inbound end of remote acknowledgements. A small HTTP
 * listener, started by salve-ack.socket, run as the unprivileged user
 * salve-ack, holding no secret and deciding nothing: it bounds each
 * request (path, method, body size, time, connections), hands it whole
 * to salved's org.salve.Manager1.Callback over the system bus, and
 * answers what salved answers. Verification and action are salved's
 * (src/daemon/manager-ack.c, src/ack/ack-verify.c).
 *
 * One sd-event loop, no threads: libmicrohttpd runs in its external epoll
 * mode, its epoll fd an I/O source and its timeout a timer; a connection
 * waiting for salved is suspended, and resumed from the D-Bus reply.
 * Every pending call belongs to its request and is cancelled with it.
 * Idle for --idle-exit, it exits; the socket stays with systemd, which
 * starts it again on the next connection.
 *
 *   salve-ack [--listen=ADDR:PORT] [--idle-exit=SECONDS]
 *
 * Without --listen it takes the one socket systemd passes
 * (sd_listen_fds). --listen is for running it by hand. */

#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <syslog.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "ack-verify.h"
#include "bus-names.h"
#include "time-util.h"

/* Lines for the journal: stderr with "<N>" priorities (SyslogLevelPrefix).
 * salve-ack links nothing of salve's but headers, so it has its own. */
static bool debug_enabled;

static int log_line(int prio, int error, const char *format, ...) _printf_(3, 4);
static int log_line(int prio, int error, const char *format, ...) {
        va_list ap;

        if (prio >= LOG_DEBUG && !debug_enabled)
                return error < 0 ? error : 0;
        if (error < 0)
                errno = -error;
        fprintf(stderr, "<%d>", prio);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return error < 0 ? error : 0;
}
#define log_debug(...) log_line(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_line(LOG_INFO, 0, __VA_ARGS__)
#define log_warning(...) log_line(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_line(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_line(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_line(LOG_ERR, (e), __VA_ARGS__)

#define ACK_CONNECTIONS_MAX 32U
#define ACK_CONNECTIONS_PER_IP_MAX 8U
#define ACK_CONNECTION_TIMEOUT_SEC 10U
#define ACK_CALL_TIMEOUT (4U * USEC_PER_SEC)   /* PagerDuty waits 5 s */
#define ACK_IDLE_EXIT_DEFAULT (60U * USEC_PER_SEC)

typedef struct Listener {
        sd_event *event;
        sd_bus *bus;
        struct MHD_Daemon *mhd;
        sd_event_source *mhd_io, *mhd_timer, *idle_timer;
        usec_t idle_exit;
        unsigned connections;
        struct Request *requests;       /* every request MHD holds, for shutdown */
} Listener;

typedef struct Request {
        Listener *listener;
        struct Request *prev, *next;
        struct MHD_Connection *connection;
        char *body;
        size_t body_size, seen;
        bool too_large, sent, answered;
        sd_bus_slot *call;              /* the Callback on the wire */
        unsigned status;
        char *content_type, *reply;
} Request;

static void request_free(Request *q) {
        if (!q)
                return;
        if (q->prev)
                q->prev->next = q->next;
        else
                q->listener->requests = q->next;
        if (q->next)
                q->next->prev = q->prev;
        sd_bus_slot_unref(q->call);
        free(q->body);
        free(q->content_type);
        free(q->reply);
        free(q);
}

static void listener_update(Listener *l);

/* ---- answers ---- */

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *content_type, const char *body,
                              const char *allow) {
        struct MHD_Response *r;
        enum MHD_Result ret;

        r = MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_MUST_COPY);
        if (!r)
                return MHD_NO;
        (void) MHD_add_response_header(r, "Content-Type", content_type);
        (void) MHD_add_response_header(r, "Cache-Control", "no-store");
        (void) MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        (void) MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        (void) MHD_add_response_header(r, "X-Frame-Options", "DENY");
        (void) MHD_add_response_header(r, "Content-Security-Policy",
                                       "default-src 'none'; form-action 'self'; frame-ancestors 'none'");
        if (allow)
                (void) MHD_add_response_header(r, "Allow", allow);
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result answer_simple(struct MHD_Connection *c, unsigned status, const char *reason,
                                     const char *allow) {
        char body[256];

        /* The reasons here are salve-ack's own, with nothing to escape. */
        snprintf(body, sizeof(body), "{\"status\":%u,\"reason\":\"%s\"}\n", status, reason);
        return answer(c, status, "application/json", body, allow);
}

/* ---- the call to salved ---- */

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Request *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *ctype, *body;
        uint32_t status;
        int k;

        q->call = sd_bus_slot_unref(q->call);
        q->answered = true;
        if (e) {
                log_warning("salved did not take the request: %s: %s", e->name, strna(e->message));
                q->status = sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED) ? 500 : 503;
        } else if ((k = sd_bus_message_read(m, "uss", &status, &ctype, &body)) < 0 || status < 100 ||
                   status > 599) {
                log_warning("salved's answer is unreadable, answering 502.");
                q->status = 502;
        } else {
                q->status = status;
                q->content_type = strdup(ctype);
                q->reply = strdup(body);
                if (!q->content_type || !q->reply)
                        q->status = 500;
        }
        MHD_resume_connection(q->connection);
        listener_update(q->listener);
        return 0;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        sd_bus_message *m = cls;

        return sd_bus_message_append(m, "(ss)", key, strempty(value)) >= 0 ? MHD_YES : MHD_NO;
}

/* MHD hands the path without its query and the query decoded; salved
 * wants what was sent, so the query is encoded back. */
static enum MHD_Result append_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        FILE *f = cls;
        static const char safe[] = "-_.~";

        fputc(ftell(f) == 0 ? '?' : '&', f);
        for (int pass = 0; pass < 2; pass++) {
                const char *s = pass == 0 ? key : value;
                if (pass == 1) {
                        if (!value)
                                break;
                        fputc('=', f);
                }
                for (; s && *s; s++) {
                        unsigned char ch = (unsigned char) *s;
                        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                            strchr(safe, ch))
                                fputc(ch, f);
                        else
                                fprintf(f, "%%%02X", ch);
                }
        }
        return MHD_YES;
}

static int request_send(Request *q, const char *method, const char *url) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *query = NULL, *path = NULL;
        size_t query_size = 0;
        FILE *f;
        int k;

        f = open_memstream(&query, &query_size);
        if (!f)
                return -ENOMEM;
        (void) MHD_get_connection_values(q->connection, MHD_GET_ARGUMENT_KIND, append_query, f);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (asprintf(&path, "%s%s", url, strempty(query)) < 0)
                return -ENOMEM;

        k = sd_bus_message_new_method_call(q->listener->bus, &m, SALVE_BUS_NAME, SALVE_BUS_PATH,
                                           SALVE_BUS_INTERFACE, "Callback");
        if (k < 0)
                return k;
        k = sd_bus_message_append(m, "ss", method, path);
        if (k >= 0)
                k = sd_bus_message_open_container(m, 'a', "(ss)");
        if (k >= 0 && MHD_get_connection_values(q->connection, MHD_HEADER_KIND, collect_header, m) < 0)
                k = -ENOMEM;
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        if (k >= 0)
                k = sd_bus_message_append_array(m, 'y', q->body ?: "", q->body_size);
        if (k < 0)
                return k;
        return sd_bus_call_async(q->listener->bus, &q->call, m, on_reply, q, ACK_CALL_TIMEOUT);
}

/* ---- libmicrohttpd ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
        Listener *l = cls;
        Request *q = *req_cls;
        const char *allow = NULL, *len;
        int k;

        if (!q) {
                /* Headers are in: refuse what never reaches salved. */
                q = calloc(1, sizeof(*q));
                if (!q)
                        return MHD_NO;
                q->listener = l;
                q->connection = c;
                q->next = l->requests;
                if (q->next)
                        q->next->prev = q;
                l->requests = q;
                *req_cls = q;
                k = ack_route(method, url, NULL, &allow);
                if (k == -ENOENT)
                        return answer_simple(c, 404, "no such path (POST /webhook, /pagerduty or /approve)", NULL);
                if (k < 0)
                        return answer_simple(c, 405, "method not allowed", allow);
                len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (len && strtoull(len, NULL, 10) > ACK_BODY_MAX) {
                        char reason[64];
                        snprintf(reason, sizeof(reason), "body larger than %u bytes", ACK_BODY_MAX);
                        return answer_simple(c, 413, reason, NULL);
                }
                return MHD_YES;
        }

        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;

                *upload_data_size = 0;
                q->seen += n;
                if (q->too_large || q->body_size + n > ACK_BODY_MAX) {
                        /* libmicrohttpd cannot answer in the middle of a
                         * body: read on, keeping nothing, and answer 413
                         * at its end; past 4 times the limit, hang up. */
                        q->too_large = true;
                        return q->seen > 4 * (size_t) ACK_BODY_MAX ? MHD_NO : MHD_YES;
                }
                if (!q->body) {
                        q->body = malloc(ACK_BODY_MAX);
                        if (!q->body)
                                return MHD_NO;
                }
                memcpy(q->body + q->body_size, upload_data, n);
                q->body_size += n;
                return MHD_YES;
        }
        if (q->too_large) {
                char reason[64];
                snprintf(reason, sizeof(reason), "body larger than %u bytes", ACK_BODY_MAX);
                return answer_simple(c, 413, reason, NULL);
        }

        if (q->answered) {
                if (!q->reply)
                        return answer_simple(c, q->status, q->status == 503 ? "salved is not answering; try again"
                                                                              : "internal error", NULL);
                return answer(c, q->status, q->content_type, q->reply, NULL);
        }
        if (q->sent)
                return MHD_YES;

        k = request_send(q, method, url);
        if (k < 0) {
                log_warning_errno(k, "Cannot ask salved: %m");
                return answer_simple(c, 503, "salved is not reachable; try again", NULL);
        }
        q->sent = true;
        MHD_suspend_connection(c);
        return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe) {
        request_free(*req_cls);
        *req_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        Listener *l = cls;

        if (code == MHD_CONNECTION_NOTIFY_STARTED)
                l->connections++;
        else if (l->connections > 0)
                l->connections--;
}

_printf_(2, 0)
static void mhd_log(void *cls, const char *fmt, va_list ap) {
        _cleanup_free_ char *s = NULL;

        if (vasprintf(&s, fmt, ap) >= 0)
                log_debug("libmicrohttpd: %s", s);
}

static int on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        Listener *l = userdata;

        log_debug("Idle; exiting (salve-ack.socket starts salve-ack again).");
        return sd_event_exit(l->event, 0);
}

/* After anything MHD did or may do: its timeout, and the idle timer. */
static void listener_update(Listener *l) {
        MHD_UNSIGNED_LONG_LONG ms;
        int k;

        (void) MHD_run(l->mhd);
        if (MHD_get_timeout(l->mhd, &ms) == MHD_YES) {
                k = sd_event_source_set_time_relative(l->mhd_timer, (uint64_t) ms * USEC_PER_MSEC);
                if (k >= 0)
                        k = sd_event_source_set_enabled(l->mhd_timer, SD_EVENT_ONESHOT);
                if (k < 0)
                        log_warning_errno(k, "Cannot arm libmicrohttpd's timer, ignoring: %m");
        } else
                (void) sd_event_source_set_enabled(l->mhd_timer, SD_EVENT_OFF);

        if (l->connections > 0)
                (void) sd_event_source_set_enabled(l->idle_timer, SD_EVENT_OFF);
        else if (sd_event_source_get_enabled(l->idle_timer, NULL) == 0) {
                (void) sd_event_source_set_time_relative(l->idle_timer, l->idle_exit);
                (void) sd_event_source_set_enabled(l->idle_timer, SD_EVENT_ONESHOT);
        }
}

static int on_mhd_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        listener_update(userdata);
        return 0;
}

static int on_mhd_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        listener_update(userdata);
        return 0;
}

/* ---- setup ---- */

static int listen_on(const char *addr, int *ret) {
        _cleanup_free_ char *host = NULL;
        struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6 };
        struct sockaddr_in sa = { .sin_family = AF_INET };
        const char *colon = strrchr(addr, ':');
        unsigned long port;
        char *end;
        int fd, k, on = 1;
        bool v6;

        if (!colon)
                return -EINVAL;
        port = strtoul(colon + 1, &end, 10);
        if (*end || port == 0 || port > 65535)
                return -EINVAL;
        host = strndup(addr, (size_t) (colon - addr));
        if (!host)
                return -ENOMEM;
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                memmove(host, host + 1, strlen(host));
                host[strlen(host) - 1] = 0;
        }
        v6 = strchr(host, ':');
        if (v6 ? inet_pton(AF_INET6, host, &sa6.sin6_addr) != 1 : inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return -EINVAL;
        sa.sin_port = sa6.sin6_port = htons((uint16_t) port);
        fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        k = v6 ? bind(fd, (struct sockaddr *) &sa6, sizeof(sa6)) : bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        if (k < 0 || listen(fd, 64) < 0) {
                k = -errno;
                safe_close(fd);
                return k;
        }
        *ret = fd;
        return 0;
}

static int parse_argv(int argc, char *argv[], const char **ret_listen, usec_t *ret_idle) {
        static const struct option options[] = {
                { "listen", required_argument, NULL, 'l' },
                { "idle-exit", required_argument, NULL, 'i' },
                { "debug", no_argument, NULL, 'd' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'l':
                        *ret_listen = optarg;
                        break;
                case 'i': {
                        char *end;
                        unsigned long s = strtoul(optarg, &end, 10);
                        if (*end || s == 0 || s > 86400) {
                                log_error("--idle-exit= takes 1 to 86400 seconds, not \"%s\".", optarg);
                                return -EINVAL;
                        }
                        *ret_idle = (usec_t) s * USEC_PER_SEC;
                        break;
                }
                case 'd':
                        debug_enabled = true;
                        break;
                case 'h':
                        printf("%s [--listen=ADDR:PORT] [--idle-exit=SECONDS] [--debug]\n\n"
                               "Hands remote acknowledgements to salved (salved(8), REMOTE ACKNOWLEDGEMENTS).\n",
                               program_invocation_short_name);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("Unexpected argument \"%s\".", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *io = NULL, *timer = NULL, *idle = NULL;
        Listener l = { .idle_exit = ACK_IDLE_EXIT_DEFAULT };
        const char *listen_addr = NULL;
        const union MHD_DaemonInfo *info;
        int fd = -EBADF, k, n;

        k = parse_argv(argc, argv, &listen_addr, &l.idle_exit);
        if (k <= 0)
                return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        if (listen_addr) {
                k = listen_on(listen_addr, &fd);
                if (k < 0) {
                        log_error_errno(k, "Cannot listen on %s: %m", listen_addr);
                        return EXIT_FAILURE;
                }
        } else {
                n = sd_listen_fds(true);
                if (n != 1) {
                        log_error("Expected one socket from systemd (salve-ack.socket), got %d; or use --listen=.", n);
                        return EXIT_FAILURE;
                }
                fd = SD_LISTEN_FDS_START;
                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                        log_error("The socket systemd passed is not a listening stream socket.");
                        return EXIT_FAILURE;
                }
        }

        k = sd_event_default(&event);
        if (k >= 0)
                k = sd_event_add_signal(event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (k >= 0)
                k = sd_event_add_signal(event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (k < 0) {
                log_error_errno(k, "Cannot set up the event loop: %m");
                return EXIT_FAILURE;
        }
        k = sd_bus_open_system(&bus);
        if (k >= 0)
                k = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (k < 0) {
                log_error_errno(k, "Cannot connect to the system bus: %m");
                return EXIT_FAILURE;
        }
        (void) sd_bus_set_description(bus, "salve-ack");
        l.event = event;
        l.bus = bus;

        l.mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                 on_request, &l,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &l,
                                 MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned) ACK_CONNECTIONS_MAX,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) ACK_CONNECTIONS_PER_IP_MAX,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) ACK_CONNECTION_TIMEOUT_SEC,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) (32U * 1024U),
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, &l,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, &l,
                                 MHD_OPTION_END);
        if (!l.mhd) {
                log_error("Cannot start libmicrohttpd on the socket.");
                return EXIT_FAILURE;
        }
        info = MHD_get_daemon_info(l.mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info) {
                log_error("libmicrohttpd has no epoll fd.");
                MHD_stop_daemon(l.mhd);
                return EXIT_FAILURE;
        }
        k = sd_event_add_io(event, &io, info->epoll_fd, EPOLLIN, on_mhd_io, &l);
        if (k >= 0)
                k = sd_event_add_time(event, &timer, CLOCK_MONOTONIC, 0, 0, on_mhd_timer, &l);
        if (k >= 0)
                k = sd_event_add_time_relative(event, &idle, CLOCK_MONOTONIC, l.idle_exit, 0, on_idle, &l);
        if (k < 0) {
                log_error_errno(k, "Cannot watch libmicrohttpd: %m");
                MHD_stop_daemon(l.mhd);
                return EXIT_FAILURE;
        }
        (void) sd_event_source_set_description(io, "mhd-epoll");
        (void) sd_event_source_set_description(timer, "mhd-timeout");
        (void) sd_event_source_set_description(idle, "idle-exit");
        (void) sd_event_source_set_enabled(timer, SD_EVENT_OFF);
        l.mhd_io = io;
        l.mhd_timer = timer;
        l.idle_timer = idle;
        (void) sd_event_set_watchdog(event, true);
        (void) sd_notify(false, "READY=1");

        listener_update(&l);
        k = sd_event_loop(event);
        (void) sd_notify(false, "STOPPING=1");

        /* Suspended connections must be resumed before MHD stops: their
         * calls are cancelled and they are closed unanswered. */
        for (Request *q = l.requests; q; q = q->next)
                if (q->sent && !q->answered) {
                        q->call = sd_bus_slot_unref(q->call);
                        q->answered = true;
                        q->status = 503;
                        MHD_resume_connection(q->connection);
                }
        MHD_stop_daemon(l.mhd);
        return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
