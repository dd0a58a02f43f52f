/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes as one people.d file. The loader must never
 * crash, leak or hang; it refuses only with a reason; and a directory it
 * accepts must hold together: every name found, every team resolvable,
 * and every rotation answerable (who now, since <= now < until). */

#include <stdint.h>
#include <stdlib.h>

#include "people.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-10-25 01:30 UTC: inside Berlin's repeated hour. */
#define FUZZ_AT (1792891800ULL * USEC_PER_SEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(people_dir_freep) PeopleDir *d = NULL;
        Diagnostics diag = {};
        int r;

        if (size > 64 * 1024)
                return 0;
        r = people_dir_load_buffer("fuzz.yaml", (const char *) data, size, &d, &diag);
        if (r == 0) {
                const Person *p;
                const Team *t;
                const Rotation *rot;

                if (diag.n_errors != 0)
                        abort();
                for (size_t i = 0; (p = people_dir_person(d, i)); i++)
                        if (people_dir_find_person(d, p->name) != p || !p->contacts)
                                abort();
                for (size_t i = 0; (t = people_dir_team(d, i)); i++) {
                        _cleanup_free_ const Person **who = NULL;
                        size_t n;
                        if (!people_dir_has(d, t->name) || people_resolve(d, t->name, FUZZ_AT, &who, &n) < 0)
                                abort();
                        for (size_t a = 0; a < n; a++)
                                for (size_t b = a + 1; b < n; b++)
                                        if (who[a] == who[b])
                                                abort();
                }
                for (size_t i = 0; (rot = people_dir_rotation(d, i)); i++) {
                        OnCall o;
                        if (i < 2) {
                                if (people_oncall(d, rot->name, FUZZ_AT, &o) < 0)
                                        abort();
                                if (o.since > FUZZ_AT || o.until <= FUZZ_AT ||
                                    (o.person == NULL) != (o.source == ONCALL_NOBODY) ||
                                    (o.next && o.next_since < o.until))
                                        abort();
                        } else
                                (void) rotation_who(rot, FUZZ_AT, NULL, NULL);
                }
        } else if (r == -EINVAL && diag.n_errors == 0)
                abort(); /* refused without saying why */
        else if (r != -EINVAL && r != -ENOMEM)
                abort();
        diagnostics_done(&diag);
        return 0;
}
