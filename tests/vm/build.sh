#!/bin/bash
# tests/vm/build.sh - fetch a Debian kernel and build the md VM's initramfs.
#
# Downloads the current Debian 12 kernel package (linux-image-6.1.0-NN-amd64,
# the one linux-image-amd64 depends on) with apt-get, unpacks it with dpkg -x
# (nothing is installed on the host), runs depmod on it and builds a busybox
# initramfs holding tests/vm/init and the modules the VM needs before its
# root is mounted (virtio_pci, virtio_blk, 9p, 9pnet_virtio, overlay, md-mod,
# raid1 and what modules.dep says they need).  Everything goes to a cache dir
# outside the source tree; a second run reuses it and does not ask apt again.
#
#   tests/vm/build.sh [--refresh] [--print]
#
#   --refresh   ask apt for the current kernel again (the cache remembers the
#               one it fetched first); keeps older ones in the cache
#   --print     only print the cached kernel's paths (shell assignments), fail
#               if there is none; never fetches
#
# Environment: SALVE_VM_CACHE (default /var/cache/salve-vm), SALVE_VM_KVER
# (a kernel version such as 6.1.0-57-amd64 instead of apt's current one).
# On success the last lines printed are shell assignments run.sh evals:
#   VM_KVER=...  VM_KERNEL=.../vmlinuz  VM_INITRD=...  VM_MODULES=.../lib/modules
# Exit status: 0 ok, 77 when the kernel or a needed tool cannot be had here
# (a test calling this skips), 1 on other errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SALVE_VM_CACHE:-/var/cache/salve-vm}
refresh=0 print_only=0
for a in "$@"; do
    case "$a" in
        --refresh) refresh=1 ;;
        --print) print_only=1 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument '$a'" >&2; exit 2 ;;
    esac
done

log() { echo "vm-build: $*" >&2; }
skip() { log "SKIP: $*"; exit 77; }

# Modules loaded by the initramfs, in this order (their dependencies first,
# from modules.dep).  md-mod and raid1 are loaded last, after the root is
# mounted, with the root's modprobe.d options for md_mod (Debian: start_ro=1).
initrd_modules=(virtio_pci virtio_blk 9pnet_virtio 9p overlay md-mod raid1)

emit() { # KVER: print the assignments for a built kernel dir
    local d="$cache/$1"
    echo "VM_KVER=$1"
    echo "VM_KERNEL=$d/kroot/boot/vmlinuz-$1"
    echo "VM_INITRD=$d/initrd.img"
    echo "VM_MODULES=$d/kroot/lib/modules"
}

kver=${SALVE_VM_KVER:-}
if [[ -z "$kver" && $refresh -eq 0 && -s "$cache/current" ]]; then
    kver=$(<"$cache/current")
fi
if (( print_only )); then
    [[ -n "$kver" && -s "$cache/$kver/initrd.img" && -s "$cache/$kver/kroot/boot/vmlinuz-$kver" ]] \
        || { log "no VM kernel cached in $cache (run tests/vm/build.sh)"; exit 77; }
    emit "$kver"
    exit 0
fi

for tool in dpkg depmod cpio gzip; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (tools/install-deps.sh installs it)"
done
# busybox-static's /bin/busybox (the dynamic busybox package would need its
# libraries in the initramfs)
busybox=/bin/busybox
[[ "$(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null)" == installed && -x "$busybox" ]] \
    || skip "no static busybox (package busybox-static)"
[[ $(id -u) -eq 0 ]] || [[ -w "$(dirname "$cache")" || -w "$cache" ]] \
    || skip "cannot write the cache dir $cache (run as root or set SALVE_VM_CACHE)"
mkdir -p "$cache/debs"

