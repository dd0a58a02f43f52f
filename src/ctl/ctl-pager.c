/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salvectl on a terminal behaves as systemctl does: long output goes
 * through a pager (SYSTEMD_PAGER, then PAGER, then less, more), unless
 * --no-pager, and colours are on only for a terminal, never with
 * NO_COLOR, and as SYSTEMD_COLORS says when it is set. */

#include <fcntl.h>
#include <signal.h>
#include <strings.h>
#include <sys/wait.h>

#include "ctl.h"

static pid_t pager_pid;
static int saved_stdout = -1, saved_stderr = -1;

static int parse_bool(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

bool ctl_want_color(bool tty) {
        const char *v = getenv("SYSTEMD_COLORS");
        int b;

        if (v && *v) {
                /* As systemd: a boolean, or a colour mode (which means yes). */
                if (streq(v, "16") || streq(v, "256") || streq(v, "24bit"))
                        return true;
                b = parse_bool(v);
                if (b >= 0)
                        return b;
        }
        if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
                return false;
        return tty && !streq_ptr(getenv("TERM"), "dumb");
}

/* The pager's command line: NULL for none ("" or "cat" means no pager). */
static const char *pager_command(void) {
        const char *p = getenv("SYSTEMD_PAGER");

        if (!p)
                p = getenv("PAGER");
        if (p && (!*p || streq(p, "cat")))
                return NULL;
        return p;
}

static __attribute__((noreturn)) void pager_child(int fd, const char *cmd) {
        const char *less = getenv("SYSTEMD_LESS");

        if (dup2(fd, STDIN_FILENO) < 0)
                _exit(EXIT_FAILURE);
        if (fd != STDIN_FILENO)
                close(fd);
        /* less: quit if one screen (F), raw colours (R), chop long lines
         * (S), no termcap init (X), long prompt (M), quit on ^C (K). */
        if (setenv("LESS", less ?: "FRSXMK", !!less) < 0 || setenv("LESSCHARSET", "utf-8", 0) < 0)
                _exit(EXIT_FAILURE);
        (void) signal(SIGPIPE, SIG_DFL);
        if (cmd)
                execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
        else {
                execlp("less", "less", (char *) NULL);
                execlp("more", "more", (char *) NULL);
        }
        /* No pager: copy through, so that nothing is lost. */
        {
                char buf[4096];
                ssize_t n;
                while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
                        if (write(saved_stdout >= 0 ? saved_stdout : STDOUT_FILENO, buf, (size_t) n) != n)
                                break;
        }
        _exit(EXIT_SUCCESS);
}

void pager_open(const Ctl *c) {
        const char *cmd;
        int fds[2];
        pid_t pid;

        if (!c->pager || pager_pid > 0 || !isatty(STDOUT_FILENO))
                return;
        cmd = pager_command();
        if (!cmd && (getenv("SYSTEMD_PAGER") || getenv("PAGER")))
                return;
        fflush(stdout);
        if (pipe2(fds, O_CLOEXEC) < 0)
                return;
        saved_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                if (saved_stdout >= 0)
                        close(saved_stdout);
                saved_stdout = -1;
                return;
        }
        if (pid == 0) {
                close(fds[1]);
                pager_child(fds[0], cmd);
        }
        close(fds[0]);
        if (dup2(fds[1], STDOUT_FILENO) < 0) {
                close(fds[1]);
                return;
        }
        /* Errors go to the pager too while stderr is the same terminal. */
        if (isatty(STDERR_FILENO)) {
                saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
                (void) dup2(fds[1], STDERR_FILENO);
        }
        close(fds[1]);
        pager_pid = pid;
}

void pager_close(void) {
        if (pager_pid <= 0)
                return;
        fflush(stdout);
        fflush(stderr);
        /* EOF for the pager: put the terminal back on our side. */
        if (saved_stdout >= 0)
                (void) dup2(saved_stdout, STDOUT_FILENO);
        if (saved_stderr >= 0)
                (void) dup2(saved_stderr, STDERR_FILENO);
        while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        pager_pid = 0;
}
