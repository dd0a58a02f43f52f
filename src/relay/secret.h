/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The relay's secrets (webhook keys, PagerDuty routing keys, approval
 * keys), which never live in the configuration: a configured value is a
 * reference, and this module reads what it names.
 *
 *   credential:NAME   $CREDENTIALS_DIRECTORY/NAME, i.e. what systemd's
 *                     LoadCredential=NAME:PATH (or SetCredential=) in
 *                     salved.service hands the service.
 *   file:/abs/path    a regular file owned by root that neither its group
 *                     nor others may read or write (mode 0600 or 0400);
 *                     anything else is refused with -EPERM.
 *
 * A secret is returned as the bytes the file holds (a trailing newline
 * included; the consumers strip it), NUL-terminated past ret_size, and at
 * most SECRET_SIZE_MAX bytes. Free it with secret_free(), which wipes it.
 * Messages name the reference and the reason, never the secret. */

#include <stddef.h>

#include "macro.h"

#define SECRET_SIZE_MAX (64U * 1024U)
#define SECRET_CREDENTIAL_NAME_MAX 255U

/* Syntax only: 1 for "credential:NAME" with a valid NAME or "file:/abs"
 * with an absolute, normalized path; 0 for anything else, with a reason
 * in *ret_reason (static text) when not NULL. */
int secret_ref_is_valid(const char *ref, const char **ret_reason);

/* -EINVAL: not a reference; -ENXIO: credential: without
 * $CREDENTIALS_DIRECTORY; -ENOENT and other open/read errors as they are;
 * -EPERM: a file: that is not root's alone (or not a regular file);
 * -EFBIG: larger than SECRET_SIZE_MAX; -ENODATA: empty.
 * On failure *ret_error (when not NULL) is a sentence for the admin,
 * to be freed by the caller. */
int secret_load_full(const char *ref, void **ret, size_t *ret_size, char **ret_error);
int secret_load(const char *ref, void **ret, size_t *ret_size);

/* explicit_bzero()s size bytes, frees, returns NULL. */
void *secret_free(void *p, size_t size);
