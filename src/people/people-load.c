/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Loading people.d files (salve.people(5)) into a PeopleDir: each file
 * is checked on its own (keys, values, positions), then the directory as
 * a whole (one namespace for people, teams and rotations; every member
 * exists; rotation members are people; teams have no cycles). Every
 * problem is reported with file:line:column, and the loader goes on to
 * find the rest; a directory with any error is not returned. Files are
 * layered as plans are (plan-set.c): /etc over /run over /usr/lib by
 * file name, a symlink to /dev/null or an empty file masks. */

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "people-internal.h"
#include "plan-fields.h"
#include "plan-load.h"
#include "string-util.h"
#include "yaml-tree.h"

const char *const people_dir_default_dirs[] = {
        SALVE_PEOPLE_DIR_ETC,
        SALVE_PEOPLE_DIR_RUN,
        SALVE_PEOPLE_DIR_USR,
        NULL,
};

/* ---- values ---- */

static const YNode *map_get(const YNode *map, const char *key) {
        for (size_t i = 0; map && i < ynode_n_pairs(map); i++) {
                const YNode *k = ynode_key(map, i);
                if (k->type == YNODE_SCALAR && streq_ptr(k->value, key))
                        return ynode_value(map, i);
        }
        return NULL;
}

static SourcePos pos_of(const YNode *n) {
        return (SourcePos) { n->line, n->column };
}

static bool name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > PEOPLE_NAME_MAX)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        for (const char *c = s; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      strchr("._-", *c)))
                        return false;
        return true;
}

static int check_name(PlanLoader *l, const YNode *n, const char *what) {
        if (!name_is_valid(n->value))
                return error_at(l, n, "%s name \"%s\" is not valid (1 to %d letters, digits, \".\", \"_\" or \"-\", "
                                "starting with a letter or digit)", what, n->value, PEOPLE_NAME_MAX);
        return 0;
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* ---- contacts ---- */

typedef int (*ContactCheck)(const char *value, char **ret_normalized, const char **ret_hint);

static int check_email(const char *v, char **ret, const char **hint) {
        const char *at = strchr(v, '@');
        *hint = "an address such as jane@example.com";
        if (!at || at == v || !at[1] || strchr(at + 1, '@') || strpbrk(v, " <>,;\"") || !strchr(at + 1, '.'))
                return -EINVAL;
        return (*ret = strdup(v)) ? 0 : -ENOMEM;
}

static int check_phone(const char *v, char **ret, const char **hint) {
        _cleanup_free_ char *n = malloc(strlen(v) + 1);
        size_t k = 0, digits = 0;

        *hint = "an international number with its country code, such as +4912345678 (spaces, dashes, dots and "
                "parentheses are dropped)";
        if (!n)
                return -ENOMEM;
        if (v[0] != '+')
                return -EINVAL;
        n[k++] = '+';
        for (const char *c = v + 1; *c; c++) {
                if (*c >= '0' && *c <= '9') {
                        n[k++] = *c;
                        digits++;
                } else if (!strchr(" -.()", *c))
                        return -EINVAL;
        }
        n[k] = 0;
        if (digits < 6 || digits > 15)
                return -EINVAL;
        *ret = TAKE_PTR(n);
        return 0;
}

static int check_token(const char *v, char **ret, const char **hint) {
        *hint = "one word of letters, digits and - _ . @ # :";
        for (const char *c = v; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      strchr("-_.@#:+", *c)))
                        return -EINVAL;
        return (*ret = strdup(v)) ? 0 : -ENOMEM;
}

static int check_pagerduty(const char *v, char **ret, const char **hint) {
        *hint = "a PagerDuty user ID such as PABC123";
        for (const char *c = v; *c; c++)
                if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
                        return -EINVAL;
        return (*ret = strdup(v)) ? 0 : -ENOMEM;
}

static int check_matrix(const char *v, char **ret, const char **hint) {
        const char *colon = strchr(v, ':');
        *hint = "a Matrix user ID such as @jane:example.org";
        if (v[0] != '@' || !colon || colon == v + 1 || !colon[1] || strpbrk(v, " /"))
                return -EINVAL;
        return (*ret = strdup(v)) ? 0 : -ENOMEM;
}

static int check_url(const char *v, char **ret, const char **hint) {
        *hint = "an https:// or http:// URL";
        if ((!string_has_prefix(v, "https://") && !string_has_prefix(v, "http://")) || strpbrk(v, " \"<>") ||
            strlen(v) <= strlen("https://"))
                return -EINVAL;
        return (*ret = strdup(v)) ? 0 : -ENOMEM;
}

static int check_text(const char *v, char **ret, const char **hint) {
        *hint = "text";
        return (*ret = strdup(v)) ? 0 : -ENOMEM;
}

static const struct {
        const char *channel;
        ContactCheck check;
} channels[] = {
        { "email",     check_email },
        { "phone",     check_phone },
        { "sms",       check_phone },
        { "pagerduty", check_pagerduty },
        { "opsgenie",  check_text },
        { "matrix",    check_matrix },
        { "slack",     check_token },
        { "chat",      check_text },
        { "webhook",   check_url },
};

#define CONTACT_MAX 512

static int parse_contact(PlanLoader *l, Person *p, const YNode *k, const YNode *v, size_t ch) {
        const YNode *one = v;
        size_t n = v->type == YNODE_SEQUENCE ? v->n_items : 1;
        int r = 0;

        if (v->type == YNODE_MAPPING || (v->type == YNODE_SEQUENCE && n == 0))
                return error_at(l, v, "person \"%s\": %s: expected an address or a list of them, got %s", p->name,
                                k->value, v->type == YNODE_MAPPING ? "a mapping" : "an empty list");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *norm = NULL, *entry = NULL;
                const char *hint = NULL;
                int q;

                if (v->type == YNODE_SEQUENCE)
                        one = v->items[i];
                if (one->type != YNODE_SCALAR || ynode_is_null(one) || one->length == 0) {
                        r = loader_merge(r, error_at(l, one, "person \"%s\": %s: expected an address, got %s",
                                                     p->name, k->value, one->length == 0 && one->type == YNODE_SCALAR &&
                                                     !ynode_is_null(one) ? "an empty string" : ynode_describe(one)));
                        continue;
                }
                if (one->length > CONTACT_MAX || has_control(one->value)) {
                        r = loader_merge(r, error_at(l, one, "person \"%s\": %s: %s", p->name, k->value,
                                                     one->length > CONTACT_MAX ? "longer than 512 bytes"
                                                                               : "contains control characters"));
                        continue;
                }
                q = channels[ch].check(one->value, &norm, &hint);
                if (q == -ENOMEM)
                        return q;
                if (q < 0) {
                        r = loader_merge(r, error_at(l, one, "person \"%s\": %s: \"%s\" is not %s", p->name, k->value,
                                                     one->value, hint));
                        continue;
                }
                if (asprintf(&entry, "%s=%s", channels[ch].channel, norm) < 0)
                        return -ENOMEM;
                if (strv_push(&p->contacts, TAKE_PTR(entry)) < 0)
                        return -ENOMEM;
        }
        return r;
}

