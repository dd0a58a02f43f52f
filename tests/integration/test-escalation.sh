#!/bin/bash
# Escalation of a human step, in a real systemd container with salved:
#   - the owner is told when the step starts waiting, the next level after
#     each ack-timeout (2 s), the levels told before reminded with it;
#   - an acknowledgement (salvectl ack, polkit org.salve.ack) stops it and
#     records who and when; an unprivileged user is refused;
#   - salved killed mid-escalation, and the container's power cut, go on at
#     the level reached with the time left, telling no level twice;
#   - the chain runs out: unanswered, the plan's owner and fallback told;
#   - approving implies the acknowledgement; reminders after an ack;
#   - D-Bus: OpenHumanSteps lists the waiting step.
# What reaches the notifiers is test-relay-*.sh's business.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

salve_setup escalation$$
cp "$SALVE_SOURCE_ROOT"/tests/data/plans/escalation/*.yaml "$SALVE_STAGE/etc/salve/plans.d/"
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml
salve_boot

esc() { salve_json "$1" | jq -c --arg s "${2:-approve-start}" '.steps[] | select(.id == $s) | .escalation'; }
notices() { esc "$1" "${2:-approve-start}" | jq '.notified | length'; }
level_count() { esc "$1" | jq --argjson l "$2" '[.notified[] | select(.level == $l)] | length'; }
notice_at() { esc "$1" | jq --argjson i "$2" '.notified[$i].at_usec'; }
wait_notices() { # RUN N SECS
    rig_wait_for "$2 notices on run $1" "$3" \
        sh -c "salvectl --json status '$1' | jq -e '.steps[] | select(.id == \"approve-start\") | .escalation.notified | length >= $2' >/dev/null"
}
msgid_count() { # MESSAGE_ID RUN
    rig_exec journalctl -q -o cat -u salved "MESSAGE_ID=$1" "SALVE_RUN=$2" | wc -l
}
HUMAN_NOTIFIED=d7195819f2754b5f9e86e51b2d47af8b
HUMAN_ESCALATED=c06cfcb326914828945a6838f8053070
HUMAN_ACKNOWLEDGED=33b5b8a547cc4f08baa36bfd09e4882b
HUMAN_UNANSWERED=6e7c6417cbf0473f920c9aa9277982ad

# --- 1. the chain: owner, then each level after 2 s; an ack stops it ---
# the D-Bus signals a desktop or a local agent would follow
rig_exec sh -c 'nohup timeout 30 busctl monitor --json=short \
    --match="type=signal,interface=org.salve.Manager1,path=/org/salve/manager" >/run/salve-signals.json 2>/dev/null &'
sleep 0.5
id=$(rig_exec salvectl run esc-chain)
salve_wait_step "$id" approve-start waiting 20
wait_notices "$id" 1 10
check "the owner is told first (level 0: $(esc "$id" | jq -c '.notified[0].recipients'))" \
    test "$(esc "$id" | jq -r '.notified[0].name')" = primary
wait_notices "$id" 2 10
gap=$(( ($(notice_at "$id" 1) - $(notice_at "$id" 0)) / 1000 ))
check "level 1 (backup) after the 2 s ack-timeout (${gap} ms)" test "$gap" -ge 2000 -a "$gap" -lt 3500
check "it is the backup" test "$(esc "$id" | jq -r '.notified[1].name')" = backup
out=$(rig_exec_as mallory salvectl --no-ask-password ack "$id" approve-start 2>&1) && rig_fail "mallory acknowledged"
check "an unprivileged user cannot acknowledge ($out)" grep -qi "not authorized\|denied\|authentication" <<<"$out"
check "salvectl ack acknowledges" rig_exec salvectl ack "$id" approve-start --comment "on my way"
check "who acknowledged is recorded ($(esc "$id" | jq -r .acknowledged.by))" test "$(esc "$id" | jq -r .acknowledged.by)" = "root (uid 0)"
check "and how" test "$(esc "$id" | jq -r '.acknowledged.via')" = salvectl
out=$(rig_exec salvectl ack "$id" approve-start 2>&1) && rig_fail "a second ack was accepted"
check "a second ack is refused and names who did it ($out)" grep -q "acknowledged already, by root (uid 0)" <<<"$out"
sleep 4.5
check "no level 2 after the ack ($(notices "$id") notices)" test "$(notices "$id")" -eq 2
status=$(rig_exec salvectl status "$id")
check "status shows who was told" grep -q "told: .*(primary, level 0)" <<<"$status"
echo "$status" | sed "s|^|# |"
check "status shows the acknowledgement" grep -q "acknowledged by root (uid 0) via salvectl at [0-9:]*: on my way" <<<"$status"
check "status shows the bridge" grep -q "bridge: https://meet.example.com/esc" <<<"$status"
check "the journal has the human-needed entry" test "$(msgid_count $HUMAN_NOTIFIED "$id")" -eq 1
check "one escalated entry" test "$(msgid_count $HUMAN_ESCALATED "$id")" -eq 1
check "one acknowledged entry" test "$(msgid_count $HUMAN_ACKNOWLEDGED "$id")" -eq 1
prop=$(rig_exec busctl get-property org.salve.Manager1 /org/salve/manager org.salve.Manager1 OpenHumanSteps)
check "OpenHumanSteps lists the step, acknowledged by root ($prop)" grep -q "\"$id\" \"esc-chain\" \"approve-start\" \"approve\" \"acknowledged\"" <<<"$prop"
rig_exec salvectl approve "$id" approve-start
salve_wait "$id" succeeded 20
check "approving after the ack adds no second ack" test "$(msgid_count $HUMAN_ACKNOWLEDGED "$id")" -eq 1
sig() { rig_exec cat /run/salve-signals.json | jq -r --arg m "$1" 'select(.member == $m) | .payload.data | map(tostring) | join(" ")'; }
check "D-Bus HumanNotified: human-needed at level 0, then escalated at level 1 ($(sig HumanNotified | tr '\n' ';'))" \
    test "$(sig HumanNotified | grep "^$id approve-start" | cut -d' ' -f3,4 | tr '\n' ,)" = "human-needed 0,escalated 1,"
check "D-Bus HumanAcknowledged names who and how" grep -q "^$id approve-start root (uid 0) salvectl" <<<"$(sig HumanAcknowledged)"
check "D-Bus HumanDone when it was approved" grep -q "^$id approve-start succeeded" <<<"$(sig HumanDone)"

# --- 2. salved killed mid-escalation: the time left is kept ---
rig_exec mkdir -p /run/systemd/system/salved.service.d
rig_exec sh -c 'printf "[Service]\nRestart=no\n" > /run/systemd/system/salved.service.d/no-restart.conf'
rig_exec systemctl daemon-reload
id=$(rig_exec salvectl run esc-chain)
wait_notices "$id" 2 20
pid=$(rig_exec systemctl show -p MainPID --value salved)
rig_exec systemctl kill --kill-who=main -s KILL salved
rig_wait_for "salved to die" 10 sh -c "! kill -0 $pid 2>/dev/null"
sleep 3     # level 2 falls due while salved is down
rig_exec systemctl reset-failed salved 2>/dev/null || true
rig_exec systemctl start salved
rig_wait_for "salved to be active" 20 systemctl is-active -q salved
wait_notices "$id" 3 10
check "after the restart level 2 is told (it fell due while salved was down)" \
    test "$(esc "$id" | jq -r '.notified[2].name')" = manager
check "level 0 told once" test "$(level_count "$id" 0)" -eq 1
check "level 1 told once" test "$(level_count "$id" 1)" -eq 1
rig_wait_for "the chain to run out" 10 \
    sh -c "salvectl --json status '$id' | jq -e '.steps[] | select(.id == \"approve-start\") | .escalation.unanswered_usec > 0' >/dev/null"
check "unanswered tells the plan's owner and fallback ($(esc "$id" | jq -c .unanswered_told))" \
    test "$(esc "$id" | jq -c .unanswered_told)" = '["it-lead","night-desk"]'
check "one unanswered entry in the journal" test "$(msgid_count $HUMAN_UNANSWERED "$id")" -eq 1
check "the step still waits for a person" test "$(salve_step "$id" approve-start)" = waiting
rig_exec salvectl approve "$id" approve-start
salve_wait "$id" succeeded 20
check "approving implied the acknowledgement (via approve)" test "$(esc "$id" | jq -r .acknowledged.via)" = approve

# --- 3. the power cut mid-escalation ---
id=$(rig_exec salvectl run esc-chain)
wait_notices "$id" 1 20
rig_powercut
salve_boot
wait_notices "$id" 3 15
check "after the power cut the chain went on: levels 0,1,2 once each" \
    test "$(esc "$id" | jq -c '[.notified[].level]')" = "[0,1,2]"
gap=$(( ($(notice_at "$id" 2) - $(notice_at "$id" 1)) / 1000 ))
check "and level 2 still 2 s after level 1 (${gap} ms)" test "$gap" -ge 2000
rig_exec salvectl cancel "$id"

# --- 4. reminders after an acknowledgement ---
id=$(rig_exec salvectl run esc-remind)
salve_wait_step "$id" task waiting 20
rig_exec salvectl ack "$id" task
rig_wait_for "two reminders" 10 \
    sh -c "salvectl --json status '$id' | jq -e '.steps[0].escalation.reminders >= 2' >/dev/null"
check "no escalation after the ack, only reminders" test "$(notices "$id" task)" -eq 1
rig_exec salvectl done "$id" task
salve_wait "$id" succeeded 20

rig_poweroff
rig_done
