#!/bin/bash
# Bounded work under load (issue 6, part 2), in a real systemd container:
#
# 1. An unprivileged user (mallory) floods salved with StartRun from 16
#    connections, 127 calls outstanding on each (her own bus limit is 128),
#    for FLOOD_SECONDS. Meanwhile root runs `salvectl run` one run after
#    another, and so does bob, whom a polkit rule lets start runs. Every
#    run of theirs must succeed: salved's calls to systemd must never meet
#    dbus-daemon's "maximum number of pending replies per connection",
#    and mallory's requests past her fair share are refused with
#    org.salve.Error.TooManyRequests instead of piling up. Reports root's
#    and bob's call latency (median/max) and runs per second, before and
#    during the flood, and the flood's own figures.
# 2. 200 runs started at once (200 plans p0000..p0199 of one short exec
#    step): every run must end succeeded, none "cannot read how ... ended".
#
# usage: test-flood.sh PATH/TO/bus-flood
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

flood_bin=${1:?usage: test-flood.sh PATH/TO/bus-flood}
FLOOD_SECONDS=${FLOOD_SECONDS:-30}
N_RUNS=${N_RUNS:-200}

# Checks go on after a failure, so that one run reports every figure.
FAILED=0
check() {
    local desc=$1
    shift
    if "$@"; then
        rig_ok "$desc"
    else
        _RIG_NTESTS=$((_RIG_NTESTS + 1))
        echo "not ok $_RIG_NTESTS - $desc"
        FAILED=$((FAILED + 1))
    fi
}

salve_setup flood$$
dest=/usr/local/lib/salve-test
mkdir -p "$SALVE_STAGE$dest"
cp "$flood_bin" "$SALVE_STAGE$dest/bus-flood"
for ((i = 0; i < N_RUNS; i++)); do
    p=$(printf p%04d "$i")
    sed "s/^plan: flood\$/plan: $p/" "$SALVE_SOURCE_ROOT/tests/data/plans/integration/flood.yaml" \
        >"$SALVE_STAGE/etc/salve/plans.d/$p.yaml"
done
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml

# probe USER N PLAN: N runs of PLAN one after another, each awaited; one
# line per run: "RUN CALL_MS TOTAL_MS STATE" (or "FAILED CALL_MS 0 ERROR").
cat >"$SALVE_STAGE$dest/probe.sh" <<'EOF'
#!/bin/sh
n=$1 plan=$2 err=$(mktemp)
i=0
while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    s=$(date +%s%N)
    if ! id=$(salvectl --no-ask-password run "$plan" 2>"$err"); then
        echo "FAILED $((($(date +%s%N) - s) / 1000000)) 0 $(tr '\n' ' ' <"$err")"
        continue
    fi
    c=$(date +%s%N)
    k=0
    while [ "$k" -lt 600 ]; do
        state=$(salvectl --json status "$id" 2>/dev/null | jq -r .state)
        case $state in succeeded|failed|cancelled|interrupted) break ;; esac
        k=$((k + 1))
        sleep 0.05
    done
    echo "$id $(((c - s) / 1000000)) $((($(date +%s%N) - s) / 1000000)) $state"
done
rm -f "$err"
EOF
chmod 0755 "$SALVE_STAGE$dest/probe.sh"
salve_boot

rig_exec id bob >/dev/null 2>&1 || rig_exec useradd -m bob
rig_exec id mallory >/dev/null 2>&1 || rig_exec useradd -m mallory
rig_exec_stdin sh -c 'cat > /etc/polkit-1/rules.d/50-salve-bob.rules' <<'RULE'
polkit.addRule(function(action, subject) {
    if (action.id == "org.salve.run" && subject.user == "bob")
        return polkit.Result.YES;
});
RULE
sleep 1

# stats FILE: "n=N median=MS max=MS" over the CALL_MS column.
stats() {
    awk '{ print $2 }' "$1" | sort -n | awk '{ a[NR] = $1 } END {
        if (NR == 0) { print "n=0"; exit }
        printf "n=%d median=%d max=%d", NR, a[int((NR + 1) / 2)], a[NR] }'
}
jqe() { jq -e "$@" >/dev/null; }
all_succeeded() { awk '$4 != "succeeded" { bad = 1 } END { exit bad }' "$1" && test -s "$1"; }

# --- baseline, no flood ---
rig_exec "$dest/probe.sh" 5 flood >"$SALVE_LOGS/root-before.txt"
check "root's runs before the flood all succeed ($(stats "$SALVE_LOGS/root-before.txt") ms)" \
    all_succeeded "$SALVE_LOGS/root-before.txt"
rig_exec_as bob "$dest/probe.sh" 3 flood >"$SALVE_LOGS/bob-before.txt"
check "bob's runs (polkit rule) before the flood succeed ($(stats "$SALVE_LOGS/bob-before.txt") ms)" \
    all_succeeded "$SALVE_LOGS/bob-before.txt"

