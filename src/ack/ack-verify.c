/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The remote-acknowledgement verifier (ack-verify.h). Order of checks, for
 * every route: size and shape of the request first (cheap, no key used),
 * then the signature over the raw body, and only then anything read from
 * the body, so an unsigned body is never interpreted. The replay set is
 * consulted last, so a replay of a valid request says "replay" and a
 * forgery says "bad signature". All HMAC and token work is sign.h's;
 * nothing here compares secrets. */

#include <ctype.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "ack-verify.h"
#include "manager-bus.h"
#include "plan.h"
#include "run.h"
#include "sign.h"
#include "string-util.h"
#include "strv.h"

static const char * const action_table[_ACK_ACTION_MAX] = {
        [ACK_ACTION_NONE] = "none",
        [ACK_ACTION_ACK] = "ack",
        [ACK_ACTION_RESOLVE] = "resolve",
        [ACK_ACTION_APPROVE] = "approve",
        [ACK_ACTION_REJECT] = "reject",
};

static const char * const route_table[_ACK_ROUTE_MAX] = {
        [ACK_ROUTE_WEBHOOK] = "webhook",
        [ACK_ROUTE_PAGERDUTY] = "pagerduty",
        [ACK_ROUTE_APPROVE] = "approve",
};

const char *ack_action_to_string(AckAction a) {
        return a >= 0 && a < _ACK_ACTION_MAX ? action_table[a] : NULL;
}

AckAction ack_action_from_string(const char *s) {
        for (size_t i = 0; s && i < _ACK_ACTION_MAX; i++)
                if (streq(action_table[i], s))
                        return (AckAction) i;
        return _ACK_ACTION_INVALID;
}

const char *ack_route_to_string(AckRoute r) {
        return r >= 0 && r < _ACK_ROUTE_MAX ? route_table[r] : NULL;
}

void ack_verdict_done(AckVerdict *v) {
        if (!v)
                return;
        free(v->reason);
        free(v->run);
        free(v->step);
        free(v->actor);
        free(v->via);
        free(v->comment);
        free(v->replay_id);
        free(v->allow);
        *v = (AckVerdict) { .route = _ACK_ROUTE_INVALID, .action = _ACK_ACTION_INVALID };
}

/* ---- small parsers ---- */

