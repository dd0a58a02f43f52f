/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pure half of the links watcher: rtnetlink messages in, link states
 * and their changes out. No sockets, no event loop, no allocation in the
 * parser, so unit tests and the fuzzer drive it with plain buffers.
 *
 * Parsing (rtnl_message_next) walks one datagram message by message and
 * checks every length before it reads: the netlink header against the
 * bytes received, the ifinfomsg against nlmsg_len, every attribute header
 * and payload against what is left of its message, and the attributes it
 * reads against their type (mnl_attr_validate) and against what the kernel
 * may send (an interface name the kernel would accept). A malformed message
 * is skipped when its length is sane, and ends the walk of the datagram when
 * it is not.
 *
 * The link table (LinkTable) remembers, per ifindex, the name and the derived
 * state last reported, and turns each new report into the changes a plan
 * matcher cares about (LinkChange). A resync is mark and sweep: the table is
 * marked unseen when a dump starts, every report marks its link seen, and the
 * links still unseen when the dump ends were removed while nobody watched.
 * Because dump replies and notifications share one socket, every report is
 * the kernel's truth at the moment it was queued and they arrive in order,
 * so applying them one by one is never stale (see link-watch.c). */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* The states a link trigger names (salve.plan(5)). */
typedef enum LinkState {
        LINK_STATE_DOWN,
        LINK_STATE_UP,
        LINK_STATE_LOWER_LAYER_DOWN,
        LINK_STATE_REMOVED,
        _LINK_STATE_MAX,
        _LINK_STATE_INVALID = -EINVAL,
} LinkState;

const char *link_state_to_string(LinkState s);
LinkState link_state_from_string(const char *s);

typedef struct LinkInfo {
        int ifindex;
        char name[IFNAMSIZ];    /* "" when the message carried none (only allowed for RTM_DELLINK) */
        uint8_t operstate;      /* IF_OPER_*; IF_OPER_UNKNOWN when the attribute is absent */
        unsigned flags;         /* ifi_flags: IFF_UP, IFF_LOWER_UP, ... */
        bool deleted;           /* RTM_DELLINK */
} LinkInfo;

/* What the state of a link is, as the plan format names it:
 *   removed           RTM_DELLINK
 *   down              not IFF_UP (administratively down), whatever the operstate;
 *                     or IF_OPER_DOWN without IFF_LOWER_UP: up but no carrier of
 *                     its own (a NIC without cable); or IF_OPER_DORMANT,
 *                     IF_OPER_TESTING, IF_OPER_NOTPRESENT: up but not passing
 *                     traffic
 *   lower-layer-down  IF_OPER_LOWERLAYERDOWN without IFF_LOWER_UP: up, but a
 *                     link it stacks on is down (a veth whose peer is down, a
 *                     VLAN on a down NIC)
 *   up                IF_OPER_UP; or IF_OPER_DOWN or IF_OPER_LOWERLAYERDOWN with
 *                     IFF_LOWER_UP: the carrier is on and the operstate lags
 *                     (the kernel updates it in deferred work; Linux 6.18 sends
 *                     a veth whose peer came up as IFF_LOWER_UP with
 *                     LOWERLAYERDOWN, then UP, and saying lower-layer-down for
 *                     that instant would fire plans for a link coming up)
 *   (IF_OPER_UNKNOWN, or no or an unknown operstate: the driver does not
 *   track it, as loopback and some tun devices: up if IFF_LOWER_UP (the
 *   carrier), else down)
 * The kernel's operstate folds in carrier, dormancy and the links below
 * (RFC 2863), so it decides; the flags decide administrative down, drivers
 * that leave the operstate unknown, and a carrier the operstate has not
 * caught up with. A carrier lost while the operstate still says UP stays up
 * until the operstate follows, which it does within the same second. */
LinkState link_state_from_info(const LinkInfo *info);

