#!/bin/bash
# Install what salve's build, unit tests and integration tests need on a
# fresh Debian 12 (bookworm).  Idempotent: if every package is already
# installed it does nothing (pass --force to run apt-get anyway).  apt's
# output goes to a log, printed only if apt fails.
#
#   sudo tools/install-deps.sh [--force]
set -euo pipefail

packages=(
    # build (build-essential: dpkg-buildpackage checks for it)
    build-essential
    meson
    ninja-build
    pkg-config
    gcc
    clang
    libclang-rt-14-dev
    libsystemd-dev
    libyaml-dev
    libcmocka-dev
    libmnl-dev
    libblkid-dev
    libmount-dev
    libext2fs-dev
    libjson-c-dev
    libcurl4-openssl-dev
    libssl-dev
    libmicrohttpd-dev
    zlib1g-dev
    # integration rig (tests/integration/lib.sh): real systemd in nspawn
    systemd
    systemd-container
    polkitd
    pkexec
    dbus
    util-linux
    procps
    passwd
    tar
    iproute2
    e2fsprogs
    # the block watcher's test (test-watch-block.sh) makes a vfat image and
    # a GPT partition table (sfdisk)
    dosfstools
    fdisk
    # test scripts read salvectl --json
    jq
    # md VM rig (tests/vm/): TCG VM with a Debian kernel unpacked from its
    # package (fetched by tests/vm/build.sh), a busybox initramfs, real md
    qemu-system-x86
    busybox-static
    cpio
    kmod
    mdadm
    udev
    # the relay's tests: a real Alertmanager on 127.0.0.1 (and amtool for
    # the shipped inhibit rule), test receivers written in Python
    prometheus-alertmanager
    # promtool check metrics on salved's metrics file (test-prom-text, test-metrics.sh),
    # and node_exporter's textfile collector reading it (test-metrics.sh)
    prometheus
    prometheus-node-exporter
    python3
    curl # relay-lib.sh talks to the receivers, Alertmanager and salve-ack
    xxd  # test-relay-rig.sh turns keys into hex (its own package in bookworm)
    # snapshot steps: btrfs on a loop device in the container rig, LVM (thin
    # and classic) in the md VM, whose guest shares the host's lvm2
    btrfs-progs
    lvm2
    thin-provisioning-tools
    # the Debian package (tools/package.sh)
    git
    debhelper
    dpkg-dev
    lintian
    # the package's install/upgrade/purge test (tests/package/test-package.sh):
    # a fresh Debian 12 root with a real dpkg database
    debootstrap
    # the benchmarks' D-Bus clients (bench/bench-salved.sh, bench-watch.sh)
    python3-dbus
    python3-gi
    # docs / plan graphs; salvectl graph -T and test-report.sh render with dot
    graphviz
    # test-report.sh opens salvectl report's HTML in a real browser (headless)
    chromium
    # shell completion: its pkg-config file (completionsdir) and its
    # bash_completion, which tests/unit/test-completion.sh sources; zsh
    # checks that _salvectl loads
    bash-completion
    zsh
    # lint for the test scripts
    shellcheck
    # tests/unit/test-man.sh renders the manual pages as man(1) does
    groff-base
    man-db
)

force=0
for a in "$@"; do
    case "$a" in
        --force) force=1 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "install-deps: unknown argument '$a'" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${packages[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$st" == installed ]] || missing+=("$p")
done

if (( ${#missing[@]} == 0 && force == 0 )); then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo "$0" "$@"
    fi
    echo "install-deps: must run as root (missing: ${missing[*]})" >&2
    exit 1
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]:-(forced) ${packages[*]}}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp "${TMPDIR:-/tmp}/salve-install-deps.XXXXXX.log")
apt_quiet() { # CMD...: run it with its output in $log; on failure show the log
    if ! "$@" >>"$log" 2>&1; then
        cat "$log" >&2
        echo "install-deps: '$*' failed (log above, kept in $log)" >&2
        exit 1
    fi
}
apt_quiet apt-get update
apt_quiet apt-get install -y --no-install-recommends "${packages[@]}"
rm -f "$log"
echo "install-deps: done"
