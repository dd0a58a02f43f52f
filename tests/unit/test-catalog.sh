#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The journald message catalog (catalog/salve.catalog) against the source:
#  - every MESSAGE_ID of src/shared/log.h (SALVE_MESSAGE_*), and every
#    32-hex MESSAGE_ID literal anywhere in src/, has an entry, and every
#    entry's id is one of them;
#  - every SALVE_MESSAGE_* is logged somewhere (an entry for an id that is
#    never logged would describe nothing);
#  - every entry has Subject:, Defined-By: salve and a body; no id twice;
#    no body line that journalctl would drop as a comment ("#", ";");
#  - every @FIELD@ is a field that src/ sets ("FIELD=...");
#  - man/salved.8 lists exactly these ids;
#  - as root, journalctl itself imports it (--root=TMP --update-catalog)
#    and --list-catalog lists every id with salve's subject.
# Then the same checks must fail on broken copies (an entry missing, an id
# the source does not have, an entry without Subject:, a new id in log.h,
# an unknown @FIELD@), so that this test can fail.
#
#   test-catalog.sh SOURCE_ROOT
set -euo pipefail

root=${1:?usage: test-catalog.sh SOURCE_ROOT}
catalog=$root/catalog/salve.catalog
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; exit 1; }
diag() { local l; while IFS= read -r l; do echo "# $l"; done <<<"$1"; }

# The ids in the source, one "ID WHERE" a line.
source_ids() {
    local src=$1
    # log.h: #define SALVE_MESSAGE_NAME "id"
    grep -nE '^#define SALVE_MESSAGE_[A-Z0-9_]+[[:space:]]+"[0-9a-fA-F]{32}"' "$src/shared/log.h" |
        sed -E 's/^([0-9]+):#define (SALVE_MESSAGE_[A-Z0-9_]+)[[:space:]]+"([0-9a-fA-F]{32})".*/\3 src\/shared\/log.h:\1 (\2)/'
    # MESSAGE_ID=<id> literals (journalctl hints, sd_journal_send), and ids
    # given as a literal to the logging functions.
    grep -rnoE 'MESSAGE_ID=[0-9a-fA-F]{32}' "$src" --include='*.[ch]' |
        sed -E "s|^$src/([^:]+):([0-9]+):MESSAGE_ID=(.*)|\3 src/\1:\2|"
    grep -rnE '(log_struct_internal|gate_log|sd_journal_send)[^;]*"[0-9a-fA-F]{32}"' "$src" --include='*.[ch]' |
        while IFS=: read -r f l rest; do
            grep -oE '"[0-9a-fA-F]{32}"' <<<"$rest" | tr -d '"' | sed "s|\$| src/${f#"$src"/}:$l|"
        done
    return 0    # none of the last kind is no error
}

