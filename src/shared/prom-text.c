/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Prometheus' text format: see prom-text.h. Families live in an array,
 * sorted by name at render time; each family keeps its series sorted by
 * label values, so lookups are a binary search and the output needs no
 * sort of its own. */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "prom-text.h"
#include "string-table.h"
#include "string-util.h"

typedef struct PromSeries {
        char **values;                  /* n_labels label values */
        double value;                   /* counters, gauges */
        uint64_t *buckets;              /* histograms: per bucket, not cumulative */
        uint64_t count;
        double sum;
} PromSeries;

struct PromFamily {
        char *name, *help;
        PromType type;
        char **labels;
        size_t n_labels;
        double *bounds;
        size_t n_bounds;
        PromSeries **series;
        size_t n_series;
};

struct PromRegistry {
        PromFamily **families;
        size_t n_families;
};

static const char *const prom_type_table[_PROM_TYPE_MAX] = {
        [PROM_COUNTER] = "counter",
        [PROM_GAUGE] = "gauge",
        [PROM_HISTOGRAM] = "histogram",
};

DEFINE_STRING_TABLE_TO_STRING(prom_type, PromType, prom_type_table, _PROM_TYPE_MAX);

static void series_free(PromSeries *s, size_t n_labels) {
        if (!s)
                return;
        for (size_t i = 0; i < n_labels; i++)
                free(s->values[i]);
        free(s->values);
        free(s->buckets);
        free(s);
}

void prom_family_clear(PromFamily *f) {
        for (size_t i = 0; i < f->n_series; i++)
                series_free(f->series[i], f->n_labels);
        f->series = mfree(f->series);
        f->n_series = 0;
}

size_t prom_family_size(const PromFamily *f) {
        return f->n_series;
}

static void family_free(PromFamily *f) {
        if (!f)
                return;
        prom_family_clear(f);
        for (size_t i = 0; i < f->n_labels; i++)
                free(f->labels[i]);
        free(f->labels);
        free(f->bounds);
        free(f->name);
        free(f->help);
        free(f);
}

int prom_registry_new(PromRegistry **ret) {
        PromRegistry *r = calloc(1, sizeof(PromRegistry));

        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

PromRegistry *prom_registry_free(PromRegistry *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_families; i++)
                family_free(r->families[i]);
        free(r->families);
        return mfree(r);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; no ':' in label names. */
static bool name_ok(const char *s, bool colon_ok) {
        if (!s || !*s || (*s >= '0' && *s <= '9'))
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      *s == '_' || (colon_ok && *s == ':')))
                        return false;
        return true;
}

static bool name_taken(const PromRegistry *r, const char *name) {
        for (size_t i = 0; i < r->n_families; i++) {
                const PromFamily *f = r->families[i];
                size_t n = strlen(f->name);

                if (streq(f->name, name))
                        return true;
                /* A histogram owns NAME_bucket, NAME_sum and NAME_count. */
                if (f->type == PROM_HISTOGRAM && string_has_prefix(name, f->name) &&
                    (streq(name + n, "_bucket") || streq(name + n, "_sum") || streq(name + n, "_count")))
                        return true;
        }
        return false;
}

int prom_family_new(PromRegistry *r, const char *name, const char *help, PromType type, const char *const *labels,
                    const double *buckets, size_t n_buckets, PromFamily **ret) {
        PromFamily *f, **n;
        size_t n_labels = 0;

        if (!r || !name_ok(name, true) || type < 0 || type >= _PROM_TYPE_MAX)
                return -EINVAL;
        for (; labels && labels[n_labels]; n_labels++) {
                const char *l = labels[n_labels];
                if (n_labels >= PROM_LABELS_MAX || !name_ok(l, false) || string_has_prefix(l, "__") ||
                    (type == PROM_HISTOGRAM && streq(l, "le")))
                        return -EINVAL;
                for (size_t j = 0; j < n_labels; j++)
                        if (streq(labels[j], l))
                                return -EINVAL;
        }
        if (type == PROM_HISTOGRAM) {
                if (n_buckets > PROM_BUCKETS_MAX || (n_buckets > 0 && !buckets))
                        return -EINVAL;
                for (size_t i = 0; i < n_buckets; i++)
                        if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
                                return -EINVAL;
        } else if (n_buckets > 0)
                return -EINVAL;
        if (name_taken(r, name))
                return -EEXIST;
        if (type == PROM_HISTOGRAM)
                for (size_t i = 0; i < r->n_families; i++) {
                        const char *o = r->families[i]->name;
                        size_t l = strlen(name);
                        if (string_has_prefix(o, name) &&
                            (streq(o + l, "_bucket") || streq(o + l, "_sum") || streq(o + l, "_count")))
                                return -EEXIST;
                }

        f = calloc(1, sizeof(PromFamily));
        if (!f)
                return -ENOMEM;
        f->type = type;
        f->name = strdup(name);
        f->help = strdup(help ?: "");
        f->labels = calloc(MAX(n_labels, 1U), sizeof(char *));
        f->bounds = calloc(MAX(n_buckets, 1U), sizeof(double));
        if (!f->name || !f->help || !f->labels || !f->bounds)
                goto oom;
        for (; f->n_labels < n_labels; f->n_labels++)
                if (!(f->labels[f->n_labels] = strdup(labels[f->n_labels])))
                        goto oom;
        if (n_buckets > 0)
                memcpy(f->bounds, buckets, n_buckets * sizeof(double));
        f->n_bounds = n_buckets;

        n = realloc(r->families, (r->n_families + 1) * sizeof(PromFamily *));
        if (!n)
                goto oom;
        r->families = n;
        r->families[r->n_families++] = f;
        if (ret)
                *ret = f;
        return 0;
oom:
        family_free(f);
        return -ENOMEM;
}

