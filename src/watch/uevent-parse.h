/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pure, bounded parsers for what the block watcher reads from outside:
 * - a kernel uevent datagram from NETLINK_KOBJECT_UEVENT group 1:
 *       "ACTION@DEVPATH\0ACTION=add\0DEVPATH=...\0SUBSYSTEM=block\0...\0";
 * - a sysfs uevent file (/sys/class/block/NAME/uevent): "KEY=VALUE\n"...;
 * - the KEY=VALUE\0 record a probe child writes back (see block-probe.h).
 * No allocation, no I/O: the results point into the caller's buffer, which
 * must outlive them. Every field is length-checked: a message over
 * UEVENT_MESSAGE_MAX, a field without '=', a key that is not [A-Z0-9_] or
 * is too long, a value over UEVENT_VALUE_MAX, more than UEVENT_FIELDS_MAX
 * fields, an unterminated last field, a known key given twice, a header
 * that disagrees with ACTION=/DEVPATH=, or a missing ACTION, DEVPATH or
 * SUBSYSTEM is -EBADMSG. libudev's re-broadcasts ("libudev\0" magic, only
 * on group 2) are -EPROTONOSUPPORT. For SUBSYSTEM=block the device's
 * MAJOR, MINOR and DEVNAME must be present and sane too. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UEVENT_MESSAGE_MAX 8192         /* the kernel's buffer is 2048 bytes of env + the header */
#define UEVENT_FIELDS_MAX 64            /* UEVENT_NUM_ENVP */
#define UEVENT_KEY_MAX 32
#define UEVENT_VALUE_MAX 4096           /* PATH_MAX: DEVPATH is the longest */
#define UEVENT_DEVNAME_MAX 255
#define PROBE_VALUE_MAX 512             /* a LABEL is at most 256 bytes */

typedef enum UEventAction {
        UEVENT_ADD,
        UEVENT_REMOVE,
        UEVENT_CHANGE,
        UEVENT_MOVE,
        UEVENT_ONLINE,
        UEVENT_OFFLINE,
        UEVENT_BIND,
        UEVENT_UNBIND,
        _UEVENT_ACTION_MAX,
        _UEVENT_ACTION_INVALID = -EINVAL,
} UEventAction;

typedef struct UEvent {
        UEventAction action;            /* _UEVENT_ACTION_INVALID for a sysfs uevent file */
        const char *devpath;            /* "/devices/virtual/block/loop0"; NULL in a sysfs file */
        const char *sysname;            /* "loop0": DEVPATH's last component (or the caller's) */
        const char *subsystem;          /* NULL in a sysfs file */
        const char *devtype;            /* "disk", "partition" or NULL */
        const char *devname;            /* "loop0", "sda1": relative to /dev */
        unsigned major, minor;
        bool has_devnum;
        uint64_t seqnum;                /* 0 if absent (sysfs file) */
        uint64_t diskseq;               /* 0 if absent (kernels before 5.15, partitions) */
} UEvent;

const char *uevent_action_to_string(UEventAction a);
UEventAction uevent_action_from_string(const char *s);

/* A datagram as recvmsg() returned it (len bytes, no terminator added). */
int uevent_parse_message(const char *buf, size_t len, UEvent *ret);

/* A sysfs uevent file's contents; buf is changed in place ('\n' -> '\0').
 * sysname is the directory's name (it is not in the file) and must
 * outlive ret. No ACTION, DEVPATH or SUBSYSTEM; MAJOR and MINOR required. */
int uevent_parse_sysfs(char *buf, size_t len, const char *sysname, UEvent *ret);

/* Whether DEVNAME or a sysfs name is safe to append to a directory:
 * non-empty, bounded, printable, no whitespace, no "." or ".." component,
 * no leading '/', and for a sysname no '/' at all. */
bool uevent_devname_is_valid(const char *s);
bool uevent_sysname_is_valid(const char *s);

/* What a probe child found. status: 0 identified (at least TYPE or
 * PARTUUID), 1 nothing on it, or a negative errno the child hit. */
typedef struct ProbeResult {
        int status;
        const char *fs_type, *uuid, *label, *partuuid;
} ProbeResult;

/* Writes STATUS=..\0[TYPE=..\0][UUID=..\0][LABEL=..\0][PARTUUID=..\0] into
 * buf; returns the length, or -ENOBUFS/-EINVAL if a value does not fit the
 * bounds (over PROBE_VALUE_MAX or containing nothing printable). */
int probe_result_format(char *buf, size_t size, const ProbeResult *r);
/* Parses it back; the strings point into buf. STATUS is required. */
int probe_result_parse(const char *buf, size_t len, ProbeResult *ret);
