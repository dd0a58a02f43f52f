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
targets=()
for src in tests/fuzz/fuzz-*.c; do
    t=${src#tests/fuzz/fuzz-}
    targets+=("${t%.c}")
done
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz-}" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for target in "${targets[@]}"; do
    corpus=$build/corpus-$target
    mkdir -p "$corpus"
    cp -n tests/fuzz/corpus-$target/* "$corpus/" 2>/dev/null || true
    echo "fuzz: $target for ${secs}s"
    (cd "$build" && ./tests/fuzz/fuzz-$target -max_total_time="$secs" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "corpus-$target" 2>&1 | grep -E "^(#|stat::|==|SUMMARY|Done)" | tail -n 8)
    echo "fuzz: $target: no finding"
done
