/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A polkit authentication agent for salvectl on a terminal, as systemctl
 * starts one: pkttyagent registers for this process, salvectl waits until
 * it is ready, and polkit can then ask the user for a password when an
 * action needs it (auth_admin_keep). Nothing happens for root, off a
 * terminal, with --no-ask-password, or when pkttyagent is not installed. */

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "ctl.h"

#define PKTTYAGENT "/usr/bin/pkttyagent"

static pid_t agent_pid;

void polkit_agent_open(Ctl *c) {
        int fds[2];
        pid_t pid;
        char fd[16];

        if (agent_pid > 0 || !c->ask_password || geteuid() == 0 || !isatty(STDIN_FILENO) ||
            !isatty(STDOUT_FILENO) || access(PKTTYAGENT, X_OK) < 0)
                return;
        if (pipe2(fds, 0) < 0)
                return;
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return;
        }
        if (pid == 0) {
                /* The agent must inherit the notify fd, and only it. */
                close(fds[0]);
                snprintf(fd, sizeof(fd), "%i", fds[1]);
                execl(PKTTYAGENT, PKTTYAGENT, "--notify-fd", fd, "--fallback", (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        close(fds[1]);
        /* pkttyagent closes its end once it is registered. */
        (void) poll(&(struct pollfd) { .fd = fds[0], .events = POLLHUP }, 1, 10 * 1000);
        close(fds[0]);
        agent_pid = pid;
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        (void) waitpid(agent_pid, NULL, 0);
        agent_pid = 0;
}
