/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "plan-set.h"
#include "string-util.h"
#include "time-util.h"

#include "config.h"

const char *const plan_set_default_dirs[] = {
        SALVE_PLANS_DIR_ETC,
        SALVE_PLANS_DIR_RUN,
        SALVE_PLANS_DIR_USR,
        NULL,
};

PlanSet *plan_set_free(PlanSet *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_plans; i++)
                plan_free(s->plans[i]);
        free(s->plans);
        free(s);
        return NULL;
}

bool plan_set_free_some(PlanSet *s, usec_t budget) {
        usec_t start = now_usec(CLOCK_MONOTONIC);

        while (s->n_plans > 0) {
                Plan *p = s->plans[--s->n_plans];

                plan_free(p);
                if (now_usec(CLOCK_MONOTONIC) - start >= budget)
                        break;
        }
        return s->n_plans == 0;
}

const Plan *plan_set_find(const PlanSet *s, const char *name) {
        for (size_t i = 0; s && i < s->n_plans; i++)
                if (streq(s->plans[i]->name, name))
                        return s->plans[i];
        return NULL;
}

static int plan_set_add(PlanSet *s, Plan *p, Diagnostics *d) {
        const Plan *other = plan_set_find(s, p->name);
        Plan **n;

        if (other) {
                int r = diag_add(d, DIAG_ERROR, p->path, 1, 1, "plan \"%s\" is already defined in %s, ignoring "
                                 "this one", p->name, other->path);
                plan_free(p);
                return r < 0 ? r : 0;
        }
        n = realloc(s->plans, sizeof(Plan *) * (s->n_plans + 1));
        if (!n) {
                plan_free(p);
                return -ENOMEM;
        }
        s->plans = n;
        s->plans[s->n_plans++] = p;
        return 0;
}

static int load_one(PlanSet *s, const char *path, PlanLoadFlags flags, Diagnostics *d) {
        Plan *p = NULL;
        int r;

        r = plan_load_file(path, flags, d, &p);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* reported; the rest of the set still loads */
        return plan_set_add(s, p, d);
}

typedef struct Entry {
        char *name;
        char *path;
        size_t rank;            /* index of its directory: lower wins */
} Entry;

struct PlanSetLoader {
        PlanSet *set;
        PlanLoadFlags flags;
        Diagnostics *diag;
        Entry *entries;
        size_t n_entries, next;
};

static int entry_compare(const void *a, const void *b) {
        const Entry *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        return c != 0 ? c : x->rank < y->rank ? -1 : x->rank > y->rank;
}

static bool path_is_mask(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return false;
        /* A symlink to /dev/null, or an empty file, masks. Any other
         * device is loaded, that is refused as not a regular file. */
        return (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) || (S_ISREG(st.st_mode) && st.st_size == 0);
}

PlanSetLoader *plan_set_loader_free(PlanSetLoader *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_entries; i++) {
                free(l->entries[i].name);
                free(l->entries[i].path);
        }
        free(l->entries);
        plan_set_free(l->set);
        free(l);
        return NULL;
}

static int loader_add_entry(PlanSetLoader *l, const char *dir, const char *name, size_t rank) {
        Entry *n = realloc(l->entries, sizeof(Entry) * (l->n_entries + 1));

        if (!n)
                return -ENOMEM;
        l->entries = n;
        n += l->n_entries;
        *n = (Entry) { .name = strdup(name), .rank = rank };
        if (!n->name)
                return -ENOMEM;
        l->n_entries++;
        if (asprintf(&n->path, "%s%s%s", dir, string_has_suffix(dir, "/") ? "" : "/", name) < 0) {
                n->path = NULL;
                return -ENOMEM;
        }
        return 0;
}

