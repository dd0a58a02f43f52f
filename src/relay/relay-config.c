/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The relay's configuration loader (relay-config.h, salve.relay(5)).
 * Invariants: every value is type-checked at its node and reported there
 * (FILE:LINE:COLUMN); the loader reports all problems it can and stops
 * only for -ENOMEM; no secret byte is ever in a RelayConfig or a message
 * (a value that is not a reference is refused without being quoted);
 * checks across keys and files (max-dead <= max-entries, retry-max >=
 * retry-initial, a channel name defined once) run on the merged result
 * and point at the key that breaks them. */

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "notification.h"
#include "plan-load.h"
#include "relay-config.h"
#include "secret.h"
#include "string-util.h"
#include "strv.h"
#include "yaml-tree.h"

/* NULL-terminated for string_closest() */
static const char *const channel_type_table[_CHANNEL_TYPE_MAX + 1] = {
        [CHANNEL_WEBHOOK] = "webhook",
        [CHANNEL_ALERTMANAGER] = "alertmanager",
        [CHANNEL_PAGERDUTY] = "pagerduty",
};

const char *channel_type_to_string(ChannelType t) {
        return t >= 0 && t < _CHANNEL_TYPE_MAX ? channel_type_table[t] : NULL;
}

ChannelType channel_type_from_string(const char *s) {
        for (ChannelType t = 0; s && t < _CHANNEL_TYPE_MAX; t++)
                if (streq(channel_type_table[t], s))
                        return t;
        return _CHANNEL_TYPE_INVALID;
}

/* Where a key was last set, for the checks on the merged result. */
typedef struct KeyPos {
        char *file;
        unsigned line, column;
} KeyPos;

typedef struct Loader {
        const char *file;
        Diagnostics *d;
        RelayConfigFlags flags;
        RelayConfig *config;
        char ctx[RELAY_CHANNEL_NAME_MAX + 32];  /* "channel \"ops\": " or "" */
        KeyPos max_dead_pos, retry_max_pos, give_up_pos;
} Loader;

static int report(Loader *l, DiagLevel level, const YNode *n, const char *format, ...) _printf_(4, 5);
static int report(Loader *l, DiagLevel level, const YNode *n, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (diag_add(l->d, level, l->file, n ? n->line : 1, n ? n->column : 1, "%s%s", l->ctx, msg) < 0)
                return -ENOMEM;
        return level == DIAG_ERROR ? -EINVAL : 0;
}
#define error_at(l, n, ...) report(l, DIAG_ERROR, n, __VA_ARGS__)
#define warning_at(l, n, ...) report(l, DIAG_WARNING, n, __VA_ARGS__)

static int merge(int r, int q) {
        if (r == -ENOMEM || q == -ENOMEM)
                return -ENOMEM;
        return r < 0 ? r : q;
}

static const char *describe(const YNode *n) {
        if (n->type == YNODE_SCALAR && ynode_is_null(n))
                return "nothing";
        return n->type == YNODE_SCALAR ? "a scalar" : n->type == YNODE_SEQUENCE ? "a list" : "a mapping";
}

static int key_pos_set(Loader *l, KeyPos *p, const YNode *n) {
        char *f = strdup(l->file);

        if (!f)
                return -ENOMEM;
        free(p->file);
        *p = (KeyPos) { .file = f, .line = n->line, .column = n->column };
        return 0;
}

/* Checks a mapping's keys (scalars, unique, known), before values are read. */
static int check_mapping(Loader *l, const YNode *n, const char *field, const char * const *known) {
        int r = 0;

        if (n->type != YNODE_MAPPING)
                return error_at(l, n, "%s: expected a mapping, got %s", field, describe(n));
        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i);
                const char *hint;

                if (k->type != YNODE_SCALAR || ynode_is_null(k)) {
                        r = merge(r, error_at(l, k, "%s: keys must be plain names, got %s", field, describe(k)));
                        continue;
                }
                for (size_t j = 0; j < i; j++) {
                        const YNode *o = ynode_key(n, j);
                        if (o->type == YNODE_SCALAR && streq_ptr(o->value, k->value)) {
                                r = merge(r, error_at(l, k, "duplicate key \"%s\" (first at line %u)", k->value,
                                                      o->line));
                                break;
                        }
                }
                if (!known || strv_contains((char **) known, k->value))
                        continue;
                hint = string_closest(k->value, known);
                if (hint)
                        r = merge(r, error_at(l, k, "unknown key \"%s\" in %s (did you mean \"%s\"?)", k->value,
                                              field, hint));
                else
                        r = merge(r, error_at(l, k, "unknown key \"%s\" in %s", k->value, field));
        }
        return r;
}

static bool key_is(const YNode *k, const char *name) {
        return k->type == YNODE_SCALAR && streq_ptr(k->value, name);
}

