/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The relay's HTTP client: libcurl's multi interface driven by salved's
 * one sd-event loop. Every curl socket is an sd-event io source and curl's
 * one timer is an sd-event time source, so a slow or hung server costs a
 * socket and a timer, never the loop or another call.
 *
 * Rules a caller can rely on:
 *  - done runs exactly once for every call that is not cancelled, always
 *    from the event loop (never from inside http_call_start), and the call
 *    is freed right after done returns. done may start, cancel other calls
 *    or free the client.
 *  - At most max_in_flight transfers run at once; later calls wait in a
 *    FIFO and start as earlier ones end. Queued time counts nowhere: the
 *    timeout covers the transfer itself.
 *  - The request (url, headers, body) is copied at start.
 *  - http_call_cancel() and http_client_free() run no callback.
 *
 * Transport: http:// and https:// only, redirects are never followed,
 * no signals (CURLOPT_NOSIGNAL), TLS peers and hosts verified against the
 * system CA store, connections kept alive and reused within the client.
 * Proxies: curl's documented default is kept, i.e. http_proxy,
 * https_proxy and no_proxy from salved's environment are honoured; under
 * systemd the environment is empty unless the unit sets Environment=, so
 * an admin opts in to a proxy explicitly.
 *
 * curl_global_init(): http_client_new() calls it the first time (with
 * CURL_GLOBAL_DEFAULT) and never again; salved has no threads, so that is
 * safe. Nothing calls curl_global_cleanup(): the process exit does. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define HTTP_TIMEOUT_DEFAULT_USEC (10ULL * 1000000ULL)
#define HTTP_CONNECT_TIMEOUT_MAX_USEC (5ULL * 1000000ULL)
#define HTTP_REPLY_MAX_DEFAULT ((size_t) 64 * 1024)
#define HTTP_MAX_IN_FLIGHT_DEFAULT 16U

typedef struct HttpClient HttpClient;
typedef struct HttpCall HttpCall;

typedef struct HttpRequest {
        const char *method;      /* "POST" (default), "PUT", "GET" */
        const char *url;         /* http:// or https:// only (CURLOPT_PROTOCOLS_STR); no redirects followed */
        char **headers;          /* "Name: value"; give Content-Type yourself */
        const char *body;
        size_t body_size;
        uint64_t timeout_usec;   /* whole transfer; 0: 10 s. Connecting gets min(this, 5 s) */
        size_t reply_max;        /* reply body kept up to this; 0: 64 KiB; beyond: truncated=true, rest discarded */
} HttpRequest;

typedef struct HttpReply {
        long status;             /* 0 when no HTTP reply came */
        const char *body;        /* NUL-terminated (not counted in body_size); valid during done only */
        size_t body_size;
        bool truncated;
        int error;               /* 0, or a negative errno for a transport failure (http_error_from_curl()) */
        const char *error_text;  /* curl's CURLOPT_ERRORBUFFER text, or NULL */
        uint64_t elapsed_usec;   /* from the transfer's start to its end (queue time excluded) */
} HttpReply;

typedef void (*HttpDone)(HttpCall *call, const HttpReply *reply, void *userdata);

/* max_in_flight 0: 16. The client takes a reference on event. */
int http_client_new(sd_event *event, unsigned max_in_flight, HttpClient **ret);
/* Cancels every call, queued or running: no callback runs. */
HttpClient *http_client_free(HttpClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpClient *, http_client_free);

/* -EINVAL for a missing url, an unknown method or a body on GET;
 * -EPROTONOSUPPORT for a scheme other than http/https; -ENOMEM.
 * On failure nothing was started and done never runs. */
int http_call_start(HttpClient *c, const HttpRequest *req, HttpDone done, void *userdata, HttpCall **ret);
/* No callback after this; returns NULL. NULL is fine. */
HttpCall *http_call_cancel(HttpCall *call);

/* Calls running plus calls queued. */
unsigned http_client_in_flight(const HttpClient *c);
/* Only the queued ones (waiting for a free slot). */
unsigned http_client_queued(const HttpClient *c);

/* The negative errno an HttpReply.error carries for a CURLcode (an int
 * here to keep curl.h out of this header); os_errno is CURLINFO_OS_ERRNO
 * or 0. CURLE_OPERATION_TIMEDOUT: -ETIMEDOUT; couldn't connect:
 * -ECONNREFUSED, -EHOSTUNREACH or -ENETUNREACH (from os_errno); name not
 * resolved: -EADDRNOTAVAIL; connection closed without a reply (or reset):
 * -ECONNRESET; not HTTP: -EPROTO; TLS handshake: -EPROTO; certificate
 * refused: -EKEYREJECTED; otherwise -EIO. */
int http_error_from_curl(int code, long os_errno);
