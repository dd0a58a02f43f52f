/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The pure half of the links watcher: rtnetlink messages built by hand
 * (well formed, truncated, lying about their lengths), the state mapping, and
 * the link table's changes and sweep. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "rtnl-link.h"

/* A datagram being built: messages one after the other. */
typedef struct Datagram {
        _Alignas(4) uint8_t buf[8192];
        size_t len;
} Datagram;

static struct nlmsghdr *put_link(Datagram *d, uint16_t type, int ifindex, unsigned flags, unsigned char family) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(d->buf + d->len);
        struct ifinfomsg *ifi;

        nlh->nlmsg_type = type;
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = family;
        ifi->ifi_index = ifindex;
        ifi->ifi_flags = flags;
        return nlh;
}

static void finish(Datagram *d, struct nlmsghdr *nlh) {
        d->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void add_link(Datagram *d, uint16_t type, int ifindex, const char *name, int operstate, unsigned flags) {
        struct nlmsghdr *nlh = put_link(d, type, ifindex, flags, AF_UNSPEC);

        mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
        if (name)
                mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        if (operstate >= 0)
                mnl_attr_put_u8(nlh, IFLA_OPERSTATE, (uint8_t) operstate);
        finish(d, nlh);
}

static void add_done(Datagram *d, int error, bool with_error) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(d->buf + d->len);

        nlh->nlmsg_type = NLMSG_DONE;
        nlh->nlmsg_flags = NLM_F_MULTI;
        if (with_error) {
                int *e = mnl_nlmsg_put_extra_header(nlh, sizeof(int));
                *e = error;
        }
        finish(d, nlh);
}

/* Parses a datagram holding one message; returns its result. */
static int parse_one(const Datagram *d, RtnlMessage *m) {
        size_t off = 0;
        int r = rtnl_message_next(d->buf, d->len, &off, m);

        assert_true(off <= d->len);
        return r;
}

static void test_state_mapping(void **state) {
        const struct {
                unsigned flags;
                uint8_t operstate;
                bool deleted;
                LinkState want;
        } cases[] = {
                { 0, IF_OPER_DOWN, false, LINK_STATE_DOWN },
                { 0, IF_OPER_UP, false, LINK_STATE_DOWN },      /* admin down wins */
                { IFF_LOWER_UP, IF_OPER_UNKNOWN, false, LINK_STATE_DOWN },
                { IFF_UP | IFF_LOWER_UP, IF_OPER_UP, false, LINK_STATE_UP },
                { IFF_UP, IF_OPER_LOWERLAYERDOWN, false, LINK_STATE_LOWER_LAYER_DOWN },   /* veth, peer down */
                { IFF_UP, IF_OPER_DOWN, false, LINK_STATE_DOWN },                 /* no carrier */
                { IFF_UP | IFF_LOWER_UP, IF_OPER_LOWERLAYERDOWN, false, LINK_STATE_UP },  /* operstate lags */
                { IFF_UP | IFF_LOWER_UP, IF_OPER_DOWN, false, LINK_STATE_UP },
                { IFF_LOWER_UP, IF_OPER_LOWERLAYERDOWN, false, LINK_STATE_DOWN },
                { IFF_UP | IFF_LOWER_UP, IF_OPER_UNKNOWN, false, LINK_STATE_UP }, /* loopback */
                { IFF_UP, IF_OPER_UNKNOWN, false, LINK_STATE_DOWN },
                { IFF_UP | IFF_LOWER_UP, IF_OPER_DORMANT, false, LINK_STATE_DOWN },
                { IFF_UP | IFF_LOWER_UP, IF_OPER_TESTING, false, LINK_STATE_DOWN },
                { IFF_UP, IF_OPER_NOTPRESENT, false, LINK_STATE_DOWN },
                { IFF_UP | IFF_LOWER_UP, 42, false, LINK_STATE_UP },    /* unknown value: as UNKNOWN */
                { IFF_UP, 42, false, LINK_STATE_DOWN },
                { IFF_UP | IFF_LOWER_UP, IF_OPER_UP, true, LINK_STATE_REMOVED },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                LinkInfo info = { .ifindex = 1, .flags = cases[i].flags, .operstate = cases[i].operstate,
                                  .deleted = cases[i].deleted };
                assert_int_equal(link_state_from_info(&info), cases[i].want);
        }
        assert_string_equal(link_state_to_string(LINK_STATE_LOWER_LAYER_DOWN), "lower-layer-down");
        assert_int_equal(link_state_from_string("removed"), LINK_STATE_REMOVED);
        assert_int_equal(link_state_from_string("sideways"), -EINVAL);
        assert_null(link_state_to_string(_LINK_STATE_MAX));
}

