/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The people directory (salve.people(5)): who the owner, escalate and
 * fallback names of plans stand for. People have contacts; teams list
 * people, teams and rotations; rotations say who is on call when.
 *
 * Invariants of a PeopleDir that exists: names are unique across people,
 * teams and rotations; every team member and rotation member names
 * something that exists (rotation members and override people are
 * people); teams have no cycles; every rotation's time zone exists in
 * /usr/share/zoneinfo. A directory with any error is not built at all
 * (the loader reports every problem it finds, with file:line:column).
 *
 * Rotation math (rotation.c) reads nothing but the PeopleDir and the time
 * zone database through the C library (TZ is switched around each
 * computation and restored: salved has one thread). */

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "plan.h"
#include "time-util.h"

#define PEOPLE_NAME_MAX 64
#define PEOPLE_FILE_MAX (1024U * 1024U)
/* Bounds that keep the on-call search cheap (salve.people(5), LIMITS). */
#define ROTATION_LAYERS_MAX 10
#define ROTATION_WINDOWS_MAX 14
#define ROTATION_OVERRIDES_MAX 100
#define ROTATION_MEMBERS_MAX 100

typedef struct Person {
        char *name;
        char *display;          /* "name:", or NULL */
        char **contacts;        /* "channel=address", in file order; may be empty, never NULL */
        SourcePos pos;          /* of its key */
        const char *file;       /* points into the PeopleDir */
} Person;

typedef struct Team {
        char *name;
        char **members;         /* people, teams or rotations */
        SourcePos *members_pos;
        SourcePos pos;
        const char *file;
} Team;

/* When a layer is on: on the days in `days` (bit 0 Monday ... bit 6
 * Sunday) from `from` to `to` (minutes after local midnight; to <= from:
 * until `to` on the next day; to == 1440: midnight at the end of the day). */
typedef struct RotationWindow {
        unsigned days;
        unsigned from, to;
} RotationWindow;

/* A local wall-clock time in the rotation's time zone. */
typedef struct LocalTime {
        int year, month, day;   /* month 1..12 */
        int hour, minute, second;
} LocalTime;

typedef struct RotationLayer {
        char *name;             /* "layer N" (1-based) when the file gives none */
        LocalTime start;        /* the first hand-off */
        usec_t turn;
        unsigned turn_days;     /* turn is this many whole days (0: not whole days: exact elapsed time) */
        char **members;         /* people only */
        SourcePos *members_pos;
        const Person **people;  /* resolved, same order */
        size_t n_members;
        RotationWindow *windows;        /* none: always on */
        size_t n_windows;
        SourcePos pos;
} RotationLayer;

typedef struct RotationOverride {
        LocalTime from, to;     /* local times in the rotation's time zone; from < to */
        char *who;
        const Person *person;
        SourcePos pos;
} RotationOverride;

typedef struct Rotation {
        char *name;
        char *time_zone;        /* IANA name, or NULL: the local time zone (salved: the host's) */
        RotationLayer *layers;  /* later layers win where they have someone on call */
        size_t n_layers;
        RotationOverride *overrides;    /* win over every layer; a later override wins over an earlier */
        size_t n_overrides;
        SourcePos pos;
        const char *file;
} Rotation;

typedef struct PeopleDir PeopleDir;

/* The system directories (SALVE_PEOPLE_DIR_ETC, _RUN, _USR), highest
 * precedence first. */
extern const char *const people_dir_default_dirs[];

/* Loads every *.yaml in dirs (highest precedence first; a file name in an
 * earlier directory overrides the same name in a later one; a symlink to
 * /dev/null or an empty file masks it; missing directories are fine).
 * dirs NULL: the system directories, whose files must be root's and not
 * writable by anyone else (as plans). Each problem goes to d (NULL: not
 * kept). Returns 0 and the directory (warnings alone do not fail),
 * -EINVAL if d holds any error (then *ret is untouched), or -ENOMEM. */
int people_dir_load(char **dirs, PeopleDir **ret, Diagnostics *d);
/* The same for `salvectl verify FILE|DIR...`: files and directories of
 * files as given, no ownership checks; all of them form one directory. */
int people_dir_load_paths(char **paths, PeopleDir **ret, Diagnostics *d);
/* From one buffer, as the file `file` (tests and the fuzzer). */
int people_dir_load_buffer(const char *file, const char *buf, size_t len, PeopleDir **ret, Diagnostics *d);

