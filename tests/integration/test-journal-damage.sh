#!/bin/bash
# salved comes up whatever is in its journal's place, and keeps every intact
# record. A real journal of several runs (one of them active, waiting for a
# person) is built in the container; then, for each of ~47 variants (a flip
# in each header field, other versions, short files, truncation at record
# boundaries and inside records, flips inside records, garbage and zeros
# appended or in the middle, an empty file, a directory, a FIFO, symlinks),
# salved is restarted on it (one container, one salved restart per variant)
# and must:
#   - start (systemctl is-active);
#   - report the expected damage and number of records (JournalRecovery);
#   - hold, at the start of its journal, exactly the intact records of the
#     variant, byte for byte, and show exactly the runs they create, each
#     run untouched by the damage in its state from before;
#   - keep what it set aside, unchanged, and say so in the journal (its
#     MESSAGE_ID) and in salvectl status; or, for a torn tail, an empty file
#     or an intact journal, set nothing aside and say nothing.
# It ends with "N of M variants recovered".
set -euo pipefail
# shellcheck source=tests/integration/salve-lib.sh
source "$(dirname "$0")/salve-lib.sh"

MSGID=f2d50fc92c0d4b4ebb17c39959d86da2

salve_setup journal-damage$$
# Restarted ~50 times in a row: no start rate limit; and no restart behind
# the test's back, so a salved that fails to start stays failed and is seen.
mkdir -p "$SALVE_UNITS/salved.service.d"
printf '[Unit]\nStartLimitIntervalSec=0\n[Service]\nRestart=no\n' >"$SALVE_UNITS/salved.service.d/damage-test.conf"
salve_boot
WORK=$(rig_tmpdir damage)

# --- a real journal: finished runs of three plans, and one waiting ---
rig_exec systemctl start demo-db demo-api demo-worker
for i in 1 2 3 4 5; do
    id=$(rig_exec salvectl run conditional)
    salve_wait "$id" succeeded 30
    id=$(rig_exec salvectl run limited)
    salve_wait "$id" succeeded 30
done
for i in 1 2; do
    id=$(rig_exec salvectl run ordered-restart)
    salve_wait "$id" succeeded 30
done
active=$(rig_exec salvectl run demo)
salve_wait_step "$active" dba-approval waiting 30
rig_exec salvectl --json history | jq -r '.[] | "\(.id) \(.state)"' | sort >"$WORK/base-states"
rig_exec systemctl stop salved
cp "$SALVE_STATE/journal" "$WORK/base"
BASE_SIZE=$(stat -c %s "$WORK/base")

# Index, offset, size, type and run of every record of the base journal.
OFF=() SIZE=() TYPE=() RUN=()
off=32
while ((off + 12 <= BASE_SIZE)); do
    len=$(od -An -tu4 -j $((off + 4)) -N4 "$WORK/base" | tr -d ' ')
    rsize=$(((12 + len + 7) & ~7))
    read -r type run < <(dd if="$WORK/base" iflag=skip_bytes,count_bytes skip=$((off + 12)) count="$len" \
        bs=64K status=none | jq -r '"\(.type) \(.run)"')
    OFF+=("$off") SIZE+=("$rsize") TYPE+=("$type") RUN+=("$run")
    off=$((off + rsize))
