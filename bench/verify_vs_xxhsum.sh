#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Packs a torchvision ResNet-18 state dict (random init; written as safetensors by
# make_resnet18_safetensors.py), then prints the blob's overhead and spk_open + spk_verify
# throughput beside `xxhsum -H1` on the same file (page cache warm for both).
# Usage: bench/verify_vs_xxhsum.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 bench/make_resnet18_safetensors.py "$work/resnet18.safetensors"
"$build/tools/statepack" pack "$work/resnet18.safetensors" -o "$work/resnet18.spk"
/usr/bin/python3 - "$build/tools/statepack" "$work/resnet18.spk" <<'PY'
import json, subprocess, sys
info = json.loads(subprocess.check_output([sys.argv[1], "inspect", "--json", sys.argv[2]]))
print(f"overhead        {info['overhead_bytes']} bytes beyond {info['tensor_bytes']} bytes of "
      f"tensor data ({100.0 * info['overhead_bytes'] / info['tensor_bytes']:.3f}%), "
      f"header {info['header_size']} bytes, {len(info['tensors'])} tensors")
PY
"$build/bench/open_verify_bench" "$work/resnet18.spk" 9
/usr/bin/python3 - "$work/resnet18.spk" <<'PY'
import os, subprocess, sys, time
path = sys.argv[1]
size = os.path.getsize(path)
times = []
for _ in range(5):
    start = time.perf_counter()
    subprocess.run(["xxhsum", "-H1", path], check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - start)
best = min(times)
print(f"xxhsum -H1      best {best * 1e3:.2f} ms = {size / best / 1e9:.2f} GB/s "
      f"(whole process incl. start-up, 5 runs)")
PY
