/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder: the links watcher is not written yet (start fails with
 * EOPNOTSUPP through the NULL start). */

#include "watch.h"

const WatchVTable link_watch_vtable = {
        .name = "links",
        .kind = TRIGGER_LINK,
        .object_size = sizeof(Watch),
};
