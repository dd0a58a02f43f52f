#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The executor (src/exec/) against a real systemd: boots a container, runs
# the steps of tests/data/plans/exec-test.yaml one at a time through
# exec-driver inside, and checks each result line and what systemd and the
# journal say afterwards.
#
# usage: test-executor.sh PATH/TO/exec-driver
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data=$(cd "$here/../data" && pwd)
. "$here/lib.sh"

driver=${1:?usage: test-executor.sh PATH/TO/exec-driver}
rig_require
[[ -x "$driver" ]] || { echo "test-executor: $driver is not an executable" >&2; exit 1; }
rig_init "executor-$$"

t_start=$(rig_now_ms)
stage=$(rig_tmpdir stage)
state=$(rig_tmpdir state)
units=$(rig_tmpdir units)
dest=/usr/local/lib/salve-test
mkdir -p "$stage$dest"
cp "$driver" "$stage$dest/exec-driver"
cp "$data/plans/exec-test.yaml" "$stage$dest/"
cp "$data"/units/exec-*.service "$units/"
ln -s exec-wait.service "$units/exec-wait-alias.service"

rig_boot "$stage" "$state" "$units"
rig_ok "container booted ($(( $(rig_now_ms) - t_start )) ms)"

run=t$$
LINE="" ELAPSED=0
# step [DRIVER-OPTIONS...] NAME: runs one step, sets LINE and ELAPSED (ms).
step() {
    local t0 out
    t0=$(rig_now_ms)
    out=$(rig_exec "$dest/exec-driver" --run-id "$run" "${@:1:$#-1}" "$dest/exec-test.yaml" "${!#}") \
        || rig_fail "exec-driver ${!#} exited with $?"
    ELAPSED=$(( $(rig_now_ms) - t0 ))
    LINE=$(grep -m1 "^${!#} " <<<"$out" || true)
    [[ -n "$LINE" ]] || rig_fail "exec-driver ${!#}: no result line (output: $out)"
}
# expect NAME OUTCOME EXIT REGEX: runs the step and checks its line.
expect() {
    local name=$1 outcome=$2 exit=$3 re=$4 msg
    step "$name"
    [[ "$LINE" =~ ^"$name $outcome exit=$exit "(.*)$ ]] \
        || rig_fail "$name: got '$LINE', want '$outcome exit=$exit'"
    msg=${BASH_REMATCH[1]}
    [[ "$msg" =~ $re ]] || rig_fail "$name: message '$msg' does not match /$re/"
    rig_ok "$name: $outcome exit=$exit \"$msg\" (${ELAPSED} ms)"
}
unit_of() { echo "salve-$run-$1-1.service"; }
# The transient unit of an exec step must be gone (collected) soon after.
expect_unit_gone() {
    local u; u=$(unit_of "$1")
    rig_wait_for "$u collected" 10 sh -c "[ \"\$(systemctl show -P LoadState $u)\" = not-found ]" \
        || rig_fail "$u still loaded: $(rig_exec systemctl show -P ActiveState,LoadState "$u" | tr '\n' ' ')"
}
is_active() { rig_exec systemctl is-active "$1" || true; }

echo "# unit jobs"
expect start-oneshot succeeded -1 '^exec-oneshot\.service: start job done, unit active$'
[[ "$(is_active exec-oneshot.service)" == active ]] || rig_fail "exec-oneshot.service not active"
rig_ok "exec-oneshot.service is active afterwards"

expect start-simple succeeded -1 '^exec-simple\.service: start job done, unit active$'
pid1=$(rig_exec systemctl show -P MainPID exec-simple.service)
[[ "$(is_active exec-simple.service)" == active && "$pid1" != 0 ]] || rig_fail "exec-simple.service not running"
rig_ok "exec-simple.service is running (MainPID $pid1)"

expect restart-simple succeeded -1 '^exec-simple\.service: restart job done, unit active$'
pid2=$(rig_exec systemctl show -P MainPID exec-simple.service)
[[ "$pid2" != 0 && "$pid2" != "$pid1" ]] || rig_fail "restart did not replace the main process ($pid1 -> $pid2)"
rig_ok "exec-simple.service restarted (MainPID $pid1 -> $pid2)"

expect stop-simple succeeded -1 '^exec-simple\.service: stop job done, unit inactive$'
[[ "$(is_active exec-simple.service)" == inactive ]] || rig_fail "exec-simple.service still running"
rig_ok "exec-simple.service is inactive afterwards"

expect start-fail failed -1 '^exec-fail\.service: start job failed \(see journalctl -u exec-fail\.service\)$'
expect start-missing failed -1 '^StartUnit exec-no-such-unit\.service: Unit exec-no-such-unit\.service not found \(org\.freedesktop\.systemd1\.NoSuchUnit\)$'

echo "# exec steps (transient units)"
expect exec-exit3 failed 3 '^exit status 3$'
expect_unit_gone exec-exit3
rig_ok "the failed transient unit was collected"

expect exec-ok succeeded 0 '^exit status 0$'
expect_unit_gone exec-ok
j=$(rig_journal -q -o cat -u "$(unit_of exec-ok)")
for marker in salve-exec-marker-out salve-exec-marker-err; do
    grep -qx "$marker" <<<"$j" || rig_fail "$marker not in journalctl -u $(unit_of exec-ok): $j"
