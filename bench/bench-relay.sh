#!/bin/bash
# shellcheck disable=SC2016
# bench-relay.sh BUILD [--quick]: the relay of issue 10, in the rig of
# tests/integration/test-relay.sh (a real systemd container; receivers and a
# real Alertmanager in a network namespace the container shares).
#   1. burst: one run of a plan with N (1,000) `human: approve` steps and
#      no needs, so all N start waiting in one batch; from the run's first
#      transition (created_usec) to the last of N human-needed webhooks
#      accepted by the receiver (its record time `t`); duplicates by key.
#      The same to a bare sink (answers 200 at once), which shows salved's
#      own rate; the phases from salved's journal (the last step waiting,
#      the last "needs a person" notice). For scale, receiver.py fed N
#      signed webhooks by a python client with as many connections as
#      salved uses per target (8).
#   2. Alertmanager (group_wait 0s, grouped by run): a human step starting
#      to wait (its started_usec) to the receiver's group notification with
#      SalveHumanNeeded; for scale, an alert POSTed straight to Alertmanager
#      to the same receiver.
#   3. outage: the webhook receiver stopped, a burst of N queued, the
#      receiver back after BENCH_OUTAGE_SECS (60): from the receiver ready to
#      the last notification accepted, and duplicates by key; with the
#      default backoff (retry-initial 1s, retry-max 5m) and with retry-max
#      2s (salved restarted: the outbox takes its limits when it opens).
#   salved's VmRSS/VmHWM and the outbox file's size along the way.
# Prints figures; fails only when the rig cannot do what it measures.
# Knobs: BENCH_RELAY_N (1000), BENCH_OUTAGE_SECS (60), BENCH_REPS (3),
# BENCH_AM_REPS (5), BENCH_PARTS ("burst floor am outage": which to run),
# BENCH_STATE_TMPFS=1 (salved's state directory, its run journal and
# outbox, on a tmpfs: fdatasync costs nothing there, so the difference is
# the disk's share). --quick: N 100, outage 5 s, 3 reps of each.
set -euo pipefail
build=${1:?usage: bench-relay.sh BUILD [--quick]}
[[ ${2:-} == --quick ]] && quick=1 || quick=0
N=${BENCH_RELAY_N:-$((quick ? 100 : 1000))}
OUTAGE=${BENCH_OUTAGE_SECS:-$((quick ? 5 : 60))}
REPS=${BENCH_REPS:-3}
AM_REPS=${BENCH_AM_REPS:-$((quick ? 3 : 5))}
PARTS=" ${BENCH_PARTS:-burst floor am outage} "
[[ -x $build/src/salved ]] || { echo "no $build/src/salved: build first" >&2; exit 1; }
SALVE_BUILD_ROOT=$(cd "$build" && pwd)
export SALVE_BUILD_ROOT RIG_NO_DUMP=${RIG_NO_DUMP:-1}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/salve-lib.sh
source "$here/../tests/integration/salve-lib.sh"
# shellcheck source=tests/integration/relay-lib.sh
source "$here/../tests/integration/relay-lib.sh"

salve_setup benchrelay$$
if [[ ${BENCH_STATE_TMPFS:-0} == 1 ]]; then
    mount -t tmpfs -o mode=0700 bench-relay-state "$SALVE_STATE"
    rig_on_exit 'umount "$SALVE_STATE"'
