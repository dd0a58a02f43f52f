#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# snapshot (btrfs backend) and backup.verify against a real systemd: boots a
# container with the staged install (the helpers salve-snapshot and
# salve-check-backup in /usr/libexec), a btrfs filesystem on a host loop
# device bound in at /srv/bt, and backup trees at /srv/backups; runs the
# steps of tests/data/plans/snapshot-backup-test.yaml through exec-driver
# and checks each result line against what is on disk afterwards:
#   - a snapshot is created read-only, named PREFIX-RUNID, and its name is
#     in the result; the same run again says "already there" and makes
#     nothing; keep: 2 over three runs removes the oldest, and only that;
#     the default prefix and destination; after a "restart" (--resume) with
#     the unit gone, the step looks again and finds the snapshot by name;
#   - refusals: no source, a plain directory as source, the name taken by
#     something that is not a snapshot of the source (left untouched);
#   - backup.verify: a good manifest, a corrupted one, one that points
#     outside its directory, too old, too small, missing, a command as
#     another user, a failing command, a command not run after a failed
#     check, and the step's timeout; a resumed check judges afresh.
# LVM snapshots need device-mapper, which this rig's kernel may lack: they
# are tested in the md VM (tests/vm/guest/lvm-snapshot.sh).
#
# usage: test-snapshot-backup.sh PATH/TO/exec-driver   (SALVE_BUILD_ROOT: the build)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data=$(cd "$here/../data" && pwd)
. "$here/lib.sh"

driver=${1:?usage: test-snapshot-backup.sh PATH/TO/exec-driver}
build=${SALVE_BUILD_ROOT:?SALVE_BUILD_ROOT must name the build directory}
rig_require
[[ -x "$driver" ]] || { echo "test-snapshot-backup: $driver is not an executable" >&2; exit 1; }
for t in mkfs.btrfs btrfs losetup sha256sum; do
    command -v $t >/dev/null || { echo "SKIP: $t is not installed (tools/install-deps.sh)" >&2; exit 77; }
done
grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null || true
grep -qw btrfs /proc/filesystems || { echo "SKIP: the kernel has no btrfs" >&2; exit 77; }
rig_init "snapshot-$$"

t_start=$(rig_now_ms)
stage=$(rig_tmpdir stage)
state=$(rig_tmpdir state)
img=$(rig_tmpdir img)
bt=$(rig_tmpdir bt)
backups=$(rig_tmpdir backups)
meson install -C "$build" --destdir "$stage" --no-rebuild --quiet >/dev/null \
    || rig_fail "meson install into the stage failed"
[[ -x "$stage/usr/libexec/salve-snapshot" && -x "$stage/usr/libexec/salve-check-backup" ]] \
    || { echo "SKIP: the build is not configured with --prefix=/usr" >&2; exit 77; }
dest=/usr/local/lib/salve-test
mkdir -p "$stage$dest"
cp "$driver" "$stage$dest/exec-driver"
cp "$data/plans/snapshot-backup-test.yaml" "$stage$dest/"

# btrfs on a real loop device, mounted on the host and bound in.
truncate -s 160M "$img/bt.img"
mkfs.btrfs -q -f "$img/bt.img" >/dev/null 2>&1
loop=$(losetup -f --show "$img/bt.img")
rig_on_exit "umount -l '$bt' 2>/dev/null; losetup -d '$loop' 2>/dev/null"
mount "$loop" "$bt"
btrfs -q subvolume create "$bt/data" >/dev/null
echo "generation 1" >"$bt/data/payload"
mkdir "$bt/snaps" "$bt/plain-dir"
# Named like ours (PREFIX-PLAN-N) but not a snapshot of data: retention
# must leave it alone.
btrfs -q subvolume create "$bt/snaps/data-salve-other-1" >/dev/null
rig_ok "btrfs on $loop mounted at /srv/bt (subvolume data)"

# Backup trees: good (fresh, 128 KiB, manifest), corrupt (one file changed
# after the manifest), escape (manifest names ../), old (3 days).
mkdir -p "$backups"/{good/sub,corrupt,escape,old}
head -c 131072 /dev/urandom >"$backups/good/db.dump"
echo config >"$backups/good/sub/etc.tar"
(cd "$backups/good" && sha256sum db.dump sub/etc.tar >SHA256SUMS)
head -c 4096 /dev/urandom >"$backups/corrupt/db.dump"
(cd "$backups/corrupt" && sha256sum db.dump >SHA256SUMS)
printf 'x' | dd of="$backups/corrupt/db.dump" bs=1 seek=100 conv=notrunc status=none
echo a >"$backups/escape/a"
(cd "$backups/escape" && sha256sum a >SHA256SUMS && sha256sum /etc/hostname | sed 's|  /etc/hostname|  ../../etc/hostname|' >>SHA256SUMS)
echo old >"$backups/old/db.dump"
touch -d '3 days ago' "$backups/old/db.dump"

