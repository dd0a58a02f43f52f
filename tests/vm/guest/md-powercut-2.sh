#!/bin/bash
# Guest script, second boot of the power-cut scenario (the same disks after
# md-powercut-1.sh's power cut mid-resync).  udev assembles the array; md says
# "not clean" but Debian's md_mod start_ro=1 keeps it auto-read-only:
# array_state read-auto, resync=PENDING in /proc/mdstat, sync_action idle,
# resync_start at the checkpoint.  The watcher's first enumeration must
# report resync-pending (initial), not "in sync" and not resync-started; the
# first write (mdadm --readwrite) lets the resync go on => resync-started,
# then resync-finished.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

udevadm settle -t 30
end=$(( $(vm_now_ms) + 30000 ))
until a=$(vm_md_find) && [[ $(vm_md "$a" array_state 2>/dev/null) == read-auto ]]; do
    (( $(vm_now_ms) < end )) || vm_fail "no array came up read-auto after the power cut" \
        "(mdstat: $(tr '\n' ' ' </proc/mdstat))"
    sleep 0.2
done
rs=$(vm_md "$a" resync_start)
[[ $(vm_md "$a" sync_action) == idle ]] || vm_fail "sync_action $(vm_md "$a" sync_action), not idle"
[[ "$rs" =~ ^[0-9]+$ ]] || vm_fail "resync_start '$rs' after a power cut mid-resync"
grep -q 'resync=PENDING' /proc/mdstat || vm_fail "/proc/mdstat shows no resync=PENDING"
dmesg | grep -q "$a: not clean -- starting background reconstruction" \
    || vm_fail "no 'not clean' in the kernel log"
vm_ok "udev assembled $a after the power cut: read-auto, sync_action idle, resync_start $rs," \
    "resync=PENDING (phase 1 was at $(cat "$VM_JOB/phase1-sync-completed" 2>/dev/null))"

vm_watch_start
ev=$(vm_watch_wait "resync-pending of $a" 10 ".name == \"$a\" and .event == \"resync-pending\"")
[[ $(jq -r .initial <<<"$ev") == true ]] || vm_fail "resync-pending not from the initial enumeration: $ev"
vm_ok "watcher: resync-pending $a at its initial enumeration"
n=$(vm_watch_count '.event == "resync-started" or .event == "resync-finished"')
(( n == 0 )) || vm_fail "watcher says the array resyncs or is in sync ($n events) while it is read-auto"
vm_ok "watcher: neither resync-started nor resync-finished while read-auto"

echo 1000000 >/proc/sys/dev/raid/speed_limit_max
mdadm --readwrite "/dev/$a" || vm_fail "mdadm --readwrite"
ev=$(vm_watch_wait "resync-started of $a" 30 ".name == \"$a\" and .event == \"resync-started\"")
[[ $(jq -r .initial <<<"$ev") == false ]] || vm_fail "resync-started marked initial: $ev"
vm_ok "mdadm --readwrite: watcher: resync-started $a"
vm_wait_md "$a" sync_action idle 120
[[ $(vm_md "$a" resync_start) == none ]] || vm_fail "resync_start $(vm_md "$a" resync_start) after the resync"
vm_watch_wait "resync-finished of $a" 30 ".name == \"$a\" and .event == \"resync-finished\"" >/dev/null
vm_ok "resync done (resync_start none): watcher: resync-finished $a"

vm_watch_stop
[[ $(jq -r 'select(.stats != null) | .stats.bad_input' "$VM_WATCH_OUT") == 0 ]] || vm_fail "bad input counted"
mdadm --stop "/dev/$a" >/dev/null 2>&1
vm_done
