# shellcheck shell=bash
# tests/vm/guest/storage-lib.sh - helpers for the md VM's storage guest
# scripts (storage-powercut-1.sh, -2.sh, storage-bench.sh), on top of
# lib.sh: salve is installed in the root before systemd started
# (tests/vm/storage-rootfs.sh).
#   st_fail MSG            vm_fail after dumping salved's view (runs, gates, jobs)
#   st_run PLAN            the id of PLAN's newest run ('' if none)
#   st_json RUN            salvectl --json status RUN
#   st_step RUN STEP FIELD a field of one step of a run
#   st_wait_step RUN STEP STATE TIMEOUT   wait for a step's state; fail
#                          at once if it failed (its message says why)
#   st_prop UNIT PROP      a unit's property from systemd, raw (busctl)
#   st_ktime MSG           the kernel log's printk time (s) of the first line
#                          containing MSG ('' if none)
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

st_fail() {
    echo "# --- salved (journal, last 30 lines)"
    journalctl -b -u salved -o short-monotonic --no-pager 2>&1 | tail -n 30 | sed 's/^/# /'
    echo "# --- salvectl status"
    salvectl status 2>&1 | sed 's/^/# /'
    local r
    for r in $(salvectl --json history 2>/dev/null | jq -r '.[].id' 2>/dev/null); do
        salvectl --json status "$r" 2>/dev/null | jq -r '"# run \(.id) \(.state): \(.message // "")",
            (.steps[] | "#   \(.id): \(.state) \(.message // "")")' 2>/dev/null
    done
    echo "# --- gates and held units"
    systemctl list-units --all --no-pager --no-legend 'salve-gate@*' db.service app.service 2>&1 | sed 's/^/# /'
    systemctl list-jobs --no-pager --no-legend 2>&1 | sed 's/^/# /'
    find /run/salve/gates -maxdepth 1 -printf '%f\n' 2>&1 | sed 's/^/# /'
    journalctl -b -o json --no-pager >"$VM_JOB/journal.json" 2>/dev/null
    journalctl -b -o short-monotonic --no-pager >"$VM_JOB/journal.txt" 2>/dev/null
    vm_fail "$@"
}

st_run() {
    salvectl --json history 2>/dev/null \
        | jq -r --arg p "$1" '[.[] | select(.plan == $p)] | sort_by(.created_usec) | last | .id // empty'
}
st_json() { salvectl --json status "$1"; }
st_step() { st_json "$1" | jq -r --arg s "$2" ".steps[] | select(.id == \$s) | .$3 // empty"; }

st_wait_step() { # RUN STEP STATE TIMEOUT
    local run=$1 step=$2 want=$3 end st
    end=$(( $(vm_now_ms) + $4 * 1000 ))
    while :; do
        st=$(st_step "$run" "$step" state)
        [[ "$st" == "$want" ]] && return 0
        if [[ "$st" == failed || "$st" == cancelled || "$st" == interrupted ]]; then
            st_fail "step $step of run $run $st (waiting for $want): $(st_step "$run" "$step" message)"
        fi
        (( $(vm_now_ms) < end )) \
            || st_fail "timed out after $4 s waiting for step $step of $run to be $want (it is '$st')"
        sleep 0.5
    done
}

st_prop() { # UNIT PROP -> raw value (t: usec)
    systemctl show -P "$2" "$1"
}

st_ktime() {
    dmesg | grep -m1 -F -- "$1" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'
}
