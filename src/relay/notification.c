/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The channel-neutral notification (notification.h): names, default
 * severities, copy, and its JSON, which is what the outbox stores and the
 * generic webhook sends as "data".
 *
 * The record's scalar and list members are described once, in the field
 * tables below, and free, copy, to_json and from_json all walk the same
 * tables, so a member added to the struct and its table is handled
 * everywhere at once (the round-trip test fills every member).
 *
 * Invariants of the JSON: compact, UTF-8 (bytes that are not are written
 * as U+FFFD, so what is stored can always be read back), times as RFC 3339
 * UTC strings with microseconds (null for none: 0 or USEC_INFINITY),
 * durations as integer microseconds (null for infinity), absent strings as
 * null. from_json accepts only that: an
 * object with exactly the known members, of the right types, the required
 * ones present. */

#include <json-c/json.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "notification.h"
#include "string-table.h"
#include "string-util.h"
#include "strv.h"

static const char * const notify_event_table[_NOTIFY_EVENT_MAX] = {
        [NOTIFY_RUN_STARTED] = "run-started",
        [NOTIFY_HUMAN_NEEDED] = "human-needed",
        [NOTIFY_ESCALATED] = "escalated",
        [NOTIFY_REMINDER] = "reminder",
        [NOTIFY_ACKNOWLEDGED] = "acknowledged",
        [NOTIFY_HUMAN_DONE] = "human-done",
        [NOTIFY_UNANSWERED] = "unanswered",
        [NOTIFY_STEP_FAILED] = "step-failed",
        [NOTIFY_RTO_AT_RISK] = "rto-at-risk",
        [NOTIFY_RTO_BREACHED] = "rto-breached",
        [NOTIFY_RUN_FINISHED] = "run-finished",
};
DEFINE_STRING_TABLE(notify_event, NotifyEvent, notify_event_table, _NOTIFY_EVENT_MAX);

static const char * const notify_severity_table[_NOTIFY_SEVERITY_MAX] = {
        [NOTIFY_SEVERITY_INFO] = "info",
        [NOTIFY_SEVERITY_WARNING] = "warning",
        [NOTIFY_SEVERITY_ERROR] = "error",
        [NOTIFY_SEVERITY_CRITICAL] = "critical",
};
DEFINE_STRING_TABLE(notify_severity, NotifySeverity, notify_severity_table, _NOTIFY_SEVERITY_MAX);

/* What needs a person now is critical; what says a recovery is going
 * worse than planned is a warning or worse; news is info. */
static const NotifySeverity default_severity[_NOTIFY_EVENT_MAX] = {
        [NOTIFY_RUN_STARTED] = NOTIFY_SEVERITY_WARNING,     /* something broke; salve is on it */
        [NOTIFY_HUMAN_NEEDED] = NOTIFY_SEVERITY_CRITICAL,
        [NOTIFY_ESCALATED] = NOTIFY_SEVERITY_CRITICAL,
        [NOTIFY_REMINDER] = NOTIFY_SEVERITY_WARNING,
        [NOTIFY_ACKNOWLEDGED] = NOTIFY_SEVERITY_INFO,
        [NOTIFY_HUMAN_DONE] = NOTIFY_SEVERITY_INFO,
        [NOTIFY_UNANSWERED] = NOTIFY_SEVERITY_CRITICAL,
        [NOTIFY_STEP_FAILED] = NOTIFY_SEVERITY_ERROR,
        [NOTIFY_RTO_AT_RISK] = NOTIFY_SEVERITY_WARNING,
        [NOTIFY_RTO_BREACHED] = NOTIFY_SEVERITY_CRITICAL,
        [NOTIFY_RUN_FINISHED] = NOTIFY_SEVERITY_INFO,       /* the relay raises it when the run failed */
};

NotifySeverity notify_event_default_severity(NotifyEvent e) {
        return e >= 0 && e < _NOTIFY_EVENT_MAX ? default_severity[e] : _NOTIFY_SEVERITY_INVALID;
}

