#!/bin/bash
# Holds, systemd's side, in a real systemd container: salve-generator's
# drop-ins, and salve-gate@.service holding a unit's start job until the
# gates directory says it is released, at start and at run time (the gate
# stopped under a running unit), SIGUSR1 and SIGTERM, the fallback.
#
# salved's own hold logic is NOT used: salved is masked, and the test
# writes /run/salve/gates itself as a stand-in for salved's decision
# (holds_standin_*). A test with salved itself reuses the helpers below.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

GATES=/run/salve/gates
# gate_of UNIT: the gate unit's name (escaping as in gate-util.c, for the
# names used here: only "@" needs it).
gate_of() { echo "salve-gate@${1//@/\\x40}.service"; }
# holds_standin_hold UNIT TEXT / holds_standin_release UNIT / holds_standin_ready
holds_standin_hold() {
    rig_exec sh -c 'mkdir -p "$0" && printf "%s\n" "$2" >"$0/.t" && mv "$0/.t" "$0/$1"' "$GATES" "$1" "$2"
}
holds_standin_release() { rig_exec rm -f "$GATES/$1"; }
holds_standin_ready() { rig_exec sh -c "mkdir -p $GATES && touch $GATES/.r && mv $GATES/.r $GATES/ready"; }
# unit_active UNIT; job_waiting UNIT: a start job of UNIT is queued
unit_active() { rig_exec systemctl is-active -q "$1"; }
unit_not_active() { ! rig_exec systemctl is-active -q "$1"; }
job_of() { rig_exec systemctl list-jobs --no-legend --plain | awk -v u="$1" '$2 == u {print $3 " " $4}'; }
gate_status() { rig_exec systemctl show -p StatusText --value "$(gate_of "$1")"; }
# wait_active UNIT SECS: prints the ms it took
wait_active() {
    local t0; t0=$(rig_now_ms)
    rig_wait_for "$1 active" "$2" systemctl is-active -q "$1" || return 1
    echo $(( $(rig_now_ms) - t0 ))
}

salve_setup holdsboot$$
cat >"$SALVE_STAGE/etc/salve/plans.d/holds.yaml" <<'PLAN'
plan: holds-test
description: holds two units (the test writes the gates directory itself)
trigger: [manual]
armed: true
holds: [demo-db.service, "demo-tpl@x1.service"]
steps:
  - id: start-db
    run: unit.start
    with: {unit: demo-db.service}
PLAN
chmod 0644 "$SALVE_STAGE/etc/salve/plans.d/holds.yaml"
cat >"$SALVE_UNITS/demo-tpl@.service" <<'UNIT'
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
UNIT
rig_boot "$SALVE_STAGE" "$SALVE_STATE" "$SALVE_UNITS"
# No salved: its decision is the test's to write.
rig_exec systemctl mask --runtime salved.service >/dev/null 2>&1
rig_exec systemctl daemon-reload

# --- the generator's drop-ins ---
deps=$(rig_exec systemctl show -p Requires -p After demo-db.service)
check "demo-db requires its gate ($(grep Requires <<<"$deps"))" grep -q '^Requires=.*salve-gate@demo-db.service.service' <<<"$deps"
check "demo-db is ordered after its gate" grep -q '^After=.*salve-gate@demo-db.service.service' <<<"$deps"
tdeps=$(rig_exec systemctl show -p Requires 'demo-tpl@x1.service')
# (systemctl show doubles the backslash)
check "an instance's gate is escaped ($tdeps)" grep -qF 'salve-gate@demo-tpl\\x40x1.service.service' <<<"$tdeps"
check "the drop-in is in the generator's normal dir" \
    rig_exec test -f /run/systemd/generator/demo-db.service.d/50-salve-hold.conf
check "an unheld unit (demo-worker) has no gate" test -z "$(rig_exec systemctl show -p Requires --value demo-worker.service | grep salve-gate || true)"

# --- held at start (stand-in for salved: ready + the unit's file) ---
holds_standin_hold demo-db.service "held by the test's stand-in for salved"
holds_standin_ready
rig_exec systemctl start --no-block demo-db
sleep 1
check "demo-db does not start while held" unit_not_active demo-db
check "its start job waits ($(job_of demo-db.service))" test "$(job_of demo-db.service)" = "start waiting"
check "the gate's status is the hold's text ($(gate_status demo-db.service))" \
    test "$(gate_status demo-db.service)" = "held by the test's stand-in for salved"
