/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salvectl's people verbs: `oncall NAME [--at TIME]` (who a rotation,
 * team or person means at an instant, with contacts, since/until and who
 * is next), `people` (every person, team and rotation, one a line: what
 * shell completion offers), and the people half of `verify`. All read
 * people.d directly, as verify reads plans: no daemon, so a file can be
 * checked before it is installed, and on a laptop. */

#include <json-c/json.h>
#include <time.h>

#include "ctl.h"
#include "people.h"
#include "string-util.h"

#include "config.h"

int ctl_people_load(Ctl *c, Diagnostics *d, struct PeopleDir **ret) {
        return people_dir_load(c->people_dirs, ret, d);
}

/* ---- --at ---- */

int ctl_parse_at(const char *s, usec_t now, usec_t *ret) {
        return parse_instant(s, now, ret);
}

/* ---- output ---- */

/* "Thu 2026-12-24 10:00 +0100" in time zone tz (NULL: local). */
static const char *format_in(char buf[static 64], const char *tz, usec_t u) {
        static const char *const wd[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
        LocalTime t;
        long off;
        int w;

        if (u == USEC_INFINITY)
                return "-";
        if (usec_to_local_time(tz, u, &t, &w, &off) < 0)
                return "?";
        snprintf(buf, 64, "%s %04d-%02d-%02d %02d:%02d %c%02ld%02ld", wd[w], t.year, t.month, t.day, t.hour, t.minute,
                 off < 0 ? '-' : '+', labs(off) / 3600, labs(off) % 3600 / 60);
        return buf;
}

static void print_person(const Ctl *c, const Person *p, const char *prefix) {
        printf("%s%s%s%s", prefix, ansi(c, ANSI_BOLD), p->display ?: p->name, ansi(c, ANSI_RESET));
        if (p->display)
                printf(" (%s)", p->name);
        printf("\n");
        STRV_FOREACH(x, p->contacts) {
                const char *eq = strchr(*x, '=');
                printf("%s  %-10.*s %s\n", prefix, (int) (eq - *x), *x, eq + 1);
        }
        if (!p->contacts[0])
                printf("%s  %sno contact: salve cannot notify them%s\n", prefix, ansi(c, ANSI_YELLOW),
                       ansi(c, ANSI_RESET));
}

static json_object *person_json(const Person *p) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();

        json_object_object_add(o, "name", json_object_new_string(p->name));
        json_object_object_add(o, "display", p->display ? json_object_new_string(p->display) : NULL);
        STRV_FOREACH(x, p->contacts) {
                const char *eq = strchr(*x, '=');
                json_object *ct = json_object_new_object();
                json_object_object_add(ct, "channel", json_object_new_string_len(*x, (int) (eq - *x)));
                json_object_object_add(ct, "address", json_object_new_string(eq + 1));
                json_object_array_add(a, ct);
        }
        json_object_object_add(o, "contacts", a);
        return o;
}

static json_object *usec_json(usec_t u) {
        return u == USEC_INFINITY ? NULL : json_object_new_int64((int64_t) MIN(u, (usec_t) INT64_MAX));
}

static const char *source_label(char buf[static 64], const Rotation *r, OnCallSource s, size_t i) {
        if (s == ONCALL_LAYER)
                snprintf(buf, 64, "layer \"%s\"", r->layers[i].name);
        else if (s == ONCALL_OVERRIDE)
                snprintf(buf, 64, "override %zu", i + 1);
        else
                snprintf(buf, 64, "nobody");
        return buf;
}

