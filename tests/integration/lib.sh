# shellcheck shell=bash disable=SC2016
# tests/integration/lib.sh - integration test rig for salve.
#
# Boots the host's own root as a throwaway systemd-nspawn container running a
# real systemd (PID 1), with a private boot target, a read-write state dir
# bound at /var/lib/salve and an installed tree ("stage", made by
# `meson install --destdir STAGE`) copied inside.  Sourced by every
# integration test; works under `set -euo pipefail`.
#
# Typical use:
#   . "$(dirname "$0")/lib.sh"
#   rig_require
#   rig_init "mytest-$$"
#   state=$(rig_tmpdir state)
#   rig_boot "$STAGE" "$state"
#   rig_exec systemctl start salved.service
#   rig_wait_for "salved active" 10 systemctl is-active -q salved.service
#   rig_exec_as alice salvectl status   # unprivileged: polkit "allow_any"
#   rig_powercut                        # or rig_poweroff
#
# Functions:
#   rig_require                 skip (exit 77) unless root + tools present
#   rig_init NAME               work dir + cleanup traps (kills containers)
#   rig_tmpdir NAME             make (and print) a dir under the work dir
#   rig_on_exit CMD...          register extra cleanup (run before teardown)
#   rig_boot STAGE STATE [UNITS_DIR]   boot a container, install STAGE inside
#   rig_exec CMD...             run inside as root, stdin closed
#   rig_exec_stdin CMD...       same, but with stdin passed through
#   rig_exec_as USER CMD...     run inside as an unprivileged user (no session)
#   rig_poweroff                clean shutdown, wait for nspawn to exit
#   rig_powercut                kill -9 the container's PID 1, wait until gone
#   rig_running                 true while the current container is alive
#   rig_journal [ARGS...]       journalctl --no-pager ARGS inside
#   rig_dump                    console tail + failed units + journal tail
#   rig_wait_for DESC TIMEOUT CMD...        poll CMD inside every 0.2 s
#   rig_wait_for_host DESC TIMEOUT CMD...   poll CMD on the host every 0.2 s
#   rig_ok MSG / rig_fail MSG   TAP-ish progress; rig_fail exits 1
#   rig_done                    print the "1..N" plan line at the end
#   rig_now_ms                  milliseconds since the epoch (for timings)
#
# Environment knobs:
#   RIG_TMP            parent of the work dir (default $TMPDIR or /tmp)
#   RIG_UNITS_DIR      extra unit files placed beside salve-test.target
#   RIG_BOOT_TIMEOUT   seconds to wait for boot (default 60)
#   RIG_STOP_TIMEOUT   seconds to wait for poweroff (default 30)
#   RIG_NSPAWN_ARGS    bash array of extra systemd-nspawn options
#   RIG_KERNEL_ARGS    extra kernel command line words for the container
#   RIG_KEEP=1         keep the work dir on exit (debugging)
#   RIG_NO_DUMP=1      don't dump console/journal when the test fails
#   RIG_VERBOSE=1      log more
#
# Exported after rig_boot: RIG_PID1 (container's PID 1 as seen from the host),
# RIG_NSPAWN_PID, RIG_MACHINE, RIG_CONSOLE (console log file), RIG_BOOT_DIR.

_rig_log() { echo "rig: $*" >&2; }

