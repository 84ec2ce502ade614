#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The compression benchmark's "structured tensors" section: per tensor of
# bench/make_structured_tensors.py (f32 and bf16), `statepack pack --compress zstd` (default
# level) against `zstd -19` of the raw bytes and of the byte-grouped bytes, as % of raw, the
# target (the better zstd -19 + 0.5 points) and pack speed (input bytes per CPU-second).
# statepack's size is all the blob's tensor bytes: the data and any scales or palette.
#
# Usage: bench/structured_bench.sh [BUILD_DIR]    (default build/release; ROWS=512 COLS=1024)
set -euo pipefail
cd "$(dirname "$0")/.."
SP=$(realpath "${1:-build/release}/tools/statepack")
PY=/usr/bin/python3
work=$(mktemp -d "${BENCH_TMP:-/tmp}/spk-structured.XXXXXX")
trap 'rm -rf "$work"' EXIT
names=$("$PY" bench/make_structured_tensors.py "$work" --rows "${ROWS:-512}" --cols "${COLS:-1024}")
echo "== structured tensors, % of raw (lower is better); target: statepack <= min(zstd -19) + 0.5"
printf '%-24s %9s %9s %11s %8s %5s %14s\n' tensor statepack "zstd -19" "-19 grouped" target met speed
for n in $names; do
  raw=$(stat -c %s "$work/$n.raw")
  cpu=$(/usr/bin/time -f '%U %S' "$SP" pack "$work/$n.safetensors" -o "$work/$n.spk" \
    --compress zstd --quiet 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2}')
  ours=$("$SP" inspect --json "$work/$n.spk" |
    "$PY" -c "import json,sys; print(json.load(sys.stdin)['tensor_bytes'])")
  z=$(zstd -q -19 -c "$work/$n.raw" | wc -c)
  g=$(zstd -q -19 -c "$work/$n.grouped" | wc -c)
  "$PY" - "$n" "$raw" "$ours" "$z" "$g" "$cpu" <<'PY'
import sys
n, raw, ours, z, g, cpu = sys.argv[1], *map(float, sys.argv[2:])
pct = lambda x: 100.0 * x / raw
target = min(pct(z), pct(g)) + 0.5
speed = f"{raw / max(cpu, 0.01) / 1e6:.0f} MB/s"
print(f"{n:<24} {pct(ours):8.1f}% {pct(z):8.1f}% {pct(g):10.1f}% {target:7.1f}% "
      f"{'yes' if pct(ours) <= target else 'NO':>5} {speed:>14}")
PY
done
echo "   zstd -19 grouped: the tensor's bytes byte-grouped whole (statepack groups per chunk: 64 KiB,"
echo "   or up to 2 MiB where that codes smaller); speed: tensor bytes / CPU-seconds of the whole"
echo "   pack process (< 10 ms reads 0.01 s)."
