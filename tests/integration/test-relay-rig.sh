#!/bin/bash
# shellcheck source-path=SCRIPTDIR disable=SC2016
# The relay's test rig (relay-lib.sh, receivers/receiver.py) and the shipped
# inhibit rule (docs/alertmanager-inhibit.yml), before any salved is in it:
#   1. a real Alertmanager with the shipped rule merged in (amtool accepts
#      it): while SalveRecoveryInProgress fires for host1, host1's
#      PostgresDown is held back (Alertmanager says inhibited, by that alert)
#      and host2's and salve's own SalveHumanNeeded for host1 get through;
#      once the recovery alert is resolved host1's arrives; notifications
#      are grouped by alertname and instance; POST -> receiver latency;
#      an alert without instance is never muted;
#   1b. with a real Prometheus (if installed): the scrape relabelling in
#      docs/alertmanager.md, as written there, gives instance="host1", and
#      Prometheus's own alert is inhibited and released the same way;
#   1c. Alertmanager HA: an alert posted to both clustered instances is
#      notified once, by the survivor when one is down (control: twice
#      without a cluster);
#   2. the Standard Webhooks receiver: good signature accepted once, the
#      same webhook-id again recorded as a duplicate, bad/missing/stale
#      signatures refused with 401, rotated keys, a raw key file, and its
#      memory of ids survives a restart on the same port;
#   3. the PagerDuty stand-in: 202 for valid trigger/acknowledge/resolve with
#      PagerDuty's dedup rules, 400 with every error for a bad event, 429 and
#      500 on command;
#   4. the controls the outage tests use: down_for refuses connections and
#      comes back, hang holds a request unanswered;
#   5. if the container rig can run here: salved's side of the network, a
#      container joined to the rig's namespace reaches 127.0.0.1:PORT, also
#      after a power cut and a second boot.
# Runs on the host; everything listens on 127.0.0.1 in a network namespace
# of its own.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/integration/relay-lib.sh
. "$here/relay-lib.sh"
src=${SALVE_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
inhibit=$src/docs/alertmanager-inhibit.yml

if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: needs root (a network namespace for the rig)" >&2
    exit 77
fi
relay_require
relay_require_am
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed" >&2; exit 77; }

rig_init "salve-relay-rig-$$"
relay_netns
work=$(rig_tmpdir work)

not() { ! "$@"; }
check() {
    local desc=$1
    shift
    if "$@"; then rig_ok "$desc"; else rig_fail "$desc"; fi
}
# A notification's alerts, one per line: "STATUS ALERTNAME INSTANCE".
am_alerts_seen() {
    relay_records am '.verdict == "accepted"' |
        jq -r '.json.alerts[] | "\(.status) \(.labels.alertname) \(.labels.instance)"'
}
am_seen() { am_alerts_seen | grep -qx -- "$1"; }
# Waits until the Alertmanager receiver got an alert "STATUS NAME INSTANCE";
# prints the receiver's time of it (epoch ms).
am_wait() {
    local want=$1 secs=$2 deadline
    deadline=$(( $(rig_now_ms) + secs * 1000 ))
    until am_seen "$want"; do
        (( $(rig_now_ms) < deadline )) || { echo "timed out waiting for '$want'" >&2; return 1; }
        sleep 0.02
    done
    relay_records am '.verdict == "accepted"' | jq -rs --arg w "$want" \
        '[.[] | select(any(.json.alerts[]; "\(.status) \(.labels.alertname) \(.labels.instance)" == $w))][0].t * 1000 | floor'
}

# ---- 1. Alertmanager and the inhibit rule ----
relay_receiver_start am alertmanager
relay_am_config "$work/am.yml" "$(relay_url am /am)" "$inhibit"
amtool_ok() { amtool check-config "$1" >"$work/amtool.out" 2>&1 && grep -q '1 inhibit rules' "$work/amtool.out"; }
check "amtool check-config accepts the test config with the shipped inhibit rule" amtool_ok "$work/am.yml"
sed '/source_matchers:/a\      - job =~ "("' "$work/am.yml" >"$work/am-bad.yml"
check "amtool check-config refuses a broken matcher regexp (the check can fail)" not amtool_ok "$work/am-bad.yml"

t0=$(rig_now_ms)
relay_am_start am1 "$work/am.yml"
echo "# alertmanager ready in $(( $(rig_now_ms) - t0 )) ms" >&2

run=20261202T141500-pg-recover
ends=$(relay_iso $(( $(rig_now_ms) + 180000 )))     # now + 3 * resend (60 s)
recovery_labels='{"alertname":"SalveRecoveryInProgress","instance":"host1","salve_plan":"pg-recover","salve_run":"'$run'","severity":"warning"}'
recovery_ann='{"summary":"salve is recovering host1 (plan pg-recover)","salve_units":"postgresql.service pgbouncer.service"}'
# A recovery alert without an instance (salve never sends one) must mute
# nothing: Alertmanager counts two missing labels as equal.
noinst_recovery='{"alertname":"SalveRecoveryInProgress","salve_plan":"pg-recover","salve_run":"x","severity":"warning"}'
t_post=$(rig_now_ms)
relay_am_post am1 "[$(relay_alert "$recovery_labels" "$recovery_ann" "$ends"), $(relay_alert "$noinst_recovery" '{}' "$ends")]"
t_got=$(am_wait "firing SalveRecoveryInProgress host1" 10) || rig_fail "the recovery alert reached the receiver"
am_wait "firing SalveRecoveryInProgress null" 10 >/dev/null || rig_fail "the recovery alert without instance reached the receiver"
lat_fire=$(( t_got - t_post ))
rig_ok "the recovery alert reached the receiver (${lat_fire} ms after the POST)"

pg() { relay_alert '{"alertname":"PostgresDown","instance":"'"$1"'","db":"'"$2"'","severity":"critical"}' '{"summary":"postgres down"}' "${3:-}"; }
human='{"alertname":"SalveHumanNeeded","instance":"host1","salve_plan":"pg-recover","salve_run":"'$run'","salve_step":"check-replica","severity":"critical"}'
t_post2=$(rig_now_ms)
relay_am_post am1 "[$(pg host1 main), $(pg host2 main), $(pg host2 replica), $(relay_alert "$human" '{}' "$ends"),
    $(relay_alert '{"alertname":"BackupStale","severity":"warning"}')]"
