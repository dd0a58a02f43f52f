#!/bin/bash
# Guest script (tests/vm/run.sh, 2 disks of 16M; run-md-tests.sh's "steps"
# scenario puts a salve stage in the job dir): salved runs raid.wait-sync
# and raid.check on a real RAID1.
#   1. A throttled resync interrupted (mdadm --stop) and the array assembled
#      again with md_mod start_ro=1, as Debian brings it up after a power
#      cut: read-auto, resync_start at the checkpoint, sync_action idle.
#   2. `salvectl run md-steps`: raid.wait-sync starts the pending resync
#      itself (the array leaves read-auto while the step runs), reports
#      progress (salvectl --json status: steps[].progress, and salvectl
#      status's text), survives a restart of salved mid-resync (the step
#      is resumed and waits again), and succeeds only once md is in sync;
#      then raid.check runs a check (sync_action check) and passes with
#      mismatch_cnt 0 <= max-mismatch 0.
#   3. A member corrupted behind md's back: the same plan's raid.wait-sync
#      succeeds at once, raid.check fails naming mismatch_cnt.
# The array is created as /dev/md/steps and the plan names it so: udev may
# assemble it again by itself (as md127 or another number) whenever a
# member is written, and the step resolves md/NAME through udev's link.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

d1=$(vm_disk 1) d2=$(vm_disk 2)
[[ -b "$d1" && -b "$d2" ]] || vm_fail "virtio disks not found ($d1, $d2)"
[[ -d "$VM_JOB/stage/usr" ]] || vm_fail "no salve stage in the job dir ($VM_JOB/stage)"

for d in usr etc var; do
    [[ -d "$VM_JOB/stage/$d" ]] && { cp -a "$VM_JOB/stage/$d/." "/$d/" || vm_fail "installing the stage's /$d"; }
done
[[ -d "$VM_JOB/stage/lib" ]] && { cp -a "$VM_JOB/stage/lib/." /usr/lib/ || vm_fail "installing the stage's /lib"; }
mkdir -p /etc/salve/plans.d
for p in /usr/lib/salve/plans.d/*.yaml; do ln -sf /dev/null "/etc/salve/plans.d/${p##*/}"; done
cat >/etc/salve/plans.d/md-steps.yaml <<'PLAN'
plan: md-steps
trigger: [manual]
steps:
  - id: sync
    run: raid.wait-sync
    with: {array: md/steps}
    timeout: 4m
  - id: check
    needs: [sync]
    run: raid.check
    with: {array: md/steps, max-mismatch: 0}
    timeout: 4m
PLAN
chmod 0644 /etc/salve/plans.d/md-steps.yaml

md_name() { # the kernel name of /dev/md/steps, once its sysfs is there
    local t
    t=$(readlink -f /dev/md/steps 2>/dev/null) && [[ -e "/sys/block/${t##*/}/md/array_state" ]] && echo "${t##*/}"
}
wait_assembled() { # DESC
    udevadm settle -t 20 || true
    vm_wait "$1" 20 md_name
    md=$(md_name)
}

# ---- 1. an array with a resync pending, as after a power cut ----
echo 100 >/proc/sys/dev/raid/speed_limit_min
echo 300 >/proc/sys/dev/raid/speed_limit_max
mdadm --create /dev/md/steps --name=steps --run --quiet --level=1 --raid-devices=2 --metadata=1.2 \
    --bitmap=none "$d1" "$d2" || vm_fail "mdadm --create"
wait_assembled "md/steps created"
vm_wait_md "$md" sync_action resync 20
vm_wait "the resync past 1 MiB" 60 sh -c \
    "read -r done _ total </sys/block/$md/md/sync_completed && [ \"\$done\" -gt 2048 ]"
mdadm --stop "/dev/$md" >/dev/null 2>&1 || vm_fail "mdadm --stop $md"
vm_wait "$md gone" 10 test ! -e "/sys/block/$md/md"
echo 1 >/sys/module/md_mod/parameters/start_ro || vm_fail "md_mod start_ro=1"
# for step 2: about 20 s for the rest, so salved is seen waiting
echo 700 >/proc/sys/dev/raid/speed_limit_max
mdadm --assemble /dev/md/steps "$d1" "$d2" >/dev/null 2>&1 || true     # udev may have been first
wait_assembled "md/steps assembled"
[[ $(vm_md "$md" array_state) == read-auto ]] || vm_fail "$md is $(vm_md "$md" array_state), not read-auto"
rs=$(vm_md "$md" resync_start)
[[ "$rs" =~ ^[0-9]+$ && $(vm_md "$md" sync_action) == idle ]] \
    || vm_fail "not pending: resync_start $rs, sync_action $(vm_md "$md" sync_action)"