PeopleDir *people_dir_free(PeopleDir *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(PeopleDir *, people_dir_free);

/* No people.d file at all (not even an empty one that masks). */
bool people_dir_is_empty(const PeopleDir *d);
/* A person, team or rotation of that name. */
bool people_dir_has(const PeopleDir *d, const char *name);
const Person *people_dir_find_person(const PeopleDir *d, const char *name);
const Team *people_dir_find_team(const PeopleDir *d, const char *name);
const Rotation *people_dir_find_rotation(const PeopleDir *d, const char *name);
/* For listing: every entry of each kind, in name order. */
size_t people_dir_n_files(const PeopleDir *d);
const Person *people_dir_person(const PeopleDir *d, size_t i);          /* NULL past the end */
const Team *people_dir_team(const PeopleDir *d, size_t i);
const Rotation *people_dir_rotation(const PeopleDir *d, size_t i);

/* A name at an instant (CLOCK_REALTIME) -> the people it means then: a
 * person itself; a team's members flattened in order (a rotation among
 * them: whoever is on call), each person once; a rotation's one person on
 * call. No one is possible (a rotation whose windows are all off). *ret
 * is a malloc()ed array the caller frees (not the people in it); NULL
 * when *ret_n is 0. -ENOENT for an unknown name, -ENOMEM. */
int people_resolve(const PeopleDir *d, const char *name, usec_t at, const Person ***ret, size_t *ret_n);

typedef enum OnCallSource {
        ONCALL_NOBODY,          /* no override, and no layer has anyone on call */
        ONCALL_LAYER,
        ONCALL_OVERRIDE,
        _ONCALL_SOURCE_MAX,
        _ONCALL_SOURCE_INVALID = -EINVAL,
} OnCallSource;

const char *oncall_source_to_string(OnCallSource s);

/* How far the on-call search looks back and ahead (since, until, next). */
#define ONCALL_HORIZON (400ULL * USEC_PER_DAY)

typedef struct OnCall {
        const Person *person;   /* NULL: nobody (source ONCALL_NOBODY) */
        OnCallSource source;
        size_t index;           /* the layer's or override's index in the Rotation */
        const char *layer;      /* the layer's name (ONCALL_LAYER), else NULL */
        usec_t since;           /* when this stretch began; 0: before the horizon (or forever) */
        usec_t until;           /* when it ends; USEC_INFINITY: not within the horizon */
        const Person *next;     /* the next person on call after until (NULL: none within the horizon) */
        usec_t next_since, next_until;  /* their stretch (USEC_INFINITY if unknown) */
        OnCallSource next_source;
        size_t next_index;
} OnCall;

/* Who is on call in a rotation at `at`: override first, then the highest
 * layer with someone on call. Stretches of the same person from the same
 * layer or override are one (a layer with one member). -ENOENT if there
 * is no such rotation (-ENXIO if the name is a person or a team). */
int people_oncall(const PeopleDir *d, const char *rotation, usec_t at, OnCall *ret);
/* The same on a rotation itself (the unit tests build them). */
int rotation_oncall(const Rotation *r, usec_t at, OnCall *ret);
/* Who is on call at `at` and from where, with no since or until. */
const Person *rotation_who(const Rotation *r, usec_t at, OnCallSource *ret_source, size_t *ret_index);

/* The names plan p uses (owner, escalate, fallback; the plan's and each
 * step's) checked against the directory: each unknown name is a
 * diagnostic at its position in the plan's file: an error, or a warning
 * when the directory is empty (no people.d at all: then names stand for
 * themselves and notifications carry no one's contacts; the warning says
 * so). Returns 0, -EINVAL if it added an
 * error, -ENOMEM. */
int people_check_plan(const PeopleDir *d, const Plan *p, Diagnostics *diag);

/* Local time <-> CLOCK_REALTIME in a time zone (NULL: the local one).
 * A local time that does not exist (skipped by a DST change) means the
 * same time after the change (02:30 -> 03:30); one that exists twice
 * means the first. */
int local_time_to_usec(const char *time_zone, const LocalTime *t, usec_t *ret);
int usec_to_local_time(const char *time_zone, usec_t u, LocalTime *ret, int *ret_weekday /* 0: Monday */,
                       long *ret_utc_offset);
/* "2026-11-02 09:00", "2026-11-02 09:00:30" or with a T. -EINVAL otherwise. */
int parse_local_time(const char *s, LocalTime *ret);
/* "09:00", "9:30", "24:00" (allow_24) -> minutes after midnight. */
int parse_clock_time(const char *s, bool allow_24, unsigned *ret);
bool time_zone_is_valid(const char *name);
/* An instant as people write it (salvectl oncall --at): "2026-12-24 10:00"
 * (local time of the process, as parse_local_time), the same with a UTC
 * offset "2026-12-24T10:00:00+01:00" or "...Z", "@EPOCH" (seconds), or
 * "+2h" / "-30m" from now. -EINVAL otherwise. */
int parse_instant(const char *s, usec_t now, usec_t *ret);
