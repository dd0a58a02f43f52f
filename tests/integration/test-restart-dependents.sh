#!/bin/bash
# shellcheck source-path=SCRIPTDIR disable=SC2016,SC2001
# unit.restart-dependents against a real systemd: boots a container with
# the units tests/data/units/deps-*.service
#     a <- b <- c   (b Requires=/After= a, c Requires=/After= b)
#     a <- d        (BindsTo=/After= a)
#     a <- w        (Wants=/After= a)
# all wanted by the boot target (so systemd keeps them loaded, with their
# timestamps, as it does an enabled service's), and runs the steps of
# tests/data/plans/restart-dependents-test.yaml through exec-driver. Every
# start of a unit appends `date +%s%N` to /run/deps-stamps/NAME: the order
# and the number of starts are checked from those.
#
# usage: test-restart-dependents.sh PATH/TO/exec-driver
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data=$(cd "$here/../data" && pwd)
. "$here/lib.sh"

driver=${1:?usage: test-restart-dependents.sh PATH/TO/exec-driver}
rig_require
[[ -x "$driver" ]] || { echo "test-restart-dependents: $driver is not an executable" >&2; exit 1; }
rig_init "helper-deps-restart-dependents-$$"

t_start=$(rig_now_ms)
stage=$(rig_tmpdir stage)
state=$(rig_tmpdir state)
units=$(rig_tmpdir units)
dest=/usr/local/lib/salve-test
mkdir -p "$stage$dest" "$units/salve-test.target.d"
cp "$driver" "$stage$dest/exec-driver"
cp "$data/plans/restart-dependents-test.yaml" "$stage$dest/plan.yaml"
cp "$data"/units/deps-*.service "$units/"
printf '[Unit]\nWants=deps-a.service deps-b.service deps-c.service deps-d.service deps-w.service\n' \
    >"$units/salve-test.target.d/deps.conf"

rig_boot "$stage" "$state" "$units"
rig_ok "container booted ($(( $(rig_now_ms) - t_start )) ms)"

ALL="a b c d w"
OUT=""
# run [--cancel-after MS] [--resume] STEP...: runs the steps in one
# exec-driver, one after the other.
run() {
    local opts=()
    while [[ "$1" == --* ]]; do
        opts+=("$1"); shift
        [[ "${opts[-1]}" == --cancel-after ]] && { opts+=("$1"); shift; }
    done
    OUT=$(rig_exec "$dest/exec-driver" --run-id deps "${opts[@]}" "$dest/plan.yaml" "$@") \
        || rig_fail "exec-driver $* exited with $?"
    echo "$OUT" | sed 's/^/    /'
}
# line STEP: the result line of STEP in OUT.
line() { grep -m1 "^$1 " <<<"$OUT" || rig_fail "no result line for $1 in: $OUT"; }
# expect STEP OUTCOME REGEX
expect() {
    local l; l=$(line "$1")
    [[ "$l" =~ ^"$1 $2 exit=-1 "(.*)$ ]] || rig_fail "$1: got '$l', want outcome $2"
    [[ "${BASH_REMATCH[1]}" =~ $3 ]] || rig_fail "$1: message '${BASH_REMATCH[1]}' does not match /$3/"
}
not_in_message() {
    local l; l=$(line "$1")
    [[ "$l" != *"$2"* ]] || rig_fail "$1: message mentions '$2': $l"
}
now_ns() { rig_exec date +%s%N; }
# starts NAME SINCE: how many times deps-NAME started after SINCE (ns)
starts() { rig_exec sh -c "cat /run/deps-stamps/$1 2>/dev/null" | awk -v t="$2" '$1 > t' | wc -l; }
# last NAME: its last start (ns)
last() { rig_exec tail -n1 "/run/deps-stamps/$1"; }
state_of() { rig_exec systemctl show -P ActiveState "deps-$1.service"; }
all_active() {
    local u
    for u in $ALL; do
        [[ "$(state_of "$u")" == active ]] || rig_fail "deps-$u.service is $(state_of "$u"), not active"
    done
}
# Every unit up, and settled (no job left).
reset_units() {
    rig_exec systemctl start deps-a.service deps-b.service deps-c.service deps-d.service deps-w.service
    rig_wait_for "no jobs" 10 sh -c '[ -z "$(systemctl list-jobs --no-legend)" ]' || rig_fail "jobs left"
    all_active
}
# before X Y: X's last start came before Y's
before() {
    local x y; x=$(last "$1"); y=$(last "$2")
    (( x < y )) || rig_fail "deps-$1.service (last start $x) did not start before deps-$2.service ($y)"
}
# Kills a unit's main process as a crash would: the unit ends "failed".
crash() {
    rig_exec systemctl kill -s KILL "deps-$1.service"
    rig_wait_for "deps-$1.service failed" 10 sh -c "[ \"\$(systemctl show -P ActiveState deps-$1.service)\" = failed ]" \
        || rig_fail "deps-$1.service did not fail: $(state_of "$1")"
}