static int show_rotation(const Ctl *c, const Rotation *r, usec_t at) {
        char b1[64], b2[64], b3[64];
        OnCall o;
        int k;

        k = rotation_oncall(r, at, &o);
        if (k < 0) {
                fprintf(stderr, "salvectl: %s: %s\n", r->name, strerror(-k));
                return EXIT_FAILURE;
        }
        if (c->json) {
                json_object *j = json_object_new_object(), *next = NULL;

                json_object_object_add(j, "name", json_object_new_string(r->name));
                json_object_object_add(j, "kind", json_object_new_string("rotation"));
                json_object_object_add(j, "time_zone", r->time_zone ? json_object_new_string(r->time_zone) : NULL);
                json_object_object_add(j, "at_usec", usec_json(at));
                json_object_object_add(j, "person", o.person ? person_json(o.person) : NULL);
                json_object_object_add(j, "source", json_object_new_string(oncall_source_to_string(o.source)));
                json_object_object_add(j, "layer", o.layer ? json_object_new_string(o.layer) : NULL);
                json_object_object_add(j, "override", o.source == ONCALL_OVERRIDE
                                       ? json_object_new_int((int) o.index + 1) : NULL);
                json_object_object_add(j, "since_usec", o.since > 0 ? usec_json(o.since) : NULL);
                json_object_object_add(j, "until_usec", usec_json(o.until));
                if (o.next) {
                        next = json_object_new_object();
                        json_object_object_add(next, "person", person_json(o.next));
                        json_object_object_add(next, "source",
                                               json_object_new_string(oncall_source_to_string(o.next_source)));
                        if (o.next_source == ONCALL_LAYER)
                                json_object_object_add(next, "layer",
                                                       json_object_new_string(r->layers[o.next_index].name));
                        else
                                json_object_object_add(next, "override", json_object_new_int((int) o.next_index + 1));
                        json_object_object_add(next, "since_usec", usec_json(o.next_since));
                        json_object_object_add(next, "until_usec", usec_json(o.next_until));
                }
                json_object_object_add(j, "next", next);
                print_json(j);
                json_object_put(j);
                return EXIT_SUCCESS;
        }

        printf("%s%s%s: rotation, times in %s\n", ansi(c, ANSI_BOLD), r->name, ansi(c, ANSI_RESET),
               r->time_zone ?: "the local time zone");
        printf("      at: %s\n", format_in(b1, r->time_zone, at));
        if (o.person) {
                printf(" on call: ");
                print_person(c, o.person, "");
                printf("    from: %s\n", source_label(b1, r, o.source, o.index));
        } else
                printf(" on call: %snobody%s (no override, and no layer has anyone on call now)\n",
                       ansi(c, ANSI_RED), ansi(c, ANSI_RESET));
        printf("   since: %s\n", o.since > 0 ? format_in(b2, r->time_zone, o.since) : "(beyond the horizon)");
        printf("   until: %s\n", o.until != USEC_INFINITY ? format_in(b3, r->time_zone, o.until) : "(beyond the horizon)");
        if (o.next) {
                printf("    next: %s%s%s", ansi(c, ANSI_BOLD), o.next->display ?: o.next->name, ansi(c, ANSI_RESET));
                if (o.next->display)
                        printf(" (%s)", o.next->name);
                printf(", %s, %s", source_label(b1, r, o.next_source, o.next_index),
                       format_in(b2, r->time_zone, o.next_since));
                printf(" until %s\n", o.next_until != USEC_INFINITY ? format_in(b3, r->time_zone, o.next_until)
                                                                    : "(beyond the horizon)");
        } else
                printf("    next: nobody within %llu days\n", (unsigned long long) (ONCALL_HORIZON / USEC_PER_DAY));
        return EXIT_SUCCESS;
}