/* A non-empty list of at most max items. */
static int parse_items(Loader *l, const YNode *n, const char *field, size_t max, const YNode ***ret, size_t *ret_n) {
        if (n->type != YNODE_SEQUENCE)
                return error_at(l, n, "%s: expected a list, got %s%s", field, describe(n),
                                n->type == YNODE_SCALAR && !ynode_is_null(n) ? " (write [value] for one item)" : "");
        if (n->n_items == 0)
                return error_at(l, n, "%s: must not be empty (leave the key out for the default)", field);
        if (n->n_items > max)
                return error_at(l, n, "%s: at most %zu items, got %zu", field, max, n->n_items);
        *ret = (const YNode **) n->items;
        *ret_n = n->n_items;
        return 0;
}

static int parse_duration_in(Loader *l, const YNode *n, const char *field, usec_t min, usec_t max, usec_t *ret) {
        char a[FORMAT_DURATION_MAX], b[FORMAT_DURATION_MAX];
        usec_t u;
        int r;

        if (n->type != YNODE_SCALAR || ynode_is_null(n))
                return error_at(l, n, "%s: expected a duration such as 500ms, 10s, 5m or 24h, got %s", field,
                                describe(n));
        r = parse_duration(n->value, &u);
        if (r < 0) {
                bool bare = n->length > 0 && strspn(n->value, "0123456789") == n->length;
                return error_at(l, n, "%s: \"%s\" is not a duration (%s)", field, n->value,
                                bare ? "a number needs its unit, e.g. 10s" : "expected e.g. 500ms, 10s, 5m, 1h30m or 1d");
        }
        if (u < min || u > max)
                return error_at(l, n, "%s: %s is out of range (%s to %s)", field, n->value,
                                format_duration(a, min), format_duration(b, max));
        *ret = u;
        return 0;
}

static int parse_count(Loader *l, const YNode *n, const char *field, uint64_t min, uint64_t max, size_t *ret) {
        uint64_t v = 0;

        if (n->type != YNODE_SCALAR || ynode_is_null(n) || n->length == 0 ||
            strspn(n->value, "0123456789") != n->length)
                return error_at(l, n, "%s: expected a whole number, got %s", field,
                                n->type == YNODE_SCALAR && !ynode_is_null(n) ? "text" : describe(n));
        for (const char *c = n->value; *c; c++) {
                if (v > (UINT64_MAX - (uint64_t) (*c - '0')) / 10) {
                        v = UINT64_MAX;
                        break;
                }
                v = v * 10 + (uint64_t) (*c - '0');
        }
        if (v < min || v > max)
                return error_at(l, n, "%s: %s is out of range (%" PRIu64 " to %" PRIu64 ")", field, n->value, min,
                                max);
        *ret = (size_t) v;
        return 0;
}

/* A secret-valued key: a reference, never the secret. */
static int parse_secret_ref(Loader *l, const YNode *n, const char *field, char **ret) {
        const char *reason;

        if (n->type != YNODE_SCALAR || ynode_is_null(n) || n->length == 0)
                return error_at(l, n, "%s: expected credential:NAME or file:/path, got %s", field, describe(n));
        if (!secret_ref_is_valid(n->value, &reason)) {
                if (string_has_prefix(n->value, "credential:") || string_has_prefix(n->value, "file:"))
                        return error_at(l, n, "%s: \"%s\": %s", field, n->value, reason);
                /* Not quoted: it may well be the secret itself. */
                return error_at(l, n, "%s: a plain value is refused: %s", field, reason);
        }
        if ((l->flags & RELAY_CONFIG_CHECK_SECRETS) && string_has_prefix(n->value, "file:")) {
                _cleanup_free_ char *why = NULL;
                void *p = NULL;
                size_t size = 0;
                int r = secret_load_full(n->value, &p, &size, &why);

                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return error_at(l, n, "%s: %s", field, why ?: strerror(-r));
                secret_free(p, size);
        }
        char *s = strdup(n->value);
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 0;
}

static int parse_secret_refs(Loader *l, const YNode *n, const char *field, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        const YNode **items;
        size_t n_items;
        int r;

        r = parse_items(l, n, field, RELAY_SECRETS_MAX, &items, &n_items);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_items; i++) {
                char f[64], *s = NULL;
                int q;

                snprintf(f, sizeof(f), "%s: item %zu", field, i + 1);
                q = parse_secret_ref(l, items[i], f, &s);
                r = merge(r, q);
                if (q < 0)
                        continue;
                if (strv_push(&v, s) < 0)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        strv_free(*ret);
        *ret = TAKE_PTR(v);
        return 0;
}