/* ---- people ---- */

Person *person_free(Person *p) {
        if (!p)
                return NULL;
        free(p->name);
        free(p->display);
        strv_free(p->contacts);
        free(p);
        return NULL;
}

Team *team_free(Team *t) {
        if (!t)
                return NULL;
        free(t->name);
        strv_free(t->members);
        free(t->members_pos);
        free(t);
        return NULL;
}

Rotation *rotation_free(Rotation *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_layers; i++) {
                free(r->layers[i].name);
                strv_free(r->layers[i].members);
                free(r->layers[i].members_pos);
                free(r->layers[i].people);
                free(r->layers[i].windows);
        }
        free(r->layers);
        for (size_t i = 0; i < r->n_overrides; i++)
                free(r->overrides[i].who);
        free(r->overrides);
        free(r->name);
        free(r->time_zone);
        free(r);
        return NULL;
}

#define PUSH(array, n, item)                                                    \
        ({                                                                      \
                typeof(array) _a = realloc(array, sizeof(*(array)) * ((n) + 1)); \
                int _r = -ENOMEM;                                               \
                if (_a) {                                                       \
                        (array) = _a;                                           \
                        (array)[(n)++] = (item);                                \
                        _r = 0;                                                 \
                }                                                               \
                _r;                                                             \
        })

static int parse_person(PlanLoader *l, PeopleDir *d, const char *file, const YNode *k, const YNode *v) {
        _cleanup_(person_freep) Person *p = calloc(1, sizeof(Person));
        const char *known[ELEMENTSOF(channels) + 2];
        int r = 0;

        if (!p)
                return -ENOMEM;
        p->name = strdup(k->value);
        p->contacts = calloc(1, sizeof(char *));
        if (!p->name || !p->contacts)
                return -ENOMEM;
        p->pos = pos_of(k);
        p->file = file;

        known[0] = "name";
        for (size_t i = 0; i < ELEMENTSOF(channels); i++)
                known[i + 1] = channels[i].channel;
        known[ELEMENTSOF(channels) + 1] = NULL;

        if (ynode_is_null(v))
                ; /* no details: allowed, warned about below */
        else if (v->type != YNODE_MAPPING)
                r = error_at(l, v, "person \"%s\": expected a mapping of name and contacts, got %s", p->name,
                             ynode_describe(v));
        else {
                char field[PEOPLE_NAME_MAX + 16];

                snprintf(field, sizeof(field), "person \"%s\"", p->name);
                r = loader_check_mapping(l, v, field);
                for (size_t i = 0; i < ynode_n_pairs(v); i++) {
                        const YNode *key = ynode_key(v, i), *val = ynode_value(v, i);
                        size_t ch;
                        int q = 0;

                        if (key->type != YNODE_SCALAR || map_get(v, key->value) != val)
                                continue; /* reported by loader_check_mapping() */
                        if (streq(key->value, "name")) {
                                snprintf(field, sizeof(field), "person \"%s\": name", p->name);
                                q = loader_parse_string(l, val, field, &p->display);
                                if (q >= 0 && has_control(p->display))
                                        q = error_at(l, val, "%s: contains control characters", field);
                        } else {
                                for (ch = 0; ch < ELEMENTSOF(channels); ch++)
                                        if (streq(channels[ch].channel, key->value))
                                                break;
                                if (ch < ELEMENTSOF(channels))
                                        q = parse_contact(l, p, key, val, ch);
                                else {
                                        snprintf(field, sizeof(field), "person \"%s\"", p->name);
                                        q = loader_unknown_key(l, key, field, known);
                                }
                        }
                        r = loader_merge(r, q);
                }
        }
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && !p->contacts[0]) {
                int q = warning_at(l, k, "person \"%s\" has no contact (email, phone, ...): salve can name them "
                                   "but not notify them", p->name);
                if (q < 0)
                        return q;
        }
        if (PUSH(d->people, d->n_people, p) < 0)
                return -ENOMEM;
        TAKE_PTR(p);
        return r;
}

static int parse_names(PlanLoader *l, const YNode *v, const char *field, char ***ret, SourcePos **ret_pos,
                       size_t *ret_n) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ SourcePos *pos = NULL;
        size_t n = 0;
        int r = 0;

        if (v->type != YNODE_SEQUENCE)
                return error_at(l, v, "%s: expected a list of names, got %s%s", field, ynode_describe(v),
                                v->type == YNODE_SCALAR && !ynode_is_null(v) ? " (write [name] for one)" : "");
        if (v->n_items == 0)
                return error_at(l, v, "%s: must not be empty", field);
        pos = calloc(v->n_items, sizeof(SourcePos));
        if (!pos)
                return -ENOMEM;
        for (size_t i = 0; i < v->n_items; i++) {
                const YNode *it = v->items[i];
                if (it->type != YNODE_SCALAR || ynode_is_null(it) || it->length == 0) {
                        r = loader_merge(r, error_at(l, it, "%s: item %zu: expected a name, got %s", field, i + 1,
                                                     ynode_describe(it)));
                        continue;
                }
                if (!name_is_valid(it->value)) {
                        r = loader_merge(r, error_at(l, it, "%s: \"%s\" is not a valid name", field, it->value));
                        continue;
                }
                if (strv_extend(&names, it->value) < 0)
                        return -ENOMEM;
                pos[n++] = pos_of(it);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(names);
        if (ret_pos)
                *ret_pos = TAKE_PTR(pos);
        if (ret_n)
                *ret_n = n;
        return 0;
}

