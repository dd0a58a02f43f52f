/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Whole small files (sysfs attributes, /proc/mdstat, uevent files) into a
 * caller's buffer, bounded. */

#include <stddef.h>

/* Reads fd from offset 0 to its end into buf (pread: a sysfs or proc file
 * read so is re-armed for poll()). -EFBIG when it does not fit in size. */
int read_fd_from_zero(int fd, char *buf, size_t size, size_t *ret_len);
/* openat(dirfd, path) and the same. */
int read_small_file_at(int dirfd, const char *path, char *buf, size_t size, size_t *ret_len);
