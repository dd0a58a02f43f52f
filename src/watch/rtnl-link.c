/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtnetlink link messages and the table of known links; see rtnl-link.h.
 * Uses only libmnl's pure helpers (attribute accessors and validation),
 * never its socket calls. */

#include <ctype.h>
#include <libmnl/libmnl.h>
#include <net/if.h>     /* before linux/if.h, which then defers to it */
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "rtnl-link.h"
#include "string-table.h"

static const char *const link_state_table[_LINK_STATE_MAX] = {
        [LINK_STATE_DOWN] = "down",
        [LINK_STATE_UP] = "up",
        [LINK_STATE_LOWER_LAYER_DOWN] = "lower-layer-down",
        [LINK_STATE_REMOVED] = "removed",
};

DEFINE_STRING_TABLE(link_state, LinkState, link_state_table, _LINK_STATE_MAX)

LinkState link_state_from_info(const LinkInfo *info) {
        if (info->deleted)
                return LINK_STATE_REMOVED;
        if (!(info->flags & IFF_UP))
                return LINK_STATE_DOWN;
        switch (info->operstate) {
        case IF_OPER_UP:
                return LINK_STATE_UP;
        case IF_OPER_LOWERLAYERDOWN:
        case IF_OPER_DOWN:
                /* The carrier is on and the operstate has not caught up. */
                if (info->flags & IFF_LOWER_UP)
                        return LINK_STATE_UP;
                return info->operstate == IF_OPER_DOWN ? LINK_STATE_DOWN : LINK_STATE_LOWER_LAYER_DOWN;
        case IF_OPER_DORMANT:
        case IF_OPER_TESTING:
        case IF_OPER_NOTPRESENT:
                return LINK_STATE_DOWN;
        case IF_OPER_UNKNOWN:
        default:
                return info->flags & IFF_LOWER_UP ? LINK_STATE_UP : LINK_STATE_DOWN;
        }
}

bool link_name_is_valid(const char *s) {
        size_t n = strnlen(s, IFNAMSIZ);

        if (n == 0 || n >= IFNAMSIZ || streq(s, ".") || streq(s, ".."))
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] == '/' || s[i] == ':' || isspace((unsigned char) s[i]))
                        return false;
        return true;
}

/* Reads the attributes of a link message we use; every attribute's header and
 * payload lie inside [attrs, end), checked before anything reads them. */
static int parse_link_attributes(const uint8_t *attrs, size_t len, LinkInfo *info) {
        bool have_name = false;
        size_t off = 0;

        while (off < len) {
                const struct nlattr *a;
                uint16_t type;

                if (len - off < sizeof(struct nlattr))
                        return -EBADMSG;
                a = (const struct nlattr *) (attrs + off);
                if (a->nla_len < sizeof(struct nlattr) || a->nla_len > len - off)
                        return -EBADMSG;
                type = mnl_attr_get_type(a);
                switch (type) {
                case IFLA_IFNAME:
                        if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
                                return -EBADMSG;
                        if (mnl_attr_get_payload_len(a) > IFNAMSIZ ||
                            !link_name_is_valid(mnl_attr_get_str(a)))
                                return -EBADMSG;
                        strcpy(info->name, mnl_attr_get_str(a));
                        have_name = true;
                        break;
                case IFLA_OPERSTATE:
                        if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
                                return -EBADMSG;
                        info->operstate = mnl_attr_get_u8(a);
                        break;
                default:
                        /* Nested or not, others are not read: their contents
                         * need no checking beyond lying inside the message. */
                        break;
                }
                /* The last attribute may lack its padding; the loop ends either way. */
                off += MNL_ALIGN(a->nla_len);
        }
        if (!have_name && !info->deleted)
                return -EBADMSG;
        return 0;
}

static int parse_link(const struct nlmsghdr *nlh, RtnlMessage *m) {
        const struct ifinfomsg *ifi;
        size_t hdr = MNL_ALIGN(sizeof(struct ifinfomsg));

        if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct ifinfomsg))
                return -EBADMSG;
        ifi = mnl_nlmsg_get_payload(nlh);
        /* The bridge reports its ports on the same group as RTM_NEWLINK and
         * RTM_DELLINK of family AF_BRIDGE; a port leaving a bridge is not a
         * link going away. */
        if (ifi->ifi_family != AF_UNSPEC) {
                m->kind = RTNL_MESSAGE_OTHER;
                return 0;
        }
        if (ifi->ifi_index <= 0)
                return -EBADMSG;
        m->kind = RTNL_MESSAGE_LINK;
        m->link = (LinkInfo) {
                .ifindex = ifi->ifi_index,
                .operstate = IF_OPER_UNKNOWN,
                .flags = ifi->ifi_flags,
                .deleted = nlh->nlmsg_type == RTM_DELLINK,
        };
        if (nlh->nlmsg_len < NLMSG_HDRLEN + hdr)
                /* Room for the ifinfomsg but not its padding: no attributes. */
                return parse_link_attributes(NULL, 0, &m->link);
        return parse_link_attributes((const uint8_t *) ifi + hdr, nlh->nlmsg_len - NLMSG_HDRLEN - hdr,
                                     &m->link);
}

