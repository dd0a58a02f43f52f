/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Remote acknowledgements inside salved (manager-ack.h). The order is the
 * invariant: verify (pure), then act, then remember; a request refused at
 * any step has changed nothing, and one acted on is remembered before the
 * answer goes out, so a replay is refused even after a restart. */

#include <fcntl.h>
#include <pwd.h>

#include "ack-replay.h"
#include "ack-verify.h"
#include "channel.h"
#include "log.h"
#include "manager-ack.h"
#include "manager-bus.h"
#include "polkit.h"
#include "relay-config.h"
#include "secret.h"
#include "strv.h"

static char **secrets_free(char **l) {
        STRV_FOREACH(s, l)
                explicit_bzero(*s, strlen(*s));
        return strv_free(l);
}

void manager_ack_keys_done(ManagerAckKeys *k) {
        if (!k)
                return;
        k->webhook_secrets = secrets_free(k->webhook_secrets);
        k->pagerduty_secrets = secrets_free(k->pagerduty_secrets);
        if (k->approval_key) {
                explicit_bzero(k->approval_key, strlen(k->approval_key));
                k->approval_key = mfree(k->approval_key);
        }
}

/* One secret as a C string: a trailing newline (a credential file's) is
 * not part of it, and a NUL inside is refused. */
static int secret_load_string(const char *ref, char **ret) {
        _cleanup_free_ char *error = NULL;
        void *p = NULL;
        size_t size = 0;
        char *s;
        int k;

        k = secret_load_full(ref, &p, &size, &error);
        if (k < 0) {
                log_warning_errno(k, "Remote acknowledgements: key %s not loaded, ignoring it: %s", ref,
                                  error ?: strerror(-k));
                return 0;
        }
        while (size > 0 && (((char *) p)[size - 1] == '\n' || ((char *) p)[size - 1] == '\r'))
                size--;
        if (size == 0 || memchr(p, 0, size)) {
                log_warning("Remote acknowledgements: key %s is empty or holds a NUL byte, ignoring it.", ref);
                secret_free(p, size);
                return 0;
        }
        s = strndup(p, size);
        secret_free(p, size);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 1;
}

