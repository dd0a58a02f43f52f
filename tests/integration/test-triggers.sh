#!/bin/bash
# Triggers end to end, in a real systemd container: salved notices by
# itself and starts the right plan with what the trigger saw.
#   - a unit that fails (exit-code) starts t-unit, whose ${trigger.unit}
#     restarts that very unit; one killed by a signal (not in result:) does
#     not; two failing units get a run each, side by side;
#   - a unit systemd restarts three times within a minute starts t-flap;
#   - a link going down, and one removed, start t-link (veth pairs in the
#     container's network namespace);
#   - a unit already failed when salved starts starts one run, and only
#     one: after a restart of salved the journal shows it was handled,
#     while a new failure of it starts another;
#   - trigger-limit stops a second run and says so;
#   - salvectl run --trigger sets the variables by hand; without them a
#     plan that needs them is refused with a clear error.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

salve_setup triggers$$
cp "$SALVE_SOURCE_ROOT"/tests/data/plans/triggers/*.yaml "$SALVE_STAGE/etc/salve/plans.d/"
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml

# Fails its first start, then works: the plan's restart repairs it.
for u in tr-once tr-two; do
    cat >"$SALVE_UNITS/$u.service" <<UNIT
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'if [ -e /run/$u.flag ]; then echo up $u >> /var/lib/salve-test/units.log; exit 0; fi; touch /run/$u.flag; exit 1'
UNIT
done
cat >"$SALVE_UNITS/tr-sig.service" <<'UNIT'
[Service]
ExecStart=/bin/sh -c 'kill -KILL $$$$'
UNIT
cat >"$SALVE_UNITS/tr-flap.service" <<'UNIT'
[Unit]
StartLimitIntervalSec=0
[Service]
ExecStart=/bin/sh -c 'sleep 0.3; exit 1'
Restart=always
RestartSec=200ms
UNIT
for u in lim-a lim-b stuck-a; do
    printf '[Service]\nExecStart=/bin/false\n' >"$SALVE_UNITS/$u.service"
done
cp "$SALVE_SOURCE_ROOT"/tests/data/units/deps-{a,b,c}.service "$SALVE_UNITS/"
# The shipped plan, armed for deps-a only, as salve.plan(5) says to arm it.
sed -e 's/^armed: false/armed: true/' -e 's/name: "\*\.service"/name: deps-a.service/' \
    "$SALVE_SOURCE_ROOT/plans/restart-dependents.yaml" >"$SALVE_STAGE/etc/salve/plans.d/restart-dependents.yaml"
chmod 0644 "$SALVE_STAGE/etc/salve/plans.d/restart-dependents.yaml"
salve_boot

runs_of() { rig_exec salvectl --json history | jq -r --arg p "$1" '[.[] | select(.plan == $p)] | length'; }
last_run() { rig_exec salvectl --json history | jq -r --arg p "$1" '[.[] | select(.plan == $p)] | last | .id'; }
wait_runs() { # PLAN N SECONDS
    rig_wait_for "$2 run(s) of $1" "$3" sh -c "test \"\$(salvectl --json history | jq '[.[] | select(.plan == \"$1\")] | length')\" -ge $2"
}
logged() { grep -c -x -- "$2" "$SALVE_LOGS/$1" 2>/dev/null || true; }

check "salved watches units and links, because plans ask for them" \
    rig_exec sh -c 'journalctl -u salved -o cat | grep -q "^Watching units\.$" && journalctl -u salved -o cat | grep -q "^Watching links\.$"'
check "salved watches block devices too: t-dev asks for them" \
    rig_exec sh -c 'journalctl -u salved -o cat | grep -q "^Watching block\.$"'

# --- a failed unit starts the plan, with ${trigger.unit} ---
rig_exec systemctl start tr-once.service || true
wait_runs t-unit 1 20
run=$(last_run t-unit)
salve_wait "$run" succeeded 30
json=$(salve_json "$run")
check "trigger is unit, reason names the unit and its result" \
    jq -e '.trigger == "unit" and .reason == "tr-once.service failed (exit-code)"' <<<"$json"
check "the context carries unit and result" \
    jq -e '.trigger_context.unit == "tr-once.service" and .trigger_context.result == "exit-code"' <<<"$json"
status=$(rig_exec salvectl status "$run")
check "status has a context line" grep -q '^  context:  .*unit=tr-once.service' <<<"$status"
check "the plan restarted the unit it was told about" rig_exec systemctl is-active -q tr-once.service
check "and its exec step saw the same values" test "$(logged t-unit.log 'tr-once.service exit-code')" -eq 1

# --- a signal is not in result: [exit-code] ---
rig_exec systemctl start tr-sig.service || true
rig_wait_for "tr-sig to fail" 10 sh -c 'systemctl is-failed -q tr-sig.service'
sleep 1
check "a failure whose Result is not listed starts nothing" test "$(runs_of t-unit)" -eq 1

# --- two units fail at once: one run each (instances), side by side ---
rig_exec systemctl start tr-two.service || true
wait_runs t-unit 2 20
run2=$(last_run t-unit)
salve_wait "$run2" succeeded 30
check "the second unit got its own run" test "$(logged t-unit.log 'tr-two.service exit-code')" -eq 1

# --- flapping: restarted by systemd 3 times within a minute ---
rig_exec systemctl start tr-flap.service
wait_runs t-flap 1 30
frun=$(last_run t-flap)
salve_wait "$frun" succeeded 30
check "flapping starts the restarts: trigger, which stopped the unit" \
    rig_exec sh -c '! systemctl is-active -q tr-flap.service'
check "the run knows how many restarts systemd made" \
    grep -q '^flapping tr-flap.service [0-9][0-9]*$' "$SALVE_LOGS/t-flap.log"
check "a flapping unit never counts as failed (Restart= repairs it)" \
    sh -c "! grep -q '^tr-flap.service' '$SALVE_LOGS/t-unit.log' 2>/dev/null"

# --- links: down and removed ---
rig_exec ip link add tv0 type veth peer name tv1
rig_exec ip link set tv0 up
rig_exec ip link set tv1 up
rig_exec ip link set tv1 down
wait_runs t-link 1 20
salve_wait "$(last_run t-link)" succeeded 30
check "a link going down starts the plan with \${trigger.link}" grep -q '^tv1 down$' "$SALVE_LOGS/t-link.log"
rig_exec ip link del tv0
rig_wait_for "the removal to be handled" 20 sh -c 'grep -q "removed" /var/lib/salve-test/t-link.log'
check "a link removed starts it too" grep -Eq '^tv[01] removed$' "$SALVE_LOGS/t-link.log"

# --- trigger-limit ---
rig_exec systemctl start lim-a.service || true
wait_runs t-limit 1 20
rig_exec systemctl start lim-b.service || true
rig_wait_for "the limit to be logged" 20 sh -c 'journalctl -u salved -o cat | grep -q "Plan t-limit: 1 runs started by triggers within 1h (trigger-limit)"'
check "the second failure within the hour started no run" test "$(runs_of t-limit)" -eq 1

# --- a unit already failed when salved starts: one run, once ---
rig_exec systemctl stop salved
rig_exec systemctl start stuck-a.service || true
rig_exec systemctl is-failed -q stuck-a.service
rig_exec systemctl start salved
rig_wait_for "salved to be active" 20 systemctl is-active -q salved
wait_runs t-note 1 20
nrun=$(last_run t-note)
check "a unit failed before salved started starts the plan, and says so" \
    jq -e '.reason == "stuck-a.service failed (exit-code), found when salved started"' <<<"$(salve_json "$nrun")"
salve_wait "$nrun" succeeded 30
rig_exec systemctl restart salved                 # still failed, the same failure
rig_wait_for "salved to be active" 20 systemctl is-active -q salved
rig_wait_for "salved to say it was handled" 20 sh -c \
    "journalctl -u salved -o cat | grep -q 'found when salved started: already handled by run $nrun'"
check "after a restart, a failure a run already handled starts nothing" test "$(runs_of t-note)" -eq 1
rig_exec systemctl stop salved
rig_exec systemctl start stuck-a.service || true  # fails again: a new failure
rig_exec systemctl start salved
rig_wait_for "salved to be active" 20 systemctl is-active -q salved
wait_runs t-note 2 20
check "a new failure of the same unit does start a run" test "$(runs_of t-note)" -eq 2

# --- the shipped restart-dependents plan, armed: a <- b <- c ---
rig_exec systemctl start deps-c.service
rig_wait_for "a, b and c to run" 10 sh -c 'systemctl is-active -q deps-a deps-b deps-c'
rig_exec rm -rf /run/deps-stamps
rig_exec systemctl kill -s KILL deps-a.service
wait_runs restart-dependents 1 20
drun=$(last_run restart-dependents)
salve_wait "$drun" succeeded 60
check "deps-a's crash started the shipped plan, which brought a, b and c back" \
    rig_exec systemctl is-active -q deps-a deps-b deps-c
stamps() { rig_exec sh -c "cat /run/deps-stamps/$1 2>/dev/null" | wc -l; }
check "each of a, b and c started exactly once (no double start of b or c)" \
    test "$(stamps a)$(stamps b)$(stamps c)" = 111
check "in order: a before b before c" \
    rig_exec sh -c 'a=$(cat /run/deps-stamps/a); b=$(cat /run/deps-stamps/b); c=$(cat /run/deps-stamps/c); [ "$a" -lt "$b" ] && [ "$b" -lt "$c" ]'
check "the dependents step says what it did" \
    jq -e '.steps[] | select(.id == "dependents") | .message | test("deps-b.service")' <<<"$(salve_json "$drun")"

# --- a block device: a loop device made on the host, seen in the container ---
# The kernel sends uevents to the container too, but its /dev is private:
# the node is made by hand, as udev would on a host. Loop numbers 7600+ are
# this test's alone.
loopctl=$SALVE_BUILD_ROOT/tests/integration/loop-ctl
if [[ -x $loopctl ]] && [[ -c /dev/loop-control ]] && command -v mkfs.ext4 >/dev/null; then
    n=$((7600 + $$ % 100))
    img=$(rig_tmpdir dev)/fs.img
    truncate -s 16M "$img"
    mkfs.ext4 -q -F -L salvetest "$img"
    "$loopctl" add "$n"
    rig_on_exit "losetup -d /dev/loop$n 2>/dev/null; $loopctl remove $n 2>/dev/null || true"
    rig_exec mknod "/dev/loop$n" b 7 "$n"
    losetup "/dev/loop$n" "$img"
    wait_runs t-dev 1 20
    salve_wait "$(last_run t-dev)" succeeded 30
    check "a filesystem labelled salvetest appearing starts the plan, identified by libblkid" \
        grep -q "^/dev/loop$n salvetest ext4 added$" "$SALVE_LOGS/t-dev.log"
    losetup -d "/dev/loop$n"
    wait_runs t-dev 2 20
    salve_wait "$(last_run t-dev)" succeeded 30
    check "and its going starts it again, with the identity it had" \
        grep -q "^/dev/loop$n salvetest ext4 removed$" "$SALVE_LOGS/t-dev.log"
    "$loopctl" remove "$n"
else
    echo "# SKIP device trigger: no loop-ctl, /dev/loop-control or mkfs.ext4"
fi

# --- watchers follow the plans: a reload without link plans drops the socket ---
# salved's NETLINK_ROUTE sockets: /proc/net/netlink (protocol 0) by inode.
rtnl() {
    rig_exec sh -c 'pid=$(systemctl show -p MainPID --value salved)
        ls -l /proc/$pid/fd | sed -n "s/.*socket:\[\([0-9]*\)\]$/\1/p" > /tmp/salved-sockets
        awk "NR > 1 && \$2 == 0 { print \$NF }" /proc/net/netlink | grep -c -x -F -f /tmp/salved-sockets' || true
}
check "salved holds an rtnetlink socket while a plan has a link trigger" test "$(rtnl)" -ge 1
rig_exec mv /etc/salve/plans.d/t-link.yaml /root/t-link.yaml
rig_exec salvectl reload
check "a reload that leaves no link trigger stops watching links" \
    rig_exec sh -c 'journalctl -u salved -o cat | grep -q "^No plan watches links any more; stopped watching\.$"'
check "and closes the socket" test "$(rtnl)" -eq 0
rig_exec mv /root/t-link.yaml /etc/salve/plans.d/t-link.yaml
rig_exec salvectl reload
rig_wait_for "links to be watched again" 10 sh -c \
    'test "$(journalctl -u salved -o cat | grep -c "^Watching links\.$")" -ge 2'

# --- by hand ---
out=$(rig_exec sh -c 'salvectl run t-unit 2>&1; echo "rc=$?"')
# shellcheck disable=SC2016
check "a manual run of a plan that needs \${trigger.unit} is refused, saying how" \
    grep -q 'uses ${trigger.NAME} variables that this run does not set.*--trigger NAME=VALUE' <<<"$out"
id=$(rig_exec salvectl run t-unit --trigger unit=tr-once.service --trigger result=manual-test)
salve_wait "$id" succeeded 30
check "--trigger sets them" test "$(logged t-unit.log 'tr-once.service manual-test')" -eq 1

rig_done
