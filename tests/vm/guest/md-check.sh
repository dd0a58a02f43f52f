#!/bin/bash
# Guest script (2 disks): check-mismatch on a real RAID1.  An in-sync RAID1
# (--assume-clean) gets random data, is stopped, and one member's data area
# is overwritten with zeros behind md's back; udev assembles it again (as on
# a real boot) and `echo check > sync_action` finds the difference =>
# mismatch_cnt > 0 => the watcher says check-mismatch with that count, and
# no resync-started (a check is not a resync).  A repair, then a second
# check finding nothing => no second check-mismatch.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

d1=$(vm_disk 1) d2=$(vm_disk 2)
[[ -b "$d1" && -b "$d2" ]] || vm_fail "virtio disks not found ($d1, $d2)"
vm_watch_start

mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none \
    --assume-clean "$d1" "$d2" || vm_fail "mdadm --create --assume-clean"
[[ $(vm_md md0 sync_action) == idle && $(vm_md md0 resync_start) == none ]] \
    || vm_fail "--assume-clean array not idle/in sync"
dd if=/dev/urandom of=/dev/md0 bs=1M count=8 oflag=direct status=none || vm_fail "dd to md0"
vm_ok "md0 created in sync, 8 MiB of random data written"

off=$(mdadm --examine "$d2" | sed -n 's/^ *Data Offset : \([0-9]*\) sectors.*/\1/p')
[[ "$off" =~ ^[0-9]+$ ]] || vm_fail "no data offset in mdadm --examine $d2"
mdadm --stop /dev/md0 >/dev/null 2>&1 || vm_fail "mdadm --stop md0"
vm_wait "md0 gone" 10 test ! -e /sys/block/md0/md
# 1 MiB of zeros 1 MiB into the data area of the second member only.  The
# write's close wakes udev (inotify), which assembles the array again.
dd if=/dev/zero of="$d2" bs=512 seek=$((off + 2048)) count=2048 conv=notrunc oflag=direct status=none \
    || vm_fail "dd to $d2"
vm_ok "md0 stopped; 1 MiB of ${d2##*/}'s data area (offset $off sectors + 1 MiB) zeroed"

udevadm trigger --action=change "$d1" "$d2"
udevadm settle -t 30
end=$(( $(vm_now_ms) + 20000 ))
while ! a=$(vm_md_find) || [[ $(vm_md "$a" array_state 2>/dev/null) == inactive ]]; do
    (( $(vm_now_ms) < end )) || vm_fail "udev did not assemble the array again"
    sleep 0.2
done
st=$(vm_md "$a" array_state)
vm_ok "udev assembled it again as $a (array_state $st, resync_start $(vm_md "$a" resync_start))"

echo check >"/sys/block/$a/md/sync_action" || vm_fail "echo check > sync_action"
vm_wait_md "$a" sync_action idle 120
mm=$(vm_md "$a" mismatch_cnt)
(( mm > 0 )) || vm_fail "mismatch_cnt $mm after a check of a corrupted member"
vm_ok "check done: mismatch_cnt $mm"
ev=$(vm_watch_wait "check-mismatch of $a" 30 ".name == \"$a\" and .event == \"check-mismatch\"")
[[ $(jq -r .mismatches <<<"$ev") == "$mm" ]] || vm_fail "check-mismatch count is not mismatch_cnt $mm: $ev"
vm_ok "watcher: check-mismatch $a mismatches $mm"
n=$(vm_watch_count '.event == "resync-started" or .event == "resync-finished" or .event == "degraded"')
(( n == 0 )) || vm_fail "$n resync or degraded events for a check of an in-sync array"
vm_ok "watcher: no resync-started/-finished or degraded for a check"

echo repair >"/sys/block/$a/md/sync_action" || vm_fail "echo repair > sync_action"
vm_wait_md "$a" sync_action idle 120
echo check >"/sys/block/$a/md/sync_action" || vm_fail "echo check > sync_action (2)"
vm_wait_md "$a" sync_action idle 120
[[ $(vm_md "$a" mismatch_cnt) == 0 ]] || vm_fail "mismatch_cnt $(vm_md "$a" mismatch_cnt) after repair + check"
sleep 1
(( $(vm_watch_count '.event == "check-mismatch"') == 1 )) || vm_fail "check-mismatch after a repair or a clean check"
vm_ok "repair, then a clean check: mismatch_cnt 0, no second check-mismatch"

vm_watch_stop
[[ $(jq -r 'select(.stats != null) | .stats.bad_input' "$VM_WATCH_OUT") == 0 ]] || vm_fail "bad input counted"
mdadm --stop "/dev/$a" >/dev/null 2>&1
vm_done
