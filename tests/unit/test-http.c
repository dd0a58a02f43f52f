/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The HTTP client against an in-process server: a listening socket on
 * 127.0.0.1 served from the same sd-event loop, so every case is
 * deterministic. The server answers by path:
 *   /ok      200 with a body that echoes the request's body size
 *   /500     500 "boom"        /202   202 with no body
 *   /hang    reads the request and never answers
 *   /park    holds the request until the test releases it (server_release)
 *   /close   closes the connection without a reply
 *   /garbage writes something that is not HTTP and closes
 *   /big     200 with a 1 MiB body
 * It records each request (method, path, headers, body) in arrival order
 * and counts connections accepted and requests parked at once. */

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "http.h"
#include "strv.h"
#include "time-util.h"

#define MAX_REQ 32
#define BIG_SIZE (1024 * 1024)

typedef struct Server Server;

typedef struct Conn {
        Server *server;
        int fd;
        sd_event_source *io;
        char in[16384];
        size_t in_size;
        char *out;
        size_t out_size, out_done;
        bool close_after;
        bool parked;
        struct Conn *next;
} Conn;

typedef struct Request {
        char method[16], path[64];
        char headers[4096];
        char body[4096];
        size_t body_size;
        bool eof_seen;          /* the client closed the connection */
} Request;

struct Server {
        sd_event *event;
        int listen_fd;
        sd_event_source *listen_io;
        uint16_t port;
        Conn *conns;
        Request req[MAX_REQ];
        size_t n_req;
        unsigned accepted, parked, max_parked, eofs;
};

typedef struct Result {
        bool called;
        unsigned order;
        long status;
        int error;
        char body[256];
        size_t body_size;
        bool truncated;
        char error_text[256];
        uint64_t elapsed;
} Result;

typedef struct Fixture {
        sd_event *event;
        Server server;
        HttpClient *client;
        Result results[MAX_REQ];
        unsigned n_done;
        bool in_start;
        bool free_client_in_done;
        HttpCall *cancel_in_done;
} Fixture;

static void conn_free(Conn *c) {
        Server *s = c->server;

        for (Conn **p = &s->conns; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        if (c->parked)
                s->parked--;
        sd_event_source_disable_unref(c->io);
        close(c->fd);
        free(c->out);
        free(c);
}

static void conn_flush(Conn *c) {
        while (c->out_done < c->out_size) {
                ssize_t n = write(c->fd, c->out + c->out_done, c->out_size - c->out_done);
                if (n < 0) {
                        if (errno == EAGAIN) {
                                assert_int_equal(sd_event_source_set_io_events(c->io, EPOLLIN | EPOLLOUT), 0);
                                return;
                        }
                        conn_free(c);
                        return;
                }
                c->out_done += (size_t) n;
        }
        c->out = mfree(c->out);
        c->out_size = c->out_done = 0;
        assert_int_equal(sd_event_source_set_io_events(c->io, EPOLLIN), 0);
        if (c->close_after)
                conn_free(c);
}

static void conn_send(Conn *c, const char *head, const char *body, size_t body_size, bool close_after) {
        size_t hl = strlen(head);

        c->out = malloc(hl + body_size);
        assert_non_null(c->out);
        memcpy(c->out, head, hl);
        if (body_size)
                memcpy(c->out + hl, body, body_size);
        c->out_size = hl + body_size;
        c->out_done = 0;
        c->close_after = close_after;
        conn_flush(c);
}

static void conn_reply(Conn *c, int status, const char *body, size_t size) {
        char head[256];

        snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n\r\n",
                 status, size);
        conn_send(c, head, body, size, false);
}

static void server_release(Server *s) {
        for (Conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (c->parked) {
                        c->parked = false;
                        s->parked--;
                        conn_reply(c, 200, "released", 8);
                }
        }
}

