#!/bin/bash
# The block watcher (src/watch/block-watch.c) against real kernel uevents
# and real loop devices, through watch-driver, on the host:
# 1. initial enumeration; a loop device created and deleted with
#    LOOP_CTL_ADD/LOOP_CTL_REMOVE (real add/remove uevents); an ext4 and a
#    vfat image attached and detached (change uevents), identified by
#    libblkid (TYPE, UUID, LABEL); a forged uevent from a local process
#    (dropped and counted: only the kernel is believed); a second driver
#    with an empty --devfs (a private /dev: no node) still announces the
#    device, with no identity; a resync on request;
# 2. ENOBUFS: a driver with a 4 KiB receive buffer, stopped (SIGSTOP) while
#    hundreds of loop devices come and go, then another flood while it
#    runs; it must say lost and resynced, its events must alternate
#    added/removed per device, and the set of devices it believes present
#    must equal /sys/class/block: no net transition missed.
#
# Why the host and not an nspawn container: uevents reach both, but a
# container's /dev is private (no loop nodes appear in it), so libblkid
# could identify nothing there; the host's devtmpfs is the real thing. The
# private-/dev case is covered by the --devfs driver instead.
#
# usage: test-watch-block.sh PATH/TO/watch-driver PATH/TO/loop-ctl [FLOOD_COUNT]
# Needs root, /dev/loop-control, losetup, mkfs.ext4, mkfs.vfat, jq, python3
# (exits 77 otherwise). It uses loop numbers 7300, 8200-8599 and 8600-8999
# (test-triggers.sh uses 7600 up), skips if one exists already, deletes only
# the devices it created, and never touches loop devices other tests attach
# with `losetup -f`.
set -euo pipefail

driver=${1:?usage: test-watch-block.sh PATH/TO/watch-driver PATH/TO/loop-ctl [FLOOD_COUNT]}
loopctl=${2:?usage: test-watch-block.sh PATH/TO/watch-driver PATH/TO/loop-ctl [FLOOD_COUNT]}
flood=${3:-120}
[[ -x "$driver" && -x "$loopctl" ]] || { echo "test-watch-block: $driver or $loopctl is not an executable" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root for loop devices" >&2; exit 77; }
[[ -c /dev/loop-control ]] || { echo "SKIP: no /dev/loop-control" >&2; exit 77; }
for t in jq losetup mkfs.ext4 mkfs.vfat python3; do
    command -v $t >/dev/null || { echo "SKIP: $t is not installed" >&2; exit 77; }
done

L1=7300          # the identification tests
FLOOD1=8200      # flood 1: $flood devices from here (at most 400)
FLOOD2=8600      # flood 2 (while the driver runs): as many
((flood <= 400)) || { echo "test-watch-block: at most 400 devices per flood" >&2; exit 1; }
for n in $L1 $(seq $FLOOD1 $((FLOOD1 + flood - 1))) $(seq $FLOOD2 $((FLOOD2 + flood - 1))); do
    if [[ -e /sys/class/block/loop$n ]]; then
        echo "SKIP: loop$n exists already (someone else's?); not touching it" >&2
        exit 77
    fi
done

tmp=$(mktemp -d /tmp/salve-block-XXXXXX)
pids=()
mine=()          # loop numbers this test created and has not deleted yet
n=0
OUT=""
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
    n=$((n + 1))
    echo "not ok $n - $*"
    if [[ -n "$OUT" && -f "$OUT" ]]; then
        echo "# last driver output ($OUT):"
        tail -n 30 "$OUT" | sed 's/^/#   /'
    fi
    exit 1
}
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

