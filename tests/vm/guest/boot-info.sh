#!/bin/bash
set -u
echo "pid1=$(cat /proc/1/comm) kernel=$(uname -r)"
systemctl is-system-running
systemd-analyze blame | head -15
systemd-analyze critical-chain salve-vm-job.service
systemctl list-jobs
cat /proc/mdstat
ls $VM_BUILD/tests/integration/watch-driver
exit 0
