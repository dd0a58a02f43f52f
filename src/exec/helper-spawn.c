/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper-spawn.h"
#include "macro.h"

#define OUTPUT_MAX (16U << 20)

int helper_spawn(char *const argv[], const char *cwd, char **ret_output) {
        int pipefd[2] = { -1, -1 }, errpipe[2], status, child_errno = 0;
        _cleanup_free_ char *out = NULL;
        size_t n = 0, cap = 0;
        pid_t pid;
        ssize_t k;

        if (!argv || !argv[0])
                return -EINVAL;
        if (ret_output && pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        /* The child reports a failed chdir/exec through this pipe. */
        if (pipe2(errpipe, O_CLOEXEC) < 0) {
                k = -errno;
                if (ret_output) {
                        close(pipefd[0]);
                        close(pipefd[1]);
                }
                return (int) k;
        }
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                k = -errno;
                close(errpipe[0]);
                close(errpipe[1]);
                if (ret_output) {
                        close(pipefd[0]);
                        close(pipefd[1]);
                }
                return (int) k;
        }
        if (pid == 0) {
                int e;
                if (ret_output && dup2(pipefd[1], STDOUT_FILENO) < 0)
                        _exit(127);
                if (cwd && chdir(cwd) < 0) {
                        e = errno;
                        (void) !write(errpipe[1], &e, sizeof(e));
                        _exit(127);
                }
                execvp(argv[0], argv);
                e = errno;
                (void) !write(errpipe[1], &e, sizeof(e));
                _exit(127);
        }
        close(errpipe[1]);
        if (ret_output) {
                close(pipefd[1]);
                for (;;) {
                        if (n + 4096 + 1 > cap) {
                                char *p;
                                if (cap >= OUTPUT_MAX)
                                        break;
                                cap = cap ? cap * 2 : 8192;
                                p = realloc(out, cap);
                                if (!p)
                                        break;
                                out = p;
                        }
                        k = read(pipefd[0], out + n, cap - n - 1);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                break;
                        n += (size_t) k;
                }
                close(pipefd[0]);
        }
        do
                k = read(errpipe[0], &child_errno, sizeof(child_errno));
        while (k < 0 && errno == EINTR);
        close(errpipe[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (k == (ssize_t) sizeof(child_errno) && child_errno > 0)
                return -child_errno;
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        if (ret_output) {
                if (!out && !(out = malloc(1)))
                        return -ENOMEM;
                out[n] = 0;
                *ret_output = TAKE_PTR(out);
        }
        return WEXITSTATUS(status);
}
