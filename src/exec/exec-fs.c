/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* fs.check and fs.mount.
 *
 * Both begin with the device probe (fs-util.c: resolve UUID=/LABEL=/...
 * with libblkid, its type, where it is mounted, what is mounted at the
 * mount point, and for ext2/3/4 the superblock's word on whether it is
 * clean). The probe runs in a forked child and answers over a pipe,
 * because every part of it may block: resolving a tag can make libblkid
 * open every block device on the machine, and a device that is failing
 * (which is when plans run) can take the SCSI layer's timeouts, tens of
 * seconds, to answer one read. A child keeps salved's loop free and can be
 * killed on a timeout; running the probe in the transient unit instead
 * would need a helper binary of our own and a channel for its answer, for
 * a read that normally takes a millisecond. The child reads only: libblkid
 * and libext2fs open the device O_RDONLY, and salved's unit allows block
 * devices for reading only.
 *
 * fs.check then refuses a filesystem mounted read-write and runs the
 * checker (e2fsck, or fsck -t TYPE) as the step's transient unit,
 * salve-RUN-STEP-N-fsck.service: PID 1 gives it the power to write the
 * device, its output goes to the journal under the step. Its exit bits
 * become the step's result (fs-util.c). After a restart salved re-attaches
 * to that unit by its name; if it never started, the check runs afresh
 * (checking is idempotent).
 *
 * fs.mount starts the mount unit for `where`: the existing one (fstab, a
 * unit file) if there is one and it mounts this device, else a transient
 * one. Already mounted there from the device: success, nothing started;
 * something else mounted there: failure, naming it. After the mount job,
 * the probe runs again and the mount table decides. After a restart the
 * step judges afresh (the same steps: a second start merges or is a
 * no-op). */

#include <signal.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>

#include "exec-kind.h"
#include "fs-util.h"

/* A probe reads superblocks; a device that takes longer is not answering. */
#define FS_PROBE_TIMEOUT_USEC (30 * USEC_PER_SEC)

/* ---- the probe child ---- */

typedef struct FsChild FsChild;
typedef void (*fs_child_done_t)(ExecJob *job, int error, const FsProbeReport *report);

/* Lives from fork to reap. Its pidfd source owns it (the destroy callback
 * frees it); once the job no longer waits for it the source floats, so the
 * loop reaps the child whenever it dies, even after the job is gone, and
 * frees the record with the loop if it never does. */
struct FsChild {
        ExecJob *job;                   /* NULL once answered or abandoned */
        fs_child_done_t done;
        pid_t pid;
        int pidfd, pipefd;
        sd_event_source *pidfd_source, *pipe_source, *timer;
        size_t len;
        bool overflow;
        FsProbeReport report;
};

static void fs_child_destroy(void *userdata) {
        FsChild *c = userdata;

        c->pipe_source = sd_event_source_disable_unref(c->pipe_source);
        c->timer = sd_event_source_disable_unref(c->timer);
        c->pipefd = safe_close(c->pipefd);
        c->pidfd = safe_close(c->pidfd);
        free(c);
}

/* The job stops waiting: the child is killed (if it still runs) and left to
 * be reaped by the floating pidfd source. */
static void fs_child_abandon(FsChild *c) {
        if (!c)
                return;
        c->job = NULL;
        c->pipe_source = sd_event_source_disable_unref(c->pipe_source);
        c->timer = sd_event_source_disable_unref(c->timer);
        c->pipefd = safe_close(c->pipefd);
        (void) pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
        if (c->pidfd_source && !sd_event_source_get_floating(c->pidfd_source)) {
                sd_event_source *s = c->pidfd_source;
                (void) sd_event_source_set_floating(s, true);
                sd_event_source_unref(s);
        }
}

static FsChild **fs_child_slot(ExecJob *job);

static void fs_child_answer(FsChild *c, int error) {
        ExecJob *job = c->job;
        fs_child_done_t done = c->done;
        FsProbeReport report;

        if (!job)
                return;
        if (error == 0 && (c->overflow || c->len != sizeof(c->report)))
                error = -EBADMSG;
        report = c->report;
        *fs_child_slot(job) = NULL;
        fs_child_abandon(c);
        done(job, error, error == 0 ? &report : NULL);
}

