/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Identifying a block device with libblkid without blocking the event
 * loop: each probe runs in a short-lived forked child that opens the node,
 * checks it is the block device MAJOR:MINOR it should be, probes
 * superblocks (TYPE, UUID, LABEL) and the partition entry (PARTUUID),
 * writes one bounded KEY=VALUE\0 record to a pipe and exits. The parent
 * sees the pipe and the child's pidfd as sd-event sources, so it needs no
 * SIGCHLD handling and does not touch the process's signal mask; a timer
 * kills (SIGKILL) a child that takes longer than the timeout, and the
 * probe then completes with -ETIME. A killed child is reaped whenever it
 * dies (one stuck in D state on a failing disk stays until then). In a
 * process that ignores SIGCHLD the kernel reaps the children itself: that
 * works (waitid() says ECHILD, the pipe tells), except that a child gone
 * before its pidfd is opened makes block_prober_start() fail (ESRCH).
 *
 * The prober does not limit how many probes run: its caller does. */

#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"
#include "uevent-parse.h"

typedef struct BlockProber BlockProber;
typedef struct BlockProbe BlockProbe;

/* Called once per probe that was not cancelled. error: 0 and result set
 * (result->status 0: identified, 1: nothing found, < 0: the child's
 * error, e.g. -ENOENT for a missing node), or -ETIME (killed after the
 * timeout), -EBADMSG (bad output), -ECHILD (died without an answer). The
 * strings in result are valid during the call. probe is gone after it. */
typedef void (*block_probe_handler_t)(BlockProbe *probe, int error, const ProbeResult *result, void *userdata);

int block_prober_new(sd_event *event, usec_t timeout, BlockProber **ret);
/* Kills the children still running; those not dead yet stay unreaped. */
BlockProber *block_prober_free(BlockProber *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(BlockProber *, block_prober_free);

/* Forks a probe of path, which must be the block device major:minor. */
int block_prober_start(BlockProber *p, const char *path, unsigned major, unsigned minor,
                       block_probe_handler_t handler, void *userdata, BlockProbe **ret);
/* No callback will come; the child is killed and reaped later. */
void block_probe_cancel(BlockProbe *probe);

/* What a child runs instead of the libblkid probe (tests: a child that
 * hangs, crashes or writes garbage). It writes its answer to fd; the
 * child exits 0 when it returns. NULL: the real probe. */
typedef void (*block_probe_child_t)(const char *path, unsigned major, unsigned minor, int fd);
void block_prober_set_child(BlockProber *p, block_probe_child_t child);

pid_t block_probe_pid(const BlockProbe *probe);
size_t block_prober_running(const BlockProber *p);      /* forked, not answered */
size_t block_prober_children(const BlockProber *p);     /* forked, not reaped */
