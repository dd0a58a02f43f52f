#!/bin/bash
# The container demo: builds salve from scratch, boots a real
# systemd in a container, installs salve there with its units and policy,
# and runs the order database's recovery plan: machine steps run by
# themselves, the plan waits for the DBA's approval, the power is cut
# while it waits, the container boots again and salve picks up where it
# stopped, the DBA approves, and the database and the API start in order.
# Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Installing dependencies"
tools/install-deps.sh

say "Building salve from scratch"
rm -rf build-demo
meson setup build-demo --prefix=/usr >/dev/null
ninja -C build-demo >/dev/null
echo "built $(./build-demo/src/ctl/salvectl --version)"

say "Checking the shipped plans"
./build-demo/src/ctl/salvectl verify plans/ tools/demo/
./build-demo/src/ctl/salvectl -d plans plans 2>/dev/null # the same warnings again
./build-demo/src/ctl/salvectl -d tools/demo show orders-demo

export SALVE_BUILD_ROOT=$root/build-demo SALVE_SOURCE_ROOT=$root
# shellcheck source=tests/integration/salve-lib.sh
source tests/integration/salve-lib.sh
salve_setup demo$$
rm -f "$SALVE_STAGE"/etc/salve/plans.d/*.yaml
cp tools/demo/orders-demo.yaml "$SALVE_STAGE/etc/salve/plans.d/"
chmod 0644 "$SALVE_STAGE/etc/salve/plans.d/orders-demo.yaml"
# The shipped plans (storage-recovery has a boot trigger) come unarmed, so
# the power cut below starts only the demo's own plan.

say "Booting a real systemd in a container and installing salve"
salve_boot
rig_exec systemctl status salved --no-pager --lines=0 | sed -n '1,8p'
rig_exec salvectl plans

say "salvectl run orders-demo"
echo "The raid-sync, fsck and verify-backup steps are stand-ins: exec steps that echo and sleep"
echo "in place of raid.wait-sync, fs.check and backup.verify, which salve does not implement yet."
run=$(rig_exec salvectl run orders-demo --reason "demo: recovery after an unclean shutdown")
echo "started run $run"
salve_wait_step "$run" dba-approval waiting 60
rig_exec journalctl -b -o cat --no-pager _SYSTEMD_UNIT="salve-$run-raid-sync-1.service" \
    _SYSTEMD_UNIT="salve-$run-fsck-1.service" _SYSTEMD_UNIT="salve-$run-verify-backup-1.service" 2>/dev/null |
    grep '^stand-in' | sed 's/^/  /' || true
echo "The plan now waits for the DBA; salvectl status shows what the DBA is asked to do:"
rig_exec salvectl status "$run"

say "Power cut while the plan waits for the DBA"
rig_powercut
echo "container killed (kill -9 of its PID 1); booting it again with the same /var/lib/salve"
salve_boot
rig_exec journalctl -u salved -b -o cat --no-pager | grep -E "replayed|Resuming|previous boot|Run .* started" || true
rig_exec salvectl status

say "The DBA approves"
rig_exec salvectl approve "$run" dba-approval --comment "replication lag 40s, go ahead"
rig_exec timeout 60 salvectl watch "$run" || true

say "Final state"
rig_exec salvectl status "$run"
rig_exec salvectl history
rig_exec systemctl is-active demo-db demo-api | paste -sd' ' | sed 's/^/demo-db, demo-api: /'

say "What salved logged for the run (journalctl SALVE_RUN=$run)"
rig_exec journalctl SALVE_RUN="$run" -b -o cat --no-pager | tail -n 12

rig_poweroff
say "Done: the demo container is gone; nothing was installed on this host but build dependencies."