if [[ -z "$kver" ]]; then
    command -v apt-cache >/dev/null 2>&1 || skip "no apt-cache to find a Debian kernel"
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null \
          | sed -n 's/^ *Depends: \(linux-image-6\.[0-9.]*-[0-9]*-amd64\)$/\1/p' | head -n1)
    [[ -n "$pkg" ]] || skip "apt-cache does not know linux-image-amd64 (apt-get update?)"
    kver=${pkg#linux-image-}
    log "current Debian kernel: $kver"
fi
kdir="$cache/$kver"

# 1. the package
deb=$(compgen -G "$cache/debs/linux-image-${kver}_*.deb" | head -n1 || true)
if [[ -z "$deb" ]]; then
    log "downloading linux-image-$kver"
    t0=$(date +%s)
    # apt's sandbox user cannot write root's cache; download to a temp dir
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/salve-vm-deb.XXXXXX")
    chmod 755 "$tmp"
    if ! (cd "$tmp" && apt-get download -q "linux-image-$kver" >"$tmp/apt.log" 2>&1); then
        cat "$tmp/apt.log" >&2
        rm -rf "$tmp"
        skip "cannot download linux-image-$kver (no network or unknown package)"
    fi
    mv "$tmp"/linux-image-"${kver}"_*.deb "$cache/debs/"
    rm -rf "$tmp"
    deb=$(compgen -G "$cache/debs/linux-image-${kver}_*.deb" | head -n1)
    log "downloaded $(basename "$deb") in $(( $(date +%s) - t0 )) s"
fi

# 2. unpacked + depmod (a stamp marks a complete unpack)
if [[ ! -e "$kdir/kroot.done" ]]; then
    log "unpacking $(basename "$deb")"
    rm -rf "$kdir/kroot"
    mkdir -p "$kdir/kroot"
    dpkg -x "$deb" "$kdir/kroot"
    depmod -b "$kdir/kroot" "$kver"
    touch "$kdir/kroot.done"
fi
moddir="$kdir/kroot/lib/modules/$kver"
[[ -s "$moddir/modules.dep" && -s "$kdir/kroot/boot/vmlinuz-$kver" ]] \
    || { log "broken unpack in $kdir (remove it and run again)"; exit 1; }

# 3. the initramfs, rebuilt when init, the module list or busybox change
want=$( { cat "$here/init"; echo "${initrd_modules[*]}"; sha256sum "$busybox"; } | sha256sum | cut -d' ' -f1)
if [[ ! -s "$kdir/initrd.img" || "$(cat "$kdir/initrd.sum" 2>/dev/null)" != "$want" ]]; then
    log "building the initramfs"
    declare -A seen=()
    order=()
    path_of() { # module name -> path in modules.dep (- and _ are the same)
        local n=${1//_/[-_]}
        grep -m1 -E "^([^:]*/)?${n}\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | cut -d: -f1
    }
    add_module() { # PATH: its deps first (modules.dep lists them deepest last)
        local p=$1 deps d i
        [[ -n "${seen[$p]:-}" ]] && return 0
        seen[$p]=1
        deps=$(grep -m1 -F "$p:" "$moddir/modules.dep" | cut -d: -f2)
        read -r -a d <<<"$deps"
        for (( i = ${#d[@]} - 1; i >= 0; i-- )); do add_module "${d[i]}"; done
        order+=("$p")
    }
    for m in "${initrd_modules[@]}"; do
        p=$(path_of "$m")
        [[ -n "$p" ]] || { log "module $m not in $moddir/modules.dep"; exit 1; }
        add_module "$p"
    done
    root=$(mktemp -d "${TMPDIR:-/tmp}/salve-vm-initrd.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root"/{bin,dev,proc,sys,lower,rw,newroot,lib/modules}
    cp "$busybox" "$root/bin/busybox"
    ln -s busybox "$root/bin/sh"
    install -m 755 "$here/init" "$root/init"
    : >"$root/lib/modules/load-order"
    for p in "${order[@]}"; do
        case "$p" in *.ko) ;; *) log "$p is compressed; busybox insmod needs .ko"; exit 1 ;; esac
        cp "$moddir/$p" "$root/lib/modules/"
        basename "$p" >>"$root/lib/modules/load-order"
    done
    (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$kdir/initrd.img.tmp"
    mv "$kdir/initrd.img.tmp" "$kdir/initrd.img"
    echo "$want" >"$kdir/initrd.sum"
    log "initramfs: $(wc -l <"$root/lib/modules/load-order") modules, $(du -k "$kdir/initrd.img" | cut -f1) KiB"
fi
echo "$kver" >"$cache/current"
emit "$kver"