bool notify_event_is_human(NotifyEvent e) {
        switch (e) {
        case NOTIFY_HUMAN_NEEDED:
        case NOTIFY_ESCALATED:
        case NOTIFY_REMINDER:
        case NOTIFY_ACKNOWLEDGED:
        case NOTIFY_HUMAN_DONE:
        case NOTIFY_UNANSWERED:
                return true;
        default:
                return false;
        }
}

/* ---- the field tables ---- */

typedef enum FieldType {
        FIELD_STRING,           /* char *, null when NULL */
        FIELD_STRV,             /* char **, [] when NULL */
        FIELD_UNSIGNED,         /* unsigned */
        FIELD_TIME,             /* usec_t CLOCK_REALTIME, RFC 3339; null when 0 or USEC_INFINITY (none) */
        FIELD_DURATION,         /* usec_t, integer microseconds; null when USEC_INFINITY */
} FieldType;

typedef struct Field {
        const char *name;
        FieldType type;
        size_t offset;
        bool required;
        size_t max;             /* strings: longest in bytes, 0: no limit */
        usec_t null_as;         /* times: what null reads as (0, or USEC_INFINITY for "never") */
} Field;

#define F(n, t, member, ...) { .name = n, .type = t, .offset = offsetof(Notification, member), __VA_ARGS__ }

static const Field fields[] = {
        F("key", FIELD_STRING, key, .required = true, .max = 255),
        F("at", FIELD_TIME, at, .required = true),
        F("host", FIELD_STRING, host, .required = true),
        F("machine_id", FIELD_STRING, machine_id),
        F("plan", FIELD_STRING, plan, .required = true),
        F("plan_description", FIELD_STRING, plan_description),
        F("run_id", FIELD_STRING, run_id, .required = true),
        F("trigger", FIELD_STRING, trigger),
        F("reason", FIELD_STRING, reason),
        F("run_state", FIELD_STRING, run_state),
        F("summary", FIELD_STRING, summary, .max = 1024),
        F("trigger_time", FIELD_TIME, trigger_time),
        F("rto_usec", FIELD_DURATION, rto),
        F("deadline", FIELD_TIME, deadline, .null_as = USEC_INFINITY),     /* no rto: run_deadline() */
        F("projected", FIELD_TIME, projected, .null_as = USEC_INFINITY),
        F("rto_state", FIELD_STRING, rto_state),
        F("step_id", FIELD_STRING, step_id),
        F("step_kind", FIELD_STRING, step_kind),
        F("step_description", FIELD_STRING, step_description),
        F("instructions", FIELD_STRING, instructions),
        F("links", FIELD_STRV, links),
        F("bridge", FIELD_STRING, bridge),
        F("chat", FIELD_STRING, chat),
        F("step_position", FIELD_UNSIGNED, step_position),
        F("n_steps", FIELD_UNSIGNED, n_steps),
        F("needs", FIELD_STRV, needs),
        F("message", FIELD_STRING, message),
        F("level", FIELD_UNSIGNED, level),
        F("round", FIELD_UNSIGNED, round),
        F("n_levels", FIELD_UNSIGNED, n_levels),
        F("rounds", FIELD_UNSIGNED, rounds),
        F("ack_timeout_usec", FIELD_DURATION, ack_timeout),
        F("actor", FIELD_STRING, actor),
        F("action", FIELD_STRING, action),
        F("comment", FIELD_STRING, comment),
        F("units", FIELD_STRV, units),
};
#undef F

#define FIELD_PTR(n, f, type) ((type *) ((uint8_t *) (n) + (f)->offset))
#define FIELD_CPTR(n, f, type) ((type const *) ((const uint8_t *) (n) + (f)->offset))

/* ---- free, copy ---- */

