#!/bin/bash
# A source install with meson's defaults works: `meson setup` with no
# --prefix, then `meson install` (here into a stage with DESTDIR), gives a
# salved that owns org.salve.Manager1 on the system bus, a salvectl that
# lists the shipped plans from /usr/lib/salve/plans.d, and polkit actions
# that polkitd knows. (With /usr/local, the bus policy and the polkit
# actions landed where dbus-daemon and polkitd never look, and salved
# restarted in a loop on "Permission denied".)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

SALVE_SOURCE_ROOT=${SALVE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
check() { # DESC CMD...: ok when CMD succeeds, else fail the test
    local desc=$1
    shift
    if "$@"; then rig_ok "$desc"; else rig_fail "$desc"; fi
}

rig_require
command -v jq >/dev/null || { echo "SKIP: jq is not installed" >&2; exit 77; }
command -v meson >/dev/null || { echo "SKIP: meson is not installed" >&2; exit 77; }
rig_init install$$
build=$(rig_tmpdir build)
stage=$(rig_tmpdir stage)
state=$(rig_tmpdir state)

# Our own build, configured as a newcomer would: no options at all but
# skipping the unit tests (they are not installed and take time to build).
if ! meson setup "$build" "$SALVE_SOURCE_ROOT" -Dtests=disabled >"$build.setup.log" 2>&1 ||
    ! ninja -C "$build" >"$build.ninja.log" 2>&1; then
    cat "$build.setup.log" "$build.ninja.log" 2>/dev/null | tail -n 40 >&2
    rig_fail "default-prefix build"
fi
rig_ok "configured and built with meson's defaults"
prefix=$(meson introspect --buildoptions "$build" | jq -r '.[] | select(.name == "prefix") | .value')
check "the default prefix is /usr (got $prefix)" test "$prefix" = /usr

DESTDIR=$stage meson install -C "$build" --no-rebuild --quiet >/dev/null
for f in usr/libexec/salved usr/bin/salvectl \
    usr/share/dbus-1/system.d/org.salve.Manager1.conf \
    usr/share/dbus-1/system-services/org.salve.Manager1.service \
    usr/share/polkit-1/actions/org.salve.policy \
    usr/lib/salve/plans.d/storage-recovery.yaml \
    usr/libexec/salve-gate \
    usr/share/man/man8/salved.8; do
    check "installs /$f" test -e "$stage/$f"
done
check "installs nothing under /usr/local" test ! -e "$stage/usr/local"
check "installs the unit where systemd reads it" \
    test -n "$(find "$stage" -path '*/systemd/system/salved.service' -print -quit)"
check "installs the gate template where systemd reads it" \
    test -n "$(find "$stage" -path '*/systemd/system/salve-gate@.service' -print -quit)"
check "installs salve-generator where systemd runs generators" \
    test -n "$(find "$stage" -path '*/systemd/system-generators/salve-generator' -perm -u+x -print -quit)"

# No test plans in /etc/salve/plans.d: salvectl must find the shipped ones.
rig_boot "$stage" "$state"
check "salved starts" rig_exec systemctl start salved
rig_wait_for "salved to be active" 20 systemctl is-active -q salved

main=$(rig_exec systemctl show -p MainPID --value salved)
owner=$(rig_exec busctl status --no-pager org.salve.Manager1 | sed -n 's/^PID=//p')
check "salved (PID $main) owns org.salve.Manager1 (owner PID ${owner:-none})" \
    test -n "$owner" -a "$owner" = "$main"
sleep 2
check "salved has not restarted" test "$(rig_exec systemctl show -p NRestarts --value salved)" = 0
check "salvectl status answers over the bus" rig_exec salvectl status

plans=$(rig_exec salvectl --json plans | jq -r '(if type == "array" then . else .plans end)[] | "\(.name) \(.source)"')
for p in storage-recovery dependents-restart raid-disk-replace restart-dependents; do
    check "salvectl plans lists $p from /usr/lib/salve/plans.d" \
        grep -qx -- "$p /usr/lib/salve/plans.d/$p.yaml" <<<"$plans"
done
rig_exec salvectl plans >/dev/null
for p in storage-recovery dependents-restart raid-disk-replace restart-dependents; do
    check "the shipped $p plan is installed not armed" \
        test "$(rig_exec salvectl --json plans | jq -r --arg p "$p" '(if type == "array" then . else .plans end)[] | select(.name == $p) | .armed')" = false
done

actions=$(rig_exec pkaction | grep '^org\.salve\.' || true)
check "polkit knows the org.salve.* actions ($(wc -l <<<"$actions") of them)" test -n "$actions"
for a in run cancel approve manage reload; do
    check "polkit knows org.salve.$a" grep -qx "org.salve.$a" <<<"$actions"
done

rig_poweroff
rig_done
