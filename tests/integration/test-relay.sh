#!/bin/bash
# The relay end to end: salved in a real systemd container tells a Standard
# Webhooks receiver (signatures checked), a PagerDuty-shaped receiver (the
# Events API v2 schema checked; PagerDuty itself cannot be reached from
# here, so this is a stand-in, and says so) and a real Alertmanager (with
# the shipped inhibit rule), all on 127.0.0.1 of the rig's network.
#   1. escalation, ack-timeout 2 s, three levels: primary, then backup,
#      then the manager, each after the timeout; an ack by the backup (joe,
#      allowed by a polkit rule) stops it; every fact once by its key, in order;
#   2. PagerDuty: trigger, acknowledge, resolve on one dedup_key; a 500 and
#      a 429 retried; a hang holds up nothing else; a 400 is
#      a dead letter with the reply, never retried; salvectl outbox retry;
#   3. Alertmanager: SalveHumanNeeded and SalveRecoveryInProgress fire,
#      a dependent's own alert from the host is inhibited, all resolved;
#   4. the outage: the webhook receiver down for the first 20 s of a plan
#      with three human steps, salved killed once and the power cut once
#      meanwhile: the machine steps go on, and once the receiver is back
#      every notification arrives exactly once by its key.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"
# shellcheck source=tests/integration/relay-lib.sh
source "$(dirname "$0")/relay-lib.sh"