/* Reads what is there; true at EOF (or an error that ends the pipe). */
static bool fs_child_read(FsChild *c) {
        for (;;) {
                char scratch[256];
                bool room = c->len < sizeof(c->report);
                ssize_t k = read(c->pipefd, room ? (char *) &c->report + c->len : scratch,
                                 room ? sizeof(c->report) - c->len : sizeof(scratch));
                if (k == 0)
                        return true;
                if (k < 0)
                        return errno != EAGAIN && errno != EINTR;
                if (room)
                        c->len += (size_t) k;
                else
                        c->overflow = true;
        }
}

static int on_child_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FsChild *c = userdata;

        if (fs_child_read(c))
                fs_child_answer(c, 0);
        return 0;
}

static int on_child_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FsChild *c = userdata;
        siginfo_t si = {};

        if (waitid(P_PIDFD, (id_t) c->pidfd, &si, WEXITED | WNOHANG) >= 0 && si.si_pid == 0)
                return 0;       /* not yet */
        /* Dead (or reaped by the kernel): whatever it wrote is in the pipe. */
        if (c->job && c->pipefd >= 0) {
                (void) fs_child_read(c);
                fs_child_answer(c, si.si_code == CLD_EXITED && si.si_status == 0 ? 0 : -ECHILD);
        }
        /* Floating by now: hand the reference back, which frees it (after
         * this callback: sd-event holds it while dispatching). */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        (void) sd_event_source_set_floating(s, false);
        return 0;
}

static int on_child_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        FsChild *c = userdata;

        fs_child_answer(c, -ETIME);
        return 0;
}

_Noreturn static void fs_child_main(const FsProbeRequest *req, int out) {
        FsProbeReport r;
        const char *p = (const char *) &r;
        size_t off = 0;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fs_probe(req, &r) < 0)
                _exit(EXIT_FAILURE);
        while (off < sizeof(r)) {
                ssize_t k = write(out, p + off, sizeof(r) - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        _exit(EXIT_FAILURE);
                off += (size_t) k;
        }
        _exit(EXIT_SUCCESS);
}

static int fs_child_start(ExecJob *job, const FsProbeRequest *req, fs_child_done_t done) {
        sd_event *event = job->executor->event;
        int fds[2], r;
        FsChild *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->pidfd = c->pipefd = -EBADF;
        if (pipe2(fds, O_CLOEXEC) < 0) {
                free(c);
                return -errno;
        }
        c->pid = fork();
        if (c->pid < 0) {
                r = -errno;
                safe_close(fds[0]);
                safe_close(fds[1]);
                free(c);
                return r;
        }
        if (c->pid == 0) {
                safe_close(fds[0]);
                fs_child_main(req, fds[1]);
        }
        safe_close(fds[1]);
        c->pipefd = fds[0];
        (void) fcntl(c->pipefd, F_SETFL, O_NONBLOCK);

        c->pidfd = pidfd_open(c->pid, 0);
        if (c->pidfd < 0) {
                r = -errno;
                (void) kill(c->pid, SIGKILL);
                (void) waitpid(c->pid, NULL, 0);        /* just killed; it never got far */
                fs_child_destroy(c);
                return r;
        }
        r = sd_event_add_io(event, &c->pidfd_source, c->pidfd, EPOLLIN, on_child_pidfd, c);
        if (r < 0) {
                (void) pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
                (void) waitid(P_PIDFD, (id_t) c->pidfd, &(siginfo_t) {}, WEXITED);
                fs_child_destroy(c);
                return r;
        }
        /* From here on the source owns c. */
        (void) sd_event_source_set_destroy_callback(c->pidfd_source, fs_child_destroy);
        (void) sd_event_source_set_description(c->pidfd_source, "exec-fs-probe-child");
        c->job = job;
        c->done = done;
        *fs_child_slot(job) = c;

        r = sd_event_add_io(event, &c->pipe_source, c->pipefd, EPOLLIN, on_child_pipe, c);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &c->timer, CLOCK_MONOTONIC, FS_PROBE_TIMEOUT_USEC, 0,
                                               on_child_timeout, c);
        if (r < 0) {
                *fs_child_slot(job) = NULL;
                fs_child_abandon(c);
                return r;
        }
        (void) sd_event_source_set_description(c->pipe_source, "exec-fs-probe-pipe");
        (void) sd_event_source_set_description(c->timer, "exec-fs-probe-timeout");
        return 0;
}