void notify_recipients_free(NotifyRecipient *r, size_t n) {
        for (size_t i = 0; r && i < n; i++) {
                free(r[i].name);
                free(r[i].display);
                strv_free(r[i].contacts);
                free(r[i].approve_url);
                free(r[i].reject_url);
        }
        free(r);
}

Notification *notification_free(Notification *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i].type == FIELD_STRING)
                        free(*FIELD_PTR(n, fields + i, char *));
                else if (fields[i].type == FIELD_STRV)
                        strv_free(*FIELD_PTR(n, fields + i, char **));
        notify_recipients_free(n->recipients, n->n_recipients);
        return mfree(n);
}

static int strdup_to(char **dst, const char *s) {
        *dst = NULL;
        if (!s)
                return 0;
        *dst = strdup(s);
        return *dst ? 0 : -ENOMEM;
}

static int strv_copy_to(char ***dst, char * const *l) {
        *dst = NULL;
        if (!l)
                return 0;
        *dst = strv_copy(l);
        return *dst ? 0 : -ENOMEM;
}

int notification_copy(const Notification *n, Notification **ret) {
        _cleanup_(notification_freep) Notification *c = NULL;

        if (!n || !ret)
                return -EINVAL;
        c = malloc(sizeof(Notification));
        if (!c)
                return -ENOMEM;
        *c = *n;
        /* first make every owned pointer NULL, so a failure half-way frees only copies */
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i].type == FIELD_STRING)
                        *FIELD_PTR(c, fields + i, char *) = NULL;
                else if (fields[i].type == FIELD_STRV)
                        *FIELD_PTR(c, fields + i, char **) = NULL;
        c->recipients = NULL;
        c->n_recipients = 0;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const Field *f = fields + i;
                int k = 0;
                if (f->type == FIELD_STRING)
                        k = strdup_to(FIELD_PTR(c, f, char *), *FIELD_CPTR(n, f, char *));
                else if (f->type == FIELD_STRV)
                        k = strv_copy_to(FIELD_PTR(c, f, char **), *FIELD_CPTR(n, f, char **));
                if (k < 0)
                        return k;
        }
        if (n->n_recipients > 0) {
                c->recipients = calloc(n->n_recipients, sizeof(NotifyRecipient));
                if (!c->recipients)
                        return -ENOMEM;
                c->n_recipients = n->n_recipients;
                for (size_t i = 0; i < n->n_recipients; i++) {
                        c->recipients[i].level = n->recipients[i].level;
                        if (strdup_to(&c->recipients[i].name, n->recipients[i].name) < 0 ||
                            strdup_to(&c->recipients[i].display, n->recipients[i].display) < 0 ||
                            strv_copy_to(&c->recipients[i].contacts, n->recipients[i].contacts) < 0 ||
                            strdup_to(&c->recipients[i].approve_url, n->recipients[i].approve_url) < 0 ||
                            strdup_to(&c->recipients[i].reject_url, n->recipients[i].reject_url) < 0)
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- times ---- */

char *notify_format_time(char buf[static NOTIFY_TIME_MAX], usec_t t) {
        time_t secs = (time_t) (t / USEC_PER_SEC);
        unsigned frac = (unsigned) (t % USEC_PER_SEC);
        struct tm tm;
        size_t n;

        if (t == USEC_INFINITY || (usec_t) secs != t / USEC_PER_SEC || !gmtime_r(&secs, &tm) ||
            tm.tm_year + 1900 > 9999) {
                buf[0] = 0;
                return NULL;
        }
        n = strftime(buf, NOTIFY_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        if (frac > 0)
                snprintf(buf + n, NOTIFY_TIME_MAX - n, ".%06uZ", frac);
        else
                snprintf(buf + n, NOTIFY_TIME_MAX - n, "Z");
        return buf;
}

static bool take_digits(const char **p, size_t n, unsigned *ret) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++) {
                if ((*p)[i] < '0' || (*p)[i] > '9')
                        return false;
                v = v * 10 + (unsigned) ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

int notify_parse_time(const char *s, usec_t *ret) {
        unsigned year, mon, day, hour, min, sec, frac = 0;
        const char *p = s;
        struct tm tm = {};
        time_t t;

        if (!s)
                return -EINVAL;
        if (!take_digits(&p, 4, &year) || *p++ != '-' || !take_digits(&p, 2, &mon) || *p++ != '-' ||
            !take_digits(&p, 2, &day) || *p++ != 'T' || !take_digits(&p, 2, &hour) || *p++ != ':' ||
            !take_digits(&p, 2, &min) || *p++ != ':' || !take_digits(&p, 2, &sec))
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (!take_digits(&p, 6, &frac))
                        return -EINVAL;
        }
        if (!streq(p, "Z"))
                return -EINVAL;
        if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59)
                return -EINVAL;
        tm = (struct tm) { .tm_year = (int) year - 1900, .tm_mon = (int) mon - 1, .tm_mday = (int) day,
                           .tm_hour = (int) hour, .tm_min = (int) min, .tm_sec = (int) sec };
        t = timegm(&tm);
        if (t < 0 || tm.tm_mday != (int) day)   /* 31 February */
                return -EINVAL;
        *ret = (usec_t) t * USEC_PER_SEC + frac;
        return 0;
}

/* ---- to JSON ---- */

/* s as valid UTF-8: each byte of an invalid sequence becomes U+FFFD. */
static int utf8_clean(const char *s, char **ret) {
        size_t len = strlen(s), out = 0;
        char *c;

        if (utf8_first_invalid(s, len, &(bool) { false }) < 0) {
                *ret = NULL;            /* already clean */
                return 0;
        }
        c = malloc(len * 3 + 1);
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < len;) {
                bool nul;
                ssize_t bad = utf8_first_invalid(s + i, len - i, &nul);
                size_t good = bad < 0 ? len - i : (size_t) bad;
                memcpy(c + out, s + i, good);
                out += good;
                i += good;
                if (bad >= 0) {
                        memcpy(c + out, "\xef\xbf\xbd", 3);
                        out += 3;
                        i++;
                }
        }
        c[out] = 0;
        *ret = c;
        return 0;
}

