/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The block device watcher: kernel uevents from NETLINK_KOBJECT_UEVENT
 * group 1 (through libmnl, not sd-device, because salve must see ENOBUFS),
 * devices identified with libblkid in forked children (block-probe.h),
 * "added"/"removed" announced by the rule in block-table.h.
 *
 * Invariants:
 * - Only datagrams whose sender is the kernel (nl_pid 0) are read; any
 *   other, truncated or malformed one is counted as bad input and dropped.
 * - Per device, events go out in the kernel's order: a device has at most
 *   one probe running; a change while it runs asks for another after it;
 *   a remove cancels it (the device is announced, identity NULL, if it
 *   never was, then removed).
 * - At most BLOCK_PROBES_MAX children run at once; the rest wait in FIFO
 *   order. A device whose size is 0 (an unattached loop device, an empty
 *   drive) is known to be empty without forking, which keeps floods of
 *   loop add/remove cheap. A device whose probe timed out is not probed
 *   again until it is removed (one stuck child per failing disk at most);
 *   its changes are then announced as unknown (nothing changes).
 * - The device node is devfs + "/" + DEVNAME; salve creates no nodes. If
 *   it is missing (a container with a private /dev) or is not that
 *   device, the probe fails and the device is announced with identity
 *   NULL under its kernel name, /dev/DEVNAME.
 * - ENOBUFS: WATCH_LOST, the socket is drained (what is queued predates
 *   the re-read), /sys/class/block is re-read and diffed against the
 *   table; the devices that came, went or whose diskseq or size changed
 *   are announced (.resynced) and WATCH_RESYNCED follows once the last of
 *   them is identified. A lost change that altered neither diskseq nor
 *   size (mkfs on a present disk) is not found by a resync.
 * - WATCH_READY follows once every device of the initial enumeration has
 *   been announced (.initial), which waits for their probes. */

#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>

#include "fileio.h"

#include "block-probe.h"
#include "block-table.h"
#include "uevent-parse.h"
#include "watch.h"

#define BLOCK_RCVBUF_DEFAULT (16 * 1024 * 1024)
#define BLOCK_PROBES_MAX 4
#define BLOCK_PROBE_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define BLOCK_READS_PER_WAKEUP 256
#define BLOCK_DRAIN_MAX 65536           /* datagrams dropped after ENOBUFS, at most */
#define BLOCK_SIZE_FILE_MAX 64
#define BLOCK_BAD_NOTICES_PER_SEC 10    /* more are counted, and said in one line */

typedef enum ScanMode {
        SCAN_INITIAL,
        SCAN_RESYNC,
} ScanMode;

typedef struct BlockWatch {
        Watch watch;
        struct mnl_socket *nl;
        sd_event_source *nl_source;
        int classfd;                    /* sysfs/class/block, for the per-event size read */
        BlockTable table;
        BlockProber *prober;
        BlockDevice *queue_head, *queue_tail;   /* waiting for a probe slot */
        size_t n_pending_initial, n_pending_resync;
        bool resyncing;
        usec_t resync_started;
        size_t resync_scanned;
        unsigned resync_added, resync_removed, resync_changed;
        uint64_t probes, probe_usec_sum, probe_usec_max;
        char boot_id[37];               /* "" if not known: then no occurrence */
        usec_t bad_window;              /* CLOCK_MONOTONIC second of the last bad-input notices */
        unsigned bad_in_window, bad_suppressed;
        char buf[UEVENT_MESSAGE_MAX + 1];
} BlockWatch;

static BlockWatch *block_watch(Watch *w) {
        return (BlockWatch *) w;
}

static const char *sysfs_root(BlockWatch *b) {
        return b->watch.ctx.sysfs ?: "/sys";
}

static void block_emit(BlockWatch *b, BlockDevice *d, const char *event, const BlockIdentity *id, bool initial,
                       bool resynced) {
        char occurrence[192];
        TriggerEvent ev = {
                .kind = TRIGGER_DEVICE,
                .name = d->node,
                .event = event,
                .fs_type = id ? id->fs_type : NULL,
                .uuid = id ? id->uuid : NULL,
                .label = id ? id->label : NULL,
                .partuuid = id ? id->partuuid : NULL,
                .realtime = now_usec(CLOCK_REALTIME),
                .monotonic = now_usec(CLOCK_MONOTONIC),
                .initial = initial,
                .resynced = resynced,
        };

        /* The disk's diskseq names its medium within this boot, and numbering
         * starts again at boot: the boot ID makes it one occurrence. */
        if (d->diskseq > 0 && b->boot_id[0]) {
                (void) snprintf(occurrence, sizeof(occurrence), "%s:%s:%s:%" PRIu64 ":%.40s", b->boot_id, event,
                                d->sysname, d->diskseq, id && id->uuid ? id->uuid : "-");
                ev.occurrence = occurrence;
        }
        watch_emit(&b->watch, &ev);
}