/* ---- the kinds' state ---- */

typedef struct FsState {
        FsChild *child;                 /* the probe we wait for */
        /* fs.check */
        FsRepair repair;
        ExecTransientSpec spec;         /* the checker's unit, named at start */
        char *prefix;                   /* "DEV (TYPE): found ...; e2fsck -p" */
        char *device;                   /* the plan's spec (fs.mount too) */
        /* fs.mount */
        char *where;
        char *options;
        char *type;
        char *origin;                   /* "transient", or the unit file */
        bool job_done;                  /* the mount job ended "done": the second probe judges */
        usec_t resume_elapsed;
} FsState;

#define F(job) ((FsState *) (job)->state)

static FsChild **fs_child_slot(ExecJob *job) {
        return &F(job)->child;
}

static void fs_disarm(ExecJob *job) {
        FsChild *c = F(job)->child;

        F(job)->child = NULL;
        fs_child_abandon(c);
}

static void fs_done(ExecJob *job) {
        exec_transient_spec_done(&F(job)->spec);
        free(F(job)->prefix);
        free(F(job)->device);
        free(F(job)->where);
        free(F(job)->options);
        free(F(job)->type);
        free(F(job)->origin);
}

static const char *probe_error_text(int error, const FsProbeReport *r, char *buf, size_t size) {
        if (error == -ETIME)
                snprintf(buf, size, "the device probe did not answer within %u s (is the device hanging?)",
                         (unsigned) (FS_PROBE_TIMEOUT_USEC / USEC_PER_SEC));
        else if (error < 0)
                snprintf(buf, size, "the device probe failed: %s", strerror(-error));
        else if (*r->what)
                snprintf(buf, size, "%s", r->what);
        else
                snprintf(buf, size, "%s", strerror(-r->error));
        return buf;
}

/* The filesystem type to use: the plan's (checked against what is there)
 * or the probed one. Finishes the job (and returns -ESRCH) when neither will do. */
static int pick_type(ExecJob *job, const char *want, const FsProbeReport *r, const char **ret) {
        if (want && *r->fstype && !streq(want, r->fstype)) {
                exec_job_finish(job, EXEC_FAILED, 0, -1, "%s holds %s, not %s as with.fstype says", r->device,
                                r->fstype, want);
                return -ESRCH;
        }
        if (!want && !*r->fstype) {
                exec_job_finish(job, EXEC_FAILED, 0, -1, "no filesystem found on %s (set with.fstype to use it anyway)",
                                r->device);
                return -ESRCH;
        }
        *ret = want ?: r->fstype;
        return 0;
}

/* ---- fs.check ---- */

static void on_fsck_end(ExecJob *job, ExecOutcome outcome, int error, int exit_status, const char *message) {
        char bits[512];

        /* 64 is no fsck bit: those are systemd's own codes (203: no such program). */
        if (exit_status >= 0 && !(exit_status & 64) && (outcome == EXEC_SUCCEEDED || outcome == EXEC_FAILED)) {
                bool ok = fs_fsck_exit_ok(exit_status, bits, sizeof(bits));
                exec_job_finish(job, ok ? EXEC_SUCCEEDED : EXEC_FAILED, 0, exit_status, "%s: %s",
                                strna(F(job)->prefix), bits);
                return;
        }
        exec_job_finish(job, outcome, error, exit_status, "%s: %s", strna(F(job)->prefix), message);
}