json_object *notify_json_string(const char *s) {
        _cleanup_free_ char *clean = NULL;

        if (utf8_clean(s, &clean) < 0)
                return NULL;
        return json_object_new_string(clean ?: s);
}

static json_object *json_string_or_null(const char *s, int *error) {
        _cleanup_free_ char *clean = NULL;
        json_object *o;

        if (!s)
                return NULL;
        if (utf8_clean(s, &clean) < 0) {
                *error = -ENOMEM;
                return NULL;
        }
        o = json_object_new_string(clean ?: s);
        if (!o)
                *error = -ENOMEM;
        return o;
}

static json_object *json_strv(char * const *l, int *error) {
        json_object *a = json_object_new_array();

        if (!a) {
                *error = -ENOMEM;
                return NULL;
        }
        STRV_FOREACH(s, l) {
                json_object *v = json_string_or_null(*s, error);
                if (!v || json_object_array_add(a, v) < 0) {
                        json_object_put(v);
                        json_object_put(a);
                        *error = -ENOMEM;
                        return NULL;
                }
        }
        return a;
}

static int add(json_object *o, const char *name, json_object *v, int error) {
        if (error < 0) {
                json_object_put(v);
                return error;
        }
        if (json_object_object_add(o, name, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *field_to_json(const Notification *n, const Field *f, int *error) {
        char buf[NOTIFY_TIME_MAX];
        json_object *v = NULL;
        usec_t u;

        switch (f->type) {
        case FIELD_STRING:
                return json_string_or_null(*FIELD_CPTR(n, f, char *), error);
        case FIELD_STRV:
                return json_strv(*FIELD_CPTR(n, f, char **), error);
        case FIELD_UNSIGNED:
                v = json_object_new_int64(*FIELD_CPTR(n, f, unsigned));
                break;
        case FIELD_TIME:
                u = *FIELD_CPTR(n, f, usec_t);
                if ((u == 0 && !f->required) || u == USEC_INFINITY)
                        return NULL;    /* "at" 0 is written as the epoch: the record stays readable */
                if (!notify_format_time(buf, u)) {
                        *error = -ERANGE;
                        return NULL;
                }
                v = json_object_new_string(buf);
                break;
        case FIELD_DURATION:
                u = *FIELD_CPTR(n, f, usec_t);
                if (u == USEC_INFINITY)
                        return NULL;
                if (u > INT64_MAX) {
                        *error = -ERANGE;
                        return NULL;
                }
                v = json_object_new_int64((int64_t) u);
                break;
        }
        if (!v)
                *error = -ENOMEM;
        return v;
}

static int recipients_to_json(const Notification *n, json_object **ret) {
        json_object *a = json_object_new_array();
        int k = 0;

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n->n_recipients && k >= 0; i++) {
                const NotifyRecipient *r = n->recipients + i;
                json_object *o = json_object_new_object();
                if (!o) {
                        k = -ENOMEM;
                        break;
                }
                int e = 0;
                json_object *v = json_string_or_null(r->name, &e);
                k = add(o, "name", v, e);
                if (k >= 0) {
                        v = json_string_or_null(r->display, &e);
                        k = add(o, "display", v, e);
                }
                if (k >= 0) {
                        v = json_strv(r->contacts, &e);
                        k = add(o, "contacts", v, e);
                }
                if (k >= 0 && r->approve_url) {
                        v = json_string_or_null(r->approve_url, &e);
                        k = add(o, "approve_url", v, e);
                }
                if (k >= 0 && r->reject_url) {
                        v = json_string_or_null(r->reject_url, &e);
                        k = add(o, "reject_url", v, e);
                }
                if (k >= 0) {
                        json_object *l = json_object_new_int64(r->level);
                        k = add(o, "level", l, l ? 0 : -ENOMEM);
                }
                if (k >= 0 && json_object_array_add(a, o) < 0)
                        k = -ENOMEM;
                if (k < 0)
                        json_object_put(o);
        }
        if (k < 0) {
                json_object_put(a);
                return k;
        }
        *ret = a;
        return 0;
}

/* The JSON object (for channels that embed it). */
int notification_to_json_object(const Notification *n, json_object **ret) {
        json_object *o, *v;
        const char *s;
        int k;

        if (!n || !ret)
                return -EINVAL;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        s = notify_event_to_string(n->event);
        k = s ? 0 : -EINVAL;
        if (k >= 0) {
                v = json_object_new_string(s);
                k = add(o, "event", v, v ? 0 : -ENOMEM);
        }
        if (k >= 0) {
                s = notify_severity_to_string(n->severity);
                v = s ? json_object_new_string(s) : NULL;
                k = add(o, "severity", v, !s ? -EINVAL : v ? 0 : -ENOMEM);
        }
        for (size_t i = 0; i < ELEMENTSOF(fields) && k >= 0; i++) {
                int e = 0;
                v = field_to_json(n, fields + i, &e);
                k = add(o, fields[i].name, v, e);
        }
        if (k >= 0) {
                k = recipients_to_json(n, &v);
                if (k >= 0)
                        k = add(o, "recipients", v, 0);
        }
        if (k < 0) {
                json_object_put(o);
                return k;
        }
        *ret = o;
        return 0;
}

int notification_to_json(const Notification *n, char **ret) {
        json_object *o;
        const char *s;
        int k;

        if (!ret)
                return -EINVAL;
        k = notification_to_json_object(n, &o);
        if (k < 0)
                return k;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = s ? strdup(s) : NULL;
        json_object_put(o);
        return *ret ? 0 : -ENOMEM;
}

/* ---- from JSON ---- */

/* A JSON string as a C string: valid UTF-8, no NUL inside. */
static int string_from_json(json_object *v, size_t max, char **ret) {
        const char *s;
        size_t len;
        bool nul;

        if (json_object_is_type(v, json_type_null)) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        s = json_object_get_string(v);
        len = (size_t) json_object_get_string_len(v);
        if (strlen(s) != len || utf8_first_invalid(s, len, &nul) >= 0 || (max > 0 && len > max))
                return -EBADMSG;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int strv_from_json(json_object *v, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n;

        if (json_object_is_type(v, json_type_null)) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
                char *s;
                int k = string_from_json(json_object_array_get_idx(v, i), 0, &s);
                if (k < 0)
                        return k;
                if (!s)
                        return -EBADMSG;
                k = strv_push(&l, s);
                if (k < 0)
                        return k;
        }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int int_from_json(json_object *v, uint64_t max, uint64_t *ret) {
        int64_t i;

        if (!json_object_is_type(v, json_type_int))
                return -EBADMSG;
        errno = 0;
        i = json_object_get_int64(v);
        if (errno != 0 || i < 0 || (uint64_t) i > max)
                return -EBADMSG;
        *ret = (uint64_t) i;
        return 0;
}

static int field_from_json(Notification *n, const Field *f, json_object *v) {
        uint64_t u;
        int k;

        switch (f->type) {
        case FIELD_STRING:
                k = string_from_json(v, f->max, FIELD_PTR(n, f, char *));
                if (k >= 0 && f->required && !*FIELD_PTR(n, f, char *))
                        return -EBADMSG;
                if (k >= 0 && f->required && !**FIELD_PTR(n, f, char *))
                        return -EBADMSG;        /* required strings are not empty */
                return k;
        case FIELD_STRV:
                return strv_from_json(v, FIELD_PTR(n, f, char **));
        case FIELD_UNSIGNED:
                k = int_from_json(v, UINT_MAX, &u);
                if (k >= 0)
                        *FIELD_PTR(n, f, unsigned) = (unsigned) u;
                return k;
        case FIELD_TIME:
                if (json_object_is_type(v, json_type_null) && !f->required) {
                        *FIELD_PTR(n, f, usec_t) = f->null_as;
                        return 0;
                }
                if (!json_object_is_type(v, json_type_string) ||
                    notify_parse_time(json_object_get_string(v), FIELD_PTR(n, f, usec_t)) < 0)
                        return -EBADMSG;
                return 0;
        case FIELD_DURATION:
                if (json_object_is_type(v, json_type_null)) {
                        *FIELD_PTR(n, f, usec_t) = USEC_INFINITY;
                        return 0;
                }
                return int_from_json(v, INT64_MAX, FIELD_PTR(n, f, usec_t));
        }
        return -EBADMSG;
}

static int recipients_from_json(Notification *n, json_object *a, const char **ret_error) {
        size_t len;

        if (json_object_is_type(a, json_type_null))
                return 0;
        *ret_error = "recipients";
        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        len = json_object_array_length(a);
        if (len == 0)
                return 0;
        n->recipients = calloc(len, sizeof(NotifyRecipient));
        if (!n->recipients)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                json_object *o = json_object_array_get_idx(a, i), *v;
                NotifyRecipient *r = n->recipients + n->n_recipients;
                uint64_t level = 0;
                int k;

                if (!json_object_is_type(o, json_type_object))
                        return -EBADMSG;
                n->n_recipients++;
                json_object_object_foreach(o, key, val) {
                        if (streq(key, "name")) {
                                *ret_error = "recipients.name";
                                k = string_from_json(val, 0, &r->name);
                        } else if (streq(key, "display")) {
                                *ret_error = "recipients.display";
                                k = string_from_json(val, 0, &r->display);
                        } else if (streq(key, "contacts")) {
                                *ret_error = "recipients.contacts";
                                k = strv_from_json(val, &r->contacts);
                        } else if (streq(key, "approve_url")) {
                                *ret_error = "recipients.approve_url";
                                k = string_from_json(val, 0, &r->approve_url);
                        } else if (streq(key, "reject_url")) {
                                *ret_error = "recipients.reject_url";
                                k = string_from_json(val, 0, &r->reject_url);
                        } else if (streq(key, "level")) {
                                *ret_error = "recipients.level";
                                k = int_from_json(val, UINT_MAX, &level);
                                r->level = (unsigned) level;
                        } else {
                                *ret_error = "recipients (an unknown member)";
                                k = -EBADMSG;
                        }
                        if (k < 0)
                                return k;
                }
                *ret_error = "recipients.name";
                if (!json_object_object_get_ex(o, "name", &v) || !r->name || !*r->name)
                        return -EBADMSG;
        }
        *ret_error = NULL;
        return 0;
}

static const Field *field_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (streq(fields[i].name, name))
                        return fields + i;
        return NULL;
}

static int from_object(json_object *o, Notification *n, const char **ret_error) {
        json_object *v;
        int k;

        *ret_error = "(not a JSON object)";
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;

        *ret_error = "event";
        if (!json_object_object_get_ex(o, "event", &v) || !json_object_is_type(v, json_type_string) ||
            (n->event = notify_event_from_string(json_object_get_string(v))) < 0)
                return -EBADMSG;
        *ret_error = "severity";
        if (!json_object_object_get_ex(o, "severity", &v) || !json_object_is_type(v, json_type_string) ||
            (n->severity = notify_severity_from_string(json_object_get_string(v))) < 0)
                return -EBADMSG;

        /* absent members read as null does */
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i].type == FIELD_TIME)
                        *FIELD_PTR(n, fields + i, usec_t) = fields[i].null_as;
                else if (fields[i].type == FIELD_DURATION)
                        *FIELD_PTR(n, fields + i, usec_t) = USEC_INFINITY;
        json_object_object_foreach(o, key, val) {
                const Field *f;
                if (streq(key, "event") || streq(key, "severity"))
                        continue;
                if (streq(key, "recipients")) {
                        k = recipients_from_json(n, val, ret_error);
                        if (k < 0)
                                return k;
                        continue;
                }
                f = field_find(key);
                *ret_error = f ? f->name : "(an unknown member)";
                if (!f)
                        return -EBADMSG;
                k = field_from_json(n, f, val);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i].required && !json_object_object_get_ex(o, fields[i].name, NULL)) {
                        *ret_error = fields[i].name;
                        return -EBADMSG;
                }
        *ret_error = NULL;
        return 0;
}

