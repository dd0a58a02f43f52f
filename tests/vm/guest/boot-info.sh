#!/bin/bash
# Guest script for debugging the VM itself (not a test): what booted and how
# long each unit took, e.g. to find a unit worth masking in units/masked:
#   tests/vm/run.sh --build BUILDDIR --keep tests/vm/guest/boot-info.sh
echo "PID 1: $(cat /proc/1/comm); kernel $(uname -r); uptime $(cut -d' ' -f1 /proc/uptime) s"
echo "md_mod start_ro=$(cat /sys/module/md_mod/parameters/start_ro); $(head -n1 /proc/mdstat)"
echo "disks:" /dev/disk/by-id/virtio-salve-*
echo "build: ${VM_BUILD:-none}: $(ls "$VM_BUILD/tests/integration/watch-driver" 2>&1)"
echo "--- jobs still queued (the boot is not finished while this job runs)"
systemctl list-jobs --no-pager
echo "--- units started, in order (monotonic seconds)"
journalctl -b --no-pager -o short-monotonic _PID=1 | grep -E 'Starting|Started|Finished|Mounted|Reached' | cut -c1-140
echo "--- failed units"
systemctl --failed --no-pager
exit 0
