# shellcheck shell=bash
# salve's helpers on top of the container rig (lib.sh): stage the build,
# boot a container with salved, and read runs through salvectl.
#
#   salve_setup NAME          rig_init + a stage with the build, the test
#                             plans in /etc/salve/plans.d and test units
#   salve_boot                boot (or boot again) with the same state
#   salve_state RUN           the run's state (running, waiting, ...)
#   salve_step RUN STEP       a step's state
#   salve_wait RUN STATE SEC  wait until the run is in STATE
#   salve_wait_step RUN STEP STATE SEC
#   salve_log FILE            a test log written by exec steps (host side)
#   check DESC CMD...         ok when CMD succeeds, else fail the test

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SALVE_SOURCE_ROOT=${SALVE_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SALVE_BUILD_ROOT=${SALVE_BUILD_ROOT:-$SALVE_SOURCE_ROOT/build}

salve_setup() {
    rig_require
    command -v jq >/dev/null || { echo "SKIP: jq is not installed" >&2; exit 77; }
    rig_init "$1"
    SALVE_STAGE=$(rig_tmpdir stage)
    SALVE_STATE=$(rig_tmpdir state)
    SALVE_LOGS=$(rig_tmpdir logs)
    SALVE_UNITS=$(rig_tmpdir units)

    if ! meson install -C "$SALVE_BUILD_ROOT" --destdir "$SALVE_STAGE" --no-rebuild --quiet >/dev/null; then
        echo "salve: meson install into the stage failed" >&2
        exit 1
    fi
    if [[ ! -x $SALVE_STAGE/usr/libexec/salved ]]; then
        echo "SKIP: the build is not configured with --prefix=/usr (no usr/libexec/salved in the stage)" >&2
        exit 77
    fi
    mkdir -p "$SALVE_STAGE/etc/salve/plans.d"
    cp "$SALVE_SOURCE_ROOT"/tests/data/plans/integration/*.yaml "$SALVE_STAGE/etc/salve/plans.d/"
    chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml

    # Test services that write when they start and stop, so order shows.
    local u
    for u in demo-db demo-api demo-worker; do
        cat >"$SALVE_UNITS/$u.service" <<UNIT
[Unit]
# The crash test restarts these hundreds of times.
StartLimitIntervalSec=0
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo start $u >> /var/lib/salve-test/units.log'
ExecStop=/bin/sh -c 'echo stop $u >> /var/lib/salve-test/units.log'
UNIT
    done
    # Starts once an hour at most: the second start hits the rate limit.
    cat >"$SALVE_UNITS/demo-limited.service" <<UNIT
[Unit]
StartLimitIntervalSec=1h
StartLimitBurst=1
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo start demo-limited >> /var/lib/salve-test/units.log'
UNIT
    RIG_NSPAWN_ARGS+=("--bind=$SALVE_LOGS:/var/lib/salve-test")
}

salve_boot() {
    rig_boot "$SALVE_STAGE" "$SALVE_STATE" "$SALVE_UNITS"
    # The rig installs the stage once systemd is up (its /usr is fresh every
    # boot), so start salved now, as multi-user.target would have.
    rig_exec systemctl start salved
    rig_wait_for "salved to be active" 20 systemctl is-active -q salved
}

salve_json() {
    rig_exec salvectl --json status "$1"
}

salve_state() {
    salve_json "$1" | jq -r .state
}

salve_step() {
    salve_json "$1" | jq -r --arg s "$2" '.steps[] | select(.id == $s) | .state'
}

salve_wait() {
    local run=$1 want=$2 secs=$3
    rig_wait_for "run $run to be $want" "$secs" \
        sh -c "salvectl --json status '$run' | jq -e --arg w '$want' '.state == \$w' >/dev/null"
}

salve_wait_step() {
    local run=$1 step=$2 want=$3 secs=$4
    rig_wait_for "step $step of $run to be $want" "$secs" \
        sh -c "salvectl --json status '$run' | jq -e --arg s '$step' --arg w '$want' \
               '.steps[] | select(.id == \$s) | .state == \$w' >/dev/null"
}

salve_log() {
    cat "$SALVE_LOGS/$1" 2>/dev/null || true
}

salve_count() {
    grep -c -x -- "$2" "$SALVE_LOGS/$1" 2>/dev/null || true
}

# check DESC CMD...: one TAP line, ok when CMD succeeds; a failure ends the test.
check() {
    local desc=$1
    shift
    if "$@"; then rig_ok "$desc"; else rig_fail "$desc"; fi
}
