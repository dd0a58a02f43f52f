#!/bin/bash
# shellcheck source-path=SCRIPTDIR disable=SC2016
# bench/bench-watch.sh - how fast and how cheaply salved's watchers act
# (issue 8), all figures from one run:
#
#   1. failure -> first job: a unit's main process exits 1
#      (ExecMainExitTimestampMonotonic) -> systemd's JobNew for the unit
#      that the first step of salve's plan starts (trigger: unit, state:
#      failed), beside systemd's own OnFailure= (the same exit -> JobNew of
#      the OnFailure= unit), interleaved, in one container: median, p99,
#      ratio. Both JobNew signals are timestamped on arrival by the same
#      python3 client (CLOCK_MONOTONIC, which the container shares), so
#      both include the same last hop through dbus-daemon. Also the split:
#      exit -> the unit's PropertiesChanged(failed) reaching a client (what
#      salved reacts to) -> JobNew.
#   2. link down -> trigger: `ip link set bl1 down` on a veth in the
#      container; the RTM_NEWLINK seen by the client's own rtnetlink
#      socket -> salved's RunChanged and the first step's JobNew.
#      uevent -> trigger: LOOP_CTL_ADD of a loop device on the host; the
#      kernel's "add" uevent seen by the client's own uevent socket (on the
#      host; salved gets the same broadcast in the container's network
#      namespace) -> RunChanged and JobNew of a `device: added` plan.
#   3. md sync_action idle -> the md watcher's event, in the md VM
#      (tests/vm/run-md-tests.sh bench), only with --md (about 2.5 min more).
#   4. idle cost: salved with 100 plans arming every watcher (units, links,
#      block devices, md) in the container: context switches over
#      BENCH_IDLE_SECS (a wakeup needs one) with the shipped unit
#      (WatchdogSec=30s), and VmRSS/VmHWM; then, for half as long each, with
#      WatchdogSec=0, and with that and no block plans, beside a count of
#      what happened outside salved meanwhile (kernel uevents on the whole
#      machine, systemd's signals on the container's bus).
#   5. uevent storm: BENCH_STORM_RATE synthetic "change" uevents a second
#      for BENCH_STORM_SECS (bench/uevent-storm, achieved rate measured by
#      an independent listener) on loop devices of our own, while a child
#      creates and deletes 30 more (real add/remove), against the block
#      watcher run by tests/integration/watch-driver on the host; then its
#      view must equal /sys/class/block (no net transition missed), and its
#      stats (lost, resyncs) and peak RSS are printed. salved in the
#      container, with a block watcher armed, gets the same storm: its
#      context switches, VmHWM and "lost events" notices are printed too.
#
# Prints figures as "name: value unit"; never fails on a number.
# usage: sudo bench/bench-watch.sh [--md] [BUILD_DIR]    (default: build)
# The build must be configured with --prefix=/usr and built (it is installed
# into a stage with `meson install --destdir --no-rebuild`). About 3.5-4 min.
# Uses loop7950-loop7990, which nothing else here uses, and skips the block
# parts if any of them exists.
# Knobs: BENCH_N (100, per side, for 1), BENCH_LINK_N (30), BENCH_DEVICE_N
# (30), BENCH_IDLE_SECS (60), BENCH_STORM_RATE (10000), BENCH_STORM_SECS (10),
# BENCH_STATE_TMPFS (0; 1: salved's state directory on a tmpfs, so that its
# journal's fdatasync costs nothing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
with_md=0
build=build
for a in "$@"; do
    case "$a" in
        --md) with_md=1 ;;
        -h|--help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) build=$a ;;
    esac
done
[[ -d "$build" ]] || { echo "bench-watch: no build dir '$build'" >&2; exit 1; }
build=$(cd "$build" && pwd)
n_fail=${BENCH_N:-100}
n_link=${BENCH_LINK_N:-30}
n_device=${BENCH_DEVICE_N:-30}
idle_secs=${BENCH_IDLE_SECS:-60}
storm_rate=${BENCH_STORM_RATE:-10000}
storm_secs=${BENCH_STORM_SECS:-10}

# shellcheck source=../tests/integration/lib.sh
source "$src/tests/integration/lib.sh"

die() { echo "bench-watch: $*" >&2; exit 1; }
t_start=$(rig_now_ms)

[[ $(id -u) -eq 0 ]] || die "must run as root (the container rig and loop devices need it)"
/usr/bin/python3 -c 'import dbus, dbus.mainloop.glib; from gi.repository import GLib' 2>/dev/null \
    || die "/usr/bin/python3 lacks dbus-python or gi (apt-get install python3-dbus python3-gi)"
for f in src/salved tests/integration/watch-driver bench/uevent-storm; do
    [[ -x "$build/$f" ]] || die "$build/$f is missing: build first (ninja -C $build)"
