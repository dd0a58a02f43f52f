#!/bin/bash
# salved end to end in a real systemd container: ordered unit restarts,
# retries and on-failure handlers, exec timeouts, polkit, bad D-Bus input,
# reload, kill -9 of salved mid-run, a power cut mid-run, and the
# unclean-boot trigger.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

# Line number of the first line equal to $2 in log $1 (0: none).
line_of() {
    grep -n -x -- "$2" "$SALVE_LOGS/$1" | head -n1 | cut -d: -f1 || true
}

salve_setup daemon$$
salve_boot

# --- salved itself ---
check "salved is active as a notify service" rig_exec systemctl is-active -q salved
status=$(rig_exec systemctl show -p StatusText --value salved)
check "status line says what it does ($status)" test "${status#*plans loaded}" != "$status"
# salved decides on the boot before it says it is ready: a run it started
# for it would be in the history now, and its step would have written.
check "first boot triggers no unclean-boot plan (no run of it, nothing in boot.log)" \
    test "$(rig_exec salvectl --json history | jq '[.[] | select(.plan == "on-unclean-boot")] | length')/$(salve_log boot.log)" = 0/

# --- units restart in dependency order ---
rig_exec systemctl start demo-db demo-api demo-worker
: >"$SALVE_LOGS/units.log"
id=$(rig_exec salvectl run ordered-restart)
salve_wait "$id" succeeded 30
sdb=$(line_of units.log "start demo-db")
check "db stopped before it starts again" test "$(line_of units.log "stop demo-db")" -lt "$sdb"
check "api and worker stopped before the db restarts" \
    test "$(line_of units.log "stop demo-api")" -lt "$sdb" -a "$(line_of units.log "stop demo-worker")" -lt "$sdb"
check "api starts after the db" test "$(line_of units.log "start demo-api")" -gt "$sdb"
check "worker starts after the api" \
    test "$(line_of units.log "start demo-worker")" -gt "$(line_of units.log "start demo-api")"
check "all three units active afterwards" rig_exec systemctl is-active -q demo-db demo-api demo-worker

# --- a unit that hit its start rate limit is still restarted ---
rig_exec systemctl restart demo-limited
rig_exec systemctl restart demo-limited 2>/dev/null && rig_fail "the rate limit did not trigger"
check "the test unit is rate-limited" rig_exec sh -c "systemctl show -p Result --value demo-limited | grep -q start-limit-hit"
id=$(rig_exec salvectl run limited)
salve_wait "$id" succeeded 30
check "a plan's restart clears it first (reset-failed), as a runbook would" \
    test "$(salve_count units.log "start demo-limited")" -eq 2

# --- a failing step retries, then takes its on-failure path ---
id=$(rig_exec salvectl run flaky)
salve_wait "$id" succeeded 40
check "three attempts" test "$(salve_count flaky.log attempt)" -eq 3
check "handler ran once after them" test "$(salve_count flaky.log repaired)" -eq 1
check "what needs the step ran after the handler" \
    test "$(line_of flaky.log after)" -gt "$(line_of flaky.log repaired)"
check "the step itself is failed after 3 attempts" test "$(salve_json "$id" | jq -r '.steps[] | select(.id=="flaky") | "\(.state) \(.attempt)"')" = "failed 3"
check "backoff doubled between attempts" \
    rig_exec sh -c "journalctl -u salved -o cat | grep -q 'attempt 2 of 3 failed (exit status 7); retrying in 2s'"

# --- an exec step overruns its timeout ---
t0=$(rig_now_ms)
id=$(rig_exec salvectl run slow)
salve_wait "$id" failed 30
elapsed=$(($(rig_now_ms) - t0))
check "timed-out run failed in ${elapsed} ms (timeout 2 s)" test "$elapsed" -ge 1900 -a "$elapsed" -lt 15000
check "step says it timed out" test "$(salve_json "$id" | jq -r '.steps[] | select(.id=="hang") | .message' | grep -c 'timed out')" -eq 1
check "its dependent was cancelled" test "$(salve_step "$id" never)" = cancelled
check "no transient unit left running" \
    test -z "$(rig_exec systemctl list-units --no-legend --state=active 'salve-*hang*')"