salve_setup relay$$
relay_require
relay_require_am
relay_netns
cp "$SALVE_SOURCE_ROOT"/tests/data/plans/escalation/*.yaml "$SALVE_SOURCE_ROOT"/tests/data/plans/relay/*.yaml \
    "$SALVE_STAGE/etc/salve/plans.d/"
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml

secret="whsec_$(head -c 24 /dev/urandom | base64)"
routing=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')   # 32 characters, as PagerDuty's
relay_receiver_start wh webhook --secret "$secret"
relay_receiver_start pd pagerduty
relay_receiver_start amr alertmanager
relay_am_config "$RELAY_DIR/am.yml" "$(relay_url amr /)" "$SALVE_SOURCE_ROOT/docs/alertmanager-inhibit.yml"
relay_am_start am "$RELAY_DIR/am.yml"

# Who the plans' names mean (salve.people(5)): a rotation, teams, people.
mkdir -p "$SALVE_STAGE/etc/salve/people.d"
cat >"$SALVE_STAGE/etc/salve/people.d/test.yaml" <<'PEOPLE'
people:
  jane: {name: Jane Doe, email: jane@example.com}
  joe: {name: Joe Bloggs, email: joe@example.com}
  max: {name: Max Mustermann, phone: "+4912345678"}
  lead: {name: Lee Ad, email: lead@example.com}
  desk: {name: Night Desk, email: desk@example.com}
rotations:
  primary:
    time-zone: UTC
    layers:
      - name: weekly
        start: 2026-11-30 09:00
        turn: 1w
        members: [jane, joe]
teams:
  backup: {members: [joe, max]}
  manager: {members: [max]}
  it-lead: {members: [lead]}
  night-desk: {members: [desk]}
PEOPLE
chmod 0644 "$SALVE_STAGE/etc/salve/people.d/test.yaml"
mkdir -p "$SALVE_STAGE/etc/polkit-1/rules.d"
cat >"$SALVE_STAGE/etc/polkit-1/rules.d/50-salve-ack.rules" <<'RULE'
polkit.addRule(function(action, subject) {
    if (action.id == "org.salve.ack" && subject.user == "joe")
        return polkit.Result.YES;
});
RULE
chmod 0644 "$SALVE_STAGE/etc/polkit-1/rules.d/50-salve-ack.rules"
mkdir -p "$SALVE_STAGE/etc/salve/secrets"
printf '%s' "$secret" >"$SALVE_STAGE/etc/salve/secrets/hook"
printf '%s\n' "$routing" >"$SALVE_STAGE/etc/salve/secrets/pd"
chmod 0700 "$SALVE_STAGE/etc/salve/secrets"
chmod 0600 "$SALVE_STAGE"/etc/salve/secrets/*
cat >"$SALVE_STAGE/etc/salve/relay.yaml" <<EOF
channels:
  hook:
    type: webhook
    url: $(relay_url wh /hook)
    secret: file:/etc/salve/secrets/hook
    timeout: 2s
  pd:
    type: pagerduty
    url: $(relay_url pd /v2/enqueue)
    routing-key: file:/etc/salve/secrets/pd
    events: [human-needed, escalated, acknowledged, human-done, unanswered, step-failed]
    plans: [esc-*]
  am:
    type: alertmanager
    urls: [$(relay_url am)]
    resend: 2s
    resolved-for: 10s
outbox:
  retry-initial: 500ms
  retry-max: 2s
EOF
chmod 0644 "$SALVE_STAGE/etc/salve/relay.yaml"
salve_boot
check "the relay config, the people directory and the plans verify" \
    rig_exec salvectl verify /etc/salve/plans.d/esc-chain.yaml /etc/salve/plans.d/relay-three.yaml
oncall=$(rig_exec salvectl --json oncall primary | jq -r .person.name)
rig_exec sh -c 'mkdir -p /etc/salve/relay.d && printf "channels:\n  oops:\n    type: webhok\n    url: http://x/\n" > /etc/salve/relay.d/90-bad.yaml'
out=$(rig_exec salvectl verify /etc/salve/plans.d/esc-chain.yaml 2>&1) && rig_fail "a bad relay drop-in verified"
check "a bad relay drop-in is refused with file:line:col ($(grep 90-bad <<<"$out" | head -1))" \
    grep -q "/etc/salve/relay.d/90-bad.yaml:3:11: .*webhok" <<<"$out"
rig_exec rm /etc/salve/relay.d/90-bad.yaml
host=$(rig_exec cat /proc/sys/kernel/hostname)

wh_events() { # RUN: the webhook's accepted events for a run, "type level" per line
    relay_records wh ".verdict == \"accepted\" and .json.data.run_id == \"$1\"" |
        jq -r '"\(.json.type) \(.json.data.level // "-") \(.json.data.recipients[0].name // "-")"'
}
wh_time() { # RUN TYPE LEVEL: when the receiver got it (ms)
    relay_records wh ".verdict == \"accepted\" and .json.data.run_id == \"$1\" and .json.type == \"$2\" and (.json.data.level // 0) == $3" |
        jq -s '.[0].t * 1000 | floor'
}

# --- 1. escalation through the webhook ---
id=$(rig_exec salvectl run esc-chain)
relay_wait_count wh ".json.data.run_id == \"$id\" and .json.type == \"salve.escalated\" and .json.data.level == 1" 1 15
t0=$(wh_time "$id" salve.human-needed 0)
t1=$(wh_time "$id" salve.escalated 1)
check "the webhook got run-started, then the owner: $oncall, on call in the primary rotation" \
    test "$(wh_events "$id" | head -2 | tr "\n" ,)" = "salve.run-started 0 -,salve.human-needed 0 $oncall,"
if [[ $oncall == jane ]]; then who="Jane Doe email=jane@example.com"; else who="Joe Bloggs email=joe@example.com"; fi
check "with the person's name and contacts from people.d ($who)" test "$(relay_records wh \
    ".json.data.run_id == \"$id\" and .json.type == \"salve.human-needed\"" |
    jq -r '.json.data.recipients[0] | "\(.display) \(.contacts[0])"')" = "$who"
lvl1=$(relay_records wh ".json.data.run_id == \"$id\" and .json.type == \"salve.escalated\" and .json.data.level == 1" |
    jq -r '[.json.data.recipients[] | select(.level == 1) | .name] | join(",")')
check "then the backup team ($lvl1), $((t1 - t0)) ms later (ack-timeout 2 s)" \
    test $((t1 - t0)) -ge 1900 -a $((t1 - t0)) -lt 4000 -a "$lvl1" = "joe,max"
relay_wait_count wh ".json.data.run_id == \"$id\" and .json.type == \"salve.escalated\" and .json.data.level == 2" 1 10
t2=$(wh_time "$id" salve.escalated 2)
check "then the manager, $((t2 - t1)) ms after the backup" test $((t2 - t1)) -ge 1900 -a $((t2 - t1)) -lt 4000
if [[ $oncall == jane ]]; then expected=max,jane,joe; else expected=max,joe; fi
check "the escalation to the manager (max) reminds the levels before ($expected)" test "$(relay_records wh \
    ".json.data.run_id == \"$id\" and .json.type == \"salve.escalated\" and .json.data.level == 2" |
    jq -r '[.json.data.recipients[].name] | join(",")')" = "$expected"
check "with the instructions, the bridge and the chat" test "$(relay_records wh \
    ".json.data.run_id == \"$id\" and .json.type == \"salve.human-needed\"" |
    jq -r '[.json.data.instructions, .json.data.bridge, .json.data.chat] | join("|")')" = \
    "Approve the database start.
|https://meet.example.com/esc|#db-incidents"
# joe, of the backup team, acknowledges (a polkit rule lets him, as a site's would)
rig_exec_as joe salvectl --no-ask-password ack "$id" approve-start --comment "backup here"
relay_wait_count wh ".json.data.run_id == \"$id\" and .json.type == \"salve.acknowledged\"" 1 10
rig_exec salvectl approve "$id" approve-start
salve_wait "$id" succeeded 20
relay_wait_count wh ".json.data.run_id == \"$id\" and .json.type == \"salve.run-finished\"" 1 10
check "after the ack: acknowledged, human-done, run-finished, nothing else" \
    test "$(wh_events "$id" | tail -n +5 | cut -d' ' -f1 | tr '\n' ,)" = "salve.acknowledged,salve.human-done,salve.run-finished,"
check "who acknowledged, in the notification" test "$(relay_records wh \
    ".json.data.run_id == \"$id\" and .json.type == \"salve.acknowledged\"" | jq -r .json.data.actor)" = \
    "joe (uid $(rig_exec id -u joe))"
check "every webhook delivery was signed and accepted (no refusals)" test "$(relay_count wh '.verdict != "accepted" and .verdict != "duplicate"')" -eq 0

# --- 2. PagerDuty (a stand-in: PagerDuty itself cannot be reached from here) ---
relay_wait_count pd ".json.dedup_key == \"salve/$host/$id/approve-start\" and .json.event_action == \"resolve\"" 1 10
check "PagerDuty: trigger(s), acknowledge, resolve on one dedup_key" test "$(relay_records pd \
    ".json.dedup_key == \"salve/$host/$id/approve-start\"" | jq -r .json.event_action | uniq | tr '\n' ,)" = \
    "trigger,acknowledge,resolve,"
check "every PagerDuty event passed the Events v2 schema" test "$(relay_count pd '.verdict == "invalid"')" -eq 0
# a 500 and a 429 are retried, and the event then arrives once
relay_control pd '{"status": 500, "count": 1}'
id=$(rig_exec salvectl run esc-chain)
relay_wait_count pd ".verdict == \"accepted\" and .json.dedup_key == \"salve/$host/$id/approve-start\"" 1 15
check "after a 500, PagerDuty's event is retried and accepted" \
    test "$(relay_count pd ".verdict == \"forced\" and .json.dedup_key == \"salve/$host/$id/approve-start\"")" -eq 1
relay_control pd '{"status": 429, "count": 1}'
# the escalation's trigger (same dedup_key: PagerDuty updates the incident; the stand-in says "duplicate")
relay_wait_count pd "(.verdict == \"accepted\" or .verdict == \"duplicate\") and .json.dedup_key == \"salve/$host/$id/approve-start\" and .json.event_action == \"trigger\"" 2 15
check "after a 429, the escalation's trigger is retried and taken" \
    test "$(relay_count pd ".verdict == \"forced\" and .json.dedup_key == \"salve/$host/$id/approve-start\"")" -eq 2
rig_exec salvectl cancel "$id" >/dev/null
relay_control pd '{"status": 400}'
id=$(rig_exec salvectl run esc-chain)
rig_wait_for "a dead letter" 15 sh -c "salvectl --json outbox | jq -e '.entries[] | select(.state == \"dead\" and .channel == \"pd\")' >/dev/null"
dead=$(rig_exec salvectl --json outbox | jq -r '[.entries[] | select(.state == "dead" and .channel == "pd")][0]')
check "a 400 is a dead letter after one attempt ($(jq -c '{attempts, last_status, last_error}' <<<"$dead"))" \
    test "$(jq .attempts <<<"$dead")" -eq 1 -a "$(jq .last_status <<<"$dead")" -eq 400
check "with PagerDuty's reply kept" grep -q "forced 400" <<<"$(jq -r .last_error <<<"$dead")"
check "salvectl status says a notification is a dead letter" grep -q "notifications: .* 1 dead letter" <<<"$(rig_exec salvectl status)"
relay_control pd '{"status": 0}'
check "salvectl outbox retry sends it again" rig_exec salvectl outbox retry "$(jq -r .id <<<"$dead")"
rig_wait_for "the retried entry to be delivered" 10 sh -c "salvectl --json outbox | jq -e --arg i '$(jq -r .id <<<"$dead")' '.entries[] | select(.id == \$i and .state == \"delivered\")' >/dev/null"
rig_ok "delivered after the retry"
rig_exec salvectl cancel "$id" >/dev/null

# --- 2b. a notifier that hangs holds up only its own queue ---
relay_control pd '{"hang": true}'
t_hang=$(rig_now_ms)
id=$(rig_exec salvectl run esc-chain)
relay_wait_count wh ".json.data.run_id == \"$id\" and .json.type == \"salve.human-needed\"" 1 10
check "with PagerDuty hanging, the webhook still hears within $(( $(rig_now_ms) - t_hang )) ms" \
    test $(( $(rig_now_ms) - t_hang )) -lt 5000
check "and the run's machine step went on" test "$(salve_step "$id" before)" = succeeded
check "PagerDuty's receiver holds the request unanswered" test "$(relay_count pd '.verdict == "hung"')" -ge 1
relay_control pd '{"hang": false}'
rig_exec salvectl cancel "$id" >/dev/null

# --- 3. Alertmanager ---
id=$(rig_exec salvectl run esc-chain)
relay_wait_count amr ".json.status == \"firing\" and ([.json.alerts[] | select(.labels.alertname == \"SalveHumanNeeded\" and .labels.salve_run == \"$id\")] | length > 0)" 1 15
rig_ok "Alertmanager's receiver got SalveHumanNeeded for $id"
check "with the labels salve sends" test "$(relay_records amr ".json.status == \"firing\"" | jq -rs \
    "[.[].json.alerts[] | select(.labels.alertname == \"SalveHumanNeeded\" and .labels.salve_run == \"$id\")][0].labels |
     [.instance, .salve_plan, .salve_step, .severity] | join(\",\")")" = "$host,esc-chain,approve-start,critical"
relay_am_post am "[$(relay_alert "{\"alertname\": \"PostgresDown\", \"instance\": \"$host\"}")]"
sleep 2
check "the host's own PostgresDown is inhibited while salve recovers it" \
    test "$(relay_count amr '[.json.alerts[] | select(.labels.alertname == "PostgresDown")] | length > 0')" -eq 0
rig_exec salvectl approve "$id" approve-start
salve_wait "$id" succeeded 20
relay_wait_count amr "([.json.alerts[] | select(.labels.alertname == \"SalveRecoveryInProgress\" and .labels.salve_run == \"$id\" and .status == \"resolved\")] | length > 0)" 1 20
rig_ok "SalveRecoveryInProgress resolved when the run ended"
relay_wait_count amr '[.json.alerts[] | select(.labels.alertname == "PostgresDown")] | length > 0' 1 20
rig_ok "then the host's own alert comes through"

# --- 4. the outage: the receiver down 20 s, salved killed, the power cut ---
relay_receiver_stop wh
t_down=$(rig_now_ms)
id=$(rig_exec salvectl run relay-three)
salve_wait_step "$id" ask-1 waiting 20
pid=$(rig_exec systemctl show -p MainPID --value salved)
rig_exec systemctl kill --kill-who=main -s KILL salved
rig_wait_for "salved to come back (Restart=)" 20 sh -c "systemctl is-active -q salved && [ \$(systemctl show -p MainPID --value salved) != $pid ]"
salve_wait_step "$id" machine succeeded 20
check "machine steps went on while the notifier was down" grep -qx machine "$SALVE_LOGS/relay.log"
rig_exec salvectl approve "$id" ask-1
rig_powercut
salve_boot
rig_exec salvectl done "$id" ask-2
rig_exec salvectl approve "$id" ask-3
salve_wait "$id" succeeded 20
pending=$(rig_exec salvectl --json outbox | jq '[.entries[] | select(.channel == "hook" and .state != "delivered")] | length')
check "the notifications wait in the outbox ($pending undelivered)" test "$pending" -gt 0
sleep $(( 20 - ( $(rig_now_ms) - t_down ) / 1000 > 0 ? 20 - ( $(rig_now_ms) - t_down ) / 1000 : 0 ))
relay_receiver_start wh webhook --secret "$secret"
rig_wait_for "the outbox to drain" 30 sh -c "[ \$(salvectl --json outbox | jq '[.entries[] | select(.channel == \"hook\" and .state != \"delivered\")] | length') = 0 ]"
keys=$(relay_key_counts wh | grep "/$id/" || true)
echo "$keys" | sed 's/^/# /'
check "every notification of the run arrived exactly once by its key" \
    test "$(awk '$2 != 1' <<<"$keys" | wc -l)" -eq 0
check "run-started, 3 × human-needed, the 3 acknowledgements implied, 3 × human-done, run-finished ($(wc -l <<<"$keys") keys)" \
    test "$(wc -l <<<"$keys")" -eq 11
check "none refused" test "$(relay_count wh '.verdict != "accepted" and .verdict != "duplicate"')" -eq 0
check "the outbox holds no dead letter for the webhook" \
    test "$(rig_exec salvectl --json outbox | jq '[.entries[] | select(.channel == "hook" and .state == "dead")] | length')" -eq 0

rig_poweroff
rig_done