static int parse_team(PlanLoader *l, PeopleDir *d, const char *file, const YNode *k, const YNode *v) {
        static const char *const known[] = { "members", "description", NULL };
        _cleanup_(team_freep) Team *t = calloc(1, sizeof(Team));
        char field[PEOPLE_NAME_MAX + 32];
        const YNode *members;
        int r;

        if (!t)
                return -ENOMEM;
        t->name = strdup(k->value);
        t->members = calloc(1, sizeof(char *));
        if (!t->name || !t->members)
                return -ENOMEM;
        t->pos = pos_of(k);
        t->file = file;

        snprintf(field, sizeof(field), "team \"%s\"", t->name);
        r = loader_check_mapping(l, v, field);
        if (v->type == YNODE_MAPPING) {
                for (size_t i = 0; i < ynode_n_pairs(v); i++) {
                        const YNode *key = ynode_key(v, i);
                        if (key->type == YNODE_SCALAR && !strv_contains((char **) known, key->value))
                                r = loader_merge(r, loader_unknown_key(l, key, field, known));
                }
                members = map_get(v, "members");
                if (!members)
                        r = loader_merge(r, error_at(l, k, "team \"%s\" needs \"members\"", t->name));
                else {
                        snprintf(field, sizeof(field), "team \"%s\": members", t->name);
                        strv_free(t->members);
                        t->members = NULL;
                        r = loader_merge(r, parse_names(l, members, field, &t->members, &t->members_pos, NULL));
                        if (!t->members && !(t->members = calloc(1, sizeof(char *))))
                                return -ENOMEM;
                }
                const YNode *desc = map_get(v, "description");
                if (desc && (desc->type != YNODE_SCALAR || ynode_is_null(desc)))
                        r = loader_merge(r, error_at(l, desc, "team \"%s\": description: expected a string, got %s",
                                                     t->name, ynode_describe(desc)));
        }
        if (r == -ENOMEM)
                return r;
        if (PUSH(d->teams, d->n_teams, t) < 0)
                return -ENOMEM;
        TAKE_PTR(t);
        return r;
}

/* ---- rotations ---- */

