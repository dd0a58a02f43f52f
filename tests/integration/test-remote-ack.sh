#!/bin/bash
# Remote acknowledgement end to end, in a real systemd container: the
# socket-activated salve-ack (user salve-ack, no secrets) hands requests to
# salved, which verifies and acts.
#   - a Standard Webhooks callback acknowledges (actor webhook:NAME); the
#     same webhook-id again, a bad signature, an old timestamp, an unknown
#     run, an oversized body, malformed JSON, an "approve" by ack: refused,
#     and nothing changes;
#   - a PagerDuty v3 incident.acknowledged, signed with the second of two
#     keys (rotation), acknowledges as pagerduty:Jane Doe; its replay is
#     refused; PagerDuty itself cannot reach this host, so the test sends
#     what PagerDuty's webhooks v3 send, signed as PagerDuty signs;
#   - an approval token: GET shows a page and does nothing; POST approves
#     once; again, or for another step, refused;
#   - salve-ack runs as salve-ack, and only it (and root) may call Callback.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"
# shellcheck source=tests/integration/relay-lib.sh
source "$(dirname "$0")/relay-lib.sh"

salve_setup remoteack$$
relay_require
relay_netns
cp "$SALVE_SOURCE_ROOT"/tests/data/plans/escalation/*.yaml "$SALVE_STAGE/etc/salve/plans.d/"
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml

hook_key=$(head -c 32 /dev/urandom | base64)
pd_old=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
pd_new=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
approval=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
mkdir -p "$SALVE_STAGE/etc/salve/secrets"
printf 'whsec_%s' "$hook_key" >"$SALVE_STAGE/etc/salve/secrets/ack-hook"
printf '%s' "$pd_old" >"$SALVE_STAGE/etc/salve/secrets/pd-old"
printf '%s' "$pd_new" >"$SALVE_STAGE/etc/salve/secrets/pd-new"
printf '%s' "$approval" >"$SALVE_STAGE/etc/salve/secrets/approval"
chmod 0700 "$SALVE_STAGE/etc/salve/secrets"
chmod 0600 "$SALVE_STAGE"/etc/salve/secrets/*
relay_receiver_start wh webhook --secret "whsec_$hook_key"
cat >"$SALVE_STAGE/etc/salve/relay.yaml" <<EOF
channels:
  hook:
    type: webhook
    url: $(relay_url wh /hook)
    secret: file:/etc/salve/secrets/ack-hook
    events: [human-needed]
ack:
  approval-url: http://127.0.0.1:8425/
  webhook-secrets: [file:/etc/salve/secrets/ack-hook]
  pagerduty-secrets: [file:/etc/salve/secrets/pd-old, file:/etc/salve/secrets/pd-new]
  approval-key: file:/etc/salve/secrets/approval
  tolerance: 5m
EOF
chmod 0644 "$SALVE_STAGE/etc/salve/relay.yaml"
salve_boot
rig_exec systemctl enable --now salve-ack.socket
host=$(rig_exec cat /proc/sys/kernel/hostname)
URL=http://127.0.0.1:8425

# sign ID TS BODY: the Standard Webhooks signature
sign() {
    printf '%s.%s.%s' "$1" "$2" "$3" |
        openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(base64 -d <<<"$hook_key" | od -An -tx1 | tr -d ' \n')" -binary |
        base64
}
# hook ID TS BODY [SIG]: POST /webhook, prints the HTTP status
hook() {
    local sig=${4:-v1,$(sign "$1" "$2" "$3")}
    relay_curl -s -o "$RELAY_DIR/reply" -w '%{http_code}' -H "webhook-id: $1" -H "webhook-timestamp: $2" \
        -H "webhook-signature: $sig" -H 'content-type: application/json' --data-binary "$3" "$URL/webhook"
}
pd() { # BODY KEYHEX: POST /pagerduty signed with that key
    local sig
    sig=$(printf '%s' "$1" | openssl dgst -sha256 -mac HMAC -macopt "key:$2" | awk '{print $NF}')
    relay_curl -s -o "$RELAY_DIR/reply" -w '%{http_code}' -H "X-PagerDuty-Signature: v1=$sig" \
        -H 'content-type: application/json' --data-binary "$1" "$URL/pagerduty"
}
reply() { cat "$RELAY_DIR/reply"; }
esc() { salve_json "$1" | jq -c --arg s "${2:-approve-start}" '.steps[] | select(.id == $s) | .escalation'; }
journal_records() { rig_exec sh -c 'wc -c < /var/lib/salve/journal'; }

id=$(rig_exec salvectl run esc-chain)
salve_wait_step "$id" approve-start waiting 20
now=$(date +%s)
body="{\"action\":\"ack\",\"run\":\"$id\",\"step\":\"approve-start\",\"actor\":\"jane\",\"comment\":\"on it\"}"

# --- refusals first: each changes nothing ---
before=$(journal_records)
check "a bad signature is refused (401: $(hook msg_bad "$now" "$body" "v1,AAAA" >/dev/null; reply))" \
    test "$(hook msg_bad "$now" "$body" "v1,AAAA")" = 401
check "an old timestamp is refused (401)" test "$(hook msg_old $((now - 3600)) "$body")" = 401
check "an unknown run is refused (404)" \
    test "$(hook msg_unk "$now" '{"action":"ack","run":"nope-1","step":"x","actor":"jane"}')" = 404
check "malformed JSON is refused (400)" test "$(hook msg_bad_json "$now" '{"action":')" = 400
check "an ack cannot approve (403: $(hook msg_appr "$now" "${body/\"ack\"/\"approve\"}" >/dev/null; reply))" \
    test "$(hook msg_appr2 "$now" "${body/\"ack\"/\"approve\"}")" = 403
big=$(head -c 70000 /dev/zero | tr '\0' a)
check "an oversized body is refused (413)" test "$(hook msg_big "$now" "$big")" = 413
check "a GET never acts (405)" test "$(relay_curl -s -o /dev/null -w '%{http_code}' "$URL/webhook")" = 405
check "an unknown path is 404" test "$(relay_curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/other")" = 404
check "none of it reached the run journal" test "$(journal_records)" = "$before"
check "the step is still unacknowledged" test "$(esc "$id" | jq -r '.acknowledged // "none"')" = none

# --- the signed callback acknowledges ---
check "a signed callback acknowledges (200)" test "$(hook msg_1 "$now" "$body")" = 200
check "recorded as webhook:jane via webhook" test "$(esc "$id" | jq -r '"\(.acknowledged.by) \(.acknowledged.via)"')" = "webhook:jane webhook"
check "its replay is refused (409: $(hook msg_1 "$now" "$body" >/dev/null; reply))" test "$(hook msg_1 "$now" "$body")" = 409
rig_exec systemctl restart salved
rig_wait_for "salved to be back" 20 systemctl is-active -q salved
check "and after salved restarts too" test "$(hook msg_1 "$now" "$body")" = 409
rig_exec salvectl cancel "$id" >/dev/null

# --- PagerDuty v3, the second key of two ---
id=$(rig_exec salvectl run esc-chain)
salve_wait_step "$id" approve-start waiting 20
ev="{\"event\":{\"id\":\"01DEV$(date +%s%N)\",\"event_type\":\"incident.acknowledged\",\"resource_type\":\"incident\",\
\"occurred_at\":\"$(date -u +%Y-%m-%dT%H:%M:%S.000Z)\",\"agent\":{\"id\":\"PU1\",\"summary\":\"Jane Doe\",\"type\":\"user_reference\"},\
\"data\":{\"id\":\"Q1\",\"type\":\"incident\",\"title\":\"x\",\"status\":\"acknowledged\",\"incident_key\":\"salve/$host/$id/approve-start\"}}}"
check "a PagerDuty signature with neither key is refused (401)" test "$(pd "$ev" "$approval")" = 401
check "incident.acknowledged signed with the new key acknowledges (200)" test "$(pd "$ev" "$pd_new")" = 200
check "recorded as pagerduty:Jane Doe" test "$(esc "$id" | jq -r .acknowledged.by)" = "pagerduty:Jane Doe"
check "PagerDuty's redelivery of the same event is refused (409)" test "$(pd "$ev" "$pd_old")" = 409
check "the step still waits: an ack never approves" test "$(salve_step "$id" approve-start)" = waiting

# --- an approval token ---
token() { # RUN STEP ACTION APPROVER: as salve's sign.c makes them
    python3 - "$approval" "$@" <<'PY'
import base64, hashlib, hmac, json, os, sys, time
key, run, step, action, who = sys.argv[1:]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
p = b64(json.dumps({"v": 1, "run": run, "step": step, "action": action, "approver": who,
                    "expires": int((time.time() + 600) * 1e6), "nonce": os.urandom(16).hex()},
                   separators=(",", ":")).encode())
print(p + "." + b64(hmac.new(key.encode(), p.encode(), hashlib.sha256).digest()))
PY
}
# the link salve sent the owner in its human-needed notification
relay_wait_count wh ".json.data.run_id == \"$id\" and .json.type == \"salve.human-needed\"" 1 15
link=$(relay_records wh ".json.data.run_id == \"$id\" and .json.type == \"salve.human-needed\"" |
    jq -r '.json.data.recipients[0].approve_url')
check "the human-needed notification carries the owner's approval link ($link)" grep -q "^http://127.0.0.1:8425/approve?token=" <<<"$link"
t=${link#*token=}
page=$(relay_curl -s "$URL/approve?token=$t")
check "GET /approve shows a confirmation page" grep -qi "approve" <<<"$page"
check "and does nothing" test "$(salve_step "$id" approve-start)" = waiting
other=$(token "$id" before approve jane)      # minted by the test with the key, for a step that is no approval
check "a token for another step is refused" \
    test "$(relay_curl -s -o /dev/null -w '%{http_code}' --data-urlencode "token=$other" "$URL/approve")" -ge 400
check "POST /approve with the token approves (200)" \
    test "$(relay_curl -s -o "$RELAY_DIR/reply" -w '%{http_code}' --data-urlencode "token=$t" "$URL/approve")" = 200
salve_wait "$id" succeeded 20
check "the approval is recorded as token:primary (the person the link was for)" \
    test "$(salve_json "$id" | jq -r '.steps[] | select(.id == "approve-start") | .actor')" = "token:primary"
check "and how: via approval-token, in GetRun" \
    test "$(salve_json "$id" | jq -r '.steps[] | select(.id == "approve-start") | .via')" = approval-token
check "and in salvectl report's record of who acted" \
    test "$(rig_exec salvectl report "$id" --format json |
        jq -r '[.people[] | select(.event == "act" and .step == "approve-start") | .via] | join(",")')" = approval-token
check "the token works once (409)" \
    test "$(relay_curl -s -o /dev/null -w '%{http_code}' --data-urlencode "token=$t" "$URL/approve")" = 409

# --- least privilege ---
check "salve-ack runs as salve-ack" test "$(rig_exec ps -o user= -C salve-ack | head -1)" = salve-ack
out=$(rig_exec_as mallory busctl call org.salve.Manager1 /org/salve/manager org.salve.Manager1 Callback 'ssa(ss)ay' POST /webhook 0 0 2>&1) &&
    rig_fail "mallory may call Callback"
check "another user may not call Callback ($out)" grep -qi "denied\|access" <<<"$out"
check "refusals are logged by salved" \
    test "$(rig_exec journalctl -q -o cat -u salved | grep -c 'Remote acknowledgement refused')" -ge 5

rig_poweroff
rig_done