rig_wait_for "boot units up" 20 sh -c '[ "$(systemctl show -P ActiveState deps-c.service)" = active ]' \
    || rig_fail "deps-c.service did not start at boot"
reset_units
rig_ok "a <- b <- c, d (BindsTo a), w (Wants a) all active"

echo "# 1. a and b crash; unit.restart a, then unit.restart-dependents"
crash a
crash b
state_c=$(state_of c); state_d=$(state_of d)
[[ "$state_c" == active && "$state_d" == inactive ]] \
    || rig_fail "after the crash: c is $state_c (want active: Requires= does not stop it), d is $state_d (want inactive: BindsTo=)"
rig_ok "systemd 252: a crash of a leaves c (Requires= b) active and stops d (BindsTo= a)"
t0=$(now_ns)
run restart-a deps
expect restart-a succeeded '^deps-a\.service: restart job done, unit active$'
expect deps succeeded '^restarted deps-b\.service \(was failed\), then deps-c\.service, then deps-d\.service \(was inactive\)$'
all_active
for u in a b c d; do
    n=$(starts "$u" "$t0"); [[ "$n" == 1 ]] || rig_fail "deps-$u.service started $n times after the crash, want 1"
done
before a b; before b c; before a d
n=$(starts w "$t0"); [[ "$n" == 0 ]] || rig_fail "deps-w.service (Wants=) was restarted $n times without follow: wants"
rig_ok "b then c then d restarted once each, in After= order (timestamps a < b < c, a < d); w untouched"

echo "# 2. the Requires= double start: systemd restarts b and c itself"
mkdir -p "$RIG_BOOT_DIR/units/deps-b.service.d"
printf '[Service]\nExecStartPre=/bin/sleep 1\n' >"$RIG_BOOT_DIR/units/deps-b.service.d/slow.conf"
rig_exec systemctl daemon-reload
reset_units
crash a
t0=$(now_ns)
run restart-a deps
expect restart-a succeeded 'restart job done, unit active$'
# c's job may be over by c's turn (it starts within ms of b): either way
# it is systemd's start, not ours.
expect deps succeeded 'already back: deps-b\.service \(started by the job systemd had queued\), deps-c\.service \((started by the job systemd had queued|active since what it needs came back)\)'
not_in_message deps "restarted deps-b"
not_in_message deps "restarted deps-c"
all_active
for u in b c; do
    n=$(starts "$u" "$t0"); [[ "$n" == 1 ]] || rig_fail "deps-$u.service started $n times after a's restart, want exactly 1"
done
before a b; before b c
rig_ok "b and c started exactly once after a's restart: the step waited for systemd's jobs instead of restarting them"

# The same after systemd's jobs are over: up since a came back, left as is.
t0=$(now_ns)
run deps
expect deps succeeded '^already back: deps-b\.service \(active since what it needs came back\), deps-c\.service'
for u in a b c d w; do
    n=$(starts "$u" "$t0"); [[ "$n" == 0 ]] || rig_fail "deps-$u.service restarted by a second run"
done
rig_ok "run again: nothing restarted (idempotent)"
rm -rf "$RIG_BOOT_DIR/units/deps-b.service.d"
rig_exec systemctl daemon-reload

echo "# 3. a dependent an admin stopped is left alone"
reset_units
rig_exec systemctl stop deps-c.service
sleep 1.5
crash a
t0=$(now_ns)
run restart-a deps
expect deps succeeded 'left alone: deps-c\.service \(stopped separately from deps-b\.service\)'
[[ "$(state_of c)" == inactive ]] || rig_fail "deps-c.service is $(state_of c), want inactive (stopped by hand)"
n=$(starts c "$t0"); [[ "$n" == 0 ]] || rig_fail "deps-c.service was started"
rig_ok "c, stopped by hand 1.5 s before a crashed, stays inactive"

echo "# 4. Wants= is followed only when asked"
reset_units
crash a
t0=$(now_ns)
run restart-a deps deps-wants
expect deps succeeded '.'
not_in_message deps "deps-w"
expect deps-wants succeeded '^restarted deps-w\.service; already back: '
n=$(starts w "$t0"); [[ "$n" == 1 ]] || rig_fail "deps-w.service started $n times, want 1 (by deps-wants)"
before a w
rig_ok "w (Wants= a) restarted only by the step with follow: [requires, binds-to, wants]"

