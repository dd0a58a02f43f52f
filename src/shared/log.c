/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

int log_struct_internal(int priority, int error, const char *message_id, const char *run, const char *plan,
                        const char *step, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int saved = errno;

        if (priority > max_level)
                return error < 0 ? error : 0;

        errno = error < 0 ? -error : saved;
        va_start(ap, format);
        if (vasprintf(&msg, format, ap) < 0)
                msg = NULL;
        va_end(ap);
        errno = saved;
        if (!msg)
                return error < 0 ? error : -ENOMEM;

        {
                /* Only the fields that are set. */
                char *f[8] = {};
                struct iovec iov[8];
                size_t n = 0;
                bool ok = true;

#define FIELD(...)                                                      \
                do {                                                            \
                        if (ok && asprintf(&f[n], __VA_ARGS__) < 0) {           \
                                f[n] = NULL;                                    \
                                ok = false;                                     \
                        } else if (ok)                                          \
                                n++;                                            \
                } while (0)
                FIELD("MESSAGE=%s", msg);
                FIELD("PRIORITY=%i", priority);
                FIELD("SYSLOG_IDENTIFIER=salved");
                if (message_id)
                        FIELD("MESSAGE_ID=%s", message_id);
                if (run)
                        FIELD("SALVE_RUN=%s", run);
                if (plan)
                        FIELD("SALVE_PLAN=%s", plan);
                if (step)
                        FIELD("SALVE_STEP=%s", step);
                if (error < 0)
                        FIELD("ERRNO=%i", -error);
#undef FIELD
                if (ok) {
                        for (size_t i = 0; i < n; i++)
                                iov[i] = (struct iovec) { .iov_base = f[i], .iov_len = strlen(f[i]) };
                        (void) sd_journal_sendv(iov, (int) n);
                }
                for (size_t i = 0; i < n; i++)
                        free(f[i]);
        }
        if (!getenv("JOURNAL_STREAM"))
                fprintf(stderr, "salved: %s%s%s%s\n", run ? "[" : "", strempty(run), run ? "] " : "", msg);
        return error < 0 ? error : 0;
}