RIG_NSPAWN_ARGS+=("--bind=$bt:/srv/bt" "--bind=$backups:/srv/backups")
rig_boot "$stage" "$state"
rig_ok "container booted ($(( $(rig_now_ms) - t_start )) ms)"

LINE="" ELAPSED=0
# step RUN-ID [DRIVER-OPTIONS...] NAME: runs one step, sets LINE and ELAPSED (ms).
step() {
    local run=$1 t0 out
    shift
    t0=$(rig_now_ms)
    out=$(rig_exec "$dest/exec-driver" --run-id "$run" "${@:1:$#-1}" "$dest/snapshot-backup-test.yaml" "${!#}") \
        || rig_fail "exec-driver ${!#} exited with $?"
    ELAPSED=$(( $(rig_now_ms) - t0 ))
    LINE=$(grep -m1 "^${!#} " <<<"$out" || true)
    [[ -n "$LINE" ]] || rig_fail "exec-driver ${!#}: no result line (output: $out)"
}
# expect RUN-ID [DRIVER-OPTIONS...] NAME OUTCOME EXIT REGEX
expect() {
    local n=$# re=${!#} exit outcome name msg
    exit=${*:n-1:1} outcome=${*:n-2:1} name=${*:n-3:1}
    step "${@:1:n-3}"
    [[ "$LINE" =~ ^"$name $outcome exit=$exit "(.*)$ ]] \
        || rig_fail "$name: got '$LINE', want '$outcome exit=$exit'"
    msg=${BASH_REMATCH[1]}
    [[ "$msg" =~ $re ]] || rig_fail "$name: message '$msg' does not match /$re/"
    rig_ok "$name: $outcome exit=$exit \"$msg\" (${ELAPSED} ms)"
}
snaps() { (cd "$bt/snaps" && ls -1 | tr '\n' ' '); }
is_ro_snapshot() { # PATH: a read-only btrfs snapshot of /srv/bt/data
    [[ "$(btrfs property get -ts "$1" ro)" == "ro=true" ]] &&
        btrfs subvolume show "$1" | grep -q "Parent UUID:.*$(btrfs subvolume show "$bt/data" | awk '/^\s*UUID:/ {print $2}')"
}

echo "# snapshot: create, idempotent by name, retention"
P=snapshot-backup-test
expect $P-1 snap succeeded 0 "^snapshot /srv/bt/snaps/data-salve-$P-1 created; the newest 2 kept$"
is_ro_snapshot "$bt/snaps/data-salve-$P-1" || rig_fail "data-salve-$P-1 is not a read-only snapshot of data"
rig_ok "it is a read-only snapshot of /srv/bt/data"
journal=$(rig_exec journalctl --no-pager -o cat SALVE_RUN=$P-1 SALVE_STEP=snap)
grep -q "snapshot /srv/bt/snaps/data-salve-$P-1 of /srv/bt/data created" <<<"$journal" \
    || rig_fail "the helper's output is not in the journal under the step: $journal"
rig_ok "the helper's findings are in the journal under SALVE_RUN/SALVE_STEP"

echo "generation 2" >"$bt/data/payload"
expect $P-1 snap succeeded 2 "^snapshot /srv/bt/snaps/data-salve-$P-1 already there; the newest 2 kept$"
[[ "$(cat "$bt/snaps/data-salve-$P-1/payload")" == "generation 1" ]] || rig_fail "the snapshot was made again"
[[ "$(snaps)" == "data-salve-other-1 data-salve-$P-1 " ]] || rig_fail "snapshots after a repeat: $(snaps)"
rig_ok "the same run again made nothing: $(snaps)"

expect $P-2 snap succeeded 0 "^snapshot /srv/bt/snaps/data-salve-$P-2 created"
expect $P-3 snap succeeded 0 "^snapshot /srv/bt/snaps/data-salve-$P-3 created; the newest 2 kept$"
[[ "$(snaps)" == "data-salve-other-1 data-salve-$P-2 data-salve-$P-3 " ]] || rig_fail "after 3 runs with keep: 2: $(snaps)"
rig_ok "keep: 2 removed the oldest (data-salve-$P-1), not the look-alike that is no snapshot of data: $(snaps)"

