#!/bin/bash
# tests/vm/test-storage-powercut.sh - issue 9's end-to-end test in the md VM:
# a real md RAID1 with ext4 loses power mid-resync while the filesystem is
# written; at the next boot salve must keep db and app held, start and wait
# for the pending resync, fsck and mount the filesystem, wait for the DBA
# (approved with salvectl), start db, then app
# (tests/vm/guest/storage-powercut-1.sh, -2.sh; the plan is
# tests/vm/guest/data/storage-recovery-vm.yaml).
#
# Two boots of tests/vm/run.sh on the same three disks: d1, d2 the RAID1,
# d3 salved's state directory (/var/lib/salve: boot-state and the run
# journal must survive the power cut; the VM's root is new at every boot).
# salve is installed into the root before systemd starts (storage-rootfs.sh,
# JOB/rootfs/, copied by tests/vm/init), so its generator, gates and salved
# run from the boot on, as on a real machine.
#
#   tests/vm/test-storage-powercut.sh [--build DIR] [--keep] [-v]
# --build defaults to $SALVE_BUILD_ROOT; the build must be configured with
# --prefix=/usr. Prints "# storage-powercut timings: ..." (the second boot's
# figures, also in boot2/storage-timings.json). Exit: 0 passed, 1 failed,
# 77 skipped (no qemu, no VM kernel, build not for /usr).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${SALVE_BUILD_ROOT:-}
keep=0 extra=()
while (( $# )); do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -v|--verbose) extra+=(-v); shift ;;
        *) echo "test-storage-powercut: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[[ -n "$build" ]] || { echo "test-storage-powercut: --build DIR (or SALVE_BUILD_ROOT) is needed" >&2; exit 2; }
build=$(realpath "$build")
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "SKIP: no qemu-system-x86_64"; exit 77; }
command -v mkfs.ext4 >/dev/null 2>&1 || { echo "SKIP: no mkfs.ext4 (e2fsprogs) for the state disk"; exit 77; }
# shellcheck source=tests/vm/storage-rootfs.sh
. "$here/storage-rootfs.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/salve-storage-powercut.XXXXXX")
rc=0
t0=$(date +%s%3N)
storage_rootfs "$build" "$work/rootfs" --throttle "$here/guest/data/storage-recovery-vm.yaml" || {
    echo "SKIP: cannot install the build for the VM (see above)"
    rm -rf "$work"
    exit 77
}
mkdir -p "$work/disks" "$work/boot1" "$work/boot2"
storage_state_disk "$work/disks/d3.img"
cp -a "$work/rootfs" "$work/boot1/rootfs"
mv "$work/rootfs" "$work/boot2/rootfs"

boot() { # NAME ARGS...
    local name=$1
    shift
    "$here/run.sh" --build "$build" --job "$work/$name" --disk-dir "$work/disks" --disks 3 \
        --disk-size 64M "${extra[@]}" "$@"
}
echo "# storage-powercut: boot 1: RAID1 + ext4 written, power cut mid-resync"
boot boot1 --powercut --timeout 300 "$here/guest/storage-powercut-1.sh" "$STORAGE_MD_UUID" || rc=$?
if (( rc == 0 )); then
    cp "$work/boot1/phase1-sync-completed" "$work/boot2/" 2>/dev/null || true
    echo "# storage-powercut: boot 2: salve brings the storage back, then db and app"
    boot boot2 --phase 2 --timeout 420 "$here/guest/storage-powercut-2.sh" || rc=$?
fi
if [[ -s "$work/boot2/storage-timings.json" ]]; then
    echo "# storage-powercut timings: $(jq -c . "$work/boot2/storage-timings.json")"
fi
echo "# storage-powercut: exit $rc, wall $(( $(date +%s%3N) - t0 )) ms"
if (( rc == 0 && !keep )); then
    rm -rf "$work"
else
    echo "test-storage-powercut: work dir kept: $work (boot1/, boot2/: console.log, guest.out, journal.txt)" >&2
fi
exit "$rc"
