/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <systemd/sd-daemon.h>

#include "journal-file.h"
#include "log.h"
#include "manager-bus.h"
#include "manager-reload.h"
#include "time-util.h"

/* Whatever loads must be able to run: the loader's budget for a plan's
 * source (plan-load.h) is carved out of the journal's record limit. */
_Static_assert(PLAN_RECORD_MAX == JOURNAL_PAYLOAD_MAX, "plan-load.h must budget the journal's record limit");

/* How many diagnostics a failed reload's D-Bus error quotes. */
#define RELOAD_ERRORS_QUOTED 5U

typedef struct Waiters {
        sd_bus_message **calls;
        size_t n;
} Waiters;

struct ManagerReload {
        Manager *manager;
        sd_event_source *defer;
        PlanSetLoader *loader;          /* non-NULL while a pass runs */
        PlanSet *old;                   /* the replaced set, freed slice by slice */
        Diagnostics diag;
        usec_t started;
        usec_t longest_slice;
        unsigned slices;
        Waiters current;                /* answered when this pass ends */
        Waiters next;                   /* asked during this pass: one more pass */
        bool again;
};

static void waiters_reply(Waiters *w, const sd_bus_error *e) {
        for (size_t i = 0; i < w->n; i++) {
                int k = e ? sd_bus_reply_method_error(w->calls[i], e) : sd_bus_reply_method_return(w->calls[i], NULL);
                if (k < 0)
                        log_warning_errno(k, "Failed to reply to Reload: %m, ignoring.");
                sd_bus_message_unref(w->calls[i]);
        }
        w->calls = mfree(w->calls);
        w->n = 0;
}

static void waiters_drop(Waiters *w) {
        for (size_t i = 0; i < w->n; i++)
                sd_bus_message_unref(w->calls[i]);
        w->calls = mfree(w->calls);
        w->n = 0;
}

static int waiters_add(Waiters *w, sd_bus_message *call) {
        sd_bus_message **n;

        if (!call)
                return 0;
        if (w->n >= RELOAD_CALLERS_MAX)
                return -EBUSY;
        n = realloc(w->calls, sizeof(sd_bus_message *) * (w->n + 1));
        if (!n)
                return -ENOMEM;
        w->calls = n;
        w->calls[w->n++] = sd_bus_message_ref(call);
        return 0;
}

ManagerReload *manager_reload_free(ManagerReload *r) {
        if (!r)
                return NULL;
        sd_event_source_disable_unref(r->defer);
        plan_set_loader_free(r->loader);
        plan_set_free(r->old);
        diagnostics_done(&r->diag);
        /* Callers still waiting get no reply: salved is going away, and
         * their calls fail when its bus connection closes. */
        waiters_drop(&r->current);
        waiters_drop(&r->next);
        free(r);
        return NULL;
}

bool manager_reload_in_progress(const Manager *m) {
        return m->reload && m->reload->loader;
}

/* FILE:LINE:COLUMN, or FILE alone for problems with the file as a whole
 * (line 0), as diagnostics_print() writes them. */
static const char *diag_where(const Diag *x, char *buf, size_t size) {
        if (x->line == 0)
                snprintf(buf, size, "%s", x->file);
        else
                snprintf(buf, size, "%s:%u:%u", x->file, x->line, x->column);
        return buf;
}

void manager_log_diagnostics(Diagnostics *d) {
        diagnostics_sort(d);
        for (size_t i = 0; i < d->n_items; i++) {
                const Diag *x = d->items + i;
                char where[PATH_MAX + 32];
                log_full_errno(x->level == DIAG_ERROR ? LOG_ERR : LOG_WARNING, 0, "%s: %s: %s",
                               diag_where(x, where, sizeof(where)), diag_level_to_string(x->level), x->message);
        }
}

/* "The plan files have errors, so the 12 plans loaded before are kept.
 * 3 errors: FILE:LINE:COLUMN: MESSAGE; ... (and 1 more; journalctl -u
 * salved)" */
static int errors_message(const Diagnostics *d, size_t n_kept, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0, quoted = 0;
        FILE *f = open_memstream(&s, &len);

        if (!f)
                return -ENOMEM;
        fprintf(f, "The plan files have errors, so the %zu plan%s loaded before %s kept. %zu error%s:", n_kept,
                n_kept == 1 ? "" : "s", n_kept == 1 ? "is" : "are", d->n_errors, d->n_errors == 1 ? "" : "s");
        for (size_t i = 0; i < d->n_items && quoted < RELOAD_ERRORS_QUOTED; i++) {
                const Diag *x = d->items + i;
                char where[PATH_MAX + 32];
                if (x->level != DIAG_ERROR)
                        continue;
                fprintf(f, "%s %s: %s", quoted ? ";" : "", diag_where(x, where, sizeof(where)), x->message);
                quoted++;
        }
        if (d->n_errors > quoted)
                fprintf(f, " (and %zu more; see journalctl -u salved)", d->n_errors - quoted);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

static int reload_begin(ManagerReload *r) {
        Manager *m = r->manager;
        int k;

        diagnostics_done(&r->diag);
        r->diag = (Diagnostics) {};
        k = plan_set_loader_new(m->plan_dirs ? (const char * const *) m->plan_dirs : plan_set_default_dirs,
                                m->plan_dirs ? 0 : PLAN_LOAD_SECURE, &r->diag, &r->loader);
        if (k < 0)
                return k;
        r->started = now_usec(CLOCK_MONOTONIC);
        r->longest_slice = 0;
        r->slices = 0;
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading %zu plan files...",
                          (unsigned long long) r->started, plan_set_loader_remaining(r->loader));
        log_info("Reloading plans: %zu files.", plan_set_loader_remaining(r->loader));
        return sd_event_source_set_enabled(r->defer, SD_EVENT_ON);
}

