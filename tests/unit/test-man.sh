#!/bin/bash
# The manual pages as man(1) shows them on an 80-column terminal: groff
# (with tbl, as man-db runs it, at man-db's line length of 78 for
# MANWIDTH=80, and at 100 columns) prints no warning at all for any page, a table wider than
# the line included; every page in man/ is installed by man/meson.build; and
# salve.plan(5)'s EXAMPLE is the shipped plan it says it is.
set -uo pipefail
root=${1:?usage: test-man.sh SOURCE_ROOT}
command -v groff >/dev/null || { echo "groff is missing: tools/install-deps.sh installs groff-base" >&2; exit 1; }
export LC_ALL=C.UTF-8

n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $*"; }

pages=("$root"/man/*.[1-8])
[[ ${#pages[@]} -ge 5 ]] || { echo "only ${#pages[@]} pages in $root/man" >&2; exit 1; }
for p in "${pages[@]}"; do
    name=$(basename "$p")
    for ll in 78 98; do
        out=$(groff -t -man -Tutf8 -rLL=${ll}n -ww -z "$p" 2>&1)
        if [[ -z $out ]]; then
            ok "$name at $((ll + 2)) columns: no groff warning"
        else
            not_ok "$name at $((ll + 2)) columns: groff warns:"
            sed 's/^/#   /' <<<"$out"
        fi
    done
    if grep -q "install_man(.*'$name'" "$root/man/meson.build"; then
        ok "$name is installed by man/meson.build"
    else
        not_ok "$name is not installed by man/meson.build"
    fi
done

# salve.plan(5)'s EXAMPLE says it is storage-recovery.yaml as shipped: it
# must be that file, byte for byte once roff's escapes are undone.
example=$(awk '/^\.SH EXAMPLE/ { s = 1 } s && /^\.EE/ { exit } s && x { print } s && /^\.EX/ { x = 1 }' \
    "$root/man/salve.plan.5" | sed -e 's/^\\&//' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\e/\\/g')
if d=$(diff <(printf '%s\n' "$example") "$root/plans/storage-recovery.yaml"); then
    ok "salve.plan.5's EXAMPLE is plans/storage-recovery.yaml as shipped"
else
    not_ok "salve.plan.5's EXAMPLE differs from plans/storage-recovery.yaml:"
    sed 's/^/#   /' <<<"$d"
fi
echo "1..$n"
exit $((bad > 0))
