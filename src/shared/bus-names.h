/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The names of salve's D-Bus API (docs/dbus-api.md), shared by salved and
 * salvectl so the two cannot drift apart: the bus name, object and
 * interface, the errors salved returns, and the polkit actions that
 * guard each change (policy/org.salve.policy). */

/* systemd's API, which salved's executor, watchers and holds call. */
#define SYSTEMD_BUS_NAME        "org.freedesktop.systemd1"
#define SYSTEMD_OBJECT_PATH     "/org/freedesktop/systemd1"
#define SYSTEMD_UNIT_PATH       "/org/freedesktop/systemd1/unit"
#define SYSTEMD_MANAGER_IFACE   "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT_IFACE      "org.freedesktop.systemd1.Unit"
#define SYSTEMD_SERVICE_IFACE   "org.freedesktop.systemd1.Service"
#define DBUS_PROPERTIES_IFACE   "org.freedesktop.DBus.Properties"

#define SALVE_BUS_NAME "org.salve.Manager1"
#define SALVE_BUS_PATH "/org/salve/manager"
#define SALVE_BUS_INTERFACE "org.salve.Manager1"

#define SALVE_ERROR_NO_SUCH_PLAN "org.salve.Error.NoSuchPlan"
#define SALVE_ERROR_NO_SUCH_RUN "org.salve.Error.NoSuchRun"
#define SALVE_ERROR_NO_SUCH_STEP "org.salve.Error.NoSuchStep"
#define SALVE_ERROR_INVALID_STATE "org.salve.Error.InvalidState"
#define SALVE_ERROR_JOURNAL "org.salve.Error.JournalUnwritable"
#define SALVE_ERROR_PLAN_ERRORS "org.salve.Error.PlanErrors"
#define SALVE_ERROR_TOO_MANY_REQUESTS "org.salve.Error.TooManyRequests"
#define SALVE_ERROR_TRIGGER_CONTEXT "org.salve.Error.TriggerContext"
#define SALVE_ERROR_NOT_HELD "org.salve.Error.NotHeld"
#define SALVE_ERROR_ALREADY_ACKNOWLEDGED "org.salve.Error.AlreadyAcknowledged"
#define SALVE_ERROR_NO_SUCH_NOTIFICATION "org.salve.Error.NoSuchNotification"

#define SALVE_ACTION_RUN "org.salve.run"
#define SALVE_ACTION_CANCEL "org.salve.cancel"
#define SALVE_ACTION_APPROVE "org.salve.approve"
#define SALVE_ACTION_MANAGE "org.salve.manage"
#define SALVE_ACTION_RELOAD "org.salve.reload"
#define SALVE_ACTION_RELEASE "org.salve.release"
#define SALVE_ACTION_ACK "org.salve.ack"