static int series_cmp(const PromFamily *f, char *const *a, const char *const *b) {
        for (size_t i = 0; i < f->n_labels; i++) {
                int c = strcmp(a[i], b[i]);
                if (c != 0)
                        return c;
        }
        return 0;
}

/* The index of the series with these values, or where it would go
 * (*ret_found false). */
static size_t series_find(const PromFamily *f, const char *const *values, bool *ret_found) {
        size_t lo = 0, hi = f->n_series;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = series_cmp(f, f->series[mid]->values, values);
                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

static int series_get(PromFamily *f, const char *const *values, PromSeries **ret) {
        PromSeries *s, **n;
        bool found;
        size_t at;

        if (f->n_labels > 0 && !values)
                return -EINVAL;
        for (size_t i = 0; i < f->n_labels; i++)
                if (!values[i])
                        return -EINVAL;
        at = series_find(f, values, &found);
        if (found) {
                *ret = f->series[at];
                return 0;
        }

        s = calloc(1, sizeof(PromSeries));
        if (!s)
                return -ENOMEM;
        s->values = calloc(MAX(f->n_labels, 1U), sizeof(char *));
        s->buckets = f->type == PROM_HISTOGRAM ? calloc(f->n_bounds + 1, sizeof(uint64_t)) : NULL;
        if (!s->values || (f->type == PROM_HISTOGRAM && !s->buckets))
                goto oom;
        for (size_t i = 0; i < f->n_labels; i++)
                if (!(s->values[i] = strdup(values[i])))
                        goto oom;
        n = realloc(f->series, (f->n_series + 1) * sizeof(PromSeries *));
        if (!n)
                goto oom;
        f->series = n;
        memmove(f->series + at + 1, f->series + at, (f->n_series - at) * sizeof(PromSeries *));
        f->series[at] = s;
        f->n_series++;
        *ret = s;
        return 0;
oom:
        series_free(s, f->n_labels);
        return -ENOMEM;
}

int prom_add(PromFamily *f, const char *const *values, double delta) {
        PromSeries *s;
        int k;

        if (!f || f->type == PROM_HISTOGRAM || isnan(delta))
                return -EINVAL;
        if (f->type == PROM_COUNTER && delta < 0)
                return -ERANGE;
        k = series_get(f, values, &s);
        if (k < 0)
                return k;
        s->value += delta;
        return 0;
}

int prom_set(PromFamily *f, const char *const *values, double value) {
        PromSeries *s;
        int k;

        if (!f || f->type == PROM_HISTOGRAM)
                return -EINVAL;
        k = series_get(f, values, &s);
        if (k < 0)
                return k;
        s->value = value;
        return 0;
}

int prom_observe(PromFamily *f, const char *const *values, double value) {
        PromSeries *s;
        size_t b = 0;
        int k;

        if (!f || f->type != PROM_HISTOGRAM || isnan(value))
                return -EINVAL;
        k = series_get(f, values, &s);
        if (k < 0)
                return k;
        while (b < f->n_bounds && value > f->bounds[b])
                b++;
        s->buckets[b]++;        /* b == n_bounds: only +Inf holds it */
        s->count++;
        s->sum += value;
        return 0;
}

int prom_get(const PromFamily *f, const char *const *values, double *ret) {
        bool found;
        size_t at;

        if (!f || (f->n_labels > 0 && !values))
                return -EINVAL;
        for (size_t i = 0; i < f->n_labels; i++)
                if (!values[i])
                        return -EINVAL;
        at = series_find(f, values, &found);
        if (!found)
                return -ENOENT;
        *ret = f->type == PROM_HISTOGRAM ? (double) f->series[at]->count : f->series[at]->value;
        return 0;
}

char *prom_format_value(char buf[static PROM_VALUE_MAX], double v) {
        if (isnan(v))
                snprintf(buf, PROM_VALUE_MAX, "NaN");
        else if (isinf(v))
                snprintf(buf, PROM_VALUE_MAX, v > 0 ? "+Inf" : "-Inf");
        else if (v > -9007199254740992.0 && v < 9007199254740992.0 && (double) (int64_t) v == v)
                snprintf(buf, PROM_VALUE_MAX, "%" PRId64, (int64_t) v);
        else {
                /* The shortest of %.15g..%.17g that reads back exactly. */
                for (int p = 15; p <= 17; p++) {
                        snprintf(buf, PROM_VALUE_MAX, "%.*g", p, v);
                        if (strtod(buf, NULL) == v)
                                break;
                }
        }
        return buf;
}

/* Label values: \ " and newline escaped. HELP: \ and newline. Invalid
 * UTF-8 (which Prometheus refuses) becomes U+FFFD, byte by byte. */
static void put_escaped(FILE *out, const char *s, bool quote) {
        size_t len = strlen(s);

        for (size_t i = 0; i < len;) {
                bool nul = false;
                ssize_t bad = utf8_first_invalid(s + i, len - i, &nul);
                size_t good = bad < 0 ? len - i : (size_t) bad;

                for (size_t j = i; j < i + good; j++) {
                        char c = s[j];
                        if (c == '\\')
                                fputs("\\\\", out);
                        else if (c == '\n')
                                fputs("\\n", out);
                        else if (c == '"' && quote)
                                fputs("\\\"", out);
                        else
                                fputc(c, out);
                }
                i += good;
                if (i < len) {
                        fputs("\xEF\xBF\xBD", out);
                        i++;
                }
        }
}

static void put_labels(FILE *out, const PromFamily *f, const PromSeries *s, const char *le) {
        if (f->n_labels == 0 && !le)
                return;
        fputc('{', out);
        for (size_t i = 0; i < f->n_labels; i++) {
                fprintf(out, "%s%s=\"", i > 0 ? "," : "", f->labels[i]);
                put_escaped(out, s->values[i], true);
                fputc('"', out);
        }
        if (le)
                fprintf(out, "%sle=\"%s\"", f->n_labels > 0 ? "," : "", le);
        fputc('}', out);
}

static void render_family(FILE *out, const PromFamily *f) {
        char v[PROM_VALUE_MAX];

        fprintf(out, "# HELP %s ", f->name);
        put_escaped(out, f->help, false);
        fprintf(out, "\n# TYPE %s %s\n", f->name, prom_type_to_string(f->type));
        for (size_t i = 0; i < f->n_series; i++) {
                const PromSeries *s = f->series[i];
                uint64_t cumulative = 0;

                if (f->type != PROM_HISTOGRAM) {
                        fputs(f->name, out);
                        put_labels(out, f, s, NULL);
                        fprintf(out, " %s\n", prom_format_value(v, s->value));
                        continue;
                }
                for (size_t b = 0; b <= f->n_bounds; b++) {
                        char le[PROM_VALUE_MAX];
                        cumulative += s->buckets[b];
                        fprintf(out, "%s_bucket", f->name);
                        put_labels(out, f, s, b < f->n_bounds ? prom_format_value(le, f->bounds[b]) : "+Inf");
                        fprintf(out, " %" PRIu64 "\n", cumulative);
                }
                fprintf(out, "%s_sum", f->name);
                put_labels(out, f, s, NULL);
                fprintf(out, " %s\n", prom_format_value(v, s->sum));
                fprintf(out, "%s_count", f->name);
                put_labels(out, f, s, NULL);
                fprintf(out, " %" PRIu64 "\n", s->count);
        }
}

static int family_cmp(const void *a, const void *b) {
        return strcmp((*(PromFamily *const *) a)->name, (*(PromFamily *const *) b)->name);
}

int prom_render(const PromRegistry *r, char **ret, size_t *ret_size) {
        _cleanup_free_ PromFamily **sorted = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *out;
        int k = 0;

        if (!r || !ret)
                return -EINVAL;
        if (r->n_families > 0) {
                sorted = malloc(r->n_families * sizeof(PromFamily *));
                if (!sorted)
                        return -ENOMEM;
                memcpy(sorted, r->families, r->n_families * sizeof(PromFamily *));
                qsort(sorted, r->n_families, sizeof(PromFamily *), family_cmp);
        }
        out = open_memstream(&buf, &size);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_families; i++)
                render_family(out, sorted[i]);
        if (ferror(out))
                k = -ENOMEM;
        if (fclose(out) != 0 && k == 0)
                k = -ENOMEM;
        if (k < 0) {
                free(buf);
                return k;
        }
        *ret = buf;
        if (ret_size)
                *ret_size = size;
        return 0;
}
