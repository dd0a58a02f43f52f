#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Smoke test for the integration rig (tests/integration/lib.sh): boots a real
# systemd in a container, runs a unit that writes into the bound state dir,
# checks D-Bus and polkit inside, survives a power cut, powers off cleanly.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

rig_require
rig_init "rig-smoke-$$"

t_start=$(rig_now_ms)
stage=$(rig_tmpdir stage)      # empty installed tree
state=$(rig_tmpdir state)      # becomes /var/lib/salve inside
units=$(rig_tmpdir units)

cat >"$units/rig-hello.service" <<'EOF'
[Unit]
Description=rig smoke test: write a file into the state dir

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo "hello from $(cat /proc/1/comm) boot $(cat /proc/sys/kernel/random/boot_id)" > /var/lib/salve/hello; sync /var/lib/salve/hello'
EOF

echo "# boot 1"
rig_boot "$stage" "$state" "$units"
rig_ok "container booted (PID 1 = $RIG_PID1, $(( $(rig_now_ms) - t_start )) ms)"

[[ "$(rig_exec cat /proc/1/comm)" == systemd ]] || rig_fail "PID 1 inside is not systemd"
rig_ok "PID 1 inside is systemd"

st=$(rig_exec systemctl is-system-running || true)
[[ "$st" == running || "$st" == degraded ]] || rig_fail "system state is '$st'"
rig_ok "system state is $st"

[[ "$(rig_exec systemctl is-active salve-test.target)" == active ]] || rig_fail "salve-test.target not active"
rig_ok "salve-test.target active"

[[ ! -e "$state/hello" ]] || rig_fail "hello file exists before the unit ran"
rig_exec systemctl start rig-hello.service || rig_fail "systemctl start rig-hello.service"
rig_wait_for_host "hello file in state dir" 10 test -s "$state/hello" || rig_fail "hello file not in STATE dir"
grep -q '^hello from systemd' "$state/hello" || rig_fail "unexpected hello content: $(cat "$state/hello")"
rig_ok "oneshot unit wrote into the state dir on the host"

rig_exec busctl --system status org.freedesktop.systemd1 >/dev/null || rig_fail "busctl status systemd1"
rig_exec busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId >/dev/null \
    || rig_fail "busctl call GetId"
rig_ok "container system bus answers"

rig_exec pkcheck --version >/dev/null || rig_fail "pkcheck --version"
# polkitd is not running yet: its bus name is only activatable (so
# `busctl status org.freedesktop.PolicyKit1` fails until something uses it)
rig_exec busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        ListActivatableNames | grep -q '"org.freedesktop.PolicyKit1"' \
    || rig_fail "org.freedesktop.PolicyKit1 is not D-Bus activatable"
rig_exec busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        StartServiceByName su org.freedesktop.PolicyKit1 0 >/dev/null \
    || rig_fail "activating org.freedesktop.PolicyKit1 failed"
rig_wait_for "polkit.service active" 10 systemctl is-active -q polkit.service || rig_fail "polkit not running"
rig_exec busctl status org.freedesktop.PolicyKit1 >/dev/null || rig_fail "busctl status PolicyKit1"
rig_ok "polkit is D-Bus activatable and running"

# root is allowed; an unprivileged user outside any session is refused.
rig_exec sh -c 'pkcheck --action-id org.freedesktop.systemd1.manage-units --process $$' \
    || rig_fail "pkcheck refused root"
rig_ok "polkit allows root"
if rig_exec_as rigtest sh -c 'pkcheck --action-id org.freedesktop.systemd1.manage-units --process $$' 2>/dev/null; then
    rig_fail "polkit allowed an unprivileged user"
fi
[[ "$(rig_exec_as rigtest id -u)" != 0 ]] || rig_fail "rig_exec_as ran as root"
rig_ok "polkit refuses unprivileged user (pkcheck)"
if out=$(rig_exec_as rigtest busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.systemd1.Manager StartUnit ss rig-hello.service replace 2>&1); then
    rig_fail "unprivileged StartUnit was allowed"
fi
case "$out" in
    *"Interactive authentication required"*|*"Access denied"*) ;;
    *) rig_fail "unexpected StartUnit refusal: $out" ;;
esac
rig_ok "polkit refuses unprivileged user (D-Bus StartUnit: ${out#Call failed: })"

rig_exec touch /etc/rig-volatile-marker
echo "# power cut"
old_pid1=$RIG_PID1
old_nspawn=$RIG_NSPAWN_PID
rig_powercut
! _rig_pid_alive "$old_pid1" || rig_fail "PID 1 survived the power cut"
! _rig_pid_alive "$old_nspawn" || rig_fail "systemd-nspawn survived the power cut"
rig_ok "power cut killed the container"

echo "# boot 2 (same state dir)"
rig_boot "$stage" "$state" "$units"
rig_ok "container booted again (PID 1 = $RIG_PID1)"
[[ -s "$state/hello" ]] || rig_fail "hello file lost on the host"
rig_exec test -s /var/lib/salve/hello || rig_fail "hello file not visible inside after reboot"
rig_ok "state dir survived the power cut"
rig_exec test ! -e /etc/rig-volatile-marker || rig_fail "/etc changes survived a reboot"
rig_ok "/etc overlay is fresh on each boot"
[[ "$(rig_exec systemctl is-active rig-hello.service || true)" == inactive ]] \
    || rig_fail "rig-hello.service unexpectedly active after reboot"
rig_ok "units start fresh after reboot"

rig_journal -b -u salve-test.target -q --no-hostname >/dev/null || rig_fail "journalctl inside"
rig_ok "journal readable inside"

echo "# power off"
nspawn=$RIG_NSPAWN_PID
pid1=$RIG_PID1
t_off=$(rig_now_ms)
rig_poweroff || rig_fail "clean poweroff"
! _rig_pid_alive "$pid1" || rig_fail "PID 1 still alive after poweroff"
! _rig_pid_alive "$nspawn" || rig_fail "systemd-nspawn still alive after poweroff"
grep -q 'Powering off' "$RIG_CONSOLE" 2>/dev/null || rig_fail "no 'Powering off' on the console"
rig_ok "clean poweroff ($(( $(rig_now_ms) - t_off )) ms)"

echo "# total $(( $(rig_now_ms) - t_start )) ms"
rig_done
