/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The relay's HTTP client (http.h): curl's multi interface on sd-event.
 *
 * How curl and the loop meet: CURLMOPT_SOCKETFUNCTION tells us which
 * sockets to watch and for what; each becomes an HttpSocket owning one io
 * source ("http-io"), attached to curl's socket with curl_multi_assign().
 * CURLMOPT_TIMERFUNCTION asks for one timer, the client's "http-timer".
 * When either fires we call curl_multi_socket_action() and then drain
 * curl_multi_info_read() for finished transfers.
 *
 * Invariants:
 *  - Every HttpCall is on exactly one of three lists: running (its easy
 *    handle is in the multi handle), queued (waiting for a slot), failed
 *    (its start failed after it was queued; "http-failed", a defer source,
 *    delivers the error from the loop).
 *  - done is only ever called from complete(), which runs from an sd-event
 *    handler, never from inside a curl callback or http_call_start().
 *  - client->dispatching counts complete()s on the stack; http_client_free()
 *    called from a done callback tears everything down but leaves the
 *    struct to the outermost dispatcher, which frees it once done returns. */

#include <curl/curl.h>
#include <limits.h>
#include <strings.h>
#include <sys/epoll.h>

#include "config.h"
#include "http.h"
#include "strv.h"
#include "time-util.h"

typedef struct HttpSocket HttpSocket;

struct HttpSocket {
        HttpClient *client;
        curl_socket_t fd;
        sd_event_source *io;
        HttpSocket *prev, *next;
};

typedef enum CallList {
        CALL_NONE,
        CALL_RUNNING,
        CALL_QUEUED,
        CALL_FAILED,
} CallList;

struct HttpCall {
        HttpClient *client;
        CallList list;
        HttpCall *prev, *next;

        CURL *easy;
        struct curl_slist *headers;
        char *url;
        char *method;
        char *body;
        size_t body_size;

        char *reply;
        size_t reply_size, reply_alloc, reply_max;
        bool truncated;
        char errbuf[CURL_ERROR_SIZE];
        int start_error;        /* for CALL_FAILED */

        bool in_done;
        HttpDone done;
        void *userdata;
};

typedef struct CallQueue {
        HttpCall *head, *tail;
        unsigned n;
} CallQueue;

struct HttpClient {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        sd_event_source *failed_defer;
        unsigned max_in_flight;

        CallQueue running, queued, failed;
        HttpSocket *sockets;

        unsigned dispatching;
        bool dead;              /* freed from inside done: the dispatcher frees the struct */
};

static bool curl_initialized = false;

static CallQueue *call_queue(HttpClient *c, CallList l) {
        switch (l) {
        case CALL_RUNNING:
                return &c->running;
        case CALL_QUEUED:
                return &c->queued;
        case CALL_FAILED:
                return &c->failed;
        default:
                return NULL;
        }
}

static void call_link(HttpCall *call, CallList l) {
        CallQueue *q = call_queue(call->client, l);

        call->list = l;
        call->next = NULL;
        call->prev = q->tail;
        if (q->tail)
                q->tail->next = call;
        else
                q->head = call;
        q->tail = call;
        q->n++;
}

static void call_unlink(HttpCall *call) {
        CallQueue *q = call_queue(call->client, call->list);

        if (!q)
                return;
        if (call->prev)
                call->prev->next = call->next;
        else
                q->head = call->next;
        if (call->next)
                call->next->prev = call->prev;
        else
                q->tail = call->prev;
        q->n--;
        call->prev = call->next = NULL;
        call->list = CALL_NONE;
}

/* Frees the call's memory; the caller unlinked it and took its easy
 * handle out of the multi handle. */
static HttpCall *call_free(HttpCall *call) {
        if (!call)
                return NULL;
        if (call->easy)
                curl_easy_cleanup(call->easy);
        curl_slist_free_all(call->headers);
        free(call->url);
        free(call->method);
        free(call->body);
        free(call->reply);
        return mfree(call);
}

/* Takes the call out of the client: out of curl and off its list. */
static void call_detach(HttpCall *call) {
        if (call->list == CALL_RUNNING && call->client->multi)
                (void) curl_multi_remove_handle(call->client->multi, call->easy);
        call_unlink(call);
}

