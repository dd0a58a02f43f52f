#!/bin/bash
# Kill salved (SIGKILL, from inside its own journal append) at every
# journal record of a run of the crash plan, whole and torn, then restart
# it and drive the run to its end. After each crash: no non-idempotent
# step ran twice, and no run whose start was acknowledged was lost.
#
# SALVE_CRASH_POINTS=N limits the number of crash points (default: all,
# twice the number of records of a full run, which is over 100).
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

salve_setup crash$$
cp "$SALVE_SOURCE_ROOT/tests/data/plans/crash/crash.yaml" "$SALVE_STAGE/etc/salve/plans.d/"
# Crashes are the point here: systemd must not restart salved on its own.
mkdir -p "$SALVE_UNITS/salved.service.d"
printf '[Service]\nRestart=no\n' >"$SALVE_UNITS/salved.service.d/crash-test.conf"
salve_boot

NONIDEMPOTENT=$(awk '/^  - id:/ {id=$3} /idempotent: false/ {print id}' \
    "$SALVE_SOURCE_ROOT/tests/data/plans/crash/crash.yaml")

# The newest run of the crash plan, or nothing.
latest_run() {
    rig_exec salvectl --json history | jq -r '[.[] | select(.plan == "crash")] | last | .id // empty'
}

# Drives a run to its end the way an operator would: approve the
# approval, skip what was interrupted. Fails after 60 s.
drive() {
    local run=$1 deadline=$((SECONDS + 60)) json state
    while ((SECONDS < deadline)); do
        json=$(rig_exec salvectl --json status "$run")
        state=$(jq -r .state <<<"$json")
        case $state in
        succeeded) return 0 ;;
        failed | cancelled) echo "run $run ended $state: $(jq -r .message <<<"$json")" >&2; return 1 ;;
        esac
        local s a
        while read -r s a; do
            [[ -n $s ]] || continue
            # Interrupted means systemd could not say how it ended: so its
            # command never started in that attempt (a unit that ran keeps
            # its outcome until salved has journaled it).
            if grep -qx "$s start $a" "$SALVE_LOGS/crash.log" 2>/dev/null; then
                echo "step $s is interrupted, but its attempt $a ran: systemd knew its outcome" >&2
                return 1
            fi
            rig_exec salvectl skip "$run" "$s" --comment "crash test" || true
        done < <(jq -r '.steps[] | select(.state == "interrupted") | "\(.id) \(.attempt)"' <<<"$json")
        if jq -e '.steps[] | select(.id == "approval" and .state == "waiting")' <<<"$json" >/dev/null; then
            rig_exec salvectl approve "$run" approval || true
        fi
        sleep 0.1
    done
    echo "run $run did not finish: $(rig_exec salvectl status "$run")" >&2
    return 1
}

fresh_state() {
    rig_exec systemctl stop salved
    rig_exec systemctl reset-failed salved 2>/dev/null || true
    # A fresh journal numbers runs from 1 again: no unit of an earlier
    # crash-1 may linger (salved keeps a unit until its result is journaled).
    rig_exec sh -c 'systemctl stop "salve-*"; systemctl reset-failed "salve-*"' 2>/dev/null || true
    rm -f "$SALVE_STATE/journal" "$SALVE_STATE/journal.tmp" "$SALVE_LOGS/crash.log"
}

# A full run without a crash tells how many records a run takes.
fresh_state
rig_exec systemctl start salved
run=$(rig_exec salvectl run crash)
drive "$run"
rig_exec systemctl restart salved
records=$(rig_exec sh -c "journalctl -u salved -o cat | grep -o 'replayed [0-9]* records' | tail -n1 | cut -d' ' -f2")
rig_ok "a full run takes $records journal records"
test "$records" -ge 50 || rig_fail "expected at least 50 records, got $records"

points=()
for ((k = 1; k <= records; k++)); do points+=("$k:0" "$k:9"); done
max=${SALVE_CRASH_POINTS:-${#points[@]}}
crashed=0 lost=0 t0=$(rig_now_ms)
for point in "${points[@]:0:$max}"; do
    k=${point%:*} torn=${point#*:}
    fresh_state
    rig_exec systemctl set-environment "SALVE_TEST_CRASH_AT_RECORD=$point"
    rig_exec systemctl start salved
    rig_exec systemctl unset-environment SALVE_TEST_CRASH_AT_RECORD
    pid=$(rig_exec systemctl show -p MainPID --value salved)
    acked=$(rig_exec salvectl --no-ask-password run crash 2>/dev/null || true)
    # Approve when asked, so that the records after the approval are
    # reached too; salved dies at the chosen one. Wait for that process:
    # a bus call after the crash D-Bus-activates a fresh salved at once.
    rig_wait_for "salved to crash at record $point" 60 \
        sh -c "! kill -0 $pid 2>/dev/null || { salvectl approve '${acked:-none}' approval 2>/dev/null; false; }"
    crashed=$((crashed + 1))

    rig_exec systemctl reset-failed salved 2>/dev/null || true
    rig_exec systemctl start salved
    run=$(latest_run)
    if [[ -z $run ]]; then
        # Only a torn first record (the run's creation) may vanish, and then
        # its start was never acknowledged.
        [[ $k == 1 && $torn != 0 && -z $acked ]] ||
            rig_fail "crash at $point: the run was lost (acknowledged as '$acked')"
        lost=$((lost + 1))
        continue
    fi
    [[ -z $acked || $acked == "$run" ]] || rig_fail "crash at $point: acknowledged $acked but found $run"
    drive "$run" || rig_fail "crash at $point: the run did not finish"
    for s in $NONIDEMPOTENT; do
        n=$(grep -c "^$s start " "$SALVE_LOGS/crash.log" || true)
        ((n <= 1)) || rig_fail "crash at $point: non-idempotent step $s ran $n times"
    done
    # No two attempts of a step ever overlap: each start is followed by
    # its own end before the next start of that step; and every attempt
    # that started came to its end.
    overlap=$(awk '$2 == "start" { if (open[$1] != "") print $1 " attempt " $3 " started while attempt " open[$1] " ran"; open[$1] = $3 }
                   $2 == "end" { if (open[$1] != $3) print $1 " attempt " $3 " ended but attempt " open[$1] " was running"; open[$1] = "" }
                   END { for (s in open) if (open[s] != "") print s " attempt " open[s] " never ended" }' \
        "$SALVE_LOGS/crash.log")
    [[ -z $overlap ]] || rig_fail "crash at $point: $overlap"
done
rig_ok "$crashed crash points in $(($(rig_now_ms) - t0)) ms: no non-idempotent step ran twice, no two attempts overlapped, no step left interrupted whose outcome systemd knew, no acknowledged run lost ($lost unacknowledged creations torn)"
test "$crashed" -ge "${SALVE_CRASH_MIN:-100}" || rig_fail "only $crashed crash points (want ${SALVE_CRASH_MIN:-100})"
rig_ok "at least ${SALVE_CRASH_MIN:-100} crash points"
rig_poweroff
rig_done
