#!/bin/bash
# bench/bench-md-holds.sh - issue 9's figure "md resync finished to the
# held unit's start job", in the md VM (tests/vm/run.sh: real md RAID1, real
# systemd, salve installed before boot by tests/vm/storage-rootfs.sh).
#
#   bench/bench-md-holds.sh BUILDDIR [ROUNDS]      (root; ROUNDS default 5)
#
# One boot: tests/vm/guest/storage-bench.sh runs ROUNDS runs of the plan
# tests/vm/guest/data/storage-holds-bench.yaml (raid.wait-sync on md0, then
# unit.start of the held db.service) on a 16 MiB RAID1 whose resync is made
# pending each round (read-auto, as after a power cut), with a start job for
# db waiting behind its gate. Prints "bench md-holds: ..." (medians of
# sync_action idle -> db's start job); the rounds are in the job dir's
# bench-md-holds.json (kept with --keep, printed path). Exit 77 when the VM
# cannot run here.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:?usage: bench/bench-md-holds.sh BUILDDIR [ROUNDS] [--keep]}
rounds=${2:-5}
keep=0
[[ "${3:-}" == --keep ]] && keep=1
build=$(realpath "$build")
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "SKIP: no qemu-system-x86_64"; exit 77; }
# shellcheck source=tests/vm/storage-rootfs.sh
. "$src/tests/vm/storage-rootfs.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/salve-bench-md-holds.XXXXXX")
storage_rootfs "$build" "$work/job/rootfs" "$src/tests/vm/guest/data/storage-holds-bench.yaml" \
    || { rm -rf "$work"; exit 77; }
mkdir -p "$work/disks"
storage_state_disk "$work/disks/d3.img"
rc=0
t0=$(date +%s%3N)
"$src/tests/vm/run.sh" --build "$build" --job "$work/job" --disk-dir "$work/disks" --disks 3 \
    --disk-size 16M --timeout 600 "$src/tests/vm/guest/storage-bench.sh" "$STORAGE_MD_UUID" "$rounds" || rc=$?
echo "# bench-md-holds: exit $rc, wall $(( $(date +%s%3N) - t0 )) ms"
if (( rc == 0 && !keep )); then
    rm -rf "$work"
else
    echo "# bench-md-holds: work dir kept: $work (job/bench-md-holds.json, console.log, guest.out)"
fi
exit "$rc"