int http_error_from_curl(int code, long os_errno) {
        switch ((CURLcode) code) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH || os_errno == ETIMEDOUT)
                        return -(int) os_errno;
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EADDRNOTAVAIL;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_UNSUPPORTED_PROTOCOL:        /* also HTTP/0.9, i.e. no status line at all */
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_BAD_CONTENT_ENCODING:
        case CURLE_SSL_CONNECT_ERROR:
                return -EPROTO;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
                return -EKEYREJECTED;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

/* Hands the finished call to its owner and frees it. The call is already
 * detached. */
static void complete(HttpClient *c, HttpCall *call, int curl_code) {
        HttpReply reply = {};
        long os_errno = 0;

        if (call->easy) {
                curl_off_t total = 0;

                (void) curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &reply.status);
                (void) curl_easy_getinfo(call->easy, CURLINFO_OS_ERRNO, &os_errno);
                if (curl_easy_getinfo(call->easy, CURLINFO_TOTAL_TIME_T, &total) == CURLE_OK && total > 0)
                        reply.elapsed_usec = (uint64_t) total;
        }

        if (call->start_error < 0)
                reply.error = call->start_error;
        else
                reply.error = http_error_from_curl(curl_code, os_errno);
        reply.error_text = call->errbuf[0] ? call->errbuf : (reply.error < 0 ? curl_easy_strerror(curl_code) : NULL);
        reply.body = call->reply ?: "";
        reply.body_size = call->reply_size;
        reply.truncated = call->truncated;

        c->dispatching++;
        call->in_done = true;
        call->done(call, &reply, call->userdata);
        c->dispatching--;
        call_free(call);
}

static int call_add_to_multi(HttpCall *call) {
        HttpClient *c = call->client;

        if (curl_multi_add_handle(c->multi, call->easy) != CURLM_OK)
                return -ENOMEM;
        call_link(call, CALL_RUNNING);
        return 0;
}

/* Starts queued calls while there are free slots. A call curl refuses is
 * moved to the failed list, whose defer source reports it. */
static void pump(HttpClient *c) {
        while (c->queued.head && c->running.n < c->max_in_flight) {
                HttpCall *call = c->queued.head;
                int r;

                call_unlink(call);
                r = call_add_to_multi(call);
                if (r < 0) {
                        call->start_error = r;
                        call_link(call, CALL_FAILED);
                        (void) sd_event_source_set_enabled(c->failed_defer, SD_EVENT_ONESHOT);
                }
        }
}

/* Drains curl's finished transfers. Returns false when done freed the
 * client (the struct is freed here then, and c must not be touched). */
static bool check_finished(HttpClient *c) {
        CURLMsg *msg;
        int left;

        c->dispatching++;
        while (!c->dead && (msg = curl_multi_info_read(c->multi, &left))) {
                HttpCall *call = NULL;
                CURLcode code;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                code = msg->data.result;
                if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &call) != CURLE_OK || !call)
                        continue;

                call_detach(call);
                pump(c);
                complete(c, call, code);
        }
        c->dispatching--;

        if (c->dead && c->dispatching == 0) {
                free(c);
                return false;
        }
        return true;
}

static int on_failed(sd_event_source *s, void *userdata) {
        HttpClient *c = userdata;

        c->dispatching++;
        while (!c->dead && c->failed.head) {
                HttpCall *call = c->failed.head;

                call_unlink(call);
                complete(c, call, CURLE_FAILED_INIT);
        }
        c->dispatching--;
        if (c->dead && c->dispatching == 0)
                free(c);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HttpSocket *sock = userdata;
        HttpClient *c = sock->client;
        int mask = 0, running = 0;

        if (revents & EPOLLIN)
                mask |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                mask |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                mask |= CURL_CSELECT_ERR;

        /* sock may be gone after this: curl may remove the socket */
        (void) curl_multi_socket_action(c->multi, fd, mask, &running);
        (void) check_finished(c);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        HttpClient *c = userdata;
        int running = 0;

        (void) curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        (void) check_finished(c);
        return 0;
}

