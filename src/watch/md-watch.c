/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The md RAID watcher. md sends no uevent when an array degrades, a member
 * fails or a resync starts or ends; sysfs is the only source. md wakes
 * pollers (POLLPRI|POLLERR) on /sys/block/mdX/md/{array_state, sync_action,
 * sync_completed, degraded} and on each dev-X/state, and on /proc/mdstat
 * for every md event (arrays appearing and going, members added). A woken
 * sysfs file stays readable-with-PRI until it is read again from offset 0,
 * so every wakeup re-reads, through the held fds, every polled file of the
 * array (which re-arms them all), reads the other attributes afresh, and
 * diffs the new state against the last (md-state.c has the rules). A wake
 * of /proc/mdstat re-reads the list of arrays and every array.
 *
 * A resync-pending seen after the initial enumeration is said only once it
 * has lasted MD_WATCH_PENDING_SETTLE_USEC: an array that mdadm creates, or
 * that a write switches from read-auto, is read-auto with a resync pending
 * for a few milliseconds before md starts the resync, and that is no cause
 * for a plan. At the initial enumeration it is said at once (a host booting
 * after a power cut).
 *
 * Invariants: every held fd is an sd-event source (EPOLLPRI only: sysfs
 * files always poll readable); nothing polls on a timer (the one timer is
 * that one-shot confirmation, per array); a file that cannot
 * be read is closed and reopened on the next wake, so a removed sysfs node
 * (which polls PRI forever) cannot spin the loop; a value that does not
 * parse is counted as bad input and the last good value kept. Files that
 * epoll refuses (a fixture tree on tmpfs: regular files do not poll) are
 * still read; their changes are seen on the next resync, which is what the
 * tests drive. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "fileio.h"
#include "md-watch.h"
#include "string-util.h"

#define MDSTAT_MAX (1024u * 1024u)

typedef struct MdWatch MdWatch;
typedef struct MdArrayWatch MdArrayWatch;

typedef struct MdMemberWatch {
        MdArrayWatch *array;
        char name[MD_NAME_MAX];
        int fd;
        sd_event_source *source;
        bool seen;
} MdMemberWatch;

struct MdArrayWatch {
        MdWatch *md;
        char name[MD_NAME_MAX];
        int attr_fd[MD_ATTR_POLLED_MAX];
        sd_event_source *attr_source[MD_ATTR_POLLED_MAX];
        MdMemberWatch **members;
        size_t n_members;
        MdArrayState state;
        bool have_state;
        bool seen;
        sd_event_source *pending_timer; /* a live resync-pending, said if it lasts */
};

struct MdWatch {
        Watch watch;
        char *block_dir;                /* SYSFS/block */
        char *mdstat_path;              /* PROCFS/mdstat */
        char *devfs;
        int mdstat_fd;
        sd_event_source *mdstat_source;
        MdArrayWatch **arrays;
        size_t n_arrays;
        unsigned unpollable;            /* fds epoll refused */
        unsigned events;                /* emitted by the current scan */
        usec_t pending_settle;
        md_watch_change_handler_t on_change;
        void *on_change_userdata;
};

typedef struct ScanFlags {
        bool initial;
        bool resynced;
} ScanFlags;

typedef struct EmitContext {
        MdWatch *md;
        MdArrayWatch *array;
        ScanFlags flags;
} EmitContext;

static MdWatch *md_watch(Watch *w) {
        return w && w->vtable == &md_watch_vtable ? (MdWatch *) w : NULL;
}

static void source_close(sd_event_source **s, int *fd) {
        *s = sd_event_source_disable_unref(*s);
        *fd = safe_close(*fd);
}

