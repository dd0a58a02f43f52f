#!/bin/bash
# The Debian package on a real Debian 12 system: install, upgrade from the
# previous release with a run waiting, purge (salve issue 11, "The package,
# for real"; docs/testing-package.md).
#
#   tests/package/test-package.sh [NEW.deb]     (as root; default build-package/salve_*.deb)
#
# It builds the previous release's .deb from git (commit $SALVE_PREV_COMMIT,
# 6b7f82a = 0.1.0), makes a fresh Debian 12 root with debootstrap (systemd,
# dbus, polkitd and both packages' Depends: a real dpkg database), boots it
# with systemd-nspawn and checks from inside, with dpkg itself:
#   - dpkg -i of the previous release: salved enabled and active, salve-ack.socket
#     neither enabled nor started, nothing but salve's units became active, the
#     salve-ack user exists; systemd-analyze verify on every shipped unit;
#     systemd-analyze security: salved <= 2.9, salve-ack.service <= 2.0;
#   - a run of a plan with an approval is waiting; dpkg -i of NEW.deb keeps the
#     journal, restarts salved on the new version, and the same run resumes:
#     approved, it finishes;
#   - journalctl -x shows salve's catalog text (only when NEW.deb ships
#     /usr/lib/systemd/catalog/salve.catalog);
#   - dpkg --purge removes the state, the units, the processes and the package
#     (the salve-ack user is left, as Debian does with system users);
#   - a fresh dpkg -i of NEW.deb on that system then passes the install checks,
#     and its unit checks above; lintian is clean on the previous .deb too.
# Without git history the upgrade part is skipped (said so) and NEW.deb is
# checked alone. The previous .deb and the root are cached in
# $SALVE_TEST_CACHE (default /var/cache/salve-test), keyed by commit and by
# package list, so only the first run pays for them (docs/testing-package.md).
# Ends with "N passed, 0 failed" or "not ok ..." and exit 1; exit 77 when not root.
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=tests/integration/lib.sh
source "$src/tests/integration/lib.sh"

