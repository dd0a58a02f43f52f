#!/bin/bash
# salvectl graph RUN and salvectl report RUN, on a real run in a real
# systemd container (tests/data/plans/report/report-demo.yaml): an exec
# step that fails once and succeeds on its retry, a person's approval that
# escalates once, is acknowledged and approved with salvectl, a held unit
# let go with salvectl release and one the plan starts. Then:
#   - graph: while the approval waits, it is yellow and counted at its
#     estimate; at the end, DOT that Graphviz renders (dot -Tsvg) with every
#     step id, the state colours, the critical path bold and the
#     on-failure handler dashed; -Tsvg through
#     salvectl; -T with no dot in PATH names dot;
#   - report --format json: both attempts of the retried step, the
#     acknowledgement and the approval with who and when, the holds;
#   - markdown: the timeline table, the step's output as text;
#   - an unprivileged user reads it too, without the units' journal lines;
#   - html: one file with no script and nothing external, rendered by
#     headless Chromium to a PNG that is not one colour.
# SALVE_REPORT_EXAMPLES=DIR copies the HTML, its screenshot and the SVG
# graph there (docs/report-example.*, docs/graph-example.svg).
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

command -v dot >/dev/null || { echo "SKIP: Graphviz's dot is not installed (tools/install-deps.sh)" >&2; exit 77; }
chromium=$(command -v chromium || command -v chromium-browser || true)
[[ -n $chromium ]] || { echo "SKIP: chromium is not installed (tools/install-deps.sh)" >&2; exit 77; }

