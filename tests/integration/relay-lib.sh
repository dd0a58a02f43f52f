# shellcheck shell=bash disable=SC2016
# tests/integration/relay-lib.sh - what salve's relay talks to, for tests:
# a real Prometheus Alertmanager and the receivers in receivers/receiver.py
# (Standard Webhooks, a PagerDuty Events API v2 stand-in, Alertmanager's
# webhook), each a process of the test with its own port, log and state
# under the rig's work dir.  Source after lib.sh (or salve-lib.sh) and
# rig_init; every process started here is stopped by rig_on_exit, and dies
# by itself if the test shell is killed (--parent / a watch loop).
#
# Where they listen: the rig's containers have a private network
# (--private-network), so 127.0.0.1 inside one is NOT the host's.  To let
# salved in a container reach 127.0.0.1:PORT, relay_netns makes a named
# network namespace, runs every rig process in it and has each later
# rig_boot join it (--network-namespace-path); the namespace outlives
# reboots and power cuts of the container, as a real receiver would.
# Without relay_netns all of it runs on the host's 127.0.0.1.
#
#   relay_require              skip (77) without python3, curl, jq
#   relay_require_am           skip (77) without prometheus-alertmanager, amtool
#   relay_netns                make the shared namespace (before rig_boot)
#   relay_in CMD...            run CMD where the rig listens (host or namespace)
#   relay_curl ARGS...         curl there, with a 5 s limit
#   relay_free_port            a free TCP port on 127.0.0.1 there
#   relay_receiver_start NAME MODE [ARGS...]   start receiver NAME (new port,
#                              or its old one when restarted); ARGS go to
#                              receiver.py (--secret whsec_..., --secret-file F)
#   relay_receiver_stop NAME   kill it (its log stays: an outage)
#   relay_url NAME [PATH]      http://127.0.0.1:PORT[PATH] of a receiver or AM
#   relay_control NAME JSON    POST /_control (status/count/hang/down_for)
#   relay_records NAME [JQ]    its records (the log file, one JSON per line),
#                              filtered by a jq select expression
#   relay_count NAME [JQ]      how many records match
#   relay_wait_count NAME JQ N SECS     until >= N records match, else fail
#   relay_key_counts NAME      "KEY ACCEPTED DUPLICATES" per key, sorted
#   relay_am_start NAME CONFIG [ARGS...]   a real Alertmanager, own port and
#                              storage, clustering off unless ARGS turn it on
#   relay_am_ha_start NAME N CONFIG   N clustered instances NAME1..NAMEn
#   relay_am_stop NAME
#   relay_prom_start NAME CONFIG [ARGS...] / relay_prom_stop NAME
#                              a real Prometheus (package prometheus), same way
#   relay_am_post NAME JSON    POST /api/v2/alerts (a JSON array)
#   relay_am_alerts NAME [QUERY]   GET /api/v2/alerts[?QUERY]
#   relay_am_config OUT RECEIVER_URL [INHIBIT_YML]  a test config: one route,
#                              group_by alertname+instance, group_wait 0s,
#                              group_interval 1s, repeat 4h, + inhibit rules
#   relay_alert LABELS_JSON [ANNOTATIONS_JSON] [ENDS_AT]  one alert, for
#                              relay_am_post (ENDS_AT "now": resolved)
#   relay_iso [EPOCH_MS]       RFC 3339 UTC time (now by default)
#
# Variables: RELAY_DIR (logs, ports, storage), RELAY_NETNS (namespace name,
# empty on the host), RELAY_PY (the interpreter; /usr/bin/python3 so it is
# the same inside a container).

RELAY_RECEIVER=${RELAY_RECEIVER:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/receivers/receiver.py}
RELAY_PY=${RELAY_PY:-/usr/bin/python3}
RELAY_AM=${RELAY_AM:-prometheus-alertmanager}
RELAY_NETNS=""
RELAY_DIR=""
declare -gA _RELAY_PID=() _RELAY_PORT=()

_relay_log() { echo "relay-lib: $*" >&2; }

