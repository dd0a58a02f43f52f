/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "plan-graph.h"
#include "string-util.h"

static int graph_error(Diagnostics *d, const char *file, SourcePos pos, const char *fmt, ...) _printf_(4, 5);
static int graph_error(Diagnostics *d, const char *file, SourcePos pos, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = diag_addv(d, DIAG_ERROR, file, pos.line, pos.column, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -EINVAL;
}

static int compare_by_id(const void *a, const void *b, void *userdata) {
        const Plan *p = userdata;
        size_t x = *(const size_t *) a, y = *(const size_t *) b;
        int c = strcmp(p->steps[x].id, p->steps[y].id);

        if (c != 0)
                return c;
        return x < y ? -1 : x > y;
}

/* The steps sorted by id: lookups by binary search, and duplicates sit
 * next to each other (in file order, thanks to the tie-break). */
static int build_index(Plan *p, const char *file, Diagnostics *d) {
        int r = 0, q;

        p->by_id = calloc(MAX(p->n_steps, 1u), sizeof(size_t));
        if (!p->by_id)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_steps; i++)
                p->by_id[i] = i;
        qsort_r(p->by_id, p->n_steps, sizeof(size_t), compare_by_id, p);

        for (size_t k = 1; k < p->n_steps; k++) {
                const Step *first, *s = p->steps + p->by_id[k];
                size_t f = k;

                while (f > 0 && streq(p->steps[p->by_id[f - 1]].id, s->id))
                        f--;
                if (f == k)
                        continue;
                first = p->steps + p->by_id[f];
                q = graph_error(d, file, s->pos, "duplicate step id \"%s\" (first defined at line %u)", s->id,
                                first->pos.line);
                if (q == -ENOMEM)
                        return q;
                r = q;
        }
        return r;
}

static int resolve_references(Plan *p, const char *file, Diagnostics *d) {
        _cleanup_free_ const char **ids = NULL;
        int r, q;

        r = build_index(p, file, d);
        if (r == -ENOMEM)
                return r;
        ids = calloc(p->n_steps + 1, sizeof(char *));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_steps; i++)
                ids[i] = p->steps[i].id;

        for (size_t i = 0; i < p->n_steps; i++) {
                Step *s = p->steps + i;
                size_t m = strv_length(s->needs);

                s->needs_index = calloc(MAX(m, 1u), sizeof(size_t));
                if (!s->needs_index)
                        return -ENOMEM;
                for (size_t j = 0; j < m; j++) {
                        ssize_t k = plan_find_step(p, s->needs[j]);
                        if (k < 0) {
                                const char *hint = string_closest(s->needs[j], ids);
                                q = graph_error(d, file, s->needs_pos[j], "step \"%s\": needs: step \"%s\" does "
                                                "not exist%s%s%s", strna(s->id), s->needs[j],
                                                hint ? " (did you mean \"" : "", strempty(hint),
                                                hint ? "\"?)" : "");
                                if (q == -ENOMEM)
                                        return q;
                                r = q;
                                s->needs_index[j] = SIZE_MAX;
                                continue;
                        }
                        for (size_t o = 0; o < j; o++)
                                if (streq(s->needs[o], s->needs[j])) {
                                        q = graph_error(d, file, s->needs_pos[j], "step \"%s\": needs: \"%s\" "
                                                        "is listed twice", strna(s->id), s->needs[j]);
                                        if (q == -ENOMEM)
                                                return q;
                                        r = q;
                                }
                        s->needs_index[j] = (size_t) k;
                }

                if (s->on_failure == ON_FAILURE_HANDLER) {
                        ssize_t k = plan_find_step(p, s->on_failure_step);
                        if (k < 0) {
                                const char *hint = string_closest(s->on_failure_step, ids);
                                q = graph_error(d, file, s->on_failure_pos, "step \"%s\": on-failure: \"%s\" is neither "
                                                "abort, continue nor a step%s%s%s", strna(s->id),
                                                s->on_failure_step, hint ? " (did you mean \"" : "",
                                                strempty(hint), hint ? "\"?)" : "");
                        } else if ((size_t) k == i)
                                q = graph_error(d, file, s->on_failure_pos, "step \"%s\": on-failure: a step cannot be its "
                                                "own handler", strna(s->id));
                        else {
                                s->on_failure_index = (size_t) k;
                                p->steps[k].is_handler = true;
                                q = 0;
                        }
                        if (q == -ENOMEM)
                                return q;
                        if (q < 0)
                                r = q;
                }
        }

        /* Handlers run only when the step they handle fails: nothing may wait for them. */
        for (size_t i = 0; i < p->n_steps; i++) {
                Step *s = p->steps + i;
                for (size_t j = 0; s->needs && s->needs[j]; j++) {
                        size_t k = s->needs_index[j];
                        if (k == SIZE_MAX || !p->steps[k].is_handler)
                                continue;
                        q = graph_error(d, file, s->needs_pos[j], "step \"%s\": needs: \"%s\" is an on-failure "
                                        "handler, which runs only when a step fails; nothing can need it",
                                        strna(s->id), s->needs[j]);
                        if (q == -ENOMEM)
                                return q;
                        r = q;
                }
        }
        return r;
}

