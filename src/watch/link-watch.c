/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The links watcher: rtnetlink (libmnl) RTMGRP_LINK notifications and
 * RTM_GETLINK dumps, turned into link triggers (down, up, lower-layer-down,
 * removed) by rtnl-link.c.
 *
 * One socket carries both the subscription and the dumps. The kernel builds
 * each dump reply when this socket has room for it and queues it behind the
 * notifications already waiting, so whatever the socket yields is, message by
 * message, the truth at the moment it was queued, in order: a dump reply never
 * overtakes a newer notification. Two sockets would let a dump reply read after
 * a notification undo it. The price is that only one dump runs at a time (the
 * kernel refuses a second with EBUSY), so a dump that must be redone is redone
 * after the running one ends:
 * - start: subscribe (bind to RTMGRP_LINK), then dump; READY when a dump that
 *   started after the last overrun has ended;
 * - ENOBUFS (the kernel dropped notifications because the receive buffer was
 *   full): WATCH_LOST, then a dump (after the running one, if any), applied
 *   report by report, then a sweep of the links it did not report; RESYNCED when
 *   a dump that started after the last overrun has ended. NETLINK_NO_ENOBUFS is
 *   never set: the overrun is how we learn that we missed something;
 * - NLM_F_DUMP_INTR (links came or went while the kernel walked them): the
 *   dump is applied anyway (in-order reports keep it right) and redone, up to
 *   DUMP_INTR_RETRIES times in a row, so that a host whose links never rest
 *   still finishes;
 * - a malformed dump reply: the dump is applied but not swept (a link it
 *   failed to report would be removed wrongly), and not redone (a kernel
 *   that sends something we cannot read would do it again).
 * Dump replies are told from notifications by NLM_F_MULTI and our port id
 * (notifications carry the port id of whoever asked for the change, never
 * ours: we ask for nothing else).
 *
 * The kernel queues dump replies and their NLMSG_DONE whatever the buffer
 * holds, but drops an NLMSG_ERROR answer on a full buffer like any
 * notification. So a dump is over only when an NLMSG_DONE for us arrives,
 * whatever its sequence number; ENOBUFS as the answer to a dump request
 * means it began with a full buffer and goes on (its replies follow), and a
 * new dump is asked for only when none runs. Tested with a 4 KiB buffer and
 * hundreds of changes at once (tests/integration/test-watch-links.sh).
 *
 * Every wakeup reads at most READS_PER_WAKEUP datagrams, so a flood cannot
 * starve the rest of the loop; the io source is level triggered and comes
 * back. Nothing here blocks and nothing runs while the links are quiet.
 *
 * Events are emitted from inside the walk of the link table: the context's
 * on_event must not free this watcher (defer that to the loop). */

#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "rtnl-link.h"
#include "watch.h"

#define LINK_WATCH_RCVBUF_DEFAULT (16 * 1024 * 1024)
/* A dump reply is at most 32 KiB (the kernel's largest attempt); room for two. */
#define LINK_WATCH_BUFFER_SIZE (64 * 1024)
#define READS_PER_WAKEUP 64
#define DUMP_INTR_RETRIES 3
#define DUMP_ERRORS_MAX 8

typedef struct LinkWatch {
        Watch watch;
        struct mnl_socket *nl;
        sd_event_source *io;
        uint32_t portid;
        LinkTable table;
        uint8_t *buf;
        int rcvbuf;                     /* as the kernel took it */
        bool failed;                    /* WATCH_FAILED said; the socket is no longer read */

        uint32_t seq;                   /* of the dump running, or of the last one */
        bool dumping;
        bool dump_wanted;               /* a dump must start after the one running ends */
        bool dump_interrupted;          /* a reply of the running dump had NLM_F_DUMP_INTR */
        bool dump_tainted;              /* bad input while it ran: do not sweep */
        unsigned dump_intr_retries;
        unsigned dump_errors;           /* in a row */

        bool out_of_sync;               /* LOST said, RESYNCED not yet */
        bool resync_asked;              /* watch_resync() */
        unsigned overruns;              /* ENOBUFS since the last READY/RESYNCED */
        unsigned dumps;                 /* dumps since then */
        unsigned changes;               /* changes the dumps found since then */
        usec_t resync_began;

        /* How changes being applied are flagged. */
        bool emit_initial, emit_resynced;
} LinkWatch;

