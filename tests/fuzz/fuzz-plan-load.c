/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes through the plan loader and validator. It
 * must never crash, leak or hang, and an accepted plan must be consistent
 * (an order covering every step, needs that point inside the plan). */

#include <stdint.h>

#include "plan-graph.h"
#include "plan-load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(plan_freep) Plan *p = NULL;
        Diagnostics d = {};
        int r;

        r = plan_load_buffer("fuzz.yaml", (const char *) data, size, &d, &p);
        if (r == 0) {
                bool *seen = calloc(p->n_steps, sizeof(bool));
                if (!seen)
                        abort();
                if (d.n_errors != 0)
                        abort();
                for (size_t i = 0; i < p->n_steps; i++) {
                        if (p->order[i] >= p->n_steps || seen[p->order[i]])
                                abort();
                        seen[p->order[i]] = true;
                        for (size_t k = 0; p->steps[i].needs && p->steps[i].needs[k]; k++)
                                if (p->steps[i].needs_index[k] >= p->n_steps)
                                        abort();
                }
                free(seen);
                (void) plan_write_dot(p, fopen("/dev/null", "we") ?: stderr);
        } else if (r == -EINVAL && d.n_errors == 0)
                abort(); /* refused without saying why */
        diagnostics_done(&d);
        return 0;
}
