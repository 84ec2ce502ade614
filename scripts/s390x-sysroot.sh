#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes the s390x sysroot the big-endian test (tests/portability/big_endian_test.sh) links
# libzstd from: Debian's libzstd-dev for s390x, fetched with a private apt configuration and
# unpacked with `dpkg-deb -x`. Nothing of another architecture is installed into the system and
# the system's dpkg and apt state are not touched (no `dpkg --add-architecture`): multiarch needs
# the foreign package's version to equal the native one's, which fails whenever the security
# archive has updated the native libzstd1. Needs no root. Does nothing if DIR is complete.
# Usage: scripts/s390x-sysroot.sh DIR   (run by `scripts/install-deps.sh test`)
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$(realpath -m -- "$1")
sysroot=$dir/root
[ -f "$sysroot/usr/lib/s390x-linux-gnu/libzstd.a" ] && [ -f "$sysroot/usr/include/zstd.h" ] && exit 0

echo "statepack: fetching libzstd-dev for s390x into $dir" >&2
apt_dir=$dir/apt
rm -rf "$apt_dir" "$sysroot"
mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" \
  "$apt_dir/sources.list.d" "$apt_dir/debs" "$sysroot"
# The system's sources, copied so that apt reads nothing else of the system's state.
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$apt_dir/sources.list"
touch "$apt_dir/sources.list" "$apt_dir/state/status"
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && cp "$f" "$apt_dir/sources.list.d/"
done
# As root, apt downloads as the user _apt, which may not write here: download as ourselves.
cat >"$apt_dir/apt.conf" <<EOF
Dir::State "$apt_dir/state";
Dir::State::status "$apt_dir/state/status";
Dir::Cache "$apt_dir/cache";
Dir::Etc::SourceList "$apt_dir/sources.list";
Dir::Etc::SourceParts "$apt_dir/sources.list.d";
APT::Architecture "s390x";
APT::Architectures { "s390x"; };
APT::Sandbox::User "$(id -un)";
EOF
export APT_CONFIG=$apt_dir/apt.conf
# A source that serves no s390x (a third-party repository, say) makes `update` fail without
# harming the others; the download below says whether what is needed was found.
apt-get update -qq || echo "statepack: apt-get update of the s390x lists reported errors" >&2
(cd "$apt_dir/debs" && apt-get download -qq libzstd-dev)
for deb in "$apt_dir"/debs/*.deb; do
  dpkg-deb -x "$deb" "$sysroot"
done
# The package lists are large and no longer needed; the .deb stays as a record of the version.
rm -rf "$apt_dir/state" "$apt_dir/cache"
[ -f "$sysroot/usr/lib/s390x-linux-gnu/libzstd.a" ] || {
  echo "statepack: libzstd-dev (s390x) has no libzstd.a" >&2
  exit 1
}
