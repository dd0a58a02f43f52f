#!/bin/bash
# Guest script (tests/vm/run.sh, 1 disk): snapshot steps with the lvm
# backend against real device-mapper and the guest's systemd, through
# exec-driver (the executor, as salved runs it). The guest's root is the
# host's, so lvm2 is the host's (tools/install-deps.sh); dm-mod,
# dm-snapshot and dm-thin-pool come from the VM kernel's modules (the kmods
# share), loaded here with modprobe: nothing needs them before the root is
# mounted, so the initramfs does not carry them.
#   - classic: a COW snapshot of salvevg/db (with.size), named
#     PREFIX-RUNID, holding the data of the moment; the same run again says
#     "already there" and makes nothing; keep: 2 over three runs removes
#     the oldest; --resume (nothing left in systemd) finds it by name;
#   - thin: a thin snapshot of a thin LV (no size), retention likewise;
#   - refusals: a classic LV without with.size, a missing LV.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

drv="$VM_BUILD/tests/integration/exec-driver"
plan="$VM_SRC/tests/data/plans/lvm-snapshot-test.yaml"
[[ -x "$drv" ]] || vm_fail "no exec-driver in VM_BUILD=$VM_BUILD"
[[ -x "$VM_BUILD/src/salve-snapshot" ]] || vm_fail "no salve-snapshot in VM_BUILD=$VM_BUILD"
command -v lvcreate >/dev/null || vm_skip "lvm2 is not installed on the host (tools/install-deps.sh)"
command -v thin_check >/dev/null || vm_skip "thin-provisioning-tools is not installed on the host"
# The step runs the helper from salve's libexecdir, as an installed salve does.
install -D -m 0755 "$VM_BUILD/src/salve-snapshot" /usr/libexec/salve-snapshot

for m in dm-mod dm-snapshot dm-thin-pool; do
    modprobe "$m" || vm_fail "modprobe $m"
done
vm_ok "device-mapper loaded: $(dmsetup version | tr '\n' ' ')"

d1=$(vm_disk 1)
[[ -b "$d1" ]] || vm_fail "virtio disk not found ($d1)"
q=(--quiet)
pvcreate "${q[@]}" -y "$d1" >/dev/null || vm_fail "pvcreate $d1"
vgcreate "${q[@]}" salvevg "$d1" >/dev/null || vm_fail "vgcreate"
lvcreate "${q[@]}" -y -L 16M -n db salvevg >/dev/null || vm_fail "lvcreate db"
lvcreate "${q[@]}" -y -L 24M -T salvevg/pool >/dev/null || vm_fail "lvcreate pool"
lvcreate "${q[@]}" -y -V 16M -T salvevg/pool -n thin >/dev/null || vm_fail "lvcreate thin"
echo "generation 1" | dd of=/dev/salvevg/db bs=512 conv=sync status=none
vm_ok "salvevg on $d1: $(lvs --noheadings -o lv_name,segtype salvevg | tr -s ' \n' ' ')"

LINE=""
step() { # RUN-ID [OPTIONS...] NAME: runs one step through exec-driver, sets LINE
    local run=$1 out
    shift
    out=$("$drv" --run-id "$run" "${@:1:$#-1}" "$plan" "${!#}") || vm_fail "exec-driver ${!#} exited with $?"
    LINE=$(grep -m1 "^${!#} " <<<"$out" || true)
    [[ -n "$LINE" ]] || vm_fail "exec-driver ${!#}: no result line (output: $out)"
}
expect() { # RUN-ID [OPTIONS...] NAME OUTCOME EXIT REGEX
    local n=$# re=${!#} exit outcome name msg t0
    exit=${*:n-1:1} outcome=${*:n-2:1} name=${*:n-3:1}
    t0=$(vm_now_ms)
    step "${@:1:n-3}"
    [[ "$LINE" =~ ^"$name $outcome exit=$exit "(.*)$ ]] || vm_fail "$name: got '$LINE', want '$outcome exit=$exit'"
    msg=${BASH_REMATCH[1]}
    [[ "$msg" =~ $re ]] || vm_fail "$name: message '$msg' does not match /$re/"
    vm_ok "$name: $outcome exit=$exit \"$msg\" ($(( $(vm_now_ms) - t0 )) ms)"
}
lvinfo() { lvs --noheadings -o "$2" "salvevg/$1" 2>/dev/null | tr -d ' '; }
snaps_of() { # ORIGIN: its snapshots' names, sorted
    lvs --noheadings -o lv_name,origin salvevg | awk -v o="$1" '$2 == o {print $1}' | sort | tr '\n' ' '
}

