#!/bin/bash
# tests/vm/run.sh - boot the md VM once and run a guest script in it.
#
# The VM (qemu under TCG: this machine's /dev/kvm does not work) runs the
# Debian kernel tests/vm/build.sh caches, the host's own root read-only over
# virtio-9p under a tmpfs overlay, and real systemd as PID 1 booting
# salve-vm.target (not the host's default target).  The guest script runs as
# salve-vm-job.service with tests/vm/guest/lib.sh's helpers; the VM powers off
# when it ends.  Its output and exit status come back through the job dir, a
# read-write 9p share (/mnt/salve-job inside).
#
#   tests/vm/run.sh [OPTIONS] [--] SCRIPT [ARGS...]
#
#   --build DIR       salve build dir, shared read-only at the same path inside
#                     (default $SALVE_BUILD_ROOT); the guest sees $VM_BUILD
#   --disks N         virtio disks (default 2): /dev/vda.. inside, serial salve-dN
#   --disk-size SIZE  size of new disk images (default 64M)
#   --disk-dir DIR    where the images d1.img..dN.img are; existing ones are
#                     reused (a second boot after a power cut), missing ones
#                     created empty (default: the job dir)
#   --job DIR         job dir (default: a new one under $TMPDIR, removed on exit
#                     unless the run failed or --keep)
#   --phase NAME      passed to the guest as $VM_PHASE (default 1)
#   --powercut        the guest script calls vm_powercut when it wants the
#                     power cut: the host then kills qemu with SIGKILL and this
#                     exits 0; it exits 1 if the guest ends without asking
#   --timeout SEC     bound on the whole run (default 300); then qemu is killed
#   --append WORDS    extra kernel command line words
#   --debug           kernel and systemd messages on the console (console.log)
#   --keep            keep the job dir
#   -v, --verbose     copy the console to stderr as it comes
#
# Exit status: the guest script's (0, 1, 77...); 77 when qemu or the VM
# kernel cannot be had here; 3 when the VM did not boot, timed out or gave no
# exit status; 2 on bad usage.  The console is in JOB/console.log, the guest's
# output in JOB/guest.out (also printed), the guest's dmesg in JOB/dmesg.txt,
# and its journal in JOB/journal.txt when the script failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${SALVE_BUILD_ROOT:-}
ndisks=2 disk_size=64M disk_dir='' job='' phase=1 powercut=0 timeout=300 append='' debug=0 keep=0 verbose=0

usage() { sed -n '13,37p' "$0" >&2; exit 2; }
while (( $# )); do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --disks) ndisks=$2; shift 2 ;;
        --disk-size) disk_size=$2; shift 2 ;;
        --disk-dir) disk_dir=$2; shift 2 ;;
        --job) job=$2; shift 2 ;;
        --phase) phase=$2; shift 2 ;;
        --powercut) powercut=1; shift ;;
        --timeout) timeout=$2; shift 2 ;;
        --append) append=$2; shift 2 ;;
        --debug) debug=1; shift ;;
        --keep) keep=1; shift ;;
        -v|--verbose) verbose=1; shift ;;
        --) shift; break ;;
        -h|--help) usage ;;
        -*) echo "run.sh: unknown option '$1'" >&2; usage ;;
        *) break ;;
    esac