cache=${SALVE_TEST_CACHE:-/var/cache/salve-test}
prev_commit=${SALVE_PREV_COMMIT:-6b7f82a}
suite=bookworm
mirror=${SALVE_TEST_MIRROR:-}
if [[ -z $mirror ]]; then
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -n 1)
    mirror=${mirror:-http://deb.debian.org/debian}
fi
# man-db: systemd-analyze verify checks the units' Documentation=man: pages
base_packages=(systemd systemd-sysv dbus polkitd libpam-systemd man-db)

t_start=$(rig_now_ms)
phase() { echo "# $(( ($(rig_now_ms) - t_start) / 1000 ))s: $*"; }
salve_units_in() { dpkg-deb -c "$1" | awk '{print $6}' | sed -n 's|^\./lib/systemd/system/\(salve[^/]*\)$|\1|p'; }
check() { # DESC CMD...: one TAP line; a failure ends the test
    local desc=$1
    shift
    if "$@"; then rig_ok "$desc"; else rig_fail "$desc"; fi
}

if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: the package test needs root (debootstrap, dpkg in a container)" >&2
    exit 77
fi
missing=()
for t in debootstrap systemd-nspawn nsenter dpkg-deb dpkg-buildpackage lintian jq tar sha256sum; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
(( ${#missing[@]} == 0 )) || { echo "package-test: missing ${missing[*]} (run tools/install-deps.sh)" >&2; exit 1; }

new_deb=${1:-}
if [[ -z $new_deb ]]; then
    new_deb=$(ls "$src"/build-package/salve_*.deb 2>/dev/null | head -n 1 || true)
fi
[[ -n $new_deb && -f $new_deb ]] ||
    { echo "package-test: no .deb given and none in $src/build-package (run tools/package.sh)" >&2; exit 1; }
new_deb=$(cd "$(dirname "$new_deb")" && pwd)/$(basename "$new_deb")
new_version=$(dpkg-deb -f "$new_deb" Version)
mkdir -p "$cache"

rig_init "pkg$$"
work=$RIG_WORK

# ---------------------------------------------------------------- the previous release's .deb
prev_deb=""
if git -C "$src" rev-parse -q --verify "$prev_commit^{commit}" >/dev/null 2>&1; then
    full=$(git -C "$src" rev-parse "$prev_commit^{commit}")
    pdir=$cache/salve-$full
    prev_deb=$(ls "$pdir"/salve_*.deb 2>/dev/null | head -n 1 || true)
    if [[ -z $prev_deb ]]; then
        phase "building the previous release's .deb from git ($prev_commit) into $pdir"
        rm -rf "$pdir.tmp$$"
        mkdir -p "$pdir.tmp$$/src"
        git -C "$src" archive "$full" | tar -x -C "$pdir.tmp$$/src"
        if ! (cd "$pdir.tmp$$/src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -b -us -uc) >"$pdir.tmp$$/build.log" 2>&1; then
            tail -n 40 "$pdir.tmp$$/build.log" >&2
            rig_fail "dpkg-buildpackage of $prev_commit (log: $pdir.tmp$$/build.log)"
        fi
        rm -rf "$pdir"
        mkdir -p "$pdir"
        mv "$pdir.tmp$$"/salve_*.deb "$pdir.tmp$$/build.log" "$pdir/"
        rm -rf "$pdir.tmp$$"
        prev_deb=$(ls "$pdir"/salve_*.deb | head -n 1)
    fi
    rig_ok "the previous release's package ($prev_commit): $(basename "$prev_deb")"
    # lintian as tools/package.sh runs it on the new one; remembered per lintian version
    stamp=$pdir/lintian-clean-$(dpkg-query -W -f '${Version}' lintian)
    if [[ ! -f $stamp ]]; then
        out=$(lintian --fail-on error,warning --suppress-tags no-manual-page "$prev_deb" 2>&1) ||
            { echo "$out" >&2; rig_fail "lintian on $(basename "$prev_deb")"; }
        : >"$stamp"
    fi
    rig_ok "lintian is clean on $(basename "$prev_deb")"
else
    echo "# SKIP the upgrade part: $src has no git history with $prev_commit (an unpacked tarball?);"
    echo "# only $(basename "$new_deb") is installed and purged"
fi

# Every unit under units/ is in the package, so the verify below covers them
# all (units/org.salve.Manager1.service is D-Bus's activation file, not a unit).
shipped=$(salve_units_in "$new_deb")
for u in "$src"/units/*.service "$src"/units/*.service.in "$src"/units/*.socket "$src"/units/*.socket.in \
    "$src"/units/*.timer "$src"/units/*.timer.in "$src"/units/*.path "$src"/units/*.path.in; do
    [[ -e $u ]] || continue
    u=$(basename "${u%.in}")
    [[ $u == org.salve.* ]] && continue
    grep -qxF -- "$u" <<<"$shipped" || rig_fail "units/$u is not in $(basename "$new_deb") (/lib/systemd/system)"
done
rig_ok "every unit under units/ is in $(basename "$new_deb"): $(echo $shipped)"

# ---------------------------------------------------------------- the Debian 12 root
# Both packages' Depends (first of each alternative, no versions).
debs=("$new_deb")
[[ -n $prev_deb ]] && debs+=("$prev_deb")
deps=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
    sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' || true)
packages=$(printf '%s\n' "${base_packages[@]}" $deps | sort -u | tr '\n' ',')
packages=${packages%,}
key=$(printf '%s %s %s\n' "$suite" "$mirror" "$packages" | sha256sum | cut -c1-16)
tarball=$cache/$suite-root.tar
if [[ ! -f $tarball || "$(cat "$tarball.key" 2>/dev/null)" != "$key" ]]; then
    phase "debootstrap $suite from $mirror with $packages"
    broot=$(rig_tmpdir debootstrap)
    if ! debootstrap --variant=minbase --include="$packages" "$suite" "$broot" "$mirror" >"$work/debootstrap.log" 2>&1; then
        tail -n 30 "$work/debootstrap.log" >&2
        rig_fail "debootstrap $suite (is $mirror reachable?)"
    fi
    rm -rf "$broot"/var/cache/apt/archives/*.deb "$broot"/var/lib/apt/lists/*_Packages
    tar -C "$broot" --numeric-owner -cf "$tarball.tmp$$" .
    mv "$tarball.tmp$$" "$tarball"
    echo "$key" >"$tarball.key"
    rm -rf --one-file-system "$broot"
fi
rig_ok "a Debian 12 root with $packages (cached: $tarball, key $key)"
root=$(rig_tmpdir root)
tar -C "$root" --numeric-owner -xf "$tarball"
cp "${debs[@]}" "$root/root/"
phase "root ready"

# ---------------------------------------------------------------- boot it
# lib.sh's rig_boot boots the host's own / with an overlay; this boots the
# debootstrapped root as it is (its /var holds the dpkg database), with the
# rig's bookkeeping so that its cleanup and watchdog kill it too.
pkg_boot() {
    local timeout=${RIG_BOOT_TIMEOUT:-60} t0 pidfile c st="" left deadline
    RIG_BOOT_DIR=$work/boot
    RIG_MACHINE=$RIG_NAME
    RIG_CONSOLE=$RIG_BOOT_DIR/console.log
    mkdir -p "$RIG_BOOT_DIR"
    pidfile=$RIG_BOOT_DIR/nspawn.pid
    t0=$(rig_now_ms)
    deadline=$((t0 + timeout * 1000))
    setsid bash -c 'echo $$ >"$0"; _rig_own_cgroups "$1"; shift; exec systemd-nspawn "$@"' "$pidfile" \
        "$RIG_MACHINE" -q -D "$root" --boot --register=no --keep-unit --machine="$RIG_MACHINE" \
        --private-network --link-journal=no -- systemd.firstboot=off </dev/null >"$RIG_CONSOLE" 2>&1 &
    while [[ ! -s $pidfile ]]; do
        (( $(rig_now_ms) < deadline )) || { _rig_console_tail; return 1; }
        sleep 0.02
    done
    RIG_NSPAWN_PID=$(cat "$pidfile")
    echo "$RIG_NSPAWN_PID -" >>"$RIG_WORK/.rig-containers"
    _RIG_ALL_NSPAWN+=("$RIG_NSPAWN_PID")
    RIG_PID1=""
    while [[ -z $RIG_PID1 ]]; do
        for c in $(pgrep -P "$RIG_NSPAWN_PID" 2>/dev/null); do
            [[ "$(cat /proc/"$c"/comm 2>/dev/null)" == systemd ]] && { RIG_PID1=$c; break; }
        done
        [[ -n $RIG_PID1 ]] && break
        if ! _rig_pid_alive "$RIG_NSPAWN_PID" || (( $(rig_now_ms) >= deadline )); then
            _rig_log "pkg_boot: no systemd in the container"
            _rig_console_tail
            return 1
        fi
        sleep 0.02
    done
    _RIG_ALL_PID1[${#_RIG_ALL_NSPAWN[@]} - 1]=$RIG_PID1
    _RIG_ALL_PID1_START[${#_RIG_ALL_NSPAWN[@]} - 1]=$(_rig_starttime "$RIG_PID1")
    echo "$RIG_NSPAWN_PID $RIG_PID1 $(_rig_starttime "$RIG_PID1")" >>"$RIG_WORK/.rig-containers"
    export RIG_PID1 RIG_NSPAWN_PID RIG_MACHINE RIG_CONSOLE RIG_BOOT_DIR
    while :; do
        left=$(((deadline - $(rig_now_ms)) / 1000))
        if (( left <= 0 )) || ! rig_running; then
            _rig_log "pkg_boot: not booted within ${timeout}s (state '${st:-no answer}')"
            _rig_console_tail 60
            return 1
        fi
        st=$(timeout "$left" nsenter -t "$RIG_PID1" -a env -i PATH="$_RIG_PATH" \
            systemctl is-system-running --wait </dev/null 2>/dev/null) || true
        case $st in
            running|degraded) break ;;
            maintenance|stopping|offline) _rig_log "pkg_boot: system state '$st'"; _rig_console_tail 60; return 1 ;;
        esac
        sleep 0.05
    done
    [[ $st == running ]] ||
        _rig_log "note: booted 'degraded': $(rig_exec systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
    return 0
}
check "the Debian 12 root boots with systemd-nspawn" pkg_boot
phase "booted"

active_units() { rig_exec systemctl list-units --state=active --no-legend --plain --all | awk '{print $1}' | sort; }
# Units active in $2 but not in $1 that are not salve's own (salve*,
# system-salve*.slice). A service's credentials mount (run-credentials-
# UNIT.mount) may show up late under load, after the snapshot before: it is
# not new when its service was active before.
new_foreign_units() {
    local u svc
    comm -13 <(echo "$1") <(echo "$2") | { grep -v -e '^salve' -e '^system-salve' || true; } | while read -r u; do
        if [[ $u =~ ^run-credentials-(.*)\.mount$ ]]; then
            svc=$(systemd-escape -u -- "${BASH_REMATCH[1]}")
            [[ $svc != salve* ]] && grep -qxF -- "$svc" <<<"$1" && continue
        fi
        echo "$u"
    done
}
# The container's processes named salve* (the root has no procps).
# Fails when the listing does (it always holds at least the init).
salve_processes() {
    local all
    all=$(rig_exec sh -c 'for p in /proc/[0-9]*; do cat "$p/comm" 2>/dev/null; done') || return 1
    [[ -n $all ]] || return 1
    grep '^salve' <<<"$all" || true
}
state() { rig_exec systemctl is-"$1" "$2" 2>/dev/null || true; }
exposure() { # UNIT: the number of "→ Overall exposure level for UNIT: 2.1 OK"
    rig_exec systemd-analyze security --no-pager "$1" 2>/dev/null |
        sed -n 's/.*Overall exposure level for [^:]*: *\([0-9.]*\).*/\1/p' | head -n 1
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }

install_checks() { # DEB: dpkg -i it on a system without salve, then the install checks
    local deb=$1 name before after new extra procs u e
    name=$(basename "$deb")
    before=$(active_units)
    check "dpkg -i $name installs (with the Depends in the root)" rig_exec dpkg -i "/root/$name"
    check "dpkg -l: salve $(dpkg-deb -f "$deb" Version) is installed" \
        test "$(rig_exec dpkg-query -W -f '${db:Status-Abbrev} ${Version}' salve)" = "ii  $(dpkg-deb -f "$deb" Version)"
    check "salved.service is enabled" test "$(state enabled salved.service)" = enabled
    rig_wait_for "salved active" 20 systemctl is-active -q salved.service || true
    check "salved.service is active" test "$(state active salved.service)" = active
    check "salve-ack.socket is not enabled ($(state enabled salve-ack.socket))" test "$(state enabled salve-ack.socket)" = disabled
    check "salve-ack.socket is not started" test "$(state active salve-ack.socket)" = inactive
    check "salve-ack.service is not started" test "$(state active salve-ack.service)" = inactive
    after=$(active_units)
    new=$(comm -13 <(echo "$before") <(echo "$after"))
    check "salved.service is among the units that became active ($(echo $new))" grep -qxF salved.service <<<"$new"
    extra=$(new_foreign_units "$before" "$after")
    check "nothing but salve's units became active${extra:+ (also: $(echo $extra))}" test -z "$extra"
    procs=$(salve_processes) || rig_fail "listing the container's processes"
    check "salved runs ($(echo $procs))" grep -qx salved <<<"$procs"
    check "the salve-ack user exists" eval "rig_exec getent passwd salve-ack >/dev/null"
    for u in $(salve_units_in "$deb"); do
        e=$(rig_exec systemd-analyze verify "/lib/systemd/system/$u" 2>&1) ||
            { echo "$e" >&2; rig_fail "systemd-analyze verify /lib/systemd/system/$u"; }
        check "systemd-analyze verify /lib/systemd/system/$u${e:+ (said: $(echo $e))}" test -z "$e"
    done
    e=$(exposure salved.service)
    check "systemd-analyze security salved.service: exposure ${e:-?} <= 2.9" le "$e" 2.9
    e=$(exposure salve-ack.service)
    check "systemd-analyze security salve-ack.service: exposure ${e:-?} <= 2.0" le "$e" 2.0
}

run_json() { rig_exec salvectl --json status "$1"; }
run_state() { run_json "$1" | jq -r .state; }
step_state() { run_json "$1" | jq -r --arg s "$2" '.steps[] | select(.id == $s) | .state'; }
wait_run() { # RUN STATE SECONDS: poll salvectl (jq runs here: the root has none)
    local deadline=$(( $(rig_now_ms) + $3 * 1000 ))
    until [[ "$(run_state "$1" 2>/dev/null)" == "$2" ]]; do
        (( $(rig_now_ms) < deadline )) || { _rig_log "run $1 is not $2 after $3 s: $(run_json "$1")"; return 1; }
        sleep 0.2
    done
}
wait_step() { # RUN STEP STATE SECONDS
    local deadline=$(( $(rig_now_ms) + $4 * 1000 ))
    until [[ "$(step_state "$1" "$2" 2>/dev/null)" == "$3" ]]; do
        (( $(rig_now_ms) < deadline )) || { _rig_log "step $2 of $1 is not $3 after $4 s: $(run_json "$1")"; return 1; }
        sleep 0.2
    done
}
daemon_version() {
    rig_exec busctl get-property org.salve.Manager1 /org/salve/manager org.salve.Manager1 Version 2>/dev/null |
        sed -n 's/^s "\(.*\)"$/\1/p'
}

plan='plan: pkg-upgrade
owner: ops
steps:
  - id: approval
    human: approve
    instructions: Approve once salve is upgraded (tests/package/test-package.sh).
  - id: finish
    needs: [approval]
    run: exec
    with: {command: [/bin/true]}
'

if [[ -n $prev_deb ]]; then
    phase "install $(basename "$prev_deb")"
    install_checks "$prev_deb"

    # A run that waits for a person, across the upgrade.
    rig_exec mkdir -p /etc/salve/plans.d
    printf '%s' "$plan" | rig_exec_stdin sh -c 'cat >/etc/salve/plans.d/pkg-upgrade.yaml'
    check "salvectl reload reads the test plan" rig_exec salvectl reload
    run=$(rig_exec salvectl run pkg-upgrade) || rig_fail "salvectl run pkg-upgrade"
    run=$(tail -n 1 <<<"$run" | awk '{print $NF}')
    check "the run $run waits for its approval" wait_step "$run" approval waiting 20
    check "the run $run is waiting ($(run_state "$run"))" test "$(run_state "$run")" = waiting
    check "the step approval is waiting" test "$(step_state "$run" approval)" = waiting
    check "the run journal /var/lib/salve/journal exists" rig_exec test -s /var/lib/salve/journal
    old_pid=$(rig_exec systemctl show -p MainPID --value salved.service)
    old_version=$(daemon_version)

    phase "upgrade to $(basename "$new_deb")"
    check "dpkg -i $(basename "$new_deb") upgrades $(dpkg-deb -f "$prev_deb" Version) to $new_version" \
        rig_exec dpkg -i "/root/$(basename "$new_deb")"
    check "dpkg -l: salve $new_version is installed" \
        test "$(rig_exec dpkg-query -W -f '${db:Status-Abbrev} ${Version}' salve)" = "ii  $new_version"
    rig_wait_for "salved active" 20 systemctl is-active -q salved.service || true
    new_pid=$(rig_exec systemctl show -p MainPID --value salved.service)
    check "salved was restarted (PID $old_pid -> $new_pid)" test "$new_pid" != "$old_pid" -a "$new_pid" != 0
    check "salved runs the new version (D-Bus Version ${old_version:-?} -> $(daemon_version))" \
        test "$(daemon_version)" = "${new_version%%-*}"
    v=$(rig_exec salvectl --version)
    check "salvectl --version says ${new_version%%-*} ($v)" grep -qF -- "${new_version%%-*}" <<<"$v"
    check "salve-ack.socket is still not enabled" test "$(state enabled salve-ack.socket)" = disabled
    check "salve-ack.socket is still not started" test "$(state active salve-ack.socket)" = inactive
    check "the run journal is kept" rig_exec test -s /var/lib/salve/journal
    check "the same run $run is there and still waiting ($(run_state "$run"))" test "$(run_state "$run")" = waiting
    check "salvectl approve $run approval" rig_exec salvectl approve "$run" approval
    check "the run $run finishes" wait_run "$run" succeeded 30
    check "the run $run succeeded ($(run_state "$run")), step finish too" \
        test "$(run_state "$run")/$(step_state "$run" finish)" = succeeded/succeeded

    # salve's catalog: only once the new package ships one.
    if dpkg-deb -c "$new_deb" | awk '{print $6}' | grep -qx './usr/lib/systemd/catalog/salve.catalog'; then
        # salved's own messages (-u also gives PID 1's about the unit, whose
        # ids systemd's catalog knows), and only salve's entries
        ids=$(rig_exec journalctl _SYSTEMD_UNIT=salved.service -o json --no-pager | jq -r '.MESSAGE_ID // empty' | sort -u)
        catalog=$(rig_exec journalctl --no-pager --list-catalog 2>/dev/null)
        subject="" id=""
        # --list-catalog says "ID DEFINED-BY: SUBJECT"
        for i in $ids; do
            subject=$(grep -i "^$i salve: " <<<"$catalog" | head -n 1 | sed 's/^[^ ]* salve: //' || true)
            [[ -n $subject ]] && { id=$i; break; }
        done
        check "the catalog knows a MESSAGE_ID salved logged (${id:-none}: ${subject:-?})" test -n "$subject"
        # journalctl -x fills in the @FIELD@s: match them as anything
        re=$(sed -E 's/[][\.*^$+?(){}|/]/\\&/g; s/@[A-Za-z0-9_]+@/.*/g' <<<"$subject")
        x=$(rig_exec journalctl -x -u salved.service --no-pager)
        check "journalctl -x -u salved shows its catalog text ($(grep -m1 -E -- "Subject: $re" <<<"$x" || true))" \
            grep -qE -- "Subject: $re" <<<"$x"
    else
        echo "# SKIP the catalog check: $(basename "$new_deb") has no /usr/lib/systemd/catalog/salve.catalog"
    fi

    rig_exec rm -f /etc/salve/plans.d/pkg-upgrade.yaml
else
    phase "install $(basename "$new_deb")"
    install_checks "$new_deb"
fi

remove_checks() { # dpkg -r: salve stops and goes, its state and configuration stay
    phase "remove"
    check "dpkg -r salve" rig_exec dpkg -r salve
    local st left
    st=$(rig_exec dpkg-query -W -f '${db:Status-Abbrev}' salve 2>/dev/null || true)
    check "dpkg -l salve: rc, removed with its configuration kept ($st)" test "${st:0:2}" = rc
    check "the state /var/lib/salve/journal is kept" rig_exec test -s /var/lib/salve/journal
    check "salved.service is not active ($(state active salved.service))" test "$(state active salved.service)" = inactive
    left=$(salve_processes) || rig_fail "listing the container's processes"
    check "no salve process remains${left:+ ($(echo $left))}" test -z "$left"
}
purge_checks() {
    phase "purge"
    check "dpkg --purge salve" rig_exec dpkg --purge salve
    local st
    st=$(rig_exec dpkg-query -W -f '${db:Status-Abbrev}' salve 2>/dev/null || true)
    check "dpkg -l salve: gone (${st:-no such package})" test -z "$(tr -d ' ' <<<"${st#p}")" -o "${st:0:2}" = pn
    check "the state /var/lib/salve is removed" rig_exec test ! -e /var/lib/salve
    check "/run/salve is removed" rig_exec test ! -e /run/salve
    check "/etc/salve is removed" rig_exec test ! -e /etc/salve
    local left
    left=$(rig_exec sh -c 'for f in /lib/systemd/system/salve* /usr/lib/systemd/system/salve* /etc/systemd/system/*/salve*; do
        if [ -e "$f" ]; then echo "$f"; fi; done') || rig_fail "listing the unit files"
    check "no salve unit file is left${left:+ ($(echo $left))}" test -z "$left"
    local units
    units=$(rig_exec systemctl list-units --all --no-legend --plain 'salve*') || rig_fail "listing the units"
    left=$(awk '$3 != "inactive" {print $1}' <<<"$units")
    check "no salve unit is loaded and active${left:+ ($(echo $left))}" test -z "$left"
    left=$(salve_processes) || rig_fail "listing the container's processes"
    check "no salve process remains${left:+ ($(echo $left))}" test -z "$left"
    # Debian leaves system users on purge (files may still be owned by them);
    # sysusers.d users are no exception. Recorded here, not required.
    if rig_exec getent passwd salve-ack >/dev/null; then
        echo "# note: the salve-ack system user is left after purge (Debian's practice for system users)"
    else
        echo "# note: the salve-ack system user was removed by purge"
    fi
}
# Without the upgrade part, dpkg -r first: what the fresh install below does.
[[ -n $prev_deb ]] || remove_checks
purge_checks

if [[ -n $prev_deb ]]; then
    phase "fresh install of $(basename "$new_deb") on the purged system"
    install_checks "$new_deb"
    remove_checks
    purge_checks
fi

rig_poweroff
phase "done"
rig_done
echo "$_RIG_NTESTS passed, 0 failed ($(( ($(rig_now_ms) - t_start) / 1000 ))s)"
