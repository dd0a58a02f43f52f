/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* snapshot: an LVM (thin or classic) or btrfs snapshot, named
 * PREFIX-RUNID, so the step is idempotent by name: an attempt that finds
 * the snapshot this run made says "already there" instead of making a
 * second. With with.keep: N, the newest N snapshots of the source under
 * that prefix stay and older ones go (snapshot-util.h says which count).
 *
 * All storage work (lvs, lvcreate, lvremove, btrfs subvolume
 * snapshot/delete, the btrfs ioctls that tell a subvolume's origin and
 * age) is done by one helper, salve-snapshot, in one transient unit
 * (salve-RUN-STEP-ATTEMPT-snapshot.service, no network; btrfs: a
 * read-only system except the destination). One unit rather than a
 * chain of units per command, because the decision between create and
 * "already there", and retention, need the tools' listings, which a
 * transient unit's output (the journal) does not hand back; the helper's
 * exit status (SnapshotExit) does. After a salved restart the step
 * re-attaches to that unit; if systemd no longer knows it (the machine
 * rebooted), it runs the helper again, which finds the snapshot by name.
 * The result names the snapshot: "snapshot vg0/db-salve-fsck-12 created". */

#include "config.h"
#include "exec-kind.h"
#include "snapshot-util.h"

#define SNAPSHOT_HELPER SALVE_LIBEXEC_DIR "/salve-snapshot"

typedef struct SnapshotState {
        ExecTransientSpec spec;         /* the helper's unit, kept to run it again on resume */
        char *display;                  /* the snapshot as the result names it */
        char *run_id;
        unsigned keep;
        usec_t elapsed;                 /* resumed: since the step started */
} SnapshotState;

#define S(job) ((SnapshotState *) (job)->state)

static void snapshot_end(ExecJob *job, ExecOutcome o, int error, int exit_status, const char *message) {
        SnapshotState *s = S(job);
        bool ok = false;
        const char *what = o == EXEC_TIMED_OUT ? NULL : snapshot_exit_describe(exit_status, &ok);
        char keep[64] = "";

        if (!what) {
                /* Killed, timed out, or systemd could not run the helper. */
                exec_job_finish(job, o, error, exit_status, "snapshot %s: %s", s->display, message);
                return;
        }
        if (ok) {
                if (s->keep > 0 && exit_status != SNAPSHOT_EXIT_CREATED_PRUNE_FAILED &&
                    exit_status != SNAPSHOT_EXIT_EXISTS_PRUNE_FAILED)
                        snprintf(keep, sizeof(keep), "; the newest %u kept", s->keep);
                exec_job_finish(job, EXEC_SUCCEEDED, 0, exit_status, "snapshot %s %s%s", s->display, what, keep);
        } else
                exec_job_finish(job, EXEC_FAILED, 0, exit_status, "snapshot %s %s (journalctl SALVE_RUN=%s SALVE_STEP=%s)",
                                s->display, what, s->run_id, job->step_id);
}

static int push(char ***argv, const char *a, const char *b) {
        int r = strv_extend(argv, a);
        return r < 0 ? r : strv_extend(argv, b);
}

/* Builds the helper's unit. Returns 1 if the step has already been given
 * its (failed) result: a with: the helper would refuse. */