/* Bad datagrams from the socket: every one is counted; at most
 * BLOCK_BAD_NOTICES_PER_SEC a second are said, the rest in one line with
 * the next that is said, so a sender cannot flood the log. No timer. */
_printf_(3, 4)
static void bad_uevent(BlockWatch *b, int error, const char *format, ...) {
        usec_t now = now_usec(CLOCK_MONOTONIC) / USEC_PER_SEC;
        char msg[256];
        va_list ap;

        if (now != b->bad_window) {
                b->bad_window = now;
                b->bad_in_window = 0;
        }
        if (++b->bad_in_window > BLOCK_BAD_NOTICES_PER_SEC) {
                b->watch.stats.bad_input++;
                b->bad_suppressed++;
                return;
        }
        va_start(ap, format);
        (void) vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);
        if (b->bad_suppressed > 0) {
                watch_notice(&b->watch, WATCH_BAD_INPUT, error, "%s (and %u more not said)", msg,
                             b->bad_suppressed);
                b->bad_suppressed = 0;
        } else
                watch_notice(&b->watch, WATCH_BAD_INPUT, error, "%s", msg);
}

static void resync_maybe_done(BlockWatch *b) {
        usec_t took;

        if (!b->resyncing || b->n_pending_resync > 0)
                return;
        b->resyncing = false;
        took = now_usec(CLOCK_MONOTONIC) - b->resync_started;
        watch_notice(&b->watch, WATCH_RESYNCED, 0,
                     "re-read %zu block devices in %" PRIu64 " ms: %u added, %u removed, %u re-identified",
                     b->resync_scanned, took / USEC_PER_MSEC, b->resync_added, b->resync_removed,
                     b->resync_changed);
}

static void initial_maybe_done(BlockWatch *b) {
        if (b->watch.ready || b->n_pending_initial > 0)
                return;
        watch_notice(&b->watch, WATCH_READY, 0, "%zu block devices, %" PRIu64 " probed (slowest %" PRIu64 " ms)",
                     b->table.n, b->probes, b->probe_usec_max / USEC_PER_MSEC);
}

/* The device's pending first announcement (initial or resync) is made. */
static void device_settle(BlockWatch *b, BlockDevice *d) {
        if (d->pending_initial) {
                d->pending_initial = false;
                b->n_pending_initial--;
        }
        if (d->pending_resynced) {
                d->pending_resynced = false;
                b->n_pending_resync--;
        }
}

/* The truth about a present device is known: found is its identity, or
 * NULL if the probe could not tell. */
static void device_learn(BlockWatch *b, BlockDevice *d, const BlockIdentity *found) {
        static const BlockIdentity empty = {};
        bool initial = d->pending_initial, resynced = d->pending_resynced;

        switch (block_transition(d->announced, &d->id, true, found)) {
        case BLOCK_TRANSITION_REPLACE:
                block_emit(b, d, "removed", &d->id, false, resynced);
                _fallthrough_;
        case BLOCK_TRANSITION_ADD:
                if (block_identity_copy(&d->id, found ?: &empty) < 0)
                        block_identity_done(&d->id);    /* out of memory: say what we can */
                d->announced = true;
                block_emit(b, d, "added", &d->id, initial, resynced);
                break;
        default:
                break;
        }
        device_settle(b, d);
}

static void queue_unlink(BlockWatch *b, BlockDevice *d) {
        BlockDevice **p;

        if (!d->queued)
                return;
        for (p = &b->queue_head; *p; p = &(*p)->queue_next)
                if (*p == d) {
                        *p = d->queue_next;
                        break;
                }
        if (b->queue_tail == d) {
                b->queue_tail = NULL;
                for (BlockDevice *i = b->queue_head; i; i = i->queue_next)
                        b->queue_tail = i;
        }
        d->queue_next = NULL;
        d->queued = false;
}