# --- polkit: reading is open, changing is not ---
id=$(rig_exec salvectl run demo)
salve_wait_step "$id" dba-approval waiting 30
check "an unprivileged user can read runs" rig_exec_as alice salvectl status "$id"
out=$(rig_exec_as alice salvectl --no-ask-password approve "$id" dba-approval 2>&1) && rig_fail "alice may approve"
check "an unprivileged user is refused approve, plainly ($out)" grep -q "not authorized" <<<"$out"
out=$(rig_exec_as alice salvectl --no-ask-password run demo 2>&1) && rig_fail "alice may start runs"
check "an unprivileged user is refused run" grep -q "not authorized" <<<"$out"
check "the step still waits" test "$(salve_step "$id" dba-approval)" = waiting

# A polkit rule lets the step's owners approve their own steps.
rig_exec groupadd -f dba
rig_exec id bob >/dev/null 2>&1 || rig_exec useradd -m -G dba bob
rig_exec_stdin sh -c 'cat > /etc/polkit-1/rules.d/50-salve-dba.rules' <<'RULE'
polkit.addRule(function(action, subject) {
    if (action.id == "org.salve.approve" && action.lookup("owner") == "dba" && subject.isInGroup("dba"))
        return polkit.Result.YES;
});
RULE
sleep 1
check "a dba member may approve the dba's step (polkit rule with the owner detail)" \
    rig_exec_as bob salvectl --no-ask-password approve "$id" dba-approval --comment "lag 2s"
salve_wait "$id" succeeded 30
check "who approved is recorded" test "$(salve_json "$id" | jq -r '.steps[] | select(.id=="dba-approval") | .actor')" = "bob (uid $(rig_exec id -u bob))"
check "root may act" rig_exec salvectl cancel "$(rig_exec salvectl run demo)"

# On a terminal salvectl runs a polkit agent (pkttyagent) for password
# prompts; off a terminal, or with --no-ask-password, it does not. (The
# prompt itself needs a logind session, which the container's users lack.)
id=$(rig_exec salvectl run demo)
rig_exec_as alice script -qec "salvectl cancel $id" /dev/null </dev/null >/dev/null 2>&1 || true
rig_exec_as alice script -qec "salvectl --no-ask-password cancel $id" /dev/null </dev/null >/dev/null 2>&1 || true
rig_exec_as alice salvectl cancel "$id" >/dev/null 2>&1 || true
check "salvectl on a terminal registers a polkit agent, once" \
    test "$(rig_exec journalctl -u polkit -o cat | grep -c 'Registered Authentication Agent.*pkttyagent --notify-fd')" -eq 1
rig_exec salvectl cancel "$id"

# --- bad D-Bus input gets a clear error ---
bus() { rig_exec busctl call org.salve.Manager1 /org/salve/manager org.salve.Manager1 "$@" 2>&1 || true; }
check "bad run id is refused" grep -q "Invalid run id" <<<"$(bus GetRun s '../etc')"
check "unknown run" grep -q "No run" <<<"$(bus GetRun s 'nope-1')"
check "unknown plan" grep -q "No plan named" <<<"$(bus StartRun ss no-such-plan '')"
check "unknown action" grep -q "Unknown action" <<<"$(bus ActOnStep ssss "$id" dba-approval approv '')"
check "unknown step" grep -q "has no step" <<<"$(bus ActOnStep ssss "$id" nope approve '')"
check "wrong signature" grep -qi "invalid\|signature" <<<"$(bus GetRun u 5)"
check "acting on a finished run" grep -q "cannot be approved now" <<<"$(bus ActOnStep ssss "$id" dba-approval approve '')"
check "salved survived all that" rig_exec systemctl is-active -q salved

# --- reload: a broken plan set is refused, the old one kept ---
plans=$(rig_exec busctl get-property org.salve.Manager1 /org/salve/manager org.salve.Manager1 PlansLoaded)
rig_exec sh -c 'printf "plan: broken\nsteps:\n  - id: a\n    run: exce\n" > /etc/salve/plans.d/broken.yaml'
out=$(rig_exec salvectl reload 2>&1) && rig_fail "a broken plan set was accepted"
check "reload refuses a broken set ($out)" grep -q "errors" <<<"$out"
check "and names the file, line and column" \
    rig_exec sh -c "journalctl -u salved -o cat | grep -q '/etc/salve/plans.d/broken.yaml:4:10: error: step \"a\": run: unknown step kind \"exce\"'"