int notification_from_json(const char *text, Notification **ret, const char **ret_error) {
        _cleanup_(notification_freep) Notification *n = NULL;
        const char *error = NULL;
        json_tokener *tok;
        json_object *o;
        size_t len;
        bool nul;
        int k;

        if (!text || !ret)
                return -EINVAL;
        len = strlen(text);
        if (len > INT32_MAX || utf8_first_invalid(text, len, &nul) >= 0) {
                if (ret_error)
                        *ret_error = "(not UTF-8 text)";
                return -EBADMSG;
        }
        tok = json_tokener_new_ex(32);
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, text, (int) len);
        if (json_tokener_get_error(tok) != json_tokener_success || !o ||
            json_tokener_get_parse_end(tok) != len) {
                json_tokener_free(tok);
                json_object_put(o);
                if (ret_error)
                        *ret_error = "(not JSON)";
                return -EBADMSG;
        }
        json_tokener_free(tok);

        n = calloc(1, sizeof(Notification));
        if (!n) {
                json_object_put(o);
                return -ENOMEM;
        }
        k = from_object(o, n, &error);
        json_object_put(o);
        if (k < 0) {
                if (ret_error)
                        *ret_error = k == -ENOMEM ? NULL : error;
                return k;
        }
        if (ret_error)
                *ret_error = NULL;
        *ret = TAKE_PTR(n);
        return 0;
}
