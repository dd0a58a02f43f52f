/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading what systemd says about units over D-Bus: PropertiesChanged
 * signals and Get replies, into UnitProps (unit-state.h). Only the
 * properties unit-state.c knows are read; each must hold exactly the type
 * its table says, or the whole message is refused (-EBADMSG) and the
 * caller counts it as bad input. No bus connection needed: these only
 * read messages. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "unit-state.h"

#define SYSTEMD_IFACE_PREFIX "org.freedesktop.systemd1."
#define UNIT_NAME_MAX 256

/* [A-Za-z0-9:_.\\@-], shorter than UNIT_NAME_MAX, a unit type after the
 * last dot. sd_bus_path_decode() takes any path; this is what makes it
 * a unit's. */
bool unit_bus_name_is_valid(const char *name);

/* The kind of a systemd interface name: Unit, Service, or another unit
 * type's (Socket, Mount, ...); -ENOENT for any other interface. */
int unit_bus_iface_kind(const char *iface, UnitPropIface *ret);

/* The interface to Get prop from on unit (foo.socket: ...Socket for
 * Result), in buf; NULL if the name has no type. */
const char *unit_bus_prop_interface(const char *unit, UnitProp prop, char *buf, size_t size);

/* Reads one variant (a Get reply's body, or a dict entry's value) as
 * prop into p. */
int unit_bus_read_value(sd_bus_message *m, UnitProp prop, UnitProps *p);

/* Reads the "a{sv}as" after a PropertiesChanged's interface: our
 * properties into p, the invalidated ones of ours into *ret_invalidated. */
int unit_bus_read_properties_changed(sd_bus_message *m, UnitPropIface kind, UnitProps *p, unsigned *ret_invalidated);
