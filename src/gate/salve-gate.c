/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salve-gate: the start of salve-gate@ESC(UNIT).service, which every unit
 * salve holds requires and is ordered after (salve-generator writes the
 * drop-ins). The gate's start completes, and UNIT's start job runs, when
 * salved releases UNIT: when /run/salve/gates/ready exists and
 * /run/salve/gates/UNIT does not. Until then it waits on inotify, says in
 * its status and the journal why UNIT is held, and nothing else: salved
 * writes the directory, the gate only reads it.
 *
 * Without a decision from salved ("ready" absent: salved did not start)
 * the gate keeps holding, or releases after a bound when
 * SALVE_GATE_FALLBACK=release-after:DURATION (from /etc/salve/gate.conf).
 * A hold salved decided (UNIT's file present) is never released by that
 * fallback. SIGUSR1 is an operator's release; SIGTERM while waiting fails
 * the start, so UNIT stays stopped. See salved(8), HOLDS AND GATES. */

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "config.h"
#include "gate-util.h"
#include "log.h"
#include "time-util.h"

#define GATE_REMIND_USEC USEC_PER_MINUTE
#define GATE_INOTIFY_MASK                                                                            \
        (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE_SELF |    \
         IN_MOVE_SELF | IN_ONLYDIR)

typedef struct Gate {
        sd_event *event;
        char *unit;             /* the held unit, unescaped */
        char *gate;             /* our own unit's name, for messages */
        const char *dir;
        int dir_fd;
        GatePolicy policy;
        usec_t started;         /* CLOCK_MONOTONIC */

        sd_event_source *inotify, *rewatch, *remind, *fallback;
        sd_event_source *sig_usr1, *sig_term, *sig_int;

        GateState state;        /* as last seen; _GATE_STATE_INVALID before the first look */
        char *reason;           /* the hold's text as last logged */
        bool fallback_due;      /* the fallback's time has come */
        bool done;
} Gate;

static Gate *gate_free(Gate *g) {
        if (!g)
                return NULL;
        sd_event_source_disable_unref(g->inotify);
        sd_event_source_disable_unref(g->rewatch);
        sd_event_source_disable_unref(g->remind);
        sd_event_source_disable_unref(g->fallback);
        sd_event_source_disable_unref(g->sig_usr1);
        sd_event_source_disable_unref(g->sig_term);
        sd_event_source_disable_unref(g->sig_int);
        sd_event_unref(g->event);
        safe_close(g->dir_fd);
        free(g->unit);
        free(g->gate);
        free(g->reason);
        free(g);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Gate *, gate_free);

/* One journal entry with the unit held (SALVE_UNIT=) and, for the events an
 * operator alerts on, a MESSAGE_ID; released_by (salved, fallback,
 * operator) for releases. Outside systemd the text goes to stderr too. */
_printf_(5, 6) static void gate_log(Gate *g, int priority, const char *message_id, const char *released_by,
                                    const char *format, ...) {
        _cleanup_free_ char *msg = NULL, *f_msg = NULL, *f_prio = NULL, *f_unit = NULL, *f_gate = NULL,
                            *f_id = NULL, *f_by = NULL;
        struct iovec iov[8];
        size_t n = 0;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return;
        if (asprintf(&f_msg, "MESSAGE=%s", msg) < 0 || asprintf(&f_prio, "PRIORITY=%i", priority) < 0 ||
            asprintf(&f_unit, "SALVE_UNIT=%s", g->unit) < 0 || asprintf(&f_gate, "SALVE_GATE=%s", g->gate) < 0)
                return;
        if (message_id && asprintf(&f_id, "MESSAGE_ID=%s", message_id) < 0)
                return;
        if (released_by && asprintf(&f_by, "SALVE_GATE_RELEASED_BY=%s", released_by) < 0)
                return;
#define ADD(s) iov[n++] = (struct iovec) { .iov_base = (char *) (s), .iov_len = strlen(s) }
        ADD(f_msg);
        ADD(f_prio);
        ADD("SYSLOG_IDENTIFIER=salve-gate");
        ADD(f_unit);
        ADD(f_gate);
        if (f_id)
                ADD(f_id);
        if (f_by)
                ADD(f_by);
#undef ADD
        (void) sd_journal_sendv(iov, (int) n);
        if (!getenv("JOURNAL_STREAM"))
                fprintf(stderr, "salve-gate: %s\n", msg);
}

static void gate_status(const char *format, ...) _printf_(1, 2);
static void gate_status(const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return;
        (void) sd_notifyf(false, "STATUS=%s", s);
}

static void gate_release(Gate *g, const char *by) {
        char buf[FORMAT_DURATION_MAX];

        if (g->done)
                return;
        g->done = true;
        if (streq(by, "salved")) {
                gate_status("released by salved");
                gate_log(g, LOG_INFO, SALVE_MESSAGE_GATE_RELEASED, by, "Released %s: salved let it go.", g->unit);
        } else if (streq(by, "fallback")) {
                format_duration(buf, g->policy.release_after);
                gate_status("released by the fallback: salved did not decide within %s", buf);
                gate_log(g, LOG_WARNING, SALVE_MESSAGE_GATE_RELEASED, by,
                         "Released %s WITHOUT salved's decision: salved did not decide within %s of the "
                         "gate's start (SALVE_GATE_FALLBACK=release-after:%s). Whatever salve was to do "
                         "before %s starts was not done.",
                         g->unit, buf, buf, g->unit);
        } else {
                gate_status("released by an operator (SIGUSR1)");
                gate_log(g, LOG_WARNING, SALVE_MESSAGE_GATE_RELEASED, by,
                         "Released %s by hand (SIGUSR1 to %s), without salved.", g->unit, g->gate);
        }
        (void) sd_event_exit(g->event, EXIT_SUCCESS);
}

static void gate_say_undecided(Gate *g, bool again) {
        char waited[FORMAT_DURATION_MAX], after[FORMAT_DURATION_MAX];
        usec_t now = now_usec(CLOCK_MONOTONIC);
        _cleanup_free_ char *policy = NULL;
        int r;

        format_duration(waited, now > g->started ? (now - g->started) / USEC_PER_SEC * USEC_PER_SEC : 0);
        if (g->policy.fallback == GATE_FALLBACK_RELEASE_AFTER)
                r = asprintf(&policy, "releasing it %s after the gate's start (SALVE_GATE_FALLBACK=release-after:%s)",
                             format_duration(after, g->policy.release_after), after);
        else
                r = asprintf(&policy, "keeping it held (SALVE_GATE_FALLBACK=hold)");
        if (r < 0)
                return;
        gate_status("waiting %s: salved has not decided (salved.service is not running?); %s", waited, policy);
        gate_log(g, LOG_WARNING, SALVE_MESSAGE_GATE_UNDECIDED, NULL,
                 "Holding %s%s: salved has not decided (salved.service is not running?), waited %s; %s. "
                 "To release it by hand: systemctl kill -s USR1 '%s'",
                 g->unit, again ? " still" : "", waited, policy, g->gate);
}

static int on_remind(sd_event_source *s, uint64_t usec, void *userdata) {
        Gate *g = userdata;

        gate_say_undecided(g, true);
        (void) sd_event_source_set_time(s, usec + GATE_REMIND_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

static int gate_remind(Gate *g, bool on) {
        uint64_t now;
        int r;

        if (!on)
                return g->remind ? sd_event_source_set_enabled(g->remind, SD_EVENT_OFF) : 0;
        r = sd_event_now(g->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        if (g->remind) {
                r = sd_event_source_set_time(g->remind, now + GATE_REMIND_USEC);
                return r < 0 ? r : sd_event_source_set_enabled(g->remind, SD_EVENT_ON);
        }
        r = sd_event_add_time(g->event, &g->remind, CLOCK_MONOTONIC, now + GATE_REMIND_USEC, USEC_PER_SEC,
                              on_remind, g);
        if (r < 0)
                return r;
        return sd_event_source_set_description(g->remind, "gate-remind");
}

/* Looks at the directory and acts on what changed. */
static void gate_evaluate(Gate *g) {
        _cleanup_free_ char *reason = NULL;
        GateState st;
        int r;

        if (g->done)
                return;
        r = g->dir_fd >= 0 ? gate_state_at(g->dir_fd, g->unit, &st) : -EBADF;
        if (r < 0) {
                /* Not knowing is not a release. */
                if (g->state != GATE_UNDECIDED)
                        gate_log(g, LOG_ERR, NULL, NULL, "Cannot read %s, keeping %s held: %s", g->dir, g->unit,
                                 strerror(-r));
                st = GATE_UNDECIDED;
        }

        switch (st) {
        case GATE_RELEASED:
                (void) gate_remind(g, false);
                gate_release(g, "salved");
                break;

        case GATE_HELD:
                (void) gate_remind(g, false);
                r = gate_reason_at(g->dir_fd, g->unit, &reason);
                if (r == -ENOENT) {
                        /* Gone between the two looks: look again. */
                        g->state = _GATE_STATE_INVALID;
                        gate_evaluate(g);
                        return;
                }
                if (r < 0 && asprintf(&reason, "held by salved (the reason cannot be read: %s)", strerror(-r)) < 0)
                        reason = NULL;
                if (!reason)
                        break;
                if (g->state != GATE_HELD || !streq_ptr(reason, g->reason)) {
                        gate_status("%s", reason);
                        gate_log(g, LOG_NOTICE, SALVE_MESSAGE_GATE_WAITING, NULL, "Holding %s: %s", g->unit, reason);
                        free(g->reason);
                        g->reason = TAKE_PTR(reason);
                }
                break;

        case GATE_UNDECIDED:
        default:
                if (g->fallback_due) {
                        gate_release(g, "fallback");
                        break;
                }
                if (g->state != GATE_UNDECIDED) {
                        gate_say_undecided(g, false);
                        (void) gate_remind(g, true);
                }
                break;
        }
        g->state = st;
}

static int on_fallback(sd_event_source *s, uint64_t usec, void *userdata) {
        Gate *g = userdata;

        g->fallback_due = true;
        if (g->state == GATE_HELD)
                gate_log(g, LOG_NOTICE, NULL, NULL,
                         "The fallback's time has come, but salved holds %s: it stays held until salved "
                         "releases it.", g->unit);
        gate_evaluate(g);
        return 0;
}

static int gate_watch(Gate *g);

static int on_rewatch(sd_event_source *s, void *userdata) {
        Gate *g = userdata;
        int r;

        r = gate_watch(g);
        if (r < 0)
                gate_log(g, LOG_ERR, NULL, NULL, "Cannot watch %s again, keeping %s held: %s", g->dir, g->unit,
                         strerror(-r));
        gate_evaluate(g);
        return 0;
}

static void gate_rewatch_later(Gate *g) {
        if (g->rewatch)
                return;
        g->dir_fd = safe_close(g->dir_fd);
        if (g->inotify)
                (void) sd_event_source_set_enabled(g->inotify, SD_EVENT_OFF);
        /* Not from inside the inotify callback that found out. */
        if (sd_event_add_defer(g->event, &g->rewatch, on_rewatch, g) >= 0)
                (void) sd_event_source_set_description(g->rewatch, "gate-rewatch");
}

static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Gate *g = userdata;

        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
                gate_rewatch_later(g);
                return 0;
        }
        /* Only "ready", our unit's file and lost events (IN_Q_OVERFLOW,
         * no name) can change the answer. */
        if (ev->len > 0 && !streq(ev->name, GATE_READY_NAME) && !streq(ev->name, g->unit))
                return 0;
        gate_evaluate(g);
        return 0;
}

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST && errno != EROFS && errno != EACCES)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int gate_watch(Gate *g) {
        int r;

        g->rewatch = sd_event_source_disable_unref(g->rewatch);
        g->inotify = sd_event_source_disable_unref(g->inotify);
        g->dir_fd = safe_close(g->dir_fd);

        /* salved creates the directory, but the gate may come first (and
         * the unit's RuntimeDirectory= already made it). */
        r = mkdir_p(g->dir, 0755);
        if (r < 0)
                return r;
        r = sd_event_add_inotify(g->event, &g->inotify, g->dir, GATE_INOTIFY_MASK, on_inotify, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(g->inotify, "gate-inotify");
        /* Opened after the watch exists, so nothing is missed between. */
        g->dir_fd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (g->dir_fd < 0)
                return -errno;
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Gate *g = userdata;

        if (g->done)
                return 0;
        if (si->ssi_signo == SIGUSR1) {
                gate_release(g, "operator");
                return 0;
        }
        g->done = true;
        gate_status("stopped while holding %s", g->unit);
        gate_log(g, LOG_NOTICE, NULL, NULL, "Stopped while holding %s (%s): its start job fails, it stays stopped.",
                 g->unit, strsignal((int) si->ssi_signo));
        return sd_event_exit(g->event, EXIT_FAILURE);
}

static void help(void) {
        printf("salve-gate INSTANCE\n\n"
               "Waits until salved releases the unit INSTANCE names (escaped as in\n"
               "salve-gate@INSTANCE.service), then exits 0. Run by salve-gate@.service.\n\n"
               "Environment: SALVE_GATE_FALLBACK=hold|release-after:DURATION (default hold)\n"
               "\nSee salved(8), HOLDS AND GATES.\n");
}

int main(int argc, char **argv) {
        _cleanup_(gate_freep) Gate *g = NULL;
        const char *policy;
        sigset_t mask;
        int r;

        if (argc == 2 && (streq(argv[1], "-h") || streq(argv[1], "--help"))) {
                help();
                return EXIT_SUCCESS;
        }
        if (argc == 2 && streq(argv[1], "--version")) {
                printf("salve-gate %s\n", SALVE_VERSION);
                return EXIT_SUCCESS;
        }
        if (argc != 2) {
                fprintf(stderr, "salve-gate: expected one argument, the escaped unit name (see --help)\n");
                return 2;
        }

        g = calloc(1, sizeof(Gate));
        if (!g)
                return EXIT_FAILURE;
        g->dir_fd = -EBADF;
        g->state = _GATE_STATE_INVALID;
        g->started = now_usec(CLOCK_MONOTONIC);
        /* For tests only; the unit's sandbox exposes nothing else. */
        g->dir = getenv("SALVE_GATE_DIR") ?: GATE_DIR;

        r = gate_unescape(argv[1], &g->unit);
        if (r < 0) {
                fprintf(stderr, "salve-gate: \"%s\" does not name a unit salve can hold\n", argv[1]);
                return 2;
        }
        if (asprintf(&g->gate, GATE_UNIT_PREFIX "%s" GATE_UNIT_SUFFIX, argv[1]) < 0)
                return EXIT_FAILURE;

        policy = getenv("SALVE_GATE_FALLBACK");
        if (gate_policy_parse(policy, &g->policy) < 0) {
                gate_log(g, LOG_ERR, NULL, NULL,
                         "SALVE_GATE_FALLBACK=\"%s\" is not \"hold\" or \"release-after:DURATION\": keeping %s "
                         "held until salved decides.", policy, g->unit);
                g->policy = (GatePolicy) { .fallback = GATE_FALLBACK_HOLD };
        }

        r = sd_event_default(&g->event);
        if (r < 0)
                goto fail;
        (void) sd_event_set_watchdog(g->event, true);
        if (sigemptyset(&mask) < 0 || sigaddset(&mask, SIGUSR1) < 0 || sigaddset(&mask, SIGTERM) < 0 ||
            sigaddset(&mask, SIGINT) < 0 || sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                r = negative_errno();
                goto fail;
        }
        if ((r = sd_event_add_signal(g->event, &g->sig_usr1, SIGUSR1, on_signal, g)) < 0 ||
            (r = sd_event_add_signal(g->event, &g->sig_term, SIGTERM, on_signal, g)) < 0 ||
            (r = sd_event_add_signal(g->event, &g->sig_int, SIGINT, on_signal, g)) < 0)
                goto fail;

        if (g->policy.fallback == GATE_FALLBACK_RELEASE_AFTER) {
                r = sd_event_add_time(g->event, &g->fallback, CLOCK_MONOTONIC, g->started + g->policy.release_after,
                                      10 * USEC_PER_MSEC, on_fallback, g);
                if (r < 0)
                        goto fail;
                (void) sd_event_source_set_description(g->fallback, "gate-fallback");
        }

        r = gate_watch(g);
        if (r < 0)
                /* Without a watch nothing can release the unit but an
                 * operator: hold, and say so. */
                gate_log(g, LOG_ERR, NULL, NULL, "Cannot watch %s, keeping %s held: %s", g->dir, g->unit,
                         strerror(-r));
        gate_evaluate(g);

        r = sd_event_loop(g->event);
        if (r < 0)
                goto fail;
        return r;

fail:
        gate_log(g, LOG_ERR, NULL, NULL, "Gate for %s failed, %s stays held: %s", g->unit, g->unit, strerror(-r));
        return EXIT_FAILURE;
}
