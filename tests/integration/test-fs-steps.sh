#!/bin/bash
# fs.check and fs.mount against real loop devices, in a real systemd
# container, run with `salvectl run` and judged by `salvectl --json status`
# and the journal:
#   fs.check: a clean ext4 found by UUID= (libblkid scans, no udev here);
#     one not cleanly unmounted (debugfs ssv state 0) and one whose journal
#     needs replaying (feature needs_recovery): the read-only probe says
#     which, e2fsck -p repairs; one with a block claimed twice and errors
#     recorded: repair no leaves it (exit 4, image untouched), preen cannot
#     (exit 4, "UNEXPECTED INCONSISTENCY" in the journal), yes fixes it
#     (exit 1), and no then finds it clean; e2fsck's output is in the
#     journal under SALVE_STEP=; a filesystem mounted read-write is refused;
#     salved killed while the checker runs re-attaches to its unit by name,
#     whether it still runs or ended meanwhile, and runs nothing twice.
#   fs.mount: a transient mount unit mounts the device; a second run finds
#     it mounted and does nothing; a mount point with another device on it
#     fails, naming it; an existing mount unit for the path (a unit file) is
#     started when it is for the device, refused when it is for another.
# The loop devices are made on the host (loop numbers 7800-7897, this
# test's alone) and their nodes made in the container, as udev would.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

loopctl=$SALVE_BUILD_ROOT/tests/integration/loop-ctl
[[ -x $loopctl ]] || { echo "SKIP: no $loopctl" >&2; exit 77; }
[[ -c /dev/loop-control ]] || { echo "SKIP: no /dev/loop-control" >&2; exit 77; }
for t in losetup mkfs.ext4 debugfs dumpe2fs; do
    command -v $t >/dev/null || { echo "SKIP: $t is not installed" >&2; exit 77; }
done

salve_setup fs$$
img=$(rig_tmpdir images)
base=$((7800 + ($$ % 14) * 7))
for i in 0 1 2 3 4 5 6; do
    [[ ! -e /sys/class/block/loop$((base + i)) ]] || { echo "SKIP: loop$((base + i)) exists (someone else's?)" >&2; exit 77; }
done
CLEAN=/dev/loop$base DIRTY=/dev/loop$((base + 1)) JOURNAL=/dev/loop$((base + 2)) BAD=/dev/loop$((base + 3))
OTHER=/dev/loop$((base + 4)) RESUME1=/dev/loop$((base + 5)) RESUME2=/dev/loop$((base + 6))
UUID=5a17f5c0-0000-4000-8000-000000000001

mkimg() { # NAME [DEBUGFS REQUEST...]
    local f=$img/$1.img
    shift
    truncate -s 32M "$f"
    mkfs.ext4 -q -F "$f"
    for req in "$@"; do debugfs -w -R "$req" "$f" >/dev/null 2>&1; done
}
mkimg clean
tune2fs -U "$UUID" "$img/clean.img" >/dev/null
mkimg dirty "ssv state 0"
mkimg journal "feature needs_recovery"
mkimg bad
echo one >"$img/f1"; echo two >"$img/f2"
debugfs -w -R "write $img/f1 f1" "$img/bad.img" >/dev/null 2>&1
debugfs -w -R "write $img/f2 f2" "$img/bad.img" >/dev/null 2>&1
# f2's extent (i_block[5]: the first extent's start) onto f1's block, and
# the errors bit the kernel would have set on finding it.
b1=$(debugfs -R "blocks f1" "$img/bad.img" 2>/dev/null | tr -d ' ')
debugfs -w -R "sif f2 block[5] $b1" "$img/bad.img" >/dev/null 2>&1
debugfs -w -R "ssv state 2" "$img/bad.img" >/dev/null 2>&1
mkimg other
mkimg resume1 "ssv state 0"
mkimg resume2 "ssv state 0"

