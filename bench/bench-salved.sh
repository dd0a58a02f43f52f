#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# bench/bench-salved.sh - what salved costs as a process, and how fast it acts.
#
#   (a) Footprint, on the host with a private dbus-daemon (no systemd needed;
#       salved only logs that it cannot reach systemd there):
#       time from exec to owning its bus name and to answering ListPlans
#       (a python3 client that sleeps on the bus, so it does not compete with
#       salved for the CPU), and VmRSS/VmHWM of an idle
#       salved one second later, with 0 and with 100 plans loaded.
#   (b) Latency, in a real systemd (the nspawn rig of tests/integration):
#       from a run's StartRun request to systemd's JobNew for the unit its
#       first step (unit.start) starts, and to the end of the run; once as
#       root (salved skips polkit for UID 0) and once as an unprivileged user
#       whom a polkit rule allows (salved asks polkitd: CheckAuthorization).
#       Measured by a python3 (dbus-python, GLib) client inside the container
#       that timestamps the signals as they arrive; also from spawning
#       `salvectl run PLAN`, which adds the CLI's own start-up.
#
# Prints figures as "name: value unit"; never fails on a number.
# usage: bench/bench-salved.sh [BUILD_DIR]     (default: build; run as root)
# The build must be configured with --prefix=/usr for (b), which installs it
# into a stage with `meson install --destdir`.
# Knobs: BENCH_ITERATIONS (20), BENCH_PLANS (100), BENCH_STARTS (5).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=${1:-build}
[[ -d "$build" ]] || { echo "bench-salved: no build dir '$build'" >&2; exit 1; }
build=$(cd "$build" && pwd)
iterations=${BENCH_ITERATIONS:-20}
n_plans=${BENCH_PLANS:-100}
n_starts=${BENCH_STARTS:-5}

. "$src/tests/integration/lib.sh"

