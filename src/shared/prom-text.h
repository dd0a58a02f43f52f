/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Metrics in Prometheus' text exposition format (version 0.0.4), as
 * node_exporter's textfile collector reads them: a registry of families
 * (counters, gauges, histograms), each with a fixed list of label names
 * and any number of series, rendered with HELP and TYPE lines.
 *
 * Pure: no I/O, no clock. salved's glue (src/daemon/manager-metrics.c)
 * feeds it and writes the rendered text to a file.
 *
 * Invariants: names and label names are checked when a family is made
 * (-EINVAL), so what renders is always well formed; label values and
 * HELP texts are escaped (backslash, double quote, newline; invalid
 * UTF-8 becomes U+FFFD). The output is stable: families sorted by name,
 * series by their label values (byte order), histogram buckets cumulative
 * and ending in le="+Inf", followed by _sum and _count. */

#include <errno.h>
#include <stdint.h>

#include "macro.h"

typedef enum PromType {
        PROM_COUNTER,
        PROM_GAUGE,
        PROM_HISTOGRAM,
        _PROM_TYPE_MAX,
        _PROM_TYPE_INVALID = -EINVAL,
} PromType;

typedef struct PromRegistry PromRegistry;
typedef struct PromFamily PromFamily;

#define PROM_LABELS_MAX 8U
#define PROM_BUCKETS_MAX 64U

int prom_registry_new(PromRegistry **ret);
PromRegistry *prom_registry_free(PromRegistry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(PromRegistry *, prom_registry_free);

/* A family, owned by the registry. labels: NULL-terminated label names
 * (NULL: none; at most PROM_LABELS_MAX, never "le" or "__..."). buckets:
 * histograms only, strictly increasing finite upper bounds (at most
 * PROM_BUCKETS_MAX; "+Inf" is implied). -EINVAL for a bad name, label or
 * bucket list, -EEXIST for a name the registry has (or that a
 * histogram's _bucket/_sum/_count would clash with). */
int prom_family_new(PromRegistry *r, const char *name, const char *help, PromType type, const char *const *labels,
                    const double *buckets, size_t n_buckets, PromFamily **ret);

/* values: one label value per label name of the family, in its order
 * (NULL for a family without labels). Each creates the series (at 0)
 * when it is new.
 * prom_add: counters (delta >= 0, else -ERANGE) and gauges.
 * prom_set: gauges, and counters copied from a count kept elsewhere.
 * prom_observe: histograms (a NaN is -EINVAL).
 * -EINVAL also for a call that does not fit the family's type. */
int prom_add(PromFamily *f, const char *const *values, double delta);
int prom_set(PromFamily *f, const char *const *values, double value);
int prom_observe(PromFamily *f, const char *const *values, double value);

/* The series' value (counters, gauges) or count (histograms); -ENOENT
 * when there is no such series. */
int prom_get(const PromFamily *f, const char *const *values, double *ret);

/* Drops every series: a gauge recomputed from scratch. */
void prom_family_clear(PromFamily *f);
size_t prom_family_size(const PromFamily *f);

/* The whole registry as text; *ret is NUL-terminated, *ret_size its
 * length (optional). */
int prom_render(const PromRegistry *r, char **ret, size_t *ret_size);

/* The shortest text that reads back as v ("1", "0.25", "+Inf", "NaN"). */
#define PROM_VALUE_MAX 32
char *prom_format_value(char buf[static PROM_VALUE_MAX], double v);

const char *prom_type_to_string(PromType t) _const_;
