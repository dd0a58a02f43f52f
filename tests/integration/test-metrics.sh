#!/bin/bash
# salved's metrics file for node_exporter's textfile collector, in a real
# systemd container with the shipped unit (its sandbox included):
#   - no directory: said once (info), nothing written, salved fine; one
#     made while salved runs stays read-only in its sandbox: said once;
#   - with the directory: written at start, mode 0644, replaced (a new
#     inode) when something changes and never while idle;
#   - a run with a failed attempt and a retry: salve_runs_total, the step
#     duration histogram, salve_runs back to 0;
#   - a tight RTO and a human step: at risk, breached, the time to the
#     first acknowledgement; holds kept by a cancelled run and released;
#   - the outbox: a channel that refuses, its entries retrying, then dead,
#     one dropped by a person; systemd re-executing: a units resync;
#   - promtool check metrics passes on the file (Debian's prometheus), and
#     node_exporter's textfile collector serves it without a scrape error;
#   - the run journal on a full disk (a 1 MiB tmpfs): salve_journal_writable
#     0 and the held result counted, back to 1 and 0 with space;
#   - SALVE_METRICS_FILE= (a drop-in) turns it off.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

for tool in promtool prometheus-node-exporter; do
    command -v $tool >/dev/null || { echo "$tool is missing: tools/install-deps.sh installs it" >&2; exit 1; }
done

salve_setup metrics$$
cat >"$SALVE_STAGE/etc/salve/plans.d/metrics-retry.yaml" <<'PLAN'
# Fails its first attempt, succeeds at the second.
plan: metrics-retry
steps:
  - id: flaky-once
    run: exec
    with: {command: [/bin/sh, -c, "test -e /var/lib/salve-test/tried && exit 0; touch /var/lib/salve-test/tried; exit 3"]}
    retry: {attempts: 2, backoff: 1s}
  - id: after
    needs: [flaky-once]
    run: exec
    with: {command: [/bin/true]}
PLAN
# An armed plan with a unit trigger, so that the units watcher runs (salved
# watches only what some armed plan has a trigger for; the shipped plans
# are not armed).
cat >"$SALVE_STAGE/etc/salve/plans.d/metrics-units.yaml" <<'PLAN'
plan: metrics-units
trigger:
  - unit: {name: metrics-nosuch.service, state: failed}
steps:
  - {id: note, run: exec, with: {command: [/bin/true]}}
PLAN
# 16 steps one after the other: enough records to outgrow the journal
# file's last page once the disk is full (as test-enospc.sh's rc-fill).
{
    echo "plan: metrics-slow"
    echo "steps:"
    echo '  - {id: s1, run: exec, with: {command: [/bin/sleep, "1"]}}'
    for i in $(seq 2 16); do
        echo "  - {id: s$i, needs: [s$((i - 1))], run: exec, with: {command: [/bin/sleep, \"0.2\"]}}"
    done
} >"$SALVE_STAGE/etc/salve/plans.d/metrics-slow.yaml"
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml
salve_boot

DIR=/var/lib/prometheus/node-exporter
FILE=$DIR/salve.prom
prom() { rig_exec cat "$FILE"; }
value() { prom | awk -v k="$1" '$1 == k { print $2 }'; }
wait_value() { # SERIES VALUE SECS
    rig_wait_for "$1 to be $2" "$3" sh -c "grep -qxF '$1 $2' $FILE"
}
inode() { rig_exec stat -c %i "$FILE"; }
# The inode once the file has not been replaced for 1 s (at most 10 s):
# what salved started settles first, such as the units watcher's event for
# salved.service itself going active, or a transient unit of a finished
# step being garbage-collected. A timer's write would never settle.
settled_inode() {
    local ino last t
    last=$(inode)
    for t in $(seq 1 10); do
        sleep 1
        ino=$(inode)
        [[ $ino == "$last" ]] && { echo "$ino"; return 0; }
        last=$ino
    done
    echo "the metrics file was still replaced every second after 10 s" >&2
    return 1
}
# FAILS unless the file is still the one of inode INO; if not, says what
# changed in it.
not_rewritten() { # INO SAVED_COPY
    [[ "$(inode)" == "$1" ]] && return 0
    echo "rewritten; what changed:" >&2
    diff "$2" <(prom) >&2
    return 1
}
restart_salved() {
    rig_exec systemctl restart salved
    rig_wait_for "salved to be active" 20 systemctl is-active -q salved
}

