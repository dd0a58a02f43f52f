/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The people directory once loaded: lookups by name, what a name means at
 * an instant (people_resolve), and checking a plan's names against it.
 * Nothing here reads files; rotations are asked through rotation.c. */

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "people-internal.h"
#include "string-util.h"

PeopleDir *people_dir_free(PeopleDir *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_people; i++)
                person_free(d->people[i]);
        for (size_t i = 0; i < d->n_teams; i++)
                team_free(d->teams[i]);
        for (size_t i = 0; i < d->n_rotations; i++)
                rotation_free(d->rotations[i]);
        free(d->people);
        free(d->teams);
        free(d->rotations);
        for (size_t i = 0; i < d->n_files; i++)
                free(d->files[i]);
        free(d->files);
        free(d);
        return NULL;
}

/* Each list holds pointers to structs that begin with char *name. */
static int by_name(const void *a, const void *b) {
        const char *const *x = *(const char *const *const *) a, *const *y = *(const char *const *const *) b;
        return strcmp(*x, *y);
}

void people_dir_sort(PeopleDir *d) {
        /* Stable enough: duplicates are errors, and the namespace check
         * orders them by file and position itself. */
        if (d->n_people > 0)
                qsort(d->people, d->n_people, sizeof(Person *), by_name);
        if (d->n_teams > 0)
                qsort(d->teams, d->n_teams, sizeof(Team *), by_name);
        if (d->n_rotations > 0)
                qsort(d->rotations, d->n_rotations, sizeof(Rotation *), by_name);
}

static void *find(void *const *list, size_t n, const char *name) {
        const char *key = name;
        const char *const *k = &key;
        void *const *hit;

        if (!name || n == 0)
                return NULL;
        hit = bsearch(&k, list, n, sizeof(void *), by_name);
        return hit ? *hit : NULL;
}

const Person *people_dir_find_person(const PeopleDir *d, const char *name) {
        return d ? find((void *const *) d->people, d->n_people, name) : NULL;
}

const Team *people_dir_find_team(const PeopleDir *d, const char *name) {
        return d ? find((void *const *) d->teams, d->n_teams, name) : NULL;
}

const Rotation *people_dir_find_rotation(const PeopleDir *d, const char *name) {
        return d ? find((void *const *) d->rotations, d->n_rotations, name) : NULL;
}

bool people_dir_has(const PeopleDir *d, const char *name) {
        return people_dir_find_person(d, name) || people_dir_find_team(d, name) || people_dir_find_rotation(d, name);
}

bool people_dir_is_empty(const PeopleDir *d) {
        return !d || d->n_files == 0;
}

size_t people_dir_n_files(const PeopleDir *d) {
        return d ? d->n_files : 0;
}

const Person *people_dir_person(const PeopleDir *d, size_t i) {
        return d && i < d->n_people ? d->people[i] : NULL;
}

const Team *people_dir_team(const PeopleDir *d, size_t i) {
        return d && i < d->n_teams ? d->teams[i] : NULL;
}

const Rotation *people_dir_rotation(const PeopleDir *d, size_t i) {
        return d && i < d->n_rotations ? d->rotations[i] : NULL;
}

/* ---- resolution ---- */

typedef struct Resolved {
        const Person **people;
        size_t n;
        const Team **seen;      /* teams expanded on this path: a guard, the loader refuses cycles */
        size_t n_seen;
} Resolved;

static int resolved_add(Resolved *r, const Person *p) {
        const Person **n;

        if (!p)
                return 0;
        for (size_t i = 0; i < r->n; i++)
                if (r->people[i] == p)
                        return 0;
        n = realloc(r->people, sizeof(Person *) * (r->n + 1));
        if (!n)
                return -ENOMEM;
        r->people = n;
        r->people[r->n++] = p;
        return 0;
}

static int resolve_into(const PeopleDir *d, const char *name, usec_t at, Resolved *res, unsigned depth) {
        const Person *p;
        const Rotation *rot;
        const Team *t;
        int r;

        if ((p = people_dir_find_person(d, name)))
                return resolved_add(res, p);
        if ((rot = people_dir_find_rotation(d, name)))
                return resolved_add(res, rotation_who(rot, at, NULL, NULL));
        t = people_dir_find_team(d, name);
        if (!t)
                return -ENOENT;
        for (size_t i = 0; i < res->n_seen; i++)
                if (res->seen[i] == t)
                        return 0;
        if (depth > 64)
                return 0;
        {
                const Team **n = realloc(res->seen, sizeof(Team *) * (res->n_seen + 1));
                if (!n)
                        return -ENOMEM;
                res->seen = n;
                res->seen[res->n_seen++] = t;
        }
        for (size_t i = 0; t->members[i]; i++) {
                r = resolve_into(d, t->members[i], at, res, depth + 1);
                if (r == -ENOMEM)
                        return r;
        }
        res->n_seen--;
        return 0;
}