/* Depth-first search for cycles. Each cycle is reported once, from the
 * step that closes it, as "a -> b -> c -> a" in `needs` order. */
enum { WHITE, GREY, BLACK };

typedef struct CycleSearch {
        const Plan *plan;
        const char *file;
        Diagnostics *diag;
        unsigned char *color;
        size_t *stack;
        size_t depth;
        int r;
} CycleSearch;

static int report_cycle(CycleSearch *c, size_t from) {
        const Plan *p = c->plan;
        _cleanup_free_ char *text = NULL;
        size_t len = 0, start;
        FILE *f;

        for (start = 0; start < c->depth && c->stack[start] != from; start++)
                ;
        f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        /* The stack runs dependent -> dependency, so print it as "needs" edges. */
        for (size_t i = start; i < c->depth; i++)
                fprintf(f, "%s -> ", p->steps[c->stack[i]].id);
        fputs(p->steps[from].id, f);
        if (fclose(f) != 0)
                return -ENOMEM;
        return graph_error(c->diag, c->file, p->steps[from].pos, "dependency cycle (each step needs the next): %s", text);
}

static int visit(CycleSearch *c, size_t i) {
        const Step *s = c->plan->steps + i;
        int r;

        c->color[i] = GREY;
        c->stack[c->depth++] = i;
        for (size_t j = 0; s->needs && s->needs[j]; j++) {
                size_t k = s->needs_index[j];
                if (k == SIZE_MAX)
                        continue;
                if (c->color[k] == GREY) {
                        r = report_cycle(c, k);
                        if (r == -ENOMEM)
                                return r;
                        c->r = r;
                } else if (c->color[k] == WHITE) {
                        r = visit(c, k);
                        if (r == -ENOMEM)
                                return r;
                }
        }
        c->depth--;
        c->color[i] = BLACK;
        return 0;
}

static int find_cycles(const Plan *p, const char *file, Diagnostics *d) {
        _cleanup_free_ unsigned char *color = calloc(p->n_steps, 1);
        _cleanup_free_ size_t *stack = calloc(p->n_steps + 1, sizeof(size_t));
        CycleSearch c = { .plan = p, .file = file, .diag = d };
        int r;

        if (!color || !stack)
                return -ENOMEM;
        c.color = color;
        c.stack = stack;
        for (size_t i = 0; i < p->n_steps; i++)
                if (color[i] == WHITE && p->steps[i].id) {
                        r = visit(&c, i); /* depth is bounded by PLAN_MAX_STEPS */
                        if (r < 0)
                                return r;
                }
        return c.r;
}

/* A min-heap of step indices: Kahn's algorithm takes the ready step that
 * comes first in the file, so the order is stable and reads like the file
 * where dependencies allow. */
static void heap_push(size_t *h, size_t *n, size_t v) {
        size_t i = (*n)++;

        for (; i > 0 && h[(i - 1) / 2] > v; i = (i - 1) / 2)
                h[i] = h[(i - 1) / 2];
        h[i] = v;
}

static size_t heap_pop(size_t *h, size_t *n) {
        size_t top = h[0], v = h[--*n], i = 0;

        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= *n)
                        break;
                if (c + 1 < *n && h[c + 1] < h[c])
                        c++;
                if (h[c] >= v)
                        break;
                h[i] = h[c];
                i = c;
        }
        if (*n > 0)
                h[i] = v;
        return top;
}