check "the old plans stay loaded" test "$(rig_exec busctl get-property org.salve.Manager1 /org/salve/manager org.salve.Manager1 PlansLoaded)" = "$plans"
rig_exec sh -c 'printf "plan: extra\nsteps:\n  - {id: a, run: exec, with: {command: [/bin/true]}}\n" > /etc/salve/plans.d/broken.yaml'
rig_exec systemctl reload salved
rig_wait_for "the new plan to load" 10 sh -c "salvectl plans --no-legend | grep -q '^extra '"
rig_ok "systemctl reload loads a fixed set"

# --- structured journal fields ---
check "journal entries carry SALVE_RUN and a MESSAGE_ID" \
    rig_exec sh -c "journalctl SALVE_RUN=$id MESSAGE_ID=b1f69adb1c074b228eb908f78610b627 -o cat | grep -q 'Run $id of plan demo started'"

# --- concurrency: queue ---
first=$(rig_exec salvectl run queue)
salve_wait_step "$first" gate waiting 20
second=$(rig_exec salvectl run queue)
check "a second trigger queues a new run ($second)" test "$second" != "$first"
check "which waits its turn" test "$(salve_state "$second")" = queued
check "a third joins the queued one" test "$(rig_exec salvectl run queue)" = "$second"
check "the queued run has not started a step" \
    test "$(salve_json "$second" | jq -r '.steps[] | select(.id=="gate") | "\(.state) \(.attempt)"')" = "ready 0"
rig_exec salvectl approve "$first" gate
salve_wait "$first" succeeded 20
salve_wait_step "$second" gate waiting 20
rig_ok "the queued run starts when the first finishes"
rig_exec salvectl approve "$second" gate
salve_wait "$second" succeeded 20

# --- when: ---
id=$(rig_exec salvectl run conditional)
salve_wait "$id" succeeded 20
check "a step whose condition is false is skipped" test "$(salve_step "$id" maybe)" = skipped
check "and says why" grep -q "condition not met" <<<"$(salve_json "$id" | jq -r '.steps[] | select(.id=="maybe") | .message')"
check "a step whose condition holds runs" test "$(salve_count when.log manual)" -eq 1
check "the skipped step did not run" test "$(salve_count when.log maybe)" -eq 0
check "what needs a skipped step still runs" test "$(salve_count when.log after)" -eq 1

# --- the RTO clock ---
id=$(rig_exec salvectl run tight-rto)
rig_exec sh -c "timeout 6 salvectl watch $id > /tmp/watch.log 2>&1 &"
rig_wait_for "the run to be at risk" 10 sh -c "salvectl --json status $id | jq -e '.rto_state == \"at-risk\"' >/dev/null"
rig_ok "announced at risk at once (1m of estimates against a 3s RTO)"
rig_wait_for "the RTO to be breached" 10 sh -c "salvectl --json status $id | jq -e '.rto_state == \"breached\"' >/dev/null"
rig_ok "announced breached when the clock ran out"
check "both are in the journal with their MESSAGE_IDs" rig_exec sh -c \
    "journalctl SALVE_RUN=$id MESSAGE_ID=8ca0a80467b94671b3b5e9650caeed78 -o cat | grep -q 'at risk' &&
     journalctl SALVE_RUN=$id MESSAGE_ID=d69ae63154984fff83cf12fe2b855b3b -o cat | grep -q 'breached'"
rig_wait_for "salvectl watch to show the breach" 10 grep -q "RTO breached" /tmp/watch.log
rig_ok "salvectl watch shows the RTO breach live (a D-Bus signal)"
rig_exec salvectl cancel "$id" --comment "test over"
check "cancel is recorded with the comment" grep -q "test over" <<<"$(salve_json "$id" | jq -r .message)"