done
N=${#OFF[@]}
test "$off" -eq "$BASE_SIZE" || rig_fail "the base journal does not parse: $off of $BASE_SIZE bytes"
NRUNS=$(wc -l <"$WORK/base-states")
rig_ok "base journal: $N records, $BASE_SIZE bytes, $NRUNS runs (run $active waiting for a person)"
((N >= 40 && NRUNS >= 10)) || rig_fail "the base journal is too small to be a test"

# The record holding byte OFFSET.
record_at() {
    local k
    for ((k = 0; k < N; k++)); do
        if ((OFF[k] <= $1 && $1 < OFF[k] + SIZE[k])); then echo "$k"; return; fi
    done
    echo -1
}

flip() { # FILE OFFSET: flip bit 5 of the byte at OFFSET
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf '%b' "$(printf '\\0%03o' $((b ^ 32)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

put_le32() { # FILE OFFSET VALUE
    printf '%b' "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($3 & 255)) $((($3 >> 8) & 255)) $((($3 >> 16) & 255)) \
        $((($3 >> 24) & 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

header_crc_fix() { # FILE HEADER_SIZE: rewrite the header checksum
    local crc
    crc=$(head -c $(($2 - 4)) "$1" | gzip -c | tail -c8 | od -An -tu4 -N4 | tr -d ' ')
    put_le32 "$1" $(($2 - 4)) "$crc"
}

cp "$WORK/base" "$WORK/v"
header_crc_fix "$WORK/v" 32
cmp -s "$WORK/v" "$WORK/base" || rig_fail "the test's header checksum is not the journal's"

# --- the variants ---
# Each sets: V_NAME, V_KIND (file, dir, fifo, symlink, dangling, none),
# V_DAMAGE (as JournalRecovery says), V_LIMIT (records of the base beyond
# this index are gone: truncation), V_MISSING (indices of lost records),
# V_ASIDE (1: something must be set aside). File variants are built in
# $WORK/v.
NAMES=() SPECS=()
variant() { NAMES+=("$1"); SPECS+=("$2"); }

for f in "magic:0" "magic:7" "version:8" "header_size:12" "created_usec:16" "created_usec:23" "flags:24" \
    "header_crc:28" "header_crc:31"; do
    variant "header: flipped byte in ${f%:*} (offset ${f#*:})" "hflip ${f#*:}"
done
variant "header: version 2, checksum matching" "hversion"
variant "header: flags 0x1, checksum matching" "hflags"
variant "header: header_size 40, checksum matching" "hsize"
for n in 1 16 31; do variant "file of $n bytes" "short $n"; done
variant "empty file" "empty"
for k in 0 1 2 $((N / 4)) $((N / 2)) $((3 * N / 4)) $((N - 1)) "$N"; do
    variant "truncated at the record boundary before record $k" "cut $k 0"
done
for k in 1 $((N / 3)) $((N - 1)); do
    variant "truncated inside record $k, in its header" "cut $k 5"
    variant "truncated inside record $k, half way" "cut $k half"
done
variant "flipped byte in the magic of the first record" "rflip 0 0"
variant "flipped byte in the length of record $((N / 3))" "rflip $((N / 3)) 5"
variant "flipped byte in the checksum of record $((N / 2))" "rflip $((N / 2)) 9"
variant "flipped byte in the payload of record $((2 * N / 3))" "rflip $((2 * N / 3)) 20"
variant "flipped byte at offset 507 (the reported case)" "oflip 507"
variant "flipped byte in the payload of the last record" "rflip $((N - 1)) 20"
variant "flipped bytes in records 3 and $((N - 3))" "rflip2 3 $((N - 3))"
variant "garbage appended (8 bytes of text)" "append text"
variant "garbage appended (300 random bytes)" "append random"
variant "zeros appended (512 bytes)" "append zeros"
variant "a torn record header appended (magic and a length)" "append torn"
variant "8 bytes of garbage inserted between records $((N / 2 - 1)) and $((N / 2))" "insert $((N / 2))"
variant "zeros over records $((N / 4)) to $((N / 2)) (from 4 bytes into the first)" \
    "zero $((OFF[N / 4] + 4)) $((OFF[N / 2] - OFF[N / 4]))"
variant "a directory" "dir"
variant "a FIFO" "fifo"
variant "a symlink to a valid journal elsewhere" "symlink"
variant "a dangling symlink" "dangling"

# Builds variant SPEC into $WORK/v and sets the V_* expectations.
build() {
    local -a spec
    local k o
    read -ra spec <<<"$1"
    V_KIND=file V_DAMAGE=none V_LIMIT=$N V_MISSING=" " V_ASIDE=0
    cp "$WORK/base" "$WORK/v"
    case ${spec[0]} in
    hflip) flip "$WORK/v" "${spec[1]}"; V_DAMAGE=header V_ASIDE=1 ;;
    hversion) put_le32 "$WORK/v" 8 2; header_crc_fix "$WORK/v" 32; V_DAMAGE=unsupported V_ASIDE=1 V_LIMIT=0 ;;
    hflags) put_le32 "$WORK/v" 24 1; header_crc_fix "$WORK/v" 32; V_DAMAGE=unsupported V_ASIDE=1 V_LIMIT=0 ;;
    hsize) # a v1 header claiming 40 bytes: its checksum lands on record 0's length
        put_le32 "$WORK/v" 12 40; header_crc_fix "$WORK/v" 40; V_DAMAGE=header V_ASIDE=1 V_MISSING=" 0 " ;;
    short) head -c "${spec[1]}" "$WORK/base" >"$WORK/v"; V_DAMAGE=header V_ASIDE=1 V_LIMIT=0 ;;
    empty) : >"$WORK/v"; V_LIMIT=0 ;;
    cut)
        k=${spec[1]}
        if [[ $k == "$N" ]]; then o=$BASE_SIZE
        elif [[ ${spec[2]} == half ]]; then o=$((OFF[k] + SIZE[k] / 2))
        else o=$((OFF[k] + spec[2])); fi
        truncate -s "$o" "$WORK/v"; V_LIMIT=$k ;;
    rflip)
        flip "$WORK/v" $((OFF[spec[1]] + spec[2])); V_DAMAGE=records V_ASIDE=1 V_MISSING=" ${spec[1]} " ;;
    rflip2)
        flip "$WORK/v" $((OFF[spec[1]] + 20)); flip "$WORK/v" $((OFF[spec[2]] + 20))
        V_DAMAGE=records V_ASIDE=1 V_MISSING=" ${spec[1]} ${spec[2]} " ;;
    oflip)
        k=$(record_at "${spec[1]}"); flip "$WORK/v" "${spec[1]}"; V_DAMAGE=records V_ASIDE=1 V_MISSING=" $k " ;;
    append)
        case ${spec[1]} in
        text) printf 'garbage\n' >>"$WORK/v"; V_DAMAGE=records V_ASIDE=1 ;;
        random) head -c 300 /dev/urandom >>"$WORK/v"; V_DAMAGE=records V_ASIDE=1 ;;
        zeros) head -c 512 /dev/zero >>"$WORK/v" ;;
        torn) printf 'SJR\n\x00\x10\x00\x00' >>"$WORK/v" ;; # a 4096-byte record, 8 bytes of it
        esac ;;
    insert)
        k=${spec[1]}
        { head -c "${OFF[k]}" "$WORK/base"; printf 'JUNKJUNK'; tail -c +$((OFF[k] + 1)) "$WORK/base"; } >"$WORK/v"
        V_DAMAGE=records V_ASIDE=1 ;;
    zero)
        dd if=/dev/zero of="$WORK/v" bs=1 seek="${spec[1]}" count="${spec[2]}" conv=notrunc status=none
        for ((k = 0; k < N; k++)); do
            ((OFF[k] + SIZE[k] > spec[1] && OFF[k] < spec[1] + spec[2])) && V_MISSING+="$k "
        done
        V_DAMAGE=records V_ASIDE=1 ;;
    dir | fifo | symlink | dangling) V_KIND=${spec[0]} V_DAMAGE=not-regular V_ASIDE=1 V_LIMIT=0 ;;
    esac
}

