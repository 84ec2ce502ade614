#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compression, speed and memory of `statepack pack --compress zstd` against the zstd CLI, cp,
# xxhsum and safetensors, on seeded synthetic weights (bench/make_synthetic_weights.py: per-row
# log-normal scale, Student-t(6) tails) in f32, f16 and bf16, and on a torchvision ResNet-18
# (random init: no pretrained weights can be downloaded here). Prints one table.
#
# Usage: bench/compression_bench.sh [BUILD_DIR]          (default build/release)
# Environment: MIB=512 (synthetic size per dtype), RSS_GIB=4 (model size for the peak-RSS
# rows; 0 skips them), BENCH_TMP=/tmp (where inputs and outputs go; all are deleted at the end),
# SECTIONS="size structured speed open rss" (which parts to run; structured:
# bench/structured_bench.sh).
#
# Every file is read once before it is timed, so all runs see a warm page cache. `statepack
# pack` fsyncs its output before renaming it; cp and zstd do not, so they are timed followed by
# `sync FILE` (an fsync of that one file) to compare the same work. Times are the best of 3
# (5 for verify), wall clock, whole processes.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
SP=$(realpath "$build/tools/statepack")
BENCH=$(realpath "$build/bench")
MIB=${MIB:-512}
RSS_GIB=${RSS_GIB:-4}
SECTIONS=${SECTIONS:-size structured speed open rss}
want() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
PY=/usr/bin/python3
work=$(mktemp -d "${BENCH_TMP:-/tmp}/spk-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cores=$(nproc)

# best N CMD... : the best wall time of N runs, in seconds.
best() {
  local n=$1 best_ns=""
  shift
  for _ in $(seq "$n"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    if [ -z "$best_ns" ] || [ $((end - start)) -lt "$best_ns" ]; then best_ns=$((end - start)); fi
  done
  "$PY" -c "print(f'{$best_ns / 1e9:.3f}')"
}
size() { stat -c %s "$1"; }
pct() { "$PY" -c "print(f'{100.0 * $1 / $2:.1f}%')"; }
rate() { "$PY" -c "print(f'{$1 / $2 / 1e9:.2f} GB/s')"; }
ratio() { "$PY" -c "print(f'{$1 / $2:.2f}x')"; }
tensor_bytes() { "$SP" inspect --json "$1" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['tensor_bytes'])"; }
warm() { cat "$@" >/dev/null; }
row() { printf '%-34s %-14s %-14s %-14s %-14s %s\n' "$@"; }

# Order-0 entropy of each byte stream after statepack's filter (the sign rotated out of the
# exponent byte for f32/bf16): the smallest size any per-stream entropy coder, zstd's Huffman
# literals included, can reach on these bytes.
entropy_bound() {
  "$PY" - "$1" <<'PY'
import json, struct, sys
import numpy as np
path = sys.argv[1]
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    base = 8 + n
    bits = total = 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        f.seek(base + a)
        raw = np.frombuffer(f.read(b - a), dtype=np.uint8)
        width = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}.get(t["dtype"], 1)
        if t["dtype"] in ("F32", "BF16"):
            x = raw.view({"F32": "<u4", "BF16": "<u2"}[t["dtype"]])
            w = 8 * width
            x = ((x << 1) | (x >> (w - 1))).astype(x.dtype)
            raw = x.view(np.uint8)
        streams = raw.reshape(-1, width).T if width > 1 else raw.reshape(1, -1)
        for s in streams:
            counts = np.bincount(s, minlength=256).astype(np.float64)
            p = counts[counts > 0] / s.size
            bits += -(p * np.log2(p)).sum() * s.size
        total += raw.size
print(f"{100.0 * bits / 8 / total:.1f}%")
PY
}

echo "statepack compression benchmark: $(date -u +%Y-%m-%d), $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), zstd $(zstd -V | grep -o 'v[0-9.]*'), MIB=$MIB"
echo

# ---- inputs ------------------------------------------------------------------------------
for d in f32 f16 bf16; do
  want size || [ "$d" = f32 ] || continue
  "$PY" bench/make_synthetic_weights.py "$work/$d.safetensors" --dtype "$d" --mib "$MIB" --seed 1
done
"$PY" bench/make_resnet18_safetensors.py "$work/resnet18.safetensors"

# ---- size ----------------------------------------------------------------------------------
if want size; then
echo "== compressed size, % of the raw tensor bytes (lower is better)"
row "input" "statepack" "zstd -3" "zstd -19" "order-0 bound" "published"
for d in f32 f16 bf16 resnet18; do
  in="$work/$d.safetensors"
  warm "$in"
  "$SP" pack "$in" -o "$work/$d.raw.spk" --quiet >/dev/null
  "$SP" pack "$in" -o "$work/$d.spk" --compress zstd --quiet >/dev/null
  raw=$(tensor_bytes "$work/$d.raw.spk")
  ours=$(tensor_bytes "$work/$d.spk")
  zstd -q -f -T0 -3 "$in" -o "$work/$d.3.zst"
  zstd -q -f -T0 -19 "$in" -o "$work/$d.19.zst"
  case $d in
    bf16) published="ZipNN 66.3%" ;;
    f32 | resnet18) published="ZipNN ~83%" ;;
    *) published="-" ;;
  esac
  label="$d ($((raw / 1048576)) MiB)"
  [ "$d" = resnet18 ] && label="resnet18 f32, random init ($((raw / 1048576)) MiB)"
  row "$label" "$(pct "$ours" "$raw")" "$(pct "$(size "$work/$d.3.zst")" "$(size "$in")")" \
    "$(pct "$(size "$work/$d.19.zst")" "$(size "$in")")" "$(entropy_bound "$in")" "$published"
  rm -f "$work/$d.19.zst"