done
(( $# >= 1 )) || usage
script=$(realpath "$1"); shift
[[ -z "$build" ]] || build=$(realpath "$build")
[[ -r "$script" ]] || { echo "run.sh: no script $script" >&2; exit 2; }
if ! [[ "$ndisks" =~ ^[0-9]+$ ]] || (( ndisks > 8 )); then
    echo "run.sh: --disks 0..8" >&2
    exit 2
fi

log() { echo "vm: $*" >&2; }
now_ms() { date +%s%3N; }

command -v qemu-system-x86_64 >/dev/null 2>&1 \
    || { log "SKIP: qemu-system-x86_64 not found (package qemu-system-x86)"; exit 77; }
set +e
kvars=$("$here/build.sh")
rc=$?
set -e
(( rc == 0 )) || { (( rc == 77 )) && exit 77; log "build.sh failed ($rc)"; exit 3; }
eval "$kvars"   # VM_KVER VM_KERNEL VM_INITRD VM_MODULES

if [[ -z "$job" ]]; then
    job=$(mktemp -d "${TMPDIR:-/tmp}/salve-vm-job.XXXXXX")
    own_job=1
else
    mkdir -p "$job"
    own_job=0
fi
job=$(realpath "$job")
[[ -n "$disk_dir" ]] || disk_dir=$job
mkdir -p "$disk_dir"
disk_dir=$(realpath "$disk_dir")

qemu_pid=
failed=1
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    if [[ -n "$qemu_pid" ]] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill -9 "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    if (( own_job && !keep && !failed )); then
        rm -rf "$job"
    elif (( own_job )); then
        log "job dir kept: $job"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the job dir: units, the runner, the script's parameters; old results go
rm -f "$job"/{guest.out,guest.rc,powercut,console.log,dmesg.txt,journal.txt,job-start-uptime}
mkdir -p "$job/units"
cp "$here"/units/* "$job/units/"
cp "$here/guest-run.sh" "$job/guest-run.sh"
{
    printf 'VM_SCRIPT=%q\n' "$script"
    printf 'VM_ARGS=('; printf '%q ' "$@"; printf ')\n'
    printf 'VM_SRC=%q\n' "$src"
    printf 'VM_BUILD=%q\n' "$build"
    printf 'VM_PHASE=%q\n' "$phase"
    printf 'VM_NDISKS=%q\n' "$ndisks"
} >"$job/job.env"

cmdline="console=ttyS0 panic=-1 systemd.unit=salve-vm.target systemd.firstboot=off"
if (( debug )); then
    cmdline+=" systemd.show_status=1"
else
    cmdline+=" quiet systemd.show_status=error"
fi
args=(-accel tcg,thread=multi -smp 2 -m 2048 -nographic -no-reboot
      -kernel "$VM_KERNEL" -initrd "$VM_INITRD"
      -nic none
      -qmp "unix:$job/qmp.sock,server=on,wait=off"
      -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
      -virtfs "local,path=$VM_MODULES,mount_tag=kmods,security_model=none,readonly=on,multidevs=remap"
      -virtfs "local,path=$job,mount_tag=job,security_model=none,multidevs=remap")
if [[ -n "$build" ]]; then
    [[ -x "$build/tests/integration/watch-driver" ]] || log "note: no watch-driver in $build"
    args+=(-virtfs "local,path=$build,mount_tag=build,security_model=none,readonly=on,multidevs=remap")
    cmdline+=" salve.build=$build"
fi
for (( i = 1; i <= ndisks; i++ )); do
    img="$disk_dir/d$i.img"
    [[ -e "$img" ]] || truncate -s "$disk_size" "$img"
    args+=(-drive "file=$img,if=none,format=raw,id=d$i,cache=writeback"
           -device "virtio-blk-pci,drive=d$i,serial=salve-d$i")
done
[[ -z "$append" ]] || cmdline+=" $append"
args+=(-append "$cmdline")

t0=$(now_ms)
log "booting $VM_KVER (TCG, $ndisks disks, job $job): $(basename "$script") $*"
qemu-system-x86_64 "${args[@]}" </dev/null >"$job/console.log" 2>&1 &
qemu_pid=$!
if (( verbose )); then
    tail -n +1 -F --pid="$qemu_pid" "$job/console.log" >&2 2>/dev/null &
fi

deadline=$(( t0 + timeout * 1000 ))
cut=0 reason=
while kill -0 "$qemu_pid" 2>/dev/null; do
    if (( powercut )) && [[ -e "$job/powercut" ]]; then
        kill -9 "$qemu_pid"
        cut=1
        log "power cut: killed qemu (SIGKILL) $(( $(now_ms) - t0 )) ms after start: $(cat "$job/powercut")"
        break
    fi
    if grep -q 'VM-INIT-FAILED' "$job/console.log" 2>/dev/null; then
        reason="the initramfs failed: $(grep -m1 'VM-INIT-FAILED' "$job/console.log")"
        break
    fi
    if (( $(now_ms) > deadline )); then
        reason="timed out after $timeout s"
        break
    fi
    sleep 0.2
done
if [[ -n "$reason" ]]; then
    kill -9 "$qemu_pid" 2>/dev/null || true
fi
qrc=0
{ wait "$qemu_pid"; } 2>/dev/null || qrc=$?   # no "Killed" job report after a power cut
qemu_pid=
t1=$(now_ms)

[[ -s "$job/guest.out" ]] && cat "$job/guest.out"
up=$(cat "$job/job-start-uptime" 2>/dev/null || echo '?')
if (( cut )); then
    log "powered off by the power cut; boot to job start: $up s (guest uptime); wall $(( t1 - t0 )) ms"
    failed=0
    exit 0
fi
if [[ -z "$reason" && ! -s "$job/guest.rc" ]]; then
    reason="qemu exited ($qrc) without the guest's exit status"
fi
if [[ -n "$reason" ]]; then
    log "FAILED: $reason; console tail ($job/console.log):"
    tail -n 40 "$job/console.log" | sed 's/^/vm console: /' >&2
    exit 3
fi
rc=$(<"$job/guest.rc")
log "guest exit $rc; boot to job start: $up s (guest uptime); wall $(( t1 - t0 )) ms"
if (( powercut )); then
    log "FAILED: --powercut given but the guest ended without calling vm_powercut"
    exit 1
fi
[[ "$rc" == 0 || "$rc" == 77 ]] && failed=0
exit "$rc"
