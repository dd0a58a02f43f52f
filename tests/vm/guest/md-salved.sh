#!/bin/bash
# Guest script (tests/vm/run.sh, 2 disks; tests/vm/test-md-salved.sh sets up
# the job dir): salved itself, installed from the stage in the job dir,
# starts plans from real md events on a real RAID1:
#   resync-started and resync-finished of a new array, disk-failed (with
#   ${trigger.disk}) and degraded after mdadm --fail; and after a restart
#   of salved the still-degraded array starts nothing again (the journal
#   shows a run handled it).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

d1=$(vm_disk 1) d2=$(vm_disk 2)
[[ -b "$d1" && -b "$d2" ]] || vm_fail "virtio disks not found ($d1, $d2)"
[[ -d "$VM_JOB/stage/usr" ]] || vm_fail "no salve stage in the job dir ($VM_JOB/stage)"

# salve, as `meson install` would have put it there (on Debian 12 /lib is /usr/lib)
for d in usr etc var; do
    [[ -d "$VM_JOB/stage/$d" ]] && { cp -a "$VM_JOB/stage/$d/." "/$d/" || vm_fail "installing the stage's /$d"; }
done
[[ -d "$VM_JOB/stage/lib" ]] && { cp -a "$VM_JOB/stage/lib/." /usr/lib/ || vm_fail "installing the stage's /lib"; }
mkdir -p /etc/salve/plans.d
# The shipped examples also name md0 and md1; this test wants only its own plan.
for p in /usr/lib/salve/plans.d/*.yaml; do ln -sf /dev/null "/etc/salve/plans.d/${p##*/}"; done
cat >/etc/salve/plans.d/md-react.yaml <<'PLAN'
plan: md-react
trigger:
  - raid: {array: "*", event: resync-started}
  - raid: {array: "*", event: resync-finished}
  - raid: {array: "*", event: disk-failed}
  - raid: {array: "*", event: degraded}
trigger-limit: {burst: 0}
steps:
  - id: note
    run: exec
    with: {command: [/bin/sh, -c, "echo ${trigger.array} ${trigger.event} ${trigger.disk} >> /run/md-react.log"]}
PLAN
chmod 0644 /etc/salve/plans.d/md-react.yaml
systemctl daemon-reload
busctl call org.freedesktop.DBus / org.freedesktop.DBus ReloadConfig >/dev/null 2>&1 || true
systemctl start salved || vm_fail "salved did not start: $(journalctl -u salved -o cat | tail -n 5)"
vm_wait "salved to watch md" 30 sh -c 'journalctl -u salved -o cat | grep -q "^Watching md\.$"'
vm_ok "salved runs and watches md"

runs() { salvectl --json history | jq '[.[] | select(.plan == "md-react")] | length'; }
logged() { grep -c -x -- "$1" /run/md-react.log 2>/dev/null || true; }
wait_logged() { vm_wait "$2" "$3" sh -c "grep -q -x -- '$1' /run/md-react.log"; }

echo 100 >/proc/sys/dev/raid/speed_limit_min
echo 100 >/proc/sys/dev/raid/speed_limit_max
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none \
    "$d1" "$d2" || vm_fail "mdadm --create"
vm_wait_md md0 sync_action resync 20
wait_logged "md0 resync-started" "the resync-started run" 60
vm_ok "a new array's resync started a run of md-react, with \${trigger.array}"
(( $(logged "md0 resync-finished") == 0 )) || vm_fail "resync-finished while md resyncs"

echo 1000 >/proc/sys/dev/raid/speed_limit_min
echo 1000000 >/proc/sys/dev/raid/speed_limit_max
vm_wait_md md0 sync_action idle 120
wait_logged "md0 resync-finished" "the resync-finished run" 60
vm_ok "the resync's end started another"

m2=${d2##*/}
mdadm /dev/md0 --fail "$d2" 2>/dev/null || vm_fail "mdadm --fail $d2"
vm_wait_md md0 degraded 1 20
wait_logged "md0 disk-failed $m2" "the disk-failed run" 60
vm_ok "mdadm --fail $d2 started a run that knows the disk: \${trigger.disk} = $m2"
wait_logged "md0 degraded" "the degraded run" 60
vm_ok "and degraded started one"
vm_wait "every run to end" 60 sh -c \
    "salvectl --json history | jq -e '[.[] | select(.plan == \"md-react\" and .state != \"succeeded\")] | length == 0' >/dev/null"
n=$(runs)
(( n == 4 )) || vm_fail "expected 4 runs of md-react, got $n"
vm_ok "4 runs, all succeeded"
journalctl -u salved -o cat >"$VM_JOB/salved.journal" 2>/dev/null || true

systemctl restart salved
vm_wait "salved to say the degraded array was handled" 30 sh -c \
    'journalctl -u salved -o cat | grep -q "md0 degraded, found when salved started: already handled by run"'
sleep 1
(( $(runs) == n )) || vm_fail "a restart of salved started the degraded plan again"
vm_ok "after a restart, the array still degraded starts nothing: a run already handled it"
journalctl -u salved -o cat >"$VM_JOB/salved.journal" 2>/dev/null || true
vm_done