/* Parses one complete request out of c->in; false if more is needed. */
static bool conn_handle(Conn *c) {
        Server *s = c->server;
        char *end = memmem(c->in, c->in_size, "\r\n\r\n", 4);
        size_t head_size, body_size = 0;
        Request *r;

        if (!end)
                return false;
        head_size = (size_t) (end - c->in) + 4;
        for (char *p = c->in; p < end; p++)
                if (strncasecmp(p, "\r\nContent-Length:", 17) == 0)
                        body_size = strtoul(p + 17, NULL, 10);
        if (c->in_size < head_size + body_size)
                return false;

        assert_true(s->n_req < MAX_REQ);
        r = &s->req[s->n_req++];
        assert_int_equal(sscanf(c->in, "%15s %63s", r->method, r->path), 2);
        assert_true(head_size < sizeof(r->headers));
        memcpy(r->headers, c->in, head_size);
        r->headers[head_size] = 0;
        assert_true(body_size < sizeof(r->body));
        memcpy(r->body, c->in + head_size, body_size);
        r->body_size = body_size;

        memmove(c->in, c->in + head_size + body_size, c->in_size - head_size - body_size);
        c->in_size -= head_size + body_size;

        if (streq(r->path, "/ok")) {
                char b[64];
                int n = snprintf(b, sizeof(b), "got %zu bytes", body_size);
                conn_reply(c, 200, b, (size_t) n);
        } else if (streq(r->path, "/500"))
                conn_reply(c, 500, "boom", 4);
        else if (streq(r->path, "/202"))
                conn_reply(c, 202, NULL, 0);
        else if (streq(r->path, "/hang"))
                ;
        else if (streq(r->path, "/park")) {
                c->parked = true;
                s->parked++;
                s->max_parked = MAX(s->max_parked, s->parked);
        } else if (streq(r->path, "/close")) {
                conn_free(c);
                return false;
        } else if (streq(r->path, "/garbage")) {
                conn_send(c, "this is not http at all\r\n\r\n", NULL, 0, true);
                return false;
        } else if (streq(r->path, "/big")) {
                char *big = malloc(BIG_SIZE);
                assert_non_null(big);
                memset(big, 'x', BIG_SIZE);
                conn_reply(c, 200, big, BIG_SIZE);
                free(big);
        } else
                conn_reply(c, 404, "no", 2);
        return false;   /* one request at a time per connection (curl does not pipeline) */
}

static int conn_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;

        if (revents & EPOLLOUT) {
                conn_flush(c);
                return 0;
        }
        ssize_t n = read(fd, c->in + c->in_size, sizeof(c->in) - c->in_size);
        if (n <= 0) {
                /* The client went away: mark its last request. */
                for (size_t i = c->server->n_req; i > 0; i--)
                        if (!c->server->req[i - 1].eof_seen) {
                                c->server->req[i - 1].eof_seen = true;
                                break;
                        }
                c->server->eofs++;
                conn_free(c);
                return 0;
        }
        c->in_size += (size_t) n;
        (void) conn_handle(c);
        return 0;
}

static int server_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;
        Conn *c;
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (cfd < 0)
                return 0;
        c = calloc(1, sizeof(*c));
        assert_non_null(c);
        c->server = s;
        c->fd = cfd;
        assert_int_equal(sd_event_add_io(s->event, &c->io, cfd, EPOLLIN, conn_io, c), 0);
        c->next = s->conns;
        s->conns = c;
        s->accepted++;
        return 0;
}

static void server_start(Server *s, sd_event *e) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(sa);

        s->event = e;
        s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(s->listen_fd >= 0);
        assert_int_equal(bind(s->listen_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(s->listen_fd, 64), 0);
        assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *) &sa, &l), 0);
        s->port = ntohs(sa.sin_port);
        assert_int_equal(sd_event_add_io(e, &s->listen_io, s->listen_fd, EPOLLIN, server_accept, s), 0);
}

static void server_stop(Server *s) {
        while (s->conns)
                conn_free(s->conns);
        sd_event_source_disable_unref(s->listen_io);
        close(s->listen_fd);
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->event), 0);
        server_start(&f->server, f->event);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        f->client = http_client_free(f->client);
        server_stop(&f->server);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

/* userdata is the Result; the fixture is found through a global for the
 * callbacks that need it (one test runs at a time). */
static Fixture *current;