salve_setup report$$
cp "$SALVE_SOURCE_ROOT"/tests/data/plans/report/*.yaml "$SALVE_STAGE/etc/salve/plans.d/"
chmod 0644 "$SALVE_STAGE"/etc/salve/plans.d/*.yaml
rm -f "$SALVE_STAGE/etc/salve/plans.d/on-unclean-boot.yaml"
salve_boot
# the stage is installed after systemd is up: the generator's gates now
rig_exec systemctl daemon-reload
out=$SALVE_LOGS     # bound at /var/lib/salve-test inside

# --- the run ---
id=$(rig_exec salvectl run report-demo --reason "disk alarm on db1: <smart> & | errors")
salve_wait_step "$id" dba-approval waiting 30
rig_wait_for "the escalation to level 1" 15 \
    sh -c "salvectl --json status '$id' | jq -e '.steps[] | select(.id == \"dba-approval\") | .escalation.notified | length >= 2' >/dev/null"
# while the approval waits: yellow, counted at its estimate, not over
rig_exec salvectl graph "$id" >"$out/graph-waiting.dot"
dot -Tsvg "$out/graph-waiting.dot" >"$out/graph-waiting.svg"
check "a waiting step is filled yellow" \
    sh -c "grep -A1 '<title>dba&#45;approval</title>' '$out/graph-waiting.svg' | grep -q 'fill=\"#ffe066\"'"
check "a pending step is grey" \
    sh -c "grep -A1 '<title>start&#45;db</title>' '$out/graph-waiting.svg' | grep -q 'fill=\"#d9d9d9\"'"
check "the waiting step counts its estimate, and says so" grep -q 'dba-approval\\napprove · waiting\\n1m (estimate)' "$out/graph-waiting.dot"
check "the step not started counts its estimate" grep -q 'start-db\\nunit.start · pending\\n5s (estimate)' "$out/graph-waiting.dot"
check "report of a run still going: the attempt is not over" \
    test "$(rig_exec salvectl report "$id" --format json | jq -c '[.state, (.steps[] | select(.id == "dba-approval") | .attempts[0].outcome, .duration_basis)]')" = '["waiting",null,"estimate"]'
check "salvectl release lets a held unit go" \
    rig_exec salvectl release demo-api.service --comment "api may start read-only | ok"
check "salvectl ack" rig_exec salvectl ack "$id" dba-approval --comment "looking at it"
sleep 1
check "salvectl approve" rig_exec salvectl approve "$id" dba-approval --comment "disk fine <really> | go"
salve_wait "$id" succeeded 30
check "the retried step took two attempts" \
    test "$(salve_json "$id" | jq -r '.steps[] | select(.id == "check-disk") | "\(.state) \(.attempt)"')" = "succeeded 2"

# --- graph ---
rig_exec salvectl graph "$id" >"$out/graph.dot"
check "graph RUN | dot -Tsvg renders" sh -c "dot -Tsvg '$out/graph.dot' >'$out/graph.svg'"
svg=$(cat "$out/graph.svg")
title() { printf '<title>%s</title>' "$(sed 's/-/\&#45;/g; s/>/\&gt;/g' <<<"$1")"; }
# the line after a node's or an edge's title draws it
drawn() { grep -A1 -F "$(title "$1")" <<<"$svg" | tail -n1; }
for s in check-disk warm-cache dba-approval start-db; do
    check "the SVG has step $s" grep -qF "$(title "$s")" <<<"$svg"
done
check "succeeded steps are filled green" grep -q 'fill="#8fd19e"' <<<"$(drawn start-db)"
check "the legend has the other states' colours (red, yellow, grey)" \
    sh -c "grep -q 'fill=\"#f08080\"' '$out/graph.svg' && grep -q 'fill=\"#ffe066\"' '$out/graph.svg' && grep -q 'fill=\"#d9d9d9\"' '$out/graph.svg'"
crit=$(rig_exec salvectl report "$id" --format json | jq -r '.critical_path.steps | join(" ")')
check "the critical path is check-disk, dba-approval, start-db ($crit)" test "$crit" = "check-disk dba-approval start-db"
for x in check-disk dba-approval start-db "check-disk->dba-approval" "dba-approval->start-db"; do
    check "$x is drawn bold (stroke-width 3)" grep -q 'stroke-width="3"' <<<"$(drawn "$x")"
done
not_bold() { ! grep -q 'stroke-width="3"' <<<"$(drawn "$1")"; }
for x in warm-cache "warm-cache->start-db"; do
    check "$x is not bold" not_bold "$x"
done
bold=$(grep 'stroke-width="3"' <<<"$svg" | grep -vc 'stroke="transparent"' || true)
# 3 nodes (the approval's double border twice), 2 edges with their
# arrowheads, and the legend's cell
check "nothing else is bold: 4 + 4 + 1 strokes ($bold)" test "$bold" -eq 9
dashed() { grep -q 'stroke-dasharray' <<<"$(drawn "$1")"; }
check "the on-failure handler drop-cache is drawn dashed" dashed drop-cache
check "so is the edge from the step it handles, warm-cache" dashed "warm-cache->drop-cache"
check "and no other step or edge" test "$(grep -c 'stroke-dasharray' <<<"$svg")" -eq 3   # and the legend's cell
check "the approval's node says who acted and how, and who acknowledged" \
    sh -c "grep -q 'by root (uid 0) via salvectl' '$out/graph.svg' && grep -q 'ack root (uid 0) via salvectl' '$out/graph.svg'"
rig_exec salvectl -Tsvg graph "$id" >"$out/graph2.svg"
check "salvectl -Tsvg graph RUN runs dot itself" grep -q '<svg' "$out/graph2.svg"
msg=$(rig_exec env PATH=/nonexistent /usr/bin/salvectl -Tsvg graph "$id" 2>&1 >/dev/null) && rig_fail "-Tsvg without dot succeeded"
check "-T without Graphviz names dot ($msg)" grep -q "Graphviz's dot" <<<"$msg"
check "graph PLAN still draws the plan" sh -c "nsenter -t $RIG_PID1 -a salvectl graph report-demo | grep -q '^digraph \"report-demo\"'"
rig_exec salvectl graph nosuch-7 2>"$out/err" && rig_fail "graph of an unknown name succeeded"
check "graph of an unknown name says so ($(cat "$out/err"))" grep -q 'no plan or run named "nosuch-7"' "$out/err"

# --- report: json ---
rig_exec salvectl report "$id" --format json >"$out/report.json"
j() { jq -r "$1" "$out/report.json"; }
check "json: report_version 1, the run and its state" test "$(j '"\(.report_version) \(.run) \(.state)"')" = "1 $id succeeded"
host=$(rig_exec hostname)
check "json: the host, as hostname says ($host)" test -n "$host" -a "$(j .host)" = "$host"
check "json: the trigger's reason" test "$(j .trigger.reason)" = "disk alarm on db1: <smart> & | errors"
check "json: both attempts of check-disk" \
    test "$(j '[.steps[] | select(.id == "check-disk") | .attempts[] | "\(.attempt):\(.outcome):\(.retried)"] | join(" ")')" = "1:failed:true 2:succeeded:false"
check "json: the attempts have start and end times in order" test "$(j '.steps[] | select(.id == "check-disk") | .attempts |
    (.[0].start_usec < .[0].end_usec and .[0].end_usec <= .[1].start_usec and .[1].start_usec < .[1].end_usec)')" = true
check "json: the first attempt's output is its journal (stderr)" \
    sh -c "jq -r '.steps[] | select(.id == \"check-disk\") | .attempts[0].output | join(\"\n\")' '$out/report.json' | grep -q 'disk not ready </script>'"
check "json: the owner was told, then the next level" \
    test "$(j '[.people[] | select(.event == "notified" or .event == "escalated") | "\(.event):\(.level)"] | join(" ")')" = "notified:0 escalated:1"
ack=$(j '.people[] | select(.event == "acknowledged") | "\(.actor)|\(.via)|\(.comment)|\(.at_usec > 0)"')
check "json: the acknowledgement with who, how and when ($ack)" test "$ack" = "root (uid 0)|salvectl|looking at it|true"
appr=$(j '.people[] | select(.event == "act") | "\(.action)|\(.actor)|\(.via)|\(.comment)|\(.at_usec > 0)"')
check "json: the approval with who, how and when ($appr)" \
    test "$appr" = "approved|root (uid 0)|salvectl|disk fine <really> | go|true"
check "json: the ack came before the approval" test "$(j '([.people[] | select(.event == "acknowledged")][0].at_usec) <
    ([.people[] | select(.event == "act")][0].at_usec)')" = true
check "json: the approval step waited for a person" \
    test "$(j '.steps[] | select(.id == "dba-approval") | .attempts[0].wait_start_usec > 0')" = true
check "json: demo-api let go by root with the comment" \
    test "$(j '.holds[] | select(.unit == "demo-api.service") | "\(.how)|\(.comment)|\(.released_usec > 0)"')" = "released by root (uid 0)|api may start read-only | ok|true"
check "json: demo-db released when start-db started" \
    test "$(j '.holds[] | select(.unit == "demo-db.service") | .how')" = "step start-db started it"
check "json: the RTO was met" test "$(j '"\(.rto.objective_usec) \(.rto.met)"')" = "600000000 true"

rig_exec_as mallory salvectl report "$id" --format json >"$out/report-mallory.json"
check "an unprivileged user reads the report too (reading is open to all)" \
    test "$(jq -r '[.run, (.steps[] | select(.id == "check-disk") | .attempts | length)] | join(" ")' "$out/report-mallory.json")" = "$id 2"
check "but not the units' journal lines, which are root's and adm's" \
    test "$(jq '[.steps[].attempts[].output[]] | length' "$out/report-mallory.json")" -eq 0

# --- report: markdown ---
rig_exec salvectl report "$id" >"$out/report.md"
md=$(cat "$out/report.md")
check "markdown: the timeline table" grep -q '^| Step | Kind | Attempt | Start | End | Duration | Outcome | Message |$' <<<"$md"
check "markdown: a row for each attempt of check-disk" \
    sh -c "grep -q '^| check-disk | exec | 1 | ' '$out/report.md' && grep -q '^| check-disk | exec | 2 | ' '$out/report.md'"
check "markdown: the output is text, not HTML" \
    sh -c "grep -q 'disk not ready &lt;/script&gt;' '$out/report.md' && ! grep -q '</script>' '$out/report.md'"
check "markdown: the reason's pipe is escaped" grep -q 'disk alarm on db1: &lt;smart&gt; &amp; \\| errors' <<<"$md"
check "markdown: who acknowledged" grep -q '| dba-approval | acknowledged | - | root (uid 0) | salvectl | looking at it |' <<<"$md"

# --- report: html, in a browser ---
check "report -o writes the HTML file" \
    rig_exec salvectl report "$id" --format html -o /var/lib/salve-test/report.html
html=$(cat "$out/report.html")
check "html: one self-contained page (no script, no external resource)" \
    sh -c "! grep -qiE '<script|<link|<img|<iframe| src=\"| href=\"|@import|url\\(http' '$out/report.html'"
check "html: the output escaped" grep -q 'disk not ready &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;' <<<"$html"
check "html: an inline SVG timeline with both attempts" \
    sh -c "grep -q '<svg ' '$out/report.html' && grep -q 'check-disk: attempt 1: failed, retried' '$out/report.html' && grep -q 'check-disk: attempt 2: succeeded' '$out/report.html'"
check "html: the human wait and the markers" \
    sh -c "grep -q 'url(#wait)' '$out/report.html' && grep -q 'dba-approval: acknowledged at' '$out/report.html' && grep -q 'dba-approval: approved at' '$out/report.html'"
rm -f "$out/report.png"
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,1700 \
    --screenshot="$out/report.png" "file://$out/report.html" >"$out/chromium.log" 2>&1 || true
check "chromium rendered a screenshot" test -s "$out/report.png"
# The PNG's distinct colours and whether the green and red fills are among
# them (8-bit RGB or RGBA, as Chromium writes it; the row filters undone).
read -r colours green red < <(python3 - "$out/report.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), f"unexpected PNG type {depth}/{ctype}"
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, seen = bytearray(stride), set()
for y in range(h):
    f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = row[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: row[i] = (row[i] + a) & 255
        elif f == 2: row[i] = (row[i] + b) & 255
        elif f == 3: row[i] = (row[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        seen.add(bytes(row[x:x + 3]))
    prev = row
print(len(seen), int(bytes.fromhex("8fd19e") in seen), int(bytes.fromhex("f08080") in seen))
PY
)
check "the screenshot is not blank: $colours colours" test "${colours:-0}" -gt 20
check "the bars' green and red are in it" test "$green$red" = 11
echo "# screenshot: $out/report.png (RIG_KEEP=1 keeps it)"

if [[ -n ${SALVE_REPORT_EXAMPLES:-} ]]; then
    cp "$out/report.html" "$SALVE_REPORT_EXAMPLES/report-example.html"
    cp "$out/report.png" "$SALVE_REPORT_EXAMPLES/report-example.png"
    cp "$out/graph.svg" "$SALVE_REPORT_EXAMPLES/graph-example.svg"
    echo "# examples copied to $SALVE_REPORT_EXAMPLES"
fi

rig_poweroff
rig_done
