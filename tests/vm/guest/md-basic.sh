#!/bin/bash
# Guest script (tests/vm/run.sh, 2 disks): the CI subset, one boot.  A new
# RAID1 with a throttled initial resync => the md watcher says
# resync-started, then resync-finished once md has finished (sysfs:
# sync_action idle, resync_start none); mdadm --fail of a member =>
# disk-failed for that member and degraded.  Each step is checked in sysfs
# and /proc/mdstat first, then in the watcher's output.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

d1=$(vm_disk 1) d2=$(vm_disk 2)
[[ -b "$d1" && -b "$d2" ]] || vm_fail "virtio disks not found ($d1, $d2)"
vm_ok "disks $d1 $d2; md_mod start_ro=$(cat /sys/module/md_mod/parameters/start_ro)"

# 100 KiB/s (md goes no slower than speed_limit_min): the resync of 31 MiB
# outlasts the checks below even on a loaded machine
echo 100 >/proc/sys/dev/raid/speed_limit_min
echo 100 >/proc/sys/dev/raid/speed_limit_max
vm_watch_start
vm_ok "watch-driver md READY before any array exists"

mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none \
    "$d1" "$d2" || vm_fail "mdadm --create"
vm_wait_md md0 sync_action resync 20
grep -q 'resync' /proc/mdstat || vm_fail "/proc/mdstat shows no resync"
vm_ok "md0 created, resync under way at 100 KiB/s (array_state $(vm_md md0 array_state), sync_completed $(vm_md md0 sync_completed))"

ev=$(vm_watch_wait "resync-started of md0" 30 '.name == "md0" and .event == "resync-started"')
[[ $(jq -r '.initial' <<<"$ev") == false ]] || vm_fail "resync-started marked initial: $ev"
[[ $(jq -r '.kind' <<<"$ev") == raid ]] || vm_fail "resync-started not kind raid: $ev"
vm_ok "watcher: resync-started md0 (seen happening, not initial)"
n=$(vm_watch_count '.event == "resync-finished"')
[[ $(vm_md md0 sync_action) == resync ]] || vm_fail "the throttled resync ended too soon for this check"
(( n == 0 )) || vm_fail "resync-finished while md resyncs"
vm_ok "watcher: no resync-finished while sync_action is resync ($(vm_md md0 sync_completed))"

echo 1000 >/proc/sys/dev/raid/speed_limit_min
echo 1000000 >/proc/sys/dev/raid/speed_limit_max
vm_wait_md md0 sync_action idle 120
[[ $(vm_md md0 resync_start) == none ]] || vm_fail "resync_start after the resync: $(vm_md md0 resync_start)"
grep -A2 '^md0' /proc/mdstat | grep -q '\[UU\]' || vm_fail "md0 not [UU] after its resync"
vm_ok "md0 in sync: sync_action idle, resync_start none, [UU]"
vm_watch_wait "resync-finished of md0" 30 '.name == "md0" and .event == "resync-finished"' >/dev/null
vm_ok "watcher: resync-finished md0"
(( $(vm_watch_count '.event == "degraded" or .event == "disk-failed" or .event == "resync-pending"') == 0 )) \
    || vm_fail "degraded, disk-failed or resync-pending on a healthy array"
vm_ok "watcher: nothing bad about the healthy array"

m2=${d2##*/}
mdadm /dev/md0 --fail "$d2" 2>/dev/null || vm_fail "mdadm --fail $d2"
vm_wait_md md0 degraded 1 20
grep -A2 '^md0' /proc/mdstat | grep -q '\[U_\]' || vm_fail "md0 not [U_] after --fail"
grep -q faulty "/sys/block/md0/md/dev-$m2/state" || vm_fail "dev-$m2/state not faulty"
vm_ok "mdadm --fail $d2: degraded 1, [U_], dev-$m2 faulty"
ev=$(vm_watch_wait "disk-failed of $m2" 30 '.name == "md0" and .event == "disk-failed"')
[[ $(jq -r '.disk' <<<"$ev") == "$m2" ]] || vm_fail "disk-failed names the wrong disk: $ev"
vm_ok "watcher: disk-failed md0 disk $m2"
vm_watch_wait "degraded of md0" 30 '.name == "md0" and .event == "degraded"' >/dev/null
vm_ok "watcher: degraded md0"
(( $(vm_watch_count '.event == "disk-failed"') == 1 )) || vm_fail "more than one disk-failed"
vm_ok "watcher: one disk-failed for one failed disk"
# With no spare there is nothing to rebuild; md marks a recovery as running
# for a moment all the same (sync_action "recover"), which is no resync.
sleep 2
[[ $(vm_md md0 sync_action) == idle ]] || vm_fail "sync_action $(vm_md md0 sync_action) after --fail without a spare"
(( $(vm_watch_count '.event == "resync-started"') == 1 )) \
    || vm_fail "resync-started after --fail with no spare to rebuild onto"
vm_ok "watcher: no resync-started for the failed disk (no spare, nothing rebuilds)"

vm_watch_stop
st=$(jq -c 'select(.stats != null) | .stats' "$VM_WATCH_OUT")
[[ -n "$st" ]] || vm_fail "no stats line from watch-driver"
[[ $(jq -r '.bad_input' <<<"$st") == 0 ]] || vm_fail "watcher counted bad input: $st"
vm_ok "watch-driver stopped: $st"
mdadm --stop /dev/md0 >/dev/null 2>&1 || vm_fail "mdadm --stop md0"
vm_done