# Moves the calling shell into a child cgroup named salve-rig-NAME in every
# cgroup hierarchy it may write to (best effort; nothing happens where it
# may not).
_rig_own_cgroups() {
    local line ctrl path dir
    while IFS= read -r line; do
        ctrl=${line#*:}; path=${ctrl#*:}; ctrl=${ctrl%%:*}
        if [[ -z $ctrl ]]; then dir=/sys/fs/cgroup/unified; else dir=/sys/fs/cgroup/${ctrl#name=}; fi
        [[ -d $dir ]] || continue
        dir=$dir${path%/}/salve-rig-$1
        mkdir -p "$dir" 2>/dev/null && echo $$ >"$dir/cgroup.procs" 2>/dev/null || true
    done </proc/self/cgroup
}
export -f _rig_own_cgroups
_rig_vlog() { [[ "${RIG_VERBOSE:-0}" == 1 ]] && echo "rig: $*" >&2; return 0; }

# Path inside the container; host PATH may differ.
_RIG_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

RIG_WORK=""
RIG_NAME=""
RIG_PID1=""
RIG_NSPAWN_PID=""
RIG_MACHINE=""
RIG_CONSOLE=""
RIG_BOOT_DIR=""
_RIG_BOOTS=0
_RIG_ALL_NSPAWN=()   # every nspawn pid we started
_RIG_ALL_PID1=()     # every container PID 1 we saw (parallel to the above)
_RIG_ALL_PID1_START=()  # and its start time
_RIG_EXIT_HOOKS=()
_RIG_TAIL_SHOWN=""

# ---------------------------------------------------------------- helpers

rig_now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

# True if PID exists and is not a zombie.
_rig_pid_alive() {
    local pid=$1 st
    [[ -n "$pid" && -r "/proc/$pid/stat" ]] || return 1
    st=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

# Start time (clock ticks since boot) of PID, to tell a recycled PID apart.
_rig_starttime() {
    sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
}

# True if PID is alive and a child of NSPAWN_PID (the container's PID 1,
# whatever it is running: "systemd", or "systemd-shutdown" while stopping).
_rig_is_child_of() {
    local pid=$1 ns=$2 ppid
    _rig_pid_alive "$pid" || return 1
    ppid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
    [[ "$ppid" == "$ns" ]]
}

# True if PID is (still) the container's systemd, child of nspawn NSPAWN_PID.
_rig_is_our_pid1() {
    _rig_is_child_of "$1" "$2" && [[ "$(cat "/proc/$1/comm" 2>/dev/null)" == systemd ]]
}

# kill -9 every child of nspawn NSPAWN_PID (that is the container's PID 1,
# or nspawn's helper before PID 1 exists); killing PID 1 ends the container.
_rig_kill_container_of() {
    local ns=$1 c
    [[ "$(cat "/proc/$ns/comm" 2>/dev/null)" == systemd-nspawn ]] || return 0
    for c in $(pgrep -P "$ns" 2>/dev/null); do
        kill -9 "$c" 2>/dev/null || true
    done
}

# Wait up to $2 seconds for PID $1 to exit (or become a zombie); reap it if
# it is our child.
_rig_wait_pid_gone() {
    local pid=$1 timeout=$2 deadline
    deadline=$(( $(rig_now_ms) + timeout * 1000 ))
    while _rig_pid_alive "$pid"; do
        if (( $(rig_now_ms) >= deadline )); then
            return 1
        fi
        sleep 0.1
    done
    wait "$pid" 2>/dev/null || true
    return 0
}

_rig_console_tail() {
    local n=${1:-40}
    if [[ -n "$RIG_CONSOLE" && -f "$RIG_CONSOLE" ]]; then
        _RIG_TAIL_SHOWN=$RIG_CONSOLE
        echo "rig: ---- console log tail ($RIG_CONSOLE) ----" >&2
        # strip ANSI colour codes for readability
        tail -n "$n" "$RIG_CONSOLE" | sed -E 's/\x1b\[[0-9;]*m//g' >&2 || true
        echo "rig: ---- end of console log ----" >&2
    fi
}

_rig_need_container() {
    if ! rig_running; then
        _rig_log "no container is running (call rig_boot first)"
        return 1
    fi
}

# ---------------------------------------------------------------- API

_RIG_NTESTS=0
rig_ok() { _RIG_NTESTS=$((_RIG_NTESTS + 1)); echo "ok $_RIG_NTESTS - $*"; }

rig_fail() {
    _RIG_NTESTS=$((_RIG_NTESTS + 1))
    echo "not ok $_RIG_NTESTS - $*"
    _rig_log "FAILED: $*"
    exit 1
}

# Print the TAP plan line at the end of a test.
rig_done() { echo "1..$_RIG_NTESTS"; }

rig_require() {
    local missing=() t
    if [[ $(id -u) -ne 0 ]]; then
        echo "rig: SKIP: integration tests need root (systemd-nspawn)" >&2
        exit 77
    fi
    for t in systemd-nspawn nsenter setpriv busctl journalctl tar; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if [[ ! -x /usr/lib/systemd/systemd && ! -x /lib/systemd/systemd ]]; then
        missing+=("systemd (/usr/lib/systemd/systemd)")
    fi
    if [[ ! -x /usr/lib/polkit-1/polkitd && ! -x /usr/libexec/polkitd ]]; then
        missing+=("polkitd")
    fi
    command -v pkcheck >/dev/null 2>&1 || missing+=("pkcheck (polkitd)")
    if [[ ! -x /usr/bin/dbus-daemon && ! -x /usr/bin/dbus-broker ]]; then
        missing+=("dbus")
    fi
    if (( ${#missing[@]} )); then
        echo "rig: SKIP: missing prerequisites: ${missing[*]} (run tools/install-deps.sh)" >&2
        exit 77
    fi
    return 0
}

rig_init() {
    local name=${1:?rig_init NAME}
    # machine name must be a valid hostname
    name=$(printf '%s' "$name" | tr -c 'A-Za-z0-9-' '-' | cut -c1-48)
    name=${name#-}
    [[ -n "$name" ]] || { _rig_log "rig_init: bad name '$1'"; return 1; }
    if [[ -n "$RIG_WORK" ]]; then
        _rig_log "rig_init called twice"
        return 1
    fi
    RIG_NAME=$name
    local parent=${RIG_TMP:-${TMPDIR:-/tmp}}
    mkdir -p "$parent"
    RIG_WORK=$(mktemp -d "$parent/salve-rig-$name.XXXXXX")
    export RIG_WORK RIG_NAME
    : >"$RIG_WORK/.rig-containers"
    trap '_rig_exit_trap' EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    _rig_start_watchdog
    _rig_vlog "work dir $RIG_WORK"
}

# A detached watchdog that cleans up if this shell dies without running its
# EXIT trap (SIGKILL, e.g. meson's timeout: SIGTERM to the process group,
# then SIGKILL 0.5 s later).  Containers live in their own session (setsid)
# so a kill of our process group does not reach them; the watchdog does.
_RIG_WATCHDOG_SCRIPT='
me=$1 me_start=$2 work=$3 keep=$4 name=$5
cd /
start_of() { awk "{print \$22}" "/proc/$1/stat" 2>/dev/null | tail -n 1; }
# field 22 assumes no spaces in comm; the test shell is "bash"
while [ "$(start_of "$me")" = "$me_start" ]; do sleep 0.5; done
[ -d "$work" ] || exit 0
if [ -f "$work/.rig-containers" ]; then
    while read -r ns p1 p1s; do
        if [ -n "$p1s" ] && [ "$(sed -E "s/^.*\\) //" /proc/$p1/stat 2>/dev/null | awk "{print \$20}")" = "$p1s" ]; then
            kill -9 "$p1"
        fi
        [ "$(cat /proc/$ns/comm 2>/dev/null)" = systemd-nspawn ] || continue
        for c in $(pgrep -P "$ns"); do kill -9 "$c"; done
        i=0
        while [ -e "/proc/$ns" ] && [ "$(cat /proc/$ns/comm 2>/dev/null)" = systemd-nspawn ] &&
              ! grep -q "^State:.*[ZX]" /proc/$ns/status 2>/dev/null && [ $i -lt 100 ]; do
            sleep 0.1; i=$((i+1))
        done
    done <"$work/.rig-containers"
fi
[ -n "$name" ] && rmdir "/run/systemd/nspawn/propagate/$name" 2>/dev/null
[ "$keep" = 1 ] || rm -rf --one-file-system -- "$work"
'
_RIG_WATCHDOG_PID=""
_RIG_WATCHDOG_START=""

_rig_start_watchdog() {
    local me_start pidfile="$RIG_WORK/.rig-watchdog.pid"
    me_start=$(awk '{print $22}' "/proc/$$/stat")
    setsid bash -c 'echo $$ >"$0"; exec bash -c "$@"' "$pidfile" \
        "$_RIG_WATCHDOG_SCRIPT" rig-watchdog "$$" "$me_start" "$RIG_WORK" "${RIG_KEEP:-0}" "$RIG_NAME" \
        </dev/null >/dev/null 2>&1 &
    local i=0
    while [[ ! -s "$pidfile" && $i -lt 200 ]]; do sleep 0.01; i=$((i + 1)); done
    _RIG_WATCHDOG_PID=$(cat "$pidfile" 2>/dev/null || true)
    [[ -n "$_RIG_WATCHDOG_PID" ]] && _RIG_WATCHDOG_START=$(awk '{print $22}' "/proc/$_RIG_WATCHDOG_PID/stat" 2>/dev/null || true)
    return 0
}

_rig_stop_watchdog() {
    local pid=$_RIG_WATCHDOG_PID
    [[ -n "$pid" && -n "$_RIG_WATCHDOG_START" ]] || return 0
    if [[ "$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null)" == "$_RIG_WATCHDOG_START" ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    _RIG_WATCHDOG_PID=""
}

rig_tmpdir() {
    local name=${1:?rig_tmpdir NAME}
    [[ -n "$RIG_WORK" ]] || { _rig_log "rig_tmpdir before rig_init"; return 1; }
    mkdir -p "$RIG_WORK/$name"
    echo "$RIG_WORK/$name"
}

rig_on_exit() { _RIG_EXIT_HOOKS+=("$*"); }

rig_running() {
    [[ -n "$RIG_PID1" && -n "$RIG_NSPAWN_PID" ]] && _rig_is_our_pid1 "$RIG_PID1" "$RIG_NSPAWN_PID"
}

_rig_exit_trap() {
    local rc=$? h i
    set +e
    trap - EXIT HUP INT TERM
    for h in "${_RIG_EXIT_HOOKS[@]+"${_RIG_EXIT_HOOKS[@]}"}"; do
        eval "$h"
    done
    if [[ $rc -ne 0 && $rc -ne 77 && "${RIG_NO_DUMP:-0}" != 1 && -n "$RIG_CONSOLE" ]]; then
        if rig_running; then
            _rig_log "test exited with status $rc; dumping container state"
            rig_dump
        elif [[ "$_RIG_TAIL_SHOWN" != "$RIG_CONSOLE" ]]; then
            _rig_log "test exited with status $rc"
            _rig_console_tail 50
        fi
    fi
    # kill every container this script started
    for i in "${!_RIG_ALL_NSPAWN[@]}"; do
        local ns=${_RIG_ALL_NSPAWN[$i]} p1=${_RIG_ALL_PID1[$i]:-} p1s=${_RIG_ALL_PID1_START[$i]:-}
        if ! _rig_pid_alive "$ns"; then
            wait "$ns" 2>/dev/null
            # nspawn gone (killed?) but its container may live on
            if [[ -n "$p1" && -n "$p1s" && "$(_rig_starttime "$p1")" == "$p1s" ]] && _rig_pid_alive "$p1"; then
                _rig_log "cleanup: killing orphaned container PID 1 $p1"
                kill -9 "$p1" 2>/dev/null
            fi
            continue
        fi
        if [[ -n "$p1" ]] && _rig_is_child_of "$p1" "$ns"; then
            _rig_log "cleanup: killing container PID 1 $p1"
        fi
        _rig_kill_container_of "$ns"
        # nspawn exits by itself once PID 1 is gone, cleaning up after itself
        if ! _rig_wait_pid_gone "$ns" 10; then
            _rig_kill_container_of "$ns"
            _rig_wait_pid_gone "$ns" 5 || { kill -9 "$ns" 2>/dev/null; _rig_wait_pid_gone "$ns" 2; }
        fi
    done
    # nspawn removes its (empty) propagation dir itself unless it was killed
    [[ -n "$RIG_NAME" ]] && rmdir "/run/systemd/nspawn/propagate/$RIG_NAME" 2>/dev/null
    _rig_stop_watchdog
    if [[ -n "$RIG_WORK" && -d "$RIG_WORK" ]]; then
        if [[ "${RIG_KEEP:-0}" == 1 ]]; then
            _rig_log "keeping work dir $RIG_WORK (RIG_KEEP=1)"
        else
            rm -rf --one-file-system -- "$RIG_WORK"
        fi
    fi
    exit "$rc"
}

_rig_write_target() {
    cat >"$1/salve-test.target" <<'EOF'
[Unit]
Description=salve integration test target
Requires=basic.target
After=basic.target
Wants=dbus.service systemd-logind.service
AllowIsolate=yes
EOF
}

rig_boot() {
    [[ -n "$RIG_WORK" ]] || { _rig_log "rig_boot before rig_init"; return 1; }
    if rig_running; then
        _rig_log "rig_boot: a container is already running (PID 1 $RIG_PID1); power it off first"
        return 1
    fi
    _rig_forget_container
    if _rig_boot "$@"; then
        return 0
    fi
    # don't leave a half-booted container behind
    if [[ -n "$RIG_NSPAWN_PID" ]] && _rig_pid_alive "$RIG_NSPAWN_PID"; then
        _rig_log "rig_boot: killing the half-booted container"
        _rig_kill_container_of "$RIG_NSPAWN_PID"
        _rig_wait_pid_gone "$RIG_NSPAWN_PID" 10 \
            || { kill -9 "$RIG_NSPAWN_PID" 2>/dev/null; _rig_wait_pid_gone "$RIG_NSPAWN_PID" 5 || true; }
    fi
    _rig_forget_container
    return 1
}

_rig_boot() {
    local stage=${1:?rig_boot STAGE STATE [UNITS_DIR]} state=${2:?rig_boot STAGE STATE [UNITS_DIR]}
    local units_src=${3:-${RIG_UNITS_DIR:-}}
    local timeout=${RIG_BOOT_TIMEOUT:-60}
    [[ -d "$stage" ]] || { _rig_log "rig_boot: stage '$stage' is not a directory"; return 1; }
    mkdir -p "$state"
    stage=$(cd "$stage" && pwd -P)
    state=$(cd "$state" && pwd -P)

    _RIG_BOOTS=$((_RIG_BOOTS + 1))
    RIG_BOOT_DIR="$RIG_WORK/boot$_RIG_BOOTS"
    RIG_MACHINE="$RIG_NAME"
    RIG_CONSOLE="$RIG_BOOT_DIR/console.log"
    mkdir -p "$RIG_BOOT_DIR/units" "$RIG_BOOT_DIR/ovl"
    _rig_write_target "$RIG_BOOT_DIR/units"
    if [[ -n "$units_src" ]]; then
        [[ -d "$units_src" ]] || { _rig_log "rig_boot: units dir '$units_src' is not a directory"; return 1; }
        cp -a "$units_src/." "$RIG_BOOT_DIR/units/"
    fi

    # Copy-on-write /etc and /usr with the upper layers in our work dir, so
    # nothing is left in the host's /var/tmp even if nspawn dies hard.
    mkdir -p "$RIG_BOOT_DIR/ovl/etc/upper" "$RIG_BOOT_DIR/ovl/usr/upper"
    local args=(
        -q -D / --volatile=yes --boot --register=no --keep-unit
        --machine="$RIG_MACHINE" --private-network --link-journal=no
        --overlay="/etc:$RIG_BOOT_DIR/ovl/etc/upper:/etc"
        --overlay="/usr:$RIG_BOOT_DIR/ovl/usr/upper:/usr"
        --bind-ro="$stage:/opt/salve-stage"
        --bind="$RIG_BOOT_DIR/units:/run/systemd/system"
        --bind="$state:/var/lib/salve"
    )
    if [[ -n "${RIG_NSPAWN_ARGS+set}" ]]; then
        args+=("${RIG_NSPAWN_ARGS[@]}")
    fi
    local kargs=(systemd.unit=salve-test.target systemd.firstboot=off)
    # shellcheck disable=SC2206
    [[ -n "${RIG_KERNEL_ARGS:-}" ]] && kargs+=(${RIG_KERNEL_ARGS})

    local t0 pidfile="$RIG_BOOT_DIR/nspawn.pid"
    t0=$(rig_now_ms)
    _rig_vlog "booting $RIG_MACHINE: systemd-nspawn ${args[*]} -- ${kargs[*]}"
    # setsid: keep terminal signals (^C) away from nspawn; the inner shell
    # records its pid and execs nspawn, so the pidfile is nspawn's pid even
    # if setsid had to fork.
    # Each container gets cgroups of its own: on a cgroup v1 host without
    # systemd, containers started from the same cgroup would all build
    # their /system.slice/... in one shared tree, and two at once (parallel
    # test sessions) remove each other's unit cgroups ("Failed to attach to
    # cgroup", EIO on kill).
    setsid bash -c 'echo $$ >"$0"; _rig_own_cgroups "$1"; shift; exec systemd-nspawn "$@"' "$pidfile" \
        "$RIG_MACHINE" "${args[@]}" -- "${kargs[@]}" </dev/null >"$RIG_CONSOLE" 2>&1 &
    local bg=$!
    local deadline=$(( t0 + timeout * 1000 ))
    while [[ ! -s "$pidfile" ]]; do
        if (( $(rig_now_ms) >= deadline )) || ! _rig_pid_alive "$bg"; then
            [[ -s "$pidfile" ]] && break
            _rig_log "rig_boot: systemd-nspawn did not start"
            _rig_console_tail
            return 1
        fi
        sleep 0.02
    done
    RIG_NSPAWN_PID=$(cat "$pidfile")
    RIG_PID1=""
    echo "$RIG_NSPAWN_PID -" >>"$RIG_WORK/.rig-containers"
    _RIG_ALL_NSPAWN+=("$RIG_NSPAWN_PID")
    local idx=$(( ${#_RIG_ALL_NSPAWN[@]} - 1 ))
    export RIG_NSPAWN_PID RIG_MACHINE RIG_CONSOLE RIG_BOOT_DIR

    # find PID 1: the child of nspawn whose comm is "systemd"
    local c
    while [[ -z "$RIG_PID1" ]]; do
        for c in $(pgrep -P "$RIG_NSPAWN_PID" 2>/dev/null); do
            if [[ "$(cat /proc/"$c"/comm 2>/dev/null)" == systemd ]]; then
                RIG_PID1=$c
                break
            fi
        done
        [[ -n "$RIG_PID1" ]] && break
        if ! _rig_pid_alive "$RIG_NSPAWN_PID"; then
            wait "$RIG_NSPAWN_PID" 2>/dev/null || true
            _rig_log "rig_boot: systemd-nspawn exited before the container's systemd started"
            _rig_console_tail
            return 1
        fi
        if (( $(rig_now_ms) >= deadline )); then
            _rig_log "rig_boot: no container PID 1 after ${timeout}s"
            _rig_console_tail
            return 1
        fi
        sleep 0.02
    done
    _RIG_ALL_PID1[idx]=$RIG_PID1
    _RIG_ALL_PID1_START[idx]=$(_rig_starttime "$RIG_PID1")
    echo "$RIG_NSPAWN_PID $RIG_PID1 ${_RIG_ALL_PID1_START[idx]}" >>"$RIG_WORK/.rig-containers"
    export RIG_PID1

    # wait for the system manager to finish booting
    local st="" left
    while :; do
        left=$(( (deadline - $(rig_now_ms)) / 1000 ))
        if (( left <= 0 )); then
            _rig_log "rig_boot: container $RIG_MACHINE did not finish booting within ${timeout}s (last state: '${st:-no answer}')"
            _rig_console_tail 60
            return 1
        fi
        if ! rig_running; then
            _rig_log "rig_boot: container died while booting"
            _rig_console_tail 60
            return 1
        fi
        st=$(timeout "$left" nsenter -t "$RIG_PID1" -a env -i PATH="$_RIG_PATH" \
                systemctl is-system-running --wait </dev/null 2>/dev/null) || true
        case "$st" in
            running|degraded) break ;;
            maintenance|stopping|offline)
                _rig_log "rig_boot: container system state is '$st'"
                _rig_console_tail 60
                return 1 ;;
        esac
        sleep 0.05   # bus socket not there yet ("Failed to connect to bus")
    done
    local t1; t1=$(rig_now_ms)
    _rig_vlog "$RIG_MACHINE is $st after $((t1 - t0)) ms (PID 1 = $RIG_PID1)"
    if [[ "$st" == degraded ]]; then
        _rig_log "note: container booted 'degraded': $(rig_exec systemctl --failed --no-legend --plain 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"
    fi

    # install the stage inside
    if [[ -n "$(ls -A "$stage" 2>/dev/null)" ]]; then
        # tar rather than `cp -a`: the stage may hold lib/ or bin/ (e.g.
        # lib/systemd/system from pkg-config) while / has lib -> usr/lib
        # symlinks (merged /usr); cp -a fails on those.
        rig_exec sh -c 'tar -C /opt/salve-stage -cf - . | tar -C / -xf - --keep-directory-symlink --no-overwrite-dir' \
            || { _rig_log "rig_boot: installing the stage failed"; return 1; }
        if compgen -G "$stage/usr/lib/sysusers.d/*.conf" >/dev/null || compgen -G "$stage/lib/sysusers.d/*.conf" >/dev/null; then
            rig_exec sh -c 'for f in /opt/salve-stage/usr/lib/sysusers.d/*.conf /opt/salve-stage/lib/sysusers.d/*.conf; do [ -e "$f" ] && systemd-sysusers "/usr/lib/sysusers.d/${f##*/}"; done; true' \
                || _rig_log "warning: systemd-sysusers failed"
        fi
        if compgen -G "$stage/usr/lib/tmpfiles.d/*.conf" >/dev/null || compgen -G "$stage/lib/tmpfiles.d/*.conf" >/dev/null; then
            rig_exec sh -c 'for f in /opt/salve-stage/usr/lib/tmpfiles.d/*.conf /opt/salve-stage/lib/tmpfiles.d/*.conf; do [ -e "$f" ] && systemd-tmpfiles --create "/usr/lib/tmpfiles.d/${f##*/}"; done; true' \
                || _rig_log "warning: systemd-tmpfiles failed"
        fi
        if [[ -n "$(find "$stage" -name '*.so*' -print -quit 2>/dev/null)" ]]; then
            rig_exec ldconfig || _rig_log "warning: ldconfig failed"
        fi
    fi
    rig_exec systemctl daemon-reload || { _rig_log "rig_boot: daemon-reload failed"; return 1; }
    rig_exec busctl call org.freedesktop.DBus / org.freedesktop.DBus ReloadConfig >/dev/null \
        || { _rig_log "rig_boot: dbus ReloadConfig failed"; return 1; }
    # polkitd is bus-activated; if something already started it, restart it
    # so it sees new actions/rules at once.
    rig_exec systemctl try-restart polkit.service || true
    _rig_vlog "$RIG_MACHINE ready after $(( $(rig_now_ms) - t0 )) ms"
    return 0
}

rig_exec() {
    _rig_need_container || return 1
    nsenter -t "$RIG_PID1" -a env -i PATH="$_RIG_PATH" HOME=/root USER=root LOGNAME=root \
        LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@" </dev/null
}

rig_exec_stdin() {
    _rig_need_container || return 1
    nsenter -t "$RIG_PID1" -a env -i PATH="$_RIG_PATH" HOME=/root USER=root LOGNAME=root \
        LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# Run as an unprivileged user.  setpriv does not go through PAM, so the
# process is in no logind session: polkit treats it as neither local nor
# active and applies the action's <allow_any> default (e.g. auth_admin ->
# refused, "Interactive authentication required").
rig_exec_as() {
    local user=${1:?rig_exec_as USER CMD...}
    shift
    _rig_need_container || return 1
    if ! rig_exec getent passwd "$user" >/dev/null; then
        rig_exec useradd --create-home --shell /bin/bash --user-group "$user" \
            || { _rig_log "rig_exec_as: useradd $user failed"; return 1; }
    fi
    nsenter -t "$RIG_PID1" -a setpriv --reuid="$user" --regid="$user" --init-groups \
        env -i PATH="$_RIG_PATH" HOME="/home/$user" USER="$user" LOGNAME="$user" \
        LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 \
        sh -c 'cd "$HOME" 2>/dev/null || cd /; exec "$@"' sh "$@" </dev/null
}

_rig_forget_container() {
    RIG_PID1=""
    RIG_NSPAWN_PID=""
    export RIG_PID1 RIG_NSPAWN_PID
}

rig_poweroff() {
    local timeout=${RIG_STOP_TIMEOUT:-30}
    _rig_need_container || return 1
    local out
    # the bus connection may be cut while systemctl waits for the reply
    # ("Connection reset by peer"): judge by whether the container stops
    out=$(rig_exec systemctl poweroff --no-block 2>&1) || true
    if ! _rig_wait_pid_gone "$RIG_NSPAWN_PID" "$timeout"; then
        _rig_log "rig_poweroff: container $RIG_MACHINE did not stop within ${timeout}s; cutting power"
        [[ -n "$out" ]] && _rig_log "systemctl poweroff said: $out"
        _rig_console_tail 40
        rig_powercut || true
        return 1
    fi
    _rig_forget_container
}

rig_powercut() {
    # not rig_running: PID 1 may be systemd-shutdown by now
    if [[ -z "$RIG_PID1" || -z "$RIG_NSPAWN_PID" ]] || ! _rig_is_child_of "$RIG_PID1" "$RIG_NSPAWN_PID"; then
        _rig_log "rig_powercut: no container is running"
        return 1
    fi
    kill -9 "$RIG_PID1" 2>/dev/null || true
    if ! _rig_wait_pid_gone "$RIG_PID1" 10; then
        _rig_log "rig_powercut: PID 1 $RIG_PID1 still alive after kill -9"
        return 1
    fi
    if ! _rig_wait_pid_gone "$RIG_NSPAWN_PID" 10; then
        _rig_log "rig_powercut: systemd-nspawn $RIG_NSPAWN_PID did not exit; killing it"
        kill -9 "$RIG_NSPAWN_PID" 2>/dev/null || true
        _rig_wait_pid_gone "$RIG_NSPAWN_PID" 5 || true
    fi
    _rig_forget_container
}

rig_journal() {
    rig_exec journalctl --no-pager "$@"
}

rig_dump() {
    _rig_console_tail 50
    if rig_running; then
        echo "rig: ---- failed units ----" >&2
        rig_exec systemctl --failed --no-pager >&2 2>&1 || true
        echo "rig: ---- journal (last 200 lines of this boot) ----" >&2
        rig_exec journalctl -b --no-pager 2>&1 | tail -n 200 >&2 || true
        echo "rig: ---- end of journal ----" >&2
    else
        _rig_log "(no container running: no journal to show)"
    fi
    return 0
}

_rig_wait_common() {
    local where=$1 desc=$2 timeout=$3 deadline
    shift 3
    deadline=$(( $(rig_now_ms) + ${timeout%.*} * 1000 ))
    while :; do
        if [[ $where == in ]]; then
            rig_exec "$@" >/dev/null 2>&1 && return 0
            rig_running || { _rig_log "container died while waiting for: $desc"; return 1; }
        else
            "$@" >/dev/null 2>&1 && return 0
        fi
        if (( $(rig_now_ms) >= deadline )); then
            _rig_log "timed out after ${timeout}s waiting for: $desc"
            return 1
        fi
        sleep 0.2
    done
}

rig_wait_for() {
    [[ $# -ge 3 ]] || { _rig_log "usage: rig_wait_for DESC TIMEOUT CMD..."; return 2; }
    _rig_wait_common in "$@"
}

rig_wait_for_host() {
    [[ $# -ge 3 ]] || { _rig_log "usage: rig_wait_for_host DESC TIMEOUT CMD..."; return 2; }
    _rig_wait_common host "$@"
}
