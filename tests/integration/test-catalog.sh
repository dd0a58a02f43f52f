#!/bin/bash
# The journald message catalog in a real systemd container: the build's
# catalog/salve.catalog, installed by meson with the rest of the stage to
# /usr/lib/systemd/catalog, becomes journalctl -x's text for salved's
# messages once `journalctl --update-catalog` has run (as the Debian
# package's systemd trigger does), with @SALVE_RUN@, @SALVE_PLAN@ and
# @SALVE_STEP@ replaced by each message's fields:
#   - a run whose exec step fails: run started, step failed, run finished,
#     a unit held and (by hand) released, and salve-gate's messages for it
#     (holding the unit, released by salved) with @SALVE_UNIT@, @SALVE_GATE@
#     and @SALVE_GATE_RELEASED_BY@;
#   - a run whose RTO cannot be met (tight-rto): a person needed, the owner
#     told, RTO at risk, RTO breached.
# Before --update-catalog the same entries show no catalog text, so the
# text is the catalog's.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

catalog=$SALVE_SOURCE_ROOT/catalog/salve.catalog
[[ -f $catalog ]] || { echo "catalog-test: $catalog is missing" >&2; exit 1; }

salve_setup catalog$$
cat >"$SALVE_STAGE/etc/salve/plans.d/catalog.yaml" <<'EOF'
# A step that fails at once; the run fails and keeps demo-db.service held.
plan: catalog
owner: ops
holds: [demo-db.service]
steps:
  - id: break
    run: exec
    with: {command: [/bin/sh, -c, "echo the disk is gone; exit 3"]}
EOF
chmod 0644 "$SALVE_STAGE/etc/salve/plans.d/catalog.yaml"
salve_boot

check "meson installed the catalog to /usr/lib/systemd/catalog" \
    rig_exec cmp -s /opt/salve-stage/usr/lib/systemd/catalog/salve.catalog /usr/lib/systemd/catalog/salve.catalog
check "it is the source's catalog/salve.catalog" \
    cmp -s "$catalog" "$SALVE_STAGE/usr/lib/systemd/catalog/salve.catalog"

# --- make salved log catalogued messages ---
id=$(rig_exec salvectl run catalog --reason "catalog test")
salve_wait "$id" failed 30
# The failed run keeps demo-db.service held: its start waits behind its
# gate (salve-generator's drop-in), which logs from salve-gate; the
# release lets it go.
gate='salve-gate@demo-db.service.service'
rig_exec systemctl daemon-reload
rig_exec systemctl start --no-block demo-db.service
rig_wait_for "the gate to log that it holds demo-db" 20 \
    sh -c "journalctl -u '$gate' MESSAGE_ID=c07238e013484b8f89ffe5ef882670a7 SALVE_UNIT=demo-db.service -o cat | grep -q ."
rig_exec salvectl release demo-db.service --comment "catalog test" >/dev/null
rig_wait_for "demo-db to start once released" 20 systemctl is-active -q demo-db.service
rig_wait_for "the gate to log its release" 20 \
    sh -c "journalctl -u '$gate' MESSAGE_ID=efc76dcc9aa54e69a818b14ad6f1ccac SALVE_GATE_RELEASED_BY=salved -o cat | grep -q ."
rto=$(rig_exec salvectl run tight-rto)
salve_wait_step "$rto" gate waiting 20
rig_wait_for "run $rto to breach its RTO" 20 \
    sh -c "journalctl -u salved MESSAGE_ID=d69ae63154984fff83cf12fe2b855b3b SALVE_RUN=$rto -o cat | grep -q ."
rig_exec salvectl cancel "$rto" >/dev/null