static void socket_free(HttpSocket *sock) {
        HttpClient *c = sock->client;

        if (sock->prev)
                sock->prev->next = sock->next;
        else
                c->sockets = sock->next;
        if (sock->next)
                sock->next->prev = sock->prev;
        sd_event_source_disable_unref(sock->io);
        free(sock);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int action, void *userdata, void *socketp) {
        HttpClient *c = userdata;
        HttpSocket *sock = socketp;
        uint32_t events = 0;

        if (action == CURL_POLL_REMOVE) {
                if (sock) {
                        (void) curl_multi_assign(c->multi, fd, NULL);
                        socket_free(sock);
                }
                return 0;
        }

        if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
                events |= EPOLLOUT;

        if (sock) {
                if (sd_event_source_set_io_events(sock->io, events) < 0 ||
                    sd_event_source_set_enabled(sock->io, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }

        sock = calloc(1, sizeof(*sock));
        if (!sock)
                return -1;
        sock->client = c;
        sock->fd = fd;
        if (sd_event_add_io(c->event, &sock->io, fd, events, on_io, sock) < 0) {
                free(sock);
                return -1;
        }
        (void) sd_event_source_set_description(sock->io, "http-io");
        sock->next = c->sockets;
        if (c->sockets)
                c->sockets->prev = sock;
        c->sockets = sock;

        if (curl_multi_assign(c->multi, fd, sock) != CURLM_OK) {
                socket_free(sock);
                return -1;
        }
        return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userdata) {
        HttpClient *c = userdata;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0;

        /* 0 means "as soon as possible": a deadline in the past fires on
         * the loop's next iteration, never from inside curl. */
        if (sd_event_source_set_time(c->timer, now_usec(CLOCK_MONOTONIC) + (usec_t) timeout_ms * USEC_PER_MSEC) < 0 ||
            sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

int http_client_new(sd_event *event, unsigned max_in_flight, HttpClient **ret) {
        HttpClient *c;
        int r;

        if (!event || !ret)
                return -EINVAL;

        if (!curl_initialized) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -EIO;
                curl_initialized = true;
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->max_in_flight = max_in_flight ?: HTTP_MAX_IN_FLIGHT_DEFAULT;

        c->multi = curl_multi_init();
        if (!c->multi) {
                r = -ENOMEM;
                goto fail;
        }
        if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK) {
                r = -EIO;
                goto fail;
        }
        /* Keep idle connections for reuse: at most one per slot. */
        (void) curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long) c->max_in_flight);

        r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(c->timer, "http-timer");

        r = sd_event_add_defer(event, &c->failed_defer, on_failed, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(c->failed_defer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(c->failed_defer, "http-failed");

        *ret = c;
        return 0;

fail:
        http_client_free(c);
        return r;
}

HttpClient *http_client_free(HttpClient *c) {
        CallList lists[] = { CALL_RUNNING, CALL_QUEUED, CALL_FAILED };

        if (!c || c->dead)
                return NULL;

        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                CallQueue *q = call_queue(c, lists[i]);

                while (q->head) {
                        HttpCall *call = q->head;

                        call_detach(call);
                        /* a call whose done is running is freed by complete() */
                        if (!call->in_done)
                                call_free(call);
                }
        }
        if (c->multi)
                curl_multi_cleanup(c->multi);
        c->multi = NULL;
        while (c->sockets)
                socket_free(c->sockets);
        c->timer = sd_event_source_disable_unref(c->timer);
        c->failed_defer = sd_event_source_disable_unref(c->failed_defer);
        c->event = sd_event_unref(c->event);

        if (c->dispatching > 0)
                c->dead = true;
        else
                free(c);
        return NULL;
}

static int call_build(HttpCall *call, const HttpRequest *req) {
        CURL *e;
        bool have_expect = false;

        call->easy = e = curl_easy_init();
        if (!e)
                return -ENOMEM;

        call->url = strdup(req->url);
        call->method = strdup(req->method ?: "POST");
        if (!call->url || !call->method)
                return -ENOMEM;
        if (req->body_size > 0) {
                call->body = malloc(req->body_size);
                if (!call->body)
                        return -ENOMEM;
                memcpy(call->body, req->body, req->body_size);
                call->body_size = req->body_size;
        }

        STRV_FOREACH(h, req->headers) {
                struct curl_slist *l;

                if (strpbrk(*h, "\r\n") || !strchr(*h, ':'))
                        return -EINVAL;
                if (strncasecmp(*h, "Expect:", 7) == 0)
                        have_expect = true;
                l = curl_slist_append(call->headers, *h);
                if (!l)
                        return -ENOMEM;
                call->headers = l;
        }
        if (!have_expect) {
                /* No "Expect: 100-continue" round trip before the body. */
                struct curl_slist *l = curl_slist_append(call->headers, "Expect:");
                if (!l)
                        return -ENOMEM;
                call->headers = l;
        }

        uint64_t timeout = req->timeout_usec ?: HTTP_TIMEOUT_DEFAULT_USEC;
        long timeout_ms = (long) MIN((timeout + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (uint64_t) LONG_MAX);
        long connect_ms = (long) MIN((uint64_t) timeout_ms, HTTP_CONNECT_TIMEOUT_MAX_USEC / USEC_PER_MSEC);

        call->reply_max = req->reply_max ?: HTTP_REPLY_MAX_DEFAULT;

        if (curl_easy_setopt(e, CURLOPT_URL, call->url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_USERAGENT, "salve/" SALVE_VERSION) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PRIVATE, call) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK)
                return -EIO;

        if (streq(call->method, "GET")) {
                if (call->body_size > 0)
                        return -EINVAL;
                if (curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK)
                        return -EIO;
        } else if (streq(call->method, "POST") || streq(call->method, "PUT")) {
                /* POSTFIELDS with an explicit size sends binary bodies as
                 * they are; PUT is the same request with another verb. */
                if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) call->body_size) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body ?: "") != CURLE_OK)
                        return -EIO;
                if (streq(call->method, "PUT") &&
                    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT") != CURLE_OK)
                        return -EIO;
        } else
                return -EINVAL;

        return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata) {
        HttpCall *call = userdata;
        size_t n = size * nmemb, keep;

        keep = MIN(n, call->reply_max - call->reply_size);
        if (keep < n)
                call->truncated = true;
        if (keep > 0) {
                if (call->reply_size + keep + 1 > call->reply_alloc) {
                        size_t want = MAX(call->reply_alloc * 2, (size_t) 4096);
                        char *p;

                        want = MIN(want, call->reply_max + 1);
                        want = MAX(want, call->reply_size + keep + 1);
                        p = realloc(call->reply, want);
                        if (!p)
                                return 0;  /* curl fails the transfer: CURLE_WRITE_ERROR */
                        call->reply = p;
                        call->reply_alloc = want;
                }
                memcpy(call->reply + call->reply_size, data, keep);
                call->reply_size += keep;
                call->reply[call->reply_size] = 0;
        }
        /* The rest is read and dropped, so the connection stays reusable. */
        return n;
}

