#!/bin/bash
# salvectl on a terminal behaves as systemctl does: long output through a
# pager (SYSTEMD_PAGER, then PAGER; "" or "cat" mean none; --no-pager),
# LESS=FRSXMK for less, colours only on a terminal and never with NO_COLOR
# or SYSTEMD_COLORS=0 (SYSTEMD_COLORS=1 forces them), --no-legend drops
# headers, and a verb that changes something never opens the pager. A
# real pseudo-terminal comes from util-linux's script(1).
#   test-salvectl-terminal.sh SALVECTL SOURCE_ROOT
set -uo pipefail
salvectl=$1
plans=$2/tests/data/plans
command -v script >/dev/null || { echo "SKIP: script(1) (bsdutils) is not installed" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
no() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }
esc=$'\033['
# on_tty CMD...: runs CMD on a pseudo-terminal, its terminal output in $tmp/tty
on_tty() { script -qec "$*" /dev/null >"$tmp/tty" 2>&1; }
unset PAGER SYSTEMD_PAGER NO_COLOR SYSTEMD_COLORS SYSTEMD_LESS LESS
export TERM=xterm

# The pager gets the whole output on a terminal; nothing else reaches it.
SYSTEMD_PAGER="cat >$tmp/paged" on_tty "$salvectl plans -d $plans"
check "the pager (SYSTEMD_PAGER) got the plan list" grep -q "exec-test" "$tmp/paged"
check "nothing bypassed the pager" test ! -s "$tmp/tty"
check "colours still on behind the pager (less -R shows them)" grep -qF "$esc" "$tmp/paged"

PAGER="cat >$tmp/paged2" on_tty "$salvectl plans -d $plans"
check "PAGER is used without SYSTEMD_PAGER" grep -q "exec-test" "$tmp/paged2"

SYSTEMD_PAGER="env >$tmp/env" on_tty "$salvectl plans -d $plans"
check "less gets LESS=FRSXMK" grep -qx "LESS=FRSXMK" "$tmp/env"
SYSTEMD_LESS=FR SYSTEMD_PAGER="env >$tmp/env2" on_tty "$salvectl plans -d $plans"
check "SYSTEMD_LESS overrides LESS" grep -qx "LESS=FR" "$tmp/env2"

rm -f "$tmp/paged"
SYSTEMD_PAGER="cat >$tmp/paged" on_tty "$salvectl --no-pager plans -d $plans"
check "--no-pager: no pager" test ! -e "$tmp/paged"
check "--no-pager: the list on the terminal" grep -q "exec-test" "$tmp/tty"
# "cat" and "" mean no pager at all, not PAGER or less instead: a cat that
# leaves a mark, and a PAGER that would, show whether one was started.
mkdir -p "$tmp/bin"
printf '#!/bin/sh\ntouch %q\nexec /bin/cat "$@"\n' "$tmp/cat-ran" >"$tmp/bin/cat"
chmod +x "$tmp/bin/cat"
for p in cat ""; do
    rm -f "$tmp/cat-ran" "$tmp/paged3"
    PATH="$tmp/bin:$PATH" PAGER="cat >$tmp/paged3" SYSTEMD_PAGER=$p on_tty "$salvectl plans -d $plans"
    check "SYSTEMD_PAGER=\"$p\": output direct" grep -q "exec-test" "$tmp/tty"
    check "SYSTEMD_PAGER=\"$p\": no pager started (neither cat nor PAGER)" \
        test ! -e "$tmp/cat-ran" -a ! -e "$tmp/paged3"
done

# Colours.
SYSTEMD_PAGER=cat on_tty "$salvectl plans -d $plans"
check "a terminal gets colours" grep -qF "$esc" "$tmp/tty"
SYSTEMD_PAGER=cat NO_COLOR=1 on_tty "$salvectl plans -d $plans"
check "NO_COLOR: none" bash -c "! grep -qF '$esc' '$tmp/tty' && grep -q exec-test '$tmp/tty'"
SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 on_tty "$salvectl plans -d $plans"
check "SYSTEMD_COLORS=0: none" bash -c "! grep -qF '$esc' '$tmp/tty' && grep -q exec-test '$tmp/tty'"
SYSTEMD_PAGER=cat TERM=dumb on_tty "$salvectl plans -d $plans"
check "TERM=dumb: none" bash -c "! grep -qF '$esc' '$tmp/tty' && grep -q exec-test '$tmp/tty'"
"$salvectl" plans -d "$plans" >"$tmp/pipe"
check "a pipe: no colours" bash -c "! grep -qF '$esc' '$tmp/pipe'"
check "a pipe: the list" grep -q "exec-test" "$tmp/pipe"
SYSTEMD_COLORS=1 "$salvectl" plans -d "$plans" >"$tmp/forced"
check "SYSTEMD_COLORS=1 forces them in a pipe" grep -qF "$esc" "$tmp/forced"

# --no-legend.
check "the header is there by default" grep -q "^PLAN " "$tmp/pipe"
"$salvectl" --no-legend plans -d "$plans" >"$tmp/nolegend"
check "--no-legend: no header" bash -c "! grep -q '^PLAN ' '$tmp/nolegend' && grep -q exec-test '$tmp/nolegend'"
# show: the step rows alone, one a line (no summary, header, instructions
# or critical path), in the plan's order
"$salvectl" --no-legend -d "$2/plans" show storage-recovery >"$tmp/show-nolegend"
check "show --no-legend: one line per step, nothing else" \
    test "$(awk '{ print $1 ":" $2 }' "$tmp/show-nolegend" | tr '\n' ' ')" = \
    "1:raid-sync 2:fsck 3:verify-backup 4:dba-approval 5:start-db 6:db-ready 7:start-api "
"$salvectl" -d "$2/plans" show storage-recovery >"$tmp/show"
check "show without it: the summary, the header, the instructions and the critical path" \
    bash -c "grep -q '^  source: ' '$tmp/show' && grep -q '^  #   STEP ' '$tmp/show' &&
             grep -q 'replication lag' '$tmp/show' && grep -q '^  critical path: ' '$tmp/show'"

# A change never goes through the pager (polkit may ask on the terminal).
rm -f "$tmp/paged"
SYSTEMD_PAGER="cat >$tmp/paged" on_tty "$salvectl --no-ask-password cancel nosuch-1"
check "cancel opened no pager" test ! -e "$tmp/paged"

echo "1..$n"
[[ $bad == 0 ]]
