#!/usr/bin/env bash
# The whole test suite: install what is missing, then build and run every test twice, in a
# release build (warnings are errors) and in a debug build with ASan + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh test
jobs=$(nproc)
for preset in release debug-asan; do
  echo "== $preset: build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j"$jobs"
  echo "== $preset: test"
  ctest --preset "$preset" -j"$jobs"
done