static int check_url(const char *url) {
        CURLU *u;
        char *scheme = NULL;
        int r = 0;

        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
                r = -EINVAL;
        else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
                r = -EPROTONOSUPPORT;
        curl_free(scheme);
        curl_url_cleanup(u);
        return r;
}

int http_call_start(HttpClient *c, const HttpRequest *req, HttpDone done, void *userdata, HttpCall **ret) {
        HttpCall *call;
        int r;

        if (!c || c->dead || !req || !req->url || !done)
                return -EINVAL;
        if (req->body_size > 0 && !req->body)
                return -EINVAL;
        r = check_url(req->url);
        if (r < 0)
                return r;

        call = calloc(1, sizeof(*call));
        if (!call)
                return -ENOMEM;
        call->client = c;
        call->done = done;
        call->userdata = userdata;

        r = call_build(call, req);
        if (r < 0)
                goto fail;
        if (curl_easy_setopt(call->easy, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
            curl_easy_setopt(call->easy, CURLOPT_WRITEDATA, call) != CURLE_OK) {
                r = -EIO;
                goto fail;
        }

        /* Queued calls go first: order is kept. */
        if (!c->queued.head && c->running.n < c->max_in_flight) {
                r = call_add_to_multi(call);
                if (r < 0)
                        goto fail;
        } else
                call_link(call, CALL_QUEUED);

        if (ret)
                *ret = call;
        return 0;

fail:
        call_free(call);
        return r;
}

HttpCall *http_call_cancel(HttpCall *call) {
        HttpClient *c;

        if (!call || call->in_done)
                return NULL;    /* complete() frees it after done returns */

        c = call->client;
        call_detach(call);
        call_free(call);
        if (!c->dead)
                pump(c);
        return NULL;
}

unsigned http_client_in_flight(const HttpClient *c) {
        return c ? c->running.n + c->queued.n + c->failed.n : 0;
}

unsigned http_client_queued(const HttpClient *c) {
        return c ? c->queued.n : 0;
}
