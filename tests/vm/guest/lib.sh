# shellcheck shell=bash
# tests/vm/guest/lib.sh - helpers for guest scripts run by tests/vm/run.sh.
#
# Sourced inside the VM (real systemd, the Debian kernel, md loaded with
# Debian's start_ro=1).  Environment from run.sh: VM_JOB (the job dir, the
# host's over 9p), VM_BUILD (salve's build dir, read-only), VM_SRC, VM_PHASE,
# VM_NDISKS.
#
#   vm_ok MSG / vm_fail MSG / vm_skip MSG / vm_done   TAP-ish progress
#   vm_disk N                  the Nth virtio disk's node (/dev/vda for 1)
#   vm_wait DESC TIMEOUT CMD...  poll CMD every 0.1 s, fail after TIMEOUT s
#   vm_md ARRAY ATTR           cat /sys/block/ARRAY/md/ATTR
#   vm_wait_md ARRAY ATTR VALUE TIMEOUT   wait until that file reads VALUE
#   vm_md_find                 the name of the one md array there is (md0, md127)
#   vm_md_stop_all             mdadm --stop every array, wipe nothing
#   vm_watch_start             start watch-driver md; wait for its READY notice
#   vm_watch_wait DESC TIMEOUT JQ   wait for an output line matching JQ (a jq
#                              boolean expression); print the first such line
#   vm_watch_count JQ          how many output lines match JQ
#   vm_watch_stop              SIGTERM the driver (it prints its stats)
#   vm_powercut MSG            ask the host to kill the VM now (run.sh --powercut)
#   vm_now_ms                  CLOCK_REALTIME in milliseconds
# Outputs are kept in the job dir: watch.jsonl (the driver's lines),
# watch.err, and whatever the script copies there.
set -u

VM_N=0
VM_WATCH_OUT=/run/salve-vm-watch.jsonl
VM_WATCH_ERR=/run/salve-vm-watch.err
VM_WATCH_PID=

vm_now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }   # no fork
VM_T0=$(vm_now_ms)
vm_ok() { VM_N=$((VM_N + 1)); printf 'ok %d - %s [%d.%03d s]\n' "$VM_N" "$*" $(( ($(vm_now_ms) - VM_T0) / 1000 )) $(( ($(vm_now_ms) - VM_T0) % 1000 )); }
vm_done() { _vm_save; echo "1..$VM_N"; exit 0; }
vm_skip() { echo "SKIP: $*"; _vm_save; exit 77; }

_vm_save() {
    [[ -e "$VM_WATCH_OUT" ]] && cp "$VM_WATCH_OUT" "$VM_JOB/watch.jsonl"
    [[ -e "$VM_WATCH_ERR" ]] && cp "$VM_WATCH_ERR" "$VM_JOB/watch.err"
    return 0
}

vm_fail() {
    echo "not ok $((VM_N + 1)) - $*"
    echo "# --- /proc/mdstat"
    cat /proc/mdstat 2>&1 | sed 's/^/# /'
    local a
    for a in /sys/block/md*/md; do
        [[ -d "$a" ]] || continue
        echo "# --- $a: array_state=$(cat "$a/array_state" 2>&1) sync_action=$(cat "$a/sync_action" 2>&1)" \
             "sync_completed=$(cat "$a/sync_completed" 2>&1) degraded=$(cat "$a/degraded" 2>&1)" \
             "resync_start=$(cat "$a/resync_start" 2>&1) mismatch_cnt=$(cat "$a/mismatch_cnt" 2>&1)"
    done
    if [[ -s "$VM_WATCH_OUT" ]]; then
        echo "# --- watch-driver output"
        sed 's/^/# /' "$VM_WATCH_OUT"
    fi
    if [[ -s "$VM_WATCH_ERR" ]]; then
        echo "# --- watch-driver stderr"
        sed 's/^/# /' "$VM_WATCH_ERR"
    fi
    echo "# --- dmesg (md)"
    dmesg | grep -E 'md|raid' | tail -n 20 | sed 's/^/# /'
    _vm_save
    [[ -n "$VM_WATCH_PID" ]] && kill "$VM_WATCH_PID" 2>/dev/null
    exit 1
}

vm_disk() { # N -> /dev/vdX (by the serial run.sh gives: salve-dN)
    local l="/dev/disk/by-id/virtio-salve-d$1"
    [[ -e "$l" ]] || vm_wait "disk $1 ($l)" 20 test -e "$l"
    readlink -f "$l"
}