/* A short, printable rendering of bad text for a notice. */
static const char *escape_value(const char *s, size_t len, char buf[static 64]) {
        size_t j = 0;

        if (len > 0 && s[len - 1] == '\n')
                len--;
        for (size_t i = 0; i < len && j < 60; i++)
                buf[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        if (len > 60)
                buf[j++] = '.', buf[j++] = '.';
        buf[j] = 0;
        return buf;
}

static void bad_value(MdWatch *md, const char *array, const char *file, const char *s, size_t len) {
        char e[64];

        watch_notice(&md->watch, WATCH_BAD_INPUT, EBADMSG, "%s/md/%s: unparseable value \"%s\", kept the last one",
                     array, file, escape_value(s, len, e));
}

static int on_attr_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static int on_member_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* Opens path (relative to dir_fd) and watches it for PRI; a file epoll
 * refuses is kept and read without a source. */
static int open_polled(MdWatch *md, int dir_fd, const char *path, sd_event_io_handler_t handler, void *userdata,
                       const char *description, int *ret_fd, sd_event_source **ret_source) {
        _cleanup_close_ int fd = -EBADF;
        sd_event_source *s = NULL;
        int r;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        r = sd_event_add_io(md->watch.ctx.event, &s, fd, EPOLLPRI, handler, userdata);
        if (r == -EPERM)
                md->unpollable++;
        else if (r < 0)
                return r;
        else
                (void) sd_event_source_set_description(s, description);
        *ret_fd = TAKE_FD(fd);
        *ret_source = s;
        return 0;
}

/* Reads a polled attribute through its held fd, opening it if needed and
 * reopening once if the held node went (ENODEV: the kernel replaced it). */
static int read_polled(MdArrayWatch *a, int dir_fd, MdAttr attr, char *buf, size_t size, size_t *ret_len) {
        int r;

        for (int attempt = 0; attempt < 2; attempt++) {
                if (a->attr_fd[attr] < 0) {
                        char desc[64];

                        (void) snprintf(desc, sizeof(desc), "md-%s-%s", a->name, md_attr_to_string(attr));
                        r = open_polled(a->md, dir_fd, md_attr_to_string(attr), on_attr_io, a, desc,
                                        &a->attr_fd[attr], &a->attr_source[attr]);
                        if (r < 0)
                                return r;
                }
                r = read_fd_from_zero(a->attr_fd[attr], buf, size, ret_len);
                if (r >= 0)
                        return r;
                /* never keep a file that does not read: it could poll PRI forever */
                source_close(&a->attr_source[attr], &a->attr_fd[attr]);
                if (r != -ENODEV && r != -ENOENT)
                        return r;
        }
        return r;
}

static int read_plain(int dir_fd, const char *path, char *buf, size_t size, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        return read_fd_from_zero(fd, buf, size, ret_len);
}

static MdMemberWatch *member_free(MdMemberWatch *m) {
        if (!m)
                return NULL;
        source_close(&m->source, &m->fd);
        return mfree(m);
}

static MdArrayWatch *array_free(MdArrayWatch *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < MD_ATTR_POLLED_MAX; i++)
                source_close(&a->attr_source[i], &a->attr_fd[i]);
        for (size_t i = 0; i < a->n_members; i++)
                member_free(a->members[i]);
        free(a->members);
        md_array_state_done(&a->state);
        sd_event_source_disable_unref(a->pending_timer);
        return mfree(a);
}

static MdArrayWatch *array_new(MdWatch *md, const char *name) {
        MdArrayWatch *a = calloc(1, sizeof(*a));

        if (!a)
                return NULL;
        a->md = md;
        snprintf(a->name, sizeof(a->name), "%s", name);
        for (size_t i = 0; i < MD_ATTR_POLLED_MAX; i++)
                a->attr_fd[i] = -EBADF;
        md_array_state_init(&a->state, name);
        return a;
}

static MdMemberWatch *array_member(MdArrayWatch *a, const char *name, bool create) {
        MdMemberWatch *m, **n;

        for (size_t i = 0; i < a->n_members; i++)
                if (streq(a->members[i]->name, name))
                        return a->members[i];
        if (!create)
                return NULL;
        n = realloc(a->members, (a->n_members + 1) * sizeof(*n));
        if (!n)
                return NULL;
        a->members = n;
        m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->array = a;
        m->fd = -EBADF;
        snprintf(m->name, sizeof(m->name), "%s", name);
        a->members[a->n_members++] = m;
        return m;
}

