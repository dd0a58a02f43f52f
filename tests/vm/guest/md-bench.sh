#!/bin/bash
# Guest script (2 small disks): the benchmark "md sync_action going idle to
# the trigger": md-bench-finished.py times, over ROUNDS rebuilds of one
# member, the step from sync_action reading idle to the md watcher printing
# resync-finished (see that file for the clocks).  Prints one "bench ..."
# summary line; the per-round figures go to the job dir as
# bench-md-resync-finished.json.  Fails if the watcher missed a
# resync-finished in any round (after printing the figure over the others).  Usage (on the host):
#   tests/vm/run.sh --build BUILDDIR --disk-size 16M tests/vm/guest/md-bench.sh [ROUNDS]
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rounds=${1:-5}
d1=$(vm_disk 1) d2=$(vm_disk 2)
[[ -b "$d1" && -b "$d2" ]] || vm_fail "virtio disks not found ($d1, $d2)"
drv="$VM_BUILD/tests/integration/watch-driver"
[[ -x "$drv" ]] || vm_fail "no watch-driver in $VM_BUILD"
# 4000 KiB/s: each rebuild of the 15 MiB member lasts about 4 s, so that
# both the watcher and the poller see it under way
echo 4000 >/proc/sys/dev/raid/speed_limit_min
echo 4000 >/proc/sys/dev/raid/speed_limit_max
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none \
    --assume-clean "$d1" "$d2" || vm_fail "mdadm --create"
vm_ok "md0 created in sync on $d1 $d2 ($(( $(blockdev --getsize64 /dev/md0) / 1048576 )) MiB)"
/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/md-bench-finished.py" "$drv" md0 "${d2##*/}" "$rounds" \
    || vm_fail "md-bench-finished.py failed"
vm_ok "benchmark done ($rounds rounds)"
mdadm --stop /dev/md0 >/dev/null 2>&1
vm_done