echo "# 5. alone: a stopped (systemd stops c, b, d with it), the step starts a, then the rest"
reset_units
rig_exec systemctl stop deps-a.service
for u in a b c d; do [[ "$(state_of "$u")" == inactive ]] || rig_fail "deps-$u.service is $(state_of "$u") after stop a"; done
t0=$(now_ns)
run deps
expect deps succeeded '^started deps-a\.service \(was inactive\); restarted deps-b\.service \(was inactive\), then deps-c\.service \(was inactive\), then deps-d\.service \(was inactive\)'
all_active
before a b; before b c; before a d
n=$(starts w "$t0"); [[ "$n" == 0 ]] || rig_fail "deps-w.service restarted"
rig_ok "the step alone brought a, then b, c (and d) back after a propagated stop"

echo "# 6. a dependent that does not come back fails the step, with its name"
mkdir -p "$RIG_BOOT_DIR/units/deps-b.service.d"
printf '[Service]\nExecStartPre=/bin/false\n' >"$RIG_BOOT_DIR/units/deps-b.service.d/fail.conf"
rig_exec systemctl daemon-reload
crash a
crash b
run restart-a deps
expect deps failed '^deps-b\.service did not come back \(start job failed; see journalctl -u deps-b\.service\); restarted deps-d\.service \(was inactive\); not tried: deps-c\.service \(needs deps-b\.service\)$'
rig_ok "b failing to start fails the step; c (needs b) is not tried; d still restarted"
rm -rf "$RIG_BOOT_DIR/units/deps-b.service.d"
rig_exec systemctl daemon-reload

echo "# 7. salved restarted in the middle of the step: resumed, it waits for the job it had queued"
mkdir -p "$RIG_BOOT_DIR/units/deps-b.service.d"
printf '[Service]\nExecStartPre=/bin/sleep 2\n' >"$RIG_BOOT_DIR/units/deps-b.service.d/slow.conf"
rig_exec systemctl daemon-reload
reset_units
rig_exec systemctl stop deps-a.service
t0=$(now_ns)
run --cancel-after 1000 deps
[[ "$(line deps)" == "deps cancelled exit=-1 cancelled by the driver" ]] || rig_fail "deps was not cancelled: $(line deps)"
job=$(rig_exec systemctl show -P Job deps-b.service)
[[ -n "$job" && "$job" != 0 ]] || rig_fail "no start job on deps-b.service when the step was cut off"
run --resume deps
expect deps succeeded '^restarted deps-c\.service \(was inactive\), then deps-d\.service \(was inactive\); already back: deps-b\.service \(started by the job systemd had queued\)$'
all_active
for u in a b c d; do
    n=$(starts "$u" "$t0"); [[ "$n" == 1 ]] || rig_fail "deps-$u.service started $n times across the cut and the resume, want 1"
done
before a b; before b c; before a d
rig_ok "cut off while b's start job ran (job $job), resumed: b started once, then c and d"
rm -rf "$RIG_BOOT_DIR/units/deps-b.service.d"
rig_exec systemctl daemon-reload

echo "# 8. an admin's stop still running when the step comes: waited for, then respected"
mkdir -p "$RIG_BOOT_DIR/units/deps-b.service.d"
printf '[Service]\nExecStop=/bin/sleep 3\n' >"$RIG_BOOT_DIR/units/deps-b.service.d/slow-stop.conf"
rig_exec systemctl daemon-reload
reset_units
rig_exec systemctl --no-block stop deps-b.service
rig_wait_for "deps-b.service stopping" 10 sh -c '[ "$(systemctl show -P ActiveState deps-b.service)" = deactivating ]' \
    || rig_fail "deps-b.service is $(state_of b), not deactivating"
# What job mode "fail" relies on: systemd refuses a job that would cancel it.
refused=$(rig_exec busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
          StartUnit ss deps-c.service fail 2>&1 || true)
[[ "$refused" == *"is destructive"* ]] || rig_fail "StartUnit deps-c.service fail during b's stop: '$refused'"
rig_ok "systemd 252 refuses a 'fail' job that would cancel b's stop: $refused"
t0=$(now_ns)
run deps
expect deps succeeded 'left alone: deps-b\.service \(stopped separately from deps-a\.service\), deps-c\.service \(needs deps-b\.service, which is left alone\)$'
for u in b c; do
    [[ "$(state_of "$u")" == inactive ]] || rig_fail "deps-$u.service is $(state_of "$u"), want inactive"
    n=$(starts "$u" "$t0"); [[ "$n" == 0 ]] || rig_fail "deps-$u.service was started"
done
rig_ok "the step waited for b's stop job, then left b (and c, which needs it) stopped"
rm -rf "$RIG_BOOT_DIR/units/deps-b.service.d"
rig_exec systemctl daemon-reload

