/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Measures what the engine itself costs per step, with no-op steps that
 * finish the moment they start, so nothing but the engine is timed:
 *   - loading and validating a plan (plan_load_buffer) of many exec steps;
 *   - the pure state machine: run_plan_next() + run_apply() until the run
 *     is quiet, then run_step_result(success) for running steps, until the
 *     run has finished;
 *   - the same through a RunStore (JSON encoding, journal append, apply),
 *     with the journal's fdatasync off and on.
 * Prints one figure per line as "engine.NAME: VALUE UNIT".
 *
 * Two graph shapes: "layered" (layers of W steps, each step needing two
 * steps of the layer before) and "chain" (each step needs the one before).
 * Every plan says `parallel: 64`.
 *
 * Plans hold at most PLAN_MAX_STEPS (1024) steps, so the real path (YAML ->
 * plan_load_buffer() -> run_new()) is measured up to 1024 steps, and the
 * 10,000-step figures come from a plan built in memory and checked with
 * plan_graph_check(), bypassing the YAML loader and its limit. The run
 * store cannot create such a run (run_new() loads the recorded plan text),
 * so for those the run is handed to the store directly and only the step
 * transitions go through run_store_commit().
 *
 * Two ways to feed results back:
 *   each   one result, then plan until quiet: what salved does when its
 *          steps finish one at a time (every result schedules
 *          process_run(), which calls run_plan_next() until it proposes
 *          nothing). The realistic worst case.
 *   batch  every running step's result, then plan until quiet: the fewest
 *          run_plan_next() calls the engine could get away with.
 * run_plan_next() and run_apply() each look at every step of the plan, so
 * a whole run costs O(steps^2): the per-step figures grow with the plan.
 * The "fit" lines fit us/step = a + b*steps to the loaded plans and
 * extrapolate to 10,000 steps, next to what the 10,000-step run measured. */

#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "diag.h"
#include "plan-graph.h"
#include "plan-load.h"
#include "run-store.h"
#include "run.h"

#define BENCH_PARALLEL 64
#define BENCH_LAYER_WIDTH 32            /* loaded layered plans: 32 wide */
#define BENCH_BIG_STEPS 10000
#define BENCH_BIG_WIDTH 100             /* 100 layers x 100 steps */
#define BENCH_EPOCH ((usec_t) 1700000000 * USEC_PER_SEC)

typedef enum Shape {
        SHAPE_LAYERED,
        SHAPE_CHAIN,
        _SHAPE_MAX,
} Shape;

static const char *const shape_names[_SHAPE_MAX] = {
        [SHAPE_LAYERED] = "layered",
        [SHAPE_CHAIN] = "chain",
};

typedef enum DriveMode {
        DRIVE_EACH,
        DRIVE_BATCH,
        _DRIVE_MAX,
} DriveMode;

static const char *const drive_names[_DRIVE_MAX] = {
        [DRIVE_EACH] = "each",
        [DRIVE_BATCH] = "batch",
};

typedef struct Options {
        const char *dir;
        bool skip_sync;
        bool skip_big;
        unsigned repeat;
} Options;

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The steps step i of a plan of this shape needs; returns how many. */
static size_t shape_needs(Shape shape, size_t width, size_t i, size_t ret[static 2]) {
        size_t base;

        if (shape == SHAPE_CHAIN) {
                if (i == 0)
                        return 0;
                ret[0] = i - 1;
                return 1;
        }
        if (i < width)
                return 0;
        base = (i / width - 1) * width;
        ret[0] = base + i % width;
        ret[1] = base + (i + 1) % width;
        return width > 1 ? 2 : 1;
}

static void step_id(char buf[static 24], size_t i) {
        snprintf(buf, 24, "s%05zu", i);
}

/* Step ids are "sNNNNN" in file order, so the driver finds a step's index
 * without a search of its own (which would be timed with the engine). */
static int step_index(const Run *r, const char *id, size_t *ret) {
        char *end;
        unsigned long v;

        if (!id || id[0] != 's')
                return -EINVAL;
        errno = 0;
        v = strtoul(id + 1, &end, 10);
        if (errno != 0 || *end != '\0' || v >= r->plan->n_steps || !streq(r->plan->steps[v].id, id))
                return -EINVAL;
        *ret = (size_t) v;
        return 0;
}