# --- 1. no directory: said once, nothing written ---
check "the container has no $DIR" rig_exec test ! -e "$DIR"
id=$(rig_exec salvectl run metrics-retry)
salve_wait "$id" succeeded 30
rig_exec rm -f /var/lib/salve-test/tried
check "salved said once that the directory is missing" \
    test "$(rig_exec journalctl -u salved -o cat | grep -c "The directory of $FILE does not exist")" -eq 1
check "it is said at info level" \
    test "$(rig_exec journalctl -u salved -p info..info -o cat | grep -c "The directory of $FILE does not exist")" -eq 1
check "salved is still active" rig_exec systemctl is-active -q salved

# --- 2. the directory exists (its sandbox takes it at start) ---
# Made while salved runs: its sandbox set up at start keeps it read-only.
rig_exec mkdir -p "$DIR"
rig_exec salvectl reload >/dev/null
rig_exec salvectl reload >/dev/null
rig_wait_for "salved to say it cannot write there" 10 \
    sh -c "journalctl -u salved -o cat | grep -q 'Cannot write the metrics file $FILE.*ReadWritePaths='"
sleep 0.5
check "said once, naming the sandbox: $(rig_exec journalctl -u salved -o cat | grep -m1 'Cannot write the metrics file' | cut -c1-120)..." \
    test "$(rig_exec journalctl -u salved -o cat | grep -c "Cannot write the metrics file $FILE")" -eq 1
check "and nothing is written" rig_exec test ! -e "$FILE"
restart_salved
rig_wait_for "the metrics file to appear" 10 test -s "$FILE"
check "it is mode 0644 ($(rig_exec stat -c %a "$FILE"))" test "$(rig_exec stat -c %a "$FILE")" = 644
check "no temporary file is left" test "$(rig_exec ls -A "$DIR")" = salve.prom
check "salve_build_info names the version" grep -q '^salve_build_info{version="[0-9.]*"} 1$' <<<"$(prom)"
check "the plan's series start at 0" test "$(value 'salve_runs_total{plan="metrics-retry",state="succeeded"}')" = 0
check "salve_start_time_seconds is now-ish" \
    test $(( $(date +%s) - $(value salve_start_time_seconds | cut -d. -f1) )) -lt 60
ino=$(settled_inode)
prom >"$RIG_WORK/metrics.before"
sleep 3
check "idle for 3 s: not written again" not_rewritten "$ino" "$RIG_WORK/metrics.before"

# --- 3. a run with a retry ---
id=$(rig_exec salvectl run metrics-retry)
salve_wait "$id" succeeded 30
wait_value 'salve_runs_total{plan="metrics-retry",state="succeeded"}' 1 5
rig_ok "salve_runs_total{plan=\"metrics-retry\",state=\"succeeded\"} 1 once the run succeeded"
check "it started once" test "$(value 'salve_runs_started_total{plan="metrics-retry"}')" = 1
check "no run of it is active now" test "$(value 'salve_runs{plan="metrics-retry",state="running"}')" = 0
failed=$(value 'salve_step_duration_seconds_count{kind="exec",outcome="failed"}')
ok=$(value 'salve_step_duration_seconds_count{kind="exec",outcome="succeeded"}')
check "step attempts observed: 1 failed, 2 succeeded (failed=$failed succeeded=$ok)" test "$failed" = 1 -a "$ok" = 2
check "the +Inf bucket holds them all" \
    test "$(value 'salve_step_duration_seconds_bucket{kind="exec",outcome="succeeded",le="+Inf"}')" = 2
ino=$(settled_inode)
prom >"$RIG_WORK/metrics.before"
sleep 3
check "idle again for 3 s: not written" not_rewritten "$ino" "$RIG_WORK/metrics.before"
prom | grep -v -e '^#' -e ' 0$' | sed 's/^/# /'     # what is not 0

# --- 4. an RTO that cannot be met, and a person's acknowledgement ---
id=$(rig_exec salvectl run tight-rto)
salve_wait_step "$id" gate waiting 20
wait_value 'salve_rto_at_risk_total{plan="tight-rto"}' 1 10
rig_ok "at risk at once"
wait_value 'salve_rto_breached_total{plan="tight-rto"}' 1 10
rig_ok "breached after 3 s"
check "its run is counted waiting" test "$(value 'salve_runs{plan="tight-rto",state="waiting"}')" = 1
sleep 1
rig_exec salvectl ack "$id" gate >/dev/null
wait_value 'salve_human_ack_seconds_count{plan="tight-rto"}' 1 5
ack=$(value 'salve_human_ack_seconds_sum{plan="tight-rto"}')
check "time to the first acknowledgement: $ack s (>= 4)" awk -v a="$ack" 'BEGIN { exit !(a >= 4 && a < 60) }'
rig_exec salvectl approve "$id" gate >/dev/null
salve_wait "$id" succeeded 20
wait_value 'salve_step_duration_seconds_count{kind="approve",outcome="succeeded"}' 1 5
rig_ok "the approve step's wait is observed under kind=\"approve\""

