#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite: install what is missing, then build and run every test twice, in a
# release build (warnings are errors) and in a debug build with ASan + UBSan, then run the fuzzers.
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

# Every fuzz target for a bounded time with libFuzzer + ASan + UBSan (tests/fuzz; about 8 minutes
# plus the clang build). STATEPACK_FUZZ_SECONDS=0 skips it.
fuzz_seconds=${STATEPACK_FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" != 0 ]; then
  tests/fuzz/run_fuzzers.sh "$fuzz_seconds"
fi
