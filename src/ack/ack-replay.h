/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What salved remembers of the remote acknowledgements it acted on, so the
 * same signed request cannot act twice: Standard Webhooks ids
 * ("webhook:ID"), PagerDuty deliveries ("pagerduty:ID") and approval-token
 * nonces ("token:NONCE"), each until the moment after which the verifier
 * would refuse the request anyway (its timestamp out of tolerance, its
 * token expired). Past that moment an entry is dropped.
 *
 * Invariants: bounded (ACK_REPLAY_MAX entries): when every entry is still
 * live the set is full and ack_replay_add() refuses (-ENOSPC) rather than
 * forget one, because forgetting would let that request act again; the
 * caller checks ack_replay_has_room() before it acts. Ids are 1..
 * ACK_REPLAY_ID_MAX bytes of printable ASCII without spaces, so the file
 * needs no quoting. The file under salved's state directory is written
 * whole to a temporary file, fsynced and renamed over the old one, so a
 * crash leaves the old set or the new one, never half of one. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "macro.h"
#include "time-util.h"

#define ACK_REPLAY_MAX 4096U
#define ACK_REPLAY_ID_MAX 200U
#define ACK_REPLAY_FILE "ack-replay"

typedef struct AckReplay AckReplay;

/* max: 0 for ACK_REPLAY_MAX (tests give a small one). */
int ack_replay_new(size_t max, AckReplay **ret);
AckReplay *ack_replay_free(AckReplay *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(AckReplay *, ack_replay_free);

bool ack_replay_id_is_valid(const char *id);

/* Whether id is remembered and still live at now. */
bool ack_replay_contains(const AckReplay *r, const char *id, usec_t now);
/* Whether one more id fits at now (after dropping what expired). */
bool ack_replay_has_room(const AckReplay *r, usec_t now);
/* Remembers id until `until` (CLOCK_REALTIME µs). Expired entries are
 * dropped first. -EINVAL: a bad id; -EEXIST: already live; -ENOSPC: full. */
int ack_replay_add(AckReplay *r, const char *id, usec_t until, usec_t now);
size_t ack_replay_size(const AckReplay *r);

/* The file: one "UNTIL_USEC ID\n" per entry. load reads it into r,
 * skipping (and counting in *ret_skipped) lines that are damaged or
 * expired; a missing file is an empty set (returns 0). save replaces it
 * atomically (mode 0600). */
int ack_replay_load(AckReplay *r, int dirfd, const char *path, usec_t now, size_t *ret_skipped);
/* The same from an open stream (load's parser; the fuzz target's). */
int ack_replay_read(AckReplay *r, FILE *f, usec_t now, size_t *ret_skipped);
int ack_replay_save(const AckReplay *r, int dirfd, const char *path);
