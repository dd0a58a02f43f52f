/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Loading the people directory (salve.people(5)): which files (layered
 * as plans are, plan-set.c: /etc over /run over /usr/lib by file name, a
 * symlink to /dev/null or an empty file masks), reading them safely (the
 * system directories' files must be root's alone), each parsed by
 * people-parse.c, then the checks of the directory as a whole: one
 * namespace for people, teams and rotations; every member exists; layer
 * members and override people are people; no team contains itself.
 * Every problem is reported with file:line:column and the loader goes on
 * to find the rest; a directory with any error is not returned. */

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

const char *const people_dir_default_dirs[] = {
        SALVE_PEOPLE_DIR_ETC,
        SALVE_PEOPLE_DIR_RUN,
        SALVE_PEOPLE_DIR_USR,
        NULL,
};

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
        /* The directories on the way, as for plans; their reason is
         * worded for plans, and is put in people.d's terms. */
        size_t before = diag->n_items;
        int r = plan_check_file_secure(path, fd, diag);
        for (size_t i = before; r < 0 && i < diag->n_items; i++) {
                static const char plan_why[] = "others could replace the plan (salved runs plans as root)";
                char *m = diag->items[i].message, *at = strstr(m, plan_why), *n;
                if (!at)
                        continue;
                if (asprintf(&n, "%.*sothers could replace the file (it decides who salve notifies)%s", (int) (at - m),
                             m, at + strlen(plan_why)) < 0)
                        return -ENOMEM;
                free(m);
                diag->items[i].message = n;
        }
        return r;
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
        return people_parse_buffer(d, file, buf, n, diag);
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
                r = people_parse_buffer(dir, f, buf, len, diag);
        if (r != -ENOMEM)
                r = finish(&dir, diag, before, ret);
        diagnostics_done(&local);
        return r;
}
