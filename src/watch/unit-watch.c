/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder: the units watcher is not written yet (start fails with
 * EOPNOTSUPP through the NULL start). */

#include "watch.h"

const WatchVTable unit_watch_vtable = {
        .name = "units",
        .kind = TRIGGER_UNIT,
        .object_size = sizeof(Watch),
};
