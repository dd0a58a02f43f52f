#!/bin/bash
# tests/vm/run-md-tests.sh - the md watcher on a real RAID1, in the md VM.
#
#   tests/vm/run-md-tests.sh [--build DIR] [--keep] [-v] [--ci | --all | SCENARIO...]
#
# Scenarios (each boots the VM, tests/vm/run.sh; guest scripts in guest/):
#   basic     new RAID1 => resync-started, resync-finished; mdadm --fail =>
#             disk-failed, degraded                               (1 boot)
#   check     a member corrupted behind md's back, check => check-mismatch
#             with mismatch_cnt; repair + clean check => nothing   (1 boot)
#   powercut  power cut mid-resync; the next boot's array is read-auto with
#             resync=PENDING => resync-pending at the watcher's initial
#             enumeration; --readwrite => resync-started, -finished (2 boots)
#   bench     sync_action idle -> watcher prints resync-finished (prints a
#             "bench md-resync-finished" line)                    (1 boot)
#   salved    salved itself, installed in the VM, starts plans on resync-started,
#             resync-finished, disk-failed, degraded; not again after its
#             restart (tests/vm/test-md-salved.sh)                (1 boot)
#   steps     salved runs raid.wait-sync on a resync left pending (read-auto,
#             as after a power cut): the step starts it, shows progress,
#             survives a restart of salved, succeeds once in sync; then
#             raid.check passes, and fails once a member is corrupted
#             (guest/md-steps.sh)                                 (1 boot)
#   storage   issue 9's end to end: power cut mid-resync with ext4 written;
#             at the next boot salve holds db and app, waits for the resync,
#             fscks, mounts, waits for the DBA, starts db, then app
#             (tests/vm/test-storage-powercut.sh)                 (2 boots)
#   lvm       snapshot steps with the lvm backend: classic (COW) and thin
#             snapshots of LVs on a virtio disk, idempotent by name, keep:
#             retention (guest/lvm-snapshot.sh)                   (1 boot)
# --ci runs basic, salved and storage (the meson test 'md-vm'); --all (the default) runs
# all eight.
# --build defaults to $SALVE_BUILD_ROOT (meson test sets it); the build must
# have tests/integration/watch-driver.  --keep keeps the work dir (job dirs
# with console.log, guest.out, watch.jsonl, dmesg.txt); it is kept anyway
# when a scenario fails.  Exit: 0 all passed, 1 one failed, 77 skipped
# (no qemu, no VM kernel, or no md watcher in this build).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${SALVE_BUILD_ROOT:-}
keep=0 verbose=()
scenarios=()
while (( $# )); do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -v|--verbose) verbose=(-v); shift ;;
        --ci) scenarios+=(basic salved storage); shift ;;
        --all) scenarios+=(basic check powercut bench salved steps storage lvm); shift ;;
        basic|check|powercut|bench|salved|steps|storage|lvm) scenarios+=("$1"); shift ;;
        -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
        *) echo "run-md-tests: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
(( ${#scenarios[@]} )) || scenarios=(basic check powercut bench salved steps storage lvm)
[[ -n "$build" ]] || { echo "run-md-tests: --build DIR (or SALVE_BUILD_ROOT) is needed" >&2; exit 2; }
build=$(realpath "$build")
if [[ ! -x "$build/tests/integration/watch-driver" ]]; then
    echo "SKIP: no $build/tests/integration/watch-driver (configure with -Dtests=enabled)"
    exit 77
fi
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "SKIP: qemu-system-x86_64 not found (package qemu-system-x86; tools/install-deps.sh)"
    exit 77
fi
t=$(date +%s%3N)
set +e
"$here/build.sh" >/dev/null
rc=$?
set -e
if (( rc == 77 )); then
    echo "SKIP: no VM kernel here (tests/vm/build.sh said why above)"
    exit 77
fi
(( rc == 0 )) || { echo "run-md-tests: tests/vm/build.sh failed ($rc)"; exit 1; }
echo "# VM kernel and initramfs ready ($(( $(date +%s%3N) - t )) ms)"

work=$(mktemp -d "${TMPDIR:-/tmp}/salve-vm-tests.XXXXXX")
failed=0 skipped=0 passed=0
finish() {
    if (( keep || failed )); then
        echo "# work dir kept: $work"
    else
        rm -rf "$work"
    fi
}
trap finish EXIT

vm() { # NAME ARGS... : one run.sh boot, its job dir $work/NAME
    local name=$1
    shift
    "$here/run.sh" --build "$build" --job "$work/$name" --disk-dir "$work/disks-${name%%-*}" \
        "${verbose[@]}" "$@"
}

scenario() { # NAME: run it, print its wall time; sets failed/skipped/passed
    local s=$1 t0 rc=0
    t0=$(date +%s%3N)
    echo "# scenario $s"
    case "$s" in
        basic) vm basic --disk-size 32M "$here/guest/md-basic.sh" || rc=$? ;;
        check) vm check --disk-size 32M "$here/guest/md-check.sh" || rc=$? ;;
        powercut)
            vm powercut-1 --disk-size 64M --powercut "$here/guest/md-powercut-1.sh" || rc=$?
            if (( rc == 0 )); then
                mkdir -p "$work/powercut-2"
                cp "$work/powercut-1/phase1-sync-completed" "$work/powercut-2/" 2>/dev/null || true
                vm powercut-2 --phase 2 "$here/guest/md-powercut-2.sh" || rc=$?
            fi
            ;;
        bench) vm bench --disk-size 16M "$here/guest/md-bench.sh" 5 || rc=$? ;;
        salved) "$here/test-md-salved.sh" --build "$build" "${verbose[@]}" || rc=$? ;;
        steps)  # salve installed from a stage in the job dir, as test-md-salved.sh does
            if meson install -C "$build" --destdir "$work/steps/stage" --no-rebuild --quiet >/dev/null \
                && [[ -x "$work/steps/stage/usr/libexec/salved" ]]; then
                vm steps --disk-size 16M --timeout 420 "$here/guest/md-steps.sh" || rc=$?
            else
                echo "SKIP: cannot stage the build (meson install, --prefix=/usr)"
                rc=77
            fi
            ;;
        storage) "$here/test-storage-powercut.sh" --build "$build" "${verbose[@]}" || rc=$? ;;
        lvm) vm lvm --disks 1 --disk-size 128M "$here/guest/lvm-snapshot.sh" || rc=$? ;;
    esac
    local ms=$(( $(date +%s%3N) - t0 ))
    case "$rc" in
        0) passed=$((passed + 1)); echo "# scenario $s: PASS ($ms ms)" ;;
        77) skipped=$((skipped + 1)); echo "# scenario $s: SKIP ($ms ms)" ;;
        *) failed=$((failed + 1)); echo "# scenario $s: FAIL, exit $rc ($ms ms): job dirs in $work" ;;
    esac
}

for s in "${scenarios[@]}"; do
    scenario "$s"
done
echo "# md VM scenarios: $passed passed, $failed failed, $skipped skipped ($(( $(date +%s%3N) - t )) ms)"
(( failed == 0 )) || exit 1
(( passed > 0 )) || exit 77
exit 0