t_got2=$(am_wait "firing PostgresDown host2" 10) || rig_fail "host2's PostgresDown is not held back (another instance)"
check "host2's PostgresDown is not held back (another instance)" true
check "an alert without an instance label is not held back, not even by a recovery alert without one" \
    sh -c '[ -n "$1" ]' sh "$(am_wait 'firing BackupStale null' 10)"
check "salve's own SalveHumanNeeded for host1 gets through during the recovery" \
    sh -c '[ -n "$1" ]' sh "$(am_wait 'firing SalveHumanNeeded host1' 10)"
fp=$(relay_am_alerts am1 'filter=alertname%3D%22SalveRecoveryInProgress%22&filter=instance%3D%22host1%22' | jq -r '.[0].fingerprint')
suppressed_by() {
    relay_am_alerts am1 'filter=alertname%3D%22PostgresDown%22&filter=instance%3D%22host1%22' |
        jq -e --arg fp "$1" 'length == 1 and .[0].status.state == "suppressed" and .[0].status.inhibitedBy == [$fp]' >/dev/null
}
check "Alertmanager says host1's PostgresDown is suppressed, inhibited by the recovery alert" suppressed_by "$fp"
# Absence needs a window: three group_intervals after the others arrived,
# time for Alertmanager to have flushed host1's group twice.
sleep 3
check "the receiver got no PostgresDown for host1 while the recovery alert fires" not am_seen 'firing PostgresDown host1'

t_res=$(rig_now_ms)
relay_am_post am1 "[$(relay_alert "$recovery_labels" "$recovery_ann" now)]"
t_got3=$(am_wait "firing PostgresDown host1" 10) || rig_fail "host1's PostgresDown arrives once the recovery alert is resolved"
rig_ok "host1's PostgresDown arrives once the recovery alert is resolved ($(( t_got3 - t_res )) ms after the resolve)"
t_got4=$(am_wait "resolved SalveRecoveryInProgress host1" 10) || rig_fail "the receiver got the recovery alert's resolve"
rig_ok "the receiver got the recovery alert's resolve ($(( t_got4 - t_res )) ms after it)"

