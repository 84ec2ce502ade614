#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Memcheck over the CLI: pack (plain, quantized, compressed), inspect, verify, unpack and embed
# of a safetensors file, a torch.save zip, a legacy torch.save file and an .npz (the real files
# from the fuzz seed corpora), plus refusals of damaged input. Any invalid read or write, use of
# uninitialised memory or leak fails the test.
# Usage: valgrind_cli.sh STATEPACK SOURCE_DIR
set -euo pipefail
cli=$1
corpus=$2/tests/fuzz/corpus
work=$(mktemp -d "${TMPDIR:-/tmp}/spk-valgrind.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

cp "$corpus/safetensors/seed-basic" model.safetensors
cp "$corpus/zip/seed-torch-state-dict" model.pt
tail -c +2 "$corpus/pickle/seed-torch-legacy" > legacy.pt       # drop the target's mode byte
tail -c +2 "$corpus/numpy/seed-npz-deflated" > arrays.npz
head -c 100 model.pt > damaged.pt

runs=0
vg() {
  local expect=$1
  shift
  local status=0
  valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --track-origins=yes "$cli" "$@" \
    >/dev/null 2>vg.log || status=$?
  runs=$((runs + 1))
  if [ "$status" -eq 99 ] || grep -q '^==[0-9]*==' vg.log; then
    echo "memcheck errors in: statepack $*" >&2
    cat vg.log >&2
    exit 1
  fi
  if [ "$status" -ne "$expect" ]; then
    echo "statepack $*: exit $status, expected $expect" >&2
    cat vg.log >&2
    exit 1
  fi
}

for input in model.safetensors model.pt legacy.pt arrays.npz; do
  vg 0 pack "$input" -o "$input.spk" --threads 2
  vg 0 inspect "$input"
  vg 0 inspect "$input.spk" --json
  vg 0 verify "$input.spk"
  vg 0 unpack "$input.spk" -o "$input.out.safetensors"
done
vg 0 pack model.pt -o q.spk --quant int8 --compress zstd --checksum xxh32 --threads 2
vg 0 inspect q.spk
vg 0 verify q.spk
vg 0 unpack q.spk -o q.safetensors --dequantize
vg 0 embed q.spk -o q.c
vg 1 pack damaged.pt -o never.spk
vg 1 verify damaged.pt
vg 2 pack
echo "$runs CLI runs under memcheck: no errors, no leaks"
