/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsers for kernel uevents, sysfs uevent files and probe results: pure,
 * bounded, no allocation. The inputs come from the kernel (trusted only
 * after the sender check, and even then length-checked) or from a child
 * that ran libblkid on a device anyone may have written; a parser that
 * says yes has checked every field it hands out. */

#include <string.h>

#include "macro.h"
#include "string-table.h"
#include "uevent-parse.h"

static const char *const uevent_action_table[_UEVENT_ACTION_MAX] = {
        [UEVENT_ADD] = "add",
        [UEVENT_REMOVE] = "remove",
        [UEVENT_CHANGE] = "change",
        [UEVENT_MOVE] = "move",
        [UEVENT_ONLINE] = "online",
        [UEVENT_OFFLINE] = "offline",
        [UEVENT_BIND] = "bind",
        [UEVENT_UNBIND] = "unbind",
};

DEFINE_STRING_TABLE(uevent_action, UEventAction, uevent_action_table, _UEVENT_ACTION_MAX)

enum {
        KEY_ACTION,
        KEY_DEVPATH,
        KEY_SUBSYSTEM,
        KEY_DEVTYPE,
        KEY_DEVNAME,
        KEY_MAJOR,
        KEY_MINOR,
        KEY_SEQNUM,
        KEY_DISKSEQ,
        _KEY_MAX,
};

static const char *const uevent_keys[_KEY_MAX] = {
        [KEY_ACTION] = "ACTION",
        [KEY_DEVPATH] = "DEVPATH",
        [KEY_SUBSYSTEM] = "SUBSYSTEM",
        [KEY_DEVTYPE] = "DEVTYPE",
        [KEY_DEVNAME] = "DEVNAME",
        [KEY_MAJOR] = "MAJOR",
        [KEY_MINOR] = "MINOR",
        [KEY_SEQNUM] = "SEQNUM",
        [KEY_DISKSEQ] = "DISKSEQ",
};

enum {
        PKEY_STATUS,
        PKEY_TYPE,
        PKEY_UUID,
        PKEY_LABEL,
        PKEY_PARTUUID,
        _PKEY_MAX,
};

static const char *const probe_keys[_PKEY_MAX] = {
        [PKEY_STATUS] = "STATUS",
        [PKEY_TYPE] = "TYPE",
        [PKEY_UUID] = "UUID",
        [PKEY_LABEL] = "LABEL",
        [PKEY_PARTUUID] = "PARTUUID",
};

#define PROBE_RESULT_MAX 4096