int plan_set_loader_new(const char * const *dirs, PlanLoadFlags flags, Diagnostics *d, PlanSetLoader **ret) {
        _cleanup_(plan_set_loader_freep) PlanSetLoader *l = calloc(1, sizeof(PlanSetLoader));
        size_t kept = 0;
        int r;

        if (!l)
                return -ENOMEM;
        l->set = calloc(1, sizeof(PlanSet));
        if (!l->set)
                return -ENOMEM;
        l->flags = flags;
        l->diag = d;

        /* Collect the names of every directory; sorting by name, then by
         * directory, puts the winner (highest precedence) of each name
         * first. Listing is cheap; loading is what plan_set_loader_step()
         * spreads out. */
        for (size_t rank = 0; dirs[rank]; rank++) {
                _cleanup_(closedirp) DIR *dh = opendir(dirs[rank]);
                struct dirent *de;

                if (!dh) {
                        if (errno != ENOENT && diag_add(d, DIAG_WARNING, dirs[rank], 0, 0,
                                                        "cannot read directory: %m, ignoring") < 0)
                                return -ENOMEM;
                        continue;
                }
                while ((de = readdir(dh)))
                        if (de->d_name[0] != '.' && string_has_suffix(de->d_name, ".yaml")) {
                                r = loader_add_entry(l, dirs[rank], de->d_name, rank);
                                if (r < 0)
                                        return r;
                        }
        }
        if (l->n_entries > 0)
                qsort(l->entries, l->n_entries, sizeof(Entry), entry_compare);
        for (size_t i = 0; i < l->n_entries; i++) {
                if (kept > 0 && streq(l->entries[kept - 1].name, l->entries[i].name)) {
                        free(l->entries[i].name);
                        free(l->entries[i].path);
                        continue;
                }
                l->entries[kept++] = l->entries[i];
        }
        l->n_entries = kept;
        *ret = TAKE_PTR(l);
        return 0;
}

size_t plan_set_loader_remaining(const PlanSetLoader *l) {
        return l->n_entries - l->next;
}

int plan_set_loader_step(PlanSetLoader *l, usec_t budget) {
        usec_t start = now_usec(CLOCK_MONOTONIC);

        while (l->next < l->n_entries) {
                const Entry *e = l->entries + l->next++;
                int r;

                if (path_is_mask(e->path))
                        l->set->n_masked++;
                else {
                        r = load_one(l->set, e->path, l->flags, l->diag);
                        if (r < 0)
                                return r;
                }
                if (now_usec(CLOCK_MONOTONIC) - start >= budget)
                        break;
        }
        return l->next < l->n_entries;
}

int plan_set_loader_finish(PlanSetLoader *l, PlanSet **ret) {
        if (l->next < l->n_entries)
                return -EBUSY;
        *ret = TAKE_PTR(l->set);
        return 0;
}

int plan_set_load_dirs(const char * const *dirs, PlanLoadFlags flags, Diagnostics *d, PlanSet **ret) {
        _cleanup_(plan_set_loader_freep) PlanSetLoader *l = NULL;
        int r;

        r = plan_set_loader_new(dirs, flags, d, &l);
        if (r < 0)
                return r;
        r = plan_set_loader_step(l, USEC_INFINITY);
        if (r < 0)
                return r;
        return plan_set_loader_finish(l, ret);
}

int plan_set_load_paths(char * const *paths, PlanLoadFlags flags, Diagnostics *d, PlanSet **ret) {
        _cleanup_(plan_set_freep) PlanSet *s = calloc(1, sizeof(PlanSet));
        int r;

        if (!s)
                return -ENOMEM;
        STRV_FOREACH(path, paths) {
                struct stat st;

                if (stat(*path, &st) < 0) {
                        r = diag_add(d, DIAG_ERROR, *path, 0, 0, "%m");
                        if (r < 0)
                                return r;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_(plan_set_freep) PlanSet *sub = NULL;
                        const char *dirs[] = { *path, NULL };

                        r = plan_set_load_dirs(dirs, flags, d, &sub);
                        if (r < 0)
                                return r;
                        for (size_t i = 0; i < sub->n_plans; i++) {
                                r = plan_set_add(s, TAKE_PTR(sub->plans[i]), d);
                                if (r < 0)
                                        return r;
                        }
                        sub->n_plans = 0;
                        s->n_masked += sub->n_masked;
                } else {
                        r = load_one(s, *path, flags, d);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}