static int show_team(const Ctl *c, const PeopleDir *d, const Team *t, usec_t at) {
        _cleanup_free_ const Person **who = NULL;
        _cleanup_free_ char *members = NULL;
        char b[64];
        size_t n = 0;
        int k;

        k = people_resolve(d, t->name, at, &who, &n);
        if (k < 0) {
                fprintf(stderr, "salvectl: %s: %s\n", t->name, strerror(-k));
                return EXIT_FAILURE;
        }
        if (c->json) {
                json_object *j = json_object_new_object(), *a = json_object_new_array(), *m = json_object_new_array();

                json_object_object_add(j, "name", json_object_new_string(t->name));
                json_object_object_add(j, "kind", json_object_new_string("team"));
                json_object_object_add(j, "at_usec", usec_json(at));
                STRV_FOREACH(x, t->members)
                        json_object_array_add(m, json_object_new_string(*x));
                json_object_object_add(j, "members", m);
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(a, person_json(who[i]));
                json_object_object_add(j, "people", a);
                print_json(j);
                json_object_put(j);
                return EXIT_SUCCESS;
        }
        members = strv_join(t->members, ", ");
        printf("%s%s%s: team of %s\n", ansi(c, ANSI_BOLD), t->name, ansi(c, ANSI_RESET), strna(members));
        printf("      at: %s\n", format_in(b, NULL, at));
        if (n == 0)
                printf("  %snobody now%s (its rotations have no one on call)\n", ansi(c, ANSI_RED), ansi(c, ANSI_RESET));
        for (size_t i = 0; i < n; i++)
                print_person(c, who[i], "  ");
        return EXIT_SUCCESS;
}

static int show_person(const Ctl *c, const PeopleDir *d, const Person *p) {
        _cleanup_strv_free_ char **in = NULL;
        const Team *t;
        const Rotation *r;

        /* Where they appear: teams directly, rotations in a layer or override. */
        for (size_t i = 0; (t = people_dir_team(d, i)); i++)
                if (strv_contains(t->members, p->name) && strv_extend(&in, t->name) < 0)
                        return EXIT_FAILURE;
        for (size_t i = 0; (r = people_dir_rotation(d, i)); i++) {
                bool found = false;
                for (size_t l = 0; l < r->n_layers && !found; l++)
                        found = strv_contains(r->layers[l].members, p->name);
                for (size_t o = 0; o < r->n_overrides && !found; o++)
                        found = streq_ptr(r->overrides[o].who, p->name);
                if (found && strv_extend(&in, r->name) < 0)
                        return EXIT_FAILURE;
        }
        if (c->json) {
                json_object *j = person_json(p), *a = json_object_new_array();
                json_object_object_add(j, "kind", json_object_new_string("person"));
                STRV_FOREACH(x, in)
                        json_object_array_add(a, json_object_new_string(*x));
                json_object_object_add(j, "in", a);
                print_json(j);
                json_object_put(j);
                return EXIT_SUCCESS;
        }
        print_person(c, p, "");
        if (in) {
                _cleanup_free_ char *s = strv_join(in, ", ");
                printf("  in: %s\n", strna(s));
        }
        return EXIT_SUCCESS;
}

int verb_oncall(Ctl *c, int argc, char **argv) {
        _cleanup_(people_dir_freep) PeopleDir *d = NULL;
        const char *name = argv[1];
        Diagnostics diag = {};
        const Person *p;
        const Team *t;
        const Rotation *r;
        usec_t at = c->at_set ? c->at : now_usec(CLOCK_REALTIME);
        int k;

        k = ctl_people_load(c, &diag, &d);
        diagnostics_sort(&diag);
        diagnostics_print(&diag, stderr);
        diagnostics_done(&diag);
        if (k < 0) {
                fprintf(stderr, "salvectl: the people directory %s\n",
                        k == -EINVAL ? "has errors (above); fix them first" : strerror(-k));
                return EXIT_FAILURE;
        }
        if ((r = people_dir_find_rotation(d, name)))
                return show_rotation(c, r, at);
        if ((t = people_dir_find_team(d, name)))
                return show_team(c, d, t, at);
        if ((p = people_dir_find_person(d, name)))
                return show_person(c, d, p);

        if (people_dir_is_empty(d))
                fprintf(stderr, "salvectl: no people directory: no file in %s, %s or %s (see salve.people(5))\n",
                        SALVE_PEOPLE_DIR_ETC, SALVE_PEOPLE_DIR_RUN, SALVE_PEOPLE_DIR_USR);
        else {
                _cleanup_free_ const char **names = NULL;
                size_t n = 0;
                const char *hint;

                /* All names, for a hint. */
                for (size_t i = 0; people_dir_person(d, i); i++)
                        n++;
                for (size_t i = 0; people_dir_team(d, i); i++)
                        n++;
                for (size_t i = 0; people_dir_rotation(d, i); i++)
                        n++;
                names = calloc(n + 1, sizeof(char *));
                if (!names)
                        return EXIT_FAILURE;
                n = 0;
                for (size_t i = 0; (p = people_dir_person(d, i)); i++)
                        names[n++] = p->name;
                for (size_t i = 0; (t = people_dir_team(d, i)); i++)
                        names[n++] = t->name;
                for (size_t i = 0; (r = people_dir_rotation(d, i)); i++)
                        names[n++] = r->name;
                hint = string_closest(name, names);
                fprintf(stderr, "salvectl: \"%s\" is not a person, team or rotation in the people directory%s%s%s\n",
                        name, hint ? " (did you mean \"" : "", strempty(hint), hint ? "\"?)" : "");
        }
        return EXIT_NOT_FOUND;
}