static int parse_url(Loader *l, const YNode *n, const char *field, char ***urls) {
        _cleanup_free_ char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
        CURLU *u;
        CURLUcode k;
        int r = 0;

        if (n->type != YNODE_SCALAR || ynode_is_null(n) || n->length == 0)
                return error_at(l, n, "%s: expected a URL, got %s", field, describe(n));
        if (strpbrk(n->value, " \t\r\n"))
                return error_at(l, n, "%s: a URL has no spaces", field);

        u = curl_url();
        if (!u)
                return -ENOMEM;
        k = curl_url_set(u, CURLUPART_URL, n->value, CURLU_NON_SUPPORT_SCHEME);
        if (k == CURLUE_OUT_OF_MEMORY)
                r = -ENOMEM;
        else if (k != CURLUE_OK)
                r = error_at(l, n, "%s: not a URL (%s); expected e.g. https://hooks.example.com/salve", field,
                             curl_url_strerror(k));
        else {
                char *s = NULL;

                (void) curl_url_get(u, CURLUPART_SCHEME, &s, 0);
                scheme = s ? strdup(s) : NULL;
                curl_free(s);
                s = NULL;
                (void) curl_url_get(u, CURLUPART_HOST, &s, 0);
                host = s ? strdup(s) : NULL;
                curl_free(s);
                s = NULL;
                (void) curl_url_get(u, CURLUPART_USER, &s, 0);
                user = s ? strdup(s) : NULL;
                curl_free(s);
                s = NULL;
                (void) curl_url_get(u, CURLUPART_PASSWORD, &s, 0);
                password = s ? strdup(s) : NULL;
                curl_free(s);

                if (!scheme || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
                        r = error_at(l, n, "%s: \"%s\": only http:// and https:// URLs are sent to", field,
                                     n->value);
                else if (!host || !*host)
                        r = error_at(l, n, "%s: \"%s\" has no host", field, n->value);
                else if (user || password)
                        /* not quoted: the password is a secret */
                        r = error_at(l, n, "%s: a URL must not carry a user name or password (secrets never live "
                                     "in the configuration; a webhook is signed with secret:)", field);
        }
        curl_url_cleanup(u);
        if (r < 0)
                return r;
        if (strv_contains(*urls, n->value))
                return error_at(l, n, "%s: \"%s\" is listed twice", field, n->value);
        return strv_extend(urls, n->value) < 0 ? -ENOMEM : 0;
}

static int parse_events(Loader *l, const YNode *n, uint64_t *ret) {
        const YNode **items;
        size_t n_items;
        const char *names[_NOTIFY_EVENT_MAX + 1] = {};
        uint64_t mask = 0;
        int r;

        for (int e = 0; e < _NOTIFY_EVENT_MAX; e++)
                names[e] = notify_event_to_string(e);
        r = parse_items(l, n, "events", _NOTIFY_EVENT_MAX * 2, &items, &n_items);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_items; i++) {
                const YNode *it = items[i];
                NotifyEvent e;

                if (it->type != YNODE_SCALAR || ynode_is_null(it)) {
                        r = merge(r, error_at(l, it, "events: item %zu: expected an event name, got %s", i + 1,
                                              describe(it)));
                        continue;
                }
                e = notify_event_from_string(it->value);
                if (e < 0) {
                        const char *hint = string_closest(it->value, names);
                        _cleanup_free_ char *all = strv_join((char **) names, ", ");

                        if (hint)
                                r = merge(r, error_at(l, it, "events: unknown event \"%s\" (did you mean \"%s\"?)",
                                                      it->value, hint));
                        else
                                r = merge(r, error_at(l, it, "events: unknown event \"%s\" (the events are: %s)",
                                                      it->value, strna(all)));
                        continue;
                }
                if (mask & (UINT64_C(1) << e))
                        r = merge(r, warning_at(l, it, "events: \"%s\" is listed twice", it->value));
                mask |= UINT64_C(1) << e;
        }
        if (r < 0)
                return r;
        *ret = mask;
        return 0;
}

static int parse_plans(Loader *l, const YNode *n, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        const YNode **items;
        size_t n_items;
        int r;

        r = parse_items(l, n, "plans", 256, &items, &n_items);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_items; i++) {
                const YNode *it = items[i];

                if (it->type != YNODE_SCALAR || ynode_is_null(it) || it->length == 0) {
                        r = merge(r, error_at(l, it, "plans: item %zu: expected a plan name or glob such as "
                                              "\"db-*\", got %s", i + 1, describe(it)));
                        continue;
                }
                if (strv_extend(&v, it->value) < 0)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        strv_free(*ret);
        *ret = TAKE_PTR(v);
        return 0;
}

static bool channel_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > RELAY_CHANNEL_NAME_MAX || !(isalnum((unsigned char) s[0])))
                return false;
        for (const char *c = s; *c; c++)
                if (!isalnum((unsigned char) *c) && !strchr("-_.", *c))
                        return false;
        return true;
}

static const char *const channel_keys[] = {
        "type", "url", "urls", "secret", "routing-key", "events", "plans", "min-severity", "timeout",
        "resend", "resolved-for", NULL,
};

static void channel_done(RelayChannelConfig *ch) {
        free(ch->name);
        free(ch->file);
        strv_free(ch->urls);
        free(ch->secret_ref);
        free(ch->routing_key_ref);
        strv_free(ch->plans);
}

/* A key that only some types take. */
static int only_for(Loader *l, const YNode *k, ChannelType type, ChannelType wanted) {
        if (type < 0 || type == wanted)
                return 0;
        return error_at(l, k, "%s: only %s channels take it (this one is %s)", k->value,
                        channel_type_to_string(wanted), channel_type_to_string(type));
}