/* Reverse edges: who needs each step, and whom each handler handles. */
static int build_reverse_edges(Plan *p) {
        size_t n = MAX(p->n_steps, 1u);

        p->dependents = calloc(n, sizeof(size_t *));
        p->n_dependents = calloc(n, sizeof(size_t));
        p->handles = calloc(n, sizeof(size_t *));
        p->n_handles = calloc(n, sizeof(size_t));
        if (!p->dependents || !p->n_dependents || !p->handles || !p->n_handles)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = p->steps + i;
                for (size_t k = 0; s->needs && s->needs[k]; k++)
                        p->n_dependents[s->needs_index[k]]++;
                if (s->on_failure == ON_FAILURE_HANDLER)
                        p->n_handles[s->on_failure_index]++;
        }
        for (size_t i = 0; i < p->n_steps; i++) {
                p->dependents[i] = calloc(MAX(p->n_dependents[i], 1u), sizeof(size_t));
                p->handles[i] = calloc(MAX(p->n_handles[i], 1u), sizeof(size_t));
                if (!p->dependents[i] || !p->handles[i])
                        return -ENOMEM;
                p->n_dependents[i] = p->n_handles[i] = 0;
        }
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = p->steps + i;
                for (size_t k = 0; s->needs && s->needs[k]; k++) {
                        size_t j = s->needs_index[k];
                        p->dependents[j][p->n_dependents[j]++] = i;
                }
                if (s->on_failure == ON_FAILURE_HANDLER) {
                        size_t h = s->on_failure_index;
                        p->handles[h][p->n_handles[h]++] = i;
                }
        }
        return 0;
}

static int topological_order(Plan *p) {
        _cleanup_free_ size_t *missing = calloc(MAX(p->n_steps, 1u), sizeof(size_t));
        _cleanup_free_ size_t *heap = calloc(MAX(p->n_steps, 1u), sizeof(size_t));
        size_t n = 0, n_heap = 0;
        int r;

        r = build_reverse_edges(p);
        if (r < 0)
                return r;
        p->order = calloc(MAX(p->n_steps, 1u), sizeof(size_t));
        p->order_pos = calloc(MAX(p->n_steps, 1u), sizeof(size_t));
        if (!missing || !heap || !p->order || !p->order_pos)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_steps; i++) {
                missing[i] = strv_length(p->steps[i].needs);
                if (missing[i] == 0)
                        heap_push(heap, &n_heap, i);
        }
        while (n_heap > 0) {
                size_t i = heap_pop(heap, &n_heap);
                p->order_pos[i] = n;
                p->order[n++] = i;
                for (size_t k = 0; k < p->n_dependents[i]; k++)
                        if (--missing[p->dependents[i][k]] == 0)
                                heap_push(heap, &n_heap, p->dependents[i][k]);
        }
        return n == p->n_steps ? 0 : -ELOOP;
}

int plan_critical_path(const Plan *p, const bool *include, size_t **ret_path, size_t *ret_n, usec_t *ret_usec) {
        _cleanup_free_ usec_t *finish = calloc(p->n_steps, sizeof(usec_t));
        _cleanup_free_ size_t *prev = calloc(p->n_steps, sizeof(size_t));
        _cleanup_free_ size_t *path = NULL;
        size_t last = SIZE_MAX, n = 0;
        usec_t best = 0;

        if (!finish || !prev)
                return -ENOMEM;
        for (size_t o = 0; o < p->n_steps; o++) {
                size_t i = p->order[o];
                const Step *s = p->steps + i;
                usec_t start = 0;

                prev[i] = SIZE_MAX;
                if (include && !include[i])
                        continue;
                for (size_t k = 0; s->needs && s->needs[k]; k++) {
                        size_t j = s->needs_index[k];
                        if ((!include || include[j]) && finish[j] > start) {
                                start = finish[j];
                                prev[i] = j;
                        }
                }
                finish[i] = start + s->estimate;
                if (last == SIZE_MAX || finish[i] > best) {
                        best = finish[i];
                        last = i;
                }
        }

        for (size_t i = last; i != SIZE_MAX; i = prev[i])
                n++;
        path = calloc(MAX(n, 1u), sizeof(size_t));
        if (!path)
                return -ENOMEM;
        for (size_t i = last, k = n; i != SIZE_MAX; i = prev[i])
                path[--k] = i;
        *ret_path = TAKE_PTR(path);
        *ret_n = n;
        *ret_usec = best;
        return 0;
}