place() {
    local j=$SALVE_STATE/journal
    rm -rf "$SALVE_STATE"/journal* "$SALVE_STATE/elsewhere"
    case $V_KIND in
    file) cp "$WORK/v" "$j"; chmod 0600 "$j" ;;
    dir) mkdir "$j"; echo keep >"$j/inside" ;;
    fifo) mkfifo -m 0600 "$j" ;;
    symlink) cp "$WORK/base" "$SALVE_STATE/elsewhere"; ln -s /var/lib/salve/elsewhere "$j" ;;
    dangling) ln -s /var/lib/salve/no-such-journal "$j" ;;
    esac
}

# The intact records the variant must keep, concatenated, into $WORK/expect;
# their count in EXP_RECORDS and the runs they create in $WORK/expect-runs.
expect() {
    local k
    : >"$WORK/expect"
    : >"$WORK/expect-runs"
    EXP_RECORDS=0
    for ((k = 0; k < V_LIMIT; k++)); do
        [[ $V_MISSING == *" $k "* ]] && continue
        dd if="$WORK/base" iflag=skip_bytes,count_bytes skip="${OFF[k]}" count="${SIZE[k]}" bs=64K status=none \
            >>"$WORK/expect"
        EXP_RECORDS=$((EXP_RECORDS + 1))
        [[ ${TYPE[k]} == run-created ]] && echo "${RUN[k]}" >>"$WORK/expect-runs"
    done
    sort -o "$WORK/expect-runs" "$WORK/expect-runs"
}