# A "restart" after the unit is gone (the driver released it): the step
# looks again and finds the snapshot by name.
expect $P-3 --resume snap succeeded 2 "^snapshot /srv/bt/snaps/data-salve-$P-3 already there"
[[ "$(snaps)" == "data-salve-other-1 data-salve-$P-2 data-salve-$P-3 " ]] || rig_fail "after resume: $(snaps)"

expect $P-3 snap-default succeeded 0 "^snapshot /srv/bt/data-salve-$P-3 created$"
is_ro_snapshot "$bt/data-salve-$P-3" || rig_fail "the default destination's snapshot is not one"
expect $P-3 snap-named succeeded 0 "^snapshot /srv/bt/snaps/before-upgrade-$P-3 created$"

echo "# snapshot: refusals"
expect $P-3 snap-missing failed 3 "^snapshot /srv/bt/nope-salve-$P-3 not made: the source does not exist"
expect $P-3 snap-not-subvolume failed 3 "^snapshot /srv/bt/plain-dir-salve-$P-3 not made: the source does not exist or is not a volume"
mkdir "$bt/snaps/taken-$P-1"
echo mine >"$bt/snaps/taken-$P-1/file"
expect $P-1 snap-taken failed 8 "^snapshot /srv/bt/snaps/taken-$P-1 not made: the name is taken"
[[ "$(cat "$bt/snaps/taken-$P-1/file")" == mine ]] || rig_fail "the directory in the way was touched"
rig_ok "the directory in the way is untouched"

echo "# backup.verify"
expect $P-1 backup-good succeeded 0 '^backup /srv/backups/good verified: max-age 1h, min-size 65536, manifest$'
journal=$(rig_exec journalctl --no-pager -o cat SALVE_RUN=$P-1 SALVE_STEP=backup-good)
grep -q "all 2 files match" <<<"$journal" || rig_fail "no manifest finding in the journal: $journal"
rig_ok "the journal has the check's findings ($(grep -c . <<<"$journal") lines)"
expect $P-1 backup-corrupt failed 7 '^backup /srv/backups/corrupt does not match its manifest \(journalctl SALVE_RUN='
journal=$(rig_exec journalctl --no-pager -o cat SALVE_RUN=$P-1 SALVE_STEP=backup-corrupt)
grep -q "db.dump: FAILED" <<<"$journal" || rig_fail "sha256sum's finding is not in the journal: $journal"
rig_ok "sha256sum's own report is in the journal (db.dump: FAILED)"
expect $P-1 backup-escape failed 6 '^backup /srv/backups/escape has a manifest that cannot be used'
expect $P-1 backup-old failed 3 '^backup /srv/backups/old is too old'
journal=$(rig_exec journalctl --no-pager -o cat SALVE_RUN=$P-1 SALVE_STEP=backup-old)
grep -Eq "its newest file is 3d( [0-9]+s)? old, more than max-age 1d" <<<"$journal" || rig_fail "age finding: $journal"
rig_ok "the journal says how old: $(grep 'too old' <<<"$journal")"
expect $P-1 backup-small failed 4 '^backup /srv/backups/good is too small'
expect $P-1 backup-missing failed 2 '^backup /srv/backups/nope does not exist'
expect $P-1 backup-command succeeded 0 '^backup /srv/backups/good verified: max-age 1h, `/bin/sh -c .*` passed$'
journal=$(rig_exec journalctl --no-pager -o cat SALVE_RUN=$P-1 SALVE_STEP=backup-command)
grep -q "checked by nobody" <<<"$journal" || rig_fail "the command did not run as nobody: $journal"
rig_ok "the command ran as with.user (nobody), after the file check"
expect $P-1 backup-command-fails failed 3 '^backup /srv/backups/good: `/bin/sh -c .*` failed: exit status 3'
expect $P-1 backup-command-after-bad failed 7 '^backup /srv/backups/corrupt does not match its manifest'
rig_exec test ! -e /run/should-not-run || rig_fail "the command ran after the check failed"
rig_ok "no command after a failed check"

expect $P-1 backup-slow timed-out -1 '`/bin/sleep 30` failed: timed out after 3s'
((ELAPSED < 15000)) || rig_fail "the timeout took ${ELAPSED} ms"

# Resume of backup.verify with nothing left in systemd: checks again.
expect $P-1 --resume backup-good succeeded 0 '^backup /srv/backups/good verified'

rig_poweroff
rig_done
