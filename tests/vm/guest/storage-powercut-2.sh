#!/bin/bash
# Guest script, second boot of the storage power-cut test
# (tests/vm/test-storage-powercut.sh): the same disks after
# storage-powercut-1.sh's power cut mid-resync with the ext4 on md0 mounted
# and being written. md resyncs at 1000 KiB/s from early boot on
# (vm-md-throttle.service) until this script lifts the limit. salve
# must: see the unclean shutdown, start a run of storage-recovery-vm at
# boot, keep db and app behind their gates (systemd's boot-time start jobs
# for them wait), start md0's pending resync and wait for it, fsck and
# mount the filesystem, wait for the DBA, start db, then app once db is
# active. The order is then checked on the timestamps systemd, md, the
# services and salve recorded; the figures go to storage-timings.json.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/storage-lib.sh"

plan=storage-recovery-vm
demo=0
[[ "${1:-}" == --demo ]] && demo=1   # tools/demo.sh: show what a person would look at
show() { (( demo )) || return 0; echo "\$ $*"; "$@" 2>&1 | sed 's/^/  /'; }
udevadm settle -t 30

# --- 1. the unclean shutdown is seen, and a run starts at boot
mountpoint -q /var/lib/salve || vm_fail "the state disk is not mounted on /var/lib/salve"
vm_wait "salved to be active" 60 systemctl is-active -q salved
journalctl -b -u salved -o cat | grep -q 'previous boot did not shut down cleanly' \
    || st_fail "salved did not see the unclean shutdown (boot-state: $(cat /var/lib/salve/boot-state 2>&1))"
vm_wait "a run of $plan" 30 sh -c "salvectl --json history | jq -e 'any(.[]; .plan == \"$plan\")'"
run=$(st_run "$plan")
[[ $(st_json "$run" | jq -r .trigger) == boot ]] || st_fail "run $run was not started by the boot trigger"
vm_ok "salved saw the unclean shutdown and started run $run of $plan at boot"

# --- 2. db and app are held: systemd's start jobs from boot wait behind their gates
declare -A gates=()
for u in db.service app.service; do
    gate=$(systemctl show -P Requires "$u" | tr ' ' '\n' | grep '^salve-gate@' || true)
    [[ -n "$gate" ]] || st_fail "$u does not require a salve-gate@ unit (no drop-in from salve-generator)"
    [[ $(st_prop "$gate" LoadState) == loaded ]] || st_fail "$gate is $(st_prop "$gate" LoadState) (units/salve-gate@.service not installed?)"
    [[ $(st_prop "$u" ActiveState) == inactive ]] || st_fail "$u is $(st_prop "$u" ActiveState) while the run holds it"
    systemctl list-jobs --no-legend --no-pager | grep -qE "^ *[0-9]+ +$u +start +waiting" \
        || st_fail "no waiting start job for $u: systemd did not try to start it at boot, or it ran"
    [[ $(st_prop "$gate" ActiveState) == activating ]] || st_fail "$gate is $(st_prop "$gate" ActiveState), not activating (holding)"
    status=$(st_prop "$gate" StatusText)
    [[ "$status" == *"held by run"* ]] || st_fail "$gate's status does not say which run holds $u: '$status'"
    echo "# $gate: $status"
    gates[$u]=$gate
done
gate_db=${gates[db.service]}
show systemctl status --no-pager --lines=0 "$gate_db"
show systemctl list-jobs --no-pager
vm_ok "db and app held: their boot-time start jobs wait behind $gate_db and ${gates[app.service]}, whose status names the run"

# --- 3. the pending resync is started by raid.wait-sync, and db waits for it
dmesg | grep -q 'md0: not clean -- starting background reconstruction' \
    || st_fail "md did not find md0 unclean (no 'not clean' in the kernel log)"