cleanup() {
    local p n
    for p in "${pids[@]}"; do
        kill -CONT "$p" 2>/dev/null || true
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    for n in "${mine[@]}"; do
        [[ -n "$n" ]] || continue
        losetup -d "/dev/loop$n" 2>/dev/null || true
        "$loopctl" remove "$n" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_driver NAME ARGS...: runs watch-driver ARGS block into $tmp/NAME.out;
# its pid in $last_pid.
last_pid=""
start_driver() {
    local name=$1; shift
    "$driver" "$@" block >"$tmp/$name.out" 2>"$tmp/$name.err" &
    last_pid=$!
    pids+=("$last_pid")
}
# wait_line FILE FROM TIMEOUT JQ: the first line after line FROM of FILE
# that JQ selects, within TIMEOUT seconds; fails otherwise.
wait_line() {
    local file=$1 from=$2 timeout=$3 filter=$4 end line
    end=$(($(now_ms) + timeout * 1000))
    OUT=$file
    while :; do
        line=$(tail -n +"$((from + 1))" "$file" | jq -c "select($filter)" 2>/dev/null | head -n 1 || true)
        [[ -n "$line" ]] && { echo "$line"; return 0; }
        (($(now_ms) < end)) || return 1
        sleep 0.1
    done
}
lines() { wc -l <"$1"; }
# present FILE: the devices the driver's events say are present, sorted.
present() {
    jq -r 'select(.event) | "\(.event) \(.name)"' "$1" 2>/dev/null |
        awk '$1 == "added" { s[$2] = 1 } $1 == "removed" { delete s[$2] } END { for (k in s) print k }' | sort
}
# alternation FILE: prints the first event that breaks added/removed
# alternation for its device, if any.
alternation() {
    jq -r 'select(.event) | "\(.event) \(.name)"' "$1" 2>/dev/null |
        awk '$1 == "added" { if (s[$2]) { print "added twice: " $2; exit } s[$2] = 1 }
             $1 == "removed" { if (!s[$2]) { print "removed while absent: " $2; exit } delete s[$2] }'
}
sysfs_set() { # PATTERN: /dev/NAME for the /sys/class/block entries matching it
    local e
    for e in /sys/class/block/$1; do [[ -e $e ]] && echo "/dev/${e##*/}"; done | sort
}
in_range() { # FIRST LAST: filter /dev/loopN lines to FIRST <= N <= LAST
    awk -v a="$1" -v b="$2" 'match($0, /^\/dev\/loop[0-9]+$/) { k = substr($0, 10) + 0; if (k >= a && k <= b) print }'
}

# --- images ---------------------------------------------------------------
truncate -s 32M "$tmp/ext4.img" "$tmp/vfat.img"
mkfs.ext4 -q -F -L salve-ext4 -U 5a17e000-0000-4000-8000-000000000001 "$tmp/ext4.img"
mkfs.vfat -n SALVEFAT -i 5a17fa70 "$tmp/vfat.img" >/dev/null
gpt=""
if command -v sfdisk >/dev/null && command -v partx >/dev/null; then
    truncate -s 32M "$tmp/gpt.img"
    printf 'label: gpt\nstart=2048, size=30000, uuid=5A17BA5E-0000-4000-8000-000000000001, name="salve"\n' |
        sfdisk -q "$tmp/gpt.img"
    gpt=$tmp/gpt.img
fi

# --- 1. identification --------------------------------------------------
start_driver main; pid_main=$last_pid
ready=$(wait_line "$tmp/main.out" 0 30 '.notice == "ready"') || fail "driver says ready"
initial=$(jq -r 'select(.initial) | .name' "$tmp/main.out" | sort)
count=$(jq -r '.message | capture("^(?<n>[0-9]+) ").n' <<<"$ready")
[[ $(wc -l <<<"$initial") == "$count" ]] || fail "ready counts $count devices, $(wc -l <<<"$initial") initial events"
grep -qx /dev/loop0 <<<"$initial" || fail "loop0 in the initial enumeration"
ok "initial enumeration: $count devices announced (.initial), then ready: $(jq -r .message <<<"$ready")"
[[ -z $(jq -r 'select(.initial and .event != "added") | .name' "$tmp/main.out") ]] || fail "initial events are all added"

from=$(lines "$tmp/main.out")
"$loopctl" add $L1; mine+=("$L1")
ev=$(wait_line "$tmp/main.out" "$from" 20 ".name == \"/dev/loop$L1\"") || fail "added /dev/loop$L1 after LOOP_CTL_ADD"
jq -e '.event == "added" and (.initial | not) and (.resynced | not) and .fs_type == null' <<<"$ev" >/dev/null ||
    fail "LOOP_CTL_ADD: one 'added' with no identity (got $ev)"
ok "LOOP_CTL_ADD: added /dev/loop$L1, no identity (an empty loop device)"

# attach ext4: the empty device is removed and the filesystem added
from=$(lines "$tmp/main.out")
t0=$(now_ms)
losetup "/dev/loop$L1" "$tmp/ext4.img"
ev=$(wait_line "$tmp/main.out" "$from" 20 ".name == \"/dev/loop$L1\" and .event == \"added\"") || fail "added after attaching ext4"
t1=$(now_ms)
jq -e '.fs_type == "ext4" and .uuid == "5a17e000-0000-4000-8000-000000000001" and .label == "salve-ext4"' \
    <<<"$ev" >/dev/null || fail "ext4 identified: TYPE, UUID, LABEL (got $ev)"
first=$(tail -n +"$((from + 1))" "$tmp/main.out" | jq -c "select(.name == \"/dev/loop$L1\")" | head -n 1)
jq -e '.event == "removed" and .fs_type == null' <<<"$first" >/dev/null ||
    fail "the empty device is removed before the ext4 is added (got $first)"
ok "attach ext4: removed (empty), added TYPE=ext4 UUID LABEL ($((t1 - t0)) ms from losetup to the event)"
attach_ms=$((t1 - t0))

# A driver whose device directory is empty, as in a container with a
# private /dev: it cannot probe, and still announces the device.
mkdir "$tmp/nodev"
start_driver nodev --devfs "$tmp/nodev"; pid_nodev=$last_pid
wait_line "$tmp/nodev.out" 0 30 '.notice == "ready"' >/dev/null || fail "the --devfs driver says ready"
ev=$(jq -c "select(.name == \"/dev/loop$L1\")" "$tmp/nodev.out")
jq -e '.event == "added" and .initial and .fs_type == null' <<<"$ev" >/dev/null ||
    fail "no node under --devfs: the device is announced under its kernel name with no identity (got $ev)"
kill -TERM "$pid_nodev"; wait "$pid_nodev" || fail "the --devfs driver exits 0"
pids=("$pid_main")
ok "no device node (private /dev): /dev/loop$L1 still announced, identity NULL"

from=$(lines "$tmp/main.out")
losetup -d "/dev/loop$L1"
ev=$(wait_line "$tmp/main.out" "$from" 20 ".name == \"/dev/loop$L1\" and .event == \"removed\"") || fail "removed after detach"
jq -e '.fs_type == "ext4" and .uuid == "5a17e000-0000-4000-8000-000000000001"' <<<"$ev" >/dev/null ||
    fail "the removal carries the identity the device had (got $ev)"
wait_line "$tmp/main.out" "$from" 20 ".name == \"/dev/loop$L1\" and .event == \"added\" and .fs_type == null" >/dev/null ||
    fail "the empty device is added back after detach"
ok "detach: removed with TYPE=ext4 and its UUID, then the empty device added"

from=$(lines "$tmp/main.out")
t0=$(now_ms)
losetup "/dev/loop$L1" "$tmp/vfat.img"
ev=$(wait_line "$tmp/main.out" "$from" 20 ".name == \"/dev/loop$L1\" and .event == \"added\"") || fail "added after attaching vfat"
t1=$(now_ms)
jq -e '.fs_type == "vfat" and .uuid == "5A17-FA70" and .label == "SALVEFAT"' <<<"$ev" >/dev/null ||
    fail "vfat identified (got $ev)"
ok "attach vfat: added TYPE=vfat UUID=5A17-FA70 LABEL=SALVEFAT ($((t1 - t0)) ms)"
from=$(lines "$tmp/main.out")
losetup -d "/dev/loop$L1"
wait_line "$tmp/main.out" "$from" 20 ".name == \"/dev/loop$L1\" and .event == \"removed\" and .fs_type == \"vfat\"" >/dev/null ||
    fail "removed vfat after detach"
wait_line "$tmp/main.out" "$from" 20 ".name == \"/dev/loop$L1\" and .event == \"added\" and .fs_type == null" >/dev/null ||
    fail "empty again after detach"

# A GPT partition: its PARTUUID; a filesystem made on it (no udev here, so
# the "change" udev's inotify watch would send is written by hand).
if [[ -n "$gpt" ]]; then
    from=$(lines "$tmp/main.out")
    losetup -P "/dev/loop$L1" "$gpt"
    partx -a "/dev/loop$L1" 2>/dev/null || true     # the kernel may have scanned it already
    p1=/dev/loop${L1}p1
    ev=$(wait_line "$tmp/main.out" "$from" 20 ".name == \"$p1\" and .event == \"added\"") || fail "partition $p1 added"
    jq -e '.partuuid == "5a17ba5e-0000-4000-8000-000000000001" and .fs_type == null' <<<"$ev" >/dev/null ||
        fail "the partition's PARTUUID (got $ev)"
    from=$(lines "$tmp/main.out")
    mkfs.ext4 -q -F -L salve-part "$p1"
    echo change >"/sys/class/block/loop${L1}p1/uevent"
    ev=$(wait_line "$tmp/main.out" "$from" 20 ".name == \"$p1\" and .event == \"added\"") || fail "ext4 on $p1 added"
    jq -e '.fs_type == "ext4" and .label == "salve-part" and .partuuid == "5a17ba5e-0000-4000-8000-000000000001"' \
        <<<"$ev" >/dev/null || fail "ext4 in the partition, with its PARTUUID (got $ev)"
    from=$(lines "$tmp/main.out")
    partx -d "/dev/loop$L1" 2>/dev/null || true
    losetup -d "/dev/loop$L1"
    ev=$(wait_line "$tmp/main.out" "$from" 20 ".name == \"$p1\" and .event == \"removed\"") || fail "$p1 removed"
    jq -e '.fs_type == "ext4" and .partuuid == "5a17ba5e-0000-4000-8000-000000000001"' <<<"$ev" >/dev/null ||
        fail "the partition's removal carries its identity (got $ev)"
    ok "GPT partition: added with PARTUUID, re-identified after mkfs.ext4 (change), removed with both"
else
    echo "# skipped the partition test: no sfdisk or partx"
fi

from=$(lines "$tmp/main.out")
"$loopctl" remove $L1; mine=("${mine[@]/$L1}")
ev=$(wait_line "$tmp/main.out" "$from" 20 ".name == \"/dev/loop$L1\"") || fail "removed after LOOP_CTL_REMOVE"
jq -e '.event == "removed" and .fs_type == null' <<<"$ev" >/dev/null || fail "LOOP_CTL_REMOVE: removed (got $ev)"
ok "detach vfat, then LOOP_CTL_REMOVE: removed /dev/loop$L1"

# A local process (root, even) sends a uevent to the kernel's group.
from=$(lines "$tmp/main.out")
python3 - <<'EOF' || fail "sending a forged uevent"
import socket
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 15)
s.bind((0, 0))
m = (b"add@/devices/virtual/block/loop7399\0ACTION=add\0DEVPATH=/devices/virtual/block/loop7399\0"
     b"SUBSYSTEM=block\0DEVNAME=loop7399\0DEVTYPE=disk\0SEQNUM=1\0MAJOR=7\0MINOR=7399\0")