static void done_record(HttpCall *call, const HttpReply *reply, void *userdata) {
        Result *r = userdata;
        Fixture *f = current;

        assert_false(f->in_start);       /* never from inside http_call_start */
        assert_false(r->called);         /* exactly once */
        r->called = true;
        r->order = f->n_done++;
        r->status = reply->status;
        r->error = reply->error;
        r->truncated = reply->truncated;
        r->body_size = reply->body_size;
        r->elapsed = reply->elapsed_usec;
        snprintf(r->body, sizeof(r->body), "%.*s", (int) MIN(reply->body_size, sizeof(r->body) - 1), reply->body);
        snprintf(r->error_text, sizeof(r->error_text), "%s", strempty(reply->error_text));
        if (f->cancel_in_done)
                f->cancel_in_done = http_call_cancel(f->cancel_in_done);
        if (f->free_client_in_done)
                f->client = http_client_free(f->client);
}

static HttpCall *start(Fixture *f, const char *path, Result *r, const HttpRequest *tmpl) {
        char url[128];
        HttpRequest req = tmpl ? *tmpl : (HttpRequest) { .body = "{}", .body_size = 2 };
        HttpCall *call = NULL;

        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->server.port, path);
        req.url = url;
        f->in_start = true;
        assert_int_equal(http_call_start(f->client, &req, done_record, r, &call), 0);
        f->in_start = false;
        /* url was a stack buffer: the client copied it */
        memset(url, 'Z', sizeof(url) - 1);
        return call;
}

/* Runs the loop until cond holds; fails after 10 s of wall time so a bug
 * hangs nothing (a bound, not a timing assumption). */
#define RUN_UNTIL(f, cond)                                                      \
        do {                                                                    \
                usec_t _deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC; \
                while (!(cond)) {                                               \
                        assert_true(now_usec(CLOCK_MONOTONIC) < _deadline);     \
                        assert_true(sd_event_run((f)->event, 100 * USEC_PER_MSEC) >= 0); \
                }                                                               \
        } while (0)

static void client_new(Fixture *f, unsigned max) {
        current = f;
        assert_int_equal(http_client_new(f->event, max, &f->client), 0);
}

static void test_ok_headers_body(void **state) {
        Fixture *f = *state;
        char *headers[] = { (char *) "Content-Type: application/json", (char *) "X-Salve-Test: yes", NULL };
        char body[] = "{\"event\":\"human-needed\"}";
        HttpRequest req = { .headers = headers, .body = body, .body_size = strlen(body) };
        Result r = {};

        client_new(f, 0);
        start(f, "/ok", &r, &req);
        body[0] = 'X';  /* copied at start */
        headers[1] = (char *) "X-Salve-Test: changed";
        assert_false(r.called);
        assert_int_equal(http_client_in_flight(f->client), 1);
        RUN_UNTIL(f, r.called);

        assert_int_equal(r.status, 200);
        assert_int_equal(r.error, 0);
        assert_string_equal(r.body, "got 24 bytes");
        assert_int_equal(r.body_size, 12);
        assert_false(r.truncated);
        assert_true(r.elapsed > 0);
        assert_int_equal(http_client_in_flight(f->client), 0);

        Request *q = &f->server.req[0];
        assert_int_equal(f->server.n_req, 1);
        assert_string_equal(q->method, "POST");
        assert_string_equal(q->path, "/ok");
        assert_int_equal(q->body_size, 24);
        assert_memory_equal(q->body, "{\"event\":\"human-needed\"}", 24);
        assert_non_null(strstr(q->headers, "\r\nContent-Type: application/json\r\n"));
        assert_non_null(strstr(q->headers, "\r\nX-Salve-Test: yes\r\n"));
        assert_non_null(strstr(q->headers, "\r\nUser-Agent: salve/" SALVE_VERSION "\r\n"));
        assert_non_null(strstr(q->headers, "\r\nContent-Length: 24\r\n"));
        assert_null(strcasestr(q->headers, "Expect:"));
}

static void test_methods_and_keepalive(void **state) {
        Fixture *f = *state;
        HttpRequest put = { .method = "PUT", .body = "abc", .body_size = 3 };
        HttpRequest get = { .method = "GET" };
        Result r[3] = {};

        client_new(f, 0);
        start(f, "/ok", &r[0], &put);
        RUN_UNTIL(f, r[0].called);
        start(f, "/ok", &r[1], &get);
        RUN_UNTIL(f, r[1].called);
        start(f, "/ok", &r[2], NULL);
        RUN_UNTIL(f, r[2].called);

        assert_string_equal(f->server.req[0].method, "PUT");
        assert_string_equal(r[0].body, "got 3 bytes");
        assert_string_equal(f->server.req[1].method, "GET");
        assert_string_equal(r[1].body, "got 0 bytes");
        assert_string_equal(f->server.req[2].method, "POST");
        /* one connection, kept alive and reused */
        assert_int_equal(f->server.accepted, 1);
}