int people_resolve(const PeopleDir *d, const char *name, usec_t at, const Person ***ret, size_t *ret_n) {
        Resolved res = {};
        int r;

        if (!d || !name)
                return -ENOENT;
        r = resolve_into(d, name, at, &res, 0);
        free(res.seen);
        if (r < 0) {
                free(res.people);
                return r;
        }
        *ret = res.people;
        *ret_n = res.n;
        return 0;
}

int people_oncall(const PeopleDir *d, const char *rotation, usec_t at, OnCall *ret) {
        const Rotation *r = people_dir_find_rotation(d, rotation);

        if (!r)
                return people_dir_has(d, rotation) ? -ENXIO : -ENOENT;
        return rotation_oncall(r, at, ret);
}

/* ---- a plan's names ---- */

typedef struct NameCheck {
        const PeopleDir *dir;
        const Plan *plan;
        Diagnostics *diag;
        const char **names;     /* every name in the directory, for hints */
        bool error;
} NameCheck;

static int check_one(NameCheck *c, const char *name, SourcePos pos, const char *where) {
        const char *hint;
        DiagLevel level;
        int r;

        if (!name || people_dir_has(c->dir, name))
                return 0;
        if (people_dir_is_empty(c->dir)) {
                level = DIAG_WARNING;
                r = diag_add(c->diag, level, c->plan->path, pos.line ?: 1, pos.column ?: 1,
                             "%s: \"%s\" is not in the people directory: there is none (no file in %s, %s or %s), so "
                             "the name stands for itself: notifications carry no one's contacts", where, name, SALVE_PEOPLE_DIR_ETC,
                             SALVE_PEOPLE_DIR_RUN, SALVE_PEOPLE_DIR_USR);
        } else {
                level = DIAG_ERROR;
                hint = string_closest(name, c->names);
                r = diag_add(c->diag, level, c->plan->path, pos.line ?: 1, pos.column ?: 1,
                             "%s: \"%s\" is not a person, team or rotation in the people directory%s%s%s", where, name,
                             hint ? " (did you mean \"" : "", strempty(hint), hint ? "\"?)" : "");
        }
        if (r < 0)
                return -ENOMEM;
        if (level == DIAG_ERROR)
                c->error = true;
        return 0;
}

static int check_list(NameCheck *c, char **names, SourcePos pos, const char *where) {
        STRV_FOREACH(n, names)
                if (check_one(c, *n, pos, where) < 0)
                        return -ENOMEM;
        return 0;
}

int people_check_plan(const PeopleDir *d, const Plan *p, Diagnostics *diag) {
        size_t n = d ? d->n_people + d->n_teams + d->n_rotations : 0, k = 0;
        _cleanup_free_ const char **names = calloc(n + 1, sizeof(char *));
        NameCheck c = { .dir = d, .plan = p, .diag = diag };
        char where[STEP_ID_MAX + 32];

        if (!names)
                return -ENOMEM;
        for (size_t i = 0; d && i < d->n_people; i++)
                names[k++] = d->people[i]->name;
        for (size_t i = 0; d && i < d->n_teams; i++)
                names[k++] = d->teams[i]->name;
        for (size_t i = 0; d && i < d->n_rotations; i++)
                names[k++] = d->rotations[i]->name;
        c.names = names;

        if (check_one(&c, p->owner, p->owner_pos, "owner") < 0 ||
            check_list(&c, p->escalate, p->escalate_pos, "escalate") < 0 ||
            check_list(&c, p->fallback, (SourcePos) { 1, 1 }, "fallback") < 0)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = p->steps + i;

                snprintf(where, sizeof(where), "step \"%s\": owner", s->id);
                if (check_one(&c, s->owner, s->owner_pos, where) < 0)
                        return -ENOMEM;
                snprintf(where, sizeof(where), "step \"%s\": escalate", s->id);
                if (check_list(&c, s->escalate, s->escalate_pos, where) < 0)
                        return -ENOMEM;
        }
        return c.error ? -EINVAL : 0;
}