/* ---- people ---- */

/* A line that says what an entry is: a person's display name and how they
 * are reached, a team's members, a rotation's layers, overrides and zone. */
static char *person_summary(const Person *p) {
        _cleanup_strv_free_ char **ch = NULL;
        _cleanup_free_ char *list = NULL;
        char *s;

        STRV_FOREACH(x, p->contacts) {
                _cleanup_free_ char *name = strndup(*x, strcspn(*x, "="));
                if (!name)
                        return NULL;
                if (!strv_contains(ch, name) && strv_extend(&ch, name) < 0)
                        return NULL;
        }
        list = ch ? strv_join(ch, ", ") : strdup("no contact");
        if (!list)
                return NULL;
        if (asprintf(&s, "%s%s%s", strempty(p->display), p->display ? ": " : "", list) < 0)
                return NULL;
        return s;
}

static char *team_summary(const Team *t) {
        _cleanup_free_ char *m = strv_join(t->members, ", ");
        char *s;

        if (!m || asprintf(&s, "members: %s", m) < 0)
                return NULL;
        return s;
}

static char *rotation_summary(const Rotation *r) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *layers = NULL;
        char *s;

        for (size_t i = 0; i < r->n_layers; i++)
                if (strv_extend(&l, r->layers[i].name) < 0)
                        return NULL;
        layers = l ? strv_join(l, ", ") : strdup("-");
        if (!layers || asprintf(&s, "%zu layer%s (%s), %zu override%s, %s", r->n_layers, r->n_layers == 1 ? "" : "s",
                                layers, r->n_overrides, r->n_overrides == 1 ? "" : "s",
                                r->time_zone ?: "local time") < 0)
                return NULL;
        return s;
}

