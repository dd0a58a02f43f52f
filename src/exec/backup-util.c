/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backup-util.h"
#include "string-util.h"

const char *backup_exit_describe(int status) {
        static const char *const t[_BACKUP_EXIT_MAX] = {
                [BACKUP_EXIT_OK] = "passed",
                [BACKUP_EXIT_USAGE] = "the backup check was called wrongly (a bug in salve)",
                [BACKUP_EXIT_MISSING] = "does not exist",
                [BACKUP_EXIT_TOO_OLD] = "is too old",
                [BACKUP_EXIT_TOO_SMALL] = "is too small",
                [BACKUP_EXIT_EMPTY] = "holds no files",
                [BACKUP_EXIT_MANIFEST_BAD] = "has a manifest that cannot be used",
                [BACKUP_EXIT_MISMATCH] = "does not match its manifest",
                [BACKUP_EXIT_IO] = "cannot be read",
                [BACKUP_EXIT_TOOL] = "could not be checked: sha256sum did not run",
        };

        if (status < 0 || status >= _BACKUP_EXIT_MAX)
                return NULL;
        return t[status];
}

BackupExit backup_judge_age(const BackupFacts *f, usec_t now, usec_t max_age, usec_t *ret_age) {
        usec_t age;

        if (f->files == 0)
                return BACKUP_EXIT_EMPTY;
        age = now > f->newest ? now - f->newest : 0;
        if (ret_age)
                *ret_age = age;
        if (max_age != USEC_INFINITY && age > max_age)
                return BACKUP_EXIT_TOO_OLD;
        return BACKUP_EXIT_OK;
}

BackupExit backup_judge_size(const BackupFacts *f, uint64_t min_size) {
        if (min_size > 0 && f->files == 0)
                return BACKUP_EXIT_EMPTY;
        return f->size < min_size ? BACKUP_EXIT_TOO_SMALL : BACKUP_EXIT_OK;
}

static bool name_is_inside(const char *name) {
        const char *p = name;

        if (!*name || name[0] == '/')
                return false;
        while (*p) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return false;
                if (!slash)
                        break;
                p = slash + 1;
        }
        return true;
}

int backup_manifest_parse_line(const char *line, size_t len, char **ret_name) {
        bool escaped = false;
        const char *p = line, *end = line + len;
        char *name, *o;

        if (len > 0 && line[len - 1] == '\r')
                return -EBADMSG;        /* sha256sum --strict: not its format */
        if (p < end && *p == '\\') {
                escaped = true;
                p++;
        }
        if (end - p < 64 + 2)
                return -EBADMSG;
        for (int i = 0; i < 64; i++)
                if (!isxdigit((unsigned char) p[i]))
                        return -EBADMSG;
        p += 64;
        if (p[0] != ' ' || (p[1] != ' ' && p[1] != '*'))
                return -EBADMSG;
        p += 2;
        if (p >= end)
                return -EBADMSG;

        name = malloc((size_t) (end - p) + 1);
        if (!name)
                return -ENOMEM;
        o = name;
        for (; p < end; p++) {
                if (*p == '\0') {
                        free(name);
                        return -EBADMSG;
                }
                if (escaped && *p == '\\') {
                        if (p + 1 >= end || (p[1] != '\\' && p[1] != 'n')) {
                                free(name);
                                return -EBADMSG;
                        }
                        *o++ = p[1] == 'n' ? '\n' : '\\';
                        p++;
                } else
                        *o++ = *p;
        }
        *o = 0;
        if (!name_is_inside(name)) {
                free(name);
                return -EPERM;
        }
        if (ret_name)
                *ret_name = name;
        else
                free(name);
        return 0;
}

int backup_manifest_lint(const char *text, size_t size, size_t *ret_entries, unsigned *ret_line) {
        size_t entries = 0;
        unsigned line_no = 0;
        const char *p = text, *end = text + size;
        int r;

        if (!text && size > 0)
                return -EINVAL;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);

                line_no++;
                r = backup_manifest_parse_line(p, len, NULL);
                if (r < 0) {
                        if (ret_line)
                                *ret_line = line_no;
                        return r;
                }
                entries++;
                p = nl ? nl + 1 : end;
        }
        if (entries == 0)
                return -ENODATA;
        if (ret_entries)
                *ret_entries = entries;
        return 0;
}