const char *ack_request_header(const AckRequest *req, const char *name) {
        for (size_t i = 0; i < req->n_headers; i++)
                if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
                        return req->headers[i].value;
        return NULL;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int ack_form_value(const char *form, size_t len, const char *name, char **ret) {
        size_t nlen = strlen(name);
        const char *p = form, *end = form + len;

        while (p && p < end) {
                const char *amp = memchr(p, '&', (size_t) (end - p));
                const char *stop = amp ?: end;

                if ((size_t) (stop - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
                        const char *v = p + nlen + 1;
                        char *out, *o;

                        out = o = malloc((size_t) (stop - v) + 1);
                        if (!out)
                                return -ENOMEM;
                        while (v < stop) {
                                if (*v == '%') {
                                        int hi, lo;
                                        if (stop - v < 3 || (hi = unhex(v[1])) < 0 || (lo = unhex(v[2])) < 0 ||
                                            (hi == 0 && lo == 0)) {
                                                free(out);
                                                return -EBADMSG;
                                        }
                                        *o++ = (char) (hi << 4 | lo);
                                        v += 3;
                                } else if (*v == 0) {
                                        free(out);
                                        return -EBADMSG;
                                } else {
                                        *o++ = *v == '+' ? ' ' : *v;
                                        v++;
                                }
                        }
                        *o = 0;
                        *ret = out;
                        return 0;
                }
                p = amp ? amp + 1 : NULL;
        }
        return -ENOENT;
}

int ack_incident_key_parse(const char *key, char **ret_host, char **ret_run, char **ret_step) {
        _cleanup_free_ char *host = NULL, *run = NULL, *step = NULL;
        const char *p, *q, *r, *s;

        if (!key || !string_has_prefix(key, "salve/"))
                return -EINVAL;
        p = key + strlen("salve/");
        q = strchr(p, '/');
        if (!q || q == p)
                return -EINVAL;
        r = strchr(q + 1, '/');
        if (!r || r == q + 1)
                return -EINVAL;
        s = strchrnul(r + 1, '/');
        if (s == r + 1)
                return -EINVAL;
        host = strndup(p, (size_t) (q - p));
        run = strndup(q + 1, (size_t) (r - q - 1));
        step = strndup(r + 1, (size_t) (s - r - 1));
        if (!host || !run || !step)
                return -ENOMEM;
        if (!run_id_is_valid(run) || !plan_name_is_valid(step))
                return -EINVAL;
        *ret_host = TAKE_PTR(host);
        *ret_run = TAKE_PTR(run);
        *ret_step = TAKE_PTR(step);
        return 0;
}

/* Text from outside for the journal: control characters become '?', and
 * it is cut at max bytes on a UTF-8 boundary. */
static char *text_sanitize(const char *s, size_t max) {
        size_t n = strlen(s);
        char *t;

        if (n > max) {
                n = max;
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                        n--;
        }
        t = strndup(s, n);
        if (!t)
                return NULL;
        for (char *c = t; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = '?';
        return t;
}

static bool text_is_clean(const char *s, size_t max) {
        if (strlen(s) > max)
                return false;
        for (const char *c = s; *c; c++)
                if (((unsigned char) *c < 0x20 && *c != '\n' && *c != '\t') || *c == 0x7f)
                        return false;
        return true;
}

/* "2020-10-02T18:45:22.169Z", "...+02:00": ISO 8601 as PagerDuty writes it. */
static int parse_iso8601(const char *s, usec_t *ret) {
        struct tm tm = {};
        const char *p;
        usec_t frac = 0, scale = USEC_PER_SEC;
        long offset = 0;
        time_t t;

        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (; isdigit((unsigned char) *p); p++)
                        if (scale > 1) {
                                scale /= 10;
                                frac += (usec_t) (*p - '0') * scale;
                        }
        }
        if (*p == 'Z')
                p++;
        else if (*p == '+' || *p == '-') {
                int sign = *p == '-' ? -1 : 1;
                if (!isdigit((unsigned char) p[1]) || !isdigit((unsigned char) p[2]) || p[3] != ':' ||
                    !isdigit((unsigned char) p[4]) || !isdigit((unsigned char) p[5]))
                        return -EINVAL;
                offset = sign * (((p[1] - '0') * 10 + (p[2] - '0')) * 3600L + ((p[4] - '0') * 10 + (p[5] - '0')) * 60L);
                p += 6;
        } else
                return -EINVAL;
        if (*p)
                return -EINVAL;
        t = timegm(&tm);
        if (t == (time_t) -1 || t - offset < 0)
                return -EINVAL;
        *ret = (usec_t) (t - offset) * USEC_PER_SEC + frac;
        return 0;
}

/* ---- verdicts ---- */

static int verdict_set(AckVerdict *v, unsigned status, const char *format, ...) _printf_(3, 4);
static int verdict_set(AckVerdict *v, unsigned status, const char *format, ...) {
        va_list ap;
        char *reason;
        int k;

        va_start(ap, format);
        k = vasprintf(&reason, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        free(v->reason);
        v->reason = reason;
        v->status = status;
        return 0;
}

/* A refusal: the status and reason and nothing else, so no caller can act
 * on half a verdict. */
static int refuse(AckVerdict *v, unsigned status, const char *format, ...) _printf_(3, 4);
static int refuse(AckVerdict *v, unsigned status, const char *format, ...) {
        AckRoute route = v->route;
        char *allow = TAKE_PTR(v->allow);
        va_list ap;
        char *reason;
        int k;

        va_start(ap, format);
        k = vasprintf(&reason, format, ap);
        va_end(ap);
        ack_verdict_done(v);
        v->route = route;
        v->allow = allow;
        if (k < 0)
                return -ENOMEM;
        v->reason = reason;
        v->status = status;
        return 0;
}

static int json_parse_body(const AckRequest *req, json_object **ret, const char **ret_error) {
        json_tokener *tok;
        json_object *o;
        enum json_tokener_error e;

        if (req->body_size == 0) {
                *ret_error = "empty body";
                return -EBADMSG;
        }
        tok = json_tokener_new_ex(16);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, req->body, (int) req->body_size);
        e = json_tokener_get_error(tok);
        if (e != json_tokener_success || !o || json_tokener_get_parse_end(tok) != req->body_size) {
                *ret_error = e == json_tokener_success ? (o ? "text after the JSON value" : "incomplete JSON")
                                                       : json_tokener_error_desc(e);
                json_tokener_free(tok);
                json_object_put(o);
                return -EBADMSG;
        }
        json_tokener_free(tok);
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                *ret_error = "not a JSON object";
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

/* A string member, or NULL when absent or null; -EBADMSG when another type. */
static int json_string(json_object *o, const char *key, const char **ret) {
        json_object *v;

        *ret = NULL;
        if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        *ret = json_object_get_string(v);
        return 0;
}

static json_object *json_child(json_object *o, const char *key) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
                return NULL;
        return v;
}

static int set_target(AckVerdict *v, const char *run, const char *step) {
        v->run = strdup(run);
        v->step = strdup(step);
        return v->run && v->step ? 0 : -ENOMEM;
}

/* ---- POST /webhook: Standard Webhooks ---- */

/* sign.h checks one key at a time: any key may match. A match out of
 * time (-ETIME) is told apart from no match, and a malformed header from
 * both. */
static int check_webhook(char **secrets, const char *id, const char *ts, const char *sig, const AckRequest *req,
                         usec_t now, usec_t tolerance) {
        int result = -EKEYREJECTED;

        STRV_FOREACH(s, secrets) {
                _cleanup_free_ void *key = NULL;
                size_t key_size = 0;
                int k;

                k = webhook_secret_decode(*s, strlen(*s), &key, &key_size);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        continue;       /* salve.relay(5) validation names it */
                k = webhook_verify(key, key_size, id, ts, req->body, req->body_size, sig, now, tolerance);
                explicit_bzero(key, key_size);
                if (k == 0 || k == -ENOMEM)
                        return k;
                if (k == -ETIME || (k == -EBADMSG && result != -ETIME))
                        result = k;
        }
        return result;
}

static int verify_webhook(const AckRequest *req, const AckKeys *keys, const AckReplay *replay, usec_t now,
                          AckVerdict *v) {
        _cleanup_free_ char *key_host = NULL, *key_run = NULL, *key_step = NULL, *replay_id = NULL;
        const char *id, *ts, *sig, *err, *action_s, *run, *step, *key, *actor, *comment;
        usec_t tolerance = keys->tolerance ?: ACK_TOLERANCE_DEFAULT, stamp;
        json_object *o = NULL;
        unsigned long long secs;
        AckAction action;
        char *end;
        int k;

        if (strv_length(keys->webhook_secrets) == 0)
                return refuse(v, 404, "signed callbacks are not enabled on this host (no webhook secret)");

        id = ack_request_header(req, "webhook-id");
        ts = ack_request_header(req, "webhook-timestamp");
        sig = ack_request_header(req, "webhook-signature");
        if (!id || !ts || !sig)
                return refuse(v, 400, "missing header %s", !id ? "webhook-id" : !ts ? "webhook-timestamp"
                                                                                 : "webhook-signature");
        if (asprintf(&replay_id, "webhook:%s", id) < 0)
                return -ENOMEM;
        if (!ack_replay_id_is_valid(replay_id))
                return refuse(v, 400, "webhook-id must be 1 to %u printable characters without spaces",
                              ACK_REPLAY_ID_MAX - (unsigned) strlen("webhook:"));
        errno = 0;
        secs = strtoull(ts, &end, 10);
        if (!isdigit((unsigned char) ts[0]) || *end || errno != 0 || secs > UINT64_MAX / USEC_PER_SEC)
                return refuse(v, 400, "webhook-timestamp is not a number of seconds");

        /* Signed, so the timestamp is the sender's: a request outside the
         * window is refused even with a fresh id, because the window is
         * what the replay set covers. */
        stamp = (usec_t) secs * USEC_PER_SEC;
        k = check_webhook(keys->webhook_secrets, id, ts, sig, req, now, tolerance);
        if (k == -ENOMEM)
                return k;
        if (k == -ETIME)
                return refuse(v, 401, "webhook-timestamp is %s by more than the tolerance (%" PRIu64 " s)",
                              stamp < now ? "in the past" : "in the future", tolerance / USEC_PER_SEC);
        if (k == -EBADMSG)
                return refuse(v, 400, "malformed webhook-signature: no \"v1,BASE64\" entry");
        if (k < 0)
                return refuse(v, 401, "bad signature: webhook-signature matches no key");
        if (ack_replay_contains(replay, replay_id, now))
                return refuse(v, 409, "replay: webhook-id %s was acted on already", id);

        k = json_parse_body(req, &o, &err);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return refuse(v, 400, "malformed JSON: %s", err);
        if (json_string(o, "action", &action_s) < 0 || json_string(o, "run", &run) < 0 ||
            json_string(o, "step", &step) < 0 || json_string(o, "key", &key) < 0 ||
            json_string(o, "actor", &actor) < 0 || json_string(o, "comment", &comment) < 0) {
                json_object_put(o);
                return refuse(v, 400, "malformed request: action, run, step, key, actor and comment are strings");
        }
        if (!action_s) {
                k = refuse(v, 400, "malformed request: no \"action\"");
                goto finish;
        }
        action = ack_action_from_string(action_s);
        if (action == ACK_ACTION_APPROVE || action == ACK_ACTION_REJECT || streq(action_s, "done") ||
            streq(action_s, "fail") || streq(action_s, "skip")) {
                k = refuse(v, 403, "an acknowledgement cannot %s: that needs an approval token (POST /approve)",
                           action_s);
                goto finish;
        }
        if (action != ACK_ACTION_ACK && action != ACK_ACTION_RESOLVE) {
                k = refuse(v, 422, "unknown action \"%.64s\" (ack or resolve)", action_s);
                goto finish;
        }
        if (key && !run && !step) {
                k = ack_incident_key_parse(key, &key_host, &key_run, &key_step);
                if (k == -ENOMEM)
                        goto finish;
                if (k < 0) {
                        k = refuse(v, 400, "malformed request: \"key\" is not a salve notification key");
                        goto finish;
                }
                if (keys->host && !streq(key_host, keys->host)) {
                        k = refuse(v, 404, "the key names host \"%.64s\", not this one", key_host);
                        goto finish;
                }
                run = key_run;
                step = key_step;
        }
        if (!run || !step) {
                k = refuse(v, 400, "malformed request: no \"%s\"", !run ? "run" : "step");
                goto finish;
        }
        if (!run_id_is_valid(run) || !plan_name_is_valid(step)) {
                k = refuse(v, 400, "malformed request: invalid %s id", !run_id_is_valid(run) ? "run" : "step");
                goto finish;
        }
        if (comment && !text_is_clean(comment, ACK_COMMENT_MAX)) {
                k = refuse(v, 400, "malformed request: the comment must be at most %u bytes of text",
                           ACK_COMMENT_MAX);
                goto finish;
        }
        if (actor && (!*actor || !text_is_clean(actor, ACK_ACTOR_MAX) || strchr(actor, '\n'))) {
                k = refuse(v, 400, "malformed request: the actor must be one line of at most %u bytes",
                           ACK_ACTOR_MAX);
                goto finish;
        }

        k = set_target(v, run, step);
        if (k < 0)
                goto finish;
        if (asprintf(&v->actor, "webhook:%s", actor ?: "unnamed") < 0 || !(v->via = strdup("webhook")) ||
            (comment && !(v->comment = strdup(comment)))) {
                k = -ENOMEM;
                goto finish;
        }
        v->action = action;
        v->replay_id = TAKE_PTR(replay_id);
        v->replay_until = stamp + tolerance + USEC_PER_SEC;
        k = verdict_set(v, 200, "%s accepted for step %s of run %s", action == ACK_ACTION_ACK ? "acknowledgement"
                        : "resolution", step, run);
finish:
        json_object_put(o);
        return k;
}

/* ---- POST /pagerduty: webhooks v3 ---- */

/* "salve/HOST/RUN" of this host (pagerduty_dedup_key() without a step). */
static bool run_incident_key(const char *key, const char *host) {
        const char *p, *slash;
        size_t n;

        if (!string_has_prefix(key, "salve/"))
                return false;
        p = key + strlen("salve/");
        slash = strchr(p, '/');
        if (!slash || strchr(slash + 1, '/') || !run_id_is_valid(slash + 1) || streq(slash + 1, "") ||
            string_has_prefix(key, "salve/sha256/"))
                return false;
        n = (size_t) (slash - p);
        return !host || (strlen(host) == n && memcmp(p, host, n) == 0);
}

static int verify_pagerduty(const AckRequest *req, const AckKeys *keys, const AckReplay *replay, usec_t now,
                            AckVerdict *v) {
        _cleanup_free_ char *host = NULL, *run = NULL, *step = NULL, *replay_id = NULL;
        const char *sig, *err, *type, *event_id, *occurred, *incident_key, *agent_name = NULL, *incident_id;
        usec_t max_age = keys->pagerduty_max_age ?: ACK_PAGERDUTY_MAX_AGE_DEFAULT, at;
        json_object *o = NULL, *event, *data, *agent;
        AckAction action;
        int k;

        if (strv_length(keys->pagerduty_secrets) == 0)
                return refuse(v, 404, "PagerDuty webhooks are not enabled on this host (no PagerDuty secret)");
        sig = ack_request_header(req, "x-pagerduty-signature");
        if (!sig)
                return refuse(v, 400, "missing header X-PagerDuty-Signature");
        {
                struct iovec iov[16];
                size_t n = 0;

                STRV_FOREACH(s, keys->pagerduty_secrets)
                        if (n < ELEMENTSOF(iov) && **s)
                                iov[n++] = (struct iovec) { .iov_base = *s, .iov_len = strlen(*s) };
                k = pagerduty_verify(iov, n, req->body, req->body_size, sig);
        }
        if (k == -ENOMEM)
                return k;
        if (k == -EBADMSG)
                return refuse(v, 400, "malformed X-PagerDuty-Signature: no \"v1=HEX\" entry");
        if (k < 0)
                return refuse(v, 401, "bad signature: no v1 signature in X-PagerDuty-Signature matches a key");

        k = json_parse_body(req, &o, &err);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return refuse(v, 400, "malformed JSON: %s", err);
        event = json_child(o, "event");
        data = json_child(event, "data");
        agent = json_child(event, "agent");
        if (!event || json_string(event, "event_type", &type) < 0 || !type ||
            json_string(event, "id", &event_id) < 0 || !event_id ||
            json_string(event, "occurred_at", &occurred) < 0 || !occurred) {
                k = refuse(v, 400, "malformed request: not a PagerDuty v3 webhook (event.event_type, event.id, "
                           "event.occurred_at)");
                goto finish;
        }
        if (streq(type, "incident.acknowledged"))
                action = ACK_ACTION_ACK;
        else if (streq(type, "incident.resolved"))
                action = ACK_ACTION_RESOLVE;
        else {
                k = refuse(v, 422, "unhandled event type \"%.64s\" (incident.acknowledged, incident.resolved)",
                           type);
                goto finish;
        }
        if (parse_iso8601(occurred, &at) < 0) {
                k = refuse(v, 400, "malformed request: event.occurred_at is not an ISO 8601 time");
                goto finish;
        }
        if (at + max_age < now || at > now + (keys->tolerance ?: ACK_TOLERANCE_DEFAULT)) {
                k = refuse(v, 401, "event.occurred_at is %s (at most %" PRIu64 " s old)",
                           at < now ? "too old" : "in the future", max_age / USEC_PER_SEC);
                goto finish;
        }
        /* event.id is signed; X-Webhook-Id is not, so it is not the key. */
        if (asprintf(&replay_id, "pagerduty:%s", event_id) < 0) {
                k = -ENOMEM;
                goto finish;
        }
        if (!ack_replay_id_is_valid(replay_id)) {
                k = refuse(v, 400, "malformed request: event.id is not an id");
                goto finish;
        }
        if (ack_replay_contains(replay, replay_id, now)) {
                k = refuse(v, 409, "replay: PagerDuty event %s was acted on already", event_id);
                goto finish;
        }
        if (!data || json_string(data, "incident_key", &incident_key) < 0 || json_string(data, "id", &incident_id) < 0) {
                k = refuse(v, 400, "malformed request: event.data is not an incident");
                goto finish;
        }
        if (!incident_key) {
                k = refuse(v, 404, "incident %.64s has no incident_key: not one salve opened",
                           strna(incident_id));
                goto finish;
        }
        k = ack_incident_key_parse(incident_key, &host, &run, &step);
        if (k == -ENOMEM)
                goto finish;
        if (k < 0 && run_incident_key(incident_key, keys->host)) {
                /* "salve/HOST/RUN": a run's incident (a failed machine
                 * step, the RTO), with no person's step to acknowledge. */
                v->action = ACK_ACTION_NONE;
                k = verdict_set(v, 200, "ignored: incident %.80s is a run's, with no step to acknowledge",
                                incident_key);
                goto finish;
        }
        if (k < 0) {
                k = keys->lookup ? keys->lookup(incident_key, &run, &step, keys->lookup_userdata) : -ENOENT;
                if (k == -ENOMEM)
                        goto finish;
                if (k < 0 || !run_id_is_valid(run) || !plan_name_is_valid(step)) {
                        k = refuse(v, 404, "incident %.64s (incident_key %.80s) is not one salve opened here",
                                   strna(incident_id), incident_key);
                        goto finish;
                }
        } else if (keys->host && !streq(host, keys->host)) {
                /* Another host's incident: a subscription that sends every
                 * host everything. Not an error, nothing to do. */
                k = set_target(v, run, step);
                if (k >= 0) {
                        v->action = ACK_ACTION_NONE;
                        k = verdict_set(v, 200, "ignored: incident of host %.64s, not this one", host);
                }
                goto finish;
        }
        if (agent && json_string(agent, "summary", &agent_name) >= 0 && !agent_name)
                (void) json_string(agent, "id", &agent_name);
        if (agent_name && !*agent_name)
                agent_name = NULL;

        k = set_target(v, run, step);
        if (k < 0)
                goto finish;
        {
                _cleanup_free_ char *clean = agent_name ? text_sanitize(agent_name, ACK_ACTOR_MAX) : NULL;
                if ((agent_name && !clean) || asprintf(&v->actor, "pagerduty:%s", clean ?: "unknown") < 0) {
                        k = -ENOMEM;
                        goto finish;
                }
        }
        if (!(v->via = strdup("pagerduty")) ||
            (action == ACK_ACTION_RESOLVE && !(v->comment = strdup("incident resolved in PagerDuty")))) {
                k = -ENOMEM;
                goto finish;
        }
        v->action = action;
        v->replay_id = TAKE_PTR(replay_id);
        v->replay_until = at + max_age + USEC_PER_SEC;
        k = verdict_set(v, 200, "PagerDuty %s accepted for step %s of run %s", type, step, run);
finish:
        json_object_put(o);
        return k;
}

/* ---- GET and POST /approve: approval tokens ---- */

static int request_field(const AckRequest *req, json_object *json, const char *name, char **ret) {
        const char *s;
        int k;

        if (json) {
                if (json_string(json, name, &s) < 0)
                        return -EBADMSG;
                if (!s)
                        return -ENOENT;
                *ret = strdup(s);
                return *ret ? 0 : -ENOMEM;
        }
        k = ack_form_value(req->body, req->body_size, name, ret);
        return k;
}

static int verify_approve(const AckRequest *req, const AckKeys *keys, const AckReplay *replay, usec_t now,
                          AckVerdict *v) {
        _cleanup_free_ char *token = NULL, *comment = NULL, *replay_id = NULL;
        _cleanup_(approval_token_done) ApprovalToken t = {};
        const char *query, *ctype, *err;
        bool post = streq(req->method, "POST");
        json_object *json = NULL;
        StepAction step_action;
        int k;

        if (!keys->approval_key)
                return refuse(v, 404, "approval tokens are not enabled on this host (no approval key)");

        query = strchr(req->path, '?');
        ctype = ack_request_header(req, "content-type");
        if (post && req->body_size > 0 && ctype && string_has_prefix(ctype, "application/json")) {
                k = json_parse_body(req, &json, &err);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        return refuse(v, 400, "malformed JSON: %s", err);
        } else if (post && req->body_size > 0 && memchr(req->body, 0, req->body_size)) {
                return refuse(v, 400, "malformed form: a NUL byte");
        }

        k = post ? request_field(req, json, "token", &token) : -ENOENT;
        if (k == -ENOENT && query)
                k = ack_form_value(query + 1, strlen(query + 1), "token", &token);
        if (k == -ENOMEM)
                goto finish;
        if (k == -ENOENT) {
                k = refuse(v, 400, "no token");
                goto finish;
        }
        if (k < 0) {
                k = refuse(v, 400, "malformed request: the token is badly encoded");
                goto finish;
        }

        if (strlen(token) > APPROVAL_TOKEN_MAX) {
                k = refuse(v, 403, "bad approval token: longer than %u bytes", APPROVAL_TOKEN_MAX);
                goto finish;
        }
        k = approval_token_parse_verify(keys->approval_key, strlen(keys->approval_key), token, now, &t);
        if (k == -ENOMEM)
                goto finish;
        if (k == -ETIME) {
                k = refuse(v, 410, "the approval token has expired");
                goto finish;
        }
        if (k < 0) {
                k = refuse(v, 403, "bad approval token: %s", k == -EBADMSG ? "malformed" : "bad signature");
                goto finish;
        }
        step_action = step_action_from_string(t.action);
        if ((step_action != ACTION_APPROVE && step_action != ACTION_REJECT) || !run_id_is_valid(t.run) ||
            !plan_name_is_valid(t.step) || !t.approver || !text_is_clean(t.approver, ACK_ACTOR_MAX) ||
            strchr(t.approver, '\n')) {
                k = refuse(v, 403, "bad approval token: it names no run, step, approve or reject, and approver");
                goto finish;
        }
        if (asprintf(&replay_id, "token:%s", t.nonce) < 0) {
                k = -ENOMEM;
                goto finish;
        }
        if (!ack_replay_id_is_valid(replay_id)) {
                k = refuse(v, 403, "bad approval token: its nonce is not an id");
                goto finish;
        }
        if (ack_replay_contains(replay, replay_id, now)) {
                k = refuse(v, 409, "the approval token was used already");
                goto finish;
        }

        /* What the request says it does must be what the token allows: a
         * token for one step or action never acts on another. */
        if (post) {
                static const char * const bound[] = { "run", "step", "action", "approver" };
                const char *want[] = { t.run, t.step, t.action, t.approver };

                for (size_t i = 0; i < ELEMENTSOF(bound); i++) {
                        _cleanup_free_ char *got = NULL;

                        k = request_field(req, json, bound[i], &got);
                        if (k == -ENOMEM)
                                goto finish;
                        if (k == -ENOENT)
                                continue;
                        if (k < 0) {
                                k = refuse(v, 400, "malformed request: field %s", bound[i]);
                                goto finish;
                        }
                        if (!streq(got, want[i])) {
                                k = refuse(v, 403, "the approval token is for %s \"%s\", not \"%.64s\"", bound[i],
                                           want[i], got);
                                goto finish;
                        }
                }
                k = request_field(req, json, "comment", &comment);
                if (k == -ENOMEM)
                        goto finish;
                if (k == -EBADMSG || (k >= 0 && !text_is_clean(comment, ACK_COMMENT_MAX))) {
                        k = refuse(v, 400, "malformed request: the comment must be at most %u bytes of text",
                                   ACK_COMMENT_MAX);
                        goto finish;
                }
                if (comment && !*comment)
                        comment = mfree(comment);
        }

        k = set_target(v, t.run, t.step);
        if (k < 0)
                goto finish;
        if (asprintf(&v->actor, "token:%s", t.approver) < 0 || !(v->via = strdup("approval-token"))) {
                k = -ENOMEM;
                goto finish;
        }
        v->comment = TAKE_PTR(comment);
        v->token_expires = t.expires;
        if (!post) {
                /* A link followed, a mail scanner's prefetch: show what the
                 * token would do and ask; act on nothing. */
                v->action = ACK_ACTION_NONE;
                v->page = true;
                v->page_action = step_action == ACTION_APPROVE ? ACK_ACTION_APPROVE : ACK_ACTION_REJECT;
                k = verdict_set(v, 200, "confirm: %s step %s of run %s as %s", t.action, t.step, t.run,
                                t.approver);
                goto finish;
        }
        v->action = step_action == ACTION_APPROVE ? ACK_ACTION_APPROVE : ACK_ACTION_REJECT;
        v->replay_id = TAKE_PTR(replay_id);
        v->replay_until = t.expires;
        k = verdict_set(v, 200, "%s of step %s of run %s by %s accepted", t.action, t.step, t.run, t.approver);
finish:
        json_object_put(json);
        return k;
}

int ack_verify(const AckRequest *req, const AckKeys *keys, const AckReplay *replay, usec_t now, AckVerdict *ret) {
        AckVerdict v = { .route = _ACK_ROUTE_INVALID, .action = _ACK_ACTION_INVALID };
        const char *allow = NULL;
        AckRoute route;
        int k;

        *ret = v;
        if (!req->method || !req->path || req->path[0] != '/' || strlen(req->path) > ACK_PATH_MAX)
                k = refuse(&v, 400, "malformed request line");
        else if ((k = ack_route(req->method, req->path, &route, &allow)) == -ENOENT)
                k = refuse(&v, 404, "no such path (POST /webhook, /pagerduty or /approve)");
        else if (k < 0) {
                v.route = route;
                v.allow = strdup(allow);
                k = v.allow ? refuse(&v, 405, "method %.16s not allowed (%s)", req->method, allow) : -ENOMEM;
        } else if (req->body_size > ACK_BODY_MAX) {
                v.route = route;
                k = refuse(&v, 413, "body larger than %u bytes", ACK_BODY_MAX);
        } else if (req->n_headers > ACK_HEADERS_MAX) {
                v.route = route;
                k = refuse(&v, 431, "more than %u headers", ACK_HEADERS_MAX);
        } else {
                k = 0;
                for (size_t i = 0; i < req->n_headers; i++)
                        if (!req->headers[i].name || !req->headers[i].value ||
                            strlen(req->headers[i].value) > ACK_HEADER_VALUE_MAX) {
                                k = refuse(&v, 431, "a header longer than %u bytes", ACK_HEADER_VALUE_MAX);
                                k = k < 0 ? k : 1;
                                break;
                        }
                if (k == 0) {
                        v.route = route;
                        if (streq(req->method, "GET") && req->body_size > 0)
                                k = refuse(&v, 400, "a GET has no body");
                        else if (route == ACK_ROUTE_WEBHOOK)
                                k = verify_webhook(req, keys, replay, now, &v);
                        else if (route == ACK_ROUTE_PAGERDUTY)
                                k = verify_pagerduty(req, keys, replay, now, &v);
                        else
                                k = verify_approve(req, keys, replay, now, &v);
                } else if (k > 0)
                        k = 0;
        }
        if (k < 0) {
                ack_verdict_done(&v);
                return k;
        }
        /* The one invariant callers rely on: a GET never acts. */
        if (streq(req->method, "GET") && v.action != ACK_ACTION_NONE && v.action != _ACK_ACTION_INVALID) {
                k = refuse(&v, 500, "internal error: a GET would have acted");
                if (k < 0)
                        return k;
        }
        *ret = v;
        return 0;
}