# --- without polkit, only root may change anything ---
rig_exec systemctl mask --runtime --now polkit.service >/dev/null 2>&1
out=$(rig_exec_as alice salvectl --no-ask-password run demo 2>&1) && rig_fail "alice may start runs without polkit"
check "without polkit an unprivileged user is refused ($out)" grep -q "Only root may do this when polkit is not running" <<<"$out"
check "and root is allowed" rig_exec salvectl cancel "$(rig_exec salvectl run demo)"
rig_exec systemctl unmask --runtime polkit.service

# --- kill -9 of salved mid-run ---
id=$(rig_exec salvectl run resume)
rig_wait_for "both steps to run" 20 sh -c "test \$(grep -c . /var/lib/salve-test/resume.log 2>/dev/null || echo 0) -ge 2"
pid=$(rig_exec systemctl show -p MainPID --value salved)
rig_exec systemctl kill --kill-who=main -s KILL salved
rig_wait_for "systemd to restart salved" 20 sh -c "p=\$(systemctl show -p MainPID --value salved); test \"\$p\" != 0 -a \"\$p\" != $pid && systemctl is-active -q salved"
# Both steps' units ran on: salved re-attaches to them, runs neither again.
salve_wait_step "$id" once succeeded 30
salve_wait_step "$id" again succeeded 30
check "the non-idempotent step did not run again" test "$(salve_count resume.log once)" -eq 1
check "nor the idempotent one: its unit was still running" test "$(salve_count resume.log again)" -eq 1
salve_wait_step "$id" approval waiting 20
rig_exec salvectl approve "$id" approval
salve_wait "$id" succeeded 20
check "and finishes after the approval, finish ran once" test "$(salve_count resume.log finish)" -eq 1

# --- power cut mid-run: the next boot resumes from the journal ---
: >"$SALVE_LOGS/resume.log"
id=$(rig_exec salvectl run resume)
rig_wait_for "both steps to run" 20 sh -c "test \$(grep -c . /var/lib/salve-test/resume.log 2>/dev/null || echo 0) -ge 2"
rig_powercut
rig_ok "power cut"
boot_ms=$(rig_now_ms)
salve_boot
salve_wait_step "$id" once interrupted 20
salve_wait_step "$id" again succeeded 30
check "after the power cut: not run twice" test "$(salve_count resume.log once)" -eq 1
check "after the power cut: idempotent step re-run" test "$(salve_count resume.log again)" -eq 2
check "the run survived the power cut" test "$(salve_json "$id" | jq -r .plan)" = resume
check "salved said it replayed the journal" rig_exec sh -c "journalctl -u salved -b -o cat | grep -q 'replayed'"
rig_wait_for "the unclean-boot plan to run" 20 sh -c "grep -q unclean-boot /var/lib/salve-test/boot.log"
check "the unclean boot triggered its plan once" test "$(salve_count boot.log unclean-boot)" -eq 1
check "the boot trigger joined the resumed run instead of starting another" \
    rig_exec sh -c "journalctl -u salved -b -o cat | grep -q 'Trigger boot joins run $id'"
check "so there is still one run of the plan in flight" \
    test "$(rig_exec salvectl --json status | jq '[.[] | select(.plan=="resume")] | length')" -eq 1
boot_run=$(rig_exec salvectl --json history | jq -r '[.[] | select(.plan=="on-unclean-boot")][0].id')
check "its RTO clock starts when this boot began, not the host's" \
    test "$(( $(salve_json "$boot_run" | jq .trigger_usec) / 1000 ))" -ge "$((boot_ms - 2000))"
check "that run's trigger is boot" test "$(rig_exec salvectl --json history | jq -r '[.[] | select(.plan=="on-unclean-boot")][0].trigger')" = boot
rig_exec salvectl abort "$id" once
salve_wait "$id" failed 20

# --- a clean shutdown is not an unclean boot ---
rig_poweroff
salve_boot
sleep 2
check "a clean reboot triggers nothing" test "$(salve_count boot.log unclean-boot)" -eq 1
check "history is kept across boots" test "$(rig_exec salvectl --json history | jq length)" -ge 8
rig_poweroff
rig_done
