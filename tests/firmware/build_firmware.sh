#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds the `firmware` preset (Cortex-M4, cmake/arm-none-eabi.cmake) in its own
# build directory, with the host statepack packing the blobs the apps embed. Run by ctest
# (test firmware_build) before the QEMU runs and the size, stack and heap checks.
#
#   bash tests/firmware/build_firmware.sh SOURCE_DIR BUILD_DIR /path/to/host/statepack
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 SOURCE_DIR BUILD_DIR STATEPACK" >&2
  exit 2
fi
source_dir=$(realpath -- "$1")
build_dir=$(realpath -m -- "$2")
statepack=$(realpath -- "$3")
cd "$source_dir"
# The host build's compiler settings must not leak into the cross build.
unset CC CXX CFLAGS CXXFLAGS LDFLAGS
# No compiler cache: a cache hit replays the object without GCC's -fcallgraph-info output, and
# the stack budget is computed from those call graphs (size_report.py refuses stale ones).
unset CMAKE_C_COMPILER_LAUNCHER CMAKE_CXX_COMPILER_LAUNCHER
cmake --preset firmware -B "$build_dir" -DSTATEPACK_EXECUTABLE="$statepack" \
  -DCMAKE_C_COMPILER_LAUNCHER= -DCMAKE_CXX_COMPILER_LAUNCHER= >"$build_dir.configure.log" 2>&1 ||
  { cat "$build_dir.configure.log"; exit 1; }
cmake --build "$build_dir" -j"$(nproc)"
echo "firmware images:"
ls -l "$build_dir"/firmware/*.elf
