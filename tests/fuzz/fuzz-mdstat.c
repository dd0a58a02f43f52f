/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes as /proc/mdstat, and as each md sysfs
 * attribute and member state. Parsing must never crash or leak; what an
 * mdstat parse returns must be well-formed (valid names, bounded strings),
 * a refused attribute must leave the state as it was, and diffing any two
 * states must terminate. */

#include <stdint.h>

#include "md-state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_event(const MdEvent *e, void *userdata) {
        if (!md_event_type_to_string(e->type) || !e->array)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        MdArrayState a, b;
        MdMemberState m = {};
        Mdstat st = {};

        if (mdstat_parse(text, size, &st) >= 0) {
                for (size_t i = 0; i < st.n_arrays; i++) {
                        const MdstatArray *x = &st.arrays[i];

                        if (!md_array_name_valid(x->name) || strlen(x->personality) >= MD_WORD_MAX ||
                            mdstat_get(&st, x->name) != x || x->working > x->raid_disks)
                                abort();
                        for (size_t j = 0; j < x->n_members; j++)
                                if (!x->members[j].name[0] || x->members[j].role < 0)
                                        abort();
                }
                mdstat_done(&st);
        } else if (st.n_arrays != 0 || st.arrays)
                abort();

        /* the same bytes as every attribute, into a state that knows something */
        md_array_state_init(&a, "md0");
        (void) md_array_state_set_attr(&a, MD_ATTR_ARRAY_STATE, "active\n", 7);
        (void) md_array_state_set_attr(&a, MD_ATTR_SYNC_ACTION, "resync\n", 7);
        md_array_state_init(&b, "md0");
        for (MdAttr attr = 0; attr < _MD_ATTR_MAX; attr++) {
                MdArrayState before = a;

                if (md_array_state_set_attr(&a, attr, text, size) < 0) {
                        if (memcmp(&before, &a, sizeof(a)) != 0)
                                abort();
                } else if (!md_array_state_knows(&a, attr))
                        abort();
                (void) md_array_state_set_attr(&b, attr, text, size);
        }
        if (md_member_state_parse(text, size, &m) >= 0) {
                snprintf(m.name, sizeof(m.name), "vda");
                if (md_array_state_put_member(&b, &m) < 0)
                        abort();
        }
        (void) md_array_state_diff(NULL, &a, on_event, NULL);
        (void) md_array_state_diff(&a, &b, on_event, NULL);
        (void) md_array_state_diff(&b, &a, on_event, NULL);
        (void) md_array_state_is_in_sync(&b);
        md_array_state_done(&a);
        md_array_state_done(&b);
        return 0;
}