static void test_status_codes(void **state) {
        Fixture *f = *state;
        Result r500 = {}, r202 = {};

        client_new(f, 0);
        start(f, "/500", &r500, NULL);
        start(f, "/202", &r202, NULL);
        RUN_UNTIL(f, r500.called && r202.called);
        assert_int_equal(r500.status, 500);
        assert_int_equal(r500.error, 0);   /* an HTTP reply is not a transport error */
        assert_string_equal(r500.body, "boom");
        assert_int_equal(r202.status, 202);
        assert_int_equal(r202.error, 0);
        assert_int_equal(r202.body_size, 0);
}

static void test_hang_times_out_others_finish(void **state) {
        Fixture *f = *state;
        HttpRequest slow = { .timeout_usec = 300 * USEC_PER_MSEC };
        Result hang = {}, ok[3] = {};

        client_new(f, 0);
        start(f, "/hang", &hang, &slow);
        for (int i = 0; i < 3; i++)
                start(f, "/ok", &ok[i], NULL);
        RUN_UNTIL(f, hang.called);

        for (int i = 0; i < 3; i++) {
                assert_true(ok[i].called);
                assert_int_equal(ok[i].status, 200);
                assert_true(ok[i].order < hang.order);
        }
        assert_int_equal(hang.error, -ETIMEDOUT);
        assert_int_equal(hang.status, 0);
        assert_true(hang.error_text[0] != 0);
        assert_true(hang.elapsed >= 300 * USEC_PER_MSEC);
        /* the hung connection was given up: the server sees it closed */
        RUN_UNTIL(f, f->server.eofs >= 1);
}

static void test_closed_garbage_refused(void **state) {
        Fixture *f = *state;
        Result closed = {}, garbage = {}, refused = {};
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(sa);
        char url[64];
        int fd;

        client_new(f, 0);
        start(f, "/close", &closed, NULL);
        start(f, "/garbage", &garbage, NULL);

        /* a port nobody listens on: bound, then closed */
        fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &l), 0);
        close(fd);
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", ntohs(sa.sin_port));
        assert_int_equal(http_call_start(f->client, &(HttpRequest) { .url = url }, done_record, &refused, NULL), 0);

        RUN_UNTIL(f, closed.called && garbage.called && refused.called);
        assert_int_equal(closed.status, 0);
        assert_int_equal(closed.error, -ECONNRESET);
        assert_int_equal(garbage.status, 0);
        assert_int_equal(garbage.error, -EPROTO);
        assert_int_equal(refused.status, 0);
        assert_int_equal(refused.error, -ECONNREFUSED);
        assert_true(refused.error_text[0] != 0);
}

static void test_oversized_truncated(void **state) {
        Fixture *f = *state;
        HttpRequest small = { .reply_max = 1000 };
        Result big = {}, dflt = {}, after = {};

        client_new(f, 1);
        start(f, "/big", &big, &small);
        start(f, "/big", &dflt, NULL);
        RUN_UNTIL(f, big.called && dflt.called);
        assert_int_equal(big.status, 200);
        assert_int_equal(big.error, 0);
        assert_true(big.truncated);
        assert_int_equal(big.body_size, 1000);
        assert_int_equal(dflt.status, 200);
        assert_true(dflt.truncated);
        assert_int_equal(dflt.body_size, HTTP_REPLY_MAX_DEFAULT);
        assert_int_equal(dflt.body[0], 'x');

        /* the rest was read and dropped: the connection is reused */
        start(f, "/ok", &after, NULL);
        RUN_UNTIL(f, after.called);
        assert_int_equal(after.status, 200);
        assert_int_equal(f->server.accepted, 1);
}

