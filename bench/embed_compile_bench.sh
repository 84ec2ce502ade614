#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build cost of an embedded blob, C array against .incbin: packs a synthetic f32 checkpoint of
# MIB MiB, runs `statepack embed` in both forms and compiles each with `gcc -c` (and the .S with
# arm-none-eabi-gcc when present) under /usr/bin/time -v. Prints, per form: the generated
# source's size, embed's wall time, and the compiler's wall time, CPU time (user + system: the
# figure to compare on a busy machine) and peak RSS. Figures, not a test: nothing is asserted.
#
#   bench/embed_compile_bench.sh [MIB] [BUILD_DIR]   (defaults: 100, build/release)
#
# The C form of a 100 MiB blob needs about 14 GB of memory to compile: mind the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-100}
build=${2:-build/release}
statepack=$(realpath -- "$build/tools/statepack")
work=$(mktemp -d "${TMPDIR:-/tmp}/statepack-embed-bench.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

/usr/bin/python3 bench/make_synthetic_weights.py "$work/weights.safetensors" --dtype f32 --mib "$mib" >/dev/null
"$statepack" pack --quiet "$work/weights.safetensors" -o "$work/weights.spk" >/dev/null
printf 'blob: %s bytes (%s MiB of f32 weights)\n' "$(stat -c %s "$work/weights.spk")" "$mib"
printf '%-28s %10s %8s %9s %9s %13s\n' "form" "source MB" "embed s" "build s" "CPU s" "peak RSS MiB"

# measure LABEL SOURCE EMBED_SECONDS COMPILER ARGS...: compiles and prints one row.
measure() {
  local label=$1 source=$2 embed_s=$3
  shift 3
  /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null
  local wall cpu rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.2f", s}' "$work/time.txt")
  cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {printf "%.2f", s}' "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$work/time.txt")
  printf '%-28s %10.1f %8s %9s %9s %13s\n' "$label" "$(echo "$(stat -c %s "$source") / 1000000" | bc -l)" \
    "$embed_s" "$wall" "$cpu" "$rss"
}
# embed_timed FORMAT OUT: runs statepack embed, prints its wall seconds.
embed_timed() {
  local start end
  start=$(date +%s.%N)
  "$statepack" embed --format "$1" "$work/weights.spk" -o "$2" >/dev/null
  end=$(date +%s.%N)
  printf '%.2f' "$(echo "$end - $start" | bc -l)"
}

s_time=$(embed_timed incbin "$work/weights.S")
measure "incbin: gcc -c" "$work/weights.S" "$s_time" gcc -c "$work/weights.S" -o "$work/weights_s.o"
if command -v arm-none-eabi-gcc >/dev/null; then
  measure "incbin: arm-none-eabi-gcc -c" "$work/weights.S" "$s_time" \
    arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -c "$work/weights.S" -o "$work/weights_arm.o"
fi
c_time=$(embed_timed c "$work/weights.c")
measure "c: gcc -c" "$work/weights.c" "$c_time" gcc -c "$work/weights.c" -o "$work/weights_c.o"
