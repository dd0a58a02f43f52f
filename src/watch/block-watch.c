/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder: the block watcher is not written yet (start fails with
 * EOPNOTSUPP through the NULL start). */

#include "watch.h"

const WatchVTable block_watch_vtable = {
        .name = "block",
        .kind = TRIGGER_DEVICE,
        .object_size = sizeof(Watch),
};