for i in range(50):
    s.sendto(m, (0, 1))
EOF
wait_line "$tmp/main.out" "$from" 10 '.notice == "bad-input" and (.message | test("not from the kernel"))' >/dev/null ||
    fail "a forged uevent is dropped as bad input"
sleep 0.3
[[ -z $(tail -n +"$((from + 1))" "$tmp/main.out" | jq -r 'select(.name == "/dev/loop7399") | .name') ]] ||
    fail "no event for the forged device"
said=$(tail -n +"$((from + 1))" "$tmp/main.out" | jq -r 'select(.notice == "bad-input") | .notice' | wc -l)
((said >= 1 && said <= 20)) || fail "50 forged uevents: at most 10 a second said (said $said)"
ok "50 uevents from a local process (nl_pid != 0): bad input, no event, $said of them said"

from=$(lines "$tmp/main.out")
kill -USR1 "$pid_main"
msg=$(wait_line "$tmp/main.out" "$from" 20 '.notice == "resynced"') || fail "resynced after SIGUSR1"
[[ -z $(tail -n +"$((from + 1))" "$tmp/main.out" | jq -r 'select(.notice == "lost") | .notice') ]] ||
    fail "a requested resync is not a loss"
ok "resync on request: $(jq -r .message <<<"$msg")"

