/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Boots: telling a boot after an unclean shutdown from any other start of
 * salved, and starting the plans with boot triggers when it is one. */

#include <fcntl.h>
#include <sys/stat.h>

#include "bus-names.h"
#include "log.h"
#include "manager.h"

/* Was the previous boot's end unclean? salved writes "0" to boot-state in
 * its state directory when it first starts in a boot, and "1" only when it
 * is stopped because the system is shutting down. A first start in a new
 * boot that finds "0" knows the last boot never shut down cleanly. "First
 * start in this boot" is a marker in the runtime directory (/run is new
 * every boot, and survives salved restarts); boot ids are not used, as
 * services in containers may see the host kernel's. */
static int manager_check_boot(Manager *m, bool *ret_new_boot, bool *ret_unclean) {
        _cleanup_free_ char *path = NULL, *tmp = NULL, *marker = NULL;
        char line[16] = "";
        FILE *f;
        int k, fd;

        *ret_new_boot = *ret_unclean = false;
        if (asprintf(&path, "%s/boot-state", m->state_dir) < 0 || asprintf(&tmp, "%s.tmp", path) < 0 ||
            asprintf(&marker, "%s/boot-seen", m->runtime_dir) < 0)
                return -ENOMEM;
        if (access(marker, F_OK) == 0)
                return 0; /* salved restarted within the same boot */

        *ret_new_boot = true;
        f = fopen(path, "re");
        if (f) {
                if (fgets(line, sizeof(line), f))
                        *ret_unclean = line[0] == '0';
                fclose(f);
        } /* no file: salved never ran here before, nothing to say */

        f = fopen(tmp, "we");
        if (!f)
                return negative_errno();
        fputs("0\n", f);
        k = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : negative_errno();
        fclose(f);
        if (k >= 0 && rename(tmp, path) < 0)
                k = negative_errno();
        if (k < 0)
                return k;
        if (mkdir(m->runtime_dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0)
                return negative_errno();
        close(fd);
        return 0;
}

static void manager_record_clean_stop(Manager *m) {
        _cleanup_free_ char *path = NULL;
        FILE *f;

        if (asprintf(&path, "%s/boot-state", m->state_dir) < 0)
                return;
        f = fopen(path, "we");
        if (!f)
                return;
        fputs("1\n", f);
        (void) fflush(f);
        (void) fsync(fileno(f));
        fclose(f);
        log_info("System shutdown: recorded a clean stop.");
}

static int on_system_state(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *state = NULL;
        int k;

        m->stop_slot = sd_bus_slot_unref(m->stop_slot);
        if (e)
                log_warning("Cannot ask systemd whether the system is shutting down, assuming not: %s",
                            e->message ?: e->name);
        else {
                k = sd_bus_message_read(reply, "v", "s", &state);
                if (k < 0)
                        log_warning_errno(k, "Cannot read systemd's SystemState, assuming no shutdown: %m");
                /* Only a system shutdown counts; a "systemctl stop salved" does not. */
                else if (streq(state, "stopping"))
                        manager_record_clean_stop(m);
        }
        return sd_event_exit(m->event, 0);
}

/* The signal handler's part of stopping: one owned async call, bounded by
 * a short timeout (a shutdown must not wait on salved), then exit. */
int manager_stop(Manager *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int k;

        if (m->stopping)
                return 0;
        m->stopping = true;
        if (!m->bus)
                return sd_event_exit(m->event, 0);
        k = sd_bus_message_new_method_call(m->bus, &call, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH,
                                           DBUS_PROPERTIES_IFACE, "Get");
        if (k >= 0)
                k = sd_bus_message_append(call, "ss", SYSTEMD_MANAGER_IFACE, "SystemState");
        if (k >= 0)
                k = sd_bus_call_async(m->bus, &m->stop_slot, call, on_system_state, m, 5 * USEC_PER_SEC);
        if (k < 0) {
                log_warning_errno(k, "Cannot ask systemd whether the system is shutting down, assuming not: %m");
                return sd_event_exit(m->event, 0);
        }
        return 0;
}

/* When this boot began, for the RTO clock of boot triggers: when systemd
 * started (in a container, the container's start; on a host, a second or
 * two after the kernel's), else the kernel's boot. Called at start-up,
 * before the event loop runs, so a synchronous call is fine. */
static usec_t manager_boot_time(Manager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t t = 0;

        if (m->bus &&
            sd_bus_get_property_trivial(m->bus, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                        "UserspaceTimestamp", &error, 't',
                                        &t) >= 0 &&
            t > 0 && t <= now_usec(CLOCK_REALTIME))
                return t;
        return now_usec(CLOCK_REALTIME) - now_usec(CLOCK_BOOTTIME);
}

void manager_boot_triggers(Manager *m) {
        bool new_boot, unclean;
        usec_t boot_time;
        int k;

        k = manager_check_boot(m, &new_boot, &unclean);
        if (k < 0) {
                log_warning_errno(k, "Cannot tell whether the last shutdown was clean, ignoring: %m");
                return;
        }
        if (!new_boot)
                return;
        if (unclean)
                log_warning("The previous boot did not shut down cleanly.");
        boot_time = manager_boot_time(m);
        for (size_t i = 0; i < m->plans->n_plans; i++) {
                const Plan *p = m->plans->plans[i];
                for (size_t t = 0; p->armed && t < p->n_triggers; t++) {
                        const Trigger *tr = p->triggers + t;
                        if (tr->kind != TRIGGER_BOOT || (streq(tr->event, "unclean") && !unclean))
                                continue;
                        /* ${trigger.kind} and ${trigger.event} work in boot plans too. */
                        k = manager_start_run(m, p->name, "boot",
                                              unclean ? "unclean shutdown before this boot" : "boot", boot_time,
                                              (char **) STRV_MAKE_CONST("kind=boot",
                                                                        unclean ? "event=unclean" : "event=clean"),
                                              NULL);
                        if (k < 0)
                                log_struct_internal(LOG_ERR, k, NULL, NULL, p->name, NULL,
                                                    "Failed to start plan %s on boot: %m", p->name);
                        break;
                }
        }
}