static void on_check_probed(ExecJob *job, int error, const FsProbeReport *r) {
        _cleanup_strv_free_ char **argv = NULL;
        ExecTransientSpec *spec = &F(job)->spec;
        char buf[PATH_MAX + 512], found[PATH_MAX + 512];
        const char *type;
        int k;

        if (error < 0 || r->error < 0) {
                exec_job_finish(job, EXEC_FAILED, error ?: r->error, -1, "%s", probe_error_text(error, r, buf, sizeof(buf)));
                return;
        }
        if (pick_type(job, F(job)->type, r, &type) < 0)
                return;
        if (r->mounted.found && !r->mounted.read_only) {
                exec_job_finish(job, EXEC_FAILED, -EBUSY, -1,
                                "refusing to check %s: it is mounted read-write at %s (unmount it, or remount it "
                                "read-only, first)", r->device, r->mounted.target);
                return;
        }

        if (r->have_ext)
                fs_ext_describe(&r->ext, now_usec(CLOCK_REALTIME) / USEC_PER_SEC, found, sizeof(found));
        else
                snprintf(found, sizeof(found), "state not probed (salve reads ext2/3/4 superblocks only)");
        if (r->mounted.found) {
                size_t n = strlen(found);
                snprintf(found + n, sizeof(found) - n, "; mounted read-only at %s", r->mounted.target);
        }

        k = fs_fsck_argv(type, F(job)->repair, r->device, &argv);
        if (k < 0) {
                exec_job_finish(job, EXEC_FAILED, k, -1, "cannot build the %s command for %s: %s", type, r->device,
                                strerror(-k));
                return;
        }
        /* "DEV (TYPE): found X; e2fsck -p": the step's message and, for a
         * salved that restarts while it runs, the unit's description. */
        free(F(job)->prefix);
        if (asprintf(&F(job)->prefix, "%s (%s): found %s; %s %s", r->device, type, found, argv[0], argv[1]) < 0)
                F(job)->prefix = NULL;
        free(spec->description);
        spec->description = NULL;
        free(spec->exec_path);
        spec->exec_path = strdup(argv[0]);
        if (F(job)->prefix && asprintf(&spec->description, "salve step %s, fsck: %s", job->step_id,
                                       F(job)->prefix) < 0)
                spec->description = NULL;
        strv_free(spec->argv);
        spec->argv = TAKE_PTR(argv);
        if (!F(job)->prefix || !spec->description || !spec->exec_path) {
                exec_job_finish(job, EXEC_FAILED, -ENOMEM, -1, "out of memory");
                return;
        }
        /* The checker writes only the device, which ProtectSystem= does not
         * cover; the rest of the system stays read-only to it, and it has
         * no network. */
        spec->read_only = true;
        spec->private_network = true;

        k = exec_transient_run(job, spec, on_fsck_end);
        if (k < 0)
                exec_job_finish(job, EXEC_FAILED, k, -1, "%s: cannot start the checker: %s", F(job)->prefix,
                                strerror(-k));
}

static int copy_arg(const Step *step, const char *key, char **ret) {
        const char *v = step_get_string(step, key);

        free(*ret);
        *ret = NULL;
        if (!v || !*v)
                return 0;
        *ret = strdup(v);
        return *ret ? 1 : -ENOMEM;
}

/* What the attempt needs of the request, kept: the callbacks come without it. */
static int check_prepare(ExecJob *job, const ExecRequest *req) {
        const char *repair = step_get_string(req->step, "repair");
        int r;

        F(job)->repair = repair ? fs_repair_from_string(repair) : FS_REPAIR_PREEN;
        if (F(job)->repair < 0)
                return -EINVAL;
        r = copy_arg(req->step, "device", &F(job)->device);
        if (r == 0)
                return -EINVAL;
        if (r > 0)
                r = copy_arg(req->step, "fstype", &F(job)->type);
        if (r < 0)
                return r;
        /* Named now; the command comes with the probe. */
        exec_transient_spec_done(&F(job)->spec);
        return exec_transient_spec_for(req, "fsck", (char * const *) STRV_MAKE_CONST("fsck"), job->timeout, &F(job)->spec);
}

static int check_probe(ExecJob *job) {
        return fs_child_start(job, &(FsProbeRequest) { .spec = F(job)->device, .ext_state = true }, on_check_probed);
}

static int check_start(ExecJob *job, const ExecRequest *req) {
        int r;

        r = check_prepare(job, req);
        if (r < 0)
                return r;
        return check_probe(job);
}

/* After a restart: the checker's unit, if systemd has it, holds the
 * answer (it runs on, or keeps its exit status for us); if it never
 * started, check afresh. Its description carries what the probe found. */