plan() { # NAME KIND WITH
    cat >"$SALVE_STAGE/etc/salve/plans.d/$1.yaml" <<EOF
plan: $1
steps:
  - id: $( [[ $2 == fs.check ]] && echo fsck || echo mount )
    run: $2
    timeout: 60s
    with: $3
EOF
    chmod 0644 "$SALVE_STAGE/etc/salve/plans.d/$1.yaml"
}
plan fsck-uuid fs.check "{device: UUID=$UUID}"
plan fsck-dirty fs.check "{device: $DIRTY, repair: preen}"
plan fsck-journal fs.check "{device: $JOURNAL}"
plan fsck-bad-no fs.check "{device: $BAD, repair: no}"
plan fsck-bad-preen fs.check "{device: $BAD, repair: preen}"
plan fsck-bad-yes fs.check "{device: $BAD, repair: yes}"
plan fsck-clean fs.check "{device: $CLEAN, repair: no}"
plan fsck-resume1 fs.check "{device: $RESUME1}"
plan fsck-resume2 fs.check "{device: $RESUME2}"
plan mount-data fs.mount "{device: UUID=$UUID, where: /srv/fs-data}"
plan mount-busy fs.mount "{device: $CLEAN, where: /srv/fs-busy}"
plan mount-unit fs.mount "{device: $DIRTY, where: /srv/fs-unit}"
plan mount-unit-wrong fs.mount "{device: $JOURNAL, where: /srv/fs-unit}"
# A mount unit of the path's own, as a unit file (fstab's would be generated).
cat >"$SALVE_UNITS/srv-fs\\x2dunit.mount" <<EOF
[Mount]
What=$DIRTY
Where=/srv/fs-unit
Type=ext4
EOF

for i in 0 1 2 3 4 5 6; do
    "$loopctl" add $((base + i))
    rig_on_exit "losetup -d /dev/loop$((base + i)) 2>/dev/null; $loopctl remove $((base + i)) 2>/dev/null || true"
done
losetup "$CLEAN" "$img/clean.img"
losetup "$DIRTY" "$img/dirty.img"
losetup "$JOURNAL" "$img/journal.img"
losetup "$BAD" "$img/bad.img"
losetup "$OTHER" "$img/other.img"
losetup "$RESUME1" "$img/resume1.img"
losetup "$RESUME2" "$img/resume2.img"
salve_boot
for i in 0 1 2 3 4 5 6; do rig_exec mknod "/dev/loop$((base + i))" b 7 $((base + i)); done

message() { salve_json "$1" | jq -r --arg s "$2" '.steps[] | select(.id == $s) | .message'; }
# run PLAN STATE: runs the plan, waits for the run to end in STATE; prints the run id.
run() {
    local id
    id=$(rig_exec salvectl run "$1")
    salve_wait "$id" "$2" 60 >&2
    echo "$id"
}
# logged RUN STEP PATTERN: the step's journal (what its units wrote) has PATTERN.
logged() {
    local out
    rig_exec journalctl --sync 2>/dev/null || true
    out=$(rig_exec journalctl --no-pager -o cat SALVE_RUN="$1" SALVE_STEP="$2")
    grep -q -- "$3" <<<"$out" && return 0
    echo "# the journal of $1/$2:" >&2
    sed 's/^/#   /' <<<"$out" >&2
    return 1
}
step_is() { test "$(salve_step "$1" "$2")" = "$3"; }

# --- fs.check ---
id=$(run fsck-uuid succeeded)
m=$(message "$id" fsck)
check "UUID= resolved by libblkid, found clean, e2fsck -p exit 0 ($m)" \
    grep -q "^$CLEAN (ext4): found clean; e2fsck -p: exit status 0: no errors$" <<<"$m"
check "e2fsck's output is in the journal under SALVE_STEP=fsck" logged "$id" fsck "$CLEAN: clean,"
check "the step is succeeded" step_is "$id" fsck succeeded