relay_require() {
    local t
    [[ -x $RELAY_PY ]] || { echo "SKIP: $RELAY_PY is missing" >&2; exit 77; }
    for t in curl jq; do
        command -v "$t" >/dev/null || { echo "SKIP: $t is not installed" >&2; exit 77; }
    done
}

relay_require_am() {
    local t
    for t in "$RELAY_AM" amtool; do
        command -v "$t" >/dev/null ||
            { echo "SKIP: $t is not installed (apt-get install prometheus-alertmanager)" >&2; exit 77; }
    done
}

_relay_dir() {
    if [[ -z $RELAY_DIR ]]; then
        [[ -n ${RIG_WORK:-} ]] || { _relay_log "call rig_init first"; return 1; }
        RELAY_DIR=$(rig_tmpdir relay)
        rig_on_exit _relay_teardown
    fi
}

relay_netns() {
    _relay_dir || return 1
    [[ -z $RELAY_NETNS ]] || return 0
    command -v ip >/dev/null || { echo "SKIP: ip (iproute2) is not installed" >&2; exit 77; }
    RELAY_NETNS=salve-relay-$$
    ip netns add "$RELAY_NETNS" || { _relay_log "ip netns add $RELAY_NETNS failed"; return 1; }
    ip -n "$RELAY_NETNS" link set lo up
    # lib.sh passes --private-network; nspawn then joins this namespace
    # instead of making one.
    RIG_NSPAWN_ARGS+=("--network-namespace-path=/run/netns/$RELAY_NETNS")
}

# The prefix that runs a command in the namespace (nsenter execs, so a
# background job's $! is the command itself).
_relay_ns() {
    _RELAY_NS=()
    [[ -z $RELAY_NETNS ]] || _RELAY_NS=(nsenter "--net=/run/netns/$RELAY_NETNS" --)
}

relay_in() { _relay_ns; "${_RELAY_NS[@]}" "$@"; }

relay_curl() { relay_in curl -sS -m 5 "$@"; }

