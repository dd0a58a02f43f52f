/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A run as a post-incident record: built from salved's GetRun (the run as
 * it stands) and GetRunHistory (every journal record of the run, oldest
 * first), with no I/O of its own, so that unit tests feed it fixture JSON.
 * The attempts come from the history: each step record opens or closes an
 * attempt; a step's latest state, estimate and needs come from GetRun.
 *
 * The critical path is the chain of needs whose steps' durations add up to
 * the most: a finished step counts from its first attempt's start to its
 * last attempt's end (actual), a running or waiting one the larger of its
 * elapsed time and its estimate (elapsed / estimate), a step that never
 * started its estimate (estimate), a skipped or cancelled one that never
 * ran nothing.
 *
 * Renderers: DOT (run-report-dot.c), markdown and JSON
 * (run-report-render.c), self-contained HTML with an SVG Gantt
 * (run-report-html.c). Every string from the run is untrusted: each
 * renderer escapes for its own format. Times are printed in UTC. */

#include <stdbool.h>
#include <stdio.h>

#include "time-util.h"

typedef struct json_object json_object;

typedef enum ReportBasis {
        REPORT_BASIS_NONE,      /* never ran: counts 0 */
        REPORT_BASIS_ACTUAL,    /* finished: first start to last end */
        REPORT_BASIS_ELAPSED,   /* running or waiting, past its estimate */
        REPORT_BASIS_ESTIMATE,  /* not started, or running within its estimate */
        _REPORT_BASIS_MAX,
} ReportBasis;

typedef struct ReportAttempt {
        unsigned attempt;
        usec_t start, end;              /* 0: not (yet) */
        usec_t wait_start;              /* a human step: when it began to wait for a person */
        char *outcome;                  /* succeeded, failed, skipped, cancelled, interrupted; NULL: not over */
        bool retried;                   /* failed, and the step was tried again by itself */
        char *message, *actor, *comment;
        char **output;                  /* the last lines of its unit's journal (salvectl fills it) */
} ReportAttempt;

typedef enum ReportEventKind {
        REPORT_NOTIFIED,                /* level 0, round 1: the owner told */
        REPORT_ESCALATED,               /* a later level or round */
        REPORT_ACKNOWLEDGED,
        REPORT_REMINDED,
        REPORT_UNANSWERED,
        REPORT_ACT,                     /* a person acted on the step: approved, rejected, done, retry, ... */
        _REPORT_EVENT_MAX,
} ReportEventKind;

typedef struct ReportEvent {
        ReportEventKind kind;
        usec_t at;
        char *step;
        unsigned attempt, level, round;
        char **recipients;
        char *action;                   /* REPORT_ACT: approved, rejected, done, failed, skipped, retry, aborted, cancelled */
        char *actor, *via, *comment;
} ReportEvent;

typedef struct ReportStep {
        char *id, *kind, *state, *owner, *actor, *comment, *message;
        char *via;                      /* how the actor acted: salvectl, approval-token */
        bool human;
        char **needs;
        char *handled_by;               /* its on-failure handler, if it has one */
        bool handler;                   /* an on-failure handler: runs only when a step it handles fails */
        unsigned attempt, attempts_allowed;
        usec_t started, finished, estimate;
        ReportAttempt *attempts;
        size_t n_attempts;
        char *acked_by, *acked_via;     /* the latest acknowledgement */
        usec_t acked_at;
        usec_t duration;                /* as the critical path counts it */
        ReportBasis basis;
        bool critical;
} ReportStep;

typedef struct ReportRto {
        usec_t at;
        char *state;                    /* at-risk, breached */
        usec_t projected;
} ReportRto;

typedef struct ReportHold {
        char *unit;
        bool held;                      /* still held now */
        usec_t released;                /* 0: not released (or not known when) */
        char *how;                      /* "released by ACTOR", "step ID started", "the run succeeded", "still held" */
        char *actor, *comment;
} ReportHold;

typedef struct ReportRelease {          /* hold-released records */
        usec_t at;
        char *unit, *actor, *comment;
} ReportRelease;

typedef struct RunReport {
        char *id, *plan, *host, *state, *message, *trigger, *reason, *rto_state;
        char **context;                 /* NAME=VALUE, as GetRun's trigger_context */
        usec_t created, trigger_time, finished, rto, deadline, projected, now;
        bool complete;                  /* the history holds every record */
        ReportStep *steps;              /* in the plan's order */
        size_t n_steps;
        ReportEvent *events;            /* oldest first */
        size_t n_events;
        ReportRto *rto_events;
        size_t n_rto_events;
        ReportRelease *releases;
        size_t n_releases;
        ReportHold *holds;
        size_t n_holds;
        size_t *critical;               /* indexes into steps, first to last */
        size_t n_critical;
        usec_t critical_usec;
} RunReport;

/* run: GetRun's object; history: GetRunHistory's (NULL: attempts only as
 * the run's latest state says). host may be NULL. -EBADMSG names nothing:
 * the caller says which answer was not a run. */
int run_report_build(json_object *run, json_object *history, const char *host, usec_t now, RunReport **ret);
RunReport *run_report_free(RunReport *r);
static inline void run_report_freep(RunReport **r) {
        run_report_free(*r);
}

/* The holds: units (the plan's holds: and whatever else held for the run),
 * held_now (the ones ListHolds shows held by this run), plan (GetPlan's
 * object, NULL if unknown): a unit started by a unit.start or unit.restart
 * step was let go when that step first started; otherwise when the run
 * succeeded, or by the hold-released record. */
int run_report_set_holds(RunReport *r, char *const *units, char *const *held_now, json_object *plan);
/* The same from GetRun's holds (salve 0.2.0: each unit of the run's own
 * plan, whether the run still holds it, the step that releases it, which
 * may also be one that names it in release:). -EBADMSG if not an array. */
int run_report_set_run_holds(RunReport *r, json_object *holds);

/* Computes the critical path and each step's duration (run_report_build
 * calls it). -ELOOP if the needs have a cycle (a run's plan has none). */
int run_report_critical_path(RunReport *r);

const char *report_basis_to_string(ReportBasis b);
const char *report_event_kind_to_string(ReportEventKind k);
/* succeeded, failed, running, ... to a fill colour (#rrggbb) and a word
 * for the legend's group. */
const char *report_state_color(const char *state);

ReportStep *run_report_find_step(const RunReport *r, const char *id);
usec_t report_attempt_duration(const ReportAttempt *a, usec_t now);

/* 2026-12-02T18:40:01Z; "-" for 0. */
#define REPORT_TIME_MAX 32
char *report_format_time(char buf[static REPORT_TIME_MAX], usec_t usec);

int run_report_write_dot(const RunReport *r, FILE *f);
int run_report_write_markdown(const RunReport *r, FILE *f);
int run_report_write_html(const RunReport *r, FILE *f);
json_object *run_report_to_json(const RunReport *r);
int run_report_write_json(const RunReport *r, FILE *f);

/* Escapers, for the renderers and their tests. */
void report_html_escape(FILE *f, const char *s);
void report_markdown_escape(FILE *f, const char *s);
void report_dot_escape(FILE *f, const char *s);