done
echo "   statepack: pack --compress zstd (default level 19); zstd -3/-19: zstd -T0 -LEVEL on the"
echo "   .safetensors file (same tensor bytes plus a small JSON header)."
echo
fi

# ---- structured tensors ----------------------------------------------------------------------
if want structured; then
  BENCH_TMP=$work bench/structured_bench.sh "$build"
  echo
fi

# ---- speed ---------------------------------------------------------------------------------
if want speed; then
in="$work/f32.safetensors"
warm "$in"
"$SP" pack "$in" -o "$work/f32.raw.spk" --quiet >/dev/null
bytes=$(size "$in")
echo "== speed on $in ($((bytes / 1048576)) MiB f32), warm page cache"
row "operation" "statepack" "baseline" "ratio" "" "baseline command"
t_pack_raw=$(best 3 "$SP" pack "$in" -o "$work/o.spk" --quiet)
t_cp=$(best 3 bash -c "cp --reflink=never '$in' '$work/o.cp' && sync '$work/o.cp'")
row "pack, raw (--compress none)" "$(rate "$bytes" "$t_pack_raw")" "$(rate "$bytes" "$t_cp")" \
  "$(ratio "$t_cp" "$t_pack_raw")" "" "cp --reflink=never + sync FILE"
t_pack_z=$(best 3 "$SP" pack "$in" -o "$work/o.spk" --compress zstd --quiet)
t_zstd=$(best 3 bash -c "zstd -q -f -T0 -3 '$in' -o '$work/o.zst' && sync '$work/o.zst'")
row "pack, zstd (all $cores cores)" "$(rate "$bytes" "$t_pack_z")" "$(rate "$bytes" "$t_zstd")" \
  "$(ratio "$t_zstd" "$t_pack_z")" "" "zstd -T0 -3 + sync FILE"
t_pack_z1=$(best 3 "$SP" pack "$in" -o "$work/o.spk" --compress zstd --threads 1 --quiet)
t_zstd1=$(best 3 bash -c "zstd -q -f -T1 -3 '$in' -o '$work/o.zst' && sync '$work/o.zst'")
row "pack, zstd, 1 thread (per core)" "$(rate "$bytes" "$t_pack_z1")" "$(rate "$bytes" "$t_zstd1")" \
  "$(ratio "$t_zstd1" "$t_pack_z1")" "" "zstd -T1 -3 + sync FILE"
# CPU seconds (user + system) per byte: the per-core figure, unaffected by other load.
cpu() { /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2}'; }
c_pack=$(cpu "$SP" pack "$in" -o "$work/o.spk" --compress zstd --threads 1 --quiet)
c_zstd=$(cpu zstd -q -f -T1 -3 "$in" -o "$work/o.zst")
row "pack, zstd, per CPU-second" "$(rate "$bytes" "$c_pack")" "$(rate "$bytes" "$c_zstd")" \
  "$(ratio "$c_zstd" "$c_pack")" "" "zstd -T1 -3 (user+sys time)"
"$SP" pack "$in" -o "$work/f32.spk" --compress zstd --quiet >/dev/null
zstd -q -f -T0 -3 "$in" -o "$work/f32.zst"
decode_line=$("$BENCH/zstd_decode_bench" "$work/f32.spk" 3)
t_dec=$(echo "$decode_line" | awk '{print $3}')
t_zstd_d=$(best 3 bash -c "zstd -q -d -c '$work/f32.zst' >/dev/null")
row "decode (add-on, 1 thread)" "$(rate "$bytes" "$t_dec")" "$(rate "$bytes" "$t_zstd_d")" \
  "$(ratio "$t_zstd_d" "$t_dec")" "" "zstd -d -c > /dev/null"
warm "$work/f32.raw.spk"
t_verify=$(best 5 "$SP" verify "$work/f32.raw.spk")
t_xxh=$(best 5 xxhsum -H1 "$work/f32.raw.spk")
row "verify (raw blob)" "$(rate "$(size "$work/f32.raw.spk")" "$t_verify")" \
  "$(rate "$(size "$work/f32.raw.spk")" "$t_xxh")" "$(ratio "$t_xxh" "$t_verify")" "" "xxhsum -H1 FILE"