echo "# 9. the step's timeout"
reset_units
mkdir -p "$RIG_BOOT_DIR/units/deps-b.service.d"
printf '[Service]\nExecStartPre=/bin/sleep 5\n' >"$RIG_BOOT_DIR/units/deps-b.service.d/slow.conf"
rig_exec systemctl daemon-reload
crash a
crash b
t1=$(rig_now_ms)
run deps-short
el=$(( $(rig_now_ms) - t1 ))
expect deps-short timed-out '^not done after 2s: at deps-b\.service; started deps-a\.service \(was failed\)'
(( el >= 1800 && el < 5000 )) || rig_fail "deps-short took $el ms, want about 2 s"
rig_ok "timeout: 2 s (${el} ms), names the unit it was at"
rm -rf "$RIG_BOOT_DIR/units/deps-b.service.d"
rig_exec systemctl daemon-reload

run deps-missing
expect deps-missing failed '^deps-nope\.service is not loaded \(not-found\); no dependents restarted$'
rig_ok "a unit systemd does not know fails the step, and says so"

echo "# bounds: 250 more dependents of a (253 in all) are read; 10 more (263) are too many"
reset_units
mkunits() {
    local i
    for i in $(seq "$1" "$2"); do
        printf '[Unit]\nRequires=deps-a.service\nAfter=deps-a.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n' \
            >"$RIG_BOOT_DIR/units/deps-n$i.service"
    done
    rig_exec systemctl daemon-reload
    rig_exec sh -c "systemctl start \$(seq -f 'deps-n%g.service' $1 $2 | tr '\n' ' ')"
}
mkunits 1 250
ix() { for u in 1 100 250; do rig_exec systemctl show -P InactiveExitTimestampMonotonic "deps-n$u.service"; done | tr '\n' ' '; }
ix0=$(ix)
t1=$(rig_now_ms)
run deps
el=$(( $(rig_now_ms) - t1 ))
# (c may still be stale from the timeout case above: b came back after it)
expect deps succeeded 'already back: deps-b\.service \(active since what it needs came back\), deps-d\.service \(active since what it needs came back\), deps-n1\.service'
[[ "$(ix)" == "$ix0" ]] || rig_fail "deps-n1/n100/n250 were started again: $ix0 -> $(ix)"
rig_ok "253 dependents read and judged in ${el} ms (one GetAll at a time), none of the 250 restarted"
mkunits 251 260
run deps
expect deps failed '^deps-a\.service has more than 256 dependents \(followed requires, binds-to\); salve restarts at most 256$'
rig_ok "263 dependents: the step fails before restarting anything"
rig_exec sh -c "systemctl stop \$(seq -f 'deps-n%g.service' 1 260 | tr '\n' ' ')"
rm -f "$RIG_BOOT_DIR"/units/deps-n*.service
rig_exec systemctl daemon-reload

rig_poweroff || rig_fail "clean poweroff"
rig_ok "clean poweroff"

echo "# 10. a failed at boot, so b, c and d never started (their start jobs failed with \"dependency\")"
mkdir -p "$units/deps-a.service.d" "$units/salve-test.target.wants"
printf '[Service]\nExecStartPre=/bin/sh -c "test -e /run/deps-a-ok"\n' >"$units/deps-a.service.d/boot.conf"
for u in b c d; do ln -s "../deps-$u.service" "$units/salve-test.target.wants/deps-$u.service"; done
printf '[Unit]\nWants=deps-a.service deps-w.service\n' >"$units/salve-test.target.d/deps.conf"
rig_boot "$stage" "$state" "$units"
rig_wait_for "deps-a.service failed" 20 sh -c '[ "$(systemctl show -P ActiveState deps-a.service)" = failed ]' \
    || rig_fail "deps-a.service did not fail at boot: $(state_of a)"
for u in b c d; do
    st=$(for p in ActiveState ActiveExitTimestampMonotonic UnitFileState; do
             rig_exec systemctl show -P "$p" "deps-$u.service"; done | tr '\n' ' ')
    [[ "$st" == "inactive 0 enabled-runtime " ]] || rig_fail "deps-$u.service after boot: '$st', want 'inactive 0 enabled-runtime'"
done
rig_journal -b -u deps-b.service | grep -q "deps-b.service/start failed with result 'dependency'" \
    || rig_fail "no failed start job of deps-b.service in the journal"
rig_ok "systemd 252: b, c, d inactive, never active, enabled-runtime; the journal alone says 'dependency'"
rig_exec touch /run/deps-a-ok
t0=$(now_ns)
run deps
expect deps succeeded '^started deps-a\.service \(was failed\); restarted deps-b\.service \(was inactive\), then deps-c\.service \(was inactive\), then deps-d\.service \(was inactive\)$'
all_active
before a b; before b c; before a d
rig_ok "the step alone brought a, then b, c and d up after a's failed boot"
rig_poweroff || rig_fail "clean poweroff"
rig_ok "clean poweroff"
echo "# total $(( $(rig_now_ms) - t_start )) ms"
rig_done
