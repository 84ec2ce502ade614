#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The runtime on a big-endian host: packs blobs on this (little-endian) host with the CLI,
# records what the host runtime and its zstd add-on read from them (big_endian_expectations),
# cross-compiles the runtime's and the add-on's sources with a test program for s390x
# (big-endian, 64-bit), links Debian's s390x libzstd statically, and runs it under qemu-user.
# Needs g++-s390x-linux-gnu and qemu-user, and libzstd-dev for s390x unpacked into the build-local
# sysroot SOURCE_DIR/build/s390x-sysroot (never installed into the system):
# scripts/install-deps.sh test provides all three.
# Usage: big_endian_test.sh STATEPACK EXPECTATIONS_TOOL SOURCE_DIR WORK_DIR
set -euo pipefail
cli=$1
expectations=$2
source_dir=$3
work=$4
cxx=${STATEPACK_BE_CXX:-s390x-linux-gnu-g++}
qemu=${STATEPACK_BE_QEMU:-qemu-s390x}
sysroot=${STATEPACK_BE_SYSROOT:-$source_dir/build/s390x-sysroot/root}
zstd_lib=${STATEPACK_BE_ZSTD_LIB:-$sysroot/usr/lib/s390x-linux-gnu/libzstd.a}
zstd_include=${STATEPACK_BE_ZSTD_INCLUDE:-$sysroot/usr/include}
for tool in "$cxx" "$qemu"; do
  if ! command -v "$tool" >/dev/null; then
    echo "big-endian test: $tool is missing (scripts/install-deps.sh test installs it)" >&2
    exit 1
  fi
done
for file in "$zstd_lib" "$zstd_include/zstd.h"; do
  if [ ! -f "$file" ]; then
    echo "big-endian test: $file is missing (libzstd-dev for s390x; scripts/install-deps.sh test" \
      "unpacks it into $source_dir/build/s390x-sysroot)" >&2
    exit 1
  fi
done
rm -rf "$work"
mkdir -p "$work"
cd "$work"

"$expectations" input model.safetensors
blobs=()
pack() {
  local name=$1
  shift
  "$cli" pack model.safetensors -o "$name.spk" "$@" >/dev/null
  blobs+=("$name.spk")
}
pack plain
pack xxh32-align8 --checksum xxh32 --align 8
pack int8 --rule 'w=int8' --rule 'b=int8-tensor'
pack int8-asym --rule 'w=int8-asym' --rule 'b=int8-asym'
pack int8-g32 --rule 'w=int8-g32'
pack int4 --rule 'w=int4-g32'
pack int4-asym --rule 'w=int4-g32-asym'
pack casts --rule 'w=f16' --rule 'b=bf16'
# Compressed: byte-grouped floats (f32, f16, bf16, f64), 1-byte and sub-byte quantized data.
pack zstd --compress zstd
pack int8-zstd --rule 'big=int8' --rule 'w=int8' --compress zstd:5
pack int4-zstd --rule 'big=int4-g32-asym' --rule 'w=int4-g32' --compress zstd
"$expectations" expect expected.cpp "${blobs[@]}"

# zstd.h alone (it includes only <limits.h> and <stddef.h>) in a directory of its own, so that
# no other header beside it (STATEPACK_BE_ZSTD_INCLUDE may be the host's /usr/include) can shadow
# the cross compiler's own.
mkdir zstd_header
cp "$zstd_include/zstd.h" zstd_header/
runtime_sources=("$source_dir"/runtime/src/*.cpp "$source_dir"/runtime/zstd/src/*.cpp)
"$cxx" -std=c++17 -O1 -static -fno-exceptions -fno-rtti -Wall -Wextra \
  -DZSTD_STATIC_LINKING_ONLY -I"$source_dir/runtime/include" \
  -I"$source_dir/runtime/zstd/include" -isystem zstd_header -I"$source_dir/tests/portability" \
  "${runtime_sources[@]}" "$source_dir/tests/portability/big_endian_main.cpp" expected.cpp \
  "$zstd_lib" -o runtime_be
file_type=$(od -An -tx1 -j5 -N1 runtime_be | tr -d ' ')
[ "$file_type" = "02" ] || { echo "runtime_be is not a big-endian ELF" >&2; exit 1; }
"$qemu" ./runtime_be