# --- 2. ENOBUFS -----------------------------------------------------------
# loop$L1 again, empty, known to the flood driver before it stops; while
# it is stopped and its buffer full, the ext4 image is attached: that
# change is lost, and only the resync (diskseq changed) can find it.
"$loopctl" add $L1; mine+=("$L1")
start_driver flood --rcvbuf 4096; pid_flood=$last_pid
wait_line "$tmp/flood.out" 0 30 '.notice == "ready"' >/dev/null || fail "flood driver says ready"
wait_line "$tmp/flood.out" 0 30 ".name == \"/dev/loop$L1\" and .initial" >/dev/null || fail "flood driver knows loop$L1"
kill -STOP "$pid_flood"
for ((i = 0; i < flood; i++)); do mine+=("$((FLOOD1 + i))"); done
t0=$(now_ms)
ops=$("$loopctl" flood $FLOOD1 "$flood" 1 $((flood / 3))) || fail "flood 1"
t1=$(now_ms)
losetup "/dev/loop$L1" "$tmp/ext4.img"
kill -CONT "$pid_flood"
wait_line "$tmp/flood.out" 0 60 '.notice == "lost"' >/dev/null || fail "the driver says it lost events"
msg=$(wait_line "$tmp/flood.out" 0 60 '.notice == "resynced"') || fail "the driver resynced"
ok "flood 1 ($ops add/remove uevents in $((t1 - t0)) ms, driver stopped): lost, then $(jq -r .message <<<"$msg")"
ev=$(wait_line "$tmp/flood.out" 0 30 ".name == \"/dev/loop$L1\" and .event == \"added\" and .fs_type == \"ext4\"") ||
    fail "the ext4 attached while events were lost is found"