done
rig_ok "stdout and stderr of exec-ok are in the unit's journal"
j=$(rig_journal -q -o cat SALVE_RUN="$run" SALVE_STEP=exec-ok SALVE_ATTEMPT=1)
grep -qx salve-exec-marker-out <<<"$j" || rig_fail "no output under SALVE_RUN=$run SALVE_STEP=exec-ok: $j"
j=$(rig_journal -q -o verbose -u "$(unit_of exec-ok)" SYSLOG_IDENTIFIER=exec-ok | grep -c MESSAGE=salve-exec-marker || true)
[[ "$j" == 2 ]] || rig_fail "SyslogIdentifier=exec-ok: $j lines"
rig_ok "journal fields SALVE_RUN/SALVE_STEP/SALVE_ATTEMPT and SYSLOG_IDENTIFIER are set"

expect exec-env succeeded 0 '^exit status 0$'
rig_ok "environment, working directory and user reach the command"
expect exec-dollar succeeded 0 '^exit status 0$'
rig_ok "\$ in a command reaches the shell unexpanded by systemd"

expect exec-timeout timed-out -1 '^timed out after 2s, stopped$'
(( ELAPSED >= 1900 && ELAPSED <= 4000 )) || rig_fail "exec-timeout took ${ELAPSED} ms, want 2-4 s"
rig_ok "exec-timeout ended after ${ELAPSED} ms"
expect_unit_gone exec-timeout
rig_exec sh -c '! pgrep -x sleep' >/dev/null || rig_fail "the sleep of exec-timeout is still running"
rig_ok "the timed out transient unit is gone and its process killed"

expect exec-missing failed 203 '^exit status 203 \(EXEC: the command was not found or is not executable\)$'
expect_unit_gone exec-missing
expect exec-signal failed -1 '^killed by signal SIGKILL$'

step --cancel-after 500 exec-cancel
[[ "$LINE" == "exec-cancel cancelled exit=-1 cancelled by the driver" ]] || rig_fail "exec-cancel: got '$LINE'"
expect_unit_gone exec-cancel
rig_exec sh -c '! pgrep -x sleep' >/dev/null || rig_fail "the sleep of exec-cancel is still running"
rig_ok "cancelling an exec step stops its transient unit (${ELAPSED} ms)"

echo "# wait steps"
( sleep 1; rig_exec systemctl start exec-wait.service ) >/dev/null 2>&1 &
bg=$!
expect wait-unit succeeded -1 '^exec-wait\.service is active$'
wait "$bg" || rig_fail "starting exec-wait.service in the background failed"
(( ELAPSED >= 800 )) || rig_fail "wait-unit returned after ${ELAPSED} ms, before the unit was started"
# An alias: its state changes are signalled on the unit's own object.
rig_exec systemctl stop exec-wait.service
( sleep 1; rig_exec systemctl start exec-wait.service ) >/dev/null 2>&1 &
bg=$!
expect wait-alias succeeded -1 '^exec-wait-alias\.service is active$'
wait "$bg" || rig_fail "starting exec-wait.service in the background failed"
(( ELAPSED >= 800 )) || rig_fail "wait-alias returned after ${ELAPSED} ms, before the unit was started"
expect wait-unit-now succeeded -1 '^exec-oneshot\.service is active$'
expect wait-unit-timeout timed-out -1 '^exec-simple\.service not active after 1s \(it is inactive\)$'

rig_exec rm -rf /run/exec-test
( sleep 1; rig_exec sh -c 'mkdir -p /run/exec-test/a/b && touch /run/exec-test/a/b/ready' ) >/dev/null 2>&1 &
bg=$!
expect wait-path succeeded -1 '^/run/exec-test/a/b/ready exists$'
wait "$bg" || rig_fail "creating the path in the background failed"
(( ELAPSED >= 800 )) || rig_fail "wait-path returned after ${ELAPSED} ms, before the path was created"
( sleep 1; rig_exec rm -rf /run/exec-test/a ) >/dev/null 2>&1 &
bg=$!
expect wait-gone succeeded -1 '^/run/exec-test/a/b/ready is gone$'
wait "$bg" || rig_fail "removing the path in the background failed"
(( ELAPSED >= 800 )) || rig_fail "wait-gone returned after ${ELAPSED} ms, before the path was removed"
expect wait-timeout timed-out -1 '^/run/exec-test/never did not appear within 1s$'

echo "# other kinds and conditions"
# The container has no md: the step says so rather than wait (the md VM
# tests run raid.check for real: tests/vm/guest/md-steps.sh).
expect raid-check failed -1 '^md0 does not exist \(/sys/block/md0/md: No such file or directory\)$'
expect when:cond-ok succeeded -1 '^all conditions hold$'
expect when:cond-unit failed -1 '^when\.unit-active: exec-simple\.service is inactive, not active$'
expect when:cond-path failed -1 '^when\.path-exists: /run/exec-test/never: No such file or directory$'
step --trigger boot when:cond-ok
[[ "$LINE" == "when:cond-ok failed exit=-1 when.trigger: the run was triggered by boot, not manual" ]] \
    || rig_fail "when:cond-ok with trigger boot: got '$LINE'"
rig_ok "when.trigger is checked"

left=$(rig_exec systemctl list-units --all --no-legend --plain "salve-$run-*" | awk '{print $1}' | tr '\n' ' ')
[[ -z "${left// /}" ]] || rig_fail "transient units left behind: $left"
rig_ok "no salve-$run-* units left behind"

rig_poweroff || rig_fail "clean poweroff"
rig_ok "clean poweroff"
echo "# total $(( $(rig_now_ms) - t_start )) ms"
rig_done