int rtnl_message_next(const void *buf, size_t len, size_t *offset, RtnlMessage *ret) {
        const struct nlmsghdr *nlh;
        size_t left;
        int r;

        if (*offset >= len)
                return 0;
        /* Whatever follows, *ret says something defined (type 0 if the header is bad). */
        *ret = (RtnlMessage) { .kind = _RTNL_MESSAGE_KIND_INVALID };
        left = len - *offset;
        nlh = (const struct nlmsghdr *) ((const uint8_t *) buf + *offset);
        if (left < sizeof(struct nlmsghdr) || nlh->nlmsg_len < sizeof(struct nlmsghdr) ||
            nlh->nlmsg_len > left) {
                *offset = len;
                return -EBADMSG;
        }
        /* The next message starts at the aligned end; past len means none follows. */
        *offset += MIN((size_t) NLMSG_ALIGN(nlh->nlmsg_len), left);

        *ret = (RtnlMessage) {
                .kind = RTNL_MESSAGE_OTHER,
                .type = nlh->nlmsg_type,
                .flags = nlh->nlmsg_flags,
                .seq = nlh->nlmsg_seq,
                .pid = nlh->nlmsg_pid,
        };
        switch (nlh->nlmsg_type) {
        case NLMSG_DONE:
                /* Since Linux 2.6 the end of a dump carries the dump's error
                 * as an int; older kernels sent none. */
                ret->kind = RTNL_MESSAGE_DONE;
                if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
                        int e;

                        memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
                        if (e > 0)
                                return -EBADMSG;
                        ret->error = e;
                }
                return 1;
        case NLMSG_ERROR: {
                int e;

                if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
                        return -EBADMSG;
                memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
                if (e > 0 || e < -4095)
                        return -EBADMSG;
                ret->kind = RTNL_MESSAGE_ERROR;
                ret->error = e;
                return 1;
        }
        case RTM_NEWLINK:
        case RTM_DELLINK:
                r = parse_link(nlh, ret);
                if (r < 0) {
                        ret->kind = _RTNL_MESSAGE_KIND_INVALID;
                        return r;
                }
                return 1;
        default:
                return 1;
        }
}

/* The table: entries sorted by ifindex, and by_name, the same links'
 * ifindexes sorted by name, so that both lookups are binary searches and a
 * dump of thousands of links stays cheap. Names are unique in the table. */

void link_table_done(LinkTable *t) {
        t->entries = mfree(t->entries);
        t->by_name = mfree(t->by_name);
        t->n = t->allocated = 0;
}

/* The position of ifindex, or where it would go. */
static size_t table_position(const LinkTable *t, int ifindex, bool *ret_found) {
        size_t lo = 0, hi = t->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (t->entries[mid].ifindex < ifindex)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = lo < t->n && t->entries[lo].ifindex == ifindex;
        return lo;
}

const LinkEntry *link_table_get(const LinkTable *t, int ifindex) {
        bool found;
        size_t i = table_position(t, ifindex, &found);

        return found ? &t->entries[i] : NULL;
}

/* The position of name among the first n_names of by_name, or where it would go. */
static size_t name_position(const LinkTable *t, size_t n_names, const char *name, bool *ret_found) {
        size_t lo = 0, hi = n_names;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(link_table_get(t, t->by_name[mid])->name, name) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = lo < n_names && streq(link_table_get(t, t->by_name[lo])->name, name);
        return lo;
}

const LinkEntry *link_table_find_name(const LinkTable *t, const char *name) {
        bool found;
        size_t i = name_position(t, t->n, name, &found);

        return found ? link_table_get(t, t->by_name[i]) : NULL;
}

/* e was just added to entries (t->n counts it); by_name has t->n - 1 names. */
static void name_index_add(LinkTable *t, const LinkEntry *e) {
        size_t n_names = t->n - 1, i;
        bool found;

        i = name_position(t, n_names, e->name, &found);
        memmove(t->by_name + i + 1, t->by_name + i, (n_names - i) * sizeof(int));
        t->by_name[i] = e->ifindex;
}

/* Before the entry leaves entries. */
static void name_index_remove(LinkTable *t, const char *name) {
        bool found;
        size_t i = name_position(t, t->n, name, &found);

        if (!found)
                abort();        /* the two indexes disagree: a bug here, not bad input */
        memmove(t->by_name + i, t->by_name + i + 1, (t->n - i - 1) * sizeof(int));
}

