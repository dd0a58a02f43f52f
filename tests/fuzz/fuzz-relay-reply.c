/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: any bytes as a notifier's HTTP reply, to every
 * channel's classify (channel.h). The first two bytes pick the status
 * (0x00: no reply; 0xff: odd values; else 100 * (1 + (b0 - 1) % 5) +
 * b1 % 100, so "\x04\x1d" is 429), the rest is the
 * body. Classifying must never crash, leak or hang, must give a verdict
 * of the table, and a reason when not OK that is short, printable UTF-8. */

#include <stdint.h>

#include "channel.h"
#include "string-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ChannelOps *const ops[] = { &channel_webhook, &channel_alertmanager, &channel_pagerduty };

static void check_reason(const char *reason) {
        bool nul;

        if (!reason || strlen(reason) > 320 || utf8_first_invalid(reason, strlen(reason), &nul) >= 0)
                abort();
        for (const char *c = reason; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        long status;

        if (size < 2)
                return 0;
        status = data[0] == 0xff ? (long) (int8_t) data[1] * 1000 - data[1]  /* odd values, negative too */
                 : data[0] == 0   ? 0
                                  : 100 + (long) ((data[0] - 1) % 5) * 100 + data[1] % 100;
        data += 2;
        size -= 2;

        for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
                char *reason = NULL;
                DeliveryVerdict v = ops[i]->classify(status, (const char *) data, size, &reason);

                if (v < 0 || v >= _DELIVERY_VERDICT_MAX || !delivery_verdict_to_string(v))
                        abort();
                if ((v == DELIVERY_OK) != (reason == NULL))
                        abort();
                if (reason)
                        check_reason(reason);
                if (status >= 200 && status <= 299 && v != DELIVERY_OK)
                        abort();
                if (status == 0 && v != DELIVERY_RETRY)
                        abort();
                free(reason);
                /* without a reason wanted, the same verdict */
                if (ops[i]->classify(status, (const char *) data, size, NULL) != v)
                        abort();
        }
        return 0;
}
