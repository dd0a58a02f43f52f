#!/bin/bash
# Guest script for bench/bench-md-holds.sh (3 disks: a 16 MiB RAID1 on 1
# and 2, salved's state on 3; salve installed before boot with the plan
# data/storage-holds-bench.yaml): md resync finished -> the held unit's
# start job, ROUNDS times. Each round: db stopped, md0 stopped and assembled
# again with --update=resync (Debian's start_ro=1: read-auto, resync
# pending, as after a power cut), salvectl run storage-holds-bench (the run
# holds db), a start job for db queued (it waits behind the gate, as a
# boot's does), then raid.wait-sync starts the resync (4000 KiB/s, about 4
# s) and start-db starts db when it is over. Times, on CLOCK_MONOTONIC:
#   idle:  a poll() on md0's sync_action (POLLPRI, md's notification, the
#          one salve waits on) woke and read idle after reading resync;
#   klog:  md's "md: md0: resync done." printk time (md logs it a little
#          before it clears sync_action: an upper bound's start);
#   job:   db's InactiveExitTimestampMonotonic: systemd ran db's start job
#          ("Starting db.service");
#   exec:  db's ExecMainStartTimestampMonotonic: its process started.
# Prints "bench md-holds: ..." with medians, min and max of idle->job,
# klog->job and idle->exec; the rounds go to bench-md-holds.json in the job
# dir.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/storage-lib.sh"

uuid=${1:?usage: storage-bench.sh MD-UUID [ROUNDS]}
rounds=${2:-5}
plan=storage-holds-bench
d1=$(vm_disk 1) d2=$(vm_disk 2)
[[ -b "$d1" && -b "$d2" ]] || vm_fail "virtio disks not found ($d1, $d2)"
vm_wait "salved to be active" 60 systemctl is-active -q salved
echo 4000 >/proc/sys/dev/raid/speed_limit_min
echo 4000 >/proc/sys/dev/raid/speed_limit_max
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none \
    --assume-clean --uuid="$uuid" "$d1" "$d2" || vm_fail "mdadm --create"
vm_ok "md0 created in sync on $d1 $d2 ($(( $(blockdev --getsize64 /dev/md0) / 1048576 )) MiB)"

# the poller: prints CLOCK_MONOTONIC ns when sync_action reads idle after resync
cat >/run/md-idle.py <<'PY'
import os, select, sys, time
f = open("/sys/block/md0/md/sync_action", "rb", buffering=0)
p = select.poll()
p.register(f, select.POLLPRI | select.POLLERR)
seen = False
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    f.seek(0)
    v = f.read().strip()
    t = time.monotonic_ns()
    if v != b"idle":
        seen = True
    elif seen:
        print(t // 1000, flush=True)
        sys.exit(0)
    p.poll(1000)
sys.exit(1)
PY

json=()
# a failure exits while the poller may still run: it holds the output pipe
trap '[[ -n "${IDLE_PID:-}" ]] && kill "$IDLE_PID" 2>/dev/null' EXIT
for (( r = 1; r <= rounds; r++ )); do
    systemctl stop db.service
    mdadm --stop /dev/md0 >/dev/null 2>&1 || vm_fail "round $r: mdadm --stop"
    mdadm --assemble /dev/md0 --update=resync "$d1" "$d2" >/dev/null 2>&1 \
        || vm_fail "round $r: mdadm --assemble --update=resync"
    [[ $(vm_md md0 array_state) == read-auto ]] || vm_fail "round $r: md0 is $(vm_md md0 array_state), not read-auto"
    [[ $(vm_md md0 resync_start) != none ]] || vm_fail "round $r: no resync pending after --update=resync"
    dmesg -C
    coproc IDLE { exec python3 /run/md-idle.py 120; }
    line=
    read -r -t 30 line <&"${IDLE[0]}" || true
    [[ $line == ready ]] || vm_fail "round $r: the poller did not start"
    run=$(salvectl run "$plan" --reason "bench round $r") || st_fail "round $r: salvectl run $plan failed"
    end=$(( $(vm_now_ms) + 20000 ))
    until [[ -e /run/salve/gates/db.service ]]; do
        (( $(vm_now_ms) < end )) || st_fail "round $r: run $run does not hold db within 20 s (no /run/salve/gates/db.service)"
        sleep 0.1
    done
    systemctl start --no-block db.service
    idle=
    read -r -t 120 idle <&"${IDLE[0]}" || st_fail "round $r: md0 did not go from resync to idle (raid-sync: $(st_step "$run" raid-sync state) $(st_step "$run" raid-sync message))"
    wait "$IDLE_PID" 2>/dev/null
    vm_wait "round $r: db active" 60 systemctl is-active -q db.service
    st_wait_step "$run" start-db succeeded 60
    job=$(st_prop db.service InactiveExitTimestampMonotonic)
    exe=$(st_prop db.service ExecMainStartTimestampMonotonic)
    k=$(st_ktime 'md: md0: resync done.')
    [[ -n "$k" ]] || st_fail "round $r: no 'md: md0: resync done.' in the kernel log"
    klog=$(awk -v s="$k" 'BEGIN { printf "%d", s * 1000000 }')
    (( job > idle - 200000 )) || st_fail "round $r: db's start job ran ($job) before md0 was in sync ($idle)"
    vm_ok "round $r: sync_action idle -> db's start job $(( (job - idle) / 1000 )) ms (from md's log line $(( (job - klog) / 1000 )) ms)"
    json+=("{\"idle_us\":$idle,\"klog_us\":$klog,\"job_us\":$job,\"exec_us\":$exe}")
done
printf '%s\n' "${json[@]}" | jq -s . >"$VM_JOB/bench-md-holds.json"
jq -r '
  def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def f(a): (a | map(. / 1000)) as $v
    | "median \($v | med * 10 | round / 10) ms (min \($v | min * 10 | round / 10), max \($v | max * 10 | round / 10))";
  "bench md-holds: \(length) rounds; md sync_action idle -> held db start job: \(f(map(.job_us - .idle_us)));"
  + " from md'"'"'s log line: \(f(map(.job_us - .klog_us))); idle -> db process: \(f(map(.exec_us - .idle_us)))"
' "$VM_JOB/bench-md-holds.json"
vm_done