static void say(link_change_handler_t on_change, void *userdata, int ifindex, const char *name, LinkState state,
                LinkState old_state) {
        LinkChange c = { .ifindex = ifindex, .name = name, .state = state, .old_state = old_state };

        if (on_change)
                on_change(&c, userdata);
}

static void table_remove_at(LinkTable *t, size_t i, link_change_handler_t on_change, void *userdata) {
        LinkEntry e = t->entries[i];

        name_index_remove(t, e.name);
        memmove(t->entries + i, t->entries + i + 1, (t->n - i - 1) * sizeof(LinkEntry));
        t->n--;
        say(on_change, userdata, e.ifindex, e.name, LINK_STATE_REMOVED, e.state);
}

/* Another link than ifindex holding name is stale: its removal was missed. */
static void table_evict_name(LinkTable *t, int ifindex, const char *name, link_change_handler_t on_change,
                             void *userdata) {
        const LinkEntry *e = link_table_find_name(t, name);
        bool found;

        if (e && e->ifindex != ifindex)
                table_remove_at(t, table_position(t, e->ifindex, &found), on_change, userdata);
}

static int table_reserve(LinkTable *t) {
        size_t n;
        LinkEntry *p;
        int *q;

        if (t->n < t->allocated)
                return 0;
        n = MAX(t->allocated * 2, (size_t) 16);
        p = reallocarray(t->entries, n, sizeof(LinkEntry));
        if (!p)
                return -ENOMEM;
        t->entries = p;
        q = reallocarray(t->by_name, n, sizeof(int));
        if (!q)
                return -ENOMEM;         /* entries grew; allocated stays: harmless */
        t->by_name = q;
        t->allocated = n;
        return 0;
}

/* Adds a link whose name no other entry holds; room was reserved. */
static void table_insert(LinkTable *t, int ifindex, const char *name, LinkState state, link_change_handler_t on_change,
                         void *userdata) {
        LinkEntry *e;
        bool found;
        size_t i;

        i = table_position(t, ifindex, &found);
        memmove(t->entries + i + 1, t->entries + i, (t->n - i) * sizeof(LinkEntry));
        t->n++;
        e = &t->entries[i];
        *e = (LinkEntry) { .ifindex = ifindex, .state = state, .seen = true };
        strcpy(e->name, name);
        name_index_add(t, e);
        say(on_change, userdata, ifindex, e->name, state, _LINK_STATE_INVALID);
}

int link_table_apply(LinkTable *t, const LinkInfo *info, link_change_handler_t on_change, void *userdata) {
        LinkState state = link_state_from_info(info);
        LinkEntry *e;
        bool found;
        size_t i;
        int r;

        i = table_position(t, info->ifindex, &found);
        if (state == LINK_STATE_REMOVED) {
                if (found)
                        table_remove_at(t, i, on_change, userdata);
                return 0;
        }
        if (!found) {
                if (t->n >= LINK_TABLE_MAX)
                        return -E2BIG;
                r = table_reserve(t);
                if (r < 0)
                        return r;
                table_evict_name(t, info->ifindex, info->name, on_change, userdata);
                table_insert(t, info->ifindex, info->name, state, on_change, userdata);
                return 0;
        }

        e = &t->entries[i];
        e->seen = true;
        if (info->name[0] && !streq(e->name, info->name)) {
                char old[IFNAMSIZ];
                LinkState old_state = e->state;
                int ifindex = e->ifindex;

                /* Out of the table under the old name, then back under
                 * the new one once a stale holder of that name is gone. */
                strcpy(old, e->name);
                name_index_remove(t, old);
                memmove(t->entries + i, t->entries + i + 1, (t->n - i - 1) * sizeof(LinkEntry));
                t->n--;
                say(on_change, userdata, ifindex, old, LINK_STATE_REMOVED, old_state);
                table_evict_name(t, ifindex, info->name, on_change, userdata);
                table_insert(t, ifindex, info->name, state, on_change, userdata);
                return 0;
        }
        if (e->state != state) {
                LinkState old = e->state;

                e->state = state;
                say(on_change, userdata, e->ifindex, e->name, state, old);
        }
        return 0;
}

void link_table_mark(LinkTable *t) {
        for (size_t i = 0; i < t->n; i++)
                t->entries[i].seen = false;
}

size_t link_table_sweep(LinkTable *t, link_change_handler_t on_change, void *userdata) {
        size_t removed = 0;

        for (size_t i = 0; i < t->n;)
                if (!t->entries[i].seen) {
                        table_remove_at(t, i, on_change, userdata);
                        removed++;
                } else
                        i++;
        return removed;
}
