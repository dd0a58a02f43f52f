#!/bin/bash
# The relay on a full disk (a 1 MiB tmpfs for salved's state, as
# test-enospc.sh), in a real systemd container. A notifier that refuses
# (nothing listens on 127.0.0.1:9) makes each attempt a failure to be
# recorded in the outbox; with the disk full that record cannot be
# written. Reported by the metrics work: the entry stayed due and was sent
# again at once, in a hot loop (about 200 "Failed to record a delivery"
# lines a second, salved's CPU pegged). Now the relay backs off while the
# outbox cannot take writes (1 s, doubling to 30 s), says so once, and
# goes on once there is space.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

salve_setup relayenospc$$
salve_boot

cpu_ticks() { rig_exec sh -c 'set -- $(cut -d" " -f14,15 /proc/$(systemctl show -p MainPID --value salved)/stat); echo $(($1 + $2))'; }
lines_since() { # EPOCH: salved's log lines since then (the hot loop logged each failed record)
    rig_exec sh -c "journalctl -q -u salved -o cat --since @$1 | wc -l"
}
attempts() { rig_exec salvectl --json outbox | jq '[.entries[].attempts] | max // 0'; }

rig_exec systemctl stop salved
rig_exec sh -c 'mount -t tmpfs -o size=1m,mode=0700 tmpfs /var/lib/salve'
rig_exec sh -c 'mkdir -p /etc/salve/secrets && printf s3cret > /etc/salve/secrets/nowhere && chmod 0700 /etc/salve/secrets && chmod 0600 /etc/salve/secrets/nowhere'
rig_exec_stdin sh -c 'cat > /etc/salve/relay.yaml' <<'RELAY'
channels:
  nowhere:
    type: webhook
    url: http://127.0.0.1:9/hook
    secret: file:/etc/salve/secrets/nowhere
    timeout: 1s
outbox:
  retry-initial: 200ms
  retry-max: 500ms
RELAY
rig_exec systemctl start salved
rig_wait_for "salved to be active" 20 systemctl is-active -q salved

id=$(rig_exec salvectl run tight-rto)
salve_wait_step "$id" gate waiting 20
rig_wait_for "a notification to be retrying" 10 \
    sh -c "salvectl --json outbox | jq -e '[.entries[] | select(.state == \"retrying\")] | length > 0' >/dev/null"
rig_ok "a notification to the refusing notifier is retrying"

# The disk fills: the next failures cannot be recorded.
rig_exec sh -c 'dd if=/dev/zero of=/var/lib/salve/fill bs=4k 2>/dev/null; sync' || true
sleep 1
t0=$(rig_exec date +%s)
c0=$(cpu_ticks)
sleep 6
c1=$(cpu_ticks)
n=$(lines_since "$t0")
echo "# in 6 s on a full disk: $n lines in salved's log, $((c1 - c0)) CPU ticks (1/100 s)"
check "no hot loop: at most 20 log lines in 6 s (the loop logged 29,997; got $n)" test "$n" -le 20
check "salved idles: under 0.5 s of CPU in 6 s (got $((c1 - c0)) ticks)" test $((c1 - c0)) -lt 50
check "it says the outbox cannot be written, once" \
    test "$(rig_exec sh -c "journalctl -q -u salved -o cat --since @$((t0 - 2)) | grep -c 'outbox cannot record' || true")" -eq 1
check "salved is still active" rig_exec systemctl is-active -q salved

# Space again: attempts are recorded again.
a0=$(attempts)
rig_exec rm -f /var/lib/salve/fill
for _ in $(seq 1 40); do
    [[ $(attempts) -gt $a0 ]] && break
    sleep 1
done
a1=$(attempts)
check "with space, the outbox records attempts again ($a0 -> $a1)" test "$a1" -gt "$a0"
rig_exec salvectl cancel "$id" >/dev/null
rig_exec systemctl stop salved
rig_exec umount /var/lib/salve
rig_done
