/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The replay set of remote acknowledgements (ack-replay.h): a small array,
 * scanned linearly, since a host sees a handful of acknowledgements a day
 * and at most ACK_REPLAY_MAX live at once. */

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "ack-replay.h"

typedef struct AckReplayEntry {
        char *id;
        usec_t until;
} AckReplayEntry;

struct AckReplay {
        AckReplayEntry *entries;
        size_t n, max;
};

int ack_replay_new(size_t max, AckReplay **ret) {
        AckReplay *r;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->max = max > 0 ? max : ACK_REPLAY_MAX;
        r->entries = calloc(r->max, sizeof(AckReplayEntry));
        if (!r->entries) {
                free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

AckReplay *ack_replay_free(AckReplay *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n; i++)
                free(r->entries[i].id);
        free(r->entries);
        return mfree(r);
}

bool ack_replay_id_is_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n > ACK_REPLAY_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) id[i] <= ' ' || (unsigned char) id[i] >= 0x7f)
                        return false;
        return true;
}

static void replay_expire(AckReplay *r, usec_t now) {
        size_t k = 0;

        for (size_t i = 0; i < r->n; i++) {
                if (r->entries[i].until <= now) {
                        free(r->entries[i].id);
                        continue;
                }
                r->entries[k++] = r->entries[i];
        }
        r->n = k;
}

bool ack_replay_contains(const AckReplay *r, const char *id, usec_t now) {
        if (!r || !id)
                return false;
        for (size_t i = 0; i < r->n; i++)
                if (r->entries[i].until > now && streq(r->entries[i].id, id))
                        return true;
        return false;
}

bool ack_replay_has_room(const AckReplay *r, usec_t now) {
        size_t live = 0;

        for (size_t i = 0; i < r->n; i++)
                if (r->entries[i].until > now)
                        live++;
        return live < r->max;
}

size_t ack_replay_size(const AckReplay *r) {
        return r ? r->n : 0;
}

int ack_replay_add(AckReplay *r, const char *id, usec_t until, usec_t now) {
        char *copy;

        if (!ack_replay_id_is_valid(id) || until <= now)
                return -EINVAL;
        if (ack_replay_contains(r, id, now))
                return -EEXIST;
        replay_expire(r, now);
        if (r->n >= r->max)
                return -ENOSPC;
        copy = strdup(id);
        if (!copy)
                return -ENOMEM;
        r->entries[r->n++] = (AckReplayEntry) { .id = copy, .until = until };
        return 0;
}

int ack_replay_read(AckReplay *r, FILE *f, usec_t now, size_t *ret_skipped) {
        char line[64 + ACK_REPLAY_ID_MAX + 2];
        size_t skipped = 0;

        while (fgets(line, sizeof(line), f)) {
                size_t len = strlen(line);
                unsigned long long until;
                char *end, *id;
                int k;

                if (len == 0 || line[len - 1] != '\n') {
                        /* Too long, or the last line cut short (or a NUL
                         * in it): skip to the next newline. */
                        int c;

                        skipped++;
                        if (len + 1 == sizeof(line))
                                while ((c = fgetc(f)) != EOF && c != '\n')
                                        ;
                        continue;
                }
                line[len - 1] = 0;
                errno = 0;
                until = strtoull(line, &end, 10);
                if (errno != 0 || end == line || *end != ' ' || !isdigit((unsigned char) line[0])) {
                        skipped++;
                        continue;
                }
                id = end + 1;
                k = ack_replay_add(r, id, (usec_t) until, now);
                if (k == -ENOMEM || k == -ENOSPC)
                        return k;
                if (k < 0)      /* expired, a bad id, a duplicate */
                        skipped++;
        }
        if (ferror(f))
                return -EIO;
        if (ret_skipped)
                *ret_skipped = skipped;
        return 0;
}

int ack_replay_load(AckReplay *r, int dirfd, const char *path, usec_t now, size_t *ret_skipped) {
        _cleanup_fclose_ FILE *f = NULL;
        int fd;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT) {
                        if (ret_skipped)
                                *ret_skipped = 0;
                        return 0;
                }
                return -errno;
        }
        f = fdopen(fd, "r");
        if (!f) {
                safe_close(fd);
                return -errno;
        }
        return ack_replay_read(r, f, now, ret_skipped);
}

int ack_replay_save(const AckReplay *r, int dirfd, const char *path) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int fd, k;

        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                k = -errno;
                safe_close(fd);
                (void) unlinkat(dirfd, tmp, 0);
                return k;
        }
        for (size_t i = 0; i < r->n; i++)
                fprintf(f, "%" PRIu64 " %s\n", r->entries[i].until, r->entries[i].id);
        if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
                k = negative_errno();
                (void) unlinkat(dirfd, tmp, 0);
                return k;
        }
        if (renameat(dirfd, tmp, dirfd, path) < 0) {
                k = -errno;
                (void) unlinkat(dirfd, tmp, 0);
                return k;
        }
        return 0;
}
