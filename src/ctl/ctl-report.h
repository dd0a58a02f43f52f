/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What salvectl's graph and report verbs share: a run's report model read
 * from salved, and DOT written to stdout, a file or through Graphviz. */

#include <sys/types.h>

#include "ctl.h"
#include "run-report.h"

/* GetRun + GetRunHistory into a report (full: also the holds and the exec
 * steps' journal lines). Returns 0, or the exit status after saying what
 * failed; with not_found_quiet a run salved does not know returns -ESRCH
 * and says nothing (graph was given a name that is not a plan either). */
int ctl_report_load(Ctl *c, sd_bus *bus, const char *id, bool full, bool not_found_quiet, RunReport **ret);

/* Where graph writes DOT: stdout or -o FILE as it is, or with -T FORMAT
 * into `dot -TFORMAT` (whose output goes to stdout or -o FILE). */
typedef struct DotOutput {
        FILE *f;
        pid_t pid;
} DotOutput;
int ctl_dot_open(Ctl *c, DotOutput *ret);
int ctl_dot_close(Ctl *c, DotOutput *o);
