/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes through the relay's configuration loader
 * (src/relay/relay-config.c). It must never crash, leak or hang; a refusal
 * must say why; an accepted configuration must hold what the loader
 * promises (every channel typed, with URLs, and only references where
 * secrets go). */

#include <stdint.h>

#include "relay-config.h"
#include "secret.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ref(const char *ref) {
        if (ref && !secret_ref_is_valid(ref, NULL))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL;
        Diagnostics d = {};
        int r;

        r = relay_config_load_buffer("fuzz.yaml", (const char *) data, size, 0, &c, &d);
        if (r == 0) {
                if (d.n_errors != 0)
                        abort();
                for (size_t i = 0; i < c->n_channels; i++) {
                        const RelayChannelConfig *ch = c->channels + i;
                        if (ch->type < 0 || ch->type >= _CHANNEL_TYPE_MAX || strv_length(ch->urls) == 0 || !ch->name)
                                abort();
                        if (ch->type == CHANNEL_PAGERDUTY && !ch->routing_key_ref)
                                abort();
                        check_ref(ch->secret_ref);
                        check_ref(ch->routing_key_ref);
                        (void) relay_channel_wants(ch, 1, 3, "db-x");
                }
                STRV_FOREACH(s, c->ack.webhook_secrets)
                        check_ref(*s);
                STRV_FOREACH(s, c->ack.pagerduty_secrets)
                        check_ref(*s);
                check_ref(c->ack.approval_key);
                if (c->outbox.max_dead > c->outbox.max_entries || c->outbox.retry_max < c->outbox.retry_initial)
                        abort();
        } else if (r == -EINVAL && d.n_errors == 0)
                abort(); /* refused without saying why */
        diagnostics_done(&d);
        return 0;
}
