/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot-util.h"
#include "string-util.h"

const char *snapshot_exit_describe(int status, bool *ret_success) {
        static const struct {
                bool success;
                const char *text;
        } t[_SNAPSHOT_EXIT_MAX] = {
                [SNAPSHOT_EXIT_CREATED] = { true, "created" },
                [SNAPSHOT_EXIT_USAGE] = { false, "the snapshot helper was called wrongly (a bug in salve)" },
                [SNAPSHOT_EXIT_EXISTS] = { true, "already there" },
                [SNAPSHOT_EXIT_NO_SOURCE] = { false, "not made: the source does not exist or is not a volume of that backend" },
                [SNAPSHOT_EXIT_NEEDS_SIZE] = { false, "not made: the source is not a thin LV, so a classic snapshot needs with.size" },
                [SNAPSHOT_EXIT_CREATE_FAILED] = { false, "could not be made" },
                [SNAPSHOT_EXIT_CREATED_PRUNE_FAILED] = { true, "created; removing older snapshots failed" },
                [SNAPSHOT_EXIT_EXISTS_PRUNE_FAILED] = { true, "already there; removing older snapshots failed" },
                [SNAPSHOT_EXIT_NOT_OURS] = { false, "not made: the name is taken by something that is not a snapshot of the source" },
                [SNAPSHOT_EXIT_TOOL] = { false, "not made: the volume tools could not be run or their listing read" },
        };

        if (status < 0 || status >= _SNAPSHOT_EXIT_MAX)
                return NULL;
        if (ret_success)
                *ret_success = t[status].success;
        return t[status].text;
}

static bool name_char_ok(char c) {
        return isalnum((unsigned char) c) || strchr("_.+-", c);
}

bool snapshot_name_is_valid(const char *s) {
        size_t n;

        if (!s || !*s || s[0] == '-' || s[0] == '.')
                return false;
        n = strlen(s);
        if (n > SNAPSHOT_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!name_char_ok(s[i]))
                        return false;
        return true;
}

int snapshot_default_prefix(const char *source, char **ret) {
        const char *start, *end;
        char *p;
        size_t n;

        if (!source || !ret)
                return -EINVAL;
        end = source + strlen(source);
        while (end > source && end[-1] == '/')
                end--;
        start = end;
        while (start > source && start[-1] != '/')
                start--;
        n = (size_t) (end - start);
        if (n == 0)
                return -EINVAL;         /* "/" has no name of its own */
        if (n > SNAPSHOT_NAME_MAX - 32)
                n = SNAPSHOT_NAME_MAX - 32;
        if (asprintf(&p, "%.*s-salve", (int) n, start) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!name_char_ok(p[i]) || (i == 0 && (p[i] == '-' || p[i] == '.')))
                        p[i] = '_';
        *ret = p;
        return 0;
}