typedef enum RtnlMessageKind {
        RTNL_MESSAGE_LINK,      /* RTM_NEWLINK or RTM_DELLINK of an interface (AF_UNSPEC) */
        RTNL_MESSAGE_DONE,      /* NLMSG_DONE: the end of a dump */
        RTNL_MESSAGE_ERROR,     /* NLMSG_ERROR: the answer to a request */
        RTNL_MESSAGE_OTHER,     /* anything else (NLMSG_NOOP, AF_BRIDGE port news, ...): ignore */
        _RTNL_MESSAGE_KIND_MAX,
        _RTNL_MESSAGE_KIND_INVALID = -EINVAL,
} RtnlMessageKind;

typedef struct RtnlMessage {
        RtnlMessageKind kind;
        uint16_t type;          /* nlmsg_type */
        uint16_t flags;         /* nlmsg_flags: NLM_F_MULTI marks dump replies, NLM_F_DUMP_INTR */
        uint32_t seq;
        uint32_t pid;
        int error;              /* DONE, ERROR: the kernel's errno, negative (0: an ACK or a clean end) */
        LinkInfo link;          /* LINK */
} RtnlMessage;

/* Parses the message at *offset in buf[0..len). Returns 1 and advances
 * *offset past it when it is well formed; 0 when nothing is left;
 * -EBADMSG when it is malformed, with *offset advanced past it if its length
 * can be trusted or to len (the rest of the datagram is dropped) if not; then
 * ret->kind is _RTNL_MESSAGE_KIND_INVALID and ret->type the message's type,
 * or 0 if its header could not be read. */
int rtnl_message_next(const void *buf, size_t len, size_t *offset, RtnlMessage *ret);

/* Whether the kernel would accept s as an interface name (dev_valid_name):
 * 1..IFNAMSIZ-1 bytes, not "." or "..", no '/', ':' or white space. */
bool link_name_is_valid(const char *s);

/* The link table. */
typedef struct LinkEntry {
        int ifindex;
        char name[IFNAMSIZ];
        LinkState state;        /* never LINK_STATE_REMOVED: removed links leave the table */
        bool seen;              /* reported since the last link_table_mark() */
} LinkEntry;

/* Bounded, so that a flood of bogus ifindexes cannot eat memory; a real host
 * with more links than this is said (link_table_apply returns -E2BIG). */
#define LINK_TABLE_MAX 65536U

typedef struct LinkTable {
        LinkEntry *entries;     /* sorted by ifindex */
        int *by_name;           /* their ifindexes, sorted by name */
        size_t n, allocated;
} LinkTable;

void link_table_done(LinkTable *t);
const LinkEntry *link_table_get(const LinkTable *t, int ifindex);
const LinkEntry *link_table_find_name(const LinkTable *t, const char *name);

/* One change a report or a sweep produced. old_state is _LINK_STATE_INVALID
 * for a link the table did not know, or did not know by that name. */
typedef struct LinkChange {
        int ifindex;
        const char *name;       /* valid only during the callback */
        LinkState state;
        LinkState old_state;
} LinkChange;

/* A handler must not modify the table it is called from. */
typedef void (*link_change_handler_t)(const LinkChange *c, void *userdata);

/* Applies one report. Calls on_change for every change in derived state, in
 * the order a name-keyed reader must see them:
 * - a link not known: its state (even "down": the link appeared); another
 *   entry holding the same name is first said removed (its RTM_DELLINK was
 *   lost and the name was reused);
 * - a rename: "removed" for the old name, then the state under the new name
 *   (plans name links, and for them the old name is gone and a new one came);
 * - a known link: its state if it differs from the one last said, else nothing;
 * - RTM_DELLINK of a known link: "removed", and it leaves the table; of an
 *   unknown one: nothing (nobody was told it existed).
 * Every report marks its link seen. Returns 0, -ENOMEM, or -E2BIG when the
 * table is full (the link is not added, nothing is said). */
int link_table_apply(LinkTable *t, const LinkInfo *info, link_change_handler_t on_change, void *userdata);

/* Marks every link unseen: a dump starts. */
void link_table_mark(LinkTable *t);

/* A dump ended: says "removed" for every link not seen since the mark, drops
 * them, and returns how many. */
size_t link_table_sweep(LinkTable *t, link_change_handler_t on_change, void *userdata);