static int parse_channel(Loader *l, RelayChannelConfig *ch, const YNode *name, const YNode *n) {
        const YNode *type_key = NULL, *url_key = NULL, *urls_key = NULL;
        int r;

        r = check_mapping(l, n, "the channel", channel_keys);
        if (r < 0 && n->type != YNODE_MAPPING)
                return r;

        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i), *v = ynode_value(n, i);
                if (key_is(k, "type")) {
                        type_key = k;
                        if (v->type != YNODE_SCALAR || ynode_is_null(v))
                                r = merge(r, error_at(l, v, "type: expected webhook, alertmanager or pagerduty, "
                                                      "got %s", describe(v)));
                        else if ((ch->type = channel_type_from_string(v->value)) < 0) {
                                const char *hint = string_closest(v->value, channel_type_table);
                                r = merge(r, error_at(l, v, "type: unknown channel type \"%s\"%s%s%s (expected "
                                                      "webhook, alertmanager or pagerduty)", v->value,
                                                      hint ? " (did you mean \"" : "", strempty(hint),
                                                      hint ? "\"?)" : ""));
                        }
                }
        }
        if (!type_key)
                r = merge(r, error_at(l, name, "type: missing (webhook, alertmanager or pagerduty)"));

        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i), *v = ynode_value(n, i);
                int q = 0;

                if (k->type != YNODE_SCALAR || !strv_contains((char **) channel_keys, k->value) || key_is(k, "type"))
                        continue;
                if (key_is(k, "url")) {
                        url_key = k;
                        q = parse_url(l, v, "url", &ch->urls);
                } else if (key_is(k, "urls")) {
                        const YNode **items;
                        size_t n_items;

                        urls_key = k;
                        q = parse_items(l, v, "urls", RELAY_URLS_MAX, &items, &n_items);
                        for (size_t j = 0; q >= 0 && j < n_items; j++) {
                                char f[32];
                                snprintf(f, sizeof(f), "urls: item %zu", j + 1);
                                q = merge(q, parse_url(l, items[j], f, &ch->urls));
                        }
                } else if (key_is(k, "secret")) {
                        q = only_for(l, k, ch->type, CHANNEL_WEBHOOK);
                        if (q >= 0)
                                q = parse_secret_ref(l, v, "secret", &ch->secret_ref);
                } else if (key_is(k, "routing-key")) {
                        q = only_for(l, k, ch->type, CHANNEL_PAGERDUTY);
                        if (q >= 0)
                                q = parse_secret_ref(l, v, "routing-key", &ch->routing_key_ref);
                } else if (key_is(k, "events"))
                        q = parse_events(l, v, &ch->events);
                else if (key_is(k, "plans"))
                        q = parse_plans(l, v, &ch->plans);
                else if (key_is(k, "min-severity")) {
                        NotifySeverity s = v->type == YNODE_SCALAR && !ynode_is_null(v)
                                                   ? notify_severity_from_string(v->value) : _NOTIFY_SEVERITY_INVALID;
                        if (s < 0)
                                q = error_at(l, v, "min-severity: expected info, warning, error or critical, got %s%s%s",
                                             v->type == YNODE_SCALAR && !ynode_is_null(v) ? "\"" : describe(v),
                                             v->type == YNODE_SCALAR && !ynode_is_null(v) ? v->value : "",
                                             v->type == YNODE_SCALAR && !ynode_is_null(v) ? "\"" : "");
                        else
                                ch->min_severity = s;
                } else if (key_is(k, "timeout"))
                        q = parse_duration_in(l, v, "timeout", 100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, &ch->timeout);
                else if (key_is(k, "resend")) {
                        q = only_for(l, k, ch->type, CHANNEL_ALERTMANAGER);
                        if (q >= 0)
                                q = parse_duration_in(l, v, "resend", USEC_PER_SEC, USEC_PER_HOUR, &ch->resend);
                } else if (key_is(k, "resolved-for")) {
                        q = only_for(l, k, ch->type, CHANNEL_ALERTMANAGER);
                        if (q >= 0)
                                q = parse_duration_in(l, v, "resolved-for", USEC_PER_SEC, 7 * USEC_PER_DAY,
                                                      &ch->resolved_for);
                }
                r = merge(r, q);
        }

        if (url_key && urls_key)
                r = merge(r, error_at(l, urls_key, "urls: give url or urls, not both"));
        if (ch->type == CHANNEL_PAGERDUTY && !url_key && !urls_key &&
            strv_extend(&ch->urls, RELAY_PAGERDUTY_URL_DEFAULT) < 0)
                return -ENOMEM;
        if (ch->type >= 0 && ch->type != CHANNEL_PAGERDUTY && !url_key && !urls_key)
                r = merge(r, error_at(l, name, "url: missing (a %s channel needs %s)", channel_type_to_string(ch->type),
                                      ch->type == CHANNEL_ALERTMANAGER
                                              ? "urls: with every Alertmanager instance, e.g. [http://127.0.0.1:9093]"
                                              : "url: https://..."));
        if (ch->type == CHANNEL_PAGERDUTY && !ch->routing_key_ref)
                r = merge(r, error_at(l, name, "routing-key: missing (a pagerduty channel needs the integration's "
                                      "routing key, e.g. routing-key: credential:pd-routing)"));
        if (ch->type == CHANNEL_WEBHOOK && !ch->secret_ref && r >= 0)
                r = merge(r, warning_at(l, name, "no secret: its webhooks are sent unsigned, so the receiver cannot "
                                        "tell them from forgeries"));
        return r;
}

