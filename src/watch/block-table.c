/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The block device table, the announcement rule and the resync diff
 * (see block-table.h). Pure: no I/O. */

#include <stdlib.h>
#include <string.h>

#include "block-table.h"

void block_identity_done(BlockIdentity *id) {
        id->fs_type = mfree(id->fs_type);
        id->uuid = mfree(id->uuid);
        id->label = mfree(id->label);
        id->partuuid = mfree(id->partuuid);
}

bool block_identity_equal(const BlockIdentity *a, const BlockIdentity *b) {
        return streq_ptr(a->fs_type, b->fs_type) && streq_ptr(a->uuid, b->uuid) &&
               streq_ptr(a->label, b->label) && streq_ptr(a->partuuid, b->partuuid);
}

bool block_identity_is_empty(const BlockIdentity *id) {
        return !id->fs_type && !id->uuid && !id->label && !id->partuuid;
}

static int dup_or_null(const char *s, char **ret) {
        if (!s || !*s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int block_identity_set(BlockIdentity *id, const char *fs_type, const char *uuid, const char *label,
                       const char *partuuid) {
        BlockIdentity n = {};

        if (dup_or_null(fs_type, &n.fs_type) < 0 || dup_or_null(uuid, &n.uuid) < 0 ||
            dup_or_null(label, &n.label) < 0 || dup_or_null(partuuid, &n.partuuid) < 0) {
                block_identity_done(&n);
                return -ENOMEM;
        }
        block_identity_done(id);
        *id = n;
        return 0;
}

int block_identity_copy(BlockIdentity *dst, const BlockIdentity *src) {
        return block_identity_set(dst, src->fs_type, src->uuid, src->label, src->partuuid);
}

BlockDevice *block_device_free(BlockDevice *d) {
        if (!d)
                return NULL;
        free(d->sysname);
        free(d->node);
        free(d->devname);
        block_identity_done(&d->id);
        return mfree(d);
}

int block_device_new(unsigned major, unsigned minor, const char *sysname, const char *devname,
                     BlockDevice **ret) {
        _cleanup_(block_device_freep) BlockDevice *d = NULL;

        if (!sysname || !devname || !ret)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->major = major;
        d->minor = minor;
        d->size = UINT64_MAX;
        d->sysname = strdup(sysname);
        d->devname = strdup(devname);
        if (!d->sysname || !d->devname || asprintf(&d->node, "/dev/%s", devname) < 0) {
                d->node = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

static int devnum_cmp(unsigned amaj, unsigned amin, unsigned bmaj, unsigned bmin) {
        if (amaj != bmaj)
                return amaj < bmaj ? -1 : 1;
        if (amin != bmin)
                return amin < bmin ? -1 : 1;
        return 0;
}

/* The index of (major, minor), or where it would go. */
static size_t table_search(const BlockTable *t, unsigned major, unsigned minor, bool *found) {
        size_t lo = 0, hi = t->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = devnum_cmp(t->devices[mid]->major, t->devices[mid]->minor, major, minor);

                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

void block_table_done(BlockTable *t) {
        for (size_t i = 0; i < t->n; i++)
                block_device_free(t->devices[i]);
        t->devices = mfree(t->devices);
        t->n = t->allocated = 0;
}

BlockDevice *block_table_find(const BlockTable *t, unsigned major, unsigned minor) {
        bool found;
        size_t i = table_search(t, major, minor, &found);

        return found ? t->devices[i] : NULL;
}

int block_table_insert(BlockTable *t, BlockDevice *d) {
        bool found;
        size_t i = table_search(t, d->major, d->minor, &found);

        if (found)
                return -EEXIST;
        if (t->n == t->allocated) {
                size_t a = MAX(t->allocated * 2, (size_t) 64);
                BlockDevice **n = reallocarray(t->devices, a, sizeof(*n));

                if (!n)
                        return -ENOMEM;
                t->devices = n;
                t->allocated = a;
        }
        memmove(t->devices + i + 1, t->devices + i, (t->n - i) * sizeof(*t->devices));
        t->devices[i] = d;
        t->n++;
        return 0;
}

int block_table_remove(BlockTable *t, BlockDevice *d) {
        bool found;
        size_t i = table_search(t, d->major, d->minor, &found);

        if (!found || t->devices[i] != d)
                return -ENOENT;
        memmove(t->devices + i, t->devices + i + 1, (t->n - i - 1) * sizeof(*t->devices));
        t->n--;
        return 0;
}

BlockTransition block_transition(bool announced, const BlockIdentity *announced_id, bool present,
                                 const BlockIdentity *found) {
        if (!present)
                return announced ? BLOCK_TRANSITION_REMOVE : BLOCK_TRANSITION_NONE;
        if (!announced)
                return BLOCK_TRANSITION_ADD;
        if (!found || block_identity_equal(announced_id, found))
                return BLOCK_TRANSITION_NONE;
        return BLOCK_TRANSITION_REPLACE;
}

static int entry_cmp(const void *a, const void *b) {
        const BlockSnapshotEntry *x = *(const BlockSnapshotEntry *const *) a,
                                 *y = *(const BlockSnapshotEntry *const *) b;

        return devnum_cmp(x->major, x->minor, y->major, y->minor);
}

int block_table_diff(BlockTable *t, const BlockSnapshotEntry *entries, size_t n, block_diff_handler_t handler,
                     void *userdata) {
        _cleanup_free_ const BlockSnapshotEntry **sorted = NULL;
        _cleanup_free_ BlockDevice **gone = NULL;
        size_t n_gone = 0, i, j;
        int r;

        sorted = calloc(MAX(n, (size_t) 1), sizeof(*sorted));
        gone = calloc(MAX(t->n, (size_t) 1), sizeof(*gone));
        if (!sorted || !gone)
                return -ENOMEM;
        for (i = 0; i < n; i++)
                sorted[i] = &entries[i];
        qsort(sorted, n, sizeof(*sorted), entry_cmp);
        for (i = 1; i < n; i++)
                if (entry_cmp(&sorted[i - 1], &sorted[i]) == 0)
                        return -EBADMSG;

        /* Merge walk: both sides sorted by number. */
        for (i = 0, j = 0; i < t->n; i++) {
                BlockDevice *d = t->devices[i];

                while (j < n && devnum_cmp(sorted[j]->major, sorted[j]->minor, d->major, d->minor) < 0)
                        j++;
                if (j >= n || devnum_cmp(sorted[j]->major, sorted[j]->minor, d->major, d->minor) != 0 ||
                    !streq(sorted[j]->sysname, d->sysname))
                        gone[n_gone++] = d;
        }
        for (i = 0; i < n_gone; i++) {
                r = handler(BLOCK_DIFF_GONE, gone[i], NULL, userdata);
                if (r < 0)
                        return r;
        }

        for (j = 0; j < n; j++) {
                const BlockSnapshotEntry *e = sorted[j];
                BlockDevice *d = block_table_find(t, e->major, e->minor);

                if (!d)
                        r = handler(BLOCK_DIFF_NEW, NULL, e, userdata);
                else if (d->diskseq != e->diskseq || d->size != e->size)
                        r = handler(BLOCK_DIFF_CHANGED, d, e, userdata);
                else
                        r = 0;
                if (r < 0)
                        return r;
        }
        return 0;
}