jq -e '.resynced and .uuid == "5a17e000-0000-4000-8000-000000000001"' <<<"$ev" >/dev/null ||
    fail "... by the resync (got $ev)"
ok "a loop attach lost in the flood is found by the resync (diskseq changed): added TYPE=ext4, .resynced"
losetup -d "/dev/loop$L1"

for ((i = 0; i < flood; i++)); do mine+=("$((FLOOD2 + i))"); done
t0=$(now_ms)
ops2=$("$loopctl" flood $FLOOD2 "$flood" 2 $((flood / 4))) || fail "flood 2"
t1=$(now_ms)
ok "flood 2 ($ops2 add/remove uevents in $((t1 - t0)) ms, driver running)"

# Both drivers must converge on the kernel's truth for these devices.
last=$((FLOOD2 + flood - 1))
converge() { # FILE: waits until the driver's set for our range equals sysfs's
    local file=$1 end want got
    end=$(($(now_ms) + 60000))
    want=$(sysfs_set 'loop*' | in_range $FLOOD1 $last)
    while :; do
        got=$(present "$file" | in_range $FLOOD1 $last)
        [[ "$got" == "$want" ]] && return 0
        (($(now_ms) < end)) || break
        sleep 0.2
    done
    echo "# want $(wc -l <<<"$want") devices, driver has $(wc -l <<<"$got"):"
    diff <(echo "$want") <(echo "$got") | head -n 10 | sed 's/^/#   /'
    return 1
}
OUT=$tmp/flood.out
converge "$tmp/flood.out" || fail "flood driver: present set equals /sys/class/block for loop$FLOOD1-loop$last"
expect=$(sysfs_set 'loop*' | in_range $FLOOD1 $last | wc -l)
[[ $expect == $((flood / 3 + flood / 4)) ]] || fail "sysfs has $expect of our devices, $((flood / 3 + flood / 4)) expected"
ok "flood driver believes exactly the $expect devices sysfs has in loop$FLOOD1-loop$last"
OUT=$tmp/main.out
converge "$tmp/main.out" || fail "main driver (default buffer): present set equals /sys/class/block"
ok "main driver (default buffer) agrees too"
bad=$(alternation "$tmp/flood.out"); [[ -z "$bad" ]] || fail "flood driver: added/removed alternate per device ($bad)"
bad=$(alternation "$tmp/main.out"); [[ -z "$bad" ]] || fail "main driver: added/removed alternate per device ($bad)"
ok "added and removed alternate per device in both drivers"