# --- 5. holds: a cancelled run keeps them until a person releases them ---
id=$(rig_exec salvectl run demo)
salve_wait_step "$id" dba-approval waiting 30
rig_exec salvectl cancel "$id" >/dev/null
salve_wait "$id" cancelled 10
# The file follows within 100 ms; the held count was 2 while the run ran,
# so wait for the cancel's own series first (a check right after the
# held count once read the file from before the cancel).
wait_value 'salve_runs_total{plan="demo",state="cancelled"}' 1 5
rig_ok "salve_runs_total counts the cancel"
check "the cancelled demo run still holds 2 units" test "$(value salve_held_units)" = 2
rig_exec salvectl release demo-db.service >/dev/null
rig_exec salvectl release demo-api.service >/dev/null
wait_value salve_held_units 0 5
check "released by a person: salve_hold_releases_total 2" test "$(value salve_hold_releases_total)" = 2

# --- 6. the outbox: a channel nobody answers; its entries retry, then die ---
rig_exec sh -c 'mkdir -p /etc/salve/secrets && printf s3cret > /etc/salve/secrets/nowhere && chmod 0700 /etc/salve/secrets && chmod 0600 /etc/salve/secrets/nowhere'
rig_exec_stdin sh -c 'cat > /etc/salve/relay.yaml' <<'RELAY'
channels:
  nowhere:
    type: webhook
    url: http://127.0.0.1:9/hook
    secret: file:/etc/salve/secrets/nowhere
    timeout: 1s
outbox:
  retry-initial: 500ms
  retry-max: 1s
  give-up-after: 3s
RELAY
rig_exec salvectl reload >/dev/null
wait_value 'salve_outbox_entries{channel="nowhere",state="dead"}' 0 5
rig_ok "the new channel's series are there at 0 after the reload"
id=$(rig_exec salvectl run tight-rto)
salve_wait_step "$id" gate waiting 20
rig_wait_for "an entry to be retrying" 10 \
    sh -c "grep -q '^salve_outbox_entries{channel=\"nowhere\",state=\"retrying\"} [1-9]' $FILE"
rig_ok "notifications to a refusing channel show as retrying"
rig_exec salvectl cancel "$id" >/dev/null
rig_wait_for "every entry to be dead" 20 \
    sh -c "grep -q '^salve_outbox_entries{channel=\"nowhere\",state=\"dead\"} [1-9]' $FILE && grep -q '^salve_outbox_entries{channel=\"nowhere\",state=\"retrying\"} 0' $FILE && grep -q '^salve_outbox_entries{channel=\"nowhere\",state=\"pending\"} 0' $FILE"
dead=$(value 'salve_outbox_entries{channel="nowhere",state="dead"}')
rig_ok "after give-up-after they are dead letters ($dead)"
entry=$(rig_exec salvectl --json outbox | jq -r '[.entries[] | select(.state == "dead") | .id][0]')
rig_exec salvectl outbox drop "$entry" >/dev/null
wait_value salve_outbox_dropped_total 1 5
check "a person's drop is counted, one dead letter fewer" \
    test "$(value 'salve_outbox_entries{channel="nowhere",state="dead"}')" = $((dead - 1))

# --- 7. a resync: systemd re-executes, the units watcher re-reads ---
before=$(value 'salve_watch_resyncs_total{watcher="units"}')
lost_before=$(value 'salve_watch_events_lost_total{watcher="units"}')
check "the units watcher's resync and loss counts are there before ($before, $lost_before)" \
    bash -c "[[ '$before' =~ ^[0-9]+$ && '$lost_before' =~ ^[0-9]+$ ]]"
rig_exec systemctl daemon-reexec
resynced() { local n; n=$(value 'salve_watch_resyncs_total{watcher="units"}'); [[ $n =~ ^[0-9]+$ ]] && ((n > before)); }
rig_wait_for_host "the units watcher to resync" 20 resynced
check "salve_watch_resyncs_total{watcher=\"units\"} went up: $before, then $(value 'salve_watch_resyncs_total{watcher="units"}')" \
    resynced
check "salve_watch_events_lost_total{watcher=\"units\"} counts the loss ($lost_before, then $(value 'salve_watch_events_lost_total{watcher="units"}'))" \
    test "$(value 'salve_watch_events_lost_total{watcher="units"}')" -gt "$lost_before"

