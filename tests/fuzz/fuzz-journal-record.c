/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes as a journal record payload. Parsing must
 * never crash; what parses must serialize and parse back the same. */

#include <stdint.h>

#include "run-journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Transition t, u;
        char *json = NULL;

        if (transition_from_json(data, size, &t) < 0)
                return 0;
        if (transition_to_json(&t, &json) < 0)
                abort();
        if (transition_from_json(json, strlen(json), &u) < 0)
                abort();
        if (u.kind != t.kind || !streq_ptr(u.run_id, t.run_id) || !streq_ptr(u.step_id, t.step_id) ||
            u.state != t.state || u.attempt != t.attempt || !streq_ptr(u.message, t.message))
                abort();
        transition_done(&t);
        transition_done(&u);
        free(json);
        return 0;
}