static int secrets_load(char * const *refs, char ***ret) {
        STRV_FOREACH(ref, refs) {
                char *s = NULL;
                int k;

                k = secret_load_string(*ref, &s);
                if (k < 0)
                        return k;
                if (k > 0 && strv_push(ret, s) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The keys of the relay config's `ack:` section, read for each request.
 * None configured: every route answers 404 "not enabled". */
static int keys_load(Manager *m, ManagerAckKeys *ret) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL;
        _cleanup_(manager_ack_keys_done) ManagerAckKeys keys = {};
        Diagnostics d = {};
        int k;

        k = relay_config_load(NULL, &c, &d);
        if (k < 0) {
                log_warning("Remote acknowledgements: the relay configuration has %zu errors "
                            "(salvectl verify names them); refusing.", d.n_errors);
                diagnostics_done(&d);
                return k;
        }
        diagnostics_done(&d);
        k = secrets_load(c->ack.webhook_secrets, &keys.webhook_secrets);
        if (k >= 0)
                k = secrets_load(c->ack.pagerduty_secrets, &keys.pagerduty_secrets);
        if (k >= 0 && c->ack.approval_key)
                k = secret_load_string(c->ack.approval_key, &keys.approval_key);
        if (k < 0)
                return k;
        keys.tolerance = c->ack.tolerance;
        *ret = keys;
        keys = (ManagerAckKeys) {};
        return 0;
}

static int replay_open(Manager *m, int *ret_dirfd, AckReplay **ret, usec_t now) {
        _cleanup_(ack_replay_freep) AckReplay *r = NULL;
        _cleanup_close_ int dfd = -EBADF;
        size_t skipped = 0;
        int k;

        dfd = open(m->state_dir, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        if (dfd < 0)
                return -errno;
        k = ack_replay_new(0, &r);
        if (k < 0)
                return k;
        k = ack_replay_load(r, dfd, ACK_REPLAY_FILE, now, &skipped);
        if (k < 0)
                return k;
        if (skipped > 0)
                log_debug("%s/%s: %zu expired or damaged entries dropped.", m->state_dir, ACK_REPLAY_FILE, skipped);
        *ret_dirfd = TAKE_FD(dfd);
        *ret = TAKE_PTR(r);
        return 0;
}

/* A PagerDuty incident_key that is not "salve/HOST/RUN/STEP" as such:
 * the hashed form pagerduty_dedup_key() sends when that is over 255
 * bytes. The open human steps are few; each one's key is computed and
 * compared, so there is no table to keep. */
typedef struct LookupContext {
        Manager *manager;
        const char *host;
} LookupContext;

static int incident_lookup(const char *incident_key, char **ret_run, char **ret_step, void *userdata) {
        LookupContext *c = userdata;
        const RunStore *store = c->manager->store;

        if (!c->host || !store)
                return -ENOENT;
        for (size_t i = 0; i < store->n_runs; i++) {
                const Run *r = store->runs[i];

                if (r->finished != 0)
                        continue;
                for (size_t j = 0; j < r->plan->n_steps; j++) {
                        const Step *st = &r->plan->steps[j];
                        _cleanup_free_ char *key = NULL;
                        Notification n = {
                                .host = (char *) c->host,
                                .run_id = r->id,
                                .step_id = st->id,
                        };

                        if (!step_kind_is_human(st->kind) || pagerduty_dedup_key(&n, &key) < 0)
                                continue;
                        if (!streq(key, incident_key))
                                continue;
                        *ret_run = strdup(r->id);
                        *ret_step = strdup(st->id);
                        if (!*ret_run || !*ret_step) {
                                *ret_run = mfree(*ret_run);
                                *ret_step = mfree(*ret_step);
                                return -ENOMEM;
                        }
                        return 0;
                }
        }
        return -ENOENT;
}

/* The engine's word on an action, as HTTP. */
static unsigned status_of_errno(int k, const AckVerdict *v, char **ret_reason) {
        unsigned status;
        int r;

        switch (k) {
        case -ESRCH:
                status = 404;
                r = asprintf(ret_reason, "unknown run %s", v->run);
                break;
        case -ENOENT:
                status = 404;
                r = asprintf(ret_reason, "run %s has no step %s", v->run, v->step);
                break;
        case -EBUSY:
        case -EINPROGRESS:
                status = 409;
                r = asprintf(ret_reason, "step %s of run %s is not waiting for a person now", v->step, v->run);
                break;
        case -EOPNOTSUPP:
                status = 409;
                r = asprintf(ret_reason, "step %s of run %s cannot be %s", v->step, v->run,
                             v->action == ACK_ACTION_APPROVE ? "approved (not an approve step)"
                             : v->action == ACK_ACTION_REJECT ? "rejected (not an approve step)"
                                                              : "acknowledged (a machine step)");
                break;
        case -EROFS:
        case -ENOSPC:
        case -EIO:
        case -EDQUOT:
                status = 503;
                r = asprintf(ret_reason, "salved cannot write its journal now (%s); try again later",
                             strerror(-k));
                break;
        default:
                status = 500;
                r = asprintf(ret_reason, "internal error: %s", strerror(-k));
        }
        if (r < 0)
                *ret_reason = NULL;
        return status;
}

static int act(Manager *m, const AckVerdict *v) {
        switch (v->action) {
        case ACK_ACTION_ACK:
        case ACK_ACTION_RESOLVE:
                /* An incident resolved elsewhere tells salve that someone
                 * has it in hand, not that the step is done or approved. */
                return manager_ack(m, v->run, v->step, v->actor, v->via, v->comment);
        case ACK_ACTION_APPROVE:
                return manager_act(m, v->run, v->step, ACTION_APPROVE, v->actor, v->via, v->comment);
        case ACK_ACTION_REJECT:
                return manager_act(m, v->run, v->step, ACTION_REJECT, v->actor, v->via, v->comment);
        default:
                return 0;
        }
}

static void log_refusal(const AckRequest *req, unsigned status, const char *run, const char *step, const char *reason) {
        /* The path without its query: a token is a secret. */
        log_struct_internal(LOG_WARNING, 0, NULL, run, NULL, step, "Remote acknowledgement refused: %.16s %.*s: %u %s",
                            strna(req->method), req->path ? (int) MIN(strcspn(req->path, "?"), 128U) : 3,
                            req->path ?: "n/a", status, strna(reason));
}

int manager_ack_handle(Manager *m, const ManagerAckKeys *keys, const AckRequest *req, usec_t now,
                       unsigned *ret_status, const char **ret_content_type, char **ret_body) {
        _cleanup_(manager_ack_keys_done) ManagerAckKeys loaded = {};
        _cleanup_(ack_replay_freep) AckReplay *replay = NULL;
        _cleanup_(ack_verdict_done) AckVerdict v = {};
        _cleanup_free_ char *token = NULL, *reason = NULL;
        _cleanup_close_ int dfd = -EBADF;
        char host[256] = "";
        LookupContext lookup = { .manager = m };
        unsigned status;
        AckKeys ak;
        int k;

        if (!keys) {
                k = keys_load(m, &loaded);
                if (k < 0) {
                        log_warning_errno(k, "Remote acknowledgement: cannot load the keys: %m");
                        *ret_content_type = "application/json";
                        *ret_status = 503;
                        return ack_reply_simple(503, "salved cannot load its keys now", ret_body);
                }
                keys = &loaded;
        }
        k = replay_open(m, &dfd, &replay, now);
        if (k < 0) {
                log_warning_errno(k, "Remote acknowledgement: cannot read %s/%s: %m", m->state_dir, ACK_REPLAY_FILE);
                *ret_content_type = "application/json";
                *ret_status = 503;
                return ack_reply_simple(503, "salved cannot read what it acted on; try again later", ret_body);
        }
        (void) gethostname(host, sizeof(host) - 1);
        lookup.host = host[0] ? host : NULL;
        ak = (AckKeys) {
                .webhook_secrets = keys->webhook_secrets,
                .pagerduty_secrets = keys->pagerduty_secrets,
                .approval_key = keys->approval_key,
                .tolerance = keys->tolerance,
                .host = host[0] ? host : NULL,
                .lookup = incident_lookup,
                .lookup_userdata = &lookup,
        };

        k = ack_verify(req, &ak, replay, now, &v);
        if (k < 0)
                return k;
        status = v.status;
        if (status != 200) {
                log_refusal(req, status, NULL, NULL, v.reason);
                goto reply;
        }
        if (v.action == ACK_ACTION_NONE) {
                if (v.page) {
                        const char *q = strchr(req->path, '?');
                        if (q)
                                (void) ack_form_value(q + 1, strlen(q + 1), "token", &token);
                }
                goto reply;
        }
        if (!ack_replay_has_room(replay, now)) {
                status = 503;
                reason = strdup("too many acknowledgements lately; try again later");
                log_refusal(req, status, v.run, v.step, reason);
                goto reply;
        }

        k = act(m, &v);
        if (k == -EALREADY && (v.action == ACK_ACTION_ACK || v.action == ACK_ACTION_RESOLVE)) {
                /* Someone was quicker: nothing to do, and the sender need
                 * not try again. */
                reason = strdup("already acknowledged; nothing to do");
                k = 0;
        } else if (k < 0) {
                status = status_of_errno(k, &v, &reason);
                log_refusal(req, status, v.run, v.step, reason);
                goto reply;
        }

        k = ack_replay_add(replay, v.replay_id, v.replay_until, now);
        if (k >= 0)
                k = ack_replay_save(replay, dfd, ACK_REPLAY_FILE);
        if (k < 0)
                /* Acted on and journaled; only the replay guard is weaker
                 * until the next save. Say so, loudly. */
                log_error_errno(k, "Remote acknowledgement acted on, but %s/%s could not be written: %m",
                                m->state_dir, ACK_REPLAY_FILE);
        log_struct_internal(LOG_NOTICE, 0, NULL, v.run, NULL, v.step, "Remote %s of step %s by %s (via %s)%s%s.",
                            ack_action_to_string(v.action), v.step, v.actor, v.via, v.comment ? ": " : "",
                            strempty(v.comment));

reply:
        if (status != v.status || reason) {
                *ret_content_type = "application/json";
                *ret_status = status;
                return ack_reply_simple(status, reason ?: v.reason, ret_body);
        }
        *ret_status = status;
        return ack_reply_format(&v, token, ret_content_type, ret_body);
}

static int caller_allowed(sd_bus_message *call) {
        struct passwd pw, *result = NULL;
        char buf[1024];
        uid_t uid;
        int k;

        k = bus_caller_uid(call, &uid);
        if (k < 0)
                return k;
        if (uid == 0)
                return 1;
        if (getpwnam_r(SALVE_ACK_USER, &pw, buf, sizeof(buf), &result) != 0 || !result)
                return 0;
        return uid == result->pw_uid;
}

int manager_ack_bus_method(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_free_ AckHeader *headers = NULL;
        _cleanup_free_ char *body = NULL;
        const char *method, *path, *ctype;
        AckRequest req = {};
        size_t n = 0, size;
        unsigned status;
        const void *data;
        int k;

        k = caller_allowed(call);
        if (k < 0)
                return k;
        if (k == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Only %s and root may call Callback.",
                                         SALVE_ACK_USER);

        k = sd_bus_message_read(call, "ss", &method, &path);
        if (k < 0)
                return k;
        k = sd_bus_message_enter_container(call, 'a', "(ss)");
        if (k < 0)
                return k;
        headers = calloc(ACK_HEADERS_MAX + 1, sizeof(AckHeader));
        if (!headers)
                return -ENOMEM;
        for (;;) {
                const char *name, *value;

                k = sd_bus_message_read(call, "(ss)", &name, &value);
                if (k < 0)
                        return k;
                if (k == 0)
                        break;
                /* One more than allowed is kept, so the verifier says 431. */
                if (n <= ACK_HEADERS_MAX)
                        headers[n++] = (AckHeader) { name, value };
        }
        k = sd_bus_message_exit_container(call);
        if (k < 0)
                return k;
        k = sd_bus_message_read_array(call, 'y', &data, &size);
        if (k < 0)
                return k;

        req = (AckRequest) {
                .method = method,
                .path = path,
                .headers = headers,
                .n_headers = n,
                .body = data,
                .body_size = size,
        };
        k = manager_ack_handle(userdata, NULL, &req, now_usec(CLOCK_REALTIME), &status, &ctype, &body);
        if (k < 0)
                return k;
        return sd_bus_reply_method_return(call, "uss", status, ctype, body);
}