static int parse_channels(Loader *l, const YNode *n) {
        RelayConfig *c = l->config;
        int r;

        if (ynode_is_null(n))
                return 0;
        r = check_mapping(l, n, "channels", NULL);
        if (r < 0 && n->type != YNODE_MAPPING)
                return r;

        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i), *v = ynode_value(n, i);
                RelayChannelConfig *ch, *a;
                bool dup = false;
                int q;

                if (k->type != YNODE_SCALAR || ynode_is_null(k))
                        continue;       /* reported by check_mapping() */
                if (!channel_name_is_valid(k->value)) {
                        r = merge(r, error_at(l, k, "channel name \"%s\" is not valid (1 to %u of A-Z a-z 0-9 - _ ., "
                                              "starting with a letter or digit)", k->value, RELAY_CHANNEL_NAME_MAX));
                        continue;
                }
                for (size_t j = 0; j < c->n_channels; j++)
                        if (streq(c->channels[j].name, k->value)) {
                                if (!streq(c->channels[j].file, l->file))
                                        r = merge(r, error_at(l, k, "channel \"%s\" is already defined at %s:%u:%u",
                                                              k->value, c->channels[j].file,
                                                              c->channels[j].pos.line, c->channels[j].pos.column));
                                dup = true;     /* in this file: check_mapping() said so */
                        }
                if (dup)
                        continue;
                if (c->n_channels >= RELAY_CHANNELS_MAX) {
                        r = merge(r, error_at(l, k, "too many channels (at most %u)", RELAY_CHANNELS_MAX));
                        break;
                }
                a = reallocarray(c->channels, c->n_channels + 1, sizeof(RelayChannelConfig));
                if (!a)
                        return -ENOMEM;
                c->channels = a;
                ch = c->channels + c->n_channels;
                *ch = (RelayChannelConfig) {
                        .type = _CHANNEL_TYPE_INVALID,
                        .events = (UINT64_C(1) << _NOTIFY_EVENT_MAX) - 1,
                        .min_severity = NOTIFY_SEVERITY_INFO,
                        .timeout = RELAY_CHANNEL_TIMEOUT_DEFAULT,
                        .pos = { k->line, k->column },
                        .name = strdup(k->value),
                        .file = strdup(l->file),
                };
                c->n_channels++;
                if (!ch->name || !ch->file)
                        return -ENOMEM;

                snprintf(l->ctx, sizeof(l->ctx), "channel \"%s\": ", k->value);
                q = parse_channel(l, ch, k, v);
                l->ctx[0] = 0;
                if (ch->type == CHANNEL_ALERTMANAGER) {
                        if (ch->resend == 0)
                                ch->resend = RELAY_ALERTMANAGER_RESEND_DEFAULT;
                        if (ch->resolved_for == 0)
                                ch->resolved_for = RELAY_ALERTMANAGER_RESOLVED_FOR_DEFAULT;
                }
                r = merge(r, q);
        }
        return r;
}

static const char *const outbox_keys[] = { "max-entries", "max-dead", "retry-initial", "retry-max", "give-up-after", NULL };

static int parse_outbox(Loader *l, const YNode *n) {
        RelayConfig *c = l->config;
        int r;

        if (ynode_is_null(n))
                return 0;
        r = check_mapping(l, n, "outbox", outbox_keys);
        if (r < 0 && n->type != YNODE_MAPPING)
                return r;
        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i), *v = ynode_value(n, i);
                int q = 0;

                if (key_is(k, "max-entries"))
                        q = parse_count(l, v, "outbox: max-entries", 1, 10000000, &c->outbox.max_entries);
                else if (key_is(k, "max-dead")) {
                        q = parse_count(l, v, "outbox: max-dead", 0, 10000000, &c->outbox.max_dead);
                        if (q >= 0)
                                q = key_pos_set(l, &l->max_dead_pos, v);
                } else if (key_is(k, "retry-initial"))
                        q = parse_duration_in(l, v, "outbox: retry-initial", 10 * USEC_PER_MSEC, USEC_PER_HOUR,
                                              &c->outbox.retry_initial);
                else if (key_is(k, "retry-max")) {
                        q = parse_duration_in(l, v, "outbox: retry-max", 10 * USEC_PER_MSEC, USEC_PER_DAY,
                                              &c->outbox.retry_max);
                        if (q >= 0)
                                q = key_pos_set(l, &l->retry_max_pos, v);
                } else if (key_is(k, "give-up-after")) {
                        q = parse_duration_in(l, v, "outbox: give-up-after", USEC_PER_SEC, 30 * USEC_PER_DAY,
                                              &c->outbox.give_up_after);
                        if (q >= 0)
                                q = key_pos_set(l, &l->give_up_pos, v);
                }
                r = merge(r, q);
        }
        return r;
}