static void test_names(void **state) {
        assert_true(link_name_is_valid("eth0"));
        assert_true(link_name_is_valid("a-very-long-nam"));     /* 15 bytes */
        assert_false(link_name_is_valid("a-very-long-name"));   /* 16 */
        assert_false(link_name_is_valid(""));
        assert_false(link_name_is_valid("."));
        assert_false(link_name_is_valid(".."));
        assert_false(link_name_is_valid("a/b"));
        assert_false(link_name_is_valid("a:1"));
        assert_false(link_name_is_valid("a b"));
        assert_false(link_name_is_valid("a\nb"));
}

static void test_parse_newlink(void **state) {
        Datagram d = {};
        RtnlMessage m;

        add_link(&d, RTM_NEWLINK, 7, "veth0", IF_OPER_LOWERLAYERDOWN, IFF_UP | IFF_BROADCAST);
        assert_int_equal(parse_one(&d, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_LINK);
        assert_int_equal(m.link.ifindex, 7);
        assert_string_equal(m.link.name, "veth0");
        assert_int_equal(m.link.operstate, IF_OPER_LOWERLAYERDOWN);
        assert_int_equal(m.link.flags, IFF_UP | IFF_BROADCAST);
        assert_false(m.link.deleted);
        assert_int_equal(link_state_from_info(&m.link), LINK_STATE_LOWER_LAYER_DOWN);

        /* No operstate attribute: unknown. */
        d = (Datagram) {};
        add_link(&d, RTM_NEWLINK, 1, "lo", -1, IFF_UP | IFF_LOWER_UP | IFF_LOOPBACK);
        assert_int_equal(parse_one(&d, &m), 1);
        assert_int_equal(m.link.operstate, IF_OPER_UNKNOWN);
        assert_int_equal(link_state_from_info(&m.link), LINK_STATE_UP);
}

static void test_parse_dellink(void **state) {
        Datagram d = {};
        RtnlMessage m;

        add_link(&d, RTM_DELLINK, 9, NULL, -1, 0);
        assert_int_equal(parse_one(&d, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_LINK);
        assert_true(m.link.deleted);
        assert_string_equal(m.link.name, "");

        /* A NEWLINK must name its link. */
        d = (Datagram) {};
        add_link(&d, RTM_NEWLINK, 9, NULL, IF_OPER_UP, IFF_UP);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);
}

static void test_parse_other(void **state) {
        Datagram d = {};
        struct nlmsghdr *nlh;
        RtnlMessage m;

        /* Bridge port news on the same group: not a link of ours. */
        nlh = put_link(&d, RTM_DELLINK, 5, 0, AF_BRIDGE);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, "port0");
        finish(&d, nlh);
        assert_int_equal(parse_one(&d, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_OTHER);

        d = (Datagram) {};
        nlh = mnl_nlmsg_put_header(d.buf);
        nlh->nlmsg_type = RTM_NEWADDR;
        finish(&d, nlh);
        assert_int_equal(parse_one(&d, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_OTHER);
        assert_int_equal(m.type, RTM_NEWADDR);
}

static void test_parse_bad_header(void **state) {
        Datagram d = {};
        struct nlmsghdr *nlh;
        RtnlMessage m;
        size_t off;

        /* Less than a header. */
        add_link(&d, RTM_NEWLINK, 1, "a", IF_OPER_UP, IFF_UP);
        off = 0;
        m.type = 0xffff;
        assert_int_equal(rtnl_message_next(d.buf, 10, &off, &m), -EBADMSG);
        assert_int_equal(off, 10);
        assert_int_equal(m.kind, _RTNL_MESSAGE_KIND_INVALID);
        assert_int_equal(m.type, 0);
        assert_int_equal(rtnl_message_next(d.buf, 10, &off, &m), 0);

        /* nlmsg_len beyond the datagram. */
        off = 0;
        assert_int_equal(rtnl_message_next(d.buf, d.len - 4, &off, &m), -EBADMSG);
        assert_int_equal(off, d.len - 4);

        /* nlmsg_len shorter than a header. */
        nlh = (struct nlmsghdr *) d.buf;
        nlh->nlmsg_len = 8;
        off = 0;
        assert_int_equal(rtnl_message_next(d.buf, d.len, &off, &m), -EBADMSG);
        assert_int_equal(off, d.len);

        /* Room for the header only, not for the ifinfomsg: skipped, the
         * datagram goes on. */
        d = (Datagram) {};
        nlh = mnl_nlmsg_put_header(d.buf);
        nlh->nlmsg_type = RTM_NEWLINK;
        nlh->nlmsg_len = NLMSG_HDRLEN + 8;
        finish(&d, nlh);
        add_done(&d, 0, true);
        off = 0;
        assert_int_equal(rtnl_message_next(d.buf, d.len, &off, &m), -EBADMSG);
        assert_int_equal(off, NLMSG_HDRLEN + 8);
        assert_int_equal(rtnl_message_next(d.buf, d.len, &off, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_DONE);
        assert_int_equal(rtnl_message_next(d.buf, d.len, &off, &m), 0);
}

static void test_parse_bad_attributes(void **state) {
        Datagram d;
        struct nlmsghdr *nlh;
        struct nlattr *a;
        RtnlMessage m;

        /* An attribute longer than what is left of the message. */
        d = (Datagram) {};
        add_link(&d, RTM_NEWLINK, 3, "eth0", IF_OPER_UP, IFF_UP);
        a = (struct nlattr *) (d.buf + NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg)));
        a->nla_len = 200;
        assert_int_equal(parse_one(&d, &m), -EBADMSG);

        /* An attribute shorter than its own header. */
        a->nla_len = 2;
        assert_int_equal(parse_one(&d, &m), -EBADMSG);

        /* A message that ends inside an attribute header. */
        d = (Datagram) {};
        add_link(&d, RTM_NEWLINK, 3, "eth0", IF_OPER_UP, IFF_UP);
        nlh = (struct nlmsghdr *) d.buf;
        nlh->nlmsg_len -= 2;    /* the operstate's padding and a byte of it, then ... */
        nlh->nlmsg_len -= 4;    /* ... into its header */
        assert_int_equal(parse_one(&d, &m), -EBADMSG);

        /* A name without its NUL. */
        d = (Datagram) {};
        nlh = put_link(&d, RTM_NEWLINK, 3, IFF_UP, AF_UNSPEC);
        mnl_attr_put(nlh, IFLA_IFNAME, 4, "eth0");
        finish(&d, nlh);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);

        /* A name longer than IFNAMSIZ. */
        d = (Datagram) {};
        add_link(&d, RTM_NEWLINK, 3, "name-longer-than-ifnamsiz", IF_OPER_UP, IFF_UP);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);

        /* Names the kernel never gives. */
        d = (Datagram) {};
        add_link(&d, RTM_NEWLINK, 3, "", IF_OPER_UP, IFF_UP);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);
        d = (Datagram) {};
        add_link(&d, RTM_NEWLINK, 3, "../x", IF_OPER_UP, IFF_UP);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);

        /* An embedded NUL: the name is what precedes it. */
        d = (Datagram) {};
        nlh = put_link(&d, RTM_NEWLINK, 3, IFF_UP, AF_UNSPEC);
        mnl_attr_put(nlh, IFLA_IFNAME, 6, "ab\0cd");
        finish(&d, nlh);
        assert_int_equal(parse_one(&d, &m), 1);
        assert_string_equal(m.link.name, "ab");

        /* An operstate of the wrong size. */
        d = (Datagram) {};
        nlh = put_link(&d, RTM_NEWLINK, 3, IFF_UP, AF_UNSPEC);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
        mnl_attr_put_u32(nlh, IFLA_OPERSTATE, IF_OPER_UP);
        finish(&d, nlh);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);

        d = (Datagram) {};
        nlh = put_link(&d, RTM_NEWLINK, 3, IFF_UP, AF_UNSPEC);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
        mnl_attr_put(nlh, IFLA_OPERSTATE, 0, NULL);
        finish(&d, nlh);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);

        /* ifindex 0 or negative. */
        d = (Datagram) {};
        add_link(&d, RTM_NEWLINK, 0, "eth0", IF_OPER_UP, IFF_UP);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);
        d = (Datagram) {};
        add_link(&d, RTM_NEWLINK, -4, "eth0", IF_OPER_UP, IFF_UP);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);
}