P=lvm-snapshot-test
echo "# classic (COW) snapshots"
expect $P-1 classic succeeded 0 "^snapshot salvevg/db-salve-$P-1 created; the newest 2 kept$"
[[ "$(lvinfo "db-salve-$P-1" origin)" == db && "$(lvinfo "db-salve-$P-1" segtype)" == linear ]] \
    || vm_fail "db-salve-$P-1 is not a classic snapshot of db: $(lvs salvevg)"
cow=$(lvs --noheadings --units b --nosuffix -o lv_size "salvevg/db-salve-$P-1" | tr -d ' ')
(( cow >= 8 * 1024 * 1024 && cow < 16 * 1024 * 1024 )) || vm_fail "COW size $cow, not with.size 8M"
[[ "$(lvs --noheadings -o lv_attr "salvevg/db-salve-$P-1" | tr -d ' ' | cut -c1)" == s ]] \
    || vm_fail "db-salve-$P-1 attr is not a snapshot's: $(lvs salvevg)"
vm_ok "db-salve-$P-1 is a classic snapshot of db (attr $(lvinfo "db-salve-$P-1" lv_attr), COW $(lvinfo "db-salve-$P-1" lv_size))"
echo "generation 2" | dd of=/dev/salvevg/db bs=512 conv=sync status=none
[[ "$(head -c 12 "/dev/salvevg/db-salve-$P-1")" == "generation 1" ]] || vm_fail "the snapshot does not hold the old data"
vm_ok "the snapshot holds the data of its moment (generation 1; db now has generation 2)"

expect $P-1 classic succeeded 2 "^snapshot salvevg/db-salve-$P-1 already there"
[[ "$(snaps_of db)" == "db-salve-$P-1 " ]] || vm_fail "after a repeat: $(snaps_of db)"
vm_ok "the same run again made nothing: $(snaps_of db)"
expect $P-2 classic succeeded 0 "^snapshot salvevg/db-salve-$P-2 created"
expect $P-3 classic succeeded 0 "^snapshot salvevg/db-salve-$P-3 created; the newest 2 kept$"
[[ "$(snaps_of db)" == "db-salve-$P-2 db-salve-$P-3 " ]] || vm_fail "keep: 2 after three runs: $(snaps_of db)"
vm_ok "keep: 2 removed the oldest: $(snaps_of db)"
expect $P-3 --resume classic succeeded 2 "^snapshot salvevg/db-salve-$P-3 already there"

echo "# thin snapshots"
expect $P-1 thin succeeded 0 "^snapshot salvevg/thin-before-$P-1 created; the newest 2 kept$"
[[ "$(lvinfo "thin-before-$P-1" origin)" == thin && "$(lvinfo "thin-before-$P-1" segtype)" == thin ]] \
    || vm_fail "thin-before-$P-1 is not a thin snapshot of thin: $(lvs -a salvevg)"
vm_ok "thin-before-$P-1 is a thin snapshot (segtype thin, origin thin, pool $(lvinfo "thin-before-$P-1" pool_lv))"
expect $P-2 thin succeeded 0 "^snapshot salvevg/thin-before-$P-2 created"
expect $P-3 thin succeeded 0 "^snapshot salvevg/thin-before-$P-3 created"
[[ "$(snaps_of thin)" == "thin-before-$P-2 thin-before-$P-3 " ]] || vm_fail "thin keep: 2: $(snaps_of thin)"
vm_ok "thin keep: 2 removed the oldest: $(snaps_of thin)"

echo "# refusals"
expect $P-1 classic-no-size failed 4 "^snapshot salvevg/db-salve-$P-1 not made: the source is not a thin LV, so a classic snapshot needs with.size"
expect $P-1 missing failed 3 "^snapshot salvevg/nope-salve-$P-1 not made: the source does not exist"
journalctl --no-pager -o cat SALVE_STEP=classic >"$VM_JOB/lvm-journal.txt" 2>&1 || true
grep -q "removed salvevg/db-salve-$P-1 (keep: 2)" "$VM_JOB/lvm-journal.txt" || vm_fail "no removal in the journal"
vm_ok "the journal has the helper's account under the step ($(wc -l <"$VM_JOB/lvm-journal.txt") lines)"

vgremove -f -y salvevg >/dev/null 2>&1 || true
vm_done