# The whole set, against concurrent tests' loop devices: eventually equal.
end=$(($(now_ms) + 20000))
while [[ "$(present "$tmp/flood.out")" != "$(sysfs_set '*')" ]]; do
    (($(now_ms) < end)) || fail "flood driver: the whole set equals /sys/class/block"
    sleep 0.2
done
ok "flood driver's whole set equals /sys/class/block ($(sysfs_set '*' | wc -l) devices)"

# Delete what is left; both drivers see it go.
"$loopctl" remove $L1
from=$(lines "$tmp/flood.out")
left=$(sysfs_set 'loop*' | in_range $FLOOD1 $last | sed 's|/dev/loop||')
# shellcheck disable=SC2086
"$loopctl" remove $left
mine=()
OUT=$tmp/flood.out
converge "$tmp/flood.out" || fail "flood driver sees the last $expect removed"
ok "the last $expect deleted: flood driver has none left"

for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p" || fail "driver $p exits 0"; done
pids=()
for f in "$tmp"/*.err; do
    [[ ! -s "$f" ]] || fail "$(basename "$f" .err) driver wrote to stderr: $(head -c 300 "$f")"
done
stats() { jq -c 'select(.stats) | .stats' "$tmp/$1.out"; }
s=$(stats flood)
jq -e '.lost >= 1 and .resyncs >= 1 and .resynced_events >= 1 and .bad_input == 0' <<<"$s" >/dev/null ||
    fail "flood driver stats: lost, resynced, resynced events, no bad input (got $s)"
flood_events=$(jq -r .events <<<"$s")
resyncs=$(jq -r .resyncs <<<"$s")
s=$(stats main)
jq -e '.bad_input == 50 and .lost == 0' <<<"$s" >/dev/null || fail "main driver stats: 50 bad inputs (forged), nothing lost (got $s)"
ok "stats: flood driver $(stats flood); main driver $s"
times=$(jq -r 'select(.notice == "resynced") | .message | capture(" in (?<ms>[0-9]+) ms").ms' "$tmp/flood.out" | paste -sd, -)
echo "# figures: flood $ops + $ops2 uevents; flood driver emitted $flood_events events, $resyncs resyncs" \
    "(times ms: $times); ext4 attach to event ${attach_ms} ms"
echo "1..$n"
