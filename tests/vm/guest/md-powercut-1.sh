#!/bin/bash
# Guest script, first boot of the power-cut scenario (run.sh --powercut,
# 2 disks): a new RAID1 resyncs slowly (speed_limit_max 1000 KiB/s); once it
# is well under way and md has written a checkpoint, ask the host to cut the
# power (qemu is killed with SIGKILL: nothing is flushed or stopped).
# md-powercut-2.sh boots the same disks next.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

d1=$(vm_disk 1) d2=$(vm_disk 2)
[[ -b "$d1" && -b "$d2" ]] || vm_fail "virtio disks not found ($d1, $d2)"
echo 1000 >/proc/sys/dev/raid/speed_limit_min
echo 1000 >/proc/sys/dev/raid/speed_limit_max
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none \
    "$d1" "$d2" || vm_fail "mdadm --create"
vm_wait_md md0 sync_action resync 20
# md records its progress in the superblock every 1/16 of the array or so
done_=0
end=$(( $(vm_now_ms) + 60000 ))
while (( done_ < 8192 )); do
    (( $(vm_now_ms) < end )) || vm_fail "resync too slow: sync_completed $(vm_md md0 sync_completed)"
    sleep 0.5
    done_=$(vm_md md0 sync_completed | cut -d' ' -f1)
    [[ "$done_" =~ ^[0-9]+$ ]] || done_=0
done
sync_c=$(vm_md md0 sync_completed)
vm_ok "md0 resyncing: sync_completed $sync_c, array_state $(vm_md md0 array_state)"
echo "$sync_c" >"$VM_JOB/phase1-sync-completed"
vm_powercut "md0 mid-resync at $sync_c"