static int plan_yaml(Shape shape, size_t n, size_t width, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "plan: bench-%s-%zu\n"
                   "description: %zu no-op exec steps for bench-engine.\n"
                   "parallel: %d\n"
                   "steps:\n",
                shape_names[shape], n, n, BENCH_PARALLEL);
        for (size_t i = 0; i < n; i++) {
                size_t need[2], m = shape_needs(shape, width, i, need);
                char id[24];

                step_id(id, i);
                fprintf(f, "  - {id: %s, run: exec, with: {command: [/bin/true]}", id);
                for (size_t j = 0; j < m; j++) {
                        step_id(id, need[j]);
                        fprintf(f, "%s%s", j == 0 ? ", needs: [" : ", ", id);
                }
                fputs(m > 0 ? "]}\n" : "}\n", f);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* A plan built in memory the way the loader would build it, then checked
 * and ordered by the real graph code. Not limited to PLAN_MAX_STEPS. */
static int plan_build(Shape shape, size_t n, size_t width, Plan **ret, double *ret_check_sec) {
        _cleanup_(plan_freep) Plan *p = NULL;
        Diagnostics d = {};
        double t0;
        int r;

        p = calloc(1, sizeof(Plan));
        if (!p)
                return -ENOMEM;
        p->rto = USEC_INFINITY;
        p->parallel = BENCH_PARALLEL;
        p->concurrency = CONCURRENCY_JOIN;
        if (asprintf(&p->name, "bench-%s-%zu", shape_names[shape], n) < 0) {
                p->name = NULL;
                return -ENOMEM;
        }
        p->path = strdup("<synthetic>");
        p->steps = calloc(n, sizeof(Step));
        if (!p->path || !p->steps)
                return -ENOMEM;
        p->n_steps = n;
        for (size_t i = 0; i < n; i++) {
                Step *s = p->steps + i;
                size_t need[2], m = shape_needs(shape, width, i, need);
                char id[24];

                step_id(id, i);
                s->id = strdup(id);
                s->kind = STEP_EXEC;
                s->timeout = USEC_INFINITY;
                s->ack_timeout = USEC_INFINITY;
                s->idempotent = step_kind_default_idempotent(STEP_EXEC);
                s->retry_attempts = 1;
                s->on_failure = ON_FAILURE_ABORT;
                s->needs_pos = calloc(MAX(m, 1u), sizeof(SourcePos));
                if (!s->id || !s->needs_pos)
                        return -ENOMEM;
                if (m > 0) {
                        s->needs = calloc(m + 1, sizeof(char *));
                        if (!s->needs)
                                return -ENOMEM;
                        for (size_t j = 0; j < m; j++) {
                                step_id(id, need[j]);
                                s->needs[j] = strdup(id);
                                if (!s->needs[j])
                                        return -ENOMEM;
                        }
                }
        }

        t0 = now_sec();
        r = plan_graph_check(p, p->path, &d);
        *ret_check_sec = now_sec() - t0;
        diagnostics_done(&d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

/* A run of a plan built in memory (run_new() would reload the plan text). */
static int run_build(Plan *p, Run **ret) {
        return run_new_from_plan(p, "bench-1", "manual", BENCH_EPOCH, ret);
}

static int created_transition(const char *yaml, const char *name, Transition *ret) {
        return run_created_transition("bench-1", name, "<bench>", yaml, "manual", "bench-engine", BENCH_EPOCH,
                                      BENCH_EPOCH, ret);
}

/* Where transitions go: straight into the run, or through a store. */
typedef struct Sink {
        Run *run;
        RunStore *store;
} Sink;

static int sink_commit(Sink *k, const Transition *t) {
        if (k->store)
                return run_store_commit(k->store, t, NULL);
        return run_apply(k->run, t);
}

typedef struct DriveStats {
        uint64_t transitions;
        uint64_t plan_calls;
        size_t max_running;
        double sec;
} DriveStats;

/* Runs the run to the end, every step succeeding at once. */
static int drive(Sink *k, DriveMode mode, DriveStats *ret) {
        Run *r = k->run;
        size_t n = r->plan->n_steps;
        _cleanup_free_ size_t *queue = calloc(n, sizeof(size_t));     /* ring of RUNNING steps */
        size_t head = 0, len = 0;
        DriveStats st = {};
        usec_t now = BENCH_EPOCH;
        double t0;
        int q;

        if (!queue)
                return -ENOMEM;
        t0 = now_sec();
        while (!run_is_finished(r)) {
                size_t todo;

                /* Plan until quiet, as the manager's process_run() does. */
                while (!run_is_finished(r)) {
                        Transition *t = NULL;
                        size_t m = 0;
                        usec_t wake;

                        q = run_plan_next(r, ++now, &t, &m, &wake);
                        if (q < 0)
                                return q;
                        st.plan_calls++;
                        if (m == 0) {
                                free(t);
                                break;
                        }
                        for (size_t i = 0; i < m; i++) {
                                size_t idx;

                                q = sink_commit(k, t + i);
                                if (q >= 0 && t[i].kind == TRANSITION_STEP && t[i].state == STEP_RUNNING) {
                                        q = step_index(r, t[i].step_id, &idx);
                                        if (q >= 0) {
                                                queue[(head + len) % n] = idx;
                                                len++;
                                        }
                                }
                                if (q < 0) {
                                        transitions_free(t, m);
                                        return q;
                                }
                        }
                        st.transitions += m;
                        transitions_free(t, m);
                }
                if (run_is_finished(r))
                        break;
                if (len == 0)
                        return -EDEADLK;        /* nothing runs and nothing would start */
                st.max_running = MAX(st.max_running, len);

                for (todo = mode == DRIVE_EACH ? 1 : len; todo > 0; todo--) {
                        Transition t;

                        q = run_step_result(r, queue[head], true, "ok", ++now, 0.0, &t);
                        if (q < 0)
                                return q;
                        head = (head + 1) % n;
                        len--;
                        q = sink_commit(k, &t);
                        transition_done(&t);
                        if (q < 0)
                                return q;
                        st.transitions++;
                }
        }
        st.sec = now_sec() - t0;
        if (r->final_state != RUN_SUCCEEDED || run_count_steps(r, STEP_SUCCEEDED) != n)
                return -EPROTO;
        *ret = st;
        return 0;
}

static int fail(const char *what, int r) {
        fprintf(stderr, "bench-engine: %s: %s\n", what, strerror(-r));
        return r;
}

static void print_drive(const char *prefix, const char *label, size_t n, const DriveStats *st) {
        printf("%s.%s: %.2f us/step (%.0f transitions/s, %" PRIu64 " transitions, %" PRIu64
               " run_plan_next calls, %.1f ms total, at most %zu running)\n",
               prefix, label, st->sec * 1e6 / (double) n, (double) st->transitions / st->sec, st->transitions,
               st->plan_calls, st->sec * 1e3, st->max_running);
}

/* ---- (a) loading ---- */

static int bench_load(const Options *o, Shape shape, size_t n, size_t width) {
        _cleanup_free_ char *yaml = NULL;
        _cleanup_free_ char *first_error = NULL;
        size_t len;
        double best = 0;
        int r, result = 0;

        r = plan_yaml(shape, n, width, &yaml, &len);
        if (r < 0)
                return r;
        for (unsigned k = 0; k < o->repeat; k++) {
                _cleanup_(plan_freep) Plan *p = NULL;
                Diagnostics d = {};
                double t0 = now_sec(), sec;

                result = plan_load_buffer("<bench>", yaml, len, &d, &p);
                sec = now_sec() - t0;
                if (result < 0 && !first_error && d.n_items > 0)
                        first_error = strdup(d.items[0].message);
                diagnostics_done(&d);
                if (result < 0 && result != -EINVAL)
                        return result;
                if (k == 0 || sec < best)
                        best = sec;
        }
        if (result == 0)
                printf("engine.load.%s_%zu: %.2f ms (%.2f us/step, %zu bytes of YAML, best of %u)\n",
                       shape_names[shape], n, best * 1e3, best * 1e6 / (double) n, len, o->repeat);
        else
                printf("engine.load.%s_%zu: %.2f ms (REJECTED: \"%s\"; %zu bytes of YAML parsed, best of %u)\n",
                       shape_names[shape], n, best * 1e3, strna(first_error), len, o->repeat);
        return 0;
}

/* ---- (b) the pure engine on loaded plans ---- */

typedef struct Point {
        double n, us_per_step;
} Point;

static int bench_pure_loaded(Shape shape, size_t n, DriveMode mode, Point *ret) {
        _cleanup_free_ char *yaml = NULL, *name = NULL;
        _cleanup_(run_freep) Run *r = NULL;
        Transition c = {};
        DriveStats st;
        Sink k;
        size_t len;
        double t0, sec;
        char label[64];
        int q;

        q = plan_yaml(shape, n, BENCH_LAYER_WIDTH, &yaml, &len);
        if (q < 0)
                return q;
        if (asprintf(&name, "bench-%s-%zu", shape_names[shape], n) < 0)
                return -ENOMEM;
        q = created_transition(yaml, name, &c);
        if (q < 0)
                return q;
        t0 = now_sec();
        q = run_new(&c, &r);
        sec = now_sec() - t0;
        transition_done(&c);
        if (q < 0)
                return q;
        if (mode == DRIVE_EACH)
                printf("engine.run_new.%s_%zu: %.2f ms (parses the recorded plan)\n", shape_names[shape], n,
                       sec * 1e3);

        k = (Sink) { .run = r };
        q = drive(&k, mode, &st);
        if (q < 0)
                return q;
        snprintf(label, sizeof(label), "%s_%zu.%s", shape_names[shape], n, drive_names[mode]);
        print_drive("engine.pure", label, n, &st);
        *ret = (Point) { (double) n, st.sec * 1e6 / (double) n };
        return 0;
}

/* ---- (b) the pure engine on a 10,000-step plan built in memory ---- */

static int bench_pure_big(Shape shape, DriveMode mode, Point *ret) {
        _cleanup_(run_freep) Run *r = NULL;
        Plan *p = NULL;
        DriveStats st;
        Sink k;
        double check;
        char label[64];
        int q;

        q = plan_build(shape, BENCH_BIG_STEPS, BENCH_BIG_WIDTH, &p, &check);
        if (q < 0)
                return q;
        if (mode == DRIVE_EACH)
                printf("engine.graph_check.%s_%d: %.1f ms (plan_graph_check() alone, synthetic plan)\n",
                       shape_names[shape], BENCH_BIG_STEPS, check * 1e3);
        q = run_build(p, &r);
        if (q < 0)
                return q;
        k = (Sink) { .run = r };
        q = drive(&k, mode, &st);
        if (q < 0)
                return q;
        snprintf(label, sizeof(label), "%s_%d.%s", shape_names[shape], BENCH_BIG_STEPS, drive_names[mode]);
        print_drive("engine.pure", label, BENCH_BIG_STEPS, &st);
        *ret = (Point) { BENCH_BIG_STEPS, st.sec * 1e6 / (double) BENCH_BIG_STEPS };
        return 0;
}

/* Least squares y = a + b*x. */
static void fit_line(const Point *pts, size_t n, double *ret_a, double *ret_b) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0, den;

        for (size_t i = 0; i < n; i++) {
                sx += pts[i].n;
                sy += pts[i].us_per_step;
                sxx += pts[i].n * pts[i].n;
                sxy += pts[i].n * pts[i].us_per_step;
        }
        den = (double) n * sxx - sx * sx;
        *ret_b = den != 0 ? ((double) n * sxy - sx * sy) / den : 0;
        *ret_a = (sy - *ret_b * sx) / (double) n;
}

/* ---- (c) through a RunStore ---- */

typedef struct StoreDir {
        char dir[4096];
        char path[4200];
} StoreDir;

static int store_dir_make(const Options *o, StoreDir *ret) {
        if ((size_t) snprintf(ret->dir, sizeof(ret->dir), "%s/bench-engine-XXXXXX", o->dir) >= sizeof(ret->dir))
                return -ENAMETOOLONG;
        if (!mkdtemp(ret->dir))
                return negative_errno();
        snprintf(ret->path, sizeof(ret->path), "%s/runs.journal", ret->dir);
        return 0;
}

static void store_dir_remove(StoreDir *d) {
        char tmp[4300];

        snprintf(tmp, sizeof(tmp), "%s.tmp", d->path);
        (void) unlink(tmp);
        (void) unlink(d->path);
        (void) rmdir(d->dir);
}

/* Hands a run built in memory to the store, as if RUN_CREATED had made it. */
static int store_adopt(RunStore *s, Run *r) {
        Run **n = realloc(s->runs, sizeof(Run *) * (s->n_runs + 1));

        if (!n)
                return -ENOMEM;
        s->runs = n;
        s->runs[s->n_runs++] = r;
        return 0;
}

static int bench_store(const Options *o, Shape shape, size_t n, bool sync, bool big) {
        _cleanup_(run_store_freep) RunStore *s = NULL;
        _cleanup_free_ char *yaml = NULL, *name = NULL;
        StoreDir d;
        DriveStats st;
        Sink k;
        Run *r = NULL;
        char label[96];
        size_t len;
        double t0, replay;
        uint64_t bytes;
        int q;

        q = store_dir_make(o, &d);
        if (q < 0)
                return q;
        q = run_store_open(d.path, &s, NULL);
        if (q < 0)
                goto out;
        journal_file_set_sync(s->journal, sync);

        if (big) {
                Plan *p = NULL;
                double check;

                q = plan_build(shape, n, BENCH_BIG_WIDTH, &p, &check);
                if (q >= 0)
                        q = run_build(p, &r);
                if (q >= 0) {
                        q = store_adopt(s, r);
                        if (q < 0)
                                run_free(r);
                }
        } else {
                Transition c = {};

                q = plan_yaml(shape, n, BENCH_LAYER_WIDTH, &yaml, &len);
                if (q >= 0 && asprintf(&name, "bench-%s-%zu", shape_names[shape], n) < 0) {
                        name = NULL;
                        q = -ENOMEM;
                }
                if (q >= 0)
                        q = created_transition(yaml, name, &c);
                if (q >= 0)
                        q = run_store_commit(s, &c, &r);
                transition_done(&c);
        }
        if (q < 0)
                goto out;

        k = (Sink) { .run = r, .store = s };
        q = drive(&k, DRIVE_EACH, &st);
        if (q < 0)
                goto out;
        bytes = journal_file_size(s->journal);
        snprintf(label, sizeof(label), "%s_%zu.each.sync_%s", shape_names[shape], n, sync ? "on" : "off");
        print_drive("engine.store", label, n, &st);

        /* Replaying what was written: what salved does at every start. A
         * run built in memory cannot be replayed (no RUN_CREATED record). */
        if (!big && !sync) {
                RunStoreReplay stats;

                s = run_store_free(s);
                t0 = now_sec();
                q = run_store_open(d.path, &s, &stats);
                replay = now_sec() - t0;
                if (q < 0)
                        goto out;
                if (s->n_runs != 1 || !run_is_finished(s->runs[0]) || stats.bad_records > 0)
                        q = -EBADMSG;
                else
                        printf("engine.store.replay.%s_%zu: %.1f ms (%" PRIu64 " records, %.1f kB of journal)\n",
                               shape_names[shape], n, replay * 1e3, stats.records, (double) bytes / 1e3);
        }
out:
        s = run_store_free(s);
        store_dir_remove(&d);
        return q;
}

/* ---- main ---- */

static void help(void) {
        printf("bench-engine [OPTIONS]\n\n"
               "  -d --dir=DIR     where to put the run store's journal (/var/tmp)\n"
               "  -r --repeat=N    plan loads per figure, best taken (5)\n"
               "     --no-sync     skip the runs with fdatasync on\n"
               "     --no-big      skip the 10,000-step plans\n"
               "  -h --help\n");
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum { ARG_NO_SYNC = 0x100, ARG_NO_BIG };
        static const struct option options[] = {
                { "dir", required_argument, NULL, 'd' },
                { "repeat", required_argument, NULL, 'r' },
                { "no-sync", no_argument, NULL, ARG_NO_SYNC },
                { "no-big", no_argument, NULL, ARG_NO_BIG },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        char *end;
        unsigned long v;
        int c;

        while ((c = getopt_long(argc, argv, "d:r:h", options, NULL)) >= 0)
                switch (c) {
                case 'd':
                        o->dir = optarg;
                        break;
                case 'r':
                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end != '\0' || v == 0 || v > 1000)
                                return -EINVAL;
                        o->repeat = (unsigned) v;
                        break;
                case ARG_NO_SYNC:
                        o->skip_sync = true;
                        break;
                case ARG_NO_BIG:
                        o->skip_big = true;
                        break;
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                default:
                        return -EINVAL;
                }
        return 0;
}

static int run(const Options *o) {
        static const size_t sizes[] = { 256, 512, PLAN_MAX_STEPS };
        Point pts[_SHAPE_MAX][_DRIVE_MAX][ELEMENTSOF(sizes)];
        Point big[_SHAPE_MAX][_DRIVE_MAX] = {};
        struct rusage ru;
        int r;

        printf("# (a) plan_load_buffer: YAML parse, schema, graph check (PLAN_MAX_STEPS = %d)\n", PLAN_MAX_STEPS);
        for (Shape s = 0; s < _SHAPE_MAX; s++) {
                r = bench_load(o, s, PLAN_MAX_STEPS, BENCH_LAYER_WIDTH);
                if (r >= 0)
                        r = bench_load(o, s, BENCH_BIG_STEPS, BENCH_BIG_WIDTH);
                if (r < 0)
                        return fail("load", r);
        }
        fflush(stdout);

        printf("# (b) pure engine: run_plan_next + run_apply + run_step_result, no I/O\n");
        for (Shape s = 0; s < _SHAPE_MAX; s++)
                for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                        for (DriveMode m = 0; m < _DRIVE_MAX; m++) {
                                r = bench_pure_loaded(s, sizes[i], m, &pts[s][m][i]);
                                if (r < 0)
                                        return fail("pure engine", r);
                        }
        fflush(stdout);
        if (!o->skip_big) {
                printf("# (b) pure engine, %d steps: plan built in memory (over PLAN_MAX_STEPS), loader bypassed\n",
                       BENCH_BIG_STEPS);
                for (Shape s = 0; s < _SHAPE_MAX; s++)
                        for (DriveMode m = 0; m < _DRIVE_MAX; m++) {
                                r = bench_pure_big(s, m, &big[s][m]);
                                if (r < 0)
                                        return fail("pure engine (big)", r);
                                fflush(stdout);
                        }
        }
        printf("# (b) fit us/step = a + b*steps over the loaded plans (%zu..%d steps), extrapolated to %d\n",
               sizes[0], PLAN_MAX_STEPS, BENCH_BIG_STEPS);
        for (Shape s = 0; s < _SHAPE_MAX; s++)
                for (DriveMode m = 0; m < _DRIVE_MAX; m++) {
                        double a, b;

                        fit_line(pts[s][m], ELEMENTSOF(sizes), &a, &b);
                        printf("engine.fit.%s.%s: %.2f us/step at %d steps (a=%.3f us, b=%.5f us/step/step",
                               shape_names[s], drive_names[m], a + b * BENCH_BIG_STEPS, BENCH_BIG_STEPS, a, b);
                        if (big[s][m].n > 0)
                                printf("; measured: %.2f", big[s][m].us_per_step);
                        printf(")\n");
                }
        fflush(stdout);

        printf("# (c) through a RunStore in %s: JSON, journal append, apply (mode each)\n", o->dir);
        for (Shape s = 0; s < _SHAPE_MAX; s++)
                for (int sync = 0; sync < 2; sync++) {
                        if (sync && o->skip_sync)
                                continue;
                        r = bench_store(o, s, PLAN_MAX_STEPS, sync, false);
                        if (r < 0)
                                return fail("store", r);
                        fflush(stdout);
                }
        if (!o->skip_big)
                for (Shape s = 0; s < _SHAPE_MAX; s++) {
                        r = bench_store(o, s, BENCH_BIG_STEPS, false, true);
                        if (r < 0)
                                return fail("store (big)", r);
                        fflush(stdout);
                }

        if (getrusage(RUSAGE_SELF, &ru) >= 0)
                printf("engine.peak_rss: %ld kB\n", ru.ru_maxrss);
        return 0;
}

int main(int argc, char *argv[]) {
        Options o = { .dir = "/var/tmp", .repeat = 5 };

        if (parse_argv(argc, argv, &o) < 0) {
                help();
                return EXIT_FAILURE;
        }
        printf("# no-op exec steps, parallel: %d; layered plans %d wide (%d wide at %d steps), 2 needs each\n",
               BENCH_PARALLEL, BENCH_LAYER_WIDTH, BENCH_BIG_WIDTH, BENCH_BIG_STEPS);
        fflush(stdout);
        return run(&o) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