static const char *const ack_keys[] = { "webhook-secrets", "pagerduty-secrets", "tolerance", "approval-key",
                                        "approval-url", "approval-lifetime", NULL };

static int parse_ack(Loader *l, const YNode *n) {
        RelayConfig *c = l->config;
        int r;

        if (ynode_is_null(n))
                return 0;
        r = check_mapping(l, n, "ack", ack_keys);
        if (r < 0 && n->type != YNODE_MAPPING)
                return r;
        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i), *v = ynode_value(n, i);
                int q = 0;

                if (key_is(k, "webhook-secrets"))
                        q = parse_secret_refs(l, v, "ack: webhook-secrets", &c->ack.webhook_secrets);
                else if (key_is(k, "pagerduty-secrets"))
                        q = parse_secret_refs(l, v, "ack: pagerduty-secrets", &c->ack.pagerduty_secrets);
                else if (key_is(k, "tolerance"))
                        q = parse_duration_in(l, v, "ack: tolerance", USEC_PER_SEC, USEC_PER_HOUR, &c->ack.tolerance);
                else if (key_is(k, "approval-key"))
                        q = parse_secret_ref(l, v, "ack: approval-key", &c->ack.approval_key);
                else if (key_is(k, "approval-url")) {
                        _cleanup_strv_free_ char **u = NULL;
                        q = parse_url(l, v, "ack: approval-url", &u);
                        if (q >= 0 && u && u[0]) {
                                free(c->ack.approval_url);
                                c->ack.approval_url = strdup(u[0]);
                                if (!c->ack.approval_url)
                                        q = -ENOMEM;
                        }
                } else if (key_is(k, "approval-lifetime"))
                        q = parse_duration_in(l, v, "ack: approval-lifetime", USEC_PER_MINUTE, 7 * USEC_PER_DAY,
                                              &c->ack.approval_lifetime);
                r = merge(r, q);
        }
        return r;
}

static const char *const top_keys[] = { "channels", "outbox", "ack", NULL };

static int parse_buffer(Loader *l, const char *buf, size_t len) {
        _cleanup_(ydocument_freep) YDocument *doc = NULL;
        ssize_t bad;
        bool nul;
        int r;

        if (len > RELAY_CONFIG_FILE_MAX)
                return diag_add(l->d, DIAG_ERROR, l->file, 1, 1, "file too large (%zu bytes, at most %u)", len,
                                RELAY_CONFIG_FILE_MAX) < 0 ? -ENOMEM : -EINVAL;
        bad = utf8_first_invalid(buf, len, &nul);
        if (bad >= 0) {
                unsigned line, column;
                offset_to_line_column(buf, (size_t) bad, &line, &column);
                return diag_add(l->d, DIAG_ERROR, l->file, line, column, "%s at byte %zd",
                                nul ? "NUL byte" : "invalid UTF-8", bad) < 0 ? -ENOMEM : -EINVAL;
        }
        r = ydocument_parse(l->file, buf, len, l->d, &doc);
        if (r < 0)
                return r;
        if (!doc->root || ynode_is_null(doc->root))
                return 0;       /* an empty file configures nothing */

        r = check_mapping(l, doc->root, "the relay configuration", top_keys);
        if (r < 0 && doc->root->type != YNODE_MAPPING)
                return r;
        for (size_t i = 0; i < ynode_n_pairs(doc->root); i++) {
                const YNode *k = ynode_key(doc->root, i), *v = ynode_value(doc->root, i);

                if (key_is(k, "channels"))
                        r = merge(r, parse_channels(l, v));
                else if (key_is(k, "outbox"))
                        r = merge(r, parse_outbox(l, v));
                else if (key_is(k, "ack"))
                        r = merge(r, parse_ack(l, v));
        }
        return r;
}

RelayConfig *relay_config_free(RelayConfig *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_channels; i++)
                channel_done(c->channels + i);
        free(c->channels);
        strv_free(c->ack.webhook_secrets);
        strv_free(c->ack.pagerduty_secrets);
        free(c->ack.approval_key);
        free(c->ack.approval_url);
        return mfree(c);
}

