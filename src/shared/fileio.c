/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int read_fd_from_zero(int fd, char *buf, size_t size, size_t *ret_len) {
        size_t n = 0;

        for (;;) {
                ssize_t k = pread(fd, buf + n, size - n, (off_t) n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n == size)
                        return -EFBIG;
        }
        *ret_len = n;
        return 0;
}

int read_small_file_at(int dirfd, const char *path, char *buf, size_t size, size_t *ret_len) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return -errno;
        return read_fd_from_zero(fd, buf, size, ret_len);
}
