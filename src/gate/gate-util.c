/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "fileio.h"
#include "gate-util.h"
#include "string-util.h"
#include "strv.h"

static bool char_is_plain(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ':' || c == '_' || c == '.' || c == '-';
}

int gate_escape(const char *unit, char **ret) {
        static const char hex[] = "0123456789abcdef";
        char *s, *p;

        if (!unit || !*unit)
                return -EINVAL;
        p = s = malloc(strlen(unit) * 4 + 1);
        if (!s)
                return -ENOMEM;
        for (const char *c = unit; *c; c++) {
                if (char_is_plain(*c)) {
                        *p++ = *c;
                        continue;
                }
                *p++ = '\\';
                *p++ = 'x';
                *p++ = hex[(unsigned char) *c >> 4];
                *p++ = hex[(unsigned char) *c & 0xf];
        }
        *p = '\0';
        *ret = s;
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int gate_unescape(const char *instance, char **ret) {
        _cleanup_free_ char *s = NULL;
        char *p;

        if (!instance || !*instance)
                return -EINVAL;
        p = s = malloc(strlen(instance) + 1);
        if (!s)
                return -ENOMEM;
        for (const char *c = instance; *c; c++) {
                int a, b;

                if (*c != '\\') {
                        *p++ = *c;
                        continue;
                }
                if (c[1] != 'x')
                        return -EINVAL;
                a = unhex(c[2]);
                if (a < 0)
                        return -EINVAL;
                b = unhex(c[3]);
                if (b < 0 || (a == 0 && b == 0))
                        return -EINVAL;
                *p++ = (char) (a << 4 | b);
                c += 3;
        }
        *p = '\0';
        /* The name becomes a file name in the gates directory: whatever
         * systemd lets through as an instance, only a unit that can be held
         * (no "/", no ".", no "ready") comes out. */
        if (!gate_unit_can_be_held(s, NULL))
                return -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

int gate_unit_name(const char *unit, char **ret) {
        _cleanup_free_ char *e = NULL;
        char *n;
        int r;

        r = gate_escape(unit, &e);
        if (r < 0)
                return r;
        if (strlen(GATE_UNIT_PREFIX) + strlen(e) + strlen(GATE_UNIT_SUFFIX) >= GATE_UNIT_NAME_MAX)
                return -EINVAL;
        if (asprintf(&n, GATE_UNIT_PREFIX "%s" GATE_UNIT_SUFFIX, e) < 0)
                return -ENOMEM;
        *ret = n;
        return 0;
}

static bool unit_name_chars_ok(const char *s) {
        for (; *s; s++)
                if (!char_is_plain(*s) && *s != '@' && *s != '\\')
                        return false;
        return true;
}

bool gate_unit_can_be_held(const char *unit, const char **ret_why) {
        const char *why = NULL;
        size_t n = unit ? strlen(unit) : 0;

        if (n <= strlen(".service") || n >= GATE_UNIT_NAME_MAX || !unit_name_chars_ok(unit) || unit[0] == '.' ||
            unit[0] == '@')
                why = "it is not a valid unit name";
        else if (!string_has_suffix(unit, ".service"))
                why = "only services can be held";
        else if (string_has_suffix(unit, "@.service"))
                why = "a template cannot be held, only its instances";
        else if (streq(unit, "salved.service"))
                why = "salved itself decides holds";
        else if (streq(unit, "dbus.service"))
                why = "salved needs the system bus to release anything";
        else if (string_has_prefix(unit, GATE_UNIT_PREFIX))
                why = "it is a gate itself";
        else if (string_has_prefix(unit, "systemd-"))
                why = "systemd's own services start before salved";
        else {
                _cleanup_free_ char *g = NULL;
                int r = gate_unit_name(unit, &g);

                if (r == -EINVAL)
                        why = "its gate's name would be too long";
                else if (r < 0)
                        why = "out of memory";
        }
        if (ret_why)
                *ret_why = why;
        return !why;
}

bool gate_name_is_unit_file(const char *name) {
        return name && name[0] != '.' && !streq(name, GATE_READY_NAME);
}

int gate_policy_parse(const char *s, GatePolicy *ret) {
        usec_t u;

        if (!s || !*s || streq(s, "hold")) {
                *ret = (GatePolicy) { .fallback = GATE_FALLBACK_HOLD };
                return 0;
        }
        if (!string_has_prefix(s, "release-after:"))
                return -EINVAL;
        if (parse_duration(s + strlen("release-after:"), &u) < 0)
                return -EINVAL;
        *ret = (GatePolicy) { .fallback = GATE_FALLBACK_RELEASE_AFTER, .release_after = u };
        return 0;
}

static const char *const gate_state_table[_GATE_STATE_MAX] = {
        [GATE_UNDECIDED] = "undecided",
        [GATE_HELD] = "held",
        [GATE_RELEASED] = "released",
};

const char *gate_state_to_string(GateState s) {
        return s >= 0 && s < _GATE_STATE_MAX ? gate_state_table[s] : NULL;
}

static GateState gate_state_from(bool ready, bool unit_file) {
        if (unit_file)
                return GATE_HELD;
        return ready ? GATE_RELEASED : GATE_UNDECIDED;
}

GateState gate_state_from_names(char * const *names, const char *unit) {
        return gate_state_from(strv_contains(names, GATE_READY_NAME), strv_contains(names, unit));
}

static int entry_exists_at(int dirfd, const char *name) {
        struct stat st;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                return 1;
        return errno == ENOENT ? 0 : -errno;
}

int gate_state_at(int dirfd, const char *unit, GateState *ret) {
        int ready, held;

        /* "ready" first: salved writes the boot's holds before "ready",
         * so a unit's file looked at after "ready" was seen is this boot's
         * decision. (The other order could miss a hold written between the
         * two looks and see "released".) */
        ready = entry_exists_at(dirfd, GATE_READY_NAME);
        if (ready < 0)
                return ready;
        held = entry_exists_at(dirfd, unit);
        if (held < 0)
                return held;
        *ret = gate_state_from(ready, held);
        return 0;
}

char *gate_reason_clean(const char *buf, size_t len) {
        size_t n = 0;
        bool nul = false;
        ssize_t bad;
        char *s;

        while (n < len && n < GATE_REASON_MAX && buf[n] != '\n')
                n++;
        bad = utf8_first_invalid(buf, n, &nul);
        if (bad >= 0)
                n = (size_t) bad;
        /* Trailing spaces and carriage returns say nothing. */
        while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\r' || buf[n - 1] == '\t'))
                n--;
        if (n == 0)
                return strdup("held by salved (no reason given)");
        s = strndup(buf, n);
        if (!s)
                return NULL;
        for (char *p = s; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = ' ';
        return s;
}

int gate_reason_at(int dirfd, const char *unit, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        char buf[GATE_REASON_MAX + 1];
        size_t len = 0;
        struct stat st;
        char *s;
        int r;

        fd = openat(dirfd, unit, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        r = read_fd_from_zero(fd, buf, sizeof(buf), &len);
        if (r == -EFBIG)
                len = sizeof(buf); /* longer than allowed: the start will do */
        else if (r < 0)
                return r;
        s = gate_reason_clean(buf, len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