check "systemctl status shows it" rig_exec sh -c "systemctl status '$(gate_of demo-db.service)' | grep -q 'Status: \"held by the test'"
check "the gate logged it with SALVE_UNIT=" \
    rig_exec sh -c "journalctl -o cat SALVE_UNIT=demo-db.service MESSAGE_ID=c07238e013484b8f89ffe5ef882670a7 | grep -q 'Holding demo-db.service'"
holds_standin_release demo-db.service
ms=$(wait_active demo-db.service 5) || rig_fail "demo-db did not start after its release"
check "released: demo-db starts ${ms} ms after its file goes (< 1 s)" test "$ms" -lt 1000

# --- run-time hold: the gate stopped under a running unit ---
holds_standin_hold demo-db.service "held at run time by the stand-in"
rig_exec busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
    StopUnit ss "$(gate_of demo-db.service)" ignore-dependencies >/dev/null
rig_wait_for "the gate inactive" 5 sh -c "! systemctl is-active -q '$(gate_of demo-db.service)'"
check "stopping the gate (ignore-dependencies) leaves demo-db running" unit_active demo-db
rig_exec systemctl restart --no-block demo-db
sleep 1
unit_active demo-db && rig_fail "demo-db restarted while held"
rig_ok "a restart of demo-db waits behind the gate ($(job_of demo-db.service))"
rig_exec systemctl kill -s USR1 "$(gate_of demo-db.service)"
ms=$(wait_active demo-db.service 5) || rig_fail "SIGUSR1 did not release demo-db"
check "SIGUSR1 releases it (${ms} ms)" test "$ms" -lt 1000
check "the manual release is logged" \
    rig_exec sh -c "journalctl -o cat SALVE_UNIT=demo-db.service SALVE_GATE_RELEASED_BY=operator | grep -q 'by hand'"

# --- an instance ---
holds_standin_hold demo-tpl@x1.service "instance held"
rig_exec systemctl start --no-block demo-tpl@x1.service
sleep 1
unit_active demo-tpl@x1.service && rig_fail "demo-tpl@x1 started while held"
check "the instance's gate shows its hold" test "$(gate_status demo-tpl@x1.service)" = "instance held"
holds_standin_release demo-tpl@x1.service
wait_active demo-tpl@x1.service 5 >/dev/null || rig_fail "demo-tpl@x1 not released"
rig_ok "the instance starts once released"

# --- SIGTERM while holding: the start fails, the unit stays stopped ---
holds_standin_hold demo-db.service "held for SIGTERM"
rig_exec systemctl stop demo-db "$(gate_of demo-db.service)"
rig_exec systemctl start --no-block demo-db
rig_wait_for "the gate to be activating" 5 sh -c "systemctl is-active '$(gate_of demo-db.service)' | grep -q activating"
rig_exec systemctl kill -s TERM "$(gate_of demo-db.service)"
rig_wait_for "demo-db's job to go" 5 sh -c "! systemctl list-jobs --no-legend | grep -q demo-db"
check "SIGTERM: demo-db did not start ($(rig_exec systemctl show -p Result --value "$(gate_of demo-db.service)"))" \
    unit_not_active demo-db
holds_standin_release demo-db.service

# --- the fallback: no decision from salved ---
rig_exec rm -f "$GATES/ready"
rig_exec sh -c 'echo SALVE_GATE_FALLBACK=release-after:2s > /etc/salve/gate.conf'
rig_exec systemctl reset-failed "$(gate_of demo-db.service)" 2>/dev/null || true
t0=$(rig_now_ms)
rig_exec systemctl start --no-block demo-db
rig_wait_for "the gate's warning" 5 sh -c "journalctl -o cat SALVE_UNIT=demo-db.service MESSAGE_ID=a74b9d0f852042769c102c766edf8ef4 | grep -q 'salved has not decided (salved.service is not running?)'"
rig_ok "the gate says why it waits, in the journal"
check "and in its status ($(gate_status demo-db.service))" grep -q 'salved has not decided' <<<"$(gate_status demo-db.service)"
rig_wait_for "demo-db active after the fallback" 10 systemctl is-active -q demo-db || rig_fail "release-after:2s did not release"
ms=$(( $(rig_now_ms) - t0 ))
check "release-after:2s released demo-db after ${ms} ms (2 s to 4 s)" test "$ms" -ge 1900 -a "$ms" -lt 4000
check "loudly" rig_exec sh -c "journalctl -o cat SALVE_UNIT=demo-db.service SALVE_GATE_RELEASED_BY=fallback PRIORITY=4 | grep -q WITHOUT"

rig_poweroff
rig_done
