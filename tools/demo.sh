#!/bin/bash
# salve's main job, for real (issue 9): a machine whose md RAID1 loses power
# in the middle of a resync while its ext4 is being written. At the next
# boot salve keeps the database and the app that use it from starting,
# brings the storage back first (the pending resync, fsck, mount), waits for
# the DBA's go-ahead, then starts the database, then the app.
#
# It all happens in a VM (qemu, TCG; tests/vm/, docs/testing-md-vm.md) with
# a real Debian kernel, real md and a real systemd as PID 1; salve is
# installed in the VM's root before it boots. The same scenario is the test
# tests/vm/test-storage-powercut.sh. Run as root on Debian 12:
#
#   tools/demo.sh [BUILDDIR]      (default: build-demo, made here)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

build=${1:-}
if [[ -z "$build" ]]; then
    say "Installing dependencies"
    tools/install-deps.sh
    say "Building salve from scratch"
    rm -rf build-demo
    meson setup build-demo --prefix=/usr >/dev/null
    ninja -C build-demo >/dev/null
    build="build-demo"
fi
build=$(realpath "$build")
echo "built $("$build/src/ctl/salvectl" --version)"
plan=tests/vm/guest/data/storage-recovery-vm.yaml

say "The plan: storage-recovery-vm ($plan)"
"$build/src/ctl/salvectl" verify "$plan"
"$build/src/ctl/salvectl" -d "$(dirname "$plan")" show storage-recovery-vm

say "Fetching the VM's kernel (a Debian 12 kernel package, unpacked, not installed)"
tests/vm/build.sh | sed -n 's/^VM_KVER=/kernel /p'

# shellcheck source=tests/vm/storage-rootfs.sh
. tests/vm/storage-rootfs.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/salve-demo-storage.XXXXXX")
trap 'rm -rf "$work"' EXIT
storage_rootfs "$build" "$work/rootfs" --throttle "$plan"
mkdir -p "$work/disks" "$work/boot1" "$work/boot2"
storage_state_disk "$work/disks/d3.img"
cp -a "$work/rootfs" "$work/boot1/rootfs"
mv "$work/rootfs" "$work/boot2/rootfs"

boot() { # JOB ARGS...: one boot, the guest's output as it comes
    local job=$1 rc=0 pid
    shift
    : >"$job/guest.out"
    tests/vm/run.sh --build "$build" --job "$job" --disk-dir "$work/disks" --disks 3 --disk-size 64M \
        "$@" >/dev/null &
    pid=$!
    # tail reads to the end once more after run.sh has exited
    tail -n +1 -F --pid="$pid" "$job/guest.out" 2>/dev/null | sed 's/^/  vm| /'
    wait "$pid" || rc=$?
    return "$rc"
}

t0=$(date +%s)
say "Boot 1: a new RAID1 md0 (no bitmap) resyncs; ext4 on it, mounted, db and app write to it"
echo "salved runs from the boot, with its state on a third disk; db and app start at once:"
echo "this boot does not follow an unclean shutdown, so salve holds nothing."
boot "$work/boot1" --powercut "$root/tests/vm/guest/storage-powercut-1.sh" "$STORAGE_MD_UUID"

say "Power cut: qemu killed with SIGKILL, md0 mid-resync, the filesystem mounted and dirty"

say "Boot 2: the same disks. salve holds db and app, brings the storage back, asks the DBA"
echo "systemd starts db and app at boot as always; their start jobs wait behind salve's gates."
echo "md0 comes up read-auto with its resync pending; the plan's raid.wait-sync starts it, fs.check"
echo "replays the ext4 journal (e2fsck -p), fs.mount mounts it; the DBA approves with salvectl;"
echo "db starts, then app. The test's assertions (ok N) check the order on the timestamps."
boot "$work/boot2" --phase 2 --timeout 420 "$root/tests/vm/guest/storage-powercut-2.sh" --demo
[[ -s "$work/boot2/storage-timings.json" ]] && echo "timings: $(jq -c . "$work/boot2/storage-timings.json")"

say "Done in $(( $(date +%s) - t0 )) s (two boots of a TCG VM); nothing was installed on this host"