/* Turn lengths: what plans take (s, m, h, d; sums) and weeks ("1w", "2w 3d"). */
static int parse_turn(const char *s, usec_t *ret) {
        usec_t total = 0;
        bool any = false;

        for (const char *p = s;;) {
                char term[32];
                const char *b;
                uint64_t n = 0;
                usec_t u;
                size_t len;

                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                b = p;
                while (*p >= '0' && *p <= '9') {
                        if (n > UINT32_MAX)
                                return -ERANGE;
                        n = n * 10 + (uint64_t) (*p++ - '0');
                }
                if (p == b)
                        return -EINVAL;
                while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
                        p++;
                len = (size_t) (p - b);
                if (len >= sizeof(term))
                        return -EINVAL;
                memcpy(term, b, len);
                term[len] = 0;
                if (streq(term + strspn(term, "0123456789"), "w")) {
                        if (n > 10000)
                                return -ERANGE;
                        u = n * 7 * USEC_PER_DAY;
                } else {
                        int r = parse_duration(term, &u);
                        if (r < 0)
                                return r;
                }
                if (u > USEC_INFINITY / 4 - total)
                        return -ERANGE;
                total += u;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

static const char *const day_names[7][2] = {
        { "mon", "monday" }, { "tue", "tuesday" }, { "wed", "wednesday" }, { "thu", "thursday" },
        { "fri", "friday" }, { "sat", "saturday" }, { "sun", "sunday" },
};

static int day_index(const char *s, size_t len) {
        for (int i = 0; i < 7; i++)
                for (int j = 0; j < 2; j++)
                        if (strlen(day_names[i][j]) == len && strncasecmp(s, day_names[i][j], len) == 0)
                                return i;
        return -1;
}

/* "mon-fri", "sat,sun", "fri-mon" (wraps), "all". */
static int parse_days_one(const char *s, unsigned *days) {
        for (const char *p = s; *p;) {
                const char *e = p + strcspn(p, ",");
                const char *dash = memchr(p, '-', (size_t) (e - p));
                const char *a = p, *ae = dash ?: e;
                int x, y;

                while (a < ae && *a == ' ')
                        a++;
                while (ae > a && ae[-1] == ' ')
                        ae--;
                if ((size_t) (ae - a) == 3 && !dash && strncasecmp(a, "all", 3) == 0)
                        *days |= 0x7f;
                else {
                        x = day_index(a, (size_t) (ae - a));
                        if (x < 0)
                                return -EINVAL;
                        y = x;
                        if (dash) {
                                const char *b = dash + 1, *be = e;
                                while (b < be && *b == ' ')
                                        b++;
                                while (be > b && be[-1] == ' ')
                                        be--;
                                y = day_index(b, (size_t) (be - b));
                                if (y < 0)
                                        return -EINVAL;
                        }
                        for (int i = x;; i = (i + 1) % 7) {
                                *days |= 1U << i;
                                if (i == y)
                                        break;
                        }
                }
                p = *e ? e + 1 : e;
        }
        return 0;
}

static int parse_days(PlanLoader *l, const YNode *v, const char *field, unsigned *ret) {
        unsigned days = 0;
        size_t n = v->type == YNODE_SEQUENCE ? v->n_items : 1;

        if (v->type == YNODE_MAPPING || (v->type == YNODE_SCALAR && ynode_is_null(v)))
                return error_at(l, v, "%s: expected days such as mon-fri, sat,sun or all, got %s", field,
                                ynode_describe(v));
        for (size_t i = 0; i < n; i++) {
                const YNode *it = v->type == YNODE_SEQUENCE ? v->items[i] : v;
                if (it->type != YNODE_SCALAR || ynode_is_null(it) || it->length == 0 ||
                    parse_days_one(it->value, &days) < 0)
                        return error_at(l, it, "%s: \"%s\" is not a list of days (expected mon, tue, wed, thu, fri, "
                                        "sat, sun, ranges such as mon-fri, commas between, or all)", field,
                                        it->type == YNODE_SCALAR ? strempty(it->value) : ynode_describe(it));
        }
        if (days == 0)
                return error_at(l, v, "%s: no days given", field);
        *ret = days;
        return 0;
}

static int parse_clock(PlanLoader *l, const YNode *v, const char *field, bool allow_24, unsigned *ret) {
        if (v->type != YNODE_SCALAR || ynode_is_null(v) || parse_clock_time(v->value, allow_24, ret) < 0)
                return error_at(l, v, "%s: expected a time of day such as \"09:00\"%s, got %s%s%s", field,
                                allow_24 ? " (or \"24:00\")" : "", v->type == YNODE_SCALAR && !ynode_is_null(v) ? "\"" : "",
                                v->type == YNODE_SCALAR && !ynode_is_null(v) ? v->value : ynode_describe(v),
                                v->type == YNODE_SCALAR && !ynode_is_null(v) ? "\"" : "");
        return 0;
}

static int parse_when(PlanLoader *l, const YNode *v, const char *field, LocalTime *ret) {
        if (v->type != YNODE_SCALAR || ynode_is_null(v) || parse_local_time(v->value, ret) < 0)
                return error_at(l, v, "%s: expected a local date and time such as 2026-11-02 09:00, got %s%s%s", field,
                                v->type == YNODE_SCALAR && !ynode_is_null(v) ? "\"" : "",
                                v->type == YNODE_SCALAR && !ynode_is_null(v) ? v->value : ynode_describe(v),
                                v->type == YNODE_SCALAR && !ynode_is_null(v) ? "\"" : "");
        return 0;
}

static int check_known(PlanLoader *l, const YNode *map, const char *field, const char * const *known) {
        int r = loader_check_mapping(l, map, field);

        for (size_t i = 0; map->type == YNODE_MAPPING && i < ynode_n_pairs(map); i++) {
                const YNode *key = ynode_key(map, i);
                if (key->type == YNODE_SCALAR && !strv_contains((char **) known, key->value))
                        r = loader_merge(r, loader_unknown_key(l, key, field, known));
        }
        return r;
}

static int parse_window(PlanLoader *l, const YNode *v, const char *field, RotationWindow *w) {
        static const char *const known[] = { "days", "from", "to", NULL };
        const YNode *days, *from, *to;
        char f[256];
        int r;

        r = check_known(l, v, field, known);
        if (v->type != YNODE_MAPPING)
                return r;
        *w = (RotationWindow) { .days = 0x7f };
        days = map_get(v, "days");
        from = map_get(v, "from");
        to = map_get(v, "to");
        if (days) {
                snprintf(f, sizeof(f), "%s: days", field);
                r = loader_merge(r, parse_days(l, days, f, &w->days));
        }
        if (!from || !to)
                r = loader_merge(r, error_at(l, v, "%s needs \"from\" and \"to\" (times of day)", field));
        if (from) {
                snprintf(f, sizeof(f), "%s: from", field);
                r = loader_merge(r, parse_clock(l, from, f, false, &w->from));
        }
        if (to) {
                snprintf(f, sizeof(f), "%s: to", field);
                r = loader_merge(r, parse_clock(l, to, f, true, &w->to));
        }
        if (r >= 0 && w->from == w->to)
                r = error_at(l, to, "%s: from and to are the same time (for a whole day write from \"00:00\" to "
                             "\"24:00\")", field);
        return r;
}

static int parse_layer(PlanLoader *l, Rotation *rot, const YNode *v, size_t idx) {
        static const char *const known[] = { "name", "start", "turn", "members", "windows", NULL };
        RotationLayer *layer = rot->layers + idx;
        char field[PEOPLE_NAME_MAX * 2 + 64], f[sizeof(field) + 32];
        const YNode *n;
        int r;

        *layer = (RotationLayer) { .pos = pos_of(v) };
        n = map_get(v, "name");
        if (n && n->type == YNODE_SCALAR && !ynode_is_null(n) && n->length > 0 && n->length <= PEOPLE_NAME_MAX &&
            !has_control(n->value))
                layer->name = strdup(n->value);
        else {
                if (asprintf(&layer->name, "layer %zu", idx + 1) < 0)
                        layer->name = NULL;
        }
        if (!layer->name)
                return -ENOMEM;
        snprintf(field, sizeof(field), "rotation \"%s\": layer \"%s\"", rot->name, layer->name);
        r = check_known(l, v, field, known);
        if (v->type != YNODE_MAPPING)
                return r;
        if (n && layer->name && !(n->type == YNODE_SCALAR && streq_ptr(n->value, layer->name)))
                r = loader_merge(r, error_at(l, n, "%s: name: expected a name of 1 to %d characters, got %s", field,
                                             PEOPLE_NAME_MAX, ynode_describe(n)));
        for (size_t i = 0; i < idx; i++)
                if (streq(rot->layers[i].name, layer->name))
                        r = loader_merge(r, error_at(l, n ?: v, "rotation \"%s\": two layers are named \"%s\" "
                                                     "(the first at line %u)", rot->name, layer->name,
                                                     rot->layers[i].pos.line));

        n = map_get(v, "start");
        if (!n)
                r = loader_merge(r, error_at(l, v, "%s needs \"start\" (the first hand-off, a local date and time)",
                                             field));
        else {
                snprintf(f, sizeof(f), "%s: start", field);
                r = loader_merge(r, parse_when(l, n, f, &layer->start));
        }

        n = map_get(v, "turn");
        if (!n)
                r = loader_merge(r, error_at(l, v, "%s needs \"turn\" (how long each member is on call, e.g. 1w)",
                                             field));
        else if (n->type != YNODE_SCALAR || ynode_is_null(n) || parse_turn(n->value, &layer->turn) < 0)
                r = loader_merge(r, error_at(l, n, "%s: turn: expected a duration such as 12h, 1d or 1w, got %s%s%s",
                                             field, n->type == YNODE_SCALAR && !ynode_is_null(n) ? "\"" : "",
                                             n->type == YNODE_SCALAR && !ynode_is_null(n) ? n->value : ynode_describe(n),
                                             n->type == YNODE_SCALAR && !ynode_is_null(n) ? "\"" : ""));
        else if (layer->turn < USEC_PER_MINUTE || layer->turn > 366 * USEC_PER_DAY)
                r = loader_merge(r, error_at(l, n, "%s: turn: must be from 1m to 366d, got \"%s\"", field, n->value));
        else if (layer->turn % USEC_PER_DAY == 0)
                layer->turn_days = (unsigned) (layer->turn / USEC_PER_DAY);

        n = map_get(v, "members");
        if (!n)
                r = loader_merge(r, error_at(l, v, "%s needs \"members\" (people, in turn order)", field));
        else {
                snprintf(f, sizeof(f), "%s: members", field);
                r = loader_merge(r, parse_names(l, n, f, &layer->members, &layer->members_pos, &layer->n_members));
                if (layer->n_members > ROTATION_MEMBERS_MAX)
                        r = loader_merge(r, error_at(l, n, "%s: at most %d, got %zu", f, ROTATION_MEMBERS_MAX,
                                                     layer->n_members));
                layer->people = calloc(MAX(layer->n_members, 1U), sizeof(Person *));
                if (!layer->people)
                        return -ENOMEM;
        }

        n = map_get(v, "windows");
        if (n && n->type != YNODE_SEQUENCE)
                r = loader_merge(r, error_at(l, n, "%s: windows: expected a list, got %s", field, ynode_describe(n)));
        else if (n && n->n_items == 0)
                r = loader_merge(r, error_at(l, n, "%s: windows: must not be empty (leave it out for always)", field));
        else if (n && n->n_items > ROTATION_WINDOWS_MAX)
                r = loader_merge(r, error_at(l, n, "%s: windows: at most %d, got %zu", field, ROTATION_WINDOWS_MAX,
                                             n->n_items));
        else if (n) {
                layer->windows = calloc(n->n_items, sizeof(RotationWindow));
                if (!layer->windows)
                        return -ENOMEM;
                for (size_t i = 0; i < n->n_items; i++) {
                        snprintf(f, sizeof(f), "%s: window %zu", field, i + 1);
                        int q = parse_window(l, n->items[i], f, layer->windows + layer->n_windows);
                        if (q >= 0)
                                layer->n_windows++;
                        r = loader_merge(r, q);
                }
        }
        return r;
}

static int parse_override(PlanLoader *l, Rotation *rot, const YNode *v, size_t idx) {
        static const char *const known[] = { "from", "to", "who", NULL };
        RotationOverride *o = rot->overrides + idx;
        char field[PEOPLE_NAME_MAX + 64], f[sizeof(field) + 16];
        const YNode *from, *to, *who;
        int r;

        *o = (RotationOverride) { .pos = pos_of(v) };
        snprintf(field, sizeof(field), "rotation \"%s\": override %zu", rot->name, idx + 1);
        r = check_known(l, v, field, known);
        if (v->type != YNODE_MAPPING)
                return r;
        from = map_get(v, "from");
        to = map_get(v, "to");
        who = map_get(v, "who");
        if (!from || !to || !who)
                return loader_merge(r, error_at(l, v, "%s needs \"from\", \"to\" and \"who\"", field));
        snprintf(f, sizeof(f), "%s: from", field);
        r = loader_merge(r, parse_when(l, from, f, &o->from));
        snprintf(f, sizeof(f), "%s: to", field);
        int q = parse_when(l, to, f, &o->to);
        r = loader_merge(r, q);
        if (r >= 0) {
                /* Ordered as local times: "to" after "from" on the wall clock. */
                const LocalTime *a = &o->from, *b = &o->to;
                int c = a->year != b->year ? a->year - b->year : a->month != b->month ? a->month - b->month :
                        a->day != b->day ? a->day - b->day : a->hour != b->hour ? a->hour - b->hour :
                        a->minute != b->minute ? a->minute - b->minute : a->second - b->second;
                if (c >= 0)
                        r = error_at(l, to, "%s: to must be after from", field);
        }
        if (who->type != YNODE_SCALAR || ynode_is_null(who) || who->length == 0)
                r = loader_merge(r, error_at(l, who, "%s: who: expected a person's name, got %s", field,
                                             ynode_describe(who)));
        else if (!name_is_valid(who->value))
                r = loader_merge(r, error_at(l, who, "%s: who: \"%s\" is not a valid name", field, who->value));
        else if (!(o->who = strdup(who->value)))
                return -ENOMEM;
        else
                o->pos = pos_of(who);
        return r;
}

static int parse_rotation(PlanLoader *l, PeopleDir *d, const char *file, const YNode *k, const YNode *v) {
        static const char *const known[] = { "time-zone", "layers", "overrides", "description", NULL };
        _cleanup_(rotation_freep) Rotation *rot = calloc(1, sizeof(Rotation));
        char field[PEOPLE_NAME_MAX + 32];
        const YNode *n;
        int r;

        if (!rot)
                return -ENOMEM;
        rot->name = strdup(k->value);
        if (!rot->name)
                return -ENOMEM;
        rot->pos = pos_of(k);
        rot->file = file;

        snprintf(field, sizeof(field), "rotation \"%s\"", rot->name);
        r = check_known(l, v, field, known);
        if (v->type != YNODE_MAPPING)
                goto add;

        n = map_get(v, "time-zone");
        if (n) {
                if (n->type != YNODE_SCALAR || ynode_is_null(n) || n->length == 0)
                        r = loader_merge(r, error_at(l, n, "%s: time-zone: expected a zone name such as Europe/Berlin, "
                                                     "got %s", field, ynode_describe(n)));
                else if (!time_zone_is_valid(n->value))
                        r = loader_merge(r, error_at(l, n, "%s: time-zone: \"%s\" is not a time zone in "
                                                     "/usr/share/zoneinfo (expected e.g. Europe/Berlin or UTC)", field,
                                                     n->value));
                else if (!(rot->time_zone = strdup(n->value)))
                        return -ENOMEM;
        }
        n = map_get(v, "description");
        if (n && (n->type != YNODE_SCALAR || ynode_is_null(n)))
                r = loader_merge(r, error_at(l, n, "%s: description: expected a string, got %s", field,
                                             ynode_describe(n)));

        n = map_get(v, "layers");
        if (!n)
                r = loader_merge(r, error_at(l, k, "%s needs \"layers\" (at least one)", field));
        else if (n->type != YNODE_SEQUENCE || n->n_items == 0)
                r = loader_merge(r, error_at(l, n, "%s: layers: expected a list of at least one layer, got %s", field,
                                             n->type == YNODE_SEQUENCE ? "an empty list" : ynode_describe(n)));
        else if (n->n_items > ROTATION_LAYERS_MAX)
                r = loader_merge(r, error_at(l, n, "%s: layers: at most %d, got %zu", field, ROTATION_LAYERS_MAX,
                                             n->n_items));
        else {
                rot->layers = calloc(n->n_items, sizeof(RotationLayer));
                if (!rot->layers)
                        return -ENOMEM;
                for (size_t i = 0; i < n->n_items; i++) {
                        int q = parse_layer(l, rot, n->items[i], i);
                        rot->n_layers = i + 1;
                        if (q == -ENOMEM)
                                return q;
                        r = loader_merge(r, q);
                }
        }

        n = map_get(v, "overrides");
        if (n && n->type != YNODE_SEQUENCE)
                r = loader_merge(r, error_at(l, n, "%s: overrides: expected a list, got %s", field, ynode_describe(n)));
        else if (n && n->n_items > ROTATION_OVERRIDES_MAX)
                r = loader_merge(r, error_at(l, n, "%s: overrides: at most %d (remove those in the past), got %zu", field,
                                             ROTATION_OVERRIDES_MAX, n->n_items));
        else if (n && n->n_items > 0) {
                rot->overrides = calloc(n->n_items, sizeof(RotationOverride));
                if (!rot->overrides)
                        return -ENOMEM;
                for (size_t i = 0; i < n->n_items; i++) {
                        int q = parse_override(l, rot, n->items[i], i);
                        rot->n_overrides = i + 1;
                        if (q == -ENOMEM)
                                return q;
                        r = loader_merge(r, q);
                }
        }
add:
        if (r == -ENOMEM)
                return r;
        if (PUSH(d->rotations, d->n_rotations, rot) < 0)
                return -ENOMEM;
        TAKE_PTR(rot);
        return r;
}

/* ---- one file ---- */

static int parse_section(PlanLoader *l, PeopleDir *d, const char *file, const YNode *sec, const char *what,
                         int (*parse)(PlanLoader *, PeopleDir *, const char *, const YNode *, const YNode *)) {
        int r;

        if (ynode_is_null(sec))
                return 0;
        r = loader_check_mapping(l, sec, what);
        if (sec->type != YNODE_MAPPING)
                return r;
        for (size_t i = 0; i < ynode_n_pairs(sec); i++) {
                const YNode *k = ynode_key(sec, i), *v = ynode_value(sec, i);
                int q;

                if (k->type != YNODE_SCALAR || map_get(sec, k->value) != v)
                        continue; /* reported */
                q = check_name(l, k, what[0] == 'p' ? "person" : what[0] == 't' ? "team" : "rotation");
                if (q >= 0)
                        q = parse(l, d, file, k, v);
                if (q == -ENOMEM)
                        return q;
                r = loader_merge(r, q);
        }
        return r;
}

static int load_buffer(PeopleDir *d, const char *file, const char *buf, size_t len, Diagnostics *diag) {
        static const char *const known[] = { "people", "teams", "rotations", NULL };
        _cleanup_(ydocument_freep) YDocument *doc = NULL;
        PlanLoader l = { .file = file, .diag = diag };
        const YNode *root;
        ssize_t bad;
        bool nul;
        int r;

        if (len > PEOPLE_FILE_MAX)
                return diag_add(diag, DIAG_ERROR, file, 1, 1, "file too large (%zu bytes, at most %u)", len,
                                PEOPLE_FILE_MAX) < 0 ? -ENOMEM : -EINVAL;
        bad = utf8_first_invalid(buf, len, &nul);
        if (bad >= 0) {
                unsigned line, column;
                offset_to_line_column(buf, (size_t) bad, &line, &column);
                return diag_add(diag, DIAG_ERROR, file, line, column, "%s at byte %zd",
                                nul ? "NUL byte" : "invalid UTF-8", bad) < 0 ? -ENOMEM : -EINVAL;
        }
        r = ydocument_parse(file, buf, len, diag, &doc);
        if (r < 0)
                return r;
        root = doc->root;
        if (!root || ynode_is_null(root))
                return 0; /* nothing in it (all commented out): fine */
        if (root->type != YNODE_MAPPING)
                return error_at(&l, root, "expected a mapping with people, teams and rotations, got %s",
                                ynode_describe(root));
        r = check_known(&l, root, "people.d file", known);
        if (map_get(root, "people"))
                r = loader_merge(r, parse_section(&l, d, file, map_get(root, "people"), "people", parse_person));
        if (map_get(root, "teams"))
                r = loader_merge(r, parse_section(&l, d, file, map_get(root, "teams"), "teams", parse_team));
        if (map_get(root, "rotations"))
                r = loader_merge(r, parse_section(&l, d, file, map_get(root, "rotations"), "rotations",
                                                  parse_rotation));
        return r;
}

/* ---- the directory as a whole ---- */

typedef struct NameRef {
        const char *name, *kind, *file;
        SourcePos pos;
        size_t order;
} NameRef;

static int nameref_compare(const void *a, const void *b) {
        const NameRef *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        return c != 0 ? c : x->order < y->order ? -1 : x->order > y->order;
}

static int file_index(const PeopleDir *d, const char *file) {
        for (size_t i = 0; i < d->n_files; i++)
                if (d->files[i] == file)
                        return (int) i;
        return 0;
}

static int check_namespace(PeopleDir *d, Diagnostics *diag, const char ***ret_names) {
        size_t n = d->n_people + d->n_teams + d->n_rotations, k = 0;
        _cleanup_free_ NameRef *refs = calloc(MAX(n, 1U), sizeof(NameRef));
        _cleanup_free_ const char **names = calloc(n + 1, sizeof(char *));
        int r = 0;

        if (!refs || !names)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_people; i++)
                refs[k++] = (NameRef) { d->people[i]->name, "person", d->people[i]->file, d->people[i]->pos };
        for (size_t i = 0; i < d->n_teams; i++)
                refs[k++] = (NameRef) { d->teams[i]->name, "team", d->teams[i]->file, d->teams[i]->pos };
        for (size_t i = 0; i < d->n_rotations; i++)
                refs[k++] = (NameRef) { d->rotations[i]->name, "rotation", d->rotations[i]->file, d->rotations[i]->pos };
        for (size_t i = 0; i < n; i++)
                refs[i].order = (size_t) file_index(d, refs[i].file) << 40 | (size_t) refs[i].pos.line << 16 |
                                refs[i].pos.column;
        if (n > 0)
                qsort(refs, n, sizeof(NameRef), nameref_compare);
        for (size_t i = 0, j = 0; i < n; i++) {
                if (i > 0 && streq(refs[i].name, refs[j].name)) {
                        if (diag_add(diag, DIAG_ERROR, refs[i].file, refs[i].pos.line, refs[i].pos.column,
                                     "%s \"%s\": the name is already taken by a %s at %s:%u:%u (people, teams and "
                                     "rotations share one namespace)", refs[i].kind, refs[i].name, refs[j].kind,
                                     refs[j].file, refs[j].pos.line, refs[j].pos.column) < 0)
                                return -ENOMEM;
                        r = -EINVAL;
                        continue;
                }
                j = i;
        }
        for (size_t i = 0; i < n; i++)
                names[i] = refs[i].name;
        *ret_names = TAKE_PTR(names);
        return r;
}

static int report_unknown(Diagnostics *diag, const char *file, SourcePos pos, const char *where, const char *label,
                          const char *name, const char *expected, const char * const *names) {
        const char *hint = string_closest(name, names);

        if (diag_add(diag, DIAG_ERROR, file, pos.line, pos.column, "%s: %s\"%s\" is not %s%s%s%s", where, label, name,
                     expected, hint ? " (did you mean \"" : "", strempty(hint), hint ? "\"?)" : "") < 0)
                return -ENOMEM;
        return -EINVAL;
}

static int check_people_refs(PeopleDir *d, Diagnostics *diag, const char * const *names) {
        int r = 0, q;

        for (size_t i = 0; i < d->n_teams; i++) {
                const Team *t = d->teams[i];
                char where[PEOPLE_NAME_MAX + 16];

                snprintf(where, sizeof(where), "team \"%s\"", t->name);
                for (size_t m = 0; t->members[m]; m++)
                        if (!people_dir_has(d, t->members[m])) {
                                q = report_unknown(diag, t->file, t->members_pos[m], where, "member ", t->members[m],
                                                   "a person, team or rotation", names);
                                r = loader_merge(r, q);
                        }
        }
        for (size_t i = 0; i < d->n_rotations; i++) {
                Rotation *rot = d->rotations[i];
                char where[PEOPLE_NAME_MAX * 2 + 64];

                for (size_t li = 0; li < rot->n_layers; li++) {
                        RotationLayer *l = rot->layers + li;
                        snprintf(where, sizeof(where), "rotation \"%s\": layer \"%s\"", rot->name, l->name);
                        for (size_t m = 0; m < l->n_members; m++) {
                                l->people[m] = people_dir_find_person(d, l->members[m]);
                                if (l->people[m])
                                        continue;
                                if (people_dir_has(d, l->members[m])) {
                                        q = diag_add(diag, DIAG_ERROR, rot->file, l->members_pos[m].line,
                                                     l->members_pos[m].column,
                                                     "%s: member \"%s\" is a %s; layers take people only", where,
                                                     l->members[m], people_dir_find_team(d, l->members[m]) ? "team"
                                                                                                        : "rotation");
                                        r = loader_merge(r, q < 0 ? -ENOMEM : -EINVAL);
                                } else
                                        r = loader_merge(r, report_unknown(diag, rot->file, l->members_pos[m], where,
                                                                           "member ", l->members[m], "a person",
                                                                           names));
                        }
                }
                for (size_t oi = 0; oi < rot->n_overrides; oi++) {
                        RotationOverride *o = rot->overrides + oi;
                        if (!o->who)
                                continue;
                        snprintf(where, sizeof(where), "rotation \"%s\": override %zu", rot->name, oi + 1);
                        o->person = people_dir_find_person(d, o->who);
                        if (o->person)
                                continue;
                        if (people_dir_has(d, o->who)) {
                                q = diag_add(diag, DIAG_ERROR, rot->file, o->pos.line, o->pos.column,
                                             "%s: who: \"%s\" is a %s; an override names one person", where, o->who,
                                             people_dir_find_team(d, o->who) ? "team" : "rotation");
                                r = loader_merge(r, q < 0 ? -ENOMEM : -EINVAL);
                        } else
                                r = loader_merge(r, report_unknown(diag, rot->file, o->pos, where, "who: ", o->who,
                                                                   "a person", names));
                }
        }
        return r;
}

/* Teams that contain themselves, through any chain of teams (rotations
 * hold people only, so no cycle passes through one). Each cycle is
 * reported once, at the member that closes it. */
static int team_dfs(PeopleDir *d, size_t t, uint8_t *color, size_t *stack, size_t depth, Diagnostics *diag) {
        const Team *team = d->teams[t];
        int r = 0;

        color[t] = 1;
        stack[depth] = t;
        for (size_t m = 0; team->members[m]; m++) {
                const Team *sub = people_dir_find_team(d, team->members[m]);
                size_t s;

                if (!sub)
                        continue;
                for (s = 0; s < d->n_teams && d->teams[s] != sub; s++)
                        ;
                if (color[s] == 1) {
                        _cleanup_free_ char *path = NULL;
                        size_t from = 0;
                        for (size_t i = 0; i <= depth; i++)
                                if (stack[i] == s)
                                        from = i;
                        for (size_t i = from; i <= depth; i++) {
                                char *n;
                                if (asprintf(&n, "%s%s -> ", strempty(path), d->teams[stack[i]]->name) < 0)
                                        return -ENOMEM;
                                free(path);
                                path = n;
                        }
                        if (diag_add(diag, DIAG_ERROR, team->file, team->members_pos[m].line,
                                     team->members_pos[m].column, "team \"%s\": member cycle (each team is a member "
                                     "of the one before): %s%s", team->name, strempty(path), sub->name) < 0)
                                return -ENOMEM;
                        r = -EINVAL;
                } else if (color[s] == 0)
                        r = loader_merge(r, team_dfs(d, s, color, stack, depth + 1, diag));
        }
        color[t] = 2;
        return r;
}

static int check_team_cycles(PeopleDir *d, Diagnostics *diag) {
        _cleanup_free_ uint8_t *color = calloc(MAX(d->n_teams, 1U), 1);
        _cleanup_free_ size_t *stack = calloc(MAX(d->n_teams, 1U), sizeof(size_t));
        int r = 0;

        if (!color || !stack)
                return -ENOMEM;
        for (size_t t = 0; t < d->n_teams; t++)
                if (color[t] == 0)
                        r = loader_merge(r, team_dfs(d, t, color, stack, 0, diag));
        return r;
}

static int check_dir(PeopleDir *d, Diagnostics *diag) {
        _cleanup_free_ const char **names = NULL;
        int r, q;

        people_dir_sort(d);
        r = check_namespace(d, diag, &names);
        if (r == -ENOMEM)
                return r;
        q = check_people_refs(d, diag, names);
        if (q == -ENOMEM)
                return q;
        r = loader_merge(r, q);
        /* Cycles through unknown names do not exist; through duplicate
         * names they might be spurious, so only on a clean namespace. */
        if (r >= 0)
                r = check_team_cycles(d, diag);
        return r;
}

/* ---- files and directories ---- */

static int dir_add_file(PeopleDir *d, const char *path, const char **ret) {
        char *p = strdup(path);

        if (!p || PUSH(d->files, d->n_files, p) < 0) {
                free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

static int check_secure(const char *path, int fd, Diagnostics *diag) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        /* Whoever can write this file decides who is paged and who may
         * approve: only root. */
        if (st.st_uid != 0)
                return diag_add(diag, DIAG_ERROR, path, 0, 0, "refusing to load: owned by uid %u, not root (it decides "
                                "who salve notifies)", (unsigned) st.st_uid) < 0 ? -ENOMEM : -EPERM;
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return diag_add(diag, DIAG_ERROR, path, 0, 0, "refusing to load: writable by %s (mode %04o); it "
                                "decides who salve notifies", st.st_mode & S_IWOTH ? "everyone" : "its group",
                                (unsigned) (st.st_mode & 07777)) < 0 ? -ENOMEM : -EPERM;
        /* The directories on the way, as for plans. */
        return plan_check_file_secure(path, fd, diag);
}

static int load_file(PeopleDir *d, const char *path, bool secure, Diagnostics *diag) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        const char *file;
        struct stat st;
        size_t n = 0;
        int r;

        r = dir_add_file(d, path, &file);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = negative_errno();
                return diag_add(diag, DIAG_ERROR, path, 0, 0, "cannot open: %s", strerror(-r)) < 0 ? -ENOMEM : r;
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return diag_add(diag, DIAG_ERROR, path, 0, 0, "refusing to load: not a regular file") < 0 ? -ENOMEM
                                                                                                       : -EINVAL;
        if (secure) {
                r = check_secure(path, fd, diag);
                if (r < 0)
                        return r;
        }
        if (st.st_size > PEOPLE_FILE_MAX)
                return diag_add(diag, DIAG_ERROR, path, 1, 1, "file too large (%jd bytes, at most %u)",
                                (intmax_t) st.st_size, PEOPLE_FILE_MAX) < 0 ? -ENOMEM : -EINVAL;
        buf = malloc(PEOPLE_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, PEOPLE_FILE_MAX + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        return diag_add(diag, DIAG_ERROR, path, 0, 0, "cannot read: %s", strerror(-r)) < 0 ? -ENOMEM : r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > PEOPLE_FILE_MAX)
                        return diag_add(diag, DIAG_ERROR, path, 1, 1, "file too large (more than %u bytes)",
                                        PEOPLE_FILE_MAX) < 0 ? -ENOMEM : -EINVAL;
        }
        buf[n] = 0;
        return load_buffer(d, file, buf, n, diag);
}