done
(rig_require) 2>/dev/null || die "the container rig's tools are missing: $(rig_require 2>&1 | tr '\n' ' ')"

rig_init "bench-watch-$$"
work=$(rig_tmpdir host)
stage=$(rig_tmpdir stage)
state=$(rig_tmpdir state)
units=$(rig_tmpdir units)

# ------------------------------------------------ loop devices of our own

CHANGE_FIRST=7950 CHANGE_COUNT=8         # storm targets; the first holds ext4
FLIP_FIRST=7960 FLIP_COUNT=30            # created and deleted during the storm
DEV_LOOP=7990                            # the device trigger's
block_ok=1 block_why=""
if [[ ! -c /dev/loop-control ]]; then
    block_ok=0 block_why="no /dev/loop-control"
elif ! command -v jq >/dev/null || ! command -v losetup >/dev/null || ! command -v mkfs.ext4 >/dev/null; then
    block_ok=0 block_why="needs jq, losetup and mkfs.ext4"
else
    for ((i = CHANGE_FIRST; i <= DEV_LOOP; i++)); do
        if [[ -e /sys/class/block/loop$i ]]; then
            block_ok=0 block_why="loop$i exists already (someone else's?); not touching it"
            break
        fi
    done
fi
MY_LOOPS=()
WD_PID=""
loopctl() { # add|remove N: LOOP_CTL_ADD / LOOP_CTL_REMOVE
    /usr/bin/python3 -c 'import fcntl, os, sys
fd = os.open("/dev/loop-control", os.O_RDWR)
fcntl.ioctl(fd, 0x4C80 if sys.argv[1] == "add" else 0x4C81, int(sys.argv[2]))' "$1" "$2"
}
cleanup_block() {
    local n
    if [[ -n "$WD_PID" ]]; then
        kill "$WD_PID" 2>/dev/null || true
        wait "$WD_PID" 2>/dev/null || true
    fi
    losetup -d "/dev/loop$CHANGE_FIRST" 2>/dev/null || true
    for n in "${MY_LOOPS[@]}"; do
        [[ -e /sys/class/block/loop$n ]] && { loopctl remove "$n" 2>/dev/null || true; }
    done
    return 0
}
# shellcheck disable=SC2016 # expanded when the hook runs
rig_on_exit 'cleanup_block'

# ------------------------------------------------ stage, units, plans

meson install -C "$build" --destdir "$stage" --no-rebuild --quiet >"$work/install.log" 2>&1 \
    || die "meson install failed: $(tail -n 20 "$work/install.log")"
[[ -x "$stage/usr/libexec/salved" ]] \
    || die "no $stage/usr/libexec/salved: configure the build with --prefix=/usr"

# The failing units: the same shape, one watched by salve, one with OnFailure=.
for u in bench-fail bench-fail-onf; do
    {
        echo "[Unit]"
        echo "StartLimitIntervalSec=0"
        [[ $u == bench-fail-onf ]] && echo "OnFailure=bench-onfailure.service"
        echo "[Service]"
        echo "Type=oneshot"
        echo "ExecStart=/bin/sh -c 'exit 1'"
    } >"$units/$u.service"
done
# What reacts: trivial oneshots that stay active until the client stops them.
for u in bench-onfailure bench-target bench-link-target bench-dev-target; do
    printf '[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n' \
        >"$units/$u.service"
done