static void test_queueing(void **state) {
        Fixture *f = *state;
        Result r[5] = {};
        char seq[5][32];

        client_new(f, 2);
        for (int i = 0; i < 5; i++) {
                char *h[] = { seq[i], NULL };
                snprintf(seq[i], sizeof(seq[i]), "X-Seq: %d", i);
                start(f, "/park", &r[i], &(HttpRequest) { .headers = h });
        }
        assert_int_equal(http_client_in_flight(f->client), 5);
        assert_int_equal(http_client_queued(f->client), 3);

        for (unsigned done = 0; done < 5;) {
                unsigned want = MIN(2u, 5u - done);
                RUN_UNTIL(f, f->server.parked == want);
                assert_int_equal(http_client_queued(f->client), 5 - done - want);
                server_release(&f->server);
                RUN_UNTIL(f, f->n_done == done + want);
                done += want;
        }
        assert_int_equal(f->server.max_parked, 2);
        assert_int_equal(f->server.n_req, 5);
        for (int i = 0; i < 5; i++) {
                char want[32];
                snprintf(want, sizeof(want), "\r\nX-Seq: %d\r\n", i);
                assert_non_null(strstr(f->server.req[i].headers, want));
                assert_int_equal(r[i].status, 200);
                assert_string_equal(r[i].body, "released");
        }
        assert_int_equal(http_client_in_flight(f->client), 0);
}

static void test_cancel(void **state) {
        Fixture *f = *state;
        Result parked = {}, queued = {}, other = {};
        HttpCall *a, *b;

        client_new(f, 1);
        a = start(f, "/park", &parked, NULL);
        b = start(f, "/ok", &queued, NULL);
        assert_int_equal(http_client_queued(f->client), 1);
        RUN_UNTIL(f, f->server.parked == 1);

        assert_null(http_call_cancel(b));       /* queued */
        assert_int_equal(http_client_in_flight(f->client), 1);
        assert_null(http_call_cancel(a));       /* running */
        assert_int_equal(http_client_in_flight(f->client), 0);
        assert_null(http_call_cancel(NULL));
        RUN_UNTIL(f, f->server.eofs == 1);      /* the connection was closed */

        start(f, "/ok", &other, NULL);
        RUN_UNTIL(f, other.called);
        assert_false(parked.called);
        assert_false(queued.called);
        assert_int_equal(f->n_done, 1);
}

static void test_cancel_in_done(void **state) {
        Fixture *f = *state;
        Result first = {}, second = {};

        client_new(f, 1);
        start(f, "/ok", &first, NULL);
        f->cancel_in_done = start(f, "/ok", &second, NULL);
        RUN_UNTIL(f, first.called);
        assert_null(f->cancel_in_done);
        assert_int_equal(http_client_in_flight(f->client), 0);
        assert_false(second.called);
}

static void test_free_pending(void **state) {
        Fixture *f = *state;
        Result r[4] = {};

        client_new(f, 2);
        for (int i = 0; i < 4; i++)
                start(f, "/park", &r[i], NULL);
        RUN_UNTIL(f, f->server.parked == 2);
        f->client = http_client_free(f->client);
        RUN_UNTIL(f, f->server.eofs == 2);
        for (int i = 0; i < 4; i++)
                assert_false(r[i].called);
        assert_int_equal(f->n_done, 0);
        /* nothing of the client is left in the loop */
        assert_int_equal(sd_event_run(f->event, 0), 0);
        assert_null(http_client_free(NULL));
}

static void test_free_in_done(void **state) {
        Fixture *f = *state;
        Result r[3] = {};

        client_new(f, 0);
        f->free_client_in_done = true;
        start(f, "/ok", &r[0], NULL);
        start(f, "/park", &r[1], NULL);
        start(f, "/park", &r[2], NULL);
        RUN_UNTIL(f, r[0].called);
        assert_null(f->client);
        RUN_UNTIL(f, f->server.eofs == 2);
        assert_false(r[1].called);
        assert_false(r[2].called);
}