static int on_check_resume_unit(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        const char *load_state = NULL, *description = NULL, *name;
        usec_t elapsed = F(job)->resume_elapsed;
        int r;

        job->query = bus_queue_call_free(job->query);
        if (sd_bus_message_is_method_error(m, NULL)) {
                r = -(sd_bus_error_get_errno(sd_bus_message_get_error(m)) ?: EIO);
                goto fail;
        }
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0 && streq(name, "LoadState"))
                        r = sd_bus_message_read(m, "v", "s", &load_state);
                else if (r >= 0 && streq(name, "Description"))
                        r = sd_bus_message_read(m, "v", "s", &description);
                else if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r < 0)
                goto fail;

        if (streq_ptr(load_state, "not-found")) {
                /* Never started (salved stopped during the probe), or gone. */
                r = check_probe(job);
                if (r < 0)
                        goto fail;
                return 0;
        }
        const char *p = description ? strstr(description, ", fsck: ") : NULL;
        free(F(job)->prefix);
        F(job)->prefix = strdup(p ? p + strlen(", fsck: ") : "the checker (salved restarted while it ran)");
        r = exec_transient_reattach(job, F(job)->spec.unit, elapsed, on_fsck_end);
        if (r < 0)
                goto fail;
        return 0;
fail:
        exec_job_finish(job, EXEC_UNKNOWN, r, -1, "cannot ask systemd about %s: %s", F(job)->spec.unit, strerror(-r));
        return 0;
}

static int check_resume(ExecJob *job, const ExecRequest *req, usec_t elapsed) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = check_prepare(job, req);
        if (r < 0)
                return r;
        F(job)->resume_elapsed = elapsed;
        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH, F(job)->spec.unit, &path);
        if (r < 0)
                return r;
        return bus_queue_call_method(job->executor->calls, &job->query, SYSTEMD_BUS_NAME, path,
                                     DBUS_PROPERTIES_IFACE, "GetAll", on_check_resume_unit, job, "s",
                                     SYSTEMD_UNIT_IFACE);
}

const ExecKindOps exec_kind_fs_check = {
        .state_size = sizeof(FsState),
        .start = check_start,
        .resume = check_resume,
        .disarm = fs_disarm,
        .done = fs_done,
};

/* ---- fs.mount ---- */

static int mount_probe(ExecJob *job);

static void mount_finish_mounted(ExecJob *job, const FsProbeReport *r) {
        const FsMountEntry *m = &r->at_where;

        if (F(job)->job_done)
                exec_job_finish(job, EXEC_SUCCEEDED, 0, -1, "mounted %s at %s (%s, %s; %s %s)", r->device, m->target,
                                m->fstype, m->read_only ? "read-only" : "read-write", job->unit,
                                strna(F(job)->origin));
        else
                exec_job_finish(job, EXEC_SUCCEEDED, 0, -1, "%s is already mounted at %s (%s, %s): nothing to do",
                                r->device, m->target, m->fstype, m->read_only ? "read-only" : "read-write");
}

static int on_mount_job_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        ExecJob *job = userdata;
        char d[FORMAT_DURATION_MAX];

        /* The mount job is left alone: a retry merges with it. */
        exec_job_finish(job, EXEC_TIMED_OUT, -ETIME, -1, "%s not mounted after %s (%s)", F(job)->where,
                        format_duration(d, job->timeout), job->unit ?: "no mount unit started yet");
        return 0;
}

static void mount_job_removed(ExecJob *job, const char *result) {
        int r;

        job->job_path = mfree(job->job_path);
        if (!streq(result, "done")) {
                exec_job_finish(job, EXEC_FAILED, 0, -1, "mounting %s at %s: %s job %s (see journalctl -u %s)",
                                F(job)->device, F(job)->where, job->unit, result, job->unit);
                return;
        }
        /* The job is done; the mount table says whether it is our device there. */
        F(job)->job_done = true;
        r = mount_probe(job);
        if (r < 0)
                exec_job_finish(job, EXEC_FAILED, r, -1, "%s: mount job done, but cannot look at the mount table: %s",
                                job->unit, strerror(-r));
}

