#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# salvectl's shell completion, in a real bash with bash-completion loaded,
# against the built salvectl and the fixture plans and people; and
# `salvectl people`, which the completion of oncall reads. Names that need
# salved (runs, steps) are checked in tests/integration/test-completion.sh.
# The zsh completion must load and register with compinit.
#
#   test-completion.sh SALVECTL SOURCE_ROOT
set -uo pipefail

salvectl=$(realpath "${1:?salvectl}") src=$(realpath "${2:?source root}")
bash_completion=/usr/share/bash-completion/bash_completion
if [[ ! -r $bash_completion ]]; then
    echo "SKIP: bash-completion is not installed ($bash_completion; tools/install-deps.sh installs it)"
    exit 77
fi

failed=0
pass() { echo "ok - $1"; }
fail() { echo "not ok - $1"; failed=1; }
expect() { # NAME EXPECTED ACTUAL
    if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# salvectl as the shell finds it, so that the completion runs this build
mkdir "$tmp/bin" && ln -s "$salvectl" "$tmp/bin/salvectl"
cd "$src" || exit 1

# COMPREPLY for the words given (the last one is where the cursor is),
# sorted, space-separated: as bash does on TAB, in a bash of its own.
comp() {
    PATH="$tmp/bin:$PATH" bash --norc --noprofile -c '
        source "$1" || exit 1
        source "$2" || exit 1
        shift 2
        complete -p salvectl >/dev/null || { echo "salvectl has no completion" >&2; exit 1; }
        compopt() { :; }   # outside a real TAB there is no completion to change
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE="${COMP_WORDS[*]}"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        _salvectl salvectl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"' \
        comp "$bash_completion" "$src/shell-completion/bash/salvectl" "$@"
}

# ---- verbs and options ----
expect "verb: salvectl st<TAB> is status" "status" "$(comp salvectl st)"
expect "verb: salvectl pe<TAB> is people" "people" "$(comp salvectl pe)"
expect "verb: a after options" "abort ack approve" "$(comp salvectl --no-legend --plans-dir /tmp a)"
all=$(comp salvectl "")
verbs=$("$salvectl" --help | awk '/^Commands:/ { c = 1; next } /^$/ { c = 0 } c { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
[[ $(wc -w <<<"$verbs") -ge 25 ]] || fail "salvectl --help lists only $(wc -w <<<"$verbs") commands: $verbs"
expect "every command of salvectl --help is offered, and nothing else" "$verbs" "$all"
expect "option: --pl<TAB> is --plans-dir=" "--plans-dir=" "$(comp salvectl --pl)"
expect "option: --peo<TAB> is --people-dir=" "--people-dir=" "$(comp salvectl --peo)"
expect "option: --no-l<TAB> is --no-legend" "--no-legend" "$(comp salvectl --no-l)"
expect "option: after the verb too" "--json" "$(comp salvectl plans --js)"
expect "option value: --plans-dir DIR completes directories" "tests/data/people tests/data/plans" \
    "$(comp salvectl --plans-dir tests/data/p)"
expect "option value: --people-dir=DIR completes directories" "tests/data/people/invalid tests/data/people/valid" \
    "$(comp salvectl --people-dir=tests/data/people/)"
expect "option value: nothing for --comment" "" "$(comp salvectl --comment "")"
expect "outbox: retry or drop" "drop retry" "$(comp salvectl outbox "")"
expect "verify: plan files" "tests/data/plans/valid/minimal.yaml" "$(comp salvectl verify tests/data/plans/valid/)"

# ---- plan names, from the --plans-dir given earlier on the line ----
expect "plans: show from --plans-dir" "holds-boot holds-fail holds-run" \
    "$(comp salvectl --plans-dir tests/data/plans/holds show "")"
expect "plans: run from -d DIR -d DIR, by prefix" "holds-fail" \
    "$(comp salvectl -d tests/data/plans/valid -d tests/data/plans/holds run holds-f)"
expect "plans: --plans-dir=DIR" "minimal" "$(comp salvectl --plans-dir=tests/data/plans/valid show "")"
expect "plans: a --plans-dir after the verb counts" "esc-chain esc-remind" \
    "$(comp salvectl show --plans-dir tests/data/plans/escalation "")"
# shellcheck disable=SC2088 # the ~ is for the completion to expand
expect "plans: ~ in --plans-dir is expanded" "minimal" \
    "$(HOME=$src/tests/data/plans comp salvectl --plans-dir '~/valid' show "")"
expect "plans: show takes one plan" "" "$(comp salvectl --plans-dir tests/data/plans/holds show holds-run "")"
expect "plans: graph offers plans (no salved: no runs)" "minimal" \
    "$(comp salvectl --plans-dir tests/data/plans/valid graph "")"

# ---- people, teams and rotations, from --people-dir ----
expect "oncall: every name of the people directory" "ann dba dba-oncall jane joe ops" \
    "$(comp salvectl --people-dir tests/data/people/valid oncall "")"
expect "oncall: by prefix" "dba dba-oncall" "$(comp salvectl --people-dir=tests/data/people/valid oncall d)"
expect "oncall: a directory with errors offers nothing" "" \
    "$(comp salvectl --people-dir tests/data/people/invalid oncall "")"

# ---- outbox ids, from `outbox --json` ----
# No salved here: a stand-in answers `--json outbox` in print_json()'s
# format (json-c, pretty); the real runs and steps are read in
# tests/integration/test-completion.sh.
mkdir "$tmp/stub"
cat >"$tmp/stub/salvectl" <<EOF
#!/bin/bash
if [[ "\$*" == "--json outbox" ]]; then
    cat <<'JSON'
{
  "entries":[
    {
      "id":"7f3a9c1e",
      "channel":"pagerduty",
      "key":"demo-1\/dba-approval\/human-needed",
      "run":"demo-1",
      "state":"dead",
      "attempts":1,
      "created_usec":1796000000000000,
      "next_usec":0,
      "last_status":400,
      "last_error":"{\"id\":\"not-an-entry\"}"
    },
    {
      "id":"7f3a9c20",
      "channel":"webhook",
      "key":"demo-1\/run-started",
      "run":"demo-1",
      "state":"retrying",
      "attempts":3,
      "created_usec":1796000000000000,
      "next_usec":1796000060000000,
      "last_status":503,
      "last_error":"Service Unavailable"
    }
  ],
  "dead_dropped":0
}
JSON
    exit 0
fi
exec "$salvectl" "\$@"
EOF
chmod +x "$tmp/stub/salvectl"
expect "outbox retry: the entries' ids" "7f3a9c1e 7f3a9c20" \
    "$(comp "$tmp/stub/salvectl" outbox retry "")"
expect "outbox drop: by prefix" "7f3a9c20" "$(comp "$tmp/stub/salvectl" outbox drop 7f3a9c2)"
expect "outbox drop ID: one id only" "" "$(comp "$tmp/stub/salvectl" outbox drop 7f3a9c20 "")"
expect "outbox ID: no id without retry or drop" "" "$(comp "$tmp/stub/salvectl" outbox 7f "")"

# ---- salvectl people itself ----
out=$("$salvectl" --people-dir tests/data/people/valid people); rc=$?
expect "people: exit status 0" 0 "$rc"
expect "people: header, people, teams, rotations, footer" \
"NAME                     KIND      DESCRIPTION
ann                      person    Ann Other: matrix, sms
jane                     person    Jane Doe: email, pagerduty
joe                      person    Joe Bloggs: phone, email
dba                      team      members: jane, joe, dba-oncall
ops                      team      members: dba, ann
dba-oncall               rotation  2 layers (weekly, nights), 1 override, Europe/Berlin

3 people, 2 teams, 1 rotation." "$out"
expect "people --no-legend: just the lines" "ann jane joe dba ops dba-oncall" \
    "$("$salvectl" --no-legend --people-dir tests/data/people/valid people | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')"
if command -v jq >/dev/null; then
    expect "people --json: name, kind, description, file" \
        'dba-oncall rotation 2 layers (weekly, nights), 1 override, Europe/Berlin tests/data/people/valid/example.yaml' \
        "$("$salvectl" --json --people-dir tests/data/people/valid people | jq -r '.[5] | "\(.name) \(.kind) \(.description) \(.file)"')"
    expect "people --json: six entries" 6 "$("$salvectl" --json --people-dir tests/data/people/valid people | jq length)"
else
    # A package build need not have it; tools/install-deps.sh installs it.
    echo "# skipped: jq is not installed, people --json is not checked"
fi
err=$("$salvectl" --people-dir tests/data/people/invalid people 2>&1 >/dev/null); rc=$?
expect "people: a directory with errors fails" 1 "$rc"
if [[ $err == *"tests/data/people/invalid/"*": error: "* && $err == *"has errors (above); fix them first"* ]]; then
    pass "people: the errors are printed with file:line"
else fail "people: errors not printed: $err"; fi
mkdir "$tmp/empty"
out=$("$salvectl" --people-dir "$tmp/empty" people 2>"$tmp/err"); rc=$?
expect "people: no directory: exit status 0, nothing listed" "0:" "$rc:$out"
if grep -q "no people directory" "$tmp/err"; then pass "people: no directory is said on stderr"
else fail "people: no note on stderr: $(cat "$tmp/err")"; fi
expect "people: takes no argument (usage error)" 2 \
    "$("$salvectl" people jane >/dev/null 2>&1; echo $?)"

# ---- zsh ----
if command -v zsh >/dev/null; then
    if zsh -n "$src/shell-completion/zsh/_salvectl"; then pass "zsh: _salvectl parses"
    else fail "zsh: _salvectl does not parse"; fi
    out=$(HOME=$tmp zsh -f -c '
        fpath=("$1" $fpath)
        autoload -U compinit && compinit -u -d "$HOME/.zcompdump" || exit 1
        autoload +X _salvectl || exit 1
        print -r -- "$_comps[salvectl]"' zsh "$src/shell-completion/zsh" 2>&1)
    expect "zsh: compinit registers _salvectl for salvectl, and it loads" "_salvectl" "$out"

    # What an interactive zsh lists on TAB (list-choices), through a pty.
    cat >"$tmp/zcomp.zsh" <<'EOF'
zmodload zsh/zpty || exit 1
zpty z env HOME=$HOME PATH=$PATH TERM=dumb zsh -f -i
zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -d $HOME/.zcompdump; PROMPT='> '"
zpty -w z "bindkey '^I' list-choices; print -r -- RE''ADY"
zpty -r z line '*READY*' || exit 1
zpty -w -n z "$2"$'\t'
sleep 1
out=
while zpty -r -t z line; do out+=$line; done
zpty -d z
print -r -- "${out//$'\r'/}"
EOF
    zcomp() { HOME=$tmp PATH="$tmp/bin:$PATH" zsh -f "$tmp/zcomp.zsh" "$src/shell-completion/zsh" "$1" 2>&1; }
    # zlists DESC LINE WORD... [-- NOT...]: the listing after LINE<TAB> has
    # every WORD as a word, and none of the NOTs.
    zlists() {
        local desc=$1 out w bad=
        out=" $(zcomp "$2" | tr -s ' \n' '  ') "
        shift 2
        while (($#)) && [[ $1 != -- ]]; do [[ $out == *" $1 "* ]] || bad+=" missing $1"; shift; done
        (($#)) && shift
        for w in "$@"; do [[ $out != *" $w "* ]] || bad+=" unwanted $w"; done
        if [[ -z $bad ]]; then pass "$desc"; else fail "$desc:$bad (zsh printed:$out)"; fi
    }
    zlists "zsh: oncall d<TAB> lists the team and the rotation, with their kinds" \
        "salvectl --people-dir tests/data/people/valid oncall d" dba dba-oncall team rotation -- ann jane ops
    zlists "zsh: show <TAB> lists the plans of --plans-dir" \
        "salvectl --plans-dir tests/data/plans/holds show " holds-boot holds-fail holds-run -- minimal
    zlists "zsh: sho<TAB> is show, described from --help" "salvectl sho" show execution -- status
else
    echo "# skipped: zsh is not installed, _salvectl is not checked"
fi

exit $failed