static bool path_is_mask(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return false;
        return (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) || (S_ISREG(st.st_mode) && st.st_size == 0);
}

typedef struct Entry {
        char *name, *path;
        size_t rank;
} Entry;

static int entry_compare(const void *a, const void *b) {
        const Entry *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        return c != 0 ? c : x->rank < y->rank ? -1 : x->rank > y->rank;
}

static void entries_free(Entry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].name);
                free(e[i].path);
        }
        free(e);
}

static int load_dirs(PeopleDir *d, const char * const *dirs, bool secure, Diagnostics *diag) {
        Entry *e = NULL;
        size_t n = 0;
        int r = 0;

        for (size_t rank = 0; dirs[rank]; rank++) {
                _cleanup_(closedirp) DIR *dh = opendir(dirs[rank]);
                struct dirent *de;

                if (!dh) {
                        if (errno != ENOENT && diag_add(diag, DIAG_WARNING, dirs[rank], 0, 0,
                                                        "cannot read directory: %m, ignoring") < 0)
                                r = -ENOMEM;
                        continue;
                }
                while (r >= 0 && (de = readdir(dh))) {
                        Entry x = { .rank = rank };
                        if (de->d_name[0] == '.' || !string_has_suffix(de->d_name, ".yaml"))
                                continue;
                        x.name = strdup(de->d_name);
                        if (!x.name || asprintf(&x.path, "%s%s%s", dirs[rank],
                                                string_has_suffix(dirs[rank], "/") ? "" : "/", de->d_name) < 0 ||
                            PUSH(e, n, x) < 0) {
                                free(x.name);
                                r = -ENOMEM;
                        }
                }
        }
        if (r >= 0 && n > 0)
                qsort(e, n, sizeof(Entry), entry_compare);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const char *file;
                int q;

                if (i > 0 && streq(e[i - 1].name, e[i].name))
                        continue; /* overridden by a directory of higher precedence */
                if (path_is_mask(e[i].path)) {
                        r = dir_add_file(d, e[i].path, &file);
                        continue;
                }
                q = load_file(d, e[i].path, secure, diag);
                if (q == -ENOMEM)
                        r = q;
        }
        entries_free(e, n);
        return r;
}