grep -q 'resync=PENDING' /proc/mdstat || vm_fail "/proc/mdstat shows no resync=PENDING"
vm_ok "md/steps ($md) read-auto with a resync pending: sync_action idle, resync_start $rs"

systemctl daemon-reload
busctl call org.freedesktop.DBus / org.freedesktop.DBus ReloadConfig >/dev/null 2>&1 || true
systemctl start salved || vm_fail "salved did not start: $(journalctl -u salved -o cat | tail -n 5)"
salvectl plans | grep -q md-steps || vm_fail "salved did not load md-steps: $(salvectl plans 2>&1)"

# ---- 2. wait-sync starts it, shows progress, survives a restart; check passes ----
status() { salvectl --json status "$run"; }
step() { status | jq -r --arg s "$1" ".steps[] | select(.id == \$s) | $2"; }
step_is() { [[ $(step "$1" .state) == "$2" ]]; }
# shellcheck disable=SC2317  # called through vm_wait
step_not() { [[ $(step "$1" .state) != "$2" ]]; }
# shellcheck disable=SC2317
run_not() { [[ $(status | jq -r .state) != "$1" ]]; }
# How far md is, in per cent of the array (sync_completed "DONE / TOTAL").
md_pct() { local d t; read -r d _ t <"/sys/block/$md/md/sync_completed" && [[ "$t" =~ ^[0-9]+$ ]] && echo $(( d * 100 / t )); }

run=$(salvectl run md-steps) || vm_fail "salvectl run md-steps"
vm_wait "step sync running" 20 step_is sync running
vm_wait "$md out of read-auto" 20 sh -c "[ \"\$(cat /sys/block/$md/md/array_state)\" != read-auto ]"
step_is sync running || vm_fail "step sync $(step sync .state) once the resync runs"
vm_wait_md "$md" sync_action resync 20
unit="salve-$run-sync-1-readwrite.service"
vm_wait "$unit in the journal" 20 sh -c "journalctl -u $unit -o cat | grep -q ."
vm_ok "raid.wait-sync started the pending resync itself ($unit; array_state $(vm_md "$md" array_state)), and waits"