/* The kernel no longer has it (or its number now names another device). */
static void device_gone(BlockWatch *b, BlockDevice *d, bool resynced) {
        if (d->probe) {
                block_probe_cancel(d->probe);
                d->probe = NULL;
        }
        queue_unlink(b, d);
        resynced = resynced || d->pending_resynced;
        if (!d->announced)
                block_emit(b, d, "added", NULL, d->pending_initial, resynced);
        block_emit(b, d, "removed", &d->id, false, resynced);
        device_settle(b, d);
        (void) block_table_remove(&b->table, d);
        block_device_free(d);
}

/* /sys/class/block/NAME/size, in 512-byte sectors. */
static int read_size(BlockWatch *b, int classfd, const char *sysname, uint64_t *ret) {
        char path[UEVENT_DEVNAME_MAX + 8], buf[BLOCK_SIZE_FILE_MAX], *end;
        unsigned long long v;
        size_t len;
        int r;

        if (classfd < 0)
                classfd = b->classfd;
        if (classfd < 0)
                return -EBADF;
        (void) snprintf(path, sizeof(path), "%s/size", sysname);
        r = read_small_file_at(classfd, path, buf, sizeof(buf) - 1, &len);
        if (r < 0)
                return r;
        buf[len] = '\0';
        errno = 0;
        v = strtoull(buf, &end, 10);
        if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || buf[0] == '-')
                return -EBADMSG;
        *ret = v;
        return 0;
}

static void pump(BlockWatch *b);
static void device_identify(BlockWatch *b, BlockDevice *d, int classfd);

static void on_probe_done(BlockProbe *probe, int error, const ProbeResult *result, void *userdata) {
        BlockWatch *b = userdata;
        BlockDevice *d = NULL;
        BlockIdentity id = {};
        const BlockIdentity *found = NULL;
        usec_t took;

        /* Find the device this probe was for (the table has few probing). */
        for (size_t i = 0; i < b->table.n && !d; i++)
                if (b->table.devices[i]->probe == probe)
                        d = b->table.devices[i];
        if (!d)
                return;         /* cannot happen: a removal cancels the probe */
        d->probe = NULL;
        took = now_usec(CLOCK_MONOTONIC) - d->probe_started;
        b->probes++;
        b->probe_usec_sum += took;
        b->probe_usec_max = MAX(b->probe_usec_max, took);

        if (error == -ETIME)
                d->probe_hung = true;
        if (error == 0 && result->status == 0) {
                if (block_identity_set(&id, result->fs_type, result->uuid, result->label, result->partuuid) >= 0)
                        found = &id;
        } else if (error == 0 && result->status == 1)
                found = &id;    /* looked, found nothing */
        device_learn(b, d, found);
        block_identity_done(&id);

        /* A change that came while it ran (probe_wanted) is queued by the pump. */
        resync_maybe_done(b);
        initial_maybe_done(b);
        pump(b);
}

static void device_probe_now(BlockWatch *b, BlockDevice *d) {
        char path[PATH_MAX];
        BlockProbe *probe;
        int r;

        d->probe_wanted = false;
        (void) snprintf(path, sizeof(path), "%s/%s", b->watch.ctx.devfs ?: "/dev", d->devname);
        d->probe_started = now_usec(CLOCK_MONOTONIC);
        r = block_prober_start(b->prober, path, d->major, d->minor, on_probe_done, b, &probe);
        if (r < 0) {
                device_learn(b, d, NULL);
                return;
        }
        d->probe = probe;
}

/* Starts what waits, up to the limit. A device that changed while its
 * probe ran is looked at again (the cheap cases first), at the back of the
 * queue. */
static void pump(BlockWatch *b) {
        for (size_t i = 0; i < b->table.n; i++) {
                BlockDevice *d = b->table.devices[i];

                if (d->probe_wanted && !d->probe && !d->queued)
                        device_identify(b, d, -EBADF);
        }
        while (b->queue_head && block_prober_running(b->prober) < BLOCK_PROBES_MAX) {
                BlockDevice *d = b->queue_head;

                b->queue_head = d->queue_next;
                if (!b->queue_head)
                        b->queue_tail = NULL;
                d->queue_next = NULL;
                d->queued = false;
                device_probe_now(b, d);
        }
        resync_maybe_done(b);
        initial_maybe_done(b);
}