static int finish(PeopleDir **dp, Diagnostics *diag, size_t errors_before, PeopleDir **ret) {
        int r = check_dir(*dp, diag);

        if (r == -ENOMEM)
                return r;
        if (diag->n_errors > errors_before)
                return -EINVAL;
        *ret = TAKE_PTR(*dp);
        return 0;
}

static int with_diag(Diagnostics *d, Diagnostics *local, Diagnostics **ret) {
        *ret = d ?: local;
        return 0;
}

static int load_layered(const char * const *dirs, bool secure, PeopleDir **ret, Diagnostics *d) {
        _cleanup_(people_dir_freep) PeopleDir *dir = calloc(1, sizeof(PeopleDir));
        Diagnostics local = {}, *diag;
        size_t before;
        int r;

        if (!dir)
                return -ENOMEM;
        (void) with_diag(d, &local, &diag);
        before = diag->n_errors;
        r = load_dirs(dir, dirs, secure, diag);
        if (r >= 0)
                r = finish(&dir, diag, before, ret);
        diagnostics_done(&local);
        return r;
}

int people_dir_load(char **dirs, PeopleDir **ret, Diagnostics *d) {
        return load_layered(dirs ? (const char * const *) dirs : people_dir_default_dirs, !dirs, ret, d);
}

