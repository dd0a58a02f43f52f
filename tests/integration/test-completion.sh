#!/bin/bash
# salvectl's bash completion against a real salved in a real systemd
# container: the installed file is where bash-completion's loader finds it,
# and a real run's id and its steps complete, each verb offering the steps it
# can act on now (tests/data/plans/integration/demo.yaml: verify-backup fails
# and continues, dba-approval waits for a person), the units the run holds
# complete for release, and a finished run is no longer offered to cancel.
# Verbs, options, plans and people: tests/unit/test-completion.sh.
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

[[ -r /usr/share/bash-completion/bash_completion ]] ||
    { echo "SKIP: bash-completion is not installed (tools/install-deps.sh installs it)" >&2; exit 77; }

salve_setup "salve-completion-$$"
# Only the demo run here: no unclean-boot plan of the integration set.
rm -f "$SALVE_STAGE/etc/salve/plans.d/on-unclean-boot.yaml"

# What bash offers on TAB after the words given (the last is the one being
# completed), sorted: bash-completion loads salvectl's completion on demand
# from where it was installed, as in an interactive shell.
cat >"$SALVE_LOGS/comp.sh" <<'EOF'
source /usr/share/bash-completion/bash_completion || exit 1
_completion_loader salvectl
complete -p salvectl >/dev/null 2>&1 || { echo "bash-completion found no completion for salvectl" >&2; exit 1; }
compopt() { :; }   # no real TAB: nothing to change
COMP_WORDS=(salvectl "$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
_salvectl salvectl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
EOF
comp() { rig_exec bash --norc --noprofile /var/lib/salve-test/comp.sh "$@"; }
expect() { # DESC EXPECTED ACTUAL
    if [[ $2 == "$3" ]]; then rig_ok "$1"; else rig_fail "$1: expected '$2', got '$3'"; fi
}

salve_boot

check "the completion is installed where bash-completion.pc says" \
    rig_exec test -f "$(pkg-config --variable=completionsdir bash-completion)/salvectl"
check "the zsh completion is installed in Debian's vendor-completions" \
    rig_exec test -f /usr/share/zsh/vendor-completions/_salvectl
expect "verbs from the installed completion" "status" "$(comp st)"
expect "no run yet: nothing to cancel" "" "$(comp cancel "")"

run=$(rig_exec salvectl run demo)
salve_wait_step "$run" dba-approval waiting 60
salve_wait_step "$run" verify-backup failed 30

expect "status RUN: the run's id" "$run" "$(comp status "")"
expect "status RUN by prefix" "$run" "$(comp status "${run:0:3}")"
expect "cancel: the active run" "$run" "$(comp cancel "")"
expect "watch: the active run" "$run" "$(comp watch "")"
expect "approve: the active run" "$run" "$(comp approve "")"
expect "approve RUN: the step waiting for a person" "dba-approval" "$(comp approve "$run" "")"
expect "ack RUN: the waiting step" "dba-approval" "$(comp ack "$run" "")"
expect "retry RUN: the failed step" "verify-backup" "$(comp retry "$run" "")"
expect "abort RUN: waiting and failed steps" "dba-approval verify-backup" "$(comp abort "$run" "")"
expect "skip RUN: pending, waiting and failed steps" "dba-approval start-api start-db verify-backup" \
    "$(comp skip "$run" "")"
expect "skip RUN by prefix" "start-api start-db" "$(comp skip "$run" st)"
expect "a run id after options" "dba-approval" "$(comp --no-ask-password approve --comment ok "$run" "")"
expect "approve RUN STEP: nothing more" "" "$(comp approve "$run" dba-approval "")"
expect "release: the units the run holds" "demo-api.service demo-db.service" "$(comp release "")"
# graph takes a plan or (with salvectl graph RUN) a run.
graph=$(comp graph "")
if [[ " $graph " == *" $run "* && " $graph " == *" demo "* ]]; then rig_ok "graph: plans and runs ($graph)"
else rig_fail "graph: plans and runs: $graph"; fi

rig_exec salvectl approve "$run" dba-approval >/dev/null
salve_wait "$run" succeeded 60
expect "a finished run is not offered to cancel" "" "$(comp cancel "")"
expect "nor to approve" "" "$(comp approve "")"
expect "status still offers it (history)" "$run" "$(comp status "")"
expect "no step of a finished run waits" "" "$(comp approve "$run" "")"
expect "release: nothing held after the run" "" "$(comp release "")"

rig_done