static int on_mount_job_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        _cleanup_free_ char *removed = NULL;
        char buf[512];
        int r;

        job->call = bus_queue_call_free(job->call);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *error = sd_bus_message_get_error(m);
                exec_job_finish(job, EXEC_FAILED, sd_bus_error_get_errno(error) ?: EIO, -1, "mounting %s at %s: %s",
                                F(job)->device, F(job)->where, exec_bus_error_text(error, -EIO, buf, sizeof(buf)));
                return 0;
        }
        r = exec_job_take_job_path(job, m, &removed);
        if (r < 0) {
                exec_job_finish(job, EXEC_FAILED, r, -1, "%s: bad reply: %s", job->unit, strerror(-r));
                return 0;
        }
        if (removed)
                mount_job_removed(job, removed);
        return 0;
}

static int mount_start_transient(ExecJob *job, const char *device) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *description = NULL;
        int r;

        if (asprintf(&description, "salve step %s: %s at %s", job->step_id, device, F(job)->where) < 0)
                return -ENOMEM;
        r = sd_bus_message_new_method_call(job->executor->bus, &m, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                           SYSTEMD_MANAGER_IFACE, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", job->unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)", "Description", "s", description, "What", "s", device,
                                          "Where", "s", F(job)->where);
        if (r >= 0 && F(job)->type)
                r = sd_bus_message_append(m, "(sv)", "Type", "s", F(job)->type);
        if (r >= 0 && F(job)->options)
                r = sd_bus_message_append(m, "(sv)", "Options", "s", F(job)->options);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r >= 0)
                r = bus_queue_call(job->executor->calls, &job->call, m, on_mount_job_reply, job, 0);
        if (r < 0)
                return r;
        free(F(job)->origin);
        F(job)->origin = strdup("transient");
        exec_job_await_reply(job);
        return 0;
}

/* Whether a unit's What= names the device: the same device node, after symlinks. */
static bool what_is_device(const char *what, const char *device) {
        struct stat a, b;

        if (!what || what[0] != '/')
                return false;
        if (stat(what, &a) < 0 || stat(device, &b) < 0)
                return false;
        if (S_ISBLK(a.st_mode) && S_ISBLK(b.st_mode))
                return a.st_rdev == b.st_rdev;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int on_mount_unit(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecJob *job = userdata;
        const char *load_state = NULL, *fragment = NULL, *source = NULL, *what = NULL, *name;
        char buf[512];
        int r;

        job->query = bus_queue_call_free(job->query);
        if (sd_bus_message_is_method_error(m, NULL)) {
                exec_job_finish(job, EXEC_FAILED, sd_bus_error_get_errno(sd_bus_message_get_error(m)) ?: EIO, -1,
                                "cannot ask systemd about %s: %s", job->unit,
                                exec_bus_error_text(sd_bus_message_get_error(m), -EIO, buf, sizeof(buf)));
                return 0;
        }
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0 && streq(name, "LoadState"))
                        r = sd_bus_message_read(m, "v", "s", &load_state);
                else if (r >= 0 && streq(name, "FragmentPath"))
                        r = sd_bus_message_read(m, "v", "s", &fragment);
                else if (r >= 0 && streq(name, "SourcePath"))
                        r = sd_bus_message_read(m, "v", "s", &source);
                else if (r >= 0 && streq(name, "What"))
                        r = sd_bus_message_read(m, "v", "s", &what);
                else if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r < 0) {
                exec_job_finish(job, EXEC_FAILED, r, -1, "cannot read %s's properties: %s", job->unit, strerror(-r));
                return 0;
        }

        /* A unit of its own for `where` (fstab: SourcePath=/etc/fstab; a
         * unit file: FragmentPath): start that one, if it is our device. */
        const char *file = source && *source ? source : fragment && *fragment ? fragment : NULL;
        if (streq_ptr(load_state, "loaded") && file) {
                if (!what_is_device(what, F(job)->device)) {
                        exec_job_finish(job, EXEC_FAILED, 0, -1, "%s has a mount unit of its own, %s (%s), for %s, not %s",
                                        F(job)->where, job->unit, file, strna(what), F(job)->device);
                        return 0;
                }
                free(F(job)->origin);
                F(job)->origin = strdup(file);
                r = bus_queue_call_method(job->executor->calls, &job->call, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                          SYSTEMD_MANAGER_IFACE, "StartUnit", on_mount_job_reply, job, "ss", job->unit,
                                          "replace");
                if (r >= 0)
                        exec_job_await_reply(job);
        } else
                r = mount_start_transient(job, F(job)->device);
        if (r < 0)
                exec_job_finish(job, EXEC_FAILED, r, -1, "cannot start %s: %s", job->unit, strerror(-r));
        return 0;
}