/* The device is new or changed: find out what is on it. The cheap cases
 * are decided here; the rest wait for a probe. */
static void device_identify(BlockWatch *b, BlockDevice *d, int classfd) {
        static const BlockIdentity empty = {};
        uint64_t size;

        if (d->probe || d->queued) {
                d->probe_wanted = true;         /* again, after the one under way */
                return;
        }
        d->probe_wanted = false;
        if (read_size(b, classfd, d->sysname, &size) >= 0) {
                d->size = size;
                if (size == 0) {
                        device_learn(b, d, &empty);
                        return;
                }
        }
        if (d->probe_hung) {
                device_learn(b, d, NULL);
                return;
        }
        d->probe_wanted = true;
        d->queued = true;
        if (b->queue_tail)
                b->queue_tail->queue_next = d;
        else
                b->queue_head = d;
        b->queue_tail = d;
}

static int device_add(BlockWatch *b, const UEvent *u, BlockDevice **ret) {
        _cleanup_(block_device_freep) BlockDevice *d = NULL;
        int r;

        r = block_device_new(u->major, u->minor, u->sysname, u->devname, &d);
        if (r < 0)
                return r;
        d->diskseq = u->diskseq;
        r = block_table_insert(&b->table, d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

static void handle_uevent(BlockWatch *b, const UEvent *u) {
        BlockDevice *d = block_table_find(&b->table, u->major, u->minor);
        int r;

        if (d && !streq(d->sysname, u->sysname)) {
                /* Its number now names another device: the removal was lost. */
                device_gone(b, d, false);
                d = NULL;
        }
        switch (u->action) {
        case UEVENT_ADD:
        case UEVENT_CHANGE:
        case UEVENT_MOVE:
        case UEVENT_ONLINE:
                if (!d) {
                        r = device_add(b, u, &d);
                        if (r < 0) {
                                watch_notice(&b->watch, WATCH_FAILED, r, "cannot track %s: %s", u->sysname,
                                             strerror(-r));
                                return;
                        }
                } else if (u->diskseq > 0)
                        d->diskseq = u->diskseq;
                device_identify(b, d, -EBADF);
                break;
        case UEVENT_REMOVE:
                if (d)
                        device_gone(b, d, false);
                break;
        default:
                break;
        }
}

/* Re-reads /sys/class/block into the table. */
typedef struct Scan {
        BlockWatch *b;
        ScanMode mode;
        int classfd;
} Scan;

static int on_diff(BlockDiffKind kind, BlockDevice *d, const BlockSnapshotEntry *e, void *userdata) {
        Scan *s = userdata;
        BlockWatch *b = s->b;
        int r;

        switch (kind) {
        case BLOCK_DIFF_GONE:
                b->resync_removed++;
                device_gone(b, d, true);
                return 0;
        case BLOCK_DIFF_NEW: {
                UEvent u = { .major = e->major, .minor = e->minor, .sysname = e->sysname, .devname = e->devname,
                             .diskseq = e->diskseq };

                r = device_add(b, &u, &d);
                if (r < 0)
                        return r;
                if (s->mode == SCAN_INITIAL) {
                        d->pending_initial = true;
                        b->n_pending_initial++;
                } else {
                        d->pending_resynced = true;
                        b->n_pending_resync++;
                        b->resync_added++;
                }
                break;
        }
        case BLOCK_DIFF_CHANGED:
                d->diskseq = e->diskseq;
                if (!d->pending_resynced) {
                        d->pending_resynced = true;
                        b->n_pending_resync++;
                }
                b->resync_changed++;
                break;
        }
        device_identify(b, d, s->classfd);
        return 0;
}

typedef struct Snapshot {
        BlockSnapshotEntry *entries;
        size_t n, allocated;
} Snapshot;

static void snapshot_done(Snapshot *s) {
        for (size_t i = 0; i < s->n; i++) {
                free((char *) s->entries[i].sysname);
                free((char *) s->entries[i].devname);
        }
        free(s->entries);
}

static int snapshot_add(Snapshot *s, unsigned major, unsigned minor, const char *sysname, const char *devname,
                        uint64_t diskseq, uint64_t size) {
        BlockSnapshotEntry *e;

        if (s->n == s->allocated) {
                size_t a = MAX(s->allocated * 2, (size_t) 64);
                BlockSnapshotEntry *n = reallocarray(s->entries, a, sizeof(*n));

                if (!n)
                        return -ENOMEM;
                s->entries = n;
                s->allocated = a;
        }
        e = &s->entries[s->n];
        *e = (BlockSnapshotEntry) { .major = major, .minor = minor, .diskseq = diskseq, .size = size };
        e->sysname = strdup(sysname);
        e->devname = strdup(devname);
        if (!e->sysname || !e->devname) {
                free((char *) e->sysname);
                free((char *) e->devname);
                return -ENOMEM;
        }
        s->n++;
        return 0;
}

/* One /sys/class/block entry into the snapshot. A device that vanished
 * meanwhile is skipped; one whose uevent file is malformed is counted and
 * kept as the table knows it, so bad input loses no state. */
static int scan_one(BlockWatch *b, int classfd, const char *name, Snapshot *s) {
        char path[UEVENT_DEVNAME_MAX + 16];
        uint64_t size = UINT64_MAX;
        size_t len;
        UEvent u;
        int r;

        if (!uevent_sysname_is_valid(name)) {
                watch_notice(&b->watch, WATCH_BAD_INPUT, EINVAL, "sysfs: skipping block device named \"%.64s\"",
                             name);
                return 0;
        }
        (void) snprintf(path, sizeof(path), "%s/uevent", name);
        r = read_small_file_at(classfd, path, b->buf, UEVENT_MESSAGE_MAX, &len);
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = uevent_parse_sysfs(b->buf, len, name, &u);
        if (r < 0) {
                watch_notice(&b->watch, WATCH_BAD_INPUT, -r, "sysfs: %s/uevent: %s", name, strerror(-r));
                for (size_t i = 0; i < b->table.n; i++) {
                        BlockDevice *d = b->table.devices[i];

                        if (streq(d->sysname, name))
                                return snapshot_add(s, d->major, d->minor, d->sysname, d->devname, d->diskseq,
                                                    d->size);
                }
                return 0;
        }
        (void) read_size(b, classfd, name, &size);
        return snapshot_add(s, u.major, u.minor, name, u.devname, u.diskseq, size);
}

static int scan(BlockWatch *b, ScanMode mode) {
        _cleanup_(closedirp) DIR *dir = NULL;
        _cleanup_(snapshot_done) Snapshot snap = {};
        char path[PATH_MAX];
        struct dirent *de;
        Scan s = { .b = b, .mode = mode };
        int r;

        (void) snprintf(path, sizeof(path), "%s/class/block", sysfs_root(b));
        dir = opendir(path);
        if (!dir)
                return -errno;
        s.classfd = dirfd(dir);
        while ((errno = 0, de = readdir(dir))) {
                if (de->d_name[0] == '.')
                        continue;
                r = scan_one(b, s.classfd, de->d_name, &snap);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return -errno;
        b->resync_scanned = snap.n;
        r = block_table_diff(&b->table, snap.entries, snap.n, on_diff, &s);
        pump(b);
        return r;
}

/* Drops what the socket holds: it all predates the re-read that follows. */
static void drain(BlockWatch *b) {
        int fd = mnl_socket_get_fd(b->nl);

        for (size_t i = 0; i < BLOCK_DRAIN_MAX; i++)
                if (recv(fd, b->buf, sizeof(b->buf), MSG_DONTWAIT) < 0 && errno != ENOBUFS && errno != EINTR)
                        break;
}

static int block_resync_now(BlockWatch *b) {
        int r;

        if (!b->resyncing) {
                b->resyncing = true;
                b->resync_started = now_usec(CLOCK_MONOTONIC);
                b->resync_added = b->resync_removed = b->resync_changed = 0;
        }
        r = scan(b, SCAN_RESYNC);
        if (r < 0) {
                watch_notice(&b->watch, WATCH_FAILED, -r, "re-reading %s/class/block: %s", sysfs_root(b),
                             strerror(-r));
                return r;
        }
        resync_maybe_done(b);
        return 0;
}

static void on_lost(BlockWatch *b) {
        watch_notice(&b->watch, WATCH_LOST, ENOBUFS, "kernel uevents were lost (receive buffer full)");
        drain(b);
        (void) block_resync_now(b);
}

static int on_netlink(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        BlockWatch *b = userdata;

        for (size_t i = 0; i < BLOCK_READS_PER_WAKEUP; i++) {
                struct sockaddr_nl sa = {};
                struct iovec iov = { .iov_base = b->buf, .iov_len = sizeof(b->buf) };
                struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;
                UEvent u;
                int r;

                n = recvmsg(fd, &mh, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        if (errno == ENOBUFS) {
                                on_lost(b);
                                break;
                        }
                        watch_notice(&b->watch, WATCH_FAILED, errno, "reading uevents: %m");
                        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                        break;
                }
                if (mh.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0) {
                        bad_uevent(b, EPERM, "uevent not from the kernel (sender port %u), dropped", sa.nl_pid);
                        continue;
                }
                if (mh.msg_flags & MSG_TRUNC || (size_t) n > UEVENT_MESSAGE_MAX) {
                        bad_uevent(b, EMSGSIZE, "uevent over %d bytes, dropped", UEVENT_MESSAGE_MAX);
                        continue;
                }
                r = uevent_parse_message(b->buf, (size_t) n, &u);
                if (r < 0) {
                        bad_uevent(b, -r, "malformed uevent (%zd bytes): %s", n, strerror(-r));
                        continue;
                }
                if (!streq(u.subsystem, "block"))
                        continue;
                handle_uevent(b, &u);
        }
        pump(b);
        return 0;
}

static int block_open_socket(BlockWatch *b) {
        int size = b->watch.ctx.rcvbuf > 0 ? b->watch.ctx.rcvbuf : BLOCK_RCVBUF_DEFAULT, fd, r;

        b->nl = mnl_socket_open2(NETLINK_KOBJECT_UEVENT, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!b->nl)
                return -errno;
        fd = mnl_socket_get_fd(b->nl);
        /* FORCE passes rmem_max when we may (CAP_NET_ADMIN); else the capped one. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
                return -errno;
        if (mnl_socket_bind(b->nl, 1 /* group 1: the kernel's */, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        r = sd_event_add_io(b->watch.ctx.event, &b->nl_source, fd, EPOLLIN, on_netlink, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(b->nl_source, "block-uevents");
        return 0;
}

/* The kernel's boot ID, for occurrences; empty if it cannot be read. */
static void read_boot_id(BlockWatch *b) {
        char path[PATH_MAX], buf[64];
        size_t len = 0;

        b->boot_id[0] = '\0';
        (void) snprintf(path, sizeof(path), "%s/sys/kernel/random/boot_id", b->watch.ctx.procfs ?: "/proc");
        if (read_small_file_at(AT_FDCWD, path, buf, sizeof(buf), &len) < 0 || len != 37 || buf[36] != '\n')
                return;
        for (size_t i = 0; i < 36; i++)
                if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f') || buf[i] == '-'))
                        return;
        memcpy(b->boot_id, buf, 36);
        b->boot_id[36] = '\0';
}

static int block_start(Watch *w) {
        BlockWatch *b = block_watch(w);
        char path[PATH_MAX];
        int r;

        read_boot_id(b);
        b->classfd = -EBADF;
        r = block_prober_new(w->ctx.event, BLOCK_PROBE_TIMEOUT_USEC, &b->prober);
        if (r < 0)
                return r;
        (void) snprintf(path, sizeof(path), "%s/class/block", sysfs_root(b));
        b->classfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (b->classfd < 0)
                return -errno;
        r = block_open_socket(b);
        if (r < 0)
                return r;
        r = scan(b, SCAN_INITIAL);
        if (r < 0)
                return r;
        initial_maybe_done(b);
        return 0;
}

static void block_done(Watch *w) {
        BlockWatch *b = block_watch(w);

        b->nl_source = sd_event_source_disable_unref(b->nl_source);
        if (b->nl)
                mnl_socket_close(b->nl);
        b->nl = NULL;
        for (size_t i = 0; i < b->table.n; i++)
                b->table.devices[i]->probe = NULL;
        b->prober = block_prober_free(b->prober);
        block_table_done(&b->table);
        b->classfd = safe_close(b->classfd);
}

static int block_resync(Watch *w) {
        return block_resync_now(block_watch(w));
}

const WatchVTable block_watch_vtable = {
        .name = "block",
        .kind = TRIGGER_DEVICE,
        .object_size = sizeof(BlockWatch),
        .start = block_start,
        .done = block_done,
        .resync = block_resync,
};
