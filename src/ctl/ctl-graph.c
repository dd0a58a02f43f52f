/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salvectl graph: a plan's step graph (ctl-plans.c) or a run's, as DOT,
 * or with -T FORMAT rendered by Graphviz's dot, which salvectl runs
 * itself: its DOT goes down a pipe, dot's picture to stdout or -o FILE. */

#include <fcntl.h>
#include <sys/wait.h>

#include "ctl-report.h"

static bool format_is_valid(const char *s) {
        /* dot's -T takes FORMAT[:RENDERER[:FORMATTER]]: nothing else reaches its argv */
        if (!*s || strlen(s) > 32)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      *s == ':' || *s == '_' || *s == '-'))
                        return false;
        return true;
}

/* dot's path, searched in $PATH as execvp would. */
static char *find_dot(void) {
        const char *path = getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin";

        for (const char *p = path; *p;) {
                size_t n = strcspn(p, ":");
                char *x = NULL;
                if (n > 0 && asprintf(&x, "%.*s/dot", (int) n, p) >= 0) {
                        if (access(x, X_OK) == 0)
                                return x;
                        free(x);
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return NULL;
}

int ctl_dot_open(Ctl *c, DotOutput *ret) {
        _cleanup_free_ char *dot = NULL, *t = NULL;
        int fds[2];
        pid_t pid;

        *ret = (DotOutput) { .f = stdout, .pid = 0 };
        if (!c->graph_format) {
                if (!c->output)
                        return 0;
                ret->f = fopen(c->output, "we");
                if (!ret->f) {
                        fprintf(stderr, "salvectl: cannot write %s: %m\n", c->output);
                        return -errno;
                }
                return 0;
        }
        if (!format_is_valid(c->graph_format)) {
                fprintf(stderr, "salvectl: -T \"%s\" is not a Graphviz output format (e.g. -Tsvg, -Tpng, -Tpdf).\n",
                        c->graph_format);
                return -EINVAL;
        }
        dot = find_dot();
        if (!dot) {
                fprintf(stderr, "salvectl: -T%s needs Graphviz's dot, which is not installed (apt install graphviz), "
                        "or leave out -T to get the DOT text.\n", c->graph_format);
                return -ENOENT;
        }
        if (asprintf(&t, "-T%s", c->graph_format) < 0)
                return -ENOMEM;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return -errno;
        }
        if (pid == 0) {
                char *args[] = { dot, t, c->output ? (char *) "-o" : NULL, c->output, NULL };
                if (dup2(fds[0], STDIN_FILENO) < 0)
                        _exit(127);
                execv(dot, args);
                fprintf(stderr, "salvectl: cannot run %s: %m\n", dot);
                _exit(127);
        }
        close(fds[0]);
        ret->f = fdopen(fds[1], "w");
        if (!ret->f) {
                close(fds[1]);
                (void) waitpid(pid, NULL, 0);
                return -ENOMEM;
        }
        ret->pid = pid;
        return 0;
}

int ctl_dot_close(Ctl *c, DotOutput *o) {
        int r = 0, status;

        if (o->f == stdout)
                return fflush(stdout) == 0 ? 0 : -errno;
        if (fclose(o->f) != 0)
                r = -errno;
        o->f = NULL;
        if (o->pid > 0) {
                while (waitpid(o->pid, &status, 0) < 0)
                        if (errno != EINTR)
                                return -errno;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        fprintf(stderr, "salvectl: dot -T%s failed (%s %d).\n", c->graph_format,
                                WIFEXITED(status) ? "exit status" : "signal",
                                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                        return -EPROTO;
                }
        }
        return r;
}

int verb_graph_run(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(run_report_freep) RunReport *rep = NULL;
        DotOutput out;
        int r;

        if (bus_connect(c, &bus) < 0)
                return EXIT_FAILURE;
        r = ctl_report_load(c, bus, argv[1], false, true, &rep);
        if (r == -ESRCH) {
                /* neither a plan nor, salved says, a run */
                fprintf(stderr, "salvectl: no plan or run named \"%s\" (salvectl plans, salvectl history).\n", argv[1]);
                return EXIT_NOT_FOUND;
        }
        if (r != 0)
                return r;
        if (ctl_dot_open(c, &out) < 0)
                return EXIT_FAILURE;
        r = run_report_write_dot(rep, out.f);
        if (ctl_dot_close(c, &out) < 0 || r < 0) {
                if (r < 0)
                        fprintf(stderr, "salvectl: failed to write the graph: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