/* dev-NAME/state of every member into s; members that went are dropped. */
static int array_read_members(MdArrayWatch *a, int dir_fd, MdArrayState *s) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        for (size_t i = 0; i < a->n_members; i++)
                a->members[i]->seen = false;

        while ((de = readdir(d))) {
                char path[sizeof(de->d_name) + 16], buf[MD_VALUE_MAX + 1];
                MdMemberState ms = {};
                MdMemberWatch *m;
                size_t len;

                if (strncmp(de->d_name, "dev-", 4) != 0)
                        continue;
                if (!md_member_name_valid(de->d_name + 4)) {
                        watch_notice(&a->md->watch, WATCH_BAD_INPUT, EINVAL, "%s/md: member directory name refused",
                                     a->name);
                        continue;
                }
                m = array_member(a, de->d_name + 4, true);
                if (!m)
                        return -ENOMEM;
                m->seen = true;
                snprintf(path, sizeof(path), "%s/state", de->d_name);
                snprintf(ms.name, sizeof(ms.name), "%s", m->name);

                for (int attempt = 0; attempt < 2; attempt++) {
                        if (m->fd < 0) {
                                char desc[80];

                                (void) snprintf(desc, sizeof(desc), "md-%s-dev-%s", a->name, m->name);
                                r = open_polled(a->md, dir_fd, path, on_member_io, m, desc, &m->fd, &m->source);
                                if (r < 0)
                                        break;
                        }
                        r = read_fd_from_zero(m->fd, buf, sizeof(buf), &len);
                        if (r >= 0)
                                break;
                        source_close(&m->source, &m->fd);
                        if (r != -ENODEV && r != -ENOENT)
                                break;
                }
                if (r < 0) {
                        /* going away (the member is being removed): not a member any more */
                        m->seen = false;
                        continue;
                }
                if (md_member_state_parse(buf, len, &ms) < 0) {
                        const MdMemberState *old = md_array_state_get_member(&a->state, m->name);

                        bad_value(a->md, a->name, path, buf, len);
                        if (old)
                                ms = *old;
                }
                r = md_array_state_put_member(s, &ms);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < a->n_members; ) {
                if (a->members[i]->seen) {
                        i++;
                        continue;
                }
                member_free(a->members[i]);
                memmove(a->members + i, a->members + i + 1, (a->n_members - i - 1) * sizeof(*a->members));
                a->n_members--;
        }
        return 0;
}

