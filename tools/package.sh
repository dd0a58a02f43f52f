#!/bin/bash
# Builds the Debian package from a clean copy of the tree (the package
# build runs the unit suite), checks it with lintian, and checks that it
# holds what salve needs on a host: the binaries, the unit, the D-Bus
# activation file and bus policy, the polkit actions, the plans and the
# man pages. Prints the .deb's path. Run as root on Debian 12.
#
# In a git checkout it packages the files git tracks (as committed or as
# edited in the work tree; untracked files are left out). Without .git (an
# unpacked tarball) it packages the whole tree but build*/ directories.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$PWD/build-package}

rm -rf "$out"
mkdir -p "$out/src"
if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files that still exist (a file deleted in the work tree is left out).
    git ls-files -z | while IFS= read -r -d '' f; do
        [[ -e $f || -L $f ]] && printf '%s\0' "$f"
    done | xargs -0 -r cp -P --parents -t "$out/src"
else
    echo "package: no git checkout here; packaging the whole tree but build*/ directories"
    tar -C . --exclude='./build*' --exclude=./.git -cf - . | tar -C "$out/src" -xf -
fi
[[ -f $out/src/debian/control && -f $out/src/meson.build ]] ||
    { echo "package: $out/src has no debian/control or meson.build: run tools/package.sh from a salve source tree"; exit 1; }
(cd "$out/src" && dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) ||
    { tail -n 40 "$out/build.log"; echo "package: dpkg-buildpackage failed"; exit 1; }
deb=$(ls "$out"/salve_*.deb)
lintian --fail-on error,warning --suppress-tags no-manual-page "$deb"

contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/salvectl ./usr/libexec/salved ./lib/systemd/system/salved.service \
    ./usr/share/dbus-1/system-services/org.salve.Manager1.service \
    ./usr/share/dbus-1/system.d/org.salve.Manager1.conf ./usr/share/polkit-1/actions/org.salve.policy \
    ./usr/lib/salve/plans.d/storage-recovery.yaml ./usr/share/man/man5/salve.plan.5.gz \
    ./usr/share/man/man1/salvectl.1.gz ./usr/share/man/man8/salved.8.gz \
    ./usr/share/man/man5/salve.people.5.gz ./usr/share/man/man5/salve.relay.5.gz \
    ./usr/libexec/salve-ack ./lib/systemd/system/salve-ack.socket ./lib/systemd/system/salve-ack.service \
    ./usr/lib/sysusers.d/salve-ack.conf ./usr/share/doc/salve/remote-ack.md \
    ./usr/share/doc/salve/alertmanager-inhibit.yml \
    ./usr/share/bash-completion/completions/salvectl ./usr/share/zsh/vendor-completions/_salvectl \
    ./usr/lib/systemd/catalog/salve.catalog \
    ./lib/systemd/system-generators/salve-generator ./usr/libexec/salve-gate \
    ./lib/systemd/system/salve-gate@.service ./usr/libexec/salve-snapshot ./usr/libexec/salve-check-backup; do
    grep -qx -- "$f" <<<"$contents" || { echo "package: $f is missing from $deb"; exit 1; }
done
# The maintainer scripts: salved enabled, salve-ack's socket not, its user made.
scripts=$(mktemp -d)
dpkg-deb -e "$deb" "$scripts"
grep -q "salved.service" "$scripts/postinst" || { echo "package: postinst does not enable salved"; exit 1; }
if grep -q "enable.*salve-ack.socket\|salve-ack.socket.*enable" "$scripts/postinst" &&
   ! grep -q "was-enabled.*salve-ack.socket" "$scripts/postinst"; then
    echo "package: postinst enables salve-ack.socket (it must stay off until configured)"; exit 1
fi
grep -q "systemd-sysusers" "$scripts/postinst" || { echo "package: postinst does not create the salve-ack user"; exit 1; }
rm -rf "$scripts"
echo "package: $deb"
