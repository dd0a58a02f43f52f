/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One people.d file, checked on its own: YAML -> the people, teams and
 * rotations it defines, added to a PeopleDir, with every problem in its
 * keys and values reported at its file:line:column. What involves other
 * files (one namespace, members that exist, cycles) is people-load.c's.
 * Entries are added even when they have errors, so that names used
 * elsewhere do not cascade into more errors; the directory with any error
 * is never handed out. */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "people-internal.h"
#include "plan-fields.h"
#include "string-util.h"
#include "yaml-tree.h"

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

int people_parse_buffer(PeopleDir *d, const char *file, const char *buf, size_t len, Diagnostics *diag) {
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
