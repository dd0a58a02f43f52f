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

/* Sorts the lists by name (after loading), for the lookups' bsearch. */
void people_dir_sort(PeopleDir *d);

/* people_dir_load() with the system directories' ownership checks on
 * other directories (the unit tests). */
int people_dir_load_secure(const char * const *dirs, PeopleDir **ret, Diagnostics *d);
