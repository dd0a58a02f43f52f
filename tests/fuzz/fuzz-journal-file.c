/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes in the run journal's place. The recovering
 * open must never crash, nor fail because of what it finds; it delivers
 * only intact records, keeps whatever it sets aside byte for byte, and
 * leaves a journal that takes appends and replays to exactly the records
 * it delivered. */

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "journal-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Seen {
        uint64_t n;
        uint64_t bytes;
} Seen;

static int count_cb(const void *payload, size_t size, void *userdata) {
        Seen *s = userdata;

        if (size > JOURNAL_PAYLOAD_MAX || (size > 0 && !payload))
                abort();
        s->n++;
        s->bytes += size;
        return 0;
}

static bool file_equals(const char *path, const uint8_t *data, size_t size) {
        uint8_t *buf = malloc(size + 1);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t k = fd >= 0 ? read(fd, buf, size + 1) : -1;
        bool eq = k == (ssize_t) size && (size == 0 || memcmp(buf, data, size) == 0);

        if (fd >= 0)
                close(fd);
        free(buf);
        return eq;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char dir[64];
        char path[128];
        JournalFile *j = NULL;
        JournalRecovery rec = {};
        Seen seen = {}, again = {};
        uint64_t n, dropped;
        int fd;

        if (!dir[0]) {
                /* tmpfs, where the recovery's fsyncs cost nothing */
                snprintf(dir, sizeof(dir), "/dev/shm/fuzz-journal-file-XXXXXX");
                if (!mkdtemp(dir)) {
                        snprintf(dir, sizeof(dir), "/tmp/fuzz-journal-file-XXXXXX");
                        if (!mkdtemp(dir))
                                abort();
                }
        }
        snprintf(path, sizeof(path), "%s/journal", dir);

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size))
                abort();
        close(fd);

        if (journal_file_open_recover(path, count_cb, &seen, &j, &rec) < 0)
                abort();
        if (seen.n != rec.records)
                abort();
        if ((rec.damage == JOURNAL_DAMAGE_NONE) != !rec.aside_path)
                abort();
        if (rec.aside_path && !file_equals(rec.aside_path, data, size))
                abort();
        if (journal_file_append(j, "x", 1) < 0)
                abort();
        j = journal_file_free(j);

        /* What it left is a clean journal: the same records and the new one. */
        if (journal_file_open(path, &j) < 0 || journal_file_replay(j, count_cb, &again, &n, &dropped) < 0)
                abort();
        if (n != rec.records + 1 || dropped != 0 || again.bytes != seen.bytes + 1)
                abort();
        journal_file_free(j);

        if (rec.aside_path)
                (void) unlink(rec.aside_path);
        (void) unlink(path);
        journal_recovery_done(&rec);
        return 0;
}