int verb_people(Ctl *c, int argc, char **argv) {
        _cleanup_(people_dir_freep) PeopleDir *d = NULL;
        json_object *arr = NULL;
        Diagnostics diag = {};
        size_t n[3] = {};
        int k;

        k = ctl_people_load(c, &diag, &d);
        diagnostics_sort(&diag);
        diagnostics_print(&diag, stderr);
        diagnostics_done(&diag);
        if (k < 0) {
                fprintf(stderr, "salvectl: the people directory %s\n",
                        k == -EINVAL ? "has errors (above); fix them first" : strerror(-k));
                return EXIT_FAILURE;
        }

        if (c->json)
                arr = json_object_new_array();
        else if (c->legend && !people_dir_is_empty(d))
                printf("%s%-24s %-9s %s%s\n", ansi(c, ANSI_BOLD), "NAME", "KIND", "DESCRIPTION", ansi(c, ANSI_RESET));
        /* People, then teams, then rotations, each in name order. */
        for (int kind = 0; kind < 3; kind++)
                for (size_t i = 0;; i++) {
                        static const char *const kinds[] = { "person", "team", "rotation" };
                        const Person *p = kind == 0 ? people_dir_person(d, i) : NULL;
                        const Team *t = kind == 1 ? people_dir_team(d, i) : NULL;
                        const Rotation *r = kind == 2 ? people_dir_rotation(d, i) : NULL;
                        _cleanup_free_ char *desc = NULL;
                        const char *name, *file;

                        if (!p && !t && !r)
                                break;
                        name = p ? p->name : t ? t->name : r->name;
                        file = p ? p->file : t ? t->file : r->file;
                        desc = p ? person_summary(p) : t ? team_summary(t) : rotation_summary(r);
                        if (!desc) {
                                json_object_put(arr);
                                fprintf(stderr, "salvectl: out of memory\n");
                                return EXIT_FAILURE;
                        }
                        n[kind]++;
                        if (arr) {
                                json_object *o = json_object_new_object();
                                json_object_object_add(o, "name", json_object_new_string(name));
                                json_object_object_add(o, "kind", json_object_new_string(kinds[kind]));
                                json_object_object_add(o, "description", json_object_new_string(desc));
                                json_object_object_add(o, "file", file ? json_object_new_string(file) : NULL);
                                json_object_array_add(arr, o);
                        } else
                                printf("%-24s %-9s %s\n", name, kinds[kind], desc);
                }
        if (arr) {
                print_json(arr);
                json_object_put(arr);
        } else if (people_dir_is_empty(d))
                fprintf(stderr, "salvectl: no people directory: no file in %s (see salve.people(5))\n",
                        c->people_dirs ? "the --people-dir directories"
                                       : SALVE_PEOPLE_DIR_ETC ", " SALVE_PEOPLE_DIR_RUN " or " SALVE_PEOPLE_DIR_USR);
        else if (c->legend)
                printf("\n%zu %s, %zu team%s, %zu rotation%s.\n", n[0], n[0] == 1 ? "person" : "people", n[1],
                       n[1] == 1 ? "" : "s", n[2], n[2] == 1 ? "" : "s");
        return EXIT_SUCCESS;
}

/* ---- verify ---- */

int ctl_verify_people(Ctl *c, struct Plan *const *plans, size_t n_plans, Diagnostics *d, json_object *out) {
        _cleanup_(people_dir_freep) PeopleDir *dir = NULL;
        json_object *j;
        int k;

        k = ctl_people_load(c, d, &dir);
        if (k == -ENOMEM)
                return k;
        if (k >= 0 && !people_dir_is_empty(dir))
                for (size_t i = 0; i < n_plans; i++)
                        if (people_check_plan(dir, plans[i], d) == -ENOMEM)
                                return -ENOMEM;
        if (out) {
                j = json_object_new_object();
                json_object_object_add(j, "loaded", json_object_new_boolean(k >= 0));
                json_object_object_add(j, "empty", json_object_new_boolean(k >= 0 && people_dir_is_empty(dir)));
                json_object_object_add(j, "files", json_object_new_int((int) people_dir_n_files(dir)));
                if (dir) {
                        size_t np = 0, nt = 0, nr = 0;
                        while (people_dir_person(dir, np))
                                np++;
                        while (people_dir_team(dir, nt))
                                nt++;
                        while (people_dir_rotation(dir, nr))
                                nr++;
                        json_object_object_add(j, "people", json_object_new_int((int) np));
                        json_object_object_add(j, "teams", json_object_new_int((int) nt));
                        json_object_object_add(j, "rotations", json_object_new_int((int) nr));
                }
                json_object_object_add(out, "people", j);
        } else if (k >= 0 && people_dir_is_empty(dir)) {
                /* One line, not a warning per name: a host without a
                 * people directory is a choice, not a mistake. */
                _cleanup_free_ char *dirs = c->people_dirs ? strv_join(c->people_dirs, ", ")
                                                           : strdup(SALVE_PEOPLE_DIR_ETC ", " SALVE_PEOPLE_DIR_RUN
                                                                    ", " SALVE_PEOPLE_DIR_USR);
                fprintf(stderr, "note: no people directory (no *.yaml in %s): owner and escalate names are not "
                        "checked (they stand for themselves: notifications carry no one's contacts)\n", strna(dirs));
        }
        else if (k >= 0)
                printf("people directory: %zu file%s OK\n", people_dir_n_files(dir),
                       people_dir_n_files(dir) == 1 ? "" : "s");
        return 0;
}