static void on_mount_probed(ExecJob *job, int error, const FsProbeReport *r) {
        const FsMountEntry *at = &r->at_where;
        char buf[PATH_MAX + 512];
        const char *type;
        int k;

        if (error < 0 || r->error < 0) {
                exec_job_finish(job, EXEC_FAILED, error ?: r->error, -1, "%s", probe_error_text(error, r, buf, sizeof(buf)));
                return;
        }
        if (at->found && fs_mount_is_device(at, r)) {
                mount_finish_mounted(job, r);
                return;
        }
        if (at->found) {
                exec_job_finish(job, EXEC_FAILED, -EBUSY, -1, "%s%s has %s (%s) mounted on it, not %s",
                                F(job)->job_done ? "mount job done, but " : "", F(job)->where, at->source, at->fstype,
                                r->device);
                return;
        }
        if (F(job)->job_done) {
                exec_job_finish(job, EXEC_FAILED, 0, -1, "%s: mount job done, but nothing is mounted at %s", job->unit,
                                F(job)->where);
                return;
        }

        if (pick_type(job, F(job)->type, r, &type) < 0)
                return;
        if (!F(job)->type && !(F(job)->type = strdup(type))) {
                exec_job_finish(job, EXEC_FAILED, -ENOMEM, -1, "out of memory");
                return;
        }
        /* The resolved node: a transient unit's What= must not depend on a
         * udev symlink that may not exist. */
        free(F(job)->device);
        F(job)->device = strdup(r->device);
        if (!F(job)->device) {
                exec_job_finish(job, EXEC_FAILED, -ENOMEM, -1, "out of memory");
                return;
        }
        k = bus_queue_call_method(job->executor->calls, &job->query, SYSTEMD_BUS_NAME, job->unit_path,
                                  DBUS_PROPERTIES_IFACE, "GetAll", on_mount_unit, job, "s", "");
        if (k < 0)
                exec_job_finish(job, EXEC_FAILED, k, -1, "cannot ask systemd about %s: %s", job->unit, strerror(-k));
}

static int mount_probe(ExecJob *job) {
        return fs_child_start(job, &(FsProbeRequest) { .spec = F(job)->device, .where = F(job)->where },
                              on_mount_probed);
}

static int mount_start(ExecJob *job, const ExecRequest *req) {
        int r;

        r = copy_arg(req->step, "device", &F(job)->device);
        if (r > 0)
                r = copy_arg(req->step, "where", &F(job)->where);
        if (r == 0)
                return -EINVAL;
        if (r > 0)
                r = copy_arg(req->step, "fstype", &F(job)->type);
        if (r >= 0)
                r = copy_arg(req->step, "options", &F(job)->options);
        if (r < 0)
                return r;
        free(job->unit);
        job->unit = NULL;
        r = fs_mount_unit_name(F(job)->where, &job->unit);
        if (r < 0)
                return r;
        job->unit_path = mfree(job->unit_path);
        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH, job->unit, &job->unit_path);
        if (r < 0)
                return r;
        r = exec_job_arm_timer(job, job->timeout, on_mount_job_timeout, "exec-fs-mount-timeout");
        if (r < 0)
                return r;
        return mount_probe(job);
}

/* Mounting twice is harmless: judge the mount table afresh. */
static int mount_resume(ExecJob *job, const ExecRequest *req, usec_t elapsed) {
        exec_job_timeout_left(job, elapsed);
        return mount_start(job, req);
}

const ExecKindOps exec_kind_fs_mount = {
        .state_size = sizeof(FsState),
        .start = mount_start,
        .resume = mount_resume,
        .job_removed = mount_job_removed,
        .disarm = fs_disarm,
        .done = fs_done,
};
