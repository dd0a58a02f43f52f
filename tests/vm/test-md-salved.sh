#!/bin/bash
# tests/vm/test-md-salved.sh - salved in the md VM: real md events start
# plans (tests/vm/guest/md-salved.sh). Installs the build into a stage in
# the job dir (meson install --destdir), which the guest copies into its
# root, then boots the VM once (tests/vm/run.sh).
#
#   tests/vm/test-md-salved.sh [--build DIR] [--keep] [-v]
# --build defaults to $SALVE_BUILD_ROOT; the build must be configured with
# --prefix=/usr. Exit: the guest's (0 passed, 1 failed), 77 skipped.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${SALVE_BUILD_ROOT:-}
keep=0 extra=()
while (( $# )); do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -v|--verbose) extra+=(-v); shift ;;
        *) echo "test-md-salved: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[[ -n "$build" ]] || { echo "test-md-salved: --build DIR (or SALVE_BUILD_ROOT) is needed" >&2; exit 2; }
build=$(realpath "$build")
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "SKIP: no qemu-system-x86_64"; exit 77; }

job=$(mktemp -d "${TMPDIR:-/tmp}/salve-md-salved.XXXXXX")
rc=0
meson install -C "$build" --destdir "$job/stage" --no-rebuild --quiet >/dev/null \
    || { echo "test-md-salved: meson install into the stage failed" >&2; exit 1; }
[[ -x "$job/stage/usr/libexec/salved" ]] \
    || { echo "SKIP: the build is not configured with --prefix=/usr"; rm -rf "$job"; exit 77; }
"$here/run.sh" --build "$build" --job "$job" --timeout 420 "${extra[@]}" "$here/guest/md-salved.sh" || rc=$?
if (( rc == 0 && !keep )); then
    rm -rf "$job"
else
    echo "test-md-salved: job dir kept: $job (console.log, guest.out, salved.journal)" >&2
fi
exit "$rc"