end=$(( $(vm_now_ms) + 60000 ))
until [[ $(vm_md md0 sync_action 2>/dev/null) == resync ]]; do
    (( $(vm_now_ms) < end )) || st_fail "md0's resync did not start within 60 s (array_state $(vm_md md0 array_state)," \
        "step raid-sync: $(st_step "$run" raid-sync state) $(st_step "$run" raid-sync message))"
    sleep 0.2
done
[[ $(st_step "$run" raid-sync state) == running ]] || st_fail "md0 resyncs but step raid-sync is $(st_step "$run" raid-sync state)"
sleep 3
[[ $(st_prop db.service ActiveState) == inactive ]] || st_fail "db started while md0 resyncs"
show cat /proc/mdstat
show salvectl status "$run"
vm_ok "raid-sync started md0's pending resync ($(vm_md md0 sync_completed)) and waits: $(st_step "$run" raid-sync message)"
echo 200000 >/proc/sys/dev/raid/speed_limit_max
echo 100000 >/proc/sys/dev/raid/speed_limit_min
vm_wait_md md0 sync_action idle 180
[[ $(vm_md md0 resync_start) == none ]] || st_fail "md0 idle but resync_start $(vm_md md0 resync_start)"
vm_ok "md0 in sync (resync_start none)"

# --- 4. fsck, mount, and the DBA's step
st_wait_step "$run" raid-sync succeeded 60
st_wait_step "$run" fsck succeeded 180
fsck_msg=$(st_step "$run" fsck message)
[[ "$fsck_msg" == *"needs recovery"* ]] \
    || st_fail "fsck did not find the ext4 needing recovery after the power cut: $fsck_msg"
vm_ok "fsck: $fsck_msg"
st_wait_step "$run" mount succeeded 60
mountpoint -q /srv/data || st_fail "step mount succeeded but /srv/data is not a mount point"
grep -q 'data-mounted=yes' /srv/data/db.log || st_fail "/srv/data/db.log lost db's line from the first boot"
st_wait_step "$run" dba-approval waiting 60
for u in db.service app.service; do
    [[ $(st_prop "$u" ActiveState) == inactive ]] || st_fail "$u is $(st_prop "$u" ActiveState) before the DBA approved"
done
vm_ok "/srv/data mounted with the first boot's data; the run waits for the DBA, db and app still held"
show salvectl status "$run"
show salvectl approve "$run" dba-approval --comment "demo: md0 in sync, fs checked"

if (( !demo )); then
    salvectl approve "$run" dba-approval --comment "VM test: md0 in sync, fs checked" >/dev/null \
        || st_fail "salvectl approve $run dba-approval failed"
fi
end=$(( $(vm_now_ms) + 120000 ))
until [[ $(st_json "$run" | jq -r .state) == succeeded ]]; do
    st=$(st_json "$run" | jq -r .state)
    [[ $st == failed || $st == cancelled ]] && st_fail "run $run $st after the approval"
    (( $(vm_now_ms) < end )) || st_fail "run $run not succeeded 120 s after the approval ($st)"
    sleep 0.5
done
for u in db.service app.service; do
    [[ $(st_prop "$u" ActiveState) == active ]] || st_fail "$u is $(st_prop "$u" ActiveState) after the run"
done
vm_ok "approved: run $run succeeded, db and app active"
show salvectl status "$run"
show salvectl history
show journalctl -b -o short-monotonic --no-pager SALVE_RUN="$run"
show journalctl -b -o short-monotonic --no-pager _SYSTEMD_UNIT=db.service _SYSTEMD_UNIT=app.service

# --- 5. the order, from the timestamps
json=$(st_json "$run")
sus() { jq -r --arg s "$1" ".steps[] | select(.id == \$s) | .$2" <<<"$json"; }
db_start_m=$(st_prop db.service ExecMainStartTimestampMonotonic)
db_active_m=$(st_prop db.service ActiveEnterTimestampMonotonic)
app_start_m=$(st_prop app.service ExecMainStartTimestampMonotonic)
# realtime = monotonic + off, off from systemd's own pair for db's start
db_exit_rt=$(busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1/unit/db_2eservice \
    org.freedesktop.systemd1.Unit InactiveExitTimestamp | cut -d' ' -f2)
