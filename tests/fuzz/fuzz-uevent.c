/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes as a kernel uevent datagram, as a sysfs
 * uevent file and as a probe child's answer (src/watch/uevent-parse.c).
 * Parsing must never crash or read past the input; what parses must hold
 * the promised invariants, and a probe answer must format and parse back
 * the same. */

#include <stdint.h>

#include "macro.h"
#include "uevent-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const char *p, const char *buf, size_t size) {
        return p >= buf && p < buf + size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *copy = NULL, out[4096];
        ProbeResult p, q;
        UEvent u;
        int n;

        if (size > 2 * UEVENT_MESSAGE_MAX)
                return 0;
        copy = malloc(size + 1);
        if (!copy)
                return 0;

        /* As a datagram (no terminator added: the parser must not need one). */
        memcpy(copy, data, size);
        if (uevent_parse_message(copy, size, &u) == 0) {
                if (!inside(u.devpath, copy, size) || !inside(u.subsystem, copy, size) || u.devpath[0] != '/' ||
                    !uevent_sysname_is_valid(u.sysname) || u.action < 0 || u.action >= _UEVENT_ACTION_MAX)
                        abort();
                if (streq(u.subsystem, "block") &&
                    (!u.has_devnum || !uevent_devname_is_valid(u.devname) || u.major > 4095 || u.minor >= (1U << 20)))
                        abort();
        }

        /* As a sysfs file. */
        memcpy(copy, data, size);
        if (uevent_parse_sysfs(copy, size, "sda", &u) == 0 && (!uevent_devname_is_valid(u.devname) || !u.has_devnum))
                abort();

        /* As a probe answer. */
        memcpy(copy, data, size);
        if (probe_result_parse(copy, size, &p) == 0) {
                n = probe_result_format(out, sizeof(out), &p);
                if (n < 0 || probe_result_parse(out, (size_t) n, &q) < 0)
                        abort();
                if (p.status != q.status || !streq_ptr(p.fs_type, q.fs_type) || !streq_ptr(p.uuid, q.uuid) ||
                    !streq_ptr(p.label, q.label) || !streq_ptr(p.partuuid, q.partuuid))
                        abort();
        }
        free(copy);
        return 0;
}