static LinkWatch *link_watch(Watch *w) {
        return (LinkWatch *) w;
}

static void on_change(const LinkChange *c, void *userdata) {
        LinkWatch *lw = userdata;
        TriggerEvent ev = {
                .kind = TRIGGER_LINK,
                .name = c->name,
                .event = link_state_to_string(c->state),
                .ifindex = c->ifindex,
                /* rtnetlink carries no time: when we read it. */
                .realtime = now_usec(CLOCK_REALTIME),
                .monotonic = now_usec(CLOCK_MONOTONIC),
                .initial = lw->emit_initial,
                .resynced = lw->emit_resynced,
        };

        if (lw->emit_initial || lw->emit_resynced)
                lw->changes++;
        watch_emit(&lw->watch, &ev);
}

static void link_watch_fail(LinkWatch *lw, int error, const char *what) {
        if (lw->failed)
                return;
        lw->failed = true;
        (void) sd_event_source_set_enabled(lw->io, SD_EVENT_OFF);
        watch_notice(&lw->watch, WATCH_FAILED, error, "%s: %s; links are no longer watched", what,
                     strerror(-error));
}

static int link_watch_dump(LinkWatch *lw) {
        uint8_t req[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;

        nlh = mnl_nlmsg_put_header(req);
        nlh->nlmsg_type = RTM_GETLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        if (++lw->seq == 0)
                lw->seq = 1;
        nlh->nlmsg_seq = lw->seq;
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        /* Statistics are most of a link's report and we read none of them. */
        mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

        if (mnl_socket_sendto(lw->nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();
        lw->dumping = true;
        lw->dump_wanted = false;
        lw->dump_interrupted = false;
        lw->dump_tainted = false;
        lw->dumps++;
        link_table_mark(&lw->table);
        return 0;
}

/* Something asks for a dump that starts from now on. */
static void link_watch_want_dump(LinkWatch *lw) {
        int r;

        if (lw->dumping) {
                lw->dump_wanted = true;
                return;
        }
        r = link_watch_dump(lw);
        if (r < 0)
                link_watch_fail(lw, r, "cannot ask the kernel for the links");
}

static void link_watch_settled(LinkWatch *lw) {
        usec_t took = now_usec(CLOCK_MONOTONIC) - lw->resync_began;

        if (!lw->watch.ready)
                watch_notice(&lw->watch, WATCH_READY, 0,
                             "%zu links; receive buffer %d bytes; %u dumps, %u overruns, %" PRIu64 " ms",
                             lw->table.n, lw->rcvbuf, lw->dumps, lw->overruns, took / USEC_PER_MSEC);
        else if (lw->out_of_sync || lw->resync_asked)
                watch_notice(&lw->watch, WATCH_RESYNCED, 0,
                             "%u changes missed; %zu links; %u overruns, %u dumps, %" PRIu64 " ms%s",
                             lw->changes, lw->table.n, lw->overruns, lw->dumps, took / USEC_PER_MSEC,
                             lw->dump_tainted ? "; a reply was malformed, so links gone meanwhile stay" : "");
        lw->out_of_sync = lw->resync_asked = false;
        lw->overruns = lw->dumps = lw->changes = 0;
        lw->dump_intr_retries = 0;
}

/* The dump ended short or was refused: ask again, a bounded number of times in a row. */
static void link_watch_dump_failed(LinkWatch *lw, int error) {
        lw->dumping = false;
        if (++lw->dump_errors > DUMP_ERRORS_MAX) {
                link_watch_fail(lw, error, "the kernel refuses to list the links");
                return;
        }
        link_watch_want_dump(lw);
}

static void link_watch_dump_done(LinkWatch *lw) {
        lw->dumping = false;
        lw->dump_errors = 0;
        if (!lw->dump_tainted) {
                lw->emit_initial = !lw->watch.ready;
                lw->emit_resynced = lw->watch.ready;
                (void) link_table_sweep(&lw->table, on_change, lw);
        }
        if (lw->dump_interrupted && lw->dump_intr_retries < DUMP_INTR_RETRIES) {
                lw->dump_intr_retries++;
                lw->dump_wanted = true;
        }
        if (lw->dump_wanted) {
                link_watch_want_dump(lw);
                return;
        }
        link_watch_settled(lw);
}

static void link_watch_lost(LinkWatch *lw, const char *why) {
        lw->overruns++;
        if (lw->watch.ready && !lw->out_of_sync) {
                lw->out_of_sync = true;
                lw->resync_began = now_usec(CLOCK_MONOTONIC);
                lw->dumps = lw->changes = 0;
                watch_notice(&lw->watch, WATCH_LOST, 0, "%s; re-reading the links", why);
        }
        link_watch_want_dump(lw);
}

static void link_watch_message(LinkWatch *lw, const RtnlMessage *m) {
        bool ours = m->pid == lw->portid && m->seq == lw->seq && lw->dumping;
        int r;

        switch (m->kind) {
        case RTNL_MESSAGE_LINK: {
                bool from_dump = (m->flags & NLM_F_MULTI) && m->pid == lw->portid;

                if (ours && (m->flags & NLM_F_DUMP_INTR))
                        lw->dump_interrupted = true;
                lw->emit_initial = from_dump && !lw->watch.ready;
                lw->emit_resynced = from_dump && lw->watch.ready;
                r = link_table_apply(&lw->table, &m->link, on_change, lw);
                if (r == -E2BIG)
                        watch_notice(&lw->watch, WATCH_BAD_INPUT, r,
                                     "more than %u links; ignoring %s (ifindex %d)", LINK_TABLE_MAX,
                                     m->link.name, m->link.ifindex);
                else if (r < 0)
                        /* Its report is lost to us: as good as a lost notification. */
                        link_watch_lost(lw, "out of memory for the link table");
                break;
        }
        case RTNL_MESSAGE_DONE:
                /* Any end of a dump for us means the kernel runs none now,
                 * even one we no longer expected. */
                if (m->pid != lw->portid || !lw->dumping)
                        break;
                if (m->seq != lw->seq)
                        /* An older dump ended: ours was refused (its EBUSY
                         * answer dropped on a full buffer) or never ran. */
                        lw->dump_wanted = true;
                if (m->flags & NLM_F_DUMP_INTR)
                        lw->dump_interrupted = true;
                if (m->error < 0) {
                        lw->dump_tainted = true;
                        link_watch_dump_failed(lw, m->error);
                } else
                        link_watch_dump_done(lw);
                break;
        case RTNL_MESSAGE_ERROR:
                if (!ours || m->error >= 0)
                        break;
                if (m->error == -ENOBUFS)
                        /* The receive buffer was full when the dump began:
                         * the kernel keeps it running and sends its first
                         * reply when we have read (seen on Linux 6.18). */
                        break;
                if (m->error == -EBUSY) {
                        /* A dump we gave up on still runs; when its end
                         * arrives we ask again. */
                        lw->dump_wanted = true;
                        break;
                }
                link_watch_dump_failed(lw, m->error);
                break;
        default:
                break;
        }
}

static void link_watch_datagram(LinkWatch *lw, size_t len) {
        size_t offset = 0;
        RtnlMessage m;
        int r;

        while (!lw->failed && (r = rtnl_message_next(lw->buf, len, &offset, &m)) != 0) {
                if (r < 0) {
                        if (lw->dumping)
                                lw->dump_tainted = true;
                        watch_notice(&lw->watch, WATCH_BAD_INPUT, r,
                                     "malformed rtnetlink message (type %u, %zu bytes in the datagram), dropped",
                                     (unsigned) m.type, len);
                        continue;
                }
                link_watch_message(lw, &m);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LinkWatch *lw = userdata;

        for (unsigned i = 0; i < READS_PER_WAKEUP && !lw->failed; i++) {
                struct sockaddr_nl sa = {};
                struct iovec iov = { .iov_base = lw->buf, .iov_len = LINK_WATCH_BUFFER_SIZE };
                struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;

                n = recvmsg(fd, &mh, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        if (errno == ENOBUFS) {
                                link_watch_lost(lw, "the kernel dropped link notifications (ENOBUFS)");
                                continue;
                        }
                        link_watch_fail(lw, negative_errno(), "reading rtnetlink");
                        return 0;
                }
                if (mh.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0) {
                        watch_notice(&lw->watch, WATCH_BAD_INPUT, -EPERM,
                                     "rtnetlink datagram not from the kernel (port %u), dropped", sa.nl_pid);
                        continue;
                }
                if (mh.msg_flags & MSG_TRUNC) {
                        if (lw->dumping)
                                lw->dump_tainted = true;
                        watch_notice(&lw->watch, WATCH_BAD_INPUT, -EMSGSIZE,
                                     "rtnetlink datagram larger than %d bytes, dropped", LINK_WATCH_BUFFER_SIZE);
                        link_watch_lost(lw, "a datagram was too large to read");
                        continue;
                }
                link_watch_datagram(lw, (size_t) n);
        }
        return 0;
}

static int link_watch_set_rcvbuf(LinkWatch *lw, int fd) {
        int size = lw->watch.ctx.rcvbuf > 0 ? lw->watch.ctx.rcvbuf : LINK_WATCH_RCVBUF_DEFAULT;
        socklen_t l = sizeof(lw->rcvbuf);

        /* FORCE passes net.core.rmem_max with CAP_NET_ADMIN; without it the
         * plain option gives what rmem_max allows. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
                return negative_errno();
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &lw->rcvbuf, &l) < 0)
                return negative_errno();
        return 0;
}

static int link_watch_start(Watch *w) {
        LinkWatch *lw = link_watch(w);
        int fd, r;

        lw->buf = malloc(LINK_WATCH_BUFFER_SIZE);
        if (!lw->buf)
                return -ENOMEM;
        lw->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (!lw->nl)
                return negative_errno();
        fd = mnl_socket_get_fd(lw->nl);
        r = link_watch_set_rcvbuf(lw, fd);
        if (r < 0)
                return r;
        /* Subscribe before the dump, so nothing falls between them. */
        if (mnl_socket_bind(lw->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
                return negative_errno();
        lw->portid = mnl_socket_get_portid(lw->nl);

        r = sd_event_add_io(w->ctx.event, &lw->io, fd, EPOLLIN, on_io, lw);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(lw->io, "link-watch");

        lw->resync_began = now_usec(CLOCK_MONOTONIC);
        return link_watch_dump(lw);
}

static void link_watch_done(Watch *w) {
        LinkWatch *lw = link_watch(w);

        lw->io = sd_event_source_disable_unref(lw->io);
        if (lw->nl)
                mnl_socket_close(lw->nl);
        lw->nl = NULL;
        link_table_done(&lw->table);
        lw->buf = mfree(lw->buf);
}

static int link_watch_resync(Watch *w) {
        LinkWatch *lw = link_watch(w);

        if (lw->failed)
                return -ENOTCONN;
        if (!lw->resync_asked && !lw->out_of_sync) {
                lw->resync_began = now_usec(CLOCK_MONOTONIC);
                lw->dumps = lw->changes = lw->overruns = 0;
        }
        lw->resync_asked = true;
        link_watch_want_dump(lw);
        return 0;
}

const WatchVTable link_watch_vtable = {
        .name = "links",
        .kind = TRIGGER_LINK,
        .object_size = sizeof(LinkWatch),
        .start = link_watch_start,
        .done = link_watch_done,
        .resync = link_watch_resync,
};