db_exit_m=$(st_prop db.service InactiveExitTimestampMonotonic)
off=$(( db_exit_rt - db_exit_m ))
k_done=$(st_ktime 'md: md0: resync done.')
[[ -n "$k_done" ]] || st_fail "no 'md: md0: resync done.' in the kernel log"
k_done_m=$(awk -v s="$k_done" 'BEGIN { printf "%d", s * 1000000 }')
sync_end_m=$(( $(sus raid-sync finished_usec) - off ))
fsck_end_m=$(( $(sus fsck finished_usec) - off ))
appr_m=$(( $(sus dba-approval finished_usec) - off ))
trig=$(jq -r .trigger_usec <<<"$json") created=$(jq -r .created_usec <<<"$json")
us_rt=$(busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
    org.freedesktop.systemd1.Manager UserspaceTimestamp | cut -d' ' -f2)
kboot_rt=$(( off ))   # CLOCK_MONOTONIC 0, in realtime
ms() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1000 }'; }
(( k_done_m < db_start_m )) || st_fail "db started (mono $db_start_m us) before md logged the resync done ($k_done_m us)"
(( sync_end_m <= db_start_m )) || st_fail "db started before step raid-sync ended"
(( fsck_end_m <= db_start_m )) || st_fail "db started before fsck passed"
(( appr_m <= db_start_m )) || st_fail "db started before the approval"
(( db_active_m <= app_start_m )) || st_fail "app started (mono $app_start_m) before db was active ($db_active_m)"
vm_ok "md resync done $(ms $(( db_start_m - k_done_m ))) ms, fsck passed $(ms $(( db_start_m - fsck_end_m ))) ms," \
    "approval $(ms $(( db_start_m - appr_m ))) ms before db started; app $(ms $(( app_start_m - db_active_m ))) ms after db was active"
d=$(( trig - us_rt )); d=${d#-}
(( d < 2000000 )) || st_fail "the run's RTO clock (trigger_usec $trig) is not systemd's start ($us_rt)"
(( trig - kboot_rt < 60000000 )) || st_fail "the run's RTO clock started $(ms $(( trig - kboot_rt ))) ms after the kernel booted"
[[ $(jq -r .deadline_usec <<<"$json") == $(( trig + 900000000 )) ]] \
    || st_fail "deadline $(jq -r .deadline_usec <<<"$json") is not the RTO clock + 15m"
vm_ok "RTO clock started at boot: $(ms $(( trig - kboot_rt ))) ms after the kernel (systemd's start); the run was created $(ms $(( created - trig ))) ms later"
n=$(journalctl -b -o cat _SYSTEMD_UNIT=db.service | grep -c '^db started' || true)
(( n == 1 )) || st_fail "db started $n times in this boot"
journalctl -b -o cat -u "$gate_db" | grep -q 'held by run' || st_fail "$gate_db logged no hold in the journal"
salvectl --json history | jq -e --arg r "$run" 'any(.[]; .id == $r and .state == "succeeded")' >/dev/null \
    || st_fail "run $run is not in salvectl history as succeeded"
vm_ok "db started once; its gate logged the hold; run $run is in salvectl history"
jq -n --argjson boot_to_trigger_us $(( trig - kboot_rt )) --argjson trigger_to_created_us $(( created - trig )) \
    --argjson resync_done_to_sync_step_end_us $(( sync_end_m - k_done_m )) \
    --argjson resync_done_to_db_start_us $(( db_start_m - k_done_m )) \
    --argjson approval_to_db_start_us $(( db_start_m - appr_m )) \
    --argjson db_active_to_app_start_us $(( app_start_m - db_active_m )) \
    '$ARGS.named' >"$VM_JOB/storage-timings.json"
salvectl status "$run" >"$VM_JOB/run-status.txt" 2>&1
journalctl -b -o short-monotonic --no-pager >"$VM_JOB/journal.txt" 2>/dev/null
vm_done