static void test_parse_unknown_and_unpadded_attributes(void **state) {
        Datagram d = {};
        struct nlmsghdr *nlh;
        struct nlattr *nest;
        RtnlMessage m;

        nlh = put_link(&d, RTM_NEWLINK, 12, IFF_UP | IFF_LOWER_UP, AF_UNSPEC);
        nest = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        mnl_attr_nest_end(nlh, nest);
        mnl_attr_put_u32(nlh, 999, 1);          /* from a newer kernel */
        mnl_attr_put_u8(nlh, IFLA_OPERSTATE, IF_OPER_UP);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, "v12");     /* 4 bytes: no padding needed */
        mnl_attr_put_u8(nlh, IFLA_LINKMODE, 0);         /* last, 5 bytes ... */
        nlh->nlmsg_len -= 3;                            /* ... without its padding */
        d.len = nlh->nlmsg_len;
        assert_int_equal(parse_one(&d, &m), 1);
        assert_string_equal(m.link.name, "v12");
        assert_int_equal(link_state_from_info(&m.link), LINK_STATE_UP);
}

static void test_parse_done_error(void **state) {
        Datagram d = {};
        struct nlmsghdr *nlh;
        struct nlmsgerr *err;
        RtnlMessage m;
        size_t off = 0;

        add_link(&d, RTM_NEWLINK, 2, "a", IF_OPER_UP, IFF_UP);
        add_done(&d, 0, true);
        add_done(&d, -EMSGSIZE, true);
        add_done(&d, 0, false);                 /* old kernels: no payload */
        nlh = mnl_nlmsg_put_header(d.buf + d.len);
        nlh->nlmsg_type = NLMSG_ERROR;
        nlh->nlmsg_seq = 77;
        err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));
        err->error = -EBUSY;
        finish(&d, nlh);

        assert_int_equal(rtnl_message_next(d.buf, d.len, &off, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_LINK);
        assert_int_equal(rtnl_message_next(d.buf, d.len, &off, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_DONE);
        assert_int_equal(m.error, 0);
        assert_true(m.flags & NLM_F_MULTI);
        assert_int_equal(rtnl_message_next(d.buf, d.len, &off, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_DONE);
        assert_int_equal(m.error, -EMSGSIZE);
        assert_int_equal(rtnl_message_next(d.buf, d.len, &off, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_DONE);
        assert_int_equal(m.error, 0);
        assert_int_equal(rtnl_message_next(d.buf, d.len, &off, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_ERROR);
        assert_int_equal(m.error, -EBUSY);
        assert_int_equal(m.seq, 77);
        assert_int_equal(rtnl_message_next(d.buf, d.len, &off, &m), 0);

        /* Positive or absurd errnos, and an error without its errno. */
        d = (Datagram) {};
        add_done(&d, 5, true);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);
        d = (Datagram) {};
        nlh = mnl_nlmsg_put_header(d.buf);
        nlh->nlmsg_type = NLMSG_ERROR;
        err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));
        err->error = -100000;
        finish(&d, nlh);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);
        d = (Datagram) {};
        nlh = mnl_nlmsg_put_header(d.buf);
        nlh->nlmsg_type = NLMSG_ERROR;
        finish(&d, nlh);
        assert_int_equal(parse_one(&d, &m), -EBADMSG);
}

