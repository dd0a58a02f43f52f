#!/bin/bash
# shellcheck source-path=SCRIPTDIR disable=SC2016
# Holds with salved deciding, in a real systemd: salve-generator's drop-ins
# make demo-db, demo-api and demo-worker require their gates, and salved
# writes /run/salve/gates (tests/data/plans/holds/):
#   1. at run time: while holds-run runs, `systemctl start demo-db` waits
#      behind the gate (a queued job, the gate's Status names the run) and
#      a running unit is not stopped; the step that starts demo-db
#      releases it, demo-api stays held until its own step;
#   2. a failed run keeps its unit held, `salvectl holds` and `status` say
#      why, `salvectl release` lets it go (journaled, by whom);
#   3. at boot after a power cut (kill -9 of the container's PID 1): the
#      unit wanted at boot waits from the first moment until holds-boot's
#      step starts it; on a clean boot nothing is held and the held units'
#      gates open as soon as salved has decided.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/salve-lib.sh
. "$here/salve-lib.sh"

salve_setup "salve-holds-$$"
cp "$SALVE_SOURCE_ROOT"/tests/data/plans/holds/*.yaml "$SALVE_STAGE/etc/salve/plans.d/"
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml
# The integration plans' own boot plan would run too; only ours here.
rm -f "$SALVE_STAGE/etc/salve/plans.d/on-unclean-boot.yaml"
# The rig installs the stage after the container's systemd is up, so the
# gates exist only from the daemon-reload below: a unit wanted by the boot
# target would start before any gate. The boot case is played by starting
# the unit before salved: its gate pulls salved in (Wants=), as at a real
# boot (the md VM test has salve installed before it boots).

gate_of() { printf 'salve-gate@%s.service' "$1"; }

boot() {
    rig_boot "$SALVE_STAGE" "$SALVE_STATE" "$SALVE_UNITS"
    # The stage is installed after systemd is up: run the generator now,
    # as it would have run at boot.
    rig_exec systemctl daemon-reload
}

job_of() { rig_exec systemctl show -P Job "$1" 2>/dev/null || true; }
active() { [[ "$(rig_exec systemctl is-active "$1" 2>/dev/null || true)" == "$2" ]]; }

# ---- 1. run time ----
boot
check "the generator made demo-db require its gate" \
    sh -c "nsenter -t $RIG_PID1 -a systemctl show -P Requires demo-db.service | grep -q 'salve-gate@demo-db.service.service'"
rig_exec systemctl start salved
rig_wait_for "salved to be active" 20 systemctl is-active -q salved
check "salved wrote ready" rig_exec test -e /run/salve/gates/ready
check "nothing is held before any run" sh -c "! nsenter -t $RIG_PID1 -a ls /run/salve/gates | grep -q service"

# demo-api runs before the run begins: a hold must not stop it.
rig_exec systemctl start demo-api
check "demo-api runs before the run" active demo-api.service active

run=$(rig_exec salvectl run holds-run)
salve_wait_step "$run" repair running 20
check "salvectl holds lists demo-db held by the run" \
    sh -c "nsenter -t $RIG_PID1 -a salvectl --json holds | jq -e --arg r '$run' '.[] | select(.unit == \"demo-db.service\" and .run == \$r)' >/dev/null"
check "the hold says until which step" \
    sh -c "nsenter -t $RIG_PID1 -a salvectl holds | grep demo-db.service | grep -q 'until step start-db starts'"
check "demo-api still runs (a hold does not stop a running unit)" active demo-api.service active

rig_exec systemctl start --no-block demo-db
sleep 1
check "demo-db's start job waits behind its gate" sh -c "[ \"\$(nsenter -t $RIG_PID1 -a systemctl show -P Job demo-db.service)\" != 0 ]"
check "demo-db is not active while held" active demo-db.service inactive
check "the gate's status names the run" \
    sh -c "nsenter -t $RIG_PID1 -a systemctl show -P StatusText '$(gate_of demo-db.service)' | grep -q 'held by run $run'"

# A restart of the running demo-api also waits now.
rig_exec systemctl restart --no-block demo-api
sleep 1
check "demo-api's restart waits behind its gate" active demo-api.service inactive
check "the gates' state is in salvectl status" sh -c "nsenter -t $RIG_PID1 -a salvectl status | grep -q 'demo-api.service'"

t_go=$(rig_now_ms)
rig_exec touch /run/holds-go
rig_wait_for "demo-db to be active" 20 sh -c "systemctl is-active -q demo-db"
t_db=$(rig_now_ms)
rig_ok "demo-db active $(( t_db - t_go )) ms after the repair step could end"
salve_wait_step "$run" start-db succeeded 20
check "demo-api is still held while step settle waits" active demo-api.service inactive
check "only demo-api is held now" \
    sh -c "[ \"\$(nsenter -t $RIG_PID1 -a salvectl --json holds | jq -r '.[].unit' | tr '\n' ' ')\" = 'demo-api.service ' ]"
rig_exec touch /run/holds-go-api
salve_wait "$run" succeeded 30
check "demo-api is active after its step" active demo-api.service active
check "nothing is held after the run succeeded" \
    sh -c "[ \"\$(nsenter -t $RIG_PID1 -a salvectl --json holds | jq length)\" = 0 ]"
check "the order was db, then api" \
    sh -c "grep -E '^start demo-(db|api)' '$SALVE_LOGS/units.log' | tail -2 | tr '\n' ' ' | grep -q 'start demo-db start demo-api'"

# ---- 2. a failed run keeps holding ----
frun=$(rig_exec salvectl run holds-fail)
salve_wait "$frun" failed 30
check "the failed run keeps demo-worker held, saying why" \
    sh -c "nsenter -t $RIG_PID1 -a salvectl holds | grep demo-worker.service | grep -q 'because step check-disk failed'"
rig_exec systemctl start --no-block demo-worker
sleep 1
check "demo-worker does not start while the failed run holds it" active demo-worker.service inactive
check "release of a unit nobody holds is refused, saying it is not held" \
    sh -c "! nsenter -t $RIG_PID1 -a salvectl release demo-db.service 2>$RIG_WORK/release.err &&
           grep -q 'demo-db.service is not held' $RIG_WORK/release.err"
rig_exec salvectl release demo-worker.service --comment "disk replaced by hand"
rig_wait_for "demo-worker to start once released" 20 sh -c "systemctl is-active -q demo-worker"
check "the release is journaled with who and why" \
    sh -c "nsenter -t $RIG_PID1 -a journalctl -u salved -o cat | grep -q 'released demo-worker.service: disk replaced by hand'"
# The release survives a restart of salved (it is in the run journal).
rig_exec systemctl restart salved
rig_wait_for "salved to be active again" 20 systemctl is-active -q salved
check "after a restart demo-worker is still released" \
    sh -c "[ \"\$(nsenter -t $RIG_PID1 -a salvectl --json holds | jq length)\" = 0 ]"

# ---- 3. boot after a power cut ----
rig_powercut
boot
# As at boot: the unit's start job comes first, pulls its gate, and the
# gate pulls salved (Wants=); salved's startup must leave the waiting gate
# alone (it once swept it away as a leftover salve-* unit, cancelling the
# held unit's start job: db never started in the md VM).
rig_exec systemctl start --no-block demo-worker
rig_wait_for "salved to be active after the power cut" 30 systemctl is-active -q salved
brun=$(rig_exec salvectl --json status | jq -r '.[] | select(.plan == "holds-boot") | .id' 2>/dev/null || true)
[[ -n "$brun" ]] || brun=$(rig_exec sh -c "salvectl --json history | jq -r '.[] | select(.plan == \"holds-boot\") | .id' | tail -1")
check "the unclean boot started holds-boot" test -n "$brun"
sleep 1
check "demo-worker waits behind its gate after the unclean boot" active demo-worker.service inactive
check "demo-worker's start job from before salved started is still queued" \
    sh -c "[ \"\$(nsenter -t $RIG_PID1 -a systemctl show -P Job demo-worker.service)\" != 0 ]"
check "the gate's status names the boot run" \
    sh -c "nsenter -t $RIG_PID1 -a systemctl show -P StatusText '$(gate_of demo-worker.service)' | grep -q 'held by run $brun'"
rig_exec touch /run/boot-go
rig_wait_for "demo-worker to start from the plan's step" 20 sh -c "systemctl is-active -q demo-worker"
salve_wait "$brun" succeeded 30

# ---- 4. a clean boot: nothing held, gates open at once ----
rig_poweroff
boot
t0=$(rig_now_ms)
rig_exec systemctl start --no-block demo-worker
rig_wait_for "demo-worker to start on a clean boot" 20 sh -c "systemctl is-active -q demo-worker"
rig_ok "clean boot: demo-worker active $(( $(rig_now_ms) - t0 )) ms after its start was asked for (its gate pulled salved in)"
check "no boot run on a clean boot" \
    sh -c "[ \"\$(nsenter -t $RIG_PID1 -a salvectl --json status | jq '[.[] | select(.plan == \"holds-boot\")] | length')\" = 0 ]"
check "salved logged its decision" \
    sh -c "nsenter -t $RIG_PID1 -a journalctl -u salved -o cat | grep -q 'Holds decided in .*: 0 units held'"

rig_done