# progress: the lead's plumbing (steps[].progress in the run JSON) may be absent from this build
have_progress=0
strings "$(command -v salvectl)" | grep -q -x progress && have_progress=1
seen=() restarted=0
end=$(( $(vm_now_ms) + 120000 ))
t_running=0
while :; do
    t_st=$(vm_now_ms)
    st=$(step sync .state)
    act=$(vm_md "$md" sync_action)         # read after the step: a step done before md is, is caught
    # the resync's end: idle, or already the check the next step starts
    [[ "$act" != resync ]] && break
    [[ "$st" == running ]] || vm_fail "step sync is $st while md still reads $act ($(vm_md "$md" sync_completed))"
    t_running=$t_st                        # the step still ran then, and md resynced after it
    (( $(vm_now_ms) < end )) || vm_fail "the resync did not end in 120 s"
    # one read: percent and text of the same report
    pr=$(step sync 'select(.progress.percent != null) | "\(.progress.percent) \(.progress.text)"' 2>/dev/null || true)
    p=${pr%% *} txt=${pr#* }
    if [[ -n "$pr" && ( ${#seen[@]} -eq 0 || "$p" != "${seen[-1]}" ) ]]; then
        seen+=("$p")
        echo "# progress $p: $txt (sync_completed $(vm_md "$md" sync_completed))"
        [[ "$txt" == "$md: resync "* ]] || vm_fail "progress text '$txt'"
    fi
    pct=$(md_pct || echo 0)
    if (( !restarted && pct >= 40 )); then
        systemctl restart salved || vm_fail "salved did not restart"
        restarted=1
        step_is sync running || vm_fail "after the restart step sync is $(step sync .state)"
        vm_ok "salved restarted mid-resync (at $pct%): step sync is running again"
    fi
    sleep 0.3
done
[[ $(vm_md "$md" resync_start) == none ]] || vm_fail "md reads $act with resync_start $(vm_md "$md" resync_start)"
(( restarted )) || vm_fail "the resync ended before salved could be restarted during it"
if (( have_progress )); then
    (( ${#seen[@]} >= 3 )) || vm_fail "only ${#seen[@]} progress figures seen (${seen[*]})"
    [[ "$(printf '%s\n' "${seen[@]}" | sort -g | tr '\n' ' ')" == "$(printf '%s\n' "${seen[@]}" | tr '\n' ' ')" ]] \
        || vm_fail "progress went back: ${seen[*]}"
    vm_ok "progress from sync_completed: ${#seen[@]} rising figures: ${seen[*]}"
else
    echo "# this salvectl shows no step progress: not asserted"
fi
echo 2000 >/proc/sys/dev/raid/speed_limit_max           # the check: a few seconds

vm_wait "step sync done" 60 step_not sync running
step_is sync succeeded || vm_fail "step sync $(step sync .state): $(step sync .message)"
[[ $(vm_md "$md" resync_start) == none ]] || vm_fail "step sync succeeded with resync_start $(vm_md "$md" resync_start)"
fin=$(( $(step sync .finished_usec) / 1000 ))
# It was seen running, md resyncing after that, at t_running (when this
# loop, a few salvectl calls a round and slow under TCG, saw md idle can be
# a second or more after md was: no bound from that side).
(( fin >= t_running )) || vm_fail "step sync finished at ${fin} ms, before ${t_running} ms, when it still ran"
vm_ok "raid.wait-sync succeeded once md was in sync: \"$(step sync .message)\""

saw_check=0
end=$(( $(vm_now_ms) + 120000 ))
while [[ $(status | jq -r .state) == running ]]; do
    (( $(vm_now_ms) < end )) || vm_fail "the run did not end"
    [[ $(vm_md "$md" sync_action) == check ]] && saw_check=1
    sleep 0.2
done
(( saw_check )) || vm_fail "sync_action never read check while step check ran"
[[ $(status | jq -r .state) == succeeded ]] || vm_fail "run $(status | jq -r .state): $(step check .message)"
msg=$(step check .message)
[[ "$msg" == "$md: check done, 0 mismatched sectors (max-mismatch 0)" ]] || vm_fail "step check: $msg"
vm_ok "raid.check ran a check on $md and passed: \"$msg\""
journalctl -u salved -o cat >"$VM_JOB/salved.journal" 2>/dev/null || true

# ---- 3. a mismatch above the bound fails the check ----
echo 0 >/sys/module/md_mod/parameters/start_ro
echo 100000 >/proc/sys/dev/raid/speed_limit_max
off=$(mdadm --examine "$d2" | sed -n 's/^ *Data Offset : \([0-9]*\) sectors.*/\1/p')
[[ "$off" =~ ^[0-9]+$ ]] || vm_fail "no data offset in mdadm --examine $d2"
dd if=/dev/urandom of="/dev/$md" bs=1M count=4 oflag=direct status=none || vm_fail "dd to $md"
mdadm --stop "/dev/$md" >/dev/null 2>&1 || vm_fail "mdadm --stop $md (2)"
vm_wait "$md gone" 10 test ! -e "/sys/block/$md/md"
# 1 MiB of zeros 1 MiB into the second member's data; its close wakes udev,
# which may assemble the array again by itself
dd if=/dev/zero of="$d2" bs=512 seek=$((off + 2048)) count=2048 conv=notrunc oflag=direct status=none \
    || vm_fail "dd to $d2"
udevadm settle -t 20 || true
md_name >/dev/null || mdadm --assemble /dev/md/steps "$d1" "$d2" >/dev/null 2>&1 || true
wait_assembled "md/steps assembled again"
vm_wait "$md running" 20 sh -c "[ \"\$(cat /sys/block/$md/md/array_state)\" != inactive ]"
vm_ok "md/steps ($md) assembled again with 1 MiB of ${d2##*/}'s data zeroed behind md's back"

run=$(salvectl run md-steps) || vm_fail "salvectl run md-steps (2)"
vm_wait "the second run to end" 120 run_not running
step_is sync succeeded || vm_fail "step sync (2) $(step sync .state): $(step sync .message)"
mm=$(vm_md "$md" mismatch_cnt)
(( mm > 0 )) || vm_fail "mismatch_cnt $mm after a check of a corrupted member"
step_is check failed || vm_fail "step check (2) $(step check .state): $(step check .message)"
msg=$(step check .message)
[[ "$msg" == "$md: check found $mm mismatched sectors, more than max-mismatch 0" ]] || vm_fail "step check (2): $msg"
vm_ok "in sync at once, then raid.check failed: \"$msg\""
journalctl -u salved -o cat >"$VM_JOB/salved.journal" 2>/dev/null || true
mdadm --stop "/dev/$md" >/dev/null 2>&1
vm_done