static int config_new(RelayConfig **ret) {
        RelayConfig *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->outbox.max_entries = RELAY_OUTBOX_MAX_ENTRIES_DEFAULT;
        c->outbox.max_dead = RELAY_OUTBOX_MAX_DEAD_DEFAULT;
        c->outbox.retry_initial = RELAY_OUTBOX_RETRY_INITIAL_DEFAULT;
        c->outbox.retry_max = RELAY_OUTBOX_RETRY_MAX_DEFAULT;
        c->outbox.give_up_after = RELAY_OUTBOX_GIVE_UP_AFTER_DEFAULT;
        c->ack.tolerance = RELAY_ACK_TOLERANCE_DEFAULT;
        c->ack.approval_lifetime = RELAY_ACK_APPROVAL_LIFETIME_DEFAULT;
        c->ack.webhook_secrets = calloc(1, sizeof(char *));
        c->ack.pagerduty_secrets = calloc(1, sizeof(char *));
        if (!c->ack.webhook_secrets || !c->ack.pagerduty_secrets) {
                relay_config_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

/* The checks across keys, on the merged result. */
static int check_merged(Loader *l) {
        RelayConfig *c = l->config;
        int r = 0;

        if (c->outbox.max_dead > c->outbox.max_entries) {
                KeyPos *p = &l->max_dead_pos;
                if (diag_add(l->d, DIAG_ERROR, p->file ?: "relay", p->line, p->column, "outbox: max-dead (%zu) must "
                             "not exceed max-entries (%zu): dead letters count towards max-entries",
                             c->outbox.max_dead, c->outbox.max_entries) < 0)
                        return -ENOMEM;
                r = -EINVAL;
        }
        if (c->outbox.retry_max < c->outbox.retry_initial) {
                char a[FORMAT_DURATION_MAX], b[FORMAT_DURATION_MAX];
                KeyPos *p = &l->retry_max_pos;
                if (diag_add(l->d, DIAG_ERROR, p->file ?: "relay", p->line, p->column, "outbox: retry-max (%s) must "
                             "not be shorter than retry-initial (%s)", format_duration(a, c->outbox.retry_max),
                             format_duration(b, c->outbox.retry_initial)) < 0)
                        return -ENOMEM;
                r = -EINVAL;
        }
        if (c->outbox.give_up_after < c->outbox.retry_initial) {
                KeyPos *p = &l->give_up_pos;
                if (diag_add(l->d, DIAG_ERROR, p->file ?: "relay", p->line, p->column, "outbox: give-up-after must "
                             "not be shorter than retry-initial: nothing would ever be retried") < 0)
                        return -ENOMEM;
                r = -EINVAL;
        }
        return r;
}

static void loader_done(Loader *l) {
        free(l->max_dead_pos.file);
        free(l->retry_max_pos.file);
        free(l->give_up_pos.file);
}

/* Diagnostics to the log, for callers that gave none. */
static void log_diagnostics(const Diagnostics *d) {
        for (size_t i = 0; i < d->n_items; i++) {
                const Diag *x = d->items + i;
                if (x->line > 0)
                        log_full_errno(x->level == DIAG_ERROR ? LOG_ERR : LOG_WARNING, 0, "%s:%u:%u: %s", x->file,
                                       x->line, x->column, x->message);
                else
                        log_full_errno(x->level == DIAG_ERROR ? LOG_ERR : LOG_WARNING, 0, "%s: %s", x->file,
                                       x->message);
        }
        if (d->truncated)
                log_error("More problems were found than are shown.");
}

int relay_config_load_buffer(const char *file, const char *buf, size_t len, RelayConfigFlags flags,
                             RelayConfig **ret, Diagnostics *d) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL;
        Loader l = { .file = file ?: "relay.yaml", .d = d, .flags = flags };
        size_t errors = d->n_errors;
        int r;

        r = config_new(&c);
        if (r < 0)
                return r;
        l.config = c;
        r = parse_buffer(&l, buf ?: "", buf ? len : 0);
        if (r != -ENOMEM)
                r = merge(r, check_merged(&l));
        loader_done(&l);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || d->n_errors > errors)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Reads one file; 0 and *ret NULL when it does not exist and may not. */
static int read_config_file(const char *path, bool must_exist, RelayConfigFlags flags, Diagnostics *d, char **ret,
                            size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        *ret = NULL;
        *ret_len = 0;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = negative_errno();
                if (r == -ENOENT && !must_exist)
                        return 0;
                return diag_add(d, DIAG_ERROR, path, 0, 0, "cannot open: %s", strerror(-r)) < 0 ? -ENOMEM : -EINVAL;
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return diag_add(d, DIAG_ERROR, path, 0, 0, "not a regular file") < 0 ? -ENOMEM : -EINVAL;
        if (flags & RELAY_CONFIG_SECURE) {
                /* It says where notifications (and their signatures) go. */
                r = plan_check_file_secure(path, fd, d);
                if (r < 0)
                        return r == -ENOMEM ? r : -EINVAL;
        }
        if (st.st_size > RELAY_CONFIG_FILE_MAX)
                return diag_add(d, DIAG_ERROR, path, 1, 1, "file too large (%jd bytes, at most %u)",
                                (intmax_t) st.st_size, RELAY_CONFIG_FILE_MAX) < 0 ? -ENOMEM : -EINVAL;
        buf = malloc(RELAY_CONFIG_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, RELAY_CONFIG_FILE_MAX + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        return diag_add(d, DIAG_ERROR, path, 0, 0, "cannot read: %s", strerror(-r)) < 0 ? -ENOMEM
                                                                                                          : -EINVAL;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > RELAY_CONFIG_FILE_MAX)
                        return diag_add(d, DIAG_ERROR, path, 1, 1, "file too large (more than %u bytes)",
                                        RELAY_CONFIG_FILE_MAX) < 0 ? -ENOMEM : -EINVAL;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = n;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* The drop-ins' paths in name order; an empty list when DIR has none. */
static int list_dropins(const char *dir, Diagnostics *d, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_(closedirp) DIR *dd = NULL;
        struct dirent *de;

        dd = opendir(dir);
        if (!dd) {
                int r = negative_errno();
                if (r == -ENOENT) {
                        *ret = NULL;
                        return 0;
                }
                return diag_add(d, DIAG_ERROR, dir, 0, 0, "cannot read the directory: %s", strerror(-r)) < 0
                               ? -ENOMEM : -EINVAL;
        }
        while ((errno = 0, de = readdir(dd))) {
                char *p;

                if (de->d_name[0] == '.' || !string_has_suffix(de->d_name, ".yaml"))
                        continue;
                if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                if (strv_push(&l, p) < 0)
                        return -ENOMEM;
                if (strv_length(l) > 1024)
                        return diag_add(d, DIAG_ERROR, dir, 0, 0, "more than 1024 drop-ins") < 0 ? -ENOMEM : -EINVAL;
        }
        if (errno > 0)
                return negative_errno();
        if (l)
                qsort(l, strv_length(l), sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}

int relay_config_load_dir(const char *dir, RelayConfigFlags flags, RelayConfig **ret, Diagnostics *d) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL;
        _cleanup_strv_free_ char **files = NULL, **dropins = NULL;
        _cleanup_free_ char *main_path = NULL, *dropin_dir = NULL;
        Diagnostics local = {};
        Diagnostics *dd = d ?: &local;
        size_t errors = dd->n_errors;
        Loader l = { .d = dd, .flags = flags };
        int r;

        if (!dir || !ret)
                return -EINVAL;
        if (asprintf(&main_path, "%s/relay.yaml", dir) < 0 || asprintf(&dropin_dir, "%s/relay.d", dir) < 0)
                return -ENOMEM;
        r = config_new(&c);
        if (r < 0)
                return r;
        l.config = c;

        /* the main file first, then the drop-ins in name order */
        if (strv_extend(&files, main_path) < 0)
                return -ENOMEM;
        r = list_dropins(dropin_dir, dd, &dropins);
        STRV_FOREACH(f, dropins)
                if (strv_extend(&files, *f) < 0)
                        return -ENOMEM;

        STRV_FOREACH(f, r >= 0 ? files : NULL) {
                _cleanup_free_ char *buf = NULL;
                size_t len;
                int q;

                q = read_config_file(*f, false, flags, dd, &buf, &len);
                if (q >= 0 && buf) {
                        l.file = *f;
                        q = parse_buffer(&l, buf, len);
                }
                r = merge(r, q);
                if (r == -ENOMEM)
                        break;
        }
        if (r != -ENOMEM)
                r = merge(r, check_merged(&l));
        loader_done(&l);
        if (!d) {
                log_diagnostics(&local);
                diagnostics_done(&local);
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0 || dd->n_errors > errors)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}

int relay_config_load(const char *path, RelayConfig **ret, Diagnostics *d) {
        _cleanup_free_ char *buf = NULL;
        Diagnostics local = {};
        Diagnostics *dd = d ?: &local;
        size_t len;
        int r;

        if (!ret)
                return -EINVAL;
        if (!path)
                return relay_config_load_dir(SALVE_CONFIG_DIR, RELAY_CONFIG_SECURE, ret, d);

        r = read_config_file(path, true, 0, dd, &buf, &len);
        if (r >= 0)
                r = relay_config_load_buffer(path, buf, len, 0, ret, dd);
        if (!d) {
                log_diagnostics(&local);
                diagnostics_done(&local);
        }
        return r;
}

int relay_config_verify(const char *dir, Diagnostics *d) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL;

        if (!d)
                return -EINVAL;
        return relay_config_load_dir(dir ?: SALVE_CONFIG_DIR,
                                     RELAY_CONFIG_CHECK_SECRETS | (dir ? 0 : RELAY_CONFIG_SECURE), &c, d);
}

bool relay_channel_wants(const RelayChannelConfig *c, int event, int severity, const char *plan) {
        if (!c || event < 0 || event >= _NOTIFY_EVENT_MAX || event >= 64)
                return false;
        if (!(c->events & (UINT64_C(1) << event)))
                return false;
        if (severity < c->min_severity)
                return false;
        if (!c->plans)
                return true;
        if (!plan)
                return false;
        STRV_FOREACH(g, c->plans)
                if (fnmatch(*g, plan, 0) == 0)
                        return true;
        return false;
}
