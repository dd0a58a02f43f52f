# shellcheck shell=bash
# tests/vm/storage-rootfs.sh - sourced by the md VM's storage tests
# (test-storage-powercut.sh, bench/bench-md-holds.sh, tools/demo.sh):
# makes the files salve needs in the VM's root before systemd starts, which
# tests/vm/init copies from JOB/rootfs/ over the guest's root.
#
#   storage_rootfs BUILD DEST [--throttle] PLAN.yaml...
#
# DEST gets: the build installed (meson install --destdir; the stage's /lib
# merged into /usr/lib as on Debian 12), the shipped plans masked and the
# given plans in /etc/salve/plans.d, /etc/mdadm/mdadm.conf naming md0 by the
# fixed UUID below (so udev assembles it as md0 at the next boot), the test
# services db and app (guest/data/), the state disk's mount on
# /var/lib/salve (salved's drop-in requires it), and salve-vm.target.wants
# links for salved, db and app.  --throttle: md resyncs at 1000 KiB/s from
# early boot (guest/data/vm-md-throttle.service).
# Returns non-zero, with a message, when the build cannot be installed.

STORAGE_MD_UUID=5a17e000:00000000:00000000:00000009

storage_rootfs() {
    local build=$1 dest=$2 data throttle=0 p d
    shift 2
    data=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/guest/data
    if [[ "${1:-}" == --throttle ]]; then throttle=1; shift; fi
    rm -rf "$dest" "$dest.stage"
    mkdir -p "$dest"
    meson install -C "$build" --destdir "$dest.stage" --no-rebuild --quiet >/dev/null \
        || { echo "storage_rootfs: meson install into $dest.stage failed" >&2; return 1; }
    [[ -x "$dest.stage/usr/libexec/salved" ]] \
        || { echo "storage_rootfs: no usr/libexec/salved in the stage (configure with --prefix=/usr)" >&2; return 1; }
    for d in usr etc var; do
        [[ -d "$dest.stage/$d" ]] && cp -a "$dest.stage/$d" "$dest/"
    done
    if [[ -d "$dest.stage/lib" ]]; then
        mkdir -p "$dest/usr/lib"
        cp -a "$dest.stage/lib/." "$dest/usr/lib/"
    fi
    rm -rf "$dest.stage"
    mkdir -p "$dest/etc/salve/plans.d" "$dest/etc/mdadm" "$dest/usr/local/lib/salve-vm" \
        "$dest/etc/systemd/system/salve-vm.target.wants" "$dest/etc/systemd/system/salved.service.d"
    for p in "$dest"/usr/lib/salve/plans.d/*.yaml; do
        [[ -e "$p" ]] && ln -sf /dev/null "$dest/etc/salve/plans.d/${p##*/}"
    done
    for p in "$@"; do
        install -m 0644 "$p" "$dest/etc/salve/plans.d/${p##*/}"
    done
    printf 'HOMEHOST <system>\nARRAY /dev/md0 metadata=1.2 UUID=%s\n' "$STORAGE_MD_UUID" \
        >"$dest/etc/mdadm/mdadm.conf"
    install -m 0755 "$data/demo-unit.sh" "$dest/usr/local/lib/salve-vm/demo-unit.sh"
    install -m 0644 "$data/db.service" "$data/app.service" "$data/var-lib-salve.mount" \
        "$dest/etc/systemd/system/"
    printf '[Unit]\nRequiresMountsFor=/var/lib/salve\n' \
        >"$dest/etc/systemd/system/salved.service.d/50-vm-state-disk.conf"
    ln -sf /usr/lib/systemd/system/salved.service "$dest/etc/systemd/system/salve-vm.target.wants/salved.service"
    ln -sf ../db.service "$dest/etc/systemd/system/salve-vm.target.wants/db.service"
    ln -sf ../app.service "$dest/etc/systemd/system/salve-vm.target.wants/app.service"
    if (( throttle )); then
        install -m 0644 "$data/vm-md-throttle.service" "$dest/etc/systemd/system/"
        mkdir -p "$dest/etc/systemd/system/sysinit.target.wants"
        ln -sf ../vm-md-throttle.service "$dest/etc/systemd/system/sysinit.target.wants/"
    fi
    return 0
}

# storage_state_disk IMG: a new ext4 for /var/lib/salve (the third disk)
storage_state_disk() {
    rm -f "$1"
    truncate -s 32M "$1"
    mkfs.ext4 -q -F -L salve-state "$1" >/dev/null
}