# Runs none of whose records is lost (their state must be as before).
untouched() {
    local k r
    while read -r r; do
        for ((k = 0; k < N; k++)); do
            [[ ${RUN[k]} == "$r" ]] && { ((k >= V_LIMIT)) || [[ $V_MISSING == *" $k "* ]]; } && continue 2
        done
        echo "$r"
    done <"$WORK/expect-runs"
}

# The damage messages logged since cursor $1. (journalctl --after-cursor
# with a MESSAGE_ID= match finds nothing in systemd 252: filter here.)
damage_messages() {
    rig_exec journalctl -q --after-cursor="$1" -o json |
        jq -r --arg id "$MSGID" 'select(.MESSAGE_ID == $id) | .MESSAGE'
}

problems=()
bad() { problems+=("$NAME: $*"); echo "   not ok: $*" >&2; ok=0; }

recovered=0 t0=$(rig_now_ms)
for ((v = 0; v < ${#NAMES[@]}; v++)); do
    NAME=${NAMES[v]} ok=1
    build "${SPECS[v]}"
    expect
    rig_exec systemctl stop salved
    rig_exec systemctl reset-failed salved 2>/dev/null || true
    place
    cursor=$(rig_exec journalctl -q -n1 -o export | sed -n 's/^__CURSOR=//p')
    [[ -n $cursor ]] || rig_fail "cannot read the journal's cursor"

    if ! rig_exec systemctl start salved || ! rig_exec systemctl is-active -q salved; then
        bad "salved did not start: $(rig_exec systemctl status --no-pager -n 5 salved 2>&1 | tail -n 5)"
        _RIG_NTESTS=$((_RIG_NTESTS + 1))
        echo "not ok $_RIG_NTESTS - $NAME"
        continue
    fi

    # What salved says it found.
    prop=$(rig_exec busctl --json=short get-property org.salve.Manager1 /org/salve/manager org.salve.Manager1 \
        JournalRecovery | jq -c .data) || prop='["(no JournalRecovery property)","","",0,-1,0,0]'
    damage=$(jq -r '.[0]' <<<"$prop") aside=$(jq -r '.[2]' <<<"$prop") records=$(jq -r '.[4]' <<<"$prop")
    [[ $damage == "$V_DAMAGE" ]] || bad "damage is $damage, expected $V_DAMAGE ($prop)"
    [[ $records == "$EXP_RECORDS" ]] || bad "$records records recovered, expected $EXP_RECORDS ($prop)"

    # Every intact record, byte for byte, at the start of the journal.
    len=$(stat -c %s "$WORK/expect")
    if ! cmp -s -n "$len" "$WORK/expect" <(tail -c +33 "$SALVE_STATE/journal"); then
        bad "the journal does not start with the $EXP_RECORDS intact records"
    fi

    # Exactly the runs they create; the untouched ones as they were.
    rig_exec salvectl --json history | jq -r '.[] | "\(.id) \(.state)"' | sort >"$WORK/now-states"
    if ! diff -q <(cut -d' ' -f1 "$WORK/now-states") "$WORK/expect-runs" >/dev/null; then
        bad "runs $(cut -d' ' -f1 "$WORK/now-states" | tr '\n' ' ')differ from $(tr '\n' ' ' <"$WORK/expect-runs")"
    fi
    for r in $(untouched); do
        a=$(grep "^$r " "$WORK/base-states" || true) b=$(grep "^$r " "$WORK/now-states" || true)
        [[ $a == "$b" ]] || bad "run $r was '${a#* }', now '${b#* }'"
    done

    # What was set aside, kept as it was, and said.
    mapfile -t asides < <(find "$SALVE_STATE" -maxdepth 1 \( -name 'journal.damaged-*~' -o \
        -name 'journal.unsupported-*~' \) -printf '%f\n')
    status=$(rig_exec salvectl status)
    if ((V_ASIDE)); then
        if ((${#asides[@]} != 1)) || [[ /var/lib/salve/${asides[0]} != "$aside" ]]; then
            bad "set aside: '${asides[*]}', bus says '$aside'"
        else
            a=$SALVE_STATE/${asides[0]}
            case $V_KIND in
            file) cmp -s "$a" "$WORK/v" || bad "the file set aside is not the one found" ;;
            dir) [[ -d $a && -f $a/inside ]] || bad "the directory was not kept" ;;
            fifo) [[ -p $a ]] || bad "the FIFO was not kept" ;;
            symlink | dangling) [[ -L $a ]] || bad "the symlink was not kept"
                [[ $V_KIND != symlink ]] || cmp -s "$SALVE_STATE/elsewhere" "$WORK/base" ||
                    bad "the symlink's target was changed" ;;
            esac
        fi
        grep -q "^journal: .* set aside as $aside at " <<<"$status" || bad "salvectl status does not say it: $status"
        for ((i = 0; i < 25; i++)); do
            damage_messages "$cursor" | grep -qF "$aside" && break
            sleep 0.2
        done
        ((i < 25)) || bad "no journal message with MESSAGE_ID=$MSGID naming $aside"
    else
        ((${#asides[@]} == 0)) || bad "set aside what needed no setting aside: ${asides[*]}"
        [[ -z $aside ]] || bad "the bus names a file set aside: $aside"
        ! grep -q "^journal:" <<<"$status" || bad "salvectl status reports damage: $status"
        [[ -z $(damage_messages "$cursor") ]] || bad "a damage message was logged"
    fi
    [[ $V_KIND != file ]] || [[ -f $SALVE_STATE/journal && ! -L $SALVE_STATE/journal ]] || bad "no journal file"

    if ((ok)); then
        recovered=$((recovered + 1))
        rig_ok "$NAME: $damage, $records records${aside:+, kept as ${aside##*/}}"
    else
        _RIG_NTESTS=$((_RIG_NTESTS + 1))
        echo "not ok $_RIG_NTESTS - $NAME"
    fi
done
total=${#NAMES[@]}
echo "$recovered of $total variants recovered (salved up, every intact record kept, what was set aside kept and said) in $(($(rig_now_ms) - t0)) ms"
((${#problems[@]} == 0)) || rig_fail "$((total - recovered)) variants failed: $(printf '\n  %s' "${problems[@]}")"
rig_ok "$recovered of $total damaged-journal variants recovered"
rig_poweroff
rig_done