/* Datagrams the kernel (Linux 6.18) sent, captured for the fuzz corpus. */
static size_t read_seed(const char *name, uint8_t *buf, size_t size) {
        char path[512];
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus-rtnl-link/%s", SOURCE_ROOT, name);
        f = fopen(path, "re");
        assert_non_null(f);
        n = fread(buf, 1, size, f);
        fclose(f);
        return n;
}

static void test_parse_real(void **state) {
        /* A dump of lo (up), c0 (up, its peer c1 down) and c1, then its end. */
        static const char *const want[] = { "lo up", "c1 down", "c0 lower-layer-down" };
        _Alignas(4) uint8_t buf[16384];
        size_t len = read_seed("dump-with-done", buf, sizeof(buf)), off = 0, i = 0;
        RtnlMessage m;
        int r;

        while ((r = rtnl_message_next(buf, len, &off, &m)) > 0 && m.kind == RTNL_MESSAGE_LINK) {
                char line[64];

                assert_true(i < ELEMENTSOF(want));
                assert_true(m.flags & NLM_F_MULTI);
                snprintf(line, sizeof(line), "%s %s", m.link.name, link_state_to_string(link_state_from_info(&m.link)));
                assert_string_equal(line, want[i++]);
        }
        assert_int_equal(i, ELEMENTSOF(want));
        assert_int_equal(r, 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_DONE);
        assert_int_equal(m.error, 0);
        assert_int_equal(rtnl_message_next(buf, len, &off, &m), 0);

        /* The peer of v0 came up: carrier on, operstate not yet UP. */
        len = read_seed("newlink-peer-up-lagging", buf, sizeof(buf));
        off = 0;
        assert_int_equal(rtnl_message_next(buf, len, &off, &m), 1);
        assert_string_equal(m.link.name, "v1");
        assert_int_equal(m.link.operstate, IF_OPER_LOWERLAYERDOWN);
        assert_true(m.link.flags & IFF_LOWER_UP);
        assert_int_equal(link_state_from_info(&m.link), LINK_STATE_UP);

        /* A notification: v0 renamed to w0 while down; and its deletion. */
        len = read_seed("newlink-rename", buf, sizeof(buf));
        off = 0;
        assert_int_equal(rtnl_message_next(buf, len, &off, &m), 1);
        assert_int_equal(m.kind, RTNL_MESSAGE_LINK);
        assert_string_equal(m.link.name, "w0");
        assert_false(m.flags & NLM_F_MULTI);
        assert_int_equal(link_state_from_info(&m.link), LINK_STATE_DOWN);
        len = read_seed("dellink", buf, sizeof(buf));
        off = 0;
        assert_int_equal(rtnl_message_next(buf, len, &off, &m), 1);
        assert_true(m.link.deleted);
        assert_int_equal(link_state_from_info(&m.link), LINK_STATE_REMOVED);
}