/* Many calls through few slots: all answered, over reused connections. */
static void test_many(void **state) {
        Fixture *f = *state;
        static Result r[MAX_REQ];
        usec_t t0;

        memset(r, 0, sizeof(r));
        client_new(f, 4);
        t0 = now_usec(CLOCK_MONOTONIC);
        for (int i = 0; i < MAX_REQ; i++)
                start(f, "/ok", &r[i], NULL);
        assert_int_equal(http_client_queued(f->client), MAX_REQ - 4);
        RUN_UNTIL(f, f->n_done == MAX_REQ);
        for (int i = 0; i < MAX_REQ; i++) {
                assert_int_equal(r[i].status, 200);
                assert_string_equal(r[i].body, "got 2 bytes");
        }
        assert_int_equal(f->server.n_req, MAX_REQ);
        assert_true(f->server.accepted <= 4);
        fprintf(stderr, "%d calls, 4 in flight: %u connections, %llu us\n", MAX_REQ, f->server.accepted,
                (unsigned long long) (now_usec(CLOCK_MONOTONIC) - t0));
}

static void test_bad_requests(void **state) {
        Fixture *f = *state;
        Result r = {};
        char *crlf[] = { (char *) "X-A: b\r\nX-Injected: 1", NULL };
        char *nocolon[] = { (char *) "X-A", NULL };

        client_new(f, 0);
        assert_int_equal(http_call_start(f->client, &(HttpRequest) { .url = "ftp://127.0.0.1/x" }, done_record, &r, NULL),
                         -EPROTONOSUPPORT);
        assert_int_equal(http_call_start(f->client, &(HttpRequest) { .url = "file:///etc/passwd" }, done_record, &r, NULL),
                         -EPROTONOSUPPORT);
        assert_int_equal(http_call_start(f->client, &(HttpRequest) { .url = "not a url" }, done_record, &r, NULL), -EINVAL);
        assert_int_equal(http_call_start(f->client, &(HttpRequest) {}, done_record, &r, NULL), -EINVAL);
        assert_int_equal(http_call_start(f->client, &(HttpRequest) { .url = "http://127.0.0.1/", .method = "DELETE" },
                                         done_record, &r, NULL), -EINVAL);
        assert_int_equal(http_call_start(f->client, &(HttpRequest) { .url = "http://127.0.0.1/", .method = "GET",
                                                                      .body = "x", .body_size = 1 },
                                         done_record, &r, NULL), -EINVAL);
        assert_int_equal(http_call_start(f->client, &(HttpRequest) { .url = "http://127.0.0.1/", .headers = crlf },
                                         done_record, &r, NULL), -EINVAL);
        assert_int_equal(http_call_start(f->client, &(HttpRequest) { .url = "http://127.0.0.1/", .headers = nocolon },
                                         done_record, &r, NULL), -EINVAL);
        assert_int_equal(http_client_in_flight(f->client), 0);
        assert_int_equal(sd_event_run(f->event, 0), 0);
        assert_false(r.called);
}

static void test_error_map(void **state) {
        assert_int_equal(http_error_from_curl(0, 0), 0);
        assert_int_equal(http_error_from_curl(28 /* CURLE_OPERATION_TIMEDOUT */, 0), -ETIMEDOUT);
        assert_int_equal(http_error_from_curl(7 /* CURLE_COULDNT_CONNECT */, EHOSTUNREACH), -EHOSTUNREACH);
        assert_int_equal(http_error_from_curl(7, ECONNREFUSED), -ECONNREFUSED);
        assert_int_equal(http_error_from_curl(6 /* CURLE_COULDNT_RESOLVE_HOST */, 0), -EADDRNOTAVAIL);
        assert_int_equal(http_error_from_curl(52 /* CURLE_GOT_NOTHING */, 0), -ECONNRESET);
        assert_int_equal(http_error_from_curl(8 /* CURLE_WEIRD_SERVER_REPLY */, 0), -EPROTO);
        assert_int_equal(http_error_from_curl(60 /* CURLE_PEER_FAILED_VERIFICATION */, 0), -EKEYREJECTED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ok_headers_body, setup, teardown),
                cmocka_unit_test_setup_teardown(test_methods_and_keepalive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_status_codes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hang_times_out_others_finish, setup, teardown),
                cmocka_unit_test_setup_teardown(test_closed_garbage_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversized_truncated, setup, teardown),
                cmocka_unit_test_setup_teardown(test_queueing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_in_done, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_pending, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_in_done, setup, teardown),
                cmocka_unit_test_setup_teardown(test_many, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
                cmocka_unit_test(test_error_map),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
