#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The units watcher (src/watch/unit-watch.c) against a real systemd in a
# container, through watch-driver running inside, asserting on its JSON:
# - a unit failed at boot, before the driver starts: one "failed" with
#   initial=true, its occurrence the unit's StateChangeTimestamp, and the
#   same occurrence again from a second driver (stable across restarts);
# - exit 1 without Restart= (exit-code), SIGKILL (signal), a oneshot past
#   TimeoutStartSec= (timeout), a watchdog that is never pinged (watchdog),
#   OOM-kill where the container has cgroup v2 memory (else said, skipped):
#   exactly one "failed" each, with the Result, realtime = the main
#   process's ExecMainExitTimestamp, and the latency (death -> printed);
# - Restart=on-failure that crashes twice and recovers: "restarted" 1 and
#   2, never "failed";
# - crashes until StartLimitBurst=: exactly one "failed" start-limit-hit;
# - Restart=always with clean exits: "restarted", no "inactive" between;
# - "inactive" when a unit is stopped;
# - systemctl daemon-reexec while a unit fails: lost, resynced, and that
#   failure reported exactly once; a resync on SIGUSR1 finds nothing new;
# - no malformed input counted.
#
# usage: test-watch-units.sh PATH/TO/watch-driver
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data=$(cd "$here/../data" && pwd)
. "$here/lib.sh"

driver=${1:?usage: test-watch-units.sh PATH/TO/watch-driver}
rig_require
command -v jq >/dev/null || { echo "SKIP: jq is not installed" >&2; exit 77; }
[[ -x "$driver" ]] || { echo "test-watch-units: $driver is not an executable" >&2; exit 1; }
rig_init "watch-units-$$"

