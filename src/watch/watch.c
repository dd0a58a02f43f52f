/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The watcher table and what every watcher shares: allocation, the
 * context, counting and reporting. The sources themselves live in their
 * own files (unit-watch.c, md-watch.c, block-watch.c, link-watch.c). */

#include <stdarg.h>

#include "string-table.h"
#include "watch.h"

static const WatchVTable *const watch_vtables[_WATCH_SOURCE_MAX] = {
        [WATCH_UNITS] = &unit_watch_vtable,
        [WATCH_MD] = &md_watch_vtable,
        [WATCH_BLOCK] = &block_watch_vtable,
        [WATCH_LINKS] = &link_watch_vtable,
};

static const char *const watch_source_table[_WATCH_SOURCE_MAX] = {
        [WATCH_UNITS] = "units",
        [WATCH_MD] = "md",
        [WATCH_BLOCK] = "block",
        [WATCH_LINKS] = "links",
};

static const char *const watch_notice_table[_WATCH_NOTICE_MAX] = {
        [WATCH_READY] = "ready",
        [WATCH_LOST] = "lost",
        [WATCH_RESYNCED] = "resynced",
        [WATCH_BAD_INPUT] = "bad-input",
        [WATCH_FAILED] = "failed",
};

DEFINE_STRING_TABLE(watch_source, WatchSource, watch_source_table, _WATCH_SOURCE_MAX)
DEFINE_STRING_TABLE_TO_STRING(watch_notice, WatchNotice, watch_notice_table, _WATCH_NOTICE_MAX)

WatchSource watch_source_for_trigger(TriggerKind k) {
        switch (k) {
        case TRIGGER_UNIT:
                return WATCH_UNITS;
        case TRIGGER_RAID:
                return WATCH_MD;
        case TRIGGER_DEVICE:
                return WATCH_BLOCK;
        case TRIGGER_LINK:
                return WATCH_LINKS;
        default:
                return _WATCH_SOURCE_INVALID;
        }
}

int watch_new(WatchSource s, const WatchContext *ctx, Watch **ret) {
        const WatchVTable *vt;
        Watch *w;
        int r;

        if (s < 0 || s >= _WATCH_SOURCE_MAX || !ctx || !ctx->event || !ctx->on_event || !ret)
                return -EINVAL;
        vt = watch_vtables[s];
        if (!vt->start)
                return -EOPNOTSUPP;
        w = calloc(1, MAX(vt->object_size, sizeof(Watch)));
        if (!w)
                return -ENOMEM;
        w->vtable = vt;
        w->ctx = *ctx;
        r = vt->start(w);
        if (r < 0) {
                watch_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

Watch *watch_free(Watch *w) {
        if (!w)
                return NULL;
        if (w->vtable->done)
                w->vtable->done(w);
        free(w);
        return NULL;
}

int watch_resync(Watch *w) {
        if (!w->vtable->resync)
                return -EOPNOTSUPP;
        return w->vtable->resync(w);
}

const char *watch_name(const Watch *w) {
        return w->vtable->name;
}

void watch_emit(Watch *w, const TriggerEvent *ev) {
        w->stats.events++;
        if (ev->resynced)
                w->stats.resynced_events++;
        w->ctx.on_event(w, ev, w->ctx.userdata);
}

void watch_notice(Watch *w, WatchNotice n, int error, const char *format, ...) {
        char buf[512] = "";
        va_list ap;

        switch (n) {
        case WATCH_READY:
                w->ready = true;
                break;
        case WATCH_LOST:
                w->stats.lost++;
                break;
        case WATCH_RESYNCED:
                w->stats.resyncs++;
                break;
        case WATCH_BAD_INPUT:
                w->stats.bad_input++;
                break;
        default:
                break;
        }
        if (!w->ctx.on_notice)
                return;
        if (format) {
                va_start(ap, format);
                (void) vsnprintf(buf, sizeof(buf), format, ap);
                va_end(ap);
        }
        w->ctx.on_notice(w, n, error, buf, w->ctx.userdata);
}