relay_free_port() {
    relay_in "$RELAY_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

relay_url() {
    local port=${_RELAY_PORT[$1]:-}
    [[ -n $port ]] || { _relay_log "relay_url: no process named $1"; return 1; }
    echo "http://127.0.0.1:$port${2:-}"
}

_relay_wait_url() {
    local desc=$1 url=$2 secs=$3 pid=$4 deadline
    deadline=$(( $(rig_now_ms) + secs * 1000 ))
    until relay_curl -o /dev/null -f "$url" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            _relay_log "$desc exited before it was ready"
            return 1
        fi
        (( $(rig_now_ms) < deadline )) || { _relay_log "$desc not ready after ${secs}s"; return 1; }
        sleep 0.05
    done
}

relay_receiver_start() {
    local name=${1:?relay_receiver_start NAME MODE [ARGS...]} mode=${2:?mode}
    shift 2
    _relay_dir || return 1
    [[ -z ${_RELAY_PID[$name]:-} ]] || { _relay_log "receiver $name is running"; return 1; }
    local port=${_RELAY_PORT[$name]:-0} pf="$RELAY_DIR/$name.port"
    rm -f "$pf"
    _relay_ns
    "${_RELAY_NS[@]}" "$RELAY_PY" "$RELAY_RECEIVER" --mode "$mode" --log "$RELAY_DIR/$name.jsonl" \
        --port "$port" --port-file "$pf" --parent $$ "$@" \
        </dev/null >>"$RELAY_DIR/$name.out" 2>&1 &
    _RELAY_PID[$name]=$!
    if [[ $port == 0 ]]; then
        local i=0
        while [[ ! -s $pf ]]; do
            if ! kill -0 "${_RELAY_PID[$name]}" 2>/dev/null || (( i++ >= 200 )); then
                _relay_log "receiver $name did not start:"
                cat "$RELAY_DIR/$name.out" >&2
                return 1
            fi
            sleep 0.025
        done
        _RELAY_PORT[$name]=$(cat "$pf")
    fi
    _relay_wait_url "receiver $name" "$(relay_url "$name" /_ready)" 10 "${_RELAY_PID[$name]}" ||
        { cat "$RELAY_DIR/$name.out" >&2; return 1; }
}

_relay_kill() {
    local name=$1 pid=${_RELAY_PID[$1]:-} i=0
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && (( i++ < 100 )); do sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "_RELAY_PID[$name]"
    return 0
}

relay_receiver_stop() { _relay_kill "${1:?relay_receiver_stop NAME}"; }

relay_control() {
    relay_curl -f -o /dev/null -H 'Content-Type: application/json' \
        --data-binary "${2:?relay_control NAME JSON}" "$(relay_url "$1" /_control)"
}

relay_records() {
    local f="$RELAY_DIR/${1:?relay_records NAME [JQ]}.jsonl"
    [[ -f $f ]] || return 0
    jq -c "select(${2:-true})" "$f"
}

relay_count() { relay_records "$1" "${2:-true}" | wc -l; }

relay_wait_count() {
    local name=$1 sel=$2 want=$3 secs=$4 deadline
    deadline=$(( $(rig_now_ms) + secs * 1000 ))
    while (( $(relay_count "$name" "$sel") < want )); do
        if (( $(rig_now_ms) >= deadline )); then
            _relay_log "timed out after ${secs}s waiting for $want records of $name matching: $sel"
            return 1
        fi
        sleep 0.05
    done
}

relay_key_counts() {
    relay_records "$1" '.key != null and (.verdict == "accepted" or .verdict == "duplicate")' |
        jq -rs 'group_by(.key)[] | "\(.[0].key) \(map(select(.verdict == "accepted")) | length) \(map(select(.verdict == "duplicate")) | length)"'
}

relay_iso() {
    local ms=${1:-$(rig_now_ms)}
    printf '%s.%03dZ' "$(date -u -d "@$((ms / 1000))" +%Y-%m-%dT%H:%M:%S)" $((ms % 1000))
}

relay_alert() {
    local labels=${1:?relay_alert LABELS [ANNOTATIONS] [ENDS_AT]} ann=${2:-"{}"} ends=${3:-}
    [[ $ends == now ]] && ends=$(relay_iso "$(rig_now_ms)")
    jq -cn --argjson l "$labels" --argjson a "$ann" --arg e "$ends" \
        '{labels: $l, annotations: $a, generatorURL: "http://salve.test/"} + (if $e == "" then {} else {endsAt: $e} end)'
}

relay_am_config() {
    local out=${1:?relay_am_config OUT URL [INHIBIT]} url=${2:?url} inhibit=${3:-}
    cat >"$out" <<EOF
# written by relay_am_config (tests/integration/relay-lib.sh)
route:
  receiver: test
  group_by: [alertname, instance]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
receivers:
  - name: test
    webhook_configs:
      - url: '$url'
        send_resolved: true
        max_alerts: 0
EOF
    # top-level keys: appending the shipped file merges its inhibit_rules
    [[ -z $inhibit ]] || { echo; cat "$inhibit"; } >>"$out"
}

# Starts NAME: CMD with every "@PORT@" in its words replaced by a free
# port (its old one when restarted), until READY_PATH answers 2xx.
_relay_serve() {
    local name=$1 desc=$2 ready=$3
    shift 3
    _relay_dir || return 1
    [[ -z ${_RELAY_PID[$name]:-} ]] || { _relay_log "$desc $name is running"; return 1; }
    local port=${_RELAY_PORT[$name]:-} a cmd
    for _ in 1 2 3; do
        [[ -n $port ]] || port=$(relay_free_port)
        cmd=()
        for a in "$@"; do cmd+=("${a//@PORT@/$port}"); done
        # A watch loop ends CMD when the test shell is gone.
        _relay_ns
        "${_RELAY_NS[@]}" bash -c 'trap "kill \$c 2>/dev/null; wait \$c; exit 0" TERM
            p=$1; shift; "$@" & c=$!
            while kill -0 "$p" 2>/dev/null && kill -0 "$c" 2>/dev/null; do sleep 0.5; done
            kill "$c" 2>/dev/null; wait "$c"' relay-watch $$ "${cmd[@]}" \
            </dev/null >>"$RELAY_DIR/$name.out" 2>&1 &
        _RELAY_PID[$name]=$!
        _RELAY_PORT[$name]=$port
        if _relay_wait_url "$desc $name" "$(relay_url "$name" "$ready")" 30 "${_RELAY_PID[$name]}"; then
            return 0
        fi
        _relay_kill "$name"
        grep -q 'address already in use' "$RELAY_DIR/$name.out" || break
        port=""       # someone took the port between the probe and the bind
    done
    _relay_log "$desc $name did not start:"
    tail -n 20 "$RELAY_DIR/$name.out" >&2
    return 1
}

relay_am_start() {
    local name=${1:?relay_am_start NAME CONFIG [ARGS...]} cfg=${2:?config}
    shift 2
    _relay_dir || return 1
    mkdir -p "$RELAY_DIR/$name.data"
    local nocluster=--cluster.listen-address=
    [[ " $* " != *" --cluster.listen-address="* ]] || nocluster=()
    _relay_serve "$name" alertmanager /-/ready \
        "$RELAY_AM" --config.file="$cfg" --storage.path="$RELAY_DIR/$name.data" \
        --web.listen-address=127.0.0.1:@PORT@ "${nocluster[@]}" --log.level=warn "$@"
}

# N clustered instances NAME1..NAMEn (gossip on 127.0.0.1, each peering
# with all): the HA setup salve's relay posts to, every URL listed.
# --cluster.peer-timeout=1s: the n-th instance notifies (n-1) s after the
# first unless the first's notification log reached it, so a window of a
# few seconds shows whether the cluster deduplicated.
relay_am_ha_start() {
    local name=${1:?relay_am_ha_start NAME N CONFIG} n=${2:?N} cfg=${3:?config} i j
    local -a cports=() peers=()
    for (( i = 1; i <= n; i++ )); do cports[i]=$(relay_free_port); done
    for (( i = 1; i <= n; i++ )); do
        peers=()
        for (( j = 1; j <= n; j++ )); do
            (( j == i )) || peers+=("--cluster.peer=127.0.0.1:${cports[j]}")
        done
        relay_am_start "$name$i" "$cfg" --cluster.listen-address="127.0.0.1:${cports[i]}" \
            --cluster.advertise-address="127.0.0.1:${cports[i]}" --cluster.gossip-interval=50ms \
            --cluster.pushpull-interval=1s --cluster.settle-timeout=1s --cluster.peer-timeout=1s "${peers[@]}" || return 1
    done
}

# A real Prometheus (for relabelling and alerting rules as users write
# them); CONFIG may say @PORT@ nowhere: it is started on its own port.
relay_prom_start() {
    local name=${1:?relay_prom_start NAME CONFIG [ARGS...]} cfg=${2:?config}
    shift 2
    _relay_dir || return 1
    mkdir -p "$RELAY_DIR/$name.data"
    _relay_serve "$name" prometheus /-/ready \
        prometheus --config.file="$cfg" --storage.tsdb.path="$RELAY_DIR/$name.data" \
        --web.listen-address=127.0.0.1:@PORT@ --log.level=warn "$@"
}

relay_prom_stop() { _relay_kill "${1:?relay_prom_stop NAME}"; }

relay_am_stop() { _relay_kill "${1:?relay_am_stop NAME}"; }

relay_am_post() {
    relay_curl -f -o /dev/null -H 'Content-Type: application/json' \
        --data-binary "${2:?relay_am_post NAME JSON}" "$(relay_url "$1" /api/v2/alerts)"
}

relay_am_alerts() {
    relay_curl -f "$(relay_url "$1" "/api/v2/alerts${2:+?$2}")"
}

_relay_teardown() {
    local n
    for n in "${!_RELAY_PID[@]}"; do _relay_kill "$n"; done
    [[ -z $RELAY_NETNS ]] || ip netns del "$RELAY_NETNS" 2>/dev/null || true
}
