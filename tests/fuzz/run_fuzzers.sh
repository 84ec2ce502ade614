#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the preset `fuzz` (clang, libFuzzer, ASan + UBSan) and runs every fuzz target for a
# bounded time, one after the other, starting from its seed corpus (tests/fuzz/corpus/<name>,
# read-only: new inputs go to build/fuzz/corpus-work/<name>). Prints the executions of each
# target and fails if any of them finds a crash, a leak, a timeout or a broken FUZZ_CHECK.
#
# Usage: tests/fuzz/run_fuzzers.sh [SECONDS (default 60)] [TARGET...]
# Run over every target, the whole takes 8 x SECONDS (the suite's fuzz time from when it had
# eight targets), shared evenly, so a new target takes a share instead of adding time. Targets
# named on the command line get SECONDS each.
# A finding is saved as build/fuzz/artifacts/<name>/crash-<sha1>; reproduce it with
#   build/fuzz/tests/fuzz/fuzz_<name> FILE
# and, once fixed, keep it as a regression input: cp FILE tests/fuzz/corpus/<name>/
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
shift || true
all_targets=(runtime_blob stream_verify header_differential roundtrip safetensors zip numpy pickle
             ed25519)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${all_targets[@]}")
  seconds=$(( seconds * 8 / ${#all_targets[@]} ))
  [ "$seconds" -ge 1 ] || seconds=1
fi

echo "== fuzz: build"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
bin=build/fuzz/tests/fuzz
failed=()
summary=()
for name in "${targets[@]}"; do
  dict=tests/fuzz/$name.dict
  case "$name" in runtime_blob|stream_verify|header_differential) dict=tests/fuzz/blob.dict ;; esac
  work=build/fuzz/corpus-work/$name
  artifacts=build/fuzz/artifacts/$name
  log=build/fuzz/logs/$name.log
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  options=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1
           -artifact_prefix="$artifacts/")
  [ -f "$dict" ] && options+=(-dict="$dict")
  echo "== fuzz: $name for ${seconds}s"
  status=0
  "$bin/fuzz_$name" "${options[@]}" "$work" "tests/fuzz/corpus/$name" >"$log" 2>&1 || status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  executions=${executions:-0}
  if [ "$status" -ne 0 ]; then
    echo "fuzz_$name FAILED (exit $status) after $executions executions; last lines of $log:"
    tail -40 "$log"
    ls "$artifacts" 2>/dev/null | sed "s|^|  reproducer: $artifacts/|"
    failed+=("$name")
    summary+=("$(printf '%-20s %12s executions  FAILED' "$name" "$executions")")
  else
    summary+=("$(printf '%-20s %12s executions  ok' "$name" "$executions")")
  fi
done

echo "== fuzz: summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
echo "fuzz: $(( ${#targets[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
