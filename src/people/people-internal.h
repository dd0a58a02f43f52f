/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The people directory's insides, shared by its loader (people-load.c),
 * its lookups and resolution (people.c) and the rotation math
 * (rotation.c). Private to src/people and its unit tests. */

#include "people.h"

struct PeopleDir {
        char **files;           /* every file read (masks included), for positions and is_empty */
        size_t n_files;
        Person **people;        /* each sorted by name */
        size_t n_people;
        Team **teams;
        size_t n_teams;
        Rotation **rotations;
        size_t n_rotations;
};

Person *person_free(Person *p);
Team *team_free(Team *t);
Rotation *rotation_free(Rotation *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Person *, person_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Team *, team_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Rotation *, rotation_free);

/* people-parse.c: one file's people, teams and rotations added to d,
 * problems to diag. 0, -EINVAL (reported) or -ENOMEM. */
int people_parse_buffer(PeopleDir *d, const char *file, const char *buf, size_t len, Diagnostics *diag);

/* Appends item to a realloc()ed array of n; 0 or -ENOMEM. */
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

/* Sorts the lists by name (after loading), for the lookups' bsearch. */
void people_dir_sort(PeopleDir *d);

/* people_dir_load() with the system directories' ownership checks on
 * other directories (the unit tests). */
int people_dir_load_secure(const char * const *dirs, PeopleDir **ret, Diagnostics *d);