# Checks the catalog CAT against the source tree SRC; prints one line per
# problem (FILE:LINE: ...) and returns 1 if there was any.
check() {
    local src=$1 cat=$2 bad=0 id where name field
    declare -A in_source=() in_catalog=()

    while read -r id where; do
        id=${id,,}
        [[ -n ${in_source[$id]:-} ]] || in_source[$id]=$where
    done < <(source_ids "$src")
    if (( ${#in_source[@]} == 0 )); then
        echo "$src/shared/log.h: no SALVE_MESSAGE_* ids found"
        return 1
    fi

    # Two names for one id in log.h would make their messages one.
    local dup
    dup=$(grep -oE '^#define SALVE_MESSAGE_[A-Z0-9_]+[[:space:]]+"[0-9a-fA-F]{32}"' "$src/shared/log.h" |
          grep -oE '[0-9a-fA-F]{32}' | tr 'A-F' 'a-f' | sort | uniq -d)
    for id in $dup; do
        echo "src/shared/log.h: id $id is defined twice"
        bad=1
    done

    # Every SALVE_MESSAGE_* is used somewhere but its definition.
    while read -r name; do
        if ! grep -rqw --include='*.[ch]' --exclude=log.h -- "$name" "$src"; then
            echo "src/shared/log.h: $name is defined but never logged"
            bad=1
        fi
    done < <(grep -oE '^#define SALVE_MESSAGE_[A-Z0-9_]+' "$src/shared/log.h" | awk '{print $2}')

    # The journal fields src/ sets: "NAME=..." in a string literal.
    declare -A fields=()
    while read -r field; do
        fields[$field]=1
    done < <(grep -rhoE --include='*.[ch]' '"[A-Z][A-Z0-9_]*=' "$src" | tr -d '"=' | sort -u)

    # The catalog, entry by entry.
    local line lno=0 cur="" cur_line=0 in_header=0 subject=0 definedby=0 body=0
    finish() {
        [[ -n $cur ]] || return 0
        (( subject )) || { echo "$cat:$cur_line: entry $cur has no Subject:"; bad=1; }
        (( definedby )) || { echo "$cat:$cur_line: entry $cur has no \"Defined-By: salve\""; bad=1; }
        (( body )) || { echo "$cat:$cur_line: entry $cur has no body"; bad=1; }
    }
    while IFS= read -r line || [[ -n $line ]]; do
        lno=$((lno + 1))
        if [[ $line =~ ^--\ ([0-9a-fA-F]{32})(\ [A-Za-z_@]+)?$ ]]; then
            finish
            cur=${BASH_REMATCH[1],,}
            cur_line=$lno
            in_header=1 subject=0 definedby=0 body=0
            if [[ -n ${in_catalog[$cur${BASH_REMATCH[2]}]:-} ]]; then
                echo "$cat:$lno: entry $cur is there twice (also line ${in_catalog[$cur${BASH_REMATCH[2]}]})"
                bad=1
            fi
            in_catalog[$cur${BASH_REMATCH[2]}]=$lno
            [[ -n ${in_source[$cur]:-} ]] ||
                { echo "$cat:$lno: entry $cur is not a MESSAGE_ID of the source (src/shared/log.h)"; bad=1; }
            continue
        fi
        if [[ $line == --* ]]; then
            echo "$cat:$lno: malformed entry line: $line"
            bad=1
            continue
        fi
        if [[ -z $cur ]]; then          # before the first entry: comments and blank lines only
            [[ -z $line || $line == [\#\;]* ]] ||
                { echo "$cat:$lno: text before the first entry (journalctl: \"payload before ID\"): $line"; bad=1; }
            continue
        fi
        if (( in_header )); then
            if [[ -z $line ]]; then
                in_header=0
            elif [[ $line =~ ^Subject:\ +[^[:space:]] ]]; then
                subject=1
            elif [[ $line =~ ^Defined-By:\ +salve$ ]]; then
                definedby=1
            elif [[ ! $line =~ ^[A-Za-z-]+:\ +[^[:space:]] ]]; then
                echo "$cat:$lno: entry $cur: not a header line (KEY: value): $line"
                bad=1
            fi
        elif [[ $line == [\#\;]* ]]; then
            echo "$cat:$lno: entry $cur: a body line that begins with \"${line:0:1}\" is a comment to journalctl and dropped"
            bad=1
        elif [[ $line =~ [^[:space:]] ]]; then
            body=1
        fi
        # @FIELD@: a field the source sets, or journalctl shows its name.
        local rest=$line
        while [[ $line != [\#\;]* && $rest =~ @([A-Z0-9_]+)@ ]]; do
            field=${BASH_REMATCH[1]}
            rest=${rest#*"${BASH_REMATCH[0]}"}
            [[ -n ${fields[$field]:-} ]] ||
                { echo "$cat:$lno: entry $cur uses @$field@, which no message of src/ sets"; bad=1; }
        done
    done <"$cat"
    finish

    for id in "${!in_source[@]}"; do
        if [[ -z ${in_catalog[$id]:-} ]]; then
            echo "${in_source[$id]}: MESSAGE_ID $id has no entry in $cat"
            bad=1
        fi
    done
    return $bad
}

[[ -f $catalog ]] || not_ok "$catalog exists"
if out=$(check "$root/src" "$catalog"); then
    count=$(grep -cE '^-- [0-9a-f]{32}$' "$catalog")
    ok "every MESSAGE_ID of src/ has a complete entry in catalog/salve.catalog and the reverse ($count entries)"
else
    diag "$out"
    not_ok "catalog/salve.catalog matches the MESSAGE_IDs of src/"
fi

# salved(8) lists every id (JOURNAL FIELDS), and no other.
src_ids=$(source_ids "$root/src" | awk '{print tolower($1)}' | sort -u)
man_check() { # MANPAGE: prints what differs, fails if anything does
    local man_ids
    man_ids=$(grep -oE '(^|[^0-9a-f])[0-9a-f]{32}($|[^0-9a-f])' "$1" | grep -oE '[0-9a-f]{32}' | sort -u)
    [[ $man_ids == "$src_ids" ]] && return 0
    diff <(echo "$src_ids") <(echo "$man_ids") | grep '^[<>]' | sed 's/^</missing from salved.8:/; s/^>/not an id of src\/:/'
    return 1
}
if ! out=$(man_check "$root/man/salved.8"); then
    diag "$out"
    not_ok "man/salved.8 lists exactly the MESSAGE_IDs of src/"
fi
ok "man/salved.8 lists exactly the $(wc -l <<<"$src_ids") MESSAGE_IDs of src/"
first_src=$(head -n 1 <<<"$src_ids")
grep -v "$first_src" "$root/man/salved.8" >"$tmp/salved.8"
out=$(man_check "$tmp/salved.8") && not_ok "a salved.8 without $first_src fails"
grep -q "missing from salved.8:.*$first_src" <<<"$out" || { diag "$out"; not_ok "it names the id"; }
ok "a salved.8 without $first_src fails: $out"

# The real tool. journalctl --update-catalog writes ROOT/var/lib/systemd/
# catalog/database, which needs root, even under --root.
ids=$src_ids
if [[ $(id -u) -eq 0 ]] && command -v journalctl >/dev/null; then
    mkdir -p "$tmp/root/usr/lib/systemd/catalog"
    cp "$catalog" "$tmp/root/usr/lib/systemd/catalog/salve.catalog"
    if ! err=$(journalctl --root="$tmp/root" --update-catalog 2>&1) || [[ -n $err ]]; then
        diag "$err"
        not_ok "journalctl --update-catalog takes the catalog without a word"
    fi
    ok "journalctl --update-catalog takes the catalog without a word"
    list=$(journalctl --root="$tmp/root" --list-catalog)
    missing=0
    for id in $ids; do
        subject=$(awk -v id="-- $id" '$0 == id { e = 1; next } e && /^Subject: / { sub(/^Subject: /, ""); print; exit }' "$catalog")
        if ! grep -qxF -- "$id salve: $subject" <<<"$list"; then
            echo "# journalctl --list-catalog lacks: $id salve: $subject"
            missing=1
        fi
    done
    (( missing == 0 )) || not_ok "journalctl --list-catalog lists every id with its subject"
    ok "journalctl --list-catalog lists all $(wc -w <<<"$ids") ids with salve's subject"
    dumped=$(journalctl --root="$tmp/root" --dump-catalog b1f69adb1c074b228eb908f78610b627)
    grep -q '^    salvectl status @SALVE_RUN@$' <<<"$dumped" ||
        not_ok "journalctl keeps an entry's indented command lines"
    ok "journalctl keeps an entry's indented command lines"
else
    echo "# journalctl check skipped: needs root (journalctl --update-catalog writes its database) and journalctl"
fi

# --- the checks can fail ---
first=$(grep -m 1 -oE '^-- [0-9a-f]{32}$' "$catalog" | cut -c 4-)
# An entry missing: drop the first one.
awk -v id="-- $first" '/^-- / { skip = ($0 == id) } !skip' "$catalog" >"$tmp/missing.catalog"
if out=$(check "$root/src" "$tmp/missing.catalog"); then
    not_ok "a catalog without the entry for $first fails"
fi
grep -q "MESSAGE_ID $first has no entry" <<<"$out" || { diag "$out"; not_ok "it names the id"; }
ok "a catalog without the entry for $first fails, naming where the id is defined: $(head -n 1 <<<"$out")"

# An entry for an id the source does not have.
{ cat "$catalog"; printf -- '\n-- 0123456789abcdef0123456789abcdef\nSubject: x\nDefined-By: salve\n\nx\n'; } \
    >"$tmp/extra.catalog"
out=$(check "$root/src" "$tmp/extra.catalog") && not_ok "a catalog with an id the source lacks fails"
grep -q "entry 0123456789abcdef0123456789abcdef is not a MESSAGE_ID" <<<"$out" ||
    { diag "$out"; not_ok "it names the id"; }
ok "a catalog with an id the source lacks fails: $(head -n 1 <<<"$out")"

# An entry without Subject:, one without Defined-By:, one without a body.
sed "0,/^Subject: /{/^Subject: /d}" "$catalog" >"$tmp/nosubject.catalog"
out=$(check "$root/src" "$tmp/nosubject.catalog") && not_ok "an entry without Subject: fails"
grep -q "has no Subject:" <<<"$out" || { diag "$out"; not_ok "it says so"; }
ok "an entry without Subject: fails: $(head -n 1 <<<"$out")"
sed "0,/^Defined-By: salve$/{/^Defined-By: salve$/d}" "$catalog" >"$tmp/nodefined.catalog"
out=$(check "$root/src" "$tmp/nodefined.catalog") && not_ok "an entry without Defined-By: fails"
grep -q 'has no "Defined-By: salve"' <<<"$out" || { diag "$out"; not_ok "it says so"; }
ok "an entry without Defined-By: fails: $(head -n 1 <<<"$out")"
awk -v id="-- $first" '/^-- / { e = ($0 == id); h = e } e && !h { next } e && /^$/ { h = 0 } { print }' \
    "$catalog" >"$tmp/nobody.catalog"
out=$(check "$root/src" "$tmp/nobody.catalog") && not_ok "an entry without a body fails"
grep -q "entry $first has no body" <<<"$out" || { diag "$out"; not_ok "it says so"; }
ok "an entry without a body fails: $(head -n 1 <<<"$out")"

# A field no message sets.
sed "0,/@SALVE_RUN@/s//@SALVE_RUN_ID@/" "$catalog" >"$tmp/field.catalog"
out=$(check "$root/src" "$tmp/field.catalog") && not_ok "an unknown @FIELD@ fails"
grep -q "uses @SALVE_RUN_ID@" <<<"$out" || { diag "$out"; not_ok "it says so"; }
ok "an unknown @FIELD@ fails: $(head -n 1 <<<"$out")"

# An entry there twice.
awk -v id="-- $first" '/^-- / { e = ($0 == id) } e { print }' "$catalog" >"$tmp/first.entry"
{ cat "$catalog"; echo; cat "$tmp/first.entry"; } >"$tmp/twice.catalog"
out=$(check "$root/src" "$tmp/twice.catalog") && not_ok "an entry there twice fails"
grep -q "entry $first is there twice" <<<"$out" || { diag "$out"; not_ok "it says so"; }
ok "an entry there twice fails: $(head -n 1 <<<"$out")"

# A body line journalctl would drop as a comment.
awk -v id="-- $first" '/^-- / { e = ($0 == id); h = e } { print } e && h && /^$/ { print "# dropped"; h = 0 }' \
    "$catalog" >"$tmp/comment.catalog"
out=$(check "$root/src" "$tmp/comment.catalog") && not_ok "a body line beginning with # fails"
grep -q 'a body line that begins with "#"' <<<"$out" || { diag "$out"; not_ok "it says so"; }
ok "a body line beginning with # fails: $(head -n 1 <<<"$out")"

# An id defined twice in log.h, and one defined but never logged.
cp -r "$root/src" "$tmp/src2"
dup=$(grep -m 1 -oE '#define SALVE_MESSAGE_[A-Z0-9_]+ "[0-9a-f]{32}"' "$root/src/shared/log.h")
[[ -n $dup ]] || not_ok "src/shared/log.h defines SALVE_MESSAGE_* ids as the check expects"
echo "#define SALVE_MESSAGE_TEST_DUP ${dup##* }" >>"$tmp/src2/shared/log.h"
echo 'static const char *z = SALVE_MESSAGE_TEST_DUP;' >>"$tmp/src2/shared/log.c"
out=$(check "$tmp/src2" "$catalog") && not_ok "an id defined twice in log.h fails"
grep -q "is defined twice" <<<"$out" || { diag "$out"; not_ok "it says so"; }
ok "an id defined twice in log.h fails: $(head -n 1 <<<"$out")"
cp "$root/src/shared/log.h" "$tmp/src2/shared/log.h"
cp "$root/src/shared/log.c" "$tmp/src2/shared/log.c"
echo '#define SALVE_MESSAGE_TEST_UNUSED "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"' >>"$tmp/src2/shared/log.h"
out=$(check "$tmp/src2" "$catalog") && not_ok "an id defined but never logged fails"
grep -q "SALVE_MESSAGE_TEST_UNUSED is defined but never logged" <<<"$out" || { diag "$out"; not_ok "it says so"; }
ok "an id defined but never logged fails: $(head -n 1 <<<"$out")"

# A new id in log.h, logged somewhere, without an entry; and a literal
# MESSAGE_ID=... in a .c file.
cp -r "$root/src" "$tmp/src"
echo '#define SALVE_MESSAGE_TEST_NEW "fedcba9876543210fedcba9876543210"' >>"$tmp/src/shared/log.h"
echo 'static const char *x = SALVE_MESSAGE_TEST_NEW;' >>"$tmp/src/shared/log.c"
out=$(check "$tmp/src" "$catalog") && not_ok "a new SALVE_MESSAGE_* without an entry fails"
grep -q "fedcba9876543210fedcba9876543210 has no entry" <<<"$out" ||
    { diag "$out"; not_ok "it names the id"; }
ok "a new SALVE_MESSAGE_* without an entry fails: $(head -n 1 <<<"$out")"
cp "$root/src/shared/log.h" "$tmp/src/shared/log.h"
cp "$root/src/shared/log.c" "$tmp/src/shared/log.c"
echo 'static const char *y = "see journalctl MESSAGE_ID=00112233445566778899aabbccddeeff";' >>"$tmp/src/shared/log.c"
out=$(check "$tmp/src" "$catalog") && not_ok "a MESSAGE_ID=... literal without an entry fails"
grep -q "src/shared/log.c:[0-9]*: MESSAGE_ID 00112233445566778899aabbccddeeff has no entry" <<<"$out" ||
    { diag "$out"; not_ok "it names file and line"; }
ok "a MESSAGE_ID=... literal in a .c file without an entry fails: $(head -n 1 <<<"$out")"

echo "1..$n"