static int snapshot_prepare(ExecJob *job, const ExecRequest *req) {
        SnapshotState *s = S(job);
        const Step *step = req->step;
        const char *backend = step_get_string(step, "backend"), *source = step_get_string(step, "source");
        const char *prefix_arg = step_get_string(step, "name"), *dest = step_get_string(step, "destination");
        const StepArg *size = step_get_arg(step, "size"), *keep = step_get_arg(step, "keep");
        _cleanup_free_ char *prefix = NULL, *name = NULL, *dir = NULL, *num = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        bool btrfs;
        int r;

        if (!backend || !source || !req->run_id)
                return -EINVAL;
        btrfs = streq(backend, "btrfs");
        s->run_id = strdup(req->run_id);
        if (!s->run_id)
                return -ENOMEM;

        if (prefix_arg)
                prefix = strdup(prefix_arg);
        else {
                r = snapshot_default_prefix(source, &prefix);
                if (r == -EINVAL)
                        return exec_job_finish_later(job, EXEC_FAILED, -EINVAL, -1,
                                                     "snapshot of %s: no name to derive from the source; give with.name",
                                                     source) < 0 ? -ENOMEM : 1;
                if (r < 0)
                        return r;
        }
        if (!prefix)
                return -ENOMEM;
        r = snapshot_name(prefix, req->run_id, &name);
        if (r < 0)
                return exec_job_finish_later(job, EXEC_FAILED, r, -1,
                                             "snapshot of %s: \"%s-%s\" is not a valid snapshot name", source, prefix,
                                             req->run_id) < 0 ? -ENOMEM : 1;
        if (!btrfs && !strchr(source, '/'))
                return exec_job_finish_later(job, EXEC_FAILED, -EINVAL, -1,
                                             "snapshot: an lvm source is VG/LV, got \"%s\"", source) < 0 ? -ENOMEM : 1;
        if (btrfs && source[0] != '/')
                return exec_job_finish_later(job, EXEC_FAILED, -EINVAL, -1,
                                             "snapshot: a btrfs source is an absolute path, got \"%s\"", source) < 0
                               ? -ENOMEM : 1;
        s->keep = keep ? (unsigned) keep->u : 0;        /* 1..100000: the loader's range for with.keep */

        /* What the result calls it: VG/NAME, or the snapshot's path. */
        if (btrfs) {
                const char *slash = strrchr(source, '/');
                dir = dest ? strdup(dest) : slash == source ? strdup("") : strndup(source, (size_t) (slash - source));
                if (!dir)
                        return -ENOMEM;
                r = asprintf(&s->display, "%s/%s", dir, name);
        } else
                r = asprintf(&s->display, "%.*s/%s", (int) (strchr(source, '/') - source), source, name);
        if (r < 0) {
                s->display = NULL;
                return -ENOMEM;
        }

        r = strv_extend(&argv, SNAPSHOT_HELPER);
        if (r >= 0)
                r = push(&argv, "--backend", backend);
        if (r >= 0)
                r = push(&argv, "--source", source);
        if (r >= 0)
                r = push(&argv, "--name", name);
        if (r >= 0)
                r = push(&argv, "--prefix", prefix);
        if (r >= 0 && size && !btrfs) {
                if (asprintf(&num, "%" PRIu64, size->u) < 0)
                        return -ENOMEM;
                r = push(&argv, "--size", num);
                num = mfree(num);
        }
        if (r >= 0 && s->keep > 0) {
                if (asprintf(&num, "%u", s->keep) < 0)
                        return -ENOMEM;
                r = push(&argv, "--keep", num);
        }
        if (r >= 0 && btrfs && dest)
                r = push(&argv, "--destination", dest);
        if (r < 0)
                return r;

        r = exec_transient_spec_for(req, "snapshot", argv, job->timeout, &s->spec);
        if (r < 0)
                return r;
        s->spec.private_network = true;
        /* A read-only system but for where the tools write: btrfs the
         * directory the snapshots go in; lvm its metadata backups and
         * archives (/etc/lvm) and its locks and caches under /run ("-": a
         * path that is missing is the tool's to report, not the
         * sandbox's). /dev stays writable: device-mapper makes the
         * snapshot's node there. */
        s->spec.read_only = true;
        if (btrfs) {
                _cleanup_free_ char *rw = NULL;
                if (asprintf(&rw, "-%s", *dir ? dir : "/") < 0)
                        return -ENOMEM;
                r = strv_extend(&s->spec.read_write_paths, rw);
        } else {
                static const char *const lvm_paths[] = { "-/etc/lvm", "-/run/lvm", "-/run/lock/lvm" };
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(lvm_paths); i++)
                        r = strv_extend(&s->spec.read_write_paths, lvm_paths[i]);
        }
        return r < 0 ? r : 0;
}

static int snapshot_start(ExecJob *job, const ExecRequest *req) {
        int r = snapshot_prepare(job, req);

        if (r != 0)
                return r < 0 ? r : 0;
        return exec_transient_run(job, &S(job)->spec, snapshot_end);
}

static int on_resume_get_unit(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        SnapshotState *s = S(job);
        int r;

        job->call = bus_queue_call_free(job->call);
        if (sd_bus_message_is_method_error(m, "org.freedesktop.systemd1.NoSuchUnit"))
                /* Nothing left of the attempt in systemd: look again. The
                 * name makes that safe: "already there" if it was made. */
                r = exec_transient_run(job, &s->spec, snapshot_end);
        else
                r = exec_transient_reattach(job, s->spec.unit, s->elapsed, snapshot_end);
        if (r < 0)
                exec_job_finish(job, EXEC_UNKNOWN, r, -1, "snapshot %s: cannot follow %s after the restart: %s",
                                s->display, s->spec.unit, strerror(-r));
        return 0;
}

static int snapshot_resume(ExecJob *job, const ExecRequest *req, usec_t elapsed) {
        int r;

        exec_job_timeout_left(job, elapsed);
        r = snapshot_prepare(job, req);
        if (r != 0)
                return r < 0 ? r : 0;
        S(job)->elapsed = elapsed;
        return bus_queue_call_method(job->executor->calls, &job->call, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                     SYSTEMD_MANAGER_IFACE, "GetUnit", on_resume_get_unit, job, "s",
                                     S(job)->spec.unit);
}

static void snapshot_done(ExecJob *job) {
        exec_transient_spec_done(&S(job)->spec);
        free(S(job)->display);
        free(S(job)->run_id);
}

const ExecKindOps exec_kind_snapshot = {
        .state_size = sizeof(SnapshotState),
        .start = snapshot_start,
        .resume = snapshot_resume,
        .done = snapshot_done,
};
