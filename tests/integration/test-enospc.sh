#!/bin/bash
# A full disk, in a real systemd container: salved's state directory is a
# tiny tmpfs that the test fills.
#   - mid-step: the step's result cannot be journaled; salved stays up,
#     holds the result, refuses new work with a clear error, keeps the
#     step's unit (so even a crash now loses nothing), and journals and
#     acts on the result as soon as space returns;
#   - at start: salved is started on a full disk with a run in progress;
#     it stays up, and the run goes on once there is space.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

salve_setup enospc$$
cp "$SALVE_SOURCE_ROOT"/tests/data/plans/reconcile/*.yaml "$SALVE_STAGE/etc/salve/plans.d/"
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml
salve_boot

message() { salve_json "$1" | jq -r --arg s "$2" '.steps[] | select(.id == $s) | .message'; }
fill() { rig_exec sh -c 'dd if=/dev/zero of=/var/lib/salve/fill bs=4k 2>/dev/null; sync' || true; }
unfill() { rig_exec rm -f /var/lib/salve/fill; }
start_salved() {
    rig_exec systemctl reset-failed salved 2>/dev/null || true
    rig_exec systemctl start salved
    rig_wait_for "salved to be active" 20 systemctl is-active -q salved
}

# The state directory on a 1 MiB tmpfs.
rig_exec systemctl stop salved
rig_exec sh -c 'mount -t tmpfs -o size=1m,mode=0700 tmpfs /var/lib/salve'
start_salved
echo 0 >"$SALVE_LOGS/rc-exit"

held() { rig_exec systemctl show -p StatusText --value salved; }
ran_once_each() {
    local i n
    for i in $(seq 1 16); do
        n=$(grep -c -x "s$i start" "$SALVE_LOGS/rc.log" || true)
        [[ $n == 1 ]] || { echo "step s$i ran $n times" >&2; return 1; }
    done
}

# --- 1. the disk fills while the steps run ---
id=$(rig_exec salvectl run rc-fill)
rig_wait_for_host "the first step to start" 20 grep -q "s1 start" "$SALVE_LOGS/rc.log"
fill
rig_wait_for "salved to say the journal cannot be written" 30 \
    sh -c "systemctl show -p StatusText --value salved | grep -q 'cannot be written'"
rig_ok "the journal met the full disk ($(held))"
check "salved stays up" rig_exec systemctl is-active -q salved
check "the run is not over ($(salve_state "$id"))" test "$(salve_state "$id")" = running
sleep 2
n=$(grep -c start "$SALVE_LOGS/rc.log")
sleep 2
check "nothing new starts while the journal cannot be written ($n steps ran)" \
    test "$(grep -c start "$SALVE_LOGS/rc.log")" -eq "$n"
out=$(rig_exec salvectl run rc-long 2>&1) && rig_fail "new work was accepted on a full disk"
check "new work is refused, saying why ($out)" grep -q "cannot write its run journal" <<<"$out"
full_id=$(grep -o 'JOURNAL_FULL *"[0-9a-f]*"' "$SALVE_SOURCE_ROOT/src/shared/log.h" | grep -o '[0-9a-f]\{32\}')
check "it is logged with its MESSAGE_ID" \
    rig_exec sh -c "journalctl -u salved -o verbose | grep -q MESSAGE_ID=$full_id"
if held | grep -q " [1-9][0-9]* results\? held"; then
    # A held result's unit stays, so a crash now loses nothing.
    unit=$(rig_exec sh -c "systemctl list-units --all --plain --no-legend 'salve-$id-*' | awk '\$4 == \"exited\" {print \$1}' | head -n1")
    check "the unit of the held result is kept ($unit)" test -n "$unit"
fi

# A crash now loses nothing: results are held in systemd's units.
pid=$(rig_exec systemctl show -p MainPID --value salved)
rig_exec systemctl kill --kill-who=main -s KILL salved
rig_wait_for "salved to die" 10 sh -c "! kill -0 $pid 2>/dev/null"
start_salved
check "after a crash on the full disk salved is up again" rig_exec systemctl is-active -q salved

t0=$(rig_now_ms)
unfill
salve_wait "$id" succeeded 60
rig_ok "space returned: the run went on and finished $(($(rig_now_ms) - t0)) ms later"
check "every step ran exactly once" ran_once_each
rig_wait_for "every unit to be released" 10 \
    sh -c "test -z \"\$(systemctl list-units --all --plain --no-legend 'salve-$id-*')\""
check "new work is taken again" rig_exec salvectl run rc-short
: >"$SALVE_LOGS/rc.log"
rig_wait_for "that run to finish" 20 sh -c "salvectl --json history | jq -e '.[] | select(.plan == \"rc-short\" and .state == \"succeeded\")' >/dev/null"
: >"$SALVE_LOGS/rc.log"

# --- 2. salved starts on a full disk with a run in progress ---
id=$(rig_exec salvectl run rc-fill)
rig_wait_for_host "the third step to start" 20 grep -q "s3 start" "$SALVE_LOGS/rc.log"
rig_exec systemctl stop salved
fill
start_salved
rig_wait_for "salved to say the journal cannot be written" 30 \
    sh -c "systemctl show -p StatusText --value salved | grep -q 'cannot be written'"
check "salved started on a full disk and stays up ($(held))" rig_exec systemctl is-active -q salved
unfill
salve_wait "$id" succeeded 60
check "space returned: the run finished, every step ran exactly once" ran_once_each

rig_exec systemctl stop salved
rig_exec umount /var/lib/salve
rig_poweroff
rig_done