vm_wait() { # DESC TIMEOUT CMD...
    local desc=$1 timeout=$2 end
    shift 2
    end=$(( $(vm_now_ms) + timeout * 1000 ))
    until "$@" >/dev/null 2>&1; do
        (( $(vm_now_ms) < end )) || vm_fail "timed out after $timeout s waiting for $desc"
        sleep 0.1
    done
}

vm_md() { cat "/sys/block/$1/md/$2"; }

vm_wait_md() { # ARRAY ATTR VALUE TIMEOUT: wait until the attribute reads VALUE
    local f="/sys/block/$1/md/$2" v end
    end=$(( $(vm_now_ms) + $4 * 1000 ))
    while :; do
        v=
        read -r v <"$f" 2>/dev/null
        [[ "$v" == "$3" ]] && return 0
        (( $(vm_now_ms) < end )) || vm_fail "timed out after $4 s waiting for $1 $2 = $3 (it reads '$v')"
        sleep 0.1
    done
}

vm_md_find() {
    local a n=0 found=
    for a in /sys/block/md*; do
        [[ -d "$a/md" ]] || continue
        found=${a##*/}
        n=$((n + 1))
    done
    (( n == 1 )) || return 1
    echo "$found"
}

vm_md_stop_all() {
    local a
    for a in /sys/block/md*; do
        [[ -d "$a/md" ]] && mdadm --stop "/dev/${a##*/}" >/dev/null 2>&1
    done
    return 0
}

vm_watch_start() {
    local drv="$VM_BUILD/tests/integration/watch-driver"
    [[ -x "$drv" ]] || vm_fail "no watch-driver in VM_BUILD=$VM_BUILD"
    : >"$VM_WATCH_OUT"
    : >"$VM_WATCH_ERR"
    "$drv" "$@" md >"$VM_WATCH_OUT" 2>"$VM_WATCH_ERR" &
    VM_WATCH_PID=$!
    local end=$(( $(vm_now_ms) + 30000 ))
    while ! _vm_watch_changed || ! jq -e -s 'any(.[]; .notice == "ready")' "$VM_WATCH_OUT" >/dev/null 2>&1; do
        if ! kill -0 "$VM_WATCH_PID" 2>/dev/null; then
            VM_WATCH_PID=
            if grep -q 'Operation not supported' "$VM_WATCH_ERR"; then
                vm_skip "the md watcher is not implemented in this build (watch-driver: $(cat "$VM_WATCH_ERR"))"
            fi
            vm_fail "watch-driver md exited before READY: $(cat "$VM_WATCH_ERR")"
        fi
        (( $(vm_now_ms) < end )) || vm_fail "watch-driver md not READY after 30 s"
        sleep 0.1
    done
}

# True when the driver's output has more lines than at the last call: the waits run
# jq only then (each process costs a lot under TCG on a busy host).
VM_WATCH_SIZE=-1
_vm_watch_changed() {
    local -a l
    mapfile -t l <"$VM_WATCH_OUT" 2>/dev/null || return 1
    [[ ${#l[@]} != "$VM_WATCH_SIZE" ]] || return 1
    VM_WATCH_SIZE=${#l[@]}
}

vm_watch_count() { # JQ
    jq -c "select(.event != null) | select($1)" "$VM_WATCH_OUT" 2>/dev/null | wc -l
}

vm_watch_wait() { # DESC TIMEOUT JQ
    local desc=$1 timeout=$2 filter=$3 end line
    end=$(( $(vm_now_ms) + timeout * 1000 ))
    VM_WATCH_SIZE=-1
    while :; do
        if _vm_watch_changed; then
            line=$(jq -c "select(.event != null) | select($filter)" "$VM_WATCH_OUT" 2>/dev/null | head -n1)
            [[ -n "$line" ]] && { echo "$line"; return 0; }
        fi
        [[ -n "$VM_WATCH_PID" ]] && ! kill -0 "$VM_WATCH_PID" 2>/dev/null \
            && vm_fail "watch-driver died waiting for $desc: $(cat "$VM_WATCH_ERR")"
        (( $(vm_now_ms) < end )) || vm_fail "timed out after $timeout s waiting for the watcher's $desc"
        sleep 0.1
    done
}

vm_watch_stop() {
    [[ -n "$VM_WATCH_PID" ]] || return 0
    kill -TERM "$VM_WATCH_PID" 2>/dev/null
    wait "$VM_WATCH_PID" 2>/dev/null
    VM_WATCH_PID=
    _vm_save
}

vm_powercut() { # MSG
    _vm_save
    echo "# power cut requested: $*"
    echo "$*" >"$VM_JOB/powercut"
    # the host kills qemu within 0.2 s; never go on
    sleep 600
    exit 1
}