die() { echo "bench-salved: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (the container rig needs it)"
for t in dbus-daemon busctl; do
    command -v "$t" >/dev/null || die "$t is missing"
done
/usr/bin/python3 -c 'import dbus, dbus.mainloop.glib; from gi.repository import GLib' 2>/dev/null \
    || die "/usr/bin/python3 lacks dbus-python or gi (apt-get install python3-dbus python3-gi)"
[[ -x "$build/src/salved" ]] || die "$build/src/salved is missing: build first (ninja -C $build)"

rig_init "bench-salved-$$"
work=$(rig_tmpdir host)

# ------------------------------------------------ (a) footprint, private bus

BUS_PID=""
stop_pid() {
    local pid=$1
    [[ -n "$pid" ]] || return 0
    kill "$pid" 2>/dev/null || return 0
    local i=0
    while kill -0 "$pid" 2>/dev/null && ((i < 50)); do sleep 0.1; i=$((i + 1)); done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2016 # expanded when the hook runs
rig_on_exit 'stop_pid "$BUS_PID"'

# A system-bus-like bus on a socket in the work dir that allows everything.
cat >"$work/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_requested_reply="true"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$work/bus.conf" --nofork --print-address=1 >"$work/bus.addr" 2>"$work/bus.log" &
BUS_PID=$!
for _ in $(seq 100); do [[ -s "$work/bus.addr" ]] && break; sleep 0.05; done
bus_addr=$(head -n1 "$work/bus.addr")
[[ -n "$bus_addr" ]] || die "dbus-daemon did not start: $(cat "$work/bus.log")"
export DBUS_SYSTEM_BUS_ADDRESS=$bus_addr

# N plan files: copies of plans/*.yaml, each with its own `plan:` name.
make_plans() {
    local dir=$1 n=$2 srcs i f base
    mapfile -t srcs < <(ls "$src"/plans/*.yaml)
    mkdir -p "$dir"
    for ((i = 0; i < n; i++)); do
        f=${srcs[i % ${#srcs[@]}]}
        base=$(basename "$f" .yaml)
        sed "s/^plan: .*/plan: $base-$i/" "$f" >"$dir/$base-$i.yaml"
    done
}

# The measuring client for (a): starts salved (already exec'd when Popen
# returns), sleeps on the bus until salved owns its name, then calls
# ListPlans once: the reply comes when salved's event loop runs. Polling
# instead would compete with salved for the CPU.
cat >"$work/footprint.py" <<'EOF'
import ctypes, os, signal, subprocess, sys, tempfile, time
import dbus, dbus.bus, dbus.mainloop.glib
from gi.repository import GLib

addr, salved, plans, n, starts, work = sys.argv[1:7]
n, starts = int(n), int(starts)
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(addr)
loop = GLib.MainLoop()
owned = []

def on_owner(name, old, new):
    if new:
        owned.append(time.monotonic())
        loop.quit()

bus.add_signal_receiver(on_owner, "NameOwnerChanged", "org.freedesktop.DBus", "org.freedesktop.DBus",
                        "/org/freedesktop/DBus", arg0="org.salve.Manager1")
libc = ctypes.CDLL(None, use_errno=True)

def die_with_parent():
    libc.prctl(1, signal.SIGTERM)       # PR_SET_PDEATHSIG: no salved outlives this client

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2

name_ms, ready_ms, rss, hwm = [], [], None, None
for rep in range(starts):
    state = tempfile.mkdtemp(prefix="state.", dir=work)
    owned.clear()
    with open(os.path.join(work, "salved-%d.log" % n), "w") as log:
        p = subprocess.Popen([salved, "--plans-dir=" + plans, "--state-dir=" + state, "--no-polkit"],
                             stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    t0 = time.monotonic()
    fired = []
    tid = GLib.timeout_add(20000, lambda: fired.append(1) or loop.quit() or False)
    loop.run()
    if not fired:
        GLib.source_remove(tid)
    if not owned:
        p.kill()
        sys.exit("salved did not take its bus name within 20 s (exit status %s)" % p.poll())
    listed = bus.get_object("org.salve.Manager1", "/org/salve/manager", introspect=False).ListPlans(
        dbus_interface="org.salve.Manager1", timeout=20)
    t1 = time.monotonic()
    if len(listed) != n:
        p.kill()
        sys.exit("salved lists %d plans, not %d" % (len(listed), n))
    name_ms.append((owned[0] - t0) * 1e3)
    ready_ms.append((t1 - t0) * 1e3)
    if rep == starts - 1:
        time.sleep(1)
        with open("/proc/%d/status" % p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    p.terminate()
    p.wait(10)

print("salved.startup_to_bus_name_%d_plans: %.1f ms (median of %d; exec to owning org.salve.Manager1)" %
      (n, median(name_ms), starts))
print("salved.startup_to_bus_ready_%d_plans: %.1f ms (median of %d, min %.1f; exec to the ListPlans reply listing them all)" %
      (n, median(ready_ms), starts, min(ready_ms)))
print("salved.idle_rss_%d_plans: %d kB (VmRSS, 1 s after ready)" % (n, rss))
print("salved.idle_hwm_%d_plans: %d kB (VmHWM, peak)" % (n, hwm))
EOF

# footprint N: salved with N plans, started BENCH_STARTS times.
footprint() {
    local n=$1 plans="$work/plans-$1"
    make_plans "$plans" "$n"
    /usr/bin/python3 "$work/footprint.py" "$bus_addr" "$build/src/salved" "$plans" "$n" "$n_starts" "$work" \
        || die "footprint with $n plans failed: $(tail -n 20 "$work/salved-$n.log" 2>/dev/null)"
}

echo "# (a) footprint: $build/src/salved on a private dbus-daemon, --no-polkit, no systemd on the bus"
footprint 0
footprint "$n_plans"
stop_pid "$BUS_PID"
BUS_PID=""
unset DBUS_SYSTEM_BUS_ADDRESS

# ------------------------------------------------ (b) latency, real systemd

if ! (rig_require) 2>"$work/require.log"; then
    echo "# (b) skipped: $(tr '\n' ' ' <"$work/require.log")"
    exit 0
fi

stage=$(rig_tmpdir stage)
state=$(rig_tmpdir state)
units=$(rig_tmpdir units)
meson install -C "$build" --destdir "$stage" --quiet >"$work/install.log" 2>&1 \
    || die "meson install failed: $(tail -n 20 "$work/install.log")"
[[ -x "$stage/usr/libexec/salved" ]] \
    || die "no $stage/usr/libexec/salved: configure the build with --prefix=/usr"

plan=bench-latency
unit=salve-bench-oneshot.service
cat >"$units/$unit" <<'EOF'
[Unit]
Description=salve benchmark: a trivial oneshot

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
EOF

mkdir -p "$stage/etc/salve/plans.d" "$stage/usr/local/lib/salve-bench"
# The example plans stay out of it: their triggers must not fire here.
for f in "$src"/plans/*.yaml; do
    ln -s /dev/null "$stage/etc/salve/plans.d/$(basename "$f")"
done
cat >"$stage/etc/salve/plans.d/$plan.yaml" <<EOF
plan: $plan
description: One unit.start of a trivial oneshot, for bench-salved.
trigger:
  - manual
concurrency: queue
steps:
  - id: start
    run: unit.start
    with: {unit: $unit}
    timeout: 30s
EOF

# An unprivileged user may start the plan's runs and stop its unit (the
# client does between runs), so the polkit path can be timed.
bench_user=salvebench
mkdir -p "$stage/etc/polkit-1/rules.d"
cat >"$stage/etc/polkit-1/rules.d/50-salve-bench.rules" <<EOF
polkit.addRule(function(action, subject) {
    if (subject.user == "$bench_user" &&
        (action.id == "org.salve.run" || action.id == "org.freedesktop.systemd1.manage-units"))
        return polkit.Result.YES;
});
EOF

# The measuring client. Signals are timestamped in their handlers while the
# GLib loop is idle waiting for them, so a reply and a signal are each seen
# when they arrive, in whatever order.
cat >"$stage/usr/local/lib/salve-bench/latency.py" <<'EOF'
import sys, time
import dbus, dbus.mainloop.glib
from gi.repository import GLib

unit, plan, n, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
warmup = 2
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
systemd = dbus.Interface(bus.get_object("org.freedesktop.systemd1", "/org/freedesktop/systemd1"),
                         "org.freedesktop.systemd1.Manager")
systemd.Subscribe()
salve = dbus.Interface(bus.get_object("org.salve.Manager1", "/org/salve/manager"), "org.salve.Manager1")
loop = GLib.MainLoop()
st = {}

def wake():
    if loop.is_running():
        loop.quit()

def on_job_new(job_id, path, u):
    if u == unit and st.get("armed") and "job" not in st:
        st["job"] = time.monotonic()
        wake()

def on_job_removed(job_id, path, u, result):
    if u != unit:
        return
    if st.get("stopping"):
        st["stopped"] = True
    elif st.get("armed") and "jobdone" not in st:
        st["jobdone"] = time.monotonic()
    wake()

def on_run_changed(run, p, state):
    if p == plan and st.get("armed") and state in ("succeeded", "failed", "cancelled"):
        st["finished"] = time.monotonic()
        st["state"] = str(state)
        wake()

bus.add_signal_receiver(on_job_new, "JobNew", "org.freedesktop.systemd1.Manager", "org.freedesktop.systemd1")
bus.add_signal_receiver(on_job_removed, "JobRemoved", "org.freedesktop.systemd1.Manager", "org.freedesktop.systemd1")
bus.add_signal_receiver(on_run_changed, "RunChanged", "org.salve.Manager1", "org.salve.Manager1")

def wait_for(pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not pred():
        left = deadline - time.monotonic()
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

def stop_unit():
    st.clear()
    st["stopping"] = True
    systemd.StopUnit(unit, "replace")
    wait_for(lambda: "stopped" in st, 10)
    st.clear()
    time.sleep(0.05)

def reply_ok(*args):
    st["reply"] = time.monotonic()
    wake()

def reply_error(e):
    st["error"] = str(e)
    wake()

# Each start function returns its start time and the events to wait for.
def via_systemd():
    st["armed"] = True
    t0 = time.monotonic()
    systemd.StartUnit(unit, "replace", reply_handler=reply_ok, error_handler=reply_error)
    return t0, ("job", "reply", "jobdone")

def via_bus():
    st["armed"] = True
    t0 = time.monotonic()
    salve.StartRun(plan, "bench-salved", reply_handler=reply_ok, error_handler=reply_error)
    return t0, ("job", "reply", "jobdone", "finished")

def via_salvectl():
    st["armed"] = True
    t0 = time.monotonic()
    pid = GLib.spawn_async(["salvectl", "run", plan], flags=GLib.SpawnFlags.SEARCH_PATH |
                           GLib.SpawnFlags.DO_NOT_REAP_CHILD | GLib.SpawnFlags.STDOUT_TO_DEV_NULL)[0]
    def exited(p, status):
        st["reply"] = time.monotonic()
        if status != 0:
            st["error"] = "salvectl run exited with status %d" % status
        wake()
    GLib.child_watch_add(GLib.PRIORITY_DEFAULT, pid, exited)
    return t0, ("job", "reply", "jobdone", "finished")

def measure(start, name):
    out = {}
    for i in range(warmup + n):
        stop_unit()
        t0, need = start()
        ok = wait_for(lambda: "error" in st or all(k in st for k in need))
        if "error" in st or not ok:
            print("# %s: iteration %d: %s" % (name, i, st.get("error", "timed out: %s" % sorted(st))))
            sys.exit(1)
        if i >= warmup:
            for k in need:
                out.setdefault(k, []).append((st[k] - t0) * 1e3)
            if "finished" in need:
                out.setdefault("react", []).append((st["finished"] - st["jobdone"]) * 1e3)
        st.clear()
    return out

def stats(xs):
    xs = sorted(xs)
    med = xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
    p95 = xs[max(0, -(-95 * len(xs) // 100) - 1)]
    return "min %.2f / median %.2f / p95 %.2f ms" % (xs[0], med, p95)

def report(prefix, name, xs, text):
    print("salved.%s.%s: %s (n=%d, %s)" % (prefix, name, stats(xs), n, text))

# systemd alone, for scale: what any client waits for with this unit.
if label == "root":
    out = measure(via_systemd, "systemd")
    report("systemd_only", "startunit_to_jobnew", out["job"], "StartUnit called directly, no salve")
    report("systemd_only", "startunit_to_jobremoved", out["jobdone"], "StartUnit called directly: the job is done")
    sys.stdout.flush()

for start, name, what in ((via_bus, "startrun", "the StartRun call"),
                          (via_salvectl, "salvectl", "spawning `salvectl run`")):
    out = measure(start, name)
    report(label, name + "_to_jobnew", out["job"], "from %s to JobNew of the first step's unit" % what)
    report(label, name + "_to_reply", out["reply"], "to the StartRun reply" if name == "startrun" else "to salvectl's exit")
    report(label, name + "_to_run_finished", out["finished"], "to RunChanged: succeeded")
    if name == "startrun":
        report(label, "jobremoved_to_run_finished", out["react"],
               "salved's reaction: job done -> step succeeded -> run succeeded, each journaled")
    sys.stdout.flush()
EOF

echo "# (b) latency in a real systemd (nspawn container, $iterations runs after 2 warm-ups each)"
t0=$(rig_now_ms)
rig_boot "$stage" "$state" "$units" || die "the container did not boot"
echo "# container booted and stage installed in $(($(rig_now_ms) - t0)) ms"

wait_salved() {
    rig_wait_for "salved active" 20 systemctl is-active -q salved.service || die "salved.service did not start"
    rig_wait_for "salved on the bus" 10 busctl call org.salve.Manager1 /org/salve/manager org.salve.Manager1 ListPlans \
        || die "salved is not on the bus"
}
latency() {
    local label=$1 user=$2
    local cmd=(/usr/bin/python3 /usr/local/lib/salve-bench/latency.py "$unit" "$plan" "$iterations" "$label")
    if [[ "$user" == root ]]; then
        rig_exec "${cmd[@]}"
    else
        rig_exec_as "$user" "${cmd[@]}"
    fi || { rig_exec journalctl -b -u salved.service --no-pager | tail -n 30 >&2; die "the latency client failed ($label)"; }
}

rig_exec systemctl start salved.service
wait_salved
latency root root
latency polkit_user "$bench_user"

rig_poweroff || true
