#!/usr/bin/env bash
# Installs the Debian bookworm packages statepack needs, and only those that are missing.
# Usage: scripts/install-deps.sh [build|test]   (test = build + what the test suite runs)
set -euo pipefail

build_packages=(
  cmake g++ make pkg-config
  libflatbuffers-dev flatbuffers-compiler
  libzstd-dev libxxhash-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev
)
test_packages=(
  doctest-dev binutils xxhash zstd
  python3 python3-torch python3-torchvision python3-numpy python3-sklearn
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
  clang libclang-rt-14-dev valgrind util-linux g++-s390x-linux-gnu qemu-user
  libzstd-dev:s390x
)

wanted=("${build_packages[@]}")
if [ "${1:-build}" = "test" ]; then
  wanted+=("${test_packages[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "statepack: installing missing packages: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
# Packages of another architecture (the big-endian test links s390x libzstd) need that
# architecture enabled before the package lists are fetched.
for pkg in "${missing[@]}"; do
  case "$pkg" in
    *:*)
      arch=${pkg##*:}
      if [ "$arch" != "$(dpkg --print-architecture)" ] &&
         ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        "${sudo_cmd[@]}" dpkg --add-architecture "$arch"
      fi
      ;;
  esac
done
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