int plan_graph_check(Plan *p, const char *file, Diagnostics *d) {
        _cleanup_free_ bool *include = NULL;
        int r, q;

        for (size_t i = 0; i < p->n_steps; i++)
                if (!p->steps[i].id)
                        return -EINVAL; /* already reported */
        /* Unresolved names are skipped by the cycle search, so a plan with
         * both problems hears of both. */
        r = resolve_references(p, file, d);
        if (r == -ENOMEM)
                return r;
        q = find_cycles(p, file, d);
        if (q == -ENOMEM)
                return q;
        if (r < 0 || q < 0)
                return -EINVAL;
        r = topological_order(p);
        if (r < 0)
                return r;

        /* The critical path leaves out handlers: they run only on failure. */
        include = calloc(p->n_steps, sizeof(bool));
        if (!include)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_steps; i++)
                include[i] = !p->steps[i].is_handler;
        r = plan_critical_path(p, include, &p->critical, &p->n_critical, &p->critical_usec);
        if (r < 0)
                return r;

        if (p->rto != USEC_INFINITY && p->critical_usec > p->rto) {
                char a[FORMAT_DURATION_MAX], b[FORMAT_DURATION_MAX];
                _cleanup_free_ char *path = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&path, &len);

                if (!f)
                        return -ENOMEM;
                for (size_t i = 0; i < p->n_critical; i++)
                        fprintf(f, "%s%s", i > 0 ? " -> " : "", p->steps[p->critical[i]].id);
                if (fclose(f) != 0)
                        return -ENOMEM;
                r = diag_add(d, DIAG_WARNING, file, p->rto_pos.line, p->rto_pos.column,
                             "rto: the critical path takes %s by its estimates, longer than the rto of %s (%s)",
                             format_duration(a, p->critical_usec), format_duration(b, p->rto), path);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void dot_escape(FILE *f, const char *s) {
        for (; s && *s; s++) {
                if (*s == '"' || *s == '\\')
                        fputc('\\', f);
                if (*s == '\n') {
                        fputs("\\n", f);
                        continue;
                }
                fputc(*s, f);
        }
}

int plan_write_dot(const Plan *p, FILE *f) {
        _cleanup_free_ bool *critical = calloc(MAX(p->n_steps, 1u), sizeof(bool));

        if (!critical)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_critical; i++)
                critical[p->critical[i]] = true;

        fputs("digraph \"", f);
        dot_escape(f, p->name);
        fputs("\" {\n\trankdir=LR;\n\tnode [shape=box, style=rounded];\n", f);
        for (size_t o = 0; o < p->n_steps; o++) {
                const Step *s = p->steps + p->order[o];
                char est[FORMAT_DURATION_MAX];

                fputs("\t\"", f);
                dot_escape(f, s->id);
                fputs("\" [label=\"", f);
                dot_escape(f, s->id);
                fputs("\\n", f);
                dot_escape(f, step_kind_to_string(s->kind));
                if (s->estimate > 0)
                        fprintf(f, " ~%s", format_duration(est, s->estimate));
                fputc('"', f);
                if (step_kind_is_human(s->kind))
                        fputs(", shape=hexagon", f);
                if (s->is_handler)
                        fputs(", style=dashed", f);
                if (critical[p->order[o]])
                        fputs(", color=red, penwidth=2", f);
                fputs("];\n", f);
        }
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = p->steps + i;
                for (size_t k = 0; s->needs && s->needs[k]; k++) {
                        fputs("\t\"", f);
                        dot_escape(f, s->needs[k]);
                        fputs("\" -> \"", f);
                        dot_escape(f, s->id);
                        fputs("\";\n", f);
                }
                if (s->on_failure == ON_FAILURE_HANDLER) {
                        fputs("\t\"", f);
                        dot_escape(f, s->id);
                        fputs("\" -> \"", f);
                        dot_escape(f, s->on_failure_step);
                        fputs("\" [style=dashed, label=\"on failure\"];\n", f);
                }
        }
        fputs("}\n", f);
        return ferror(f) ? -EIO : 0;
}