# --- mallory floods; root and bob keep working ---
t0=$(rig_now_ms)
rig_exec_as mallory "$dest/bus-flood" -c 16 -n 127 -t "$FLOOD_SECONDS" -p flood \
    >"$SALVE_LOGS/flood.json" 2>"$SALVE_LOGS/flood.err" &
flood_pid=$!
sleep 2
rig_exec "$dest/probe.sh" 10 flood >"$SALVE_LOGS/root-during.txt"
t_root=$(($(rig_now_ms) - t0 - 2000))
rig_exec_as bob "$dest/probe.sh" 3 flood >"$SALVE_LOGS/bob-during.txt"
still=no
kill -0 "$flood_pid" 2>/dev/null && still=yes
wait "$flood_pid" || rig_fail "bus-flood failed: $(cat "$SALVE_LOGS/flood.err" "$SALVE_LOGS/flood.json")"
cat "$SALVE_LOGS/root-during.txt" "$SALVE_LOGS/bob-during.txt" | sed 's/^/# /'
check "the flood lasted until root and bob were done (it was: $still)" test "$still" = yes
f=$SALVE_LOGS/flood.json
echo "# flood: $(cat "$f")"
check "root's 10 runs during the flood all succeed ($(stats "$SALVE_LOGS/root-during.txt") ms per call, \
$(awk -v t="$t_root" 'END { printf "%.1f", NR * 1000 / t }' "$SALVE_LOGS/root-during.txt") runs/s end to end)" \
    all_succeeded "$SALVE_LOGS/root-during.txt"
check "bob's runs during the flood succeed: one user does not starve another ($(stats "$SALVE_LOGS/bob-during.txt") ms)" \
    all_succeeded "$SALVE_LOGS/bob-during.txt"
check "every one of mallory's calls was answered ($(jq -r '"\(.answered) of \(.sent), \(.replies_per_s)/s"' "$f"))" \
    jqe '.answered == .sent and .sent >= 16 * 127' "$f"
check "mallory was held to her fair share: TooManyRequests ($(jq -c .errors "$f"))" \
    jqe '.errors["org.salve.Error.TooManyRequests"] > 0' "$f"
check "and none of hers started a run" jqe '.ok == 0' "$f"
out=$(rig_exec sh -c "journalctl -u salved -o cat | grep -c -i 'pending replies\|LimitsExceeded'" || true)
check "salved never met dbus-daemon's pending-reply limit ($out lines)" test "$out" -eq 0
check "salved is still active" rig_exec systemctl is-active -q salved

# --- 200 runs started at once ---
t0=$(rig_now_ms)
rig_exec "$dest/bus-flood" -c 4 -n $((N_RUNS / 4)) -p 'p%04d' -r "at once" -o /tmp/ids >"$SALVE_LOGS/runs.json"
echo "# start: $(cat "$SALVE_LOGS/runs.json")"
check "all $N_RUNS StartRun calls were accepted" jqe --argjson n "$N_RUNS" '.ok == $n' "$SALVE_LOGS/runs.json"
rig_wait_for "the $N_RUNS runs to finish" 90 \
    sh -c "test \"\$(salvectl --json status | jq '[.[] | select(.plan | test(\"^p[0-9]{4}\$\"))] | length')\" -eq 0" \
    || true
elapsed=$(($(rig_now_ms) - t0))
rig_exec sh -c 'salvectl --json history' >"$SALVE_LOGS/history.json"
ok=$(jq '[.[] | select((.plan | test("^p[0-9]{4}$")) and .state == "succeeded")] | length' "$SALVE_LOGS/history.json")
echo "# $ok of $N_RUNS runs succeeded, all finished after $elapsed ms ($(awk -v n="$ok" -v t="$elapsed" 'BEGIN { printf "%.1f", n * 1000 / t }') runs/s)"
rig_exec sh -c 'for id in $(salvectl --json history | jq -r ".[] | select((.plan | test(\"^p[0-9]{4}$\")) and .state != \"succeeded\") | .id"); do
        salvectl --json status "$id" | jq -r "\"\(.id) \(.state): \([.steps[].message] | join(\"; \"))\""
    done' >"$SALVE_LOGS/not-succeeded.txt"
head -n 3 "$SALVE_LOGS/not-succeeded.txt" | sed 's/^/# /'
unreadable=$(grep -c "cannot read how" "$SALVE_LOGS/not-succeeded.txt" || true)
check "no run's result was lost: none 'cannot read how ... ended' ($unreadable)" test "$unreadable" -eq 0
check "every one of the $N_RUNS runs ended succeeded ($ok)" test "$ok" -eq "$N_RUNS"
out=$(rig_exec sh -c "journalctl -u salved -o cat | grep -c -i 'pending replies\|LimitsExceeded'" || true)
check "salved never met dbus-daemon's pending-reply limit with $N_RUNS runs ($out lines)" test "$out" -eq 0
rig_poweroff
rig_done
[[ $FAILED -eq 0 ]] || { echo "# $FAILED checks failed" >&2; exit 1; }
