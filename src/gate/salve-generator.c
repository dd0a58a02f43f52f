/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* salve-generator: a systemd generator (systemd.generator(7)) that makes
 * every unit in any plan's `holds:` wait for its gate. For each such unit
 * U it writes NORMAL/U.d/50-salve-hold.conf with Requires= and After= on
 * salve-gate@ESC(U).service. A plan with armed: false holds nothing (no
 * trigger starts it, and salved computes no holds for its runs), so it
 * gets no drop-ins: an unarmed example never gates a real service, not
 * even while salved is down.
 *
 * It runs early at every boot and daemon-reload, so it reads the plan
 * directories with the plan loader and nothing else: no D-Bus, no /var,
 * no journal. Problems go to stderr (systemd passes them on to the kernel
 * log or the journal), and never stop the other units' drop-ins: a plan
 * with errors is skipped, a unit that cannot be gated without an ordering
 * cycle is refused. It fails only when it can write nothing at all.
 *
 * SALVE_PLAN_DIRS=DIR:DIR... replaces the system directories (and their
 * ownership checks), for tests and benchmarks, as salved's --plans-dir. */

#include <fcntl.h>
#include <sys/stat.h>

#include "gate-util.h"
#include "plan-set.h"
#include "strv.h"

typedef struct Hold {
        char *unit;
        char **plans;           /* the plan files that hold it */
} Hold;

typedef struct Holds {
        Hold *items;
        size_t n;
} Holds;

static void holds_done(Holds *h) {
        for (size_t i = 0; i < h->n; i++) {
                free(h->items[i].unit);
                strv_free(h->items[i].plans);
        }
        free(h->items);
}

static int holds_add(Holds *h, const char *unit, const char *plan) {
        Hold *n;

        for (size_t i = 0; i < h->n; i++)
                if (streq(h->items[i].unit, unit))
                        return strv_contains(h->items[i].plans, plan) ? 0 : strv_extend(&h->items[i].plans, plan);
        n = realloc(h->items, sizeof(Hold) * (h->n + 1));
        if (!n)
                return -ENOMEM;
        h->items = n;
        n += h->n;
        *n = (Hold) { .unit = strdup(unit) };
        if (!n->unit)
                return -ENOMEM;
        h->n++;
        return strv_extend(&n->plans, plan);
}

/* A path in a comment line: nothing that could end the line. */
static void fputs_comment(const char *s, FILE *f) {
        for (; *s; s++)
                fputc((unsigned char) *s < ' ' || *s == 0x7f ? '?' : *s, f);
}

static int write_dropin(int normal_fd, const Hold *h) {
        _cleanup_free_ char *gate = NULL, *dir = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_fclose_ FILE *f = NULL;
        int r;

        r = gate_unit_name(h->unit, &gate);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s.d", h->unit) < 0 || asprintf(&path, "%s/" GATE_DROPIN_NAME, dir) < 0)
                return -ENOMEM;
        if (mkdirat(normal_fd, dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(normal_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f)
                return -errno;
        TAKE_FD(fd);

        fputs("# Written by salve-generator: salve holds this unit for the plan(s)\n", f);
        STRV_FOREACH(p, h->plans) {
                fputs("#   ", f);
                fputs_comment(*p, f);
                fputc('\n', f);
        }
        fprintf(f, "# It starts once salved releases it: see salved(8), HOLDS AND GATES.\n"
                   "[Unit]\n"
                   "Requires=%s\n"
                   "After=%s\n",
                gate, gate);
        if (fflush(f) != 0 || ferror(f))
                return negative_errno();
        return 0;
}

static int split_dirs(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *p = s;

        for (;;) {
                size_t n = strcspn(p, ":");
                char *d;

                if (n > 0) {
                        d = strndup(p, n);
                        if (!d || strv_push(&l, d) < 0)
                                return -ENOMEM;
                }
                if (!p[n])
                        break;
                p += n + 1;
        }
        if (!l && strv_extend(&l, "/nonexistent") < 0) /* "" names no directory at all */
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_(plan_set_freep) PlanSet *set = NULL;
        _cleanup_strv_free_ char **env_dirs = NULL;
        _cleanup_close_ int normal_fd = -EBADF;
        const char *const *dirs = plan_set_default_dirs;
        PlanLoadFlags flags = PLAN_LOAD_SECURE;
        Diagnostics d = {};
        Holds holds = {};
        size_t written = 0, failed = 0;
        const char *env;
        int r;

        /* systemd passes three directories; one is enough for tests. */
        if (argc != 2 && argc != 4) {
                fprintf(stderr, "salve-generator: usage: salve-generator NORMAL-DIR [EARLY-DIR LATE-DIR]\n");
                return EXIT_FAILURE;
        }
        normal_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (normal_fd < 0) {
                fprintf(stderr, "salve-generator: cannot open %s: %m\n", argv[1]);
                return EXIT_FAILURE;
        }

        env = getenv("SALVE_PLAN_DIRS");
        if (env) {
                if (split_dirs(env, &env_dirs) < 0)
                        goto oom;
                dirs = (const char *const *) env_dirs;
                flags = 0;
        }

        r = plan_set_load_dirs(dirs, flags, &d, &set);
        if (r < 0)
                goto oom;
        if (d.n_errors > 0) {
                fprintf(stderr, "salve-generator: plans with errors are skipped, their holds not applied:\n");
                diagnostics_print(&d, stderr);
        }
        diagnostics_done(&d);

        for (size_t i = 0; i < set->n_plans; i++) {
                const Plan *p = set->plans[i];

                if (!p->armed)
                        continue;
                STRV_FOREACH(u, p->holds) {
                        const char *why;

                        if (!gate_unit_can_be_held(*u, &why)) {
                                fprintf(stderr, "salve-generator: %s: %s cannot be held (%s); not gating it\n",
                                        p->path, *u, why);
                                continue;
                        }
                        if (holds_add(&holds, *u, p->path) < 0)
                                goto oom;
                }
        }

        for (size_t i = 0; i < holds.n; i++) {
                r = write_dropin(normal_fd, &holds.items[i]);
                if (r < 0) {
                        fprintf(stderr, "salve-generator: cannot write the drop-in of %s in %s: %s\n",
                                holds.items[i].unit, argv[1], strerror(-r));
                        failed++;
                } else
                        written++;
        }
        holds_done(&holds);
        return failed > 0 && written == 0 ? EXIT_FAILURE : EXIT_SUCCESS;

oom:
        diagnostics_done(&d);
        holds_done(&holds);
        fprintf(stderr, "salve-generator: out of memory\n");
        return EXIT_FAILURE;
}
