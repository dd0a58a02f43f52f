#!/bin/bash
# bench/bench-reload.sh - how long salved stops answering while it reloads a
# large plan set.
#
# Starts salved on a private dbus-daemon (no systemd needed) with N plan
# files of S exec steps each (--plans-dir, so no ownership checks), then a
# python3 client calls Reload and, until 2 s after Reload returns (salved
# frees the replaced set then), keeps one Get(PlansLoaded) call in flight
# at a time, timing each: the longest of
# those is how long salved's event loop was blocked at most while reloading
# (plus one bus round trip). Also reports how long the reload took, and
# salved's own line about the slices it read its files in.
#
# Prints figures as "name: value unit"; never fails on a number.
# usage: bench/bench-reload.sh [BUILD_DIR]      (default: build)
# Knobs: BENCH_PLANS (2000), BENCH_STEPS (300), BENCH_RELOADS (3).
# Needs dbus-daemon and /usr/bin/python3 with python3-dbus and python3-gi.
set -euo pipefail

build=${1:-build}
[[ -d "$build" ]] || { echo "bench-reload: no build dir '$build'" >&2; exit 1; }
build=$(cd "$build" && pwd)
n_plans=${BENCH_PLANS:-2000}
n_steps=${BENCH_STEPS:-300}
n_reloads=${BENCH_RELOADS:-3}

die() { echo "bench-reload: $*" >&2; exit 1; }
command -v dbus-daemon >/dev/null || die "dbus-daemon is missing"
/usr/bin/python3 -c 'import dbus, dbus.mainloop.glib; from gi.repository import GLib' 2>/dev/null \
    || die "/usr/bin/python3 lacks dbus-python or gi (apt-get install python3-dbus python3-gi)"
[[ -x "$build/src/salved" ]] || die "$build/src/salved is missing: build first (ninja -C $build)"

work=$(mktemp -d /tmp/bench-reload.XXXXXX)
BUS_PID="" SALVED_PID=""
cleanup() {
    local pid
    for pid in "$SALVED_PID" "$BUS_PID"; do
        [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

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

# N plans, each a chain of S exec steps.
mkdir -p "$work/plans" "$work/state" "$work/run"
awk -v n="$n_plans" -v s="$n_steps" -v dir="$work/plans" 'BEGIN {
    for (p = 0; p < n; p++) {
        f = sprintf("%s/p%04d.yaml", dir, p)
        printf "plan: p%04d\ntrigger: [manual]\nsteps:\n", p > f
        for (i = 0; i < s; i++) {
            printf "  - id: s%d\n    run: exec\n    with: {command: [/bin/true]}\n", i > f
            if (i > 0)
                printf "    needs: [s%d]\n", i - 1 > f
        }
        close(f)
    }
}'
bytes=$(du -sb "$work/plans" | cut -f1)

t0=$(date +%s%N)
"$build/src/salved" --plans-dir="$work/plans" --state-dir="$work/state" --runtime-dir="$work/run" --no-polkit \
    >"$work/salved.log" 2>&1 &
SALVED_PID=$!
for _ in $(seq 1200); do
    busctl --address="$bus_addr" get-property org.salve.Manager1 /org/salve/manager org.salve.Manager1 \
        PlansLoaded >/dev/null 2>&1 && break
    kill -0 "$SALVED_PID" 2>/dev/null || die "salved exited: $(cat "$work/salved.log")"
    sleep 0.05
done
t1=$(date +%s%N)

cat >"$work/client.py" <<'EOF'
import sys, time
import dbus, dbus.bus, dbus.mainloop.glib
from gi.repository import GLib

addr, reloads = sys.argv[1], int(sys.argv[2])
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(addr)
obj = bus.get_object("org.salve.Manager1", "/org/salve/manager")
mgr = dbus.Interface(obj, "org.salve.Manager1")
props = dbus.Interface(obj, "org.freedesktop.DBus.Properties")

for rep in range(reloads):
    loop = GLib.MainLoop()
    st = {"done": False, "lat": [], "t0": time.monotonic(), "took": None, "err": None}

    def probe():
        sent = time.monotonic()
        def ok(v):
            st["lat"].append(time.monotonic() - sent)
            if st["done"] and time.monotonic() >= st["until"]:
                loop.quit()
            else:
                GLib.idle_add(lambda: probe() and False)
        def bad(e):
            st["err"] = str(e)
            loop.quit()
        props.Get("org.salve.Manager1", "PlansLoaded", reply_handler=ok, error_handler=bad, timeout=120)

    # Probing goes on for a while after Reload returns: salved frees the
    # replaced set after answering, in slices too.
    def reloaded(*a):
        st["took"] = time.monotonic() - st["t0"]
        st["until"] = time.monotonic() + 2.0
        st["done"] = True
    def reload_failed(e):
        st["err"] = str(e)
        reloaded()

    mgr.Reload(reply_handler=reloaded, error_handler=reload_failed, timeout=600)
    probe()
    loop.run()
    lat = sorted(st["lat"])
    print("reload %d: took %.0f ms; %d calls answered during it and 2 s after; max %.1f ms, median %.1f ms%s" % (
        rep + 1, st["took"] * 1000, len(lat), lat[-1] * 1000, lat[len(lat) // 2] * 1000,
        "; error: " + st["err"] if st["err"] else ""))
    print("max-blocked-ms: %.1f" % (lat[-1] * 1000))
EOF
echo "plans: $n_plans of $n_steps steps ($((bytes / 1024)) KiB of YAML)"
echo "startup-load: $(((t1 - t0) / 1000000)) ms (first answer after exec; loaded synchronously before the bus)"
/usr/bin/python3 "$work/client.py" "$bus_addr" "$n_reloads"
grep -E "Reload read its files|Reloaded" "$work/salved.log" | tail -n 2 | sed 's/^/salved: /' || true
