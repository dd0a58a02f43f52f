/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading systemd's unit property messages; see unit-bus.h. */

#include <ctype.h>

#include "macro.h"
#include "string-util.h"
#include "unit-bus.h"

bool unit_bus_name_is_valid(const char *name) {
        static const char *const types[] = {
                "service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope",
        };
        const char *dot = strrchr(name, '.');

        if (!dot || dot == name || strlen(name) >= UNIT_NAME_MAX)
                return false;
        for (const char *c = name; *c; c++)
                if (!isalnum((unsigned char) *c) && !strchr(":_.\\@-", *c))
                        return false;
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (streq(dot + 1, types[i]))
                        return true;
        return false;
}

int unit_bus_read_value(sd_bus_message *m, UnitProp prop, UnitProps *p) {
        const UnitPropInfo *info = unit_prop_info(prop);
        const char *contents = NULL, *s;
        uint64_t t;
        uint32_t v;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0 || type != SD_BUS_TYPE_VARIANT || !contents || !streq(contents, info->signature))
                return -EBADMSG;
        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
        if (r < 0)
                return -EBADMSG;
        switch (info->signature[0]) {
        case 's':
                r = sd_bus_message_read_basic(m, 's', &s);
                if (r >= 0)
                        r = unit_props_set_string(p, prop, s);
                break;
        case 't':
                r = sd_bus_message_read_basic(m, 't', &t);
                if (r >= 0)
                        r = unit_props_set_uint(p, prop, t);
                break;
        case 'u':
                r = sd_bus_message_read_basic(m, 'u', &v);
                if (r >= 0)
                        r = unit_props_set_uint(p, prop, v);
                break;
        case '(':
                if (prop == UNIT_PROP_JOB) {
                        const char *job_path;
                        r = sd_bus_message_read(m, "(uo)", &v, &job_path);
                        if (r >= 0)
                                r = unit_props_set_uint(p, prop, v);
                } else {
                        const void *a, *b;
                        size_t na = 0, nb = 0;
                        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, "aiai");
                        if (r >= 0)
                                r = sd_bus_message_read_array(m, 'i', &a, &na);
                        if (r >= 0)
                                r = sd_bus_message_read_array(m, 'i', &b, &nb);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (r >= 0)
                                unit_props_set_restart_force(p, na > 0 || nb > 0);
                }
                break;
        default:
                r = -EBADMSG;
        }
        if (r < 0)
                return -EBADMSG;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? -EBADMSG : 0;
}

const char *unit_bus_prop_interface(const char *unit, UnitProp prop, char *buf, size_t size) {
        const UnitPropInfo *info = unit_prop_info(prop);
        const char *dot;

        switch (info->iface) {
        case UNIT_IFACE_UNIT:
                return SYSTEMD_IFACE_PREFIX "Unit";
        case UNIT_IFACE_SERVICE:
                return SYSTEMD_IFACE_PREFIX "Service";
        default:
                /* foo.socket -> org.freedesktop.systemd1.Socket */
                dot = strrchr(unit, '.');
                if (!dot || !dot[1] || strlen(dot + 1) + sizeof(SYSTEMD_IFACE_PREFIX) >= size)
                        return NULL;
                (void) snprintf(buf, size, SYSTEMD_IFACE_PREFIX "%s", dot + 1);
                buf[sizeof(SYSTEMD_IFACE_PREFIX) - 1] = (char) toupper((unsigned char) dot[1]);
                return buf;
        }
}

int unit_bus_iface_kind(const char *iface, UnitPropIface *ret) {
        if (!string_has_prefix(iface, SYSTEMD_IFACE_PREFIX))
                return -ENOENT;
        iface += strlen(SYSTEMD_IFACE_PREFIX);
        if (streq(iface, "Unit"))
                *ret = UNIT_IFACE_UNIT;
        else if (streq(iface, "Service"))
                *ret = UNIT_IFACE_SERVICE;
        else if (*iface && !strchr(iface, '.') && !streq(iface, "Manager") && !streq(iface, "Job"))
                *ret = UNIT_IFACE_TYPE;
        else
                return -ENOENT;
        return 0;
}

int unit_bus_read_properties_changed(sd_bus_message *m, UnitPropIface kind, UnitProps *p, unsigned *ret_invalidated) {
        const char *name;
        unsigned invalidated = 0;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r <= 0)
                return -EBADMSG;
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                UnitProp prop;

                r = sd_bus_message_read_basic(m, 's', &name);
                if (r <= 0)
                        return -EBADMSG;
                prop = unit_prop_from_name(kind, name);
                if (prop < 0)
                        r = sd_bus_message_skip(m, "v");
                else
                        r = unit_bus_read_value(m, prop, p);
                if (r < 0)
                        return -EBADMSG;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return -EBADMSG;
        }
        if (r < 0)
                return -EBADMSG;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return -EBADMSG;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "s");
        if (r <= 0)
                return -EBADMSG;
        while ((r = sd_bus_message_read_basic(m, 's', &name)) > 0) {
                UnitProp prop = unit_prop_from_name(kind, name);
                if (prop >= 0)
                        invalidated |= UNIT_PROP_BIT(prop);
        }
        if (r < 0)
                return -EBADMSG;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return -EBADMSG;
        *ret_invalidated = invalidated;
        return 0;
}