static bool key_char_ok(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Splits p[0..len) into NUL-terminated KEY=VALUE fields and records where
 * each of the n_keys known keys' values start. Unknown keys are checked
 * for syntax and skipped unless strict, where they are an error. */
static int parse_fields(const char *p, size_t len, const char *const *keys, size_t n_keys, bool strict,
                        size_t value_max, const char **values) {
        size_t n = 0;

        while (len > 0) {
                const char *nul = memchr(p, '\0', len), *eq;
                size_t flen, klen, i;

                if (!nul)
                        return -EBADMSG;        /* the last field is not terminated */
                flen = (size_t) (nul - p);
                if (flen == 0 || ++n > UEVENT_FIELDS_MAX)
                        return -EBADMSG;
                eq = memchr(p, '=', flen);
                if (!eq)
                        return -EBADMSG;
                klen = (size_t) (eq - p);
                if (klen == 0 || klen > UEVENT_KEY_MAX || flen - klen - 1 > value_max)
                        return -EBADMSG;
                for (i = 0; i < klen; i++)
                        if (!key_char_ok(p[i]))
                                return -EBADMSG;
                for (i = 0; i < n_keys; i++)
                        if (strncmp(keys[i], p, klen) == 0 && keys[i][klen] == '\0')
                                break;
                if (i < n_keys) {
                        if (values[i])
                                return -EBADMSG;        /* a known key twice */
                        values[i] = eq + 1;
                } else if (strict)
                        return -EBADMSG;
                len -= flen + 1;
                p = nul + 1;
        }
        return 0;
}

/* Decimal, no sign, no leading zeros, at most max. */
static int parse_uint(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s || (s[0] == '0' && s[1]))
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EBADMSG;
                uint64_t d = (uint64_t) (*s - '0');

                if (d > max || v > (max - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

static bool name_is_valid(const char *s, bool allow_slash) {
        size_t n = strnlen(s, UEVENT_DEVNAME_MAX + 1);
        const char *c;

        if (n == 0 || n > UEVENT_DEVNAME_MAX || s[0] == '/' || s[n - 1] == '/')
                return false;
        for (c = s; *c; c++) {
                unsigned char u = (unsigned char) *c;

                if (u <= ' ' || u >= 0x7f || u == '\\')
                        return false;
                if (u == '/' && (!allow_slash || c[1] == '/'))
                        return false;
                /* a "." or ".." component */
                if ((c == s || c[-1] == '/') && c[0] == '.' &&
                    (c[1] == '\0' || c[1] == '/' || (c[1] == '.' && (c[2] == '\0' || c[2] == '/'))))
                        return false;
        }
        return true;
}

bool uevent_devname_is_valid(const char *s) {
        return s && name_is_valid(s, true);
}

bool uevent_sysname_is_valid(const char *s) {
        return s && name_is_valid(s, false);
}

/* The device fields every block uevent has, from either source. */
static int parse_device(const char *const *values, UEvent *u) {
        uint64_t v;
        int r;

        if (!values[KEY_MAJOR] || !values[KEY_MINOR] || !values[KEY_DEVNAME])
                return -EBADMSG;
        r = parse_uint(values[KEY_MAJOR], 4095, &v);            /* MAJORBITS 12 */
        if (r < 0)
                return r;
        u->major = (unsigned) v;
        r = parse_uint(values[KEY_MINOR], (1U << 20) - 1, &v);  /* MINORBITS 20 */
        if (r < 0)
                return r;
        u->minor = (unsigned) v;
        u->has_devnum = true;
        if (!uevent_devname_is_valid(values[KEY_DEVNAME]))
                return -EBADMSG;
        u->devname = values[KEY_DEVNAME];
        if (values[KEY_DEVTYPE]) {
                if (!streq(values[KEY_DEVTYPE], "disk") && !streq(values[KEY_DEVTYPE], "partition"))
                        return -EBADMSG;
                u->devtype = values[KEY_DEVTYPE];
        }
        if (values[KEY_DISKSEQ]) {
                r = parse_uint(values[KEY_DISKSEQ], UINT64_MAX, &u->diskseq);
                if (r < 0)
                        return r;
        }
        return 0;
}

int uevent_parse_message(const char *buf, size_t len, UEvent *ret) {
        const char *values[_KEY_MAX] = {}, *nul, *at;
        size_t hlen, alen;
        UEvent u = { .action = _UEVENT_ACTION_INVALID };
        int r;

        if (!buf || !ret)
                return -EINVAL;
        if (len == 0 || len > UEVENT_MESSAGE_MAX)
                return -EBADMSG;
        if (len >= 8 && memcmp(buf, "libudev", 8) == 0)
                return -EPROTONOSUPPORT;

        /* The header, "ACTION@DEVPATH". */
        nul = memchr(buf, '\0', len);
        if (!nul)
                return -EBADMSG;
        hlen = (size_t) (nul - buf);
        at = memchr(buf, '@', hlen);
        if (!at)
                return -EBADMSG;
        alen = (size_t) (at - buf);

        r = parse_fields(nul + 1, len - hlen - 1, uevent_keys, _KEY_MAX, false, UEVENT_VALUE_MAX, values);
        if (r < 0)
                return r;
        if (!values[KEY_ACTION] || !values[KEY_DEVPATH] || !values[KEY_SUBSYSTEM] || !values[KEY_SEQNUM])
                return -EBADMSG;
        if (strlen(values[KEY_ACTION]) != alen || memcmp(values[KEY_ACTION], buf, alen) != 0 ||
            !streq(values[KEY_DEVPATH], at + 1))
                return -EBADMSG;

        u.action = uevent_action_from_string(values[KEY_ACTION]);
        if (u.action < 0)
                return -EBADMSG;
        u.devpath = values[KEY_DEVPATH];
        if (u.devpath[0] != '/')
                return -EBADMSG;
        u.sysname = strrchr(u.devpath, '/') + 1;
        if (!uevent_sysname_is_valid(u.sysname))
                return -EBADMSG;
        u.subsystem = values[KEY_SUBSYSTEM];
        if (!*u.subsystem)
                return -EBADMSG;
        r = parse_uint(values[KEY_SEQNUM], UINT64_MAX, &u.seqnum);
        if (r < 0)
                return r;

        if (streq(u.subsystem, "block")) {
                r = parse_device(values, &u);
                if (r < 0)
                        return r;
        }
        *ret = u;
        return 0;
}

int uevent_parse_sysfs(char *buf, size_t len, const char *sysname, UEvent *ret) {
        const char *values[_KEY_MAX] = {};
        UEvent u = { .action = _UEVENT_ACTION_INVALID };
        int r;

        if (!buf || !ret)
                return -EINVAL;
        if (!uevent_sysname_is_valid(sysname))
                return -EINVAL;
        if (len == 0 || len > UEVENT_MESSAGE_MAX || buf[len - 1] != '\n' || memchr(buf, '\0', len))
                return -EBADMSG;
        for (size_t i = 0; i < len; i++)
                if (buf[i] == '\n')
                        buf[i] = '\0';
        r = parse_fields(buf, len, uevent_keys, _KEY_MAX, false, UEVENT_VALUE_MAX, values);
        if (r < 0)
                return r;
        u.sysname = sysname;
        r = parse_device(values, &u);
        if (r < 0)
                return r;
        *ret = u;
        return 0;
}

int probe_result_format(char *buf, size_t size, const ProbeResult *r) {
        const char *values[_PKEY_MAX] = {
                [PKEY_TYPE] = r->fs_type,
                [PKEY_UUID] = r->uuid,
                [PKEY_LABEL] = r->label,
                [PKEY_PARTUUID] = r->partuuid,
        };
        size_t n;
        int k;

        if (r->status > 1 || r->status < -4095)
                return -EINVAL;
        k = snprintf(buf, size, "STATUS=%d", r->status);
        if (k < 0 || (size_t) k + 1 > size)
                return -ENOBUFS;
        n = (size_t) k + 1;             /* keep the NUL */
        for (size_t i = PKEY_TYPE; i < _PKEY_MAX; i++) {
                size_t klen, vlen;

                if (!values[i] || !values[i][0])
                        continue;
                vlen = strlen(values[i]);
                if (vlen > PROBE_VALUE_MAX)
                        return -EINVAL;
                klen = strlen(probe_keys[i]);
                if (n + klen + 1 + vlen + 1 > MIN(size, (size_t) PROBE_RESULT_MAX))
                        return -ENOBUFS;
                memcpy(buf + n, probe_keys[i], klen);
                buf[n + klen] = '=';
                memcpy(buf + n + klen + 1, values[i], vlen + 1);
                n += klen + 1 + vlen + 1;
        }
        return (int) n;
}

int probe_result_parse(const char *buf, size_t len, ProbeResult *ret) {
        const char *values[_PKEY_MAX] = {};
        ProbeResult p = {};
        uint64_t v;
        int r;

        if (!buf || !ret)
                return -EINVAL;
        if (len == 0 || len > PROBE_RESULT_MAX)
                return -EBADMSG;
        r = parse_fields(buf, len, probe_keys, _PKEY_MAX, true, PROBE_VALUE_MAX, values);
        if (r < 0)
                return r;
        if (!values[PKEY_STATUS])
                return -EBADMSG;
        if (values[PKEY_STATUS][0] == '-') {
                r = parse_uint(values[PKEY_STATUS] + 1, 4095, &v);
                if (r < 0 || v == 0)
                        return -EBADMSG;
                p.status = -(int) v;
        } else {
                r = parse_uint(values[PKEY_STATUS], 1, &v);
                if (r < 0)
                        return r;
                p.status = (int) v;
        }
        for (size_t i = PKEY_TYPE; i < _PKEY_MAX; i++)
                if (values[i] && !values[i][0])
                        return -EBADMSG;
        p.fs_type = values[PKEY_TYPE];
        p.uuid = values[PKEY_UUID];
        p.label = values[PKEY_LABEL];
        p.partuuid = values[PKEY_PARTUUID];
        /* Only "identified" carries an identity. */
        if (p.status != 0 && (p.fs_type || p.uuid || p.label || p.partuuid))
                return -EBADMSG;
        *ret = p;
        return 0;
}
