#!/bin/bash
# ExecStart of the md VM's test services db.service and app.service
# (tests/vm/guest/data/): says when it started, on CLOCK_BOOTTIME
# (/proc/uptime, the VM never suspends: CLOCK_MONOTONIC) and CLOCK_REALTIME,
# and whether the data filesystem is mounted, to the journal (its stdout)
# and to /run/salve-vm-units.log; with the filesystem mounted, also to
# /srv/data/NAME.log, as a database writes to its data directory.
name=$1
read -r up _ </proc/uptime
if mountpoint -q /srv/data; then mounted=yes; else mounted=no; fi
line="$name started uptime=$up realtime=$EPOCHREALTIME data-mounted=$mounted"
echo "$line"
echo "$line" >>/run/salve-vm-units.log
if [[ $mounted == yes ]]; then
    echo "$line" >>"/srv/data/$name.log" && sync "/srv/data/$name.log"
fi
exit 0