/* Reads the whole array into *ret. -ENOENT: its sysfs directory is gone. */
static int array_read(MdArrayWatch *a, MdArrayState *ret) {
        _cleanup_close_ int dir_fd = -EBADF;
        MdArrayState s;
        char path[PATH_MAX];
        int r;

        snprintf(path, sizeof(path), "%s/%s/md", a->md->block_dir, a->name);
        dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;

        md_array_state_init(&s, a->name);
        for (MdAttr attr = 0; attr < _MD_ATTR_MAX; attr++) {
                char buf[MD_VALUE_MAX + 1];
                size_t len = 0;

                if (attr < MD_ATTR_POLLED_MAX)
                        r = read_polled(a, dir_fd, attr, buf, sizeof(buf), &len);
                else
                        r = read_plain(dir_fd, md_attr_to_string(attr), buf, sizeof(buf), &len);
                if (r == -EFBIG) {
                        bad_value(a->md, a->name, md_attr_to_string(attr), buf, sizeof(buf) - 1);
                        md_array_state_take_attr(&s, &a->state, attr);
                        continue;
                }
                if (r < 0)
                        continue;       /* not there (raid0 has no sync_action) or not readable: unknown */
                if (md_array_state_set_attr(&s, attr, buf, len) < 0) {
                        bad_value(a->md, a->name, md_attr_to_string(attr), buf, len);
                        md_array_state_take_attr(&s, &a->state, attr);
                }
        }
        r = array_read_members(a, dir_fd, &s);
        if (r < 0) {
                md_array_state_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

static int on_pending_settled(sd_event_source *s, uint64_t usec, void *userdata);

static void on_md_event(const MdEvent *e, void *userdata) {
        EmitContext *c = userdata;
        TriggerEvent ev = {
                .kind = TRIGGER_RAID,
                .name = e->array,
                .event = md_event_type_to_string(e->type),
                .disk = e->disk,
                .mismatches = e->mismatches,
                .realtime = now_usec(CLOCK_REALTIME),
                .monotonic = now_usec(CLOCK_MONOTONIC),
                .initial = c->flags.initial,
                .resynced = c->flags.resynced,
        };

        if (e->type == MD_EVENT_RESYNC_PENDING && !c->flags.initial && c->array) {
                MdArrayWatch *a = c->array;
                int r = 0;

                if (!a->pending_timer)
                        r = sd_event_add_time_relative(c->md->watch.ctx.event, &a->pending_timer, CLOCK_MONOTONIC,
                                                       c->md->pending_settle, 0, on_pending_settled, a);
                else if (sd_event_source_get_enabled(a->pending_timer, NULL) == 0) {
                        r = sd_event_source_set_time_relative(a->pending_timer, c->md->pending_settle);
                        if (r >= 0)
                                r = sd_event_source_set_enabled(a->pending_timer, SD_EVENT_ONESHOT);
                }       /* else already waiting to see it last */
                if (r >= 0)
                        return;         /* said once it has lasted */
                /* no timer: say it now rather than never */
        }
        c->md->events++;
        watch_emit(&c->md->watch, &ev);
}

static int on_pending_settled(sd_event_source *s, uint64_t usec, void *userdata) {
        MdArrayWatch *a = userdata;
        EmitContext c = { a->md, NULL, {} };
        MdEvent e = { .type = MD_EVENT_RESYNC_PENDING, .array = a->name };

        if (a->have_state && md_array_state_is_resync_pending(&a->state))
                on_md_event(&e, &c);
        return 0;
}

/* Re-reads one array, emits what changed and tells the change handler.
 * -ENOENT: the array's sysfs directory went. */
static int array_refresh(MdArrayWatch *a, ScanFlags flags) {
        EmitContext c = { a->md, a, flags };
        MdArrayState new, old;
        bool had;
        int r;

        r = array_read(a, &new);
        if (r < 0)
                return r;
        had = a->have_state;
        old = a->state;
        /* the new state is in place before anyone hears of it */
        a->state = new;
        a->have_state = true;
        (void) md_array_state_track(had ? &old : NULL, &a->state, on_md_event, &c);
        if (a->md->on_change && (!had || !md_array_state_equal(&old, &a->state)))
                a->md->on_change(&a->md->watch, a->name, &a->state, a->md->on_change_userdata);
        md_array_state_done(&old);
        return 0;
}

static void array_remove(MdWatch *md, size_t i) {
        MdArrayWatch *a = md->arrays[i];
        char name[MD_NAME_MAX];
        bool had = a->have_state;

        snprintf(name, sizeof(name), "%s", a->name);
        memmove(md->arrays + i, md->arrays + i + 1, (md->n_arrays - i - 1) * sizeof(*md->arrays));
        md->n_arrays--;
        array_free(a);
        if (had && md->on_change)
                md->on_change(&md->watch, name, NULL, md->on_change_userdata);
}

static int array_add(MdWatch *md, const char *name, MdArrayWatch **ret) {
        MdArrayWatch **n, *a;

        n = realloc(md->arrays, (md->n_arrays + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        md->arrays = n;
        a = array_new(md, name);
        if (!a)
                return -ENOMEM;
        md->arrays[md->n_arrays++] = a;
        *ret = a;
        return 0;
}

static MdArrayWatch *array_find(MdWatch *md, const char *name, size_t *ret_index) {
        for (size_t i = 0; i < md->n_arrays; i++)
                if (streq(md->arrays[i]->name, name)) {
                        if (ret_index)
                                *ret_index = i;
                        return md->arrays[i];
                }
        return NULL;
}

/* The names of the arrays from sysfs, when /proc/mdstat cannot tell: every
 * SYSFS/block/md* with an md/ directory whose array_state is not "clear". */
static int names_from_sysfs(MdWatch *md, char ***ret, size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = NULL;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;

        d = opendir(md->block_dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char path[PATH_MAX], buf[MD_WORD_MAX + 2];
                size_t len;
                char **nn;

                if (!md_array_name_valid(de->d_name))
                        continue;
                snprintf(path, sizeof(path), "%s/md/array_state", de->d_name);
                if (read_plain(dirfd(d), path, buf, sizeof(buf), &len) < 0)
                        continue;
                if (len >= 5 && strncmp(buf, "clear", 5) == 0)
                        continue;
                nn = realloc(names, (n + 1) * sizeof(*nn));
                if (!nn)
                        goto oom;
                names = nn;
                names[n] = strdup(de->d_name);
                if (!names[n])
                        goto oom;
                n++;
        }
        *ret = names;
        *ret_n = n;
        return 0;
oom:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return -ENOMEM;
}

static int names_from_mdstat(MdWatch *md, char ***ret, size_t *ret_n) {
        _cleanup_free_ char *buf = NULL;
        Mdstat m = {};
        char **names;
        size_t len;
        int r;

        buf = malloc(MDSTAT_MAX);
        if (!buf)
                return -ENOMEM;
        r = read_fd_from_zero(md->mdstat_fd, buf, MDSTAT_MAX, &len);
        if (r < 0)
                return r;
        r = mdstat_parse(buf, len, &m);
        if (r < 0)
                return r;
        names = calloc(m.n_arrays + 1, sizeof(*names));
        if (!names) {
                mdstat_done(&m);
                return -ENOMEM;
        }
        for (size_t i = 0; i < m.n_arrays; i++) {
                names[i] = strdup(m.arrays[i].name);
                if (!names[i]) {
                        for (size_t j = 0; j < i; j++)
                                free(names[j]);
                        free(names);
                        mdstat_done(&m);
                        return -ENOMEM;
                }
        }
        *ret = names;
        *ret_n = m.n_arrays;
        mdstat_done(&m);
        return 0;
}

static int on_mdstat_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int mdstat_open(MdWatch *md) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(md->mdstat_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        r = sd_event_add_io(md->watch.ctx.event, &md->mdstat_source, fd, EPOLLPRI, on_mdstat_io, md);
        if (r == -EPERM)
                md->unpollable++;
        else if (r < 0)
                return r;
        else
                (void) sd_event_source_set_description(md->mdstat_source, "md-mdstat");
        md->mdstat_fd = TAKE_FD(fd);
        return 0;
}

/* Re-reads the list of arrays and every array; returns the number of
 * arrays. /proc/mdstat that does not parse is bad input, and the list then
 * comes from sysfs. */
static int md_scan(MdWatch *md, ScanFlags flags) {
        char **names = NULL;
        size_t n = 0;
        int r;

        if (md->mdstat_fd < 0)
                return 0;
        r = names_from_mdstat(md, &names, &n);
        if (r == -EBADMSG || r == -EFBIG) {
                watch_notice(&md->watch, WATCH_BAD_INPUT, -r, "%s: %s, listing arrays from sysfs instead",
                             md->mdstat_path, r == -EBADMSG ? "does not parse" : "too long");
                r = names_from_sysfs(md, &names, &n);
        }
        if (r < 0)
                return r;

        for (size_t i = 0; i < md->n_arrays; i++)
                md->arrays[i]->seen = false;
        for (size_t i = 0; i < n; i++) {
                MdArrayWatch *a = array_find(md, names[i], NULL);

                if (!a) {
                        r = array_add(md, names[i], &a);
                        if (r < 0)
                                break;
                }
                a->seen = true;
                r = array_refresh(a, flags);
                if (r == -ENOMEM)
                        break;
                if (r < 0)      /* listed but no sysfs directory (yet, or any more): not there now */
                        a->seen = false;
                r = 0;
        }
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        if (r < 0)
                return r;

        for (size_t i = 0; i < md->n_arrays; )
                if (!md->arrays[i]->seen)
                        array_remove(md, i);
                else
                        i++;
        return (int) md->n_arrays;
}

static int on_mdstat_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        MdWatch *md = userdata;
        int r;

        r = md_scan(md, (ScanFlags) {});
        if (r >= 0)
                return 0;
        /* mdstat could not be read: close it so it cannot spin, say so, and
         * come back through a fresh open and a full re-read */
        watch_notice(&md->watch, WATCH_LOST, -r, "%s: read failed: %s; re-opening", md->mdstat_path, strerror(-r));
        source_close(&md->mdstat_source, &md->mdstat_fd);
        r = mdstat_open(md);
        if (r >= 0)
                r = md_scan(md, (ScanFlags) { .resynced = true });
        if (r < 0) {
                watch_notice(&md->watch, WATCH_FAILED, -r, "%s: %s", md->mdstat_path, strerror(-r));
                return 0;
        }
        watch_notice(&md->watch, WATCH_RESYNCED, 0, "%s re-opened: %d arrays", md->mdstat_path, r);
        return 0;
}

static int on_array_wake(MdArrayWatch *a) {
        MdWatch *md = a->md;
        int r;

        r = array_refresh(a, (ScanFlags) {});
        if (r == -ENOENT || r == -ENODEV) {
                /* the array is going: mdstat says what is left (a may be freed) */
                r = md_scan(md, (ScanFlags) {});
                if (r < 0)
                        watch_notice(&md->watch, WATCH_FAILED, -r, "re-reading arrays: %s", strerror(-r));
        }
        return 0;
}

static int on_attr_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        return on_array_wake(userdata);
}

static int on_member_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        MdMemberWatch *m = userdata;

        return on_array_wake(m->array);
}

static void summary(MdWatch *md, char *buf, size_t size) {
        size_t k = 0;

        buf[0] = 0;
        for (size_t i = 0; i < md->n_arrays && k + 1 < size; i++) {
                const MdArrayState *s = &md->arrays[i]->state;
                int n;

                n = snprintf(buf + k, size - k, "%s%s %s %s%s%s%s", i ? ", " : "", s->name,
                             s->level[0] ? s->level : "-", s->array_state_text[0] ? s->array_state_text : "-",
                             md_array_state_is_degraded(s) ? " degraded" : "",
                             md_array_state_is_resync_pending(s) ? " resync-pending" : "",
                             md_array_state_is_syncing(s) ? " syncing" : "");
                if (n < 0)
                        break;
                k += (size_t) n;
        }
}

static int md_watch_start(Watch *w) {
        MdWatch *md = (MdWatch *) w;
        const char *sysfs = w->ctx.sysfs ?: "/sys", *procfs = w->ctx.procfs ?: "/proc";
        char list[400];
        int r;

        md->mdstat_fd = -EBADF;
        md->pending_settle = MD_WATCH_PENDING_SETTLE_USEC;
        if (asprintf(&md->block_dir, "%s/block", sysfs) < 0 || asprintf(&md->mdstat_path, "%s/mdstat", procfs) < 0)
                return -ENOMEM;
        md->devfs = strdup(w->ctx.devfs ?: "/dev");
        if (!md->devfs)
                return -ENOMEM;

        r = mdstat_open(md);
        if (r == -ENOENT) {
                watch_notice(w, WATCH_READY, 0, "%s does not exist (no md driver loaded): no arrays to watch; "
                             "a resync looks again", md->mdstat_path);
                return 0;
        }
        if (r < 0)
                return r;
        r = md_scan(md, (ScanFlags) { .initial = true });
        if (r < 0)
                return r;
        summary(md, list, sizeof(list));
        watch_notice(w, WATCH_READY, 0, "%zu arrays%s%s%s", md->n_arrays, md->n_arrays ? ": " : "", list,
                     md->unpollable ? " (some files do not poll: not sysfs? changes are seen on resync only)" : "");
        return 0;
}

static int md_watch_resync(Watch *w) {
        MdWatch *md = (MdWatch *) w;
        char list[400];
        int r;

        if (md->mdstat_fd < 0) {
                r = mdstat_open(md);
                if (r == -ENOENT) {
                        watch_notice(w, WATCH_RESYNCED, 0, "%s does not exist: no arrays", md->mdstat_path);
                        return 0;
                }
                if (r < 0)
                        return r;
        }
        md->events = 0;
        r = md_scan(md, (ScanFlags) { .resynced = true });
        if (r < 0)
                return r;
        summary(md, list, sizeof(list));
        watch_notice(w, WATCH_RESYNCED, 0, "%zu arrays, %u missed events%s%s", md->n_arrays, md->events,
                     md->n_arrays ? ": " : "", list);
        return 0;
}

static void md_watch_done(Watch *w) {
        MdWatch *md = (MdWatch *) w;

        for (size_t i = 0; i < md->n_arrays; i++)
                array_free(md->arrays[i]);
        free(md->arrays);
        source_close(&md->mdstat_source, &md->mdstat_fd);
        free(md->block_dir);
        free(md->mdstat_path);
        free(md->devfs);
}

const MdArrayState *md_watch_get(Watch *w, const char *array) {
        MdWatch *md = md_watch(w);
        char target[PATH_MAX];
        const char *name = array;
        MdArrayWatch *a;

        if (!md || !array)
                return NULL;
        if (string_has_prefix(name, "/dev/"))
                name += 5;
        if (string_has_prefix(name, "md/")) {
                /* udev's /dev/md/NAME -> ../md127 */
                char path[PATH_MAX];
                const char *base;
                ssize_t k;

                if (strchr(name + 3, '/') || !name[3] || streq(name + 3, "..") || streq(name + 3, "."))
                        return NULL;
                snprintf(path, sizeof(path), "%s/%s", md->devfs, name);
                k = readlink(path, target, sizeof(target) - 1);
                if (k < 0)
                        return NULL;
                target[k] = 0;
                base = strrchr(target, '/');
                name = base ? base + 1 : target;
        }
        a = array_find(md, name, NULL);
        return a && a->have_state ? &a->state : NULL;
}

size_t md_watch_count(Watch *w) {
        MdWatch *md = md_watch(w);

        return md ? md->n_arrays : 0;
}

const MdArrayState *md_watch_get_index(Watch *w, size_t i) {
        MdWatch *md = md_watch(w);

        if (!md || i >= md->n_arrays || !md->arrays[i]->have_state)
                return NULL;
        return &md->arrays[i]->state;
}

int md_watch_set_change_handler(Watch *w, md_watch_change_handler_t handler, void *userdata) {
        MdWatch *md = md_watch(w);

        if (!md)
                return -EINVAL;
        md->on_change = handler;
        md->on_change_userdata = userdata;
        return 0;
}

int md_watch_set_pending_settle(Watch *w, usec_t settle) {
        MdWatch *md = md_watch(w);

        if (!md)
                return -EINVAL;
        md->pending_settle = settle;
        return 0;
}

const WatchVTable md_watch_vtable = {
        .name = "md",
        .kind = TRIGGER_RAID,
        .object_size = sizeof(MdWatch),
        .start = md_watch_start,
        .done = md_watch_done,
        .resync = md_watch_resync,
};
