/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "plan-set.h"
#include "string-util.h"

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
} Entry;

static int entry_compare(const void *a, const void *b) {
        return strcmp(((const Entry *) a)->name, ((const Entry *) b)->name);
}

static bool path_is_mask(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return false;
        /* A symlink to /dev/null, or an empty file, masks. Any other
         * device is loaded, that is refused as not a regular file. */
        return (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) || (S_ISREG(st.st_mode) && st.st_size == 0);
}

int plan_set_load_dirs(const char * const *dirs, PlanLoadFlags flags, Diagnostics *d, PlanSet **ret) {
        _cleanup_(plan_set_freep) PlanSet *s = calloc(1, sizeof(PlanSet));
        Entry *entries = NULL;
        size_t n_entries = 0;
        int r = 0;

        if (!s)
                return -ENOMEM;

        /* Collect names, first (highest precedence) directory wins. */
        for (const char * const *dir = dirs; *dir && r >= 0; dir++) {
                _cleanup_(closedirp) DIR *dh = opendir(*dir);
                struct dirent *de;

                if (!dh) {
                        if (errno != ENOENT)
                                r = diag_add(d, DIAG_WARNING, *dir, 0, 0, "cannot read directory: %m, ignoring");
                        continue;
                }
                while ((de = readdir(dh))) {
                        Entry *n;
                        bool seen = false;

                        if (de->d_name[0] == '.' || !string_has_suffix(de->d_name, ".yaml"))
                                continue;
                        for (size_t i = 0; i < n_entries; i++)
                                if (streq(entries[i].name, de->d_name))
                                        seen = true;
                        if (seen)
                                continue;
                        n = realloc(entries, sizeof(Entry) * (n_entries + 1));
                        if (!n) {
                                r = -ENOMEM;
                                break;
                        }
                        entries = n;
                        entries[n_entries].name = strdup(de->d_name);
                        if (asprintf(&entries[n_entries].path, "%s%s%s", *dir,
                                     string_has_suffix(*dir, "/") ? "" : "/", de->d_name) < 0)
                                entries[n_entries].path = NULL;
                        n_entries++;
                        if (!entries[n_entries - 1].name || !entries[n_entries - 1].path) {
                                r = -ENOMEM;
                                break;
                        }
                }
        }

        if (r >= 0 && n_entries > 0)
                qsort(entries, n_entries, sizeof(Entry), entry_compare);
        for (size_t i = 0; i < n_entries; i++) {
                if (r >= 0) {
                        if (path_is_mask(entries[i].path))
                                s->n_masked++;
                        else
                                r = load_one(s, entries[i].path, flags, d);
                }
                free(entries[i].name);
                free(entries[i].path);
        }
        free(entries);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
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
