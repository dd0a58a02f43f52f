#!/bin/bash
# bench-gate.sh BUILD: the cost of holds on every boot and daemon-reload.
#   generator: salve-generator's wall time with 100 plans (1-3 holds each),
#              median and max of 50 runs, against the 10 ms target.
#   release:   in a real systemd container (the integration rig), 20 held
#              units with their start jobs waiting behind gates, salved
#              masked: from writing /run/salve/gates/ready (the stand-in for
#              salved's decision) to the last of the 20 gates active; and
#              the extra wall time of `systemctl start` of a held, released
#              unit (its gate starts first) over an ungated one. Needs root
#              and the rig's tools; skipped otherwise.
set -euo pipefail
build=${1:?usage: bench-gate.sh BUILD}
gen=$build/src/salve-generator
[[ -x $gen ]] || { echo "no $gen: build first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/plans" "$work/out"
for i in $(seq 1 100); do
    n=$(( i % 3 + 1 )) holds=""
    for j in $(seq 1 $n); do holds+="${holds:+, }app$(( (i * 7 + j) % 150 )).service"; done
    cat >"$work/plans/p$i.yaml" <<PLAN
plan: p$i
description: benchmark plan $i
trigger: [manual]
holds: [$holds]
steps:
  - id: stop
    run: unit.stop
    with: {unit: app$i.service}
    timeout: 1m
  - id: wait
    needs: [stop]
    run: wait
    with: {unit: app$i.service, state: inactive}
    timeout: 1m
  - id: start
    needs: [wait]
    run: unit.start
    with: {unit: app$i.service}
    timeout: 1m
PLAN
done
mkdir -p "$work/none"
# run DIR: 50 runs of the generator on the plans in DIR; prints "median min max" in µs
run() {
    local times=() r t0 t1 sorted
    for r in $(seq 1 50); do
        rm -rf "$work/out"; mkdir "$work/out"
        t0=$(date +%s%N)
        SALVE_PLAN_DIRS=$1 "$gen" "$work/out" "$work/out" "$work/out"
        t1=$(date +%s%N)
        times+=($(( (t1 - t0) / 1000 )))
    done
    sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    echo "$(sed -n 25p <<<"$sorted") $(head -n1 <<<"$sorted") $(tail -n1 <<<"$sorted")"
}
ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
read -r e_med e_min e_max < <(run "$work/none")
read -r med min max < <(run "$work/plans")
drop=$(find "$work/out" -name '50-salve-hold.conf' | wc -l)
echo "generator, no plans (process start, as measured here): median $(ms "$e_med") ms (min $(ms "$e_min"), max $(ms "$e_max"))"
echo "generator, 100 plans: median $(ms "$med") ms (min $(ms "$min"), max $(ms "$max"); 50 runs, $drop drop-ins; target 10 ms)"
echo "generator, 100 plans less process start: $(ms $((med - e_med))) ms"
# CPU time is what a loaded machine does not blur (perf stat, 50 runs).
if command -v perf >/dev/null; then
    cpu() { SALVE_PLAN_DIRS=$1 perf stat -r 50 -x, -e task-clock "$gen" "$work/out" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}'; }
    mkdir -p "$work/out"
    echo "generator CPU (task-clock, mean of 50): no plans $(cpu "$work/none") ms, 100 plans $(cpu "$work/plans") ms"
fi

# ---- the release cost, in a container ----
if [[ $(id -u) -ne 0 ]] || ! command -v systemd-nspawn >/dev/null; then
    echo "release: skipped (needs root and systemd-nspawn)"
    exit 0
fi
rm -rf "$work/out"
export SALVE_BUILD_ROOT=$(cd "$build" && pwd) RIG_NO_DUMP=1
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/../tests/integration/salve-lib.sh"
salve_setup benchgate$$
rm -f "$SALVE_STAGE"/etc/salve/plans.d/*.yaml
holds=""
for i in $(seq 1 20); do
    holds+="${holds:+, }bh$i.service"
    printf '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n' >"$SALVE_UNITS/bh$i.service"
done
printf '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n' >"$SALVE_UNITS/bplain.service"
printf 'plan: bench-holds\ntrigger: [manual]\nholds: [%s]\nsteps:\n  - id: s\n    run: unit.start\n    with: {unit: bh1.service}\n' \
    "$holds" >"$SALVE_STAGE/etc/salve/plans.d/bench.yaml"
chmod 0644 "$SALVE_STAGE/etc/salve/plans.d/bench.yaml"
rig_boot "$SALVE_STAGE" "$SALVE_STATE" "$SALVE_UNITS" >/dev/null
rig_exec systemctl mask --runtime salved.service >/dev/null 2>&1
rig_exec systemctl daemon-reload
units=$(seq -f 'bh%g.service' 1 20 | tr '\n' ' ')
gates=$(seq -f 'salve-gate@bh%g.service.service' 1 20 | tr '\n' ' ')
# shellcheck disable=SC2086
rig_exec systemctl start --no-block $units
rig_wait_for "20 gates waiting" 10 sh -c "[ \$(systemctl list-jobs --no-legend | grep -c 'salve-gate@bh') -eq 20 ]"
t_ready=$(rig_exec python3 -c "import time; open('/run/salve/gates/ready', 'w').close(); print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)")
# shellcheck disable=SC2086
rig_wait_for "20 units active" 10 systemctl is-active -q $units
# shellcheck disable=SC2086
last_gate=$(rig_exec systemctl show -p ActiveEnterTimestampMonotonic --value $gates | sort -n | tail -n1)
# shellcheck disable=SC2086
last_unit=$(rig_exec systemctl show -p ActiveEnterTimestampMonotonic --value $units | sort -n | tail -n1)
echo "release: ready written to the last of 20 gates active: $(ms $((last_gate - t_ready))) ms; to the last held unit active: $(ms $((last_unit - t_ready))) ms"

# start_ms UNIT: wall time of `systemctl start UNIT` inside, in µs (median of 11)
start_us() {
    local t=() i
    for i in $(seq 1 11); do
        rig_exec systemctl stop "$@" >/dev/null
        t+=("$(rig_exec sh -c 'a=$(date +%s%N); systemctl start "$0"; b=$(date +%s%N); echo $(( (b - a) / 1000 ))' "$1")")
    done
    printf '%s\n' "${t[@]}" | sort -n | sed -n 6p
}
plain=$(start_us bplain.service)
held=$(start_us bh1.service salve-gate@bh1.service.service)
echo "release: systemctl start of an ungated unit $(ms "$plain") ms, of a released held unit (gate and unit) $(ms "$held") ms: $(ms $((held - plain))) ms more (medians of 11)"
rig_poweroff
