/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading the relay's secrets by reference (secret.h). Invariants: a
 * file: secret is checked on the descriptor it is read from (no name can
 * be swapped between check and read); every buffer that held secret bytes
 * is wiped before it is freed; messages never quote secret bytes. */

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "secret.h"
#include "string-util.h"

void *secret_free(void *p, size_t size) {
        if (p) {
                explicit_bzero(p, size);
                free(p);
        }
        return NULL;
}

static bool credential_name_is_valid(const char *s, const char **ret_reason) {
        size_t n = strlen(s);

        if (n == 0) {
                *ret_reason = "the credential name is empty";
                return false;
        }
        if (n > SECRET_CREDENTIAL_NAME_MAX) {
                *ret_reason = "the credential name is longer than 255 bytes";
                return false;
        }
        if (streq(s, ".") || streq(s, "..") || strchr(s, '/')) {
                *ret_reason = "a credential name is a file name: no \"/\", not \".\" or \"..\"";
                return false;
        }
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f) {
                        *ret_reason = "a credential name has no spaces or control characters";
                        return false;
                }
        return true;
}

static bool path_is_normalized_absolute(const char *p, const char **ret_reason) {
        if (p[0] != '/') {
                *ret_reason = "a file: secret needs an absolute path (file:/etc/salve/secrets/NAME)";
                return false;
        }
        if (strlen(p) >= PATH_MAX) {
                *ret_reason = "the path is too long";
                return false;
        }
        for (const char *c = p; *c; c++)
                if ((unsigned char) *c < ' ' || *c == 0x7f) {
                        *ret_reason = "the path has control characters";
                        return false;
                }
        for (const char *c = p; *c;) {
                const char *e;
                size_t n;

                while (*c == '/')
                        c++;
                e = strchrnul(c, '/');
                n = (size_t) (e - c);
                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
                        *ret_reason = "the path has \".\" or \"..\" components";
                        return false;
                }
                c = e;
        }
        if (string_has_suffix(p, "/")) {
                *ret_reason = "the path names a directory";
                return false;
        }
        return true;
}

int secret_ref_is_valid(const char *ref, const char **ret_reason) {
        const char *dummy;

        if (!ret_reason)
                ret_reason = &dummy;
        if (!ref) {
                *ret_reason = "no reference";
                return 0;
        }
        if (string_has_prefix(ref, "credential:"))
                return credential_name_is_valid(ref + strlen("credential:"), ret_reason);
        if (string_has_prefix(ref, "file:"))
                return path_is_normalized_absolute(ref + strlen("file:"), ret_reason);
        *ret_reason = "secrets never live in the configuration: write credential:NAME (from LoadCredential= in "
                      "salved.service) or file:/absolute/path (a root-owned file of mode 0600 or 0400)";
        return 0;
}

static int fail(char **ret_error, int r, const char *format, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

static const char *file_kind(mode_t m) {
        return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket"
               : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" : "a special file";
}

static int read_secret_fd(int fd, const char *ref, void **ret, size_t *ret_size, char **ret_error) {
        char *buf;
        size_t n = 0;

        buf = malloc(SECRET_SIZE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, SECRET_SIZE_MAX + 1 - n);
                if (k < 0) {
                        int r;
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        secret_free(buf, SECRET_SIZE_MAX + 1);
                        return fail(ret_error, r, "%s: cannot read: %s", ref, strerror(-r));
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > SECRET_SIZE_MAX) {
                        secret_free(buf, SECRET_SIZE_MAX + 1);
                        return fail(ret_error, -EFBIG, "%s: larger than %u bytes; that is not a key", ref,
                                    SECRET_SIZE_MAX);
                }
        }
        if (n == 0) {
                free(buf);
                return fail(ret_error, -ENODATA, "%s: empty", ref);
        }
        /* Shrink to size without leaving a copy behind unwiped. */
        char *p = malloc(n + 1);
        if (!p) {
                secret_free(buf, SECRET_SIZE_MAX + 1);
                return -ENOMEM;
        }
        memcpy(p, buf, n);
        p[n] = 0;
        secret_free(buf, SECRET_SIZE_MAX + 1);
        *ret = p;
        *ret_size = n;
        return 0;
}

static int load_credential(const char *ref, const char *name, void **ret, size_t *ret_size, char **ret_error) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        struct stat st;
        int r;

        if (!dir || dir[0] != '/')
                return fail(ret_error, -ENXIO, "%s: $CREDENTIALS_DIRECTORY is not set: salved gets credentials "
                            "from systemd, with LoadCredential=%s:/path/to/the/secret in salved.service (systemctl "
                            "edit salved.service)", ref, name);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = negative_errno();
                return fail(ret_error, r, "%s: cannot open $CREDENTIALS_DIRECTORY %s: %s", ref, dir, strerror(-r));
        }
        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0) {
                r = negative_errno();
                if (r == -ENOENT)
                        return fail(ret_error, r, "%s: no credential \"%s\" in %s: add LoadCredential=%s:/path/to/"
                                    "the/secret to salved.service", ref, name, dir, name);
                return fail(ret_error, r, "%s: cannot open %s/%s: %s", ref, dir, name, strerror(-r));
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return fail(ret_error, -EPERM, "%s: %s/%s is %s, not a regular file", ref, dir, name,
                            file_kind(st.st_mode));
        return read_secret_fd(fd, ref, ret, ret_size, ret_error);
}

static int load_file(const char *ref, const char *path, void **ret, size_t *ret_size, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        /* O_NONBLOCK: a FIFO must not block the caller; it is refused below. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = negative_errno();
                return fail(ret_error, r, "%s: cannot open: %s", ref, strerror(-r));
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return fail(ret_error, -EPERM, "%s: refusing to use it: it is %s, not a regular file", ref,
                            file_kind(st.st_mode));
        if (st.st_uid != 0)
                return fail(ret_error, -EPERM, "%s: refusing to use it: owned by uid %u, not root; a secret file "
                            "must be root's alone (chown root:root %s; chmod 0600 %s)", ref, (unsigned) st.st_uid,
                            path, path);
        if (st.st_mode & 0077)
                return fail(ret_error, -EPERM, "%s: refusing to use it: mode %04o lets %s %s it; a secret file must "
                            "be root's alone (chmod 0600 %s)", ref, (unsigned) (st.st_mode & 07777),
                            st.st_mode & 0007 ? "everyone" : "its group",
                            st.st_mode & 0044 ? "read" : "write or execute", path);
        return read_secret_fd(fd, ref, ret, ret_size, ret_error);
}

int secret_load_full(const char *ref, void **ret, size_t *ret_size, char **ret_error) {
        const char *reason;

        if (ret_error)
                *ret_error = NULL;
        if (!ret || !ret_size)
                return -EINVAL;
        if (!secret_ref_is_valid(ref, &reason))
                return fail(ret_error, -EINVAL, "%s: %s", ref && string_has_prefix(ref, "credential:") ? ref
                            : ref && string_has_prefix(ref, "file:") ? ref : "secret", reason);
        if (string_has_prefix(ref, "credential:"))
                return load_credential(ref, ref + strlen("credential:"), ret, ret_size, ret_error);
        return load_file(ref, ref + strlen("file:"), ret, ret_size, ret_error);
}

int secret_load(const char *ref, void **ret, size_t *ret_size) {
        return secret_load_full(ref, ret, ret_size, NULL);
}
