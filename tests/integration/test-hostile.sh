#!/bin/bash
# Plan files a local user can influence (issue 6, part 3), in a real
# systemd container: a symlinked plan swapped for a FIFO, a symlink to a
# root-owned file in a user's directory, plans too large to run,
# `systemctl reload` failing when the new set has errors, salved answering
# D-Bus while it reloads a large set; and (part 5) salvectl's wording of
# refused step actions and the hardened unit rating the same live and
# offline.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

check() {
    local desc=$1
    shift
    if "$@"; then rig_ok "$desc"; else rig_fail "$desc"; fi
}

# Runs CMD in the container; its output on stdout, and its exit status
# in $rc, without set -e stopping the test.
capture() {
    rc=0
    out=$(rig_exec timeout 30 "$@" 2>&1) || rc=$?
}

bus() { rig_exec busctl "$@" org.salve.Manager1 /org/salve/manager org.salve.Manager1; }
plans_loaded() { rig_exec busctl get-property org.salve.Manager1 /org/salve/manager org.salve.Manager1 PlansLoaded; }
salved_log() { rig_exec journalctl -u salved -o cat; }

salve_setup hostile$$
salve_boot
rig_exec_as mallory true   # creates the user and /home/mallory
before=$(plans_loaded)

# --- a plan name that resolves to a user's file, then to a FIFO ---
rig_exec_as mallory sh -c 'printf "plan: d\nsteps:\n  - {id: a, run: exec, with: {command: [/bin/true]}}\n" > d.yaml'
rig_exec ln -s /home/mallory/d.yaml /etc/salve/plans.d/evil.yaml
capture systemctl reload salved
check "reload refuses a plan owned by the user (exit $rc)" test "$rc" -ne 0
check "and says why" grep -q "evil.yaml: error: refusing to load: owned by uid $(rig_exec id -u mallory), not root" <<<"$(salved_log)"
rig_exec_as mallory sh -c 'rm d.yaml && mkfifo -m 0644 d.yaml'
t0=$(rig_now_ms)
capture systemctl reload salved
took=$(($(rig_now_ms) - t0))
check "reload with the plan swapped for a FIFO fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "and returns at once, not hung in open() (${took} ms)" test "$took" -lt 10000
check "salved's journal: evil.yaml is not a regular file" \
    grep -q "/etc/salve/plans.d/evil.yaml: error: refusing to load: not a regular file (a FIFO)" <<<"$(salved_log)"
check "salved still answers" test "$(plans_loaded)" = "$before"
capture salvectl verify /etc/salve/plans.d/evil.yaml
check "salvectl verify refuses the FIFO too, at once (exit $rc)" test "$rc" -eq 1
check "and says so ($out)" grep -q "not a regular file (a FIFO)" <<<"$out"
capture systemctl restart salved
check "salved restarts with the FIFO in place (exit $rc)" test "$rc" -eq 0
check "and is active" rig_exec systemctl is-active -q salved

# --- a symlink to a root-owned file in a user's directory ---
rig_exec rm -f /home/mallory/d.yaml /etc/salve/plans.d/evil.yaml
rig_exec sh -c 'printf "plan: e\nsteps:\n  - {id: a, run: exec, with: {command: [/bin/true]}}\n" > /home/mallory/e.yaml'
rig_exec chmod 0644 /home/mallory/e.yaml
rig_exec ln -s /home/mallory/e.yaml /etc/salve/plans.d/evil.yaml
capture systemctl reload salved
check "reload refuses a root-owned plan in a user's directory (exit $rc)" test "$rc" -ne 0
check "naming the directory" grep -q "evil.yaml: error: refusing to load: directory /home/mallory on its path is not owned by root" <<<"$(salved_log)"
check "the plan is not loaded" test "$(plans_loaded)" = "$before"
if rig_exec salvectl plans --no-legend | grep -q '^e '; then rig_fail "salvectl plans lists it"; else rig_ok "salvectl plans does not list it"; fi

# --- systemctl reload fails, and says why, when the set has errors ---
rig_exec rm -f /etc/salve/plans.d/evil.yaml /home/mallory/e.yaml
rig_exec sh -c 'printf "plan: broken\nsteps:\n  - id: a\n    run: exce\n" > /etc/salve/plans.d/broken.yaml'
capture systemctl reload salved
check "systemctl reload exits non-zero on a broken set (exit $rc)" test "$rc" -ne 0
check "ExecReload= logs why: the error names file, line and column" \
    grep -q "Call failed: The plan files have errors.*broken.yaml:4:10: step \"a\": run: unknown step kind" <<<"$(salved_log)"
capture busctl call --timeout=60 org.salve.Manager1 /org/salve/manager org.salve.Manager1 Reload
check "the D-Bus Reload fails with org.salve.Error.PlanErrors-worded text ($out)" \
    grep -q "The plan files have errors, so the $(cut -d' ' -f2 <<<"$before") plans loaded before are kept. 1 error: /etc/salve/plans.d/broken.yaml:4:10" <<<"$out"
capture salvectl reload
check "salvectl reload fails and says why ($out)" \
    grep -q "salvectl: failed to reload the plans: The plan files have errors" <<<"$out"
rig_exec rm -f /etc/salve/plans.d/broken.yaml
capture systemctl reload salved
check "systemctl reload of a good set succeeds (exit $rc)" test "$rc" -eq 0