# The messages expected, as "MESSAGE_ID RUN PLAN STEP" (- for none).
expected=(
    "b1f69adb1c074b228eb908f78610b627 $id catalog -"          # run started
    "561c21a7e7df49eebccc47982244b515 $id catalog -"          # hold kept
    "ee90b968e313488ab7d3b0b93b5968ac $id catalog break"      # step failed
    "3edee797b3f44106a82641e3b3d0f337 $id catalog -"          # run finished
    "44cfdfd01df14cb68cfa1cc45ba31de1 $id catalog -"          # hold released
    "b1f69adb1c074b228eb908f78610b627 $rto tight-rto -"       # run started
    "f98b624c63e24095a6995c751f3c9ebd $rto tight-rto gate"    # human waiting
    "d7195819f2754b5f9e86e51b2d47af8b $rto tight-rto gate"    # owner told
    "8ca0a80467b94671b3b5e9650caeed78 $rto tight-rto -"       # RTO at risk
    "d69ae63154984fff83cf12fe2b855b3b $rto tight-rto -"       # RTO breached
)
has() { grep -qF -- "$1" <<<"$2"; }
lacks() { ! grep -qF -- "$1" <<<"$2"; }
has_all() { local t=$1 x; shift; for x; do has "$x" "$t" || return 1; done; }
# The text of the catalog entry for MESSAGE_ID $1 (its Subject: and body).
entry_text() {
    awk -v id="-- $1" '$0 == id { e = 1; next } e && /^-- / { exit } e' "$catalog"
}
# filled MESSAGE_ID OUTPUT: every @FIELD@ of that entry was filled in. A
# field the message lacks is printed by journalctl as its bare name
# (systemd's lookup_field()), so look for each line of the entry with one
# field in that form and the others as anything.
filled() {
    local line f re esc
    grep -qE '@[A-Z][A-Z0-9_]*@' <<<"$2" && { echo "# an @FIELD@ is left in the output" >&2; return 1; }
    while IFS= read -r line; do
        esc=$(sed -E 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$line")
        for f in $(grep -oE '@[A-Z][A-Z0-9_]*@' <<<"$line" | sort -u); do
            re=${esc//"$f"/${f//@/}}
            re=$(sed -E 's/@[A-Z][A-Z0-9_]*@/.*/g' <<<"$re")
            if grep -qE -- "$re" <<<"$2"; then
                echo "# $f was not filled in: $(grep -m1 -E -- "$re" <<<"$2")" >&2
                return 1
            fi
        done
    done < <(entry_text "$1")
    return 0
}

# The catalog's Subject: for an id, with the fields filled in.
subject_of() {
    local s
    s=$(awk -v id="-- $1" '$0 == id { e = 1; next } e && /^Subject: / { sub(/^Subject: /, ""); print; exit }' \
        "$catalog")
    s=${s//@SALVE_RUN@/$2}
    s=${s//@SALVE_PLAN@/$3}
    s=${s//@SALVE_STEP@/$4}
    printf '%s\n' "$s"
}

for e in "${expected[@]}"; do
    read -r mid run plan step <<<"$e"
    match=(MESSAGE_ID="$mid" SALVE_RUN="$run" SALVE_PLAN="$plan")
    [[ $step == - ]] || match+=(SALVE_STEP="$step")
    check "salved logged $mid ($run, step $step)" \
        rig_exec sh -c "journalctl -u salved ${match[*]} -o cat | grep -q ."
done

# --- before the catalog database exists: no catalog text ---
# The container's /var is fresh (--volatile=yes): no database yet.
before=$(rig_exec journalctl -x --no-pager -u salved -b)
check "before journalctl --update-catalog, journalctl -x shows no catalog text for salved" \
    lacks "Subject: $(subject_of b1f69adb1c074b228eb908f78610b627 "$id" catalog -)" "$before"
check "... nor salve's Defined-By" lacks "Defined-By: salve" "$before"

check "journalctl --update-catalog takes it" rig_exec journalctl --update-catalog
check "journalctl --list-catalog lists salve's entries" \
    rig_exec sh -c "journalctl --list-catalog | grep -q '^ee90b968e313488ab7d3b0b93b5968ac salve: '"

# --- journalctl -x -u salved: each message with its entry ---
for e in "${expected[@]}"; do
    read -r mid run plan step <<<"$e"
    match=(MESSAGE_ID="$mid" SALVE_RUN="$run")
    [[ $step == - ]] || match+=(SALVE_STEP="$step")
    want=$(subject_of "$mid" "$run" "$plan" "$step")
    out=$(rig_exec journalctl -x --no-pager -u salved "${match[@]}")
    check "journalctl -x -u salved shows \"Subject: $want\"" has "Subject: $want" "$out"
    check "... with Defined-By: salve and Documentation: man:salved(8)" \
        has_all "$out" "Defined-By: salve" "Documentation: man:salved(8)"
    check "... and no field left unfilled" filled "$mid" "$out"
done

# salve-gate's messages, with SALVE_UNIT, SALVE_GATE and SALVE_GATE_RELEASED_BY.
for mid in c07238e013484b8f89ffe5ef882670a7 efc76dcc9aa54e69a818b14ad6f1ccac; do
    want=$(subject_of "$mid" - - -)
    want=${want//@SALVE_UNIT@/demo-db.service}
    want=${want//@SALVE_GATE_RELEASED_BY@/salved}
    out=$(rig_exec journalctl -x --no-pager -u "$gate" MESSAGE_ID="$mid")
    check "journalctl -x -u '$gate' shows \"Subject: $want\"" has "Subject: $want" "$out"
    check "... and no field left unfilled" filled "$mid" "$out"
done
check "the gate's body names the gate unit: systemctl status '$gate'" \
    has "systemctl status '$gate'" "$(rig_exec journalctl -x --no-pager -u "$gate")"

all=$(rig_exec journalctl -x --no-pager -u salved -b)
check "the failed step's body, with run and step filled in" \
    has "journalctl -u salved SALVE_RUN=$id SALVE_STEP=break" "$all"
check "the run's body: salvectl status $id" has "    salvectl status $id" "$all"
check "the breach's body names the plan: salvectl show tight-rto" has "salvectl show tight-rto" "$all"
all_filled() {
    local mid
    for mid in $(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$catalog"); do
        filled "$mid" "$1" || return 1
    done
}
check "no field is left unfilled anywhere in journalctl -x -u salved" all_filled "$all"
# the check itself: a field the message lacks comes out as its bare name
catches_unfilled() { ! filled ee90b968e313488ab7d3b0b93b5968ac "░░ Subject: Step SALVE_STEP of run x failed" 2>/dev/null; }
check "(and a Subject: with SALVE_STEP where the step belongs would be caught)" catches_unfilled
rig_poweroff
rig_done