/* A pass ended (k < 0: it could not finish): install or keep, answer the
 * callers of this pass, and start the coalesced next pass if one was
 * asked for. */
static void reload_end(ManagerReload *r, int k) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(plan_set_freep) PlanSet *s = NULL;
        Manager *m = r->manager;
        size_t errors = r->diag.n_errors;

        if (k >= 0)
                k = plan_set_loader_finish(r->loader, &s);
        r->loader = plan_set_loader_free(r->loader);
        manager_log_diagnostics(&r->diag);
        log_info("Reload read its files in %.1f ms, in %u slices of at most %.1f ms.",
                 (double) (now_usec(CLOCK_MONOTONIC) - r->started) / USEC_PER_MSEC, r->slices,
                 (double) r->longest_slice / USEC_PER_MSEC);

        if (k < 0) {
                log_error_errno(k, "Reload failed: %m; keeping the %zu plans loaded before.", m->plans->n_plans);
                (void) sd_bus_error_set_errnof(&e, -k, "Reload failed: %s; the %zu plans loaded before are kept.",
                                               strerror(-k), m->plans->n_plans);
                (void) manager_reload(m, NULL, 0, NULL);
        } else {
                _cleanup_free_ char *msg = NULL;
                size_t kept = m->plans->n_plans;

                PlanSet *old = NULL;

                if (manager_reload(m, TAKE_PTR(s), errors, &old) < 0) {
                        if (errors_message(&r->diag, kept, &msg) < 0)
                                (void) sd_bus_error_set_errno(&e, ENOMEM);
                        else
                                (void) sd_bus_error_set(&e, SALVE_ERROR_PLAN_ERRORS, msg);
                }
                if (old) {
                        /* A pass that ends while the set before last is
                         * still being freed: rare, and small by then. */
                        plan_set_free(r->old);
                        r->old = old;
                }
        }
        waiters_reply(&r->current, sd_bus_error_is_set(&e) ? &e : NULL);

        r->current = r->next;
        r->next = (Waiters) {};
        if (r->again) {
                r->again = false;
                k = reload_begin(r);
                if (k >= 0)
                        return;
                log_error_errno(k, "Failed to start the next reload: %m");
                sd_bus_error_free(&e);
                (void) sd_bus_error_set_errnof(&e, -k, "Reload failed: %s.", strerror(-k));
                waiters_reply(&r->current, &e);
        }
        /* The defer source stays on while the old set is freed. */
        if (!r->old)
                (void) sd_event_source_set_enabled(r->defer, SD_EVENT_OFF);
}

static int on_reload_slice(sd_event_source *s, void *userdata) {
        ManagerReload *r = userdata;
        usec_t start = now_usec(CLOCK_MONOTONIC), took;
        int k;

        /* Freeing the replaced set comes first, in slices of its own. */
        if (r->old) {
                if (plan_set_free_some(r->old, RELOAD_SLICE_USEC))
                        r->old = plan_set_free(r->old);
                if (!r->old && !r->loader)
                        (void) sd_event_source_set_enabled(r->defer, SD_EVENT_OFF);
                return 0;
        }
        if (!r->loader)
                return sd_event_source_set_enabled(r->defer, SD_EVENT_OFF);

        k = plan_set_loader_step(r->loader, RELOAD_SLICE_USEC);
        took = now_usec(CLOCK_MONOTONIC) - start;
        r->longest_slice = MAX(r->longest_slice, took);
        r->slices++;
        if (k > 0)
                return 0; /* more files: the next slice comes after what else is pending */
        reload_end(r, k);
        return 0;
}

static int reload_new(Manager *m, ManagerReload **ret) {
        _cleanup_(manager_reload_freep) ManagerReload *r = calloc(1, sizeof(ManagerReload));
        int k;

        if (!r)
                return -ENOMEM;
        r->manager = m;
        k = sd_event_add_defer(m->event, &r->defer, on_reload_slice, r);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(r->defer, "reload-plans");
        /* Below everything else: a slice runs only when nothing else is
         * pending, so callers are answered between slices. */
        (void) sd_event_source_set_priority(r->defer, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(r->defer, SD_EVENT_OFF);
        *ret = TAKE_PTR(r);
        return 0;
}

int manager_reload_request(Manager *m, sd_bus_message *call) {
        ManagerReload *r;
        int k;

        if (!m->reload) {
                k = reload_new(m, &m->reload);
                if (k < 0)
                        return k;
        }
        r = m->reload;
        if (r->loader) {
                /* Coalesce: one more pass after this one serves them all. */
                k = waiters_add(&r->next, call);
                if (k < 0)
                        return k;
                r->again = true;
                return 0;
        }
        k = waiters_add(&r->current, call);
        if (k < 0)
                return k;
        k = reload_begin(r);
        if (k < 0) {
                /* The caller's reply is the caller's error path: forget it here. */
                if (r->current.n > 0)
                        sd_bus_message_unref(r->current.calls[--r->current.n]);
                return k;
        }
        return 0;
}
