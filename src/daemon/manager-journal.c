/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Opening the run journal at start, whatever is in its place. The file
 * layer never refuses a journal for its content: it keeps whatever was
 * damaged aside and hands back every intact record (docs/journal-format.md,
 * "Replay and recovery"). Here that outcome is said loudly, once, with a
 * MESSAGE_ID; the bus (JournalRecovery) and salvectl status keep saying it
 * for as long as this salved runs. */

#include <inttypes.h>
#include <sys/stat.h>

#include "log.h"
#include "manager.h"

/* "at offset 504 (216 bytes), at offset 4096 (24 bytes) and 3 more" */
static char *format_gaps(const JournalRecovery *rec) {
        _cleanup_free_ char *s = strdup("");
        size_t shown = (size_t) MIN(rec->n_gaps, (uint64_t) JOURNAL_RECOVERY_GAPS_MAX);

        for (size_t i = 0; s && i < shown; i++) {
                char *n = NULL;
                if (asprintf(&n, "%s%s%" PRIu64 " (%" PRIu64 " byte%s)", s,
                             i == 0 ? "" : i + 1 == shown && rec->n_gaps == shown ? " and " : ", ",
                             rec->gaps[i].offset, rec->gaps[i].size, rec->gaps[i].size == 1 ? "" : "s") < 0)
                        return NULL;
                free(s);
                s = n;
        }
        if (s && rec->n_gaps > shown) {
                char *n = NULL;
                if (asprintf(&n, "%s and %" PRIu64 " more", s, rec->n_gaps - shown) < 0)
                        return NULL;
                free(s);
                s = n;
        }
        return TAKE_PTR(s);
}

static void log_recovery(const char *journal, const JournalRecovery *rec, const RunStoreReplay *stats) {
        _cleanup_free_ char *gaps = NULL, *orphans = NULL;

        switch (rec->damage) {
        case JOURNAL_DAMAGE_NOT_REGULAR:
                log_struct_internal(LOG_ERR, 0, SALVE_MESSAGE_JOURNAL_DAMAGED, NULL, NULL, NULL,
                                    "Run journal %s is %s, not a file: set it aside as %s and started a new, "
                                    "empty journal. No runs are known from before.",
                                    journal, rec->reason, rec->aside_path);
                return;
        case JOURNAL_DAMAGE_UNSUPPORTED:
                log_struct_internal(LOG_ERR, 0, SALVE_MESSAGE_JOURNAL_DAMAGED, NULL, NULL, NULL,
                                    "Run journal %s cannot be read by this version of salve (%s): set it aside, "
                                    "unread, as %s (%" PRIu64 " bytes) and started a new, empty journal. The runs "
                                    "in it are known again if the salve that wrote it is reinstalled and the file "
                                    "moved back.",
                                    journal, rec->reason, rec->aside_path, rec->file_size);
                return;
        case JOURNAL_DAMAGE_HEADER:
        case JOURNAL_DAMAGE_RECORDS:
                gaps = rec->n_gaps > 0 ? format_gaps(rec) : NULL;
                if (stats->orphans > 0 &&
                    asprintf(&orphans, " %" PRIu64 " intact record%s belonged to runs whose start was lost.",
                             stats->orphans, stats->orphans == 1 ? "" : "s") < 0)
                        orphans = NULL;
                log_struct_internal(LOG_ERR, 0, SALVE_MESSAGE_JOURNAL_DAMAGED, NULL, NULL, NULL,
                                    "Run journal %s was damaged (%s): kept the damaged file as %s (%" PRIu64
                                    " bytes); recovered %" PRIu64 " intact record%s into a new journal; lost %"
                                    PRIu64 " byte%s in %" PRIu64 " gap%s%s%s.%s",
                                    journal, rec->reason, rec->aside_path, rec->file_size, rec->records,
                                    rec->records == 1 ? "" : "s", rec->lost_bytes, rec->lost_bytes == 1 ? "" : "s",
                                    rec->n_gaps, rec->n_gaps == 1 ? "" : "s", gaps ? " at offset " : "",
                                    strempty(gaps), strempty(orphans));
                return;
        default:
                return;
        }
}

int manager_open_journal(Manager *m) {
        _cleanup_free_ char *journal = NULL;
        RunStoreReplay stats = {};
        int k;

        if (mkdir(m->state_dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(negative_errno(), "Failed to create %s: %m", m->state_dir);
        if (asprintf(&journal, "%s/journal", m->state_dir) < 0)
                return log_oom();
        k = run_store_open(journal, &m->store, &stats);
        if (k < 0)
                return log_error_errno(k, "Failed to open the run journal %s: %m", journal);

        log_recovery(journal, &m->store->recovery, &stats);
        if (stats.dropped_bytes > 0)
                log_warning("Run journal %s: cut off a torn last record of %" PRIu64 " bytes (a write a crash "
                            "interrupted), continuing.", journal, stats.dropped_bytes);
        if (stats.bad_records > 0 || stats.orphans > 0)
                log_warning("Run journal %s: skipped %" PRIu64 " unreadable and %" PRIu64 " orphaned records.",
                            journal, stats.bad_records, stats.orphans);
        log_info("Run journal %s: replayed %" PRIu64 " record%s, %zu run%s.", journal, stats.records,
                 stats.records == 1 ? "" : "s", m->store->n_runs, m->store->n_runs == 1 ? "" : "s");
        if (m->crash_at_record > 0)
                journal_file_set_crash_point(m->store->journal, m->crash_at_record, m->crash_torn_bytes);
        return 0;
}