t_start=$(rig_now_ms)
stage=$(rig_tmpdir stage)
state=$(rig_tmpdir state)
units=$(rig_tmpdir units)
dest=/usr/local/lib/salve-test
mkdir -p "$stage$dest"
cp "$driver" "$stage$dest/watch-driver"
cp "$data"/units/watch/*.service "$units/"
# failed before any driver runs
mkdir -p "$units/salve-test.target.d"
printf '[Unit]\nWants=watch-early.service\n' >"$units/salve-test.target.d/watch.conf"

rig_boot "$stage" "$state" "$units"
rig_ok "container booted ($(( $(rig_now_ms) - t_start )) ms)"
rig_wait_for "watch-early.service failed" 10 systemctl is-failed -q watch-early.service \
    || rig_fail "watch-early.service did not fail at boot"

OUT=/run/watch-units.json
DPID=""
start_driver() {
    DPID=$(rig_exec sh -c "$dest/watch-driver units >$OUT 2>/run/watch-units.err & echo \$!")
    rig_wait_for "driver ready" 10 sh -c "grep -q '\"notice\":\"ready\"' $OUT" \
        || rig_fail "the driver did not say ready: $(rig_exec cat $OUT /run/watch-units.err)"
}
stop_driver() {
    rig_exec kill -TERM "$DPID"
    rig_wait_for "driver stats" 5 sh -c "grep -q '\"stats\"' $OUT" || rig_fail "no stats line on SIGTERM"
}
out() { rig_exec cat "$OUT"; }
# events UNIT [EVENT]: that unit's event lines
events() {
    out | jq -c --arg u "$1" --arg e "${2:-}" 'select(.name == $u and ($e == "" or .event == $e))'
}
n_events() { events "$@" | wc -l; }
wait_event() {  # UNIT EVENT TIMEOUT
    rig_wait_for "$1 $2" "$3" sh -c "grep '\"name\":\"$1\"' $OUT | grep -q '\"event\":\"$2\"'" \
        || rig_fail "no $2 event for $1: $(out | tail -n 20)"
}
prop() {  # UNIT INTERFACE PROPERTY: the value, as busctl prints it after the type
    local path
    path=$(rig_exec busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
           org.freedesktop.systemd1.Manager GetUnit s "$1" | awk '{print $2}' | tr -d '"')
    rig_exec busctl get-property org.freedesktop.systemd1 "$path" "org.freedesktop.systemd1.$2" "$3" | awk '{print $2}'
}
LATENCIES=()
# expect_failed UNIT RESULT [TIMEOUT]: exactly one failed event, as systemd says
expect_failed() {
    local u=$1 result=$2 line occ sc exit_ts lat
    wait_event "$u" failed "${3:-10}"
    sleep 0.3   # a second one would come right after
    [[ $(n_events "$u" failed) == 1 ]] || rig_fail "$u: $(n_events "$u" failed) failed events: $(events "$u")"
    line=$(events "$u" failed)
    [[ $(jq -r .result <<<"$line") == "$result" ]] || rig_fail "$u: result $(jq -r .result <<<"$line"), want $result"
    [[ $(jq -r .initial <<<"$line") == false ]] || rig_fail "$u: initial set on a failure seen happening"
    sc=$(prop "$u" Unit StateChangeTimestamp)
    occ=$(jq -r .occurrence <<<"$line")
    [[ "$occ" == "$u@$sc" ]] || rig_fail "$u: occurrence $occ, want $u@$sc"
    exit_ts=$(prop "$u" Service ExecMainExitTimestamp)
    if [[ "$result" != start-limit-hit ]]; then
        [[ $(jq -r .realtime <<<"$line") == "$exit_ts" ]] \
            || rig_fail "$u: realtime $(jq -r .realtime <<<"$line"), want ExecMainExitTimestamp $exit_ts"
    fi
    lat=$(jq -r '.seen_realtime - .realtime' <<<"$line")
    LATENCIES+=("$lat")
    rig_ok "$u: one failed, result $result, occurrence $occ, $lat us from death to printed"
}

echo "# initial failure and enumeration"
start_driver
[[ $(n_events watch-early.service failed) == 1 ]] || rig_fail "watch-early: $(events watch-early.service)"
line=$(events watch-early.service failed)
sc=$(prop watch-early.service Unit StateChangeTimestamp)
[[ $(jq -r '.initial, .result, .occurrence' <<<"$line" | tr '\n' ' ') == "true exit-code watch-early.service@$sc " ]] \
    || rig_fail "watch-early initial event: $line (StateChangeTimestamp $sc)"
rig_ok "a unit failed before the driver: one initial failed, occurrence watch-early.service@$sc"
n_initial=$(out | jq -c 'select(.event and .initial)' | wc -l)
n_failed_now=$(rig_exec systemctl list-units --state=failed --no-legend --plain | wc -l)
[[ "$n_initial" == "$n_failed_now" ]] || rig_fail "$n_initial initial events for $n_failed_now failed units"
[[ $(out | jq -c 'select(.event and .initial and .event != "failed")' | wc -l) == 0 ]] \
    || rig_fail "initial events other than failed: $(out | jq -c 'select(.initial and .event != "failed")')"
rig_ok "initial events only for the $n_failed_now failed unit(s), no initial active/inactive"

echo "# failures without Restart="
rig_exec systemctl start watch-exit1.service watch-signal.service
expect_failed watch-exit1.service exit-code
expect_failed watch-signal.service signal
[[ $(n_events watch-exit1.service active) == 1 ]] || rig_fail "watch-exit1: no single active: $(events watch-exit1.service)"
rig_ok "watch-exit1.service: active once before it failed"
rig_exec systemctl start --no-block watch-timeout.service
expect_failed watch-timeout.service timeout 10
rig_exec systemctl start watch-watchdog.service
expect_failed watch-watchdog.service watchdog 10
if rig_exec sh -c 'grep -qw memory /sys/fs/cgroup/cgroup.controllers' 2>/dev/null; then
    rig_exec systemctl start watch-oom.service || true
    expect_failed watch-oom.service oom-kill 15
else
    echo "# skip oom-kill: no cgroup v2 memory controller in the container (this host: $(stat -fc %T /sys/fs/cgroup)); systemd 252 reports oom-kill only from memory.events"
fi

echo "# Restart=on-failure"
rig_exec rm -f /run/watch-flaky.n
rig_exec systemctl start watch-flaky.service
# shellcheck disable=SC2016 # expanded inside the container
rig_wait_for "watch-flaky up after 2 crashes" 15 sh -c \
    '[ "$(cat /run/watch-flaky.n 2>/dev/null)" = 3 ] && systemctl is-active -q watch-flaky.service' \
    || rig_fail "watch-flaky did not recover: $(rig_exec systemctl status --no-pager watch-flaky.service)"
wait_event watch-flaky.service restarted 5
sleep 0.5
r=$(events watch-flaky.service restarted | jq -r .restarts | tr '\n' ' ')
[[ "$r" == "1 2 " ]] || rig_fail "watch-flaky restarted events: $r (want 1 2): $(events watch-flaky.service)"
[[ $(n_events watch-flaky.service failed) == 0 ]] || rig_fail "watch-flaky reported failed: $(events watch-flaky.service)"
rig_ok "watch-flaky.service: restarted 1, 2 and never failed (NRestarts $(prop watch-flaky.service Service NRestarts))"
rig_exec systemctl stop watch-flaky.service
wait_event watch-flaky.service inactive 5
rig_ok "watch-flaky.service: inactive when stopped"

echo "# Restart=always, clean exits"
rig_exec systemctl start watch-always.service
rig_wait_for "watch-always restarted twice" 10 sh -c "[ \$(grep '\"name\":\"watch-always.service\"' $OUT | grep -c '\"event\":\"restarted\"') -ge 2 ]" \
    || rig_fail "watch-always: $(events watch-always.service)"
rig_exec systemctl stop watch-always.service
wait_event watch-always.service inactive 5
sleep 0.3
[[ $(n_events watch-always.service inactive) == 1 && $(n_events watch-always.service failed) == 0 ]] \
    || rig_fail "watch-always: inactive/failed between restarts: $(events watch-always.service)"
rig_ok "watch-always.service: restarted $(events watch-always.service restarted | jq -r .restarts | tr '\n' ' ')with no inactive between, inactive once when stopped"

echo "# start limit"
rig_exec systemctl start watch-limit.service
expect_failed watch-limit.service start-limit-hit 15
nr=$(prop watch-limit.service Service NRestarts)
r=$(events watch-limit.service restarted | jq -r .restarts | tr '\n' ' ')
[[ "$r" == "$(seq -s ' ' 1 "$nr") " ]] || rig_fail "watch-limit restarted events: $r, NRestarts $nr"
rig_ok "watch-limit.service: restarted $r before the start limit"

echo "# daemon-reexec while a unit fails"
before=$(out | jq -c 'select(.event == "failed")' | wc -l)
rig_exec systemctl start --no-block watch-reexec.service
rig_exec systemctl daemon-reexec
rig_wait_for "resynced after reexec" 10 sh -c "grep -q '\"notice\":\"resynced\"' $OUT" \
    || rig_fail "no resynced notice after daemon-reexec: $(out | tail -n 5)"
[[ $(out | jq -c 'select(.notice == "lost")' | wc -l) -ge 1 ]] || rig_fail "no lost notice after daemon-reexec: $(out | tail -n 8)"
rig_wait_for "watch-reexec failed" 10 systemctl is-failed -q watch-reexec.service || rig_fail "watch-reexec did not fail"
expect_failed watch-reexec.service exit-code 10
after=$(out | jq -c 'select(.event == "failed")' | wc -l)
[[ $after == $((before + 1)) ]] || rig_fail "failed events $before -> $after: a failure reported again after the reexec"
rig_ok "after daemon-reexec: lost, resynced ($(out | jq -r 'select(.notice == "resynced") | .message' | tail -n 1)), the failure once ($(events watch-reexec.service failed | jq -r '"resynced=\(.resynced)"'))"

nlines=$(out | wc -l)
rig_exec kill -USR1 "$DPID"
rig_wait_for "resync on SIGUSR1" 5 sh -c "[ \$(grep -c '\"notice\":\"resynced\"' $OUT) -ge 2 ]" || rig_fail "no resync on SIGUSR1"
sleep 0.3
new=$(out | tail -n +$((nlines + 1)) | jq -c 'select(.event)')
[[ -z "$new" ]] || rig_fail "a resync with nothing missed emitted: $new"
rig_ok "a resync that missed nothing emits nothing ($(out | jq -r 'select(.notice == "resynced") | .message' | tail -n 1))"

echo "# latency, death -> printed, over 10 failures of watch-exit1"
for i in $(seq 10); do
    rig_exec systemctl reset-failed watch-exit1.service
    rig_exec systemctl start watch-exit1.service
    rig_wait_for "watch-exit1 failure $i" 5 sh -c "[ \$(grep '\"name\":\"watch-exit1.service\"' $OUT | grep -c '\"event\":\"failed\"') -ge $((i + 1)) ]" \
        || rig_fail "failure $i of watch-exit1 not reported"
done
lat=$(events watch-exit1.service failed | jq -s 'map(.seen_realtime - .realtime) | sort | "median \(.[length/2|floor]) us, max \(.[-1]) us"')
rig_ok "watch-exit1.service: 11 failures, $lat"
[[ $(n_events watch-exit1.service failed) == 11 ]] || rig_fail "watch-exit1: $(n_events watch-exit1.service failed) failed events, want 11"

echo "# a second driver: the same occurrences"
stop_driver
stats=$(out | jq -c 'select(.stats) | .stats')
[[ $(jq -r .bad_input <<<"$stats") == 0 ]] || rig_fail "bad input counted: $stats"
rig_ok "stats $stats"
old=$(out | jq -r 'select(.event == "failed") | .occurrence' | sort -u)
start_driver
new=$(out | jq -r 'select(.event == "failed" and .initial) | .occurrence' | sort)
for u in watch-early watch-exit1 watch-signal watch-timeout watch-watchdog watch-limit watch-reexec; do
    o=$(grep "^$u.service@" <<<"$new" || true)
    [[ -n "$o" ]] || rig_fail "$u.service: no initial failed from the second driver"
    grep -qxF "$o" <<<"$old" || rig_fail "$u.service: occurrence $o not one the first driver reported"
done
rig_ok "a second driver reports the failed units with the same occurrences"
stop_driver

rig_poweroff || rig_fail "clean poweroff"
echo "# total $(( $(rig_now_ms) - t_start )) ms"
rig_done