fi
relay_require
relay_require_am
relay_netns
rm -f "$SALVE_STAGE"/etc/salve/plans.d/*.yaml
{
    printf 'plan: bench-many\nowner: bench\nsteps:\n'
    for i in $(seq 1 "$N"); do printf '  - id: h%04d\n    human: approve\n' "$i"; done
} >"$SALVE_STAGE/etc/salve/plans.d/bench-many.yaml"
sed 's/^plan: bench-many/plan: bench-sink/' "$SALVE_STAGE/etc/salve/plans.d/bench-many.yaml" \
    >"$SALVE_STAGE/etc/salve/plans.d/bench-sink.yaml"
printf 'plan: bench-am\nowner: bench\nsteps:\n  - id: ask\n    human: approve\n' \
    >"$SALVE_STAGE/etc/salve/plans.d/bench-am.yaml"
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml

secret="whsec_$(head -c 24 /dev/urandom | base64)"
relay_receiver_start wh webhook --secret "$secret"
relay_receiver_start amr alertmanager
# One group per run, so each run's first alert meets group_wait, not group_interval.
relay_am_config "$RELAY_DIR/am.yml" "$(relay_url amr /)"
sed -i 's/group_by: \[alertname, instance\]/group_by: [alertname, instance, salve_run]/' "$RELAY_DIR/am.yml"
relay_am_start am "$RELAY_DIR/am.yml"
# A sink that answers 200 at once and logs "TIME WEBHOOK-ID" (no signature
# check, no JSON): what salved sends at most, when the receiver costs ~nothing.
cat >"$RELAY_DIR/sink.py" <<'PY'
import asyncio, os, sys, time
log = open(sys.argv[1], "a", buffering=1)
async def watch_parent(pid):
    while True:   # gone with the benchmark, as the receivers are
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        await asyncio.sleep(0.5)
async def conn(r, w):
    try:
        while True:
            head = await r.readuntil(b"\r\n\r\n")
            n, wid = 0, "-"
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                k = k.strip().lower()
                if k == b"content-length":
                    n = int(v)
                elif k == b"webhook-id":
                    wid = v.strip().decode()
            if n:
                await r.readexactly(n)
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            log.write(f"{time.time():.6f} {wid}\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    w.close()
async def main():
    srv = await asyncio.start_server(conn, "127.0.0.1", 0)
    open(sys.argv[2], "w").write(f"{srv.sockets[0].getsockname()[1]}\n")
    asyncio.ensure_future(watch_parent(int(sys.argv[3])))
    await srv.serve_forever()
asyncio.run(main())
PY
_relay_ns
"${_RELAY_NS[@]}" "$RELAY_PY" "$RELAY_DIR/sink.py" "$RELAY_DIR/sink.log" "$RELAY_DIR/sink.port" $$ \
    </dev/null >"$RELAY_DIR/sink.out" 2>&1 &
sink_pid=$!     # nsenter execs: the sink itself
rig_on_exit "kill $sink_pid 2>/dev/null || true"
for _ in $(seq 1 200); do [[ -s $RELAY_DIR/sink.port ]] && break; sleep 0.05; done
sink_url="http://127.0.0.1:$(cat "$RELAY_DIR/sink.port")/hook"

mkdir -p "$SALVE_STAGE/etc/salve/secrets"
printf '%s' "$secret" >"$SALVE_STAGE/etc/salve/secrets/hook"
chmod 0700 "$SALVE_STAGE/etc/salve/secrets"
chmod 0600 "$SALVE_STAGE/etc/salve/secrets/hook"
relay_yaml() { # [OUTBOX_LINES]
    cat <<EOF
channels:
  hook:
    type: webhook
    url: $(relay_url wh /hook)
    secret: file:/etc/salve/secrets/hook
    events: [human-needed]
    plans: [bench-many]
  sink:
    type: webhook
    url: $sink_url
    secret: file:/etc/salve/secrets/hook
    events: [human-needed]
    plans: [bench-sink]
  am:
    type: alertmanager
    urls: [$(relay_url am)]
    plans: [bench-am]
    resend: 1m
    resolved-for: 10s
${1:-}
EOF
}
relay_yaml >"$SALVE_STAGE/etc/salve/relay.yaml"
chmod 0644 "$SALVE_STAGE/etc/salve/relay.yaml"
salve_boot >/dev/null
rig_exec salvectl verify /etc/salve/plans.d >/dev/null || { echo "the bench's configuration does not verify" >&2; exit 1; }

# ---- helpers ----
median() { sort -g | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'; }
spread() { sort -g | awk '{a[NR] = $1} END {if (NR) printf "%s-%s", a[1], a[NR]}'; }
fmt_ms() { awk -v v="$1" 'BEGIN {printf "%.1f", v}'; }
# The receiver's records mentioning RUN (grep first: the log grows to MBs).
run_records() { grep -F -- "$2" "$RELAY_DIR/$1.jsonl" 2>/dev/null || true; }
accepted_of() { # RECEIVER RUN: "count first_t last_t" of accepted human-needed webhooks
    run_records "$1" "$2" | jq -s -r --arg r "$2" '[.[] | select(.verdict == "accepted" and .json.data.run_id == $r
        and .json.type == "salve.human-needed") | .t] | "\(length) \(min // 0) \(max // 0)"'
}
dups_of() { # RECEIVER RUN: keys delivered more than once (accepted twice, or "duplicate")
    run_records "$1" "$2" | jq -s -r '[.[] | select(.key != null and (.verdict == "accepted" or .verdict == "duplicate"))]
        | group_by(.key) | map(select(length > 1)) | length'
}
wait_accepted() { # RECEIVER RUN N SECS
    local deadline=$(( $(rig_now_ms) + $4 * 1000 ))
    while (( $(run_records "$1" "$2" | grep -c '"verdict": "accepted"' || true) < $3 )); do
        (( $(rig_now_ms) < deadline )) || { echo "timed out waiting for $3 notifications of run $2 at $1" >&2; return 1; }
        sleep 0.25
    done
}
pid_status() { # "VmRSS VmHWM" of salved, kB
    local pid
    pid=$(rig_exec systemctl show -p MainPID --value salved)
    rig_exec awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r, h}' "/proc/$pid/status"
}
outbox_size() { stat -c %s "$SALVE_STATE/outbox.journal" 2>/dev/null || echo 0; }
outbox_counts() { # RUN: "pending retrying dead delivered" of its entries
    rig_exec salvectl --json outbox | jq -r --arg r "$1" '[.entries[] | select(.run == $r) | .state] as $s
        | [("pending", "retrying", "dead", "delivered") as $w | [$s[] | select(. == $w)] | length] | join(" ")'
}
cancel_run() {
    rig_exec salvectl cancel "$1" >/dev/null
    salve_wait "$1" cancelled 60 >/dev/null
}
memory() { # LABEL
    local rss hwm
    read -r rss hwm < <(pid_status)
    echo "salved memory, $1: VmRSS $rss kB, VmHWM $hwm kB; outbox file $(outbox_size) bytes"
}

echo "load at start: $(uptime | sed 's/.*load average: //')"
echo "config: N=$N human steps, outage ${OUTAGE}s, $REPS reps ($AM_REPS for Alertmanager)"
sleep 2
memory "idle after boot (3 plans)"

# ---- 1. a burst of N human-needed webhooks ----
# salved's journal: "CREATED LAST_WAITING LAST_TOLD" (epoch s) of RUN's entries, as journald
# stamped them: the run started, the last step waiting, the last "needs a person: ... told".
journal_split() {
    rig_exec journalctl -o json --output-fields=MESSAGE,__REALTIME_TIMESTAMP "SALVE_RUN=$1" | jq -s -r '
        def at(re; f): [.[] | select(.MESSAGE | test(re)) | .__REALTIME_TIMESTAMP | tonumber] | f;
        "\(at(" started "; min) / 1e6) \(at(" waiting"; max) / 1e6) \(at("needs a person"; max) / 1e6)"'
}
# the sink's "count first last dups" for RUN
sink_of() {
    grep -F -- "/$1/" "$RELAY_DIR/sink.log" 2>/dev/null | awk '{n++; if (!f || $1 < f) f = $1; if ($1 > l) l = $1; c[$2]++}
        END {d = 0; for (k in c) if (c[k] > 1) d++; printf "%d %.6f %.6f %d\n", n, f, l, d}'
}
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b - a) * 1000}'; }
burst() { # PLAN wh|sink LABEL
    local tot=() spans=() enq=() told=() rep id cnt first last dups st created jc jw jt
    for rep in $(seq 1 "$REPS"); do
        id=$(rig_exec salvectl run "$1")
        if [[ $2 == wh ]]; then
            wait_accepted wh "$id" "$N" 300
            sleep 0.5   # anything after the N-th (a duplicate) shows up too
            read -r cnt first last < <(accepted_of wh "$id")
            dups=$(dups_of wh "$id")
        else
            local deadline=$(( $(rig_now_ms) + 300000 ))
            until (( $(grep -c -F -- "/$id/" "$RELAY_DIR/sink.log" || true) >= N )); do
                (( $(rig_now_ms) < deadline )) || { echo "timed out waiting for the sink" >&2; exit 1; }
                sleep 0.25
            done
            sleep 0.5
            read -r cnt first last dups < <(sink_of "$id")
        fi
        st=$(rig_exec salvectl --json status "$id")
        created=$(jq '.created_usec / 1e6' <<<"$st")
        read -r jc jw jt < <(journal_split "$id")
        tot+=("$(ms_between "$created" "$last")")
        spans+=("$(ms_between "$first" "$last")")
        enq+=("$(ms_between "$jc" "$jw")")
        told+=("$(ms_between "$jc" "$jt")")
        echo "burst, $3, $rep: run created -> last of $cnt accepted ${tot[-1]} ms; -> first accepted $(ms_between "$created" "$first") ms; first -> last accepted ${spans[-1]} ms; journal: run started -> last step waiting ${enq[-1]} ms, -> last \"needs a person\" ${told[-1]} ms; $dups duplicate keys"
        cancel_run "$id"
    done
    echo "burst, $3: $N human-needed webhooks, run created -> last accepted: median $(printf '%s\n' "${tot[@]}" | median) ms (spread $(printf '%s\n' "${tot[@]}" | spread); target 1000 ms)"
    echo "burst, $3: first -> last accepted: median $(printf '%s\n' "${spans[@]}" | median) ms; journal, run started -> last step waiting: median $(printf '%s\n' "${enq[@]}" | median) ms, -> last \"needs a person\" (journaled, told the relay): median $(printf '%s\n' "${told[@]}" | median) ms"
}
if [[ $PARTS == *" burst "* ]]; then
    burst bench-many wh "to receiver.py"
    burst bench-sink sink "to a bare sink"
    memory "after $((2 * REPS)) bursts"
fi

# For scale: the receiver fed N signed webhooks straight, 8 connections.
floor=()
[[ $PARTS == *" floor "* ]] && for rep in $(seq 1 "$REPS"); do
    floor+=("$(relay_in "$RELAY_PY" - "$(relay_url wh /hook)" "$secret" "$N" "floor$rep" <<'PY'
import base64, hashlib, hmac, http.client, json, sys, threading, time, urllib.parse
url, secret, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
key = base64.b64decode(secret[6:])
u = urllib.parse.urlsplit(url)
todo = list(range(n)); lock = threading.Lock()
def worker():
    c = http.client.HTTPConnection(u.hostname, u.port)
    while True:
        with lock:
            if not todo: break
            i = todo.pop()
        wid = f"{tag}-{i}"
        ts = str(int(time.time()))
        body = json.dumps({"type": "bench.floor", "timestamp": ts, "data": {"i": i}}).encode()
        sig = base64.b64encode(hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
        c.request("POST", u.path, body, {"content-type": "application/json", "webhook-id": wid,
                                         "webhook-timestamp": ts, "webhook-signature": "v1," + sig})
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status
t0 = time.time()
ts = [threading.Thread(target=worker) for _ in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print(f"{(time.time() - t0) * 1000:.1f}")
PY
)")
done
[[ $PARTS != *" floor "* ]] || echo "burst, for scale: $N signed webhooks posted straight to the same receiver (python, 8 keep-alive connections): median $(printf '%s\n' "${floor[@]}" | median) ms (spread $(printf '%s\n' "${floor[@]}" | spread))"

# ---- 2. Alertmanager ----
am=() amd=()
[[ $PARTS == *" am "* ]] && for rep in $(seq 1 "$AM_REPS"); do
    id=$(rig_exec salvectl run bench-am)
    sel="select(.verdict == \"accepted\" and .json.status == \"firing\" and ([.json.alerts[] | select(.labels.alertname == \"SalveHumanNeeded\" and .labels.salve_run == \"$id\")] | length > 0))"
    deadline=$(( $(rig_now_ms) + 20000 ))
    until [[ -n $(run_records amr "$id" | jq -c "$sel" | head -n1) ]]; do
        (( $(rig_now_ms) < deadline )) || { echo "no SalveHumanNeeded for $id at Alertmanager's receiver" >&2; exit 1; }
        sleep 0.1
    done
    t=$(run_records amr "$id" | jq -s "[.[] | $sel | .t] | min")
    started=$(rig_exec salvectl --json status "$id" | jq '.steps[] | select(.id == "ask") | .started_usec')
    lat=$(awk -v a="$started" -v b="$t" 'BEGIN {printf "%.1f", b * 1000 - a / 1000}')
    am+=("$lat")
    # the same path without salve: an alert POSTed to Alertmanager at once
    label="direct-$$-$rep"
    t0=$(relay_in "$RELAY_PY" - "$(relay_url am /api/v2/alerts)" "$label" <<'PY'
import json, sys, time, urllib.request
body = json.dumps([{"labels": {"alertname": "BenchDirect", "instance": "bench", "salve_run": sys.argv[2]},
                    "generatorURL": "http://salve.test/"}]).encode()
req = urllib.request.Request(sys.argv[1], body, {"Content-Type": "application/json"})
t0 = time.time()
urllib.request.urlopen(req, timeout=5).read()
print(f"{t0:.6f}")
PY
)
    deadline=$(( $(rig_now_ms) + 20000 ))
    until [[ -n $(run_records amr "$label" | head -n1) ]]; do
        (( $(rig_now_ms) < deadline )) || { echo "no BenchDirect at Alertmanager's receiver" >&2; exit 1; }
        sleep 0.1
    done
    t=$(run_records amr "$label" | jq -s '[.[].t] | min')
    dlat=$(ms_between "$t0" "$t")
    amd+=("$dlat")
    echo "alertmanager $rep: step waiting -> receiver's SalveHumanNeeded $lat ms; an alert POSTed straight -> receiver $dlat ms"
    rig_exec salvectl approve "$id" ask >/dev/null
    salve_wait "$id" succeeded 20 >/dev/null
done
[[ $PARTS != *" am "* ]] || echo "alertmanager: step waiting -> group notification with SalveHumanNeeded: median $(printf '%s\n' "${am[@]}" | median) ms (spread $(printf '%s\n' "${am[@]}" | spread); target 500 ms)"
[[ $PARTS != *" am "* ]] || echo "alertmanager, for scale: POST /api/v2/alerts -> the same receiver: median $(printf '%s\n' "${amd[@]}" | median) ms (spread $(printf '%s\n' "${amd[@]}" | spread))"

# ---- 3. outage and drain ----
outage() { # LABEL
    local drains=() spans=() rep id t_down t_up c p r d dl cnt first last left
    for rep in $(seq 1 "$REPS"); do
        relay_receiver_stop wh
        t_down=$(rig_now_ms)
        id=$(rig_exec salvectl run bench-many)
        rig_wait_for "$N notifications queued" 60 sh -c "[ \$(salvectl --json outbox | jq --arg r '$id' '[.entries[] | select(.run == \$r)] | length') -ge $N ]" >/dev/null
        read -r p r d dl < <(outbox_counts "$id")
        left=$(( OUTAGE * 1000 - ($(rig_now_ms) - t_down) ))
        (( left <= 0 )) || sleep "$(awk -v l="$left" 'BEGIN {printf "%.3f", l / 1000}')"
        read -r p r d dl < <(outbox_counts "$id")
        c="$p pending, $r retrying, $d dead, $dl delivered at the end of the outage"
        relay_receiver_start wh webhook --secret "$secret"
        t_up=$(rig_now_ms)
        wait_accepted wh "$id" "$N" 900
        sleep 0.5
        read -r cnt first last < <(accepted_of wh "$id")
        drains+=("$(awk -v a="$t_up" -v b="$last" 'BEGIN {printf "%.1f", b * 1000 - a}')")
        spans+=("$(awk -v a="$first" -v b="$last" 'BEGIN {printf "%.1f", (b - a) * 1000}')")
        rig_wait_for "the outbox to drain" 60 sh -c "[ \$(salvectl --json outbox | jq --arg r '$id' '[.entries[] | select(.run == \$r and .state != \"delivered\")] | length') -eq 0 ]" >/dev/null
        echo "outage, $1, $rep: $c; receiver ready -> last of $cnt accepted ${drains[-1]} ms (first -> last accepted ${spans[-1]} ms); $(dups_of wh "$id") duplicate keys; max attempts $(rig_exec salvectl --json outbox | jq --arg r "$id" '[.entries[] | select(.run == $r) | .attempts] | max')"
        cancel_run "$id"
    done
    echo "outage, $1: ${OUTAGE}s down, $N queued, receiver ready -> all delivered: median $(printf '%s\n' "${drains[@]}" | median) ms (spread $(printf '%s\n' "${drains[@]}" | spread))"
}
if [[ $PARTS == *" outage "* ]]; then
    outage "default backoff (retry-initial 1s, retry-max 5m)"
    memory "after the bursts, Alertmanager and the default-backoff outages (one process)"
    relay_yaml "$(printf 'outbox:\n  retry-max: 2s\n')" | rig_exec_stdin sh -c 'cat > /etc/salve/relay.yaml'
    rig_exec systemctl restart salved
    rig_wait_for "salved to be active" 20 systemctl is-active -q salved
    sleep 1
    memory "restarted with retry-max 2s"
    outage "retry-max 2s (retry-initial 1s)"
fi
memory "at the end"
echo "load at end: $(uptime | sed 's/.*load average: //')"
rig_poweroff
