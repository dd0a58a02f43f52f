/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the outbox's replay path (src/relay/outbox.c).
 *
 * Input starting with a NUL byte: the rest is a whole file in the outbox's
 * place. Anything else: one record's payload, applied to an outbox that
 * holds an entry in every state.
 *
 * Either way nothing may crash or fail because of the content; opening
 * never fails for it; the state reached must be self-consistent (counts
 * match the list, what is due is due); and compaction followed by a
 * reopen must rebuild exactly that state, whatever it is. */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include "outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[128];

static void clean_dir(void) {
        DIR *d = opendir(dir);
        struct dirent *de;
        char p[400];

        if (!d)
                abort();
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                        (void) unlink(p);
                }
        closedir(d);
}

static char *snapshot(const Outbox *o) {
        OutboxEntry **l = NULL, *due[16];
        size_t n = outbox_list(o, &l), counts[_OUTBOX_STATE_MAX], sum = 0, n_due;
        uint64_t dropped;
        usec_t next = outbox_next_due(o);
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                abort();
        outbox_counts(o, counts, &dropped);
        for (size_t i = 0; i < _OUTBOX_STATE_MAX; i++)
                sum += counts[i];
        if (sum != n)
                abort();
        fprintf(f, "%zu %zu %zu %zu %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", counts[0], counts[1], counts[2],
                counts[3], dropped, outbox_dropped_by_people(o), next);
        for (size_t i = 0; i < n; i++) {
                const OutboxEntry *e = l[i];
                if (outbox_find(o, e->id) != e || !outbox_has(o, e->channel, e->key))
                        abort();
                if ((e->state == OUTBOX_PENDING || e->state == OUTBOX_RETRYING) && e->next_attempt < next)
                        abort();
                if (e->state != OUTBOX_DELIVERED && !e->payload)
                        abort();
                fprintf(f, "%s|%s|%s|%s|%s|%d|%u|%" PRIu64 "|%" PRIu64 "|%" PRIu64 "|%" PRIu64 "|%" PRIu64
                        "|%ld|%s\n", e->id, e->channel, e->key, strna(e->run_id), strna(e->payload), e->state,
                        e->attempts, e->created, e->last_attempt, e->next_attempt, e->finished, e->retried,
                        e->last_status, strna(e->last_error));
        }
        /* what is due at the earliest time is due, and oldest first */
        if (next != USEC_INFINITY) {
                n_due = outbox_due(o, next, NULL, due, ELEMENTSOF(due));
                if (n_due == 0)
                        abort();
                for (size_t i = 0; i < n_due; i++)
                        if (due[i]->next_attempt > next)
                                abort();
        }
        fclose(f);
        free(l);
        return buf;
}

static Outbox *open_or_die(void) {
        Outbox *o = NULL;
        int k = outbox_open(path, NULL, &o, NULL);
        if (k == -ENOMEM)
                exit(0);
        if (k < 0)
                abort(); /* never because of the content */
        outbox_set_sync(o, false);
        return o;
}

/* Compaction keeps everything here (now 0: nothing delivered is old), so
 * the file it writes must rebuild the same state. */
static void check_round_trip(Outbox *o) {
        char *before = snapshot(o), *after;

        if (outbox_compact(o, 0) < 0)
                abort();
        outbox_free(o);
        o = open_or_die();
        after = snapshot(o);
        if (strcmp(before, after) != 0) {
                fprintf(stderr, "before:\n%s\nafter:\n%s\n", before, after);
                abort();
        }
        free(before);
        free(after);
        outbox_free(o);
}

static void base_entries(Outbox *o) {
        OutboxEntry *e;

        if (outbox_enqueue(o, "c", "pending", "run-1", "{}", 1000, NULL) < 0 ||
            outbox_enqueue(o, "c", "retrying", "run-1", "{}", 1001, &e) < 0 ||
            outbox_failed(o, e, 503, "busy", true, 0.5, 1002) < 0 ||
            outbox_enqueue(o, "d", "dead", NULL, "{}", 1003, &e) < 0 ||
            outbox_failed(o, e, 400, "bad", false, 0, 1004) < 0 ||
            outbox_enqueue(o, "d", "delivered", NULL, "{}", 1005, &e) < 0 ||
            outbox_delivered(o, e, 200, 1006) < 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Outbox *o;
        int fd;

        if (!dir[0]) {
                /* tmpfs, where the syncs cost nothing */
                snprintf(dir, sizeof(dir), "/dev/shm/fuzz-outbox-record-XXXXXX");
                if (!mkdtemp(dir)) {
                        snprintf(dir, sizeof(dir), "/tmp/fuzz-outbox-record-XXXXXX");
                        if (!mkdtemp(dir))
                                abort();
                }
                snprintf(path, sizeof(path), "%s/outbox.journal", dir);
        }
        clean_dir();

        if (size > 0 && data[0] == 0) {
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || write(fd, data + 1, size - 1) != (ssize_t) (size - 1))
                        abort();
                close(fd);
                o = open_or_die();
                check_round_trip(o);
                return 0;
        }

        o = open_or_die();
        base_entries(o);
        (void) outbox_apply_record(o, data, size);
        check_round_trip(o);
        return 0;
}
