/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* raid.wait-sync and raid.check: an md array's sync, watched through sysfs.
 *
 * md sends no uevent for a resync's progress or end. It wakes poll()ers
 * (POLLPRI|POLLERR) of /sys/block/mdX/md/{array_state, sync_action,
 * sync_completed, degraded}; a woken file stays so until it is read again
 * from offset 0. The job holds those four open as sd-event io sources
 * (EPOLLPRI), and on every wake re-reads all of them (which re-arms them),
 * reads the rest (resync_start, sync_min, mismatch_cnt, sync_speed, the
 * members' dev-X/state) afresh, parses them with md-state.c and judges the
 * new state. Nothing runs on a timer but the step's timeout. sync_completed
 * is what md notifies while a sync runs (at every 1/16 of the array, or
 * every few minutes), so progress is reported at each of those.
 * A fixture tree (a unit test's temp dir) has regular files, which epoll
 * refuses (EPERM); then one inotify watch on the md/ directory wakes the
 * job when a file there is rewritten instead. Real sysfs never takes that
 * path (inotify sees nothing there).
 *
 * salved only reads md: its sandbox (salved.service: ProtectKernelTunables=
 * makes /sys read-only) cannot write sysfs, and it should not. What the
 * steps change in md runs as a transient unit of the step,
 * salve-RUN-STEP-ATTEMPT-{readwrite,check,idle}.service, logged under the
 * step like an exec step's command:
 *   readwrite  mdadm --readwrite /dev/mdX
 *   check      sh -c 'echo 0 > sync_min && echo check > sync_action'
 *   idle       mdadm --action=idle /dev/mdX
 * and the step reads the array again once the unit has ended. Pointed at a
 * fixture tree (executor_set_roots()) there is no systemd to ask, and the
 * step writes the same attributes itself.
 *
 * raid.wait-sync {array, start-pending, allow-degraded}: done when the
 * array is in sync (md_array_state_is_in_sync(): running, not degraded,
 * resync_start "none", no resync, recovery or reshape). After an unclean
 * shutdown Debian's md_mod start_ro=1 brings an array up read-auto with a
 * resync pending and sync_action "idle": that is not in sync. With
 * start-pending the step starts it with `mdadm --readwrite` (md's
 * RESTART_ARRAY_RW: restart_array(); on a fixture, "active" written to
 * array_state, which md turns into the same call). A
 * degraded array fails the step unless something rebuilds it (a recovery
 * runs, or a spare waits for one) or allow-degraded says a degraded array
 * with nothing left to sync will do. An array that stops or disappears
 * fails it. Resume: wait again (idempotent).
 *
 * raid.check {array, max-mismatch}: on an array in sync, writes "check" to
 * sync_action (sync_min back to 0 first if an earlier interrupted check
 * left it set, so the whole array is read), waits until sync_action leaves
 * "check", then reads mismatch_cnt. A check that md ends early leaves
 * sync_min at its checkpoint (md_do_sync() on MD_RECOVERY_INTR): that is
 * "interrupted", not "done". A check already running when the step starts
 * is waited for and its count used (it is not ours to stop). A timeout
 * stops our check ("idle") before the step ends; a cancel leaves it to
 * finish (the job is gone at once, and a unit started then would have no
 * owner to collect it). Resume: a check still running is waited
 * for; one no longer running may have finished or been interrupted while
 * salved was down, and mismatch_cnt may be a later sync's: EXEC_UNKNOWN,
 * with what md shows now. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/inotify.h>

#include "exec-kind.h"
#include "fileio.h"
#include "md-state.h"
#include "raid-progress.h"
#include "string-util.h"

#define RAID_WAKE_ROUNDS 4      /* re-reads in one wake after writing an attribute */
#define RAID_CHANGE_TIMEOUT_USEC (60 * USEC_PER_SEC)    /* mdadm and echo take milliseconds */

typedef enum RaidMode {
        RAID_WAIT_SYNC,
        RAID_CHECK,
} RaidMode;

typedef enum RaidChange {
        RAID_CHANGE_READWRITE,  /* start a pending resync */
        RAID_CHANGE_CHECK,      /* sync_min 0, sync_action check */
        RAID_CHANGE_IDLE,       /* stop our check */
        _RAID_CHANGE_MAX,
} RaidChange;

typedef enum RaidVerdict {
        RAID_WAIT,              /* nothing to do until md wakes us */
        RAID_AGAIN,             /* we wrote an attribute: read again now */
        RAID_FINISHED,          /* the job is gone */
} RaidVerdict;

typedef struct RaidState {
        bool inited;            /* fds below are valid (-EBADF or open) */
        RaidMode mode;
        bool start_pending, allow_degraded;
        uint64_t max_mismatch;

        char name[MD_NAME_MAX]; /* the kernel's name: md0, md127 */
        char *dir;              /* SYSFS/block/md0/md */
        int dir_fd;
        int fd[MD_ATTR_POLLED_MAX];
        sd_event_source *source[MD_ATTR_POLLED_MAX];
        sd_event_source *inotify;
        sd_event_source *defer; /* the first read, from the loop */
        sd_event_source *timeout;       /* the step's (job->timer is the transient facility's) */

        bool direct;            /* a fixture tree: write md's attributes ourselves */
        char *run_id;
        unsigned attempt;
        bool changing;          /* a transient unit of ours changes md */
        RaidChange change;
        unsigned changes;       /* units started, for their names */
        bool timed_out;         /* the timeout came while we stop our check */

        MdArrayState state;
        bool have_state;
        int64_t speed_kib;
        RaidRate rate;
        char last_progress[256];

        bool wrote_active;      /* wait-sync: we started the pending resync */
        bool saw_sync;          /* wait-sync: a resync or recovery ran while we watched */
        bool check_started;     /* check: ours (or one we joined) is under way */
        bool owns_check;        /* check: we wrote "check" (or picked ours up after a restart) */
} RaidState;

#define R(job) ((RaidState *) (job)->state)

/* ---- the array's files ---- */

static void raid_close_attrs(RaidState *r) {
        for (size_t i = 0; i < MD_ATTR_POLLED_MAX; i++) {
                r->source[i] = sd_event_source_disable_unref(r->source[i]);
                r->fd[i] = safe_close(r->fd[i]);
        }
}

static void raid_init(ExecJob *job, RaidMode mode) {
        RaidState *r = R(job);

        r->mode = mode;
        r->dir_fd = -EBADF;
        for (size_t i = 0; i < MD_ATTR_POLLED_MAX; i++)
                r->fd[i] = -EBADF;
        r->speed_kib = -1;
        md_array_state_init(&r->state, NULL);
        r->inited = true;
}

/* md0, /dev/md0, md/NAME or /dev/md/NAME (DEVFS/md/NAME -> ../md127). */
static int raid_resolve(const char *devfs, const char *array, char name[static MD_NAME_MAX]) {
        char path[PATH_MAX], target[PATH_MAX];
        const char *n = array;
        ssize_t k;

        if (string_has_prefix(n, "/dev/"))
                n += 5;
        if (string_has_prefix(n, "md/")) {
                const char *base;

                if (!n[3] || strchr(n + 3, '/') || streq(n + 3, ".") || streq(n + 3, ".."))
                        return -EINVAL;
                snprintf(path, sizeof(path), "%s/%s", devfs, n);
                k = readlink(path, target, sizeof(target) - 1);
                if (k < 0)
                        return -errno;
                target[k] = 0;
                base = strrchr(target, '/');
                n = base ? base + 1 : target;
        }
        if (!md_array_name_valid(n))    /* also: shorter than MD_NAME_MAX */
                return -EINVAL;
        memcpy(name, n, strlen(n) + 1);
        return 0;
}

static int on_raid_attr(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static int on_raid_inotify(sd_event_source *s, const struct inotify_event *event, void *userdata);

static int raid_open_attr(ExecJob *job, MdAttr a) {
        RaidState *r = R(job);
        char desc[64];
        int fd, q;

        fd = openat(r->dir_fd, md_attr_to_string(a), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        q = sd_event_add_io(job->executor->event, &r->source[a], fd, EPOLLPRI, on_raid_attr, job);
        if (q == -EPERM && !r->inotify) {
                /* a regular file: a fixture tree, not sysfs */
                q = sd_event_add_inotify(job->executor->event, &r->inotify, r->dir,
                                         IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE, on_raid_inotify,
                                         job);
                if (q >= 0)
                        (void) sd_event_source_set_description(r->inotify, "exec-raid-fixture");
        } else if (q == -EPERM)
                q = 0;
        else if (q >= 0) {
                snprintf(desc, sizeof(desc), "exec-raid-%s-%s", r->name, md_attr_to_string(a));
                (void) sd_event_source_set_description(r->source[a], desc);
        }
        if (q < 0) {
                safe_close(fd);
                return q;
        }
        r->fd[a] = fd;
        return 0;
}

/* Through the held fd (reopened once if the kernel replaced the node). */
static int raid_read_polled(ExecJob *job, MdAttr a, char *buf, size_t size, size_t *ret_len) {
        RaidState *r = R(job);
        int q = 0;

        for (int attempt = 0; attempt < 2; attempt++) {
                if (r->fd[a] < 0) {
                        q = raid_open_attr(job, a);
                        if (q < 0)
                                return q;
                }
                q = read_fd_from_zero(r->fd[a], buf, size, ret_len);
                if (q >= 0)
                        return q;
                /* never keep a file that does not read: it could poll PRI forever */
                r->source[a] = sd_event_source_disable_unref(r->source[a]);
                r->fd[a] = safe_close(r->fd[a]);
                if (q != -ENODEV && q != -ENOENT)
                        return q;
        }
        return q;
}

static int raid_read_members(RaidState *r, MdArrayState *s) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd;

        fd = openat(r->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                char path[sizeof(de->d_name) + 16], buf[MD_VALUE_MAX + 1];
                MdMemberState m = {};
                size_t len;
                int q;

                if (strncmp(de->d_name, "dev-", 4) != 0 || !md_member_name_valid(de->d_name + 4))
                        continue;
                snprintf(path, sizeof(path), "%s/state", de->d_name);
                if (read_small_file_at(r->dir_fd, path, buf, sizeof(buf), &len) < 0)
                        continue;       /* going away */
                if (md_member_state_parse(buf, len, &m) < 0)
                        continue;
                snprintf(m.name, sizeof(m.name), "%s", de->d_name + 4);
                q = md_array_state_put_member(s, &m);
                if (q < 0)
                        return q;
        }
        return 0;
}

/* Reads the array afresh into R->state. -ENOENT: the array is gone. */
static int raid_read(ExecJob *job) {
        RaidState *r = R(job);
        char buf[MD_VALUE_MAX + 1];
        MdArrayState s;
        size_t len;
        int q;

        md_array_state_init(&s, r->name);
        for (MdAttr a = 0; a < _MD_ATTR_MAX; a++) {
                if (a < MD_ATTR_POLLED_MAX)
                        q = raid_read_polled(job, a, buf, sizeof(buf), &len);
                else
                        q = read_small_file_at(r->dir_fd, md_attr_to_string(a), buf, sizeof(buf), &len);
                if (q == -ENOMEM) {
                        md_array_state_done(&s);
                        return q;
                }
                if (q < 0)
                        continue;       /* raid0 has no sync_action: unknown */
                if (md_array_state_set_attr(&s, a, buf, len) < 0 && r->have_state)
                        md_array_state_take_attr(&s, &r->state, a);     /* keep the last good value */
        }
        /* The array's files all went with it: gone, not merely unreadable. */
        if (!md_array_state_knows(&s, MD_ATTR_ARRAY_STATE) && faccessat(r->dir_fd, "array_state", F_OK, 0) < 0) {
                md_array_state_done(&s);
                return -ENOENT;
        }
        q = raid_read_members(r, &s);
        if (q < 0) {
                md_array_state_done(&s);
                return q;
        }
        if (read_small_file_at(r->dir_fd, "sync_speed", buf, sizeof(buf), &len) < 0 ||
            raid_parse_sync_speed(buf, len, &r->speed_kib) < 0)
                r->speed_kib = -1;

        md_array_state_done(&r->state);
        r->state = s;
        r->have_state = true;
        raid_rate_observe(&r->rate, &r->state, now_usec(CLOCK_MONOTONIC));
        return 0;
}

static int raid_write_attr(RaidState *r, const char *attr, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(value);
        ssize_t k;

        fd = openat(r->dir_fd, attr, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        k = write(fd, value, n);
        if (k < 0)
                return -errno;
        return (size_t) k == n ? 0 : -EIO;
}

static const char *const change_name[_RAID_CHANGE_MAX] = {
        [RAID_CHANGE_READWRITE] = "readwrite",
        [RAID_CHANGE_CHECK] = "check",
        [RAID_CHANGE_IDLE] = "idle",
};

static void raid_wake(ExecJob *job);
static void raid_finish_timeout(ExecJob *job, bool stopped);

/* What a change would have md do, written by us (fixture trees only). */
static int raid_change_direct(RaidState *r, RaidChange c) {
        int q;

        switch (c) {
        case RAID_CHANGE_READWRITE:
                return raid_write_attr(r, "array_state", "active");
        case RAID_CHANGE_CHECK:
                q = raid_write_attr(r, "sync_min", "0");
                return q < 0 ? q : raid_write_attr(r, "sync_action", "check");
        case RAID_CHANGE_IDLE:
                return raid_write_attr(r, "sync_action", "idle");
        default:
                return -EINVAL;
        }
}

static void on_change_end(ExecJob *job, ExecOutcome outcome, int error, int exit_status, const char *message) {
        RaidState *r = R(job);
        RaidChange c = r->change;

        r->changing = false;
        if (c == RAID_CHANGE_IDLE && r->timed_out) {
                /* the step is over either way; the unit's result is in the journal */
                exec_transient_release(job);
                raid_finish_timeout(job, outcome == EXEC_SUCCEEDED);
                return;
        }
        if (outcome != EXEC_SUCCEEDED) {
                /* job->unit keeps its result for the engine to release */
                exec_job_finish(job, EXEC_FAILED, error, exit_status, "%s: %s failed: %s (see journalctl -u %s)",
                                r->name, c == RAID_CHANGE_READWRITE ? "mdadm --readwrite" : "starting the check",
                                message, job->unit);
                return;
        }
        exec_transient_release(job);
        raid_wake(job);
}

/* Has md make change c: 1 if done (direct: read again now), 0 if a unit
 * of ours is on it (its end reads again), or -errno. */
static int raid_change(ExecJob *job, RaidChange c) {
        _cleanup_(exec_transient_spec_done) ExecTransientSpec spec = { .runtime_max = USEC_INFINITY };
        RaidState *r = R(job);
        char dev[MD_NAME_MAX + 8], suffix[32];
        const Step step = { .id = job->step_id, .kind = job->kind };
        const ExecRequest req = { .run_id = r->run_id, .step = &step, .attempt = r->attempt };
        int q;

        if (r->direct) {
                q = raid_change_direct(r, c);
                return q < 0 ? q : 1;
        }
        if (r->changing || job->transient)
                return -EBUSY;

        snprintf(dev, sizeof(dev), "/dev/%s", r->name);
        char *readwrite[] = { (char *) "mdadm", (char *) "--readwrite", dev, NULL };
        char *idle[] = { (char *) "mdadm", (char *) "--action=idle", dev, NULL };
        char *check[] = { (char *) "/bin/sh", (char *) "-c",
                          (char *) "echo 0 >\"$1/sync_min\" && echo check >\"$1/sync_action\"",
                          (char *) "raid-check", r->dir, NULL };
        char **argv = c == RAID_CHANGE_READWRITE ? readwrite : c == RAID_CHANGE_CHECK ? check : idle;

        /* A resumed step's units must not meet its first life's, which may
         * still be loaded: those get a number of their own. */
        r->changes++;
        if (job->resumed || r->changes > 1)
                snprintf(suffix, sizeof(suffix), "%s-%u%s", change_name[c], r->changes,
                         job->resumed ? "r" : "");
        else
                snprintf(suffix, sizeof(suffix), "%s", change_name[c]);
        q = exec_transient_spec_for(&req, suffix, argv, RAID_CHANGE_TIMEOUT_USEC, &spec);
        if (q < 0)
                return q;
        spec.private_network = true;
        q = exec_transient_run(job, &spec, on_change_end);
        if (q < 0)
                return q;
        r->changing = true;
        r->change = c;
        return 0;
}

/* "array_state read-auto, sync_action idle, resync_start 1024, degraded 0" */
static const char *raid_describe(const MdArrayState *s, char *buf, size_t size) {
        char rs[32];

        if (!md_array_state_knows(s, MD_ATTR_RESYNC_START))
                snprintf(rs, sizeof(rs), "?");
        else if (s->resync_start == MD_SECTOR_NONE)
                snprintf(rs, sizeof(rs), "none");
        else
                snprintf(rs, sizeof(rs), "%" PRIu64, s->resync_start);
        snprintf(buf, size, "array_state %s, sync_action %s, resync_start %s, degraded %u",
                 s->array_state_text[0] ? s->array_state_text : "?",
                 s->sync_action_text[0] ? s->sync_action_text : "?", rs, s->degraded);
        return buf;
}

/* A member md can rebuild onto: a degraded array with one starts (or is
 * about to start) a recovery by itself. */
static bool raid_has_spare(const MdArrayState *s) {
        for (size_t i = 0; i < s->n_members; i++)
                if (s->members[i].known && (s->members[i].flags & MD_MEMBER_SPARE) &&
                    !(s->members[i].flags & MD_MEMBER_FAULTY))
                        return true;
        return false;
}

static void raid_report(ExecJob *job, const char *what) {
        RaidState *r = R(job);
        RaidProgress p;
        char text[256];

        raid_progress_compute(&r->state, r->speed_kib, &r->rate, now_usec(CLOCK_MONOTONIC), &p);
        raid_progress_format(r->name, what, &p, text, sizeof(text));
        if (streq(text, r->last_progress))
                return;
        snprintf(r->last_progress, sizeof(r->last_progress), "%s", text);
        exec_job_report_progress(job, &(ExecProgress) {
                .percent = p.percent,
                .rate_kib = p.rate_kib,
                .eta = p.eta,
                .text = text,
        });
}

/* ---- raid.wait-sync ---- */

static const char *sync_word(const MdArrayState *s) {
        switch (s->sync_action) {
        case MD_SYNC_RECOVER:
                return "recovery";
        case MD_SYNC_RESHAPE:
                return "reshape";
        default:
                return "resync";
        }
}

static RaidVerdict wait_sync_judge(ExecJob *job) {
        RaidState *r = R(job);
        const MdArrayState *s = &r->state;
        char d[160], what[96];
        int q;

        if (!md_array_state_is_running(s)) {
                exec_job_finish(job, EXEC_FAILED, -ENODEV, -1, "%s is not running (%s)", r->name,
                                raid_describe(s, d, sizeof(d)));
                return RAID_FINISHED;
        }
        if (s->array_state == MD_ARRAY_BROKEN) {
                exec_job_finish(job, EXEC_FAILED, -EIO, -1, "%s is broken: it lost a member it cannot run without",
                                r->name);
                return RAID_FINISHED;
        }
        if (md_array_state_is_in_sync(s)) {
                exec_job_finish(job, EXEC_SUCCEEDED, 0, -1, "%s is in sync%s", r->name,
                                r->wrote_active ? " (salve started its pending resync)" :
                                r->saw_sync ? " (after a resync)" : "");
                return RAID_FINISHED;
        }
        if (md_array_state_is_syncing(s))
                r->saw_sync = true;

        if (md_array_state_is_degraded(s) && !md_array_state_is_syncing(s) && !raid_has_spare(s)) {
                bool nothing_due = md_array_state_knows(s, MD_ATTR_RESYNC_START) &&
                        s->resync_start == MD_SECTOR_NONE && s->sync_action != MD_SYNC_RESHAPE;

                if (!r->allow_degraded) {
                        exec_job_finish(job, EXEC_FAILED, -EIO, -1,
                                        "%s is degraded (%u of %u members missing) and nothing is rebuilding it (%s)",
                                        r->name, s->degraded, s->raid_disks, raid_describe(s, d, sizeof(d)));
                        return RAID_FINISHED;
                }
                if (nothing_due) {
                        exec_job_finish(job, EXEC_SUCCEEDED, 0, -1,
                                        "%s is degraded (%u of %u members missing), nothing to sync; allowed by "
                                        "allow-degraded", r->name, s->degraded, s->raid_disks);
                        return RAID_FINISHED;
                }
        }

        if (md_array_state_is_resync_pending(s)) {
                if (!r->start_pending) {
                        snprintf(what, sizeof(what), "resync pending (%s), waiting for the first write",
                                 s->array_state_text);
                        raid_report(job, what);
                        return RAID_WAIT;
                }
                if (!r->wrote_active) {
                        q = raid_change(job, RAID_CHANGE_READWRITE);
                        if (q < 0) {
                                exec_job_finish(job, EXEC_FAILED, q, -1, "%s: cannot start its pending resync: %s",
                                                r->name, strerror(-q));
                                return RAID_FINISHED;
                        }
                        r->wrote_active = true;
                        snprintf(what, sizeof(what), "resync pending (%s), starting it (mdadm --readwrite)",
                                 s->array_state_text);
                        raid_report(job, what);
                        return q > 0 ? RAID_AGAIN : RAID_WAIT;
                }
                if (r->changing)
                        return RAID_WAIT;
                raid_report(job, "resync pending, started, waiting for md");
                return RAID_WAIT;
        }

        if (md_array_state_is_syncing(s) || s->sync_action == MD_SYNC_RESHAPE) {
                raid_report(job, s->sync_delayed ? "resync delayed (another array on the same disks syncs first)" :
                            sync_word(s));
                return RAID_WAIT;
        }
        if (s->sync_action == MD_SYNC_FROZEN)
                raid_report(job, "sync frozen (sync_action), waiting for it to be thawed");
        else if (md_array_state_is_degraded(s))
                raid_report(job, "degraded, waiting for the recovery onto its spare");
        else
                raid_report(job, "not in sync, waiting for md to start the resync");
        return RAID_WAIT;
}

/* ---- raid.check ---- */

static RaidVerdict check_finish_idle(ExecJob *job) {
        RaidState *r = R(job);
        const MdArrayState *s = &r->state;
        char d[160];

        if (md_array_state_knows(s, MD_ATTR_SYNC_MIN) && s->sync_min > 0) {
                exec_job_finish(job, EXEC_FAILED, -EINTR, -1,
                                "the check of %s was interrupted at sector %" PRIu64 " (sync_min), %" PRIu64
                                " mismatched sectors so far (%s)", r->name, s->sync_min, s->mismatch_cnt,
                                raid_describe(s, d, sizeof(d)));
                return RAID_FINISHED;
        }
        if (!md_array_state_knows(s, MD_ATTR_MISMATCH_CNT)) {
                exec_job_finish(job, EXEC_FAILED, -EIO, -1, "%s: check done, but mismatch_cnt cannot be read",
                                r->name);
                return RAID_FINISHED;
        }
        if (s->mismatch_cnt > r->max_mismatch)
                exec_job_finish(job, EXEC_FAILED, 0, -1,
                                "%s: check found %" PRIu64 " mismatched sectors, more than max-mismatch %" PRIu64,
                                r->name, s->mismatch_cnt, r->max_mismatch);
        else
                exec_job_finish(job, EXEC_SUCCEEDED, 0, -1,
                                "%s: check done, %" PRIu64 " mismatched sectors (max-mismatch %" PRIu64 ")",
                                r->name, s->mismatch_cnt, r->max_mismatch);
        return RAID_FINISHED;
}

static RaidVerdict check_begin(ExecJob *job) {
        RaidState *r = R(job);
        const MdArrayState *s = &r->state;
        char d[160];
        int q;

        if (!md_array_state_knows(s, MD_ATTR_SYNC_ACTION)) {
                exec_job_finish(job, EXEC_FAILED, -EOPNOTSUPP, -1, "%s (%s) has no sync_action: nothing to check",
                                r->name, s->level[0] ? s->level : "no level");
                return RAID_FINISHED;
        }
        if (s->sync_action == MD_SYNC_CHECK) {
                /* someone's check (mdcheck, checkarray): wait for it, leave it be */
                r->check_started = true;
                raid_report(job, "check (already running)");
                return RAID_WAIT;
        }
        if (!md_array_state_is_in_sync(s) || s->sync_action != MD_SYNC_IDLE) {
                exec_job_finish(job, EXEC_FAILED, -EBUSY, -1,
                                "cannot check %s: it is not in sync and idle (%s); a check compares copies a "
                                "resync or recovery is still writing", r->name, raid_describe(s, d, sizeof(d)));
                return RAID_FINISHED;
        }
        /* sync_min back to 0 first: an interrupted check leaves its
         * checkpoint there, and the next would start from it */
        q = raid_change(job, RAID_CHANGE_CHECK);
        if (q < 0) {
                exec_job_finish(job, EXEC_FAILED, q, -1, "%s: cannot start a check: %s", r->name, strerror(-q));
                return RAID_FINISHED;
        }
        r->check_started = r->owns_check = true;
        raid_report(job, "check, starting it");
        return q > 0 ? RAID_AGAIN : RAID_WAIT;
}

static RaidVerdict check_judge(ExecJob *job) {
        RaidState *r = R(job);
        const MdArrayState *s = &r->state;
        char d[160];

        if (!md_array_state_is_running(s)) {
                exec_job_finish(job, EXEC_FAILED, -ENODEV, -1, "%s is not running (%s)", r->name,
                                raid_describe(s, d, sizeof(d)));
                return RAID_FINISHED;
        }
        if (!r->check_started)
                return check_begin(job);
        if (r->changing)
                return RAID_WAIT;       /* until our unit has written "check", idle means nothing */

        switch (s->sync_action) {
        case MD_SYNC_CHECK:
                raid_report(job, "check");
                return RAID_WAIT;
        case MD_SYNC_FROZEN:
                raid_report(job, "check frozen (sync_action), waiting");
                return RAID_WAIT;
        case MD_SYNC_IDLE:
                if (md_array_state_is_degraded(s)) {
                        exec_job_finish(job, EXEC_FAILED, -EIO, -1, "%s became degraded during the check (%s)",
                                        r->name, raid_describe(s, d, sizeof(d)));
                        return RAID_FINISHED;
                }
                return check_finish_idle(job);
        default:
                exec_job_finish(job, EXEC_FAILED, -EINTR, -1,
                                "the check of %s was interrupted: md runs a %s now (%s)", r->name,
                                s->sync_action_text[0] ? s->sync_action_text : "sync", raid_describe(s, d, sizeof(d)));
                return RAID_FINISHED;
        }
}

/* ---- the job ---- */

static RaidVerdict raid_judge(ExecJob *job) {
        return R(job)->mode == RAID_CHECK ? check_judge(job) : wait_sync_judge(job);
}

/* Reads and judges; may finish (free) the job. */
static void raid_wake(ExecJob *job) {
        for (unsigned i = 0; i < RAID_WAKE_ROUNDS; i++) {
                int q = raid_read(job);

                if (q == -ENOENT || q == -ENODEV) {
                        exec_job_finish(job, EXEC_FAILED, -ENODEV, -1, "%s went away (stopped?)", R(job)->name);
                        return;
                }
                if (q < 0) {
                        exec_job_finish(job, EXEC_FAILED, q, -1, "cannot read %s: %s", R(job)->dir, strerror(-q));
                        return;
                }
                if (raid_judge(job) != RAID_AGAIN)
                        return;
        }
}

static int on_raid_attr(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        raid_wake(userdata);
        return 0;
}

static int on_raid_inotify(sd_event_source *s, const struct inotify_event *event, void *userdata) {
        raid_wake(userdata);
        return 0;
}

static int on_raid_start(sd_event_source *s, void *userdata) {
        ExecJob *job = userdata;

        R(job)->defer = sd_event_source_disable_unref(R(job)->defer);
        raid_wake(job);
        return 0;
}

static void raid_finish_timeout(ExecJob *job, bool stopped) {
        RaidState *r = R(job);
        char t[FORMAT_DURATION_MAX], d[160];

        exec_job_finish(job, EXEC_TIMED_OUT, -ETIME, -1, "%s: %s after %s%s (%s)", r->name,
                        r->mode == RAID_CHECK ? "check not done" : "not in sync", format_duration(t, job->timeout),
                        r->timed_out ? (stopped ? ", stopped the check" : ", could not stop the check") : "",
                        raid_describe(&r->state, d, sizeof(d)));
}

static int on_raid_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        ExecJob *job = userdata;
        RaidState *r = R(job);
        int q;

        r->timeout = sd_event_source_disable_unref(r->timeout);
        if (r->mode == RAID_CHECK && r->owns_check && r->have_state && r->state.sync_action == MD_SYNC_CHECK &&
            !r->changing && !job->transient) {
                /* ours: stop it before saying so (its unit's end finishes the step) */
                r->timed_out = true;
                q = raid_change(job, RAID_CHANGE_IDLE);
                if (q == 0)
                        return 0;
                raid_finish_timeout(job, q > 0);
                return 0;
        }
        raid_finish_timeout(job, false);
        return 0;
}

static int raid_begin(ExecJob *job, const ExecRequest *req, RaidMode mode, sd_event_handler_t first) {
        const Step *step = req->step;
        const char *array = step_get_string(step, "array");
        const StepArg *a;
        RaidState *r = R(job);
        const char *sysfs = job->executor->sysfs_root ?: "/sys", *devfs = job->executor->devfs_root ?: "/dev";
        int q;

        raid_init(job, mode);
        if (!array)
                return -EINVAL;
        a = step_get_arg(step, "start-pending");
        r->start_pending = a ? a->u != 0 : true;
        a = step_get_arg(step, "allow-degraded");
        r->allow_degraded = a ? a->u != 0 : false;
        a = step_get_arg(step, "max-mismatch");
        r->max_mismatch = a ? a->u : 0;

        r->direct = job->executor->sysfs_root != NULL;
        r->attempt = req->attempt;
        r->run_id = strdup(strempty(req->run_id));
        if (!r->run_id)
                return -ENOMEM;
        if (job->timeout != USEC_INFINITY) {
                q = sd_event_add_time_relative(job->executor->event, &r->timeout, CLOCK_MONOTONIC, job->timeout, 0,
                                               on_raid_timeout, job);
                if (q < 0)
                        return q;
                (void) sd_event_source_set_description(r->timeout, "exec-raid-timeout");
        }

        q = raid_resolve(devfs, array, r->name);
        if (q < 0)
                return exec_job_finish_later(job, EXEC_FAILED, q, -1, "%s: not an md array here: %s", array,
                                             q == -EINVAL ? "not an md name" : strerror(-q));
        snprintf(r->state.name, sizeof(r->state.name), "%s", r->name);
        if (asprintf(&r->dir, "%s/block/%s/md", sysfs, r->name) < 0) {
                r->dir = NULL;
                return -ENOMEM;
        }
        r->dir_fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r->dir_fd < 0)
                return exec_job_finish_later(job, EXEC_FAILED, -errno, -1, "%s does not exist (%s: %s)", r->name,
                                             r->dir, strerror(errno));

        /* Judged from the loop, never inside executor_start(). */
        q = sd_event_add_defer(job->executor->event, &r->defer, first, job);
        if (q < 0)
                return q;
        (void) sd_event_source_set_description(r->defer, "exec-raid-first-read");
        return 0;
}

static int wait_sync_start(ExecJob *job, const ExecRequest *req) {
        return raid_begin(job, req, RAID_WAIT_SYNC, on_raid_start);
}

/* Waiting twice is harmless: wait again, for what is left of the timeout. */
static int wait_sync_resume(ExecJob *job, const ExecRequest *req, usec_t elapsed) {
        exec_job_timeout_left(job, elapsed);
        return raid_begin(job, req, RAID_WAIT_SYNC, on_raid_start);
}

static int check_start(ExecJob *job, const ExecRequest *req) {
        return raid_begin(job, req, RAID_CHECK, on_raid_start);
}

static int on_check_resume(sd_event_source *s, void *userdata) {
        ExecJob *job = userdata;
        RaidState *r = R(job);
        char d[160];
        int q;

        r->defer = sd_event_source_disable_unref(r->defer);
        q = raid_read(job);
        if (q < 0) {
                exec_job_finish(job, EXEC_UNKNOWN, q, -1, "salve restarted during the check of %s, and %s cannot "
                                "be read now: %s", r->name, r->dir, strerror(-q));
                return 0;
        }
        if (r->state.sync_action == MD_SYNC_CHECK) {
                r->check_started = r->owns_check = true;
                raid_report(job, "check (picked up after salved restarted)");
                return 0;
        }
        exec_job_finish(job, EXEC_UNKNOWN, 0, -1,
                        "salve restarted during the check of %s, which no longer runs: whether it finished cannot "
                        "be known (mismatch_cnt %" PRIu64 " is of md's last sync, sync_min %" PRIu64 "; %s)",
                        r->name, r->state.mismatch_cnt, r->state.sync_min, raid_describe(&r->state, d, sizeof(d)));
        return 0;
}

/* Picks up a check still running; never starts one. */
static int check_resume(ExecJob *job, const ExecRequest *req, usec_t elapsed) {
        exec_job_timeout_left(job, elapsed);
        return raid_begin(job, req, RAID_CHECK, on_check_resume);
}

static void raid_disarm(ExecJob *job) {
        RaidState *r = R(job);

        if (!r->inited)
                return;
        raid_close_attrs(r);
        r->defer = sd_event_source_disable_unref(r->defer);
        r->timeout = sd_event_source_disable_unref(r->timeout);
        r->inotify = sd_event_source_disable_unref(r->inotify);
        if (r->changing && job->transient && !job->holds_result)
                /* the step ended while our unit runs: nobody else would collect it */
                executor_release_unit(job->executor, job->unit);
        r->changing = false;
        r->dir_fd = safe_close(r->dir_fd);
}

static void raid_done(ExecJob *job) {
        RaidState *r = R(job);

        if (!r->inited)
                return;
        md_array_state_done(&r->state);
        free(r->dir);
        free(r->run_id);
}

const ExecKindOps exec_kind_raid_wait_sync = {
        .state_size = sizeof(RaidState),
        .start = wait_sync_start,
        .resume = wait_sync_resume,
        .disarm = raid_disarm,
        .done = raid_done,
};

const ExecKindOps exec_kind_raid_check = {
        .state_size = sizeof(RaidState),
        .start = check_start,
        .resume = check_resume,
        .disarm = raid_disarm,
        .done = raid_done,
};
