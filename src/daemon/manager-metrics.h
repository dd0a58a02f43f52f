/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* manager-metrics.c: salved's metrics, as a file for node_exporter's
 * textfile collector (salved(8), METRICS). */

#include "macro.h"
#include "time-util.h"
#include "watch.h"

typedef struct Manager Manager;
typedef struct ManagerMetrics ManagerMetrics;

#define MANAGER_METRICS_FILE_DEFAULT "/var/lib/prometheus/node-exporter/salve.prom"
/* At most one write per this long, however fast things change. */
#define MANAGER_METRICS_MIN_INTERVAL (100 * USEC_PER_MSEC)

/* After the journal and the plans are loaded, before anything moves:
 * adds the listener and writes the file once the loop runs. Nothing when
 * m->metrics_path is NULL or empty. Fails only for -ENOMEM (logged). */
int manager_metrics_setup(Manager *m);
ManagerMetrics *manager_metrics_free(ManagerMetrics *mm);
DEFINE_TRIVIAL_CLEANUP_FUNC(ManagerMetrics *, manager_metrics_free);

/* Something the file shows changed (outside a transition: a reload):
 * it is written again soon, once for any number of changes. */
void manager_metrics_changed(Manager *m);
/* The watchers' hooks (manager-trigger.c): an event, or a notice
 * (WATCH_LOST, WATCH_RESYNCED; others are ignored). */
void manager_metrics_watch_event(Manager *m, const char *watcher);
void manager_metrics_watch_notice(Manager *m, const char *watcher, WatchNotice n);

/* The text the file would hold now (tests, benchmarks). */
int manager_metrics_render(Manager *m, char **ret, size_t *ret_size);
/* Writes now if anything changed since the last write (tests, bench):
 * 1 written, 0 nothing to write, or the write's error. */
int manager_metrics_flush(Manager *m);
/* Files written since startup. */
uint64_t manager_metrics_writes(const Manager *m);