grouped() {
    relay_records am '.verdict == "accepted"' |
        jq -se 'length > 0 and all(.[]; ((.json.groupLabels | keys) - ["alertname", "instance"]) == [] and .json.groupLabels.alertname != null
                and (.json.groupLabels as $g | all(.json.alerts[]; .labels.alertname == $g.alertname and .labels.instance == $g.instance)))' >/dev/null
}
host2_together() {
    relay_records am '.verdict == "accepted" and .json.groupLabels.instance == "host2"' |
        jq -se 'any(.[]; [.json.alerts[].labels.db] | sort == ["main", "replica"])' >/dev/null
}
check "every notification is grouped by alertname and instance" grouped
check "host2's two PostgresDown alerts come in one group notification" host2_together
check "the receiver recorded no malformed notification" test "$(relay_count am '.verdict != "accepted"')" = 0
echo "# POST -> receiver: firing ${lat_fire} ms, batch $(( t_got2 - t_post2 )) ms, resolve -> uninhibited $(( t_got3 - t_res )) ms, resolve -> resolved $(( t_got4 - t_res )) ms"

# ---- 1b. the docs' relabelling, with a real Prometheus ----
# The scrape config in docs/alertmanager.md, as it stands there: its targets
# (host1.example.net:9187, host2...) do not resolve here, so `up` is 0 and a
# PostgresDown rule fires for each, with the instance the relabelling made.
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    awk '/^```yaml/ { buf = ""; inb = 1; next }
         /^```/ { if (inb && buf ~ /scrape_configs:/) printf "%s", buf; inb = 0; next }
         inb { buf = buf $0 "\n" }' "$src/docs/alertmanager.md" >"$work/doc-scrape.yml"
    cat >"$work/rules.yml" <<'RULES'
groups:
  - name: dependents
    rules:
      - alert: PostgresDown
        expr: up{job="postgres"} == 0
        labels: {severity: critical}
RULES
    { printf 'global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 500ms}\n'
      printf 'alerting:\n  alertmanagers:\n    - static_configs: [{targets: ["127.0.0.1:%s"]}]\n' "${_RELAY_PORT[am1]}"
      printf 'rule_files: ["%s"]\n' "$work/rules.yml"
      cat "$work/doc-scrape.yml"; } >"$work/prom.yml"
    promtool_ok() { grep -q relabel_configs "$work/doc-scrape.yml" && promtool check config "$work/prom.yml" >/dev/null 2>&1; }
    check "the docs' scrape config is there and promtool accepts it" promtool_ok
    run2=20261202T142000-pg-recover
    recovery2=${recovery_labels/$run/$run2}
    relay_am_post am1 "[$(relay_alert "$recovery2" "$recovery_ann" "$(relay_iso $(( $(rig_now_ms) + 180000 )))")]"
    relay_prom_start prom "$work/prom.yml"
    prom_alerts() { relay_am_alerts am1 'filter=alertname%3D%22PostgresDown%22&filter=job%3D%22postgres%22'; }
    prom_both() { prom_alerts | jq -e '[.[].labels.instance] | sort == ["host1", "host2"]' >/dev/null; }
    deadline=$(( $(rig_now_ms) + 30000 ))
    until prom_both || (( $(rig_now_ms) > deadline )); do sleep 0.2; done
    check "the docs' relabelling made instance=\"host1\" of host1.example.net:9187 (and host2)" prom_both
    fp2=$(relay_am_alerts am1 "filter=salve_run%3D%22$run2%22" | jq -r '.[0].fingerprint')
    prom_suppressed() {
        prom_alerts | jq -e --arg fp "$fp2" '
            (map(select(.labels.instance == "host1"))[0].status | .state == "suppressed" and .inhibitedBy == [$fp])
            and (map(select(.labels.instance == "host2"))[0].status.state == "active")' >/dev/null
    }
    check "Prometheus's host1 alert is inhibited by the recovery alert, host2's is active" prom_suppressed
    prom_seen() {
        relay_records am '.verdict == "accepted"' | jq -e --arg i "$1" \
            'select(any(.json.alerts[]; .labels.job == "postgres" and .labels.instance == $i and .status == "firing"))' >/dev/null
    }
    wait_prom_seen() {
        local d=$(( $(rig_now_ms) + $2 * 1000 ))
        until prom_seen "$1"; do (( $(rig_now_ms) < d )) || return 1; sleep 0.05; done
    }
    check "the receiver gets Prometheus's host2 alert" wait_prom_seen host2 10
    sleep 2   # two group_intervals: time for host1's group to have been flushed
    check "and not host1's while the recovery fires" not prom_seen host1
    t_res2=$(rig_now_ms)
    relay_am_post am1 "[$(relay_alert "$recovery2" "$recovery_ann" now)]"
    check "host1's arrives once the recovery is resolved" wait_prom_seen host1 10
    echo "# Prometheus's alert: resolve -> uninhibited $(( $(rig_now_ms) - t_res2 )) ms" >&2
    relay_prom_stop prom
else
    echo "# prometheus is not installed: the docs' relabelling is not checked (apt-get install prometheus)" >&2
fi

# ---- 1c. Alertmanager HA: every instance gets every alert ----
# What docs/alertmanager.md asks of the relay: post each alert to every
# instance. The cluster tells people once; without a cluster (the control)
# each instance would, which is what the dedupe check can tell apart.
relay_receiver_start amha alertmanager
relay_am_config "$work/am-ha.yml" "$(relay_url amha /am)"
t0=$(rig_now_ms)
relay_am_ha_start ha 2 "$work/am-ha.yml"
echo "# two clustered alertmanagers ready in $(( $(rig_now_ms) - t0 )) ms" >&2
ha_alert=$(relay_alert '{"alertname":"SalveHumanNeeded","instance":"host9","salve_run":"r9","severity":"warning"}' '{}' "$ends")
relay_am_post ha1 "[$ha_alert]"
relay_am_post ha2 "[$ha_alert]"
check "the cluster notifies an alert posted to both instances" relay_wait_count amha '.verdict == "accepted"' 1 10
sleep 4   # > peer-timeout x position: the second instance would have sent by now
check "once (the instances share their notification log)" test "$(relay_count amha)" = 1
relay_am_stop ha1
relay_am_post ha2 "[$(relay_alert '{"alertname":"SalveHumanNeeded","instance":"host9","salve_run":"r10","severity":"warning"}' '{}' "$ends")]"
check "with one instance down the other notifies alone" relay_wait_count amha '.verdict == "accepted"' 2 20
relay_am_stop ha2
relay_receiver_start amsolo alertmanager
relay_am_config "$work/am-solo.yml" "$(relay_url amsolo /am)"
relay_am_start solo1 "$work/am-solo.yml"
relay_am_start solo2 "$work/am-solo.yml"
relay_am_post solo1 "[$ha_alert]"
relay_am_post solo2 "[$ha_alert]"
check "control: two unclustered instances notify twice (so the once above means something)" \
    relay_wait_count amsolo '.verdict == "accepted"' 2 10
relay_am_stop solo1
relay_am_stop solo2

# ---- 2. Standard Webhooks receiver ----
keyhex=$(openssl rand -hex 24)
secret=whsec_$(printf '%s' "$keyhex" | xxd -r -p | base64 -w0)
relay_receiver_start wh webhook --secret "$secret"

sign() {   # KEYHEX ID TS BODY
    printf '%s' "$2.$3.$4" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$1" -binary | base64 -w0
}
post_wh() {  # NAME ID TS SIGHEADER BODY -> HTTP status
    relay_curl -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "webhook-id: $2" -H "webhook-timestamp: $3" -H "webhook-signature: $4" \
        --data-binary "$5" "$(relay_url "$1" /hook)"
}
now=$(date +%s)
body='{"type":"human-needed","run":"'$run'","step":"check-replica"}'
sig=$(sign "$keyhex" msg_1 "$now" "$body")
check "a good signature is accepted (200)" test "$(post_wh wh msg_1 "$now" "v1,$sig" "$body")" = 200
check "the same webhook-id again is answered 200 and recorded as a duplicate" \
    test "$(post_wh wh msg_1 "$now" "v1,$sig" "$body")" = 200
check "key counts say msg_1: accepted once, one duplicate" test "$(relay_key_counts wh)" = "msg_1 1 1"
check "a changed body is refused (401)" test "$(post_wh wh msg_2 "$now" "v1,$sig" "${body/check/drop}")" = 401
check "missing signature headers are refused (401)" \
    test "$(relay_curl -o /dev/null -w '%{http_code}' --data-binary "$body" "$(relay_url wh /hook)")" = 401
old=$(( now - 3600 ))
check "a genuine but hour-old timestamp is refused (401)" \
    test "$(post_wh wh msg_3 "$old" "v1,$(sign "$keyhex" msg_3 "$old" "$body")" "$body")" = 401
check "the receiver recorded why: bad-signature, missing-headers, stale-timestamp" \
    test "$(relay_records wh '.status == 401' | jq -r .verdict | tr '\n' ' ')" = "bad-signature missing-headers stale-timestamp "
check "a rotated key: one of several signatures matching is enough" \
    test "$(post_wh wh msg_4 "$now" "v1,$(sign "$(openssl rand -hex 24)" msg_4 "$now" "$body") v1,$(sign "$keyhex" msg_4 "$now" "$body")" "$body")" = 200

printf 'raw-secret-bytes\n' >"$work/raw.key"
relay_receiver_start wh2 webhook --secret-file "$work/raw.key"
rawhex=$(printf 'raw-secret-bytes' | xxd -p | tr -d '\n')
check "a raw key file (its newline not part of the key) verifies" \
    test "$(post_wh wh2 msg_r "$now" "v1,$(sign "$rawhex" msg_r "$now" "$body")" "$body")" = 200

port_before=$(relay_url wh)
relay_receiver_stop wh
refused() { ! post_wh "$@" >/dev/null 2>&1; }
check "a stopped receiver refuses connections" refused wh msg_5 1 v1,x x
relay_receiver_start wh webhook --secret "$secret"
check "a restarted receiver listens on its old port" test "$(relay_url wh)" = "$port_before"
post_wh wh msg_1 "$now" "v1,$sig" "$body" >/dev/null
check "after the restart it still knows msg_1 (duplicate, not accepted twice)" test "$(relay_key_counts wh | grep '^msg_1 ')" = "msg_1 1 2"

# ---- 3. PagerDuty stand-in ----
relay_receiver_start pd pagerduty
rk=$(openssl rand -hex 16)
pd_post() {  # JSON -> "STATUS BODY"
    local out
    out=$(relay_curl -w '\n%{http_code}' -H 'Content-Type: application/json' --data-binary "$1" "$(relay_url pd /v2/enqueue)")
    printf '%s %s\n' "${out##*$'\n'}" "$(printf '%s' "${out%$'\n'*}" | jq -c .)"
}
trigger=$(jq -cn --arg rk "$rk" --arg ts "$(relay_iso)" '{routing_key: $rk, event_action: "trigger", dedup_key: "salve/host1/run/step",
    payload: {summary: "salve needs a human on host1", source: "host1", severity: "warning", timestamp: $ts,
              component: "postgresql.service", group: "pg-recover", class: "human-needed", custom_details: {run: "r", step: "s"}},
    links: [{href: "https://host1.example/salve", text: "status"}], client: "salve", client_url: "https://host1.example/"}')
r=$(pd_post "$trigger")
check "a valid trigger is answered 202 with PagerDuty's body and its dedup_key" \
    test "$r" = '202 {"status":"success","message":"Event processed","dedup_key":"salve/host1/run/step"}'
bad=$(jq -c --arg s "$(printf 'x%.0s' {1..1025})" '.routing_key |= .[1:] | .payload.severity = "fatal" | .payload.summary = $s | .links = [{text: "no href"}]' <<<"$trigger")
r=$(pd_post "$bad")
answer_is() {  # "STATUS BODY" STATUS JQ
    [[ ${1%% *} == "$2" ]] && jq -e "$3" <<<"${1#* }" >/dev/null
}
check "a schema violation is answered 400 invalid event" answer_is "$r" 400 '.status == "invalid event" and .message == "Event object is invalid"'
check "the 400 names each error: routing_key length, severity, summary length, links[0].href" \
    answer_is "$r" 400 '.errors | length == 4 and any(test("routing_key")) and any(test("severity")) and any(test("1024")) and any(test("links\\[0\\].href"))'
r=$(pd_post "$(jq -c '.severity = "info"' <<<"$trigger")")
check "a field PagerDuty does not define (top-level severity) is refused" test "${r%% *}" = 400
r=$(pd_post "$(jq -c 'del(.dedup_key)' <<<"$trigger")")
check "a trigger without dedup_key gets a generated one" answer_is "$r" 202 '.dedup_key | length == 32'
ack=$(jq -cn --arg rk "$rk" '{routing_key: $rk, event_action: "acknowledge", dedup_key: "salve/host1/run/step"}')
check "acknowledge: 202" test "$(pd_post "$ack" | cut -d' ' -f1)" = 202
check "resolve without dedup_key: 400" test "$(pd_post "$(jq -c '.event_action = "resolve" | del(.dedup_key)' <<<"$ack")" | cut -d' ' -f1)" = 400
check "resolve: 202" test "$(pd_post "$(jq -c '.event_action = "resolve"' <<<"$ack")" | cut -d' ' -f1)" = 202
check "the stand-in's alert went triggered, acknowledged, resolved" \
    test "$(relay_records pd '.key == "salve/host1/run/step" and .verdict == "accepted"' | jq -r .pd_state | tr '\n' ' ')" = "triggered acknowledged resolved "
relay_control pd '{"status": 429, "count": 1, "retry_after": 2}'
headers_of() { relay_curl -D - -o /dev/null --data-binary "$1" "$(relay_url pd /v2/enqueue)" | tr -d '\r'; }
check "429 on command (once, with Retry-After)" sh -c 'printf "%s\n" "$1" | grep -q "^HTTP/1.1 429" && printf "%s\n" "$1" | grep -qx "Retry-After: 2"' sh "$(headers_of "$trigger")"
check "then 202 again" test "$(pd_post "$trigger" | cut -d' ' -f1)" = 202
relay_control pd '{"status": 500}'
check "500 on command" test "$(pd_post "$trigger" | cut -d' ' -f1)" = 500
relay_control pd '{"status": 0}'

# ---- 4. outage controls ----
relay_control wh '{"down_for": 2}'
t_down=$(rig_now_ms)
sleep 0.3
check "down_for: connections are refused" not relay_curl -o /dev/null "$(relay_url wh /_ready)" 2>/dev/null
rig_wait_for_host "the receiver to listen again" 10 relay_curl -f -o /dev/null "$(relay_url wh /_ready)"
rig_ok "down_for 2: listening again after $(( $(rig_now_ms) - t_down )) ms"
relay_control wh '{"hang": true}'
rc=0; relay_curl -m 1 -o /dev/null --data-binary x "$(relay_url wh /hook)" 2>/dev/null || rc=$?
check "hang: a request is held unanswered (curl timed out, exit 28)" test "$rc" = 28
relay_control wh '{"hang": false}'
check "after hang false it answers again" test "$(post_wh wh msg_6 "$now" "v1,$(sign "$keyhex" msg_6 "$now" "$body")" "$body")" = 200

# ---- 5. a container on the rig's network ----
if (rig_require) >/dev/null 2>&1; then
    stage=$(rig_tmpdir stage)
    state=$(rig_tmpdir state)
    from_inside() {   # ID: a signed delivery from inside the container
        local ts; ts=$(date +%s)
        rig_exec curl -sS -m 5 -o /dev/null -w '%{http_code}' -H "webhook-id: $1" -H "webhook-timestamp: $ts" \
            -H "webhook-signature: v1,$(sign "$keyhex" "$1" "$ts" "$body")" --data-binary "$body" "$(relay_url wh /hook)"
    }
    rig_boot "$stage" "$state"
    check "a container on the rig's namespace reaches the receiver at 127.0.0.1" test "$(from_inside in_1)" = 200
    check "and Alertmanager there" rig_exec curl -sSf -m 5 -o /dev/null "$(relay_url am1 /-/ready)"
    rig_powercut
    rig_boot "$stage" "$state"
    check "after a power cut and a second boot it still does (the namespace outlives the container)" \
        test "$(from_inside in_2)" = 200
    check "both deliveries from inside arrived once each" \
        test "$(relay_key_counts wh | grep '^in_' | tr '\n' ' ')" = "in_1 1 0 in_2 1 0 "
    rig_poweroff
else
    echo "# the container rig cannot run here (see rig_require): container checks skipped" >&2
fi

rig_done
echo "$_RIG_NTESTS checks passed"
