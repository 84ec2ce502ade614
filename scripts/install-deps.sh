#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian bookworm packages statepack needs, and only those that are missing.
# Usage: scripts/install-deps.sh [build|test]   (test = build + what the test suite runs)
# `test` also unpacks Debian's s390x libzstd into build/s390x-sysroot for the big-endian test
# (scripts/s390x-sysroot.sh); no package of another architecture goes into the system.
set -euo pipefail
cd "$(dirname "$0")/.."

# `build` is what `cmake --preset release` needs: it configures the tests too (doctest).
build_packages=(
  cmake g++ make pkg-config
  libflatbuffers-dev flatbuffers-compiler
  libzstd-dev libxxhash-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev doctest-dev
  libsodium-dev  # host Ed25519 signing; the oracle of the device crypto's tests
  python3-dev pybind11-dev  # the Python module (python/), against /usr/bin/python3
  dpkg-dev file  # dpkg-shlibdeps and file(1), which CPack's DEB generator runs for Depends
)
test_packages=(
  binutils xxhash zstd openssl  # openssl: keys from `openssl genpkey` in the signing tests
  python3 python3-torch python3-torchvision python3-numpy python3-sklearn
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
  clang libclang-rt-14-dev valgrind util-linux g++-s390x-linux-gnu qemu-user
  groff-base git  # the man page test; the SPDX test lists tracked files
)

mode=${1:-build}
case "$mode" in
  build | test) ;;
  *)
    echo "usage: $0 [build|test]" >&2
    exit 2
    ;;
esac
wanted=("${build_packages[@]}")
[ "$mode" = test ] && wanted+=("${test_packages[@]}")

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "statepack: installing missing packages: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$mode" = test ]; then
  scripts/s390x-sysroot.sh build/s390x-sysroot
fi