/* The table. */

typedef struct Changes {
        char lines[64][48];
        size_t n;
} Changes;

static void record(const LinkChange *c, void *userdata) {
        Changes *ch = userdata;

        assert_true(ch->n < ELEMENTSOF(ch->lines));
        snprintf(ch->lines[ch->n++], sizeof(ch->lines[0]), "%d %s %s%s", c->ifindex, c->name,
                 link_state_to_string(c->state), c->old_state < 0 ? " (new)" : "");
}

static void apply(LinkTable *t, Changes *ch, int ifindex, const char *name, int operstate, unsigned flags,
                  bool deleted) {
        LinkInfo info = { .ifindex = ifindex, .operstate = (uint8_t) operstate, .flags = flags, .deleted = deleted };

        if (name)
                snprintf(info.name, sizeof(info.name), "%s", name);
        assert_int_equal(link_table_apply(t, &info, record, ch), 0);
}

static void assert_changes(Changes *ch, const char *const *want, size_t n) {
        assert_int_equal(ch->n, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(ch->lines[i], want[i]);
        ch->n = 0;
}

#define UP (IFF_UP | IFF_LOWER_UP)

static void test_table_changes(void **state) {
        LinkTable t = {};
        Changes ch = {};

        apply(&t, &ch, 3, "v0", IF_OPER_DOWN, 0, false);
        apply(&t, &ch, 2, "v1", IF_OPER_DOWN, 0, false);
        apply(&t, &ch, 1, "lo", IF_OPER_UNKNOWN, UP, false);
        assert_changes(&ch, (const char *const[]) { "3 v0 down (new)", "2 v1 down (new)", "1 lo up (new)" }, 3);
        assert_int_equal(t.n, 3);
        assert_int_equal(t.entries[0].ifindex, 1);     /* sorted */
        assert_int_equal(t.entries[2].ifindex, 3);

        /* RTM_NEWLINK for reasons that are not a state change: nothing. */
        apply(&t, &ch, 3, "v0", IF_OPER_DOWN, IFF_BROADCAST, false);
        assert_changes(&ch, NULL, 0);

        apply(&t, &ch, 3, "v0", IF_OPER_LOWERLAYERDOWN, IFF_UP, false);
        apply(&t, &ch, 2, "v1", IF_OPER_UP, UP, false);
        apply(&t, &ch, 3, "v0", IF_OPER_UP, UP, false);
        assert_changes(&ch, (const char *const[]) { "3 v0 lower-layer-down", "2 v1 up", "3 v0 up" }, 3);

        /* Rename: the old name goes, the new one comes. */
        apply(&t, &ch, 2, "w1", IF_OPER_UP, UP, false);
        assert_changes(&ch, (const char *const[]) { "2 v1 removed", "2 w1 up (new)" }, 2);
        assert_string_equal(link_table_get(&t, 2)->name, "w1");
        assert_null(link_table_find_name(&t, "v1"));

        /* A new ifindex with a name the table still holds: the old one's
         * removal was missed. */
        apply(&t, &ch, 9, "v0", IF_OPER_DOWN, 0, false);
        assert_changes(&ch, (const char *const[]) { "3 v0 removed", "9 v0 down (new)" }, 2);
        assert_null(link_table_get(&t, 3));

        /* And a rename onto a name held by a stale entry. */
        apply(&t, &ch, 2, "v0", IF_OPER_DOWN, 0, false);
        assert_changes(&ch, (const char *const[]) { "2 w1 removed", "9 v0 removed", "2 v0 down (new)" }, 3);

        /* DELLINK, known and unknown; a DELLINK without a name. */
        apply(&t, &ch, 2, NULL, IF_OPER_DOWN, 0, true);
        apply(&t, &ch, 55, "x", IF_OPER_DOWN, 0, true);
        assert_changes(&ch, (const char *const[]) { "2 v0 removed" }, 1);
        assert_int_equal(t.n, 1);

        link_table_done(&t);
        assert_int_equal(t.n, 0);
}

static void test_table_sweep(void **state) {
        LinkTable t = {};
        Changes ch = {};

        for (int i = 1; i <= 5; i++) {
                char name[8];

                snprintf(name, sizeof(name), "l%d", i);
                apply(&t, &ch, i, name, IF_OPER_UP, UP, false);
        }
        ch.n = 0;

        /* A dump that reports 1, 3 (changed) and 6 (new), with 4 seen through
         * a notification meanwhile: 2 and 5 went while nobody watched. */
        link_table_mark(&t);
        apply(&t, &ch, 1, "l1", IF_OPER_UP, UP, false);
        apply(&t, &ch, 4, "l4", IF_OPER_UP, UP, false);
        apply(&t, &ch, 3, "l3", IF_OPER_DOWN, IFF_UP, false);
        apply(&t, &ch, 6, "l6", IF_OPER_DOWN, 0, false);
        assert_int_equal(link_table_sweep(&t, record, &ch), 2);
        assert_changes(&ch,
                       (const char *const[]) { "3 l3 down", "6 l6 down (new)", "2 l2 removed", "5 l5 removed" }, 4);
        assert_int_equal(t.n, 4);

        /* A sweep right after a complete dump removes nothing. */
        link_table_mark(&t);
        for (size_t i = 0; i < t.n; i++) {
                LinkInfo info = { .ifindex = t.entries[i].ifindex, .flags = UP, .operstate = IF_OPER_UP };

                snprintf(info.name, sizeof(info.name), "%s", t.entries[i].name);
                assert_int_equal(link_table_apply(&t, &info, NULL, NULL), 0);
        }
        assert_int_equal(link_table_sweep(&t, record, &ch), 0);

        /* An empty dump removes everything. */
        link_table_mark(&t);
        assert_int_equal(link_table_sweep(&t, NULL, NULL), 4);
        assert_int_equal(t.n, 0);
        link_table_done(&t);
}

static void test_table_bounded(void **state) {
        LinkTable t = {};
        LinkInfo info = { .operstate = IF_OPER_DOWN };

        for (unsigned i = 1; i <= LINK_TABLE_MAX; i++) {
                info.ifindex = (int) i;
                snprintf(info.name, sizeof(info.name), "n%u", i);
                assert_int_equal(link_table_apply(&t, &info, NULL, NULL), 0);
        }
        info.ifindex = (int) LINK_TABLE_MAX + 1;
        snprintf(info.name, sizeof(info.name), "one-too-many");
        assert_int_equal(link_table_apply(&t, &info, NULL, NULL), -E2BIG);
        assert_int_equal(t.n, LINK_TABLE_MAX);
        /* Known links still change. */
        info.ifindex = 7;
        snprintf(info.name, sizeof(info.name), "n7");
        info.flags = UP;
        info.operstate = IF_OPER_UP;
        assert_int_equal(link_table_apply(&t, &info, NULL, NULL), 0);
        assert_int_equal(link_table_get(&t, 7)->state, LINK_STATE_UP);
        link_table_done(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_state_mapping),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_parse_newlink),
                cmocka_unit_test(test_parse_dellink),
                cmocka_unit_test(test_parse_other),
                cmocka_unit_test(test_parse_bad_header),
                cmocka_unit_test(test_parse_bad_attributes),
                cmocka_unit_test(test_parse_unknown_and_unpadded_attributes),
                cmocka_unit_test(test_parse_done_error),
                cmocka_unit_test(test_parse_real),
                cmocka_unit_test(test_table_changes),
                cmocka_unit_test(test_table_sweep),
                cmocka_unit_test(test_table_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
