/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes as an rtnetlink datagram, walked message by
 * message as the links watcher does, every link report applied to a link
 * table and every NLMSG_DONE sweeping it. The walk must never read outside
 * the buffer, always advance and end; the table must stay sorted, its names
 * unique and its two indexes in agreement; every change must name a valid
 * state. */

#include <stdint.h>
#include <linux/netlink.h>

#include "rtnl-link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_change(const LinkChange *c, void *userdata) {
        size_t *n = userdata;

        if (c->state < 0 || c->state >= _LINK_STATE_MAX || !link_state_to_string(c->state))
                abort();
        if (!link_name_is_valid(c->name) || c->ifindex <= 0)
                abort();
        (*n)++;
}

static void check_table(const LinkTable *t) {
        for (size_t i = 0; i < t->n; i++) {
                const LinkEntry *e = &t->entries[i], *f;

                if (i > 0 && t->entries[i - 1].ifindex >= e->ifindex)
                        abort();
                if (e->state == LINK_STATE_REMOVED || !link_name_is_valid(e->name))
                        abort();
                f = link_table_find_name(t, e->name);
                if (f != e)
                        abort();
                if (link_table_get(t, t->by_name[i]) == NULL)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        LinkTable t = {};
        RtnlMessage m;
        size_t offset = 0, changes = 0;
        uint8_t *buf;
        int r;

        /* A copy of exactly size bytes, so ASan sees any read past the end. */
        buf = malloc(size ?: 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);

        for (;;) {
                size_t before = offset;

                r = rtnl_message_next(buf, size, &offset, &m);
                if (r == 0)
                        break;
                if (offset <= before || offset > size)
                        abort();
                if (r < 0) {
                        if (r != -EBADMSG)
                                abort();
                        continue;
                }
                switch (m.kind) {
                case RTNL_MESSAGE_LINK:
                        if (m.link.ifindex <= 0 || (!m.link.deleted && !link_name_is_valid(m.link.name)))
                                abort();
                        r = link_table_apply(&t, &m.link, check_change, &changes);
                        if (r < 0 && r != -ENOMEM && r != -E2BIG)
                                abort();
                        break;
                case RTNL_MESSAGE_DONE:
                        (void) link_table_sweep(&t, check_change, &changes);
                        link_table_mark(&t);
                        break;
                case RTNL_MESSAGE_ERROR:
                        if (m.error > 0)
                                abort();
                        break;
                default:
                        break;
                }
                check_table(&t);
        }
        link_table_done(&t);
        free(buf);
        return 0;
}
