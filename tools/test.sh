#!/bin/bash
# The whole test suite, from scratch, on a Debian 12 machine (as root):
# installs what it needs, builds with -Werror, runs the unit tests, the
# integration tests in real systemd containers (including the crash
# test), the unit tests again under ASan+UBSan, the fuzz targets for a
# bounded time, builds and lints the Debian package and installs,
# upgrades and purges it in a debootstrapped Debian 12 container
# (tests/package/test-package.sh), and verifies the shipped plans. Ends with one line
# "N passed, N failed, N skipped".
#   SALVE_FUZZ_SECONDS   seconds per fuzz target (default 20; every tests/fuzz/fuzz-*.c: 14 targets, so CI stays under 30 minutes; tools/fuzz.sh 300 for a longer run)
set -uo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C.UTF-8

passed=0 failed=0 skipped=0
failures=()
step() { echo; echo "==== $*"; }
record() { # NAME STATUS
    if [[ $2 == 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}
count_meson() { # BUILD_DIR: adds meson's results from its test log
    local log=$1/meson-logs/testlog.json
    [[ -f $log ]] || { failed=$((failed + 1)); failures+=("$1: no test log"); return; }
    passed=$((passed + $(jq -s '[.[] | select(.result == "OK")] | length' "$log")))
    skipped=$((skipped + $(jq -s '[.[] | select(.result == "SKIP")] | length' "$log")))
    local t
    while IFS= read -r t; do
        failed=$((failed + 1))
        failures+=("$1: $t")
    done < <(jq -r -s '.[] | select(.result != "OK" and .result != "SKIP") | .name' "$log")
}

step "dependencies"
tools/install-deps.sh || { echo "installing dependencies failed"; exit 1; }

step "build (-Werror)"
rm -rf build-test build-test-asan
meson setup build-test --prefix=/usr --werror -Dtests=enabled >/dev/null && ninja -C build-test
build=$?
record "build" $build
if [[ $build == 0 ]]; then
    step "unit and integration tests"
    meson test -C build-test --print-errorlogs --num-processes 2
    count_meson build-test

    step "shipped plans verify"
    ./build-test/src/ctl/salvectl verify plans/
    record "salvectl verify plans/" $?
fi

step "unit tests under ASan + UBSan"
CC=clang meson setup build-test-asan --werror -Dtests=enabled -Db_sanitize=address,undefined \
    -Db_lundef=false >/dev/null && ninja -C build-test-asan
asan=$?
record "ASan+UBSan build" $asan
if [[ $asan == 0 ]]; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-test-asan --suite unit --print-errorlogs
    count_meson build-test-asan
fi

step "Debian package"
tools/package.sh
package=$?
record "Debian package (build, unit suite, lintian, contents)" $package
if [[ $package == 0 ]]; then
    step "Debian package in a Debian 12 container: install, upgrade from 0.1.0 with a run waiting, purge"
    tests/package/test-package.sh build-package/salve_*.deb
    rc=$?
    if [[ $rc == 77 ]]; then skipped=$((skipped + 1)); else record "Debian package install/upgrade/purge" $rc; fi
fi

step "fuzz targets (${SALVE_FUZZ_SECONDS:-20}s each)"
rm -rf build-fuzz
tools/fuzz.sh "${SALVE_FUZZ_SECONDS:-20}"
record "fuzzing" $?

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed == 0 ]]
