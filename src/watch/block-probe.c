/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libblkid probes in forked children, driven from sd-event (see
 * block-probe.h). A child record lives from fork to reap: the probe's
 * answer (pipe EOF, timeout, or the child's death) and the reap are
 * separate, so the caller hears at most once and never waits on a child
 * the kernel cannot kill yet. */

#include <fcntl.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <blkid.h>

#include "block-probe.h"

#define PROBE_OUTPUT_MAX 4096

typedef struct BlockProber {
        sd_event *event;
        usec_t timeout;
        block_probe_child_t child;
        BlockProbe *children;           /* every child not reaped yet */
        size_t n_children, n_running;
} BlockProber;

struct BlockProbe {
        BlockProber *prober;
        BlockProbe *prev, *next;
        pid_t pid;
        int pidfd, pipefd;
        sd_event_source *pidfd_source, *pipe_source, *timer;
        block_probe_handler_t handler;  /* NULL once answered or cancelled */
        void *userdata;
        size_t len;
        bool overflow;
        char buf[PROBE_OUTPUT_MAX];
};

/* In the child: probe and write the answer; never returns. */
_Noreturn static void probe_child(const char *path, unsigned major, unsigned minor, int out) {
        ProbeResult r = { .status = -EIO };
        char buf[PROBE_OUTPUT_MAX];
        blkid_probe pr = NULL;
        struct stat st;
        int fd, n;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* O_NONBLOCK: an empty drive answers ENOMEDIUM rather than waiting. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                r.status = -errno;
        else if (fstat(fd, &st) < 0)
                r.status = -errno;
        else if (!S_ISBLK(st.st_mode) || st.st_rdev != makedev(major, minor))
                r.status = -ENODEV;     /* not the device the kernel named */
        else if (!(pr = blkid_new_probe()) || blkid_probe_set_device(pr, fd, 0, 0) < 0)
                r.status = -ENOMEM;
        else {
                (void) blkid_probe_enable_superblocks(pr, 1);
                (void) blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID |
                                                                     BLKID_SUBLKS_LABEL);
                (void) blkid_probe_enable_partitions(pr, 1);
                (void) blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
                switch (blkid_do_safeprobe(pr)) {
                case 0:
                        (void) blkid_probe_lookup_value(pr, "TYPE", &r.fs_type, NULL);
                        (void) blkid_probe_lookup_value(pr, "UUID", &r.uuid, NULL);
                        (void) blkid_probe_lookup_value(pr, "LABEL", &r.label, NULL);
                        (void) blkid_probe_lookup_value(pr, "PART_ENTRY_UUID", &r.partuuid, NULL);
                        r.status = (r.fs_type || r.uuid || r.label || r.partuuid) ? 0 : 1;
                        break;
                case 1:         /* nothing */
                case -2:        /* ambivalent: more than one superblock, trust none */
                        r.status = 1;
                        break;
                default:
                        r.status = -EIO;
                }
        }
        n = probe_result_format(buf, sizeof(buf), &r);
        if (n < 0) {
                r = (ProbeResult) { .status = n };
                n = probe_result_format(buf, sizeof(buf), &r);
        }
        for (int off = 0; n > 0 && off < n;) {
                ssize_t k = write(out, buf + off, (size_t) (n - off));
                if (k <= 0)
                        break;
                off += (int) k;
        }
        _exit(0);
}

static void child_close_pipe(BlockProbe *c) {
        c->pipe_source = sd_event_source_disable_unref(c->pipe_source);
        c->pipefd = safe_close(c->pipefd);
}

/* The probe's one answer (or none, if cancelled). */
static void child_answer(BlockProbe *c, int error) {
        block_probe_handler_t h = c->handler;
        ProbeResult result;

        c->timer = sd_event_source_disable_unref(c->timer);
        child_close_pipe(c);
        if (!h)
                return;
        c->handler = NULL;
        c->prober->n_running--;
        if (error == 0 && (c->overflow || probe_result_parse(c->buf, c->len, &result) < 0))
                error = -EBADMSG;
        h(c, error, error == 0 ? &result : NULL, c->userdata);
}

static void child_free(BlockProbe *c) {
        BlockProber *p = c->prober;

        if (c->handler)
                p->n_running--;
        c->pidfd_source = sd_event_source_disable_unref(c->pidfd_source);
        c->timer = sd_event_source_disable_unref(c->timer);
        child_close_pipe(c);
        c->pidfd = safe_close(c->pidfd);
        if (c->prev)
                c->prev->next = c->next;
        else
                p->children = c->next;
        if (c->next)
                c->next->prev = c->prev;
        p->n_children--;
        free(c);
}

