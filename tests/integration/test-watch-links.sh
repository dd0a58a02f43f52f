#!/bin/bash
# The links watcher (src/watch/link-watch.c) against real rtnetlink, in a
# private network namespace with veth pairs, through watch-driver:
# 1. initial state, up, down, a peer down (lower-layer-down), changes that
#    are not state changes (no event), a rename, delete (removed), new links,
#    bridge port news (no event), a forged datagram (bad input), a link moved
#    to another namespace (removed), a resync on request that finds nothing;
# 2. ENOBUFS: a receive buffer of 4 KiB and a flood of link changes from
#    `ip -batch`, the first half while the driver is stopped (SIGSTOP), the
#    rest while it runs; the driver must say lost and resynced, and the last event it
#    reported for every link must be the kernel's truth (`ip -j link`): no net
#    transition missed, no state said twice in a row.
#
# usage: test-watch-links.sh PATH/TO/watch-driver [PAIRS]
# Needs root and `ip netns` (exits 77 otherwise). Namespaces are
# salve-links-PID-*, removed on exit.
set -euo pipefail

driver=${1:?usage: test-watch-links.sh PATH/TO/watch-driver [PAIRS]}
pairs=${2:-150}
[[ -x "$driver" ]] || { echo "test-watch-links: $driver is not an executable" >&2; exit 1; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed" >&2; exit 77; }
command -v ip >/dev/null || { echo "SKIP: ip (iproute2) is not installed" >&2; exit 77; }
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root for network namespaces" >&2; exit 77; }

ns=salve-links-$$
tmp=$(mktemp -d /tmp/salve-links-XXXXXX)
dpid=""
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
    n=$((n + 1))
    echo "not ok $n - $*"
    if [[ -n "${OUT:-}" && -f "$OUT" ]]; then
        echo "# last driver output ($OUT):"
        tail -n 30 "$OUT" | sed 's/^/#   /'
        [[ -z "${SALVE_KEEP_OUTPUT:-}" ]] || cp "$OUT" "$SALVE_KEEP_OUTPUT"
    fi
    exit 1
}
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

