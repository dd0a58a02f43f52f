#!/bin/bash
# tests/vm/guest-run.sh - runs inside the md VM as salve-vm-job.service:
# runs the job's guest script (job.env, written by run.sh) with the helpers of
# tests/vm/guest/lib.sh at hand, writes its output to guest.out and its exit
# status to guest.rc in the job dir (/mnt/salve-job, the host's job dir over
# 9p), and returns, after which systemd powers the VM off.
set -u
job=/mnt/salve-job
# shellcheck source=/dev/null
. "$job/job.env"
export VM_JOB=$job VM_SRC VM_BUILD VM_PHASE VM_NDISKS
up=$(cut -d' ' -f1 /proc/uptime)
echo "VM-JOB-START uptime=$up" >/dev/console
echo "$up" >"$job/job-start-uptime"
cd /tmp || exit 1
bash "$VM_SCRIPT" "${VM_ARGS[@]}" 2>&1 | tee "$job/guest.out" >/dev/console
rc=${PIPESTATUS[0]}
dmesg >"$job/dmesg.txt" 2>&1
if (( rc != 0 && rc != 77 )); then
    journalctl -b --no-pager -o short-monotonic >"$job/journal.txt" 2>&1
fi
echo "$rc" >"$job/guest.rc"
sync
echo "VM-JOB-END rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)" >/dev/console
exit 0