int snapshot_name(const char *prefix, const char *run_id, char **ret) {
        char *s;

        if (!prefix || !*prefix || !run_id || !*run_id || !ret)
                return -EINVAL;
        if (asprintf(&s, "%s-%s", prefix, run_id) < 0)
                return -ENOMEM;
        if (!snapshot_name_is_valid(s)) {
                free(s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

bool snapshot_name_matches(const char *name, const char *prefix, uint64_t *ret_run_number) {
        const char *run, *dash;
        size_t n;
        uint64_t num = 0;

        if (!name || !prefix || !*prefix)
                return false;
        n = strlen(prefix);
        if (strncmp(name, prefix, n) != 0 || name[n] != '-')
                return false;
        run = name + n + 1;
        /* PLAN-N: a plan name (starts alphanumeric), a dash, digits. */
        if (!isalnum((unsigned char) run[0]))
                return false;
        for (const char *c = run; *c; c++)
                if (!isalnum((unsigned char) *c) && !strchr("_.-", *c))
                        return false;
        dash = strrchr(run, '-');
        if (!dash || dash == run || !dash[1])
                return false;
        for (const char *c = dash + 1; *c; c++) {
                if (!isdigit((unsigned char) *c))
                        return false;
                if (num > (UINT64_MAX - 9) / 10)
                        return false;
                num = num * 10 + (uint64_t) (*c - '0');
        }
        if (ret_run_number)
                *ret_run_number = num;
        return true;
}

void snapshot_entries_free(SnapshotEntry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++)
                free(e[i].name);
        free(e);
}

typedef struct SortKey {
        bool current;
        usec_t created;
        uint64_t number;
        const char *name;
} SortKey;

/* Newest first. */
static int compare_newest(const SortKey *a, const SortKey *b) {
        if (a->current != b->current)
                return a->current ? -1 : 1;
        if (a->created != b->created)
                return a->created > b->created ? -1 : 1;
        if (a->number != b->number)
                return a->number > b->number ? -1 : 1;
        return -strcmp(a->name, b->name);
}

typedef struct SortContext {
        const char *prefix, *current;
} SortContext;

static SortKey key_of(const SnapshotEntry *e, const SortContext *c) {
        SortKey k = { .created = e->created, .name = e->name };

        (void) snapshot_name_matches(e->name, c->prefix, &k.number);
        k.current = streq_ptr(e->name, c->current);
        return k;
}

/* Matching entries first, newest first; the others after, in name order. */
static int compare_entries(const void *pa, const void *pb, void *userdata) {
        const SnapshotEntry *a = pa, *b = pb;
        const SortContext *c = userdata;
        bool ma = snapshot_name_matches(a->name, c->prefix, NULL), mb = snapshot_name_matches(b->name, c->prefix, NULL);
        SortKey ka, kb;

        if (ma != mb)
                return ma ? -1 : 1;
        if (!ma)
                return strcmp(a->name, b->name);
        ka = key_of(a, c);
        kb = key_of(b, c);
        return compare_newest(&ka, &kb);
}

int snapshot_select_prune(SnapshotEntry *e, size_t n, const char *prefix, const char *current, unsigned keep) {
        SortContext c = { prefix, current };
        unsigned kept = 0;
        int pruned = 0;

        if ((!e && n > 0) || !prefix || !*prefix || keep < 1)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!e[i].name)
                        return -EINVAL;
        if (n > 0)
                qsort_r(e, n, sizeof(*e), compare_entries, &c);

        for (size_t i = 0; i < n; i++) {
                e[i].prune = false;
                if (!snapshot_name_matches(e[i].name, prefix, NULL))
                        continue;
                if (kept < keep) {
                        kept++;
                        continue;
                }
                e[i].prune = true;
                pruned++;
        }
        return pruned;
}

/* One field of a '|'-separated line, trimmed, without lvs's [] around
 * hidden LVs. */
static char *field_dup(const char *start, const char *end) {
        while (start < end && isspace((unsigned char) *start))
                start++;
        while (end > start && isspace((unsigned char) end[-1]))
                end--;
        if (end - start >= 2 && *start == '[' && end[-1] == ']') {
                start++;
                end--;
        }
        return strndup(start, (size_t) (end - start));
}

/* Splits one listing line into at most 4 fields; returns how many. */
static int split_line(const char *line, size_t len, char *f[4]) {
        const char *p = line, *end = line + len;
        int n = 0;

        while (n < 4) {
                const char *bar = memchr(p, '|', (size_t) (end - p));
                const char *stop = bar ?: end;
                f[n] = field_dup(p, stop);
                if (!f[n])
                        return -ENOMEM;
                n++;
                if (!bar)
                        break;
                p = bar + 1;
        }
        return n;
}

static void fields_free(char **f, int n) {
        for (int i = 0; i < n; i++)
                free(f[i]);
}

static int parse_time(const char *s, usec_t *ret) {
        char *end;
        unsigned long long v;

        if (!*s) {
                *ret = 0;
                return 0;
        }
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > UINT64_MAX / USEC_PER_SEC)
                return -EINVAL;
        *ret = (usec_t) v * USEC_PER_SEC;
        return 0;
}

int snapshot_parse_lvs(const char *text, const char *origin, SnapshotEntry **ret, size_t *ret_n) {
        SnapshotEntry *list = NULL;
        size_t n = 0;
        int r = 0;

        if (!text || !origin || !ret || !ret_n)
                return -EINVAL;
        for (const char *line = text; *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                char *f[4];
                int k;

                k = split_line(line, len, f);
                if (k < 0) {
                        r = k;
                        break;
                }
                if (k == 1 && !*f[0]) {
                        fields_free(f, k);              /* a blank line */
                } else if (k < 3) {
                        fields_free(f, k);
                        r = -EBADMSG;
                        break;
                } else if (streq(f[1], origin)) {
                        usec_t t;
                        SnapshotEntry *nl_list;
                        r = parse_time(f[2], &t);
                        if (r >= 0 && !(nl_list = realloc(list, (n + 1) * sizeof(*list))))
                                r = -ENOMEM;
                        if (r < 0) {
                                fields_free(f, k);
                                break;
                        }
                        list = nl_list;
                        list[n++] = (SnapshotEntry) { .name = f[0], .created = t };
                        f[0] = NULL;
                        fields_free(f + 1, k - 1);
                } else
                        fields_free(f, k);
                line = nl ? nl + 1 : line + len;
        }
        if (r < 0) {
                snapshot_entries_free(list, n);
                return r;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

int snapshot_lvs_find(const char *text, const char *lv, char **ret_origin, char **ret_segtype) {
        if (!text || !lv)
                return -EINVAL;
        for (const char *line = text; *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                char *f[4];
                int k = split_line(line, len, f);

                if (k < 0)
                        return k;
                if (k >= 1 && streq(f[0], lv)) {
                        if (k < 4) {
                                fields_free(f, k);
                                return -EBADMSG;
                        }
                        if (ret_origin)
                                *ret_origin = TAKE_PTR(f[1]);
                        if (ret_segtype)
                                *ret_segtype = TAKE_PTR(f[3]);
                        fields_free(f, k);
                        return 1;
                }
                fields_free(f, k);
                line = nl ? nl + 1 : line + len;
        }
        return 0;
}
