/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* For salve's helper programs (salve-snapshot, salve-check-backup), which
 * run inside a transient unit and may block: run a tool and wait for it.
 * Its stderr (and its stdout, unless captured) is the helper's, so it
 * reaches the journal under the step. */

/* Runs argv[0] (looked up in PATH) in cwd (NULL: ours). With ret_output,
 * its stdout is captured (up to 16 MiB) and returned NUL-terminated.
 * Returns its exit status, 128+N if signal N killed it, or -errno if it
 * could not be run (-ENOENT: no such program). */
int helper_spawn(char *const argv[], const char *cwd, char **ret_output);
