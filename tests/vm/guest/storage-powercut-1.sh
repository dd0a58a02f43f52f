#!/bin/bash
# Guest script, first boot of the storage power-cut test
# (tests/vm/test-storage-powercut.sh; 3 disks, salve installed before boot
# with the plan data/storage-recovery-vm.yaml): salved runs from boot with
# its state directory on disk 3, so it records this boot as started and not
# yet shut down. A new RAID1 md0 (no bitmap) on disks 1 and 2 resyncs slowly
# (1000 KiB/s); an ext4 labelled salve-data is made on it and mounted on
# /srv/data, db and app write to it, and a writer keeps writing; once md has
# written a resync checkpoint, the host cuts the power: the array is left
# mid-resync, the filesystem mounted with its journal dirty.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/storage-lib.sh"

uuid=${1:?usage: storage-powercut-1.sh MD-UUID}
d1=$(vm_disk 1) d2=$(vm_disk 2)
[[ -b "$d1" && -b "$d2" ]] || vm_fail "virtio disks not found ($d1, $d2)"
mountpoint -q /var/lib/salve || vm_fail "the state disk is not mounted on /var/lib/salve"
vm_wait "salved to be active" 60 systemctl is-active -q salved
[[ $(cat /var/lib/salve/boot-state 2>/dev/null) == 0 ]] \
    || st_fail "salved wrote no boot-state 0 in /var/lib/salve ($(cat /var/lib/salve/boot-state 2>&1))"
vm_ok "salved runs from boot; boot-state 0 on the state disk"
# a first boot is not after an unclean shutdown: nothing stays held
vm_wait "db and app to start at boot (released at once)" 60 \
    sh -c 'systemctl is-active -q db.service && systemctl is-active -q app.service'
vm_ok "db and app started at boot: salved held nothing on a boot that was not after an unclean shutdown"

echo 1000 >/proc/sys/dev/raid/speed_limit_min
echo 1000 >/proc/sys/dev/raid/speed_limit_max
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none \
    --uuid="$uuid" "$d1" "$d2" || vm_fail "mdadm --create"
vm_wait_md md0 sync_action resync 20
mkfs.ext4 -q -F -L salve-data -E nodiscard /dev/md0 || vm_fail "mkfs.ext4 on md0"
mkdir -p /srv/data
mount -t ext4 /dev/md0 /srv/data || vm_fail "mount md0"
systemctl restart db.service app.service || vm_fail "restart db and app"
[[ -s /srv/data/db.log ]] || vm_fail "db wrote nothing to /srv/data"
sync
vm_ok "md0 resyncing ($(vm_md md0 sync_completed)); ext4 salve-data mounted on /srv/data, db and app wrote to it"

# keep the filesystem busy until the power goes
( i=0; while :; do i=$((i + 1)); head -c 65536 /dev/urandom >"/srv/data/w$((i % 64))"; done ) &
done_=0
end=$(( $(vm_now_ms) + 90000 ))
while (( done_ < 8192 )); do
    (( $(vm_now_ms) < end )) || vm_fail "resync too slow: sync_completed $(vm_md md0 sync_completed)"
    sleep 0.5
    done_=$(vm_md md0 sync_completed | cut -d' ' -f1)
    [[ "$done_" =~ ^[0-9]+$ ]] || done_=0
done
dumpe2fs -h /dev/md0 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' \
    || vm_fail "ext4 on md0 is mounted but not marked needs_recovery"
sync_c=$(vm_md md0 sync_completed)
vm_ok "md0 mid-resync at $sync_c, ext4 mounted and being written (needs_recovery)"
echo "$sync_c" >"$VM_JOB/phase1-sync-completed"
vm_powercut "md0 mid-resync at $sync_c, ext4 being written"