# --- 8. Prometheus' own check of the file ---
prom >"$RIG_WORK/salve.prom"
out=$(promtool check metrics <"$RIG_WORK/salve.prom" 2>&1) || { sed 's/^/# /' <<<"$out"; rig_fail "promtool check metrics"; }
rig_ok "promtool check metrics passes on the file ($(wc -l <"$RIG_WORK/salve.prom") lines)"
for w in units md block links; do
    check "the $w watcher's series are there" \
        grep -q "^salve_watch_events_total{watcher=\"$w\"} [0-9]" "$RIG_WORK/salve.prom"
done
check "md's resyncs at 0" grep -q '^salve_watch_resyncs_total{watcher="md"} 0$' "$RIG_WORK/salve.prom"
check "every family has HELP and TYPE, the same families" \
    test "$(sed -n 's/^# HELP \(salve_[a-z_]*\) .*/\1/p' "$RIG_WORK/salve.prom")" = \
         "$(sed -n 's/^# TYPE \(salve_[a-z_]*\) .*/\1/p' "$RIG_WORK/salve.prom")"

# --- 9. node_exporter itself reads it (Debian's prometheus-node-exporter) ---
ne=$(rig_exec sh -c 'nohup prometheus-node-exporter --collector.disable-defaults --collector.textfile \
    --collector.textfile.directory=/var/lib/prometheus/node-exporter --web.listen-address=127.0.0.1:9199 \
    >/run/node-exporter.log 2>&1 & echo $!')
rig_wait_for "node_exporter to answer" 10 curl -sf -o /dev/null http://127.0.0.1:9199/metrics
scrape=$(rig_exec curl -sf http://127.0.0.1:9199/metrics)
check "node_exporter read the file without error" grep -qx 'node_textfile_scrape_error 0' <<<"$scrape"
check "and serves salve's series" \
    grep -qxF 'salve_runs_total{plan="metrics-retry",state="succeeded"} 1' <<<"$scrape"
check "with its mtime (node_textfile_mtime_seconds{file=...salve.prom})" grep -q '^node_textfile_mtime_seconds{file=".*salve.prom"}' <<<"$scrape"
rig_exec kill "$ne"

# --- 10. the run journal on a full disk: results held, the gauge says so ---
rig_exec systemctl stop salved
rig_exec sh -c 'mount -t tmpfs -o size=1m,mode=0700 tmpfs /var/lib/salve'
rig_exec systemctl start salved
rig_wait_for "salved to be active" 20 systemctl is-active -q salved
wait_value salve_journal_writable 1 5
id=$(rig_exec salvectl run metrics-slow)
salve_wait_step "$id" s1 running 10
rig_exec sh -c 'dd if=/dev/zero of=/var/lib/salve/fill bs=4k 2>/dev/null; sync' || true
wait_value salve_journal_writable 0 20
rig_ok "the run journal refuses writes: salve_journal_writable 0"
# A step's result, if one ended meanwhile, is held (else the next step's
# start was what could not be journaled): the same count as salved's status.
status_held() { rig_exec systemctl show -p StatusText --value salved | sed -n 's/.*: \([0-9]*\) results\? held.*/\1/p'; }
agrees() { local h; h=$(status_held); [[ -n $h && $(value salve_step_results_unjournaled) == "$h" ]]; }
rig_wait_for_host "the file and salved's status to agree on results held" 5 agrees
rig_ok "salve_step_results_unjournaled is what salved's status says ($(status_held) held)"
rig_exec rm -f /var/lib/salve/fill
salve_wait "$id" succeeded 60
wait_value salve_journal_writable 1 5
check "space again: writable, nothing held" test "$(value salve_step_results_unjournaled)" = 0
rig_exec systemctl stop salved
rig_exec umount /var/lib/salve
restart_salved

# --- 11. turned off by a drop-in ---
rig_exec mkdir -p /run/systemd/system/salved.service.d
rig_exec sh -c 'printf "[Service]\nEnvironment=SALVE_METRICS_FILE=\n" > /run/systemd/system/salved.service.d/no-metrics.conf'
rig_exec systemctl daemon-reload
# Removed while no salved runs: the one before the drop-in would write it
# again for what the reload changed (the units watcher's events).
rig_exec systemctl stop salved
rig_exec rm -f "$FILE"
rig_exec systemctl start salved
rig_wait_for "salved to be active" 20 systemctl is-active -q salved
id=$(rig_exec salvectl run metrics-retry)
salve_wait "$id" succeeded 30
sleep 0.5
check "SALVE_METRICS_FILE= writes nothing" rig_exec test ! -e "$FILE"

rig_poweroff
rig_done
