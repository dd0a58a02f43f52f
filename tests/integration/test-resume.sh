#!/bin/bash
# Exact-step resume, in a real systemd container: after salved is killed
# (or the machine loses power) mid-step, salved asks systemd how each step
# the journal shows running stands, instead of assuming:
#   - the step's transient unit still runs: re-attached, nothing re-run,
#     nobody asked; retry is refused while it runs;
#   - it ended while salved was down: its real outcome (exit 0, exit 3,
#     its timeout passed counted from the original start);
#   - a unit job still queued: re-attached to the job;
#   - systemd no longer knows the unit, or the host rebooted: only then
#     interrupted, and the status says why;
#   - done-if: the check decides (0: done, 1: run again, other: interrupted).
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

salve_setup resume$$
cp "$SALVE_SOURCE_ROOT"/tests/data/plans/reconcile/*.yaml "$SALVE_STAGE/etc/salve/plans.d/"
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml
cat >"$SALVE_UNITS/rc-slow.service" <<'UNIT'
[Unit]
StartLimitIntervalSec=0
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo "rc-slow start" >> /var/lib/salve-test/rc.log; sleep 4; echo "rc-slow up" >> /var/lib/salve-test/rc.log'
UNIT
salve_boot

count() { grep -c -x -- "$1" "$SALVE_LOGS/rc.log" 2>/dev/null || true; }
message() { salve_json "$1" | jq -r --arg s "$2" '.steps[] | select(.id == $s) | .message'; }
attempt() { salve_json "$1" | jq -r --arg s "$2" '.steps[] | select(.id == $s) | .attempt'; }
# Kills salved with SIGKILL and waits for systemd's Restart= to bring up a new one.
kill_salved() {
    local pid
    pid=$(rig_exec systemctl show -p MainPID --value salved)
    rig_exec systemctl kill --kill-who=main -s KILL salved
    rig_wait_for "salved to die" 10 sh -c "! kill -0 $pid 2>/dev/null"
}
start_salved() {
    rig_exec systemctl reset-failed salved 2>/dev/null || true
    rig_exec systemctl start salved
    rig_wait_for "salved to be active" 20 systemctl is-active -q salved
}
# salved stays down while the test makes the world change.
rig_exec mkdir -p /run/systemd/system/salved.service.d
rig_exec sh -c 'printf "[Service]\nRestart=no\n" > /run/systemd/system/salved.service.d/no-restart.conf'
rig_exec systemctl daemon-reload

# --- 1. the unit still runs: re-attach, do not run it again ---
id=$(rig_exec salvectl run rc-long)
rig_wait_for_host "the long step to start" 20 grep -qx "long start 1" "$SALVE_LOGS/rc.log"
kill_salved
unit="salve-$id-long-1.service"
check "its unit runs on without salved" rig_exec systemctl is-active -q "$unit"
start_salved
check "after the restart the step is running, not interrupted" test "$(salve_step "$id" long)" = running
out=$(rig_exec salvectl retry "$id" long 2>&1) && rig_fail "retry of a running step was accepted"
check "retry is refused while the step runs ($out)" grep -q "still running" <<<"$out"
salve_wait "$id" succeeded 20
check "the command ran once" test "$(count "long start 1")" -eq 1 -a "$(grep -c "long start" "$SALVE_LOGS/rc.log")" -eq 1
check "and came to its end" test "$(count "long end 1")" -eq 1
check "its result is the unit's ($(message "$id" long))" grep -q "exit status 0" <<<"$(message "$id" long)"
check "one attempt" test "$(attempt "$id" long)" -eq 1
rig_wait_for "its unit to be released once the result is journaled" 10 \
    sh -c "test \"\$(systemctl show -p LoadState --value $unit)\" = not-found"

# --- 2. it ended while salved was down: its real outcome ---
for code in 0 3; do
    echo "$code" >"$SALVE_LOGS/rc-exit"
    id=$(rig_exec salvectl run rc-short)
    rig_wait_for_host "the short step to start" 20 grep -q "short start" "$SALVE_LOGS/rc.log"
    kill_salved
    unit="salve-$id-short-1.service"
    rig_wait_for "the command to end while salved is down" 20 \
        sh -c "systemctl show -p SubState --value $unit | grep -qx 'exited\|failed'"
    check "systemd keeps the ended unit ($(rig_exec systemctl show -p ActiveState --value "$unit")) for salved" \
        test "$(rig_exec systemctl show -p LoadState --value "$unit")" = loaded
    start_salved
    if [[ $code == 0 ]]; then
        salve_wait "$id" succeeded 20
        check "exit 0 while salved was down: succeeded ($(message "$id" short))" grep -q "exit status 0" <<<"$(message "$id" short)"
    else
        salve_wait "$id" failed 20
        check "exit 3 while salved was down: failed, not interrupted ($(message "$id" short))" \
            grep -q "exit status 3" <<<"$(message "$id" short)"
    fi
    check "ran once" test "$(grep -c "short start" "$SALVE_LOGS/rc.log")" -eq 1
    : >"$SALVE_LOGS/rc.log"
done

# --- 3. its timeout passed while salved was down, counted from the start ---
id=$(rig_exec salvectl run rc-timeout)
rig_wait_for_host "the slow step to start" 20 grep -q "slow start 1" "$SALVE_LOGS/rc.log"
kill_salved
sleep 5
start_salved
salve_wait "$id" failed 20
check "the timeout counted from the original start ($(message "$id" slow))" grep -q "timed out" <<<"$(message "$id" slow)"
check "not run again" test "$(grep -c "slow start" "$SALVE_LOGS/rc.log")" -eq 1
: >"$SALVE_LOGS/rc.log"

# --- 4. a unit job still running: re-attach to the job ---
id=$(rig_exec salvectl run rc-unit)
rig_wait_for_host "rc-slow to be starting" 20 grep -q "rc-slow start" "$SALVE_LOGS/rc.log"
kill_salved
start_salved
check "the unit step is running again, attached to its job" test "$(salve_step "$id" start-slow)" = running
salve_wait "$id" succeeded 20
check "the unit started once" test "$(count "rc-slow start")" -eq 1
check "judged by the job ($(message "$id" start-slow))" grep -q "start job done" <<<"$(message "$id" start-slow)"
: >"$SALVE_LOGS/rc.log"

# --- 5. systemd no longer knows the unit: only then interrupted ---
id=$(rig_exec salvectl run rc-long)
rig_wait_for_host "the long step to start" 20 grep -q "long start 1" "$SALVE_LOGS/rc.log"
kill_salved
rig_exec systemctl stop "salve-$id-long-1.service"
start_salved
salve_wait_step "$id" long interrupted 20
check "interrupted, saying why ($(message "$id" long))" grep -q "systemd no longer knows" <<<"$(message "$id" long)"
rig_exec salvectl abort "$id" long
salve_wait "$id" failed 20
: >"$SALVE_LOGS/rc.log"
rig_exec rm -f /run/systemd/system/salved.service.d/no-restart.conf
rig_exec systemctl daemon-reload

# --- 6. the host rebooted while it ran ---
id=$(rig_exec salvectl run rc-long)
rig_wait_for_host "the long step to start" 20 grep -q "long start 1" "$SALVE_LOGS/rc.log"
rig_powercut
salve_boot
salve_wait_step "$id" long interrupted 20
check "after a power cut: interrupted because the host rebooted ($(message "$id" long))" \
    grep -q "the host rebooted while it ran" <<<"$(message "$id" long)"
check "and not run again" test "$(grep -c "long start" "$SALVE_LOGS/rc.log")" -eq 1
rig_exec salvectl abort "$id" long
: >"$SALVE_LOGS/rc.log"

# --- 7. done-if decides after a power cut ---
for code in 0 1 2; do
    echo "$code" >"$SALVE_LOGS/rc-check"
    id=$(rig_exec salvectl run rc-doneif)
    rig_wait_for_host "the restore step to start" 20 grep -q "restore start 1" "$SALVE_LOGS/rc.log"
    rig_powercut
    salve_boot
    case $code in
    0)
        salve_wait "$id" succeeded 20
        check "done-if exit 0: succeeded without running it again ($(message "$id" restore))" \
            grep -q "done-if check says its effect is in place" <<<"$(message "$id" restore)"
        check "the command ran once" test "$(grep -c "restore start" "$SALVE_LOGS/rc.log")" -eq 1
        ;;
    1)
        salve_wait "$id" succeeded 30
        check "done-if exit 1: run again, attempt 2" test "$(attempt "$id" restore)" -eq 2
        check "the command ran a second time, to its end" test "$(count "restore end 2")" -eq 1
        ;;
    2)
        salve_wait_step "$id" restore interrupted 20
        check "done-if exit 2: left interrupted ($(message "$id" restore))" \
            grep -q "done-if check did not tell" <<<"$(message "$id" restore)"
        rig_exec salvectl abort "$id" restore
        ;;
    esac
    check "the check ran once" test "$(count check)" -eq 1
    : >"$SALVE_LOGS/rc.log"
done

rig_poweroff
rig_done