plans=$stage/etc/salve/plans.d
mkdir -p "$plans" "$stage/usr/local/lib/salve-bench"
# The example plans stay out of it: their triggers must not fire here.
for f in "$src"/plans/*.yaml; do
    ln -s /dev/null "$plans/$(basename "$f")"
done
bench_plan() { # NAME TRIGGER TARGET_UNIT
    cat >"$plans/$1.yaml" <<EOF
plan: $1
description: bench-watch, the first step starts $3.
trigger:
  - $2
trigger-limit: {burst: 0}
steps:
  - id: start
    run: unit.start
    with: {unit: $3}
    timeout: 30s
EOF
}
bench_plan bench-fail "unit: {name: bench-fail.service, state: failed}" bench-target.service
bench_plan bench-link "link: {name: bl1, state: down}" bench-link-target.service
bench_plan bench-device "device: {match: /dev/loop$DEV_LOOP, event: added}" bench-dev-target.service
# 97 more, a quarter for each watcher, so that 100 plans arm all four; none
# of them matches anything here.
for ((i = 0; i < 97; i++)); do
    case $((i % 4)) in
        0) trig="unit: {name: idle-$i.service, state: failed}" ;;
        1) trig="link: {name: idle$i, state: down}" ;;
        2) trig="device: {match: /dev/idle$i, event: added}" ;;
        3) trig="raid: {array: md$((100 + i)), event: degraded}" ;;
    esac
    cat >"$plans/idle-$i.yaml" <<EOF
plan: idle-$i
trigger:
  - $trig
steps:
  - id: note
    run: exec
    with: {command: [/bin/true]}
EOF
done
n_plans=$(find "$plans" -name "bench-*.yaml" -o -name "idle-*.yaml" | wc -l)

# ------------------------------------------------ the measuring clients

# Shared by the clients: a GLib loop that is idle while it waits, so each
# signal is timestamped (time.monotonic: CLOCK_MONOTONIC) as it arrives.
cat >"$stage/usr/local/lib/salve-bench/benchlib.py" <<'EOF'
import math, time
import dbus, dbus.mainloop.glib
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
loop = GLib.MainLoop()
st = {}
mono = time.monotonic

def wake():
    if loop.is_running():
        loop.quit()

def wait_for(pred, timeout=30.0):
    deadline = mono() + timeout
    while not pred():
        left = deadline - mono()
        if left <= 0:
            return False
        fired = []
        def expire():
            fired.append(1)
            wake()
            return False
        tid = GLib.timeout_add(int(left * 1000) + 1, expire)
        loop.run()
        if not fired:
            GLib.source_remove(tid)
    return True

def sleep(secs):
    wait_for(lambda: False, secs)

class Systemd:
    def __init__(self, bus):
        self.bus = bus
        self.m = dbus.Interface(bus.get_object("org.freedesktop.systemd1", "/org/freedesktop/systemd1"),
                                "org.freedesktop.systemd1.Manager")
        self.m.Subscribe()
        bus.add_signal_receiver(self.on_job_new, "JobNew", "org.freedesktop.systemd1.Manager",
                                "org.freedesktop.systemd1")
        bus.add_signal_receiver(self.on_job_removed, "JobRemoved", "org.freedesktop.systemd1.Manager",
                                "org.freedesktop.systemd1")
        bus.add_signal_receiver(self.on_run_changed, "RunChanged", "org.salve.Manager1", "org.salve.Manager1")

    def on_job_new(self, job_id, path, u):
        if st.get("armed") and u == st.get("want_job") and "job" not in st:
            st["job"] = mono()
            wake()

    def on_job_removed(self, job_id, path, u, result):
        if st.get("stopping") and u == st.get("stop_unit"):
            st["stopped"] = True
        elif st.get("armed") and u == st.get("want_job") and "jobdone" not in st:
            st["jobdone"] = mono()
        elif st.get("armed") and u == st.get("fail_unit") and "faildone" not in st:
            st["faildone"] = mono()
        wake()

    def on_run_changed(self, run, plan, state):
        if not st.get("armed") or plan != st.get("plan"):
            return
        if "run_seen" not in st:
            st["run_seen"] = mono()
        if state in ("succeeded", "failed", "cancelled"):
            st["finished"] = mono()
            st["run_state"] = str(state)
        wake()

    def stop(self, unit):
        st.clear()
        st["stopping"] = True
        st["stop_unit"] = unit
        self.m.StopUnit(unit, "replace")
        wait_for(lambda: "stopped" in st, 10)
        st.clear()

    def prop(self, unit, iface, name):
        o = self.bus.get_object("org.freedesktop.systemd1", self.m.LoadUnit(unit))
        return o.Get(iface, name, dbus_interface="org.freedesktop.DBus.Properties")

def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, math.ceil(p * len(xs) / 100) - 1)]

def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

def stats(xs):
    return "median %.2f / p99 %.2f ms (min %.2f, max %.2f, n=%d)" % (median(xs), pct(xs, 99), min(xs), max(xs), len(xs))

def report(name, xs, text):
    print("%s: %s (%s)" % (name, stats(xs), text))
EOF

# 1. failure -> first job, salve and OnFailure= interleaved.
cat >"$stage/usr/local/lib/salve-bench/fail.py" <<'EOF'
import sys
sys.path.insert(0, "/usr/local/lib/salve-bench")
from benchlib import *

n = int(sys.argv[1])
plan, fail, target, onf_fail, onf = "bench-fail", "bench-fail.service", "bench-target.service", \
    "bench-fail-onf.service", "bench-onfailure.service"
warmup = 3
bus = dbus.SystemBus()
sd = Systemd(bus)
paths = {}

# systemd sends every Unit property in each PropertiesChanged, so the one
# that queues the start job still says "failed" (the last run's): count
# only a "failed" that follows another state.
def on_props(iface, changed, invalidated, path=None):
    if (not st.get("armed") or paths.get(path) != st.get("fail_unit") or iface != "org.freedesktop.systemd1.Unit"
            or "ActiveState" not in changed):
        return
    if changed["ActiveState"] != "failed":
        st["left_failed"] = True
    elif st.get("left_failed") and "failed_seen" not in st:
        st["failed_seen"] = mono()
        wake()

for u in (fail, onf_fail):
    p = sd.m.LoadUnit(u)
    paths[str(p)] = u
    bus.add_signal_receiver(on_props, "PropertiesChanged", "org.freedesktop.DBus.Properties",
                            "org.freedesktop.systemd1", p, path_keyword="path")

def one(fail_unit, job_unit, salve):
    sd.stop(job_unit)
    sleep(0.02)
    st.update(armed=True, fail_unit=fail_unit, want_job=job_unit, plan=plan if salve else None)
    t0 = mono()
    sd.m.StartUnit(fail_unit, "replace", reply_handler=lambda *a: None,
                   error_handler=lambda e: st.update(error=str(e)))
    need = ("job", "failed_seen", "faildone") + (("finished",) if salve else ("jobdone",))
    if not wait_for(lambda: "error" in st or all(k in st for k in need)) or "error" in st:
        sys.exit("# %s: %s" % (fail_unit, st.get("error", "timed out: have %s, need %s" % (sorted(st), need))))
    if salve and st.get("run_state") != "succeeded":
        sys.exit("# the run of %s ended %s" % (plan, st.get("run_state")))
    exit_ts = int(sd.prop(fail_unit, "org.freedesktop.systemd1.Service", "ExecMainExitTimestampMonotonic")) / 1e6
    if exit_ts < t0:
        sys.exit("# %s: ExecMainExitTimestampMonotonic is older than the start" % fail_unit)
    r = dict(job=st["job"] - exit_ts, seen=st["failed_seen"] - exit_ts, react=st["job"] - st["failed_seen"])
    if salve:
        r["run"] = st["run_seen"] - exit_ts
    st.clear()
    return r

out = {"salve": [], "onf": []}
for i in range(warmup + n):
    order = (True, False) if i % 2 else (False, True)
    for salve in order:
        r = one(fail, target, True) if salve else one(onf_fail, onf, False)
        if i >= warmup:
            out["salve" if salve else "onf"].append({k: v * 1e3 for k, v in r.items()})

def col(side, k):
    return [x[k] for x in out[side]]

report("fail_to_job.salve", col("salve", "job"),
       "main process exit -> JobNew of the unit salve's first step starts")
report("fail_to_job.onfailure", col("onf", "job"),
       "main process exit -> JobNew of the OnFailure= unit, systemd alone")
ms, mo = median(col("salve", "job")), median(col("onf", "job"))
print("fail_to_job.ratio_of_medians: %.2f (salve %.2f ms / OnFailure= %.2f ms; target <= 1.2)" % (ms / mo, ms, mo))
print("fail_to_job.salve_p99: %.2f ms (target <= 5 ms)" % pct(col("salve", "job"), 99))
report("fail_to_job.salve.exit_to_failed_signal", col("salve", "seen"),
       "exit -> the unit's PropertiesChanged ActiveState=failed reaching a client: systemd and dbus-daemon")
report("fail_to_job.salve.failed_signal_to_job", col("salve", "react"),
       "that signal -> JobNew: salved's reaction (journal, StartUnit) and systemd making the job, 2 more bus hops")
report("fail_to_job.salve.exit_to_run_changed", col("salve", "run"),
       "exit -> salved's first RunChanged for the run")
report("fail_to_job.onfailure.exit_to_failed_signal", col("onf", "seen"),
       "the same split for OnFailure=: exit -> PropertiesChanged(failed)")
EOF

# 2a. link down -> trigger, in the container.
cat >"$stage/usr/local/lib/salve-bench/link.py" <<'EOF'
import socket, struct, subprocess, sys
sys.path.insert(0, "/usr/local/lib/salve-bench")
from benchlib import *

n, link = int(sys.argv[1]), sys.argv[2]
plan, target = "bench-link", "bench-link-target.service"
warmup = 2
bus = dbus.SystemBus()
sd = Systemd(bus)
ifindex = int(open("/sys/class/net/%s/ifindex" % link).read())
rt = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, socket.NETLINK_ROUTE)
rt.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
rt.bind((0, 1))                                  # RTMGRP_LINK

def on_rtnl(fd, cond):
    t = mono()
    while True:
        try:
            data = rt.recv(65536)
        except BlockingIOError:
            break
        off = 0
        while off + 16 <= len(data):
            ln, typ = struct.unpack_from("=IH", data, off)
            if ln < 16:
                break
            if typ == 16 and ln >= 32:           # RTM_NEWLINK, struct ifinfomsg
                _, _, _, idx, flags, _ = struct.unpack_from("=BBHiII", data, off + 16)
                if idx == ifindex and not flags & 1 and st.get("armed") and "down" not in st:
                    st["down"] = t
                    wake()
            off += (ln + 3) & ~3
    return True

GLib.io_add_watch(rt.fileno(), GLib.IO_IN, on_rtnl)
res = {"job": [], "run": [], "cmd": []}
for i in range(warmup + n):
    subprocess.run(["ip", "link", "set", link, "up"], check=True)
    sleep(0.05)
    sd.stop(target)
    st.update(armed=True, want_job=target, plan=plan)
    t0 = mono()
    GLib.spawn_async(["/usr/sbin/ip", "link", "set", link, "down"])
    if not wait_for(lambda: all(k in st for k in ("down", "job", "run_seen", "finished"))):
        sys.exit("# link %s: timed out: have %s" % (link, sorted(st)))
    if i >= warmup:
        res["job"].append((st["job"] - st["down"]) * 1e3)
        res["run"].append((st["run_seen"] - st["down"]) * 1e3)
        res["cmd"].append((st["down"] - t0) * 1e3)
    st.clear()
report("link_down_to_run_changed", res["run"], "RTM_NEWLINK without IFF_UP at an rtnetlink listener -> salved's RunChanged")
report("link_down_to_job", res["job"], "the same -> JobNew of the first step's unit")
report("link_down.spawn_ip_to_netlink", res["cmd"], "for scale: spawning `ip link set down` -> that RTM_NEWLINK")
EOF

# 2b. uevent -> trigger: on the host, on the container's bus.
cat >"$work/device.py" <<'EOF'
import fcntl, os, socket, sys
sys.path.insert(0, sys.argv[4])
from benchlib import *

addr, n, devnum = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
plan, target = "bench-device", "bench-dev-target.service"
warmup = 2
bus = dbus.bus.BusConnection(addr)
sd = Systemd(bus)
ue = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, 15)  # NETLINK_KOBJECT_UEVENT
ue.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
ue.bind((0, 1))
want = ("add@/devices/virtual/block/loop%d" % devnum).encode()

def on_uevent(fd, cond):
    t = mono()
    while True:
        try:
            data, (pid, _) = ue.recvfrom(65536)
        except BlockingIOError:
            break
        if pid == 0 and data.split(b"\0", 1)[0] == want and st.get("armed") and "uevent" not in st:
            st["uevent"] = t
            wake()
    return True

def remove(ctl):
    for _ in range(50):
        try:
            fcntl.ioctl(ctl, 0x4C81, devnum)     # LOOP_CTL_REMOVE
            return
        except OSError:
            sleep(0.1)
    sys.exit("# cannot delete loop%d" % devnum)

GLib.io_add_watch(ue.fileno(), GLib.IO_IN, on_uevent)
ctl = os.open("/dev/loop-control", os.O_RDWR)
res = {"job": [], "run": []}
for i in range(warmup + n):
    sd.stop(target)
    st.update(armed=True, want_job=target, plan=plan)
    fcntl.ioctl(ctl, 0x4C80, devnum)             # LOOP_CTL_ADD
    ok = wait_for(lambda: all(k in st for k in ("uevent", "job", "run_seen", "finished")))
    r = dict(st)
    st.clear()
    remove(ctl)
    if not ok:
        sys.exit("# loop%d: timed out: have %s" % (devnum, sorted(r)))
    if i >= warmup:
        res["job"].append((r["job"] - r["uevent"]) * 1e3)
        res["run"].append((r["run_seen"] - r["uevent"]) * 1e3)
    sleep(0.1)                                   # salved sees the removal
report("uevent_to_run_changed", res["run"], "the kernel's add uevent at a listener -> salved's RunChanged (device: added)")
report("uevent_to_job", res["job"], "the same -> JobNew of the first step's unit")
EOF
cp "$stage/usr/local/lib/salve-bench/benchlib.py" "$work/"

# 4. What else happened while salved idled: kernel uevents on the whole
# machine (salved's block watcher must read each one to see its subsystem)
# and signals on the container's bus (the units watcher matches systemd's).
cat >"$work/idle-count.py" <<'EOF'
import collections, socket, sys
sys.path.insert(0, sys.argv[3])
from benchlib import *

addr, secs = sys.argv[1], float(sys.argv[2])
bus = dbus.bus.BusConnection(addr)
signals = collections.Counter()
bus.add_signal_receiver(lambda *a, **k: signals.update(["%s %s" % (k["member"], k["path"].rsplit("/", 1)[-1])]),
                        member_keyword="member", path_keyword="path", bus_name="org.freedesktop.systemd1")
ue = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, 15)
ue.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
ue.bind((0, 1))
subsystems = collections.Counter()

def on_uevent(fd, cond):
    while True:
        try:
            data, (pid, _) = ue.recvfrom(65536)
        except BlockingIOError:
            return True
        if pid == 0:
            sub = [f[10:] for f in data.split(b"\0") if f.startswith(b"SUBSYSTEM=")]
            subsystems.update([sub[0].decode(errors="replace") if sub else "?"])

GLib.io_add_watch(ue.fileno(), GLib.IO_IN, on_uevent)
sleep(secs)
top = ", ".join("%s %d" % kv for kv in subsystems.most_common(3)) or "none"
topsig = ", ".join("%s %d" % kv for kv in signals.most_common(3)) or "none"
print("%d %d %d %d kernel uevents on the machine (%s), %d signals from systemd on the container's bus (%s)" %
      (sum(subsystems.values()), subsystems["block"], sum(signals.values()), sum(subsystems.values()), top,
       sum(signals.values()), topsig))
EOF

# BENCH_STATE_TMPFS=1: salved's state directory (its run journal) on a
# tmpfs, where fdatasync costs nothing: the difference is the disk's share.
if [[ ${BENCH_STATE_TMPFS:-0} == 1 ]]; then
    mount -t tmpfs -o mode=0700 bench-watch-state "$state"
    rig_on_exit 'umount "$state"'
fi

# ------------------------------------------------ boot

echo "# bench-watch: $n_plans plans; container with real systemd; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); state dir on $(stat -f -c %T "$state")"
t0=$(rig_now_ms)
rig_boot "$stage" "$state" "$units" || die "the container did not boot"
rig_exec systemctl start salved.service
wait_salved() {
    rig_wait_for "salved active" 20 systemctl is-active -q salved.service || die "salved.service did not start"
    rig_wait_for "salved on the bus" 10 busctl call org.salve.Manager1 /org/salve/manager org.salve.Manager1 ListPlans \
        || die "salved is not on the bus"
}
wait_salved
rig_exec ip link add bl0 type veth peer name bl1
rig_exec ip link set bl0 up
rig_exec ip link set bl1 up
echo "# container booted, salved up in $(($(rig_now_ms) - t0)) ms"
CONTAINER_BUS="unix:path=/proc/$RIG_PID1/root/run/dbus/system_bus_socket"
watching=$(rig_exec journalctl -u salved -o cat | grep -E '^(Watching|Cannot watch)' | sort -u | tr '\n' ' ')
echo "# salved says: $watching"

salved_pid() { rig_exec systemctl show -p MainPID --value salved.service; }
ctx_of() { # PID: voluntary + involuntary context switches
    rig_exec awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s }' "/proc/$1/status"
}
mem_of() { # PID FIELD
    rig_exec awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# ------------------------------------------------ 4. idle cost

idle() { # LABEL SECONDS TEXT
    local pid c0 c1 v0 v1 t0 t1 others n_ue n_sig counter
    sleep 3                                      # let start-up settle
    pid=$(salved_pid)
    /usr/bin/python3 "$work/idle-count.py" "$CONTAINER_BUS" "$2" "$work" >"$work/idle-count.out" &
    counter=$!
    sleep 0.5                                    # the counter is listening
    c0=$(ctx_of "$pid")
    v0=$(rig_exec awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$pid/status")
    t0=$(rig_now_ms)
    wait "$counter" || true
    c1=$(ctx_of "$pid")
    v1=$(rig_exec awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$pid/status")
    t1=$(rig_now_ms)
    read -r n_ue _ n_sig others <"$work/idle-count.out" || others="(the counter failed)"
    awk -v c=$((c1 - c0)) -v v=$((v1 - v0)) -v ms=$((t1 - t0)) -v l="$1" -v t="$3" 'BEGIN {
        printf "idle.%s.wakeups_per_min: %.1f /min (%d context switches, %d voluntary, in %.1f s; %s; target 0)\n",
               l, c * 60000 / ms, c, v, ms / 1000, t }'
    awk -v u="${n_ue:-0}" -v g="${n_sig:-0}" -v ms=$((t1 - t0)) -v l="$1" -v o="$others" 'BEGIN {
        printf "idle.%s.outside_events_per_min: %.1f /min (in the same window: %s)\n", l, (u + g) * 60000 / ms, o }'
    IDLE_PID=$pid
}
echo "# 4. idle cost: $n_plans plans, every watcher armed, nothing happening in the container"
idle shipped "$idle_secs" "salved.service as shipped: WatchdogSec=30s"
echo "idle.vmrss: $(mem_of "$IDLE_PID" VmRSS) kB (VmHWM $(mem_of "$IDLE_PID" VmHWM) kB; $n_plans plans, all watchers)"
# Where the wakeups come from: without the watchdog, then without block plans too.
mkdir -p "$RIG_BOOT_DIR/units/salved.service.d"
printf '[Service]\nWatchdogSec=0\n' >"$RIG_BOOT_DIR/units/salved.service.d/bench-watchdog.conf"
rig_exec systemctl daemon-reload
rig_exec systemctl restart salved.service
wait_salved
idle no_watchdog $(((idle_secs + 1) / 2)) "a drop-in WatchdogSec=0"
rig_exec sh -c 'mkdir -p /run/bench-held && cd /etc/salve/plans.d && grep -l "^  - device:" idle-*.yaml bench-device.yaml | xargs mv -t /run/bench-held'
rig_exec systemctl reload salved.service
idle no_watchdog_no_block $(((idle_secs + 1) / 2)) "WatchdogSec=0 and the device plans moved away: no block watcher"
rig_exec sh -c 'mv /run/bench-held/*.yaml /etc/salve/plans.d/'
rm -r "$RIG_BOOT_DIR/units/salved.service.d"
rig_exec systemctl daemon-reload
rig_exec systemctl restart salved.service
wait_salved

# ------------------------------------------------ 1. failure -> first job

echo "# 1. failure -> first job: $n_fail each, interleaved, after 3 warm-ups each"
t0=$(rig_now_ms)
rig_exec /usr/bin/python3 /usr/local/lib/salve-bench/fail.py "$n_fail" \
    || { rig_exec journalctl -b -u salved.service --no-pager | tail -n 30 >&2; die "the failure client failed"; }
echo "# (took $(($(rig_now_ms) - t0)) ms)"

# ------------------------------------------------ 2. link and uevent

echo "# 2. link down -> trigger: $n_link runs after 2 warm-ups"
rig_exec /usr/bin/python3 /usr/local/lib/salve-bench/link.py "$n_link" bl1 \
    || { rig_exec journalctl -b -u salved.service --no-pager | tail -n 30 >&2; die "the link client failed"; }

if ((block_ok)); then
    echo "# 2. uevent -> trigger: $n_device runs of LOOP_CTL_ADD loop$DEV_LOOP on the host, after 2 warm-ups"
    MY_LOOPS+=("$DEV_LOOP")
    /usr/bin/python3 "$work/device.py" "$CONTAINER_BUS" \
        "$n_device" "$DEV_LOOP" "$work" \
        || { rig_exec journalctl -b -u salved.service --no-pager | tail -n 30 >&2; die "the device client failed"; }
else
    echo "uevent_to_job: not measured ($block_why)"
fi

# ------------------------------------------------ 3. md, in the VM

if ((with_md)); then
    echo "# 3. md: tests/vm/run-md-tests.sh bench (TCG VM)"
    if [[ -x "$src/tests/vm/run-md-tests.sh" && -f "$src/tests/vm/guest/md-bench.sh" ]]; then
        rc=0
        "$src/tests/vm/run-md-tests.sh" --build "$build" bench >"$work/md.log" 2>&1 || rc=$?
        line=$(grep -m1 'bench md-resync-finished' "$work/md.log" || true)
        if [[ -n "$line" ]]; then
            echo "md.sync_action_idle_to_event: ${line#*bench md-resync-finished: } (tests/vm/guest/md-bench.sh in the VM)"
        else
            echo "md: not measured (tests/vm/run-md-tests.sh bench exited $rc: $(grep -E 'SKIP|FAIL|not ok' "$work/md.log" | head -n 3 | tr '\n' ' '))"
        fi
    else
        echo "md: not measured (no tests/vm/run-md-tests.sh with a guest md-bench.sh in this tree)"
    fi
else
    echo "md: not measured (needs the md VM: run with --md, about 2.5 min more)"
fi

# ------------------------------------------------ 5. uevent storm

if ((block_ok)); then
    echo "# 5. uevent storm: $storm_rate/s for $storm_secs s against watch-driver's block watcher (host)"
    for ((i = CHANGE_FIRST; i < CHANGE_FIRST + CHANGE_COUNT; i++)); do
        MY_LOOPS+=("$i")
        loopctl add "$i"
    done
    for ((i = FLIP_FIRST; i < FLIP_FIRST + FLIP_COUNT; i++)); do MY_LOOPS+=("$i"); done
    truncate -s 16M "$work/ext4.img"
    mkfs.ext4 -q -F -L bench-storm "$work/ext4.img"
    losetup "/dev/loop$CHANGE_FIRST" "$work/ext4.img"
    "$build/tests/integration/watch-driver" block >"$work/wd.out" 2>"$work/wd.err" &
    WD_PID=$!
    rig_wait_for_host "watch-driver ready" 30 grep -q '"notice":"ready"' "$work/wd.out" || die "watch-driver is not ready"
    spid=$(salved_pid)
    s_ctx0=$(ctx_of "$spid")
    s_hwm0=$(mem_of "$spid" VmHWM)
    s_lost0=$(rig_exec journalctl -u salved -o cat | grep -c 'block watcher may have lost events' || true)
    wd_rss0=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$WD_PID/status")
    ( # VmRSS of watch-driver every 0.5 s, to show it stays bounded
        while kill -0 "$WD_PID" 2>/dev/null; do
            awk '$1 == "VmRSS:" { print $2 }' "/proc/$WD_PID/status" 2>/dev/null || true
            sleep 0.5
        done
    ) >"$work/wd.rss" &
    rss_pid=$!
    files=()
    for ((i = CHANGE_FIRST; i < CHANGE_FIRST + CHANGE_COUNT; i++)); do files+=("/sys/class/block/loop$i/uevent"); done
    "$build/bench/uevent-storm" "$storm_rate" "$storm_secs" "$FLIP_FIRST" "$FLIP_COUNT" 0 "${files[@]}" >"$work/storm.out" \
        || die "uevent-storm failed"
    kv() { sed -n "s/^$1=//p" "$work/storm.out"; }
    # Converge: the watcher's set of our devices must equal sysfs's.
    present() {
        jq -r 'select(.event) | "\(.event) \(.name)"' "$work/wd.out" 2>/dev/null |
            awk '$1 == "added" { s[$2] = 1 } $1 == "removed" { delete s[$2] } END { for (k in s) print k }' |
            grep -E "^/dev/loop79[5-8][0-9]$" | sort || true
    }
    want=$(for e in /sys/class/block/loop79[5-8][0-9]; do [[ -e $e ]] && echo "/dev/${e##*/}"; done | sort)
    t0=$(rig_now_ms)
    converged=0
    while (($(rig_now_ms) - t0 < 30000)); do
        [[ "$(present)" == "$want" ]] && { converged=1; break; }
        sleep 0.2
    done
    conv_ms=$(($(rig_now_ms) - t0))
    wd_hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$WD_PID/status")
    kill "$WD_PID"
    wait "$WD_PID" || true
    WD_PID=""
    wait "$rss_pid" 2>/dev/null || true
    s_ctx1=$(ctx_of "$spid")
    s_hwm1=$(mem_of "$spid" VmHWM)
    s_lost1=$(rig_exec journalctl -u salved -o cat | grep -c 'block watcher may have lost events' || true)
    wdstats=$(jq -c 'select(.stats) | .stats' "$work/wd.out")
    ext4=$(jq -r "select(.name == \"/dev/loop$CHANGE_FIRST\" and .event) | \"\(.event) \(.fs_type)\"" "$work/wd.out" | tail -n 1)
    n_missing=$(comm -23 <(echo "$want") <(present) | grep -c . || true)
    extra=$(comm -13 <(echo "$want") <(present) | grep -c . || true)
    echo "storm.rate: $(kv rate) uevents/s achieved ($(kv change_writes) change writes in $(kv seconds) s, target $storm_rate/s; most behind schedule at once: $(kv max_behind))"
    echo "storm.loop_add_remove: $(( $(kv loop_adds) + $(kv loop_removes) )) ioctls ($(kv loop_adds) LOOP_CTL_ADD, $(kv loop_removes) LOOP_CTL_REMOVE, $(kv ioctl_errors) failed; the real transitions among the changes)"
    echo "storm.kernel_sent: $(kv listener_received) uevents (an independent listener: $(kv listener_change) change, $(kv listener_add) add, $(kv listener_remove) remove, $(kv listener_enobufs) ENOBUFS; includes others' uevents)"
    echo "storm.watch_driver.stats: $wdstats (events = added/removed announced; lost = ENOBUFS seen)"
    echo "storm.watch_driver.missed_transitions: $((n_missing + extra)) ($n_missing devices present but not believed, $extra believed but gone; converged=$converged after ${conv_ms} ms; sysfs has $(grep -c . <<<"$want") of ours)"
    echo "storm.watch_driver.ext4_device: ${ext4:-none} (loop$CHANGE_FIRST holds ext4 and got 1/$CHANGE_COUNT of the changes: its last event must be 'added ext4')"
    echo "storm.watch_driver.vmhwm: $wd_hwm kB (VmRSS $wd_rss0 kB before; max VmRSS sampled during: $(sort -n "$work/wd.rss" | tail -n 1) kB)"
    echo "storm.salved.context_switches: $((s_ctx1 - s_ctx0)) (salved in the container, block watcher armed, same storm)"
    echo "storm.salved.vmhwm: $s_hwm1 kB (before the storm: $s_hwm0 kB)"
    echo "storm.salved.lost_notices: $((s_lost1 - s_lost0)) (\"block watcher may have lost events\" in its journal)"
else
    echo "storm: not measured ($block_why)"
fi

rig_poweroff || true
echo "# bench-watch took $(( ($(rig_now_ms) - t_start) / 1000 )) s"