/* Reads what is there; true at EOF (or on an error that ends the pipe). */
static bool child_read(BlockProbe *c) {
        for (;;) {
                char scratch[256];
                char *to = c->len < sizeof(c->buf) ? c->buf + c->len : scratch;
                size_t room = c->len < sizeof(c->buf) ? sizeof(c->buf) - c->len : sizeof(scratch);
                ssize_t k = read(c->pipefd, to, room);

                if (k == 0)
                        return true;
                if (k < 0)
                        return errno != EAGAIN && errno != EINTR;
                if (to == scratch)
                        c->overflow = true;
                else
                        c->len += (size_t) k;
        }
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        BlockProbe *c = userdata;

        if (child_read(c))
                child_answer(c, 0);
        return 0;
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        BlockProbe *c = userdata;
        siginfo_t si = {};
        bool ok;

        if (waitid(P_PIDFD, (id_t) c->pidfd, &si, WEXITED | WNOHANG) < 0)
                /* ECHILD: reaped by the kernel (SIGCHLD ignored), the pipe
                 * tells. Anything else: the pidfd will not tell more, and a
                 * readable pidfd left as it is would spin the loop. */
                ok = errno == ECHILD;
        else if (si.si_pid == 0)
                return 0;       /* not yet */
        else
                ok = si.si_code == CLD_EXITED && si.si_status == 0;
        /* Dead: whatever it wrote is in the pipe now. */
        if (c->handler && c->pipefd >= 0) {
                (void) child_read(c);
                child_answer(c, ok ? 0 : -ECHILD);
        }
        child_free(c);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        BlockProbe *c = userdata;

        (void) pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
        child_answer(c, -ETIME);
        return 0;
}

int block_prober_new(sd_event *event, usec_t timeout, BlockProber **ret) {
        BlockProber *p;

        if (!event || !ret)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(event);
        p->timeout = timeout;
        *ret = p;
        return 0;
}

BlockProber *block_prober_free(BlockProber *p) {
        if (!p)
                return NULL;
        while (p->children) {
                BlockProbe *c = p->children;
                siginfo_t si = {};

                c->handler = NULL;
                p->n_running = 0;
                (void) pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
                (void) waitid(P_PIDFD, (id_t) c->pidfd, &si, WEXITED | WNOHANG);
                child_free(c);
        }
        sd_event_unref(p->event);
        return mfree(p);
}

int block_prober_start(BlockProber *p, const char *path, unsigned major, unsigned minor,
                       block_probe_handler_t handler, void *userdata, BlockProbe **ret) {
        BlockProbe *c;
        int fds[2], r;

        if (!p || !path || !handler)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->prober = p;
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
                if (p->child) {
                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        p->child(path, major, minor, fds[1]);
                        _exit(0);
                }
                probe_child(path, major, minor, fds[1]);
        }
        safe_close(fds[1]);
        c->pipefd = fds[0];
        (void) fcntl(c->pipefd, F_SETFL, O_NONBLOCK);

        /* Linked before anything can fail, so child_free() undoes it all. */
        c->next = p->children;
        if (c->next)
                c->next->prev = c;
        p->children = c;
        p->n_children++;

        c->pidfd = pidfd_open(c->pid, 0);
        if (c->pidfd < 0) {
                r = -errno;
                (void) kill(c->pid, SIGKILL);
                (void) waitpid(c->pid, NULL, 0);        /* just killed, never got to the device */
                child_free(c);
                return r;
        }
        r = sd_event_add_io(p->event, &c->pipe_source, c->pipefd, EPOLLIN, on_pipe, c);
        if (r >= 0)
                r = sd_event_add_io(p->event, &c->pidfd_source, c->pidfd, EPOLLIN, on_pidfd, c);
        if (r >= 0 && p->timeout != USEC_INFINITY)
                r = sd_event_add_time_relative(p->event, &c->timer, CLOCK_MONOTONIC, p->timeout, 0,
                                               on_timeout, c);
        if (r < 0) {
                (void) pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
                /* The pidfd source, if it exists, reaps it; otherwise it stays a zombie. */
                if (!c->pidfd_source)
                        child_free(c);
                else
                        child_close_pipe(c);
                return r;
        }
        (void) sd_event_source_set_description(c->pipe_source, "block-probe-pipe");
        (void) sd_event_source_set_description(c->pidfd_source, "block-probe-child");
        if (c->timer)
                (void) sd_event_source_set_description(c->timer, "block-probe-timeout");
        c->handler = handler;
        c->userdata = userdata;
        p->n_running++;
        if (ret)
                *ret = c;
        return 0;
}

void block_probe_cancel(BlockProbe *c) {
        if (!c || !c->handler)
                return;
        c->handler = NULL;
        c->prober->n_running--;
        (void) pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
        c->timer = sd_event_source_disable_unref(c->timer);
        child_close_pipe(c);
}

void block_prober_set_child(BlockProber *p, block_probe_child_t child) {
        p->child = child;
}

pid_t block_probe_pid(const BlockProbe *c) {
        return c->pid;
}

size_t block_prober_running(const BlockProber *p) {
        return p->n_running;
}

size_t block_prober_children(const BlockProber *p) {
        return p->n_children;
}