id=$(run fsck-dirty succeeded)
m=$(message "$id" fsck)
check "not cleanly unmounted: the probe says so, e2fsck -p corrects (exit 1) ($m)" \
    grep -q "found needs recovery (not cleanly unmounted); e2fsck -p: exit status 1: errors corrected$" <<<"$m"
check "e2fsck said why in the journal" logged "$id" fsck "was not cleanly unmounted, check forced"

id=$(run fsck-journal succeeded)
m=$(message "$id" fsck)
check "journal needs replaying: said, and replayed ($m)" \
    grep -q "found needs recovery (the journal needs replaying); e2fsck -p: exit status 0" <<<"$m"
check "the replay is in the journal" logged "$id" fsck "recovering journal"

before=$(md5sum <"$img/bad.img")
id=$(run fsck-bad-no failed)
m=$(message "$id" fsck)
check "errors, repair no: e2fsck -n -f finds them, exit 4, step failed ($m)" \
    grep -q "found needs recovery (not cleanly unmounted, errors recorded by the kernel); e2fsck -n: exit status 4: errors left uncorrected$" <<<"$m"
check "repair no wrote nothing: the image is byte for byte what it was" test "$(md5sum <"$img/bad.img")" = "$before"
check "e2fsck -n listed the multiply-claimed block" logged "$id" fsck "[Mm]ultiply-claimed"

id=$(run fsck-bad-preen failed)
m=$(message "$id" fsck)
check "preen cannot fix a block claimed twice: exit 4 ($m)" grep -q "e2fsck -p: exit status 4: errors left uncorrected$" <<<"$m"
check "e2fsck -p said so in the journal" logged "$id" fsck "UNEXPECTED INCONSISTENCY"

id=$(run fsck-bad-yes succeeded)
m=$(message "$id" fsck)
check "repair yes fixes it: exit 1 ($m)" grep -q "e2fsck -y: exit status 1: errors corrected$" <<<"$m"
check "the filesystem state is clean again on disk" \
    sh -c "dumpe2fs -h '$img/bad.img' 2>/dev/null | grep -q '^Filesystem state: *clean$'"

id=$(run fsck-clean succeeded)
check "a clean filesystem, repair no: a forced read-only check, exit 0 ($(message "$id" fsck))" \
    grep -q "found clean; e2fsck -n: exit status 0: no errors$" <<<"$(message "$id" fsck)"
check "forced: e2fsck ran its passes" logged "$id" fsck "Pass 5"

# --- fs.check after salved restarted ---
# A checker slowed down by 3 s (an e2fsck earlier in systemd's search path),
# so that salved can be killed while it runs; salved stays down until the
# test starts it.
rig_exec mkdir -p /run/systemd/system/salved.service.d
rig_exec sh -c 'printf "[Service]\nRestart=no\n" > /run/systemd/system/salved.service.d/no-restart.conf'
rig_exec systemctl daemon-reload
rig_exec sh -c 'printf "#!/bin/sh\nsleep 3\nexec /usr/sbin/e2fsck \"\$@\"\n" > /usr/local/sbin/e2fsck && chmod 0755 /usr/local/sbin/e2fsck'
kill_salved() {
    local pid
    pid=$(rig_exec systemctl show -p MainPID --value salved)
    rig_exec systemctl kill --kill-who=main -s KILL salved
    rig_wait_for "salved to die" 10 sh -c "! kill -0 $pid 2>/dev/null"
}
start_salved() {
    rig_exec systemctl reset-failed salved 2>/dev/null || true
    rig_exec systemctl start salved
    rig_wait_for "salved to be active" 20 systemctl is-active -q salved
}
for p in fsck-resume1 fsck-resume2; do
    dev=$RESUME1; [[ $p == fsck-resume2 ]] && dev=$RESUME2
    id=$(rig_exec salvectl run $p)
    unit="salve-$id-fsck-1-fsck.service"
    rig_wait_for "the checker to run" 20 systemctl is-active -q "$unit"
    kill_salved
    check "$p: the checker runs on without salved" rig_exec systemctl is-active -q "$unit"
    if [[ $p == fsck-resume2 ]]; then
        rig_wait_for "the checker to end while salved is down" 20 \
            sh -c "systemctl show -p SubState --value '$unit' | grep -qx 'exited\|failed'"
        how="ended while salved was down"
    else
        how="still running when salved came back"
    fi
    start_salved
    salve_wait "$id" succeeded 30
    m=$(message "$id" fsck)
    check "$p ($how): re-attached, its exit status is the result, with what the probe found ($m)" \
        grep -q "^$dev (ext4): found needs recovery (not cleanly unmounted); e2fsck -p: exit status 1: errors corrected$" <<<"$m"
    check "$p: e2fsck ran once" \
        test "$(rig_exec journalctl --no-pager -o cat SALVE_RUN="$id" SALVE_STEP=fsck | grep -c 'was not cleanly unmounted')" -eq 1