warm "$work/f32.spk"
t_verify_z=$(best 5 "$SP" verify "$work/f32.spk")
t_xxh_z=$(best 5 xxhsum -H1 "$work/f32.spk")
row "verify (zstd blob)" "$(rate "$(size "$work/f32.spk")" "$t_verify_z")" \
  "$(rate "$(size "$work/f32.spk")" "$t_xxh_z")" "$(ratio "$t_xxh_z" "$t_verify_z")" "" "xxhsum -H1 FILE"
echo "   rates are input (decoded) bytes per second, except verify: file bytes per second."
echo "   ratio > 1.00x: statepack is faster. In-process: $("$BENCH/open_verify_bench" "$work/f32.raw.spk" 5 | grep spk_verify)"
echo "   $decode_line"
rm -f "$work"/o.* "$work"/*.zst
echo
fi

# ---- open + find ---------------------------------------------------------------------------
if want open; then
"$PY" bench/make_synthetic_weights.py "$work/many.safetensors" --many 10000
"$SP" pack "$work/many.safetensors" -o "$work/many.spk" --quiet >/dev/null
echo "== open + find, 10,000 tensors"
"$BENCH/open_find_bench" "$work/many.spk" "$work/many.safetensors" 20 | sed 's/^/   /'
echo
fi

# ---- peak RSS ------------------------------------------------------------------------------
# One row per command and input format: peak RSS (/usr/bin/time %M, which counts mapped file
# pages, as ulimit and cgroups do) and wall time, on an f32 model of RSS_GIB GiB written in every
# format statepack reads (bench/make_format_inputs.py). Quantized rows use --quant int8.
if want rss && [ "$RSS_GIB" -gt 0 ]; then
  rm -f "$work"/*.safetensors "$work"/*.spk
  "$PY" bench/make_format_inputs.py "$work/in" --mib $((RSS_GIB * 1024))
  echo "== peak RSS and wall time, $RSS_GIB GiB f32 model (/usr/bin/time: max RSS, elapsed)"
  printf '   %-44s %10s %8s\n' "command" "peak RSS" "wall"
  measure() {
    local label=$1
    shift
    if ! /usr/bin/time -f '%M %e' -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt"; then
      printf '   %-44s failed: %s\n' "$label" "$(tail -1 "$work/err.txt")"
      return
    fi
    read -r kib secs <"$work/time.txt"
    printf '   %-44s %6s MiB %7ss\n' "$label" $((kib / 1024)) "$secs"
  }
  declare -A inputs=([safetensors]=model.safetensors [torch-zip]=model.pt
    [torch-legacy]=model_legacy.pt [npz]=model.npz [npy]=model.npy
    [sharded]=sharded/model.safetensors.index.json)
  for f in safetensors torch-zip torch-legacy npz npy sharded; do
    in="$work/in/${inputs[$f]}"
    warm "$in" "$work"/in/sharded/*.safetensors
    measure "pack $f" "$SP" pack "$in" -o "$work/big.spk" --quiet
    measure "pack $f --compress zstd" "$SP" pack "$in" -o "$work/big.z.spk" --compress zstd --quiet
    measure "pack $f --quant int8" "$SP" pack "$in" -o "$work/big.q.spk" --quant int8 --quiet
    measure "inspect $f" "$SP" inspect "$in"
  done
  measure "pack safetensors --quant int8 --compress zstd" "$SP" pack "$work/in/model.safetensors" \
    -o "$work/big.qz.spk" --quant int8 --compress zstd --quiet
  rm -rf "$work/in"
  for b in big big.z big.q big.qz; do
    warm "$work/$b.spk"
    measure "verify $b.spk" "$SP" verify "$work/$b.spk"
  done
  measure "unpack big.spk (raw)" "$SP" unpack "$work/big.spk" -o "$work/out.safetensors"
  measure "unpack big.z.spk (zstd)" "$SP" unpack "$work/big.z.spk" -o "$work/out.safetensors"
  measure "unpack big.q.spk --dequantize" "$SP" unpack "$work/big.q.spk" -o "$work/out.safetensors" \
    --dequantize
  measure "unpack big.qz.spk --dequantize" "$SP" unpack "$work/big.qz.spk" \
    -o "$work/out.safetensors" --dequantize
  measure "inspect big.spk" "$SP" inspect "$work/big.spk"
  t_verify=$(best 5 "$SP" verify "$work/big.spk")
  t_xxh=$(best 5 xxhsum -H1 "$work/big.spk")
  echo "   verify big.spk $(rate "$(size "$work/big.spk")" "$t_verify"), xxhsum -H1" \
    "$(rate "$(size "$work/big.spk")" "$t_xxh"): $(ratio "$t_xxh" "$t_verify") (best of 5, warm)"
  rm -f "$work"/*.spk "$work/out.safetensors"
fi