# Stops the driver; it must exit 0 and say nothing on stderr (a sanitizer
# build reports leaks and errors there).
stop_driver() {
    local rc=0 pid=$dpid
    [[ -n "$pid" ]] || return 0
    dpid=""
    # CONT first, in case a failure left it stopped; never after TERM: a
    # sanitizer's leak check at exit stops the process with ptrace, and a
    # late SIGCONT cancels that stop and leaves it hanging.
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || rc=$?
    if [[ "${1:-}" != quiet ]]; then
        [[ $rc == 0 ]] || fail "watch-driver exited with $rc: $(head -c 2000 "$OUT.err")"
        [[ ! -s "$OUT.err" ]] || fail "watch-driver said on stderr: $(head -c 2000 "$OUT.err")"
    fi
}
cleanup() {
    stop_driver quiet
    ip netns del "$ns" 2>/dev/null || true
    ip netns del "$ns-flood" 2>/dev/null || true
    ip netns del "$ns-away" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

if ! ip netns add "$ns" 2>"$tmp/err"; then
    echo "SKIP: ip netns add failed: $(cat "$tmp/err")" >&2
    exit 77
fi
IP() { ip -n "$NS" "$@"; }

# start_driver NAMESPACE OUTFILE [DRIVER-OPTIONS...]: runs watch-driver links
# in the namespace and waits for its ready notice.
start_driver() {
    local nsname=$1 out=$2
    shift 2
    OUT=$out
    ip netns exec "$nsname" "$driver" "$@" links >"$out" 2>"$out.err" &
    dpid=$!
    wait_for "ready notice" 10 'select(.notice == "ready")'
}

# wait_for DESC SECONDS JQ-FILTER: until the filter selects a line of $OUT.
wait_for() {
    local desc=$1 secs=$2 filter=$3 deadline
    deadline=$(( $(now_ms) + secs * 1000 ))
    while (( $(now_ms) < deadline )); do
        if [[ -n $(jq -c "$filter" "$OUT" 2>/dev/null | head -n 1) ]]; then
            return 0
        fi
        kill -0 "$dpid" 2>/dev/null || fail "watch-driver exited while waiting for $desc: $(cat "$OUT.err")"
        sleep 0.05
    done
    fail "no $desc within ${secs}s"
}

# Events of the driver, one JSON line each, after line $1 (default 0).
events_after() { tail -n +$(( ${1:-0} + 1 )) "$OUT" | jq -c 'select(.kind == "link")'; }
lines() { wc -l <"$OUT"; }
# has JQ-FILTER: the filter selects at least one line of $OUT (jq -e looks
# only at the last output, which is no help over many lines).
has() { [[ -n $(jq -c "$1" "$OUT" | head -n 1) ]]; }
# expect_event AFTER NAME EVENT: waits for that event after line AFTER.
expect_event() {
    local after=$1 name=$2 event=$3
    wait_for "event $name $event" 10 \
        "select(input_line_number > $after and .kind == \"link\" and .name == \"$name\" and .event == \"$event\")"
}
# The last event the driver reported for NAME.
last_event() { jq -r --arg n "$1" 'select(.kind == "link" and .name == $n) | .event' "$OUT" | tail -n 1; }

# The trigger state of every link in the namespace as the kernel says it,
# "NAME STATE" lines, by the mapping of link_state_from_info().
truth() {
    ip -n "$1" -j link | jq -r '.[] | (.flags // []) as $f |
        (if ($f | any(. == "UP")) | not then "down"
         elif .operstate == "UP" then "up"
         elif (.operstate == "LOWERLAYERDOWN" or .operstate == "DOWN") and ($f | any(. == "LOWER_UP")) then "up"
         elif .operstate == "LOWERLAYERDOWN" then "lower-layer-down"
         elif .operstate == "UNKNOWN" then (if ($f | any(. == "LOWER_UP")) then "up" else "down" end)
         else "down" end) as $s | "\(.ifname) \($s)"' | sort
}
# What the driver believes: the last event of every name not removed.
belief() {
    jq -r 'select(.kind == "link") | "\(.name) \(.event)"' "$OUT" |
        awk '{ last[$1] = $2 } END { for (k in last) if (last[k] != "removed") print k, last[k] }' | sort
}
# No name got the same event twice in a row (an event only on a change).
no_repeats() {
    jq -r 'select(.kind == "link") | "\(.name) \(.event)"' "$OUT" |
        awk '{ if (prev[$1] == $2) { print $1, $2; exit 1 } prev[$1] = $2 }'
}

echo "# 1. transitions one by one"
NS=$ns
IP link set lo up
IP link add p0 type veth peer name p1
IP link set p0 up           # p1 is down: p0 is lower-layer-down
IP link add q0 type veth peer name q1
sleep 0.2
start_driver "$ns" "$tmp/links.out"
for want in "lo up" "p0 lower-layer-down" "p1 down" "q0 down" "q1 down"; do
    set -- $want
    has "select(.kind == \"link\" and .name == \"$1\" and .event == \"$2\" and .initial)" \
        || fail "no initial event $1 $2"
done
got=$(jq -c 'select(.kind == "link")' "$OUT" | wc -l)
[[ $got == 5 ]] || fail "initial dump: $got events, want 5"
has 'select(.kind == "link" and (.initial | not))' && fail "an initial event without initial"
ok "initial dump: lo up, p0 lower-layer-down, p1 q0 q1 down, all initial, then ready"

mark=$(lines)
IP link set p1 up
expect_event "$mark" p1 up
expect_event "$mark" p0 up
# The kernel first reports p1 with its carrier on and its operstate still
# LOWERLAYERDOWN: that instant is not a lower-layer-down.
got=$(events_after "$mark" | jq -r '"\(.name) \(.event)"' | sort | paste -sd, -)
[[ $got == "p0 up,p1 up" ]] || fail "peer up: got $got, want p0 up and p1 up only"
ok "peer up: p1 up, p0 up, nothing else"

mark=$(lines)
IP link set p1 down
expect_event "$mark" p1 down
expect_event "$mark" p0 lower-layer-down
ok "peer down: p1 down, p0 lower-layer-down"

# Changes that are not state changes say nothing; q0 coming up after them is
# the barrier (one socket: events arrive in order).
mark=$(lines)
IP link set p0 mtu 1400
IP link set p0 alias "salve test"
IP link set p1 address 02:00:00:00:00:01
IP link set q0 up
expect_event "$mark" q0 lower-layer-down
extra=$(events_after "$mark" | jq -r 'select(.name != "q0") | "\(.name) \(.event)"')
[[ -z "$extra" ]] || fail "events for changes that are not state changes: $extra"
ok "mtu, alias and address changes: no event"

mark=$(lines)
IP link set p1 name r1
expect_event "$mark" r1 down
got=$(events_after "$mark" | jq -r '"\(.name) \(.event)"' | paste -sd, -)
[[ $got == "p1 removed,r1 down" ]] || fail "rename p1 -> r1: got $got"
ok "rename: p1 removed, then r1 down"

mark=$(lines)
IP link del r1
expect_event "$mark" r1 removed
expect_event "$mark" p0 removed
ok "delete: r1 removed, p0 removed"

mark=$(lines)
IP link add n0 type veth peer name n1
expect_event "$mark" n0 down
expect_event "$mark" n1 down
[[ -n $(events_after "$mark" | jq -c 'select(.initial or .resynced)') ]] && fail "a new link flagged initial or resynced"
ok "new pair: n0 down, n1 down (not initial, not resynced)"

# A bridge reports its ports on the same group, as RTM_NEWLINK and
# RTM_DELLINK of family AF_BRIDGE: a port leaving the bridge is not removed.
mark=$(lines)
if IP link add br0 type bridge 2>/dev/null; then
    expect_event "$mark" br0 down
    mark=$(lines)
    IP link set n0 master br0
    IP link set n0 nomaster
    IP link set n1 up       # the barrier: n0 is down, so n1 is lower-layer-down
    expect_event "$mark" n1 lower-layer-down
    got=$(events_after "$mark" | jq -r '"\(.name) \(.event)"' | paste -sd, -)
    [[ $got == "n1 lower-layer-down" ]] || fail "bridge port in and out: got $got"
    ok "a port joining and leaving a bridge: no event for it"
else
    echo "# no bridge support in this kernel: port news not tested"
fi

# A datagram from another socket (root may send to any port) claiming lo
# went down: dropped and said, never believed.
portid=$(ip netns exec "$ns" awk '$2 == 0 && $3 != 0 && $4 == "00000001" { print $3 }' /proc/net/netlink)
if command -v python3 >/dev/null && [[ $portid =~ ^[0-9]+$ ]]; then
    mark=$(lines)
    ip netns exec "$ns" python3 -c '
import socket, struct, sys
ifi = struct.pack("BxHiII", 0, 0, 1, 0, 0)
name = b"lo\0\0"
attrs = struct.pack("HH", 7, 3) + name + struct.pack("HHBxxx", 5, 16, 2)
msg = ifi + attrs
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.sendto(struct.pack("IHHII", 16 + len(msg), 16, 0, 0, 0) + msg, (int(sys.argv[1]), 0))
' "$portid"
    wait_for "bad-input notice" 10 "select(input_line_number > $mark and .notice == \"bad-input\")"
    IP link set n1 down     # the barrier
    expect_event "$mark" n1 down
    got=$(events_after "$mark" | jq -r '"\(.name) \(.event)"' | paste -sd, -)
    [[ $got == "n1 down" ]] || fail "a forged datagram: got $got"
    ok "a datagram not from the kernel: $(jq -r "select(input_line_number > $mark and .notice == \"bad-input\") | .message" "$OUT"); no event"
    bad=1
else
    echo "# no python3 or no port id ($portid): forged datagram not tested"
    bad=0
fi

# A link moved to another namespace is gone from this one.
ip netns add "$ns-away"
mark=$(lines)
IP link set n0 netns "$ns-away"
expect_event "$mark" n0 removed
ok "a link moved to another network namespace: n0 removed"

mark=$(lines)
kill -USR1 "$dpid"
wait_for "resynced notice" 10 "select(input_line_number > $mark and .notice == \"resynced\")"
[[ -z $(events_after "$mark") ]] || fail "a resync with nothing missed said: $(events_after "$mark")"
ok "resync on request: $(jq -r "select(input_line_number > $mark and .notice == \"resynced\") | .message" "$OUT")"

[[ "$(belief)" == "$(truth "$ns")" ]] || fail "belief differs from truth: $(diff <(belief) <(truth "$ns") | tr '\n' ' ')"
no_repeats >/dev/null || fail "an event said twice in a row: $(no_repeats)"
stop_driver
has "select(.stats) | select(.stats.bad_input == $bad and .stats.lost == 0)" \
    || fail "stats: $(jq -c 'select(.stats)' "$OUT")"
ok "final state matches ip -j link; $(jq -c 'select(.stats) | .stats' "$OUT")"

echo "# 2. ENOBUFS: a 4 KiB receive buffer and a flood of $pairs veth pairs, half of it with the driver stopped"
NS=$ns-flood
ip netns add "$NS"
IP link set lo up
# Links that exist before the driver: the initial dump through a tiny buffer.
for i in $(seq 1 20); do echo "link add i$i type veth peer name j$i"; done >"$tmp/pre.batch"
IP -batch "$tmp/pre.batch"
start_driver "$NS" "$tmp/flood.out" --rcvbuf 4096
got=$(jq -c 'select(.kind == "link" and .initial)' "$OUT" | wc -l)
[[ $got == 41 ]] || fail "initial dump through 4 KiB: $got links, want 41"
ok "initial dump through a 4 KiB buffer: 41 links ($(jq -r 'select(.notice == "ready") | .message' "$OUT"))"

# The first half with the driver stopped, as a salved busy elsewhere: the
# overrun is certain, not left to how fast this machine is. The second half
# while it reads and resyncs: dumps racing notifications on a full buffer.
{
    for i in $(seq 1 "$pairs"); do echo "link add a$i type veth peer name b$i"; done
    for i in $(seq 1 "$pairs"); do echo "link set a$i up"; echo "link set b$i up"; done
    for i in $(seq 1 20); do echo "link set i$i up"; done
} >"$tmp/flood1.batch"
{
    for i in $(seq 1 "$pairs"); do
        (( i % 3 == 0 )) && echo "link set b$i down"
        (( i % 5 == 0 )) && echo "link del a$i"
        (( i % 7 == 0 && i % 5 != 0 )) && { echo "link set a$i down"; echo "link set a$i name c$i"; }
        (( i % 11 == 0 )) && { echo "link add x$i type veth peer name y$i"; echo "link del x$i"; }
    done
    for i in $(seq 1 10); do echo "link del i$i"; done
} >"$tmp/flood2.batch"
changes=$(( $(wc -l <"$tmp/flood1.batch") + $(wc -l <"$tmp/flood2.batch") ))
t0=$(now_ms)
kill -STOP "$dpid"
IP -batch "$tmp/flood1.batch"
kill -CONT "$dpid"
IP -batch "$tmp/flood2.batch"
t1=$(now_ms)
# The kernel applies carrier changes in deferred work (linkwatch, up to a
# second late): let the truth settle before the barrier.
prev="" cur=$(truth "$NS") tries=0
while [[ "$cur" != "$prev" ]]; do
    (( ++tries <= 10 )) || fail "the links did not settle in 12 s"
    sleep 1.2; prev=$cur; cur=$(truth "$NS")
done
mark=$(lines)
IP link add end0 type veth peer name end1
wait_for "barrier end0" 30 'select(.kind == "link" and .name == "end0")'
# Every lost has its resynced (the last dump may still run past the barrier).
deadline=$(( $(now_ms) + 30000 ))
while :; do
    lost=$(jq -c 'select(.notice == "lost")' "$OUT" | wc -l)
    resynced=$(jq -c 'select(.notice == "resynced")' "$OUT" | wc -l)
    (( lost > 0 && lost == resynced )) && break
    (( $(now_ms) < deadline )) || fail "lost $lost times, resynced $resynced times"
    sleep 0.1
done
t2=$(now_ms)
# What the driver saw after the barrier must not change the result; one
# more truth read after a last quiet moment.
sleep 0.3
stop_driver
[[ "$(belief)" == "$(truth "$NS")" ]] || fail "after the flood the driver believes otherwise than ip -j link: \
$(diff <(belief) <(truth "$NS") | grep '^[<>]' | head -n 20 | tr '\n' ' ')"
links=$(truth "$NS" | wc -l)
ok "after the flood the last event of each of $links links is the kernel's state (and every link gone was said removed)"
no_repeats >/dev/null || fail "an event said twice in a row: $(no_repeats)"
ok "no state said twice in a row for a link"
events=$(jq -c 'select(.kind == "link" and (.initial | not))' "$OUT" | wc -l)
rs_events=$(jq -c 'select(.kind == "link" and .resynced)' "$OUT" | wc -l)
stats=$(jq -c 'select(.stats) | .stats' "$OUT")
has 'select(.stats) | select(.stats.lost > 0 and .stats.resyncs == .stats.lost and .stats.resynced_events > 0
       and .stats.bad_input == 0)' || fail "stats: $stats"
ok "ENOBUFS seen and resynced: $changes batch commands in $((t1 - t0)) ms (the first half with the driver stopped), $events events ($rs_events by resyncs), \
$lost lost/resynced, settled $((t2 - t0)) ms after the flood began; $stats"
jq -r 'select(.notice == "resynced") | "# resynced: \(.message)"' "$OUT" | head -n 10
echo "1..$n"