# --- plans too large to run are refused at verify; the largest that loads runs ---
gen_big() { # FILE SIZE FILLER
    awk -v size="$2" -v c="$3" 'BEGIN {
        printf "plan: big\nsteps:\n  - id: s\n    run: exec\n    with: {command: [/bin/true]}\n"
        n = 75; line = "#"; for (i = 0; i < 98; i++) line = line c
        while (n + 100 <= size) { print line; n += 100 }
    }' >"$SALVE_LOGS/$1"
    rig_exec install -m 0644 "/var/lib/salve-test/$1" "/etc/salve/plans.d/$1"
}
# shellcheck disable=SC1003 # awk -v turns this into one backslash
gen_big big.yaml $((716 * 1024)) '\\'
capture salvectl verify /etc/salve/plans.d/big.yaml
check "a 716 KiB plan of backslash comments fails verify (exit $rc)" test "$rc" -eq 1
check "naming the journal's record limit, with line and column ($out)" \
    grep -Eq "big.yaml:[0-9]+:[0-9]+: error: plan too large to run: .*journal record holds at most 1048576 bytes" <<<"$out"
gen_big big.yaml $((1024 * 1024)) x
capture salvectl verify /etc/salve/plans.d/big.yaml
check "a 1 MiB plan fails verify, naming the limit ($out)" grep -q "journal record" <<<"$out"
capture systemctl reload salved
check "and salved refuses it (exit $rc)" test "$rc" -ne 0
gen_big big.yaml $((983040 * 100 / 101)) x
capture salvectl verify /etc/salve/plans.d/big.yaml
check "the largest plan that verifies ($(rig_exec stat -c %s /etc/salve/plans.d/big.yaml) bytes) verifies (exit $rc)" test "$rc" -eq 0
capture systemctl reload salved
check "it loads" test "$rc" -eq 0
capture salvectl run big --reason "$(head -c 4000 /dev/zero | tr '\0' '"')"
check "and can run, with a long reason ($out)" test "$rc" -eq 0
[[ $rc -eq 0 ]] && salve_wait "$out" succeeded 30 && rig_ok "the big plan's run succeeded"
rig_exec rm -f /etc/salve/plans.d/big.yaml

# --- salved keeps answering while it reloads a large set ---
n=${HOSTILE_RELOAD_PLANS:-1000}
awk -v n="$n" -v dir="$SALVE_LOGS/large" 'BEGIN {
    system("mkdir -p " dir)
    for (p = 0; p < n; p++) {
        f = sprintf("%s/large-%04d.yaml", dir, p)
        printf "plan: large-%04d\nsteps:\n", p > f
        for (i = 0; i < 300; i++) {
            printf "  - id: s%d\n    run: exec\n    with: {command: [/bin/true]}\n", i > f
            if (i > 0) printf "    needs: [s%d]\n", i - 1 > f
        }
        close(f)
    }
}'
rig_exec sh -c 'cp /var/lib/salve-test/large/*.yaml /etc/salve/plans.d/ && chmod 0644 /etc/salve/plans.d/large-*.yaml'
rig_exec sh -c 'busctl call --timeout=300 org.salve.Manager1 /org/salve/manager org.salve.Manager1 Reload \
    > /run/reload.out 2>&1; echo $? > /run/reload.rc' &
reload_job=$!
max=0 calls=0
while ! rig_exec test -e /run/reload.rc; do
    t0=$(rig_now_ms)
    plans_loaded >/dev/null
    dt=$(($(rig_now_ms) - t0))
    ((dt > max)) && max=$dt
    calls=$((calls + 1))
done
wait "$reload_job" || true
check "the reload of $n plans of 300 steps succeeded" test "$(rig_exec cat /run/reload.rc)" -eq 0
check "salved answered $calls calls during it, the slowest in ${max} ms" test "$calls" -ge 3 -a "$max" -lt 1000
check "all of them are loaded" test "$(plans_loaded)" = "u $(($(cut -d' ' -f2 <<<"$before") + n))"
rig_exec sh -c 'rm -f /etc/salve/plans.d/large-*.yaml'

# Two reloads asked at once coalesce, and both callers get their answer.
rig_exec sh -c 'busctl call org.salve.Manager1 /org/salve/manager org.salve.Manager1 Reload & \
    busctl call org.salve.Manager1 /org/salve/manager org.salve.Manager1 Reload & wait' >/dev/null
check "two reloads at once both return" test "$(plans_loaded)" = "$before"

# --- salvectl words the step actions it was refused (part 5) ---
id=$(rig_exec salvectl run demo)
salve_wait_step "$id" dba-approval waiting 30
for verb in "done" fail approve abort; do
    out=$(rig_exec_as mallory salvectl --no-ask-password "$verb" "$id" dba-approval 2>&1) && rig_fail "mallory may $verb"
    case $verb in
    done) want="not authorized to mark step dba-approval of run $id done" ;;
    fail) want="not authorized to mark step dba-approval of run $id failed" ;;
    approve) want="not authorized to approve step dba-approval of run $id" ;;
    abort) want="not authorized to abort run $id at step dba-approval" ;;
    esac
    check "refused $verb is worded ($out)" grep -qF "salvectl: $want:" <<<"$out"
done
rig_exec salvectl cancel "$id"

# --- the hardened unit rates the same running and on file ---
live=$(rig_exec systemd-analyze security salved.service 2>&1 | sed -n 's/.*Overall exposure level for salved.service: \([0-9.]*\).*/\1/p')
# shellcheck disable=SC2016 # expanded inside the container
offline=$(rig_exec sh -c 'systemd-analyze security --offline=yes "$(systemctl show -p FragmentPath --value salved)"' 2>&1 \
    | sed -n 's/.*Overall exposure level for salved.service: \([0-9.]*\).*/\1/p')
check "systemd-analyze security: running $live, on file $offline" test -n "$live" -a "$live" = "$offline"
check "salved is still active after all of it" rig_exec systemctl is-active -q salved

rig_done
