#!/bin/bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# a bounded time from its seed corpus. Exit status is non-zero on any
# finding; crash inputs are left in the build dir.
#   tools/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
build=build-fuzz
if [[ ! -f $build/build.ninja ]]; then
    CC=clang meson setup "$build" -Dfuzz=true -Dtests=disabled -Db_sanitize=address,undefined \
        -Db_lundef=false --buildtype=debugoptimized >/dev/null
fi
ninja -C "$build" tests/fuzz/fuzz-plan-load tests/fuzz/fuzz-journal-record tests/fuzz/fuzz-journal-file tests/fuzz/fuzz-mdstat \
    tests/fuzz/fuzz-uevent tests/fuzz/fuzz-rtnl-link tests/fuzz/fuzz-unit-state tests/fuzz/fuzz-unit-bus >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for target in plan-load journal-record journal-file mdstat uevent rtnl-link unit-state unit-bus; do
    corpus=$build/corpus-$target
    mkdir -p "$corpus"
    cp -n tests/fuzz/corpus-$target/* "$corpus/" 2>/dev/null || true
    echo "fuzz: $target for ${secs}s"
    (cd "$build" && ./tests/fuzz/fuzz-$target -max_total_time="$secs" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "corpus-$target" 2>&1 | grep -E "^(#|stat::|==|SUMMARY|Done)" | tail -n 8)
    echo "fuzz: $target: no finding"
done
