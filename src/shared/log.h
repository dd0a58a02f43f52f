/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* salved's logging: structured journal entries with SALVE_RUN=,
 * SALVE_PLAN= and SALVE_STEP= fields and, for the events an operator
 * alerts on, a MESSAGE_ID (a catalog-style 128-bit id). Outside systemd
 * (no JOURNAL_STREAM) the same lines also go to stderr. */

#include <syslog.h>

#include "macro.h"

#define SALVE_MESSAGE_RUN_STARTED     "b1f69adb1c074b228eb908f78610b627"
#define SALVE_MESSAGE_STEP_FAILED     "ee90b968e313488ab7d3b0b93b5968ac"
#define SALVE_MESSAGE_RUN_FINISHED    "3edee797b3f44106a82641e3b3d0f337"
#define SALVE_MESSAGE_RTO_BREACHED    "d69ae63154984fff83cf12fe2b855b3b"
#define SALVE_MESSAGE_RTO_AT_RISK     "8ca0a80467b94671b3b5e9650caeed78"
#define SALVE_MESSAGE_HUMAN_WAITING   "f98b624c63e24095a6995c751f3c9ebd"
#define SALVE_MESSAGE_HUMAN_NOTIFIED  "d7195819f2754b5f9e86e51b2d47af8b"
#define SALVE_MESSAGE_HUMAN_ESCALATED "c06cfcb326914828945a6838f8053070"
#define SALVE_MESSAGE_HUMAN_ACKNOWLEDGED "33b5b8a547cc4f08baa36bfd09e4882b"
#define SALVE_MESSAGE_HUMAN_REMINDED  "57247999c98942989d1c632ddc113aed"
#define SALVE_MESSAGE_HUMAN_UNANSWERED "6e7c6417cbf0473f920c9aa9277982ad"
#define SALVE_MESSAGE_NOTIFY_DEAD     "19552fac8a7c471e814071edb244657d"
#define SALVE_MESSAGE_NOTIFY_LOST     "8f3d1c7e0b6a4e52a9d1f0c4b7e2a613"
#define SALVE_MESSAGE_JOURNAL_DAMAGED "f2d50fc92c0d4b4ebb17c39959d86da2"
#define SALVE_MESSAGE_JOURNAL_FULL    "a3dabea2d9b14f9fb203e04f340e2aaf"
#define SALVE_MESSAGE_JOURNAL_WRITABLE "4534f4e3689a40cab6a1870dd285dcd7"
#define SALVE_MESSAGE_STEP_RECONCILED "a96692de34134b83b0a24b18d66a804e"
#define SALVE_MESSAGE_TRIGGER_LIMITED "1c9b6b303fc542fa85b52bc6ff23d671"
#define SALVE_MESSAGE_EVENTS_LOST     "c6afdc04e4604756a6ff1fbee322d1fd"
#define SALVE_MESSAGE_EVENTS_RESYNCED "4a6d590a0cce4ddd89cfe9550992ffad"
#define SALVE_MESSAGE_HOLD_KEPT       "561c21a7e7df49eebccc47982244b515"
#define SALVE_MESSAGE_HOLD_RELEASED   "44cfdfd01df14cb68cfa1cc45ba31de1"
/* salve-gate (src/gate/salve-gate.c): a unit held, released, or waiting
 * for a decision salved has not made. */
#define SALVE_MESSAGE_GATE_WAITING    "c07238e013484b8f89ffe5ef882670a7"
#define SALVE_MESSAGE_GATE_RELEASED   "efc76dcc9aa54e69a818b14ad6f1ccac"
#define SALVE_MESSAGE_GATE_UNDECIDED  "a74b9d0f852042769c102c766edf8ef4"

void log_set_max_level(int level);

/* run, plan, step and message_id may be NULL. Returns -error if error < 0
 * (for `return log_error_errno(...)`), else 0. %m works as usual. */
int log_struct_internal(int priority, int error, const char *message_id, const char *run, const char *plan,
                        const char *step, const char *format, ...) _printf_(7, 8);

#define log_full_errno(prio, error, ...) log_struct_internal(prio, error, NULL, NULL, NULL, NULL, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)
#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
