/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder: the md watcher is not written yet (start fails with
 * EOPNOTSUPP through the NULL start). */

#include "watch.h"

const WatchVTable md_watch_vtable = {
        .name = "md",
        .kind = TRIGGER_RAID,
        .object_size = sizeof(Watch),
};
