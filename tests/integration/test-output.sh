#!/bin/bash
# What salvectl says, as a person reads it (issue 7): warnings (the
# shipped plans have none; an RTO that cannot be met has one), a human
# step's instructions and links, the step verbs saying what changed, a plan
# without estimates,
# re-runs after a power cut that read the same in text, JSON and journal,
# an interrupted step's elapsed time that stops, and watch.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

salve_setup output$$
cp "$SALVE_SOURCE_ROOT"/tests/data/plans/output/output.yaml "$SALVE_STAGE/etc/salve/plans.d/"
chmod 0644 "$SALVE_STAGE/etc/salve/plans.d/output.yaml"
salve_boot

# --- honest docs: warnings, and none for the shipped plans ---
# Every step kind is implemented now, so the shipped plans load without a
# word; a plan whose RTO its estimates cannot meet still warns.
out=$(rig_exec sh -c 'salvectl verify /usr/lib/salve/plans.d 2>&1; echo "rc=$?"')
quiet_pass() { ! grep -q 'warning' <<<"$1" && grep -q '^rc=0$' <<<"$1"; }
check "the shipped plans verify without warnings (every step kind is implemented)" quiet_pass "$out"
out=$(rig_exec sh -c 'salvectl verify /etc/salve/plans.d/tight-rto.yaml 2>&1; echo "rc=$?"')
check "verify warns about an RTO the estimates cannot meet" \
    grep -q 'warning: rto: the critical path takes 1m by its estimates, longer than the rto of 3s' <<<"$out"
check "warnings alone pass verify" grep -q '^rc=0$' <<<"$out"
check "plans repeats the warnings on stderr" \
    rig_exec sh -c 'salvectl plans 2>&1 >/dev/null | grep -q "longer than the rto of 3s"'
check "show too" rig_exec sh -c 'salvectl show tight-rto 2>&1 >/dev/null | grep -q "longer than the rto of 3s"'
check "salved logs them and still loads the plan" \
    rig_exec sh -c 'journalctl -u salved -o cat | grep -q "longer than the rto of 3s" && salvectl plans | grep -q "^tight-rto "'

# --- show: instructions, links, no estimates ---
show=$(rig_exec salvectl show output)
check "show says the plan gives no estimates" grep -q 'the plan gives no estimates, so no critical path' <<<"$show"
check "show prints no zero critical path" test "$(grep -c 'critical' <<<"$show")" -eq 1
check "show prints a human step's instructions" grep -q "^        Check the standby's replication lag.$" <<<"$show"
check "show prints its links" grep -q '^        see: https://wiki.example.org/runbooks/output$' <<<"$show"

# --- a power cut mid-run: one step interrupted, one re-run ---
id=$(rig_exec salvectl run output)
rig_wait_for "both steps to run" 20 sh -c "test \$(grep -c . /var/lib/salve-test/output.log 2>/dev/null || echo 0) -ge 2"
first=$(salve_json "$id" | jq -r '.steps[] | select(.id=="again") | .message')
check "a first attempt reads \"attempt 1 of 1\" ($first)" test "$first" = "attempt 1 of 1"
rig_powercut
salve_boot
salve_wait_step "$id" once interrupted 20
salve_wait_step "$id" again succeeded 30
check "the idempotent step ran again" test "$(salve_count output.log again)" -eq 2
json=$(salve_json "$id")
check "JSON: the re-run is attempt 2 of a plan's 1, marked rerun" \
    test "$(jq -c '.steps[] | select(.id=="again") | [.attempt, .attempts, .rerun]' <<<"$json")" = '[2,1,true]'
check "JSON: a first attempt is no re-run" \
    test "$(jq -c '.steps[] | select(.id=="once") | [.attempt, .rerun]' <<<"$json")" = '[1,false]'
check "the journal says the re-run as salvectl does" \
    rig_exec sh -c "journalctl -u salved -b -o cat | grep -q 'attempt 2 (a re-run, beyond the plan.s 1 attempt)'"
check "text status shows the re-run" \
    rig_exec sh -c "salvectl status $id | grep -q 'again .*succeeded.*attempt 2 (a re-run, beyond the plan.s 1 attempt)'"
check "grammar: no \"1 step were\", no \"1 runs\"" \
    rig_exec sh -c "! journalctl -u salved -o cat | grep -E -q '\\(1 step were|, 1 runs\\.|replayed 1 records'"
check "the resume message counts its steps" \
    rig_exec sh -c "journalctl -u salved -b -o cat | grep -E -q 'Resuming run $id \\(2 steps were running\\)'"

# --- skip the interrupted step: its elapsed time stops ---
sleep 3 # a person takes a while to decide
skip_ms=$(rig_now_ms)
skip=$(rig_exec salvectl skip "$id" once)
check "skip says what changed ($skip)" grep -q '^once skipped by root.*; run continues' <<<"$skip"
el1=$(rig_exec salvectl status "$id" | grep -- ' once ' | awk '{print $6}')
sleep 2
el2=$(rig_exec salvectl status "$id" | grep -- ' once ' | awk '{print $6}')
check "a skipped interrupted step's elapsed time stays ($el1, $el2)" test "$el1" = "$el2"
fin_ms=$(( $(salve_json "$id" | jq '.steps[] | select(.id=="once") | .finished_usec') / 1000 ))
check "its attempt ended when salved found it interrupted, not when it was skipped ($fin_ms < $skip_ms)" \
    test "$fin_ms" -gt 0 -a "$fin_ms" -lt "$((skip_ms - 2000))"

# --- the waiting approval: instructions and links where the person acts ---
salve_wait_step "$id" dba-approval waiting 20
status=$(rig_exec salvectl status "$id")
check "status shows the waiting step's instructions" grep -q "Check the standby's replication lag.$" <<<"$status"
check "and its links" grep -q 'see: https://wiki.example.org/runbooks/output$' <<<"$status"
check "status --json has them" \
    test "$(salve_json "$id" | jq -c '.steps[] | select(.id=="dba-approval") | [.instructions != null, .links]')" = \
         '[true,["https://wiki.example.org/runbooks/output"]]'
watch=$(rig_exec timeout 3 salvectl watch "$id" || true)
check "watch shows the tree once" test "$(grep -c "^$id waiting (plan output)" <<<"$watch")" -eq 1
check "watch repeats no step of the tree it shows" test "$(grep -c 'dba-approval' <<<"$watch")" -eq 1
check "watch shows the instructions of the waiting step" grep -q "Approve if it is under 5 minutes.$" <<<"$watch"

# --- the verbs say what changed ---
approve=$(rig_exec salvectl approve "$id" dba-approval)
check "approve says what changed ($approve)" grep -q '^dba-approval approved by root.*; run continues' <<<"$approve"
salve_wait "$id" succeeded 20

# watch, live: a step that starts waiting shows what to do.
id2=$(rig_exec salvectl run output)
check "run ids count across runs ($id, then $id2)" test "$id2" != "$id"
watch=$(rig_exec timeout 15 salvectl watch "$id2" || true)
check "live watch: the approval starts waiting" grep -q 'waiting .*dba-approval' <<<"$watch"
check "live watch: its instructions follow" grep -q "^ *Check the standby's replication lag.$" <<<"$watch"
check "live watch: the tree is shown once" test "$(grep -c '^  [|`]- ' <<<"$watch")" -eq 4
cancel=$(rig_exec salvectl --json cancel "$id2")
check "cancel --json gives the run's state ($cancel)" test "$(jq -r .state <<<"$cancel")" = cancelled
rig_poweroff
rig_done