done
rig_exec rm /usr/local/sbin/e2fsck /run/systemd/system/salved.service.d/no-restart.conf
rig_exec systemctl daemon-reload

# --- fs.mount ---
id=$(run mount-data succeeded)
m=$(message "$id" mount)
check "a transient mount unit mounts it ($m)" \
    grep -q "^mounted $CLEAN at /srv/fs-data (ext4, read-write; srv-fs\\\\x2ddata.mount transient)$" <<<"$m"
check "it is mounted there" rig_exec sh -c "findmnt -n -o SOURCE /srv/fs-data | grep -qx $CLEAN"
check "by systemd's unit" rig_exec systemctl is-active -q 'srv-fs\x2ddata.mount'

id=$(run mount-data succeeded)
m=$(message "$id" mount)
check "a second run finds it mounted and does nothing ($m)" \
    grep -q "^$CLEAN is already mounted at /srv/fs-data (ext4, read-write): nothing to do$" <<<"$m"
check "still mounted once" test "$(rig_exec findmnt -n -o SOURCE /srv/fs-data | wc -l)" -eq 1

rig_exec mkdir -p /srv/fs-busy
rig_exec mount "$OTHER" /srv/fs-busy
id=$(run mount-busy failed)
m=$(message "$id" mount)
check "another device on the mount point: failed, naming it ($m)" \
    grep -q "^/srv/fs-busy has $OTHER (ext4) mounted on it, not $CLEAN$" <<<"$m"
check "and nothing was mounted over it" test "$(rig_exec findmnt -n -o SOURCE /srv/fs-busy)" = "$OTHER"

id=$(run fsck-clean failed)
m=$(message "$id" fsck)
check "fs.check refuses a filesystem mounted read-write ($m)" \
    grep -q "^refusing to check $CLEAN: it is mounted read-write at /srv/fs-data" <<<"$m"
check "and started no checker" \
    test "$(rig_exec systemctl show -p LoadState --value "salve-$id-fsck-1-fsck.service")" = not-found

id=$(run mount-unit-wrong failed)
m=$(message "$id" mount)
check "an existing mount unit for another device is not started ($m)" \
    grep -q "^/srv/fs-unit has a mount unit of its own, srv-fs\\\\x2dunit.mount (/run/systemd/system/srv-fs\\\\x2dunit.mount), for $DIRTY, not $JOURNAL$" <<<"$m"
id=$(run mount-unit succeeded)
m=$(message "$id" mount)
check "the existing mount unit for the device is started ($m)" \
    grep -q "^mounted $DIRTY at /srv/fs-unit (ext4, read-write; srv-fs\\\\x2dunit.mount /run/systemd/system/srv-fs\\\\x2dunit.mount)$" <<<"$m"
check "systemd mounted it through that unit" rig_exec systemctl is-active -q 'srv-fs\x2dunit.mount'

rig_exec umount /srv/fs-busy
rig_exec systemctl stop 'srv-fs\x2ddata.mount' 'srv-fs\x2dunit.mount'
rig_done