int people_dir_load_secure(const char * const *dirs, PeopleDir **ret, Diagnostics *d) {
        return load_layered(dirs, true, ret, d);
}

int people_dir_load_paths(char **paths, PeopleDir **ret, Diagnostics *d) {
        _cleanup_(people_dir_freep) PeopleDir *dir = calloc(1, sizeof(PeopleDir));
        Diagnostics local = {}, *diag;
        size_t before;
        int r = 0;

        if (!dir)
                return -ENOMEM;
        (void) with_diag(d, &local, &diag);
        before = diag->n_errors;
        STRV_FOREACH(path, paths) {
                struct stat st;

                if (stat(*path, &st) < 0) {
                        if (diag_add(diag, DIAG_ERROR, *path, 0, 0, "%m") < 0)
                                r = -ENOMEM;
                } else if (S_ISDIR(st.st_mode)) {
                        const char *dirs[] = { *path, NULL };
                        r = load_dirs(dir, dirs, false, diag);
                } else if (load_file(dir, *path, false, diag) == -ENOMEM)
                        r = -ENOMEM;
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = finish(&dir, diag, before, ret);
        diagnostics_done(&local);
        return r;
}

int people_dir_load_buffer(const char *file, const char *buf, size_t len, PeopleDir **ret, Diagnostics *d) {
        _cleanup_(people_dir_freep) PeopleDir *dir = calloc(1, sizeof(PeopleDir));
        Diagnostics local = {}, *diag;
        const char *f;
        size_t before;
        int r;

        if (!dir)
                return -ENOMEM;
        (void) with_diag(d, &local, &diag);
        before = diag->n_errors;
        r = dir_add_file(dir, file, &f);
        if (r >= 0)
                r = load_buffer(dir, f, buf, len, diag);
        if (r != -ENOMEM)
                r = finish(&dir, diag, before, ret);
        diagnostics_done(&local);
        return r;
}
